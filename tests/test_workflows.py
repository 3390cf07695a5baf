"""The workflow examples: examples/mnist.py (Estimator) and examples/adversarial_fgsm.py.

Smoke runs on tiny subsets (no accuracy targets: those are for the full runs in
the closing notes), and the properties an FGSM attack rests on, checked on a
small model.
"""
import importlib.util
import pathlib
import re
import sys

import numpy
import pytest

import framework as fw
from conftest import MNIST_DIR
from framework import autograd, nn
from test_examples import run_script

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _example(name):
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXAMPLES))
    return module


def test_mnist_example_smoke(tmp_path):
    params = tmp_path / "mlp.params"
    out = run_script(EXAMPLES / "mnist.py", "--model", "mlp", "--epochs", "1", "--limit", "1500",
                     "--test-limit", "1000", "--save", params)
    assert "1500 training and 1000 test images" in out
    match = re.search(r"epoch 1: test accuracy ([\d.]+)", out)
    assert match, out
    assert float(match.group(1)) > 0.6, out              # far above chance after 1,500 images
    assert "[Epoch 0] Finished in" in out                # the plain per-epoch line (no terminal)
    net = _example("mnist").build_mlp()
    net.load_parameters(str(params))                     # the saved file is a loadable model
    assert net(fw.nd.zeros((2, 1, 28, 28))).shape == (2, 10)


def test_fgsm_example_smoke(tmp_path):
    png = tmp_path / "grid.png"
    out = run_script(EXAMPLES / "adversarial_fgsm.py", "--train-limit", "600", "--limit", "200",
                     "--epsilons", "0", "0.2", "--pgd-steps", "2", "--png", png, "--save", tmp_path / "cnn.params",
                     timeout=180)
    rows = dict(re.findall(r"^\s+([\d.]+) \|\s+([\d.]+) \|", out, re.M))
    assert set(rows) == {"0.000", "0.200"}, out
    assert float(rows["0.200"]) < float(rows["0.000"]), out
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    with Image.open(png) as image:
        image.verify()


def _small_cnn():
    fw.random.seed(3)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, kernel_size=3), nn.BatchNorm(), nn.Activation("relu"),
            nn.MaxPool2D(2), nn.Dense(64, activation="relu"), nn.Dropout(0.25), nn.Dense(10))
    net.initialize(fw.init.Xavier())
    return net


@pytest.fixture(scope="module")
def trained_small_cnn():
    images, labels = fw.data.vision.load_mnist(MNIST_DIR, train=True)
    x = fw.nd.array(images[:512, None].astype("float32") / 255)
    y = fw.nd.array(labels[:512].astype("float32"))
    net = _small_cnn()
    trainer = fw.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    loss_fn = fw.loss.SoftmaxCrossEntropyLoss()
    for _ in range(4):
        for start in range(0, 512, 64):
            with autograd.record():
                loss = loss_fn(net(x[start:start + 64]), y[start:start + 64])
            loss.backward()
            trainer.step(64)
    test_images, test_labels = fw.data.vision.load_mnist(MNIST_DIR, train=False)
    return net, (fw.nd.array(test_images[:300, None].astype("float32") / 255),
                 fw.nd.array(test_labels[:300].astype("float32")))


def test_fgsm_lowers_accuracy(trained_small_cnn):
    fgsm = _example("adversarial_fgsm")
    net, (x, y) = trained_small_cnn
    table = fgsm.attack_table(net, [(x, y)], [0.0, 0.15], pgd_steps=3)
    clean, attacked, iterated = table[0.0][0], table[0.15][0], table[0.15][1]
    assert clean > 0.7
    assert attacked < clean - 0.2
    assert iterated <= attacked + 0.02          # PGD is at least about as strong


def test_predict_mode_gradient_is_deterministic_and_moves_no_statistic(trained_small_cnn):
    fgsm = _example("adversarial_fgsm")
    net, (x, y) = trained_small_cnn
    bn = net[1]
    stats = [p.data().asnumpy().copy() for p in (bn.running_mean, bn.running_var)]
    loss_fn = fw.loss.SoftmaxCrossEntropyLoss()
    first = fgsm.input_gradient(net, loss_fn, x, y).asnumpy()
    second = fgsm.input_gradient(net, loss_fn, x, y).asnumpy()
    numpy.testing.assert_array_equal(first, second)           # Dropout is off
    assert numpy.abs(first).max() > 0
    for p, before in zip((bn.running_mean, bn.running_var), stats):
        numpy.testing.assert_array_equal(p.data().asnumpy(), before)
    # in train mode the same gradient changes from call to call (Dropout draws new masks)
    with autograd.record(train_mode=True):
        xg = x.copy()
    xg.attach_grad()
    with autograd.record(train_mode=True):
        loss = loss_fn(net(xg), y)
    loss.backward()
    assert not numpy.array_equal(xg.grad.asnumpy(), first)
