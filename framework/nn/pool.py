"""Pooling layers (MXNet 1.x Gluon's): MaxPool1D/2D/3D, AvgPool1D/2D/3D,
GlobalMaxPool1D/2D/3D and GlobalAvgPool1D/2D/3D.

Each is one call of ``nd.Pooling``, which carries the gradient rule.
"""
from __future__ import annotations

import numbers

from ..block import HybridBlock

__all__ = ["MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
           "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
           "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D"]

_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


class _Pooling(HybridBlock):
    """Common part: the ``nd.Pooling`` arguments, MXNet's repr and the 'pool' prefix."""

    def __init__(self, pool_size, strides, padding, ceil_mode, global_pool, pool_type, layout,
                 count_include_pad=None, **kwargs) -> None:
        name = type(self).__name__
        dims = int(name[-2])
        if layout not in _LAYOUTS[dims]:
            raise ValueError(f"{name}: layout {layout!r} is not valid; only "
                             f"{' and '.join(_LAYOUTS[dims])} layouts are valid for "
                             f"{dims}D Pooling")
        if _is_number(pool_size):
            pool_size = (pool_size,) * dims
        if len(pool_size) != dims:
            raise ValueError(f"{name}: pool_size must be a number or a list of {dims} ints, "
                             f"got {pool_size!r}")
        super().__init__(**kwargs)
        if strides is None:
            strides = pool_size
        if _is_number(strides):
            strides = (strides,) * dims
        if _is_number(padding):
            padding = (padding,) * dims
        self._kwargs = {"kernel": pool_size, "stride": strides, "pad": padding,
                        "global_pool": global_pool, "pool_type": pool_type, "layout": layout,
                        "pooling_convention": "full" if ceil_mode else "valid"}
        if count_include_pad is not None:
            self._kwargs["count_include_pad"] = count_include_pad

    def _alias(self) -> str:
        return "pool"

    def hybrid_forward(self, F, x):
        return F.Pooling(x, name="fwd", **self._kwargs)

    def __repr__(self) -> str:
        kw = self._kwargs
        return (f"{type(self).__name__}(size={kw['kernel']}, stride={kw['stride']}, "
                f"padding={kw['pad']}, ceil_mode={kw['pooling_convention'] == 'full'}, "
                f"global_pool={kw['global_pool']}, pool_type={kw['pool_type']}, "
                f"layout={kw['layout']})")


class MaxPool1D(_Pooling):
    """Max pooling over W: (N, C, W) -> (N, C, out_w) with layout 'NCW' ('NWC' too).

    out_w = floor((W + 2*padding - pool_size) / strides) + 1 (ceil with ``ceil_mode``);
    ``strides`` None means ``pool_size``.
    """

    def __init__(self, pool_size=2, strides=None, padding=0, layout="NCW", ceil_mode=False,
                 **kwargs) -> None:
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout, **kwargs)


class MaxPool2D(_Pooling):
    """Max pooling over H, W: (N, C, H, W) -> (N, C, out_h, out_w) ('NCHW' or 'NHWC')."""

    def __init__(self, pool_size=(2, 2), strides=None, padding=0, layout="NCHW",
                 ceil_mode=False, **kwargs) -> None:
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout, **kwargs)


class MaxPool3D(_Pooling):
    """Max pooling over D, H, W: (N, C, D, H, W) -> (N, C, out_d, out_h, out_w)."""

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False,
                 layout="NCDHW", **kwargs) -> None:
        super().__init__(pool_size, strides, padding, ceil_mode, False, "max", layout, **kwargs)


class AvgPool1D(_Pooling):
    """Average pooling over W; ``count_include_pad`` divides by the window size with
    the padding counted (default), else by the number of real elements."""

    def __init__(self, pool_size=2, strides=None, padding=0, layout="NCW", ceil_mode=False,
                 count_include_pad=True, **kwargs) -> None:
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, **kwargs)


class AvgPool2D(_Pooling):
    """Average pooling over H, W (see AvgPool1D for ``count_include_pad``)."""

    def __init__(self, pool_size=(2, 2), strides=None, padding=0, ceil_mode=False,
                 layout="NCHW", count_include_pad=True, **kwargs) -> None:
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, **kwargs)


class AvgPool3D(_Pooling):
    """Average pooling over D, H, W (see AvgPool1D for ``count_include_pad``)."""

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False,
                 layout="NCDHW", count_include_pad=True, **kwargs) -> None:
        super().__init__(pool_size, strides, padding, ceil_mode, False, "avg", layout,
                         count_include_pad, **kwargs)


class GlobalMaxPool1D(_Pooling):
    """The maximum over all of W: (N, C, W) -> (N, C, 1)."""

    def __init__(self, layout="NCW", **kwargs) -> None:
        super().__init__((1,), None, 0, True, True, "max", layout, **kwargs)


class GlobalMaxPool2D(_Pooling):
    """The maximum over all of H, W: (N, C, H, W) -> (N, C, 1, 1)."""

    def __init__(self, layout="NCHW", **kwargs) -> None:
        super().__init__((1, 1), None, 0, True, True, "max", layout, **kwargs)


class GlobalMaxPool3D(_Pooling):
    """The maximum over all of D, H, W: (N, C, D, H, W) -> (N, C, 1, 1, 1)."""

    def __init__(self, layout="NCDHW", **kwargs) -> None:
        super().__init__((1, 1, 1), None, 0, True, True, "max", layout, **kwargs)


class GlobalAvgPool1D(_Pooling):
    """The mean over all of W: (N, C, W) -> (N, C, 1)."""

    def __init__(self, layout="NCW", **kwargs) -> None:
        super().__init__((1,), None, 0, True, True, "avg", layout, **kwargs)


class GlobalAvgPool2D(_Pooling):
    """The mean over all of H, W: (N, C, H, W) -> (N, C, 1, 1)."""

    def __init__(self, layout="NCHW", **kwargs) -> None:
        super().__init__((1, 1), None, 0, True, True, "avg", layout, **kwargs)


class GlobalAvgPool3D(_Pooling):
    """The mean over all of D, H, W: (N, C, D, H, W) -> (N, C, 1, 1, 1)."""

    def __init__(self, layout="NCDHW", **kwargs) -> None:
        super().__init__((1, 1, 1), None, 0, True, True, "avg", layout, **kwargs)
