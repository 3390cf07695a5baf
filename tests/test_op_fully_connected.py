"""FullyConnected: forward against NumPy and torch, gradients of order 1 and 2, argument errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework as fw
from framework import nd
from framework.ndarray.ops.fully_connected import dense
from framework.test_utils import assert_almost_equal

from op_harness import OpCase, check, parametrize


def np_fc(x, w, b=None, flatten=True):
    x2 = x.reshape(x.shape[0], -1) if flatten else x
    y = x2 @ w.T
    return y if b is None else y + b


def torch_fc(x, w, b=None, flatten=True):
    return TF.linear(x.reshape(x.shape[0], -1) if flatten else x, w, b)


CASES = [
    OpCase("2-D data", lambda x, w, b: nd.FullyConnected(x, w, b, num_hidden=4),
           inputs=[(3, 5), (4, 5), (4,)], numpy_ref=np_fc, torch_ref=torch_fc),
    OpCase("4-D data flattened", lambda x, w, b: nd.FullyConnected(x, w, b),
           inputs=[(2, 2, 2, 3), (3, 12), (3,)], numpy_ref=np_fc, torch_ref=torch_fc),
    OpCase("flatten=False on the last axis",
           lambda x, w, b: nd.FullyConnected(x, w, b, flatten=False),
           inputs=[(2, 3, 4), (5, 4), (5,)],
           numpy_ref=lambda x, w, b: np_fc(x, w, b, False),
           torch_ref=lambda x, w, b: torch_fc(x, w, b, False)),
    OpCase("no_bias", lambda x, w: nd.FullyConnected(x, w, no_bias=True, num_hidden=2),
           inputs=[(3, 4), (2, 4)], numpy_ref=np_fc, torch_ref=torch_fc),
    OpCase("no_bias ignores a bias given", lambda x, w, b: nd.FullyConnected(x, w, b, no_bias=True),
           inputs=[(3, 4), (2, 4), (2,)], numpy_ref=lambda x, w, b: np_fc(x, w),
           torch_ref=lambda x, w, b: torch_fc(x, w) + 0 * b.sum()),
    OpCase("1-D data, flatten=False", lambda x, w, b: nd.FullyConnected(x, w, b, flatten=False),
           inputs=[(4,), (3, 4), (3,)], numpy_ref=lambda x, w, b: w @ x + b,
           torch_ref=lambda x, w, b: TF.linear(x, w, b)),
    OpCase("batch-last product", lambda x, w, b: dense(x, w, b, batch_last=True),
           inputs=[(3, 5), (4, 5), (4,)], numpy_ref=np_fc, torch_ref=torch_fc),
    OpCase("batch-last product of 4-D data with relu",
           lambda x, w, b: dense(x, w, b, relu=True, batch_last=True),
           inputs=[(2, 2, 2, 3), (3, 12), (3,)],
           numpy_ref=lambda x, w, b: np.maximum(np_fc(x, w, b), 0),
           torch_ref=lambda x, w, b: TF.relu(torch_fc(x, w, b))),
    OpCase("batch-last asked, flatten=False on 3-D data: as FullyConnected",
           lambda x, w: dense(x, w, no_bias=True, flatten=False, batch_last=True),
           inputs=[(2, 3, 4), (5, 4)], numpy_ref=lambda x, w: np_fc(x, w, None, False),
           torch_ref=lambda x, w: torch_fc(x, w, None, False)),
]


@parametrize(CASES)
def test_fully_connected(case, ctx):
    check(case, ctx)


def test_third_order_through_a_nonlinearity(ctx):
    from framework.test_utils import check_numeric_gradient
    rng = np.random.RandomState(0)
    check_numeric_gradient(
        lambda x, w, b: nd.tanh(nd.FullyConnected(x, w, b)),
        [rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)],
        order=3, ctx=ctx)


def test_one_graph_node_per_call(ctx):
    x = nd.ones((2, 3), ctx=ctx)
    w = nd.ones((4, 3), ctx=ctx)
    b = nd.ones((4,), ctx=ctx)
    for a in (x, w, b):
        a.attach_grad()
    with fw.autograd.record():
        y = nd.FullyConnected(x, w, b)
    assert y._node.name == "FullyConnected"
    assert [edge[0] for edge in y._node.parents] == [x._node, w._node, b._node]


def test_only_wanted_gradients(ctx):
    """A constant weight: only data's gradient is computed (and is right)."""
    rng = np.random.RandomState(1)
    xh = rng.standard_normal((3, 4)).astype(np.float32)
    wh = rng.standard_normal((2, 4)).astype(np.float32)
    x, w = nd.array(xh, ctx=ctx), nd.array(wh, ctx=ctx)
    x.attach_grad()
    with fw.autograd.record():
        y = nd.FullyConnected(x, w, no_bias=True)
    y.backward()
    assert_almost_equal(x.grad, np.ones((3, 2), np.float32) @ wh, rtol=1e-5, atol=1e-6)


def test_out_argument(ctx):
    x, w, b = nd.ones((2, 3), ctx=ctx), nd.ones((4, 3), ctx=ctx), nd.ones((4,), ctx=ctx)
    out = nd.zeros((2, 4), ctx=ctx)
    got = nd.FullyConnected(x, w, b, out=out)
    assert got is out
    assert_almost_equal(out, np.full((2, 4), 4.0, np.float32))


def test_float16_and_float64_keep_their_dtype(ctx):
    for dtype in ("float16", "float64"):
        x, w = nd.ones((2, 3), ctx=ctx, dtype=dtype), nd.ones((4, 3), ctx=ctx, dtype=dtype)
        y = nd.FullyConnected(x, w, nd.zeros((4,), ctx=ctx, dtype=dtype))
        assert y.dtype == np.dtype(dtype) and y.shape == (2, 4)
        assert_almost_equal(y, np.full((2, 4), 3.0))


@pytest.mark.parametrize("args,kwargs,match", [
    (((2, 3), (4, 5), (4,)), {}, r"FullyConnected: data of shape \(2, 3\) has input size 3"),
    (((2, 3, 4), (5, 12), (5,)), {"flatten": False}, r"input size 4 \(the last dimension"),
    (((2, 3), (4, 3), (5,)), {}, r"bias has shape \(5,\), expected \(4,\)"),
    (((2, 3), (4, 3), None), {}, r"bias is None but no_bias=False"),
    (((2, 3), (4, 3), (4,)), {"num_hidden": 5}, r"num_hidden=5 but weight has shape \(4, 3\)"),
    (((2, 3), (4, 3, 1), (4,)), {}, r"weight must be 2-D"),
])
def test_argument_errors(args, kwargs, match):
    arrays = [None if s is None else nd.ones(s) for s in args]
    with pytest.raises(ValueError, match=match):
        nd.FullyConnected(*arrays, **kwargs)


def test_dtype_and_type_errors():
    with pytest.raises(TypeError, match=r"FullyConnected: data, weight and bias must share one "
                                        r"floating-point dtype, got \['float32', 'float64'"):
        nd.FullyConnected(nd.ones((2, 3)), nd.ones((4, 3), dtype="float64"), nd.ones((4,)))
    with pytest.raises(TypeError, match="FullyConnected: expected an NDArray"):
        nd.FullyConnected(np.ones((2, 3)), nd.ones((4, 3)), no_bias=True)
    with pytest.raises(ValueError, match="different contexts"):
        nd.FullyConnected(nd.ones((2, 3)), nd.ones((4, 3), ctx=fw.gpu(0)), no_bias=True)


def test_gradients_are_their_own_operators_and_match_torch(ctx):
    """LeNet's Dense(500) on a batch of 128: the gradient operators are differentiable
    again (the gradient of a gradient penalty), all equal to torch in float32."""
    rng = np.random.RandomState(5)
    xh = rng.standard_normal((128, 800)).astype(np.float32)
    wh = (rng.standard_normal((500, 800)) * 0.05).astype(np.float32)
    bh = rng.standard_normal(500).astype(np.float32)
    x, w, b = (nd.array(a, ctx=ctx) for a in (xh, wh, bh))
    for a in (x, w, b):
        a.attach_grad()
    with fw.autograd.record():
        y = nd.tanh(nd.FullyConnected(x, w, b))
        gx, gw = fw.autograd.grad(y.sum(), [x, w], create_graph=True)
        penalty = (gx * gx).sum() + (gw * gw).sum()
    assert gx._node.name == "_backward_FullyConnected_data"    # 2-D data: no reshape node
    assert gw._node.name == "_backward_FullyConnected_weight"
    penalty.backward()
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (xh, wh, bh))
    ty = torch.tanh(TF.linear(tx, tw, tb))
    tgx, tgw = torch.autograd.grad(ty.sum(), [tx, tw], create_graph=True)
    ((tgx * tgx).sum() + (tgw * tgw).sum()).backward()
    for a, t in ((x, tx), (w, tw), (b, tb)):
        expected = t.grad.numpy()           # sums of thousands of terms: float32 rounding
        assert_almost_equal(a.grad, expected, rtol=1e-3, atol=1e-4 * np.abs(expected).max())


def test_data_lying_transposed_gets_its_gradient_in_the_same_order(ctx):
    """Data whose memory is the transpose of its (N, K) rows (a pooled batch-last array,
    flattened) gets its gradient in that order too (``FCDataGrad(transposed=True)``),
    with the values of contiguous data's gradient (to float64 rounding), at orders 1
    and 2."""
    from framework.ndarray.ops.fully_connected import FCDataGrad
    rng = np.random.RandomState(4)
    xh, wh, bh = rng.standard_normal((6, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
    gh = rng.standard_normal((6, 3))
    g, w = (nd.array(a, ctx=ctx, dtype="float64") for a in (gh, wh))
    dx = FCDataGrad(transposed=True)(g, w)
    assert dx._data.strides == (8, 48)
    assert_almost_equal(dx.asnumpy(), gh @ wh, rtol=1e-12, atol=1e-12)
    results = []
    for transposed in (False, True):
        leaf = nd.array(xh.T.copy() if transposed else xh, ctx=ctx, dtype="float64")
        w, b = (nd.array(a, ctx=ctx, dtype="float64") for a in (wh, bh))
        for a in (leaf, w):
            a.attach_grad()
        with fw.autograd.record():
            x = nd.transpose(leaf) if transposed else leaf
            y = nd.FullyConnected(x, w, b, num_hidden=3)
            gx, = fw.autograd.grad(nd.sum(y * y), [leaf], create_graph=True)
            penalty = nd.sum(gx * gx * gx)
        penalty.backward()
        back = (lambda a: a.T) if transposed else (lambda a: a)
        results.append([y.asnumpy(), back(gx.asnumpy()), back(leaf.grad.asnumpy()),
                        w.grad.asnumpy()])
    for got, want in zip(*results):
        assert_almost_equal(got, want, rtol=1e-12, atol=1e-12)


def test_batch_last_product_is_a_view_of_w_times_x_transposed(ctx):
    """``batch_last``: the product is (num_hidden, N) in memory, returned as its (N,
    num_hidden) view, with FullyConnected's values (to float64 rounding), and it
    back-propagates (its gradients are checked by the harness cases above)."""
    rng = np.random.RandomState(6)
    xh, wh, bh = rng.standard_normal((6, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
    x, w, b = (nd.array(a, ctx=ctx, dtype="float64") for a in (xh, wh, bh))
    x.attach_grad()
    with fw.autograd.record():
        y = dense(x, w, b, batch_last=True)
    y.backward(nd.array(rng.standard_normal((6, 3)), ctx=ctx, dtype="float64"))
    assert y.shape == (6, 3) and y._data.strides == (8, 48)
    assert_almost_equal(y.asnumpy(), xh @ wh.T + bh, rtol=1e-12, atol=1e-12)
