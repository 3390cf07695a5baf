"""Devices: `Context` (cpu(0), gpu(i)) and the array module behind each.

NumPy backs ``cpu``; CuPy backs ``gpu``. Every operator asks its context for
the array module (``ctx.xp``) and calls that, so one code path serves both.
"""
from __future__ import annotations

import contextlib
import numbers
import threading
from types import ModuleType
from typing import Callable, Dict, Optional

import numpy

__all__ = ["Context", "cpu", "gpu", "cpu_pinned", "current_context", "num_gpus",
           "set_array_module"]


def _import_cupy() -> ModuleType:
    try:
        import cupy
    except ImportError as err:
        raise RuntimeError(
            "a gpu context needs CuPy, which is not installed "
            "(install it with: pip install 'framework[gpu]')") from err
    return cupy


# device type -> function returning its array module (imported on first use)
_MODULE_LOADERS: Dict[str, Callable[[], ModuleType]] = {
    "cpu": lambda: numpy,
    "cpu_pinned": lambda: numpy,
    "gpu": _import_cupy,
}


_NO_SCOPE = contextlib.nullcontext()


class Context:
    """A device: ``Context('cpu', 0)`` or ``Context('gpu', 1)``.

    Contexts are interned, so ``cpu(0) is cpu(0)``. Used as a ``with`` block it
    becomes the default context for arrays created inside.
    """

    # ``xp``, the array module, is a slot filled on first use (see __getattr__), so that
    # operators read it as a plain attribute
    __slots__ = ("device_type", "device_id", "xp")
    _interned: Dict[tuple, "Context"] = {}
    _default = threading.local()

    def __new__(cls, device_type, device_id: int = 0) -> "Context":
        if isinstance(device_type, Context):
            return device_type
        if not isinstance(device_id, numbers.Integral) or isinstance(device_id, bool):
            raise TypeError(f"Context: device_id must be an int, got {type(device_id).__name__} "
                            f"{device_id!r} (as in Context('gpu', 1))")
        if device_id < 0:
            raise ValueError(f"Context: device_id must be non-negative, got {device_id}")
        key = (str(device_type), int(device_id))
        ctx = cls._interned.get(key)
        if ctx is None:
            if key[0] not in _MODULE_LOADERS:
                raise ValueError(f"Context: unknown device type {device_type!r}; "
                                 f"expected one of {sorted(_MODULE_LOADERS)}")
            ctx = object.__new__(cls)
            ctx.device_type, ctx.device_id = key
            cls._interned[key] = ctx
        return ctx

    def __getattr__(self, name: str) -> ModuleType:
        """Load ``xp``, the array module (numpy, cupy, ...) of this context, on first use."""
        if name != "xp":
            raise AttributeError(f"'Context' object has no attribute {name!r}")
        xp = _MODULE_LOADERS[self.device_type]()
        if self.device_type == "gpu" and xp.__name__ == "cupy":
            count = xp.cuda.runtime.getDeviceCount()
            if self.device_id >= count:
                raise RuntimeError(f"{self} requested but only {count} GPU(s) are visible")
        self.xp = xp
        return xp

    def scope(self):
        """``with ctx.scope():`` new arrays and kernels go to this GPU (it becomes CuPy's
        current device); nothing changes on cpu."""
        if self.device_type != "gpu":
            return _NO_SCOPE
        return self.xp.cuda.Device(self.device_id)

    @property
    def is_loaded(self) -> bool:
        """Whether this context's array module has been loaded (no import happens here)."""
        try:
            object.__getattribute__(self, "xp")
        except AttributeError:
            return False
        return True

    def __repr__(self) -> str:
        return f"{self.device_type}({self.device_id})"

    def __reduce__(self):
        return (Context, (self.device_type, self.device_id))

    def __enter__(self) -> "Context":
        # contexts are shared objects: the previous defaults go on a per-thread stack
        stack = Context._default.__dict__.setdefault("stack", [])
        stack.append(current_context())
        Context._default.value = self
        return self

    def __exit__(self, *exc) -> None:
        Context._default.value = Context._default.stack.pop()

    def empty_cache(self) -> None:
        """Release cached device memory (CuPy's memory pool); no-op on cpu."""
        if self.device_type == "gpu" and self.xp.__name__ == "cupy":
            self.xp.get_default_memory_pool().free_all_blocks()


def cpu(device_id: int = 0) -> Context:
    """The CPU context."""
    return Context("cpu", device_id)


def cpu_pinned(device_id: int = 0) -> Context:
    """Pinned host memory; here the same arrays as cpu."""
    return Context("cpu_pinned", device_id)


def gpu(device_id: int = 0) -> Context:
    """The context of GPU number ``device_id`` (needs CuPy)."""
    return Context("gpu", device_id)


def current_context() -> Context:
    """The default context: cpu(0) unless inside a ``with ctx:`` block."""
    return getattr(Context._default, "value", None) or cpu(0)


def num_gpus() -> int:
    """Number of visible GPUs; 0 when CuPy or a CUDA device is missing."""
    try:
        import cupy
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no CuPy, no driver, no device: all mean zero GPUs
        return 0


def set_array_module(device_type: str, loader: Optional[Callable[[], ModuleType]]) -> Callable:
    """Replace the array module behind ``device_type``; returns the old loader.

    The test suite uses this to back ``gpu`` with a strict NumPy wrapper that,
    like CuPy, refuses implicit conversion to host arrays. ``None`` restores CuPy.
    """
    old = _MODULE_LOADERS[device_type]
    _MODULE_LOADERS[device_type] = loader or (_import_cupy if device_type == "gpu" else (lambda: numpy))
    for ctx in Context._interned.values():
        if ctx.device_type == device_type:
            if ctx.is_loaded:
                del ctx.xp
    return old


def move(data, src: Context, dst: Context):
    """Copy raw array ``data`` from context ``src`` to context ``dst``."""
    if src.xp is not numpy and src.xp is not dst.xp:
        data = src.xp.asnumpy(data)          # device -> host
    with dst.scope():
        return dst.xp.array(data, copy=True)
