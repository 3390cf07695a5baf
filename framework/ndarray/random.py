"""Random arrays (``nd.random``): one generator per context, seeded by ``seed``."""
from __future__ import annotations

from typing import Dict, Optional

from numpy.typing import DTypeLike

from ..context import Context, current_context
from .creation import _shape, normalize_dtype
from .ndarray import NDArray

__all__ = ["seed", "uniform", "normal", "randn", "randint", "shuffle"]

_generators: Dict[Context, object] = {}


def _generator(ctx: Context):
    gen = _generators.get(ctx)
    if gen is None:
        gen = _generators[ctx] = ctx.xp.random.RandomState()
    return gen


def seed(seed_state: int, ctx="all") -> None:
    """Seed the generator of ``ctx``, or of every context with ``ctx='all'``."""
    if ctx == "all":
        _generators.clear()
        _seed_all[0] = int(seed_state)
        return
    ctx = Context(ctx)
    _generators[ctx] = ctx.xp.random.RandomState(int(seed_state))


_seed_all = [None]


def _gen(ctx) -> tuple:
    ctx = current_context() if ctx is None else Context(ctx)
    if ctx not in _generators and _seed_all[0] is not None:
        _generators[ctx] = ctx.xp.random.RandomState(_seed_all[0])
    return ctx, _generator(ctx)


def _size(shape):
    return _shape(1 if shape is None else shape, "random")


def uniform(low: float = 0.0, high: float = 1.0, shape=None, dtype: DTypeLike = None,
            ctx: Optional[Context] = None, **kwargs) -> NDArray:
    """Samples from U[low, high), float32 by default."""
    ctx, gen = _gen(ctx)
    data = gen.random_sample(_size(shape)) * (high - low) + low
    return NDArray(data.astype(normalize_dtype(dtype)), ctx)


def normal(loc: float = 0.0, scale: float = 1.0, shape=None, dtype: DTypeLike = None,
           ctx: Optional[Context] = None, **kwargs) -> NDArray:
    """Samples from N(loc, scale**2), float32 by default."""
    ctx, gen = _gen(ctx)
    data = gen.standard_normal(_size(shape)) * scale + loc
    return NDArray(data.astype(normalize_dtype(dtype)), ctx)


def randn(*shape, loc: float = 0.0, scale: float = 1.0, dtype: DTypeLike = None, ctx=None) -> NDArray:
    """Standard normal samples of the given shape."""
    return normal(loc, scale, shape or None, dtype, ctx)


def randint(low: int, high: int, shape=None, dtype: DTypeLike = None, ctx: Optional[Context] = None,
            **kwargs) -> NDArray:
    """Integers from [low, high), int32 by default."""
    if low >= high:
        raise ValueError(f"randint: low ({low}) must be less than high ({high})")
    ctx, gen = _gen(ctx)
    data = gen.randint(low, high, size=_size(shape))
    return NDArray(data.astype(normalize_dtype(dtype, "int32")), ctx)


def shuffle(data: NDArray, **kwargs) -> NDArray:
    """A copy of ``data`` with its rows (first axis) in random order."""
    ctx, gen = _gen(data.context)
    perm = gen.permutation(data.shape[0])
    return NDArray(data._data[perm], ctx)
