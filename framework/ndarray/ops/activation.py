"""Activation functions: relu, sigmoid, softrelu, softsign, ``Activation`` and ``LeakyReLU``.

Each keeps the shape and dtype of its input; forwards are numerically stable
for large |x|, and gradients are NDArray expressions that can be differentiated
again.
"""
from __future__ import annotations

import functools
import math
from typing import Optional

import numpy

from ..._flags import STATE
from ..ndarray import NDArray
from ..operator import Operator
from ..random import _generator
from . import parallel
from .checks import write_out
from .arith import minimum, where
from .broadcast import sum_to
from .shape import Reshape
from .special import erf, raw_erf, upcast
from .unary import _Unary, _apply, abs as _abs, exp, tanh

__all__ = ["relu", "sigmoid", "softrelu", "softsign", "log_sigmoid", "mish", "hard_sigmoid",
           "Activation", "LeakyReLU"]

_SPLIT_SIZE = 1 << 17          # relu and its gradient split over threads from this size

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_LAMBDA = 1.0507009873554804934193349852946
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _stable_sigmoid(xp, x):
    """1 / (1 + exp(-x)) without overflow: exp only ever sees -|x|."""
    e = xp.exp(-xp.abs(x))
    r = 1 / (1 + e)
    return xp.where(x >= 0, r, e * r)


# ---------------------------------------------------------------- Activation
class Relu(_Unary):
    """max(x, 0); NaN stays NaN, and so does its gradient (MXNet's relu_grad)."""

    name = "relu"
    saves_outputs = (0,)

    def compute(self, x):
        xp = self.xp
        if x.size < _SPLIT_SIZE:
            return xp.maximum(x, x.dtype.type(0))   # a NumPy zero: cheaper than a Python 0
        y = xp.empty_like(x)             # x's memory order (a pooled batch-last view's)
        parallel.elementwise(xp, xp.maximum, y, x, x.dtype.type(0), min_size=_SPLIT_SIZE)
        return y

    def backward(self, gy):
        return ReluGrad(self.saved_outputs[0])(gy)


def _relu_step(xp, y, out=None):
    """1 where y > 0, 0 where y = 0, NaN at NaN, for relu's output y (never negative):
    ceil(min(y, 1)), two vectorised passes (``sign`` is one unvectorised pass, 1.4x as
    slow with the multiply that follows)."""
    out = xp.minimum(y, y.dtype.type(1), out=out)
    return xp.ceil(out, out=out)


class ReluEpilogue:
    """Mixin of a layer operator that can end in relu (``Dense``/``Conv2D`` with
    ``activation='relu'``: one graph node): ``fuse_relu()`` at construction, then
    ``relu_output(y)`` on the fresh product in forward (in place) and ``relu_gradient(gy)``
    first in backward (``ReluGrad`` of the saved output)."""

    relu = False

    def fuse_relu(self) -> None:
        self.relu, self.saves_outputs = True, (0,)

    def relu_output(self, y):
        if self.relu:
            self.xp.maximum(y, y.dtype.type(0), out=y)
        return y

    def relu_gradient(self, gy):
        return ReluGrad(self.saved_outputs[0])(gy) if self.relu else gy


class ReluGrad(Operator):
    """g * sign(y) for relu's output y (1 where y > 0, 0 where y = 0, NaN at NaN):
    relu's gradient, one pass per part (``parallel.elementwise``). Linear in g, and
    y is a constant here, so its own gradient is ``ReluGrad`` again."""

    name = "_backward_relu"

    def __init__(self, y) -> None:
        self.y = y                   # raw, read-only
        self.step = None             # the 0/1 step of y, kept when this node is recorded

    def forward(self, g):
        xp, y = self.xp, self.y
        recorded = STATE.recording       # a recorded node keeps the mask, not y (y may change)
        if g.shape != y.shape or g.dtype != y.dtype:
            step = _relu_step(xp, y)
            out = g * step
        else:
            out = xp.empty_like(y)           # y's memory order, which the pooling's reads
            if recorded:
                step = xp.empty_like(y)
                parallel.elementwise(xp, functools.partial(_relu_step, xp), step, y,
                                     min_size=_SPLIT_SIZE)
                parallel.elementwise(xp, xp.multiply, out, g, step, min_size=_SPLIT_SIZE)
            else:
                def step_times(g_part, y_part, out):
                    _relu_step(xp, y_part, out)
                    xp.multiply(out, g_part, out=out)

                parallel.elementwise(xp, step_times, out, g, y, min_size=_SPLIT_SIZE)
        if recorded:
            self.step, self.y = step, None
        return out

    def backward(self, gg):
        grad = ReluGrad(self.step)
        return (grad(gg),)

    def release(self) -> None:
        super().release()
        self.y = self.step = None


class Sigmoid(_Unary):
    name = "sigmoid"
    saves_outputs = (0,)

    def compute(self, x):
        return _stable_sigmoid(self.xp, x)

    def backward(self, gy):
        y = self.output()
        return gy * (y * (1 - y))


class Softrelu(_Unary):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)); the gradient is sigmoid(x)."""

    name = "softrelu"
    saves_inputs = (0,)

    def compute(self, x):
        xp = self.xp
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        x, = self.saved_inputs
        return gy * sigmoid(x)


class LogSigmoid(_Unary):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)); the gradient is sigmoid(-x)."""

    name = "log_sigmoid"
    saves_inputs = (0,)

    def compute(self, x):
        xp = self.xp
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        x, = self.saved_inputs
        return gy * sigmoid(-x)


class Softsign(_Unary):
    """x / (1 + |x|); the gradient is 1 / (1 + |x|)^2."""

    name = "softsign"
    saves_inputs = (0,)

    def compute(self, x):
        return x / (1 + self.xp.abs(x))

    def backward(self, gy):
        x, = self.saved_inputs
        d = _abs(x) + 1
        return gy / (d * d)


class HardSigmoid(_Unary):
    """clip(alpha * x + beta, 0, 1); the gradient is alpha where 0 < y < 1."""

    name = "hard_sigmoid"
    saves_outputs = (0,)

    def __init__(self, alpha: float, beta: float) -> None:
        self.alpha, self.beta = alpha, beta

    def compute(self, x):
        xp = self.xp
        return xp.minimum(xp.maximum(x * self.alpha + self.beta, 0), 1)

    def backward(self, gy):
        y = self.output()
        return gy * ((y > 0) * (y < 1)) * self.alpha


# ----------------------------------------------------------------- LeakyReLU
class Leaky(_Unary):
    """x if x > 0 else slope * x."""

    name = "LeakyReLU"
    saves_inputs = (0,)

    def __init__(self, slope: float) -> None:
        self.slope = slope

    def compute(self, x):
        return self.xp.where(x > 0, x, x * self.slope)

    def backward(self, gy):
        x, = self.saved_inputs
        return where(x > 0, gy, gy * self.slope)


class Elu(_Unary):
    """x if x > 0 else slope * (exp(x) - 1); the gradient below 0 is slope * exp(x)
    (not y + slope, which cancels to 0 in float32 below x = -17)."""

    name = "LeakyReLU"
    saves_inputs = (0,)

    def __init__(self, slope: float, scale: float = 1.0) -> None:
        self.slope, self.scale = slope, scale

    def compute(self, x):
        xp = self.xp
        neg = xp.expm1(xp.minimum(x, 0)) * (self.slope * self.scale)
        return xp.where(x > 0, x * self.scale if self.scale != 1.0 else x, neg)

    def backward(self, gy):
        x, = self.saved_inputs
        pos = gy * self.scale if self.scale != 1.0 else gy
        return where(x > 0, pos, gy * (exp(minimum(x, 0.0)) * (self.slope * self.scale)))


class Gelu(Operator):
    """x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))); the gradient is Phi(x) + x * phi(x)."""

    name = "LeakyReLU"
    saves_inputs = (0,)

    def forward(self, x):
        xc = upcast(x)
        y = xc * ((1 + raw_erf(self.ctx, self.xp, xc * _INV_SQRT2)) * 0.5)
        return y if y.dtype == x.dtype else y.astype(x.dtype)

    def backward(self, gy):
        x, = self.saved_inputs
        cdf = (erf(x * _INV_SQRT2) + 1) * 0.5
        pdf = exp(x * x * -0.5) * _INV_SQRT_2PI
        return gy * (cdf + x * pdf)


class PRelu(Operator):
    """x if x > 0 else gamma * x, gamma broadcast along axis 1 (or a single slope)."""

    name = "LeakyReLU"
    saves_inputs = (0, 1)

    def __init__(self, gamma_shape) -> None:
        self.gamma_shape = gamma_shape

    def forward(self, x, gamma):
        self.gshape = _prelu_shape(x.shape, gamma.shape)
        return self.xp.where(x > 0, x, x * gamma.reshape(self.gshape))

    def backward(self, gy):
        x, gamma = self.saved_inputs
        pos = x > 0
        gx = where(pos, gy, gy * Reshape(self.gshape)(gamma)) if self.wants(0) else None
        gg = None
        if self.wants(1):
            gg = Reshape(self.gamma_shape)(sum_to(where(pos, 0.0, gy * x), self.gshape))
        return gx, gg


class RRelu(Operator):
    """x if x > 0 else s * x. Forward reads the training flag: in training mode s is
    drawn per element from U(lower, upper) (the context's generator), else it is the
    mean (lower + upper) / 2. The gradient is 1 above 0, s below."""

    name = "LeakyReLU"
    saves_inputs = (0,)

    def __init__(self, lower: float, upper: float) -> None:
        self.lower, self.upper = lower, upper
        self.slopes = None

    def forward(self, x):
        if STATE.training:
            draw = _generator(self.ctx).random_sample(x.shape)
            self.slopes = (draw * (self.upper - self.lower) + self.lower).astype(x.dtype)
            return self.xp.where(x > 0, x, x * self.slopes)
        return self.xp.where(x > 0, x, x * ((self.lower + self.upper) / 2))

    def backward(self, gy):
        x, = self.saved_inputs
        slope = ((self.lower + self.upper) / 2 if self.slopes is None
                 else self.constant(self.slopes))
        return where(x > 0, gy, gy * slope)


def _prelu_shape(data_shape, gamma_shape):
    """The shape gamma takes to broadcast against data along axis 1."""
    size = int(numpy.prod(gamma_shape)) if gamma_shape else 1
    ndim = len(data_shape)
    if size == 1:
        return (1,) * ndim
    channels = data_shape[1] if ndim >= 2 else None
    if len(gamma_shape) != 1 or channels != gamma_shape[0]:
        raise ValueError(
            f"operator LeakyReLU (prelu): gamma of shape {tuple(gamma_shape)} does not match "
            f"data of shape {tuple(data_shape)}; expected one slope, or shape (C,) with C = "
            f"data.shape[1]" + ("" if ndim >= 2 else " (data needs at least 2 dimensions)"))
    return (1, channels) + (1,) * (ndim - 2)


# ----------------------------------------------------------- public functions
def relu(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """max(data, 0), elementwise; any shape."""
    return write_out(_apply(Relu(), data), out, 'relu')


def sigmoid(data: NDArray, *, out: Optional[NDArray] = None,
            name: Optional[str] = None) -> NDArray:
    """1 / (1 + exp(-data)), elementwise, stable for large |data|; any shape. ``name``
    (MXNet's node name) is accepted and ignored."""
    return write_out(_apply(Sigmoid(), data), out, 'sigmoid')


def softrelu(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """log(1 + exp(data)) (softplus), elementwise, stable for large |data|; any shape."""
    return write_out(_apply(Softrelu(), data), out, 'softrelu')


def softsign(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """data / (1 + |data|), elementwise; any shape."""
    return write_out(_apply(Softsign(), data), out, 'softsign')


def log_sigmoid(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """log(sigmoid(data)), elementwise, stable for large |data|; any shape."""
    return write_out(_apply(LogSigmoid(), data), out, 'log_sigmoid')


def mish(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """data * tanh(softrelu(data)), elementwise; any shape."""
    if not isinstance(data, NDArray):
        raise TypeError(f"operator mish: expected an NDArray, got {type(data).__name__}")
    return write_out(data * tanh(softrelu(data)), out, 'mish')


def hard_sigmoid(data: NDArray, alpha: float = 0.2, beta: float = 0.5,
                 *, out: Optional[NDArray] = None) -> NDArray:
    """clip(alpha * data + beta, 0, 1), elementwise; any shape."""
    return write_out(_apply(HardSigmoid(float(alpha), float(beta)), data), out, 'hard_sigmoid')


_ACTIVATIONS = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softrelu": softrelu,
                "softsign": softsign, "log_sigmoid": log_sigmoid, "mish": mish}


def Activation(data: NDArray, act_type: str, name: Optional[str] = None,
               *, out: Optional[NDArray] = None) -> NDArray:  # noqa: N802
    """Apply ``act_type`` elementwise: 'relu', 'sigmoid', 'tanh', 'softrelu', 'softsign'
    (also 'log_sigmoid', 'mish'); output has the shape of ``data``. ``name`` is
    accepted for MXNet compatibility (Gluon layers pass name='fwd') and ignored."""
    fn = _ACTIVATIONS.get(act_type)
    if fn is None:
        raise ValueError(f"operator Activation: unknown act_type {act_type!r}; expected one of "
                         f"{sorted(_ACTIVATIONS)}")
    return write_out(fn(data), out, 'Activation')


_LEAKY_TYPES = ("elu", "gelu", "gelu_erf", "gelu_tanh", "leaky", "prelu", "rrelu", "selu")


def LeakyReLU(data: NDArray, gamma: Optional[NDArray] = None, act_type: str = "leaky",  # noqa: N802
              slope: float = 0.25, lower_bound: float = 0.125,
              upper_bound: float = 0.334, name: Optional[str] = None,
              *, out: Optional[NDArray] = None) -> NDArray:
    """Leaky rectifiers (MXNet's ``LeakyReLU``); output has the shape of ``data``.

    ``name`` is accepted for MXNet compatibility and ignored.

    act_type:
      'leaky'  x if x > 0 else slope * x
      'elu'    x if x > 0 else slope * (exp(x) - 1)
      'selu'   lambda * (x if x > 0 else alpha * (exp(x) - 1)), alpha ~ 1.6733, lambda ~ 1.0507
      'gelu'   0.5 * x * (1 + erf(x / sqrt(2))); 'gelu_erf' is the same
      'gelu_tanh'  0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
      'prelu'  x if x > 0 else gamma * x; gamma (learnable) has one value, or shape (C,)
               broadcast along axis 1 of ``data`` (C = data.shape[1])
      'rrelu'  x if x > 0 else s * x; in training mode (autograd.is_training()) s is drawn
               from U(lower_bound, upper_bound) per element, else s = (lower + upper) / 2
    """
    if not isinstance(data, NDArray):
        raise TypeError(f"operator LeakyReLU: expected an NDArray, got {type(data).__name__}")
    if act_type == "leaky":
        return write_out(Leaky(float(slope))(data), out, 'LeakyReLU')
    if act_type == "elu":
        return write_out(Elu(float(slope))(data), out, 'LeakyReLU')
    if act_type == "selu":
        return write_out(Elu(_SELU_ALPHA, _SELU_LAMBDA)(data), out, 'LeakyReLU')
    if act_type in ("gelu", "gelu_erf"):
        return write_out(Gelu()(data), out, 'LeakyReLU')
    if act_type == "gelu_tanh":
        inner = (data + data * data * data * 0.044715) * _SQRT_2_OVER_PI
        return write_out(data * (tanh(inner) + 1) * 0.5, out, 'LeakyReLU')
    if act_type == "prelu":
        if not isinstance(gamma, NDArray):
            raise TypeError(f"operator LeakyReLU: act_type 'prelu' needs gamma, an NDArray of "
                            f"slopes, got {type(gamma).__name__}")
        _prelu_shape(data.shape, gamma.shape)
        return write_out(PRelu(gamma.shape)(data, gamma), out, 'LeakyReLU')
    if act_type == "rrelu":
        lower, upper = float(lower_bound), float(upper_bound)
        if lower > upper:
            raise ValueError(f"operator LeakyReLU: rrelu needs lower_bound <= upper_bound, "
                             f"got {lower} and {upper}")
        return write_out(RRelu(lower, upper)(data), out, 'LeakyReLU')
    raise ValueError(f"operator LeakyReLU: unknown act_type {act_type!r}; expected one of "
                     f"{list(_LEAKY_TYPES)}")
