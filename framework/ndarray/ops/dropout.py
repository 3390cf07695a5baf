"""``Dropout`` (MXNet's operator): inverted dropout, the mask optionally shared along axes.

The train-versus-predict decision is made here and nowhere else: the operator's
forward reads the training flag (``autograd.is_training()``). With
``mode='training'`` it drops only in training mode; with ``mode='always'`` it
drops in both modes. Kept elements are scaled by 1 / (1 - p), so the expected
output equals the input and predict mode needs no rescaling.

The mask comes from the context's random generator (``nd.random.seed`` fixes
it). The gradient is ``gy * mask``, an NDArray product with a constant, so it
differentiates to any order.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy

from ..._flags import STATE
from ..ndarray import NDArray
from ..operator import Operator
from ..random import _generator
from .checks import check_array, int_tuple, write_out

__all__ = ["Dropout"]

_MODES = ("training", "always")


class DropoutOp(Operator):
    """y = x * mask, mask = bernoulli(1 - p) / (1 - p) of x's shape with 1 on ``axes``;
    the identity (a copy) when not dropping. dx = dy * mask (dy when not dropping)."""

    name = "Dropout"

    def __init__(self, p: float, always: bool, axes: Tuple[int, ...]) -> None:
        self.p, self.always, self.axes = p, always, axes
        self.mask = None

    def forward(self, x):
        if self.p == 0.0 or not (self.always or STATE.training):
            return x.copy()                  # identity (MXNet returns a new array too)
        xp = self.xp
        shape = tuple(1 if i in self.axes else d for i, d in enumerate(x.shape))
        keep = 1.0 - self.p
        if keep == 0.0:                      # p = 1 drops everything (as PyTorch)
            mask = xp.zeros(shape, dtype=x.dtype)
        else:
            kept = _generator(self.ctx).random_sample(shape) < keep
            mask = kept.astype(x.dtype) * x.dtype.type(1.0 / keep)
        self.mask = mask
        return x * mask

    def backward(self, gy):
        if self.mask is None:
            return gy
        return gy * self.constant(self.mask)


def _axes(axes, ndim: int) -> Tuple[int, ...]:
    """``axes`` (an int or ints, negative allowed) as non-negative ints < ndim."""
    if axes is None:
        return ()
    values = int_tuple(axes, "Dropout", "axes")
    out = []
    for a in values:
        if not -ndim <= a < ndim:
            raise ValueError(f"operator Dropout: axis {a} in axes={axes!r} is out of range "
                             f"for data with {ndim} dimensions")
        out.append(a % ndim)
    return tuple(sorted(set(out)))


def Dropout(data: NDArray, p: float = 0.5, mode: str = "training",  # noqa: N802
            axes: Sequence[int] = (), cudnn_off: bool = False, name: Optional[str] = None,
            *, out: Optional[NDArray] = None) -> NDArray:
    """Inverted dropout: each element (or each slice, see ``axes``) of ``data`` is zeroed
    with probability ``p`` and the rest are scaled by 1 / (1 - p); output has the shape
    and dtype of ``data``.

    mode: 'training' drops only in training mode (``autograd.is_training()``, e.g.
          inside ``autograd.record()``), else returns a copy of ``data``;
          'always' drops in predict mode too.
    axes: axes along which one mask value is shared (variational dropout): the mask
          has size 1 on them, e.g. axes=(0,) on (T, N, C) drops the same features
          at every time step.
    p=0 returns a copy of ``data`` in every mode; the gradient is then the identity.
    cudnn_off and name are accepted for MXNet compatibility; they change nothing here.
    """
    check_array(data, "Dropout")
    if numpy.dtype(data.dtype).kind != "f":
        raise TypeError(f"operator Dropout: expected a floating-point array, got dtype "
                        f"{numpy.dtype(data.dtype).name} (shape {data.shape})")
    if isinstance(p, bool) or not isinstance(p, (int, float, numpy.floating, numpy.integer)):
        raise TypeError(f"operator Dropout: p must be a number in [0, 1], got {p!r}")
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"operator Dropout: p must be in [0, 1], got {p}")
    if mode not in _MODES:
        raise ValueError(f"operator Dropout: mode must be one of {list(_MODES)}, got {mode!r}")
    result = DropoutOp(p, mode == "always", _axes(axes, data.ndim))(data)
    return write_out(result, out, "Dropout")
