"""fw.data.vision data sets: MNIST, FashionMNIST, CIFAR10/100, ImageFolderDataset,
ImageRecordDataset; where their files are found, fetched and checked."""
import gzip
import hashlib
import io
import os
import pathlib
import tarfile
import urllib.error
import urllib.request
from dataclasses import replace

import numpy as np
import pytest

import framework as fw
from framework.data.vision import (CIFAR10, CIFAR100, MNIST, FashionMNIST, ImageFolderDataset,
                                   ImageRecordDataset, load_mnist, transforms)
from framework.data.vision import datasets as vision_datasets

from conftest import MNIST_DIR

PIL = pytest.importorskip("PIL.Image")

IDX_NAMES = {("train", "images"): "train-images-idx3-ubyte.gz",
             ("train", "labels"): "train-labels-idx1-ubyte.gz",
             ("test", "images"): "t10k-images-idx3-ubyte.gz",
             ("test", "labels"): "t10k-labels-idx1-ubyte.gz"}


# ------------------------------------------------------------------ file writers
def idx_bytes(array):
    """An IDX file by hand: magic 0x0000TTNN, big-endian dimensions, the bytes."""
    code = {np.dtype("u1"): 0x08}[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.tobytes()


def write_idx_set(folder, n_train=5, n_test=3, compress=True, seed=0):
    """Small MNIST-format files (images (N, 28, 28) uint8, labels 0..9); returns them."""
    rng = np.random.RandomState(seed)
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = rng.randint(0, 10, size=n).astype(np.uint8)
        for kind, array in (("images", images), ("labels", labels)):
            name = IDX_NAMES[(split, kind)]
            data = idx_bytes(array)
            if compress:
                (folder / name).write_bytes(gzip.compress(data))
            else:
                (folder / name[:-3]).write_bytes(data)
        out[split] = (images, labels)
    return out


def cifar_records(n, label_bytes, seed):
    """n CIFAR records: label byte(s), then the R, G and B 32x32 planes."""
    rng = np.random.RandomState(seed)
    labels = np.stack([rng.randint(0, 20 if label_bytes == 2 and i == 0 else 10 if label_bytes == 1
                                   else 100, size=n) for i in range(label_bytes)], axis=1)
    planes = rng.randint(0, 256, size=(n, 3, 32, 32))
    records = np.concatenate([labels, planes.reshape(n, -1)], axis=1).astype(np.uint8)
    return records.tobytes(), labels, planes


def write_cifar10(folder, subfolder="", sizes=(2, 1, 1, 1, 2, 3)):
    """The six CIFAR-10 binary files, small; returns {name: (bytes, labels, planes)}."""
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    target = pathlib.Path(folder) / subfolder
    target.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, (name, n) in enumerate(zip(names, sizes)):
        out[name] = cifar_records(n, 1, seed=i)
        (target / name).write_bytes(out[name][0])
    return out


def tar_of(path, files, folder):
    """A .tar.gz at ``path`` holding ``files`` {name: bytes} under ``folder/``."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def no_network(*args, **kwargs):
    raise urllib.error.URLError("network is unreachable (test)")


def sha1(data):
    return hashlib.sha1(data).hexdigest()


# ------------------------------------------------------------------- MNIST
@pytest.fixture(scope="module")
def real_test_set():
    return MNIST(MNIST_DIR, train=False)


def test_mnist_real_files(real_test_set):
    ds = real_test_set
    assert len(ds) == 10000
    image, label = ds[0]
    assert isinstance(image, fw.nd.NDArray) and image.context == fw.cpu(0)
    assert image.shape == (28, 28, 1) and image.dtype == np.uint8
    assert isinstance(label, np.int32) and label == 7
    assert [int(ds[i][1]) for i in range(10)] == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    images, labels = load_mnist(MNIST_DIR, train=False, download=False)
    np.testing.assert_array_equal(ds[1234][0].asnumpy()[:, :, 0], images[1234])
    batch, batch_labels = ds[10:14]                     # a slice gives a batch, as MXNet
    assert batch.shape == (4, 28, 28, 1)
    np.testing.assert_array_equal(batch_labels, labels[10:14])
    with pytest.raises(IndexError, match="MNIST: index 10000 is out of range for 10000"):
        ds[10000]


def test_mnist_default_root_is_the_environment_variable():
    # conftest points FRAMEWORK_DATA at ../shared/data/mnist, which holds the files directly
    assert os.environ["FRAMEWORK_DATA"] == str(MNIST_DIR)
    assert len(MNIST(train=False)) == 10000


def test_mnist_transform_argument_and_transform_first(real_test_set):
    ds = MNIST(MNIST_DIR, train=False,
               transform=lambda data, label: (data.astype("float32") / 255, label + 100))
    image, label = ds[0]
    assert image.dtype == np.float32 and label == 107
    np.testing.assert_allclose(image.asnumpy(), real_test_set[0][0].asnumpy() / 255.0, rtol=1e-6)
    tensors = real_test_set.transform_first(transforms.ToTensor())
    image, label = tensors[3]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32 and label == 0
    pairs = real_test_set.transform(lambda data, label: (data.shape, int(label)))
    assert pairs[2] == ((28, 28, 1), 1)
    with pytest.raises(TypeError, match="transform must be callable"):
        MNIST(MNIST_DIR, train=False, transform="nope")


def test_fashion_mnist_small_files(tmp_path, monkeypatch):
    written = write_idx_set(tmp_path / "fashion-mnist", compress=True, seed=1)
    monkeypatch.setenv("FRAMEWORK_DATA", str(tmp_path))
    ds = FashionMNIST(train=True, verify=False)
    images, labels = written["train"]
    assert len(ds) == 5
    for i in range(5):
        image, label = ds[i]
        assert image.shape == (28, 28, 1) and image.dtype == np.uint8
        np.testing.assert_array_equal(image.asnumpy()[:, :, 0], images[i])
        assert label == labels[i] and isinstance(label, np.int32)
    # the published SHA-1 of the .gz files is checked by default: these are not those
    with pytest.raises(ValueError, match=r"Fashion-MNIST: .*fashion-mnist.train-images-idx3-"
                                         r"ubyte\.gz has SHA-1 .* expected 0cf37b0d"):
        FashionMNIST(train=True)


def test_uncompressed_files_are_read(tmp_path):
    written = write_idx_set(tmp_path, compress=False, seed=2)
    ds = FashionMNIST(tmp_path, train=False, verify=False)
    np.testing.assert_array_equal(ds[2][0].asnumpy()[:, :, 0], written["test"][0][2])
    # with a root argument, the <name> subfolder is searched too
    write_idx_set(tmp_path / "other" / "fashion-mnist", seed=3)
    assert len(FashionMNIST(tmp_path / "other", train=True, verify=False)) == 5


def test_root_precedence(tmp_path, monkeypatch):
    """root argument, else $FRAMEWORK_DATA/<name>, else ~/.framework/datasets/<name>."""
    home = tmp_path / "home"
    expected = {where: write_idx_set(folder, n_test=1, seed=seed)["test"][0][0]
                for where, folder, seed in (
                    ("arg", tmp_path / "arg", 10),
                    ("env", tmp_path / "env" / "fashion-mnist", 11),
                    ("home", home / ".framework" / "datasets" / "fashion-mnist", 12))}
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FRAMEWORK_DATA", str(tmp_path / "env"))

    def first_image(**kwargs):
        ds = FashionMNIST(train=False, verify=False, download=False, **kwargs)
        return ds[0][0].asnumpy()[:, :, 0]

    np.testing.assert_array_equal(first_image(root=tmp_path / "arg"), expected["arg"])
    np.testing.assert_array_equal(first_image(), expected["env"])
    monkeypatch.delenv("FRAMEWORK_DATA")
    np.testing.assert_array_equal(first_image(), expected["home"])
    # FashionMNIST never reads MNIST's files from $FRAMEWORK_DATA itself (the same names)
    monkeypatch.setenv("FRAMEWORK_DATA", str(MNIST_DIR))
    with pytest.raises(FileNotFoundError, match="fashion-mnist"):
        FashionMNIST(train=False, download=False)


def test_offline_missing_message(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv("FRAMEWORK_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        FashionMNIST(train=False)
    message = str(info.value)
    for part in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                 str(tmp_path / "fashion-mnist"), "FRAMEWORK_DATA", "root=",
                 "network is unreachable",
                 "fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz"):
        assert part in message, part
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    with pytest.raises(FileNotFoundError) as info:
        CIFAR10(train=True)
    message = str(info.value)
    for part in ("data_batch_1.bin", "cifar-10-binary.tar.gz", str(tmp_path / "cifar10"),
                 "FRAMEWORK_DATA", "www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                 "network is unreachable"):
        assert part in message, part
    with pytest.raises(FileNotFoundError, match=r"download=False"):
        CIFAR100(tmp_path / "nothing", download=False)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_truncated_idx_file_is_named(tmp_path):
    write_idx_set(tmp_path, seed=4)
    path = tmp_path / IDX_NAMES[("train", "images")]
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(data[:-100]))
    with pytest.raises(ValueError, match=r"Fashion-MNIST: .*train-images-idx3-ubyte\.gz is "
                                         r"truncated"):
        FashionMNIST(tmp_path, verify=False)
    path.write_bytes(gzip.compress(data)[:-20])                # a cut gzip stream
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz is a corrupt or "
                                         r"truncated gzip file"):
        FashionMNIST(tmp_path, verify=False)


def test_download_verified_and_atomic(tmp_path, monkeypatch):
    """Files come from the first mirror that has them intact; a corrupt copy is refused."""
    good, bad = tmp_path / "good", tmp_path / "bad"
    write_idx_set(good, seed=5)
    write_idx_set(bad, seed=6)                                # same names, other contents
    digests = {name: sha1((good / name).read_bytes()) for name in IDX_NAMES.values()}
    spec = replace(FashionMNIST._spec, sha1=digests, mirrors=(bad.as_uri(), good.as_uri()))
    monkeypatch.setattr(FashionMNIST, "_spec", spec)
    root = tmp_path / "root"
    ds = FashionMNIST(root, train=False)
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [IDX_NAMES[("test", "images")], IDX_NAMES[("test", "labels")]])   # no partial files
    np.testing.assert_array_equal(
        ds[0][0].asnumpy()[:, :, 0],
        FashionMNIST(good, train=False, download=False)[0][0].asnumpy()[:, :, 0])


# -------------------------------------------------------------------- CIFAR
def test_cifar10_extracted_files(tmp_path):
    written = write_cifar10(tmp_path, "cifar-10-batches-bin")
    train = CIFAR10(tmp_path, train=True, verify=False)
    test = CIFAR10(tmp_path, train=False, verify=False)
    assert len(train) == 7 and len(test) == 3
    _, labels, planes = written["data_batch_1.bin"]
    image, label = train[1]
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image.asnumpy(), planes[1].transpose(1, 2, 0))
    assert label == labels[1, 0] and isinstance(label, np.int32)
    _, labels, planes = written["data_batch_5.bin"]           # the batches in order
    np.testing.assert_array_equal(train[6][0].asnumpy(), planes[1].transpose(1, 2, 0))
    _, labels, planes = written["test_batch.bin"]
    np.testing.assert_array_equal(test[2][0].asnumpy(), planes[2].transpose(1, 2, 0))
    with pytest.raises(ValueError, match=r"CIFAR10: .*data_batch_1\.bin has SHA-1 .*expected "
                                         r"aadd24ac"):
        CIFAR10(tmp_path, train=True)


def test_cifar10_from_the_archive(tmp_path):
    source = tmp_path / "src"
    written = write_cifar10(source)
    root = tmp_path / "root"
    root.mkdir()
    tar_of(root / "cifar-10-binary.tar.gz", {n: v[0] for n, v in written.items()},
           "cifar-10-batches-bin")
    test = CIFAR10(root, train=False, verify=False)
    _, labels, planes = written["test_batch.bin"]
    np.testing.assert_array_equal(test[0][0].asnumpy(), planes[0].transpose(1, 2, 0))
    assert [int(test[i][1]) for i in range(3)] == labels[:, 0].tolist()
    with pytest.raises(ValueError, match=r"cifar-10-binary\.tar\.gz: member test_batch\.bin "
                                         r"has SHA-1"):
        CIFAR10(root, train=False)
    archive = (root / "cifar-10-binary.tar.gz").read_bytes()
    (root / "cifar-10-binary.tar.gz").write_bytes(archive[:len(archive) // 2])
    with pytest.raises(ValueError, match=r"cifar-10-binary\.tar\.gz is a corrupt or truncated"):
        CIFAR10(root, train=False, verify=False)


def test_cifar_truncated_binary_is_named(tmp_path):
    write_cifar10(tmp_path)
    path = tmp_path / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(ValueError, match=r"CIFAR10: .*test_batch\.bin is truncated or not a "
                                         r"CIFAR binary file: 9212 bytes .* 3073-byte records"):
        CIFAR10(tmp_path, train=False, verify=False)


def test_cifar100_fine_and_coarse_labels(tmp_path):
    data, labels, planes = cifar_records(4, 2, seed=7)
    (tmp_path / "cifar-100-binary").mkdir()
    (tmp_path / "cifar-100-binary" / "test.bin").write_bytes(gzip.compress(data))  # gzip too
    coarse = CIFAR100(tmp_path, train=False, verify=False)
    fine = CIFAR100(tmp_path, fine_label=True, train=False, verify=False)
    assert [int(coarse[i][1]) for i in range(4)] == labels[:, 0].tolist()
    assert [int(fine[i][1]) for i in range(4)] == labels[:, 1].tolist()
    np.testing.assert_array_equal(fine[3][0].asnumpy(), planes[3].transpose(1, 2, 0))


def test_cifar100_download_from_a_mirror(tmp_path, monkeypatch):
    train, _, _ = cifar_records(3, 2, seed=8)
    test, test_labels, _ = cifar_records(2, 2, seed=9)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    tar_of(mirror / "cifar-100-binary.tar.gz", {"train.bin": train, "test.bin": test},
           "cifar-100-binary")
    bad = tmp_path / "bad"
    bad.mkdir()
    tar_of(bad / "cifar-100-binary.tar.gz", {"train.bin": train, "test.bin": train},
           "cifar-100-binary")
    spec = replace(CIFAR100._spec, sha1={"train.bin": sha1(train), "test.bin": sha1(test)},
                   mirrors=(bad.as_uri(), mirror.as_uri()))
    monkeypatch.setattr(CIFAR100, "_spec", spec)
    monkeypatch.setenv("FRAMEWORK_DATA", str(tmp_path / "data"))
    ds = CIFAR100(fine_label=True, train=False)
    assert [int(ds[i][1]) for i in range(2)] == test_labels[:, 1].tolist()
    folder = tmp_path / "data" / "cifar100"
    assert [p.name for p in folder.iterdir()] == ["cifar-100-binary.tar.gz"]
    assert (folder / "cifar-100-binary.tar.gz").read_bytes() == \
        (mirror / "cifar-100-binary.tar.gz").read_bytes()


# ------------------------------------------------------------- image folders
def write_png(path, pixels):
    PIL.fromarray(pixels).save(path)


@pytest.fixture
def image_folder(tmp_path):
    rng = np.random.RandomState(0)
    pictures = {}
    for cls in ("dog", "cat"):
        (tmp_path / cls).mkdir()
        for i in range(2):
            pixels = rng.randint(0, 256, size=(5 + i, 7, 3)).astype(np.uint8)
            write_png(tmp_path / cls / f"{i}.png", pixels)
            pictures[(cls, i)] = pixels
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    (tmp_path / "readme.md").write_text("not a class")
    return tmp_path, pictures


def test_image_folder_dataset(image_folder):
    root, pictures = image_folder
    with pytest.warns(UserWarning) as caught:
        ds = ImageFolderDataset(root)
    warned = " ".join(str(w.message) for w in caught)
    assert "readme.md" in warned and "notes.txt" in warned
    assert ds.synsets == ["cat", "dog"]
    assert [(pathlib.Path(f).relative_to(root).as_posix(), label) for f, label in ds.items] == \
        [("cat/0.png", 0), ("cat/1.png", 0), ("dog/0.png", 1), ("dog/1.png", 1)]
    assert len(ds) == 4
    image, label = ds[3]
    assert image.shape == (6, 7, 3) and image.dtype == np.uint8 and label == 1
    np.testing.assert_array_equal(image.asnumpy(), pictures[("dog", 1)])
    with pytest.warns(UserWarning):
        grey = ImageFolderDataset(str(root), flag=0,
                                  transform=lambda data, label: (data, label * 10))
    image, label = grey[1]
    assert image.shape == (6, 7, 1) and label == 0
    expected = np.asarray(PIL.fromarray(pictures[("cat", 1)]).convert("L"))
    np.testing.assert_array_equal(image.asnumpy()[:, :, 0], expected)
    image, label = grey[2]
    assert label == 10
    tensors = ds.transform_first(transforms.Compose([transforms.Resize(4), transforms.ToTensor()]))
    assert tensors[0][0].shape == (3, 4, 4)


def test_image_folder_errors(image_folder, tmp_path):
    root, _ = image_folder
    (root / "dog" / "0.png").write_bytes(b"\x89PNG broken")
    with pytest.warns(UserWarning):
        ds = ImageFolderDataset(root)
    with pytest.raises(ValueError, match=r"imread: cannot decode .*dog.0\.png as an image"):
        ds[2]
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ImageFolderDataset(tmp_path / "absent")
    with pytest.raises(ValueError, match="flag must be 0"):
        ImageFolderDataset(root, flag=3)


def test_pillow_missing_message(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    from framework.data.vision.image import imdecode
    with pytest.raises(ImportError, match=r"pip install 'framework\[vision\]'"):
        imdecode(b"\x89PNG")


# ------------------------------------------------------------- record files
def test_image_record_dataset(tmp_path):
    recordio = pytest.importorskip("framework.recordio")
    rng = np.random.RandomState(1)
    pictures = [rng.randint(0, 256, size=(4, 6, 3)).astype(np.uint8) for _ in range(3)]
    writer = recordio.MXIndexedRecordIO(str(tmp_path / "img.idx"), str(tmp_path / "img.rec"), "w")
    for i, pixels in enumerate(pictures):
        header = recordio.IRHeader(0, float(i) + 0.5, i, 0)
        writer.write_idx(i, recordio.pack_img(header, pixels[:, :, ::-1], img_fmt=".png"))  # BGR
    writer.close()
    ds = ImageRecordDataset(tmp_path / "img.rec")
    assert len(ds) == 3
    image, label = ds[2]
    assert image.shape == (4, 6, 3) and image.dtype == np.uint8 and label == 2.5
    np.testing.assert_array_equal(image.asnumpy(), pictures[2])         # RGB, as MXNet
    grey = ImageRecordDataset(str(tmp_path / "img.rec"), flag=0,
                              transform=lambda data, label: (data.shape, label))
    assert grey[0] == ((4, 6, 1), 0.5)
    tensors = ds.transform_first(transforms.ToTensor())
    assert tensors[1][0].shape == (3, 4, 6)


# ------------------------------------------------------------- test_utils
def test_get_mnist_reads_through_the_loader(monkeypatch):
    calls = []

    def fake_load_mnist(path=None, train=True, **kwargs):
        calls.append((path, train))
        n = 3 if train else 2
        return (np.arange(n * 784, dtype=np.int64).reshape(n, 28, 28) % 256).astype(np.uint8), \
            np.arange(n, dtype=np.int32)

    monkeypatch.setattr(fw.data.vision, "load_mnist", fake_load_mnist)
    data = fw.test_utils.get_mnist()
    assert calls == [(None, True), (None, False)]
    assert sorted(data) == ["test_data", "test_label", "train_data", "train_label"]
    assert data["train_data"].shape == (3, 1, 28, 28) and data["train_data"].dtype == np.float32
    assert data["test_data"].shape == (2, 1, 28, 28)
    np.testing.assert_allclose(data["train_data"].reshape(-1)[:300],
                               (np.arange(300) % 256) / 255.0, rtol=1e-6)
    assert data["test_label"].tolist() == [0, 1]
    assert all(isinstance(v, np.ndarray) for v in data.values())


def test_datasets_are_exported():
    assert vision_datasets.__all__ == ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100",
                                       "ImageFolderDataset", "ImageRecordDataset"]
    assert issubclass(MNIST, fw.data.Dataset) and issubclass(ImageRecordDataset,
                                                             fw.data.RecordFileDataset)
    assert fw.data.vision.transforms is transforms
