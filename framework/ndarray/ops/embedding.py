"""``Embedding`` (MXNet's operator): rows of a weight matrix looked up by index.

The lookup is a gather (``index.GetItem`` on the weight's first axis), so its
gradient is the scatter-add of the output gradient's rows into a zero matrix
of the weight's shape (repeated indices add up), and the gradient of that
scatter is the same gather again: any order. The indices get no gradient.
"""
from __future__ import annotations

from typing import Optional

import numpy
from numpy.typing import DTypeLike

from ..ndarray import NDArray
from .checks import check_array, is_int, on_data_device, write_out
from .index import GetItem, _index_array

__all__ = ["Embedding"]


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
    idx = _index_array(data, weight, "Embedding")       # int64, truncated toward zero
    idx = weight._ctx.xp.clip(idx, 0, input_dim - 1)
    return write_out(GetItem((idx,), False, "Embedding")(weight), out, "Embedding")
