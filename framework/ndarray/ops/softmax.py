"""Normalising activations: ``softmax`` and ``log_softmax`` along one axis, and the
losses built on them: ``softmax_cross_entropy`` and ``sparse_softmax_cross_entropy``
(the per-sample loss of ``loss.SoftmaxCrossEntropyLoss``, one operator).

Both subtract the maximum before exponentiating (no overflow), and write their
gradients with NDArray operations in terms of the saved output, so they
differentiate to any order.
"""
from __future__ import annotations

from typing import Optional

import numpy
from numpy.typing import DTypeLike

from ..ndarray import NDArray
from ..operator import Operator
from .accumulate import accurate_sum
from .checks import check_array, write_out
from .index import _arange, pick as _pick, pick_key
from .reduce import Sum, sum as _sum
from .unary import Exp

__all__ = ["softmax", "log_softmax", "softmax_cross_entropy"]


def _max_along(xp, x, axis: int):
    """``x.max(axis=axis, keepdims=True)``. On NumPy, for the rows of a matrix, the
    values at ``argmax``: NumPy's max reduction over short rows costs 2-4x as much
    (128 x 10: 13 us against 4). A NaN is the maximum either way."""
    if xp is numpy and axis == 1 and x.ndim == 2 and x.shape[0] > 1:
        return x[_arange(xp, x.shape[0]), x.argmax(axis=1)][:, None]
    return x.max(axis=axis, keepdims=True)


def _log_softmax(xp, x, axis: int):
    """x - max - log(sum(exp(x - max))) along ``axis``: raw, stable, a new array."""
    z = x - _max_along(xp, x, axis)
    total = accurate_sum(xp, xp.exp(z), (axis,), keepdims=True)
    return xp.subtract(z, xp.log(total, out=total), out=z)


class _Normalise(Operator):
    """Common set-up: the axis and the temperature ``t`` (inputs are divided by t)."""

    saves_outputs = (0,)

    def __init__(self, axis: int, temperature: Optional[float]) -> None:
        self.axis = axis
        self.t = None if temperature is None or temperature == 1.0 else float(temperature)

    def shifted(self, x):
        """``x / t - max(x / t)`` along the axis."""
        if self.t is not None:
            x = x / self.t
        return x - _max_along(self.xp, x, self.axis)

    def scale(self, g: NDArray) -> NDArray:
        return g if self.t is None else g / self.t


class Softmax(_Normalise):
    """y = exp(x/t) / sum(exp(x/t)); dx = y * (dy - sum(dy * y)) / t."""

    name = "softmax"

    def forward(self, x):
        if x.shape[self.axis] == 0:
            return x.copy()                    # nothing to normalise (PyTorch: empty too)
        e = self.xp.exp(self.shifted(x))
        return e / accurate_sum(self.xp, e, (self.axis,), keepdims=True)

    def backward(self, gy):
        y = self.output()
        gyy = gy * y
        return self.scale(gyy - y * Sum(self.axis, True)(gyy))


class LogSoftmax(_Normalise):
    """y = x/t - log(sum(exp(x/t))); dx = (dy - exp(y) * sum(dy)) / t."""

    name = "log_softmax"

    def forward(self, x):
        axis, xp = self.axis, self.xp
        if x.shape[axis] == 0:
            return x.copy()                    # nothing to normalise (PyTorch: empty too)
        if self.t is not None:
            x = x / self.t
        return _log_softmax(xp, x, axis)

    def backward(self, gy):
        return self.scale(LogSoftmaxGrad(self.axis)(self.output(), gy))


class LogSoftmaxGrad(Operator):
    """log_softmax's input gradient from its output y and output gradient g:
    g - exp(y) * sum(g) along the axis, as one operator (four NumPy calls, not
    four operators). Its own gradient, for the incoming u, is written with NDArray
    operations: -u * exp(y) * sum(g) for y, u - sum(u * exp(y)) for g."""

    name = "_backward_log_softmax"
    saves_inputs = (0, 1)

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, y, g):
        xp = self.xp
        p = xp.exp(y) * accurate_sum(xp, g, (self.axis,), keepdims=True)
        if p.dtype == g.dtype:
            return xp.subtract(g, p, out=p)
        return g - p                  # mixed dtypes: NumPy's promotion, as NDArrays do

    def backward(self, u):
        y, g = self.saved_inputs
        wy, wg = self.parents
        up = u * Exp()(y)
        gy = -up * Sum(self.axis, True)(g) if wy is not None else None
        gg = u - Sum(self.axis, True)(up) if wg is not None else None
        return gy, gg


class SparseSoftmaxCE(Operator):
    """-log_softmax(x)[label] along ``axis``: the loss of SoftmaxCrossEntropyLoss with
    class-index labels, one operator instead of log_softmax, pick and negative.

    x (.., C, ..) floats; label: x's shape without ``axis`` (or with 1 there), class
    indices (floats allowed; out-of-range ones clipped, as ``pick``) -> x's shape
    without ``axis``, or with 1 there (``keepdims``). The log-probabilities are
    those of ``log_softmax``, bit for bit. Gradient: ``SparseSoftmaxCEGrad``.
    """

    name = "softmax_cross_entropy"
    saves_inputs = (0,)          # x: the gradient's own gradient differentiates softmax(x)
    input_users = ((0,),)

    def __init__(self, axis: int, keepdims: bool) -> None:
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x, label):
        xp, axis = self.xp, self.axis
        self.log_p = _log_softmax(xp, x, axis)
        self.key = pick_key(xp, x.shape, axis, label, self.keepdims, "clip")
        return xp.negative(self.log_p[self.key])

    def backward(self, g):
        x, = self.saved_inputs
        grad = SparseSoftmaxCEGrad(self.axis, self.keepdims, self.log_p, self.key)
        return grad(x, g), None

    def release(self) -> None:
        super().release()
        self.log_p = self.key = None


class SparseSoftmaxCEGrad(Operator):
    """(softmax(x) - one_hot(label)) * g: ``SparseSoftmaxCE``'s gradient for x, from the
    forward's log-probabilities, one pass. Its own gradient, for the incoming u, is
    written with NDArray operations (softmax recorded again from x, so every order
    differentiates): p * (u g - sum(u g p)) for x, sum(u (p - one_hot)) for g."""

    name = "_backward_softmax_cross_entropy"
    saves_inputs = (0, 1)

    def __init__(self, axis: int, keepdims: bool, log_p, key) -> None:
        self.axis, self.keepdims, self.log_p, self.key = axis, keepdims, log_p, key

    def _spread(self, g):
        """The loss gradient g broadcast along the class axis."""
        return g if self.keepdims else self.xp.expand_dims(g, self.axis)

    def forward(self, x, g):
        xp = self.xp
        grad = xp.exp(self.log_p)
        grad[self.key] -= 1
        return xp.multiply(grad, self._spread(g), out=grad)

    def backward(self, u):
        x, g = self.saved_inputs
        axis = self.axis
        p = Softmax(axis, None)(x)
        g_spread = g if self.keepdims else g.expand_dims(axis)
        gx = gg = None
        if self.wants(0):
            v = u * g_spread
            gx = p * (v - Sum(axis, True)(v * p))
        if self.wants(1):
            one_hot = self.xp.zeros(x.shape, dtype=x.dtype)
            one_hot[self.key] = 1
            gg = Sum(axis, self.keepdims)(u * (p - self.constant(one_hot)))
        return gx, gg

    def release(self) -> None:
        super().release()
        self.log_p = self.key = None


def sparse_softmax_cross_entropy(data: NDArray, label: NDArray, axis: int = -1,
                                 keepdims: bool = True) -> NDArray:
    """-log_softmax(data, axis)[label]: ``-pick(log_softmax(data, axis), label, axis,
    keepdims)`` as one operator. data (.., C, ..) floats, label class indices of
    data's shape without ``axis`` (or with 1 there); differentiable in data."""
    check_array(data, "softmax_cross_entropy")
    check_array(label, "softmax_cross_entropy")
    shape = data._data.shape
    if not shape:
        raise ValueError("operator softmax_cross_entropy: data must have at least one "
                         "dimension, got shape ()")
    if data._data.dtype.kind != "f" or label._data.dtype.kind not in "biuf":
        raise TypeError(f"operator softmax_cross_entropy: expected floating-point data and "
                        f"numeric labels, got {data._data.dtype} and {label._data.dtype}")
    a = axis % len(shape)
    if label._data.shape not in (shape[:a] + shape[a + 1:], shape[:a] + (1,) + shape[a + 1:]):
        raise ValueError(f"operator softmax_cross_entropy: label of shape {label.shape} does "
                         f"not fit data of shape {shape} along axis {axis}")
    if shape[a] == 0:
        raise ValueError(f"operator softmax_cross_entropy: no classes along axis {axis} of "
                         f"data of shape {shape}")
    return SparseSoftmaxCE(a, bool(keepdims))(data, label)


def _apply(op_class, data, axis, temperature, dtype):
    name = op_class.name
    if not isinstance(data, NDArray):
        raise TypeError(f"operator {name}: data must be an NDArray, got {type(data).__name__}")
    if dtype is not None:
        data = data.astype(dtype, copy=False)
    raw_dtype = data._data.dtype
    if raw_dtype.kind != "f":
        raise TypeError(f"operator {name}: expected a floating-point array, got dtype "
                        f"{numpy.dtype(raw_dtype).name} (shape {data.shape}); use astype first")
    ndim = data._data.ndim
    if ndim == 0:
        raise ValueError(f"operator {name}: data must have at least one dimension, got shape ()")
    if not -ndim <= axis < ndim:
        raise ValueError(f"operator {name}: axis {axis} is out of range for data of shape "
                         f"{data.shape}")
    if temperature is not None and float(temperature) == 0.0:
        raise ValueError(f"operator {name}: temperature must be non-zero")
    return op_class(axis % ndim, temperature)(data)


def softmax(data: NDArray, axis: int = -1, temperature: Optional[float] = None,
            dtype: DTypeLike = None, *, out: Optional[NDArray] = None) -> NDArray:
    """exp(data / t) normalised to sum to 1 along ``axis``; same shape as ``data``.

    ``temperature`` t defaults to 1; ``dtype`` casts the input (and so the output) first.
    """
    result = _apply(Softmax, data, axis, temperature, dtype)
    return result if out is None else write_out(result, out, 'softmax')


def log_softmax(data: NDArray, axis: int = -1, temperature: Optional[float] = None,
                dtype: DTypeLike = None, *, out: Optional[NDArray] = None) -> NDArray:
    """log(softmax(data, axis, temperature)), computed stably; same shape as ``data``."""
    result = _apply(LogSoftmax, data, axis, temperature, dtype)
    return result if out is None else write_out(result, out, 'log_softmax')


def softmax_cross_entropy(data: NDArray, label: NDArray, *,
                          out: Optional[NDArray] = None) -> NDArray:
    """MXNet's ``softmax_cross_entropy``: -sum_i log(softmax(data[i]))[label[i]], summed
    over the batch.

    data (N, C) scores, label (N,) class indices (floats allowed, as MXNet passes
    them; out-of-range labels are clipped to [0, C)) -> shape (1,). Differentiable
    in ``data`` (any order: log_softmax then pick), not in ``label``.
    """
    check_array(data, "softmax_cross_entropy")
    check_array(label, "softmax_cross_entropy")
    if data.ndim != 2 or label.ndim != 1 or label.shape[0] != data.shape[0]:
        raise ValueError(f"operator softmax_cross_entropy: expected data of shape (N, C) and "
                         f"label of shape (N,), got data {data.shape} and label {label.shape}")
    if numpy.dtype(data.dtype).kind != "f":
        raise TypeError(f"operator softmax_cross_entropy: data must be floating-point, got "
                        f"dtype {numpy.dtype(data.dtype).name} (shape {data.shape})")
    picked = _pick(log_softmax(data, axis=-1), label, axis=-1)
    return write_out(-_sum(picked), out, "softmax_cross_entropy")
