"""Where a data set's files are kept, and how they are found, fetched and checked.

Shared by MNIST, Fashion-MNIST and CIFAR. The folder of data set ``<name>`` is the
``root`` argument, else ``$FRAMEWORK_DATA/<name>``, else ``~/.framework/datasets/<name>``;
``dataset_folders`` lists the folders searched (the first is where downloads go).
"""
from __future__ import annotations

import hashlib
import os
import pathlib
from typing import IO, Callable, Iterable, List, Optional, Sequence, Union

from ..download import DownloadError, download as download_file

__all__ = ["ENV_VAR", "DEFAULT_HOME", "dataset_folders", "find_file", "missing_files_error",
           "fetch", "sha1_of", "stream_sha1", "bad_file_error"]

ENV_VAR = "FRAMEWORK_DATA"
DEFAULT_HOME = os.path.join("~", ".framework", "datasets")

PathLike = Union[str, os.PathLike]
_CHUNK = 1 << 20


def dataset_folders(name: str, root: Optional[PathLike] = None,
                    env_holds_files: bool = False) -> List[pathlib.Path]:
    """The folders data set ``name`` is looked for in, in order; downloads go to the first.

    - ``root`` given: ``root``, then ``root/<name>``.
    - else ``$FRAMEWORK_DATA`` set: ``$FRAMEWORK_DATA/<name>``; with ``env_holds_files``
      (MNIST, whose files the project keeps in the folder the variable names)
      ``$FRAMEWORK_DATA`` itself first.
    - else ``~/.framework/datasets/<name>``.
    """
    if root is not None:
        base = pathlib.Path(os.path.expanduser(os.fspath(root)))
        return [base, base / name]
    env = os.environ.get(ENV_VAR)
    if env:
        base = pathlib.Path(os.path.expanduser(env))
        return [base, base / name] if env_holds_files else [base / name]
    return [pathlib.Path(os.path.expanduser(DEFAULT_HOME)) / name]


def find_file(folders: Iterable[pathlib.Path], names: Sequence[str]) -> Optional[pathlib.Path]:
    """The first existing ``folder/name``, trying each folder with each name in turn."""
    for folder in folders:
        for name in names:
            path = folder / name
            if path.is_file():
                return path
    return None


def missing_files_error(title: str, name: str, missing: Sequence[str],
                        folders: Sequence[pathlib.Path], reason: str, wanted: Sequence[str],
                        env_holds_files: bool = False, note: str = "") -> FileNotFoundError:
    """A FileNotFoundError naming the files, the folders searched, why they could not be
    had, and the ways to point the loader at them (argument, variable, folder)."""
    where = ", ".join(str(f) for f in folders)
    env_hint = (f"a folder holding them (or a '{name}' folder with them)" if env_holds_files
                else f"a folder whose '{name}' subfolder holds them")
    return FileNotFoundError(
        f"{title}: {len(missing)} file(s) not found: {', '.join(missing)}.\n"
        f"Looked in: {where}{note}.\n{reason}\n"
        f"To fix: pass root=<a folder holding {', '.join(wanted)}>, set the {ENV_VAR} "
        f"environment variable to {env_hint}, or copy the files into {folders[0]}.")


def fetch(title: str, filename: str, mirrors: Sequence[str], folder: pathlib.Path,
          md5: Optional[str] = None,
          check: Optional[Callable[[IO[bytes]], None]] = None) -> pathlib.Path:
    """Download ``filename`` from the first of ``mirrors`` (URL prefixes) into ``folder``,
    written atomically and verified (``md5`` of the contents, ``check(file)``);
    raises ``DownloadError`` listing every URL and its failure."""
    urls = [m.rstrip("/") + "/" + filename for m in mirrors]
    try:
        return pathlib.Path(download_file(urls, folder / filename, md5=md5, check=check))
    except OSError as err:           # DownloadError, or a folder that cannot be made
        raise DownloadError(f"{title}: {err}") from None


def stream_sha1(file: IO[bytes]) -> str:
    """SHA-1 of an open binary file's bytes from its current offset."""
    sha1 = hashlib.sha1()
    for block in iter(lambda: file.read(_CHUNK), b""):
        sha1.update(block)
    return sha1.hexdigest()


def sha1_of(path: PathLike) -> str:
    """SHA-1 of a file's bytes as stored."""
    with open(path, "rb") as f:
        return stream_sha1(f)


def bad_file_error(title: str, path: PathLike, problem: str, download: bool,
                   checksum: bool) -> ValueError:
    """A ValueError naming a corrupt or truncated file, what is wrong, and the fix."""
    fix = "delete it to download it again" if download else "replace it"
    if checksum:
        fix += ", or pass verify=False"
    return ValueError(f"{title}: {os.fspath(path)} {problem}. To fix: {fix}.")
