"""Convolution layers against torch.nn.Conv*d / ConvTranspose*d with the same weights:
forward, input and parameter gradients in float32; in_channels inferred from the first
input; MXNet's names, weight shapes and reprs; argument errors."""
import numpy as np
import pytest
import torch

import framework as fw
from framework import autograd, nd
from framework.test_utils import assert_almost_equal

rng = np.random.RandomState(7)


def _r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def _first(a):
    """Channel-last (N, *S, C) -> channel-first, for torch."""
    return a.movedim(-1, 1)


def _last(a):
    return a.movedim(1, -1)


# (framework layer, input shape, torch module builder, channel-last?)
CASES = [
    ("Conv1D stride 2 pad 1", lambda: fw.nn.Conv1D(4, 3, strides=2, padding=1), (2, 3, 9),
     lambda: torch.nn.Conv1d(3, 4, 3, stride=2, padding=1), False),
    ("Conv2D groups, dilation, rectangular", lambda: fw.nn.Conv2D(
        6, (3, 2), strides=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2), (2, 4, 7, 6),
     lambda: torch.nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2),
                             groups=2), False),
    ("Conv2D relu", lambda: fw.nn.Conv2D(3, 3, padding=1, activation="relu"), (2, 2, 5, 5),
     lambda: torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU()),
     False),
    ("Conv2D NHWC", lambda: fw.nn.Conv2D(4, 3, padding=1, layout="NHWC"), (2, 5, 4, 3),
     lambda: torch.nn.Conv2d(3, 4, 3, padding=1), True),
    ("Conv3D no bias", lambda: fw.nn.Conv3D(3, 2, strides=(1, 2, 1), padding=1,
                                            use_bias=False), (1, 2, 4, 5, 3),
     lambda: torch.nn.Conv3d(2, 3, 2, stride=(1, 2, 1), padding=1, bias=False), False),
    ("Conv3D NDHWC", lambda: fw.nn.Conv3D(2, (2, 1, 2), layout="NDHWC"), (1, 3, 3, 4, 2),
     lambda: torch.nn.Conv3d(2, 2, (2, 1, 2)), True),
    ("Conv1DTranspose stride 2 output_padding 1",
     lambda: fw.nn.Conv1DTranspose(3, 3, strides=2, padding=1, output_padding=1), (2, 4, 5),
     lambda: torch.nn.ConvTranspose1d(4, 3, 3, stride=2, padding=1, output_padding=1), False),
    ("Conv2DTranspose groups 2", lambda: fw.nn.Conv2DTranspose(
        4, 3, strides=2, padding=1, output_padding=1, groups=2), (1, 4, 3, 3),
     lambda: torch.nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1,
                                      groups=2), False),
    ("Conv2DTranspose NHWC dilation", lambda: fw.nn.Conv2DTranspose(
        2, (2, 3), dilation=(2, 1), layout="NHWC"), (2, 3, 2, 3),
     lambda: torch.nn.ConvTranspose2d(3, 2, (2, 3), dilation=(2, 1)), True),
    ("Conv3DTranspose", lambda: fw.nn.Conv3DTranspose(2, (2, 3, 2), strides=(2, 1, 1)),
     (1, 3, 2, 3, 2), lambda: torch.nn.ConvTranspose3d(3, 2, (2, 3, 2), stride=(2, 1, 1)),
     False),
]


def _torch_conv(module):
    return module[0] if isinstance(module, torch.nn.Sequential) else module


@pytest.mark.parametrize("name,make,shape,make_torch,channel_last", CASES,
                         ids=[c[0] for c in CASES])
def test_layer_matches_torch(name, make, shape, make_torch, channel_last, ctx):
    layer = make()
    layer.initialize(fw.init.Xavier(), ctx=ctx)
    xh = _r(*shape)
    x = nd.array(xh, ctx=ctx)
    layer(x)                                      # infers in_channels
    ref = make_torch()
    conv = _torch_conv(ref)
    weight = layer.weight.data().asnumpy()
    with torch.no_grad():
        w = torch.from_numpy(weight)
        conv.weight.copy_(_first(w) if channel_last else w)
        if layer.bias is not None:
            bias = _r(*layer.bias.shape)
            layer.bias.set_data(nd.array(bias, ctx=ctx))
            conv.bias.copy_(torch.from_numpy(bias))
        else:
            assert conv.bias is None
    x.attach_grad()
    with autograd.record():
        y = layer(x)
    head = _r(*y.shape)
    y.backward(nd.array(head, ctx=ctx))
    xt = torch.tensor(xh, requires_grad=True)
    yt = ref(_first(xt)) if channel_last else ref(xt)
    yt = _last(yt) if channel_last else yt
    yt.backward(torch.from_numpy(head))
    tol = dict(rtol=1e-4, atol=1e-5)
    assert_almost_equal(y, yt.detach().numpy(), names=(name, "torch"), **tol)
    assert_almost_equal(x.grad, xt.grad.numpy(), names=(f"{name} dx", "torch"), **tol)
    wgrad = _last(conv.weight.grad) if channel_last else conv.weight.grad
    assert_almost_equal(layer.weight.grad(), wgrad.numpy(), names=(f"{name} dW", "torch"),
                        **tol)
    if layer.bias is not None:
        assert_almost_equal(layer.bias.grad(), conv.bias.grad.numpy(),
                            names=(f"{name} db", "torch"), **tol)


def test_in_channels_inferred_from_the_first_input():
    conv = fw.nn.Conv2D(8, 3, groups=2)
    assert conv.weight.shape == (8, 0, 3, 3)
    conv.initialize()
    y = conv(nd.ones((2, 6, 5, 5)))
    assert conv.weight.shape == (8, 3, 3, 3) and y.shape == (2, 8, 3, 3)
    nhwc = fw.nn.Conv2D(4, (3, 2), layout="NHWC")
    assert nhwc.weight.shape == (4, 3, 2, 0)
    nhwc.initialize()
    nhwc(nd.ones((1, 5, 5, 3)))
    assert nhwc.weight.shape == (4, 3, 2, 3)
    up = fw.nn.Conv2DTranspose(6, 3, groups=3)
    assert up.weight.shape == (0, 2, 3, 3)
    up.initialize()
    assert up(nd.ones((1, 3, 2, 2))).shape == (1, 6, 4, 4)
    assert up.weight.shape == (3, 2, 3, 3)


def test_known_in_channels_initialize_at_once():
    conv = fw.nn.Conv1D(4, 3, in_channels=2)
    conv.initialize()
    assert conv.weight.data().shape == (4, 2, 3) and conv.bias.data().shape == (4,)
    with pytest.raises(ValueError, match=r"weight has shape \(4, 2, 3\), expected \(4, 5, 3\)"):
        conv(nd.ones((1, 5, 7)))


def test_inference_errors_name_the_block():
    conv = fw.nn.Conv2D(4, 3, groups=2)
    conv.initialize()
    with pytest.raises(ValueError, match=r"conv\d+_.*has 3 channels, not divisible by "
                                         r"groups=2"):
        conv(nd.ones((1, 3, 5, 5)))


def test_names_and_parameters():
    conv = fw.nn.Conv2D(4, 3)
    up = fw.nn.Conv2DTranspose(4, 3, use_bias=False)
    assert conv.prefix.startswith("conv") and up.prefix.startswith("conv")
    assert list(conv.collect_params()) == [conv.prefix + "weight", conv.prefix + "bias"]
    assert list(up.collect_params()) == [up.prefix + "weight"]
    assert conv.bias.init == "zeros"
    act = fw.nn.Conv1D(2, 3, activation="tanh")
    assert act.act is not None and "tanh" in act.act.prefix


@pytest.mark.parametrize("layer,text", [
    (lambda: fw.nn.Conv2D(6, 5, padding=2, in_channels=3, activation="relu"),
     "Conv2D(3 -> 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2), Activation(relu))"),
    (lambda: fw.nn.Conv2D(8, 3, strides=2, groups=2, use_bias=False),
     "Conv2D(None -> 8, kernel_size=(3, 3), stride=(2, 2), groups=2, bias=False)"),
    (lambda: fw.nn.Conv1D(4, 3, dilation=2, in_channels=2),
     "Conv1D(2 -> 4, kernel_size=(3,), stride=(1,), dilation=(2,))"),
    (lambda: fw.nn.Conv3D(6, 2, in_channels=6, groups=3),
     "Conv3D(2 -> 6, kernel_size=(2, 2, 2), stride=(1, 1, 1), groups=3)"),
    (lambda: fw.nn.Conv2D(4, 3, layout="NHWC", in_channels=5),
     "Conv2D(5 -> 4, kernel_size=(3, 3), stride=(1, 1))"),
    (lambda: fw.nn.Conv2DTranspose(3, 4, strides=2, padding=1, output_padding=1,
                                   in_channels=8),
     "Conv2DTranspose(8 -> 3, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), "
     "output_padding=(1, 1))"),
    (lambda: fw.nn.Conv1DTranspose(4, 3),
     "Conv1DTranspose(None -> 4, kernel_size=(3,), stride=(1,))"),
])
def test_repr(layer, text):
    assert repr(layer()) == text


def test_repr_inside_a_sequential():
    net = fw.nn.HybridSequential()
    with net.name_scope():
        net.add(fw.nn.Conv2D(6, 5, in_channels=1, activation="relu"))
    assert "(0): Conv2D(1 -> 6, kernel_size=(5, 5), stride=(1, 1), Activation(relu))" \
        in repr(net)


@pytest.mark.parametrize("make,words", [
    (lambda: fw.nn.Conv1D(4, 3, layout="NWC"), r"Conv1D: only supports 'NCW' layout"),
    (lambda: fw.nn.Conv2D(4, 3, layout="NCW"),
     r"Conv2D: only supports 'NCHW' and 'NHWC' layout"),
    (lambda: fw.nn.Conv2D(4, (3, 3, 3)), r"Conv2D: kernel_size must be a number or a list of "
                                         r"2 ints"),
    (lambda: fw.nn.Conv3D(4, 3, strides=(1, 1)), r"Conv3D: strides must be a number or a "
                                                 r"list of 3 ints"),
    (lambda: fw.nn.Conv2D(6, 3, groups=4), r"Conv2D: groups=4 must be a positive int "
                                           r"dividing channels=6"),
    (lambda: fw.nn.Conv2D(4, 3, in_channels=3, groups=2), r"in_channels=3 must be 0"),
    (lambda: fw.nn.Conv2DTranspose(4, 3, output_padding=(1, 1, 1)),
     r"Conv2DTranspose: output_padding must be a number or a list of 2 ints"),
])
def test_argument_errors(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_hybridize_gives_the_same_result():
    conv = fw.nn.Conv2D(3, 3, padding=1, in_channels=2)
    conv.initialize()
    x = nd.array(_r(1, 2, 4, 4))
    before = conv(x).asnumpy()
    conv.hybridize()
    assert_almost_equal(conv(x), before, rtol=0, atol=0)
