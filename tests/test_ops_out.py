"""MXNet's ``out=`` argument: every nd function can write its result into a given array."""
import numpy as np
import pytest

import framework as fw
from framework import autograd, nd
from framework.test_utils import assert_almost_equal


def test_out_receives_the_result_and_is_returned(ctx):
    x = nd.array([[1.0, 2.0], [3.0, 4.0]], ctx=ctx)
    y = nd.zeros((2, 2), ctx=ctx)
    version = y._version[0]
    assert nd.exp(x, out=y) is y and y._version[0] == version + 1
    assert_almost_equal(y, np.exp(x.asnumpy()), rtol=1e-6)
    assert nd.dot(x, x, out=y) is y
    assert_almost_equal(y, x.asnumpy() @ x.asnumpy(), rtol=1e-6)
    assert x.sum(axis=1, out=nd.zeros((2,), ctx=ctx)).shape == (2,)     # methods too


def test_out_casts_to_its_dtype_and_checks_its_shape(ctx):
    x = nd.array([1.5, 2.5], ctx=ctx)
    k = nd.zeros((2,), dtype="int32", ctx=ctx)
    nd.floor(x, out=k)
    assert k.dtype == np.int32 and k.asnumpy().tolist() == [1, 2]
    with pytest.raises(ValueError, match=r"exp: cannot write a result of shape \(2,\) into an "
                                         r"array of shape \(3,\)"):
        nd.exp(x, out=nd.zeros((3,), ctx=ctx))
    with pytest.raises(TypeError, match="operator split: out= needs a single result"):
        nd.split(nd.ones((2, 4), ctx=ctx), 2, out=nd.zeros((2, 2), ctx=ctx))
    with pytest.raises(TypeError, match="operator exp: out must be an NDArray, got ndarray"):
        nd.exp(x, out=np.zeros(2))


def test_out_while_recording_follows_the_in_place_rules(ctx):
    w = nd.array([1.0, 2.0], ctx=ctx)
    w.attach_grad()
    with autograd.record():
        h = w * 1
        nd.exp(w, out=h)                 # h now holds exp(w), with its history
        loss = h.sum()
        with pytest.raises(RuntimeError, match="in-place write to a variable"):
            nd.exp(h, out=w)
    loss.backward()
    assert_almost_equal(w.grad, np.exp(np.array([1.0, 2.0])), rtol=1e-6)


def test_every_operator_takes_out_where_it_is_defined():
    """out= is a parameter of each function itself, not a wrapper around it."""
    import inspect
    from framework.ndarray import ops
    several = {"split_v2", "moments", "histogram", "amp_multicast"}   # give lists: no out=
    other = {"from_numpy": "creates an array", "reset_arrays": "writes in place, returns None"}
    for name in set(ops.__all__) - several - set(other):
        function = getattr(ops, name)
        if not callable(function) or isinstance(function, type):
            continue
        assert "out" in inspect.signature(inspect.unwrap(function)).parameters, name
    assert nd.exp.__name__ == "exp" and "e ** data" in nd.exp.__doc__
