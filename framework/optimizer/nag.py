"""Nesterov accelerated gradient (MXNet 1.9.1's ``NAG``: the kernels of
``multi_nag_mom_update`` and ``multi_mp_nag_mom_update``)."""
from __future__ import annotations

from .optimizer import register
from .sgd import MomentumOptimizer

__all__ = ["NAG"]


@register
class NAG(MomentumOptimizer):
    """Nesterov accelerated SGD::

        step = lr * (clip(rescale_grad * grad, clip_gradient) + wd * w)
        mom = momentum * mom - step
        w = w + momentum * mom - step

    Without momentum (0, no state) it is SGD's update. ``multi_precision``: float16
    weights through a float32 master copy, state ``(momentum or None, master copy)``.
    """

    def _step(self, index, w, g, mom, lr, wd, ctx) -> None:
        if mom is None or not self.momentum > 0:
            self._sgd_rule(w, g, None, 0.0, lr, wd, ctx)
            return
        xp = ctx.xp
        step = self._scratch(0, w, ctx)
        xp.multiply(g, self.rescale_grad, out=step)
        self._clip(step, xp)
        if wd:
            decay = self._scratch(1, w, ctx)
            xp.multiply(w, wd, out=decay)
            step += decay
        step *= lr
        m = mom._data
        m *= self.momentum
        m -= step
        w -= step
        xp.multiply(m, self.momentum, out=step)
        w += step
