"""CIFAR-10 and CIFAR-100 (binary version): 32x32 colour images, 50,000 to train, 10,000 to test.

A binary file is a run of records: the label byte(s) (CIFAR-10: the class; CIFAR-100:
the coarse then the fine class), then 3072 pixel bytes, the red, green and blue
32x32 planes. The files are read from the data set's folder (the ``root`` argument,
else ``$FRAMEWORK_DATA/<name>``, else ``~/.framework/datasets/<name>``), extracted
(``*.bin``, beside or in the archive's own folder) or inside the archive
(``cifar-10-binary.tar.gz``), which is downloaded, verified and written atomically
when neither is there.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pathlib
import tarfile
import zlib
from dataclasses import dataclass
from typing import Dict, IO, List, Optional, Sequence, Tuple, Union

import numpy

from ..download import DownloadError
from .storage import (bad_file_error, dataset_folders, fetch, find_file, missing_files_error)

__all__ = ["CifarSpec", "CIFAR10_SPEC", "CIFAR100_SPEC", "load_cifar"]

PathLike = Union[str, os.PathLike]
_PIXELS = 3 * 32 * 32


@dataclass(frozen=True)
class CifarSpec:
    """A CIFAR data set: its files (with the SHA-1 of each, as MXNet 1.9.1 lists them),
    archive, record layout and mirrors."""
    title: str
    name: str
    archive: str
    archive_folder: str
    train_files: Tuple[str, ...]
    test_files: Tuple[str, ...]
    sha1: Dict[str, str]
    label_bytes: int
    num_classes: Tuple[int, ...]         # per label byte
    mirrors: Tuple[str, ...]

    @property
    def record_bytes(self) -> int:
        return self.label_bytes + _PIXELS


_MXNET_REPO = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/gluon/dataset/"

CIFAR10_SPEC = CifarSpec(
    title="CIFAR10", name="cifar10", archive="cifar-10-binary.tar.gz",
    archive_folder="cifar-10-batches-bin",
    train_files=tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    test_files=("test_batch.bin",),
    sha1={"data_batch_1.bin": "aadd24acce27caa71bf4b10992e9e7b2d74c2540",
          "data_batch_2.bin": "c0ba65cce70568cd57b4e03e9ac8d2a5367c1795",
          "data_batch_3.bin": "1dd00a74ab1d17a6e7d73e185b69dbf31242f295",
          "data_batch_4.bin": "aab85764eb3584312d3c7f65fd2fd016e36a258e",
          "data_batch_5.bin": "26e2849e66a845b7f1e4614ae70f4889ae604628",
          "test_batch.bin": "67eb016db431130d61cd03c7ad570b013799c88c"},
    label_bytes=1, num_classes=(10,),
    mirrors=("https://www.cs.toronto.edu/~kriz/", _MXNET_REPO + "cifar10/"))

CIFAR100_SPEC = CifarSpec(
    title="CIFAR100", name="cifar100", archive="cifar-100-binary.tar.gz",
    archive_folder="cifar-100-binary", train_files=("train.bin",), test_files=("test.bin",),
    sha1={"train.bin": "e207cd2e05b73b1393c74c7f5e7bea451d63e08e",
          "test.bin": "8fb6623e830365ff53cf14adec797474f5478006"},
    label_bytes=2, num_classes=(20, 100),
    mirrors=("https://www.cs.toronto.edu/~kriz/", _MXNET_REPO + "cifar100/"))

_GZIP_MAGIC = b"\x1f\x8b"


def load_cifar(spec: CifarSpec, root: Optional[PathLike] = None, train: bool = True,
               label_index: int = 0, download: bool = True,
               mirrors: Optional[Sequence[str]] = None,
               verify: bool = True) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """One split of a CIFAR data set: ``(images, labels)``, images uint8 of shape
    (N, 32, 32, 3) (height, width, RGB), labels int32 of shape (N,).

    ``label_index`` picks the label byte (CIFAR-100: 0 coarse, 1 fine). The ``.bin``
    files are read where found (plain or gzip-compressed), else from the archive, else
    the archive is downloaded from ``mirrors`` (default ``spec.mirrors``) when
    ``download``; a missing file raises ``FileNotFoundError`` naming the files, the
    folders and the ``FRAMEWORK_DATA`` variable. With ``verify`` each file's SHA-1 is
    compared with the published one; a corrupt or truncated file raises ``ValueError``
    naming it.
    """
    folders = dataset_folders(spec.name, root)
    search = [f for folder in folders for f in (folder, folder / spec.archive_folder)]
    names = spec.train_files if train else spec.test_files
    found = {name: find_file(search, (name, name + ".gz")) for name in names}
    if all(path is not None for path in found.values()):
        blobs = [(path, _read_plain(spec, path, name, verify, download))
                 for name, path in found.items()]
    else:
        archive = find_file(folders, (spec.archive, spec.archive[:-len(".gz")]))
        if archive is None:
            missing = [name for name, path in found.items() if path is None]
            archive = _download(spec, folders, search, missing, download, mirrors)
        members = _read_archive(spec, archive, names, verify, download)
        blobs = [(f"{archive}:{name}", members[name]) for name in names]
    images, labels = zip(*(_parse(spec, where, data, label_index) for where, data in blobs))
    return numpy.concatenate(images), numpy.concatenate(labels)


def _download(spec: CifarSpec, folders: List[pathlib.Path], search: List[pathlib.Path],
              missing: List[str], download: bool,
              mirrors: Optional[Sequence[str]]) -> pathlib.Path:
    wanted = [spec.archive] + list(spec.train_files + spec.test_files)

    def error(reason: str) -> FileNotFoundError:
        return missing_files_error(
            spec.title, spec.name, missing + [spec.archive], search, reason, wanted,
            note=f" (the .bin files also gzip-compressed; the archive also as "
                 f"{spec.archive[:-len('.gz')]}, in {', '.join(str(f) for f in folders)})")

    if not download:
        raise error("Downloading was turned off (download=False).")

    def check(file: IO[bytes]) -> None:           # every member is there, intact
        _archive_members(spec, file, spec.train_files + spec.test_files, True, spec.archive)

    try:
        return fetch(spec.title, spec.archive, spec.mirrors if mirrors is None else mirrors,
                     folders[0], check=check)
    except DownloadError as err:
        raise error(f"Downloading failed ({err}).") from None


def _read_plain(spec: CifarSpec, path: pathlib.Path, name: str, verify: bool,
                download: bool) -> bytes:
    data = path.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as err:
            raise bad_file_error(spec.title, path, f"is a corrupt or truncated gzip file "
                                 f"({err})", download, False) from None
    if verify:
        got = hashlib.sha1(data).hexdigest()
        if got != spec.sha1[name]:
            raise bad_file_error(spec.title, path, f"has SHA-1 {got}, expected "
                                 f"{spec.sha1[name]}; the file is corrupt or not the one "
                                 f"expected", download, True)
    return data


def _read_archive(spec: CifarSpec, archive: pathlib.Path, names: Sequence[str], verify: bool,
                  download: bool) -> Dict[str, bytes]:
    try:
        with open(archive, "rb") as file:
            return _archive_members(spec, file, names, verify, str(archive))
    except ValueError as err:
        fix = "delete it to download it again" if download else "replace it"
        raise ValueError(f"{spec.title}: {err}. To fix: {fix}"
                         f"{', or pass verify=False' if verify else ''}.") from None


def _archive_members(spec: CifarSpec, file: IO[bytes], names: Sequence[str], verify: bool,
                     where: str) -> Dict[str, bytes]:
    """The contents of the members ``names`` (matched by base name) of a tar archive
    (gzip-compressed or not); ValueError naming the archive if one is missing,
    unreadable or (``verify``) has the wrong SHA-1."""
    wanted, out = set(names), {}
    try:
        with tarfile.open(fileobj=file, mode="r:*") as tar:
            for member in tar:
                base = os.path.basename(member.name)
                if member.isfile() and base in wanted and base not in out:
                    out[base] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise ValueError(f"{where} is a corrupt or truncated archive ({err})") from None
    absent = [name for name in names if name not in out]
    if absent:
        raise ValueError(f"{where} lacks {', '.join(absent)}; it is not the "
                         f"{spec.archive} expected")
    if verify:
        for name in names:
            got = hashlib.sha1(out[name]).hexdigest()
            if got != spec.sha1[name]:
                raise ValueError(f"{where}: member {name} has SHA-1 {got}, expected "
                                 f"{spec.sha1[name]}; the archive is corrupt or not the "
                                 f"one expected")
    return out


def _parse(spec: CifarSpec, where, data: bytes,
           label_index: int) -> Tuple[numpy.ndarray, numpy.ndarray]:
    size = spec.record_bytes
    if len(data) == 0 or len(data) % size:
        raise ValueError(f"{spec.title}: {where} is truncated or not a CIFAR binary file: "
                         f"{len(data)} bytes is not a whole number of {size}-byte records "
                         f"({spec.label_bytes} label byte(s) and {_PIXELS} pixel bytes)")
    records = numpy.frombuffer(data, dtype=numpy.uint8).reshape(-1, size)
    labels = records[:, label_index].astype(numpy.int32)
    limit = spec.num_classes[label_index]
    if labels.size and int(labels.max()) >= limit:
        raise ValueError(f"{spec.title}: {where} holds label {int(labels.max())} in label "
                         f"byte {label_index}; expected 0..{limit - 1}")
    images = records[:, spec.label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return numpy.ascontiguousarray(images), labels
