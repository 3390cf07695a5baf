"""A WGAN-GP critic step: the gradient penalty (||d critic(x) / dx|| - 1)^2 through
``autograd.grad(create_graph=True)``, differentiated again with respect to the critic's
parameters (second order through Conv2D, LeakyReLU and Dense), against PyTorch with the
same weights."""
import numpy as np
import torch

import framework as fw
from framework import autograd, nd
from framework.test_utils import assert_almost_equal

LAMBDA = 10.0


def make_critic(ctx):
    """Conv2D(4, 3x3, /2) - LeakyReLU(0.2) - Conv2D(8, 3x3, /2) - LeakyReLU(0.2) - Dense(1);
    no BatchNorm (the penalty is per sample)."""
    critic = fw.nn.HybridSequential()
    with critic.name_scope():
        critic.add(fw.nn.Conv2D(4, 3, strides=2, padding=1, in_channels=1),
                   fw.nn.LeakyReLU(0.2),
                   fw.nn.Conv2D(8, 3, strides=2, padding=1, in_channels=4),
                   fw.nn.LeakyReLU(0.2),
                   fw.nn.Dense(1, in_units=8 * 2 * 2))
    critic.initialize(fw.init.Normal(0.3), ctx=ctx)
    for p in critic.collect_params().values():     # non-zero biases: their gradients count
        if p.name.endswith("bias"):
            p.set_data(nd.array(np.random.RandomState(1).uniform(-0.2, 0.2, p.shape), ctx=ctx))
    return critic


def torch_critic(critic):
    """The same network in PyTorch, with the critic's weights."""
    params = [p.data().asnumpy() for p in critic.collect_params().values()]
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, stride=2, padding=1), torch.nn.LeakyReLU(0.2),
        torch.nn.Conv2d(4, 8, 3, stride=2, padding=1), torch.nn.LeakyReLU(0.2),
        torch.nn.Flatten(), torch.nn.Linear(8 * 2 * 2, 1))
    with torch.no_grad():
        for target, value in zip([t for t in net.parameters()], params):
            target.copy_(torch.from_numpy(value))
    return net


def test_gradient_penalty_matches_pytorch(ctx):
    rng = np.random.RandomState(0)
    real = rng.standard_normal((3, 1, 8, 8)).astype(np.float32)
    fake = rng.standard_normal((3, 1, 8, 8)).astype(np.float32)
    eps = rng.uniform(size=(3, 1, 1, 1)).astype(np.float32)
    mixed = eps * real + (1 - eps) * fake

    critic = make_critic(ctx)
    net = torch_critic(critic)
    params = list(critic.collect_params().values())

    x = nd.array(mixed, ctx=ctx)
    x.attach_grad()
    with autograd.record():
        score = critic(x)
        (gx,) = autograd.grad(score, [x], create_graph=True)
        norm = nd.sqrt((gx * gx).sum(axis=(1, 2, 3)))
        penalty = ((norm - 1) ** 2).mean()
        loss = (critic(nd.array(fake, ctx=ctx)).mean() - critic(nd.array(real, ctx=ctx)).mean()
                + LAMBDA * penalty)
    loss.backward()

    xt = torch.tensor(mixed, requires_grad=True)
    (gxt,) = torch.autograd.grad(net(xt).sum(), [xt], create_graph=True)
    penalty_t = ((gxt.flatten(1).norm(dim=1) - 1) ** 2).mean()
    loss_t = net(torch.from_numpy(fake)).mean() - net(torch.from_numpy(real)).mean() \
        + LAMBDA * penalty_t
    loss_t.backward()

    assert_almost_equal(penalty, np.array([penalty_t.item()]), rtol=1e-5, atol=1e-6)
    assert_almost_equal(loss, np.array([loss_t.item()]), rtol=1e-5, atol=1e-5)
    for p, t in zip(params, net.parameters()):
        assert_almost_equal(p.grad(ctx), t.grad.numpy(), rtol=1e-4, atol=1e-5,
                            names=(f"d loss / d {p.name}", "torch"))


def test_penalty_gradient_reaches_every_parameter(ctx):
    """The penalty alone (no critic score in the loss) has non-zero gradients for every
    weight: the second-order path through each layer is live, not silently zero."""
    critic = make_critic(ctx)
    x = nd.array(np.random.RandomState(2).standard_normal((2, 1, 8, 8)), ctx=ctx)
    x.attach_grad()
    with autograd.record():
        (gx,) = autograd.grad(critic(x), [x], create_graph=True)
        penalty = (((gx * gx).sum(axis=(1, 2, 3)).sqrt() - 1) ** 2).mean()
    penalty.backward()
    for p in critic.collect_params().values():
        if p.name.endswith("weight"):
            assert float(nd.abs(p.grad(ctx)).sum().asscalar()) > 0, p.name
