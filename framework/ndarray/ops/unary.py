"""Elementwise math: y = f(x), same shape and dtype; each gradient written with NDArray ops.

Every function takes an NDArray of any shape and returns one of the same shape
and dtype (MXNet keeps the input dtype, so integer inputs give integer results).
Gradients are NDArray expressions, so they can be differentiated again.
Piecewise-constant functions (sign, floor, ceil, round, rint, fix, trunc) have
zero gradient (as in MXNet, backward through them gives zeros).
"""
from __future__ import annotations

import math
import numbers
from typing import Optional

import numpy

from ..ndarray import NDArray
from ..operator import Operator
from .checks import write_out

__all__ = ["exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "cbrt", "rcbrt",
           "square", "reciprocal", "abs", "sign", "sin", "cos", "tan", "arcsin", "arccos",
           "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "radians",
           "degrees", "floor", "ceil", "round", "rint", "fix", "trunc", "clip"]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


class _Unary(Operator):
    """``y = compute(x)``, cast back to the dtype of ``x`` where NumPy promoted it."""

    def compute(self, x):
        raise NotImplementedError(f"{type(self).__name__}.compute")

    def forward(self, x):
        y = self.compute(x)
        return y if y.dtype == x.dtype else y.astype(x.dtype)


class _Ufunc(_Unary):
    """``y = xp.<ufunc>(x)``."""

    ufunc = ""

    def compute(self, x):
        return getattr(self.xp, self.ufunc)(x)


def _apply(op: Operator, data) -> NDArray:
    if not isinstance(data, NDArray):
        raise TypeError(f"operator {op.name}: expected an NDArray, got {type(data).__name__}")
    return op(data)


# ------------------------------------------------------------- exp and logs
class Exp(_Ufunc):
    name = ufunc = "exp"
    saves_outputs = (0,)

    def backward(self, gy):
        return gy * self.output()


class Log(_Ufunc):
    name = ufunc = "log"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy / x


class Log2(_Ufunc):
    name = ufunc = "log2"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy / (x * _LN2)


class Log10(_Ufunc):
    name = ufunc = "log10"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy / (x * _LN10)


class Log1p(_Ufunc):
    name = ufunc = "log1p"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy / (x + 1)


class Expm1(_Ufunc):
    name = ufunc = "expm1"
    saves_outputs = (0,)

    def backward(self, gy):
        return gy * (self.output() + 1)


# ------------------------------------------------------------ powers, roots
class Sqrt(_Ufunc):
    name = ufunc = "sqrt"
    saves_outputs = (0,)

    def backward(self, gy):
        return gy / (self.output() * 2)


class Rsqrt(_Unary):
    """y = x ** -1/2; dy/dx = -y**3 / 2."""

    name = "rsqrt"
    saves_outputs = (0,)

    def compute(self, x):
        return 1 / self.xp.sqrt(x)

    def backward(self, gy):
        y = self.output()
        return gy * (y * y * y) * -0.5


class Cbrt(_Ufunc):
    name = ufunc = "cbrt"
    saves_outputs = (0,)

    def backward(self, gy):
        y = self.output()
        return gy / (y * y * 3)


class Rcbrt(_Unary):
    """y = x ** -1/3; dy/dx = -y**4 / 3."""

    name = "rcbrt"
    saves_outputs = (0,)

    def compute(self, x):
        return 1 / self.xp.cbrt(x)

    def backward(self, gy):
        y = self.output()
        y2 = y * y
        return gy * (y2 * y2) * (-1.0 / 3.0)


class Square(_Ufunc):
    name = ufunc = "square"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy * (x * 2)


class Reciprocal(_Ufunc):
    name = ufunc = "reciprocal"
    saves_outputs = (0,)

    def backward(self, gy):
        y = self.output()
        return -(gy * (y * y))


class Abs(_Ufunc):
    """|x|; the gradient is sign(x) (0 at 0)."""

    name = ufunc = "abs"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy * sign(x)


# ------------------------------------------------------------ trigonometric
class Sin(_Ufunc):
    name = ufunc = "sin"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy * cos(x)


class Cos(_Ufunc):
    name = ufunc = "cos"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return -(gy * sin(x))


class Tan(_Ufunc):
    name = ufunc = "tan"
    saves_outputs = (0,)

    def backward(self, gy):
        y = self.output()
        return gy * (y * y + 1)


class Arcsin(_Ufunc):
    name = ufunc = "arcsin"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy * rsqrt(1 - x * x)


class Arccos(_Ufunc):
    name = ufunc = "arccos"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return -(gy * rsqrt(1 - x * x))


class Arctan(_Ufunc):
    name = ufunc = "arctan"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy / (x * x + 1)


class Radians(_Ufunc):
    name = ufunc = "radians"

    def backward(self, gy):
        return gy * (math.pi / 180.0)


class Degrees(_Ufunc):
    name = ufunc = "degrees"

    def backward(self, gy):
        return gy * (180.0 / math.pi)


# --------------------------------------------------------------- hyperbolic
class Sinh(_Ufunc):
    name = ufunc = "sinh"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy * cosh(x)


class Cosh(_Ufunc):
    name = ufunc = "cosh"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy * sinh(x)


class Tanh(_Ufunc):
    name = ufunc = "tanh"
    saves_outputs = (0,)

    def backward(self, gy):
        y = self.output()
        return gy * (1 - y * y)


class Arcsinh(_Ufunc):
    name = ufunc = "arcsinh"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy * rsqrt(x * x + 1)


class Arccosh(_Ufunc):
    name = ufunc = "arccosh"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy * rsqrt(x * x - 1)


class Arctanh(_Ufunc):
    name = ufunc = "arctanh"
    saves_inputs = (0,)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy / (1 - x * x)


# --------------------------------------------- piecewise constant (no gradient)
class Sign(_Ufunc):
    name = ufunc = "sign"
    zero_grad = True


class Floor(_Ufunc):
    name = ufunc = "floor"
    zero_grad = True


class Ceil(_Ufunc):
    name = ufunc = "ceil"
    zero_grad = True


class Trunc(_Ufunc):
    name = ufunc = "trunc"
    zero_grad = True


class Fix(Trunc):
    name = "fix"


class Round(_Unary):
    """Nearest integer, halves away from zero (C's ``round``): 2.5 -> 3, -2.5 -> -3."""

    name = "round"
    zero_grad = True

    def compute(self, x):
        xp = self.xp
        if x.dtype.kind not in "fc":
            return x.copy()
        t = xp.trunc(x)
        # x - trunc(x) is exact, so halves are recognised exactly
        return xp.where(xp.abs(x - t) >= 0.5, t + xp.sign(x), t)


class Rint(_Unary):
    """Nearest integer, halves towards -inf (MXNet's ``rint``): 1.5 -> 1, -1.5 -> -2."""

    name = "rint"
    zero_grad = True

    def compute(self, x):
        xp = self.xp
        if x.dtype.kind not in "fc":
            return x.copy()
        f = xp.floor(x)
        return xp.where(x - f > 0.5, f + 1, f)


# ---------------------------------------------------------------------- clip
class Clip(_Unary):
    """min(max(x, a_min), a_max); the gradient passes where a_min <= x <= a_max."""

    name = "clip"
    saves_inputs = (0,)

    def __init__(self, a_min: Optional[float], a_max: Optional[float]) -> None:
        self.a_min, self.a_max = a_min, a_max

    def compute(self, x):
        y = x
        if self.a_min is not None:
            y = self.xp.maximum(y, self.a_min)
        if self.a_max is not None:
            y = self.xp.minimum(y, self.a_max)
        return y.copy() if y is x else y

    def backward(self, gy):
        x, = self.saved_inputs
        if self.a_min is not None:
            gy = gy * (x >= self.a_min)
        if self.a_max is not None:
            gy = gy * (x <= self.a_max)
        return gy


# ----------------------------------------------------------- public functions
def exp(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """e ** data, elementwise."""
    return write_out(_apply(Exp(), data), out, 'exp')


def log(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Natural logarithm, elementwise."""
    return write_out(_apply(Log(), data), out, 'log')


def log2(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Base-2 logarithm, elementwise."""
    return write_out(_apply(Log2(), data), out, 'log2')


def log10(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Base-10 logarithm, elementwise."""
    return write_out(_apply(Log10(), data), out, 'log10')


def log1p(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """log(1 + data), accurate for small values; elementwise."""
    return write_out(_apply(Log1p(), data), out, 'log1p')


def expm1(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """exp(data) - 1, accurate for small values; elementwise."""
    return write_out(_apply(Expm1(), data), out, 'expm1')


def sqrt(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Square root, elementwise."""
    return write_out(_apply(Sqrt(), data), out, 'sqrt')


def rsqrt(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """1 / sqrt(data), elementwise."""
    return write_out(_apply(Rsqrt(), data), out, 'rsqrt')


def cbrt(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Cube root, elementwise (real for negative values)."""
    return write_out(_apply(Cbrt(), data), out, 'cbrt')


def rcbrt(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """1 / cbrt(data), elementwise."""
    return write_out(_apply(Rcbrt(), data), out, 'rcbrt')


def square(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """data * data, elementwise."""
    return write_out(_apply(Square(), data), out, 'square')


def reciprocal(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """1 / data, elementwise."""
    return write_out(_apply(Reciprocal(), data), out, 'reciprocal')


def abs(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:  # noqa: A001 - MXNet's name
    """|data|, elementwise; the gradient at 0 is 0."""
    return write_out(_apply(Abs(), data), out, 'abs')


def sign(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """-1, 0 or 1 by the sign of each element; zero gradient."""
    return write_out(_apply(Sign(), data), out, 'sign')


def sin(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Sine (radians), elementwise."""
    return write_out(_apply(Sin(), data), out, 'sin')


def cos(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Cosine (radians), elementwise."""
    return write_out(_apply(Cos(), data), out, 'cos')


def tan(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Tangent (radians), elementwise."""
    return write_out(_apply(Tan(), data), out, 'tan')


def arcsin(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Inverse sine, in [-pi/2, pi/2], elementwise."""
    return write_out(_apply(Arcsin(), data), out, 'arcsin')


def arccos(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Inverse cosine, in [0, pi], elementwise."""
    return write_out(_apply(Arccos(), data), out, 'arccos')


def arctan(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Inverse tangent, in (-pi/2, pi/2), elementwise."""
    return write_out(_apply(Arctan(), data), out, 'arctan')


def sinh(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Hyperbolic sine, elementwise."""
    return write_out(_apply(Sinh(), data), out, 'sinh')


def cosh(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Hyperbolic cosine, elementwise."""
    return write_out(_apply(Cosh(), data), out, 'cosh')


def tanh(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Hyperbolic tangent, elementwise."""
    return write_out(_apply(Tanh(), data), out, 'tanh')


def arcsinh(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Inverse hyperbolic sine, elementwise."""
    return write_out(_apply(Arcsinh(), data), out, 'arcsinh')


def arccosh(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Inverse hyperbolic cosine (data >= 1), elementwise."""
    return write_out(_apply(Arccosh(), data), out, 'arccosh')


def arctanh(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Inverse hyperbolic tangent (-1 < data < 1), elementwise."""
    return write_out(_apply(Arctanh(), data), out, 'arctanh')


def radians(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Degrees to radians, elementwise."""
    return write_out(_apply(Radians(), data), out, 'radians')


def degrees(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Radians to degrees, elementwise."""
    return write_out(_apply(Degrees(), data), out, 'degrees')


def floor(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Largest integer <= data, elementwise; zero gradient."""
    return write_out(_apply(Floor(), data), out, 'floor')


def ceil(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Smallest integer >= data, elementwise; zero gradient."""
    return write_out(_apply(Ceil(), data), out, 'ceil')


def round(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:  # noqa: A001 - MXNet's name
    """Nearest integer, halves away from zero (2.5 -> 3, -2.5 -> -3); zero gradient."""
    return write_out(_apply(Round(), data), out, 'round')


def rint(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Nearest integer as MXNet's rint: halves go down (1.5 -> 1, -1.5 -> -2); zero gradient."""
    return write_out(_apply(Rint(), data), out, 'rint')


def fix(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Round towards zero, elementwise; zero gradient."""
    return write_out(_apply(Fix(), data), out, 'fix')


def trunc(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Integer part (round towards zero), elementwise; zero gradient."""
    return write_out(_apply(Trunc(), data), out, 'trunc')


def _bound(value, which: str):
    if value is None:
        return None
    if isinstance(value, numpy.generic) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"operator clip: {which} must be a real number or None, "
                        f"got {type(value).__name__}")
    return value


def clip(data: NDArray, a_min: Optional[float], a_max: Optional[float],
         *, out: Optional[NDArray] = None) -> NDArray:
    """Limit values to [a_min, a_max] (None: no bound on that side); any shape.

    The gradient passes where a_min <= data <= a_max and is 0 elsewhere (as MXNet).
    """
    a_min, a_max = _bound(a_min, "a_min"), _bound(a_max, "a_max")
    if a_min is None and a_max is None:
        raise ValueError("operator clip: a_min and a_max are both None; give at least one bound")
    if a_min is not None and a_max is not None and a_min > a_max:
        raise ValueError(f"operator clip: a_min ({a_min}) is greater than a_max ({a_max}); "
                         f"expected a_min <= a_max")
    return write_out(_apply(Clip(a_min, a_max), data), out, 'clip')
