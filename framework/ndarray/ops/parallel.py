"""Large NumPy elementwise work and pooling split over a few threads.

NumPy runs its elementwise loops, copies and reductions on one core; only the
BLAS products use more. PyTorch splits its loops over every core. Operators do
the same here: ``run_parts(n_parts, work)`` calls ``work(i)`` for every part,
on the calling thread and on ``num_threads() - 1`` pool threads; each part
writes only its own slice of the outputs, and NumPy releases the GIL inside
its loops, so the parts run on all cores.

Products are not split: one ``xp.matmul`` threaded by the BLAS itself beat
products cut into single-threaded blocks spread over the pool by 1.2-2.5x at
MLP, LeNet and ResNet shapes on an idle 2-core machine.

The cut into parts depends only on the shapes, never on the thread count:
results are the same, bit for bit, with one thread or several.

Threads: ``set_num_threads(n)``, or ``FRAMEWORK_NUM_THREADS`` (read at import);
by default as many as NumPy's OpenBLAS uses at the time of the call
(``OPENBLAS_NUM_THREADS``, threadpoolctl and ``openblas_set_num_threads`` all
change it), else the CPUs this process may use. Only NumPy work is split.
"""
from __future__ import annotations

import itertools
import os
import queue
import threading
from typing import Callable, List, Optional

import numpy

from ... import _host_blas

__all__ = []        # helpers for the operators; nothing for ``framework.nd``

ENV_VAR = "FRAMEWORK_NUM_THREADS"

_state = {"threads": None, "blas": None, "blas_threads": None, "pool": None, "pid": None}
_lock = threading.Lock()
_local = threading.local()          # .inside: this thread is running a part


# -------------------------------------------------------------- BLAS facts
def _openblas():
    """(is NumPy's BLAS OpenBLAS, its ctypes get_num_threads or None); looked up once."""
    if _state["blas"] is None:
        name = ""
        try:
            name = str(numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"])
        except Exception:       # older NumPy, or a build that does not say
            pass
        getter = None
        if "openblas" in name.lower():
            getter = _find_thread_getter()
        _state["blas_threads"] = getter
        _state["blas"] = "openblas" in name.lower()
    return _state["blas"], _state["blas_threads"]


def _find_thread_getter():
    """OpenBLAS's get_num_threads from the copy NumPy loaded (``_host_blas``)."""
    lib = _host_blas.openblas()
    return None if lib is None else lib.get_num_threads


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def num_threads() -> int:
    """Threads a split operation uses (1: everything on the calling thread)."""
    threads = _state["threads"]
    if threads is not None:
        return threads
    getter = _openblas()[1]
    if getter is not None:
        return max(1, int(getter()))
    return _cpu_count()


def _threads_from_environment() -> None:
    """``FRAMEWORK_NUM_THREADS``, read once at import."""
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return
    try:
        threads = int(value)
    except ValueError:
        threads = 0
    if threads < 1:
        raise ValueError(f"{ENV_VAR}={value!r} must be a whole number >= 1 (the threads "
                         f"that split operators; 1 turns splitting off)")
    _state["threads"] = threads


def set_num_threads(threads: Optional[int]) -> None:
    """Split operators over ``threads`` threads from now on; None: back to the default
    (NumPy's OpenBLAS thread count, else the CPUs this process may use)."""
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"set_num_threads: threads must be an int >= 1 or None, got "
                             f"{threads!r}")
    _state["threads"] = threads


_threads_from_environment()


# ------------------------------------------------------------------ the pool
class _Job:
    """One ``run_parts`` call: parts handed out one at a time to whoever asks."""

    __slots__ = ("work", "parts", "n", "finished", "done", "error")

    def __init__(self, work: Callable[[int], None], n: int) -> None:
        self.work, self.n = work, n
        self.parts = iter(range(n))          # next() is atomic under the GIL
        self.finished = itertools.count(1)
        self.done = threading.Event()
        self.error = None

    def take(self) -> None:
        """Run parts until none is left."""
        _local.inside = True
        try:
            for i in self.parts:
                try:
                    if self.error is None:
                        self.work(i)
                except BaseException as err:     # reported by the caller
                    if self.error is None:
                        self.error = err
                if next(self.finished) == self.n:
                    self.done.set()
        finally:
            _local.inside = False


class _Pool:
    """``size`` daemon threads, each waiting on its own queue (no spinning)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.queues: List[queue.SimpleQueue] = []
        for i in range(size):
            q = queue.SimpleQueue()
            thread = threading.Thread(target=self._serve, args=(q,), daemon=True,
                                      name=f"framework-parts-{i}")
            thread.start()
            self.queues.append(q)

    @staticmethod
    def _serve(q: queue.SimpleQueue) -> None:
        while True:
            job = q.get()
            if job is None:
                return
            job.take()

    def submit(self, job: _Job, helpers: int) -> None:
        for q in self.queues[:helpers]:
            q.put(job)

    def close(self) -> None:
        for q in self.queues:
            q.put(None)


def _pool(helpers: int) -> _Pool:
    pool = _state["pool"]
    if pool is None or pool.size < helpers or _state["pid"] != os.getpid():
        with _lock:
            pool = _state["pool"]
            if pool is None or pool.size < helpers or _state["pid"] != os.getpid():
                if pool is not None and _state["pid"] == os.getpid():
                    pool.close()
                pool = _Pool(helpers)           # after a fork the old threads are gone
                _state["pool"], _state["pid"] = pool, os.getpid()
    return pool


def run_parts(n_parts: int, work: Callable[[int], None]) -> None:
    """Call ``work(i)`` for i in range(``n_parts``), on this thread and the pool's.

    Each part must write only its own outputs. Runs everything here when there is
    one part or one thread, or when called from inside a part. The first error a
    part raises is raised here, after every part has finished."""
    threads = min(num_threads(), n_parts)
    if threads < 2 or getattr(_local, "inside", False):
        for i in range(n_parts):
            work(i)
        return
    job = _Job(work, n_parts)
    _pool(threads - 1).submit(job, threads - 1)
    job.take()
    job.done.wait()
    if job.error is not None:
        raise job.error


def bounds(length: int, n_parts: int) -> List[int]:
    """n_parts + 1 cut points splitting range(length) into nearly equal parts."""
    return [length * i // n_parts for i in range(n_parts + 1)]


def parts_for(length: int, size: int, min_size: int = 1 << 16, max_parts: int = 8) -> int:
    """How many parts to cut ``length`` rows into, ``size`` elements (or work units)
    in all: at least ``min_size`` per part, at most ``max_parts`` and ``length``.
    A function of the shapes only (see the module docstring)."""
    return max(1, min(length, max_parts, size // max(1, min_size)))


def is_host(xp) -> bool:
    """Whether ``xp`` is NumPy itself (only NumPy work is split)."""
    return xp is numpy


# --------------------------------------------------------- split elementwise
def _split_axis(shape, strides=None) -> int:
    """The first axis long enough to cut into several parts, else the longest; with
    ``strides``, first in memory order (outermost first), so that each part keeps
    whole contiguous runs (a batch-last array is cut along its channels, not its batch)."""
    order = range(len(shape)) if strides is None else \
        sorted(range(len(shape)), key=lambda a: -abs(strides[a]))
    for axis in order:
        if shape[axis] >= 8:
            return axis
    return max(range(len(shape)), key=lambda a: shape[a]) if shape else 0


def elementwise(xp, function: Callable, out, *arrays, min_size: int = 1 << 17) -> None:
    """``function(*parts_of_arrays, out=part_of_out)`` over slices of ``out``'s outer axis
    (array ``arrays`` have ``out``'s shape; scalars pass as they are; ``function`` is
    elementwise). One call for non-NumPy ``xp`` or small arrays."""
    if not is_host(xp) or out.ndim == 0 or out.size < min_size:
        function(*arrays, out=out)
        return
    axis = _split_axis(out.shape, out.strides)
    n_parts = parts_for(out.shape[axis], out.size, min_size)
    if n_parts < 2:
        function(*arrays, out=out)
        return
    cuts = bounds(out.shape[axis], n_parts)
    lead = (slice(None),) * axis
    sliced = [getattr(a, "ndim", 0) > 0 for a in arrays]

    def work(i):
        key = lead + (slice(cuts[i], cuts[i + 1]),)
        function(*[a[key] if cut else a for a, cut in zip(arrays, sliced)], out=out[key])

    run_parts(n_parts, work)
