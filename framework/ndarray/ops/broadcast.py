"""Broadcasting and its adjoint: broadcast_to / broadcast_like / broadcast_axes and sum_to."""
from __future__ import annotations

from typing import Optional

from typing import Sequence, Tuple

from ..ndarray import NDArray
from ..operator import Operator
from .accumulate import accurate_sum
from .checks import write_out, axis_index

__all__ = ["broadcast_to", "broadcast_like", "broadcast_axes", "broadcast_axis", "sum_to"]


class BroadcastTo(Operator):
    """(..) -> ``shape``; the gradient sums back over the broadcast axes."""

    name = "broadcast_to"

    def __init__(self, shape: Tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        if x.shape == self.shape:
            return x.copy()
        try:
            return self.xp.broadcast_to(x, self.shape).copy()
        except ValueError:
            raise ValueError(f"operator broadcast_to: cannot broadcast shape {x.shape} "
                             f"to {self.shape}") from None

    def backward(self, gy):
        return sum_to(gy, self.in_shape)


class SumTo(Operator):
    """Sum ``x`` down to ``shape`` (the inverse of broadcasting), e.g. (4, 3) -> (1, 3)."""

    name = "sum_to"

    def __init__(self, shape: Tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.in_shape = in_shape = x.shape
        shape = self.shape
        lead = len(in_shape) - len(shape)
        axes = list(range(lead))
        for i in range(len(shape)):
            if shape[i] == 1 and in_shape[lead + i] != 1:
                axes.append(lead + i)
        if axes and len(axes) == lead:  # leading axes only (a bias gradient): no reshape
            return accurate_sum(self.xp, x, tuple(axes))
        axes = tuple(axes)
        # float16 accumulates in float32, long outer axes blockwise (a bias gradient)
        y = accurate_sum(self.xp, x, axes, keepdims=True) if axes else x
        return y.reshape(self.shape)

    def backward(self, gy):
        return BroadcastTo(self.in_shape)(gy)


def sum_to(x: NDArray, shape: Sequence[int], *, out: Optional[NDArray] = None) -> NDArray:
    """Sum ``x`` over broadcast axes so that it has ``shape``; ``x`` itself if it already has."""
    shape = tuple(shape)
    if x._data.shape == shape:
        return x if out is None else write_out(x, out, 'sum_to')
    result = SumTo(shape)(x)
    return result if out is None else write_out(result, out, 'sum_to')


def broadcast_to(data: NDArray, shape: Sequence[int], *, out: Optional[NDArray] = None) -> NDArray:
    """Broadcast ``data`` to ``shape``; a 0 in ``shape`` keeps that input dimension (MXNet)."""
    shape = tuple(int(s) for s in shape)
    lead = len(shape) - data.ndim
    if lead < 0:
        raise ValueError(f"operator broadcast_to: target shape {shape} has fewer dimensions "
                         f"than the input {data.shape}")
    shape = tuple(data.shape[i - lead] if s == 0 and i >= lead else s for i, s in enumerate(shape))
    return write_out(BroadcastTo(shape)(data), out, 'broadcast_to')


def _as_tuple(value) -> tuple:
    return (value,) if isinstance(value, int) else tuple(value)


def broadcast_like(lhs: NDArray, rhs: NDArray, lhs_axes=None, rhs_axes=None,
                   *, out: Optional[NDArray] = None) -> NDArray:
    """Broadcast ``lhs`` to the shape of ``rhs`` (optionally only on the given axes).

    With ``lhs_axes`` and ``rhs_axes`` (equal, non-zero lengths), dimension
    ``lhs_axes[i]`` of lhs takes the size of dimension ``rhs_axes[i]`` of rhs.
    """
    if lhs_axes is None or rhs_axes is None:
        return write_out(BroadcastTo(rhs.shape)(lhs), out, 'broadcast_like')
    lhs_axes = tuple(axis_index(a, lhs.ndim, "broadcast_like") for a in _as_tuple(lhs_axes))
    rhs_axes = tuple(axis_index(a, rhs.ndim, "broadcast_like") for a in _as_tuple(rhs_axes))
    if len(lhs_axes) != len(rhs_axes):
        raise ValueError(f"operator broadcast_like: lhs_axes {lhs_axes} and rhs_axes {rhs_axes} "
                         f"must have the same length")
    if not lhs_axes:
        raise ValueError(f"operator broadcast_like: empty lhs_axes and rhs_axes are not allowed "
                         f"(lhs {lhs.shape}, rhs {rhs.shape}); give the axes to broadcast, or "
                         f"neither to broadcast to rhs's whole shape")
    shape = list(lhs.shape)
    for la, ra in zip(lhs_axes, rhs_axes):
        shape[la] = rhs.shape[ra]
    return write_out(BroadcastTo(tuple(shape))(lhs), out, 'broadcast_like')


def broadcast_axes(data: NDArray, axis=(), size=(), *, out: Optional[NDArray] = None) -> NDArray:
    """Broadcast the size-1 ``axis`` (int or tuple) of ``data`` to ``size``."""
    axis = tuple(axis_index(a, data.ndim, "broadcast_axes") for a in _as_tuple(axis))
    size = _as_tuple(size)
    if len(axis) != len(size):
        raise ValueError(f"operator broadcast_axes: axis {axis} and size {size} must have the "
                         f"same length")
    shape = list(data.shape)
    for a, s in zip(axis, size):
        shape[a] = s
    return write_out(BroadcastTo(tuple(shape))(data), out, 'broadcast_axes')


broadcast_axis = broadcast_axes
