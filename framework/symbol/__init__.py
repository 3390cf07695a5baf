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
namespace's functions), ``random`` and ``linalg`` (``sym.random``, ``sym.linalg``),
``naming`` (automatic node names), ``trace`` and ``export`` (blocks to graphs and
files).
"""
from .symbol import AttrScope, Group, Symbol, Variable, load, load_json, var  # noqa: F401
from .ops import UnknownOperatorError, known_ops  # noqa: F401
from . import functions as _functions
from . import linalg, random  # noqa: F401  (mx.sym.linalg, mx.sym.random)

globals().update(_functions.FUNCTIONS)
_functions.install_methods()
# MXNet 1.x's top-level names of the samplers: sym.random_uniform, ..., sym.uniform, sym.normal
_SAMPLER_NAMES = {f"random_{n}": getattr(random, n) for n in random.__all__ if "_like" not in n}
_SAMPLER_NAMES.update(uniform=random.uniform, normal=random.normal)
globals().update(_SAMPLER_NAMES)

__all__ = ["Symbol", "var", "Variable", "Group", "load", "load_json", "AttrScope",
           "UnknownOperatorError", "known_ops", "random", "linalg"] \
    + sorted(_functions.FUNCTIONS) + sorted(_SAMPLER_NAMES)
