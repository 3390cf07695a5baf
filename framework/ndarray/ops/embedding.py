"""``Embedding`` (MXNet's operator): rows of a weight matrix looked up by index.

The lookup is one operator with the indices as its first input (their conversion to
row positions happens in its ``forward``, so a hybridized block captures it). Its
gradient is the scatter-add of the output gradient's rows into a zero matrix of the
weight's shape (repeated indices add up), and the gradient of that scatter is the
same gather again: any order. The indices get no gradient.
"""
from __future__ import annotations

from typing import Optional

import numpy
from numpy.typing import DTypeLike

from ..ndarray import NDArray
from .checks import check_array, is_int, on_data_device, write_out
from .index import _IndexedGather, _positions

__all__ = ["Embedding"]


class EmbeddingLookup(_IndexedGather):
    """weight[clip(int(data), 0, input_dim - 1)]: inputs (data, weight)."""

    name = "Embedding"
    data_input = 1          # the gathered array: the weight
    index_input = 0

    def __init__(self, input_dim: int) -> None:
        self.input_dim = input_dim

    def _key(self, xp, weight, data):
        idx = _positions(xp, data)           # int64, truncated toward zero
        return (xp.clip(idx, 0, self.input_dim - 1),)


@on_data_device
def Embedding(data: NDArray, weight: NDArray, input_dim: int, output_dim: int,  # noqa: N802
              dtype: DTypeLike = "float32", sparse_grad: bool = False,
              name: Optional[str] = None, *, out: Optional[NDArray] = None) -> NDArray:
    """weight[data]: data (any shape) of indices, weight (input_dim, output_dim) ->
    output data.shape + (output_dim,), with the weight's dtype.

    Indices may be floats (MXNet passes float32 indices): they are truncated toward
    zero, and, as in MXNet, indices outside [0, input_dim) are CLIPPED to the
    nearest valid row (-1 reads row 0, input_dim + 5 reads row input_dim - 1)
    instead of raising. Differentiable in ``weight`` (to any order), not in ``data``.

    ``dtype`` is MXNet's type hint for a weight of unknown type; as in MXNet, a weight
    whose dtype is known wins: the output has the weight's dtype.
    ``sparse_grad`` is accepted for MXNet compatibility: this library has no
    row_sparse storage, so the weight gradient is always dense (the same values).
    ``name`` is accepted for MXNet compatibility and ignored.
    """
    check_array(data, "Embedding")
    check_array(weight, "Embedding")
    for what, value in (("input_dim", input_dim), ("output_dim", output_dim)):
        if not is_int(value) or value < 1:
            raise ValueError(f"operator Embedding: {what} must be a positive int, got {value!r}")
    if weight.shape != (input_dim, output_dim):
        raise ValueError(f"operator Embedding: weight of shape {weight.shape} does not match "
                         f"input_dim={input_dim}, output_dim={output_dim}; expected shape "
                         f"{(input_dim, output_dim)}")
    try:
        numpy.dtype(dtype)
    except TypeError:
        raise TypeError(f"operator Embedding: dtype {dtype!r} is not a dtype") from None
    if numpy.dtype(data.dtype).kind not in "iuf":
        raise TypeError(f"operator Embedding: data must hold indices (integers or floats), got "
                        f"dtype {numpy.dtype(data.dtype).name} (shape {data.shape})")
    if data._ctx is not weight._ctx:
        raise ValueError(f"operator Embedding: the index array is on {data._ctx}, the weight "
                         f"(shape {weight.shape}) on {weight._ctx}; move it with as_in_context()")
    return write_out(EmbeddingLookup(int(input_dim))(data, weight), out, "Embedding")
