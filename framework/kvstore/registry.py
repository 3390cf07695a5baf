"""``fw.kv.create(name)``: a store by MXNet's name, single-process or distributed."""
from __future__ import annotations

from .base import KVStoreBase
from .local import _LOCAL_TYPES, KVStore

__all__ = ["create", "is_distributed", "KNOWN_TYPES"]

# single-process names that sum on the devices: with CuPy they use NCCL across GPUs
_DEVICE_TYPES = ("device", "local_allreduce_device")
# the distributed names (MXNet's, and its 'horovod' store); see kvstore/mpi.py
_DIST_TYPES = ("dist_sync", "dist_sync_device", "dist_device_sync", "horovod")
KNOWN_TYPES = _LOCAL_TYPES + ("nccl",) + _DIST_TYPES


def create(name: str = "local") -> KVStoreBase:
    """A store by MXNet's name: 'local' / 'device' (and MXNet's 'local_*' variants) in one
    process; 'nccl' (NCCL across the GPUs of one process; needs CuPy); 'dist_sync',
    'dist_sync_device', 'dist_device_sync' or 'horovod' across the processes of an MPI
    job (needs the ``dist`` extra; start the job with ``python -m framework.launch``)."""
    if not isinstance(name, str):
        raise TypeError(f"kvstore.create: expected a name such as 'device', got "
                        f"{type(name).__name__}")
    kind = name.lower()
    if kind in _DIST_TYPES:
        from .mpi import DistSyncKVStore
        return DistSyncKVStore(kind)
    if kind == "nccl" or kind in _DEVICE_TYPES:
        from .nccl import NCCLKVStore
        return NCCLKVStore(kind)
    if kind in _LOCAL_TYPES:
        return KVStore(kind)
    hint = (" (asynchronous training is not supported: the distributed stores are "
            "synchronous)" if "async" in kind else "")
    raise ValueError(f"kvstore.create: unknown type {name!r}; this build has "
                     f"{list(KNOWN_TYPES)}{hint}")


def is_distributed(store) -> bool:
    """Whether ``store`` (a store or a type name) spans several processes."""
    kind = store if isinstance(store, str) else getattr(store, "type", "")
    return kind.lower() in _DIST_TYPES
