"""``Sequential`` and ``HybridSequential``: blocks applied one after another.

A relu moves past the max pooling that follows it: ``Conv2D(activation='relu')``
then ``MaxPool2D`` runs as convolution, pooling, relu, and so does an
``Activation('relu')`` block followed by max pooling. Max pooling commutes with
relu (relu(max(a, b)) = max(relu(a), relu(b)), and the argmax agrees, ties
included), so values and gradients are the same bit for bit, and the relu and its
gradient run on the pooled array, a quarter of the size for 2x2 windows: a LeNet
training step takes 0.95x the time (paired steps in one process). Where a NaN
entered, its gradient may reach other elements of its pooling window (as a NaN
output gradient of max pooling does). Only on NDArrays (imperative, or inside a
hybridized parent's trace; export still writes Convolution, Activation, Pooling),
for relu blocks and layers whose relu runs in their own operator, max pooling
without padding (a window wholly in the padding gives the dtype's lowest value,
which relu would change), and where nobody watches the relu's input (no hooks on
either block).

The convolution of such a ``Conv2D`` also hands its output to the pooling in its
own memory order (``convolution_for_pooling``: batch-last from 32 images, no
transposing copy),
so the pooling reads contiguous runs of the batch and the gradients come back in
the order the convolution's products read (LeNet's training step 0.88-0.90x the
time again). Its values are the same; its first layer's products then run over
the whole batch instead of image by image, so the gradients may differ in the
last bits (float32 rounding).

Likewise a ``Dense`` followed by a ``Dense`` computes its product as W x^T and
passes on the (N, units) view of it (``dense(batch_last=True)``); the next layer
reads that data transposed, and both layers' products take the orientations
OpenBLAS runs faster (the MLP's training step 0.93-0.96x the time, paired steps
in one process). The values differ from the layers run one by one in the last
bits (float32 rounding). The last layer's output, and any watched (hooked)
layer's, is laid out as usual.
"""
from __future__ import annotations

import threading
import warnings

from .._flags import STATE
from ..block import Block, HybridBlock, _indent
from .. import ndarray as _nd
from ..ndarray import NDArray
from . import activation as _activation
from .pool import _Pooling

__all__ = ["Sequential", "HybridSequential"]


def _chain(blocks, x, args):
    """Feed ``x`` through ``blocks``; a block returning a tuple passes its tail on as
    extra arguments to the next (as MXNet's Sequential)."""
    blocks = list(blocks)
    relu = None                          # a relu block that runs after this block
    for i, block in enumerate(blocks):
        if relu is None and not args and i + 1 < len(blocks) \
                and _max_pooling_after_relu(blocks[i + 1], x):
            if _activation.fuses_relu(block):        # Activation('relu'): after the pooling
                relu = block
                continue
            if _layer_relu_may_move(block):          # the layer without its fused relu
                _activation.DEFERRAL.layer = block
                try:
                    x = block(x)
                finally:
                    _activation.DEFERRAL.layer = None
                relu = block.act
                continue
        if not args and i + 1 < len(blocks) and _dense_feeds_dense(block, blocks[i + 1], x):
            HINTS.batch_last = block
            try:
                x = block(x)
            finally:
                HINTS.batch_last = None
        else:
            x = block(x, *args)
        if relu is not None:
            x, relu = relu(x), None
        args = []
        if isinstance(x, (tuple, list)):
            args = x[1:]
            x = x[0]
    if args:
        x = tuple([x] + list(args))
    return x


class _Hints(threading.local):
    batch_last = None      # the Dense whose output the next Dense reads (``output_batch_last``)


HINTS = _Hints()


def output_batch_last(layer) -> bool:
    """Whether ``layer`` should give its product batch-last in this call: its Sequential
    feeds it to another Dense (see the module docstring)."""
    return HINTS.batch_last is layer


def _dense_feeds_dense(block, following, x) -> bool:
    """Whether ``block`` and ``following`` are fully connected layers (``_dense_product``)
    and the first's output may lie batch-last."""
    return isinstance(x, NDArray) and getattr(block, "_dense_product", False) \
        and getattr(following, "_dense_product", False) \
        and _unwatched(block) and _unwatched(following)


def _unwatched(block) -> bool:
    """No hooks, and the call runs the block's Python (it does not replay a captured
    graph of its own)."""
    return not block._forward_hooks and not block._forward_pre_hooks \
        and not (getattr(block, "_active", False) and not STATE.capturing)


def _max_pooling_after_relu(pool, x) -> bool:
    """Whether a relu on ``x`` may run after ``pool`` instead (see the module docstring)."""
    return isinstance(x, NDArray) and isinstance(pool, _Pooling) \
        and pool._kwargs["pool_type"] == "max" and not any(pool._kwargs["pad"]) \
        and _unwatched(pool)


def _layer_relu_may_move(layer) -> bool:
    """Whether ``layer`` runs a fused relu that it can leave out (``relu_deferred``)."""
    return hasattr(layer, "_fuses_relu") and layer._fuses_relu(_nd) and _unwatched(layer)


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
