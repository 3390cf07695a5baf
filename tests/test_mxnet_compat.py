"""MXNet 1.x behaviours of the core that MXNet's own unit tests rely on (issue 5, item 7):
test_utils' defaults and helpers, copies from flatten/expand_dims/squeeze, integer
division, ``out=`` of creation functions and samplers, seeding, relu's gradient at
NaN, and broadcast_like's axes.
"""
import numpy as np
import pytest

import framework as fw
from framework import autograd, nd
from framework import test_utils as tu
from framework.ndarray.ops.legacy import true_divide


# ------------------------------------------------------------------ test_utils
def test_assert_almost_equal_takes_none_as_the_dtypes_default():
    a = np.ones(4, np.float32)
    tu.assert_almost_equal(a, a + 9e-4, None, None)           # float32: atol 1e-3
    tu.assert_almost_equal(a, a * (1 + 9e-5), rtol=None, atol=0)
    with pytest.raises(AssertionError, match="rtol=0.0001, atol=0.001"):
        tu.assert_almost_equal(a, a + 3e-3)
    h = np.ones(3, np.float16)
    tu.assert_almost_equal(h, h + np.float16(0.05))           # float16: atol 1e-1
    d = np.ones(3)
    tu.assert_almost_equal(d, d * (1 + 5e-6))                 # float64: rtol 1e-5, atol 1e-20
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(d, d * (1 + 5e-5))
    with pytest.raises(AssertionError):                       # integers compare exactly
        tu.assert_almost_equal(np.array([3], np.int32), np.array([4], np.int32))


def test_tolerance_tables_are_mxnets():
    f16, f32, f64 = (np.dtype(t) for t in (np.float16, np.float32, np.float64))
    assert (tu.default_rtols()[f16], tu.default_rtols()[f32], tu.default_rtols()[f64]) == \
        (1e-2, 1e-4, 1e-5)
    assert (tu.default_atols()[f16], tu.default_atols()[f32], tu.default_atols()[f64]) == \
        (1e-1, 1e-3, 1e-20)
    # the looser dtype of the two decides; given numbers win
    assert tu.get_tols(np.ones(1, np.float32), np.ones(1), None, None) == (1e-4, 1e-3)
    assert tu.get_tols(np.ones(1, np.float32), np.ones(1), 0.5, 0.25) == (0.5, 0.25)
    assert tu.get_rtol() == 1e-5 and tu.get_atol() == 1e-20 and tu.get_etol() == 0


def test_assert_almost_equal_on_ndarrays_of_both_contexts(ctx):
    x = nd.array([1.0, 2.0, 3.0], ctx=ctx)
    tu.assert_almost_equal(x, x.asnumpy() + 5e-4)
    assert tu.almost_equal(x, x)
    assert not tu.almost_equal(x, x + 1)
    with pytest.raises(AssertionError, match=r"mine and ref differ .* 1 of 3 elements"):
        tu.assert_almost_equal(x, np.array([1.0, 2.0, 4.0]), names=("mine", "ref"))


def test_assert_almost_equal_broadcasts_one_way_only():
    tu.assert_almost_equal(np.ones((2, 3)), np.ones(3))        # a row against a matrix
    tu.assert_almost_equal(np.ones(1), 1.0)
    with pytest.raises(AssertionError, match="shape mismatch"):
        tu.assert_almost_equal(np.ones((3, 1)), np.ones(3))     # would expand both ways
    with pytest.raises(AssertionError, match="shape mismatch"):
        tu.assert_almost_equal(np.ones(2), np.ones(3), use_broadcast=False)


def test_nan_helpers_same_and_exceptions():
    a = np.array([1.0, np.nan, 3.0])
    b = np.array([1.0, 2.0, np.nan])
    tu.assert_almost_equal_ignore_nan(a, b)
    assert tu.almost_equal_ignore_nan(a, b)
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(a, b)
    tu.assert_almost_equal(a, a, equal_nan=True)
    assert tu.same(nd.array([1, 2]), np.array([1, 2], np.float32))
    assert not tu.same(np.array([1, 2]), np.array([1, 3]))
    tu.assert_exception(lambda: 1 / 0, ZeroDivisionError)
    with pytest.raises(AssertionError, match="did not raise"):
        tu.assert_exception(lambda: None, ValueError)
    idx, violation = tu.find_max_violation(np.array([1.0, 2.0]), np.array([1.0, 3.0]), 0.0, 0.5)
    assert idx == (1,) and violation == pytest.approx(2.0)


def test_retry_passes_when_one_try_passes():
    calls = []

    @tu.retry(3)
    def flaky():
        calls.append(1)
        assert len(calls) == 2

    flaky()
    assert len(calls) == 2


def test_contexts_and_gpu_list(ctx):
    assert list(tu.list_gpus()) == list(range(fw.num_gpus()))
    before = tu.default_context()
    try:
        tu.set_default_context(ctx)
        assert tu.default_context() is ctx
        assert nd.zeros((1,)).context is ctx                  # MXNet's rule: the global default
    finally:
        tu.set_default_context(before)
    assert tu.default_context() is before


def test_random_data_helpers(ctx):
    np.random.seed(0)
    for _ in range(20):
        shape = tu.rand_shape_nd(3, dim=4)
        assert len(shape) == 3 and all(1 <= d <= 4 for d in shape)
        assert all(1 <= d <= 5 for d in tu.rand_shape_2d(5, 5) + tu.rand_shape_3d(5, 5, 5))
        assert all(0 <= d <= 2 for d in tu.rand_shape_nd(4, 2, allow_zero_size=True))
    x = tu.rand_ndarray((2, 3), ctx=ctx)
    assert (x.shape, x.dtype, x.context) == ((2, 3), np.float32, ctx)
    assert tu.rand_ndarray((4,), dtype="float64", ctx=ctx).dtype == np.float64
    with pytest.raises(ValueError, match="storage type 'csr'"):
        tu.rand_ndarray((2, 2), stype="csr")
    a, b = tu.random_arrays((2,), (3, 1))
    assert a.shape == (2,) and b.shape == (3, 1) and a.dtype == np.float32
    assert sorted(tu.random_sample(list(range(5)), 5)) == list(range(5))
    assert tu.np_reduce(np.ones((2, 3, 4)), (0, 2), True, np.sum).shape == (1, 3, 1)


def test_same_array_tells_views_from_copies(ctx):
    x = nd.array(np.arange(6.0).reshape(2, 3), ctx=ctx)
    assert tu.same_array(x, x)
    assert not tu.same_array(x, x.copy())


def test_mean_and_variance_checks_of_samplers():
    fw.random.seed(3)
    assert tu.mean_check(lambda n: nd.random.normal(shape=(n,)), 0.0, 1.0, 20000)
    assert tu.var_check(lambda n: nd.random.normal(shape=(n,)), 1.0, 20000)
    assert not tu.mean_check(lambda n: nd.random.normal(0.1, 1.0, shape=(n,)), 0.0, 1.0, 20000)


def test_chi_square_checks_of_samplers():
    buckets, probs = tu.gen_buckets_probs_with_ppf(lambda q: q, 5)
    fw.random.seed(3)
    tu.verify_generator(lambda n: nd.random.uniform(shape=(n,)), buckets, probs,
                        nsamples=20000, nrepeat=3)
    with pytest.raises(AssertionError, match="chi-square tests passed"):
        tu.verify_generator(lambda n: nd.random.uniform(0, 0.5, shape=(n,)), buckets, probs,
                            nsamples=20000, nrepeat=3)
    counts = tu.chi_square_check(lambda n: nd.random.randint(0, 3, shape=(n,)), [0, 1, 2],
                                 [1 / 3] * 3, nsamples=3000)[1]
    assert counts.sum() == 3000


# ----------------------------------------- flatten, expand_dims, squeeze copy
COPIES = {
    "flatten": (lambda x: nd.flatten(x), (2, 3, 4)),
    "flatten method": (lambda x: x.flatten(), (2, 3, 4)),
    "expand_dims": (lambda x: nd.expand_dims(x, 1), (2, 3)),
    "expand_dims method": (lambda x: x.expand_dims(0), (2, 3)),
    "squeeze": (lambda x: nd.squeeze(x), (2, 1, 3)),
    "squeeze method": (lambda x: x.squeeze(axis=1), (2, 1, 3)),
}


@pytest.mark.parametrize("name", sorted(COPIES))
def test_flatten_expand_dims_squeeze_return_new_arrays(name, ctx):
    fn, shape = COPIES[name]
    x = nd.array(np.arange(np.prod(shape), dtype=np.float32).reshape(shape), ctx=ctx)
    y = fn(x)
    assert not tu.same_array(x.reshape(y.shape), y)
    assert y._version is not x._version
    y += 100                                          # writing the result leaves x alone
    tu.assert_almost_equal(x, np.arange(np.prod(shape), dtype=np.float32).reshape(shape))
    x.attach_grad()                                   # and the gradient still reshapes back
    with autograd.record():
        z = fn(x) * 2
    z.backward()
    tu.assert_almost_equal(x.grad, np.full(shape, 2.0, np.float32))
    tu.check_numeric_gradient(fn, [np.random.RandomState(0).randn(*shape)], order=2, ctx=ctx)


def test_reshape_still_shares_memory_as_in_mxnet(ctx):
    x = nd.array(np.arange(6.0).reshape(2, 3), ctx=ctx)
    y = x.reshape((3, 2))
    assert tu.same_array(x.reshape((3, 2)), y)
    y += 1
    tu.assert_almost_equal(x, np.arange(6.0).reshape(2, 3) + 1)


# -------------------------------------------------------------- int / int
def test_integer_division_truncates_toward_zero_as_mxnet(ctx):
    a = nd.array([7, -7, 6, -6, 0, 5], dtype="int32", ctx=ctx)
    b = nd.array([2, 2, -4, -4, 3, 5], dtype="int32", ctx=ctx)
    for got, want in ((a / b, [3, -3, -1, 1, 0, 1]), (nd.divide(a, b), [3, -3, -1, 1, 0, 1]),
                      (a / 2, [3, -3, 3, -3, 0, 2]), (14 / b, [7, 7, -3, -3, 4, 2]),
                      (true_divide(a, 2), [3, -3, 3, -3, 0, 2])):
        assert got.dtype == np.int32 and got.context is ctx
        assert got.asnumpy().tolist() == want
    c = nd.array([[9], [-9]], dtype="int64", ctx=ctx)       # broadcasting keeps the rule
    assert (c / nd.array([2, 4], dtype="int64", ctx=ctx)).asnumpy().tolist() == [[4, 2], [-4, -2]]
    u = nd.array([200, 7], dtype="uint8", ctx=ctx)
    assert (u / nd.array([3, 2], dtype="uint8", ctx=ctx)).asnumpy().tolist() == [66, 3]
    i = nd.array([9, -9], dtype="int32", ctx=ctx)
    i /= 2
    assert i.dtype == np.int32 and i.asnumpy().tolist() == [4, -4]


def test_integer_division_with_a_float_is_float32(ctx):
    a = nd.array([7, -7], dtype="int32", ctx=ctx)
    for got in (a / 2.0, 7.0 / a, a / nd.array([2.0, 2.0], ctx=ctx)):
        assert got.dtype == np.float32
    tu.assert_almost_equal(a / 2.0, np.array([3.5, -3.5], np.float32))


def test_integer_division_by_zero_raises(ctx):
    a = nd.array([1, 2], dtype="int32", ctx=ctx)
    with pytest.raises(ZeroDivisionError, match="operator divide: integer division by zero"):
        a / 0
    with pytest.raises(ZeroDivisionError, match="shape \\(2,\\) int32"):
        a / nd.array([1, 0], dtype="int32", ctx=ctx)


# ------------------------------------------------------------- out= of creation
@pytest.mark.parametrize("make,value", [
    (lambda out: nd.zeros((2, 3), out=out), 0),
    (lambda out: nd.ones((2, 3), out=out), 1),
    (lambda out: nd.full((2, 3), 7.5, out=out), 7.5),
], ids=["zeros", "ones", "full"])
def test_creation_functions_fill_out(make, value, ctx):
    out = nd.array(np.arange(6.0).reshape(2, 3), ctx=ctx)
    got = make(out)
    assert got is out
    tu.assert_almost_equal(out, np.full((2, 3), value, np.float32))
    ints = nd.zeros((2, 3), ctx=ctx, dtype="int32")
    assert make(ints).dtype == np.int32                  # out keeps its dtype
    assert ints.asnumpy().tolist() == np.full((2, 3), int(value)).tolist()


def test_creation_out_errors_and_eye(ctx):
    out = nd.zeros((2, 2), ctx=ctx)
    assert nd.eye(2, out=out) is out
    tu.assert_almost_equal(out, np.eye(2, dtype=np.float32))
    with pytest.raises(ValueError, match=r"ones: out has shape \(2, 2\), but the result has "
                                         r"shape \(3,\)"):
        nd.ones((3,), out=out)
    other = fw.cpu(0) if ctx.device_type == "gpu" else fw.gpu(0)
    with pytest.raises(ValueError, match="zeros: out is on"):
        nd.zeros((2, 2), ctx=other, out=out)
    with pytest.raises(TypeError, match="full: out must be an NDArray"):
        nd.full((2,), 1, out=np.zeros(2))
    v = nd.zeros((2, 2), ctx=ctx)
    v.attach_grad()
    with autograd.record(), pytest.raises(RuntimeError, match="in-place write to a variable"):
        nd.ones((2, 2), out=v)


SAMPLERS = {
    "uniform": lambda out: nd.random.uniform(-1, 1, out=out),
    "normal": lambda out: nd.random.normal(0, 1, out=out),
    "randn": lambda out: nd.random.randn(out=out),
    "exponential": lambda out: nd.random.exponential(2.0, out=out),
    "gamma": lambda out: nd.random.gamma(2.0, 1.0, out=out),
    "poisson": lambda out: nd.random.poisson(3.0, out=out),
    "negative_binomial": lambda out: nd.random.negative_binomial(3, 0.5, out=out),
    "generalized_negative_binomial":
        lambda out: nd.random.generalized_negative_binomial(2.0, 0.5, out=out),
    "randint": lambda out: nd.random.randint(0, 10, out=out),
    "shuffle": lambda out: nd.random.shuffle(nd.arange(12, ctx=out.context).reshape(3, 4),
                                             out=out),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_samplers_fill_out_with_its_shape_and_dtype(name, ctx):
    dtype = "int32" if name == "randint" else "float64"
    out = nd.zeros((3, 4), ctx=ctx, dtype=dtype)
    before = out.asnumpy().copy()
    got = SAMPLERS[name](out)
    assert got is out and out.shape == (3, 4) and out.dtype == np.dtype(dtype)
    assert not np.array_equal(out.asnumpy(), before)


def test_sampler_out_shape_mismatch(ctx):
    with pytest.raises(ValueError, match=r"random.normal: out has shape \(2,\), but the result "
                                         r"has shape \(3,\)"):
        nd.random.normal(shape=(3,), out=nd.zeros((2,), ctx=ctx))


# ------------------------------------------------------------------- seeding
def test_seed_accepts_any_int_as_mxnet_and_repeats(ctx):
    fw.random.seed(-5)
    a = nd.random.uniform(shape=(4,), ctx=ctx).asnumpy()
    fw.random.seed(2 ** 32 - 5)                    # MXNet's C int makes -5 this seed
    b = nd.random.uniform(shape=(4,), ctx=ctx).asnumpy()
    np.testing.assert_array_equal(a, b)
    fw.random.seed(2 ** 40 + 7)
    c = nd.random.normal(shape=(3,), ctx=ctx).asnumpy()
    fw.random.seed(7)
    np.testing.assert_array_equal(c, nd.random.normal(shape=(3,), ctx=ctx).asnumpy())
    fw.random.seed(11, ctx=ctx)                     # one context's generator
    d = nd.random.randint(0, 100, shape=(5,), ctx=ctx).asnumpy()
    fw.random.seed(11, ctx=ctx)
    np.testing.assert_array_equal(d, nd.random.randint(0, 100, shape=(5,), ctx=ctx).asnumpy())


@pytest.mark.parametrize("bad", [1.5, "3", None, True])
def test_seed_rejects_non_integers(bad):
    with pytest.raises(ValueError, match="random.seed: seed_state must be an int"):
        fw.random.seed(bad)


# ----------------------------------------------------------------------- relu
def test_relu_gradient_is_nan_at_nan(ctx):
    x = nd.array([np.nan, -1.0, 0.0, 2.0, np.inf], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.relu(x)
    y.backward()
    grad = x.grad.asnumpy()
    assert np.isnan(grad[0])
    assert grad[1:].tolist() == [0.0, 0.0, 1.0, 1.0]
    with autograd.record():                          # the Activation layer's path too
        z = nd.Activation(x, act_type="relu")
    z.backward()
    assert np.isnan(x.grad.asnumpy()[0])
    big = np.random.RandomState(0).standard_normal((300, 1000)).astype(np.float32)
    big[123, 456] = np.nan                           # a large array: split over threads
    x = nd.array(big, ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.relu(x)
    y.backward()
    expected = np.where(big > 0, 1.0, 0.0)
    expected[123, 456] = np.nan
    np.testing.assert_array_equal(x.grad.asnumpy(), expected)


def test_relu_second_order_still_zero(ctx):
    tu.check_numeric_gradient(lambda v: nd.relu(v) * v, [np.array([-1.5, -0.3, 0.4, 2.0])],
                              order=2, ctx=ctx)


# ------------------------------------------------------------- broadcast_like
def test_broadcast_like_rejects_empty_axes_as_mxnet(ctx):
    lhs, rhs = nd.ones((1, 3), ctx=ctx), nd.ones((2, 3), ctx=ctx)
    with pytest.raises(ValueError, match="operator broadcast_like: empty lhs_axes and rhs_axes"):
        nd.broadcast_like(lhs, rhs, lhs_axes=(), rhs_axes=())
    assert nd.broadcast_like(lhs, rhs, lhs_axes=(0,), rhs_axes=(0,)).shape == (2, 3)
    assert nd.broadcast_like(lhs, rhs, lhs_axes=0).shape == (2, 3)   # one side given: whole


def test_get_mnist_gives_mxnets_dict():
    data = tu.get_mnist()                          # conftest points FRAMEWORK_DATA at the files
    assert data["train_data"].shape == (60000, 1, 28, 28)
    assert data["test_data"].shape == (10000, 1, 28, 28)
    assert data["train_data"].dtype == np.float32 and 0 <= data["train_data"].min()
    assert data["train_data"].max() == 1.0
    assert data["train_label"].dtype == np.int8 and data["test_label"].shape == (10000,)
    assert set(np.unique(data["test_label"])) == set(range(10))


# ------------------------------------------- constant first derivatives
@pytest.mark.parametrize("fn", [lambda x: nd.radians(x), lambda x: x * 2, lambda x: x + 1],
                         ids=["radians", "times 2", "plus 1"])
def test_second_derivative_of_a_constant_first_derivative_is_zero(fn, ctx):
    x = nd.array([0.5, -1.0, 2.0], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        first = autograd.grad(fn(x), [x], create_graph=True)[0]
    first.backward()                               # MXNet gives zeros, not an error
    assert x.grad.asnumpy().tolist() == [0.0, 0.0, 0.0]
