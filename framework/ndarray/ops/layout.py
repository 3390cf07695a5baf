"""Memory order of raw arrays, from their metadata alone (shape, strides, itemsize:
all a hybridized trace lets an operator function read). Operators that can work
in the order an array lies in (pooling, convolution) ask here."""
from __future__ import annotations

from typing import Optional, Tuple

__all__ = []        # helpers for the operator modules; nothing for ``framework.nd``


def _contiguous(shape, strides, itemsize: int, order) -> bool:
    expected = itemsize
    for a in reversed(order):
        if shape[a] != 1 and strides[a] != expected:
            return False
        expected *= shape[a]
    return True


def memory_order(shape, strides, itemsize: int) -> Optional[Tuple[int, ...]]:
    """The transpose of an array of ``shape``, ``strides`` and ``itemsize`` that is
    C-contiguous, when the array is not but such a transpose exists (an (N, C, H, W)
    array lying as (C, H, W, N): (1, 2, 3, 0)); else None."""
    identity = tuple(range(len(shape)))
    if _contiguous(shape, strides, itemsize, identity):
        return None
    perm = tuple(sorted(identity, key=lambda a: -strides[a]))
    return perm if _contiguous(shape, strides, itemsize, perm) else None


def lies_batch_last(shape, strides, itemsize: int) -> bool:
    """Whether an (N, C, *S) array with N > 1 lies in memory as (C, *S, N)."""
    return len(shape) > 2 and shape[0] > 1 and \
        memory_order(shape, strides, itemsize) == tuple(range(1, len(shape))) + (0,)
