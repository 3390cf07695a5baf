"""A strict, test-only array module standing in for CuPy.

``strict`` mirrors NumPy's API, but its arrays (``StrictArray``) refuse to be
turned into NumPy arrays implicitly (``__array__`` raises, NumPy functions
and ufuncs reject them) and its functions reject NumPy arrays as arguments,
just as CuPy's device arrays do. Backing ``gpu`` with it, any ``numpy.`` call
on a device array, or any host array slipped into a device operation, fails
the test suite without a GPU.
"""
from __future__ import annotations

import types

import numpy

_PASS_THROUGH = (type(None), bool, int, float, complex, str, bytes, slice, type(Ellipsis),
                 numpy.dtype)


class HostArrayError(TypeError):
    """A NumPy array met the strict device backend, or the other way round."""


class DeviceMismatchError(ValueError):
    """An array of one device used while another device is current (CuPy refuses this)."""


_current_device = [0]


class Device:
    """``strict.cuda.Device(i)``: makes device i current inside a ``with`` block, as CuPy's."""

    def __init__(self, device_id: int = 0) -> None:
        self.id = int(device_id)

    def __enter__(self) -> "Device":
        self._previous = _current_device[0]
        _current_device[0] = self.id
        return self

    def __exit__(self, *exc) -> None:
        _current_device[0] = self._previous

    def synchronize(self) -> None:
        """Nothing to wait for: the work is done on the host."""


def _on_current_device(array: "StrictArray") -> "StrictArray":
    if array.device != _current_device[0]:
        raise DeviceMismatchError(
            f"strict backend: an array on device {array.device} was used while device "
            f"{_current_device[0]} is current; CuPy needs `with cupy.cuda.Device"
            f"({array.device}):` around it")
    return array


def _unwrap(obj):
    if isinstance(obj, StrictArray):
        return _on_current_device(obj)._a
    if isinstance(obj, numpy.ndarray):
        raise HostArrayError(f"strict backend: a host NumPy array {obj.shape} {obj.dtype} was "
                             f"passed to a device operation; move it with xp.asarray first")
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


def _wrap(obj, device=None):
    """NumPy results as StrictArrays on ``device`` (default: the current device)."""
    if isinstance(obj, numpy.ndarray):
        return StrictArray(obj, device)
    if isinstance(obj, numpy.generic):
        return StrictArray(numpy.asarray(obj), device)  # CuPy gives 0-d arrays, not scalars
    if isinstance(obj, (list, tuple)) and any(isinstance(o, (numpy.ndarray, numpy.generic))
                                              for o in obj):
        items = [_wrap(o, device) for o in obj]
        if hasattr(obj, "_fields"):      # NumPy's SVDResult, QRResult...: CuPy gives tuples
            return tuple(items)
        return type(obj)(items)
    if isinstance(obj, _PASS_THROUGH) or isinstance(obj, (list, tuple)):
        return obj
    if isinstance(obj, type) and (issubclass(obj, (numpy.generic, numpy.dtype))
                                  or obj.__module__ == "builtins"):
        return obj                                   # dtypes and Python types stay as they are
    return _Proxy(obj, device)                       # functions, modules, RandomState, ...


class _Proxy:
    """Wraps a NumPy function, ufunc, module or object so it speaks StrictArray."""

    __slots__ = ("_obj", "_device")

    def __init__(self, obj, device=None) -> None:
        self._obj, self._device = obj, device      # device: that of the array owning a method

    def __call__(self, *args, **kwargs):
        return _wrap(self._obj(*_unwrap(args), **_unwrap(kwargs)), self._device)

    def __getattr__(self, name):
        return _wrap(getattr(self._obj, name), self._device)

    def __repr__(self) -> str:
        return f"<strict {self._obj!r}>"


def _binary(name):
    def method(self, other):
        return _wrap(getattr(_on_current_device(self)._a, name)(_unwrap(other)))
    method.__name__ = name
    return method


def _inplace(name):
    def method(self, other):
        getattr(_on_current_device(self)._a, name)(_unwrap(other))
        return self
    method.__name__ = name
    return method


class StrictArray:
    """A device-like array: NumPy inside, no implicit way out."""

    __slots__ = ("_a", "device", "__weakref__")
    __array_priority__ = 10000.0
    __array_ufunc__ = None

    def __init__(self, a: numpy.ndarray, device=None) -> None:
        self._a = a
        self.device = _current_device[0] if device is None else device

    def __array__(self, *args, **kwargs):
        raise HostArrayError("strict backend: implicit conversion of a device array to a NumPy "
                             "array (use xp.asnumpy)")

    def __array_function__(self, func, types, args, kwargs):
        return NotImplemented

    def __getattr__(self, name):
        if name.startswith("__array"):              # __array_interface__, __array_struct__
            raise AttributeError(name)
        return _wrap(getattr(self._a, name), self.device)

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)], self.device)

    def __setitem__(self, key, value) -> None:
        _on_current_device(self)._a[_unwrap(key)] = _unwrap(value)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        return (_wrap(v, self.device) for v in self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __bool__(self) -> bool:
        return bool(self._a)

    def __neg__(self):
        return StrictArray(-_on_current_device(self)._a)

    def __pos__(self):
        return self

    def __abs__(self):
        return StrictArray(abs(_on_current_device(self)._a))

    def __invert__(self):
        return StrictArray(~_on_current_device(self)._a)

    def __repr__(self) -> str:
        return f"strict({self._a!r})"

    __hash__ = None


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor",
              "matmul", "lshift", "rshift"):
    setattr(StrictArray, f"__{_name}__", _binary(f"__{_name}__"))
    setattr(StrictArray, f"__r{_name}__", _binary(f"__r{_name}__"))
    setattr(StrictArray, f"__i{_name}__", _inplace(f"__i{_name}__"))
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(StrictArray, f"__{_name}__", _binary(f"__{_name}__"))


class _StrictModule(types.ModuleType):
    """``numpy`` with every array argument and result kept on the 'device'."""

    ndarray = StrictArray
    cuda = types.SimpleNamespace(Device=Device)

    def __getattr__(self, name):
        value = getattr(numpy, name)
        return _wrap(value)

    @staticmethod
    def asarray(obj, dtype=None):
        if isinstance(obj, StrictArray):
            if dtype is None:
                return obj
            return StrictArray(_on_current_device(obj)._a.astype(dtype, copy=False))
        return StrictArray(numpy.asarray(obj, dtype=dtype))

    @staticmethod
    def array(obj, dtype=None, copy=True):
        """A copy on the current device (from the host, or from any device, as CuPy)."""
        if isinstance(obj, StrictArray):
            return StrictArray(numpy.array(obj._a, dtype=dtype, copy=copy))
        return StrictArray(numpy.array(obj, dtype=dtype, copy=copy))

    @staticmethod
    def asnumpy(obj):
        """Explicit device-to-host copy, as ``cupy.asnumpy``."""
        return numpy.array(obj._a if isinstance(obj, StrictArray) else obj)


strict = _StrictModule("strict_numpy")
