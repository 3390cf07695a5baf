"""Checkpoint faults at the model level: save_parameters / load_parameters.

A process killed with SIGKILL while saving, and a save that fails half-way
(RLIMIT_FSIZE), leave the previous checkpoint loadable and equal; truncated,
empty, garbage and directory paths, and a file that does not fit the model, give
errors that name the file, and leave every Parameter as it was.
"""
import pathlib
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import framework as fw
from framework import nd
from framework.block import Block

from crash import kill_while_writing

TESTS_DIR = pathlib.Path(__file__).resolve().parent


class Inner(Block):
    def __init__(self, rows, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(rows, 4))
            self.bias = self.params.get("bias", shape=(rows,))


class Net(Block):
    """A model as a user writes it: a child block and a Parameter of its own."""

    def __init__(self, rows=3, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = Inner(rows)
            self.scale = self.params.get("scale", shape=(1,))


def make_net(rows=3, seed=0):
    net = Net(rows)
    net.initialize(fw.initializer.Uniform())
    rng = np.random.default_rng(seed)
    for param in net.collect_params().values():
        param.set_data(nd.array(rng.standard_normal(param.shape)))
    return net


def values(net):
    return {name: p.data().asnumpy() for name, p in net._collect_params_with_prefix().items()}


def assert_values(net, expected):
    now = values(net)
    assert list(now) == list(expected)
    for name in expected:
        np.testing.assert_array_equal(now[name], expected[name])


def no_temp_files(folder):
    return [p.name for p in pathlib.Path(folder).iterdir() if p.name.endswith(".tmp")] == []


CHILD = textwrap.dedent("""
    import resource, signal, sys
    import framework as fw
    target, mode, tests_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, tests_dir)
    from test_checkpoint_faults import Net
    net = Net(rows=4_000_000)                       # 16M + 4M floats: 80 MB to write
    net.initialize(fw.initializer.One())
    if mode == "fsize":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)        # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (500_000, 500_000))
    print("ready", flush=True)
    try:
        net.save_parameters(target)
    except OSError as err:
        print(f"{type(err).__name__}: {err}", flush=True)
        sys.exit(3)
""")


def child(target, mode):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(target), mode, str(TESTS_DIR)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_save_parameters_failing_half_way_under_rlimit_fsize_keeps_previous(tmp_path):
    target = tmp_path / "model.params"
    saved = make_net()
    saved.save_parameters(str(target))
    previous = target.read_bytes()
    proc = child(target, "fsize")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, (out, err)
    assert f"File too large: '{target}'" in out
    assert target.read_bytes() == previous and no_temp_files(tmp_path)
    fresh = make_net(seed=1)
    fresh.load_parameters(str(target))
    assert_values(fresh, values(saved))


def test_sigkill_during_save_parameters_leaves_previous_loadable(tmp_path):
    target = tmp_path / "model.params"
    saved = make_net()
    saved.save_parameters(str(target))
    previous = target.read_bytes()
    temps = kill_while_writing(lambda: child(target, "kill"), target,
                               lambda: saved.save_parameters(str(target)))
    assert target.read_bytes() == previous
    fresh = make_net(seed=1)
    fresh.load_parameters(str(target))
    assert_values(fresh, values(saved))
    for temp in temps:                        # a killed writer cannot clean up its temp file
        temp.unlink()


def test_save_parameters_without_data_keeps_previous_file(tmp_path):
    target = tmp_path / "model.params"
    make_net().save_parameters(str(target))
    previous = target.read_bytes()
    uninitialized = Net()
    with pytest.raises(RuntimeError, match=r"save_parameters\('.*model.params'\): Parameter "
                                           r"'scale' .* has no data yet"):
        uninitialized.save_parameters(str(target))
    assert target.read_bytes() == previous and no_temp_files(tmp_path)


def damaged_files(tmp_path):
    """(path, what the error must say) for each kind of bad file."""
    good = tmp_path / "good.params"
    make_net(seed=5).save_parameters(str(good))
    raw = good.read_bytes()
    mxnet_good = tmp_path / "good-mxnet.params"
    nd.save(mxnet_good, nd.load(good), format="mxnet")
    mxnet_raw = mxnet_good.read_bytes()
    cases = {"empty.params": (b"", "is empty"),
             "garbage.params": (b"\x00\x01garbage" * 10, "is not a framework HDF5 file"),
             "cut-header.params": (raw[:5], "is truncated"),
             "cut-hdf5.params": (raw[: len(raw) // 2], "is a truncated or damaged HDF5 file"),
             "cut-hdf5-end.params": (raw[:-1], "is a truncated or damaged HDF5 file"),
             "cut-mxnet.params": (mxnet_raw[: len(mxnet_raw) // 2], "is truncated"),
             "cut-mxnet-names.params": (mxnet_raw[:-3], "is truncated")}
    out = []
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        out.append((tmp_path / name, message))
    out.append((tmp_path / "missing.params", "does not exist"))
    (tmp_path / "folder.params").mkdir()
    out.append((tmp_path / "folder.params", "is a directory"))
    return out


def test_damaged_files_are_errors_naming_the_file_and_change_nothing(tmp_path):
    net = make_net()
    before = values(net)
    for path, message in damaged_files(tmp_path):
        with pytest.raises(OSError if "does not" in message or "directory" in message
                           else ValueError) as info:
            net.load_parameters(str(path))
        assert f"'{path}'" in str(info.value) and message in str(info.value), str(info.value)
        assert_values(net, before)


def test_mismatched_file_lists_every_problem_and_changes_nothing(tmp_path):
    net = make_net()
    before = values(net)
    path = tmp_path / "other.params"
    nd.save(path, {"features.weight": nd.ones((5, 4)),            # wrong shape
                   "scale": nd.ones(1),                            # fits, but must not load
                   "features.extra": nd.ones(2)})                  # unexpected
    with pytest.raises(ValueError) as info:                       # features.bias is missing
        net.load_parameters(str(path))
    text = str(info.value)
    assert str(path) in text
    for name in ("features.weight", "features.bias", "features.extra", "(5, 4)", "(3, 4)"):
        assert name in text, text
    assert_values(net, before)
