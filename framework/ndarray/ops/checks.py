"""Helpers of the operator functions: argument checks (arrays, axes) with errors that
name the operator, and running their raw work on the data's device."""
from __future__ import annotations

import functools
import numbers
from collections.abc import Iterable
from typing import Optional, Sequence, Tuple, Union

from ..ndarray import NDArray

__all__ = []        # helpers for the operator modules; nothing for ``framework.nd``

Axis = Optional[Union[int, Sequence[int]]]


def check_array(value, op: str) -> None:
    """Raise TypeError unless ``value`` is an NDArray."""
    if not isinstance(value, NDArray):
        raise TypeError(f"operator {op}: expected an NDArray, got {type(value).__name__}")


def is_int(value) -> bool:
    """An integer (Python or NumPy), not a bool."""
    if type(value) is int:
        return True                   # the common case, without the ABC check
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def int_tuple(values, op: str, what: str) -> Tuple[int, ...]:
    """An int or a sequence of ints as a tuple of Python ints."""
    values = (values,) if is_int(values) else tuple(values)
    if not all(is_int(v) for v in values):
        raise TypeError(f"operator {op}: {what} must be ints, got {values!r}")
    return tuple(int(v) for v in values)


def along_axis(axis: int, index) -> tuple:
    """An index applying ``index`` on ``axis`` only (a 0-d result stays an array view)."""
    return (slice(None),) * axis + (index, Ellipsis)


def axis_index(axis, ndim: int, op: str, extra: int = 0) -> int:
    """``axis`` (negative allowed) as a non-negative int for ``ndim + extra`` positions."""
    if type(axis) is int and -ndim - extra <= axis < ndim + extra:
        return axis % (ndim + extra)
    if not is_int(axis):
        raise TypeError(f"operator {op}: axis must be an int, got {axis!r}")
    n = ndim + extra
    if not -n <= axis < n:
        raise ValueError(f"operator {op}: axis {axis} is out of range for an array of {ndim} "
                         f"dimensions (expected {-n} <= axis < {n})")
    return int(axis) % n


def normalize_axes(axis: Axis, ndim: int, exclude: bool = False,
                   op: str = "reduce") -> Tuple[int, ...]:
    """``axis`` (None, int or ints; negative allowed) as sorted non-negative ints.

    None or () means every axis, with or without ``exclude`` (as in MXNet).
    """
    if axis is None or axis == ():
        return tuple(range(ndim))
    if type(axis) is int and not exclude and -ndim <= axis < ndim:
        return (axis % ndim,)         # one axis: the common case, checked
    if is_int(axis):
        axes = (axis,)
    elif isinstance(axis, Iterable) and not isinstance(axis, (str, bytes)):
        axes = tuple(axis)
    else:
        raise TypeError(f"operator {op}: axis must be an int or a tuple of ints, got "
                        f"{type(axis).__name__} {axis!r}")
    if not all(is_int(a) for a in axes):
        raise TypeError(f"operator {op}: axis must be an int or a tuple of ints, got {axis!r}")
    out = [axis_index(a, max(ndim, 1), op) if ndim else 0 for a in axes]
    if len(set(out)) != len(out):
        raise ValueError(f"operator {op}: axis {axis!r} repeats an axis")
    if exclude:
        out = [a for a in range(ndim) if a not in out]
    return tuple(sorted(set(out)))


def on_data_device(function):
    """Decorate an operator function taking the data first: raw work it does outside
    operators (converting indices, building masks) runs on the data's GPU."""
    @functools.wraps(function)
    def wrapper(data, *args, **kwargs):
        if isinstance(data, NDArray) and data._ctx.device_type == "gpu":
            with data._ctx.scope():
                return function(data, *args, **kwargs)
        return function(data, *args, **kwargs)
    return wrapper


def write_out(result: NDArray, out: Optional[NDArray], op: str) -> NDArray:
    """MXNet's ``out=``: ``result``, or ``out`` after ``result`` is written into it
    (an in-place write: the rules of ``NDArray._write`` apply)."""
    if out is None:
        return result
    if not isinstance(out, NDArray):
        raise TypeError(f"operator {op}: out must be an NDArray, got {type(out).__name__}")
    if not isinstance(result, NDArray):
        raise TypeError(f"operator {op}: out= needs a single result, and this call gives "
                        f"{type(result).__name__}")
    return out._write(result.astype(out.dtype, copy=False), op)
