"""Regions of an array and their adjoints: slice, slice_axis, slice_like, pad, diag.

Each linear operator here comes with its adjoint (slice and its zero-padded
scatter, pad and its fold, diagonal extraction and embedding), each being the
other's gradient, so every gradient differentiates again to any order. Slices
are views of the input (``is_view``).
"""
from __future__ import annotations

import builtins
from typing import Optional, Tuple

from ..ndarray import NDArray
from ..operator import Operator
from .checks import write_out, along_axis, axis_index, check_array, int_tuple, is_int

__all__ = ["slice", "slice_axis", "slice_like", "pad", "diag"]

_slice = builtins.slice


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


def slice(data: NDArray, begin, end, step=None, *, out: Optional[NDArray] = None) -> NDArray:
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
    return write_out(Slice(tuple(key), "slice")(data), out, 'slice')


def slice_axis(data: NDArray, axis: int, begin: int, end: Optional[int],
               *, out: Optional[NDArray] = None) -> NDArray:
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
    return write_out(Slice(along_axis(axis, _slice(b, e)), "slice_axis")(data), out, 'slice_axis')


def slice_like(data: NDArray, shape_like: NDArray, axes=(),
               *, out: Optional[NDArray] = None) -> NDArray:
    """``data`` cut, from index 0, to the size of ``shape_like`` on ``axes`` (all if empty)."""
    check_array(data, "slice_like")
    check_array(shape_like, "slice_like")
    axes = int_tuple(axes, "slice_like", "axes")
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
    return write_out(Slice(tuple(key), "slice_like")(data), out, 'slice_like')


# --------------------------------------------------------------------- pad
def _pad_adjoint(xp, g, pairs, mode):
    """Fold the padded gradient ``g`` back onto the unpadded array (axis by axis)."""
    for axis, (before, after) in enumerate(pairs):
        if before == 0 and after == 0:
            continue
        n = g.shape[axis] - before - after
        inner = g[along_axis(axis, _slice(before, before + n))]
        if mode == "constant":
            g = inner
            continue
        out = inner.copy()
        head = g[along_axis(axis, _slice(0, before))]
        tail = g[along_axis(axis, _slice(before + n, None))]
        if mode == "edge":
            if before:
                out[along_axis(axis, _slice(0, 1))] += head.sum(axis=axis, keepdims=True)
            if after:
                out[along_axis(axis, _slice(n - 1, n))] += tail.sum(axis=axis, keepdims=True)
        else:   # reflect: the padding mirrors the elements next to the edge
            if before:
                out[along_axis(axis, _slice(1, before + 1))] += xp.flip(head, axis)
            if after:
                out[along_axis(axis, _slice(n - 1 - after, n - 1))] += xp.flip(tail, axis)
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


def pad(data: NDArray, mode: str = "constant", pad_width=(), constant_value: float = 0,
        *, out: Optional[NDArray] = None) -> NDArray:
    """Pad ``data`` with MXNet's flat ``pad_width`` (before_0, after_0, before_1, after_1, ...).

    ``mode`` is 'constant' (fill ``constant_value``), 'edge' (repeat the border
    element) or 'reflect' (mirror without repeating the border; widths must be
    smaller than the dimension). (1, 1, 2, 2) with pad_width (0,0,0,0,1,1,1,1)
    -> (1, 1, 4, 4). MXNet accepts only 4-D and 5-D inputs; any rank works here.
    """
    check_array(data, "pad")
    if mode not in ("constant", "edge", "reflect"):
        raise ValueError(f"operator pad: mode must be 'constant', 'edge' or 'reflect', got {mode!r}")
    widths = int_tuple(pad_width, "pad", "pad_width values")
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
    return write_out(Pad(mode, pairs, constant_value)(data), out, 'pad')


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


def diag(data: NDArray, k: int = 0, axis1: int = 0, axis2: int = 1,
         *, out: Optional[NDArray] = None) -> NDArray:
    """A 1-D input -> a square matrix with ``data`` on the k-th diagonal ((n,) -> (n+|k|, n+|k|));
    an N-D input -> its k-th diagonal of the (axis1, axis2) planes, appended as the last axis."""
    check_array(data, "diag")
    if not is_int(k):
        raise TypeError(f"operator diag: k must be an int, got {k!r}")
    if data.ndim == 0:
        raise ValueError("operator diag: the input must have at least 1 dimension, got a 0-d array")
    if data.ndim == 1:
        n = data.shape[0] + builtins.abs(int(k))
        return write_out(DiagEmbed((n, n), int(k), 0, 1)(data), out, 'diag')
    a1, a2 = axis_index(axis1, data.ndim, "diag"), axis_index(axis2, data.ndim, "diag")
    if a1 == a2:
        raise ValueError(f"operator diag: axis1 and axis2 must differ, got {axis1} and {axis2}")
    return write_out(DiagExtract(int(k), a1, a2)(data), out, 'diag')


