"""Image data sets (MXNet 1.x's ``gluon.data.vision.datasets``).

A sample is ``(image, label)``: the image an NDArray (H, W, C) of uint8 on cpu(0), the
label a NumPy int32 (a float array from a RecordIO header). MXNet 1.x's
``transform=fn(data, label)`` argument is kept; ``dataset.transform_first(fn)`` is the
usual way to transform the images only.

    train = MNIST(train=True).transform_first(transforms.ToTensor())
"""
from __future__ import annotations

import os
import warnings
from typing import Callable, List, Optional, Tuple, Union

import numpy

from ...context import cpu
from ...ndarray import NDArray
from ..dataset import Dataset, RecordFileDataset
from .cifar import CIFAR10_SPEC, CIFAR100_SPEC, load_cifar
from .image import imread
from .mnist import FASHION_MNIST_SPEC, MNIST_SPEC, load_idx_split

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageFolderDataset",
           "ImageRecordDataset"]

PathLike = Union[str, os.PathLike]


class _DownloadedDataset(Dataset):
    """Images held in memory as a NumPy array (N, H, W, C) uint8, labels (N,) int32;
    ``_get_data`` fills them. Sample i is ``(NDArray image, int32 label)``, passed
    through ``transform(image, label)`` when given."""

    def __init__(self, root: Optional[PathLike], transform: Optional[Callable]) -> None:
        if transform is not None and not callable(transform):
            raise TypeError(f"{type(self).__name__}: transform must be callable "
                            f"fn(data, label), got {type(transform).__name__}")
        self._root = None if root is None else os.path.expanduser(os.fspath(root))
        self._transform = transform
        self._data: numpy.ndarray
        self._label: numpy.ndarray
        self._get_data()

    def _get_data(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _get_data")

    def __getitem__(self, idx):
        try:
            image = self._data[idx]
        except IndexError:
            raise IndexError(f"{type(self).__name__}: index {idx} is out of range for "
                             f"{len(self._label)} samples") from None
        data, label = NDArray(numpy.array(image), cpu(0)), self._label[idx]
        if self._transform is not None:
            return self._transform(data, label)
        return data, label

    def __len__(self) -> int:
        return len(self._label)


class MNIST(_DownloadedDataset):
    """MNIST handwritten digits: samples are (28, 28, 1) uint8 images and labels 0..9.

    root: the folder of the four IDX files (gzip-compressed or not); default
    ``$FRAMEWORK_DATA`` (or its ``mnist`` subfolder), else ``~/.framework/datasets/mnist``.
    train: the 60,000 training images, else the 10,000 test images.
    transform: ``fn(data, label) -> sample`` applied to each sample.
    download: fetch missing files from the public mirrors (verified, written atomically).
    verify: check each file's MD5 against the published one.
    """

    _spec = MNIST_SPEC

    def __init__(self, root: Optional[PathLike] = None, train: bool = True,
                 transform: Optional[Callable] = None, download: bool = True,
                 verify: bool = True) -> None:
        self._train, self._download, self._verify = bool(train), download, verify
        super().__init__(root, transform)

    def _get_data(self) -> None:
        images, self._label = load_idx_split(self._spec, self._root, self._train,
                                             self._download, verify=self._verify)
        self._data = images[:, :, :, None]


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando's article images), a drop-in for MNIST: (28, 28, 1) uint8
    images and labels 0..9. Default root: ``$FRAMEWORK_DATA/fashion-mnist``, else
    ``~/.framework/datasets/fashion-mnist``; ``verify`` checks the SHA-1 of each ``.gz``
    file. Other arguments as ``MNIST``."""

    _spec = FASHION_MNIST_SPEC


class CIFAR10(_DownloadedDataset):
    """CIFAR-10: samples are (32, 32, 3) uint8 RGB images and labels 0..9.

    root: the folder of the binary files (``data_batch_1.bin`` ... ``test_batch.bin``,
    extracted or in ``cifar-10-binary.tar.gz``); default ``$FRAMEWORK_DATA/cifar10``,
    else ``~/.framework/datasets/cifar10``.
    train: the 50,000 training images, else the 10,000 test images.
    transform: ``fn(data, label) -> sample`` applied to each sample.
    download, verify: as ``MNIST`` (SHA-1 of each binary file).
    """

    _spec = CIFAR10_SPEC
    _label_index = 0                     # which label byte of a record is the label

    def __init__(self, root: Optional[PathLike] = None, train: bool = True,
                 transform: Optional[Callable] = None, download: bool = True,
                 verify: bool = True) -> None:
        self._train, self._download, self._verify = bool(train), download, verify
        super().__init__(root, transform)

    def _get_data(self) -> None:
        self._data, self._label = load_cifar(self._spec, self._root, self._train,
                                             self._label_index, self._download,
                                             verify=self._verify)


class CIFAR100(CIFAR10):
    """CIFAR-100: samples are (32, 32, 3) uint8 RGB images and labels.

    fine_label: the 100 fine classes, else (default, as MXNet) the 20 coarse classes.
    Default root: ``$FRAMEWORK_DATA/cifar100``, else ``~/.framework/datasets/cifar100``
    (``train.bin``, ``test.bin``, extracted or in ``cifar-100-binary.tar.gz``). Other
    arguments as ``CIFAR10``.
    """

    _spec = CIFAR100_SPEC

    def __init__(self, root: Optional[PathLike] = None, fine_label: bool = False,
                 train: bool = True, transform: Optional[Callable] = None,
                 download: bool = True, verify: bool = True) -> None:
        self._label_index = 1 if fine_label else 0
        super().__init__(root, train, transform, download, verify)


class ImageFolderDataset(Dataset):
    """Images in class folders: ``root/<class name>/<image file>``, e.g.::

        root/car/0001.jpg
        root/bus/123.png

    Class ``i`` is the i-th folder name in sorted order. A sample is ``(image, label)``:
    the image an NDArray (H, W, 3) uint8 RGB for ``flag=1``, (H, W, 1) grey for
    ``flag=0``, decoded with Pillow when read; the label an int.

    Attributes: ``synsets``, the class names (``synsets[i]`` names label i); ``items``,
    the (file name, label) pairs. Files other than .jpg, .jpeg and .png are skipped
    with a warning, as are files directly under ``root``.
    """

    _EXTENSIONS = (".jpg", ".jpeg", ".png")

    def __init__(self, root: PathLike, flag: int = 1,
                 transform: Optional[Callable] = None) -> None:
        if flag not in (0, 1) or isinstance(flag, bool):
            raise ValueError(f"ImageFolderDataset: flag must be 0 (grey) or 1 (colour), "
                             f"got {flag!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"ImageFolderDataset: transform must be callable fn(data, "
                            f"label), got {type(transform).__name__}")
        self._root = os.path.expanduser(os.fspath(root))
        if not os.path.isdir(self._root):
            raise FileNotFoundError(f"ImageFolderDataset: root {self._root} is not a folder; "
                                    f"expected a folder with one subfolder of images per class")
        self._flag = flag
        self._transform = transform
        self._exts = list(self._EXTENSIONS)
        self._list_images(self._root)

    def _list_images(self, root: str) -> None:
        self.synsets: List[str] = []
        self.items: List[Tuple[str, int]] = []
        for folder in sorted(os.listdir(root)):
            path = os.path.join(root, folder)
            if not os.path.isdir(path):
                warnings.warn(f"ImageFolderDataset: ignoring {path}, which is not a folder",
                              stacklevel=3)
                continue
            label = len(self.synsets)
            self.synsets.append(folder)
            for filename in sorted(os.listdir(path)):
                filename = os.path.join(path, filename)
                ext = os.path.splitext(filename)[1]
                if ext.lower() not in self._exts:
                    warnings.warn(f"ImageFolderDataset: ignoring {filename} of type {ext!r}; "
                                  f"only {', '.join(self._exts)} are read", stacklevel=3)
                    continue
                self.items.append((filename, label))

    def __getitem__(self, idx):
        filename, label = self.items[idx]
        image = imread(filename, self._flag)
        if self._transform is not None:
            return self._transform(image, label)
        return image, label

    def __len__(self) -> int:
        return len(self.items)


class ImageRecordDataset(RecordFileDataset):
    """Images in a RecordIO file (``filename`` ``.rec`` with its ``.idx`` beside it), as
    written by ``recordio.pack_img`` or MXNet's ``im2rec``. A sample is ``(image, label)``:
    the image decoded (``recordio.unpack_img``, Pillow), an NDArray (H, W, 3) uint8 RGB
    for ``flag=1`` or (H, W, 1) grey for ``flag=0``; the label the record header's (a
    float, or a float32 array for a multi-label record).
    """

    def __init__(self, filename: PathLike, flag: int = 1,
                 transform: Optional[Callable] = None) -> None:
        if flag not in (0, 1) or isinstance(flag, bool):
            raise ValueError(f"ImageRecordDataset: flag must be 0 (grey) or 1 (colour), "
                             f"got {flag!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"ImageRecordDataset: transform must be callable fn(data, "
                            f"label), got {type(transform).__name__}")
        super().__init__(filename)
        from ... import recordio
        self._unpack_img = recordio.unpack_img
        self._flag = flag
        self._transform = transform

    def __getitem__(self, idx):
        record = super().__getitem__(idx)
        try:
            header, pixels = self._unpack_img(record, self._flag)
        except ValueError as err:
            raise ValueError(f"ImageRecordDataset: record {idx} of {self.filename}: "
                             f"{err}") from None
        pixels = pixels[:, :, ::-1] if self._flag == 1 else pixels[:, :, None]   # BGR -> RGB
        image = NDArray(numpy.ascontiguousarray(pixels), cpu(0))
        if self._transform is not None:
            return self._transform(image, header.label)
        return image, header.label
