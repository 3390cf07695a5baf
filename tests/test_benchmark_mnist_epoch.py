"""Smoke runs of the one-epoch MNIST benchmarks (no timing checks): they still run and
both libraries train alike from the same weights and data order."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

from conftest import MNIST_DIR

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))


@pytest.mark.parametrize("script", ["mlp_mnist.py", "lenet_mnist.py"])
def test_epoch_benchmark_smoke(script):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--batches", "3",
                           "--repeat", "1", "--batch-size", "32", "--data", str(MNIST_DIR)],
                          cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    accuracy = dict(re.findall(r"^(framework|pytorch) .* test accuracy ([\d.]+)", done.stdout,
                               re.M))
    assert set(accuracy) == {"framework", "pytorch"}, done.stdout
    assert abs(float(accuracy["framework"]) - float(accuracy["pytorch"])) <= 0.002, done.stdout
    assert re.search(r"^ratio\s+framework/pytorch epoch time: [\d.]+x", done.stdout, re.M)
