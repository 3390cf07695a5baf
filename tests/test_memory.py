"""The graph is freed after backward: no growth over many iterations, nodes die."""
import gc
import tracemalloc
import weakref

from framework import autograd, nd
from framework.test_utils import assert_almost_equal


def _step(x, w):
    with autograd.record():
        y = (x * w + 1).sum()
    y.backward()


def test_ten_thousand_record_backward_iterations_keep_memory_flat():
    x = nd.array([[0.5, -1., 2.], [1., 0., -0.5]])
    w = nd.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    w.attach_grad()
    gc_was_enabled = gc.isenabled()
    gc.disable()                       # what is freed must be freed by reference counting
    try:
        for _ in range(1000):          # warm-up: caches, interned objects
            _step(x, w)
        objects = len(gc.get_objects())
        for _ in range(4000):
            _step(x, w)
        tracemalloc.start()            # traced: the last 5,000 (tracing costs ~5x time)
        try:
            base, _ = tracemalloc.get_traced_memory()
            for _ in range(5000):
                _step(x, w)
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        grown = len(gc.get_objects()) - objects
    finally:
        if gc_was_enabled:
            gc.enable()
    # a graph holds a few arrays and nodes (well over 100 bytes); 5,000 leaked graphs
    # would take megabytes, and 9,000 would leave tens of thousands of objects behind
    assert after - base < 100 * 1024, f"memory grew by {after - base} bytes over 5,000 steps"
    assert grown < 100, f"{grown} more objects after 9,000 steps"
    assert_almost_equal(w.grad, x.asnumpy())


def test_graph_nodes_die_after_backward():
    x = nd.array([1., 2., 3.])
    x.attach_grad()
    gc.disable()
    try:
        with autograd.record():
            a = x * 2
            b = nd.exp(a)
            y = (b * a).sum()
        node_refs = [weakref.ref(a._node), weakref.ref(b._node)]
        saved_ref = weakref.ref(a)
        del a, b
        assert all(r() is not None for r in node_refs)   # the graph keeps them alive
        assert saved_ref() is not None                    # a was saved for backward
        y.backward()
        assert all(r() is None for r in node_refs)        # freed, though y is still alive
        assert saved_ref() is None
    finally:
        gc.enable()
    assert y._node.freed


def test_graph_of_a_dropped_head_dies_without_backward():
    x = nd.array([1., 2.])
    x.attach_grad()
    gc.disable()
    try:
        with autograd.record():
            y = nd.exp(x * 3) * x
        ref = weakref.ref(y._node)
        del y
        assert ref() is None
    finally:
        gc.enable()


def test_retain_graph_keeps_the_graph_until_the_last_backward():
    x = nd.array([1., 2.])
    x.attach_grad()
    with autograd.record():
        a = x * x
        y = (a * x).sum()
    ref = weakref.ref(a._node)
    del a
    y.backward(retain_graph=True)
    assert ref() is not None
    y.backward()
    assert ref() is None


def test_variables_do_not_keep_their_graphs_alive():
    x = nd.array([1., 2.])
    x.attach_grad()
    gc.disable()
    try:
        with autograd.record():
            y = x * x
        ref = weakref.ref(y._node)
        del y
        assert ref() is None                  # the leaf does not point to its consumers
        leaf = weakref.ref(x._node)
        assert leaf() is not None
    finally:
        gc.enable()
