"""Joining and splitting: concat, stack, split (each input gets its own gradient)."""
from __future__ import annotations

from typing import List, Optional, Sequence, Union

import numpy

from ..ndarray import NDArray
from ..operator import Operator
from .checks import write_out, along_axis, axis_index, check_array, is_int
from .slicing import Slice

__all__ = ["concat", "concatenate", "stack", "split"]


# ------------------------------------------------------- concat, stack, split
class Concat(Operator):
    """Join inputs along ``axis``; each input's gradient is its slice of the output's."""

    name = "concat"

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return self.xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        grads, start = [], 0
        for i, n in enumerate(self.sizes):
            grads.append(Slice(along_axis(self.axis, slice(start, start + n)), "concat")(gy)
                         if self.wants(i) else None)
            start += n
        return tuple(grads)


class Stack(Operator):
    """Join inputs along a new ``axis``; each gradient is one slice of the output's."""

    name = "stack"

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        self.n = len(xs)
        return self.xp.stack(xs, axis=self.axis)

    def backward(self, gy):
        return tuple(Slice(along_axis(self.axis, i), "stack")(gy) if self.wants(i) else None
                     for i in range(self.n))


class Split(Operator):
    """``num_outputs`` equal views along ``axis`` (that axis dropped with ``squeeze``).

    The gradient concatenates (or stacks) the output gradients back.
    """

    name = "split"
    is_view = True

    def __init__(self, num_outputs: int, axis: int, squeeze: bool) -> None:
        self.num_outputs, self.axis, self.squeeze = num_outputs, axis, squeeze

    def forward(self, x):
        step = x.shape[self.axis] // self.num_outputs
        if self.squeeze:
            return tuple(x[along_axis(self.axis, i)] for i in range(self.num_outputs))
        return tuple(x[along_axis(self.axis, slice(i * step, (i + 1) * step))]
                     for i in range(self.num_outputs))

    def backward(self, *grads):
        if self.squeeze:
            return Stack(self.axis)(*grads)
        return Concat(self.axis)(*grads)


def _inputs(data, op: str) -> List[NDArray]:
    if len(data) == 1 and isinstance(data[0], (list, tuple)):
        data = tuple(data[0])
    if not data:
        raise ValueError(f"operator {op}: needs at least one input array")
    for i, x in enumerate(data):
        if not isinstance(x, NDArray):
            raise TypeError(f"operator {op}: input {i} is a {type(x).__name__}, expected NDArray")
    dtypes = {numpy.dtype(x.dtype) for x in data}
    if len(dtypes) > 1:
        raise TypeError(f"operator {op}: inputs have different dtypes "
                        f"{[str(numpy.dtype(x.dtype)) for x in data]}; cast them to one dtype")
    return list(data)


def _check_num_args(num_args, n: int, op: str) -> None:
    if num_args is not None and num_args != n:
        raise ValueError(f"operator {op}: num_args={num_args} but {n} arrays were given")


def concat(*data: NDArray, dim: int = 1, num_args: Optional[int] = None,
           out: Optional[NDArray] = None) -> NDArray:
    """Join arrays along axis ``dim``; the other dimensions must match.

    (2, 3) and (2, 5) with dim=1 -> (2, 8). Each input gets its gradient.
    """
    data = _inputs(data, "concat")
    _check_num_args(num_args, len(data), "concat")
    first = data[0]
    axis = axis_index(dim, first.ndim, "concat")
    for i, x in enumerate(data[1:], 1):
        if x.ndim != first.ndim or any(a != b for k, (a, b) in enumerate(zip(x.shape, first.shape))
                                       if k != axis):
            raise ValueError(f"operator concat: input {i} has shape {x.shape}, which does not "
                             f"match input 0 of shape {first.shape} outside dimension {axis}")
    return write_out(Concat(axis)(*data), out, 'concat')


def concatenate(arrays: Sequence[NDArray], axis: int = 0, always_copy: bool = True,
                *, out: Optional[NDArray] = None) -> NDArray:
    """Join a list of arrays along ``axis`` (MXNet's older ``nd.concatenate``)."""
    arrays = list(arrays)
    if len(arrays) == 1 and not always_copy:
        return write_out(arrays[0], out, 'concatenate')
    return write_out(concat(*arrays, dim=axis), out, 'concatenate')


def stack(*data: NDArray, axis: int = 0, num_args: Optional[int] = None,
          out: Optional[NDArray] = None) -> NDArray:
    """Join arrays of one shape along a new ``axis``: three (2, 3) -> (3, 2, 3) at axis 0."""
    data = _inputs(data, "stack")
    _check_num_args(num_args, len(data), "stack")
    first = data[0]
    axis = axis_index(axis, first.ndim, "stack", extra=1)
    for i, x in enumerate(data[1:], 1):
        if x.shape != first.shape:
            raise ValueError(f"operator stack: input {i} has shape {x.shape}, input 0 has shape "
                             f"{first.shape}; all inputs must have the same shape")
    return write_out(Stack(axis)(*data), out, 'stack')


def split(data: NDArray, num_outputs: int, axis: int = 1,
          squeeze_axis: bool = False,
          *, out: Optional[NDArray] = None) -> Union[NDArray, List[NDArray]]:
    """Split ``data`` into ``num_outputs`` equal parts along ``axis`` (views).

    (4, 6), 3, axis=1 -> three (4, 2); with ``squeeze_axis`` the axis (then of
    size 1) is dropped. Returns a list, or the array itself when num_outputs == 1.
    """
    check_array(data, "split")
    if not is_int(num_outputs) or num_outputs < 1:
        raise ValueError(f"operator split: num_outputs must be a positive int, got {num_outputs!r}")
    axis = axis_index(axis, data.ndim, "split")
    dim = data.shape[axis]
    if dim % num_outputs:
        raise ValueError(f"operator split: axis {axis} of shape {data.shape} has size {dim}, "
                         f"which is not divisible by num_outputs={num_outputs}")
    if squeeze_axis and dim != num_outputs:
        raise ValueError(f"operator split: squeeze_axis needs num_outputs ({num_outputs}) equal "
                         f"to the size {dim} of axis {axis} (shape {data.shape})")
    outs = Split(int(num_outputs), axis, bool(squeeze_axis))(data)
    return write_out(outs[0] if num_outputs == 1 else list(outs), out, 'split')


