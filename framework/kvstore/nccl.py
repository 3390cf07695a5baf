"""NCCL through CuPy (``cupy.cuda.nccl``): sums of GPU arrays, within one process
(kvstore 'nccl', and 'device' when the copies live on several CuPy GPUs) and between
the processes of an MPI job (used by the 'dist_sync' stores for GPU arrays; MPI only
carries the NCCL id from rank 0 to the others).

    kv = fw.kv.create('nccl')            # needs CuPy built with NCCL
    kv.pushpull(0, [g_on_gpu0, g_on_gpu1])

A wait for NCCL work polls a CUDA event, so that with the MPI engine it watches the
other ranks as a wait for MPI does (see ``_mpi_engine``); on trouble the NCCL
communicator is aborted and the error names the rank.
"""
from __future__ import annotations

import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy

from .. import autograd
from ..ndarray import NDArray
from .base import as_devices, key_list
from .local import KVStore

__all__ = ["NCCLKVStore", "WorldCommunicator", "nccl_available"]

_INSTALL = ("NCCL needs CuPy built with NCCL on a machine with NVIDIA GPUs: "
            "pip install 'framework[gpu]' (cupy-cuda12x, whose wheels load NCCL from the "
            "nvidia-nccl-cu12 package)")


def _nccl_module():
    """``cupy.cuda.nccl`` when it works, else None."""
    try:
        from cupy.cuda import nccl
    except Exception:          # noqa: BLE001 - no CuPy, or a CuPy without CUDA / NCCL
        return None
    return nccl if getattr(nccl, "available", False) else None


def nccl_available() -> bool:
    """Whether CuPy with NCCL can be used in this process."""
    return _nccl_module() is not None


def require_nccl(what: str):
    """``cupy.cuda.nccl``, or an ImportError that says what to install."""
    nccl = _nccl_module()
    if nccl is None:
        raise ImportError(f"{what}: {_INSTALL}")
    return nccl


def _dtype(nccl, dtype, what: str) -> int:
    table = {numpy.dtype(numpy.float16): nccl.NCCL_FLOAT16,
             numpy.dtype(numpy.float32): nccl.NCCL_FLOAT32,
             numpy.dtype(numpy.float64): nccl.NCCL_FLOAT64,
             numpy.dtype(numpy.int8): nccl.NCCL_INT8, numpy.dtype(numpy.uint8): nccl.NCCL_UINT8,
             numpy.dtype(numpy.int32): nccl.NCCL_INT32,
             numpy.dtype(numpy.int64): nccl.NCCL_INT64}
    try:
        return table[numpy.dtype(dtype)]
    except KeyError:
        raise TypeError(f"{what}: NCCL cannot reduce arrays of dtype {numpy.dtype(dtype).name} "
                        f"(it takes {sorted(d.name for d in table)})") from None


def _op(nccl, op: str) -> int:
    return {"sum": nccl.NCCL_SUM, "prod": nccl.NCCL_PROD, "min": nccl.NCCL_MIN,
            "max": nccl.NCCL_MAX}[op]


class WorldCommunicator:
    """An NCCL communicator over all ranks of the MPI engine, for this rank's GPU
    ``ctx`` (made collectively: rank 0 draws the NCCL id, MPI broadcasts it)."""

    def __init__(self, engine, ctx) -> None:
        self.engine = engine
        self.ctx = ctx
        self.nccl = nccl = require_nccl("dist_sync on GPUs")
        with ctx.scope():
            uid = nccl.get_unique_id() if engine.rank == 0 else None
            data = engine.bcast_bytes(bytes(b & 0xFF for b in uid) if uid else None, 0,
                                      "the exchange of the NCCL id")
            with engine.watched("the NCCL set-up", engine.next_collective()):
                self.comm = nccl.NcclCommunicator(
                    engine.size, tuple(b - 256 if b > 127 else b for b in data), engine.rank)

    def run(self, flat, what: str, op: str = "sum", root: Optional[int] = None) -> None:
        """Reduce (``root`` None) or broadcast the 1-d device array ``flat`` in place."""
        nccl, xp = self.nccl, self.ctx.xp
        with self.ctx.scope():
            stream = xp.cuda.get_current_stream()
            kind = _dtype(nccl, flat.dtype, what)
            if root is None:
                self.comm.allReduce(flat.data.ptr, flat.data.ptr, flat.size, kind,
                                    _op(nccl, op), stream.ptr)
            else:
                self.comm.bcast(flat.data.ptr, flat.size, kind, root, stream.ptr)
            event = stream.record()

        def done() -> bool:
            if event.done:
                return True
            self.comm.check_async_error()
            return False

        try:
            self.engine.poll(done, what, self.engine.next_collective())
        except nccl.NcclError as err:
            self.comm.abort()
            raise RuntimeError(f"{what}: NCCL failed on {self.engine.describe(self.engine.rank)}"
                               f": {err}") from err
        except BaseException:
            self.comm.abort()         # frees the GPU work that waits for the lost rank
            raise


class NCCLKVStore(KVStore):
    """The single-process store whose sums across GPUs run on NCCL.

    'nccl' (MXNet's name) needs CuPy with NCCL and says so when it is missing;
    'device' uses NCCL when the copies of a key live on several CuPy GPUs and NCCL is
    there, else sums as the 'local' store does. With an optimizer set
    (``set_optimizer``), ``push`` updates on the first copy as the local store does.
    """

    def __init__(self, kv_type: str = "nccl") -> None:
        super().__init__(kv_type)
        if kv_type == "nccl":
            require_nccl("kvstore 'nccl'")
        self._comms: Dict[Tuple[int, ...], list] = {}

    def _devices(self, arrays: Sequence[NDArray]) -> Optional[Tuple[int, ...]]:
        """The GPU ids of ``arrays`` when NCCL can sum them (distinct CuPy GPUs)."""
        if len(arrays) < 2:
            return None
        ids = []
        for arr in arrays:
            ctx = arr.context
            if ctx.device_type != "gpu" or ctx.xp.__name__ != "cupy":
                return None
            ids.append(ctx.device_id)
        if len(set(ids)) != len(ids) or _nccl_module() is None:
            return None
        return tuple(ids)

    def pushpull(self, key, value, out=None, priority: int = 0) -> None:
        keys, values = key_list(key, value, "pushpull")
        outs = key_list(key, value if out is None else out, "pushpull")[1]
        copies = [as_devices(v, "pushpull", k) for k, v in zip(keys, values)]
        devices = {self._devices(c) for c in copies}
        if self._updater is not None or len(devices) != 1 or None in devices:
            return super().pushpull(key, value, out, priority)
        device_ids = devices.pop()
        with autograd.pause():
            sums = self._allreduce(device_ids, copies, out is None)
            for k, per_device, o in zip(keys, sums, outs):
                by_device = {arr.context.device_id: arr for arr in per_device}
                for target in as_devices(o, "pushpull", k):
                    source = by_device.get(target.context.device_id, per_device[0])
                    if target is not source:
                        source.copyto(target)

    def _allreduce(self, device_ids: Tuple[int, ...], copies: List[List[NDArray]],
                   in_place: bool) -> List[List[NDArray]]:
        """The sum over the devices of every key's copies, on each device (NCCL
        allreduce of one flat buffer per device and dtype)."""
        nccl = require_nccl("kvstore 'device'")
        comms = self._comms.get(device_ids)
        if comms is None:
            comms = self._comms[device_ids] = nccl.NcclCommunicator.initAll(list(device_ids))
        results: List[List[Optional[NDArray]]] = [[None] * len(device_ids) for _ in copies]
        by_dtype: Dict[numpy.dtype, List[int]] = {}
        for i, per_device in enumerate(copies):
            by_dtype.setdefault(numpy.dtype(per_device[0].dtype), []).append(i)
        for dtype, indices in by_dtype.items():
            kind = _dtype(nccl, dtype, "kvstore.pushpull")
            flats, events = [], []
            for d, device_id in enumerate(device_ids):
                ctx = copies[indices[0]][d].context
                with ctx.scope():
                    flats.append(ctx.xp.concatenate([copies[i][d].data.reshape(-1)
                                                     for i in indices]))
            nccl.groupStart()
            for d, (comm, flat) in enumerate(zip(comms, flats)):
                ctx = copies[indices[0]][d].context
                with ctx.scope():
                    stream = ctx.xp.cuda.get_current_stream()
                    comm.allReduce(flat.data.ptr, flat.data.ptr, flat.size, kind,
                                   nccl.NCCL_SUM, stream.ptr)
            nccl.groupEnd()
            for d, flat in enumerate(flats):
                ctx = copies[indices[0]][d].context
                with ctx.scope():
                    events.append(ctx.xp.cuda.get_current_stream().record())
            _wait_events(events, comms, "kvstore.pushpull across GPUs")
            for d, flat in enumerate(flats):
                ctx = copies[indices[0]][d].context
                offset = 0
                for i in indices:
                    arr = copies[i][d]
                    piece = NDArray(flat[offset:offset + arr.size].reshape(arr.shape), ctx)
                    offset += arr.size
                    if in_place:
                        piece.copyto(arr)
                        piece = arr
                    results[i][d] = piece
        return results


def _wait_events(events: list, comms: list, what: str, timeout: float = 600.0) -> None:
    """Wait for CUDA ``events``; abort ``comms`` and raise after ``timeout`` seconds."""
    start = time.monotonic()
    while not all(e.done for e in events):
        for comm in comms:
            comm.check_async_error()
        if time.monotonic() - start > timeout:
            for comm in comms:
                comm.abort()
            raise RuntimeError(f"{what}: NCCL did not finish in {timeout:g} s")
        time.sleep(0.0001)
