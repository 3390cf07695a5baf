"""The OpenBLAS that NumPy loaded, for the few host operations NumPy does slowly.

NumPy copies a transposed matrix element by element in the destination's order,
reading the source with a long stride: (3,200 x 128) float32 to its transpose took
1.14 ms here, where OpenBLAS's blocked ``somatcopy`` takes 0.29 ms. And an update
``w -= lr * g`` is two NumPy passes on one core, where OpenBLAS's ``saxpy`` makes one
pass on all of its threads (MLP's 784 x 256 weight: 113 against 24 us). The
convolutions' layout moves and the optimizers' updates call these through ctypes:

- ``transpose_into(src, dst)``: ``dst[...] = src.T`` for 2-D arrays;
- ``axpby(alpha, x, beta, y)``: ``y = alpha * x + beta * y`` in place (``beta=1``:
  ``saxpy``);
- ``gemm(alpha, a, b, beta, c)``: ``c = alpha * a @ b + beta * c`` on views as they lie,
  so that products accumulate into one output (NumPy's ``matmul`` cannot): the
  stride-1 convolutions' shifted products (``ndarray/ops/conv.py``).

Each returns False, having done nothing, unless the library was found, the arrays
are NumPy float32 or float64 arrays of one dtype, C-contiguous (``gemm``: rows or
columns contiguous), and large enough to beat the ctypes call (about 7 us; ``gemm``
has no minimum, its callers are large); the caller then does the NumPy operation.
Results equal NumPy's (a copy is a copy; an update may differ in the last bit, as
OpenBLAS fuses its multiply and add; a product to rounding). The library is looked
up once, in the files this process mapped (``/proc/self/maps``), under the names of
NumPy's wheels (``scipy_openblas``, 64-bit integers) and of a plain OpenBLAS.
``FRAMEWORK_HOST_BLAS=off`` (read at import) or ``ENABLED = False`` turns it all off.
Ground floor: imports nothing from the framework.
"""
from __future__ import annotations

import ctypes
import os
from typing import Optional

import numpy

__all__ = ["ENV_VAR", "applies", "axpby", "gemm", "openblas", "transpose_into"]

ENV_VAR = "FRAMEWORK_HOST_BLAS"
ENABLED = os.environ.get(ENV_VAR, "").strip().lower() not in ("off", "0", "no", "false")

# elements from which the library's call beats NumPy's (measured here, float32)
TRANSPOSE_MIN = 1 << 15
AXPY_MIN = 1 << 14

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_PREFIXES = (("scipy_cblas_", "scipy_"), ("cblas_", ""))      # (CBLAS, plain) name prefixes
_SUFFIXES = ("64_", "_64", "")                                  # ILP64 first, then LP64


class _Library:
    """The functions found in one OpenBLAS file."""

    def __init__(self, lib: ctypes.CDLL, cblas: str, plain: str, suffix: str) -> None:
        index = ctypes.c_int64 if suffix else ctypes.c_int
        self.path = lib._name
        self.omatcopy, self.axpby, self.axpy, self.gemm = {}, {}, {}, {}
        for code, real in (("s", ctypes.c_float), ("d", ctypes.c_double)):
            f = getattr(lib, f"{cblas}{code}gemm{suffix}")
            f.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, index, index, index, real,
                          ctypes.c_void_p, index, ctypes.c_void_p, index, real,
                          ctypes.c_void_p, index]
            f.restype = None
            self.gemm[code] = f
            f = getattr(lib, f"{cblas}{code}omatcopy{suffix}")
            f.argtypes = [ctypes.c_int, ctypes.c_int, index, index, real, ctypes.c_void_p,
                          index, ctypes.c_void_p, index]
            f.restype = None
            self.omatcopy[code] = f
            for table, name in ((self.axpby, "axpby"), (self.axpy, "axpy")):
                f = getattr(lib, f"{cblas}{code}{name}{suffix}")
                f.argtypes = ([index, real, ctypes.c_void_p, index]
                              + ([real] if name == "axpby" else []) + [ctypes.c_void_p, index])
                f.restype = None
                table[code] = f
        self.get_num_threads = None
        for name in (f"{plain}openblas_get_num_threads{suffix}", "openblas_get_num_threads"):
            f = getattr(lib, name, None)
            if f is not None:
                f.restype = ctypes.c_int
                self.get_num_threads = f
                break


_found = {"done": False, "library": None}


def _mapped_openblas_paths():
    """The OpenBLAS files this process mapped, NumPy's own first (``numpy.libs`` of its
    wheel, or a file under NumPy's folder): SciPy's wheel maps a second OpenBLAS, whose
    threads would then spin beside NumPy's."""
    paths = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rsplit(None, 1)[-1] if "/" in line else ""
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:
        pass
    home = os.path.dirname(os.path.abspath(numpy.__file__))
    numpys = (home + os.sep, home + ".libs" + os.sep)
    return sorted(paths, key=lambda path: not path.startswith(numpys))


def openblas() -> Optional[_Library]:
    """The OpenBLAS NumPy loaded (its ctypes functions), or None; looked up once."""
    if not _found["done"]:
        numpy.ones((2, 2)) @ numpy.ones((2, 2))        # NumPy loads its BLAS by now anyway
        for path in _mapped_openblas_paths():
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for (cblas, plain), suffix in ((p, s) for p in _PREFIXES for s in _SUFFIXES):
                if hasattr(lib, f"{cblas}somatcopy{suffix}") and \
                        hasattr(lib, f"{cblas}saxpby{suffix}"):
                    _found["library"] = _Library(lib, cblas, plain, suffix)
                    break
            if _found["library"] is not None:
                break
        _found["done"] = True
    return _found["library"]


_CODES = {numpy.dtype(numpy.float32): "s", numpy.dtype(numpy.float64): "d"}   # BLAS prefixes


def _code(*arrays) -> Optional[str]:
    """'s' or 'd' when every array is a C-contiguous NumPy array of that one dtype."""
    dtype = arrays[0].dtype
    for a in arrays:
        if type(a) is not numpy.ndarray or a.dtype != dtype or not a.flags.c_contiguous:
            return None
    return _CODES.get(dtype)


def _address(a) -> int:
    """The address of a NumPy array's first element (``a.ctypes.data`` costs 40% more)."""
    return a.__array_interface__["data"][0]


def transpose_into(src, dst) -> bool:
    """``dst[...] = src.T`` for a 2-D ``src`` (r, c) and ``dst`` (c, r), by OpenBLAS's
    blocked copy; False (nothing done) where it does not apply (see the module)."""
    if not ENABLED or src.size < TRANSPOSE_MIN or src.ndim != 2 \
            or dst.shape != src.shape[::-1]:
        return False
    code = _code(src, dst)
    lib = openblas() if code is not None else None
    if lib is None:
        return False
    rows, cols = src.shape
    lib.omatcopy[code](_ROW_MAJOR, _TRANS, rows, cols, 1.0, _address(src), cols,
                       _address(dst), rows)
    return True


def _operand(a):
    """(transposed, leading dimension) of a 2-D NumPy array that the BLAS reads as it
    lies: rows contiguous (any row stride, a view of a wider matrix), or columns
    contiguous (a transposed view); None otherwise."""
    if type(a) is not numpy.ndarray or a.ndim != 2:
        return None
    item, (s0, s1), (r, c) = a.itemsize, a.strides, a.shape
    if (s1 == item or c == 1) and s0 % item == 0 and s0 >= c * item:
        return False, max(s0 // item, c, 1)
    if (s0 == item or r == 1) and s1 % item == 0 and s1 >= r * item:
        return True, max(s1 // item, r, 1)
    return None


def gemm(alpha: float, a, b, beta: float, c) -> bool:
    """``c = alpha * a @ b + beta * c`` in place for 2-D float32/float64 arrays of one
    dtype that the BLAS reads as they lie (``a`` and ``b``: rows or columns contiguous,
    with any stride between them: views of a wider matrix, or transposed views; ``c``:
    rows contiguous), ``c`` not overlapping ``a`` or ``b``. With ``beta`` 1 the product
    accumulates into ``c``, which NumPy's ``matmul`` cannot. False (nothing done)
    where it does not apply."""
    if not ENABLED or a.dtype != b.dtype or a.dtype != c.dtype:
        return False
    code = _CODES.get(a.dtype)
    ops = (_operand(a), _operand(b), _operand(c))
    if code is None or None in ops or ops[2][0] or not c.flags.writeable \
            or openblas() is None:
        return False
    (m, k), (k2, n) = a.shape, b.shape
    if k2 != k or c.shape != (m, n):
        raise ValueError(f"gemm: shapes {a.shape} @ {b.shape} -> {c.shape} do not fit")
    (ta, lda), (tb, ldb), (_, ldc) = ops
    if m and n:
        _found["library"].gemm[code](_ROW_MAJOR, _TRANS if ta else _NO_TRANS,
                                     _TRANS if tb else _NO_TRANS, m, n, k, alpha, _address(a),
                                     lda, _address(b), ldb, beta, _address(c), ldc)
    return True


def _axpy_code(arrays) -> Optional[str]:
    """``_code`` of arrays of one shape that ``axpby`` applies to, else None."""
    shape = arrays[0].shape
    if not ENABLED or arrays[0].size < AXPY_MIN or any(a.shape != shape for a in arrays):
        return None
    code = _code(*arrays)
    return code if code is not None and openblas() is not None else None


def applies(*arrays) -> bool:
    """Whether ``axpby`` applies to these arrays (of one shape): see the module."""
    return _axpy_code(arrays) is not None


def axpby(alpha: float, x, beta: float, y) -> bool:
    """``y = alpha * x + beta * y`` in place for arrays of one shape, in one pass over
    OpenBLAS's threads; False (nothing done) where it does not apply (see the module)."""
    code = _axpy_code((x, y))
    if code is None:
        return False
    lib = _found["library"]
    if beta == 1.0:
        lib.axpy[code](y.size, alpha, _address(x), 1, _address(y), 1)
    else:
        lib.axpby[code](y.size, alpha, _address(x), 1, beta, _address(y), 1)
    return True
