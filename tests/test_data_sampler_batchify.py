"""fw.data samplers and batchify functions."""
import numpy as np
import pytest

import framework as fw
from framework.data import (BatchSampler, FilterSampler, IntervalSampler, RandomSampler,
                            SequentialSampler, SimpleDataset, batchify)
from framework.data.batchify import default_batchify_fn


# ----------------------------------------------------------------------------- samplers
def test_sequential_sampler_with_start():
    assert list(SequentialSampler(5)) == [0, 1, 2, 3, 4]
    assert list(SequentialSampler(3, start=4)) == [4, 5, 6]
    assert len(SequentialSampler(3, start=4)) == 3
    with pytest.raises(ValueError, match="length must be an int >= 0"):
        SequentialSampler(-1)


def test_random_sampler_follows_fw_random_seed():
    sampler = RandomSampler(50)
    fw.random.seed(7)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == list(range(50)) and first != second     # a new order each epoch
    fw.random.seed(7)
    assert list(sampler) == first and list(sampler) == second
    assert all(type(i) is int for i in first) and len(sampler) == 50


def test_batch_sampler_last_batch_modes():
    seq = SequentialSampler(10)
    keep = BatchSampler(seq, 3, "keep")
    assert list(keep) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]] and len(keep) == 4
    discard = BatchSampler(seq, 3, "discard")
    assert list(discard) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and len(discard) == 3
    roll = BatchSampler(seq, 3, "rollover")
    assert len(roll) == 3
    assert list(roll) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(roll) == 3                                       # (1 left + 10) // 3
    assert list(roll) == [[9, 0, 1], [2, 3, 4], [5, 6, 7]]
    assert len(roll) == 4                                       # (2 left + 10) // 3
    assert list(roll) == [[8, 9, 0], [1, 2, 3], [4, 5, 6], [7, 8, 9]]
    with pytest.raises(ValueError, match="last_batch must be one of"):
        BatchSampler(seq, 3, "pad")
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        BatchSampler(seq, 0)


def test_filter_sampler():
    ds = SimpleDataset([5, 8, 1, 9, 4])
    sampler = FilterSampler(lambda v: v > 4, ds)
    assert list(sampler) == [0, 1, 3] and len(sampler) == 3


def test_interval_sampler():
    assert list(IntervalSampler(13, 3)) == [0, 3, 6, 9, 12, 1, 4, 7, 10, 2, 5, 8, 11]
    assert len(IntervalSampler(13, 3)) == 13
    no_roll = IntervalSampler(13, 3, rollover=False)
    assert list(no_roll) == [0, 3, 6, 9, 12] and len(no_roll) == 5
    with pytest.raises(ValueError, match=r"interval \(5\) must be smaller than length \(5\)"):
        IntervalSampler(5, 5)


# ----------------------------------------------------------------------------- batchify
def test_default_batchify_numbers_arrays_tuples():
    batch = default_batchify_fn([1, 2, 3])
    assert isinstance(batch, fw.nd.NDArray) and batch.dtype == np.int64
    images = [np.full((2, 2), i, np.uint8) for i in range(3)]
    data, label = default_batchify_fn([(img, i) for i, img in enumerate(images)])
    assert data.shape == (3, 2, 2) and data.dtype == np.uint8
    assert label.asnumpy().tolist() == [0, 1, 2]
    nds = default_batchify_fn([fw.nd.ones((2,)), fw.nd.zeros((2,))])
    assert nds.asnumpy().tolist() == [[1, 1], [0, 0]] and nds.dtype == np.float32
    floats = default_batchify_fn([0.5, 1.5])
    assert floats.dtype == np.float64                  # MXNet keeps NumPy's dtype


def test_default_batchify_errors():
    with pytest.raises(ValueError, match=r"sample 0 has shape \(3,\), sample 2 has shape \(4,\)"):
        default_batchify_fn([np.zeros(3), np.zeros(3), np.zeros(4)])
    with pytest.raises(TypeError, match="AsList"):
        default_batchify_fn(["a", "b"])


def test_stack():
    out = batchify.Stack()([[1, 2, 3, 4], [4, 5, 6, 8], [8, 9, 1, 2]])
    assert out.shape == (3, 4) and out.asnumpy()[1].tolist() == [4, 5, 6, 8]
    a = np.array([[1, 2], [3, 4]], np.float32)
    assert batchify.Stack()([a, a + 1]).shape == (2, 2, 2)
    nd = batchify.Stack()([fw.nd.array(a), fw.nd.array(a)])
    assert nd.shape == (2, 2, 2)
    x, y = batchify.Stack()([(a, 1), (a, 2)])
    assert x.shape == (2, 2, 2) and y.asnumpy().tolist() == [1, 2]


def test_pad_lists_and_options():
    out = batchify.Pad()([[1, 2, 3, 4], [4, 5, 6], [8, 2]])
    assert out.dtype == np.float32
    assert out.asnumpy().tolist() == [[1, 2, 3, 4], [4, 5, 6, 0], [8, 2, 0, 0]]
    padded, lengths = batchify.Pad(pad_val=-1, ret_length=True, round_to=3)(
        [np.array([1, 2], np.int32), np.array([3, 4, 5, 6], np.int32)])
    assert padded.dtype == np.int32 and lengths.dtype == np.int32
    assert padded.asnumpy().tolist() == [[1, 2, -1, -1, -1, -1], [3, 4, 5, 6, -1, -1]]
    assert lengths.asnumpy().tolist() == [2, 4]
    a = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    b = np.array([[5, 8], [1, 2]])
    out = batchify.Pad(axis=1, pad_val=-1, dtype="float32")([fw.nd.array(a), fw.nd.array(b)])
    assert out.dtype == np.float32
    assert out.asnumpy().tolist() == [[[1, 2, 3, 4], [5, 6, 7, 8]],
                                      [[5, 8, -1, -1], [1, 2, -1, -1]]]
    seqs = [np.ones((n, 3)) * n for n in (1, 3, 2)]
    out = batchify.Pad()(seqs).asnumpy()
    assert out.shape == (3, 3, 3)
    np.testing.assert_array_equal(out[2], [[2, 2, 2], [2, 2, 2], [0, 0, 0]])


def test_pad_errors():
    with pytest.raises(ValueError, match=r"must match outside axis 0.*\(2, 3\).*\(2, 4\)"):
        batchify.Pad()([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(TypeError, match="Group"):
        batchify.Pad()([(np.zeros(2), 1)])


def test_append_group_aslist():
    parts = batchify.Append()([[1, 2, 3, 4], [4, 5, 6], [8, 2]])
    assert [p.shape for p in parts] == [(1, 4), (1, 3), (1, 2)]
    flat = batchify.Append(expand=False)([np.zeros(2), np.zeros(5)])
    assert [p.shape for p in flat] == [(2,), (5,)]
    samples = [([1, 2, 3, 4], 0, "first"), ([5, 7], 1, "second")]
    padded, labels, text = batchify.Group(batchify.Pad(), batchify.Stack(),
                                          batchify.AsList())(samples)
    assert padded.asnumpy().tolist() == [[1, 2, 3, 4], [5, 7, 0, 0]]
    assert labels.asnumpy().tolist() == [0, 1] and text == ["first", "second"]
    same = batchify.Group([batchify.Pad(), batchify.Stack(), batchify.AsList()])(samples)
    assert same[2] == text
    with pytest.raises(ValueError, match="sample 0 has 3 fields, but the group has 2"):
        batchify.Group(batchify.Pad(), batchify.Stack())(samples)
    with pytest.raises(TypeError, match="function 1 is a int"):
        batchify.Group(batchify.Pad(), 3)
