"""`NDArray`: an n-dimensional array on one context, with autograd bookkeeping.

An NDArray wraps a raw array of its context's module (NumPy on cpu, CuPy on
gpu). Operators live in ``framework.ndarray.ops``; the methods here forward to
them. Graph state: ``_node`` is the operator (or ``Leaf``) that produced the
array, ``_index`` its output position, ``_version`` a list [count, shared] that views
share: the count goes up with every in-place write, ``shared`` says that other
arrays (views) use the same memory.
"""
from __future__ import annotations

import numbers
import weakref
from typing import Optional, Tuple

import numpy

from .._flags import STATE
from ..context import Context

__all__ = ["NDArray"]

_PY_SCALARS = (int, float, bool)


def _operand(other):
    """An operator's second operand: an NDArray or a Python scalar, else None."""
    if type(other) in _PY_SCALARS or isinstance(other, NDArray):
        return other
    if isinstance(other, numpy.generic) and other.ndim == 0:
        return other.item()           # keep float32 arrays float32 (NEP 50)
    if isinstance(other, numbers.Number):
        return other
    return None


class NDArray:
    """An array on a context (``cpu(0)``, ``gpu(i)``); see ``framework.nd`` for operators."""

    __slots__ = ("_data", "_ctx", "_node", "_index", "_grad", "_grad_req", "_version",
                 "__weakref__")
    __array_priority__ = 1000.0
    __array_ufunc__ = None            # numpy defers `np_array + ndarray` to us

    def __init__(self, data, ctx: Context) -> None:
        self._data = data
        self._ctx = ctx
        self._node = None
        self._index = 0
        self._grad = None
        self._grad_req = "null"
        self._version = [0, False]

    # ------------------------------------------------------------ attributes
    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return int(self._data.size)

    @property
    def dtype(self):
        """The NumPy type of the elements, e.g. ``numpy.float32``."""
        return self._data.dtype.type

    @property
    def context(self) -> Context:
        return self._ctx

    ctx = context

    @property
    def stype(self) -> str:
        return "default"

    @property
    def data(self):
        """The raw NumPy/CuPy array (no copy)."""
        return self._data

    @property
    def grad(self) -> Optional["NDArray"]:
        """The gradient buffer set by ``attach_grad``, filled by ``backward``."""
        return self._grad

    @property
    def grad_req(self) -> str:
        return self._grad_req

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d NDArray")
        return self._data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    __hash__ = object.__hash__

    # ------------------------------------------------------------ conversion
    def asnumpy(self) -> numpy.ndarray:
        """A NumPy copy of the array (a device-to-host copy for gpu arrays)."""
        if self._ctx.xp is numpy:
            return numpy.array(self._data)
        return self._ctx.xp.asnumpy(self._data)

    def asscalar(self):
        """The value of a one-element array as a NumPy scalar."""
        if self.size != 1:
            raise ValueError(f"asscalar: the array has shape {self.shape}, expected exactly one element")
        return self.asnumpy().reshape(())[()]

    def item(self):
        return self.asscalar().item()

    def __array__(self, dtype=None, copy=None):
        if self._ctx.xp is not numpy:
            raise TypeError(f"implicit conversion of an NDArray on {self._ctx} to a NumPy array "
                            f"is not allowed; call .asnumpy() to copy it to the host")
        return self._data if dtype is None else self._data.astype(dtype)

    def _scalar_value(self, kind, what):
        if self.size != 1:
            raise TypeError(f"{what}: only one-element NDArrays can be converted, got shape {self.shape}")
        return kind(self._data.reshape(()).item())

    def __float__(self) -> float:
        return self._scalar_value(float, "float()")

    def __int__(self) -> int:
        return self._scalar_value(int, "int()")

    def __bool__(self) -> bool:
        if self.size == 0:
            return False
        if self.size > 1:
            raise ValueError(f"the truth value of an NDArray with multiple elements "
                             f"(shape {self.shape}) is ambiguous")
        return self._scalar_value(bool, "bool()")

    def __index__(self) -> int:
        if not numpy.issubdtype(self._data.dtype, numpy.integer):
            raise TypeError(f"only integer NDArrays can be used as an index, got {self._data.dtype}")
        return self._scalar_value(int, "index")

    def __repr__(self) -> str:
        shape_info = "x".join(str(d) for d in self.shape)
        return f"\n{self.asnumpy()}\n<{type(self).__name__} {shape_info} @{self._ctx}>"

    __str__ = __repr__

    def __reduce__(self):
        return (_rebuild, (self.asnumpy(), str(self._ctx.device_type), self._ctx.device_id))

    # --------------------------------------------------- devices and copies
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
        from .creation import normalize_dtype
        dtype = normalize_dtype(dtype)
        if not copy and dtype == self._data.dtype:
            return self
        return _convert.Cast(dtype)(self)

    def wait_to_read(self) -> None:
        """Block until pending device work writing this array is done."""
        synchronize(self._ctx)

    def wait_to_write(self) -> None:
        synchronize(self._ctx)

    # ------------------------------------------------------------- autograd
    def attach_grad(self, grad_req: str = "write", stype=None) -> None:
        """Make this array a variable: allocate ``.grad`` (zeros) and track it."""
        if grad_req not in ("write", "add", "null"):
            raise ValueError(f"attach_grad: grad_req must be 'write', 'add' or 'null', got {grad_req!r}")
        self._grad_req = grad_req
        if grad_req == "null":
            self._grad, self._node = None, None
            return
        with self._ctx.scope():
            self._grad = NDArray(self._ctx.xp.zeros_like(self._data), self._ctx)
        self._mark_variable()

    def _mark_variable(self) -> None:
        from .operator import Leaf
        self._node, self._index = Leaf(weakref.ref(self)), 0

    def detach(self) -> "NDArray":
        """The same data without history: gradients stop here."""
        out = NDArray(self._data, self._ctx)
        out._version = self._version
        self._version[1] = True
        return out

    def backward(self, out_grad: Optional["NDArray"] = None, retain_graph: bool = False,
                 train_mode: bool = True) -> None:
        """Back-propagate from this array into the ``.grad`` of the variables."""
        from ..autograd.engine import backward
        backward([self], None if out_grad is None else [out_grad], retain_graph, train_mode)

    # --------------------------------------------------------- in-place writes
    def _write(self, result: "NDArray", op_name: str) -> "NDArray":
        """Store ``result`` (same shape) into this array's memory: an in-place write.

        While recording, the array takes over ``result``'s history (none when
        ``result`` is a constant); arrays saved for backward before the write see
        their version change.
        """
        if STATE.recording and (result._node is not None or self._node is not None):
            node = self._node
            if node is not None and getattr(node, "name", None) == "variable":
                raise RuntimeError(
                    f"{op_name}: in-place write to a variable (an array with attach_grad) while "
                    f"recording; write outside autograd.record() or use an out-of-place operation")
            if self._version[1]:
                raise RuntimeError(
                    f"{op_name}: in-place write while recording to an array of shape {self.shape} "
                    f"that shares memory with another (a view, or an array a view was taken of): "
                    f"the other would keep a stale history; use an out-of-place operation or "
                    f"copy() first")
        if result.shape != self.shape:
            raise ValueError(f"{op_name}: cannot write a result of shape {result.shape} "
                             f"into an array of shape {self.shape}")
        if result._ctx is not self._ctx:
            raise ValueError(f"{op_name}: result on {result._ctx}, array on {self._ctx}")
        with self._ctx.scope():
            self._data[...] = result._data
        self._version[0] += 1
        if STATE.recording:       # the array now holds result's value, and its history
            self._node, self._index = result._node, result._index
        return self

    # ------------------------------------------------------------ arithmetic
    def _binary(self, op, other, reverse=False):
        other = _operand(other)
        if other is None:
            return NotImplemented
        return op()(other, self) if reverse else op()(self, other)

    def __add__(self, other):
        return self._binary(_arith.Add, other)

    def __radd__(self, other):
        return self._binary(_arith.Add, other, True)

    def __sub__(self, other):
        return self._binary(_arith.Subtract, other)

    def __rsub__(self, other):
        return self._binary(_arith.Subtract, other, True)

    def __mul__(self, other):
        return self._binary(_arith.Multiply, other)

    def __rmul__(self, other):
        return self._binary(_arith.Multiply, other, True)

    def __truediv__(self, other):
        return self._binary(_arith.Divide, other)

    def __rtruediv__(self, other):
        return self._binary(_arith.Divide, other, True)

    def __mod__(self, other):
        return self._binary(_arith.Modulo, other)

    def __rmod__(self, other):
        return self._binary(_arith.Modulo, other, True)

    def __pow__(self, other):
        return self._binary(_arith.Power, other)

    def __rpow__(self, other):
        return self._binary(_arith.Power, other, True)

    def __neg__(self):
        return _arith.Negative()(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __eq__(self, other):
        return self._binary(_arith.Equal, other)

    def __ne__(self, other):
        return self._binary(_arith.NotEqual, other)

    def __lt__(self, other):
        return self._binary(_arith.Lesser, other)

    def __le__(self, other):
        return self._binary(_arith.LesserEqual, other)

    def __gt__(self, other):
        return self._binary(_arith.Greater, other)

    def __ge__(self, other):
        return self._binary(_arith.GreaterEqual, other)

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
        other = _operand(other)
        if isinstance(other, NDArray):
            if other._ctx is not self._ctx:
                return False
            other = other._data
        elif other is None:
            return False
        try:
            with self._ctx.scope():
                getattr(self._ctx.xp, op.ufunc)(self._data, other, out=self._data)
        except (TypeError, ValueError):      # result dtype or shape does not fit in place
            return False
        self._version[0] += 1
        return True

    def __iadd__(self, other):
        return self._inplace(_arith.Add, other, "+=")

    def __isub__(self, other):
        return self._inplace(_arith.Subtract, other, "-=")

    def __imul__(self, other):
        return self._inplace(_arith.Multiply, other, "*=")

    def __itruediv__(self, other):
        return self._inplace(_arith.Divide, other, "/=")

    def __imod__(self, other):
        return self._inplace(_arith.Modulo, other, "%=")

    def __ipow__(self, other):
        return self._inplace(_arith.Power, other, "**=")

    # ------------------------------------------------------------- indexing
    def __getitem__(self, key):
        return _ops.getitem(self, key)

    def __setitem__(self, key, value) -> None:
        _ops.setitem(self, key, value)

    @property
    def T(self) -> "NDArray":
        return _ops.transpose(self)


def synchronize(ctx: Context) -> None:
    """Wait for the device work queued on ``ctx`` (a no-op on cpu)."""
    if ctx.device_type == "gpu":
        xp = ctx.xp
        if xp.__name__ == "cupy":
            xp.cuda.Device(ctx.device_id).synchronize()


def _rebuild(host, device_type, device_id):
    from .creation import array
    return array(host, ctx=Context(device_type, device_id), dtype=host.dtype)


# Methods that forward to the operator of the same name in framework.nd.
_METHODS = (
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
)


def _forwarding_method(name: str):
    def method(self, *args, **kwargs):
        return getattr(_ops, name)(self, *args, **kwargs)
    method.__name__ = name
    method.__qualname__ = f"NDArray.{name}"
    method.__doc__ = f"Same as ``framework.nd.{name}(self, ...)``."
    return method


for _name in _METHODS:
    setattr(NDArray, _name, _forwarding_method(_name))

# The operator modules import NDArray, so they are bound after the class exists.
from . import ops as _ops  # noqa: E402
from .ops import arith as _arith, convert as _convert  # noqa: E402
