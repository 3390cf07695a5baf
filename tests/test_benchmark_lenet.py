"""benchmarks/lenet.py keeps working and compares like with like (no timing checks)."""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "lenet.py"
SCRIPT_ENV = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))


def run_benchmark(*args, timeout=180):
    done = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=ROOT,
                          env=SCRIPT_ENV, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"lenet.py failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_lenet_benchmark_smoke():
    out = run_benchmark("--batch-size", 4, "--steps", 2, "--repeat", 1, "--threads", 1,
                        "--profile", "--top", 3)
    rate = r"[\d.]+ images/s, [\d.]+ ms/step \(forward [\d.]+, backward [\d.]+; median of 1 x 2"
    assert re.search(rf"^framework\s+LeNet batch 4:\s+{rate}", out, re.M), out
    if importlib.util.find_spec("torch") is not None:
        assert re.search(rf"^pytorch\s+LeNet batch 4:\s+{rate}", out, re.M), out
        assert re.search(r"^ratio\s+framework/pytorch images/s: [\d.]+x \(forward [\d.]+x, "
                         r"backward [\d.]+x; median of 1 per-repeat ratios", out, re.M), out
        # same weights and batch: the same loss and gradients
        assert re.search(r"^check\s+first-step loss: .*: same$", out, re.M), out
    assert "warning" not in out
    # the profile names the operators, pooling among them
    assert re.search(r"pooling\._MaxPool\s+[\d.]+ ms/step .*\(2 calls/step\)", out), out
    assert re.search(r"pooling\._MaxUnpool\s+[\d.]+ ms/step .*\(2 calls/step\)", out), out
    assert re.search(r"^  pooling \(max pooling and its gradient\): [\d.]+ ms/step", out,
                     re.M), out
    assert "cProfile top 3 by own time" in out


def test_lenet_benchmark_rejects_bad_options():
    done = subprocess.run([sys.executable, str(SCRIPT), "--repeat", "0"], cwd=ROOT,
                          env=SCRIPT_ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "at least 1" in done.stderr
