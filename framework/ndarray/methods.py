"""NDArray's operator-backed methods, attached in one explicit install step.

``ndarray.py`` defines the array and its bookkeeping and imports no operator;
the operators import NDArray. This module sits above both and binds to NDArray
the methods that call operators (arithmetic, in-place arithmetic, indexing,
copies, ``x.exp()`` ...), as Chainer's ``install_variable_arithmetics`` does.
``framework.ndarray`` calls ``install()`` once, when it is imported
(``NDArray.backward`` is installed likewise by ``framework.autograd``).
"""
from __future__ import annotations

from .._flags import STATE
from ..context import Context
from . import ops as _ops
from .creation import normalize_dtype
from .ndarray import NDArray, _operand
from .ops import arith as _arith, convert as _convert

__all__ = ["install"]


class _Methods:
    """The methods ``install`` gives NDArray, written here as methods for reading."""

    # ------------------------------------------------------ devices and copies
    def as_in_context(self, context: Context) -> "NDArray":
        """This array on ``context`` (itself if already there); differentiable."""
        if context is self._ctx:
            return self
        return _convert.CopyTo(Context(context))(self)

    def copyto(self, other):
        """Copy into ``other`` (an NDArray, filled in place) or onto a Context."""
        if isinstance(other, Context):
            if other is self._ctx:
                return self.copy()
            return self.as_in_context(other)
        if not isinstance(other, NDArray):
            raise TypeError(f"copyto: expected an NDArray or a Context, got {type(other).__name__}")
        if other.shape != self.shape:
            raise ValueError(f"copyto: shape mismatch, source {self.shape} vs target {other.shape}")
        src = self.as_in_context(other._ctx).astype(other.dtype, copy=False)
        return other._write(src, "copyto")

    def copy(self) -> "NDArray":
        """A deep copy on the same context (differentiable)."""
        return _convert.Copy()(self)

    def astype(self, dtype, copy: bool = True) -> "NDArray":
        """The array converted to ``dtype`` (differentiable for float types)."""
        dtype = normalize_dtype(dtype)
        if not copy and dtype == self._data.dtype:
            return self
        return _convert.Cast(dtype)(self)

    # ------------------------------------------------------------ arithmetic
    # (the binary operators are made by _binary_method below)
    def _binary(self, op, other, reverse=False):
        other = _operand(other)
        if other is None:
            return NotImplemented
        return op()(other, self) if reverse else op()(self, other)

    def __neg__(self):
        ctx = self._ctx
        if (self._node is None or not STATE.recording) and not ctx.device_id:
            y = -self._data               # not recorded: no operator, as the bare array
            return NDArray(ctx.xp.asarray(y) if y.ndim == 0 else y, ctx)
        return _arith.Negative()(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def _inplace(self, op, other, name):
        if not STATE.recording:
            if self._inplace_ufunc(op, other):
                return self
            src = self
        else:
            # op may keep its first input for backward, and self is about to be
            # overwritten: then op gets a copy (``h *= w`` under record)
            src = _convert.Copy()(self) if self._kept_by(op, other) else self
        result = src._binary(op, other)
        if result is NotImplemented:
            return NotImplemented
        if result.shape != self.shape:
            raise ValueError(f"{name}: the result of shape {result.shape} does not fit in place "
                             f"into the array of shape {self.shape}")
        return self._write(result.astype(self.dtype, copy=False), name)

    def _kept_by(self, op, other) -> bool:
        """Whether ``op(self, other)`` would save self for a gradient that is wanted."""
        if 0 not in op.saves_inputs:
            return False
        edges = (self._node, other._node if isinstance(other, NDArray) else None)
        if edges == (None, None):
            return False                       # nothing is recorded at all
        return op.reads_saved_input(op.saves_inputs.index(0), edges)

    def _inplace_ufunc(self, op, other) -> bool:
        """Outside record, let op's ufunc write straight into this array (an SGD step's
        ``w -= lr * w.grad``); False when it cannot (dtype, shape, context), and the
        general path then computes the result or raises a clear error."""
        kind = type(other)
        if kind is NDArray:
            if other._ctx is not self._ctx:
                return False
            other = other._data
        elif kind is not float:
            other = _operand(other)
            if isinstance(other, NDArray):
                if other._ctx is not self._ctx:
                    return False
                other = other._data
            elif other is None or (type(other) is int and self._data.dtype.kind in "iu"):
                return False      # the general path checks the int's range (CuPy would wrap)
        ctx = self._ctx
        try:
            if ctx.device_id:
                with ctx.scope():
                    getattr(ctx.xp, op.ufunc)(self._data, other, out=self._data)
            else:
                getattr(ctx.xp, op.ufunc)(self._data, other, out=self._data)
        except (TypeError, ValueError, OverflowError):   # the result does not fit in place
            return False
        self._version[0] += 1
        return True

    # ------------------------------------------------------------- indexing
    def __getitem__(self, key):
        return _ops.getitem(self, key)

    def __setitem__(self, key, value) -> None:
        _ops.setitem(self, key, value)

    @property
    def T(self) -> "NDArray":
        return _ops.transpose(self)


def _binary_method(name: str, op, reverse: bool = False):
    """NDArray's ``name`` (``__mul__``, ``__rsub__``, ...): ``op(self, other)``, or
    ``op(other, self)`` when ``reverse``.

    When the context is cpu or gpu(0) and the operands are float arrays of one
    dtype, or a float array and a Python int or float, the op's forward is its bare
    ufunc: then the ufunc runs here and its result is wrapped, and only when it is
    recorded (recording, and an operand has a graph node) is an Operator made
    (``adopt_plain``). Unrecorded arithmetic, such as inside gradient rules, so
    costs little more than the bare array call. Anything else, and any error, takes
    the operator's own path (dtype rules, named errors, recording).
    """
    ufunc = op.ufunc if op.plain_float else None

    def method(self, other):
        kind = type(other)
        ctx = self._ctx
        data = self._data
        if ufunc is not None and not ctx.device_id and data.dtype.kind == "f":
            xp = ctx.xp
            try:
                if kind is float or kind is int:
                    raw = other
                elif kind is NDArray and other._data.dtype is data.dtype and other._ctx is ctx:
                    raw = other._data
                else:
                    raw = None
                if raw is not None:
                    if reverse:
                        y = getattr(xp, ufunc)(raw, data)
                    else:
                        y = getattr(xp, ufunc)(data, raw)
            except (TypeError, ValueError, OverflowError, ArithmeticError):
                raw = None                # the operator's path raises a clear error
            if raw is not None:
                out = NDArray(xp.asarray(y) if y.ndim == 0 else y, ctx)
                if (self._node is not None or (kind is NDArray and other._node is not None)) \
                        and STATE.recording:
                    if reverse:
                        op.adopt_plain(other, self, out)
                    else:
                        op.adopt_plain(self, other, out)
                return out
        if kind is not NDArray and kind is not float and kind is not int:
            other = _operand(other)
            if other is None:
                return NotImplemented
        return op()(other, self) if reverse else op()(self, other)

    method.__name__ = name
    method.__qualname__ = f"NDArray.{name}"
    method.__doc__ = f"``{'other' if reverse else 'self'} {op.symbol} " \
                     f"{'self' if reverse else 'other'}`` (operator {op.name})."
    return method


_BINARY = (
    ("__add__", _arith.Add, False), ("__radd__", _arith.Add, True),
    ("__sub__", _arith.Subtract, False), ("__rsub__", _arith.Subtract, True),
    ("__mul__", _arith.Multiply, False), ("__rmul__", _arith.Multiply, True),
    ("__truediv__", _arith.Divide, False), ("__rtruediv__", _arith.Divide, True),
    ("__mod__", _arith.Modulo, False), ("__rmod__", _arith.Modulo, True),
    ("__pow__", _arith.Power, False), ("__rpow__", _arith.Power, True),
    ("__eq__", _arith.Equal, False), ("__ne__", _arith.NotEqual, False),
    ("__lt__", _arith.Lesser, False), ("__le__", _arith.LesserEqual, False),
    ("__gt__", _arith.Greater, False), ("__ge__", _arith.GreaterEqual, False),
)


def _inplace_method(name: str, op, symbol: str):
    """NDArray's ``name`` (``__isub__``, ...): ``self <symbol>= other`` in place.

    Outside ``record()``, on cpu or gpu(0), with a float or an NDArray of the same
    context as ``other``, the op's ufunc writes straight into this array here (an
    SGD step's ``w -= lr * w.grad``); anything else takes ``_inplace``, which also
    tries the ufunc, computes the result otherwise, and raises clear errors.
    """
    ufunc = op.ufunc

    def method(self, other):
        ctx = self._ctx
        if not ctx.device_id and not STATE.recording:
            kind = type(other)
            if kind is NDArray:
                raw = other._data if other._ctx is ctx else None
            else:
                raw = other if kind is float else None
            if raw is not None:
                try:
                    getattr(ctx.xp, ufunc)(self._data, raw, out=self._data)
                except (TypeError, ValueError, OverflowError):
                    pass                  # the result does not fit in place: the general path
                else:
                    self._version[0] += 1
                    return self
        return self._inplace(op, other, symbol)

    method.__name__ = name
    method.__qualname__ = f"NDArray.{name}"
    method.__doc__ = f"``self {symbol} other`` in place (operator {op.name})."
    return method


_INPLACE = (
    ("__iadd__", _arith.Add, "+="), ("__isub__", _arith.Subtract, "-="),
    ("__imul__", _arith.Multiply, "*="), ("__itruediv__", _arith.Divide, "/="),
    ("__imod__", _arith.Modulo, "%="), ("__ipow__", _arith.Power, "**="),
)


# Methods that forward to the operator of the same name in framework.nd.
_FORWARDED = (
    # elementwise math
    "exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "cbrt", "rcbrt", "square",
    "reciprocal", "abs", "sign", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "arcsinh", "arccosh", "arctanh", "radians", "degrees", "floor", "ceil", "round",
    "rint", "fix", "trunc", "clip",
    # activations
    "relu", "sigmoid", "softmax", "log_softmax",
    # reductions
    "sum", "mean", "max", "min", "prod", "norm", "argmax", "argmin", "argmax_channel", "nansum",
    "nanprod",
    # shapes
    "reshape", "reshape_like", "transpose", "swapaxes", "expand_dims", "squeeze", "flatten",
    "tile", "repeat", "broadcast_to", "broadcast_like", "broadcast_axes", "flip", "split",
    "slice", "slice_axis", "slice_like", "pad", "depth_to_space", "space_to_depth",
    # indexing and sorting
    "take", "pick", "one_hot", "topk", "sort", "argsort",
    # others
    "dot", "zeros_like", "ones_like", "diag",
    # MXNet 1.x fluent methods of ops/legacy.py
    "shape_array", "size_array", "softmin", "split_v2",
)


def _forwarding_method(name: str):
    operator = getattr(_ops, name)

    def method(self, *args, **kwargs):
        return operator(self, *args, **kwargs)
    method.__name__ = name
    method.__qualname__ = f"NDArray.{name}"
    method.__doc__ = f"Same as ``framework.nd.{name}(self, ...)``."
    return method


_NOT_METHODS = {"__module__", "__dict__", "__weakref__", "__doc__", "__qualname__", "__hash__"}


def install() -> None:
    """Attach the operator-backed methods to NDArray (idempotent)."""
    for name, value in vars(_Methods).items():
        if name not in _NOT_METHODS:
            setattr(NDArray, name, value)
    for name, op, reverse in _BINARY:
        setattr(NDArray, name, _binary_method(name, op, reverse))
    for name, op, symbol in _INPLACE:
        setattr(NDArray, name, _inplace_method(name, op, symbol))
    for name in _FORWARDED:
        setattr(NDArray, name, _forwarding_method(name))
