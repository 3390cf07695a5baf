"""AdaDelta (MXNet 1.9.1's ``AdaDelta``, a Python update)."""
from __future__ import annotations

from .optimizer import Optimizer, register, zeros_state

__all__ = ["AdaDelta"]


@register
class AdaDelta(Optimizer):
    """AdaDelta (Zeiler, https://arxiv.org/abs/1212.5701)::

        g = clip(rescale_grad * grad, clip_gradient)
        acc_g = rho * acc_g + (1 - rho) * g**2
        delta = sqrt(acc_delta + epsilon) / sqrt(acc_g + epsilon) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta**2
        w = w - (delta + wd * w)

    The learning rate is not used (as in MXNet). State: ``(acc_g, acc_delta)``.
    MXNet scales the gradient buffer itself in place (``grad *= rescale_grad``); here
    the gradient is left as it was.
    """

    def __init__(self, rho: float = 0.90, epsilon: float = 1e-5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return (zeros_state(weight), zeros_state(weight))

    def _step(self, index, w, g, state, lr, wd, ctx) -> None:
        xp = ctx.xp
        acc_g, acc_delta = state[0]._data, state[1]._data
        grad = self._scratch(0, w, ctx)
        tmp = self._scratch(1, w, ctx)
        xp.multiply(g, self.rescale_grad, out=grad)
        self._clip(grad, xp, fused=False)
        acc_g *= self.rho
        xp.multiply(grad, grad, out=tmp)
        tmp *= 1. - self.rho
        acc_g += tmp
        xp.add(acc_delta, self.epsilon, out=tmp)            # delta, built in grad
        xp.sqrt(tmp, out=tmp)
        grad *= tmp
        xp.add(acc_g, self.epsilon, out=tmp)
        xp.sqrt(tmp, out=tmp)
        grad /= tmp
        acc_delta *= self.rho
        xp.multiply(grad, grad, out=tmp)
        tmp *= 1. - self.rho
        acc_delta += tmp
        if wd:
            xp.multiply(w, wd, out=tmp)
            grad += tmp
        w -= grad
