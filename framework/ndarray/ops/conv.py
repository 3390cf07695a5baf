"""``Convolution`` and ``Deconvolution`` over 1, 2 or 3 spatial axes (MXNet's operators).

One graph node per call: im2col (``im2col.py``: one strided copy of the
windows) feeding ONE matrix product, or one batched product over the groups,
threaded by the BLAS itself; the bias rides inside the product (a row of ones
under the windows, the bias beside the weight), or, with groups or in float16,
is added while the product is copied to the output layout (2-D layout moves go
through OpenBLAS's blocked transpose, ``_host_blas``).
(Batch parts spread over the framework's threads, each cutting its products
into single-threaded pieces, were measured 16-18% slower at ResNet and LeNet
shapes on an idle 2-core machine, and were removed.)

The gradients are three operators that are each other's gradients (Chainer's
Convolution2DFunction / Deconvolution2DFunction / Convolution2DGradW), so every
order of derivative differentiates again:

    y = conv(x, W)          dx = deconv(dy, W)       dW = grad_w(x, dy)
    y = deconv(x, W)        dx = conv(dy, W)         dW = grad_w(dy, x)
    gW = grad_w(x, dy)      dx = deconv(dy, dgW)     d(dy) = conv(x, dgW)

``deconv`` (the data gradient of ``conv``) is one product and col2im, a
slice-add per kernel offset, or, for stride 1 when it moves less memory, the
convolution with the flipped kernel; ``grad_w`` is im2col and one product. The
bias gradient, the sum over the batch and spatial axes, comes with the weight
gradient (``conv_grad_weight``).

A stride-1 convolution that keeps no im2col matrix (the forward when no weight
gradient is wanted, and the data gradient as a convolution) makes none: one
product per kernel offset reads a shifted view of the zero-padded data laid out
as one (C, N * grid) matrix, and the products accumulate into one output through
the BLAS (``_shifted_product``; ResNet's 3x3 layers at 56x56 and 28x28: 0.68x and
0.69x the time). The weight gradient keeps im2col: nine products of depth N * grid
took twice its time.

Large temporaries (im2col matrices, product outputs) come from a workspace of
reused host buffers (``im2col.WORKSPACE``); results are always new arrays. For
short output rows the matrices' columns run batch-last (see ``im2col.py``).

A convolution whose output goes straight into max pooling (a Sequential's
``Conv2D(activation='relu')`` then ``MaxPool2D``: ``convolution_for_pooling``;
batches of at least 32) runs batch-last at every size and returns its product as
it lies, a (N, F, *O) view of the (F, *O, N) matrix; the pooling works in that
memory order and its gradient comes back in it, the matrix the gradients'
products read. A convolution whose data lies batch-last runs batch-last too and
returns the data gradient in that order. LeNet's training step: 0.85-0.88x the
time (paired steps in one process).

Shapes, channel-first layouts (NCW, NCHW, NCDHW): data (N, C, *S), weight
(F, C/g, *K), output (N, F, *O) with O = floor((S + 2p - (d*(k-1)+1)) / s) + 1.
Channel-last layouts (NWC, NHWC, NDHWC) put C last in data and output, and
use MXNet's weight (F, *K, C/g).

While recording with a weight that needs its gradient, ``Convolution`` keeps
the im2col matrix of its forward for the weight gradient (saving a second
im2col; it costs prod(K) times the data's memory until backward).
"""
from __future__ import annotations

import itertools
import math
from typing import Optional, Sequence, Tuple, Union

import numpy

from ... import _host_blas
from ..._flags import STATE
from ..ndarray import NDArray
from ..operator import Operator
from .activation import ReluEpilogue
from .checks import check_array, int_tuple, is_int, write_out
from .accumulate import accurate_sum
from .im2col import WORKSPACE, Window, col2im, im2col, short_rows
from .layout import lies_batch_last
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

    def __init__(self, window: Window, groups: int, channel_last: bool,
                 batch_last_output: bool = False, batch_last_input: bool = False) -> None:
        self.window, self.groups, self.channel_last = window, groups, channel_last
        # channel-first only: run batch-last at every size, the output a view of the
        # product (see ``convolution_for_pooling``) ...
        self.batch_last_output = batch_last_output and not channel_last
        # ... or because the data lies batch-last (a pooled batch-last output), which
        # then gets its gradient in that order
        self.batch_last_input = batch_last_input and not channel_last
        nd = window.nd
        # channel-last (N, *S, C) -> channel-first (N, C, *S), and back
        self.to_first = (0, nd + 1) + tuple(range(1, nd + 1))
        self.to_last = (0,) + tuple(range(2, nd + 2)) + (1,)
        self.bias_axes = tuple(range(nd + 1)) if channel_last else (0,) + tuple(range(2, nd + 2))

    def runs_batch_last(self, out_sizes: Shape) -> bool:
        """Whether the products and copies work batch-last (``short_rows``)."""
        return self.batch_last_output or self.batch_last_input or short_rows(out_sizes)

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
            if view.flags.c_contiguous:      # y is that matrix already (a batch-last view)
                return view.reshape(g, f // g, n * p), False
        m = WORKSPACE.take(xp, view.shape, y.dtype)
        if not (batch_last and not self.channel_last and y.flags.c_contiguous
                and _host_blas.transpose_into(y.reshape(n, f * p), m.reshape(f * p, n))):
            m[...] = view
        return m.reshape(g, f // g, n * p), True

    def from_columns(self, xp, m, n: int, sizes: Shape, bias=None, batch_last: bool = False):
        """G matrices (G, Fg, N*prod(O)) (``batch_last``: (G, Fg, prod(O)*N)) as a new
        contiguous output-layout array (N, F, *O), plus ``bias`` (F,) on the channel axis."""
        g, fg = m.shape[:2]
        f, p = g * fg, math.prod(sizes)
        matrix = None                    # m as the 2-D matrix whose transpose is the output
        if batch_last:
            m3 = m.reshape(f, p, n)
            view = m3.transpose(2, 1, 0) if self.channel_last else m3.transpose(2, 0, 1)
            matrix = None if self.channel_last else m.reshape(f * p, n)
        elif self.channel_last:
            view = m.reshape(f, n * p).T                                   # (N*P, F)
            matrix = m.reshape(f, n * p)
        else:
            view = m.reshape(f, n, p).transpose(1, 0, 2)                   # (N, F, P)
        b = bias if bias is None or self.channel_last else bias.reshape(f, 1)
        out = xp.empty(view.shape, dtype=m.dtype)
        if b is None:
            if matrix is None or not _host_blas.transpose_into(
                    matrix, out.reshape(matrix.shape[::-1])):
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


# ------------------------------------------------------- raw computations
# products run image by image for outputs of at least this many pixels per image ...
PER_IMAGE_MIN_PIXELS = 256
# ... from windows of at most this many values (C/g * prod(K))
PER_IMAGE_MAX_DEPTH = 64


def per_image(geom: ConvGeometry, out_sizes: Shape, depth: int) -> bool:
    """Whether the products of a convolution run image by image: one batched product
    (N, F, C*K) x (N, C*K, P) over per-image im2col matrices gives the output in its
    channel-first layout at once, with no transposing copy of it (nor of the output
    gradient, for the weight gradient). Worth it when the products are shallow
    (``depth`` = C*prod(K) small: little arithmetic per output value, so the copies
    weigh) and each image's is wide (P = prod(O) large), without groups. Single-thread
    CPU time, forward and backward: LeNet's first layer (depth 25, P = 576) 0.79x;
    depths 75 to 288 at P = 784 to 1024 0.98-1.00x; ResNet's 3x3 layer (depth 576)
    1.08x, hence the limits."""
    return geom.groups == 1 and not geom.channel_last and not geom.batch_last_output \
        and not geom.batch_last_input and depth <= PER_IMAGE_MAX_DEPTH \
        and math.prod(out_sizes) >= PER_IMAGE_MIN_PIXELS


def _with_ones_row(geom: ConvGeometry, dtype) -> bool:
    """Whether a convolution with a bias takes it inside its product (a row of ones
    under the windows, see ``im2col``), and its bias gradient with the weight gradient
    (``conv_grad_weight``): without groups, in float32 or float64 (float16 products
    would sum the bias gradient in float16)."""
    return geom.groups == 1 and dtype.kind == "f" and dtype.itemsize >= 4


# the shifted products (``_shifted_product``) need this many input channels (the depth
# of each product) and at most this ratio of one image's grid to its output (3x3, pad
# 1, batch 32, forward against im2col: 56x56 with 64 channels 101 against 148 ms,
# 28x28 with 128 channels 72 against 103; 14x14 (ratio 1.15) with 256 channels 73
# against 74; 7x7 (1.31) with 512 channels 78 against 59)
SHIFTED_MIN_CHANNELS = 16
SHIFTED_MAX_GRID = 1.2


def _shifted_plan(xp, geom: ConvGeometry, window: Window, xf, out_sizes):
    """(padded sizes, each kernel offset's column shift) of a convolution that the
    shifted products take (``_shifted_product``), else None: on the host, float32 or
    float64 channel-first data, one group, stride and dilation 1, at least
    ``SHIFTED_MIN_CHANNELS`` input channels, a padded grid at most ``SHIFTED_MAX_GRID``
    times the output grid, no batch-last layout, and the BLAS reachable."""
    n, c, sizes = xf.shape[0], xf.shape[1], tuple(xf.shape[2:])
    # one image's grid: ``pad`` zeros before each row (each plane, each image), which
    # serve as the padding before it and, read past the end of the row before, as
    # that row's padding after it (the last image's: the slack after the grids)
    padded = tuple(s + p for s, p in zip(sizes, window.pad))
    if xp is not numpy or geom.groups != 1 or c < SHIFTED_MIN_CHANNELS or geom.channel_last \
            or geom.batch_last_output or geom.batch_last_input or not n \
            or any(st != 1 for st in window.stride) or any(d != 1 for d in window.dilate) \
            or any(o > g for o, g in zip(out_sizes, padded)) \
            or xf.dtype not in (numpy.float32, numpy.float64) \
            or math.prod(padded) > SHIFTED_MAX_GRID * math.prod(out_sizes) \
            or not _host_blas.ENABLED or _host_blas.openblas() is None:
        return None
    steps = [math.prod(padded[i + 1:]) for i in range(len(padded))]
    shifts = [sum(k * st for k, st in zip(offset, steps))
              for offset in itertools.product(*[range(k) for k in window.kernel])]
    return padded, shifts


def _on_grid(xp, a, window: Window, padded, slack: int):
    """Channel-first data ``a`` (N, C, *S) as one (C, N * prod(padded) + slack)
    workspace matrix, each image on its own grid of ``padded`` = S + pad, at offset
    ``pad`` along each axis (see ``_shifted_plan``); the rest, the leading ``pad``
    along each axis and the slack, is zero. Each value is written once."""
    n, c, sizes = a.shape[0], a.shape[1], a.shape[2:]
    length = n * math.prod(padded)
    flat = WORKSPACE.take(xp, (c, length + slack), a.dtype)
    flat[:, length:] = 0
    grids = flat[:, :length].reshape((c, n) + tuple(padded))
    for axis, p in enumerate(window.pad):
        if p:
            grids[(slice(None),) * (axis + 2) + (slice(0, p),)] = 0
    inside = (slice(None), slice(None)) + tuple(slice(p, p + s)
                                                for p, s in zip(window.pad, sizes))
    grids[inside] = a.swapaxes(0, 1)
    return flat


def _shifted_product(xp, window: Window, xf, wm, bias, out_sizes, plan):
    """A stride-1 convolution without im2col (``plan`` from ``_shifted_plan``).

    The zero-padded data is laid out as one (C, N * grid) matrix (``_on_grid``).
    Each kernel offset's product reads a view of it shifted by that offset (a fixed
    number of columns), and all of them accumulate into one (F, N * grid) output
    through the BLAS with beta 1 (``_host_blas.gemm``; NumPy's ``matmul`` cannot
    accumulate). The outputs computed at padding positions are dropped when the valid
    ones are copied to (N, F, *O). Each image's grid has the padding once between
    rows (see ``_shifted_plan``): 57x57 for 56x56 with pad 1. ResNet's 3x3 layer
    (batch 32, 64 channels, 56x56), predicting: 101 against 148 ms for im2col and one
    product; its nine products ran at 99-117 GFLOP/s (``benchmarks/conv.py
    --profile``)."""
    padded, shifts = plan
    n, c, f, kernel = xf.shape[0], xf.shape[1], wm.shape[1], window.kernel
    length = n * math.prod(padded)
    flat = _on_grid(xp, xf, window, padded, shifts[-1])
    taps = xp.ascontiguousarray(                                        # (prod(K), F, C)
        xp.moveaxis(wm[0].reshape((f, c) + kernel), (0, 1), (-2, -1))).reshape(-1, f, c)
    wide = WORKSPACE.take(xp, (f, length), xf.dtype)
    beta = 0.0
    if bias is not None:                 # the bias first, then every product adds to it
        wide[...] = bias.reshape(f, 1)
        beta = 1.0
    for tap, shift in zip(taps, shifts):
        _host_blas.gemm(1.0, tap, flat[:, shift:shift + length], beta, wide)
        beta = 1.0
    WORKSPACE.give(xp, flat)
    out = xp.empty((n, f) + tuple(out_sizes), dtype=xf.dtype)
    valid = (slice(None), slice(None)) + tuple(slice(0, o) for o in out_sizes)
    out[...] = wide.reshape((f, n) + padded)[valid].swapaxes(0, 1)
    WORKSPACE.give(xp, wide)
    return out


def _product(xp, geom: ConvGeometry, window: Window, xf, wm, bias, need_cols: bool = True):
    """conv over ``window`` of channel-first data ``xf`` (N, C, *S) with weight
    matrices ``wm`` (G, Fg, Cg*K): im2col, ONE product (batched over the groups,
    or over the images, see ``per_image``), and, unless per image, the copy to
    ``geom``'s output layout. The bias rides in the product where it can (a row of
    ones under the windows, the bias beside the weight; LeNet's first layer: 1.7
    against 2.5 ms with an add after), else it is added in that copy.
    Without ``need_cols``, a stride-1 convolution that ``_shifted_product`` takes
    makes no im2col matrix (None is returned for it).
    With ``geom.batch_last_output`` the batch-last product is returned as it is, a
    (N, F, *O) view of its (F, *O, N) matrix, with no copy (see
    ``convolution_for_pooling``). Returns (output, the im2col matrix)."""
    n, sizes = xf.shape[0], xf.shape[2:]
    out_sizes = window.out_sizes(sizes)
    if not need_cols:
        plan = _shifted_plan(xp, geom, window, xf, out_sizes)
        if plan is not None and wm.dtype == xf.dtype:
            return _shifted_product(xp, window, xf, wm, bias, out_sizes, plan), None
    p = math.prod(out_sizes)
    inside = bias is not None and _with_ones_row(geom, xf.dtype)
    if inside:
        wm = xp.concatenate([wm, bias.reshape(1, -1, 1)], axis=2)     # (1, F, C*K + 1)
    if per_image(geom, out_sizes, wm.shape[2] - inside):
        cols = im2col(xp, xf, window, out_sizes, per_image=True, ones_row=inside)
        y = xp.matmul(wm[0], cols.reshape(n, wm.shape[2], p))          # (N, F, P)
        if bias is not None and not inside:
            y += bias.reshape(-1, 1)
        return y.reshape(geom.data_shape(n, wm.shape[1], out_sizes)), cols
    batch_last = geom.runs_batch_last(out_sizes)
    cols = im2col(xp, xf, window, out_sizes, batch_last, ones_row=inside)
    c3 = cols.reshape(geom.groups, cols.size // (geom.groups * n * p), n * p)  # (G, Cg*K, N*P)
    f = geom.groups * wm.shape[1]
    if geom.batch_last_output:
        m = xp.matmul(wm, c3)                                           # (G, Fg, P*N), kept
        if bias is not None and not inside:
            m.reshape(f, p * n)[...] += bias.reshape(f, 1)
        moved = (window.nd + 1, 0) + tuple(range(1, window.nd + 1))
        return m.reshape((f,) + tuple(out_sizes) + (n,)).transpose(moved), cols
    m = WORKSPACE.take(xp, (geom.groups, wm.shape[1], n * p), c3.dtype)
    xp.matmul(wm, c3, out=m)                                            # (G, Fg, N*P)
    y = geom.from_columns(xp, m, n, out_sizes, None if inside else bias, batch_last)
    WORKSPACE.give(xp, m)
    return y, cols


def conv_forward(xp, geom: ConvGeometry, x, w, b=None, keep_cols: bool = False):
    """Data, weight (, bias) -> (output (N, F, *O) in the layout, the im2col matrix
    when ``keep_cols``, else None)."""
    y, cols = _product(xp, geom, geom.window, geom.channel_first(x), geom.weight_matrices(w), b,
                       need_cols=keep_cols)
    if not keep_cols and cols is not None:
        WORKSPACE.give(xp, cols)
        cols = None
    return y, cols


def conv_grad_weight(xp, geom: ConvGeometry, x, gy, cols=None, with_bias: bool = False):
    """d(sum(conv(x, W) * gy)) / dW: im2col(x) times the output gradient, one product.
    With ``with_bias`` (see ``_with_ones_row``) also the bias gradient, gy summed over
    the batch and spatial axes: returns (dW, db). Per image the product gives it in one
    more column (the im2col matrix's row of ones); otherwise ``_row_sums`` of the
    output gradient's matrix.

    ``cols``: x's im2col matrix if already made (it is given back to the workspace),
    with its row of ones if it has one; its layout (per image, batch-last or neither)
    follows from the sizes, as in ``_product``."""
    xf = geom.channel_first(x)
    n, c, sizes = xf.shape[0], xf.shape[1], xf.shape[2:]
    out_sizes = geom.window.out_sizes(sizes)
    p, depth = math.prod(out_sizes), c // geom.groups * math.prod(geom.window.kernel)
    images = per_image(geom, out_sizes, depth)
    if cols is None:
        batch_last = geom.runs_batch_last(out_sizes) and not images
        cols = im2col(xp, xf, geom.window, out_sizes, batch_last, images,
                      ones_row=with_bias and images)
    gb = None
    if images:                                             # the sum over the images of gy_n cols_n^T
        rows = cols.size // (n * p)                        # depth, or depth + 1 with the ones
        c3 = cols.reshape(n, rows, p)[:, :rows if with_bias else depth]
        per = xp.matmul(gy.reshape(n, gy.shape[1], p), c3.transpose(0, 2, 1))
        g = accurate_sum(xp, per, (0,))[None]                          # (1, F, C*K (+1))
        if with_bias and c3.shape[1] > depth:
            gb = xp.ascontiguousarray(g[0, :, depth])
    else:
        # without the ones row: a product of depth 577 instead of 576 took 77 against 66 ms
        # at ResNet's shapes; the bias gradient is then ``_row_sums`` of gy's matrix
        c3 = cols.reshape(geom.groups, cols.size // (geom.groups * n * p), n * p)[:, :depth]
        gm, owned = geom.columns(xp, gy, geom.runs_batch_last(out_sizes))  # (G, Fg, N*P)
        if geom.groups == 1 and depth <= SHALLOW_DEPTH and xp is numpy:
            g = _shallow_product(xp, gm[0], c3[0])[None]
        else:
            # (G, Cg*K, Fg): faster than gm times c3's transpose (LeNet's second layer 5.2
            # against 6.7 ms)
            g = xp.matmul(c3, gm.transpose(0, 2, 1)).transpose(0, 2, 1)
        if with_bias:
            gb = _row_sums(xp, gm.reshape(-1, n * p))
        if owned:
            WORKSPACE.give(xp, gm)
    WORKSPACE.give(xp, cols)
    gw = geom.weight_from_matrices(xp, g[:, :, :depth], c // geom.groups)
    if not with_bias:
        return gw
    return gw, (accurate_sum(xp, gy, geom.bias_axes) if gb is None else gb)


# windows of at most this many values (a first layer on 1 to 3 channels) have their
# weight gradient from blocks of ``_PRODUCT_BLOCK`` columns (``_shallow_product``)
SHALLOW_DEPTH = 32
_PRODUCT_BLOCK = 512


def _shallow_product(xp, gm, c2):
    """gm (F, L) times c2 (D, L)^T -> (F, D) for a long L and a small D: one batched
    product over blocks of ``_PRODUCT_BLOCK`` columns, the blocks' products added by
    ``accurate_sum`` (and the rest's product). OpenBLAS runs one product of depth L
    with so small a result at a fraction of its speed: LeNet's first layer (20 x 73,728
    times 73,728 x 25) 1.8 against 3.3 ms; depths of 75 and more were slower so."""
    f, length = gm.shape
    d = c2.shape[0]
    whole = length - length % _PRODUCT_BLOCK
    blocks = whole // _PRODUCT_BLOCK
    if blocks < 2:
        return xp.matmul(gm, c2.T)
    parts = xp.matmul(gm[:, :whole].reshape(f, blocks, _PRODUCT_BLOCK).transpose(1, 0, 2),
                      c2[:, :whole].reshape(d, blocks, _PRODUCT_BLOCK).transpose(1, 2, 0))
    total = accurate_sum(xp, parts, (0,))                               # (F, D)
    if whole < length:
        total += xp.matmul(gm[:, whole:], c2[:, whole:].T)
    return total


# values per block of ``_row_sums``
_SUM_BLOCK = 1024


def _row_sums(xp, m):
    """The sums of the rows of ``m`` (R, L): a matrix-vector product with ones over
    blocks of ``_SUM_BLOCK`` values (the BLAS's threads: 0.88 against 5.4 ms for NumPy's
    sum of ResNet's (64, 100,352) output gradient), then the blocks' sums added with
    ``accurate_sum``, so the error grows with the block, not with L."""
    r, length = m.shape
    whole = length - length % _SUM_BLOCK
    if whole == 0 or not m.flags.c_contiguous:          # (a transposed view: NumPy's sum)
        return accurate_sum(xp, m, (1,))
    ones = xp.ones(_SUM_BLOCK, dtype=m.dtype)
    parts = xp.matmul(m[:, :whole].reshape(r, whole // _SUM_BLOCK, _SUM_BLOCK), ones)
    total = accurate_sum(xp, parts, (1,))
    if whole < length:
        total += m[:, whole:].sum(axis=1)
    return total


def conv_grad_data(xp, geom: ConvGeometry, gy, w, in_sizes: Shape, b=None):
    """d(sum(conv(x, W) * gy)) / dx for x of spatial size ``in_sizes`` (MXNet's
    Deconvolution of gy), plus ``b`` on the channel axis. With
    ``geom.batch_last_input`` (x lay batch-last in memory) the batch-last result is
    returned as a view of its (C, *S, N) accumulator, in x's memory order, not a copy.

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
    if as_convolution:
        flipped = wm.reshape((g, fg, cg) + win.kernel)[(Ellipsis,) + (slice(None, None, -1),)
                                                       * win.nd]
        wt = xp.ascontiguousarray(flipped.swapaxes(1, 2)).reshape(g, cg, fg * k)
        window = Window(win.kernel, win.stride, win.dilate, full)
        plain = ConvGeometry(window, g, geom.channel_last)      # the output in its layout
        out, cols = _product(xp, plain, window, geom.channel_first(gy), wt, b, need_cols=False)
        if cols is not None:
            WORKSPACE.give(xp, cols)
        return out
    out_sizes = win.out_sizes(in_sizes)
    batch_last = geom.runs_batch_last(out_sizes)
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
        moved = acc.transpose(order)
        if geom.batch_last_input:
            out = moved
        else:
            out = xp.empty(moved.shape, dtype=acc.dtype)
            if geom.channel_last or not _host_blas.transpose_into(acc.reshape(-1, n),
                                                                 out.reshape(n, -1)):
                out[...] = moved
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


class ConvolutionOp(ReluEpilogue, Operator):
    """conv(x, W) (+ b): data, weight[, bias] -> output; see the module docstring."""

    name = "Convolution"
    saves_inputs = (0, 1)
    input_users = ((1,), (0,))       # data is read for the weight's gradient, weight for data's
    cols = None

    def __init__(self, geom: ConvGeometry, keep_cols: bool = False, relu: bool = False) -> None:
        self.geom, self.keep_cols = geom, keep_cols
        if relu:                     # relu(conv), one node (Conv2D(activation='relu'))
            self.fuse_relu()

    def forward(self, x, w, b=None):
        y, self.cols = conv_forward(self.xp, self.geom, x, w, b, self.keep_cols)
        self.in_sizes = self.geom.channel_first(x).shape[2:]
        return self.relu_output(y)

    def backward(self, gy):
        x, w = self.saved_inputs
        gy = self.relu_gradient(gy)
        cols, self.cols = self.cols, None
        gx = gw = gb = None
        bias = len(self.parents) == 3 and self.wants(2)
        if self.wants(1):            # first: its im2col buffer is then free for the data's
            if bias and _with_ones_row(self.geom, numpy.dtype(gy.dtype)):
                gw, gb = ConvolutionGradWOp(self.geom, cols, with_bias=True)(x, gy)
            else:
                gw = ConvolutionGradWOp(self.geom, cols)(x, gy)
        elif cols is not None:
            WORKSPACE.give(self.xp, cols)
        if self.wants(0):
            gx = DeconvolutionOp(self.geom, self.in_sizes)(gy, w)
        if len(self.parents) == 2:
            return gx, gw
        if bias and gb is None:
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
    """grad_w(x, gy): conv's weight gradient for data x and output gradient gy; with
    ``with_bias`` also its bias gradient (gy summed over the batch and spatial axes,
    from the same product: see ``conv_grad_weight``), a second output.

    Linear in each input; its gradient for incoming weight- and bias-shaped
    gradients h, hb is deconv(gy, h) for x and conv(x, h) + hb for gy. ``cols``:
    x's im2col matrix, when the forward convolution kept it.
    """

    name = "_backward_Convolution_weight"
    saves_inputs = (0, 1)
    input_users = ((1,), (0,))

    def __init__(self, geom: ConvGeometry, cols=None, with_bias: bool = False) -> None:
        self.geom, self.cols, self.with_bias = geom, cols, with_bias

    def forward(self, x, gy):
        cols, self.cols = self.cols, None
        self.in_sizes = self.geom.channel_first(x).shape[2:]
        return conv_grad_weight(self.xp, self.geom, x, gy, cols, self.with_bias)

    def backward(self, h, hb=None):
        x, gy = self.saved_inputs
        gx = ggy = None
        if self.wants(0):
            gx = DeconvolutionOp(self.geom, self.in_sizes)(gy, h)
        if self.wants(1):
            ggy = ConvolutionOp(self.geom)(x, h) if hb is None else \
                ConvolutionOp(self.geom)(x, h, hb)
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

    def geometry(self, window: Optional[Window] = None, batch_last_output: bool = False,
                 batch_last_input: bool = False) -> ConvGeometry:
        return ConvGeometry(window or self.window, self.groups, self.channel_last,
                            batch_last_output, batch_last_input)

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
    result = _convolution(data, weight, bias, kernel, stride, dilate, pad, num_filter,
                          num_group, no_bias, layout, False)
    return write_out(result, out, "Convolution")


def convolution_relu(data: NDArray, weight: NDArray, bias: Optional[NDArray] = None,
                     kernel: Optional[IntOrTuple] = None, stride: IntOrTuple = (),
                     dilate: IntOrTuple = (), pad: IntOrTuple = (),
                     num_filter: Optional[int] = None, num_group: int = 1,
                     no_bias: bool = False, layout: Optional[str] = None) -> NDArray:
    """``relu(Convolution(...))`` as one operator: what ``nn.Conv2D(activation='relu')``
    runs. Same arguments and shapes as ``Convolution``."""
    return _convolution(data, weight, bias, kernel, stride, dilate, pad, num_filter,
                        num_group, no_bias, layout, True)


# ``convolution_for_pooling`` goes batch-last from this batch size: shorter runs of
# the batch gave slower steps (a VGG-like net: 16 images 1.03-1.05x the time, 32
# images 0.96-0.98x, 128 images 0.95x; LeNet at 128: 0.85x)
BATCH_LAST_MIN_IMAGES = 32


def convolution_for_pooling(data: NDArray, weight: NDArray, bias: Optional[NDArray] = None,
                            kernel: Optional[IntOrTuple] = None, stride: IntOrTuple = (),
                            dilate: IntOrTuple = (), pad: IntOrTuple = (),
                            num_filter: Optional[int] = None, num_group: int = 1,
                            no_bias: bool = False, layout: Optional[str] = None) -> NDArray:
    """``Convolution(...)`` whose output goes straight into a pooling (a Sequential's
    ``Conv2D`` then ``MaxPool2D``). Channel-first layouts of at least
    ``BATCH_LAST_MIN_IMAGES`` images run batch-last at every size (not image by image),
    and the output is a (N, F, *O) view of the product's
    (F, *O, N) matrix instead of a transposed copy. The pooling then works in that
    memory order (contiguous runs of the batch) and its gradient comes back in it,
    which is the matrix the convolution's gradients multiply: two full-size transposes
    fewer per training step. Same arguments, shapes and values as ``Convolution`` (the
    gradients of a layer that would run image by image: to float rounding)."""
    return _convolution(data, weight, bias, kernel, stride, dilate, pad, num_filter,
                        num_group, no_bias, layout, False, batch_last_view=True)


def _convolution(data, weight, bias, kernel, stride, dilate, pad, num_filter, num_group,
                 no_bias, layout, relu: bool, batch_last_view: bool = False) -> NDArray:
    """Check the arguments of a Convolution call and apply the operator."""
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
    lies = lies_batch_last(data._data.shape, data._data.strides, data._data.itemsize)
    batch_last_view = batch_last_view and data._data.shape[0] >= BATCH_LAST_MIN_IMAGES
    geom = call.geometry(batch_last_output=batch_last_view, batch_last_input=lies)
    return ConvolutionOp(geom, keep_cols, relu)(*inputs)


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
