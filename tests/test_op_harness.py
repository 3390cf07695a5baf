"""The op-test harness itself: it passes correct operators and catches wrong ones."""
import numpy
import pytest
import torch

from framework import nd
from framework.ndarray.operator import Operator

from op_harness import OpCase, check, parametrize

CASES = [
    OpCase("softmax axis 1", lambda x: nd.softmax(x, axis=1), inputs=[(2, 3, 2)],
           numpy_ref=lambda x: numpy.exp(x) / numpy.exp(x).sum(axis=1, keepdims=True),
           torch_ref=lambda x: torch.softmax(x, dim=1)),
    OpCase("take with integer indices", lambda x, i: nd.take(x, i),
           inputs=[(4, 3), numpy.array([0, 2, 2], dtype=numpy.int64)],
           numpy_ref=lambda x, i: x[i], torch_ref=lambda x, i: x[i]),
]


@parametrize(CASES)
def test_harness_passes_correct_ops(case, ctx):
    check(case, ctx)


class _WrongSquare(Operator):
    """x**2 with the gradient x (should be 2x)."""
    name = "wrong_square"
    saves_inputs = (0,)

    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * self.saved_inputs[0]


def test_harness_catches_a_wrong_gradient(ctx):
    case = OpCase("wrong square", lambda x: _WrongSquare()(x), inputs=[(3,)], orders=(1,))
    with pytest.raises(AssertionError, match="order 1"):
        check(case, ctx)


def test_harness_catches_a_wrong_torch_reference(ctx):
    case = OpCase("relu vs tanh", nd.relu, inputs=[(3,)], orders=(),
                  torch_ref=torch.tanh)
    with pytest.raises(AssertionError, match="torch"):
        check(case, ctx)
