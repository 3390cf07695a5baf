"""``nd.CTCLoss`` / ``nd.ctc_loss`` (MXNet's operator) against torch's ctc_loss: the
loss and its gradient for both blank conventions, with and without length arrays,
infeasible sequences (MXNet's loss 0 and gradient 0 = torch's zero_infinity), empty
labels; float64 numeric gradients; the second derivative refused by name; argument
errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import framework as fw
from framework import autograd, nd
from framework.ndarray.operator import NonDifferentiableError
from framework.test_utils import assert_almost_equal
from op_harness import OpCase, check, parametrize

T, N, C = 6, 3, 4


def _torch_ctc(blank_first: bool, data, label, data_lengths=None, label_lengths=None):
    """torch's CTC on MXNet's inputs: padding (0 or -1) ends a label row unless lengths
    are given; blank 0 or C-1."""
    pad = 0 if blank_first else -1
    if label_lengths is None:
        is_pad = label == pad
        first = torch.where(is_pad.any(1), is_pad.int().argmax(1),
                            torch.full((label.shape[0],), label.shape[1]))
        label_lengths = first
    if data_lengths is None:
        data_lengths = torch.full((data.shape[1],), data.shape[0])
    targets = torch.where(label >= 0, label, torch.zeros_like(label)).long()
    return F.ctc_loss(torch.log_softmax(data, dim=2), targets, data_lengths.long(),
                      label_lengths.long(), blank=0 if blank_first else data.shape[2] - 1,
                      reduction="none", zero_infinity=True)


LABEL_LAST = np.array([[0, 1, -1], [2, 2, -1], [1, 0, 2]], np.int64)      # blank is class 3
LABEL_FIRST = np.array([[1, 2, 0], [3, 3, 0], [2, 1, 3]], np.int64)       # blank is class 0
LENGTHS_DATA = np.array([6, 4, 5], np.int64)
LENGTHS_LABEL = np.array([2, 1, 3], np.int64)
JUNK_PADDED = np.array([[1, 2, 3], [3, 3, 3], [2, 1, 3]], np.int64)       # junk beyond lengths

CASES = [
    OpCase("blank last, -1 padding",
           lambda d, l: nd.CTCLoss(d, l, blank_label="last"),
           inputs=[(T, N, C), LABEL_LAST], orders=(1,),
           torch_ref=lambda d, l: _torch_ctc(False, d, l)),
    OpCase("blank first, 0 padding (the default)",
           lambda d, l: nd.ctc_loss(d, l),
           inputs=[(T, N, C), LABEL_FIRST], orders=(1,),
           torch_ref=lambda d, l: _torch_ctc(True, d, l)),
    OpCase("both length arrays",
           lambda d, l, dl, ll: nd.CTCLoss(d, l, dl, ll, use_data_lengths=True,
                                           use_label_lengths=True),
           inputs=[(T, N, C), JUNK_PADDED, LENGTHS_DATA, LENGTHS_LABEL], orders=(1,),
           torch_ref=lambda d, l, dl, ll: _torch_ctc(True, d, l, dl, ll)),
    OpCase("data lengths only (float lengths, as MXNet passes them)",
           lambda d, l, dl: nd.CTCLoss(d, l, data_lengths=dl, use_data_lengths=True,
                                       blank_label="last"),
           inputs=[(T, N, C), LABEL_LAST, LENGTHS_DATA.astype(np.float32)], grad_inputs=(0,),
           orders=(1,), torch_ref=lambda d, l, dl: _torch_ctc(False, d, l, dl)),
    OpCase("label lengths only, label given as floats",
           lambda d, l, ll: nd.CTCLoss(d, l, label_lengths=ll, use_label_lengths=True),
           inputs=[(T, N, C), JUNK_PADDED.astype(np.float32), LENGTHS_LABEL.astype(np.float32)],
           grad_inputs=(0,), orders=(1,),
           torch_ref=lambda d, l, ll: _torch_ctc(True, d, l.long(), None, ll)),
    OpCase("an infeasible and an empty label: loss 0 and gradient 0, -sum log p(blank)",
           lambda d, l, dl, ll: nd.CTCLoss(d, l, dl, ll, use_data_lengths=True,
                                           use_label_lengths=True, blank_label="last"),
           inputs=[(T, N, C), np.array([[1, 1, 2], [0, 0, 0], [2, 0, 1]], np.int64),
                   np.array([3, 6, 6], np.int64), np.array([3, 0, 3], np.int64)], orders=(1,),
           torch_ref=lambda d, l, dl, ll: _torch_ctc(False, d, l, dl, ll)),
    OpCase("one frame per label",
           lambda d, l: nd.CTCLoss(d, l, blank_label="last"),
           inputs=[(3, 2, 5), np.array([[0, 1, 2], [3, 2, 3]], np.int64)], orders=(1,),
           torch_ref=lambda d, l: _torch_ctc(False, d, l)),
]


@parametrize(CASES)
def test_ctc_loss_op(case, ctx):
    check(case, ctx)


def test_ctc_loss_value_matches_torch_with_large_batch(ctx):
    rng = np.random.RandomState(3)
    t, n, c, length = 20, 16, 7, 6
    data = (rng.standard_normal((t, n, c)) * 3).astype(np.float32)
    label = rng.randint(0, c - 1, (n, length))
    counts = rng.randint(0, length + 1, n)
    label[np.arange(length)[None, :] >= counts[:, None]] = -1
    frames = rng.randint(length * 2, t + 1, n).astype(np.float32)
    x = nd.array(data, ctx=ctx)
    x.attach_grad()
    with autograd.record():
        out = nd.CTCLoss(x, nd.array(label, ctx=ctx), nd.array(frames, ctx=ctx),
                         use_data_lengths=True, blank_label="last")
    out.backward()
    xt = torch.tensor(data, requires_grad=True)
    ref = _torch_ctc(False, xt, torch.tensor(label), torch.tensor(frames))
    ref.sum().backward()
    assert out.dtype == np.float32 and out.shape == (n,)
    assert_almost_equal(out, ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert_almost_equal(x.grad, xt.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_second_derivative_is_refused_by_name(ctx):
    x = nd.array(np.random.RandomState(4).standard_normal((T, N, C)), ctx=ctx)
    x.attach_grad()
    with autograd.record():
        out = nd.CTCLoss(x, nd.array(LABEL_FIRST, ctx=ctx))
        (grad,) = autograd.grad(out, [x], create_graph=True)
        total = (grad * grad).sum()
    with pytest.raises(NonDifferentiableError,
                       match="operator CTCLoss is non-differentiable"):
        total.backward()


def test_forward_only_keeps_no_gradient_and_writes_out(ctx):
    x = nd.array(np.random.RandomState(5).standard_normal((T, N, C)), ctx=ctx)
    target = nd.zeros((N,), ctx=ctx)
    result = nd.CTCLoss(x, nd.array(LABEL_FIRST, ctx=ctx), out=target)
    assert result is target
    expected = _torch_ctc(True, torch.tensor(x.asnumpy()), torch.tensor(LABEL_FIRST))
    assert_almost_equal(target, expected.numpy(), rtol=1e-5, atol=1e-5)
    with autograd.record():           # recorded, but x needs no gradient: nothing kept
        again = nd.CTCLoss(x, nd.array(LABEL_FIRST, ctx=ctx))
    assert again._node is None


def test_float64_data_gives_float64_loss(ctx):
    x = nd.array(np.random.RandomState(6).standard_normal((T, N, C)), ctx=ctx, dtype="float64")
    out = nd.CTCLoss(x, nd.array(LABEL_FIRST, ctx=ctx))
    assert out.dtype == np.float64


@pytest.mark.parametrize("call,error,pattern", [
    (lambda d, l: nd.CTCLoss(d.reshape((T, N * C)), l), ValueError,
     r"CTCLoss: data must have 3 dimensions.*\(6, 12\)"),
    (lambda d, l: nd.CTCLoss(d, l.reshape((-1,))), ValueError,
     r"CTCLoss: label must have 2 dimensions.*\(9,\)"),
    (lambda d, l: nd.CTCLoss(d, nd.zeros((2, 3), ctx=d.context)), ValueError,
     r"batch size of label \(2, 3\).*data \(6, 3, 4\)"),
    (lambda d, l: nd.CTCLoss(d, nd.zeros((3, 7), ctx=d.context)), ValueError,
     r"max number of labels \(7.*sequence length of data \(6"),
    (lambda d, l: nd.CTCLoss(d, l, blank_label="middle"), ValueError, "blank_label"),
    (lambda d, l: nd.CTCLoss(d, l, use_data_lengths=True), ValueError,
     "use_data_lengths=True needs data_lengths"),
    (lambda d, l: nd.CTCLoss(d, l, label_lengths=nd.ones((3,), ctx=d.context)), ValueError,
     "label_lengths was given but use_label_lengths is False"),
    (lambda d, l: nd.CTCLoss(d, l, nd.ones((2,), ctx=d.context), use_data_lengths=True),
     ValueError, r"data_lengths must have shape \(3,\).*\(2,\)"),
    (lambda d, l: nd.CTCLoss(d, l, nd.array([6, 9, 6], ctx=d.context), use_data_lengths=True),
     ValueError, r"data_lengths must lie in \[0, 6\].*\[6, 9, 6\]"),
    (lambda d, l: nd.CTCLoss(d, l, label_lengths=nd.array([1, 4, 1], ctx=d.context),
                             use_label_lengths=True), ValueError,
     r"label_lengths must lie in \[0, 3\]"),
    (lambda d, l: nd.CTCLoss(d, nd.array([[1, 4, 0]] * 3, ctx=d.context)), ValueError,
     r"label values must be class indices in \[1, 3\]"),
    (lambda d, l: nd.CTCLoss(d, nd.array([[3, 0, -1]] * 3, ctx=d.context), blank_label="last"),
     ValueError, r"in \[0, 2\].*reserves class 3"),
    (lambda d, l: nd.CTCLoss(d.astype("int32"), l), TypeError, "floating-point"),
])
def test_argument_errors(call, error, pattern, ctx):
    data = nd.zeros((T, N, C), ctx=ctx)
    label = nd.array(LABEL_FIRST, ctx=ctx)
    with pytest.raises(error, match=pattern):
        call(data, label)


def test_names_exist():
    assert fw.nd.ctc_loss is fw.nd.CTCLoss
