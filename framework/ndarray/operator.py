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
from .ndarray import Leaf, NDArray, Node

__all__ = ["Operator", "Leaf", "NonDifferentiableError", "GraphFreedError"]


class NonDifferentiableError(RuntimeError):
    """Raised when differentiating an operator that has no gradient rule."""


class GraphFreedError(RuntimeError):
    """Raised when backward runs through a graph that an earlier backward freed."""


def non_differentiable(name: str) -> NonDifferentiableError:
    return NonDifferentiableError(
        f"operator {name} is non-differentiable because it didn't register FGradient attribute.")


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
    n_out = 1
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
        """Run forward on ``inputs`` (NDArrays, or Python scalars as constants)."""
        ctx = None
        datas = []
        needs_grad = False
        for x in inputs:
            if type(x) is NDArray or isinstance(x, NDArray):
                if ctx is None:
                    ctx = x._ctx
                elif x._ctx is not ctx:
                    self._mixed_context_error(inputs)
                if x._node is not None:
                    needs_grad = True
                datas.append(x._data)
            else:
                datas.append(x)
        self.ctx = ctx
        self.xp = ctx.xp
        if ctx.device_id:                # gpu(1), gpu(2), ...: kernels run on that device
            with ctx.scope():
                ys = self.forward(*datas)
        else:
            ys = self.forward(*datas)
        ctx = self.ctx                  # CopyTo changes it to the destination
        if type(ys) is not tuple:
            if ys.ndim == 0:
                ys = self.xp.asarray(ys)   # NumPy returns scalars for 0-d results
            out = NDArray(ys, ctx)
            if self.is_view:
                out._version = inputs[0]._version
                out._version[1] = True
            if needs_grad and STATE.recording:
                self._record(inputs, (out,))
                out._node = self
            return out
        outs = tuple(NDArray(self.xp.asarray(y) if y.ndim == 0 else y, ctx) for y in ys)
        if self.is_view:
            inputs[0]._version[1] = True
            for out in outs:
                out._version = inputs[0]._version
        if needs_grad and STATE.recording:
            self.adopt(inputs, outs)
        return outs

    def adopt(self, inputs, outs) -> None:
        """Become the graph node of the NDArrays ``outs`` computed from ``inputs``."""
        self._record(inputs, outs)
        for i, out in enumerate(outs):
            out._node, out._index = self, i

    def _record(self, inputs, outs) -> None:
        """Become the graph node of ``outs``: keep the edges and what backward reads."""
        parents = []
        for x in inputs:
            node = x._node if isinstance(x, NDArray) else None
            parents.append(None if node is None else (node, x._index))
        self.parents = parents = tuple(parents)
        self.n_out = len(outs)
        if self.n_out > 1:
            self.out_meta = tuple([(o.shape, o._data.dtype) for o in outs])
        # what backward reads, and the versions to check it against
        versions = []
        saves, users = self.saves_inputs, self.input_users
        if saves:
            self.saved_inputs = tuple([inputs[i] for i in saves])
            for k, i in enumerate(saves):
                a = inputs[i]
                if not isinstance(a, NDArray):
                    continue                  # a Python scalar cannot change
                if users is not None and not self.reads_saved_input(k, parents):
                    continue                  # only gradients nobody wants read it
                versions.append((a._version, a._version[0]))
        if self.saves_outputs:
            self.saved_outputs = {i: outs[i]._data for i in self.saves_outputs}
            versions += [(outs[i]._version, outs[i]._version[0]) for i in self.saves_outputs]
        if versions:
            self.versions = versions

    @classmethod
    def reads_saved_input(cls, k: int, edges) -> bool:
        """Whether the k-th input of ``saves_inputs`` is read by a wanted gradient;
        ``edges[j]`` is None for an input whose gradient nobody wants."""
        users = cls.input_users
        if users is None or k >= len(users):
            return True
        return any(edges[j] is not None for j in users[k])

    def wants(self, i: int) -> bool:
        """Whether input ``i`` needs a gradient (call inside ``backward``)."""
        return self.parents[i] is not None

    def constant(self, raw) -> NDArray:
        """Wrap a raw array computed inside ``backward`` as a constant NDArray."""
        return NDArray(raw, self.ctx)

    def output(self, i: int = 0) -> NDArray:
        """Saved output ``i`` as an NDArray still attached to this node."""
        out = NDArray(self.saved_outputs[i], self.ctx)
        out._node, out._index = self, i
        return out

    # ---------------------------------------------------------------- backward
    def check_versions(self) -> None:
        """Raise if an array saved for backward was modified in place since."""
        for cell, version in getattr(self, "versions", ()):
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
    own = ((grad._node, grad._index),) if grad._node is not None else ()
    node.parents = tuple(parents) + own
    out = NDArray(grad._data, grad._ctx)
    out._node = node
    return out
