"""Automatic names of operator nodes, as MXNet 1.x's ``NameManager`` and ``Prefix``.

An operator created without ``name=`` is called ``<hint><n>``: the hint is the
function's name in lower case (``fullyconnected``, ``_plus``, ``concat``) and ``n``
counts per hint, per thread. Inside a block's ``hybrid_forward`` (``prefix_scope``
with the block's prefix) every name, given or not, is put after the prefix and the
count restarts for each call, so MXNet's Gluon names come out: ``dense0_fwd``,
``flatten0_flatten0``, ``model_relu0``.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional

__all__ = ["NameManager", "Prefix", "new_name", "prefix_scope"]


class NameManager:
    """Gives ``name`` back, or makes ``<hint><n>`` with a counter per hint."""

    def __init__(self) -> None:
        self._counter: Dict[str, int] = {}

    def get(self, name: Optional[str], hint: str) -> str:
        if name:
            return name
        count = self._counter.get(hint, 0)
        self._counter[hint] = count + 1
        return f"{hint}{count}"

    def __enter__(self) -> "NameManager":
        _STATE.stack.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _STATE.stack.pop()


class Prefix(NameManager):
    """A NameManager that puts ``prefix`` before every name (MXNet's ``mx.name.Prefix``)."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self._prefix = prefix

    def get(self, name: Optional[str], hint: str) -> str:
        return self._prefix + super().get(name, hint)


class _State(threading.local):
    def __init__(self) -> None:
        self.stack: List[NameManager] = [NameManager()]


_STATE = _State()


def new_name(name: Optional[str], hint: str) -> str:
    """The name of a new operator node: ``name`` or ``<hint><n>``, under the current
    manager (a block's prefix inside its ``hybrid_forward``)."""
    return _STATE.stack[-1].get(name, hint.lower())


@contextmanager
def prefix_scope(prefix: str) -> Iterator[None]:
    """Names made inside get ``prefix`` in front, counted afresh (a block's scope);
    an empty prefix keeps the current manager, as MXNet does for ``prefix=''``."""
    if not prefix:
        yield
        return
    with Prefix(prefix):
        yield
