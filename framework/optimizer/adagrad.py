"""AdaGrad (MXNet 1.9.1's ``AdaGrad``, its dense Python update)."""
from __future__ import annotations

from .optimizer import Optimizer, register, zeros_state

__all__ = ["AdaGrad"]


@register
class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al., http://www.jmlr.org/papers/volume12/duchi11a/duchi11a.pdf)::

        g = clip(rescale_grad * grad, clip_gradient)
        history = history + g**2
        w = w - lr * (g / sqrt(history + eps) + wd * w)

    eps : added inside the square root (``float_stable_eps``, default 1e-7).
    Weight decay is added after the division, outside the history. State: ``history``.
    """

    def __init__(self, eps: float = 1e-7, **kwargs) -> None:
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return zeros_state(weight)

    def _step(self, index, w, g, state, lr, wd, ctx) -> None:
        xp = ctx.xp
        history = state._data
        grad = self._scratch(0, w, ctx)
        tmp = self._scratch(1, w, ctx)
        xp.multiply(g, self.rescale_grad, out=grad)
        self._clip(grad, xp, fused=False)
        xp.multiply(grad, grad, out=tmp)
        history += tmp
        xp.add(history, self.float_stable_eps, out=tmp)
        xp.sqrt(tmp, out=tmp)
        xp.divide(grad, tmp, out=grad)
        if wd:
            xp.multiply(w, wd, out=tmp)
            grad += tmp
        grad *= lr
        w -= grad
