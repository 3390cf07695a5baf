"""Elementwise math: y = f(x), same shape; each gradient written with NDArray ops."""
from __future__ import annotations

from ..ndarray import NDArray
from ..operator import Operator

__all__ = ["exp", "log"]


class Exp(Operator):
    name = "exp"
    saves_outputs = (0,)

    def forward(self, x):
        return self.xp.exp(x)

    def backward(self, gy):
        return gy * self.output()


class Log(Operator):
    name = "log"
    saves_inputs = (0,)

    def forward(self, x):
        return self.xp.log(x)

    def backward(self, gy):
        x, = self.saved_inputs
        return gy / x


def exp(data: NDArray) -> NDArray:
    """e ** data, elementwise."""
    return Exp()(data)


def log(data: NDArray) -> NDArray:
    """Natural logarithm, elementwise."""
    return Log()(data)
