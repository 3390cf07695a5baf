"""HybridBlock.export and SymbolBlock (issue 8, item 2): files in MXNet 1.x's formats
that real MXNet 1.9.1's SymbolBlock.imports reads, and MXNet's own exports
(../shared/data/mxnet) imported and run with framework.nd.

- each shared MXNet export loads with SymbolBlock.imports and reproduces output.npy;
- export then imports round-trips exactly for every nn layer (train and predict mode,
  gradients too), with the Parameters named as MXNet names them;
- our export of each shared net matches MXNet's JSON field by field.
"""
import json
import re
import pathlib
import struct
import threading
import warnings

import numpy as np
import pytest

import framework as fw
from framework import autograd, nd
from framework import symbol as sym
from framework.symbol_block import SymbolBlock
from framework.test_utils import assert_almost_equal

MXNET_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mxnet"
NETS = ["mlp_bn", "tiny_convnet"]
nn = fw.nn


def build(name: str):
    """The net of ``name``/net.py, run with framework's nn in place of MXNet's."""
    source = (MXNET_DIR / name / "net.py").read_text()
    scope = {"nn": fw.nn}
    exec(compile(source, str(MXNET_DIR / name / "net.py"), "exec"), scope)
    return scope["net"]


def build_as_mxnet_did(name: str):
    """The net named as in MXNet's files: block names count per thread, and MXNet's
    process built the nets in the order of NETS (tiny_convnet's BatchNorm is
    ``batchnorm1``), so they are built so in a new thread."""
    nets = {}

    def run():
        for each in NETS[:NETS.index(name) + 1]:
            nets[each] = build(each)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return nets[name]


# ------------------------------------------------------------- MXNet's own exports
@pytest.mark.parametrize("name", NETS)
def test_imports_reproduces_mxnet_output(name, ctx):
    folder = MXNET_DIR / name
    block = SymbolBlock.imports(str(folder / "model-symbol.json"), ["data"],
                                str(folder / "model-0000.params"), ctx=ctx)
    x = nd.array(np.load(folder / "input.npy"), ctx=ctx)
    out = block(x)
    assert out.context == ctx
    assert_almost_equal(out, np.load(folder / "output.npy"), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", NETS)
def test_imported_parameters_are_named_as_the_file(name):
    folder = MXNET_DIR / name
    meta = json.loads((folder / "meta.json").read_text())
    block = SymbolBlock.imports(str(folder / "model-symbol.json"), "data",
                                str(folder / "model-0000.params"))
    params = block.collect_params()
    assert sorted(params.keys()) == sorted(k[4:] for k in meta["export_keys"])
    for key in meta["export_keys"]:
        assert params[key[4:]].grad_req == ("null" if key.startswith("aux:") else "write")
    assert "SymbolBlock" in repr(block) and ": 1 -> 1" in repr(block)


def test_imported_block_trains_and_gives_gradients():
    folder = MXNET_DIR / "mlp_bn"
    block = SymbolBlock.imports(str(folder / "model-symbol.json"), ["data"],
                                str(folder / "model-0000.params"))
    net = build_as_mxnet_did("mlp_bn")              # its parameters named as in the file
    net.load_parameters(str(folder / "model-0000.params"))
    x = nd.array(np.load(folder / "input.npy"))
    fw.random.seed(3)
    with autograd.record():
        a = net(x)
    a.backward()
    fw.random.seed(3)
    with autograd.record():                         # train mode: Dropout, batch statistics
        b = block(x)
    b.backward()
    assert_almost_equal(a, b, rtol=1e-6, atol=1e-6)
    theirs = {p.name: p for p in net.collect_params().values()}
    for name, param in block.collect_params().items():
        if param.grad_req != "null":
            assert_almost_equal(param.grad(), theirs[name].grad(), rtol=1e-5, atol=1e-6)
        else:                                       # running statistics moved alike
            assert_almost_equal(param.data(), theirs[name].data(), rtol=1e-6, atol=1e-7)
    trainer = fw.Trainer(block.collect_params(), "sgd", {"learning_rate": 0.1})
    trainer.step(8)
    assert not np.allclose(block(x).asnumpy(), a.asnumpy())


def test_imports_without_parameters_initializes_from_the_data():
    folder = MXNET_DIR / "tiny_convnet"
    block = SymbolBlock.imports(str(folder / "model-symbol.json"), ["data"])
    block.initialize(fw.init.Xavier())
    out = block(nd.array(np.load(folder / "input.npy")))
    assert out.shape == (4, 10)
    assert block.collect_params()["dense2_weight"].shape == (20, 432)
    assert block.collect_params()["conv1_weight"].shape == (12, 2, 3, 3)
    block.load_parameters(str(folder / "model-0000.params"))
    assert_almost_equal(block(nd.array(np.load(folder / "input.npy"))),
                        np.load(folder / "output.npy"), rtol=1e-5, atol=1e-5)


def test_symbol_block_parameter_files(tmp_path):
    folder = MXNET_DIR / "mlp_bn"
    block = SymbolBlock.imports(str(folder / "model-symbol.json"), ["data"],
                                str(folder / "model-0000.params"))
    block.save_parameters(str(tmp_path / "sb.params"))
    again = SymbolBlock.imports(str(folder / "model-symbol.json"), ["data"])
    again.load_parameters(str(tmp_path / "sb.params"))
    x = nd.array(np.load(folder / "input.npy"))
    assert_almost_equal(again(x), block(x), rtol=0, atol=0)
    with pytest.raises(ValueError, match="dense0_weight"):
        bad = SymbolBlock.imports(str(folder / "model-symbol.json"), ["data"])
        bad.collect_params().load(str(MXNET_DIR / "tiny_convnet" / "model-0000.params"))


def test_unknown_operator_names_the_operator_and_node(tmp_path):
    graph = json.loads((MXNET_DIR / "mlp_bn" / "model-symbol.json").read_text())
    graph["nodes"][9]["op"] = "SyncBatchNormX"
    path = tmp_path / "bad-symbol.json"
    path.write_text(json.dumps(graph))
    with pytest.raises(sym.UnknownOperatorError,
                       match=r"'SyncBatchNormX' \(graph node 'batchnorm0_fwd'\)"):
        SymbolBlock.imports(str(path), ["data"])


def test_wrong_inputs_are_clear_errors():
    graph = sym.FullyConnected(sym.var("data"), num_hidden=3, name="fc")
    with pytest.raises(ValueError, match="input 'x' is not a variable of the graph"):
        SymbolBlock(graph, sym.var("x"))
    with pytest.raises(ValueError, match="inputs must be variables"):
        SymbolBlock(graph, sym.relu(sym.var("data")))
    block = SymbolBlock(graph, sym.var("data"))
    block.initialize()
    with pytest.raises(ValueError, match="takes 1 inputs"):
        block(nd.ones((2, 3)), nd.ones((2, 3)))


# ------------------------------------------------ our export against MXNet's files
def _var_shape_fits(ours: str, theirs: str) -> bool:
    """MXNet writes a Parameter's declared shape (0 for dimensions inferred later); ours
    is the Parameter's shape at export, the same with those dimensions filled."""
    a, b = eval(ours), eval(theirs)
    return len(a) == len(b) and all(y in (0, x) for x, y in zip(a, b))


@pytest.mark.parametrize("name", NETS)
def test_export_matches_mxnet_json_field_by_field(name, tmp_path):
    folder = MXNET_DIR / name
    net = build_as_mxnet_did(name)
    net.load_parameters(str(folder / "model-0000.params"))
    x = nd.array(np.load(folder / "input.npy"))
    net(x)
    symbol_file, params_file = net.export(str(tmp_path / "model"))
    assert (symbol_file, params_file) == (str(tmp_path / "model-symbol.json"),
                                          str(tmp_path / "model-0000.params"))
    ours = json.loads(pathlib.Path(symbol_file).read_text())
    theirs = json.loads((folder / "model-symbol.json").read_text())
    for field in ("arg_nodes", "node_row_ptr", "heads", "attrs"):
        assert ours[field] == theirs[field], field
    assert len(ours["nodes"]) == len(theirs["nodes"])
    for a, b in zip(ours["nodes"], theirs["nodes"]):
        assert a["op"] == b["op"]
        if a["op"] == "null":
            assert a["name"] == b["name"]
            attrs_a, attrs_b = dict(a.get("attrs", {})), dict(b.get("attrs", {}))
            if "__shape__" in attrs_b:
                assert _var_shape_fits(attrs_a.pop("__shape__"), attrs_b.pop("__shape__"))
            assert attrs_a == attrs_b
        else:
            # the layers pass name='fwd' as MXNet's do: dense0_fwd, batchnorm0_fwd, ...
            assert a["name"] == b["name"], (a["name"], b["name"])
            assert a.get("attrs") == b.get("attrs")
        # nnvm counts a variable's version up at each mutating composition: MXNet's Gluon
        # composed its BatchNorm twice (version 2), a single build gives 1
        assert [i[:2] for i in a["inputs"]] == [i[:2] for i in b["inputs"]]
    # the parameter file: MXNet's binary list format, the same arg:/aux: names and values
    with open(params_file, "rb") as f:
        assert struct.unpack("<Q", f.read(8))[0] == 0x112
    mine, real = nd.load(params_file), nd.load(str(folder / "model-0000.params"))
    assert sorted(mine) == sorted(real)
    for key in real:
        assert_almost_equal(mine[key], real[key], rtol=0, atol=0)
    block = SymbolBlock.imports(symbol_file, ["data"], params_file)
    assert_almost_equal(block(x), np.load(folder / "output.npy"), rtol=1e-5, atol=1e-5)


# -------------------------------------------------- every layer: export, imports
def _concat():
    block = nn.HybridConcatenate(axis=1)
    block.add(nn.Dense(3), nn.Dense(4, activation="sigmoid"))
    return block


def _sequential():
    block = nn.HybridSequential()
    block.add(nn.Conv2D(4, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
              nn.MaxPool2D(), nn.Flatten(), nn.Dropout(0.2), nn.Dense(5))
    return block


LAYERS = [
    ("Dense", lambda: nn.Dense(5, activation="tanh"), (3, 4)),
    ("Dense_noflat_nobias", lambda: nn.Dense(5, flatten=False, use_bias=False), (2, 3, 4)),
    ("Conv1D", lambda: nn.Conv1D(4, 3, padding=1), (2, 3, 8)),
    ("Conv2D", lambda: nn.Conv2D(4, 3, strides=2, activation="relu"), (2, 3, 9, 9)),
    ("Conv2D_groups", lambda: nn.Conv2D(4, 3, groups=2, dilation=2), (2, 4, 9, 9)),
    ("Conv2D_NHWC", lambda: nn.Conv2D(4, 3, layout="NHWC"), (2, 9, 9, 3)),
    ("Conv3D", lambda: nn.Conv3D(2, 2), (1, 2, 4, 4, 4)),
    ("Conv1DTranspose", lambda: nn.Conv1DTranspose(4, 3, strides=2, output_padding=1),
     (2, 3, 5)),
    ("Conv2DTranspose", lambda: nn.Conv2DTranspose(4, 3, strides=2, padding=1), (2, 2, 5, 5)),
    ("Conv3DTranspose", lambda: nn.Conv3DTranspose(2, 2), (1, 2, 3, 3, 3)),
    ("MaxPool1D", lambda: nn.MaxPool1D(2), (2, 3, 8)),
    ("MaxPool2D", lambda: nn.MaxPool2D(3, 2, 1, ceil_mode=True), (2, 3, 9, 9)),
    ("MaxPool3D", lambda: nn.MaxPool3D(), (1, 2, 4, 4, 4)),
    ("AvgPool1D", lambda: nn.AvgPool1D(), (2, 3, 8)),
    ("AvgPool2D", lambda: nn.AvgPool2D(3, 2, 1, count_include_pad=False), (2, 3, 9, 9)),
    ("AvgPool3D", lambda: nn.AvgPool3D(), (1, 2, 4, 4, 4)),
    ("GlobalMaxPool1D", lambda: nn.GlobalMaxPool1D(), (2, 3, 8)),
    ("GlobalMaxPool2D", lambda: nn.GlobalMaxPool2D(), (2, 3, 5, 5)),
    ("GlobalMaxPool3D", lambda: nn.GlobalMaxPool3D(), (1, 2, 4, 4, 4)),
    ("GlobalAvgPool1D", lambda: nn.GlobalAvgPool1D(), (2, 3, 8)),
    ("GlobalAvgPool2D", lambda: nn.GlobalAvgPool2D(), (2, 3, 5, 5)),
    ("GlobalAvgPool3D", lambda: nn.GlobalAvgPool3D(), (1, 2, 4, 4, 4)),
    ("BatchNorm", lambda: nn.BatchNorm(), (4, 3, 5, 5)),
    ("BatchNorm_last_axis", lambda: nn.BatchNorm(axis=-1, scale=False), (4, 5, 3)),
    ("LayerNorm", lambda: nn.LayerNorm(), (3, 4, 5)),
    ("InstanceNorm", lambda: nn.InstanceNorm(), (2, 3, 5)),
    ("InstanceNorm_axis2", lambda: nn.InstanceNorm(axis=2, scale=True), (2, 5, 3)),
    ("GroupNorm", lambda: nn.GroupNorm(num_groups=2), (2, 4, 5)),
    ("Dropout", lambda: nn.Dropout(0.5), (3, 4)),
    ("Embedding", lambda: nn.Embedding(10, 4), None),
    ("Flatten", lambda: nn.Flatten(), (2, 3, 4)),
    ("Activation_relu", lambda: nn.Activation("relu"), (3, 4)),
    ("Activation_softrelu", lambda: nn.Activation("softrelu"), (3, 4)),
    ("Activation_softsign", lambda: nn.Activation("softsign"), (3, 4)),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.1), (3, 4)),
    ("PReLU", lambda: nn.PReLU(), (3, 4)),
    ("PReLU_channels", lambda: nn.PReLU(in_channels=3), (2, 3, 4)),
    ("ELU", lambda: nn.ELU(), (3, 4)),
    ("SELU", lambda: nn.SELU(), (3, 4)),
    ("GELU", lambda: nn.GELU(), (3, 4)),
    ("GELU_tanh", lambda: nn.GELU("tanh"), (3, 4)),
    ("Swish", lambda: nn.Swish(beta=1.5), (3, 4)),
    ("SiLU", lambda: nn.SiLU(), (3, 4)),
    ("HybridLambda_name", lambda: nn.HybridLambda("tanh"), (3, 4)),
    ("HybridLambda_function", lambda: nn.HybridLambda(lambda F, x: F.relu(x) * 2 + 1), (3, 4)),
    ("Identity", lambda: nn.Identity(), (3, 4)),
    ("HybridConcatenate", _concat, (2, 5)),
    ("ReflectionPad2D", lambda: nn.ReflectionPad2D(1), (1, 2, 4, 4)),
    ("PixelShuffle1D", lambda: nn.PixelShuffle1D(2), (1, 4, 3)),
    ("PixelShuffle2D", lambda: nn.PixelShuffle2D(2), (1, 8, 3, 3)),
    ("PixelShuffle3D", lambda: nn.PixelShuffle3D(2), (1, 16, 2, 2, 2)),
    ("HybridSequential", _sequential, (2, 3, 6, 6)),
]


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_export_then_imports_round_trips_every_layer(name, make, shape, ctx, tmp_path):
    rng = np.random.default_rng(1)
    net = make()
    net.initialize(fw.init.Uniform(0.5), ctx=ctx)
    if shape is None:
        x = nd.array(rng.integers(0, 10, (3, 4)).astype(np.float32), ctx=ctx)
    else:
        x = nd.array(rng.standard_normal(shape).astype(np.float32), ctx=ctx)
    expected = net(x)
    symbol_file, params_file = net.export(str(tmp_path / "layer"), epoch=3)
    assert params_file.endswith("layer-0003.params")
    block = SymbolBlock.imports(symbol_file, ["data"], params_file, ctx=ctx)
    ours = {p.name for p in net.collect_params().values()}
    assert set(block.collect_params().keys()) == ours            # MXNet's names
    assert_almost_equal(block(x), expected, rtol=0, atol=0)
    graph = sym.load(symbol_file)
    assert graph.infer_shape(data=x.shape)[1] == [expected.shape]
    if name == "Dropout":
        return
    x.attach_grad()
    fw.random.seed(5)
    with autograd.record():                                      # train mode
        a = net(x)
    a.backward()
    grad_net = x.grad.copy()
    fw.random.seed(5)                                            # the same Dropout masks
    with autograd.record():
        b = block(x)
    b.backward()
    assert_almost_equal(a, b, rtol=1e-6, atol=1e-6)
    assert_almost_equal(x.grad, grad_net, rtol=1e-5, atol=1e-6)


def test_export_writes_arg_and_aux_names(tmp_path):
    net = nn.HybridSequential()
    net.add(nn.Dense(4), nn.BatchNorm())
    net.initialize()
    net(nd.ones((2, 3)))
    net.export(str(tmp_path / "m"))
    keys = nd.load(str(tmp_path / "m-0000.params"))
    assert sorted(keys) == sorted([
        "arg:" + net[0].weight.name, "arg:" + net[0].bias.name, "arg:" + net[1].gamma.name,
        "arg:" + net[1].beta.name, "aux:" + net[1].running_mean.name,
        "aux:" + net[1].running_var.name])


class _TwoInputs(fw.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.dense = nn.Dense(3)
            self.unused = nn.Dense(2)

    def hybrid_forward(self, F, a, b):
        return self.dense(a) * F.sigmoid(b), F.relu(a)


def test_export_names_several_inputs_data0_data1_and_skips_unused(tmp_path):
    net = _TwoInputs()
    net.initialize()
    a, b = nd.array(np.ones((2, 3))), nd.array(np.full((2, 3), 0.5))
    out = net(a, b)
    net.unused(a)
    with pytest.warns(UserWarning, match="not used by the graph"):
        files = net.export(str(tmp_path / "two"))
    block = SymbolBlock.imports(files[0], ["data0", "data1"], files[1])
    got = block(a, b)
    assert isinstance(got, list) and len(got) == 2
    assert_almost_equal(got[0], out[0], rtol=0, atol=0)
    assert_almost_equal(got[1], out[1], rtol=0, atol=0)


def test_export_before_initialization_is_a_clear_error(tmp_path):
    net = nn.Dense(3)
    with pytest.raises(RuntimeError, match="export.*Parameter 'dense\\d+_weight' has no data"):
        net.export(str(tmp_path / "x"))


def test_symbol_block_of_internals_shares_parameters(tmp_path):
    net = nn.HybridSequential(prefix="model_")
    with net.name_scope():
        net.add(nn.Dense(6, activation="relu"), nn.Dense(4, activation="relu"), nn.Dense(2))
    net.initialize()
    x = nd.array(np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32))
    net(x)
    data = sym.var("data")
    internals = net(data).get_internals()
    outputs = [internals["model_dense0_relu_fwd_output"],
               internals["model_dense1_relu_fwd_output"]]
    features = SymbolBlock(outputs, data, params=net.collect_params())
    first, second = features(x)
    assert_almost_equal(first, net[0](x), rtol=0, atol=0)
    assert_almost_equal(second, net[1](net[0](x)), rtol=0, atol=0)
    assert features.collect_params()["model_dense0_weight"] is net[0].weight


def test_symbol_block_inside_a_network_exports(tmp_path):
    folder = MXNET_DIR / "tiny_convnet"
    imported = SymbolBlock.imports(str(folder / "model-symbol.json"), ["data"],
                                   str(folder / "model-0000.params"))
    net = nn.HybridSequential()
    net.add(imported, nn.Dense(3, in_units=10))
    net[1].initialize()
    x = nd.array(np.load(folder / "input.npy"))
    expected = net(x)
    graph = net(sym.var("data"))
    assert graph.list_inputs()[:2] == ["data", "conv0_weight"]
    files = net.export(str(tmp_path / "nested"))
    again = SymbolBlock.imports(files[0], ["data"], files[1])
    assert_almost_equal(again(x), expected, rtol=0, atol=0)
    # a SymbolBlock exports its own graph with its own input names
    files = imported.export(str(tmp_path / "itself"))
    assert sym.load(files[0]).tojson() == (folder / "model-symbol.json").read_text()


@pytest.mark.parametrize("name,size", [("resnet18_v1", 32), ("mobilenetv2_0.25", 32)])
def test_model_zoo_networks_export(name, size, tmp_path):
    from framework.model_zoo import vision
    net = vision.get_model(name, classes=7)
    net.initialize(fw.init.Xavier())
    x = nd.array(np.random.default_rng(4).random((1, 3, size, size)).astype(np.float32))
    expected = net(x)
    files = net.export(str(tmp_path / name))
    block = SymbolBlock.imports(files[0], ["data"], files[1])
    assert_almost_equal(block(x), expected, rtol=0, atol=0)
    ops = {n["op"] for n in json.loads(pathlib.Path(files[0]).read_text())["nodes"]}
    assert {"Convolution", "BatchNorm", "Pooling"} <= ops
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sym.load(files[0]).infer_shape(data=x.shape)[1] == [(1, 7)]


# ------------------------------- more files real MXNet 1.9.1 wrote (tests/data)
# made by tests/data/make_mxnet_exports.py: the -symbol.json and -0000.params files of
# MXNet's export of each Gluon layer, and the graphs of its model-zoo networks
EXPORTS = np.load(pathlib.Path(__file__).resolve().parent / "data" / "mxnet_exports.npz")
MX_LAYERS = sorted({k.split("/")[0] for k in EXPORTS.files if k.endswith("/params")})
MX_ZOO = sorted({k.split("/")[0] for k in EXPORTS.files if k.endswith("/output_shape")})


def _text(key: str) -> str:
    return EXPORTS[key].tobytes().decode("utf-8")


@pytest.mark.parametrize("name", MX_LAYERS)
def test_mxnet_layer_exports_import_and_reproduce_mxnet(name, tmp_path):
    (tmp_path / "m-symbol.json").write_text(_text(f"{name}/symbol"))
    (tmp_path / "m-0000.params").write_bytes(EXPORTS[f"{name}/params"].tobytes())
    block = SymbolBlock.imports(str(tmp_path / "m-symbol.json"), ["data"],
                                str(tmp_path / "m-0000.params"))
    out = block(nd.array(EXPORTS[f"{name}/input"]))
    assert_almost_equal(out, EXPORTS[f"{name}/output"], rtol=1e-5, atol=1e-6)
    assert sym.load(str(tmp_path / "m-symbol.json")).tojson() == _text(f"{name}/symbol")


def test_mxnet_symbol_api_graph_evaluates_as_in_mxnet():
    graph = sym.load_json(_text("symops/symbol"))
    assert graph.tojson() == _text("symops/symbol")
    outputs = graph.eval(data=nd.array(EXPORTS["symops/input"]))
    assert len(outputs) == 3
    for i, out in enumerate(outputs):
        assert_almost_equal(out, EXPORTS[f"symops/output{i}"], rtol=1e-5, atol=1e-6)


def _zoo_net(name):
    """framework's model-zoo network, built in a new thread so that its prefix is the
    first of its family (resnetv10_), as in MXNet's file."""
    from framework.model_zoo import vision
    made = {}
    thread = threading.Thread(target=lambda: made.update(net=vision.get_model(name, classes=7)))
    thread.start()
    thread.join()
    return made["net"]


@pytest.mark.parametrize("name", MX_ZOO)
def test_mxnet_model_zoo_graphs_load_and_match_framework_model_zoo(name):
    text = _text(f"{name}/symbol")
    theirs = sym.load_json(text)
    assert theirs.tojson() == text
    shape = tuple(EXPORTS[f"{name}/input_shape"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        arg_shapes, out_shapes, aux_shapes = theirs.infer_shape(data=shape)
    assert out_shapes == [tuple(EXPORTS[f"{name}/output_shape"])]
    # framework's network of that name builds the same graph: operators, wiring,
    # arguments and Parameter names and shapes (node names aside: see the field test)
    ours = _zoo_net(name)(sym.var("data"))
    nodes_a, nodes_b = ours.as_json_dict()["nodes"], theirs.as_json_dict()["nodes"]
    assert [n["op"] for n in nodes_a] == [n["op"] for n in nodes_b]
    assert [[i[:2] for i in n["inputs"]] for n in nodes_a] == \
        [[i[:2] for i in n["inputs"]] for n in nodes_b]
    assert [n.get("attrs") for n in nodes_a if n["op"] != "null"] == \
        [n.get("attrs") for n in nodes_b if n["op"] != "null"]
    assert ours.list_arguments() == theirs.list_arguments()
    assert ours.list_auxiliary_states() == theirs.list_auxiliary_states()
    assert ours.infer_shape(data=shape) == (arg_shapes, out_shapes, aux_shapes)


@pytest.mark.parametrize("name", ["resnet18_v1", "mobilenetv2_0.25", "vgg11_bn"])
def test_mxnet_zoo_graph_runs_with_framework_zoo_parameters(name):
    net = _zoo_net(name)
    net.initialize(fw.init.Xavier())
    x = nd.array(np.random.default_rng(6).random(tuple(EXPORTS[f"{name}/input_shape"]))
                 .astype(np.float32))
    expected = net(x)
    block = SymbolBlock(sym.load_json(_text(f"{name}/symbol")), sym.var("data"),
                        params=net.collect_params())
    assert_almost_equal(block(x), expected, rtol=1e-5, atol=1e-6)


_BLOCK_PREFIX = re.compile(r"^[a-z0-9]*?\d+_")


@pytest.mark.parametrize("name", sorted({c[0] for c in LAYERS} & set(MX_LAYERS)))
def test_layer_node_names_match_mxnet_export(name, tmp_path):
    """The operator nodes of each layer's export are named as in MXNet 1.9.1's file
    (``dense0_fwd``, ``conv1_relu_fwd``, ``swish0_fwd``, ``flatten0_flatten0``, ...),
    less the block counter, which depends on how many blocks a script made before."""
    make, shape = {c[0]: (c[1], c[2]) for c in LAYERS}[name]
    net = make()
    net.initialize()
    rng = np.random.default_rng(2)
    if shape is None:
        net(nd.array(rng.integers(0, 10, (3, 4)).astype(np.float32)))
    else:
        net(nd.array(rng.standard_normal(shape).astype(np.float32)))
    symbol_file, _ = net.export(str(tmp_path / "layer"))

    def op_nodes(text):
        return [(n["op"], _BLOCK_PREFIX.sub("", n["name"]))
                for n in json.loads(text)["nodes"] if n["op"] != "null"]

    assert op_nodes(pathlib.Path(symbol_file).read_text()) == op_nodes(_text(f"{name}/symbol"))
