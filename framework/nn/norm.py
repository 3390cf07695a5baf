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


class BatchNorm(HybridBlock):
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
        super().__init__(**kwargs)
        self._kwargs = {"axis": axis, "eps": epsilon, "momentum": momentum,
                        "fix_gamma": not scale, "use_global_stats": use_global_stats}
        self._axis = axis
        if in_channels != 0:
            self.in_channels = in_channels
        with self.name_scope():
            self.gamma = self.params.get("gamma", grad_req="write" if scale else "null",
                                         shape=(in_channels,), init=gamma_initializer,
                                         allow_deferred_init=True, differentiable=scale)
            self.beta = self.params.get("beta", grad_req="write" if center else "null",
                                        shape=(in_channels,), init=beta_initializer,
                                        allow_deferred_init=True, differentiable=center)
            self.running_mean = self.params.get("running_mean", grad_req="null",
                                                shape=(in_channels,),
                                                init=running_mean_initializer,
                                                allow_deferred_init=True, differentiable=False)
            self.running_var = self.params.get("running_var", grad_req="null",
                                               shape=(in_channels,),
                                               init=running_variance_initializer,
                                               allow_deferred_init=True, differentiable=False)

    def cast(self, dtype) -> None:
        if numpy.dtype(dtype).name == "float16":
            dtype = "float32"
        super().cast(dtype)

    def infer_shape(self, x, *args) -> None:
        channels = _channels(x, self._axis, type(self).__name__)
        for param in (self.gamma, self.beta, self.running_mean, self.running_var):
            param.shape = (channels,)

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        return F.BatchNorm(x, gamma, beta, running_mean, running_var, **self._kwargs)

    def __repr__(self) -> str:
        in_channels = self.gamma.shape[0]
        return (f"{type(self).__name__}({_kwargs_repr(self._kwargs)}, "
                f"in_channels={in_channels if in_channels else None})")


class LayerNorm(HybridBlock):
    """Layer normalisation along ``axis`` (size C): each slice normalised with its own
    mean and biased variance, then ``* gamma + beta`` (C,). ``center``/``scale``: learn
    beta/gamma. ``in_channels=0`` is inferred from the first input. Same shape out.
    """

    def __init__(self, axis: int = -1, epsilon: float = 1e-5, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 in_channels: int = 0, prefix=None, params=None) -> None:
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        with self.name_scope():
            self.gamma = self.params.get("gamma", grad_req="write" if scale else "null",
                                         shape=(in_channels,), init=gamma_initializer,
                                         allow_deferred_init=True)
            self.beta = self.params.get("beta", grad_req="write" if center else "null",
                                        shape=(in_channels,), init=beta_initializer,
                                        allow_deferred_init=True)

    def infer_shape(self, x, *args) -> None:
        channels = _channels(x, self._axis, type(self).__name__)
        self.gamma.shape = self.beta.shape = (channels,)

    def hybrid_forward(self, F, data, gamma, beta):
        return F.LayerNorm(data, gamma=gamma, beta=beta, axis=self._axis, eps=self._epsilon)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({_kwargs_repr(self._kwargs)}, "
                f"in_channels={self.gamma.shape[0]})")


class InstanceNorm(HybridBlock):
    """Instance normalisation: each (sample, channel) slice of input (N, C, ...) is
    normalised over the remaining axes, then ``* gamma + beta`` (C,). ``axis``: the
    channel axis (1 for NCHW, 3 for NHWC). Note MXNet's default ``scale=False``: gamma
    stays 1 unless ``scale=True``. ``in_channels=0`` is inferred. Same shape out.
    """

    def __init__(self, axis: int = 1, epsilon: float = 1e-5, center: bool = True,
                 scale: bool = False, beta_initializer="zeros", gamma_initializer="ones",
                 in_channels: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        with self.name_scope():
            self.gamma = self.params.get("gamma", grad_req="write" if scale else "null",
                                         shape=(in_channels,), init=gamma_initializer,
                                         allow_deferred_init=True)
            self.beta = self.params.get("beta", grad_req="write" if center else "null",
                                        shape=(in_channels,), init=beta_initializer,
                                        allow_deferred_init=True)

    def infer_shape(self, x, *args) -> None:
        channels = _channels(x, self._axis, type(self).__name__)
        self.gamma.shape = self.beta.shape = (channels,)

    def hybrid_forward(self, F, x, gamma, beta):
        if self._axis == 1:
            return F.InstanceNorm(x, gamma, beta, eps=self._epsilon)
        x = F.swapaxes(x, 1, self._axis)
        return F.swapaxes(F.InstanceNorm(x, gamma, beta, eps=self._epsilon), 1, self._axis)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({_kwargs_repr(self._kwargs)}, "
                f"in_channels={self.gamma.shape[0]})")


class GroupNorm(HybridBlock):
    """Group normalisation of input (N, C, ...): the channels form ``num_groups`` groups,
    each (sample, group) normalised with its own statistics, then scaled and shifted by
    ``gamma``/``beta`` of shape (num_groups,) — one value per group, as MXNet 1.x (PyTorch
    and MXNet 2 use one per channel). Same shape out.
    """

    def __init__(self, num_groups: int = 1, epsilon: float = 1e-5, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 prefix=None, params=None) -> None:
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "num_groups": num_groups, "center": center,
                        "scale": scale}
        self._num_groups = num_groups
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        with self.name_scope():
            self.gamma = self.params.get("gamma", grad_req="write" if scale else "null",
                                         shape=(num_groups,), init=gamma_initializer,
                                         allow_deferred_init=True)
            self.beta = self.params.get("beta", grad_req="write" if center else "null",
                                        shape=(num_groups,), init=beta_initializer,
                                        allow_deferred_init=True)

    def hybrid_forward(self, F, data, gamma, beta):
        return F.GroupNorm(data, gamma=gamma, beta=beta, num_groups=self._num_groups,
                           eps=self._epsilon)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_kwargs_repr(self._kwargs)})"
