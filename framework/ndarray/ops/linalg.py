"""Matrix products: ``dot``, ``batch_dot`` and the batched GEMMs behind ``nd.linalg``.

Every product is one operator, ``MatMul``: ``op(A) @ op(B)`` over the last two
axes, where ``op`` transposes those two axes when asked, with equal leading
(batch) dimensions. Its gradient is two more ``MatMul``s, so it differentiates
to any order. ``dot`` on N-D arrays reshapes to matrices first (as MXNet does).
"""
from __future__ import annotations

from typing import Optional

from typing import Tuple

from ..ndarray import NDArray
from ..operator import Operator
from .checks import write_out
from .shape import Reshape, SwapAxes

__all__ = ["dot", "batch_dot", "linalg_gemm", "linalg_gemm2"]


def _flags(transpose_a: bool, transpose_b: bool) -> str:
    flags = [f"{name}=True" for name, on in (("transpose_a", transpose_a),
                                             ("transpose_b", transpose_b)) if on]
    return f" ({', '.join(flags)})" if flags else ""


def _check_arrays(name: str, **arrays) -> None:
    for arg, value in arrays.items():
        if not isinstance(value, NDArray):
            raise TypeError(f"operator {name}: {arg} must be an NDArray, "
                            f"got {type(value).__name__}")


class MatMul(Operator):
    """``op(a) @ op(b)`` on the last two axes; leading axes are a batch of equal size.

    (..., m, k) @ (..., k, n) -> (..., m, n), with (..., k, m) for ``a`` when
    ``transpose_a`` and (..., n, k) for ``b`` when ``transpose_b``.
    """

    name = "dot"
    saves_inputs = (0, 1)
    input_users = ((1,), (0,))       # a is read only for b's gradient, and b for a's
    ta = tb = False                  # transpose_a, transpose_b

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False,
                 name: str = "dot") -> None:
        # only what differs from the class defaults is set: one is made per product
        if transpose_a:
            self.ta = True
        if transpose_b:
            self.tb = True
        if name != "dot":
            self.name = name

    def forward(self, a, b):
        sa, sb = a.shape, b.shape
        k_a = sa[-2] if self.ta else sa[-1]
        k_b = sb[-1] if self.tb else sb[-2]
        if k_a != k_b or (len(sa) != 2 or len(sb) != 2) and sa[:-2] != sb[:-2]:
            what = (f"batch dimensions {sa[:-2]} != {sb[:-2]}"
                    if sa[:-2] != sb[:-2] else f"{k_a} != {k_b}")
            raise ValueError(f"operator {self.name}: shapes {a.shape} and {b.shape}"
                             f"{_flags(self.ta, self.tb)} do not align: {what}")
        if len(sa) == 2 and len(sb) == 2:
            # matrices: dot gives matmul's result (the same GEMM) at less cost per call
            return self.xp.dot(a.T if self.ta else a, b.T if self.tb else b)
        if self.ta:
            a = a.swapaxes(-1, -2)       # the array method: xp.swapaxes adds a Python layer
        if self.tb:
            b = b.swapaxes(-1, -2)
        return self.xp.matmul(a, b)

    def backward(self, gy):
        a, b = self.saved_inputs
        wa, wb = self.parents
        ga = gb = None
        ta, tb, name = self.ta, self.tb, self.name
        if wa is not None:    # d op(a) = gy op(b)^T, transposed back when ta
            ga = MatMul(tb, True, name)(b, gy) if ta else MatMul(False, not tb, name)(gy, b)
        if wb is not None:    # d op(b) = op(a)^T gy, transposed back when tb
            gb = MatMul(True, ta, name)(gy, a) if tb else MatMul(not ta, False, name)(a, gy)
        return ga, gb


def _prod(dims) -> int:
    out = 1
    for d in dims:
        out *= int(d)
    return out


def dot(lhs: NDArray, rhs: NDArray, transpose_a: bool = False, transpose_b: bool = False,
        forward_stype=None, *, out: Optional[NDArray] = None) -> NDArray:
    """Dot product as in MXNet.

    1-D . 1-D: the inner product, shape (1,) as in MXNet 1.x. 2-D: the matrix product
    (m, k) . (k, n) -> (m, n). N-D: contracts the last axis of ``lhs`` with the
    first axis of ``rhs``: (a..., k) . (k, b...) -> (a..., b...). With
    ``transpose_a`` the first axis of ``lhs`` is contracted instead
    ((k, a...) -> a...), with ``transpose_b`` the last axis of ``rhs``.
    """
    if type(lhs) is not NDArray or type(rhs) is not NDArray:
        _check_arrays("dot", lhs=lhs, rhs=rhs)
    ls, rs = tuple(lhs._data.shape), tuple(rhs._data.shape)
    if len(ls) == 2 and len(rs) == 2:
        result = MatMul(transpose_a, transpose_b, "dot")(lhs, rhs)
        return result if out is None else write_out(result, out, 'dot')
    if lhs.ndim == 0 or rhs.ndim == 0:
        raise ValueError(f"operator dot: shapes {ls} and {rs}: both inputs need at least one "
                         f"dimension")
    if lhs.ndim == 1 and rhs.ndim == 1:
        if ls != rs:
            raise ValueError(f"operator dot: shapes {ls} and {rs} do not align: "
                             f"{ls[0]} != {rs[0]}")
        result = MatMul(False, False, "dot")(Reshape((1, ls[0]))(lhs), Reshape((rs[0], 1))(rhs))
        # MXNet 1.x: shape (1,), no 0-d arrays
        result = Reshape((1,))(result)
        return write_out(result, out, 'dot')
    # N-D: view each side as a matrix, as MXNet does, then reshape the product
    if transpose_a:
        k_l, l_rest = ls[0], ls[1:]
        a2 = Reshape((k_l, _prod(l_rest)))(lhs)
    else:
        k_l, l_rest = ls[-1], ls[:-1]
        a2 = Reshape((_prod(l_rest), k_l))(lhs)
    if transpose_b:
        k_r, r_rest = rs[-1], rs[:-1]
        b2 = Reshape((_prod(r_rest), k_r))(rhs)
    else:
        k_r, r_rest = rs[0], rs[1:]
        b2 = Reshape((k_r, _prod(r_rest)))(rhs)
    if k_l != k_r:
        raise ValueError(f"operator dot: shapes {ls} and {rs}{_flags(transpose_a, transpose_b)} "
                         f"do not align: {k_l} != {k_r}")
    result = MatMul(transpose_a, transpose_b, "dot")(a2, b2)
    return write_out(Reshape(tuple(l_rest) + tuple(r_rest))(result), out, 'dot')


def batch_dot(lhs: NDArray, rhs: NDArray, transpose_a: bool = False, transpose_b: bool = False,
              forward_stype=None, *, out: Optional[NDArray] = None) -> NDArray:
    """Batched matrix product of 3-D arrays: (B, m, k) . (B, k, n) -> (B, m, n).

    ``transpose_a``/``transpose_b`` transpose the last two axes of each batch item.
    """
    _check_arrays("batch_dot", lhs=lhs, rhs=rhs)
    if lhs.ndim != 3 or rhs.ndim != 3:
        raise ValueError(f"operator batch_dot: shapes {lhs.shape} and {rhs.shape}: both inputs "
                         f"must be 3-D (batch, rows, columns)")
    return write_out(MatMul(transpose_a, transpose_b, "batch_dot")(lhs, rhs), out, 'batch_dot')


def _matrix_axes(name: str, shapes: Tuple[Tuple[int, ...], ...], axis: int) -> int:
    """Check the GEMM inputs and return ``axis`` as a non-negative row axis."""
    ndim = len(shapes[0])
    if ndim < 2 or any(len(s) != ndim for s in shapes):
        raise ValueError(f"operator {name}: input shapes {list(shapes)}: expected arrays with the "
                         f"same number (>= 2) of dimensions")
    if not -ndim <= axis < ndim:
        raise ValueError(f"operator {name}: axis {axis} is out of range for {ndim}-D inputs")
    axis = axis % ndim
    if axis == ndim - 1:
        raise ValueError(f"operator {name}: axis {axis} is the column axis; the row axis must "
                         f"be another one")
    return axis


def _gemm_product(name, A, B, transpose_a, transpose_b, alpha, axis, extra=()):
    axis = _matrix_axes(name, (A.shape, B.shape) + tuple(extra), axis)
    last = A.ndim - 2
    if axis != last:
        A, B = SwapAxes(axis, last)(A), SwapAxes(axis, last)(B)
    out = MatMul(transpose_a, transpose_b, name)(A, B)
    if alpha != 1.0:
        out = out * alpha
    return out, axis, last


def linalg_gemm2(A: NDArray, B: NDArray, transpose_a: bool = False, transpose_b: bool = False,
                 alpha: float = 1.0, axis: int = -2, *, out: Optional[NDArray] = None) -> NDArray:
    """``alpha * op(A) . op(B)``, batched over the leading dimensions (MXNet's linalg.gemm2).

    A: (..., m, k), B: (..., k, n) -> (..., m, n). ``axis`` names the row axis
    (the columns are always the last axis); a non-default axis is equivalent to
    swapping it with axis -2 before and after the product.
    """
    _check_arrays("linalg_gemm2", A=A, B=B)
    result, axis, last = _gemm_product("linalg_gemm2", A, B, transpose_a, transpose_b, alpha, axis)
    return write_out(SwapAxes(axis, last)(result) if axis != last else result, out, 'linalg_gemm2')


def linalg_gemm(A: NDArray, B: NDArray, C: NDArray, transpose_a: bool = False,
                transpose_b: bool = False, alpha: float = 1.0, beta: float = 1.0,
                axis: int = -2, *, out: Optional[NDArray] = None) -> NDArray:
    """``alpha * op(A) . op(B) + beta * C``, batched over the leading dimensions.

    A: (..., m, k), B: (..., k, n), C: (..., m, n) -> (..., m, n); ``axis`` as in gemm2.
    """
    _check_arrays("linalg_gemm", A=A, B=B, C=C)
    result, axis, last = _gemm_product("linalg_gemm", A, B, transpose_a, transpose_b, alpha, axis,
                                    extra=(C.shape,))
    if axis != last:
        result = SwapAxes(axis, last)(result)
    if result.shape != C.shape:
        raise ValueError(f"operator linalg_gemm: C has shape {C.shape}, but op(A) . op(B) of A "
                         f"{A.shape} and B {B.shape}{_flags(transpose_a, transpose_b)} has shape "
                         f"{result.shape}")
    return write_out(result + (C * beta if beta != 1.0 else C), out, 'linalg_gemm')
