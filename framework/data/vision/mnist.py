"""MNIST: 60,000 training and 10,000 test images of handwritten digits, 28x28.

The four IDX files are read from a root directory: the ``root`` argument, else
the ``FRAMEWORK_DATA`` environment variable, else ``~/.framework/datasets/mnist``.
Missing files are downloaded from a public mirror (``MIRRORS``) and verified.
"""
from __future__ import annotations

import os
import pathlib
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy

from ..download import DownloadError, download as download_file
from ..idx import read_idx

__all__ = ["load_mnist", "mnist_root", "MNIST_FILES", "MIRRORS", "DEFAULT_ROOT"]

DEFAULT_ROOT = os.path.join("~", ".framework", "datasets", "mnist")

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


def mnist_root(root: Optional[PathLike] = None) -> pathlib.Path:
    """The directory MNIST is read from: ``root``, else $FRAMEWORK_DATA, else the default."""
    if root is None:
        root = os.environ.get("FRAMEWORK_DATA") or DEFAULT_ROOT
    return pathlib.Path(os.path.expanduser(os.fspath(root)))


def _find(root: pathlib.Path, name: str) -> Optional[pathlib.Path]:
    """``name`` or its uncompressed form, in ``root`` or in ``root/mnist``."""
    for folder in (root, root / "mnist"):
        for candidate in (name, name[:-3]):
            path = folder / candidate
            if path.is_file():
                return path
    return None


def _missing_error(root: pathlib.Path, missing, reason: str) -> FileNotFoundError:
    names = ", ".join(missing)
    return FileNotFoundError(
        f"MNIST: {len(missing)} file(s) not found in {root} (nor uncompressed, nor in "
        f"{root / 'mnist'}): {names}.\n{reason}\n"
        f"To fix: set the FRAMEWORK_DATA environment variable to a directory holding the four "
        f"MNIST files ({', '.join(n for n, _ in MNIST_FILES.values())}), pass "
        f"root=<that directory>, or copy the files into {root}.")


def load_mnist(root: Optional[PathLike] = None, train: bool = True, download: bool = True,
               mirrors: Optional[Sequence[str]] = None,
               verify: bool = True) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """The MNIST training (``train=True``) or test split as NumPy arrays.

    Returns ``(images, labels)``: images uint8 of shape (N, 28, 28), labels int32
    of shape (N,) with values 0..9; N is 60,000 for training, 10,000 for test.
    Files missing under the root (see ``mnist_root``) are downloaded from
    ``mirrors`` (default ``MIRRORS``) when ``download`` is true; if they cannot
    be had, ``FileNotFoundError`` names the files, where they were looked for,
    and how to point the loader at them. With ``verify`` the MD5 of each file's
    contents is checked against the published one.
    """
    root = mnist_root(root)
    split = "train" if train else "test"
    wanted = [MNIST_FILES[(split, kind)] for kind in ("images", "labels")]
    paths = {name: _find(root, name) for name, _ in wanted}
    missing = [name for name, path in paths.items() if path is None]
    if missing:
        if not download:
            raise _missing_error(root, missing, "Downloading was turned off (download=False).")
        mirrors = MIRRORS if mirrors is None else mirrors
        for name in missing:
            digest = dict(wanted)[name]
            try:
                paths[name] = pathlib.Path(download_file(
                    [m.rstrip("/") + "/" + name for m in mirrors], root / name, md5=digest))
            except (DownloadError, OSError) as err:
                raise _missing_error(root, missing, f"Downloading failed ({err}).") from None
    (img_name, img_md5), (lbl_name, lbl_md5) = wanted
    images = _read(paths[img_name], img_md5 if verify else None, download)
    labels = _read(paths[lbl_name], lbl_md5 if verify else None, download)
    _check(images, labels, paths[img_name], paths[lbl_name])
    return images, labels.astype(numpy.int32)


def _read(path: pathlib.Path, md5: Optional[str], download: bool) -> numpy.ndarray:
    try:
        return read_idx(path, md5=md5)
    except ValueError as err:
        fix = "delete it to download it again" if download else "replace it"
        raise ValueError(f"MNIST: {err}. To fix: {fix}"
                         f"{', or pass verify=False' if md5 else ''}.") from None


def _check(images, labels, img_path, lbl_path) -> None:
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != numpy.uint8:
        raise ValueError(f"MNIST: {img_path} holds {images.dtype} of shape {images.shape}; "
                         f"expected uint8 images of shape (N, 28, 28)")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"MNIST: {lbl_path} holds labels of shape {labels.shape} for "
                         f"{images.shape[0]} images in {img_path}; expected ({images.shape[0]},)")
    if labels.size and int(labels.max()) > 9:
        raise ValueError(f"MNIST: {lbl_path} holds label {int(labels.max())}; expected 0..9")

