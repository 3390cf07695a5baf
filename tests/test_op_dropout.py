"""Dropout: train versus predict versus 'always', mask statistics, the mask shared along
axes, gradient = mask * scale, numeric orders 1 and 2 (the generator re-seeded inside
the call so every evaluation draws the same mask), torch with the mask recovered."""
import numpy as np
import pytest
import torch

import framework as fw
from framework import nd
from framework.test_utils import assert_almost_equal

from op_harness import OpCase, check, parametrize

SEED = 23


def _seeded(**kwargs):
    def call(x):
        fw.random.seed(SEED)
        return nd.Dropout(x, **kwargs)
    return call


def _torch_with_recovered_mask(**kwargs):
    """torch: x * mask, the mask the framework drew (recovered from a run on ones)."""
    def ref(x):
        with fw.autograd.train_mode():
            mask = _seeded(**kwargs)(nd.ones(tuple(x.shape))).asnumpy()
        return x * torch.from_numpy(mask)
    return ref


CASES = [
    OpCase("training p=0.5", _seeded(p=0.5), inputs=[(4, 5)], train=True,
           torch_ref=_torch_with_recovered_mask(p=0.5)),
    OpCase("training p=0.2 axes=(1,)", _seeded(p=0.2, axes=(1,)), inputs=[(3, 4, 2)], train=True,
           torch_ref=_torch_with_recovered_mask(p=0.2, axes=(1,))),
    OpCase("always, in predict mode", _seeded(p=0.4, mode="always"), inputs=[(3, 5)],
           torch_ref=_torch_with_recovered_mask(p=0.4, mode="always")),
    OpCase("predict mode is the identity", _seeded(p=0.5), inputs=[(3, 4)],
           numpy_ref=lambda x: x, torch_ref=lambda x: x),
    OpCase("p=0 in training is the identity", _seeded(p=0.0), inputs=[(3, 4)], train=True,
           numpy_ref=lambda x: x, torch_ref=lambda x: x),
]


@parametrize(CASES)
def test_against_torch_and_numeric(case, ctx):
    check(case, ctx)


def test_training_mask_statistics_and_gradient(ctx):
    p = 0.3
    x = nd.ones((200, 500), ctx=ctx)
    x.attach_grad()
    with fw.autograd.record():
        y = nd.Dropout(x, p=p)
    assert y._node.name == "Dropout" and y._node.parents[0][0] is x._node
    y.backward()
    yh = y.asnumpy()
    scale = np.float32(1 / (1 - p))
    assert set(np.unique(yh).tolist()) <= {0.0, float(scale)}
    dropped = (yh == 0).mean()
    assert abs(dropped - p) < 0.01                    # 100000 draws: sd ~ 0.0015
    assert abs(yh.mean() - 1.0) < 0.02                # inverted scaling keeps the mean
    assert_almost_equal(x.grad, yh, rtol=0, atol=0)   # gradient = mask * scale
    assert y.dtype == np.float32


def test_predict_mode_returns_a_copy_with_identity_gradient(ctx):
    x = nd.array(np.arange(6.0).reshape(2, 3), ctx=ctx)
    x.attach_grad()
    with fw.autograd.record(train_mode=False):
        y = nd.Dropout(x, p=0.9)
    assert y is not x
    y.backward()
    assert_almost_equal(y, x.asnumpy(), rtol=0, atol=0)
    assert_almost_equal(x.grad, np.ones((2, 3)), rtol=0, atol=0)
    y[:] = 0                                           # a new array, as in MXNet
    assert x.asnumpy()[1, 2] == 5.0


def test_mode_decides_train_versus_predict(ctx):
    x = nd.ones((50, 40), ctx=ctx)
    assert (nd.Dropout(x, p=0.5).asnumpy() == 1).all()               # predict: identity
    assert (nd.Dropout(x, p=0.5, mode="always").asnumpy() == 0).any()
    with fw.autograd.train_mode():
        assert (nd.Dropout(x, p=0.5).asnumpy() == 0).any()
    with fw.autograd.record():                                        # train_mode=True
        assert (nd.Dropout(x, p=0.5).asnumpy() == 0).any()
    with fw.autograd.record(train_mode=False):
        assert (nd.Dropout(x, p=0.5).asnumpy() == 1).all()


def test_axes_share_the_mask(ctx):
    x = nd.ones((6, 30, 4), ctx=ctx)
    with fw.autograd.train_mode():
        y = nd.Dropout(x, p=0.5, axes=(0, 2)).asnumpy()
        z = nd.Dropout(x, p=0.5, axes=-1).asnumpy()
    assert (y == y[:1, :, :1]).all()                   # constant along axes 0 and 2
    assert 0 < (y[0, :, 0] == 0).sum() < 30            # but varies along axis 1
    assert (z == z[:, :, :1]).all()
    assert 0 < (z[:, :, 0] == 0).sum() < 180


def test_seed_repeats_the_mask(ctx):
    x = nd.ones((8, 8), ctx=ctx)
    with fw.autograd.train_mode():
        first = _seeded(p=0.5)(x).asnumpy()
        second = _seeded(p=0.5)(x).asnumpy()
        third = nd.Dropout(x, p=0.5).asnumpy()
    assert (first == second).all()
    assert not (first == third).all()


def test_p_one_drops_everything(ctx):
    x = nd.ones((3, 4), ctx=ctx)
    x.attach_grad()
    with fw.autograd.record():
        y = nd.Dropout(x, p=1.0)
    y.backward()
    assert (y.asnumpy() == 0).all() and (x.grad.asnumpy() == 0).all()


def test_float16_and_float64_keep_their_dtype(ctx):
    for dtype in ("float16", "float64"):
        with fw.autograd.train_mode():
            y = nd.Dropout(nd.ones((4, 4), ctx=ctx, dtype=dtype), p=0.5)
        assert y.dtype == np.dtype(dtype)
        assert set(np.unique(y.asnumpy()).tolist()) <= {0.0, 2.0}


def test_out_argument(ctx):
    x = nd.ones((2, 3), ctx=ctx)
    out = nd.zeros((2, 3), ctx=ctx)
    assert nd.Dropout(x, p=0.5, out=out) is out
    assert (out.asnumpy() == 1).all()


@pytest.mark.parametrize("kwargs,error,match", [
    ({"p": 1.5}, ValueError, r"operator Dropout: p must be in \[0, 1\], got 1.5"),
    ({"p": -0.1}, ValueError, r"operator Dropout: p must be in \[0, 1\]"),
    ({"p": "0.5"}, TypeError, r"operator Dropout: p must be a number"),
    ({"mode": "train"}, ValueError, r"operator Dropout: mode must be one of \['training', "
                                    r"'always'\], got 'train'"),
    ({"axes": (2,)}, ValueError, r"operator Dropout: axis 2 in axes=\(2,\) is out of range "
                                 r"for data with 2 dimensions"),
])
def test_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        nd.Dropout(nd.ones((2, 3)), **kwargs)


def test_type_errors():
    with pytest.raises(TypeError, match=r"operator Dropout: expected a floating-point array, "
                                        r"got dtype int32 \(shape \(2,\)\)"):
        nd.Dropout(nd.array([1, 2], dtype="int32"))
    with pytest.raises(TypeError, match="operator Dropout: expected an NDArray"):
        nd.Dropout(np.ones(3))
