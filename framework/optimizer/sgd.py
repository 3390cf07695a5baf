"""SGD with momentum and weight decay (MXNet 1.9.1's ``SGD``: the kernels of
``multi_sgd_update`` / ``multi_sgd_mom_update`` and their multi-precision twins), and
``MomentumOptimizer``, the part SGD shares with NAG and LARS."""
from __future__ import annotations

from .. import _host_blas
from .optimizer import Optimizer, _FLOAT16, _FLOAT32, _astype, register, zeros_state

__all__ = ["SGD", "ccSGD"]


class MomentumOptimizer(Optimizer):
    """What SGD, NAG and LARS share (MXNet 1.9.1's layout for them):

    - the state is a momentum buffer (None when ``momentum`` is 0);
    - with ``multi_precision`` a float16 weight's state is ``(momentum or None, float32
      master copy)``, in this order;
    - a list of indices is updated together, as MXNet's aggregated kernels do: every
      count advances first, then the learning rates and weight decays are read once.

    Subclasses give ``_step(index, w, g, mom, lr, wd, ctx)`` on raw arrays.
    """

    aggregate_num = 4

    def __init__(self, momentum: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.momentum = momentum

    def create_state(self, index, weight):
        if self.momentum != 0.0:
            return zeros_state(weight)
        return None

    def create_state_multi_precision(self, index, weight):
        if self.multi_precision and weight._data.dtype == _FLOAT16:
            master = _astype(weight, _FLOAT32)
            return (self.create_state(index, master), master)
        return super().create_state_multi_precision(index, weight)

    def _split_multi_precision(self, state):
        return state[1], state[0]

    def _update_impl(self, indices, weights, grads, states, multi_precision):
        self._update_count(indices)
        lrs = self._get_lrs(indices)
        wds = self._get_wds(indices)
        for index, weight, grad, state, lr, wd in zip(indices, weights, grads, states, lrs, wds):
            self._run(index, weight, grad, state, lr, wd, multi_precision)

    def _sgd_rule(self, w, g, mom, momentum: float, lr, wd: float, ctx) -> None:
        """The SGD kernel: ``mom = momentum * mom - lr * wd * w - lr * clip(rescale_grad * g)``,
        ``w += mom`` (no ``mom``: ``w -= lr * wd * w + lr * clip(...)``). ``lr`` may be a
        0-d device array (LARS)."""
        xp = ctx.xp
        c = self.clip_gradient
        if (c is None or c <= 0) and isinstance(lr, float) and self._fused_rule(
                w, g, None if mom is None else mom._data, momentum, lr, wd):
            return
        step = self._scratch(0, w, ctx)
        if c is not None and c > 0:
            xp.multiply(g, self.rescale_grad, out=step)
            xp.clip(step, -c, c, out=step)
            step *= lr
        else:
            xp.multiply(g, lr * self.rescale_grad, out=step)
        if mom is not None:
            m = mom._data
            m *= momentum
            m -= step
            if wd:
                xp.multiply(w, lr * wd, out=step)
                m -= step
            w += m
            return
        if wd:
            w *= 1.0 - lr * wd
        w -= step

    def _fused_rule(self, w, g, m, momentum: float, lr: float, wd: float) -> bool:
        """The unclipped SGD kernel as OpenBLAS ``axpby`` passes over all of its threads
        (``_host_blas``; NumPy's two passes per array run on one core): ``w = (1 - lr *
        wd) * w - lr * rescale_grad * g``, or with the momentum ``m``: ``m = momentum *
        m - lr * rescale_grad * g - lr * wd * w``, ``w += m``. False (nothing done)
        where ``axpby`` does not apply to these arrays."""
        scale = -lr * self.rescale_grad
        if m is None:
            return _host_blas.axpby(scale, g, 1.0 - lr * wd, w)
        if not _host_blas.applies(w, g, m):
            return False
        _host_blas.axpby(scale, g, momentum, m)
        if wd:
            _host_blas.axpby(-lr * wd, w, 1.0, m)
        _host_blas.axpby(1.0, m, 1.0, w)
        return True


@register
class SGD(MomentumOptimizer):
    """Stochastic gradient descent with momentum and weight decay::

        mom = momentum * mom - lr * wd * w - lr * clip(rescale_grad * grad, clip_gradient)
        w = w + mom

    (no momentum: ``w = w - lr * wd * w - lr * clip(rescale_grad * grad)``). As in MXNet's
    kernels, the momentum buffer holds the negated, lr-scaled step, and clipping applies
    to the rescaled gradient, before weight decay is added.

    momentum : the momentum (0: none, and no state).
    lazy_update : accepted for MXNet compatibility; gradients are dense here, so the
        standard update applies.
    multi_precision : float16 weights are updated through a float32 master copy; the
        state is then ``(momentum or None, master copy)``.
    """

    def __init__(self, momentum: float = 0.0, lazy_update: bool = True, **kwargs) -> None:
        super().__init__(momentum=momentum, **kwargs)
        self.lazy_update = lazy_update

    def _step(self, index, w, g, mom, lr, wd, ctx) -> None:
        self._sgd_rule(w, g, mom, self.momentum if self.momentum > 0 else 0.0, lr, wd, ctx)


@register
class ccSGD(SGD):                 # noqa: N801  (MXNet's name)
    """[DEPRECATED] The same as ``SGD`` (kept, as in MXNet, for old scripts)."""
