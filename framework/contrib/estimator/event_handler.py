"""Event handlers of the Estimator (MXNet 1.9.1's ``gluon.contrib.estimator.event_handler``).

A handler subclasses one or more of the mixins ``TrainBegin``, ``EpochBegin``,
``BatchBegin``, ``BatchEnd``, ``EpochEnd``, ``TrainEnd`` and implements the matching
methods; each receives the estimator (``batch_end`` also ``batch``, ``pred``, ``label``
and ``loss`` as keywords). A ``batch_end`` or ``epoch_end`` that returns True asks the
fit loop to stop after that event. Handlers run in ascending ``priority`` (default 0):

    StopOnNaNHandler -3000, GradientUpdateHandler / GradientClippingHandler -2000,
    LRSchedulerHandler -1500, MetricHandler / ValidationHandler -1000,
    StoppingHandler / CheckpointHandler / EarlyStoppingHandler 0, LoggingHandler +inf

so the weights are updated, then metrics and validation are computed, then checkpoints
and early stopping read them, and logging comes last.

The training position lives on the estimator, so that every handler (and a resumed run)
agrees on it: ``estimator.current_epoch`` (index of the epoch in progress),
``estimator.current_batch`` (index of the batch in that epoch) and
``estimator.trained_batches`` (batches finished since training began, resumed ones
included). Inside ``batch_end`` they name the batch just processed; inside
``epoch_end`` the epoch just finished.
"""
from __future__ import annotations

import json
import math
import os
import re
import sys
import time
import warnings
from typing import Callable, List, Optional, Union

from ...lr_scheduler import LRScheduler
from ...metric import CompositeEvalMetric, EvalMetric
from ...metric import Loss as LossMetric
from ...utils import clip_global_norm
from . import utils
from .utils import _check_metrics

__all__ = ["EventHandler", "TrainBegin", "TrainEnd", "EpochBegin", "EpochEnd", "BatchBegin",
           "BatchEnd", "StoppingHandler", "MetricHandler", "ValidationHandler",
           "LoggingHandler", "CheckpointHandler", "EarlyStoppingHandler",
           "GradientUpdateHandler", "GradientClippingHandler", "LRSchedulerHandler",
           "StopOnNaNHandler"]


class EventHandler:
    """Base of all handlers."""


def _check_event_handlers(handlers) -> List[EventHandler]:
    if isinstance(handlers, EventHandler):
        return [handlers]
    handlers = list(handlers or [])
    for i, handler in enumerate(handlers):
        if not isinstance(handler, EventHandler):
            raise ValueError(f"event_handlers must be an EventHandler or a list of "
                             f"EventHandler; item {i} is a {type(handler).__name__}: "
                             f"{handler!r}")
    return handlers


class _StopTraining(Exception):
    """Raised by a handler to stop at once: the rest of this batch's handlers, the epoch
    end and the remaining batches are skipped; the train-end handlers still run."""


class TrainBegin(EventHandler):
    def train_begin(self, estimator, *args, **kwargs) -> None:
        pass


class TrainEnd(EventHandler):
    def train_end(self, estimator, *args, **kwargs) -> None:
        pass


class EpochBegin(EventHandler):
    def epoch_begin(self, estimator, *args, **kwargs) -> None:
        pass


class EpochEnd(EventHandler):
    def epoch_end(self, estimator, *args, **kwargs) -> bool:
        return False


class BatchBegin(EventHandler):
    def batch_begin(self, estimator, *args, **kwargs) -> None:
        pass


class BatchEnd(EventHandler):
    def batch_end(self, estimator, *args, **kwargs) -> bool:
        return False


def _check_period(owner: str, name: str, value, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int"
                         f"{' or None' if allow_none else ''}, got {value!r}")


def _loss_list(loss) -> list:
    return loss if isinstance(loss, (list, tuple)) else [loss]


def _batch_size(loss, batch_axis: int) -> int:
    """Samples in a batch: the sizes of the loss shards along ``batch_axis`` (a scalar
    loss, e.g. a custom processor's mean, counts as one)."""
    return sum(value.shape[batch_axis] if value.ndim else 1 for value in _loss_list(loss))


def _format_metrics(metrics: List[EvalMetric]) -> str:
    return ", ".join(f"{name}: {value:.4f}" for metric in metrics
                     for name, value in metric.get_name_value())


# ------------------------------------------------------------------ MXNet's handlers
class StoppingHandler(TrainBegin, BatchEnd, EpochEnd):
    """Stops training when ``max_epoch`` epochs or ``max_batch`` batches are done (both
    taken from the estimator's ``fit(epochs=..., batches=...)`` at train begin).

    Counts the estimator's position, so a run resumed from a checkpoint stops at the
    same total as an uninterrupted one.
    """

    def __init__(self, max_epoch: Optional[int] = None, max_batch: Optional[int] = None):
        self.max_epoch = max_epoch
        self.max_batch = max_batch
        self.current_batch = 0          # batches / epochs run in this fit call
        self.current_epoch = 0
        self.stop_training = False

    def train_begin(self, estimator, *args, **kwargs) -> None:
        self.max_epoch = estimator.max_epoch
        self.max_batch = estimator.max_batch
        self.current_batch = 0
        self.current_epoch = 0
        self.stop_training = False

    def batch_end(self, estimator, *args, **kwargs) -> bool:
        self.current_batch += 1
        if self.max_batch and estimator.trained_batches + 1 >= self.max_batch:
            self.stop_training = True
        return self.stop_training

    def epoch_end(self, estimator, *args, **kwargs) -> bool:
        self.current_epoch += 1
        if self.max_epoch and estimator.current_epoch + 1 >= self.max_epoch:
            self.stop_training = True
        return self.stop_training


class MetricHandler(EpochBegin, BatchEnd):
    """Resets ``metrics`` at epoch begin and updates them at batch end: a ``metric.Loss``
    with the loss values, any other metric with (label, pred)."""

    def __init__(self, metrics, priority: float = -1000):
        self.metrics = _check_metrics(metrics)
        self.priority = priority

    def epoch_begin(self, estimator, *args, **kwargs) -> None:
        for metric in self.metrics:
            metric.reset()

    def batch_end(self, estimator, *args, **kwargs) -> bool:
        pred, label, loss = kwargs["pred"], kwargs["label"], kwargs["loss"]
        for metric in self.metrics:
            if isinstance(metric, LossMetric):
                metric.update(0, loss)
            else:
                metric.update(label, pred)
        return False


class ValidationHandler(TrainBegin, BatchEnd, EpochEnd):
    """Runs ``eval_fn(val_data=..., batch_axis=...)`` (usually ``estimator.evaluate``)
    every ``epoch_period`` epochs and, if given, every ``batch_period`` batches."""

    def __init__(self, val_data, eval_fn: Callable, epoch_period: Optional[int] = 1,
                 batch_period: Optional[int] = None, priority: float = -1000):
        _check_period("ValidationHandler", "epoch_period", epoch_period)
        _check_period("ValidationHandler", "batch_period", batch_period)
        if not callable(eval_fn):
            raise ValueError(f"ValidationHandler: eval_fn must be callable, got "
                             f"{type(eval_fn).__name__}")
        self.val_data = val_data
        self.eval_fn = eval_fn
        self.epoch_period = epoch_period
        self.batch_period = batch_period
        self.current_batch = 0          # batches / epochs run in this fit call
        self.current_epoch = 0
        self.priority = priority

    def train_begin(self, estimator, *args, **kwargs) -> None:
        self.current_batch = 0
        self.current_epoch = 0

    def batch_end(self, estimator, *args, **kwargs) -> bool:
        self.current_batch += 1
        if self.batch_period and (estimator.trained_batches + 1) % self.batch_period == 0:
            self.eval_fn(val_data=self.val_data, batch_axis=estimator.batch_axis)
        return False

    def epoch_end(self, estimator, *args, **kwargs) -> bool:
        self.current_epoch += 1
        if self.epoch_period and (estimator.current_epoch + 1) % self.epoch_period == 0:
            self.eval_fn(val_data=self.val_data, batch_axis=estimator.batch_axis)
        return False


def _isatty(stream) -> bool:
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
    # under mpiexec a process writes to Open MPI's pseudo-terminal wherever the job's
    # output goes; python -m framework.launch says whether that is a terminal
    told = os.environ.get("FRAMEWORK_LAUNCH_TTY")
    return tty and told != "0"


class LoggingHandler(TrainBegin, TrainEnd, EpochBegin, EpochEnd, BatchBegin, BatchEnd):
    """Shows the progress of training (and of each validation).

    When the output is a terminal (``stream.isatty()``), each training epoch gets a
    tqdm progress bar whose postfix holds the current loss and metric values; otherwise
    one plain line per epoch (MXNet's format):

        [Epoch 0] Finished in 0.512s, training accuracy: 0.9100, training l2loss: 0.3120

    A validation run prints one line with the validation metrics. With an int
    ``log_interval`` (and no bar), a line is also written every ``log_interval`` batches.

    ``metrics``: the metrics shown (the estimator's default handler shows
    ``estimator.train_metrics``; the bar adds the epoch's mean loss when these hold no
    ``metric.Loss``). ``progress_bar``: 'auto' (a bar only on a terminal),
    True or False. ``stream``: where to write; by default lines go through
    ``estimator.logger`` (to ``sys.stdout``) and bars to ``sys.stdout``; a given stream
    receives everything. Only the process for which ``utils.is_writer()`` holds writes.
    """

    def __init__(self, log_interval: Union[str, int] = "epoch", metrics=None,
                 priority: float = math.inf, progress_bar: Union[str, bool] = "auto",
                 stream=None):
        if log_interval != "epoch" and (isinstance(log_interval, bool)
                                        or not isinstance(log_interval, int)
                                        or log_interval < 1):
            raise ValueError(f"log_interval must be either a positive integer or string "
                             f"'epoch', got {log_interval!r}")
        if progress_bar not in ("auto", True, False):
            raise ValueError(f"LoggingHandler: progress_bar must be 'auto', True or False, "
                             f"got {progress_bar!r}")
        self.metrics = _check_metrics(metrics)
        self.priority = priority
        self.log_interval = log_interval
        self.progress_bar = progress_bar
        self.stream = stream
        self.batch_index = 0
        self.current_epoch = 0          # epochs run in this fit call
        self.processed_samples = 0
        self.log_interval_time = 0.0
        self._training = False
        self._writer = True
        self._bar_mode = False
        self._bar = None
        self._out = None
        self._bar_loss: Optional[LossMetric] = None   # the bar's loss when metrics lack one

    # ---------------------------------------------------------------- output
    def _resolve_output(self) -> None:
        self._writer = utils.is_writer()
        self._out = self.stream if self.stream is not None else sys.stdout
        wanted = _isatty(self._out) if self.progress_bar == "auto" else self.progress_bar
        self._bar_mode = bool(wanted) and self._writer

    def _emit(self, estimator, message: str) -> None:
        if not self._writer:
            return
        if self._bar_mode:
            from tqdm import tqdm
            tqdm.write(message, file=self._out)
        elif self.stream is not None:
            self.stream.write(message + "\n")
            self.stream.flush()
        else:
            estimator.logger.info(message)

    def _postfix(self) -> str:
        single_loss = sum(isinstance(m, LossMetric) for m in self.metrics) == 1
        parts = []
        shown = self.metrics if self._bar_loss is None else self.metrics + [self._bar_loss]
        for metric in shown:
            for name, value in metric.get_name_value():
                if single_loss and isinstance(metric, LossMetric):
                    name = "loss"
                else:
                    for prefix in ("training ", "validation "):
                        if name.startswith(prefix):
                            name = name[len(prefix):]
                parts.append(f"{name}={value:.4f}")
        return ", ".join(parts)

    def _open_bar(self, estimator) -> None:
        from tqdm import tqdm
        total = estimator.batches_per_epoch
        if estimator.max_batch:
            left = estimator.max_batch - estimator.trained_batches
            total = left if total is None else min(total, left)
        self._bar = tqdm(total=total, desc=f"[Epoch {estimator.current_epoch}]",
                         file=self._out, unit="batch", leave=True, dynamic_ncols=True)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(self._postfix(), refresh=False)
            self._bar.close()
            self._bar = None

    # ---------------------------------------------------------------- events
    def train_begin(self, estimator, *args, **kwargs) -> None:
        self._resolve_output()
        self._training = True
        self.train_start = time.time()
        self.current_epoch = 0
        self.batch_index = 0
        self.processed_samples = 0
        self.log_interval_time = 0.0
        trainer = estimator.trainer
        self._emit(estimator, f"Training begin: using optimizer "
                              f"{type(trainer.optimizer).__name__} with current learning "
                              f"rate {trainer.learning_rate:.4f}")
        resumed = (f" (resuming at epoch {estimator.current_epoch}, batch "
                   f"{estimator.trained_batches})" if estimator.trained_batches else "")
        if estimator.max_epoch:
            self._emit(estimator, f"Train for {estimator.max_epoch - estimator.current_epoch}"
                                  f" epochs{resumed}.")
        else:
            self._emit(estimator, f"Train for {estimator.max_batch - estimator.trained_batches}"
                                  f" batches{resumed}.")

    def train_end(self, estimator, *args, **kwargs) -> None:
        self._close_bar()
        train_time = time.time() - self.train_start
        message = (f"Train finished using total {train_time:.0f}s with {self.current_epoch} "
                   f"epochs. {_format_metrics(self.metrics)}")
        self._emit(estimator, message.rstrip(", "))
        self._training = False

    def epoch_begin(self, estimator, *args, **kwargs) -> None:
        if not self._training:             # a validation run (``evaluate``)
            self._resolve_output()
        self.epoch_start = time.time()
        self.batch_index = 0
        if self._training and self._bar_mode:
            self._close_bar()
            self._open_bar(estimator)
            if not any(isinstance(m, LossMetric) for m in self.metrics):
                self._bar_loss = LossMetric("loss")

    def batch_begin(self, estimator, *args, **kwargs) -> None:
        if isinstance(self.log_interval, int):
            self.batch_start = time.time()

    def batch_end(self, estimator, *args, **kwargs) -> bool:
        if not self._training:
            return False
        if self._bar is not None:
            if self._bar_loss is not None and "loss" in kwargs:
                self._bar_loss.update(0, kwargs["loss"])
            self._bar.set_postfix_str(self._postfix(), refresh=False)
            self._bar.update(1)
            if self._bar.total is not None and self._bar.n >= self._bar.total:
                self._close_bar()          # before validation prints under it
        elif isinstance(self.log_interval, int) and not self._bar_mode:
            self.log_interval_time += time.time() - self.batch_start
            batch = kwargs.get("batch")
            if batch is not None:
                first = batch[0]
                self.processed_samples += first.shape[estimator.batch_axis] \
                    if getattr(first, "ndim", 0) else 1
            if self.batch_index % self.log_interval == 0:
                message = (f"[Epoch {estimator.current_epoch}][Batch {self.batch_index}]"
                           f"[Samples {self.processed_samples}] time/interval: "
                           f"{self.log_interval_time:.3f}s {_format_metrics(self.metrics)}")
                self.log_interval_time = 0.0
                self._emit(estimator, message.rstrip(", "))
        self.batch_index += 1
        return False

    def epoch_end(self, estimator, *args, **kwargs) -> bool:
        elapsed = time.time() - self.epoch_start
        if not self._training:
            where = (f"[Epoch {estimator.current_epoch}] "
                     if getattr(estimator, "_fitting", False) else "")
            self._emit(estimator, f"{where}Validation finished in {elapsed:.3f}s, "
                                  f"{_format_metrics(self.metrics)}".rstrip(", "))
            return False
        if self._bar_mode:
            self._close_bar()
        else:
            self._emit(estimator, f"[Epoch {estimator.current_epoch}] Finished in "
                                  f"{elapsed:.3f}s, {_format_metrics(self.metrics)}"
                                  .rstrip(", "))
        self.current_epoch += 1
        self.batch_index = 0
        return False


def _comparison(owner: str, mode: str, monitor: EvalMetric):
    """(is_better(new, best), worst value) for ``mode``: 'min', 'max' or 'auto' (max for
    accuracy-like names, min otherwise, with a warning naming the choice, as MXNet)."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner}: mode {mode!r} is unknown, fallback to auto mode "
                      f"(max for accuracy, f1, mcc and correlation metrics, min otherwise)",
                      RuntimeWarning, stacklevel=3)
        mode = "auto"
    if mode == "auto":
        name = monitor.name.lower()
        mode = "max" if any(key in name for key in ("acc", "f1", "mcc", "pcc", "pearson")) \
            else "min"
        other = "min" if mode == "max" else "max"
        warnings.warn(f"{owner}: `{'greater' if mode == 'max' else 'less'}` operator will be "
                      f"used to determine if {monitor.name} has improved. Please specify "
                      f"`mode='{other}'` to use the other operator. Specify `mode='{mode}'` "
                      f"to disable this warning.", stacklevel=3)
    if mode == "max":
        return (lambda new, best: new > best), -math.inf, mode
    return (lambda new, best: new < best), math.inf, mode


class CheckpointHandler(TrainBegin, BatchEnd, EpochEnd):
    """Saves the model's parameters and the trainer's states every ``epoch_period``
    epochs (and/or every ``batch_period`` batches) as
    ``{model_dir}/{model_prefix}-epoch{E}batch{B}.params`` and ``.states``.

    ``E`` is the epoch index; ``B`` the number of batches trained (at an epoch end) or the
    index of the batch just trained (at a batch end), as MXNet names them. Each file is
    written atomically (``save_parameters`` / ``Trainer.save_states``), the ``.states``
    before the ``.params``, so a ``.params`` file always has its ``.states``. Only the
    last ``max_checkpoints`` are kept. With ``save_best`` and a ``monitor`` (one of
    ``estimator.train_metrics`` / ``val_metrics``), the best so far is also kept as
    ``{model_prefix}-best.params/.states``, with ``{model_prefix}-best.json`` recording
    its value, epoch and batch. ``mode``: 'auto', 'min' or 'max'.

    ``resume_from_checkpoint``: at train begin, load the latest checkpoint in
    ``model_dir`` (parameters, trainer states, and the epoch and batch counters), so
    that ``fit`` continues where it stopped: ``fit(epochs=4)`` resumed after epoch 1
    trains epochs 2 and 3. Resuming needs the same kind of period as the fit (only
    ``epoch_period`` for ``epochs=``, only ``batch_period`` for ``batches=``). After a
    batch checkpoint, the resumed run starts a fresh pass over the training data.
    """

    def __init__(self, model_dir: str, model_prefix: str = "model",
                 monitor: Optional[EvalMetric] = None, verbose: int = 0,
                 save_best: bool = False, mode: str = "auto",
                 epoch_period: Optional[int] = 1, batch_period: Optional[int] = None,
                 max_checkpoints: int = 5, resume_from_checkpoint: bool = False):
        _check_period("CheckpointHandler", "epoch_period", epoch_period)
        _check_period("CheckpointHandler", "batch_period", batch_period)
        _check_period("CheckpointHandler", "max_checkpoints", max_checkpoints,
                      allow_none=False)
        if not isinstance(model_prefix, str) or not model_prefix or os.sep in model_prefix:
            raise ValueError(f"CheckpointHandler: model_prefix must be a non-empty file name "
                             f"prefix, got {model_prefix!r}")
        if save_best and not isinstance(monitor, EvalMetric):
            raise ValueError("To save best model only, please provide one of the metric "
                             "objects from estimator.train_metrics and estimator.val_metrics "
                             "as monitor.")
        self.model_dir = os.fspath(model_dir)
        self.model_prefix = model_prefix
        self.monitor = monitor
        self.verbose = verbose
        self.save_best = save_best
        self.epoch_period = epoch_period
        self.batch_period = batch_period
        self.max_checkpoints = max_checkpoints
        self.resume_from_checkpoint = resume_from_checkpoint
        self.saved_checkpoints: List[str] = []
        self.current_batch = 0          # batches / epochs run in this fit call
        self.current_epoch = 0
        self.resumed_from: Optional[str] = None
        if save_best:
            self._better, self._worst, self.mode = _comparison("CheckpointHandler", mode,
                                                               monitor)
            self.best = self._worst
        if utils.is_writer():
            os.makedirs(self.model_dir, exist_ok=True)

    def _path(self, name: str) -> str:
        return os.path.join(self.model_dir, name)

    # ---------------------------------------------------------------- events
    def train_begin(self, estimator, *args, **kwargs) -> None:
        self.current_epoch = 0
        self.current_batch = 0
        self.resumed_from = None
        if self.save_best:
            self.best = self._worst
        if not self.resume_from_checkpoint:
            return
        error = ("To use resume from checkpoint, you must only specify the same type of "
                 "period you used for training. For example, if you are training based on "
                 "number of epochs, you must save only based on epochs, and set batch_period "
                 f"to None (CheckpointHandler has epoch_period={self.epoch_period}, "
                 f"batch_period={self.batch_period}; fit has epochs={estimator.max_epoch}, "
                 f"batches={estimator.max_batch}).")
        if estimator.max_batch and (not self.batch_period or self.epoch_period):
            raise ValueError(error)
        if estimator.max_epoch and (not self.epoch_period or self.batch_period):
            raise ValueError(error)
        self._resume(estimator)

    def batch_end(self, estimator, *args, **kwargs) -> bool:
        if self.batch_period and (estimator.trained_batches + 1) % self.batch_period == 0:
            self._save_checkpoint(estimator, estimator.current_epoch, estimator.trained_batches)
        self.current_batch += 1
        return False

    def epoch_end(self, estimator, *args, **kwargs) -> bool:
        if self.epoch_period and (estimator.current_epoch + 1) % self.epoch_period == 0:
            self._save_checkpoint(estimator, estimator.current_epoch, estimator.trained_batches)
        self.current_epoch += 1
        return False

    # ---------------------------------------------------------------- saving
    def _save_checkpoint(self, estimator, epoch: int, batch: int) -> None:
        prefix = f"{self.model_prefix}-epoch{epoch}batch{batch}"
        writer = utils.is_writer()
        if writer:
            self._save_params_and_trainer(estimator, prefix)
            self.saved_checkpoints.append(prefix)
            while len(self.saved_checkpoints) > self.max_checkpoints:
                self._remove(self.saved_checkpoints.pop(0))
            if self.verbose > 0:
                estimator.logger.info(f"[Epoch {epoch}] CheckpointHandler: trained total "
                                      f"{estimator.trained_batches + 1} batches, saving model "
                                      f"at {self.model_dir} with prefix: {prefix}")
        if not self.save_best:
            return
        name, value = self.monitor.get()
        if isinstance(value, float) and math.isnan(value):
            warnings.warn(RuntimeWarning(
                f"CheckpointHandler: skipping save best because {name} is not updated, make "
                f"sure you pass one of the metric objects estimator.train_metrics and "
                f"estimator.val_metrics as monitor"))
            return
        if not self._better(value, self.best):
            if self.verbose > 0 and writer:
                estimator.logger.info(f"[Epoch {epoch}] CheckpointHandler: {name} did not "
                                      f"improve from {self.best:0.5f}, skipping updating best "
                                      f"model")
            return
        previous, self.best = self.best, float(value)
        if not writer:
            return
        best_prefix = f"{self.model_prefix}-best"
        self._save_params_and_trainer(estimator, best_prefix)
        from ..._fileio import atomic_write
        with atomic_write(self._path(best_prefix + ".json"), "w") as f:
            json.dump({"monitor": name, "mode": self.mode, "value": self.best,
                       "epoch": epoch, "batch": batch}, f)
        if self.verbose > 0:
            estimator.logger.info(f"[Epoch {epoch}] CheckpointHandler: {name} improved from "
                                  f"{previous:0.5f} to {self.best:0.5f}, updating best model "
                                  f"at {self.model_dir} with prefix: {best_prefix}")

    def _save_params_and_trainer(self, estimator, prefix: str) -> None:
        estimator.trainer.save_states(self._path(prefix + ".states"))
        estimator.net.save_parameters(self._path(prefix + ".params"))

    def _remove(self, prefix: str) -> None:
        for suffix in (".params", ".states"):
            try:
                os.remove(self._path(prefix + suffix))
            except FileNotFoundError:
                pass

    # ---------------------------------------------------------------- resuming
    def _find_checkpoints(self):
        """[(epoch, batch, prefix)] of the complete checkpoints in model_dir, oldest first."""
        pattern = re.compile(rf"^{re.escape(self.model_prefix)}-epoch(\d+)batch(\d+)\.params$")
        found = []
        try:
            names = os.listdir(self.model_dir)
        except FileNotFoundError:
            return found
        for name in names:
            match = pattern.match(name)
            if match is None:
                continue
            prefix = name[:-len(".params")]
            if os.path.exists(self._path(prefix + ".states")):
                found.append((int(match.group(1)), int(match.group(2)), prefix))
        return sorted(found)

    def _resume(self, estimator) -> None:
        found = self._find_checkpoints()
        _same_checkpoint_on_every_rank(self.model_dir, found[-1][2] if found else None)
        if not found:
            amount = (f"{estimator.max_batch} batches" if estimator.max_batch
                      else f"{estimator.max_epoch} epochs")
            estimator.logger.info(f"CheckpointHandler: No checkpoint found in "
                                  f"{self.model_dir}, training from scratch for {amount}")
            return
        epoch, batch, prefix = found[-1]
        if estimator.max_epoch:
            if epoch >= estimator.max_epoch - 1:
                raise ValueError(f"CheckpointHandler: found checkpoint {prefix} with maximum "
                                 f"number of epoch {estimator.max_epoch} reached, please "
                                 f"specify resume_from_checkpoint=False (default value) if "
                                 f"you want to train from scratch.")
            estimator.current_epoch, estimator.trained_batches = epoch + 1, batch
            left = f"{estimator.max_epoch - epoch - 1} epochs"
        else:
            if batch >= estimator.max_batch - 1:
                raise ValueError(f"CheckpointHandler: found checkpoint {prefix} with maximum "
                                 f"number of batch {estimator.max_batch} reached, please "
                                 f"specify resume_from_checkpoint=False (default value) if "
                                 f"you want to train from scratch.")
            estimator.current_epoch, estimator.trained_batches = epoch + 1, batch + 1
            left = f"{estimator.max_batch - batch - 1} batches"
        estimator.net.load_parameters(self._path(prefix + ".params"), ctx=estimator.context)
        estimator.trainer.load_states(self._path(prefix + ".states"))
        self.saved_checkpoints = [p for _, _, p in found]
        self.resumed_from = prefix
        if self.save_best:
            self._restore_best()
        estimator.logger.warning(f"CheckpointHandler: Checkpoint resumed from epoch {epoch} "
                                 f"batch {batch}, continue to train for {left}")

    def _restore_best(self) -> None:
        try:
            with open(self._path(f"{self.model_prefix}-best.json"), encoding="utf-8") as f:
                record = json.load(f)
        except (FileNotFoundError, ValueError):
            return
        if record.get("monitor") == self.monitor.name and record.get("mode") == self.mode:
            self.best = float(record["value"])


def _same_checkpoint_on_every_rank(model_dir: str, latest: Optional[str]) -> None:
    """In a distributed job, check that every rank found the same latest checkpoint
    (they resume together, or their steps would no longer match)."""
    from ... import distributed
    if not distributed.is_initialized() or distributed.size() == 1:
        return
    seen = distributed.allgather_object(latest)
    if any(s != seen[0] for s in seen):
        views = ", ".join(f"rank {r}: {s or 'none'}" for r, s in enumerate(seen))
        raise ValueError(f"CheckpointHandler: the ranks see different latest checkpoints in "
                         f"{model_dir!r} ({views}); resuming a distributed job needs a "
                         f"directory every rank can read (a shared file system), written "
                         f"by rank 0 only")


class EarlyStoppingHandler(TrainBegin, EpochEnd, TrainEnd):
    """Stops training when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs (checked at each epoch end). ``mode``: 'auto', 'min' or 'max';
    ``baseline``: the value to beat from the start."""

    def __init__(self, monitor: EvalMetric, min_delta: float = 0, patience: int = 0,
                 mode: str = "auto", baseline: Optional[float] = None):
        if not isinstance(monitor, EvalMetric):
            raise ValueError("Please provide one of the metric objects from "
                             "estimator.train_metrics and estimator.val_metrics as monitor.")
        if isinstance(monitor, CompositeEvalMetric):
            raise ValueError("CompositeEvalMetric is not supported for EarlyStoppingHandler, "
                             "please specify a simple metric instead.")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStoppingHandler: patience must be an int >= 0, got "
                             f"{patience!r}")
        self.monitor = monitor
        self.baseline = baseline
        self.patience = patience
        self._better, self._worst, self.mode = _comparison("EarlyStoppingHandler", mode,
                                                           monitor)
        self.min_delta = abs(min_delta) if self.mode == "max" else -abs(min_delta)
        self.wait = 0
        self.stopped_epoch = None
        self.current_epoch = 0
        self.stop_training = False
        self.best = self._worst

    def train_begin(self, estimator, *args, **kwargs) -> None:
        self.wait = 0
        self.stopped_epoch = None
        self.current_epoch = 0
        self.stop_training = False
        self.best = self.baseline if self.baseline is not None else self._worst

    def epoch_end(self, estimator, *args, **kwargs) -> bool:
        name, value = self.monitor.get()
        if isinstance(value, float) and math.isnan(value):
            warnings.warn(RuntimeWarning(
                f"EarlyStoppingHandler: {name} is not updated, make sure you pass one of the "
                f"metric objects from estimator.train_metrics and estimator.val_metrics as "
                f"monitor."))
        elif self._better(value - self.min_delta, self.best):
            self.best = value
            self.wait = 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = estimator.current_epoch
                self.stop_training = True
        self.current_epoch += 1
        return self.stop_training

    def train_end(self, estimator, *args, **kwargs) -> None:
        if self.stopped_epoch is not None:
            estimator.logger.info(f"[Epoch {self.stopped_epoch}] EarlyStoppingHandler: early "
                                  f"stopping due to {self.monitor.name} not improving")


class GradientUpdateHandler(BatchEnd):
    """Applies the gradients at batch end: ``trainer.step(batch_size)``, with the batch
    size read from the loss shards along ``estimator.batch_axis``."""

    def __init__(self, priority: float = -2000):
        self.priority = priority

    def batch_end(self, estimator, *args, **kwargs) -> bool:
        estimator.trainer.step(_batch_size(kwargs["loss"], estimator.batch_axis))
        return False


# ------------------------------------------------------------------ beyond MXNet
class GradientClippingHandler(GradientUpdateHandler):
    """Applies the gradients with clipping by global norm; replaces GradientUpdateHandler
    (pass it in ``event_handlers`` and the default update handler is not added).

    At batch end, MXNet's recipe: ``trainer.allreduce_grads()``, then
    ``fw.utils.clip_global_norm`` of the gradients (on each context; after the allreduce
    every context holds the same sums), then ``trainer.update(batch_size)``. The norm is
    that of the gradients as ``backward`` left them: summed over the batch, before the
    optimizer divides by the batch size. To bound the norm of the batch-mean gradient,
    pass ``max_norm`` times the batch size. ``last_norm`` holds the norm before clipping
    (a float with ``check_isfinite``, else an NDArray, with no host synchronisation).
    """

    def __init__(self, max_norm: float, check_isfinite: bool = True, priority: float = -2000):
        if not isinstance(max_norm, (int, float)) or isinstance(max_norm, bool) \
                or not max_norm > 0:
            raise ValueError(f"GradientClippingHandler: max_norm must be a positive number, "
                             f"got {max_norm!r}")
        super().__init__(priority)
        self.max_norm = float(max_norm)
        self.check_isfinite = check_isfinite
        self.last_norm = None

    def batch_end(self, estimator, *args, **kwargs) -> bool:
        trainer = estimator.trainer
        batch_size = _batch_size(kwargs["loss"], estimator.batch_axis)
        trainer.allreduce_grads()
        by_context = {}
        for param in trainer._params:
            if param.grad_req == "null":
                continue
            for grad in param.list_grad():
                by_context.setdefault(grad.context, []).append(grad)
        for grads in by_context.values():
            self.last_norm = clip_global_norm(grads, self.max_norm,
                                              check_isfinite=self.check_isfinite)
        trainer.update(batch_size)
        return False


class LRSchedulerHandler(TrainBegin, EpochBegin, BatchBegin):
    """Sets the learning rate from ``scheduler`` before each epoch (``by='epoch'``:
    ``scheduler(estimator.current_epoch)``) or each batch (``by='batch'``:
    ``scheduler(estimator.trained_batches)``), through ``trainer.set_learning_rate``.

    ``scheduler``: an ``fw.lr_scheduler.LRScheduler`` (its own ``base_lr`` is used) or any
    callable from an index to a rate. The optimizer must not have an ``lr_scheduler`` of
    its own. ``current_lr`` holds the last rate set. Counts the estimator's position, so a
    resumed run gets the same rates as an uninterrupted one.
    """

    def __init__(self, scheduler: Union[LRScheduler, Callable[[int], float]],
                 by: str = "epoch", priority: float = -1500):
        if not callable(scheduler):
            raise ValueError(f"LRSchedulerHandler: scheduler must be an LRScheduler or a "
                             f"callable index -> learning rate, got {type(scheduler).__name__}")
        if by not in ("epoch", "batch"):
            raise ValueError(f"LRSchedulerHandler: by must be 'epoch' or 'batch', got {by!r}")
        self.scheduler = scheduler
        self.by = by
        self.priority = priority
        self.current_lr: Optional[float] = None

    def train_begin(self, estimator, *args, **kwargs) -> None:
        if getattr(estimator.trainer.optimizer, "lr_scheduler", None) is not None:
            raise ValueError("LRSchedulerHandler: the trainer's optimizer already has an "
                             "lr_scheduler; use one or the other (create the Trainer without "
                             "'lr_scheduler' in optimizer_params)")

    def _set(self, estimator, index: int) -> None:
        lr = self.scheduler(index)
        if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not math.isfinite(lr):
            raise ValueError(f"LRSchedulerHandler: scheduler({index}) returned {lr!r}; "
                             f"expected a finite number")
        estimator.trainer.set_learning_rate(float(lr))
        self.current_lr = float(lr)

    def epoch_begin(self, estimator, *args, **kwargs) -> None:
        if self.by == "epoch":
            self._set(estimator, estimator.current_epoch)

    def batch_begin(self, estimator, *args, **kwargs) -> None:
        if self.by == "batch":
            self._set(estimator, estimator.trained_batches)


class StopOnNaNHandler(TrainBegin, BatchEnd):
    """Stops training at the first batch whose loss is NaN or infinite, before that
    batch's update (its priority, -3000, runs it before GradientUpdateHandler), so the
    weights stay those after the last good batch. The message, logged as a warning and
    kept in ``message``, names the batch:

        [Epoch 1][Batch 3] StopOnNaNHandler: the loss is nan ...

    ``stopped_at`` holds (epoch, batch index in the epoch). The metrics are not updated
    with the bad batch; the train-end handlers still run. Costs one host synchronisation
    per context and batch.
    """

    def __init__(self, priority: float = -3000):
        self.priority = priority
        self.stopped_at = None
        self.message: Optional[str] = None

    def train_begin(self, estimator, *args, **kwargs) -> None:
        self.stopped_at = None
        self.message = None

    def batch_end(self, estimator, *args, **kwargs) -> bool:
        kinds = set()
        for value in _loss_list(kwargs["loss"]):
            xp, raw = value.context.xp, value._data
            with value.context.scope():
                finite = xp.isfinite(raw).all().tolist()      # one host transfer
                if not finite:
                    kinds.add("nan" if xp.isnan(raw).any().tolist() else "inf")
        if not kinds:
            return False
        epoch, batch = estimator.current_epoch, estimator.current_batch
        self.stopped_at = (epoch, batch)
        self.message = (f"[Epoch {epoch}][Batch {batch}] StopOnNaNHandler: the loss is "
                        f"{' and '.join(sorted(kinds))} (batch {estimator.trained_batches} "
                        f"since training began); training stopped before this batch's "
                        f"update, the weights are those after the previous batch")
        if utils.is_writer():
            estimator.logger.warning(self.message)
        raise _StopTraining(self.message)

