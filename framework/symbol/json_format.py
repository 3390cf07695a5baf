"""MXNet 1.x's symbol JSON: the graph as ``nodes``, ``arg_nodes``, ``node_row_ptr``,
``heads`` and ``attrs`` (nnvm's ``saveload_json.cc``), written byte for byte as
MXNet writes it (dmlc's JSONWriter layout), and read back with MXNet's upgrades of
older files (``legacy_json_util.cc``).

``nodes``: every node once, each after its inputs (depth-first from the heads);
a node is ``{"op": name or "null", "name": ..., "attrs": {str: str} (sorted, left
out when empty), "inputs": [[node index, output index, version], ...]}``.
``arg_nodes``: the variables' indices. ``node_row_ptr``: running count of the
nodes' outputs (hidden outputs included). ``heads``: the graph's outputs.
``attrs``: ``{"mxnet_version": ["int", 10901]}``.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Sequence

from .attrs import HIDDEN_KEYS
from .graph import Entry, Node, post_order
from .ops import lookup

__all__ = ["to_dict", "from_dict", "dumps", "loads", "MXNET_VERSION"]

MXNET_VERSION = 10901          # 1.9.1, as MXNet's MXNET_MAKE_VERSION(1, 9, 1)


# ---------------------------------------------------------------------- graph <-> dict
def to_dict(outputs: Sequence[Entry]) -> Dict[str, Any]:
    """The JSON graph of ``outputs`` as a Python dict (MXNet's field order)."""
    order = post_order([e[0] for e in outputs])
    index = {id(node): i for i, node in enumerate(order)}
    nodes, arg_nodes, row_ptr = [], [], [0]
    for i, node in enumerate(order):
        item: Dict[str, Any] = {"op": node.op_name, "name": node.name}
        if node.attrs:
            item["attrs"] = {k: node.attrs[k] for k in sorted(node.attrs)}
        item["inputs"] = [[index[id(src)], idx, ver] for src, idx, ver in node.inputs]
        nodes.append(item)
        if node.is_variable:
            arg_nodes.append(i)
        row_ptr.append(row_ptr[-1] + node.num_outputs())
    heads = [[index[id(node)], idx, ver] for node, idx, ver in outputs]
    return {"nodes": nodes, "arg_nodes": arg_nodes, "node_row_ptr": row_ptr, "heads": heads,
            "attrs": {"mxnet_version": ["int", MXNET_VERSION]}}


def from_dict(graph: Dict[str, Any], source: str = "JSON") -> List[Entry]:
    """The output entries of a JSON graph (a dict), upgraded as MXNet 1.9.1 upgrades
    files of older versions. An unknown operator is an error naming it and its node."""
    for field in ("nodes", "arg_nodes", "heads"):
        if field not in graph:
            raise ValueError(f"{source}: not an MXNet symbol graph: the field {field!r} is "
                             f"missing (found {sorted(graph)})")
    version = 800                    # files before 0.9 carry no version
    attrs = graph.get("attrs") or {}
    if "mxnet_version" in attrs:
        value = attrs["mxnet_version"]
        version = int(value[1] if isinstance(value, (list, tuple)) else value)
    items = graph["nodes"]
    nodes: List[Node] = []
    for i, item in enumerate(items):
        name = item.get("name")
        if not isinstance(name, str):
            raise ValueError(f"{source}: node {i} has no name")
        op_name = item.get("op", "null")
        node_attrs: Dict[str, str] = {}
        for field in ("attrs", "attr"):
            node_attrs.update({k: _text(v) for k, v in (item.get(field) or {}).items()})
        for k, v in (item.get("param") or {}).items():
            node_attrs.setdefault(k, _text(v))
        op = None if op_name == "null" else lookup(op_name, node=name)
        nodes.append(Node(op, name, node_attrs))
    for i, (item, node) in enumerate(zip(items, nodes)):
        node.inputs = [_entry(e, nodes, source, f"input of node {i} ('{node.name}')")
                       for e in item.get("inputs", [])]
    for nid in graph["arg_nodes"]:
        if not (0 <= nid < len(nodes)) or not nodes[nid].is_variable:
            raise ValueError(f"{source}: arg_nodes lists {nid}, which is not a variable node")
    heads = [_entry(e, nodes, source, "head") for e in graph["heads"]]
    if version < MXNET_VERSION:
        _upgrade(heads, version)
    return heads


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _entry(item, nodes: List[Node], source: str, what: str) -> Entry:
    if not isinstance(item, (list, tuple)) or not 2 <= len(item) <= 3:
        raise ValueError(f"{source}: {what} {item!r} is not [node, index, version]")
    nid, index = int(item[0]), int(item[1])
    if not 0 <= nid < len(nodes):
        raise ValueError(f"{source}: {what} refers to node {nid}, but there are "
                         f"{len(nodes)} nodes")
    return (nodes[nid], index, int(item[2]) if len(item) == 3 else 0)


# --------------------------------------------------------------- legacy upgrades
def _upgrade(heads: List[Entry], version: int) -> None:
    """MXNet's LoadLegacyJSON passes for a file of an older ``version``."""
    order = post_order([e[0] for e in heads])
    for node in order:
        _fix_hidden_keys(node)
    if version < 900:                  # aux variables were not stored before 0.9.0
        for node in order:
            if node.op is None or node.op.variadic:
                continue
            names = node.input_names()
            for i in range(len(node.inputs), len(names)):
                var = Node(None, f"{node.name}_{names[i]}" if node.name else names[i],
                           node.attrs)
                node.inputs.append((var, 0, 0))
    if version < 904:                  # initializers of auto-made variables (0.9.4)
        for node in order:
            if node.op is not None and node.op.var_init:
                for i, (src, _, _) in enumerate(node.inputs):
                    if src.is_variable and i in node.op.var_init and "__init__" not in src.attrs:
                        src.set_attr("__init__", node.op.var_init[i])
    if version < 905:                  # argmax/argmin: axis -1 meant "none" (0.9.5)
        for node in order:
            if node.op_name in ("argmin", "argmax") and node.attrs.get("axis") == "-1":
                del node.attrs["axis"]
                node._params = None


def _fix_hidden_keys(node: Node) -> None:
    """Keys MXNet once wrote bare (``lr_mult``, ``weight_lr_mult``) become hidden
    ``__lr_mult__`` attributes of the node, or of the input variable they name."""
    moved = {}
    for key in list(node.attrs):
        for hidden in HIDDEN_KEYS:
            if key == hidden:
                moved[f"__{hidden}__"] = node.attrs.pop(key)
                break
            if key.endswith("_" + hidden) and len(key) > len(hidden) + 1 and node.op:
                arg = key[:-len(hidden) - 1]
                names = node.input_names()
                if arg in names and names.index(arg) < len(node.inputs):
                    src = node.inputs[names.index(arg)][0]
                    if src.is_variable:
                        src.set_attr(f"__{hidden}__", node.attrs.pop(key))
                break
    for key, value in moved.items():
        node.set_attr(key, value)
    node._params = None


# ------------------------------------------------------------------- text
def loads(text: str, source: str = "JSON") -> List[Entry]:
    """The output entries of MXNet symbol JSON ``text``."""
    try:
        graph = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{source}: not valid JSON: {err}") from None
    if not isinstance(graph, dict):
        raise ValueError(f"{source}: not an MXNet symbol graph (a JSON "
                         f"{type(graph).__name__}, expected an object)")
    return from_dict(graph, source)


class _Writer:
    """dmlc::JSONWriter's layout: ', ' between items, a new line and 2 spaces per level
    in multi-line scopes, the closing bracket on its own line after items."""

    def __init__(self) -> None:
        self.out: List[str] = []
        self.scopes: List[List] = []          # [multi_line, count]

    def separator(self) -> None:
        if not self.scopes or self.scopes[-1][0]:
            self.out.append("\n" + " " * (2 * len(self.scopes)))

    def begin(self, bracket: str, multi_line: bool) -> None:
        self.out.append(bracket)
        self.scopes.append([multi_line, 0])

    def end(self, bracket: str) -> None:
        multi_line, count = self.scopes.pop()
        if multi_line and count:
            self.separator()
        self.out.append(bracket)

    def key(self, key: str) -> None:
        if self.scopes[-1][1]:
            self.out.append(", ")
        self.scopes[-1][1] += 1
        self.separator()
        self.out.append(f'"{key}": ')

    def item(self) -> None:
        if self.scopes[-1][1]:
            self.out.append(", ")
        self.scopes[-1][1] += 1
        self.separator()

    def string(self, s: str) -> None:
        self.out.append('"' + s.replace("\\", "\\\\").replace("\r", "\\r")
                        .replace("\n", "\\n").replace("\t", "\\t").replace('"', '\\"') + '"')

    def number(self, n) -> None:
        self.out.append(str(n))

    def numbers(self, values: Sequence) -> None:
        """A vector of numbers or of [node, index, version] entries (POD items)."""
        self.begin("[", len(values) > 10)
        for v in values:
            self.item()
            if isinstance(v, (list, tuple)):
                self.begin("[", False)
                for x in v:
                    self.item()
                    self.number(x)
                self.end("]")
            else:
                self.number(v)
        self.end("]")

    def string_map(self, mapping: Dict[str, str]) -> None:
        self.begin("{", len(mapping) > 1)
        for k, v in mapping.items():
            self.key(k)
            self.string(v)
        self.end("}")

    def any_value(self, value) -> None:
        """dmlc::any: [type name, value] on one line."""
        type_name, payload = value
        self.begin("[", False)
        self.item()
        self.string(type_name)
        self.item()
        if type_name == "str":
            self.string(payload)
        elif type_name == "list_int":
            self.numbers(payload)
        elif type_name == "list_str":
            self.begin("[", True)
            for s in payload:
                self.item()
                self.string(s)
            self.end("]")
        else:
            self.number(payload)
        self.end("]")


def dumps(graph: Dict[str, Any]) -> str:
    """The JSON text of a graph dict, laid out exactly as MXNet's ``tojson``."""
    w = _Writer()
    w.begin("{", True)
    w.key("nodes")
    w.begin("[", True)
    for node in graph["nodes"]:
        w.item()
        w.begin("{", True)
        w.key("op")
        w.string(node["op"])
        w.key("name")
        w.string(node["name"])
        if node.get("attrs"):
            w.key("attrs")
            w.string_map({k: node["attrs"][k] for k in sorted(node["attrs"])})
        w.key("inputs")
        w.numbers(node["inputs"])
        if node.get("control_deps"):
            w.key("control_deps")
            w.numbers(node["control_deps"])
        w.end("}")
    w.end("]")
    for field in ("arg_nodes", "node_row_ptr", "heads"):
        if field in graph:
            w.key(field)
            w.numbers(graph[field])
    attrs = graph.get("attrs") or {}
    if attrs:
        w.key("attrs")
        w.begin("{", len(attrs) > 1)
        for k, v in attrs.items():
            w.key(k)
            w.any_value(v)
        w.end("}")
    w.end("}")
    return "".join(w.out)

