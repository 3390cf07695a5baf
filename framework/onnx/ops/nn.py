"""Converters of MXNet's neural-network layers: FullyConnected, Convolution,
Deconvolution, Pooling, Dropout, Embedding, UpSampling.

ONNX's Conv, ConvTranspose and pools are channel-first; a channel-last node (NWC,
NHWC, NDHWC) is written as its channel-first twin between two Transposes, its
weight transposed too (``via_channel_first``)."""
from __future__ import annotations

import functools
import math
from typing import List, Tuple

import numpy

from .._graph import NodeContext
from ._registry import register

_CHANNEL_FIRST = (None, "NCW", "NCHW", "NCDHW")
_CHANNEL_LAST = ("NWC", "NHWC", "NDHWC")


def via_channel_first(weight: bool):
    """Decorator of a channel-first converter: a channel-last node gets Transposes of
    its data (N, *S, C) -> (N, C, *S), of its weight (input 1, when ``weight``:
    MXNet's channel-last (F, *K, C/g) -> (F, C/g, *K), the same permutation) and of
    its output back."""
    def wrap(converter):
        @functools.wraps(converter)
        def convert(ctx: NodeContext):
            layout = ctx.attr_str("layout")
            if layout in _CHANNEL_FIRST:
                return converter(ctx)
            if layout not in _CHANNEL_LAST:
                raise ctx.fail(f"layout {layout!r} is not one of NCW, NCHW, NCDHW, NWC, NHWC, "
                               f"NDHWC")
            rank = len(layout)
            if ctx.rank(0) != rank:
                raise ctx.fail(f"layout {layout} needs an input of rank {rank}, got shape "
                               f"{ctx.shape(0)}")
            to_first = [0, rank - 1] + list(range(1, rank - 1))
            inputs = list(ctx.inputs)
            inputs[0] = ctx.emit("Transpose", [inputs[0]], "channel_first", perm=to_first)
            if weight and len(inputs) > 1:
                inputs[1] = ctx.emit("Transpose", [inputs[1]], "weight_channel_first",
                                     perm=to_first)
            ctx.inputs = inputs
            y = converter(ctx)
            return ctx.emit("Transpose", [y], "channel_last",
                            perm=[0] + list(range(2, rank)) + [1])
        return convert
    return wrap


def _window(ctx: NodeContext, spatial: int, need_kernel: bool = True):
    """kernel, stride, dilate, pad of a convolution or pool over ``spatial`` axes."""
    kernel = ctx.attr_ints("kernel")
    if kernel is None:
        if need_kernel:
            raise ctx.fail("attribute 'kernel' is missing")
        kernel = ()
    if need_kernel and len(kernel) != spatial:
        raise ctx.fail(f"kernel {kernel} has {len(kernel)} dimensions, but the input of shape "
                       f"{ctx.shape(0)} has {spatial} spatial dimensions")
    n = len(kernel)

    def tup(key, default):
        value = ctx.attr_ints(key, (default,) * n)
        if len(value) != n:
            raise ctx.fail(f"{key} {value} does not match kernel {kernel}")
        return value
    return kernel, tup("stride", 1), tup("dilate", 1), tup("pad", 0)


def _spatial(ctx: NodeContext) -> int:
    rank = ctx.rank(0)
    if not 3 <= rank <= 5:
        raise ctx.fail(f"expected an input of rank 3, 4 or 5 (N, C, spatial...), got shape "
                       f"{ctx.shape(0)}")
    return rank - 2


# ----------------------------------------------------------------- FullyConnected
@register("FullyConnected")
def fully_connected(ctx: NodeContext):
    """flatten: Gemm(Flatten(x), W, b, transB); else MatMul(x, W^T) + b."""
    no_bias = ctx.attr_bool("no_bias", False)
    ctx.need_inputs(2, 3)
    x, weight = ctx.inputs[0], ctx.inputs[1]
    bias = ctx.inputs[2] if len(ctx.inputs) == 3 and not no_bias else None
    if len(ctx.inputs) == 2 and not no_bias:
        raise ctx.fail("no_bias is False but the node has no bias input")
    if ctx.attr_bool("flatten", True):
        if ctx.rank(0) != 2:
            x = ctx.emit("Flatten", [x], "flatten", axis=1)
        return ctx.emit("Gemm", [x, weight] + ([bias] if bias else []), "gemm", transB=1)
    weight_t = ctx.emit("Transpose", [weight], "weight_t", perm=[1, 0])
    y = ctx.emit("MatMul", [x, weight_t], "matmul")
    return ctx.emit("Add", [y, bias], "add") if bias else y


# ----------------------------------------------------------------- Convolution
@register("Convolution")
@via_channel_first(weight=True)
def convolution(ctx: NodeContext):
    """Conv (1-3 spatial dimensions, groups, dilation)."""
    ctx.need_inputs(2, 3)
    kernel, stride, dilate, pad = _window(ctx, _spatial(ctx))
    no_bias = ctx.attr_bool("no_bias", False)
    if len(ctx.inputs) == 2 and not no_bias:
        raise ctx.fail("no_bias is False but the node has no bias input")
    inputs = ctx.inputs[:2] if no_bias else ctx.inputs[:3]
    return ctx.emit("Conv", inputs, "conv", kernel_shape=list(kernel), strides=list(stride),
                    dilations=list(dilate), pads=list(pad) * 2,
                    group=ctx.attr_int("num_group", 1))


@register("Deconvolution")
@via_channel_first(weight=True)
def deconvolution(ctx: NodeContext):
    """ConvTranspose: adj -> output_padding; target_shape -> the pads and adj MXNet derives."""
    ctx.need_inputs(2, 3)
    spatial = _spatial(ctx)
    kernel, stride, dilate, pad = _window(ctx, spatial)
    adj = ctx.attr_ints("adj", (0,) * spatial)
    target = ctx.attr_ints("target_shape")
    if target is not None and any(target):
        if len(target) != spatial:
            raise ctx.fail(f"target_shape {target} does not match kernel {kernel}")
        sizes = ctx.shape(0)[2:]
        if None in sizes:
            raise ctx.fail("target_shape needs the input's spatial sizes, which are unknown")
        pad, adj = [], []
        for size, k, s, d, t in zip(sizes, kernel, stride, dilate, target):
            total = s * (size - 1) + d * (k - 1) + 1 - t
            if total < 0:
                raise ctx.fail(f"target_shape {target} is larger than the input {sizes} "
                               f"can reach with stride {stride}")
            adj.append(total % 2)
            pad.append((total + 1) // 2)
    no_bias = ctx.attr_bool("no_bias", True)
    inputs = ctx.inputs[:3] if len(ctx.inputs) == 3 and not no_bias else ctx.inputs[:2]
    return ctx.emit("ConvTranspose", inputs, "deconv", kernel_shape=list(kernel),
                    strides=list(stride), dilations=list(dilate), pads=list(pad) * 2,
                    output_padding=list(adj), group=ctx.attr_int("num_group", 1))


# ----------------------------------------------------------------- Pooling
@register("Pooling")
@via_channel_first(weight=False)
def pooling(ctx: NodeContext):
    """MaxPool / AveragePool / sum and lp pools; global forms; 'full' -> ceil_mode."""
    ctx.need_inputs(1)
    spatial = _spatial(ctx)
    x = ctx.inputs[0]
    pool_type = ctx.attr_str("pool_type", "max")
    if pool_type not in ("max", "avg", "sum", "lp"):
        raise ctx.fail(f"pool_type {pool_type!r} is not one of max, avg, sum, lp")
    p_value = None
    if pool_type == "lp":
        p_value = ctx.attr_int("p_value", None)
        if p_value not in (1, 2, 3):
            raise ctx.fail(f"pool_type 'lp' needs p_value 1, 2 or 3, got {p_value!r}")
        x = x if p_value == 1 else ctx.emit("Pow", [x, ctx.scalar(p_value)], "pow")
    if ctx.attr_bool("global_pool", False):
        axes = list(range(2, 2 + spatial))
        if pool_type == "max":
            return ctx.emit("GlobalMaxPool", [x], "global_max")
        if pool_type == "avg":
            return ctx.emit("GlobalAveragePool", [x], "global_avg")
        summed = ctx.reduce("ReduceSum", x, axes, True, "global_sum")
        return _lp_root(ctx, summed, p_value)
    kernel, stride, _, pad = _window(ctx, spatial)
    if ctx.has("dilate") and any(d != 1 for d in ctx.attr_ints("dilate")):
        raise ctx.fail("MXNet's Pooling has no dilation")
    convention = ctx.attr_str("pooling_convention", "valid")
    if convention not in ("valid", "full"):
        raise ctx.fail(f"pooling_convention {convention!r} is not supported "
                       f"(only 'valid' and 'full')")
    full = convention == "full"
    sizes, missing = _pool_sizes(ctx, kernel, stride, pad, full)
    include = ctx.attr_bool("count_include_pad", True)
    if pool_type in ("sum", "lp") or (pool_type == "avg" and include and any(missing)):
        summed = _sum_pool(ctx, x, kernel, stride, pad, sizes)
        if pool_type != "avg":
            return _lp_root(ctx, summed, p_value)
        return ctx.emit("Div", [summed, _window_counts(ctx, kernel, stride, pad, sizes)],
                        "avgpool")
    window = dict(kernel_shape=list(kernel), strides=list(stride))
    if any(missing):
        # MXNet keeps a last window lying wholly in the padding, ONNX drops it (and ONNX's
        # shape inference before opset 22 disagrees with onnxruntime on how many remain):
        # pool in floor mode with the end padding that gives the other windows exactly,
        # then append the missing ones
        ends = [max((n - m - 1) * s + k - size - p, 0) for size, k, s, p, n, m in
                zip(ctx.shape(0)[2:], kernel, stride, pad, sizes, missing)]
        window.update(pads=list(pad) + ends, ceil_mode=0)
    else:
        window.update(pads=list(pad) * 2, ceil_mode=int(full))
    if pool_type == "max":
        y = ctx.emit("MaxPool", [x], "maxpool", **window)
        fill = float(numpy.finfo(ctx.dtype(0)).min)
    else:
        y = ctx.emit("AveragePool", [x], "avgpool", count_include_pad=int(include), **window)
        fill = 0.0
    if any(missing):
        pads = [0] * (2 + spatial) + [0, 0] + list(missing)
        y = ctx.emit("Pad", [y, ctx.ints(pads, "pads"), ctx.scalar(fill)], "pad_windows")
    return y


def _window_counts(ctx: NodeContext, kernel, stride, pad, sizes) -> str:
    """MXNet's divisor of each 'avg' window counting the padding: the window clipped to
    the padded input, at least 1; a constant broadcasting against (N, C, *sizes)."""
    total = numpy.ones((1, 1) + tuple(sizes), dtype=ctx.dtype(0))
    for axis, (size, k, s, p, n) in enumerate(zip(ctx.shape(0)[2:], kernel, stride, pad,
                                                  sizes)):
        start = numpy.arange(n) * s - p
        count = numpy.maximum(numpy.minimum(start + k, size + p) - start, 1)
        shape = [1] * total.ndim
        shape[2 + axis] = n
        total = total * count.reshape(shape).astype(total.dtype)
    return ctx.const(total, "window_counts")


def _pool_sizes(ctx: NodeContext, kernel, stride, pad, full: bool) -> Tuple[List, List]:
    """MXNet's output sizes, and per axis how many trailing windows (lying wholly in the
    padding) ONNX's ceil_mode does not produce."""
    sizes, missing = [], []
    for size, k, s, p in zip(ctx.shape(0)[2:], kernel, stride, pad):
        if size is None:
            raise ctx.fail("the spatial sizes of the input are unknown")
        span = size + 2 * p - k
        if span < 0:
            raise ctx.fail(f"kernel {kernel} with pad {pad} is larger than the input "
                           f"{ctx.shape(0)}")
        n = (-(-span // s) if full else span // s) + 1
        sizes.append(n)
        missing.append(1 if full and (n - 1) * s >= size + p else 0)
    return sizes, missing


def _sum_pool(ctx: NodeContext, x: str, kernel, stride, pad, sizes) -> str:
    """Sum pooling as a depthwise convolution with a kernel of ones (zero padding, and
    extra trailing padding for MXNet's 'full' windows)."""
    channels = ctx.shape(0)[1]
    if channels is None:
        raise ctx.fail("sum pooling needs the number of channels, which is unknown")
    ends = []
    for size, k, s, p, n in zip(ctx.shape(0)[2:], kernel, stride, pad, sizes):
        ends.append(max(p, (n - 1) * s + k - size - p))
    ones = ctx.const(numpy.ones((channels, 1) + tuple(kernel), dtype=ctx.dtype(0)), "ones")
    return ctx.emit("Conv", [x, ones], "sumpool", kernel_shape=list(kernel),
                    strides=list(stride), pads=list(pad) + ends, group=channels)


def _lp_root(ctx: NodeContext, summed: str, p_value) -> str:
    """The p-th root of an lp pool's sum (x for sum pooling and p = 1)."""
    if p_value in (None, 1):
        return summed
    if p_value == 2:
        return ctx.emit("Sqrt", [summed], "sqrt")
    magnitude = ctx.emit("Pow", [ctx.emit("Abs", [summed], "abs"),
                                 ctx.scalar_as(1.0 / 3.0, summed)], "cbrt_abs")
    return ctx.emit("Mul", [ctx.emit("Sign", [summed], "sign"), magnitude], "cbrt")


# ----------------------------------------------------------------- Dropout
@register("Dropout")
def dropout(ctx: NodeContext):
    """Identity: the exported graph is for inference."""
    ctx.need_inputs(1)
    return [ctx.inputs[0], None]


# ----------------------------------------------------------------- Embedding
@register("Embedding")
def embedding(ctx: NodeContext):
    """Gather(weight, clip(int64(data), 0, input_dim - 1)): MXNet clips bad indices."""
    ctx.need_inputs(2)
    data, weight = ctx.inputs
    rows = ctx.builder.shape(weight)[0]
    rows = ctx.attr_int("input_dim", rows) if rows is None else rows
    index = ctx.emit("Cast", [data], "index", to=ctx.builder.onnx.TensorProto.INT64)
    index = ctx.emit("Clip", [index, ctx.const(numpy.int64(0), "low"),
                              ctx.const(numpy.int64(rows - 1), "high")], "index_clipped")
    return ctx.emit("Gather", [weight, index], "gather", axis=0)


# ----------------------------------------------------------------- UpSampling
@register("UpSampling")
def upsampling(ctx: NodeContext):
    """nearest: Resize (floor, asymmetric) per input, then Concat or Sum;
    bilinear: the depthwise ConvTranspose MXNet runs with the given weight."""
    scale = ctx.attr_int("scale", None)
    if scale is None or scale < 1:
        raise ctx.fail(f"scale must be a positive int, got {ctx.attrs.get('scale')!r}")
    sample_type = ctx.attr_str("sample_type", "nearest")
    if sample_type == "bilinear":
        ctx.need_inputs(2)
        channels = ctx.shape(0)[1]
        k, pad = 2 * scale - scale % 2, math.ceil((scale - 1) / 2)
        return ctx.emit("ConvTranspose", ctx.inputs[:2], "bilinear", kernel_shape=[k, k],
                        strides=[scale, scale], pads=[pad] * 4, group=channels)
    if sample_type != "nearest":
        raise ctx.fail(f"sample_type {sample_type!r} is not 'nearest' or 'bilinear'")
    if not ctx.inputs:
        raise ctx.fail("no inputs")
    first = ctx.shape(0)
    outs = []
    for i, x in enumerate(ctx.inputs):
        shape = ctx.shape(i)
        if len(shape) != 4:
            raise ctx.fail(f"inputs must be 4-D (N, C, H, W), got {shape}")
        factor = scale
        if i > 0:
            if None in shape[2:] or None in first[2:] or (first[2] * scale) % shape[2]:
                raise ctx.fail(f"input {i} of shape {shape} is not upsampled by a whole factor "
                               f"to {first[2] * scale}")
            factor = first[2] * scale // shape[2]
        scales = ctx.const(numpy.array([1, 1, factor, factor], dtype=numpy.float32), "scales")
        outs.append(ctx.emit("Resize", [x, "", scales], "resize", mode="nearest",
                             coordinate_transformation_mode="asymmetric",
                             nearest_mode="floor"))
    if len(outs) == 1:
        return outs[0]
    if ctx.attr_str("multi_input_mode", "concat") == "sum":
        return ctx.emit("Sum", outs, "sum")
    return ctx.emit("Concat", outs, "concat", axis=1)
