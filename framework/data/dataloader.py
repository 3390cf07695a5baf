"""DataLoader (MXNet's ``gluon.data.DataLoader``): mini-batches from a dataset.

    loader = DataLoader(dataset, batch_size=128, shuffle=True, num_workers=2)
    for data, label in loader:          # NDArrays of shape (128, ...), (128,)
        ...

With ``num_workers > 0`` the samples are loaded and batchified in worker processes
(``_worker_pool``); each batch comes back through shared memory (not pickled through a
pipe) and becomes NDArrays in the main process with one copy. The workers are started
at the first epoch and kept for the next ones; dropping the loader stops them. An
iterator left early (``break``) waits for the batches its workers were still making,
removes them, and leaves the workers ready for the next epoch.

Errors: an exception raised in a worker is raised in the main process with its type,
its message and the worker's traceback; a worker that dies (killed, out of memory) is
reported within about a second; a batch that takes more than ``timeout`` seconds raises
``TimeoutError``. Both of the latter stop the workers (the next epoch starts new ones).

Randomness: ``shuffle=True`` draws each epoch's order from the framework's host
generator, so ``fw.random.seed(s)`` repeats it. Each epoch with worker processes also
takes a base seed from that generator's state (without drawing from it, so the main
process's random numbers are the same with or without workers) and the epoch's number;
worker ``k`` seeds Python's ``random``, NumPy's global generator and the framework's
generators from (base seed, k), so random augmentations differ between workers and
repeat from run to run.
"""
from __future__ import annotations

import collections
import itertools
import numbers
import pickle
import weakref
from typing import Callable, Optional

from ..context import cpu_pinned
from ..ndarray import NDArray
from . import sampler as _sampler
from .batchify import default_batchify_fn

__all__ = ["DataLoader", "default_batchify_fn"]

_ITERATOR_IDS = itertools.count()
_DRAIN_LIMIT_S = 10.0          # how long an iterator closed early waits for its batches in flight


class DataLoader:
    """Loads mini-batches from ``dataset``, in this process or in worker processes.

    dataset: anything with ``__getitem__`` and ``__len__``.
    batch_size: samples per batch (needed unless ``batch_sampler`` is given).
    shuffle: a new random order each epoch (not with ``sampler``).
    sampler: the order of the indices (a Sampler; not with ``shuffle``).
    last_batch: 'keep' (default), 'discard' or 'rollover' an incomplete last batch.
    batch_sampler: gives lists of indices (not with batch_size, shuffle, sampler, last_batch).
    batchify_fn: list of samples -> batch (default ``default_batchify_fn``: NDArrays).
    num_workers: worker processes (0: load in this process).
    pin_memory, pin_device_id: return batches on ``cpu_pinned(pin_device_id)``.
    prefetch: batches loaded ahead by the workers (default ``2 * num_workers``).
    thread_pool: use ``num_workers`` threads instead of processes.
    timeout: seconds to wait for one batch from the workers before ``TimeoutError``.
    try_nopython: MXNet's switch to its C++ data pipeline; there is none here, so it is
        accepted for MXNet scripts and changes nothing.
    """

    def __init__(self, dataset, batch_size: Optional[int] = None, shuffle: bool = False,
                 sampler=None, last_batch: Optional[str] = None, batch_sampler=None,
                 batchify_fn: Optional[Callable] = None, num_workers: int = 0,
                 pin_memory: bool = False, pin_device_id: int = 0,
                 prefetch: Optional[int] = None, thread_pool: bool = False,
                 timeout: float = 120, try_nopython: Optional[bool] = None) -> None:
        if not isinstance(timeout, numbers.Real) or isinstance(timeout, bool) or timeout <= 0:
            raise ValueError(f"DataLoader: timeout must be a positive number of seconds, "
                             f"got {timeout!r}")
        if not isinstance(num_workers, numbers.Integral) or isinstance(num_workers, bool):
            raise TypeError(f"DataLoader: num_workers must be an int, got {num_workers!r}")
        if batchify_fn is not None and not callable(batchify_fn):
            raise TypeError(f"DataLoader: batchify_fn must be callable, got "
                            f"{type(batchify_fn).__name__}")
        if try_nopython not in (None, True, False):
            raise TypeError(f"DataLoader: try_nopython must be None or a bool, got "
                            f"{try_nopython!r}")
        if batch_sampler is None:
            if batch_size is None:
                raise ValueError("DataLoader: batch_size must be given unless batch_sampler is")
            if sampler is None:
                sampler = (_sampler.RandomSampler(len(dataset)) if shuffle
                           else _sampler.SequentialSampler(len(dataset)))
            elif shuffle:
                raise ValueError("DataLoader: shuffle must not be given with a sampler (the "
                                 "sampler decides the order)")
            batch_sampler = _sampler.BatchSampler(sampler, batch_size,
                                                  last_batch if last_batch else "keep")
        elif batch_size is not None or shuffle or sampler is not None or last_batch is not None:
            raise ValueError("DataLoader: batch_size, shuffle, sampler and last_batch must not "
                             "be given with a batch_sampler")
        self._dataset = dataset
        self._batch_sampler = batch_sampler
        self._batchify_fn = batchify_fn
        self._num_workers = max(0, int(num_workers))
        self._thread_pool = bool(thread_pool)
        self._pin_memory = bool(pin_memory)
        self._pin_device_id = int(pin_device_id)
        self._prefetch = max(0, int(prefetch) if prefetch is not None else 2 * self._num_workers)
        self._timeout = float(timeout)
        self._try_nopython = try_nopython
        self._pool = None               # the WorkerPool or thread executor, made at first epoch
        self._epochs = 0                # epochs started with worker processes

    def __len__(self) -> int:
        return len(self._batch_sampler)

    def __iter__(self):
        if self._num_workers == 0:
            return self._same_process_iter()
        if self._thread_pool:
            return _ThreadIter(self, self._threads())
        return _ProcessIter(self, self._processes())

    # ------------------------------------------------------------------ workers
    def _processes(self):
        from ._worker_pool import WorkerPool
        if self._pool is None or not self._pool.alive:
            if self._pool is not None:
                self._pool.shutdown()
            self._pool = WorkerPool(self._dataset, self._batchify_fn, self._num_workers)
        return self._pool

    def _threads(self):
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(self._num_workers,
                                            thread_name_prefix="DataLoader worker")
            weakref.finalize(self, self._pool.shutdown, wait=False, cancel_futures=True)
        return self._pool

    def _same_process_iter(self):
        batchify = self._batchify_fn or default_batchify_fn
        for indices in self._batch_sampler:
            batch = batchify([self._dataset[i] for i in indices])
            yield _pin(batch, self._pin_device_id) if self._pin_memory else batch


def _pin(batch, device_id: int):
    """The NDArrays of ``batch`` copied to ``cpu_pinned(device_id)``."""
    if isinstance(batch, NDArray):
        return batch.as_in_context(cpu_pinned(device_id))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_pin(b, device_id) for b in batch)
    return batch


def _epoch_seed(epoch: int) -> int:
    """The workers' base seed for an epoch: from the framework's host generator's state (read,
    not drawn from, so that num_workers does not change the main process's random numbers)
    and the epoch's number."""
    import zlib
    import numpy
    _, keys, position = _sampler.host_generator().get_state()[:3]
    state = zlib.crc32(numpy.asarray(keys).tobytes() + int(position).to_bytes(4, "little"))
    return int(numpy.random.SeedSequence([state, epoch]).generate_state(1)[0])


def _load(dataset, batchify: Callable, indices):
    return batchify([dataset[i] for i in indices])


class _ThreadIter:
    """An epoch loaded by a pool of threads, ``prefetch`` batches ahead, in order."""

    def __init__(self, loader: DataLoader, executor) -> None:
        self._loader = loader
        self._executor = executor
        self._batches = iter(loader._batch_sampler)
        self._batchify = loader._batchify_fn or default_batchify_fn
        self._futures = collections.deque()
        for _ in range(max(1, loader._prefetch)):
            if not self._push():
                break

    def _push(self) -> bool:
        indices = next(self._batches, None)
        if indices is None:
            return False
        self._futures.append(self._executor.submit(_load, self._loader._dataset, self._batchify,
                                                   indices))
        return True

    def __iter__(self):
        return self

    def __next__(self):
        import concurrent.futures
        if not self._futures:
            raise StopIteration
        future = self._futures.popleft()
        self._push()
        try:
            batch = future.result(timeout=self._loader._timeout)
        except concurrent.futures.TimeoutError:
            self.close()
            if future.done():                  # the dataset itself raised a TimeoutError
                raise
            raise TimeoutError(f"DataLoader: no batch came from the thread pool within "
                               f"timeout={self._loader._timeout:g} s (a sample takes too long "
                               f"to load, or the dataset hangs)") from None
        except BaseException:
            self.close()
            raise
        loader = self._loader
        return _pin(batch, loader._pin_device_id) if loader._pin_memory else batch

    def close(self) -> None:
        while self._futures:
            self._futures.popleft().cancel()

    def __del__(self) -> None:
        self.close()


class _ProcessIter:
    """An epoch loaded by the worker processes, ``prefetch`` batches ahead, in order."""

    def __init__(self, loader: DataLoader, pool) -> None:
        self._pool = pool
        self._closed = True
        self._batches = iter(loader._batch_sampler)
        self._timeout = loader._timeout
        self._pin = loader._pin_device_id if loader._pin_memory else None
        self._id = next(_ITERATOR_IDS)
        self._sent = 0
        self._taken = 0
        first = next(self._batches, None)      # the epoch's order is drawn before the seed,
        if first is not None:                  # so that it is the same as with num_workers=0
            self._batches = itertools.chain([first], self._batches)
        pool.seed(_epoch_seed(loader._epochs))
        loader._epochs += 1
        self._closed = False
        for _ in range(max(1, loader._prefetch)):
            if not self._push():
                break

    def _push(self) -> bool:
        indices = next(self._batches, None)
        if indices is None:
            return False
        key = (self._id, self._sent)
        self._pool.submit(self._sent % self._pool.num_workers, key, list(indices))
        self._sent += 1
        return True

    def __iter__(self):
        return self

    def __next__(self):
        from . import _shared_batch
        if self._closed or self._taken >= self._sent:
            self.close()
            raise StopIteration
        try:
            message = self._pool.take((self._id, self._taken), self._timeout)
            self._taken += 1
            if message[0] == "error":
                self.close()
                _raise_worker_error(message[2])
            self._push()
        except BaseException:
            self.close()
            raise
        batch = _shared_batch.read_batch(*message[2])
        return batch if self._pin is None else _pin(batch, self._pin)

    def close(self) -> None:
        """Stop the epoch: batches still in flight are waited for and thrown away."""
        if self._closed:
            return
        self._closed = True
        outstanding = [(self._id, n) for n in range(self._taken, self._sent)]
        pool, self._pool = self._pool, None     # a traceback that keeps this iterator alive
        if outstanding and pool.alive:          # must not keep the workers alive
            pool.release(outstanding)
            pool.drain(min(self._timeout, _DRAIN_LIMIT_S))

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()


class _KeyErrorMessage(str):
    """A KeyError's message shown as it is (KeyError's str() is the repr of its argument)."""

    def __repr__(self) -> str:
        return str(self)


def _raise_worker_error(info: dict) -> None:
    """Raise, in the main process, the exception a worker reported: the same type when it can
    be made from a message, with the worker's traceback in the message."""
    from ._worker_pool import WorkerError
    indices = info["indices"]
    shown = ", ".join(map(str, indices[:8])) + (", ..." if len(indices) > 8 else "")
    text = (f"{info['message']}\n\n[{info['type_name']} raised in DataLoader worker "
            f"{info['worker']} (pid {info['pid']}) while loading batch {info['batch']} of the "
            f"epoch, samples [{shown}]; the worker's traceback:]\n{info['traceback'].rstrip()}")
    error = None
    try:
        exc_type = pickle.loads(info["type"]) if info["type"] is not None else None
    except Exception:
        exc_type = None
    if isinstance(exc_type, type) and issubclass(exc_type, Exception):
        try:
            error = exc_type(_KeyErrorMessage(text) if issubclass(exc_type, KeyError) else text)
        except Exception:
            error = None
    if error is None:
        error = WorkerError(f"{info['type_name']}: {text}")
    raise error from None
