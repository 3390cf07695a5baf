"""AdamW: Adam with decoupled weight decay.

MXNet 1.9.1 has no Python AdamW optimizer class (only the ``contrib.adamw_update``
kernels), so this follows the definition of MXNet 2.0's ``mx.optimizer.AdamW`` with its
default fused step (``adamw_update`` with ``lr=1`` and ``eta`` the bias-corrected rate).
"""
from __future__ import annotations

import math

from .adam import adam_moments
from .optimizer import Optimizer, blend, register, zeros_state

__all__ = ["AdamW"]


@register
class AdamW(Optimizer):
    """AdamW (Loshchilov & Hutter, https://arxiv.org/abs/1711.05101), as MXNet 2.0's
    ``AdamW`` (1.9.1 has no such optimizer class). At step t of a weight::

        g = clip(rescale_grad * grad, clip_gradient)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        eta = lr * sqrt(1 - beta2**t) / (1 - beta1**t)      (lr itself if not correct_bias)
        w = w - eta * (m / (sqrt(v) + epsilon) + wd * w)

    The decay is decoupled from the gradient (it does not enter m and v). As in the
    adamw kernels, a non-finite ``rescale_grad`` (inf/NaN, e.g. from a loss scaler)
    skips the update of the weight and its state. State: ``(m, v)``.
    """

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-6, correct_bias: bool = True, **kwargs) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.correct_bias = correct_bias

    def create_state(self, index, weight):
        return (zeros_state(weight), zeros_state(weight))

    def _step(self, index, w, g, state, lr, wd, ctx) -> None:
        if not math.isfinite(self.rescale_grad):
            return
        if self.correct_bias:
            t = self._index_update_count[index]
            lr *= math.sqrt(1. - self.beta2 ** t) / (1. - self.beta1 ** t)
        xp = ctx.xp
        mean, var = state[0]._data, state[1]._data
        grad = self._scratch(0, w, ctx)
        tmp = self._scratch(1, w, ctx)
        xp.multiply(g, self.rescale_grad, out=grad)
        self._clip(grad, xp)
        adam_moments(xp, grad, mean, var, self.beta1, self.beta2, tmp)
        xp.sqrt(var, out=tmp)
        tmp += self.epsilon
        xp.divide(mean, tmp, out=tmp)
        if wd:
            blend(xp, wd, w, 1.0, tmp, grad)
        blend(xp, -lr, tmp, 1.0, w, grad)
