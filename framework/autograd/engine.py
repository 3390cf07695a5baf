"""Back-propagation over the recorded graph: ``backward``, ``grad``, ``mark_variables``."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Union

from ..ndarray import ndarray as _nd, operator as _op
from .._flags import STATE

__all__ = ["backward", "grad", "mark_variables"]

NDArrayOrList = Union["_nd.NDArray", Sequence["_nd.NDArray"]]

_NOT_IN_GRAPH = ("Cannot differentiate node because it is not in a computational graph. "
                 "You need to set is_recording to true or use autograd.record() to save "
                 "computational graphs for backward.")


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def mark_variables(variables: NDArrayOrList, gradients: NDArrayOrList,
                   grad_reqs: Union[str, Sequence[str]] = "write") -> None:
    """Make ``variables`` leaves of the graph whose gradients go into ``gradients``."""
    variables, gradients = _as_list(variables), _as_list(gradients)
    reqs = [grad_reqs] * len(variables) if isinstance(grad_reqs, str) else list(grad_reqs)
    if not len(variables) == len(gradients) == len(reqs):
        raise ValueError(f"mark_variables: got {len(variables)} variables, {len(gradients)} "
                         f"gradients and {len(reqs)} grad_reqs; expected equal numbers")
    for i, (var, buf, req) in enumerate(zip(variables, gradients, reqs)):
        if buf.shape != var.shape:
            raise ValueError(f"mark_variables: gradient {i} has shape {buf.shape}, "
                             f"variable has shape {var.shape}")
        if req != "null" and buf._data.dtype.kind != "f":
            raise TypeError(f"mark_variables: gradient buffer {i} is {buf._data.dtype}; "
                            f"gradients need a floating-point buffer (it would truncate them)")
        var.attach_grad(req)
        if req != "null":
            var._grad = buf


def _topological_order(roots) -> list:
    """Nodes reachable from ``roots``, each before every node it depends on."""
    order, seen = [], set()
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root.parents))]
        while stack:
            node, parents = stack[-1]
            for edge in parents:
                if edge is not None and edge[0] not in seen:
                    parent = edge[0]
                    if parent.freed:
                        raise _op.GraphFreedError(
                            f"backward through operator {parent.name} a second time: its graph "
                            f"was freed by an earlier backward; pass retain_graph=True to the "
                            f"first backward to keep it")
                    seen.add(parent)
                    stack.append((parent, iter(parent.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def _check_head(i: int, head) -> None:
    node = head._node
    if node is None:
        raise RuntimeError(f"head {i} (shape {head.shape}): {_NOT_IN_GRAPH}")
    if node.freed:
        raise _op.GraphFreedError(
            f"head {i} (shape {head.shape}): backward through operator {node.name} a second "
            f"time: the graph was freed by an earlier backward; pass retain_graph=True to keep it")


def _run(heads, head_grads, retain_graph: bool, create_graph: bool,
         train_mode: bool) -> Dict[object, "_nd.NDArray"]:
    """Propagate from ``heads``; returns {Leaf node: accumulated gradient, or None for 0}."""
    heads = _as_list(heads)
    if head_grads is None:
        head_grads = [None] * len(heads)
    head_grads = _as_list(head_grads)
    if len(head_grads) != len(heads):
        raise ValueError(f"backward: {len(heads)} heads but {len(head_grads)} head gradients")
    pending: Dict[object, List] = {}
    for i, (head, hg) in enumerate(zip(heads, head_grads)):
        _check_head(i, head)
        if hg is None:
            with head._ctx.scope():
                hg = _nd.NDArray(head._ctx.xp.ones_like(head._data), head._ctx)
        elif hg.shape != head.shape:
            raise ValueError(f"backward: head gradient {i} has shape {hg.shape}, "
                             f"its head has shape {head.shape}")
        elif hg._ctx is not head._ctx:
            raise ValueError(f"backward: head gradient {i} is on {hg._ctx}, its head on {head._ctx}")
        slot = pending.setdefault(head._node, [None] * head._node.n_out)
        slot[head._index] = hg if slot[head._index] is None else slot[head._index] + hg

    leaf_grads = {}
    old_rec, old_train = STATE.recording, STATE.training
    STATE.recording, STATE.training = create_graph, train_mode
    try:
        for node in _topological_order(list(pending)):
            grads_out = pending.pop(node, None)
            if grads_out is None:                  # reached, but every path was constant
                if type(node) is _op.Leaf:
                    leaf_grads.setdefault(node, None)
                continue
            if type(node) is _op.Leaf:
                leaf_grads[node] = grads_out[0]
                continue
            grads_in = _backward_node(node, grads_out, create_graph)
            for edge, g in zip(node.parents, grads_in):
                if edge is None or g is None:
                    continue
                parent, index = edge
                slot = pending.get(parent)
                if slot is None:
                    slot = pending[parent] = [None] * parent.n_out
                slot[index] = g if slot[index] is None else slot[index] + g
            if not retain_graph:
                node.release()
    finally:
        STATE.recording, STATE.training = old_rec, old_train
    return leaf_grads


def _backward_node(node, grads_out, create_graph: bool):
    node.check_versions()
    if node.n_out > 1:
        with node.ctx.scope():
            grads_out = [g if g is not None else
                         _nd.NDArray(node.ctx.xp.zeros(shape, dtype), node.ctx)
                         for g, (shape, dtype) in zip(grads_out, node.out_meta)]
    if node.ctx.device_id:              # gpu(1), ...: raw work in backward runs there
        with node.ctx.scope():
            grads_in = node.backward(*grads_out)
    else:
        grads_in = node.backward(*grads_out)
    if type(grads_in) is not tuple:
        grads_in = (grads_in,)
    if len(grads_in) != len(node.parents):
        raise RuntimeError(f"backward of operator {node.name} returned {len(grads_in)} "
                           f"gradients for {len(node.parents)} inputs")
    if create_graph and not node.differentiable_backward:
        grads_in = tuple(None if g is None else _op.no_gradient(node.name, node.parents, g)
                         for g in grads_in)
    return grads_in


def backward(heads: NDArrayOrList, head_grads=None, retain_graph: bool = False,
             train_mode: bool = True) -> None:
    """Compute gradients of ``heads`` and write (or add) them into the variables' ``.grad``.

    A head that is not a scalar counts as ``sum(head)`` unless its ``head_grads``
    entry gives the gradient to start from.
    """
    leaf_grads = _run(heads, head_grads, retain_graph, False, train_mode)
    for leaf, g in leaf_grads.items():
        var = leaf.array_ref()
        if var is None or var._grad is None or var._node is not leaf:
            continue
        if g is None and var._grad_req == "add":   # in the graph, but its gradient is 0
            continue
        buf = var._grad
        with var._ctx.scope():
            if g is None:
                buf._data[...] = 0
            elif var._grad_req == "add":
                buf._data += g._data
            else:
                buf._data[...] = g._data
        buf._version[0] += 1
        var._fresh_grad = True


def grad(heads: NDArrayOrList, variables: NDArrayOrList, head_grads=None,
         retain_graph: Optional[bool] = None, create_graph: bool = False,
         train_mode: bool = True) -> List["_nd.NDArray"]:
    """Gradients of ``heads`` with respect to ``variables``, returned as a list.

    ``.grad`` buffers are left alone. With ``create_graph=True`` the gradient
    computation is itself recorded, so the results can be differentiated again.
    ``retain_graph`` defaults to ``create_graph``.
    """
    variables = _as_list(variables)
    for i, var in enumerate(variables):
        if type(var._node) is not _op.Leaf:
            raise ValueError(
                f"grad: variable {i} (shape {var.shape}) has no gradient buffer; "
                f"call attach_grad() on it before autograd.record()")
    if retain_graph is None:
        retain_graph = create_graph
    leaf_grads = _run(heads, head_grads, retain_graph, create_graph, train_mode)
    results = []
    for var in variables:
        g = leaf_grads.get(var._node)
        if g is None:
            with var._ctx.scope():
                g = _nd.NDArray(var._ctx.xp.zeros_like(var._data), var._ctx)
        elif g._data.dtype != var._data.dtype:      # a wider operand's gradient (float16 * float32)
            g = g.astype(var._data.dtype)
        if create_graph and g._node is None:
            g = _ConstantGradient.tie(g, variables)
        results.append(g)
    return results


class _ConstantGradient(_op.Operator):
    """A gradient that does not depend on the variables (d(2x)/dx = 2), tied to them so
    that differentiating it again gives zeros, as in MXNet, instead of an error."""

    name = "constant_gradient"
    zero_grad = True

    @classmethod
    def tie(cls, g: "_nd.NDArray", variables) -> "_nd.NDArray":
        node = cls()
        node.ctx = g._ctx
        node.parents = tuple((v._node, 0) for v in variables)
        out = _nd.NDArray(g._data, g._ctx)
        out._node = node
        return out


def _ndarray_backward(self, out_grad: Optional["_nd.NDArray"] = None,
                      retain_graph: bool = False, train_mode: bool = True) -> None:
    """Back-propagate from this array into the ``.grad`` of the variables."""
    backward([self], None if out_grad is None else [out_grad], retain_graph, train_mode)


def install() -> None:
    """Give NDArray its ``backward`` method (``framework.autograd`` calls this once)."""
    _ndarray_backward.__name__ = "backward"
    _nd.NDArray.backward = _ndarray_backward
