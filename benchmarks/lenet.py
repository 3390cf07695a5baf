"""LeNet forward + backward on MNIST-shaped batches, against PyTorch eager.

LeNet as in the MXNet Gluon book: Conv2D(20, 5x5) ReLU, MaxPool 2, Conv2D(50, 5x5)
ReLU, MaxPool 2, Dense(500) ReLU, Dense(10), built from ``fw.nn`` layers; the loss
is softmax cross-entropy (``fw.loss.SoftmaxCrossEntropyLoss`` where it exists,
else ``nd.log_softmax`` + ``nd.pick``), averaged over the batch, recorded under
``autograd.record()`` and back-propagated to every weight. No update step. PyTorch
eager runs the same network from the same weights on the same random batches
(float32, ``F.cross_entropy``), in the same process, in turn with the framework.

    python benchmarks/lenet.py                   # batch 128, 10 steps, median of 7 repeats
    python benchmarks/lenet.py --threads 1       # one BLAS/PyTorch thread: steadier when busy
    python benchmarks/lenet.py --profile         # and where the framework's time goes, by operator
"""
import argparse
import importlib.util
import inspect
import math
import pathlib
import statistics
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
N_BATCHES = 4                # distinct random batches, used in turn
SHAPE = (1, 28, 28)
N_OUT = 10


def _mlp_step():
    """benchmarks/mlp_step.py as a module: its thread control and its in-turn timing."""
    spec = importlib.util.spec_from_file_location("mlp_step", HERE / "mlp_step.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MLP = _mlp_step()


def make_batches(batch_size: int, seed: int = 0):
    """Random MNIST-shaped batches: images uniform in [0, 1), integer labels in [0, 10)."""
    rng = np.random.RandomState(seed)
    return [(rng.random_sample((batch_size,) + SHAPE).astype(np.float32),
             rng.randint(0, N_OUT, size=batch_size)) for _ in range(N_BATCHES)]


class FrameworkLeNet:
    """LeNet of ``fw.nn`` layers; ``run`` times recorded forward + loss, and backward."""

    name = "framework"

    def __init__(self, batches, seed: int = 0) -> None:
        import framework as fw
        from framework import nn
        self.fw, self.nd = fw, fw.nd
        fw.random.seed(seed)
        net = nn.HybridSequential()
        net.add(nn.Conv2D(20, kernel_size=5, activation="relu"),
                nn.MaxPool2D(pool_size=2, strides=2),
                nn.Conv2D(50, kernel_size=5, activation="relu"),
                nn.MaxPool2D(pool_size=2, strides=2),
                nn.Dense(500, activation="relu"),
                nn.Dense(N_OUT))
        net.initialize(fw.init.Xavier())
        self.batches = [(fw.nd.array(x), fw.nd.array(y.astype(np.float32))) for x, y in batches]
        net(self.batches[0][0])                     # deferred initialization: infer shapes
        self.net = net
        self.params = list(net.collect_params().values())
        loss_module = getattr(fw, "loss", None)
        if loss_module is not None and hasattr(loss_module, "SoftmaxCrossEntropyLoss"):
            self.loss_name = "fw.loss.SoftmaxCrossEntropyLoss"
            per_sample = loss_module.SoftmaxCrossEntropyLoss()
            self.loss = lambda out, y: per_sample(out, y).mean()
        else:
            self.loss_name = "nd.log_softmax + nd.pick"
            nd = fw.nd
            self.loss = lambda out, y: -nd.pick(nd.log_softmax(out), y).mean()

    def weights(self):
        """Host copies of the weights in torch's order (conv1, conv2, dense1, dense2)."""
        return [p.data().asnumpy() for p in self.params]

    def reset(self) -> None:
        """Nothing to reset: there is no update step."""

    def run(self, n_steps: int):
        record, net, loss_fn = self.fw.autograd.record, self.net, self.loss
        clock = time.perf_counter
        forward = backward = 0.0
        loss = None
        for i in range(n_steps):
            x, y = self.batches[i % N_BATCHES]
            t0 = clock()
            with record():
                loss = loss_fn(net(x), y)
            t1 = clock()
            loss.backward()
            t2 = clock()
            forward += t1 - t0
            backward += t2 - t1
        return (forward, backward, 0.0), float(loss.asscalar())

    def first_step(self):
        x, y = self.batches[0]
        with self.fw.autograd.record():
            loss = self.loss(self.net(x), y)
        loss.backward()
        return float(loss.asscalar()), [p.grad().asnumpy() for p in self.params]


class TorchLeNet:
    """The same LeNet in PyTorch eager, from the framework's weights."""

    name = "pytorch"

    def __init__(self, batches, weights) -> None:
        import torch
        from torch import nn
        self.torch = torch
        self.net = nn.Sequential(
            nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, N_OUT))
        self.params = list(self.net.parameters())
        with torch.no_grad():
            for p, w in zip(self.params, weights):
                if tuple(p.shape) != w.shape:
                    raise SystemExit(f"weight shapes differ: torch {tuple(p.shape)}, framework "
                                     f"{w.shape}")
                p.copy_(torch.from_numpy(w))
        self.batches = [(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64)))
                        for x, y in batches]

    def reset(self) -> None:
        """Nothing to reset: there is no update step."""

    def run(self, n_steps: int):
        F = self.torch.nn.functional
        clock = time.perf_counter
        forward = backward = 0.0
        loss = None
        for i in range(n_steps):
            x, y = self.batches[i % N_BATCHES]
            for p in self.params:
                p.grad = None                  # backward writes, as grad_req='write'
            t0 = clock()
            loss = F.cross_entropy(self.net(x), y)
            t1 = clock()
            loss.backward()
            t2 = clock()
            forward += t1 - t0
            backward += t2 - t1
        return (forward, backward, 0.0), float(loss.item())

    def first_step(self):
        for p in self.params:
            p.grad = None
        x, y = self.batches[0]
        loss = self.torch.nn.functional.cross_entropy(self.net(x), y)
        loss.backward()
        return float(loss.item()), [p.grad.numpy().copy() for p in self.params]


# ------------------------------------------------------------------- timing
def summary(times, n_steps: int, batch_size: int):
    """(images/s, ms/step, forward ms, backward ms, (min, max) ms) from the medians."""
    totals = [(f + b) / n_steps * 1e3 for f, b, _ in times]
    total = statistics.median(totals)
    forward = statistics.median(t[0] for t in times) / n_steps * 1e3
    backward = statistics.median(t[1] for t in times) / n_steps * 1e3
    return batch_size / total * 1e3, total, forward, backward, (min(totals), max(totals))


def check_same(steps) -> bool:
    """First step from the same weights and batch: the same loss and gradients (float32)."""
    (loss_fw, grads_fw), (loss_pt, grads_pt) = (steps[n].first_step() for n in steps)
    same_loss = math.isclose(loss_fw, loss_pt, rel_tol=1e-4, abs_tol=1e-5)
    # relative to each gradient's norm, with room for a ReLU gate flip: an input that
    # rounds to either side of 0 in the two libraries (seen: z = 1e-8 vs -7e-9 in Dense(500)
    # for one image) changes one unit's gradient row, about 2e-3 of the norm; a wrong
    # gradient is off by far more
    grad_err = max(float(np.linalg.norm(a - b) / (np.linalg.norm(b) + 1e-12))
                   for a, b in zip(grads_fw, grads_pt))
    same = same_loss and grad_err < 1e-2
    verdict = "same" if same else "warning: the libraries differ"
    print(f"check      first-step loss: framework {loss_fw:.6f}, pytorch {loss_pt:.6f} "
          f"(|diff| {abs(loss_fw - loss_pt):.1e}); gradients' largest relative difference "
          f"(norm) {grad_err:.1e}: {verdict}")
    return same


# ---------------------------------------------------------------- profiling
def _operator_forwards():
    """{(file, first line): 'Class'} of every operator's forward in framework.nd's ops."""
    from framework.ndarray import ops
    from framework.ndarray.operator import Operator
    found = {}
    for module in list(vars(ops).values()):
        if not inspect.ismodule(module) or not module.__name__.startswith(ops.__name__):
            continue
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, Operator) and "forward" in vars(cls):
                code = cls.forward.__code__
                found[(code.co_filename, code.co_firstlineno)] = (
                    f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}")
    return found


def profile(step, n_steps: int, top: int) -> None:
    """cProfile of framework steps: each operator's forward (the raw NumPy work of the
    forward pass and, for gradient operators, of the backward pass) and the rest."""
    import cProfile
    import pstats
    step.run(2)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    step.run(n_steps)
    profiler.disable()
    wall = (time.perf_counter() - start) / n_steps * 1e3
    stats = pstats.Stats(profiler, stream=sys.stdout)
    names = _operator_forwards()
    per_op, per_module = {}, {}
    run_code = type(step).run.__code__
    total = stats.stats[(run_code.co_filename, run_code.co_firstlineno, "run")][3]
    total = total / n_steps * 1e3
    for (filename, line, function), (_, calls, _, cumulative, _) in stats.stats.items():
        name = names.get((filename, line))
        if function != "forward" or name is None:
            continue
        ms = cumulative / n_steps * 1e3
        per_op[name] = (per_op.get(name, (0.0, 0))[0] + ms, calls // n_steps)
        module = name.split(".")[0]
        per_module[module] = per_module.get(module, 0.0) + ms
    in_ops = sum(per_module.values())
    print(f"\nWhere the framework's time goes (cProfile of {n_steps} steps: {total:.1f} ms/step "
          f"under the profiler, {wall:.1f} ms/step wall):")
    print("  by operator module (forward of each operator: the NumPy work, both passes):")
    for module, ms in sorted(per_module.items(), key=lambda kv: -kv[1]):
        print(f"    {module:<24} {ms:8.2f} ms/step  {100 * ms / total:5.1f}%")
    rest = total - in_ops
    print(f"    {'the rest':<24} {rest:8.2f} ms/step  {100 * rest / total:5.1f}%  (graph, "
          f"engine, blocks, gradient buffers, Python)")
    print("  by operator:")
    for name, (ms, calls) in sorted(per_op.items(), key=lambda kv: -kv[1][0]):
        print(f"    {name:<40} {ms:8.2f} ms/step  {100 * ms / total:5.1f}%  ({calls} calls/step)")
    pooling = per_module.get("pooling", 0.0)
    print(f"  pooling (max pooling and its gradient): {pooling:.2f} ms/step, "
          f"{100 * pooling / total:.1f}% of the step")
    if top > 0:
        print(f"\ncProfile top {top} by own time (NumPy calls count in their Python caller):")
        stats.sort_stats("tottime").print_stats(top)


# --------------------------------------------------------------------- main
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=128, help="images per step")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per repeat")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs (the median is shown)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for NumPy's BLAS and for PyTorch (default: as they are)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--profile", action="store_true",
                        help="also show where the framework's time goes, by operator")
    parser.add_argument("--top", type=int, default=15,
                        help="cProfile functions shown by --profile (0: none)")
    args = parser.parse_args(argv)
    if min(args.batch_size, args.steps, args.repeat) < 1:
        parser.error("--batch-size, --steps and --repeat must be at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")

    torch = MLP.load_peer(args)
    from framework.ndarray.ops import parallel
    print(f"framework  operators split over {parallel.num_threads()} threads (as many as "
          f"NumPy's OpenBLAS uses, or FRAMEWORK_NUM_THREADS)")

    batches = make_batches(args.batch_size)
    steps = {"framework": FrameworkLeNet(batches)}
    print(f"loss       framework: {steps['framework'].loss_name}; pytorch: F.cross_entropy")
    if torch is not None:
        steps["pytorch"] = TorchLeNet(batches, steps["framework"].weights())
        check_same(steps)
    runs, _ = MLP.run_in_turn(steps, args.steps, args.repeat)
    shape = f"LeNet batch {args.batch_size}"
    for name, times in runs.items():
        rate, total, forward, backward, (low, high) = summary(times, args.steps, args.batch_size)
        print(f"{name:<10} {shape}: {rate:7.0f} images/s, {total:.2f} ms/step (forward "
              f"{forward:.2f}, backward {backward:.2f}; median of {args.repeat} x {args.steps} "
              f"steps, range {low:.2f}-{high:.2f})", flush=True)
    if "pytorch" in runs:
        ratios = [(pt[0] + pt[1]) / (ours[0] + ours[1])
                  for ours, pt in zip(runs["framework"], runs["pytorch"])]
        fwd = statistics.median(pt[0] / ours[0] for ours, pt in zip(runs["framework"],
                                                                       runs["pytorch"]))
        bwd = statistics.median(pt[1] / ours[1] for ours, pt in zip(runs["framework"],
                                                                       runs["pytorch"]))
        print(f"ratio      framework/pytorch images/s: {statistics.median(ratios):.2f}x "
              f"(forward {fwd:.2f}x, backward {bwd:.2f}x; median of {args.repeat} per-repeat "
              f"ratios; target >= 0.8x)")
    if args.profile:
        profile(steps["framework"], args.steps, args.top)


if __name__ == "__main__":
    main()
