"""Atomic file writes: the one helper every file the library writes goes through.

Ground floor: imports nothing from the framework.

    with atomic_write("model.params") as f:      # f: a binary file object
        f.write(payload)

The data goes to a temporary file in the destination's folder
(``.model.params.<random>.tmp``), which is flushed and fsynced, then renamed over
the destination with ``os.replace`` (atomic on POSIX and Windows), and the folder
is fsynced where the platform allows it. If anything fails before the rename (an
exception in the ``with`` body, a full disk, ``RLIMIT_FSIZE``), the temporary file
is removed and the previous file is left as it was. A process killed outright
(SIGKILL, power loss) cannot clean up: the previous file is still intact, and a
stray ``.<name>.<random>.tmp`` may remain beside it.

h5py writes through the yielded object (``h5py.File(f, "w")``; open it with
``mode="w+b"``, since HDF5 also reads back what it wrote).
"""
from __future__ import annotations

import contextlib
import os
import secrets
import stat
from typing import IO, Iterator

__all__ = ["atomic_write"]

_WRITE_MODES = {"w", "wb", "w+", "wb+", "w+b"}
_TEMP_STEM_MAX = 255 - len(".") - len(".01234567.tmp")   # bytes of the name kept in a temp name


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb") -> Iterator[IO]:
    """Write ``path`` all at once or not at all; yields a file object open in ``mode``.

    ``mode`` is one of ``'w'``, ``'w+'`` (text, UTF-8), ``'wb'``, ``'w+b'`` (binary).
    The new file gets the previous file's permission bits, or the usual ones
    (0o666 less the umask) when there was none.
    """
    if mode not in _WRITE_MODES:
        raise ValueError(f"atomic_write: mode {mode!r} is not one of {sorted(_WRITE_MODES)}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot write '{path}': it is a directory")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write '{path}': the folder '{folder}' does not exist")
    temp_path, fd = _create_temp(folder, os.path.basename(path))
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        _copy_permissions(path, temp_path)
        os.replace(temp_path, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        if isinstance(err, OSError) and err.errno is not None and err.filename is None:
            err.filename = path       # "[Errno 28] No space left on device: 'model.params'"
        raise
    _fsync_folder(folder)


def _create_temp(folder: str, name: str):
    """A new, empty ``.<name>.<random>.tmp`` in ``folder``: (its path, an open descriptor).
    A long ``name`` is cut so that the temporary name stays within 255 bytes (NAME_MAX)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    encoded = os.fsencode(name)
    if len(encoded) > _TEMP_STEM_MAX:
        name = os.fsdecode(encoded[:_TEMP_STEM_MAX])
    while True:
        temp_path = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return temp_path, os.open(temp_path, flags, 0o666)   # the umask applies, as for open()
        except FileExistsError:
            continue


def _copy_permissions(path: str, temp_path: str) -> None:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    os.chmod(temp_path, mode)


def _fsync_folder(folder: str) -> None:
    """Make the rename durable; skipped where folders cannot be opened (Windows) or synced."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:          # some file systems refuse fsync on a folder; the data is synced
        pass
    finally:
        os.close(fd)
