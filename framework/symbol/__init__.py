"""``framework.sym`` (``framework.symbol``): MXNet 1.x's symbolic API.

``sym.var``/``Variable``, ``sym.Group``, the operators on Symbols under MXNet's names
and arguments (``sym.FullyConnected``, ``sym.Convolution``, ``sym.relu``,
``sym.concat``, ``x + 1``, ...), ``sym.load``/``load_json`` and ``Symbol.tojson``/
``save`` in MXNet's JSON format, ``infer_shape``/``infer_type``, and the listing
methods. A HybridBlock called on a Symbol runs its ``hybrid_forward`` with
``F=framework.sym`` and gives the Symbol of its graph, which ``export`` writes.

The modules: ``symbol`` (the Symbol class), ``ops`` (the operator table),
``shape`` (shape and dtype inference), ``json_format`` (MXNet's JSON),
``executor`` (running a graph with ``framework.nd``), ``functions`` (this
namespace's functions), ``naming`` (automatic node names), ``trace`` and
``export`` (blocks to graphs and files).
"""
from .symbol import AttrScope, Group, Symbol, Variable, load, load_json, var  # noqa: F401
from .ops import UnknownOperatorError, known_ops  # noqa: F401
from . import functions as _functions

globals().update(_functions.FUNCTIONS)
_functions.install_methods()

__all__ = ["Symbol", "var", "Variable", "Group", "load", "load_json", "AttrScope",
           "UnknownOperatorError", "known_ops"] + sorted(_functions.FUNCTIONS)
