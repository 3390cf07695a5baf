"""DLPack: zero-copy exchange of NDArrays with NumPy, PyTorch, CuPy and any library
that speaks the DLPack protocol (MXNet's ``to_dlpack_for_read``/``for_write`` and
``from_dlpack``; ``from_numpy`` is in ``ops/legacy.py``).

Exporting never copies: ``numpy.from_dlpack(x)``, ``torch.from_dlpack(x)`` (on a
gpu context ``cupy.from_dlpack(x)``) and the capsules of ``to_dlpack_for_read`` /
``to_dlpack_for_write`` view the NDArray's memory; importing (``from_dlpack``) views
the producer's. A write through one view is seen through the other. An array
exported or imported this way is marked as sharing memory, so an in-place write to it
while recording is refused (its autograd history would not match its values).

The capsules are DLPack 1.0 ("dltensor_versioned", which ``torch.utils.dlpack``
reads too; an array module without DLPack 1.0 gives the older "dltensor").
``to_dlpack_for_read`` signals read-only where the array module can: on cpu its
capsule is flagged read-only, so NumPy, and ``from_dlpack`` here, give read-only
views (in-place writes raise ``ValueError``); PyTorch ignores the flag. CuPy has no
read-only arrays: on gpu both capsules are writable, as in MXNet. A pre-1.0 capsule
cannot tell whether its memory may be written, so NumPy, and ``from_dlpack`` on cpu,
import it read-only (``torch.utils.dlpack.to_dlpack`` makes such capsules; pass the
tensor itself for a writable view).

A cpu array is a DLPack CPU tensor (device type 1); ``gpu(i)`` is CUDA device i
(type 2), exported and imported through the context's array module (CuPy).
"""
from __future__ import annotations

import ctypes
from typing import Tuple

import numpy

from ..context import Context, cpu, gpu
from .ndarray import NDArray

__all__ = ["from_dlpack", "to_dlpack_for_read", "to_dlpack_for_write", "dlpack_device",
           "install"]

_DL_CPU, _DL_CUDA, _DL_CUDA_HOST = 1, 2, 3
_DEVICE_NAMES = {1: "CPU", 2: "CUDA", 3: "CUDA host", 4: "OpenCL", 7: "Vulkan", 8: "Metal",
                 9: "VPI", 10: "ROCm", 11: "ROCm host", 13: "CUDA managed", 14: "oneAPI"}
_LEGACY_NAME, _VERSIONED_NAME = b"dltensor", b"dltensor_versioned"
_READ_ONLY_FLAG = 1      # DLPACK_FLAG_BITMASK_READ_ONLY


# ------------------------------------------------------------------ the C structs
class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):                 # capsule "dltensor"
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


class _DLManagedTensorVersioned(ctypes.Structure):        # capsule "dltensor_versioned"
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32),
                ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p),
                ("flags", ctypes.c_uint64), ("dl_tensor", _DLTensor)]


_capsule_is_valid = ctypes.pythonapi.PyCapsule_IsValid
_capsule_is_valid.restype = ctypes.c_int
_capsule_is_valid.argtypes = [ctypes.py_object, ctypes.c_char_p]
_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def _is_capsule(obj) -> bool:
    return type(obj).__name__ == "PyCapsule"


def _capsule_device(capsule, where: str) -> Tuple[int, int]:
    """(device type, device id) of an unconsumed DLPack capsule, read from its struct."""
    if _capsule_is_valid(capsule, _VERSIONED_NAME):
        managed = _DLManagedTensorVersioned.from_address(
            _capsule_pointer(capsule, _VERSIONED_NAME))
    elif _capsule_is_valid(capsule, _LEGACY_NAME):
        managed = _DLManagedTensor.from_address(_capsule_pointer(capsule, _LEGACY_NAME))
    else:
        raise ValueError(f"{where}: the PyCapsule is not an unused DLPack tensor (its name is "
                         f"not 'dltensor' or 'dltensor_versioned'); a DLPack capsule can be "
                         f"imported once only, and this one may have been consumed already")
    device = managed.dl_tensor.device
    return int(device.device_type), int(device.device_id)


class _CapsuleProducer:
    """Gives a bare capsule (MXNet's ``to_dlpack_for_*``, ``torch.utils.dlpack.to_dlpack``)
    the ``__dlpack__``/``__dlpack_device__`` protocol that ``numpy.from_dlpack`` and
    ``cupy.from_dlpack`` accept. The capsule can be handed out once."""

    def __init__(self, capsule, device: Tuple[int, int]) -> None:
        self._capsule, self._device = capsule, device

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        capsule, self._capsule = self._capsule, None
        if capsule is None:
            raise BufferError("from_dlpack: this DLPack capsule was consumed already")
        return capsule         # as it is: the consumer reads its name (legacy or 1.0)

    def __dlpack_device__(self) -> Tuple[int, int]:
        return self._device


def _device_name(device: Tuple[int, int]) -> str:
    kind = _DEVICE_NAMES.get(device[0], f"type {device[0]}")
    return f"DLPack {kind} device {device[1]}"


# ---------------------------------------------------------------------- export
def dlpack_device(array: NDArray) -> Tuple[int, int]:
    """``(device type, device id)`` of the array as DLPack names it: (1, 0) on cpu,
    (2, i) on gpu(i)."""
    ctx = array.context
    if ctx.device_type == "gpu":
        return (_DL_CUDA, ctx.device_id)
    return (_DL_CPU, 0)


def _export(array: NDArray, data, what: str, shares: bool = True, **kwargs):
    """A DLPack capsule of raw array ``data`` (NDArray ``array``'s memory, or a view of
    it, or with ``shares=False`` a copy): the array module's own ``__dlpack__``, called
    with the keywords given."""
    exporter = getattr(data, "__dlpack__", None)
    capsule = None
    if exporter is not None:
        try:
            capsule = exporter(**kwargs)
        except TypeError:
            if "max_version" not in kwargs:
                raise
            kwargs.pop("max_version")   # an older array module: the legacy capsule instead
            capsule = exporter(**kwargs)
    if not _is_capsule(capsule):
        xp = array.context.xp
        raise TypeError(f"{what}: the array of shape {array.shape} on {array.context} cannot "
                        f"be exported: its array module {xp.__name__} does not produce DLPack "
                        f"capsules (copy it with .asnumpy() instead)")
    if shares:
        array._version[1] = True    # another library now shares this memory
    return capsule


def ndarray_dlpack(array: NDArray, stream=None, max_version=None, dl_device=None, copy=None):
    """``NDArray.__dlpack__``: a DLPack capsule viewing the array's memory (the
    protocol behind ``numpy.from_dlpack(x)``, ``torch.from_dlpack(x)``, ...).

    ``dl_device`` other than the array's own is refused with ``BufferError`` (no
    implicit device-to-host copy); ``copy=True`` exports a copy.
    """
    own = dlpack_device(array)
    if dl_device is not None and tuple(int(v) for v in dl_device) != own:
        raise BufferError(f"NDArray.__dlpack__: the array is on {array.context} "
                          f"({_device_name(own)}); exporting it to "
                          f"{_device_name(tuple(dl_device))} would need a copy across "
                          f"devices; use .asnumpy() or .as_in_context() first")
    data = array.data
    if copy:
        with array.context.scope():
            data = data.copy()
    kwargs = {key: value for key, value in (("stream", stream), ("max_version", max_version))
              if value is not None}
    with array.context.scope():
        return _export(array, data, "NDArray.__dlpack__", shares=not copy, **kwargs)


def to_dlpack_for_read(data: NDArray):
    """A DLPack capsule viewing ``data`` for reading (MXNet's name), after pending
    writes to it are done. On cpu the capsule is flagged read-only (DLPack 1.0), so
    NumPy and ``from_dlpack`` give read-only views; ``torch.utils.dlpack.from_dlpack``
    and CuPy accept it too."""
    _check_ndarray(data, "to_dlpack_for_read")
    data.wait_to_read()
    raw = data.data
    with data.context.scope():
        if isinstance(raw, numpy.ndarray):
            raw = raw.view()
            raw.flags.writeable = False
        return _export(data, raw, "to_dlpack_for_read", max_version=(1, 0))


def to_dlpack_for_write(data: NDArray):
    """A writable DLPack capsule viewing ``data`` (MXNet's name), after pending reads
    and writes are done: writes through the consumer's view (``from_dlpack``,
    ``torch.utils.dlpack.from_dlpack``) change ``data``."""
    _check_ndarray(data, "to_dlpack_for_write")
    data.wait_to_write()
    with data.context.scope():
        return _export(data, data.data, "to_dlpack_for_write", max_version=(1, 0))


def _check_ndarray(data, where: str) -> None:
    if not isinstance(data, NDArray):
        raise TypeError(f"{where}: expected an NDArray, got {type(data).__name__}")


# ---------------------------------------------------------------------- import
def _context_of(device: Tuple[int, int], where: str) -> Context:
    kind, index = device
    if kind in (_DL_CPU, _DL_CUDA_HOST):
        return cpu(0)
    if kind == _DL_CUDA:
        return gpu(index)
    raise ValueError(f"{where}: the tensor is on {_device_name(device)}; framework arrays "
                     f"live on CPU (cpu) or CUDA (gpu) devices only")


def from_dlpack(dlpack) -> NDArray:
    """An NDArray viewing the memory of ``dlpack``: a DLPack capsule (MXNet's
    ``to_dlpack_for_read``/``for_write``, ``torch.utils.dlpack.to_dlpack``) or any
    object with ``__dlpack__`` (NumPy arrays, PyTorch tensors, CuPy arrays,
    NDArrays). No copy is made: writes through either view show in the other (a
    read-only producer gives a read-only NDArray). A CPU tensor becomes a cpu(0)
    array, a CUDA tensor on device i a gpu(i) array; shape, dtype and strides are
    kept. A capsule can be imported once.
    """
    where = "from_dlpack"
    if isinstance(dlpack, NDArray):                 # the same memory, no history
        return dlpack.detach()
    if _is_capsule(dlpack):
        device = _capsule_device(dlpack, where)
        producer = _CapsuleProducer(dlpack, device)
    elif hasattr(dlpack, "__dlpack__") and hasattr(dlpack, "__dlpack_device__"):
        device = tuple(int(v) for v in dlpack.__dlpack_device__())
        producer = dlpack
    else:
        raise TypeError(f"{where}: expected a DLPack capsule or an object with __dlpack__ "
                        f"and __dlpack_device__ (a NumPy array, a torch.Tensor, ...), got "
                        f"{type(dlpack).__name__}")
    ctx = _context_of(device, where)
    with ctx.scope():
        raw = ctx.xp.from_dlpack(producer)
    out = NDArray(raw, ctx)
    out._version[1] = True             # another library shares this memory
    return out


# ------------------------------------------------------------ NDArray methods
def _dlpack_method(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """A DLPack capsule viewing this array's memory, no copy (what
    ``numpy.from_dlpack(x)`` and ``torch.from_dlpack(x)`` call)."""
    return ndarray_dlpack(self, stream, max_version, dl_device, copy)


def _dlpack_device_method(self) -> Tuple[int, int]:
    """(DLPack device type, id): (1, 0) on cpu, (2, i) on gpu(i)."""
    return dlpack_device(self)


def _for_read_method(self):
    """A DLPack capsule viewing this array for reading (read-only on cpu)."""
    return to_dlpack_for_read(self)


def _for_write_method(self):
    """A writable DLPack capsule viewing this array."""
    return to_dlpack_for_write(self)


def install() -> None:
    """Attach ``__dlpack__``, ``__dlpack_device__``, ``to_dlpack_for_read`` and
    ``to_dlpack_for_write`` to NDArray (called once by ``framework.ndarray``)."""
    NDArray.__dlpack__ = _dlpack_method
    NDArray.__dlpack_device__ = _dlpack_device_method
    NDArray.to_dlpack_for_read = _for_read_method
    NDArray.to_dlpack_for_write = _for_write_method
