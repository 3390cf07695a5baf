"""DLPack: zero-copy exchange with NumPy and PyTorch (and CuPy on a GPU).

Every exchange is checked by writing through one view and reading through the other,
in both directions. On the strict gpu stand-in (no GPU here) the tests check what the
concept allows without device memory: the device the array reports, that no host
consumer gets a view of device data, NDArray-to-NDArray sharing, and the import path
through the gpu context's array module (``ctx.xp.from_dlpack``) with a producer that
reports a CUDA device; on real CuPy the same tests use a CuPy array.
"""
import numpy as np
import pytest

import framework as fw
from framework.ndarray import dlpack as dl

from strict_backend import strict

torch = pytest.importorskip("torch")

STRICT_GPU = fw.gpu(0).xp is strict


def test_numpy_from_dlpack_shares_memory_both_ways():
    x = fw.nd.array([[1, 2, 3], [4, 5, 6]])
    a = np.from_dlpack(x)
    assert a.shape == (2, 3) and a.dtype == np.float32 and a.flags.writeable
    a[0, 1] = 20                       # NumPy writes, the NDArray reads
    assert x.asnumpy()[0, 1] == 20
    x += 1                             # the NDArray writes, NumPy reads
    np.testing.assert_array_equal(a, [[2, 21, 4], [5, 6, 7]])


def test_from_dlpack_of_numpy_shares_memory_both_ways():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)
    x = fw.nd.from_dlpack(a)
    assert x.context == fw.cpu(0) and x.dtype == np.float64 and x.shape == (3, 4)
    x[1] = -1                          # the NDArray writes
    np.testing.assert_array_equal(a[1], [-1, -1, -1, -1])
    a[2, 3] = 99                       # NumPy writes
    assert x.asnumpy()[2, 3] == 99


def test_torch_from_dlpack_shares_memory_both_ways():
    x = fw.nd.arange(6).reshape((2, 3))
    t = torch.from_dlpack(x)
    assert t.shape == (2, 3) and t.dtype == torch.float32
    t[1, 2] = 50
    assert x.asnumpy()[1, 2] == 50
    x *= 2
    assert t[1, 2].item() == 100 and t[0, 1].item() == 2


def test_from_dlpack_of_torch_keeps_strides_and_shares_memory():
    t = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()   # (4, 3), strides (1, 4)
    x = fw.nd.from_dlpack(t)
    assert x.shape == (4, 3) and x.data.strides == (4, 16)
    np.testing.assert_array_equal(x.asnumpy(), t.numpy())
    t[0, 2] = 77                        # torch writes
    assert x.asnumpy()[0, 2] == 77
    x += 1                              # the NDArray writes through the strided view
    assert t[0, 2].item() == 78 and t[3, 0].item() == 4
    np.testing.assert_array_equal((x * 2).asnumpy(), t.numpy() * 2)   # ops read strides


def test_export_of_a_strided_view_keeps_strides():
    x = fw.nd.arange(12).reshape((3, 4))
    xt = x.T                            # a view, strides (4, 16) bytes
    t = torch.from_dlpack(xt)
    assert t.shape == (4, 3) and t.stride() == (1, 4)
    t[3, 2] = -5
    assert x.asnumpy()[2, 3] == -5


@pytest.mark.parametrize("dtype", ["float16", "float64", "int8", "uint8", "int32", "int64",
                                   "bool"])
def test_dtypes_round_trip(dtype):
    a = (np.arange(6) % 2).astype(dtype).reshape(2, 3)
    x = fw.nd.from_dlpack(a)
    assert x.dtype == np.dtype(dtype) and x.shape == (2, 3)
    back = np.from_dlpack(x)
    assert back.dtype == np.dtype(dtype)
    assert np.shares_memory(back, a)
    t = torch.from_dlpack(x)
    np.testing.assert_array_equal(t.numpy(), a)


def test_zero_dim_and_empty_arrays():
    s = fw.nd.from_dlpack(np.array(3.5, dtype=np.float32))
    assert s.shape == () and s.asscalar() == 3.5
    e = fw.nd.from_dlpack(np.zeros((0, 4), dtype=np.float32))
    assert e.shape == (0, 4)
    assert torch.from_dlpack(fw.nd.zeros((2, 0))).shape == (2, 0)


def test_mxnet_capsules_with_torch_utils_dlpack():
    x = fw.nd.array([1, 2, 3])
    t = torch.utils.dlpack.from_dlpack(x.to_dlpack_for_write())
    t += 10                              # torch writes through the capsule's view
    np.testing.assert_array_equal(x.asnumpy(), [11, 12, 13])
    r = torch.utils.dlpack.from_dlpack(fw.nd.to_dlpack_for_read(x))
    x[0] = 0                             # the NDArray writes, torch reads
    assert r[0].item() == 0


def test_capsule_round_trip_write_and_read_only():
    x = fw.nd.ones((2, 2))
    w = fw.nd.from_dlpack(fw.nd.to_dlpack_for_write(x))
    w += 1                               # MXNet's documented example: x becomes 2s
    np.testing.assert_array_equal(x.asnumpy(), np.full((2, 2), 2))
    r = fw.nd.from_dlpack(x.to_dlpack_for_read())
    x += 1                               # the reader sees later writes (same memory)
    np.testing.assert_array_equal(r.asnumpy(), np.full((2, 2), 3))
    with pytest.raises(ValueError, match="read-only"):
        r += 1                           # a read capsule gives a read-only view
    with pytest.raises(ValueError, match="read-only"):
        r[0, 0] = 5
    np.testing.assert_array_equal(x.asnumpy(), np.full((2, 2), 3))


def test_read_capsule_is_read_only_for_numpy_and_writable_capsule_is_not():
    x = fw.nd.arange(4)

    class Holder:                        # numpy.from_dlpack takes objects, not capsules
        def __init__(self, capsule):
            self.capsule = capsule

        def __dlpack__(self, **kwargs):
            return self.capsule

        def __dlpack_device__(self):
            return (1, 0)

    assert not np.from_dlpack(Holder(x.to_dlpack_for_read())).flags.writeable
    a = np.from_dlpack(Holder(x.to_dlpack_for_write()))
    a[0] = 9
    assert x.asnumpy()[0] == 9


def test_capsule_can_be_imported_once():
    capsule = fw.nd.array([1, 2]).to_dlpack_for_write()
    fw.nd.from_dlpack(capsule)
    with pytest.raises(ValueError, match="imported once"):
        fw.nd.from_dlpack(capsule)


def test_from_dlpack_refuses_other_objects():
    with pytest.raises(TypeError, match="from_dlpack: expected a DLPack capsule"):
        fw.nd.from_dlpack([1, 2, 3])
    with pytest.raises(TypeError, match="expected an NDArray"):
        fw.nd.to_dlpack_for_read(np.zeros(3))


def test_from_dlpack_refuses_unknown_devices():
    class OnMetal:
        def __dlpack__(self, **kwargs):
            raise AssertionError("must not be exported")

        def __dlpack_device__(self):
            return (8, 0)

    with pytest.raises(ValueError, match="Metal device 0"):
        fw.nd.from_dlpack(OnMetal())


def test_exported_array_counts_as_shared_for_autograd():
    x = fw.nd.ones((3,))
    t = torch.from_dlpack(x)
    y = fw.nd.ones((3,))
    y.attach_grad()
    with fw.autograd.record():
        with pytest.raises(RuntimeError, match="shares memory"):
            x += y                       # history would not match torch's writes
    assert t.sum().item() == 3


def test_requested_device_must_match():
    x = fw.nd.ones((2,))
    assert x.__dlpack_device__() == (1, 0)
    with pytest.raises(BufferError, match="copy across devices"):
        x.__dlpack__(dl_device=(2, 0))
    copied = np.from_dlpack(x, copy=True)         # copy=True: a copy, not a view
    copied[0] = 5
    assert x.asnumpy()[0] == 1


# ------------------------------------------------------------------ from_numpy
def test_from_numpy_zero_copy_shares_memory_and_locks_the_source():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = fw.nd.from_numpy(a, zero_copy=True)
    assert x.shape == (2, 3) and x.dtype == np.float32 and x.context == fw.cpu(0)
    x += 1                               # the NDArray writes, NumPy reads
    np.testing.assert_array_equal(a, np.arange(1, 7).reshape(2, 3))
    assert not a.flags.writeable         # MXNet's rule: the NDArray owns the memory now
    with pytest.raises(ValueError, match="read-only"):
        a[0, 0] = 5
    assert fw.nd.from_numpy(np.ones(2)).dtype == np.float64   # MXNet's default: zero-copy


def test_from_numpy_zero_copy_needs_c_contiguous():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    with pytest.raises(ValueError, match="C-contiguous"):
        fw.nd.from_numpy(a.T, zero_copy=True)
    assert a.flags.writeable             # nothing changed on refusal


def test_from_numpy_copy():
    a = np.arange(4, dtype=np.int32)
    x = fw.nd.from_numpy(a.T, zero_copy=False)
    assert x.dtype == np.int32
    x += 1
    np.testing.assert_array_equal(a, [0, 1, 2, 3])
    assert a.flags.writeable
    with pytest.raises(TypeError, match="numpy.ndarray"):
        fw.nd.from_numpy([1, 2])


# ------------------------------------------------------------- both contexts
def test_device_reported_and_ndarray_to_ndarray_shares(ctx):
    x = fw.nd.array([1, 2, 3], ctx=ctx)
    assert x.__dlpack_device__() == ((1, 0) if ctx.device_type == "cpu" else (2, 0))
    y = fw.nd.from_dlpack(x)
    assert y.context == ctx
    y += 1
    np.testing.assert_array_equal(x.asnumpy(), [2, 3, 4])


def test_device_array_is_never_viewed_from_the_host():
    x = fw.nd.ones((2,), ctx=fw.gpu(0))
    with pytest.raises((TypeError, BufferError)):   # strict: no capsule; CuPy: CUDA memory
        np.from_dlpack(x)
    with pytest.raises(BufferError, match="copy across devices"):
        x.__dlpack__(dl_device=(1, 0))


def test_import_of_a_cuda_tensor_goes_through_the_gpu_array_module():
    """A producer on CUDA device 0 lands on gpu(0), imported by ``gpu(0).xp``."""
    if STRICT_GPU:
        host = np.arange(3, dtype=np.float32)

        class OnCuda:                    # the strict stand-in keeps "device" data on the host
            def __dlpack__(self, **kwargs):
                return host.__dlpack__(**kwargs)

            def __dlpack_device__(self):
                return (2, 0)

        x = fw.nd.from_dlpack(OnCuda())
        assert x.context == fw.gpu(0) and isinstance(x.data, strict.ndarray)
        x += 1
        np.testing.assert_array_equal(host, [1, 2, 3])
    else:                                # real CuPy: both directions through CuPy
        import cupy
        c = cupy.arange(3, dtype=cupy.float32)
        x = fw.nd.from_dlpack(c)
        assert x.context == fw.gpu(0)
        x += 1
        np.testing.assert_array_equal(cupy.asnumpy(c), [1, 2, 3])
        back = cupy.from_dlpack(x)
        back += 1
        np.testing.assert_array_equal(x.asnumpy(), [2, 3, 4])


def test_dlpack_device_helper():
    assert dl.dlpack_device(fw.nd.zeros((1,))) == (1, 0)
