"""Pooling layers against torch.nn (forward and input gradients, float32), MXNet's repr and
names; ReflectionPad2D against torch.nn.ReflectionPad2d; PixelShuffle2D against
torch.nn.PixelShuffle, PixelShuffle1D/3D against NumPy of MXNet's definition."""
import numpy as np
import pytest
import torch

import framework as fw
from framework import autograd, nd
from framework.test_utils import assert_almost_equal, check_numeric_gradient

rng = np.random.RandomState(7)


def _r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def _nchw(t, dims):
    """A channels-last torch tensor as channels-first (and back with inverse=True)."""
    return t.permute(0, dims + 1, *range(1, dims + 1))


def _last(t, dims):
    return t.permute(0, *range(2, dims + 2), 1)


def run_both(layer, torch_fn, xh, ctx, tol=1e-5):
    """Forward and input gradient of ``layer`` and ``torch_fn`` under one random head."""
    x = nd.array(xh, ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = layer(x)
    head = _r(*y.shape)
    y.backward(nd.array(head, ctx=ctx))
    xt = torch.tensor(xh, requires_grad=True)
    yt = torch_fn(xt)
    yt.backward(torch.from_numpy(head))
    assert_almost_equal(y, yt.detach().numpy(), rtol=tol, atol=tol)
    assert_almost_equal(x.grad, xt.grad.numpy(), rtol=tol, atol=tol)


TN = torch.nn
LAYER_CASES = [
    ("MaxPool1D", lambda: fw.nn.MaxPool1D(3, 2, 1), TN.MaxPool1d(3, 2, 1), (2, 3, 9)),
    ("MaxPool1D NWC", lambda: fw.nn.MaxPool1D(2, layout="NWC"),
     lambda t: _last(TN.MaxPool1d(2)(_nchw(t, 1)), 1), (2, 8, 3)),
    ("MaxPool2D default", lambda: fw.nn.MaxPool2D(), TN.MaxPool2d(2), (2, 3, 8, 6)),
    ("MaxPool2D ceil", lambda: fw.nn.MaxPool2D((3, 3), 2, 1, ceil_mode=True),
     TN.MaxPool2d(3, 2, 1, ceil_mode=True), (2, 2, 8, 7)),
    ("MaxPool2D NHWC", lambda: fw.nn.MaxPool2D(2, layout="NHWC"),
     lambda t: _last(TN.MaxPool2d(2)(_nchw(t, 2)), 2), (2, 6, 4, 3)),
    ("MaxPool3D", lambda: fw.nn.MaxPool3D(2, (1, 2, 2)), TN.MaxPool3d(2, (1, 2, 2)),
     (1, 2, 4, 6, 6)),
    ("AvgPool1D pad", lambda: fw.nn.AvgPool1D(3, 2, 1), TN.AvgPool1d(3, 2, 1), (2, 3, 9)),
    ("AvgPool2D exclude pad ceil",
     lambda: fw.nn.AvgPool2D(3, 2, 1, ceil_mode=True, count_include_pad=False),
     TN.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 2, 8, 7)),
    ("AvgPool2D include pad", lambda: fw.nn.AvgPool2D(2, 1, 1),
     TN.AvgPool2d(2, 1, 1), (1, 2, 5, 4)),
    ("AvgPool3D NDHWC", lambda: fw.nn.AvgPool3D(2, layout="NDHWC"),
     lambda t: _last(TN.AvgPool3d(2)(_nchw(t, 3)), 3), (1, 4, 4, 6, 2)),
    ("GlobalMaxPool1D", fw.nn.GlobalMaxPool1D, TN.AdaptiveMaxPool1d(1), (2, 3, 7)),
    ("GlobalMaxPool2D", fw.nn.GlobalMaxPool2D, TN.AdaptiveMaxPool2d(1), (2, 3, 5, 6)),
    ("GlobalMaxPool3D", fw.nn.GlobalMaxPool3D, TN.AdaptiveMaxPool3d(1), (1, 2, 3, 4, 5)),
    ("GlobalAvgPool1D", fw.nn.GlobalAvgPool1D, TN.AdaptiveAvgPool1d(1), (2, 3, 7)),
    ("GlobalAvgPool2D", fw.nn.GlobalAvgPool2D, TN.AdaptiveAvgPool2d(1), (2, 3, 5, 6)),
    ("GlobalAvgPool2D NHWC", lambda: fw.nn.GlobalAvgPool2D(layout="NHWC"),
     lambda t: t.mean(dim=(1, 2), keepdim=True), (2, 5, 6, 3)),
    ("GlobalAvgPool3D", fw.nn.GlobalAvgPool3D, TN.AdaptiveAvgPool3d(1), (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("make,torch_fn,shape", [c[1:] for c in LAYER_CASES],
                         ids=[c[0] for c in LAYER_CASES])
def test_pooling_layers_match_torch(make, torch_fn, shape, ctx):
    layer = make()
    layer.initialize(ctx=ctx)                 # no Parameters: a no-op, as in MXNet
    run_both(layer, torch_fn, _r(*shape), ctx)


def test_pooling_layers_in_a_hybrid_sequential(ctx):
    net = fw.nn.HybridSequential()
    net.add(fw.nn.MaxPool2D(), fw.nn.AvgPool2D(2, 1), fw.nn.GlobalMaxPool2D())
    net.hybridize()
    xh = _r(2, 3, 8, 8)
    run_both(net, lambda t: TN.AdaptiveMaxPool2d(1)(TN.AvgPool2d(2, 1)(TN.MaxPool2d(2)(t))),
             xh, ctx)


def test_repr_as_mxnet():
    assert repr(fw.nn.MaxPool2D()) == ("MaxPool2D(size=(2, 2), stride=(2, 2), padding=(0, 0), "
                                       "ceil_mode=False, global_pool=False, pool_type=max, "
                                       "layout=NCHW)")
    assert repr(fw.nn.MaxPool1D(3, 2, 1)) == ("MaxPool1D(size=(3,), stride=(2,), padding=(1,), "
                                              "ceil_mode=False, global_pool=False, "
                                              "pool_type=max, layout=NCW)")
    assert repr(fw.nn.AvgPool3D(2, ceil_mode=True)) == (
        "AvgPool3D(size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0), ceil_mode=True, "
        "global_pool=False, pool_type=avg, layout=NCDHW)")
    assert repr(fw.nn.GlobalAvgPool2D()) == (
        "GlobalAvgPool2D(size=(1, 1), stride=(1, 1), padding=(0, 0), ceil_mode=True, "
        "global_pool=True, pool_type=avg, layout=NCHW)")
    assert repr(fw.nn.PixelShuffle1D(2)) == "PixelShuffle1D(2)"
    assert repr(fw.nn.PixelShuffle2D((2, 3))) == "PixelShuffle2D((2, 3))"
    assert repr(fw.nn.PixelShuffle3D(2)) == "PixelShuffle3D((2, 2, 2))"


def test_names_use_the_pool_alias():
    with fw.nn.HybridSequential(prefix="net_").name_scope():
        first, second = fw.nn.MaxPool2D(), fw.nn.GlobalAvgPool1D()
    assert (first.name, second.name) == ("net_pool0", "net_pool1")
    assert not list(first.collect_params().keys())


def test_avg_pool_count_include_pad_default_is_true():
    y = fw.nn.AvgPool2D(2, 1, 1)(nd.ones((1, 1, 2, 2)))
    assert_almost_equal(y, np.array([[[[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]]]]))


@pytest.mark.parametrize("make,words", [
    (lambda: fw.nn.MaxPool2D(layout="NCW"), "layout"),
    (lambda: fw.nn.AvgPool1D(layout="NCHW"), "layout"),
    (lambda: fw.nn.GlobalMaxPool3D(layout="NHWC"), "layout"),
    (lambda: fw.nn.MaxPool2D((2, 2, 2)), "pool_size"),
    (lambda: fw.nn.AvgPool3D((2, 2)), "pool_size"),
    (lambda: fw.nn.ReflectionPad2D((1, 1)), "padding"),
    (lambda: fw.nn.PixelShuffle2D((2, 2, 2)), "factor"),
    (lambda: fw.nn.PixelShuffle1D(0), "positive"),
])
def test_constructor_errors(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_wrong_input_names_the_operator():
    with pytest.raises(ValueError, match="Pooling"):
        fw.nn.MaxPool2D()(nd.zeros((1, 2, 5)))
    with pytest.raises(ValueError, match="PixelShuffle2D.*C\\*4"):
        fw.nn.PixelShuffle2D(2)(nd.zeros((1, 6, 2, 2)))


# ------------------------------------------------------------------ ReflectionPad2D
@pytest.mark.parametrize("padding,shape", [(1, (2, 3, 4, 5)), (3, (1, 2, 4, 6)), (0, (1, 1, 2, 2))])
def test_reflection_pad_matches_torch(padding, shape, ctx):
    layer = fw.nn.ReflectionPad2D(padding)
    run_both(layer, TN.ReflectionPad2d(padding), _r(*shape), ctx)


def test_reflection_pad_mxnet_pad_width():
    layer = fw.nn.ReflectionPad2D((0, 0, 0, 0, 1, 2, 2, 1))
    xh = _r(1, 2, 4, 4)
    y = layer(nd.array(xh))
    expected = TN.ReflectionPad2d((2, 1, 1, 2))(torch.from_numpy(xh))   # torch: (l, r, t, b)
    assert_almost_equal(y, expected.numpy())


def test_reflection_pad_second_order(ctx):
    layer = fw.nn.ReflectionPad2D(2)
    check_numeric_gradient(lambda x: nd.tanh(layer(x)) * layer(x),
                           [np.random.RandomState(0).standard_normal((1, 2, 3, 4))],
                           order=2, ctx=ctx)


# ------------------------------------------------------------------ PixelShuffle
def np_pixel_shuffle(x, factors):
    """MXNet's definition: channel c*F + flat(i1..in) -> pixel (d1*f1 + i1, ..., dn*fn + in)."""
    n, cf = x.shape[:2]
    spatial = x.shape[2:]
    dims = len(factors)
    c = cf // int(np.prod(factors))
    y = x.reshape((n, c) + tuple(factors) + spatial)
    order = [0, 1]
    for k in range(dims):
        order += [2 + dims + k, 2 + k]
    y = y.transpose(order)
    return y.reshape((n, c) + tuple(s * f for s, f in zip(spatial, factors)))


def test_pixel_shuffle_2d_matches_torch(ctx):
    run_both(fw.nn.PixelShuffle2D(2), TN.PixelShuffle(2), _r(2, 12, 3, 4), ctx)
    run_both(fw.nn.PixelShuffle2D(3), TN.PixelShuffle(3), _r(1, 9, 2, 2), ctx)


@pytest.mark.parametrize("layer,factors,shape", [
    (lambda: fw.nn.PixelShuffle1D(3), (3,), (2, 6, 5)),
    (lambda: fw.nn.PixelShuffle2D((2, 3)), (2, 3), (1, 12, 3, 5)),
    (lambda: fw.nn.PixelShuffle3D((2, 3, 1)), (2, 3, 1), (1, 12, 2, 3, 2)),
    (lambda: fw.nn.PixelShuffle3D(2), (2, 2, 2), (2, 16, 2, 1, 3)),
])
def test_pixel_shuffle_matches_mxnet_definition(layer, factors, shape, ctx):
    xh = _r(*shape)
    y = layer()(nd.array(xh, ctx=ctx))
    assert_almost_equal(y, np_pixel_shuffle(xh, factors), rtol=0, atol=0)


def test_pixel_shuffle_mxnet_doc_shapes():
    assert fw.nn.PixelShuffle1D(2)(nd.zeros((1, 8, 3))).shape == (1, 4, 6)
    assert fw.nn.PixelShuffle2D((2, 3))(nd.zeros((1, 12, 3, 5))).shape == (1, 2, 6, 15)
    assert fw.nn.PixelShuffle3D((2, 3, 4))(nd.zeros((1, 48, 3, 5, 7))).shape == (1, 2, 6, 15, 28)


def test_pixel_shuffle_gradients(ctx):
    """A permutation: the gradient is the head permuted back; order 2 through tanh."""
    layer = fw.nn.PixelShuffle3D((1, 2, 2))
    check_numeric_gradient(lambda x: nd.tanh(layer(x)),
                           [np.random.RandomState(1).standard_normal((1, 8, 2, 2, 1))],
                           order=2, ctx=ctx)
