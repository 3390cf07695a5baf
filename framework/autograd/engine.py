"""Back-propagation over the recorded graph: ``backward``, ``grad``, ``mark_variables``."""
from __future__ import annotations

import sys
from heapq import heappop, heappush
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


def _freed_error(node) -> "_op.GraphFreedError":
    return _op.GraphFreedError(
        f"backward through operator {node.name} a second time: its graph was freed by an "
        f"earlier backward; pass retain_graph=True to the first backward to keep it")


def _check_head(i: int, head) -> None:
    node = head._node
    if node is None:
        raise RuntimeError(f"head {i} (shape {head.shape}): {_NOT_IN_GRAPH}")
    if node.freed:
        raise _op.GraphFreedError(
            f"head {i} (shape {head.shape}): backward through operator {node.name} a second "
            f"time: the graph was freed by an earlier backward; pass retain_graph=True to keep it")


_UNSEEN = object()       # ``pending.get`` default: the node has not been reached yet


def _run(heads, head_grads, retain_graph: bool, create_graph: bool,
         train_mode: bool) -> Dict[object, "_nd.NDArray"]:
    """Propagate from ``heads``; returns {Leaf node: accumulated gradient, or None for 0}.

    Nodes are visited by decreasing recording number (``seq``): every consumer of a
    node was recorded after it, so it has sent its gradient before the node is
    visited. ``pending`` holds what was sent to each node reached: the gradient (None
    while every path to it was constant) of a one-output node, a list of them for a
    node of several outputs. A node reached only through constant paths passes on
    just that it was reached, so that a variable behind it still gets a zero
    gradient. Variables (``Leaf``) collect their gradients in the result directly.
    """
    if not isinstance(heads, (list, tuple)):
        heads = [heads]
    if head_grads is None:
        head_grads = [None] * len(heads)
    elif not isinstance(head_grads, (list, tuple)):
        head_grads = [head_grads]
    if len(head_grads) != len(heads):
        raise ValueError(f"backward: {len(heads)} heads but {len(head_grads)} head gradients")
    Leaf = _op.Leaf
    pending: Dict[object, object] = {}
    leaf_grads: Dict[object, object] = {}
    queue: List = []                    # heap of (-seq, node): the newest node first
    for i in range(len(heads)):
        head, hg = heads[i], head_grads[i]
        _check_head(i, head)
        ctx = head._ctx
        if hg is None:
            if ctx.device_id:
                with ctx.scope():
                    hg = _nd.NDArray(ctx.xp.ones_like(head._data), ctx)
            else:
                hg = _nd.NDArray(ctx.xp.ones_like(head._data), ctx)
        elif hg.shape != head.shape:
            raise ValueError(f"backward: head gradient {i} has shape {hg.shape}, "
                             f"its head has shape {head.shape}")
        elif hg._ctx is not ctx:
            raise ValueError(f"backward: head gradient {i} is on {hg._ctx}, its head on {ctx}")
        else:           # the caller keeps theirs: a gradient passed through is not taken over
            given, hg = hg, _nd.NDArray(hg._data, ctx)
            hg._node, hg._index = given._node, given._index
        _send(head._node, head._index, hg, pending, leaf_grads, queue)

    old_rec, old_train = STATE.recording, STATE.training
    STATE.recording, STATE.training = create_graph, train_mode
    # The next node to visit is often the one just reached (a chain of operations): it is
    # then carried to the next iteration, with its gradient, past the heap and `pending`.
    carried = carried_g = None
    try:
        while True:
            if carried is not None:
                node, g = carried, carried_g
                carried = None
            elif queue:
                node = heappop(queue)[1]
                g = pending.pop(node)           # one output: its gradient; more: a list
            else:
                break
            parents = node.parents
            # the node's rule (inline: this loop runs once per recorded operation)
            if node.n_out == 1:
                if g is None:                   # reached, but every path was constant
                    _reach(parents, pending, leaf_grads, queue)
                    continue
                versions = node.versions        # what the rule reads, unchanged since?
                if versions:
                    for cell, count in versions:
                        if cell[0] != count:
                            node.check_versions()   # raises, naming the operator
                if node.ctx.device_id:          # gpu(1), ...: raw work in backward runs there
                    with node.ctx.scope():
                        grads_in = node.backward(g)
                else:
                    grads_in = node.backward(g)
            else:
                for gi in g:
                    if gi is not None:
                        break
                else:
                    _reach(parents, pending, leaf_grads, queue)
                    continue
                grads_out = _fill_zeros(node, g)
                if node.versions:
                    node.check_versions()
                with node.ctx.scope():
                    grads_in = node.backward(*grads_out)
            if type(grads_in) is not tuple:
                grads_in = (grads_in,)
            if len(grads_in) != len(parents):
                raise RuntimeError(f"backward of operator {node.name} returned {len(grads_in)} "
                                   f"gradients for {len(parents)} inputs")
            if create_graph and not node.differentiable_backward:
                grads_in = _no_gradients(node, grads_in)
            i = 0
            for edge in parents:
                if edge is not None:
                    parent = edge[0]
                    g = grads_in[i]
                    if type(parent) is Leaf:
                        old = leaf_grads.get(parent, _UNSEEN)
                        if old is _UNSEEN or old is None:
                            leaf_grads[parent] = g
                        elif g is not None:
                            leaf_grads[parent] = old + g
                    elif parent.n_out == 1:
                        if parent is carried:
                            if g is not None:
                                carried_g = g if carried_g is None else carried_g + g
                        else:
                            old = pending.get(parent, _UNSEEN)
                            if old is _UNSEEN:
                                if parent.freed:
                                    raise _freed_error(parent)
                                if carried is None:
                                    carried, carried_g = parent, g
                                else:
                                    pending[parent] = g
                                    heappush(queue, (-parent.seq, parent))
                            elif g is not None:
                                pending[parent] = g if old is None else old + g
                    else:
                        _send(parent, edge[1], g, pending, leaf_grads, queue)
                i += 1
            if not retain_graph:
                node.release()
            if carried is not None and queue and queue[0][0] < -carried.seq:
                # a queued node was recorded later: it goes first, and the carried one waits
                pending[carried] = carried_g
                heappush(queue, (-carried.seq, carried))
                carried = None
    finally:
        STATE.recording, STATE.training = old_rec, old_train
    return leaf_grads


def _send(node, index: int, g, pending, leaf_grads, queue) -> None:
    """Add gradient ``g`` (None: a constant path) of output ``index`` of ``node``."""
    if type(node) is _op.Leaf:
        old = leaf_grads.get(node)
        leaf_grads[node] = g if old is None else old if g is None else old + g
        return
    got = pending.get(node, _UNSEEN)
    if got is _UNSEEN:
        if node.freed:
            raise _freed_error(node)
        got = pending[node] = None if node.n_out == 1 else [None] * node.n_out
        heappush(queue, (-node.seq, node))
    if g is None:
        return
    if node.n_out == 1:
        pending[node] = g if got is None else got + g
    else:
        got[index] = g if got[index] is None else got[index] + g


def _reach(parents, pending, leaf_grads, queue) -> None:
    """Mark the parents of a node whose gradient is zero as reached (no gradient sent)."""
    for edge in parents:
        if edge is not None:
            _send(edge[0], edge[1], None, pending, leaf_grads, queue)


def _fill_zeros(node, grads_out) -> list:
    """The output gradients of a multi-output node, zeros for the outputs given none."""
    ctx = node.ctx
    filled = []
    with ctx.scope():
        for g, (shape, dtype) in zip(grads_out, node.out_meta):
            filled.append(g if g is not None else _nd.NDArray(ctx.xp.zeros(shape, dtype), ctx))
    return filled


def _no_gradients(node, grads_in) -> tuple:
    """Input gradients of a node whose rule is not differentiable, under create_graph:
    tied to it so that differentiating them raises, naming it."""
    tied = []
    for g in grads_in:
        tied.append(None if g is None else _op.no_gradient(node.name, node.parents, g))
    return tuple(tied)


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
        add = var._grad_req == "add"
        if g is None and add:                      # in the graph, but its gradient is 0
            continue
        buf = var._grad
        if g is not None and not add and _takes_over(buf, g):
            pass                                    # grad_req 'write': the common case
        elif var._ctx.device_id:
            with var._ctx.scope():
                _write_gradient(buf._data, g, add)
        else:
            _write_gradient(buf._data, g, add)
        buf._version[0] += 1
        var._fresh_grad = True


def _only_holder() -> int:
    """What ``sys.getrefcount(x._data)`` gives when the NDArray ``x`` holds the only
    reference: measured once, so that no interpreter's counting is assumed."""
    holder = _nd.NDArray(object(), None)
    return sys.getrefcount(holder._data)


_ONLY_HOLDER = _only_holder()


def _takes_over(buf, g) -> bool:
    """Make the fresh gradient array of ``g`` the data of the buffer ``buf`` (grad_req
    'write') instead of copying it, when nothing else can see either: ``g`` holds the
    only reference to its array (``_run`` wraps user head gradients, so theirs count
    twice), the array owns its memory (no view) and matches ``buf``'s type, shape,
    dtype and layout, and no view or other library shares ``buf``'s memory
    (``_version[1]``). PyTorch's AccumulateGrad steals an incoming gradient on the
    same condition (its use count)."""
    if sys.getrefcount(g._data) > _ONLY_HOLDER or buf._version[1]:
        return False
    raw, old = g._data, buf._data
    if type(raw) is not type(old) or raw.base is not None or raw.shape != old.shape \
            or raw.dtype != old.dtype or not raw.flags.c_contiguous:
        return False
    buf._data = raw
    return True


def _write_gradient(raw, g, add: bool) -> None:
    """Write (or add) the gradient ``g`` (None: zero) into the raw buffer ``raw``."""
    if g is None:
        raw[...] = 0
    elif add:
        raw += g._data
    else:
        raw[...] = g._data


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
        node.seq = next(_nd._SEQUENCE)
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
