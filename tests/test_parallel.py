"""``ops/parallel.py``: work split over threads gives the same results, bit for bit.

The pool runs parts on the calling thread and on pool threads, reports the first
error, runs inline when nested or with one thread; relu
and its gradient (split above a size threshold) keep NaN's behaviour; the number
of threads changes no result.
"""
import threading

import numpy as np
import pytest

import framework as fw
from framework import autograd, nd
from framework.ndarray.ops import parallel
from framework.test_utils import assert_almost_equal, check_numeric_gradient


@pytest.fixture(autouse=True)
def restore_threads():
    yield
    parallel.set_num_threads(None)


def test_every_part_runs_once_and_the_pool_helps():
    parallel.set_num_threads(2)
    seen, threads = [], set()
    lock = threading.Lock()

    def work(i):
        with lock:
            seen.append(i)
            threads.add(threading.get_ident())
        threading.Event().wait(0.005)          # long enough for the pool thread to join in

    parallel.run_parts(8, work)
    assert sorted(seen) == list(range(8))
    assert len(threads) == 2


def test_one_thread_and_nested_calls_run_inline():
    parallel.set_num_threads(1)
    threads = set()
    parallel.run_parts(4, lambda i: threads.add(threading.get_ident()))
    assert threads == {threading.get_ident()}
    parallel.set_num_threads(2)
    inner = []

    def outer(i):
        me = threading.get_ident()
        parallel.run_parts(3, lambda j: inner.append(threading.get_ident() == me))

    parallel.run_parts(2, outer)
    assert inner == [True] * 6


def test_the_first_error_reaches_the_caller_once_no_part_runs():
    """Parts not started when a part fails are skipped; the caller returns only after
    the running ones have finished."""
    parallel.set_num_threads(2)
    running, done, lock = [0], [], threading.Lock()

    def work(i):
        with lock:
            running[0] += 1
        threading.Event().wait(0.002)
        with lock:
            running[0] -= 1
        if i == 1:
            raise KeyError("part 1 failed")
        done.append(i)

    with pytest.raises(KeyError, match="part 1 failed"):
        parallel.run_parts(6, work)
    assert running[0] == 0 and 1 not in done
    parallel.run_parts(2, lambda i: None)      # the pool still works


def test_thread_count_setting_and_errors():
    parallel.set_num_threads(3)
    assert parallel.num_threads() == 3
    parallel.set_num_threads(None)
    assert parallel.num_threads() >= 1
    for bad in (0, -1, 2.0, True, "2"):
        with pytest.raises(ValueError, match="set_num_threads: threads must be an int >= 1"):
            parallel.set_num_threads(bad)


def test_parts_depend_on_the_shapes_only():
    assert parallel.bounds(10, 3) == [0, 3, 6, 10]
    assert parallel.parts_for(128, 10 ** 9) == 8
    assert parallel.parts_for(3, 10 ** 9) == 3
    assert parallel.parts_for(128, 100, min_size=1000) == 1


def test_elementwise_splits_with_scalars_and_keeps_results():
    rng = np.random.RandomState(1)
    x = rng.standard_normal((64, 40, 30)).astype(np.float32)
    outs = []
    for threads in (1, 2):
        parallel.set_num_threads(threads)
        out = np.empty_like(x)
        parallel.elementwise(np, np.maximum, out, x, np.float32(0), min_size=1000)
        outs.append(out)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], np.maximum(x, 0))


def test_parts_follow_the_memory_order():
    """An array lying batch-last ((C, H, W, N) in memory, read as (N, C, H, W)) is cut
    along its outermost axis in memory, the channels, so that every part keeps whole
    contiguous runs; relu of it keeps that memory order and its values."""
    rng = np.random.RandomState(3)
    base = rng.standard_normal((20, 12, 12, 128)).astype(np.float32)
    x = base.transpose(3, 0, 1, 2)
    assert parallel._split_axis(x.shape, x.strides) == 1
    assert parallel._split_axis(x.shape) == 0 == parallel._split_axis(base.shape, base.strides)
    y = nd.relu(nd.transpose(nd.array(base), axes=(3, 0, 1, 2)))
    assert y._data.strides == x.strides
    np.testing.assert_array_equal(y.asnumpy(), np.maximum(x, 0))


def test_large_relu_and_its_gradients_split_the_same():
    """relu above the split size: forward, gradient, NaN passing through, second order."""
    rng = np.random.RandomState(2)
    xh = rng.standard_normal((64, 20, 12, 12)).astype(np.float32)
    xh[0, 0, 0, :3] = [np.nan, 0.0, -0.0]
    results = []
    for threads in (1, 2):
        parallel.set_num_threads(threads)
        x = nd.array(xh)
        x.attach_grad()
        with autograd.record():
            y = nd.relu(x)
        gy = nd.array(rng.standard_normal(xh.shape).astype(np.float32))
        y.backward(gy)
        results.append((y.asnumpy(), x.grad.asnumpy(), gy.asnumpy()))
        rng = np.random.RandomState(2)
        rng.standard_normal(xh.shape)
    (y1, g1, gy1), (y2, g2, _) = results
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)
    expected = np.where(xh > 0, gy1, 0).astype(np.float32)
    expected[0, 0, 0, 0] = np.nan                      # NaN stays NaN, in the gradient too
    np.testing.assert_array_equal(g1, expected)


def test_relu_gradient_is_differentiable_again(ctx):
    rng = np.random.RandomState(3)
    check_numeric_gradient(lambda x: nd.relu(x) * nd.relu(x) * x,
                           [rng.standard_normal((3, 4)) + 0.1], order=2, ctx=ctx)
    x = nd.array(rng.standard_normal((4, 5)), ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.relu(x)
        gx, = autograd.grad((y * y).sum(), [x], create_graph=True)
        z = (gx * gx).sum()
    z.backward()
    xh = x.asnumpy()
    assert_almost_equal(x.grad, 8 * np.maximum(xh, 0), rtol=1e-6, atol=1e-6)


def test_relu_gradient_keeps_its_mask_when_the_output_changes_later():
    """A recorded relu gradient keeps sign(y), so writing y afterwards (allowed once the
    first backward freed relu's node) cannot change the second derivative."""
    x = nd.array([[-1.0, 2.0, 3.0]])
    x.attach_grad()
    with autograd.record():
        y = nd.relu(x)
        gx, = autograd.grad(y.sum() * 1.0, [x], create_graph=True)
    y[:] = -5.0
    with autograd.record():
        total = (gx * x).sum()
    total.backward()
    assert_almost_equal(x.grad, np.array([[0.0, 1.0, 1.0]]))
    assert fw.nd.relu(nd.ones((2,))).shape == (2,)
