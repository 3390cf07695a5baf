"""``Symbol``: a graph of MXNet operators (MXNet 1.x's ``mx.sym.Symbol``), and
``var``/``Variable``, ``Group``, ``load``, ``load_json``.

A Symbol is a list of outputs of graph nodes. Operators on Symbols (``sym.relu(x)``,
``x + 1``, ``sym.FullyConnected(x, num_hidden=10)``) add nodes named as MXNet
names them; ``tojson``/``save`` write MXNet's JSON, ``load``/``load_json`` read it;
``infer_shape``/``infer_type`` fill shapes and dtypes from the inputs';
``list_arguments``, ``list_outputs``, ``list_auxiliary_states``, ``list_inputs``,
``get_internals`` and ``sym[i]`` inspect it; ``sym(data=other)`` composes;
``eval(ctx, **arrays)`` runs it with ``framework.nd``.

    x = sym.var('data')
    y = sym.FullyConnected(x, num_hidden=10, name='fc1')
    y.list_arguments()              # ['data', 'fc1_weight', 'fc1_bias']
    y.infer_shape(data=(8, 50))[0]  # [(8, 50), (10, 50), (10,)]
"""
from __future__ import annotations

import inspect
import threading
import warnings
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy

from .._fileio import atomic_write
from ..context import Context
from . import json_format
from .attrs import HIDDEN_KEYS, STORAGE_TYPES, dtype_flag, format_value
from .executor import run_graph
from .graph import Entry, Node, aux_variables, copy_graph, post_order, update_versions
from .naming import new_name
from .ops import OpDef, lookup
from .shape import infer_shapes, infer_types, shape_is_known

__all__ = ["Symbol", "var", "Variable", "Group", "load", "load_json", "AttrScope"]


class AttrScope:
    """``with sym.AttrScope(ctx_group='dev1'):`` every Symbol made inside gets these
    attributes (strings), as MXNet's ``mx.AttrScope``."""

    def __init__(self, **kwargs: str) -> None:
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise ValueError(f"AttrScope: attribute {key!r} must be a string, got "
                                 f"{type(value).__name__}")
        self._attr = kwargs

    def get(self, attr: Optional[Dict[str, str]]) -> Dict[str, str]:
        out = {}
        for scope in _SCOPES.stack:
            out.update(scope._attr)
        if attr:
            out.update(attr)
        return {_hidden_key(k): str(v) for k, v in out.items()}

    def __enter__(self) -> "AttrScope":
        _SCOPES.stack.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _SCOPES.stack.pop()


class _Scopes(threading.local):
    def __init__(self) -> None:
        self.stack: List[AttrScope] = []


_SCOPES = _Scopes()


def _hidden_key(key: str) -> str:
    """MXNet's C API stores the legacy bare keys (``lr_mult``) as ``__lr_mult__``."""
    return f"__{key}__" if key in HIDDEN_KEYS else key


def _scoped_attrs(attr: Optional[Dict[str, Any]]) -> Dict[str, str]:
    return AttrScope().get(attr)


# ------------------------------------------------------------------------ Symbol
class Symbol:
    """Outputs of a graph of MXNet operators; see the module docstring."""

    __slots__ = ("_outputs", "__weakref__")
    __array_priority__ = 1000.0          # numpy scalars leave ``np.float32(2) * x`` to us

    def __init__(self, outputs: Sequence[Entry]) -> None:
        self._outputs: List[Entry] = list(outputs)

    # ------------------------------------------------------------ identity
    @property
    def name(self) -> Optional[str]:
        """The name of the node of a one-node Symbol (None for a group)."""
        nodes = {id(e[0]) for e in self._outputs}
        return self._outputs[0][0].name if len(nodes) == 1 else None

    def __repr__(self) -> str:
        name = self.name
        if name is not None:
            return f"<Symbol {name}>"
        return f"<Symbol group [{', '.join(e[0].name for e in self._outputs)}]>"

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise TypeError("a Symbol has no truth value: hybrid_forward code run with "
                        "F=framework.sym cannot branch on array values (use F.where)")

    def __len__(self) -> int:
        return len(self._outputs)

    def __iter__(self) -> Iterator["Symbol"]:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index) -> "Symbol":
        """Output ``index`` (an int, or a name of ``list_outputs()``); a slice gives a group."""
        if isinstance(index, str):
            names = self.list_outputs()
            found = [i for i, n in enumerate(names) if n == index]
            if not found:
                raise ValueError(f"Cannot find output that matches name {index!r}; outputs "
                                 f"are {names}")
            if len(found) > 1:
                raise ValueError(f"There are multiple outputs with name {index!r}")
            index = found[0]
        if isinstance(index, slice):
            return Symbol(self._outputs[index])
        if not isinstance(index, (int, numpy.integer)) or isinstance(index, bool):
            raise TypeError(f"Symbol index must be an int, a str or a slice, got "
                            f"{type(index).__name__}")
        if not -len(self._outputs) <= index < len(self._outputs):
            raise IndexError(f"Symbol index {index} is out of range for "
                             f"{len(self._outputs)} outputs")
        return Symbol([self._outputs[index]])

    @property
    def shape(self):
        raise AttributeError("a Symbol has no shape until one is inferred: use "
                             "sym.infer_shape(data=...) (hybrid_forward code that reads "
                             "x.shape cannot run with F=framework.sym)")

    @property
    def ndim(self):
        raise AttributeError("a Symbol has no ndim until its shape is inferred: use "
                             "sym.infer_shape(data=...)")

    # ----------------------------------------------------------- attributes
    def attr(self, key: str) -> Optional[str]:
        """Attribute ``key`` of this one-node Symbol's node (a string), or None."""
        node = self._single_node("attr")
        if key == "name":
            return node.name
        return node.attrs.get(_hidden_key(key))

    def list_attr(self, recursive: bool = False) -> Dict[str, str]:
        """The attributes of this Symbol's node (``recursive``: of every node, keyed
        ``<node>$<key>``)."""
        if recursive:
            return {f"{n.name}${k}": v for n in self._order() for k, v in n.attrs.items()}
        return dict(self._outputs[0][0].attrs)

    def attr_dict(self) -> Dict[str, Dict[str, str]]:
        """node name -> its attributes, for every node that has some."""
        return {n.name: dict(n.attrs) for n in self._order() if n.attrs}

    def _set_attr(self, **kwargs: str) -> None:
        """Set string attributes on this one-node Symbol's node."""
        node = self._single_node("_set_attr")
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise ValueError(f"Symbol._set_attr: attribute {key!r} must be a string, got "
                                 f"{type(value).__name__}")
            if key == "name":
                node.name = value
            else:
                node.set_attr(_hidden_key(key), value)

    def _single_node(self, what: str) -> Node:
        nodes = {id(e[0]) for e in self._outputs}
        if len(nodes) != 1:
            raise ValueError(f"Symbol.{what} works on the Symbol of one node, not a group of "
                             f"{len(self._outputs)} outputs")
        return self._outputs[0][0]

    # -------------------------------------------------------------- listing
    def _order(self) -> List[Node]:
        return post_order([e[0] for e in self._outputs])

    def list_arguments(self) -> List[str]:
        """The variables read (not updated) by the graph, in graph order: inputs and
        learnable parameters (``['data', 'fc1_weight', 'fc1_bias']``)."""
        order = self._order()
        aux = aux_variables(order)
        return [n.name for n in order if n.is_variable and id(n) not in aux]

    def list_auxiliary_states(self) -> List[str]:
        """The variables operators update (BatchNorm's ``moving_mean``, ``moving_var``)."""
        order = self._order()
        aux = aux_variables(order)
        return [n.name for n in order if n.is_variable and id(n) in aux]

    def list_inputs(self) -> List[str]:
        """Every variable, arguments and auxiliary states together, in graph order."""
        return [n.name for n in self._order() if n.is_variable]

    def list_outputs(self) -> List[str]:
        """The output names: ``<node>_output`` (``<node>_<name>`` for named outputs),
        a variable's own name."""
        return [e[0].output_names()[e[1]] if not e[0].is_variable else e[0].name
                for e in self._outputs]

    def get_internals(self) -> "Symbol":
        """A group of every node's outputs (variables too), in graph order."""
        outputs = []
        for node in self._order():
            if node.is_variable:
                outputs.append((node, 0, node.version))
            else:
                outputs.extend((node, i, 0) for i in range(node.num_visible()))
        return Symbol(outputs)

    def get_children(self) -> Optional["Symbol"]:
        """The inputs of this Symbol's node(s) as a group (None for a variable)."""
        seen, inputs = set(), []
        for node, _, _ in self._outputs:
            if id(node) not in seen:
                seen.add(id(node))
                inputs.extend(node.inputs)
        return Symbol(inputs) if inputs else None

    # ----------------------------------------------------------- composition
    def __copy__(self) -> "Symbol":
        return Symbol(copy_graph(self._outputs))

    def __deepcopy__(self, memo) -> "Symbol":
        return self.__copy__()

    def copy(self) -> "Symbol":
        """A deep copy of the graph (new nodes, same names and attributes)."""
        return self.__copy__()

    def __call__(self, *args: "Symbol", **kwargs) -> "Symbol":
        """A copy with variables replaced: positional Symbols replace the variables in
        graph order, keyword ones the variables of those names (``net(data=x)``)."""
        out = self.__copy__()
        out._compose(*args, **kwargs)
        return out

    def _compose(self, *args: "Symbol", name: Optional[str] = None, **kwargs: "Symbol") -> None:
        """Replace variables of this Symbol's graph (see ``__call__``)."""
        for key, value in list(enumerate(args)) + list(kwargs.items()):
            if not isinstance(value, Symbol) or len(value._outputs) != 1:
                raise TypeError(f"Symbol compose: argument {key!r} must be a Symbol with one "
                                f"output, got {value!r}")
        replace: Dict[int, Entry] = {}
        used = set()
        position = 0
        for node in self._order():
            if not node.is_variable:
                continue
            if position < len(args):
                replace[id(node)] = args[position]._outputs[0]
                position += 1
            elif node.name in kwargs:
                replace[id(node)] = kwargs[node.name]._outputs[0]
                used.add(node.name)
        unknown = sorted(set(kwargs) - used)
        if unknown or position < len(args):
            what = f"names {unknown}" if unknown else f"{len(args)} positional Symbols"
            raise ValueError(f"Symbol compose: {what} do not match the graph's variables "
                             f"{self.list_inputs()}")
        self._outputs = copy_graph(self._outputs, replace)

    # ------------------------------------------------------------ JSON files
    def _saved_outputs(self, remove_amp_cast: bool) -> List[Entry]:
        if not remove_amp_cast:
            return self._outputs
        if not any(n.op_name in ("amp_cast", "amp_multicast") for n in self._order()):
            return self._outputs

        def bypass(node: Node):
            if node.op_name == "amp_cast":
                return [node.inputs[0]]
            if node.op_name == "amp_multicast":
                return list(node.inputs)
            return None
        return copy_graph(self._outputs, bypass=bypass)

    def as_json_dict(self, remove_amp_cast: bool = True) -> Dict[str, Any]:
        """The graph as the dict ``json.loads(self.tojson())`` gives: ``nodes`` (op, name,
        attrs of strings, inputs [node, output, version]), ``arg_nodes``,
        ``node_row_ptr``, ``heads``, ``attrs``."""
        return json_format.to_dict(self._saved_outputs(remove_amp_cast))

    def tojson(self, remove_amp_cast: bool = True) -> str:
        """MXNet 1.x's JSON of the graph (what ``mx.sym.load_json`` reads), laid out as
        MXNet lays it out; ``remove_amp_cast`` leaves out amp_cast/amp_multicast nodes."""
        return json_format.dumps(self.as_json_dict(remove_amp_cast))

    def save(self, fname, remove_amp_cast: bool = True) -> None:
        """Write ``tojson()`` to ``fname`` (atomically)."""
        text = self.tojson(remove_amp_cast)
        with atomic_write(str(fname), "w") as f:
            f.write(text)

    def debug_str(self) -> str:
        """One line per node: operator, name, inputs and attributes."""
        lines = []
        for node in self._order():
            ins = ", ".join(f"{src.name}[{i}]" for src, i, _ in node.inputs)
            attrs = ", ".join(f"{k}={v}" for k, v in sorted(node.attrs.items()))
            lines.append(f"{node.op_name} {node.name}({ins}){' ' + attrs if attrs else ''}")
        return "\n".join(lines)

    # ---------------------------------------------------------- inference
    def _known(self, args: Sequence, kwargs: Dict[str, Any], what: str) -> Dict[str, Any]:
        if args and kwargs:
            raise ValueError(f"{what}: give either positional or keyword arguments, not both")
        if args:
            names = self.list_arguments()
            if len(args) > len(names):
                raise ValueError(f"{what}: {len(args)} positional values for "
                                 f"{len(names)} arguments {names}")
            return {n: v for n, v in zip(names, args) if v is not None}
        inputs = set(self.list_inputs())
        unknown = [k for k in kwargs if k not in inputs]
        if unknown:
            raise ValueError(f"{what}: {unknown} are not variables of the graph; its "
                             f"variables are {self.list_inputs()}")
        return {k: v for k, v in kwargs.items() if v is not None}

    def _inferred(self, state: Dict, unknown) -> Tuple[List, List, List]:
        order = self._order()
        aux = aux_variables(order)
        variables = [n for n in order if n.is_variable]
        args = [state.get((id(n), 0), unknown) for n in variables if id(n) not in aux]
        auxs = [state.get((id(n), 0), unknown) for n in variables if id(n) in aux]
        outs = [state.get((id(node), index), unknown) for node, index, _ in self._outputs]
        return args, outs, auxs

    def infer_shape(self, *args, **kwargs):
        """(argument shapes, output shapes, auxiliary-state shapes), in the orders of
        ``list_arguments``, ``list_outputs``, ``list_auxiliary_states``, from input shapes
        given by position (argument order) or by name. Parameter shapes follow from the
        data's as in MXNet (FullyConnected's weight from num_hidden and the input). When
        some shape stays unknown, warns and returns (None, None, None)."""
        known = self._known(args, kwargs, "infer_shape")
        known = {k: tuple(int(d) for d in v) for k, v in known.items()}
        state = infer_shapes(self._outputs, known)
        arg_shapes, out_shapes, aux_shapes = self._inferred(state, None)
        everything = arg_shapes + out_shapes + aux_shapes
        if all(shape_is_known(s) for s in everything):
            return arg_shapes, out_shapes, aux_shapes
        names = [f"{n}: {s if s is not None else '()'}" for n, s in
                 zip(self.list_arguments(), arg_shapes) if not shape_is_known(s)]
        warnings.warn("Cannot decide shape for the following arguments (0s in shape means "
                      "unknown dimensions). Consider providing them as input:\n\t"
                      + "\n\t".join(names), stacklevel=2)
        return None, None, None

    def infer_shape_partial(self, *args, **kwargs):
        """As ``infer_shape``, but unknown shapes come back as () and unknown dimensions
        as 0 instead of (None, None, None)."""
        known = self._known(args, kwargs, "infer_shape_partial")
        known = {k: tuple(int(d) for d in v) for k, v in known.items()}
        state = infer_shapes(self._outputs, known)
        arg_shapes, out_shapes, aux_shapes = self._inferred(state, None)
        fix = lambda shapes: [() if s is None else s for s in shapes]   # noqa: E731
        return fix(arg_shapes), fix(out_shapes), fix(aux_shapes)

    def infer_type(self, *args, **kwargs):
        """(argument dtypes, output dtypes, auxiliary-state dtypes) as NumPy types
        (``numpy.float32``), from input dtypes by position or name; (None, None, None)
        when some stays unknown."""
        result = self._infer_type(args, kwargs, "infer_type")
        if any(t is None for part in result for t in part):
            return None, None, None
        return result

    def infer_type_partial(self, *args, **kwargs):
        """As ``infer_type``, with None for the dtypes that stay unknown."""
        return self._infer_type(args, kwargs, "infer_type_partial")

    def _infer_type(self, args, kwargs, what):
        known = self._known(args, kwargs, what)
        state = infer_types(self._outputs, known)
        parts = self._inferred(state, None)
        return tuple([None if t is None else numpy.dtype(t).type for t in part]
                     for part in parts)

    # ----------------------------------------------------------- evaluation
    def eval(self, ctx: Optional[Context] = None, **kwargs) -> List:
        """The outputs (a list of NDArrays) given every variable's NDArray by name,
        computed with ``framework.nd`` on the arrays' context."""
        return run_graph(self._outputs, kwargs, ctx, where="Symbol.eval")

    # ----------------------------------------------------------- operators
    def _binary(self, other, op: str, hint: str, scalar_op: str, scalar_hint: str,
                reverse: bool = False) -> "Symbol":
        if isinstance(other, Symbol):
            lhs, rhs = (other, self) if reverse else (self, other)
            return _create(lookup(op), hint, {"lhs": lhs, "rhs": rhs}, None, {})
        if isinstance(other, (int, float, numpy.number)) and not isinstance(other, bool):
            return _create(lookup(scalar_op), scalar_hint, {"data": self}, None,
                           {"scalar": other})
        if isinstance(other, bool):
            return self._binary(int(other), op, hint, scalar_op, scalar_hint, reverse)
        return NotImplemented

    def __add__(self, other):
        return self._binary(other, "elemwise_add", "_plus", "_plus_scalar", "_plusscalar")

    def __radd__(self, other):
        return self._binary(other, "elemwise_add", "_plus", "_plus_scalar", "_plusscalar",
                            True)

    def __sub__(self, other):
        return self._binary(other, "elemwise_sub", "_minus", "_minus_scalar", "_minusscalar")

    def __rsub__(self, other):
        return self._binary(other, "elemwise_sub", "_minus", "_rminus_scalar",
                            "_rminusscalar", True)

    def __mul__(self, other):
        return self._binary(other, "elemwise_mul", "_mul", "_mul_scalar", "_mulscalar")

    def __rmul__(self, other):
        return self._binary(other, "elemwise_mul", "_mul", "_mul_scalar", "_mulscalar", True)

    def __truediv__(self, other):
        return self._binary(other, "elemwise_div", "_div", "_div_scalar", "_divscalar")

    def __rtruediv__(self, other):
        return self._binary(other, "elemwise_div", "_div", "_rdiv_scalar", "_rdivscalar",
                            True)

    def __mod__(self, other):
        return self._binary(other, "_mod", "_mod", "_mod_scalar", "_modscalar")

    def __rmod__(self, other):
        return self._binary(other, "_mod", "_mod", "_rmod_scalar", "_rmodscalar", True)

    def __pow__(self, other):
        return self._binary(other, "_power", "_power", "_power_scalar", "_powerscalar")

    def __rpow__(self, other):
        return self._binary(other, "_power", "_power", "_rpower_scalar", "_rpowerscalar",
                            True)

    def __neg__(self):
        return self.__mul__(-1.0)

    def __pos__(self):
        return self

    def __abs__(self):
        return _create(lookup("abs"), "abs", {"data": self}, None, {})

    def __eq__(self, other):
        return self._binary(other, "_equal", "_equal", "_equal_scalar", "_equal_scalar")

    def __ne__(self, other):
        return self._binary(other, "_not_equal", "_not_equal", "_not_equal_scalar",
                            "_not_equal_scalar")

    def __gt__(self, other):
        return self._binary(other, "_greater", "_greater", "_greater_scalar",
                            "_greater_scalar")

    def __ge__(self, other):
        return self._binary(other, "_greater_equal", "_greater_equal",
                            "_greater_equal_scalar", "_greater_equal_scalar")

    def __lt__(self, other):
        return self._binary(other, "_lesser", "_lesser", "_lesser_scalar", "_lesser_scalar")

    def __le__(self, other):
        return self._binary(other, "_lesser_equal", "_lesser_equal", "_lesser_equal_scalar",
                            "_lesser_equal_scalar")

    def astype(self, dtype) -> "Symbol":
        """``Cast`` to ``dtype``."""
        return _create(lookup("Cast"), "cast", {"data": self}, None, {"dtype": dtype})


# ------------------------------------------------------------------ creating nodes
def _entry_of(value, op: OpDef, slot: str) -> Entry:
    if not isinstance(value, Symbol):
        raise TypeError(f"operator {op.name}: input '{slot}' must be a Symbol, got "
                        f"{type(value).__name__} ({value!r})")
    if len(value._outputs) != 1:
        raise ValueError(f"operator {op.name}: input '{slot}' must be a Symbol with one "
                         f"output, got a group of {len(value._outputs)}: "
                         f"{value.list_outputs()}")
    return value._outputs[0]


def _create(op: OpDef, hint: str, named: Dict[str, Optional[Symbol]],
            varargs: Optional[Sequence[Symbol]], params: Dict[str, Any],
            name: Optional[str] = None, attr: Optional[Dict[str, Any]] = None) -> Symbol:
    """A Symbol of a new ``op`` node: arguments ``params`` stored as MXNet stores them
    (``str``), inputs from ``named`` (slot -> Symbol) or ``varargs``; an input not given
    becomes a new variable ``<node>_<slot>`` (MXNet's rule)."""
    attrs = {key: format_value(key, value) for key, value in params.items()}
    attrs.update(_scoped_attrs(attr))
    node = Node(op, new_name(name, hint), attrs)
    if op.variadic:
        if op.num_args_key and op.num_args_key not in node.attrs:
            node.set_attr(op.num_args_key, str(len(varargs or ())))
        entries = [_entry_of(s, op, f"arg{i}") for i, s in enumerate(varargs or ())]
    else:
        slots = op.input_names(node.params)
        extra = [k for k, v in named.items() if v is not None and k not in slots]
        if extra:
            raise ValueError(f"operator {op.name}: inputs {extra} are not taken with these "
                             f"arguments ({node.attrs}); it takes {slots}")
        entries = []
        for slot in slots:
            value = named.get(slot)
            if value is None:
                var = Node(None, f"{node.name}_{slot}", node.attrs)
                entries.append((var, 0, 0))
            else:
                entries.append(_entry_of(value, op, slot))
    node.inputs = entries
    for i, (src, _, _) in enumerate(entries):
        if src.is_variable and i in op.var_init and "__init__" not in src.attrs:
            src.set_attr("__init__", op.var_init[i])
    update_versions(node)
    return Symbol([(node, i, 0) for i in range(node.num_visible())])


_SKIPPED_PARAMETERS = ("out", "name", "ctx")


def op_function(func_name: str, op_name: str, nd_function=None):
    """The ``framework.sym`` function ``func_name`` that adds an ``op_name`` node; its
    arguments are those of ``nd_function`` (default: the operator's ``nd`` function),
    plus MXNet's ``name`` and ``attr``."""
    op = lookup(op_name)
    signature = inspect.signature(nd_function) if nd_function is not None else op.signature
    slots = set() if op.variadic else set(op.possible_inputs())
    # inputs may be left out (they become variables); required arguments are checked
    # after binding, so every positional parameter gets a default here
    required, parameters = [], []
    for n, p in signature.parameters.items():
        if n in _SKIPPED_PARAMETERS:
            continue
        if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty:
            if n not in slots:
                required.append(n)
            p = p.replace(default=None)
        parameters.append(p)
    signature = signature.replace(parameters=parameters, return_annotation=Symbol)

    def function(*args, name: Optional[str] = None, attr: Optional[Dict[str, str]] = None,
                 **kwargs) -> Symbol:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(f"sym.{func_name}: {err} (arguments: {signature})") from None
        missing = [n for n in required if n not in bound.arguments]
        if missing:
            raise TypeError(f"sym.{func_name}: missing required argument(s) {missing} of "
                            f"operator {op.name} (arguments: {signature})")
        named: Dict[str, Optional[Symbol]] = {}
        varargs = None
        params: Dict[str, Any] = {}
        for key, value in bound.arguments.items():
            kind = signature.parameters[key].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                varargs = list(value)
            elif kind is inspect.Parameter.VAR_KEYWORD:
                for k, v in value.items():
                    if isinstance(v, Symbol):
                        named[k] = v
                    else:
                        params[k] = v
            elif key in slots:
                if value is not None and not isinstance(value, Symbol):
                    raise TypeError(f"sym.{func_name}: input '{key}' must be a Symbol, got "
                                    f"{type(value).__name__}")
                named[key] = value
            elif isinstance(value, Symbol):
                raise TypeError(f"sym.{func_name}: argument '{key}' is not an array input "
                                f"of {op.name} (inputs: {sorted(slots) or 'any number'}); "
                                f"got a Symbol")
            else:
                params[key] = value
        return _create(op, func_name, named, varargs, params, name, attr)

    function.__name__ = func_name
    function.__qualname__ = func_name
    function.__doc__ = (f"Symbolic ``{op.name}``: a new graph node; arguments as "
                        f"``framework.nd.{op.fn or func_name}``, plus ``name`` and ``attr``.")
    function.__signature__ = signature
    return function


# ------------------------------------------------------------------ variables, groups
def var(name: str, attr: Optional[Dict[str, str]] = None, shape=None, lr_mult=None,
        wd_mult=None, dtype=None, init=None, stype: Optional[str] = None,
        profiler_scope: Optional[str] = None, **kwargs) -> Symbol:
    """A variable ``name`` (an input or a parameter of the graph). ``shape`` (0 marks an
    unknown dimension), ``dtype``, ``init`` (an initializer or its name), ``lr_mult``,
    ``wd_mult``, ``stype`` become MXNet's hidden attributes (``__shape__``, ...);
    further attributes by ``attr`` or ``__key__=value``."""
    if not isinstance(name, str):
        raise TypeError(f"sym.var: name must be a str, got {type(name).__name__}")
    attrs = _scoped_attrs(attr)
    if shape is not None:
        attrs["__shape__"] = str(tuple(int(d) for d in shape))
    if lr_mult is not None:
        attrs["__lr_mult__"] = str(lr_mult)
    if wd_mult is not None:
        attrs["__wd_mult__"] = str(wd_mult)
    if dtype is not None:
        attrs["__dtype__"] = str(dtype_flag(dtype))
    if init is not None:
        attrs["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype is not None:
        if stype not in STORAGE_TYPES:
            raise ValueError(f"sym.var('{name}'): unknown storage type {stype!r}; expected "
                             f"one of {sorted(STORAGE_TYPES)}")
        attrs["__storage_type__"] = str(STORAGE_TYPES[stype])
    if profiler_scope is not None:
        attrs["__profiler_scope__"] = profiler_scope
    for key, value in kwargs.items():
        if not (key.startswith("__") and key.endswith("__")):
            raise ValueError(f"Attribute name={key} is not supported. Additional attributes "
                             f"must start and end with double underscores, e.g, "
                             f"__yourattr__")
        attrs[key] = str(value)
    return Symbol([(Node(None, name, attrs), 0, 0)])


Variable = var


def Group(symbols: Sequence[Symbol]) -> Symbol:
    """One Symbol with the outputs of ``symbols``, in order."""
    if not symbols or any(not isinstance(s, Symbol) for s in symbols):
        raise TypeError("Group: expected a non-empty list of Symbols, got "
                        f"{[type(s).__name__ for s in symbols] if symbols else symbols!r}")
    return Symbol([e for s in symbols for e in s._outputs])


def load_json(json_str: str) -> Symbol:
    """The Symbol of MXNet symbol JSON text (any MXNet 1.x version; older files are
    upgraded as MXNet does). An operator framework.sym does not know is an error
    naming it and its node."""
    if not isinstance(json_str, str):
        raise TypeError(f"load_json: expected a str, got {type(json_str).__name__}")
    return Symbol(json_format.loads(json_str, "load_json"))


def load(fname) -> Symbol:
    """The Symbol of an MXNet ``-symbol.json`` file (``HybridBlock.export``'s)."""
    try:
        with open(fname, "r", encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise OSError(f"sym.load: cannot read symbol file '{fname}': {err.strerror}") from None
    return Symbol(json_format.loads(text, f"symbol file '{fname}'"))
