"""``FullyConnected``: y = x W^T + b, the operator behind ``nn.Dense``.

One graph node per call: forward is one GEMM and a bias add; backward is
written with NDArray operations (``MatMul``, reshape, sum), so it
differentiates again to any order.

With ``flatten=True`` (MXNet's default) the data (N, d1, d2, ...) is read as
the matrix (N, d1*d2*...); with ``flatten=False`` the product applies to the
last axis and the leading axes are kept: (..., K) -> (..., num_hidden).
"""
from __future__ import annotations

import math
from typing import Optional

import numpy

from ..ndarray import NDArray
from ..operator import Operator
from .checks import check_array, write_out
from .linalg import MatMul
from .reduce import sum as _sum
from .shape import Reshape

__all__ = ["FullyConnected"]


class FullyConnectedOp(Operator):
    """(M, K) data rows, (H, K) weight, optional (H,) bias -> (M, H) after the reshape
    that ``flatten`` chooses; the output is reshaped back to ``out_shape``."""

    name = "FullyConnected"
    saves_inputs = (0, 1)
    input_users = ((1,), (0,))       # data is read for the weight's gradient, weight for data's

    def __init__(self, flatten: bool) -> None:
        self.flatten = flatten

    def rows(self, shape):
        """The (M, K) matrix shape of data of ``shape``."""
        if self.flatten:
            return shape[0], math.prod(shape[1:])
        return math.prod(shape[:-1]), shape[-1]

    def out_shape(self, shape, hidden: int):
        return (shape[0], hidden) if self.flatten else tuple(shape[:-1]) + (hidden,)

    def forward(self, x, w, b=None):
        self.x_shape = x.shape
        y = self.xp.matmul(x.reshape(self.rows(x.shape)), w.T)
        if b is not None:
            y += b
        return y.reshape(self.out_shape(x.shape, w.shape[0]))

    def backward(self, gy):
        x, w = self.saved_inputs
        hidden = w.shape[0]
        gy2 = Reshape((self.rows(self.x_shape)[0], hidden))(gy)
        gx = gw = None
        if self.wants(0):        # dx = dy W, back to x's shape
            gx = Reshape(self.x_shape)(MatMul(False, False, self.name)(gy2, w))
        if self.wants(1):        # dW = dy^T x
            gw = MatMul(True, False, self.name)(gy2, Reshape(self.rows(self.x_shape))(x))
        if len(self.parents) == 2:
            return gx, gw
        gb = _sum(gy2, axis=0) if self.wants(2) else None
        return gx, gw, gb


def FullyConnected(data: NDArray, weight: NDArray, bias: Optional[NDArray] = None,
                   num_hidden: Optional[int] = None, no_bias: bool = False,
                   flatten: bool = True, out: Optional[NDArray] = None) -> NDArray:
    """``data . weight^T + bias``, MXNet's fully connected layer.

    data: (N, d1, ...) with ``flatten`` (read as (N, d1*...)), else (..., K);
    weight: (num_hidden, K); bias: (num_hidden,), ignored with ``no_bias``.
    Returns (N, num_hidden) with ``flatten``, else (..., num_hidden).
    ``num_hidden`` defaults to ``weight.shape[0]`` and is checked against it.
    """
    op = "FullyConnected"
    check_array(data, op)
    check_array(weight, op)
    dshape, wshape = data._data.shape, weight._data.shape
    if not dshape:
        raise ValueError(f"operator {op}: data must have at least one dimension, got shape ()")
    if len(wshape) != 2:
        raise ValueError(f"operator {op}: weight must be 2-D (num_hidden, input size), got "
                         f"shape {wshape}")
    fc = FullyConnectedOp(bool(flatten))
    k = fc.rows(dshape)[1]
    hidden = wshape[0]
    if num_hidden is not None and int(num_hidden) != hidden:
        raise ValueError(f"operator {op}: num_hidden={num_hidden} but weight has shape "
                         f"{wshape} ({hidden} rows)")
    if wshape[1] != k:
        how = "the product of the non-batch dimensions" if flatten else "the last dimension"
        raise ValueError(f"operator {op}: data of shape {dshape} has input size {k} "
                         f"({how}, flatten={bool(flatten)}), but weight has shape "
                         f"{wshape}; expected ({hidden}, {k})")
    dtype = data._data.dtype
    if no_bias:
        inputs = (data, weight)
        same = weight._data.dtype == dtype
    else:
        if bias is None:
            raise ValueError(f"operator {op}: bias is None but no_bias=False; pass a bias of "
                             f"shape ({hidden},) or no_bias=True")
        check_array(bias, op)
        if bias._data.shape != (hidden,):
            raise ValueError(f"operator {op}: bias has shape {bias.shape}, expected "
                             f"({hidden},) for weight of shape {wshape}")
        inputs = (data, weight, bias)
        same = weight._data.dtype == dtype and bias._data.dtype == dtype
    if not same or dtype.kind != "f":
        raise TypeError(f"operator {op}: data, weight and bias must share one floating-point "
                        f"dtype, got {[numpy.dtype(a.dtype).name for a in inputs]}")
    return write_out(fc(*inputs), out, op)
