"""gpu(1): arrays and kernels go to the array's own device, as CuPy requires.

The strict backend keeps a current device (``strict.cuda.Device``) and refuses
an array of another device, as CuPy does, so these tests run without GPUs.
"""
import numpy as np
import pytest

import framework as fw
from framework import autograd, nd
from framework.test_utils import assert_almost_equal

from strict_backend import DeviceMismatchError, strict

pytestmark = pytest.mark.skipif(fw.gpu(0).xp is not strict,
                                reason="device placement is checked on the strict backend; "
                                       "real CuPy needs two GPUs")


def _device(a):
    return a.data.device


def test_creation_puts_arrays_on_their_device():
    ctx = fw.gpu(1)
    made = [nd.array([1, 2], ctx=ctx), nd.zeros((2,), ctx=ctx), nd.ones((2,), ctx=ctx),
            nd.full((2,), 3, ctx=ctx), nd.empty((2,), ctx=ctx), nd.arange(3, ctx=ctx),
            nd.linspace(0, 1, 3, ctx=ctx), nd.eye(2, ctx=ctx),
            nd.random.uniform(shape=(2,), ctx=ctx), nd.random.normal(shape=(2,), ctx=ctx),
            nd.random.randint(0, 5, shape=(2,), ctx=ctx)]
    assert [_device(a) for a in made] == [1] * len(made)
    assert _device(nd.random.shuffle(made[0])) == 1


def test_a_training_step_on_gpu1_stays_there():
    ctx = fw.gpu(1)
    w = nd.random.normal(shape=(3, 2), ctx=ctx)
    b = nd.zeros((2,), ctx=ctx)
    for p in (w, b):
        p.attach_grad()
    x = nd.array(np.arange(12).reshape(4, 3) / 10.0, ctx=ctx)
    y = nd.array([0, 1, 1, 0], ctx=ctx)
    with autograd.record():
        logits = nd.dot(x, w) + b
        loss = -nd.pick(nd.log_softmax(logits), y).mean()
    loss.backward()
    for p in (w, b):
        assert _device(p.grad) == 1
        p -= 0.1 * p.grad
        assert _device(p) == 1
    grads = autograd.grad
    with autograd.record():
        z = (w * w).sum()
    gw = grads(z, [w])[0]
    assert _device(gw) == 1
    assert_almost_equal(gw, 2 * w.asnumpy(), rtol=1e-6)
    x[0] = 5.0                                   # setitem on the device
    x[1:3] += 1.0
    assert _device(x) == 1 and float(x[0, 0].asscalar()) == 5.0


def test_copies_between_gpus_carry_gradients_back():
    a = nd.array([1.0, 2.0], ctx=fw.gpu(0))
    a.attach_grad()
    with autograd.record():
        b = a.as_in_context(fw.gpu(1)) * 3
        c = b.copyto(fw.gpu(0)).sum()
    assert _device(b) == 1 and _device(c) == 0
    c.backward()
    assert _device(a.grad) == 0
    assert_almost_equal(a.grad, np.array([3.0, 3.0]))


def test_the_strict_backend_refuses_an_array_of_another_device():
    x = nd.ones((2,), ctx=fw.gpu(1))
    with pytest.raises(DeviceMismatchError, match="device 1 was used while device 0 is current"):
        strict.exp(x.data)


_X = np.arange(1, 13, dtype=np.float64).reshape(3, 4) / 13.0
SWEEP = {
    # name: function of x (shape (3, 4), values in (0, 1)) on gpu(1)
    **{name: getattr(nd, name) for name in (
        "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "erf", "erfinv", "square", "abs",
        "floor", "sign", "softrelu", "softsign", "sum", "mean", "max", "min", "prod", "norm",
        "argmax", "flatten", "transpose", "softmax", "log_softmax", "sort", "argsort")},
    "clip": lambda x: nd.clip(x, 0.2, 0.8),
    "leaky_gelu": lambda x: nd.LeakyReLU(x, act_type="gelu"),
    "prelu": lambda x: nd.LeakyReLU(x, gamma=nd.ones((4,), ctx=x.context) * 0.1, act_type="prelu"),
    "reshape": lambda x: nd.reshape(x, (0, -4, 2, 2)),
    "swapaxes": lambda x: nd.swapaxes(x, 0, 1),
    "expand_squeeze": lambda x: nd.squeeze(nd.expand_dims(x, 0)),
    "concat": lambda x: nd.concat(x, x * 2, dim=1),
    "stack": lambda x: nd.stack(x, x, axis=0),
    "split": lambda x: nd.split(x, 2, axis=1)[1],
    "slice": lambda x: nd.slice(x, begin=(0, 1), end=(2, None)),
    "slice_axis": lambda x: nd.slice_axis(x, 1, 1, 3),
    "tile": lambda x: nd.tile(x, (2, 1)),
    "repeat": lambda x: nd.repeat(x, 2, axis=0),
    "flip": lambda x: nd.flip(x, 1),
    "pad": lambda x: nd.pad(nd.reshape(x, (1, 1, 3, 4)), mode="reflect", pad_width=(0, 0, 0, 0, 1, 1, 1, 1)),
    "diag": lambda x: nd.diag(x),
    "broadcast_to": lambda x: nd.broadcast_to(nd.sum(x, axis=0, keepdims=True), (3, 4)),
    "take": lambda x: nd.take(x, nd.array([2, 0, 2], ctx=x.context)),
    "pick": lambda x: nd.pick(x, nd.array([0, 3, 1], ctx=x.context)),
    "one_hot_mul": lambda x: nd.one_hot(nd.array([1, 0, 3], ctx=x.context), 4) * x,
    "topk": lambda x: nd.topk(x, k=2, ret_typ="value"),
    "getitem_advanced": lambda x: x[[2, 0, 2]],
    "getitem_mask": lambda x: x[(x > 0.5).astype("bool")],
    "dot": lambda x: nd.dot(x, x, transpose_b=True),
    "batch_dot": lambda x: nd.batch_dot(nd.reshape(x, (3, 2, 2)), nd.reshape(x, (3, 2, 2))),
    "gemm2": lambda x: nd.linalg.gemm2(x, x, transpose_a=True),
    "where": lambda x: nd.where(x > 0.5, x, x * 2),
    "maximum": lambda x: nd.maximum(x, 0.5) + nd.minimum(x, x * x),
    "cast": lambda x: x.astype("float32").astype("float64"),
}


@pytest.mark.parametrize("name", sorted(SWEEP))
def test_every_operator_and_its_gradient_run_on_gpu1(name):
    x = nd.array(_X, ctx=fw.gpu(1), dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = SWEEP[name](x)
        g, = autograd.grad((y * y).sum(), [x], create_graph=True)
        total = g.sum() + (x * 0).sum()      # a graph even where g is a constant 0
    assert _device(y) == 1 and _device(g) == 1
    total.backward()                         # second order, too
    assert _device(x.grad) == 1
