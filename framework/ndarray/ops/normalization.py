"""Normalisation operators: ``BatchNorm``, ``LayerNorm``, ``InstanceNorm``, ``GroupNorm``.

Each call is one graph node (``NormOp``). All four view the data as a 3-D
array (outer, C, inner), normalise it with statistics reduced over some of
those axes, then scale by ``gamma`` and shift by ``beta`` broadcast along C:

    op            data (N, C, ...) as         statistics over   gamma, beta
    BatchNorm     (prod(before axis), C, prod(after axis))   axes 0, 2   (C,)
    LayerNorm     (prod(before axis), C, prod(after axis))   axis 1      (C,)
    InstanceNorm  (N, C, prod(spatial))                      axis 2      (C,)
    GroupNorm     (N, G, C/G * prod(spatial))                axis 2      (G,)  (MXNet 1.x)

Variances are biased (divided by the count), as MXNet computes them. The
forward pass runs on raw arrays, in float32 for float16 data. The gradient is
the closed form ``dx = r (g - mean(g) - x^ mean(g x^))`` with ``g = dy gamma``,
``x^`` the normalised data and ``r`` the inverse standard deviation, written with
NDArray operations; under ``create_graph`` it recomputes the statistics from the
data with NDArray operations, so it differentiates again to any order (gradient
penalties need the second order).

BatchNorm is the only one with a train-versus-predict behaviour, decided here
by ``autograd.is_training()``: in training mode (and without
``use_global_stats``) it uses the batch statistics and moves the running ones
in place, ``moving = moving * momentum + batch * (1 - momentum)``; otherwise it
uses the running statistics and leaves them unchanged.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple, Union

import numpy

from ..._flags import STATE
from ..ndarray import NDArray
from ..operator import Operator
from .broadcast import sum_to
from .checks import axis_index, check_array, write_out
from .convert import Cast
from .reduce import mean as _mean
from .shape import Reshape
from .unary import rsqrt

__all__ = ["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm"]

Result = Union[NDArray, List[NDArray]]


def _sum_kept(x, axes: Tuple[int, ...], dtype):
    """Sum of ``x`` over ``axes`` (kept as 1s), accumulated in ``dtype``, the innermost
    axis first (NumPy sums a contiguous axis pairwise, so large counts stay accurate)."""
    for a in sorted(axes, reverse=True):
        x = x.sum(axis=a, keepdims=True, dtype=dtype)
    return x


class NormOp(Operator):
    """Normalise ``data`` viewed as ``work`` (outer, C, inner) over ``axes``, then
    ``* gamma + beta`` with both viewed as ``param_shape`` (1, C, 1).

    Inputs: data, gamma, beta and, for BatchNorm, moving_mean and moving_var.
    ``batch_stats``: normalise with the data's statistics (else with the moving ones);
    None decides it in ``forward`` from the training flag (BatchNorm's train-versus-predict
    decision, made here and nowhere else); ``momentum``: move the running statistics
    when the batch statistics are used;
    ``use_gamma=False``: gamma is taken as 1 (BatchNorm's fix_gamma) and gets gradient 0;
    ``stats``: also output the statistics, as 'mean_invstd' (BatchNorm, shape (C,)) or
    'mean_std' (LayerNorm, GroupNorm, shape ``stats_shape``); their gradients are
    blocked, as in MXNet.
    """

    saves_inputs = (0, 1)
    input_users = ((0, 1), (0,))     # data: for dx and dgamma; gamma: for dx

    def __init__(self, name: str, work: Tuple[int, int, int], axes: Tuple[int, ...],
                 eps: float, use_gamma: bool = True, batch_stats: Optional[bool] = True,
                 momentum: Optional[float] = None, stats: Optional[str] = None,
                 stats_shape: Tuple[int, ...] = ()) -> None:
        self.name = name
        self.work = work
        self.axes = axes
        self.param_shape = (1, work[1], 1)
        self.eps = float(eps)
        self.use_gamma = use_gamma
        if not use_gamma:
            self.saves_inputs = (0,)     # gamma is not read: writing it stays allowed
        self.batch_stats_rule = batch_stats
        self.momentum = momentum
        self.stats = stats
        self.stats_shape = stats_shape

    def forward(self, x, gamma, beta, moving_mean=None, moving_var=None):
        xp = self.xp
        self.in_shape = x.shape
        self.dtypes = (x.dtype, gamma.dtype, beta.dtype)
        acc = numpy.dtype(numpy.float32) if x.dtype == numpy.float16 else x.dtype
        self.acc = acc
        rule = self.batch_stats_rule
        self.batch_stats = STATE.training if rule is None else rule
        xa = x.reshape(self.work).astype(acc, copy=False)
        count = math.prod(self.work[a] for a in self.axes)
        pshape = self.param_shape
        if self.batch_stats:
            mean = _sum_kept(xa, self.axes, acc) / count
            centred = xa - mean
            var = _sum_kept(centred * centred, self.axes, acc) / count
            invstd = 1.0 / xp.sqrt(var + self.eps)
            if self.momentum is not None:
                m = self.momentum
                moving_mean[...] = moving_mean * m + mean.reshape(-1) * (1.0 - m)
                moving_var[...] = moving_var * m + var.reshape(-1) * (1.0 - m)
        else:
            # copies: the running statistics may move before backward runs
            mean = moving_mean.reshape(pshape).astype(acc)
            var = moving_var.reshape(pshape).astype(acc)
            invstd = 1.0 / xp.sqrt(var + self.eps)
            centred = xa - mean
        self.mean, self.invstd = mean, invstd
        y = centred
        y *= invstd
        if self.use_gamma:
            y *= gamma.reshape(pshape)
        y += beta.reshape(pshape)
        y = y.astype(x.dtype, copy=False).reshape(x.shape)
        if self.stats is None:
            return y
        if self.stats == "mean_invstd":
            return (y, mean.reshape(self.stats_shape).copy(),
                    invstd.reshape(self.stats_shape).copy())
        std = xp.sqrt(var + self.eps)
        return (y, mean.reshape(self.stats_shape).astype(x.dtype),
                std.reshape(self.stats_shape).astype(x.dtype, copy=False))

    def _acc(self, a: NDArray) -> NDArray:
        return a if a._data.dtype == self.acc else Cast(self.acc)(a)

    def backward(self, gy, *stat_grads):
        # stat_grads: gradients of the mean/std outputs, blocked as in MXNet
        x = self.saved_inputs[0]
        axes = self.axes
        xw = self._acc(Reshape(self.work)(x))
        gyw = self._acc(Reshape(self.work)(gy))
        if self.use_gamma:
            g = gyw * self._acc(Reshape(self.param_shape)(self.saved_inputs[1]))
        else:
            g = gyw
        if self.batch_stats and STATE.recording:
            # create_graph: the statistics as functions of the data, for higher orders
            centred = xw - _mean(xw, axis=axes, keepdims=True)
            r = rsqrt(_mean(centred * centred, axis=axes, keepdims=True) + self.eps)
            xhat = centred * r
        else:
            r = self.constant(self.invstd)
            if self.batch_stats:
                xhat = self.constant((xw._data - self.mean) * self.invstd)
            else:
                xhat = (xw - self.constant(self.mean)) * r
        gx = ggamma = gbeta = None
        if self.wants(0):
            if self.batch_stats:
                gx = r * (g - _mean(g, axis=axes, keepdims=True)
                          - xhat * _mean(g * xhat, axis=axes, keepdims=True))
            else:
                gx = g * r
            gx = Reshape(self.in_shape)(gx)
            if gx._data.dtype != self.dtypes[0]:
                gx = Cast(self.dtypes[0])(gx)
        if self.wants(1) and self.use_gamma:
            ggamma = Reshape((self.work[1],))(sum_to(gyw * xhat, self.param_shape))
            if ggamma._data.dtype != self.dtypes[1]:
                ggamma = Cast(self.dtypes[1])(ggamma)
        if self.wants(2):
            gbeta = Reshape((self.work[1],))(sum_to(gyw, self.param_shape))
            if gbeta._data.dtype != self.dtypes[2]:
                gbeta = Cast(self.dtypes[2])(gbeta)
        return (gx, ggamma, gbeta) + (None,) * (len(self.parents) - 3)

    def release(self) -> None:
        super().release()
        self.mean = self.invstd = None


# ------------------------------------------------------------------ checks
def _check_inputs(op: str, data: NDArray, params, min_ndim: int = 1) -> None:
    """``params``: (argument name, array, expected shape). Shapes and dtypes must fit:
    floating data; parameters of the data's dtype (float32 also allowed for float16)."""
    check_array(data, op)
    for name, value, _ in params:
        if not isinstance(value, NDArray):
            raise TypeError(f"operator {op}: {name} must be an NDArray, got "
                            f"{type(value).__name__}")
    dtype = numpy.dtype(data._data.dtype)
    if dtype.kind != "f":
        raise TypeError(f"operator {op}: data must be a floating-point array, got dtype "
                        f"{dtype.name} (shape {data.shape}); use astype first")
    if data.ndim < min_ndim:
        raise ValueError(f"operator {op}: data must have at least {min_ndim} dimension"
                         f"{'s' if min_ndim > 1 else ''}, got shape {data.shape}")
    allowed = {dtype, numpy.dtype(numpy.float32)} if dtype == numpy.float16 else {dtype}
    for name, value, shape in params:
        if value.shape != shape:
            raise ValueError(f"operator {op}: {name} has shape {value.shape}, expected {shape} "
                             f"for data of shape {data.shape}")
        if numpy.dtype(value._data.dtype) not in allowed:
            raise TypeError(f"operator {op}: {name} has dtype "
                            f"{numpy.dtype(value._data.dtype).name}, expected "
                            f"{' or '.join(sorted(d.name for d in allowed))} for data of dtype "
                            f"{dtype.name}")


def _check_eps(op: str, eps) -> float:
    eps = float(eps)
    if not eps >= 0.0:
        raise ValueError(f"operator {op}: eps must be >= 0, got {eps}")
    return eps


def _around(shape: Tuple[int, ...], axis: int) -> Tuple[int, int, int]:
    """(prod before axis, size of axis, prod after axis)."""
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def _layout(op: str, data: NDArray, axis: int):
    """Check ``data``; (axis as an index, the (before, C, after) work shape, (C,))."""
    check_array(data, op)
    if data.ndim == 0:
        raise ValueError(f"operator {op}: data must have at least 1 dimension, got shape ()")
    ax = axis_index(axis, data.ndim, op)
    work = _around(data.shape, ax)
    return ax, work, (work[1],)


def _result(result, output_mean_var: bool, out: Optional[NDArray], op: str) -> Result:
    if output_mean_var:
        if out is not None:
            raise TypeError(f"operator {op}: out= needs a single result, and output_mean_var="
                            f"True gives three")
        return list(result)
    return write_out(result, out, op)


# --------------------------------------------------------------- functions
def BatchNorm(data: NDArray, gamma: NDArray, beta: NDArray, moving_mean: NDArray,
              moving_var: NDArray, eps: float = 1e-3, momentum: float = 0.9,
              fix_gamma: bool = True, use_global_stats: bool = False,
              output_mean_var: bool = False, axis: int = 1, cudnn_off: bool = False,
              out: Optional[NDArray] = None, name: Optional[str] = None) -> Result:
    """Batch normalisation along channel ``axis`` of ``data`` (any shape; C = shape[axis]).

    gamma, beta, moving_mean, moving_var: (C,), in the data's dtype (float32 for
    float16 data, as MXNet stores them). In training mode (``autograd.is_training()``)
    without ``use_global_stats``: normalise with the batch mean and biased variance over
    every axis but ``axis``, and update the running statistics in place,
    ``moving = moving * momentum + batch * (1 - momentum)``. Otherwise normalise with
    moving_mean and moving_var, which stay unchanged. ``fix_gamma``: gamma is taken as 1
    and its gradient is 0. Returns the output (data's shape), or with
    ``output_mean_var`` the list [output, mean (C,), inverse std 1/sqrt(var + eps) (C,)]
    (the statistics used; their gradients are blocked). ``cudnn_off`` is accepted and
    has no effect; ``name`` (MXNet's node name) is accepted and ignored.
    """
    op = "BatchNorm"
    ax, work, c = _layout(op, data, axis)
    _check_inputs(op, data, [("gamma", gamma, c), ("beta", beta, c),
                             ("moving_mean", moving_mean, c), ("moving_var", moving_var, c)])
    eps = _check_eps(op, eps)
    node = NormOp(op, work, (0, 2), eps, use_gamma=not fix_gamma,
                  batch_stats=False if use_global_stats else None, momentum=float(momentum),
                  stats="mean_invstd" if output_mean_var else None, stats_shape=c)
    result = node(data, gamma, beta, moving_mean, moving_var)
    if node.batch_stats:
        # the running statistics were written in place: arrays saved for backward that
        # share them see a new version (BatchNorm's own nodes keep copies, so they never
        # do); no history is attached to them, they are not differentiated
        moving_mean._version[0] += 1
        moving_var._version[0] += 1
    return _result(result, output_mean_var, out, op)


def LayerNorm(data: NDArray, gamma: NDArray, beta: NDArray, axis: int = -1,
              eps: float = 1e-5, output_mean_var: bool = False,
              out: Optional[NDArray] = None) -> Result:
    """Layer normalisation: normalise ``data`` along ``axis`` (size C) with its own mean and
    biased variance, then ``* gamma + beta`` (both (C,)). Same in training and predict mode.

    Returns the output (data's shape), or with ``output_mean_var`` the list
    [output, mean, std = sqrt(var + eps)], the statistics shaped as data with ``axis``
    of size 1 (their gradients are blocked, as in MXNet).
    """
    op = "LayerNorm"
    ax, work, c = _layout(op, data, axis)
    _check_inputs(op, data, [("gamma", gamma, c), ("beta", beta, c)])
    stats_shape = tuple(1 if i == ax else d for i, d in enumerate(data.shape))
    node = NormOp(op, work, (1,), _check_eps(op, eps),
                  stats="mean_std" if output_mean_var else None, stats_shape=stats_shape)
    return _result(node(data, gamma, beta), output_mean_var, out, op)


def InstanceNorm(data: NDArray, gamma: NDArray, beta: NDArray, eps: float = 1e-3,
                 out: Optional[NDArray] = None, name: Optional[str] = None) -> NDArray:
    """Instance normalisation of ``data`` (N, C, d1, ...): each (sample, channel) slice is
    normalised with its own mean and biased variance over d1, ..., then ``* gamma + beta``
    (both (C,)). Same in training and predict mode. Returns data's shape. ``name``
    (MXNet's node name) is accepted and ignored.
    """
    op = "InstanceNorm"
    check_array(data, op)
    if data.ndim < 3:
        raise ValueError(f"operator {op}: data must have at least 3 dimensions (N, C, ...), "
                         f"got shape {data.shape}")
    n, ch = data.shape[:2]
    _check_inputs(op, data, [("gamma", gamma, (ch,)), ("beta", beta, (ch,))], 3)
    node = NormOp(op, (n, ch, math.prod(data.shape[2:])), (2,), _check_eps(op, eps))
    return write_out(node(data, gamma, beta), out, op)


def GroupNorm(data: NDArray, gamma: NDArray, beta: NDArray, num_groups: int = 1,
              eps: float = 1e-5, output_mean_var: bool = False,
              out: Optional[NDArray] = None) -> Result:
    """Group normalisation of ``data`` (N, C, ...): the C channels form ``num_groups``
    groups G of C/G channels; each (sample, group) is normalised with its own mean and
    biased variance, then scaled by ``gamma`` and shifted by ``beta``, which have shape
    (num_groups,): one value per group, as MXNet 1.x defines them (MXNet 2 and PyTorch
    use one per channel). Returns data's shape, or with ``output_mean_var`` the list
    [output, mean (N, G), std = sqrt(var + eps) (N, G)] (gradients of the last two blocked).
    """
    op = "GroupNorm"
    check_array(data, op)
    if data.ndim < 2:
        raise ValueError(f"operator {op}: data must have at least 2 dimensions (N, C, ...), "
                         f"got shape {data.shape}")
    if not isinstance(num_groups, (int, numpy.integer)) or isinstance(num_groups, bool) \
            or num_groups < 1:
        raise ValueError(f"operator {op}: num_groups must be a positive int, got "
                         f"{num_groups!r}")
    n, ch = data.shape[:2]
    g = int(num_groups)
    if ch % g:
        raise ValueError(f"operator {op}: the {ch} channels of data of shape {data.shape} "
                         f"cannot be split into num_groups={g} groups")
    _check_inputs(op, data, [("gamma", gamma, (g,)), ("beta", beta, (g,))], 2)
    work = (n, g, (ch // g) * math.prod(data.shape[2:]))
    node = NormOp(op, work, (2,), _check_eps(op, eps),
                  stats="mean_std" if output_mean_var else None, stats_shape=(n, g))
    return _result(node(data, gamma, beta), output_mean_var, out, op)
