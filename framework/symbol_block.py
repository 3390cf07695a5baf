"""``SymbolBlock``: a block running a graph of MXNet operators (MXNet's
``gluon.SymbolBlock``), e.g. a model another program exported.

``SymbolBlock.imports('model-symbol.json', ['data'], 'model-0000.params')`` loads a
graph written by MXNet 1.x's ``HybridBlock.export`` (or framework's) and its
Parameters; ``SymbolBlock(outputs, inputs, params)`` wraps Symbols, e.g. inner
outputs of a network taken with ``get_internals()``. Each variable of the graph
that is not an input becomes a Parameter named as the variable (``dense0_weight``;
auxiliary states such as BatchNorm's running statistics get ``grad_req='null'``).
The graph runs with ``framework.nd`` operators, so gradients flow to inputs and
Parameters, and ``autograd.is_training()`` decides Dropout and BatchNorm.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import List, Optional, Sequence, Union

import numpy

from . import ndarray as _nd
from . import symbol as _sym
from .block import HybridBlock
from .parameter import ParameterDict, shape_is_known
from .symbol.executor import Plan, run_graph

__all__ = ["SymbolBlock"]


def _common_prefix(names: Sequence[str]) -> str:
    if not names:
        return ""
    prefix = names[0]
    for name in names[1:]:
        i = 0
        while i < len(prefix) and i < len(name) and prefix[i] == name[i]:
            i += 1
        prefix = prefix[:i]
    return prefix


def _symbols(value, what: str) -> List["_sym.Symbol"]:
    if isinstance(value, _sym.Symbol):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, _sym.Symbol) for v in value):
        return list(value)
    raise TypeError(f"SymbolBlock: {what} must be a Symbol or a list of Symbols, got "
                    f"{value!r}")


class SymbolBlock(HybridBlock):
    """A block computing the graph ``outputs`` (a Symbol or a list) of the variables
    ``inputs`` (a Symbol or a list of variables); every other variable of the graph is
    a Parameter, named as the variable, shared with ``params`` (a ParameterDict) where
    that holds it; a variable's ``__init__`` attribute (``zeros`` for an exported bias)
    is its Parameter's initializer. Call it on NDArrays (one per input, in order) to run
    the graph, or on Symbols to compose the graph with them.
    """

    @staticmethod
    def imports(symbol_file, input_names: Union[str, Sequence[str]], param_file=None,
                ctx=None, allow_missing: bool = False,
                ignore_extra: bool = False) -> "SymbolBlock":
        """A SymbolBlock of the graph in ``symbol_file`` (``*-symbol.json``) with the
        variables ``input_names`` as inputs, its Parameters loaded from ``param_file``
        (``*-0000.params``; ``arg:``/``aux:`` names, their dtypes kept) onto ``ctx``.
        Without ``param_file`` the Parameters are float32 and wait for ``initialize``."""
        graph = _sym.load(symbol_file)
        if isinstance(input_names, str):
            input_names = [input_names]
        inputs = [_sym.var(name, dtype="float32") if param_file is None else _sym.var(name)
                  for name in input_names]
        block = SymbolBlock(graph, inputs)
        if param_file is not None:
            loaded = _nd.load(str(param_file))
            if isinstance(loaded, list) and not loaded:
                loaded = {}                       # the export of a block without Parameters
            block.collect_params().load_dict(loaded, ctx=ctx, allow_missing=allow_missing,
                                             ignore_extra=ignore_extra,
                                             filename=str(param_file), cast_dtype=True,
                                             dtype_source="saved")
        return block

    def __init__(self, outputs, inputs, params: Optional[ParameterDict] = None) -> None:
        super().__init__(prefix="", params=None)
        self._prefix = ""
        self._name = ""
        self._params = ParameterDict("", params)
        inputs = _symbols(inputs, "inputs")
        outputs = _symbols(outputs, "outputs")
        self._single_output = len(outputs) == 1 and len(outputs[0]) == 1
        graph = _sym.Group(outputs)
        variables = set(graph.list_inputs())
        names = []
        for symbol in inputs:
            if len(symbol.get_internals()) != 1 or symbol.list_inputs() != symbol.list_outputs():
                raise ValueError(f"SymbolBlock: inputs must be variables, but {symbol!r} is "
                                 f"an output of operators")
            if symbol.name not in variables:
                raise ValueError(f"SymbolBlock: input '{symbol.name}' is not a variable of "
                                 f"the graph; its variables are {graph.list_inputs()}")
            names.append(symbol.name)
        self._graph = graph
        self._plan = Plan(graph._outputs)
        self._input_names = names
        arg_types, aux_types = self._param_types(graph, inputs)
        inits = {n.name: n.attr("__init__") for n in graph.get_internals()
                 if n.list_inputs() == n.list_outputs()}
        shared = params if params is not None else {}
        for name, dtype in zip(graph.list_arguments(), arg_types):
            if name not in names:
                init = {} if name in shared else {"init": inits[name]}
                self.params.get(name, allow_deferred_init=True, dtype=dtype, **init)
        for name, dtype in zip(graph.list_auxiliary_states(), aux_types):
            if name not in names:
                init = {} if name in shared else {"init": inits[name]}
                self.params.get(name, grad_req="null", allow_deferred_init=True, dtype=dtype,
                                **init)
        keys = list(self._params.keys())
        strip = len(_common_prefix(keys)) if len(keys) > 1 else 0
        self._reg_params = OrderedDict((key[strip:], p) for key, p in self._params.items())
        self._variable_of = {key[strip:]: key for key in keys}

    @staticmethod
    def _param_types(graph: "_sym.Symbol", inputs: List["_sym.Symbol"]):
        """The Parameters' dtypes inferred from the inputs' (float32 where unknown)."""
        known = {s.name: s.infer_type_partial()[0][0] for s in inputs}
        known = {name: dtype for name, dtype in known.items() if dtype is not None}
        args = [None] * len(graph.list_arguments())
        auxs = [None] * len(graph.list_auxiliary_states())
        if known:
            try:
                args, _, auxs = graph.infer_type_partial(**known)
            except ValueError:                  # as MXNet: fall back to float32
                pass
        return ([numpy.float32 if t is None else t for t in args],
                [numpy.float32 if t is None else t for t in auxs])

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(\n{self._graph!r} : {len(self._input_names)} -> "
                f"{len(self._graph.list_outputs())}\n)")

    # ------------------------------------------------------------ compute
    def forward(self, x, *args):
        """NDArrays in: the graph's outputs (an NDArray, or a list for several outputs).
        Symbols in: the graph composed with them (MXNet's behaviour)."""
        if isinstance(x, _sym.Symbol):
            symbols = [x] + list(args)
            self._check_count(symbols)
            composed = self._graph(**dict(zip(self._input_names, symbols)))
            return composed if self._single_output else list(composed)
        return super().forward(x, *args)

    def _check_count(self, inputs) -> None:
        if len(inputs) != len(self._input_names):
            raise ValueError(f"SymbolBlock: the graph takes {len(self._input_names)} inputs "
                             f"{self._input_names}, got {len(inputs)}")

    def hybrid_forward(self, F, x, *args, **params):
        """Run the graph with ``F``'s operators (``framework.nd``) on the inputs and the
        Parameters' data."""
        inputs = [x] + list(args)
        self._check_count(inputs)
        values = dict(zip(self._input_names, inputs))
        values.update((self._variable_of[key], value) for key, value in params.items())
        ctx = x.context if isinstance(x, _nd.NDArray) else None
        outputs = run_graph(self._graph._outputs, values, ctx, where="SymbolBlock", F=F,
                            plan=self._plan)
        return outputs[0] if self._single_output else outputs

    def infer_shape(self, *args) -> None:
        """Set the Parameters' unknown shapes from the input shapes through the graph
        (FullyConnected's weight from num_hidden and the data, ...)."""
        self._check_count(args)
        shapes = {name: tuple(a.shape) for name, a in zip(self._input_names, args)}
        arg_shapes, _, aux_shapes = self._graph.infer_shape_partial(**shapes)
        names = self._graph.list_arguments() + self._graph.list_auxiliary_states()
        for name, shape in zip(names, list(arg_shapes) + list(aux_shapes)):
            if name in self._params and shape_is_known(shape) and shape:
                param = self._params[name]
                if param.shape is None or not shape_is_known(param.shape):
                    param.shape = shape
