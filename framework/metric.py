"""Online evaluation metrics (MXNet 1.9.1's ``mx.metric``).

Floor 3: imports only the core (``ndarray``, ``context``).

    acc = metric.Accuracy()
    acc.update(labels=[label], preds=[output])     # lists of NDArrays (or NumPy arrays)
    acc.get()                                      # ('accuracy', 0.75)

Every metric keeps a local pair (``sum_metric``, ``num_inst``), cleared by
``reset_local``, and a global pair (``global_sum_metric``, ``global_num_inst``),
cleared only by ``reset``; ``get`` reads the local pair and ``get_global`` the global
one, as MXNet 1.9.1 does.

Labels and predictions may be NDArrays on any context or NumPy arrays. The work is
vectorised on the prediction's own array module (NumPy or CuPy; a label elsewhere is
moved to the prediction's device first) and only the few scalars a metric needs
cross to the host, in one transfer per (label, prediction) pair. ``CustomMetric``
is the exception: its function takes NumPy arrays, so it receives host copies.

Names: each metric is registered under its lower-case class name and MXNet's aliases
('acc', 'top_k_accuracy', 'ce', 'nll_loss', 'pearsonr', 'composite', ...);
``create`` accepts a name, an instance, a config dict, a list (a composite) or a
function (a ``CustomMetric``).
"""
from __future__ import annotations

import contextlib
import json
import math
import warnings
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy

from .context import Context, move
from .ndarray import NDArray

__all__ = ["EvalMetric", "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC",
           "Perplexity", "MAE", "MSE", "RMSE", "CrossEntropy", "NegativeLogLikelihood",
           "PearsonCorrelation", "PCC", "Loss", "Torch", "Caffe", "CustomMetric",
           "np", "register", "alias", "create", "check_label_shapes"]

_ARRAY_TYPES = (NDArray, numpy.ndarray)
_NO_SCOPE = contextlib.nullcontext()


# ---------------------------------------------------------------- arrays and the host
def check_label_shapes(labels, preds, wrap: bool = False, shape: bool = False):
    """Raise ValueError unless labels and predictions agree: in number (``len``) or, with
    ``shape=True``, in shape. With ``wrap=True`` a single array becomes a one-item list.
    Returns ``(labels, preds)``."""
    if not shape:
        label_shape, pred_shape = len(labels), len(preds)
    else:
        label_shape, pred_shape = labels.shape, preds.shape
    if label_shape != pred_shape:
        raise ValueError(f"Shape of labels {label_shape} does not match shape of "
                         f"predictions {pred_shape}")
    if wrap:
        if isinstance(labels, _ARRAY_TYPES):
            labels = [labels]
        if isinstance(preds, _ARRAY_TYPES):
            preds = [preds]
    return labels, preds


def _raw(value, owner: str, what: str):
    """(raw array, context or None for a NumPy array)."""
    if isinstance(value, NDArray):
        return value._data, value._ctx
    if isinstance(value, numpy.ndarray):
        return value, None
    if isinstance(value, (numpy.generic, int, float)):
        return numpy.asarray(value), None
    raise TypeError(f"{owner}: {what} must be an NDArray or a NumPy array, "
                    f"got {type(value).__name__}")


def _on_host(raw, ctx: Optional[Context]):
    if ctx is None or ctx.xp is numpy:
        return raw
    return ctx.xp.asnumpy(raw)


def _pair(label, pred, owner: str):
    """(label raw, prediction raw, xp, context) with the label on the prediction's device.
    The context is None when the prediction is a NumPy array."""
    lab, label_ctx = _raw(label, owner, "label")
    prd, pred_ctx = _raw(pred, owner, "prediction")
    if pred_ctx is None or pred_ctx.xp is numpy:
        return _on_host(lab, label_ctx), prd, numpy, pred_ctx
    xp = pred_ctx.xp
    if label_ctx is not pred_ctx:
        if label_ctx is None or label_ctx.xp is numpy:
            with pred_ctx.scope():
                lab = xp.asarray(lab)
        else:
            lab = move(lab, label_ctx, pred_ctx)
    return lab, prd, xp, pred_ctx


def _single(pred, owner: str):
    """(raw, xp, context) of one array."""
    prd, ctx = _raw(pred, owner, "prediction")
    return prd, (numpy if ctx is None else ctx.xp), ctx


def _scope(ctx: Optional[Context]):
    return _NO_SCOPE if ctx is None else ctx.scope()


def _fetch(xp, *values) -> List[float]:
    """Python floats of device scalars, in one device-to-host transfer."""
    if xp is numpy:
        return [float(v) for v in values]
    stacked = xp.stack([xp.asarray(v, dtype=xp.float64).reshape(()) for v in values])
    return stacked.tolist()


def _as_float64(xp, raw):
    return raw if raw.dtype == numpy.float64 else raw.astype(xp.float64)


def _check_axis(owner: str, axis: int, shape: Tuple[int, ...]) -> int:
    ndim = len(shape)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{owner}: axis {axis} is out of range for predictions of shape {shape}")
    return axis % ndim


def _check_average(owner: str, average: str) -> None:
    if average not in ("macro", "micro"):
        raise ValueError(f"{owner}: average must be 'macro' or 'micro', got {average!r}")


# ---------------------------------------------------------------- base class and registry
class EvalMetric:
    """Base class of the evaluation metrics.

    Parameters
    ----------
    name : the metric's display name.
    output_names, label_names : names of the outputs and labels ``update_dict`` uses
        (None: all of them, in order).
    has_global_stats : keyword; whether ``get_global`` reads its own global pair (else
        it is ``get``).
    **kwargs : other keyword arguments, kept for ``get_config``.
    """

    def __init__(self, name: str, output_names: Optional[Sequence[str]] = None,
                 label_names: Optional[Sequence[str]] = None, **kwargs):
        self.name = str(name)
        self.output_names = output_names
        self.label_names = label_names
        self._has_global_stats = kwargs.pop("has_global_stats", False)
        self._kwargs = kwargs
        self.reset()

    def __str__(self) -> str:
        return f"EvalMetric: {dict(self.get_name_value())}"

    def get_config(self) -> dict:
        """The arguments that recreate this metric with ``metric.create(**config)``."""
        config = self._kwargs.copy()
        config.update({"metric": self.__class__.__name__, "name": self.name,
                       "output_names": self.output_names, "label_names": self.label_names})
        return config

    def update_dict(self, label: Dict, pred: Dict) -> None:
        """``update`` from name-to-array mappings, picking ``label_names``/``output_names``."""
        if self.output_names is not None:
            pred = [pred[name] for name in self.output_names]
        else:
            pred = list(pred.values())
        if self.label_names is not None:
            label = [label[name] for name in self.label_names]
        else:
            label = list(label.values())
        self.update(label, pred)

    def update(self, labels, preds) -> None:
        """Add a batch: ``labels`` and ``preds`` are lists of arrays (or single arrays)."""
        raise NotImplementedError(f"{type(self).__name__} must override update")

    def reset(self) -> None:
        """Clear the local and the global results."""
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0

    def reset_local(self) -> None:
        """Clear the local results only (``get``); the global ones (``get_global``) stay."""
        self.num_inst = 0
        self.sum_metric = 0.0

    def get(self):
        """``(name, value)`` of the local results; the value is NaN before any update."""
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.sum_metric / self.num_inst)

    def get_global(self):
        """``(name, value)`` since the last ``reset`` (``get`` without global statistics)."""
        if not self._has_global_stats:
            return self.get()
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.global_sum_metric / self.global_num_inst)

    def get_name_value(self) -> List[Tuple[str, float]]:
        """``get`` as a list of ``(name, value)`` pairs."""
        return _zip_name_value(*self.get())

    def get_global_name_value(self) -> List[Tuple[str, float]]:
        """``get_global`` as a list of ``(name, value)`` pairs."""
        if not self._has_global_stats:
            return self.get_name_value()
        return _zip_name_value(*self.get_global())


def _zip_name_value(name, value) -> List[Tuple[str, float]]:
    if not isinstance(name, list):
        name = [name]
    if not isinstance(value, list):
        value = [value]
    return list(zip(name, value))


_REGISTRY: Dict[str, type] = {}


def register(klass: type, name: Optional[str] = None) -> type:
    """Register an EvalMetric subclass under ``name`` (default: its lower-case class name)."""
    if not (isinstance(klass, type) and issubclass(klass, EvalMetric)):
        raise TypeError(f"metric.register: can only register subclasses of EvalMetric, "
                        f"got {klass!r}")
    key = (klass.__name__ if name is None else name).lower()
    old = _REGISTRY.get(key)
    if old is not None and old is not klass:
        warnings.warn(f"New metric {klass.__module__}.{klass.__name__} registered with name "
                      f"{key} is overriding existing metric {old.__module__}.{old.__name__}",
                      UserWarning, stacklevel=2)
    _REGISTRY[key] = klass
    return klass


def alias(*aliases: str) -> Callable[[type], type]:
    """Class decorator: register the class under each of ``aliases`` as well."""
    def decorate(klass: type) -> type:
        for name in aliases:
            register(klass, name)
        return klass
    return decorate


def _create_registered(*args, **kwargs) -> EvalMetric:
    if args:
        name, args = args[0], args[1:]
    elif "metric" in kwargs:
        name = kwargs.pop("metric")
    else:
        raise TypeError("metric.create: missing the metric (a name, an instance, a config "
                        "dict, a list or a function)")
    if isinstance(name, EvalMetric):
        if args or kwargs:
            raise ValueError(f"metric.create: {name.name!r} is already an instance; additional "
                             f"arguments {args or ''}{kwargs or ''} are invalid")
        return name
    if isinstance(name, dict):
        return create(**name)
    if not isinstance(name, str):
        raise TypeError(f"metric.create: metric must be a name, an EvalMetric, a dict, a list "
                        f"or a function, got {type(name).__name__}")
    if name.startswith("[") or name.startswith("{"):
        if args or kwargs:
            raise ValueError("metric.create: a JSON metric description takes no further "
                             "arguments")
        decoded = json.loads(name)
        if isinstance(decoded, list):
            return create(decoded[0], **decoded[1])
        return create(**decoded)
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"metric.create: {name!r} is not registered; registered metrics: "
                         f"{', '.join(sorted(_REGISTRY))} (or register it with "
                         f"metric.register first)")
    return _REGISTRY[key](*args, **kwargs)


def create(metric, *args, **kwargs) -> EvalMetric:
    """An EvalMetric from a registered name ('acc', 'f1', ...), an instance (returned as
    is), a config dict (``get_config``'s), an EvalMetric subclass, a list of any of these
    (a CompositeEvalMetric), or a function ``feval(label, pred)`` (a CustomMetric).
    ``args``/``kwargs`` go to the metric's constructor."""
    if isinstance(metric, type) and issubclass(metric, EvalMetric):
        return metric(*args, **kwargs)
    if callable(metric) and not isinstance(metric, EvalMetric):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, list):
        composite = CompositeEvalMetric()
        for child in metric:
            composite.add(create(child, *args, **kwargs))
        return composite
    return _create_registered(metric, *args, **kwargs)


# ---------------------------------------------------------------- composite
@register
@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together; ``get`` returns ``([names], [values])``."""

    def __init__(self, metrics=None, name: str = "composite",
                 output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.metrics = [create(m) for m in (metrics or [])]

    def add(self, metric) -> None:
        """Add a child metric (anything ``create`` accepts)."""
        self.metrics.append(create(metric))

    def get_metric(self, index: int) -> EvalMetric:
        """The child metric at ``index``."""
        try:
            return self.metrics[index]
        except IndexError:
            raise ValueError(f"Metric index {index} is out of range 0 and "
                             f"{len(self.metrics)}") from None

    def update_dict(self, labels, preds) -> None:
        if self.label_names is not None:
            labels = OrderedDict([i for i in labels.items() if i[0] in self.label_names])
        if self.output_names is not None:
            preds = OrderedDict([i for i in preds.items() if i[0] in self.output_names])
        for metric in self.metrics:
            metric.update_dict(labels, preds)

    def update(self, labels, preds) -> None:
        for metric in self.metrics:
            metric.update(labels, preds)

    def reset(self) -> None:
        for metric in getattr(self, "metrics", ()):
            metric.reset()

    def reset_local(self) -> None:
        for metric in self.metrics:
            metric.reset_local()

    def _collect(self, getter: str):
        names, values = [], []
        for metric in self.metrics:
            name, value = getattr(metric, getter)()
            names.extend(name if isinstance(name, list) else [name])
            values.extend(value if isinstance(value, list) else [value])
        return (names, values)

    def get(self):
        return self._collect("get")

    def get_global(self):
        return self._collect("get_global")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"metrics": [m.get_config() for m in self.metrics]})
        return config


# ---------------------------------------------------------------- classification
@register
@alias("acc")
class Accuracy(EvalMetric):
    """Fraction of predictions equal to the label.

    A prediction with the label's shape holds class indices; otherwise it holds scores
    and its argmax over ``axis`` is the predicted class. Labels and classes compare as
    int32.
    """

    def __init__(self, axis: int = 1, name: str = "accuracy",
                 output_names=None, label_names=None):
        super().__init__(name, axis=axis, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.axis = axis

    def update(self, labels, preds) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            lab, prd, xp, ctx = _pair(label, pred, "Accuracy")
            with _scope(ctx):
                if prd.shape != lab.shape:
                    prd = xp.argmax(prd, axis=_check_axis("Accuracy", self.axis, prd.shape))
                if prd.size != lab.size:
                    raise ValueError(f"Shape of labels {tuple(lab.shape)} does not match shape "
                                     f"of predictions {tuple(prd.shape)} (Accuracy: after the "
                                     f"argmax over axis {self.axis} of the scores)")
                correct = (prd.reshape(-1).astype(xp.int32)
                           == lab.reshape(-1).astype(xp.int32)).sum()
                (num_correct,) = _fetch(xp, correct)
            self.sum_metric += num_correct
            self.global_sum_metric += num_correct
            self.num_inst += int(prd.size)
            self.global_num_inst += int(prd.size)


@register
@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """Fraction of samples whose label is among the ``top_k`` highest scores
    (predictions: ``(batch, num_classes)``); the name gets ``_<top_k>`` appended."""

    def __init__(self, top_k: int = 1, name: str = "top_k_accuracy",
                 output_names=None, label_names=None):
        super().__init__(name, top_k=top_k, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.top_k = top_k
        if not self.top_k > 1:
            raise ValueError(f"TopKAccuracy: top_k must be more than 1, got {top_k}; "
                             f"please use Accuracy if top_k is no more than 1")
        self.name += "_%d" % self.top_k

    def update(self, labels, preds) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            lab, prd, xp, ctx = _pair(label, pred, "TopKAccuracy")
            if prd.ndim > 2:
                raise ValueError(f"TopKAccuracy: predictions should be no more than 2 dims, "
                                 f"got shape {tuple(prd.shape)}")
            if len(lab) != len(prd):
                raise ValueError(f"Shape of labels {tuple(lab.shape)} does not match shape of "
                                 f"predictions {tuple(prd.shape)}")
            with _scope(ctx):
                lab = lab.reshape(-1).astype(xp.int32)
                order = xp.argsort(prd.astype(xp.float32), axis=-1)
                if prd.ndim == 1:
                    correct = (order == lab).sum()
                else:
                    top_k = min(prd.shape[1], self.top_k)
                    best = order[:, prd.shape[1] - top_k:]
                    correct = (best == lab[:, None]).any(axis=1).sum()
                (num_correct,) = _fetch(xp, correct)
            self.sum_metric += num_correct
            self.global_sum_metric += num_correct
            self.num_inst += int(prd.shape[0])
            self.global_num_inst += int(prd.shape[0])


class _BinaryClassificationMetrics:
    """True/false positive/negative counts of a binary classifier, local and global,
    accumulated over (label, prediction) pairs; F1 and MCC derive from them."""

    def __init__(self, owner: str):
        self.owner = owner
        self.reset_stats()

    def update_binary_stats(self, label, pred) -> None:
        """Add one pair: ``pred`` is ``(batch, 2)`` scores (argmax is the predicted class),
        ``label`` holds 0/1 (at most two distinct values)."""
        lab, prd, xp, ctx = _pair(label, pred, self.owner)
        if prd.ndim != 2:
            raise ValueError(f"{self.owner}: predictions must be (batch, num_classes) scores, "
                             f"got shape {tuple(prd.shape)} (labels {tuple(lab.shape)})")
        if len(lab) != len(prd):
            raise ValueError(f"Shape of labels {tuple(lab.shape)} does not match shape of "
                             f"predictions {tuple(prd.shape)}")
        with _scope(ctx):
            lab = lab.reshape(-1).astype(xp.int32) if lab.ndim > 1 else lab.astype(xp.int32)
            pred_true = xp.argmax(prd, axis=1) == 1
            label_true = lab == 1
            sorted_labels = xp.sort(lab)
            distinct = (sorted_labels[1:] != sorted_labels[:-1]).sum() + 1
            true_pos = (pred_true & label_true).sum()
            false_pos = (pred_true & ~label_true).sum()
            false_neg = (~pred_true & label_true).sum()
            true_neg = (~pred_true & ~label_true).sum()
            tp, fp, fn, tn, n_distinct = _fetch(xp, true_pos, false_pos, false_neg, true_neg,
                                                distinct)
        if lab.size and n_distinct > 2:
            raise ValueError(f"{self.owner} currently only supports binary classification "
                             f"(the labels hold {int(n_distinct)} distinct values)")
        tp, fp, fn, tn = int(tp), int(fp), int(fn), int(tn)
        self.true_positives += tp
        self.false_positives += fp
        self.false_negatives += fn
        self.true_negatives += tn
        self.global_true_positives += tp
        self.global_false_positives += fp
        self.global_false_negatives += fn
        self.global_true_negatives += tn

    @staticmethod
    def _fscore(tp: int, fp: int, fn: int) -> float:
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / (tp + fn) if tp + fn > 0 else 0.0
        if precision + recall > 0:
            return 2 * precision * recall / (precision + recall)
        return 0.0

    @property
    def precision(self) -> float:
        tp, fp = self.true_positives, self.false_positives
        return tp / (tp + fp) if tp + fp > 0 else 0.0

    @property
    def recall(self) -> float:
        tp, fn = self.true_positives, self.false_negatives
        return tp / (tp + fn) if tp + fn > 0 else 0.0

    @property
    def fscore(self) -> float:
        return self._fscore(self.true_positives, self.false_positives, self.false_negatives)

    @property
    def global_fscore(self) -> float:
        return self._fscore(self.global_true_positives, self.global_false_positives,
                            self.global_false_negatives)

    def matthewscc(self, use_global: bool = False) -> float:
        """Matthews correlation coefficient; factors of the denominator that are 0 are
        left out (MXNet's rule), and no examples give 0."""
        if use_global:
            counts = (self.global_true_positives, self.global_false_positives,
                      self.global_false_negatives, self.global_true_negatives)
        else:
            counts = (self.true_positives, self.false_positives, self.false_negatives,
                      self.true_negatives)
        if not sum(counts):
            return 0.0
        tp, fp, fn, tn = (float(c) for c in counts)
        denom = 1.0
        for term in (tp + fp, tp + fn, tn + fp, tn + fn):
            if term != 0.0:
                denom *= term
        return (tp * tn - fp * fn) / math.sqrt(denom)

    @property
    def total_examples(self) -> int:
        return (self.false_negatives + self.false_positives + self.true_negatives
                + self.true_positives)

    @property
    def global_total_examples(self) -> int:
        return (self.global_false_negatives + self.global_false_positives
                + self.global_true_negatives + self.global_true_positives)

    def local_reset_stats(self) -> None:
        self.false_positives = 0
        self.false_negatives = 0
        self.true_positives = 0
        self.true_negatives = 0

    def reset_stats(self) -> None:
        self.local_reset_stats()
        self.global_false_positives = 0
        self.global_false_negatives = 0
        self.global_true_positives = 0
        self.global_true_negatives = 0


class _BinaryStatsMetric(EvalMetric):
    """F1 and MCC: a score of the binary counts; 'macro' averages the per-update scores,
    'micro' scores the counts of all updates together."""

    def __init__(self, name, output_names, label_names, average):
        _check_average(type(self).__name__, average)
        self.average = average
        self._metrics = _BinaryClassificationMetrics(type(self).__name__)
        super().__init__(name, output_names=output_names, label_names=label_names,
                         average=average, has_global_stats=True)

    def _score(self, use_global: bool) -> float:
        raise NotImplementedError

    def update(self, labels, preds) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            self._metrics.update_binary_stats(label, pred)
        if self.average == "macro":
            self.sum_metric += self._score(False)
            self.global_sum_metric += self._score(True)
            self.num_inst += 1
            self.global_num_inst += 1
            self._metrics.reset_stats()
        else:
            self.sum_metric = self._score(False) * self._metrics.total_examples
            self.global_sum_metric = self._score(True) * self._metrics.global_total_examples
            self.num_inst = self._metrics.total_examples
            self.global_num_inst = self._metrics.global_total_examples

    def reset(self) -> None:
        super().reset()
        self._metrics.reset_stats()

    def reset_local(self) -> None:
        super().reset_local()
        self._metrics.local_reset_stats()


@register
class F1(_BinaryStatsMetric):
    """F1 score ``2 * precision * recall / (precision + recall)`` of a binary classifier
    (predictions ``(batch, 2)``, labels 0/1); ``average`` 'macro' (mean of per-update
    scores) or 'micro' (one score of all counts)."""

    def __init__(self, name: str = "f1", output_names=None, label_names=None,
                 average: str = "macro"):
        super().__init__(name, output_names, label_names, average)

    @property
    def metrics(self) -> _BinaryClassificationMetrics:
        return self._metrics

    def _score(self, use_global: bool) -> float:
        return self._metrics.global_fscore if use_global else self._metrics.fscore


@register
class MCC(_BinaryStatsMetric):
    """Matthews correlation coefficient of a binary classifier
    ``(tp*tn - fp*fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn))`` (zero factors left out);
    ``average`` as in F1."""

    def __init__(self, name: str = "mcc", output_names=None, label_names=None,
                 average: str = "macro"):
        super().__init__(name, output_names, label_names, average)

    def _score(self, use_global: bool) -> float:
        return self._metrics.matthewscc(use_global=use_global)


@register
class PCC(EvalMetric):
    """Multiclass Matthews correlation (the Pearson correlation of a K x K confusion
    matrix), accumulated over all updates; K grows with the largest class seen."""

    def __init__(self, name: str = "pcc", output_names=None, label_names=None,
                 has_global_stats: bool = True):
        self.k = 2
        super().__init__(name=name, output_names=output_names, label_names=label_names,
                         has_global_stats=has_global_stats)

    def _grow(self, inc: int) -> None:
        self.lcm = numpy.pad(self.lcm, ((0, inc), (0, inc)), "constant", constant_values=0)
        self.gcm = numpy.pad(self.gcm, ((0, inc), (0, inc)), "constant", constant_values=0)
        self.k += inc

    @staticmethod
    def _calc_mcc(cmat: numpy.ndarray) -> float:
        n = cmat.sum()
        x = cmat.sum(axis=1)
        y = cmat.sum(axis=0)
        cov_xx = numpy.sum(x * (n - x))
        cov_yy = numpy.sum(y * (n - y))
        if cov_xx == 0 or cov_yy == 0:
            return float("nan")
        cov_xy = numpy.sum(cmat.diagonal() * n - x * y)
        return float(cov_xy / (cov_xx * cov_yy) ** 0.5)

    def update(self, labels, preds) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            lab, prd, xp, ctx = _pair(label, pred, "PCC")
            with _scope(ctx):
                lab = lab.astype(xp.int32)
                if prd.shape != lab.shape:
                    if prd.ndim != 2:
                        raise ValueError(f"PCC: predictions must be class indices of the "
                                         f"labels' shape {tuple(lab.shape)} or (batch, "
                                         f"num_classes) scores, got {tuple(prd.shape)}")
                    prd = xp.argmax(prd, axis=1)
                else:
                    prd = prd.astype(xp.int32)
                if prd.size != lab.size:
                    raise ValueError(f"Shape of labels {tuple(lab.shape)} does not match shape "
                                     f"of predictions {tuple(prd.shape)}")
                prd = prd.reshape(-1).astype(xp.int64)
                lab = lab.reshape(-1).astype(xp.int64)
                if prd.size == 0:
                    continue
                low = xp.minimum(prd.min(), lab.min())
                top = xp.maximum(prd.max(), lab.max())
                # one transfer: the class range, then the confusion counts over (top+1)^2
                # cells (pred-major, as MXNet's bcm[pred, label])
                counts = xp.bincount(xp.maximum(prd * (top + 1) + lab, 0))
                host = _fetch_vector(xp, low, top, counts)
            if host[0] < 0:
                raise ValueError(f"PCC: class indices must be non-negative, got {int(host[0])}")
            size = int(host[1]) + 1
            cells = numpy.zeros(size * size)
            cells[:len(host) - 2] = host[2:]
            if size > self.k:
                self._grow(size - self.k)
            batch = numpy.zeros((self.k, self.k))
            batch[:size, :size] = cells.reshape(size, size)
            self.lcm += batch
            self.gcm += batch
        self.num_inst += 1
        self.global_num_inst += 1

    @property
    def sum_metric(self) -> float:
        return self._calc_mcc(self.lcm) * self.num_inst

    @property
    def global_sum_metric(self) -> float:
        return self._calc_mcc(self.gcm) * self.global_num_inst

    def reset(self) -> None:
        self.global_num_inst = 0.0
        self.gcm = numpy.zeros((self.k, self.k))
        self.reset_local()

    def reset_local(self) -> None:
        self.num_inst = 0.0
        self.lcm = numpy.zeros((self.k, self.k))


def _fetch_vector(xp, *parts) -> numpy.ndarray:
    """Scalars and vectors concatenated as one float64 host vector, in one transfer."""
    flat = [xp.asarray(p, dtype=xp.float64).reshape(-1) for p in parts]
    joined = xp.concatenate(flat)
    return numpy.asarray(joined if xp is numpy else xp.asnumpy(joined), dtype=numpy.float64)


@register
class Perplexity(EvalMetric):
    """``exp(-sum(log p_label) / n)`` over all predicted tokens, where ``p_label`` is the
    prediction's probability of the label along ``axis`` (labels outside the classes are
    clipped, as ``nd.pick``); tokens whose label is ``ignore_label`` are not counted.

    Predictions: probabilities with classes on ``axis``; labels: one per position of the
    other axes (any shape of that size).
    """

    def __init__(self, ignore_label: Optional[int], axis: int = -1, name: str = "perplexity",
                 output_names=None, label_names=None):
        super().__init__(name, ignore_label=ignore_label, axis=axis,
                         output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels, preds) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        loss = 0.0
        num = 0
        for label, pred in zip(labels, preds):
            lab, prd, xp, ctx = _pair(label, pred, "Perplexity")
            axis = _check_axis("Perplexity", self.axis, prd.shape)
            classes = prd.shape[axis]
            if classes == 0 or lab.size != prd.size // classes:
                raise ValueError(f"Perplexity: shape mismatch: labels {tuple(lab.shape)} vs. "
                                 f"predictions {tuple(prd.shape)} (one label per position of "
                                 f"the axes other than axis {self.axis})")
            with _scope(ctx):
                scores = xp.moveaxis(prd, axis, -1).reshape(-1, classes)
                lab = lab.reshape(-1)
                index = xp.clip(lab.astype(xp.int32), 0, classes - 1)
                prob = xp.take_along_axis(scores, index[:, None].astype(xp.int64), axis=1)[:, 0]
                prob = _as_float64(xp, prob)
                if self.ignore_label is not None:
                    ignore = lab == self.ignore_label
                    prob = xp.where(ignore, 1.0, prob)
                    ignored = ignore.sum()
                else:
                    ignored = xp.zeros((), dtype=xp.float64)
                batch_loss = -xp.log(xp.maximum(prob, 1e-10)).sum()
                batch_loss, num_ignored = _fetch(xp, batch_loss, ignored)
            loss += batch_loss
            num += int(prob.size) - int(num_ignored)
        self.sum_metric += loss
        self.global_sum_metric += loss
        self.num_inst += num
        self.global_num_inst += num

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.sum_metric / self.num_inst))

    def get_global(self):
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


# ---------------------------------------------------------------- regression
class _BatchMeanMetric(EvalMetric):
    """MAE/MSE/RMSE: a per-batch mean of the error, averaged over (label, prediction)
    pairs (MXNet 1.x counts one instance per pair, not per sample). A 1-d label or
    prediction counts as one column, ``(n,) -> (n, 1)``; the two broadcast together."""

    def __init__(self, name, output_names, label_names):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def _batch_value(self, xp, diff):
        raise NotImplementedError

    def update(self, labels, preds) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        owner = type(self).__name__
        for label, pred in zip(labels, preds):
            lab, prd, xp, ctx = _pair(label, pred, owner)
            if lab.ndim == 1:
                lab = lab.reshape(lab.shape[0], 1)
            if prd.ndim == 1:
                prd = prd.reshape(prd.shape[0], 1)
            try:
                numpy.broadcast_shapes(tuple(lab.shape), tuple(prd.shape))
            except ValueError:
                raise ValueError(f"{owner}: shape of labels {tuple(lab.shape)} does not match "
                                 f"shape of predictions {tuple(prd.shape)} (they must "
                                 f"broadcast)") from None
            with _scope(ctx):
                diff = _as_float64(xp, lab) - _as_float64(xp, prd)
                (value,) = _fetch(xp, self._batch_value(xp, diff))
            self.sum_metric += value
            self.global_sum_metric += value
            self.num_inst += 1
            self.global_num_inst += 1


@register
class MAE(_BatchMeanMetric):
    """Mean absolute error ``mean(|label - pred|)`` per batch, averaged over batches."""

    def __init__(self, name: str = "mae", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    def _batch_value(self, xp, diff):
        return xp.abs(diff).mean()


@register
class MSE(_BatchMeanMetric):
    """Mean squared error ``mean((label - pred)**2)`` per batch, averaged over batches."""

    def __init__(self, name: str = "mse", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    def _batch_value(self, xp, diff):
        return (diff * diff).mean()


@register
class RMSE(_BatchMeanMetric):
    """Root mean squared error ``sqrt(mean((label - pred)**2))`` per batch, averaged
    over batches."""

    def __init__(self, name: str = "rmse", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    def _batch_value(self, xp, diff):
        return xp.sqrt((diff * diff).mean())


@register
@alias("ce")
class CrossEntropy(EvalMetric):
    """Mean of ``-log(p_label + eps)`` over samples; predictions ``(batch, num_classes)``
    probabilities, labels ``batch`` class indices (any shape of that size)."""

    _owner = "CrossEntropy"

    def __init__(self, eps: float = 1e-12, name: str = "cross-entropy",
                 output_names=None, label_names=None):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels, preds) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            lab, prd, xp, ctx = _pair(label, pred, self._owner)
            lab = lab.reshape(-1)
            if prd.ndim != 2 or lab.shape[0] != prd.shape[0]:
                raise ValueError(f"{self._owner}: predictions must be (batch, num_classes) "
                                 f"with one label per row, got labels {tuple(lab.shape)} and "
                                 f"predictions {tuple(prd.shape)}")
            count = int(lab.shape[0])
            if count == 0:
                continue
            with _scope(ctx):
                index = lab.astype(xp.int64)
                prob = xp.take_along_axis(prd, xp.clip(index, 0, prd.shape[1] - 1)[:, None],
                                          axis=1)[:, 0]
                total = -xp.log(_as_float64(xp, prob) + self.eps).sum()
                total, low, high = _fetch(xp, total, index.min(), index.max())
            if low < 0 or high >= prd.shape[1]:
                raise IndexError(f"{self._owner}: labels must be class indices in "
                                 f"[0, {prd.shape[1]}), got values in [{int(low)}, {int(high)}]")
            self.sum_metric += total
            self.global_sum_metric += total
            self.num_inst += count
            self.global_num_inst += count


@register
@alias("nll_loss")
class NegativeLogLikelihood(CrossEntropy):
    """Negative log-likelihood: the mean of ``-log(p_label + eps)`` (as CrossEntropy)."""

    _owner = "NegativeLogLikelihood"

    def __init__(self, eps: float = 1e-12, name: str = "nll-loss",
                 output_names=None, label_names=None):
        super().__init__(eps=eps, name=name, output_names=output_names,
                         label_names=label_names)


@register
@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """Pearson correlation of labels and predictions (same shape, flattened).

    ``average='macro'``: the mean of per-pair correlations; ``'micro'``: one correlation
    of all values since ``reset`` (the running sums are merged exactly, Chan/Welford).
    """

    def __init__(self, name: str = "pearsonr", output_names=None, label_names=None,
                 average: str = "macro"):
        _check_average("PearsonCorrelation", average)
        self.average = average
        super().__init__(name, output_names=output_names, label_names=label_names,
                         average=average, has_global_stats=True)

    def reset_micro(self) -> None:
        """Clear the running sums of 'micro': count, means, squared deviations, co-moment."""
        self._count = 0
        self._mean_l = 0.0
        self._mean_p = 0.0
        self._sse_l = 0.0
        self._sse_p = 0.0
        self._conv = 0.0

    def reset(self) -> None:
        super().reset()
        self.reset_micro()

    def update(self, labels, preds) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            lab, prd, xp, ctx = _pair(label, pred, "PearsonCorrelation")
            check_label_shapes(lab, prd, False, True)
            count = int(lab.size)
            with _scope(ctx):
                lab = _as_float64(xp, lab.reshape(-1))
                prd = _as_float64(xp, prd.reshape(-1))
                mean_l, mean_p = lab.mean(), prd.mean()
                dev_l, dev_p = lab - mean_l, prd - mean_p
                mean_l, mean_p, sse_l, sse_p, comoment = _fetch(
                    xp, mean_l, mean_p, (dev_l * dev_l).sum(), (dev_p * dev_p).sum(),
                    (dev_l * dev_p).sum())
            if self.average == "macro":
                corr = _correlation(comoment, sse_l, sse_p)
                self.sum_metric += corr
                self.global_sum_metric += corr
            else:
                self._merge(count, mean_l, mean_p, sse_l, sse_p, comoment)
            self.num_inst += 1
            self.global_num_inst += 1

    def _merge(self, count, mean_l, mean_p, sse_l, sse_p, comoment) -> None:
        """Add a batch's moments to the running ones (exact pairwise update)."""
        total = self._count + count
        if count == 0:
            return
        delta_l = mean_l - self._mean_l
        delta_p = mean_p - self._mean_p
        weight = self._count * count / total
        self._sse_l += sse_l + delta_l * delta_l * weight
        self._sse_p += sse_p + delta_p * delta_p * weight
        self._conv += comoment + delta_l * delta_p * weight
        self._mean_l += delta_l * count / total
        self._mean_p += delta_p * count / total
        self._count = total

    def _micro(self) -> float:
        return _correlation(self._conv, self._sse_l, self._sse_p)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        if self.average == "macro":
            return (self.name, self.sum_metric / self.num_inst)
        return (self.name, self._micro())

    def get_global(self):
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        if self.average == "macro":
            return (self.name, self.global_sum_metric / self.global_num_inst)
        return (self.name, self._micro())


def _correlation(comoment: float, sse_l: float, sse_p: float) -> float:
    denom = math.sqrt(sse_l) * math.sqrt(sse_p)
    return comoment / denom if denom > 0 else float("nan")


# ---------------------------------------------------------------- losses and custom
@register
@alias("loss")
class Loss(EvalMetric):
    """Mean of the loss values given as predictions (labels are ignored)."""

    def __init__(self, name: str = "loss", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, _, preds) -> None:
        if isinstance(preds, _ARRAY_TYPES):
            preds = [preds]
        for pred in preds:
            prd, xp, ctx = _single(pred, type(self).__name__)
            with _scope(ctx):
                (loss,) = _fetch(xp, _as_float64(xp, prd).sum())
            self.sum_metric += loss
            self.global_sum_metric += loss
            self.num_inst += int(prd.size)
            self.global_num_inst += int(prd.size)


@register
class Torch(Loss):
    """Dummy metric for torch criterions (a Loss named 'torch')."""

    def __init__(self, name: str = "torch", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class Caffe(Loss):
    """Dummy metric for caffe criterions (a Loss named 'caffe')."""

    def __init__(self, name: str = "caffe", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class CustomMetric(EvalMetric):
    """A metric from ``feval(label, pred)`` on NumPy arrays (host copies of each pair),
    returning a value (one instance) or ``(sum_metric, num_inst)``.

    ``allow_extra_outputs``: skip the check that labels and predictions are as many.
    The name defaults to ``feval.__name__`` (``custom(<lambda>)`` for a lambda).
    """

    def __init__(self, feval: Callable, name: Optional[str] = None,
                 allow_extra_outputs: bool = False, output_names=None, label_names=None):
        if name is None:
            name = feval.__name__
            if name.find("<") != -1:
                name = "custom(%s)" % name
        super().__init__(name, feval=feval, allow_extra_outputs=allow_extra_outputs,
                         output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels, preds) -> None:
        if not self._allow_extra_outputs:
            labels, preds = check_label_shapes(labels, preds, True)
        elif isinstance(labels, _ARRAY_TYPES) or isinstance(preds, _ARRAY_TYPES):
            labels = [labels] if isinstance(labels, _ARRAY_TYPES) else labels
            preds = [preds] if isinstance(preds, _ARRAY_TYPES) else preds
        for pred, label in zip(preds, labels):
            lab, label_ctx = _raw(label, self.name, "label")
            prd, pred_ctx = _raw(pred, self.name, "prediction")
            reval = self._feval(_on_host(lab, label_ctx), _on_host(prd, pred_ctx))
            if isinstance(reval, tuple):
                sum_metric, num_inst = reval
            else:
                sum_metric, num_inst = reval, 1
            self.sum_metric += sum_metric
            self.global_sum_metric += sum_metric
            self.num_inst += num_inst
            self.global_num_inst += num_inst

    def get_config(self):
        raise NotImplementedError("CustomMetric cannot be serialized")


def np(numpy_feval: Callable, name: Optional[str] = None,
       allow_extra_outputs: bool = False) -> CustomMetric:
    """A CustomMetric from a function of NumPy arrays ``numpy_feval(label, pred)``."""
    def feval(label, pred):
        return numpy_feval(label, pred)
    feval.__name__ = numpy_feval.__name__
    return CustomMetric(feval, name, allow_extra_outputs)
