"""FTML (MXNet 1.9.1's ``FTML``: the ``ftml_update`` kernel)."""
from __future__ import annotations

from .optimizer import Optimizer, register, zeros_state

__all__ = ["FTML"]


@register
class FTML(Optimizer):
    """Follow the Moving Leader (Zheng & Kwok, ICML 2017). At step t of a weight::

        g = clip(rescale_grad * grad + wd * w, clip_gradient)
        v = beta2 * v + (1 - beta2) * g**2
        d_t = (1 - beta1**t) / lr * (sqrt(v / (1 - beta2**t)) + epsilon)
        z = beta1 * z + (1 - beta1) * g - (d_t - beta1 * d) * w
        d = d_t
        w = -z / d_t

    State: ``(d, v, z)``.
    """

    def __init__(self, beta1: float = 0.6, beta2: float = 0.999, epsilon: float = 1e-8,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def create_state(self, index, weight):
        return (zeros_state(weight), zeros_state(weight), zeros_state(weight))

    def _step(self, index, w, g, state, lr, wd, ctx) -> None:
        t = self._index_update_count[index]
        xp = ctx.xp
        d, v, z = state[0]._data, state[1]._data, state[2]._data
        b1, b2 = self.beta1, self.beta2
        grad = self._scratch(0, w, ctx)
        d_t = self._scratch(1, w, ctx)
        tmp = self._scratch(2, w, ctx)
        xp.multiply(g, self.rescale_grad, out=grad)
        if wd:
            xp.multiply(w, wd, out=tmp)
            grad += tmp
        self._clip(grad, xp)
        v *= b2
        xp.multiply(grad, grad, out=tmp)
        tmp *= 1. - b2
        v += tmp
        xp.divide(v, 1. - b2 ** t, out=d_t)
        xp.sqrt(d_t, out=d_t)
        d_t += self.epsilon
        d_t *= (1. - b1 ** t) / lr
        z *= b1
        grad *= 1. - b1
        z += grad
        xp.multiply(d, b1, out=tmp)                    # (d_t - beta1 * d) * w
        xp.subtract(d_t, tmp, out=tmp)
        tmp *= w
        z -= tmp
        xp.copyto(d, d_t)
        xp.divide(z, d_t, out=w)
        xp.negative(w, out=w)
