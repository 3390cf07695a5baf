"""Special functions: erf and its inverse, in vectorised xp code (no SciPy).

erf is evaluated piecewise on |x| in [0, 8) with pieces of width 0.5, each a
Chebyshev series fitted (once, lazily) at Chebyshev nodes to Python's
math.erf/math.erfc: degree 16 for float64 results, 8 for float32 ones. Below 1
the series gives erf(x)/x, so tiny x keep their relative accuracy; from 1 on it
gives erfcx(x) = erfc(x) * exp(x*x), so erfc (which erfinv needs next to +-1)
keeps its relative accuracy too. The error is a few units in the last place
(below 1e-14 relative in float64).
"""
from __future__ import annotations

from typing import Optional

import functools
import math

import numpy

from ..ndarray import NDArray
from .checks import write_out
from .unary import _Unary, _apply, exp, square

__all__ = ["erf", "erfinv"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0
_ERF_WIDTH, _ERF_SPLIT, _ERF_TOP = 0.5, 1.0, 8.0
_ERF_DEGREE = {"f8": 16, "f4": 8}


@functools.lru_cache(maxsize=None)
def _erf_fit(degree: int) -> numpy.ndarray:
    """The (pieces, degree + 1) Chebyshev coefficients, on the host, in float64."""
    from numpy.polynomial import chebyshev
    k = numpy.arange(degree + 1)
    nodes = numpy.cos(numpy.pi * (k + 0.5) / (degree + 1))    # interior: never 0
    rows = []
    for p in range(int(_ERF_TOP / _ERF_WIDTH)):
        lo = p * _ERF_WIDTH
        xs = lo + (nodes + 1) * (_ERF_WIDTH / 2)
        if lo < _ERF_SPLIT:
            values = [math.erf(v) / v for v in xs]
        else:
            values = [math.erfc(v) * math.exp(v * v) for v in xs]
        rows.append(chebyshev.chebfit(nodes, numpy.array(values), degree))
    return numpy.array(rows)


_erf_tables: dict = {}


def _erf_columns(ctx, xp, dtype) -> list:
    """The coefficient table on ``ctx`` in ``dtype``, one array (over pieces) per degree."""
    key = (ctx, xp, numpy.dtype(dtype).str)
    cols = _erf_tables.get(key)
    if cols is None:
        host = _erf_fit(_ERF_DEGREE[numpy.dtype(dtype).str[1:]]).astype(dtype)
        cols = _erf_tables[key] = [xp.asarray(host[:, j].copy()) for j in range(host.shape[1])]
    return cols


def _compute_dtype(dtype) -> numpy.dtype:
    """float32 for float16/float32 inputs, float64 otherwise."""
    return numpy.dtype(numpy.float32 if dtype in (numpy.float16, numpy.float32) else numpy.float64)


def _erf_erfc_abs(xp, cols, ax):
    """(erf(a), erfc(a)) for a = ``ax`` >= 0 (or NaN), elementwise."""
    inside = ax < _ERF_TOP
    a = xp.where(inside, ax, 0)                      # keeps inf and NaN out of the series
    piece = xp.floor(a * (1 / _ERF_WIDTH))
    idx = piece.astype(numpy.intp)
    t = (a - piece * _ERF_WIDTH) * (2 / _ERF_WIDTH) - 1
    t2 = t + t
    b1 = cols[-1][idx]
    b2 = 0
    for j in range(len(cols) - 2, 0, -1):            # Clenshaw, vectorised over elements
        b1, b2 = t2 * b1 - b2 + cols[j][idx], b1
    v = t * b1 - b2 + cols[0][idx]
    small = ax < _ERF_SPLIT
    tail = xp.exp(-(a * a)) * v
    av = a * v
    erf_a = xp.where(small, av, 1 - tail)
    erfc_a = xp.where(small, 1 - av, tail)
    # at and beyond the top erf is 1 and erfc 0 to working precision; NaN stays NaN
    return (xp.where(inside, erf_a, xp.minimum(ax, 1)),
            xp.where(inside, erfc_a, xp.minimum(ax, 0)))


def _with_sign(xp, x, magnitude):
    """sign(x) * magnitude; 0 and -0 keep their sign, NaN stays NaN."""
    return xp.copysign(magnitude, x)


def raw_erf(ctx, xp, x):
    """erf of raw array ``x`` (float32 or float64), on the context ``ctx`` of ``xp``."""
    e, _ = _erf_erfc_abs(xp, _erf_columns(ctx, xp, x.dtype), xp.abs(x))
    return _with_sign(xp, x, e)


def upcast(x):
    """``x`` in the dtype erf is computed in: float32 for float16/32, else float64."""
    dtype = _compute_dtype(x.dtype)
    return x.astype(dtype) if x.dtype != dtype else x


class Erf(_Unary):
    """The Gauss error function; d erf(x)/dx = 2/sqrt(pi) * exp(-x^2)."""

    name = "erf"
    saves_inputs = (0,)

    def compute(self, x):
        return raw_erf(self.ctx, self.xp, upcast(x))

    def backward(self, gy):
        x, = self.saved_inputs
        return gy * exp(-square(x)) * _TWO_OVER_SQRT_PI


class Erfinv(_Unary):
    """The inverse of erf on (-1, 1) (+-inf at +-1, NaN outside).

    A closed-form first guess (relative error below 2e-3), then two Halley steps
    on erf(x) = |y|, or on erfc(x) = 1 - |y| where x >= 1 so values next to +-1
    keep full accuracy. d erfinv(y)/dy = sqrt(pi)/2 * exp(erfinv(y)^2).
    """

    name = "erfinv"
    saves_outputs = (0,)
    _A = 0.147                                       # constant of the first guess

    def compute(self, y):
        xp = self.xp
        dtype = _compute_dtype(y.dtype)
        yc = y.astype(dtype) if y.dtype != dtype else y
        cols = _erf_columns(self.ctx, xp, dtype)
        ay = xp.abs(yc)
        ok = ay < 1
        a = xp.where(ok, ay, 0)                      # the iteration never sees |y| >= 1 or NaN
        c = 1 - a                                    # exact for a >= 1/2
        lg = xp.log(c * (1 + a))                     # log(1 - a^2)
        b = lg * 0.5 + 2 / (math.pi * self._A)
        x = xp.sqrt(xp.sqrt(b * b - lg * (1 / self._A)) - b)
        for _ in range(2):
            e, ec = _erf_erfc_abs(xp, cols, x)
            f = xp.where(x < _ERF_SPLIT, e - a, c - ec)
            r = f / (xp.exp(-(x * x)) * _TWO_OVER_SQRT_PI)
            x = x - r / (1 + x * r)
        edge = xp.where(ay == 1, xp.inf, xp.nan).astype(dtype)   # NaN for |y| > 1 and NaN
        x = xp.where(ok, x, edge)
        return _with_sign(xp, yc, x)

    def backward(self, gy):
        y = self.output()
        return gy * exp(square(y)) * _SQRT_PI_OVER_TWO


def erf(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """The Gauss error function 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise."""
    return write_out(_apply(Erf(), data), out, 'erf')


def erfinv(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Inverse error function on [-1, 1] (+-inf at +-1, NaN outside), elementwise."""
    return write_out(_apply(Erfinv(), data), out, 'erfinv')
