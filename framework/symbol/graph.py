"""The nodes of a symbolic graph (MXNet's nnvm ``Node`` and ``NodeEntry``).

A ``Node`` is a variable (``op`` None) or an operator applied to input entries.
An entry ``(node, index, version)`` names output ``index`` of ``node``; ``version``
counts, for a variable, the operators composed before that mutate it (BatchNorm's
running statistics), as nnvm's ``UpdateNodeVersion`` does. Attributes are kept as
the strings MXNet keeps (see ``attrs.py``); a node parses its operator arguments
once, on first use.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .attrs import parse_params
from .ops import OpDef

__all__ = ["Node", "Entry", "post_order", "copy_graph", "aux_variables", "update_versions"]

Entry = Tuple["Node", int, int]


class Node:
    """One graph node: ``op`` (an OpDef, None for a variable), ``name``, ``attrs``
    (str -> str) and ``inputs`` (entries)."""

    __slots__ = ("op", "name", "attrs", "inputs", "version", "_params")

    def __init__(self, op: Optional[OpDef], name: str, attrs: Optional[Dict[str, str]] = None,
                 inputs: Optional[List[Entry]] = None) -> None:
        self.op = op
        self.name = name
        self.attrs: Dict[str, str] = dict(attrs or {})
        self.inputs: List[Entry] = list(inputs or [])
        self.version = 0
        self._params = None

    def __repr__(self) -> str:
        return f"Node({self.op.name if self.op else 'null'}, {self.name!r})"

    @property
    def is_variable(self) -> bool:
        return self.op is None

    @property
    def op_name(self) -> str:
        return "null" if self.op is None else self.op.name

    @property
    def params(self) -> dict:
        """The operator arguments as values (hidden ``__x__`` attributes left out)."""
        if self._params is None:
            self._params = parse_params(self.attrs)
        return self._params

    def set_attr(self, key: str, value: str) -> None:
        self.attrs[key] = value
        self._params = None

    def num_outputs(self) -> int:
        """Outputs of MXNet's node, hidden ones included (``node_row_ptr``)."""
        return 1 if self.op is None else self.op.num_outputs(self.params)

    def num_visible(self) -> int:
        return 1 if self.op is None else self.op.num_visible(self.params)

    def output_names(self) -> List[str]:
        """``list_outputs`` names of the visible outputs (``fc1_output``)."""
        if self.op is None:
            return [self.name]
        return [f"{self.name}_{n}" for n in self.op.output_names(self.params)]

    def input_names(self) -> List[str]:
        """The names of the input slots (``data``, ``weight``; ``arg0``... when variadic)."""
        if self.op is None:
            return []
        if self.op.variadic:
            return [f"arg{i}" for i in range(len(self.inputs))]
        return self.op.input_names(self.params)

    def aux_positions(self) -> List[int]:
        """Indices of the inputs that are auxiliary states (mutated by the operator)."""
        if self.op is None or not self.op.aux:
            return []
        return [i for i, n in enumerate(self.input_names()) if n in self.op.aux]


def update_versions(node: "Node") -> None:
    """nnvm's ``UpdateNodeVersion`` for a newly composed ``node``: its variable inputs
    take their variable's version, and each variable it mutates gets a new one."""
    aux = set(node.aux_positions())
    names = node.input_names()
    for i, (src, index, _) in enumerate(node.inputs):
        if i in aux and not src.is_variable:
            raise ValueError(f"operator {node.op.name} (node '{node.name}'): input "
                             f"'{names[i]}' is an auxiliary state the operator updates, so it "
                             f"must be a variable, got output {index} of node '{src.name}' "
                             f"({src.op_name})")
        if src.is_variable:
            if i in aux:
                src.version += 1
            node.inputs[i] = (src, index, src.version)


def post_order(heads: Sequence["Node"]) -> List["Node"]:
    """Every node reachable from ``heads``, each after its inputs (nnvm's DFSVisit order,
    which is the order of MXNet's JSON ``nodes``)."""
    visited = set()
    order: List[Node] = []
    for head in heads:
        if id(head) in visited:
            continue
        visited.add(id(head))
        stack = [[head, 0]]
        while stack:
            top = stack[-1]
            node = top[0]
            if top[1] == len(node.inputs):
                order.append(node)
                stack.pop()
            else:
                child = node.inputs[top[1]][0]
                top[1] += 1
                if id(child) not in visited:
                    visited.add(id(child))
                    stack.append([child, 0])
    return order


def aux_variables(order: Sequence["Node"]) -> set:
    """ids of the variables some operator mutates (the auxiliary states)."""
    aux = set()
    for node in order:
        for i in node.aux_positions():
            aux.add(id(node.inputs[i][0]))
    return aux


def copy_graph(outputs: Sequence[Entry],
               replace: Optional[Dict[int, Entry]] = None,
               bypass: Optional[Callable[["Node"], Optional[List[Entry]]]] = None
               ) -> List[Entry]:
    """A deep copy of the graph behind ``outputs``: new nodes, same names and attributes.

    ``replace``: id(variable node) -> the entry used in its place (composition).
    ``bypass(node)``: for a node to leave out, the entries its outputs become (in the
    copy), else None (``remove_amp_cast``).
    """
    replace = replace or {}
    mapped: Dict[int, List[Entry]] = {}

    def entry(e: Entry) -> Entry:
        node, index, version = e
        if id(node) in replace:
            return replace[id(node)]
        new_node, new_index, new_version = mapped[id(node)][index]
        return (new_node, new_index, version if new_node.is_variable else new_version)

    for node in post_order([e[0] for e in outputs]):
        if id(node) in replace:
            continue
        if bypass is not None and node.op is not None:
            passed = bypass(node)
            if passed is not None:
                mapped[id(node)] = [entry(e) for e in passed]
                continue
        new = Node(node.op, node.name, node.attrs)
        new.version = node.version
        new.inputs = [entry(e) for e in node.inputs]
        if any(id(e[0]) in replace for e in node.inputs):
            update_versions(new)
        mapped[id(node)] = [(new, i, 0) for i in range(max(node.num_outputs(), 1))]
    return [entry(e) for e in outputs]
