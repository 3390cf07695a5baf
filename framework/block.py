"""``Block`` and ``HybridBlock``: the model layer (MXNet's ``gluon.Block``/``HybridBlock``).

A Block holds Parameters and child Blocks, both registered by assigning them
as attributes, and computes in ``forward``. A HybridBlock computes in
``hybrid_forward(F, x, *args, **params)``, where ``F`` is ``framework.nd`` and
``params`` are its Parameters' data on the input's context.

Names follow MXNet 1.x: a block's ``prefix`` is ``<class name lower-case><n>_``
with ``n`` counted per name, in the current ``name_scope()`` (nested under the
parent's prefix) or, outside every scope, per thread; its Parameters are named
``prefix + name`` (``dense0_weight``).

Checkpoints use STRUCTURAL names instead (``features.0.weight``: the path of
attribute and child names), so two instances of one model class load each
other's files whatever their prefixes. ``load_parameters`` also reads files
named the MXNet 1.x way (``dense0_weight``, and ``arg:``/``aux:`` names from
``export``): by name when the names match this model's, else in order.

Deferred initialization: a Parameter with unknown dimensions (0) waits until
the first forward; then the HybridBlock calls its ``infer_shape(x, *args)``,
which fills the shapes from the input, and initializes.
"""
from __future__ import annotations

import threading
import warnings
import weakref
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Tuple

import numpy

from . import initializer as _init
from . import ndarray as _nd
from .ndarray import NDArray
from .ndarray import io as _io
from .ndarray import cached_op as _cached_op
from ._flags import STATE as _FLAGS
from . import symbol as _sym
from .symbol import export as _sym_export, trace as _sym_trace
from .parameter import (DeferredInitializationError, Parameter, ParameterDict, compile_select,
                        load_checked, shape_is_known, strip_arg_aux)

__all__ = ["Block", "HybridBlock", "HookHandle"]


class _ThreadState(threading.local):
    """Per-thread naming state and the chain of blocks being called."""

    def __init__(self) -> None:
        self.scope: Optional["_BlockScope"] = None    # the name_scope() entered, if any
        self.counter: Dict[str, int] = {}             # name -> next number, outside scopes
        self.calls: List["Block"] = []                # blocks whose __call__ is running


_STATE = _ThreadState()


class _BlockScope:
    """``block.name_scope()``: blocks created inside get prefixes under ``block``'s."""

    def __init__(self, block: "Block") -> None:
        self._block = block
        self._counter: Dict[str, int] = {}
        self._outer: List[Optional["_BlockScope"]] = []

    @staticmethod
    def create(prefix: Optional[str], params: Optional[ParameterDict],
               hint: str) -> Tuple[str, ParameterDict]:
        """The prefix and ParameterDict of a new block (MXNet's naming rule)."""
        current = _STATE.scope
        if current is None:
            if prefix is None:
                count = _STATE.counter.get(hint, 0)
                _STATE.counter[hint] = count + 1
                prefix = f"{hint}{count}_"
            params = ParameterDict(prefix) if params is None else \
                ParameterDict(params.prefix, params)
            return prefix, params
        if prefix is None:
            count = current._counter.get(hint, 0)
            current._counter[hint] = count + 1
            prefix = f"{hint}{count}_"
        if params is None:
            parent = current._block.params
            params = ParameterDict(parent.prefix + prefix, parent._shared)
        else:
            params = ParameterDict(params.prefix, params)
        return current._block.prefix + prefix, params

    def __enter__(self) -> "_BlockScope":
        if not self._block._empty_prefix:
            self._outer.append(_STATE.scope)
            _STATE.scope = self
        return self

    def __exit__(self, *exc) -> None:
        if not self._block._empty_prefix:
            _STATE.scope = self._outer.pop()


class HookHandle:
    """Returned by ``register_forward_hook``/``register_forward_pre_hook``; ``detach()``
    (or leaving a ``with`` block) removes the hook."""

    def __init__(self) -> None:
        self._hooks_ref = None
        self._id = None

    def attach(self, hooks: "OrderedDict[int, Callable]", hook: Callable) -> None:
        if self._hooks_ref is not None:
            raise RuntimeError("The same handle cannot be attached twice.")
        self._id = id(hook)
        hooks[self._id] = hook
        self._hooks_ref = weakref.ref(hooks)

    def detach(self) -> None:
        hooks = self._hooks_ref() if self._hooks_ref is not None else None
        if hooks is not None and self._id in hooks:
            del hooks[self._id]

    def __enter__(self) -> "HookHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.detach()


def _indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first (MXNet's ``_indent``)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return "\n".join([lines[0]] + [" " * spaces + line for line in lines[1:]])


def _flatten(args) -> List:
    out = []
    for a in args:
        if isinstance(a, (list, tuple)):
            out.extend(_flatten(a))
        else:
            out.append(a)
    return out


def _shape_str(args) -> str:
    """The shapes of ``args`` (nested lists kept) as MXNet's summary prints them."""
    def shapes(a):
        if isinstance(a, (list, tuple)):
            return [shapes(b) for b in a]
        return a.shape if isinstance(a, NDArray) else a
    out = shapes(args)
    if isinstance(args, (list, tuple)):
        return str(out)[1:-1]
    return str(out)


class Block:
    """Base class of layers and models: Parameters and child Blocks, and ``forward``.

    ``prefix``: the name prefix of this block and its Parameters (default: from the
    class name and a counter). ``params``: a ParameterDict to share Parameters with
    (Parameters are then looked up there first).

        class Model(fw.Block):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                with self.name_scope():
                    self.dense0 = fw.nn.Dense(20)
                    self.dense1 = fw.nn.Dense(20)

            def forward(self, x):
                return fw.nd.relu(self.dense1(fw.nd.relu(self.dense0(x))))
    """

    # Sequential containers are left out of summary() tables, as in MXNet
    _summary_container = False

    def __init__(self, prefix: Optional[str] = None, params: Optional[ParameterDict] = None):
        self._empty_prefix = prefix == ""
        self._prefix, self._params = _BlockScope.create(prefix, params, self._alias())
        self._name = self._prefix[:-1] if self._prefix.endswith("_") else self._prefix
        self._scope = _BlockScope(self)
        self._children: "OrderedDict[str, Block]" = OrderedDict()
        self._reg_params: "OrderedDict[str, Parameter]" = OrderedDict()
        self._forward_hooks: "OrderedDict[int, Callable]" = OrderedDict()
        self._forward_pre_hooks: "OrderedDict[int, Callable]" = OrderedDict()

    def __repr__(self) -> str:
        modstr = "\n".join(f"  ({key}): {_indent(repr(block), 2)}"
                           for key, block in self.__dict__.items() if isinstance(block, Block))
        return f"{type(self).__name__}(\n{modstr}\n)"

    def __setattr__(self, name: str, value) -> None:
        """Assigning a Block registers a child; assigning a Parameter registers it."""
        if isinstance(value, (Block, Parameter)) and "_children" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: cannot register {name!r} before "
                               f"Block.__init__ has run; call super().__init__() first in "
                               f"{type(self).__name__}.__init__")
        existing = self.__dict__.get(name)
        if isinstance(existing, (Parameter, Block)) and not isinstance(value, type(existing)):
            raise TypeError(f"Changing attribute type for {name} from {type(existing)} to "
                            f"{type(value)} is not allowed.")
        if isinstance(value, Block):
            self.register_child(value, name)
        elif isinstance(value, Parameter):
            if name in self._reg_params:
                raise ValueError(f"Overriding Parameter attribute {name} of "
                                 f"{type(self).__name__} is not allowed. If you want to share "
                                 f"parameters between blocks, please set 'params' at Block "
                                 f"construction instead.")
            self._reg_params[name] = value
        object.__setattr__(self, name, value)

    def _alias(self) -> str:
        return type(self).__name__.lower()

    # ------------------------------------------------------------- names
    @property
    def prefix(self) -> str:
        """The prefix of this block's and its Parameters' names (``dense0_``)."""
        return self._prefix

    @property
    def name(self) -> str:
        """The prefix without its trailing underscore (``dense0``)."""
        return self._name

    def name_scope(self) -> _BlockScope:
        """``with block.name_scope():`` blocks created inside are named under this one."""
        return self._scope

    @property
    def params(self) -> ParameterDict:
        """This block's own ParameterDict (not its children's; see ``collect_params``)."""
        return self._params

    def _own_params(self) -> List[Parameter]:
        """This block's Parameters: its ParameterDict's, then attributes not in it."""
        own = list(self._params.values())
        seen = {id(p) for p in own}
        own += [p for p in self._reg_params.values() if id(p) not in seen]
        return own

    def _describe(self) -> str:
        """``block <path> (<Class> '<prefix>')``: where this block is, for errors."""
        calls = _STATE.calls
        index = next((i for i in range(len(calls) - 1, -1, -1) if calls[i] is self), None)
        if index is None:
            return f"block {type(self).__name__} '{self.prefix}'"
        chain = calls[:index + 1]
        parts = [type(chain[0]).__name__]
        for parent, child in zip(chain, chain[1:]):
            key = next((k for k, c in parent._children.items() if c is child), None)
            parts.append(key if key is not None else f"<{type(child).__name__}>")
        return f"block {'.'.join(parts)} ({type(self).__name__} '{self.prefix}')"

    # ------------------------------------------------------- parameters
    def collect_params(self, select=None) -> ParameterDict:
        """A ParameterDict of this block's and all its descendants' Parameters.

        ``select``: a regular expression (or a list of them, joined with '|');
        only Parameters whose full name ``re.match``-es it are returned, e.g.
        ``'.*weight|.*bias'``.
        """
        self._check_container_with_block()
        pattern = compile_select(select) if select else None
        out = ParameterDict(self._params.prefix)
        own = ParameterDict(self._params.prefix)
        own._params.update((p.name, p) for p in self._own_params()
                           if pattern is None or pattern.match(p.name))
        out.update(own)
        for child in self._children.values():
            out.update(child.collect_params(select=select))
        return out

    def _collect_params_with_prefix(self, prefix: str = "") -> "OrderedDict[str, Parameter]":
        """Structural name (``features.0.weight``) -> Parameter, for checkpoints.

        A Parameter is named by its attribute; one taken with ``self.params.get`` and
        not assigned to an attribute by its name less the ParameterDict's prefix.
        """
        if prefix:
            prefix += "."
        out: "OrderedDict[str, Parameter]" = OrderedDict(
            (prefix + key, value) for key, value in self._reg_params.items())
        registered = {id(p) for p in self._reg_params.values()}
        dict_prefix = self._params.prefix
        for name, param in self._params.items():
            if id(param) not in registered:
                local = name[len(dict_prefix):] if name.startswith(dict_prefix) else name
                out.setdefault(prefix + local, param)
        for name, child in self._children.items():
            out.update(child._collect_params_with_prefix(prefix + name))
        return out

    def _check_container_with_block(self) -> None:
        """Warn about Blocks hidden in lists/dicts (they are not registered)."""
        children = {id(c) for c in self._children.values()}

        def hidden(data) -> bool:
            if isinstance(data, (list, tuple)):
                return any(hidden(d) for d in data)
            if isinstance(data, dict):
                return any(hidden(d) for d in data.values())
            return isinstance(data, Block) and id(data) not in children

        for key, value in self.__dict__.items():
            if isinstance(value, (list, tuple, dict)) and not (
                    key.startswith("__") or key == "_children"):
                if hidden(value):
                    warnings.warn(
                        f'"{type(self).__name__}.{key}" is an unregistered container with '
                        f"Blocks. Note that Blocks inside the list, tuple or dict will not be "
                        f"registered automatically. Make sure to register them using "
                        f"register_child() or switching to nn.Sequential/nn.HybridSequential "
                        f"instead.", stacklevel=3)

    def initialize(self, init=_init.Uniform(), ctx=None, verbose: bool = False,
                   force_reinit: bool = False) -> None:
        """Initialize the Parameters of this block and its descendants on ``ctx``
        (a context or a list; default the current context); ``init`` serves those
        without their own initializer. Unknown shapes wait for the first forward."""
        self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def zero_grad(self) -> None:
        """Set the gradients of all Parameters to 0."""
        self.collect_params().zero_grad()

    def reset_ctx(self, ctx) -> None:
        """Move all Parameters to ``ctx`` (a context or a list)."""
        self.collect_params().reset_ctx(ctx)

    def cast(self, dtype) -> None:
        """Convert the Parameters of this block and its descendants to ``dtype``."""
        for child in self._children.values():
            child.cast(dtype)
        for param in self._own_params():
            param.cast(dtype)

    # ----------------------------------------------------------- children
    def register_child(self, block: "Block", name: Optional[str] = None) -> None:
        """Register ``block`` as a child under ``name`` (default: the next index)."""
        if not isinstance(block, Block):
            raise TypeError(f"{type(self).__name__}.register_child: expected a Block, got "
                            f"{type(block).__name__}")
        if name is None:
            name = str(len(self._children))
        self._children[name] = block

    def apply(self, fn: Callable[["Block"], None]) -> "Block":
        """Call ``fn(block)`` on every descendant (children first) and on this block."""
        for child in self._children.values():
            child.apply(fn)
        fn(self)
        return self

    def hybridize(self, active: bool = True, **kwargs) -> None:
        """Hybridize the HybridBlocks among the descendants (see HybridBlock.hybridize)."""
        for child in self._children.values():
            child.hybridize(active, **kwargs)

    # -------------------------------------------------------------- hooks
    def register_forward_pre_hook(self, hook: Callable) -> HookHandle:
        """Run ``hook(block, inputs)`` before each forward; returns a removable handle."""
        handle = HookHandle()
        handle.attach(self._forward_pre_hooks, hook)
        return handle

    def register_forward_hook(self, hook: Callable) -> HookHandle:
        """Run ``hook(block, inputs, outputs)`` after each forward; returns a handle."""
        handle = HookHandle()
        handle.attach(self._forward_hooks, hook)
        return handle

    # ------------------------------------------------------------ compute
    def __call__(self, *args, **kwargs):
        """Run the pre-hooks, ``forward``, then the hooks."""
        calls = _STATE.calls
        calls.append(self)
        try:
            if self._forward_pre_hooks:
                for hook in list(self._forward_pre_hooks.values()):
                    hook(self, args)
            out = self.forward(*args, **kwargs)
            if self._forward_hooks:
                for hook in list(self._forward_hooks.values()):
                    hook(self, args, out)
        finally:
            calls.pop()
        return out

    def forward(self, *args):
        """The computation; subclasses override it (NDArrays in, NDArrays out)."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def summary(self, *inputs) -> None:
        """Print a table of the layers called on ``inputs``: output shapes and parameter
        counts (MXNet's layout). The block must be initialized."""
        rows: "OrderedDict[str, dict]" = OrderedDict()
        seen = set()
        hooks = []

        def summary_hook(block, _, outputs):
            key = f"{type(block).__name__}-{len(rows)}"
            row = rows[key] = {"output_shape": _shape_str(outputs), "n_params": 0,
                               "trainable": 0, "shared": 0}
            for p in block._own_params():
                size = int(numpy.prod(p.shape)) if p.shape else 1
                row["n_params"] += size
                row["trainable"] += 0 if p.grad_req == "null" else size
                if id(p) in seen:
                    row["shared"] += size
                else:
                    seen.add(id(p))

        def register(block):
            if not block._summary_container:
                hooks.append(block.register_forward_hook(summary_hook))

        rows["Input"] = {"output_shape": _shape_str(inputs), "n_params": 0, "trainable": 0,
                         "shared": 0}
        try:
            self.apply(register)
            self(*inputs)
        finally:
            for handle in hooks:
                handle.detach()
        line = "{:>20}  {:>42} {:>15}"
        print("-" * 80)
        print(line.format("Layer (type)", "Output Shape", "Param #"))
        print("=" * 80)
        total = trainable = shared = 0
        for key, row in rows.items():
            print(line.format(key, str(row["output_shape"]), row["n_params"]))
            total += row["n_params"]
            trainable += row["trainable"]
            shared += row["shared"]
        print("=" * 80)
        print("Parameters in forward computation graph, duplicate included")
        print("   Total params: " + str(total))
        print("   Trainable params: " + str(trainable))
        print("   Non-trainable params: " + str(total - trainable))
        print("Shared params in forward computation graph: " + str(shared))
        print("Unique parameters in model: " + str(total - shared))
        print("-" * 80)

    # ------------------------------------------------------------ files
    def save_parameters(self, filename, deduplicate: bool = False) -> None:
        """Save the Parameters under their structural names (``features.0.weight``) to an
        HDF5 file (``nd.save``; atomic: a crash never leaves a half-written file).
        A shared Parameter is saved under each of its names, or once (its last name)
        with ``deduplicate``."""
        params = self._collect_params_with_prefix()
        if deduplicate:
            last = {id(p): key for key, p in params.items()}
            params = OrderedDict((key, p) for key, p in params.items() if last[id(p)] == key)
        arrays = OrderedDict()
        for key, param in params.items():
            try:
                arrays[key] = param._reduce()
            except RuntimeError as err:
                raise type(err)(f"save_parameters('{filename}'): Parameter '{key}' "
                                f"({param.name}) has no data yet: {err}") from None
        _io.save(filename, arrays)

    def load_parameters(self, filename, ctx=None, allow_missing: bool = False,
                        ignore_extra: bool = False, cast_dtype: bool = False,
                        dtype_source: str = "current") -> None:
        """Load a file of ``save_parameters`` (or MXNet's ``.params``) into this block.

        Structural names (``0.weight``) load into the matching Parameter. MXNet 1.x
        names (``dense0_weight``, or ``arg:``/``aux:`` names from ``export``) load by
        name when they match this model's (with or without its prefix), else in order:
        the file's i-th array into the i-th Parameter of ``collect_params()``, whose
        name the file's must end with. ``ctx``: where uninitialized Parameters go
        (default: where their deferred initialization would, else the current context).
        ``cast_dtype``: convert dtypes, to the model's (``dtype_source='current'``) or
        the file's (``'saved'``). Every problem (missing, unexpected, shape or dtype
        mismatch) is listed in one error naming the file, and then nothing is loaded.
        A Parameter waiting for its shape takes the file's.
        """
        loaded = _io.load(filename)
        source = f"file '{filename}'"
        if not isinstance(loaded, dict):
            raise ValueError(f"load_parameters: {source} holds an unnamed list of {len(loaded)} "
                             f"arrays (nd.save of a list); Parameters load by name")
        params = self._collect_params_with_prefix()
        if not loaded and not params:
            return
        if any("." in key or key in params for key in loaded):
            assignments, missing, unexpected = _match_structural(loaded, params)
            unpaired, hint = [], ""
        else:
            assignments, missing, unexpected, unpaired, hint = self._match_prefixed(
                loaded, allow_missing and ignore_extra)
        if allow_missing:
            missing = []
        if ignore_extra:
            unexpected = []
        load_checked(assignments, missing, unexpected, source, ctx, cast_dtype, dtype_source,
                     hint, unpaired)

    def _match_prefixed(self, loaded: Dict[str, NDArray], partial: bool = False):
        """Pair MXNet 1.x names with this model's Parameters: by name when the names
        match all of the model's or all of the file's (or some, with ``partial``:
        allow_missing and ignore_extra), else in order."""
        own = list(self.collect_params().values())
        entries = [(key, strip_arg_aux(key), value) for key, value in loaded.items()]
        by_name = {p.name: p for p in own}
        named = {}
        for key, name, value in entries:
            param = by_name.get(name) or by_name.get(self.prefix + name)
            if param is not None:
                named[key] = param
        all_own = len(set(map(id, named.values()))) == len(own)
        if named and (all_own or len(named) == len(entries) or partial):
            assignments = [(key, named[key], value) for key, _, value in entries
                           if key in named]
            unexpected = [key for key, _, _ in entries if key not in named]
            found = {id(p) for p in named.values()}
            missing = [p.name for p in own if id(p) not in found]
            return assignments, missing, unexpected, [], ""
        local = {}
        self.apply(lambda block: local.update(_local_names(block)))
        assignments, unpaired = [], []
        for i, ((key, name, value), param) in enumerate(zip(entries, own)):
            suffix = local.get(id(param), param.name)
            if name == suffix or name.endswith("_" + suffix):
                label = key if name == param.name else f"{key} (into Parameter '{param.name}')"
                assignments.append((label, param, value))
            else:
                unpaired.append(f"{key} (array {i + 1} of the file) is paired by order with "
                                f"Parameter '{param.name}', but its name does not end with "
                                f"'{suffix}'")
        missing = [p.name for p in own[len(entries):]]
        unexpected = [key for key, _, _ in entries[len(own):]]
        hint = ("  (the file's names are MXNet 1.x prefixed names that do not match this "
                "model's, so they were paired with collect_params() in order)")
        return assignments, missing, unexpected, unpaired, hint

    # MXNet 1.x's deprecated names
    def save_params(self, filename) -> None:
        """Deprecated (MXNet 1.x): saves ``collect_params()`` less this block's prefix."""
        warnings.warn("save_params is deprecated. Please use save_parameters. Note that if you "
                      "want load from SymbolBlock later, please use export instead.",
                      DeprecationWarning, stacklevel=2)
        self.collect_params().save(filename, strip_prefix=self.prefix)

    def load_params(self, filename, ctx=None, allow_missing: bool = False,
                    ignore_extra: bool = False) -> None:
        """Deprecated (MXNet 1.x): same as ``load_parameters``."""
        warnings.warn("load_params is deprecated. Please use load_parameters.",
                      DeprecationWarning, stacklevel=2)
        self.load_parameters(filename, ctx, allow_missing, ignore_extra)


def _local_names(block: Block) -> Dict[int, str]:
    """id(Parameter) -> its name within ``block`` (``weight`` for ``dense0_weight``)."""
    out = {}
    dict_prefix = block._params.prefix
    for name, param in block._params.items():
        out.setdefault(id(param), name[len(dict_prefix):] if name.startswith(dict_prefix)
                       else name)
    for param in block._reg_params.values():
        out.setdefault(id(param), param.name)
    return out


def _match_structural(loaded: Dict[str, NDArray], params: "OrderedDict[str, Parameter]"):
    """Pair structural file names with Parameters; a shared Parameter needs one of its
    names in the file."""
    assignments = [(key, params[key], value) for key, value in loaded.items() if key in params]
    unexpected = [key for key in loaded if key not in params]
    names_of: Dict[int, List[str]] = OrderedDict()
    for key, param in params.items():
        names_of.setdefault(id(param), []).append(key)
    missing = [" / ".join(keys) for keys in names_of.values()
               if not any(k in loaded for k in keys)]
    return assignments, missing, unexpected


class HybridBlock(Block):
    """A Block whose computation is ``hybrid_forward(F, x, *args, **params)``.

    ``F`` is ``framework.nd``; ``params`` maps each Parameter attribute name to its
    data on the input's context. Children must be HybridBlocks too.

    Parameters with unknown dimensions are initialized on the first call: the block's
    ``infer_shape(x, *args)`` fills their shapes from the inputs first.
    """

    def __init__(self, prefix: Optional[str] = None, params: Optional[ParameterDict] = None):
        super().__init__(prefix=prefix, params=params)
        self._active = False
        self._flags: List[Tuple[str, object]] = []
        self._cached_op: Optional[_cached_op.CachedOp] = None

    def register_child(self, block: Block, name: Optional[str] = None) -> None:
        if not isinstance(block, HybridBlock):
            raise ValueError(f"Children of HybridBlock must also be HybridBlock, but {block!r} "
                             f"has type {type(block)}. If you are using Sequential, please try "
                             f"HybridSequential instead.")
        super().register_child(block, name)
        if getattr(self, "_cached_op", None) is not None:
            self._cached_op.clear()          # the captured graphs no longer match the code

    def hybridize(self, active: bool = True, static_alloc: bool = False,
                  static_shape: bool = False, **kwargs) -> None:
        """Capture this block's graph on its next calls, and its descendants' (MXNet's
        ``hybridize``; ``active=False`` goes back to running ``hybrid_forward``).

        The first call with a new signature (input shapes and dtypes, which inputs
        need gradients, the context, ``autograd.is_training()`` and
        ``is_recording()``) traces ``hybrid_forward`` into a graph of operators; later
        calls with that signature replay the graph on raw arrays, without the block's
        Python code; under ``autograd.record()`` the call is one graph node whose
        backward is a captured program too. Parameters are inputs of the graph, so
        updates are seen. A call whose trace meets what a replay could not reproduce
        (``asnumpy()``, a Python branch on array values, in-place writes, ...) runs
        imperatively, with a warning. ``static_alloc``: the captures keep and reuse
        buffers for their elementwise intermediates; ``static_shape`` is accepted
        (captures are always specialised on shapes). See docs/hybridize.md and
        ``framework.ndarray.cached_op``.
        """
        self._active = bool(active)
        self._flags = [("static_alloc", static_alloc), ("static_shape", static_shape)] \
            + list(kwargs.items())
        self._cached_op = _cached_op.CachedOp(static_alloc, static_shape) \
            if self._active else None
        super().hybridize(active, static_alloc=static_alloc, static_shape=static_shape,
                          **kwargs)

    def infer_shape(self, *args) -> None:
        """Fill this block's unknown Parameter dimensions (0) from the inputs ``args``.

        Layers with size-dependent Parameters override it (e.g. Dense sets its
        weight's input size from ``x.shape``); the default infers nothing.
        """

    def _finish_deferred_init(self, x, *args) -> None:
        pending = [p for p in self._own_params() if p._deferred_init]
        if any(not shape_is_known(p.shape) for p in pending):
            try:
                self.infer_shape(x, *args)
            except ValueError as err:
                raise ValueError(f"{self._describe()}: {err}") from None
        unknown = [p for p in pending if not shape_is_known(p.shape)]
        if unknown:
            shapes = [a.shape for a in _flatten((x,) + args) if isinstance(a, NDArray)]
            names = ", ".join(f"'{p.name}' (shape {p.shape})" for p in unknown)
            raise ValueError(
                f"{self._describe()}: cannot infer the shape of Parameter {names} from "
                f"inputs of shape {', '.join(map(str, shapes))} (0 marks an unknown "
                f"dimension): {type(self).__name__}.infer_shape does not fill it; give the "
                f"full shape when creating the block (in_units, in_channels, ...)")
        try:
            for p in pending:
                p._finish_deferred_init()
        except (ValueError, TypeError) as err:     # e.g. an initializer that does not fit
            raise type(err)(f"{self._describe()}: {err}") from None

    def _param_data(self, ctx) -> Dict[str, NDArray]:
        """The attribute Parameters' data on ``ctx``; the others (taken with
        ``self.params.get``) are checked to be ready too."""
        data = {name: p.data(ctx) for name, p in self._reg_params.items()}
        if len(self._params) > len(data):
            for p in self._params.values():
                p.data(ctx)
        return data

    def forward(self, x, *args):
        """Run ``hybrid_forward(framework.nd, x, *args, **params)`` on the context of
        the inputs, initializing deferred Parameters first. Symbol inputs give the
        block's graph: ``hybrid_forward(framework.sym, x, *args, **params)`` with the
        Parameters as variables named by their names (MXNet's behaviour)."""
        if isinstance(x, _sym.Symbol):
            return self._symbol_call(x, *args)
        if self._active and not _FLAGS.capturing:      # hybridized, not inside a trace
            cached = self._cached_op
            if cached is None:
                cached = self._cached_op = _cached_op.CachedOp()
            return cached(self, (x,) + args)
        return self._hybrid_call(x, *args)

    def _symbol_call(self, x, *args, **kwargs):
        """``hybrid_forward(framework.sym, x, *args, **kwargs, **params)``: the block's
        graph, its Parameters as variables named by their names."""
        with _sym_trace.block_scope("" if self._empty_prefix else self.prefix):
            params = {name: _sym_trace.parameter_var(p)
                      for name, p in self._reg_params.items()}
            return self.hybrid_forward(_sym, x, *args, **kwargs, **params)

    def _hybrid_call(self, x, *args):
        """``hybrid_forward(framework.nd, ...)`` run now: the imperative call, and what
        a hybridized block's trace runs (then its Parameters become traced sources)."""
        if isinstance(x, NDArray):
            ctx = x.context
        else:
            ctx = next((a.context for a in _flatten((x,) + args) if isinstance(a, NDArray)),
                       None)
        if ctx is None:
            raise TypeError(f"{self._describe()}: a HybridBlock needs at least one NDArray "
                            f"input, got {[type(a).__name__ for a in (x,) + args]}")
        try:
            try:
                params = self._param_data(ctx)
            except DeferredInitializationError:
                capturing, _FLAGS.capturing = _FLAGS.capturing, False   # not part of a trace
                try:
                    self._finish_deferred_init(x, *args)
                finally:
                    _FLAGS.capturing = capturing
                params = self._param_data(ctx)
        except RuntimeError as err:
            raise type(err)(f"{self._describe()}: {err}") from None
        if _FLAGS.capturing:
            _cached_op.offer_params(self, ctx)
        return self.hybrid_forward(_nd, x, *args, **params)

    def export(self, path, epoch: int = 0, remove_amp_cast: bool = True):
        """Write ``path-symbol.json`` (the graph of ``hybrid_forward`` with
        ``F=framework.sym`` on inputs ``data`` or ``data0``, ``data1``, ...) and
        ``path-%04d.params`` (the Parameters as ``arg:``/``aux:`` entries) in MXNet 1.x's
        formats, which MXNet's and framework's ``SymbolBlock.imports`` read. Returns
        the two file names. See ``framework.symbol.export``."""
        return _sym_export.export_block(self, path, epoch, remove_amp_cast)

    def hybrid_forward(self, F, x, *args, **kwargs):
        """The computation with ``F`` (``framework.nd``); subclasses override it."""
        raise NotImplementedError(f"{type(self).__name__} must define hybrid_forward()")
