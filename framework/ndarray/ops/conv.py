"""``Convolution`` and ``Deconvolution`` over 1, 2 or 3 spatial axes (MXNet's operators).

One graph node per call, computed one of two ways:

- on NumPy (one group, float32/float64, OpenBLAS; ``HostConv``): in batch parts
  spread over the framework's threads (``parallel.py``), each part doing its
  images' im2col and products, the products cut into pieces that OpenBLAS runs
  single-threaded (its own threads would spin on the cores the parts need). The
  parts run every step on all cores, not only the products, as PyTorch's do;
- otherwise (CuPy, groups, float16): im2col (``im2col.py``: one strided copy of
  the windows) feeding ONE matrix product, or one batched product over the
  groups; the bias is added while the product is copied to the output layout.

The gradients are three operators that are each other's gradients (Chainer's
Convolution2DFunction / Deconvolution2DFunction / Convolution2DGradW), so every
order of derivative differentiates again:

    y = conv(x, W)          dx = deconv(dy, W)       dW = grad_w(x, dy)
    y = deconv(x, W)        dx = conv(dy, W)         dW = grad_w(dy, x)
    gW = grad_w(x, dy)      dx = deconv(dy, dgW)     d(dy) = conv(x, dgW)

``deconv`` (the data gradient of ``conv``) is one product and col2im, a
slice-add per kernel offset (on the host: a small product per kernel offset,
added onto its window), or, for stride 1 when it moves less memory, the
convolution with the flipped kernel; ``grad_w`` is im2col and one product (on
the host: per part, summed in cache-sized blocks). The bias gradient is a sum
over the batch and spatial axes.

Large temporaries (im2col matrices, product outputs) come from a workspace of
reused host buffers (``im2col.WORKSPACE``); results are always new arrays. For
short output rows the matrices' columns run batch-last (see ``im2col.py``).

Shapes, channel-first layouts (NCW, NCHW, NCDHW): data (N, C, *S), weight
(F, C/g, *K), output (N, F, *O) with O = floor((S + 2p - (d*(k-1)+1)) / s) + 1.
Channel-last layouts (NWC, NHWC, NDHWC) put C last in data and output, and
use MXNet's weight (F, *K, C/g).

While recording with a weight that needs its gradient, ``Convolution`` keeps
the im2col matrix of its forward for the weight gradient (saving a second
im2col; it costs prod(K) times the data's memory until backward).
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
from .checks import check_array, int_tuple, is_int, write_out
from . import parallel
from .im2col import (WORKSPACE, Window, channel_last_padded, col2im, im2col,
                     im2col_channels, im2col_rows, short_rows)
from .reduce import Sum

__all__ = ["Convolution", "Deconvolution"]

IntOrTuple = Union[int, Sequence[int]]
Shape = Tuple[int, ...]

_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}


# ---------------------------------------------------------------- geometry
class ConvGeometry:
    """A convolution's window, groups and layout: how its raw arrays read as matrices.

    ``G`` groups; the data has ``C = G*Cg`` channels and the output ``F = G*Fg``.
    """

    def __init__(self, window: Window, groups: int, channel_last: bool) -> None:
        self.window, self.groups, self.channel_last = window, groups, channel_last
        nd = window.nd
        # channel-last (N, *S, C) -> channel-first (N, C, *S), and back
        self.to_first = (0, nd + 1) + tuple(range(1, nd + 1))
        self.to_last = (0,) + tuple(range(2, nd + 2)) + (1,)
        self.bias_axes = tuple(range(nd + 1)) if channel_last else (0,) + tuple(range(2, nd + 2))

    # data and output arrays ---------------------------------------------
    def channel_first(self, a):
        """(N, C, *S) view of a data-layout array."""
        return a.transpose(self.to_first) if self.channel_last else a

    def data_shape(self, n: int, c: int, sizes: Shape) -> Shape:
        return (n,) + tuple(sizes) + (c,) if self.channel_last else (n, c) + tuple(sizes)

    def columns(self, xp, y, batch_last: bool = False):
        """An output-layout array (N, F, *O) as G matrices (G, Fg, N*prod(O)), or with
        ``batch_last`` (G, Fg, prod(O)*N).

        Returns (matrices, whether they are a workspace buffer to give back).
        Channel-first data is copied (whole rows of prod(O) move at once);
        channel-last data is read through a transposed view when it can be.
        """
        g = self.groups
        if self.channel_last:
            n, f = y.shape[0], y.shape[-1]
            p = math.prod(y.shape[1:-1])
            if not batch_last:
                y = xp.ascontiguousarray(y).reshape(n * p, f)
                return y.T.reshape(g, f // g, n * p), False
            view = y.reshape(n, p, f).transpose(2, 1, 0)                   # (F, P, N)
        else:
            n, f, p = y.shape[0], y.shape[1], math.prod(y.shape[2:])
            order = (1, 2, 0) if batch_last else (1, 0, 2)
            view = y.reshape(n, f, p).transpose(order)                     # (F, P, N) / (F, N, P)
        m = WORKSPACE.take(xp, view.shape, y.dtype)
        m[...] = view
        return m.reshape(g, f // g, n * p), True

    def from_columns(self, xp, m, n: int, sizes: Shape, bias=None, batch_last: bool = False):
        """G matrices (G, Fg, N*prod(O)) (``batch_last``: (G, Fg, prod(O)*N)) as a new
        contiguous output-layout array (N, F, *O), plus ``bias`` (F,) on the channel axis."""
        g, fg = m.shape[:2]
        f, p = g * fg, math.prod(sizes)
        if batch_last:
            m3 = m.reshape(f, p, n)
            view = m3.transpose(2, 1, 0) if self.channel_last else m3.transpose(2, 0, 1)
        elif self.channel_last:
            view = m.reshape(f, n * p).T                                   # (N*P, F)
        else:
            view = m.reshape(f, n, p).transpose(1, 0, 2)                   # (N, F, P)
        b = bias if bias is None or self.channel_last else bias.reshape(f, 1)
        out = xp.empty(view.shape, dtype=m.dtype)
        if b is None:
            out[...] = view
        else:
            xp.add(view, b, out=out)
        return out.reshape(self.data_shape(n, f, sizes))

    # weights -------------------------------------------------------------
    def weight_matrices(self, w):
        """A weight (F, Cg, *K) (channel-last: (F, *K, Cg)) as (G, Fg, Cg*prod(K))."""
        if self.channel_last:
            w = w.transpose(self.to_first)             # the same move as for data
        return w.reshape(self.groups, w.shape[0] // self.groups, math.prod(w.shape[1:]))

    def weight_from_matrices(self, xp, m, cg: int):
        """(G, Fg, Cg*prod(K)) as a contiguous weight in this layout."""
        g, fg = m.shape[:2]
        w = m.reshape((g * fg, cg) + self.window.kernel)
        if self.channel_last:
            w = w.transpose(self.to_last)
        return xp.ascontiguousarray(w)


# ------------------------------------------------- host path: batch parts
_MIN_PART_FLOPS = 1 << 22      # ~4 MFLOP: smaller parts cost more to hand out than they save
_TMP_BYTES = 1 << 20           # partial weight gradients per product call: stays in cache


@functools.lru_cache(maxsize=512)
def _piece_width(length: int, limit: int) -> int:
    """Columns per product piece: ``length`` if it fits in ``limit``, else the largest
    divisor of ``length`` up to ``limit`` (no short tail piece), unless that is under
    half of ``limit`` (then ``limit``, with a tail)."""
    if limit >= length:
        return length
    for width in range(limit, limit // 2, -1):
        if length % width == 0:
            return width
    return limit


def _col_pieces(a, r: int):
    """(n, X, L) -> the view (n, L // r, X, r): blocks of ``r`` columns (a remainder
    of L % r columns is left out)."""
    n, x, length = a.shape
    q = length // r
    return a[:, :, :q * r].reshape(n, x, q, r).swapaxes(1, 2)


def _row_pieces(a, r: int):
    """(n, L, Y) -> the view (n, L // r, r, Y): blocks of ``r`` rows (a remainder of
    L % r rows is left out)."""
    n, length, y = a.shape
    q = length // r
    return a[:, :q * r].reshape(n, q, r, y)


class HostConv:
    """A convolution on NumPy arrays in batch parts, one per thread (``parallel.py``).

    Each part takes its images through im2col and the products; each product is
    cut into pieces of ``r`` output positions whose m*n*k stays below OpenBLAS's
    threading threshold, batched into one ``matmul`` call, so that no BLAS thread
    competes with the parts. The columns are position-major (n, *O, *K, C), read
    from a channel-last copy of the part, or, for few channels (C * kernel width
    < 16: short copies otherwise), channel-major (n, C, *K, *O).

    The output is written in its final layout by the products themselves (for
    channel-first data, ``W @ cols^T`` one piece of columns at a time), the bias
    added in place; the weight gradient sums each part's pieces, then the parts
    in order; the data gradient is the products' adjoint and col2im, per part.
    """

    def __init__(self, geom: ConvGeometry, n: int, c: int, sizes: Shape, f: int) -> None:
        win = geom.window
        self.geom, self.n, self.c, self.f = geom, n, c, f
        self.sizes, self.out_sizes = tuple(sizes), tuple(win.out_sizes(sizes))
        self.p, self.ck = math.prod(self.out_sizes), c * math.prod(win.kernel)
        self.rows = geom.channel_last or c * win.kernel[-1] >= 16
        self.r = _piece_width(self.p, (parallel.SINGLE_THREAD_MNK - 1) // (f * self.ck))
        # weight gradient: chunks of positions x blocks of columns (``_weight_product``)
        # (measured: blocks of 100-150 columns run fastest, 1.5-2x narrower or wider ones)
        self.block = _piece_width(self.ck, 160)
        self.chunk = _piece_width(self.p, max(1, (parallel.SINGLE_THREAD_MNK - 1) //
                                              (f * self.block)))
        self.parts = parallel.parts_for(n, 2 * n * f * self.ck * self.p, _MIN_PART_FLOPS)
        self.cuts = parallel.bounds(n, self.parts)

    # layouts ---------------------------------------------------------------
    def cols_shape(self, n: int) -> Shape:
        return (n, self.p, self.ck) if self.rows else (n, self.ck, self.p)

    def outputs(self, a, channels: int):
        """An output-layout array (n, channels, *O) as (n, channels, P), or channel-last
        (n, P, channels)."""
        if self.geom.channel_last:
            return a.reshape(a.shape[0], self.p, channels)
        return a.reshape(a.shape[0], channels, self.p)

    def weight_matrix(self, w):
        """The weight as (F, K*C) (position-major) or (F, C*K), matching the columns."""
        f = w.shape[0]
        if self.rows and not self.geom.channel_last:
            w = w.transpose((0,) + tuple(range(2, w.ndim)) + (1,))     # (F, *K, C)
        return numpy.ascontiguousarray(w).reshape(f, self.ck)

    def weight_from_matrix(self, m):
        """(F, K*C) or (F, C*K) -> the weight in the geometry's layout."""
        kernel, f = self.geom.window.kernel, m.shape[0]
        if not self.rows:
            return m.reshape((f, self.c) + kernel)
        w = m.reshape((f,) + kernel + (self.c,))
        if self.geom.channel_last:
            return w
        return numpy.ascontiguousarray(w.transpose((0, w.ndim - 1) + tuple(range(1, w.ndim - 1))))

    def _bias(self, b):
        return b if self.geom.channel_last else b.reshape(-1, 1)

    def im2col(self, x, out) -> None:
        """Columns of the images ``x`` (n, ...) into ``out`` (``cols_shape(n)``)."""
        win, n = self.geom.window, x.shape[0]
        if self.rows:
            xh = channel_last_padded(numpy, x, win.pad, self.geom.channel_last)
            im2col_rows(numpy, xh, win, self.out_sizes,
                        out.reshape((n,) + self.out_sizes + win.kernel + (self.c,)))
            if xh is not x:
                WORKSPACE.give(numpy, xh)
        else:
            im2col_channels(numpy, x, win, self.out_sizes,
                            out.reshape((n, self.c) + win.kernel + self.out_sizes))

    # forward ------------------------------------------------------------
    def forward(self, x, w, b=None, keep_cols: bool = False):
        """(output, the columns if ``keep_cols`` else None)."""
        n, f = self.n, self.f
        y = numpy.empty(self.geom.data_shape(n, f, self.out_sizes), dtype=x.dtype)
        y3 = self.outputs(y, f)
        wm = self.weight_matrix(w)
        if self.geom.channel_last:
            wm = numpy.ascontiguousarray(wm.T)                          # (K*C, F)
        cols = WORKSPACE.take(numpy, self.cols_shape(n), x.dtype) if keep_cols else None
        bias = None if b is None else self._bias(b)

        def work(i):
            lo, hi = self.cuts[i], self.cuts[i + 1]
            part = cols[lo:hi] if keep_cols else WORKSPACE.take(
                numpy, self.cols_shape(hi - lo), x.dtype)
            self.im2col(x[lo:hi], part)
            self._forward_product(wm, part, y3[lo:hi])
            if bias is not None:
                y3[lo:hi] += bias
            if not keep_cols:
                WORKSPACE.give(numpy, part)

        parallel.run_parts(self.parts, work)
        return y, cols

    def _forward_product(self, wm, cols, y) -> None:
        r, p, matmul = self.r, self.p, numpy.matmul
        q = p // r
        t = q * r
        if self.geom.channel_last:       # y (n, P, F) = cols (n, P, KC) @ wm (KC, F)
            if q:
                matmul(_row_pieces(cols, r), wm, out=_row_pieces(y, r))
            if t < p:
                matmul(cols[:, t:], wm, out=y[:, t:])
        elif self.rows:                  # y (n, F, P) = wm (F, KC) @ cols^T
            if q:
                matmul(wm, _row_pieces(cols, r).swapaxes(-1, -2), out=_col_pieces(y, r))
            if t < p:
                matmul(wm, cols[:, t:].swapaxes(-1, -2), out=y[:, :, t:])
        else:                            # y (n, F, P) = wm (F, CK) @ cols (n, CK, P)
            if q:
                matmul(wm, _col_pieces(cols, r), out=_col_pieces(y, r))
            if t < p:
                matmul(wm, cols[:, :, t:], out=y[:, :, t:])

    # weight gradient ------------------------------------------------------
    def grad_weight(self, x, gy, cols=None):
        """d(sum(conv(x, W) * gy)) / dW; ``cols``: x's columns from the forward (given
        back to the workspace here)."""
        gy3 = self.outputs(numpy.ascontiguousarray(gy), self.f)
        partials = [None] * self.parts

        def work(i):
            lo, hi = self.cuts[i], self.cuts[i + 1]
            if cols is None:
                part = WORKSPACE.take(numpy, self.cols_shape(hi - lo), x.dtype)
                self.im2col(x[lo:hi], part)
            else:
                part = cols[lo:hi]
            partials[i] = self._weight_product(gy3[lo:hi], part)
            if cols is None:
                WORKSPACE.give(numpy, part)

        parallel.run_parts(self.parts, work)
        if cols is not None:
            WORKSPACE.give(numpy, cols)
        total = partials[0]
        for partial in partials[1:]:
            total += partial
        return self.weight_from_matrix(total)

    def _weight_product(self, gy, cols):
        """sum over the images and positions of gy (F, .) times cols (., X): (F, X).

        The sum over positions is cut into chunks of ``kp`` and the output into
        blocks of ``b`` columns, F*kp*b below the threading threshold, with kp*b as
        large as it allows: each chunk's partial block is summed in a small buffer,
        so the partials never leave the cache."""
        kp, width, p, f = self.chunk, self.block, self.p, self.f
        q = p // kp
        t = q * kp
        channel_last = self.geom.channel_last
        total = numpy.zeros((f, self.ck), dtype=gy.dtype)
        pieces = []
        if q:
            pieces.append((_row_pieces(gy, kp).swapaxes(-1, -2) if channel_last else
                           _col_pieces(gy, kp),
                           _row_pieces(cols, kp) if self.rows else
                           _col_pieces(cols, kp).swapaxes(-1, -2)))
        if t < p:
            pieces.append(((gy[:, t:].swapaxes(-1, -2) if channel_last else gy[:, :, t:])[:, None],
                           (cols[:, t:] if self.rows else
                            cols[:, :, t:].swapaxes(-1, -2))[:, None]))
        for a, b in pieces:                           # a (n, q, F, kp), b (n, q, kp, X)
            for lo in range(0, self.ck, width):
                hi = min(self.ck, lo + width)
                self._sum_products(a, b[..., lo:hi], total[:, lo:hi])
        return total

    @staticmethod
    def _sum_products(a, b, total) -> None:
        """total += sum over (image, chunk) of a[i, j] @ b[i, j], many chunks per call."""
        n, q = a.shape[:2]
        size = total.size
        per = max(1, _TMP_BYTES // (size * total.itemsize))    # chunks per product call
        tmp = numpy.empty((min(per, n * q),) + total.shape, dtype=total.dtype)
        flat, reduced = tmp.reshape(tmp.shape[0], size), numpy.empty(size, dtype=total.dtype)
        if q >= per:
            calls = [(i, slice(j, min(q, j + per))) for i in range(n) for j in range(0, q, per)]
        else:
            step = per // q
            calls = [(slice(i, min(n, i + step)), slice(None)) for i in range(0, n, step)]
        for images, chunks in calls:
            ai, bi = a[images, chunks], b[images, chunks]
            count = math.prod(ai.shape[:-2])
            numpy.matmul(ai, bi, out=tmp[:count].reshape(ai.shape[:-2] + total.shape))
            numpy.add.reduce(flat[:count], axis=0, out=reduced)
            total += reduced.reshape(total.shape)

    # data gradient --------------------------------------------------------
    def grad_data(self, gy, w, b=None):
        """d(sum(conv(x, W) * gy)) / dx (MXNet's Deconvolution of gy), plus ``b``.

        Position-major plans go one kernel offset at a time, per part: the product of
        gy with that offset's (F, C) slice of the weight is a small block (the part's
        positions x C, in cache), added at once onto its window of a channel-last
        padded accumulator (n, *Sp, C): no im2col-sized temporary, and each add runs
        along whole (width x channel) rows. Channel-major plans (few channels, where
        such a block would be a thin product) make the part's columns (n, C*K, P) in
        one product and add each offset's rows onto a channel-first accumulator."""
        n, c, f, win = self.n, self.c, self.f, self.geom.window
        nd, p = win.nd, self.p
        gx = numpy.empty(self.geom.data_shape(n, c, self.sizes), dtype=gy.dtype)
        gy3 = self.outputs(numpy.ascontiguousarray(gy), f)
        spatial = tuple(range(2, nd + 2))
        if self.geom.channel_last:                         # (F, *K, C) -> (*K, F, C)
            wk = w.transpose(tuple(range(1, nd + 1)) + (0, nd + 1))
        else:                                              # (F, C, *K) -> (*K, F, C)
            wk = w.transpose(spatial + (0, 1))
        if self.rows:
            wk = numpy.ascontiguousarray(wk).reshape(-1, f, c)
            r = _piece_width(p, (parallel.SINGLE_THREAD_MNK - 1) // (f * c))
        else:                                              # (C*K, F), rows as the columns'
            wk = numpy.ascontiguousarray(self.weight_matrix(w).T)
            r = self.r
        padded_sizes = tuple(s + 2 * q for s, q in zip(self.sizes, win.pad))
        interior = tuple(slice(q, q + s) for s, q in zip(self.sizes, win.pad))
        windows = [tuple(slice(k * d, k * d + st * (o - 1) + 1, st) for k, d, st, o in
                         zip(offsets, win.dilate, win.stride, self.out_sizes))
                   for offsets in itertools.product(*(range(k) for k in win.kernel))]
        bias = None if b is None else (b if self.geom.channel_last else
                                       b.reshape((c,) + (1,) * nd))

        def work(i):
            lo, hi = self.cuts[i], self.cuts[i + 1]
            m = hi - lo
            g = gy3[lo:hi]
            if self.rows:
                acc = WORKSPACE.take(numpy, (m,) + padded_sizes + (c,), gy.dtype)
                tmp = WORKSPACE.take(numpy, (m, p, c), gy.dtype)
                g = g if self.geom.channel_last else g.swapaxes(1, 2)       # (m, P, F)
                block = tmp.reshape((m,) + self.out_sizes + (c,))
                lead, tail = (slice(None),), (slice(None),)
            else:
                acc = WORKSPACE.take(numpy, (m, c) + padded_sizes, gy.dtype)
                tmp = WORKSPACE.take(numpy, (m, self.ck, p), gy.dtype)
                blocks = tmp.reshape((m, c, len(windows)) + self.out_sizes)
                lead, tail = (slice(None), slice(None)), ()
            acc.fill(0)
            pieces = self._offset_pieces(g, tmp, r)
            if not self.rows:
                self._offset_product(pieces, wk)           # every offset's rows at once
            for k, window in enumerate(windows):
                if self.rows:
                    self._offset_product(pieces, wk[k])
                acc[lead + window + tail] += block if self.rows else blocks[:, :, k]
            inner = acc[lead + interior + tail]
            if self.rows and not self.geom.channel_last:
                inner = inner.transpose((0, nd + 1) + tuple(range(1, nd + 1)))
            if bias is None:
                gx[lo:hi] = inner
            else:
                numpy.add(inner, bias, out=gx[lo:hi])
            WORKSPACE.give(numpy, acc)
            WORKSPACE.give(numpy, tmp)

        parallel.run_parts(self.parts, work)
        return gx

    def _offset_pieces(self, g, out, r: int):
        """[(operand, output)] views of ``g`` and ``out`` in pieces of ``r`` positions
        (the whole pieces, then the remainder): rows (n, P, F) and (n, P, C), or
        channel-major (n, F, P) and (n, C, P)."""
        p = self.p
        t = p // r * r
        if self.rows:
            pieces = [(_row_pieces(g, r), _row_pieces(out, r))] if t else []
            return pieces + ([(g[:, t:], out[:, t:])] if t < p else [])
        pieces = [(_col_pieces(g, r), _col_pieces(out, r))] if t else []
        return pieces + ([(g[:, :, t:], out[:, :, t:])] if t < p else [])

    def _offset_product(self, pieces, wk) -> None:
        """Piece by piece: one kernel offset's block, rows g (n, P, F) @ wk (F, C); or
        channel-major, every offset's rows at once, wk (C*K, F) @ g (n, F, P)."""
        if self.rows:
            for g, out in pieces:
                numpy.matmul(g, wk, out=out)
        else:
            for g, out in pieces:
                numpy.matmul(wk, g, out=out)


@functools.lru_cache(maxsize=256)
def _host_plan(window: Window, groups: int, channel_last: bool, n: int, c: int,
               sizes: Shape, f: int) -> Optional[HostConv]:
    if groups != 1 or f * c * math.prod(window.kernel) * 4 >= parallel.SINGLE_THREAD_MNK:
        return None          # a product piece under 4 positions wide: one big GEMM instead
    return HostConv(ConvGeometry(window, groups, channel_last), n, c, sizes, f)


def host_plan(xp, geom: ConvGeometry, data_shape: Shape, f: int, dtype) -> Optional[HostConv]:
    """The host path for a convolution of data of ``data_shape`` (in ``geom``'s layout)
    to ``f`` channels, or None where it does not apply (CuPy; groups; float16, which
    NumPy multiplies without BLAS; a BLAS other than OpenBLAS; huge kernels)."""
    if (not parallel.is_host(xp) or geom.groups != 1 or dtype not in _BLAS_DTYPES
            or not parallel.splits_products()):
        return None
    if geom.channel_last:
        c, sizes = data_shape[-1], data_shape[1:-1]
    else:
        c, sizes = data_shape[1], data_shape[2:]
    return _host_plan(geom.window, geom.groups, geom.channel_last, data_shape[0], c,
                      tuple(sizes), f)


_BLAS_DTYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


# ------------------------------------------------------- raw computations
def _product(xp, geom: ConvGeometry, window: Window, xf, wm, bias):
    """conv over ``window`` of channel-first data ``xf`` (N, C, *S) with weight
    matrices ``wm`` (G, Fg, Cg*K): im2col, ONE product (batched over the groups),
    and the copy to ``geom``'s output layout with the bias added.
    Returns (output, the im2col matrix)."""
    n, sizes = xf.shape[0], xf.shape[2:]
    out_sizes = window.out_sizes(sizes)
    batch_last = short_rows(out_sizes)
    cols = im2col(xp, xf, window, out_sizes, batch_last)
    c3 = cols.reshape(geom.groups, cols.shape[0] * math.prod(window.kernel) // geom.groups,
                      n * math.prod(out_sizes))                         # (G, Cg*K, N*P)
    m = WORKSPACE.take(xp, (geom.groups, wm.shape[1], c3.shape[2]), c3.dtype)
    xp.matmul(wm, c3, out=m)                                            # (G, Fg, N*P)
    y = geom.from_columns(xp, m, n, out_sizes, bias, batch_last)
    WORKSPACE.give(xp, m)
    return y, cols


def conv_forward(xp, geom: ConvGeometry, x, w, b=None, keep_cols: bool = False):
    """Data, weight (, bias) -> (output (N, F, *O) in the layout, the im2col matrix
    when ``keep_cols``, else None)."""
    plan = host_plan(xp, geom, x.shape, w.shape[0], x.dtype)
    if plan is not None:
        return plan.forward(x, w, b, keep_cols)
    y, cols = _product(xp, geom, geom.window, geom.channel_first(x), geom.weight_matrices(w), b)
    if not keep_cols:
        WORKSPACE.give(xp, cols)
        cols = None
    return y, cols


def conv_grad_weight(xp, geom: ConvGeometry, x, gy, cols=None):
    """d(sum(conv(x, W) * gy)) / dW: im2col(x) times the output gradient, one product.
    ``cols``: x's im2col matrix if already made (it is given back to the workspace);
    its layout (batch-last or not) follows from the sizes, as in ``_product``."""
    plan = host_plan(xp, geom, x.shape, gy.shape[-1 if geom.channel_last else 1], x.dtype)
    if plan is not None:
        return plan.grad_weight(x, gy, cols)
    xf = geom.channel_first(x)
    n, c, sizes = xf.shape[0], xf.shape[1], xf.shape[2:]
    out_sizes = geom.window.out_sizes(sizes)
    batch_last = short_rows(out_sizes)
    if cols is None:
        cols = im2col(xp, xf, geom.window, out_sizes, batch_last)
    g = geom.groups
    c3 = cols.reshape(g, c // g * math.prod(geom.window.kernel),
                      n * math.prod(out_sizes))                         # (G, Cg*K, N*P)
    gm, owned = geom.columns(xp, gy, batch_last)                        # (G, Fg, N*P)
    gwt = xp.matmul(c3, gm.transpose(0, 2, 1))                          # (G, Cg*K, Fg)
    WORKSPACE.give(xp, cols)
    if owned:
        WORKSPACE.give(xp, gm)
    return geom.weight_from_matrices(xp, gwt.transpose(0, 2, 1), c // g)


def conv_grad_data(xp, geom: ConvGeometry, gy, w, in_sizes: Shape, b=None):
    """d(sum(conv(x, W) * gy)) / dx for x of spatial size ``in_sizes`` (MXNet's
    Deconvolution of gy), plus ``b`` on the channel axis.

    Two ways, each one product:
    - the kernel's transpose times gy, then col2im (a slice-add per kernel offset);
      its temporary is C*K x N*prod(O), read and added back K times;
    - with stride 1, the convolution of gy with the flipped, transposed kernel
      (im2col and one product); its temporary is F*K x N*prod(S), written once.
    The one moving less memory is taken (the second for ResNet's 3x3 layers, whose
    F = C; the first for LeNet's 1 -> 20 channels).
    """
    win, g = geom.window, geom.groups
    n, k = gy.shape[0], math.prod(win.kernel)
    wm = geom.weight_matrices(w)                                        # (G, Fg, Cg*K)
    fg, cg = wm.shape[1], wm.shape[2] // k
    full = tuple(dk - 1 - p for dk, p in zip(win.dilated_kernel(), win.pad))
    as_convolution = fg * math.prod(in_sizes) <= 3 * cg * math.prod(win.out_sizes(in_sizes))
    as_convolution = all(st == 1 for st in win.stride) and min(full) >= 0 and as_convolution
    x_shape = geom.data_shape(n, g * cg, in_sizes)
    plan = host_plan(xp, geom, x_shape, g * fg, gy.dtype)
    if plan is not None and as_convolution:
        geom_full = ConvGeometry(Window(win.kernel, win.stride, win.dilate, full), 1,
                                 geom.channel_last)
        plan_full = host_plan(xp, geom_full, gy.shape, g * cg, gy.dtype)
        if plan_full is not None:
            spatial = tuple(range(1, win.nd + 1)) if geom.channel_last else \
                tuple(range(2, win.nd + 2))
            flipped = xp.flip(w, axis=spatial)
            order = ((w.ndim - 1,) + spatial + (0,)) if geom.channel_last else \
                ((1, 0) + spatial)
            return plan_full.forward(gy, flipped.transpose(order), b)[0]
    if plan is not None:
        return plan.grad_data(gy, w, b)
    if as_convolution:
        flipped = wm.reshape((g, fg, cg) + win.kernel)[(Ellipsis,) + (slice(None, None, -1),)
                                                       * win.nd]
        wt = xp.ascontiguousarray(flipped.swapaxes(1, 2)).reshape(g, cg, fg * k)
        window = Window(win.kernel, win.stride, win.dilate, full)
        out, cols = _product(xp, geom, window, geom.channel_first(gy), wt, b)
        WORKSPACE.give(xp, cols)
        return out
    out_sizes = win.out_sizes(in_sizes)
    batch_last = short_rows(out_sizes)
    gm, owned = geom.columns(xp, gy, batch_last)                        # (G, Fg, N*P)
    gcols = WORKSPACE.take(xp, (g, cg * k, gm.shape[2]), gm.dtype)
    xp.matmul(wm.transpose(0, 2, 1), gm, out=gcols)                     # (G, Cg*K, N*P)
    if owned:
        WORKSPACE.give(xp, gm)
    c, nd = g * cg, win.nd
    if batch_last:                   # accumulate (C, *S, N), then move N to the front
        acc = xp.zeros((c,) + tuple(in_sizes) + (n,), dtype=gcols.dtype)
        col2im(xp, gcols.reshape((c,) + win.kernel + tuple(out_sizes) + (n,)), win,
               in_sizes, acc, batch_last=True)
        spatial = tuple(range(1, nd + 1))
        order = (nd + 1,) + spatial + (0,) if geom.channel_last else (nd + 1, 0) + spatial
        out = xp.ascontiguousarray(acc.transpose(order))
    else:
        out = xp.zeros(geom.data_shape(n, c, in_sizes), dtype=gcols.dtype)
        col2im(xp, gcols.reshape((c,) + win.kernel + (n,) + tuple(out_sizes)), win, in_sizes,
               geom.channel_first(out))
    WORKSPACE.give(xp, gcols)
    if b is not None:
        out += b if geom.channel_last else b.reshape((c,) + (1,) * nd)
    return out


# --------------------------------------------------------------- operators
def _bias_gradient(geom: ConvGeometry, gy: NDArray) -> NDArray:
    return Sum(geom.bias_axes, False)(gy)


class ConvolutionOp(Operator):
    """conv(x, W) (+ b): data, weight[, bias] -> output; see the module docstring."""

    name = "Convolution"
    saves_inputs = (0, 1)
    input_users = ((1,), (0,))       # data is read for the weight's gradient, weight for data's
    cols = None

    def __init__(self, geom: ConvGeometry, keep_cols: bool = False) -> None:
        self.geom, self.keep_cols = geom, keep_cols

    def forward(self, x, w, b=None):
        y, self.cols = conv_forward(self.xp, self.geom, x, w, b, self.keep_cols)
        self.in_sizes = self.geom.channel_first(x).shape[2:]
        return y

    def backward(self, gy):
        x, w = self.saved_inputs
        cols, self.cols = self.cols, None
        gx = gw = gb = None
        if self.wants(1):            # first: its im2col buffer is then free for the data's
            gw = ConvolutionGradWOp(self.geom, cols)(x, gy)
        elif cols is not None:
            WORKSPACE.give(self.xp, cols)
        if self.wants(0):
            gx = DeconvolutionOp(self.geom, self.in_sizes)(gy, w)
        if len(self.parents) == 2:
            return gx, gw
        if self.wants(2):
            gb = _bias_gradient(self.geom, gy)
        return gx, gw, gb

    def release(self) -> None:
        super().release()
        self.cols = None


class DeconvolutionOp(Operator):
    """deconv(x, W) (+ b): the adjoint of conv in its data, with output size ``out_sizes``.

    Data (N, C_in, *S) and weight (C_in, F/g, *K) (in conv terms: the output
    gradient and the weight of a conv from F to C_in channels) -> (N, F, *out_sizes).
    """

    name = "Deconvolution"
    saves_inputs = (0, 1)
    input_users = ((1,), (0,))

    def __init__(self, geom: ConvGeometry, out_sizes: Shape) -> None:
        self.geom, self.out_sizes = geom, tuple(out_sizes)

    def forward(self, x, w, b=None):
        return conv_grad_data(self.xp, self.geom, x, w, self.out_sizes, b)

    def backward(self, gy):
        x, w = self.saved_inputs
        gx = gw = gb = None
        if self.wants(0):
            gx = ConvolutionOp(self.geom)(gy, w)
        if self.wants(1):
            gw = ConvolutionGradWOp(self.geom)(gy, x)
        if len(self.parents) == 2:
            return gx, gw
        if self.wants(2):
            gb = _bias_gradient(self.geom, gy)
        return gx, gw, gb


class ConvolutionGradWOp(Operator):
    """grad_w(x, gy): conv's weight gradient for data x and output gradient gy.

    Linear in each input; its gradient for an incoming weight-shaped gradient h
    is deconv(gy, h) for x and conv(x, h) for gy. ``cols``: x's im2col matrix,
    when the forward convolution kept it.
    """

    name = "_backward_Convolution_weight"
    saves_inputs = (0, 1)
    input_users = ((1,), (0,))

    def __init__(self, geom: ConvGeometry, cols=None) -> None:
        self.geom, self.cols = geom, cols

    def forward(self, x, gy):
        cols, self.cols = self.cols, None
        self.in_sizes = self.geom.channel_first(x).shape[2:]
        return conv_grad_weight(self.xp, self.geom, x, gy, cols)

    def backward(self, h):
        x, gy = self.saved_inputs
        gx = ggy = None
        if self.wants(0):
            gx = DeconvolutionOp(self.geom, self.in_sizes)(gy, h)
        if self.wants(1):
            ggy = ConvolutionOp(self.geom)(x, h)
        return gx, ggy


# ---------------------------------------------------------- argument checks
def _spatial(value, nd: int, default: int, op: str, what: str) -> Shape:
    """MXNet's shape argument: () for the default, an int for every axis, or nd ints."""
    if value is None or (not is_int(value) and len(tuple(value)) == 0):
        return (default,) * nd
    if is_int(value):
        return (int(value),) * nd
    values = int_tuple(value, op, what)
    if len(values) != nd:
        raise ValueError(f"operator {op}: {what} {values} has {len(values)} entries; the "
                         f"kernel has {nd} spatial axes, so {what} needs {nd} (or one int)")
    return values


class _Call:
    """The checked arguments of one Convolution/Deconvolution call."""

    def __init__(self, op: str, data, weight, kernel, stride, dilate, pad, num_group,
                 layout) -> None:
        check_array(data, op)
        check_array(weight, op)
        self.op = op
        dshape, wshape = tuple(data.shape), tuple(weight.shape)
        if kernel is None or (not is_int(kernel) and len(tuple(kernel)) == 0):
            if len(wshape) not in (3, 4, 5):
                raise ValueError(f"operator {op}: weight of shape {wshape} is not a 1-D, 2-D "
                                 f"or 3-D kernel (expected 3 to 5 dimensions); give kernel=")
            nd = len(wshape) - 2
            last = layout is not None and str(layout).endswith("C")
            kernel = wshape[1:-1] if last else wshape[2:]
        else:
            kernel = (kernel,) if is_int(kernel) else kernel
            kernel = int_tuple(kernel, op, "kernel")
            nd = len(kernel)
            if nd not in (1, 2, 3):
                raise ValueError(f"operator {op}: kernel {kernel} must have 1, 2 or 3 entries "
                                 f"(1-D, 2-D or 3-D convolution)")
        self.nd = nd
        if layout is None:
            layout = _LAYOUTS[nd][0]
        if layout not in _LAYOUTS[nd]:
            raise ValueError(f"operator {op}: layout {layout!r} does not fit a {nd}-D kernel "
                             f"{tuple(kernel)}; expected one of {_LAYOUTS[nd]}")
        self.layout = layout
        self.channel_last = layout.endswith("C")
        if len(dshape) != nd + 2:
            raise ValueError(f"operator {op}: data must be {nd + 2}-D ({', '.join(layout)}) "
                             f"for a {nd}-D kernel {tuple(kernel)} with layout {layout}, got "
                             f"shape {dshape}")
        if len(wshape) != nd + 2:
            raise ValueError(f"operator {op}: weight must be {nd + 2}-D for a {nd}-D kernel "
                             f"{tuple(kernel)}, got shape {wshape}")
        stride = _spatial(stride, nd, 1, op, "stride")
        dilate = _spatial(dilate, nd, 1, op, "dilate")
        pad = _spatial(pad, nd, 0, op, "pad")
        for what, values, low in (("kernel", kernel, 1), ("stride", stride, 1),
                                  ("dilate", dilate, 1), ("pad", pad, 0)):
            if any(v < low for v in values):
                raise ValueError(f"operator {op}: {what} {tuple(values)} must be >= {low} "
                                 f"on every axis")
        if not is_int(num_group) or num_group < 1:
            raise ValueError(f"operator {op}: num_group must be a positive int, got "
                             f"{num_group!r}")
        self.groups = int(num_group)
        self.window = Window(tuple(kernel), stride, dilate, pad)
        self.n = dshape[0]
        self.channels = dshape[-1] if self.channel_last else dshape[1]
        self.sizes = dshape[1:-1] if self.channel_last else dshape[2:]
        if self.channels % self.groups:
            raise ValueError(f"operator {op}: data of shape {dshape} ({layout}) has "
                             f"{self.channels} channels, not divisible by num_group="
                             f"{self.groups}")
        self.data, self.weight = data, weight

    def weight_shape(self, rows: int, per_group: int) -> Shape:
        k = self.window.kernel
        return (rows,) + k + (per_group,) if self.channel_last else (rows, per_group) + k

    def geometry(self, window: Optional[Window] = None) -> ConvGeometry:
        return ConvGeometry(window or self.window, self.groups, self.channel_last)

    def inputs(self, bias, no_bias: bool, n_out: int):
        """(data, weight[, bias]) after checking the bias and that the dtypes agree."""
        op = self.op
        if no_bias:
            inputs = (self.data, self.weight)
        else:
            if bias is None:
                raise ValueError(f"operator {op}: bias is None but no_bias=False; pass a bias "
                                 f"of shape ({n_out},) or no_bias=True")
            check_array(bias, op)
            if tuple(bias.shape) != (n_out,):
                raise ValueError(f"operator {op}: bias has shape {bias.shape}, expected "
                                 f"({n_out},) (one per output channel)")
            inputs = (self.data, self.weight, bias)
        dtypes = [a._data.dtype for a in inputs]
        if dtypes[0].kind != "f" or any(d != dtypes[0] for d in dtypes):
            names = ["data", "weight", "bias"][:len(inputs)]
            raise TypeError(f"operator {op}: {', '.join(names)} must share one floating-point "
                            f"dtype, got {[numpy.dtype(d).name for d in dtypes]}")
        return inputs


def Convolution(data: NDArray, weight: NDArray, bias: Optional[NDArray] = None,
                kernel: Optional[IntOrTuple] = None, stride: IntOrTuple = (),
                dilate: IntOrTuple = (), pad: IntOrTuple = (), num_filter: Optional[int] = None,
                num_group: int = 1, workspace: int = 1024, no_bias: bool = False,
                cudnn_tune: Optional[str] = None, cudnn_off: bool = False,
                layout: Optional[str] = None, out: Optional[NDArray] = None,
                name: Optional[str] = None) -> NDArray:
    """Convolution over 1, 2 or 3 spatial axes (MXNet's cross-correlation).

    data (N, C, *S) in layout NCW/NCHW/NCDHW (default), or (N, *S, C) in NWC/NHWC/NDHWC;
    weight (num_filter, C/num_group, *kernel), channel-last (num_filter, *kernel, C/num_group);
    bias (num_filter,), ignored with ``no_bias``. Returns (N, num_filter, *O) (channel-last:
    (N, *O, num_filter)), O = floor((S + 2*pad - dilate*(kernel-1) - 1) / stride) + 1.
    ``kernel`` and ``num_filter`` default to the weight's and are checked against it;
    stride/dilate/pad default to 1/1/0 (an int applies to every axis).
    ``workspace``, ``cudnn_tune``, ``cudnn_off`` and ``name`` are accepted for MXNet
    scripts and have no effect.
    """
    op = "Convolution"
    call = _Call(op, data, weight, kernel, stride, dilate, pad, num_group, layout)
    groups, wshape = call.groups, tuple(weight.shape)
    filters = wshape[0] if num_filter is None else num_filter
    if not is_int(filters) or filters < 1 or filters % groups:
        raise ValueError(f"operator {op}: num_filter={filters!r} must be a positive multiple of "
                         f"num_group={groups}")
    expected = call.weight_shape(filters, call.channels // groups)
    if wshape != expected:
        raise ValueError(f"operator {op}: weight has shape {wshape}, expected {expected} "
                         f"(num_filter={filters}, {call.channels} input channels / num_group="
                         f"{groups}, kernel {call.window.kernel}, layout {call.layout})")
    out_sizes = call.window.out_sizes(call.sizes)
    if any(o < 1 for o in out_sizes):
        raise ValueError(f"operator {op}: data of spatial size {call.sizes} padded by "
                         f"{call.window.pad} is smaller than the dilated kernel "
                         f"{call.window.dilated_kernel()}: output size {out_sizes}")
    inputs = call.inputs(bias, no_bias, filters)
    keep_cols = STATE.recording and weight._node is not None
    return write_out(ConvolutionOp(call.geometry(), keep_cols)(*inputs), out, op)


def Deconvolution(data: NDArray, weight: NDArray, bias: Optional[NDArray] = None,
                  kernel: Optional[IntOrTuple] = None, stride: IntOrTuple = (),
                  dilate: IntOrTuple = (), pad: IntOrTuple = (), adj: IntOrTuple = (),
                  target_shape: IntOrTuple = (), num_filter: Optional[int] = None,
                  num_group: int = 1, workspace: int = 512, no_bias: bool = True,
                  cudnn_tune: Optional[str] = None, cudnn_off: bool = False,
                  layout: Optional[str] = None, out: Optional[NDArray] = None,
                  name: Optional[str] = None) -> NDArray:
    """Transposed convolution: the gradient of ``Convolution`` with respect to its data.

    data (N, C, *S) (channel-last: (N, *S, C)); weight (C, num_filter/num_group, *kernel)
    (channel-last: (C, *kernel, num_filter/num_group)); bias (num_filter,), used only
    with ``no_bias=False`` (MXNet's default is True). Returns (N, num_filter, *O) with
    O = (S-1)*stride - 2*pad + dilate*(kernel-1) + adj + 1; ``adj`` < stride per axis.
    ``target_shape`` (the spatial O wanted), when given, sets pad and adj as MXNet does
    (pad and adj are then ignored). ``workspace``, ``cudnn_tune``, ``cudnn_off`` and
    ``name`` are accepted for MXNet scripts and have no effect.
    """
    op = "Deconvolution"
    call = _Call(op, data, weight, kernel, stride, dilate, pad, num_group, layout)
    groups, wshape, nd, win = call.groups, tuple(weight.shape), call.nd, call.window
    per_group = wshape[-1] if call.channel_last else wshape[1]
    filters = per_group * groups if num_filter is None else num_filter
    if not is_int(filters) or filters < 1 or filters % groups:
        raise ValueError(f"operator {op}: num_filter={filters!r} must be a positive multiple of "
                         f"num_group={groups}")
    expected = call.weight_shape(call.channels, filters // groups)
    if wshape != expected:
        raise ValueError(f"operator {op}: weight has shape {wshape}, expected {expected} "
                         f"({call.channels} input channels, num_filter={filters} / num_group="
                         f"{groups}, kernel {win.kernel}, layout {call.layout})")
    adj = _spatial(adj, nd, 0, op, "adj")
    target = () if target_shape is None or (not is_int(target_shape) and
                                            len(tuple(target_shape)) == 0) \
        else _spatial(target_shape, nd, 0, op, "target_shape")
    pad = win.pad
    dk = win.dilated_kernel()
    if any(target):
        if any(t < 1 for t in target):
            raise ValueError(f"operator {op}: target_shape {target} must be positive on every "
                             f"axis")
        full = tuple(st * (s - 1) + k for st, s, k in zip(win.stride, call.sizes, dk))
        if any(f < t for f, t in zip(full, target)):
            raise ValueError(f"operator {op}: target_shape {target} is too big: data of "
                             f"spatial size {call.sizes} with stride {win.stride} and dilated "
                             f"kernel {dk} reaches at most {full}")
        pad = tuple((f - t + 1) // 2 for f, t in zip(full, target))
        adj = tuple((f - t) % 2 for f, t in zip(full, target))
    if any(a < 0 or a >= st for a, st in zip(adj, win.stride)):
        why = f" (from target_shape {target})" if any(target) else ""
        raise ValueError(f"operator {op}: adj {adj}{why} must be >= 0 and smaller than stride "
                         f"{win.stride} on every axis")
    out_sizes = tuple(st * (s - 1) + k - 2 * p + a for st, s, k, p, a in
                      zip(win.stride, call.sizes, dk, pad, adj))
    if any(o < 1 for o in out_sizes):
        raise ValueError(f"operator {op}: output size {out_sizes} is not positive: data of "
                         f"spatial size {call.sizes}, stride {win.stride}, dilated kernel {dk}, "
                         f"pad {pad}, adj {adj}")
    inputs = call.inputs(bias, no_bias, filters)
    geom = call.geometry(Window(win.kernel, win.stride, win.dilate, pad))
    return write_out(DeconvolutionOp(geom, out_sizes)(*inputs), out, op)
