"""The worker processes of a DataLoader (``num_workers > 0``, ``thread_pool=False``).

Each worker has a duplex pipe. The main process sends it small messages (a seed, or a
batch key and its sample indices); the worker loads the samples, batchifies them into
NumPy arrays, writes those into a shared-memory segment (``_shared_batch``) and sends
back only the descriptor. A worker that raises sends its exception type, message and
traceback instead, and goes on. While waiting for a batch, the main process watches
every worker's pipe and process sentinel together, so a worker that dies (SIGKILL, a
crash in native code) is reported at once rather than waited for; ``timeout`` bounds
the wait for a worker that hangs.

Workers are started with 'fork' on Linux when that is safe, that is while CuPy is not
loaded (CUDA does not work in a forked child, so a worker could not use the GPU), else
with 'spawn' (then the dataset and batchify function are pickled to the workers; set
``START_METHOD`` here to choose). Other Python threads of the main process do not
prevent the fork, as in MXNet and PyTorch: a worker only runs the dataset and batchify
code, and one that deadlocks on a lock copied from such a thread is caught by
``timeout``. They
ignore SIGINT (Ctrl-C reaches the main process, which stops them), exit when their
parent dies, and are stopped, with every segment of the pool removed, when the pool is
shut down or garbage-collected (``weakref.finalize``, which also runs at exit).
"""
from __future__ import annotations

import os
import pickle
import secrets
import signal
import sys
import threading
import time
import traceback
import weakref
from typing import Dict, List, Optional, Tuple

from . import _shared_batch

START_METHOD: Optional[str] = None      # None: 'fork' where safe, else 'spawn'; tests may set it
_SEGMENT_PREFIX = "fw-dl-"


class WorkerError(RuntimeError):
    """A DataLoader worker raised an exception that could not be re-raised as its own type."""


class WorkerDiedError(RuntimeError):
    """A DataLoader worker process exited while batches were expected from it."""


def start_method() -> str:
    """'fork' on Linux while CuPy is not loaded; else 'spawn'."""
    if START_METHOD is not None:
        return START_METHOD
    if sys.platform.startswith("linux") and "cupy" not in sys.modules:
        return "fork"
    return "spawn"


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class WorkerPool:
    """``num_workers`` processes that turn lists of indices into batches in shared memory."""

    def __init__(self, dataset, batchify_fn, num_workers: int) -> None:
        import multiprocessing
        method = start_method()
        context = multiprocessing.get_context(method)
        self.method = method
        self.folder = _shared_batch.segment_dir()
        self.prefix = f"{_SEGMENT_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-"
        self.processes: List = []
        self.conns: List = []
        self.pending: Dict[tuple, int] = {}        # key -> worker, for batches not yet received
        self.arrived: Dict[tuple, tuple] = {}      # key -> message, received but not yet taken
        self.unwanted = set()                      # keys whose batches are to be thrown away
        self.broken: Optional[BaseException] = None
        self._finalizer = weakref.finalize(self, _shutdown, os.getpid(), self.processes,
                                           self.conns, self.folder, self.prefix)
        as_ndarray = batchify_fn is None
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) \
            if threading.current_thread() is threading.main_thread() else None
        try:
            for worker in range(num_workers):
                parent_end, child_end = context.Pipe(duplex=True)
                process = context.Process(
                    target=worker_loop, name=f"DataLoader worker {worker}", daemon=True,
                    args=(worker, dataset, batchify_fn, as_ndarray, child_end, self.folder,
                          f"{self.prefix}w{worker}-", os.getpid()))
                try:
                    process.start()
                except (pickle.PicklingError, TypeError, AttributeError) as err:
                    parent_end.close()
                    raise TypeError(
                        f"DataLoader: num_workers={num_workers} starts worker processes with "
                        f"'{method}', which pickles the dataset and batchify_fn to them, and "
                        f"that failed: {err}. Define them at module level (not as lambdas or "
                        f"local functions), or use thread_pool=True") from err
                finally:
                    child_end.close()
                self.processes.append(process)
                self.conns.append(parent_end)
        except BaseException:
            self._finalizer()
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    @property
    def num_workers(self) -> int:
        return len(self.processes)

    @property
    def alive(self) -> bool:
        return self._finalizer.alive and self.broken is None

    def shutdown(self) -> None:
        """Stop the workers and remove every segment of the pool (idempotent)."""
        self._finalizer()

    # ------------------------------------------------------------------ messages
    def _send(self, worker: int, message) -> None:
        try:
            self.conns[worker].send(message)
        except (OSError, ValueError):
            self._check_workers()
            raise

    def seed(self, base_seed: int) -> None:
        """Seed every worker's generators from ``base_seed`` and its worker number."""
        for worker in range(self.num_workers):
            self._send(worker, ("seed", base_seed))

    def submit(self, worker: int, key: tuple, indices: List[int]) -> None:
        self._send(worker, ("batch", key, indices))
        self.pending[key] = worker

    def take(self, key: tuple, timeout: float) -> tuple:
        """The message for batch ``key``: ('ok', key, (path, tree)) or ('error', key, info);
        raises if a worker died, or nothing came within ``timeout`` seconds."""
        from multiprocessing.connection import wait
        deadline = time.monotonic() + timeout
        while key not in self.arrived:
            if self.broken is not None:
                raise self.broken
            if not self._finalizer.alive:
                raise RuntimeError("DataLoader: the worker pool was shut down while batches "
                                   "were still expected from it (another iterator of the same "
                                   "DataLoader was closed early and its workers stopped)")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                worker = self.pending.get(key)
                process = self.processes[worker] if worker is not None else None
                self._fail(TimeoutError(
                    f"DataLoader: no batch came from worker {worker} (pid "
                    f"{getattr(process, 'pid', '?')}) within timeout={timeout:g} s. A sample "
                    f"may take too long to load, or the worker hangs (a deadlock in the dataset, "
                    f"or a library that does not survive '{self.method}'); raise the DataLoader's "
                    f"timeout, or try num_workers=0 to see the problem in the main process"))
            sentinels = [p.sentinel for p in self.processes]
            ready = wait(self.conns + sentinels, timeout=min(remaining, 1.0))
            for conn in self.conns:
                if conn in ready:
                    self._receive(conn)
            if any(s in ready for s in sentinels):
                self._check_workers()
        self.pending.pop(key, None)
        return self.arrived.pop(key)

    def _receive(self, conn) -> None:
        """Read every message waiting on ``conn``."""
        try:
            while conn.poll():
                message = conn.recv()
                key = message[1]
                if key in self.unwanted:
                    self.unwanted.discard(key)
                    self.pending.pop(key, None)
                    if message[0] == "ok":
                        _shared_batch.discard(message[2][0])
                else:
                    self.arrived[key] = message
        except (EOFError, OSError):
            self._check_workers()

    def _check_workers(self) -> None:
        """Raise (and shut the pool down) if a worker process has exited."""
        for worker, process in enumerate(self.processes):
            code = process.exitcode
            if code is None:
                continue
            self._receive_quietly(worker)
            how = (f"was killed by {_signal_name(code)}" if code < 0
                   else f"exited with code {code}")
            waiting = sorted(k[1] for k, w in self.pending.items() if w == worker)
            self._fail(WorkerDiedError(
                f"DataLoader worker {worker} (pid {process.pid}) {how} while batches "
                f"{waiting or '(none)'} of the epoch were expected from it. Killed from outside, "
                f"out of memory (see dmesg for the OOM killer) or a crash in native code; "
                f"try num_workers=0 to load the same samples in the main process"))

    def _receive_quietly(self, worker: int) -> None:
        conn = self.conns[worker]
        try:
            while conn.poll():
                message = conn.recv()
                if message[0] == "ok":
                    _shared_batch.discard(message[2][0])
        except (EOFError, OSError):
            pass

    def _fail(self, error: BaseException) -> None:
        self.broken = error
        self.release(list(self.arrived))
        self.shutdown()
        raise error

    def release(self, keys) -> None:
        """Throw away the batches ``keys`` (taken or not), removing their segments."""
        for key in keys:
            message = self.arrived.pop(key, None)
            if message is not None:
                self.pending.pop(key, None)
                if message[0] == "ok":
                    _shared_batch.discard(message[2][0])
            elif key in self.pending:
                self.unwanted.add(key)

    def drain(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) for unwanted batches in flight, removing their segments;
        shut the pool down if they do not all come."""
        from multiprocessing.connection import wait
        deadline = time.monotonic() + timeout
        while self.unwanted and self.alive:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.shutdown()
                return
            ready = wait(self.conns + [p.sentinel for p in self.processes],
                         timeout=min(remaining, 1.0))
            for conn in self.conns:
                if conn in ready:
                    self._receive(conn)
            if any(p.exitcode is not None for p in self.processes):
                self.shutdown()
                return


def _shutdown(creator: int, processes, conns, folder: str, prefix: str) -> None:
    """Stop the workers, close the pipes, remove the pool's segments (only in the creator)."""
    if os.getpid() != creator:            # a forked copy of the pool in a worker
        return
    for process in processes:
        if process.exitcode is None:
            process.terminate()
    deadline = time.monotonic() + 5.0
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.exitcode is None:
            process.kill()
            process.join(1.0)
        if process.exitcode is not None:
            process.close()
    for conn in conns:
        conn.close()
    _shared_batch.remove_segments(folder, prefix)


# ---------------------------------------------------------------------- worker side
def _seed_worker(base_seed: int, worker: int) -> None:
    """Seed Python's, NumPy's and the framework's generators for this worker and epoch."""
    import random
    import numpy
    from .. import random as fw_random
    seed = int(numpy.random.SeedSequence([base_seed, worker]).generate_state(1)[0])
    random.seed(seed)
    numpy.random.seed(seed)
    fw_random.seed(seed)


def _error_info(err: BaseException, worker: int, key: tuple, indices) -> dict:
    try:
        exc_type = pickle.dumps(type(err))
        pickle.loads(exc_type)
    except Exception:
        exc_type = None
    return {"type": exc_type, "type_name": f"{type(err).__module__}.{type(err).__qualname__}",
            "message": str(err), "traceback": "".join(traceback.format_exception(
                type(err), err, err.__traceback__)), "worker": worker, "pid": os.getpid(),
            "batch": key[1], "indices": list(indices)}


def worker_loop(worker: int, dataset, batchify_fn, as_ndarray: bool, conn, folder: str,
                prefix: str, parent: int) -> None:
    """A worker process: answer seed and batch messages until told to stop or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .batchify import default_batchify_host
    batchify = default_batchify_host if batchify_fn is None else batchify_fn
    count = 0
    try:
        while True:
            if not conn.poll(1.0):
                if os.getppid() != parent:
                    break
                continue
            message = conn.recv()
            if message is None:
                break
            if message[0] == "seed":
                _seed_worker(message[1], worker)
                continue
            _, key, indices = message
            try:
                batch = batchify([dataset[i] for i in indices])
                path, tree = _shared_batch.write_batch(
                    batch, os.path.join(folder, f"{prefix}{count}"), as_ndarray)
                count += 1
                reply: Tuple = ("ok", key, (path, tree))
            except Exception as err:     # reported to the main process, which raises it
                reply = ("error", key, _error_info(err, worker, key, indices))
            try:
                conn.send(reply)
            except (pickle.PicklingError, TypeError, AttributeError) as err:
                if reply[0] == "ok":           # a batch field that cannot be pickled
                    _shared_batch.discard(reply[2][0])
                conn.send(("error", key, _error_info(err, worker, key, indices)))
    except (EOFError, OSError, KeyboardInterrupt):
        pass
    finally:
        if os.getppid() != parent:
            _shared_batch.remove_segments(folder, prefix)
