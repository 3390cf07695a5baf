"""The vision model zoo: MXNet 1.9.1's networks, names, shapes and published files.

Expected parameter names and counts are read off MXNet's model-zoo code (the name
scopes give ``resnetv10_stage1_conv0_weight``; the structure gives
``features.4.0.body.0.weight``); the trainable-parameter totals are the published
ones (torchvision's and Keras' tables for the same architectures). Large networks
run at small inputs, or are checked by structure where a full forward is too slow.
"""
import functools
import hashlib
import http.server
import os
import threading
import zipfile

import numpy as np
import pytest

import framework as fw
from framework import nn
from framework.model_zoo import model_store, vision
from framework.utils import DownloadError

# MXNet 1.9.1's get_model names -> constructor names
MODELS = {
    "resnet18_v1": "resnet18_v1", "resnet34_v1": "resnet34_v1", "resnet50_v1": "resnet50_v1",
    "resnet101_v1": "resnet101_v1", "resnet152_v1": "resnet152_v1",
    "resnet18_v2": "resnet18_v2", "resnet34_v2": "resnet34_v2", "resnet50_v2": "resnet50_v2",
    "resnet101_v2": "resnet101_v2", "resnet152_v2": "resnet152_v2",
    "vgg11": "vgg11", "vgg13": "vgg13", "vgg16": "vgg16", "vgg19": "vgg19",
    "vgg11_bn": "vgg11_bn", "vgg13_bn": "vgg13_bn", "vgg16_bn": "vgg16_bn",
    "vgg19_bn": "vgg19_bn", "alexnet": "alexnet",
    "densenet121": "densenet121", "densenet161": "densenet161", "densenet169": "densenet169",
    "densenet201": "densenet201", "squeezenet1.0": "squeezenet1_0",
    "squeezenet1.1": "squeezenet1_1", "inceptionv3": "inception_v3",
    "mobilenet1.0": "mobilenet1_0", "mobilenet0.75": "mobilenet0_75",
    "mobilenet0.5": "mobilenet0_5", "mobilenet0.25": "mobilenet0_25",
    "mobilenetv2_1.0": "mobilenet_v2_1_0", "mobilenetv2_0.75": "mobilenet_v2_0_75",
    "mobilenetv2_0.5": "mobilenet_v2_0_5", "mobilenetv2_0.25": "mobilenet_v2_0_25",
}


def trainable_count(net) -> int:
    return sum(int(np.prod(p.shape)) for p in net.collect_params().values()
               if p.grad_req != "null")


def local_names(net):
    """Parameter names less the network's own prefix (which counts instances)."""
    return [name[len(net.prefix):] for name in net.collect_params().keys()]


def shapes(net):
    return {key: p.shape for key, p in net._collect_params_with_prefix().items()}


def run(net, size, batch=1):
    net.initialize()
    x = fw.nd.random.uniform(shape=(batch, 3, size, size))
    return net(x)


# ------------------------------------------------------------ names, builds
def _expected_arrays(name: str) -> int:
    """The number of parameter arrays of MXNet's network, counted from its code:
    a convolution has weight (+ bias), a BatchNorm gamma, beta, running mean and var,
    a Dense weight and bias."""
    conv, conv_bias, bn, dense = 0, 0, 0, 0
    if name.startswith("resnet"):
        depth, version = int(name[6:name.index("_")]), int(name[-1])
        blocks = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3],
                  152: [3, 8, 36, 3]}[depth]
        bottleneck = depth >= 50
        n_blocks = sum(blocks)
        per_block = 3 if bottleneck else 2
        downsample = 4 if bottleneck else 3        # stages whose width or size changes
        conv = 1 + n_blocks * per_block + downsample
        if version == 1:
            bn = 1 + n_blocks * per_block + downsample
            conv_bias = 2 * n_blocks if bottleneck else 0   # V1 bottleneck's 1x1 convs
        else:
            bn = 1 + 1 + n_blocks * per_block + 1           # input BN, stem BN, last BN
        dense = 1
    elif name.startswith("densenet"):
        blocks = {121: [6, 12, 24, 16], 161: [6, 12, 36, 24], 169: [6, 12, 32, 32],
                  201: [6, 12, 48, 32]}[int(name[8:])]
        conv = 1 + 2 * sum(blocks) + 3
        bn = 1 + 2 * sum(blocks) + 3 + 1
        dense = 1
    return conv + conv_bias + 4 * bn + 2 * dense


@pytest.mark.parametrize("name", sorted(MODELS))
def test_get_model_builds_mxnet_network(name):
    net = vision.get_model(name, classes=7)
    constructor = getattr(vision, MODELS[name])
    twin = constructor(classes=7)
    assert type(net) is type(twin) and isinstance(net, fw.HybridBlock)
    assert list(shapes(net)) == list(shapes(twin))       # same structure
    assert local_names(net) == local_names(twin)         # same MXNet names
    if name.startswith(("resnet", "densenet")):
        assert len(net.collect_params()) == _expected_arrays(name)


def test_get_model_names_and_errors():
    assert set(vision._MODELS) == set(MODELS)
    assert isinstance(vision.get_model("ResNet18_V1"), vision.ResNetV1)
    assert isinstance(fw.model_zoo.get_model("alexnet"), vision.AlexNet)
    with pytest.raises(ValueError, match="resnet19_v1 is not supported.*\n\talexnet"):
        vision.get_model("resnet19_v1")
    with pytest.raises(ValueError, match="Invalid number of layers: 20"):
        vision.get_resnet(1, 20)
    with pytest.raises(ValueError, match="Invalid resnet version: 3"):
        vision.get_resnet(3, 18)
    with pytest.raises(ValueError, match="Unsupported SqueezeNet version '2.0'"):
        vision.SqueezeNet("2.0")


def test_resnet18_v1_names_shapes_and_count():
    net = vision.resnet18_v1()
    assert run(net, 32, batch=2).shape == (2, 1000)
    names = local_names(net)
    assert len(names) == 102
    assert names[:6] == ["conv0_weight", "batchnorm0_gamma", "batchnorm0_beta",
                         "batchnorm0_running_mean", "batchnorm0_running_var",
                         "stage1_conv0_weight"]
    assert names[-6:] == ["stage4_batchnorm4_gamma", "stage4_batchnorm4_beta",
                          "stage4_batchnorm4_running_mean", "stage4_batchnorm4_running_var",
                          "dense0_weight", "dense0_bias"]
    assert "stage2_conv2_weight" in names          # stage 2's downsample convolution
    s = shapes(net)
    assert list(s)[:2] == ["features.0.weight", "features.1.gamma"]
    assert list(s)[-2:] == ["output.weight", "output.bias"]
    assert s["features.0.weight"] == (64, 3, 7, 7)
    assert s["features.4.0.body.0.weight"] == (64, 64, 3, 3)
    assert s["features.5.0.downsample.0.weight"] == (128, 64, 1, 1)
    assert s["features.7.1.body.4.running_var"] == (512,)
    assert s["output.weight"] == (1000, 512)
    assert trainable_count(net) == 11_689_512


@pytest.mark.parametrize("name, size, count, arrays, first, last", [
    ("resnet34_v1", 32, 21_797_672, 182, "conv0_weight", "dense0_bias"),
    ("mobilenet1.0", 32, 4_231_976, 137, "conv0_weight", "dense0_bias"),
    ("squeezenet1.0", 224, 1_248_424, 52, "conv0_weight", "conv25_bias"),
    ("squeezenet1.1", 224, 1_235_496, 52, "conv0_weight", "conv25_bias"),
    ("densenet121", 221, 7_978_856, 606, "conv0_weight", "dense0_bias"),
    ("inceptionv3", 299, 23_834_568, 472, "conv0_weight", "dense0_bias"),
])
def test_published_parameter_counts(name, size, count, arrays, first, last):
    net = vision.get_model(name)
    assert run(net, size).shape == (1, 1000)
    names = local_names(net)
    assert len(names) == arrays and names[0] == first and names[-1] == last
    assert trainable_count(net) == count


def test_inception_v3_block_names():
    net = vision.inception_v3()
    names = local_names(net)
    for block in ("A1_", "A2_", "A3_", "B_", "C1_", "C2_", "C3_", "C4_", "D_", "E1_", "E2_"):
        assert f"{block}conv0_weight" in names
    assert "E2_batchnorm8_running_var" in names      # E: 9 basic convolutions
    assert "C1_conv9_weight" in names and "C1_conv10_weight" not in names


def test_mobilenet_v2_names():
    net = vision.mobilenet_v2_1_0()
    names = local_names(net)
    assert names[:2] == ["features_conv0_weight", "features_batchnorm0_gamma"]
    assert "features_linearbottleneck0_conv0_weight" in names
    assert "features_linearbottleneck16_batchnorm2_running_var" in names
    assert names[-1] == "output_pred_weight"
    assert list(shapes(net))[-1] == "output.0.weight"
    run(net, 32)
    assert net.output[0].weight.shape == (1000, 1280, 1, 1)
    assert trainable_count(net) == 3_504_960   # Keras' 3,504,872 + t=1 expansion - pred bias


@pytest.mark.parametrize("name, first_dense, at_224, count", [
    ("vgg11_bn", 512, 512 * 7 * 7, 132_868_840),
    ("vgg16", 512, 512 * 7 * 7, 138_357_544),
])
def test_vgg_structure_and_published_counts(name, first_dense, at_224, count):
    """The convolutions run at 32x32; the Dense layers take their 224x224 shapes
    (first Dense: 512*7*7 inputs) without being allocated."""
    net = vision.get_model(name)
    net.initialize()
    x = fw.nd.random.uniform(shape=(1, 3, 32, 32))
    dense = [b for b in net.features if isinstance(b, nn.Dense)] + [net.output]
    for block in net.features:
        if isinstance(block, nn.Dense):
            break
        x = block(x)
    assert x.shape == (1, first_dense, 1, 1)
    dense[0].infer_shape(fw.nd.zeros((1, at_224)))
    for layer in dense[1:]:
        layer.infer_shape(fw.nd.zeros((1, 4096)))
    assert trainable_count(net) == count
    assert local_names(net)[-2:] == ["dense2_weight", "dense2_bias"]


def test_alexnet_structure_and_published_count():
    net = vision.alexnet()
    assert run(net, 63).shape == (1, 1000)         # 63x63: the smallest input it takes
    assert net.features[9].weight.shape == (4096, 256)
    # at 224x224 the first Dense has 256*6*6 inputs
    assert trainable_count(net) + 4096 * (256 * 6 * 6 - 256) == 61_100_840


# ----------------------------------------------------------------- forward
@pytest.mark.parametrize("name, size", [
    ("resnet18_v2", 32), ("resnet50_v1", 32), ("resnet50_v2", 32),
    ("mobilenet0.25", 32), ("mobilenetv2_0.25", 32),
])
def test_forward_small_inputs(name, size):
    net = vision.get_model(name, classes=10)
    y = run(net, size, batch=2)
    assert y.shape == (2, 10)
    assert np.isfinite(y.asnumpy()).all()


def test_densenet_class_forward_and_training_step():
    net = vision.DenseNet(8, 4, [2, 2], bn_size=2, dropout=0.1, classes=5)
    net.initialize()
    x = fw.nd.random.uniform(shape=(2, 3, 56, 56))      # 56 -> 14 -> 7 after one transition
    with fw.autograd.record():
        loss = net(x).sum()
    loss.backward()
    grads = [p.grad() for p in net.collect_params().values() if p.grad_req != "null"]
    assert all(np.isfinite(g.asnumpy()).all() for g in grads)
    assert float(np.abs(net.output.weight.grad().asnumpy()).sum()) > 0


def test_resnet_thumbnail_for_small_images():
    net = vision.resnet18_v1(thumbnail=True, classes=10)
    assert run(net, 32).shape == (1, 10)
    assert net.features[0].weight.shape == (64, 3, 3, 3)


def test_forward_on_every_context(ctx):
    net = vision.mobilenet_v2_0_25(classes=4)
    x = fw.nd.random.uniform(shape=(1, 3, 32, 32))
    net.initialize()
    want = net(x).asnumpy()
    net.reset_ctx(ctx)
    y = net(x.as_in_context(ctx))
    assert y.context == ctx
    np.testing.assert_allclose(y.asnumpy(), want, rtol=1e-5, atol=1e-6)


def _forward_backward(net, x):
    with fw.autograd.record():
        out = net(x)
        loss = (out * out).sum()
    loss.backward()
    return out.asnumpy(), [p.grad().asnumpy() for p in net.collect_params().values()
                           if p.grad_req != "null"]


@pytest.mark.parametrize("name", ["resnet18_v1", "mobilenetv2_0.25"])
def test_hybridized_equals_imperative(name, tmp_path):
    """Twin networks with the same parameters, one hybridized: predict mode, a
    training step (outputs and gradients; BatchNorm updates its statistics), and
    predict mode again agree."""
    x = fw.nd.random.uniform(shape=(2, 3, 32, 32))
    imperative = vision.get_model(name, classes=6)
    run(imperative, 32)
    path = str(tmp_path / "twin.params")
    imperative.save_parameters(path)
    hybrid = vision.get_model(name, classes=6)
    hybrid.load_parameters(path)
    hybrid.hybridize()
    np.testing.assert_allclose(hybrid(x).asnumpy(), imperative(x).asnumpy(),
                               rtol=1e-5, atol=1e-6)
    (out_h, grads_h), (out_i, grads_i) = (_forward_backward(hybrid, x),
                                          _forward_backward(imperative, x))
    np.testing.assert_allclose(out_h, out_i, rtol=1e-5, atol=1e-6)
    for got, want in zip(grads_h, grads_i):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(hybrid(x).asnumpy(), imperative(x).asnumpy(),
                               rtol=1e-5, atol=1e-6)       # the updated BatchNorm statistics


# --------------------------------------------------------------- checkpoints
def test_save_parameters_round_trip(tmp_path):
    net = vision.resnet18_v1(classes=10)
    x = fw.nd.random.uniform(shape=(1, 3, 32, 32))
    run(net, 32)
    want = net(x).asnumpy()
    path = str(tmp_path / "resnet18.params")
    net.save_parameters(path)
    assert "features.4.0.body.0.weight" in fw.nd.load(path)
    other = vision.resnet18_v1(classes=10)                  # another prefix: resnetv1N_
    assert other.prefix != net.prefix
    other.load_parameters(path)
    np.testing.assert_array_equal(other(x).asnumpy(), want)


@pytest.mark.parametrize("name", ["resnet18_v1", "mobilenetv2_0.25"])
def test_mxnet_model_store_style_file_loads(tmp_path, name):
    """MXNet's published files hold MXNet 1.x names less the network's prefix
    (``conv0_weight``, ``features_linearbottleneck0_conv0_weight``), in MXNet's
    binary format; they load into a network of any prefix."""
    net = vision.get_model(name, classes=10)
    x = fw.nd.random.uniform(shape=(1, 3, 32, 32))
    run(net, 32)
    want = net(x).asnumpy()
    path = str(tmp_path / "store.params")
    fw.nd.save(path, {key: p.data() for key, p in zip(local_names(net),
                                                       net.collect_params().values())},
               format="mxnet")
    other = vision.get_model(name, classes=10)
    other.load_parameters(path)
    np.testing.assert_array_equal(other(x).asnumpy(), want)


# ---------------------------------------------------------------- model store
def test_model_store_table_matches_mxnet():
    assert set(model_store._model_sha1) == set(MODELS)      # a published file per model
    assert model_store.short_hash("resnet18_v1") == "e54b379f"
    assert model_store._model_sha1["squeezenet1.1"] == "33ba0f93753c83d86e1eb397f38a667eaf2e9376"
    assert model_store.apache_repo_url == \
        "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/"
    with pytest.raises(ValueError, match="Pretrained model for resnet19_v1 is not available"):
        model_store.get_model_file("resnet19_v1")


def test_pretrained_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9")    # refused at once
    root = tmp_path / "models"
    with pytest.raises(DownloadError) as info:
        vision.get_model("resnet18_v1", pretrained=True, root=str(root))
    message = str(info.value)
    assert "resnet18_v1-e54b379f.params" in message and str(root) in message
    assert "http://127.0.0.1:9/gluon/models/resnet18_v1-e54b379f.zip" in message
    assert "no network" in message
    assert os.listdir(root) == []                       # no partial file, no staging folder


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def model_server(tmp_path):
    """A local HTTP server standing in for MXNet's repository: files put in the
    yielded folder are served under ``gluon/models/``."""
    served = tmp_path / "served"
    (served / "gluon" / "models").mkdir(parents=True)
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served / "gluon" / "models", f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _publish(folder, name, params_file):
    """Zip ``params_file`` as MXNet's store does; returns its SHA-1."""
    data = open(params_file, "rb").read()
    sha1 = hashlib.sha1(data).hexdigest()
    file_name = f"{name}-{sha1[:8]}"
    with zipfile.ZipFile(folder / f"{file_name}.zip", "w") as archive:
        archive.writestr(f"{file_name}.params", data)
    return sha1


def test_pretrained_download_unpack_check_and_load(tmp_path, monkeypatch, model_server):
    folder, url = model_server
    source = vision.squeezenet1_1()
    source.initialize()
    source(fw.nd.zeros((1, 3, 224, 224)))
    params = tmp_path / "squeezenet.params"
    fw.nd.save(str(params), {key: p.data() for key, p in zip(local_names(source),
                                                              source.collect_params().values())},
               format="mxnet")
    sha1 = _publish(folder, "squeezenet1.1", params)
    monkeypatch.setitem(model_store._model_sha1, "squeezenet1.1", sha1)
    monkeypatch.setenv("MXNET_GLUON_REPO", url)
    root = tmp_path / "models"
    net = vision.get_model("squeezenet1.1", pretrained=True, root=str(root))
    assert os.listdir(root) == [f"squeezenet1.1-{sha1[:8]}.params"]
    for mine, theirs in zip(net.collect_params().values(), source.collect_params().values()):
        np.testing.assert_array_equal(mine.data().asnumpy(), theirs.data().asnumpy())
    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9")   # cached: no download
    again = vision.squeezenet1_1(pretrained=True, root=str(root), ctx=fw.cpu(0))
    assert list(again.collect_params().values())[0].data().shape == (64, 3, 3, 3)
    model_store.purge(str(root))
    assert os.listdir(root) == []


def test_pretrained_download_with_wrong_sha1_leaves_nothing(tmp_path, monkeypatch,
                                                            model_server):
    folder, url = model_server
    payload = tmp_path / "payload.params"
    payload.write_bytes(b"not the published parameters")
    sha1 = _publish(folder, "alexnet", payload)
    monkeypatch.setitem(model_store._model_sha1, "alexnet", sha1[:8] + "0" * 32)
    monkeypatch.setenv("MXNET_GLUON_REPO", url)
    root = tmp_path / "models"
    with pytest.raises(DownloadError, match="has SHA-1 .*expected"):
        model_store.get_model_file("alexnet", root=str(root))
    assert os.listdir(root) == []
