"""``Pooling``: max, average, sum (and Lp) pooling over 1, 2 or 3 spatial axes.

One graph node per call. The windows are read through strided views of the
(padded) input, never by Python loops over pixels, channels or batch items:

- small kernels (and every kernel whose windows overlap) loop over the kernel
  offsets: offset (i, j) of every window at once is the strided slice
  ``x[..., i::sh, j::sw]`` (kh*kw elementwise steps on output-sized arrays); on
  NumPy in parts along an axis that is not pooled (the batch first), spread over
  the framework's threads (``parallel.py``), each part cache-sized;
- large non-overlapping kernels (global pooling) reduce a windows view
  (``as_strided``: output positions, then the kernel axes) in one reduction.

The gradients are operators of their own, linear in the output gradient, whose
backward is again a pooling-like operator, so every order differentiates:

- max: ``_MaxUnpool`` routes the output gradient to the argmax of each window
  (saved as offset indices; ties go to the first, as PyTorch); its backward
  ``_MaxGather`` picks the values at those positions, whose backward is ``_MaxUnpool``;
- avg / sum: ``_Unpool`` spreads the output gradient (divided by the window
  counts for avg) over each window; its backward is the pooling itself.

An input that is not C-contiguous but lies in memory as a transpose of its shape
that keeps the pooled axes in order (a batch-last convolution's output: (N, C, H,
W) stored as (C, H, W, N)) is pooled in that order: the plan (``_Windows``) is
made for the transposed shape, every run is contiguous, and the output and the
gradients come back as views in the same order; the values are the same bits
(windows views, i.e. global pooling, keep the input as it is).

Output size per spatial axis (MXNet): ``valid``: floor((x + 2p - k) / s) + 1;
``full``: ceil((x + 2p - k) / s) + 1. A 'full' window may reach past the padding;
the part past it is ignored (as MXNet and PyTorch's ceil_mode). A window lying
wholly in the padding (MXNet's rule keeps some that PyTorch's ceil_mode drops)
gives the dtype's lowest value for max, as MXNet, and 0 for avg and sum.
"""
from __future__ import annotations

import functools
import itertools
import math
from typing import Optional, Sequence, Tuple, Union

import numpy

from ..._flags import STATE
from ..ndarray import NDArray
from ..operator import Operator
from . import parallel
from .arith import power as _power
from .checks import check_array, int_tuple, write_out
from .layout import memory_order
from .unary import cbrt as _cbrt, sqrt as _sqrt

__all__ = ["Pooling"]

IntOrTuple = Union[int, Sequence[int]]

_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}
_POOL_TYPES = ("max", "avg", "sum", "lp")
# non-overlapping windows with more offsets than this are reduced through one windows view
_MAX_OFFSET_LOOP = 8
_MIN_PART_SIZE = 1 << 16           # input elements per part when split over threads


class _Windows:
    """The pooling windows over the spatial ``axes`` of data of one ``shape``.

    ``out_shape``: the pooled shape; ``pads``: (before, after) per axis of the padded
    array the windows read (``after`` may exceed ``pad`` in 'full' mode, or be
    smaller when no window reaches the end); ``keys``: one index per kernel offset,
    selecting that offset of every window.
    """

    perm = inverse = None          # set on a plan in its data's memory order (``in_frame``)

    def __init__(self, shape, axes, kernel, stride, pad, full: bool) -> None:
        self.full = full
        self.shape, self.axes = tuple(shape), tuple(axes)
        self.kernel, self.stride, self.pad = tuple(kernel), tuple(stride), tuple(pad)
        out = list(shape)
        pads = [(0, 0)] * len(shape)
        disjoint = tiles = True
        for a, k, s, p in zip(axes, kernel, stride, pad):
            span = shape[a] + 2 * p - k
            n = (-(-span // s) if full else span // s) + 1
            out[a] = n
            after = max(0, (n - 1) * s + k - p - shape[a])
            pads[a] = (p, after)
            disjoint = disjoint and (s >= k or n == 1)
            tiles = tiles and (s == k or n == 1) and n * k == p + shape[a] + after
        self.out_shape = tuple(out)
        self.pads = tuple(pads)
        self.padded_shape = tuple(d + b + e for d, (b, e) in zip(shape, pads))
        self.needs_pad = any(b or e for b, e in pads)
        self.interior = tuple(slice(b, b + d) for d, (b, _) in zip(shape, pads))
        self.disjoint = disjoint           # no input position is in two windows
        self.tiles = tiles                 # ... and every padded position is in one
        self.size = math.prod(kernel)
        self.windowed = disjoint and self.size > _MAX_OFFSET_LOOP
        self.index_dtype = (numpy.int8 if self.size <= 127 else
                            numpy.int16 if self.size <= 32767 else numpy.int32)
        self.keys = [self._key(offset) for offset in
                     itertools.product(*[range(k) for k in kernel])]
        # parts for the threads: slices of an axis that is not pooled (the batch first)
        free = [a for a in range(len(shape)) if a not in self.axes]
        axis = free[0] if shape[free[0]] >= 8 else max(free, key=lambda a: shape[a])
        n_parts = parallel.parts_for(shape[axis], math.prod(shape), _MIN_PART_SIZE)
        cuts = parallel.bounds(shape[axis], n_parts)
        self.part_keys = [(slice(None),) * axis + (slice(cuts[i], cuts[i + 1]),)
                          for i in range(n_parts)]

    def _key(self, offset):
        key = [slice(None)] * len(self.shape)
        for a, o, s in zip(self.axes, offset, self.stride):
            key[a] = slice(o, o + s * (self.out_shape[a] - 1) + 1, s)
        return tuple(key)

    # ------------------------------------------------------------ frames
    def in_frame(self, perm) -> "_Windows":
        """This plan for the data transposed by ``perm`` (the pooled axes keep their
        order): its ``framed``/``unframed`` move raw arrays between the two."""
        frames = self.__dict__.setdefault("_frames", {})     # plans are cached: so are these
        frame = frames.get(perm)
        if frame is None:
            frame = _Windows(tuple(self.shape[a] for a in perm),
                             tuple(perm.index(a) for a in self.axes),
                             self.kernel, self.stride, self.pad, self.full)
            frame.perm, frame.inverse = perm, tuple(perm.index(a) for a in range(len(perm)))
            frames[perm] = frame
        return frame

    def framed(self, a):
        """A data-layout array (input or output shaped) as a view in this plan's frame."""
        return a if self.perm is None else a.transpose(self.perm)

    def unframed(self, a):
        """The inverse of ``framed``: a view in the data's layout."""
        return a if self.perm is None else a.transpose(self.inverse)

    # ------------------------------------------------------------ helpers
    def padded(self, xp, a, fill):
        """``a`` inside a ``fill``-valued array of ``padded_shape`` (``a`` if no padding)."""
        if not self.needs_pad:
            return a
        buf = xp.full(self.padded_shape, fill, dtype=a.dtype)
        buf[self.interior] = a
        return buf

    def run(self, xp, work) -> None:
        """``work(key)`` for the key of every part (NumPy), or once for the whole array."""
        if parallel.is_host(xp) and len(self.part_keys) > 1:
            keys = self.part_keys
            parallel.run_parts(len(keys), lambda i: work(keys[i]))
        else:
            work(())

    def padded_part(self, buf, a, key, fill):
        """Fill the part ``key`` of ``buf`` (``padded_shape``) with ``a``'s part inside
        ``fill``; returns that part of ``buf`` (``a``'s part when there is no padding)."""
        if buf is None:
            return a[key]
        part = buf[key]
        part.fill(fill)
        part[self.interior] = a[key]
        return part

    def blank(self, xp, dtype):
        """A gradient buffer of ``padded_shape``; uninitialised when the writes cover it."""
        return (xp.empty if self.tiles else xp.zeros)(self.padded_shape, dtype=dtype)

    def cropped(self, buf):
        return buf[self.interior] if self.needs_pad else buf

    def view(self, xp, a):
        """The windows of the padded array ``a``: shape ``out_shape + kernel``."""
        strides = list(a.strides)
        for ax, s in zip(self.axes, self.stride):
            strides[ax] = a.strides[ax] * s
        strides += [a.strides[ax] for ax in self.axes]
        return xp.lib.stride_tricks.as_strided(a, self.out_shape + self.kernel, tuple(strides))

    def flat_windows(self, xp, a):
        """``view(a)`` as (``out_shape``, kernel size) (a copy unless contiguous)."""
        return self.view(xp, a).reshape(self.out_shape + (self.size,))

    @property
    def kernel_axes(self) -> Tuple[int, ...]:
        return tuple(range(len(self.shape), len(self.shape) + len(self.kernel)))

    def expand(self, g):
        """(``out_shape``) -> broadcastable against ``out_shape + kernel``."""
        return g.reshape(self.out_shape + (1,) * len(self.kernel))

    def divisor(self, xp, include_pad: bool, dtype):
        """Elements per window for 'avg': a number, or an array broadcasting against
        the output where the count varies (edges with padding or 'full' overhang)."""
        uniform = all((self.out_shape[a] - 1) * s - p + k <= self.shape[a] + p
                      and (include_pad or p == 0)
                      for a, k, s, p in zip(self.axes, self.kernel, self.stride, self.pad))
        if uniform:
            return float(self.size)
        total = None
        for a, k, s, p in zip(self.axes, self.kernel, self.stride, self.pad):
            size = self.shape[a]
            start = xp.arange(self.out_shape[a]) * s - p
            end = xp.minimum(start + k, size + p)
            if not include_pad:
                start, end = xp.maximum(start, 0), xp.minimum(end, size)
            count = xp.maximum(end - start, 1)   # a window wholly in the padding: count 1
            shape = [1] * len(self.shape)
            shape[a] = self.out_shape[a]
            count = count.reshape(shape)
            total = count if total is None else total * count
        return total.astype(dtype)


def _accumulator(dtype):
    """float16 windows are summed in float32 (as PyTorch)."""
    return numpy.float32 if dtype == numpy.float16 else dtype


# ------------------------------------------------------------------ max pooling
class _MaxPool(Operator):
    """y = the largest element of each window; remembers which (first on ties)."""

    name = "Pooling"

    def __init__(self, win: _Windows, keep_argmax: bool) -> None:
        self.win, self.keep_argmax = win, keep_argmax
        self.argmax = None

    def forward(self, x):
        xp, win = self.xp, self.win
        return win.unframed(self._pool(xp, win, win.framed(x)))

    def _pool(self, xp, win, x):
        if win.windowed:
            a = win.padded(xp, x, xp.finfo(x.dtype).min)    # MXNet's lowest value in the padding
            if not self.keep_argmax:
                return win.view(xp, a).max(axis=win.kernel_axes)
            flat = win.flat_windows(xp, a)
            self.argmax = flat.argmax(axis=-1)
            return xp.take_along_axis(flat, self.argmax[..., None], axis=-1)[..., 0]
        keys, index = win.keys, win.index_dtype
        best = xp.empty(win.out_shape, dtype=x.dtype)
        argmax = xp.empty(win.out_shape, dtype=index) if self.keep_argmax else None
        buf = xp.empty(win.padded_shape, dtype=x.dtype) if win.needs_pad else None
        lowest = xp.finfo(x.dtype).min                      # MXNet's lowest value in the padding

        def work(key):
            a, top = win.padded_part(buf, x, key, lowest), best[key]
            arg = None if argmax is None else argmax[key]
            if len(keys) == 1:
                top[...] = a[keys[0]]
                if arg is not None:
                    arg.fill(0)
                return
            first, second = a[keys[0]], a[keys[1]]
            if arg is not None:
                xp.greater(second, first, out=arg)
            xp.maximum(first, second, out=top)              # NaN propagates
            for k in range(2, len(keys)):
                candidate = a[keys[k]]
                if arg is not None:
                    # strictly larger wins (so ties go to the first); k exceeds every earlier
                    # index, so the maximum sets it exactly where the candidate wins
                    xp.maximum(arg, (candidate > top) * index(k), out=arg)
                xp.maximum(top, candidate, out=top)

        win.run(xp, work)
        self.argmax = argmax
        return best

    def backward(self, gy):
        if self.argmax is None:
            raise RuntimeError("operator Pooling: max pooling ran without keeping its argmax; "
                               "it was called while not recording")
        return (_MaxUnpool(self.win, self.argmax)(gy),)

    def release(self) -> None:
        super().release()
        self.argmax = None


class _MaxUnpool(Operator):
    """The gradient of max pooling: g (``out_shape``) routed to each window's argmax."""

    name = "_backward_Pooling"

    def __init__(self, win: _Windows, argmax) -> None:
        self.win, self.argmax = win, argmax

    def forward(self, g):
        xp, win, argmax = self.xp, self.win, self.argmax
        return win.unframed(self._unpool(xp, win, _contiguous(xp, win.framed(g)), argmax))

    @staticmethod
    def _unpool(xp, win, g, argmax):
        # g times a 0/1 mask: a select is several times slower on random masks in NumPy
        # (the price: an inf or NaN in g also reaches the other elements of its window)
        if win.windowed:
            buf = win.blank(xp, g.dtype)
            hit = argmax[..., None] == xp.arange(win.size, dtype=argmax.dtype)
            spread = xp.multiply(g[..., None], hit)
            win.view(xp, buf)[...] = spread.reshape(win.out_shape + win.kernel)
            return win.cropped(buf)
        buf = xp.empty(win.padded_shape, dtype=g.dtype)     # each part zeroes what it needs

        def work(part):
            out, gp, ap = buf[part], g[part], argmax[part]
            if not win.tiles:
                out.fill(0)
            for k, key in enumerate(win.keys):
                if win.disjoint:
                    xp.multiply(gp, ap == k, out=out[key])
                else:
                    out[key] += gp * (ap == k)

        win.run(xp, work)
        return win.cropped(buf)

    def backward(self, gg):
        return (_MaxGather(self.win, self.argmax)(gg),)


class _MaxGather(Operator):
    """The adjoint of ``_MaxUnpool``: each window's value at its saved argmax."""

    name = "_backward_backward_Pooling"

    def __init__(self, win: _Windows, argmax) -> None:
        self.win, self.argmax = win, argmax

    def forward(self, h):
        xp, win, argmax = self.xp, self.win, self.argmax
        a = win.padded(xp, win.framed(h), 0)
        if win.windowed:
            flat = win.flat_windows(xp, a)
            out = xp.take_along_axis(flat, argmax[..., None].astype(numpy.int64),
                                     axis=-1)[..., 0]
            return win.unframed(out)
        out = xp.zeros(win.out_shape, dtype=h.dtype)
        for k, key in enumerate(win.keys):
            out = xp.where(argmax == k, a[key], out)
        return win.unframed(out)

    def backward(self, gy):
        return (_MaxUnpool(self.win, self.argmax)(gy),)


# ------------------------------------------------------------ sum / avg pooling
class _SumPool(Operator):
    """y = the sum of each window, divided by its element count for 'avg'."""

    name = "Pooling"

    def __init__(self, win: _Windows, average: bool, include_pad: bool) -> None:
        self.win, self.average, self.include_pad = win, average, include_pad

    def counts(self, dtype):
        """The divisor (1 for sum), computed once per node."""
        if not self.average:
            return 1.0
        if not hasattr(self, "_counts"):
            self._counts = self.win.divisor(self.xp, self.include_pad, dtype)
        return self._counts

    def forward(self, x):
        return self.win.unframed(self._sum(self.xp, self.win, self.win.framed(x)))

    def _sum(self, xp, win, x):
        acc_dtype = _accumulator(x.dtype)
        divisor = self.counts(acc_dtype)
        if win.windowed:
            acc = win.view(xp, win.padded(xp, x, 0)).sum(axis=win.kernel_axes, dtype=acc_dtype)
            if self.average:
                acc /= divisor
            return acc.astype(x.dtype, copy=False)
        keys = win.keys
        acc = xp.empty(win.out_shape, dtype=acc_dtype)
        buf = xp.empty(win.padded_shape, dtype=x.dtype) if win.needs_pad else None

        def work(part):
            a, total = win.padded_part(buf, x, part, 0), acc[part]
            total[...] = a[keys[0]]
            for key in keys[1:]:
                total += a[key]
            if self.average:
                total /= divisor          # the divisor broadcasts along the part's axis

        win.run(xp, work)
        return acc.astype(x.dtype, copy=False)

    def backward(self, gy):
        unpool = _Unpool(self.win, self.average, self.include_pad)
        unpool._counts = self.counts(_accumulator(gy.dtype))
        return (unpool(gy),)


class _Unpool(_SumPool):
    """The gradient of sum/avg pooling: g (``out_shape``), divided by the window
    counts for 'avg', added onto every element of its window."""

    name = "_backward_Pooling"

    def forward(self, g):
        win = self.win
        return win.unframed(self._spread(self.xp, win, _contiguous(self.xp, win.framed(g))))

    def _spread(self, xp, win, g):
        if self.average:
            g = (g / self.counts(_accumulator(g.dtype))).astype(g.dtype, copy=False)
        if win.windowed:
            buf = win.blank(xp, g.dtype)
            win.view(xp, buf)[...] = win.expand(g)
            return win.cropped(buf)
        buf = xp.empty(win.padded_shape, dtype=g.dtype)     # each part zeroes what it needs

        def work(part):
            out, gp = buf[part], g[part]
            if not win.tiles:
                out.fill(0)
            for key in win.keys:
                if win.disjoint:
                    out[key] = gp
                else:
                    out[key] += gp

        win.run(xp, work)
        return win.cropped(buf)

    def backward(self, gg):
        pool = _SumPool(self.win, self.average, self.include_pad)
        pool._counts = self.counts(_accumulator(gg.dtype))
        return (pool(gg),)


# ------------------------------------------------------------------ the function
def _spatial_axes(layout: Optional[str], ndim: int, op: str) -> Tuple[int, ...]:
    n = ndim - 2
    if layout is None:
        return tuple(range(2, ndim))
    if layout not in _LAYOUTS.get(n, ()):
        allowed = _LAYOUTS.get(n)
        raise ValueError(f"operator {op}: layout {layout!r} does not fit data with {ndim} "
                         f"dimensions; expected one of {allowed}" if allowed else
                         f"operator {op}: layout {layout!r} is not supported")
    return tuple(range(2, ndim)) if layout[1] == "C" else tuple(range(1, ndim - 1))


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def _contiguous(xp, a):
    """``a`` as a C-contiguous array (a gradient framed from another layout is copied
    once, so that the parts read contiguous runs)."""
    return a if a.flags.c_contiguous else xp.ascontiguousarray(a)


def _memory_order(shape, strides, itemsize: int, axes) -> Optional[Tuple[int, ...]]:
    """``layout.memory_order`` when that transpose keeps the pooled ``axes`` in their
    order (a batch-last convolution's output, read as (N, C, H, W), is (C, H, W, N) in
    memory), else None."""
    perm = memory_order(shape, strides, itemsize)
    if perm is None:
        return None
    frame_axes = [perm.index(a) for a in axes]
    return perm if frame_axes == sorted(frame_axes) else None


@functools.lru_cache(maxsize=256)
def _windows(shape, kernel, stride, pad, global_pool: bool, convention: str,
             layout: Optional[str]) -> _Windows:
    """The checked window plan of one Pooling call (cached: layers repeat their calls)."""
    op = "Pooling"
    if convention not in ("valid", "full"):
        raise ValueError(f"operator {op}: pooling_convention must be 'valid' or 'full' "
                         f"('same' is not supported), got {convention!r}")
    kernel = int_tuple(kernel, op, "kernel")
    stride = int_tuple(stride, op, "stride")
    pad = int_tuple(pad, op, "pad")
    n = len(shape) - 2 if global_pool else len(kernel)     # global: the kernel is ignored
    if not global_pool and not kernel:
        raise ValueError(f"operator {op}: kernel must be given (e.g. kernel=(2, 2)) unless "
                         f"global_pool=True; data has shape {shape}")
    if n not in (1, 2, 3) or len(shape) != n + 2:
        raise ValueError(f"operator {op}: data of shape {shape} does not fit a {len(kernel)}-D "
                         f"kernel {kernel}; expected (N, C) and 1 to 3 spatial dimensions "
                         f"matching the kernel's length")
    axes = _spatial_axes(layout, len(shape), op)
    sizes = tuple(shape[a] for a in axes)
    if global_pool:
        kernel, stride, pad = sizes, (1,) * n, (0,) * n
    else:
        stride = stride or (1,) * n
        pad = pad or (0,) * n
        for what, values in (("stride", stride), ("pad", pad)):
            if len(values) != n:
                raise ValueError(f"operator {op}: {what} {values} must have {n} values, as "
                                 f"kernel {kernel}")
        if any(k < 1 for k in kernel) or any(s < 1 for s in stride) or any(p < 0 for p in pad):
            raise ValueError(f"operator {op}: kernel {kernel} and stride {stride} must be "
                             f"positive and pad {pad} non-negative")
        for k, d, p in zip(kernel, sizes, pad):
            if k > d + 2 * p:
                raise ValueError(f"operator {op}: kernel {kernel} exceeds the input's spatial "
                                 f"size {sizes} padded by {pad} (data shape {shape})")
    return _Windows(shape, axes, kernel, stride, pad, convention == "full")


def Pooling(data: NDArray, kernel: IntOrTuple = (), pool_type: str = "max",
            global_pool: bool = False, cudnn_off: bool = False,
            pooling_convention: str = "valid", stride: IntOrTuple = (), pad: IntOrTuple = (),
            p_value: Optional[int] = None, count_include_pad: Optional[bool] = None,
            layout: Optional[str] = None, out: Optional[NDArray] = None,
            name: Optional[str] = None) -> NDArray:
    """Pool ``data`` over its 1, 2 or 3 spatial axes (MXNet's ``Pooling``).

    data: (N, C, W), (N, C, H, W) or (N, C, D, H, W) (channels last with ``layout``
    'NWC', 'NHWC', 'NDHWC'). ``kernel`` (its length gives the spatial dimensions),
    ``stride`` (default 1) and ``pad`` (default 0, implicit: -inf-like for max, 0 for
    the others). ``pool_type``: 'max', 'avg', 'sum' or 'lp' (``p_value`` 1, 2 or 3:
    (sum x^p)^(1/p), built from power and sum pooling). ``count_include_pad``
    (avg; default True): divide by the window size counting the padding.
    ``global_pool``: one window over each whole spatial extent (kernel, stride and
    pad ignored). ``pooling_convention``: 'valid' (floor) or 'full' (ceil) output
    sizes. ``cudnn_off`` and ``name`` are accepted for MXNet scripts and have no effect.
    Returns (N, C, out...) (channels last: (N, out..., C)).
    """
    op = "Pooling"
    check_array(data, op)
    if pool_type not in _POOL_TYPES:
        raise ValueError(f"operator {op}: pool_type must be one of {_POOL_TYPES}, "
                         f"got {pool_type!r}")
    dtype = data._data.dtype
    if dtype.kind != "f":
        raise TypeError(f"operator {op}: expected floating-point data, got dtype {dtype.name} "
                        f"(shape {data.shape})")
    key = (data.shape, _hashable(kernel), _hashable(stride), _hashable(pad),
           bool(global_pool), pooling_convention, layout)
    try:
        win = _windows(*key)
    except TypeError as err:
        if "unhashable" not in str(err):
            raise
        win = _windows.__wrapped__(*key)
    if pool_type == "lp":
        if p_value not in (1, 2, 3):
            raise ValueError(f"operator {op}: pool_type='lp' needs p_value 1, 2 or 3, "
                             f"got {p_value!r}")
        summed = Pooling(data if p_value == 1 else _power(data, p_value), kernel, "sum",
                         global_pool, cudnn_off, pooling_convention, stride, pad,
                         layout=layout)
        result = summed if p_value == 1 else _sqrt(summed) if p_value == 2 else _cbrt(summed)
        return write_out(result, out, op)
    perm = _memory_order(data._data.shape, data._data.strides, data._data.itemsize, win.axes)
    if perm is not None and not win.windowed:   # pool in the data's memory order
        win = win.in_frame(perm)                # (a windows view's sum keeps its order)
    if pool_type == "max":
        keep = STATE.recording and data._node is not None
        result = _MaxPool(win, keep)(data)
    else:
        include = True if count_include_pad is None else bool(count_include_pad)
        result = _SumPool(win, pool_type == "avg", include)(data)
    return write_out(result, out, op)
