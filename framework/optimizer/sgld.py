"""SGLD (MXNet 1.9.1's ``SGLD``, a Python update)."""
from __future__ import annotations

import math

from ..ndarray.random import normal
from .optimizer import Optimizer, register

__all__ = ["SGLD"]


@register
class SGLD(Optimizer):
    """Stochastic gradient Langevin dynamics (Patterson & Teh, NIPS 2013)::

        g = clip(rescale_grad * grad, clip_gradient)
        w = w - lr / 2 * (g + wd * w) + N(0, sqrt(lr))

    The noise comes from ``fw.random``'s generator of the weight's context (seeded by
    ``fw.random.seed``), in the weight's dtype. No state.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)

    def create_state(self, index, weight):
        return None

    def _step(self, index, w, g, state, lr, wd, ctx) -> None:
        if lr < 0:
            raise ValueError(f"SGLD: the learning rate of index {index!r} is {lr}; the noise "
                             f"scale sqrt(lr) needs lr >= 0")
        xp = ctx.xp
        grad = self._scratch(0, w, ctx)
        xp.multiply(g, self.rescale_grad, out=grad)
        self._clip(grad, xp, fused=False)
        if wd:
            tmp = self._scratch(1, w, ctx)
            xp.multiply(w, wd, out=tmp)
            grad += tmp
        grad *= lr / 2
        w -= grad
        if lr > 0:
            noise = normal(0, math.sqrt(lr), shape=w.shape, dtype=w.dtype, ctx=ctx)
            w += noise._data
