"""The IDX reader, the MNIST loader and its download path (framework.data)."""
import gzip
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

from framework.data import download, read_idx
from framework.data.download import DownloadError, content_md5
from framework.data.vision import load_mnist, mnist
from framework.data.vision.mnist import DEFAULT_ROOT, MIRRORS, mnist_root

from conftest import MNIST_DIR

# MD5 of the decompressed contents, as published in ../shared/data/mnist/README.md
PUBLISHED_MD5 = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def write_idx(path, array, type_code, compress=False, magic=None):
    """An IDX file written independently of the reader (struct layout by hand)."""
    header = bytes([0, 0, type_code, array.ndim]) if magic is None else magic
    header += np.array(array.shape, dtype=">u4").tobytes()
    payload = header + array.tobytes()
    if compress:
        payload = gzip.compress(payload)
    pathlib.Path(path).write_bytes(payload)
    return path


def no_network(*args, **kwargs):
    raise urllib.error.URLError("network is unreachable (test)")


# ----------------------------------------------------------------- real files
@pytest.fixture(scope="module")
def real_train():
    return load_mnist(MNIST_DIR, train=True, download=False)


def test_published_md5_of_the_four_files():
    for name, digest in PUBLISHED_MD5.items():
        contents = gzip.decompress((MNIST_DIR / name).read_bytes())
        assert hashlib.md5(contents).hexdigest() == digest, name
        assert content_md5(MNIST_DIR / name) == digest, name


def test_loader_knows_the_published_md5():
    assert {name: md5 for name, md5 in mnist.MNIST_FILES.values()} == PUBLISHED_MD5


def test_train_split(real_train):
    images, labels = real_train
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and labels.dtype == np.int32
    assert labels.min() == 0 and labels.max() == 9
    assert set(np.unique(labels)) == set(range(10))
    # the first ten training labels of MNIST, as widely published
    assert labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert images.min() == 0 and images.max() == 255


def test_test_split():
    images, labels = load_mnist(MNIST_DIR, train=False, download=False)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int32
    assert labels.min() == 0 and labels.max() == 9
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    # pixels agree with a by-hand parse: 16-byte header, then the bytes in C order
    raw = gzip.decompress((MNIST_DIR / TEST_FILES[0]).read_bytes())
    assert raw[:4] == b"\x00\x00\x08\x03"
    np.testing.assert_array_equal(images.reshape(-1), np.frombuffer(raw[16:], dtype=np.uint8))


def test_read_idx_on_real_labels():
    labels = read_idx(MNIST_DIR / TEST_FILES[1], md5=PUBLISHED_MD5[TEST_FILES[1]])
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    with pytest.raises(ValueError, match="MD5"):
        read_idx(MNIST_DIR / TEST_FILES[1], md5="0" * 32)


def test_root_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAMEWORK_DATA", str(MNIST_DIR))
    assert mnist_root() == MNIST_DIR
    images, labels = load_mnist(train=False, download=False)
    assert images.shape == (10000, 28, 28)
    assert mnist_root(tmp_path) == tmp_path           # the argument wins
    monkeypatch.delenv("FRAMEWORK_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert mnist_root() == tmp_path / ".framework" / "datasets" / "mnist"
    assert DEFAULT_ROOT.endswith(os.path.join(".framework", "datasets", "mnist"))


def test_uncompressed_files_in_a_mnist_subfolder(tmp_path):
    (tmp_path / "mnist").mkdir()
    for name in TEST_FILES:
        raw = gzip.decompress((MNIST_DIR / name).read_bytes())
        (tmp_path / "mnist" / name[:-3]).write_bytes(raw)
    images, labels = load_mnist(tmp_path, train=False, download=False)
    expected_images, expected_labels = load_mnist(MNIST_DIR, train=False, download=False)
    np.testing.assert_array_equal(images, expected_images)
    np.testing.assert_array_equal(labels, expected_labels)


def test_corrupt_local_file_is_detected(tmp_path):
    shutil.copy(MNIST_DIR / TEST_FILES[0], tmp_path)
    labels = bytearray(gzip.decompress((MNIST_DIR / TEST_FILES[1]).read_bytes()))
    labels[8 + 100] = (labels[8 + 100] + 1) % 10   # label 100 (after the 8-byte header)
    (tmp_path / TEST_FILES[1]).write_bytes(gzip.compress(bytes(labels)))
    with pytest.raises(ValueError, match=r"t10k-labels.*MD5"):
        load_mnist(tmp_path, train=False, download=False)
    images, got = load_mnist(tmp_path, train=False, download=False, verify=False)
    assert got[100] == labels[8 + 100]


# ----------------------------------------------------------------- read_idx
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype,code", [(">u1", 0x08), (">i1", 0x09), (">i2", 0x0B),
                                        (">i4", 0x0C), (">f4", 0x0D), (">f8", 0x0E)])
def test_read_idx_types(tmp_path, dtype, code, compress):
    values = (np.arange(24).reshape(2, 3, 4) * 3 - 20).astype(dtype)
    if values.dtype.kind == "u":
        values = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    path = write_idx(tmp_path / "a.idx", values, code, compress=compress)
    out = read_idx(str(path))
    assert out.shape == (2, 3, 4)
    assert out.dtype == np.dtype(dtype).newbyteorder("=") and out.dtype.isnative
    np.testing.assert_array_equal(out, values)


def test_read_idx_bad_magic_number(tmp_path):
    values = np.zeros((2, 2), dtype=np.uint8)
    path = write_idx(tmp_path / "bad.idx", values, 0, magic=b"\x12\x34\x08\x02")
    with pytest.raises(ValueError, match=r"bad\.idx is not an IDX file: magic number 0x12340802"):
        read_idx(path)
    path = write_idx(tmp_path / "type.idx", values, 0x07, compress=True)
    with pytest.raises(ValueError, match=r"type\.idx is not an IDX file: magic number 0x00000702"):
        read_idx(path)
    path = write_idx(tmp_path / "zero.idx", np.zeros((), np.uint8), 0x08)
    with pytest.raises(ValueError, match="0 dimensions"):
        read_idx(path)


def test_read_idx_truncated_and_trailing(tmp_path):
    values = np.arange(12, dtype=np.uint8).reshape(3, 4)
    good = (tmp_path / "good.idx")
    write_idx(good, values, 0x08)
    data = good.read_bytes()
    (tmp_path / "short.idx").write_bytes(data[:-1])
    with pytest.raises(ValueError,
                       match=r"short\.idx is truncated: shape \(3, 4\).*12 data bytes, found 11"):
        read_idx(tmp_path / "short.idx")
    (tmp_path / "header.idx").write_bytes(data[:10])
    with pytest.raises(ValueError, match=r"header\.idx is truncated"):
        read_idx(tmp_path / "header.idx")
    (tmp_path / "long.idx").write_bytes(data + b"\x00\x00")
    with pytest.raises(ValueError, match=r"long\.idx has 2 bytes after"):
        read_idx(tmp_path / "long.idx")
    gz = gzip.compress(data)
    (tmp_path / "cut.gz").write_bytes(gz[:len(gz) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz is a corrupt or truncated gzip file"):
        read_idx(tmp_path / "cut.gz")
    with pytest.raises(FileNotFoundError, match="no file at"):
        read_idx(tmp_path / "absent.idx")


# -------------------------------------------------------- missing and download
def test_missing_files_error_names_files_root_and_fix(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path, train=True, download=False)
    message = str(info.value)
    assert str(tmp_path) in message
    assert "train-images-idx3-ubyte.gz" in message and "train-labels-idx1-ubyte.gz" in message
    assert "FRAMEWORK_DATA" in message and "root=" in message


def test_offline_missing_error(tmp_path, monkeypatch):
    """The default mirrors, with the network gone: a clear error, nothing left behind."""
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv("FRAMEWORK_DATA", str(tmp_path / "data"))
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(train=False)
    message = str(info.value)
    assert str(tmp_path / "data") in message
    assert "t10k-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert MIRRORS[0] + "t10k-images-idx3-ubyte.gz" in message
    assert "network is unreachable" in message
    assert "FRAMEWORK_DATA" in message
    assert list((tmp_path / "data").iterdir()) == []


def test_download_from_file_mirror(tmp_path):
    bad = tmp_path / "bad_mirror"          # a mirror with a corrupt copy of one file
    bad.mkdir()
    labels = bytearray(gzip.decompress((MNIST_DIR / TEST_FILES[1]).read_bytes()))
    labels[0] = (labels[0] + 1) % 10
    (bad / TEST_FILES[1]).write_bytes(gzip.compress(bytes(labels)))
    root = tmp_path / "downloaded"
    mirrors = [bad.as_uri() + "/", MNIST_DIR.as_uri()]   # with and without the slash
    images, labels = load_mnist(root, train=False, mirrors=mirrors)
    assert sorted(p.name for p in root.iterdir()) == sorted(TEST_FILES)   # no .part left
    for name in TEST_FILES:
        assert (root / name).read_bytes() == (MNIST_DIR / name).read_bytes()
    expected_images, expected_labels = load_mnist(MNIST_DIR, train=False, download=False)
    np.testing.assert_array_equal(images, expected_images)
    np.testing.assert_array_equal(labels, expected_labels)


def test_download_verifies_and_never_leaves_a_partial_file(tmp_path):
    bad = tmp_path / "mirror"
    bad.mkdir()
    (bad / "f.gz").write_bytes(gzip.compress(b"not what was expected"))
    target = tmp_path / "out" / "f.gz"
    with pytest.raises(DownloadError, match=r"f\.gz.*contents have MD5 .* expected 0{32}"):
        download([bad.as_uri() + "/f.gz"], target, md5="0" * 32, quiet=True)
    with pytest.raises(DownloadError, match="absent.gz"):
        download([bad.as_uri() + "/absent.gz"], target, quiet=True)
    assert list((tmp_path / "out").iterdir()) == []
    good_md5 = hashlib.md5(b"not what was expected").hexdigest()
    assert download(bad.as_uri() + "/f.gz", target, md5=good_md5, quiet=True) == str(target)
    assert target.read_bytes() == (bad / "f.gz").read_bytes()


def test_import_is_light():
    code = ("import sys, framework.data; "
            "print(sorted(m for m in ('urllib.request', 'http.client', 'tqdm', 'h5py') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
