"""Converters of shape and layout operators: Flatten, Reshape (MXNet's special codes),
transpose, SwapAxis, Concat, stack, split, expand_dims, squeeze, slice_axis, slice,
Pad, tile, flip, take, the broadcast_* and *_like operators, depth_to_space."""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy

from ...ndarray.ops.shape import infer_reshape
from .._graph import INT64_MAX, INT64_MIN, NodeContext
from ._registry import register


@register("Flatten", "flatten")
def flatten(ctx: NodeContext):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...)."""
    ctx.need_inputs(1)
    return ctx.emit("Flatten", ctx.inputs, "flatten", axis=1)


# --------------------------------------------------------------- Reshape
def _reshape_plan(ctx: NodeContext, spec: Sequence[int], reverse: bool,
                  rank: int) -> List[Tuple]:
    """Each output dimension of MXNet's reshape as ('const', k), ('dim', j),
    ('prod', j, j + 1), ('div', j, k) or ('infer',), j an input axis."""
    src = list(range(rank))
    req = list(spec)
    if reverse:
        src.reverse()
        req.reverse()
    plan: List[Tuple] = []
    i = j = 0
    while i < len(req):
        d = req[i]
        if d > 0:
            plan.append(("const", d))
            j += 1
        elif d == 0:
            if j >= rank:
                raise ctx.fail(f"shape {tuple(spec)}: 0 at position {i} has no input axis")
            plan.append(("dim", src[j]))
            j += 1
        elif d == -1:
            plan.append(("infer",))
            j += 1
        elif d == -2:
            plan.extend(("dim", a) for a in src[j:])
            j = rank
        elif d == -3:
            if j + 1 >= rank:
                raise ctx.fail(f"shape {tuple(spec)}: -3 at position {i} needs two input axes")
            first, second = sorted((src[j], src[j + 1]))
            plan.append(("prod", first, second))
            j += 2
        elif d == -4:
            if i + 2 >= len(req) or j >= rank:
                raise ctx.fail(f"shape {tuple(spec)}: -4 at position {i} needs an input axis "
                               f"and two values after it")
            a, b = req[i + 1], req[i + 2]
            if a == -1 and b == -1:
                raise ctx.fail(f"shape {tuple(spec)}: -4 cannot split into (-1, -1)")
            plan.append(("div", src[j], b) if a == -1 else ("const", a))
            plan.append(("div", src[j], a) if b == -1 else ("const", b))
            j += 1
            i += 2
        else:
            raise ctx.fail(f"shape {tuple(spec)}: {d} is not a valid dimension")
        i += 1
    if reverse:
        plan.reverse()
    return plan


def _shape_from_plan(ctx: NodeContext, x: str, plan: List[Tuple]) -> str:
    """The int64 target-shape tensor of ``plan``: a constant when every entry is a
    constant, -1 or an input axis kept in place (ONNX's 0); else built from Shape(x)."""
    if all(p[0] in ("const", "infer") or (p[0] == "dim" and p[1] == k)
           for k, p in enumerate(plan)):
        return ctx.ints([p[1] if p[0] == "const" else -1 if p[0] == "infer" else 0
                         for p in plan], "shape")
    shape = ctx.emit("Shape", [x], "in_shape")

    def dim(axis):
        return ctx.emit("Gather", [shape, ctx.ints([axis], "axis")], "dim", axis=0)
    parts = []
    for p in plan:
        if p[0] == "const":
            parts.append(ctx.ints([p[1]], "dim_const"))
        elif p[0] == "infer":
            parts.append(ctx.ints([-1], "dim_infer"))
        elif p[0] == "dim":
            parts.append(dim(p[1]))
        elif p[0] == "prod":
            parts.append(ctx.emit("Mul", [dim(p[1]), dim(p[2])], "dim_prod"))
        else:
            parts.append(ctx.emit("Div", [dim(p[1]), ctx.ints([p[2]], "divisor")], "dim_div"))
    return ctx.emit("Concat", parts, "target_shape", axis=0)


@register("Reshape", "reshape")
def reshape(ctx: NodeContext):
    """Reshape with MXNet's codes 0 (copy), -1 (infer), -2 (copy the rest), -3 (merge
    two), -4 (split one), and ``reverse``: a constant shape for a fixed input shape,
    else one computed from Shape(x) at run time."""
    ctx.need_inputs(1)
    if ctx.has("target_shape"):
        raise ctx.fail("the deprecated target_shape attribute is not supported; use shape")
    spec = ctx.attr_ints("shape")
    if spec is None:
        raise ctx.fail("attribute 'shape' is missing")
    reverse = ctx.attr_bool("reverse", False)
    x = ctx.inputs[0]
    shape = ctx.shape(0)
    plan = _reshape_plan(ctx, spec, reverse, len(shape))
    target = None
    if None not in shape:
        try:
            target = infer_reshape(spec, shape, reverse)
        except ValueError as err:
            raise ctx.fail(str(err)) from None
        if not ctx.dynamic:
            return ctx.reshape(x, target, "reshape")
    return ctx.emit("Reshape", [x, _shape_from_plan(ctx, x, plan)], "reshape",
                    shape_hint=target)


@register("reshape_like")
def reshape_like(ctx: NodeContext):
    ctx.need_inputs(2)
    if any(ctx.has(k) for k in ("lhs_begin", "lhs_end", "rhs_begin", "rhs_end")):
        raise ctx.fail("lhs_begin/lhs_end/rhs_begin/rhs_end are not supported")
    return ctx.emit("Reshape", [ctx.inputs[0], ctx.emit("Shape", [ctx.inputs[1]], "shape")],
                    "reshape_like", shape_hint=ctx.shape(1))


# --------------------------------------------------------------- axes
@register("transpose")
def transpose(ctx: NodeContext):
    """Permute by ``axes`` (reversed when absent)."""
    ctx.need_inputs(1)
    rank = ctx.rank(0)
    axes = ctx.attr_ints("axes")
    perm = list(range(rank - 1, -1, -1)) if axes is None else [ctx.axis(a, rank) for a in axes]
    if sorted(perm) != list(range(rank)):
        raise ctx.fail(f"axes {axes} is not a permutation of the {rank} axes")
    return ctx.emit("Transpose", ctx.inputs, "transpose", perm=perm)


@register("SwapAxis", "swapaxes")
def swapaxes(ctx: NodeContext):
    ctx.need_inputs(1)
    rank = ctx.rank(0)
    a = ctx.axis(ctx.attr_int("dim1", 0), rank)
    b = ctx.axis(ctx.attr_int("dim2", 0), rank)
    perm = list(range(rank))
    perm[a], perm[b] = perm[b], perm[a]
    return ctx.emit("Transpose", ctx.inputs, "swapaxes", perm=perm)


@register("expand_dims")
def expand_dims(ctx: NodeContext):
    ctx.need_inputs(1)
    axis = ctx.attr_int("axis", None)
    if axis is None:
        raise ctx.fail("attribute 'axis' is missing")
    return ctx.unsqueeze(ctx.inputs[0], [ctx.axis(axis, ctx.rank(0), extra=1)], "expand_dims")


@register("squeeze")
def squeeze(ctx: NodeContext):
    """Squeeze ``axis`` (all size-1 axes when absent); as MXNet, at least one axis stays."""
    ctx.need_inputs(1)
    shape = ctx.shape(0)
    axes = ctx.attr_ints("axis")
    if axes is None:
        y = ctx.emit("Squeeze", ctx.inputs, "squeeze")
        if all(d == 1 for d in shape):
            return ctx.reshape(y, [1], "squeeze_1d")
        return y
    axes = sorted({ctx.axis(a, len(shape)) for a in axes})
    y = ctx.squeeze(ctx.inputs[0], axes, "squeeze")
    return ctx.reshape(y, [1], "squeeze_1d") if len(axes) == len(shape) else y


# --------------------------------------------------------------- joining and splitting
@register("Concat", "concat")
def concat(ctx: NodeContext):
    if not ctx.inputs:
        raise ctx.fail("no inputs")
    axis = ctx.axis(ctx.attr_int("dim", 1), ctx.rank(0))
    return ctx.emit("Concat", ctx.inputs, "concat", axis=axis)


@register("stack")
def stack(ctx: NodeContext):
    if not ctx.inputs:
        raise ctx.fail("no inputs")
    axis = ctx.axis(ctx.attr_int("axis", 0), ctx.rank(0), extra=1)
    parts = [ctx.unsqueeze(x, [axis], "expanded") for x in ctx.inputs]
    return ctx.emit("Concat", parts, "stack", axis=axis)


@register("SliceChannel", "split")
def split(ctx: NodeContext):
    """Equal parts along ``axis`` (MXNet's outputs 0..n-1), squeezed with squeeze_axis."""
    ctx.need_inputs(1)
    n = ctx.attr_int("num_outputs", None)
    if n is None or n < 1:
        raise ctx.fail("attribute 'num_outputs' is missing or not positive")
    shape = ctx.shape(0)
    axis = ctx.axis(ctx.attr_int("axis", 1), len(shape))
    size = shape[axis]
    if size is None or size % n:
        raise ctx.fail(f"axis {axis} of shape {shape} cannot be split into {n} equal parts")
    # equal parts without sizes, so that a dynamic size along ``axis`` still splits
    extra = {"num_outputs": n} if ctx.opset >= 18 else {}
    parts = ctx.emit("Split", [ctx.inputs[0]], "split", n_outputs=n, axis=axis, **extra)
    parts = parts if n > 1 else [parts]
    if ctx.attr_bool("squeeze_axis", False):
        if size // n != 1:
            raise ctx.fail(f"squeeze_axis needs parts of size 1, got {size // n}")
        parts = [ctx.squeeze(p, [axis], "squeezed") for p in parts]
    return parts


# --------------------------------------------------------------- slicing
@register("slice_axis")
def slice_axis(ctx: NodeContext):
    ctx.need_inputs(1)
    axis = ctx.axis(ctx.attr_int("axis", None), ctx.rank(0))
    begin = ctx.attr_int("begin", 0)
    end = ctx.attr_int("end", None)
    return ctx.emit("Slice", [ctx.inputs[0], ctx.ints([begin], "starts"),
                              ctx.ints([INT64_MAX if end is None else end], "ends"),
                              ctx.ints([axis], "axes")], "slice_axis")


@register("slice", "crop")
def slice_(ctx: NodeContext):
    """begin/end/step tuples (None entries: the whole range in the step's direction)."""
    ctx.need_inputs(1)
    begin = ctx.attr_ints("begin", (), allow_none=True)
    end = ctx.attr_ints("end", (), allow_none=True)
    step = ctx.attr_ints("step", (), allow_none=True)
    if len(end) != len(begin) or (step and len(step) != len(begin)):
        raise ctx.fail(f"begin {begin}, end {end} and step {step} differ in length")
    starts, ends, steps = [], [], []
    for k in range(len(begin)):
        s = step[k] if step and step[k] is not None else 1
        if s == 0:
            raise ctx.fail("step cannot be 0")
        starts.append(begin[k] if begin[k] is not None else 0 if s > 0 else INT64_MAX)
        ends.append(end[k] if end[k] is not None else INT64_MAX if s > 0 else INT64_MIN)
        steps.append(s)
    return ctx.emit("Slice", [ctx.inputs[0], ctx.ints(starts, "starts"), ctx.ints(ends, "ends"),
                              ctx.ints(range(len(begin)), "axes"), ctx.ints(steps, "steps")],
                    "slice")


@register("flip", "reverse")
def flip(ctx: NodeContext):
    ctx.need_inputs(1)
    rank = ctx.rank(0)
    axes = sorted({ctx.axis(a, rank) for a in (ctx.attr_ints("axis") or ())})
    if not axes:
        raise ctx.fail("attribute 'axis' is missing")
    n = len(axes)
    return ctx.emit("Slice", [ctx.inputs[0], ctx.ints([-1] * n, "starts"),
                              ctx.ints([INT64_MIN] * n, "ends"), ctx.ints(axes, "axes"),
                              ctx.ints([-1] * n, "steps")], "flip")


@register("take")
def take(ctx: NodeContext):
    """Gather along ``axis``; mode 'clip' clips the indices, 'wrap' wraps them."""
    ctx.need_inputs(2)
    a, indices = ctx.inputs
    axis = ctx.axis(ctx.attr_int("axis", 0), ctx.rank(0))
    mode = ctx.attr_str("mode", "clip")
    index = ctx.emit("Cast", [indices], "index", to=ctx.builder.onnx.TensorProto.INT64)
    size = ctx.shape(0)[axis]
    if mode in ("clip", "wrap") and size is None:
        raise ctx.fail(f"mode {mode!r} needs the size of axis {axis}, which is unknown")
    if mode == "clip":
        index = ctx.emit("Clip", [index, ctx.const(numpy.int64(0), "low"),
                                  ctx.const(numpy.int64(size - 1), "high")], "clipped")
    elif mode == "wrap":
        index = ctx.emit("Mod", [index, ctx.const(numpy.int64(size), "size")], "wrapped")
    elif mode != "raise":
        raise ctx.fail(f"mode {mode!r} is not clip, wrap or raise")
    return ctx.emit("Gather", [a, index], "take", axis=axis)


# --------------------------------------------------------------- padding and tiling
@register("Pad", "pad")
def pad(ctx: NodeContext):
    """MXNet's flat pad_width (before_0, after_0, ...) -> ONNX's (befores..., afters...)."""
    ctx.need_inputs(1)
    rank = ctx.rank(0)
    width = ctx.attr_ints("pad_width")
    if width is None or len(width) != 2 * rank:
        raise ctx.fail(f"pad_width {width} must have 2 values per axis of the input "
                       f"{ctx.shape(0)}")
    mode = ctx.attr_str("mode", "constant")
    if mode not in ("constant", "edge", "reflect"):
        raise ctx.fail(f"mode {mode!r} is not constant, edge or reflect")
    pads = ctx.ints(list(width[0::2]) + list(width[1::2]), "pads")
    inputs = [ctx.inputs[0], pads]
    if mode == "constant":
        inputs.append(ctx.scalar(ctx.attr_float("constant_value", 0.0), 0, "value"))
    return ctx.emit("Pad", inputs, "pad", mode=mode)


@register("tile")
def tile(ctx: NodeContext):
    """Tile; shorter reps or inputs get leading 1s, as in NumPy."""
    ctx.need_inputs(1)
    reps = ctx.attr_ints("reps")
    if reps is None:
        raise ctx.fail("attribute 'reps' is missing")
    x, rank = ctx.inputs[0], ctx.rank(0)
    if len(reps) > rank:
        x = ctx.unsqueeze(x, list(range(len(reps) - rank)), "lead_ones")
    reps = (1,) * (rank - len(reps)) + tuple(reps)
    return ctx.emit("Tile", [x, ctx.ints(reps, "reps")], "tile")


# --------------------------------------------------------------- broadcasting
@register("broadcast_to")
def broadcast_to(ctx: NodeContext):
    """Expand; MXNet's 0 (keep the input's size) is 1 for ONNX's two-way broadcast."""
    ctx.need_inputs(1)
    shape = ctx.attr_ints("shape")
    if shape is None:
        raise ctx.fail("attribute 'shape' is missing")
    return ctx.emit("Expand", [ctx.inputs[0], ctx.ints([d if d else 1 for d in shape],
                                                        "shape")], "broadcast_to")


@register("broadcast_axis", "broadcast_axes")
def broadcast_axis(ctx: NodeContext):
    ctx.need_inputs(1)
    rank = ctx.rank(0)
    axes = ctx.attr_ints("axis", ())
    sizes = ctx.attr_ints("size", ())
    if len(axes) != len(sizes):
        raise ctx.fail(f"axis {axes} and size {sizes} differ in length")
    shape = [1] * rank
    for a, s in zip(axes, sizes):
        shape[ctx.axis(a, rank)] = s
    return ctx.emit("Expand", [ctx.inputs[0], ctx.ints(shape, "shape")], "broadcast_axis")


@register("broadcast_like")
def broadcast_like(ctx: NodeContext):
    ctx.need_inputs(2)
    if ctx.has("lhs_axes") or ctx.has("rhs_axes"):
        raise ctx.fail("lhs_axes/rhs_axes are not supported")
    lhs, rhs = ctx.shape(0), ctx.shape(1)
    static = None if None in lhs + rhs else numpy.broadcast_shapes(lhs, rhs)
    return ctx.emit("Expand", [ctx.inputs[0], ctx.emit("Shape", [ctx.inputs[1]], "shape")],
                    "broadcast_like", shape_hint=static)


@register("zeros_like", "ones_like")
def constant_like(ctx: NodeContext):
    ctx.need_inputs(1)
    value = ctx.builder.onnx.numpy_helper.from_array(
        numpy.array([0 if ctx.op == "zeros_like" else 1], dtype=ctx.dtype(0)))
    return ctx.emit("ConstantOfShape", [ctx.emit("Shape", ctx.inputs, "shape")], ctx.op,
                    shape_hint=ctx.shape(0), value=value)


@register("shape_array")
def shape_array(ctx: NodeContext):
    ctx.need_inputs(1)
    return ctx.emit("Shape", ctx.inputs, "shape_array")


@register("size_array")
def size_array(ctx: NodeContext):
    ctx.need_inputs(1)
    return ctx.reshape(ctx.emit("Size", ctx.inputs, "size"), [1], "size_array")


@register("depth_to_space", "space_to_depth")
def depth_to_space(ctx: NodeContext):
    ctx.need_inputs(1)
    block = ctx.attr_int("block_size", None)
    if block is None:
        raise ctx.fail("attribute 'block_size' is missing")
    if ctx.op == "depth_to_space":
        return ctx.emit("DepthToSpace", ctx.inputs, ctx.op, blocksize=block, mode="DCR")
    return ctx.emit("SpaceToDepth", ctx.inputs, ctx.op, blocksize=block)

