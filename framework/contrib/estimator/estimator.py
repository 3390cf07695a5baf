"""``Estimator``: the fit loop (MXNet 1.9.1's ``gluon.contrib.estimator.Estimator``).

    est = Estimator(net, loss=fw.loss.SoftmaxCrossEntropyLoss(),
                    train_metrics=fw.metric.Accuracy(), trainer=trainer)
    est.fit(train_data, val_data, epochs=5, event_handlers=[CheckpointHandler("ckpt")])

``train_data`` / ``val_data``: any iterable of (data, label) batches (a DataLoader, a
list). Each batch is split across ``context`` (a Context or a list) with
``fw.utils.split_and_load``. Everything around the batch (the weight update, metrics,
validation, logging, checkpoints, stopping) is done by event handlers
(``event_handler.py``); ``fit`` adds MXNet's defaults that are missing.
"""
from __future__ import annotations

import copy
import logging
import sys
import warnings
from typing import List, Optional

from ...block import Block
from ...context import Context, current_context
from ...loss import Loss as GluonLoss
from ...metric import EvalMetric
from ...metric import Loss as LossMetric
from ...trainer import Trainer
from . import utils
from .batch_processor import BatchProcessor
from .event_handler import (BatchBegin, BatchEnd, EpochBegin, EpochEnd, GradientUpdateHandler,
                            LoggingHandler, MetricHandler, StoppingHandler, TrainBegin, TrainEnd,
                            ValidationHandler, _check_event_handlers, _StopTraining)
from .utils import _check_handler_metric_ref, _check_metrics, _suggest_metric_for_loss

__all__ = ["Estimator"]


def _check_iterable(owner: str, what: str, data) -> None:
    if not hasattr(data, "__iter__") and not hasattr(data, "__getitem__"):
        raise ValueError(f"Estimator.{owner}: {what} must be an iterable of (data, label) "
                         f"batches, such as a DataLoader or a list, got {type(data).__name__}")


class Estimator:
    """Trains ``net`` on ``loss`` with ``trainer``.

    ``train_metrics`` / ``val_metrics``: an EvalMetric or a list. Without train metrics,
    the metric suggested for the loss (Accuracy for SoftmaxCrossEntropyLoss) and a
    ``metric.Loss`` named after the loss are used; the names get a 'training ' prefix.
    Without val metrics, copies of the train metrics named 'validation ...'.
    ``initializer``: used when ``net`` is not fully initialized. ``trainer``: default
    SGD with learning rate 0.001 (with a warning). ``context``: a Context or a list
    (data-parallel); default: the contexts of the initialized ``net``, else the current
    context (cpu(0) unless inside ``with fw.gpu(0):``). ``val_net`` / ``val_loss``: used
    by ``evaluate`` (default ``net`` / ``loss``). ``batch_processor``: an object with
    ``fit_batch`` and ``evaluate_batch`` (default ``BatchProcessor()``).

    ``logger``: a ``logging.Logger`` writing INFO and above to ``sys.stdout`` (only in
    the process for which ``utils.is_writer()`` holds).

    The training position, read by the handlers: ``current_epoch``, ``current_batch``
    (in the epoch), ``trained_batches`` (since training began, resumed ones included),
    ``batches_per_epoch`` (``len(train_data)``, or None), ``max_epoch``, ``max_batch``.
    """

    logger: logging.Logger = None

    def __init__(self, net: Block, loss: GluonLoss, train_metrics=None, val_metrics=None,
                 initializer=None, trainer: Optional[Trainer] = None, context=None,
                 val_net: Optional[Block] = None, val_loss: Optional[GluonLoss] = None,
                 batch_processor=None):
        if not isinstance(net, Block):
            raise ValueError(f"Estimator: net must be a Block, got {type(net).__name__}")
        self.net = net
        self.loss = self._check_loss(loss)
        self._train_metrics = _check_metrics(train_metrics)
        self._val_metrics = _check_metrics(val_metrics)
        self._add_default_training_metrics()
        self._add_validation_metrics()
        self.val_loss = self.loss if val_loss is None else self._check_loss(val_loss)
        self.val_net = self.net if val_net is None else val_net

        self.logger = logging.Logger(name="Estimator", level=logging.INFO)
        if utils.is_writer():
            self.logger.addHandler(logging.StreamHandler(sys.stdout))
        else:
            self.logger.addHandler(logging.NullHandler())

        self.context = self._check_context(context)
        self._initialize(initializer)
        self.trainer = self._check_trainer(trainer)
        self.batch_processor = self._check_batch_processor(batch_processor)

        self.max_epoch: Optional[int] = None
        self.max_batch: Optional[int] = None
        self.batch_axis = 0
        self.batches_per_epoch: Optional[int] = None
        self.current_epoch = 0
        self.current_batch = 0
        self.trained_batches = 0
        self._fitting = False              # inside fit: evaluate() runs are epoch validations

    # ---------------------------------------------------------------- checks
    @staticmethod
    def _check_loss(loss) -> GluonLoss:
        if not isinstance(loss, GluonLoss):
            raise ValueError(f"loss must be a Loss (fw.loss), got {type(loss).__name__}: "
                             f"{loss!r}")
        return loss

    def _check_context(self, context) -> List[Context]:
        if context is None:
            try:
                contexts = self.net.collect_params().list_ctx()
            except RuntimeError:           # some Parameter is not initialized
                contexts = []
            return contexts or [current_context()]
        if isinstance(context, Context):
            context = [context]
        if not isinstance(context, (list, tuple)) or not context \
                or not all(isinstance(c, Context) for c in context):
            raise ValueError(f"context must be a Context or a non-empty list of Context, for "
                             f"example fw.cpu() or [fw.gpu(0), fw.gpu(1)], got {context!r}")
        return list(context)

    def _check_batch_processor(self, batch_processor):
        if batch_processor is None:
            return BatchProcessor()
        if not callable(getattr(batch_processor, "fit_batch", None)) \
                or not callable(getattr(batch_processor, "evaluate_batch", None)):
            raise ValueError("Customized Batch Processor must contain fit_batch() and "
                             "evaluate_batch() methods")
        return batch_processor

    def _is_initialized(self) -> bool:
        for param in self.net.collect_params().values():
            try:
                param.list_ctx()
            except RuntimeError:
                return False
        return True

    def _initialize(self, initializer) -> None:
        if not self._is_initialized():
            if initializer is not None:
                self.net.initialize(init=initializer, ctx=self.context)
            else:
                self.net.initialize(ctx=self.context)
            return
        if initializer is not None:
            warnings.warn("Network already fully initialized, skipping initialization. You "
                          "don't need to pass initializer if you already initialized your "
                          "net. You can use net.initialize(init=your_initializer, "
                          "force_reinit=True) to force re-initialize.", stacklevel=3)
        placed = self.net.collect_params().list_ctx()
        missing = [c for c in self.context if c not in placed]
        if missing:
            raise ValueError(f"Estimator: the net's Parameters live on {placed}, but context "
                             f"is {self.context} ({missing} missing); initialize the net on "
                             f"the same contexts, or move it with net.reset_ctx(context)")

    def _check_trainer(self, trainer) -> Trainer:
        if trainer is None:
            warnings.warn("No trainer specified, default SGD optimizer with learning rate "
                          "0.001 is used.", stacklevel=3)
            return Trainer(self.net.collect_params(), "sgd", {"learning_rate": 0.001})
        if not isinstance(trainer, Trainer):
            raise ValueError(f"Trainer must be a Trainer (fw.Trainer) instance, got "
                             f"{type(trainer).__name__}: {trainer!r}")
        return trainer

    # --------------------------------------------------------------- metrics
    def _add_default_training_metrics(self) -> None:
        if not self._train_metrics:
            suggested = _suggest_metric_for_loss(self.loss)
            if suggested is not None:
                self._train_metrics = [suggested]
            self._train_metrics.append(LossMetric(self.loss.name.rstrip("1234567890")))
        for metric in self._train_metrics:
            metric.name = "training " + metric.name

    def _add_validation_metrics(self) -> None:
        if not self._val_metrics:
            self._val_metrics = [copy.deepcopy(metric) for metric in self._train_metrics]
        for metric in self._val_metrics:
            if "training" in metric.name:
                metric.name = metric.name.replace("training", "validation")
            else:
                metric.name = "validation " + metric.name

    @property
    def train_metrics(self) -> List[EvalMetric]:
        return self._train_metrics

    @property
    def val_metrics(self) -> List[EvalMetric]:
        return self._val_metrics

    # ------------------------------------------------------------ evaluation
    def evaluate(self, val_data, batch_axis: int = 0, event_handlers=None) -> None:
        """Run ``val_net`` and ``val_loss`` over ``val_data`` in predict mode, updating
        ``val_metrics`` (reset first). A MetricHandler and a LoggingHandler on the
        validation metrics are added unless given."""
        _check_iterable("evaluate", "val_data", val_data)
        for metric in self.val_metrics:
            metric.reset()
        handlers = self._prepare_default_validation_handlers(event_handlers)
        _, epoch_begin, batch_begin, batch_end, epoch_end, _ = \
            self._categorize_handlers(handlers)
        for handler in epoch_begin:
            handler.epoch_begin(self)
        for batch in val_data:
            for handler in batch_begin:
                handler.batch_begin(self, batch=batch)
            _, label, pred, loss = self.batch_processor.evaluate_batch(self, batch, batch_axis)
            for handler in batch_end:
                handler.batch_end(self, batch=batch, pred=pred, label=label, loss=loss)
        for handler in epoch_end:
            handler.epoch_end(self)

    # --------------------------------------------------------------- fitting
    def fit(self, train_data, val_data=None, epochs: Optional[int] = None,
            event_handlers=None, batches: Optional[int] = None, batch_axis: int = 0) -> None:
        """Train for ``epochs`` passes over ``train_data`` or for ``batches`` batches
        (exactly one of the two).

        Besides ``event_handlers``, a StoppingHandler, and unless given a
        GradientUpdateHandler, MetricHandler, LoggingHandler and (with ``val_data``) a
        ValidationHandler are used. Events: train begin; per epoch: epoch begin, per
        batch: batch begin, ``batch_processor.fit_batch``, batch end; epoch end; train
        end. A batch-end or epoch-end handler returning True ends the loop after that
        event.
        """
        _check_iterable("fit", "train_data", train_data)
        for name, value in (("epochs", epochs), ("batches", batches)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f"Estimator.fit: {name} must be a positive int or None, "
                                 f"got {value!r}")
        if (not epochs) == (not batches):
            raise ValueError("Fit only support exactly one type of iteration, train by number "
                             "of epochs or number of batches. Please specify one and only one "
                             "of: epochs or batches.")
        self.max_epoch = epochs
        self.max_batch = batches
        self.batch_axis = batch_axis
        try:
            self.batches_per_epoch = len(train_data)
        except TypeError:
            self.batches_per_epoch = None
        self.current_epoch = self.current_batch = self.trained_batches = 0

        handlers = self._prepare_default_handlers(val_data, event_handlers)
        train_begin, epoch_begin, batch_begin, batch_end, epoch_end, train_end = \
            self._categorize_handlers(handlers)

        self._fitting = True
        try:
            for handler in train_begin:
                handler.train_begin(self)
            try:
                self._run(train_data, batch_axis, epoch_begin, batch_begin, batch_end,
                          epoch_end)
            except _StopTraining:
                pass
            for handler in train_end:
                handler.train_end(self)
        finally:
            self._fitting = False
            for handler in handlers:           # a bar left open by an exception
                if isinstance(handler, LoggingHandler):
                    handler._close_bar()

    def _run(self, train_data, batch_axis, epoch_begin, batch_begin, batch_end,
             epoch_end) -> None:
        while True:
            self.current_batch = 0
            for handler in epoch_begin:
                handler.epoch_begin(self)
            stop = False
            for batch in train_data:
                for handler in batch_begin:
                    handler.batch_begin(self, batch=batch)
                _, label, pred, loss = self.batch_processor.fit_batch(self, batch, batch_axis)
                stop = False
                for handler in batch_end:
                    stop = bool(handler.batch_end(self, batch=batch, pred=pred, label=label,
                                                  loss=loss)) or stop
                self.current_batch += 1
                self.trained_batches += 1
                if stop:
                    break
            if self.current_batch == 0 and not stop:
                raise ValueError(f"Estimator.fit: train_data yielded no batches in epoch "
                                 f"{self.current_epoch}; an iterator that can be read only "
                                 f"once cannot serve several epochs (pass a list or a "
                                 f"DataLoader)")
            stop = False
            for handler in epoch_end:
                stop = bool(handler.epoch_end(self)) or stop
            self.current_epoch += 1
            if stop:
                return

    # -------------------------------------------------------------- handlers
    def _prepare_default_handlers(self, val_data, event_handlers) -> list:
        handlers = _check_event_handlers(event_handlers)
        added = [StoppingHandler(self.max_epoch, self.max_batch)]
        if not any(isinstance(h, GradientUpdateHandler) for h in handlers):
            added.append(GradientUpdateHandler())
        if not any(isinstance(h, MetricHandler) for h in handlers):
            added.append(MetricHandler(metrics=self.train_metrics))
        if not any(isinstance(h, ValidationHandler) for h in handlers) and val_data is not None:
            _check_iterable("fit", "val_data", val_data)
            added.append(ValidationHandler(val_data=val_data, eval_fn=self.evaluate))
        if not any(isinstance(h, LoggingHandler) for h in handlers):
            added.append(LoggingHandler(metrics=self.train_metrics))
        mixing = bool(handlers) and bool(added)
        handlers.extend(added)
        if mixing:
            known = self.train_metrics + self.val_metrics
            for handler in handlers:
                _check_handler_metric_ref(handler, known)
        handlers.sort(key=lambda h: getattr(h, "priority", 0))
        return handlers

    def _prepare_default_validation_handlers(self, event_handlers) -> list:
        handlers = _check_event_handlers(event_handlers)
        added = []
        if not any(isinstance(h, MetricHandler) for h in handlers):
            added.append(MetricHandler(metrics=self.val_metrics))
        if not any(isinstance(h, LoggingHandler) for h in handlers):
            added.append(LoggingHandler(metrics=self.val_metrics))
        mixing = bool(handlers) and bool(added)
        handlers.extend(added)
        if mixing:
            for handler in handlers:
                _check_handler_metric_ref(handler, self.val_metrics)
        handlers.sort(key=lambda h: getattr(h, "priority", 0))
        return handlers

    @staticmethod
    def _categorize_handlers(handlers):
        """The handlers of each event, in priority order: (train_begin, epoch_begin,
        batch_begin, batch_end, epoch_end, train_end)."""
        kinds = (TrainBegin, EpochBegin, BatchBegin, BatchEnd, EpochEnd, TrainEnd)
        return tuple([h for h in handlers if isinstance(h, kind)] for kind in kinds)
