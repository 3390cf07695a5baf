"""One Conv2D forward + backward at ResNet shapes, in GFLOP/s, against PyTorch eager.

The layer is ``fw.nn.Conv2D`` (3x3, pad 1, 64 -> 64 channels, with bias) on a
batch of 32 images of 56x56 (ResNet-50's first stage); backward takes a fixed
random output gradient and computes the input, weight and bias gradients.
PyTorch's ``torch.nn.Conv2d`` runs the same step, in the same process, on the
same data and weights. FLOPs counted: 2*N*F*C*kh*kw*OH*OW for the forward and
twice that for the backward (data and weight gradients). The same run also
times a 2048x2048 float32 matrix product in NumPy: the machine's BLAS speed, the
ceiling for the convolution's GEMMs.

    python benchmarks/conv.py                       # ResNet shape, median of 7 repeats
    python benchmarks/conv.py --profile             # and where the framework's time goes
    python benchmarks/conv.py --shape lenet-conv2   # LeNet's second convolution, batch 128
"""
import argparse
import contextlib
import math
import pathlib
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from mlp_step import load_peer  # noqa: E402  (the house helpers)

SETTLE_S = 0.15            # pause after each timed run: idle BLAS threads stop spinning

# name: (batch, in channels, out channels, image size, kernel, stride, pad)
SHAPES = {
    "resnet": (32, 64, 64, 56, 3, 1, 1),
    "resnet-stride2": (32, 64, 128, 56, 3, 2, 1),
    "lenet-conv1": (128, 1, 20, 28, 5, 1, 0),
    "lenet-conv2": (128, 20, 50, 12, 5, 1, 0),
}


class Problem:
    """The shape, its FLOPs, and the host data (input, weight, bias, output gradient)."""

    def __init__(self, batch, cin, cout, size, kernel, stride, pad, seed: int = 0) -> None:
        self.batch, self.cin, self.cout, self.size = batch, cin, cout, size
        self.kernel, self.stride, self.pad = kernel, stride, pad
        self.out = (size + 2 * pad - kernel) // stride + 1
        forward = 2 * batch * cout * cin * kernel * kernel * self.out * self.out
        self.flops = 3 * forward                     # forward, data and weight gradients
        rng = np.random.RandomState(seed)
        self.x = rng.standard_normal((batch, cin, size, size)).astype(np.float32)
        scale = math.sqrt(2.0 / (cin * kernel * kernel))
        self.w = (rng.standard_normal((cout, cin, kernel, kernel)) * scale).astype(np.float32)
        self.b = rng.standard_normal(cout).astype(np.float32) * 0.1
        self.head = rng.standard_normal((batch, cout, self.out, self.out)).astype(np.float32)

    def describe(self) -> str:
        k, s, p = self.kernel, self.stride, self.pad
        return (f"Conv2D {self.cin}->{self.cout} {k}x{k} stride {s} pad {p}, batch "
                f"{self.batch}, {self.size}x{self.size}")


class FrameworkConv:
    name = "framework"

    def __init__(self, problem: Problem) -> None:
        import framework as fw
        self.fw = fw
        p = problem
        self.layer = fw.nn.Conv2D(p.cout, p.kernel, strides=p.stride, padding=p.pad,
                                  in_channels=p.cin)
        self.layer.initialize()
        self.layer.weight.set_data(fw.nd.array(p.w))
        self.layer.bias.set_data(fw.nd.array(p.b))
        self.x = fw.nd.array(p.x)
        self.x.attach_grad()
        self.head = fw.nd.array(p.head)

    def step(self):
        """Forward and backward; returns (forward s, backward s)."""
        t0 = time.perf_counter()
        with self.fw.autograd.record():
            y = self.layer(self.x)
        t1 = time.perf_counter()
        y.backward(self.head)
        t2 = time.perf_counter()
        self.y = y
        return t1 - t0, t2 - t1

    def results(self):
        return [self.y.asnumpy(), self.x.grad.asnumpy(), self.layer.weight.grad().asnumpy(),
                self.layer.bias.grad().asnumpy()]


class TorchConv:
    name = "pytorch"

    def __init__(self, problem: Problem) -> None:
        import torch
        self.torch = torch
        p = problem
        self.layer = torch.nn.Conv2d(p.cin, p.cout, p.kernel, stride=p.stride, padding=p.pad)
        with torch.no_grad():
            self.layer.weight.copy_(torch.from_numpy(p.w))
            self.layer.bias.copy_(torch.from_numpy(p.b))
        self.x = torch.from_numpy(p.x.copy()).requires_grad_()
        self.head = torch.from_numpy(p.head)

    def step(self):
        for t in (self.x, self.layer.weight, self.layer.bias):
            t.grad = None                              # backward writes, as grad_req='write'
        t0 = time.perf_counter()
        y = self.layer(self.x)
        t1 = time.perf_counter()
        y.backward(self.head)
        t2 = time.perf_counter()
        self.y = y
        return t1 - t0, t2 - t1

    def results(self):
        return [self.y.detach().numpy(), self.x.grad.numpy(), self.layer.weight.grad.numpy(),
                self.layer.bias.grad.numpy()]


# ------------------------------------------------------------------- timing
def blas_gflops(repeat: int, settle: float, n: int = 2048) -> float:
    """Median GFLOP/s of an n x n float32 matrix product in NumPy."""
    rng = np.random.RandomState(1)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    a @ b
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    time.sleep(settle)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def run_in_turn(runners, repeat: int, settle: float = SETTLE_S):
    """{name: [(forward s, backward s), ...]}: each repeat runs every library once, in
    turn (the order alternates), after one warm-up step each. After each run the
    process sleeps ``settle`` seconds: NumPy's OpenBLAS threads spin for about 0.1 s
    after their last call and would slow down whichever library runs next."""
    names = list(runners)
    for name in names:
        runners[name].step()
        time.sleep(settle)
    runs = {name: [] for name in names}
    for r in range(repeat):
        for name in (names if r % 2 == 0 else names[::-1]):
            runs[name].append(runners[name].step())
            time.sleep(settle)
    return runs


def check_same(runners) -> bool:
    """Output and the three gradients agree between the libraries (float32)."""
    ours, theirs = (runners[n].results() for n in ("framework", "pytorch"))
    err = max(float(np.max(np.abs(a - b)) / (np.max(np.abs(b)) + 1e-12))
              for a, b in zip(ours, theirs))
    same = err < 1e-4
    print(f"check      output and input, weight, bias gradients: max relative difference "
          f"{err:.1e}: {'same' if same else 'warning: the libraries differ'}")
    return same


# ---------------------------------------------------------------- profiling
def _matmul_flops(a, b) -> int:
    """2 * M * K * N over the broadcast batch of ``numpy.matmul(a, b)`` for operand shapes
    ``a`` and ``b``; a 1-D operand is a vector (matmul's rule), as in ``_row_sums``."""
    a = (1,) + tuple(a) if len(a) == 1 else tuple(a)
    b = tuple(b) + (1,) if len(b) == 1 else tuple(b)
    return 2 * math.prod(np.broadcast_shapes(a[:-2], b[:-2])) * a[-2] * a[-1] * b[-1]


@contextlib.contextmanager
def timed_parts(totals, products):
    """Time the framework's conv work by part while inside.

    ``totals`` maps a part to [seconds, calls] of wall time: the three operators
    ('forward', 'weight gradient', 'data gradient': each operator's raw work), the
    GEMMs ('gemm': ``numpy.matmul``, and ``_host_blas.gemm``, the BLAS's own call that
    the shifted products accumulate with; both threaded by the BLAS) and im2col and
    col2im. ``products`` gets one (operand shapes, seconds, FLOPs) per product call."""
    from framework import _host_blas
    from framework.ndarray.ops import conv as conv_ops
    targets = {"gemm": (np, "matmul", time.perf_counter),
               "gemm ": (_host_blas, "gemm", time.perf_counter),   # counted as "gemm"
               "im2col": (conv_ops, "im2col", time.perf_counter),
               "col2im": (conv_ops, "col2im", time.perf_counter),
               "forward": (conv_ops.ConvolutionOp, "forward", time.perf_counter),
               "weight gradient": (conv_ops.ConvolutionGradWOp, "forward", time.perf_counter),
               "data gradient": (conv_ops.DeconvolutionOp, "forward", time.perf_counter)}
    saved = {part: getattr(owner, attr) for part, (owner, attr, _) in targets.items()}

    def timed(part, fn, clock):
        def wrapper(*args, **kwargs):
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds = clock() - t0
                entry = totals.setdefault(part.strip(), [0.0, 0])
                entry[0] += seconds
                entry[1] += 1
                if part.strip() == "gemm":
                    a, b = args[0:2] if part == "gemm" else args[1:3]    # (alpha, a, b, ...)
                    products.append((f"{a.shape} @ {b.shape}", seconds,
                                     _matmul_flops(a.shape, b.shape)))
        return wrapper

    for part, (owner, attr, clock) in targets.items():
        setattr(owner, attr, timed(part, saved[part], clock))
    try:
        yield totals
    finally:
        for part, (owner, attr, _) in targets.items():
            setattr(owner, attr, saved[part])


def profile(problem: Problem, runner: FrameworkConv, repeat: int, blas: float,
            settle: float = SETTLE_S) -> None:
    """Per step: wall time of the three operators, of the GEMMs (their rate against
    the 2048x2048 product's), of im2col and col2im."""
    steps = []
    for _ in range(repeat):
        totals, products = {}, []
        with timed_parts(totals, products):
            forward, backward = runner.step()
        steps.append((forward + backward, totals, products))
        time.sleep(settle)
    step = statistics.median(t for t, _, _ in steps)

    def median(name):
        return statistics.median(tot.get(name, [0.0, 0])[0] for _, tot, _ in steps)

    calls = {name: steps[0][1].get(name, [0.0, 0])[1]
             for name in ("gemm", "im2col", "col2im")}
    gemm_flops = sum(f for _, _, f in steps[0][2])
    gemm = median("gemm")
    rate = gemm_flops / gemm / 1e9 if gemm else float("nan")
    print(f"\nWhere the framework's time goes ({problem.describe()}; median of {repeat} "
          f"steps):")
    print(f"  step     {step * 1e3:8.1f} ms  {problem.flops / step / 1e9:6.1f} GFLOP/s")
    for name in ("forward", "weight gradient", "data gradient"):
        seconds = median(name)
        print(f"    {name:<16} {seconds * 1e3:8.1f} ms")
    print(f"  GEMM     {gemm * 1e3:8.1f} ms in {calls['gemm']} product calls "
          f"({gemm_flops / 1e9:.2f} GFLOP): {rate:.1f} GFLOP/s, "
          f"{100 * rate / blas:.0f}% of the 2048x2048 product's {blas:.1f} GFLOP/s")
    print(f"  im2col   {median('im2col') * 1e3:8.1f} ms ({calls['im2col']} calls)")
    print(f"  col2im   {median('col2im') * 1e3:8.1f} ms ({calls['col2im']} calls)")
    shown = sorted(steps[0][2], key=lambda p: -p[1])[:6]
    if shown:
        print("  largest product calls (ms, GFLOP/s):")
        for shapes, seconds, flops in shown:
            print(f"    {shapes:<44} {seconds * 1e3:7.2f} ms  {flops / seconds / 1e9:6.1f}")


# --------------------------------------------------------------------- main
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="resnet",
                        help="preset: batch, channels, image size, kernel, stride, pad")
    parser.add_argument("--batch-size", type=int, default=None, help="override the batch")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs (medians shown)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for NumPy's BLAS and for PyTorch (default: as they are)")
    parser.add_argument("--settle", type=float, default=SETTLE_S,
                        help="seconds to sleep after each timed run (BLAS threads go idle)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--profile", action="store_true",
                        help="also show the framework's time per part (GEMM, im2col, col2im)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or (args.batch_size is not None and args.batch_size < 1):
        parser.error("--repeat and --batch-size must be at least 1")
    if args.settle < 0:
        parser.error("--settle must be at least 0")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")

    torch = load_peer(args)
    from framework.ndarray.ops import parallel
    print(f"framework  operators split over {parallel.num_threads()} threads (as many as "
          f"NumPy's OpenBLAS uses, or FRAMEWORK_NUM_THREADS)")

    batch, cin, cout, size, kernel, stride, pad = SHAPES[args.shape]
    problem = Problem(args.batch_size or batch, cin, cout, size, kernel, stride, pad)
    runners = {"framework": FrameworkConv(problem)}
    if torch is not None:
        runners["pytorch"] = TorchConv(problem)
        for runner in runners.values():
            runner.step()
        check_same(runners)
    blas = blas_gflops(max(args.repeat, 5), args.settle)
    runs = run_in_turn(runners, args.repeat, args.settle)

    def rate(times):
        return problem.flops / statistics.median(sum(t) for t in times) / 1e9

    ours = runs["framework"]
    line = (f"result     {problem.describe()}: framework {rate(ours):.1f} GFLOP/s "
            f"({statistics.median(sum(t) for t in ours) * 1e3:.1f} ms; forward "
            f"{statistics.median(t[0] for t in ours) * 1e3:.1f}, backward "
            f"{statistics.median(t[1] for t in ours) * 1e3:.1f})")
    if "pytorch" in runs:
        theirs = runs["pytorch"]
        ratio = statistics.median(sum(b) / sum(a) for a, b in zip(ours, theirs))
        line += (f", pytorch {rate(theirs):.1f} GFLOP/s "
                 f"({statistics.median(sum(t) for t in theirs) * 1e3:.1f} ms), ratio "
                 f"{ratio:.2f}x pytorch's speed")
    line += f"; BLAS 2048x2048 matmul {blas:.1f} GFLOP/s; median of {args.repeat}"
    print(line, flush=True)
    if args.profile:
        profile(problem, runners["framework"], max(args.repeat, 5), blas, args.settle)


if __name__ == "__main__":
    main()
