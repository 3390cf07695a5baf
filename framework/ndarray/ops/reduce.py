"""Reductions over axes: sum, mean, ... with ``axis``, ``keepdims`` and ``exclude``."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

from ..ndarray import NDArray
from ..operator import Operator
from .broadcast import BroadcastTo
from .shape import Reshape

__all__ = ["sum"]

Axis = Optional[Union[int, Sequence[int]]]


def normalize_axes(axis: Axis, ndim: int, exclude: bool = False, op: str = "reduce") -> Tuple[int, ...]:
    """``axis`` (None, int or ints; negative allowed) as sorted non-negative ints."""
    if axis is None or axis == ():
        axes = tuple(range(ndim))
        return () if exclude else axes
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"operator {op}: axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    if exclude:
        out = [a for a in range(ndim) if a not in out]
    return tuple(sorted(set(out)))


def kept_shape(shape: Tuple[int, ...], axes: Tuple[int, ...]) -> Tuple[int, ...]:
    """``shape`` with each reduced axis set to 1 (as ``keepdims=True`` gives)."""
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


class Sum(Operator):
    """(..) -> reduced over ``axes``; the gradient broadcasts back."""

    name = "sum"

    def __init__(self, axes: Axis, keepdims: bool, exclude: bool = False) -> None:
        self.axis, self.keepdims, self.exclude = axes, keepdims, exclude

    def forward(self, x):
        self.in_shape = x.shape
        self.axes = normalize_axes(self.axis, x.ndim, self.exclude, self.name)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        return BroadcastTo(self.in_shape)(Reshape(kept_shape(self.in_shape, self.axes))(gy))


def sum(data: NDArray, axis: Axis = None, keepdims: bool = False, exclude: bool = False) -> NDArray:
    """Sum over ``axis`` (all axes if None; the others if ``exclude``)."""
    return Sum(axis, keepdims, exclude)(data)
