"""`Operator`: one recorded operation, its forward and its gradient side by side.

An operator's ``forward`` runs on raw arrays (NumPy, CuPy) of one context and
returns a raw array or a tuple of them. Its ``backward`` receives the output
gradients as NDArrays and returns one gradient (NDArray or None) per input,
written with NDArray operations: recorded again under ``create_graph``, the
same rule gives second and higher derivatives (Chainer's FunctionNode design).

Applied while recording, the instance becomes a graph node. It keeps only
what backward needs: the parents' edges, the inputs named in ``saves_inputs``,
the raw outputs named in ``saves_outputs``, and their version numbers, which
backward checks so that an in-place write to a saved array raises instead of
yielding a wrong gradient.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

from .._flags import STATE
from .ndarray import _SEQUENCE, Leaf, NDArray, Node

__all__ = ["Operator", "Leaf", "NonDifferentiableError", "GraphFreedError"]


class NonDifferentiableError(RuntimeError):
    """Raised when differentiating an operator that has no gradient rule."""


class GraphFreedError(RuntimeError):
    """Raised when backward runs through a graph that an earlier backward freed."""


def non_differentiable(name: str) -> NonDifferentiableError:
    return NonDifferentiableError(
        f"operator {name} is non-differentiable because it didn't register FGradient attribute.")


# _ALL_OF[n]: the indices of all n inputs, (0, ..., n - 1)
_ALL_OF = tuple(tuple(range(n)) for n in range(9))

# (call, constant, output): how a HybridBlock's trace takes over ``__call__``,
# ``constant`` and ``output`` while ``STATE.capturing`` is set; installed by cached_op.py
_capture_hooks = None


class Operator(Node):
    """Base class of every operator; subclasses set ``name`` and the two rules.

    Class attributes:
      name            the operator's name in errors (MXNet's name where it has one)
      saves_inputs    indices of inputs backward reads (``self.saved_inputs``)
      saves_outputs   indices of outputs backward reads (``self.output(i)``)
      input_users     optional; for each entry of ``saves_inputs``, the inputs whose
                      gradient reads it. A saved input that no wanted gradient reads
                      is not version-checked, so writing it in place stays allowed
                      (``a *= 2`` under record: multiply needs ``a`` only for 2's gradient)
      is_view         outputs share memory, and so version, with input 0
      zero_grad       outputs are piecewise constant: the gradient is zero (as MXNet)
    """

    name = "operator"
    saves_inputs: Tuple[int, ...] = ()
    saves_outputs: Tuple[int, ...] = ()
    input_users: Optional[Tuple[Tuple[int, ...], ...]] = None
    is_view = False
    zero_grad = False
    differentiable_backward = True

    # set while applying (xp, ctx) and when recorded (the rest)
    xp: Any
    ctx: Any
    parents: Optional[Tuple] = None
    saved_inputs: Tuple = ()
    versions: Any = ()          # [(version cell, count when saved)] of what backward reads
    n_out = 1
    seq = 0                     # recording order: a node's parents were recorded before it
    freed = False

    def forward(self, *xs):
        """Raw arrays in, a raw array (or tuple of them) out."""
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, *grad_outputs: NDArray):
        """Output gradients in, one input gradient (or None) per input out."""
        if self.zero_grad:
            return (None,) * len(self.parents)     # constant almost everywhere: gradient 0
        raise non_differentiable(self.name)

    # ------------------------------------------------------------------ apply
    def __call__(self, *inputs):
        """Run forward on ``inputs`` (NDArrays, or Python scalars as constants). An
        operator given no NDArray runs on the ``ctx`` set at its construction (a
        sampler: ``random._Draw``)."""
        if STATE.capturing:              # a hybridized block is tracing (cached_op.py)
            return _capture_hooks[0](self, inputs)
        if len(inputs) == 1 and type(inputs[0]) is NDArray:
            x = inputs[0]                # one array: the common case, without the loop
            ctx = x._ctx
            self.ctx = ctx
            self.xp = ctx.xp
            if ctx.device_id:            # gpu(1), gpu(2), ...: kernels run on that device
                with ctx.scope():
                    ys = self.forward(x._data)
            else:
                ys = self.forward(x._data)
            node = x._node
            # the edge to the input's node, when this call is recorded
            parents = ((node, x._index),) if node is not None and STATE.recording else None
        elif len(inputs) == 2 and type(inputs[0]) is NDArray and type(inputs[1]) is NDArray \
                and inputs[0]._ctx is inputs[1]._ctx:
            a, b = inputs                # two arrays on one context: the other common case
            ctx = a._ctx
            self.ctx = ctx
            self.xp = ctx.xp
            if ctx.device_id:
                with ctx.scope():
                    ys = self.forward(a._data, b._data)
            else:
                ys = self.forward(a._data, b._data)
            node_a, node_b = a._node, b._node
            if (node_a is not None or node_b is not None) and STATE.recording:
                parents = (None if node_a is None else (node_a, a._index),
                           None if node_b is None else (node_b, b._index))
            else:
                parents = None
        else:
            ctx = None
            datas = []
            edges = [] if STATE.recording else None   # one edge (node, index) or None per input
            parents = None
            for x in inputs:
                if isinstance(x, NDArray):
                    if ctx is None:
                        ctx = x._ctx
                    elif x._ctx is not ctx:
                        self._mixed_context_error(inputs)
                    datas.append(x._data)
                    if edges is not None:
                        node = x._node
                        if node is None:
                            edges.append(None)
                        else:
                            edges.append((node, x._index))
                            parents = edges      # some input needs a gradient: recorded
                else:
                    datas.append(x)
                    if edges is not None:
                        edges.append(None)
            if ctx is None:              # no array input: the context it was made for
                ctx = self.__dict__.get("ctx")
                if ctx is None:
                    raise TypeError(f"operator {self.name}: needs an NDArray input or a "
                                    f"context, got {[type(x).__name__ for x in inputs]}")
            self.ctx = ctx
            self.xp = ctx.xp
            if ctx.device_id:
                with ctx.scope():
                    ys = self.forward(*datas)
            else:
                ys = self.forward(*datas)
            if parents is not None:
                parents = tuple(parents)
        ctx = self.ctx                  # CopyTo changes it (and xp) to the destination
        if type(ys) is not tuple:
            if ys.ndim == 0:
                ys = self.xp.asarray(ys)   # NumPy returns scalars for 0-d results
            out = NDArray(ys, ctx)
            if self.is_view:
                out._version = version = inputs[0]._version
                version[1] = True
            if parents is not None:
                self._record(inputs, (out,), parents)
                out._node = self
            return out
        outs = []
        xp = self.xp
        for y in ys:
            outs.append(NDArray(xp.asarray(y) if y.ndim == 0 else y, ctx))
        outs = tuple(outs)
        if self.is_view:
            version = inputs[0]._version
            version[1] = True
            for out in outs:
                out._version = version
        if parents is not None:
            self._record(inputs, outs, parents)
            i = 0
            for out in outs:
                out._node, out._index = self, i
                i += 1
        return outs

    def adopt(self, inputs, outs) -> None:
        """Become the graph node of the NDArrays ``outs`` computed from ``inputs``."""
        inputs = tuple(inputs)
        parents = []
        for x in inputs:
            node = x._node if isinstance(x, NDArray) else None
            parents.append(None if node is None else (node, x._index))
        self._record(inputs, outs, tuple(parents))
        i = 0
        for out in outs:
            out._node, out._index = self, i
            i += 1

    def _record(self, inputs, outs, parents: Tuple) -> None:
        """Become the graph node of ``outs`` with edges ``parents``; keep what backward
        reads and its versions. Plain loops: this runs once per recorded operation."""
        self.parents = parents
        self.seq = next(_SEQUENCE)
        if len(outs) > 1:
            self.n_out = len(outs)
            meta = []
            for o in outs:
                meta.append((o._data.shape, o._data.dtype))
            self.out_meta = tuple(meta)
        saves = self.saves_inputs
        versions = None
        if saves:
            # the inputs tuple itself when backward reads all of them (no new tuple)
            n = len(inputs)
            if n < len(_ALL_OF) and saves == _ALL_OF[n]:
                saved = inputs
            else:
                saved = tuple([inputs[i] for i in saves])
            self.saved_inputs = saved
            users = self.input_users
            k = 0
            for a in saved:
                # a Python scalar cannot change; an input that only unwanted gradients
                # read is not checked (so writing it in place stays allowed)
                if isinstance(a, NDArray):
                    if users is not None and k < len(users):
                        for j in users[k]:
                            if parents[j] is not None:
                                break
                        else:
                            k += 1
                            continue
                    if versions is None:
                        versions = []
                    versions.append((a._version, a._version[0]))
                k += 1
        saves = self.saves_outputs
        if saves:
            saved = {}
            if versions is None:
                versions = []
            for i in saves:
                o = outs[i]
                saved[i] = o._data
                versions.append((o._version, o._version[0]))
            self.saved_outputs = saved
        if versions is not None:
            self.versions = versions

    @classmethod
    def reads_saved_input(cls, k: int, edges) -> bool:
        """Whether the k-th input of ``saves_inputs`` is read by a wanted gradient;
        ``edges[j]`` is None for an input whose gradient nobody wants."""
        users = cls.input_users
        if users is None or k >= len(users):
            return True
        for j in users[k]:
            if edges[j] is not None:
                return True
        return False

    def wants(self, i: int) -> bool:
        """Whether input ``i`` needs a gradient (call inside ``backward``)."""
        return self.parents[i] is not None

    def constant(self, raw) -> NDArray:
        """Wrap a raw array computed inside ``backward`` as a constant NDArray."""
        if STATE.capturing:
            return _capture_hooks[1](self, raw)
        return NDArray(raw, self.ctx)

    def output(self, i: int = 0) -> NDArray:
        """Saved output ``i`` as an NDArray still attached to this node."""
        if STATE.capturing:
            return _capture_hooks[2](self, i)
        out = NDArray(self.saved_outputs[i], self.ctx)
        out._node, out._index = self, i
        return out

    # ---------------------------------------------------------------- backward
    def check_versions(self) -> None:
        """Raise if an array saved for backward was modified in place since."""
        for cell, version in self.versions:
            if cell[0] != version:
                raise RuntimeError(
                    f"backward of operator {self.name}: an array it saved for the gradient "
                    f"was modified in place after it was used (version {version} -> {cell[0]}); "
                    f"use an out-of-place operation, or .copy() before writing")

    def release(self) -> None:
        """Drop what backward needed; a later backward through here raises."""
        self.parents = None
        self.saved_inputs = ()
        self.saved_outputs = None
        self.versions = ()
        self.freed = True

    def _mixed_context_error(self, inputs):
        ctxs = [str(x.context) for x in inputs if isinstance(x, NDArray)]
        shapes = [x.shape for x in inputs if isinstance(x, NDArray)]
        raise ValueError(f"operator {self.name}: inputs live on different contexts {ctxs} "
                         f"(shapes {shapes}); move them with as_in_context() first")

    def __repr__(self) -> str:
        return f"<Operator {self.name}>"


class _NoGradient(Operator):
    """Marks a gradient computed by a rule that cannot be differentiated again."""

    def __init__(self, name: str) -> None:
        self.name = name


def no_gradient(name: str, parents: Tuple, grad: NDArray) -> NDArray:
    """``grad`` tied to ``parents`` so that differentiating it raises, naming ``name``."""
    node = _NoGradient(name)
    node.ctx = grad._ctx
    node.seq = next(_SEQUENCE)
    own = ((grad._node, grad._index),) if grad._node is not None else ()
    node.parents = tuple(parents) + own
    out = NDArray(grad._data, grad._ctx)
    out._node = node
    return out
