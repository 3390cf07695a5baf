"""``framework.sym.linalg``: MXNet 1.x's ``mx.sym.linalg`` products as graph nodes
(``gemm``: alpha op(A) op(B) + beta C; ``gemm2``: alpha op(A) op(B); batched over the
leading axes, as ``nd.linalg``)."""
from __future__ import annotations

from .symbol import op_function

__all__ = ["gemm", "gemm2"]

gemm = op_function("gemm", "_linalg_gemm")
gemm2 = op_function("gemm2", "_linalg_gemm2")
