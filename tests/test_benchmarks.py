"""benchmarks/mlp_step.py keeps working and measures the right thing (no timing checks)."""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "mlp_step.py"
# the script imports this checkout's framework, whatever is installed
SCRIPT_ENV = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
MS = r"[\d.]+ ms/step \(forward [\d.]+, backward [\d.]+, update [\d.]+; median of 1 x 3 steps"


def run_benchmark(*args, timeout=120):
    done = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=ROOT,
                          env=SCRIPT_ENV, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"mlp_step.py failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


def load_benchmark():
    spec = importlib.util.spec_from_file_location("mlp_step", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mlp_step_benchmark_smoke():
    out = run_benchmark("--steps", 3, "--repeat", 1, "--batch-size", 8, "--hidden", 16,
                        "--profile", "--top", 5)
    assert re.search(r"^threads\s+numpy .* BLAS ", out, re.M), out
    assert re.search(rf"^framework\s+batch 8, 784-16-10:\s+{MS}", out, re.M), out
    if has_torch():
        assert re.search(rf"^pytorch\s+batch 8, 784-16-10:\s+{MS}", out, re.M), out
        assert re.search(r"^ratio\s+framework/pytorch: [\d.]+x per step \(forward [\d.]+x, "
                         r"backward [\d.]+x, update [\d.]+x; median of 1 per-repeat ratios\)",
                         out, re.M), out
        # same initial weights and batch: the same first loss and gradients
        assert re.search(r"^check\s+first-step loss: framework [\d.]+, pytorch [\d.]+ "
                         r"\(\|diff\| [\d.e+-]+\); .*: same$", out, re.M), out
        assert re.search(r"^threads .*pytorch [\w.+]+ .*\(\d+ threads\)", out, re.M), out
    else:
        assert re.search(r"^pytorch\s+not installed", out, re.M), out
    assert "warning" not in out
    # the profile: the breakdown and cProfile's table
    assert "Where the framework's time goes (batch 8, 784-16-10" in out, out
    match = re.search(r"framework on 1x1 shapes .*: (\d+) operators, [\d.]+ us each", out)
    assert match and int(match.group(1)) > 10, out
    assert re.search(r"plain NumPy, same math .*matmul \(BLAS\) [\d.]+", out), out
    assert "cProfile of 3 framework steps, top 5 by own time" in out, out


def test_mlp_step_benchmark_without_torch_and_one_thread():
    out = run_benchmark("--steps", 3, "--repeat", 1, "--batch-size", 4, "--hidden", 8,
                        "--no-torch", "--threads", 1)
    assert re.search(rf"^framework\s+batch 4, 784-8-10:\s+{MS}", out, re.M), out
    assert not re.search(r"^(pytorch|ratio|check)", out, re.M), out
    assert "pytorch not used" in out
    threads = re.search(r"^threads .*\((\d+) threads\)", out, re.M)
    if threads:                       # when the script can reach NumPy's OpenBLAS
        assert threads.group(1) == "1", out


def test_mlp_step_benchmark_rejects_bad_options():
    done = subprocess.run([sys.executable, str(SCRIPT), "--steps", "0"], cwd=ROOT,
                          env=SCRIPT_ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "at least 1" in done.stderr


def test_mlp_step_references_compute_the_same_training():
    """The framework step (the example's code), the plain-NumPy reference of the profile
    and, where installed, the PyTorch step: the same losses and weights after 3 steps."""
    bench = load_benchmark()
    weights, batches = bench.make_problem(batch_size=6, hidden=12, seed=5)
    steps = [bench.FrameworkStep(weights, batches, 0.3), bench.NumpyStep(weights, batches, 0.3)]
    if has_torch():
        steps.append(bench.TorchStep(weights, batches, 0.3))
    losses, finals = [], []
    for step in steps:
        step.reset()
        times, loss = step.run(3)
        assert len(times) == 3 and all(t >= 0 for t in times)
        losses.append(loss)
        finals.append([p.asnumpy() if hasattr(p, "asnumpy") else
                       p.detach().numpy() if hasattr(p, "detach") else p for p in step.params])
    for loss, params in zip(losses[1:], finals[1:]):
        np.testing.assert_allclose(loss, losses[0], rtol=1e-5)
        for a, b in zip(params, finals[0]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # and the weights did move: a step that did nothing would also agree
    assert not np.allclose(finals[0][0], weights[0])
    # reset() goes back to the initial weights
    steps[0].reset()
    np.testing.assert_array_equal(steps[0].params[0].asnumpy(), weights[0])
