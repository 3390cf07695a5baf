"""The ONNX graph under construction, and the view one converter has of it.

``GraphBuilder`` holds the ONNX nodes, initializers and the type (element type and
shape) of every tensor made so far: each node's output types come from ONNX's own
per-node shape inference as the node is added, so a converter can ask for the rank,
shape or dtype of any input. Shapes are those of the example input (``input_shape``);
with ``dynamic`` export a converter must not bake a batch or spatial size into the
graph (``NodeContext.dynamic`` tells it so).

``NodeContext`` is what a converter of one MXNet node sees: its attributes (MXNet's
strings, parsed on request), its inputs as ONNX tensor names, and ``emit`` / ``const``
to add nodes and constants named after the MXNet node.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy

INT64_MAX = 2 ** 63 - 1
INT64_MIN = -2 ** 63
_SMALL_CONSTANT = 64          # constants up to this size feed ONNX's shape inference


class ExportError(ValueError):
    """An MXNet graph that cannot be written as ONNX (bad attribute, unsupported form)."""


def import_onnx():
    """The ``onnx`` module, or an ImportError that names the extra to install."""
    try:
        import onnx
        import onnx.shape_inference  # noqa: F401
    except ImportError as err:
        raise ImportError("framework.onnx needs the 'onnx' package: "
                          "pip install framework[onnx]  (or: pip install onnx)") from err
    return onnx


class GraphBuilder:
    """ONNX nodes, initializers and tensor types of the graph being exported."""

    def __init__(self, opset: int, dynamic: bool) -> None:
        self.onnx = import_onnx()
        self.opset = opset
        self.dynamic = dynamic
        self.nodes: List[Any] = []
        self.initializers: List[Any] = []
        self.types: Dict[str, Any] = {}           # tensor name -> onnx.TypeProto
        self.values: Dict[str, numpy.ndarray] = {}    # initializer / constant values
        self._small: Dict[str, Any] = {}           # name -> TensorProto, for shape inference
        self._taken: set = set()
        self._opset_imports = [self.onnx.helper.make_opsetid("", opset)]

    # ----------------------------------------------------------------- names
    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def fresh(self, hint: str) -> str:
        """A tensor or node name not used yet, ``hint`` itself when free."""
        name, k = hint, 1
        while name in self._taken:
            name = f"{hint}_{k}"
            k += 1
        self._taken.add(name)
        return name

    # ----------------------------------------------------------------- tensors
    def add_input(self, name: str, elem_type: int, shape: Sequence[Optional[int]]) -> None:
        self.types[name] = self.onnx.helper.make_tensor_type_proto(elem_type, list(shape))
        self._taken.add(name)

    def add_initializer(self, name: str, value: numpy.ndarray) -> str:
        """Store ``value`` as an initializer called ``name`` (which must be free)."""
        helper = self.onnx.helper
        value = numpy.ascontiguousarray(value)
        tensor = self.onnx.numpy_helper.from_array(value, name)
        self.initializers.append(tensor)
        self.types[name] = helper.make_tensor_type_proto(tensor.data_type, list(value.shape))
        self.values[name] = value
        if value.size <= _SMALL_CONSTANT:
            self._small[name] = tensor
        self._taken.add(name)
        return name

    def const(self, value, hint: str, dtype=None) -> str:
        """A new initializer holding ``value`` (an array or a number)."""
        array = numpy.asarray(value, dtype=dtype)
        return self.add_initializer(self.fresh(hint), array)

    def shape(self, name: str) -> Tuple[Optional[int], ...]:
        """The shape of tensor ``name`` (None for a size ONNX could not infer)."""
        t = self._type(name).tensor_type
        if not t.HasField("shape"):
            raise ExportError(f"onnx export: the rank of tensor '{name}' is unknown")
        return tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)

    def set_shape(self, name: str, shape: Sequence[Optional[int]]) -> None:
        """Correct the recorded shape of ``name`` where ONNX's inference is wrong."""
        self.types[name] = self.onnx.helper.make_tensor_type_proto(self.elem_type(name),
                                                                   list(shape))

    def used_initializers(self, outputs: Sequence[str]) -> List[Any]:
        """The initializers that a node or a graph output reads."""
        used = set(outputs)
        for node in self.nodes:
            used.update(node.input)
        return [t for t in self.initializers if t.name in used]

    def elem_type(self, name: str) -> int:
        return self._type(name).tensor_type.elem_type

    def dtype(self, name: str) -> numpy.dtype:
        return numpy.dtype(self.onnx.helper.tensor_dtype_to_np_dtype(self.elem_type(name)))

    def _type(self, name: str):
        try:
            return self.types[name]
        except KeyError:
            raise ExportError(f"onnx export: tensor '{name}' is used before it is made") from None

    # ----------------------------------------------------------------- nodes
    def emit(self, op_type: str, inputs: Sequence[str], outputs: Sequence[str],
             node_name: str, shape_hint: Optional[Sequence[Optional[int]]] = None,
             **attrs) -> List[str]:
        """Add one ONNX node; its output types are inferred at once. ``shape_hint``
        gives the shape of a single output where ONNX cannot infer it (a Reshape to a
        shape computed at run time)."""
        onnx = self.onnx
        node = onnx.helper.make_node(op_type, list(inputs), list(outputs), name=node_name,
                                     **attrs)
        schema = onnx.defs.get_schema(op_type, self.opset)
        known = {i: self._type(i) for i in inputs if i}
        data = {i: self._small[i] for i in inputs if i in self._small}
        try:
            inferred = onnx.shape_inference.infer_node_outputs(
                schema, node, known, data, opset_imports=self._opset_imports)
        except Exception as err:   # onnx raises its own InferenceError / ValidationError
            described = ", ".join(f"{i} {self.shape(i)}" for i in inputs if i)
            raise ExportError(f"onnx export: ONNX rejects {op_type} node '{node_name}' "
                              f"(inputs {described}; attributes {attrs}): {err}") from err
        for out in outputs:
            if out not in inferred:
                raise ExportError(f"onnx export: ONNX inferred no type for output '{out}' "
                                  f"of {op_type} node '{node_name}'")
            self.types[out] = self._with_hint(inferred[out], shape_hint)
        self.nodes.append(node)
        return list(outputs)

    def _with_hint(self, inferred, hint):
        """``inferred``, its unknown rank or sizes filled from ``hint``."""
        if hint is None:
            return inferred
        t = inferred.tensor_type
        if t.HasField("shape"):
            dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
            if len(dims) != len(hint) or None not in dims:
                return inferred
            hint = [d if d is not None else h for d, h in zip(dims, hint)]
        return self.onnx.helper.make_tensor_type_proto(t.elem_type, list(hint))


# ------------------------------------------------------------------ attribute parsing
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def parse_value(text: str):
    """One MXNet attribute string as a Python value: '(2, 2)' -> (2, 2), 'True' -> True,
    'None' -> None, '1e-05' -> 1e-05; anything else stays a string."""
    s = text.strip()
    low = s.lower()
    if low == "none":
        return None
    if low == "true":
        return True
    if low == "false":
        return False
    if s.startswith(("(", "[")):
        inner = s[1:-1].strip()
        if not inner:
            return ()
        return tuple(parse_value(part) for part in inner.split(",") if part.strip())
    for convert in (int, float):
        try:
            return convert(s)
        except ValueError:
            pass
    return s


class NodeContext:
    """The MXNet node being converted, and the means to write its ONNX nodes."""

    def __init__(self, builder: GraphBuilder, index: int, node: dict, inputs: List[str],
                 out_name: str) -> None:
        self.builder = builder
        self.index = index
        self.op: str = node["op"]
        self.name: str = node["name"]
        self.attrs: Dict[str, str] = {k: str(v) for k, v in _node_attrs(node).items()}
        self.inputs = inputs
        self.out_name = out_name          # the name the node's (first) output takes
        self.opset = builder.opset
        self.dynamic = builder.dynamic

    # ------------------------------------------------------------- failures
    def fail(self, why: str) -> ExportError:
        return ExportError(f"onnx export: MXNet operator {self.op} (node '{self.name}', "
                           f"#{self.index}): {why}")

    # ------------------------------------------------------------- attributes
    def has(self, key: str) -> bool:
        return key in self.attrs and parse_value(self.attrs[key]) not in (None, ())

    def raw(self, key: str, default: Any = None) -> Any:
        if key not in self.attrs:
            return default
        return parse_value(self.attrs[key])

    def attr_str(self, key: str, default: Optional[str] = None) -> Optional[str]:
        value = self.attrs.get(key)
        return default if value is None or value == "None" else value

    def attr_bool(self, key: str, default: bool) -> bool:
        value = self.attrs.get(key)
        if value is None:
            return default
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise self.fail(f"attribute {key}={value!r} is not a boolean")

    def attr_float(self, key: str, default: Optional[float]) -> Optional[float]:
        value = self.raw(key, default)
        if value is None:
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise self.fail(f"attribute {key}={self.attrs[key]!r} is not a number") from None

    def attr_int(self, key: str, default: Optional[int]) -> Optional[int]:
        value = self.raw(key, default)
        if value is None:
            return default
        if isinstance(value, tuple) and len(value) == 1:
            value = value[0]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail(f"attribute {key}={self.attrs[key]!r} is not an integer")
        return value

    def attr_ints(self, key: str, default: Optional[Sequence[int]] = None,
                  allow_none: bool = False) -> Optional[Tuple]:
        """An int tuple attribute ('(2, 2)', '[1,2]', or one int); () and None give default."""
        value = self.raw(key, None)
        if value is None or value == ():
            return None if default is None else tuple(default)
        if not isinstance(value, tuple):
            value = (value,)
        result = []
        for v in value:
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if v is None and allow_none:
                result.append(None)
            elif isinstance(v, int) and not isinstance(v, bool):
                result.append(v)
            else:
                raise self.fail(f"attribute {key}={self.attrs[key]!r} is not a tuple of ints")
        return tuple(result)

    # ------------------------------------------------------------- inputs
    def shape(self, i: int = 0) -> Tuple[Optional[int], ...]:
        return self.builder.shape(self.inputs[i])

    def rank(self, i: int = 0) -> int:
        return len(self.shape(i))

    def dtype(self, i: int = 0) -> numpy.dtype:
        return self.builder.dtype(self.inputs[i])

    def elem_type(self, i: int = 0) -> int:
        return self.builder.elem_type(self.inputs[i])

    def value(self, i: int) -> Optional[numpy.ndarray]:
        """The value of input ``i`` when it is a parameter or a constant, else None."""
        return self.builder.values.get(self.inputs[i])

    def need_inputs(self, low: int, high: Optional[int] = None) -> None:
        n = len(self.inputs)
        high = low if high is None else high
        if not low <= n <= high:
            want = str(low) if low == high else f"{low} to {high}"
            raise self.fail(f"expected {want} inputs, got {n}")

    def axis(self, axis: int, rank: int, extra: int = 0) -> int:
        """``axis`` made non-negative for an array of ``rank`` (+ ``extra`` new axes)."""
        full = rank + extra
        if axis is None:
            raise self.fail("attribute 'axis' is missing")
        if not -full <= axis < full:
            raise self.fail(f"axis {axis} is out of range for an input of rank {rank}")
        return axis % full

    # ------------------------------------------------------------- output
    def emit(self, op_type: str, inputs: Sequence[str], hint: str = "", n_outputs: int = 1,
             shape_hint: Optional[Sequence[Optional[int]]] = None, **attrs) -> Any:
        """Add an ONNX node; returns its output name (a list when ``n_outputs`` > 1).
        ``shape_hint``: the output's shape where ONNX cannot infer it."""
        base = f"{self.name}_{hint or op_type.lower()}"
        outputs = [self.builder.fresh(base if n_outputs == 1 else f"{base}{k}")
                   for k in range(n_outputs)]
        self.builder.emit(op_type, inputs, outputs, self.builder.fresh(base + "_node"),
                          shape_hint, **attrs)
        return outputs[0] if n_outputs == 1 else outputs

    def const(self, value, hint: str = "const", dtype=None) -> str:
        return self.builder.const(value, f"{self.name}_{hint}", dtype)

    def ints(self, values: Sequence[int], hint: str = "ints") -> str:
        """An int64 vector constant (shapes, axes, slice bounds)."""
        return self.const(numpy.asarray(list(values), dtype=numpy.int64).reshape(-1), hint)

    def scalar(self, value: float, like: int = 0, hint: str = "scalar") -> str:
        """A 0-d constant in the dtype of input ``like``."""
        return self.const(numpy.asarray(value, dtype=self.dtype(like)), hint)

    def scalar_as(self, value: float, tensor: str, hint: str = "scalar") -> str:
        """A 0-d constant in the dtype of ``tensor``."""
        return self.const(numpy.asarray(value, dtype=self.builder.dtype(tensor)), hint)

    def reduce(self, op_type: str, x: str, axes: Optional[Sequence[int]], keepdims: bool,
               hint: str = "") -> str:
        """A Reduce* node over ``axes`` (all when None), with axes as an attribute or an
        input as the opset wants (ReduceSum from 13, the others from 18)."""
        keep = int(bool(keepdims))
        if axes is None:
            return self.emit(op_type, [x], hint, keepdims=keep)
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.emit(op_type, [x, self.ints(axes, "axes")], hint, keepdims=keep)
        return self.emit(op_type, [x], hint, axes=list(axes), keepdims=keep)

    def unsqueeze(self, x: str, axes: Sequence[int], hint: str = "") -> str:
        return self.emit("Unsqueeze", [x, self.ints(axes, "axes")], hint)

    def squeeze(self, x: str, axes: Sequence[int], hint: str = "") -> str:
        return self.emit("Squeeze", [x, self.ints(axes, "axes")], hint)

    def reshape(self, x: str, shape: Sequence[int], hint: str = "") -> str:
        return self.emit("Reshape", [x, self.ints(shape, "shape")], hint)

    def along_axis(self, param: str, axis: int, rank: int, hint: str = "") -> str:
        """A per-channel vector (C,) reshaped to broadcast along ``axis`` of an array
        of ``rank``: (C, 1, ..., 1) with rank - axis - 1 trailing ones."""
        trailing = rank - axis - 1
        if trailing == 0:
            return param
        return self.reshape(param, [-1] + [1] * trailing, hint or "bcast")


def _node_attrs(node: dict) -> dict:
    """A node's attributes: 'attrs' (MXNet >= 1.0), 'attr' or 'param' (older files)."""
    for key in ("attrs", "attr", "param"):
        if isinstance(node.get(key), dict):
            return node[key]
    return {}
