"""Per-operator overhead of recording and back-propagation, against PyTorch eager.

A chain of ``--ops`` tiny elementwise operations (multiply, add, subtract by a
constant, in turn) on a (4,)-shaped float32 array is recorded and then
back-propagated; with arrays this small the arithmetic is negligible, so the time
per operation is the framework's own cost: creating the array, the graph node,
the bookkeeping, and the same again for its gradient. PyTorch eager runs the same
chain in the same process, and the ratio is printed.

    python benchmarks/op_overhead.py                 # 1,000 ops, median of 7 repeats
    python benchmarks/op_overhead.py --profile       # and cProfile's top costs
"""
import argparse
import statistics
import sys
import time

import numpy as np


def chain_framework(n_ops: int):
    """Record the chain and back-propagate; returns (forward s, backward s, gradient)."""
    import framework as fw
    x = fw.nd.ones((4,))
    x.attach_grad()
    start = time.perf_counter()
    with fw.autograd.record():
        y = x
        for i in range(n_ops):
            step = i % 3
            if step == 0:
                y = y * 1.0001
            elif step == 1:
                y = y + 0.001
            else:
                y = y - 0.0005
    middle = time.perf_counter()
    y.backward()
    x.grad.wait_to_read()
    end = time.perf_counter()
    return middle - start, end - middle, x.grad.asnumpy()


def chain_torch(n_ops: int):
    import torch
    x = torch.ones(4, dtype=torch.float32, requires_grad=True)
    start = time.perf_counter()
    y = x
    for i in range(n_ops):
        step = i % 3
        if step == 0:
            y = y * 1.0001
        elif step == 1:
            y = y + 0.001
        else:
            y = y - 0.0005
    middle = time.perf_counter()
    y.backward(torch.ones_like(y))      # a non-scalar head: as sum(y).backward()
    end = time.perf_counter()
    return middle - start, end - middle, x.grad.numpy()


def measure(chains, n_ops: int, repeat: int):
    """Median microseconds per op, (forward, backward, total), of each chain.

    The chains run in turn within each repeat (after one warm-up run each), so
    that a load change on the machine affects them alike.
    """
    runs = {name: [] for name in chains}
    grads = {name: chain(n_ops)[2] for name, chain in chains.items()}
    for _ in range(repeat):
        for name, chain in chains.items():
            runs[name].append(chain(n_ops)[:2])
    results = {}
    for name, times in runs.items():
        forward = statistics.median(f for f, _ in times) / n_ops * 1e6
        backward = statistics.median(b for _, b in times) / n_ops * 1e6
        total = statistics.median(f + b for f, b in times) / n_ops * 1e6
        results[name] = (forward, backward, total)
    return results, grads


def report(name: str, n_ops: int, repeat: int, result) -> None:
    forward, backward, total = result
    print(f"{name:<10} {n_ops} ops: {total:8.2f} us/op forward+backward "
          f"(forward {forward:.2f}, backward {backward:.2f}; median of {repeat})", flush=True)


def profile(n_ops: int, top: int) -> None:
    """cProfile the framework's chain; print the ``top`` functions by own time."""
    import cProfile
    import pstats
    chain_framework(n_ops)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        chain_framework(n_ops)
    profiler.disable()
    print(f"\ncProfile of 5 framework chains of {n_ops} ops, top {top} by own time:")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=1000, help="operations in the chain")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs (the median is shown)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--profile", action="store_true",
                        help="also print cProfile's top costs of the framework chain")
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile")
    args = parser.parse_args(argv)
    if args.ops < 1 or args.repeat < 1:
        parser.error("--ops and --repeat must be at least 1")

    chains = {"framework": chain_framework}
    if not args.no_torch:
        try:
            import torch  # noqa: F401
            chains["pytorch"] = chain_torch
        except ImportError:
            print("pytorch    not installed: no comparison (pip install torch)")
    results, grads = measure(chains, args.ops, args.repeat)
    for name, result in results.items():
        report(name, args.ops, args.repeat, result)
    if "pytorch" in results:
        ours, theirs = results["framework"], results["pytorch"]
        print(f"ratio      framework/pytorch: {ours[2] / theirs[2]:.2f}x per op "
              f"(forward {ours[0] / theirs[0]:.2f}x, backward {ours[1] / theirs[1]:.2f}x)")
        if not np.allclose(grads["framework"], grads["pytorch"], rtol=1e-4):
            print(f"warning: the gradients differ: framework {grads['framework']}, "
                  f"pytorch {grads['pytorch']}")
    if args.profile:
        profile(args.ops, args.top)


if __name__ == "__main__":
    main()
