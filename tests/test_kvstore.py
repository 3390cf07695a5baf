"""fw.kvstore: the single-process stores that sum the copies of a Parameter."""
import numpy
import pytest

import framework as fw
from framework import kvstore


def _copies(values, ctxs):
    return [fw.nd.array(v, ctx=c) for v, c in zip(values, ctxs)]


def test_create_names_and_errors():
    for name in ("local", "device", "Device", "local_allreduce_device"):
        kv = kvstore.create(name)
        assert kv.rank == 0 and kv.num_workers == 1
        assert kv.type == name.lower()
    with pytest.raises(ValueError, match="unknown type 'dist_async'.*'local'"):
        kvstore.create("dist_async")
    with pytest.raises(TypeError, match="expected a name"):
        kvstore.create(3)


def test_push_sums_device_copies_and_pull_broadcasts():
    ctxs = [fw.cpu(0), fw.cpu(1)]
    kv = kvstore.create("device")
    kv.init(3, fw.nd.zeros((2, 3)))
    a, b = numpy.arange(6.).reshape(2, 3), numpy.ones((2, 3))
    kv.push(3, _copies([a, b], ctxs))
    out = [fw.nd.zeros((2, 3), ctx=c) for c in ctxs]
    kv.pull(3, out=out)
    for o, c in zip(out, ctxs):
        assert o.context == c
        numpy.testing.assert_array_equal(o.asnumpy(), a + b)


def test_lists_of_keys_and_string_keys():
    kv = kvstore.create("local")
    kv.init(["w", "b"], [fw.nd.ones((2,)), fw.nd.ones((3,))])
    kv.push(["w", "b"], [[fw.nd.ones((2,)), fw.nd.ones((2,))], fw.nd.full((3,), 5)])
    w, b = fw.nd.zeros((2,)), fw.nd.zeros((3,))
    kv.pull(["w", "b"], out=[w, b])
    numpy.testing.assert_array_equal(w.asnumpy(), [2, 2])
    numpy.testing.assert_array_equal(b.asnumpy(), [5, 5, 5])


def test_pushpull_in_place_and_into_out():
    ctxs = [fw.cpu(0), fw.cpu(1)]
    kv = kvstore.create("device")
    grads = _copies([numpy.full(4, 1.), numpy.full(4, 2.)], ctxs)
    kv.pushpull(0, grads)
    for g in grads:
        numpy.testing.assert_array_equal(g.asnumpy(), numpy.full(4, 3.))
    out = [fw.nd.zeros(4, ctx=c) for c in ctxs]
    kv.pushpull(0, _copies([numpy.full(4, 1.), numpy.full(4, 1.)], ctxs), out=out)
    numpy.testing.assert_array_equal(out[1].asnumpy(), numpy.full(4, 2.))


def test_broadcast_copies_the_value_everywhere():
    kv = kvstore.create("device")
    out = [fw.nd.zeros((2,), ctx=c) for c in (fw.cpu(0), fw.cpu(1))]
    kv.broadcast("k", fw.nd.array([4, 5]), out=out)
    for o in out:
        numpy.testing.assert_array_equal(o.asnumpy(), [4, 5])


def test_errors_name_the_key_and_shapes():
    kv = kvstore.create("local")
    with pytest.raises(KeyError, match="key 7 was not initialized"):
        kv.push(7, fw.nd.ones((2,)))
    kv.init(7, fw.nd.ones((2,)))
    with pytest.raises(ValueError, match="already initialized"):
        kv.init(7, fw.nd.ones((2,)))
    with pytest.raises(ValueError, match=r"holds shape \(2,\), got \(3,\)"):
        kv.push(7, fw.nd.ones((3,)))
    with pytest.raises(ValueError, match=r"holds shape \(2,\), output has shape \(5,\)"):
        kv.pull(7, out=fw.nd.zeros((5,)))
    with pytest.raises(ValueError, match="2 keys need a list of 2 values"):
        kv.push([1, 2], fw.nd.ones((2,)))


def test_optimizer_on_the_store_updates_the_stored_weight():
    kv = kvstore.create("device")
    kv.set_optimizer(fw.optimizer.SGD(learning_rate=0.5))
    kv.init(0, fw.nd.array([1., 2.]))
    kv.push(0, [fw.nd.array([1., 1.]), fw.nd.array([1., 3.], ctx=fw.cpu(1))])
    w = fw.nd.zeros((2,))
    kv.pull(0, out=w)
    numpy.testing.assert_allclose(w.asnumpy(), [1 - 0.5 * 2, 2 - 0.5 * 4])
