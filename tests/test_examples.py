"""Smoke runs of the example and the benchmark: they must keep working (no timing checks)."""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import framework as fw
from conftest import MNIST_DIR

ROOT = pathlib.Path(__file__).resolve().parents[1]
# the scripts import this checkout's framework, whatever is installed
SCRIPT_ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))


def run_script(*args, timeout=120):
    env = dict(SCRIPT_ENV, FRAMEWORK_DATA=str(MNIST_DIR), PYTHONUNBUFFERED="1")
    done = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_mnist_from_scratch_smoke():
    out = run_script(ROOT / "examples" / "mnist_from_scratch.py", "--epochs", "1",
                     "--limit", "2000", "--hidden", "64", "--seed", "1")
    assert "2000 training and 10000 test images" in out
    match = re.search(r"epoch 1: loss ([\d.]+), test accuracy ([\d.]+), time ([\d.]+) s", out)
    assert match, out
    loss, accuracy = float(match.group(1)), float(match.group(2))
    # 2,000 images, one epoch: far above chance (0.1), and a finite loss below log(10)
    assert 0.6 < accuracy <= 1.0, out
    assert 0.0 < loss < 2.3026, out


EPOCH_LINE = r"epoch 1: loss ([\d.]+), test accuracy ([\d.]+), time"


def test_mnist_from_scratch_same_on_device(capsys):
    """In process on cpu(0) and on gpu(0) (the strict backend, or CuPy): same training."""
    spec = importlib.util.spec_from_file_location(
        "mnist_from_scratch", ROOT / "examples" / "mnist_from_scratch.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    results = {}
    for ctx in ("cpu", "gpu"):
        example.main(["--epochs", "1", "--limit", "640", "--hidden", "32", "--seed", "3",
                      "--ctx", ctx, "--data", str(MNIST_DIR)])
        out = capsys.readouterr().out
        assert f"on {ctx}(0)" in out, out
        match = re.search(EPOCH_LINE, out)
        assert match, out
        results[ctx] = float(match.group(1)), float(match.group(2))
    (cpu_loss, cpu_acc), (gpu_loss, gpu_acc) = results["cpu"], results["gpu"]
    assert abs(cpu_loss - gpu_loss) <= 1e-3 * cpu_loss and abs(cpu_acc - gpu_acc) <= 0.005
    assert cpu_acc > 0.5
    assert fw.autograd.is_recording() is False


def test_mnist_from_scratch_reports_missing_data(tmp_path):
    # offline for sure: every download goes through a proxy that refuses connections
    proxy = "http://127.0.0.1:9"
    env = dict(SCRIPT_ENV, FRAMEWORK_DATA=str(tmp_path), http_proxy=proxy, https_proxy=proxy,
               HTTP_PROXY=proxy, HTTPS_PROXY=proxy, no_proxy="", NO_PROXY="")
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "mnist_from_scratch.py"),
                           "--epochs", "1", "--data", str(tmp_path / "none")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert done.stderr.startswith("Downloading") and "Traceback" not in done.stderr
    for text in ("error: MNIST", "FRAMEWORK_DATA", str(tmp_path / "none"),
                 "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        assert text in done.stderr, done.stderr


def test_op_overhead_benchmark_smoke():
    out = run_script(ROOT / "benchmarks" / "op_overhead.py", "--ops", "50", "--repeat", "1",
                     "--profile", "--top", "5")
    assert re.search(r"^framework\s+50 ops:\s+[\d.]+ us/op", out, re.M), out
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "pytorch" in out and "not installed" in out
    else:
        assert re.search(r"^pytorch\s+50 ops:\s+[\d.]+ us/op", out, re.M), out
        assert re.search(r"^ratio\s+framework/pytorch: [\d.]+x", out, re.M), out
        assert "gradients differ" not in out
    assert "cProfile" in out
