"""framework.sym (issue 8, item 2): Symbols under MXNet 1.x's operator names and
arguments, their JSON (byte for byte as MXNet writes it), listing, composition,
shape and dtype inference, and HybridBlocks built as graphs with F=sym.

Every operator case runs the same code with F=framework.sym and F=framework.nd:
the graph's values (Symbol.eval, and again after a JSON round trip) must equal
nd's, and infer_shape/infer_type must predict nd's shapes and dtypes.
"""
import json
import pathlib
import threading
import warnings

import numpy as np
import pytest

import framework as fw
from framework import nd
from framework import symbol as sym
from framework.ndarray.cached_op import _IMPERATIVE
from framework.symbol.naming import Prefix

MXNET_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mxnet"
NETS = ["mlp_bn", "tiny_convnet"]

rng = np.random.default_rng(0)


def _r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# --------------------------------------------------------------------- variables
def test_var_keeps_mxnet_hidden_attributes():
    v = sym.var("w", shape=(3, 0), dtype="float16", init=fw.init.Xavier(), lr_mult=2.0,
                wd_mult=0.0, stype="default", __layout__="NC")
    assert v.name == "w" and v.list_arguments() == ["w"] and v.list_outputs() == ["w"]
    assert v.list_attr() == {"__shape__": "(3, 0)", "__dtype__": "2", "__lr_mult__": "2.0",
                             "__wd_mult__": "0.0", "__storage_type__": "0",
                             "__init__": fw.init.Xavier().dumps(), "__layout__": "NC"}
    assert v.attr("lr_mult") == "2.0"
    assert sym.Variable("x", init="zeros").attr("__init__") == "zeros"
    with pytest.raises(ValueError, match="must start and end with double underscores"):
        sym.var("x", layout="NC")
    with pytest.raises(TypeError, match="name must be a str"):
        sym.var(3)


def test_attr_scope_and_set_attr():
    with sym.AttrScope(ctx_group="dev1", lr_mult="0.5"):
        y = sym.relu(sym.var("x"), name="r")
    assert y.attr("__ctx_group__") == "dev1" and y.attr("lr_mult") == "0.5"
    y._set_attr(mood="calm")
    assert y.list_attr()["mood"] == "calm"
    assert y.attr_dict()["r"]["mood"] == "calm"


# ------------------------------------------------------------------ names, listing
def test_automatic_names_follow_mxnet():
    def build(out):
        x = sym.var("data")
        fc = sym.FullyConnected(x, num_hidden=3)
        out.extend([fc.name, sym.relu(fc).name, (fc + 1).name, (fc + fc).name,
                    sym.concat(fc, fc).name, sym.FullyConnected(x, num_hidden=2).name,
                    sym.Activation(x, act_type="relu", name="act").name])
    names = []
    thread = threading.Thread(target=build, args=(names,))    # a fresh per-thread counter
    thread.start()
    thread.join()
    assert names == ["fullyconnected0", "relu0", "_plusscalar0", "_plus0", "concat0",
                     "fullyconnected1", "act"]
    with Prefix("model_"):
        y = sym.FullyConnected(sym.var("data"), num_hidden=3)
        z = sym.relu(y, name="out")
    assert (y.name, z.name) == ("model_fullyconnected0", "model_out")


def test_inputs_not_given_become_variables_named_after_the_node():
    fc = sym.FullyConnected(sym.var("data"), num_hidden=10, name="fc1")
    assert fc.list_arguments() == ["data", "fc1_weight", "fc1_bias"]
    assert fc.list_outputs() == ["fc1_output"]
    assert sym.FullyConnected(sym.var("data"), num_hidden=4, no_bias=True,
                              name="f").list_arguments() == ["data", "f_weight"]
    bn = sym.BatchNorm(fc, name="bn")
    assert bn.list_arguments() == ["data", "fc1_weight", "fc1_bias", "bn_gamma", "bn_beta"]
    assert bn.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    assert bn.list_inputs() == ["data", "fc1_weight", "fc1_bias", "bn_gamma", "bn_beta",
                                "bn_moving_mean", "bn_moving_var"]
    internals = bn.get_internals()
    assert internals.list_outputs() == ["data", "fc1_weight", "fc1_bias", "fc1_output",
                                        "bn_gamma", "bn_beta", "bn_moving_mean",
                                        "bn_moving_var", "bn_output"]
    assert internals["fc1_output"].name == "fc1" and internals[3].name == "fc1"
    assert bn.get_children().list_outputs()[:2] == ["fc1_output", "bn_gamma"]
    with pytest.raises(ValueError, match="Cannot find output"):
        internals["nope"]
    with pytest.raises(IndexError, match="out of range"):
        bn[1]
    with pytest.raises(TypeError, match="missing required argument"):
        sym.Activation(sym.var("x"))
    with pytest.raises(TypeError, match="input 'weight' must be a Symbol"):
        sym.FullyConnected(sym.var("x"), 3.0, num_hidden=2)


def test_group_multi_output_and_iteration():
    x = sym.var("x")
    parts = sym.split(x, num_outputs=3, axis=1, name="sp")
    assert len(parts) == 3 and parts.list_outputs() == ["sp_output0", "sp_output1",
                                                        "sp_output2"]
    g = sym.Group([parts[0], sym.relu(parts[2], name="r")])
    assert g.list_outputs() == ["sp_output0", "r_output"] and g.name is None
    assert [s.list_outputs() for s in g] == [["sp_output0"], ["r_output"]]
    a = _r(2, 6)
    out = g.eval(x=nd.array(a))
    np.testing.assert_array_equal(out[0].asnumpy(), a[:, :2])
    np.testing.assert_array_equal(out[1].asnumpy(), np.maximum(a[:, 4:], 0))
    with pytest.raises(ValueError, match="one output"):
        sym.relu(parts)


def test_a_symbol_has_no_truth_value_nor_shape():
    x = sym.var("x")
    with pytest.raises(TypeError, match="no truth value"):
        bool(x > 0)
    with pytest.raises(AttributeError, match="infer_shape"):
        x.shape
    assert not hasattr(x, "ndim")


# ---------------------------------------------------------------------- operators
def test_python_operators_use_mxnet_operator_names():
    x, y = sym.var("x"), sym.var("y")
    cases = {
        "elemwise_add": x + y, "elemwise_sub": x - y, "elemwise_mul": x * y,
        "elemwise_div": x / y, "_mod": x % y, "_power": x ** y, "_plus_scalar": x + 1,
        "_minus_scalar": x - 1, "_rminus_scalar": 1 - x, "_mul_scalar": 2 * x,
        "_div_scalar": x / 2, "_rdiv_scalar": 2 / x, "_power_scalar": x ** 2,
        "_rpower_scalar": 2 ** x, "_equal": x == y, "_greater_scalar": x > 0,
        "_lesser_equal_scalar": x <= 0, "_not_equal": x != y, "abs": abs(x),
        "_maximum": sym.maximum(x, y), "_maximum_scalar": sym.maximum(x, 0.5),
        "broadcast_add": sym.add(x, y), "_rminus_scalar ": sym.subtract(3, x)}
    for op, s in cases.items():
        assert s.as_json_dict()["nodes"][-1]["op"] == op.strip(), op
    assert (x + 1).as_json_dict()["nodes"][-1]["attrs"] == {"scalar": "1"}
    assert (-x).as_json_dict()["nodes"][-1]["attrs"] == {"scalar": "-1.0"}
    a, b = _r(2, 3), _r(2, 3) + 3
    vals = {"x": nd.array(a), "y": nd.array(b)}
    np.testing.assert_allclose((2 / x - y * x + x ** 2).eval(**vals)[0].asnumpy(),
                               2 / a - b * a + a ** 2, rtol=1e-6)
    np.testing.assert_array_equal((x > y).eval(**vals)[0].asnumpy(), (a > b).astype("f"))
    assert sym.maximum(2, 3) == 3
    scaled = np.float32(2) * x                       # a NumPy scalar leaves it to Symbol
    assert isinstance(scaled, sym.Symbol)
    assert scaled.as_json_dict()["nodes"][-1]["attrs"] == {"scalar": "2.0"}


def _ints(*shape, high=4):
    return rng.integers(0, high, shape).astype(np.float32)


# name, builder run with F=sym (Symbols) and F=nd (arrays), inputs
OP_CASES = [
    ("relu", lambda F, v: F.relu(v["x"]), {"x": _r(2, 3)}),
    ("unary_chain", lambda F, v: F.tanh(F.exp(F.sigmoid(v["x"])) + F.square(v["x"])),
     {"x": _r(2, 3)}),
    ("log_sqrt", lambda F, v: F.log(F.abs(v["x"]) + 1) + F.sqrt(F.abs(v["x"])),
     {"x": _r(3, 2)}),
    ("sign_floor", lambda F, v: F.sign(v["x"]) * F.floor(v["x"] * 3) + F.ceil(v["x"]),
     {"x": _r(4)}),
    ("softsign_erf", lambda F, v: F.softsign(v["x"]) + F.erf(v["x"]) - F.negative(v["x"]),
     {"x": _r(4)}),
    ("Activation", lambda F, v: F.Activation(v["x"], act_type="softrelu"), {"x": _r(2, 3)}),
    ("softrelu", lambda F, v: F.softrelu(v["x"]), {"x": _r(2, 3)}),
    ("LeakyReLU", lambda F, v: F.LeakyReLU(v["x"], act_type="elu", slope=0.3), {"x": _r(3, 3)}),
    ("prelu", lambda F, v: F.LeakyReLU(v["x"], v["g"], act_type="prelu"),
     {"x": _r(2, 3, 4), "g": np.array([0.1, 0.2, 0.3], np.float32)}),
    ("softmax", lambda F, v: F.softmax(v["x"], axis=1), {"x": _r(2, 5)}),
    ("log_softmax", lambda F, v: F.log_softmax(v["x"]), {"x": _r(2, 5)}),
    ("clip", lambda F, v: F.clip(v["x"], 0, 0.5), {"x": _r(3, 4)}),
    ("Cast", lambda F, v: F.Cast(v["x"], dtype="float16"), {"x": _r(3)}),
    ("Flatten", lambda F, v: F.Flatten(v["x"]), {"x": _r(2, 3, 4)}),
    ("reshape", lambda F, v: F.reshape(v["x"], (0, -1)), {"x": _r(2, 3, 4)}),
    ("reshape_special", lambda F, v: F.reshape(v["x"], shape=(0, -4, 3, -1, -2)),
     {"x": _r(2, 6, 4)}),
    ("transpose", lambda F, v: F.transpose(v["x"], (1, 0, 2)), {"x": _r(2, 3, 4)}),
    ("expand_squeeze", lambda F, v: F.squeeze(F.expand_dims(v["x"], axis=1), axis=1),
     {"x": _r(2, 3)}),
    ("SwapAxis", lambda F, v: F.SwapAxis(v["x"], dim1=0, dim2=2), {"x": _r(2, 3, 4)}),
    ("tile_repeat", lambda F, v: F.repeat(F.tile(v["x"], reps=(1, 2)), repeats=2, axis=0),
     {"x": _r(2, 3)}),
    ("broadcast_to", lambda F, v: F.broadcast_to(v["x"], shape=(3, 4)), {"x": _r(1, 4)}),
    ("broadcast_axis", lambda F, v: F.broadcast_axis(v["x"], axis=0, size=3),
     {"x": _r(1, 4)}),
    ("broadcast_like", lambda F, v: F.broadcast_like(v["x"], v["y"]),
     {"x": _r(1, 4), "y": _r(3, 4)}),
    ("slice", lambda F, v: F.slice(v["x"], begin=(0, 1), end=(2, None)), {"x": _r(3, 4)}),
    ("slice_axis", lambda F, v: F.slice_axis(v["x"], axis=1, begin=1, end=3), {"x": _r(3, 4)}),
    ("slice_like", lambda F, v: F.slice_like(v["x"], v["y"]), {"x": _r(4, 5), "y": _r(2, 3)}),
    ("reshape_like", lambda F, v: F.reshape_like(v["x"], v["y"]),
     {"x": _r(2, 6), "y": _r(3, 4)}),
    ("concat", lambda F, v: F.concat(v["x"], v["y"], dim=1), {"x": _r(2, 3), "y": _r(2, 2)}),
    ("Concat", lambda F, v: F.Concat(v["x"], v["y"], v["x"], dim=0),
     {"x": _r(2, 3), "y": _r(1, 3)}),
    ("stack", lambda F, v: F.stack(v["x"], v["y"], axis=1), {"x": _r(2, 3), "y": _r(2, 3)}),
    ("add_n", lambda F, v: F.add_n(v["x"], v["y"], v["x"]), {"x": _r(2, 3), "y": _r(2, 3)}),
    ("reverse", lambda F, v: F.flip(v["x"], axis=1), {"x": _r(2, 3)}),
    ("pad", lambda F, v: F.pad(v["x"], mode="constant", pad_width=(0, 0, 0, 0, 1, 2, 1, 0),
                               constant_value=0.5), {"x": _r(1, 2, 3, 3)}),
    ("sum", lambda F, v: F.sum(v["x"], axis=1), {"x": _r(2, 3, 4)}),
    ("mean_keepdims", lambda F, v: F.mean(v["x"], axis=(1, 2), keepdims=True),
     {"x": _r(2, 3, 4)}),
    ("max_min_prod", lambda F, v: F.max(v["x"], axis=0) + F.min(v["x"], axis=0) *
     F.prod(v["x"], axis=0), {"x": _r(3, 4)}),
    ("sum_all", lambda F, v: F.sum(v["x"]), {"x": _r(3, 4)}),
    ("norm", lambda F, v: F.norm(v["x"], axis=1), {"x": _r(3, 4)}),
    ("argmax", lambda F, v: F.argmax(v["x"], axis=1), {"x": _r(3, 4)}),
    ("topk", lambda F, v: F.topk(v["x"], k=2), {"x": _r(3, 5)}),
    ("sort_argsort", lambda F, v: F.sort(v["x"]) + F.argsort(v["x"]), {"x": _r(3, 5)}),
    ("take", lambda F, v: F.take(v["x"], v["i"]), {"x": _r(5, 3), "i": _ints(2, 2)}),
    ("pick", lambda F, v: F.pick(v["x"], v["i"], axis=1), {"x": _r(3, 4), "i": _ints(3)}),
    ("one_hot", lambda F, v: F.one_hot(v["i"], depth=5), {"i": _ints(2, 3)}),
    ("where", lambda F, v: F.where(v["c"], v["x"], v["y"]),
     {"c": _ints(3, 2, high=2), "x": _r(3, 2), "y": _r(3, 2)}),
    ("gather_nd", lambda F, v: F.gather_nd(v["x"], v["i"]),
     {"x": _r(3, 4), "i": _ints(2, 3, high=3)}),
    ("dot", lambda F, v: F.dot(v["x"], v["y"], transpose_b=True), {"x": _r(2, 3), "y": _r(4, 3)}),
    ("batch_dot", lambda F, v: F.batch_dot(v["x"], v["y"]), {"x": _r(2, 3, 4), "y": _r(2, 4, 5)}),
    ("elemwise", lambda F, v: F.elemwise_mul(F.elemwise_add(v["x"], v["y"]), v["y"]),
     {"x": _r(2, 3), "y": _r(2, 3)}),
    ("broadcast", lambda F, v: F.broadcast_mul(F.broadcast_add(v["x"], v["y"]), v["y"]),
     {"x": _r(2, 3), "y": _r(1, 3)}),
    ("maximum_power", lambda F, v: F.power(F.maximum(v["x"], v["y"]), 2) + F.minimum(v["x"], 0.1),
     {"x": _r(2, 3), "y": _r(2, 3)}),
    ("comparisons", lambda F, v: F.greater(v["x"], 0.2) + F.lesser_equal(v["x"], v["y"]),
     {"x": _r(2, 3), "y": _r(2, 3)}),
    ("Dropout_predict", lambda F, v: F.Dropout(v["x"], p=0.5), {"x": _r(4, 4)}),
    ("FullyConnected", lambda F, v: F.FullyConnected(v["x"], v["w"], v["b"], num_hidden=4),
     {"x": _r(2, 3, 2), "w": _r(4, 6), "b": _r(4)}),
    ("FullyConnected_noflat", lambda F, v: F.FullyConnected(v["x"], v["w"], num_hidden=4,
                                                           no_bias=True, flatten=False),
     {"x": _r(2, 3, 5), "w": _r(4, 5)}),
    ("Convolution", lambda F, v: F.Convolution(v["x"], v["w"], v["b"], kernel=(3, 3),
                                               stride=(2, 1), pad=(1, 0), num_filter=4),
     {"x": _r(2, 3, 7, 6), "w": _r(4, 3, 3, 3), "b": _r(4)}),
    ("Convolution_groups", lambda F, v: F.Convolution(v["x"], v["w"], kernel=(3,), num_group=2,
                                                      num_filter=4, no_bias=True,
                                                      dilate=(2,)),
     {"x": _r(2, 4, 9), "w": _r(4, 2, 3)}),
    ("Deconvolution", lambda F, v: F.Deconvolution(v["x"], v["w"], kernel=(3, 3), stride=(2, 2),
                                                   pad=(1, 1), adj=(1, 1), num_filter=2),
     {"x": _r(1, 3, 4, 4), "w": _r(3, 2, 3, 3)}),
    ("Pooling_max", lambda F, v: F.Pooling(v["x"], kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                                           pool_type="max"), {"x": _r(2, 3, 7, 7)}),
    ("Pooling_full_avg", lambda F, v: F.Pooling(v["x"], kernel=(2, 2), stride=(2, 2),
                                                pool_type="avg", pooling_convention="full"),
     {"x": _r(2, 3, 7, 7)}),
    ("Pooling_global", lambda F, v: F.Pooling(v["x"], kernel=(1, 1), global_pool=True,
                                              pool_type="avg"), {"x": _r(2, 3, 5, 4)}),
    ("BatchNorm", lambda F, v: F.BatchNorm(v["x"], v["g"], v["b"], v["m"], v["s"], eps=1e-3,
                                           fix_gamma=False),
     {"x": _r(2, 3, 4), "g": _r(3), "b": _r(3), "m": _r(3), "s": np.ones(3, np.float32) * 2}),
    ("LayerNorm", lambda F, v: F.LayerNorm(v["x"], v["g"], v["b"]),
     {"x": _r(2, 3, 4), "g": _r(4), "b": _r(4)}),
    ("InstanceNorm", lambda F, v: F.InstanceNorm(v["x"], v["g"], v["b"]),
     {"x": _r(2, 3, 4), "g": _r(3), "b": _r(3)}),
    ("GroupNorm", lambda F, v: F.GroupNorm(v["x"], v["g"], v["b"], num_groups=2),
     {"x": _r(2, 4, 3), "g": _r(2), "b": _r(2)}),
    ("Embedding", lambda F, v: F.Embedding(v["i"], v["w"], input_dim=5, output_dim=3),
     {"i": _ints(2, 3), "w": _r(5, 3)}),
    ("UpSampling", lambda F, v: F.UpSampling(v["x"], scale=2, sample_type="nearest"),
     {"x": _r(1, 2, 3, 3)}),
    ("L2Normalization_LRN", lambda F, v: F.LRN(F.L2Normalization(v["x"]), nsize=3),
     {"x": _r(2, 4, 3, 3)}),
    ("smooth_l1", lambda F, v: F.smooth_l1(v["x"], scalar=2.0), {"x": _r(3, 3)}),
    ("like_ops", lambda F, v: F.zeros_like(v["x"]) + F.ones_like(v["x"]) + F.BlockGrad(v["x"]) +
     F.identity(v["x"]), {"x": _r(2, 2)}),
    ("SequenceMask", lambda F, v: F.SequenceMask(v["x"], v["l"], use_sequence_length=True,
                                                 value=-1.0),
     {"x": _r(4, 2, 3), "l": np.array([2, 3], np.float32)}),
    ("depth_space", lambda F, v: F.space_to_depth(F.depth_to_space(v["x"], 2), 2),
     {"x": _r(1, 8, 2, 3)}),
    ("shape_array", lambda F, v: F.shape_array(v["x"]), {"x": _r(2, 3)}),
    ("diag", lambda F, v: F.diag(v["x"]), {"x": _r(3, 3)}),
    ("hard_sigmoid", lambda F, v: F.hard_sigmoid(v["x"]), {"x": _r(3, 3)}),
    ("linalg_gemm2", lambda F, v: F.linalg_gemm2(v["x"], v["y"], alpha=2.0),
     {"x": _r(2, 3), "y": _r(3, 2)}),
    ("softmax_cross_entropy", lambda F, v: F.softmax_cross_entropy(v["x"], v["l"]),
     {"x": _r(3, 4), "l": _ints(3)}),
    ("zeros_ones", lambda F, v: v["x"] + F.zeros((2, 3)) * 2 + F.ones((2, 3)), {"x": _r(2, 3)}),
    ("fluent", lambda F, v: v["x"].reshape((3, 2)).transpose().sum(axis=1).exp(),
     {"x": _r(2, 3)}),
]


@pytest.mark.parametrize("name,build,inputs", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_graph_values_shapes_and_dtypes_match_nd(name, build, inputs):
    arrays = {k: nd.array(v) for k, v in inputs.items()}
    expected = build(nd, arrays)
    expected = expected if isinstance(expected, list) else [expected]
    graph = build(sym, {k: sym.var(k) for k in inputs})
    assert set(graph.list_inputs()) == set(inputs)
    for g in (graph, sym.load_json(graph.tojson())):
        got = g.eval(**arrays)
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert a.dtype == b.dtype
            np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-5, atol=1e-6)
    _, out_shapes, _ = graph.infer_shape(**{k: v.shape for k, v in inputs.items()})
    assert out_shapes == [e.shape for e in expected]
    _, out_types, _ = graph.infer_type(**{k: v.dtype for k, v in inputs.items()})
    assert out_types == [np.dtype(e.dtype).type for e in expected]


def test_every_function_names_a_known_operator():
    ops = set(sym.known_ops())
    for needed in ("FullyConnected", "Convolution", "Deconvolution", "Pooling", "BatchNorm",
                   "LayerNorm", "InstanceNorm", "GroupNorm", "Dropout", "Embedding",
                   "Activation", "LeakyReLU", "softmax", "log_softmax", "Flatten", "Reshape",
                   "transpose", "Concat", "elemwise_add", "broadcast_add", "_plus_scalar",
                   "relu", "sigmoid", "tanh", "exp", "log", "sqrt", "sum", "mean", "max",
                   "dot", "batch_dot", "clip", "slice_axis", "expand_dims", "squeeze",
                   "UpSampling", "add_n", "where", "SoftmaxOutput"):
        assert needed in ops
    for alias, op in (("concat", "Concat"), ("flatten", "Flatten"), ("split", "SliceChannel"),
                      ("ElementWiseSum", "add_n"), ("identity", "_copy"),
                      ("stop_gradient", "BlockGrad"), ("swapaxes", "SwapAxis")):
        out = getattr(sym, alias)(sym.var("x"), sym.var("y")) if alias == "ElementWiseSum" \
            else getattr(sym, alias)(sym.var("x"), **({"num_outputs": 2} if alias == "split"
                                                      else {}))
        assert out.as_json_dict()["nodes"][-1]["op"] == op


# ----------------------------------------------------------------- shape and dtype
def test_infer_shape_fills_parameters_from_the_data():
    x = sym.var("data")
    y = sym.FullyConnected(sym.Flatten(x), num_hidden=10, name="fc")
    y = sym.BatchNorm(sym.relu(y), name="bn")
    args, outs, auxs = y.infer_shape(data=(8, 2, 25))
    assert dict(zip(y.list_arguments(), args)) == {
        "data": (8, 2, 25), "fc_weight": (10, 50), "fc_bias": (10,), "bn_gamma": (10,),
        "bn_beta": (10,)}
    assert outs == [(8, 10)] and auxs == [(10,), (10,)]
    assert y.infer_shape((8, 2, 25))[1] == [(8, 10)]           # positional: argument order
    conv = sym.Convolution(sym.var("img"), kernel=(3, 3), num_filter=6, num_group=2,
                           name="c")
    assert conv.infer_shape(img=(1, 4, 8, 8))[0][1] == (6, 2, 3, 3)
    # a shape known only in part, and backward through element-wise operators
    w = sym.var("w", shape=(0, 3))
    z = sym.elemwise_add(w, sym.var("v"))
    assert z.infer_shape(v=(5, 3))[0] == [(5, 3), (5, 3)]
    with pytest.warns(UserWarning, match="Cannot decide shape"):
        assert y.infer_shape() == (None, None, None)
    partial = y.infer_shape_partial()
    assert partial[0][0] == () and partial[0][1] == (10, 0)


def test_infer_shape_conflicts_name_the_node():
    y = sym.FullyConnected(sym.var("data"), sym.var("w", shape=(10, 7)), num_hidden=10,
                           name="fc")
    with pytest.raises(ValueError, match=r"FullyConnected \(node 'fc'\).*\(10, 7\).*\(10, 50\)"):
        y.infer_shape(data=(8, 50))
    with pytest.raises(ValueError, match="not variables of the graph"):
        y.infer_shape(nope=(1,))
    e = sym.elemwise_add(sym.var("a"), sym.var("b"), name="add")
    with pytest.raises(ValueError, match="elemwise_add \\(node 'add'\\)"):
        e.infer_shape(a=(2, 3), b=(3, 2))


def test_infer_type():
    x = sym.var("data")
    y = sym.BatchNorm(sym.FullyConnected(x, num_hidden=3, name="fc"), name="bn")
    args, outs, auxs = y.infer_type(data="float16")
    assert args == [np.float16, np.float16, np.float16, np.float32, np.float32]
    assert outs == [np.float16] and auxs == [np.float32, np.float32]
    e = sym.Embedding(sym.var("idx"), input_dim=4, output_dim=2, dtype="float64", name="e")
    assert e.infer_type(idx="int32") == ([np.int32, np.float64], [np.float64], [])
    assert sym.Cast(x, dtype="int32").infer_type(data="float32")[1] == [np.int32]
    assert sym.relu(x).infer_type() == (None, None, None)
    assert sym.relu(x).infer_type_partial() == ([None], [None], [])


# ---------------------------------------------------------------------- composing
def test_compose_replaces_variables():
    net = sym.FullyConnected(sym.var("data"), num_hidden=3, name="fc")
    inner = sym.relu(sym.var("x"), name="r")
    composed = net(data=inner)
    assert composed.list_arguments() == ["x", "fc_weight", "fc_bias"]
    assert net.list_arguments() == ["data", "fc_weight", "fc_bias"]      # a copy
    assert net(inner).list_arguments() == ["x", "fc_weight", "fc_bias"]
    with pytest.raises(ValueError, match="do not match the graph's variables"):
        net(nope=inner)
    copied = net.__copy__()
    copied._set_attr(mark="1")
    assert net.attr("mark") is None


# --------------------------------------------------------------------------- JSON
@pytest.mark.parametrize("name", NETS)
def test_mxnet_json_round_trips_byte_for_byte(name, tmp_path):
    path = MXNET_DIR / name / "model-symbol.json"
    text = path.read_text()
    graph = sym.load(str(path))
    assert graph.tojson() == text
    assert graph.as_json_dict() == json.loads(text)
    graph.save(str(tmp_path / "again.json"))
    assert (tmp_path / "again.json").read_text() == text
    assert sym.load_json(text).list_outputs() == graph.list_outputs()


def test_json_layout_is_dmlc_s():
    x = sym.var("data")
    text = sym.Activation(x, act_type="relu", name="a").tojson()
    assert text == ('{\n  "nodes": [\n    {\n      "op": "null", \n      "name": "data", \n'
                    '      "inputs": []\n    }, \n    {\n      "op": "Activation", \n'
                    '      "name": "a", \n      "attrs": {"act_type": "relu"}, \n'
                    '      "inputs": [[0, 0, 0]]\n    }\n  ], \n  "arg_nodes": [0], \n'
                    '  "node_row_ptr": [0, 1, 2], \n  "heads": [[1, 0, 0]], \n'
                    '  "attrs": {"mxnet_version": ["int", 10901]}\n}')


def test_old_json_is_upgraded_as_mxnet_does():
    # MXNet 0.8 style: "param" fields, bare "lr_mult" keys, no aux variables stored
    old = {"nodes": [
        {"op": "null", "name": "data", "param": {}, "inputs": []},
        {"op": "null", "name": "fc_weight", "param": {}, "inputs": []},
        {"op": "null", "name": "fc_bias", "param": {}, "inputs": []},
        {"op": "FullyConnected", "name": "fc", "param": {"num_hidden": "4", "no_bias": "False"},
         "attr": {"weight_lr_mult": "2.0", "ctx_group": "g1"},
         "inputs": [[0, 0], [1, 0], [2, 0]]},
        {"op": "null", "name": "bn_gamma", "param": {}, "inputs": []},
        {"op": "null", "name": "bn_beta", "param": {}, "inputs": []},
        {"op": "BatchNorm", "name": "bn", "param": {"eps": "0.001", "fix_gamma": "True"},
         "inputs": [[3, 0], [4, 0], [5, 0]]}],
        "arg_nodes": [0, 1, 2, 4, 5], "heads": [[6, 0]]}
    graph = sym.load_json(json.dumps(old))
    assert graph.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    internals = graph.get_internals()
    assert internals["fc_weight"].attr("__lr_mult__") == "2.0"
    assert internals["fc_output"].attr("__ctx_group__") == "g1"
    assert internals["bn_moving_mean"].attr("__init__") == '["zero", {}]'
    assert graph.infer_shape(data=(2, 3))[2] == [(4,), (4,)]


def test_unknown_operator_is_named_with_its_node():
    bad = json.loads((MXNET_DIR / "mlp_bn" / "model-symbol.json").read_text())
    bad["nodes"][4]["op"] = "_contrib_FancyOp"
    with pytest.raises(sym.UnknownOperatorError,
                       match=r"'_contrib_FancyOp' \(graph node 'dense0_relu_fwd'\)"):
        sym.load_json(json.dumps(bad))
    with pytest.raises(ValueError, match="not valid JSON"):
        sym.load_json("{nodes")
    with pytest.raises(ValueError, match="'heads' is missing"):
        sym.load_json('{"nodes": [], "arg_nodes": []}')
    with pytest.raises(OSError, match="cannot read symbol file"):
        sym.load("/nonexistent/x-symbol.json")


def test_remove_amp_cast():
    x = sym.var("x")
    y = sym.relu(sym.amp_cast(x, dtype="float16"), name="r")
    assert [n["op"] for n in y.as_json_dict()["nodes"]] == ["null", "relu"]
    assert [n["op"] for n in y.as_json_dict(remove_amp_cast=False)["nodes"]] == [
        "null", "amp_cast", "relu"]


# ------------------------------------------------------------ blocks built as graphs
class _Model(fw.HybridBlock):
    """The Gluon book's hybridize example: hybrid_forward written against F."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.hidden = fw.nn.Dense(8, activation="relu")
            self.out = fw.nn.Dense(3)
            self.scale = self.params.get("scale", shape=(1,), init="ones")

    def hybrid_forward(self, F, x, scale):
        h = self.hidden(x)
        h = F.broadcast_mul(h, scale) + F.relu(h) * 0.5
        return self.out(F.concat(h, self.hidden(x), dim=1))      # the Dense called twice


def test_hybrid_forward_with_symbols_builds_the_graph():
    net = _Model(prefix="model_")
    out = net(sym.var("data"))
    assert isinstance(out, sym.Symbol)
    assert out.list_arguments() == ["data", "model_dense0_weight", "model_dense0_bias",
                                    "model_scale", "model_dense1_weight", "model_dense1_bias"]
    names = [n["name"] for n in out.as_json_dict()["nodes"] if n["op"] != "null"]
    assert "model_dense0_relu_fwd" in names and "model_broadcast_mul0" in names
    assert "model_concat0" in names and "model_relu0" in names
    weight = out.get_internals()["model_dense0_weight"]
    assert weight.list_attr()["__shape__"] == "(8, 0)"                 # not inferred yet
    args, outs, _ = out.infer_shape(data=(4, 5))
    assert dict(zip(out.list_arguments(), args))["model_dense1_weight"] == (3, 16)
    # the graph computes what the block computes
    net.initialize()
    x = nd.array(_r(4, 5))
    expected = net(x)
    values = {p.name: p.data() for p in net.collect_params().values()}
    np.testing.assert_allclose(out.eval(data=x, **values)[0].asnumpy(), expected.asnumpy(),
                               rtol=1e-6)


def test_layer_hybrid_forward_gives_mxnet_attributes():
    net = fw.nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(fw.nn.Conv2D(4, 3, padding=1, activation="relu"), fw.nn.MaxPool2D(),
                fw.nn.Dropout(0.3), fw.nn.Flatten())
    graph = net(sym.var("data"))
    nodes = {n["name"]: n for n in graph.as_json_dict()["nodes"]}
    assert nodes["net_conv0_fwd"]["attrs"] == {
        "dilate": "(1, 1)", "kernel": "(3, 3)", "layout": "NCHW", "no_bias": "False",
        "num_filter": "4", "num_group": "1", "pad": "(1, 1)", "stride": "(1, 1)"}
    assert nodes["net_conv0_relu_fwd"]["attrs"] == {"act_type": "relu"}
    assert nodes["net_dropout0_fwd"]["attrs"] == {"axes": "()", "cudnn_off": "False",
                                                  "p": "0.3"}
    assert "net_flatten0_flatten0" in nodes
    assert nodes["net_conv0_weight"]["attrs"]["__shape__"] == "(4, 0, 3, 3)"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert graph.infer_shape(data=(2, 3, 8, 8))[1] == [(2, 64)]


# ------------------------------------------------------- sym.random, sym.linalg
SAMPLERS = [
    ("uniform", dict(low=-2.0, high=3.0)),
    ("normal", dict(loc=1.0, scale=0.5)),
    ("gamma", dict(alpha=2.0, beta=0.5)),
    ("exponential", dict(scale=2.0)),
    ("poisson", dict(lam=3.0)),
    ("negative_binomial", dict(k=3, p=0.4)),
    ("generalized_negative_binomial", dict(mu=2.0, alpha=0.3)),
]


def _draw(fn, seed, *args):
    fw.random.seed(seed)
    return fn(*args).asnumpy()


@pytest.mark.parametrize("sampler,args", SAMPLERS, ids=[s for s, _ in SAMPLERS])
def test_sym_random_draws_as_nd_random(sampler, args, ctx):
    """A ``_random_<name>`` node (and its ``_like`` twin) draws what ``nd.random``
    draws under the same seed, before and after a JSON round trip; shapes and dtypes
    are inferred."""
    x = sym.var("x")
    graph = getattr(sym.random, sampler)(shape=(3, 4), dtype="float64", **args) + x
    assert graph.infer_shape(x=(3, 4))[1] == [(3, 4)]
    assert graph.infer_type(x="float64")[1] == [np.float64]
    for g in (graph, sym.load_json(graph.tojson())):
        block = fw.SymbolBlock(g, [x])
        zeros = nd.zeros((3, 4), ctx=ctx, dtype="float64")
        want = _draw(lambda: getattr(nd.random, sampler)(shape=(3, 4), dtype="float64",
                                                          ctx=ctx, **args), 11)
        np.testing.assert_array_equal(_draw(block, 11, zeros), want)
    like_args = {"lam": 1 / args["scale"]} if sampler == "exponential" else args
    like = getattr(sym.random, sampler + "_like")(x, **like_args)
    assert like.infer_shape(x=(2, 5))[1] == [(2, 5)]
    data = nd.ones((2, 5), ctx=ctx, dtype="float16")
    got = _draw(fw.SymbolBlock(like, [x]), 12, data)
    want = _draw(lambda: getattr(nd.random, sampler + "_like")(data, **like_args), 12)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, want)


def test_sym_randint_and_the_top_level_names(ctx):
    r = sym.random_randint(2, 9, shape=(50,))
    assert r.infer_type()[1] == [np.int32]
    x = sym.var("x")
    block = fw.SymbolBlock(sym.broadcast_add(sym.Cast(r, dtype="float32"), x), [x])
    values = _draw(block, 5, nd.zeros((1,), ctx=ctx))
    want = _draw(lambda: nd.random.randint(2, 9, shape=(50,), ctx=ctx), 5)
    np.testing.assert_array_equal(values, want.astype(np.float32))
    assert values.min() >= 2 and values.max() < 9
    assert sym.uniform is sym.random.uniform and sym.random_normal is sym.random.normal
    ops = [n["op"] for n in json.loads(sym.random_exponential(shape=(2,)).tojson())["nodes"]]
    assert ops == ["_random_exponential"]


@pytest.mark.parametrize("sampler,args", SAMPLERS, ids=[s for s, _ in SAMPLERS])
def test_sym_random_with_array_parameters_draws_as_nd(sampler, args, ctx):
    """Symbols for every parameter give MXNet's ``_sample_<name>`` node: params.shape +
    shape draws, what ``nd.random`` draws from NDArray parameters under the same seed
    (exponential through its rate, 1 / scale: to rounding)."""
    names = list(args)
    variables = [sym.var(n) for n in names]
    graph = getattr(sym.random, sampler)(*variables, shape=(4,))
    op = [n["op"] for n in json.loads(graph.tojson())["nodes"] if n["op"] != "null"]
    assert op[-1] == "_sample_" + sampler
    shapes = {n: (2, 3) for n in graph.list_arguments()}
    assert graph.infer_shape(**shapes)[1] == [(2, 3, 4)]
    assert graph.infer_type(**{n: "float64" for n in shapes})[1] == [np.float64]
    params = [nd.array(np.full((2, 3), v) * np.arange(1, 7).reshape(2, 3) ** 0.25, ctx=ctx,
                       dtype="float64") for v in args.values()]
    got = _draw(fw.SymbolBlock(graph, variables), 9, *params)
    want = _draw(lambda: getattr(nd.random, sampler)(*params, shape=(4,)), 9)
    assert got.shape == (2, 3, 4) and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_sym_random_refuses_mixed_parameters():
    with pytest.raises(TypeError, match="all numbers or all Symbols"):
        sym.random.normal(loc=sym.var("mu"), scale=1.0, shape=(2,))


class _Reparameterize(fw.HybridBlock):
    """A VAE's sampling step: mu + exp(log_var / 2) * eps, eps ~ N(0, 1) like mu."""

    def hybrid_forward(self, F, mu, log_var):
        return mu + F.exp(0.5 * log_var) * F.random.normal_like(mu)


def test_a_block_drawing_with_F_random_exports_and_imports(tmp_path, ctx):
    block = _Reparameterize()
    mu, log_var = nd.array(_r(4, 3), ctx=ctx), nd.array(_r(4, 3), ctx=ctx)
    want = _draw(block, 21, mu, log_var)
    files = block.export(str(tmp_path / "vae"))
    imported = fw.SymbolBlock.imports(files[0], ["data0", "data1"], ctx=ctx)
    np.testing.assert_array_equal(_draw(imported, 21, mu, log_var), want)
    block.hybridize()             # captured (no fallback warning); each replay draws anew
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        np.testing.assert_array_equal(_draw(block, 21, mu, log_var), want)
        again = block(mu, log_var).asnumpy()
    assert not np.array_equal(again, want)
    assert block._cached_op.entries and all(
        e is not _IMPERATIVE for e in block._cached_op.entries.values())


class _Choose(fw.HybridBlock):
    """Samplers that read their input: a multinomial draw with its log-probability, and a
    shuffle of the rows. (A graph draws in the order of its JSON nodes, its outputs'
    depth-first order: the multinomial's term comes first, as in the Python.)"""

    def hybrid_forward(self, F, x):
        picked, logp = F.random.multinomial(F.softmax(x, axis=-1), shape=(6,), get_prob=True)
        return logp.sum(axis=-1, keepdims=True) \
            + picked.astype("float32").mean(axis=-1, keepdims=True) + F.random.shuffle(x)


def test_multinomial_and_shuffle_export_and_import(tmp_path, ctx):
    block = _Choose()
    x = nd.array(_r(5, 4), ctx=ctx)
    want = _draw(block, 17, x)
    files = block.export(str(tmp_path / "choose"))
    ops = [n["op"] for n in json.loads(pathlib.Path(files[0]).read_text())["nodes"]]
    assert "_sample_multinomial" in ops and "_shuffle" in ops
    imported = fw.SymbolBlock.imports(files[0], ["data"], ctx=ctx)
    np.testing.assert_array_equal(_draw(imported, 17, x), want)
    graph = sym.random.multinomial(sym.var("p"), shape=(2, 3), get_prob=True)
    assert len(graph.list_outputs()) == 2
    assert graph.infer_shape(p=(4, 5))[1] == [(4, 2, 3), (4, 2, 3)]
    assert graph.infer_type(p="float64")[1] == [np.int32, np.float64]
    assert sym.random.multinomial(sym.var("p")).infer_shape(p=(5,))[1] == [(1,)]
    assert sym.random.shuffle(sym.var("q")).infer_shape(q=(7, 2))[1] == [(7, 2)]
    for top_level, op in ((sym.shuffle, "_shuffle"), (sym.sample_multinomial,
                                                     "_sample_multinomial")):
        assert json.loads(top_level(sym.var("q")).tojson())["nodes"][-1]["op"] == op


def test_sym_linalg_gemm_and_gemm2_equal_nd(ctx):
    a, b, c = _r(2, 3, 4), _r(2, 5, 4), _r(2, 3, 5)
    A, B, C = sym.var("A"), sym.var("B"), sym.var("C")
    graphs = {"gemm2": sym.linalg.gemm2(A, B, transpose_b=True, alpha=2.0),
              "gemm": sym.linalg.gemm(A, B, C, transpose_b=True, alpha=0.5, beta=3.0)}
    arrays = [nd.array(v, ctx=ctx) for v in (a, b, c)]
    want = {"gemm2": nd.linalg.gemm2(*arrays[:2], transpose_b=True, alpha=2.0),
            "gemm": nd.linalg.gemm(*arrays, transpose_b=True, alpha=0.5, beta=3.0)}
    for name, graph in graphs.items():
        inputs = [A, B] if name == "gemm2" else [A, B, C]
        shapes = dict(zip("ABC", (a.shape, b.shape, c.shape)))
        assert graph.infer_shape(**{v.name: shapes[v.name] for v in inputs})[1] == [(2, 3, 5)]
        got = fw.SymbolBlock(graph, inputs)(*arrays[:len(inputs)])
        np.testing.assert_allclose(got.asnumpy(), want[name].asnumpy(), rtol=1e-6)
