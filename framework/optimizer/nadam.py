"""Nadam (MXNet 1.9.1's ``Nadam``, a Python update)."""
from __future__ import annotations

from .adam import adam_moments
from .optimizer import Optimizer, register, zeros_state

__all__ = ["Nadam"]


@register
class Nadam(Optimizer):
    """Adam with Nesterov momentum (http://cs229.stanford.edu/proj2015/054_report.pdf).
    At step t of a weight::

        g = clip(rescale_grad * grad + wd * w, clip_gradient)
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * schedule_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96**((t + 1) * schedule_decay))
        m_schedule = m_schedule * mu_t
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_bar = (1 - mu_t) * g / (1 - m_schedule) + mu_next * m / (1 - m_schedule * mu_next)
        w = w - lr * m_bar / (sqrt(v / (1 - beta2**t)) + epsilon)

    ``m_schedule`` belongs to the optimizer, not to a weight: as in MXNet it is
    multiplied once per weight updated, and it is saved with the states.
    State: ``(m, v)``.
    """

    _running_state = ("m_schedule",)

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, schedule_decay: float = 0.004, **kwargs) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.

    def create_state(self, index, weight):
        return (zeros_state(weight), zeros_state(weight))

    def _step(self, index, w, g, state, lr, wd, ctx) -> None:
        t = self._index_update_count[index]
        xp = ctx.xp
        m, v = state[0]._data, state[1]._data
        grad = self._scratch(0, w, ctx)
        tmp = self._scratch(1, w, ctx)
        tmp2 = self._scratch(2, w, ctx)
        xp.multiply(g, self.rescale_grad, out=grad)
        if wd:
            xp.multiply(w, wd, out=tmp)
            grad += tmp
        self._clip(grad, xp, fused=False)
        momentum_t = self.beta1 * (1. - 0.5 * (pow(0.96, t * self.schedule_decay)))
        momentum_t_1 = self.beta1 * (1. - 0.5 * (pow(0.96, (t + 1) * self.schedule_decay)))
        self.m_schedule = self.m_schedule * momentum_t
        m_schedule_next = self.m_schedule * momentum_t_1
        adam_moments(xp, grad, m, v, self.beta1, self.beta2, tmp)
        # m_bar = (1 - mu_t) * grad / (1 - m_schedule) + mu_next * m / (1 - m_schedule_next)
        grad *= (1. - momentum_t) / (1. - self.m_schedule)
        xp.multiply(m, momentum_t_1 / (1. - m_schedule_next), out=tmp)
        grad += tmp
        xp.divide(v, 1. - pow(self.beta2, t), out=tmp2)
        xp.sqrt(tmp2, out=tmp2)
        tmp2 += self.epsilon
        grad /= tmp2
        grad *= lr
        w -= grad
