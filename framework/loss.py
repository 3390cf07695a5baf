"""Losses (MXNet 1.x ``gluon.loss``): ``Loss`` and the losses built on it.

Each loss is a HybridBlock whose ``hybrid_forward(F, pred, label, ...)`` returns the
per-sample loss, shape (batch,): the elementwise loss, times ``sample_weight``
(broadcast) and the scalar ``weight``, averaged over every axis but
``batch_axis``. Formulas and defaults are MXNet 1.9.1's.

The losses are composites of differentiable ``nd`` operators (so they differentiate
to any order), written to stay finite and exact at extreme logits: the logistic
losses use ``softrelu`` (log(1 + exp(x)), stable, gradient sigmoid(x)) and the
softmax losses ``log_softmax``. CTC's forward-backward recursion is its own
operator, ``nd.CTCLoss``.

A label whose shape differs from the prediction's is reshaped to it, as MXNet does,
when both have the same number of elements; otherwise the error names the loss and
both shapes. Keyword inputs work too: ``loss(pred, label, sample_weight=w)``.

Symbol inputs give the loss's graph (``hybrid_forward`` with ``F=framework.sym``), so a
loss exports (``loss.export``) and sits inside a symbolic graph as in MXNet. Shapes are
unknown there: the label is reshaped with ``reshape_like``, sample weights broadcast
with ``broadcast_mul``, the per-sample mean is ``mean(axis=batch_axis, exclude=True)``,
and shapes that do not fit are reported by those operators when the graph runs (not
by the loss's own checks). ``SDMLLoss`` needs the batch size itself, so it takes
NDArrays only (as in MXNet).
"""
from __future__ import annotations

import functools
import inspect
import math
import numbers
from typing import Dict, Optional, Tuple

from . import ndarray as _nd
from . import symbol as _sym
from .block import HybridBlock
from .ndarray import NDArray
from .ndarray.ops.softmax import sparse_softmax_cross_entropy
from .parameter import DeferredInitializationError

__all__ = ["Loss", "L2Loss", "L1Loss", "SigmoidBinaryCrossEntropyLoss", "SigmoidBCELoss",
           "SoftmaxCrossEntropyLoss", "SoftmaxCELoss", "KLDivLoss", "CTCLoss", "HuberLoss",
           "HingeLoss", "SquaredHingeLoss", "LogisticLoss", "TripletLoss", "PoissonNLLLoss",
           "CosineEmbeddingLoss", "SDMLLoss"]


# ------------------------------------------------------------------ helpers
def _broadcastable(a: Tuple[int, ...], b: Tuple[int, ...]) -> bool:
    """Whether shapes ``a`` and ``b`` broadcast together (NumPy's rule)."""
    for x, y in zip(reversed(a), reversed(b)):
        if x != y and x != 1 and y != 1:
            return False
    return True


def _broadcasts_to(a: Tuple[int, ...], b: Tuple[int, ...]) -> bool:
    """Whether shape ``a`` broadcasts to exactly shape ``b``."""
    return len(a) <= len(b) and all(x == y or x == 1 for x, y in zip(reversed(a), reversed(b)))


def _per_sample(shape: Tuple[int, ...], batch_axis: int) -> Tuple[int, ...]:
    """The shape of one weight per sample for a loss of ``shape``."""
    if not -len(shape) <= batch_axis < len(shape):
        return shape
    axis = batch_axis % len(shape)
    return tuple(d if i == axis else 1 for i, d in enumerate(shape))


def _apply_weighting(F, loss: NDArray, weight=None, sample_weight=None) -> NDArray:
    """MXNet's helper: ``loss * sample_weight`` (broadcast), then ``* weight``."""
    if sample_weight is not None:
        loss = F.broadcast_mul(loss, sample_weight)
    if weight is not None:
        if not isinstance(weight, numbers.Number):
            raise TypeError(f"weight must be a number, got {type(weight).__name__}")
        loss = loss * weight
    return loss


@functools.lru_cache(maxsize=None)
def _positional_inputs(loss_class) -> Dict[str, object]:
    """The inputs after pred that ``loss_class.hybrid_forward(self, F, pred, ...)`` takes
    by position: name -> default (``inspect.Parameter.empty`` when required)."""
    found = {}
    parameters = list(inspect.signature(loss_class.hybrid_forward).parameters.values())
    for p in parameters[3:]:
        if p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
            break
        found[p.name] = p.default
    return found


def _reshape_like(F, x: NDArray, y: NDArray) -> NDArray:
    """MXNet's helper: ``x`` reshaped to ``y``'s shape (same number of elements)."""
    if isinstance(x, _sym.Symbol) or isinstance(y, _sym.Symbol):
        return _sym.reshape_like(x, y)
    return x if x.shape == y.shape else x.reshape(y.shape)


class Loss(HybridBlock):
    """Base class of the losses: ``weight`` (a number or None) scales the loss;
    ``batch_axis`` is the axis of the samples, the one the result keeps.

    Subclasses define ``hybrid_forward(F, pred, label, sample_weight=None)``;
    inputs may be given by keyword (``loss(pred, label, sample_weight=w)``).
    """

    def __init__(self, weight, batch_axis, **kwargs) -> None:
        if weight is not None and (not isinstance(weight, numbers.Number)
                                   or isinstance(weight, bool)):
            raise TypeError(f"{type(self).__name__}: weight must be a number or None, got "
                            f"{type(weight).__name__} {weight!r}")
        if not isinstance(batch_axis, numbers.Integral) or isinstance(batch_axis, bool):
            raise TypeError(f"{type(self).__name__}: batch_axis must be an int, got "
                            f"{batch_axis!r}")
        super().__init__(**kwargs)
        self._weight = weight
        self._batch_axis = int(batch_axis)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batch_axis={self._batch_axis}, w={self._weight})"

    def forward(self, pred, *args, **kwargs):
        """``hybrid_forward(framework.nd, pred, *args, **kwargs)`` (plus any Parameters
        a subclass registers, on pred's context). Hybridized (``loss.hybridize()``), the
        call goes through the block's captured graph as any HybridBlock's does; keyword
        inputs are passed by position first (``sample_weight=w``)."""
        if not isinstance(pred, (NDArray, _sym.Symbol)):
            raise TypeError(f"{self._describe()}: the prediction must be an NDArray or a "
                            f"Symbol, got {type(pred).__name__}")
        if kwargs:
            positional = self._positional(len(args), kwargs)
            if positional is None:         # a keyword without a position: run it as written
                return self._call_with_keywords(pred, args, kwargs)
            args = args + positional
        return super().forward(pred, *args)

    def _positional(self, given: int, kwargs) -> Optional[tuple]:
        """The keyword inputs as the positional ones that follow ``given`` positional
        inputs after pred, in ``hybrid_forward``'s order (defaults fill the gaps), or
        None when one has no position there (then the call runs as written)."""
        order = _positional_inputs(type(self))
        names = list(order)
        places = [names.index(k) if k in order else -1 for k in kwargs]
        if min(places) < given:
            return None                    # unknown, or also given by position
        out = []
        for name, default in list(order.items())[given:max(places) + 1]:
            if name in kwargs:
                out.append(kwargs[name])
            elif default is inspect.Parameter.empty:
                return None                # a required input missing: hybrid_forward says so
            else:
                out.append(default)
        return tuple(out)

    def _call_with_keywords(self, pred, args, kwargs):
        """``hybrid_forward(framework.nd, pred, *args, **kwargs)`` now (not captured), or
        with ``framework.sym`` for a Symbol ``pred``."""
        if isinstance(pred, _sym.Symbol):
            return self._symbol_call(pred, *args, **kwargs)
        if self._reg_params:
            ctx = pred.context
            try:
                params = self._param_data(ctx)
            except DeferredInitializationError:
                self._finish_deferred_init(pred, *args)
                params = self._param_data(ctx)
            kwargs = dict(kwargs, **params)
        return self.hybrid_forward(_nd, pred, *args, **kwargs)

    def hybrid_forward(self, F, x, *args, **kwargs):
        """The loss of ``x`` against the other inputs; subclasses override it."""
        raise NotImplementedError(f"{type(self).__name__} must define hybrid_forward()")

    # ------------------------------------------------ shared steps, with errors
    def _like(self, x, pred: NDArray, what: str = "label") -> NDArray:
        """``x`` reshaped to ``pred``'s shape (MXNet's reshape_like): the sizes must match."""
        if isinstance(pred, _sym.Symbol):
            return _sym.reshape_like(x, pred)
        if not isinstance(x, NDArray):
            raise TypeError(f"{self._describe()}: {what} must be an NDArray, got "
                            f"{type(x).__name__}")
        if x.shape == pred.shape:
            return x
        if x.size != pred.size:
            raise ValueError(
                f"{self._describe()}: {what} of shape {x.shape} ({x.size} elements) does not "
                f"fit the prediction of shape {pred.shape} ({pred.size} elements); "
                f"{type(self).__name__} reshapes {what} to the prediction's shape, so both "
                f"need the same number of elements")
        return x.reshape(pred.shape)

    def _weighted(self, loss: NDArray, sample_weight, weight=None) -> NDArray:
        """``loss * sample_weight * weight`` (MXNet's ``_apply_weighting``); ``weight``
        defaults to the loss's own."""
        if isinstance(sample_weight, _sym.Symbol) or isinstance(loss, _sym.Symbol):
            if sample_weight is not None:
                loss = _sym.broadcast_mul(loss, sample_weight) \
                    if isinstance(sample_weight, _sym.Symbol) else loss * sample_weight
        elif sample_weight is not None:
            if isinstance(sample_weight, NDArray):
                if not _broadcasts_to(sample_weight.shape, loss.shape):
                    per_sample = _per_sample(loss.shape, self._batch_axis)
                    raise ValueError(
                        f"{self._describe()}: sample_weight of shape {sample_weight.shape} "
                        f"does not broadcast to the shape of the elementwise loss, "
                        f"{loss.shape}; give it that shape or one with 1 in place of the "
                        f"other axes (one weight per sample: {per_sample})")
            elif not isinstance(sample_weight, numbers.Number):
                raise TypeError(f"{self._describe()}: sample_weight must be an NDArray or a "
                                f"number, got {type(sample_weight).__name__}")
            loss = loss * sample_weight
        weight = self._weight if weight is None else weight
        if weight is not None and weight != 1:
            loss = loss * weight
        return loss

    def _batch_mean(self, loss: NDArray) -> NDArray:
        """The mean over every axis but ``batch_axis``: shape (batch,)."""
        axis = self._batch_axis
        if isinstance(loss, _sym.Symbol):
            return _sym.mean(loss, axis=axis, exclude=True)
        if not -loss.ndim <= axis < loss.ndim:
            raise ValueError(f"{self._describe()}: batch_axis {axis} is out of range for the "
                             f"elementwise loss of shape {loss.shape}")
        if loss.ndim == 1:
            return loss
        batch = loss.shape[axis]
        if loss.size == batch:                   # (N, 1) and the like: nothing to average
            return loss.reshape((batch,))
        return _nd.mean(loss, axis=axis, exclude=True)


# ------------------------------------------------------------ regression
class L2Loss(Loss):
    """L = weight / 2 * (label - pred)^2, averaged per sample. ``label``: pred's size."""

    def __init__(self, weight=1., batch_axis=0, **kwargs) -> None:
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = self._like(label, pred)
        loss = F.square(label - pred)
        half = 0.5 if self._weight is None else self._weight / 2
        return self._batch_mean(self._weighted(loss, sample_weight, half))


class L1Loss(Loss):
    """L = |label - pred|, averaged per sample. ``label``: pred's size."""

    def __init__(self, weight=None, batch_axis=0, **kwargs) -> None:
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = self._like(label, pred)
        loss = F.abs(label - pred)
        return self._batch_mean(self._weighted(loss, sample_weight))


class HuberLoss(Loss):
    """L = |d| - rho/2 where |d| > rho, else d^2 / (2 rho); d = label - pred
    (PyTorch's smooth_l1_loss with beta=rho)."""

    def __init__(self, rho=1, weight=None, batch_axis=0, **kwargs) -> None:
        if not rho > 0:
            raise ValueError(f"HuberLoss: rho must be positive, got {rho!r}")
        super().__init__(weight, batch_axis, **kwargs)
        self._rho = rho

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = self._like(label, pred)
        dist = F.abs(label - pred)
        loss = F.where(dist > self._rho, dist - 0.5 * self._rho,
                       (0.5 / self._rho) * F.square(dist))
        return self._batch_mean(self._weighted(loss, sample_weight))


# -------------------------------------------------------- classification
class SigmoidBinaryCrossEntropyLoss(Loss):
    """Binary cross-entropy of sigmoid(pred) (or of pred, ``from_sigmoid=True``) against
    ``label`` in [0, 1]:

        L = -(pos_weight * label * log(p) + (1 - label) * log(1 - p))

    From logits it is computed as softrelu(pred) - pred * label (with ``pos_weight``:
    (1 - label) * pred + (1 + (pos_weight - 1) * label) * softrelu(-pred)), finite and
    exact for any logit. ``pos_weight`` broadcasts against pred (e.g. (1, classes)).
    """

    def __init__(self, from_sigmoid=False, weight=None, batch_axis=0, **kwargs) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._from_sigmoid = from_sigmoid

    def hybrid_forward(self, F, pred, label, sample_weight=None, pos_weight=None):
        label = self._like(label, pred)
        if isinstance(pred, NDArray) and isinstance(pos_weight, NDArray) and \
                not _broadcastable(pred.shape, pos_weight.shape):
            raise ValueError(f"{self._describe()}: pos_weight of shape {pos_weight.shape} does "
                             f"not broadcast to the prediction of shape {pred.shape}")
        if not self._from_sigmoid:
            if pos_weight is None:
                loss = F.softrelu(pred) - pred * label
            else:
                log_weight = (pos_weight - 1) * label + 1
                loss = (1 - label) * pred + log_weight * F.softrelu(-pred)
        else:
            eps = 1e-12
            positive = F.log(pred + eps) * label
            if pos_weight is not None:
                positive = positive * pos_weight
            loss = -(positive + F.log(1. - pred + eps) * (1. - label))
        return self._batch_mean(self._weighted(loss, sample_weight))


SigmoidBCELoss = SigmoidBinaryCrossEntropyLoss


class SoftmaxCrossEntropyLoss(Loss):
    """Cross-entropy of softmax(pred) along ``axis`` (log_softmax: exact for any logit).

    ``sparse_label=True``: label holds class indices, shape pred's without ``axis``
    (or with 1 there); L = -log_softmax(pred)[label]. ``sparse_label=False``: label is
    a distribution of pred's size; L = -sum(label * log_softmax(pred)) along ``axis``.
    ``from_logits=True`` takes pred as log-probabilities already.
    """

    def __init__(self, axis=-1, sparse_label=True, from_logits=False, weight=None,
                 batch_axis=0, **kwargs) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._axis = axis
        self._sparse_label = sparse_label
        self._from_logits = from_logits

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        axis = self._axis
        if isinstance(pred, NDArray):
            if not -pred.ndim <= axis < pred.ndim:
                raise ValueError(f"{self._describe()}: axis {axis} is out of range for the "
                                 f"prediction of shape {pred.shape}")
            if self._sparse_label:
                a = self._check_sparse_label(pred, label)
                if F is _nd and not self._from_logits and pred.shape[a]:
                    # one operator; (N, C) scores without sample weights give (N,) at once
                    keep = pred.ndim != 2 or sample_weight is not None or \
                        a == self._batch_axis % 2
                    loss = sparse_softmax_cross_entropy(pred, label, a, keepdims=keep)
                    return self._batch_mean(self._weighted(loss, sample_weight))
        if self._sparse_label:
            if not self._from_logits:
                pred = F.log_softmax(pred, axis)
            loss = -F.pick(pred, label, axis=axis, keepdims=True)
        else:
            if not self._from_logits:
                pred = F.log_softmax(pred, axis)
            label = self._like(label, pred)
            loss = -F.sum(pred * label, axis=axis, keepdims=True)
        return self._batch_mean(self._weighted(loss, sample_weight))

    def _check_sparse_label(self, pred: NDArray, label) -> int:
        """The class axis (non-negative), after checking that ``label`` holds one class
        index per position of ``pred``."""
        if not isinstance(label, NDArray):
            raise TypeError(f"{self._describe()}: label must be an NDArray, got "
                            f"{type(label).__name__}")
        a, shape = self._axis % pred.ndim, pred.shape
        if label.shape != shape[:a] + shape[a + 1:] and \
                label.shape != shape[:a] + (1,) + shape[a + 1:]:
            raise ValueError(
                f"{self._describe()}: label of shape {label.shape} does not fit the "
                f"prediction of shape {shape}: with sparse_label=True the label holds one "
                f"class index per position, shape {shape[:a] + shape[a + 1:]} (the "
                f"prediction's without axis {self._axis})")
        return a


SoftmaxCELoss = SoftmaxCrossEntropyLoss


class KLDivLoss(Loss):
    """L = label * (log(label + 1e-12) - pred), averaged per sample; pred holds
    log-probabilities (``from_logits=True``) or scores turned into them by log_softmax
    along ``axis``. ``label`` broadcasts against pred."""

    def __init__(self, from_logits=True, axis=-1, weight=None, batch_axis=0, **kwargs) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._axis = axis

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        if isinstance(pred, NDArray):
            if not isinstance(label, NDArray):
                raise TypeError(f"{self._describe()}: label must be an NDArray, got "
                                f"{type(label).__name__}")
            if not _broadcastable(pred.shape, label.shape):
                raise ValueError(f"{self._describe()}: label of shape {label.shape} does not "
                                 f"broadcast to the prediction of shape {pred.shape}")
        if not self._from_logits:
            pred = F.log_softmax(pred, self._axis)
        loss = label * (F.log(label + 1e-12) - pred)
        return self._batch_mean(self._weighted(loss, sample_weight))


class HingeLoss(Loss):
    """L = max(0, margin - pred * label), label in {-1, 1}, averaged per sample."""

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = self._like(label, pred)
        loss = F.relu(self._margin - pred * label)
        return self._batch_mean(self._weighted(loss, sample_weight))


class SquaredHingeLoss(Loss):
    """L = max(0, margin - pred * label)^2, label in {-1, 1}, averaged per sample."""

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = self._like(label, pred)
        loss = F.square(F.relu(self._margin - pred * label))
        return self._batch_mean(self._weighted(loss, sample_weight))


class LogisticLoss(Loss):
    """L = log(1 + exp(-pred * label)) for label in {-1, 1} (``label_format='signed'``)
    or the same with label in {0, 1} mapped to it (``'binary'``); computed as
    softrelu(pred) - pred * (label + 1) / 2, exact for any logit."""

    def __init__(self, weight=None, batch_axis=0, label_format='signed', **kwargs) -> None:
        if label_format not in ("signed", "binary"):
            raise ValueError(f"LogisticLoss: label_format can only be 'signed' or 'binary', "
                             f"got {label_format!r}")
        super().__init__(weight, batch_axis, **kwargs)
        self._label_format = label_format

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        label = self._like(label, pred)
        if self._label_format == "signed":
            label = (label + 1.0) / 2.0
        loss = F.softrelu(pred) - pred * label
        return self._batch_mean(self._weighted(loss, sample_weight))


# ---------------------------------------------------------------- metric
class TripletLoss(Loss):
    """L = max(0, sum(|positive - pred|^2 - |negative - pred|^2) + margin), summed over
    every axis but ``batch_axis`` (squared distances, as MXNet); shape (batch,)."""

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, positive, negative, sample_weight=None):
        positive = self._like(positive, pred, "positive")
        negative = self._like(negative, pred, "negative")
        gap = F.square(positive - pred) - F.square(negative - pred)
        axis = self._batch_axis
        if isinstance(gap, _sym.Symbol):         # (a sum over no axis is the identity)
            gap = F.sum(gap, axis=axis, exclude=True)
        else:
            if not -gap.ndim <= axis < gap.ndim:
                raise ValueError(f"{self._describe()}: batch_axis {axis} is out of range "
                                 f"for the prediction of shape {pred.shape}")
            if gap.ndim > 1:
                gap = F.sum(gap, axis=axis, exclude=True)
        loss = F.relu(gap + self._margin)
        return self._weighted(loss, sample_weight)


class CosineEmbeddingLoss(Loss):
    """With cos = cosine similarity of input1 and input2 along the last axis:
    L = 1 - cos where label == 1, else clip(cos - margin, 0, 1 - margin); one label
    per row; averaged per sample."""

    def __init__(self, weight=None, batch_axis=0, margin=0, **kwargs) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, input1, input2, label, sample_weight=None):
        if not isinstance(input2, (NDArray, _sym.Symbol)):
            raise TypeError(f"{self._describe()}: input2 must be an NDArray or a Symbol, "
                            f"got {type(input2).__name__}")
        input1 = self._like(input1, input2, "input1")
        cos_sim = self._cosine_similarity(F, input1, input2)
        if isinstance(cos_sim, _sym.Symbol):
            label = _sym.reshape_like(label, cos_sim)
        else:
            if not isinstance(label, NDArray):
                raise TypeError(f"{self._describe()}: label must be an NDArray, got "
                                f"{type(label).__name__}")
            if label.size != cos_sim.size:
                raise ValueError(f"{self._describe()}: label of shape {label.shape} must hold "
                                 f"one value per row of the inputs of shape {input2.shape} "
                                 f"({cos_sim.size} rows)")
            label = label.reshape(cos_sim.shape)
        loss = F.where(label == 1, 1 - cos_sim,
                       F.clip(cos_sim - self._margin, 0, 1 - self._margin))
        return self._batch_mean(self._weighted(loss, sample_weight))

    def _cosine_similarity(self, F, x, y, axis=-1):
        """x.y / max(|x| |y|, 1e-12) along ``axis``, as a column (rows, 1)."""
        x_norm = F.norm(x, axis=axis).reshape((-1, 1))
        y_norm = F.norm(y, axis=axis).reshape((-1, 1))
        x_dot_y = F.sum(x * y, axis=axis).reshape((-1, 1))
        return x_dot_y / F.maximum(x_norm * y_norm, 1e-12)


class PoissonNLLLoss(Loss):
    """Poisson negative log-likelihood of ``target`` counts:
    L = exp(pred) - target * pred (``from_logits=True``, pred = log rate) or
    pred - target * log(pred + epsilon); ``compute_full`` adds Stirling's term
    target * log(target) - target + log(2 pi target) / 2 where target > 1 (0 elsewhere,
    also for target 0, where MXNet 1.9.1 gives NaN). Averaged per sample."""

    def __init__(self, weight=None, from_logits=True, batch_axis=0, compute_full=False,
                 **kwargs) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._compute_full = compute_full

    def hybrid_forward(self, F, pred, target, sample_weight=None, epsilon=1e-08):
        target = self._like(target, pred, "target")
        if self._from_logits:
            loss = F.exp(pred) - target * pred
        else:
            loss = pred - target * F.log(pred + epsilon)
        if self._compute_full:
            above_one = target > 1
            safe = F.maximum(target, 1)          # log(target) only where it is used
            stirling = safe * F.log(safe) - safe + 0.5 * F.log(2 * math.pi * safe)
            loss = loss + stirling * above_one
        return self._batch_mean(self._weighted(loss, sample_weight))


class SDMLLoss(Loss):
    """Batchwise Smoothed Deep Metric Learning loss (Bonadiman et al., 2019).

    x1, x2: (batch, dim), row i of x2 the positive of row i of x1, the other rows its
    negatives. With d_ij = |x1_i - x2_j|^2 and smoothed targets t = (1 - s) on the
    diagonal and s / (batch - 1) elsewhere (s = ``smoothing_parameter``):
    L_i = mean_j t_ij * (log(t_ij + 1e-12) - log_softmax(-d_i)_j); shape (batch,).
    ``weight`` (default 1) scales it.
    """

    def __init__(self, smoothing_parameter=0.3, weight=1., batch_axis=0, **kwargs) -> None:
        super().__init__(weight, batch_axis, **kwargs)
        self.kl_loss = KLDivLoss(from_logits=True)
        self.smoothing_parameter = smoothing_parameter

    def _compute_distances(self, F, x1, x2):
        """Squared Euclidean distances of every row of x1 to every row of x2: (batch, batch)."""
        diffs = F.expand_dims(x1, 1) - F.expand_dims(x2, 0)
        return F.sum(F.square(diffs), axis=2)

    def _compute_labels(self, F, batch_size, ctx, dtype):
        """The smoothed identity targets (batch, batch)."""
        gold = F.eye(batch_size, ctx=ctx, dtype=dtype)
        s = self.smoothing_parameter
        return gold * (1 - s) + (1 - gold) * (s / (batch_size - 1))

    def hybrid_forward(self, F, x1, x2, sample_weight=None):
        if not isinstance(x1, NDArray) or not isinstance(x2, NDArray):
            raise TypeError(f"{self._describe()}: x1 and x2 must be NDArrays (the targets "
                            f"need the batch size, which a Symbol does not have, as in "
                            f"MXNet), got {type(x1).__name__} and {type(x2).__name__}")
        if x1.ndim != 2 or x1.shape != x2.shape:
            raise ValueError(f"{self._describe()}: x1 and x2 must be minibatches of vectors of "
                             f"one shape (batch, dim), got x1 {x1.shape} and x2 {x2.shape}")
        batch_size = x1.shape[0]
        if batch_size < 2:
            raise ValueError(f"{self._describe()}: needs at least 2 pairs (the other rows are "
                             f"the negatives), got x1 of shape {x1.shape}")
        labels = self._compute_labels(F, batch_size, x1.context, x1.dtype)
        log_probabilities = F.log_softmax(-self._compute_distances(F, x1, x2), axis=1)
        loss = self.kl_loss(log_probabilities, labels)
        return self._weighted(loss, sample_weight)


# -------------------------------------------------------------- sequence
class CTCLoss(Loss):
    """Connectionist Temporal Classification loss (``nd.CTCLoss`` with
    ``blank_label='last'``): the last class, alphabet_size - 1, is the blank.

    pred: unnormalised scores, (batch, seq_len, alphabet) for ``layout='NTC'`` or
    (seq_len, batch, alphabet) for 'TNC'. label: class indices, (batch, label_len) for
    ``label_layout='NT'`` or (label_len, batch) for 'TN', padded with -1.
    ``pred_lengths`` / ``label_lengths`` (batch,) give each sequence's frames / labels.
    Output: (batch,). A label that cannot fit its frames gives loss 0 (MXNet's rule).
    """

    def __init__(self, layout='NTC', label_layout='NT', weight=None, **kwargs) -> None:
        if layout not in ("NTC", "TNC"):
            raise ValueError(f"CTCLoss: only 'NTC' and 'TNC' layouts for pred are supported, "
                             f"got {layout!r}")
        if label_layout not in ("NT", "TN"):
            raise ValueError(f"CTCLoss: only 'NT' and 'TN' layouts for label are supported, "
                             f"got {label_layout!r}")
        self._layout = layout
        self._label_layout = label_layout
        super().__init__(weight, label_layout.find("N"), **kwargs)

    def hybrid_forward(self, F, pred, label, pred_lengths=None, label_lengths=None,
                       sample_weight=None):
        if isinstance(pred, NDArray):
            self._check_shapes(pred, label)
        if self._layout == "NTC":
            pred = F.swapaxes(pred, 0, 1)
        if self._batch_axis == 1:
            label = F.swapaxes(label, 0, 1)
        loss = F.CTCLoss(pred, label, pred_lengths, label_lengths,
                         use_data_lengths=pred_lengths is not None,
                         use_label_lengths=label_lengths is not None,
                         blank_label="last")
        return self._weighted(loss, sample_weight)

    def _check_shapes(self, pred: NDArray, label) -> None:
        if not isinstance(label, NDArray):
            raise TypeError(f"{self._describe()}: label must be an NDArray, got "
                            f"{type(label).__name__}")
        if pred.ndim != 3 or label.ndim != 2:
            raise ValueError(f"{self._describe()}: expected pred of 3 dimensions "
                             f"({self._layout}) and label of 2 ({self._label_layout}), got pred "
                             f"{pred.shape} and label {label.shape}")
        batch = pred.shape[self._layout.find("N")]
        if label.shape[self._batch_axis] != batch:
            raise ValueError(f"{self._describe()}: pred of shape {pred.shape} "
                             f"({self._layout}) and label of shape {label.shape} "
                             f"({self._label_layout}) have different batch sizes")
