"""Per-operator overhead of recording and back-propagation, against PyTorch eager.

A chain of ``--ops`` tiny elementwise operations (multiply, add, subtract by a
constant, in turn) on a (4,)-shaped float32 array is recorded and then
back-propagated; with arrays this small the arithmetic is negligible, so the time
per operation is the framework's own cost: creating the array, the graph node,
the bookkeeping, and the same again for its gradient. PyTorch eager runs the same
chain in the same process, and the ratio is printed.

The ``hybridized`` row applies the same chain inside a HybridBlock after
``hybridize()``: the first call traces it (in the warm-up), later calls replay the
captured program (one ufunc call per operation, no NDArray or graph node per
operation; one graph node for the whole chain, whose backward is a captured
program too). Target (issue 8): at most 1.5 us per op, forward and backward.

    python benchmarks/op_overhead.py                 # 1,000 ops, median of 15 repeats
    python benchmarks/op_overhead.py --profile       # and cProfile's top costs
    python benchmarks/op_overhead.py --no-hybridize  # without the hybridized row

Target (issue 6): at most 0.8x PyTorch's time per op, the median of the per-repeat ratios.
"""
import argparse
import statistics
import sys
import time

import numpy as np


def apply_chain(y, n_ops: int):
    """``y * 1.0001``, ``+ 0.001``, ``- 0.0005`` in turn, ``n_ops`` operations in all (on
    an NDArray or a torch tensor)."""
    for i in range(n_ops):
        step = i % 3
        if step == 0:
            y = y * 1.0001
        elif step == 1:
            y = y + 0.001
        else:
            y = y - 0.0005
    return y


def chain_framework(n_ops: int):
    """Record the chain and back-propagate; returns (forward s, backward s, gradient)."""
    import framework as fw
    x = fw.nd.ones((4,))
    x.attach_grad()
    start = time.perf_counter()
    with fw.autograd.record():
        y = apply_chain(x, n_ops)
    middle = time.perf_counter()
    y.backward()
    x.grad.wait_to_read()
    end = time.perf_counter()
    return middle - start, end - middle, x.grad.asnumpy()


_HYBRID_CHAINS = {}


def chain_hybridized(n_ops: int):
    """The chain as a hybridized HybridBlock (traced on its first call, replayed after);
    returns (forward s, backward s, gradient) like ``chain_framework``."""
    import framework as fw
    net = _HYBRID_CHAINS.get(n_ops)
    if net is None:
        class Chain(fw.HybridBlock):
            def hybrid_forward(self, F, y):
                return apply_chain(y, n_ops)

        net = _HYBRID_CHAINS[n_ops] = Chain()
        net.hybridize()
    x = fw.nd.ones((4,))
    x.attach_grad()
    start = time.perf_counter()
    with fw.autograd.record():
        y = net(x)
    middle = time.perf_counter()
    y.backward()
    x.grad.wait_to_read()
    end = time.perf_counter()
    return middle - start, end - middle, x.grad.asnumpy()


def chain_torch(n_ops: int):
    import torch
    x = torch.ones(4, dtype=torch.float32, requires_grad=True)
    start = time.perf_counter()
    y = apply_chain(x, n_ops)
    middle = time.perf_counter()
    y.backward(torch.ones_like(y))      # a non-scalar head: as sum(y).backward()
    end = time.perf_counter()
    return middle - start, end - middle, x.grad.numpy()


def measure(chains, n_ops: int, repeat: int):
    """Each chain's (forward, backward) seconds per repeat, and its gradient.

    The chains run in turn within each repeat (after one warm-up run each), in
    an order that alternates between repeats, so that a load change on the
    machine affects them alike.
    """
    runs = {name: [] for name in chains}
    grads = {name: chain(n_ops)[2] for name, chain in chains.items()}
    order = list(chains)
    for _ in range(repeat):
        for name in order:
            runs[name].append(chains[name](n_ops)[:2])
        order.reverse()
    return runs, grads


def per_op(times, n_ops: int):
    """Median microseconds per op: (forward, backward, total)."""
    scale = 1e6 / n_ops
    return (statistics.median(f for f, _ in times) * scale,
            statistics.median(b for _, b in times) * scale,
            statistics.median(f + b for f, b in times) * scale)


def ratios(ours, theirs):
    """Medians of the per-repeat ratios (forward, backward, total): the two runs of a
    repeat are adjacent in time, so load changes between repeats cancel out."""
    parts = [(f / tf, b / tb, (f + b) / (tf + tb)) for (f, b), (tf, tb) in zip(ours, theirs)]
    return tuple(statistics.median(p[k] for p in parts) for k in range(3))


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
    parser.add_argument("--repeat", type=int, default=15, help="timed runs (the median is shown)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--no-hybridize", action="store_true",
                        help="skip the hybridized row")
    parser.add_argument("--profile", action="store_true",
                        help="also print cProfile's top costs of the framework chain")
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile")
    args = parser.parse_args(argv)
    if args.ops < 1 or args.repeat < 1:
        parser.error("--ops and --repeat must be at least 1")

    chains = {"framework": chain_framework}
    if not args.no_hybridize:
        chains["hybridized"] = chain_hybridized
    if not args.no_torch:
        try:
            import torch  # noqa: F401
            chains["pytorch"] = chain_torch
        except ImportError:
            print("pytorch    not installed: no comparison (pip install torch)")
    runs, grads = measure(chains, args.ops, args.repeat)
    for name, times in runs.items():
        report(name, args.ops, args.repeat, per_op(times, args.ops))
    if "pytorch" in runs:
        forward, backward, total = ratios(runs["framework"], runs["pytorch"])
        print(f"ratio      framework/pytorch: {total:.2f}x per op (forward {forward:.2f}x, "
              f"backward {backward:.2f}x; median of {args.repeat} per-repeat ratios; "
              f"target at most 0.8x)")
        if not np.allclose(grads["framework"], grads["pytorch"], rtol=1e-4):
            print(f"warning: the gradients differ: framework {grads['framework']}, "
                  f"pytorch {grads['pytorch']}")
        if "hybridized" in runs:
            forward, backward, total = ratios(runs["hybridized"], runs["pytorch"])
            print(f"ratio      hybridized/pytorch: {total:.2f}x per op (forward {forward:.2f}x, "
                  f"backward {backward:.2f}x)")
    if "hybridized" in runs:
        forward, backward, total = ratios(runs["hybridized"], runs["framework"])
        print(f"ratio      hybridized/framework: {total:.2f}x per op (forward {forward:.2f}x, "
              f"backward {backward:.2f}x; target: at most 1.5 us per op)")
        if not np.array_equal(grads["hybridized"], grads["framework"]):
            print(f"warning: the gradients differ: hybridized {grads['hybridized']}, "
                  f"framework {grads['framework']}")
    if args.profile:
        profile(args.ops, args.top)


if __name__ == "__main__":
    main()
