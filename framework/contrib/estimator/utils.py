"""Helpers of the Estimator: metric lists, the metric suggested for a loss, and the one
hook that says whether this process writes (progress, logs, checkpoints)."""
from __future__ import annotations

from typing import Iterable, List, Optional

from ...loss import SoftmaxCrossEntropyLoss
from ...metric import Accuracy, CompositeEvalMetric, EvalMetric

__all__ = ["is_writer"]


def is_writer() -> bool:
    """Whether this process shows progress, logs and writes checkpoints.

    The one place that decides it: every handler asks here. A single process always
    writes. In a job started by an MPI launcher (``python -m framework.launch``,
    ``mpiexec``) only rank 0 writes; the others still train, evaluate and read the
    checkpoints to resume. The rank comes from ``fw.distributed.launched_rank()``,
    which does not start MPI.
    """
    from ...distributed import launched_rank
    return launched_rank() == 0


def _check_metrics(metrics) -> List[EvalMetric]:
    """``metrics`` (None, a metric, a composite or a list of metrics) as a flat list."""
    if isinstance(metrics, CompositeEvalMetric):
        return [m for child in metrics.metrics for m in _check_metrics(child)]
    if isinstance(metrics, EvalMetric):
        return [metrics]
    metrics = list(metrics or [])
    for i, metric in enumerate(metrics):
        if not isinstance(metric, EvalMetric):
            raise ValueError(f"metrics must be an EvalMetric or a list of EvalMetric "
                             f"(fw.metric); item {i} is a {type(metric).__name__}: {metric!r}")
    return metrics


def _suggest_metric_for_loss(loss) -> Optional[EvalMetric]:
    """The metric that goes with ``loss`` by default: Accuracy for softmax cross-entropy."""
    return Accuracy() if isinstance(loss, SoftmaxCrossEntropyLoss) else None


def _check_handler_metric_ref(handler, known_metrics: Iterable[EvalMetric]) -> None:
    """Refuse a handler whose metric attributes hold a metric the estimator does not
    update (it would report values that never change)."""
    known = {id(m) for m in known_metrics}
    for attribute, value in vars(handler).items():
        if "metric" not in attribute or not value:
            continue
        for metric in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(metric, EvalMetric) and id(metric) not in known:
                raise ValueError(
                    f"Event handler {type(handler).__name__} refers to a metric instance "
                    f"'{metric.name}' outside of the known training and validation metrics. "
                    f"Please use the metrics from estimator.train_metrics and "
                    f"estimator.val_metrics instead.")
