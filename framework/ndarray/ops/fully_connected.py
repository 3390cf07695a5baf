"""``FullyConnected``: y = x W^T + b, the operator behind ``nn.Dense``.

One graph node per call: forward is one GEMM and a bias add. The gradients
are two operators that, with ``FullyConnected`` itself, are each other's
gradients (as conv's), so every order differentiates:

    y = x W^T        dx = gy W  (``FCDataGrad``)      dW = gy^T x  (``FCWeightGrad``)

Each product is one ``xp.matmul`` call, threaded by the BLAS itself: on an idle
machine OpenBLAS's own threads beat cutting the product into single-threaded
blocks spread over the framework's pool by 1.3-2.5x at MLP shapes (batch 128,
784-256-256-10 on 2 cores).

``relu=True`` makes the operator relu(x W^T + b), in place on the product, and
its gradient passes the output gradient through relu's first (``ReluGrad``):
``Dense(activation='relu')`` is then one graph node (``dense``).

``batch_last=True`` (a Dense whose output goes to another Dense in a Sequential)
computes the product as W x^T, (num_hidden, N), and returns its (N, num_hidden)
view: the next layer then reads its data transposed, and the products of both
directions take the orientations OpenBLAS runs faster at MLP shapes (batch 128,
784-256-256-10: the forward products 0.95x, 0.81x and 0.39x the time, two weight
gradients 0.94x and 0.97x; only the last layer's two small gradient products are
slower, 15 against 11 and 17 against 9 us; the training step 0.93x and 0.96x the
time in paired runs).

With ``flatten=True`` (MXNet's default) the data (N, d1, d2, ...) is read as
the matrix (N, d1*d2*...); with ``flatten=False`` the product applies to the
last axis and the leading axes are kept: (..., K) -> (..., num_hidden).
Data whose matrix lies transposed in memory (a pooled batch-last array: see
``conv.py``) is read as it is (the BLAS takes the transposed operand) and gets
its gradient in the same memory order.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy

from ..ndarray import NDArray
from ..operator import Operator
from .activation import ReluEpilogue
from .checks import check_array, write_out
from .reduce import sum as _sum
from .shape import Reshape

__all__ = ["FullyConnected"]


class FullyConnectedOp(ReluEpilogue, Operator):
    """(M, K) data rows, (H, K) weight, optional (H,) bias -> (M, H) after the reshape
    that ``flatten`` chooses; the output is reshaped back to ``out_shape``."""

    name = "FullyConnected"
    saves_inputs = (0, 1)
    input_users = ((1,), (0,))       # data is read for the weight's gradient, weight for data's

    def __init__(self, flatten: bool, relu: bool = False, batch_last: bool = False) -> None:
        self.flatten = flatten
        self.batch_last = batch_last     # product as W x^T (H, M), returned as its (M, H) view
        if relu:
            self.fuse_relu()

    def rows(self, shape):
        """The (M, K) matrix shape of data of ``shape``."""
        if self.flatten:
            return shape[0], math.prod(shape[1:])
        return math.prod(shape[:-1]), shape[-1]

    def out_shape(self, shape, hidden: int):
        return (shape[0], hidden) if self.flatten else tuple(shape[:-1]) + (hidden,)

    def forward(self, x, w, b=None):
        self.x_shape = x.shape
        rows = x.reshape(self.rows(x.shape))
        # data lying transposed in memory (a pooled batch-last array, flattened: a view)
        # gets its gradient in the same order
        self.x_transposed = not rows.flags.c_contiguous and rows.T.flags.c_contiguous
        if self.batch_last:              # rows (M, K) -> (H, M): the product of the next layer
            y = self.xp.matmul(w, rows.T)
            if b is not None:
                y += b[:, None]
            return self.relu_output(y).T
        y = self.xp.matmul(rows, w.T)
        if b is not None:
            y += b
        return self.relu_output(y).reshape(self.out_shape(x.shape, w.shape[0]))

    def backward(self, gy):
        x, w = self.saved_inputs
        gy = self.relu_gradient(gy)
        rows = self.rows(self.x_shape)
        gy2 = _reshaped(gy, (rows[0], w.shape[0]))
        gx = gw = None
        if self.wants(0):        # dx = dy W, back to x's shape
            gx = _reshaped(FCDataGrad(self.x_transposed)(gy2, w), self.x_shape)
        if self.wants(1):        # dW = dy^T x
            gw = FCWeightGrad()(gy2, _reshaped(x, rows))
        if len(self.parents) == 2:
            return gx, gw
        gb = _sum(gy2, axis=0) if self.wants(2) else None
        return gx, gw, gb


def _reshaped(a: NDArray, shape) -> NDArray:
    """``a`` as ``shape``: itself when it has that shape already (2-D data, the common
    case), else a recorded ``Reshape``."""
    return a if a._data.shape == shape else Reshape(shape)(a)


class FCDataGrad(Operator):
    """g (M, H), w (H, K) -> g w (M, K): the data gradient of ``FullyConnected``.

    Linear in each input; for an incoming gradient h (M, K): dg = h w^T (a
    ``FullyConnected`` of h), dw = g^T h (``FCWeightGrad``)."""

    name = "_backward_FullyConnected_data"
    saves_inputs = (0, 1)
    input_users = ((1,), (0,))

    def __init__(self, transposed: bool = False) -> None:
        self.transposed = transposed     # the result as the transpose of a (K, M) array

    def forward(self, g, w):
        if self.transposed:
            return self.xp.matmul(w.T, g.T).T
        return self.xp.matmul(g, w)

    def backward(self, h):
        g, w = self.saved_inputs
        dg = FullyConnectedOp(False)(h, w) if self.wants(0) else None
        dw = FCWeightGrad()(g, h) if self.wants(1) else None
        return dg, dw


class FCWeightGrad(Operator):
    """g (M, H), x (M, K) -> g^T x (H, K): the weight gradient of ``FullyConnected``.

    Linear in each input; for an incoming gradient h (H, K): dg = x h^T (a
    ``FullyConnected`` of x with weight h), dx = g h (``FCDataGrad``)."""

    name = "_backward_FullyConnected_weight"
    saves_inputs = (0, 1)
    input_users = ((1,), (0,))

    def forward(self, g, x):
        return self.xp.matmul(g.T, x)

    def backward(self, h):
        g, x = self.saved_inputs
        dg = FullyConnectedOp(False)(x, h) if self.wants(0) else None
        dx = FCDataGrad()(g, h) if self.wants(1) else None
        return dg, dx


def FullyConnected(data: NDArray, weight: NDArray, bias: Optional[NDArray] = None,
                   num_hidden: Optional[int] = None, no_bias: bool = False,
                   flatten: bool = True, out: Optional[NDArray] = None,
                   name: Optional[str] = None) -> NDArray:
    """``data . weight^T + bias``, MXNet's fully connected layer.

    data: (N, d1, ...) with ``flatten`` (read as (N, d1*...)), else (..., K);
    weight: (num_hidden, K); bias: (num_hidden,), ignored with ``no_bias``.
    Returns (N, num_hidden) with ``flatten``, else (..., num_hidden).
    ``num_hidden`` defaults to ``weight.shape[0]`` and is checked against it.
    ``name`` (MXNet's node name) is accepted and ignored.
    """
    return write_out(_apply(data, weight, bias, num_hidden, no_bias, flatten, False), out,
                     "FullyConnected")


def dense(data: NDArray, weight: NDArray, bias: Optional[NDArray] = None,
          num_hidden: Optional[int] = None, no_bias: bool = False, flatten: bool = True,
          relu: bool = False, batch_last: bool = False) -> NDArray:
    """``FullyConnected`` as ``nn.Dense`` runs it, one operator: with ``relu``,
    relu(FullyConnected(...)); with ``batch_last`` (a Dense whose output goes to another
    Dense, see ``nn/sequential.py``) the product is computed as W x^T, (num_hidden, N),
    and returned as its (N, num_hidden) view. Same arguments and shapes as
    ``FullyConnected``; ``batch_last`` applies to 2-D products (``flatten``, or 2-D data)."""
    return _apply(data, weight, bias, num_hidden, no_bias, flatten, relu, batch_last)


def _apply(data, weight, bias, num_hidden, no_bias, flatten, relu: bool,
           batch_last: bool = False) -> NDArray:
    """Check the arguments of a FullyConnected call and apply the operator."""
    op = "FullyConnected"
    check_array(data, op)
    check_array(weight, op)
    dshape, wshape = data._data.shape, weight._data.shape
    if not dshape:
        raise ValueError(f"operator {op}: data must have at least one dimension, got shape ()")
    if len(wshape) != 2:
        raise ValueError(f"operator {op}: weight must be 2-D (num_hidden, input size), got "
                         f"shape {wshape}")
    fc = FullyConnectedOp(bool(flatten), relu, batch_last and (bool(flatten) or len(dshape) == 2))
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
    return fc(*inputs)
