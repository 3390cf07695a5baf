"""Shape operators: reshape and its MXNet special values, transpose, swapaxes,
expand_dims, squeeze, flatten, depth_to_space.

reshape, reshape_like, transpose and swapaxes give NumPy views of the input
(``is_view``), so an in-place write to one is seen by the other, and version
checks cover both. expand_dims, squeeze and flatten give new arrays, as in MXNet.
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import numpy

from ..ndarray import NDArray
from ..operator import Operator
from .checks import write_out, axis_index, check_array, int_tuple, is_int


__all__ = ["reshape", "reshape_like", "transpose", "swapaxes", "expand_dims", "squeeze",
           "flatten", "depth_to_space", "space_to_depth"]


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
            y = x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"operator {self.name}: cannot reshape an array of shape {x.shape} "
                             f"({x.size} elements) into shape {self.shape}") from None
        if y.flags.c_contiguous and not x.flags.c_contiguous:
            # NumPy and CuPy copied (a C-contiguous view would make x C-contiguous too):
            # the result is a new array with its own version counter, not x's
            self.is_view = False
        return y

    def backward(self, gy):
        return Reshape(self.in_shape)(gy)


class _ReshapedCopy(Reshape):
    """A reshape into a new array (not a view), as MXNet's expand_dims, squeeze and
    flatten give: writing the result never changes the input."""

    is_view = False

    def forward(self, x):
        return super().forward(x).copy()


class ExpandDims(_ReshapedCopy):
    name = "expand_dims"


class Squeeze(_ReshapedCopy):
    name = "squeeze"


class Flatten(_ReshapedCopy):
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


def reshape(data: NDArray, *shape, reverse: bool = False,
            out: Optional[NDArray] = None, **kwargs) -> NDArray:
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
    spec = int_tuple(shape, "reshape", "shape values")
    return write_out(Reshape(infer_reshape(spec, data.shape, reverse))(data), out, 'reshape')


def reshape_like(lhs: NDArray, rhs: NDArray, lhs_begin: Optional[int] = None,
                 lhs_end: Optional[int] = None, rhs_begin: Optional[int] = None,
                 rhs_end: Optional[int] = None, *, out: Optional[NDArray] = None) -> NDArray:
    """``lhs`` reshaped to the shape of ``rhs`` (a view); only ``lhs`` gets a gradient.

    With the begin/end arguments, dimensions [lhs_begin, lhs_end) of ``lhs`` are
    replaced by dimensions [rhs_begin, rhs_end) of ``rhs``.
    """
    check_array(lhs, "reshape_like")
    check_array(rhs, "reshape_like")
    if lhs_begin is None and lhs_end is None and rhs_begin is None and rhs_end is None:
        target = rhs.shape
    else:
        lb, le, _ = slice(lhs_begin, lhs_end).indices(lhs.ndim)
        rb, re, _ = slice(rhs_begin, rhs_end).indices(rhs.ndim)
        target = lhs.shape[:lb] + rhs.shape[rb:re] + lhs.shape[le:]
    if math.prod(target) != lhs.size:
        raise ValueError(f"operator reshape_like: cannot reshape lhs of shape {lhs.shape} "
                         f"({lhs.size} elements) into {target} taken from rhs of shape {rhs.shape}")
    return write_out(Reshape(target)(lhs), out, 'reshape_like')


def expand_dims(data: NDArray, axis: int, *, out: Optional[NDArray] = None) -> NDArray:
    """Insert an axis of size 1 at ``axis`` (in [-ndim-1, ndim]): (2, 3), axis=1 -> (2, 1, 3).

    The result is a new array (MXNet), not a view of ``data``.
    """
    check_array(data, "expand_dims")
    axis = axis_index(axis, data.ndim, "expand_dims", extra=1)
    result = ExpandDims(data.shape[:axis] + (1,) + data.shape[axis:])(data)
    return write_out(result, out, 'expand_dims')


def squeeze(data: NDArray, axis=None, *, out: Optional[NDArray] = None) -> NDArray:
    """Remove axes of size 1 (all, or those in ``axis``): (1, 3, 1) -> (3,).

    As in MXNet, at least one dimension is kept: (1, 1) -> (1,), and the result is
    a new array, not a view of ``data``.
    """
    check_array(data, "squeeze")
    if axis is None:
        axes = [i for i, d in enumerate(data.shape) if d == 1]
    else:
        axes = [axis_index(a, data.ndim, "squeeze") for a in int_tuple(axis, "squeeze", "axes")]
        for a in axes:
            if data.shape[a] != 1:
                raise ValueError(f"operator squeeze: cannot squeeze axis {a} of an array of shape "
                                 f"{data.shape}: its size is {data.shape[a]}, not 1")
    shape = tuple(d for i, d in enumerate(data.shape) if i not in axes)
    if not shape and data.ndim:
        shape = (1,)
    return write_out(Squeeze(shape)(data), out, 'squeeze')


def flatten(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """Collapse all but the first axis: (d1, d2, ..., dk) -> (d1, d2*...*dk); a new array."""
    check_array(data, "flatten")
    if data.ndim == 0:
        return write_out(Flatten((1, 1))(data), out, 'flatten')
    return write_out(Flatten((data.shape[0], math.prod(data.shape[1:])))(data), out, 'flatten')


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


def transpose(data: NDArray, axes=None, *more: int, out: Optional[NDArray] = None) -> NDArray:
    """Permute the axes (reverse them when ``axes`` is None or ()): (2, 3, 4) -> (4, 3, 2)."""
    check_array(data, "transpose")
    if more:
        axes = (axes,) + more
    if axes is None or axes == ():
        axes = tuple(range(data.ndim))[::-1]
    axes = int_tuple(axes, "transpose", "axes")
    perm = tuple(a % data.ndim if -data.ndim <= a < data.ndim else -1 for a in axes)
    if sorted(perm) != list(range(data.ndim)):
        raise ValueError(f"operator transpose: axes {axes} are not a permutation of the "
                         f"{data.ndim} axes of an array of shape {data.shape}")
    return write_out(Transpose(perm)(data), out, 'transpose')


def swapaxes(data: NDArray, dim1: int = 0, dim2: int = 0,
             *, out: Optional[NDArray] = None) -> NDArray:
    """Interchange axes ``dim1`` and ``dim2``: (2, 3, 4), 0, 2 -> (4, 3, 2)."""
    check_array(data, "swapaxes")
    axes = axis_index(dim1, data.ndim, "swapaxes"), axis_index(dim2, data.ndim, "swapaxes")
    result = SwapAxes(*axes)(data)
    return write_out(result, out, 'swapaxes')


# ------------------------------------------------------ depth <-> space
def depth_to_space(data: NDArray, block_size: int, *, out: Optional[NDArray] = None) -> NDArray:
    """(N, C, H, W) -> (N, C / b^2, H * b, W * b): depth moved into b x b spatial blocks."""
    check_array(data, "depth_to_space")
    if data.ndim != 4 or data.shape[1] % (block_size * block_size):
        raise ValueError(f"operator depth_to_space: expected (N, C, H, W) with C divisible by "
                         f"block_size**2 = {block_size * block_size}, got shape {data.shape}")
    n, c, h, w = data.shape
    b = block_size
    x = reshape(data, (n, b, b, c // (b * b), h, w))
    x = transpose(x, (0, 3, 4, 1, 5, 2))
    return write_out(reshape(x, (n, c // (b * b), h * b, w * b)), out, 'depth_to_space')


def space_to_depth(data: NDArray, block_size: int, *, out: Optional[NDArray] = None) -> NDArray:
    """(N, C, H, W) -> (N, C * b^2, H / b, W / b): b x b spatial blocks moved into depth."""
    check_array(data, "space_to_depth")
    b = block_size
    if data.ndim != 4 or data.shape[2] % b or data.shape[3] % b:
        raise ValueError(f"operator space_to_depth: expected (N, C, H, W) with H and W divisible "
                         f"by block_size = {b}, got shape {data.shape}")
    n, c, h, w = data.shape
    x = reshape(data, (n, c, h // b, b, w // b, b))
    x = transpose(x, (0, 3, 5, 1, 2, 4))
    return write_out(reshape(x, (n, c * b * b, h // b, w // b)), out, 'space_to_depth')
