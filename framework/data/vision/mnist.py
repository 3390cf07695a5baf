"""MNIST and Fashion-MNIST: 28x28 grey images in the IDX format, 60,000 to train, 10,000 to test.

The four IDX files of a data set (gzip-compressed or not) are read from its folder: the
``root`` argument, else ``$FRAMEWORK_DATA/<name>``, else ``~/.framework/datasets/<name>``
(see ``storage.dataset_folders``; MNIST also reads the folder ``$FRAMEWORK_DATA`` names
directly). Missing files are downloaded from public mirrors, verified, and written atomically.
"""
from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field
from typing import Dict, IO, Optional, Sequence, Tuple, Union

import numpy

from ..download import DownloadError
from ..idx import read_idx
from .storage import (DEFAULT_HOME, bad_file_error, dataset_folders, fetch, find_file,
                      missing_files_error, sha1_of, stream_sha1)

__all__ = ["load_mnist", "load_fashion_mnist", "load_idx_split", "mnist_root", "IdxDataSpec",
           "MNIST_SPEC", "FASHION_MNIST_SPEC", "MNIST_FILES", "MIRRORS", "DEFAULT_ROOT"]

DEFAULT_ROOT = os.path.join(DEFAULT_HOME, "mnist")

# (split, kind) -> (file name, MD5 of the decompressed contents)
MNIST_FILES: Dict[Tuple[str, str], Tuple[str, str]] = {
    ("train", "images"): ("train-images-idx3-ubyte.gz", "6bbc9ace898e44ae57da46a324031adb"),
    ("train", "labels"): ("train-labels-idx1-ubyte.gz", "a25bea736e30d166cdddb491f175f624"),
    ("test", "images"): ("t10k-images-idx3-ubyte.gz", "2646ac647ad5339dbf082846283269ea"),
    ("test", "labels"): ("t10k-labels-idx1-ubyte.gz", "27ae3e4e09519cfbb04c329615203637"),
}

# Public mirrors of the original files, tried in order.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class IdxDataSpec:
    """An image data set stored as IDX files: its files, checksums and mirrors.

    ``files`` maps (split, kind) to the file name as distributed (``.gz``);
    ``content_md5`` gives the MD5 of a file's decompressed contents (checks the file
    compressed or not), ``sha1`` the SHA-1 of the ``.gz`` file as distributed (checks
    downloads, and local files kept as distributed).
    """
    title: str
    name: str
    files: Dict[Tuple[str, str], str]
    mirrors: Tuple[str, ...]
    content_md5: Dict[str, str] = field(default_factory=dict)
    sha1: Dict[str, str] = field(default_factory=dict)
    env_holds_files: bool = False
    image_shape: Tuple[int, int] = (28, 28)
    num_classes: int = 10


MNIST_SPEC = IdxDataSpec(
    title="MNIST", name="mnist", env_holds_files=True, mirrors=MIRRORS,
    files={key: name for key, (name, _) in MNIST_FILES.items()},
    content_md5={name: md5 for name, md5 in MNIST_FILES.values()})

FASHION_MNIST_SPEC = IdxDataSpec(
    title="Fashion-MNIST", name="fashion-mnist",
    files={("train", "images"): "train-images-idx3-ubyte.gz",
           ("train", "labels"): "train-labels-idx1-ubyte.gz",
           ("test", "images"): "t10k-images-idx3-ubyte.gz",
           ("test", "labels"): "t10k-labels-idx1-ubyte.gz"},
    # SHA-1 of the distributed .gz files (as MXNet 1.9.1 lists them)
    sha1={"train-images-idx3-ubyte.gz": "0cf37b0d40ed5169c6b3aba31069a9770ac9043d",
          "train-labels-idx1-ubyte.gz": "236021d52f1e40852b06a4c3008d8de8aef1e40b",
          "t10k-images-idx3-ubyte.gz": "626ed6a7c06dd17c0eec72fa3be1740f146a2863",
          "t10k-labels-idx1-ubyte.gz": "17f9ab60e7257a1620f4ad76bbbaf857c3920701"},
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
             "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/gluon/dataset/"
             "fashion-mnist/"))


def mnist_root(root: Optional[PathLike] = None) -> pathlib.Path:
    """The folder MNIST is read from first (and downloaded into): ``root``, else
    $FRAMEWORK_DATA, else ``~/.framework/datasets/mnist``."""
    return dataset_folders("mnist", root, env_holds_files=True)[0]


def _sha1_check(expected: str):
    def check(file: IO[bytes]) -> None:
        got = stream_sha1(file)
        if got != expected:
            raise ValueError(f"file has SHA-1 {got}, expected {expected}")
    return check


def load_idx_split(spec: IdxDataSpec, root: Optional[PathLike] = None, train: bool = True,
                   download: bool = True, mirrors: Optional[Sequence[str]] = None,
                   verify: bool = True) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """One split of an IDX image data set as NumPy arrays: ``(images, labels)``, images
    uint8 of shape (N, H, W), labels int32 of shape (N,).

    Each file is looked for as distributed (``.gz``) and uncompressed, in the folders
    ``dataset_folders(spec.name, root)``. Missing files are downloaded from ``mirrors``
    (default ``spec.mirrors``) when ``download``; if they cannot be had,
    ``FileNotFoundError`` names the files, the folders and how to point the loader at
    them. With ``verify`` each file's checksum is compared with the published one; a
    corrupt, truncated or malformed file raises ``ValueError`` naming it.
    """
    folders = dataset_folders(spec.name, root, spec.env_holds_files)
    split = "train" if train else "test"
    names = [spec.files[(split, kind)] for kind in ("images", "labels")]
    paths = {name: find_file(folders, (name, name[:-3] if name.endswith(".gz") else name))
             for name in names}
    missing = [name for name, path in paths.items() if path is None]
    if missing:
        def error(reason: str) -> FileNotFoundError:
            return missing_files_error(spec.title, spec.name, missing, folders, reason,
                                       list(spec.files.values()), spec.env_holds_files,
                                       note=" (each also uncompressed, without .gz)")
        if not download:
            raise error("Downloading was turned off (download=False).")
        mirrors = spec.mirrors if mirrors is None else mirrors
        for name in missing:
            md5, sha1 = spec.content_md5.get(name), spec.sha1.get(name)
            try:
                paths[name] = fetch(spec.title, name, mirrors, folders[0], md5=md5,
                                    check=None if md5 or not sha1 else _sha1_check(sha1))
            except DownloadError as err:
                raise error(f"Downloading failed ({err}).") from None
    images = _read(spec, paths[names[0]], names[0], verify, download)
    labels = _read(spec, paths[names[1]], names[1], verify, download)
    _check(spec, images, labels, paths[names[0]], paths[names[1]])
    return images, labels.astype(numpy.int32)


def load_mnist(root: Optional[PathLike] = None, train: bool = True, download: bool = True,
               mirrors: Optional[Sequence[str]] = None,
               verify: bool = True) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The MNIST training (``train=True``) or test split as NumPy arrays.

    Returns ``(images, labels)``: images uint8 of shape (N, 28, 28), labels int32
    of shape (N,) with values 0..9; N is 60,000 for training, 10,000 for test.
    Files missing under the root (see ``mnist_root``; also ``root/mnist``) are
    downloaded from ``mirrors`` (default ``MIRRORS``) when ``download`` is true; if
    they cannot be had, ``FileNotFoundError`` names the files, where they were looked
    for, and how to point the loader at them. With ``verify`` the MD5 of each file's
    contents is checked against the published one.
    """
    return load_idx_split(MNIST_SPEC, root, train, download, mirrors, verify)


def load_fashion_mnist(root: Optional[PathLike] = None, train: bool = True,
                       download: bool = True, mirrors: Optional[Sequence[str]] = None,
                       verify: bool = True) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The Fashion-MNIST training or test split: ``(images, labels)`` as ``load_mnist``.

    Read from ``root``, else ``$FRAMEWORK_DATA/fashion-mnist``, else
    ``~/.framework/datasets/fashion-mnist``. ``verify`` compares the SHA-1 of each
    ``.gz`` file with the published one (an uncompressed copy is checked for its
    structure only: no checksum of the contents is published).
    """
    return load_idx_split(FASHION_MNIST_SPEC, root, train, download, mirrors, verify)


def _read(spec: IdxDataSpec, path: pathlib.Path, name: str, verify: bool,
          download: bool) -> numpy.ndarray:
    md5 = spec.content_md5.get(name) if verify else None
    sha1 = spec.sha1.get(name) if verify and md5 is None and path.name == name else None
    if sha1 is not None:
        got = sha1_of(path)
        if got != sha1:
            raise bad_file_error(spec.title, path, f"has SHA-1 {got}, expected {sha1}; the "
                                 f"file is corrupt or not the one expected", download, True)
    try:
        return read_idx(path, md5=md5)
    except ValueError as err:
        fix = "delete it to download it again" if download else "replace it"
        raise ValueError(f"{spec.title}: {err}. To fix: {fix}"
                         f"{', or pass verify=False' if md5 else ''}.") from None


def _check(spec: IdxDataSpec, images, labels, img_path, lbl_path) -> None:
    title, shape = spec.title, spec.image_shape
    if images.ndim != 3 or images.shape[1:] != shape or images.dtype != numpy.uint8:
        raise ValueError(f"{title}: {img_path} holds {images.dtype} of shape {images.shape}; "
                         f"expected uint8 images of shape (N, {shape[0]}, {shape[1]})")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"{title}: {lbl_path} holds labels of shape {labels.shape} for "
                         f"{images.shape[0]} images in {img_path}; expected ({images.shape[0]},)")
    if labels.size and int(labels.max()) >= spec.num_classes:
        raise ValueError(f"{title}: {lbl_path} holds label {int(labels.max())}; expected "
                         f"0..{spec.num_classes - 1}")
