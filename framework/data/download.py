"""Fetching a data file from one of several mirrors, verified and written atomically.

The fetch itself (stream to a temporary file, check, atomic replace) is
``framework.utils.fetch_file``, shared with ``utils.download``; this module adds the
mirrors and the MD5 of the (decompressed) contents.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import sys
import zlib
from typing import IO, Callable, Optional, Sequence, Union

from ..utils import DownloadError, fetch_file

__all__ = ["download", "content_md5", "DownloadError"]

_CHUNK = 1 << 20


def _stream_md5(file: IO[bytes]) -> str:
    """MD5 of an open file's contents (from its current offset), decompressed first when
    it is gzip."""
    start = file.tell()
    gz = file.read(2) == b"\x1f\x8b"
    file.seek(start)
    source = gzip.GzipFile(fileobj=file, mode="rb") if gz else file
    md5 = hashlib.md5()
    for block in iter(lambda: source.read(_CHUNK), b""):
        md5.update(block)
    return md5.hexdigest()


def content_md5(path: Union[str, os.PathLike]) -> str:
    """MD5 of a file's contents, decompressed first when it is gzip."""
    with open(path, "rb") as f:
        return _stream_md5(f)


def download(urls: Union[str, Sequence[str]], path: Union[str, os.PathLike],
             md5: Optional[str] = None, timeout: float = 60.0, quiet: bool = False,
             check: Optional[Callable[[IO[bytes]], None]] = None) -> str:
    """Download ``path`` from the first of ``urls`` that delivers it; returns ``path``.

    The file is written to a temporary name in the same directory and moved into
    place (``os.replace``) only once complete and, when ``md5`` is given, once the
    MD5 of its contents (decompressed when gzip) matches, and when ``check`` is given,
    once ``check(file)`` (the file open at offset 0) returns without raising ValueError;
    a failed or interrupted download never leaves a partial file at ``path``. Each URL
    is tried in turn; when all fail, ``DownloadError`` lists every URL with its error.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    failures = []

    def verify(file: IO[bytes]) -> None:
        if md5 is not None:
            got = _stream_md5(file)
            if got != md5.lower():
                raise ValueError(f"contents have MD5 {got}, expected {md5.lower()}")
            file.seek(0)
        if check is not None:
            check(file)

    for url in urls:
        if not quiet:
            print(f"Downloading {url} to {path}", file=sys.stderr)
        try:
            fetch_file(url, path, verify if md5 is not None or check is not None else None,
                       timeout=timeout)
            return path
        except (OSError, ValueError, EOFError, zlib.error) as err:   # URLError is an OSError
            failures.append(f"{url}: {err}")
    raise DownloadError(f"download of {os.path.basename(path)} failed from every mirror:\n  "
                        + "\n  ".join(failures))
