"""Building a block's graph: ``hybrid_forward`` called with ``F=framework.sym``.

``block_scope(prefix)`` is what MXNet's ``with block.name_scope():`` does around a
symbolic ``hybrid_forward``: operator nodes made inside are named after the
block's prefix (``dense0_fwd``), and every Parameter met during the outermost
call becomes one variable (``parameter_var``), so a Parameter shared by several
blocks is one input of the graph.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Tuple

from .naming import prefix_scope
from .symbol import Symbol, var

__all__ = ["block_scope", "parameter_var"]


class _Trace(threading.local):
    def __init__(self) -> None:
        self.depth = 0
        self.variables: Optional[Dict[int, Tuple[object, Symbol]]] = None


_TRACE = _Trace()


@contextmanager
def block_scope(prefix: str) -> Iterator[None]:
    """The scope of one block's symbolic ``hybrid_forward`` (see the module docstring);
    a block made with ``prefix=''`` passes '' and names its nodes in its parent's scope."""
    outermost = _TRACE.depth == 0
    if outermost:
        _TRACE.variables = {}
    _TRACE.depth += 1
    try:
        with prefix_scope(prefix):
            yield
    finally:
        _TRACE.depth -= 1
        if outermost:
            _TRACE.variables = None


def parameter_var(param) -> Symbol:
    """The variable of a Parameter (MXNet's ``Parameter.var()``): named by the
    Parameter, with its shape (0 for unknown dimensions), dtype, initializer,
    ``lr_mult``, ``wd_mult`` and dense storage as hidden attributes. One variable per
    Parameter within a block call."""
    variables = _TRACE.variables
    if variables is not None and id(param) in variables:
        return variables[id(param)][1]
    symbol = var(param.name, shape=param.shape, dtype=param.dtype, lr_mult=param.lr_mult,
                 wd_mult=param.wd_mult, init=param.init, stype="default")
    if variables is not None:
        variables[id(param)] = (param, symbol)        # the Parameter is kept: ids stay unique
    return symbol
