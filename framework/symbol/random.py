"""``framework.sym.random``: MXNet 1.x's ``mx.sym.random`` samplers as graph nodes.

``uniform``, ``normal``, ``gamma``, ``exponential``, ``poisson``, ``negative_binomial``,
``generalized_negative_binomial`` and ``randint`` add a ``_random_<name>`` node that
draws an array of ``shape`` each time the graph runs; the ``*_like`` twins
(``_random_<name>_like``) draw one of their input's shape. With Symbols for the
distribution's parameters (all of them, of one shape) the node is MXNet's
``_sample_<name>``: ``shape`` draws per parameter element, params.shape + shape.
Arguments and defaults are ``nd.random``'s. ``multinomial`` (MXNet's
``_sample_multinomial``: categories from the probabilities in its input's last axis,
with ``get_prob`` also their log-probabilities) and ``shuffle`` (``_shuffle``: the
rows in a random order) read their input. A graph draws with ``framework.random``'s
generator, so ``fw.random.seed`` makes its draws repeat.
"""
from __future__ import annotations

from typing import Dict, Optional

from .ops import RANDOM_SAMPLERS, SAMPLE_INPUTS, lookup
from .symbol import Symbol, _create

__all__ = ["uniform", "normal", "gamma", "exponential", "poisson", "negative_binomial",
           "generalized_negative_binomial", "randint", "uniform_like", "normal_like",
           "gamma_like", "exponential_like", "poisson_like", "negative_binomial_like",
           "generalized_negative_binomial_like", "multinomial", "shuffle"]


def _shape(shape) -> tuple:
    if shape is None:
        return ()
    return (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)


def _scalars(sampler: str, values: Dict[str, object]) -> Dict[str, object]:
    """The operator's arguments from ``nd.random``'s (exponential: ``lam`` = 1 / scale)."""
    if sampler == "exponential":
        return {"lam": 1.0 / float(values["scale"])}
    return dict(values)


def _sample(sampler: str, values, shape, dtype, name, attr) -> Symbol:
    symbols = [isinstance(v, Symbol) for v in values.values()]
    if any(symbols):
        if not all(symbols):
            raise TypeError(f"sym.random.{sampler}: the parameters must be all numbers or all "
                            f"Symbols, got {values}")
        return _sample_arrays(sampler, list(values.values()), shape, dtype, name, attr)
    params = dict(_scalars(sampler, values), shape=_shape(shape), dtype=dtype or "float32")
    return _create(lookup("_random_" + sampler), "_random_" + sampler, {}, None, params,
                   name, attr)


def _sample_arrays(sampler: str, arrays, shape, dtype, name, attr) -> Symbol:
    """MXNet's ``_sample_<sampler>`` node: parameter arrays in (exponential's as the rate,
    1 / scale), params.shape + shape out, the parameters' dtype unless ``dtype`` says."""
    if sampler == "exponential":
        arrays = [1.0 / arrays[0]]
    params = {"shape": _shape(shape)}
    if dtype is not None:
        params["dtype"] = dtype
    op = "_sample_" + sampler
    return _create(lookup(op), op, dict(zip(SAMPLE_INPUTS[sampler], arrays)), None, params,
                   name, attr)


def _on_data(function: str, op: str, data: Symbol, params, name, attr) -> Symbol:
    """A node of operator ``op`` whose one input is the Symbol ``data`` (``function``:
    the ``sym.random`` function, for the error)."""
    if not isinstance(data, Symbol):
        raise TypeError(f"sym.random.{function}: data must be a Symbol, got "
                        f"{type(data).__name__}")
    return _create(lookup(op), op, {"data": data}, None, params, name, attr)


def _sample_like(sampler: str, data: Symbol, values, name, attr) -> Symbol:
    """``_random_<sampler>_like`` of ``data``; ``values`` are the operator's own arguments
    (exponential's rate ``lam``, as ``nd.random.exponential_like`` takes it)."""
    return _on_data(f"{sampler}_like", f"_random_{sampler}_like", data, values, name, attr)


def uniform(low=0.0, high=1.0, shape=None, dtype=None, ctx=None, name: Optional[str] = None,
            attr=None) -> Symbol:
    """Samples of U[low, high), shape ``shape``."""
    return _sample("uniform", {"low": low, "high": high}, shape, dtype, name, attr)


def normal(loc=0.0, scale=1.0, shape=None, dtype=None, ctx=None, name: Optional[str] = None,
           attr=None) -> Symbol:
    """Samples of N(loc, scale^2), shape ``shape``."""
    return _sample("normal", {"loc": loc, "scale": scale}, shape, dtype, name, attr)


def gamma(alpha=1.0, beta=1.0, shape=None, dtype=None, ctx=None, name: Optional[str] = None,
          attr=None) -> Symbol:
    """Samples of Gamma(shape alpha, scale beta)."""
    return _sample("gamma", {"alpha": alpha, "beta": beta}, shape, dtype, name, attr)


def exponential(scale=1.0, shape=None, dtype=None, ctx=None, name: Optional[str] = None,
                attr=None) -> Symbol:
    """Samples of the exponential distribution of mean ``scale`` (rate 1 / scale)."""
    return _sample("exponential", {"scale": scale}, shape, dtype, name, attr)


def poisson(lam=1.0, shape=None, dtype=None, ctx=None, name: Optional[str] = None,
            attr=None) -> Symbol:
    """Samples of Poisson(lam) (as floats, MXNet's default dtype)."""
    return _sample("poisson", {"lam": lam}, shape, dtype, name, attr)


def negative_binomial(k=1, p=1.0, shape=None, dtype=None, ctx=None,
                      name: Optional[str] = None, attr=None) -> Symbol:
    """Failures before the k-th success, success probability p."""
    return _sample("negative_binomial", {"k": k, "p": p}, shape, dtype, name, attr)


def generalized_negative_binomial(mu=1.0, alpha=1.0, shape=None, dtype=None, ctx=None,
                                  name: Optional[str] = None, attr=None) -> Symbol:
    """Negative binomial of mean mu and dispersion alpha."""
    return _sample("generalized_negative_binomial", {"mu": mu, "alpha": alpha}, shape, dtype,
                   name, attr)


def randint(low: int, high: int, shape=None, dtype=None, ctx=None, name: Optional[str] = None,
            attr=None) -> Symbol:
    """Integers uniform in [low, high) (int32 unless ``dtype`` says otherwise)."""
    params = {"low": int(low), "high": int(high), "shape": _shape(shape),
              "dtype": dtype or "int32"}
    return _create(lookup("_random_randint"), "_random_randint", {}, None, params, name, attr)


def multinomial(data: Symbol, shape=None, get_prob: bool = False, dtype="int32",
                name: Optional[str] = None, attr=None) -> Symbol:
    """Category indices drawn from the probabilities in the last axis of ``data`` (...,
    K): shape (...) + ``shape``; with ``get_prob``, a Symbol of two outputs, the draws
    and their log-probabilities (differentiable in ``data``)."""
    params = {"shape": _shape(shape), "get_prob": bool(get_prob), "dtype": dtype}
    return _on_data("multinomial", "_sample_multinomial", data, params, name, attr)


def shuffle(data: Symbol, name: Optional[str] = None, attr=None) -> Symbol:
    """``data`` with its rows (first axis) in a random order, drawn each time the graph
    runs."""
    return _on_data("shuffle", "_shuffle", data, {}, name, attr)


def _like_function(sampler: str):
    names = [key for key, _ in RANDOM_SAMPLERS[sampler]]
    defaults = dict(RANDOM_SAMPLERS[sampler])

    def like(data: Symbol, *args, name: Optional[str] = None, attr=None, **kwargs) -> Symbol:
        values = dict(defaults)
        values.update(zip(names, args))
        unknown = set(kwargs) - set(names)
        if unknown or len(args) > len(names):
            raise TypeError(f"sym.random.{sampler}_like takes data and {names}, got "
                            f"{len(args)} more positional and {sorted(kwargs)}")
        values.update(kwargs)
        return _sample_like(sampler, data, values, name, attr)

    like.__name__ = like.__qualname__ = f"{sampler}_like"
    like.__doc__ = (f"Samples like ``{sampler}``'s ({', '.join(names)}), of ``data``'s shape "
                    f"and dtype, drawn each time the graph runs.")
    return like


uniform_like = _like_function("uniform")
normal_like = _like_function("normal")
gamma_like = _like_function("gamma")
exponential_like = _like_function("exponential")
poisson_like = _like_function("poisson")
negative_binomial_like = _like_function("negative_binomial")
generalized_negative_binomial_like = _like_function("generalized_negative_binomial")
