"""Creating arrays: ``array``, ``zeros``, ``ones``, ``full``, ``empty``, ``arange``, ``linspace``, ``eye``."""
from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Optional, Sequence, Tuple, Union

import numpy
from numpy.typing import DTypeLike

from ..context import Context, current_context, move
from .ndarray import NDArray

__all__ = ["array", "zeros", "ones", "full", "empty", "arange", "linspace", "eye",
           "normalize_dtype"]

Shape = Union[int, Sequence[int]]

_DTYPE_NAMES = {"float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool",
                "int16", "uint16", "uint32", "uint64", "bfloat16"}


def normalize_dtype(dtype: DTypeLike, default: DTypeLike = numpy.float32) -> numpy.dtype:
    """``dtype`` (a name, NumPy type or dtype; None means ``default``) as a NumPy dtype."""
    if dtype is None:
        return numpy.dtype(default)
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; expected one of {sorted(_DTYPE_NAMES)}") from None


def _is_dimension(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, numpy.bool_))


def _shape(shape: Shape, where: str):
    """``shape`` (an int, or a sequence of ints) as a tuple of non-negative Python ints."""
    if _is_dimension(shape):
        shape = (shape,)
    elif isinstance(shape, (str, bytes)) or not isinstance(shape, Iterable):
        raise TypeError(f"{where}: shape must be an int or a tuple of ints, got "
                        f"{type(shape).__name__} {shape!r}")
    shape = tuple(shape)
    if not all(_is_dimension(s) for s in shape):
        raise TypeError(f"{where}: shape must be an int or a tuple of ints, got {shape!r}")
    if any(s < 0 for s in shape):
        raise ValueError(f"{where}: negative dimension in shape {shape}")
    return tuple(int(s) for s in shape)


def _ctx(ctx) -> Context:
    return current_context() if ctx is None else Context(ctx)


def array(source_array, ctx: Optional[Context] = None, dtype: DTypeLike = None) -> NDArray:
    """An NDArray copied from ``source_array`` (nested lists, NumPy array, NDArray).

    The dtype is ``dtype``, else the source's if it is an NDArray, else float32 (as MXNet).
    """
    ctx = _ctx(ctx)
    if isinstance(source_array, NDArray):
        dtype = normalize_dtype(dtype, source_array._data.dtype)
        data = move(source_array._data, source_array._ctx, ctx)
        return NDArray(data.astype(dtype, copy=False), ctx)
    dtype = normalize_dtype(dtype)
    try:
        host = numpy.asarray(source_array)
        holds_none = host.dtype.kind == "O" and any(v is None for v in host.flat)
        if not holds_none:
            host = numpy.array(host, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as err:
        raise TypeError(f"array: cannot make an array of {dtype} from "
                        f"{type(source_array).__name__}: {err}") from None
    if holds_none:                     # NumPy would turn None into NaN
        raise TypeError(f"array: cannot make an array of {dtype} from "
                        f"{source_array!r:.80}: it holds None; expected numbers")
    if ctx.xp is numpy:
        return NDArray(host, ctx)
    with ctx.scope():
        return NDArray(ctx.xp.asarray(host), ctx)


def check_out(out, shape: Tuple[int, ...], ctx, where: str) -> NDArray:
    """``out`` of a creation function or sampler: an NDArray of ``shape`` on ``ctx``
    (None: any context)."""
    if not isinstance(out, NDArray):
        raise TypeError(f"{where}: out must be an NDArray, got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"{where}: out has shape {out.shape}, but the result has shape "
                         f"{tuple(shape)}")
    if ctx is not None and Context(ctx) is not out._ctx:
        raise ValueError(f"{where}: out is on {out._ctx}, but ctx={Context(ctx)} was asked for")
    return out


def _filled(shape: Shape, value, ctx, dtype, where, out: Optional[NDArray]) -> NDArray:
    shape = _shape(shape, where)
    if out is not None:                 # MXNet's out=: fill it in place, in its own dtype
        check_out(out, shape, ctx, where)
        with out._ctx.scope():
            filled = NDArray(out._ctx.xp.full(shape, value, dtype=out._data.dtype), out._ctx)
        return out._write(filled, where)
    ctx = _ctx(ctx)
    with ctx.scope():
        return NDArray(ctx.xp.full(shape, value, dtype=normalize_dtype(dtype)), ctx)


def zeros(shape: Shape, ctx: Optional[Context] = None, dtype: DTypeLike = None,
          out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """An array of zeros, float32 unless ``dtype`` says otherwise; with ``out``, ``out``
    (of ``shape``) filled with zeros and returned."""
    return _filled(shape, 0, ctx, dtype, "zeros", out)


def ones(shape: Shape, ctx: Optional[Context] = None, dtype: DTypeLike = None,
         out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """An array of ones, float32 unless ``dtype`` says otherwise; with ``out``, ``out``
    (of ``shape``) filled with ones and returned."""
    return _filled(shape, 1, ctx, dtype, "ones", out)


def full(shape: Shape, val, ctx: Optional[Context] = None, dtype: DTypeLike = None,
         out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """An array filled with ``val``; with ``out``, ``out`` (of ``shape``) filled in its
    own dtype and returned."""
    return _filled(shape, val, ctx, dtype, "full", out)


def empty(shape: Shape, ctx: Optional[Context] = None, dtype: DTypeLike = None) -> NDArray:
    """An uninitialised array."""
    ctx = _ctx(ctx)
    with ctx.scope():
        return NDArray(ctx.xp.empty(_shape(shape, "empty"), dtype=normalize_dtype(dtype)), ctx)


def arange(start, stop=None, step=1.0, repeat: int = 1, infer_range: bool = False,
           ctx: Optional[Context] = None, dtype: DTypeLike = None) -> NDArray:
    """Evenly spaced values in [start, stop), each repeated ``repeat`` times."""
    ctx = _ctx(ctx)
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError(f"arange: step must not be zero (start {start}, stop {stop})")
    if repeat < 1:
        raise ValueError(f"arange: repeat must be at least 1, got {repeat}")
    with ctx.scope():
        data = ctx.xp.arange(start, stop, step, dtype=normalize_dtype(dtype))
        if repeat != 1:
            data = ctx.xp.repeat(data, repeat)
    return NDArray(data, ctx)


def linspace(start, stop, num: int, endpoint: bool = True, ctx: Optional[Context] = None,
             dtype: DTypeLike = None) -> NDArray:
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    ctx = _ctx(ctx)
    if num < 0:
        raise ValueError(f"linspace: num must be non-negative, got {num}")
    with ctx.scope():
        return NDArray(ctx.xp.linspace(start, stop, num, endpoint=endpoint,
                                   dtype=normalize_dtype(dtype)), ctx)


def eye(N: int, M: int = 0, k: int = 0, ctx: Optional[Context] = None, dtype: DTypeLike = None,
        out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """An N x M (M=0 means N) matrix with ones on diagonal ``k`` (into ``out`` if given)."""
    if N < 0 or M < 0:
        raise ValueError(f"eye: N and M must be non-negative, got N={N}, M={M}")
    if out is not None:
        check_out(out, (N, M or N), ctx, "eye")
        with out._ctx.scope():
            result = NDArray(out._ctx.xp.eye(N, M or N, k, dtype=out._data.dtype), out._ctx)
        return out._write(result, "eye")
    ctx = _ctx(ctx)
    with ctx.scope():
        return NDArray(ctx.xp.eye(N, M or N, k, dtype=normalize_dtype(dtype)), ctx)
