"""Copies, casts, device moves and the ``*_like`` constructors."""
from __future__ import annotations

from typing import Optional

import numpy
from numpy.typing import DTypeLike

from ...context import Context, move
from ..ndarray import NDArray
from ..operator import Operator
from .checks import write_out

__all__ = ["zeros_like", "ones_like", "full_like", "identity", "copy", "cast", "stop_gradient"]


class Copy(Operator):
    name = "copy"

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


class Cast(Operator):
    """Change the dtype; the gradient is cast back. Integer results carry no gradient."""

    name = "cast"

    def __init__(self, dtype) -> None:
        self.dtype = numpy.dtype(dtype)
        self.zero_grad = self.dtype.kind not in "fc"

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return None if self.zero_grad else Cast(self.in_dtype)(gy)


class CopyTo(Operator):
    """Move to another context; the gradient moves back."""

    name = "copyto"

    def __init__(self, dst: Context) -> None:
        self.dst = dst

    def forward(self, x):
        self.src = self.ctx
        self.ctx = self.dst
        self.xp = self.dst.xp
        return move(x, self.src, self.dst)

    def backward(self, gy):
        return CopyTo(self.src)(gy)


class StopGradient(Operator):
    """The input itself (a view), through which no gradient flows (MXNet's BlockGrad)."""

    name = "BlockGrad"
    zero_grad = True
    is_view = True

    def forward(self, x):
        return x


class _Like(Operator):
    zero_grad = True

    def __init__(self, value) -> None:
        self.value = value

    def forward(self, x):
        return self.xp.full_like(x, self.value)


def zeros_like(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """An array of zeros with the shape, dtype and context of ``data``."""
    return write_out(_Like(0)(data), out, 'zeros_like')


def ones_like(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """An array of ones with the shape, dtype and context of ``data``."""
    return write_out(_Like(1)(data), out, 'ones_like')


def full_like(data: NDArray, fill_value, *, out: Optional[NDArray] = None) -> NDArray:
    """An array filled with ``fill_value``, shaped like ``data``."""
    return write_out(_Like(fill_value)(data), out, 'full_like')


def copy(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """A deep copy (differentiable)."""
    return write_out(Copy()(data), out, 'copy')


identity = copy


def cast(data: NDArray, dtype: DTypeLike, *, out: Optional[NDArray] = None) -> NDArray:
    """``data`` converted to ``dtype``."""
    return write_out(data.astype(dtype), out, 'cast')


def stop_gradient(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """``data`` unchanged, but treated as a constant by backward (alias ``BlockGrad``)."""
    return write_out(StopGradient()(data), out, 'stop_gradient')
