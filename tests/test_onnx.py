"""fw.onnx.export_model: the files pass onnx.checker and onnxruntime reproduces framework.

Each converter is tested on a small MXNet JSON graph written here (the format of
MXNet 1.x's -symbol.json); the reference output runs the same nodes through the
framework.nd operators of the same names and arguments. The real MXNet 1.9.1 exports
in ../shared/data/mxnet/ are converted and checked against their output.npy.
"""
import json
import pathlib
import sys

import numpy
import onnx
import onnxruntime
import pytest

import framework as fw
from framework import onnx as fw_onnx

MXNET_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mxnet"
TOL = dict(rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------ MXNet JSON graphs
def _mx_str(value) -> str:
    """An attribute value written as MXNet writes it."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join("None" if v is None else str(v) for v in value) + \
            ("," if len(value) == 1 else "") + ")"
    return str(value)


class Graph:
    """An MXNet symbol graph under construction, with the Python arguments of each node
    kept for the reference run."""

    def __init__(self):
        self.nodes, self.kwargs = [], []

    def var(self, name):
        self.nodes.append({"op": "null", "name": name, "inputs": []})
        self.kwargs.append({})
        return (len(self.nodes) - 1, 0)

    def op(self, op, *inputs, name=None, n_out=1, **attrs):
        idx = len(self.nodes)
        self.nodes.append({"op": op, "name": name or f"{op.lower()}{idx}",
                           "attrs": {k: _mx_str(v) for k, v in attrs.items()},
                           "inputs": [[i, k, 0] for i, k in inputs]})
        self.kwargs.append(attrs)
        return (idx, 0) if n_out == 1 else [(idx, k) for k in range(n_out)]

    def json(self, *heads):
        return {"nodes": self.nodes,
                "arg_nodes": [i for i, n in enumerate(self.nodes) if n["op"] == "null"],
                "heads": [[i, k, 0] for i, k in heads],
                "attrs": {"mxnet_version": ["int", 10901]}}


_SCALAR_REFERENCE = {
    "_plus_scalar": lambda x, s: x + s, "_minus_scalar": lambda x, s: x - s,
    "_rminus_scalar": lambda x, s: s - x, "_mul_scalar": lambda x, s: x * s,
    "_div_scalar": lambda x, s: x / s, "_rdiv_scalar": lambda x, s: s / x,
    "_power_scalar": lambda x, s: x ** s, "_rpower_scalar": lambda x, s: s ** x,
    "_maximum_scalar": lambda x, s: fw.nd.maximum(x, s),
    "_minimum_scalar": lambda x, s: fw.nd.minimum(x, s),
    "_maximum": lambda x, y: fw.nd.maximum(x, y), "_minimum": lambda x, y: fw.nd.minimum(x, y),
    "_copy": lambda x: x.copy(),
    "_equal_scalar": lambda x, s: x == s, "_greater_scalar": lambda x, s: x > s,
    "_lesser_equal_scalar": lambda x, s: x <= s,
}


def reference(graph, values):
    """Run the graph's nodes through framework.nd (predict mode); the heads as NumPy."""
    results = {}
    for idx, node in enumerate(graph["nodes"]):
        if node["op"] == "null":
            results[(idx, 0)] = fw.nd.array(values[node["name"]], dtype=values[node["name"]].dtype)
            continue
        args = [results[(i, k)] for i, k, _ in node["inputs"]]
        kwargs = dict(REFERENCE_KWARGS[id(graph)][idx])
        if node["op"] in _SCALAR_REFERENCE:
            out = _SCALAR_REFERENCE[node["op"]](*args, *kwargs.values())
        else:
            out = getattr(fw.nd, node["op"])(*args, **kwargs)
        outs = out if isinstance(out, (list, tuple)) else [out]
        for k, o in enumerate(outs):
            results[(idx, k)] = o
    return [results[(i, k)].asnumpy() for i, k, _ in graph["heads"]]


REFERENCE_KWARGS = {}


def finish(g, *heads):
    graph = g.json(*heads)
    REFERENCE_KWARGS[id(graph)] = g.kwargs
    return graph


def run_onnx(path, feeds):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, feeds))), session


def check_export(tmp_path, graph, inputs, params, opset=None, **kwargs):
    """Export, check with onnx.checker, run with onnxruntime, compare with framework."""
    path = tmp_path / "model.onnx"
    returned = fw_onnx.export_model(graph, dict(params), [x.shape for x in inputs],
                                    [x.dtype for x in inputs], str(path),
                                    opset_version=opset, **kwargs)
    assert returned == str(path)
    values = dict(params)
    names = [n["name"] for n in graph["nodes"] if n["op"] == "null" and n["name"] not in params]
    values.update(zip(names, inputs))
    expected = reference(graph, values)
    got, session = run_onnx(path, inputs)
    assert len(got) == len(expected)
    for g, e, declared in zip(got, expected, session.get_outputs()):
        assert g.shape == e.shape
        if not kwargs.get("dynamic"):
            assert tuple(declared.shape) == e.shape, declared.name
        numpy.testing.assert_allclose(g, e, **TOL)
    return session


# ------------------------------------------------------------------ single-node cases
RNG = numpy.random.RandomState(0)


def normal(*shape):
    return RNG.standard_normal(shape).astype(numpy.float32)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape).astype(numpy.float32)


def one_op(op, data, params=(), n_out=1, **attrs):
    """A graph of one ``op`` node reading inputs ``data`` [(name, array)] then
    parameters ``params`` [(name, array)]; returns (graph, inputs, param dict)."""
    g = Graph()
    refs = [g.var(name) for name, _ in data] + [g.var(name) for name, _ in params]
    out = g.op(op, *refs, n_out=n_out, **attrs)
    heads = out if isinstance(out, list) else [out]
    return finish(g, *heads), [a for _, a in data], dict(params)


def conv_case(nd, groups=1, no_bias=False, **attrs):
    c_in, c_out, k = 4, 6, 3
    shape = (2, c_in) + (7, 6, 5)[:nd]
    params = [("weight", normal(c_out, c_in // groups, *(k,) * nd))]
    if not no_bias:
        params.append(("bias", normal(c_out)))
    return one_op("Convolution", [("data", normal(*shape))], params, kernel=(k,) * nd,
                  num_filter=c_out, num_group=groups, no_bias=no_bias, **attrs)


def deconv_case(nd, groups=1, no_bias=True, **attrs):
    c_in, c_out, k = 4, 6, 3
    shape = (2, c_in) + (5, 4, 3)[:nd]
    params = [("weight", normal(c_in, c_out // groups, *(k,) * nd))]
    if not no_bias:
        params.append(("bias", normal(c_out)))
    return one_op("Deconvolution", [("data", normal(*shape))], params, kernel=(k,) * nd,
                  num_filter=c_out, num_group=groups, no_bias=no_bias, **attrs)


def pool_case(shape=(2, 3, 7, 6), **attrs):
    return one_op("Pooling", [("data", normal(*shape))], **attrs)


def bn_params(c, positive_var=True):
    return [("gamma", normal(c)), ("beta", normal(c)), ("running_mean", normal(c)),
            ("running_var", positive(c))]


def unary_case(op, data=None, **attrs):
    return one_op(op, [("data", normal(2, 3, 4) if data is None else data)], **attrs)


def binary_case(op, lhs_shape=(2, 3, 4), rhs_shape=(2, 3, 4), rhs=None):
    return one_op(op, [("lhs", normal(*lhs_shape)),
                       ("rhs", normal(*rhs_shape) if rhs is None else rhs)])


CASES = {
    # FullyConnected
    "fc_flatten": lambda: one_op("FullyConnected", [("data", normal(2, 3, 4))],
                                 [("weight", normal(5, 12)), ("bias", normal(5))], num_hidden=5),
    "fc_no_bias": lambda: one_op("FullyConnected", [("data", normal(2, 12))],
                                 [("weight", normal(5, 12))], num_hidden=5, no_bias=True),
    "fc_no_flatten": lambda: one_op("FullyConnected", [("data", normal(2, 3, 4))],
                                    [("weight", normal(5, 4)), ("bias", normal(5))],
                                    num_hidden=5, flatten=False),
    # Convolution
    "conv1d": lambda: conv_case(1, stride=(2,), pad=(1,)),
    "conv2d": lambda: conv_case(2, stride=(2, 1), pad=(1, 2), dilate=(1, 2)),
    "conv2d_groups_no_bias": lambda: conv_case(2, groups=2, no_bias=True),
    "conv3d": lambda: conv_case(3, pad=(1, 0, 1)),
    # Deconvolution
    "deconv1d": lambda: deconv_case(1, stride=(2,), pad=(1,), adj=(1,)),
    "deconv2d_bias_groups": lambda: deconv_case(2, groups=2, no_bias=False, stride=(2, 2),
                                                pad=(1, 0), adj=(1, 0)),
    "deconv2d_dilate": lambda: deconv_case(2, dilate=(2, 1)),
    "deconv2d_target_shape": lambda: deconv_case(2, stride=(2, 2), target_shape=(10, 8)),
    "deconv3d": lambda: deconv_case(3, stride=(1, 2, 1)),
    # Pooling
    "pool_max": lambda: pool_case(kernel=(3, 2), stride=(2, 2), pad=(1, 0)),
    "pool_max_full": lambda: pool_case(kernel=(2, 3), stride=(2, 2), pad=(1, 1),
                                       pooling_convention="full"),
    "pool_avg_pad": lambda: pool_case(kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                                      pool_type="avg"),
    "pool_avg_full_exclude_pad": lambda: pool_case(kernel=(2, 2), stride=(2, 2), pad=(1, 1),
                                                   pool_type="avg", pooling_convention="full",
                                                   count_include_pad=False),
    "pool_avg_full_include_pad": lambda: pool_case(kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                                                   pool_type="avg", pooling_convention="full"),
    "pool_avg_full_include_pad_edge": lambda: pool_case(kernel=(2, 2), stride=(2, 2),
                                                        pad=(1, 1), pool_type="avg",
                                                        pooling_convention="full"),
    "pool_sum": lambda: pool_case(kernel=(2, 2), stride=(2, 2), pool_type="sum",
                                  pooling_convention="full"),
    "pool_lp2": lambda: pool_case(kernel=(2, 2), stride=(1, 1), pool_type="lp", p_value=2),
    "pool_lp3": lambda: pool_case(kernel=(2, 2), stride=(2, 2), pool_type="lp", p_value=3),
    "pool_global_max": lambda: pool_case(kernel=(1, 1), global_pool=True),
    "pool_global_avg": lambda: pool_case(kernel=(1, 1), global_pool=True, pool_type="avg"),
    "pool_global_sum": lambda: pool_case(kernel=(1, 1), global_pool=True, pool_type="sum"),
    "pool_1d": lambda: pool_case((2, 3, 9), kernel=(3,), stride=(2,), pool_type="avg"),
    "pool_3d": lambda: pool_case((1, 2, 5, 4, 6), kernel=(2, 2, 3), stride=(1, 2, 2)),
    # normalisation
    "batchnorm": lambda: one_op("BatchNorm", [("data", normal(2, 3, 4, 5))], bn_params(3),
                                fix_gamma=False, eps=1e-5),
    "batchnorm_fix_gamma": lambda: one_op("BatchNorm", [("data", normal(2, 3, 4))],
                                          bn_params(3)),
    "batchnorm_axis_last": lambda: one_op("BatchNorm", [("data", normal(2, 4, 3))],
                                          bn_params(3), fix_gamma=False, axis=-1,
                                          use_global_stats=True),
    "layernorm": lambda: one_op("LayerNorm", [("data", normal(2, 3, 6))],
                                [("gamma", normal(6)), ("beta", normal(6))]),
    "layernorm_axis1": lambda: one_op("LayerNorm", [("data", normal(2, 3, 6))],
                                      [("gamma", normal(3)), ("beta", normal(3))], axis=1,
                                      eps=1e-3),
    "instancenorm": lambda: one_op("InstanceNorm", [("data", normal(2, 3, 5, 4))],
                                   [("gamma", normal(3)), ("beta", normal(3))]),
    "groupnorm": lambda: one_op("GroupNorm", [("data", normal(2, 6, 5, 4))],
                                [("gamma", normal(3)), ("beta", normal(3))], num_groups=3),
    "l2normalization": lambda: unary_case("L2Normalization", mode="channel"),
    "lrn": lambda: one_op("LRN", [("data", normal(2, 5, 3, 3))], nsize=3),
    "dropout": lambda: unary_case("Dropout", p=0.5),
    # activations
    **{f"activation_{t}": (lambda t=t: unary_case("Activation", act_type=t))
       for t in ("relu", "sigmoid", "tanh", "softrelu", "softsign", "log_sigmoid", "mish")},
    **{f"leaky_{t}": (lambda t=t: unary_case("LeakyReLU", act_type=t, slope=0.3))
       for t in ("leaky", "elu", "selu", "gelu", "gelu_tanh", "rrelu")},
    "leaky_prelu": lambda: one_op("LeakyReLU", [("data", normal(2, 3, 4, 2))],
                                  [("gamma", normal(3))], act_type="prelu"),
    "leaky_prelu_one_slope": lambda: one_op("LeakyReLU", [("data", normal(2, 3, 4))],
                                            [("gamma", normal(1))], act_type="prelu"),
    "softmax": lambda: unary_case("softmax", axis=1),
    "softmax_temperature": lambda: unary_case("softmax", temperature=2.5),
    "log_softmax": lambda: unary_case("log_softmax", axis=-1),
    "softmin": lambda: unary_case("softmin", axis=0),
    "hard_sigmoid": lambda: unary_case("hard_sigmoid", alpha=0.3, beta=0.4),
    **{name: (lambda name=name: unary_case(name))
       for name in ("relu", "sigmoid", "tanh", "exp", "abs", "negative", "square",
                    "floor", "ceil", "round", "sign", "sin", "erf", "expm1", "trunc")},
    **{name: (lambda name=name: unary_case(name, positive(2, 3, 4)))
       for name in ("log", "sqrt", "rsqrt", "reciprocal", "log1p", "log2", "log10")},
    **{name: (lambda name=name: unary_case(name, RNG.uniform(-0.9, 0.9, (2, 3))
                                           .astype(numpy.float32)))
       for name in ("arcsin", "arccos", "arctan", "arctanh", "arcsinh", "cos", "tan", "sinh",
                    "cosh", "fix", "softsign", "log_sigmoid", "mish", "stop_gradient",
                    "BlockGrad")},
    "arccosh": lambda: unary_case("arccosh", positive(2, 3) + 1),
    "softmax_activation": lambda: unary_case("SoftmaxActivation", normal(2, 3, 2)),
    "softmax_activation_channel": lambda: unary_case("SoftmaxActivation", normal(2, 3, 2),
                                                     mode="channel"),
    "clip": lambda: unary_case("clip", a_min=-0.5, a_max=0.7),
    # shapes
    "flatten": lambda: unary_case("Flatten", normal(2, 3, 2, 2)),
    "reshape_0_-1": lambda: unary_case("Reshape", normal(2, 3, 4), shape=(0, -1)),
    "reshape_-2": lambda: unary_case("Reshape", normal(2, 3, 4, 5), shape=(-1, 0, -2)),
    "reshape_-3": lambda: unary_case("Reshape", normal(2, 3, 4, 5), shape=(-3, -2)),
    "reshape_-4": lambda: unary_case("Reshape", normal(2, 6, 4), shape=(0, -4, 2, -1, 0)),
    "reshape_reverse": lambda: unary_case("Reshape", normal(2, 3, 4), shape=(-1, 0),
                                          reverse=True),
    "reshape_lowercase": lambda: unary_case("reshape", normal(2, 3, 4), shape=(4, 0, -1)),
    "transpose": lambda: unary_case("transpose", normal(2, 3, 4), axes=(1, 2, 0)),
    "transpose_default": lambda: unary_case("transpose", normal(2, 3, 4)),
    "swapaxes": lambda: unary_case("SwapAxis", normal(2, 3, 4), dim1=0, dim2=2),
    "expand_dims": lambda: unary_case("expand_dims", axis=-1),
    "squeeze_axis": lambda: unary_case("squeeze", normal(2, 1, 3, 1), axis=(1,)),
    "squeeze_all": lambda: unary_case("squeeze", normal(2, 1, 3, 1)),
    "squeeze_to_vector": lambda: unary_case("squeeze", normal(1, 1)),
    "slice_axis": lambda: unary_case("slice_axis", axis=2, begin=1, end=3),
    "slice_axis_to_end": lambda: unary_case("slice_axis", axis=-1, begin=-3, end=None),
    "slice": lambda: unary_case("slice", normal(4, 5, 6), begin=(1, None, 4),
                                end=(3, None, None), step=(1, 2, -1)),
    "flip": lambda: unary_case("flip", axis=(0, 2)),
    "tile": lambda: unary_case("tile", normal(2, 3), reps=(2, 1, 2)),
    "pad_constant": lambda: unary_case("Pad", normal(1, 2, 3, 3), mode="constant",
                                       pad_width=(0, 0, 0, 0, 1, 2, 2, 1), constant_value=1.5),
    "pad_reflect": lambda: unary_case("Pad", normal(1, 2, 4, 4), mode="reflect",
                                      pad_width=(0, 0, 0, 0, 1, 2, 2, 1)),
    "pad_edge": lambda: unary_case("Pad", normal(1, 2, 4, 4), mode="edge",
                                   pad_width=(0, 0, 0, 0, 1, 1, 0, 2)),
    "broadcast_to": lambda: unary_case("broadcast_to", normal(2, 1, 4), shape=(0, 3, 4)),
    "broadcast_axis": lambda: unary_case("broadcast_axis", normal(2, 1, 1), axis=(1, 2),
                                         size=(3, 2)),
    "depth_to_space": lambda: unary_case("depth_to_space", normal(1, 8, 2, 3), block_size=2),
    "space_to_depth": lambda: unary_case("space_to_depth", normal(1, 2, 4, 6), block_size=2),
    "concat": lambda: one_op("Concat", [("a", normal(2, 3, 2)), ("b", normal(2, 1, 2)),
                                        ("c", normal(2, 4, 2))], dim=1, num_args=3),
    "stack": lambda: one_op("stack", [("a", normal(2, 3)), ("b", normal(2, 3))], axis=1,
                            num_args=2),
    "split": lambda: one_op("SliceChannel", [("data", normal(2, 6, 3))], n_out=3,
                            num_outputs=3, axis=1),
    "split_squeeze": lambda: one_op("split", [("data", normal(2, 3, 2))], n_out=2,
                                    num_outputs=2, axis=-1, squeeze_axis=True),
    # arithmetic
    **{name: (lambda name=name: binary_case(name))
       for name in ("elemwise_add", "elemwise_sub", "elemwise_mul", "_maximum", "_minimum")},
    "elemwise_div": lambda: binary_case("elemwise_div", rhs=positive(2, 3, 4)),
    **{name: (lambda name=name: binary_case(name, (2, 3, 4), (1, 3, 1)))
       for name in ("broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_maximum",
                    "broadcast_minimum", "broadcast_greater", "broadcast_lesser_equal",
                    "broadcast_not_equal")},
    "broadcast_div": lambda: binary_case("broadcast_div", (2, 3, 4), (3, 1),
                                         rhs=positive(3, 1)),
    "broadcast_power": lambda: one_op("broadcast_power", [("lhs", positive(2, 3)),
                                                          ("rhs", normal(1, 3))]),
    "broadcast_equal": lambda: binary_case("broadcast_equal", (2, 3), (2, 3),
                                           rhs=numpy.float32([[0, 1, 0], [1, 1, 0]])),
    **{name: (lambda name=name: unary_case(name, positive(2, 3), scalar=1.5))
       for name in _SCALAR_REFERENCE if name.endswith("_scalar") and name != "_equal_scalar"},
    "_equal_scalar": lambda: unary_case("_equal_scalar", numpy.float32([[1, 2], [2, 3]]),
                                        scalar=2.0),
    "add_n": lambda: one_op("add_n", [("a", normal(2, 3)), ("b", normal(2, 3)),
                                      ("c", normal(2, 3))], num_args=3),
    "ElementWiseSum": lambda: one_op("ElementWiseSum", [("a", normal(2, 3)),
                                                        ("b", normal(2, 3))], num_args=2),
    "sum_axis": lambda: unary_case("sum", axis=1),
    "sum_all": lambda: unary_case("sum"),
    "mean_keepdims": lambda: unary_case("mean", axis=(0, 2), keepdims=True),
    "mean_exclude": lambda: unary_case("mean", axis=1, exclude=True),
    "mean_all": lambda: unary_case("mean"),
    "max_axis": lambda: unary_case("max", axis=-1),
    "min_all_keepdims": lambda: unary_case("min", keepdims=True),
    "prod": lambda: unary_case("prod", axis=0),
    "norm": lambda: unary_case("norm", axis=1),
    "argmax": lambda: unary_case("argmax", axis=1),
    "argmin_keepdims": lambda: unary_case("argmin", axis=-1, keepdims=True),
    "norm_l1": lambda: unary_case("norm", ord=1, axis=(0, 2)),
    "norm_all": lambda: unary_case("norm"),
    "sum_exclude_keepdims": lambda: unary_case("sum", axis=(0,), exclude=True, keepdims=True),
    "reshape_like": lambda: one_op("reshape_like", [("lhs", normal(2, 6)),
                                                    ("rhs", normal(3, 4))]),
    "broadcast_like": lambda: one_op("broadcast_like", [("lhs", normal(1, 3)),
                                                        ("rhs", normal(4, 3))]),
    "zeros_like": lambda: unary_case("zeros_like"),
    "ones_like": lambda: unary_case("ones_like"),
    "shape_array": lambda: unary_case("shape_array"),
    "size_array": lambda: unary_case("size_array"),
    "dot_2d": lambda: binary_case("dot", (3, 4), (4, 5)),
    "dot_transposed": lambda: one_op("dot", [("lhs", normal(4, 3)), ("rhs", normal(5, 4))],
                                     transpose_a=True, transpose_b=True),
    "dot_3d_2d": lambda: binary_case("dot", (2, 3, 4), (4, 5)),
    "dot_vectors": lambda: binary_case("dot", (4,), (4,)),
    "batch_dot": lambda: one_op("batch_dot", [("lhs", normal(2, 4, 3)),
                                              ("rhs", normal(2, 5, 4))],
                                transpose_a=True, transpose_b=True),
    "where": lambda: one_op("where", [("cond", numpy.float32([[1, 0, 1], [0, 0, 1]])),
                                      ("x", normal(2, 3)), ("y", normal(2, 3))]),
    "cast": lambda: unary_case("Cast", dtype="float64"),
    "identity": lambda: unary_case("_copy"),
    # lookup and resampling
    "embedding": lambda: one_op("Embedding", [("data", numpy.float32([[0, 3, 9], [2.7, -1, 1]]))],
                                [("weight", normal(4, 5))], input_dim=4, output_dim=5),
    "take_clip": lambda: one_op("take", [("a", normal(4, 3)),
                                         ("indices", numpy.float32([0, 5, 2, -2]))], axis=0),
    "take_wrap": lambda: one_op("take", [("a", normal(2, 4)),
                                         ("indices", numpy.float32([[1, 5], [-1, 3]]))],
                                axis=1, mode="wrap"),
    "upsampling_nearest": lambda: unary_case("UpSampling", normal(1, 2, 3, 4), scale=2,
                                             sample_type="nearest", num_args=1),
    "upsampling_nearest_two_inputs": lambda: one_op(
        "UpSampling", [("a", normal(1, 2, 4, 4)), ("b", normal(1, 3, 2, 2))], scale=2,
        sample_type="nearest", num_args=2),
    "upsampling_nearest_sum": lambda: one_op(
        "UpSampling", [("a", normal(1, 2, 2, 2)), ("b", normal(1, 2, 4, 4))], scale=2,
        sample_type="nearest", num_args=2, multi_input_mode="sum"),
    "upsampling_bilinear": lambda: one_op("UpSampling", [("data", normal(1, 2, 3, 3))],
                                          [("weight", normal(2, 1, 4, 4))], scale=2,
                                          sample_type="bilinear", num_filter=2, num_args=2),
}
OPSET_CASES = {  # the forms that change with the opset
    "layernorm@17": ("layernorm", 17),
    "leaky_gelu@20": ("leaky_gelu", 20),
    "leaky_gelu_tanh@20": ("leaky_gelu_tanh", 20),
    "mean_keepdims@18": ("mean_keepdims", 18),
    "pool_global_sum@18": ("pool_global_sum", 18),
    "groupnorm@21": ("groupnorm", 21),
    "split@18": ("split", 18),
    "pool_max_full@22": ("pool_max_full", 22),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_converter(tmp_path, case):
    graph, inputs, params = CASES[case]()
    check_export(tmp_path, graph, inputs, params)


@pytest.mark.parametrize("case", sorted(OPSET_CASES))
def test_converter_newer_opset(tmp_path, case):
    name, opset = OPSET_CASES[case]
    graph, inputs, params = CASES[name]()
    check_export(tmp_path, graph, inputs, params, opset=opset)
    model = onnx.load(tmp_path / "model.onnx")
    assert model.opset_import[0].version == opset


def test_every_required_operator_has_a_converter():
    required = {"FullyConnected", "Convolution", "Deconvolution", "Pooling", "BatchNorm",
                "LayerNorm", "InstanceNorm", "GroupNorm", "Dropout", "Activation", "LeakyReLU",
                "softmax", "log_softmax", "Flatten", "Reshape", "transpose", "Concat",
                "elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div",
                "broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div",
                "_plus_scalar", "_minus_scalar", "_mul_scalar", "_div_scalar", "clip", "relu",
                "sigmoid", "exp", "log", "sqrt", "mean", "sum", "dot", "Embedding",
                "UpSampling", "add_n", "expand_dims", "squeeze", "slice_axis"}
    assert required <= set(fw_onnx.get_operator_support())


# ------------------------------------------------------------------ whole networks
def small_convnet():
    """conv-bn-relu-pool, a residual add, global pool, reshape, dense, softmax."""
    g = Graph()
    x = g.var("data")
    params = {}

    def param(name, *shape, maker=normal):
        params[name] = maker(*shape)
        return g.var(name)
    h = g.op("Convolution", x, param("c1_weight", 8, 3, 3, 3), param("c1_bias", 8),
             kernel=(3, 3), pad=(1, 1), num_filter=8, name="conv0_fwd")
    h = g.op("BatchNorm", h, param("bn_gamma", 8), param("bn_beta", 8),
             param("bn_running_mean", 8), param("bn_running_var", 8, maker=positive),
             fix_gamma=False, eps=1e-5, name="batchnorm0_fwd")
    h = g.op("Activation", h, act_type="relu", name="relu0")
    h = g.op("Pooling", h, kernel=(2, 2), stride=(2, 2), pool_type="max", name="pool0_fwd")
    r = g.op("Convolution", h, param("c2_weight", 8, 8, 3, 3), kernel=(3, 3), pad=(1, 1),
             num_filter=8, no_bias=True, name="conv1_fwd")
    h = g.op("elemwise_add", h, r, name="add0")
    h = g.op("Pooling", h, kernel=(1, 1), global_pool=True, pool_type="avg", name="gap0")
    h = g.op("Reshape", h, shape=(0, -1), name="reshape0")
    h = g.op("FullyConnected", h, param("fc_weight", 5, 8), param("fc_bias", 5),
             num_hidden=5, name="dense0_fwd")
    h = g.op("softmax", h, axis=-1, name="softmax0")
    return finish(g, h), params


def test_small_convnet_outputs_and_names(tmp_path):
    graph, params = small_convnet()
    session = check_export(tmp_path, graph, [normal(2, 3, 8, 8)], params)
    assert [o.name for o in session.get_outputs()] == ["softmax0"]
    assert [i.name for i in session.get_inputs()] == ["data"]
    model = onnx.load(tmp_path / "model.onnx")
    assert set(params) <= {t.name for t in model.graph.initializer}


def test_dynamic_batch(tmp_path):
    graph, params = small_convnet()
    path = tmp_path / "dynamic.onnx"
    fw_onnx.export_model(graph, params, [(2, 3, 8, 8)], numpy.float32, str(path),
                         dynamic=True, dynamic_input_shapes=[(None, 3, 8, 8)])
    model = onnx.load(path)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert not dims[0].HasField("dim_value") and [d.dim_value for d in dims[1:]] == [3, 8, 8]
    for batch in (1, 5):
        x = normal(batch, 3, 8, 8)
        got, _ = run_onnx(path, [x])
        numpy.testing.assert_allclose(got[0], reference(graph, dict(params, data=x))[0], **TOL)


DYNAMIC_CASES = ["fc_flatten", "fc_no_flatten", "conv2d", "deconv2d_bias_groups",
                 "pool_max_full", "pool_avg_full_include_pad_edge", "pool_global_sum",
                 "batchnorm", "layernorm_axis1", "groupnorm", "instancenorm", "dot_3d_2d",
                 "split", "softmax", "embedding", "upsampling_nearest", "reshape_-4",
                 "reshape_-3", "flatten", "mean_exclude", "leaky_prelu", "concat", "stack"]


@pytest.mark.parametrize("case", DYNAMIC_CASES)
def test_dynamic_batch_per_converter(tmp_path, case):
    """Exported with a free batch size, each converter gives framework's result for
    another batch size than the example's."""
    graph, inputs, params = CASES[case]()
    batched = [x.shape[0] == inputs[0].shape[0] for x in inputs]
    path = tmp_path / "dynamic.onnx"
    fw_onnx.export_model(graph, params, [x.shape for x in inputs], [x.dtype for x in inputs],
                         str(path), dynamic=True,
                         dynamic_input_shapes=[(None,) + x.shape[1:] if b else x.shape
                                               for x, b in zip(inputs, batched)])
    bigger = [numpy.concatenate([x, x[:1] * 0.5]) if b else x
              for x, b in zip(inputs, batched)]
    names = [n["name"] for n in graph["nodes"] if n["op"] == "null" and n["name"] not in params]
    expected = reference(graph, dict(params, **dict(zip(names, bigger))))
    got, _ = run_onnx(path, bigger)
    for g, e in zip(got, expected):
        numpy.testing.assert_allclose(g, e, **TOL)


def test_verbose_logs_each_node(tmp_path, caplog):
    graph, params = small_convnet()
    with caplog.at_level("INFO", logger="framework.onnx.export"):
        fw_onnx.export_model(graph, params, (2, 3, 8, 8), verbose=True,
                             onnx_file_path=str(tmp_path / "m.onnx"))
    assert "Converting idx: 3, op: Convolution, name: conv0_fwd" in caplog.text


def test_dynamic_reshape_codes(tmp_path):
    """With dynamic sizes, MXNet's special reshape codes are computed from Shape(x)."""
    g = Graph()
    x = g.var("data")
    h = g.op("Reshape", x, shape=(-3, -2))
    h = g.op("Reshape", h, shape=(-4, -1, 3, 0, 0))
    h = g.op("Reshape", h, shape=(0, 0, -1), reverse=True)
    graph = finish(g, h)
    path = tmp_path / "reshape.onnx"
    fw_onnx.export_model(graph, {}, [(2, 3, 4, 5)], numpy.float32, str(path), dynamic=True)
    for shape in [(2, 3, 4, 5), (4, 3, 2, 7)]:
        data = normal(*shape)
        got, _ = run_onnx(path, [data])
        numpy.testing.assert_array_equal(got[0], reference(graph, {"data": data})[0])


def test_two_outputs_and_multi_output_nodes(tmp_path):
    g = Graph()
    x = g.var("data")
    a, b = g.op("SliceChannel", x, n_out=2, num_outputs=2, axis=1, name="split0")
    s = g.op("elemwise_mul", a, b, name="mul0")
    graph = finish(g, s, b)
    session = check_export(tmp_path, graph, [normal(2, 4)], {})
    assert [o.name for o in session.get_outputs()] == ["mul0", "split01"]


def test_graph_output_that_is_an_input_or_dropout(tmp_path):
    g = Graph()
    x = g.var("data")
    d = g.op("Dropout", x, p=0.5, name="dropout0")
    graph = finish(g, d, x)
    session = check_export(tmp_path, graph, [normal(2, 3)], {})
    assert len({o.name for o in session.get_outputs()}) == 2


@pytest.mark.parametrize("op", ["LinearRegressionOutput", "LogisticRegressionOutput",
                                "MAERegressionOutput"])
def test_regression_outputs_drop_the_label(tmp_path, op):
    g = Graph()
    h = g.op(op, g.var("data"), g.var("label"), name="out")
    path = tmp_path / "m.onnx"
    fw_onnx.export_model(finish(g, h), {}, [(3, 2)], onnx_file_path=str(path))
    x = normal(3, 2)
    got, session = run_onnx(path, [x])
    assert [i.name for i in session.get_inputs()] == ["data"]
    expected = 1 / (1 + numpy.exp(-x)) if op == "LogisticRegressionOutput" else x
    numpy.testing.assert_allclose(got[0], expected, **TOL)


def test_softmax_output_drops_the_label(tmp_path):
    g = Graph()
    x, label = g.var("data"), g.var("softmax_label")
    w = g.var("fc_weight")
    h = g.op("FullyConnected", x, w, num_hidden=4, no_bias=True)
    h = g.op("SoftmaxOutput", h, label, name="softmax")
    graph = finish(g, h)
    params = {"fc_weight": normal(4, 6)}
    path = tmp_path / "m.onnx"
    fw_onnx.export_model(graph, params, [(3, 6)], numpy.float32, str(path))
    x = normal(3, 6)
    got, session = run_onnx(path, [x])
    assert [i.name for i in session.get_inputs()] == ["data"]
    expected = fw.nd.softmax(fw.nd.dot(fw.nd.array(x), fw.nd.array(params["fc_weight"]).T))
    numpy.testing.assert_allclose(got[0], expected.asnumpy(), **TOL)


# ------------------------------------------------------------------ real MXNet 1.9.1 exports
@pytest.mark.parametrize("name", ["mlp_bn", "tiny_convnet"])
def test_real_mxnet_export(tmp_path, name):
    folder = MXNET_DIR / name
    x = numpy.load(folder / "input.npy")
    path = fw_onnx.export_model(str(folder / "model-symbol.json"),
                                str(folder / "model-0000.params"), [x.shape], numpy.float32,
                                str(tmp_path / f"{name}.onnx"))
    got, _ = run_onnx(path, [x])
    numpy.testing.assert_allclose(got[0], numpy.load(folder / "output.npy"), **TOL)


def test_real_export_from_params_dict_and_pair(tmp_path):
    """params as a dict of NDArrays (prefixed or not) and as [arg_params, aux_params]."""
    folder = MXNET_DIR / "tiny_convnet"
    x = numpy.load(folder / "input.npy")
    expected = numpy.load(folder / "output.npy")
    loaded = fw.nd.load(str(folder / "model-0000.params"))
    plain = {k[4:]: v for k, v in loaded.items()}
    args = {k: v for k, v in loaded.items() if k.startswith("arg:")}
    aux = {k: v for k, v in loaded.items() if k.startswith("aux:")}
    graph = json.loads((folder / "model-symbol.json").read_text())
    for params in (loaded, plain, [args, aux]):
        path = fw_onnx.export_model(graph, params, [x.shape], onnx_file_path=str(
            tmp_path / "m.onnx"))
        got, _ = run_onnx(path, [x])
        numpy.testing.assert_allclose(got[0], expected, **TOL)


def test_symbol_object_with_tojson(tmp_path):
    folder = MXNET_DIR / "mlp_bn"

    class FakeSymbol:          # anything with tojson(), as fw.sym.Symbol
        def tojson(self):
            return (folder / "model-symbol.json").read_text()
    x = numpy.load(folder / "input.npy")
    path = fw_onnx.export_model(FakeSymbol(), str(folder / "model-0000.params"), [x.shape],
                                onnx_file_path=str(tmp_path / "m.onnx"),
                                run_shape_inference=True)
    got, _ = run_onnx(path, [x])
    numpy.testing.assert_allclose(got[0], numpy.load(folder / "output.npy"), **TOL)
    assert onnx.load(path).graph.value_info    # shape inference added intermediate shapes


# ------------------------------------------------------------------ framework's layers
def _seq(*layers):
    net = fw.nn.HybridSequential()
    net.add(*layers)
    return net


nn = fw.nn
LAYER_NETS = {   # name: (net maker, input shape, input values or None)
    "dense": (lambda: _seq(nn.Dense(5, activation="tanh"), nn.Dense(3, flatten=False)),
              (2, 4, 3), None),
    "conv1d_pools": (lambda: _seq(nn.Conv1D(4, 3, strides=2, padding=1), nn.MaxPool1D(2),
                                  nn.AvgPool1D(2, ceil_mode=True)), (2, 3, 11), None),
    "conv2d_pools": (lambda: _seq(nn.Conv2D(4, 3, padding=1, groups=1, activation="relu"),
                                  nn.MaxPool2D(3, 2, padding=1, ceil_mode=True),
                                  nn.AvgPool2D(2, 1, count_include_pad=False),
                                  nn.GlobalAvgPool2D()), (2, 3, 9, 9), None),
    "conv3d": (lambda: _seq(nn.Conv3D(4, 3, padding=1), nn.GlobalMaxPool3D(), nn.Flatten()),
               (1, 2, 5, 5, 5), None),
    "conv2d_transpose": (lambda: _seq(nn.Conv2DTranspose(4, 3, strides=2, padding=1,
                                                         output_padding=1, groups=2,
                                                         in_channels=4),
                                      nn.Activation("sigmoid")), (1, 4, 5, 5), None),
    "conv1d_transpose": (lambda: _seq(nn.Conv1DTranspose(3, 3, strides=2)), (1, 2, 5), None),
    "norms": (lambda: _seq(nn.BatchNorm(scale=False), nn.InstanceNorm(), nn.LayerNorm(),
                           nn.GroupNorm(2), nn.BatchNorm(axis=-1)), (2, 4, 3, 5), None),
    "activations": (lambda: _seq(nn.Activation("softrelu"), nn.LeakyReLU(0.1), nn.PReLU(),
                                 nn.ELU(), nn.SELU(), nn.GELU(), nn.Swish(),
                                 nn.Activation("softsign")), (2, 3, 4), None),
    "dropout": (lambda: _seq(nn.Dense(4), nn.Dropout(0.5)), (2, 3), None),
    "embedding": (lambda: _seq(nn.Embedding(10, 4)), (2, 3),
                  numpy.float32([[1, 2, 3], [9, 0, 4]])),
    "pixel_shuffle": (lambda: _seq(nn.Conv2D(8, 1), nn.PixelShuffle2D(2)), (1, 2, 3, 3), None),
    "pixel_shuffle_1d": (lambda: _seq(nn.PixelShuffle1D(2)), (1, 4, 3), None),
    "pixel_shuffle_3d": (lambda: _seq(nn.PixelShuffle3D(2)), (1, 8, 2, 2, 2), None),
    "reflection_pad": (lambda: _seq(nn.ReflectionPad2D(2)), (1, 2, 4, 4), None),
    "lambda": (lambda: _seq(nn.HybridLambda(lambda F, x: F.softmax(F.relu(x) * 2 + 1, axis=1))),
               (2, 5), None),
    # channel-last layouts: Transposes around ONNX's channel-first Conv and pools
    "nhwc": (lambda: _seq(nn.Conv2D(4, 3, padding=1, layout="NHWC", activation="relu"),
                          nn.MaxPool2D(2, layout="NHWC"),
                          nn.Conv2D(4, 3, groups=2, layout="NHWC"),
                          nn.AvgPool2D(3, 2, padding=1, layout="NHWC"),
                          nn.Conv2DTranspose(6, 3, strides=2, groups=2, layout="NHWC"),
                          nn.BatchNorm(axis=-1), nn.GlobalAvgPool2D(layout="NHWC")),
             (2, 9, 9, 3), None),
    "ndhwc": (lambda: _seq(nn.Conv3D(4, 2, layout="NDHWC"), nn.MaxPool3D(2, layout="NDHWC"),
                           nn.Conv3DTranspose(2, 2, layout="NDHWC")), (1, 5, 5, 5, 2), None),
    "nwc_pools": (lambda: _seq(nn.MaxPool1D(2, layout="NWC"),
                               nn.AvgPool1D(2, ceil_mode=True, layout="NWC"),
                               nn.GlobalMaxPool1D(layout="NWC")), (2, 9, 3), None),
}


def check_block(tmp_path, net, x, dynamic=False):
    """Export a HybridBlock itself (through its export) and compare with net(x)."""
    expected = net(fw.nd.array(x)).asnumpy()
    path = fw_onnx.export_model(net, None, [x.shape], onnx_file_path=str(tmp_path / "b.onnx"),
                                dynamic=dynamic)
    got, _ = run_onnx(path, [x])
    numpy.testing.assert_allclose(got[0], expected, **TOL)
    scale = numpy.abs(expected).max()        # and relative to the size of the outputs
    assert scale > 0
    numpy.testing.assert_allclose(got[0] / scale, expected / scale, rtol=0, atol=1e-4)


@pytest.mark.parametrize("name", sorted(LAYER_NETS))
def test_framework_layers(tmp_path, name):
    make, shape, data = LAYER_NETS[name]
    net = make()
    net.initialize()
    check_block(tmp_path, net, normal(*shape) if data is None else data)


ZOO = {"resnet18_v1": 32, "mobilenet0.25": 32, "mobilenetv2_0.25": 32, "squeezenet1.1": 224,
       "densenet121": 224}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_model_zoo(tmp_path, name):
    """Model-zoo networks (at small sizes: their last pools need 224 for densenet and
    squeezenet) give framework's outputs in onnxruntime."""
    from framework.model_zoo import vision
    net = vision.get_model(name, classes=10)
    net.initialize(fw.init.MSRAPrelu(factor_type="in"))   # keeps the activations O(1)
    size = ZOO[name]
    check_block(tmp_path, net, RNG.uniform(0, 1, (1, 3, size, size)).astype(numpy.float32))


# ------------------------------------------------------------------ errors
def test_unknown_operator_names_it_and_the_node(tmp_path):
    g = Graph()
    h = g.op("_contrib_MadeUpOp", g.var("data"), name="mystery0")
    with pytest.raises(NotImplementedError, match=r"'_contrib_MadeUpOp'.*'mystery0'"):
        fw_onnx.export_model(finish(g, h), {}, [(2, 3)], onnx_file_path=str(tmp_path / "x"))


def test_failed_export_leaves_the_previous_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous")
    g = Graph()
    h = g.op("Pooling", g.var("data"), kernel=(2, 2), layout="NWHC")
    with pytest.raises(ValueError, match=r"Pooling.*layout 'NWHC' is not one of"):
        fw_onnx.export_model(finish(g, h), {}, [(1, 4, 4, 2)], onnx_file_path=str(path))
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_missing_parameter_and_input_shape_errors(tmp_path):
    graph, params = small_convnet()
    del params["fc_weight"]
    with pytest.raises(ValueError, match=r"'fc_weight'.*params"):
        fw_onnx.export_model(graph, params, [(2, 3, 8, 8)], onnx_file_path=str(tmp_path / "m"))
    with pytest.raises(ValueError, match="input_shape is required"):
        fw_onnx.export_model(graph, params, onnx_file_path=str(tmp_path / "m"))
    with pytest.raises(ValueError, match="dynamic=True"):
        fw_onnx.export_model(graph, params, [(2, 3, 8, 8)], dynamic_input_shapes=[(None,)],
                             onnx_file_path=str(tmp_path / "m"))


def test_bad_opset_and_bad_arguments(tmp_path):
    graph, params = small_convnet()
    with pytest.raises(ValueError, match="opset_version must be an int from 13"):
        fw_onnx.export_model(graph, params, [(2, 3, 8, 8)], opset_version=12,
                             onnx_file_path=str(tmp_path / "m"))
    with pytest.raises(TypeError, match="sym must be"):
        fw_onnx.export_model(42, params, [(2, 3, 8, 8)], onnx_file_path=str(tmp_path / "m"))
    with pytest.raises(ValueError, match="not an MXNet symbol graph"):
        fw_onnx.export_model({"nodes": []}, params, [(2, 3, 8, 8)],
                             onnx_file_path=str(tmp_path / "m"))


def test_bad_reshape_is_reported_with_the_node(tmp_path):
    graph, inputs, params = unary_case("Reshape", normal(2, 3, 4), shape=(5, -1))
    with pytest.raises(ValueError, match=r"Reshape \(node 'reshape1'.*shape=\(5, -1\)"):
        fw_onnx.export_model(graph, params, [(2, 3, 4)], onnx_file_path=str(tmp_path / "m"))


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    graph, params = small_convnet()
    with pytest.raises(ImportError, match=r"pip install framework\[onnx\]"):
        fw_onnx.export_model(graph, params, [(2, 3, 8, 8)], onnx_file_path=str(tmp_path / "m"))
