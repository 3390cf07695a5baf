"""One training step of examples/mnist_from_scratch.py, against PyTorch eager.

The step is the example's own code (imported from it): a 784-256-10 ReLU
network, cross-entropy through ``log_softmax`` and ``pick`` recorded under
``autograd.record()``, ``backward()``, and SGD in place outside ``record()``.
PyTorch eager runs the same step in the same process on the same data and
initial weights (float32, ``torch.log_softmax`` + ``gather``, SGD under
``torch.no_grad()``), and the ratio is printed. The data are random arrays of
MNIST's shape, made before timing (no dataset, no input pipeline measured).

    python benchmarks/mlp_step.py                    # batch 64, 100 steps, median of 7 repeats
    python benchmarks/mlp_step.py --batch-size 256   # a bigger batch: more arithmetic per op
    python benchmarks/mlp_step.py --profile          # and where the framework's time goes
"""
import argparse
import ctypes
import glob
import importlib.util
import math
import os
import pathlib
import statistics
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "mnist_from_scratch.py"
N_IN, N_OUT = 784, 10
N_BATCHES = 8               # distinct random batches, used in turn
SETTLE_S = 0.15             # pause after each timed run: idle BLAS threads stop spinning


# ------------------------------------------------------------------ threads
def _numpy_blas():
    """(name, version, ctypes library or None) of the BLAS NumPy was built with."""
    name, version = "unknown BLAS", ""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name, version = blas.get("name", name), blas.get("version", "")
    except Exception:       # older NumPy, or a build that does not say
        pass
    base = pathlib.Path(np.__file__).parent
    candidates = glob.glob(str(base.parent / "numpy.libs" / "*openblas*"))
    candidates += glob.glob(str(base.parent / "scipy_openblas*" / "lib" / "*openblas*.so*"))
    candidates += glob.glob(str(base / ".dylibs" / "*openblas*"))
    for path in candidates:
        try:
            return name, version, ctypes.CDLL(path)
        except OSError:
            continue
    return name, version, None


def _openblas_call(lib, what: str, *args):
    """Call openblas_<what> under any of the prefixes/suffixes builds give it; None if absent."""
    if lib is None:
        return None
    for prefix in ("scipy_openblas_", "openblas_"):
        for suffix in ("64_", "", "_64_"):
            fn = getattr(lib, f"{prefix}{what}{suffix}", None)
            if fn is not None:
                return fn(*args)
    return None


def set_threads(n: int, torch=None) -> None:
    """Use ``n`` threads in NumPy's OpenBLAS (when it can be reached) and in PyTorch."""
    _, _, lib = _numpy_blas()
    _openblas_call(lib, "set_num_threads", ctypes.c_int(n))
    if torch is not None:
        torch.set_num_threads(n)


def describe_threads(torch=None) -> str:
    name, version, lib = _numpy_blas()
    blas_threads = _openblas_call(lib, "get_num_threads")
    numpy_part = f"numpy {np.__version__} BLAS {name} {version}".rstrip()
    numpy_part += f" ({blas_threads} threads)" if blas_threads is not None else \
        " (thread count unknown; set OPENBLAS_NUM_THREADS / MKL_NUM_THREADS)"
    if torch is None:
        torch_part = "pytorch not used"
    else:
        backend = "MKL" if torch.backends.mkl.is_available() else "its own BLAS"
        torch_part = f"pytorch {torch.__version__} {backend} ({torch.get_num_threads()} threads)"
    load = ""
    if hasattr(os, "getloadavg"):
        load = f"; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus"
    return f"threads    {numpy_part}; {torch_part}{load}"


# --------------------------------------------------------------------- setup
def load_peer(args):
    """PyTorch unless ``--no-torch`` (None when absent or skipped), with ``--threads``
    applied to it and to NumPy's BLAS; prints the thread settings."""
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("pytorch    not installed: no comparison (pip install torch)")
    if args.threads is not None:
        set_threads(args.threads, torch)
    print(describe_threads(torch))
    return torch


def load_example():
    """examples/mnist_from_scratch.py as a module: its net, cross_entropy and sgd_step."""
    spec = importlib.util.spec_from_file_location("mnist_from_scratch", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    return example


def make_problem(batch_size: int, hidden: int, seed: int = 0, n_in: int = N_IN):
    """He-initialised weights (as the example's init_params) and random MNIST-shaped batches.

    Images are uniform in [0, 1) (the example scales pixels to that range),
    labels integers in [0, 10), all as host NumPy arrays.
    """
    rng = np.random.RandomState(seed)
    weights = [
        rng.normal(0, math.sqrt(2.0 / n_in), size=(n_in, hidden)).astype(np.float32),
        np.zeros(hidden, np.float32),
        rng.normal(0, math.sqrt(1.0 / hidden), size=(hidden, N_OUT)).astype(np.float32),
        np.zeros(N_OUT, np.float32),
    ]
    batches = [(rng.random_sample((batch_size, n_in)).astype(np.float32),
                rng.randint(0, N_OUT, size=batch_size)) for _ in range(N_BATCHES)]
    return weights, batches


class FrameworkStep:
    """The example's training step on framework NDArrays (cpu)."""

    name = "framework"

    def __init__(self, weights, batches, lr: float) -> None:
        from framework import autograd, nd
        self.example = load_example()
        self.record, self.lr = autograd.record, lr
        self.init = [nd.array(w) for w in weights]
        self.params = [nd.array(w) for w in weights]
        for p in self.params:
            p.attach_grad()
        # the example feeds float32 labels (as MXNet does)
        self.batches = [(nd.array(x), nd.array(y.astype(np.float32))) for x, y in batches]

    def reset(self) -> None:
        """Back to the initial weights (outside timing), so every repeat does the same work."""
        for p, w in zip(self.params, self.init):
            p[:] = w

    def run(self, n_steps: int):
        """Run ``n_steps`` steps: seconds in (forward, backward, update), and the last loss."""
        ex, params, lr, record = self.example, self.params, self.lr, self.record
        clock = time.perf_counter
        forward = backward = update = 0.0
        loss = None
        for i in range(n_steps):
            x, y = self.batches[i % N_BATCHES]
            t0 = clock()
            with record():
                loss = ex.cross_entropy(ex.net(x, params), y)
            t1 = clock()
            loss.backward()
            t2 = clock()
            ex.sgd_step(params, lr)
            t3 = clock()
            forward += t1 - t0
            backward += t2 - t1
            update += t3 - t2
        return (forward, backward, update), float(loss.asscalar())

    def first_step(self):
        """Loss and gradients of one forward/backward at the initial weights (batch 0)."""
        ex = self.example
        self.reset()
        x, y = self.batches[0]
        with self.record():
            loss = ex.cross_entropy(ex.net(x, self.params), y)
        loss.backward()
        return float(loss.asscalar()), [p.grad.asnumpy() for p in self.params]


class TorchStep:
    """The same step in PyTorch eager: same shapes, float32, same math."""

    name = "pytorch"

    def __init__(self, weights, batches, lr: float) -> None:
        import torch
        self.torch, self.lr = torch, lr
        self.init = [torch.from_numpy(w.copy()) for w in weights]
        self.params = [torch.from_numpy(w.copy()).requires_grad_() for w in weights]
        self.batches = [(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64)))
                        for x, y in batches]

    @staticmethod
    def net(x, params):
        w1, b1, w2, b2 = params
        hidden = (x @ w1 + b1).relu()
        return hidden @ w2 + b2

    def cross_entropy(self, logits, labels):
        logp = self.torch.log_softmax(logits, dim=-1)
        return -logp.gather(-1, labels.unsqueeze(-1)).mean()

    def reset(self) -> None:
        with self.torch.no_grad():
            for p, w in zip(self.params, self.init):
                p.copy_(w)
                p.grad = None

    def run(self, n_steps: int):
        torch, params, lr = self.torch, self.params, self.lr
        clock = time.perf_counter
        forward = backward = update = 0.0
        loss = None
        for i in range(n_steps):
            x, y = self.batches[i % N_BATCHES]
            t0 = clock()
            loss = self.cross_entropy(self.net(x, params), y)
            t1 = clock()
            loss.backward()
            t2 = clock()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
                    p.grad = None          # the next backward writes, as grad_req='write'
            t3 = clock()
            forward += t1 - t0
            backward += t2 - t1
            update += t3 - t2
        return (forward, backward, update), float(loss.item())

    def first_step(self):
        self.reset()
        x, y = self.batches[0]
        loss = self.cross_entropy(self.net(x, self.params), y)
        loss.backward()
        return float(loss.item()), [p.grad.numpy().copy() for p in self.params]


# ------------------------------------------------------------------- timing
def run_in_turn(steps, n_steps: int, repeat: int, settle: float = SETTLE_S):
    """Seconds per phase of each step object over ``repeat`` runs of ``n_steps`` steps.

    Within each repeat the libraries run in turn, each from the initial
    weights, so that a load change on the machine affects them alike; the
    order alternates between repeats. After each run the process sleeps
    ``settle`` seconds: NumPy's OpenBLAS threads keep spinning for about 0.1 s
    after their last call (PyTorch's OpenMP threads about 0.01 s), and on a
    small machine they would otherwise slow down whichever library runs next.
    Returns ({name: [(forward, backward, update), ...]}, {name: last loss}).
    """
    names = list(steps)
    for name in names:                # warm-up: allocator, BLAS threads, caches
        steps[name].reset()
        steps[name].run(min(n_steps, 10))
        time.sleep(settle)
    runs = {name: [] for name in names}
    losses = {}
    for r in range(repeat):
        for name in (names if r % 2 == 0 else names[::-1]):
            steps[name].reset()
            times, losses[name] = steps[name].run(n_steps)
            runs[name].append(times)
            time.sleep(settle)
    return runs, losses


def medians(times, n_steps: int):
    """Median milliseconds per step: (forward, backward, update, total, (min, max) total)."""
    parts = [statistics.median(t[k] for t in times) / n_steps * 1e3 for k in range(3)]
    totals = [sum(t) / n_steps * 1e3 for t in times]
    return (*parts, statistics.median(totals), (min(totals), max(totals)))


def paired_ratios(ours, theirs):
    """Median over repeats of ours/theirs per repeat: (forward, backward, update, total).

    The two runs of a repeat are adjacent in time, so a load change between
    repeats cancels out of each repeat's ratio.
    """
    def ratio(part):
        return statistics.median(part(a) / part(b) for a, b in zip(ours, theirs))
    return (*(ratio(lambda t, k=k: t[k]) for k in range(3)), ratio(sum))


def measure(steps, n_steps: int, repeat: int):
    """Per library: median milliseconds per step (see ``medians``), its raw runs, its last loss.

    The libraries are measured in turn (see ``run_in_turn``).
    """
    runs, losses = run_in_turn(steps, n_steps, repeat)
    return {name: medians(times, n_steps) for name, times in runs.items()}, runs, losses


def report(name: str, shape: str, n_steps: int, repeat: int, result) -> None:
    forward, backward, update, total, (low, high) = result
    print(f"{name:<10} {shape}: {total:8.3f} ms/step (forward {forward:.3f}, backward "
          f"{backward:.3f}, update {update:.3f}; median of {repeat} x {n_steps} steps, "
          f"range {low:.3f}-{high:.3f})", flush=True)


def check_same(steps) -> bool:
    """First step from the same weights and batch: the same loss and gradients (float32)."""
    (loss_fw, grads_fw), (loss_pt, grads_pt) = (steps[n].first_step() for n in steps)
    same_loss = math.isclose(loss_fw, loss_pt, rel_tol=1e-5, abs_tol=1e-6)
    grad_err = max(float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-12))
                   for a, b in zip(grads_fw, grads_pt))
    same = same_loss and grad_err < 1e-4
    verdict = "same" if same else "warning: the libraries differ"
    print(f"check      first-step loss: framework {loss_fw:.7f}, pytorch {loss_pt:.7f} "
          f"(|diff| {abs(loss_fw - loss_pt):.1e}); gradients' max relative difference "
          f"{grad_err:.1e}: {verdict}")
    return same


# ---------------------------------------------------------------- profiling
class NumpyStep:
    """The same step written directly in NumPy, no autograd: the floor framework can reach.

    ``run`` also appends the seconds its matrix products (BLAS) took to ``self.matmul``.
    """

    name = "numpy"

    def __init__(self, weights, batches, lr: float) -> None:
        self.init, self.lr, self.batches = weights, np.float32(lr), batches
        self.params = [w.copy() for w in weights]
        self.matmul = []

    def reset(self) -> None:
        for p, w in zip(self.params, self.init):
            p[...] = w

    def run(self, n_steps: int):
        w1, b1, w2, b2 = self.params
        clock = time.perf_counter
        forward = backward = update = mm = 0.0
        loss = None
        for i in range(n_steps):
            x, y = self.batches[i % N_BATCHES]
            rows = np.arange(len(y))
            t0 = clock()
            a1 = x @ w1
            t1 = clock()
            z1 = a1 + b1
            h = np.maximum(z1, 0)
            t2 = clock()
            logits = h @ w2
            t3 = clock()
            logits += b2
            shifted = logits - logits.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            loss = -logp[rows, y].mean()
            t4 = clock()
            g = np.exp(logp)                  # d loss / d logits = (softmax - onehot) / n
            g[rows, y] -= 1.0
            g *= np.float32(1.0 / len(y))
            t5 = clock()
            gw2 = h.T @ g
            gh = g @ w2.T
            t6 = clock()
            gb2 = g.sum(axis=0)
            gz1 = gh * (z1 > 0)
            t7 = clock()
            gw1 = x.T @ gz1
            t8 = clock()
            gb1 = gz1.sum(axis=0)
            t9 = clock()
            for p, gp in ((w1, gw1), (b1, gb1), (w2, gw2), (b2, gb2)):
                p -= self.lr * gp
            t10 = clock()
            forward += t4 - t0
            backward += t9 - t4
            update += t10 - t9
            mm += (t1 - t0) + (t3 - t2) + (t6 - t5) + (t8 - t7)
        self.matmul.append(mm)
        return (forward, backward, update), float(loss)


def _operators_per_step(stats, n_steps: int) -> float:
    """Operator applications per step, from cProfile's count of ``Operator.__call__``."""
    calls = sum(entry[1] for (filename, _, function), entry in stats.stats.items()
                if function == "__call__" and filename.endswith("operator.py"))
    return calls / n_steps


def profile(weights, batches, args, torch) -> None:
    """Where the framework's step time goes: BLAS, other NumPy work, or Python overhead."""
    import cProfile
    import pstats
    n, repeat = args.steps, args.repeat
    # the same operations on 1x1 shapes (batch 1, hidden 1, 1 input): the arithmetic is
    # negligible, what is left is each library's own overhead per operation
    tiny_weights, tiny_batches = make_problem(1, 1, n_in=1)
    steps = {"framework": FrameworkStep(weights, batches, args.lr),
             "numpy": NumpyStep(weights, batches, args.lr),
             "framework 1x1": FrameworkStep(tiny_weights, tiny_batches, args.lr)}
    if torch is not None:
        steps["pytorch 1x1"] = TorchStep(tiny_weights, tiny_batches, args.lr)
    runs, _ = run_in_turn(steps, n, repeat)
    ms = {name: medians(times, n) for name, times in runs.items()}
    mm = statistics.median(steps["numpy"].matmul[-repeat:]) / n * 1e3

    profiler = cProfile.Profile()
    steps["framework 1x1"].reset()
    profiler.enable()
    steps["framework 1x1"].run(n)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    n_ops = _operators_per_step(stats, n)

    fw, plain, tiny = ms["framework"], ms["numpy"], ms["framework 1x1"]
    fmt = lambda r: (f"{r[3]:7.3f} ms/step (forward {r[0]:.3f}, backward {r[1]:.3f}, "  # noqa: E731
                     f"update {r[2]:.3f})")
    print(f"\nWhere the framework's time goes (batch {args.batch_size}, "
          f"{N_IN}-{args.hidden}-{N_OUT}; median of {repeat} x {n} steps, in turn):")
    print(f"  framework                      {fmt(fw)}")
    print(f"  plain NumPy, same math         {fmt(plain)}: "
          f"matmul (BLAS) {mm:.3f}, elementwise and reductions {plain[3] - mm:.3f}")
    print(f"  framework on 1x1 shapes        {fmt(tiny)}: "
          f"{n_ops:.0f} operators, {tiny[3] / n_ops * 1e3:.1f} us each")
    if "pytorch 1x1" in ms:
        print(f"  pytorch on 1x1 shapes          {fmt(ms['pytorch 1x1'])}")
        forward, backward, update, total = paired_ratios(runs["framework 1x1"],
                                                         runs["pytorch 1x1"])
        print(f"  overhead ratio framework/pytorch on 1x1 shapes: {total:.2f}x per step "
              f"(forward {forward:.2f}x, backward {backward:.2f}x, update {update:.2f}x; "
              f"median of {repeat} per-repeat ratios; target < 1)")
    # the rest, per repeat (the runs of a repeat are adjacent in time, so load changes cancel)
    rest = statistics.median((sum(a) - sum(b) - sum(c)) / n * 1e3 for a, b, c in
                             zip(runs["framework"], runs["numpy"], runs["framework 1x1"]))
    print(f"  so: BLAS {mm:.3f} + other NumPy work {plain[3] - mm:.3f} + Python overhead "
          f"{tiny[3]:.3f} + the rest {rest:.3f} ms (framework - plain NumPy - 1x1 per repeat: "
          f"NumPy work plain NumPy does not do, such as copies and temporaries, and noise)")

    if args.top < 1:
        return
    profiler = cProfile.Profile()
    steps["framework"].reset()
    profiler.enable()
    steps["framework"].run(n)
    profiler.disable()
    print(f"\ncProfile of {n} framework steps, top {args.top} by own time (NumPy ufuncs such "
          f"as matmul, exp or a + b are not listed: their time counts in the Python function "
          f"calling them):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(args.top)


# --------------------------------------------------------------------- main
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=64, help="images per step")
    parser.add_argument("--hidden", type=int, default=256, help="units in the hidden layer")
    parser.add_argument("--steps", type=int, default=100, help="timed steps per repeat")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs (the median is shown)")
    parser.add_argument("--lr", type=float, default=0.3, help="SGD learning rate (the example's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for NumPy's BLAS and for PyTorch (default: as they are)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--profile", action="store_true",
                        help="also show where the framework's time goes, and cProfile's top costs")
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile (0: no cProfile table)")
    args = parser.parse_args(argv)
    if min(args.batch_size, args.hidden, args.steps, args.repeat) < 1:
        parser.error("--batch-size, --hidden, --steps and --repeat must be at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")

    torch = load_peer(args)

    weights, batches = make_problem(args.batch_size, args.hidden)
    steps = {"framework": FrameworkStep(weights, batches, args.lr)}
    if torch is not None:
        steps["pytorch"] = TorchStep(weights, batches, args.lr)
        check_same(steps)
    results, runs, losses = measure(steps, args.steps, args.repeat)
    shape = f"batch {args.batch_size}, {N_IN}-{args.hidden}-{N_OUT}"
    for name, result in results.items():
        report(name, shape, args.steps, args.repeat, result)
    if "pytorch" in results:
        forward, backward, update, total = paired_ratios(runs["framework"], runs["pytorch"])
        print(f"ratio      framework/pytorch: {total:.2f}x per step (forward {forward:.2f}x, "
              f"backward {backward:.2f}x, update {update:.2f}x; median of {args.repeat} "
              f"per-repeat ratios)")
    for name, loss in losses.items():
        if not math.isfinite(loss):
            print(f"warning: {name}'s loss became {loss} during timing; the times may not be "
                  f"representative (lower --lr)")
    if args.profile:
        profile(weights, batches, args, torch)


if __name__ == "__main__":
    main()
