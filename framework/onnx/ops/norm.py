"""Converters of the normalisation layers: BatchNorm (inference form), LayerNorm,
InstanceNorm, GroupNorm, L2Normalization, LRN."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy

from .._graph import NodeContext
from ._registry import register


def _ones_like_param(ctx: NodeContext, i: int, hint: str) -> str:
    shape = ctx.shape(i)
    if None in shape:
        raise ctx.fail(f"the shape of input {i} is unknown")
    return ctx.const(numpy.ones(shape, dtype=ctx.dtype(i)), hint)


@register("BatchNorm")
def batch_norm(ctx: NodeContext):
    """BatchNormalization with the running statistics (the inference form).
    fix_gamma: gamma is taken as 1. An axis other than 1 is written out as arithmetic."""
    ctx.need_inputs(5)
    x, gamma, beta, mean, var = ctx.inputs
    eps = ctx.attr_float("eps", 1e-3)
    if ctx.attr_bool("fix_gamma", True):
        gamma = _ones_like_param(ctx, 1, "gamma_fixed")
    rank = ctx.rank(0)
    axis = ctx.axis(ctx.attr_int("axis", 1), rank)
    if axis == 1 and rank >= 2:
        return [ctx.emit("BatchNormalization", [x, gamma, beta, mean, var], "batchnorm",
                         epsilon=eps), None, None]
    std = ctx.emit("Sqrt", [ctx.emit("Add", [var, ctx.scalar_as(eps, var)], "var_eps")], "std")
    scale = ctx.emit("Div", [gamma, std], "scale")
    shift = ctx.emit("Sub", [beta, ctx.emit("Mul", [mean, scale], "mean_scaled")], "shift")
    y = ctx.emit("Mul", [x, ctx.along_axis(scale, axis, rank, "scale_b")], "scaled")
    return [ctx.emit("Add", [y, ctx.along_axis(shift, axis, rank, "shift_b")], "batchnorm"),
            None, None]


def _normalize(ctx: NodeContext, x: str, axes: Sequence[int], eps: float):
    """(x - mean) / sqrt(var + eps) over ``axes`` (kept); returns (y, mean, std)."""
    mean = ctx.reduce("ReduceMean", x, axes, True, "mean")
    centred = ctx.emit("Sub", [x, mean], "centred")
    var = ctx.reduce("ReduceMean", ctx.emit("Mul", [centred, centred], "squared"), axes, True,
                     "var")
    std = ctx.emit("Sqrt", [ctx.emit("Add", [var, ctx.scalar_as(eps, var)], "var_eps")], "std")
    return ctx.emit("Div", [centred, std], "normalized"), mean, std


@register("LayerNorm")
def layer_norm(ctx: NodeContext):
    """LayerNormalization over the last axis (opset 17+); other axes, older opsets and
    output_mean_var as ReduceMean arithmetic."""
    ctx.need_inputs(3)
    x, gamma, beta = ctx.inputs
    rank = ctx.rank(0)
    axis = ctx.axis(ctx.attr_int("axis", -1), rank)
    eps = ctx.attr_float("eps", 1e-5)
    with_stats = ctx.attr_bool("output_mean_var", False)
    if ctx.opset >= 17 and axis == rank - 1 and not with_stats:
        return [ctx.emit("LayerNormalization", [x, gamma, beta], "layernorm", axis=-1,
                         epsilon=eps), None, None]
    y, mean, std = _normalize(ctx, x, [axis], eps)
    y = ctx.emit("Mul", [y, ctx.along_axis(gamma, axis, rank, "gamma_b")], "scaled")
    y = ctx.emit("Add", [y, ctx.along_axis(beta, axis, rank, "beta_b")], "layernorm")
    return [y, mean, std] if with_stats else [y, None, None]


@register("InstanceNorm")
def instance_norm(ctx: NodeContext):
    """InstanceNormalization (gamma and beta per channel)."""
    ctx.need_inputs(3)
    if ctx.rank(0) < 3:
        raise ctx.fail(f"expected an input of rank 3 or more (N, C, ...), got {ctx.shape(0)}")
    return ctx.emit("InstanceNormalization", ctx.inputs, "instancenorm",
                    epsilon=ctx.attr_float("eps", 1e-3))


@register("GroupNorm")
def group_norm(ctx: NodeContext):
    """Written out: (N, C, ...) -> (N, G, rest), normalised over rest, scaled by the
    per-group gamma and beta of MXNet 1.x (shape (G,)), reshaped back."""
    ctx.need_inputs(3)
    x, gamma, beta = ctx.inputs
    groups = ctx.attr_int("num_groups", 1)
    shape = ctx.shape(0)
    if len(shape) < 2:
        raise ctx.fail(f"expected an input of rank 2 or more (N, C, ...), got {shape}")
    if shape[1] is not None and shape[1] % groups:
        raise ctx.fail(f"{shape[1]} channels cannot form num_groups={groups} groups")
    grouped = ctx.reshape(x, [0, groups, -1], "grouped")
    y, mean, std = _normalize(ctx, grouped, [2], ctx.attr_float("eps", 1e-5))
    y = ctx.emit("Mul", [y, ctx.reshape(gamma, [-1, 1], "gamma_b")], "scaled")
    y = ctx.emit("Add", [y, ctx.reshape(beta, [-1, 1], "beta_b")], "shifted")
    out = ctx.emit("Reshape", [y, ctx.emit("Shape", [x], "shape")], "groupnorm",
                   shape_hint=shape)
    if ctx.attr_bool("output_mean_var", False):
        return [out, ctx.squeeze(mean, [2], "mean_out"), ctx.squeeze(std, [2], "std_out")]
    return [out, None, None]


@register("L2Normalization")
def l2_normalization(ctx: NodeContext):
    """x / sqrt(sum(x^2) + eps) over all but the batch axis ('instance'), the channel
    axis ('channel') or the spatial axes ('spatial')."""
    ctx.need_inputs(1)
    x = ctx.inputs[0]
    rank = ctx.rank(0)
    mode = ctx.attr_str("mode", "instance")
    axes: Optional[list] = {"instance": list(range(1, rank)), "channel": [1],
                            "spatial": list(range(2, rank))}.get(mode)
    if axes is None:
        raise ctx.fail(f"mode {mode!r} is not instance, channel or spatial")
    squared = ctx.reduce("ReduceSum", ctx.emit("Mul", [x, x], "squared"), axes, True, "sumsq")
    eps = ctx.scalar(ctx.attr_float("eps", 1e-10))
    norm = ctx.emit("Sqrt", [ctx.emit("Add", [squared, eps], "sumsq_eps")], "norm")
    return ctx.emit("Div", [x, norm], "l2norm")


@register("LRN")
def lrn(ctx: NodeContext):
    """LRN across channels: x / (knorm + alpha / nsize * sum x^2)^beta."""
    ctx.need_inputs(1)
    size = ctx.attr_int("nsize", None)
    if size is None:
        raise ctx.fail("attribute 'nsize' is missing")
    return [ctx.emit("LRN", ctx.inputs, "lrn", size=size, alpha=ctx.attr_float("alpha", 1e-4),
                     beta=ctx.attr_float("beta", 0.75), bias=ctx.attr_float("knorm", 2.0)),
            None]
