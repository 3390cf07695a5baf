"""Converters of the activations: Activation, LeakyReLU, the softmax family,
hard_sigmoid and the activation functions called by name (relu, sigmoid, ...)."""
from __future__ import annotations

import math

import numpy

from .._graph import NodeContext
from ._registry import register

# MXNet's SELU constants (src/operator/leaky_relu-inl.h)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_LAMBDA = 1.0507009873554804934193349852946


def _softplus(ctx: NodeContext, x: str) -> str:
    return ctx.emit("Softplus", [x], "softplus")


def _activation(ctx: NodeContext, act_type: str, x: str) -> str:
    if act_type == "relu":
        return ctx.emit("Relu", [x], "relu")
    if act_type == "sigmoid":
        return ctx.emit("Sigmoid", [x], "sigmoid")
    if act_type == "tanh":
        return ctx.emit("Tanh", [x], "tanh")
    if act_type == "softrelu":
        return _softplus(ctx, x)
    if act_type == "softsign":
        return ctx.emit("Softsign", [x], "softsign")
    if act_type == "log_sigmoid":        # log(sigmoid(x)) = -softplus(-x)
        return ctx.emit("Neg", [_softplus(ctx, ctx.emit("Neg", [x], "neg"))], "log_sigmoid")
    if act_type == "mish":
        return ctx.emit("Mul", [x, ctx.emit("Tanh", [_softplus(ctx, x)], "tanh")], "mish")
    raise ctx.fail(f"act_type {act_type!r} is not one of relu, sigmoid, tanh, softrelu, "
                   f"softsign, log_sigmoid, mish")


@register("Activation")
def activation(ctx: NodeContext):
    ctx.need_inputs(1)
    return _activation(ctx, ctx.attr_str("act_type", ""), ctx.inputs[0])


@register("relu", "sigmoid", "tanh", "softsign", "log_sigmoid", "mish")
def named_activation(ctx: NodeContext):
    ctx.need_inputs(1)
    return _activation(ctx, ctx.op, ctx.inputs[0])


@register("hard_sigmoid")
def hard_sigmoid(ctx: NodeContext):
    ctx.need_inputs(1)
    return ctx.emit("HardSigmoid", ctx.inputs, "hard_sigmoid",
                    alpha=ctx.attr_float("alpha", 0.2), beta=ctx.attr_float("beta", 0.5))


def _gelu(ctx: NodeContext, x: str, tanh_form: bool) -> str:
    if ctx.opset >= 20:
        return ctx.emit("Gelu", [x], "gelu", approximate="tanh" if tanh_form else "none")
    half_x = ctx.emit("Mul", [x, ctx.scalar(0.5)], "half_x")
    if tanh_form:       # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = ctx.emit("Mul", [ctx.emit("Mul", [x, x], "x2"), x], "x3")
        inner = ctx.emit("Add", [x, ctx.emit("Mul", [cube, ctx.scalar(0.044715)], "cx3")],
                         "inner")
        inner = ctx.emit("Mul", [inner, ctx.scalar(math.sqrt(2.0 / math.pi))], "inner_scaled")
        curve = ctx.emit("Tanh", [inner], "tanh")
    else:               # 0.5 x (1 + erf(x / sqrt(2)))
        curve = ctx.emit("Erf", [ctx.emit("Mul", [x, ctx.scalar(1.0 / math.sqrt(2.0))],
                                          "x_scaled")], "erf")
    return ctx.emit("Mul", [half_x, ctx.emit("Add", [curve, ctx.scalar(1.0)], "one_plus")],
                    "gelu")


@register("LeakyReLU")
def leaky_relu(ctx: NodeContext):
    """leaky -> LeakyRelu, elu -> Elu, selu -> Selu, prelu -> PRelu (gamma along axis 1),
    rrelu -> LeakyRelu with the mean slope (inference), gelu / gelu_tanh -> Gelu or its
    formula before opset 20."""
    act_type = ctx.attr_str("act_type", "leaky")
    x = ctx.inputs[0] if ctx.inputs else None
    slope = ctx.attr_float("slope", 0.25)
    if act_type == "prelu":
        ctx.need_inputs(2)
        gamma = ctx.inputs[1]
        gamma_shape, rank = ctx.shape(1), ctx.rank(0)
        if len(gamma_shape) == 1 and gamma_shape[0] != 1 and rank > 2:
            gamma = ctx.along_axis(gamma, 1, rank, "gamma_b")
        return ctx.emit("PRelu", [x, gamma], "prelu")
    ctx.need_inputs(1)
    if act_type == "leaky":
        return ctx.emit("LeakyRelu", [x], "leaky", alpha=slope)
    if act_type == "elu":
        return ctx.emit("Elu", [x], "elu", alpha=slope)
    if act_type == "selu":
        return ctx.emit("Selu", [x], "selu", alpha=_SELU_ALPHA, gamma=_SELU_LAMBDA)
    if act_type == "rrelu":
        lower = ctx.attr_float("lower_bound", 0.125)
        upper = ctx.attr_float("upper_bound", 0.334)
        return ctx.emit("LeakyRelu", [x], "rrelu", alpha=(lower + upper) / 2.0)
    if act_type in ("gelu", "gelu_erf", "gelu_tanh"):
        return _gelu(ctx, x, act_type == "gelu_tanh")
    raise ctx.fail(f"act_type {act_type!r} is not one of leaky, prelu, elu, selu, rrelu, "
                   f"gelu, gelu_erf, gelu_tanh")


def _softmax_input(ctx: NodeContext) -> str:
    """The softmax input, divided by the temperature, after the checks of the attributes."""
    ctx.need_inputs(1, 2)
    if ctx.attr_bool("use_length", False):
        raise ctx.fail("use_length=True (a length input) is not supported")
    x = ctx.inputs[0]
    temperature = ctx.attr_float("temperature", None)
    if temperature is not None and temperature != 1.0:
        x = ctx.emit("Div", [x, ctx.scalar(temperature)], "tempered")
    return x


def _cast_to(ctx: NodeContext, y: str) -> str:
    dtype = ctx.attr_str("dtype")
    if dtype is None:
        return y
    onnx = ctx.builder.onnx
    return ctx.emit("Cast", [y], "cast", to=onnx.helper.np_dtype_to_tensor_dtype(
        numpy.dtype(dtype)))


@register("softmax")
def softmax(ctx: NodeContext):
    x = _softmax_input(ctx)
    return _cast_to(ctx, ctx.emit("Softmax", [x], "softmax", axis=ctx.attr_int("axis", -1)))


@register("log_softmax")
def log_softmax(ctx: NodeContext):
    x = _softmax_input(ctx)
    return _cast_to(ctx, ctx.emit("LogSoftmax", [x], "log_softmax",
                                  axis=ctx.attr_int("axis", -1)))


@register("softmin")
def softmin(ctx: NodeContext):
    x = ctx.emit("Neg", [_softmax_input(ctx)], "neg")
    return _cast_to(ctx, ctx.emit("Softmax", [x], "softmin", axis=ctx.attr_int("axis", -1)))


@register("SoftmaxActivation")
def softmax_activation(ctx: NodeContext):
    """mode 'instance': softmax over all but the batch axis; 'channel': over axis 1."""
    ctx.need_inputs(1)
    x = ctx.inputs[0]
    if ctx.attr_str("mode", "instance") == "channel":
        return ctx.emit("Softmax", [x], "softmax", axis=1)
    flat = ctx.emit("Flatten", [x], "flatten", axis=1)
    y = ctx.emit("Softmax", [flat], "softmax", axis=1)
    return ctx.emit("Reshape", [y, ctx.emit("Shape", [x], "shape")], "softmax_activation",
                    shape_hint=ctx.shape(0))


# ------------------------------------------------------------------ loss outputs
@register("SoftmaxOutput")
def softmax_output(ctx: NodeContext):
    """The inference side of MXNet's SoftmaxOutput (the label input is dropped):
    softmax over axis 1 (multi_output), the last axis (preserve_shape), or over all
    but the batch axis."""
    ctx.need_inputs(1)
    x = ctx.inputs[0]
    if ctx.attr_bool("multi_output", False):
        return ctx.emit("Softmax", [x], "softmax", axis=1)
    if ctx.attr_bool("preserve_shape", False) or ctx.rank(0) == 2:
        return ctx.emit("Softmax", [x], "softmax", axis=-1)
    flat = ctx.emit("Flatten", [x], "flatten", axis=1)
    y = ctx.emit("Softmax", [flat], "softmax", axis=1)
    return ctx.emit("Reshape", [y, ctx.emit("Shape", [x], "shape")], "softmax_output",
                    shape_hint=ctx.shape(0))


@register("LinearRegressionOutput", "MAERegressionOutput", "LogisticRegressionOutput")
def regression_output(ctx: NodeContext):
    """The prediction of MXNet's regression outputs (the label input is dropped)."""
    ctx.need_inputs(1)
    if ctx.op == "LogisticRegressionOutput":
        return ctx.emit("Sigmoid", ctx.inputs, "sigmoid")
    return ctx.inputs[0]
