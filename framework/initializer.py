"""Initializers (MXNet's ``mx.init``): how a Parameter's first values are drawn.

    net.initialize(fw.init.Xavier(magnitude=2.24))
    fw.nn.Dense(10, weight_initializer="normal", bias_initializer=fw.init.Constant(0.1))

An initializer is called as ``init(desc, arr)``: ``desc`` names the parameter
(an ``InitDesc``, a ``str`` that may carry the parameter's own initializer in
``desc.attrs['__init__']``), and ``arr`` is the NDArray it fills in place. When
the parameter has its own initializer, that one fills ``arr`` with its
``_init_weight``; otherwise the name's suffix chooses the rule, as in MXNet:
``*weight`` gets ``_init_weight`` (the rule each initializer defines), ``*bias``
and ``*beta`` zeros, ``*gamma`` ones, ``*running_mean``/``*moving_mean`` zeros,
``*running_var``/``*moving_var`` ones. Random values are drawn with
``fw.nd.random`` on ``arr``'s context.

Names: every initializer is registered under its lower-case class name and
MXNet's aliases ('zeros', 'ones', ...); ``create(name)`` makes one from a name,
from MXNet's JSON form ``'["xavier", {"magnitude": 2}]'``, or returns an
Initializer unchanged.
"""
from __future__ import annotations

import json
import logging
import math
from typing import Callable, Dict, Optional, Union

import numpy

from . import autograd
from .ndarray import NDArray
from .ndarray import random as _random
from .ndarray import norm as _norm

__all__ = ["InitDesc", "Initializer", "register", "alias", "create", "Zero", "One", "Constant",
           "Uniform", "Normal", "Xavier", "MSRAPrelu"]

_REGISTRY: Dict[str, type] = {}


def register(klass: type) -> type:
    """Class decorator: make ``klass`` creatable by its lower-case name."""
    if not (isinstance(klass, type) and issubclass(klass, Initializer)):
        raise TypeError(f"register: expected an Initializer subclass, got {klass!r}")
    _REGISTRY[klass.__name__.lower()] = klass
    return klass


def alias(*aliases: str) -> Callable[[type], type]:
    """Class decorator: make ``klass`` creatable under each of ``aliases`` too."""
    def decorate(klass: type) -> type:
        for name in aliases:
            _REGISTRY[name.lower()] = klass
        return klass
    return decorate


def create(init: Union["Initializer", str, type]) -> "Initializer":
    """An Initializer from an instance (returned as is), a registered name ('xavier',
    'zeros', ...), MXNet's JSON form ``'["name", {kwargs}]'``, or a registered class."""
    if isinstance(init, Initializer):
        return init
    if isinstance(init, type) and issubclass(init, Initializer):
        return init()
    if not isinstance(init, str):
        raise TypeError(f"initializer: expected an Initializer or a name such as 'xavier', "
                        f"got {type(init).__name__} {init!r}")
    kwargs = {}
    name = init
    if init.startswith("["):
        try:
            name, kwargs = json.loads(init)
        except (ValueError, TypeError):
            raise ValueError(f"initializer: cannot parse {init!r}; expected MXNet's JSON form "
                             f"'[\"name\", {{...}}]'") from None
    klass = _REGISTRY.get(str(name).lower())
    if klass is None:
        raise ValueError(f"initializer: unknown name {name!r}; registered initializers: "
                         f"{sorted(_REGISTRY)}")
    return klass(**kwargs)


class InitDesc(str):
    """A parameter's name, with ``attrs`` (``'__init__'``: its own initializer) and the
    ``global_init`` that the block-wide ``initialize`` call passed."""

    def __new__(cls, name: str, attrs: Optional[dict] = None, global_init=None) -> "InitDesc":
        desc = super().__new__(cls, name)
        desc.attrs = attrs or {}
        desc.global_init = global_init
        return desc


def _fill(arr: NDArray, value) -> None:
    """Write ``value`` (a scalar, or an array broadcasting to arr's shape) into ``arr``."""
    arr[:] = value


class Initializer:
    """Base class: fills parameters by the rule their name's suffix selects.

    Subclasses define ``_init_weight(name, arr)``; ``**kwargs`` are the
    constructor's arguments (``dumps`` writes them as MXNet's JSON form).
    """

    def __init__(self, **kwargs) -> None:
        self._kwargs = kwargs
        self._verbose = False
        self._print_func: Optional[Callable[[NDArray], str]] = None

    # ------------------------------------------------------------ description
    def set_verbosity(self, verbose: bool = False,
                      print_func: Optional[Callable[[NDArray], str]] = None) -> "Initializer":
        """Log each initialized parameter with ``print_func(arr)`` (default: its RMS)."""
        self._verbose = verbose
        if print_func is None:
            def print_func(x: NDArray) -> str:
                return str(float((_norm(x) / math.sqrt(max(x.size, 1))).asscalar()))
        self._print_func = print_func
        return self

    def _verbose_print(self, desc, init, arr: NDArray) -> None:
        if self._verbose and self._print_func is not None:
            logging.info("Initialized %s as %s: %s", desc, init, self._print_func(arr))

    def dumps(self) -> str:
        """MXNet's JSON form, ``'["name", {kwargs}]'``, which ``create`` reads back."""
        return json.dumps([type(self).__name__.lower(), self._kwargs])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.dumps() == other.dumps()

    def __hash__(self) -> int:
        return hash(type(self))

    # ----------------------------------------------------------------- apply
    def __call__(self, desc, arr: NDArray) -> None:
        """Fill ``arr`` (in place) for the parameter ``desc`` names."""
        if not isinstance(arr, NDArray):
            raise TypeError(f"{type(self).__name__}: expected an NDArray to fill for {desc!r}, "
                            f"got {type(arr).__name__}")
        if not isinstance(desc, InitDesc):
            desc = InitDesc(str(desc))
        if desc.global_init is None:
            desc.global_init = self
        own = desc.attrs.get("__init__", "")
        with autograd.pause():
            if own:
                create(own)._init_weight(desc, arr)
                self._verbose_print(desc, own, arr)
                return
            self._init_by_suffix(desc, arr)

    def _init_by_suffix(self, name: str, arr: NDArray) -> None:
        if name.endswith("weight"):
            self._init_weight(name, arr)
            self._verbose_print(name, "weight", arr)
        elif name.endswith("bias"):
            self._init_bias(name, arr)
            self._verbose_print(name, "bias", arr)
        elif name.endswith("gamma"):
            self._init_gamma(name, arr)
            self._verbose_print(name, "gamma", arr)
        elif name.endswith("beta"):
            self._init_beta(name, arr)
            self._verbose_print(name, "beta", arr)
        elif name.endswith(("running_mean", "moving_mean", "moving_inv_var", "moving_avg", "min")):
            self._init_zero(name, arr)
        elif name.endswith(("running_var", "moving_var", "max")):
            self._init_one(name, arr)
        else:
            self._init_default(name, arr)

    # ----------------------------------------------------------------- rules
    def _init_weight(self, name: str, arr: NDArray) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not define _init_weight, so it "
                                  f"cannot initialize {name!r}")

    def _init_bias(self, name: str, arr: NDArray) -> None:
        _fill(arr, 0.0)

    def _init_gamma(self, name: str, arr: NDArray) -> None:
        _fill(arr, 1.0)

    def _init_beta(self, name: str, arr: NDArray) -> None:
        _fill(arr, 0.0)

    def _init_zero(self, name: str, arr: NDArray) -> None:
        _fill(arr, 0.0)

    def _init_one(self, name: str, arr: NDArray) -> None:
        _fill(arr, 1.0)

    def _init_default(self, name: str, arr: NDArray) -> None:
        raise ValueError(
            f"{type(self).__name__}: unknown initialization pattern for {name!r} (shape "
            f"{arr.shape}): by name, only '*weight', '*bias', '*gamma' (1), '*beta' (0), "
            f"'*running_mean'/'*moving_mean' (0) and '*running_var'/'*moving_var' (1) are "
            f"known; give the Parameter its own init= to initialize others")


@register
@alias("zeros")
class Zero(Initializer):
    """Fills with 0."""

    def _init_weight(self, name, arr):
        _fill(arr, 0.0)


@register
@alias("ones")
class One(Initializer):
    """Fills with 1."""

    def _init_weight(self, name, arr):
        _fill(arr, 1.0)


@register
class Constant(Initializer):
    """Fills with ``value``: a scalar, or an array (list, NumPy, NDArray) of the
    parameter's shape (or one that broadcasts to it)."""

    def __init__(self, value) -> None:
        super().__init__(value=value)
        self.value = value

    def dumps(self) -> str:
        value = self.value
        if isinstance(value, NDArray):
            value = value.asnumpy().tolist()
        elif isinstance(value, numpy.ndarray):
            value = value.tolist()
        return json.dumps([type(self).__name__.lower(), {"value": value}])

    def _init_weight(self, name, arr):
        value = self.value
        if isinstance(value, NDArray):
            value = value.as_in_context(arr.context)
        elif not numpy.isscalar(value):
            value = numpy.asarray(value)
        shape = getattr(value, "shape", ())
        try:
            numpy.broadcast_shapes(tuple(shape), arr.shape)
        except ValueError:
            raise ValueError(f"Constant: a value of shape {tuple(shape)} cannot fill parameter "
                             f"{name!r} of shape {arr.shape}") from None
        _fill(arr, value)


@register
class Uniform(Initializer):
    """Samples from U[-scale, scale]."""

    def __init__(self, scale: float = 0.07) -> None:
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, name, arr):
        _fill(arr, _random.uniform(-self.scale, self.scale, shape=arr.shape, dtype=arr.dtype,
                                   ctx=arr.context))


@register
class Normal(Initializer):
    """Samples from N(0, sigma**2)."""

    def __init__(self, sigma: float = 0.01) -> None:
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, name, arr):
        _fill(arr, _random.normal(0.0, self.sigma, shape=arr.shape, dtype=arr.dtype,
                                  ctx=arr.context))


@register
class Xavier(Initializer):
    """Glorot's scaling: values with variance ``magnitude / factor``, where factor is
    fan_in, fan_out or their mean (``factor_type`` 'in', 'out', 'avg').

    For a weight of shape (out, in, k1, k2, ...), fan_in = in * k1 * k2 ... and
    fan_out = out * k1 * k2 .... ``rnd_type`` 'uniform' samples U[-s, s] with
    s = sqrt(magnitude / factor); 'gaussian' samples N(0, s**2).
    """

    def __init__(self, rnd_type: str = "uniform", factor_type: str = "avg",
                 magnitude: float = 3) -> None:
        if rnd_type not in ("uniform", "gaussian"):
            raise ValueError(f"Xavier: rnd_type must be 'uniform' or 'gaussian', got {rnd_type!r}")
        if factor_type not in ("avg", "in", "out"):
            raise ValueError(f"Xavier: factor_type must be 'avg', 'in' or 'out', "
                             f"got {factor_type!r}")
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = float(magnitude)

    def _init_weight(self, name, arr):
        shape = arr.shape
        if len(shape) < 2:
            raise ValueError(f"Xavier initializer cannot be applied to vector {name} of shape "
                             f"{shape}. It requires at least 2D.")
        hw_scale = float(numpy.prod(shape[2:])) if len(shape) > 2 else 1.0
        fan_in, fan_out = shape[1] * hw_scale, shape[0] * hw_scale
        factor = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}[self.factor_type]
        if factor <= 0:
            raise ValueError(f"Xavier: parameter {name} of shape {shape} has no fan-in/fan-out")
        scale = math.sqrt(self.magnitude / factor)
        if self.rnd_type == "uniform":
            sample = _random.uniform(-scale, scale, shape=shape, dtype=arr.dtype, ctx=arr.context)
        else:
            sample = _random.normal(0.0, scale, shape=shape, dtype=arr.dtype, ctx=arr.context)
        _fill(arr, sample)


@register
class MSRAPrelu(Xavier):
    """He et al.'s initialization for PReLU nets: Gaussian Xavier with magnitude
    2 / (1 + slope**2)."""

    def __init__(self, factor_type: str = "avg", slope: float = 0.25) -> None:
        magnitude = 2.0 / (1 + slope ** 2)
        super().__init__("gaussian", factor_type, magnitude)
        self._kwargs = {"factor_type": factor_type, "slope": slope}
