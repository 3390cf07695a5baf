"""Learning-rate schedules (MXNet 1.9.1's ``mx.lr_scheduler``).

Ground floor: imports nothing from the framework.

A scheduler is called with ``num_update``, the largest number of updates applied
to any weight so far (the optimizer counts from 1), and returns the learning rate:

    sched = FactorScheduler(step=100, factor=0.5, base_lr=0.1)
    sched(1)      # 0.1
    sched(101)    # 0.05   (the rate halves after every 100 updates)

``FactorScheduler`` and ``MultiFactorScheduler`` are stateful, as in MXNet: they
lower ``base_lr`` in place as ``num_update`` passes each step (and log the change),
so calling them with a smaller count afterwards does not raise the rate again.
``PolyScheduler`` and ``CosineScheduler`` are closed forms of ``num_update``.

Each takes a warm-up: for ``num_update < warmup_steps`` the rate is
``warmup_begin_lr`` (``warmup_mode='constant'``) or rises linearly from
``warmup_begin_lr`` to ``base_lr`` (``'linear'``).
"""
from __future__ import annotations

import logging
import math
import numbers
from typing import List

__all__ = ["LRScheduler", "FactorScheduler", "MultiFactorScheduler", "PolyScheduler",
           "CosineScheduler"]

_WARMUP_MODES = ("linear", "constant")


def _check_int(owner: str, name: str, value) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__} {value!r}")


class LRScheduler:
    """Base class of a learning-rate schedule: ``sched(num_update) -> float``.

    Parameters
    ----------
    base_lr : the rate after warm-up (the starting rate of the decay).
    warmup_steps : number of updates, from 0, spent warming up (0: none).
    warmup_begin_lr : the rate the warm-up starts from (at most ``base_lr``).
    warmup_mode : ``'linear'`` (equal increments up to ``base_lr``) or ``'constant'``
        (``warmup_begin_lr`` throughout the warm-up).
    """

    def __init__(self, base_lr: float = 0.01, warmup_steps: int = 0,
                 warmup_begin_lr: float = 0, warmup_mode: str = "linear"):
        owner = type(self).__name__
        _check_int(owner, "warmup_steps", warmup_steps)
        if warmup_begin_lr > base_lr:
            raise ValueError(f"{owner}: base_lr ({base_lr}) has to be higher than "
                             f"warmup_begin_lr ({warmup_begin_lr})")
        if warmup_steps < 0:
            raise ValueError(f"{owner}: warmup_steps has to be positive or 0, got {warmup_steps}")
        if warmup_mode not in _WARMUP_MODES:
            raise ValueError(f"{owner}: warmup_mode must be one of {_WARMUP_MODES} "
                             f"(only linear and constant warm-ups), got {warmup_mode!r}")
        self.base_lr = base_lr
        self.warmup_steps = warmup_steps
        self.warmup_final_lr = base_lr
        self.warmup_begin_lr = warmup_begin_lr
        self.warmup_mode = warmup_mode

    def get_warmup_lr(self, num_update: int) -> float:
        """The warm-up rate at ``num_update`` (which must be below ``warmup_steps``)."""
        if num_update >= self.warmup_steps:
            raise ValueError(f"{type(self).__name__}.get_warmup_lr: num_update ({num_update}) "
                             f"must be below warmup_steps ({self.warmup_steps})")
        if self.warmup_mode == "linear":
            increase = ((self.warmup_final_lr - self.warmup_begin_lr)
                        * float(num_update) / float(self.warmup_steps))
            return self.warmup_begin_lr + increase
        if self.warmup_mode == "constant":
            return self.warmup_begin_lr
        raise ValueError(f"{type(self).__name__}: invalid warmup_mode {self.warmup_mode!r}; "
                         f"expected one of {_WARMUP_MODES}")

    def __call__(self, num_update: int) -> float:
        """The learning rate after ``num_update`` updates (the most any weight has had)."""
        raise NotImplementedError(f"{type(self).__name__} must override __call__")


class FactorScheduler(LRScheduler):
    """Multiply the rate by ``factor`` after every ``step`` updates:
    ``base_lr * factor ** floor((num_update - 1) / step)``, never below ``stop_factor_lr``.

    Stateful as in MXNet: each call lowers ``self.base_lr`` for the steps passed since
    the previous call, and logs each change.
    """

    def __init__(self, step: int, factor: float = 1, stop_factor_lr: float = 1e-8,
                 base_lr: float = 0.01, warmup_steps: int = 0, warmup_begin_lr: float = 0,
                 warmup_mode: str = "linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if step < 1:
            raise ValueError(f"FactorScheduler: schedule step must be greater or equal than "
                             f"1 round, got {step}")
        if factor > 1.0:
            raise ValueError(f"FactorScheduler: factor must be no more than 1 to make lr "
                             f"reduce, got {factor}")
        self.step = step
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.count = 0

    def __call__(self, num_update: int) -> float:
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        # a loop, not one power: a resumed run may jump over several steps at once
        while num_update > self.count + self.step:
            self.count += self.step
            self.base_lr *= self.factor
            if self.base_lr < self.stop_factor_lr:
                self.base_lr = self.stop_factor_lr
                logging.info("Update[%d]: now learning rate arrived at %0.5e, will not "
                             "change in the future", num_update, self.base_lr)
            else:
                logging.info("Update[%d]: Change learning rate to %0.5e",
                             num_update, self.base_lr)
        return self.base_lr


class MultiFactorScheduler(LRScheduler):
    """Multiply the rate by ``factor`` each time ``num_update`` passes an entry of
    ``step`` (an increasing list): ``base_lr * factor ** (number of s in step with
    num_update > s)``.

    Stateful as in MXNet: ``self.base_lr`` and ``self.cur_step_ind`` advance in place,
    and each change is logged.
    """

    def __init__(self, step: List[int], factor: float = 1, base_lr: float = 0.01,
                 warmup_steps: int = 0, warmup_begin_lr: float = 0,
                 warmup_mode: str = "linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(step, list) or len(step) < 1:
            raise TypeError(f"MultiFactorScheduler: step must be a non-empty list of ints, "
                            f"got {step!r}")
        for i, boundary in enumerate(step):
            if i != 0 and step[i] <= step[i - 1]:
                raise ValueError(f"MultiFactorScheduler: schedule step must be an increasing "
                                 f"integer list, got {step}")
            if boundary < 1:
                raise ValueError(f"MultiFactorScheduler: schedule step must be greater or "
                                 f"equal than 1 round, got {step}")
        if factor > 1.0:
            raise ValueError(f"MultiFactorScheduler: factor must be no more than 1 to make "
                             f"lr reduce, got {factor}")
        self.step = step
        self.cur_step_ind = 0
        self.factor = factor
        self.count = 0

    def __call__(self, num_update: int) -> float:
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while self.cur_step_ind < len(self.step) and num_update > self.step[self.cur_step_ind]:
            self.count = self.step[self.cur_step_ind]
            self.cur_step_ind += 1
            self.base_lr *= self.factor
            logging.info("Update[%d]: Change learning rate to %0.5e", num_update, self.base_lr)
        return self.base_lr


class _DecayScheduler(LRScheduler):
    """What Poly and Cosine share: after the warm-up, decay from ``base_lr`` to
    ``final_lr`` over ``max_update - warmup_steps`` updates by ``_factor(k)`` (1 at
    k = 0, 0 at the end); beyond ``max_update`` the last rate computed is kept."""

    def __init__(self, max_update: int, base_lr: float, final_lr: float, warmup_steps: int,
                 warmup_begin_lr: float, warmup_mode: str) -> None:
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        name = type(self).__name__
        _check_int(name, "max_update", max_update)
        if max_update < 1:
            raise ValueError(f"{name}: maximum number of updates must be strictly "
                             f"positive, got max_update={max_update}")
        if max_update == warmup_steps:
            raise ValueError(f"{name}: max_update ({max_update}) must differ from "
                             f"warmup_steps ({warmup_steps}): the decay needs at least one step")
        self.base_lr_orig = self.base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = self.max_update - self.warmup_steps

    def _factor(self, steps_done: int) -> float:
        raise NotImplementedError

    def __call__(self, num_update: int) -> float:
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            self.base_lr = (self.final_lr + (self.base_lr_orig - self.final_lr)
                            * self._factor(num_update - self.warmup_steps))
        return self.base_lr


class PolyScheduler(_DecayScheduler):
    """Polynomial decay after the warm-up, with ``t = (num_update - warmup_steps) /
    (max_update - warmup_steps)``: ``final_lr + (base_lr - final_lr) * (1 - t) ** pwr``
    for ``warmup_steps <= num_update <= max_update``; beyond ``max_update`` the last
    rate computed is kept.
    """

    def __init__(self, max_update: int, base_lr: float = 0.01, pwr: float = 2,
                 final_lr: float = 0, warmup_steps: int = 0, warmup_begin_lr: float = 0,
                 warmup_mode: str = "linear"):
        super().__init__(max_update, base_lr, final_lr, warmup_steps, warmup_begin_lr,
                         warmup_mode)
        self.power = pwr

    def _factor(self, steps_done: int) -> float:
        return pow(1 - float(steps_done) / float(self.max_steps), self.power)


class CosineScheduler(_DecayScheduler):
    """Cosine decay after the warm-up, with ``t = (num_update - warmup_steps) /
    (max_update - warmup_steps)``: ``final_lr + (base_lr - final_lr) * (1 + cos(pi * t)) / 2``
    for ``warmup_steps <= num_update <= max_update``; beyond ``max_update`` the last
    rate computed is kept.
    """

    def __init__(self, max_update: int, base_lr: float = 0.01, final_lr: float = 0,
                 warmup_steps: int = 0, warmup_begin_lr: float = 0,
                 warmup_mode: str = "linear"):
        super().__init__(max_update, base_lr, final_lr, warmup_steps, warmup_begin_lr,
                         warmup_mode)

    def _factor(self, steps_done: int) -> float:
        return (1 + math.cos(math.pi * steps_done / self.max_steps)) / 2
