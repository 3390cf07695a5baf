"""Reductions: sum, mean, max, min, prod, nansum, nanprod, norm, argmax, argmin.

Forward values are compared with NumPy on the host, gradients with finite
differences (first and second order, float64) on both contexts and with
PyTorch in float32 where it is installed. Expected values written out below
come from MXNet's documentation or are worked out by hand.
"""
import numpy as np
import pytest

from framework import autograd, nd
from framework.ndarray.operator import NonDifferentiableError
from framework.test_utils import assert_almost_equal, check_numeric_gradient


def _data(shape, seed=0, low=0.5, high=1.5, signs=True):
    """Distinct values away from 0 (no ties, no kinks), deterministic."""
    rng = np.random.RandomState(seed)
    size = int(np.prod(shape))
    v = np.linspace(low, high, size)[rng.permutation(size)]
    if signs:
        v = v * rng.choice([-1.0, 1.0], size)
    return v.reshape(shape)


def _with_nan(shape):
    v = _data(shape)
    v.flat[1] = np.nan
    v.flat[-2] = np.nan
    return v


# ------------------------------------------------------------------ forward
FORWARD_CASES = [
    # (function name, kwargs, numpy reference)
    ("sum", {}, lambda a: a.sum()),
    ("sum", dict(axis=1), lambda a: a.sum(axis=1)),
    ("sum", dict(axis=(0, 2), keepdims=True), lambda a: a.sum(axis=(0, 2), keepdims=True)),
    ("sum", dict(axis=1, exclude=True), lambda a: a.sum(axis=(0, 2))),
    ("sum", dict(axis=-1), lambda a: a.sum(axis=-1)),
    ("mean", {}, lambda a: a.mean()),
    ("mean", dict(axis=(0, 1)), lambda a: a.mean(axis=(0, 1))),
    ("mean", dict(axis=0, keepdims=True, exclude=True), lambda a: a.mean(axis=(1, 2), keepdims=True)),
    ("max", {}, lambda a: a.max()),
    ("max", dict(axis=2, keepdims=True), lambda a: a.max(axis=2, keepdims=True)),
    ("max", dict(axis=(0, 2), exclude=True), lambda a: a.max(axis=1)),
    ("min", dict(axis=0), lambda a: a.min(axis=0)),
    ("min", dict(axis=(1, 2)), lambda a: a.min(axis=(1, 2))),
    ("prod", {}, lambda a: a.prod()),
    ("prod", dict(axis=1), lambda a: a.prod(axis=1)),
    ("prod", dict(axis=2, exclude=True, keepdims=True), lambda a: a.prod(axis=(0, 1), keepdims=True)),
    ("norm", {}, lambda a: np.sqrt((a * a).sum())),
    ("norm", dict(ord=1), lambda a: np.abs(a).sum()),
    ("norm", dict(ord=2, axis=1), lambda a: np.sqrt((a * a).sum(axis=1))),
    ("norm", dict(ord=1, axis=(0, 2), keepdims=True), lambda a: np.abs(a).sum(axis=(0, 2), keepdims=True)),
    ("argmax", {}, lambda a: np.float32(a.argmax())),
    ("argmax", dict(axis=1), lambda a: a.argmax(axis=1)),
    ("argmax", dict(axis=-1, keepdims=True), lambda a: np.expand_dims(a.argmax(axis=-1), -1)),
    ("argmin", dict(axis=0), lambda a: a.argmin(axis=0)),
    ("argmin", {}, lambda a: np.float32(a.argmin())),
]


@pytest.mark.parametrize("name,kwargs,ref", FORWARD_CASES)
def test_forward_matches_numpy(ctx, name, kwargs, ref):
    a = _data((2, 3, 4)).astype(np.float32)
    out = getattr(nd, name)(nd.array(a, ctx=ctx), **kwargs)
    expected = np.asarray(ref(a))
    if expected.ndim == 0:
        expected = expected.reshape(1)      # MXNet 1.x: a full reduction has shape (1,)
    assert out.context == ctx
    assert out.shape == expected.shape
    assert out.dtype == np.float32
    assert_almost_equal(out, expected.astype(np.float32), rtol=1e-5, atol=1e-6)


def test_nan_reductions_forward(ctx):
    a = _with_nan((3, 4)).astype(np.float32)
    x = nd.array(a, ctx=ctx)
    assert_almost_equal(nd.nansum(x), np.nansum(a), rtol=1e-5)
    assert_almost_equal(nd.nansum(x, axis=1), np.nansum(a, axis=1), rtol=1e-5)
    assert_almost_equal(nd.nanprod(x, axis=0, keepdims=True), np.nanprod(a, axis=0, keepdims=True),
                        rtol=1e-5)
    assert np.isnan(nd.sum(x).asscalar())


def test_methods_forward_to_the_operators(ctx):
    a = _data((3, 4)).astype(np.float32)
    x = nd.array(a, ctx=ctx)
    assert_almost_equal(x.sum(axis=0), a.sum(axis=0), rtol=1e-5)
    assert_almost_equal(x.mean(1), a.mean(1), rtol=1e-5)
    assert_almost_equal(x.max(axis=1), a.max(axis=1))
    assert_almost_equal(x.min(), a.min())
    assert_almost_equal(x.prod(axis=1), a.prod(axis=1), rtol=1e-5)
    assert_almost_equal(x.norm(), np.linalg.norm(a), rtol=1e-5)
    assert_almost_equal(x.argmax(axis=0), a.argmax(axis=0).astype(np.float32))
    assert_almost_equal(nd.argmax_channel(x), a.argmax(axis=-1).astype(np.float32))
    assert_almost_equal(nd.sum_axis(x, axis=1), a.sum(axis=1), rtol=1e-5)


def test_mxnet_argmax_documentation_example(ctx):
    # mx.nd.argmax documentation: x = [[0, 1, 2], [3, 4, 5]]
    x = nd.array([[0, 1, 2], [3, 4, 5]], ctx=ctx)
    assert_almost_equal(nd.argmax(x, axis=0), np.array([1, 1, 1], np.float32))
    assert_almost_equal(nd.argmax(x, axis=1), np.array([2, 2], np.float32))
    assert_almost_equal(nd.argmax(x, axis=1, keepdims=True), np.array([[2], [2]], np.float32))
    # ties: the first occurrence
    assert nd.argmax(nd.array([1, 5, 5, 2], ctx=ctx)).asscalar() == 1
    assert nd.argmin(nd.array([3, 0, 4, 0], ctx=ctx)).asscalar() == 1


def test_argmax_has_zero_gradient(ctx):
    x = nd.array(_data((2, 3)), ctx=ctx)
    x.attach_grad()
    x.grad[:] = 5.0
    with autograd.record():
        i = nd.argmax(x, axis=1)
    assert i.dtype == np.float32
    i.backward()                  # as MXNet: grad_req 'write' stores the zero gradient
    assert_almost_equal(x.grad, np.zeros((2, 3)))


def test_float64_and_float16_keep_their_dtype(ctx):
    for dtype in (np.float64, np.float16):
        x = nd.array(_data((2, 3)), ctx=ctx, dtype=dtype)
        for name in ("sum", "mean", "max", "min", "prod", "norm", "nansum", "nanprod"):
            assert getattr(nd, name)(x, axis=1).dtype == dtype, name


def test_integer_sum_and_mean_keep_integer_dtype(ctx):
    x = nd.array([[1, 2], [3, 4]], ctx=ctx, dtype="int32")
    assert nd.sum(x).dtype == np.int32 and nd.sum(x).asscalar() == 10
    assert nd.mean(x, axis=1).dtype == np.int32


# ----------------------------------------------------------------- gradients
GRAD_CASES = {
    "sum_all": (lambda x: nd.sum(x), (3, 4)),
    "sum_axis_keepdims": (lambda x: nd.sum(x, axis=1, keepdims=True), (3, 4)),
    "sum_exclude": (lambda x: nd.sum(x, axis=1, exclude=True), (2, 3, 2)),
    "mean_axis": (lambda x: nd.mean(x, axis=0), (3, 4)),
    "mean_all_keepdims": (lambda x: nd.mean(x, keepdims=True), (3, 4)),
    "max_axis": (lambda x: nd.max(x, axis=1), (3, 4)),
    "max_exclude": (lambda x: nd.max(x, axis=0, exclude=True, keepdims=True), (2, 3, 2)),
    "min_all": (lambda x: nd.min(x), (3, 4)),
    "min_axis": (lambda x: nd.min(x, axis=-1), (3, 4)),
    "prod_axis": (lambda x: nd.prod(x, axis=1), (3, 4)),
    "prod_all": (lambda x: nd.prod(x), (2, 3)),
    "prod_exclude": (lambda x: nd.prod(x, axis=2, exclude=True), (2, 3, 2)),
    "nansum": (lambda x: nd.nansum(x, axis=1), "nan"),
    "nanprod": (lambda x: nd.nanprod(x, axis=0), "nan"),
    "norm_l2_all": (lambda x: nd.norm(x), (3, 4)),
    "norm_l2_axis": (lambda x: nd.norm(x, axis=1, keepdims=True), (3, 4)),
    "norm_l1_axis": (lambda x: nd.norm(x, ord=1, axis=0), (3, 4)),
    "norm_l2_two_axes": (lambda x: nd.norm(x, ord=2, axis=(0, 2)), (2, 3, 2)),
}


def _grad_input(spec):
    return _with_nan((3, 4)) if spec == "nan" else _data(spec)


@pytest.mark.parametrize("case", sorted(GRAD_CASES))
def test_gradient_first_order(ctx, case):
    fn, spec = GRAD_CASES[case]
    check_numeric_gradient(fn, [_grad_input(spec)], order=1, ctx=ctx)


@pytest.mark.parametrize("case", sorted(GRAD_CASES))
def test_gradient_second_order(ctx, case):
    fn, spec = GRAD_CASES[case]

    def squared(x):
        y = fn(x)
        return y * y               # so the backward rule itself gets differentiated

    check_numeric_gradient(squared, [_grad_input(spec)], order=2, ctx=ctx)


def test_prod_second_and_third_order_without_squaring(ctx):
    x = _data((2, 3))
    check_numeric_gradient(lambda v: nd.prod(v, axis=1), [x], order=2, ctx=ctx)
    check_numeric_gradient(lambda v: nd.prod(v, axis=1), [x], order=3, ctx=ctx)


def _grad(fn, a, ctx, head=None):
    x = nd.array(a, ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = fn(x)
    y.backward(head)
    return x.grad


def test_max_min_ties_share_the_gradient(ctx):
    a = np.array([[1, 3, 3, 2], [4, 4, 4, 0]], np.float32)
    assert_almost_equal(_grad(lambda x: nd.max(x, axis=1), a, ctx),
                        np.array([[0, .5, .5, 0], [1 / 3, 1 / 3, 1 / 3, 0]], np.float32))
    assert_almost_equal(_grad(lambda x: nd.min(x), a, ctx),
                        np.array([[0, 0, 0, 0], [0, 0, 0, 1]], np.float32))
    # max over all axes (MXNet: an empty axis reduces everything, even with exclude)
    assert_almost_equal(_grad(lambda x: nd.max(x, exclude=True, axis=()), a, ctx),
                        np.array([[0, 0, 0, 0], [1 / 3, 1 / 3, 1 / 3, 0]], np.float32))


def test_prod_gradient_with_zeros(ctx):
    # d/dx_i prod(x) = product of the others: exact with one zero and with two
    a = np.array([[2, 0, 3], [0, 0, 5], [1, 2, 4]], np.float32)
    expected = np.array([[0, 6, 0], [0, 0, 0], [8, 4, 2]], np.float32)
    g = _grad(lambda x: nd.prod(x, axis=1), a, ctx)
    assert_almost_equal(g, expected)
    assert g.dtype == np.float32


def test_prod_second_derivative_at_a_zero_raises_instead_of_lying(ctx):
    x = nd.array([[2.0, 0.0, 3.0]], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.prod(x, axis=1)
        g, = autograd.grad(y, [x], create_graph=True)
        s = (g * g).sum()
    assert_almost_equal(g, np.array([[0, 6, 0]], np.float32))       # the first order is exact
    with pytest.raises(NonDifferentiableError, match="operator prod is non-differentiable"):
        autograd.grad(s, [x])


def test_norm_gradient_at_zero_is_zero(ctx):
    a = np.array([[0, 0], [3, 4]], np.float32)
    assert_almost_equal(_grad(lambda x: nd.norm(x, axis=1), a, ctx),
                        np.array([[0, 0], [.6, .8]], np.float32))


def test_gradients_stay_float32(ctx):
    a = _data((3, 4)).astype(np.float32)
    for fn in (nd.sum, nd.mean, nd.max, nd.min, nd.prod, nd.norm, nd.nansum, nd.nanprod,
               lambda x: nd.norm(x, ord=1)):
        assert _grad(fn, a, ctx).dtype == np.float32


# -------------------------------------------------------------------- errors
def test_axis_out_of_range_names_the_operator(ctx):
    x = nd.ones((2, 3), ctx=ctx)
    with pytest.raises(ValueError, match=r"operator sum: axis 2 is out of range .* 2 dimensions"):
        nd.sum(x, axis=2)
    with pytest.raises(ValueError, match=r"operator max: axis -3 is out of range"):
        nd.max(x, axis=(0, -3))
    with pytest.raises(ValueError, match=r"operator argmax: axis 5 is out of range"):
        nd.argmax(x, axis=5)
    with pytest.raises(TypeError, match=r"operator argmax: axis must be an int or None"):
        nd.argmax(x, axis=(0, 1))
    with pytest.raises(ValueError, match=r"operator mean: axis \(1, -1\) repeats an axis"):
        nd.mean(x, axis=(1, -1))


def test_bad_norm_order_and_empty_reductions(ctx):
    with pytest.raises(ValueError, match=r"operator norm: ord must be 1 or 2, got 3"):
        nd.norm(nd.ones((2,), ctx=ctx), ord=3)
    with pytest.raises(ValueError, match=r"operator max: cannot reduce an array of shape \(0, 2\)"):
        nd.max(nd.zeros((0, 2), ctx=ctx), axis=0)
    with pytest.raises(ValueError, match=r"operator argmin: the input of shape \(0,\) is empty"):
        nd.argmin(nd.zeros((0,), ctx=ctx))
    with pytest.raises(TypeError, match=r"operator sum: expected an NDArray, got list"):
        nd.sum([1, 2])


# --------------------------------------------------------- PyTorch, float32
TORCH_CASES = [
    # (framework fn, torch fn)
    (lambda x: nd.sum(x, axis=1), lambda t, x: x.sum(dim=1)),
    (lambda x: nd.mean(x, axis=(0, 2), keepdims=True), lambda t, x: x.mean(dim=(0, 2), keepdim=True)),
    (lambda x: nd.max(x, axis=2), lambda t, x: x.amax(dim=2)),
    (lambda x: nd.min(x), lambda t, x: x.amin()),
    (lambda x: nd.prod(x, axis=1), lambda t, x: x.prod(dim=1)),
    (lambda x: nd.norm(x, axis=2), lambda t, x: t.linalg.vector_norm(x, ord=2, dim=2)),
    (lambda x: nd.norm(x, ord=1), lambda t, x: t.linalg.vector_norm(x, ord=1)),
    (lambda x: nd.nansum(x, axis=0), lambda t, x: x.nansum(dim=0)),
]


def _torch_compare(ctx, fn, tfn, a):
    torch = pytest.importorskip("torch")
    x = nd.array(a, ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = fn(x)
    rng = np.random.RandomState(1)
    head = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(nd.array(head, ctx=ctx))
    tx = torch.tensor(a, requires_grad=True)
    ty = tfn(torch, tx)
    ty.backward(torch.tensor(head).reshape(ty.shape))   # MXNet (1,) vs torch 0-d
    assert_almost_equal(y, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_almost_equal(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("index", range(len(TORCH_CASES)))
def test_matches_torch_float32(ctx, index):
    fn, tfn = TORCH_CASES[index]
    _torch_compare(ctx, fn, tfn, _data((2, 3, 4)).astype(np.float32))


def test_ties_and_zeros_match_torch(ctx):
    a = np.array([[1, 3, 3, 2], [0, 5, 0, 1], [2, 0, 3, 3]], np.float32)
    _torch_compare(ctx, lambda x: nd.max(x, axis=1), lambda t, x: x.amax(dim=1), a)
    _torch_compare(ctx, lambda x: nd.min(x, axis=0), lambda t, x: x.amin(dim=0), a)
    _torch_compare(ctx, lambda x: nd.prod(x, axis=1), lambda t, x: x.prod(dim=1), a)


def test_argmax_matches_torch(ctx):
    torch = pytest.importorskip("torch")
    a = _data((3, 4)).astype(np.float32)
    x = nd.array(a, ctx=ctx)
    assert_almost_equal(nd.argmax(x, axis=1), torch.tensor(a).argmax(dim=1).numpy().astype(np.float32))
    assert_almost_equal(nd.argmin(x, axis=0), torch.tensor(a).argmin(dim=0).numpy().astype(np.float32))


def test_float16_l2_norm_does_not_overflow(ctx):
    x = nd.array([300.0, 400.0], dtype="float16", ctx=ctx)     # 400**2 overflows float16
    out = nd.norm(x)
    assert out.dtype == np.float16
    assert_almost_equal(out, np.array([500.0], dtype=np.float16))
