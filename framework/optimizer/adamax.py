"""AdaMax (MXNet 1.9.1's ``Adamax``, a Python update)."""
from __future__ import annotations

from .optimizer import Optimizer, blend, register, zeros_state

__all__ = ["Adamax"]


@register
class Adamax(Optimizer):
    """AdaMax, Adam with the infinity norm (http://arxiv.org/abs/1412.6980, section 7).
    At step t of a weight::

        g = clip(rescale_grad * grad + wd * w, clip_gradient)
        m = beta1 * m + (1 - beta1) * g
        u = maximum(beta2 * u, |g|)
        w = w - lr / (1 - beta1**t) * m / u

    State: ``(m, u)``.
    """

    def __init__(self, learning_rate: float = 0.002, beta1: float = 0.9, beta2: float = 0.999,
                 **kwargs) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2

    def create_state(self, index, weight):
        return (zeros_state(weight), zeros_state(weight))

    def _step(self, index, w, g, state, lr, wd, ctx) -> None:
        t = self._index_update_count[index]
        lr /= 1. - self.beta1 ** t
        xp = ctx.xp
        m, u = state[0]._data, state[1]._data
        grad = self._scratch(0, w, ctx)
        tmp = self._scratch(1, w, ctx)
        xp.multiply(g, self.rescale_grad, out=grad)
        if wd:
            xp.multiply(w, wd, out=tmp)
            grad += tmp
        self._clip(grad, xp, fused=False)
        blend(xp, 1. - self.beta1, grad, self.beta1, m, tmp)
        u *= self.beta2
        xp.abs(grad, out=tmp)
        xp.maximum(u, tmp, out=u)
        xp.divide(m, u, out=tmp)
        tmp *= lr
        w -= tmp
