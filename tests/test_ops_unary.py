"""Elementwise math (framework/ndarray/ops/unary.py): values, gradients, dtypes, errors.

Expected values come from NumPy / Python's math module on the host (or from
MXNet's documentation for its own rounding rules); gradients from finite
differences (orders 1 and 2, float64) and from PyTorch in float32.
"""
import math
import warnings

import numpy as np
import pytest

import framework as fw
from framework import autograd, nd
from framework.test_utils import assert_almost_equal, check_numeric_gradient

_erf_host = np.vectorize(math.erf, otypes=[np.float64])


def _erfinv_host(y):
    """erfinv by bisection on math.erf (independent of the code under test)."""
    y = np.asarray(y, dtype=np.float64)
    lo, hi = np.full(y.shape, -7.0), np.full(y.shape, 7.0)
    for _ in range(80):
        mid = (lo + hi) / 2
        below = _erf_host(mid) < y
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2


def _round_half_away(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


# domains: values where the function is smooth (no kinks, no poles)
ANY = (-2.0, 2.0)
POS = (0.5, 2.0)
UNIT = (-0.9, 0.9)
NONZERO = "nonzero"       # |x| in [0.3, 2], random sign

# name: (numpy reference on float64, domain, differentiable)
OPS = {
    "exp": (np.exp, ANY, True),
    "log": (np.log, POS, True),
    "log2": (np.log2, POS, True),
    "log10": (np.log10, POS, True),
    "log1p": (np.log1p, (-0.5, 2.0), True),
    "expm1": (np.expm1, ANY, True),
    "sqrt": (np.sqrt, POS, True),
    "rsqrt": (lambda v: 1 / np.sqrt(v), POS, True),
    "cbrt": (np.cbrt, NONZERO, True),
    "rcbrt": (lambda v: 1 / np.cbrt(v), NONZERO, True),
    "square": (np.square, ANY, True),
    "reciprocal": (lambda v: 1 / v, NONZERO, True),
    "abs": (np.abs, NONZERO, True),
    "sin": (np.sin, ANY, True),
    "cos": (np.cos, ANY, True),
    "tan": (np.tan, (-1.2, 1.2), True),
    "arcsin": (np.arcsin, UNIT, True),
    "arccos": (np.arccos, UNIT, True),
    "arctan": (np.arctan, ANY, True),
    "sinh": (np.sinh, ANY, True),
    "cosh": (np.cosh, ANY, True),
    "tanh": (np.tanh, ANY, True),
    "arcsinh": (np.arcsinh, ANY, True),
    "arccosh": (np.arccosh, (1.2, 3.0), True),
    "arctanh": (np.arctanh, UNIT, True),
    "radians": (lambda v: v * (np.pi / 180), (-200.0, 200.0), True),
    "degrees": (lambda v: v * (180 / np.pi), ANY, True),
    "erf": (_erf_host, (-3.0, 3.0), True),
    "erfinv": (_erfinv_host, UNIT, True),
    "sign": (np.sign, NONZERO, False),
    "floor": (np.floor, (-3.0, 3.0), False),
    "ceil": (np.ceil, (-3.0, 3.0), False),
    "round": (_round_half_away, (-3.0, 3.0), False),
    "rint": (lambda v: np.ceil(v - 0.5), (-3.0, 3.0), False),
    "fix": (np.trunc, (-3.0, 3.0), False),
    "trunc": (np.trunc, (-3.0, 3.0), False),
}
DIFFERENTIABLE = [name for name, (_, _, d) in OPS.items() if d]
PIECEWISE_CONSTANT = [name for name, (_, _, d) in OPS.items() if not d]


def _sample(name, shape=(2, 3), seed=0):
    rng = np.random.RandomState(seed + sum(map(ord, name)))
    domain = OPS[name][1]
    if domain == NONZERO:
        return rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    values = rng.uniform(domain[0], domain[1], shape)
    if not OPS[name][2]:            # keep clear of the jumps of step functions
        values = np.round(values * 4) / 4 + 0.1
    return values


def _op(name):
    return getattr(nd, name)


def test_every_op_is_public_and_a_method():
    for name in OPS:
        assert name in nd.__dict__, name
        if name not in ("erf", "erfinv"):
            x = nd.array(_sample(name))
            assert_almost_equal(getattr(x, name)(), _op(name)(x))


# ------------------------------------------------------------------ forward
@pytest.mark.parametrize("name", list(OPS))
def test_forward_matches_numpy_float64(name, ctx):
    x = _sample(name, (3, 4))
    y = _op(name)(nd.array(x, ctx=ctx, dtype=np.float64))
    assert y.context == ctx and y.shape == x.shape and y.dtype == np.float64
    assert_almost_equal(y, OPS[name][0](x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(OPS))
def test_dtype_kept_float32_and_float16(name, ctx):
    x = _sample(name, (2, 3))
    ref = OPS[name][0](x.astype(np.float32).astype(np.float64))
    y32 = _op(name)(nd.array(x, ctx=ctx, dtype=np.float32))
    assert y32.dtype == np.float32
    assert_almost_equal(y32, ref.astype(np.float32), rtol=1e-5, atol=1e-6)
    x16 = x.astype(np.float16)
    y16 = _op(name)(nd.array(x16, ctx=ctx, dtype=np.float16))
    assert y16.dtype == np.float16
    assert_almost_equal(y16.asnumpy().astype(np.float64), OPS[name][0](x16.astype(np.float64)),
                        rtol=2e-3, atol=2e-3)


def test_zero_dim_input(ctx):
    y = nd.sqrt(nd.array(np.array(4.0), ctx=ctx))
    assert y.shape == () and float(y.asnumpy()) == 2.0


def test_integer_input_keeps_dtype_as_mxnet(ctx):
    x = nd.array([4, 9, 10], ctx=ctx, dtype=np.int32)
    y = nd.sqrt(x)
    assert y.dtype == np.int32
    assert y.asnumpy().tolist() == [2, 3, 3]
    assert nd.abs(nd.array([-3, 2], ctx=ctx, dtype=np.int64)).asnumpy().tolist() == [3, 2]


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_numeric_gradient(name, order, ctx):
    check_numeric_gradient(_op(name), [_sample(name)], order=order, ctx=ctx)


@pytest.mark.parametrize("name", ["tanh", "erf", "rsqrt"])
def test_numeric_gradient_third_order(name, ctx):
    check_numeric_gradient(_op(name), [_sample(name, (4,))], order=3, ctx=ctx,
                           rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("name", PIECEWISE_CONSTANT)
def test_piecewise_constant_ops_have_zero_gradient(name, ctx):
    x = nd.array(_sample(name), ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = _op(name)(x)
        z = y * 3 + x * x
    assert_almost_equal(autograd.grad(y, [x], retain_graph=True)[0], np.zeros(x.shape))
    z.backward()
    assert_almost_equal(x.grad, 2 * x.asnumpy(), rtol=1e-6)


def test_gradient_keeps_float32(ctx):
    x = nd.array([0.5, 1.5], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.erf(nd.sqrt(x)) + nd.erfinv(x * 0.5) + nd.clip(x, 0, 1)
    y.backward()
    assert x.grad.dtype == np.float32


# ------------------------------------------------------------------ clip
def test_clip_forward_and_gradient_inside_the_interval(ctx):
    x = nd.array([-2.0, -0.5, 0.0, 0.3, 0.8, 3.0], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.clip(x, -0.5, 0.8)
    y.backward()
    assert_almost_equal(y, np.clip(x.asnumpy(), -0.5, 0.8))
    # MXNet passes the gradient on the closed interval [a_min, a_max]
    assert_almost_equal(x.grad, np.array([0, 1, 1, 1, 1, 0], dtype=np.float32))


@pytest.mark.parametrize("order", [1, 2])
def test_clip_numeric_gradient(order, ctx):
    x = np.array([[-1.3, -0.2, 0.1], [0.45, 0.7, 1.9]])
    check_numeric_gradient(lambda v: nd.clip(v, -0.5, 0.8), [x], order=order, ctx=ctx)
    check_numeric_gradient(lambda v: nd.clip(v, None, 0.2), [x], order=order, ctx=ctx)


def test_clip_one_sided_and_dtypes(ctx):
    x = np.array([-2.0, 0.5, 3.0])
    assert_almost_equal(nd.clip(nd.array(x, ctx=ctx), 0, None), np.maximum(x, 0).astype(np.float32))
    y16 = nd.clip(nd.array(x, ctx=ctx, dtype=np.float16), -1.0, 1.0)
    assert y16.dtype == np.float16
    assert nd.array(x, ctx=ctx).clip(-1, 1).asnumpy().tolist() == [-1.0, 0.5, 1.0]


def test_clip_errors(ctx):
    x = nd.array([1.0, 2.0], ctx=ctx)
    with pytest.raises(ValueError, match=r"operator clip: a_min \(2.0\) is greater than a_max \(1.0\)"):
        nd.clip(x, 2.0, 1.0)
    with pytest.raises(ValueError, match="operator clip: a_min and a_max are both None"):
        nd.clip(x, None, None)
    with pytest.raises(TypeError, match="operator clip: a_max must be a real number"):
        nd.clip(x, 0.0, "1")
    with pytest.raises(TypeError, match="operator clip: expected an NDArray, got list"):
        nd.clip([1.0, 2.0], 0.0, 1.0)


# --------------------------------------------------------- MXNet's rounding rules
def test_round_and_rint_follow_mxnet_docs(ctx):
    # examples from MXNet 1.x's documentation of round and rint
    x = nd.array([-1.5, 1.5, -1.9, 1.9, 2.1], ctx=ctx)
    assert nd.round(x).asnumpy().tolist() == [-2.0, 2.0, -2.0, 2.0, 2.0]
    assert nd.rint(x).asnumpy().tolist() == [-2.0, 1.0, -2.0, 2.0, 2.0]
    assert nd.fix(nd.array([-2.1, -1.9, 1.9, 2.1], ctx=ctx)).asnumpy().tolist() == [-2, -1, 1, 2]
    # halves exactly, and the largest double below 0.5 (which x + 0.5 would round up)
    h = nd.array([0.5, 2.5, -0.5, -2.5, 0.49999999999999994], ctx=ctx, dtype=np.float64)
    assert nd.round(h).asnumpy().tolist() == [1.0, 3.0, -1.0, -3.0, 0.0]
    assert nd.rint(h).asnumpy().tolist() == [0.0, 2.0, -1.0, -3.0, 0.0]


# ------------------------------------------------------------------ erf, erfinv
def test_erf_accuracy_float64(ctx):
    rng = np.random.RandomState(3)
    x = np.concatenate([rng.uniform(-7, 7, 300), rng.uniform(-1.2, 1.2, 200),
                        10.0 ** rng.uniform(-300, 0, 100) * rng.choice([-1, 1], 100),
                        [0.0, 0.5, 0.999999999, 1.0, 1.000000001, 5.999, 7.99, 8.0, 30.0]])
    y = nd.erf(nd.array(x, ctx=ctx, dtype=np.float64)).asnumpy()
    ref = _erf_host(x)
    rel = np.abs(y - ref) / np.maximum(np.abs(ref), np.finfo(np.float64).tiny)
    assert rel.max() < 1e-14, (rel.max(), x[rel.argmax()])


def test_erf_accuracy_float32(ctx):
    x = np.linspace(-5, 5, 201).astype(np.float32)
    y = nd.erf(nd.array(x, ctx=ctx)).asnumpy()
    assert y.dtype == np.float32
    assert_almost_equal(y, _erf_host(x.astype(np.float64)), rtol=1e-6, atol=1e-7)


def test_erf_erfinv_special_values(ctx):
    inf, nan = np.inf, np.nan
    e = nd.erf(nd.array([inf, -inf, nan, 0.0, -0.0], ctx=ctx, dtype=np.float64)).asnumpy()
    assert e[:2].tolist() == [1.0, -1.0] and np.isnan(e[2]) and e[3] == 0 and np.signbit(e[4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no overflow / invalid-value warnings
        v = nd.erfinv(nd.array([1.0, -1.0, 1.5, -2.0, nan, 0.0], ctx=ctx, dtype=np.float64))
    v = v.asnumpy()
    assert v[0] == inf and v[1] == -inf and np.isnan(v[2:5]).all() and v[5] == 0


def test_erfinv_accuracy(ctx):
    rng = np.random.RandomState(4)
    y = np.concatenate([rng.uniform(-1, 1, 200), 1 - 10.0 ** rng.uniform(-15, -1, 40),
                        -(1 - 10.0 ** rng.uniform(-15, -1, 40)), 10.0 ** rng.uniform(-200, -1, 40)])
    x = nd.erfinv(nd.array(y, ctx=ctx, dtype=np.float64)).asnumpy()
    # erf(erfinv(y)) == y, and where erf is well conditioned, x matches bisection
    assert_almost_equal(_erf_host(x), y, rtol=1e-14, atol=1e-16)
    mid = (np.abs(y) < 0.99) & (np.abs(y) > 1e-3)
    assert_almost_equal(x[mid], _erfinv_host(y[mid]), rtol=1e-12, atol=1e-300)
    tiny = np.abs(y) < 1e-9            # erfinv(y) = sqrt(pi)/2 * y * (1 + O(y^2))
    assert_almost_equal(x[tiny], y[tiny] * (math.sqrt(math.pi) / 2), rtol=1e-14, atol=1e-300)
    # next to +-1, the result is still right: erfc(x) == 1 - |y| to relative 1e-12
    near = np.abs(y) > 0.999
    assert_almost_equal(np.vectorize(math.erfc)(np.abs(x[near])), 1 - np.abs(y[near]), rtol=1e-12)
    x32 = nd.erfinv(nd.array(y[:200], ctx=ctx)).asnumpy()
    assert x32.dtype == np.float32
    assert_almost_equal(x32, _erfinv_host(y[:200].astype(np.float32)), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("name", ["sqrt", "erf", "floor", "tanh"])
def test_non_ndarray_input_is_a_clear_error(name):
    with pytest.raises(TypeError, match=f"operator {name}: expected an NDArray, got float"):
        _op(name)(2.0)


def test_mixing_contexts_is_an_error_not_a_conversion():
    # unary ops have one input; a gpu array stays on gpu and never meets NumPy
    x = nd.array([0.25, 0.5], ctx=fw.gpu(0))
    y = nd.erf(nd.sqrt(x))
    assert y.context == fw.gpu(0)


# ------------------------------------------------------------------ PyTorch
TORCH = {
    "exp": "exp", "log": "log", "log2": "log2", "log10": "log10", "log1p": "log1p",
    "expm1": "expm1", "sqrt": "sqrt", "rsqrt": "rsqrt", "square": "square",
    "reciprocal": "reciprocal", "abs": "abs", "sign": "sign", "sin": "sin", "cos": "cos",
    "tan": "tan", "arcsin": "arcsin", "arccos": "arccos", "arctan": "arctan", "sinh": "sinh",
    "cosh": "cosh", "tanh": "tanh", "arcsinh": "arcsinh", "arccosh": "arccosh",
    "arctanh": "arctanh", "radians": "deg2rad", "degrees": "rad2deg", "floor": "floor",
    "ceil": "ceil", "fix": "fix", "trunc": "trunc", "erf": "erf", "erfinv": "erfinv",
}


@pytest.mark.parametrize("name", list(TORCH))
def test_matches_torch_float32(name, ctx):
    torch = pytest.importorskip("torch")
    x = _sample(name, (3, 4)).astype(np.float32)
    head = np.random.RandomState(1).standard_normal(x.shape).astype(np.float32)
    a = nd.array(x, ctx=ctx)
    a.attach_grad()
    with autograd.record():
        y = _op(name)(a)
        z = y + a                 # a head in the graph also for the piecewise-constant ops
    z.backward(nd.array(head, ctx=ctx))
    t = torch.tensor(x, requires_grad=True)
    ty = getattr(torch, TORCH[name])(t)
    (ty + t).backward(torch.tensor(head))
    assert_almost_equal(y, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_almost_equal(a.grad, t.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_cbrt_and_clip_match_torch_float32(ctx):
    torch = pytest.importorskip("torch")
    x = _sample("cbrt", (3, 4)).astype(np.float32)
    a = nd.array(x, ctx=ctx)
    a.attach_grad()
    with autograd.record():
        y = nd.cbrt(a) + nd.clip(a, -0.9, 1.1)
    y.backward()
    t = torch.tensor(x, requires_grad=True)
    ty = torch.sign(t) * t.abs().pow(1 / 3) + torch.clamp(t, -0.9, 1.1)
    ty.sum().backward()
    assert_almost_equal(y, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_almost_equal(a.grad, t.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_second_derivative_matches_torch(ctx):
    torch = pytest.importorskip("torch")
    x = np.array([0.3, -0.6, 0.8], dtype=np.float32)
    a = nd.array(x, ctx=ctx)
    a.attach_grad()
    with autograd.record():
        y = nd.erf(a) * nd.tanh(a) + nd.arcsin(a)
        g, = autograd.grad(y, [a], create_graph=True)
    g.backward()
    t = torch.tensor(x, requires_grad=True)
    ty = torch.erf(t) * torch.tanh(t) + torch.arcsin(t)
    tg, = torch.autograd.grad(ty.sum(), [t], create_graph=True)
    tg.sum().backward()
    assert_almost_equal(g, tg.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_almost_equal(a.grad, t.grad.numpy(), rtol=1e-4, atol=1e-5)
