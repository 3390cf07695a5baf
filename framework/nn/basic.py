"""Basic layers: ``Dense``, ``Flatten``, ``Lambda``, ``HybridLambda``, ``Identity``,
``Concatenate``, ``HybridConcatenate``, ``Dropout`` and ``Embedding``."""
from __future__ import annotations

import math
import numbers

from .. import ndarray as _nd
from ..block import Block, HybridBlock
from ..ndarray.ops.fully_connected import dense
from .activation import fuses_relu, layer_activation, relu_deferred
from .sequential import HybridSequential, Sequential, output_batch_last

__all__ = ["Dense", "Flatten", "Lambda", "HybridLambda", "Identity", "Concatenate",
           "HybridConcatenate", "Dropout", "Embedding"]


class Dense(HybridBlock):
    """A fully connected layer: ``activation(dot(x, weight.T) + bias)``.

    ``units``: the output size. ``flatten=True`` reads input (N, d1, d2, ...) as
    (N, d1*d2*...) and gives (N, units); ``flatten=False`` applies to the last axis:
    (..., K) -> (..., units). ``in_units=0`` (unknown) is inferred from the first
    input. ``weight`` has shape (units, in_units), ``bias`` (units,).
    ``activation``: a name for ``nn.Activation`` ('relu', 'tanh', ...), or None.
    """

    def __init__(self, units: int, activation=None, use_bias: bool = True, flatten: bool = True,
                 dtype="float32", weight_initializer=None, bias_initializer="zeros",
                 in_units: int = 0, **kwargs) -> None:
        super().__init__(**kwargs)
        self._flatten = flatten
        with self.name_scope():
            self._units = units
            self._in_units = in_units
            self.weight = self.params.get("weight", shape=(units, in_units),
                                          init=weight_initializer, dtype=dtype,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(units,), init=bias_initializer,
                                            dtype=dtype, allow_deferred_init=True)
            else:
                self.bias = None
            self.act = layer_activation(activation)

    _dense_product = True        # a Sequential may have it give its product batch-last

    def infer_shape(self, x, *args) -> None:
        in_units = math.prod(x.shape[1:]) if self._flatten else x.shape[-1]
        self.weight.shape = (self.weight.shape[0], in_units)

    def _fuses_relu(self, F) -> bool:
        """Whether the call runs its relu inside the product's operator (one graph node)."""
        return F is _nd and fuses_relu(self.act)

    def hybrid_forward(self, F, x, weight, bias=None):
        act = self.act
        relu = self._fuses_relu(F)
        if relu and relu_deferred(self):
            act = relu = None            # its Sequential runs it after the max pooling
        batch_last = F is _nd and output_batch_last(self)
        if relu or batch_last:           # one operator (see ``dense``)
            out = dense(x, weight, bias, no_bias=bias is None, num_hidden=self._units,
                        flatten=self._flatten, relu=bool(relu), batch_last=batch_last)
            if relu:
                return out
        else:
            out = F.FullyConnected(x, weight, bias, no_bias=bias is None,
                                   num_hidden=self._units, flatten=self._flatten, name="fwd")
        if act is not None:
            out = act(out)
        return out

    def __repr__(self) -> str:
        shape = self.weight.shape
        layout = f"{shape[1] if shape[1] else None} -> {shape[0]}"
        return f"{type(self).__name__}({layout}, {self.act if self.act else 'linear'})"


class Flatten(HybridBlock):
    """(N, d1, d2, ...) -> (N, d1*d2*...)."""

    def hybrid_forward(self, F, x):
        return F.Flatten(x)

    def __repr__(self) -> str:
        return type(self).__name__


def _nd_function(function, layer: str):
    if isinstance(function, str):
        if not hasattr(_nd, function):
            raise ValueError(f"{layer}: function name {function!r} is not found in "
                             f"framework.nd")
        return getattr(_nd, function), function
    if callable(function):
        return function, getattr(function, "__name__", type(function).__name__)
    raise ValueError(f"{layer}: unrecognized function in lambda: {function!r} of type "
                     f"{type(function).__name__}; expected a callable or the name of an nd "
                     f"function")


class Lambda(Block):
    """Wraps a function as a Block: ``function(*args)``; ``function`` may be the name of
    an ``nd`` function ('tanh')."""

    def __init__(self, function, prefix=None) -> None:
        super().__init__(prefix=prefix)
        self._func_impl, self._func_name = _nd_function(function, "Lambda")

    def forward(self, *args):
        return self._func_impl(*args)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._func_name})"


class HybridLambda(HybridBlock):
    """Wraps ``function(F, x, *args)`` as a HybridBlock; ``function`` may be the name of
    an ``nd`` function ('tanh'), then called as ``F.tanh(x, *args)``."""

    def __init__(self, function, prefix=None) -> None:
        super().__init__(prefix=prefix)
        if isinstance(function, str):
            _nd_function(function, "HybridLambda")      # checks the name
            name = function
            self._func = lambda F, *args: getattr(F, name)(*args)
            self._func_name = function
        elif callable(function):
            self._func = function
            self._func_name = getattr(function, "__name__", type(function).__name__)
        else:
            _nd_function(function, "HybridLambda")       # raises the error

    def hybrid_forward(self, F, x, *args):
        return self._func(F, x, *args)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._func_name})"


class Identity(HybridBlock):
    """Returns its input unchanged (a placeholder, e.g. a skipped branch)."""

    def hybrid_forward(self, F, x):
        return x


class Concatenate(Sequential):
    """Runs every child on the same input and concatenates their outputs along ``axis``."""

    def __init__(self, axis: int = -1, prefix=None, params=None) -> None:
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def _empty_like(self):
        return type(self)(axis=self.axis, prefix=self._prefix)

    def forward(self, x):
        return _nd.concat(*[block(x) for block in self._children.values()], dim=self.axis)


class HybridConcatenate(HybridSequential):
    """The HybridBlock form of ``Concatenate``."""

    def __init__(self, axis: int = -1, prefix=None, params=None) -> None:
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def _empty_like(self):
        return type(self)(axis=self.axis, prefix=self._prefix)

    def hybrid_forward(self, F, x):
        return F.concat(*[block(x) for block in self._children.values()], dim=self.axis)


class Dropout(HybridBlock):
    """Inverted dropout (``nd.Dropout``): in training mode (``autograd.is_training()``,
    decided inside the operator) each element is zeroed with probability ``rate`` and
    the rest scaled by 1 / (1 - rate); in predict mode the input passes unchanged.
    ``axes``: axes along which the mask is shared (variational dropout)."""

    def __init__(self, rate: float, axes=(), **kwargs) -> None:
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
            raise ValueError(f"Dropout: rate must be a number in [0, 1], got {rate!r}")
        super().__init__(**kwargs)
        self._rate = rate
        self._axes = axes

    def hybrid_forward(self, F, x):
        return F.Dropout(x, p=self._rate, axes=self._axes, name="fwd", cudnn_off=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p = {self._rate}, axes={self._axes})"


class Embedding(HybridBlock):
    """Maps indices to rows of ``weight`` (input_dim, output_dim): input of any shape ->
    input.shape + (output_dim,). Indices may be floats; out-of-range ones are clipped,
    as in MXNet (see ``nd.Embedding``).

    ``sparse_grad`` is accepted for MXNet compatibility; there is no row_sparse storage
    here, so the weight's gradient is dense (the same values).
    """

    def __init__(self, input_dim: int, output_dim: int, dtype="float32", weight_initializer=None,
                 sparse_grad: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self._kwargs = {"input_dim": input_dim, "output_dim": output_dim, "dtype": dtype,
                        "sparse_grad": sparse_grad}
        self.weight = self.params.get("weight", shape=(input_dim, output_dim),
                                      init=weight_initializer, dtype=dtype,
                                      allow_deferred_init=True)

    def hybrid_forward(self, F, x, weight):
        return F.Embedding(x, weight, name="fwd", **self._kwargs)

    def __repr__(self) -> str:
        k = self._kwargs
        return f"{type(self).__name__}({k['input_dim']} -> {k['output_dim']}, {k['dtype']})"
