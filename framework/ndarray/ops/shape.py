"""Shape operators: reshape, transpose, concat, split, slice, tile, pad and friends.

Outputs are NumPy views of the input (``is_view``) for reshape, transpose,
swapaxes, expand_dims, squeeze, flatten, flip, split and the slicing
operators, so an in-place write to one is seen by the other, and version
checks cover both. The others copy. Linear operators come in adjoint pairs
(slice and its zero-padded scatter, pad and its fold, diagonal extraction and
embedding), each being the other's gradient, so every gradient here
differentiates again to any order.
"""
from __future__ import annotations

import builtins
import math
from typing import List, Optional, Sequence, Tuple, Union

import numpy

from ..ndarray import NDArray
from ..operator import Operator
from .checks import axis_index, check_array, is_int

__all__ = ["reshape", "reshape_like", "transpose", "swapaxes", "expand_dims", "squeeze",
           "flatten", "concat", "concatenate", "stack", "split", "slice", "slice_axis",
           "slice_like", "tile", "repeat", "flip", "reverse", "pad", "diag", "depth_to_space",
           "space_to_depth"]

_slice = builtins.slice


# ------------------------------------------------------------------ helpers
def _ints(values, op: str, what: str) -> Tuple[int, ...]:
    values = (values,) if is_int(values) else tuple(values)
    if not all(is_int(v) for v in values):
        raise TypeError(f"operator {op}: {what} must be ints, got {values!r}")
    return tuple(int(v) for v in values)


def _along(axis: int, index) -> tuple:
    """An index applying ``index`` on ``axis`` only (a 0-d result stays an array view)."""
    return (_slice(None),) * axis + (index, Ellipsis)


# ------------------------------------------------------------------ reshape
class Reshape(Operator):
    """(..) -> ``shape`` with the same number of elements; a view of the input."""

    name = "reshape"
    is_view = True

    def __init__(self, shape) -> None:
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"operator {self.name}: cannot reshape an array of shape {x.shape} "
                             f"({x.size} elements) into shape {self.shape}") from None

    def backward(self, gy):
        return Reshape(self.in_shape)(gy)


class ExpandDims(Reshape):
    name = "expand_dims"


class Squeeze(Reshape):
    name = "squeeze"


class Flatten(Reshape):
    name = "flatten"


def infer_reshape(spec: Sequence[int], shape: Tuple[int, ...], reverse: bool = False) -> Tuple[int, ...]:
    """The output shape of MXNet's reshape of an array of ``shape`` by ``spec``.

    Special values: 0 copies the input dimension, -1 infers one dimension, -2
    copies all remaining input dimensions, -3 multiplies two consecutive input
    dimensions, -4 splits one input dimension into the next two values of
    ``spec`` (one of them may be -1). With ``reverse`` the special values are
    matched from the right.
    """
    def fail(why):
        return ValueError(f"operator reshape: cannot reshape an array of shape {shape} with "
                          f"shape={tuple(spec)}{' (reverse)' if reverse else ''}: {why}")

    src = list(shape)
    req = list(spec)
    if reverse:
        src.reverse()
        req.reverse()
    out: List[int] = []
    infer = None
    i = j = 0                        # position in req, position in src
    while i < len(req):
        d = req[i]
        if d == 0:
            if j >= len(src):
                raise fail(f"0 at position {i} has no input dimension to copy")
            out.append(src[j])
            j += 1
        elif d == -1:
            if infer is not None:
                raise fail("at most one dimension can be -1")
            infer = len(out)
            out.append(1)
            j += 1
        elif d == -2:
            out.extend(src[j:])
            j = len(src)
        elif d == -3:
            if j + 1 >= len(src):
                raise fail(f"-3 at position {i} needs two more input dimensions")
            out.append(src[j] * src[j + 1])
            j += 2
        elif d == -4:
            if i + 2 >= len(req):
                raise fail(f"-4 at position {i} must be followed by two values")
            if j >= len(src):
                raise fail(f"-4 at position {i} has no input dimension to split")
            whole = src[j]
            j += 1
            a, b = req[i + 1], req[i + 2]
            i += 2
            if a == -1 and b == -1:
                raise fail("the two dimensions after -4 cannot both be -1")
            if a == -1:
                a = whole // b if b > 0 else -1
            elif b == -1:
                b = whole // a if a > 0 else -1
            if a <= 0 or b <= 0 or a * b != whole:
                raise fail(f"-4 cannot split dimension {whole} into ({req[i - 1]}, {req[i]})")
            out.extend((a, b))
        elif d > 0:
            out.append(d)
            j += 1
        else:
            raise fail(f"{d} is not a valid dimension (special values are 0, -1, -2, -3, -4)")
        i += 1
    size = math.prod(shape)
    if infer is not None:
        known = math.prod(out)
        if known == 0 or size % known:
            raise fail(f"-1 cannot be inferred: {size} elements are not a multiple of {known}")
        out[infer] = size // known
    if reverse:
        out.reverse()
    if math.prod(out) != size:
        raise fail(f"the target shape {tuple(out)} has {math.prod(out)} elements, the input {size}")
    return tuple(out)


def reshape(data: NDArray, *shape, reverse: bool = False, **kwargs) -> NDArray:
    """``data`` with a new shape (a view), with MXNet's special values in ``shape``.

    ``shape`` is a tuple, or ints given separately (``x.reshape(2, -1)``). Values:
    d > 0 sets the dimension; 0 copies the input dimension; -1 infers it; -2
    copies the remaining input dimensions; -3 merges two input dimensions; -4
    splits one into the next two values. ``reverse=True`` matches them right to
    left: (10, 5, 4) with shape (-1, 0) gives (40, 5), reversed (50, 4).
    """
    check_array(data, "reshape")
    if len(shape) == 2 and not is_int(shape[0]) and isinstance(shape[1], (bool, numpy.bool_)):
        shape, reverse = shape[:1], bool(shape[1])         # reshape(x, shape, reverse)
    if not shape:
        shape = kwargs.pop("shape", kwargs.pop("newshape", None))
    elif len(shape) == 1 and not is_int(shape[0]):
        shape = shape[0]
    if kwargs:
        raise TypeError(f"operator reshape: unexpected arguments {sorted(kwargs)}")
    if shape is None:
        raise TypeError("operator reshape: a target shape is required")
    spec = _ints(shape, "reshape", "shape values")
    return Reshape(infer_reshape(spec, data.shape, reverse))(data)


def reshape_like(lhs: NDArray, rhs: NDArray, lhs_begin: Optional[int] = None,
                 lhs_end: Optional[int] = None, rhs_begin: Optional[int] = None,
                 rhs_end: Optional[int] = None) -> NDArray:
    """``lhs`` reshaped to the shape of ``rhs`` (a view); only ``lhs`` gets a gradient.

    With the begin/end arguments, dimensions [lhs_begin, lhs_end) of ``lhs`` are
    replaced by dimensions [rhs_begin, rhs_end) of ``rhs``.
    """
    check_array(lhs, "reshape_like")
    check_array(rhs, "reshape_like")
    if lhs_begin is None and lhs_end is None and rhs_begin is None and rhs_end is None:
        target = rhs.shape
    else:
        lb, le, _ = _slice(lhs_begin, lhs_end).indices(lhs.ndim)
        rb, re, _ = _slice(rhs_begin, rhs_end).indices(rhs.ndim)
        target = lhs.shape[:lb] + rhs.shape[rb:re] + lhs.shape[le:]
    if math.prod(target) != lhs.size:
        raise ValueError(f"operator reshape_like: cannot reshape lhs of shape {lhs.shape} "
                         f"({lhs.size} elements) into {target} taken from rhs of shape {rhs.shape}")
    return Reshape(target)(lhs)


def expand_dims(data: NDArray, axis: int) -> NDArray:
    """Insert an axis of size 1 at ``axis`` (in [-ndim-1, ndim]): (2, 3), axis=1 -> (2, 1, 3)."""
    check_array(data, "expand_dims")
    axis = axis_index(axis, data.ndim, "expand_dims", extra=1)
    return ExpandDims(data.shape[:axis] + (1,) + data.shape[axis:])(data)


def squeeze(data: NDArray, axis=None) -> NDArray:
    """Remove axes of size 1 (all, or those in ``axis``): (1, 3, 1) -> (3,).

    As in MXNet, at least one dimension is kept: (1, 1) -> (1,).
    """
    check_array(data, "squeeze")
    if axis is None:
        axes = [i for i, d in enumerate(data.shape) if d == 1]
    else:
        axes = [axis_index(a, data.ndim, "squeeze") for a in _ints(axis, "squeeze", "axes")]
        for a in axes:
            if data.shape[a] != 1:
                raise ValueError(f"operator squeeze: cannot squeeze axis {a} of an array of shape "
                                 f"{data.shape}: its size is {data.shape[a]}, not 1")
    shape = tuple(d for i, d in enumerate(data.shape) if i not in axes)
    if not shape and data.ndim:
        shape = (1,)
    return Squeeze(shape)(data)


def flatten(data: NDArray) -> NDArray:
    """Collapse all but the first axis: (d1, d2, ..., dk) -> (d1, d2*...*dk)."""
    check_array(data, "flatten")
    if data.ndim == 0:
        return Flatten((1, 1))(data)
    return Flatten((data.shape[0], math.prod(data.shape[1:])))(data)


# ---------------------------------------------------------------- transpose
class Transpose(Operator):
    """Permute the axes by ``axes``; a view. The gradient permutes back."""

    name = "transpose"
    is_view = True

    def __init__(self, axes: Tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        return Transpose(tuple(numpy.argsort(self.axes).tolist()))(gy)


class SwapAxes(Operator):
    name = "swapaxes"
    is_view = True

    def __init__(self, dim1: int, dim2: int) -> None:
        self.dim1, self.dim2 = dim1, dim2

    def forward(self, x):
        return self.xp.swapaxes(x, self.dim1, self.dim2)

    def backward(self, gy):
        return SwapAxes(self.dim1, self.dim2)(gy)


def transpose(data: NDArray, axes=None, *more: int) -> NDArray:
    """Permute the axes (reverse them when ``axes`` is None or ()): (2, 3, 4) -> (4, 3, 2)."""
    check_array(data, "transpose")
    if more:
        axes = (axes,) + more
    if axes is None or axes == ():
        axes = tuple(range(data.ndim))[::-1]
    axes = _ints(axes, "transpose", "axes")
    perm = tuple(a % data.ndim if -data.ndim <= a < data.ndim else -1 for a in axes)
    if sorted(perm) != list(range(data.ndim)):
        raise ValueError(f"operator transpose: axes {axes} are not a permutation of the "
                         f"{data.ndim} axes of an array of shape {data.shape}")
    return Transpose(perm)(data)


def swapaxes(data: NDArray, dim1: int = 0, dim2: int = 0) -> NDArray:
    """Interchange axes ``dim1`` and ``dim2``: (2, 3, 4), 0, 2 -> (4, 3, 2)."""
    check_array(data, "swapaxes")
    return SwapAxes(axis_index(dim1, data.ndim, "swapaxes"), axis_index(dim2, data.ndim, "swapaxes"))(data)


# ------------------------------------------------------------------ slicing
class Slice(Operator):
    """``x[key]`` for a basic key (slices and ints); a view.

    The gradient scatters into zeros of the input shape (``SliceGrad``).
    """

    is_view = True

    def __init__(self, key: tuple, name: str = "slice") -> None:
        self.key, self.name = key, name

    def forward(self, x):
        self.in_shape = x.shape
        return x[self.key]

    def backward(self, gy):
        return SliceGrad(self.in_shape, self.key, self.name)(gy)


class SliceGrad(Operator):
    """Zeros of ``shape`` with ``g`` written at ``key``: the adjoint of ``Slice``."""

    def __init__(self, shape: Tuple[int, ...], key: tuple, name: str) -> None:
        self.shape, self.key, self.name = shape, key, f"_backward_{name}"

    def forward(self, g):
        out = self.xp.zeros(self.shape, dtype=g.dtype)
        out[self.key] = g
        return out

    def backward(self, gg):
        return Slice(self.key, self.name[len("_backward_"):])(gg)


def _bound(v, what: str):
    if v is None or is_int(v):
        return None if v is None else int(v)
    raise TypeError(f"operator slice: {what} entries must be ints or None, got {v!r}")


def slice(data: NDArray, begin, end, step=None) -> NDArray:
    """``data[b0:e0:s0, b1:e1:s1, ...]`` for the first len(begin) axes (a view).

    ``begin``/``end``/``step`` are tuples of ints or None (None takes the
    default for the step's sign); a negative index counts from the end.
    Example: (3, 4), begin=(0, 1), end=(2, 4) -> (2, 3).
    """
    check_array(data, "slice")
    begin = (begin,) if begin is None or is_int(begin) else tuple(begin)
    end = (end,) if end is None or is_int(end) else tuple(end)
    step = () if step is None else ((step,) if is_int(step) else tuple(step))
    if len(begin) != len(end) or len(step) > len(begin):
        raise ValueError(f"operator slice: begin {begin}, end {end} and step {step} must have "
                         f"the same length")
    if len(begin) > data.ndim:
        raise ValueError(f"operator slice: begin {begin} has {len(begin)} entries, more than the "
                         f"{data.ndim} dimensions of the input of shape {data.shape}")
    key = []
    for k, (b, e) in enumerate(zip(begin, end)):
        s = _bound(step[k], "step") if k < len(step) else None
        if s == 0:
            raise ValueError(f"operator slice: step cannot be 0 (axis {k})")
        key.append(_slice(_bound(b, "begin"), _bound(e, "end"), s))
    return Slice(tuple(key), "slice")(data)


def slice_axis(data: NDArray, axis: int, begin: int, end: Optional[int]) -> NDArray:
    """``data`` sliced along ``axis`` from ``begin`` to ``end`` (None: to the end); a view."""
    check_array(data, "slice_axis")
    axis = axis_index(axis, data.ndim, "slice_axis")
    dim = data.shape[axis]
    b, e = _bound(begin, "begin"), _bound(end, "end")
    b = b + dim if b is not None and b < 0 else b
    e = dim if e is None else (e + dim if e < 0 else e)
    if b is None or not 0 <= b < e <= dim:
        raise ValueError(f"operator slice_axis: begin={begin}, end={end} do not select a "
                         f"non-empty range of axis {axis} of size {dim} (shape {data.shape})")
    return Slice(_along(axis, _slice(b, e)), "slice_axis")(data)


def slice_like(data: NDArray, shape_like: NDArray, axes=()) -> NDArray:
    """``data`` cut, from index 0, to the size of ``shape_like`` on ``axes`` (all if empty)."""
    check_array(data, "slice_like")
    check_array(shape_like, "slice_like")
    axes = _ints(axes, "slice_like", "axes")
    if not axes:
        if shape_like.ndim != data.ndim:
            raise ValueError(f"operator slice_like: data of shape {data.shape} and shape_like of "
                             f"shape {shape_like.shape} differ in dimensions; give axes")
        axes = tuple(range(data.ndim))
    key = [_slice(None)] * data.ndim
    for a in axes:
        ad = axis_index(a, data.ndim, "slice_like")
        al = axis_index(a, shape_like.ndim, "slice_like")
        if shape_like.shape[al] > data.shape[ad]:
            raise ValueError(f"operator slice_like: axis {a} of shape_like {shape_like.shape} is "
                             f"longer than that of data {data.shape}")
        key[ad] = _slice(0, shape_like.shape[al])
    return Slice(tuple(key), "slice_like")(data)


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
            grads.append(Slice(_along(self.axis, _slice(start, start + n)), "concat")(gy)
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
        return tuple(Slice(_along(self.axis, i), "stack")(gy) if self.wants(i) else None
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
            return tuple(x[_along(self.axis, i)] for i in range(self.num_outputs))
        return tuple(x[_along(self.axis, _slice(i * step, (i + 1) * step))]
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


def concat(*data: NDArray, dim: int = 1, num_args: Optional[int] = None) -> NDArray:
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
    return Concat(axis)(*data)


def concatenate(arrays: Sequence[NDArray], axis: int = 0, always_copy: bool = True) -> NDArray:
    """Join a list of arrays along ``axis`` (MXNet's older ``nd.concatenate``)."""
    arrays = list(arrays)
    if len(arrays) == 1 and not always_copy:
        return arrays[0]
    return concat(*arrays, dim=axis)


def stack(*data: NDArray, axis: int = 0, num_args: Optional[int] = None) -> NDArray:
    """Join arrays of one shape along a new ``axis``: three (2, 3) -> (3, 2, 3) at axis 0."""
    data = _inputs(data, "stack")
    _check_num_args(num_args, len(data), "stack")
    first = data[0]
    axis = axis_index(axis, first.ndim, "stack", extra=1)
    for i, x in enumerate(data[1:], 1):
        if x.shape != first.shape:
            raise ValueError(f"operator stack: input {i} has shape {x.shape}, input 0 has shape "
                             f"{first.shape}; all inputs must have the same shape")
    return Stack(axis)(*data)


def split(data: NDArray, num_outputs: int, axis: int = 1,
          squeeze_axis: bool = False) -> Union[NDArray, List[NDArray]]:
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
    return outs[0] if num_outputs == 1 else list(outs)


# ------------------------------------------------------------ tile, repeat, flip
class Tile(Operator):
    """Repeat the whole array ``reps`` times per axis; the gradient sums the copies."""

    name = "tile"

    def __init__(self, reps: Tuple[int, ...]) -> None:
        self.reps = reps

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.tile(x, self.reps)

    def backward(self, gy):
        from .reduce import Sum
        n = builtins.max(len(self.in_shape), len(self.reps))
        shape = (1,) * (n - len(self.in_shape)) + self.in_shape
        reps = (1,) * (n - len(self.reps)) + self.reps
        blocks = Reshape(tuple(v for pair in zip(reps, shape) for v in pair))(gy)
        summed = Sum(tuple(range(0, 2 * n, 2)), False)(blocks)
        return Reshape(self.in_shape)(summed)


class Repeat(Operator):
    """Repeat each element ``repeats`` times along ``axis`` (flattened if None)."""

    name = "repeat"

    def __init__(self, repeats: int, axis: Optional[int]) -> None:
        self.repeats, self.axis = repeats, axis

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.repeat(x, self.repeats, axis=self.axis)

    def backward(self, gy):
        from .reduce import Sum
        if self.axis is None:
            parts = Reshape((math.prod(self.in_shape), self.repeats))(gy)
            return Reshape(self.in_shape)(Sum((1,), False)(parts))
        a = self.axis
        parts = Reshape(self.in_shape[:a + 1] + (self.repeats,) + self.in_shape[a + 1:])(gy)
        return Sum((a + 1,), False)(parts)


class Flip(Operator):
    """Reverse the order of elements along ``axes``; a view."""

    name = "flip"
    is_view = True

    def __init__(self, axes: Tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, x):
        key = [_slice(None)] * x.ndim
        for a in self.axes:
            key[a] = _slice(None, None, -1)
        return x[tuple(key)]

    def backward(self, gy):
        return Flip(self.axes)(gy)


def tile(data: NDArray, reps) -> NDArray:
    """Repeat the whole array: (2, 3) with reps (2, 2) -> (4, 6); shorter ``reps`` or
    arrays are padded with leading 1s as in NumPy."""
    check_array(data, "tile")
    reps = _ints(reps, "tile", "reps")
    if any(r < 0 for r in reps):
        raise ValueError(f"operator tile: reps {reps} must not be negative")
    return Tile(reps)(data)


def repeat(data: NDArray, repeats: int, axis: Optional[int] = None) -> NDArray:
    """Repeat each element ``repeats`` times along ``axis`` (of the flattened array if None).

    (2, 2) with repeats=2, axis=1 -> (2, 4); axis=None -> (8,).
    """
    check_array(data, "repeat")
    if not is_int(repeats) or repeats < 0:
        raise ValueError(f"operator repeat: repeats must be a non-negative int, got {repeats!r}")
    if axis is not None:
        axis = axis_index(axis, data.ndim, "repeat")
    return Repeat(int(repeats), axis)(data)


def flip(data: NDArray, axis) -> NDArray:
    """Reverse the order of elements along ``axis`` (an int or a tuple); a view."""
    check_array(data, "flip")
    axes = tuple(sorted({axis_index(a, data.ndim, "flip") for a in _ints(axis, "flip", "axes")}))
    return Flip(axes)(data)


reverse = flip


# --------------------------------------------------------------------- pad
def _pad_adjoint(xp, g, pairs, mode):
    """Fold the padded gradient ``g`` back onto the unpadded array (axis by axis)."""
    for axis, (before, after) in enumerate(pairs):
        if before == 0 and after == 0:
            continue
        n = g.shape[axis] - before - after
        inner = g[_along(axis, _slice(before, before + n))]
        if mode == "constant":
            g = inner
            continue
        out = inner.copy()
        head = g[_along(axis, _slice(0, before))]
        tail = g[_along(axis, _slice(before + n, None))]
        if mode == "edge":
            if before:
                out[_along(axis, _slice(0, 1))] += head.sum(axis=axis, keepdims=True)
            if after:
                out[_along(axis, _slice(n - 1, n))] += tail.sum(axis=axis, keepdims=True)
        else:   # reflect: the padding mirrors the elements next to the edge
            if before:
                out[_along(axis, _slice(1, before + 1))] += xp.flip(head, axis)
            if after:
                out[_along(axis, _slice(n - 1 - after, n - 1))] += xp.flip(tail, axis)
        g = out
    return g


class Pad(Operator):
    """Pad each axis by ``pairs[axis]`` with a constant, the edge value, or a reflection."""

    name = "pad"

    def __init__(self, mode: str, pairs: Tuple[Tuple[int, int], ...], value: float) -> None:
        self.mode, self.pairs, self.value = mode, pairs, value

    def forward(self, x):
        if self.mode == "constant":
            return self.xp.pad(x, self.pairs, mode="constant", constant_values=self.value)
        return self.xp.pad(x, self.pairs, mode=self.mode)

    def backward(self, gy):
        return PadGrad(self.mode, self.pairs)(gy)


class PadGrad(Operator):
    """The adjoint of ``Pad``: padded gradients folded onto the elements they copy."""

    name = "_backward_pad"

    def __init__(self, mode: str, pairs: Tuple[Tuple[int, int], ...]) -> None:
        self.mode, self.pairs = mode, pairs

    def forward(self, g):
        return _pad_adjoint(self.xp, g, self.pairs, self.mode)

    def backward(self, gg):
        return Pad(self.mode, self.pairs, 0)(gg)


def pad(data: NDArray, mode: str = "constant", pad_width=(), constant_value: float = 0) -> NDArray:
    """Pad ``data`` with MXNet's flat ``pad_width`` (before_0, after_0, before_1, after_1, ...).

    ``mode`` is 'constant' (fill ``constant_value``), 'edge' (repeat the border
    element) or 'reflect' (mirror without repeating the border; widths must be
    smaller than the dimension). (1, 1, 2, 2) with pad_width (0,0,0,0,1,1,1,1)
    -> (1, 1, 4, 4). MXNet accepts only 4-D and 5-D inputs; any rank works here.
    """
    check_array(data, "pad")
    if mode not in ("constant", "edge", "reflect"):
        raise ValueError(f"operator pad: mode must be 'constant', 'edge' or 'reflect', got {mode!r}")
    widths = _ints(pad_width, "pad", "pad_width values")
    if len(widths) != 2 * data.ndim:
        raise ValueError(f"operator pad: pad_width {widths} has {len(widths)} values; an array "
                         f"of shape {data.shape} needs 2 * {data.ndim} = {2 * data.ndim}")
    if any(w < 0 for w in widths):
        raise ValueError(f"operator pad: pad_width {widths} must not be negative")
    pairs = tuple((widths[2 * i], widths[2 * i + 1]) for i in range(data.ndim))
    for axis, (before, after) in enumerate(pairs):
        dim = data.shape[axis]
        if mode == "reflect" and (before or after) and builtins.max(before, after) >= dim:
            raise ValueError(f"operator pad: reflect padding ({before}, {after}) of axis {axis} "
                             f"must be smaller than its size {dim} (shape {data.shape})")
        if mode == "edge" and (before or after) and dim == 0:
            raise ValueError(f"operator pad: edge padding of empty axis {axis} (shape {data.shape})")
    return Pad(mode, pairs, constant_value)(data)


# -------------------------------------------------------------------- diag
def _diag_index(xp, shape, k, axis1, axis2):
    """Row and column index arrays of the k-th diagonal of the (axis1, axis2) planes."""
    rows, cols = shape[axis1], shape[axis2]
    r0, c0 = builtins.max(-k, 0), builtins.max(k, 0)
    n = builtins.max(builtins.min(rows - r0, cols - c0), 0)
    i = xp.arange(n)
    return i + r0, i + c0


class DiagExtract(Operator):
    """The k-th diagonal of the planes (axis1, axis2), appended as the last axis."""

    name = "diag"

    def __init__(self, k: int, axis1: int, axis2: int) -> None:
        self.k, self.axis1, self.axis2 = k, axis1, axis2

    def forward(self, x):
        self.in_shape = x.shape
        return self.xp.diagonal(x, self.k, self.axis1, self.axis2).copy()

    def backward(self, gy):
        return DiagEmbed(self.in_shape, self.k, self.axis1, self.axis2)(gy)


class DiagEmbed(Operator):
    """Zeros of ``shape`` with the last axis of the input on the k-th diagonal."""

    name = "diag"

    def __init__(self, shape, k: int, axis1: int, axis2: int) -> None:
        self.shape, self.k, self.axis1, self.axis2 = tuple(shape), k, axis1, axis2

    def forward(self, d):
        out = self.xp.zeros(self.shape, dtype=d.dtype)
        planes = self.xp.moveaxis(out, (self.axis1, self.axis2), (-2, -1))   # a view of out
        rows, cols = _diag_index(self.xp, self.shape, self.k, self.axis1, self.axis2)
        planes[..., rows, cols] = d
        return out

    def backward(self, gg):
        return DiagExtract(self.k, self.axis1, self.axis2)(gg)


def diag(data: NDArray, k: int = 0, axis1: int = 0, axis2: int = 1) -> NDArray:
    """A 1-D input -> a square matrix with ``data`` on the k-th diagonal ((n,) -> (n+|k|, n+|k|));
    an N-D input -> its k-th diagonal of the (axis1, axis2) planes, appended as the last axis."""
    check_array(data, "diag")
    if not is_int(k):
        raise TypeError(f"operator diag: k must be an int, got {k!r}")
    if data.ndim == 0:
        raise ValueError("operator diag: the input must have at least 1 dimension, got a 0-d array")
    if data.ndim == 1:
        n = data.shape[0] + builtins.abs(int(k))
        return DiagEmbed((n, n), int(k), 0, 1)(data)
    a1, a2 = axis_index(axis1, data.ndim, "diag"), axis_index(axis2, data.ndim, "diag")
    if a1 == a2:
        raise ValueError(f"operator diag: axis1 and axis2 must differ, got {axis1} and {axis2}")
    return DiagExtract(int(k), a1, a2)(data)


# ------------------------------------------------------ depth <-> space
def depth_to_space(data: NDArray, block_size: int) -> NDArray:
    """(N, C, H, W) -> (N, C / b^2, H * b, W * b): depth moved into b x b spatial blocks."""
    check_array(data, "depth_to_space")
    if data.ndim != 4 or data.shape[1] % (block_size * block_size):
        raise ValueError(f"operator depth_to_space: expected (N, C, H, W) with C divisible by "
                         f"block_size**2 = {block_size * block_size}, got shape {data.shape}")
    n, c, h, w = data.shape
    b = block_size
    x = reshape(data, (n, b, b, c // (b * b), h, w))
    x = transpose(x, (0, 3, 4, 1, 5, 2))
    return reshape(x, (n, c // (b * b), h * b, w * b))


def space_to_depth(data: NDArray, block_size: int) -> NDArray:
    """(N, C, H, W) -> (N, C * b^2, H / b, W / b): b x b spatial blocks moved into depth."""
    check_array(data, "space_to_depth")
    b = block_size
    if data.ndim != 4 or data.shape[2] % b or data.shape[3] % b:
        raise ValueError(f"operator space_to_depth: expected (N, C, H, W) with H and W divisible "
                         f"by block_size = {b}, got shape {data.shape}")
    n, c, h, w = data.shape
    x = reshape(data, (n, c, h // b, b, w // b, b))
    x = transpose(x, (0, 3, 5, 1, 2, 4))
    return reshape(x, (n, c * b * b, h // b, w // b))
