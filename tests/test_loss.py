"""``framework.loss`` against PyTorch (or a closed form where torch has no twin): the
per-sample loss and the gradient of every differentiated input, float32, with the
scalar ``weight`` and a ``sample_weight``, on cpu(0) and the strict gpu(0). Also:
exact, finite values and gradients at logits of +-1e4; shape errors that name the
loss and both shapes; float64 numeric gradients of the composites; MXNet's repr,
aliases and defaults."""
from __future__ import annotations

import dataclasses
import inspect
import math
import warnings
from typing import Callable, Dict, Sequence, Tuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import framework as fw
from framework import autograd, loss as gloss, nd
from framework.test_utils import assert_almost_equal, check_numeric_gradient

N, C = 4, 5


def _normal(shape, seed):
    return np.random.RandomState(seed).standard_normal(shape).astype(np.float32)


def _uniform(shape, seed, low=0.0, high=1.0):
    return np.random.RandomState(seed).uniform(low, high, shape).astype(np.float32)


def _signs(shape, seed):
    return np.where(np.random.RandomState(seed).rand(*shape) > 0.5, 1.0, -1.0).astype(np.float32)


def _classes(shape, seed, depth=C):
    return np.random.RandomState(seed).randint(0, depth, shape).astype(np.float32)


def _distribution(shape, seed):
    p = _uniform(shape, seed, 0.1, 1.0)
    return (p / p.sum(-1, keepdims=True)).astype(np.float32)


def _batch_mean(elem: torch.Tensor, sample_weight=None, weight=None, batch_axis=0):
    """MXNet's reduction in torch: weight, then the mean over all axes but the batch's."""
    if sample_weight is not None:
        elem = elem * sample_weight
    if weight is not None:
        elem = elem * weight
    if elem.dim() == 1:
        return elem
    axes = [a for a in range(elem.dim()) if a != batch_axis % elem.dim()]
    return elem.mean(dim=axes)


SW_COL = _uniform((N, 1), 11, 0.5, 2.0)        # one weight per sample
SW_ROW = _uniform((N,), 12, 0.5, 2.0)          # for losses that are (batch,) already


@dataclasses.dataclass
class LossCase:
    """A loss, its positional inputs (host arrays), which are differentiated, keyword
    inputs, and the torch reference: tensors in (same order, then keywords), (batch,) out."""

    name: str
    make: Callable[[], gloss.Loss]
    inputs: Sequence[np.ndarray]
    grad: Tuple[int, ...]
    torch_ref: Callable
    keywords: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    rtol: float = 1e-5
    atol: float = 1e-6

    def __str__(self) -> str:
        return self.name


def _sbce_pos(x, y, sample_weight, pos_weight):
    elem = F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight.reshape(-1),
                                              reduction="none")
    return _batch_mean(elem, sample_weight, 0.7)


def _from_sigmoid(p, y, sample_weight, pos_weight=None):
    eps = 1e-12
    positive = torch.log(p + eps) * y
    if pos_weight is not None:
        positive = positive * pos_weight
    return _batch_mean(-(positive + torch.log(1 - p + eps) * (1 - y)), sample_weight)


def _triplet(p, pos, neg, sample_weight):
    gap = ((pos - p) ** 2 - (neg - p) ** 2).sum(dim=1)
    return torch.relu(gap + 0.5) * sample_weight * 1.5


def _stirling_target():
    t = np.array([[0, 1, 2, 3, 5], [0.5, 4, 1, 7, 2], [3, 0, 0, 1, 6], [2, 2, 9, 1, 0]],
                 np.float32)
    return t


def _sdml_torch(x1, x2, sample_weight=None, smoothing=0.3):
    n = x1.shape[0]
    dist = ((x1[:, None, :] - x2[None, :, :]) ** 2).sum(-1)
    logp = torch.log_softmax(-dist, dim=1)
    eye = torch.eye(n)
    target = eye * (1 - smoothing) + (1 - eye) * smoothing / (n - 1)
    elem = target * (torch.log(target + 1e-12) - logp)
    per_sample = elem.mean(dim=1)
    return per_sample if sample_weight is None else per_sample * sample_weight


X = _normal((N, C), 1)
X3 = _normal((2, C, 3), 2)
CASES = [
    LossCase("L2Loss weight 2", lambda: gloss.L2Loss(weight=2.0), [X, _normal((N, C), 3)], (0, 1),
             lambda p, y, sample_weight: _batch_mean(F.mse_loss(p, y, reduction="none"),
                                                     sample_weight, 1.0),
             {"sample_weight": SW_COL}),
    LossCase("L2Loss default", lambda: gloss.L2Loss(), [X, _normal((N, C), 3)], (0,),
             lambda p, y: _batch_mean(0.5 * F.mse_loss(p, y, reduction="none"))),
    LossCase("L1Loss", lambda: gloss.L1Loss(weight=0.5), [X, _normal((N, C), 4)], (0, 1),
             lambda p, y, sample_weight: _batch_mean(F.l1_loss(p, y, reduction="none"),
                                                     sample_weight, 0.5),
             {"sample_weight": SW_COL}),
    LossCase("L1Loss label reshaped", lambda: gloss.L1Loss(), [_normal((N, 1), 5),
                                                                _normal((N,), 6)], (0,),
             lambda p, y: _batch_mean(F.l1_loss(p, y.reshape(N, 1), reduction="none"))),
    LossCase("SigmoidBCELoss logits", lambda: gloss.SigmoidBCELoss(weight=0.7),
             [X * 3, _uniform((N, C), 7)], (0, 1),
             lambda x, y, sample_weight: _batch_mean(
                 F.binary_cross_entropy_with_logits(x, y, reduction="none"), sample_weight, 0.7),
             {"sample_weight": SW_COL}),
    LossCase("SigmoidBCELoss pos_weight", lambda: gloss.SigmoidBinaryCrossEntropyLoss(weight=0.7),
             [X * 3, _uniform((N, C), 7)], (0, 1), _sbce_pos,
             {"sample_weight": SW_COL, "pos_weight": _uniform((1, C), 8, 0.5, 3.0)}),
    LossCase("SigmoidBCELoss from_sigmoid",
             lambda: gloss.SigmoidBCELoss(from_sigmoid=True),
             [_uniform((N, C), 9, 0.05, 0.95), _uniform((N, C), 10)], (0, 1), _from_sigmoid,
             {"sample_weight": SW_COL}),
    LossCase("SigmoidBCELoss from_sigmoid pos_weight",
             lambda: gloss.SigmoidBCELoss(from_sigmoid=True),
             [_uniform((N, C), 9, 0.05, 0.95), _uniform((N, C), 10)], (0, 1), _from_sigmoid,
             {"sample_weight": SW_COL, "pos_weight": _uniform((1, C), 8, 0.5, 3.0)}),
    LossCase("SoftmaxCELoss sparse", lambda: gloss.SoftmaxCELoss(weight=1.5),
             [X * 2, _classes((N,), 13)], (0,),
             lambda x, y, sample_weight: _batch_mean(
                 F.cross_entropy(x, y.long(), reduction="none")[:, None], sample_weight, 1.5),
             {"sample_weight": SW_COL}),
    LossCase("SoftmaxCELoss sparse label (N, 1)", lambda: gloss.SoftmaxCrossEntropyLoss(),
             [X * 2, _classes((N, 1), 13)], (0,),
             lambda x, y: F.cross_entropy(x, y.long().reshape(-1), reduction="none")),
    LossCase("SoftmaxCELoss axis 1", lambda: gloss.SoftmaxCELoss(axis=1),
             [X3, _classes((2, 3), 14)], (0,),
             lambda x, y: F.cross_entropy(x, y.long(), reduction="none").mean(dim=1)),
    LossCase("SoftmaxCELoss dense", lambda: gloss.SoftmaxCELoss(sparse_label=False),
             [X * 2, _distribution((N, C), 15)], (0, 1),
             lambda x, y, sample_weight: _batch_mean(
                 F.cross_entropy(x, y, reduction="none")[:, None], sample_weight),
             {"sample_weight": SW_COL}),
    LossCase("SoftmaxCELoss from_logits", lambda: gloss.SoftmaxCELoss(from_logits=True),
             [np.log(_distribution((N, C), 16)), _classes((N,), 17)], (0,),
             lambda x, y: F.nll_loss(x, y.long(), reduction="none")),
    LossCase("KLDivLoss from_logits", lambda: gloss.KLDivLoss(weight=2.0),
             [np.log(_distribution((N, C), 18)), _distribution((N, C), 19)], (0, 1),
             lambda x, y, sample_weight: _batch_mean(F.kl_div(x, y, reduction="none"),
                                                     sample_weight, 2.0),
             {"sample_weight": SW_COL}),
    LossCase("KLDivLoss scores axis 0", lambda: gloss.KLDivLoss(from_logits=False, axis=0),
             [X, _distribution((C, N), 20).T.copy()], (0, 1),
             lambda x, y: _batch_mean(F.kl_div(torch.log_softmax(x, 0), y, reduction="none"))),
    LossCase("HuberLoss rho 0.5", lambda: gloss.HuberLoss(rho=0.5, weight=3.0),
             [X, _normal((N, C), 21)], (0, 1),
             lambda p, y, sample_weight: _batch_mean(
                 F.smooth_l1_loss(p, y, beta=0.5, reduction="none"), sample_weight, 3.0),
             {"sample_weight": SW_COL}),
    LossCase("HuberLoss default", lambda: gloss.HuberLoss(), [X * 2, _normal((N, C), 22)], (0,),
             lambda p, y: _batch_mean(F.huber_loss(p, y, delta=1.0, reduction="none"))),
    LossCase("HingeLoss margin 1.5", lambda: gloss.HingeLoss(margin=1.5, weight=0.5),
             [X, _signs((N, C), 23)], (0,),
             lambda p, y, sample_weight: _batch_mean(torch.clamp(1.5 - p * y, min=0),
                                                     sample_weight, 0.5),
             {"sample_weight": SW_COL}),
    LossCase("SquaredHingeLoss", lambda: gloss.SquaredHingeLoss(),
             [X, _signs((N, C), 24)], (0,),
             lambda p, y, sample_weight: _batch_mean(torch.clamp(1 - p * y, min=0) ** 2,
                                                     sample_weight),
             {"sample_weight": SW_COL}),
    LossCase("LogisticLoss signed", lambda: gloss.LogisticLoss(weight=2.0),
             [X * 3, _signs((N, C), 25)], (0,),
             lambda p, y, sample_weight: _batch_mean(F.soft_margin_loss(p, y, reduction="none"),
                                                     sample_weight, 2.0),
             {"sample_weight": SW_COL}),
    LossCase("LogisticLoss binary", lambda: gloss.LogisticLoss(label_format="binary"),
             [X * 3, (_signs((N, C), 26) + 1) / 2], (0,),
             lambda p, y: _batch_mean(F.soft_margin_loss(p, 2 * y - 1, reduction="none"))),
    LossCase("TripletLoss", lambda: gloss.TripletLoss(margin=0.5, weight=1.5),
             [X, _normal((N, C), 27), _normal((N, C), 28)], (0, 1, 2), _triplet,
             {"sample_weight": SW_ROW}),
    LossCase("PoissonNLLLoss log input", lambda: gloss.PoissonNLLLoss(weight=0.5),
             [X, _stirling_target()], (0,),
             lambda p, t, sample_weight: _batch_mean(
                 F.poisson_nll_loss(p, t, log_input=True, full=False, reduction="none"),
                 sample_weight, 0.5),
             {"sample_weight": SW_COL}),
    LossCase("PoissonNLLLoss rate input", lambda: gloss.PoissonNLLLoss(from_logits=False),
             [_uniform((N, C), 29, 0.2, 3.0), _stirling_target()], (0,),
             lambda p, t: _batch_mean(F.poisson_nll_loss(p, t, log_input=False, full=False,
                                                         eps=1e-8, reduction="none"))),
    LossCase("PoissonNLLLoss compute_full", lambda: gloss.PoissonNLLLoss(compute_full=True),
             [X, _stirling_target()], (0,),      # torch's d/d target is NaN at target 0
             lambda p, t: _batch_mean(F.poisson_nll_loss(p, t, log_input=True, full=True,
                                                         reduction="none"))),
    LossCase("CosineEmbeddingLoss margin 0.2",
             lambda: gloss.CosineEmbeddingLoss(margin=0.2, weight=2.0),
             [X, _normal((N, C), 30), np.array([1, -1, -1, 1], np.float32)], (0, 1),
             lambda a, b, y, sample_weight: F.cosine_embedding_loss(
                 a, b, y, margin=0.2, reduction="none") * sample_weight[:, 0] * 2.0,
             {"sample_weight": SW_COL}),
    LossCase("CosineEmbeddingLoss default", lambda: gloss.CosineEmbeddingLoss(),
             [X, X + 0.3 * _normal((N, C), 31), np.array([-1, 1, -1, 1], np.float32)], (0, 1),
             lambda a, b, y: F.cosine_embedding_loss(a, b, y, reduction="none")),
    LossCase("SDMLLoss", lambda: gloss.SDMLLoss(), [X, X + 0.5 * _normal((N, C), 32)], (0, 1),
             _sdml_torch),
    LossCase("SDMLLoss sample_weight", lambda: gloss.SDMLLoss(smoothing_parameter=0.3),
             [X, _normal((N, C), 33)], (0, 1), _sdml_torch, {"sample_weight": SW_ROW}),
]


def _tensor(h: np.ndarray, grad: bool) -> torch.Tensor:
    return torch.tensor(h, requires_grad=grad)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_loss_matches_torch(case: LossCase, ctx):
    arrays = [nd.array(h, ctx=ctx) for h in case.inputs]
    for i in case.grad:
        arrays[i].attach_grad()
    keywords = {k: nd.array(v, ctx=ctx) for k, v in case.keywords.items()}
    loss_fn = case.make()
    with autograd.record():
        out = loss_fn(*arrays, **keywords)
    assert out.shape == (case.inputs[0].shape[loss_fn._batch_axis],)
    assert out.dtype == np.float32
    head = _normal(out.shape, 99)
    out.backward(nd.array(head, ctx=ctx))

    tensors = [_tensor(h, i in case.grad) for i, h in enumerate(case.inputs)]
    ref = case.torch_ref(*tensors, **{k: torch.tensor(v) for k, v in case.keywords.items()})
    (ref * torch.from_numpy(head)).sum().backward()
    tol = dict(rtol=case.rtol, atol=case.atol)
    assert_almost_equal(out, ref.detach().numpy(), names=(case.name, "torch"), **tol)
    for i in case.grad:
        assert_almost_equal(arrays[i].grad, tensors[i].grad.numpy(),
                            names=(f"{case.name} d/d input {i}", "torch"), **tol)


def test_sdml_matches_numpy_closed_form(ctx):
    x1, x2 = _normal((N, C), 40).astype(np.float64), _normal((N, C), 41).astype(np.float64)
    s = 0.2
    dist = ((x1[:, None, :] - x2[None, :, :]) ** 2).sum(-1)
    z = -dist - (-dist).max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    target = np.eye(N) * (1 - s) + (1 - np.eye(N)) * s / (N - 1)
    expected = (target * (np.log(target + 1e-12) - logp)).mean(1)
    got = gloss.SDMLLoss(smoothing_parameter=s)(nd.array(x1, ctx=ctx, dtype="float64"),
                                                nd.array(x2, ctx=ctx, dtype="float64"))
    assert_almost_equal(got, expected, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ CTC (the block)
def _ctc_torch(pred_tnc, labels, pred_lengths, label_lengths):
    """torch's CTC with MXNet's conventions: blank = last class, -1 padding."""
    log_probs = torch.log_softmax(pred_tnc, dim=2)
    alphabet = pred_tnc.shape[2]
    targets = torch.where(labels >= 0, labels, torch.zeros_like(labels)).long()
    return F.ctc_loss(log_probs, targets, pred_lengths, label_lengths, blank=alphabet - 1,
                      reduction="none", zero_infinity=True)


CTC_LABELS = np.array([[1, 0, -1, -1], [2, 1, 1, -1], [0, 1, 0, 2]], np.float32)
CTC_LABEL_LENGTHS = np.array([2, 3, 4], np.int64)


@pytest.mark.parametrize("layout,label_layout,lengths", [
    ("NTC", "NT", False), ("TNC", "TN", False), ("NTC", "TN", True), ("TNC", "NT", True)])
def test_ctc_loss_block_matches_torch(layout, label_layout, lengths, ctx):
    T, n, alphabet = 9, 3, 4                       # 3 classes + the blank (class 3)
    pred_tnc = _normal((T, n, alphabet), 50) * 2
    pred = pred_tnc if layout == "TNC" else pred_tnc.transpose(1, 0, 2).copy()
    label = CTC_LABELS if label_layout == "NT" else CTC_LABELS.T.copy()
    frames = np.array([9, 7, 8] if lengths else [9, 9, 9], np.float32)
    x = nd.array(pred, ctx=ctx)
    x.attach_grad()
    args = [x, nd.array(label, ctx=ctx)]
    if lengths:
        args += [nd.array(frames, ctx=ctx), nd.array(CTC_LABEL_LENGTHS, ctx=ctx)]
    loss_fn = gloss.CTCLoss(layout=layout, label_layout=label_layout, weight=2.0)
    sw = _uniform((n,), 51, 0.5, 2.0)
    with autograd.record():
        out = loss_fn(*args, sample_weight=nd.array(sw, ctx=ctx))
    head = _normal((n,), 52)
    out.backward(nd.array(head, ctx=ctx))

    xt = torch.tensor(pred_tnc, requires_grad=True)
    ref = _ctc_torch(xt, torch.tensor(CTC_LABELS), torch.tensor(frames.astype(np.int64)),
                     torch.tensor(CTC_LABEL_LENGTHS)) * torch.tensor(sw) * 2.0
    (ref * torch.from_numpy(head)).sum().backward()
    assert out.shape == (n,)
    assert_almost_equal(out, ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    grad = xt.grad.numpy() if layout == "TNC" else xt.grad.numpy().transpose(1, 0, 2)
    assert_almost_equal(x.grad, grad, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- extremes
BIG = 1e4
EXTREME_X = np.array([[BIG, -BIG, BIG, -BIG, 0.0],
                      [-BIG, BIG, 0.5, -3.0, BIG]], np.float32)


def _extreme_case(ctx, make, inputs, torch_ref, grad=(0,)):
    """Value and gradient at +-1e4 equal torch's float64 result, and are finite."""
    arrays = [nd.array(h, ctx=ctx) for h in inputs]
    for i in grad:
        arrays[i].attach_grad()
    with autograd.record():
        out = make()(*arrays)
    out.backward()
    tensors = [torch.tensor(h.astype(np.float64), requires_grad=i in grad)
               for i, h in enumerate(inputs)]
    ref = torch_ref(*tensors)
    ref.sum().backward()
    got = out.asnumpy()
    assert np.isfinite(got).all(), got
    assert_almost_equal(got, ref.detach().numpy(), rtol=1e-6, atol=1e-6)
    for i in grad:
        g = arrays[i].grad.asnumpy()
        assert np.isfinite(g).all(), g
        assert_almost_equal(g, tensors[i].grad.numpy(), rtol=1e-6, atol=1e-7)


def test_sigmoid_bce_extreme_logits(ctx):
    y = np.array([[0, 1, 1, 0, 1], [0, 1, 0, 1, 0]], np.float32)
    _extreme_case(ctx, gloss.SigmoidBCELoss, [EXTREME_X, y],
                  lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction="none")
                  .mean(1))
    pw = np.array([[2.0, 0.5, 3.0, 1.0, 4.0]], np.float32)

    def with_pos_weight():
        loss = gloss.SigmoidBCELoss()
        pos = nd.array(pw, ctx=ctx)
        return lambda x, t: loss(x, t, pos_weight=pos)
    _extreme_case(ctx, with_pos_weight, [EXTREME_X, y],
                  lambda x, t: F.binary_cross_entropy_with_logits(
                      x, t, pos_weight=torch.tensor(pw[0], dtype=torch.float64),
                      reduction="none").mean(1))
    # the value itself is exact: loss(1e4, 0) = 1e4, loss(1e4, 1) = 0
    out = gloss.SigmoidBCELoss()(nd.array([[BIG, BIG, -BIG]], ctx=ctx),
                                 nd.array([[0, 1, 1]], ctx=ctx))
    assert_almost_equal(out, np.array([2 * BIG / 3]), rtol=1e-7, atol=0)


def test_logistic_loss_extreme_logits(ctx):
    y = np.array([[1, -1, -1, 1, 1], [1, 1, -1, -1, -1]], np.float32)
    _extreme_case(ctx, gloss.LogisticLoss, [EXTREME_X, y],
                  lambda x, t: F.softplus(-t * x).mean(1))   # soft_margin_loss overflows


def test_softmax_ce_extreme_logits(ctx):
    labels = np.array([1, 0], np.float32)
    _extreme_case(ctx, gloss.SoftmaxCELoss, [EXTREME_X, labels],
                  lambda x, t: F.cross_entropy(x, t.long(), reduction="none"))
    dense = _distribution((2, C), 60)
    _extreme_case(ctx, lambda: gloss.SoftmaxCELoss(sparse_label=False), [EXTREME_X, dense],
                  lambda x, t: F.cross_entropy(x, t, reduction="none"))
    _extreme_case(ctx, lambda: gloss.KLDivLoss(from_logits=False), [EXTREME_X, dense],
                  lambda x, t: F.kl_div(torch.log_softmax(x, 1), t, reduction="none").mean(1))


def test_ctc_loss_extreme_logits(ctx):
    T, n, alphabet = 6, 3, 4
    pred = np.where(_normal((n, T, alphabet), 61) > 0, BIG, -BIG).astype(np.float32)
    pred[0, :, 3] = BIG                            # sequence 0: the blank dominates everywhere
    labels = np.array([[1, 0, -1], [2, 2, -1], [0, 1, 2]], np.float32)

    def torch_ref(x, lab):
        lens = (lab >= 0).sum(1)
        return _ctc_torch(x.transpose(0, 1), lab, torch.full((n,), T), lens)
    _extreme_case(ctx, gloss.CTCLoss, [pred, labels], torch_ref)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("make,inputs,pieces", [
    (gloss.L2Loss, [(4, 3), (4, 2)], ["L2Loss", "(4, 2)", "(4, 3)"]),
    (gloss.L1Loss, [(4, 3), (3, 4, 2)], ["L1Loss", "(3, 4, 2)", "(4, 3)"]),
    (gloss.SigmoidBCELoss, [(4, 3), (5,)], ["SigmoidBinaryCrossEntropyLoss", "(5,)", "(4, 3)"]),
    (gloss.HuberLoss, [(2, 3), (2, 2)], ["HuberLoss", "(2, 2)", "(2, 3)"]),
    (gloss.HingeLoss, [(2, 3), (3, 3)], ["HingeLoss", "(3, 3)", "(2, 3)"]),
    (gloss.SquaredHingeLoss, [(2, 3), (7,)], ["SquaredHingeLoss", "(7,)", "(2, 3)"]),
    (gloss.LogisticLoss, [(2, 3), (2, 4)], ["LogisticLoss", "(2, 4)", "(2, 3)"]),
    (gloss.PoissonNLLLoss, [(2, 3), (2, 4)], ["PoissonNLLLoss", "(2, 4)", "(2, 3)"]),
    (gloss.SoftmaxCELoss, [(4, 5), (5,)], ["SoftmaxCrossEntropyLoss", "(5,)", "(4, 5)"]),
    (lambda: gloss.SoftmaxCELoss(sparse_label=False), [(4, 5), (4, 4)],
     ["SoftmaxCrossEntropyLoss", "(4, 4)", "(4, 5)"]),
    (gloss.KLDivLoss, [(4, 5), (4, 3)], ["KLDivLoss", "(4, 3)", "(4, 5)"]),
    (gloss.TripletLoss, [(4, 5), (4, 5), (4, 4)], ["TripletLoss", "(4, 4)", "(4, 5)"]),
    (gloss.CosineEmbeddingLoss, [(4, 5), (4, 5), (3,)], ["CosineEmbeddingLoss", "(3,)",
                                                          "(4, 5)"]),
    (gloss.CosineEmbeddingLoss, [(4, 6), (4, 5), (4,)], ["CosineEmbeddingLoss", "(4, 6)",
                                                          "(4, 5)"]),
    (gloss.SDMLLoss, [(4, 5), (4, 6)], ["SDMLLoss", "(4, 5)", "(4, 6)"]),
    (gloss.CTCLoss, [(3, 6, 4), (2, 3)], ["CTCLoss", "(3, 6, 4)", "(2, 3)"]),
])
@pytest.mark.parametrize("hybridized", [False, True], ids=["imperative", "hybridized"])
def test_shape_mismatch_names_loss_and_shapes(make, inputs, pieces, hybridized, ctx):
    arrays = [nd.zeros(shape, ctx=ctx) for shape in inputs]
    loss_fn = make()
    if hybridized:
        loss_fn.hybridize()
    for _ in range(2):           # the error again on a second call (no capture was kept)
        with pytest.raises(ValueError) as err:
            loss_fn(*arrays)
        message = str(err.value)
        for piece in pieces:
            assert piece in message, (piece, message)


def test_sample_weight_that_does_not_fit_is_an_error(ctx):
    pred, label = nd.zeros((4, 3), ctx=ctx), nd.zeros((4, 3), ctx=ctx)
    with pytest.raises(ValueError, match=r"L2Loss.*sample_weight of shape \(4,\).*\(4, 3\)"):
        gloss.L2Loss()(pred, label, nd.ones((4,), ctx=ctx))
    # (N,) against SoftmaxCE's (N, 1) loss would silently broadcast to (N, N) in MXNet
    with pytest.raises(ValueError, match=r"sample_weight of shape \(4,\).*\(4, 1\)"):
        gloss.SoftmaxCELoss()(pred, nd.zeros((4,), ctx=ctx), sample_weight=nd.ones((4,), ctx=ctx))
    hybrid = gloss.SoftmaxCELoss()
    hybrid.hybridize()
    with pytest.raises(ValueError, match=r"sample_weight of shape \(4,\).*\(4, 1\)"):
        hybrid(pred, nd.zeros((4,), ctx=ctx), sample_weight=nd.ones((4,), ctx=ctx))


def test_constructor_errors():
    with pytest.raises(TypeError, match="L1Loss: weight must be a number"):
        gloss.L1Loss(weight="2")
    with pytest.raises(ValueError, match="label_format"):
        gloss.LogisticLoss(label_format="zero_one")
    with pytest.raises(ValueError, match="'NCT'"):
        gloss.CTCLoss(layout="NCT")
    with pytest.raises(ValueError, match="'NN'"):
        gloss.CTCLoss(label_layout="NN")
    with pytest.raises(ValueError, match="at least 2"):
        gloss.SDMLLoss()(nd.zeros((1, 3)), nd.zeros((1, 3)))


# ---------------------------------------------------- numeric gradients
def _numeric(ctx, fn, inputs):
    check_numeric_gradient(fn, inputs, order=1, rtol=1e-4, atol=1e-6, ctx=ctx)


def test_numeric_gradient_sigmoid_bce_pos_weight(ctx):
    y = nd.array(_uniform((3, 4), 70), ctx=ctx, dtype="float64")
    pw = nd.array(_uniform((1, 4), 71, 0.5, 3.0), ctx=ctx, dtype="float64")
    sw = nd.array(_uniform((3, 1), 72), ctx=ctx, dtype="float64")
    loss = gloss.SigmoidBCELoss(weight=0.5)
    _numeric(ctx, lambda x: loss(x, y, sw, pw), [_normal((3, 4), 73) * 3])


def test_numeric_gradient_softmax_ce_dense_and_kl(ctx):
    dense = gloss.SoftmaxCELoss(axis=1, sparse_label=False)
    kl = gloss.KLDivLoss(from_logits=False, axis=1)
    _numeric(ctx, lambda x, y: dense(x, y) + kl(x, y),
             [_normal((2, 3, 4), 74), _distribution((2, 3, 4), 75)])


def test_numeric_gradient_cosine_triplet_huber(ctx):
    label = nd.array([1, -1, 1], ctx=ctx, dtype="float64")
    cos = gloss.CosineEmbeddingLoss(margin=0.1)
    trip = gloss.TripletLoss(margin=2.0)
    huber = gloss.HuberLoss(rho=0.7)
    _numeric(ctx, lambda a, b, c: cos(a, b, label) + trip(a, b, c) + huber(a, c),
             [_normal((3, 4), 76), _normal((3, 4), 77), _normal((3, 4), 78)])


def test_numeric_gradient_sdml_and_poisson(ctx):
    target = nd.array(_stirling_target()[:3, :4], ctx=ctx, dtype="float64")
    sdml = gloss.SDMLLoss(smoothing_parameter=0.2)
    poisson = gloss.PoissonNLLLoss(compute_full=True)
    _numeric(ctx, lambda a, b: sdml(a, b) + poisson(a, target),
             [_normal((3, 4), 79), _normal((3, 4), 80)])


# -------------------------------------------------- MXNet's face details
def test_repr_aliases_and_defaults():
    assert repr(gloss.L2Loss()) == "L2Loss(batch_axis=0, w=1.0)"
    assert repr(gloss.SoftmaxCELoss(weight=2, batch_axis=1)) == \
        "SoftmaxCrossEntropyLoss(batch_axis=1, w=2)"
    assert gloss.SigmoidBCELoss is gloss.SigmoidBinaryCrossEntropyLoss
    assert gloss.SoftmaxCELoss is gloss.SoftmaxCrossEntropyLoss
    assert isinstance(gloss.L1Loss(), fw.HybridBlock)
    assert gloss.L1Loss()._weight is None and gloss.SDMLLoss()._weight == 1.0
    assert gloss.CTCLoss(label_layout="TN")._batch_axis == 1
    assert gloss.HuberLoss()._rho == 1 and gloss.HingeLoss()._margin == 1
    assert gloss.CosineEmbeddingLoss()._margin == 0
    assert gloss.PoissonNLLLoss()._from_logits and not gloss.PoissonNLLLoss()._compute_full
    assert gloss.KLDivLoss()._from_logits


def test_batch_axis_and_positional_sample_weight(ctx):
    pred, label = _normal((3, 4), 81), _normal((3, 4), 82)
    sw = _uniform((1, 4), 83)
    out = gloss.L2Loss(batch_axis=1)(nd.array(pred, ctx=ctx), nd.array(label, ctx=ctx),
                                     nd.array(sw, ctx=ctx))
    assert out.shape == (4,)
    assert_almost_equal(out, (0.5 * (pred - label) ** 2 * sw).mean(0), rtol=1e-6, atol=1e-7)


def test_hybridized_loss_gives_the_same(ctx):
    pred, label = nd.array(_normal((N, C), 84), ctx=ctx), nd.array(_classes((N,), 85), ctx=ctx)
    loss = gloss.SoftmaxCELoss()
    eager = loss(pred, label).asnumpy()
    loss.hybridize()
    assert_almost_equal(loss(pred, label), eager, rtol=0, atol=0)


def _hybrid_cases():
    """Every loss of CASES, and CTC with and without lengths (keyword sample_weight)."""
    T, n, alphabet = 9, 3, 4
    pred = _normal((n, T, alphabet), 53) * 2
    frames = np.array([9, 7, 8], np.float32)
    ctc = [LossCase("CTCLoss", lambda: gloss.CTCLoss(weight=2.0), [pred, CTC_LABELS], (0,),
                    None, {"sample_weight": _uniform((n,), 54, 0.5, 2.0)}),
           LossCase("CTCLoss lengths", lambda: gloss.CTCLoss(layout="NTC", label_layout="NT"),
                    [pred, CTC_LABELS, frames, CTC_LABEL_LENGTHS.astype(np.float32)], (0,),
                    None)]
    return CASES + ctc


@pytest.mark.parametrize("case", _hybrid_cases(), ids=str)
def test_loss_hybridized_equals_imperative(case: LossCase, ctx):
    """``loss.hybridize()`` captures the loss (no fallback warning): value and input
    gradients equal the imperative ones bit for bit, under record and without, on two
    calls with different inputs (the second a replay)."""
    from framework.ndarray.cached_op import _IMPERATIVE

    def run(loss_fn, scale, train):
        arrays = [nd.array(h * scale if i in case.grad else h, ctx=ctx)
                  for i, h in enumerate(case.inputs)]
        keywords = {k: nd.array(v, ctx=ctx) for k, v in case.keywords.items()}
        if not train:
            return [loss_fn(*arrays, **keywords).asnumpy()]
        for i in case.grad:
            arrays[i].attach_grad()
        with autograd.record():
            out = loss_fn(*arrays, **keywords)
        out.backward(nd.array(_normal(out.shape, 99), ctx=ctx))
        return [out.asnumpy()] + [arrays[i].grad.asnumpy() for i in case.grad]

    plain, hybrid = case.make(), case.make()
    hybrid.hybridize()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)          # a fallback warns: fail
        for scale in (1.0, 0.5):
            for train in (True, False):
                for want, got in zip(run(plain, scale, train), run(hybrid, scale, train)):
                    np.testing.assert_array_equal(got, want, err_msg=case.name)
    entries = hybrid._cached_op.entries
    assert entries and all(e is not _IMPERATIVE for e in entries.values()), case.name


def test_loss_trains_a_dense_layer():
    """The loop of a Gluon script: record, loss, backward, the gradient reaches weights."""
    net = fw.nn.Dense(3, in_units=4)
    net.initialize()
    x, y = nd.array(_normal((5, 4), 86)), nd.array(_classes((5,), 87, 3))
    with autograd.record():
        loss = gloss.SoftmaxCrossEntropyLoss()(net(x), y)
    loss.backward()
    assert loss.shape == (5,)
    assert float(np.abs(net.weight.grad().asnumpy()).sum()) > 0
    assert math.isfinite(float(loss.mean().asscalar()))


def test_mxnet_private_helpers_for_custom_losses(ctx):
    """Scripts that define their own Loss import MXNet's two helpers."""
    loss = nd.array([[1.0, 2.0], [3.0, 4.0]], ctx=ctx)
    weighted = gloss._apply_weighting(nd, loss, 2.0, nd.array([[1.0], [0.5]], ctx=ctx))
    assert_almost_equal(weighted, np.array([[2.0, 4.0], [3.0, 4.0]]), rtol=0, atol=0)
    assert gloss._reshape_like(nd, nd.zeros((4,), ctx=ctx), loss).shape == (2, 2)


def _required_inputs(loss_fn) -> int:
    """How many inputs ``loss_fn.hybrid_forward`` needs (those without a default)."""
    return sum(default is inspect.Parameter.empty
               for default in gloss._positional_inputs(type(loss_fn)).values()) + 1


def _graph_cases():
    return [c for c in _hybrid_cases() if not c.name.startswith("SDMLLoss")]


@pytest.mark.parametrize("case", _graph_cases(), ids=str)
def test_loss_graph_equals_imperative_and_exports(case: LossCase, ctx, tmp_path):
    """With Symbol inputs a loss gives its graph (``F=framework.sym``): run as a
    SymbolBlock with the case's keyword inputs, and exported then imported with its
    required inputs, it gives the imperative loss and input gradients."""
    loss_fn = case.make()
    names = [f"data{i}" for i in range(len(case.inputs))]
    graph = loss_fn(*[fw.sym.var(n) for n in names],
                    **{k: fw.sym.var(k) for k in case.keywords})
    assert isinstance(graph, fw.sym.Symbol)
    every = fw.SymbolBlock(graph, [fw.sym.var(n) for n in names + list(case.keywords)])
    required = _required_inputs(loss_fn)
    files = loss_fn.export(str(tmp_path / "loss"))
    imported = fw.SymbolBlock.imports(files[0], names[:required], files[1], ctx=ctx)

    def run(block, inputs, keywords):
        arrays = [nd.array(h, ctx=ctx) for h in inputs]
        for i in case.grad:
            arrays[i].attach_grad()
        extra = [nd.array(v, ctx=ctx) for v in keywords.values()]
        with autograd.record():
            out = block(*arrays, *extra) if block is not loss_fn else \
                block(*arrays, **dict(zip(keywords, extra)))
        out.backward(nd.array(_normal(out.shape, 99), ctx=ctx))
        return [out.asnumpy()] + [arrays[i].grad.asnumpy() for i in case.grad]

    for block, inputs, keywords in ((every, case.inputs, case.keywords),
                                    (imported, case.inputs[:required], {})):
        want = run(loss_fn, inputs, keywords)
        got = run(block, inputs, keywords)
        for w, g in zip(want, got):
            assert_almost_equal(g, w, rtol=1e-5, atol=1e-6, names=("graph", case.name))


def test_sdml_loss_says_it_needs_ndarrays():
    with pytest.raises(TypeError, match="SDMLLoss.*batch size"):
        gloss.SDMLLoss()(fw.sym.var("x1"), fw.sym.var("x2"))
