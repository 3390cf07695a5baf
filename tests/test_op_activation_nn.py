"""Activation and LeakyReLU against torch (forward, gradients in float32) and the numeric
check at orders 1 and 2 (float64), on both contexts; rrelu in predict mode, and in
training mode with its random slopes recovered from the output."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework as fw
from framework import nd
from framework.test_utils import assert_almost_equal

from op_harness import OpCase, check, parametrize

SHAPE = (3, 4)

ACTIVATION_CASES = [
    OpCase(f"Activation {act}", lambda x, act=act: nd.Activation(x, act_type=act),
           inputs=[SHAPE], torch_ref=ref)
    for act, ref in [("relu", TF.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh),
                     ("softrelu", TF.softplus), ("softsign", TF.softsign)]
]

LEAKY_CASES = [
    OpCase("leaky default slope", lambda x: nd.LeakyReLU(x),
           inputs=[SHAPE], torch_ref=lambda x: TF.leaky_relu(x, 0.25)),
    OpCase("leaky slope 0.1", lambda x: nd.LeakyReLU(x, act_type="leaky", slope=0.1),
           inputs=[SHAPE], torch_ref=lambda x: TF.leaky_relu(x, 0.1)),
    OpCase("elu slope 0.7", lambda x: nd.LeakyReLU(x, act_type="elu", slope=0.7),
           inputs=[SHAPE], torch_ref=lambda x: TF.elu(x, 0.7)),
    OpCase("selu", lambda x: nd.LeakyReLU(x, act_type="selu"),
           inputs=[SHAPE], torch_ref=TF.selu),
    OpCase("gelu", lambda x: nd.LeakyReLU(x, act_type="gelu"),
           inputs=[SHAPE], torch_ref=TF.gelu),
    OpCase("gelu_erf", lambda x: nd.LeakyReLU(x, act_type="gelu_erf"),
           inputs=[SHAPE], torch_ref=TF.gelu),
    OpCase("gelu_tanh", lambda x: nd.LeakyReLU(x, act_type="gelu_tanh"),
           inputs=[SHAPE], torch_ref=lambda x: TF.gelu(x, approximate="tanh")),
    OpCase("prelu one slope", lambda x, g: nd.LeakyReLU(x, g, act_type="prelu"),
           inputs=[(2, 3, 4), np.array([0.3])], torch_ref=TF.prelu),
    OpCase("prelu per channel", lambda x, g: nd.LeakyReLU(x, g, act_type="prelu"),
           inputs=[(2, 3, 2, 2), np.array([0.1, -0.4, 0.25])], torch_ref=TF.prelu),
    OpCase("rrelu predict mode",
           lambda x: nd.LeakyReLU(x, act_type="rrelu", lower_bound=0.1, upper_bound=0.4),
           inputs=[SHAPE],
           torch_ref=lambda x: TF.rrelu(x, lower=0.1, upper=0.4, training=False)),
]


@parametrize(ACTIVATION_CASES + LEAKY_CASES)
def test_against_torch_and_numeric(case, ctx):
    check(case, ctx)


# ------------------------------------------------- rrelu in training mode
RRELU_SEED = 17


def _rrelu_seeded(x):
    """rrelu in training mode with the generator re-seeded, so every call draws the
    same slopes (the numeric check evaluates the op many times)."""
    fw.random.seed(RRELU_SEED)
    return nd.LeakyReLU(x, act_type="rrelu", lower_bound=0.1, upper_bound=0.4)


def _torch_rrelu_recovered(x):
    """torch's leaky rectifier with the slopes the framework drew, recovered as y / x."""
    xh = x.detach().numpy()
    with fw.autograd.train_mode():
        y = _rrelu_seeded(nd.array(xh)).asnumpy()
    negative = xh < 0
    recovered = y[negative] / xh[negative]
    assert recovered.min() >= 0.1 - 1e-6 and recovered.max() <= 0.4 + 1e-6
    slopes = np.ones_like(xh)
    slopes[negative] = recovered
    slopes = torch.from_numpy(slopes)
    return torch.where(x > 0, x, x * slopes)


RRELU_TRAIN = OpCase("rrelu training mode, slopes recovered", _rrelu_seeded, inputs=[(4, 5)],
                     torch_ref=_torch_rrelu_recovered, train=True)


def test_rrelu_training_against_torch_and_numeric(ctx):
    check(RRELU_TRAIN, ctx)


def test_rrelu_training_slopes_are_random_and_inside_the_op(ctx):
    """The training decision is read in the operator's forward: one graph node per call;
    slopes vary per element, lie in [lower, upper], and are the gradient below 0."""
    x = nd.array(-np.linspace(1.0, 2.0, 400).reshape(20, 20), ctx=ctx)
    x.attach_grad()
    with fw.autograd.record():
        y = nd.LeakyReLU(x, act_type="rrelu", lower_bound=0.1, upper_bound=0.4)
    assert y._node.name == "LeakyReLU" and y._node.parents[0][0] is x._node
    y.backward()
    slopes = y.asnumpy() / x.asnumpy()
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.4 + 1e-6
    assert abs(slopes.mean() - 0.25) < 0.02 and slopes.std() > 0.05
    assert_almost_equal(x.grad, slopes, rtol=1e-5)
    with fw.autograd.record(train_mode=False):
        z = nd.LeakyReLU(x, act_type="rrelu", lower_bound=0.1, upper_bound=0.4)
    assert_almost_equal(z, 0.25 * x.asnumpy(), rtol=1e-6)


# ------------------------------------------------ far tails, float32
def test_elu_selu_gradient_far_below_zero_float32(ctx):
    """The gradient alpha * exp(x) must not cancel to 0 for x < -17 in float32."""
    xh = np.array([-20.0, -30.0, -50.0], np.float32)
    for act_type, ref in (("elu", lambda t: TF.elu(t, 1.0)), ("selu", TF.selu)):
        x = nd.array(xh, ctx=ctx)
        x.attach_grad()
        with fw.autograd.record():
            y = nd.LeakyReLU(x, act_type=act_type, slope=1.0)
        y.backward()
        t = torch.tensor(xh, requires_grad=True)
        ref(t).sum().backward()
        assert (x.grad.asnumpy() > 0).all(), act_type
        assert_almost_equal(x.grad, t.grad.numpy(), rtol=1e-5, atol=0,
                            names=(f"{act_type} gradient", "torch"))


def test_gelu_tanh_and_unknown_types_error(ctx):
    x = nd.ones((2,), ctx=ctx)
    with pytest.raises(ValueError, match="operator LeakyReLU: unknown act_type 'gelu_x'"):
        nd.LeakyReLU(x, act_type="gelu_x")
