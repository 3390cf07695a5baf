"""Saving and loading NDArrays: ``nd.save(fname, data)`` and ``nd.load(fname, ctx=None)``.

``data`` is an NDArray, a list of NDArrays or a dict of str to NDArray; ``load``
gives back a list (for an NDArray or a list) or a dict, as MXNet's ``nd.load``.

Two formats, told apart on loading by their first bytes:

* ``format='hdf5'`` (the default; written by ``nd.save``, ``save_parameters``):
  an HDF5 file (h5py) holding one dataset per array, dtype and shape kept.
  A dict's arrays are named by their keys (``features.0.weight``,
  ``arg:conv0_weight``; a ``/``, which HDF5 would read as a group, is stored
  as ``%2F`` and ``%`` as ``%25``, and each dataset also keeps its key in a
  ``name`` attribute), in the dict's order; a list's are named ``0``, ``1``, ...
  File attributes: ``format`` (``'framework.nd'``), ``format_version`` (1),
  ``container`` (``'list'`` or ``'dict'``) and ``framework_version``.
* ``format='mxnet'``: MXNet 1.x's binary NDArray-list file (``.params``, magic
  ``0x112``), which MXNet's ``nd.load``, ``load_parameters`` and
  ``collect_params().load`` read. Arrays are written as MXNet writes them
  outside NumPy-shape mode (per-array magic ``0xF993fac9``, dense storage,
  context cpu(0)), except 0-d arrays, which only MXNet's NumPy-shape format
  (``0xF993faca``) can hold: MXNet reads those after ``mx.npx.set_np()``.
  MXNet 1.x has no int16, uint16, uint32 or uint64 arrays, so those are refused.

Reading MXNet files accepts the per-array formats MXNet 1.x writes (magic
``0xF993fac9``, ``0xF993faca``, and the older ``0xF993fac8`` and pre-magic
layouts), dense storage only (a sparse array is an error), with element types
float32, float64, float16, uint8, int32, int8, int64, bool, int16, uint16,
uint32, uint64, and bfloat16, which is loaded as float32 (exactly: every
bfloat16 value is a float32 value; NumPy has no bfloat16). A file with names
loads as a dict, one without as a list.

Every write goes through ``framework._fileio.atomic_write``: a crash or a full
disk leaves the previous file intact. A missing, empty, truncated, damaged or
foreign file is an error that names it and says what is wrong.
"""
from __future__ import annotations

import math
import os
import struct
from typing import BinaryIO, Dict, List, Optional, Sequence, Tuple, Union

import numpy

from .._fileio import atomic_write
from .._version import __version__
from ..context import Context, current_context
from .ndarray import NDArray

__all__ = ["save", "load"]

Saveable = Union[NDArray, Sequence[NDArray], Dict[str, NDArray]]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
FORMAT_MARKER = "framework.nd"
FORMAT_VERSION = 1

MXNET_LIST_MAGIC = 0x112
MXNET_LIST_HEADER = struct.pack("<Q", MXNET_LIST_MAGIC)
MXNET_V1_MAGIC = 0xF993FAC8       # shape with int64 dims, no storage type
MXNET_V2_MAGIC = 0xF993FAC9       # + storage type (MXNet 1.x default)
MXNET_V3_MAGIC = 0xF993FACA       # + NumPy shape semantics (0-d arrays; ndim -1 is unknown)
_MXNET_LEGACY_MAX_NDIM = 32       # before V1 the first word was the ndim itself

# MXNet (mshadow) type flags and the NumPy dtype each is loaded as
_MXNET_DTYPES = {0: "float32", 1: "float64", 2: "float16", 3: "uint8", 4: "int32", 5: "int8",
                 6: "int64", 7: "bool", 8: "int16", 9: "uint16", 10: "uint32", 11: "uint64"}
_MXNET_BFLOAT16 = 12
_MXNET_FLAG_OF = {numpy.dtype(name): flag for flag, name in _MXNET_DTYPES.items() if flag <= 7}
_MXNET_STORAGE = {0: "default", 1: "row_sparse", 2: "csr"}
_MXNET_DEVICES = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}

_HDF5_DTYPES = {numpy.dtype(name) for name in (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool")}


# ---------------------------------------------------------------------------- public API
def save(fname, data: Saveable, format: str = "hdf5") -> None:
    """Save an NDArray, a list of NDArrays or a dict str -> NDArray to ``fname``, atomically.

    ``format='hdf5'`` (default) writes the framework's HDF5 file; ``format='mxnet'``
    writes MXNet 1.x's binary ``.params`` format, for handing files back to MXNet.
    ``nd.load`` reads both. Device arrays are copied to the host with ``asnumpy()``.
    """
    path = _path(fname, "nd.save")
    names, arrays = _entries(data)
    if format == "hdf5":
        _check_hdf5_dtypes(names, arrays, path)
        _save_hdf5(path, names, arrays)
    elif format == "mxnet":
        _check_mxnet_dtypes(names, arrays, path)
        _save_mxnet(path, names, arrays)
    else:
        raise ValueError(f"nd.save: format {format!r} is not 'hdf5' or 'mxnet'")


def load(fname, ctx: Optional[Context] = None) -> Union[List[NDArray], Dict[str, NDArray]]:
    """Load the arrays saved in ``fname`` onto ``ctx`` (default: the current context).

    Reads the framework's HDF5 files and MXNet's binary ``.params`` files (recognised by
    their first bytes). Returns a dict when the file names its arrays, else a list.
    """
    path = _path(fname, "nd.load")
    ctx = current_context() if ctx is None else Context(ctx)
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"nd.load: '{path}' does not exist") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"nd.load: '{path}' is a directory, not a file") from None
    except OSError as err:
        raise type(err)(f"nd.load: cannot open '{path}': {err.strerror or err}") from None
    with file:
        if os.path.isdir(path):          # Windows opens folders without IsADirectoryError
            raise IsADirectoryError(f"nd.load: '{path}' is a directory, not a file")
        head = file.read(len(HDF5_SIGNATURE))
        file.seek(0)
        if head == HDF5_SIGNATURE:
            names, hosts = _load_hdf5(file, path)
        elif head == MXNET_LIST_HEADER:
            names, hosts = _MXNetReader(file, path).read()
        else:
            raise ValueError(_unknown_format_message(path, head))
    arrays = [_to_context(host, ctx) for host in hosts]
    return arrays if names is None else dict(zip(names, arrays))


# ---------------------------------------------------------------------------- input checks
def _path(fname, where: str) -> str:
    if not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"{where}: fname must be a str or path, got {type(fname).__name__}")
    return os.fspath(fname)


def _entries(data) -> Tuple[Optional[List[str]], List[NDArray]]:
    """(names or None for a list, arrays) of ``nd.save``'s ``data``."""
    expected = "an NDArray, a list of NDArrays or a dict of str to NDArray"
    if isinstance(data, NDArray):
        return None, [data]
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                raise TypeError(f"nd.save: dict keys must be str, got {key!r} "
                                f"({type(key).__name__}); data must be {expected}")
            if "\x00" in key:
                raise ValueError(f"nd.save: the name {key!r} contains a NUL character")
            if not isinstance(value, NDArray):
                raise TypeError(f"nd.save: data[{key!r}] is a {type(value).__name__}, not an "
                                f"NDArray; data must be {expected}")
        return list(data), list(data.values())
    if isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            if not isinstance(value, NDArray):
                raise TypeError(f"nd.save: data[{i}] is a {type(value).__name__}, not an "
                                f"NDArray; data must be {expected}")
        return None, list(data)
    raise TypeError(f"nd.save: data must be {expected}, got {type(data).__name__}")


def _label(names, i: int) -> str:
    return f"array {i}" if names is None else f"array {names[i]!r}"


def _check_hdf5_dtypes(names, arrays, path) -> None:
    for i, array in enumerate(arrays):
        dtype = numpy.dtype(array.dtype)
        if dtype not in _HDF5_DTYPES:
            raise TypeError(f"nd.save: cannot save {_label(names, i)} of dtype {dtype} to "
                            f"'{path}'; supported: {sorted(str(d) for d in _HDF5_DTYPES)}")


def _check_mxnet_dtypes(names, arrays, path) -> None:
    for i, array in enumerate(arrays):
        dtype = numpy.dtype(array.dtype)
        if dtype not in _MXNET_FLAG_OF:
            raise TypeError(f"nd.save: MXNet 1.x cannot read {_label(names, i)} of dtype {dtype} "
                            f"(writing '{path}'); MXNet's dtypes: "
                            f"{sorted(str(d) for d in _MXNET_FLAG_OF)}; cast it with astype first")


def _to_context(host: numpy.ndarray, ctx: Context) -> NDArray:
    if ctx.xp is numpy:
        return NDArray(host, ctx)
    with ctx.scope():
        return NDArray(ctx.xp.asarray(host), ctx)


def _unknown_format_message(path: str, head: bytes) -> str:
    if not head:
        return (f"nd.load: '{path}' is empty (0 bytes); expected a framework HDF5 file or "
                f"an MXNet .params file")
    if HDF5_SIGNATURE.startswith(head) or MXNET_LIST_HEADER.startswith(head):
        return f"nd.load: '{path}' is truncated: it holds only {len(head)} bytes"
    return (f"nd.load: '{path}' is not a framework HDF5 file or an MXNet .params file "
            f"(first bytes: {head.hex(' ')})")


# ---------------------------------------------------------------------------- HDF5
def _dataset_name(key: str) -> str:
    """``key`` as an HDF5 link name: no '/', and not the names '' or '.'."""
    escaped = key.replace("%", "%25").replace("/", "%2F")
    return {"": "%", ".": "%2E"}.get(escaped, escaped)


def _key_of(dataset_name: str) -> str:
    if dataset_name in ("%", "%2E"):
        return {"%": "", "%2E": "."}[dataset_name]
    return dataset_name.replace("%2F", "/").replace("%25", "%")


def _save_hdf5(path: str, names, arrays) -> None:
    import h5py
    with atomic_write(path, "w+b") as file:
        with h5py.File(file, "w", track_order=True) as h5:
            h5.attrs["format"] = FORMAT_MARKER
            h5.attrs["format_version"] = FORMAT_VERSION
            h5.attrs["framework_version"] = __version__
            h5.attrs["container"] = "list" if names is None else "dict"
            for i, array in enumerate(arrays):
                if names is None:
                    h5.create_dataset(str(i), data=array.asnumpy())
                else:
                    dataset = h5.create_dataset(_dataset_name(names[i]), data=array.asnumpy())
                    dataset.attrs["name"] = names[i]


def _load_hdf5(file: BinaryIO, path: str):
    import h5py
    try:
        h5 = h5py.File(file, "r")
    except OSError as err:
        raise ValueError(f"nd.load: '{path}' is a truncated or damaged HDF5 file "
                         f"(h5py: {err})") from None
    with h5:
        marker = _attribute(h5, "format")
        if marker != FORMAT_MARKER:
            raise ValueError(f"nd.load: '{path}' is an HDF5 file, but not one written by "
                             f"nd.save or save_parameters (its 'format' attribute is {marker!r}, "
                             f"expected {FORMAT_MARKER!r})")
        version = _attribute(h5, "format_version")
        if version != FORMAT_VERSION:
            raise ValueError(f"nd.load: '{path}' has format version {version!r} (written by "
                             f"framework {_attribute(h5, 'framework_version')!r}); framework "
                             f"{__version__} reads version {FORMAT_VERSION}")
        container = _attribute(h5, "container")
        if container not in ("list", "dict"):
            raise ValueError(f"nd.load: '{path}' is damaged: its 'container' attribute is "
                             f"{container!r}, expected 'list' or 'dict'")
        links = list(h5)
        if container == "list":
            if sorted(links, key=_list_position) != [str(i) for i in range(len(links))]:
                raise ValueError(f"nd.load: '{path}' is damaged: a list file must hold datasets "
                                 f"'0'...'{len(links) - 1}', found {links}")
            links.sort(key=int)
        names, hosts = [], []
        for link in links:
            dataset = h5.get(link)
            if not isinstance(dataset, h5py.Dataset):
                raise ValueError(f"nd.load: '{path}' is damaged: {link!r} is not a dataset")
            dtype = dataset.dtype
            if dtype not in _HDF5_DTYPES:
                raise ValueError(f"nd.load: '{path}': dataset {link!r} has dtype {dtype}, "
                                 f"which is not an NDArray dtype")
            try:
                value = numpy.asarray(dataset[()])
            except (OSError, RuntimeError) as err:
                raise ValueError(f"nd.load: '{path}' is damaged: reading dataset {link!r} "
                                 f"{dataset.shape} {dtype} failed (h5py: {err})") from None
            names.append(dataset.attrs.get("name", _key_of(link)))
            hosts.append(value if value.flags.writeable else value.copy())
    return (None if container == "list" else names), hosts


def _attribute(h5, name: str):
    """A file attribute as a plain Python value (None when absent)."""
    value = h5.attrs.get(name)
    return value.item() if isinstance(value, numpy.generic) else value


def _list_position(link: str):
    return (0, int(link)) if link.isdigit() else (1, link)


# ---------------------------------------------------------------------------- MXNet binary
def _save_mxnet(path: str, names, arrays) -> None:
    with atomic_write(path, "wb") as file:
        file.write(struct.pack("<QQQ", MXNET_LIST_MAGIC, 0, len(arrays)))
        for array in arrays:
            host = numpy.asarray(array.asnumpy(), order="C")      # keeps 0-d arrays 0-d
            host = host.astype(host.dtype.newbyteorder("<"), copy=False)
            magic = MXNET_V3_MAGIC if host.ndim == 0 else MXNET_V2_MAGIC
            file.write(struct.pack(f"<Iii{host.ndim}q", magic, 0, host.ndim, *host.shape))
            file.write(struct.pack("<iii", 1, 0, _MXNET_FLAG_OF[numpy.dtype(host.dtype.name)]))
            file.write(host.reshape(-1).view(numpy.uint8))
        encoded = [] if names is None else [name.encode("utf-8") for name in names]
        file.write(struct.pack("<Q", len(encoded)))
        for name in encoded:
            file.write(struct.pack("<Q", len(name)))
            file.write(name)


class _MXNetReader:
    """Reads MXNet's NDArray-list file: header, arrays (NDArray::Save each), names."""

    def __init__(self, file: BinaryIO, path: str) -> None:
        self.file = file
        self.path = path
        self.size = os.fstat(file.fileno()).st_size

    def remaining(self) -> int:
        return self.size - self.file.tell()

    def fail(self, what: str) -> ValueError:
        return ValueError(f"nd.load: '{self.path}' is a damaged MXNet .params file: {what}")

    def take(self, fmt: str, what: str) -> tuple:
        """Unpack ``fmt`` (little-endian) from the file; ``what`` names it if too few bytes."""
        count = struct.calcsize("<" + fmt)
        raw = self.file.read(count)
        if len(raw) < count:
            raise ValueError(f"nd.load: '{self.path}' is truncated: {what} expects {count} "
                             f"bytes, {len(raw)} remain")
        return struct.unpack("<" + fmt, raw)

    def read(self) -> Tuple[Optional[List[str]], List[numpy.ndarray]]:
        _, _, count = self.take("QQQ", "the file header")
        if count * 4 > self.remaining():          # an array record takes 4 bytes at least
            raise ValueError(f"nd.load: '{self.path}' is truncated: its header announces "
                             f"{count} arrays, but only {self.remaining()} bytes follow")
        hosts = [self.read_array(i, count) for i in range(count)]
        (name_count,) = self.take("Q", "the count of names")
        if name_count not in (0, count):
            raise self.fail(f"it holds {count} arrays but {name_count} names")
        names = [self.read_name(i, name_count) for i in range(name_count)]
        if self.remaining():
            raise self.fail(f"{self.remaining()} unexpected bytes follow the names")
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise self.fail(f"the names {twice} appear more than once")
        return (names or None), hosts

    def read_name(self, i: int, count: int) -> str:
        where = f"name {i + 1} of {count}"
        (length,) = self.take("Q", where)
        if length > self.remaining():
            raise ValueError(f"nd.load: '{self.path}' is truncated: {where} expects {length} "
                             f"bytes, {self.remaining()} remain")
        raw = self.file.read(length)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{where} is not UTF-8 text: {raw[:40]!r}") from None

    def read_shape(self, where: str, dim_format: str, ndim: int) -> Tuple[int, ...]:
        if not -1 <= ndim <= _MXNET_LEGACY_MAX_NDIM:
            raise self.fail(f"{where} has {ndim} dimensions")
        return self.take(f"{max(ndim, 0)}{dim_format}", f"the shape of {where}")

    def read_array(self, i: int, count: int) -> numpy.ndarray:
        where = f"array {i + 1} of {count}"
        (magic,) = self.take("I", where)
        if magic in (MXNET_V2_MAGIC, MXNET_V3_MAGIC):
            (storage,) = self.take("i", f"the storage type of {where}")
            if storage != 0:
                kind = _MXNET_STORAGE.get(storage)
                if kind is None:
                    raise self.fail(f"{where} has unknown storage type {storage}")
                raise ValueError(f"nd.load: '{self.path}': {where} is a sparse ({kind}) array; "
                                 f"only dense arrays can be loaded (convert it in MXNet with "
                                 f"tostype('default') and save again)")
        if magic in (MXNET_V1_MAGIC, MXNET_V2_MAGIC, MXNET_V3_MAGIC):
            (ndim,) = self.take("i", f"the shape of {where}")
            shape = self.read_shape(where, "q", ndim)
        elif magic <= _MXNET_LEGACY_MAX_NDIM:        # pre-V1: the magic is the ndim
            ndim, shape = magic, self.read_shape(where, "I", magic)
        else:
            raise self.fail(f"{where} starts with the unknown magic number {magic:#x}")
        unknown = ((ndim == -1 or any(d < 0 for d in shape)) if magic == MXNET_V3_MAGIC
                   else ndim == 0)
        if unknown:
            raise ValueError(f"nd.load: '{self.path}': {where} has no data (an MXNet 'none' "
                             f"array of unknown shape {shape})")
        if any(d < 0 for d in shape):
            raise self.fail(f"{where} has the shape {shape}")
        device, _ = self.take("ii", f"the context of {where}")
        if device not in _MXNET_DEVICES:
            raise self.fail(f"{where} has unknown device type {device}")
        (flag,) = self.take("i", f"the dtype of {where}")
        if flag == _MXNET_BFLOAT16:
            bits = self.read_data(where, shape, numpy.dtype("<u2"))
            return (bits.astype(numpy.uint32) << 16).view(numpy.float32)
        if flag not in _MXNET_DTYPES:
            raise self.fail(f"{where} has unknown type flag {flag} (known: "
                            f"{ {**_MXNET_DTYPES, _MXNET_BFLOAT16: 'bfloat16'} })")
        dtype = numpy.dtype(_MXNET_DTYPES[flag]).newbyteorder("<")
        host = self.read_data(where, shape, dtype)
        return host.astype(host.dtype.newbyteorder("="), copy=False)

    def read_data(self, where: str, shape, dtype: numpy.dtype) -> numpy.ndarray:
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > self.remaining():
            raise ValueError(f"nd.load: '{self.path}' is truncated: {where} "
                             f"{tuple(shape)} {dtype.name} expects {nbytes} bytes, "
                             f"{self.remaining()} remain")
        host = numpy.empty(shape, dtype)
        if nbytes:
            self.file.readinto(host.reshape(-1).view(numpy.uint8))
        return host
