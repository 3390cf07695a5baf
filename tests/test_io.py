"""nd.save / nd.load: the HDF5 format, MXNet's binary .params format, and checkpoint faults.

Round trips on cpu(0) and the strict gpu(0) (a saved device array must go through
asnumpy(); a loaded one must land on the requested context); the real MXNet 1.9.1
files in ../shared/data/mxnet; hand-built MXNet records for the older and rarer
per-array layouts; and the faults a checkpoint must survive: SIGKILL during a save,
a file-size limit hit half-way, truncated, empty, garbage and directory paths.
"""
import json
import os
import pathlib
import re
import signal
import struct
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

import framework as fw
from framework import nd
from framework._fileio import atomic_write

from crash import kill_while_writing

MXNET_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mxnet"
NETS = ["mlp_bn", "tiny_convnet"]
MXNET_FILES = {"net.params": "save_parameters_keys", "net-prefixed.params": "prefixed_keys",
               "model-0000.params": "export_keys"}
# shapes of each net's parameters in file order, from net.py and the input shape in meta.json
NET_SHAPES = {
    "mlp_bn": [(32, 50), (32,), (32,), (32,), (32,), (32,), (10, 32), (10,)],
    "tiny_convnet": [(6, 1, 5, 5), (6,), (12, 2, 3, 3), (12,), (12,), (12,), (12,), (12,),
                     (20, 432), (20,), (10, 20), (10,)],
}

HDF5_DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64",
               "uint8", "uint16", "uint32", "uint64", "bool"]
MXNET_DTYPES = ["float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool"]


def sample(dtype, shape, seed=0):
    """A host array of ``dtype``/``shape`` with values that exercise the type's range."""
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    return (rng.standard_normal(shape) * 100).astype(dtype)


def assert_same(loaded, host, ctx):
    assert loaded.context == ctx
    assert loaded.shape == host.shape and np.dtype(loaded.dtype) == host.dtype
    np.testing.assert_array_equal(loaded.asnumpy(), host)


def quoted(path):
    """``'path'`` as a regex, as error messages quote file names."""
    return re.escape(f"'{path}'")


def no_temp_files(folder):
    return [p.name for p in pathlib.Path(folder).iterdir() if p.name.endswith(".tmp")] == []


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("fmt,dtypes", [("hdf5", HDF5_DTYPES), ("mxnet", MXNET_DTYPES)])
def test_dict_round_trip_keeps_dtype_shape_values_and_lands_on_ctx(ctx, tmp_path, fmt, dtypes):
    hosts = {}
    for dtype in dtypes:
        hosts[f"{dtype}.matrix"] = sample(dtype, (3, 4))
        hosts[f"{dtype}.scalar"] = sample(dtype, ())
        hosts[f"{dtype}.empty"] = sample(dtype, (0, 3))
        hosts[f"{dtype}.cube"] = sample(dtype, (2, 1, 3, 2))
    data = {k: nd.array(v, ctx=ctx, dtype=v.dtype) for k, v in hosts.items()}
    nd.save(tmp_path / "arrays", data, format=fmt)
    loaded = nd.load(str(tmp_path / "arrays"), ctx=ctx)
    assert list(loaded) == list(hosts)               # names and their order
    for name, host in hosts.items():
        assert_same(loaded[name], host, ctx)


@pytest.mark.parametrize("fmt", ["hdf5", "mxnet"])
def test_list_and_single_array_load_as_lists(ctx, tmp_path, fmt):
    hosts = [sample("float32", (i + 1, 2), seed=i) for i in range(12)]   # '10' sorts before '2'
    nd.save(tmp_path / "list", [nd.array(h, ctx=ctx) for h in hosts], format=fmt)
    loaded = nd.load(tmp_path / "list", ctx=ctx)
    assert isinstance(loaded, list) and len(loaded) == 12
    for array, host in zip(loaded, hosts):
        assert_same(array, host, ctx)
    nd.save(tmp_path / "one", nd.array(hosts[0], ctx=ctx), format=fmt)
    (only,) = nd.load(tmp_path / "one", ctx=ctx)
    assert_same(only, hosts[0], ctx)
    nd.save(tmp_path / "none", [], format=fmt)
    assert nd.load(tmp_path / "none") == []


@pytest.mark.parametrize("fmt", ["hdf5", "mxnet"])
def test_names_with_dots_colons_slashes_and_odd_characters(tmp_path, fmt):
    names = ["features.0.weight", "arg:conv0_weight", "aux:bn_running_var", "a/b/c", "%2F",
             "100%", "", ".", "..", "name with spaces", "größe", "%"]
    data = {name: nd.array([i, i + 1.5]) for i, name in enumerate(names)}
    nd.save(tmp_path / "names", data, format=fmt)
    loaded = nd.load(tmp_path / "names")
    assert list(loaded) == names
    for i, name in enumerate(names):
        np.testing.assert_array_equal(loaded[name].asnumpy(), [i, i + 1.5])


def test_hdf5_layout_flat_datasets_with_version_and_marker(tmp_path):
    nd.save(tmp_path / "f.params", {"features.0.weight": nd.ones((2, 3)), "x/y": nd.zeros(4),
                                    "arg:b": nd.array([1, 2], dtype="int32")})
    with h5py.File(tmp_path / "f.params", "r") as h5:
        assert dict(h5.attrs) == {"format": "framework.nd", "format_version": 1,
                                  "container": "dict", "framework_version": fw.__version__}
        assert list(h5) == ["features.0.weight", "x%2Fy", "arg:b"]       # flat, no groups
        assert all(isinstance(h5[k], h5py.Dataset) for k in h5)
        assert h5["x%2Fy"].attrs["name"] == "x/y"
        assert h5["features.0.weight"].shape == (2, 3) and h5["arg:b"].dtype == np.int32


@pytest.mark.parametrize("fmt", ["hdf5", "mxnet"])
def test_loaded_arrays_are_independent_and_writable(tmp_path, fmt):
    source = nd.array([1.0, 2.0, 3.0])
    nd.save(tmp_path / "a", {"x": source}, format=fmt)
    first, second = nd.load(tmp_path / "a")["x"], nd.load(tmp_path / "a")["x"]
    first[:] = 7
    np.testing.assert_array_equal(first.asnumpy(), [7, 7, 7])
    np.testing.assert_array_equal(second.asnumpy(), [1, 2, 3])
    np.testing.assert_array_equal(source.asnumpy(), [1, 2, 3])


def test_default_context_is_the_current_context(tmp_path):
    nd.save(tmp_path / "a", [nd.ones(2)])
    assert nd.load(tmp_path / "a")[0].context == fw.cpu(0)
    with fw.gpu(0):
        assert nd.load(tmp_path / "a")[0].context == fw.gpu(0)


def test_save_copies_device_arrays_with_asnumpy(tmp_path, monkeypatch):
    calls = []
    original = fw.NDArray.asnumpy

    def counting(self):
        calls.append(self.context)
        return original(self)

    monkeypatch.setattr(fw.NDArray, "asnumpy", counting)
    for fmt in ("hdf5", "mxnet"):
        calls.clear()
        nd.save(tmp_path / fmt, {"a": nd.ones((2, 2), ctx=fw.gpu(0)),
                                 "b": nd.zeros(3, ctx=fw.gpu(0))}, format=fmt)
        assert calls == [fw.gpu(0), fw.gpu(0)]


# ------------------------------------------------------------------ save: bad input
def test_save_rejects_bad_data_naming_the_entry(tmp_path):
    target = tmp_path / "x"
    with pytest.raises(TypeError, match=r"data\['w'\] is a ndarray, not an NDArray"):
        nd.save(target, {"w": np.ones(2)})
    with pytest.raises(TypeError, match=r"dict keys must be str, got 3"):
        nd.save(target, {3: nd.ones(2)})
    with pytest.raises(TypeError, match=r"data\[1\] is a int, not an NDArray"):
        nd.save(target, [nd.ones(2), 5])
    with pytest.raises(TypeError, match=r"data must be an NDArray, a list of NDArrays or a dict"):
        nd.save(target, 5)
    with pytest.raises(ValueError, match=r"format 'npz' is not 'hdf5' or 'mxnet'"):
        nd.save(target, [nd.ones(2)], format="npz")
    with pytest.raises(TypeError, match=r"fname must be a str or path, got int"):
        nd.save(3, [nd.ones(2)])
    with pytest.raises(TypeError, match=r"MXNet 1.x cannot read array 'i' of dtype int16 "
                                        r"\(writing '.*x'\)"):
        nd.save(target, {"i": nd.ones(2, dtype="int16")}, format="mxnet")
    assert not target.exists() and no_temp_files(tmp_path)


def test_save_to_a_directory_or_missing_folder_names_the_path(tmp_path):
    with pytest.raises(IsADirectoryError, match=f"cannot write {quoted(tmp_path)}: it is a dir"):
        nd.save(tmp_path, [nd.ones(2)])
    missing = tmp_path / "nope" / "x.params"
    with pytest.raises(FileNotFoundError, match=r"the folder '.*nope' does not exist"):
        nd.save(missing, [nd.ones(2)])


# ------------------------------------------------------------------ the real MXNet 1.9.1 files
@pytest.mark.parametrize("net", NETS)
def test_real_mxnet_files_load_with_their_keys_and_shapes(net):
    meta = json.loads((MXNET_DIR / net / "meta.json").read_text())
    values = []
    for file_name, meta_key in MXNET_FILES.items():
        loaded = nd.load(str(MXNET_DIR / net / file_name))
        assert isinstance(loaded, dict)
        assert sorted(loaded) == sorted(meta[meta_key])
        assert [a.shape for a in loaded.values()] == NET_SHAPES[net]
        assert all(a.dtype == np.float32 and a.context == fw.cpu(0) for a in loaded.values())
        values.append([a.asnumpy() for a in loaded.values()])
    for other in values[1:]:            # the same trained net, saved three ways
        for a, b in zip(values[0], other):
            np.testing.assert_array_equal(a, b)
    batchnorm = 1 if net == "mlp_bn" else 3
    running_var = nd.load(MXNET_DIR / net / "net.params")[f"{batchnorm}.running_var"]
    assert not np.allclose(running_var.asnumpy(), 1)          # trained: not the initial value


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("file_name", list(MXNET_FILES))
def test_mxnet_format_rewrite_is_byte_identical_to_mxnet(tmp_path, net, file_name, ctx):
    original = MXNET_DIR / net / file_name
    nd.save(tmp_path / "again.params", nd.load(original, ctx=ctx), format="mxnet")
    assert (tmp_path / "again.params").read_bytes() == original.read_bytes()


# ------------------------------------------------------------------ MXNet per-array layouts
V1, V2, V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA


def record(magic, shape, flag, payload: bytes, storage=0, dims="q", device=1):
    """One array as NDArray::Save writes it (``magic`` None: the pre-V1 layout)."""
    out = b""
    if magic is None:
        out += struct.pack("<I", len(shape))
    else:
        out += struct.pack("<I", magic)
        if magic in (V2, V3):
            out += struct.pack("<i", storage)
        out += struct.pack("<i", len(shape))
    out += struct.pack(f"<{len(shape)}{dims}", *shape)
    return out + struct.pack("<iii", device, 0, flag) + payload


def params_file(records, names=(), count=None):
    body = struct.pack("<QQQ", 0x112, 0, len(records) if count is None else count)
    body += b"".join(records) + struct.pack("<Q", len(names))
    for name in names:
        body += struct.pack("<Q", len(name.encode())) + name.encode()
    return body


def write(path, raw):
    path.write_bytes(raw)
    return str(path)


def test_mxnet_older_layouts_v1_prev1_and_numpy_shape_v3(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    raw = params_file([record(V1, (2, 3), 0, a.tobytes()),
                       record(None, (2, 3), 4, a.astype(np.int32).tobytes(), dims="I"),
                       record(V3, (), 1, np.float64(2.5).tobytes()),
                       record(V3, (0, 2), 6, b""),
                       record(V2, (3,), 7, np.array([1, 0, 1], np.uint8).tobytes())])
    loaded = nd.load(write(tmp_path / "old.params", raw))
    assert isinstance(loaded, list)
    assert_same(loaded[0], a, fw.cpu(0))
    assert_same(loaded[1], a.astype(np.int32), fw.cpu(0))
    assert_same(loaded[2], np.array(2.5), fw.cpu(0))
    assert_same(loaded[3], np.zeros((0, 2), np.int64), fw.cpu(0))
    assert_same(loaded[4], np.array([True, False, True]), fw.cpu(0))


def test_mxnet_bfloat16_loads_as_float32_exactly(tmp_path):
    values = np.array([1.0, -2.5, 3.140625, 1e-3, np.inf], np.float32)
    bits = (values.view(np.uint32) >> 16).astype(np.uint16)      # truncation: bf16 values
    raw = params_file([record(V2, (5,), 12, bits.tobytes())], names=["w"])
    loaded = nd.load(write(tmp_path / "bf16.params", raw))["w"]
    expected = (bits.astype(np.uint32) << 16).view(np.float32)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded.asnumpy(), expected)
    assert expected[0] == 1.0 and expected[1] == -2.5 and expected[4] == np.inf


@pytest.mark.parametrize("records,names,message", [
    ([record(V2, (2,), 0, b"\0" * 8, storage=1)], ["w"],
     r"array 1 of 1 is a sparse \(row_sparse\) array; only dense arrays"),
    ([record(V2, (2,), 0, b"\0" * 8, storage=2)], [],
     r"array 1 of 1 is a sparse \(csr\) array"),
    ([record(V2, (2,), 0, b"\0" * 8, storage=9)], [], r"unknown storage type 9"),
    ([record(V2, (2,), 99, b"\0" * 8)], [], r"array 1 of 1 has unknown type flag 99"),
    ([record(V2, (2,), 0, b"\0" * 8, device=7)], [], r"unknown device type 7"),
    ([record(V2, (2,), 0, b"\0" * 8)], ["a", "b"], r"it holds 1 arrays but 2 names"),
    ([record(V2, (2,), 0, b"\0" * 8)] * 3, ["a", "b"], r"it holds 3 arrays but 2 names"),
    ([record(V2, (2,), 0, b"\0" * 8)] * 2, ["a", "a"], r"the names \['a'\] appear more than once"),
    ([struct.pack("<Iii", V2, 0, 0)], [], r"array 1 of 1 has no data \(an MXNet 'none' array"),
    ([struct.pack("<Iii", V3, 0, -1)], [], r"array 1 of 1 has no data"),
    ([struct.pack("<I", 0xDEADBEEF)], [], r"array 1 of 1 starts with the unknown magic "
                                          r"number 0xdeadbeef"),
    ([struct.pack("<Iii", V2, 0, 1000)], [], r"array 1 of 1 has 1000 dimensions"),
    ([record(V2, (-3,), 0, b"")], [], r"array 1 of 1 has the shape \(-3,\)"),
])
def test_mxnet_bad_records_are_errors_naming_file_and_array(tmp_path, records, names, message):
    path = write(tmp_path / "bad.params", params_file(records, names))
    with pytest.raises(ValueError, match=rf"nd.load: {quoted(path)}.*{message}"):
        nd.load(path)


def test_mxnet_trailing_bytes_and_bad_names_are_errors(tmp_path):
    good = params_file([record(V2, (1,), 0, b"\0" * 4)], ["w"])
    path = write(tmp_path / "tail.params", good + b"xyz")
    with pytest.raises(ValueError, match=rf"{quoted(path)} is a damaged .*3 unexpected bytes"):
        nd.load(path)
    bad_name = good[:-1] + b"\xff"
    path = write(tmp_path / "name.params", bad_name)
    with pytest.raises(ValueError, match=r"name 1 of 1 is not UTF-8 text"):
        nd.load(path)
    huge_count = params_file([record(V2, (1,), 0, b"\0" * 4)], count=10**15)
    path = write(tmp_path / "count.params", huge_count)
    with pytest.raises(ValueError, match=r"is truncated: its header announces 10{15} arrays"):
        nd.load(path)
    huge_shape = params_file([record(V2, (2**40, 2**40), 0, b"")])
    path = write(tmp_path / "shape.params", huge_shape)
    with pytest.raises(ValueError, match=r"is truncated: array 1 of 1 \(1099511627776, "
                                         r"1099511627776\) float32 expects \d+ bytes, 8 remain"):
        nd.load(path)


# ------------------------------------------------------------------ load: damaged files
def test_missing_file_and_directory_name_the_path(tmp_path):
    missing = tmp_path / "nope.params"
    with pytest.raises(FileNotFoundError, match=f"nd.load: {quoted(missing)} does not exist"):
        nd.load(missing)
    with pytest.raises(IsADirectoryError, match=f"nd.load: {quoted(tmp_path)} is a directory"):
        nd.load(tmp_path)


def test_empty_and_garbage_files_name_the_path(tmp_path):
    path = write(tmp_path / "empty.params", b"")
    with pytest.raises(ValueError, match=f"nd.load: {quoted(path)} is empty \\(0 bytes\\)"):
        nd.load(path)
    path = write(tmp_path / "junk.params", b"PK\x03\x04 this is a zip, not params")
    with pytest.raises(ValueError, match=f"nd.load: {quoted(path)} is not a framework HDF5 file or "
                                         f"an MXNet .params file \\(first bytes: 50 4b 03 04"):
        nd.load(path)
    path = write(tmp_path / "short.params", b"\x89HD")
    with pytest.raises(ValueError, match=f"{quoted(path)} is truncated: it holds only 3 bytes"):
        nd.load(path)


@pytest.mark.parametrize("fmt", ["hdf5", "mxnet"])
def test_every_truncation_is_an_error_naming_the_file(tmp_path, fmt):
    nd.save(tmp_path / "whole", {"w": nd.ones((4, 8)), "b": nd.zeros(8, dtype="int64")}, format=fmt)
    raw = (tmp_path / "whole").read_bytes()
    cuts = range(1, len(raw)) if fmt == "mxnet" else sorted({1, 7, 8, 9, 100, 500, 1000,
                                                             len(raw) // 2, len(raw) - 1})
    path = str(tmp_path / "cut")
    for cut in cuts:
        write(tmp_path / "cut", raw[:cut])
        with pytest.raises(ValueError, match=f"nd.load: {quoted(path)} is (a )?truncated"):
            nd.load(path)


def test_mxnet_truncation_message_says_what_was_expected(tmp_path):
    raw = (MXNET_DIR / "mlp_bn" / "net.params").read_bytes()
    path = write(tmp_path / "cut.params", raw[:100])
    with pytest.raises(ValueError, match=f"{quoted(path)} is truncated: array 1 of 8 "
                                         f"\\(32, 50\\) float32 expects 6400 bytes, 36 remain"):
        nd.load(path)


def test_foreign_and_newer_hdf5_files_are_refused(tmp_path):
    with h5py.File(tmp_path / "keras.h5", "w") as h5:
        h5.create_dataset("dense/kernel", data=np.ones(3))
    with pytest.raises(ValueError, match=r"is an HDF5 file, but not one written by nd.save"):
        nd.load(tmp_path / "keras.h5")
    nd.save(tmp_path / "new.h5", [nd.ones(2)])
    with h5py.File(tmp_path / "new.h5", "a") as h5:
        h5.attrs["format_version"] = 7
    with pytest.raises(ValueError, match=r"has format version 7 .* reads version 1"):
        nd.load(tmp_path / "new.h5")


# ------------------------------------------------------------------ atomic writes
def test_atomic_write_keeps_previous_file_on_exception(tmp_path):
    target = tmp_path / "ckpt"
    target.write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(target) as f:
            f.write(b"half of the new cont")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"previous" and no_temp_files(tmp_path)
    with atomic_write(target, "w") as f:
        f.write("new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓" and no_temp_files(tmp_path)
    with pytest.raises(ValueError, match="mode 'ab' is not one of"):
        with atomic_write(target, "ab"):
            pass


def test_atomic_write_to_a_name_near_the_length_limit(tmp_path):
    # the temporary file's name adds 14 bytes; a valid 252-byte name must still save
    for name in ["m" * 245 + ".params", "é" * 120 + ".params"]:
        nd.save(tmp_path / name, [nd.ones(2)])
        assert nd.load(tmp_path / name)[0].shape == (2,) and no_temp_files(tmp_path)


def test_atomic_write_keeps_permissions_of_the_file_it_replaces(tmp_path):
    target = tmp_path / "ckpt"
    target.write_bytes(b"x")
    os.chmod(target, 0o640)
    nd.save(target, [nd.ones(1)])
    assert (os.stat(target).st_mode & 0o777) == 0o640


def test_save_failing_half_way_keeps_previous_file(tmp_path, monkeypatch):
    nd.save(tmp_path / "ckpt", {"w": nd.array([1.0, 2.0])})
    original = fw.NDArray.asnumpy
    copies = []

    def fails_on_second(self):
        copies.append(self)
        if len(copies) == 2:
            raise MemoryError("device copy failed")
        return original(self)

    monkeypatch.setattr(fw.NDArray, "asnumpy", fails_on_second)
    for fmt in ("hdf5", "mxnet"):
        copies.clear()
        with pytest.raises(MemoryError):
            nd.save(tmp_path / "ckpt", {"w": nd.ones(3), "b": nd.ones(3)}, format=fmt)
    monkeypatch.undo()
    np.testing.assert_array_equal(nd.load(tmp_path / "ckpt")["w"].asnumpy(), [1.0, 2.0])
    assert no_temp_files(tmp_path)


CHILD = textwrap.dedent("""
    import os, resource, signal, sys
    import numpy as np
    import framework as fw
    target, fmt, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    big = fw.nd.array(np.full(int(sys.argv[4]), 3.0, np.float32))
    if mode == "fsize":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)        # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    print("ready", flush=True)
    try:
        fw.nd.save(target, {"w": big}, format=fmt)
    except OSError as err:
        print(f"{type(err).__name__}: {err}", flush=True)
        sys.exit(3)
""")


def child(target, fmt, mode, size):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(target), fmt, mode, str(size)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("fmt", ["hdf5", "mxnet"])
def test_write_failing_half_way_under_rlimit_fsize_keeps_previous_file(tmp_path, fmt):
    target = tmp_path / "ckpt.params"
    nd.save(target, {"w": nd.array([1.0, 2.0])}, format=fmt)
    previous = target.read_bytes()
    proc = child(target, fmt, "fsize", 1_000_000)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, (out, err)
    assert f"File too large: '{target}'" in out
    assert target.read_bytes() == previous and no_temp_files(tmp_path)
    np.testing.assert_array_equal(nd.load(target)["w"].asnumpy(), [1.0, 2.0])


@pytest.mark.parametrize("fmt", ["hdf5", "mxnet"])
def test_sigkill_during_save_leaves_previous_file_loadable(tmp_path, fmt):
    target = tmp_path / "ckpt.params"
    nd.save(target, {"w": nd.array([1.0, 2.0])}, format=fmt)
    previous = target.read_bytes()

    def restore():
        assert nd.load(target)["w"].shape == (16_000_000,)    # the big save finished
        nd.save(target, {"w": nd.array([1.0, 2.0])}, format=fmt)

    temps = kill_while_writing(lambda: child(target, fmt, "kill", 16_000_000), target, restore)
    assert target.read_bytes() == previous
    np.testing.assert_array_equal(nd.load(target)["w"].asnumpy(), [1.0, 2.0])
    for temp in temps:                        # a killed writer cannot clean up its temp file
        temp.unlink()
