"""Samplers (MXNet's ``gluon.data.sampler``): which sample indices, in which order.

A sampler is an iterable of indices with a length. ``RandomSampler`` shuffles with
the framework's host generator, so ``fw.random.seed(s)`` makes its epochs repeat,
in one process or across processes.

    list(BatchSampler(SequentialSampler(10), 3, 'keep'))   # [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
"""
from __future__ import annotations

import numbers
from typing import Callable, Iterator, List, Optional

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "FilterSampler", "BatchSampler",
           "IntervalSampler", "SplitSampler"]

LAST_BATCH_MODES = ("keep", "discard", "rollover")


def _count(value, what: str, where: str, minimum: int = 0) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{where}: {what} must be an int >= {minimum}, got {value!r}")
    return int(value)


def host_generator():
    """The framework's seeded host (cpu) generator, a NumPy RandomState (``fw.random.seed``)."""
    from ..context import cpu
    from ..ndarray.random import _generator
    return _generator(cpu(0))


class Sampler:
    """Base class: subclasses define ``__iter__`` (indices) and ``__len__``."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class SequentialSampler(Sampler):
    """The indices ``start, start + 1, ..., start + length - 1`` in order."""

    def __init__(self, length: int, start: int = 0) -> None:
        self._length = _count(length, "length", "SequentialSampler")
        self._start = _count(start, "start", "SequentialSampler")

    def __iter__(self) -> Iterator[int]:
        return iter(range(self._start, self._start + self._length))

    def __len__(self) -> int:
        return self._length


class RandomSampler(Sampler):
    """The indices ``0 .. length - 1`` in a new random order each epoch (without
    replacement), drawn from the framework's host generator (``fw.random.seed``)."""

    def __init__(self, length: int) -> None:
        self._length = _count(length, "length", "RandomSampler")

    def __iter__(self) -> Iterator[int]:
        return iter(host_generator().permutation(self._length).tolist())

    def __len__(self) -> int:
        return self._length


class FilterSampler(Sampler):
    """The indices of the samples of ``dataset`` for which ``fn(sample)`` is true
    (evaluated once, when the sampler is made)."""

    def __init__(self, fn: Callable, dataset) -> None:
        if not callable(fn):
            raise TypeError(f"FilterSampler: fn must be callable, got {type(fn).__name__}")
        self._fn = fn
        self._dataset = dataset
        self._indices = [i for i in range(len(dataset)) if fn(dataset[i])]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices)

    def __len__(self) -> int:
        return len(self._indices)


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``.

    last_batch: what to do with a last, incomplete batch: ``'keep'`` it, ``'discard'``
    it, or ``'rollover'`` its indices to the start of the next epoch.
    """

    def __init__(self, sampler, batch_size: int, last_batch: str = "keep") -> None:
        self._sampler = sampler
        self._batch_size = _count(batch_size, "batch_size", "BatchSampler", minimum=1)
        if last_batch not in LAST_BATCH_MODES:
            raise ValueError(f"BatchSampler: last_batch must be one of {LAST_BATCH_MODES}, "
                             f"got {last_batch!r}")
        self._last_batch = last_batch
        self._prev: List[int] = []

    def __iter__(self) -> Iterator[List[int]]:
        batch, self._prev = self._prev, []
        for i in self._sampler:
            batch.append(i)
            if len(batch) == self._batch_size:
                yield batch
                batch = []
        if batch:
            if self._last_batch == "keep":
                yield batch
            elif self._last_batch == "rollover":
                self._prev = batch

    def __len__(self) -> int:
        if self._last_batch == "keep":
            return (len(self._sampler) + self._batch_size - 1) // self._batch_size
        if self._last_batch == "discard":
            return len(self._sampler) // self._batch_size
        return (len(self._prev) + len(self._sampler)) // self._batch_size


class IntervalSampler(Sampler):
    """Every ``interval``-th index of ``0 .. length - 1``: 0, interval, 2 * interval, ...;
    with ``rollover`` it goes on from 1, then 2, ... until every index was visited.

    IntervalSampler(13, 3) -> 0 3 6 9 12 1 4 7 10 2 5 8 11; with rollover=False -> 0 3 6 9 12.
    """

    def __init__(self, length: int, interval: int, rollover: bool = True) -> None:
        self._length = _count(length, "length", "IntervalSampler")
        self._interval = _count(interval, "interval", "IntervalSampler", minimum=1)
        if self._length > 0 and self._interval >= self._length:
            raise ValueError(f"IntervalSampler: interval ({interval}) must be smaller than "
                             f"length ({length})")
        self._rollover = bool(rollover)

    def __iter__(self) -> Iterator[int]:
        for offset in range(self._interval if self._rollover else 1):
            yield from range(offset, self._length, self._interval)

    def __len__(self) -> int:
        if self._rollover:
            return self._length
        return (self._length + self._interval - 1) // self._interval


class SplitSampler(Sampler):
    """Part ``part_index`` of ``num_parts`` of the indices ``0 .. length - 1``: each rank of
    a data-parallel job reads its own part of every epoch.

    The epoch's order (``shuffle``: a permutation drawn from ``seed`` and the epoch number,
    the same on every rank; else ``0 .. length - 1``) is cut into ``num_parts`` contiguous
    parts whose sizes differ by at most one, so that the parts of an epoch together hold
    every index exactly once. ``even_size=True`` gives every part ``ceil(length /
    num_parts)`` indices instead, the shorter parts taking the first indices of the
    epoch's order again, so that every rank runs the same number of batches (a rank with
    one batch more than another would wait for it forever).

    The epoch number counts the passes over the sampler (``set_epoch`` sets it, e.g. when
    resuming). ``num_parts`` / ``part_index`` default to the number of processes and the
    rank the MPI launcher gives this process (1 and 0 outside a launched job).

        SplitSampler(10, 3, 0)  ->  0 1 2 3;  part 1: 4 5 6;  part 2: 7 8 9
        SplitSampler(10, 3, 2, even_size=True)  ->  7 8 9 0
    """

    def __init__(self, length: int, num_parts: Optional[int] = None,
                 part_index: Optional[int] = None, shuffle: bool = False, seed: int = 0,
                 even_size: bool = False) -> None:
        self._length = _count(length, "length", "SplitSampler")
        if num_parts is None or part_index is None:
            from ..distributed import launched_rank, launched_size
            num_parts = launched_size() if num_parts is None else num_parts
            part_index = launched_rank() if part_index is None else part_index
        self._parts = _count(num_parts, "num_parts", "SplitSampler", minimum=1)
        self._index = _count(part_index, "part_index", "SplitSampler")
        if self._index >= self._parts:
            raise ValueError(f"SplitSampler: part_index must be in [0, {self._parts}), "
                             f"got {part_index}")
        self._shuffle = bool(shuffle)
        self._seed = _count(seed, "seed", "SplitSampler")
        self._even = bool(even_size)
        self._epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass epoch ``epoch`` (its order when shuffling)."""
        self._epoch = _count(epoch, "epoch", "SplitSampler.set_epoch")

    def __iter__(self) -> Iterator[int]:
        import numpy
        if self._shuffle:
            order = numpy.random.default_rng((self._seed, self._epoch)).permutation(self._length)
        else:
            order = numpy.arange(self._length)
        self._epoch += 1
        size, rest = divmod(self._length, self._parts)
        start = size * self._index + min(self._index, rest)
        part = order[start:start + size + (self._index < rest)]
        if self._even and len(part) < len(self):
            part = numpy.concatenate([part, order[:len(self) - len(part)]])
        return iter(part.tolist())

    def __len__(self) -> int:
        if self._even:
            return -(-self._length // self._parts)
        size, rest = divmod(self._length, self._parts)
        return size + (self._index < rest)
