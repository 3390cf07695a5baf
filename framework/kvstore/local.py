"""The single-process stores 'local' and 'device': sum the copies of one process."""
from __future__ import annotations

from typing import Callable, Dict, Optional

from .. import autograd
from ..ndarray import NDArray
from .base import KVStoreBase, Key, as_devices, key_list

__all__ = ["KVStore", "create"]

# MXNet's single-process names; they differ there in where the sum is computed
# (host or device), which here is always the first value's context
_LOCAL_TYPES = ("local", "device", "local_update_cpu", "local_allreduce_cpu",
                "local_allreduce_device", "local_device")


class KVStore(KVStoreBase):
    """A store in one process: ``push`` sums the per-device values of a key on the
    first value's context; ``pull`` copies the stored value to each output's context.

    With an updater (``set_optimizer``), ``push`` applies it to the stored value
    instead: ``updater(key, summed_gradient, stored_weight)``.
    """

    def __init__(self, kv_type: str = "local") -> None:
        self.type = kv_type
        self._store: Dict[Key, NDArray] = {}
        self._updater: Optional[Callable] = None
        self._optimizer = None

    def __repr__(self) -> str:
        return f"KVStore(type='{self.type}', keys={len(self._store)})"

    # ------------------------------------------------------------- values
    def init(self, key, value) -> None:
        for k, v in zip(*key_list(key, value, "init")):
            v = as_devices(v, "init", k)[0]
            if k in self._store:
                raise ValueError(f"kvstore.init: key {k!r} is already initialized")
            with autograd.pause():
                self._store[k] = v.copy()

    def push(self, key, value, priority: int = 0) -> None:
        for k, v in zip(*key_list(key, value, "push")):
            stored = self._stored(k, "push")
            total = _sum(as_devices(v, "push", k), stored, k)
            with autograd.pause():
                if self._updater is not None:
                    self._updater(k, total, stored)
                else:
                    stored[:] = total

    def pull(self, key, out=None, priority: int = 0, ignore_sparse: bool = True) -> None:
        if out is None:
            raise ValueError("kvstore.pull: give out=, the arrays to copy the stored value into")
        for k, o in zip(*key_list(key, out, "pull")):
            stored = self._stored(k, "pull")
            with autograd.pause():
                for target in as_devices(o, "pull", k):
                    if target.shape != stored.shape:
                        raise ValueError(f"kvstore.pull: key {k!r} holds shape {stored.shape}, "
                                         f"output has shape {target.shape}")
                    stored.copyto(target)

    def pushpull(self, key, value, out=None, priority: int = 0) -> None:
        if self._updater is not None:      # the update happens in push; pull the result
            return super().pushpull(key, value, out, priority)
        # without an updater nothing need be stored: sum and copy back directly
        outs = key_list(key, value if out is None else out, "pushpull")[1]
        for (k, v), o in zip(zip(*key_list(key, value, "pushpull")), outs):
            values = as_devices(v, "pushpull", k)
            total = _sum(values, None, k)
            with autograd.pause():
                for target in as_devices(o, "pushpull", k):
                    if target is not values[0] or len(values) > 1:
                        total.copyto(target)

    def _stored(self, key, op: str) -> NDArray:
        try:
            return self._store[key]
        except KeyError:
            raise KeyError(f"kvstore.{op}: key {key!r} was not initialized; call init first "
                           f"(initialized keys: {sorted(map(str, self._store))})") from None

    # ----------------------------------------------------------- optimizer
    def set_optimizer(self, optimizer) -> None:
        """Run ``optimizer`` on the stored values at each push (MXNet's update_on_kvstore)."""
        from ..optimizer.updater import get_updater   # a sibling on floor 3, used only here
        self._optimizer = optimizer
        self._updater = get_updater(optimizer)

    def _set_updater(self, updater: Callable) -> None:
        """Use ``updater(key, gradient, weight)`` at each push."""
        self._updater = updater

    def save_optimizer_states(self, fname: str, dump_optimizer: bool = False) -> None:
        """Write the updater's states to ``fname`` (HDF5, atomically)."""
        from .._fileio import atomic_write
        if self._updater is None:
            raise RuntimeError("kvstore.save_optimizer_states: no optimizer is set on this store")
        with atomic_write(fname) as f:
            f.write(self._updater.get_states(dump_optimizer))

    def load_optimizer_states(self, fname: str) -> None:
        """Read the updater's states written by ``save_optimizer_states``."""
        if self._updater is None:
            raise RuntimeError("kvstore.load_optimizer_states: no optimizer is set on this store")
        with open(fname, "rb") as f:
            self._updater.set_states(f.read())

    def set_gradient_compression(self, compression_params) -> None:
        raise NotImplementedError("kvstore: gradient compression is not supported")


def _sum(values, like: Optional[NDArray], key) -> NDArray:
    """The sum of the per-device ``values``, on the first one's context."""
    first = values[0]
    if like is not None and first.shape != like.shape:
        raise ValueError(f"kvstore.push: key {key!r} holds shape {like.shape}, got {first.shape}")
    with autograd.pause():
        if len(values) == 1:
            return first
        total = first.copy()
        for v in values[1:]:
            if v.shape != first.shape:
                raise ValueError(f"kvstore.push: key {key!r} got values of shapes "
                                 f"{[x.shape for x in values]}; expected one shape")
            total += v.as_in_context(first.context)
        return total


def create(name: str = "local") -> KVStore:
    """A store by MXNet's name: 'local' or 'device' (and MXNet's 'local_*' variants)."""
    if not isinstance(name, str):
        raise TypeError(f"kvstore.create: expected a name such as 'device', got "
                        f"{type(name).__name__}")
    if name.lower() not in _LOCAL_TYPES:
        raise ValueError(f"kvstore.create: unknown type {name!r}; this build has "
                         f"{list(_LOCAL_TYPES)} (the distributed stores are not built yet)")
    return KVStore(name.lower())
