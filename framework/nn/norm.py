"""Normalisation layers: ``BatchNorm``, ``LayerNorm``, ``InstanceNorm``, ``GroupNorm``.

Thin layers over the ``nd`` operators of the same names (MXNet 1.x Gluon
signatures, defaults and reprs): Parameters, the channel count inferred from
the first input, and one operator call. BatchNorm's train-versus-predict
behaviour is decided inside ``nd.BatchNorm`` by ``autograd.is_training()``.
"""
from __future__ import annotations

import numpy

from ..block import HybridBlock

__all__ = ["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm"]


def _kwargs_repr(kwargs) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _channels(x, axis: int, layer: str) -> int:
    """The size of ``axis`` of input ``x``, or an error naming the layer and shapes."""
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{layer}: axis {axis} is out of range for input of shape {x.shape}")
    return x.shape[axis]


class _Normalization(HybridBlock):
    """Common part of the layers: ``gamma`` and ``beta`` of shape (size,), learnt unless
    ``scale``/``center`` is False; a size of 0 is the channel count along ``self._axis``,
    inferred from the first input. ``repr_kwargs`` are what ``__repr__`` shows."""

    _size_in_repr = True          # ``in_channels=...`` ends the repr

    def __init__(self, axis: int, size: int, center: bool, scale: bool, beta_initializer,
                 gamma_initializer, repr_kwargs: dict, **kwargs) -> None:
        super().__init__(**kwargs)
        self._axis = axis
        self._kwargs = repr_kwargs
        with self.name_scope():
            self.gamma = self.params.get("gamma", grad_req="write" if scale else "null",
                                         shape=(size,), init=gamma_initializer,
                                         allow_deferred_init=True, differentiable=scale)
            self.beta = self.params.get("beta", grad_req="write" if center else "null",
                                        shape=(size,), init=beta_initializer,
                                        allow_deferred_init=True, differentiable=center)

    def _per_channel(self):
        """The Parameters of shape (channels,)."""
        return self.gamma, self.beta

    def infer_shape(self, x, *args) -> None:
        channels = _channels(x, self._axis, type(self).__name__)
        for param in self._per_channel():
            param.shape = (channels,)

    def _in_channels(self):
        return self.gamma.shape[0]

    def __repr__(self) -> str:
        text = f"{type(self).__name__}({_kwargs_repr(self._kwargs)}"
        if self._size_in_repr:
            text += f", in_channels={self._in_channels()}"
        return text + ")"


class BatchNorm(_Normalization):
    """Batch normalisation over every axis but ``axis`` (the channels, size C).

    In training mode (``autograd.record()`` or ``train_mode()``) it normalises with the
    batch mean and biased variance and moves ``running_mean``/``running_var`` by
    ``running = running * momentum + batch * (1 - momentum)``; in predict mode it uses
    the running statistics (always, with ``use_global_stats``). ``center``/``scale``:
    learn ``beta``/``gamma`` (C,) (``scale=False`` fixes gamma at 1). ``in_channels=0``
    is inferred from the first input. Input any shape; output the same shape.
    Parameters stay float32 when the block is cast to float16 (as MXNet).
    """

    def __init__(self, axis: int = 1, momentum: float = 0.9, epsilon: float = 1e-5,
                 center: bool = True, scale: bool = True, use_global_stats: bool = False,
                 beta_initializer="zeros", gamma_initializer="ones",
                 running_mean_initializer="zeros", running_variance_initializer="ones",
                 in_channels: int = 0, **kwargs) -> None:
        super().__init__(axis, in_channels, center, scale, beta_initializer, gamma_initializer,
                         {"axis": axis, "eps": epsilon, "momentum": momentum,
                          "fix_gamma": not scale, "use_global_stats": use_global_stats},
                         **kwargs)
        if in_channels != 0:
            self.in_channels = in_channels
        with self.name_scope():
            self.running_mean = self.params.get("running_mean", grad_req="null",
                                                shape=(in_channels,),
                                                init=running_mean_initializer,
                                                allow_deferred_init=True, differentiable=False)
            self.running_var = self.params.get("running_var", grad_req="null",
                                               shape=(in_channels,),
                                               init=running_variance_initializer,
                                               allow_deferred_init=True, differentiable=False)

    def _per_channel(self):
        return self.gamma, self.beta, self.running_mean, self.running_var

    def _in_channels(self):
        return self.gamma.shape[0] or None          # MXNet prints None while unknown

    def cast(self, dtype) -> None:
        if numpy.dtype(dtype).name == "float16":
            dtype = "float32"
        super().cast(dtype)

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        return F.BatchNorm(x, gamma, beta, running_mean, running_var, name="fwd",
                           **self._kwargs)


class LayerNorm(_Normalization):
    """Layer normalisation along ``axis`` (size C): each slice normalised with its own
    mean and biased variance, then ``* gamma + beta`` (C,). ``center``/``scale``: learn
    beta/gamma. ``in_channels=0`` is inferred from the first input. Same shape out.
    """

    def __init__(self, axis: int = -1, epsilon: float = 1e-5, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 in_channels: int = 0, prefix=None, params=None) -> None:
        super().__init__(axis, in_channels, center, scale, beta_initializer, gamma_initializer,
                         {"eps": epsilon, "axis": axis, "center": center, "scale": scale},
                         prefix=prefix, params=params)
        self._epsilon = epsilon

    def hybrid_forward(self, F, data, gamma, beta):
        return F.LayerNorm(data, gamma=gamma, beta=beta, axis=self._axis, eps=self._epsilon)


class InstanceNorm(_Normalization):
    """Instance normalisation: each (sample, channel) slice of input (N, C, ...) is
    normalised over the remaining axes, then ``* gamma + beta`` (C,). ``axis``: the
    channel axis (1 for NCHW, 3 for NHWC). Note MXNet's default ``scale=False``: gamma
    stays 1 unless ``scale=True``. ``in_channels=0`` is inferred. Same shape out.
    """

    def __init__(self, axis: int = 1, epsilon: float = 1e-5, center: bool = True,
                 scale: bool = False, beta_initializer="zeros", gamma_initializer="ones",
                 in_channels: int = 0, **kwargs) -> None:
        super().__init__(axis, in_channels, center, scale, beta_initializer, gamma_initializer,
                         {"eps": epsilon, "axis": axis, "center": center, "scale": scale},
                         **kwargs)
        self._epsilon = epsilon

    def hybrid_forward(self, F, x, gamma, beta):
        if self._axis == 1:
            return F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon)
        x = F.swapaxes(x, 1, self._axis)
        return F.swapaxes(F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon), 1,
                          self._axis)


class GroupNorm(_Normalization):
    """Group normalisation of input (N, C, ...): the channels form ``num_groups`` groups,
    each (sample, group) normalised with its own statistics, then scaled and shifted by
    ``gamma``/``beta`` of shape (num_groups,) — one value per group, as MXNet 1.x (PyTorch
    and MXNet 2 use one per channel). Same shape out.
    """

    _size_in_repr = False

    def __init__(self, num_groups: int = 1, epsilon: float = 1e-5, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 prefix=None, params=None) -> None:
        super().__init__(1, num_groups, center, scale, beta_initializer, gamma_initializer,
                         {"eps": epsilon, "num_groups": num_groups, "center": center,
                          "scale": scale}, prefix=prefix, params=params)
        self._num_groups = num_groups
        self._epsilon = epsilon

    def infer_shape(self, x, *args) -> None:
        """gamma and beta are (num_groups,), known from the start."""

    def hybrid_forward(self, F, data, gamma, beta):
        return F.GroupNorm(data, gamma=gamma, beta=beta, num_groups=self._num_groups,
                           eps=self._epsilon)
