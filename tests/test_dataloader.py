"""fw.data.DataLoader: batches, samplers, worker processes and threads, and their faults.

Fault tests: a worker that raises, a worker killed by SIGKILL, an epoch left early, a
worker that hangs past ``timeout``; after each, no worker process and no shared-memory
segment may remain. Seeded shuffles must repeat across two fresh processes.
"""
import gc
import glob
import multiprocessing
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import framework as fw
from framework import recordio
from framework.data import (ArrayDataset, BatchSampler, DataLoader, Dataset, RecordFileDataset,
                            SequentialSampler, batchify)
from framework.data import _worker_pool

ROOT = pathlib.Path(__file__).resolve().parents[1]


# --------------------------------------------------------------- datasets (module level: picklable)
class Squares(Dataset):
    """Sample i: (uint8 image filled with i % 256, i * i as int64)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2, 3), i % 256, np.uint8), np.int64(i * i)


class FailsAt(Dataset):
    def __init__(self, n, bad):
        self.n, self.bad = n, bad

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            raise ValueError(f"sample {i} is corrupt")
        return np.float32(i)


class OddError(Exception):
    """An exception whose constructor needs two arguments (it cannot be re-made from a message)."""

    def __init__(self, a, b):
        super().__init__(a, b)


class RaisesOdd(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        raise OddError("two", "args")


class SlowAt(Dataset):
    def __init__(self, n, slow, seconds):
        self.n, self.slow, self.seconds = n, slow, seconds

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.slow:
            time.sleep(self.seconds)
        return np.float32(i)


class RandomDraws(Dataset):
    """An 'augmentation': each sample is a draw from NumPy's global generator."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return np.float64(np.random.rand())


def decode_record(record):
    return np.frombuffer(recordio.unpack(record)[1], np.uint8).astype(np.float32)


def segments():
    """This process's DataLoader shared-memory segments."""
    from framework.data._shared_batch import segment_dir
    return glob.glob(os.path.join(segment_dir(), f"fw-dl-{os.getpid()}-*"))


def child_pids():
    """Live child processes of this process (from /proc), the resource tracker aside."""
    pids = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(stat[:-4] + "cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        tracker = b"resource_tracker" in cmdline
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and not tracker:
            pids.append(int(stat.split("/")[2]))
    return pids


def workers():
    return [p for p in multiprocessing.active_children() if p.name.startswith("DataLoader worker")]


def assert_clean():
    gc.collect()
    deadline = time.monotonic() + 5
    while (workers() or segments()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers() == []
    assert segments() == []
    if sys.platform.startswith("linux"):
        assert child_pids() == []


def epoch(loader):
    return [[np.asarray(b.asnumpy()) if isinstance(b, fw.nd.NDArray) else b
             for b in (batch if isinstance(batch, (list, tuple)) else [batch])] for batch in loader]


# ----------------------------------------------------------------------------- batches
def test_batches_for_each_last_batch_mode():
    ds = ArrayDataset(np.arange(10, dtype=np.float32))
    keep = DataLoader(ds, batch_size=4)
    assert len(keep) == 3
    assert [b.asnumpy().tolist() for b in keep] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    discard = DataLoader(ds, batch_size=4, last_batch="discard")
    assert len(discard) == 2 and [b.shape for b in discard] == [(4,), (4,)]
    roll = DataLoader(ds, batch_size=4, last_batch="rollover")
    assert [b.asnumpy().tolist() for b in roll] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert [b.asnumpy().tolist() for b in roll][0] == [8, 9, 0, 1]


def test_samplers_and_argument_errors():
    ds = ArrayDataset(np.arange(6))
    from_sampler = DataLoader(ds, batch_size=2, sampler=SequentialSampler(4, start=2))
    assert [b.asnumpy().tolist() for b in from_sampler] == [[2, 3], [4, 5]]
    from_batches = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(6), 5))
    assert [b.shape for b in from_batches] == [(5,), (1,)]
    with pytest.raises(ValueError, match="batch_size must be given"):
        DataLoader(ds)
    with pytest.raises(ValueError, match="shuffle must not be given with a sampler"):
        DataLoader(ds, batch_size=2, shuffle=True, sampler=SequentialSampler(6))
    with pytest.raises(ValueError, match="must not be given with a batch_sampler"):
        DataLoader(ds, batch_size=2, batch_sampler=BatchSampler(SequentialSampler(6), 2))
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        DataLoader(ds, batch_size=2, timeout=0)
    with pytest.raises(ValueError, match="last_batch must be one of"):
        DataLoader(ds, batch_size=2, last_batch="pad")


def test_workers_processes_threads_give_the_same_batches():
    ds = Squares(23)
    results = []
    for kwargs in ({}, {"num_workers": 2}, {"num_workers": 2, "thread_pool": True},
                   {"num_workers": 2, "prefetch": 0}):
        fw.random.seed(11)
        loader = DataLoader(ds, batch_size=5, shuffle=True, **kwargs)
        results.append([epoch(loader), epoch(loader)])
        del loader
    first = results[0]
    assert [len(e) for e in first] == [5, 5]
    assert first[0][0][1].tolist() != first[1][0][1].tolist()     # a new order each epoch
    data, label = first[0][0]
    assert data.dtype == np.uint8 and data.shape == (5, 2, 3) and label.dtype == np.int64
    for other in results[1:]:
        for e1, e2 in zip(first, other):
            for b1, b2 in zip(e1, e2):
                for x, y in zip(b1, b2):
                    np.testing.assert_array_equal(x, y)
                    assert x.dtype == y.dtype
    assert_clean()


def test_custom_batchify_and_objects_through_workers():
    samples = [(np.arange(n, dtype=np.int32), n % 2, f"s{n}") for n in range(1, 8)]
    fn = batchify.Group(batchify.Pad(pad_val=-1, ret_length=True), batchify.Stack(),
                        batchify.AsList())
    out = {}
    for workers_count in (0, 2):
        loader = DataLoader(samples, batch_size=3, batchify_fn=fn, num_workers=workers_count)
        out[workers_count] = list(loader)
        del loader
    for (pad0, label0, text0), (pad2, label2, text2) in zip(out[0], out[2]):
        assert isinstance(pad2[0], fw.nd.NDArray) and isinstance(label2, fw.nd.NDArray)
        np.testing.assert_array_equal(pad0[0].asnumpy(), pad2[0].asnumpy())
        np.testing.assert_array_equal(pad0[1].asnumpy(), pad2[1].asnumpy())
        np.testing.assert_array_equal(label0.asnumpy(), label2.asnumpy())
        assert text0 == text2
    assert out[2][2][2] == ["s7"] and out[2][0][0][0].shape == (3, 3)
    assert_clean()


def odd_batchify(samples):
    return ({"n": len(samples)}, np.array(True), fw.nd.array(np.arange(6).reshape(2, 3)).T,
            np.float32(3), np.zeros((0, 3)))


def test_odd_batch_fields_through_workers():
    loader = DataLoader(list(range(4)), batch_size=2, batchify_fn=odd_batchify, num_workers=1)
    meta, flag, transposed, number, empty = next(iter(loader))
    assert meta == {"n": 2} and flag.shape == () and flag.dtype == bool and flag
    assert isinstance(transposed, fw.nd.NDArray)
    assert transposed.asnumpy().tolist() == [[0, 3], [1, 4], [2, 5]]
    assert number == np.float32(3) and empty.shape == (0, 3)
    del loader
    assert_clean()


def test_ndarray_samples_and_pin_memory():
    ds = ArrayDataset(fw.nd.array(np.arange(12).reshape(6, 2)), np.arange(6))
    for workers_count in (0, 2):
        loader = DataLoader(ds, batch_size=4, num_workers=workers_count, pin_memory=True)
        x, y = next(iter(loader))
        assert x.context == fw.cpu_pinned(0) and x.shape == (4, 2)
        assert x.asnumpy().tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
        del loader
    assert_clean()


def test_record_file_dataset_in_workers(tmp_path):
    rec = recordio.MXIndexedRecordIO(tmp_path / "r.idx", tmp_path / "r.rec", "w")
    for i in range(12):
        rec.write_idx(i, recordio.pack(recordio.IRHeader(0, float(i), i, 0), bytes([i]) * 5))
    rec.close()
    ds = RecordFileDataset(tmp_path / "r.rec").transform(decode_record)
    ds[0]                                   # opened and read in the main process before the fork
    loader = DataLoader(ds, batch_size=4, num_workers=2)
    batches = [b.asnumpy() for b in loader]
    assert [b[:, 0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    del loader
    assert_clean()


# ----------------------------------------------------------------------------- faults
def test_worker_exception_has_type_message_and_traceback():
    loader = DataLoader(FailsAt(20, bad=13), batch_size=4, num_workers=2)
    with pytest.raises(ValueError) as info:
        list(loader)
    text = str(info.value)
    assert text.startswith("sample 13 is corrupt")
    assert "DataLoader worker 1" in text and "batch 3" in text
    assert "Traceback (most recent call last)" in text and "in __getitem__" in text
    assert 'raise ValueError(f"sample {i} is corrupt")' in text
    assert segments() == []
    # the workers survive a raised exception: the next epoch runs on them
    pids = sorted(p.pid for p in workers())
    it = iter(loader)
    assert [next(it).asnumpy().tolist() for _ in range(3)] == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert sorted(p.pid for p in workers()) == pids
    del it, loader
    assert_clean()


def test_worker_exception_that_cannot_be_remade():
    loader = DataLoader(RaisesOdd(), batch_size=2, num_workers=1)
    with pytest.raises(_worker_pool.WorkerError, match=r"OddError: \('two', 'args'\)") as info:
        next(iter(loader))
    assert "OddError" in str(info.value) and "in __getitem__" in str(info.value)
    del loader
    assert_clean()


def test_worker_killed_gives_an_error_within_seconds():
    loader = DataLoader(SlowAt(40, slow=-1, seconds=0), batch_size=2, num_workers=2,
                        timeout=60)
    it = iter(loader)
    next(it)
    victim = workers()[0]
    os.kill(victim.pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(_worker_pool.WorkerDiedError, match=r"killed by SIGKILL"):
        for _ in it:
            pass
    assert time.monotonic() - start < 5
    assert workers() == [] and segments() == []
    # the next epoch starts fresh workers
    assert len(list(loader)) == 20
    del it, loader
    assert_clean()


def test_worker_killed_while_loading():
    loader = DataLoader(SlowAt(8, slow=2, seconds=30), batch_size=1, num_workers=2, timeout=60)
    it = iter(loader)
    next(it), next(it)
    time.sleep(0.2)                              # worker 0 is now inside the 30 s sample
    busy = [p for p in workers() if p.name.endswith("0")][0]
    os.kill(busy.pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(_worker_pool.WorkerDiedError, match=r"worker 0 .*killed by SIGKILL"):
        next(it)
    assert time.monotonic() - start < 5
    del it, loader
    assert_clean()


def test_early_break_leaves_no_process_and_no_segment():
    loader = DataLoader(Squares(400), batch_size=4, num_workers=2, prefetch=6)
    for _ in loader:
        break
    gc.collect()
    assert segments() == []                      # batches in flight were taken and removed
    assert len(workers()) == 2                   # the workers wait for the next epoch
    for i, _ in enumerate(loader):
        if i == 3:
            break
    del loader
    assert_clean()


def test_dropping_an_iterator_mid_epoch():
    loader = DataLoader(Squares(100), batch_size=2, num_workers=2)
    it = iter(loader)
    next(it)
    del it
    gc.collect()
    assert segments() == []
    assert len(list(loader)) == 50
    del loader
    assert_clean()


def test_timeout_error():
    loader = DataLoader(SlowAt(6, slow=2, seconds=20), batch_size=1, num_workers=2, timeout=0.5)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"within timeout=0.5 s"):
        list(loader)
    assert time.monotonic() - start < 5
    del loader
    assert_clean()


def test_thread_pool_exception_and_timeout():
    loader = DataLoader(FailsAt(10, bad=5), batch_size=2, num_workers=2, thread_pool=True)
    with pytest.raises(ValueError, match="sample 5 is corrupt"):
        list(loader)
    slow = DataLoader(SlowAt(4, slow=1, seconds=1.5), batch_size=1, num_workers=2,
                      thread_pool=True, timeout=0.3)
    with pytest.raises(TimeoutError, match="timeout=0.3 s"):
        list(slow)


# ----------------------------------------------------------------------------- randomness
def test_worker_randomness_differs_between_workers_and_repeats():
    def run():
        fw.random.seed(3)
        loader = DataLoader(RandomDraws(), batch_size=2, num_workers=2)
        values = [b.asnumpy() for b in loader] + [b.asnumpy() for b in loader]
        del loader
        return np.concatenate(values)

    first, second = run(), run()
    np.testing.assert_array_equal(first, second)
    assert len(set(first.tolist())) == len(first)          # workers and epochs differ
    assert_clean()


SHUFFLE_SCRIPT = """
import framework as fw, numpy as np
from framework.data import ArrayDataset, DataLoader
fw.random.seed(42)
loader = DataLoader(ArrayDataset(np.arange(30)), batch_size=7, shuffle=True, num_workers={n})
print([b.asnumpy().tolist() for b in loader] + [b.asnumpy().tolist() for b in loader])
"""


def test_seeded_shuffle_repeats_across_processes():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    outputs = [subprocess.run([sys.executable, "-c", SHUFFLE_SCRIPT.format(n=n)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=60)
               for n in (2, 0)]
    for out in outputs:
        assert out.returncode == 0, out.stderr
    assert outputs[0].stdout == outputs[1].stdout
    fw.random.seed(42)
    loader = DataLoader(ArrayDataset(np.arange(30)), batch_size=7, shuffle=True)
    here = [b.asnumpy().tolist() for b in loader] + [b.asnumpy().tolist() for b in loader]
    assert outputs[0].stdout.strip() == str(here)


# ----------------------------------------------------------------------------- spawn
def test_spawned_workers(monkeypatch):
    monkeypatch.setattr(_worker_pool, "START_METHOD", "spawn")
    loader = DataLoader(Squares(9), batch_size=4, num_workers=2)
    assert loader._processes().method == "spawn"
    batches = epoch(loader)
    assert [b[1].tolist() for b in batches] == [[0, 1, 4, 9], [16, 25, 36, 49], [64]]
    bad = DataLoader(ArrayDataset(np.arange(4)).transform(lambda x: x), batch_size=2,
                     num_workers=1)
    with pytest.raises(TypeError, match="'spawn', which pickles the dataset"):
        iter(bad)
    del loader, bad
    assert_clean()


# ----------------------------------------------------------------------------- benchmark
def test_benchmark_smoke():
    """benchmarks/dataloader.py keeps running and prints its three lines (no timing checks)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "dataloader.py"),
                           "--samples", "32", "--repeat", "1", "--steps", "1", "--batches", "5",
                           "--no-torch"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["speedup", "mnist", "lenet"], done.stdout
    assert "num_workers=2 vs 0, 32 samples of" in lines[0]
    assert "steps/s" in lines[1] and "made beforehand" in lines[2]
