"""Signum and signSGD (MXNet 1.9.1's ``Signum``: the ``signum_update`` and
``signsgd_update`` kernels)."""
from __future__ import annotations

from .optimizer import Optimizer, register, zeros_state

__all__ = ["Signum"]


@register
class Signum(Optimizer):
    """Signum (Bernstein et al., https://arxiv.org/abs/1802.04434). With momentum::

        mom = momentum * mom - (1 - momentum) * (wd * w + clip(rescale_grad * grad, clip_gradient))
        w = (1 - lr * wd_lh) * w + lr * sign(mom)

    With ``momentum=0`` (no state) it is signSGD, which takes the sign of the raw
    gradient (rescaling and clipping cannot change it)::

        w = (1 - lr * wd) * w - lr * sign(grad)

    wd_lh : decoupled weight decay (Loshchilov & Hutter), outside the momentum.
    State: the momentum, or None.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.9, wd_lh: float = 0.0,
                 **kwargs) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros_state(weight)
        return None

    def _step(self, index, w, g, state, lr, wd, ctx) -> None:
        xp = ctx.xp
        tmp = self._scratch(0, w, ctx)
        if state is None:
            xp.sign(g, out=tmp)
            tmp *= lr
            if wd:
                w *= 1. - lr * wd
            w -= tmp
            return
        momentum = self.momentum if self.momentum > 0 else 0.0
        mom = state._data
        xp.multiply(g, self.rescale_grad, out=tmp)
        self._clip(tmp, xp)
        if wd:
            decay = self._scratch(1, w, ctx)
            xp.multiply(w, wd, out=decay)
            tmp += decay
        tmp *= 1. - momentum
        mom *= momentum
        mom -= tmp
        wd_lh = self.wd_lh
        if wd_lh:
            w *= 1. - lr * wd_lh
        xp.sign(mom, out=tmp)
        tmp *= lr
        w += tmp
