"""benchmarks/conv.py keeps working and reports what it says (no timing checks)."""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "conv.py"
SCRIPT_ENV = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(
    [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
RATE = r"[\d.]+ GFLOP/s"


def run_benchmark(*args):
    done = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=ROOT,
                          env=SCRIPT_ENV, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"conv.py failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_conv_benchmark_smoke():
    out = run_benchmark("--shape", "lenet-conv2", "--batch-size", 2, "--repeat", 1,
                        "--settle", 0, "--profile")
    assert re.search(r"^threads\s+numpy .* BLAS ", out, re.M), out
    shape = r"Conv2D 20->50 5x5 stride 1 pad 0, batch 2, 12x12"
    result = re.search(rf"^result\s+{shape}: framework {RATE} \([\d.]+ ms; forward [\d.]+, "
                       rf"backward [\d.]+\)(.*); BLAS 2048x2048 matmul {RATE}; median of 1$",
                       out, re.M)
    assert result, out
    if importlib.util.find_spec("torch") is not None:
        assert re.match(rf", pytorch {RATE} \([\d.]+ ms\), ratio [\d.]+x pytorch's speed$",
                        result.group(1)), out
        assert re.search(r"^check\s+output and input, weight, bias gradients: .*: same$",
                         out, re.M), out
    assert "warning" not in out
    assert re.search(r"operators split over \d+ threads", out), out
    for part in ("forward", "weight gradient", "data gradient"):
        assert re.search(rf"^    {part}\s+[\d.]+ ms$", out, re.M), out
    assert re.search(rf"^  GEMM\s+[\d.]+ ms in \d+ product calls \([\d.]+ GFLOP\): "
                     rf"{RATE}, \d+% of the 2048x2048 product's", out, re.M), out
    assert re.search(r"^  im2col\s+[\d.]+ ms \(\d+ calls\)", out, re.M), out


def test_conv_benchmark_rejects_bad_options():
    done = subprocess.run([sys.executable, str(SCRIPT), "--repeat", "0"], cwd=ROOT,
                          env=SCRIPT_ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "at least 1" in done.stderr


def test_profile_counts_matmul_flops_by_numpy_rules():
    spec = importlib.util.spec_from_file_location("conv_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert module._matmul_flops((1, 64, 576), (1, 576, 100)) == 2 * 64 * 576 * 100
    assert module._matmul_flops((64, 98, 1024), (1024,)) == 2 * 64 * 98 * 1024   # a vector
    assert module._matmul_flops((5,), (5, 3)) == 2 * 5 * 3
    assert module._matmul_flops((4, 2, 3), (3, 7)) == 2 * 4 * 2 * 3 * 7
