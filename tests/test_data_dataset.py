"""fw.data datasets: SimpleDataset, ArrayDataset, RecordFileDataset and the Dataset methods."""
import numpy as np
import pytest

import framework as fw
from framework import recordio
from framework.data import (ArrayDataset, Dataset, RecordFileDataset, SequentialSampler,
                            SimpleDataset)


def test_simple_dataset_wraps_lists_and_arrays():
    ds = SimpleDataset([10, 20, 30])
    assert len(ds) == 3 and ds[1] == 20 and ds[-1] == 30
    arr = SimpleDataset(np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(arr[2], [4, 5])


def test_array_dataset_numpy_and_ndarray():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    labels = fw.nd.array([0, 1, 2, 3])
    images = fw.nd.array(np.arange(8).reshape(4, 2))
    ds = ArrayDataset(x, labels, images)
    assert len(ds) == 4
    a, b, c = ds[2]
    np.testing.assert_array_equal(a, [6, 7, 8])
    assert isinstance(b, np.float32) and b == 2           # a 1-D NDArray gives numbers
    assert isinstance(c, fw.nd.NDArray) and c.asnumpy().tolist() == [4, 5]
    single = ArrayDataset(x)
    np.testing.assert_array_equal(single[0], [0, 1, 2])   # one array: the sample itself


def test_array_dataset_length_error_names_lengths():
    with pytest.raises(ValueError, match=r"array 0 has length 4, array 1 has length 3"):
        ArrayDataset(np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match="at least one"):
        ArrayDataset()
    with pytest.raises(TypeError, match="argument 1 .*int.* has no length"):
        ArrayDataset(np.zeros(2), 5)


def test_transform_lazy_and_eager():
    calls = []

    def double(x, y):
        calls.append(x)
        return x * 2, y

    ds = ArrayDataset(np.arange(4), np.arange(4) + 10)
    lazy = ds.transform(double)
    assert calls == []
    assert lazy[3] == (6, 13) and calls == [3]
    eager = ds.transform(double, lazy=False)
    assert isinstance(eager, fw.data.SimpleDataset)
    assert [eager[i] for i in range(4)] == [(0, 10), (2, 11), (4, 12), (6, 13)]
    single = SimpleDataset([1, 2, 3]).transform(lambda v: -v)
    assert [single[i] for i in range(3)] == [-1, -2, -3]


def test_transform_first_leaves_the_label():
    ds = ArrayDataset(np.arange(3, dtype=np.float32), np.array([7, 8, 9]))
    out = ds.transform_first(lambda x: x + 0.5)
    assert out[1] == (1.5, 8)
    plain = SimpleDataset([1, 2]).transform_first(lambda x: x * 10)
    assert plain[1] == 20
    with pytest.raises(TypeError, match="must be callable"):
        ds.transform_first(3)


def test_filter_take_sample():
    ds = SimpleDataset(list(range(10)))
    even = ds.filter(lambda v: v % 2 == 0)
    assert [even[i] for i in range(len(even))] == [0, 2, 4, 6, 8]
    assert len(ds.take(3)) == 3 and [ds.take(3)[i] for i in range(3)] == [0, 1, 2]
    assert len(ds.take(None)) == 10 and len(ds.take(50)) == 10
    sampled = ds.sample(SequentialSampler(3, start=4))
    assert [sampled[i] for i in range(3)] == [4, 5, 6]
    with pytest.raises(TypeError, match="must be a fw.data.Sampler"):
        ds.sample([1, 2])
    with pytest.raises(IndexError, match="index 5 is out of range for a dataset of 5"):
        even[5]
    with pytest.raises(ValueError, match="count must be None or an int"):
        ds.take(-1)


def test_shard_is_contiguous_and_balanced():
    ds = SimpleDataset(list(range(10)))
    shards = [ds.shard(3, i) for i in range(3)]
    contents = [[s[j] for j in range(len(s))] for s in shards]
    assert contents == [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]      # MXNet's layout
    for n, shards_count in ((7, 7), (5, 8), (100, 6)):
        sizes = [len(SimpleDataset(list(range(n))).shard(shards_count, i))
                 for i in range(shards_count)]
        assert sum(sizes) == n and max(sizes) - min(sizes) <= 1
    with pytest.raises(ValueError, match=r"index must be an int in \[0, 3\)"):
        ds.shard(3, 3)
    with pytest.raises(ValueError, match="num_shards must be a positive int"):
        ds.shard(0, 0)


def test_chained_methods():
    ds = ArrayDataset(np.arange(20), np.arange(20) % 3)
    out = ds.filter(lambda s: s[1] == 0).shard(2, 1).transform_first(lambda x: x * 100)
    assert [out[i] for i in range(len(out))] == [(1200, 0), (1500, 0), (1800, 0)]


def test_base_class_must_be_subclassed():
    with pytest.raises(NotImplementedError, match="Dataset must define __getitem__"):
        Dataset()[0]


def test_record_file_dataset(tmp_path):
    rec = recordio.MXIndexedRecordIO(tmp_path / "d.idx", tmp_path / "d.rec", "w")
    for i in range(5):
        rec.write_idx(i, recordio.pack(recordio.IRHeader(0, float(i), i, 0), b"img%d" % i))
    rec.close()
    ds = RecordFileDataset(str(tmp_path / "d.rec"))
    assert len(ds) == 5
    header, payload = recordio.unpack(ds[3])
    assert header.label == 3.0 and payload == b"img3"
    assert recordio.unpack(ds[-1])[1] == b"img4"
    (tmp_path / "lonely.rec").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"lonely\.idx"):
        RecordFileDataset(tmp_path / "lonely.rec")
