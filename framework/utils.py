"""Helpers of the training loop (MXNet 1.9.1's ``gluon.utils``): splitting batches over
contexts, gradient clipping by global norm, and verified, atomic downloads.

Floor 3: imports only the core (``ndarray``, ``context``, ``_fileio``). Light to import:
``urllib`` and ``ssl`` load when a download starts.

    parts = split_and_load(batch, [fw.cpu(0), fw.cpu(1)])   # one slice per context
    norm = clip_global_norm([p.grad() for p in params], max_norm=1.0)
    path = download(url, "data/file.bin", sha1_hash="...")

``fetch_file`` is the download core shared with ``framework.data.download``: it streams
a URL into a file through ``atomic_write`` and lets a check refuse the result before it
replaces anything.
"""
from __future__ import annotations

import hashlib
import math
import numbers
import os
import shutil
import warnings
from typing import IO, Callable, List, Optional, Sequence, Union

from ._fileio import atomic_write
from .context import Context, move
from .ndarray import NDArray
from .ndarray import array as _nd_array
from .ndarray import slice_axis as _slice_axis

__all__ = ["split_data", "split_and_load", "clip_global_norm", "check_sha1", "download",
           "DownloadError"]

_CHUNK = 1 << 20
_TIMEOUT = 60.0            # seconds without data before a download attempt fails


# ---------------------------------------------------------------- data parallelism
def split_data(data: NDArray, num_slice: int, batch_axis: int = 0,
               even_split: bool = True) -> List[NDArray]:
    """``data`` cut into ``num_slice`` consecutive slices along ``batch_axis``.

    With ``even_split`` the size of that axis must be a multiple of ``num_slice``;
    otherwise the first ``size % num_slice`` slices get one element more. Always a list,
    even for one slice. Slices along axis 0 are views, as MXNet's.
    """
    if not isinstance(data, NDArray):
        raise TypeError(f"split_data: data must be an NDArray, got {type(data).__name__}")
    if not isinstance(num_slice, numbers.Integral) or isinstance(num_slice, bool) \
            or num_slice < 1:
        raise ValueError(f"split_data: num_slice must be a positive int, got {num_slice!r}")
    if not -data.ndim <= batch_axis < data.ndim:
        raise ValueError(f"split_data: batch_axis {batch_axis} is out of range for data of "
                         f"shape {data.shape}")
    size = data.shape[batch_axis]
    if size < num_slice:
        raise ValueError(f"Too many slices for data with shape {data.shape}. Arguments are "
                         f"num_slice={num_slice} and batch_axis={batch_axis}.")
    if even_split and size % num_slice != 0:
        raise ValueError(
            f"data with shape {data.shape} cannot be evenly split into {num_slice} slices "
            f"along axis {batch_axis}. Use a batch size that's multiple of {num_slice} or "
            f"set even_split=False to allow uneven partitioning of data.")
    each, extras = divmod(size, num_slice)
    bounds = [0]
    for i in range(num_slice):
        bounds.append(bounds[-1] + each + (1 if i < extras else 0))
    if batch_axis in (0, -data.ndim):
        return [data[bounds[i]:bounds[i + 1]] for i in range(num_slice)]
    return [_slice_axis(data, axis=batch_axis, begin=bounds[i], end=bounds[i + 1])
            for i in range(num_slice)]


def split_and_load(data, ctx_list: Sequence[Context], batch_axis: int = 0,
                   even_split: bool = True) -> List[NDArray]:
    """``data`` (an NDArray, or anything ``nd.array`` takes) split into ``len(ctx_list)``
    slices along ``batch_axis`` (see ``split_data``), slice i copied to ``ctx_list[i]``."""
    if isinstance(ctx_list, Context):
        ctx_list = [ctx_list]
    ctx_list = list(ctx_list)
    if not ctx_list:
        raise ValueError("split_and_load: ctx_list is empty; give at least one Context")
    if not isinstance(data, NDArray):
        data = _nd_array(data, ctx=ctx_list[0])
    if len(ctx_list) == 1:
        return [data.as_in_context(ctx_list[0])]
    slices = split_data(data, len(ctx_list), batch_axis, even_split)
    return [part.as_in_context(ctx) for part, ctx in zip(slices, ctx_list)]


# ---------------------------------------------------------------- gradient clipping
def _sum_of_squares(raws, xp):
    """sum(x**2) over raw arrays of one device, as a float64 0-d array."""
    total = None
    for raw in raws:
        flat = raw.reshape(-1)
        if flat.dtype.kind != "f" or flat.dtype.itemsize < 4:
            flat = flat.astype(xp.float32)       # float16 squares would overflow
        part = xp.asarray(xp.vdot(flat, flat), dtype=xp.float64)
        total = part if total is None else total + part
    return total


def clip_global_norm(arrays: Sequence[NDArray], max_norm: float,
                     check_isfinite: bool = True) -> Union[float, NDArray]:
    """Scale ``arrays`` in place so that their global 2-norm
    ``sqrt(sum_i ||a_i||^2)`` is at most ``max_norm``: each is multiplied by
    ``min(max_norm / (norm + 1e-8), 1)``.

    Returns the norm before scaling: a Python float when ``check_isfinite`` (which
    reads it on the host and warns with ``UserWarning`` on NaN/Inf), else an NDArray of
    shape (1,) on the first array's context (no host synchronisation). Arrays may live
    on several contexts; the sum is formed on the first one's.
    """
    arrays = list(arrays)
    if not arrays:
        raise ValueError("clip_global_norm: arrays is empty; give at least one NDArray")
    for i, arr in enumerate(arrays):
        if not isinstance(arr, NDArray):
            raise TypeError(f"clip_global_norm: arrays[{i}] must be an NDArray, "
                            f"got {type(arr).__name__}")
    groups = {}
    for arr in arrays:
        groups.setdefault(arr.context, []).append(arr._data)
    home = arrays[0].context
    xp = home.xp
    with home.scope():
        total = None
        for ctx, raws in groups.items():
            with ctx.scope():
                part = _sum_of_squares(raws, ctx.xp)
            if ctx is not home:
                part = move(part, ctx, home)
            total = part if total is None else total + part
        norm = xp.sqrt(total)
    if check_isfinite:
        value = float(norm.item())
        if not math.isfinite(value):
            warnings.warn(UserWarning("nan or inf is detected. Clipping results will be "
                                      "undefined."), stacklevel=2)
        scale = min(max_norm / (value + 1e-8), 1.0) if not math.isnan(value) else value
        if not scale >= 1.0:
            for arr in arrays:
                arr *= scale
        return value
    with home.scope():
        scale = xp.minimum(max_norm / (norm + 1e-8), 1.0)
        result = NDArray(norm.reshape(1).astype(xp.float32), home)
    for arr in arrays:
        raw = scale if arr.context is home else move(scale, home, arr.context)
        with arr.context.scope():
            raw = raw.astype(arr._data.dtype)
        arr *= NDArray(raw, arr.context)
    return result


# ---------------------------------------------------------------- files and downloads
class DownloadError(OSError):
    """No attempt delivered a file with the expected contents."""


def _file_sha1(file: IO[bytes]) -> str:
    sha1 = hashlib.sha1()
    for block in iter(lambda: file.read(_CHUNK), b""):
        sha1.update(block)
    return sha1.hexdigest()


def check_sha1(filename: Union[str, os.PathLike], sha1_hash: str) -> bool:
    """Whether the SHA-1 of the file's contents is ``sha1_hash`` (hex digits)."""
    with open(filename, "rb") as f:
        return _file_sha1(f) == sha1_hash


def fetch_file(url: str, path: Union[str, os.PathLike],
               check: Optional[Callable[[IO[bytes]], None]] = None,
               timeout: float = _TIMEOUT, verify_ssl: bool = True) -> None:
    """Stream ``url`` into ``path`` all at once or not at all.

    The data goes to a temporary file beside ``path`` (``atomic_write``). When complete,
    ``check(file)`` gets it open for reading at offset 0 and may raise (a wrong checksum)
    to refuse it; only an accepted file replaces ``path``. On any failure ``path`` is left
    as it was and no temporary file remains. ``verify_ssl=False`` skips the HTTPS
    certificate check.
    """
    import urllib.request          # here, not at import: it pulls in http, email, ssl
    options = {"timeout": timeout}
    if not verify_ssl and url.lower().startswith("https:"):
        import ssl
        options["context"] = ssl._create_unverified_context()
    with atomic_write(path, "w+b") as file:
        with urllib.request.urlopen(url, **options) as response:
            shutil.copyfileobj(response, file, _CHUNK)
        if check is not None:
            file.flush()
            file.seek(0)
            check(file)


def download(url: str, path: Optional[Union[str, os.PathLike]] = None,
             overwrite: bool = False, sha1_hash: Optional[str] = None, retries: int = 5,
             verify_ssl: bool = True) -> str:
    """Download ``url``; returns the file's path.

    ``path``: the file, or a folder to put it in under the URL's last component
    (default: that name in the current folder). An existing file is kept unless
    ``overwrite`` or its SHA-1 differs from ``sha1_hash``. The download is written
    atomically and, with ``sha1_hash``, verified before it replaces anything: a wrong
    checksum leaves nothing at the destination. Up to ``retries`` attempts (at least
    one, as MXNet); then ``DownloadError`` names the file, the URL and the last failure.
    """
    if path is None:
        fname = url.split("/")[-1]
        if not fname:
            raise ValueError(f"download: can't construct a file name from the URL {url!r}; "
                             f"please set the `path` option manually")
    else:
        path = os.path.expanduser(os.fspath(path))
        fname = os.path.join(path, url.split("/")[-1]) if os.path.isdir(path) else path
    if not isinstance(retries, numbers.Integral) or retries < 0:
        raise ValueError(f"download: number of retries should be at least 0, "
                         f"currently it's {retries!r}")
    if not verify_ssl:
        warnings.warn("Unverified HTTPS request is being made (verify_ssl=False). "
                      "Adding certificate verification is strongly advised.", stacklevel=2)
    if not (overwrite or not os.path.exists(fname)
            or (sha1_hash and not check_sha1(fname, sha1_hash))):
        return fname
    os.makedirs(os.path.dirname(os.path.abspath(fname)), exist_ok=True)

    def check(file: IO[bytes]) -> None:
        got = _file_sha1(file)
        if got != sha1_hash:
            raise DownloadError(f"file {fname} downloaded from {url} has SHA-1 {got}, "
                                f"expected {sha1_hash}; the repository may be outdated or "
                                f"the download incomplete")

    import http.client             # here, not at import (fetch_file loads it anyway)
    transient = (OSError, ValueError, EOFError, http.client.HTTPException)  # URLError: OSError
    attempts = max(int(retries), 1)
    for left in range(attempts - 1, -1, -1):
        try:
            print(f"Downloading {fname} from {url}...")
            fetch_file(url, fname, check if sha1_hash else None, verify_ssl=verify_ssl)
            return fname
        except transient as err:
            if left == 0:
                if isinstance(err, DownloadError):
                    raise
                raise DownloadError(f"download of {fname} from {url} failed after "
                                    f"{attempts} attempt{'s' if attempts > 1 else ''}: "
                                    f"{err}") from err
            print(f"download failed due to {err!r}, retrying, {left} "
                  f"attempt{'s' if left > 1 else ''} left")
    return fname          # not reached: the last attempt returns or raises
