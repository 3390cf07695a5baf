"""Layers that move elements without learning anything (MXNet 1.x Gluon's):
``ReflectionPad2D`` and ``PixelShuffle1D/2D/3D``.

Both are built from differentiable ``nd`` operators (pad; reshape and transpose),
so their gradients differentiate to any order.
"""
from __future__ import annotations

import math
import numbers

from ..block import HybridBlock

__all__ = ["ReflectionPad2D", "PixelShuffle1D", "PixelShuffle2D", "PixelShuffle3D"]


class ReflectionPad2D(HybridBlock):
    """Pad H and W of (N, C, H, W) by reflecting the border (not repeating it):
    (N, C, H + 2p, W + 2p) for an int ``padding`` p, which must be smaller than H and W.
    ``padding`` may also be MXNet's 8 values (before/after for each of the 4 axes)."""

    def __init__(self, padding=0, **kwargs) -> None:
        if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
            padding = (0, 0, 0, 0, padding, padding, padding, padding)
        if len(padding) != 8:
            raise ValueError(f"ReflectionPad2D: padding must be an int or 8 ints (before and "
                             f"after for N, C, H, W), got {padding!r}")
        super().__init__(**kwargs)
        self._padding = tuple(padding)

    def hybrid_forward(self, F, x):
        return F.pad(x, mode="reflect", pad_width=self._padding)


def _factors(factor, dims: int, layer: str):
    try:
        return (int(factor),) * dims
    except TypeError:
        factors = tuple(int(f) for f in factor)
        if len(factors) != dims:
            raise ValueError(f"{layer}: factor must be an int or {dims} ints, got "
                             f"{factor!r}") from None
        return factors


class _PixelShuffle(HybridBlock):
    """Channels (C * f1 * ... * fn) regrouped into f1 x ... x fn blocks of pixels."""

    dims = 0

    def __init__(self, factor, **kwargs) -> None:
        factors = _factors(factor, self.dims, type(self).__name__)
        if any(f < 1 for f in factors):
            raise ValueError(f"{type(self).__name__}: factors must be positive, got {factors}")
        super().__init__(**kwargs)
        self._factors = factors

    def check(self, x) -> None:
        if not hasattr(x, "ndim"):        # a Symbol (F=sym): its shape is not known yet
            return
        name, block = type(self).__name__, math.prod(self._factors)
        if x.ndim != self.dims + 2 or x.shape[1] % block:
            raise ValueError(f"{name}: expected input (N, C*{block}, ...) with {self.dims} "
                             f"spatial dimensions for factors {self._factors}, got shape "
                             f"{x.shape}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._factors})"


class PixelShuffle1D(_PixelShuffle):
    """(N, C*f, W) -> (N, C, W*f): output [n, c, w*f + i] = input [n, c*f + i, w]."""

    dims = 1

    def __init__(self, factor, **kwargs) -> None:
        super().__init__(factor, **kwargs)
        self._factor = self._factors[0]

    def hybrid_forward(self, F, x):
        self.check(x)
        f = self._factor
        x = F.reshape(x, (0, -4, -1, f, 0))         # (N, C, f, W)
        x = F.transpose(x, (0, 1, 3, 2))           # (N, C, W, f)
        return F.reshape(x, (0, 0, -3))            # (N, C, W*f)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._factor})"


class PixelShuffle2D(_PixelShuffle):
    """(N, C*f1*f2, H, W) -> (N, C, H*f1, W*f2), as torch.nn.PixelShuffle for f1 = f2."""

    dims = 2

    def hybrid_forward(self, F, x):
        self.check(x)
        f1, f2 = self._factors
        x = F.reshape(x, (0, -4, -1, f1 * f2, 0, 0))     # (N, C, f1*f2, H, W)
        x = F.reshape(x, (0, 0, -4, f1, f2, 0, 0))       # (N, C, f1, f2, H, W)
        x = F.transpose(x, (0, 1, 4, 2, 5, 3))           # (N, C, H, f1, W, f2)
        return F.reshape(x, (0, 0, -3, -3))              # (N, C, H*f1, W*f2)


class PixelShuffle3D(_PixelShuffle):
    """(N, C*f1*f2*f3, D, H, W) -> (N, C, D*f1, H*f2, W*f3)."""

    dims = 3

    def hybrid_forward(self, F, x):
        self.check(x)
        f1, f2, f3 = self._factors
        x = F.reshape(x, (0, -4, -1, f1 * f2 * f3, 0, 0, 0))   # (N, C, f1*f2*f3, D, H, W)
        x = F.reshape(x, (0, 0, -4, f1, f2 * f3, 0, 0, 0))     # (N, C, f1, f2*f3, D, H, W)
        x = F.reshape(x, (0, 0, 0, -4, f2, f3, 0, 0, 0))       # (N, C, f1, f2, f3, D, H, W)
        x = F.transpose(x, (0, 1, 5, 2, 6, 3, 7, 4))           # (N, C, D, f1, H, f2, W, f3)
        return F.reshape(x, (0, 0, -3, -3, -3))                # (N, C, D*f1, H*f2, W*f3)
