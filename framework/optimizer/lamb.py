"""LAMB (MXNet 1.9.1's ``LAMB``: the ``multi_lamb_update`` / ``lamb_update_phase1`` and
``phase2`` kernels)."""
from __future__ import annotations

from .adam import adam_moments
from .optimizer import Optimizer, register, zeros_state

__all__ = ["LAMB"]


@register
class LAMB(Optimizer):
    """LAMB, layer-wise adaptive moments (You et al., https://arxiv.org/abs/1904.00962).
    At step t of a weight::

        g = clip(rescale_grad * grad, clip_gradient)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        d = m / (1 - beta1**t) / (sqrt(v / (1 - beta2**t)) + epsilon) + wd * w
            (without bias_correction: d = m / (sqrt(v) + epsilon) + wd * w)
        r1 = ||w||, bounded below by lower_bound and above by upper_bound when given
        r2 = ||d||
        w = w - lr * (r1 / r2 if r1 > 0 and r2 > 0 else 1) * d

    The norms stay on the device (no host synchronisation). ``multi_precision``: the
    state of a float16 weight is ``(float32 master copy, (m, v))`` and ``r1`` is the
    master copy's norm. State: ``(m, v)``.
    """

    aggregate_num = 45

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-6, lower_bound=None, upper_bound=None,
                 bias_correction: bool = True, **kwargs) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        self.bias_correction = bias_correction

    def create_state(self, index, weight):
        return (zeros_state(weight), zeros_state(weight))

    def _step(self, index, w, g, state, lr, wd, ctx) -> None:
        t = self._index_update_count[index]
        xp = ctx.xp
        b1, b2 = self.beta1, self.beta2
        mean, var = state[0]._data, state[1]._data
        grad = self._scratch(0, w, ctx)
        tmp = self._scratch(1, w, ctx)
        xp.multiply(g, self.rescale_grad, out=grad)
        self._clip(grad, xp)
        adam_moments(xp, grad, mean, var, b1, b2, tmp)
        if self.bias_correction:                     # d in grad
            xp.divide(var, 1. - b2 ** t, out=tmp)
            xp.sqrt(tmp, out=tmp)
            tmp += self.epsilon
            xp.divide(mean, 1. - b1 ** t, out=grad)
            grad /= tmp
        else:
            xp.sqrt(var, out=tmp)
            tmp += self.epsilon
            xp.divide(mean, tmp, out=grad)
        if wd:
            xp.multiply(w, wd, out=tmp)
            grad += tmp
        r1 = xp.sqrt(self._sum_sq(w, ctx))
        r2 = xp.sqrt(self._sum_sq(grad, ctx))
        lower, upper = self.lower_bound, self.upper_bound
        if lower and lower >= 0:
            r1 = xp.maximum(r1, lower)
        if upper and upper >= 0:
            r1 = xp.minimum(r1, upper)
        valid = (r1 > 0) & (r2 > 0)
        ratio = xp.where(valid, r1, 1.) / xp.where(valid, r2, 1.)
        grad *= ratio * lr
        w -= grad
