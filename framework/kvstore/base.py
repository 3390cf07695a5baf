"""The interface every key-value store offers (local now, distributed ones later)."""
from __future__ import annotations

from typing import List, Sequence, Union

Key = Union[int, str]


class KVStoreBase:
    """What ``fw.Trainer`` and users call on a store.

    ``rank`` / ``num_workers``: this process's place among the workers (0 / 1 for a
    single process). ``init(key, value)`` stores a first value; ``push`` sums the
    values given for a key (one per device) into the store, applying the updater
    when one is set; ``pull`` copies the stored value into each output;
    ``pushpull`` does both; ``broadcast`` is ``init`` then ``pull``.
    """

    type: str = "base"

    @property
    def rank(self) -> int:
        return 0

    @property
    def num_workers(self) -> int:
        return 1

    def init(self, key, value) -> None:
        raise NotImplementedError(f"kvstore '{self.type}' does not implement init")

    def push(self, key, value, priority: int = 0) -> None:
        raise NotImplementedError(f"kvstore '{self.type}' does not implement push")

    def pull(self, key, out=None, priority: int = 0, ignore_sparse: bool = True) -> None:
        raise NotImplementedError(f"kvstore '{self.type}' does not implement pull")

    def pushpull(self, key, value, out=None, priority: int = 0) -> None:
        """Sum ``value`` across devices (and workers) and write the result into ``out``
        (``value`` itself when ``out`` is None)."""
        self.push(key, value, priority)
        self.pull(key, value if out is None else out, priority)

    def broadcast(self, key, value, out, priority: int = 0) -> None:
        """Store ``value`` under ``key`` and copy it into every array of ``out``."""
        self.init(key, value)
        self.pull(key, out, priority)

    def barrier(self) -> None:
        """Wait for every worker (nothing to wait for in one process)."""

    def is_capable(self, capability: str) -> bool:
        """Whether this store supports ``capability`` (MXNet's 'optimizer')."""
        return capability.lower() == "optimizer"


def key_list(key, value, op: str) -> tuple:
    """``key``/``value`` as parallel lists: one key with one value or a list of
    per-device values, or lists of keys with one entry (value or list) per key."""
    if isinstance(key, (list, tuple)):
        keys = list(key)
        values = list(value) if isinstance(value, (list, tuple)) else None
        if values is None or len(values) != len(keys):
            got = len(value) if isinstance(value, (list, tuple)) else type(value).__name__
            raise ValueError(f"kvstore.{op}: {len(keys)} keys need a list of {len(keys)} values, "
                             f"got {got}")
        return keys, values
    return [key], [value]


def as_devices(value, op: str, key) -> List:
    """One key's value as a list of per-device NDArrays."""
    values: Sequence = value if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ValueError(f"kvstore.{op}: key {key!r} got an empty list of values")
    return list(values)
