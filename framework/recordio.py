"""``framework.recordio`` (MXNet's ``mx.recordio``): RecordIO files, read and written in
MXNet's binary format, so that ``.rec``/``.idx`` files made by MXNet (``im2rec``,
``mx.recordio``) are read here and files written here are read by MXNet.

    rec = MXIndexedRecordIO("data.idx", "data.rec", "w")
    rec.write_idx(0, pack(IRHeader(0, 3.0, 0, 0), b"payload"))
    rec.close()                                    # the files appear now, whole
    rec = MXIndexedRecordIO("data.idx", "data.rec", "r")
    header, payload = unpack(rec.read_idx(0))      # HEADER(flag=0, label=3.0, id=0, id2=0)

The format (dmlc-core's RecordIO, little-endian). A record is

    uint32 magic 0xced7230a | uint32 lrec | data | zero padding to a multiple of 4 bytes

where ``lrec = cflag << 29 | length`` (length < 2**29). A payload that holds the magic
number at a 4-byte-aligned offset is cut there into parts, so that a reader can
resynchronise on the magic: ``cflag`` is 0 for a whole record, 1 for the first part,
2 for a middle part and 3 for the last; the magic words removed at the cuts are put
back on reading. The ``.idx`` file is text, one ``key<TAB>byte offset`` line per record.
``pack``/``unpack`` add MXNet's image-record header, ``IRHeader`` (struct ``'IfQQ'``:
flag, label, id, id2); with several labels, ``flag`` is their count and the float32
labels follow the header.

Files are written atomically (``framework._fileio.atomic_write``): in ``'w'`` mode records
go to a temporary file beside the destination, which replaces ``uri`` (and the index
replaces ``idx_path``) at ``close()``; a writer that fails or is never closed leaves the
previous files as they were. Nothing is pickled: an open reader pickles as its path (for
DataLoader worker processes) and reopens the file where it is unpickled, or in a forked
process on first read.

Imports only NumPy, the standard library and ``framework._fileio``; Pillow (the optional
``vision`` extra) is imported by ``pack_img``/``unpack_img`` when they are called.
"""
from __future__ import annotations

import io
import numbers
import os
import struct
from collections import namedtuple
from typing import Dict, List, Optional, Tuple

import numpy

from ._fileio import atomic_write

__all__ = ["MXRecordIO", "MXIndexedRecordIO", "IRHeader", "pack", "unpack", "pack_img",
           "unpack_img"]

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_LENGTH_BITS = 29
_MAX_LENGTH = (1 << _LENGTH_BITS) - 1
_WHOLE, _FIRST, _MIDDLE, _LAST = 0, 1, 2, 3

_IR_FORMAT = "<IfQQ"
_IR_SIZE = struct.calcsize(_IR_FORMAT)      # 24 bytes

IRHeader = namedtuple("HEADER", ["flag", "label", "id", "id2"])
IRHeader.__doc__ = """The header of an image record (MXNet's ``IRHeader``).

flag: 0 for one label; the number of labels when ``label`` is an array.
label: a number, or an array of float32 labels.
id, id2: the record's id (low and high 64 bits; id2 is usually 0).
"""


def _padding(length: int) -> int:
    return -length % 4


class MXRecordIO:
    """Sequential reading (``flag='r'``) or writing (``flag='w'``) of a RecordIO file.

    ``read()`` returns the next record as bytes, or None at the end of the file;
    ``write(buf)`` appends one record (bytes-like, under 2**29 bytes); ``reset()`` goes
    back to the first record (in ``'w'`` mode it drops what was written since ``open``);
    ``close()`` ends reading, or commits the written file. Also a context manager: a
    ``with`` block that raises leaves the previous file in place.
    """

    def __init__(self, uri, flag: str) -> None:
        self.uri = os.fspath(uri)
        self.flag = flag
        self.is_open = False
        self.writable = flag == "w"
        self.pid: Optional[int] = None
        self._file = None
        self._commit = None          # the atomic_write context of a writer
        self.open()

    # ---------------------------------------------------------------- life cycle
    def open(self) -> None:
        """Open the file: for reading, or a fresh file for writing (see ``close``)."""
        if self.flag == "r":
            try:
                self._file = open(self.uri, "rb")
            except FileNotFoundError:
                raise FileNotFoundError(f"{type(self).__name__}: the record file "
                                        f"'{self.uri}' does not exist") from None
            self.writable = False
        elif self.flag == "w":
            self._commit = atomic_write(self.uri, "wb")
            self._file = self._commit.__enter__()
            self.writable = True
        else:
            raise ValueError(f"{type(self).__name__}: flag must be 'r' or 'w', got {self.flag!r}")
        self.pid = os.getpid()
        self.is_open = True

    def close(self) -> None:
        """Close the file; a writer's records replace ``uri`` now, all at once."""
        self._finish(None)

    def _finish(self, error: Optional[BaseException]) -> None:
        """Close; a writer commits (``error`` None) or drops its temporary file."""
        if not self.is_open:
            return
        self.is_open = False
        commit, self._commit = self._commit, None
        file, self._file = self._file, None
        if os.getpid() != self.pid:         # a forked copy: only the opener may commit
            return
        if commit is None:
            file.close()
        elif error is None:
            commit.__exit__(None, None, None)
        else:
            commit.__exit__(type(error), error, error.__traceback__)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._finish(exc)

    def __del__(self) -> None:
        if getattr(self, "is_open", False):
            self.close()

    def reset(self) -> None:
        """Back to the first record; in ``'w'`` mode, drop what was written since ``open``."""
        if self.is_open and self.writable:
            self._finish(RuntimeError("reset"))
        else:
            self.close()
        self.open()

    def __getstate__(self) -> dict:
        """Pickle as the path and flag; an open reader is reopened when unpickled."""
        if self.writable and self.is_open:
            raise TypeError(f"{type(self).__name__}: a record file open for writing "
                            f"('{self.uri}') cannot be pickled")
        state = {k: v for k, v in self.__dict__.items() if k not in ("_file", "_commit")}
        state.update(_file=None, _commit=None)
        return state

    def __setstate__(self, state: dict) -> None:
        was_open = state["is_open"]
        self.__dict__.update(state)
        self.is_open = False
        if was_open:
            self.open()

    def _check_pid(self, allow_reset: bool) -> None:
        """In a process other than the opener (a fork), reopen a reader; refuse to write."""
        if self.pid == os.getpid():
            return
        if not allow_reset:
            raise RuntimeError(f"{type(self).__name__}: '{self.uri}' was opened for writing in "
                               f"process {self.pid}; it cannot be written from process "
                               f"{os.getpid()}")
        self.is_open = False               # the forked copy of the parent's file is dropped
        self._file = None
        self.open()

    def _need(self, writing: bool, what: str) -> None:
        if not self.is_open:
            raise ValueError(f"{type(self).__name__}.{what}: '{self.uri}' is closed")
        if writing != self.writable:
            raise ValueError(f"{type(self).__name__}.{what}: '{self.uri}' is open with flag "
                             f"{self.flag!r}; {what} needs flag {'w' if writing else 'r'!r}")

    # ---------------------------------------------------------------- records
    def write(self, buf) -> None:
        """Append one record: ``buf`` is bytes, bytearray or a memoryview."""
        self._need(True, "write")
        self._check_pid(allow_reset=False)
        if isinstance(buf, str) or not isinstance(buf, (bytes, bytearray, memoryview)):
            raise TypeError(f"{type(self).__name__}.write: a record is bytes-like, got "
                            f"{type(buf).__name__} (encode text first, e.g. s.encode())")
        data = bytes(buf)
        if len(data) > _MAX_LENGTH:
            raise ValueError(f"{type(self).__name__}.write: a record holds at most "
                             f"{_MAX_LENGTH} bytes (2**29 - 1), got {len(data)}")
        self._file.write(_encode_record(data))

    def read(self) -> Optional[bytes]:
        """The next record as bytes; None at the end of the file."""
        self._need(False, "read")
        self._check_pid(allow_reset=True)
        return _read_record(self._file, self.uri)


def _encode_record(data: bytes) -> bytes:
    """One record in RecordIO format: cut at aligned magic words, headers, padding."""
    aligned = len(data) // 4 * 4
    words = numpy.frombuffer(data, dtype="<u4", count=aligned // 4)
    cuts = (numpy.flatnonzero(words == MAGIC) * 4).tolist()
    parts = []
    start = 0
    for cut in cuts:                     # rare: one part per magic word in the payload
        flag = _FIRST if start == 0 else _MIDDLE
        parts.append(struct.pack("<II", MAGIC, flag << _LENGTH_BITS | (cut - start)))
        parts.append(data[start:cut])
        start = cut + 4
    flag = _LAST if cuts else _WHOLE
    parts.append(struct.pack("<II", MAGIC, flag << _LENGTH_BITS | (len(data) - start)))
    parts.append(data[start:])
    parts.append(b"\0" * _padding(len(data)))
    return b"".join(parts)


def _read_record(file, uri: str) -> Optional[bytes]:
    """Read one record (all its parts) from ``file``; None at a clean end of file."""
    parts: List[bytes] = []
    while True:
        where = file.tell()
        head = file.read(8)
        if not head and not parts:
            return None
        if len(head) < 8:
            raise ValueError(f"MXRecordIO: '{uri}' is truncated: {len(head)} bytes at offset "
                             f"{where}, where a record header of 8 bytes was expected")
        magic, lrec = struct.unpack("<II", head)
        if magic != MAGIC:
            raise ValueError(f"MXRecordIO: '{uri}' is not a RecordIO file or is corrupt: "
                             f"expected the magic number 0x{MAGIC:08x} at offset {where}, "
                             f"found 0x{magic:08x}")
        flag, length = lrec >> _LENGTH_BITS, lrec & _MAX_LENGTH
        expected = (_WHOLE, _FIRST) if not parts else (_MIDDLE, _LAST)
        if flag not in expected:
            raise ValueError(f"MXRecordIO: '{uri}' is corrupt: a record part at offset {where} "
                             f"has continuation flag {flag}, expected one of {expected}")
        size = length + _padding(length)
        body = file.read(size)
        if len(body) < size:
            raise ValueError(f"MXRecordIO: '{uri}' is truncated: the record at offset {where} "
                             f"needs {size} bytes, only {len(body)} remain")
        parts.append(body[:length])
        if flag in (_WHOLE, _LAST):
            return _MAGIC_BYTES.join(parts)


class MXIndexedRecordIO(MXRecordIO):
    """A RecordIO file with an index (``.idx``) for reading records by key.

    idx_path: the index file (text: ``key<TAB>offset`` per line).
    uri: the record file. flag: ``'r'`` or ``'w'``. key_type: the type of the keys.
    ``keys`` lists the keys in file order; ``read_idx(key)`` reads one record;
    ``write_idx(key, buf)`` appends one. In ``'w'`` mode both files are replaced at
    ``close()`` (the records first, then the index).
    """

    def __init__(self, idx_path, uri, flag: str, key_type=int) -> None:
        self.idx_path = os.fspath(idx_path)
        self.idx: Dict = {}
        self.keys: List = []
        self.key_type = key_type
        self.fidx = None
        self._idx_commit = None
        super().__init__(uri, flag)

    def open(self) -> None:
        super().open()
        self.idx = {}
        self.keys = []
        if self.writable:
            try:
                self._idx_commit = atomic_write(self.idx_path, "w")
                self.fidx = self._idx_commit.__enter__()
            except BaseException as err:
                super()._finish(err)
                raise
            return
        try:
            with open(self.idx_path, "r", encoding="utf-8") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            super().close()
            raise FileNotFoundError(f"MXIndexedRecordIO: the index file '{self.idx_path}' of "
                                    f"'{self.uri}' does not exist") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            fields = line.strip().split("\t")
            try:
                key, offset = self.key_type(fields[0]), int(fields[1])
            except (ValueError, IndexError):
                super().close()
                raise ValueError(
                    f"MXIndexedRecordIO: line {number} of the index '{self.idx_path}' is "
                    f"{line!r}; expected '<key>\\t<offset>' with a {self.key_type.__name__} "
                    f"key") from None
            self.idx[key] = offset
            self.keys.append(key)
        self.fidx = None

    def _finish(self, error: Optional[BaseException]) -> None:
        if not self.is_open:
            return
        opener = self.pid == os.getpid()
        super()._finish(error)
        commit, self._idx_commit = self._idx_commit, None
        self.fidx = None
        if commit is not None and opener:
            if error is None:
                commit.__exit__(None, None, None)
            else:
                commit.__exit__(type(error), error, error.__traceback__)

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.update(fidx=None, _idx_commit=None)
        return state

    def seek(self, idx) -> None:
        """Put the read position at the record of key ``idx``."""
        self._need(False, "seek")
        self._check_pid(allow_reset=True)
        try:
            offset = self.idx[idx]
        except KeyError:
            raise KeyError(f"MXIndexedRecordIO: no record with key {idx!r} in the index "
                           f"'{self.idx_path}' ({len(self.keys)} keys)") from None
        self._file.seek(offset)

    def tell(self) -> int:
        """The byte offset where the next record will be written."""
        self._need(True, "tell")
        return self._file.tell()

    def read_idx(self, idx) -> bytes:
        """The record of key ``idx``."""
        self.seek(idx)
        record = self.read()
        if record is None:
            raise ValueError(f"MXIndexedRecordIO: the index '{self.idx_path}' gives offset "
                             f"{self.idx[idx]} for key {idx!r}, past the end of '{self.uri}'")
        return record

    def write_idx(self, idx, buf) -> None:
        """Append record ``buf`` under key ``idx`` (converted with ``key_type``)."""
        self._need(True, "write_idx")
        key = self.key_type(idx)
        offset = self.tell()
        self.write(buf)
        self.fidx.write(f"{key}\t{offset}\n")
        self.idx[key] = offset
        self.keys.append(key)


# ------------------------------------------------------------------ image records
def pack(header, s: bytes) -> bytes:
    """An image record: ``IRHeader`` ``header`` packed before the payload ``s``.

    A number label is stored in the header (flag 0); an array of labels is stored as
    float32 after the header, with flag set to their count.
    """
    header = IRHeader(*header)
    if isinstance(header.label, numbers.Number):
        header = header._replace(flag=0)
        prefix = b""
    else:
        labels = numpy.asarray(header.label, dtype=numpy.float32).reshape(-1)
        header = header._replace(flag=labels.size, label=0)
        prefix = labels.astype("<f4").tobytes()
    try:
        head = struct.pack(_IR_FORMAT, int(header.flag), float(header.label), int(header.id),
                           int(header.id2))
    except (struct.error, TypeError, ValueError) as err:
        raise ValueError(f"recordio.pack: cannot pack header {header}: {err} (flag and id are "
                         f"unsigned ints, id and id2 64-bit)") from None
    return head + prefix + bytes(s)


def unpack(s: bytes) -> Tuple[IRHeader, bytes]:
    """Split an image record into its ``IRHeader`` and payload (inverse of ``pack``).

    With ``flag > 0`` the header's label is the float32 array of ``flag`` labels.
    """
    if len(s) < _IR_SIZE:
        raise ValueError(f"recordio.unpack: a record of {len(s)} bytes is shorter than the "
                         f"{_IR_SIZE}-byte IRHeader")
    header = IRHeader(*struct.unpack(_IR_FORMAT, s[:_IR_SIZE]))
    s = s[_IR_SIZE:]
    if header.flag > 0:
        if len(s) < 4 * header.flag:
            raise ValueError(f"recordio.unpack: the header announces {header.flag} labels "
                             f"({4 * header.flag} bytes), only {len(s)} bytes follow it")
        labels = numpy.frombuffer(s, dtype="<f4", count=header.flag).astype(numpy.float32)
        header = header._replace(label=labels)
        s = s[4 * header.flag:]
    return header, s


def _pillow():
    try:
        from PIL import Image
    except ImportError as err:
        raise ImportError("recordio: encoding and decoding images needs Pillow, which is not "
                          "installed; install it with: pip install 'framework[vision]'") from err
    return Image


def unpack_img(s: bytes, iscolor: int = -1) -> Tuple[IRHeader, numpy.ndarray]:
    """The header and decoded image of an image record, as MXNet (OpenCV's ``imdecode``).

    iscolor: -1 as stored (H, W) for grey, (H, W, 3) BGR, (H, W, 4) BGRA; 0 grey
    (H, W); 1 colour (H, W, 3) BGR. Colour channels are in OpenCV's BGR order, as
    MXNet's ``unpack_img`` returns them. Needs Pillow.
    """
    header, payload = unpack(s)
    Image = _pillow()
    try:
        image = Image.open(io.BytesIO(payload))
        image.load()
    except Exception as err:
        raise ValueError(f"recordio.unpack_img: cannot decode the image of record id "
                         f"{header.id} ({len(payload)} bytes): {err}") from None
    if iscolor == 0:
        return header, numpy.asarray(image.convert("L"))
    if iscolor > 0:
        return header, numpy.asarray(image.convert("RGB"))[:, :, ::-1].copy()
    if image.mode in ("L", "I;16", "I;16L", "I;16B", "I", "F"):
        return header, numpy.asarray(image)
    if image.mode == "1":
        return header, numpy.asarray(image.convert("L"))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    rgb = numpy.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    order = [2, 1, 0, 3] if has_alpha else [2, 1, 0]
    return header, rgb[:, :, order]


def pack_img(header, img: numpy.ndarray, quality: int = 95, img_fmt: str = ".jpg") -> bytes:
    """An image record: ``header`` and ``img`` encoded as JPEG or PNG (MXNet's ``pack_img``).

    img: uint8 (H, W) grey, (H, W, 3) BGR or (H, W, 4) BGRA, OpenCV's channel order as
    in MXNet (uint16 (H, W) for PNG). quality: JPEG quality 1-100, or PNG compression
    0-9 (larger values are taken as 9). img_fmt: '.jpg'/'.jpeg' or '.png'. Needs Pillow.
    """
    Image = _pillow()
    fmt = img_fmt.lower().lstrip(".")
    if fmt not in ("jpg", "jpeg", "png"):
        raise ValueError(f"recordio.pack_img: img_fmt must be '.jpg', '.jpeg' or '.png', "
                         f"got {img_fmt!r}")
    img = numpy.asarray(img)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    allowed = (numpy.uint8, numpy.uint16) if fmt == "png" and img.ndim == 2 else (numpy.uint8,)
    if img.dtype.type not in allowed or img.ndim not in (2, 3) or (
            img.ndim == 3 and img.shape[2] not in (3, 4)):
        raise ValueError(f"recordio.pack_img: img has shape {img.shape} and dtype {img.dtype}; "
                         f"expected uint8 (H, W), (H, W, 3) BGR or (H, W, 4) BGRA"
                         f"{' (or uint16 (H, W) for PNG)' if fmt == 'png' else ''}")
    if img.ndim == 3:
        if fmt != "png" and img.shape[2] == 4:
            raise ValueError(f"recordio.pack_img: JPEG has no alpha channel; img has shape "
                             f"{img.shape}, expected (H, W) or (H, W, 3)")
        img = img[:, :, [2, 1, 0, 3][:img.shape[2]]]          # BGR(A) -> RGB(A)
    image = Image.fromarray(numpy.ascontiguousarray(img))
    out = io.BytesIO()
    if fmt == "png":
        image.save(out, format="PNG", compress_level=min(max(int(quality), 0), 9))
    else:
        image.save(out, format="JPEG", quality=min(max(int(quality), 1), 100))
    return pack(header, out.getvalue())
