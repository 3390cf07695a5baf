"""DCASGD (MXNet 1.9.1's ``DCASGD``, a Python update)."""
from __future__ import annotations

from .optimizer import Optimizer, copy_state, register, zeros_state

__all__ = ["DCASGD"]


@register
class DCASGD(Optimizer):
    """Delay-compensated asynchronous SGD (Zheng et al., https://arxiv.org/abs/1609.08326)::

        g = clip(rescale_grad * grad, clip_gradient)
        step = -lr * (g + wd * w + lamda * g * g * (w - w_previous))
        mom = momentum * mom + step          (no momentum: mom = step)
        w_previous = w
        w = w + mom

    lamda : scale of the delay compensation. State: ``(momentum or None, w_previous)``.
    (MXNet 1.9.1 tests ``if mom:`` on the momentum NDArray, which fails for weights of
    more than one element; here the momentum is used whenever it exists.)
    """

    def __init__(self, momentum: float = 0.0, lamda: float = 0.04, **kwargs) -> None:
        super().__init__(**kwargs)
        self.momentum = momentum
        self.weight_previous = {}
        self.lamda = lamda

    def create_state(self, index, weight):
        if self.momentum == 0.0:
            return (None, copy_state(weight))
        return (zeros_state(weight), copy_state(weight))

    def _step(self, index, w, g, state, lr, wd, ctx) -> None:
        xp = ctx.xp
        mom, previous = state
        previous = previous._data
        grad = self._scratch(0, w, ctx)
        step = self._scratch(1, w, ctx)
        xp.multiply(g, self.rescale_grad, out=grad)
        self._clip(grad, xp, fused=False)
        xp.subtract(w, previous, out=step)
        step *= grad
        step *= grad
        step *= self.lamda
        step += grad
        if wd:
            xp.multiply(w, wd, out=grad)
            step += grad
        step *= -lr
        xp.copyto(previous, w)
        if mom is not None:
            m = mom._data
            m *= self.momentum
            m += step
            w += m
        else:
            w += step
