"""Binary arithmetic with broadcasting, comparisons and ``where``.

Either operand may be a Python scalar (a constant with no gradient).
"""
from __future__ import annotations

import math
from typing import Optional

import numpy

from ..ndarray import _SEQUENCE, NDArray, _operand
from ..operator import Operator
from .checks import write_out
from .broadcast import SumTo, sum_to

__all__ = ["add", "subtract", "multiply", "divide", "modulo", "power", "maximum", "minimum",
           "negative", "equal", "not_equal", "greater", "greater_equal", "lesser",
           "lesser_equal", "where", "elemwise_add", "elemwise_sub", "elemwise_mul",
           "elemwise_div", "broadcast_add", "broadcast_sub", "broadcast_mul", "broadcast_div",
           "broadcast_mod", "broadcast_power", "broadcast_maximum", "broadcast_minimum",
           "broadcast_equal", "broadcast_not_equal", "broadcast_greater",
           "broadcast_greater_equal", "broadcast_lesser", "broadcast_lesser_equal", "hypot"]


def _shape(v):
    return getattr(v, "shape", None)


def _is_float(v) -> bool:
    """Whether operand ``v`` is a float array or a Python float."""
    dtype = getattr(v, "dtype", None)
    return dtype.kind == "f" if dtype is not None else isinstance(v, float)


def _describe(v) -> str:
    """An operand for error messages: 'array of shape (2, 3) float32' or 'scalar 300'."""
    if hasattr(v, "shape"):
        return f"array of shape {tuple(v.shape)} {v.dtype}"
    return f"scalar {v!r}"


class _Binary(Operator):
    """Elementwise ``f(a, b)`` with NumPy broadcasting; remembers operand shapes."""

    ufunc = ""
    symbol = ""                   # Python's operator for it, if any (docs of NDArray's methods)
    checks_int_scalar = True      # arithmetic refuses an int scalar out of the array's range
    # forward is the bare ufunc when the operands are float arrays of one dtype, or a float
    # array and a Python int or float: NDArray's operators then skip the Operator when
    # nothing is recorded
    plain_float = True

    def forward(self, a, b):
        da, db = getattr(a, "dtype", None), getattr(b, "dtype", None)
        self.shapes = (None if da is None else a.shape, None if db is None else b.shape)
        # a float operand wins over an integer one without widening to float64 (as
        # PyTorch): int32 * 2.5 and int32 + float32 are float32, not NumPy's float64
        if da is not db:
            if db is None:
                if da.kind != "f" and isinstance(b, float):
                    a = a.astype(numpy.float32)
                elif da.kind in "iu" and type(b) is int and self.checks_int_scalar:
                    self.check_int_scalar(a, b)
            elif da is None:
                if db.kind != "f" and isinstance(a, float):
                    b = b.astype(numpy.float32)
                elif db.kind in "iu" and type(a) is int and self.checks_int_scalar:
                    self.check_int_scalar(b, a)
            elif da.kind == "f" and db.kind != "f":
                b = b.astype(da)
            elif db.kind == "f" and da.kind != "f":
                a = a.astype(db)
        try:
            return getattr(self.xp, self.ufunc)(a, b)
        except (ValueError, OverflowError, TypeError) as err:
            # NumPy's own classes (UFuncTypeError, ...) take other arguments: raise the base
            kind = next(k for k in (OverflowError, TypeError, ValueError) if isinstance(err, k))
            raise kind(f"operator {self.name}: operands {_describe(a)} and {_describe(b)}: "
                       f"{err}") from None

    @classmethod
    def adopt_plain(cls, lhs, rhs, out: NDArray) -> None:
        """Make a new node of this operator the history of ``out = lhs <op> rhs``, which
        NDArray's operator computed with the bare ufunc (``plain_float`` operands, one
        context) while recording: what ``__call__`` would record, without its forward."""
        node = cls()
        node.ctx = ctx = out._ctx
        node.xp = ctx.xp
        if type(lhs) is NDArray:
            edge_a = None if lhs._node is None else (lhs._node, lhs._index)
            shape_a = lhs._data.shape
        else:
            edge_a = shape_a = None
        if type(rhs) is NDArray:
            edge_b = None if rhs._node is None else (rhs._node, rhs._index)
            shape_b = rhs._data.shape
        else:
            edge_b = shape_b = None
        node.shapes = (shape_a, shape_b)
        if cls.saves_inputs or cls.saves_outputs:
            node._record((lhs, rhs), (out,), (edge_a, edge_b))
        else:                       # add, subtract: nothing saved, nothing to check later
            node.parents = (edge_a, edge_b)
            node.seq = next(_SEQUENCE)
        out._node = node

    def check_int_scalar(self, array, scalar: int) -> None:
        """Refuse a Python int the integer array's dtype cannot hold (uint8 + 300), on
        every device alike (NumPy raises, naming nothing; CuPy would widen the result)."""
        info = numpy.iinfo(array.dtype)
        if not info.min <= scalar <= info.max:
            raise OverflowError(f"operator {self.name}: operands {_describe(array)} and "
                                f"{_describe(scalar)}: {scalar} is out of range for "
                                f"{array.dtype} (expected a value in [{info.min}, {info.max}]); "
                                f"cast the array with astype first")

    def grads(self, ga, gb):
        """Reduce each wanted gradient to its operand's shape."""
        sa, sb = self.shapes
        if ga is not None and ga._data.shape != sa:
            ga = SumTo(tuple(sa))(ga)
        if gb is not None and gb._data.shape != sb:
            gb = SumTo(tuple(sb))(gb)
        return ga, gb


class Add(_Binary):
    name, ufunc, symbol = "add", "add", "+"

    def backward(self, gy):
        wa, wb = self.parents            # an edge, or None where no gradient is wanted
        return self.grads(gy if wa is not None else None, gy if wb is not None else None)


class Subtract(_Binary):
    name, ufunc, symbol = "subtract", "subtract", "-"

    def backward(self, gy):
        wa, wb = self.parents
        return self.grads(gy if wa is not None else None, -gy if wb is not None else None)


class Multiply(_Binary):
    name, ufunc, symbol = "multiply", "multiply", "*"
    saves_inputs = (0, 1)
    input_users = ((1,), (0,))  # a is read only for b's gradient, and b for a's

    def backward(self, gy):
        a, b = self.saved_inputs
        wa, wb = self.parents
        return self.grads(gy * b if wa is not None else None, gy * a if wb is not None else None)


def _is_integer(v) -> bool:
    """Whether operand ``v`` is a signed/unsigned integer array or a Python int."""
    dtype = getattr(v, "dtype", None)
    if dtype is not None:
        return dtype.kind in "iu"
    return isinstance(v, int) and not isinstance(v, bool)


class Divide(_Binary):
    """lhs / rhs. Integer by integer stays integer and truncates toward zero, as
    MXNet 1.x (C++ integer division): int32 [7, -7] / 2 is [3, -3]."""

    name, ufunc, symbol = "divide", "true_divide", "/"
    saves_inputs = (0, 1)
    input_users = ((1,), (0, 1))

    def forward(self, a, b):
        if _is_integer(a) and _is_integer(b):
            return self._truncated(a, b)
        y = super().forward(a, b)
        if y.dtype == numpy.float64 and not (_is_float(a) or _is_float(b)):
            y = y.astype(numpy.float32)        # bool / bool: the default float type
        return y

    def _truncated(self, a, b):
        xp = self.xp
        for array, scalar in ((a, b), (b, a)):
            if type(scalar) is int and hasattr(array, "dtype"):
                self.check_int_scalar(array, scalar)
        zero = bool((b == 0).any()) if hasattr(b, "dtype") else b == 0
        if zero:
            raise ZeroDivisionError(f"operator {self.name}: integer division by zero "
                                    f"(operands {_describe(a)} and {_describe(b)})")
        self.shapes = (getattr(a, "shape", None), getattr(b, "shape", None))
        q = xp.floor_divide(a, b)
        inexact = xp.remainder(a, b) != 0
        return q + (inexact & ((a < 0) != (b < 0))).astype(q.dtype)   # floor -> toward zero

    def backward(self, gy):
        a, b = self.saved_inputs
        ga = gy / b if self.wants(0) else None
        # -(g * (a / b)) / b, not -g * a / (b * b): b * b overflows float16 already at b = 256
        gb = -(gy * (a / b)) / b if self.wants(1) else None
        return self.grads(ga, gb)


class Modulo(_Binary):
    """MXNet's mod follows the sign of the divisor, like Python's % (xp.mod)."""

    name, ufunc, symbol = "modulo", "mod", "%"
    saves_inputs = (0, 1)
    input_users = ((1,), (1,))

    def backward(self, gy):
        a, b = self.saved_inputs
        ga = gy if self.wants(0) else None
        gb = None
        if self.wants(1):
            raw = lambda v: v._data if isinstance(v, NDArray) else v  # noqa: E731
            gb = -gy * self.constant(self.xp.floor_divide(raw(a), raw(b)))
        return self.grads(ga, gb)


def _raw(v):
    """The raw array of an NDArray; a Python scalar as it is."""
    return v._data if isinstance(v, NDArray) else v


class Power(_Binary):
    """a ** b. At a = 0 the gradients are PyTorch's, to every order: d/da is 0 where
    b = 0 (x ** 0 is constant), and d/db is 0 where a = 0 and b >= 0 (0 ** b is
    constant there); a negative scalar base gives a NaN gradient for b (log of it)."""

    name, ufunc, symbol = "power", "power", "**"
    saves_inputs = (0, 1)

    def backward(self, gy):
        a, b = self.saved_inputs
        ga = self._base_grad(gy, a, b) if self.wants(0) else None
        gb = self._exponent_grad(gy, a, b) if self.wants(1) else None
        return self.grads(ga, gb)

    def _base_grad(self, gy, a, b):
        """g * b * a ** (b - 1), and 0 where b == 0 (not 0 * inf at a = 0)."""
        if not isinstance(b, NDArray):
            if b == 0:
                return self.constant(self.xp.zeros(gy.shape, gy._data.dtype))
            return gy * b * a ** (b - 1)
        is_zero = self.constant(b._data == 0)
        # the exponent is 1 where b == 0, so that the discarded branch and its own
        # gradients stay finite (a gradient of 0 times inf would be NaN)
        safe_b = where(is_zero, 1.0, b)
        return where(is_zero, 0.0, gy * b * a ** (safe_b - 1))

    def _exponent_grad(self, gy, a, b):
        """g * a ** b * log(a), and 0 where a == 0 and b >= 0 (not 0 * -inf)."""
        xp = self.xp
        is_flat = self.constant(xp.logical_and(_raw(a) == 0, _raw(b) >= 0))
        if isinstance(a, NDArray):
            from .unary import log
            log_a = log(where(is_flat, 1.0, a))      # finite where discarded
        else:
            value = math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)
            log_a = self.constant(xp.where(is_flat._data, 0.0, value).astype(b._data.dtype))
        return where(is_flat, 0.0, gy * a ** b * log_a)


class Maximum(_Binary):
    """The gradient goes to ``a`` where ``a >= b``, else to ``b``."""

    name, ufunc = "maximum", "maximum"
    saves_inputs = (0, 1)

    def backward(self, gy):
        a, b = self.saved_inputs
        mask = a >= b if isinstance(a, NDArray) else b <= a
        return self.grads(gy * mask if self.wants(0) else None,
                          gy * (1 - mask) if self.wants(1) else None)


class Minimum(_Binary):
    """The gradient goes to ``a`` where ``a <= b``, else to ``b``."""

    name, ufunc = "minimum", "minimum"
    saves_inputs = (0, 1)

    def backward(self, gy):
        a, b = self.saved_inputs
        mask = a <= b if isinstance(a, NDArray) else b >= a
        return self.grads(gy * mask if self.wants(0) else None,
                          gy * (1 - mask) if self.wants(1) else None)


class Hypot(_Binary):
    name, ufunc = "hypot", "hypot"
    saves_inputs = (0, 1)
    input_users = ((0,), (1,))
    saves_outputs = (0,)

    def backward(self, gy):
        a, b = self.saved_inputs
        y = self.output()
        return self.grads(gy * a / y if self.wants(0) else None,
                          gy * b / y if self.wants(1) else None)


class Negative(Operator):
    name = "negative"

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class _Compare(_Binary):
    """1 where the comparison holds, else 0, in the operands' dtype (as MXNet)."""

    zero_grad = True
    checks_int_scalar = False     # uint8 == 300 is simply false
    plain_float = False           # the result takes the operands' dtype, not bool

    def forward(self, a, b):
        dtype = a.dtype if hasattr(a, "dtype") else b.dtype
        return super().forward(a, b).astype(dtype)


class Equal(_Compare):
    name, ufunc, symbol = "equal", "equal", "=="


class NotEqual(_Compare):
    name, ufunc, symbol = "not_equal", "not_equal", "!="


class Greater(_Compare):
    name, ufunc, symbol = "greater", "greater", ">"


class GreaterEqual(_Compare):
    name, ufunc, symbol = "greater_equal", "greater_equal", ">="


class Lesser(_Compare):
    name, ufunc, symbol = "lesser", "less", "<"


class LesserEqual(_Compare):
    name, ufunc, symbol = "lesser_equal", "less_equal", "<="


class Where(Operator):
    """``x`` where ``condition`` is non-zero, else ``y`` (all broadcast together)."""

    name = "where"
    saves_inputs = (0,)

    def forward(self, condition, x, y):
        self.shapes = (_shape(x), _shape(y))
        try:
            return self.xp.where(condition != 0, x, y)
        except ValueError:
            raise ValueError(f"operator where: condition {_shape(condition)}, x {_shape(x)} and "
                             f"y {_shape(y)} cannot be broadcast together") from None

    def backward(self, gy):
        cond, = self.saved_inputs
        gx = sum_to(where(cond, gy, 0.0), self.shapes[0]) if self.wants(1) else None
        gy_ = sum_to(where(cond, 0.0, gy), self.shapes[1]) if self.wants(2) else None
        return None, gx, gy_


def _binary_function(op_class, doc):
    def function(lhs, rhs, *, out: Optional[NDArray] = None) -> NDArray:
        a, b = _operand(lhs), _operand(rhs)
        if a is None or b is None or not (isinstance(a, NDArray) or isinstance(b, NDArray)):
            raise TypeError(f"operator {op_class.name}: expected NDArrays or scalars with at "
                            f"least one NDArray, got {type(lhs).__name__} and {type(rhs).__name__}")
        return write_out(op_class()(a, b), out, op_class.name)
    function.__name__ = op_class.name
    function.__doc__ = doc + "\n\nShapes broadcast as in NumPy; either side may be a scalar."
    return function


add = _binary_function(Add, "lhs + rhs")
subtract = _binary_function(Subtract, "lhs - rhs")
multiply = _binary_function(Multiply, "lhs * rhs")
divide = _binary_function(Divide, "lhs / rhs (integer / integer truncates toward zero, as MXNet)")
modulo = _binary_function(Modulo, "lhs % rhs (sign of rhs, like Python)")
power = _binary_function(Power, "lhs ** rhs")
maximum = _binary_function(Maximum, "Elementwise maximum")
minimum = _binary_function(Minimum, "Elementwise minimum")
hypot = _binary_function(Hypot, "sqrt(lhs**2 + rhs**2)")
equal = _binary_function(Equal, "1 where lhs == rhs else 0")
not_equal = _binary_function(NotEqual, "1 where lhs != rhs else 0")
greater = _binary_function(Greater, "1 where lhs > rhs else 0")
greater_equal = _binary_function(GreaterEqual, "1 where lhs >= rhs else 0")
lesser = _binary_function(Lesser, "1 where lhs < rhs else 0")
lesser_equal = _binary_function(LesserEqual, "1 where lhs <= rhs else 0")

# MXNet's explicit names for the same operators
elemwise_add = broadcast_add = add
elemwise_sub = broadcast_sub = subtract
elemwise_mul = broadcast_mul = multiply
elemwise_div = broadcast_div = divide
broadcast_mod = modulo
broadcast_power = power
broadcast_maximum = maximum
broadcast_minimum = minimum
broadcast_equal = equal
broadcast_not_equal = not_equal
broadcast_greater = greater
broadcast_greater_equal = greater_equal
broadcast_lesser = lesser
broadcast_lesser_equal = lesser_equal


def negative(data: NDArray, *, out: Optional[NDArray] = None) -> NDArray:
    """-data"""
    return write_out(Negative()(data), out, 'negative')


def where(condition: NDArray, x, y, *, out: Optional[NDArray] = None) -> NDArray:
    """Elementwise ``x if condition else y``; ``x``/``y`` may be scalars. Differentiable in x, y.

    condition, x and y broadcast together; the result has their common shape.
    """
    if not isinstance(condition, NDArray):
        raise TypeError(f"operator where: condition must be an NDArray, got "
                        f"{type(condition).__name__}")
    operands = _operand(x), _operand(y)
    for name, given, value in (("x", x, operands[0]), ("y", y, operands[1])):
        if value is None:
            raise TypeError(f"operator where: {name} must be an NDArray or a scalar, got "
                            f"{type(given).__name__}")
    return write_out(Where()(condition, *operands), out, 'where')
