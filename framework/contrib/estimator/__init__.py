"""``fw.contrib.estimator`` (MXNet 1.9.1's ``gluon.contrib.estimator``): a fit loop with
event handlers for progress, validation, checkpoints, early stopping, learning-rate
schedules, gradient clipping and stopping on a NaN loss.

    from framework.contrib.estimator import Estimator, CheckpointHandler
    est = Estimator(net, fw.loss.SoftmaxCrossEntropyLoss(), trainer=trainer)
    est.fit(train_data, val_data, epochs=5,
            event_handlers=[CheckpointHandler("checkpoints", resume_from_checkpoint=True)])
"""
from . import utils  # noqa: F401
from .batch_processor import BatchProcessor
from .estimator import Estimator
from .event_handler import (BatchBegin, BatchEnd, CheckpointHandler, EarlyStoppingHandler,
                            EpochBegin, EpochEnd, EventHandler, GradientClippingHandler,
                            GradientUpdateHandler, LoggingHandler, LRSchedulerHandler,
                            MetricHandler, StoppingHandler, StopOnNaNHandler, TrainBegin,
                            TrainEnd, ValidationHandler)

__all__ = ["Estimator", "BatchProcessor", "EventHandler", "TrainBegin", "TrainEnd",
           "EpochBegin", "EpochEnd", "BatchBegin", "BatchEnd", "StoppingHandler",
           "MetricHandler", "ValidationHandler", "LoggingHandler", "CheckpointHandler",
           "EarlyStoppingHandler", "GradientUpdateHandler", "GradientClippingHandler",
           "LRSchedulerHandler", "StopOnNaNHandler"]
