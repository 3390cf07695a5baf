"""Testing helpers (MXNet's ``mx.test_utils``): numeric gradient checks and comparisons."""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Union

import numpy

from . import autograd
from .context import Context
from .ndarray import NDArray, array, zeros_like

__all__ = ["assert_almost_equal", "almost_equal", "check_numeric_gradient", "numeric_grad",
           "default_context", "set_default_context"]

_default_ctx = [None]


def default_context() -> Context:
    """The context tests run on (cpu(0) unless set)."""
    from .context import current_context
    return _default_ctx[0] or current_context()


def set_default_context(ctx: Context) -> None:
    _default_ctx[0] = ctx


def _host(a) -> numpy.ndarray:
    return a.asnumpy() if isinstance(a, NDArray) else numpy.asarray(a)


def almost_equal(a, b, rtol: float = 1e-5, atol: float = 1e-20, equal_nan: bool = False) -> bool:
    """Whether ``a`` and ``b`` (NDArrays or NumPy arrays) agree within tolerance."""
    return numpy.allclose(_host(a), _host(b), rtol=rtol, atol=atol, equal_nan=equal_nan)


def assert_almost_equal(a, b, rtol: float = 1e-5, atol: float = 1e-20,
                        names=("a", "b"), equal_nan: bool = False) -> None:
    """Raise AssertionError naming the worst element when ``a`` and ``b`` differ."""
    a, b = _host(a), _host(b)
    if a.shape != b.shape and a.ndim and b.ndim:   # a 0-d side broadcasts, as in numpy.testing
        raise AssertionError(f"shape mismatch: {names[0]} {a.shape} vs {names[1]} {b.shape}")
    if numpy.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan):
        return
    a64, b64 = numpy.broadcast_arrays(a.astype(numpy.float64), b.astype(numpy.float64))
    err = numpy.abs(a64 - b64) - (atol + rtol * numpy.abs(b64))
    err = numpy.where(numpy.isnan(err), numpy.inf, err)
    idx = numpy.unravel_index(int(numpy.argmax(err)), err.shape) if err.ndim else ()
    raise AssertionError(
        f"{names[0]} and {names[1]} differ (rtol={rtol}, atol={atol}): worst at index {idx}: "
        f"{names[0]}={a64[idx]!r}, {names[1]}={b64[idx]!r}\n{names[0]}:\n{a}\n{names[1]}:\n{b}")


def numeric_grad(f: Callable[[List[NDArray]], float], inputs: Sequence[NDArray],
                 eps: float = 1e-6) -> List[numpy.ndarray]:
    """Central finite differences of the scalar function ``f`` at ``inputs`` (float64)."""
    grads = []
    for x in inputs:
        host = x.asnumpy().astype(numpy.float64)
        g = numpy.zeros_like(host)
        flat, gflat = host.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            values = []
            for delta in (eps, -eps):
                flat[i] = old + delta
                moved = [array(host, ctx=x.context, dtype=numpy.float64) if y is x else y
                         for y in inputs]
                values.append(f(moved))
            flat[i] = old
            gflat[i] = (values[0] - values[1]) / (2 * eps)
        grads.append(g)
    return grads


def _heads(outputs) -> List[NDArray]:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _grad_or_zeros(head: NDArray, variables: List[NDArray], **kwargs) -> List[NDArray]:
    """``autograd.grad``, or zeros when ``head`` does not depend on the graph at all
    (a derivative that is constant, e.g. the second derivative of ``a + b``)."""
    if head._node is None:
        return [zeros_like(v) for v in variables]
    return autograd.grad(head, variables, **kwargs)


def check_numeric_gradient(fn: Callable[..., Union[NDArray, Sequence[NDArray]]],
                           inputs: Sequence, order: int = 1, eps: float = 1e-6,
                           rtol: float = 1e-4, atol: float = 1e-6,
                           ctx: Optional[Context] = None, seed: int = 0) -> None:
    """Check autograd's derivatives of ``fn`` against finite differences, in float64.

    ``fn(*inputs)`` returns an NDArray or a list of them; ``inputs`` are arrays
    (NDArray or NumPy). The scalar checked is ``sum_k sum(out_k * h_k)`` with
    random head gradients ``h_k``. For ``order`` n > 1 it is differentiated n-1
    times with ``create_graph=True``, each time projected on a random direction,
    and the n-th derivative is compared with finite differences of the (n-1)-th.
    """
    rng = numpy.random.RandomState(seed)
    ctx = ctx or default_context()
    xs = [array(x if not isinstance(x, NDArray) else x.asnumpy(), ctx=ctx, dtype=numpy.float64)
          for x in inputs]
    for x in xs:
        x.attach_grad()
    with autograd.pause():
        outs = _heads(fn(*xs))
    head_grads = [array(rng.standard_normal(o.shape), ctx=ctx, dtype=numpy.float64) for o in outs]
    directions = [[array(rng.standard_normal(x.shape), ctx=ctx, dtype=numpy.float64) for x in xs]
                  for _ in range(order - 1)]

    def scalar(vs, level):
        """The level-th projected derivative, recorded so it can be differentiated."""
        if level == 0:
            outs = _heads(fn(*vs))
            total = None
            for o, h in zip(outs, head_grads):
                if o.shape != h.shape:
                    raise AssertionError(f"fn output shape changed: {o.shape} vs {h.shape}")
                term = (o * h).sum()
                total = term if total is None else total + term
            return total
        inner = scalar(vs, level - 1)
        gs = _grad_or_zeros(inner, vs, create_graph=True, retain_graph=True)
        total = None
        for g, d in zip(gs, directions[level - 1]):
            term = (g * d).sum()
            total = term if total is None else total + term
        return total

    def value(vs):
        fresh = [array(v.asnumpy(), ctx=ctx, dtype=numpy.float64) for v in vs]
        for v in fresh:
            v.attach_grad()
        with autograd.record():
            s = scalar(fresh, order - 1)
        return s.asnumpy().item()

    with autograd.record():
        top = scalar(xs, order - 1)
    analytic = _grad_or_zeros(top, xs)
    numeric = numeric_grad(value, xs, eps=eps)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        assert_almost_equal(a, n, rtol=rtol, atol=atol,
                            names=(f"autograd d^{order}/dx{i}", f"numeric d^{order}/dx{i}"))
