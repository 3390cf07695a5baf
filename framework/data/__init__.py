"""``framework.data`` (MXNet's ``gluon.data``): reading data sets from disk.

Light on purpose: importing it needs only NumPy and the standard library
(``urllib`` is imported when a download actually starts).

- ``read_idx(path)``: an IDX file (raw or gzip) as a NumPy array.
- ``download(urls, path, md5=...)``: fetch a file atomically, verified.
- ``vision.load_mnist(root, train)``: the MNIST images and labels.
"""
from .idx import read_idx  # noqa: F401
from .download import download  # noqa: F401
from . import vision  # noqa: F401

__all__ = ["read_idx", "download", "vision"]
