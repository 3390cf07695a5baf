"""Convolution layers (MXNet 1.x ``gluon.nn``): ``Conv1D``, ``Conv2D``, ``Conv3D`` and
``Conv1DTranspose``, ``Conv2DTranspose``, ``Conv3DTranspose``.

Thin layers: a ``weight`` and an optional ``bias`` Parameter, the input channel
count inferred from the first input when ``in_channels=0``, and one call of
``nd.Convolution`` / ``nd.Deconvolution`` (which carry the gradient rules),
followed by an optional ``Activation``.

Weight shapes (MXNet's): convolution (channels, in_channels/groups, *kernel),
channel-last layouts (channels, *kernel, in_channels/groups); transposed
convolution (in_channels, channels/groups, *kernel), channel-last
(in_channels, *kernel, channels/groups). Bias: (channels,).
"""
from __future__ import annotations

import numbers
from typing import Optional, Sequence, Tuple, Union

from .. import ndarray as _nd
from ..block import HybridBlock
from ..ndarray.ops.conv import convolution_for_pooling, convolution_relu
from .activation import fuses_relu, layer_activation, relu_deferred

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
           "Conv3DTranspose"]

IntOrTuple = Union[int, Sequence[int]]


def _tuple(value, n: int, layer: str, what: str) -> Tuple[int, ...]:
    """An int (repeated n times) or n ints, as a tuple (MXNet's layer arguments)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * n
    try:
        values = tuple(value)
    except TypeError:
        values = None
    if values is None or len(values) != n or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{layer}: {what} must be a number or a list of {n} ints, "
                         f"got {value!r}")
    return tuple(int(v) for v in values)


class _Conv(HybridBlock):
    """An n-D (transposed) convolution layer; see the subclasses.

    ``op_name``: 'Convolution' or 'Deconvolution'; ``adj``: the transposed
    convolution's output padding.
    """

    _layouts: Tuple[str, ...] = ()
    _transposed = False

    def __init__(self, channels: int, kernel_size: IntOrTuple, strides: IntOrTuple,
                 padding: IntOrTuple, dilation: IntOrTuple, groups: int, layout: str,
                 in_channels: int = 0, activation: Optional[str] = None, use_bias: bool = True,
                 weight_initializer=None, bias_initializer="zeros",
                 op_name: str = "Convolution", adj: Optional[IntOrTuple] = None,
                 prefix: Optional[str] = None, params=None) -> None:
        name = type(self).__name__
        n = len(self._layouts[0]) - 2
        if layout not in self._layouts:
            raise ValueError(f"{name}: only supports {' and '.join(map(repr, self._layouts))} "
                             f"layout for now, got {layout!r}")
        kernel_size = _tuple(kernel_size, n, name, "kernel_size")
        if not isinstance(channels, numbers.Integral) or channels < 1:
            raise ValueError(f"{name}: channels must be a positive int, got {channels!r}")
        if not isinstance(groups, numbers.Integral) or groups < 1 or channels % groups:
            raise ValueError(f"{name}: groups={groups!r} must be a positive int dividing "
                             f"channels={channels}")
        if not isinstance(in_channels, numbers.Integral) or in_channels < 0 or \
                (in_channels and in_channels % groups):
            raise ValueError(f"{name}: in_channels={in_channels!r} must be 0 (inferred) or a "
                             f"positive multiple of groups={groups}")
        super().__init__(prefix=prefix, params=params)
        with self.name_scope():
            self._channels = int(channels)
            self._in_channels = int(in_channels)
            self._op_name = op_name
            self._kwargs = {
                "kernel": kernel_size, "stride": _tuple(strides, n, name, "strides"),
                "dilate": _tuple(dilation, n, name, "dilation"),
                "pad": _tuple(padding, n, name, "padding"), "num_filter": self._channels,
                "num_group": int(groups), "no_bias": not use_bias, "layout": layout}
            if adj is not None:
                self._kwargs["adj"] = _tuple(adj, n, name, "output_padding")
            self.weight = self.params.get("weight", shape=self._weight_shape(self._in_channels),
                                          init=weight_initializer, allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(self._channels,),
                                            init=bias_initializer, allow_deferred_init=True)
            else:
                self.bias = None
            self.act = layer_activation(activation)

    def _weight_shape(self, in_channels: int) -> Tuple[int, ...]:
        """MXNet's weight shape for ``in_channels`` input channels (0: unknown)."""
        kernel, groups = self._kwargs["kernel"], self._kwargs["num_group"]
        if self._transposed:
            rows, per_group = in_channels, self._channels // groups
        else:
            rows, per_group = self._channels, in_channels // groups
        if self._kwargs["layout"].endswith("C"):
            return (rows,) + kernel + (per_group,)
        return (rows, per_group) + kernel

    def infer_shape(self, x, *args) -> None:
        layout = self._kwargs["layout"]
        if x.ndim != len(layout):
            raise ValueError(f"input of shape {x.shape} is not {len(layout)}-D ({layout})")
        in_channels = x.shape[layout.find("C")]
        groups = self._kwargs["num_group"]
        if in_channels % groups:
            raise ValueError(f"input of shape {x.shape} ({layout}) has {in_channels} channels, "
                             f"not divisible by groups={groups}")
        self.weight.shape = self._weight_shape(in_channels)

    def _fuses_relu(self, F) -> bool:
        """Whether the call runs its relu inside the convolution's operator (one node)."""
        return F is _nd and self._op_name == "Convolution" and fuses_relu(self.act)

    def hybrid_forward(self, F, x, weight, bias=None):
        act = self.act
        if self._fuses_relu(F):
            if not relu_deferred(self):
                return convolution_relu(x, weight, bias, **self._kwargs)   # one graph node
            # its Sequential runs the relu after the max pooling, which reads this output
            # in the convolution's own memory order
            return convolution_for_pooling(x, weight, bias, **self._kwargs)
        op = getattr(F, self._op_name)
        if bias is None:
            out = op(x, weight, name="fwd", **self._kwargs)
        else:
            out = op(x, weight, bias, name="fwd", **self._kwargs)
        if act is not None:
            out = act(out)
        return out

    def _alias(self) -> str:
        return "conv"

    def __repr__(self) -> str:
        kw = self._kwargs
        n = len(kw["kernel"])
        s = f"{type(self).__name__}({self._mapping()}, kernel_size={kw['kernel']}, " \
            f"stride={kw['stride']}"
        if kw["pad"] != (0,) * n:
            s += f", padding={kw['pad']}"
        if kw["dilate"] != (1,) * n:
            s += f", dilation={kw['dilate']}"
        if kw.get("adj", (0,) * n) != (0,) * n:
            s += f", output_padding={kw['adj']}"
        if kw["num_group"] != 1:
            s += f", groups={kw['num_group']}"
        if self.bias is None:
            s += ", bias=False"
        if self.act:
            s += f", {self.act}"
        return s + ")"

    def _mapping(self) -> str:
        """'in -> out' as MXNet prints it: input channels per group (None while
        unknown) -> channels."""
        shape = self.weight.shape
        per_group = shape[-1] if self._kwargs["layout"].endswith("C") else shape[1]
        return f"{per_group if per_group else None} -> {shape[0]}"


class _ConvTranspose(_Conv):
    _transposed = True

    def __init__(self, channels, kernel_size, strides, padding, output_padding, dilation,
                 groups, layout, activation, use_bias, weight_initializer, bias_initializer,
                 in_channels, **kwargs) -> None:
        n = len(self._layouts[0]) - 2
        output_padding = _tuple(output_padding, n, type(self).__name__, "output_padding")
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, op_name="Deconvolution", adj=output_padding, **kwargs)
        self.outpad = output_padding

    def _mapping(self) -> str:
        """'in_channels -> channels per group' (the weight's first and second dimensions)."""
        shape = self.weight.shape
        per_group = shape[-1] if self._kwargs["layout"].endswith("C") else shape[1]
        return f"{shape[0] if shape[0] else None} -> {per_group}"


class Conv1D(_Conv):
    """1-D convolution: input (N, in_channels, W) -> (N, channels, out_W) (layout 'NCW'),
    out_W = floor((W + 2*padding - dilation*(kernel_size-1) - 1) / strides) + 1.

    Weight (channels, in_channels/groups, kernel_size), bias (channels,).
    ``in_channels=0`` is inferred from the first input.
    """

    _layouts = ("NCW",)

    def __init__(self, channels: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: IntOrTuple = 0, dilation: IntOrTuple = 1, groups: int = 1,
                 layout: str = "NCW", activation: Optional[str] = None, use_bias: bool = True,
                 weight_initializer=None, bias_initializer="zeros", in_channels: int = 0,
                 **kwargs) -> None:
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, **kwargs)


class Conv2D(_Conv):
    """2-D convolution: input (N, in_channels, H, W) -> (N, channels, out_H, out_W)
    (layout 'NCHW'; 'NHWC' puts channels last), out = floor((size + 2*padding -
    dilation*(kernel_size-1) - 1) / strides) + 1 per axis.

    Weight (channels, in_channels/groups, kh, kw) ('NHWC': (channels, kh, kw,
    in_channels/groups)), bias (channels,). ``in_channels=0`` is inferred from the
    first input.
    """

    _layouts = ("NCHW", "NHWC")

    def __init__(self, channels: int, kernel_size: IntOrTuple, strides: IntOrTuple = (1, 1),
                 padding: IntOrTuple = (0, 0), dilation: IntOrTuple = (1, 1), groups: int = 1,
                 layout: str = "NCHW", activation: Optional[str] = None, use_bias: bool = True,
                 weight_initializer=None, bias_initializer="zeros", in_channels: int = 0,
                 **kwargs) -> None:
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, **kwargs)


class Conv3D(_Conv):
    """3-D convolution: input (N, in_channels, D, H, W) -> (N, channels, out_D, out_H,
    out_W) (layout 'NCDHW'; 'NDHWC' puts channels last); output sizes as ``Conv2D``.

    Weight (channels, in_channels/groups, kd, kh, kw) ('NDHWC': (channels, kd, kh, kw,
    in_channels/groups)), bias (channels,).
    """

    _layouts = ("NCDHW", "NDHWC")

    def __init__(self, channels: int, kernel_size: IntOrTuple,
                 strides: IntOrTuple = (1, 1, 1), padding: IntOrTuple = (0, 0, 0),
                 dilation: IntOrTuple = (1, 1, 1), groups: int = 1, layout: str = "NCDHW",
                 activation: Optional[str] = None, use_bias: bool = True,
                 weight_initializer=None, bias_initializer="zeros", in_channels: int = 0,
                 **kwargs) -> None:
        super().__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, **kwargs)


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution: (N, in_channels, W) -> (N, channels, out_W) ('NCW'),
    out_W = (W-1)*strides - 2*padding + dilation*(kernel_size-1) + output_padding + 1.

    Weight (in_channels, channels/groups, kernel_size), bias (channels,).
    """

    _layouts = ("NCW",)

    def __init__(self, channels: int, kernel_size: IntOrTuple, strides: IntOrTuple = 1,
                 padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                 dilation: IntOrTuple = 1, groups: int = 1, layout: str = "NCW",
                 activation: Optional[str] = None, use_bias: bool = True,
                 weight_initializer=None, bias_initializer="zeros", in_channels: int = 0,
                 **kwargs) -> None:
        super().__init__(channels, kernel_size, strides, padding, output_padding, dilation,
                         groups, layout, activation, use_bias, weight_initializer,
                         bias_initializer, in_channels, **kwargs)


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution: (N, in_channels, H, W) -> (N, channels, out_H, out_W)
    ('NCHW'; or 'NHWC'), out = (size-1)*strides - 2*padding + dilation*(kernel_size-1)
    + output_padding + 1 per axis.

    Weight (in_channels, channels/groups, kh, kw) ('NHWC': (in_channels, kh, kw,
    channels/groups)), bias (channels,).
    """

    _layouts = ("NCHW", "NHWC")

    def __init__(self, channels: int, kernel_size: IntOrTuple, strides: IntOrTuple = (1, 1),
                 padding: IntOrTuple = (0, 0), output_padding: IntOrTuple = (0, 0),
                 dilation: IntOrTuple = (1, 1), groups: int = 1, layout: str = "NCHW",
                 activation: Optional[str] = None, use_bias: bool = True,
                 weight_initializer=None, bias_initializer="zeros", in_channels: int = 0,
                 **kwargs) -> None:
        super().__init__(channels, kernel_size, strides, padding, output_padding, dilation,
                         groups, layout, activation, use_bias, weight_initializer,
                         bias_initializer, in_channels, **kwargs)


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution: (N, in_channels, D, H, W) -> (N, channels, out_D,
    out_H, out_W) ('NCDHW'; or 'NDHWC'); output sizes as ``Conv2DTranspose``.

    Weight (in_channels, channels/groups, kd, kh, kw), bias (channels,).
    """

    _layouts = ("NCDHW", "NDHWC")

    def __init__(self, channels: int, kernel_size: IntOrTuple,
                 strides: IntOrTuple = (1, 1, 1), padding: IntOrTuple = (0, 0, 0),
                 output_padding: IntOrTuple = (0, 0, 0), dilation: IntOrTuple = (1, 1, 1),
                 groups: int = 1, layout: str = "NCDHW", activation: Optional[str] = None,
                 use_bias: bool = True, weight_initializer=None, bias_initializer="zeros",
                 in_channels: int = 0, **kwargs) -> None:
        super().__init__(channels, kernel_size, strides, padding, output_padding, dilation,
                         groups, layout, activation, use_bias, weight_initializer,
                         bias_initializer, in_channels, **kwargs)
