"""Activation layers (MXNet 1.x ``gluon.nn`` activations): ``Activation``, ``LeakyReLU``,
``PReLU``, ``ELU``, ``SELU``, ``GELU``, ``Swish``, ``SiLU``.

Each is one call into an ``nd`` operator (``Activation``, ``LeakyReLU``, ``sigmoid``),
which carries the gradient rule; input and output have the same shape.
"""
from __future__ import annotations

import threading
from typing import Optional

from .. import initializer as _init
from ..block import HybridBlock

__all__ = ["Activation", "LeakyReLU", "PReLU", "ELU", "SELU", "Swish", "GELU", "SiLU"]


class Activation(HybridBlock):
    """``nd.Activation(x, act_type=activation)``: 'relu', 'sigmoid', 'tanh', 'softrelu',
    'softsign' (also 'log_sigmoid', 'mish'). The default prefix is the activation's
    name (``relu0_``), as in MXNet."""

    def __init__(self, activation: str, **kwargs) -> None:
        self._act_type = activation
        super().__init__(**kwargs)

    def _alias(self) -> str:
        return self._act_type

    def hybrid_forward(self, F, x):
        return F.Activation(x, act_type=self._act_type, name="fwd")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._act_type})"


def layer_activation(activation: Optional[str]) -> Optional["Activation"]:
    """The ``Activation`` block a layer's ``activation=`` argument names (prefixed with
    the name, as MXNet's Dense and Conv layers make it), or None."""
    return None if activation is None else Activation(activation, prefix=activation + "_")


def fuses_relu(act: Optional[HybridBlock]) -> bool:
    """Whether a layer may run its ``act`` block as part of its own operator: a plain
    relu whose call nobody watches (no hooks, e.g. ``summary``'s), so that skipping the
    block's call changes nothing but the cost (one graph node instead of two)."""
    return type(act) is Activation and act._act_type == "relu" \
        and not act._forward_hooks and not act._forward_pre_hooks


class _Deferral(threading.local):
    layer = None           # the layer whose fused relu its Sequential runs after the next block


DEFERRAL = _Deferral()


def relu_deferred(layer: HybridBlock) -> bool:
    """Whether ``layer`` must leave out its fused relu in this call: a Sequential runs
    it after the max pooling that follows (see ``sequential.py``)."""
    return DEFERRAL.layer is layer


class LeakyReLU(HybridBlock):
    """x if x > 0 else alpha * x; ``alpha`` >= 0."""

    def __init__(self, alpha: float, **kwargs) -> None:
        if not alpha >= 0:
            raise ValueError(f"LeakyReLU: slope coefficient alpha must be no less than 0, "
                             f"got {alpha!r}")
        super().__init__(**kwargs)
        self._alpha = alpha

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="leaky", slope=self._alpha, name="fwd")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._alpha})"


class PReLU(HybridBlock):
    """x if x > 0 else alpha * x with a learned ``alpha`` of shape (in_channels,):
    one slope (in_channels=1), or one per channel along axis 1 of the input."""

    def __init__(self, alpha_initializer=_init.Constant(0.25), in_channels: int = 1,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        with self.name_scope():
            self.alpha = self.params.get("alpha", shape=(in_channels,), init=alpha_initializer)

    def hybrid_forward(self, F, x, alpha):
        return F.LeakyReLU(x, gamma=alpha, act_type="prelu", name="fwd")


class ELU(HybridBlock):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    def __init__(self, alpha: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self._alpha = alpha

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="elu", slope=self._alpha)


class SELU(HybridBlock):
    """scale * (x if x > 0 else alpha * (exp(x) - 1)), scale ~ 1.0507, alpha ~ 1.6733."""

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type="selu", name="fwd")


class GELU(HybridBlock):
    """x * Phi(x) (``approximation='erf'``, exact), or its tanh approximation
    0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))) (``'tanh'``)."""

    def __init__(self, approximation: str = "erf", **kwargs) -> None:
        if approximation not in ("erf", "tanh"):
            raise ValueError(f"GELU: unsupported approximation {approximation!r}; supported "
                             f"values are 'erf' and 'tanh'")
        # MXNet 1.9.1 names the erf form 'gelu' (so its SymbolBlock loads an export)
        self._act_algorithm = "gelu" if approximation == "erf" else "gelu_tanh"
        super().__init__(**kwargs)

    def hybrid_forward(self, F, x):
        return F.LeakyReLU(x, act_type=self._act_algorithm, name="fwd")


class Swish(HybridBlock):
    """x * sigmoid(beta * x)."""

    def __init__(self, beta: float = 1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self._beta = beta

    def hybrid_forward(self, F, x):
        return x * F.sigmoid(self._beta * x, name="fwd")


class SiLU(HybridBlock):
    """x * sigmoid(x) (Swish with beta = 1)."""

    def hybrid_forward(self, F, x):
        return x * F.sigmoid(x)
