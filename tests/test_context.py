"""Devices: Context, the default context, moves between devices, the strict gpu backend.

Without a GPU, ``gpu(i)`` is backed by the strict test module (see conftest.py);
the last tests show that it really refuses NumPy, so that passing the op tests
on it means the code paths are device-agnostic.
"""
import importlib.util
import pickle
import sys
import threading

import numpy as np
import pytest

import framework as fw
from framework import autograd, nd
from framework.context import Context, set_array_module
from framework.test_utils import assert_almost_equal

from strict_backend import HostArrayError, StrictArray, strict

STRICT = fw.gpu(0).xp is strict          # False when the suite runs on real CuPy


# ------------------------------------------------------------------ Context
def test_contexts_are_interned_and_compare():
    assert fw.cpu() is fw.cpu(0) is Context("cpu", 0) is Context("cpu")
    assert fw.gpu(1) is Context("gpu", 1)
    assert fw.gpu() is fw.gpu(0)
    assert fw.gpu(0) == fw.gpu(0) and fw.gpu(0) != fw.gpu(1) and fw.cpu(0) != fw.gpu(0)
    assert Context(fw.gpu(1)) is fw.gpu(1)
    assert len({fw.cpu(0), fw.cpu(), fw.gpu(0), fw.gpu(1)}) == 3
    assert (fw.gpu(1).device_type, fw.gpu(1).device_id) == ("gpu", 1)
    assert pickle.loads(pickle.dumps(fw.gpu(1))) is fw.gpu(1)


def test_context_repr():
    assert repr(fw.cpu()) == "cpu(0)" and str(fw.gpu(2)) == "gpu(2)"
    assert repr(fw.Context("gpu", 1)) == "gpu(1)"


def test_unknown_device_type():
    with pytest.raises(ValueError, match=r"Context: unknown device type 'tpu'"):
        fw.Context("tpu", 0)


def test_with_context_sets_the_default():
    assert fw.current_context() is fw.cpu(0)
    with fw.gpu(0) as ctx:
        assert ctx is fw.gpu(0)
        assert fw.current_context() is fw.gpu(0)
        assert nd.zeros((2,)).context is fw.gpu(0)
        with fw.cpu(0):
            assert nd.ones((1,)).context is fw.cpu(0)
        assert nd.array([1]).context is fw.gpu(0)
    assert fw.current_context() is fw.cpu(0)
    assert nd.zeros((1,)).context is fw.cpu(0)


def test_with_the_same_context_nested():
    with fw.gpu(0):
        with fw.gpu(0):
            with fw.cpu(0):
                assert fw.current_context() is fw.cpu(0)
            assert fw.current_context() is fw.gpu(0)
        assert fw.current_context() is fw.gpu(0)
    assert fw.current_context() is fw.cpu(0)


def test_with_context_restores_after_an_exception():
    with pytest.raises(KeyError):
        with fw.gpu(1):
            raise KeyError
    assert fw.current_context() is fw.cpu(0)


def test_default_context_is_thread_local():
    seen = []
    inside, leave = threading.Event(), threading.Event()

    def worker():
        seen.append(fw.current_context())
        with fw.gpu(0):                    # the same Context object the main thread uses
            inside.set()
            leave.wait(5)
            seen.append(fw.current_context())
        seen.append(fw.current_context())

    with fw.gpu(0):
        t = threading.Thread(target=worker)
        t.start()
        assert inside.wait(5)
    assert fw.current_context() is fw.cpu(0)   # left while the worker is still inside
    leave.set()
    t.join(5)
    assert seen == [fw.cpu(0), fw.gpu(0), fw.cpu(0)]


def test_num_gpus():
    if importlib.util.find_spec("cupy") is None:
        assert fw.num_gpus() == 0
    else:
        import cupy
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception:
            count = 0
        assert fw.num_gpus() == count


def test_gpu_without_cupy_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)       # import cupy now fails
    old = set_array_module("gpu", None)                  # the real loader: CuPy
    try:
        with pytest.raises(RuntimeError, match=r"a gpu context needs CuPy, which is not "
                                               r"installed \(install it with: pip install "
                                               r"'framework\[gpu\]'\)"):
            nd.zeros((2,), ctx=fw.gpu(0))
        with pytest.raises(RuntimeError, match="needs CuPy"):
            nd.array([1., 2.]).as_in_context(fw.gpu(1))
        assert fw.num_gpus() == 0
    finally:
        set_array_module("gpu", old)
    assert nd.zeros((2,), ctx=fw.gpu(0)).context is fw.gpu(0)   # restored


# ------------------------------------------------------------ mixing devices
@pytest.mark.parametrize("op,name", [(lambda a, b: a + b, "add"), (lambda a, b: a * b, "multiply"),
                                     (nd.maximum, "maximum"), (lambda a, b: a < b, "lesser")])
def test_mixing_contexts_in_one_op_is_an_error(op, name):
    a = nd.ones((2, 3), ctx=fw.cpu(0))
    b = nd.ones((3,), ctx=fw.gpu(0))
    with pytest.raises(ValueError, match=rf"operator {name}: inputs live on different contexts "
                                         r"\['cpu\(0\)', 'gpu\(0\)'\] \(shapes \[\(2, 3\), "
                                         r"\(3,\)\]\); move them with as_in_context\(\) first"):
        op(a, b)
    with pytest.raises(ValueError, match=r"\['gpu\(0\)', 'cpu\(0\)'\]"):
        op(b, a)


def test_two_gpus_do_not_mix():
    with pytest.raises(ValueError, match=r"\['gpu\(0\)', 'gpu\(1\)'\]"):
        nd.ones((2,), ctx=fw.gpu(0)) + nd.ones((2,), ctx=fw.gpu(1))


def test_mixing_contexts_in_backward_head_gradient():
    x = nd.array([1., 2.], ctx=fw.gpu(0))
    x.attach_grad()
    with autograd.record():
        y = x * x
    with pytest.raises(ValueError, match=r"head gradient 0 is on cpu\(0\), its head on gpu\(0\)"):
        y.backward(nd.ones((2,)))


# ------------------------------------------------------------- moving data
@pytest.mark.parametrize("src,dst", [("cpu", "gpu"), ("gpu", "cpu"), ("gpu", "gpu1")])
def test_as_in_context_and_copyto_move_data(src, dst):
    contexts = {"cpu": fw.cpu(0), "gpu": fw.gpu(0), "gpu1": fw.gpu(1)}
    s, d = contexts[src], contexts[dst]
    a = nd.array([[1, 2], [3, 4]], ctx=s, dtype="float64")
    b = a.as_in_context(d)
    assert b.context is d and b.dtype is np.float64
    assert b.asnumpy().tolist() == [[1, 2], [3, 4]]
    c = a.copyto(d)
    assert c.context is d and c.asnumpy().tolist() == [[1, 2], [3, 4]]
    target = nd.zeros((2, 2), ctx=d)
    assert a.copyto(target) is target and target.asnumpy().tolist() == [[1, 2], [3, 4]]
    b += 1                                        # a real copy, not shared memory
    assert a.asnumpy().tolist() == [[1, 2], [3, 4]]
    if STRICT:
        expected = StrictArray if dst.startswith("gpu") else np.ndarray
        assert isinstance(b.data, expected) and isinstance(target.data, expected)


@pytest.mark.parametrize("src,dst", [("cpu", "gpu"), ("gpu", "cpu")])
def test_gradient_flows_back_across_a_copy(src, dst):
    s, d = (fw.cpu(0), fw.gpu(0)) if src == "cpu" else (fw.gpu(0), fw.cpu(0))
    x = nd.array([1., 2., 3.], ctx=s)
    x.attach_grad()
    with autograd.record():
        y = x.as_in_context(d)
        z = (y * y).sum() + (x * 1).as_in_context(d).sum()
    assert z.context is d
    z.backward()
    assert x.grad.context is s
    assert_almost_equal(x.grad, np.array([3., 5., 7.], dtype=np.float32))


def test_second_order_gradient_across_devices():
    x = nd.array([1., 2.], ctx=fw.cpu(0), dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = x.as_in_context(fw.gpu(0)) ** 3
        g = autograd.grad(y, [x], create_graph=True)[0]          # 3x^2, on cpu
    assert g.context is fw.cpu(0)
    g.backward()
    assert_almost_equal(x.grad, np.array([6., 12.]))


def test_copyto_target_on_another_device_while_recording():
    x = nd.array([1., 2.], ctx=fw.cpu(0))
    x.attach_grad()
    target = nd.zeros((2,), ctx=fw.gpu(0))
    with autograd.record():
        (x * 3).copyto(target)
        z = (target * target).sum()
    z.backward()
    assert_almost_equal(x.grad, np.array([18., 36.], dtype=np.float32))


def test_whole_training_step_on_gpu():
    ctx = fw.gpu(0)
    fw.random.seed(3)
    w = nd.random.normal(shape=(3,), ctx=ctx)
    w.attach_grad()
    xs = nd.array([[1., 2., 3.], [0., 1., 0.]], ctx=ctx)
    t = nd.array([1., 2.], ctx=ctx)
    for _ in range(200):
        with autograd.record():
            err = (xs * w.reshape((1, 3))).sum(axis=1) - t
            loss = (err * err).sum()
        loss.backward()
        w -= 0.05 * w.grad
    assert w.context is ctx and w.grad.context is ctx
    assert_almost_equal((xs * w.reshape((1, 3))).sum(axis=1), t.asnumpy(), rtol=1e-3, atol=1e-4)


# ------------------------------------------------ the strict backend is strict
needs_strict = pytest.mark.skipif(not STRICT, reason="gpu runs on real CuPy here")


@needs_strict
def test_strict_gpu_arrays_refuse_numpy():
    a = nd.array([1., 2.], ctx=fw.gpu(0))
    raw = a.data
    assert isinstance(raw, StrictArray)
    with pytest.raises((TypeError, ValueError)):
        np.asarray(raw)                               # no way into a host array
    with pytest.raises(HostArrayError, match="implicit conversion"):
        raw.__array__()
    with pytest.raises(TypeError):
        np.exp(raw)                                   # ufuncs refuse it
    with pytest.raises(TypeError):
        np.sum(raw)                                   # so do array functions
    with pytest.raises(TypeError, match=r"implicit conversion of an NDArray on gpu\(0\)"):
        np.asarray(a)                                 # and so does the NDArray around it
    with pytest.raises(HostArrayError, match="host NumPy array"):
        strict.add(raw, np.ones(2))                   # host arrays may not join device ones
    with pytest.raises(HostArrayError, match="host NumPy array"):
        raw + np.ones(2)
    assert strict.asnumpy(raw).tolist() == [1., 2.]  # only the explicit way out works
    assert a.asnumpy().tolist() == [1., 2.]


@needs_strict
def test_an_operator_calling_numpy_fails_on_gpu_only():
    # The suite's device-agnostic claim rests on this: an op written with numpy.<fn>
    # instead of self.xp.<fn> works on cpu and fails on the strict gpu backend.
    from framework.ndarray.operator import Operator

    class NumpyExp(Operator):
        name = "numpy_exp"

        def forward(self, x):
            return np.exp(x)

    class XpExp(Operator):
        name = "xp_exp"

        def forward(self, x):
            return self.xp.exp(x)

    host = nd.array([0., 1.])
    dev = nd.array([0., 1.], ctx=fw.gpu(0))
    assert_almost_equal(NumpyExp()(host), np.exp([0., 1.]).astype(np.float32))
    with pytest.raises(TypeError):
        NumpyExp()(dev)
    assert_almost_equal(XpExp()(dev), np.exp([0., 1.]).astype(np.float32))


@needs_strict
def test_host_array_slipped_into_a_device_op_fails():
    from framework.ndarray.operator import Operator

    class AddHostOnes(Operator):
        name = "add_host_ones"

        def forward(self, x):
            return x + np.ones(x.shape, dtype=x.dtype)     # forgot xp.asarray

    assert AddHostOnes()(nd.zeros((2,))).asnumpy().tolist() == [1., 1.]
    with pytest.raises(HostArrayError):
        AddHostOnes()(nd.zeros((2,), ctx=fw.gpu(0)))
