"""dot, batch_dot and nd.linalg.gemm/gemm2: forward against NumPy, gradients to second order."""
import importlib

import numpy as np
import pytest

import framework as fw
from framework import nd

# the nd.linalg namespace (framework/ndarray/linalg.py); importing it by its full
# name makes sure ``nd.linalg`` is that module, not the ops module of the same name
nd_linalg = importlib.import_module("framework.ndarray.linalg")
from framework.test_utils import assert_almost_equal, check_numeric_gradient

rng = np.random.RandomState(7)


def _r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def _t(a, flag):
    return np.swapaxes(a, -1, -2) if flag else a


# ----------------------------------------------------------------- forward
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_dot_2d_transposes(ctx, ta, tb):
    a = _r(3, 4) if ta else _r(4, 3)
    b = _r(5, 3) if tb else _r(3, 5)
    out = nd.dot(nd.array(a, ctx=ctx), nd.array(b, ctx=ctx), transpose_a=ta, transpose_b=tb)
    assert out.shape == (4, 5) and out.dtype == np.float32 and out.context == ctx
    assert_almost_equal(out, _t(a, ta) @ _t(b, tb), rtol=1e-5, atol=1e-6)


def test_dot_vectors_and_mixed(ctx):
    u, v, m = _r(4), _r(4), _r(4, 3)
    out = nd.dot(nd.array(u, ctx=ctx), nd.array(v, ctx=ctx))
    assert out.shape == (1,)              # MXNet 1.x: no 0-d arrays
    assert_almost_equal(out, np.dot(u, v), rtol=1e-5)
    assert_almost_equal(nd.dot(nd.array(u, ctx=ctx), nd.array(m, ctx=ctx)), u @ m, rtol=1e-5)
    assert_almost_equal(nd.dot(nd.array(m.T, ctx=ctx), nd.array(u, ctx=ctx)), m.T @ u, rtol=1e-5)


def test_dot_nd_contracts_last_and_first_axes(ctx):
    a, b = _r(2, 3, 4), _r(4, 2, 5)
    out = nd.dot(nd.array(a, ctx=ctx), nd.array(b, ctx=ctx))
    assert out.shape == (2, 3, 2, 5)
    assert_almost_equal(out, np.tensordot(a, b, axes=([2], [0])), rtol=1e-5, atol=1e-6)
    # transpose_a on N-D contracts the first axis of lhs (MXNet reshapes to (k, rest))
    at = _r(4, 2, 3)
    out = nd.dot(nd.array(at, ctx=ctx), nd.array(b, ctx=ctx), transpose_a=True)
    assert out.shape == (2, 3, 2, 5)
    assert_almost_equal(out, np.tensordot(at, b, axes=([0], [0])), rtol=1e-5, atol=1e-6)
    bt = _r(2, 5, 4)
    out = nd.dot(nd.array(a, ctx=ctx), nd.array(bt, ctx=ctx), transpose_b=True)
    assert out.shape == (2, 3, 2, 5)
    assert_almost_equal(out, np.tensordot(a, bt, axes=([2], [2])), rtol=1e-5, atol=1e-6)


def test_dot_method_and_float64(ctx):
    a, b = np.arange(6.).reshape(2, 3), np.arange(3.)
    x = nd.array(a, ctx=ctx, dtype="float64")
    out = x.dot(nd.array(b, ctx=ctx, dtype="float64"))
    assert out.dtype == np.float64
    assert_almost_equal(out, a @ b)


@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_batch_dot(ctx, ta, tb):
    a = _r(2, 4, 3) if ta else _r(2, 3, 4)
    b = _r(2, 5, 4) if tb else _r(2, 4, 5)
    out = nd.batch_dot(nd.array(a, ctx=ctx), nd.array(b, ctx=ctx), transpose_a=ta, transpose_b=tb)
    assert out.shape == (2, 3, 5)
    assert_almost_equal(out, np.matmul(_t(a, ta), _t(b, tb)), rtol=1e-5, atol=1e-6)


def test_gemm2_and_gemm(ctx):
    a, b, c = _r(2, 3, 4), _r(2, 5, 4), _r(2, 3, 5)
    out = nd.linalg.gemm2(nd.array(a, ctx=ctx), nd.array(b, ctx=ctx), transpose_b=True, alpha=2.0)
    assert out.dtype == np.float32
    assert_almost_equal(out, 2.0 * a @ _t(b, True), rtol=1e-5, atol=1e-5)
    out = nd_linalg.gemm(nd.array(a, ctx=ctx), nd.array(b, ctx=ctx), nd.array(c, ctx=ctx),
                         transpose_b=True, alpha=0.5, beta=-1.5)
    assert_almost_equal(out, 0.5 * a @ _t(b, True) - 1.5 * c, rtol=1e-5, atol=1e-5)
    # plain 2-D matrices, and the nd.linalg_* aliases
    m, n = _r(3, 2), _r(2, 4)
    assert_almost_equal(nd.linalg_gemm2(nd.array(m, ctx=ctx), nd.array(n, ctx=ctx)), m @ n,
                        rtol=1e-5, atol=1e-6)


def test_gemm_row_axis(ctx):
    # axis=-3: the rows sit on axis -3, the columns on the last axis
    a, b = _r(3, 2, 4), _r(4, 2, 5)
    out = nd.linalg.gemm2(nd.array(a, ctx=ctx), nd.array(b, ctx=ctx), axis=-3)
    want = np.swapaxes(np.swapaxes(a, 0, 1) @ np.swapaxes(b, 0, 1), 0, 1)
    assert out.shape == (3, 2, 5)
    assert_almost_equal(out, want, rtol=1e-5, atol=1e-6)
    c = _r(3, 2, 5)
    out = nd.linalg.gemm(nd.array(a, ctx=ctx), nd.array(b, ctx=ctx), nd.array(c, ctx=ctx),
                         axis=0, beta=2.0)
    assert_almost_equal(out, want + 2 * c, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, True), (True, False)])
def test_dot_gradient(ctx, order, ta, tb):
    a = _r(3, 2) if ta else _r(2, 3)
    b = _r(4, 3) if tb else _r(3, 4)
    # a product of the dot with itself makes the second derivative non-trivial
    fn = lambda x, y: nd.dot(x, y, transpose_a=ta, transpose_b=tb) ** 2  # noqa: E731
    check_numeric_gradient(fn, [a, b], order=order, ctx=ctx)


@pytest.mark.parametrize("order", [1, 2])
def test_dot_nd_and_vector_gradient(ctx, order):
    check_numeric_gradient(lambda x, y: nd.dot(x, y) ** 2, [_r(2, 2, 3), _r(3, 2)],
                           order=order, ctx=ctx)
    check_numeric_gradient(lambda x, y: nd.dot(x, y) * nd.dot(x, y), [_r(4), _r(4)],
                           order=order, ctx=ctx)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("ta,tb", [(False, False), (False, True)])
def test_batch_dot_gradient(ctx, order, ta, tb):
    a = _r(2, 2, 3)
    b = _r(2, 2, 3) if tb else _r(2, 3, 2)
    fn = lambda x, y: nd.batch_dot(x, y, transpose_a=ta, transpose_b=tb) ** 2  # noqa: E731
    check_numeric_gradient(fn, [a, b], order=order, ctx=ctx)


@pytest.mark.parametrize("order", [1, 2])
def test_gemm_gradient(ctx, order):
    a, b, c = _r(2, 2, 3), _r(2, 2, 3), _r(2, 2, 2)
    check_numeric_gradient(
        lambda x, y, z: nd.linalg.gemm(x, y, z, transpose_b=True, alpha=0.7, beta=1.3) ** 2,
        [a, b, c], order=order, ctx=ctx)
    check_numeric_gradient(lambda x, y: nd.linalg.gemm2(x, y, axis=-3) ** 2,
                           [_r(3, 2, 2), _r(2, 2, 2)], order=order, ctx=ctx)


def test_third_order_dot(ctx):
    fn = lambda x, y: nd.dot(x, y) ** 3  # noqa: E731
    check_numeric_gradient(fn, [_r(2, 2), _r(2, 2)], order=3, ctx=ctx, rtol=1e-3, atol=1e-5)


# ------------------------------------------------------------------- errors
def test_dot_shape_errors(ctx):
    with pytest.raises(ValueError, match=r"operator dot: shapes \(2, 3\) and \(4, 5\) do not "
                                         r"align: 3 != 4"):
        nd.dot(nd.ones((2, 3), ctx=ctx), nd.ones((4, 5), ctx=ctx))
    with pytest.raises(ValueError, match=r"operator dot: shapes \(2, 3\) and \(2, 5\) "
                                         r"\(transpose_b=True\) do not align"):
        nd.dot(nd.ones((2, 3), ctx=ctx), nd.ones((2, 5), ctx=ctx), transpose_b=True)
    with pytest.raises(ValueError, match=r"operator dot: shapes \(3,\) and \(4,\)"):
        nd.dot(nd.ones(3, ctx=ctx), nd.ones(4, ctx=ctx))
    with pytest.raises(ValueError, match=r"operator dot: shapes \(2, 3, 4\) and \(3, 2\)"):
        nd.dot(nd.ones((2, 3, 4), ctx=ctx), nd.ones((3, 2), ctx=ctx))
    with pytest.raises(TypeError, match="operator dot: rhs must be an NDArray"):
        nd.dot(nd.ones((2, 3), ctx=ctx), np.ones((3, 2)))


def test_batch_dot_and_gemm_errors(ctx):
    with pytest.raises(ValueError, match=r"operator batch_dot: shapes \(2, 3\) and \(2, 3, 4\)"):
        nd.batch_dot(nd.ones((2, 3), ctx=ctx), nd.ones((2, 3, 4), ctx=ctx))
    with pytest.raises(ValueError, match=r"operator batch_dot: shapes \(2, 3, 4\) and "
                                         r"\(3, 4, 5\) do not align: batch dimensions"):
        nd.batch_dot(nd.ones((2, 3, 4), ctx=ctx), nd.ones((3, 4, 5), ctx=ctx))
    with pytest.raises(ValueError, match=r"operator batch_dot: shapes \(2, 3, 4\) and "
                                         r"\(2, 5, 4\) do not align: 4 != 5"):
        nd.batch_dot(nd.ones((2, 3, 4), ctx=ctx), nd.ones((2, 5, 4), ctx=ctx))
    with pytest.raises(ValueError, match=r"operator linalg_gemm: C has shape \(2, 2\)"):
        nd.linalg.gemm(nd.ones((2, 3), ctx=ctx), nd.ones((3, 4), ctx=ctx), nd.ones((2, 2), ctx=ctx))
    with pytest.raises(ValueError, match="operator linalg_gemm2: axis 5 is out of range"):
        nd.linalg.gemm2(nd.ones((2, 3), ctx=ctx), nd.ones((3, 4), ctx=ctx), axis=5)
    with pytest.raises(ValueError, match="operator linalg_gemm2: input shapes"):
        nd.linalg.gemm2(nd.ones((2, 2, 3), ctx=ctx), nd.ones((3, 4), ctx=ctx))


def test_mixed_contexts_rejected():
    with pytest.raises(ValueError, match="operator dot: inputs live on different contexts"):
        nd.dot(nd.ones((2, 3), ctx=fw.cpu()), nd.ones((3, 2), ctx=fw.gpu()))


# ---------------------------------------------------------------- PyTorch
def _torch_pair(torch, a, b, fn_fw, fn_torch):
    x, y = nd.array(a), nd.array(b)
    x.attach_grad()
    y.attach_grad()
    head = _r(*fn_fw(x, y).shape)
    with fw.autograd.record():
        out = fn_fw(x, y)
    out.backward(nd.array(head))
    tx = torch.tensor(a, requires_grad=True)
    ty = torch.tensor(b, requires_grad=True)
    tout = fn_torch(tx, ty)
    tout.backward(torch.tensor(head))
    assert_almost_equal(out, tout.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert_almost_equal(x.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert_almost_equal(y.grad, ty.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_dot_and_batch_dot_match_torch():
    torch = pytest.importorskip("torch")
    _torch_pair(torch, _r(5, 7), _r(6, 7), lambda x, y: nd.dot(x, y, transpose_b=True),
                lambda x, y: x @ y.T)
    _torch_pair(torch, _r(7, 5), _r(7, 6), lambda x, y: nd.dot(x, y, transpose_a=True),
                lambda x, y: x.T @ y)
    _torch_pair(torch, _r(3, 4, 6), _r(3, 6, 2), nd.batch_dot, torch.bmm)
    _torch_pair(torch, _r(3, 6, 4), _r(3, 2, 6),
                lambda x, y: nd.batch_dot(x, y, transpose_a=True, transpose_b=True),
                lambda x, y: torch.bmm(x.transpose(1, 2), y.transpose(1, 2)))
    _torch_pair(torch, _r(2, 3, 4), _r(4, 5), nd.dot,
                lambda x, y: torch.tensordot(x, y, dims=([2], [0])))
