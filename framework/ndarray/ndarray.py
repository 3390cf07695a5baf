"""`NDArray`: an n-dimensional array on one context, with autograd bookkeeping.

An NDArray wraps a raw array of its context's module (NumPy on cpu, CuPy on
gpu). This module imports no operator: the operators (``framework.ndarray.ops``)
import NDArray, and the methods that call them (arithmetic, indexing, copies,
``x.exp()``) are attached in one install step (``methods.py``). Graph state: ``_node`` is the operator (or ``Leaf``) that produced the
array, ``_index`` its output position, ``_version`` a list [count, shared] that views
share: the count goes up with every in-place write, ``shared`` says that other
arrays (views) use the same memory.
"""
from __future__ import annotations

import itertools
import numbers
import weakref
from typing import Optional, Tuple

import numpy

from .._flags import STATE
from ..context import Context, move

__all__ = ["NDArray", "Node", "Leaf"]

_PY_SCALARS = (int, float, bool)

# Graph nodes are numbered in the order they are made (``seq``): a node's parents were
# recorded before it, so backward visits nodes by decreasing number, each after every
# node that consumes it (``next`` on a count is atomic under the GIL: thread-safe).
_SEQUENCE = itertools.count(1)


def _operand(other):
    """An operator's second operand: an NDArray or a Python scalar, else None."""
    if type(other) in _PY_SCALARS or isinstance(other, NDArray):
        return other
    if isinstance(other, numpy.generic) and other.ndim == 0:
        return other.item()           # keep float32 arrays float32 (NEP 50)
    if isinstance(other, numbers.Number):
        return other
    return None


# NumPy ufunc name -> the NDArray method that computes ``scalar <ufunc> ndarray``
_REFLECTED = {"add": "__radd__", "subtract": "__rsub__", "multiply": "__rmul__",
              "divide": "__rtruediv__", "power": "__rpow__", "remainder": "__rmod__",
              "equal": "__eq__", "not_equal": "__ne__", "less": "__gt__",
              "less_equal": "__ge__", "greater": "__lt__", "greater_equal": "__le__"}


class Node:
    """Common part of graph nodes (``Leaf`` here, ``Operator`` in operator.py):
    ``parents`` holds one edge ``(node, output index)`` or None per input."""

    __slots__ = ()
    n_out = 1


class Leaf(Node):
    """The graph node of a variable (an array with ``attach_grad``)."""

    __slots__ = ("array_ref", "seq", "__weakref__")
    parents: Tuple = ()
    name = "variable"
    freed = False

    def __init__(self, array_ref) -> None:
        self.array_ref = array_ref       # weakref.ref to the NDArray
        self.seq = next(_SEQUENCE)


class NDArray:
    """An array on a context (``cpu(0)``, ``gpu(i)``); see ``framework.nd`` for operators."""

    __slots__ = ("_data", "_ctx", "_node", "_index", "_grad", "_grad_req", "_version",
                 "_fresh_grad", "__weakref__")
    __array_priority__ = 1000.0

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

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """NumPy ufuncs meeting an NDArray: a NumPy scalar with an operator gives NDArray's
        own result; NumPy functions of cpu arrays (``np.all(a == b)``, ``np.exp(a)``) run on
        the host data and return NumPy results, as with MXNet; a NumPy array with an
        operator, an NDArray as ``out``, and gpu arrays are refused (no silent host copy)."""
        if method == "__call__" and len(inputs) == 2 and ufunc.__name__ in _REFLECTED:
            lhs, rhs = inputs
            if (rhs is self and not isinstance(lhs, NDArray) and numpy.ndim(lhs) == 0
                    and not kwargs):
                return getattr(self, _REFLECTED[ufunc.__name__])(numpy.asarray(lhs).item())
            if any(not isinstance(x, NDArray) and numpy.ndim(x) for x in inputs):
                return NotImplemented
        if any(isinstance(x, NDArray) for x in kwargs.get("out", ())):
            return NotImplemented
        if any(isinstance(x, NDArray) and x._ctx.xp is not numpy for x in inputs):
            return NotImplemented
        host = [x._data if isinstance(x, NDArray) else x for x in inputs]
        return getattr(ufunc, method)(*host, **kwargs)

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
        return (_rebuild, (self.asnumpy(), self._ctx.device_type, self._ctx.device_id))

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
        if stype not in (None, "default"):
            raise ValueError(f"attach_grad: stype={stype!r}: only dense ('default') gradients "
                             f"exist here; sparse storage types are not supported")
        self._grad_req = grad_req
        self._fresh_grad = False     # set by backward, cleared by the Trainer's step
        if grad_req == "null":
            self._grad, self._node = None, None
            return
        if self._data.dtype.kind != "f":
            raise TypeError(f"attach_grad: only floating-point arrays can have gradients; this "
                            f"array of shape {self.shape} is {self._data.dtype} (cast it with "
                            f"astype('float32') first)")
        with self._ctx.scope():
            self._grad = NDArray(self._ctx.xp.zeros_like(self._data), self._ctx)
        self._mark_variable()

    def _mark_variable(self) -> None:
        self._node, self._index = Leaf(weakref.ref(self)), 0

    def detach(self) -> "NDArray":
        """The same data without history: gradients stop here."""
        out = NDArray(self._data, self._ctx)
        out._version = self._version
        self._version[1] = True
        return out

    # --------------------------------------------------------- in-place writes
    def _check_recorded_write(self, op_name: str) -> None:
        """Refuse an in-place write while recording to a variable, or to memory that
        another array shares (its history would no longer match its values)."""
        node = self._node
        if node is not None and type(node) is Leaf:
            raise RuntimeError(
                f"{op_name}: in-place write to a variable (an array with attach_grad) while "
                f"recording; write outside autograd.record() or use an out-of-place operation")
        if self._version[1]:
            raise RuntimeError(
                f"{op_name}: in-place write while recording to an array of shape {self.shape} "
                f"that shares memory with another (a view, a detach() result, or an array "
                f"one was taken of): the other would keep a history that no longer matches "
                f"its values; use an out-of-place operation or copy() first")

    def _write(self, result: "NDArray", op_name: str) -> "NDArray":
        """Store ``result`` (same shape) into this array's memory: an in-place write.

        While recording, the array takes over ``result``'s history (none when
        ``result`` is a constant); arrays saved for backward before the write see
        their version change.
        """
        if STATE.recording:
            self._check_recorded_write(op_name)
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


def synchronize(ctx: Context) -> None:
    """Wait for the device work queued on ``ctx`` (a no-op on cpu)."""
    if ctx.device_type == "gpu":
        xp = ctx.xp
        if xp.__name__ == "cupy":
            xp.cuda.Device(ctx.device_id).synchronize()


def _rebuild(host: numpy.ndarray, device_type: str, device_id: int) -> NDArray:
    """Unpickle: the host copy placed back on its context."""
    ctx = Context(device_type, device_id)
    return NDArray(move(host, Context("cpu", 0), ctx), ctx)
