"""Normalisation layers against torch.nn (weights copied, same inputs): forward, input and
parameter gradients in float32, running statistics over training steps, predict mode,
reprs, deferred in_channels."""
import numpy as np
import pytest
import torch

import framework as fw
from framework import autograd, nd
from framework.test_utils import assert_almost_equal

from op_harness import layer_step, torch_step

TOL = dict(rtol=1e-4, atol=1e-5)


def _r(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)




def _copy_affine(layer, module, rng):
    """Random gamma/beta into both layers (so the gradients are not trivial)."""
    c = module.weight.shape[0]
    g, b = (rng.rand(c) + 0.5).astype(np.float32), _r(rng, c)
    layer.gamma.set_data(nd.array(g))
    layer.beta.set_data(nd.array(b))
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(g))
        module.bias.copy_(torch.from_numpy(b))


# ---------------------------------------------------------------- BatchNorm
@pytest.mark.parametrize("shape,axis", [((4, 3, 5, 5), 1), ((6, 4), 1), ((3, 5, 4), -1)])
def test_batch_norm_matches_torch_over_training_steps(shape, axis, ctx):
    rng = np.random.RandomState(0)
    c = shape[axis]
    layer = fw.nn.BatchNorm(axis=axis)
    layer.initialize(ctx=ctx)
    module = torch.nn.BatchNorm2d(c) if len(shape) == 4 else torch.nn.BatchNorm1d(c)

    def torch_forward(xt):            # torch wants the channels on axis 1
        return module(xt.movedim(axis, 1)).movedim(1, axis)

    layer(nd.zeros(shape, ctx=ctx))                     # infers in_channels (predict mode)
    _copy_affine(layer, module, rng)
    n = np.prod(shape) // c
    steps = 3
    for _ in range(steps):
        xh, head = _r(rng, *shape) * 2 + 1, _r(rng, *shape)
        layer.gamma.zero_grad()
        layer.beta.zero_grad()
        module.zero_grad()
        y, gx = layer_step(layer, xh, head, ctx, train=True)
        yt, gxt = torch_step(torch_forward, xh, head)
        assert_almost_equal(y, yt, **TOL)
        assert_almost_equal(gx, gxt, **TOL)
        assert_almost_equal(layer.gamma.grad(ctx), module.weight.grad.numpy(), **TOL)
        assert_almost_equal(layer.beta.grad(ctx), module.bias.grad.numpy(), rtol=1e-4,
                            atol=1e-4)
    # running mean: the same rule (torch's momentum 0.1 is MXNet's 0.9)
    assert_almost_equal(layer.running_mean.data(ctx), module.running_mean.numpy(), **TOL)
    # running var: torch moves it with the unbiased variance, MXNet with the biased one;
    # from var_1 = 1 both are 0.9^k + sum_i 0.9^(k-i) 0.1 v_i, with v_i scaled by n/(n-1)
    decay = 0.9 ** steps
    expected = decay + (module.running_var.numpy() - decay) * (n - 1) / n
    assert_almost_equal(layer.running_var.data(ctx), expected, **TOL)

    # predict mode: the running statistics, unchanged by the call
    module.eval()
    with torch.no_grad():
        module.running_var.copy_(torch.from_numpy(layer.running_var.data(ctx).asnumpy()))
    before = layer.running_var.data(ctx).asnumpy()
    xh, head = _r(rng, *shape), _r(rng, *shape)
    y, gx = layer_step(layer, xh, head, ctx, train=False)
    yt, gxt = torch_step(torch_forward, xh, head)
    assert_almost_equal(y, yt, **TOL)
    assert_almost_equal(gx, gxt, **TOL)
    assert_almost_equal(layer.running_var.data(ctx), before, rtol=0, atol=0)


def test_batch_norm_scale_and_center_off(ctx):
    """scale=False: gamma fixed at 1 (fix_gamma) and not learned; center=False: no beta
    gradient. Against torch with weight 1 and bias 0."""
    rng = np.random.RandomState(1)
    layer = fw.nn.BatchNorm(scale=False, center=False, in_channels=3)
    layer.initialize(ctx=ctx)
    layer.gamma.set_data(nd.array([2.0, 3.0, 4.0]))      # ignored: fix_gamma
    assert layer.gamma.grad_req == "null" and layer.beta.grad_req == "null"
    assert layer.running_mean.grad_req == "null" and layer.running_var.grad_req == "null"
    module = torch.nn.BatchNorm2d(3, affine=False)
    xh, head = _r(rng, 2, 3, 2, 2), _r(rng, 2, 3, 2, 2)
    y, gx = layer_step(layer, xh, head, ctx, train=True)
    yt, gxt = torch_step(module, xh, head)
    assert_almost_equal(y, yt, **TOL)
    assert_almost_equal(gx, gxt, **TOL)


def test_batch_norm_use_global_stats(ctx):
    layer = fw.nn.BatchNorm(use_global_stats=True, in_channels=2)
    layer.initialize(ctx=ctx)
    layer.running_mean.set_data(nd.array([1.0, -1.0]))
    layer.running_var.set_data(nd.array([4.0, 0.25]))
    xh = np.array([[1.0, 0.0], [3.0, -2.0]], np.float32)
    with autograd.record():
        y = layer(nd.array(xh, ctx=ctx))
    expected = (xh - np.array([1.0, -1.0])) / np.sqrt(np.array([4.0, 0.25]) + 1e-5)
    assert_almost_equal(y, expected, **TOL)
    assert_almost_equal(layer.running_mean.data(ctx), np.array([1.0, -1.0], np.float32))


def test_batch_norm_params_and_repr():
    layer = fw.nn.BatchNorm()
    assert repr(layer) == ("BatchNorm(axis=1, eps=1e-05, momentum=0.9, fix_gamma=False, "
                           "use_global_stats=False, in_channels=None)")
    names = list(layer.collect_params().keys())
    assert names == [layer.prefix + n for n in ("gamma", "beta", "running_mean", "running_var")]
    layer.initialize()
    layer(nd.ones((2, 5, 3)))
    assert repr(layer).endswith("in_channels=5)")
    assert all(p.shape == (5,) for p in layer.collect_params().values())
    assert repr(fw.nn.BatchNorm(scale=False, momentum=0.8, in_channels=2, axis=-1)) == (
        "BatchNorm(axis=-1, eps=1e-05, momentum=0.8, fix_gamma=True, "
        "use_global_stats=False, in_channels=2)")


def test_batch_norm_float16_keeps_float32_parameters(ctx):
    rng = np.random.RandomState(2)
    layer = fw.nn.BatchNorm(in_channels=3)
    layer.initialize(ctx=ctx)
    layer.cast("float16")
    assert all(p.dtype in ("float32", np.float32) for p in layer.collect_params().values())
    xh = _r(rng, 4, 3, 2)
    x = nd.array(xh, ctx=ctx, dtype="float16")
    x.attach_grad()
    with autograd.record():
        y = layer(x)
    y.backward()
    assert y.dtype == np.float16 and x.grad.dtype == np.float16
    ref = torch.nn.functional.batch_norm(torch.from_numpy(xh), None, None, training=True,
                                         eps=1e-5)
    assert_almost_equal(y.asnumpy().astype(np.float32), ref.numpy(), rtol=1e-2, atol=1e-2)
    assert_almost_equal(layer.running_mean.data(ctx), xh.mean(axis=(0, 2)) * 0.1,
                        rtol=1e-2, atol=1e-3)


def test_batch_norm_deferred_shape_error_names_the_block():
    layer = fw.nn.BatchNorm(axis=3)
    layer.initialize()
    with pytest.raises(ValueError, match=r"BatchNorm.*axis 3 is out of range for input of "
                                         r"shape \(2, 3\)"):
        layer(nd.ones((2, 3)))


# ---------------------------------------------------------------- LayerNorm
@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 5)])
def test_layer_norm_matches_torch(shape, ctx):
    rng = np.random.RandomState(3)
    c = shape[-1]
    layer = fw.nn.LayerNorm()
    layer.initialize(ctx=ctx)
    module = torch.nn.LayerNorm(c)
    layer(nd.zeros(shape, ctx=ctx))
    _copy_affine(layer, module, rng)
    xh, head = _r(rng, *shape), _r(rng, *shape)
    for train in (True, False):            # the same in both modes
        layer.collect_params().zero_grad()
        module.zero_grad()
        y, gx = layer_step(layer, xh, head, ctx, train)
        yt, gxt = torch_step(module, xh, head)
        assert_almost_equal(y, yt, **TOL)
        assert_almost_equal(gx, gxt, **TOL)
        assert_almost_equal(layer.gamma.grad(ctx), module.weight.grad.numpy(), **TOL)
        assert_almost_equal(layer.beta.grad(ctx), module.bias.grad.numpy(), **TOL)


def test_layer_norm_axis_and_repr():
    layer = fw.nn.LayerNorm(axis=1, epsilon=1e-3)
    assert repr(layer) == "LayerNorm(eps=0.001, axis=1, center=True, scale=True, in_channels=0)"
    layer.initialize()
    xh = np.random.RandomState(4).standard_normal((2, 3, 4)).astype(np.float32)
    y = layer(nd.array(xh))
    assert layer.gamma.shape == (3,)
    ref = torch.nn.functional.layer_norm(torch.from_numpy(xh).movedim(1, -1), (3,), eps=1e-3)
    assert_almost_equal(y, ref.movedim(-1, 1).numpy(), **TOL)
    assert repr(layer).endswith("in_channels=3)")


# ------------------------------------------------------------- InstanceNorm
@pytest.mark.parametrize("axis", [1, 3])
def test_instance_norm_matches_torch(axis, ctx):
    rng = np.random.RandomState(5)
    c = 3
    shape = (2, c, 4, 5) if axis == 1 else (2, 4, 5, c)
    layer = fw.nn.InstanceNorm(axis=axis, scale=True)
    layer.initialize(ctx=ctx)
    module = torch.nn.InstanceNorm2d(c, eps=1e-5, affine=True)

    def torch_forward(xt):
        return module(xt.movedim(axis, 1)).movedim(1, axis)

    layer(nd.zeros(shape, ctx=ctx))
    _copy_affine(layer, module, rng)
    xh, head = _r(rng, *shape), _r(rng, *shape)
    y, gx = layer_step(layer, xh, head, ctx, train=True)
    yt, gxt = torch_step(torch_forward, xh, head)
    assert_almost_equal(y, yt, **TOL)
    assert_almost_equal(gx, gxt, **TOL)
    assert_almost_equal(layer.gamma.grad(ctx), module.weight.grad.numpy(), **TOL)
    assert_almost_equal(layer.beta.grad(ctx), module.bias.grad.numpy(), **TOL)


def test_instance_norm_defaults_and_repr():
    layer = fw.nn.InstanceNorm()
    assert layer.gamma.grad_req == "null"              # MXNet's default scale=False
    layer.initialize()
    layer(nd.ones((2, 4, 3)))
    assert repr(layer) == ("InstanceNorm(eps=1e-05, axis=1, center=True, scale=False, "
                           "in_channels=4)")


# ---------------------------------------------------------------- GroupNorm
def test_group_norm_matches_torch(ctx):
    """MXNet 1.x gamma/beta are per group: torch gets them repeated per channel, and the
    group gradients are torch's channel gradients summed over each group."""
    rng = np.random.RandomState(6)
    n, c, groups = 2, 6, 3
    layer = fw.nn.GroupNorm(num_groups=groups)
    layer.initialize(ctx=ctx)
    assert layer.gamma.shape == (groups,)
    g, b = (rng.rand(groups) + 0.5).astype(np.float32), _r(rng, groups)
    layer.gamma.set_data(nd.array(g))
    layer.beta.set_data(nd.array(b))
    module = torch.nn.GroupNorm(groups, c)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(np.repeat(g, c // groups)))
        module.bias.copy_(torch.from_numpy(np.repeat(b, c // groups)))
    xh, head = _r(rng, n, c, 3, 2), _r(rng, n, c, 3, 2)
    y, gx = layer_step(layer, xh, head, ctx, train=True)
    yt, gxt = torch_step(module, xh, head)
    assert_almost_equal(y, yt, **TOL)
    assert_almost_equal(gx, gxt, **TOL)
    assert_almost_equal(layer.gamma.grad(ctx),
                        module.weight.grad.numpy().reshape(groups, -1).sum(1), **TOL)
    assert_almost_equal(layer.beta.grad(ctx),
                        module.bias.grad.numpy().reshape(groups, -1).sum(1), **TOL)


def test_group_norm_repr():
    assert repr(fw.nn.GroupNorm(num_groups=2)) == (
        "GroupNorm(eps=1e-05, num_groups=2, center=True, scale=True)")


# ------------------------------------------------------------ in a network
def test_second_order_through_batch_norm_layer(ctx):
    """A gradient penalty through Dense -> BatchNorm (training) -> tanh: d/dW of
    ||d out / dx||^2 against torch."""
    rng = np.random.RandomState(7)
    net = fw.nn.HybridSequential()
    with net.name_scope():
        net.add(fw.nn.Dense(4, in_units=3), fw.nn.BatchNorm(in_channels=4))
    net.initialize(fw.init.Normal(0.5), ctx=ctx)
    dense, bn = net[0], net[1]
    lin = torch.nn.Linear(3, 4)
    tbn = torch.nn.BatchNorm1d(4)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(dense.weight.data(ctx).asnumpy()))
        lin.bias.copy_(torch.from_numpy(dense.bias.data(ctx).asnumpy()))
    _copy_affine(bn, tbn, rng)
    xh = _r(rng, 5, 3)
    x = nd.array(xh, ctx=ctx)
    x.attach_grad()
    with autograd.record():
        out = nd.tanh(net(x))
        (gx,) = autograd.grad(out, [x], create_graph=True)
        penalty = (gx * gx).sum()
    penalty.backward()
    xt = torch.tensor(xh, requires_grad=True)
    outt = torch.tanh(tbn(lin(xt)))
    (gxt,) = torch.autograd.grad(outt.sum(), [xt], create_graph=True)
    (gxt * gxt).sum().backward()
    assert_almost_equal(gx, gxt.detach().numpy(), **TOL)
    assert_almost_equal(dense.weight.grad(ctx), lin.weight.grad.numpy(), rtol=1e-3, atol=1e-4)
    assert_almost_equal(bn.gamma.grad(ctx), tbn.weight.grad.numpy(), rtol=1e-3, atol=1e-4)
