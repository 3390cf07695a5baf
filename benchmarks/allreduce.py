"""Allreduce bandwidth on 2 processes: framework's path against MPI's own, and the time a
MNIST CNN training step spends communicating.

    python benchmarks/allreduce.py                      # starts itself on 2 processes
    python -m framework.launch -n 2 benchmarks/allreduce.py --sizes 1 10 100
    python benchmarks/allreduce.py --sizes 1 --repeat 3 --steps 3    # a quick check

For each buffer size (MB of float32), in turn within each repeat:

- ``mpi``: ``comm.Allreduce(MPI.IN_PLACE, buf)`` (mpi4py), the floor, on a NumPy view of
  the very memory the ``framework`` row reduces (``numpy.from_dlpack``, no copy): the
  same MPI call on two NumPy arrays of one size differs by up to 13% here (882 against
  1,000 us at 4 MB) with where their memory lies, which would swamp the framework's cost;
- ``framework``: ``fw.distributed.allreduce_(x, op=Sum, name=...)`` on an NDArray of the
  same size (the engine's blocking Allreduce under its fault watchdog; with
  ``FRAMEWORK_DIST_BLOCKING=0`` a nonblocking Iallreduce polled with the fault checks).
  Above 8 MB the engine sends consecutive pieces of at most 8 MB, which is about twice
  as fast as MPI's one call from 32 MB up (Open MPI's scratch buffer of the message's
  size is then mapped fresh by glibc on every call), so the overhead goes negative;
- ``bucketed``: the same bytes as 100 separate arrays through the 'dist_sync' store's
  ``pushpull`` (what ``Trainer.step`` does): packed into flat buffers and back.

A time is the slowest rank's (each rank measures after a barrier; the maximum is taken);
the median over the repeats is printed, with the algorithm bandwidth (bytes / time) and
the bus bandwidth (2(N-1)/N * bytes / time, what each link carries in a ring allreduce).
``overhead`` is framework / mpi - 1 (the target is under 10%): the median of the
per-repeat ratios (load moves both alike within a repeat), and the ratio of the best
times.

Then the MNIST CNN of examples/mnist.py (batch --batch per rank): the median time of a
step, split into forward+backward, the wait for the slower rank (a barrier: in training
the allreduce absorbs it), the gradient allreduce (``Trainer.allreduce_grads``) and the
update.
"""
import argparse
import os
import pathlib
import statistics
import sys
import time

import numpy

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import framework as fw  # noqa: E402
from framework import distributed  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 4, 16, 64, 100],
                        help="buffer sizes in MB (default 1 4 16 64 100)")
    parser.add_argument("--repeat", type=int, default=10, help="timed repeats per size")
    parser.add_argument("--calls", type=int, default=5,
                        help="back-to-back calls per timed sample (the time is per call)")
    parser.add_argument("--steps", type=int, default=10, help="timed MNIST CNN steps")
    parser.add_argument("--batch", type=int, default=64, help="CNN batch per rank")
    parser.add_argument("--np", type=int, default=2, help="processes, when starting itself")
    return parser.parse_args(argv)


def slowest(seconds: float) -> float:
    """The largest of the ranks' times."""
    return float(distributed.allreduce(fw.nd.array([seconds], dtype="float64"),
                                       op=distributed.Max, name="timing").asnumpy()[0])


def timed(fn, calls: int = 1) -> float:
    """Seconds per call of ``calls`` back-to-back calls after a barrier, on the slowest
    rank (more calls spread the ranks' skew at leaving the barrier over them). One
    untimed call first: each row then starts from its own steady state, not from the
    caches the row before it left (the 'bucketed' row moves twice the bytes through
    other memory, and without it the row after it started colder)."""
    fn()
    distributed.barrier()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return slowest((time.perf_counter() - start) / calls)


def bandwidth_table(sizes, repeat: int, calls: int = 1) -> None:
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    size = distributed.size()
    kv = fw.kv.create("dist_sync")
    for megabytes in sizes:
        count = int(megabytes * (1 << 20)) // 4
        array = fw.nd.ones((count,))
        host = numpy.from_dlpack(array)          # the same memory (see the docstring)
        pieces = numpy.array_split(numpy.arange(count), 100)
        grads = [fw.nd.ones((len(p),)) for p in pieces]
        keys = [f"{megabytes}:{i}" for i in range(len(grads))]
        runs = {
            "mpi": lambda: comm.Allreduce(MPI.IN_PLACE, host),
            "framework": lambda: distributed.allreduce_(array, op=distributed.Sum,
                                                        name=f"bench {megabytes}"),
            "bucketed": lambda: kv.pushpull(keys, grads),
        }
        for fn in runs.values():            # warm up: buffers, first-call checks
            fn()
        times = {name: [] for name in runs}
        for r in range(repeat):
            order = list(runs) if r % 2 == 0 else list(reversed(runs))
            for name in order:
                times[name].append(timed(runs[name], calls))
        nbytes = count * 4
        med = {name: statistics.median(t) for name, t in times.items()}
        if distributed.rank() == 0:
            parts = []
            for name in runs:
                algo = nbytes / med[name] / 1e9
                bus = algo * 2 * (size - 1) / size
                parts.append(f"{name} {med[name] * 1e3:7.2f} ms ({algo:5.2f} GB/s, bus "
                             f"{bus:5.2f})")
            print(f"{megabytes:5g} MB  " + " | ".join(parts)
                  + f" | overhead framework {_overhead(times, 'framework')}, bucketed "
                  f"{_overhead(times, 'bucketed')}", flush=True)


def _overhead(times: dict, name: str) -> str:
    """name / mpi - 1: the median of the per-repeat ratios (the machine's load moves the
    two alike within a repeat), and the ratio of the best times."""
    ratio = statistics.median(a / b for a, b in zip(times[name], times["mpi"]))
    best = min(times[name]) / min(times["mpi"])
    return f"{ratio - 1:+.1%} (best times {best - 1:+.1%})"


def cnn_step_table(steps: int, batch: int) -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    from mnist import build_cnn
    fw.random.seed(0)
    net = build_cnn()
    net.initialize(fw.init.Xavier(magnitude=2.24))
    trainer = fw.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.01, "momentum": 0.9},
                         kvstore="dist_sync")
    loss_fn = fw.loss.SoftmaxCrossEntropyLoss()
    rng = numpy.random.RandomState(distributed.rank())
    x = fw.nd.array(rng.rand(batch, 1, 28, 28).astype(numpy.float32))
    y = fw.nd.array(rng.randint(0, 10, batch).astype(numpy.float32))
    parts = {"compute": [], "wait": [], "allreduce": [], "update": []}
    for step in range(steps + 2):                  # two warm-up steps
        distributed.barrier()
        t0 = time.perf_counter()
        with fw.autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        t1 = time.perf_counter()
        distributed.barrier()                      # the wait for the slower rank, apart
        t2 = time.perf_counter()
        trainer.allreduce_grads()
        t3 = time.perf_counter()
        trainer.update(batch)
        t4 = time.perf_counter()
        if step >= 2:
            for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                parts[name].append(slowest(seconds))
    params = sum(p.data().size for p in net.collect_params().values())
    med = {name: statistics.median(t) * 1e3 for name, t in parts.items()}
    total = sum(med.values())
    if distributed.rank() == 0:
        print(f"MNIST CNN, batch {batch} per rank, {params:,} parameters "
              f"({params * 4 / 1e6:.2f} MB of gradients): step {total:.1f} ms = forward+"
              f"backward {med['compute']:.1f} + waiting for the slower rank "
              f"{med['wait']:.1f} + allreduce {med['allreduce']:.2f} "
              f"({med['allreduce'] / total:.1%} of the step) + update {med['update']:.1f} "
              f"(medians of {steps} steps)", flush=True)


def main(argv=None) -> None:
    args = parse_args(argv)
    if distributed.launched_size() == 1:        # not started by a launcher: start itself
        from framework.launch import launch
        argv = list(sys.argv[1:] if argv is None else argv)
        raise SystemExit(launch(args.np, [sys.executable, os.path.abspath(__file__)] + argv))
    distributed.init()
    if distributed.rank() == 0:
        from mpi4py import MPI
        print(f"{distributed.size()} processes; {MPI.Get_library_version().splitlines()[0]}; "
              f"median of {args.repeat} repeats, slowest rank", flush=True)
    bandwidth_table(args.sizes, args.repeat, args.calls)
    cnn_step_table(args.steps, args.batch)


if __name__ == "__main__":
    main()
