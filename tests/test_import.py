"""`import framework` stays light: CuPy, h5py and tqdm load only when used."""
import subprocess
import sys


def test_import_does_not_load_optional_modules():
    code = ("import sys, framework as fw; fw.nd.ones((2, 2)).sum().asnumpy(); "
            "print(sorted(m for m in ('cupy', 'h5py', 'tqdm', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
