"""``framework.data.vision`` (MXNet's ``gluon.data.vision``): image data sets and transforms.

- ``MNIST``, ``FashionMNIST``, ``CIFAR10``, ``CIFAR100``: the classic sets, read from
  ``root``, else ``$FRAMEWORK_DATA/<name>``, else ``~/.framework/datasets/<name>``,
  downloaded (verified) when missing.
- ``ImageFolderDataset``, ``ImageRecordDataset``: your images (decoded with Pillow).
- ``transforms``: Compose, ToTensor, Normalize, Resize, crops, flips, colour jitter, ...
- ``load_mnist(root, train)``: the MNIST images and labels as NumPy arrays.
"""
from .mnist import load_mnist, load_fashion_mnist, mnist_root, MNIST_FILES  # noqa: F401
from .datasets import (CIFAR10, CIFAR100, MNIST, FashionMNIST, ImageFolderDataset,  # noqa: F401
                       ImageRecordDataset)
from . import transforms  # noqa: F401

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageFolderDataset",
           "ImageRecordDataset", "transforms", "load_mnist", "load_fashion_mnist", "mnist_root",
           "MNIST_FILES"]
