"""BatchNorm, LayerNorm, InstanceNorm, GroupNorm: forward against NumPy and torch in training
and predict mode, gradients of order 1 and 2, MXNet's running-statistics rule, float16
input, and argument errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from framework import autograd, nd
from framework.test_utils import assert_almost_equal, check_numeric_gradient

from op_harness import OpCase, check, parametrize


# ----------------------------------------------------------- NumPy references
def np_norm(x, axes, gamma, beta, pshape, eps, mean=None, var=None):
    """(x - mean) / sqrt(var + eps) * gamma + beta; biased batch statistics over ``axes``
    unless ``mean``/``var`` are given."""
    if mean is None:
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma.reshape(pshape) + beta.reshape(pshape)


def np_bn(x, g, b, mm, mv, axis=1, eps=1e-3, fix_gamma=False, batch=True):
    axis %= x.ndim
    axes = tuple(a for a in range(x.ndim) if a != axis)
    pshape = tuple(x.shape[axis] if a == axis else 1 for a in range(x.ndim))
    g = np.ones_like(g) if fix_gamma else g
    if batch:
        return np_norm(x, axes, g, b, pshape, eps)
    return np_norm(x, axes, g, b, pshape, eps, mm.reshape(pshape), mv.reshape(pshape))


def np_ln(x, g, b, axis=-1, eps=1e-5):
    axis %= x.ndim
    pshape = tuple(x.shape[axis] if a == axis else 1 for a in range(x.ndim))
    return np_norm(x, (axis,), g, b, pshape, eps)


def np_in(x, g, b, eps=1e-3):
    pshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return np_norm(x, tuple(range(2, x.ndim)), g, b, pshape, eps)


def np_gn(x, g, b, num_groups, eps=1e-5):
    n = x.shape[0]
    xg = x.reshape(n, num_groups, -1)
    return np_norm(xg, (2,), g, b, (1, num_groups, 1), eps).reshape(x.shape)


# ----------------------------------------------------------- torch references
def torch_bn(x, g, b, mm=None, mv=None, axis=1, eps=1e-3, fix_gamma=False, batch=True):
    xt = x.movedim(axis, 1)
    if batch:
        y = TF.batch_norm(xt, None, None, None if fix_gamma else g, b, training=True, eps=eps)
    else:
        y = TF.batch_norm(xt, mm.detach(), mv.detach(), None if fix_gamma else g, b,
                          training=False, eps=eps)
    return y.movedim(1, axis)


def torch_gn(x, g, b, num_groups, eps=1e-5):
    """MXNet 1.x GroupNorm: gamma and beta per group."""
    n = x.shape[0]
    y = TF.group_norm(x, num_groups, eps=eps).reshape(n, num_groups, -1)
    return (y * g.reshape(1, -1, 1) + b.reshape(1, -1, 1)).reshape(x.shape)


def bn_inputs(shape, axis=1):
    c = shape[axis]
    mm = np.linspace(-0.3, 0.3, c)
    mv = np.linspace(0.5, 2.0, c)
    return [shape, (c,), (c,), mm, mv]


BN = (0, 1, 2)       # differentiated inputs of BatchNorm (not the running statistics)

CASES = [
    # ---- BatchNorm, training mode: batch statistics
    OpCase("BatchNorm train NCHW",
           lambda x, g, b, mm, mv: nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False),
           inputs=bn_inputs((3, 3, 2, 2)), grad_inputs=BN, train=True,
           numpy_ref=np_bn, torch_ref=lambda x, g, b, mm, mv: torch_bn(x, g, b)),
    OpCase("BatchNorm train fix_gamma (gamma is 1, its gradient 0)",
           lambda x, g, b, mm, mv: nd.BatchNorm(x, g, b, mm, mv, eps=1e-5),
           inputs=bn_inputs((4, 3, 3)), grad_inputs=BN, train=True,
           numpy_ref=lambda *a: np_bn(*a, eps=1e-5, fix_gamma=True),
           torch_ref=lambda x, g, b, mm, mv: torch_bn(x, g, b, eps=1e-5, fix_gamma=True)),
    OpCase("BatchNorm train 2-D, axis=-1",
           lambda x, g, b, mm, mv: nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False, axis=-1),
           inputs=bn_inputs((5, 3), -1), grad_inputs=BN, train=True,
           numpy_ref=lambda *a: np_bn(*a, axis=-1),
           torch_ref=lambda x, g, b, mm, mv: torch_bn(x, g, b, axis=-1)),
    OpCase("BatchNorm train channels last (NHWC, axis=3)",
           lambda x, g, b, mm, mv: nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False, axis=3),
           inputs=bn_inputs((2, 2, 3, 4), 3), grad_inputs=BN, train=True,
           numpy_ref=lambda *a: np_bn(*a, axis=3),
           torch_ref=lambda x, g, b, mm, mv: torch_bn(x, g, b, axis=3)),
    # ---- BatchNorm with the running statistics
    OpCase("BatchNorm predict NCHW",
           lambda x, g, b, mm, mv: nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False),
           inputs=bn_inputs((2, 3, 2, 2)), grad_inputs=BN, train=False,
           numpy_ref=lambda *a: np_bn(*a, batch=False),
           torch_ref=lambda *a: torch_bn(*a, batch=False)),
    OpCase("BatchNorm predict fix_gamma",
           lambda x, g, b, mm, mv: nd.BatchNorm(x, g, b, mm, mv),
           inputs=bn_inputs((2, 3, 4)), grad_inputs=BN, train=False,
           numpy_ref=lambda *a: np_bn(*a, batch=False, fix_gamma=True),
           torch_ref=lambda *a: torch_bn(*a, batch=False, fix_gamma=True)),
    OpCase("BatchNorm use_global_stats in training mode",
           lambda x, g, b, mm, mv: nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False,
                                                use_global_stats=True, axis=0),
           inputs=bn_inputs((3, 4), 0), grad_inputs=BN, train=True,
           numpy_ref=lambda *a: np_bn(*a, axis=0, batch=False),
           torch_ref=lambda *a: torch_bn(*a, axis=0, batch=False)),
    # ---- statistics outputs (their gradients are blocked, so no numeric check)
    OpCase("BatchNorm train output_mean_var: mean and inverse std",
           lambda x, g, b, mm, mv: nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False,
                                                output_mean_var=True),
           inputs=bn_inputs((4, 3, 2)), grad_inputs=BN, train=True, orders=(),
           numpy_ref=lambda x, g, b, mm, mv: (
               np_bn(x, g, b, mm, mv), x.mean(axis=(0, 2)),
               1 / np.sqrt(x.var(axis=(0, 2)) + 1e-3)),
           torch_ref=lambda x, g, b, mm, mv: (
               torch_bn(x, g, b), x.mean(dim=(0, 2)).detach(),
               torch.rsqrt(x.var(dim=(0, 2), unbiased=False) + 1e-3).detach())),
    OpCase("BatchNorm predict output_mean_var: the running statistics",
           lambda x, g, b, mm, mv: nd.BatchNorm(x, g, b, mm, mv, output_mean_var=True),
           inputs=bn_inputs((2, 3)), grad_inputs=BN, train=False, orders=(),
           numpy_ref=lambda x, g, b, mm, mv: (
               np_bn(x, g, b, mm, mv, fix_gamma=True, batch=False), mm,
               1 / np.sqrt(mv + 1e-3))),
    # ---- LayerNorm
    OpCase("LayerNorm last axis", lambda x, g, b: nd.LayerNorm(x, g, b),
           inputs=[(3, 5), (5,), (5,)], numpy_ref=np_ln,
           torch_ref=lambda x, g, b: TF.layer_norm(x, (5,), g, b, eps=1e-5)),
    OpCase("LayerNorm 3-D last axis, training mode (same result)",
           lambda x, g, b: nd.LayerNorm(x, g, b, eps=1e-3),
           inputs=[(2, 3, 4), (4,), (4,)], train=True,
           numpy_ref=lambda x, g, b: np_ln(x, g, b, eps=1e-3),
           torch_ref=lambda x, g, b: TF.layer_norm(x, (4,), g, b, eps=1e-3)),
    OpCase("LayerNorm axis=1", lambda x, g, b: nd.LayerNorm(x, g, b, axis=1),
           inputs=[(2, 3, 4), (3,), (3,)], numpy_ref=lambda x, g, b: np_ln(x, g, b, axis=1),
           torch_ref=lambda x, g, b: TF.layer_norm(x.movedim(1, -1), (3,), g, b,
                                                   eps=1e-5).movedim(-1, 1)),
    OpCase("LayerNorm output_mean_var: mean and std",
           lambda x, g, b: nd.LayerNorm(x, g, b, output_mean_var=True),
           inputs=[(3, 4), (4,), (4,)], orders=(),
           numpy_ref=lambda x, g, b: (np_ln(x, g, b), x.mean(axis=-1, keepdims=True),
                                      np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5)),
           torch_ref=lambda x, g, b: (
               TF.layer_norm(x, (4,), g, b), x.mean(dim=-1, keepdim=True).detach(),
               torch.sqrt(x.var(dim=-1, unbiased=False, keepdim=True) + 1e-5).detach())),
    # ---- InstanceNorm
    OpCase("InstanceNorm (N, C, W)", lambda x, g, b: nd.InstanceNorm(x, g, b),
           inputs=[(2, 3, 4), (3,), (3,)], numpy_ref=np_in,
           torch_ref=lambda x, g, b: TF.instance_norm(x, weight=g, bias=b, eps=1e-3)),
    OpCase("InstanceNorm (N, C, H, W)", lambda x, g, b: nd.InstanceNorm(x, g, b, eps=1e-5),
           inputs=[(2, 2, 2, 3), (2,), (2,)], train=True,
           numpy_ref=lambda x, g, b: np_in(x, g, b, eps=1e-5),
           torch_ref=lambda x, g, b: TF.instance_norm(x, weight=g, bias=b, eps=1e-5)),
    # ---- GroupNorm (gamma, beta per group: MXNet 1.x)
    OpCase("GroupNorm 2 groups", lambda x, g, b: nd.GroupNorm(x, g, b, num_groups=2),
           inputs=[(2, 4, 3), (2,), (2,)], numpy_ref=lambda x, g, b: np_gn(x, g, b, 2),
           torch_ref=lambda x, g, b: torch_gn(x, g, b, 2)),
    OpCase("GroupNorm 3 groups NCHW", lambda x, g, b: nd.GroupNorm(x, g, b, num_groups=3,
                                                                   eps=1e-3),
           inputs=[(2, 6, 2, 1), (3,), (3,)],
           numpy_ref=lambda x, g, b: np_gn(x, g, b, 3, 1e-3),
           torch_ref=lambda x, g, b: torch_gn(x, g, b, 3, 1e-3)),
    OpCase("GroupNorm 1 group", lambda x, g, b: nd.GroupNorm(x, g, b),
           inputs=[(3, 2, 3), (1,), (1,)], numpy_ref=lambda x, g, b: np_gn(x, g, b, 1),
           torch_ref=lambda x, g, b: torch_gn(x, g, b, 1)),
    OpCase("GroupNorm output_mean_var: mean and std (N, G)",
           lambda x, g, b: nd.GroupNorm(x, g, b, num_groups=2, output_mean_var=True),
           inputs=[(2, 4, 3), (2,), (2,)], orders=(),
           numpy_ref=lambda x, g, b: (
               np_gn(x, g, b, 2), x.reshape(2, 2, -1).mean(-1),
               np.sqrt(x.reshape(2, 2, -1).var(-1) + 1e-5))),
]


@parametrize(CASES)
def test_normalization(case, ctx):
    check(case, ctx)


def test_third_order_batch_norm_training(ctx):
    rng = np.random.RandomState(3)
    mm, mv = nd.zeros(2, ctx=ctx, dtype="float64"), nd.ones(2, ctx=ctx, dtype="float64")

    def fn(x, g, b):
        with autograd.train_mode():
            return nd.tanh(nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False))

    check_numeric_gradient(fn, [rng.standard_normal((3, 2, 2)), rng.standard_normal(2),
                                rng.standard_normal(2)], order=3, ctx=ctx)


# ------------------------------------------------------- running statistics
def mxnet_running_update(mm, mv, x, axis, momentum, steps):
    """MXNet's rule on a NumPy copy: biased batch variance."""
    axes = tuple(a for a in range(x[0].ndim) if a != axis % x[0].ndim)
    for xb in x[:steps]:
        mm = mm * momentum + xb.mean(axis=axes) * (1 - momentum)
        mv = mv * momentum + xb.var(axis=axes) * (1 - momentum)
    return mm, mv


@pytest.mark.parametrize("shape,axis,momentum", [((4, 3, 2, 2), 1, 0.9),
                                                 ((6, 3), -1, 0.7),
                                                 ((2, 2, 3), 2, 0.99)])
def test_running_statistics_follow_mxnet_rule(shape, axis, momentum, ctx):
    rng = np.random.RandomState(7)
    c = shape[axis]
    batches = [rng.standard_normal(shape) * 2 + 1 for _ in range(4)]
    mm, mv = nd.zeros(c, ctx=ctx), nd.ones(c, ctx=ctx)
    g, b = nd.ones(c, ctx=ctx), nd.zeros(c, ctx=ctx)
    for xb in batches:
        x = nd.array(xb, ctx=ctx)
        x.attach_grad()
        with autograd.record():                 # record() trains by default
            y = nd.BatchNorm(x, g, b, mm, mv, momentum=momentum, axis=axis)
        y.backward()
    ref_mm, ref_mv = mxnet_running_update(np.zeros(c), np.ones(c), batches, axis, momentum, 4)
    assert_almost_equal(mm, ref_mm, rtol=1e-5, atol=1e-6)
    assert_almost_equal(mv, ref_mv, rtol=1e-5, atol=1e-6)


def test_running_statistics_move_in_train_mode_without_recording(ctx):
    x = nd.array(np.arange(12.0).reshape(4, 3), ctx=ctx)
    mm, mv = nd.zeros(3, ctx=ctx), nd.ones(3, ctx=ctx)
    with autograd.train_mode():
        nd.BatchNorm(x, nd.ones(3, ctx=ctx), nd.zeros(3, ctx=ctx), mm, mv, axis=1)
    assert_almost_equal(mm, x.asnumpy().mean(0) * 0.1)
    assert_almost_equal(mv, 0.9 + x.asnumpy().var(0) * 0.1)


@pytest.mark.parametrize("mode", ["predict", "record predict", "global stats"])
def test_running_statistics_unchanged(mode, ctx):
    x = nd.array(np.random.RandomState(0).standard_normal((4, 3, 2)), ctx=ctx)
    mm = nd.array([0.1, 0.2, 0.3], ctx=ctx)
    mv = nd.array([1.0, 2.0, 3.0], ctx=ctx)
    g, b = nd.ones(3, ctx=ctx), nd.zeros(3, ctx=ctx)
    versions = (mm._version[0], mv._version[0])
    if mode == "predict":
        nd.BatchNorm(x, g, b, mm, mv)
    elif mode == "record predict":
        x.attach_grad()
        with autograd.record(train_mode=False):
            y = nd.BatchNorm(x, g, b, mm, mv)
        y.backward()
    else:
        with autograd.record():
            nd.BatchNorm(x, g, b, mm, mv, use_global_stats=True)
    assert_almost_equal(mm, np.array([0.1, 0.2, 0.3], np.float32))
    assert_almost_equal(mv, np.array([1.0, 2.0, 3.0], np.float32))
    assert (mm._version[0], mv._version[0]) == versions


def test_one_layer_twice_in_one_graph(ctx):
    """Two training calls on the same running statistics: the second call's in-place
    update does not break the first call's backward, and both use their own batch."""
    rng = np.random.RandomState(2)
    x1h, x2h = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    mm, mv = nd.zeros(3, ctx=ctx), nd.ones(3, ctx=ctx)
    g, b = nd.array(rng.rand(3) + 0.5, ctx=ctx), nd.zeros(3, ctx=ctx)
    g.attach_grad()
    x1, x2 = nd.array(x1h, ctx=ctx), nd.array(x2h, ctx=ctx)
    x1.attach_grad()
    with autograd.record():
        y = nd.BatchNorm(x1, g, b, mm, mv, fix_gamma=False) * nd.BatchNorm(
            x2, g, b, mm, mv, fix_gamma=False)
    y.backward()
    xt1 = torch.tensor(x1h, dtype=torch.float32, requires_grad=True)
    gt = torch.tensor(g.asnumpy(), requires_grad=True)
    yt = (TF.batch_norm(xt1, None, None, gt, None, training=True, eps=1e-3)
          * TF.batch_norm(torch.tensor(x2h, dtype=torch.float32), None, None, gt, None,
                          training=True, eps=1e-3))
    yt.sum().backward()
    assert_almost_equal(y, yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert_almost_equal(x1.grad, xt1.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert_almost_equal(g.grad, gt.grad.numpy(), rtol=1e-4, atol=1e-5)
    ref_mm, ref_mv = mxnet_running_update(np.zeros(3), np.ones(3), [x1h, x2h], 1, 0.9, 2)
    assert_almost_equal(mm, ref_mm, rtol=1e-5, atol=1e-6)
    assert_almost_equal(mv, ref_mv, rtol=1e-5, atol=1e-6)


def test_predict_call_keeps_the_statistics_it_used(ctx):
    """A predict-mode call, then a training call moving the same statistics, in one graph:
    the first call's gradient uses the statistics of its forward pass."""
    xh = np.random.RandomState(4).standard_normal((4, 3))
    mm, mv = nd.array([0.1, 0.2, 0.3], ctx=ctx), nd.array([1.0, 2.0, 4.0], ctx=ctx)
    g, b = nd.ones(3, ctx=ctx), nd.zeros(3, ctx=ctx)
    x = nd.array(xh, ctx=ctx)
    x.attach_grad()
    with autograd.record(train_mode=False):
        y = nd.BatchNorm(x, g, b, mm, mv)
        with autograd.train_mode():
            nd.BatchNorm(x * 3, g, b, mm, mv)
    y.backward()
    assert_almost_equal(x.grad, np.tile(1 / np.sqrt(np.array([1.0, 2.0, 4.0]) + 1e-3),
                                        (4, 1)), rtol=1e-5, atol=1e-6)


def test_running_statistics_write_bumps_their_version(ctx):
    """Another op that saved the running mean for its gradient sees it change: its
    backward raises instead of using the new value."""
    mm, mv = nd.zeros(3, ctx=ctx), nd.ones(3, ctx=ctx)
    w = nd.ones(3, ctx=ctx)
    w.attach_grad()
    with autograd.record():
        z = w * mm                                    # saves mm for w's gradient
        nd.BatchNorm(nd.ones((2, 3), ctx=ctx), nd.ones(3, ctx=ctx), nd.zeros(3, ctx=ctx),
                     mm, mv)
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_statistics_outputs_carry_no_gradient(ctx):
    x = nd.array(np.random.RandomState(1).standard_normal((4, 3)), ctx=ctx)
    g = nd.ones(3, ctx=ctx)
    x.attach_grad()
    g.attach_grad()
    with autograd.record():
        _, mean, invstd = nd.BatchNorm(x, g, nd.zeros(3, ctx=ctx), nd.zeros(3, ctx=ctx),
                                       nd.ones(3, ctx=ctx), output_mean_var=True,
                                       fix_gamma=False)
        total = mean.sum() + invstd.sum()
    total.backward()
    assert_almost_equal(x.grad, np.zeros((4, 3), np.float32))
    assert_almost_equal(g.grad, np.zeros(3, np.float32))


def test_one_graph_node_per_call(ctx):
    x, g, b = nd.ones((2, 3, 2), ctx=ctx), nd.ones(3, ctx=ctx), nd.zeros(3, ctx=ctx)
    for a in (x, g, b):
        a.attach_grad()
    with autograd.record():
        outs = [nd.BatchNorm(x, g, b, nd.zeros(3, ctx=ctx), nd.ones(3, ctx=ctx)),
                nd.LayerNorm(x, nd.ones(2, ctx=ctx), nd.zeros(2, ctx=ctx)),
                nd.InstanceNorm(x, g, b),
                nd.GroupNorm(x, nd.ones(1, ctx=ctx), nd.zeros(1, ctx=ctx))]
    for y, name in zip(outs, ["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm"]):
        assert y._node.name == name
        assert y._node.parents[0][0] is x._node


# ------------------------------------------------------------------ float16
def test_float16_batch_norm_accumulates_in_float32(ctx):
    """4096 values of about 100 per channel: a float16 sum would overflow (max 65504)."""
    rng = np.random.RandomState(0)
    xh = (100 + rng.standard_normal((4096, 2))).astype(np.float16)
    x = nd.array(xh, ctx=ctx, dtype="float16")
    g = nd.array([1.5, 0.5], ctx=ctx)                  # float32 parameters, as MXNet
    b = nd.array([0.1, -0.1], ctx=ctx)
    mm, mv = nd.zeros(2, ctx=ctx), nd.ones(2, ctx=ctx)
    x.attach_grad()
    g.attach_grad()
    with autograd.record():
        y = nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False)
    head = rng.standard_normal(y.shape).astype(np.float16)
    y.backward(nd.array(head, ctx=ctx, dtype="float16"))
    assert y.dtype == np.float16 and x.grad.dtype == np.float16 and g.grad.dtype == np.float32
    xt = torch.tensor(xh.astype(np.float32), requires_grad=True)
    gt = torch.tensor([1.5, 0.5], requires_grad=True)
    yt = TF.batch_norm(xt, None, None, gt, torch.tensor([0.1, -0.1]), training=True, eps=1e-3)
    yt.backward(torch.from_numpy(head.astype(np.float32)))
    assert np.isfinite(y.asnumpy()).all()
    assert_almost_equal(y.asnumpy().astype(np.float32), yt.detach().numpy(), rtol=1e-2,
                        atol=1e-2)
    assert_almost_equal(x.grad.asnumpy().astype(np.float32), xt.grad.numpy(), rtol=1e-2,
                        atol=1e-2)
    assert_almost_equal(g.grad, gt.grad.numpy(), rtol=1e-3, atol=1e-1)
    assert_almost_equal(mm, xh.astype(np.float64).mean(0) * 0.1, rtol=1e-3)


@pytest.mark.parametrize("op", ["LayerNorm", "InstanceNorm", "GroupNorm"])
def test_float16_with_float16_parameters(op, ctx):
    rng = np.random.RandomState(1)
    xh = rng.standard_normal((2, 4, 8)).astype(np.float16)
    c = {"LayerNorm": 8, "InstanceNorm": 4, "GroupNorm": 2}[op]
    call = {"LayerNorm": lambda x, g, b: nd.LayerNorm(x, g, b),
            "InstanceNorm": lambda x, g, b: nd.InstanceNorm(x, g, b),
            "GroupNorm": lambda x, g, b: nd.GroupNorm(x, g, b, num_groups=2)}[op]
    gh = (rng.rand(c) + 0.5).astype(np.float16)
    bh = rng.standard_normal(c).astype(np.float16)
    arrays = [nd.array(a, ctx=ctx, dtype="float16") for a in (xh, gh, bh)]
    for a in arrays:
        a.attach_grad()
    with autograd.record():
        y = call(*arrays)
    y.backward()
    ref = [nd.array(a.astype(np.float32), ctx=ctx) for a in (xh, gh, bh)]
    for a in ref:
        a.attach_grad()
    with autograd.record():
        y32 = call(*ref)
    y32.backward()
    assert y.dtype == np.float16
    assert_almost_equal(y.asnumpy().astype(np.float32), y32.asnumpy(), rtol=1e-2, atol=1e-2)
    for a, r in zip(arrays, ref):
        assert a.grad.dtype == np.float16
        assert_almost_equal(a.grad.asnumpy().astype(np.float32), r.grad.asnumpy(), rtol=1e-2,
                            atol=2e-2)


# ------------------------------------------------------------------- errors
def test_argument_errors(ctx):
    x = nd.ones((2, 3, 4), ctx=ctx)
    one3, zero3 = nd.ones(3, ctx=ctx), nd.zeros(3, ctx=ctx)
    with pytest.raises(ValueError, match=r"BatchNorm: gamma has shape \(4,\), expected \(3,\)"):
        nd.BatchNorm(x, nd.ones(4, ctx=ctx), zero3, zero3, one3)
    with pytest.raises(ValueError, match=r"BatchNorm: axis 3 is out of range"):
        nd.BatchNorm(x, one3, zero3, zero3, one3, axis=3)
    with pytest.raises(TypeError, match=r"BatchNorm: data must be a floating-point array"):
        nd.BatchNorm(nd.ones((2, 3), ctx=ctx, dtype="int32"), one3, zero3, zero3, one3)
    with pytest.raises(TypeError, match=r"BatchNorm: moving_var has dtype float64, expected "
                                        r"float32"):
        nd.BatchNorm(x, one3, zero3, zero3, nd.ones(3, ctx=ctx, dtype="float64"))
    with pytest.raises(TypeError, match="BatchNorm: moving_mean must be an NDArray"):
        nd.BatchNorm(x, one3, zero3, np.zeros(3), one3)
    with pytest.raises(ValueError, match=r"LayerNorm: beta has shape \(3,\), expected \(4,\)"):
        nd.LayerNorm(x, nd.ones(4, ctx=ctx), zero3)
    with pytest.raises(ValueError, match=r"InstanceNorm: data must have at least 3 dim"):
        nd.InstanceNorm(nd.ones((2, 3), ctx=ctx), one3, zero3)
    with pytest.raises(ValueError, match=r"GroupNorm: the 3 channels .* num_groups=2"):
        nd.GroupNorm(x, nd.ones(2, ctx=ctx), nd.zeros(2, ctx=ctx), num_groups=2)
    with pytest.raises(ValueError, match=r"GroupNorm: gamma has shape \(3,\), expected \(1,\)"):
        nd.GroupNorm(x, one3, zero3)
    with pytest.raises(ValueError, match="GroupNorm: num_groups must be a positive int"):
        nd.GroupNorm(x, one3, zero3, num_groups=0)
    with pytest.raises(ValueError, match="LayerNorm: eps must be >= 0"):
        nd.LayerNorm(x, nd.ones(4, ctx=ctx), nd.zeros(4, ctx=ctx), eps=-1)
    with pytest.raises(TypeError, match="LayerNorm: out= needs a single result"):
        nd.LayerNorm(x, nd.ones(4, ctx=ctx), nd.zeros(4, ctx=ctx), output_mean_var=True,
                     out=nd.zeros((2, 3, 4), ctx=ctx))


def test_out_argument(ctx):
    x = nd.array(np.random.RandomState(0).standard_normal((2, 4)), ctx=ctx)
    out = nd.zeros((2, 4), ctx=ctx)
    got = nd.LayerNorm(x, nd.ones(4, ctx=ctx), nd.zeros(4, ctx=ctx), out=out)
    assert got is out
    assert_almost_equal(out, np_ln(x.asnumpy().astype(np.float64), np.ones(4), np.zeros(4)),
                        rtol=1e-5, atol=1e-5)


def test_fix_gamma_does_not_keep_gamma(ctx):
    """With fix_gamma, gamma is not read by backward: updating it in place before
    backward (an optimizer step) is allowed."""
    x, g = nd.ones((2, 3), ctx=ctx), nd.ones(3, ctx=ctx)
    x.attach_grad()
    with autograd.record():
        y = nd.BatchNorm(x, g, nd.zeros(3, ctx=ctx), nd.zeros(3, ctx=ctx), nd.ones(3, ctx=ctx))
    g += 1
    y.backward()
    assert_almost_equal(x.grad, np.zeros((2, 3), np.float32))
