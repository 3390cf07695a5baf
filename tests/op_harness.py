"""A declarative harness for operator tests: one ``OpCase`` per op configuration.

    CASES = [
        OpCase("conv2d stride 2",
               lambda x, w: nd.Convolution(x, w, kernel=(3, 3), num_filter=4, stride=(2, 2),
                                           no_bias=True),
               inputs=[(2, 3, 7, 7), (4, 3, 3, 3)],
               torch_ref=lambda x, w: F.conv2d(x, w, stride=2)),
    ]

    @parametrize(CASES)
    def test_conv(case, ctx):
        check(case, ctx)

``check`` runs, on ``ctx`` (cpu(0), then gpu(0) through the strict backend):
  1. forward against ``numpy_ref`` (float64 host arrays in, a host array out), if given;
  2. the numeric gradient check (float64 central differences) at every order in
     ``orders`` for the inputs in ``grad_inputs``;
  3. against ``torch_ref``, if given: forward values, and the gradient of every
     input in ``grad_inputs`` under a random head gradient, in float32.

``inputs`` entries are shapes (filled from a seeded standard normal) or arrays
(used as they are, with their dtype: integer index arrays stay integers and are
never differentiated). Keep inputs small: the numeric check evaluates the op twice
per element (and differentiates it once more per order above 1).
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Sequence, Tuple

import numpy
import pytest

import framework as fw
from framework.test_utils import assert_almost_equal, check_numeric_gradient


@dataclasses.dataclass
class OpCase:
    """One operator configuration: how to call it, on what, and what it should give."""

    name: str
    call: Callable                       # NDArrays in (one per input), NDArray(s) out
    inputs: Sequence                     # shapes or arrays
    numpy_ref: Optional[Callable] = None  # host float64 arrays in, array(s) out
    torch_ref: Optional[Callable] = None  # float32 tensors in, tensor(s) out
    grad_inputs: Optional[Tuple[int, ...]] = None   # default: every float input
    orders: Tuple[int, ...] = (1, 2)
    train: bool = False                  # run under train_mode (Dropout, BatchNorm)
    rtol: float = 1e-4                   # numeric-gradient tolerances (float64)
    atol: float = 1e-6
    torch_rtol: float = 1e-4             # float32 comparison with torch
    torch_atol: float = 1e-5
    seed: int = 0

    def __str__(self) -> str:
        return self.name

    def host_inputs(self):
        """The inputs as host arrays: shapes become seeded float64 normals."""
        rng = numpy.random.RandomState(self.seed)
        out = []
        for spec in self.inputs:
            if isinstance(spec, tuple) and all(isinstance(d, int) for d in spec):
                out.append(rng.standard_normal(spec))
            else:
                out.append(numpy.asarray(spec))
        return out

    def differentiated(self, hosts) -> Tuple[int, ...]:
        if self.grad_inputs is not None:
            return tuple(self.grad_inputs)
        return tuple(i for i, h in enumerate(hosts) if h.dtype.kind == "f")


def parametrize(cases: Sequence[OpCase]):
    """``@parametrize(CASES)``: one test per case (and per ``ctx``)."""
    return pytest.mark.parametrize("case", list(cases), ids=[c.name for c in cases])


def _as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _mode(train: bool):
    return fw.autograd.train_mode() if train else fw.autograd.predict_mode()


def check(case: OpCase, ctx) -> None:
    """Forward, numeric gradients at each order, and torch agreement for ``case``."""
    hosts = case.host_inputs()
    wanted = case.differentiated(hosts)
    if case.numpy_ref is not None:
        _check_numpy(case, hosts, ctx)
    for order in case.orders:
        _check_numeric(case, hosts, wanted, order, ctx)
    if case.torch_ref is not None:
        _check_torch(case, hosts, wanted, ctx)


def _constants(hosts, wanted, ctx, float_dtype):
    """Every input as an NDArray on ctx; float inputs in ``float_dtype``."""
    return [fw.nd.array(h, ctx=ctx, dtype=float_dtype if h.dtype.kind == "f" else h.dtype)
            for i, h in enumerate(hosts)]


def _check_numpy(case: OpCase, hosts, ctx) -> None:
    arrays = _constants(hosts, (), ctx, numpy.float64)
    with _mode(case.train):
        got = _as_list(case.call(*arrays))
    expected = _as_list(case.numpy_ref(*[h.copy() for h in hosts]))
    if len(got) != len(expected):
        raise AssertionError(f"{case.name}: {len(got)} outputs, the reference gives {len(expected)}")
    for k, (g, e) in enumerate(zip(got, expected)):
        assert_almost_equal(g, numpy.asarray(e), rtol=1e-6, atol=1e-8,
                            names=(f"{case.name} output {k}", "numpy reference"))


def _check_numeric(case: OpCase, hosts, wanted, order: int, ctx) -> None:
    fixed = _constants(hosts, wanted, ctx, numpy.float64)

    def fn(*variables):
        arrays = list(fixed)
        for i, v in zip(wanted, variables):
            arrays[i] = v
        with _mode(case.train):
            return case.call(*arrays)

    try:
        check_numeric_gradient(fn, [hosts[i] for i in wanted], order=order, rtol=case.rtol,
                               atol=case.atol, ctx=ctx, seed=case.seed)
    except AssertionError as err:
        raise AssertionError(f"{case.name}: order {order}: {err}") from None


def _check_torch(case: OpCase, hosts, wanted, ctx) -> None:
    torch = pytest.importorskip("torch")
    rng = numpy.random.RandomState(case.seed + 1)
    arrays = _constants(hosts, wanted, ctx, numpy.float32)
    for i in wanted:
        arrays[i].attach_grad()
    with fw.autograd.record(train_mode=case.train):
        outs = _as_list(case.call(*arrays))
    heads = [rng.standard_normal(o.shape).astype(numpy.float32) for o in outs]
    fw.autograd.backward(outs, [fw.nd.array(h, ctx=ctx) for h in heads])

    tensors = [torch.tensor(h.astype(numpy.float32) if h.dtype.kind == "f" else h,
                            requires_grad=i in wanted) for i, h in enumerate(hosts)]
    refs = _as_list(case.torch_ref(*tensors))
    if len(refs) != len(outs):
        raise AssertionError(f"{case.name}: {len(outs)} outputs, torch gives {len(refs)}")
    total = sum((r * torch.from_numpy(h)).sum() for r, h in zip(refs, heads))
    ref_grads = torch.autograd.grad(total, [tensors[i] for i in wanted], allow_unused=True)
    tol = dict(rtol=case.torch_rtol, atol=case.torch_atol)
    for k, (o, r) in enumerate(zip(outs, refs)):
        assert_almost_equal(o, r.detach().numpy(), names=(f"{case.name} output {k}", "torch"),
                            **tol)
    for i, r in zip(wanted, ref_grads):
        expected = numpy.zeros(hosts[i].shape, numpy.float32) if r is None else r.numpy()
        assert_almost_equal(arrays[i].grad, expected,
                            names=(f"{case.name} d/d input {i}", "torch"), **tol)


def layer_step(layer, host_input, head, ctx, train: bool = False):
    """One recorded forward and backward of a Block on ``host_input`` with head gradient
    ``head``; returns (output, input gradient) as NDArrays on ``ctx``."""
    x = fw.nd.array(host_input, ctx=ctx)
    x.attach_grad()
    with fw.autograd.record(train_mode=train):
        y = layer(x)
    y.backward(fw.nd.array(head, ctx=ctx))
    return y, x.grad


def torch_step(module, host_input, head):
    """The same step in PyTorch: (output, input gradient) as host arrays."""
    torch = pytest.importorskip("torch")
    x = torch.tensor(host_input, requires_grad=True)
    y = module(x)
    y.backward(torch.from_numpy(head))
    return y.detach().numpy(), x.grad.numpy()
