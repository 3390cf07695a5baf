"""``export_model``: an MXNet graph and its parameters written as an ONNX model.

The graph is MXNet 1.x's symbol JSON (a dict of ``nodes`` with ``op``, ``name``,
``attrs``, ``inputs`` as [node, output, version] triples; ``arg_nodes``; ``heads``),
read from a ``-symbol.json`` file, a Symbol (``tojson()``), or a HybridBlock's own
export. Each node goes through the converter registered for its operator
(``framework/onnx/ops/``); parameters become initializers, the other variables graph
inputs, in the order they appear.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy

from .._fileio import atomic_write
from .._version import __version__
from ._graph import ExportError, GraphBuilder, NodeContext, import_onnx
from .ops import CONVERTERS

__all__ = ["export_model", "get_operator_support"]

DEFAULT_OPSET = 13
MIN_OPSET = 13
_LOG = logging.getLogger(__name__)

# operators whose input 1 is a training label, not part of the inference graph
_LABEL_CONSUMERS = {"SoftmaxOutput", "LinearRegressionOutput", "LogisticRegressionOutput",
                    "MAERegressionOutput"}


def get_operator_support(opset_version: Optional[int] = None) -> List[str]:
    """The MXNet operator names ``export_model`` converts (the same for every opset
    from 13 on; an operator with a newer ONNX form uses it when the opset allows)."""
    _check_opset(opset_version, import_onnx())
    return sorted(CONVERTERS)


def export_model(sym, params, input_shape=None, input_type=numpy.float32,
                 onnx_file_path: str = "model.onnx", verbose: bool = False,
                 dynamic: bool = False, dynamic_input_shapes=None,
                 run_shape_inference: bool = False, input_types=None,
                 opset_version: Optional[int] = None) -> str:
    """Write an MXNet model as an ONNX file (MXNet 1.9's ``mx.onnx.export_model``).

    Parameters
    ----------
    sym : str, Symbol, dict or HybridBlock
        A path to an MXNet ``-symbol.json`` file, a Symbol (anything with
        ``tojson()``), the JSON graph as a dict, or a HybridBlock (exported through its
        ``export`` into a temporary folder).
    params : str, dict, list of two dicts, or None
        A path to an MXNet ``.params`` file, or a dict of name -> NDArray (or NumPy
        array), names with or without the ``arg:``/``aux:`` prefixes; MXNet's
        [arg_params, aux_params] pair. None only for a HybridBlock (its own parameters).
    input_shape : list of tuples (or one tuple)
        The shape of each graph input, in the order the graph lists them.
    input_type : dtype or list of dtypes
        The type of each input (default float32); ``input_types`` overrides it.
    onnx_file_path : str
        Where the model is written (atomically).
    verbose : bool
        Log each converted node (``logging`` at INFO level).
    dynamic : bool
        Declare the inputs with unknown sizes (all, or those None in
        ``dynamic_input_shapes``) and the outputs with unknown sizes.
    run_shape_inference : bool
        Run ONNX's shape inference on the model (adds the intermediate shapes).
    opset_version : int
        The ONNX opset, 13 (default) or newer.

    Returns
    -------
    str
        ``onnx_file_path``.
    """
    onnx = import_onnx()
    opset = _check_opset(opset_version, onnx)
    graph, param_values = _load_model(sym, params)
    types = input_types if input_types is not None else input_type
    shapes, elem_types = _input_specs(input_shape, types, onnx)
    declared = _declared_shapes(shapes, dynamic, dynamic_input_shapes)
    builder = GraphBuilder(opset, dynamic)
    inputs, outputs = _convert(builder, graph, param_values, shapes, elem_types, verbose)
    if len(inputs) != len(shapes):
        raise ExportError(f"onnx export: {len(shapes)} input shapes were given, but the graph "
                          f"has {len(inputs)} inputs besides the parameters: {inputs}")
    helper = onnx.helper
    graph_inputs = [helper.make_tensor_value_info(name, t, list(s))
                    for name, t, s in zip(inputs, elem_types, declared)]
    graph_outputs = []
    for name in outputs:
        shape = builder.shape(name)
        if dynamic:
            shape = (None,) * len(shape)
        graph_outputs.append(helper.make_tensor_value_info(name, builder.elem_type(name),
                                                           list(shape)))
    onnx_graph = helper.make_graph(builder.nodes, "framework_model", graph_inputs,
                                   graph_outputs,
                                   initializer=builder.used_initializers(outputs))
    opset_ids = [helper.make_opsetid("", opset)]
    model = helper.make_model(onnx_graph, opset_imports=opset_ids, producer_name="framework",
                              producer_version=__version__)
    model.ir_version = helper.find_min_ir_version_for(opset_ids)
    if run_shape_inference:
        try:
            model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        except Exception as err:     # onnx's InferenceError and friends
            warnings.warn(f"onnx export: ONNX shape inference failed, the model is written "
                          f"without the inferred shapes: {err}", RuntimeWarning, stacklevel=2)
    try:
        payload = model.SerializeToString()
    except ValueError as err:
        raise ExportError(f"onnx export: the model cannot be serialized for "
                          f"'{onnx_file_path}' (ONNX files are limited to 2 GiB): {err}") from err
    with atomic_write(onnx_file_path, "wb") as file:
        file.write(payload)
    if verbose:
        _LOG.info("Input shapes of the model: %s", shapes)
        _LOG.info("Exported ONNX file %s saved to disk", onnx_file_path)
    return onnx_file_path


# ------------------------------------------------------------------ arguments
def _check_opset(opset_version, onnx) -> int:
    newest = onnx.defs.onnx_opset_version()
    if opset_version is None:
        return DEFAULT_OPSET
    if isinstance(opset_version, bool) or not isinstance(opset_version, (int, numpy.integer)) \
            or not MIN_OPSET <= opset_version <= newest:
        raise ValueError(f"onnx export: opset_version must be an int from {MIN_OPSET} to "
                         f"{newest} (the newest this onnx {onnx.__version__} knows), got "
                         f"{opset_version!r}")
    return int(opset_version)


def _input_specs(input_shape, types, onnx) -> Tuple[List[Tuple[int, ...]], List[int]]:
    """The input shapes as a list of int tuples and their ONNX element types."""
    if input_shape is None:
        raise ValueError("onnx export: input_shape is required: the shape of each graph "
                         "input, e.g. [(1, 3, 224, 224)]")
    shapes = list(input_shape) if isinstance(input_shape, (list, tuple)) else None
    if shapes is None:
        raise TypeError(f"onnx export: input_shape must be a list of shapes (tuples of ints), "
                        f"got {type(input_shape).__name__}")
    if shapes and all(_is_int(d) for d in shapes):
        shapes = [tuple(shapes)]                  # one shape given on its own
    result = []
    for s in shapes:
        if not isinstance(s, (list, tuple)) or not all(_is_int(d) and d >= 0 for d in s):
            raise ValueError(f"onnx export: each input shape must be a tuple of non-negative "
                             f"ints, got {s!r} in input_shape={input_shape!r}")
        result.append(tuple(int(d) for d in s))
    type_list = list(types) if isinstance(types, (list, tuple)) else [types] * len(result)
    if len(type_list) != len(result):
        raise ValueError(f"onnx export: {len(type_list)} input types for {len(result)} input "
                         f"shapes")
    elem_types = []
    for t in type_list:
        try:
            elem_types.append(onnx.helper.np_dtype_to_tensor_dtype(numpy.dtype(t)))
        except (TypeError, KeyError) as err:
            raise TypeError(f"onnx export: input type {t!r} is not a dtype ONNX knows") from err
    return result, elem_types


def _is_int(value) -> bool:
    return isinstance(value, (int, numpy.integer)) and not isinstance(value, bool)


def _declared_shapes(shapes, dynamic: bool, dynamic_input_shapes) -> List[Tuple]:
    """The input shapes the model declares: fixed, or with None for a free size."""
    if not dynamic:
        if dynamic_input_shapes is not None:
            raise ValueError("onnx export: dynamic_input_shapes is given but dynamic=False; "
                             "pass dynamic=True to use it")
        return shapes
    if dynamic_input_shapes is None:
        return [(None,) * len(s) for s in shapes]
    dyn = list(dynamic_input_shapes)
    if len(dyn) != len(shapes):
        raise ValueError(f"onnx export: {len(dyn)} dynamic_input_shapes for {len(shapes)} "
                         f"input shapes")
    for s, d in zip(shapes, dyn):
        if len(d) != len(s) or any(a is not None and a != b for a, b in zip(d, s)):
            raise ValueError(f"onnx export: dynamic input shape {tuple(d)} does not match the "
                             f"input shape {s} (same rank; each size equal or None)")
    return [tuple(d) for d in dyn]


# ------------------------------------------------------------------ the model files
def _load_model(sym, params) -> Tuple[dict, Dict[str, numpy.ndarray]]:
    """(the JSON graph, the parameter values by plain name)."""
    from ..block import HybridBlock
    if isinstance(sym, HybridBlock):
        return _export_block(sym, params)
    graph = _load_graph(sym)
    if params is None:
        raise TypeError("onnx export: params is None; give the .params file or a dict of "
                        "parameters (None is only for a HybridBlock)")
    return graph, _load_params(params)


def _export_block(block, params) -> Tuple[dict, Dict[str, numpy.ndarray]]:
    if not callable(getattr(block, "export", None)):
        raise TypeError(f"onnx export: {type(block).__name__} has no export() method, so it "
                        f"cannot give its graph; pass its -symbol.json file instead")
    with tempfile.TemporaryDirectory(prefix="framework-onnx-") as folder:
        prefix = os.path.join(folder, "model")
        block.export(prefix, epoch=0)
        graph = _load_graph(prefix + "-symbol.json")
        values = _load_params(prefix + "-0000.params")
    if params is not None:
        values.update(_load_params(params))
    return graph, values


def _load_graph(sym) -> dict:
    if isinstance(sym, dict):
        graph = sym
        where = "the graph dict"
    elif isinstance(sym, (str, os.PathLike)):
        where = f"'{os.fspath(sym)}'"
        try:
            with open(sym, "r", encoding="utf-8") as file:
                graph = json.load(file)
        except json.JSONDecodeError as err:
            raise ValueError(f"onnx export: {where} is not an MXNet symbol JSON file: "
                             f"{err}") from err
    elif callable(getattr(sym, "tojson", None)):
        where = f"the {type(sym).__name__}'s tojson()"
        graph = json.loads(sym.tojson())
    else:
        raise TypeError(f"onnx export: sym must be a -symbol.json path, a Symbol, a graph dict "
                        f"or a HybridBlock, got {type(sym).__name__}")
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list) \
            or not isinstance(graph.get("heads"), list):
        raise ValueError(f"onnx export: {where} is not an MXNet symbol graph (expected a JSON "
                         f"object with 'nodes' and 'heads')")
    return graph


def _load_params(params) -> Dict[str, numpy.ndarray]:
    """Parameter values by name, without MXNet's ``arg:``/``aux:`` prefixes."""
    if isinstance(params, (str, os.PathLike)):
        from ..ndarray import load
        loaded = load(os.fspath(params))
        if isinstance(loaded, list) and not loaded:
            loaded = {}                   # a model without parameters
        if not isinstance(loaded, dict):
            raise ValueError(f"onnx export: '{os.fspath(params)}' holds a list of arrays "
                             f"without names; a parameter file maps names to arrays")
        params = loaded
    elif isinstance(params, (list, tuple)):
        if not all(isinstance(p, dict) for p in params):
            raise TypeError("onnx export: params as a list must be [arg_params, aux_params], "
                            "two dicts")
        merged: Dict[str, Any] = {}
        for p in params:
            merged.update(p)
        params = merged
    elif not isinstance(params, dict):
        raise TypeError(f"onnx export: params must be a .params path or a dict of name -> "
                        f"NDArray, got {type(params).__name__}")
    values = {}
    for key, value in params.items():
        name = key[4:] if key.startswith(("arg:", "aux:")) else key
        host = value.asnumpy() if hasattr(value, "asnumpy") else numpy.asarray(value)
        values[name] = host
    return values


# ------------------------------------------------------------------ conversion
def _reachable(nodes: list, heads: list) -> set:
    seen, stack = set(), [h[0] for h in heads]
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        stack.extend(e[0] for e in nodes[i].get("inputs", []))
    return seen


def _labels(nodes: list, params: dict, keep: set) -> set:
    """Variables used only as the label of a loss output (skipped, as MXNet does)."""
    uses: Dict[int, List[Tuple[str, int]]] = {}
    for i in keep:
        for position, entry in enumerate(nodes[i].get("inputs", [])):
            uses.setdefault(entry[0], []).append((nodes[i]["op"], position))
    return {i for i in keep if nodes[i]["op"] == "null" and nodes[i]["name"] not in params
            and uses.get(i) and all(op in _LABEL_CONSUMERS and pos == 1
                                    for op, pos in uses[i])}


def _convert(builder: GraphBuilder, graph: dict, params: Dict[str, numpy.ndarray],
             shapes: Sequence[Tuple[int, ...]], elem_types: Sequence[int],
             verbose: bool) -> Tuple[List[str], List[str]]:
    """Convert every node needed by the heads; returns (input names, output names)."""
    nodes, heads = graph["nodes"], graph["heads"]
    keep = _reachable(nodes, heads)
    labels = _labels(nodes, params, keep)
    names = _unique_names(nodes)
    for name in names:
        builder.reserve(name)
    tensor_of: Dict[Tuple[int, int], str] = {}
    inputs: List[str] = []
    for idx, node in enumerate(nodes):
        if idx not in keep or idx in labels:
            continue
        name, op = names[idx], node.get("op")
        if verbose:
            _LOG.info("Converting idx: %d, op: %s, name: %s", idx, op, name)
        if op == "null":
            if node["name"] in params:
                builder.add_initializer(name, params[node["name"]])
            else:
                k = len(inputs)
                if k >= len(shapes):
                    raise ExportError(
                        f"onnx export: variable '{node['name']}' (node #{idx}) has no value in "
                        f"params and no input shape: {len(shapes)} input shape(s) were given "
                        f"for the inputs {inputs + [node['name']]}...; is a parameter missing "
                        f"from params?")
                builder.add_input(name, elem_types[k], shapes[k])
                inputs.append(name)
            tensor_of[(idx, 0)] = name
            continue
        converter = CONVERTERS.get(op)
        if converter is None:
            raise NotImplementedError(
                f"onnx export: no ONNX converter for MXNet operator '{op}' (node '{name}', "
                f"#{idx}); fw.onnx.get_operator_support() lists the supported operators")
        entries = []
        node_inputs = node.get("inputs", [])
        for entry in node_inputs[:1] if op in _LABEL_CONSUMERS else node_inputs:
            source = (entry[0], entry[1] if len(entry) > 1 else 0)
            if source not in tensor_of:
                raise ExportError(
                    f"onnx export: node '{name}' (#{idx}, {op}) reads output {source[1]} of "
                    f"node '{names[source[0]]}' ({nodes[source[0]].get('op')}), which the "
                    f"ONNX export does not produce")
            entries.append(tensor_of[source])
        start = len(builder.nodes)
        ctx = NodeContext(builder, idx, dict(node, name=name), entries, name)
        result = converter(ctx)
        outs = [result] if isinstance(result, str) else list(result)
        outs = _name_outputs(builder, start, name, outs)
        for k, tensor in enumerate(outs):
            if tensor is not None:
                tensor_of[(idx, k)] = tensor
    return inputs, _graph_outputs(builder, nodes, names, heads, tensor_of, set(inputs))


def _unique_names(nodes: list) -> List[str]:
    """Node names, a repeated one prefixed with its index (as MXNet's exporter)."""
    seen, names = set(), []
    for idx, node in enumerate(nodes):
        name = node.get("name") or f"node{idx}"
        if name in seen:
            name = f"idx_{idx}_{name}"
        seen.add(name)
        names.append(name)
    return names


def _name_outputs(builder: GraphBuilder, start: int, name: str, outs: list) -> list:
    """Give the tensors a converter made the MXNet node's name (output 0 alone: ``name``;
    several outputs: ``name0``, ``name1``, ... as MXNet's exporter names them)."""
    new_nodes = builder.nodes[start:]
    made = {out for n in new_nodes for out in n.output}
    live = [k for k, t in enumerate(outs) if t is not None]
    renamed: Dict[str, str] = {}
    result = list(outs)
    for k in live:
        tensor = outs[k]
        if tensor not in made or tensor in renamed:
            result[k] = renamed.get(tensor, tensor)
            continue
        want = name if live == [0] else builder.fresh(f"{name}{k}")
        renamed[tensor] = want
        result[k] = want
    if renamed:
        for n in new_nodes:
            for p, out in enumerate(n.output):
                if out in renamed:
                    n.output[p] = renamed[out]
            for p, inp in enumerate(n.input):
                if inp in renamed:
                    n.input[p] = renamed[inp]
        for old, new in renamed.items():
            builder.types[new] = builder.types.pop(old)
    return result


def _graph_outputs(builder: GraphBuilder, nodes, names, heads, tensor_of,
                   input_names: set) -> List[str]:
    outputs: List[str] = []
    for head in heads:
        source = (head[0], head[1] if len(head) > 1 else 0)
        if source not in tensor_of:
            raise ExportError(f"onnx export: the graph output {source[1]} of node "
                              f"'{names[source[0]]}' ({nodes[source[0]].get('op')}) is not "
                              f"produced by the ONNX export")
        tensor = tensor_of[source]
        if tensor in input_names or tensor in builder.values or tensor in outputs:
            copy = builder.fresh(f"{names[source[0]]}_output")
            builder.emit("Identity", [tensor], [copy], builder.fresh(copy + "_node"))
            tensor = copy
        outputs.append(tensor)
    return outputs
