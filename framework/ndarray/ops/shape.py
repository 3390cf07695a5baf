"""Shape operators: reshape and friends. Outputs are views where NumPy makes them."""
from __future__ import annotations

from typing import Sequence

from ..ndarray import NDArray
from ..operator import Operator

__all__ = ["reshape"]


class Reshape(Operator):
    """(..) -> ``shape`` with the same number of elements; a view of the input."""

    name = "reshape"
    is_view = True

    def __init__(self, shape) -> None:
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"operator reshape: cannot reshape an array of shape {x.shape} "
                             f"({x.size} elements) into shape {self.shape}") from None

    def backward(self, gy):
        return Reshape(self.in_shape)(gy)


def reshape(data: NDArray, shape: Sequence[int] = None, reverse: bool = False, **kwargs) -> NDArray:
    """``data`` with a new shape (a view); -1 infers one dimension."""
    if shape is None:
        shape = kwargs.pop("newshape")
    if isinstance(shape, int):
        shape = (shape,)
    return Reshape(shape)(data)
