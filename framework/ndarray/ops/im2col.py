"""im2col and col2im: the window copies that turn a convolution into one GEMM.

Raw arrays only (NumPy or CuPy, through ``xp``); no graph, no gradients. The
operators in ``conv.py`` build on these.

``Window`` is the geometry of a convolution over ``nd`` spatial axes (kernel,
stride, dilation, padding). For data (N, C, *S), channel axis first:

- ``im2col`` copies every window into the matrix ``cols`` of shape
  (C, *K, N, *O) (read as (C*prod(K), N*prod(O))): one strided view of the
  zero-padded data (``as_strided``), copied once;
- ``col2im`` is its adjoint: it adds each column back to the window it came
  from, one strided slice-add per kernel offset (prod(K) steps, each over the
  whole batch and every channel), clipped at the borders so that no padded
  copy is needed.

When the output rows are short (``short_rows``: LeNet's 8-wide maps) both work
batch-last, (C, *K, *O, N): every strided run then covers a row of the whole
batch instead of one image's short row. ``per_image`` gives one matrix per image,
(N, C, *K, *O), for convolutions whose products are run image by image.

Large temporaries come from ``WORKSPACE``, reused host buffers.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import threading
from typing import Tuple

import numpy

from ... import _host_blas

__all__ = []        # helpers for conv.py; nothing for ``framework.nd``

Shape = Tuple[int, ...]


class Workspace:
    """Reusable host buffers for im2col matrices and other large temporaries.

    A fresh NumPy allocation of hundreds of MB is mapped anew by the OS on every
    call, and its page faults cost as much as filling it; buffers given back after
    their last use are handed out again to the next request of the same size and
    dtype (MXNet's convolution workspace plays this part). Only for NumPy (CuPy
    has its own memory pool) and only for buffers of at least ``min_bytes``; at
    most ``limit`` bytes are kept, the oldest dropped first.
    """

    min_bytes = 1 << 20
    limit = 1 << 30

    def __init__(self) -> None:
        self._free = []                 # flat arrays, oldest first
        self._lock = threading.Lock()

    def take(self, xp, shape, dtype):
        """An uninitialised contiguous array of ``shape`` (reused when one is free)."""
        dtype = numpy.dtype(dtype)
        size = math.prod(shape)
        if xp is not numpy or size * dtype.itemsize < self.min_bytes:
            return xp.empty(shape, dtype=dtype)
        with self._lock:
            for i, buf in enumerate(self._free):
                if buf.size == size and buf.dtype == dtype:
                    del self._free[i]
                    return buf.reshape(shape)
        return numpy.empty(shape, dtype=dtype)

    def give(self, xp, array) -> None:
        """Hand back ``array`` (from ``take``; nothing else may still use it)."""
        if xp is not numpy or array.nbytes < self.min_bytes:
            return
        with self._lock:
            self._free.append(array.reshape(-1))
            total = sum(b.nbytes for b in self._free)
            while total > self.limit:
                total -= self._free.pop(0).nbytes

    def clear(self) -> None:
        """Drop every kept buffer."""
        with self._lock:
            self._free.clear()


WORKSPACE = Workspace()


@dataclasses.dataclass(frozen=True)
class Window:
    """Kernel size, stride, dilation and padding of a convolution, one entry per spatial axis."""

    kernel: Shape
    stride: Shape
    dilate: Shape
    pad: Shape

    @property
    def nd(self) -> int:
        return len(self.kernel)

    def dilated_kernel(self) -> Shape:
        """Extent of the dilated kernel: d*(k-1)+1 per axis."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilate))

    def out_sizes(self, in_sizes: Shape) -> Shape:
        """Convolution output size per axis: floor((S + 2p - (d*(k-1)+1)) / s) + 1."""
        return tuple((s + 2 * p - dk) // st + 1 for s, p, dk, st in
                     zip(in_sizes, self.pad, self.dilated_kernel(), self.stride))


def short_rows(out_sizes: Shape) -> bool:
    """Whether a convolution with these output sizes runs batch-last: NumPy's cost per
    strided run of a row outweighs the transposes when rows are shorter than 16
    (LeNet's 8-wide rows: 1.7x faster im2col and col2im)."""
    return out_sizes[-1] < 16


def padded(xp, x, pad: Shape, batch_last: bool = False):
    """(N, C, *S) -> (N, C, *(S + 2p)) with zeros around, in a workspace buffer;
    ``x`` itself when ``pad`` is all 0. With ``batch_last`` the copy is
    (C, *(S + 2p), N), made even without padding."""
    if not any(pad) and not batch_last:
        return x
    n, c, sizes = x.shape[0], x.shape[1], x.shape[2:]
    inner_sizes = tuple(s + 2 * p for s, p in zip(sizes, pad))
    if batch_last:
        out = WORKSPACE.take(xp, (c,) + inner_sizes + (n,), x.dtype)
        if not any(pad) and x.flags.c_contiguous and \
                _host_blas.transpose_into(x.reshape(n, -1), out.reshape(-1, n)):
            return out                                      # (N, C*S) -> (C*S, N), blocked
        lead, tail, source = [slice(None)], [slice(None)], x.transpose(
            (1,) + tuple(range(2, x.ndim)) + (0,))
    else:
        out = WORKSPACE.take(xp, (n, c) + inner_sizes, x.dtype)
        lead, tail, source = [slice(None), slice(None)], [], x
    inner = list(lead)
    for axis, (s, p) in enumerate(zip(sizes, pad)):     # zero the borders, axis by axis
        if p:
            out[tuple(inner) + (slice(0, p),)] = 0
            out[tuple(inner) + (slice(p + s, None),)] = 0
        inner.append(slice(p, p + s))
    out[tuple(inner + tail)] = source
    return out


def im2col(xp, x, window: Window, out_sizes: Shape, batch_last: bool = False,
           per_image: bool = False, ones_row: bool = False):
    """Data (N, C, *S) (any strides) -> contiguous ``cols`` (C, *K, N, *O), with
    ``batch_last`` (C, *K, *O, N), with ``per_image`` (N, C, *K, *O) (one matrix
    per image), in a workspace buffer (give it back after its last use).

    ``cols[c, k..., n, o...] = x_padded[n, c, o*stride + k*dilate]``.

    ``ones_row``: the windows are followed by a row of ones, so that a product with
    the weight matrix extended by the bias column adds the bias (and, per image, the
    weight gradient's product with an output gradient sums that gradient, the bias
    gradient, in its last column). The buffer is then (N, C*prod(K) + 1, prod(O))
    with ``per_image``, else (C*prod(K) + 1, N*prod(O)) (the columns in the order of
    the layout above).
    """
    xpad = padded(xp, x, window.pad, batch_last)
    n, c = x.shape[:2]
    if batch_last:                                   # xpad: (C, *Sp, N)
        s_c, s_n, spatial = xpad.strides[0], xpad.strides[-1], xpad.strides[1:-1]
    else:                                            # xpad: (N, C, *Sp)
        s_n, s_c, spatial = xpad.strides[0], xpad.strides[1], xpad.strides[2:]
    kernel_strides = tuple(s * d for s, d in zip(spatial, window.dilate))
    out_strides = tuple(s * st for s, st in zip(spatial, window.stride))
    if batch_last:
        shape = (c,) + window.kernel + tuple(out_sizes) + (n,)
        strides = (s_c,) + kernel_strides + out_strides + (s_n,)
    elif per_image:
        shape = (n, c) + window.kernel + tuple(out_sizes)
        strides = (s_n, s_c) + kernel_strides + out_strides
    else:
        shape = (c,) + window.kernel + (n,) + tuple(out_sizes)
        strides = (s_c,) + kernel_strides + (s_n,) + out_strides
    view = xp.lib.stride_tricks.as_strided(xpad, shape=shape, strides=strides)
    if ones_row:
        depth, pixels = c * math.prod(window.kernel), math.prod(out_sizes)
        if per_image:
            cols = WORKSPACE.take(xp, (n, depth + 1, pixels), x.dtype)
            windows, ones = cols[:, :depth], cols[:, depth]
        else:
            cols = WORKSPACE.take(xp, (depth + 1, n * pixels), x.dtype)
            windows, ones = cols[:depth], cols[depth]
        windows.reshape(shape)[...] = view          # a view: splitting axes copies nothing
        ones.fill(1)
    else:
        cols = WORKSPACE.take(xp, shape, x.dtype)
        cols[...] = view
    if xpad is not x:
        WORKSPACE.give(xp, xpad)
    return cols


def _clipped(offset: int, stride: int, size: int, n_out: int):
    """For one axis and one kernel offset (already minus the padding): the slice of
    output positions whose input index ``offset + stride*j`` lies in [0, size), and
    the matching slice of inputs; None when there is none."""
    lo = 0 if offset >= 0 else (stride - 1 - offset) // stride      # ceil(-offset / stride)
    last = size - 1 - offset
    hi = min(n_out - 1, last // stride) if last >= 0 else -1
    if lo > hi:
        return None
    return slice(lo, hi + 1), slice(offset + stride * lo, offset + stride * hi + 1, stride)


def col2im(xp, cols, window: Window, in_sizes: Shape, out, batch_last: bool = False):
    """Add ``cols`` (C, *K, N, *O) back into the windows they were taken from.

    ``out`` is a zeroed array viewed as (N, C, *S) (any strides: a channel-last
    buffer seen through a transposed view works); it is returned. With
    ``batch_last``, ``cols`` is (C, *K, *O, N) and ``out`` is (C, *S, N): each
    slice-add then moves whole (row, batch) blocks, much faster for short rows.
    """
    nd = window.nd
    out_sizes = cols.shape[1 + nd:1 + 2 * nd] if batch_last else cols.shape[2 + nd:]
    target = out if batch_last else out.swapaxes(0, 1)           # (C, *S, N) or (C, N, *S)
    batch = [] if batch_last else [slice(None)]
    tail = [slice(None)] if batch_last else []
    for offsets in itertools.product(*(range(k) for k in window.kernel)):
        col_index, in_index = [slice(None), *offsets, *batch], [slice(None), *batch]
        for k, d, st, p, size, n_out in zip(offsets, window.dilate, window.stride, window.pad,
                                            in_sizes, out_sizes):
            clipped = _clipped(k * d - p, st, size, n_out)
            if clipped is None:
                break
            col_index.append(clipped[0])
            in_index.append(clipped[1])
        else:
            target[tuple(in_index + tail)] += cols[tuple(col_index + tail)]
    return out
