"""Repeating and reversing: tile, repeat, flip (alias reverse)."""
from __future__ import annotations

import builtins
import math
from typing import Optional, Tuple

from ..ndarray import NDArray
from ..operator import Operator
from .checks import write_out, axis_index, check_array, int_tuple, is_int
from .shape import Reshape


__all__ = ["tile", "repeat", "flip", "reverse"]


# ------------------------------------------------------------ tile, repeat, flip
class Tile(Operator):
    """Repeat the whole array ``reps`` times per axis; the gradient sums the copies."""

    name = "tile"

    def __init__(self, reps: Tuple[int, ...]) -> None:
        self.reps = reps

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.tile(x, self.reps)

    def backward(self, gy):
        from .reduce import Sum
        n = builtins.max(len(self.in_shape), len(self.reps))
        shape = (1,) * (n - len(self.in_shape)) + self.in_shape
        reps = (1,) * (n - len(self.reps)) + self.reps
        blocks = Reshape(tuple(v for pair in zip(reps, shape) for v in pair))(gy)
        summed = Sum(tuple(range(0, 2 * n, 2)), False)(blocks)
        return Reshape(self.in_shape)(summed)


class Repeat(Operator):
    """Repeat each element ``repeats`` times along ``axis`` (flattened if None)."""

    name = "repeat"

    def __init__(self, repeats: int, axis: Optional[int]) -> None:
        self.repeats, self.axis = repeats, axis

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.repeat(x, self.repeats, axis=self.axis)

    def backward(self, gy):
        from .reduce import Sum
        if self.axis is None:
            parts = Reshape((math.prod(self.in_shape), self.repeats))(gy)
            return Reshape(self.in_shape)(Sum((1,), False)(parts))
        a = self.axis
        parts = Reshape(self.in_shape[:a + 1] + (self.repeats,) + self.in_shape[a + 1:])(gy)
        return Sum((a + 1,), False)(parts)


class Flip(Operator):
    """Reverse the order of elements along ``axes``; a view."""

    name = "flip"
    is_view = True

    def __init__(self, axes: Tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, x):
        key = [slice(None)] * x.ndim
        for a in self.axes:
            key[a] = slice(None, None, -1)
        return x[tuple(key)]

    def backward(self, gy):
        return Flip(self.axes)(gy)


def tile(data: NDArray, reps, *, out: Optional[NDArray] = None) -> NDArray:
    """Repeat the whole array: (2, 3) with reps (2, 2) -> (4, 6); shorter ``reps`` or
    arrays are padded with leading 1s as in NumPy."""
    check_array(data, "tile")
    reps = int_tuple(reps, "tile", "reps")
    if any(r < 0 for r in reps):
        raise ValueError(f"operator tile: reps {reps} must not be negative")
    return write_out(Tile(reps)(data), out, 'tile')


def repeat(data: NDArray, repeats: int, axis: Optional[int] = None,
           *, out: Optional[NDArray] = None) -> NDArray:
    """Repeat each element ``repeats`` times along ``axis`` (of the flattened array if None).

    (2, 2) with repeats=2, axis=1 -> (2, 4); axis=None -> (8,).
    """
    check_array(data, "repeat")
    if not is_int(repeats) or repeats < 0:
        raise ValueError(f"operator repeat: repeats must be a non-negative int, got {repeats!r}")
    if axis is not None:
        axis = axis_index(axis, data.ndim, "repeat")
    return write_out(Repeat(int(repeats), axis)(data), out, 'repeat')


def flip(data: NDArray, axis, *, out: Optional[NDArray] = None) -> NDArray:
    """Reverse the order of elements along ``axis`` (an int or a tuple); a view."""
    check_array(data, "flip")
    axes = tuple(sorted({axis_index(a, data.ndim, "flip") for a in int_tuple(axis, "flip", "axes")}))
    return write_out(Flip(axes)(data), out, 'flip')


reverse = flip


