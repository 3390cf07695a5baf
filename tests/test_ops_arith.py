"""Binary arithmetic, comparisons and ``where``: forward against NumPy, gradients against
finite differences (orders 1 and 2) on hypothesis-generated broadcasting shapes, on
both contexts, with Python scalars on either side; float32 against PyTorch."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import BroadcastableShapes, mutually_broadcastable_shapes

from framework import autograd, nd
from framework.test_utils import assert_almost_equal, check_numeric_gradient

MAX_ELEMENTS = 12


def _small(shapes) -> bool:
    return all(math.prod(s) <= MAX_ELEMENTS for s in shapes.input_shapes + (shapes.result_shape,))


def _pairs(num_shapes=2):
    return mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=0, max_dims=3,
                                         max_side=3).filter(_small)


SETTINGS = settings(max_examples=10, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much])


# --- input domains that keep away from kinks, ties, zeros and branch cuts ---
# broadcasting both ways, always among the examples
CROSS = BroadcastableShapes(input_shapes=((2, 1, 3), (2, 1)), result_shape=(2, 2, 3))
ROW = BroadcastableShapes(input_shapes=((3,), (2, 3)), result_shape=(2, 3))


def _signed(rng, shape, low=0.5, high=1.5):
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def _generic(rng, sa, sb):
    return _signed(rng, sa), _signed(rng, sb)


def _power(rng, sa, sb):
    return rng.uniform(0.5, 1.5, sa), rng.uniform(-1.5, 1.5, sb)


def _modulo(rng, sa, sb):
    # a = k + f with f in [0.3, 0.7] and |b| in [1, 1.05]: a / b stays >= 0.19 from an integer
    a = rng.randint(-2, 3, sa) + rng.uniform(0.3, 0.7, sa)
    b = rng.uniform(1.0, 1.05, sb) * rng.choice([-1.0, 1.0], sb)
    return a, b


def _untied(rng, sa, sb):
    # multiples of 0.5 against odd multiples of 0.25: never equal, at least 0.25 apart
    return 0.25 + 0.5 * rng.randint(-3, 3, sa), 0.5 * rng.randint(-3, 3, sb).astype(float)


# name -> (framework function, NumPy reference, input domain, torch function name)
BINARY = {
    "add": (nd.add, np.add, _generic, "add"),
    "subtract": (nd.subtract, np.subtract, _generic, "sub"),
    "multiply": (nd.multiply, np.multiply, _generic, "mul"),
    "divide": (nd.divide, np.true_divide, _generic, "div"),
    "modulo": (nd.modulo, np.mod, _modulo, "remainder"),
    "power": (nd.power, np.power, _power, "pow"),
    "maximum": (nd.maximum, np.maximum, _untied, "maximum"),
    "minimum": (nd.minimum, np.minimum, _untied, "minimum"),
    "hypot": (nd.hypot, np.hypot, _generic, "hypot"),
}

OPERATORS = {"add": lambda a, b: a + b, "subtract": lambda a, b: a - b,
             "multiply": lambda a, b: a * b, "divide": lambda a, b: a / b,
             "modulo": lambda a, b: a % b, "power": lambda a, b: a ** b}

COMPARISONS = {
    "equal": (nd.equal, np.equal, lambda a, b: a == b),
    "not_equal": (nd.not_equal, np.not_equal, lambda a, b: a != b),
    "greater": (nd.greater, np.greater, lambda a, b: a > b),
    "greater_equal": (nd.greater_equal, np.greater_equal, lambda a, b: a >= b),
    "lesser": (nd.lesser, np.less, lambda a, b: a < b),
    "lesser_equal": (nd.lesser_equal, np.less_equal, lambda a, b: a <= b),
}


def _forward_matches(fn, ref, ha, hb, ctx):
    out = fn(nd.array(ha, ctx=ctx), nd.array(hb, ctx=ctx))
    expected = ref(ha.astype(np.float32), hb.astype(np.float32))
    assert out.shape == expected.shape
    assert out.dtype is np.float32 and out.context is ctx
    assert_almost_equal(out, expected.astype(np.float32), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(shapes=_pairs(), seed=st.integers(0, 2 ** 16))
@example(shapes=CROSS, seed=1)
@example(shapes=ROW, seed=2)
def test_binary_op_broadcasting(name, shapes, seed, ctx):
    fn, ref, domain, _ = BINARY[name]
    sa, sb = shapes.input_shapes
    ha, hb = domain(np.random.RandomState(seed), sa, sb)
    _forward_matches(fn, ref, ha, hb, ctx)
    if name in OPERATORS:
        _forward_matches(OPERATORS[name], ref, ha, hb, ctx)
    for order in (1, 2):
        check_numeric_gradient(fn, [ha, hb], order=order, ctx=ctx)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_op_with_python_scalars(name, ctx):
    fn, ref, domain, _ = BINARY[name]
    rng = np.random.RandomState(0)
    ha, hb = domain(rng, (2, 3), (2, 3))
    sa, sb = (float(v) for v in domain(rng, (), ()))
    a32, b32 = nd.array(ha, ctx=ctx), nd.array(hb, ctx=ctx)
    for out, expected in ((fn(a32, sb), ref(ha.astype(np.float32), np.float32(sb))),
                          (fn(sa, b32), ref(np.float32(sa), hb.astype(np.float32)))):
        assert out.dtype is np.float32 and out.context is ctx
        assert_almost_equal(out, expected, rtol=1e-5, atol=1e-6)
    if name in OPERATORS:
        op = OPERATORS[name]
        assert_almost_equal(op(a32, sb), fn(a32, sb))
        assert_almost_equal(op(sa, b32), fn(sa, b32))
    for order in (1, 2):
        check_numeric_gradient(lambda a: fn(a, sb), [ha], order=order, ctx=ctx)
        check_numeric_gradient(lambda b: fn(sa, b), [hb], order=order, ctx=ctx)


def test_binary_op_needs_an_ndarray():
    with pytest.raises(TypeError, match="operator add: expected NDArrays or scalars with at "
                                        "least one NDArray, got int and float"):
        nd.add(1, 2.0)
    with pytest.raises(TypeError, match="operator multiply"):
        nd.multiply(nd.ones(2), "x")


def test_mxnet_alias_names():
    a, b = nd.array([[1., 2.]]), nd.array([[3.], [4.]])
    for alias, fn in [(nd.broadcast_add, nd.add), (nd.elemwise_add, nd.add),
                      (nd.broadcast_sub, nd.subtract), (nd.broadcast_mul, nd.multiply),
                      (nd.broadcast_div, nd.divide), (nd.broadcast_mod, nd.modulo),
                      (nd.broadcast_power, nd.power), (nd.broadcast_maximum, nd.maximum),
                      (nd.broadcast_minimum, nd.minimum), (nd.broadcast_equal, nd.equal),
                      (nd.broadcast_greater, nd.greater), (nd.broadcast_lesser, nd.lesser)]:
        assert_almost_equal(alias(a, b), fn(a, b))


@SETTINGS
@given(shapes=_pairs(), seed=st.integers(0, 2 ** 16))
def test_negative(shapes, seed, ctx):
    h = _signed(np.random.RandomState(seed), shapes.input_shapes[0])
    out = nd.negative(nd.array(h, ctx=ctx))
    assert_almost_equal(out, -h.astype(np.float32))
    assert_almost_equal(-nd.array(h, ctx=ctx), -h.astype(np.float32))
    for order in (1, 2):
        check_numeric_gradient(nd.negative, [h], order=order, ctx=ctx)
        check_numeric_gradient(lambda v: -v * v, [h], order=order, ctx=ctx)


@SETTINGS
@given(shapes=_pairs(3), seed=st.integers(0, 2 ** 16))
def test_where(shapes, seed, ctx):
    sc, sx, sy = shapes.input_shapes
    rng = np.random.RandomState(seed)
    hc = rng.randint(0, 2, sc).astype(np.float32)
    hx, hy = _signed(rng, sx), _signed(rng, sy)
    cond = nd.array(hc, ctx=ctx)
    out = nd.where(cond, nd.array(hx, ctx=ctx), nd.array(hy, ctx=ctx))
    expected = np.where(hc != 0, hx, hy).astype(np.float32)
    assert out.shape == expected.shape and out.dtype is np.float32
    assert_almost_equal(out, expected)
    cond64 = nd.array(hc, ctx=ctx, dtype="float64")
    for order in (1, 2):
        check_numeric_gradient(lambda x, y: nd.where(cond64, x, y) * x, [hx, hy],
                               order=order, ctx=ctx)


def test_where_with_scalars(ctx):
    cond = nd.array([1., 0., 2.], ctx=ctx)
    x = nd.array([1., 2., 3.], ctx=ctx)
    assert nd.where(cond, x, 0.5).asnumpy().tolist() == [1., .5, 3.]
    assert nd.where(cond, -1.0, x).asnumpy().tolist() == [-1., 2., -1.]
    x.attach_grad()
    with autograd.record():
        y = nd.where(cond, x * x, 7.0)
    y.backward()
    assert x.grad.asnumpy().tolist() == [2., 0., 6.]


def test_where_shape_error():
    with pytest.raises(ValueError, match=r"operator where: condition \(2,\), x \(3,\) and y "
                                         r"\(3,\) cannot be broadcast together"):
        nd.where(nd.ones(2), nd.ones(3), nd.ones(3))


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@SETTINGS
@given(shapes=_pairs(), seed=st.integers(0, 2 ** 16))
@example(shapes=CROSS, seed=1)
def test_comparison_broadcasting(name, shapes, seed, ctx):
    fn, ref, op = COMPARISONS[name]
    sa, sb = shapes.input_shapes
    rng = np.random.RandomState(seed)
    ha = rng.randint(-1, 2, sa).astype(np.float32)          # small integers: ties happen
    hb = rng.randint(-1, 2, sb).astype(np.float32)
    a, b = nd.array(ha, ctx=ctx), nd.array(hb, ctx=ctx)
    expected = ref(ha, hb).astype(np.float32)
    for out in (fn(a, b), op(a, b)):
        assert out.dtype is np.float32 and out.shape == expected.shape
        assert_almost_equal(out, expected)
    assert_almost_equal(op(a, 0.0), ref(ha, np.float32(0)).astype(np.float32))
    assert_almost_equal(op(0.0, b), ref(np.float32(0), hb).astype(np.float32))


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparisons_are_not_differentiated(name, ctx):
    fn = COMPARISONS[name][0]
    x = nd.array([-1., 0.5, 2.], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        mask = fn(x, 0.5)
        y = mask * x * x
    assert_almost_equal(autograd.grad(mask, [x], retain_graph=True)[0], np.zeros(3))
    y.backward()
    expected = 2 * x.asnumpy() * fn(x, 0.5).asnumpy()
    assert_almost_equal(x.grad, expected)
    for order in (1, 2):
        check_numeric_gradient(lambda v: fn(v, 0.5) * v * v, [[-1., 0.25, 2.]], order=order,
                               ctx=ctx)


def test_comparison_dtype_follows_input(ctx):
    a = nd.array([1, 2, 3], ctx=ctx, dtype="int32")
    for fn, _, _ in COMPARISONS.values():
        assert fn(a, 2).dtype is np.int32
        assert fn(a, a).dtype is np.int32
    h = nd.array([1, 2], ctx=ctx, dtype="float16")
    assert (h > 1).dtype is np.float16


# ---------------------------------------------------------------- PyTorch
TORCH_SHAPES = [((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2))]


@pytest.mark.parametrize("shapes", TORCH_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_op_against_torch_float32(name, shapes):
    torch = pytest.importorskip("torch")
    fn, _, domain, torch_name = BINARY[name]
    sa, sb = shapes
    ha, hb = (v.astype(np.float32) for v in domain(np.random.RandomState(5), sa, sb))
    head = np.random.RandomState(6).standard_normal(np.broadcast_shapes(sa, sb)).astype(np.float32)

    a, b = nd.array(ha), nd.array(hb)
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        y = fn(a, b)
    y.backward(nd.array(head))

    ta = torch.tensor(ha, requires_grad=True)
    tb = torch.tensor(hb, requires_grad=True)
    ty = getattr(torch, torch_name)(ta, tb)
    ty.backward(torch.tensor(head))

    assert y.dtype is np.float32 and a.grad.dtype is np.float32
    assert_almost_equal(y, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_almost_equal(a.grad, ta.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert_almost_equal(b.grad, tb.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_where_and_negative_against_torch_float32():
    torch = pytest.importorskip("torch")
    rng = np.random.RandomState(7)
    hc = rng.randint(0, 2, (2, 3)).astype(np.float32)
    hx = rng.standard_normal((2, 3)).astype(np.float32)
    hy = rng.standard_normal((3,)).astype(np.float32)
    x, y = nd.array(hx), nd.array(hy)
    x.attach_grad()
    y.attach_grad()
    with autograd.record():
        out = nd.where(nd.array(hc), x, -y) * x
    out.backward()
    tx = torch.tensor(hx, requires_grad=True)
    ty = torch.tensor(hy, requires_grad=True)
    tout = torch.where(torch.tensor(hc) != 0, tx, torch.neg(ty)) * tx
    tout.backward(torch.ones_like(tout))
    assert_almost_equal(out, tout.detach().numpy(), rtol=1e-6)
    assert_almost_equal(x.grad, tx.grad.numpy(), rtol=1e-6)
    assert_almost_equal(y.grad, ty.grad.numpy(), rtol=1e-6)


def test_second_order_against_torch_float32():
    torch = pytest.importorskip("torch")
    rng = np.random.RandomState(8)
    ha = rng.uniform(0.5, 1.5, (2, 3)).astype(np.float32)
    hb = rng.uniform(0.5, 1.5, (3,)).astype(np.float32)

    def f(lib, a, b):
        return (a ** b) * a / (b + 1) - lib.maximum(a, b * 0.9) * b

    a, b = nd.array(ha), nd.array(hb)
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        y = f(nd, a, b)
        ga, gb = autograd.grad(y, [a, b], create_graph=True)
        s = (ga * ga).sum() + (gb * ga.sum(axis=0)).sum()
    s.backward()

    ta = torch.tensor(ha, requires_grad=True)
    tb = torch.tensor(hb, requires_grad=True)
    ty = f(torch, ta, tb)
    tga, tgb = torch.autograd.grad(ty.sum(), [ta, tb], create_graph=True)
    ts = (tga * tga).sum() + (tgb * tga.sum(dim=0)).sum()
    ts.backward()
    assert_almost_equal(ga, tga.detach().numpy(), rtol=1e-5)
    assert_almost_equal(gb, tgb.detach().numpy(), rtol=1e-5)
    assert_almost_equal(a.grad, ta.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert_almost_equal(b.grad, tb.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_mixed_int_and_float_operands_stay_float32(ctx):
    # a float operand wins over an integer one without widening to float64 (as PyTorch)
    i = nd.array([1, 2], dtype="int32", ctx=ctx)
    f = nd.array([0.5, 0.25], ctx=ctx)
    for out, want in ((i + f, [1.5, 2.25]), (f * i, [0.5, 0.5]), (i * 2.5, [2.5, 5.0]),
                      (2.0 / i, [2.0, 1.0]), (i / 4.0, [0.25, 0.5])):
        assert out.dtype == np.float32
        assert_almost_equal(out, np.array(want, dtype=np.float32))
    assert (i * 2).dtype == np.int32 and (i + i).dtype == np.int32
    h = nd.array([1.0], dtype="float16", ctx=ctx)
    assert (h + nd.array([1.0], dtype="float64", ctx=ctx)).dtype == np.float64
