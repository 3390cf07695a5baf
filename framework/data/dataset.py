"""Datasets (MXNet's ``gluon.data.dataset``): indexable collections of samples.

A dataset has ``__getitem__(i)`` (the i-th sample) and ``__len__``. The methods make
new datasets from old ones without copying the data:

    ds = ArrayDataset(images, labels)                  # sample i: (images[i], labels[i])
    ds.transform_first(lambda x: x / 255)              # applied when a sample is read
    ds.filter(lambda s: s[1] < 5).shard(4, 0).take(100)
"""
from __future__ import annotations

import numbers
import os
from typing import Callable, Optional

from ..ndarray import NDArray
from .sampler import FilterSampler, Sampler, SequentialSampler

__all__ = ["Dataset", "SimpleDataset", "ArrayDataset", "RecordFileDataset"]


class Dataset:
    """Base class of datasets: subclasses define ``__getitem__`` and ``__len__``.

    (A NumPy array or an NDArray can be used as a dataset directly.)
    """

    def __getitem__(self, idx):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def filter(self, fn: Callable) -> "Dataset":
        """The samples for which ``fn(sample)`` is true (``fn`` runs on every sample now)."""
        return _SampledDataset(self, FilterSampler(fn, self))

    def shard(self, num_shards: int, index: int) -> "Dataset":
        """Part ``index`` of ``num_shards`` contiguous parts, whose sizes differ by at most one
        (the first ``len % num_shards`` parts have one more). Shard before shuffling when each
        distributed worker must see its own samples."""
        if not isinstance(num_shards, numbers.Integral) or num_shards < 1:
            raise ValueError(f"Dataset.shard: num_shards must be a positive int, "
                             f"got {num_shards!r}")
        if not isinstance(index, numbers.Integral) or not 0 <= index < num_shards:
            raise ValueError(f"Dataset.shard: index must be an int in [0, {num_shards}), "
                             f"got {index!r}")
        length = len(self)
        size, rest = divmod(length, int(num_shards))
        start = size * index + min(index, rest)
        return _SampledDataset(self, SequentialSampler(size + (index < rest), start))

    def take(self, count: Optional[int]) -> "Dataset":
        """The first ``count`` samples (all of them if ``count`` is None or larger)."""
        if count is None or count > len(self):
            count = len(self)
        if not isinstance(count, numbers.Integral) or count < 0:
            raise ValueError(f"Dataset.take: count must be None or an int >= 0, got {count!r}")
        return _SampledDataset(self, SequentialSampler(count))

    def sample(self, sampler: Sampler) -> "Dataset":
        """The samples at the indices ``sampler`` gives (drawn once, now)."""
        if not isinstance(sampler, Sampler):
            raise TypeError(f"Dataset.sample: sampler must be a fw.data.Sampler, got "
                            f"{type(sampler).__name__}")
        return _SampledDataset(self, sampler)

    def transform(self, fn: Callable, lazy: bool = True) -> "Dataset":
        """Each sample passed through ``fn`` (a tuple sample is unpacked: ``fn(*sample)``).

        lazy: transform each sample when it is read (a random ``fn`` then differs every
        epoch); False transforms all samples now, into a ``SimpleDataset``.
        """
        if not callable(fn):
            raise TypeError(f"Dataset.transform: fn must be callable, got {type(fn).__name__}")
        transformed = _LazyTransformDataset(self, fn)
        if lazy:
            return transformed
        return SimpleDataset([transformed[i] for i in range(len(transformed))])

    def transform_first(self, fn: Callable, lazy: bool = True) -> "Dataset":
        """``fn`` applied to the first element of each sample (the data, not the label)."""
        if not callable(fn):
            raise TypeError(f"Dataset.transform_first: fn must be callable, got "
                            f"{type(fn).__name__}")
        return self.transform(_TransformFirstClosure(fn), lazy)


class SimpleDataset(Dataset):
    """A dataset over anything with ``len()`` and ``[]`` (a list, an array)."""

    def __init__(self, data) -> None:
        self._data = data

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, idx):
        return self._data[idx]


class _LazyTransformDataset(Dataset):
    """``fn`` applied to each sample of ``data`` when it is read."""

    def __init__(self, data, fn: Callable) -> None:
        self._data = data
        self._fn = fn

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, idx):
        item = self._data[idx]
        if isinstance(item, tuple):
            return self._fn(*item)
        return self._fn(item)


class _TransformFirstClosure:
    """``fn`` on the first element of a sample (a class, so that it pickles)."""

    def __init__(self, fn: Callable) -> None:
        self._fn = fn

    def __call__(self, x, *rest):
        if rest:
            return (self._fn(x),) + rest
        return self._fn(x)


class _SampledDataset(Dataset):
    """The samples of ``dataset`` at the indices of ``sampler`` (taken once)."""

    def __init__(self, dataset, sampler: Sampler) -> None:
        self._dataset = dataset
        self._sampler = sampler
        self._indices = list(sampler)

    def __len__(self) -> int:
        return len(self._indices)

    def __getitem__(self, idx):
        try:
            index = self._indices[idx]
        except IndexError:
            raise IndexError(f"{type(self).__name__}: index {idx} is out of range for a dataset "
                             f"of {len(self._indices)} samples") from None
        return self._dataset[index]


class ArrayDataset(Dataset):
    """Several arrays (NumPy arrays, NDArrays, lists, datasets) of one length; sample i is
    ``(a[i], b[i], ...)``, or ``a[i]`` for a single array. A 1-D NDArray is kept as a NumPy
    array (as MXNet), so that its samples are numbers."""

    def __init__(self, *args) -> None:
        if not args:
            raise ValueError("ArrayDataset: needs at least one array")
        lengths = []
        for i, data in enumerate(args):
            try:
                lengths.append(len(data))
            except TypeError:
                raise TypeError(f"ArrayDataset: argument {i} ({type(data).__name__}) has no "
                                f"length; expected an array, a list or a dataset") from None
        if len(set(lengths)) > 1:
            described = ", ".join(f"array {i} has length {n}" for i, n in enumerate(lengths))
            raise ValueError(f"ArrayDataset: all arrays must have the same length; {described}")
        self._length = lengths[0]
        self._data = [data.asnumpy() if isinstance(data, NDArray) and data.ndim == 1 else data
                      for data in args]

    def __getitem__(self, idx):
        if len(self._data) == 1:
            return self._data[0][idx]
        return tuple(data[idx] for data in self._data)

    def __len__(self) -> int:
        return self._length


class RecordFileDataset(Dataset):
    """The records of a RecordIO file (``filename``, with its index beside it: the same
    name ending in ``.idx``); a sample is the raw bytes of one record."""

    def __init__(self, filename) -> None:
        from .. import recordio
        self.filename = os.fspath(filename)
        self.idx_file = os.path.splitext(self.filename)[0] + ".idx"
        for path in (self.filename, self.idx_file):
            if not os.path.isfile(path):
                raise FileNotFoundError(f"RecordFileDataset: '{path}' does not exist (a record "
                                        f"file needs its index: '{self.filename}' and "
                                        f"'{self.idx_file}')")
        self._record = recordio.MXIndexedRecordIO(self.idx_file, self.filename, "r")

    def __getitem__(self, idx) -> bytes:
        return self._record.read_idx(self._record.keys[idx])

    def __len__(self) -> int:
        return len(self._record.keys)
