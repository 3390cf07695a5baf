"""Pretrained parameter files of the vision model zoo (MXNet 1.9.1's model store).

The files are MXNet's own: ``{name}-{short sha1}.params`` (the first 8 hex digits of
the SHA-1 of the file), kept under ``root`` (default ``~/.framework/models``). A file
that is missing, or whose SHA-1 differs, is downloaded as MXNet does: the zip
``{repo}gluon/models/{name}-{short sha1}.zip`` from MXNet's Apache repository (or
from ``$MXNET_GLUON_REPO``), unpacked, and checked against the full SHA-1 before it
takes the file's place (atomically: a failed or wrong download leaves nothing
behind). Offline, the error names the file, the folder and the URL.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import zipfile
from typing import Union

from .._fileio import atomic_write
from ..utils import DownloadError, check_sha1, download

__all__ = ["get_model_file", "purge", "short_hash", "DEFAULT_ROOT"]

DEFAULT_ROOT = os.path.join("~", ".framework", "models")

# MXNet 1.9.1's python/mxnet/gluon/model_zoo/model_store.py, ``_model_sha1``
_model_sha1 = {name: checksum for checksum, name in [
    ("44335d1f0046b328243b32a26a4fbd62d9057b45", "alexnet"),
    ("f27dbf2dbd5ce9a80b102d89c7483342cd33cb31", "densenet121"),
    ("b6c8a95717e3e761bd88d145f4d0a214aaa515dc", "densenet161"),
    ("2603f878403c6aa5a71a124c4a3307143d6820e9", "densenet169"),
    ("1cdbc116bc3a1b65832b18cf53e1cb8e7da017eb", "densenet201"),
    ("ed47ec45a937b656fcc94dabde85495bbef5ba1f", "inceptionv3"),
    ("9f83e440996887baf91a6aff1cccc1c903a64274", "mobilenet0.25"),
    ("8e9d539cc66aa5efa71c4b6af983b936ab8701c3", "mobilenet0.5"),
    ("529b2c7f4934e6cb851155b22c96c9ab0a7c4dc2", "mobilenet0.75"),
    ("6b8c5106c730e8750bcd82ceb75220a3351157cd", "mobilenet1.0"),
    ("36da4ff1867abccd32b29592d79fc753bca5a215", "mobilenetv2_1.0"),
    ("e2be7b72a79fe4a750d1dd415afedf01c3ea818d", "mobilenetv2_0.75"),
    ("aabd26cd335379fcb72ae6c8fac45a70eab11785", "mobilenetv2_0.5"),
    ("ae8f9392789b04822cbb1d98c27283fc5f8aa0a7", "mobilenetv2_0.25"),
    ("e54b379f50fa4b10bbd2506237e3bd74e6164778", "resnet18_v1"),
    ("c1dc0967a3d25ee9127e03bc1046a5d44d92e2ba", "resnet34_v1"),
    ("c940b1a062b32e3a5762f397c9d1e178b5abd007", "resnet50_v1"),
    ("d992389084bc5475c370e9b52c3561706e755799", "resnet101_v1"),
    ("48ce7775d375987d019ec9aa96bc43b98165dfcb", "resnet152_v1"),
    ("84f666402577b5b79cd59eba5d3ba0bc1edf2152", "resnet18_v2"),
    ("5da34c2772893e9d680d5fa0bd6d432eba8689c9", "resnet34_v2"),
    ("81a4e66af7859a5aa904e2b4051aa0d3bc472b2f", "resnet50_v2"),
    ("7eb2b3cde097883c11941b927048a705ed334294", "resnet101_v2"),
    ("64c75ac8c292f6ac54f873f9ef62e0531105878b", "resnet152_v2"),
    ("264ba4970a0cc87a4f15c96e25246a1307caf523", "squeezenet1.0"),
    ("33ba0f93753c83d86e1eb397f38a667eaf2e9376", "squeezenet1.1"),
    ("dd221b160977f36a53f464cb54648d227c707a05", "vgg11"),
    ("ee79a8098a91fbe05b7a973fed2017a6117723a8", "vgg11_bn"),
    ("6bc5de58a05a5e2e7f493e2d75a580d83efde38c", "vgg13"),
    ("7d97a06c3c7a1aecc88b6e7385c2b373a249e95e", "vgg13_bn"),
    ("649467530119c0f78c4859999e264e7bf14471a9", "vgg16"),
    ("6b9dbe6194e5bfed30fd7a7c9a71f7e5a276cb14", "vgg16_bn"),
    ("f713436691eee9a20d70a145ce0d53ed24bf7399", "vgg19"),
    ("9730961c9cea43fd7eeefb00d792e386c45847d6", "vgg19_bn")]}

apache_repo_url = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/"
_url_format = "{repo_url}gluon/models/{file_name}.zip"

# download attempts when a transfer breaks off midway; a failure to connect at all
# (no network, unknown host, refused, HTTP error) is not retried
_ATTEMPTS = 5
_CHUNK = 1 << 20


def short_hash(name: str) -> str:
    """The first 8 hex digits of the SHA-1 of model ``name``'s parameter file."""
    if name not in _model_sha1:
        raise ValueError(f"Pretrained model for {name} is not available. Available: "
                         f"{', '.join(sorted(_model_sha1))}")
    return _model_sha1[name][:8]


def _model_url(file_name: str) -> str:
    repo_url = os.environ.get("MXNET_GLUON_REPO", apache_repo_url)
    if not repo_url.endswith("/"):
        repo_url += "/"
    return _url_format.format(repo_url=repo_url, file_name=file_name)


def get_model_file(name: str, root: Union[str, os.PathLike] = DEFAULT_ROOT) -> str:
    """The path of model ``name``'s pretrained parameters under ``root``, downloading
    the file when it is missing or its SHA-1 differs (MXNet's ``get_model_file``).

    Raises ``DownloadError`` (an ``OSError``) naming the file, the folder and the URL
    when the download fails (offline, say); ``ValueError`` for an unknown name.
    """
    file_name = f"{name}-{short_hash(name)}"
    root = os.path.expanduser(os.fspath(root))
    file_path = os.path.join(root, file_name + ".params")
    sha1_hash = _model_sha1[name]
    if os.path.exists(file_path):
        if check_sha1(file_path, sha1_hash):
            return file_path
        print(f"Mismatch in the content of model file {file_path} detected (its SHA-1 is "
              f"not {sha1_hash}). Downloading again.", file=sys.stderr)
    url = _model_url(file_name)
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as err:
        raise DownloadError(f"pretrained parameters for '{name}': cannot create the folder "
                            f"{root} to put {file_name}.params in: {err}") from err
    staging = tempfile.mkdtemp(prefix=f".{file_name}.", dir=root)
    try:
        zip_path = os.path.join(staging, file_name + ".zip")
        _download_zip(name, url, zip_path, root, file_name)
        _unpack_checked(zip_path, file_name + ".params", file_path, sha1_hash, url)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return file_path


def _download_zip(name: str, url: str, zip_path: str, root: str, file_name: str) -> None:
    """Download ``url`` to ``zip_path``; a connection that cannot be made fails at once."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            download(url, path=zip_path, overwrite=True, retries=1)
            return
        except DownloadError as err:
            cause = err.__cause__
            cannot_connect = isinstance(cause, urllib.error.URLError)   # HTTPError too
            if cannot_connect or attempt == _ATTEMPTS:
                offline = cannot_connect and not isinstance(cause, urllib.error.HTTPError)
                raise DownloadError(
                    f"pretrained parameters for '{name}': {file_name}.params is not in "
                    f"{root}, and downloading {url} failed"
                    f"{' (no network?)' if offline else ''}: {cause or err}. Without "
                    f"network access, fetch that zip on another machine and unpack it into "
                    f"{root} (or pass root= the folder holding {file_name}.params); "
                    f"MXNET_GLUON_REPO selects another mirror.") from err
            print(f"download of {url} failed ({err}), retrying: attempt {attempt + 1} of "
                  f"{_ATTEMPTS}", file=sys.stderr)


def _unpack_checked(zip_path: str, member: str, file_path: str, sha1_hash: str,
                    url: str) -> None:
    """Copy ``member`` of the zip to ``file_path`` if its SHA-1 is ``sha1_hash``."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            if member not in archive.namelist():
                raise DownloadError(f"the zip downloaded from {url} holds "
                                    f"{archive.namelist()}, not {member}")
            with archive.open(member) as source, atomic_write(file_path, "wb") as target:
                sha1 = hashlib.sha1()
                for block in iter(lambda: source.read(_CHUNK), b""):
                    sha1.update(block)
                    target.write(block)
                if sha1.hexdigest() != sha1_hash:
                    raise DownloadError(
                        f"{member} from {url} has SHA-1 {sha1.hexdigest()}, expected "
                        f"{sha1_hash}; nothing was written to {file_path}. Please try again.")
    except zipfile.BadZipFile as err:
        raise DownloadError(f"the file downloaded from {url} is not a zip archive: "
                            f"{err}") from err


def purge(root: Union[str, os.PathLike] = DEFAULT_ROOT) -> None:
    """Delete every ``.params`` file in ``root`` (MXNet's ``model_store.purge``)."""
    root = os.path.expanduser(os.fspath(root))
    for f in os.listdir(root):
        if f.endswith(".params"):
            os.remove(os.path.join(root, f))
