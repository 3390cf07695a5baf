"""Activations (framework/ndarray/ops/activation.py): values, stability, gradients, errors.

Expected values are computed on the host with NumPy/math from the defining
formulas; gradients are checked against finite differences (orders 1 and 2,
float64) and against PyTorch in float32.
"""
import math
import warnings

import numpy as np
import pytest

from framework import autograd, nd
from framework.test_utils import assert_almost_equal, check_numeric_gradient

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_LAMBDA = 1.0507009873554804934193349852946
_erf_host = np.vectorize(math.erf, otypes=[np.float64])


def _softplus(v):
    return np.log1p(np.exp(-np.abs(v))) + np.maximum(v, 0)


def _sigmoid(v):
    return 0.5 * (1 + np.tanh(0.5 * v))       # a different formula from the one under test


REF = {
    "relu": lambda v: np.maximum(v, 0),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softrelu": _softplus,
    "softsign": lambda v: v / (1 + np.abs(v)),
    "log_sigmoid": lambda v: -_softplus(-v),
    "mish": lambda v: v * np.tanh(_softplus(v)),
    "hard_sigmoid": lambda v: np.clip(0.2 * v + 0.5, 0, 1),
    "leaky": lambda v: np.where(v > 0, v, 0.25 * v),
    "leaky_0.1": lambda v: np.where(v > 0, v, 0.1 * v),
    "elu": lambda v: np.where(v > 0, v, 0.25 * np.expm1(v)),
    "elu_1.0": lambda v: np.where(v > 0, v, np.expm1(v)),
    "selu": lambda v: SELU_LAMBDA * np.where(v > 0, v, SELU_ALPHA * np.expm1(v)),
    "gelu": lambda v: 0.5 * v * (1 + _erf_host(v / math.sqrt(2))),
    "rrelu_predict": lambda v: np.where(v > 0, v, (0.125 + 0.334) / 2 * v),
}

FUNCS = {
    "relu": nd.relu,
    "sigmoid": nd.sigmoid,
    "tanh": nd.tanh,
    "softrelu": nd.softrelu,
    "softsign": nd.softsign,
    "log_sigmoid": nd.log_sigmoid,
    "mish": nd.mish,
    "hard_sigmoid": nd.hard_sigmoid,
    "leaky": lambda x: nd.LeakyReLU(x),
    "leaky_0.1": lambda x: nd.LeakyReLU(x, act_type="leaky", slope=0.1),
    "elu": lambda x: nd.LeakyReLU(x, act_type="elu"),
    "elu_1.0": lambda x: nd.LeakyReLU(x, act_type="elu", slope=1.0),
    "selu": lambda x: nd.LeakyReLU(x, act_type="selu"),
    "gelu": lambda x: nd.LeakyReLU(x, act_type="gelu"),
    "rrelu_predict": lambda x: _rrelu_predict(x),
}


def _rrelu_predict(x):
    with autograd.predict_mode():             # deterministic even inside record()
        return nd.LeakyReLU(x, act_type="rrelu")
# the same functions through Activation(act_type=...)
ACT_TYPES = ["relu", "sigmoid", "tanh", "softrelu", "softsign", "log_sigmoid", "mish"]


def _sample(shape=(2, 3), seed=0, scale=2.0):
    """Values in [-scale, scale] kept at least 0.2 away from 0 and from the
    kinks of hard_sigmoid at +-2.5."""
    rng = np.random.RandomState(seed)
    v = rng.uniform(0.2, scale, shape) * rng.choice([-1.0, 1.0], shape)
    return np.where(np.abs(np.abs(v) - 2.5) < 0.1, v * 0.8, v)


# ------------------------------------------------------------------ forward
@pytest.mark.parametrize("name", list(FUNCS))
def test_forward_matches_numpy(name, ctx):
    x = _sample((3, 4), scale=4.0)
    y = FUNCS[name](nd.array(x, ctx=ctx, dtype=np.float64))
    assert y.dtype == np.float64 and y.shape == x.shape and y.context == ctx
    assert_almost_equal(y, REF[name](x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("act_type", ACT_TYPES)
def test_activation_dispatches_by_act_type(act_type, ctx):
    x = _sample((2, 5))
    y = nd.Activation(nd.array(x, ctx=ctx, dtype=np.float64), act_type=act_type)
    assert_almost_equal(y, REF[act_type](x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(FUNCS))
def test_dtype_kept_float32_and_float16(name, ctx):
    x = _sample((2, 3))
    y32 = FUNCS[name](nd.array(x, ctx=ctx, dtype=np.float32))
    assert y32.dtype == np.float32
    assert_almost_equal(y32, REF[name](x.astype(np.float32).astype(np.float64)).astype(np.float32),
                        rtol=1e-5, atol=1e-6)
    x16 = x.astype(np.float16)
    y16 = FUNCS[name](nd.array(x16, ctx=ctx, dtype=np.float16))
    assert y16.dtype == np.float16
    assert_almost_equal(y16.asnumpy().astype(np.float64), REF[name](x16.astype(np.float64)),
                        rtol=3e-3, atol=3e-3)


def test_methods(ctx):
    x = nd.array([-1.0, 2.0], ctx=ctx)
    assert x.relu().asnumpy().tolist() == [0.0, 2.0]
    assert_almost_equal(x.sigmoid(), _sigmoid(np.array([-1.0, 2.0])).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_stable_for_large_magnitudes(dtype, ctx):
    big = {np.float16: 60000.0, np.float32: 1e30, np.float64: 1e300}[dtype]
    x = nd.array([-big, -1000.0 if dtype != np.float16 else -60.0, 0.0, 80.0, big],
                 ctx=ctx, dtype=dtype)
    host = x.asnumpy().astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # no overflow, no invalid value
        outs = {name: FUNCS[name](x).asnumpy() for name in
                ("sigmoid", "softrelu", "log_sigmoid", "softsign", "elu", "selu", "gelu", "mish",
                 "tanh", "hard_sigmoid")}
    for name, y in outs.items():
        assert y.dtype == dtype and np.isfinite(y.astype(np.float64)).all(), (name, y)
    assert outs["sigmoid"].tolist() == [0.0, float(_sigmoid(host[1]).astype(dtype)), 0.5, 1.0, 1.0]
    assert outs["softrelu"][-1] == x.asnumpy()[-1] and outs["softrelu"][0] == 0.0
    assert outs["log_sigmoid"][0] == x.asnumpy()[0] and outs["log_sigmoid"][-1] == 0.0
    assert outs["gelu"][0] == 0.0 and outs["gelu"][-1] == x.asnumpy()[-1]
    assert_almost_equal(outs["elu"][0], -0.25) and assert_almost_equal(outs["mish"][0], 0.0)


def test_sigmoid_gradient_is_finite_for_large_inputs(ctx):
    x = nd.array([-1000.0, 1000.0], ctx=ctx)
    x.attach_grad()
    expected = {nd.sigmoid: [0.0, 0.0], nd.softrelu: [0.0, 1.0], nd.log_sigmoid: [1.0, 0.0]}
    for fn, grad in expected.items():
        with autograd.record():
            y = fn(x)
        y.backward()
        assert x.grad.asnumpy().tolist() == grad, fn


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", [n for n in FUNCS])
def test_numeric_gradient(name, order, ctx):
    # hard_sigmoid is linear inside, constant outside: a real check needs both regions
    x = _sample(seed=1) * (1.8 if name == "hard_sigmoid" else 1.0)
    check_numeric_gradient(FUNCS[name], [x], order=order, ctx=ctx)


@pytest.mark.parametrize("name", ["sigmoid", "gelu", "softrelu", "selu"])
def test_numeric_gradient_third_order(name, ctx):
    check_numeric_gradient(FUNCS[name], [_sample((4,), seed=2)], order=3, ctx=ctx,
                           rtol=1e-3, atol=1e-5)


def test_relu_gradient_is_the_step(ctx):
    x = nd.array([-2.0, -0.5, 0.5, 3.0], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.relu(x)
    y.backward()
    assert x.grad.asnumpy().tolist() == [0.0, 0.0, 1.0, 1.0]


def test_hard_sigmoid_parameters(ctx):
    x = np.array([-4.0, -1.0, 0.5, 2.0])
    y = nd.hard_sigmoid(nd.array(x, ctx=ctx, dtype=np.float64), alpha=0.3, beta=0.4)
    assert_almost_equal(y, np.clip(0.3 * x + 0.4, 0, 1))
    a = nd.array(x, ctx=ctx)
    a.attach_grad()
    with autograd.record():
        y = nd.hard_sigmoid(a, alpha=0.3, beta=0.4)
    y.backward()
    assert_almost_equal(a.grad, np.array([0, 0.3, 0.3, 0], dtype=np.float32))


# ------------------------------------------------------------------ prelu
@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("gamma_shape", [(3,), (1,)])
def test_prelu_numeric_gradient_data_and_gamma(gamma_shape, order, ctx):
    x = _sample((2, 3, 2), seed=3)
    gamma = np.random.RandomState(4).uniform(0.05, 0.5, gamma_shape)
    check_numeric_gradient(lambda d, g: nd.LeakyReLU(d, g, act_type="prelu"), [x, gamma],
                           order=order, ctx=ctx)


def test_prelu_forward_broadcasts_gamma_along_axis_1(ctx):
    x = _sample((2, 3, 4), seed=5)
    gamma = np.array([0.1, 0.2, 0.3])
    y = nd.LeakyReLU(nd.array(x, ctx=ctx), nd.array(gamma, ctx=ctx), act_type="prelu")
    ref = np.where(x > 0, x, x * gamma[None, :, None])
    assert_almost_equal(y, ref.astype(np.float32), rtol=1e-6)
    y2 = nd.LeakyReLU(nd.array(x[:, :, 0], ctx=ctx), nd.array(gamma, ctx=ctx), act_type="prelu")
    assert_almost_equal(y2, ref[:, :, 0].astype(np.float32), rtol=1e-6)


def test_prelu_gamma_gradient_sums_over_other_axes(ctx):
    x = nd.array(_sample((2, 3, 4), seed=6), ctx=ctx)
    gamma = nd.array([0.1, 0.2, 0.3], ctx=ctx)
    gamma.attach_grad()
    with autograd.record():
        y = nd.LeakyReLU(x, gamma, act_type="prelu")
    y.backward()
    xh = x.asnumpy()
    assert_almost_equal(gamma.grad, np.where(xh > 0, 0, xh).sum(axis=(0, 2)), rtol=1e-5)
    assert gamma.grad.shape == (3,)


# ------------------------------------------------------------------ rrelu
def test_rrelu_predict_mode_uses_the_mean_slope(ctx):
    x = nd.array(_sample((3, 4), seed=7), ctx=ctx)
    x.attach_grad()
    with autograd.record(train_mode=False):
        y = nd.LeakyReLU(x, act_type="rrelu", lower_bound=0.1, upper_bound=0.3)
    y.backward()
    xh = x.asnumpy()
    assert_almost_equal(y, np.where(xh > 0, xh, 0.2 * xh).astype(np.float32), rtol=1e-6)
    assert_almost_equal(x.grad, np.where(xh > 0, 1, 0.2).astype(np.float32), rtol=1e-6)


def test_rrelu_training_mode_draws_slopes_and_backprops_them(ctx):
    nd.random.seed(11)
    x = nd.array(-np.linspace(1.0, 2.0, 200).reshape(20, 10), ctx=ctx)
    x.attach_grad()
    with autograd.record():                     # train_mode=True
        y = nd.LeakyReLU(x, act_type="rrelu", lower_bound=0.1, upper_bound=0.3)
    y.backward()
    slopes = (y.asnumpy() / x.asnumpy()).ravel()
    assert y.dtype == np.float32
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6
    assert slopes.std() > 0.03                  # random, not the constant mean
    assert_almost_equal(x.grad.asnumpy().ravel(), slopes, rtol=1e-5)
    with autograd.train_mode():
        again = nd.LeakyReLU(x, act_type="rrelu", lower_bound=0.1, upper_bound=0.3)
    assert not np.allclose(again.asnumpy(), y.asnumpy())
    pos = nd.array([0.5, 2.0], ctx=ctx)
    with autograd.train_mode():
        assert nd.LeakyReLU(pos, act_type="rrelu").asnumpy().tolist() == [0.5, 2.0]


# ------------------------------------------------------------------ errors
def test_errors(ctx):
    x = nd.array(np.ones((2, 3)), ctx=ctx)
    with pytest.raises(ValueError, match="operator Activation: unknown act_type 'swish'"):
        nd.Activation(x, act_type="swish")
    with pytest.raises(ValueError, match="operator LeakyReLU: unknown act_type 'relu6'"):
        nd.LeakyReLU(x, act_type="relu6")
    with pytest.raises(TypeError, match="operator LeakyReLU: act_type 'prelu' needs gamma"):
        nd.LeakyReLU(x, act_type="prelu")
    with pytest.raises(ValueError, match=r"gamma of shape \(4,\) does not match data of "
                                         r"shape \(2, 3\).*C = data.shape\[1\]"):
        nd.LeakyReLU(x, nd.array(np.ones(4), ctx=ctx), act_type="prelu")
    with pytest.raises(ValueError, match="rrelu needs lower_bound <= upper_bound, got 0.5 and 0.2"):
        nd.LeakyReLU(x, act_type="rrelu", lower_bound=0.5, upper_bound=0.2)
    with pytest.raises(TypeError, match="operator relu: expected an NDArray, got list"):
        nd.relu([1.0, -1.0])
    with pytest.raises(TypeError, match="operator LeakyReLU: expected an NDArray, got float"):
        nd.LeakyReLU(1.0)


# ------------------------------------------------------------------ PyTorch
def _torch_funcs(torch):
    F = torch.nn.functional
    return {
        "relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "softrelu": F.softplus,
        "softsign": F.softsign, "log_sigmoid": F.logsigmoid, "mish": F.mish,
        "hard_sigmoid": F.hardsigmoid,       # relu6(x + 3) / 6: alpha = 1/6, beta = 0.5
        "leaky": lambda t: F.leaky_relu(t, 0.25), "elu": lambda t: F.elu(t, 0.25),
        "selu": F.selu, "gelu": F.gelu,
        "rrelu_predict": lambda t: F.rrelu(t, 0.125, 0.334, training=False),
    }


_OURS_FOR_TORCH = dict(FUNCS, hard_sigmoid=lambda x: nd.hard_sigmoid(x, alpha=1 / 6, beta=0.5))


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softrelu", "softsign",
                                  "log_sigmoid", "mish", "hard_sigmoid", "leaky", "elu", "selu",
                                  "gelu", "rrelu_predict"])
def test_matches_torch_float32(name, ctx):
    torch = pytest.importorskip("torch")
    x = (_sample((3, 4), seed=8) * 2).astype(np.float32)
    head = np.random.RandomState(9).standard_normal(x.shape).astype(np.float32)
    a = nd.array(x, ctx=ctx)
    a.attach_grad()
    with autograd.record(train_mode=False):
        y = _OURS_FOR_TORCH[name](a)
    y.backward(nd.array(head, ctx=ctx))
    t = torch.tensor(x, requires_grad=True)
    ty = _torch_funcs(torch)[name](t)
    ty.backward(torch.tensor(head))
    assert_almost_equal(y, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_almost_equal(a.grad, t.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_prelu_matches_torch_float32(ctx):
    torch = pytest.importorskip("torch")
    x = _sample((2, 3, 4), seed=10).astype(np.float32)
    w = np.array([0.1, 0.25, 0.4], dtype=np.float32)
    a, g = nd.array(x, ctx=ctx), nd.array(w, ctx=ctx)
    a.attach_grad()
    g.attach_grad()
    with autograd.record():
        y = nd.LeakyReLU(a, g, act_type="prelu")
    y.backward()
    ta, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.prelu(ta, tw)
    ty.sum().backward()
    assert_almost_equal(y, ty.detach().numpy(), rtol=1e-6)
    assert_almost_equal(a.grad, ta.grad.numpy(), rtol=1e-6)
    assert_almost_equal(g.grad, tw.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize("name", ["gelu", "selu", "sigmoid", "mish"])
def test_second_derivative_matches_torch(name, ctx):
    torch = pytest.importorskip("torch")
    x = np.array([0.4, -0.9, 1.3, -0.3], dtype=np.float32)
    a = nd.array(x, ctx=ctx)
    a.attach_grad()
    with autograd.record():
        g, = autograd.grad(FUNCS[name](a), [a], create_graph=True)
    g.backward()
    t = torch.tensor(x, requires_grad=True)
    tg, = torch.autograd.grad(_torch_funcs(torch)[name](t).sum(), [t], create_graph=True)
    tg.sum().backward()
    assert_almost_equal(g, tg.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_almost_equal(a.grad, t.grad.numpy(), rtol=1e-4, atol=1e-5)
