"""Indexing and ordering: ``getitem``/``setitem``, take, pick, one_hot, topk, sort, argsort.

Every gather in this module is one operator, ``GetItem``: ``x[key]`` with a
key of NumPy's kinds (ints, slices, None, Ellipsis, integer arrays). A key
without arrays gives a view (basic indexing). The gradient of a gather is a
scatter-add (``ScatterAdd``: ``xp.add.at`` into zeros, so duplicated indices
add up), and the gradient of that scatter is the same gather again, so both
differentiate to any order. take, pick and the values of sort/topk are
gathers with keys built from their indices.

Index arrays may be NDArrays of any dtype (MXNet passes indices as float32),
Python lists or NumPy arrays; boolean arrays are masks. Indices outputs
(argsort, topk) are float32 by default, as in MXNet, and carry no gradient.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, List, Optional, Tuple

import numpy
from numpy.typing import DTypeLike

from ..._flags import STATE
from ..ndarray import NDArray
from ..operator import Operator
from .checks import write_out, axis_index, on_data_device
from .broadcast import sum_to
from .convert import Cast
from .shape import Reshape

__all__ = ["getitem", "setitem", "take", "pick", "one_hot", "topk", "sort", "argsort",
           "batch_take"]
# Take, Pick and Ordered (the operators of take, pick, topk/sort/argsort) are public
# to the ndarray package for Embedding and the losses, not exported as nd functions.

Index = Any

try:        # the ufunc behind numpy.clip, which wraps it in two Python layers (NumPy 2, then 1)
    from numpy._core.umath import clip as _numpy_clip
except ImportError:                                   # pragma: no cover
    try:
        from numpy.core.umath import clip as _numpy_clip
    except ImportError:
        _numpy_clip = None


# --------------------------------------------------------------------- keys
def _describe(key) -> str:
    """A short, readable form of an index for error messages."""
    def one(k):
        if isinstance(k, slice):
            parts = (k.start, k.stop) if k.step is None else (k.start, k.stop, k.step)
            return ":".join("" if v is None else str(v) for v in parts)
        if k is Ellipsis:
            return "..."
        if k is None:
            return "None"
        if isinstance(k, NDArray):
            return f"NDArray{k.shape}"
        if isinstance(k, numpy.ndarray):
            return f"array{k.shape}"
        return repr(k)
    if isinstance(key, tuple):
        return "[" + ", ".join(one(k) for k in key) + "]"
    return "[" + one(key) + "]"


def _index_array(k, data: NDArray, where: str):
    """An array-like index element as a raw array of the data's module (int64 or bool)."""
    xp = data._ctx.xp
    if isinstance(k, NDArray):
        if k._ctx is not data._ctx:
            raise ValueError(f"operator {where}: the index array is on {k._ctx}, the data "
                             f"(shape {data.shape}) on {data._ctx}; move it with as_in_context()")
        raw = k._data
        kind = raw.dtype.kind
    else:
        try:
            host = numpy.asarray(k)
        except (TypeError, ValueError):
            raise TypeError(f"operator {where}: cannot use {type(k).__name__} {k!r} as an "
                            f"index array") from None
        kind = host.dtype.kind
        if host.size == 0:
            host, kind = host.astype(numpy.int64), "i"
        if kind not in "biuf":
            raise TypeError(f"operator {where}: index arrays must hold integers or booleans, "
                            f"got dtype {host.dtype} in {_describe(k)}")
        raw = xp.asarray(host)
    if kind == "b":
        return raw
    if kind not in "iuf":
        raise TypeError(f"operator {where}: index arrays must hold integers or booleans, "
                        f"got dtype {numpy.dtype(raw.dtype)}")
    return raw.astype(numpy.int64)          # a copy: later writes to the index do not matter


def parse_key(data: NDArray, key: Index, where: str = "getitem") -> Tuple[tuple, bool]:
    """``key`` as a tuple of raw index elements, and whether it is basic (a view).

    Boolean masks are replaced by their ``nonzero()`` integer arrays, so every
    advanced key works with ``xp.add.at``.
    """
    if isinstance(key, (list, NDArray, numpy.ndarray)):
        key = (key,)          # a list is one index array, as in NumPy
    elif not isinstance(key, tuple):
        key = (key,)
    out: List = []
    basic = True
    for k in key:
        if k is None or k is Ellipsis or isinstance(k, slice):
            if isinstance(k, slice):
                for v in (k.start, k.stop, k.step):
                    if v is not None and not isinstance(v, (numbers.Integral, NDArray)):
                        raise TypeError(f"operator {where}: slice {_describe(k)} bounds must be "
                                        f"integers or None, got {type(v).__name__}")
                k = slice(*(int(v) if v is not None else None for v in (k.start, k.stop, k.step)))
                if k.step == 0:
                    raise ValueError(f"operator {where}: slice step cannot be zero")
            out.append(k)
        elif isinstance(k, (bool, numpy.bool_)):
            raise TypeError(f"operator {where}: a Python bool is not a valid index (index "
                            f"{_describe(key)} on shape {data.shape}); use a boolean NDArray mask")
        elif isinstance(k, numbers.Integral):
            out.append(int(k))
        elif isinstance(k, (NDArray, list, tuple, numpy.ndarray)):
            raw = _index_array(k, data, where)
            basic = False
            if numpy.dtype(raw.dtype).kind == "b":
                if raw.ndim == 0:
                    raise TypeError(f"operator {where}: a 0-d boolean mask is not supported")
                out.extend(raw.nonzero())
            else:
                out.append(raw)
        else:
            raise TypeError(f"operator {where}: unsupported index element of type "
                            f"{type(k).__name__} in {_describe(key)}; expected int, slice, None, "
                            f"Ellipsis, an NDArray, a list or a NumPy array")
    if sum(1 for k in out if k is Ellipsis) > 1:
        raise IndexError(f"operator {where}: an index can only have a single ellipsis, "
                         f"got {_describe(key)}")
    if basic and Ellipsis not in out:
        out.append(Ellipsis)   # so that a full integer index gives a 0-d view, not a scalar
    return tuple(out), basic


def _index_error(where, key, shape, err) -> IndexError:
    return IndexError(f"operator {where}: index {_describe(key)} is invalid for an array of "
                      f"shape {shape}: {err}")


def _scatter_add(xp, target, key, value) -> None:
    """``target[key] += value`` with repeated indices adding up."""
    at = getattr(xp.add, "at", None)
    if at is not None:
        try:
            at(target, key, value)
            return
        except NotImplementedError:
            pass
    import cupyx                              # CuPy before ufunc.at (v13)
    cupyx.scatter_add(target, key, value)


class GetItem(Operator):
    """``x[key]``: a view for basic keys; the gradient scatters back (adding duplicates).

    ``unique``: the advanced key selects distinct positions (as pick's does), so the
    gradient is scattered by assignment, without ``ufunc.at``."""

    def __init__(self, key: tuple, basic: bool, name: str = "getitem", shown=None,
                 unique: bool = False) -> None:
        self.key, self.is_view, self.name = key, basic, name
        self.shown = key if shown is None else shown
        self.unique = unique

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x[self.key]
        except IndexError as err:
            raise _index_error(self.name, self.shown, x.shape, err) from None

    def backward(self, gy):
        return ScatterAdd(self.key, self.is_view, self.in_shape, self.name, self.unique)(gy)


class ScatterAdd(Operator):
    """Zeros of ``shape`` with ``g`` added at ``key``; its gradient gathers at ``key``.
    ``unique``: the key's positions are distinct, so assigning adds nothing up wrong."""

    def __init__(self, key: tuple, basic: bool, shape: Tuple[int, ...], name: str,
                 unique: bool = False) -> None:
        self.key, self.basic, self.shape = key, basic, shape
        self.name = f"_backward_{name}"
        self.gather_name = name
        self.unique = unique

    def forward(self, g):
        out = self.xp.zeros(self.shape, dtype=g.dtype)
        if self.basic or self.unique:
            out[self.key] = g
        else:
            _scatter_add(self.xp, out, self.key, g)
        return out

    def backward(self, gz):
        return GetItem(self.key, self.basic, self.gather_name, unique=self.unique)(gz)


class SetItem(Operator):
    """Out-of-place ``x`` with ``x[key] = v``; gradients go to the rest of x and to v.

    With repeated indices in an advanced key only the write that lands (the
    last) receives a gradient, found by writing position numbers the same way.
    """

    name = "setitem"
    winners = None

    def __init__(self, key: tuple, basic: bool, shown) -> None:
        self.key, self.basic, self.shown = key, basic, shown

    def forward(self, x, v):
        self.v_shape = getattr(v, "shape", None)
        self.v_dtype = getattr(v, "dtype", None)
        out = x.copy()
        out[self.key] = v
        if not self.basic and self.v_shape is not None:
            self.winners = self._winners(x.shape)
        return out

    def _winners(self, shape):
        """Mask over the selection of the writes that land, or None if all do."""
        xp = self.xp
        marker = xp.full(shape, -1, dtype=numpy.int64)
        sel_shape = marker[self.key].shape
        order = xp.arange(int(numpy.prod(sel_shape)), dtype=numpy.int64).reshape(sel_shape)
        marker[self.key] = order
        landed = marker[self.key] == order
        return None if bool(landed.all()) else landed

    def backward(self, gy):
        gx = gv = None
        if self.wants(0):
            gx = SetItem(self.key, self.basic, self.shown)(gy, 0.0)
        if self.wants(1):
            g_sel = GetItem(self.key, self.basic, self.name)(gy)
            if self.winners is not None:
                g_sel = g_sel * self.constant(self.winners.astype(gy._data.dtype))
            gv = sum_to(g_sel, self.v_shape)
            if numpy.dtype(gv.dtype) != self.v_dtype:
                gv = Cast(self.v_dtype)(gv)
        return gx, gv


@on_data_device
def getitem(data: NDArray, key: Index, *, out: Optional[NDArray] = None) -> NDArray:
    """``data[key]`` with NumPy's rules (``NDArray.__getitem__``); differentiable.

    Basic keys (ints, slices with any step, None, Ellipsis) give a view sharing
    memory with ``data``; keys with integer arrays (NDArray of any dtype, list,
    NumPy array) or boolean masks give a copy, and their gradient adds up over
    repeated indices.
    """
    raw_key, basic = parse_key(data, key)
    result = GetItem(raw_key, basic, "getitem", key)(data)
    if result.ndim == 0 and data.ndim > 0:
        result = Reshape((1,))(result)        # MXNet 1.x has no 0-d arrays: x[i] of a vector is (1,)
    return write_out(result, out, 'getitem')


def _selection_shape(data: NDArray, raw_key: tuple, key) -> Tuple[int, ...]:
    try:
        return tuple(data._data[raw_key].shape)
    except IndexError as err:
        raise _index_error("setitem", key, data.shape, err) from None


def _check_scalar_fits(value, data: NDArray, key) -> None:
    """Refuse a scalar that an integer array cannot hold (NaN, inf, out of range), the
    same on every device (NumPy raises without naming anything, CuPy would wrap)."""
    dtype = numpy.dtype(data.dtype)
    if dtype.kind not in "iu" or isinstance(value, bool):
        return
    where = (f"operator setitem: cannot write {value!r} into the selection {_describe(key)} "
             f"of an array of shape {data.shape} {dtype}")
    if isinstance(value, complex):
        raise TypeError(f"{where}: a complex number does not fit an integer dtype")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: an integer array cannot hold {value}")
    info = numpy.iinfo(dtype)
    if not info.min <= int(value) <= info.max:
        raise OverflowError(f"{where}: expected a value in [{info.min}, {info.max}]")


@on_data_device
def setitem(data: NDArray, key: Index, value, *, out: Optional[NDArray] = None) -> None:
    """``data[key] = value`` (``NDArray.__setitem__``): an in-place write.

    ``value`` is a scalar, an NDArray (broadcast to the selection) or anything
    ``nd.array`` accepts. Outside ``record()`` the write goes straight into
    ``data``'s memory and bumps its version, so a recorded operator that saved
    ``data`` refuses to run backward. While recording, with ``data`` or
    ``value`` in the graph, the write is differentiable: the gradient reaches
    the elements of ``data`` that were not overwritten, and ``value``.
    """
    if not isinstance(data, NDArray):
        raise TypeError(f"operator setitem: data must be an NDArray, got {type(data).__name__}")
    raw_key, basic = parse_key(data, key, "setitem")
    target = _selection_shape(data, raw_key, key)
    if isinstance(value, NDArray):
        if value._ctx is not data._ctx:
            raise ValueError(f"operator setitem: the value is on {value._ctx}, the array "
                             f"(shape {data.shape}) on {data._ctx}; move it with as_in_context()")
        v_shape = value.shape
    elif isinstance(value, (numbers.Number, numpy.generic)) and numpy.ndim(value) == 0:
        value, v_shape = (value.item() if isinstance(value, numpy.generic) else value), ()
        _check_scalar_fits(value, data, key)
    elif value is None:
        raise TypeError(f"operator setitem: cannot assign None to the selection {_describe(key)} "
                        f"of an array of shape {data.shape} {numpy.dtype(data.dtype)}; "
                        f"expected a number, an NDArray or a nested list of numbers")
    else:
        from ..creation import array
        value = array(value, ctx=data._ctx, dtype=data.dtype)
        v_shape = value.shape
    fitted = tuple(v_shape)
    while len(fitted) > len(target) and fitted[0] == 1:
        fitted = fitted[1:]          # NumPy drops leading 1s of the value
    try:
        fits = numpy.broadcast_shapes(fitted, target) == target
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"operator setitem: cannot assign a value of shape {tuple(v_shape)} to "
                         f"the selection {_describe(key)} of shape {target} of an array of shape "
                         f"{data.shape}")
    if isinstance(value, NDArray) and fitted != value.shape:
        value = Reshape(fitted)(value)
    in_graph = data._node is not None or (isinstance(value, NDArray) and value._node is not None)
    if STATE.recording and in_graph:
        result = SetItem(raw_key, basic, key)(data, value)
        data._write(result, "setitem")
        return
    if STATE.recording:
        data._check_recorded_write("setitem")
    raw_value = value._data if isinstance(value, NDArray) else value
    data._data[raw_key] = raw_value
    data._version[0] += 1


# ------------------------------------------------------------- take, pick
# The index array is an INPUT of the gathering operator: its conversion to raw int64
# positions (and the clip/wrap of ``mode``) happens inside ``forward``, so a hybridized
# block captures the gather and replays it with each call's indices.
def _index_input(indices, data: NDArray, where: str) -> NDArray:
    """Indices (NDArray, list, NumPy array, int) as an NDArray on data's context.

    Only metadata of an NDArray index is read here (its context and dtype); its values
    are converted by the operator's forward."""
    if isinstance(indices, NDArray):
        if indices._ctx is not data._ctx:
            raise ValueError(f"operator {where}: the index array is on {indices._ctx}, the data "
                             f"(shape {data.shape}) on {data._ctx}; move it with as_in_context()")
        kind = numpy.dtype(indices.dtype).kind
        if kind not in "biuf":
            raise TypeError(f"operator {where}: index arrays must hold integers or booleans, "
                            f"got dtype {numpy.dtype(indices.dtype)}")
        return indices
    if isinstance(indices, numbers.Integral) and not isinstance(indices, bool):
        raw = data._ctx.xp.asarray(numpy.int64(indices))
    else:
        raw = _index_array(indices, data, where)
    return NDArray(raw, data._ctx)


def _positions(xp, index):
    """A raw index array (any integer, float or bool dtype) as int64 positions; float
    indices are truncated toward zero (a copy: later writes to the index do not matter)."""
    return index.astype(numpy.int64)


def _fix_mode(idx, size: int, mode: str, where: str, xp):
    """Bring out-of-range indices into [0, size) as ``mode`` says."""
    if mode == "clip":
        if xp is numpy and _numpy_clip is not None:
            return _numpy_clip(idx, 0, size - 1)  # numpy.clip's ufunc, without its wrappers
        return xp.minimum(xp.maximum(idx, 0), size - 1)
    if mode == "wrap":
        return xp.mod(idx, size)
    if mode == "raise":
        bad = (idx < -size) | (idx >= size)
        if bool(bad.any()):
            raise IndexError(f"operator {where}: an index is out of range for an axis of size "
                             f"{size} (mode='raise')")
        return xp.mod(idx, size)
    raise ValueError(f"operator {where}: mode must be 'clip', 'wrap' or 'raise', got {mode!r}")


class _IndexedGather(Operator):
    """``data[key]`` where ``key`` is built in ``forward`` from the index input (input
    ``index_input``); the gradient of the data input scatters back, the index gets none.

    Subclasses set ``data_input``/``index_input`` and ``_key(xp, data, index)``;
    ``unique``: the key selects distinct positions (scattered by assignment)."""

    data_input = 0
    index_input = 1
    unique = False

    def forward(self, *raw):
        data, index = raw[self.data_input], raw[self.index_input]
        self.in_shape = data.shape
        self.key = self._key(self.xp, data, index)     # in range: clipped or wrapped
        return data[self.key]

    def backward(self, gy):
        grads = [None, None]
        if self.wants(self.data_input):
            grads[self.data_input] = ScatterAdd(self.key, False, self.in_shape, self.name,
                                                self.unique)(gy)
        return tuple(grads)


class Take(_IndexedGather):
    """take(a, indices): slices of ``a`` along ``axis`` at ``indices`` (clipped/wrapped)."""

    name = "take"

    def __init__(self, axis: int, mode: str) -> None:
        self.axis, self.mode = axis, mode

    def _key(self, xp, a, indices):
        idx = _fix_mode(_positions(xp, indices), a.shape[self.axis], self.mode, "take", xp)
        return (slice(None),) * self.axis + (idx,)


class Pick(_IndexedGather):
    """pick(data, index): one element along ``axis`` per position of the other axes."""

    name = "pick"
    unique = True          # one position per element of the other axes: distinct positions

    def __init__(self, axis: int, keepdims: bool, mode: str) -> None:
        self.axis, self.keepdims, self.mode = axis, keepdims, mode

    def _key(self, xp, data, index):
        return pick_key(xp, data.shape, self.axis, index, self.keepdims, self.mode)


def pick_key(xp, shape: Tuple[int, ...], axis: int, index, keepdims: bool, mode: str) -> tuple:
    """The advanced key of ``pick``: one position along ``axis`` (from the raw ``index``,
    of ``shape`` without ``axis`` or with 1 there) per position of the other axes."""
    reduced = shape[:axis] + shape[axis + 1:]
    idx = _positions(xp, index)
    if idx.shape != reduced:
        idx = idx.reshape(reduced)             # the size-1 axis of a kept index
    idx = _fix_mode(idx, shape[axis], mode, "pick", xp)
    if keepdims:
        idx = idx.reshape(shape[:axis] + (1,) + shape[axis + 1:])
    if axis == 1 and len(shape) == 2 and not keepdims:
        return (_arange(xp, shape[0]), idx)    # rows of a matrix: the common case
    return _grid(xp, shape, axis, idx, keepdims)


@on_data_device
def take(a: NDArray, indices, axis: int = 0, mode: str = "clip",
         *, out: Optional[NDArray] = None) -> NDArray:
    """Pick slices of ``a`` along ``axis`` at ``indices``.

    Output shape: a.shape[:axis] + indices.shape + a.shape[axis+1:]. Indices
    may be float (MXNet style); out-of-range ones are clipped (``mode='clip'``)
    or wrapped around (``'wrap'``). Differentiable in ``a``.
    """
    if not isinstance(a, NDArray):
        raise TypeError(f"operator take: a must be an NDArray, got {type(a).__name__}")
    if a.ndim == 0:
        raise ValueError("operator take: a must have at least one dimension, got shape ()")
    if mode not in ("clip", "wrap", "raise"):
        raise ValueError(f"operator take: mode must be 'clip', 'wrap' or 'raise', got {mode!r}")
    axis = axis_index(axis, a.ndim, "take")
    idx = _index_input(indices, a, "take")
    if a.shape[axis] == 0 and idx.size:
        raise IndexError(f"operator take: cannot take from an empty axis {axis} of shape {a.shape}")
    return write_out(Take(axis, mode)(a, idx), out, 'take')


@on_data_device
def batch_take(a: NDArray, indices, *, out: Optional[NDArray] = None) -> NDArray:
    """a[i, indices[i]] for each row i of a 2-D ``a``; out-of-range indices are clipped."""
    return write_out(pick(a, indices, axis=1), out, 'batch_take')


def _grid(xp, shape: Tuple[int, ...], axis: int, idx, keepdims: bool = True) -> tuple:
    """An advanced key picking ``idx`` along ``axis`` at every position of the other axes.

    ``shape`` is the data's shape; ``idx`` has the output's shape: ``shape``
    with ``idx``'s own size at ``axis`` (kept) or without that axis.
    """
    out_ndim = len(shape) if keepdims else len(shape) - 1
    key = []
    for i, d in enumerate(shape):
        if i == axis:
            key.append(idx)
            continue
        positions = _arange(xp, d)
        if out_ndim > 1:
            view = [1] * out_ndim
            view[i if keepdims or i < axis else i - 1] = d
            positions = positions.reshape(view)
        key.append(positions)
    return tuple(key)


_RANGES: dict = {}          # d -> read-only NumPy int64 arange(d), reused as index arrays


def _arange(xp, d: int):
    """``xp.arange(d)`` as int64; on NumPy one shared read-only array per length
    (index keys only read it)."""
    if xp is not numpy:
        return xp.arange(d, dtype=numpy.int64)
    positions = _RANGES.get(d)
    if positions is None:
        positions = numpy.arange(d, dtype=numpy.int64)
        positions.flags.writeable = False
        if len(_RANGES) < 256:
            _RANGES[d] = positions
    return positions


@on_data_device
def pick(data: NDArray, index, axis: int = -1, keepdims: bool = False,
         mode: str = "clip", *, out: Optional[NDArray] = None) -> NDArray:
    """data[..., index[...], ...] along ``axis``: one element per position of the other axes.

    data: (d0, .., d_axis, .., dn); index: data's shape without ``axis`` (or
    with size 1 there) -> output of index's shape (size 1 kept at ``axis``
    when ``keepdims``). Differentiable in ``data``.
    """
    if not isinstance(data, NDArray):
        raise TypeError(f"operator pick: data must be an NDArray, got {type(data).__name__}")
    shape = data.shape
    if not shape:
        raise ValueError("operator pick: data must have at least one dimension, got shape ()")
    if mode not in ("clip", "wrap", "raise"):
        raise ValueError(f"operator pick: mode must be 'clip', 'wrap' or 'raise', got {mode!r}")
    axis = axis_index(axis, len(shape), "pick")
    idx = _index_input(index, data, "pick")
    reduced = shape[:axis] + shape[axis + 1:]
    kept = shape[:axis] + (1,) + shape[axis + 1:]
    if idx.shape not in (reduced, kept):
        raise ValueError(f"operator pick: index of shape {idx.shape} does not match data of "
                         f"shape {shape} along axis {axis}: expected {reduced} or {kept}")
    result = Pick(axis, bool(keepdims), mode)(data, idx)
    return result if out is None else write_out(result, out, 'pick')


# ----------------------------------------------------------------- one_hot
class OneHot(Operator):
    """(..) integer indices -> (.., depth), ``on_value`` at the index, ``off_value`` elsewhere."""

    name = "one_hot"
    zero_grad = True

    def __init__(self, depth: int, on_value: float, off_value: float, dtype) -> None:
        self.depth, self.on, self.off, self.dtype = depth, on_value, off_value, dtype

    def forward(self, indices):
        xp = self.xp
        idx = indices.astype(numpy.int64)[..., None]
        hit = idx == xp.arange(self.depth, dtype=numpy.int64)
        return xp.where(hit, self.on, self.off).astype(self.dtype)


@on_data_device
def one_hot(indices: NDArray, depth: int, on_value: float = 1.0, off_value: float = 0.0,
            dtype: DTypeLike = "float32", *, out: Optional[NDArray] = None) -> NDArray:
    """One-hot rows: indices (..) -> (.., depth).

    Out-of-range indices give rows of ``off_value`` only. Not differentiable.
    """
    if not isinstance(indices, NDArray):
        raise TypeError(f"operator one_hot: indices must be an NDArray, got "
                        f"{type(indices).__name__}")
    if not isinstance(depth, numbers.Integral) or depth < 0:
        raise ValueError(f"operator one_hot: depth must be a non-negative int, got {depth!r}")
    result = OneHot(int(depth), on_value, off_value, numpy.dtype(dtype))(indices)
    return write_out(result, out, 'one_hot')


# ------------------------------------------------------------------ ordering
def _ordering(data: NDArray, axis: Optional[int], where: str):
    """``data`` (flattened when axis is None) and the normalised axis."""
    if not isinstance(data, NDArray):
        raise TypeError(f"operator {where}: data must be an NDArray, got {type(data).__name__}")
    if axis is None:
        data = Reshape((-1,))(data)
        return data, 0
    if data.ndim == 0:
        raise ValueError(f"operator {where}: data must have at least one dimension, got shape ()")
    return data, axis_index(axis, data.ndim, where)


def _order(xp, raw, axis: int, is_ascend: bool):
    """Raw int64 indices that sort ``raw`` along ``axis`` (ascending or descending).

    NaN counts as the largest value (as PyTorch): last ascending, first descending.
    """
    kind = numpy.dtype(raw.dtype).kind
    if is_ascend:
        return xp.argsort(raw, axis=axis)
    if kind in "iub":
        # ~x = -x - 1 reverses the order of every integer dtype without overflow (-x of
        # int32's minimum is itself), and is logical not for booleans
        return xp.argsort(~raw, axis=axis)
    order = xp.argsort(-raw, axis=axis)         # -NaN is NaN: sorted last
    is_nan = xp.isnan(raw)
    if bool(is_nan.any()):
        # move the NaNs first, keeping the order of the rest: a stable sort on "is a number"
        is_number = xp.take_along_axis(~is_nan, order, axis=axis)
        order = xp.take_along_axis(order, xp.argsort(is_number, axis=axis, kind="stable"),
                                   axis=axis)
    return order


class Ordered(Operator):
    """topk / sort / argsort along ``axis``: the order is computed in ``forward``.

    ``ret_typ``: 'value' (the k first values in order; a gather, whose gradient
    scatters back), 'indices' (their positions as ``dtype``), 'both' (values,
    indices) or 'mask' (data's shape, 1 at the chosen elements, reshaped to
    ``out_shape``). Indices and masks carry no gradient.
    """

    def __init__(self, name: str, axis: int, k: int, ret_typ: str, is_ascend: bool,
                 dtype, out_shape: Optional[Tuple[int, ...]] = None) -> None:
        self.name, self.axis, self.k, self.ret_typ = name, axis, k, ret_typ
        self.is_ascend, self.dtype, self.out_shape = is_ascend, dtype, out_shape

    def forward(self, x):
        xp, axis = self.xp, self.axis
        idx = _order(xp, x, axis, self.is_ascend)
        if self.k < x.shape[axis]:
            idx = idx[(slice(None),) * axis + (slice(0, self.k),)]
        if self.ret_typ == "indices":
            return idx.astype(self.dtype)
        key = _grid(xp, tuple(idx.shape), axis, idx)
        if self.ret_typ == "mask":
            mask = xp.zeros(x.shape, dtype=x.dtype)
            mask[key] = 1
            return mask.reshape(self.out_shape)
        self.in_shape = x.shape
        self.key = key
        values = x[key]
        if self.ret_typ == "value":
            return values
        return values, idx.astype(self.dtype)

    def backward(self, gy, *unused):
        if self.ret_typ in ("indices", "mask") or not self.wants(0):
            return (None,)
        # the k first positions of an order are distinct: scattered by assignment
        return (ScatterAdd(self.key, False, self.in_shape, self.name, True)(gy),)


@on_data_device
def topk(data: NDArray, axis: Optional[int] = -1, k: int = 1, ret_typ: str = "indices",
         is_ascend: bool = False, dtype: DTypeLike = "float32", *, out: Optional[NDArray] = None):
    """The k largest (smallest if ``is_ascend``) elements along ``axis``, sorted.

    ``ret_typ``: 'indices' (default; ``dtype`` float32), 'value', 'both'
    ([values, indices]) or 'mask' (data's shape, 1 at the chosen elements).
    ``axis=None`` works on the flattened array; ``k < 1`` sorts the whole axis.
    Values are differentiable; indices and masks are not.
    """
    if ret_typ not in ("indices", "value", "both", "mask"):
        raise ValueError(f"operator topk: ret_typ must be 'indices', 'value', 'both' or 'mask', "
                         f"got {ret_typ!r}")
    if isinstance(k, bool) or not isinstance(k, (int, numpy.integer)):
        raise TypeError(f"operator topk: k must be an integer, got {k!r}")
    in_shape = data.shape if isinstance(data, NDArray) else None
    data, axis = _ordering(data, axis, "topk")
    size = data.shape[axis]
    if k < 1:
        k = size
    if k > size:
        raise ValueError(f"operator topk: k={k} is larger than the size {size} of axis {axis} "
                         f"of data of shape {data.shape}")
    result = Ordered("topk", axis, int(k), ret_typ, is_ascend, numpy.dtype(dtype), in_shape)(data)
    return write_out(list(result) if ret_typ == "both" else result, out, 'topk')


@on_data_device
def sort(data: NDArray, axis: Optional[int] = -1, is_ascend: bool = True,
         *, out: Optional[NDArray] = None) -> NDArray:
    """``data`` sorted along ``axis`` (flattened when None); differentiable (a gather)."""
    data, axis = _ordering(data, axis, "sort")
    result = Ordered("sort", axis, data.shape[axis], "value", is_ascend, None)(data)
    return write_out(result, out, 'sort')


@on_data_device
def argsort(data: NDArray, axis: Optional[int] = -1, is_ascend: bool = True,
            dtype: DTypeLike = "float32", *, out: Optional[NDArray] = None) -> NDArray:
    """Indices that sort ``data`` along ``axis``, as ``dtype`` (float32 as in MXNet)."""
    data, axis = _ordering(data, axis, "argsort")
    result = Ordered("argsort", axis, data.shape[axis], "indices", is_ascend,
                     numpy.dtype(dtype))(data)
    return write_out(result, out, 'argsort')
