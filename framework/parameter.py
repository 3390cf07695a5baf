"""``Parameter``, ``Constant`` and ``ParameterDict`` (MXNet's ``gluon.Parameter`` ...).

A Parameter is a named weight that may live on several contexts at once: one
NDArray copy per context, each a variable of autograd with its own gradient
buffer (``attach_grad(grad_req)``). ``data(ctx)``/``grad(ctx)`` return the copy
on one context, ``list_data()``/``list_grad()`` all of them (what a Trainer
reads and updates).

Shapes may be partly unknown: a dimension of 0 is unknown, as in MXNet 1.x.
``initialize`` on such a Parameter (``allow_deferred_init=True``) only records
the initializer and contexts; the owning block fills the shape from its first
input and then finishes the initialization (``Block`` does this).
"""
from __future__ import annotations

import re
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy

from . import autograd
from . import initializer as _init
from .context import Context, cpu, current_context
from .ndarray import NDArray
from .ndarray import io as _io
from .ndarray import zeros as _zeros
from .ndarray import array as _array

__all__ = ["Parameter", "Constant", "ParameterDict", "DeferredInitializationError",
           "shape_is_known"]

Shape = Optional[Tuple[int, ...]]
CtxList = Union[Context, Sequence[Context], None]

_GRAD_REQS = ("write", "add", "null")


class DeferredInitializationError(RuntimeError):
    """A Parameter's data was asked for before its deferred initialization finished."""


def shape_is_known(shape: Shape) -> bool:
    """Whether every dimension of ``shape`` is known (> 0; 0 means unknown)."""
    return shape is not None and all(int(d) > 0 for d in shape)


def _ctx_list(ctx: CtxList) -> List[Context]:
    if ctx is None:
        return [current_context()]
    if isinstance(ctx, Context):
        return [ctx]
    ctxs = [Context(c) for c in ctx]
    if not ctxs:
        raise ValueError("ctx must name at least one context, got an empty list")
    return ctxs


def _shape_tuple(shape, name: str) -> Shape:
    if shape is None:
        return None
    if isinstance(shape, (int, numpy.integer)):
        return (int(shape),)
    try:
        out = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"Parameter '{name}': shape must be an int or a tuple of ints, "
                        f"got {shape!r}") from None
    if any(d < 0 for d in out):
        raise ValueError(f"Parameter '{name}': shape {out} has a negative dimension "
                         f"(0 means unknown)")
    return out


def _dtype_name(dtype) -> str:
    return numpy.dtype(dtype).name


class Parameter:
    """A weight of a Block: its data on one or more contexts and their gradients.

    ``name``: the full name (``dense0_weight``). ``grad_req``: 'write' (backward
    overwrites the gradient), 'add' (accumulates; clear it with ``zero_grad``) or
    'null' (no gradient). ``shape``: dimensions, 0 for unknown ones (filled on the
    first forward when ``allow_deferred_init``). ``dtype``: float32 by default.
    ``lr_mult``/``wd_mult`` scale the learning rate and weight decay an optimizer
    applies. ``init``: this parameter's own initializer (else the one passed to
    ``initialize``). ``differentiable=False`` forces grad_req 'null'.
    """

    def __init__(self, name: str, grad_req: str = "write", shape=None, dtype=numpy.float32,
                 lr_mult: float = 1.0, wd_mult: float = 1.0, init=None,
                 allow_deferred_init: bool = False, differentiable: bool = True,
                 stype: str = "default", grad_stype: str = "default") -> None:
        if not isinstance(name, str):
            raise TypeError(f"Parameter: name must be a str, got {type(name).__name__}")
        if stype != "default" or grad_stype != "default":
            raise ValueError(f"Parameter '{name}': only dense storage ('default') is supported, "
                             f"got stype={stype!r}, grad_stype={grad_stype!r}")
        self.name = name
        self._shape = _shape_tuple(shape, name)
        try:
            numpy.dtype(dtype)
        except TypeError:
            raise TypeError(f"Parameter '{name}': unknown dtype {dtype!r}") from None
        self.dtype = dtype
        self.lr_mult = lr_mult
        self.wd_mult = wd_mult
        self.init = init
        self._allow_deferred_init = allow_deferred_init
        self._differentiable = differentiable
        self._data: Optional[List[NDArray]] = None
        self._ctx_list: Optional[List[Context]] = None
        self._ctx_index: Dict[Context, int] = {}
        # pending initialization: (init, ctx list, default_init, data or None)
        self._deferred_init: tuple = ()
        self._grad_req = "null"
        self.grad_req = grad_req

    def __repr__(self) -> str:
        return f"Parameter {self.name} (shape={self.shape}, dtype={self.dtype})"

    # ------------------------------------------------------------ attributes
    @property
    def shape(self) -> Shape:
        """The shape; unknown dimensions are 0."""
        return self._shape

    @shape.setter
    def shape(self, new_shape) -> None:
        new_shape = _shape_tuple(new_shape, self.name)
        if self._shape is None or new_shape is None:
            self._shape = new_shape
            return
        if len(new_shape) != len(self._shape) or any(
                old not in (0, new) for old, new in zip(self._shape, new_shape)):
            raise ValueError(f"Parameter '{self.name}': the shape {new_shape} is incompatible "
                             f"with its shape {self._shape} (only unknown dimensions, 0, can "
                             f"change)")
        if self._data is not None and new_shape != self._data[0].shape:
            raise ValueError(f"Parameter '{self.name}': cannot change the shape of initialized "
                             f"data {self._data[0].shape} to {new_shape}")
        self._shape = new_shape

    @property
    def grad_req(self) -> str:
        return self._grad_req

    @grad_req.setter
    def grad_req(self, req: str) -> None:
        if req not in _GRAD_REQS:
            raise ValueError(f"Parameter '{self.name}': grad_req must be 'write', 'add' or "
                             f"'null', got {req!r}")
        if not self._differentiable:
            req = "null"
        if req == self._grad_req:
            return
        self._grad_req = req
        if self._data is not None:
            self._init_grad()

    @property
    def allow_deferred_init(self) -> bool:
        return self._allow_deferred_init

    @property
    def differentiable(self) -> bool:
        return self._differentiable

    # ------------------------------------------------------------ initialize
    def initialize(self, init=None, ctx: CtxList = None, default_init=_init.Uniform(),
                   force_reinit: bool = False) -> None:
        """Create the data on ``ctx`` (a context or a list; default: the current one).

        The initializer is ``init``, else this Parameter's own ``init``, else
        ``default_init``. With unknown dimensions and ``allow_deferred_init``, the
        initialization waits for the shape (the owning block's first forward).
        An initialized Parameter is left alone (with a warning) unless ``force_reinit``.
        """
        if self._data is not None and not force_reinit:
            warnings.warn(f"Parameter '{self.name}' is already initialized, ignoring. "
                          f"Set force_reinit=True to re-initialize.", stacklevel=2)
            return
        ctxs = _ctx_list(ctx)
        if init is None:
            init = default_init if self.init is None else self.init
        if not shape_is_known(self._shape):
            if not self._allow_deferred_init:
                raise ValueError(f"Cannot initialize Parameter '{self.name}' because it has "
                                 f"invalid shape: {self._shape} (0 marks an unknown dimension; "
                                 f"give the full shape, or allow_deferred_init=True)")
            self._data, self._ctx_list, self._ctx_index = None, None, {}
        self._deferred_init = (init, ctxs, default_init, None)
        self._finish_deferred_init()

    def _finish_deferred_init(self) -> None:
        """Run the initialization recorded by ``initialize`` once the shape is known."""
        if not self._deferred_init:
            return
        init, ctxs, default_init, data = self._deferred_init
        if not shape_is_known(self._shape):
            if self._allow_deferred_init:
                return                       # waits for the shape (the first forward)
            raise ValueError(f"Cannot initialize Parameter '{self.name}' because it has "
                             f"invalid shape: {self._shape}. Please specify in_units, "
                             f"in_channels, etc. for Blocks.")
        with autograd.pause():
            if data is None:
                data = _zeros(self._shape, ctx=ctxs[0], dtype=self.dtype)
                _init.create(default_init)(_init.InitDesc(self.name, {"__init__": init}), data)
            self._init_impl(data, ctxs)
        self._deferred_init = ()

    def _init_impl(self, data: NDArray, ctxs: List[Context]) -> None:
        """One copy of ``data`` (cast to this dtype) per context, with gradient buffers."""
        self._ctx_list = list(ctxs)
        self._ctx_index = {c: i for i, c in enumerate(self._ctx_list)}
        with autograd.pause():
            data = data.astype(self.dtype, copy=False)
            self._data = [data.copyto(c) for c in self._ctx_list]
        self._init_grad()

    def _init_grad(self) -> None:
        for arr in self._data:
            arr.attach_grad(self._grad_req)

    # ------------------------------------------------------------- access
    def _not_ready_error(self) -> Exception:
        if self._deferred_init:
            return DeferredInitializationError(
                f"Parameter '{self.name}' has not been initialized yet because initialization "
                f"was deferred. Actual initialization happens during the first forward pass. "
                f"Please pass one batch of data through the network before accessing "
                f"Parameters. You can also avoid deferred initialization by specifying "
                f"in_units, num_features, etc., for network layers.")
        return RuntimeError(
            f"Parameter '{self.name}' has not been initialized. Note that you should "
            f"initialize parameters and create Trainer with Block.collect_params() instead of "
            f"Block.params because the later does not include Parameters of nested child "
            f"Blocks")

    def _index_of(self, ctx: Optional[Context]) -> int:
        if ctx is None:
            if len(self._data) == 1:
                return 0
            ctx = current_context()
        if type(ctx) is not Context:            # Contexts are interned: no conversion
            ctx = Context(ctx)
        index = self._ctx_index.get(ctx)
        if index is None:
            raise RuntimeError(f"Parameter '{self.name}' was not initialized on context {ctx}. "
                               f"It was only initialized on {self._ctx_list}.")
        return index

    def data(self, ctx: Optional[Context] = None) -> NDArray:
        """The copy on ``ctx`` (default: the only copy, else the current context's)."""
        if self._data is None:
            raise self._not_ready_error()
        return self._data[self._index_of(ctx)]

    def list_data(self) -> List[NDArray]:
        """Every copy, in the order of ``list_ctx()``."""
        if self._data is None:
            raise self._not_ready_error()
        return list(self._data)

    def grad(self, ctx: Optional[Context] = None) -> NDArray:
        """The gradient buffer of the copy on ``ctx``."""
        if self._data is not None and self._grad_req == "null":
            raise RuntimeError(f"Cannot get gradient array for Parameter '{self.name}' "
                               f"because grad_req='null'")
        return self.data(ctx).grad

    def list_grad(self) -> List[NDArray]:
        """The gradient buffer of every copy, in the order of ``list_ctx()``."""
        if self._data is not None and self._grad_req == "null":
            raise RuntimeError(f"Cannot get gradient array for Parameter '{self.name}' "
                               f"because grad_req='null'")
        return [arr.grad for arr in self.list_data()]

    def list_ctx(self) -> List[Context]:
        """The contexts this Parameter lives on (or will, once deferred init finishes)."""
        if self._data is None:
            if self._deferred_init:
                return list(self._deferred_init[1])
            raise RuntimeError(f"Parameter '{self.name}' has not been initialized")
        return list(self._ctx_list)

    # ------------------------------------------------------------ changes
    def set_data(self, data) -> None:
        """Write ``data`` (same shape; any context) into every copy."""
        if not isinstance(data, NDArray):
            data = _array(data, dtype=self.dtype)
        self.shape = data.shape
        if self._data is None:
            if not self._deferred_init:
                raise RuntimeError(f"Parameter '{self.name}' has not been initialized")
            self._deferred_init = self._deferred_init[:3] + (data,)
            return
        with autograd.pause():
            for arr in self._data:
                data.copyto(arr)

    def zero_grad(self) -> None:
        """Set every gradient buffer to 0 (needed between steps with grad_req 'add')."""
        if self._data is None or self._grad_req == "null":
            return
        with autograd.pause():
            for arr in self._data:
                arr.grad[:] = 0

    def _reduce(self) -> NDArray:
        """The value on cpu: the mean of the copies (they are equal after a Trainer step)."""
        copies = self.list_data()
        with autograd.pause():
            host = copies[0].as_in_context(cpu()).copy()
            if len(copies) > 1:
                for other in copies[1:]:
                    host = host + other.as_in_context(cpu())
                host = (host / len(copies)).astype(copies[0].dtype, copy=False)
        return host

    def reset_ctx(self, ctx: CtxList) -> None:
        """Move the data to ``ctx`` (a context or a list); gradients restart at 0."""
        ctxs = _ctx_list(ctx)
        if self._data is not None:
            self._init_impl(self._reduce(), ctxs)
        elif self._deferred_init:
            init, _, default_init, data = self._deferred_init
            self._deferred_init = (init, ctxs, default_init, data)
        else:
            raise ValueError(f"Cannot reset context for Parameter '{self.name}' because it "
                             f"has not been initialized.")

    def cast(self, dtype) -> None:
        """Convert data and gradients to ``dtype``."""
        try:
            numpy.dtype(dtype)
        except TypeError:
            raise TypeError(f"Parameter '{self.name}': cannot cast to unknown dtype "
                            f"{dtype!r}") from None
        self.dtype = dtype
        if self._data is None:
            if self._deferred_init and self._deferred_init[3] is not None:
                init, ctxs, default_init, data = self._deferred_init
                self._deferred_init = (init, ctxs, default_init, data.astype(dtype))
            return
        with autograd.pause():
            old = self._data
            self._data = [arr.astype(dtype) for arr in old]
            self._init_grad()
            if self._grad_req != "null":
                for new, previous in zip(self._data, old):
                    new.grad[:] = previous.grad.astype(dtype)

    # ------------------------------------------------------------- loading
    def _load_problem(self, data: NDArray, cast_dtype: bool, dtype_source: str,
                      ctx: Optional[List[Context]]) -> Optional[str]:
        """Why ``data`` cannot be loaded into this Parameter (None if it can)."""
        if self._shape is not None and (
                len(self._shape) != data.ndim or
                any(mine not in (0, theirs) for mine, theirs in zip(self._shape, data.shape))):
            return f"shape {self._shape} in the model, {data.shape} in the file"
        if not cast_dtype and numpy.dtype(self.dtype) != numpy.dtype(data.dtype):
            return (f"dtype {_dtype_name(self.dtype)} in the model, {_dtype_name(data.dtype)} in "
                    f"the file (pass cast_dtype=True to convert)")
        if self._data is not None and ctx is not None and set(ctx) != set(self._ctx_list):
            return (f"initialized on {self._ctx_list}, but ctx={ctx} was asked for "
                    f"(use reset_ctx first)")
        if (self._data is None and self._deferred_init and ctx is not None
                and set(ctx) != set(self._deferred_init[1])):
            return (f"initialization deferred to {self._deferred_init[1]}, but ctx={ctx} "
                    f"was asked for")
        return None

    def _load_init(self, data: NDArray, ctx: Optional[List[Context]], cast_dtype: bool = False,
                   dtype_source: str = "current") -> None:
        """Take ``data`` as this Parameter's value (checked by ``_load_problem`` first)."""
        if cast_dtype:
            if dtype_source == "current":
                data = data.astype(self.dtype, copy=False)
            else:
                self.dtype = data.dtype
                if self._data is not None:
                    self.cast(data.dtype)
        self._shape = tuple(data.shape)
        if self._data is None:
            if self._deferred_init:
                ctx = self._deferred_init[1]
            elif ctx is None:
                ctx = [current_context()]
            self._deferred_init = ()
            self._init_impl(data, ctx)
        else:
            self.set_data(data)


class Constant(Parameter):
    """A Parameter that keeps ``value`` and has no gradient (grad_req is always 'null')."""

    def __init__(self, name: str, value) -> None:
        if not isinstance(value, NDArray):
            value = _array(value)
        self.value = value
        super().__init__(name, grad_req="null", shape=value.shape, dtype=value.dtype,
                         init=_init.Constant(value))

    def __repr__(self) -> str:
        return f"Constant {self.name} (shape={self.shape}, dtype={self.dtype})"

    @property
    def grad_req(self) -> str:
        return "null"

    @grad_req.setter
    def grad_req(self, req: str) -> None:
        if req != "null":
            warnings.warn(f"Constant parameter '{self.name}' does not support grad_req other "
                          f"than 'null', and new value '{req}' is ignored.", stacklevel=2)


def load_checked(assignments, missing: Sequence[str], unexpected: Sequence[str], source: str,
                 ctx: CtxList, cast_dtype: bool, dtype_source: str, hint: str = "",
                 unpaired: Sequence[str] = ()) -> None:
    """Load ``assignments`` [(name, Parameter, NDArray)] after checking every one of them.

    One ValueError lists every missing, unexpected, unpaired and incompatible name,
    naming ``source``; nothing is changed unless everything fits.
    """
    if dtype_source not in ("current", "saved"):
        raise ValueError(f"dtype_source must be 'current' or 'saved', got {dtype_source!r}")
    ctxs = None if ctx is None else _ctx_list(ctx)
    problems = [f"{name}: {why}" for name, param, data in assignments
                for why in [param._load_problem(data, cast_dtype, dtype_source, ctxs)] if why]
    first_shape: Dict[int, Tuple[str, tuple]] = {}
    for name, param, data in assignments:          # a shared Parameter named twice
        seen = first_shape.setdefault(id(param), (name, data.shape))
        if seen[1] != data.shape:
            problems.append(f"{seen[0]} and {name} load the same Parameter '{param.name}' but "
                            f"have shapes {seen[1]} and {data.shape}")
    problems += list(unpaired)
    if missing or unexpected or problems:
        lines = [f"cannot load {source}:"]
        if missing:
            lines.append(f"  missing in the file ({len(missing)}; allow_missing=True skips "
                         f"them): {', '.join(missing)}")
        if unexpected:
            lines.append(f"  not in the model ({len(unexpected)}; ignore_extra=True skips "
                         f"them): {', '.join(unexpected)}")
        if problems:
            lines.append(f"  incompatible ({len(problems)}):")
            lines += [f"    {p}" for p in problems]
        if hint:
            lines.append(hint)
        raise ValueError("\n".join(lines))
    with autograd.pause():
        for _, param, data in assignments:
            param._load_init(data, ctxs, cast_dtype=cast_dtype, dtype_source=dtype_source)


class ParameterDict:
    """An ordered dict of Parameters whose names start with ``prefix``.

    ``get(name, **kwargs)`` returns the Parameter ``prefix + name``, creating it on
    first use, or taking it from ``shared`` (another ParameterDict) if it is there.
    """

    def __init__(self, prefix: str = "", shared: Optional["ParameterDict"] = None) -> None:
        self._prefix = prefix
        self._params: "OrderedDict[str, Parameter]" = OrderedDict()
        self._shared = shared

    def __repr__(self) -> str:
        name = self._prefix + " " if self._prefix else ""
        content = "\n".join(f"  {v}" for v in self.values())
        return f"{name}(\n{content}\n)"

    def __getitem__(self, key: str) -> Parameter:
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __contains__(self, key) -> bool:
        return key in self._params

    def items(self):
        return self._params.items()

    def keys(self):
        return self._params.keys()

    def values(self):
        return self._params.values()

    @property
    def prefix(self) -> str:
        return self._prefix

    def _get_impl(self, name: str) -> Optional[Parameter]:
        if name in self._params:
            return self._params[name]
        if self._shared is not None and name in self._shared._params:
            self._params[name] = self._shared._params[name]
            return self._params[name]
        return None

    def get(self, name: str, **kwargs) -> Parameter:
        """The Parameter ``prefix + name``; created with ``kwargs`` (Parameter's arguments)
        if new, else checked against them (unknown shape dimensions are filled in)."""
        full = self._prefix + name
        param = self._get_impl(full)
        if param is None:
            param = Parameter(full, **kwargs)
            self._params[full] = param
            return param
        for key, value in kwargs.items():
            existing = getattr(param, key, None)
            if existing is None:
                setattr(param, key, value)
                continue
            if value is None:
                continue
            if key == "shape":
                value = _shape_tuple(value, full)
                if len(value) == len(existing) and all(
                        a == b or a == 0 or b == 0 for a, b in zip(value, existing)):
                    param._shape = tuple(a if a else b for a, b in zip(value, existing))
                    continue
            elif key == "dtype" and numpy.dtype(value) == numpy.dtype(existing):
                continue
            elif value == existing:
                continue
            raise ValueError(f"Cannot retrieve Parameter '{full}' because desired attribute "
                             f"does not match with stored for attribute '{key}': desired "
                             f"'{value}' vs stored '{existing}'.")
        return param

    def get_constant(self, name: str, value=None) -> Constant:
        """The Constant ``prefix + name``, created from ``value`` if new."""
        full = self._prefix + name
        param = self._get_impl(full)
        if param is None:
            if value is None:
                raise KeyError(f"No constant named '{full}'. Please specify value if you want "
                               f"to create a new constant.")
            param = Constant(full, value)
            self._params[full] = param
        elif value is not None:
            if not isinstance(param, Constant):
                raise ValueError(f"Parameter '{full}' already exists but it is not a constant.")
            host = value.asnumpy() if isinstance(value, NDArray) else numpy.asarray(value)
            if param.shape != host.shape or not (param.value.asnumpy() == host).all():
                raise ValueError(f"Constant '{full}' already exists but its value doesn't "
                                 f"match the new value")
        return param

    def update(self, other: "ParameterDict") -> None:
        """Add the Parameters of ``other`` (a name may not name two different ones)."""
        for key, value in other.items():
            if key in self._params and self._params[key] is not value:
                raise ValueError(f"Cannot update self with other because they have different "
                                 f"Parameters with the same name '{key}'")
        for key, value in other.items():
            self._params[key] = value

    def initialize(self, init=_init.Uniform(), ctx: CtxList = None, verbose: bool = False,
                   force_reinit: bool = False) -> None:
        """Initialize every Parameter: ``init`` for those without their own initializer."""
        init = _init.create(init)
        if verbose:
            init.set_verbosity(verbose=verbose)
        for param in self.values():
            param.initialize(None, ctx, init, force_reinit=force_reinit)

    def zero_grad(self) -> None:
        for param in self.values():
            param.zero_grad()

    def reset_ctx(self, ctx: CtxList) -> None:
        for param in self.values():
            param.reset_ctx(ctx)

    def list_ctx(self) -> List[Context]:
        seen: List[Context] = []
        for param in self.values():
            for c in param.list_ctx():
                if c not in seen:
                    seen.append(c)
        return seen

    def setattr(self, name: str, value) -> None:
        """Set attribute ``name`` (e.g. 'grad_req', 'lr_mult') of every Parameter."""
        for param in self.values():
            setattr(param, name, value)

    def select(self, select) -> "ParameterDict":
        """The Parameters whose full name ``re.match``-es ``select`` (a pattern or a list
        of patterns, joined with '|')."""
        pattern = compile_select(select)
        out = ParameterDict(self._prefix)
        out._params.update((k, v) for k, v in self.items() if pattern.match(k))
        return out

    # --------------------------------------------------------------- files
    def save(self, filename, strip_prefix: str = "") -> None:
        """Save every Parameter under its full name less ``strip_prefix`` (``nd.save``)."""
        arrays = {}
        for param in self.values():
            if not param.name.startswith(strip_prefix):
                raise ValueError(f"Prefix '{strip_prefix}' is to be stripped before saving, but "
                                 f"Parameter's name '{param.name}' does not start with "
                                 f"'{strip_prefix}'")
            arrays[param.name[len(strip_prefix):]] = param._reduce()
        _io.save(filename, arrays)

    def load(self, filename, ctx: CtxList = None, allow_missing: bool = False,
             ignore_extra: bool = False, restore_prefix: str = "", cast_dtype: bool = False,
             dtype_source: str = "current") -> None:
        """Load a file of ``save``/``nd.save`` (or MXNet's ``.params``) by name: a file name
        ``n`` (``arg:``/``aux:`` stripped) loads into the Parameter ``restore_prefix + n``."""
        if restore_prefix:
            for name in self.keys():
                if not name.startswith(restore_prefix):
                    raise ValueError(f"restore_prefix is '{restore_prefix}' but Parameter name "
                                     f"'{name}' does not start with '{restore_prefix}'")
        loaded = _io.load(filename)
        self.load_dict(loaded, ctx, allow_missing, ignore_extra, restore_prefix,
                       filename=filename, cast_dtype=cast_dtype, dtype_source=dtype_source)

    def load_dict(self, param_dict, ctx: CtxList = None, allow_missing: bool = False,
                  ignore_extra: bool = False, restore_prefix: str = "", filename=None,
                  cast_dtype: bool = False, dtype_source: str = "current") -> None:
        """Load a dict name -> NDArray as ``load`` does with a file."""
        source = f"file '{filename}'" if filename is not None else "param_dict"
        if not isinstance(param_dict, dict):
            raise ValueError(f"cannot load {source}: it holds an unnamed list of "
                             f"{len(param_dict)} arrays; Parameters load by name")
        arrays = {restore_prefix + strip_arg_aux(k): v for k, v in param_dict.items()}
        missing = [] if allow_missing else [n for n in self.keys() if n not in arrays]
        unexpected = [] if ignore_extra else [n for n in arrays if n not in self._params]
        assignments = [(n, self._params[n], v) for n, v in arrays.items() if n in self._params]
        load_checked(assignments, missing, unexpected, source, ctx, cast_dtype, dtype_source)


def strip_arg_aux(name: str) -> str:
    """``name`` without the ``arg:``/``aux:`` mark MXNet's ``export`` puts before it."""
    return name[4:] if name.startswith(("arg:", "aux:")) else name


def compile_select(select) -> "re.Pattern":
    """MXNet's collect_params rule: one regular expression, or several joined with '|'."""
    if isinstance(select, (list, tuple)):
        select = "|".join(select)
    try:
        return re.compile(select)
    except re.error as err:
        raise ValueError(f"collect_params: select {select!r} is not a valid regular "
                         f"expression: {err}") from None
