"""The IDX file format (MNIST and friends), raw or gzip-compressed.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim``
big-endian uint32 dimensions, then the elements in C order, big-endian.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from typing import Optional, Union

import numpy

__all__ = ["read_idx", "IDX_TYPES"]

# type code (third magic byte) -> element type, big-endian as stored
IDX_TYPES = {
    0x08: numpy.dtype("u1"),
    0x09: numpy.dtype("i1"),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22


def _open(path: str):
    """The file opened for binary reading, decompressing when it is gzip."""
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == _GZIP_MAGIC else open(path, "rb")


def _read_exact(f, n: int, path: str, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ValueError(f"read_idx: {path} is truncated: expected {n} bytes of {what}, "
                         f"found {len(data)}")
    return data


def _parse(f, path: str, hasher) -> numpy.ndarray:
    magic = _read_exact(f, 4, path, "magic number")
    hasher.update(magic)
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_TYPES)
        raise ValueError(
            f"read_idx: {path} is not an IDX file: magic number 0x{magic.hex().upper()} should "
            f"be 0x0000TTNN with type code TT in ({known}) and NN the number of dimensions")
    dtype, ndim = IDX_TYPES[magic[2]], magic[3]
    if ndim == 0:
        raise ValueError(f"read_idx: {path} declares 0 dimensions (magic number "
                         f"0x{magic.hex().upper()}); expected at least 1")
    header = _read_exact(f, 4 * ndim, path, f"{ndim} dimension sizes")
    hasher.update(header)
    shape = tuple(int(d) for d in numpy.frombuffer(header, dtype=">u4"))
    out = numpy.empty(shape, dtype=dtype)
    view = memoryview(out).cast("B")
    filled = 0
    while filled < len(view):
        n = f.readinto(view[filled:filled + _CHUNK])
        if not n:
            raise ValueError(
                f"read_idx: {path} is truncated: shape {shape} of {dtype.name} needs "
                f"{len(view)} data bytes, found {filled}")
        filled += n
    hasher.update(view)
    extra = len(f.read(_CHUNK))
    if extra:
        raise ValueError(f"read_idx: {path} has {extra}{'+' if extra == _CHUNK else ''} bytes "
                         f"after the {len(view)} data bytes of shape {shape}; expected none")
    return out


def read_idx(path: Union[str, os.PathLike], md5: Optional[str] = None) -> numpy.ndarray:
    """Read an IDX file (gzip-compressed or not) into a NumPy array.

    The result has the shape stored in the file and its element type in native
    byte order (uint8 for MNIST). With ``md5`` given, the MD5 of the
    (decompressed) file contents must match it, else ``ValueError``.
    Malformed files (bad magic number, truncated, trailing bytes, broken gzip)
    raise ``ValueError`` naming the file and what was wrong.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"read_idx: no file at {path}")
    hasher = hashlib.md5()
    try:
        with _open(path) as f:
            out = _parse(f, path, hasher)
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise ValueError(f"read_idx: {path} is a corrupt or truncated gzip file: {err}") from None
    if md5 is not None and hasher.hexdigest() != md5.lower():
        raise ValueError(f"read_idx: {path} has contents with MD5 {hasher.hexdigest()}, "
                         f"expected {md5.lower()}; the file is corrupt or not the one expected")
    if not out.dtype.isnative:
        out = out.astype(out.dtype.newbyteorder("="))
    return out
