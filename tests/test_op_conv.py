"""Convolution and Deconvolution: 1-D to 3-D, stride, pad, dilate, groups, no_bias,
channel-last layouts, adj and target_shape, against a float64 NumPy reference and
torch; gradients of order 1 and 2 (and 3 once); the gradient operators; argument errors."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework as fw
from framework import nd
from framework.test_utils import assert_almost_equal, check_numeric_gradient

from op_harness import OpCase, check, parametrize


# ------------------------------------------------------------------ references
def _offsets(kernel):
    return itertools.product(*(range(k) for k in kernel))


def _window(k, d, s, n):
    """Slice of the padded input read by kernel offset k for n outputs."""
    return slice(k * d, k * d + s * (n - 1) + 1, s)


def np_conv(x, w, b=None, stride=1, pad=0, dilate=1, groups=1):
    """MXNet's Convolution (channel-first), one kernel offset at a time, float64."""
    nd_ = x.ndim - 2
    stride, pad, dilate = [(v,) * nd_ if np.isscalar(v) else tuple(v)
                           for v in (stride, pad, dilate)]
    kernel = w.shape[2:]
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    outs = [(s + 2 * p - d * (k - 1) - 1) // st + 1
            for s, p, d, k, st in zip(x.shape[2:], pad, dilate, kernel, stride)]
    f, cg = w.shape[:2]
    fg = f // groups
    y = np.zeros((x.shape[0], f) + tuple(outs))
    for ks in _offsets(kernel):
        xs = xp[(Ellipsis,) + tuple(_window(k, d, s, n)
                                    for k, d, s, n in zip(ks, dilate, stride, outs))]
        for g in range(groups):
            y[:, g * fg:(g + 1) * fg] += np.einsum(
                "nc...,fc->nf...", xs[:, g * cg:(g + 1) * cg], w[(slice(g * fg, (g + 1) * fg),
                                                                  slice(None)) + ks])
    if b is not None:
        y += b.reshape((1, -1) + (1,) * nd_)
    return y


def np_deconv(x, w, b=None, stride=1, pad=0, dilate=1, adj=0, groups=1):
    """MXNet's Deconvolution (channel-first) by scattering every kernel offset, float64."""
    nd_ = x.ndim - 2
    stride, pad, dilate, adj = [(v,) * nd_ if np.isscalar(v) else tuple(v)
                                for v in (stride, pad, dilate, adj)]
    kernel = w.shape[2:]
    cin, fg = w.shape[:2]
    cg = cin // groups
    sizes = x.shape[2:]
    outs = [st * (s - 1) + d * (k - 1) + 1 - 2 * p + a
            for st, s, d, k, p, a in zip(stride, sizes, dilate, kernel, pad, adj)]
    full = [max(st * (s - 1) + d * (k - 1) + 1, p + o)
            for st, s, d, k, p, o in zip(stride, sizes, dilate, kernel, pad, outs)]
    y = np.zeros((x.shape[0], fg * groups) + tuple(full))
    for ks in _offsets(kernel):
        index = (Ellipsis,) + tuple(_window(k, d, st, n)
                                    for k, d, st, n in zip(ks, dilate, stride, sizes))
        for g in range(groups):
            y[(slice(None), slice(g * fg, (g + 1) * fg)) + index[1:]] += np.einsum(
                "nc...,cf->nf...", x[:, g * cg:(g + 1) * cg],
                w[(slice(g * cg, (g + 1) * cg), slice(None)) + ks])
    y = y[(Ellipsis,) + tuple(slice(p, p + o) for p, o in zip(pad, outs))]
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * nd_)
    return y


def last_to_first(a):
    """Channel-last (N, *S, C) -> channel-first (N, C, *S); the same for MXNet's
    channel-last weights (F, *K, C/g) -> (F, C/g, *K)."""
    return np.moveaxis(a, -1, 1) if isinstance(a, np.ndarray) else a.movedim(-1, 1)


def first_to_last(a):
    return np.moveaxis(a, 1, -1) if isinstance(a, np.ndarray) else a.movedim(1, -1)


def channel_last(ref):
    """A channel-first reference applied to channel-last data and weight (bias as is)."""
    def wrapped(x, w, *rest, **kw):
        return first_to_last(ref(last_to_first(x), last_to_first(w), *rest, **kw))
    return wrapped


def torch_conv(nd_, **kw):
    fn = {1: TF.conv1d, 2: TF.conv2d, 3: TF.conv3d}[nd_]
    return lambda x, w, b=None: fn(x, w, b, **kw)


def torch_deconv(nd_, **kw):
    fn = {1: TF.conv_transpose1d, 2: TF.conv_transpose2d, 3: TF.conv_transpose3d}[nd_]
    return lambda x, w, b=None: fn(x, w, b, **kw)


# -------------------------------------------------------------------- cases
def conv_case(name, inputs, mx, np_kw, torch_kw, layout=None, **extra):
    """A Convolution case: ``mx`` are nd.Convolution's arguments (no_bias follows the
    number of inputs), ``np_kw``/``torch_kw`` the references'."""
    nd_ = len(inputs[1]) - 2
    with_bias = len(inputs) == 3
    ref, tref = (lambda *a: np_conv(*a, **np_kw)), torch_conv(nd_, **torch_kw)
    if layout is not None and layout.endswith("C"):
        ref, tref = channel_last(ref), channel_last(tref)

    def call(x, w, b=None):
        return nd.Convolution(x, w, b, no_bias=not with_bias, layout=layout, **mx)
    return OpCase(name, call, inputs=inputs, numpy_ref=ref, torch_ref=tref, **extra)


def deconv_case(name, inputs, mx, np_kw, torch_kw, layout=None, **extra):
    nd_ = len(inputs[1]) - 2
    with_bias = len(inputs) == 3
    ref, tref = (lambda *a: np_deconv(*a, **np_kw)), torch_deconv(nd_, **torch_kw)
    if layout is not None and layout.endswith("C"):
        ref, tref = channel_last(ref), channel_last(tref)

    def call(x, w, b=None):
        return nd.Deconvolution(x, w, b, no_bias=not with_bias, layout=layout, **mx)
    return OpCase(name, call, inputs=inputs, numpy_ref=ref, torch_ref=tref, **extra)


CONV_CASES = [
    conv_case("1-D stride 2 pad 1 with bias", [(2, 2, 7), (3, 2, 3), (3,)],
              dict(kernel=(3,), stride=(2,), pad=(1,), num_filter=3),
              dict(stride=2, pad=1), dict(stride=2, padding=1)),
    conv_case("1-D dilate 2, no_bias", [(1, 2, 8), (2, 2, 3)],
              dict(kernel=3, dilate=2), dict(dilate=2), dict(dilation=2)),
    conv_case("2-D pad 1 with bias (data gradient as a convolution)",
              [(1, 2, 3, 4), (2, 2, 3, 3), (2,)], dict(kernel=(3, 3), pad=(1, 1), num_filter=2),
              dict(pad=1), dict(padding=1)),
    conv_case("2-D rectangular kernel, stride (2,1), pad (1,0), dilate (1,2)",
              [(1, 2, 4, 5), (2, 2, 3, 2)],
              dict(kernel=(3, 2), stride=(2, 1), pad=(1, 0), dilate=(1, 2)),
              dict(stride=(2, 1), pad=(1, 0), dilate=(1, 2)),
              dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    conv_case("2-D groups 2, stride 2, bias", [(1, 4, 4, 3), (4, 2, 2, 2), (4,)],
              dict(kernel=(2, 2), stride=(2, 2), pad=(1, 1), num_group=2),
              dict(stride=2, pad=1, groups=2), dict(stride=2, padding=1, groups=2)),
    conv_case("2-D depthwise (groups = channels)", [(2, 3, 3, 3), (3, 1, 2, 2)],
              dict(kernel=(2, 2), num_group=3), dict(groups=3), dict(groups=3)),
    conv_case("2-D 1 -> 6 channels (data gradient by col2im)", [(2, 1, 4, 4), (6, 1, 3, 3)],
              dict(kernel=(3, 3)), {}, {}),
    conv_case("2-D 1x1 kernel", [(2, 3, 3, 2), (2, 3, 1, 1), (2,)],
              dict(kernel=(1, 1)), {}, {}),
    conv_case("2-D NHWC, groups 2, bias", [(1, 3, 2, 4), (4, 2, 2, 2), (4,)],
              dict(kernel=(2, 2), pad=(1, 0), num_group=2),
              dict(pad=(1, 0), groups=2), dict(padding=(1, 0), groups=2), layout="NHWC"),
    conv_case("3-D stride (1,2,1), pad (1,1,0), bias", [(1, 2, 2, 3, 3), (2, 2, 2, 2, 2), (2,)],
              dict(kernel=(2, 2, 2), stride=(1, 2, 1), pad=(1, 1, 0)),
              dict(stride=(1, 2, 1), pad=(1, 1, 0)),
              dict(stride=(1, 2, 1), padding=(1, 1, 0))),
    conv_case("3-D NDHWC, dilate 2", [(1, 3, 4, 3, 2), (2, 2, 2, 1, 2)],
              dict(kernel=(2, 2, 1), dilate=(1, 2, 1)), dict(dilate=(1, 2, 1)),
              dict(dilation=(1, 2, 1)), layout="NDHWC"),
    conv_case("1-D NWC, stride 2, bias", [(2, 5, 2), (3, 2, 2), (3,)],
              dict(kernel=2, stride=2), dict(stride=2), dict(stride=2), layout="NWC"),
    # output rows of 16 or more run batch-first (shorter ones batch-last)
    conv_case("1-D pad 1, long rows (data gradient as a convolution)",
              [(2, 2, 18), (2, 2, 3), (2,)], dict(kernel=3, pad=1), dict(pad=1),
              dict(padding=1)),
    conv_case("1-D stride 2, long rows", [(1, 2, 36), (2, 2, 3), (2,)],
              dict(kernel=3, stride=2), dict(stride=2), dict(stride=2)),
    conv_case("1-D NWC, stride 3, long rows", [(1, 52, 2), (2, 3, 2)],
              dict(kernel=3, stride=3), dict(stride=3), dict(stride=3), layout="NWC"),
]

DECONV_CASES = [
    deconv_case("2-D stride 2, pad 1, adj 1, bias", [(1, 2, 2, 3), (2, 3, 3, 3), (3,)],
                dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), adj=(1, 1), num_filter=3),
                dict(stride=2, pad=1, adj=1),
                dict(stride=2, padding=1, output_padding=1)),
    deconv_case("2-D groups 2, dilate 2", [(2, 4, 3, 2), (4, 1, 2, 3)],
                dict(kernel=(2, 3), dilate=(2, 2), num_group=2, num_filter=2),
                dict(dilate=2, groups=2), dict(dilation=2, groups=2)),
    deconv_case("1-D stride 3, adj 2", [(1, 2, 3), (2, 2, 3)],
                dict(kernel=3, stride=3, adj=2), dict(stride=3, adj=2),
                dict(stride=3, output_padding=2)),
    deconv_case("3-D stride (2,1,2), bias", [(1, 2, 2, 2, 2), (2, 2, 2, 2, 3), (2,)],
                dict(kernel=(2, 2, 3), stride=(2, 1, 2)), dict(stride=(2, 1, 2)),
                dict(stride=(2, 1, 2))),
    deconv_case("2-D target_shape sets pad and adj", [(1, 2, 3, 3), (2, 2, 3, 3)],
                dict(kernel=(3, 3), stride=(2, 2), target_shape=(6, 6)),
                dict(stride=2, pad=1, adj=1), dict(stride=2, padding=1, output_padding=1)),
    deconv_case("1-D stride 2 to long rows, bias", [(1, 2, 17), (2, 2, 3), (2,)],
                dict(kernel=3, stride=2, pad=1), dict(stride=2, pad=1),
                dict(stride=2, padding=1)),
    deconv_case("2-D NHWC, groups 2, bias", [(1, 2, 3, 4), (4, 2, 2, 1), (2,)],
                dict(kernel=(2, 2), stride=(2, 1), pad=(0, 1), num_group=2),
                dict(stride=(2, 1), pad=(0, 1), groups=2),
                dict(stride=(2, 1), padding=(0, 1), groups=2), layout="NHWC"),
]


@parametrize(CONV_CASES)
def test_convolution(case, ctx):
    check(case, ctx)


@parametrize(DECONV_CASES)
def test_deconvolution(case, ctx):
    check(case, ctx)


def test_third_order_through_a_nonlinearity(ctx):
    """conv is bilinear: the third derivative is non-zero only through tanh."""
    rng = np.random.RandomState(3)
    check_numeric_gradient(
        lambda x, w: nd.tanh(nd.Convolution(x, w, kernel=(2, 2), stride=(1, 1), pad=(1, 0),
                                            no_bias=True)),
        [rng.standard_normal((1, 2, 2, 3)), rng.standard_normal((2, 2, 2, 2))],
        order=3, ctx=ctx)


def test_double_backward_matches_torch(ctx):
    """d/dW of ||d conv_tanh(x)/dx||^2 (the pattern of a gradient penalty), in float32."""
    rng = np.random.RandomState(4)
    xh = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    wh = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    bh = rng.standard_normal(4).astype(np.float32)
    x, w, b = (nd.array(a, ctx=ctx) for a in (xh, wh, bh))
    for a in (x, w, b):
        a.attach_grad()
    with fw.autograd.record():
        y = nd.tanh(nd.Convolution(x, w, b, kernel=(3, 3), stride=(2, 2), pad=(1, 1)))
        gx, = fw.autograd.grad(y, [x], create_graph=True)
        penalty = (gx * gx).sum()
    penalty.backward()
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (xh, wh, bh))
    ty = torch.tanh(TF.conv2d(tx, tw, tb, stride=2, padding=1))
    tgx, = torch.autograd.grad(ty.sum(), tx, create_graph=True)
    (tgx * tgx).sum().backward()
    for a, t in ((x, tx), (w, tw), (b, tb)):
        assert_almost_equal(a.grad, t.grad.numpy(), rtol=1e-4, atol=1e-4)


# ------------------------------------------------------- the graph it builds
def _variables(ctx, *shapes, seed=0):
    rng = np.random.RandomState(seed)
    return _leaves(ctx, *[rng.standard_normal(s) for s in shapes], dtype="float32")


def _leaves(ctx, *values, dtype="float64"):
    """NDArrays of ``values`` on ``ctx`` with gradient buffers."""
    arrays = [nd.array(v, ctx=ctx, dtype=dtype) for v in values]
    for a in arrays:
        a.attach_grad()
    return arrays


def test_one_graph_node_per_call(ctx):
    x, w, b = _variables(ctx, (1, 2, 4, 4), (3, 2, 3, 3), (3,))
    with fw.autograd.record():
        y = nd.Convolution(x, w, b, kernel=(3, 3), num_filter=3)
        z = nd.Deconvolution(y, w, b, kernel=(3, 3), num_filter=2, no_bias=True)
    assert y._node.name == "Convolution"
    assert [edge[0] for edge in y._node.parents] == [x._node, w._node, b._node]
    assert z._node.name == "Deconvolution"
    assert [edge[0] for edge in z._node.parents] == [y._node, w._node]


def test_gradients_are_the_other_operators(ctx):
    """With create_graph, conv's data gradient is a Deconvolution node and its weight
    gradient a weight-gradient node, each differentiable again."""
    x, w = _variables(ctx, (1, 2, 4, 4), (3, 2, 3, 3))
    with fw.autograd.record():
        y = nd.Convolution(x, w, kernel=(3, 3), no_bias=True)
        gx, gw = fw.autograd.grad(y, [x, w], create_graph=True)
    assert gx._node.name == "Deconvolution"
    assert gw._node.name == "_backward_Convolution_weight"
    d, = _variables(ctx, (1, 3, 2, 2))
    with fw.autograd.record():
        gd, gw = fw.autograd.grad(nd.Deconvolution(d, w, kernel=(3, 3)), [d, w],
                                  create_graph=True)
    assert gd._node.name == "Convolution"
    assert gw._node.name == "_backward_Convolution_weight"


def test_kept_im2col_gives_the_same_weight_gradient(ctx):
    """The weight gradient from the forward's kept im2col matrix equals the one computed
    afresh (a second backward with retain_graph recomputes it), and only a recorded
    call with a weight needing its gradient keeps the matrix."""
    x, w = _variables(ctx, (2, 2, 5, 4), (3, 2, 3, 2))
    with fw.autograd.record():
        y = nd.Convolution(x, w, kernel=(3, 2), stride=(2, 1), pad=(1, 1), no_bias=True)
    assert y._node.cols is not None
    y.backward(retain_graph=True)
    assert y._node.cols is None
    first = w.grad.asnumpy().copy()
    y.backward()
    assert_almost_equal(w.grad, first, rtol=1e-12, atol=1e-12)
    constant_w = nd.array(w.asnumpy(), ctx=ctx)
    with fw.autograd.record():
        y = nd.Convolution(x, constant_w, kernel=(3, 2), no_bias=True)
    assert y._node.cols is None
    y = nd.Convolution(x, w, kernel=(3, 2), no_bias=True)
    assert y._node is None


def test_writing_the_data_after_forward_fails_backward(ctx):
    x, w = _variables(ctx, (1, 2, 4, 4), (3, 2, 3, 3))
    with fw.autograd.record():
        y = nd.Convolution(x, w, kernel=(3, 3), no_bias=True)
    x[:] = 0
    with pytest.raises(RuntimeError, match="backward of operator Convolution: an array it "
                                           "saved for the gradient was modified in place"):
        y.backward()


def test_only_wanted_gradients(ctx):
    """A constant weight: the data gradient alone is computed, and equals torch's."""
    rng = np.random.RandomState(1)
    xh = rng.standard_normal((2, 2, 4, 5)).astype(np.float32)
    wh = rng.standard_normal((3, 2, 2, 2)).astype(np.float32)
    x, w = nd.array(xh, ctx=ctx), nd.array(wh, ctx=ctx)
    x.attach_grad()
    with fw.autograd.record():
        y = nd.Convolution(x, w, kernel=(2, 2), no_bias=True)
    y.backward()
    tx = torch.tensor(xh, requires_grad=True)
    TF.conv2d(tx, torch.tensor(wh)).sum().backward()
    assert_almost_equal(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_gradient_of_a_broadcast_head(ctx):
    """``y.sum()``'s gradient reaches conv as a broadcast (stride-0) array."""
    x, w, b = _variables(ctx, (2, 2, 3, 3), (2, 2, 2, 2), (2,))
    with fw.autograd.record():
        loss = nd.Convolution(x, w, b, kernel=(2, 2), layout="NCHW").sum()
    loss.backward()
    tx, tw, tb = (torch.tensor(a.asnumpy(), requires_grad=True) for a in (x, w, b))
    TF.conv2d(tx, tw, tb).sum().backward()
    for a, t in ((x, tx), (w, tw), (b, tb)):
        assert_almost_equal(a.grad, t.grad.numpy(), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------- shapes and types
def test_defaults_from_the_weight():
    """kernel and num_filter default to the weight's; an int applies to every axis."""
    x, w = nd.ones((2, 3, 6, 5)), nd.ones((4, 3, 3, 1))
    y = nd.Convolution(x, w, no_bias=True, stride=2, pad=1)
    assert y.shape == (2, 4, 3, 4)
    z = nd.Deconvolution(nd.ones((1, 4, 3, 3)), nd.ones((4, 2, 2, 2)), num_group=2)
    assert z.shape == (1, 4, 4, 4)
    n = nd.Convolution(nd.ones((1, 5, 5, 3)), nd.ones((2, 3, 3, 3)), no_bias=True,
                       layout="NHWC")
    assert n.shape == (1, 3, 3, 2)


def test_mxnet_arguments_are_accepted():
    x, w, b = nd.ones((1, 1, 3, 3)), nd.ones((2, 1, 2, 2)), nd.zeros((2,))
    y = nd.Convolution(x, w, b, kernel=(2, 2), num_filter=2, workspace=512,
                       cudnn_tune="off", cudnn_off=True, name="conv0")
    assert_almost_equal(y, np.full((1, 2, 2, 2), 4.0))
    z = nd.Deconvolution(x, nd.ones((1, 2, 2, 2)), kernel=(2, 2), num_filter=2,
                         workspace=512, cudnn_tune="fastest", cudnn_off=False, name="up")
    assert z.shape == (1, 2, 4, 4)


def test_out_argument(ctx):
    x, w = nd.ones((1, 2, 3, 3), ctx=ctx), nd.ones((2, 2, 2, 2), ctx=ctx)
    out = nd.zeros((1, 2, 2, 2), ctx=ctx)
    assert nd.Convolution(x, w, kernel=(2, 2), no_bias=True, out=out) is out
    assert_almost_equal(out, np.full((1, 2, 2, 2), 8.0))
    out = nd.zeros((1, 2, 4, 4), ctx=ctx)
    assert nd.Deconvolution(x, w, kernel=(2, 2), out=out) is out


def test_float16_and_float64_keep_their_dtype(ctx):
    for dtype in ("float16", "float64"):
        x = nd.ones((1, 2, 3, 3), ctx=ctx, dtype=dtype)
        w = nd.ones((2, 2, 2, 2), ctx=ctx, dtype=dtype)
        y = nd.Convolution(x, w, nd.zeros((2,), ctx=ctx, dtype=dtype), kernel=(2, 2))
        assert y.dtype == np.dtype(dtype)
        assert_almost_equal(y, np.full((1, 2, 2, 2), 8.0))
        z = nd.Deconvolution(x, w, kernel=(2, 2))
        assert z.dtype == np.dtype(dtype) and z.shape == (1, 2, 4, 4)


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize("args,kwargs,words", [
    (((1, 3, 5, 5), (4, 3, 3, 3)), dict(kernel=(3, 3), num_filter=5),
     r"Convolution: weight has shape \(4, 3, 3, 3\), expected \(5, 3, 3, 3\)"),
    (((1, 3, 5, 5), (4, 2, 3, 3)), dict(kernel=(3, 3)),
     r"Convolution: weight has shape \(4, 2, 3, 3\), expected \(4, 3, 3, 3\)"),
    (((1, 3, 5), (4, 3, 3, 3)), dict(kernel=(3, 3)),
     r"Convolution: data must be 4-D \(N, C, H, W\) for a 2-D kernel \(3, 3\) with layout "
     r"NCHW, got shape \(1, 3, 5\)"),
    (((1, 3, 5, 5), (4, 3, 3, 3)), dict(kernel=(3, 3), stride=(1, 1, 1)),
     r"Convolution: stride \(1, 1, 1\) has 3 entries; the kernel has 2 spatial axes"),
    (((1, 3, 5, 5), (4, 3, 3, 3)), dict(kernel=(3, 3), stride=(0, 1)),
     r"Convolution: stride \(0, 1\) must be >= 1"),
    (((1, 3, 5, 5), (4, 3, 3, 3)), dict(kernel=(3, 3), pad=(-1, 0)),
     r"Convolution: pad \(-1, 0\) must be >= 0"),
    (((1, 3, 2, 2), (4, 3, 3, 3)), dict(kernel=(3, 3)),
     r"Convolution: data of spatial size \(2, 2\) padded by \(0, 0\) is smaller than the "
     r"dilated kernel \(3, 3\)"),
    (((1, 3, 5, 5), (4, 1, 3, 3)), dict(kernel=(3, 3), num_group=2),
     r"Convolution: data of shape \(1, 3, 5, 5\) \(NCHW\) has 3 channels, not divisible by "
     r"num_group=2"),
    (((1, 4, 5, 5), (3, 2, 3, 3)), dict(kernel=(3, 3), num_group=2),
     r"Convolution: num_filter=3 must be a positive multiple of num_group=2"),
    (((1, 3, 5, 5), (4, 3, 3, 3)), dict(kernel=(3, 3), layout="NCDHW"),
     r"Convolution: layout 'NCDHW' does not fit a 2-D kernel \(3, 3\)"),
    (((1, 3, 5, 5), (4, 3, 3, 3), (3,)), dict(kernel=(3, 3)),
     r"Convolution: bias has shape \(3,\), expected \(4,\)"),
    (((1, 3, 5, 5), (4, 3, 3, 3), None), dict(kernel=(3, 3)),
     r"Convolution: bias is None but no_bias=False"),
    (((1, 3, 5, 5, 5, 5), (4, 3, 3, 3, 3, 3)), dict(),
     r"Convolution: weight of shape \(4, 3, 3, 3, 3, 3\) is not a 1-D, 2-D or 3-D kernel"),
    (((1, 2, 3, 3), (2, 3, 3, 3)), dict(op="Deconvolution", kernel=(3, 3), stride=(2, 2),
                                        adj=(2, 0)),
     r"Deconvolution: adj \(2, 0\) must be >= 0 and smaller than stride \(2, 2\)"),
    (((1, 2, 3, 3), (2, 3, 3, 3)), dict(op="Deconvolution", kernel=(3, 3), target_shape=(9, 5)),
     r"Deconvolution: target_shape \(9, 5\) is too big: data of spatial size \(3, 3\) with "
     r"stride \(1, 1\) and dilated kernel \(3, 3\) reaches at most \(5, 5\)"),
    (((1, 2, 3, 3), (2, 3, 3, 3)), dict(op="Deconvolution", kernel=(3, 3), target_shape=(4, 0)),
     r"Deconvolution: target_shape \(4, 0\) must be positive"),
    (((1, 2, 3, 3), (3, 3, 3, 3)), dict(op="Deconvolution", kernel=(3, 3)),
     r"Deconvolution: weight has shape \(3, 3, 3, 3\), expected \(2, 3, 3, 3\)"),
    (((1, 2, 2, 2), (2, 3, 3, 3)), dict(op="Deconvolution", kernel=(3, 3), pad=(3, 3)),
     r"Deconvolution: output size \(-2, -2\) is not positive"),
])
def test_argument_errors(args, kwargs, words):
    kwargs = dict(kwargs)
    fn = getattr(nd, kwargs.pop("op", "Convolution"))
    arrays = [None if s is None else nd.ones(s) for s in args]
    if len(arrays) == 2 and fn is nd.Convolution:
        kwargs.setdefault("no_bias", True)
    with pytest.raises(ValueError, match=words):
        fn(*arrays, **kwargs)


def test_dtype_and_type_errors():
    with pytest.raises(TypeError, match=r"Convolution: data, weight must share one "
                                        r"floating-point dtype, got \['float32', 'float64'\]"):
        nd.Convolution(nd.ones((1, 1, 3, 3)), nd.ones((1, 1, 2, 2), dtype="float64"),
                       no_bias=True)
    with pytest.raises(TypeError, match=r"Deconvolution: data, weight must share one "
                                        r"floating-point dtype, got \['int32', 'int32'\]"):
        nd.Deconvolution(nd.ones((1, 1, 3, 3), dtype="int32"),
                         nd.ones((1, 1, 2, 2), dtype="int32"))
    with pytest.raises(TypeError, match="Convolution: expected an NDArray"):
        nd.Convolution(np.ones((1, 1, 3, 3)), nd.ones((1, 1, 2, 2)), no_bias=True)
    with pytest.raises(TypeError, match=r"Convolution: kernel must be ints"):
        nd.Convolution(nd.ones((1, 1, 3, 3)), nd.ones((1, 1, 2, 2)), kernel=(2.0, 2),
                       no_bias=True)
    with pytest.raises(ValueError, match="different contexts"):
        nd.Convolution(nd.ones((1, 1, 3, 3)), nd.ones((1, 1, 2, 2), ctx=fw.gpu(0)),
                       no_bias=True)


def test_data_gradient_takes_the_path_moving_less_memory(monkeypatch):
    """Stride 1 with as many output as input channels (ResNet): the data gradient is a
    convolution (no adjoint of im2col); 1 -> 20 channels (LeNet's first layer): the
    adjoint (col2im)."""
    from framework.ndarray.ops import conv as conv_ops
    calls = []
    original = conv_ops.col2im
    monkeypatch.setattr(conv_ops, "col2im", lambda *a, **k: calls.append(1) or original(*a, **k))
    for (c, f), expected in (((4, 4), 0), ((1, 20), 1)):
        calls.clear()
        x, w = _variables(fw.cpu(), (2, c, 6, 6), (f, c, 3, 3))
        with fw.autograd.record():
            y = nd.Convolution(x, w, kernel=(3, 3), pad=(1, 1), no_bias=True)
        y.backward()
        assert len(calls) == expected, (c, f)


@pytest.mark.parametrize("shape,wshape,kwargs", [
    ((3, 2, 20, 20), (4, 2, 3, 3), dict(pad=(1, 1))),                       # 400 pixels
    ((2, 1, 38, 40), (5, 1, 5, 5), dict(stride=(2, 2), dilate=(1, 2))),      # 17 x 16
    ((2, 3, 300), (4, 3, 5), dict(pad=(2,))),                                # 1-D
    ((2, 2, 8, 8, 8), (3, 2, 2, 2, 2), dict(pad=(1, 1, 1))),                 # 3-D, 729
])
def test_per_image_products_equal_whole_batch_products(shape, wshape, kwargs, ctx, monkeypatch):
    """Outputs of >= PER_IMAGE_MIN_PIXELS pixels run image by image (no transposing
    copy); the values and the gradients of order 1 and 2 are those of one product over
    the whole batch, to float64 rounding."""
    from framework.ndarray.ops import conv as conv_ops
    rng = np.random.RandomState(7)
    xh, wh = rng.standard_normal(shape), rng.standard_normal(wshape)
    bh, head = rng.standard_normal(wshape[0]), None
    results = []
    for threshold in (conv_ops.PER_IMAGE_MIN_PIXELS, 10 ** 9):
        monkeypatch.setattr(conv_ops, "PER_IMAGE_MIN_PIXELS", threshold)
        x, w, b = _leaves(ctx, xh, wh, bh)
        with fw.autograd.record():
            y = nd.Convolution(x, w, b, kernel=wshape[2:], num_filter=wshape[0], **kwargs)
            if head is None:
                head = rng.standard_normal(y.shape)
            gx, gw = fw.autograd.grad(y, [x, w], head_grads=nd.array(head, ctx=ctx,
                                                                      dtype="float64"),
                                      create_graph=True)
            penalty = (gx * gx).sum() + (gw * gw).sum() + (y * y).sum()
        penalty.backward()
        assert np.prod(y.shape[2:]) >= conv_ops.PER_IMAGE_MIN_PIXELS or threshold > 10 ** 8
        results.append([a.asnumpy() for a in (y, gx, gw, x.grad, w.grad, b.grad)])
    for name, a, b in zip(("y", "gx", "gw", "x.grad", "w.grad", "b.grad"), *results):
        assert_almost_equal(a, b, rtol=1e-10, atol=1e-10, names=(f"per image {name}", "batch"))


@pytest.mark.parametrize("shape,wshape,kwargs", [
    ((3, 1, 28, 28), (4, 1, 5, 5), {}),                     # per image: the ones row's column
    ((5, 3, 12, 12), (4, 3, 5, 5), {}),                     # batch-last matrix: row sums
    ((3, 2, 41, 40), (3, 2, 3, 3), dict(pad=(1, 1))),       # 4,920 columns: blocks and a rest
    ((2, 30, 30, 3), (4, 3, 3, 3), dict(layout="NHWC")),    # a transposed matrix view
    ((2, 4, 30, 30), (4, 2, 3, 3), dict(num_group=2)),      # groups
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bias_gradient_is_the_output_gradient_sum(shape, wshape, kwargs, dtype, ctx):
    """However the weight gradient's product runs, the bias gradient is the output
    gradient summed over the batch and spatial axes (float32: to 1e-6 of the float64 sum)."""
    rng = np.random.RandomState(5)
    kernel = wshape[1:-1] if kwargs.get("layout") == "NHWC" else wshape[2:]
    x, w, b = (nd.array(rng.standard_normal(s), ctx=ctx, dtype=dtype)
               for s in (shape, wshape, wshape[:1]))
    for a in (w, b):
        a.attach_grad()
    with fw.autograd.record():
        y = nd.Convolution(x, w, b, kernel=kernel, num_filter=wshape[0], **kwargs)
    head = rng.standard_normal(y.shape) + 0.5
    y.backward(nd.array(head, ctx=ctx, dtype=dtype))
    axes = (0, 1, 2) if kwargs.get("layout") == "NHWC" else (0, 2, 3)
    expected = head.astype(dtype).astype(np.float64).sum(axis=axes)
    np.testing.assert_allclose(b.grad.asnumpy(), expected,
                               rtol=1e-12 if dtype == "float64" else 1e-6, atol=0)


@pytest.mark.parametrize("shape,wshape,kwargs", [
    ((3, 2, 12, 12), (4, 2, 5, 5), {}),                            # short rows: batch-last anyway
    ((2, 1, 20, 20), (3, 1, 5, 5), {}),                            # 256 pixels: otherwise per image
    ((2, 4, 11, 9), (6, 2, 3, 3), dict(num_group=2, stride=(2, 1), pad=(1, 1))),
    ((2, 3, 18, 18), (4, 3, 3, 3), dict(no_bias=True)),
    ((2, 3, 19), (4, 3, 4), dict(dilate=(2,))),                    # 1-D
])
def test_convolution_for_pooling_is_a_view_of_the_batch_last_product(shape, wshape, kwargs, ctx,
                                                                     monkeypatch):
    """``convolution_for_pooling`` (a Sequential's convolution followed by max pooling)
    returns ``Convolution``'s values as a (N, F, *O) view whose memory is (F, *O, N)
    (from BATCH_LAST_MIN_IMAGES images, 2 here); its gradients at orders 1 and 2 are
    ``Convolution``'s, to float64 rounding."""
    from framework.ndarray.ops import conv as conv_ops
    from framework.ndarray.ops.conv import convolution_for_pooling
    monkeypatch.setattr(conv_ops, "BATCH_LAST_MIN_IMAGES", 2)
    rng = np.random.RandomState(11)
    xh, wh, bh = (rng.standard_normal(s) for s in (shape, wshape, wshape[:1]))
    kw = dict(kernel=wshape[2:], num_filter=wshape[0], **kwargs)
    results, head = [], None
    for conv in (nd.Convolution, convolution_for_pooling):
        x, w, b = _leaves(ctx, xh, wh, bh)
        with fw.autograd.record():
            y = conv(x, w, None if kwargs.get("no_bias") else b, **kw)
            if head is None:
                head = rng.standard_normal(y.shape)
            gx, gw = fw.autograd.grad(y, [x, w], head_grads=nd.array(head, ctx=ctx,
                                                                      dtype="float64"),
                                      create_graph=True)
            penalty = (gx * gx).sum() + (gw * gw).sum() + (y * y * y).sum()
        penalty.backward()
        if conv is convolution_for_pooling:
            assert y._data.strides[0] == 8            # the batch innermost
        grads = [x.grad, w.grad] + ([] if kwargs.get("no_bias") else [b.grad])
        results.append([a.asnumpy() for a in [y, gx, gw] + grads])
    for a, b in zip(*results):
        assert_almost_equal(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape,wshape,kwargs", [
    ((3, 1, 12, 12), (4, 1, 5, 5), {}),                     # depth 25, 192 columns
    ((2, 3, 9, 7), (5, 3, 3, 3), dict(pad=(1, 1))),         # depth 27, a remainder
    ((2, 2, 6, 6), (3, 2, 3, 3), dict(stride=(2, 2))),      # 8 columns: one block
])
def test_shallow_windows_weight_gradient_comes_in_blocks(shape, wshape, kwargs, ctx,
                                                         monkeypatch):
    """A weight gradient of shallow windows (depth <= SHALLOW_DEPTH) from blocks of
    columns (``_shallow_product``, forced to blocks of 16 here) equals the one product,
    at orders 1 and 2, to float64 rounding."""
    from framework.ndarray.ops import conv as conv_ops
    monkeypatch.setattr(conv_ops, "PER_IMAGE_MIN_PIXELS", 10 ** 9)
    monkeypatch.setattr(conv_ops, "_PRODUCT_BLOCK", 16)
    calls = []
    blocked = conv_ops._shallow_product
    monkeypatch.setattr(conv_ops, "_shallow_product",
                        lambda *args: calls.append(1) or blocked(*args))
    rng = np.random.RandomState(8)
    xh, wh, bh = (rng.standard_normal(s) for s in (shape, wshape, wshape[:1]))
    results = []
    for depth in (conv_ops.SHALLOW_DEPTH, 0):
        monkeypatch.setattr(conv_ops, "SHALLOW_DEPTH", depth)
        x, w, b = _leaves(ctx, xh, wh, bh)
        with fw.autograd.record():
            y = nd.Convolution(x, w, b, kernel=wshape[2:], num_filter=wshape[0], **kwargs)
            gw, = fw.autograd.grad(nd.sum(y * y), [w], create_graph=True)
            penalty = nd.sum(gw * gw)
        penalty.backward()
        results.append([a.asnumpy() for a in (gw, x.grad, w.grad, b.grad)])
    assert bool(calls) == (ctx == fw.cpu(0))        # NumPy only
    for a, b in zip(*results):
        assert_almost_equal(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, dict(pad=(1, 1)), dict(stride=(2, 2))])
def test_data_lying_batch_last_runs_batch_last(kwargs, ctx):
    """A convolution whose data lies batch-last ((C, H, W, N) in memory, as a pooled
    batch-last output) runs batch-last, reading contiguous runs, and gives the same
    values and gradients (orders 1 and 2, to float64 rounding) as contiguous data."""
    rng = np.random.RandomState(12)
    xh, wh, bh = (rng.standard_normal(s) for s in ((3, 4, 20, 20), (5, 4, 3, 3), (5,)))
    results = []
    for batch_last in (False, True):
        leaf = nd.array(np.ascontiguousarray(xh.transpose(1, 2, 3, 0)) if batch_last else xh,
                        ctx=ctx, dtype="float64")
        w, b = _leaves(ctx, wh, bh)
        leaf.attach_grad()
        with fw.autograd.record():
            x = nd.transpose(leaf, axes=(3, 0, 1, 2)) if batch_last else leaf
            y = nd.Convolution(x, w, b, kernel=(3, 3), num_filter=5, **kwargs)
            assert y._node.geom.batch_last_input == batch_last
            gx, = fw.autograd.grad(nd.sum(y * y), [leaf], create_graph=True)
            penalty = nd.sum(gx * gx)
        penalty.backward()
        back = (lambda a: a.transpose(3, 0, 1, 2)) if batch_last else (lambda a: a)
        results.append([y.asnumpy(), back(gx.asnumpy()), back(leaf.grad.asnumpy()),
                        w.grad.asnumpy(), b.grad.asnumpy()])
    for got, want in zip(*results):
        assert_almost_equal(got, want, rtol=1e-10, atol=1e-10)
