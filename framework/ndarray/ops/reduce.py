"""Reductions over axes: sum, mean, max, min, prod, nansum, nanprod, norm, argmax, argmin.

Every reduction takes MXNet's ``axis`` (None, an int or a tuple; negative
counts from the end), ``keepdims`` and, where MXNet has it, ``exclude``
(reduce over the axes *not* listed). A reduction over all axes gives a 0-d
array. Gradients broadcast the output gradient back over the reduced axes and
are written with NDArray operations, so they differentiate again.
"""
from __future__ import annotations

import builtins
import math
from typing import Optional, Tuple

import numpy
from numpy.typing import DTypeLike

from ..._flags import STATE
from ..ndarray import NDArray
from ..operator import Operator
from .accumulate import SEQUENTIAL_LIMIT, accumulator, accurate_sum
from .checks import write_out, Axis, check_array, normalize_axes
from .broadcast import BroadcastTo
from .shape import Reshape

__all__ = ["sum", "mean", "max", "min", "prod", "nansum", "nanprod", "norm", "argmax",
           "argmin", "argmax_channel", "sum_axis", "max_axis", "min_axis"]

_EVERY_AXIS = tuple(tuple(range(n)) for n in range(9))   # n -> (0, ..., n - 1)


def kept_shape(shape: Tuple[int, ...], axes: Tuple[int, ...]) -> Tuple[int, ...]:
    """``shape`` with each reduced axis set to 1 (as ``keepdims=True`` gives)."""
    kept = list(shape)
    for a in axes:
        if a < len(kept):             # a 0-d array's "axis 0" is no axis
            kept[a] = 1
    return tuple(kept)


class _Reduce(Operator):
    """Common part: resolves the axes in forward, and broadcasts gradients back."""

    def __init__(self, axes: Axis, keepdims: bool, exclude: bool = False) -> None:
        self.axis, self.keepdims, self.exclude = axes, keepdims, exclude

    def forward(self, x):
        y = self.reduce(x)
        # MXNet 1.x has no 0-d arrays: a reduction over every axis gives shape (1,)
        return y.reshape(1) if y.ndim == 0 and x.ndim > 0 else y

    def reduce(self, x):
        """Raw array in, raw reduced array out."""
        raise NotImplementedError

    def resolve(self, x) -> Tuple[int, ...]:
        self.in_shape = shape = x.shape
        if self.axis is None and len(shape) < len(_EVERY_AXIS):
            self.axes = _EVERY_AXIS[len(shape)]      # all axes (exclude or not, as MXNet)
        else:
            self.axes = normalize_axes(self.axis, len(shape), self.exclude, self.name)
        return self.axes

    def unreduce(self, g: NDArray) -> NDArray:
        """An array shaped like the reduction's output, broadcast to the input shape
        (``g`` itself where no axis had more than one element)."""
        kept = kept_shape(self.in_shape, self.axes)
        if g._data.shape != kept:
            g = Reshape(kept)(g)
        if kept != self.in_shape:
            g = BroadcastTo(self.in_shape)(g)
        return g

    def reduce_error(self, x, err):
        return ValueError(f"operator {self.name}: cannot reduce an array of shape {x.shape} over "
                          f"axes {self.axes}: {err}")


class Sum(_Reduce):
    """(..) -> reduced over ``axes``; the gradient broadcasts back."""

    name = "sum"

    def reduce(self, x):
        # MXNet keeps integer dtypes; float16 accumulates in float32, long outer axes blockwise
        return accurate_sum(self.xp, x, self.resolve(x), self.keepdims)

    def backward(self, gy):
        return self.unreduce(gy)


class Mean(_Reduce):
    """Sum divided by the number of reduced elements; the gradient is spread evenly."""

    name = "mean"

    def reduce(self, x):
        axes = self.resolve(x)
        count = 1
        for a in axes:
            count *= x.shape[a]
        self.count = count
        dtype = x.dtype
        if dtype.kind == "f" and dtype.itemsize >= 4 and 0 < x.size <= SEQUENTIAL_LIMIT:
            # few float32/64 values: NumPy's sum; a vector's mean keeps its axis, so that
            # the result has MXNet's shape (1,) without a reshape
            y = x.sum(axis=axes, keepdims=self.keepdims or len(axes) == len(x.shape) == 1)
            y = y / count
            return y if y.dtype == dtype else y.astype(dtype)
        if x.dtype.kind != "f" or not self.count:
            y = x.mean(axis=axes, keepdims=self.keepdims)
            return y if y.dtype == x.dtype else y.astype(x.dtype)
        # the sum accumulated as in Sum (float16 in float32), divided before the cast back
        total = accurate_sum(self.xp, x, axes, self.keepdims, dtype=accumulator(x.dtype))
        return (total / self.count).astype(x.dtype, copy=False)

    def backward(self, gy):
        scale = 1.0 / self.count if self.count else float("nan")
        return self.unreduce(gy) * scale


class _Extreme(_Reduce):
    """max / min: the gradient goes to the positions equal to the result, shared
    evenly between ties (as PyTorch's amax; MXNet gives each tie the whole gradient, which
    over-counts it)."""

    saves_inputs = (0,)
    saves_outputs = (0,)
    method = ""

    def reduce(self, x):
        axes = self.resolve(x)
        try:
            return getattr(x, self.method)(axis=axes, keepdims=self.keepdims)
        except ValueError as err:
            raise self.reduce_error(x, err) from None

    def backward(self, gy):
        x, = self.saved_inputs
        raw = x._data
        y = self.saved_outputs[0].reshape(kept_shape(self.in_shape, self.axes))
        hit = (raw == y).astype(raw.dtype)
        share = hit / hit.sum(axis=self.axes, keepdims=True)   # constant: piecewise in x
        return self.unreduce(gy) * self.constant(share)


class Max(_Extreme):
    name, method = "max", "max"


class Min(_Extreme):
    name, method = "min", "min"


class Prod(_Reduce):
    """Product over ``axes``. The gradient at element i is the product of the others.

    Zeros in the input are handled exactly for the first derivative: only a zero
    that is the sole zero of its group gets a non-zero gradient (the product of
    the rest). Higher derivatives are exact where the input has no zeros; at an
    input with zeros, differentiating the gradient again raises
    ``operator prod is non-differentiable ...`` rather than give a wrong number.
    """

    name = "prod"
    saves_inputs = (0,)

    def reduce(self, x):
        axes = self.resolve(x)
        # integer dtypes are kept (MXNet); float16 multiplies in float32 (no early overflow)
        dtype = x.dtype if x.dtype.kind in "iu" else accumulator(x.dtype)
        y = x.prod(axis=axes, keepdims=self.keepdims, dtype=dtype)
        return y if y.dtype == x.dtype else y.astype(x.dtype)

    def backward(self, gy):
        x, = self.saved_inputs
        raw = x._data
        is_zero = raw == 0
        zeros = is_zero.astype(raw.dtype)
        n_zeros = zeros.sum(axis=self.axes, keepdims=True)
        # x with its zeros replaced by ones: differentiable, and never zero
        safe = x * self.constant(1 - zeros) + self.constant(zeros)
        rest = Prod(self.axes, True)(safe) if self.axes else safe   # product of the non-zeros
        # product of the others: rest / x_i where the group has no zero; rest at the
        # group's only zero; 0 everywhere else
        where_nonzero = self.constant((1 - zeros) * (n_zeros == 0))
        where_zero = self.constant(zeros * (n_zeros == 1))
        others = BroadcastTo(self.in_shape)(rest) * (where_nonzero / safe + where_zero)
        if STATE.recording and builtins.bool(is_zero.any()):
            # second derivatives at zeros would miss cross terms: refuse them instead
            self.differentiable_backward = False
        return self.unreduce(gy) * others


class _NanTo(Operator):
    """NaNs replaced by ``value`` (0 for nansum, 1 for nanprod); no gradient at NaNs."""

    saves_inputs = (0,)

    def __init__(self, name: str, value: float) -> None:
        self.name, self.value = name, value

    def forward(self, x):
        y = x.copy()
        y[self.xp.isnan(x)] = self.value
        return y

    def backward(self, gy):
        x, = self.saved_inputs
        raw = x._data
        return gy * self.constant((~self.xp.isnan(raw)).astype(raw.dtype))


class Norm(_Reduce):
    """L1 (``ord=1``: sum of absolute values) or L2 (``ord=2``) norm over ``axes``."""

    name = "norm"
    saves_inputs = (0,)

    def __init__(self, ord: int, axes: Axis, keepdims: bool) -> None:
        super().__init__(axes, keepdims)
        self.ord = ord
        self.saves_outputs = (0,) if ord == 2 else ()

    def reduce(self, x):
        axes = self.resolve(x)
        if self.ord == 1:
            return accurate_sum(self.xp, self.xp.abs(x), axes, self.keepdims)
        wide = x.astype(accumulator(x.dtype), copy=False)     # float16 squares overflow
        y = self.xp.sqrt(accurate_sum(self.xp, wide * wide, axes, self.keepdims))
        return y.astype(x.dtype, copy=False)

    def backward(self, gy):
        x, = self.saved_inputs
        if self.ord == 1:
            return self.unreduce(gy) * self.constant(self.xp.sign(x._data))
        y = self.output()
        raw = self.saved_outputs[0]
        safe = y + self.constant((raw == 0).astype(raw.dtype))   # 0/0 -> gradient 0
        return self.unreduce(gy / safe) * x


class _ArgExtreme(Operator):
    """Indices of the maximum / minimum (first occurrence), as float32 like MXNet."""

    zero_grad = True
    function = ""

    def __init__(self, axis: Optional[int], keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        if self.axis is None:
            self.check_not_empty(x, x.size, "")
            idx = getattr(self.xp, self.function)(x.reshape(-1))
            shape = (1,) * x.ndim if self.keepdims else (1,)   # MXNet: no 0-d results
            return idx.reshape(shape).astype(numpy.float32)
        axis, = normalize_axes(self.axis, x.ndim, op=self.name)
        # an empty array along another axis gives an empty result (as PyTorch)
        self.check_not_empty(x, x.shape[axis] if x.ndim else x.size, f" along axis {axis}")
        idx = getattr(self.xp, self.function)(x, axis=axis)
        if self.keepdims:
            idx = self.xp.expand_dims(idx, axis)
        return idx.astype(numpy.float32)


    def check_not_empty(self, x, count: int, where: str) -> None:
        if count == 0:
            raise ValueError(f"operator {self.name}: the input of shape {x.shape} is empty"
                             f"{where}: there is no index to return")


class ArgMax(_ArgExtreme):
    name, function = "argmax", "argmax"


class ArgMin(_ArgExtreme):
    name, function = "argmin", "argmin"


def sum(data: NDArray, axis: Axis = None, keepdims: bool = False, exclude: bool = False,
        *, out: Optional[NDArray] = None) -> NDArray:
    """Sum over ``axis`` (all axes if None; the others if ``exclude``).

    (d0, ..., dn) -> the shape without the reduced axes (kept as 1 with ``keepdims``).
    """
    check_array(data, "sum")
    result = Sum(axis, keepdims, exclude)(data)
    return result if out is None else write_out(result, out, 'sum')


def mean(data: NDArray, axis: Axis = None, keepdims: bool = False, exclude: bool = False,
         *, out: Optional[NDArray] = None) -> NDArray:
    """Arithmetic mean over ``axis``; shapes as in :func:`sum`."""
    check_array(data, "mean")
    result = Mean(axis, keepdims, exclude)(data)
    return result if out is None else write_out(result, out, 'mean')


def max(data: NDArray, axis: Axis = None, keepdims: bool = False, exclude: bool = False,
        *, out: Optional[NDArray] = None) -> NDArray:
    """Maximum over ``axis``; shapes as in :func:`sum`. Ties share the gradient evenly."""
    check_array(data, "max")
    return write_out(Max(axis, keepdims, exclude)(data), out, 'max')


def min(data: NDArray, axis: Axis = None, keepdims: bool = False, exclude: bool = False,
        *, out: Optional[NDArray] = None) -> NDArray:
    """Minimum over ``axis``; shapes as in :func:`sum`. Ties share the gradient evenly."""
    check_array(data, "min")
    return write_out(Min(axis, keepdims, exclude)(data), out, 'min')


def prod(data: NDArray, axis: Axis = None, keepdims: bool = False, exclude: bool = False,
         *, out: Optional[NDArray] = None) -> NDArray:
    """Product over ``axis``; shapes as in :func:`sum`.

    The gradient is exact with zeros in the input; second and higher derivatives
    are available where the input has no zeros (see ``Prod``).
    """
    check_array(data, "prod")
    return write_out(Prod(axis, keepdims, exclude)(data), out, 'prod')


def nansum(data: NDArray, axis: Axis = None, keepdims: bool = False, exclude: bool = False,
           *, out: Optional[NDArray] = None) -> NDArray:
    """Sum over ``axis`` treating NaN as 0; NaN positions get a zero gradient."""
    check_array(data, "nansum")
    return write_out(Sum(axis, keepdims, exclude)(_NanTo("nansum", 0)(data)), out, 'nansum')


def nanprod(data: NDArray, axis: Axis = None, keepdims: bool = False, exclude: bool = False,
            *, out: Optional[NDArray] = None) -> NDArray:
    """Product over ``axis`` treating NaN as 1; NaN positions get a zero gradient."""
    check_array(data, "nanprod")
    return write_out(Prod(axis, keepdims, exclude)(_NanTo("nanprod", 1)(data)), out, 'nanprod')


def norm(data: NDArray, ord: int = 2, axis: Axis = None, out_dtype: DTypeLike = None,
         keepdims: bool = False, *, out: Optional[NDArray] = None) -> NDArray:
    """Elementwise L1 (``ord=1``) or L2 (``ord=2``) norm over ``axis`` (all axes if None).

    (d0, ..., dn) -> the shape without the reduced axes. The L2 gradient at an
    all-zero group is 0 (a subgradient), as is the L1 gradient at a zero.
    """
    check_array(data, "norm")
    if ord not in (1, 2):
        raise ValueError(f"operator norm: ord must be 1 or 2, got {ord!r}")
    result = Norm(ord, axis, keepdims)(data)
    return write_out(result if out_dtype is None else result.astype(out_dtype), out, 'norm')


def _arg(op_class, data, axis, keepdims):
    check_array(data, op_class.name)
    if axis is not None and (isinstance(axis, bool) or not isinstance(axis, (int, numpy.integer))):
        raise TypeError(f"operator {op_class.name}: axis must be an int or None, got {axis!r}")
    return op_class(axis, keepdims)(data)


def argmax(data: NDArray, axis: Optional[int] = None, keepdims: bool = False,
           *, out: Optional[NDArray] = None) -> NDArray:
    """Indices (float32) of the maxima along ``axis`` (of the flattened array if None).

    (d0, ..., dn) -> the shape without ``axis``; no gradient.
    """
    return write_out(_arg(ArgMax, data, axis, keepdims), out, 'argmax')


def argmin(data: NDArray, axis: Optional[int] = None, keepdims: bool = False,
           *, out: Optional[NDArray] = None) -> NDArray:
    """Indices (float32) of the minima along ``axis`` (of the flattened array if None)."""
    return write_out(_arg(ArgMin, data, axis, keepdims), out, 'argmin')


def argmax_channel(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Indices (float32) of the maxima along the last axis: (..., C) -> (...)."""
    return write_out(_arg(ArgMax, data, -1, False), out, 'argmax_channel')


sum_axis = sum
max_axis = max
min_axis = min
