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
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Tuple

__all__ = []        # helpers for conv.py; nothing for ``framework.nd``

Shape = Tuple[int, ...]


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


def padded(xp, x, pad: Shape):
    """(N, C, *S) -> (N, C, *(S + 2p)) with zeros around; ``x`` itself when ``pad`` is all 0."""
    if not any(pad):
        return x
    shape = x.shape[:2] + tuple(s + 2 * p for s, p in zip(x.shape[2:], pad))
    out = xp.zeros(shape, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(p, p + s) for s, p in
                                           zip(x.shape[2:], pad))] = x
    return out


def im2col(xp, x, window: Window, out_sizes: Shape, out=None):
    """Data (N, C, *S) (any strides) -> contiguous ``cols`` (C, *K, N, *O).

    ``cols[c, k..., n, o...] = x_padded[n, c, o*stride + k*dilate]``; written into
    ``out`` (a contiguous array of that shape) when given.
    """
    xpad = padded(xp, x, window.pad)
    n, c = xpad.shape[:2]
    s_n, s_c = xpad.strides[:2]
    spatial = xpad.strides[2:]
    shape = (c,) + window.kernel + (n,) + tuple(out_sizes)
    strides = ((s_c,) + tuple(s * d for s, d in zip(spatial, window.dilate))
               + (s_n,) + tuple(s * st for s, st in zip(spatial, window.stride)))
    view = xp.lib.stride_tricks.as_strided(xpad, shape=shape, strides=strides)
    if out is None:
        return xp.ascontiguousarray(view)
    out[...] = view
    return out


def _clipped(offset: int, stride: int, size: int, n_out: int):
    """For one axis and one kernel offset (already minus the padding): the slice of
    output positions whose input index ``offset + stride*j`` lies in [0, size), and
    the matching slice of inputs; None when there is none."""
    lo = max(0, -(offset // stride) if offset < 0 else 0)
    if offset < 0:
        lo = (-offset + stride - 1) // stride
    hi = min(n_out - 1, (size - 1 - offset) // stride) if size - 1 - offset >= 0 else -1
    if lo > hi:
        return None
    first = offset + stride * lo
    return slice(lo, hi + 1), slice(first, offset + stride * hi + 1, stride)


def col2im(xp, cols, window: Window, in_sizes: Shape, out):
    """Add ``cols`` (C, *K, N, *O) back into the windows they were taken from.

    ``out`` is a zeroed array viewed as (N, C, *S) (any strides: a channel-last
    buffer seen through a transposed view works); it is returned.
    """
    out_sizes = cols.shape[2 + window.nd:]
    target = out.swapaxes(0, 1)                           # (C, N, *S)
    for offsets in itertools.product(*(range(k) for k in window.kernel)):
        col_index, in_index = [slice(None), *offsets, slice(None)], [slice(None), slice(None)]
        for k, d, st, p, size, n_out in zip(offsets, window.dilate, window.stride, window.pad,
                                            in_sizes, out_sizes):
            clipped = _clipped(k * d - p, st, size, n_out)
            if clipped is None:
                break
            col_index.append(clipped[0])
            in_index.append(clipped[1])
        else:
            target[tuple(in_index)] += cols[tuple(col_index)]
    return out
