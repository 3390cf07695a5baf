"""Activation layers, Dropout and Embedding (fw.nn) against torch.nn with copied weights:
forward values, input and parameter gradients in float32, on cpu(0) and gpu(0); reprs
and names as MXNet 1.x prints them."""
import numpy as np
import pytest
import torch

import framework as fw
from framework import nd
from framework.nn.activation import (ELU, GELU, SELU, Activation, LeakyReLU, PReLU, SiLU,
                                     Swish)
from framework.test_utils import assert_almost_equal

from op_harness import layer_step, torch_step

RNG = np.random.RandomState(0)
X = RNG.standard_normal((2, 3, 4)).astype(np.float32)
HEAD = RNG.standard_normal((2, 3, 4)).astype(np.float32)




class _Scaled(torch.nn.Module):
    """x * sigmoid(beta * x): torch has SiLU only for beta = 1."""

    def __init__(self, beta):
        super().__init__()
        self.beta = beta

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)


LAYERS = [
    ("Activation relu", lambda: Activation("relu"), torch.nn.ReLU),
    ("Activation sigmoid", lambda: Activation("sigmoid"), torch.nn.Sigmoid),
    ("Activation tanh", lambda: Activation("tanh"), torch.nn.Tanh),
    ("Activation softrelu", lambda: Activation("softrelu"), torch.nn.Softplus),
    ("Activation softsign", lambda: Activation("softsign"), torch.nn.Softsign),
    ("LeakyReLU 0.1", lambda: LeakyReLU(0.1), lambda: torch.nn.LeakyReLU(0.1)),
    ("ELU default", lambda: ELU(), torch.nn.ELU),
    ("ELU 0.5", lambda: ELU(alpha=0.5), lambda: torch.nn.ELU(0.5)),
    ("SELU", lambda: SELU(), torch.nn.SELU),
    ("GELU erf", lambda: GELU(), torch.nn.GELU),
    ("GELU tanh", lambda: GELU(approximation="tanh"), lambda: torch.nn.GELU(approximate="tanh")),
    ("Swish default", lambda: Swish(), torch.nn.SiLU),
    ("Swish beta 1.5", lambda: Swish(beta=1.5), lambda: _Scaled(1.5)),
    ("SiLU", lambda: SiLU(), torch.nn.SiLU),
]


@pytest.mark.parametrize("name,make,make_torch", LAYERS, ids=[c[0] for c in LAYERS])
def test_parameterless_layers_match_torch(name, make, make_torch, ctx):
    layer = make()
    layer.initialize(ctx=ctx)
    y, gx = layer_step(layer, X, HEAD, ctx)
    ty, tgx = torch_step(make_torch(), X, HEAD)
    assert y.shape == X.shape and y.dtype == np.float32
    assert_almost_equal(y, ty, rtol=1e-5, atol=1e-6, names=(name, "torch"))
    assert_almost_equal(gx, tgx, rtol=1e-5, atol=1e-6, names=(f"{name} d/dx", "torch"))


@pytest.mark.parametrize("in_channels", [1, 3])
def test_prelu_matches_torch_with_alpha_gradient(in_channels, ctx):
    alpha = np.array([0.3, -0.2, 0.6][:in_channels], np.float32)
    layer = PReLU(in_channels=in_channels)
    layer.initialize(ctx=ctx)
    assert layer.alpha.shape == (in_channels,)
    assert_almost_equal(layer.alpha.data(ctx), np.full(in_channels, 0.25, np.float32))
    layer.alpha.set_data(nd.array(alpha, ctx=ctx))
    module = torch.nn.PReLU(in_channels)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(alpha))
    y, gx = layer_step(layer, X, HEAD, ctx)
    ty, tgx = torch_step(module, X, HEAD)
    assert_almost_equal(y, ty, rtol=1e-5, atol=1e-6, names=("PReLU", "torch"))
    assert_almost_equal(gx, tgx, rtol=1e-5, atol=1e-6, names=("PReLU d/dx", "torch"))
    assert_almost_equal(layer.alpha.grad(ctx), module.weight.grad.numpy(), rtol=1e-5,
                        atol=1e-5, names=("PReLU d/dalpha", "torch"))


def test_prelu_alpha_initializer_and_channel_mismatch(ctx):
    layer = PReLU(alpha_initializer=fw.init.Constant(0.1), in_channels=2)
    layer.initialize(ctx=ctx)
    assert_almost_equal(layer.alpha.data(ctx), np.full(2, 0.1, np.float32))
    with pytest.raises(ValueError, match=r"gamma of shape \(2,\) does not match data of shape "
                                         r"\(2, 3, 4\)"):
        layer(nd.array(X, ctx=ctx))


def test_second_order_through_prelu_and_gelu(ctx):
    """Gradients of the layers differentiate again (numeric check, float64)."""
    from framework.test_utils import check_numeric_gradient
    rng = np.random.RandomState(3)
    gelu = GELU(approximation="tanh")
    check_numeric_gradient(lambda x: gelu(x), [rng.standard_normal((2, 3))], order=2, ctx=ctx)
    check_numeric_gradient(lambda x, a: nd.LeakyReLU(x, a, act_type="prelu"),
                           [rng.standard_normal((2, 3)), np.array([0.3, 0.1, -0.2])],
                           order=2, ctx=ctx)


def test_dense_with_an_activation_name(ctx):
    dense = fw.nn.Dense(5, activation="tanh", in_units=4)
    dense.initialize(ctx=ctx)
    w = dense.weight.data(ctx).asnumpy()
    b = dense.bias.data(ctx).asnumpy()
    xh = X[0]
    y = dense(nd.array(xh, ctx=ctx))
    assert_almost_equal(y, np.tanh(xh @ w.T + b), rtol=1e-5, atol=1e-6)
    assert repr(dense) == "Dense(4 -> 5, Activation(tanh))"


# ------------------------------------------------------------------ Dropout
def test_dropout_layer_predict_mode_is_identity(ctx):
    layer = fw.nn.Dropout(0.5)
    y, gx = layer_step(layer, X, HEAD, ctx, train=False)
    assert_almost_equal(y, X, rtol=0, atol=0)
    assert_almost_equal(gx, HEAD, rtol=0, atol=0)


def test_dropout_layer_training_matches_torch_with_the_mask(ctx):
    rate = 0.4
    layer = fw.nn.Dropout(rate)
    xh = np.abs(RNG.standard_normal((50, 40)).astype(np.float32)) + 0.1
    head = RNG.standard_normal((50, 40)).astype(np.float32)
    y, gx = layer_step(layer, xh, head, ctx, train=True)
    mask = y.asnumpy() / xh                      # 0 or 1 / (1 - rate)
    assert np.allclose(mask[mask != 0], 1 / (1 - rate), rtol=1e-6)
    assert abs((mask == 0).mean() - rate) < 0.04
    ty, tgx = torch_step(lambda t: t * torch.from_numpy(mask), xh, head)
    assert_almost_equal(y, ty, rtol=1e-6, atol=0)
    assert_almost_equal(gx, tgx, rtol=1e-6, atol=0)


def test_dropout_layer_axes_share_the_mask(ctx):
    layer = fw.nn.Dropout(0.5, axes=(1,))
    with fw.autograd.train_mode():
        y = layer(nd.ones((4, 30, 5), ctx=ctx)).asnumpy()
    assert (y == y[:, :1, :]).all()


def test_dropout_layer_rate_zero_and_errors(ctx):
    with fw.autograd.train_mode():
        y = fw.nn.Dropout(0.0)(nd.array(X, ctx=ctx))
    assert_almost_equal(y, X, rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"Dropout: rate must be a number in \[0, 1\], got 1.5"):
        fw.nn.Dropout(1.5)


# ---------------------------------------------------------------- Embedding
def test_embedding_layer_matches_torch(ctx):
    layer = fw.nn.Embedding(10, 4)
    layer.initialize(ctx=ctx)
    assert layer.weight.shape == (10, 4)
    weight = RNG.standard_normal((10, 4)).astype(np.float32)
    layer.weight.set_data(nd.array(weight, ctx=ctx))
    idx = np.array([[1, 7, 1], [9, 0, 7]])
    head = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    x = nd.array(idx, ctx=ctx)                         # float32 indices, as MXNet
    with fw.autograd.record():
        y = layer(x)
    y.backward(nd.array(head, ctx=ctx))
    module = torch.nn.Embedding(10, 4)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(weight))
    ty = module(torch.from_numpy(idx))
    ty.backward(torch.from_numpy(head))
    assert y.shape == (2, 3, 4) and y.dtype == np.float32
    assert_almost_equal(y, ty.detach().numpy(), rtol=0, atol=0)
    assert_almost_equal(layer.weight.grad(ctx), module.weight.grad.numpy(), rtol=1e-6,
                        atol=1e-6, names=("Embedding d/dweight", "torch"))


def test_embedding_layer_options(ctx):
    layer = fw.nn.Embedding(5, 3, dtype="float64", weight_initializer=fw.init.Constant(2.0),
                            sparse_grad=True)
    layer.initialize(ctx=ctx)
    y = layer(nd.array([0, 4], ctx=ctx))
    assert y.dtype == np.float64
    assert (y.asnumpy() == 2.0).all()
    assert layer.weight.name.endswith("_weight")


# --------------------------------------------------------------- reprs, names
def test_reprs_as_mxnet():
    assert repr(Activation("relu")) == "Activation(relu)"
    assert repr(LeakyReLU(0.1)) == "LeakyReLU(0.1)"
    assert repr(fw.nn.Dropout(0.3)) == "Dropout(p = 0.3, axes=())"
    assert repr(fw.nn.Dropout(0.5, axes=(1,))) == "Dropout(p = 0.5, axes=(1,))"
    assert repr(fw.nn.Embedding(10, 4)) == "Embedding(10 -> 4, float32)"
    for layer in (PReLU(), ELU(), SELU(), GELU(), Swish(), SiLU()):
        assert repr(layer) == f"{type(layer).__name__}(\n\n)"       # MXNet's leaf Block repr
    net = fw.nn.HybridSequential()
    net.add(fw.nn.Dense(3, in_units=2), LeakyReLU(0.2), fw.nn.Dropout(0.1))
    assert repr(net) == ("HybridSequential(\n  (0): Dense(2 -> 3, linear)\n"
                         "  (1): LeakyReLU(0.2)\n  (2): Dropout(p = 0.1, axes=())\n)")


def test_names_follow_mxnet():
    act = Activation("sigmoid")
    assert act.prefix.startswith("sigmoid") and act.prefix.endswith("_")
    prelu = PReLU()
    assert prelu.prefix.startswith("prelu")
    assert list(prelu.collect_params().keys()) == [prelu.prefix + "alpha"]
    emb = fw.nn.Embedding(3, 2)
    assert list(emb.collect_params().keys()) == [emb.prefix + "weight"]


def test_constructor_errors():
    with pytest.raises(ValueError, match="LeakyReLU: slope coefficient alpha must be no less "
                                         "than 0, got -0.1"):
        LeakyReLU(-0.1)
    with pytest.raises(ValueError, match="GELU: unsupported approximation 'sigmoid'"):
        GELU(approximation="sigmoid")


def test_unknown_activation_names_the_operator(ctx):
    with pytest.raises(ValueError, match="operator Activation: unknown act_type 'swish'"):
        Activation("swish")(nd.ones((2,), ctx=ctx))
