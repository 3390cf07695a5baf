"""`Function`: a user-defined operator with hand-written forward and backward."""
from __future__ import annotations

from ..ndarray.ndarray import NDArray
from ..ndarray.operator import Operator
from .._flags import STATE

__all__ = ["Function"]


class _FunctionNode(Operator):
    """The graph node of one ``Function`` call; its gradient is not differentiable."""

    differentiable_backward = False

    def __init__(self, function: "Function") -> None:
        self.function = function
        self.name = type(function).__name__

    def backward(self, *grad_outputs):
        old = STATE.recording
        STATE.recording = False
        try:
            grads = self.function.backward(*grad_outputs)
        finally:
            STATE.recording = old
        grads = grads if isinstance(grads, (list, tuple)) else (grads,)
        if len(grads) != len(self.parents):
            raise RuntimeError(
                f"{self.name}.backward must return exactly as many gradients as forward "
                f"took NDArray inputs: expected {len(self.parents)}, got {len(grads)}")
        for i, g in enumerate(grads):
            if self.parents[i] is None:
                continue
            if not isinstance(g, NDArray):
                raise TypeError(f"{self.name}.backward: gradient {i} must be an NDArray, "
                                f"got {type(g).__name__}")
            if g.shape != self.in_shapes[i]:
                raise ValueError(f"{self.name}.backward: gradient {i} has shape {g.shape}, "
                                 f"but input {i} of forward has shape {self.in_shapes[i]}")
        # the engine gets its own NDArrays: an array the Function keeps (a constant
        # gradient, say) is then never taken over as a ``.grad`` buffer
        return tuple(_share(g) if isinstance(g, NDArray) else g for g in grads)


def _share(array: NDArray) -> NDArray:
    out = NDArray(array._data, array._ctx)
    out._version = array._version
    return out


class Function:
    """Subclass and define ``forward(*inputs)`` and ``backward(*output_grads)``.

    Both take and return NDArrays; ``forward`` runs without recording, and can
    keep what ``backward`` needs with ``save_for_backward``. An instance may be
    called once.

        class Sigmoid(autograd.Function):
            def forward(self, x):
                y = 1 / (1 + nd.exp(-x))
                self.save_for_backward(y)
                return y
            def backward(self, dy):
                y, = self.saved_tensors
                return dy * y * (1 - y)
    """

    def __init__(self) -> None:
        self._used = False
        self.saved_tensors = ()

    def save_for_backward(self, *args) -> None:
        self.saved_tensors = args

    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def backward(self, *output_grads):
        raise NotImplementedError(f"{type(self).__name__} must define backward")

    def __call__(self, *inputs):
        if self._used:
            raise RuntimeError(f"each Function instance can only be called once; create a new "
                               f"{type(self).__name__}() for every call")
        self._used = True
        for i, x in enumerate(inputs):
            if not isinstance(x, NDArray):
                raise TypeError(f"{type(self).__name__}: input {i} must be an NDArray, "
                                f"got {type(x).__name__}")
        old = STATE.recording
        STATE.recording = False
        try:
            outputs = self.forward(*inputs)
        finally:
            STATE.recording = old
        single = isinstance(outputs, NDArray)
        outputs = (outputs,) if single else tuple(outputs) \
            if isinstance(outputs, (list, tuple)) else (outputs,)
        for i, o in enumerate(outputs):
            if not isinstance(o, NDArray):
                raise TypeError(f"{type(self).__name__}.forward must return an NDArray or a "
                                f"tuple of NDArrays; output {i} is {type(o).__name__}")
        # fresh arrays sharing the data (and version), so an input returned as is keeps
        # its own history
        outputs = tuple(_share(o) for o in outputs)
        if STATE.recording and any(x._node is not None for x in inputs):
            node = _FunctionNode(self)
            node.ctx = inputs[0]._ctx
            node.in_shapes = tuple(x.shape for x in inputs)
            node.adopt(inputs, outputs)
            saved = [t for t in self.saved_tensors if isinstance(t, NDArray)]
            if saved:
                node.versions = [(t._version, t._version[0]) for t in saved]
        return outputs[0] if single else outputs
