"""Running a graph with ``framework.nd``: each node's operator called on its inputs'
values, in graph order. Under ``autograd.record()`` this records the gradients as
any ``nd`` code does; ``autograd.is_training()`` decides Dropout and BatchNorm
inside their operators, and BatchNorm's running statistics (auxiliary states) are
updated in place in the arrays given for them.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

from .. import ndarray as _nd
from .graph import Entry, post_order

__all__ = ["run_graph", "Plan"]


class Plan:
    """The order of a graph's nodes and how many times each output is read, worked out
    once for a graph that runs many times (``SymbolBlock``)."""

    def __init__(self, outputs: Sequence[Entry]) -> None:
        self.outputs = list(outputs)
        self.order = post_order([e[0] for e in outputs])
        self.readers: Dict[int, int] = {}
        for node in self.order:
            for src, _, _ in node.inputs:
                self.readers[id(src)] = self.readers.get(id(src), 0) + 1
        for node, _, _ in outputs:
            self.readers[id(node)] = self.readers.get(id(node), 0) + (1 << 20)  # kept


def run_graph(outputs: Sequence[Entry], values: Dict[str, "_nd.NDArray"], ctx=None,
              where: str = "Symbol.eval", F=_nd, plan: "Plan" = None) -> List["_nd.NDArray"]:
    """The values of ``outputs`` given ``values`` (variable name -> NDArray).

    ``ctx``: the context of arrays made from nothing (``_zeros``); default that of
    the first value. Each intermediate result is dropped once its last reader has run.
    A missing variable or a failing operator is an error naming the node. ``plan``:
    ``Plan(outputs)``, when the caller keeps one.
    """
    if plan is None:
        plan = Plan(outputs)
    order = plan.order
    if ctx is None:
        ctx = next((v.context for v in values.values() if hasattr(v, "context")), None)
    readers = dict(plan.readers)
    results: Dict[int, List] = {}
    for node in order:
        if node.is_variable:
            if node.name not in values:
                raise ValueError(f"{where}: the graph's input '{node.name}' has no value; "
                                 f"given: {sorted(values)}")
            results[id(node)] = [values[node.name]]
            continue
        inputs = []
        for src, index, _ in node.inputs:
            outs = results[id(src)]
            if index >= len(outs):
                raise ValueError(f"{where}: node '{node.name}' ({node.op.name}) reads output "
                                 f"{index} of node '{src.name}' ({src.op_name}), which has "
                                 f"{len(outs)} usable output(s)")
            inputs.append(outs[index])
        label = f"{where}: node '{node.name}' (operator {node.op.name})"
        try:
            results[id(node)] = node.op.run(F, inputs, node.params, ctx, label)
        except (ValueError, TypeError, IndexError) as err:
            if str(err).startswith(label):
                raise
            shapes = [tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
                      for x in inputs]
            raise type(err)(f"{label}, inputs of shape {shapes}: {err}") from err
        for src, _, _ in node.inputs:
            readers[id(src)] -= 1
            if readers[id(src)] == 0:
                del results[id(src)]
    return [results[id(node)][index] for node, index, _ in outputs]

