"""``framework.data.vision`` (MXNet's ``gluon.data.vision``): image data sets."""
from .mnist import load_mnist, mnist_root, MNIST_FILES  # noqa: F401

__all__ = ["load_mnist", "mnist_root", "MNIST_FILES"]
