"""Fetching a data file from one of several mirrors, verified and written atomically."""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
import tempfile
import zlib
from typing import Optional, Sequence, Union

__all__ = ["download", "content_md5", "DownloadError"]

_CHUNK = 1 << 20


class DownloadError(OSError):
    """No mirror delivered a file with the expected contents."""


def content_md5(path: Union[str, os.PathLike]) -> str:
    """MD5 of a file's contents, decompressed first when it is gzip."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    md5 = hashlib.md5()
    with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            md5.update(block)
    return md5.hexdigest()


def _fetch(url: str, dest, timeout: float) -> None:
    import urllib.request       # imported here: it pulls in http, email, ssl
    with urllib.request.urlopen(url, timeout=timeout) as response:
        shutil.copyfileobj(response, dest, _CHUNK)


def download(urls: Union[str, Sequence[str]], path: Union[str, os.PathLike],
             md5: Optional[str] = None, timeout: float = 60.0, quiet: bool = False) -> str:
    """Download ``path`` from the first of ``urls`` that delivers it; returns ``path``.

    The file is written to a temporary name in the same directory and moved into
    place (``os.replace``) only once complete and, when ``md5`` is given, once the
    MD5 of its contents (decompressed when gzip) matches; a failed or interrupted
    download never leaves a partial file at ``path``. Each URL is tried in turn;
    when all fail, ``DownloadError`` lists every URL with its error.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    failures = []
    for url in urls:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                                   suffix=".part")
        try:
            if not quiet:
                print(f"Downloading {url} to {path}", file=sys.stderr)
            with os.fdopen(fd, "wb") as dest:
                _fetch(url, dest, timeout)
            if md5 is not None:
                got = content_md5(tmp)
                if got != md5.lower():
                    raise ValueError(f"contents have MD5 {got}, expected {md5.lower()}")
            os.replace(tmp, path)
            return path
        except (OSError, ValueError, EOFError, zlib.error) as err:   # URLError is an OSError
            failures.append(f"{url}: {err}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise DownloadError(f"download of {os.path.basename(path)} failed from every mirror:\n  "
                        + "\n  ".join(failures))
