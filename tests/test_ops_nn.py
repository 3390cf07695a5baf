"""softmax and log_softmax: forward against NumPy, stability, gradients to higher order, PyTorch."""
import numpy as np
import pytest

import framework as fw
from framework import nd
from framework.test_utils import assert_almost_equal, check_numeric_gradient

rng = np.random.RandomState(3)


def _r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def np_softmax(x, axis=-1, t=1.0):
    x = x.astype(np.float64) / t
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("t", [None, 0.5])
def test_softmax_forward(ctx, axis, t):
    x = _r(3, 4, 2)
    out = nd.softmax(nd.array(x, ctx=ctx), axis=axis, temperature=t)
    assert out.shape == x.shape and out.dtype == np.float32 and out.context == ctx
    want = np_softmax(x, axis, 1.0 if t is None else t)
    assert_almost_equal(out, want, rtol=1e-5, atol=1e-7)
    log_out = nd.log_softmax(nd.array(x, ctx=ctx), axis=axis, temperature=t)
    assert log_out.dtype == np.float32
    assert_almost_equal(log_out, np.log(want), rtol=1e-5, atol=1e-6)


def test_softmax_is_stable_for_large_inputs(ctx):
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -1000.0]], dtype=np.float32)
    out = nd.softmax(nd.array(x, ctx=ctx)).asnumpy()
    assert np.isfinite(out).all()
    assert_almost_equal(out[0], np_softmax(np.array([0.0, 1.0, 2.0])), rtol=1e-5)
    assert_almost_equal(out[1], np.full(3, 1 / 3), rtol=1e-6)
    log_out = nd.log_softmax(nd.array(x, ctx=ctx)).asnumpy()
    assert np.isfinite(log_out).all()
    assert_almost_equal(log_out[1], np.full(3, -np.log(3.0)), rtol=1e-6)


def test_softmax_methods_and_dtypes(ctx):
    x = _r(2, 5)
    a = nd.array(x, ctx=ctx)
    assert_almost_equal(a.softmax(axis=0), np_softmax(x, 0), rtol=1e-5)
    assert_almost_equal(a.log_softmax(), np.log(np_softmax(x)), rtol=1e-5, atol=1e-6)
    out = nd.softmax(nd.array(x, ctx=ctx, dtype="float64"))
    assert out.dtype == np.float64
    assert nd.softmax(a, dtype="float64").dtype == np.float64
    assert nd.log_softmax(nd.array(x, ctx=ctx, dtype="float16")).dtype == np.float16


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("axis,t", [(-1, None), (0, 2.0)])
def test_softmax_gradient(ctx, order, axis, t):
    x = _r(3, 4)
    check_numeric_gradient(lambda v: nd.softmax(v, axis=axis, temperature=t), [x],
                           order=order, ctx=ctx)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("axis,t", [(-1, None), (0, 0.5)])
def test_log_softmax_gradient(ctx, order, axis, t):
    x = _r(3, 4)
    check_numeric_gradient(lambda v: nd.log_softmax(v, axis=axis, temperature=t), [x],
                           order=order, ctx=ctx)


def test_softmax_third_order(ctx):
    check_numeric_gradient(nd.softmax, [_r(2, 3)], order=3, ctx=ctx, rtol=1e-3, atol=1e-5)
    check_numeric_gradient(nd.log_softmax, [_r(2, 3)], order=3, ctx=ctx, rtol=1e-3, atol=1e-5)


def test_softmax_errors(ctx):
    with pytest.raises(ValueError, match=r"operator softmax: axis 2 is out of range for data "
                                         r"of shape \(2, 3\)"):
        nd.softmax(nd.ones((2, 3), ctx=ctx), axis=2)
    with pytest.raises(TypeError, match="operator log_softmax: expected a floating-point array, "
                                        "got dtype int32"):
        nd.log_softmax(nd.ones((2, 3), ctx=ctx, dtype="int32"))
    with pytest.raises(ValueError, match="operator softmax: temperature must be non-zero"):
        nd.softmax(nd.ones((2, 3), ctx=ctx), temperature=0)
    with pytest.raises(TypeError, match="operator softmax: data must be an NDArray"):
        nd.softmax(np.ones((2, 3)))


@pytest.mark.parametrize("fw_fn,torch_name", [(nd.softmax, "softmax"),
                                              (nd.log_softmax, "log_softmax")])
def test_matches_torch(fw_fn, torch_name):
    torch = pytest.importorskip("torch")
    x = _r(4, 6) * 3
    head = _r(4, 6)
    for axis, t in [(-1, None), (0, 0.7)]:
        a = nd.array(x)
        a.attach_grad()
        with fw.autograd.record():
            out = fw_fn(a, axis=axis, temperature=t)
        out.backward(nd.array(head))
        ta = torch.tensor(x, requires_grad=True)
        tout = getattr(torch, torch_name)(ta / (1.0 if t is None else t), dim=axis)
        tout.backward(torch.tensor(head))
        assert_almost_equal(out, tout.detach().numpy(), rtol=1e-5, atol=1e-6)
        assert_almost_equal(a.grad, ta.grad.numpy(), rtol=1e-4, atol=1e-6)


# ------------------------------------------- the fused loss of SoftmaxCrossEntropyLoss
def _unfused_ce(x, label, axis, keepdims):
    return -nd.pick(nd.log_softmax(x, axis=axis), label, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("shape,axis,keepdims", [((5, 4), 1, False), ((5, 4), 1, True),
                                                 ((3, 4, 2), 1, True), ((4, 3), 0, False)])
def test_sparse_softmax_cross_entropy_equals_log_softmax_then_pick(ctx, shape, axis, keepdims):
    """One operator, the same values as -pick(log_softmax) bit for bit, and the same
    gradients at orders 1 to 3, also for the head gradient (a gradient penalty
    differentiates through it). Out-of-range labels clip, as pick."""
    from framework.ndarray.ops.softmax import sparse_softmax_cross_entropy
    x0 = rng.standard_normal(shape) * 3
    reduced = shape[:axis] + shape[axis + 1:]
    label = nd.array(rng.randint(-1, shape[axis] + 1, reduced), ctx=ctx)
    head0 = rng.standard_normal(shape[:axis] + ((1,) if keepdims else ()) + shape[axis + 1:])
    results = []
    for fn in (sparse_softmax_cross_entropy, _unfused_ce):
        x = nd.array(x0, ctx=ctx, dtype="float64")
        head = nd.array(head0, ctx=ctx, dtype="float64")
        x.attach_grad()
        head.attach_grad()
        with fw.autograd.record():
            loss = fn(x, label, axis, keepdims)
            gx, = fw.autograd.grad(loss, [x], head_grads=[head], create_graph=True)
            gxx, = fw.autograd.grad((gx * gx).sum(), [x], create_graph=True)
            top = (gxx * gx).sum() + (gx * x).sum()
        top.backward()
        results.append([a.asnumpy() for a in (loss, gx, gxx, x.grad, head.grad)])
    fused, plain = results
    np.testing.assert_array_equal(fused[0], plain[0])
    for name, a, b in zip(("loss", "gx", "gxx", "x.grad", "head.grad"), fused, plain):
        assert_almost_equal(a, b, rtol=1e-10, atol=1e-12, names=(f"fused {name}", "unfused"))


def test_sparse_softmax_cross_entropy_numeric_gradient_and_torch(ctx):
    torch = pytest.importorskip("torch")
    from framework.ndarray.ops.softmax import sparse_softmax_cross_entropy
    label = nd.array([2, 0, 3, 1], ctx=ctx)
    check_numeric_gradient(lambda v: sparse_softmax_cross_entropy(v, label, 1, False),
                           [_r(4, 5)], order=2, ctx=ctx)
    x = _r(4, 5) * 10
    a = nd.array(x, ctx=ctx)
    a.attach_grad()
    with fw.autograd.record():
        loss = sparse_softmax_cross_entropy(a, label, 1, False)
    loss.backward()
    tx = torch.tensor(x, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor([2, 0, 3, 1]), reduction="none")
    tloss.sum().backward()
    assert_almost_equal(loss, tloss.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_almost_equal(a.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)
