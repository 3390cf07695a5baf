"""Broadcasting, casts and copies (ops/broadcast.py, ops/convert.py): values and gradients."""
import numpy as np
import pytest

from framework import autograd, nd
from framework.test_utils import assert_almost_equal, check_numeric_gradient

RNG = np.random.RandomState(7)


def _r(*shape):
    return RNG.uniform(-1.0, 1.0, size=shape)


BROADCASTS = {
    "broadcast_to": (lambda x: nd.broadcast_to(x, (2, 3, 4)), (3, 1), lambda a: np.broadcast_to(a, (2, 3, 4))),
    "broadcast_to_zero_keeps": (lambda x: nd.broadcast_to(x, (0, 4)), (3, 1), lambda a: np.broadcast_to(a, (3, 4))),
    "broadcast_like": (lambda x: nd.broadcast_like(x, nd.zeros((2, 3), ctx=x.context)), (1, 3),
                       lambda a: np.broadcast_to(a, (2, 3))),
    "broadcast_like_axes": (lambda x: nd.broadcast_like(x, nd.zeros((5, 2), ctx=x.context), lhs_axes=(0,),
                                                        rhs_axes=(1,)), (1, 3), lambda a: np.broadcast_to(a, (2, 3))),
    "broadcast_axes": (lambda x: nd.broadcast_axes(x, axis=(0, 2), size=(2, 3)), (1, 2, 1),
                       lambda a: np.broadcast_to(a, (2, 2, 3))),
    "broadcast_axis_int": (lambda x: nd.broadcast_axis(x, axis=1, size=4), (2, 1), lambda a: np.broadcast_to(a, (2, 4))),
    "sum_to": (lambda x: nd.sum_to(x, (1, 3)), (2, 3), lambda a: a.sum(axis=0, keepdims=True)),
}


@pytest.mark.parametrize("name", sorted(BROADCASTS))
def test_forward_matches_numpy(ctx, name):
    fn, shape, ref = BROADCASTS[name]
    a = _r(*shape).astype(np.float32)
    out = fn(nd.array(a, ctx=ctx))
    assert out.dtype == np.float32 and out.context == ctx
    assert_almost_equal(out, ref(a), rtol=1e-6)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", sorted(BROADCASTS))
def test_gradients_match_finite_differences(ctx, name, order):
    fn, shape, _ = BROADCASTS[name]
    # squared, so that the second derivative goes through the backward rule itself
    check_numeric_gradient(lambda x: fn(x) ** 2, [_r(*shape)], order=order, ctx=ctx)


def test_broadcast_to_incompatible_shape_names_op_and_shapes(ctx):
    with pytest.raises(ValueError, match=r"broadcast_to: cannot broadcast shape \(3, 2\) to \(3, 4\)"):
        nd.broadcast_to(nd.ones((3, 2), ctx=ctx), (3, 4))
    with pytest.raises(ValueError, match=r"broadcast_to: target shape \(4,\) has fewer dimensions"):
        nd.broadcast_to(nd.ones((3, 2), ctx=ctx), (4,))


def test_broadcast_matches_torch_float32(ctx):
    torch = pytest.importorskip("torch")
    a = _r(3, 1).astype(np.float32)
    head = _r(2, 3, 4).astype(np.float32)
    x = nd.array(a, ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.broadcast_to(x, (2, 3, 4))
    y.backward(nd.array(head, ctx=ctx))
    tx = torch.tensor(a, requires_grad=True)
    ty = tx.expand(2, 3, 4)
    ty.backward(torch.tensor(head))
    assert_almost_equal(y, ty.detach().numpy())
    assert_almost_equal(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float16", "float64", "int32", "uint8", "bool"])
def test_cast_and_astype_forward(ctx, dtype):
    a = np.array([[0.0, 1.7], [2.2, 3.0]], dtype=np.float32)
    x = nd.array(a, ctx=ctx)
    for out in (nd.cast(x, dtype), x.astype(dtype)):
        assert out.dtype == np.dtype(dtype).type
        assert_almost_equal(out, a.astype(dtype))


@pytest.mark.parametrize("order", [1, 2])
def test_cast_between_float_types_is_differentiable(ctx, order):
    # a float32 step in the middle: a large eps keeps the finite differences above its
    # rounding, and is exact for this quadratic
    check_numeric_gradient(lambda x: nd.cast(x * x, "float32").astype("float64") * 3.0,
                           [_r(2, 3)], order=order, ctx=ctx, eps=1e-2, rtol=1e-3, atol=1e-4)


def test_cast_gradient_comes_back_in_the_input_dtype(ctx):
    x = nd.array([1.0, 2.0], ctx=ctx, dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = x.astype("float32") * 2
    y.backward()
    assert x.grad.dtype == np.float64
    assert_almost_equal(x.grad, np.array([2.0, 2.0]))


def test_cast_to_integer_carries_no_gradient(ctx):
    x = nd.array([1.5, 2.5], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = x.astype("int32").astype("float32") * x
    y.backward()
    assert_almost_equal(x.grad, np.array([1.0, 2.0]))      # only the direct path


@pytest.mark.parametrize("order", [1, 2])
def test_copy_and_identity_pass_gradients(ctx, order):
    check_numeric_gradient(lambda x: nd.copy(x) * nd.identity(x) + x.copy(), [_r(3)],
                           order=order, ctx=ctx)


def test_copy_is_independent_memory(ctx):
    x = nd.array([1.0, 2.0], ctx=ctx)
    y = x.copy()
    y[:] = 5.0
    assert_almost_equal(x, np.array([1.0, 2.0]))


def test_like_constructors(ctx):
    x = nd.array([[1, 2, 3]], ctx=ctx, dtype="float16")
    for out, value in ((nd.zeros_like(x), 0), (nd.ones_like(x), 1), (nd.full_like(x, 7), 7),
                       (x.zeros_like(), 0), (x.ones_like(), 1)):
        assert out.shape == (1, 3) and out.dtype == np.float16 and out.context == ctx
        assert_almost_equal(out, np.full((1, 3), value, np.float16))


def test_stop_gradient_blocks_the_gradient_and_keeps_the_value(ctx):
    x = nd.array([1.0, 2.0, 3.0], ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.stop_gradient(x * x) * x + nd.BlockGrad(x)
    y.backward()
    assert_almost_equal(y, np.array([2.0, 10.0, 30.0]))
    assert_almost_equal(x.grad, np.array([1.0, 4.0, 9.0]))     # only through the last x


def test_mxnet_camelcase_names_are_the_same_operators(ctx):
    x = nd.array(np.arange(24, dtype=np.float32).reshape(2, 3, 4), ctx=ctx)
    assert_almost_equal(nd.Reshape(x, shape=(0, -1)), nd.reshape(x, (0, -1)))
    assert_almost_equal(nd.Flatten(x), nd.flatten(x))
    assert_almost_equal(nd.Concat(x, x, dim=2), nd.concat(x, x, dim=2))
    assert_almost_equal(nd.SwapAxis(x, 0, 2), nd.swapaxes(x, 0, 2))
    assert_almost_equal(nd.SliceChannel(x, 2, axis=2)[1], nd.split(x, 2, axis=2)[1])
    assert nd.Cast(x, "float16").dtype == np.float16
    padded = nd.Pad(nd.reshape(x, (1, 2, 3, 4)), mode="constant", pad_width=(0, 0, 0, 0, 1, 1, 1, 1))
    assert padded.shape == (1, 2, 5, 6)
