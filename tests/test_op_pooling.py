"""Pooling: max/avg/sum/lp, 1-D to 3-D, padding, 'full' convention, global pooling and
layouts, against a NumPy reference of MXNet's definition and torch; gradients of order
1 and 2; ties; argument errors."""
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework as fw
from framework import nd
from framework.test_utils import assert_almost_equal

from op_harness import OpCase, check, parametrize


# ------------------------------------------------------------------ references
def np_pool(x, kernel, stride=None, pad=None, pool_type="max", full=False, include_pad=True,
            channels_last=False, global_pool=False):
    """MXNet's Pooling, one output position at a time (float64)."""
    x = np.asarray(x, np.float64)
    if channels_last:
        x = np.moveaxis(x, -1, 1)
    spatial = x.shape[2:]
    n = len(spatial)
    if global_pool:
        kernel, stride, pad = spatial, (1,) * n, (0,) * n
    stride = stride or (1,) * n
    pad = pad or (0,) * n
    outs = []
    for d, k, s, p in zip(spatial, kernel, stride, pad):
        span = d + 2 * p - k
        outs.append((math.ceil(span / s) if full else span // s) + 1)
    y = np.zeros(x.shape[:2] + tuple(outs))
    for o in itertools.product(*[range(m) for m in outs]):
        starts = [oi * s - p for oi, s, p in zip(o, stride, pad)]
        ends = [min(st + k, d + p) for st, k, d, p in zip(starts, kernel, spatial, pad)]
        lo = [max(st, 0) for st in starts]
        hi = [min(st + k, d) for st, k, d in zip(starts, kernel, spatial)]
        region = x[(Ellipsis,) + tuple(slice(a, b) for a, b in zip(lo, hi))]
        axes = tuple(range(2, 2 + n))
        if pool_type == "max":
            value = region.max(axis=axes) if region.size else np.finfo(np.float64).min
        else:
            value = region.sum(axis=axes) if region.size else 0.0
            if pool_type == "avg":
                count = math.prod(e - st for e, st in zip(ends, starts)) if include_pad else \
                    math.prod(max(b - a, 0) for a, b in zip(lo, hi))
                value = value / max(count, 1)
        y[(Ellipsis,) + o] = value
    return np.moveaxis(y, 1, -1) if channels_last else y


def distinct(shape, seed=0):
    """Values with no near-ties (a scaled permutation), so max pooling's finite
    differences are valid."""
    n = math.prod(shape)
    return (np.random.RandomState(seed).permutation(n).reshape(shape) / n - 0.5) * 4


_TMAX = {1: TF.max_pool1d, 2: TF.max_pool2d, 3: TF.max_pool3d}
_TAVG = {1: TF.avg_pool1d, 2: TF.avg_pool2d, 3: TF.avg_pool3d}


def t_max(k, s=None, p=0, ceil=False):
    return lambda x: _TMAX[len(k)](x, k, s or 1, p, ceil_mode=ceil)


def t_avg(k, s=None, p=0, ceil=False, include=True):
    return lambda x: _TAVG[len(k)](x, k, s or 1, p, ceil_mode=ceil, count_include_pad=include)


def pool(**kw):
    return lambda x: nd.Pooling(x, **kw)


def ref(**kw):
    return lambda x: np_pool(x, **kw)


def case(name, inputs, kw, torch_ref=None, **extra):
    """A case whose call and NumPy reference take the same keywords."""
    mx = dict(kw)
    np_kw = dict(kernel=mx.get("kernel", ()), stride=mx.get("stride"), pad=mx.get("pad"),
                 pool_type=mx.get("pool_type", "max"),
                 full=mx.get("pooling_convention") == "full",
                 include_pad=mx.get("count_include_pad", True) in (True, None),
                 channels_last=mx.get("layout", "NC")[1] != "C",
                 global_pool=mx.get("global_pool", False))
    return OpCase(name, pool(**mx), inputs=inputs, numpy_ref=ref(**np_kw), torch_ref=torch_ref,
                  **extra)


MAX_CASES = [
    case("max 1-D k3 s2 p1", [distinct((2, 3, 9))],
         dict(kernel=(3,), stride=(2,), pad=(1,)), t_max((3,), 2, 1)),
    case("max 2-D k2 stride 1 (MXNet's default)", [distinct((2, 2, 5, 5))],
         dict(kernel=(2, 2)), t_max((2, 2), 1)),
    case("max 2-D k2 s2 (LeNet)", [distinct((2, 2, 4, 6))],
         dict(kernel=(2, 2), stride=(2, 2)), t_max((2, 2), 2)),
    case("max 2-D k3 s2 p1 full (ceil_mode)", [distinct((1, 2, 8, 7), 1)],
         dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pooling_convention="full"),
         t_max((3, 3), 2, 1, ceil=True)),
    case("max 2-D k3 s1 p1 overlapping", [distinct((1, 2, 5, 6), 2)],
         dict(kernel=(3, 3), pad=(1, 1)), t_max((3, 3), 1, 1)),
    case("max 3-D k2 s2 full, odd sizes", [distinct((1, 1, 5, 3, 5), 3)],
         dict(kernel=(2, 2, 2), stride=(2, 2, 2), pooling_convention="full"),
         t_max((2, 2, 2), 2, ceil=True)),
    case("max 3-D k(2,3,2) s1 p(1,1,0)", [distinct((1, 1, 3, 4, 4), 4)],
         dict(kernel=(2, 3, 2), pad=(1, 1, 0)), t_max((2, 3, 2), 1, (1, 1, 0))),
    case("max 2-D k(3,4) non-overlapping, one windows view", [distinct((1, 2, 6, 8), 5)],
         dict(kernel=(3, 4), stride=(3, 4)), t_max((3, 4), (3, 4))),
    case("max 2-D k3 s3 p1 full, windows view", [distinct((1, 2, 7, 7), 6)],
         dict(kernel=(3, 3), stride=(3, 3), pad=(1, 1), pooling_convention="full"),
         t_max((3, 3), 3, 1, ceil=True)),
    case("max 2-D 1x1 kernel, stride 2", [distinct((1, 2, 5, 4), 18)],
         dict(kernel=(1, 1), stride=(2, 2)), t_max((1, 1), 2)),
    case("max 2-D stride larger than the kernel", [distinct((1, 2, 7, 8), 16)],
         dict(kernel=(2, 2), stride=(3, 3)), t_max((2, 2), 3)),
    case("max 2-D k3 s4 windows view, gaps between windows", [distinct((1, 1, 9, 10), 17)],
         dict(kernel=(3, 3), stride=(4, 4), pad=(1, 1)), t_max((3, 3), 4, 1)),
    case("max global 2-D", [distinct((2, 3, 4, 5), 7)], dict(global_pool=True),
         lambda x: TF.adaptive_max_pool2d(x, 1)),
    case("max global 1-D, kernel ignored", [distinct((2, 3, 6), 8)],
         dict(kernel=(2,), global_pool=True), lambda x: TF.adaptive_max_pool1d(x, 1)),
    case("max 2-D NHWC", [distinct((1, 5, 6, 3), 9)],
         dict(kernel=(3, 2), stride=(2, 2), layout="NHWC"),
         lambda x: t_max((3, 2), 2)(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)),
    case("max 1-D NWC", [distinct((2, 7, 3), 10)],
         dict(kernel=(2,), stride=(2,), layout="NWC"),
         lambda x: t_max((2,), 2)(x.permute(0, 2, 1)).permute(0, 2, 1)),
    case("max 3-D NDHWC", [distinct((1, 4, 4, 4, 2), 11)],
         dict(kernel=(2, 2, 2), stride=(2, 2, 2), layout="NDHWC"),
         lambda x: t_max((2, 2, 2), 2)(x.permute(0, 4, 1, 2, 3)).permute(0, 2, 3, 4, 1)),
]

AVG_CASES = [
    case("avg 1-D k3 s2 p1 include pad", [(2, 3, 9)],
         dict(kernel=(3,), stride=(2,), pad=(1,), pool_type="avg"), t_avg((3,), 2, 1)),
    case("avg 2-D k3 s2 p1 full include pad", [(1, 2, 8, 7)],
         dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
              pooling_convention="full", count_include_pad=True),
         t_avg((3, 3), 2, 1, ceil=True, include=True)),
    case("avg 2-D k3 s2 p1 full exclude pad", [(1, 2, 7, 7)],
         dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
              pooling_convention="full", count_include_pad=False),
         t_avg((3, 3), 2, 1, ceil=True, include=False)),
    case("avg 2-D k2 s1 p1 exclude pad", [(1, 2, 4, 5)],
         dict(kernel=(2, 2), pad=(1, 1), pool_type="avg", count_include_pad=False),
         t_avg((2, 2), 1, 1, include=False)),
    case("avg 3-D k2 s2 p1 include pad", [(1, 2, 4, 3, 5)],
         dict(kernel=(2, 2, 2), stride=(2, 2, 2), pad=(1, 1, 1), pool_type="avg"),
         t_avg((2, 2, 2), 2, 1)),
    case("avg 3-D k3 s2 full exclude pad", [(1, 1, 5, 4, 4)],
         dict(kernel=(3, 3, 3), stride=(2, 2, 2), pad=(1, 1, 1), pool_type="avg",
              pooling_convention="full", count_include_pad=False),
         t_avg((3, 3, 3), 2, 1, ceil=True, include=False)),
    case("avg 2-D k3 s3 p1 windows view exclude pad", [(1, 1, 7, 8)],
         dict(kernel=(3, 3), stride=(3, 3), pad=(1, 1), pool_type="avg",
              count_include_pad=False),
         t_avg((3, 3), 3, 1, include=False)),
    case("avg 2-D k3 s4 windows view, gaps between windows", [(1, 1, 9, 10)],
         dict(kernel=(3, 3), stride=(4, 4), pad=(1, 1), pool_type="avg"),
         t_avg((3, 3), 4, 1)),
    case("avg global 2-D", [(2, 3, 4, 5)], dict(global_pool=True, pool_type="avg"),
         lambda x: TF.adaptive_avg_pool2d(x, 1)),
    case("avg global 2-D, a kernel of another length ignored (MXNet)", [(2, 3, 4, 5)],
         dict(kernel=(7,), global_pool=True, pool_type="avg"),
         lambda x: TF.adaptive_avg_pool2d(x, 1)),
    case("avg global 3-D", [(1, 2, 3, 3, 4)], dict(global_pool=True, pool_type="avg"),
         lambda x: TF.adaptive_avg_pool3d(x, 1)),
    case("avg 2-D NHWC", [(1, 5, 6, 3)],
         dict(kernel=(2, 2), stride=(2, 2), pad=(1, 1), pool_type="avg", layout="NHWC"),
         lambda x: t_avg((2, 2), 2, 1)(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)),
]

SUM_CASES = [
    case("sum 1-D k2 s1", [(2, 3, 6)], dict(kernel=(2,), pool_type="sum")),
    case("sum 2-D k3 s2 p1 full", [(1, 2, 6, 7)],
         dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="sum",
              pooling_convention="full"),
         lambda x: TF.avg_pool2d(x, 3, 2, 1, ceil_mode=True, divisor_override=1)),
    case("sum 3-D k2 s2", [(1, 2, 4, 4, 4)],
         dict(kernel=(2, 2, 2), stride=(2, 2, 2), pool_type="sum"),
         lambda x: TF.avg_pool3d(x, 2, 2, divisor_override=1)),
    case("sum global 2-D", [(2, 3, 5, 4)], dict(global_pool=True, pool_type="sum"),
         lambda x: x.sum(dim=(2, 3), keepdim=True)),
    # MXNet's 'full' rule keeps a last window lying wholly in the padding (PyTorch drops it)
    case("sum and avg of a window wholly in the padding (MXNet's full)", [(1, 2, 5)],
         dict(kernel=(2,), stride=(2,), pad=(1,), pool_type="avg", pooling_convention="full")),
]

LP_CASES = [
    OpCase("lp p=2 2-D", pool(kernel=(2, 2), stride=(2, 2), pool_type="lp", p_value=2),
           inputs=[(2, 2, 4, 6)],
           numpy_ref=lambda x: np.sqrt(np_pool(x * x, (2, 2), (2, 2), pool_type="sum")),
           torch_ref=lambda x: TF.lp_pool2d(x, 2, 2, 2)),
    OpCase("lp p=3 1-D", pool(kernel=(3,), stride=(2,), pool_type="lp", p_value=3),
           inputs=[(2, 2, 7)],
           numpy_ref=lambda x: np.cbrt(np_pool(x ** 3, (3,), (2,), pool_type="sum"))),
    OpCase("lp p=1 is sum pooling", pool(kernel=(2,), pool_type="lp", p_value=1),
           inputs=[(2, 2, 5)], numpy_ref=lambda x: np_pool(x, (2,), pool_type="sum")),
]

# A nonlinearity after the pool: the second derivative goes through the gradient's
# own backward (the argmax gather for max, pooling again for avg).
SECOND_ORDER_CASES = [
    OpCase("square of max 2-D k3 s2 p1",
           lambda x: nd.square(nd.Pooling(x, kernel=(3, 3), stride=(2, 2), pad=(1, 1))),
           inputs=[distinct((1, 2, 6, 5), 12)],
           torch_ref=lambda x: TF.max_pool2d(x, 3, 2, 1) ** 2),
    OpCase("square of max global (windows view)",
           lambda x: nd.square(nd.Pooling(x, global_pool=True, pool_type="max")),
           inputs=[distinct((2, 2, 4, 4), 13)],
           torch_ref=lambda x: TF.adaptive_max_pool2d(x, 1) ** 2),
    OpCase("square of avg 2-D k2 s1 p1 exclude pad",
           lambda x: nd.square(nd.Pooling(x, kernel=(2, 2), pad=(1, 1), pool_type="avg",
                                          count_include_pad=False)),
           inputs=[(1, 2, 4, 3)],
           torch_ref=lambda x: TF.avg_pool2d(x, 2, 1, 1, count_include_pad=False) ** 2),
    OpCase("max pool of a square, 3-D",
           lambda x: nd.Pooling(x * x, kernel=(2, 2, 2), stride=(1, 2, 2), pool_type="max"),
           inputs=[distinct((1, 1, 3, 4, 4), 14) + 2.5],
           torch_ref=lambda x: TF.max_pool3d(x * x, 2, (1, 2, 2))),
]


@parametrize(MAX_CASES)
def test_max_pooling(case, ctx):
    check(case, ctx)


@parametrize(AVG_CASES)
def test_avg_pooling(case, ctx):
    check(case, ctx)


@parametrize(SUM_CASES + LP_CASES)
def test_sum_and_lp_pooling(case, ctx):
    check(case, ctx)


@parametrize(SECOND_ORDER_CASES)
def test_second_order_through_a_nonlinearity(case, ctx):
    check(case, ctx)


# ------------------------------------------------------------------ semantics
@pytest.mark.parametrize("pool_type,kw", [
    ("max", dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1))),
    ("avg", dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), count_include_pad=False)),
    ("max", dict(global_pool=True)),
])
def test_double_backward_matches_torch(pool_type, kw, ctx):
    """The WGAN-GP pattern: d/dx of a function of d/dx, through the pooling, vs torch."""
    rng = np.random.RandomState(3)
    xh = distinct((2, 3, 6, 7), 15).astype(np.float32)
    hh = rng.standard_normal((2, 3, 7, 7)).astype(np.float32)
    dh = rng.standard_normal(xh.shape).astype(np.float32)
    x = nd.array(xh, ctx=ctx)
    x.attach_grad()
    with fw.autograd.record():
        y = nd.Pooling(x, pool_type=pool_type, **kw)
        h = nd.array(hh[tuple(slice(0, d) for d in y.shape)], ctx=ctx)
        s = (y * y * h).sum()
        g = fw.autograd.grad(s, [x], create_graph=True)[0]
        z = (g * nd.array(dh, ctx=ctx)).sum() + (g * g).sum()
    z.backward()

    t = torch.tensor(xh, requires_grad=True)
    if kw.get("global_pool"):
        ty = TF.adaptive_max_pool2d(t, 1)
    elif pool_type == "max":
        ty = TF.max_pool2d(t, 3, 2, 1)
    else:
        ty = TF.avg_pool2d(t, 3, 2, 1, count_include_pad=False)
    th = torch.from_numpy(hh[tuple(slice(0, d) for d in ty.shape)])
    tg, = torch.autograd.grad((ty * ty * th).sum(), [t], create_graph=True)
    tz = (tg * torch.from_numpy(dh)).sum() + (tg * tg).sum()
    tz.backward()
    assert_almost_equal(g, tg.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert_almost_equal(x.grad, t.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kw,torch_fn", [
    (dict(kernel=(2, 2), stride=(2, 2)), lambda t: TF.max_pool2d(t, 2, 2)),
    (dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1)), lambda t: TF.max_pool2d(t, 3, 1, 1)),
    (dict(kernel=(4, 4), stride=(4, 4)), lambda t: TF.max_pool2d(t, 4, 4)),   # windows view
    (dict(global_pool=True), lambda t: TF.adaptive_max_pool2d(t, 1)),
])
def test_ties_route_to_the_first_maximum_as_torch(kw, torch_fn, ctx):
    xh = np.random.RandomState(0).randint(0, 3, (2, 2, 8, 8)).astype(np.float32)
    gh = np.random.RandomState(1).standard_normal(torch_fn(torch.from_numpy(xh)).shape)
    gh = gh.astype(np.float32)
    x = nd.array(xh, ctx=ctx)
    x.attach_grad()
    with fw.autograd.record():
        y = nd.Pooling(x, **kw)
    y.backward(nd.array(gh, ctx=ctx))
    t = torch.tensor(xh, requires_grad=True)
    torch_fn(t).backward(torch.from_numpy(gh))
    assert_almost_equal(y, torch_fn(torch.from_numpy(xh)).numpy())
    assert_almost_equal(x.grad, t.grad.numpy(), rtol=0, atol=1e-6)


def test_one_graph_node_per_call(ctx):
    x = nd.ones((2, 3, 6, 6), ctx=ctx)
    x.attach_grad()
    for pool_type in ("max", "avg", "sum"):
        with fw.autograd.record():
            y = nd.Pooling(x, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type=pool_type)
        assert y._node.name == "Pooling"
        assert [edge[0] for edge in y._node.parents] == [x._node]


def test_defaults_and_output_shapes():
    x = nd.zeros((2, 3, 7, 7))
    assert nd.Pooling(x, kernel=(2, 2)).shape == (2, 3, 6, 6)                  # stride 1
    assert nd.Pooling(x, kernel=(2, 2), stride=(2, 2)).shape == (2, 3, 3, 3)
    assert nd.Pooling(x, kernel=(2, 2), stride=(2, 2),
                      pooling_convention="full").shape == (2, 3, 4, 4)
    assert nd.Pooling(x, global_pool=True, pool_type="avg").shape == (2, 3, 1, 1)
    assert nd.Pooling(nd.zeros((2, 7, 7, 3)), kernel=(2, 2), stride=(2, 2),
                      layout="NHWC").shape == (2, 3, 3, 3)
    # avg counts the padding by default (MXNet's count_include_pad=True)
    y = nd.Pooling(nd.ones((1, 1, 2, 2)), kernel=(2, 2), pad=(1, 1), pool_type="avg")
    assert_almost_equal(y, np.array([[[[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]]]]))


def test_float16_keeps_dtype_and_accumulates_wider():
    xh = np.random.RandomState(0).uniform(0, 1, (1, 2, 64, 64))
    x = nd.array(xh, dtype="float16")
    for pool_type in ("max", "avg", "sum"):
        y = nd.Pooling(x, global_pool=True, pool_type=pool_type)
        assert y.dtype == np.float16
        expected = np_pool(xh.astype(np.float16), (), pool_type=pool_type, global_pool=True)
        assert_almost_equal(y.astype("float32"), expected.astype(np.float32), rtol=2e-3, atol=0)


def test_out_argument():
    x = nd.array(np.arange(16.0).reshape(1, 1, 4, 4))
    out = nd.zeros((1, 1, 2, 2))
    result = nd.Pooling(x, kernel=(2, 2), stride=(2, 2), out=out)
    assert result is out
    assert_almost_equal(out, np.array([[[[5, 7], [13, 15]]]]))


def test_not_recording_keeps_no_argmax():
    """Inference skips the argmax bookkeeping; forward values are the same."""
    xh = distinct((2, 2, 6, 6))
    x = nd.array(xh)
    assert_almost_equal(nd.Pooling(x, kernel=(3, 3), stride=(2, 2)),
                        np_pool(xh, (3, 3), (2, 2)))


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(), ValueError, "kernel must be given"),
    (dict(kernel=(2, 2), pool_type="median"), ValueError, "pool_type"),
    (dict(kernel=(2, 2), pooling_convention="same"), ValueError, "pooling_convention"),
    (dict(kernel=(2,)), ValueError, "does not fit"),
    (dict(kernel=(2, 2, 2, 2)), ValueError, "does not fit"),
    (dict(kernel=(2, 2), stride=(2,)), ValueError, "stride"),
    (dict(kernel=(2, 2), pad=(1, 1, 1)), ValueError, "pad"),
    (dict(kernel=(0, 2)), ValueError, "positive"),
    (dict(kernel=(2, 2), stride=(0, 1)), ValueError, "positive"),
    (dict(kernel=(9, 2)), ValueError, "exceeds"),
    (dict(kernel=(2, 2), layout="NCW"), ValueError, "layout"),
    (dict(kernel=(2, 2), pool_type="lp"), ValueError, "p_value"),
    (dict(kernel=(2.5, 2)), TypeError, "kernel"),
])
def test_argument_errors(kwargs, error, words):
    x = nd.zeros((1, 2, 5, 5))
    with pytest.raises(error, match=words) as info:
        nd.Pooling(x, **kwargs)
    assert "Pooling" in str(info.value)


def test_dtype_and_type_errors():
    with pytest.raises(TypeError, match="Pooling.*floating-point.*int32"):
        nd.Pooling(nd.zeros((1, 1, 4, 4), dtype="int32"), kernel=(2, 2))
    with pytest.raises(TypeError, match="Pooling.*NDArray"):
        nd.Pooling(np.zeros((1, 1, 4, 4)), kernel=(2, 2))


# ------------------------------------------------------------ parts over threads
@pytest.mark.parametrize("shape,kw", [
    ((6, 5, 8, 8), dict(kernel=(2, 2), stride=(2, 2))),
    ((6, 5, 9, 7), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1))),
    ((6, 5, 9, 7), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg")),
    ((6, 5, 9, 7), dict(kernel=(3, 2), stride=(1, 2), pool_type="sum",
                        pooling_convention="full")),
    ((2, 9, 7, 5), dict(kernel=(2, 2), stride=(2, 2), layout="NHWC")),
    ((3, 4, 10), dict(kernel=(3,), stride=(2,), pad=(1,))),
])
def test_parts_over_threads_give_the_same_bits(shape, kw, monkeypatch):
    """Pooling and its gradient cut into parts along a pooled-free axis (forced here
    for small data) equal the one-piece result exactly, with one thread or two; ties
    still go to the first element."""
    from framework.ndarray.ops import parallel, pooling as pool_ops

    def run():
        pool_ops._windows.cache_clear()
        rng = np.random.RandomState(0)
        xh = rng.standard_normal(shape).astype(np.float32)
        xh[(0, 0) + (slice(0, 2),) * (len(shape) - 2)] = 1.0
        x = nd.array(xh)
        x.attach_grad()
        with fw.autograd.record():
            y = nd.Pooling(x, **kw)
        y.backward(nd.array(rng.standard_normal(y.shape).astype(np.float32)))
        return y.asnumpy(), x.grad.asnumpy()

    expected = run()
    monkeypatch.setattr(pool_ops, "_MIN_PART_SIZE", 1)
    try:
        for threads in (1, 2):
            parallel.set_num_threads(threads)
            for got, want in zip(run(), expected):
                np.testing.assert_array_equal(got, want)
    finally:
        parallel.set_num_threads(None)
        pool_ops._windows.cache_clear()


# ------------------------------------------------------------------ memory order
@pytest.mark.parametrize("shape,strides,expected", [
    ((5, 3, 9, 8), (24, 120, 40, 5), None),                 # C-contiguous (itemsize 1)
    ((5, 3, 9, 8), (1, 360, 40, 5), (1, 2, 3, 0)),          # (C, H, W, N) in memory
    ((5, 3, 9, 8), (1, 360, 5, 45), None),                  # (C, W, H, N): W before H
    ((5, 1, 9, 8), (1, 7, 40, 5), (2, 1, 3, 0)),            # a size-1 axis may sit anywhere
    ((5, 3, 9, 8), (2, 720, 80, 10), None),                 # a strided slice: no frame
])
def test_memory_order_is_found_from_the_strides(shape, strides, expected):
    from framework.ndarray.ops.pooling import _memory_order
    assert _memory_order(shape, strides, 1, (2, 3)) == expected


@pytest.mark.parametrize("pool_type", ["max", "avg", "sum"])
@pytest.mark.parametrize("kw", [
    dict(kernel=(2, 2), stride=(2, 2)),
    dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pooling_convention="full"),
    dict(kernel=(3, 2), stride=(1, 1)),
    dict(global_pool=True),
])
def test_pooling_in_the_inputs_memory_order_gives_the_same_bits(pool_type, kw, ctx):
    """A (N, C, H, W) input whose memory is (C, H, W, N) (a transposed view, as a
    batch-last convolution's output) is pooled in that order: the values and the
    gradients of order 1 and 2 equal the contiguous input's bit for bit, and the output
    keeps the input's memory order (the batch innermost). Global pooling reduces a
    windows view as it lies, so its sums round differently: to float64 rounding."""
    framed = not kw.get("global_pool")
    xh = distinct((5, 3, 9, 8))
    results = []
    for batch_last in (False, True):
        base = np.ascontiguousarray(xh.transpose(1, 2, 3, 0)) if batch_last else xh
        leaf = nd.array(base, ctx=ctx, dtype="float64")
        leaf.attach_grad()
        with fw.autograd.record():
            x = nd.transpose(leaf, axes=(3, 0, 1, 2)) if batch_last else leaf
            y = nd.Pooling(x, pool_type=pool_type, **kw)
            gx, = fw.autograd.grad(nd.sum(y * y * y), [leaf], create_graph=True)
            penalty = nd.sum(gx * gx)
        penalty.backward()
        if batch_last and framed:
            assert x._data.strides[0] == 8 and y._data.strides[0] == 8
        back = (lambda a: a.transpose(3, 0, 1, 2)) if batch_last else (lambda a: a)
        results.append([y.asnumpy(), back(gx.asnumpy()), back(leaf.grad.asnumpy())])
    for got, want in zip(*results):
        if framed or pool_type == "max":
            np.testing.assert_array_equal(got, want)
        else:
            assert_almost_equal(got, want, rtol=1e-12, atol=1e-12)
