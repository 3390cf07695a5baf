"""Embedding against torch.nn.functional.embedding (repeated indices, float indices, the
weight gradient), numeric orders 1 and 2 on the weight, MXNet's clipping of out-of-range
indices; softmax_cross_entropy against torch."""
import numpy as np
import pytest
import torch.nn.functional as TF

import framework as fw
from framework import nd
from framework.test_utils import assert_almost_equal

from op_harness import OpCase, check, parametrize

INDICES = np.array([[1, 3, 1], [0, 4, 1]], dtype=np.int64)        # row 1 three times


def _torch_embedding(i, w):
    return TF.embedding(i.long(), w)


EMBEDDING_CASES = [
    OpCase("int64 indices, repeated",
           lambda i, w: nd.Embedding(i, w, input_dim=5, output_dim=3),
           inputs=[INDICES, (5, 3)], grad_inputs=(1,),
           numpy_ref=lambda i, w: w[i], torch_ref=_torch_embedding),
    OpCase("float32 indices (as MXNet passes them)",
           lambda i, w: nd.Embedding(i, w, input_dim=4, output_dim=2),
           inputs=[np.array([3.0, 0.0, 3.0, 2.0], np.float32), (4, 2)], grad_inputs=(1,),
           numpy_ref=lambda i, w: w[i.astype(np.int64)], torch_ref=_torch_embedding),
    OpCase("1-D int32 indices",
           lambda i, w: nd.Embedding(i, w, input_dim=6, output_dim=4),
           inputs=[np.array([5, 5, 0], np.int32), (6, 4)], grad_inputs=(1,),
           numpy_ref=lambda i, w: w[i], torch_ref=_torch_embedding),
    OpCase("3-D indices",
           lambda i, w: nd.Embedding(i, w, input_dim=3, output_dim=2),
           inputs=[np.array([[[0, 2], [2, 2]], [[1, 0], [0, 0]]]), (3, 2)], grad_inputs=(1,),
           numpy_ref=lambda i, w: w[i], torch_ref=_torch_embedding),
]


@parametrize(EMBEDDING_CASES)
def test_embedding(case, ctx):
    check(case, ctx)


def test_weight_gradient_adds_repeated_rows(ctx):
    w = nd.array(np.arange(15.0).reshape(5, 3), ctx=ctx)
    w.attach_grad()
    idx = nd.array(INDICES.astype(np.float32), ctx=ctx)
    with fw.autograd.record():
        y = nd.Embedding(idx, w, input_dim=5, output_dim=3)
    assert y.shape == (2, 3, 3) and y.dtype == np.float32
    assert y._node.name == "Embedding"
    y.backward()
    counts = np.bincount(INDICES.ravel(), minlength=5).astype(np.float32)
    assert_almost_equal(w.grad, np.repeat(counts[:, None], 3, axis=1), rtol=0, atol=0)


def test_second_order_through_the_weight(ctx):
    """d/dw of sum((dL/dw)^2) where L = sum(tanh(E(w))): the weight gradient (a scatter)
    is differentiated again (a gather)."""
    from framework.test_utils import check_numeric_gradient
    idx = nd.array(INDICES, ctx=ctx, dtype="int64")
    rng = np.random.RandomState(2)
    check_numeric_gradient(
        lambda w: nd.tanh(nd.Embedding(idx, w, input_dim=5, output_dim=3)),
        [rng.standard_normal((5, 3))], order=3, ctx=ctx)


def test_out_of_range_indices_are_clipped_as_in_mxnet(ctx):
    w = nd.array(np.arange(8.0).reshape(4, 2), ctx=ctx)
    w.attach_grad()
    idx = nd.array([-3, -0.5, 2.7, 4, 100], ctx=ctx)
    with fw.autograd.record():
        y = nd.Embedding(idx, w, input_dim=4, output_dim=2)
    y.backward()
    rows = [0, 0, 2, 3, 3]                 # clipped to [0, 3]; floats truncated toward 0
    assert_almost_equal(y, np.arange(8.0).reshape(4, 2)[rows], rtol=0, atol=0)
    assert_almost_equal(w.grad, np.array([[2, 2], [0, 0], [1, 1], [2, 2]]), rtol=0, atol=0)


def test_no_gradient_for_the_indices(ctx):
    idx = nd.array([0.0, 1.0], ctx=ctx)
    idx.attach_grad()
    w = nd.ones((2, 3), ctx=ctx)
    w.attach_grad()
    with fw.autograd.record():
        y = nd.Embedding(idx, w, input_dim=2, output_dim=3)
    y.backward()
    assert (idx.grad.asnumpy() == 0).all()
    assert (w.grad.asnumpy() == 1).all()


def test_dtype_follows_the_weight(ctx):
    w = nd.ones((3, 2), ctx=ctx, dtype="float64")
    y = nd.Embedding(nd.array([0, 2], ctx=ctx), w, input_dim=3, output_dim=2)
    assert y.dtype == np.float64          # as MXNet: the weight's dtype wins over dtype=


def test_out_argument(ctx):
    out = nd.zeros((2, 2), ctx=ctx)
    w = nd.array([[1.0, 2.0], [3.0, 4.0]], ctx=ctx)
    assert nd.Embedding(nd.array([1, 0], ctx=ctx), w, 2, 2, out=out) is out
    assert_almost_equal(out, np.array([[3.0, 4.0], [1.0, 2.0]]))


@pytest.mark.parametrize("kwargs,error,match", [
    ({"input_dim": 4, "output_dim": 2}, ValueError,
     r"operator Embedding: weight of shape \(3, 2\) does not match input_dim=4, output_dim=2; "
     r"expected shape \(4, 2\)"),
    ({"input_dim": 0, "output_dim": 2}, ValueError, r"input_dim must be a positive int, got 0"),
    ({"input_dim": 3, "output_dim": 2, "dtype": "floaty"}, TypeError,
     r"operator Embedding: dtype 'floaty' is not a dtype"),
])
def test_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        nd.Embedding(nd.array([0, 1]), nd.ones((3, 2)), **kwargs)


def test_index_errors():
    with pytest.raises(TypeError, match=r"operator Embedding: data must hold indices .* got "
                                        r"dtype bool"):
        nd.Embedding(nd.array([True, False], dtype="bool"), nd.ones((3, 2)), 3, 2)
    with pytest.raises(ValueError, match=r"operator Embedding: the index array is on gpu\(0\)"):
        nd.Embedding(nd.array([0, 1], ctx=fw.gpu(0)), nd.ones((3, 2)), 3, 2)


# ------------------------------------------------------ softmax_cross_entropy
LABELS = np.array([2.0, 0.0, 1.0, 2.0], np.float32)

SCE_CASES = [
    OpCase("softmax_cross_entropy float labels",
           lambda x, label: nd.softmax_cross_entropy(x, label),
           inputs=[(4, 3), LABELS], grad_inputs=(0,),
           torch_ref=lambda x, label: TF.cross_entropy(x, label.long(), reduction="sum")
           .reshape(1)),
    OpCase("softmax_cross_entropy int labels",
           lambda x, label: nd.softmax_cross_entropy(x, label),
           inputs=[(3, 5), np.array([4, 0, 4], np.int32)], grad_inputs=(0,),
           torch_ref=lambda x, label: TF.cross_entropy(x, label.long(), reduction="sum")
           .reshape(1)),
]


@parametrize(SCE_CASES)
def test_softmax_cross_entropy(case, ctx):
    check(case, ctx)


def test_softmax_cross_entropy_shape_and_large_scores(ctx):
    x = nd.array([[1000.0, 0.0], [0.0, -1000.0]], ctx=ctx)
    y = nd.softmax_cross_entropy(x, nd.array([1, 0], ctx=ctx))
    assert y.shape == (1,)
    assert_almost_equal(y, np.array([1000.0]), rtol=1e-6)


def test_softmax_cross_entropy_errors():
    with pytest.raises(ValueError, match=r"operator softmax_cross_entropy: expected data of "
                                         r"shape \(N, C\) and label of shape \(N,\), got data "
                                         r"\(2, 3\) and label \(3,\)"):
        nd.softmax_cross_entropy(nd.ones((2, 3)), nd.ones((3,)))
    with pytest.raises(TypeError, match="softmax_cross_entropy: data must be floating-point"):
        nd.softmax_cross_entropy(nd.ones((2, 3), dtype="int32"), nd.ones((2,)))
