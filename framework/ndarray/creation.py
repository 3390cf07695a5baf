"""Creating arrays: ``array``, ``zeros``, ``ones``, ``full``, ``empty``, ``arange``, ``linspace``, ``eye``."""
from __future__ import annotations

from typing import Optional, Sequence, Union

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


def _shape(shape: Shape, where: str):
    shape = (shape,) if isinstance(shape, (int, numpy.integer)) else tuple(shape)
    if any(int(s) < 0 for s in shape):
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
        host = numpy.array(source_array, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"array: cannot make an array of {dtype} from "
                        f"{type(source_array).__name__}: {err}") from None
    if ctx.xp is numpy:
        return NDArray(host, ctx)
    with ctx.scope():
        return NDArray(ctx.xp.asarray(host), ctx)


def _filled(shape: Shape, value, ctx, dtype, where) -> NDArray:
    ctx = _ctx(ctx)
    with ctx.scope():
        return NDArray(ctx.xp.full(_shape(shape, where), value, dtype=normalize_dtype(dtype)), ctx)


def zeros(shape: Shape, ctx: Optional[Context] = None, dtype: DTypeLike = None, **kwargs) -> NDArray:
    """An array of zeros, float32 unless ``dtype`` says otherwise."""
    return _filled(shape, 0, ctx, dtype, "zeros")


def ones(shape: Shape, ctx: Optional[Context] = None, dtype: DTypeLike = None, **kwargs) -> NDArray:
    """An array of ones, float32 unless ``dtype`` says otherwise."""
    return _filled(shape, 1, ctx, dtype, "ones")


def full(shape: Shape, val, ctx: Optional[Context] = None, dtype: DTypeLike = None, **kwargs) -> NDArray:
    """An array filled with ``val``."""
    return _filled(shape, val, ctx, dtype, "full")


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


def eye(N: int, M: int = 0, k: int = 0, ctx: Optional[Context] = None, dtype: DTypeLike = None) -> NDArray:
    """An N x M (M=0 means N) matrix with ones on diagonal ``k``."""
    ctx = _ctx(ctx)
    if N < 0 or M < 0:
        raise ValueError(f"eye: N and M must be non-negative, got N={N}, M={M}")
    with ctx.scope():
        return NDArray(ctx.xp.eye(N, M or N, k, dtype=normalize_dtype(dtype)), ctx)
