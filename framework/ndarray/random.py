"""Random arrays (``nd.random``): one generator per context, seeded by ``seed``."""
from __future__ import annotations

from typing import Callable, Dict, Optional

from numpy.typing import DTypeLike

from ..context import Context, current_context
from .creation import _shape, normalize_dtype
from .ndarray import NDArray

__all__ = ["seed", "uniform", "normal", "randn", "randint", "shuffle"]

_generators: Dict[Context, object] = {}
_seed_all = [None]          # the seed given with ctx='all', for generators made later


def _generator(ctx: Context):
    """The generator of ``ctx`` (made on its device on first use; call inside ctx.scope())."""
    gen = _generators.get(ctx)
    if gen is None:
        gen = _generators[ctx] = ctx.xp.random.RandomState(_seed_all[0])
    return gen


def seed(seed_state: int, ctx="all") -> None:
    """Seed the generator of ``ctx``, or of every context with ``ctx='all'``."""
    if ctx == "all":
        _generators.clear()
        _seed_all[0] = int(seed_state)
        return
    ctx = Context(ctx)
    with ctx.scope():
        _generators[ctx] = ctx.xp.random.RandomState(int(seed_state))


def _sample(ctx, draw: Callable, dtype) -> NDArray:
    """``draw(generator)`` on the device of ``ctx`` (default: the current context)."""
    ctx = current_context() if ctx is None else Context(ctx)
    with ctx.scope():
        data = draw(_generator(ctx)).astype(dtype)
    return NDArray(data, ctx)


def _size(shape):
    return _shape(1 if shape is None else shape, "random")


def uniform(low: float = 0.0, high: float = 1.0, shape=None, dtype: DTypeLike = None,
            ctx: Optional[Context] = None, **kwargs) -> NDArray:
    """Samples from U[low, high), float32 by default."""
    return _sample(ctx, lambda gen: gen.random_sample(_size(shape)) * (high - low) + low,
                   normalize_dtype(dtype))


def normal(loc: float = 0.0, scale: float = 1.0, shape=None, dtype: DTypeLike = None,
           ctx: Optional[Context] = None, **kwargs) -> NDArray:
    """Samples from N(loc, scale**2), float32 by default."""
    return _sample(ctx, lambda gen: gen.standard_normal(_size(shape)) * scale + loc,
                   normalize_dtype(dtype))


def randn(*shape, loc: float = 0.0, scale: float = 1.0, dtype: DTypeLike = None, ctx=None) -> NDArray:
    """Standard normal samples of the given shape."""
    return normal(loc, scale, shape or None, dtype, ctx)


def randint(low: int, high: int, shape=None, dtype: DTypeLike = None, ctx: Optional[Context] = None,
            **kwargs) -> NDArray:
    """Integers from [low, high), int32 by default."""
    if low >= high:
        raise ValueError(f"randint: low ({low}) must be less than high ({high})")
    return _sample(ctx, lambda gen: gen.randint(low, high, size=_size(shape)),
                   normalize_dtype(dtype, "int32"))


def shuffle(data: NDArray, **kwargs) -> NDArray:
    """A copy of ``data`` with its rows (first axis) in random order."""
    ctx = data.context
    with ctx.scope():
        perm = _generator(ctx).permutation(data.shape[0])
        return NDArray(data._data[perm], ctx)
