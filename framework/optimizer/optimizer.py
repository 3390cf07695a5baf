"""`Optimizer`: the base of every update rule, its registry, and ``create`` (MXNet 1.9.1's
``mx.optimizer.Optimizer``).

An optimizer turns (weight, gradient, state) into a new weight, in place. The
bookkeeping is MXNet 1.9.1's: ``learning_rate`` (or an ``lr_scheduler`` called with
``num_update``), ``wd``, ``rescale_grad`` (the Trainer sets it to 1/batch_size before
each update), ``clip_gradient``, per-parameter ``lr_mult``/``wd_mult`` (read from
``param_dict[index]`` when the Trainer gives it, else from ``set_lr_mult``/``set_wd_mult``
by index or name), per-index update counts that start at ``begin_num_update``, one count
table per device (``_set_current_context``: the Trainer keeps one Updater per context
sharing one optimizer, and the count must advance once per step, not once per context),
and ``multi_precision``: a float16 weight is updated through a float32 master copy.

Updates work on the raw arrays (``NDArray._data``, NumPy or CuPy) with in-place ufuncs;
they are not recorded and build no graph. Each updated weight's version count goes up
once, so a graph that saved the weight before the update refuses to backpropagate
through the stale value (``Operator.check_versions``). Temporaries come from
per-optimizer scratch buffers (one per slot, dtype and context, sized to the largest
parameter), so a step allocates nothing per parameter.

Subclasses implement ``create_state(index, weight)`` and ``_step(index, w, g, state,
lr, wd, ctx)`` on raw arrays; the base class does the counting, the learning rate and
weight decay lookup, and the float16 master-copy wrapper, in MXNet's order.
"""
from __future__ import annotations

import numbers
import os
import sys
import warnings
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy

from .. import _host_blas
from ..context import Context
from ..ndarray.ndarray import NDArray

__all__ = ["Optimizer", "register", "create"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_FLOAT16 = numpy.dtype(numpy.float16)
_FLOAT32 = numpy.dtype(numpy.float32)
_SEQUENCE = (list, tuple)

# scratch slots: 0-2 for the rules' temporaries, 3 for the float32 copy of a float16 gradient
_GRAD32 = 3


class Optimizer:
    """Base class of the update rules (MXNet 1.9.1's ``mx.optimizer.Optimizer``).

    Parameters
    ----------
    rescale_grad : the gradient is multiplied by this first (the Trainer sets 1/batch_size).
    param_idx2name : dict index -> parameter name (names ending in neither ``_weight``
        nor ``_gamma`` get wd_mult 0, as in MXNet).
    wd : weight decay (L2 regularisation coefficient).
    clip_gradient : clip the (rescaled) gradient to [-clip_gradient, clip_gradient];
        None (or 0 for the fused rules, as in MXNet) turns clipping off.
    learning_rate : the rate; None means 0.01, or the scheduler's ``base_lr`` when an
        ``lr_scheduler`` is given (a number given with a scheduler overwrites its base_lr).
    lr_scheduler : an object called as ``lr_scheduler(num_update) -> lr``, with ``base_lr``.
    sym : an object with ``attr_dict()`` and ``list_arguments()`` (MXNet's Symbol) whose
        ``__lr_mult__``/``__wd_mult__`` attributes give the multipliers; usually None.
    begin_num_update : the update count the first update starts from.
    multi_precision : update float16 weights through a float32 master copy.
    param_dict : dict index -> Parameter; its ``lr_mult``/``wd_mult`` take precedence.
    """

    opt_registry: Dict[str, type] = {}
    aggregate_num = 0                       # > 0: the Updater passes lists of indices
    _running_state: Tuple[str, ...] = ()    # attributes that change as training runs

    def __init__(self, rescale_grad: float = 1., param_idx2name: Optional[dict] = None,
                 wd: float = 0., clip_gradient: Optional[float] = None,
                 learning_rate: Optional[float] = None, lr_scheduler=None, sym=None,
                 begin_num_update: int = 0, multi_precision: bool = False,
                 param_dict: Optional[dict] = None, **kwargs) -> None:
        owner = type(self).__name__
        if kwargs:
            raise TypeError(f"{owner}: unknown argument(s) {sorted(kwargs)}; the common "
                            f"arguments are rescale_grad, param_idx2name, wd, clip_gradient, "
                            f"learning_rate, lr_scheduler, sym, begin_num_update, "
                            f"multi_precision, param_dict (see help({owner}) for its own)")
        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise TypeError(f"{owner}: param_idx2name should be a dict of param indexes to "
                            f"names, got {type(param_idx2name).__name__}")
        if not isinstance(begin_num_update, numbers.Integral) or isinstance(begin_num_update, bool):
            raise TypeError(f"{owner}: begin_num_update must be an int, got "
                            f"{type(begin_num_update).__name__} {begin_num_update!r}")
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if lr_scheduler is not None and learning_rate is not None:
            if lr_scheduler.base_lr != learning_rate:
                warnings.warn(f"{owner}: learning rate from ``lr_scheduler`` "
                              f"({lr_scheduler.base_lr}) has been overwritten by "
                              f"``learning_rate`` in optimizer ({learning_rate}).",
                              UserWarning, stacklevel=_caller_level())
                lr_scheduler.base_lr = learning_rate
        self.wd = wd
        self.lr_mult: Dict[Any, float] = {}
        self.wd_mult: Dict[Any, float] = {}
        self.begin_num_update = int(begin_num_update)
        self.num_update = int(begin_num_update)
        self._all_index_update_counts: Dict[int, Dict[Any, int]] = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = bool(multi_precision)
        self.idx2name = dict(param_idx2name)
        if sym is not None:
            if not (hasattr(sym, "attr_dict") and hasattr(sym, "list_arguments")):
                raise TypeError(f"{owner}: sym must have attr_dict() and list_arguments() "
                                f"(an MXNet Symbol), got {type(sym).__name__}")
            self.sym_info = (sym.attr_dict(), sym.list_arguments())
        else:
            self.sym_info = ()
        self.param_dict = param_dict if param_dict else {}
        self._scratch_buffers: Dict[tuple, Any] = {}
        self._scratch_views: Dict[tuple, Any] = {}
        self.set_lr_mult({})
        self.set_wd_mult({})

    # ------------------------------------------------------------------ registry
    @staticmethod
    def register(klass: type) -> type:
        """Register ``klass`` under its lower-case class name (a class decorator)."""
        if not isinstance(klass, type) or not issubclass(klass, Optimizer):
            raise TypeError(f"optimizer.register: expected a subclass of Optimizer, got {klass!r}")
        name = klass.__name__.lower()
        if name in Optimizer.opt_registry:
            old = Optimizer.opt_registry[name]
            warnings.warn(f"WARNING: New optimizer {klass.__module__}.{klass.__name__} is "
                          f"overriding existing optimizer {old.__module__}.{old.__name__}",
                          UserWarning, stacklevel=2)
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name: str, **kwargs) -> "Optimizer":
        """An instance of the optimizer registered as ``name`` (case-insensitive)."""
        if not isinstance(name, str):
            raise TypeError(f"optimizer.create: name must be a string such as 'sgd', got "
                            f"{type(name).__name__} {name!r}")
        klass = Optimizer.opt_registry.get(name.lower())
        if klass is None:
            raise ValueError(f"Cannot find optimizer {name!r}; registered optimizers: "
                             f"{', '.join(sorted(Optimizer.opt_registry))}")
        return klass(**kwargs)

    # ------------------------------------------------------------- learning rate
    @property
    def learning_rate(self) -> float:
        """The current rate: the scheduler's value at ``num_update``, else ``lr``."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def set_learning_rate(self, lr: float) -> None:
        """Set the rate; refused (UserWarning raised, as MXNet) when a scheduler drives it."""
        if self.lr_scheduler is not None:
            raise UserWarning("LRScheduler of the optimizer has already been defined. Note "
                              "that set_learning_rate can mutate the value of the learning "
                              "rate of the optimizer only when the LRScheduler of the "
                              "optimizer is undefined.")
        self.lr = lr

    def set_lr_scale(self, args_lrscale) -> None:
        """[DEPRECATED] Use set_lr_mult."""
        raise DeprecationWarning("Optimizer.set_lr_scale is deprecated; use set_lr_mult")

    def set_lr_mult(self, args_lr_mult: dict) -> None:
        """Learning-rate multipliers by parameter index or name (``sym`` attributes first)."""
        self.lr_mult = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__lr_mult__" in attr[name]:
                    self.lr_mult[name] = float(attr[name]["__lr_mult__"])
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult: dict) -> None:
        """Weight-decay multipliers by index or name; with ``param_idx2name``, names that
        end in neither ``_weight`` nor ``_gamma`` default to 0 (no decay), as in MXNet."""
        self.wd_mult = {}
        for name in self.idx2name.values():
            if not (name.endswith("_weight") or name.endswith("_gamma")):
                self.wd_mult[name] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__wd_mult__" in attr[name]:
                    self.wd_mult[name] = float(attr[name]["__wd_mult__"])
        self.wd_mult.update(args_wd_mult)

    # ------------------------------------------------------------------ counting
    def _set_current_context(self, device_id: int) -> None:
        """Count updates in the table of device ``device_id`` from now on."""
        counts = self._all_index_update_counts.get(device_id)
        if counts is None:
            counts = self._all_index_update_counts[device_id] = {}
        self._index_update_count = counts

    def _update_count(self, index) -> None:
        """Advance the count of ``index`` (an int or a list), and ``num_update``."""
        counts = self._index_update_count
        if type(index) not in _SEQUENCE:
            count = counts[index] = counts.get(index, self.begin_num_update) + 1
            if count > self.num_update:
                self.num_update = count
            return
        for idx in index:
            count = counts[idx] = counts.get(idx, self.begin_num_update) + 1
            if count > self.num_update:
                self.num_update = count

    def _get_lrs(self, indices: Sequence) -> list:
        """The learning rates of ``indices``: scheduler (or lr) times each lr_mult."""
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        lrs = []
        for index in indices:
            if index in self.param_dict:
                lrs.append(lr * self.param_dict[index].lr_mult)
            elif index in self.lr_mult:
                lrs.append(lr * self.lr_mult[index])
            elif index in self.idx2name:
                lrs.append(lr * self.lr_mult.get(self.idx2name[index], 1.0))
            else:
                lrs.append(lr)
        return lrs

    def _get_lr(self, index) -> float:
        """The learning rate of ``index`` (the one-index case of ``_get_lrs``)."""
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        if index in self.param_dict:
            return lr * self.param_dict[index].lr_mult
        if index in self.lr_mult:
            return lr * self.lr_mult[index]
        if index in self.idx2name:
            return lr * self.lr_mult.get(self.idx2name[index], 1.0)
        return lr

    def _get_wds(self, indices: Sequence) -> list:
        """The weight decays of ``indices``: wd times each wd_mult."""
        wd = self.wd
        wds = []
        for index in indices:
            if index in self.param_dict:
                wds.append(wd * self.param_dict[index].wd_mult)
            elif index in self.wd_mult:
                wds.append(wd * self.wd_mult[index])
            elif index in self.idx2name:
                wds.append(wd * self.wd_mult.get(self.idx2name[index], 1.0))
            else:
                wds.append(wd)
        return wds

    def _get_wd(self, index) -> float:
        """The weight decay of ``index`` (the one-index case of ``_get_wds``)."""
        wd = self.wd
        if index in self.param_dict:
            return wd * self.param_dict[index].wd_mult
        if index in self.wd_mult:
            return wd * self.wd_mult[index]
        if index in self.idx2name:
            return wd * self.wd_mult.get(self.idx2name[index], 1.0)
        return wd

    # -------------------------------------------------------------------- states
    def create_state(self, index, weight: NDArray):
        """The auxiliary state of one weight (None, an NDArray, or a tuple of them)."""
        return None

    def create_state_multi_precision(self, index, weight: NDArray):
        """``create_state``, or for a float16 weight with ``multi_precision``:
        ``(float32 master copy, create_state(index, master copy))``."""
        if self.multi_precision and weight._data.dtype == _FLOAT16:
            master = _astype(weight, _FLOAT32)
            return (master, self.create_state(index, master))
        if weight._data.dtype == _FLOAT16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy "
                          "or slow convergence. Consider using multi_precision=True option "
                          "of the optimizer", UserWarning, stacklevel=_caller_level())
        return self.create_state(index, weight)

    # ------------------------------------------------------------------- updates
    def update(self, index, weight, grad, state) -> None:
        """Update ``weight`` in place from ``grad`` and ``state``; ``index``, ``weight``,
        ``grad`` and ``state`` may be lists (one entry per parameter)."""
        if type(index) in _SEQUENCE:
            self._apply_many(index, weight, grad, state, False)
        else:
            self._apply_one(index, weight, grad, state, False)

    def update_multi_precision(self, index, weight, grad, state) -> None:
        """``update``, through the float32 master copy when the weights are float16 and
        ``multi_precision`` is on (the state then comes from create_state_multi_precision)."""
        if type(index) in _SEQUENCE:
            self._apply_many(index, weight, grad, state, self.multi_precision)
        else:
            self._apply_one(index, weight, grad, state, self.multi_precision)

    def _apply_one(self, index, weight, grad, state, multi_precision: bool) -> None:
        if (type(weight) is not NDArray or type(grad) is not NDArray
                or weight._data.shape != grad._data.shape or weight._ctx is not grad._ctx):
            _check_pair(self, index, weight, grad)
        multi_precision = multi_precision and weight._data.dtype == _FLOAT16
        ctx = weight._ctx
        if ctx.device_id and ctx.device_type == "gpu":
            with ctx.scope():
                self._update_one(index, weight, grad, state, multi_precision)
        else:
            self._update_one(index, weight, grad, state, multi_precision)
        weight._version[0] += 1        # graphs that saved the old value now refuse backward

    def _apply_many(self, indices, weights, grads, states, multi_precision: bool) -> None:
        if not (len(weights) == len(indices) == len(grads) == len(states)):
            raise ValueError(f"{type(self).__name__}.update: got {len(indices)} indices, "
                             f"{len(weights)} weights, {len(grads)} gradients and "
                             f"{len(states)} states; expected one of each per parameter")
        if not indices:
            return
        for idx, w, g in zip(indices, weights, grads):
            _check_pair(self, idx, w, g)
        ctx = weights[0]._ctx
        if any(w._ctx is not ctx for w in weights):
            raise ValueError(f"{type(self).__name__}.update: one list update takes weights of "
                             f"one context, got {sorted({str(w._ctx) for w in weights})} "
                             f"(update each context's weights with its own call)")
        multi_precision = multi_precision and weights[0]._data.dtype == _FLOAT16
        if ctx.device_id and ctx.device_type == "gpu":
            with ctx.scope():
                self._update_impl(indices, weights, grads, states, multi_precision)
        else:
            self._update_impl(indices, weights, grads, states, multi_precision)
        for w in weights:
            w._version[0] += 1

    def _update_one(self, index, weight, grad, state, multi_precision: bool) -> None:
        """One parameter: count, learning rate, weight decay, rule (MXNet's order)."""
        counts = self._index_update_count
        count = counts[index] = counts.get(index, self.begin_num_update) + 1
        if count > self.num_update:
            self.num_update = count
        self._run(index, weight, grad, state, self._get_lr(index), self._get_wd(index),
                  multi_precision)

    def _update_impl(self, indices, weights, grads, states, multi_precision: bool) -> None:
        """A list of parameters, one after the other (optimizers that aggregate override)."""
        for index, weight, grad, state in zip(indices, weights, grads, states):
            self._update_one(index, weight, grad, state, multi_precision)

    def _run(self, index, weight, grad, state, lr, wd: float, multi_precision: bool) -> None:
        """The rule on the raw arrays, through the float32 master copy if asked."""
        ctx = weight._ctx
        if multi_precision:
            master, inner = self._split_multi_precision(state)
            self._step(index, master._data, self._grad32(grad, ctx), inner, lr, wd, ctx)
            ctx.xp.copyto(weight._data, master._data)
        else:
            self._step(index, weight._data, grad._data, state, lr, wd, ctx)

    def _split_multi_precision(self, state):
        """(master copy, inner state) of a state made by create_state_multi_precision."""
        return state[0], state[1]

    def _step(self, index, w, g, state, lr, wd: float, ctx: Context) -> None:
        """Apply the rule to raw arrays: ``w`` (updated in place), ``g``, the state."""
        raise NotImplementedError(f"{type(self).__name__} does not implement update")

    # ------------------------------------------------------------------- helpers
    def _scratch(self, slot: int, like, ctx: Context, dtype=None):
        """A reusable raw buffer of ``like``'s shape (and dtype unless given) on ``ctx``:
        a view of one flat buffer per (slot, context, dtype), as large as the largest
        parameter seen; its content does not outlive the call that asked for it."""
        key = (slot, like.shape, like.dtype if dtype is None else dtype, ctx)
        view = self._scratch_views.get(key)
        if view is None:
            view = self._new_scratch(key, like.size)
        return view

    def _new_scratch(self, key: tuple, size: int):
        slot, shape, dtype, ctx = key
        views = self._scratch_views
        flat_key = (slot, ctx, dtype)
        buf = self._scratch_buffers.get(flat_key)
        if buf is None or buf.size < size:
            with ctx.scope():
                buf = self._scratch_buffers[flat_key] = ctx.xp.empty(size, dtype=dtype)
            for old in [k for k in views if k[0] == slot and k[2] == dtype and k[3] is ctx]:
                del views[old]            # views of the smaller buffer: let it be freed
        view = views[key] = buf[:size].reshape(shape)
        return view

    def _grad32(self, grad: NDArray, ctx: Context):
        """The float32 copy of a float16 gradient (MXNet's ``grad.astype(float32)``)."""
        g32 = self._scratch(_GRAD32, grad._data, ctx, _FLOAT32)
        ctx.xp.copyto(g32, grad._data)
        return g32

    def _sum_sq(self, x, ctx: Context, slot: int = 2):
        """The sum of squares of raw ``x`` as a 0-d array on its device (no host copy),
        accumulated in float32 at least (float16 values are widened first)."""
        xp = ctx.xp
        dtype = x.dtype if x.dtype.itemsize >= 4 else _FLOAT32
        buf = self._scratch(slot, x, ctx, dtype)
        if x.dtype == dtype:
            xp.multiply(x, x, out=buf)
        else:
            xp.copyto(buf, x)
            buf *= buf
        return xp.sum(buf)

    def _clipping(self, fused: bool = True) -> bool:
        """Whether the gradient is clipped. ``fused``: the rule is one of MXNet's C++
        kernels, which clip only for a truthy, non-negative clip_gradient; MXNet's
        Python-written rules clip whenever clip_gradient is not None."""
        c = self.clip_gradient
        if c is None:
            return False
        return not fused or (bool(c) and c >= 0)

    def _clip(self, x, xp, fused: bool = True):
        """Clip ``x`` in place to [-clip_gradient, clip_gradient] (see ``_clipping``)."""
        if self._clipping(fused):
            c = self.clip_gradient
            xp.clip(x, -c, c, out=x)
        return x

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate}, wd={self.wd})"


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside this package."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == _PACKAGE_DIR:
        frame, level = frame.f_back, level + 1
    return level


def _astype(weight: NDArray, dtype) -> NDArray:
    """A raw copy of ``weight`` converted to ``dtype`` (not recorded)."""
    with weight._ctx.scope():
        return NDArray(weight._data.astype(dtype), weight._ctx)


def blend(xp, alpha: float, x, beta: float, y, scratch) -> None:
    """``y = alpha * x + beta * y`` in place: one OpenBLAS ``axpby`` pass over its
    threads where it applies (``_host_blas``), else NumPy's passes through ``scratch``
    (an array like ``x``; it may be ``x`` itself when ``x`` is not needed after)."""
    if _host_blas.axpby(alpha, x, beta, y):
        return
    if beta != 1.0:
        y *= beta
    xp.multiply(x, alpha, out=scratch)
    y += scratch


def zeros_state(weight: NDArray, dtype=None) -> NDArray:
    """A zero NDArray of ``weight``'s shape, context and (unless given) dtype."""
    ctx = weight._ctx
    with ctx.scope():
        return NDArray(ctx.xp.zeros(weight._data.shape, dtype=dtype or weight._data.dtype), ctx)


def copy_state(weight: NDArray) -> NDArray:
    """A raw copy of ``weight`` (not recorded)."""
    ctx = weight._ctx
    with ctx.scope():
        return NDArray(weight._data.copy(), ctx)


def _check_pair(opt: Optimizer, index, weight, grad) -> None:
    """Refuse what is not a weight/gradient pair of NDArrays of one shape and context."""
    if not isinstance(weight, NDArray) or not isinstance(grad, NDArray):
        raise TypeError(f"{type(opt).__name__}.update: weight and grad of index {index!r} must "
                        f"be NDArrays, got {type(weight).__name__} and {type(grad).__name__}")
    if weight._data.shape != grad._data.shape or weight._ctx is not grad._ctx:
        raise ValueError(f"{type(opt).__name__}.update: index {index!r}: weight of shape "
                         f"{weight.shape} on {weight._ctx} and grad of shape {grad.shape} on "
                         f"{grad._ctx} do not match; expected one shape and one context")


# convenience names, as MXNet's module-level ``register`` and ``create``
register = Optimizer.register
create = Optimizer.create_optimizer
