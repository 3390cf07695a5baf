"""``BatchProcessor``: what the Estimator does with one batch (MXNet 1.9.1's).

    data, label, pred, loss = processor.fit_batch(estimator, batch, batch_axis)

Each returned item is a list with one NDArray per context of ``estimator.context``:
the batch is cut along ``batch_axis`` with ``fw.utils.split_and_load``. Subclass it and
override ``fit_batch`` / ``evaluate_batch`` for models that need another step (several
inputs, a custom loss), then pass ``Estimator(..., batch_processor=MyProcessor())``.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

from ... import autograd
from ...context import Context
from ...ndarray import NDArray
from ...utils import split_and_load

__all__ = ["BatchProcessor"]

Shards = List[NDArray]


class BatchProcessor:
    """Forward, loss and backward of one batch (``fit_batch``); forward and loss in
    predict mode (``evaluate_batch``)."""

    def _get_data_and_label(self, batch, ctx: Sequence[Context],
                            batch_axis: int = 0) -> Tuple[Shards, Shards]:
        """``batch`` = (data, label), each split along ``batch_axis`` over ``ctx``."""
        try:
            data, label = batch[0], batch[1]
        except (TypeError, IndexError, KeyError):
            raise TypeError(f"Estimator: each batch must be a (data, label) pair, got "
                            f"{type(batch).__name__}"
                            + (f" of length {len(batch)}" if hasattr(batch, "__len__") else "")
                            ) from None
        data = split_and_load(data, ctx_list=ctx, batch_axis=batch_axis, even_split=False)
        label = split_and_load(label, ctx_list=ctx, batch_axis=batch_axis, even_split=False)
        return data, label

    def fit_batch(self, estimator, train_batch, batch_axis: int = 0):
        """Forward and loss under ``autograd.record()``, then backward of each shard's loss.

        Returns (data, label, pred, loss): lists with one NDArray per context. The weights
        are not changed here; ``GradientUpdateHandler`` steps the trainer at batch end.
        """
        data, label = self._get_data_and_label(train_batch, estimator.context, batch_axis)
        with autograd.record():
            pred = [estimator.net(x) for x in data]
            loss = [estimator.loss(y_hat, y) for y_hat, y in zip(pred, label)]
        for value in loss:
            value.backward()
        return data, label, pred, loss

    def evaluate_batch(self, estimator, val_batch, batch_axis: int = 0):
        """Forward of ``estimator.val_net`` and ``estimator.val_loss`` in predict mode,
        nothing recorded. Returns (data, label, pred, loss) as ``fit_batch`` does."""
        data, label = self._get_data_and_label(val_batch, estimator.context, batch_axis)
        with autograd.pause(train_mode=False):
            pred = [estimator.val_net(x) for x in data]
            loss = [estimator.val_loss(y_hat, y) for y_hat, y in zip(pred, label)]
        return data, label, pred, loss
