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
def exp(data: NDArray) -> NDArray:
    """e ** data, elementwise."""
    return _apply(Exp(), data)


def log(data: NDArray) -> NDArray:
    """Natural logarithm, elementwise."""
    return _apply(Log(), data)


def log2(data: NDArray) -> NDArray:
    """Base-2 logarithm, elementwise."""
    return _apply(Log2(), data)


def log10(data: NDArray) -> NDArray:
    """Base-10 logarithm, elementwise."""
    return _apply(Log10(), data)


def log1p(data: NDArray) -> NDArray:
    """log(1 + data), accurate for small values; elementwise."""
    return _apply(Log1p(), data)


def expm1(data: NDArray) -> NDArray:
    """exp(data) - 1, accurate for small values; elementwise."""
    return _apply(Expm1(), data)


def sqrt(data: NDArray) -> NDArray:
    """Square root, elementwise."""
    return _apply(Sqrt(), data)


def rsqrt(data: NDArray) -> NDArray:
    """1 / sqrt(data), elementwise."""
    return _apply(Rsqrt(), data)


def cbrt(data: NDArray) -> NDArray:
    """Cube root, elementwise (real for negative values)."""
    return _apply(Cbrt(), data)


def rcbrt(data: NDArray) -> NDArray:
    """1 / cbrt(data), elementwise."""
    return _apply(Rcbrt(), data)


def square(data: NDArray) -> NDArray:
    """data * data, elementwise."""
    return _apply(Square(), data)


def reciprocal(data: NDArray) -> NDArray:
    """1 / data, elementwise."""
    return _apply(Reciprocal(), data)


def abs(data: NDArray) -> NDArray:  # noqa: A001 - MXNet's name
    """|data|, elementwise; the gradient at 0 is 0."""
    return _apply(Abs(), data)


def sign(data: NDArray) -> NDArray:
    """-1, 0 or 1 by the sign of each element; zero gradient."""
    return _apply(Sign(), data)


def sin(data: NDArray) -> NDArray:
    """Sine (radians), elementwise."""
    return _apply(Sin(), data)


def cos(data: NDArray) -> NDArray:
    """Cosine (radians), elementwise."""
    return _apply(Cos(), data)


def tan(data: NDArray) -> NDArray:
    """Tangent (radians), elementwise."""
    return _apply(Tan(), data)


def arcsin(data: NDArray) -> NDArray:
    """Inverse sine, in [-pi/2, pi/2], elementwise."""
    return _apply(Arcsin(), data)


def arccos(data: NDArray) -> NDArray:
    """Inverse cosine, in [0, pi], elementwise."""
    return _apply(Arccos(), data)


def arctan(data: NDArray) -> NDArray:
    """Inverse tangent, in (-pi/2, pi/2), elementwise."""
    return _apply(Arctan(), data)


def sinh(data: NDArray) -> NDArray:
    """Hyperbolic sine, elementwise."""
    return _apply(Sinh(), data)


def cosh(data: NDArray) -> NDArray:
    """Hyperbolic cosine, elementwise."""
    return _apply(Cosh(), data)


def tanh(data: NDArray) -> NDArray:
    """Hyperbolic tangent, elementwise."""
    return _apply(Tanh(), data)


def arcsinh(data: NDArray) -> NDArray:
    """Inverse hyperbolic sine, elementwise."""
    return _apply(Arcsinh(), data)


def arccosh(data: NDArray) -> NDArray:
    """Inverse hyperbolic cosine (data >= 1), elementwise."""
    return _apply(Arccosh(), data)


def arctanh(data: NDArray) -> NDArray:
    """Inverse hyperbolic tangent (-1 < data < 1), elementwise."""
    return _apply(Arctanh(), data)


def radians(data: NDArray) -> NDArray:
    """Degrees to radians, elementwise."""
    return _apply(Radians(), data)


def degrees(data: NDArray) -> NDArray:
    """Radians to degrees, elementwise."""
    return _apply(Degrees(), data)


def floor(data: NDArray) -> NDArray:
    """Largest integer <= data, elementwise; zero gradient."""
    return _apply(Floor(), data)


def ceil(data: NDArray) -> NDArray:
    """Smallest integer >= data, elementwise; zero gradient."""
    return _apply(Ceil(), data)


def round(data: NDArray) -> NDArray:  # noqa: A001 - MXNet's name
    """Nearest integer, halves away from zero (2.5 -> 3, -2.5 -> -3); zero gradient."""
    return _apply(Round(), data)


def rint(data: NDArray) -> NDArray:
    """Nearest integer as MXNet's rint: halves go down (1.5 -> 1, -1.5 -> -2); zero gradient."""
    return _apply(Rint(), data)


def fix(data: NDArray) -> NDArray:
    """Round towards zero, elementwise; zero gradient."""
    return _apply(Fix(), data)


def trunc(data: NDArray) -> NDArray:
    """Integer part (round towards zero), elementwise; zero gradient."""
    return _apply(Trunc(), data)


def _bound(value, which: str):
    if value is None:
        return None
    if isinstance(value, numpy.generic) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"operator clip: {which} must be a real number or None, "
                        f"got {type(value).__name__}")
    return value


def clip(data: NDArray, a_min: Optional[float], a_max: Optional[float]) -> NDArray:
    """Limit values to [a_min, a_max] (None: no bound on that side); any shape.

    The gradient passes where a_min <= data <= a_max and is 0 elsewhere (as MXNet).
    """
    a_min, a_max = _bound(a_min, "a_min"), _bound(a_max, "a_max")
    if a_min is None and a_max is None:
        raise ValueError("operator clip: a_min and a_max are both None; give at least one bound")
    if a_min is not None and a_max is not None and a_min > a_max:
        raise ValueError(f"operator clip: a_min ({a_min}) is greater than a_max ({a_max}); "
                         f"expected a_min <= a_max")
    return _apply(Clip(a_min, a_max), data)
