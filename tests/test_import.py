"""`import framework` stays light: CuPy, h5py, tqdm, onnx and mpi4py load only when used."""
import subprocess
import sys


def test_import_does_not_load_optional_modules():
    optional = "('cupy', 'h5py', 'tqdm', 'torch', 'scipy', 'onnx', 'onnxruntime', 'mpi4py')"
    code = ("import sys, framework as fw; fw.nd.ones((2, 2)).sum().asnumpy(); "
            f"print(sorted(m for m in {optional} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_face_imports_in_any_order(tmp_path):
    """framework/__init__.py's imports, reversed, still give a working package: no
    import order matters (DESIGN.md section 2)."""
    import pathlib
    import shutil
    source = pathlib.Path(__file__).resolve().parents[1] / "framework"
    copy = tmp_path / "framework"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    lines = (copy / "__init__.py").read_text().splitlines()
    imports = [i for i, line in enumerate(lines) if line.startswith(("from .", "import "))]
    reordered = list(lines)
    for i, j in zip(imports, reversed(imports)):
        reordered[i] = lines[j]
    (copy / "__init__.py").write_text("\n".join(reordered) + "\n")
    code = ("import framework as fw; x = fw.nd.array([1., 2.]); x.attach_grad()\n"
            "with fw.autograd.record():\n    y = (x * x).sum()\n"
            "y.backward(); print(x.grad.asnumpy().tolist(), fw.__file__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": ""})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("[2.0, 4.0] " + str(tmp_path)), out.stdout


def test_no_import_circles():
    """The checker from shared/tools (DESIGN.md section 2) finds no circle."""
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[1]
    checker = root.parent / "shared" / "tools" / "check_imports.py"
    if not checker.exists():
        import pytest
        pytest.skip(f"{checker} is not beside this checkout")
    out = subprocess.run([sys.executable, str(checker), str(root / "framework")],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "no import circles" in out.stdout, out.stdout
