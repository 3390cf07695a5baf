"""``framework.nd.linalg``: MXNet's ``mx.nd.linalg`` namespace (batched matrix products).

``gemm2(A, B)`` is ``alpha * op(A) . op(B)`` and ``gemm(A, B, C)`` adds
``beta * C``; both batch over the leading dimensions and are differentiable to
any order. The same functions are ``nd.linalg_gemm2`` and ``nd.linalg_gemm``.
"""
from __future__ import annotations

from .ndarray import NDArray
from .ops.linalg import linalg_gemm, linalg_gemm2

__all__ = ["gemm", "gemm2"]


def gemm2(A: NDArray, B: NDArray, transpose_a: bool = False, transpose_b: bool = False,
          alpha: float = 1.0, axis: int = -2) -> NDArray:
    """``alpha * op(A) . op(B)``: (..., m, k), (..., k, n) -> (..., m, n).

    ``op`` transposes the last two axes when ``transpose_a``/``transpose_b``;
    ``axis`` is the row axis of the matrices (columns are the last axis).
    """
    return linalg_gemm2(A, B, transpose_a, transpose_b, alpha, axis)


def gemm(A: NDArray, B: NDArray, C: NDArray, transpose_a: bool = False,
         transpose_b: bool = False, alpha: float = 1.0, beta: float = 1.0,
         axis: int = -2) -> NDArray:
    """``alpha * op(A) . op(B) + beta * C``.

    A: (..., m, k), B: (..., k, n), C: (..., m, n) -> (..., m, n); ``axis`` as in gemm2.
    """
    return linalg_gemm(A, B, C, transpose_a, transpose_b, alpha, beta, axis)
