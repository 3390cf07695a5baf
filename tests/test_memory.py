"""Memory: the graph is freed after backward (no growth over many iterations, nodes
die); freed host arrays stay with the process (_host_memory.py)."""
import gc
import os
import subprocess
import sys
import tracemalloc
import weakref

import pytest

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


# ------------------------------------------------ host allocator (_host_memory.py)
_CHURN = """
import os, resource, sys
import numpy as np
import framework
from framework import _host_memory

def churn():                      # a step's mix: arrays of a few MB, freed out of order
    kept = []
    for i in range(40):
        a = np.ones(300_000 + 1000 * (i % 7), np.float32)
        b = np.ones(700_000, np.float32)
        kept.append(a * 2)
        del a
        if len(kept) > 3:
            kept.pop(0)
        b += 1

churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn()
print(_host_memory.TUNED, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _churn_faults(**env):
    environ = {k: v for k, v in os.environ.items()
               if k not in ("FRAMEWORK_HOST_MALLOC", "MALLOC_MMAP_THRESHOLD_",
                            "MALLOC_TRIM_THRESHOLD_")}
    environ.update(env)
    done = subprocess.run([sys.executable, "-c", _CHURN], env=environ, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    tuned, faults = done.stdout.split()
    return tuned == "True", int(faults)


def _glibc() -> bool:
    from framework import _host_memory
    return _host_memory._glibc() is not None


@pytest.mark.skipif(not _glibc(), reason="the thresholds are glibc's (Linux)")
def test_freed_arrays_stay_with_the_process_unless_told_otherwise():
    tuned, faults = _churn_faults()
    assert tuned and faults < 100, faults             # measured: 0
    tuned, faults = _churn_faults(FRAMEWORK_HOST_MALLOC="default")
    assert not tuned and faults > 1000, faults        # glibc's own thresholds: ~10,000
    tuned, _ = _churn_faults(MALLOC_TRIM_THRESHOLD_="1048576")
    assert not tuned                                   # the user's own choice is kept


def test_an_unknown_host_malloc_setting_is_refused_by_name(monkeypatch):
    from framework import _host_memory
    monkeypatch.setenv("FRAMEWORK_HOST_MALLOC", "huge")
    with pytest.raises(ValueError, match="FRAMEWORK_HOST_MALLOC='huge'"):
        _host_memory.keep_freed_memory()
