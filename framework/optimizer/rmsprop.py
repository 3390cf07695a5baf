"""RMSProp (MXNet 1.9.1's ``RMSProp``: the kernels of ``rmsprop_update`` (Tieleman &
Hinton) and ``rmspropalex_update`` (Graves, centered))."""
from __future__ import annotations

from .optimizer import Optimizer, blend, register, zeros_state

__all__ = ["RMSProp"]


@register
class RMSProp(Optimizer):
    """RMSProp. With ``g = clip(rescale_grad * grad + wd * w, clip_gradient)``:

    ``centered=False`` (Tieleman & Hinton, 2012)::

        n = (1 - gamma1) * g**2 + gamma1 * n
        w = w - lr * g / sqrt(n + epsilon)

    ``centered=True`` (Graves, 2013, http://arxiv.org/pdf/1308.0850v5.pdf eq. 38-45)::

        n = (1 - gamma1) * g**2 + gamma1 * n
        mean = (1 - gamma1) * g + gamma1 * mean
        delta = gamma2 * delta - lr * g / sqrt(n - mean**2 + epsilon)
        w = w + delta

    then, if ``clip_weights``, ``w = clip(w, -clip_weights, clip_weights)``.
    State: ``(n,)`` or ``(n, mean, delta)``.
    """

    def __init__(self, learning_rate: float = 0.001, gamma1: float = 0.9, gamma2: float = 0.9,
                 epsilon: float = 1e-8, centered: bool = False, clip_weights=None,
                 **kwargs) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.centered = centered
        self.epsilon = epsilon
        self.clip_weights = clip_weights

    def create_state(self, index, weight):
        if self.centered:
            return (zeros_state(weight), zeros_state(weight), zeros_state(weight))
        return (zeros_state(weight),)

    def _step(self, index, w, g, state, lr, wd, ctx) -> None:
        xp = ctx.xp
        grad = self._scratch(0, w, ctx)
        tmp = self._scratch(1, w, ctx)
        xp.multiply(g, self.rescale_grad, out=grad)
        if wd:
            blend(xp, wd, w, 1.0, grad, tmp)
        self._clip(grad, xp)
        gamma1 = self.gamma1
        n = state[0]._data
        xp.multiply(grad, grad, out=tmp)
        blend(xp, 1. - gamma1, tmp, gamma1, n, tmp)
        if not self.centered:
            xp.add(n, self.epsilon, out=tmp)
            xp.sqrt(tmp, out=tmp)
            grad /= tmp
            blend(xp, -lr, grad, 1.0, w, grad)
        else:
            mean, delta = state[1]._data, state[2]._data
            blend(xp, 1. - gamma1, grad, gamma1, mean, tmp)
            xp.multiply(mean, mean, out=tmp)
            xp.subtract(n, tmp, out=tmp)
            tmp += self.epsilon
            xp.sqrt(tmp, out=tmp)
            grad /= tmp
            blend(xp, -lr, grad, self.gamma2, delta, grad)
            w += delta
        cw = self.clip_weights
        if cw and cw >= 0:
            xp.clip(w, -cw, cw, out=w)
