"""LARS (MXNet 1.9.1's ``LARS``: ``multi_lars`` for the layer-wise rates, then the
``lars_multi_sgd(_mom)_update`` kernels, which are SGD's)."""
from __future__ import annotations

from .optimizer import register
from .sgd import MomentumOptimizer

__all__ = ["LARS"]

_NO_LARS_SUFFIXES = ("gamma", "beta", "bias")


@register
class LARS(MomentumOptimizer):
    """LARS, layer-wise adaptive rate scaling (You et al., https://arxiv.org/abs/1708.03888):
    SGD with momentum and weight decay whose rate is scaled per layer::

        w_norm = ||w||, g_norm = ||grad|| * rescale_grad
        lr_layer = lr * eta * w_norm / (g_norm + wd * w_norm + eps)   if w_norm > 0 and g_norm > 0
                   lr                                                  otherwise
        then SGD's update with lr_layer

    Parameters whose name (``param_idx2name``, else the index as a string) ends in
    ``gamma``, ``beta`` or ``bias`` keep ``lr``; they also get no weight decay when
    names are given (only names ending in ``_weight`` decay, as MXNet's LARS).
    momentum_correction : scale the momentum by lr_now / lr_before when a scheduler
        changes the rate (Goyal et al., https://arxiv.org/pdf/1706.02677.pdf);
        ``lr_before`` is the rate of the previous update call.
    lazy_update : accepted for compatibility (dense gradients here).
    The norms stay on the device. State as SGD's.
    """

    _running_state = ("last_lr", "cur_lr")

    def __init__(self, momentum: float = 0.0, lazy_update: bool = True, eta: float = 0.001,
                 eps: float = 0, momentum_correction: bool = True, **kwargs) -> None:
        super().__init__(momentum=momentum, **kwargs)
        self.momentum_correction = momentum_correction
        self.lazy_update = lazy_update
        self.eta = eta
        self.eps = eps
        self.skip = 0
        self.last_lr = None
        self.cur_lr = None
        self._momentum_now = 0.0          # the corrected momentum of the current update

    def _get_lrs(self, indices):
        if self.cur_lr is not None:
            self.last_lr = self.cur_lr
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        if self.cur_lr is None:
            self.last_lr = lr
        self.cur_lr = lr
        return super()._get_lrs(indices)

    def _get_lr(self, index):
        return self._get_lrs((index,))[0]

    def set_wd_mult(self, args_wd_mult: dict) -> None:
        self.wd_mult = {}
        for name in self.idx2name.values():
            if not name.endswith("_weight"):
                self.wd_mult[name] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__wd_mult__" in attr[name]:
                    self.wd_mult[name] = float(attr[name]["__wd_mult__"])
        self.wd_mult.update(args_wd_mult)

    def _update_one(self, index, weight, grad, state, multi_precision):
        self._update_impl((index,), (weight,), (grad,), (state,), multi_precision)

    def _update_impl(self, indices, weights, grads, states, multi_precision):
        self._update_count(indices)
        lrs = self._get_lrs(indices)
        wds = self._get_wds(indices)
        momentum = 0.0
        if self.momentum > 0:
            momentum = self.momentum
            if self.momentum_correction and self.last_lr != 0:
                momentum = self.momentum * (self.cur_lr / self.last_lr)
        self._momentum_now = momentum
        for index, weight, grad, state, lr, wd in zip(indices, weights, grads, states, lrs, wds):
            name = self.idx2name[index] if index in self.idx2name else str(index)
            if not name.endswith(_NO_LARS_SUFFIXES):
                lr = self._layer_lr(weight._data, grad._data, lr, wd, weight._ctx)
            self._run(index, weight, grad, state, lr, wd, multi_precision)

    def _step(self, index, w, g, mom, lr, wd, ctx) -> None:
        self._sgd_rule(w, g, mom, self._momentum_now, lr, wd, ctx)

    def _layer_lr(self, w, g, lr: float, wd: float, ctx):
        """The LARS rate of one layer, a 0-d array on the device (``multi_lars``)."""
        xp = ctx.xp
        w_norm = xp.sqrt(self._sum_sq(w, ctx))
        g_sum_sq = self._sum_sq(g, ctx)
        valid = (w_norm > 0) & (g_sum_sq > 0)
        denominator = xp.sqrt(g_sum_sq) * self.rescale_grad + wd * w_norm + self.eps
        denominator = xp.where(valid, denominator, 1.)
        return xp.where(valid, lr * self.eta * w_norm / denominator, lr)
