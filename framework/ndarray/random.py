"""Random arrays (``nd.random``, MXNet's ``mxnet.ndarray.random``): one generator per
context, seeded by ``seed``.

A sampler's distribution parameters are numbers, giving ``shape`` samples, or
NDArrays of one shape and context, giving ``params.shape + shape`` samples, a
set of draws per parameter element (MXNet's ``sample_*`` operators). Every
sampler takes MXNet's ``out=``: the samples are written into that array (its
shape is the default ``shape``, its dtype the default ``dtype``), which is returned.
Samples are constants: no gradient flows into the parameters, as in MXNet 1.x,
except the log-probabilities ``multinomial(..., get_prob=True)`` returns.

Every sampler draws inside an operator (``_Draw``, ``_Multinomial``, ``_Shuffle``), as
Dropout draws its mask: a hybridized block that calls one is captured, and each replay
draws anew. ``shuffle`` is differentiable: its gradient takes the rows back.
"""
from __future__ import annotations

import numbers
from typing import Callable, Dict, Optional

import numpy
from numpy.typing import DTypeLike

from ..context import Context, current_context
from .creation import _shape, check_out, normalize_dtype
from .ndarray import NDArray
from .operator import Operator

__all__ = ["seed", "uniform", "normal", "randn", "randint", "exponential", "gamma", "poisson",
           "negative_binomial", "generalized_negative_binomial", "multinomial", "shuffle",
           "uniform_like", "normal_like", "exponential_like", "gamma_like", "poisson_like",
           "negative_binomial_like", "generalized_negative_binomial_like"]

_generators: Dict[Context, object] = {}
_seed_all = [None]          # the seed given with ctx='all', for generators made later


def _generator(ctx: Context):
    """The generator of ``ctx`` (made on its device on first use; call inside ctx.scope())."""
    gen = _generators.get(ctx)
    if gen is None:
        gen = _generators[ctx] = ctx.xp.random.RandomState(_seed_all[0])
    return gen


def seed(seed_state: int, ctx="all") -> None:
    """Seed the generator of ``ctx``, or of every context with ``ctx='all'``.

    ``seed_state`` is any int: as MXNet passes it to its 32-bit engines through a
    C int, a negative or large seed is taken modulo 2**32 (-5 seeds as 2**32 - 5).
    """
    if not isinstance(seed_state, numbers.Integral) or isinstance(seed_state, bool):
        raise ValueError(f"random.seed: seed_state must be an int, got "
                         f"{type(seed_state).__name__} {seed_state!r}")
    state = int(seed_state) & 0xFFFFFFFF
    if isinstance(ctx, str) and ctx == "all":
        _generators.clear()
        _seed_all[0] = state
        return
    if not isinstance(ctx, (Context, str)):
        raise TypeError(f"random.seed: ctx must be 'all' or a Context, got {ctx!r}")
    ctx = Context(ctx)
    with ctx.scope():
        _generators[ctx] = ctx.xp.random.RandomState(state)


# ------------------------------------------------------------------ helpers
def _describe(value) -> str:
    if isinstance(value, NDArray):
        return f"NDArray of shape {value.shape} on {value.context}"
    return f"{type(value).__name__} {value!r}"


def _array_params(op: str, params: Dict[str, object]) -> bool:
    """True if the parameters are NDArrays (one shape, one context), False if numbers."""
    values = list(params.values())
    arrays = [isinstance(v, NDArray) for v in values]
    if any(arrays) and not all(arrays):
        got = ", ".join(f"{k}={_describe(v)}" for k, v in params.items())
        raise TypeError(f"random.{op}: the parameters must be all numbers or all NDArrays, "
                        f"got {got}")
    if all(arrays):
        first_name, first = next(iter(params.items()))
        for name, v in params.items():
            if v.shape != first.shape or v.context is not first.context:
                raise ValueError(f"random.{op}: parameter arrays must have one shape and one "
                                 f"context, got {first_name} {_describe(first)} and "
                                 f"{name} {_describe(v)}")
        return True
    for name, v in params.items():
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            raise TypeError(f"random.{op}: {name} must be a number or an NDArray, got "
                            f"{_describe(v)}")
    return False


def _sample(op: str, params: Dict[str, object], draw: Callable, shape, dtype, ctx, out,
            default_dtype: DTypeLike = numpy.float32, check: Optional[Callable] = None) -> NDArray:
    """``draw(gen, xp, size, *raw_params)`` on the right device, as an NDArray (or into ``out``).

    Number parameters: ``size`` is ``shape`` (default: ``out``'s shape, else (1,)).
    NDArray parameters: ``size`` is params.shape + shape, each raw parameter is
    reshaped to broadcast against it, and the dtype defaults to theirs.
    """
    where = f"random.{op}"
    if _array_params(op, params):
        first = next(iter(params.values()))
        if ctx is not None and Context(ctx) is not first.context:
            raise ValueError(f"{where}: ctx={Context(ctx)} differs from the parameters' "
                             f"context {first.context}")
        ctx = first.context
        if numpy.dtype(first.dtype).kind == "f":      # MXNet's sample_*: the parameters' dtype
            default_dtype = first.dtype
        extra = () if shape is None else _shape(shape, where)
        size = first.shape + extra
        raws = None
    else:
        if check is not None:
            check(**params)
        if shape is None or shape == ():
            size = out.shape if out is not None else (1,)
        else:
            size = _shape(shape, where)
        raws = list(params.values())
    if out is not None:
        check_out(out, size, ctx, where)
        ctx = out._ctx
        dtype = out._data.dtype if dtype is None else dtype
    ctx = current_context() if ctx is None else Context(ctx)
    dtype = normalize_dtype(dtype, default_dtype)
    arrays = [v for v in params.values() if isinstance(v, NDArray)]
    result = _Draw(draw, size, dtype, ctx, raws)(*arrays)
    return result if out is None else out._write(result, where)


class _Draw(Operator):
    """``draw(generator, xp, size, *parameters)`` as a ``dtype`` array on ``ctx``, run in
    ``forward`` (a hybridized block replays the draw, not its result). The inputs are
    the parameter arrays (reshaped to broadcast against ``size``), or none when the
    parameters are the numbers ``values``. Samples are constants: gradient 0."""

    name = "_random"
    zero_grad = True

    def __init__(self, draw: Callable, size, dtype, ctx: Context, values) -> None:
        self.draw, self.size, self.dtype, self.ctx, self.values = draw, size, dtype, ctx, values

    def forward(self, *arrays):
        if self.values is None:
            extra = len(self.size) - arrays[0].ndim
            params = [a.reshape(a.shape + (1,) * extra) for a in arrays]
        else:
            params = self.values
        return self.draw(_generator(self.ctx), self.xp, self.size, *params).astype(
            self.dtype, copy=False)


def _fail(op: str, condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(f"random.{op}: {message}")


# ----------------------------------------------------------------- samplers
def uniform(low=0.0, high=1.0, shape=None, dtype: DTypeLike = None, ctx: Optional[Context] = None,
            out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Samples from U[low, high), float32 by default.

    low, high: numbers (-> ``shape``) or NDArrays of one shape P (-> P + ``shape``).
    """
    def check(low, high):
        _fail("uniform", low <= high, f"low ({low}) must be <= high ({high})")
    return _sample("uniform", {"low": low, "high": high},
                   lambda gen, xp, size, lo, hi: gen.random_sample(size) * (hi - lo) + lo,
                   shape, dtype, ctx, out, check=check)


def normal(loc=0.0, scale=1.0, shape=None, dtype: DTypeLike = None, ctx: Optional[Context] = None,
           out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Samples from N(loc, scale**2), float32 by default; NDArray parameters as ``uniform``."""
    def check(loc, scale):
        _fail("normal", scale > 0, f"scale must be positive, got {scale}")
    return _sample("normal", {"loc": loc, "scale": scale},
                   lambda gen, xp, size, mu, sigma: gen.standard_normal(size) * sigma + mu,
                   shape, dtype, ctx, out, check=check)


def randn(*shape: int, loc=0.0, scale=1.0, dtype: DTypeLike = None, ctx=None,
          out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Normal samples of the given shape: ``randn(2, 3)`` has shape (2, 3)."""
    return normal(loc, scale, shape or None, dtype, ctx, out)


def _exponential_rate(lam, shape, dtype, ctx, out, op: str = "exponential") -> NDArray:
    """Exponential samples of rate ``lam`` (mean 1/lam), MXNet's sample_exponential."""
    def check(lam):
        _fail(op, lam > 0, f"the rate lam must be positive, got {lam}")
    return _sample(op, {"lam": lam},
                   lambda gen, xp, size, rate: gen.standard_exponential(size) / rate,
                   shape, dtype, ctx, out, check=check)


def exponential(scale=1.0, shape=None, dtype: DTypeLike = None, ctx: Optional[Context] = None,
                out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Samples from the exponential distribution of mean ``scale`` (rate 1/scale)."""
    if isinstance(scale, NDArray):
        return _exponential_rate(1.0 / scale, shape, dtype, ctx, out)
    if not isinstance(scale, numbers.Real) or isinstance(scale, bool) or scale <= 0:
        raise ValueError(f"random.exponential: scale must be a positive number or an NDArray, "
                         f"got {_describe(scale)}")
    return _exponential_rate(1.0 / scale, shape, dtype, ctx, out)


def gamma(alpha=1.0, beta=1.0, shape=None, dtype: DTypeLike = None, ctx: Optional[Context] = None,
          out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Samples from Gamma(shape ``alpha``, scale ``beta``): mean alpha * beta."""
    def check(alpha, beta):
        _fail("gamma", alpha > 0 and beta > 0,
              f"alpha and beta must be positive, got alpha={alpha}, beta={beta}")
    return _sample("gamma", {"alpha": alpha, "beta": beta},
                   lambda gen, xp, size, a, b: gen.standard_gamma(_full(xp, a, size), size) * b,
                   shape, dtype, ctx, out, check=check)


def _full(xp, param, size):
    """A parameter (number or broadcastable raw array) as a float64 array of ``size``."""
    return xp.broadcast_to(xp.asarray(param, dtype=numpy.float64), size)


def poisson(lam=1.0, shape=None, dtype: DTypeLike = None, ctx: Optional[Context] = None,
            out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Samples from Poisson(``lam``), as floats (float32 by default, as MXNet)."""
    def check(lam):
        _fail("poisson", lam >= 0, f"lam must be non-negative, got {lam}")
    return _sample("poisson", {"lam": lam},
                   lambda gen, xp, size, rate: gen.poisson(_full(xp, rate, size), size),
                   shape, dtype, ctx, out, check=check)


def _gamma_poisson(gen, xp, size, k, scale):
    """Poisson(Gamma(k, scale)) draws: the negative binomial mixture MXNet samples."""
    lam = gen.standard_gamma(_full(xp, k, size), size) * scale
    return gen.poisson(lam, size)


def negative_binomial(k=1, p=1.0, shape=None, dtype: DTypeLike = None,
                      ctx: Optional[Context] = None, out: Optional[NDArray] = None,
                      **kwargs) -> NDArray:
    """Failures before ``k`` successes, success probability ``p`` (mean k(1-p)/p), as floats."""
    def check(k, p):
        _fail("negative_binomial", k > 0 and 0 < p <= 1,
              f"k must be positive and p in (0, 1], got k={k}, p={p}")
    return _sample("negative_binomial", {"k": k, "p": p},
                   lambda gen, xp, size, kk, pp: _gamma_poisson(gen, xp, size, kk, (1 - pp) / pp),
                   shape, dtype, ctx, out, check=check)


def _generalized_nb(gen, xp, size, mu, alpha):
    mu, alpha = _full(xp, mu, size), _full(xp, alpha, size)
    poisson_only = alpha == 0
    safe = xp.where(poisson_only, 1.0, alpha)
    lam = xp.where(poisson_only, mu, gen.standard_gamma(1.0 / safe, size) * safe * mu)
    return gen.poisson(lam, size)


def generalized_negative_binomial(mu=1.0, alpha=1.0, shape=None, dtype: DTypeLike = None,
                                  ctx: Optional[Context] = None, out: Optional[NDArray] = None,
                                  **kwargs) -> NDArray:
    """Negative binomial of mean ``mu`` and dispersion ``alpha`` (variance mu + alpha mu^2;
    alpha = 0 is Poisson(mu)), as floats."""
    def check(mu, alpha):
        _fail("generalized_negative_binomial", mu >= 0 and alpha >= 0,
              f"mu and alpha must be non-negative, got mu={mu}, alpha={alpha}")
    return _sample("generalized_negative_binomial", {"mu": mu, "alpha": alpha},
                   _generalized_nb, shape, dtype, ctx, out, check=check)


def randint(low: int, high: int, shape=None, dtype: DTypeLike = None,
            ctx: Optional[Context] = None, out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """Integers from [low, high), int32 by default (int64 allowed)."""
    for name, v in (("low", low), ("high", high)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"random.randint: {name} must be an int, got {_describe(v)}")
    if low >= high:
        raise ValueError(f"random.randint: low ({low}) must be less than high ({high})")
    dtype = normalize_dtype(dtype if dtype is not None or out is None else out.dtype, "int32")
    if dtype not in (numpy.dtype(numpy.int32), numpy.dtype(numpy.int64)):
        raise TypeError(f"random.randint: dtype must be int32 or int64, got {dtype}")
    return _sample("randint", {"low": low, "high": high},
                   lambda gen, xp, size, lo, hi: gen.randint(lo, hi, size=size, dtype=numpy.int64),
                   shape, dtype, ctx, out)


# ------------------------------------------------------------- multinomial
def multinomial(data: NDArray, shape=None, get_prob: bool = False, out: Optional[NDArray] = None,
                dtype: DTypeLike = "int32", **kwargs):
    """Category indices drawn from the distributions in the last axis of ``data``.

    data: (..., K) probabilities (each row summing to 1) -> samples of shape
    data.shape[:-1] + ``shape`` (a 1-D ``data`` without ``shape`` gives (1,)).
    With ``get_prob`` also returns log(data[..., sample]), differentiable in
    ``data`` (the REINFORCE term).
    """
    if not isinstance(data, NDArray):
        raise TypeError(f"random.multinomial: data must be an NDArray of probabilities, got "
                        f"{_describe(data)}")
    if data.ndim == 0 or data.shape[-1] == 0:
        raise ValueError(f"random.multinomial: data must have a non-empty last axis of "
                         f"categories, got shape {data.shape}")
    if numpy.dtype(data.dtype).kind != "f":
        raise TypeError(f"random.multinomial: data must hold float probabilities, got {data.dtype}")
    extra = () if shape is None or shape == () else _shape(shape, "random.multinomial")
    batch = data.shape[:-1]
    size = batch + extra if batch or extra else (1,)
    if out is not None:
        check_out(out, size, data.context, "random.multinomial")
    dtype = normalize_dtype(dtype, "int32")
    samples = _Multinomial(extra, size, dtype)(data)
    if out is not None:
        samples = out._write(samples, "random.multinomial")
    if not get_prob:
        return samples
    # imported here: the operator modules import this module (dropout and rrelu draw masks)
    from .ops.broadcast import broadcast_to
    from .ops.index import pick
    from .ops.shape import reshape
    from .ops.unary import log
    k = data.shape[-1]
    rows = reshape(data, batch + (1,) * len(extra) + (k,))
    rows = broadcast_to(rows, batch + extra + (k,))
    picked = pick(rows, reshape(samples, batch + extra), axis=-1)
    return samples, reshape(log(picked), size)


class _Multinomial(Operator):
    """(..., K) probabilities -> category indices of shape ``size`` (``dtype``), drawn in
    ``forward`` by inverting each row's cumulative sum (in float64) at uniform draws, so
    a hybridized block draws anew on every call. Indices are constants: gradient 0."""

    name = "_sample_multinomial"
    zero_grad = True

    def __init__(self, extra, size, dtype) -> None:
        self.extra, self.size, self.dtype = extra, size, dtype

    def forward(self, p):
        xp, extra = self.xp, self.extra
        batch, k = p.shape[:-1], p.shape[-1]
        cdf = xp.cumsum(p.astype(numpy.float64), axis=-1)
        cdf = cdf.reshape(batch + (1,) * len(extra) + (k,))
        u = _generator(self.ctx).random_sample(batch + extra)[..., None]
        idx = xp.minimum((cdf <= u).sum(axis=-1), k - 1)
        return idx.reshape(self.size).astype(self.dtype)


# -------------------------------------------------------------------- shuffle
def shuffle(data: NDArray, out: Optional[NDArray] = None, **kwargs) -> NDArray:
    """A copy of ``data`` with its rows (first axis) in random order; its gradient takes
    the rows back (MXNet's shuffle has none)."""
    if not isinstance(data, NDArray):
        raise TypeError(f"random.shuffle: data must be an NDArray, got {_describe(data)}")
    if data.ndim == 0:
        raise ValueError("random.shuffle: data must have at least one dimension, got shape ()")
    result = _Shuffle()(data)
    if out is not None:
        check_out(out, data.shape, data.context, "random.shuffle")
        return out._write(result, "random.shuffle")
    return result


class _Rows(Operator):
    """``x[order]`` for a fixed ``order`` of the rows (a permutation): the gradient of a
    shuffle, whose own gradient is the inverse permutation's ``_Rows``."""

    name = "_backward_shuffle"

    def __init__(self, order) -> None:
        self.order = order

    def forward(self, x):
        return x[self.order]

    def backward(self, gy):
        return _Rows(self.xp.argsort(self.order))(gy)


class _Shuffle(_Rows):
    """``x`` with its rows (first axis) in an order drawn in ``forward`` (a hybridized block
    shuffles anew on every call). The gradient takes the rows back to where they came
    from (MXNet registers none and refuses to differentiate; PyTorch's ``x[randperm]``
    has this one)."""

    name = "_shuffle"

    def __init__(self) -> None:
        self.order = None

    def forward(self, x):
        self.order = _generator(self.ctx).permutation(x.shape[0])
        return super().forward(x)


# ------------------------------------------------------------ *_like samplers
def _like(op: str, sampler: Callable, data: NDArray, out: Optional[NDArray], **params) -> NDArray:
    if not isinstance(data, NDArray):
        raise TypeError(f"random.{op}: data must be an NDArray, got {_describe(data)}")
    return sampler(shape=data.shape, dtype=data.dtype, ctx=data.context, out=out, **params)


def uniform_like(data: NDArray, low=0.0, high=1.0, out: Optional[NDArray] = None, **kwargs):
    """U[low, high) samples of ``data``'s shape, dtype and context."""
    return _like("uniform_like", uniform, data, out, low=low, high=high)


def normal_like(data: NDArray, loc=0.0, scale=1.0, out: Optional[NDArray] = None, **kwargs):
    """N(loc, scale**2) samples of ``data``'s shape, dtype and context."""
    return _like("normal_like", normal, data, out, loc=loc, scale=scale)


def exponential_like(data: NDArray, lam=1.0, out: Optional[NDArray] = None, **kwargs):
    """Exponential samples of rate ``lam`` of ``data``'s shape, dtype and context."""
    if not isinstance(data, NDArray):
        raise TypeError(f"random.exponential_like: data must be an NDArray, got {_describe(data)}")
    return _exponential_rate(lam, data.shape, data.dtype, data.context, out, "exponential_like")


def gamma_like(data: NDArray, alpha=1.0, beta=1.0, out: Optional[NDArray] = None, **kwargs):
    """Gamma(alpha, scale beta) samples of ``data``'s shape, dtype and context."""
    return _like("gamma_like", gamma, data, out, alpha=alpha, beta=beta)


def poisson_like(data: NDArray, lam=1.0, out: Optional[NDArray] = None, **kwargs):
    """Poisson(lam) samples of ``data``'s shape, dtype and context."""
    return _like("poisson_like", poisson, data, out, lam=lam)


def negative_binomial_like(data: NDArray, k=1, p=1.0, out: Optional[NDArray] = None, **kwargs):
    """Negative binomial (k, p) samples of ``data``'s shape, dtype and context."""
    return _like("negative_binomial_like", negative_binomial, data, out, k=k, p=p)


def generalized_negative_binomial_like(data: NDArray, mu=1.0, alpha=1.0,
                                       out: Optional[NDArray] = None, **kwargs):
    """Generalized negative binomial (mu, alpha) samples of ``data``'s shape, dtype, context."""
    return _like("generalized_negative_binomial_like", generalized_negative_binomial, data,
                 out, mu=mu, alpha=alpha)
