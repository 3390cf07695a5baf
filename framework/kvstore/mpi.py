"""'dist_sync' on MPI: synchronous data-parallel stores across processes.

    kv = fw.kv.create('dist_sync')          # under mpiexec / python -m framework.launch
    kv.init(3, w)                           # every rank stores rank 0's value
    kv.pushpull(3, grad)                    # grad becomes the sum over all ranks

``push`` sums a key's per-device values in this process, then across all ranks;
``pull`` copies the stored value; ``pushpull`` does both without storing when no
optimizer is set. A list of keys travels in a few large flat buffers ("buckets",
``FRAMEWORK_DIST_BUCKET_MB``, default 16) rather than one message per key; an array
of 1 MB or more is reduced in place, in a message of its own. Host arrays go through
MPI; arrays on CuPy GPUs through NCCL (``kvstore.nccl``); arrays of another device
module (the strict test backend) through MPI by an explicit copy to the host and back.

Before the first exchange of a set of keys, every rank's shapes, dtypes and device
kinds are compared; a mismatch raises on every rank, naming the key and the ranks.
The types 'dist_sync', 'dist_sync_device', 'dist_device_sync' (MXNet's names) and
'horovod' are one store; 'horovod' does not run an optimizer (MXNet's neither).
"""
from __future__ import annotations

import hashlib
import os
from typing import Dict, List, Optional, Sequence

import numpy

from .. import autograd
from ..ndarray import NDArray
from . import _mpi_engine
from .base import as_devices, key_list
from .local import KVStore, _sum

__all__ = ["DistSyncKVStore", "Reducer", "DIST_TYPES", "BUCKET_ENV"]

DIST_TYPES = ("dist_sync", "dist_sync_device", "dist_device_sync", "horovod")
BUCKET_ENV = "FRAMEWORK_DIST_BUCKET_MB"
_DEFAULT_BUCKET_MB = 16.0
_DIRECT_BYTES = 1 << 20          # arrays this large are reduced in place, not packed


def _bucket_bytes() -> int:
    value = os.environ.get(BUCKET_ENV, _DEFAULT_BUCKET_MB)
    try:
        megabytes = float(value)
    except ValueError:
        raise ValueError(f"{BUCKET_ENV} must be a number of megabytes, got {value!r}") from None
    if not megabytes > 0:
        raise ValueError(f"{BUCKET_ENV} must be > 0, got {value!r}")
    return int(megabytes * (1 << 20))


def _route(arr: NDArray) -> str:
    """How an array travels: 'host' (MPI on its memory), 'nccl' (CuPy GPU), or
    'staged' (another device module: MPI on an explicit host copy)."""
    xp = arr.context.xp
    if xp is numpy:
        return "host"
    if xp.__name__ == "cupy":
        from .nccl import nccl_available
        if nccl_available():
            return "nccl"
    return "staged"


def _buckets(arrays: Sequence[NDArray], limit: int) -> List[List[int]]:
    """Consecutive indices of ``arrays`` grouped into buckets of one route, context and
    dtype, each at most ``limit`` bytes; an array of ``_DIRECT_BYTES`` or more is a
    bucket of its own (reduced in place: copying it would cost more than the extra
    message)."""
    buckets: List[List[int]] = []
    current: List[int] = []
    size, group = 0, None
    for i, arr in enumerate(arrays):
        nbytes = arr.size * arr.data.dtype.itemsize
        if nbytes >= min(limit, _DIRECT_BYTES) and arr.data.flags.c_contiguous:
            if current:
                buckets.append(current)
                current, size, group = [], 0, None
            buckets.append([i])
            continue
        this = (_route(arr), arr.context, arr.data.dtype)
        if current and (this != group or size + nbytes > limit):
            buckets.append(current)
            current, size = [], 0
        current.append(i)
        size += nbytes
        group = this
    if current:
        buckets.append(current)
    return buckets


class Reducer:
    """Collectives on lists of NDArrays, bucketed, for the stores and ``fw.distributed``.

    ``allreduce_(arrays, what)`` replaces each array by its reduction over all ranks;
    ``broadcast_(arrays, root, what)`` by rank ``root``'s value. Every rank must pass
    arrays of the same shapes, dtypes and device kinds in the same order (checked by
    the callers with ``check_same``). ``what`` names the call in errors.
    """

    def __init__(self, engine: "_mpi_engine.Engine") -> None:
        self.engine = engine
        self.bucket_bytes = _bucket_bytes()
        self._flat: Dict[tuple, numpy.ndarray] = {}      # reused host buffers
        self._plans: Dict[tuple, List[List[int]]] = {}    # layout -> buckets
        self._nccl: Dict[int, object] = {}                # device id -> NCCL communicator

    # ----------------------------------------------------------------- checks
    def check_same(self, labels: Sequence[str], signatures: Sequence[str], what: str,
                   noun: str = "item") -> None:
        """Raise ValueError on every rank unless every rank has the same ``signatures``
        (one string per item, in order); ``labels`` name the items in the message,
        ``noun`` says what they are ('Parameter')."""
        engine = self.engine
        if engine.size == 1:
            return
        # one small exchange when all agree: the max of (h, -h) is (h, -h) on every rank
        # only if every rank has the same hash h of its signatures
        digest = hashlib.blake2b("\n".join(signatures).encode("utf-8"), digest_size=7)
        h = int.from_bytes(digest.digest(), "little")
        both = numpy.array([h, -h], dtype=numpy.int64)
        engine.allreduce_([both], what, "max")
        if both[0] == h and both[1] == -h:
            return
        everyone = engine.allgather_json([list(labels), list(signatures)], what)
        ref_labels, ref = everyone[0]
        for rank, (other_labels, other) in enumerate(everyone):
            if other == ref:
                continue
            if len(other) != len(ref):
                raise ValueError(f"{what}: rank 0 has {len(ref)} {noun}s but rank {rank} has "
                                 f"{len(other)} (rank 0: {_short(ref_labels)}; rank {rank}: "
                                 f"{_short(other_labels)}); every rank must build the same "
                                 f"model and pass the same items in the same order")
            i = next(i for i, (a, b) in enumerate(zip(ref, other)) if a != b)
            raise ValueError(f"{what}: {noun} {i} differs between ranks: rank 0 has "
                             f"{ref_labels[i]!r} ({ref[i]}), rank {rank} has "
                             f"{other_labels[i]!r} ({other[i]}); every rank must build the "
                             f"same model and pass the same items in the same order")

    # ------------------------------------------------------------- collectives
    def allreduce_(self, arrays: Sequence[NDArray], what: str, op: str = "sum") -> None:
        if self.engine.size == 1 or not arrays:
            return
        self._run(arrays, what, op, root=None)

    def broadcast_(self, arrays: Sequence[NDArray], root: int, what: str) -> None:
        if not 0 <= root < self.engine.size:
            raise ValueError(f"{what}: root rank {root} is not in [0, {self.engine.size})")
        if self.engine.size == 1 or not arrays:
            return
        self._run(arrays, what, "sum", root=root)

    def _run(self, arrays: Sequence[NDArray], what: str, op: str, root: Optional[int]) -> None:
        if len(arrays) == 1 and type(arrays[0]._data) is numpy.ndarray \
                and (root is not None or arrays[0]._data.dtype.kind in "fiuc"):
            self._host_bucket(0, arrays, what, op, root)      # one host array: no plan
            return
        if root is None:
            for arr in arrays:
                if arr.data.dtype.kind not in "fiuc":
                    raise TypeError(f"{what}: cannot reduce arrays of dtype {arr.data.dtype} "
                                    f"(shape {arr.shape}); cast them to a number type first")
        layout = tuple((a.shape, a.data.dtype, a.context) for a in arrays)
        plan = self._plans.get(layout)
        if plan is None:
            plan = self._plans[layout] = _buckets(arrays, self.bucket_bytes)
        with autograd.pause():
            for b, bucket in enumerate(plan):
                items = [arrays[i] for i in bucket]
                route = _route(items[0])
                if route == "nccl":
                    self._nccl_bucket(items, what, op, root)
                elif route == "host":
                    self._host_bucket(b, items, what, op, root)
                else:
                    self._staged_bucket(items, what, op, root)

    def _mpi(self, buffers: list, what: str, op: str, root: Optional[int]) -> None:
        try:
            if root is None:
                self.engine.allreduce_(buffers, what, op)
            else:
                self.engine.bcast_(buffers, root, what)
        except self.engine.MPI.Exception as err:
            raise _mpi_engine.DistributedError(f"{what}: MPI failed: {err}") from err
        except (KeyError, TypeError) as err:       # no MPI type for this dtype
            raise TypeError(f"{what}: MPI cannot reduce arrays of dtype "
                            f"{buffers[0].dtype} ({err})") from err

    def _host_bucket(self, index: int, items: List[NDArray], what: str, op: str,
                     root: Optional[int]) -> None:
        if len(items) == 1 and items[0]._data.flags.c_contiguous:
            self._mpi([items[0]._data], what, op, root)       # in place, no copy
            items[0]._version[0] += 1                         # an in-place write
            return
        dtype = items[0].data.dtype
        total = sum(arr.size for arr in items)
        key = (index, dtype, total)
        flat = self._flat.get(key)
        if flat is None:
            flat = self._flat[key] = numpy.empty(total, dtype=dtype)
        numpy.concatenate([arr.data.reshape(-1) for arr in items], out=flat)
        self._mpi([flat], what, op, root)
        _unpack(flat, items)

    def _staged_bucket(self, items: List[NDArray], what: str, op: str,
                       root: Optional[int]) -> None:
        ctx = items[0].context
        xp = ctx.xp
        with ctx.scope():
            flat = xp.concatenate([arr.data.reshape(-1) for arr in items])
            host = xp.asnumpy(flat)                       # the explicit copy to the host
        self._mpi([host], what, op, root)
        with ctx.scope():
            flat = xp.asarray(host)
        _unpack(flat, items)

    def _nccl_bucket(self, items: List[NDArray], what: str, op: str,
                     root: Optional[int]) -> None:
        from .nccl import WorldCommunicator
        ctx = items[0].context
        comm = self._nccl.get(ctx.device_id)
        if comm is None:
            comm = self._nccl[ctx.device_id] = WorldCommunicator(self.engine, ctx)
        xp = ctx.xp
        with ctx.scope():
            if len(items) == 1 and items[0].data.flags.c_contiguous:
                flat = items[0].data
            else:
                flat = xp.concatenate([arr.data.reshape(-1) for arr in items])
            comm.run(flat, what, op, root)
        if flat is not items[0].data:
            _unpack(flat, items)
        else:
            items[0]._version[0] += 1                         # written in place


def _unpack(flat, items: List[NDArray]) -> None:
    """Write consecutive pieces of the 1-d ``flat`` back into ``items`` (same context):
    in-place writes, counted in each array's version as ``NDArray._write`` counts them."""
    offset = 0
    with items[0].context.scope():
        for arr in items:
            target = arr.data
            target[...] = flat[offset:offset + target.size].reshape(target.shape)
            arr._version[0] += 1
            offset += target.size


def _short(labels: Sequence[str], most: int = 6) -> str:
    shown = ", ".join(map(str, labels[:most]))
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > most else "")


def signature(arr: NDArray) -> str:
    """'(2, 3) float32 on cpu': what must agree between ranks for one array (and, off the
    host, how it travels: '(2, 3) float32 on gpu via nccl')."""
    route = _route(arr)
    via = "" if route == "host" else f" via {route}"
    return f"{tuple(arr.shape)} {arr.data.dtype} on {arr.context.device_type}{via}"


def _layout(arr: NDArray) -> tuple:
    """What ``signature`` says, cheaper to make and compare (once per array per step)."""
    return arr._data.shape, arr._data.dtype, arr._ctx.device_type


class DistSyncKVStore(KVStore):
    """A synchronous store across the ranks of an MPI job (see the module docstring).

    ``rank`` / ``num_workers``: this process's rank and the number of ranks;
    ``local_rank``: its rank among the ranks of its host (which GPU to use).
    ``init`` stores rank 0's value on every rank; ``push`` sums over devices and ranks
    (applying the optimizer set by ``set_optimizer`` on every rank, to identical
    values); ``pull`` copies the stored value; ``pushpull`` without an optimizer sums
    straight into ``out``; ``barrier`` waits for every rank.
    """

    def __init__(self, kv_type: str = "dist_sync") -> None:
        super().__init__(kv_type)
        self._engine = _mpi_engine.engine()
        self._reducer = Reducer(self._engine)
        self._agreed: Dict[tuple, List[tuple]] = {}       # keys -> layouts agreed on

    def __repr__(self) -> str:
        return (f"DistSyncKVStore(type='{self.type}', rank={self.rank}, "
                f"num_workers={self.num_workers}, keys={len(self._store)})")

    @property
    def rank(self) -> int:
        return self._engine.rank

    @property
    def num_workers(self) -> int:
        return self._engine.size

    @property
    def local_rank(self) -> int:
        return self._engine.local_rank

    def is_capable(self, capability: str) -> bool:
        return capability.lower() == "optimizer" and self.type != "horovod"

    # ------------------------------------------------------------------ checks
    def check_same_on_all_workers(self, labels: Sequence[str], signatures: Sequence[str],
                                  what: str, noun: str = "item") -> None:
        """Raise on every rank unless all ranks give the same ``signatures`` (strings,
        one per item); ``labels`` name the items (a collective: every rank calls it)."""
        self._reducer.check_same(labels, signatures, what, noun)

    def _agree(self, keys: list, arrays: List[NDArray], op: str) -> None:
        """Check, once per list of keys, that every rank has the same shapes, dtypes and
        device kinds for them; later calls are checked against that locally."""
        mine = [_layout(a) for a in arrays]
        agreed = self._agreed.get(tuple(keys))
        if agreed is None:
            self._reducer.check_same([f"key {k!r}" for k in keys],
                                     [signature(a) for a in arrays], f"kvstore.{op}", "key")
            self._agreed[tuple(keys)] = mine
        elif agreed != mine:
            i = next(i for i, (a, b) in enumerate(zip(agreed, mine)) if a != b)
            raise ValueError(f"kvstore.{op}: key {keys[i]!r} is {signature(arrays[i])} on rank "
                             f"{self.rank}, but was {agreed[i][0]} {agreed[i][1]} on "
                             f"{agreed[i][2]} on every rank before; the value of a key cannot "
                             f"change shape, dtype or device kind")

    @staticmethod
    def _what(op: str, keys: list) -> str:
        if len(keys) == 1:
            return f"kvstore.{op} of key {keys[0]!r}"
        return f"kvstore.{op} of keys {keys[0]!r}..{keys[-1]!r} ({len(keys)} keys)"

    # ------------------------------------------------------------------ values
    def init(self, key, value) -> None:
        keys, values = key_list(key, value, "init")
        for k in keys:
            if k in self._store:
                raise ValueError(f"kvstore.init: key {k!r} is already initialized")
        with autograd.pause():
            copies = [as_devices(v, "init", k)[0].copy() for k, v in zip(keys, values)]
        self._agree(keys, copies, "init")
        self._reducer.broadcast_(copies, 0, self._what("init", keys))
        for k, c in zip(keys, copies):
            self._store[k] = c

    def push(self, key, value, priority: int = 0) -> None:
        keys, values = key_list(key, value, "push")
        totals = []
        for k, v in zip(keys, values):
            stored = self._stored(k, "push")
            devices = as_devices(v, "push", k)
            total = _sum(devices, stored, k)
            with autograd.pause():
                totals.append(total.copy() if total is devices[0] else total)
        self._agree(keys, totals, "push")
        self._reducer.allreduce_(totals, self._what("push", keys))
        with autograd.pause():
            for k, total in zip(keys, totals):
                stored = self._store[k]
                if self._updater is not None:
                    self._updater(k, total, stored)
                else:
                    stored[:] = total

    def pushpull(self, key, value, out=None, priority: int = 0) -> None:
        if self._updater is not None:      # the update happens in push; pull the result
            self.push(key, value, priority)
            self.pull(key, value if out is None else out, priority)
            return
        keys, values = key_list(key, value, "pushpull")
        outs = key_list(key, value if out is None else out, "pushpull")[1]
        totals, targets = [], []
        for k, v, o in zip(keys, values, outs):
            devices = v if isinstance(v, list) else as_devices(v, "pushpull", k)
            if k in self._store and devices[0].shape != self._store[k].shape:
                raise ValueError(f"kvstore.pushpull: key {k!r} holds shape "
                                 f"{self._store[k].shape}, got {devices[0].shape}")
            total = devices[0] if len(devices) == 1 else _sum(devices, None, k)
            outputs = devices if o is v else as_devices(o, "pushpull", k)
            if total is devices[0] and not any(t is total for t in outputs):
                with autograd.pause():
                    total = total.copy()          # the input is not an output: keep it
            totals.append(total)
            targets.append(outputs)
        self._agree(keys, totals, "pushpull")
        self._reducer.allreduce_(totals, self._what("pushpull", keys))
        with autograd.pause():
            for k, total, outputs in zip(keys, totals, targets):
                for target in outputs:
                    if target is total:
                        continue
                    if target.shape != total.shape:
                        raise ValueError(f"kvstore.pushpull: key {k!r} has shape "
                                         f"{total.shape}, output has shape {target.shape}")
                    total.copyto(target)

    def barrier(self) -> None:
        """Wait until every rank reaches its barrier."""
        self._engine.barrier("kvstore.barrier")

    # ----------------------------------------------------------------- optimizer
    def set_optimizer(self, optimizer) -> None:
        """Run ``optimizer`` on the stored values at each push, on every rank (each
        applies it to the same summed gradients, so the stored values stay equal)."""
        if self.type == "horovod":
            raise NotImplementedError("kvstore 'horovod' does not run an optimizer (MXNet's "
                                      "neither); create the Trainer with "
                                      "update_on_kvstore=False, or use 'dist_sync'")
        super().set_optimizer(optimizer)

