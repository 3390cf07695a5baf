"""Converters of arithmetic: elementwise and broadcasting binary operators, the
``_*_scalar`` operators, comparisons, unary math, clip, add_n, reductions, dot,
batch_dot, where, cast and the identities."""
from __future__ import annotations

from typing import List, Optional

import numpy

from .._graph import INT64_MAX, NodeContext
from ._registry import register

# --------------------------------------------------------------- binary operators
_BINARY = {
    "Add": ("elemwise_add", "_add", "_plus", "_Plus", "broadcast_add", "broadcast_plus"),
    "Sub": ("elemwise_sub", "_sub", "_minus", "_Minus", "broadcast_sub", "broadcast_minus"),
    "Mul": ("elemwise_mul", "_mul", "_Mul", "broadcast_mul"),
    "Div": ("elemwise_div", "_div", "_Div", "broadcast_div"),
    "Pow": ("_power", "_Power", "broadcast_power"),
    "Max": ("_maximum", "_Maximum", "broadcast_maximum"),
    "Min": ("_minimum", "_Minimum", "broadcast_minimum"),
}
_OP_OF = {name: onnx_op for onnx_op, names in _BINARY.items() for name in names}


@register(*_OP_OF)
def binary(ctx: NodeContext):
    ctx.need_inputs(2)
    return ctx.emit(_OP_OF[ctx.op], ctx.inputs, _OP_OF[ctx.op].lower())


# comparisons give 0/1 in the input's dtype, as MXNet's
_COMPARE = {
    "Equal": ("broadcast_equal", "_equal"),
    "NotEqual": ("broadcast_not_equal", "_not_equal"),
    "Greater": ("broadcast_greater", "_greater"),
    "GreaterOrEqual": ("broadcast_greater_equal", "_greater_equal"),
    "Less": ("broadcast_lesser", "_lesser"),
    "LessOrEqual": ("broadcast_lesser_equal", "_lesser_equal"),
}
_COMPARE_OF = {name: onnx_op for onnx_op, names in _COMPARE.items() for name in names}
_SCALAR_COMPARE_OF = {name + "_scalar": onnx_op for name, onnx_op in _COMPARE_OF.items()
                      if name.startswith("_")}


def _compare(ctx: NodeContext, onnx_op: str, lhs: str, rhs: str) -> str:
    negated = {"NotEqual": "Equal", "GreaterOrEqual": "Less", "LessOrEqual": "Greater"}
    if onnx_op in negated:          # (ONNX's *OrEqual are functions shape inference skips)
        result = ctx.emit("Not", [ctx.emit(negated[onnx_op], [lhs, rhs], "compare")], "not")
    else:
        result = ctx.emit(onnx_op, [lhs, rhs], onnx_op.lower())
    return ctx.emit("Cast", [result], "as_number", to=ctx.elem_type(0))


@register(*_COMPARE_OF)
def compare(ctx: NodeContext):
    ctx.need_inputs(2)
    return _compare(ctx, _COMPARE_OF[ctx.op], *ctx.inputs)


@register(*_SCALAR_COMPARE_OF)
def compare_scalar(ctx: NodeContext):
    ctx.need_inputs(1)
    return _compare(ctx, _SCALAR_COMPARE_OF[ctx.op], ctx.inputs[0], _scalar_const(ctx))


# --------------------------------------------------------------- scalar operators
_SCALAR = {   # MXNet name -> (ONNX op, scalar on the left)
    "_plus_scalar": ("Add", False), "_PlusScalar": ("Add", False),
    "_minus_scalar": ("Sub", False), "_MinusScalar": ("Sub", False),
    "_rminus_scalar": ("Sub", True), "_RMinusScalar": ("Sub", True),
    "_mul_scalar": ("Mul", False), "_MulScalar": ("Mul", False),
    "_div_scalar": ("Div", False), "_DivScalar": ("Div", False),
    "_rdiv_scalar": ("Div", True), "_RDivScalar": ("Div", True),
    "_power_scalar": ("Pow", False), "_PowerScalar": ("Pow", False),
    "_rpower_scalar": ("Pow", True), "_RPowerScalar": ("Pow", True),
    "_maximum_scalar": ("Max", False), "_MaximumScalar": ("Max", False),
    "_minimum_scalar": ("Min", False), "_MinimumScalar": ("Min", False),
}


def _scalar_const(ctx: NodeContext) -> str:
    value = ctx.attr_float("scalar", None)
    if value is None:
        raise ctx.fail("attribute 'scalar' is missing")
    return ctx.scalar(value, 0, "scalar")


@register(*_SCALAR)
def scalar_op(ctx: NodeContext):
    ctx.need_inputs(1)
    onnx_op, left = _SCALAR[ctx.op]
    x, c = ctx.inputs[0], _scalar_const(ctx)
    return ctx.emit(onnx_op, [c, x] if left else [x, c], onnx_op.lower())


# --------------------------------------------------------------- unary operators
_UNARY = {
    "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "abs": "Abs", "negative": "Neg",
    "reciprocal": "Reciprocal", "floor": "Floor", "ceil": "Ceil", "sign": "Sign",
    "sin": "Sin", "cos": "Cos", "tan": "Tan", "arcsin": "Asin", "arccos": "Acos",
    "arctan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "arcsinh": "Asinh",
    "arccosh": "Acosh", "arctanh": "Atanh", "erf": "Erf", "softrelu": "Softplus",
}


@register(*_UNARY)
def unary(ctx: NodeContext):
    ctx.need_inputs(1)
    return ctx.emit(_UNARY[ctx.op], ctx.inputs, ctx.op)


@register("square")
def square(ctx: NodeContext):
    ctx.need_inputs(1)
    return ctx.emit("Mul", [ctx.inputs[0], ctx.inputs[0]], "square")


@register("rsqrt")
def rsqrt(ctx: NodeContext):
    ctx.need_inputs(1)
    return ctx.emit("Reciprocal", [ctx.emit("Sqrt", ctx.inputs, "sqrt")], "rsqrt")


@register("log1p", "expm1", "log2", "log10", "round", "trunc", "fix")
def unary_composite(ctx: NodeContext):
    ctx.need_inputs(1)
    x = ctx.inputs[0]
    if ctx.op == "log1p":
        return ctx.emit("Log", [ctx.emit("Add", [x, ctx.scalar(1.0)], "x1")], "log1p")
    if ctx.op == "expm1":
        return ctx.emit("Sub", [ctx.emit("Exp", [x], "exp"), ctx.scalar(1.0)], "expm1")
    if ctx.op in ("log2", "log10"):
        base = 2.0 if ctx.op == "log2" else 10.0
        return ctx.emit("Div", [ctx.emit("Log", [x], "ln"), ctx.scalar(numpy.log(base))],
                        ctx.op)
    magnitude = ctx.emit("Abs", [x], "abs")
    if ctx.op == "round":           # half away from zero, as MXNet (ONNX's Round: to even)
        magnitude = ctx.emit("Add", [magnitude, ctx.scalar(0.5)], "half_up")
    magnitude = ctx.emit("Floor", [magnitude], "floor")
    return ctx.emit("Mul", [ctx.emit("Sign", [x], "sign"), magnitude], ctx.op)


@register("_copy", "identity", "BlockGrad", "stop_gradient", "make_loss", "MakeLoss")
def identity(ctx: NodeContext):
    """The value itself (gradient-only markers do nothing at inference)."""
    ctx.need_inputs(1)
    return ctx.inputs[0]


@register("clip")
def clip(ctx: NodeContext):
    ctx.need_inputs(1)
    low, high = ctx.attr_float("a_min", None), ctx.attr_float("a_max", None)
    inputs = [ctx.inputs[0], ctx.scalar(low, 0, "min") if low is not None else "",
              ctx.scalar(high, 0, "max") if high is not None else ""]
    while inputs[-1] == "":
        inputs.pop()
    return ctx.emit("Clip", inputs, "clip")


@register("add_n", "ElementWiseSum", "_sum")
def add_n(ctx: NodeContext):
    if not ctx.inputs:
        raise ctx.fail("no inputs")
    if len(ctx.inputs) == 1:
        return ctx.inputs[0]
    return ctx.emit("Sum", ctx.inputs, "sum")


@register("Cast", "cast", "amp_cast")
def cast(ctx: NodeContext):
    ctx.need_inputs(1)
    dtype = ctx.attr_str("dtype")
    if dtype is None:
        raise ctx.fail("attribute 'dtype' is missing")
    to = ctx.builder.onnx.helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype))
    return ctx.emit("Cast", ctx.inputs, "cast", to=to)


@register("where")
def where(ctx: NodeContext):
    ctx.need_inputs(3)
    condition = ctx.emit("Cast", [ctx.inputs[0]], "condition",
                         to=ctx.builder.onnx.TensorProto.BOOL)
    return ctx.emit("Where", [condition, ctx.inputs[1], ctx.inputs[2]], "where")


# --------------------------------------------------------------- reductions
_REDUCE = {"sum": "ReduceSum", "sum_axis": "ReduceSum", "mean": "ReduceMean",
           "max": "ReduceMax", "max_axis": "ReduceMax", "min": "ReduceMin",
           "min_axis": "ReduceMin", "prod": "ReduceProd", "nansum": None, "nanprod": None}


def _reduce_axes(ctx: NodeContext, rank: int) -> Optional[List[int]]:
    """The reduced axes (sorted, non-negative), None for all; ``exclude`` inverts."""
    axes = ctx.attr_ints("axis")
    exclude = ctx.attr_bool("exclude", False)
    if axes is None:
        return None if not exclude else []
    axes = sorted({ctx.axis(a, rank) for a in axes})
    return [a for a in range(rank) if a not in axes] if exclude else axes


def _full_reduction_shape(ctx: NodeContext, y: str, keepdims: bool) -> str:
    """MXNet gives shape (1,) where ONNX gives a 0-d result."""
    return y if keepdims else ctx.reshape(y, [1], "as_vector")


@register(*(name for name, op in _REDUCE.items() if op))
def reduce(ctx: NodeContext):
    """Sum/mean/max/min/prod over ``axis`` (all when absent), with keepdims and exclude;
    a full reduction without keepdims has shape (1,), as in MXNet."""
    ctx.need_inputs(1)
    rank = ctx.rank(0)
    axes = _reduce_axes(ctx, rank)
    keepdims = ctx.attr_bool("keepdims", False)
    x = ctx.inputs[0]
    if axes == []:
        return x
    y = ctx.reduce(_REDUCE[ctx.op], x, axes, keepdims, ctx.op)
    full = axes is None or len(axes) == rank
    return _full_reduction_shape(ctx, y, keepdims) if full else y


@register("norm")
def norm(ctx: NodeContext):
    """ord 2 -> ReduceL2, ord 1 -> ReduceL1."""
    ctx.need_inputs(1)
    order = ctx.attr_int("ord", 2)
    if order not in (1, 2):
        raise ctx.fail(f"ord={order} is not 1 or 2")
    rank = ctx.rank(0)
    axes = ctx.attr_ints("axis")
    axes = None if axes is None else sorted({ctx.axis(a, rank) for a in axes})
    keepdims = ctx.attr_bool("keepdims", False)
    y = ctx.reduce("ReduceL2" if order == 2 else "ReduceL1", ctx.inputs[0], axes, keepdims)
    full = axes is None or len(axes) == rank
    return _full_reduction_shape(ctx, y, keepdims) if full else y


@register("argmax", "argmin")
def arg_reduce(ctx: NodeContext):
    """ArgMax / ArgMin, as float32 indices (MXNet's output type); no axis: over all."""
    ctx.need_inputs(1)
    x = ctx.inputs[0]
    axis = ctx.attr_int("axis", None)
    keepdims = ctx.attr_bool("keepdims", False)
    onnx_op = "ArgMax" if ctx.op == "argmax" else "ArgMin"
    if axis is None:
        flat = ctx.reshape(x, [1, -1], "flat")
        y = ctx.emit(onnx_op, [flat], ctx.op, axis=1, keepdims=0)
        if keepdims:
            y = ctx.reshape(y, [1] * ctx.rank(0), "kept")
    else:
        y = ctx.emit(onnx_op, [x], ctx.op, axis=ctx.axis(axis, ctx.rank(0)),
                     keepdims=int(keepdims))
    return ctx.emit("Cast", [y], "as_float", to=ctx.builder.onnx.TensorProto.FLOAT)


# --------------------------------------------------------------- products
def _reverse_axes(ctx: NodeContext, x: str, hint: str) -> str:
    rank = len(ctx.builder.shape(x))
    if rank < 2:
        return x
    return ctx.emit("Transpose", [x], hint, perm=list(range(rank - 1, -1, -1)))


@register("dot")
def dot(ctx: NodeContext):
    """MXNet's dot: contracts the last axis of lhs with the first axis of rhs,
    (a..., k) . (k, b...) -> (a..., b...); transpose_* reverse all axes first."""
    ctx.need_inputs(2)
    lhs, rhs = ctx.inputs
    if ctx.attr_bool("transpose_a", False):
        lhs = _reverse_axes(ctx, lhs, "lhs_t")
    if ctx.attr_bool("transpose_b", False):
        rhs = _reverse_axes(ctx, rhs, "rhs_t")
    lhs_rank, rhs_rank = len(ctx.builder.shape(lhs)), len(ctx.builder.shape(rhs))
    if lhs_rank == 2 and rhs_rank == 2:
        return ctx.emit("MatMul", [lhs, rhs], "dot")
    k = ctx.builder.shape(lhs)[-1]
    if k is None:
        raise ctx.fail("the contracted dimension is unknown")
    matrix = ctx.emit("MatMul", [ctx.reshape(lhs, [-1, k], "lhs_2d"),
                                 ctx.reshape(rhs, [k, -1], "rhs_2d")], "matmul")
    lhs_shape = ctx.emit("Shape", [lhs], "lhs_shape")
    rhs_shape = ctx.emit("Shape", [rhs], "rhs_shape")
    parts = []
    if lhs_rank > 1:
        parts.append(ctx.emit("Slice", [lhs_shape, ctx.ints([0], "zero"),
                                        ctx.ints([-1], "minus_one")], "lhs_dims"))
    if rhs_rank > 1:
        parts.append(ctx.emit("Slice", [rhs_shape, ctx.ints([1], "one"),
                                        ctx.ints([INT64_MAX], "end")], "rhs_dims"))
    if not parts:
        return ctx.reshape(matrix, [1], "dot")
    shape = parts[0] if len(parts) == 1 else ctx.emit("Concat", parts, "out_shape", axis=0)
    static = ctx.builder.shape(lhs)[:-1] + ctx.builder.shape(rhs)[1:]
    return ctx.emit("Reshape", [matrix, shape], "dot", shape_hint=static)


@register("batch_dot")
def batch_dot(ctx: NodeContext):
    """MatMul of (B, m, k) by (B, k, n), transpose_* swapping the last two axes."""
    ctx.need_inputs(2)
    lhs, rhs = ctx.inputs
    for i, flag in ((0, "transpose_a"), (1, "transpose_b")):
        if ctx.attr_bool(flag, False):
            rank = ctx.rank(i)
            perm = list(range(rank - 2)) + [rank - 1, rank - 2]
            swapped = ctx.emit("Transpose", [ctx.inputs[i]], flag, perm=perm)
            lhs, rhs = (swapped, rhs) if i == 0 else (lhs, swapped)
    return ctx.emit("MatMul", [lhs, rhs], "batch_dot")
