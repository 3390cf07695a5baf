"""``UpSampling``: nearest-neighbour or bilinear upsampling of (N, C, H, W) arrays
(MXNet's).

Nearest, one graph node per call: every input is repeated ``scale_i`` times along H and
W (a broadcast, then one reshape), and the results are concatenated along the
channels or summed. The gradient of input i is sum pooling of its part of the
output gradient over non-overlapping scale_i x scale_i windows; the gradient of
sum pooling is nearest upsampling again, so every order differentiates.
Bilinear is MXNet's depthwise ``Deconvolution`` with a given weight (one node too).
"""
from __future__ import annotations

from typing import Optional

import numpy

from ..ndarray import NDArray
from ..operator import Operator
from .checks import check_array, is_int, write_out
from .conv import Deconvolution
from .pooling import _SumPool, _Windows
from .slicing import slice_axis

__all__ = ["UpSampling"]


class _UpSamplingNearest(Operator):
    """Inputs (N, C_i, H_i, W_i) -> (N, sum C_i or C, H_0*scale, W_0*scale)."""

    name = "UpSampling"

    def __init__(self, scales, concat: bool) -> None:
        self.scales, self.concat = scales, concat

    def repeat(self, x, s: int):
        if s == 1:
            return x
        n, c, h, w = x.shape
        wide = self.xp.broadcast_to(x[:, :, :, None, :, None], (n, c, h, s, w, s))
        # a copy: for a 1x1 map the reshape alone would be a read-only view of x
        return self.xp.ascontiguousarray(wide).reshape(n, c, h * s, w * s)

    def forward(self, *xs):
        self.channels = [x.shape[1] for x in xs]
        ups = [self.repeat(x, s) for x, s in zip(xs, self.scales)]
        if self.concat and len(ups) > 1:
            return self.xp.concatenate(ups, axis=1)
        total = ups[0].copy() if ups[0] is xs[0] else ups[0]     # a new array, never a view
        for u in ups[1:]:
            total += u
        return total

    def backward(self, gy):
        grads = []
        begin = 0
        for i, (s, c) in enumerate(zip(self.scales, self.channels)):
            if self.wants(i):
                g = gy
                if self.concat and len(self.scales) > 1:
                    g = slice_axis(gy, 1, begin, begin + c)
                if s > 1:
                    win = _Windows(g.shape, (2, 3), (s, s), (s, s), (0, 0), False)
                    g = _SumPool(win, False, True)(g)
                grads.append(g)
            else:
                grads.append(None)
            begin += c
        return tuple(grads)


def _bilinear(data, scale: int, num_filter: int) -> NDArray:
    """MXNet's bilinear mode: a depthwise Deconvolution of data (N, C, H, W) with the
    weight (C, 1, k, k), k = 2*scale - scale % 2, stride scale, pad ceil((scale-1)/2)."""
    op = "UpSampling"
    if len(data) != 2:
        raise ValueError(f"operator {op}: sample_type='bilinear' takes 2 inputs, the data and "
                         f"the weight (C, 1, k, k), got {len(data)}")
    x, weight = data
    if x.ndim != 4:
        raise ValueError(f"operator {op}: data must be 4-D (N, C, H, W), got shape {x.shape}")
    channels = x.shape[1]
    if num_filter not in (0, channels):
        raise ValueError(f"operator {op}: bilinear num_filter={num_filter} must equal the "
                         f"data's channels {channels} (shape {x.shape})")
    k = 2 * scale - scale % 2
    p = scale // 2                                # ceil((scale - 1) / 2)
    if tuple(weight.shape) != (channels, 1, k, k):
        raise ValueError(f"operator {op}: bilinear weight has shape {weight.shape}, expected "
                         f"({channels}, 1, {k}, {k}) for scale {scale} and data {x.shape}")
    return Deconvolution(x, weight, kernel=(k, k), stride=(scale, scale), pad=(p, p),
                         num_filter=channels, num_group=channels, no_bias=True)


def UpSampling(*data: NDArray, scale: int, num_filter: int = 0, sample_type: str = "nearest",
               multi_input_mode: str = "concat", num_args: Optional[int] = None,
               workspace: int = 512, out: Optional[NDArray] = None,
               name: Optional[str] = None) -> NDArray:
    """Nearest-neighbour or bilinear upsampling (MXNet's ``UpSampling``).

    'nearest': data is one or more (N, C_i, H_i, W_i) arrays. The output is (H_0*scale, W_0*scale)
    spatially; input i is repeated (H_0*scale)/H_i times (which must be a whole
    number, the same for W). ``multi_input_mode`` 'concat' joins the results along
    the channels (N, sum C_i, ...); 'sum' adds them (equal C_i). ``num_args``
    (default: the number of inputs) is checked; ``num_filter``, ``workspace`` and
    ``name`` are accepted for MXNet scripts and have no effect.
    'bilinear': data is (x, weight), x (N, C, H, W) and weight (C, 1, k, k) with
    k = 2*scale - scale % 2 (a bilinear kernel: MXNet's ``init.Bilinear``); the result is the
    depthwise ``Deconvolution`` of x by weight, stride ``scale``, pad ceil((scale-1)/2):
    (N, C, H*scale, W*scale). ``num_filter`` is 0 or C.
    """
    op = "UpSampling"
    if sample_type not in ("nearest", "bilinear"):
        raise ValueError(f"operator {op}: sample_type must be 'nearest' or 'bilinear', got "
                         f"{sample_type!r}")
    if multi_input_mode not in ("concat", "sum"):
        raise ValueError(f"operator {op}: multi_input_mode must be 'concat' or 'sum', got "
                         f"{multi_input_mode!r}")
    if not data:
        raise ValueError(f"operator {op}: needs at least one input array")
    for x in data:
        check_array(x, op)
    if num_args is not None and num_args != len(data):
        raise ValueError(f"operator {op}: num_args={num_args} but {len(data)} inputs were given")
    if not is_int(scale) or scale < 1:
        raise ValueError(f"operator {op}: scale must be a positive int, got {scale!r}")
    if sample_type == "bilinear":
        return write_out(_bilinear(data, int(scale), num_filter), out, op)
    first = data[0]
    dtype = numpy.dtype(first.dtype)
    shapes = [x.shape for x in data]
    for x in data:
        if x.ndim != 4:
            raise ValueError(f"operator {op}: inputs must be 4-D (N, C, H, W), got shapes "
                             f"{shapes}")
        if numpy.dtype(x.dtype) != dtype or dtype.kind != "f":
            raise TypeError(f"operator {op}: inputs must share one floating-point dtype, got "
                            f"{[numpy.dtype(a.dtype).name for a in data]}")
        if x.shape[0] != first.shape[0]:
            raise ValueError(f"operator {op}: inputs differ in batch size: shapes {shapes}")
    out_h, out_w = first.shape[2] * int(scale), first.shape[3] * int(scale)
    scales = []
    for x in data:
        h, w = x.shape[2], x.shape[3]
        if h == 0 or w == 0 or out_h % h or out_w % w or out_h // h != out_w // w:
            raise ValueError(f"operator {op}: input of shape {x.shape} cannot be upsampled "
                             f"by a whole factor to the output size ({out_h}, {out_w}) "
                             f"(first input {first.shape} times scale {scale}); shapes {shapes}")
        scales.append(out_h // h)
    if multi_input_mode == "sum" and any(x.shape[1] != first.shape[1] for x in data):
        raise ValueError(f"operator {op}: multi_input_mode='sum' needs equal channel counts, "
                         f"got shapes {shapes}")
    result = _UpSamplingNearest(tuple(scales), multi_input_mode == "concat")(*data)
    return write_out(result, out, op)
