"""NDArray basics: creation, dtypes, attributes, conversion, copies, repr, scalars."""
import operator
import pickle

import numpy as np
import pytest

import framework as fw
from framework import autograd, nd
from framework.test_utils import assert_almost_equal

DTYPES = ["float32", "float16", "float64", "int8", "int32", "int64", "uint8", "bool"]


# ------------------------------------------------------------------ creation
def test_array_defaults_to_float32(ctx):
    for src in ([1, 2, 3], (1, 2, 3), [[1.5, 2], [3, 4]], np.array([1, 2, 3]),
                np.array([1, 2, 3], dtype=np.int64), np.array([1., 2.], dtype=np.float64),
                np.array([True, False])):
        a = nd.array(src, ctx=ctx)
        assert a.dtype is np.float32, src
        assert a.context is ctx
        assert_almost_equal(a, np.asarray(src, dtype=np.float32))


def test_array_dtype_override_and_ndarray_source(ctx):
    a = nd.array(np.array([1.7, -2.2]), ctx=ctx, dtype="int32")
    assert a.dtype is np.int32
    assert a.asnumpy().tolist() == [1, -2]
    b = nd.array(nd.array([1, 2], dtype="int64", ctx=ctx))
    assert b.dtype is np.int64                            # an NDArray source keeps its dtype
    c = nd.array(b, dtype="float16")
    assert c.dtype is np.float16
    assert nd.array([1, 2], dtype=np.float64, ctx=ctx).dtype is np.float64


def test_array_copies_its_source(ctx):
    src = np.array([1., 2., 3.], dtype=np.float32)
    a = nd.array(src, ctx=ctx)
    src[0] = 100
    assert a.asnumpy()[0] == 1.0
    b = nd.array(a)
    b += 1
    assert a.asnumpy()[0] == 1.0


def test_array_bad_input():
    with pytest.raises(TypeError, match="unknown dtype"):
        nd.array([1, 2], dtype="float33")
    with pytest.raises(TypeError, match="array: cannot make an array"):
        nd.array([[1, 2], [3]])


def test_zeros_ones_full_empty(ctx):
    z = nd.zeros((2, 3), ctx=ctx)
    o = nd.ones(4, ctx=ctx, dtype="int32")
    f = nd.full((1, 2), 2.5, ctx=ctx, dtype="float16")
    e = nd.empty((3, 1), ctx=ctx)
    assert (z.shape, z.dtype, z.context) == ((2, 3), np.float32, ctx)
    assert (o.shape, o.dtype) == ((4,), np.int32)
    assert (f.shape, f.dtype) == ((1, 2), np.float16)
    assert (e.shape, e.dtype, e.context) == ((3, 1), np.float32, ctx)
    assert z.asnumpy().tolist() == [[0, 0, 0], [0, 0, 0]]
    assert o.asnumpy().tolist() == [1, 1, 1, 1]
    assert f.asnumpy().tolist() == [[2.5, 2.5]]
    assert nd.full(1, 2.0).asnumpy().tolist() == [2.0]           # MXNet's docs example
    with pytest.raises(ValueError, match=r"zeros: negative dimension in shape \(2, -1\)"):
        nd.zeros((2, -1))


def test_arange_matches_mxnet_docs(ctx):
    cases = [
        (nd.arange(3, ctx=ctx), [0., 1., 2.]),
        (nd.arange(2, 6, ctx=ctx), [2., 3., 4., 5.]),
        (nd.arange(2, 6, step=2, ctx=ctx), [2., 4.]),
        (nd.arange(2, 6, step=1.5, repeat=2, ctx=ctx), [2., 2., 3.5, 3.5, 5., 5.]),
    ]
    for a, expected in cases:
        assert a.dtype is np.float32
        assert a.asnumpy().tolist() == expected
    b = nd.arange(2, 6, step=2, repeat=3, dtype="int32", ctx=ctx)
    assert b.dtype is np.int32 and b.asnumpy().tolist() == [2, 2, 2, 4, 4, 4]


def test_linspace_and_eye(ctx):
    a = nd.linspace(0, 1, 5, ctx=ctx)
    assert a.dtype is np.float32 and a.context is ctx
    assert_almost_equal(a, np.array([0, .25, .5, .75, 1.], dtype=np.float32))
    b = nd.linspace(0, 1, 4, endpoint=False, ctx=ctx)
    assert_almost_equal(b, np.array([0, .25, .5, .75], dtype=np.float32))
    e = nd.eye(3, ctx=ctx)
    assert e.dtype is np.float32 and e.asnumpy().tolist() == np.eye(3).tolist()
    e2 = nd.eye(2, 3, 1, ctx=ctx, dtype="int32")
    assert e2.dtype is np.int32 and e2.asnumpy().tolist() == [[0, 1, 0], [0, 0, 1]]


def test_zeros_like_ones_like(ctx):
    a = nd.array([[1, 2, 3]], ctx=ctx, dtype="float64")
    z, o = nd.zeros_like(a), nd.ones_like(a)
    for arr, val in ((z, 0.), (o, 1.)):
        assert (arr.shape, arr.dtype, arr.context) == ((1, 3), np.float64, ctx)
        assert arr.asnumpy().tolist() == [[val] * 3]
    assert a.zeros_like().asnumpy().tolist() == [[0., 0., 0.]]
    assert a.ones_like().dtype is np.float64


def test_creation_inside_a_context_block():
    with fw.gpu(0):
        for a in (nd.zeros(2), nd.ones(2), nd.full(2, 3.), nd.empty(2), nd.arange(2),
                  nd.linspace(0, 1, 2), nd.eye(2), nd.array([1, 2]),
                  nd.random.uniform(shape=2), nd.random.normal(shape=2),
                  nd.random.randint(0, 3, shape=2)):
            assert a.context is fw.gpu(0)
    assert nd.zeros(2).context is fw.cpu(0)


# ------------------------------------------------------------------- random
def test_random_uniform_normal_randint(ctx):
    fw.random.seed(0)
    u = nd.random.uniform(-2, 3, shape=(200,), ctx=ctx)
    assert (u.shape, u.dtype, u.context) == ((200,), np.float32, ctx)
    un = u.asnumpy()
    assert un.min() >= -2 and un.max() < 3 and un.std() > 1
    n = nd.random.normal(1.0, 0.5, shape=(100, 100), ctx=ctx)
    assert n.dtype is np.float32
    assert abs(n.asnumpy().mean() - 1.0) < 0.02 and abs(n.asnumpy().std() - 0.5) < 0.02
    r = nd.random.randint(-3, 4, shape=(500,), ctx=ctx)
    assert r.dtype is np.int32
    assert set(np.unique(r.asnumpy()).tolist()) == set(range(-3, 4))
    assert nd.random.uniform(shape=(2, 2), dtype="float64", ctx=ctx).dtype is np.float64
    assert nd.random.uniform(ctx=ctx).shape == (1,)


def test_random_shuffle_permutes_rows(ctx):
    fw.random.seed(1)
    a = nd.array(np.arange(20).reshape(10, 2), ctx=ctx)
    s = nd.random.shuffle(a)
    assert s.context is ctx and s.shape == (10, 2)
    rows = s.asnumpy()
    assert sorted(rows[:, 0].tolist()) == list(range(0, 20, 2))
    assert (rows[:, 1] == rows[:, 0] + 1).all()               # rows stay whole
    assert rows[:, 0].tolist() != list(range(0, 20, 2))      # 1 / 10! chance of equality
    assert a.asnumpy()[:, 0].tolist() == list(range(0, 20, 2))   # the input is untouched


def test_random_shuffle_gradients_take_the_rows_back(ctx):
    """First order: row i of the input gets the gradient of the row it went to. Second
    order, closed form: for y = shuffle(x), g = d sum(y^2 w) / dx = 2 x v (v[order] = w),
    so d sum(g^2) / dx = 8 x v^2."""
    fw.random.seed(4)
    base = np.arange(1, 13, dtype=np.float64).reshape(6, 2)       # distinct rows
    w = np.random.RandomState(0).rand(6, 2)
    x = nd.array(base, ctx=ctx, dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = nd.random.shuffle(x)
        first = (y * nd.array(w, ctx=ctx, dtype="float64")).sum()
    first.backward()
    order = [int(np.flatnonzero((base == row).all(axis=1))[0]) for row in y.asnumpy()]
    v = np.empty_like(w)
    v[order] = w
    np.testing.assert_array_equal(x.grad.asnumpy(), v)
    with autograd.record():
        y = nd.random.shuffle(x)
        g = autograd.grad((y * y * nd.array(w, ctx=ctx, dtype="float64")).sum(), [x],
                          create_graph=True)[0]
        second = (g * g).sum()
    second.backward()
    order = [int(np.flatnonzero((base == row).all(axis=1))[0]) for row in y.asnumpy()]
    v[order] = w
    np.testing.assert_allclose(g.asnumpy(), 2 * base * v, rtol=1e-12)
    np.testing.assert_allclose(x.grad.asnumpy(), 8 * base * v * v, rtol=1e-12)


LIKE_SAMPLERS = [("uniform", dict(low=-1.0, high=2.0)), ("normal", dict(loc=1.0, scale=0.5)),
                 ("gamma", dict(alpha=2.0, beta=0.5)), ("poisson", dict(lam=3.0)),
                 ("negative_binomial", dict(k=3, p=0.4)),
                 ("generalized_negative_binomial", dict(mu=2.0, alpha=0.3))]


@pytest.mark.parametrize("sampler,args", LIKE_SAMPLERS, ids=[s for s, _ in LIKE_SAMPLERS])
def test_like_samplers_draw_as_their_samplers_with_zero_gradient(sampler, args, ctx):
    """``nd.random.<name>_like(data)``: what ``<name>(shape=data.shape, dtype=data.dtype)``
    draws under the same seed, on data's context, also into ``out=``; the samples are
    constants (data's gradient is 0)."""
    data = nd.ones((3, 4), ctx=ctx, dtype="float64")
    fw.random.seed(5)
    want = getattr(nd.random, sampler)(shape=(3, 4), dtype="float64", ctx=ctx, **args)
    fw.random.seed(5)
    data.attach_grad()
    with autograd.record():
        got = getattr(nd.random, sampler + "_like")(data, **args)
        (got * data).sum().backward()
    assert (got.shape, got.dtype, got.context) == ((3, 4), np.float64, ctx)
    np.testing.assert_array_equal(got.asnumpy(), want.asnumpy())
    np.testing.assert_array_equal(data.grad.asnumpy(), got.asnumpy())   # d(s*d)/dd = s
    out = nd.zeros((3, 4), ctx=ctx, dtype="float64")
    fw.random.seed(5)
    assert getattr(nd.random, sampler + "_like")(data, out=out, **args) is out
    np.testing.assert_array_equal(out.asnumpy(), want.asnumpy())
    fw.random.seed(5)
    rate = nd.random.exponential_like(data, lam=4.0)
    fw.random.seed(5)
    np.testing.assert_array_equal(rate.asnumpy(),
                                  nd.random.exponential(0.25, (3, 4), "float64", ctx).asnumpy())


def test_seed_makes_random_reproducible(ctx):
    def draw():
        return [nd.random.uniform(shape=(5,), ctx=ctx).asnumpy(),
                nd.random.normal(shape=(5,), ctx=ctx).asnumpy(),
                nd.random.randint(0, 1000, shape=(5,), ctx=ctx).asnumpy(),
                nd.random.shuffle(nd.arange(10, ctx=ctx)).asnumpy()]

    fw.random.seed(42)
    first = draw()
    fw.random.seed(42)
    second = draw()
    fw.random.seed(43)
    third = draw()
    for a, b in zip(first, second):
        assert (a == b).all()
    assert not all((a == c).all() for a, c in zip(first, third))
    nd.random.seed(42)                      # the same generator through nd.random
    assert (nd.random.uniform(shape=(5,), ctx=ctx).asnumpy() == first[0]).all()


# ------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype(dtype, ctx):
    values = [0, 1, 1, 0] if dtype == "bool" else [1, 2, 3, 4]
    a = nd.array(values, ctx=ctx, dtype=dtype)
    assert a.dtype is np.dtype(dtype).type
    assert a.asnumpy().dtype == np.dtype(dtype)
    assert a.asnumpy().tolist() == np.array(values, dtype=dtype).tolist()
    for made in (nd.zeros((2,), ctx=ctx, dtype=dtype), nd.ones((2,), ctx=ctx, dtype=dtype),
                 nd.empty((2,), ctx=ctx, dtype=dtype), nd.full((2,), 1, ctx=ctx, dtype=dtype),
                 a.astype("float32").astype(dtype), a.copy(), nd.zeros_like(a)):
        assert made.dtype is np.dtype(dtype).type
    if dtype != "bool":
        b = a + a
        assert b.dtype is np.dtype(dtype).type
        assert b.asnumpy().tolist() == (np.array(values, dtype=dtype) * 2).tolist()
        assert (a * 2).dtype is np.dtype(dtype).type            # Python ints never upcast
        c = a == 2
        assert c.dtype is np.dtype(dtype).type and c.asnumpy().tolist() == [0, 1, 0, 0]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_float_dtypes_survive_python_and_numpy_scalars(dtype, ctx):
    a = nd.array([1., 2.], ctx=ctx, dtype=dtype)
    for r in (a * 2.5, 2.5 * a, a / 3, 1 / a, a ** 2.0, a - np.float64(1.5), np.float64(2) * a,
              a + np.float32(1), a % 1.5, 2.0 ** a):
        assert r.dtype is np.dtype(dtype).type


# ---------------------------------------------------------------- attributes
def test_shape_ndim_size_dtype_context(ctx):
    a = nd.zeros((2, 3, 4), ctx=ctx)
    assert a.shape == (2, 3, 4) and isinstance(a.shape, tuple)
    assert a.ndim == 3 and a.size == 24
    assert a.dtype is np.float32
    assert a.context is ctx and a.ctx is ctx
    assert len(a) == 2
    assert a.stype == "default"
    s = nd.zeros((), ctx=ctx)
    assert s.shape == () and s.ndim == 0 and s.size == 1
    with pytest.raises(TypeError, match="len"):
        len(s)


def test_asnumpy_returns_a_host_copy(ctx):
    a = nd.array([[1, 2], [3, 4]], ctx=ctx)
    h = a.asnumpy()
    assert type(h) is np.ndarray and h.dtype == np.float32
    h[0, 0] = 100
    assert a.asnumpy()[0, 0] == 1


def test_asscalar(ctx):
    for shape in ((1,), (1, 1), ()):
        a = nd.full(shape, 3.5, ctx=ctx)
        v = a.asscalar()
        assert v == 3.5 and isinstance(v, np.float32)
    assert nd.array([7], dtype="int32", ctx=ctx).asscalar().dtype == np.int32
    assert float(nd.array([2.5], ctx=ctx)) == 2.5
    assert int(nd.array([3], ctx=ctx)) == 3
    assert bool(nd.array([1], ctx=ctx)) and not bool(nd.array([0], ctx=ctx))
    with pytest.raises(ValueError, match=r"asscalar: the array has shape \(2,\)"):
        nd.array([1, 2], ctx=ctx).asscalar()
    with pytest.raises(TypeError, match=r"only one-element NDArrays.*\(2, 2\)"):
        float(nd.zeros((2, 2), ctx=ctx))
    with pytest.raises(ValueError, match=r"truth value of an NDArray with multiple elements "
                                         r"\(shape \(2,\)\) is ambiguous"):
        bool(nd.array([1, 2], ctx=ctx))


def test_astype(ctx):
    a = nd.array([1.7, -2.2, 3.], ctx=ctx)
    b = a.astype("int32")
    assert b.dtype is np.int32 and b.asnumpy().tolist() == [1, -2, 3]
    assert a.astype(np.float64).dtype is np.float64
    assert a.astype("float32", copy=False) is a
    c = a.astype("float32")
    assert c is not a
    c += 1
    assert a.asnumpy()[0] == pytest.approx(1.7)


def test_copy_is_deep(ctx):
    a = nd.array([1, 2, 3], ctx=ctx)
    b = a.copy()
    assert b.context is ctx and b.dtype is a.dtype
    b += 10
    assert a.asnumpy().tolist() == [1, 2, 3]
    assert b.asnumpy().tolist() == [11, 12, 13]


def test_copyto_an_array_and_a_context(ctx):
    a = nd.array([1, 2, 3], ctx=ctx)
    target = nd.zeros((3,), ctx=ctx, dtype="float64")
    out = a.copyto(target)
    assert out is target and target.dtype is np.float64
    assert target.asnumpy().tolist() == [1, 2, 3]
    c = a.copyto(ctx)
    assert c is not a and c.context is ctx
    c += 1
    assert a.asnumpy().tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match=r"copyto: shape mismatch, source \(3,\) vs target \(2,\)"):
        a.copyto(nd.zeros((2,), ctx=ctx))
    with pytest.raises(TypeError, match="copyto: expected an NDArray or a Context"):
        a.copyto("cpu")


def test_as_in_context(ctx):
    a = nd.array([1, 2], ctx=ctx)
    assert a.as_in_context(ctx) is a
    other = fw.cpu(0) if ctx is fw.gpu(0) else fw.gpu(0)
    b = a.as_in_context(other)
    assert b.context is other and b.asnumpy().tolist() == [1, 2]
    assert b.dtype is np.float32


def test_wait_to_read_and_waitall(ctx):
    a = nd.ones((2,), ctx=ctx) * 3
    assert a.wait_to_read() is None
    assert nd.waitall() is None
    assert a.asnumpy().tolist() == [3, 3]


def test_pickle_round_trip(ctx):
    a = nd.array([[1, 2], [3, 4]], ctx=ctx, dtype="float64")
    b = pickle.loads(pickle.dumps(a))
    assert b.context is ctx and b.dtype is np.float64
    assert b.asnumpy().tolist() == [[1, 2], [3, 4]]


# --------------------------------------------------------------------- repr
def test_repr_matches_mxnet():
    cases = [
        (nd.array([1, 2, 3, 4]) * 2, "\n[2. 4. 6. 8.]\n<NDArray 4 @cpu(0)>"),
        (nd.array([[0, 1, 2], [3, 4, 5]]), "\n[[0. 1. 2.]\n [3. 4. 5.]]\n<NDArray 2x3 @cpu(0)>"),
        (nd.zeros((2, 1, 2)), "\n[[[0. 0.]]\n\n [[0. 0.]]]\n<NDArray 2x1x2 @cpu(0)>"),
        (nd.array([1, 2, 3], dtype="int32"), "\n[1 2 3]\n<NDArray 3 @cpu(0)>"),
        (nd.array([1.5, -2]), "\n[ 1.5 -2. ]\n<NDArray 2 @cpu(0)>"),
        (nd.array([0.5], ctx=fw.gpu(0)), "\n[0.5]\n<NDArray 1 @gpu(0)>"),
        (nd.ones((1, 1), ctx=fw.gpu(1)), "\n[[1.]]\n<NDArray 1x1 @gpu(1)>"),
    ]
    for a, expected in cases:
        assert repr(a) == expected
        assert str(a) == expected


def test_print_of_the_seed_example(capsys):
    x = nd.array([2, 4, 6, 8])
    print(x)
    assert capsys.readouterr().out == "\n[2. 4. 6. 8.]\n<NDArray 4 @cpu(0)>\n"


# ------------------------------------------------------- operators and scalars
BINARY = [
    (operator.add, np.add), (operator.sub, np.subtract), (operator.mul, np.multiply),
    (operator.truediv, np.true_divide), (operator.mod, np.mod), (operator.pow, np.power),
]
COMPARE = [
    (operator.eq, np.equal), (operator.ne, np.not_equal), (operator.lt, np.less),
    (operator.le, np.less_equal), (operator.gt, np.greater), (operator.ge, np.greater_equal),
]


@pytest.mark.parametrize("op,ref", BINARY + COMPARE,
                         ids=[o.__name__ for o, _ in BINARY + COMPARE])
def test_python_scalars_on_either_side(op, ref, ctx):
    host = np.array([[0.5, 1., 2.], [3., 1.5, 2.5]], dtype=np.float32)
    a = nd.array(host, ctx=ctx)
    for scalar in (2, 1.5, np.float64(2.0)):
        for result, expected in ((op(a, scalar), ref(host, np.float32(scalar))),
                                 (op(scalar, a), ref(np.float32(scalar), host))):
            assert result.dtype is np.float32
            assert result.context is ctx
            assert_almost_equal(result, expected.astype(np.float32), rtol=1e-6)


@pytest.mark.parametrize("op,ref", BINARY + COMPARE,
                         ids=[o.__name__ for o, _ in BINARY + COMPARE])
def test_array_operators_broadcast(op, ref, ctx):
    ha = np.array([[0.5, 1., 2.], [3., 1.5, 2.5]], dtype=np.float32)
    hb = np.array([1.5, 2., 0.5], dtype=np.float32)
    r = op(nd.array(ha, ctx=ctx), nd.array(hb, ctx=ctx))
    assert r.shape == (2, 3) and r.dtype is np.float32
    assert_almost_equal(r, ref(ha, hb).astype(np.float32), rtol=1e-6)


def test_comparisons_return_zeros_and_ones_in_the_input_dtype(ctx):
    a = nd.array([1, 2, 3], ctx=ctx)
    assert (a == 2).asnumpy().tolist() == [0., 1., 0.]
    assert (2 < a).asnumpy().tolist() == [0., 0., 1.]
    assert (a >= 2).dtype is np.float32
    i = nd.array([1, 2, 3], ctx=ctx, dtype="int64")
    assert (i != 2).dtype is np.int64 and (i != 2).asnumpy().tolist() == [1, 0, 1]


def test_unary_operators(ctx):
    a = nd.array([-1.5, 2.], ctx=ctx)
    assert (-a).asnumpy().tolist() == [1.5, -2.]
    assert (+a) is a
    assert abs(a).asnumpy().tolist() == [1.5, 2.]


def test_in_place_operators_keep_the_array(ctx):
    a = nd.array([1., 2., 4.], ctx=ctx)
    ident = id(a)
    a += 1
    a -= 0.5
    a *= 4
    a /= 2
    a **= 2
    a %= 7
    assert id(a) == ident and a.dtype is np.float32
    expected = np.mod(((np.array([1., 2., 4.]) + 0.5) * 2) ** 2, 7)
    assert_almost_equal(a, expected.astype(np.float32))
    i = nd.array([1, 2], ctx=ctx, dtype="int32")
    i += 3
    assert i.dtype is np.int32 and i.asnumpy().tolist() == [4, 5]
    with pytest.raises(ValueError, match=r"\+=: the result of shape \(2, 2\) does not fit"):
        i += nd.ones((2, 2), ctx=ctx, dtype="int32")


def test_operator_with_unsupported_operand():
    a = nd.array([1., 2.])
    with pytest.raises(TypeError):
        a + "x"
    with pytest.raises(TypeError):
        a * [1, 2]


def test_mismatched_shapes_name_the_operator(ctx):
    with pytest.raises(ValueError, match=r"operator add: operands array of shape \(2, 3\) float32 "
                                         r"and array of shape \(4,\) float32: operands could not "
                                         r"be broadcast"):
        nd.ones((2, 3), ctx=ctx) + nd.ones((4,), ctx=ctx)


def test_numpy_arrays_defer_to_ndarray():
    a = nd.array([1., 2.])
    r = np.float32(2) + a
    assert isinstance(r, fw.NDArray) and r.dtype is np.float32


@pytest.mark.parametrize("make,message", [
    (lambda: nd.arange(0, 5, 0), r"arange: step must not be zero"),
    (lambda: nd.arange(0, 5, repeat=0), r"arange: repeat must be at least 1"),
    (lambda: nd.linspace(0, 1, -1), r"linspace: num must be non-negative, got -1"),
    (lambda: nd.eye(-1), r"eye: N and M must be non-negative"),
    (lambda: nd.random.randint(5, 1, shape=(2,)), r"randint: low \(5\) must be less than high \(1\)"),
    (lambda: nd.broadcast_axes(nd.ones((1, 2)), axis=7, size=5),
     r"broadcast_axes: axis 7 is out of range for an array of 2 dimensions"),
    (lambda: nd.broadcast_like(nd.ones((1, 2)), nd.ones((3, 2)), lhs_axes=(5,), rhs_axes=(0,)),
     r"broadcast_like: axis 5 is out of range"),
    (lambda: nd.array([1, 2], dtype="int32") ** -1, r"operator power: operands array of shape \(2,\) "
                                                     r"int32 and scalar -1"),
])
def test_bad_arguments_give_clear_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_types_give_clear_errors():
    with pytest.raises(OverflowError, match=r"operator multiply: operands array of shape \(2,\) "
                                            r"uint8 and scalar 300"):
        nd.array([1, 2], dtype="uint8") * 300
    with pytest.raises(TypeError, match=r"unknown dtype 'foo'"):
        nd.ones((2,)).astype("foo")
    with pytest.raises(TypeError, match=r"operator topk: k must be an integer, got 1.5"):
        nd.topk(nd.ones((3,)), k=1.5)


def test_every_ndarray_method_forwards_to_its_operator():
    from framework.ndarray.methods import _FORWARDED
    assert [m for m in _FORWARDED if not callable(getattr(nd, m, None))] == []
    x = nd.arange(16).reshape((1, 4, 2, 2))
    assert_almost_equal(x.depth_to_space(2), nd.depth_to_space(x, 2))
    assert_almost_equal(x.reshape((4, 4)).argmax_channel(), np.full(4, 3.0, np.float32))
