"""UpSampling: nearest (one and several inputs, concat and sum) against NumPy and torch,
bilinear against torch's depthwise transposed convolution; gradients of order 1 and 2;
argument errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework as fw
from framework import nd

from op_harness import OpCase, check, parametrize


def np_up(x, s):
    return x.repeat(s, axis=2).repeat(s, axis=3)


def t_up(x, s):
    return TF.interpolate(x, scale_factor=s, mode="nearest")


CASES = [
    OpCase("scale 2", lambda x: nd.UpSampling(x, scale=2, sample_type="nearest"),
           inputs=[(2, 3, 3, 4)], numpy_ref=lambda x: np_up(x, 2),
           torch_ref=lambda x: t_up(x, 2)),
    OpCase("scale 3, num_args=1", lambda x: nd.UpSampling(x, scale=3, num_args=1),
           inputs=[(1, 2, 2, 3)], numpy_ref=lambda x: np_up(x, 3),
           torch_ref=lambda x: t_up(x, 3)),
    OpCase("scale 1 copies", lambda x: nd.UpSampling(x, scale=1),
           inputs=[(1, 2, 2, 3)], numpy_ref=lambda x: x, torch_ref=lambda x: x * 1),
    OpCase("two inputs concatenated, each to the first's output size",
           lambda a, b: nd.UpSampling(a, b, scale=2, num_args=2),
           inputs=[(2, 2, 4, 2), (2, 3, 2, 1)],
           numpy_ref=lambda a, b: np.concatenate([np_up(a, 2), np_up(b, 4)], axis=1),
           torch_ref=lambda a, b: torch.cat([t_up(a, 2), t_up(b, 4)], dim=1)),
    OpCase("three inputs summed",
           lambda a, b, c: nd.UpSampling(a, b, c, scale=1, multi_input_mode="sum"),
           inputs=[(1, 2, 4, 4), (1, 2, 2, 2), (1, 2, 1, 1)],
           numpy_ref=lambda a, b, c: a + np_up(b, 2) + np_up(c, 4),
           torch_ref=lambda a, b, c: a + t_up(b, 2) + t_up(c, 4)),
    OpCase("1x1 first input summed with another (the repeat is a new array)",
           lambda a, b: nd.UpSampling(a, b, scale=2, multi_input_mode="sum"),
           inputs=[(2, 2, 1, 1), (2, 2, 1, 1)],
           numpy_ref=lambda a, b: np_up(a, 2) + np_up(b, 2),
           torch_ref=lambda a, b: t_up(a, 2) + t_up(b, 2)),
    OpCase("square of an upsampling (second order through the gradient's backward)",
           lambda x: nd.square(nd.UpSampling(x, scale=2)),
           inputs=[(1, 2, 3, 2)], numpy_ref=lambda x: np_up(x, 2) ** 2,
           torch_ref=lambda x: t_up(x, 2) ** 2),
]


def bilinear_kernel(channels, scale):
    """MXNet's init.Bilinear for the (C, 1, k, k) weight of UpSampling 'bilinear'."""
    k = 2 * scale - scale % 2
    f = math.ceil(k / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    x = np.arange(k)
    row = 1 - np.abs(x / f - c)
    return np.broadcast_to(np.outer(row, row), (channels, 1, k, k)).copy()


def t_bilinear(scale):
    return lambda x, w: TF.conv_transpose2d(x, w, stride=scale, padding=scale // 2,
                                            groups=x.shape[1])


BILINEAR_CASES = [
    OpCase(f"bilinear scale {s}",
           lambda x, w, s=s: nd.UpSampling(x, w, scale=s, sample_type="bilinear", num_args=2,
                                           num_filter=2),
           inputs=[(1, 2, 3, 3), (2, 1, 2 * s - s % 2, 2 * s - s % 2)], torch_ref=t_bilinear(s))
    for s in (2, 3)
]


@parametrize(CASES + BILINEAR_CASES)
def test_upsampling(case, ctx):
    check(case, ctx)


def test_bilinear_kernel_interpolates_inside():
    """With MXNet's bilinear kernel, away from the border, scale 2 is bilinear
    interpolation (PyTorch's, align_corners=False)."""
    xh = np.random.RandomState(0).standard_normal((1, 2, 5, 6)).astype(np.float32)
    w = bilinear_kernel(2, 2).astype(np.float32)
    y = nd.UpSampling(nd.array(xh), nd.array(w), scale=2, sample_type="bilinear").asnumpy()
    assert y.shape == (1, 2, 10, 12)
    ref = TF.interpolate(torch.from_numpy(xh), scale_factor=2, mode="bilinear",
                         align_corners=False).numpy()
    np.testing.assert_allclose(y[..., 1:-1, 1:-1], ref[..., 1:-1, 1:-1], rtol=1e-5, atol=1e-6)


def test_one_graph_node_per_call(ctx):
    a = nd.ones((1, 2, 2, 2), ctx=ctx)
    b = nd.ones((1, 1, 1, 1), ctx=ctx)
    a.attach_grad()
    b.attach_grad()
    with fw.autograd.record():
        y = nd.UpSampling(a, b, scale=2)
    assert y.shape == (1, 3, 4, 4)
    assert y._node.name == "UpSampling"
    assert [edge[0] for edge in y._node.parents] == [a._node, b._node]
    y.backward()
    np.testing.assert_array_equal(a.grad.asnumpy(), np.full((1, 2, 2, 2), 4.0))
    np.testing.assert_array_equal(b.grad.asnumpy(), np.full((1, 1, 1, 1), 16.0))


def test_upsampling_a_1x1_map_gives_a_new_writable_array(ctx):
    """A 1x1 map repeated is not a read-only broadcast view of its input."""
    x = nd.array(np.arange(2.0).reshape(2, 1, 1, 1), ctx=ctx)
    y = nd.UpSampling(x, scale=2)
    x[:] = 7
    np.testing.assert_array_equal(y.asnumpy(), np_up(np.arange(2.0).reshape(2, 1, 1, 1), 2))
    y += 1
    np.testing.assert_array_equal(y.asnumpy(), np_up(np.arange(2.0).reshape(2, 1, 1, 1), 2) + 1)


def test_only_the_wanted_input_gets_a_gradient(ctx):
    a = nd.ones((1, 2, 2, 2), ctx=ctx)
    b = nd.ones((1, 1, 1, 1), ctx=ctx)
    a.attach_grad()
    with fw.autograd.record():
        y = nd.UpSampling(a, b, scale=2)
    y.backward()
    np.testing.assert_array_equal(a.grad.asnumpy(), np.full((1, 2, 2, 2), 4.0))


@pytest.mark.parametrize("call,error,words", [
    (lambda x: nd.UpSampling(x, scale=2, sample_type="bicubic"), ValueError, "sample_type"),
    (lambda x: nd.UpSampling(x, scale=2, sample_type="bilinear"), ValueError, "2 inputs"),
    (lambda x: nd.UpSampling(x, nd.zeros((2, 1, 3, 3)), scale=2, sample_type="bilinear"),
     ValueError, "expected \\(2, 1, 4, 4\\)"),
    (lambda x: nd.UpSampling(x, nd.zeros((2, 1, 4, 4)), scale=2, sample_type="bilinear",
                             num_filter=3), ValueError, "num_filter"),
    (lambda x: nd.UpSampling(x, scale=0), ValueError, "scale"),
    (lambda x: nd.UpSampling(x, scale=1.5), ValueError, "scale"),
    (lambda x: nd.UpSampling(x, scale=2, num_args=2), ValueError, "num_args"),
    (lambda x: nd.UpSampling(x, scale=2, multi_input_mode="max"), ValueError, "multi_input"),
    (lambda x: nd.UpSampling(x.reshape((1, 2, 16)), scale=2), ValueError, "4-D"),
    (lambda x: nd.UpSampling(x, nd.zeros((1, 1, 3, 3)), scale=2), ValueError, "whole factor"),
    (lambda x: nd.UpSampling(x, nd.zeros((1, 1, 2, 1)), scale=1), ValueError, "whole factor"),
    (lambda x: nd.UpSampling(x, nd.zeros((1, 3, 4, 4)), scale=1, multi_input_mode="sum"),
     ValueError, "channel"),
    (lambda x: nd.UpSampling(x, nd.zeros((2, 2, 4, 4)), scale=1), ValueError, "batch"),
    (lambda x: nd.UpSampling(x.astype("int32"), scale=2), TypeError, "floating-point"),
    (lambda x: nd.UpSampling(scale=2), ValueError, "at least one"),
])
def test_argument_errors(call, error, words):
    with pytest.raises(error, match=words) as info:
        call(nd.zeros((1, 2, 4, 4)))
    assert "UpSampling" in str(info.value)
