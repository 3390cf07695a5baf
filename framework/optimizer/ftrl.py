"""FTRL-Proximal (MXNet 1.9.1's ``Ftrl``: the ``ftrl_update`` kernel)."""
from __future__ import annotations

from .optimizer import Optimizer, register, zeros_state

__all__ = ["Ftrl"]


@register
class Ftrl(Optimizer):
    """FTRL-Proximal (McMahan et al., "Ad Click Prediction: a View from the Trenches")::

        g = clip(rescale_grad * grad, clip_gradient)
        z = z + g - (sqrt(n + g**2) - sqrt(n)) * w / lr
        n = n + g**2
        w = (sign(z) * lamda1 - z) / ((beta + sqrt(n)) / lr + wd) * (|z| > lamda1)

    lamda1 : L1 regularisation; beta : per-coordinate learning-rate parameter;
    learning_rate defaults to 0.1 (set after the base class, as MXNet does).
    State: ``(z, n)``.
    """

    def __init__(self, lamda1: float = 0.01, learning_rate: float = 0.1, beta: float = 1,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.lamda1 = lamda1
        self.beta = beta
        self.lr = learning_rate

    def create_state(self, index, weight):
        return (zeros_state(weight), zeros_state(weight))

    def _step(self, index, w, g, state, lr, wd, ctx) -> None:
        xp = ctx.xp
        z, n = state[0]._data, state[1]._data
        grad = self._scratch(0, w, ctx)
        sqrt_old = self._scratch(1, w, ctx)
        tmp = self._scratch(2, w, ctx)
        xp.multiply(g, self.rescale_grad, out=grad)
        self._clip(grad, xp)
        xp.sqrt(n, out=sqrt_old)
        xp.multiply(grad, grad, out=tmp)
        n += tmp                                       # n + g**2
        xp.sqrt(n, out=tmp)                            # sqrt(n + g**2)
        xp.subtract(tmp, sqrt_old, out=sqrt_old)
        sqrt_old *= w
        sqrt_old /= lr
        grad -= sqrt_old
        z += grad
        tmp += self.beta                               # (beta + sqrt(n)) / lr + wd
        tmp /= lr
        tmp += wd
        xp.sign(z, out=grad)
        grad *= self.lamda1
        grad -= z
        grad /= tmp
        xp.abs(z, out=tmp)
        xp.greater(tmp, self.lamda1, out=tmp)
        xp.multiply(grad, tmp, out=w)
