"""``framework.data`` (MXNet's ``gluon.data``): reading data sets from disk.

Light on purpose: importing it needs only NumPy and the standard library
(``urllib`` is imported when a download actually starts).

- ``read_idx(path)``: an IDX file (raw or gzip) as a NumPy array.
- ``download(urls, path, md5=...)``: fetch a file atomically, verified.
- ``vision.load_mnist(root, train)``: the MNIST images and labels.
- Datasets, samplers, ``batchify`` functions and ``DataLoader`` as in MXNet's gluon.data
  (``dataset.py``, ``sampler.py``, ``batchify.py``, ``dataloader.py``).
"""
from .idx import read_idx  # noqa: F401
from .download import download  # noqa: F401
from . import vision  # noqa: F401
from . import batchify  # noqa: F401
from .dataset import ArrayDataset, Dataset, RecordFileDataset, SimpleDataset  # noqa: F401
from .sampler import (BatchSampler, FilterSampler, IntervalSampler, RandomSampler,  # noqa: F401
                      Sampler, SequentialSampler, SplitSampler)
from .dataloader import DataLoader  # noqa: F401  (multiprocessing is imported at the first epoch)

__all__ = ["read_idx", "download", "vision", "batchify", "Dataset", "SimpleDataset",
           "ArrayDataset", "RecordFileDataset", "Sampler", "SequentialSampler", "RandomSampler",
           "FilterSampler", "BatchSampler", "IntervalSampler", "SplitSampler", "DataLoader"]
