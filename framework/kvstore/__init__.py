"""Key-value stores (MXNet's ``mx.kv``): where the gradients of several copies meet.

    kv = fw.kv.create('device')
    kv.init(3, fw.nd.zeros((2, 3)))
    kv.push(3, [g0, g1])          # the sum of the copies
    kv.pull(3, out=[w0, w1])      # every copy gets the stored value

``fw.Trainer`` reduces gradients through one of these, so that a distributed
store plugs in without changing the Trainer: 'dist_sync' (``kvstore/mpi.py``) sums
across the processes of an MPI job, NCCL (``kvstore/nccl.py``) across GPUs.
"""
from .base import KVStoreBase  # noqa: F401
from .local import KVStore  # noqa: F401
from .registry import create, is_distributed  # noqa: F401

__all__ = ["KVStoreBase", "KVStore", "create", "is_distributed"]
