"""fw.lr_scheduler: each schedule at chosen update counts equals its closed form."""
import logging
import math

import pytest

from framework import lr_scheduler


def factor_closed_form(n, base_lr, step, factor, stop_factor_lr):
    """MXNet's rate: one factor per full `step` passed, counted while n > count + step."""
    times = max(0, (n - 1) // step)
    return max(base_lr * factor ** times, stop_factor_lr) if times else base_lr


def multifactor_closed_form(n, base_lr, steps, factor):
    return base_lr * factor ** sum(1 for s in steps if n > s)


def poly_closed_form(n, base_lr, max_update, pwr, final_lr, warmup_steps):
    n = min(n, max_update)
    return final_lr + (base_lr - final_lr) * (
        1 - (n - warmup_steps) / (max_update - warmup_steps)) ** pwr


def cosine_closed_form(n, base_lr, max_update, final_lr, warmup_steps):
    n = min(n, max_update)
    return final_lr + (base_lr - final_lr) * (
        1 + math.cos(math.pi * (n - warmup_steps) / (max_update - warmup_steps))) / 2


def linear_warmup(n, begin, final, steps):
    return begin + (final - begin) * n / steps


COUNTS = [0, 1, 2, 3, 9, 10, 11, 20, 21, 35, 99, 100, 101, 250]


def test_factor_scheduler_in_order():
    sched = lr_scheduler.FactorScheduler(step=10, factor=0.5, base_lr=0.8)
    for n in COUNTS:
        assert sched(n) == pytest.approx(factor_closed_form(n, 0.8, 10, 0.5, 1e-8), rel=1e-12)


def test_factor_scheduler_jump_and_stateful():
    sched = lr_scheduler.FactorScheduler(step=3, factor=0.5, base_lr=1.0)
    assert sched(31) == pytest.approx(0.5 ** 10)        # one jump over 10 steps
    # stateful as MXNet: a smaller count afterwards keeps the lowered rate
    assert sched(1) == pytest.approx(0.5 ** 10)
    assert sched.count == 30


def test_factor_scheduler_stop_factor_lr_and_logging(caplog):
    sched = lr_scheduler.FactorScheduler(step=1, factor=0.5, stop_factor_lr=0.1, base_lr=1.0)
    with caplog.at_level(logging.INFO):
        values = [sched(n) for n in range(1, 8)]
    assert values == pytest.approx([1.0, 0.5, 0.25, 0.125, 0.1, 0.1, 0.1])
    messages = [r.getMessage() for r in caplog.records]
    assert "Update[2]: Change learning rate to 5.00000e-01" in messages
    assert any("arrived at 1.00000e-01, will not change in the future" in m for m in messages)


def test_factor_scheduler_warmup_linear_and_constant():
    linear = lr_scheduler.FactorScheduler(step=5, factor=0.5, base_lr=0.4, warmup_steps=4,
                                          warmup_begin_lr=0.1, warmup_mode="linear")
    constant = lr_scheduler.FactorScheduler(step=5, factor=0.5, base_lr=0.4, warmup_steps=4,
                                            warmup_begin_lr=0.1, warmup_mode="constant")
    for n in range(4):
        assert linear(n) == pytest.approx(linear_warmup(n, 0.1, 0.4, 4))
        assert constant(n) == pytest.approx(0.1)
    for n in (4, 5, 6, 11, 16):
        expected = factor_closed_form(n, 0.4, 5, 0.5, 1e-8)
        assert linear(n) == pytest.approx(expected)
        assert constant(n) == pytest.approx(expected)


def test_multifactor_scheduler(caplog):
    steps = [5, 12, 30]
    sched = lr_scheduler.MultiFactorScheduler(step=steps, factor=0.3, base_lr=2.0)
    with caplog.at_level(logging.INFO):
        for n in COUNTS:
            assert sched(n) == pytest.approx(multifactor_closed_form(n, 2.0, steps, 0.3))
    assert sched.cur_step_ind == 3
    assert sum("Change learning rate" in r.getMessage() for r in caplog.records) == 3
    assert sched(1) == pytest.approx(2.0 * 0.3 ** 3)               # stateful


def test_multifactor_scheduler_warmup():
    sched = lr_scheduler.MultiFactorScheduler(step=[10, 20], factor=0.5, base_lr=1.0,
                                              warmup_steps=5, warmup_begin_lr=0.5)
    for n in range(5):
        assert sched(n) == pytest.approx(linear_warmup(n, 0.5, 1.0, 5))
    for n in (5, 10, 11, 20, 21, 40):
        assert sched(n) == pytest.approx(multifactor_closed_form(n, 1.0, [10, 20], 0.5))


@pytest.mark.parametrize("pwr", [1, 2, 3.5])
@pytest.mark.parametrize("warmup_steps", [0, 7])
def test_poly_scheduler(pwr, warmup_steps):
    sched = lr_scheduler.PolyScheduler(max_update=100, base_lr=0.5, pwr=pwr, final_lr=0.01,
                                       warmup_steps=warmup_steps, warmup_begin_lr=0.05)
    for n in COUNTS:
        if n < warmup_steps:
            expected = linear_warmup(n, 0.05, 0.5, warmup_steps)
        else:
            expected = poly_closed_form(n, 0.5, 100, pwr, 0.01, warmup_steps)
        assert sched(n) == pytest.approx(expected, rel=1e-12)
    assert sched(10 ** 6) == pytest.approx(0.01)


@pytest.mark.parametrize("warmup_steps,mode", [(0, "linear"), (10, "linear"), (10, "constant")])
def test_cosine_scheduler(warmup_steps, mode):
    sched = lr_scheduler.CosineScheduler(max_update=100, base_lr=1.0, final_lr=0.1,
                                         warmup_steps=warmup_steps, warmup_begin_lr=0.2,
                                         warmup_mode=mode)
    for n in COUNTS:
        if n < warmup_steps:
            expected = linear_warmup(n, 0.2, 1.0, warmup_steps) if mode == "linear" else 0.2
        else:
            expected = cosine_closed_form(n, 1.0, 100, 0.1, warmup_steps)
        assert sched(n) == pytest.approx(expected, rel=1e-12)
    assert sched(100) == pytest.approx(0.1)
    assert sched(500) == pytest.approx(0.1)


def test_get_warmup_lr_and_base_call():
    sched = lr_scheduler.LRScheduler(base_lr=1.0, warmup_steps=4, warmup_begin_lr=0.0)
    assert sched.get_warmup_lr(2) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="num_update .4. must be below warmup_steps .4."):
        sched.get_warmup_lr(4)
    with pytest.raises(NotImplementedError, match="LRScheduler must override"):
        sched(1)


@pytest.mark.parametrize("make,match", [
    (lambda: lr_scheduler.FactorScheduler(step=0), "greater or equal than 1"),
    (lambda: lr_scheduler.FactorScheduler(step=2, factor=1.5), "no more than 1"),
    (lambda: lr_scheduler.MultiFactorScheduler(step=[5, 5]), "increasing integer list"),
    (lambda: lr_scheduler.MultiFactorScheduler(step=[0, 5]), "greater or equal than 1"),
    (lambda: lr_scheduler.MultiFactorScheduler(step=[5], factor=2), "no more than 1"),
    (lambda: lr_scheduler.PolyScheduler(max_update=0), "strictly positive"),
    (lambda: lr_scheduler.PolyScheduler(max_update=5, warmup_steps=5), "must differ"),
    (lambda: lr_scheduler.CosineScheduler(max_update=-3), "strictly positive"),
    (lambda: lr_scheduler.CosineScheduler(max_update=10, base_lr=0.1, warmup_begin_lr=0.5),
     r"base_lr \(0.1\) has to be higher than warmup_begin_lr \(0.5\)"),
    (lambda: lr_scheduler.FactorScheduler(step=2, warmup_steps=-1), "positive or 0"),
    (lambda: lr_scheduler.FactorScheduler(step=2, warmup_mode="cosine"), "linear"),
])
def test_value_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make,match", [
    (lambda: lr_scheduler.MultiFactorScheduler(step=(5, 10)), "step must be a non-empty list"),
    (lambda: lr_scheduler.MultiFactorScheduler(step=[]), "step must be a non-empty list"),
    (lambda: lr_scheduler.PolyScheduler(max_update=10.0), "max_update must be an int"),
    (lambda: lr_scheduler.CosineScheduler(max_update=10, warmup_steps=2.5),
     "warmup_steps must be an int"),
])
def test_type_errors(make, match):
    with pytest.raises(TypeError, match=match):
        make()
