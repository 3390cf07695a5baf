"""``Sequential`` and ``HybridSequential``: blocks applied one after another."""
from __future__ import annotations

import warnings

from ..block import Block, HybridBlock, _indent

__all__ = ["Sequential", "HybridSequential"]


def _chain(blocks, x, args):
    """Feed ``x`` through ``blocks``; a block returning a tuple passes its tail on as
    extra arguments to the next (as MXNet's Sequential)."""
    for block in blocks:
        x = block(x, *args)
        args = []
        if isinstance(x, (tuple, list)):
            args = x[1:]
            x = x[0]
    if args:
        x = tuple([x] + list(args))
    return x


class _Stack:
    """What Sequential and HybridSequential share: add, len, indexing, repr."""

    _summary_container = True

    def add(self, *blocks) -> None:
        """Append ``blocks``, in order."""
        for block in blocks:
            self.register_child(block)

    def __len__(self) -> int:
        return len(self._children)

    def __getitem__(self, key):
        """The block at ``key``; a slice gives a new container of the same kind."""
        layers = list(self._children.values())[key]
        if isinstance(layers, list):
            net = self._empty_like()
            with net.name_scope():
                net.add(*layers)
            return net
        return layers

    def _empty_like(self):
        return type(self)(prefix=self._prefix)

    def __repr__(self) -> str:
        modstr = "\n".join(f"  ({key}): {_indent(repr(block), 2)}"
                           for key, block in self._children.items())
        return f"{type(self).__name__}(\n{modstr}\n)"


class Sequential(_Stack, Block):
    """Stacks Blocks: ``forward`` applies each child to the previous one's output.

        net = fw.nn.Sequential()
        net.add(fw.nn.Dense(10, activation='relu'), fw.nn.Dense(20))
    """

    def __init__(self, prefix=None, params=None) -> None:
        super().__init__(prefix=prefix, params=params)

    def forward(self, x, *args):
        return _chain(self._children.values(), x, args)

    def hybridize(self, active: bool = True, **kwargs) -> None:
        if self._children and all(isinstance(c, HybridBlock) for c in self._children.values()):
            warnings.warn(f"All children of this Sequential layer '{self.prefix}' are "
                          f"HybridBlocks. Consider using HybridSequential for the best "
                          f"performance.", stacklevel=2)
        super().hybridize(active, **kwargs)


class HybridSequential(_Stack, HybridBlock):
    """Stacks HybridBlocks: ``hybrid_forward`` applies each child to the previous one's
    output."""

    def __init__(self, prefix=None, params=None) -> None:
        super().__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x, *args):
        return _chain(self._children.values(), x, args)
