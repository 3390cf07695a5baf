"""Automatic differentiation (MXNet's ``mxnet.autograd``).

``record()`` turns on recording; operators applied inside become graph
nodes; ``backward``/``grad`` walk the graph back to the variables.
"""
from .state import (STATE, is_recording, is_training, pause, predict_mode, record,  # noqa: F401
                    set_recording, set_training, train_mode)
from .engine import backward, grad, install as _install, mark_variables  # noqa: F401
from .function import Function  # noqa: F401
from ..ndarray.operator import GraphFreedError, NonDifferentiableError  # noqa: F401

_install()

__all__ = ["record", "pause", "train_mode", "predict_mode", "is_recording", "is_training",
           "set_recording", "set_training", "backward", "grad", "mark_variables", "Function",
           "GraphFreedError", "NonDifferentiableError"]
