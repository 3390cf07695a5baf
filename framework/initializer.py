"""Initializers (MXNet's ``mx.init``): how a Parameter's first values are drawn.

    net.initialize(fw.init.Xavier(magnitude=2.24))
    fw.nn.Dense(10, weight_initializer="normal", bias_initializer=fw.init.Constant(0.1))
    net.initialize(fw.init.Mixed([".*bias", ".*"], [fw.init.Zero(), fw.init.Xavier()]))
    net.initialize(fw.init.Load("model.params", default_init=fw.init.Uniform()))

An initializer is called as ``init(desc, arr)``: ``desc`` names the parameter
and ``arr`` is the NDArray it fills in place. ``desc`` is an ``InitDesc`` (a
``str`` with ``attrs``); when ``desc.attrs['__init__']`` names an initializer,
that one fills ``arr`` with its ``_init_weight``, whatever the name. This is
how Gluon works: a Parameter always passes ``__init__`` (its own initializer,
else the one given to ``initialize``, else ``Uniform()``), so a block-wide
initializer fills every Parameter without an initializer of its own, and the
layers give their biases, BatchNorm statistics and so on their own ('zeros',
'ones'). Without ``__init__`` the name's suffix chooses the rule, as in MXNet
1.9.1: ``*weight`` ``_init_weight`` (the rule each initializer defines),
``*bias``/``*beta`` 0, ``*gamma`` 1, ``*min`` 0, ``*max`` 1,
``*weight_quantize`` random int8 values, ``*bias_quantize`` 0; here also
``*running_mean``/``*moving_mean`` 0 and ``*running_var``/``*moving_var`` 1. A
plain ``str`` name is MXNet's deprecated form (a DeprecationWarning) with its
older rules (``upsampling*`` is Bilinear, ``stn_loc*`` the identity transform).

Random values are drawn with ``fw.nd.random`` on ``arr``'s context (its seeded
generator); nothing is copied to the host.

Names: every initializer is registered under its lower-case class name and
MXNet's aliases ('zeros', 'ones'); ``create`` makes one from a name, from the
JSON form ``dumps()`` writes (``'["xavier", {"magnitude": 2}]'``), or returns
an Initializer unchanged.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import warnings
from typing import Callable, Dict, Optional, Sequence

import numpy

from . import autograd
from .ndarray import NDArray
from .ndarray import erfinv as _erfinv
from .ndarray import io as _io
from .ndarray import norm as _norm
from .ndarray import random as _random

__all__ = ["InitDesc", "Initializer", "register", "alias", "create", "Load", "Mixed", "Zero",
           "One", "Constant", "Uniform", "Normal", "TruncNorm", "Orthogonal", "Xavier",
           "MSRAPrelu", "Bilinear", "LSTMBias"]

_REGISTRY: Dict[str, type] = {}


def register(klass: type) -> type:
    """Class decorator: make ``klass`` creatable by its lower-case name."""
    if not (isinstance(klass, type) and issubclass(klass, Initializer)):
        raise TypeError(f"register: expected an Initializer subclass, got {klass!r}")
    name = klass.__name__.lower()
    old = _REGISTRY.get(name)
    if old is not None and old is not klass:
        warnings.warn(f"New initializer {klass.__module__}.{klass.__name__} is overriding "
                      f"existing initializer {old.__module__}.{old.__name__}", stacklevel=2)
    _REGISTRY[name] = klass
    return klass


def alias(*aliases: str) -> Callable[[type], type]:
    """Class decorator: make ``klass`` creatable under each of ``aliases`` too."""
    def decorate(klass: type) -> type:
        for name in aliases:
            _REGISTRY[name.lower()] = klass
        return klass
    return decorate


def create(*args, **kwargs) -> "Initializer":
    """An Initializer, as MXNet's ``mx.init.create``.

    The first argument (or ``initializer=``) is an Initializer (returned as is), a
    registered class, a registered name ('xavier', 'zeros', ...; the other
    arguments go to its constructor), the JSON form ``'["name", {kwargs}]'`` that
    ``dumps`` writes, or a dict / JSON object ``{"initializer": name, **kwargs}``.
    """
    if args:
        init, args = args[0], args[1:]
    elif "initializer" in kwargs:
        init = kwargs.pop("initializer")
    else:
        raise TypeError("initializer: create() needs an initializer or a name such as 'xavier'")
    if isinstance(init, Initializer):
        if args or kwargs:
            raise TypeError(f"initializer: {init!r} is already an instance; it takes no further "
                            f"arguments, got {args} {kwargs}")
        return init
    if isinstance(init, type) and issubclass(init, Initializer):
        return init(*args, **kwargs)
    if isinstance(init, dict):
        if args or kwargs:
            raise TypeError("initializer: a dict form takes no further arguments")
        return create(**init)
    if not isinstance(init, str):
        raise TypeError(f"initializer: expected an Initializer or a name such as 'xavier', "
                        f"got {type(init).__name__} {init!r}")
    text = init.strip()
    if text.startswith(("[", "{")):
        if args or kwargs:
            raise TypeError("initializer: a JSON form takes no further arguments")
        try:
            spec = json.loads(text)
        except ValueError:
            spec = None
        if isinstance(spec, dict):
            return create(**spec)
        if not (isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], str)
                and isinstance(spec[1], dict)):
            raise ValueError(f"initializer: cannot parse {init!r}; expected MXNet's JSON form "
                             f"'[\"name\", {{...}}]'")
        init, kwargs = spec
    klass = _REGISTRY.get(init.lower())
    if klass is None:
        raise ValueError(f"initializer: unknown name {init!r}; registered initializers: "
                         f"{sorted(_REGISTRY)}")
    try:
        return klass(*args, **kwargs)
    except TypeError as err:
        raise TypeError(f"initializer {init!r} ({klass.__name__}): {err}") from None


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


def _check_arr(who: str, desc, arr) -> None:
    if not isinstance(arr, NDArray):
        raise TypeError(f"{who}: expected an NDArray to fill for {desc!r}, "
                        f"got {type(arr).__name__}")


def _bilinear_fill(name: str, arr: NDArray) -> None:
    """MXNet's upsampling kernel: for a weight (..., H, W), with f = ceil(W / 2) and
    c = (2f - 1 - f % 2) / (2f), element (y, x) is (1 - |x/f - c|) (1 - |y/f - c|)."""
    if arr.ndim != 4:
        raise ValueError(f"Bilinear: parameter {name!r} of shape {arr.shape} is not a 4-D "
                         f"(out, in, H, W) deconvolution weight")
    height, width = arr.shape[2], arr.shape[3]
    f = math.ceil(width / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    ctx = arr.context
    xp = ctx.xp
    with ctx.scope():
        xs = xp.arange(width, dtype=numpy.float64)
        ys = xp.arange(height, dtype=numpy.float64)
        kernel = (1 - xp.abs(ys / f - c))[:, None] * (1 - xp.abs(xs / f - c))[None, :]
        kernel = NDArray(kernel.astype(arr.dtype), ctx)
    _fill(arr, kernel)


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
        """Log each initialized parameter with ``print_func(arr)`` (default: its RMS,
        norm(x) / sqrt(size), as MXNet)."""
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
        if other is self:
            return True
        try:
            return self.dumps() == other.dumps()
        except TypeError:                       # no JSON form (e.g. Load from a dict)
            return False

    def __hash__(self) -> int:
        return hash(type(self))

    # ----------------------------------------------------------------- apply
    def __call__(self, desc, arr: NDArray) -> None:
        """Fill ``arr`` (in place) for the parameter ``desc`` names."""
        _check_arr(type(self).__name__, desc, arr)
        if not isinstance(desc, InitDesc):
            if not isinstance(desc, str):
                raise TypeError(f"{type(self).__name__}: the parameter name must be a str or "
                                f"an InitDesc, got {type(desc).__name__} {desc!r}")
            warnings.warn("Calling initializer with init(str, NDArray) has been deprecated. "
                          "please use init(fw.init.InitDesc(...), NDArray) instead.",
                          DeprecationWarning, stacklevel=2)
            with autograd.pause():
                self._legacy_init(desc, arr)
            return
        if desc.global_init is None:
            desc.global_init = self
        own = desc.attrs.get("__init__", "")
        with autograd.pause():
            if own:
                create(own)._init_weight(desc, arr)
                self._verbose_print(desc, own, arr)
            else:
                self._init_by_suffix(desc, arr)

    def _init_by_suffix(self, name: str, arr: NDArray) -> None:
        """MXNet 1.9.1's rules for an InitDesc without '__init__' (plus Gluon's
        running_mean/running_var and the moving_mean/moving_var of its legacy rules)."""
        rules = (("weight", self._init_weight), ("bias", self._init_bias),
                 ("gamma", self._init_gamma), ("beta", self._init_beta),
                 ("min", self._init_zero), ("max", self._init_one),
                 ("weight_quantize", self._init_quantized_weight),
                 ("bias_quantize", self._init_quantized_bias),
                 ("running_mean", self._init_zero), ("moving_mean", self._init_zero),
                 ("running_var", self._init_one), ("moving_var", self._init_one))
        for suffix, rule in rules:
            if name.endswith(suffix):
                rule(name, arr)
                self._verbose_print(name, suffix, arr)
                return
        self._init_default(name, arr)

    def _legacy_init(self, name: str, arr: NDArray) -> None:
        """MXNet's rules for a plain str name (its deprecated calling form)."""
        if name.startswith("upsampling"):
            self._init_bilinear(name, arr)
        elif name.startswith("stn_loc") and name.endswith("weight"):
            self._init_zero(name, arr)
        elif name.startswith("stn_loc") and name.endswith("bias"):
            self._init_loc_bias(name, arr)
        elif name.endswith("bias"):
            self._init_bias(name, arr)
        elif name.endswith("gamma"):
            self._init_gamma(name, arr)
        elif name.endswith("beta"):
            self._init_beta(name, arr)
        elif name.endswith("weight"):
            self._init_weight(name, arr)
        elif name.endswith(("moving_mean", "running_mean", "moving_inv_var", "moving_avg")):
            self._init_zero(name, arr)
        elif name.endswith(("moving_var", "running_var")):
            self._init_one(name, arr)
        elif name.endswith("min"):
            self._init_zero(name, arr)
        elif name.endswith("max"):
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

    def _init_bilinear(self, name: str, arr: NDArray) -> None:
        _bilinear_fill(name, arr)

    def _init_loc_bias(self, name: str, arr: NDArray) -> None:
        """The identity affine transform (a spatial transformer's localisation bias)."""
        if arr.shape != (6,):
            raise ValueError(f"{type(self).__name__}: the localisation bias {name!r} must have "
                             f"shape (6,), got {arr.shape}")
        _fill(arr, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0])

    def _init_quantized_weight(self, name: str, arr: NDArray) -> None:
        """Random integers in [-127, 127), each element drawn on its own."""
        _fill(arr, _random.randint(-127, 127, shape=arr.shape, ctx=arr.context))

    def _init_quantized_bias(self, name: str, arr: NDArray) -> None:
        _fill(arr, 0)

    def _init_default(self, name: str, arr: NDArray) -> None:
        raise ValueError(
            f"{type(self).__name__}: unknown initialization pattern for {name!r} (shape "
            f"{arr.shape}): by name, only '*weight', '*bias', '*gamma' (1), '*beta' (0), "
            f"'*min' (0), '*max' (1), '*running_mean'/'*moving_mean' (0) and "
            f"'*running_var'/'*moving_var' (1) are known; give the Parameter its own init= "
            f"to initialize others")


def _own_init(desc):
    """The initializer ``desc.attrs['__init__']`` names, or ''."""
    return desc.attrs.get("__init__", "") if isinstance(desc, InitDesc) else ""


@register
class Load(Initializer):
    """Initializes parameters with the arrays of a file or dict, by name.

    ``param``: a file name (read with ``fw.nd.load``: the framework's HDF5 files and
    MXNet's ``.params``) or a dict name -> NDArray. As MXNet, an ``arg:``/``aux:``
    mark before a name is dropped. A parameter that is not there gets
    ``default_init`` (an Initializer or a name; its own rules then apply, so a
    Parameter's own initializer still wins there), or, without one, its own
    initializer if it has one, else an error. A name that is there is loaded even
    when the Parameter has an initializer of its own (that is what loading is for).
    ``verbose`` logs where each parameter came from.
    """

    def __init__(self, param, default_init=None, verbose: bool = False) -> None:
        if isinstance(param, (str, os.PathLike)):
            self._source = f"file '{os.fspath(param)}'"
            path = os.fspath(param)
            param = _io.load(path)
        else:
            path = None
            self._source = "the dict given to Load"
        if not isinstance(param, dict):
            raise ValueError(f"Load: {self._source} holds an unnamed list of {len(param)} "
                             f"arrays; Load initializes by name, so it needs arrays saved "
                             f"from a dict (nd.save(fname, {{name: array}})) or a dict")
        self.param: Dict[str, NDArray] = {}
        for name, value in param.items():
            if not isinstance(value, NDArray):
                raise TypeError(f"Load: {self._source}: '{name}' is a {type(value).__name__}, "
                                f"expected an NDArray")
            self.param[name[4:] if name.startswith(("arg:", "aux:")) else name] = value
        self.default_init = None if default_init is None else create(default_init)
        self.verbose = verbose
        super().__init__(param=path, default_init=self.default_init, verbose=verbose)

    def dumps(self) -> str:
        """``'["load", {"param": file, "default_init": <its JSON form>, "verbose": ...}]'``;
        only a Load made from a file name has one."""
        if self._kwargs["param"] is None:
            raise TypeError("Load: an initializer made from a dict of arrays has no JSON form; "
                            "make it from a file name")
        default = None if self.default_init is None else self.default_init.dumps()
        return json.dumps(["load", {"param": self._kwargs["param"], "default_init": default,
                                    "verbose": self.verbose}])

    def _copy(self, name: str, arr: NDArray) -> None:
        src = self.param[name]
        if src.shape != arr.shape:
            raise ValueError(f"Load: parameter '{name}' cannot be initialized from "
                             f"{self._source}: shape mismatch, target {arr.shape} vs loaded "
                             f"{src.shape}")
        _fill(arr, src.as_in_context(arr.context))
        if self.verbose:
            logging.info("Initialized %s by loading", name)

    def _missing(self, name: str, arr: NDArray) -> ValueError:
        known = sorted(self.param)
        shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
        return ValueError(f"Load: cannot initialize '{name}' (shape {arr.shape}): it is not in "
                          f"{self._source} ({len(known)} arrays: {shown}) and no default_init "
                          f"was given")

    def __call__(self, desc, arr: NDArray) -> None:
        _check_arr("Load", desc, arr)
        name = str(desc)
        with autograd.pause():
            if name in self.param:
                self._copy(name, arr)
                return
            own = _own_init(desc)
            if own is self:                  # no initializer of its own: Gluon's path
                self._init_weight(desc, arr)
                return
            if own:                          # the Parameter's own initializer
                create(own)._init_weight(desc, arr)
            elif self.default_init is not None:
                self.default_init(desc, arr)
            else:
                raise self._missing(name, arr)
        if self.verbose:
            logging.info("Initialized %s by default", name)

    def _init_weight(self, name, arr: NDArray) -> None:
        if str(name) in self.param:
            self._copy(str(name), arr)
            return
        if self.default_init is None:
            raise self._missing(str(name), arr)
        self.default_init._init_weight(name, arr)
        if self.verbose:
            logging.info("Initialized %s by default", name)

    def set_verbosity(self, verbose: bool = False, print_func=None) -> "Load":
        super().set_verbosity(verbose, print_func)
        self.verbose = verbose
        return self


@register
class Mixed(Initializer):
    """Initializes each parameter with the initializer of the first of ``patterns``
    (regular expressions, ``re.match``-ed from the start of the name, as MXNet)
    that its name matches: ``Mixed(['.*bias', '.*'], [Zero(), Xavier()])``.
    ``initializers`` are Initializers or names, one per pattern.
    """

    def __init__(self, patterns: Sequence[str], initializers: Sequence) -> None:
        patterns, initializers = list(patterns), list(initializers)
        if len(patterns) != len(initializers):
            raise ValueError(f"Mixed: {len(patterns)} patterns but {len(initializers)} "
                             f"initializers; give one initializer per pattern")
        compiled = []
        for pattern in patterns:
            try:
                compiled.append(re.compile(pattern))
            except (re.error, TypeError) as err:
                raise ValueError(f"Mixed: pattern {pattern!r} is not a valid regular "
                                 f"expression: {err}") from None
        inits = [create(init) for init in initializers]
        self.map = list(zip(compiled, inits))
        super().__init__(patterns=patterns, initializers=inits)

    def dumps(self) -> str:
        """``'["mixed", {"patterns": [...], "initializers": [<JSON forms>]}]'``."""
        return json.dumps(["mixed", {"patterns": self._kwargs["patterns"],
                                     "initializers": [i.dumps() for _, i in self.map]}])

    def _choose(self, name: str) -> Initializer:
        for pattern, init in self.map:
            if pattern.match(name):
                return init
        raise ValueError(f"Mixed: parameter name '{name}' did not match any pattern "
                         f"{self._kwargs['patterns']}. Consider adding a '.*' pattern at the "
                         f"end with a default initializer")

    def __call__(self, desc, arr: NDArray) -> None:
        _check_arr("Mixed", desc, arr)
        self._choose(str(desc))(desc, arr)

    def _init_weight(self, name, arr: NDArray) -> None:
        self._choose(str(name))._init_weight(name, arr)

    def set_verbosity(self, verbose: bool = False, print_func=None) -> "Mixed":
        super().set_verbosity(verbose, print_func)
        for _, init in self.map:
            init.set_verbosity(verbose, print_func)
        return self


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
        elif isinstance(value, (numpy.ndarray, numpy.generic)):
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
        _random.uniform(-self.scale, self.scale, shape=arr.shape, dtype=arr.dtype,
                        ctx=arr.context, out=arr)


@register
class Normal(Initializer):
    """Samples from N(0, sigma**2)."""

    def __init__(self, sigma: float = 0.01) -> None:
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, name, arr):
        _random.normal(0.0, self.sigma, shape=arr.shape, dtype=arr.dtype, ctx=arr.context,
                       out=arr)


# P(|Z| < 2) for a standard normal Z: erf(2 / sqrt(2))
_TRUNC_MASS = math.erf(math.sqrt(2.0))


@register
class TruncNorm(Initializer):
    """Samples from N(mean, stdev**2) truncated to [mean - 2 stdev, mean + 2 stdev]
    (values further out are, in effect, redrawn), as MXNet 2's and GluonNLP's TruncNorm.

    Drawn by inversion: u ~ U(-erf(sqrt 2), erf(sqrt 2)), value = mean + stdev *
    sqrt(2) * erfinv(u), in float64 on the array's context, then cast.
    """

    def __init__(self, mean: float = 0.0, stdev: float = 0.01) -> None:
        if not stdev > 0:
            raise ValueError(f"TruncNorm: stdev must be positive, got {stdev}")
        super().__init__(mean=mean, stdev=stdev)
        self.mean = mean
        self.stdev = stdev

    def _init_weight(self, name, arr):
        u = _random.uniform(-_TRUNC_MASS, _TRUNC_MASS, shape=arr.shape, dtype=numpy.float64,
                            ctx=arr.context)
        _fill(arr, _erfinv(u) * (self.stdev * math.sqrt(2.0)) + self.mean)


@register
class Orthogonal(Initializer):
    """An orthogonal matrix times ``scale`` (Saxe et al., 2013), as MXNet.

    The weight (out, ...) is viewed as a matrix (out, in) with in the product of the
    other dimensions; a random matrix of that shape (U[-1, 1] for ``rand_type``
    'uniform', N(0, 1) for 'normal') is decomposed by SVD, and U (out >= in: its
    columns are orthonormal, W^T W = scale^2 I) or V^T (out < in: W W^T = scale^2 I)
    is the weight. The draw and the SVD run on the array's context (``xp.linalg``).
    """

    def __init__(self, scale: float = 1.414, rand_type: str = "uniform") -> None:
        if rand_type not in ("uniform", "normal"):
            raise ValueError(f"Orthogonal: rand_type must be 'uniform' or 'normal', "
                             f"got {rand_type!r}")
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale = scale
        self.rand_type = rand_type

    def _init_weight(self, name, arr):
        if arr.ndim == 0:
            raise ValueError(f"Orthogonal: parameter {name!r} is a scalar; it needs at least "
                             f"one dimension")
        nout = arr.shape[0]
        nin = int(numpy.prod(arr.shape[1:]))
        ctx = arr.context
        if self.rand_type == "uniform":
            tmp = _random.uniform(-1.0, 1.0, shape=(nout, nin), ctx=ctx)
        else:
            tmp = _random.normal(0.0, 1.0, shape=(nout, nin), ctx=ctx)
        with ctx.scope():
            u, _, vt = ctx.xp.linalg.svd(tmp._data, full_matrices=False)
            res = u if u.shape == (nout, nin) else vt
            res = (res * self.scale).reshape(arr.shape).astype(arr.dtype)
        _fill(arr, NDArray(res, ctx))


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
            _random.uniform(-scale, scale, shape=shape, dtype=arr.dtype, ctx=arr.context,
                            out=arr)
        else:
            _random.normal(0.0, scale, shape=shape, dtype=arr.dtype, ctx=arr.context, out=arr)


@register
class MSRAPrelu(Xavier):
    """He et al.'s initialization for PReLU nets: Gaussian Xavier with magnitude
    2 / (1 + slope**2)."""

    def __init__(self, factor_type: str = "avg", slope: float = 0.25) -> None:
        magnitude = 2.0 / (1 + slope ** 2)
        super().__init__("gaussian", factor_type, magnitude)
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Bilinear(Initializer):
    """The bilinear-interpolation kernel of an upsampling Deconvolution weight
    (out, in, H, W), as MXNet: element (y, x) is (1 - |x/f - c|) (1 - |y/f - c|)
    with f = ceil(W / 2) and c = (2f - 1 - f % 2) / (2f), for every (out, in)."""

    def _init_weight(self, name, arr):
        _bilinear_fill(str(name), arr)


@register
class LSTMBias(Initializer):
    """An LSTM bias (4 * hidden,) of gates [input, forget, cell, output]: 0, except the
    forget gate's quarter, which is ``forget_bias`` (Jozefowicz et al. 2015: 1.0)."""

    def __init__(self, forget_bias: float = 1.0) -> None:
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _init_weight(self, name, arr):
        if arr.ndim == 0 or arr.shape[0] % 4:
            raise ValueError(f"LSTMBias: parameter {name!r} of shape {arr.shape} is not an LSTM "
                             f"bias: its first dimension must be 4 * num_hidden")
        num_hidden = arr.shape[0] // 4
        _fill(arr, 0.0)
        arr[num_hidden:2 * num_hidden] = self.forget_bias
