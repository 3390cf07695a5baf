"""``HybridBlock.export``: a block's graph and Parameters in MXNet 1.x's files.

``path-symbol.json``: the graph ``hybrid_forward`` builds with ``F=framework.sym``
(MXNet's JSON, see ``json_format.py``) on variables ``data`` (one input) or
``data0``, ``data1``, ... ``path-%04d.params``: MXNet's binary NDArray-list file
of the Parameters, named ``arg:<name>`` for the graph's arguments and
``aux:<name>`` for its auxiliary states (BatchNorm's running statistics). Real
MXNet 1.9.1 reads both with ``gluon.SymbolBlock.imports``.
"""
from __future__ import annotations

import inspect
import warnings
from collections import OrderedDict
from typing import Dict, List, Tuple

from .. import ndarray as _nd
from .symbol import Group, Symbol, var

__all__ = ["export_block", "export_graph", "block_inputs"]


def block_inputs(block) -> List[Symbol]:
    """The input variables of ``block``'s graph: one per positional input of its
    ``hybrid_forward`` (the arguments after F that are not its Parameters and have no
    default), ``data`` alone or ``data0``, ``data1``, ..."""
    if hasattr(block, "_input_names"):                 # a SymbolBlock keeps its own
        names = list(block._input_names)
        return [var(n) for n in names]
    params = set(getattr(block, "_reg_params", {}))
    signature = inspect.signature(block.hybrid_forward)
    count = 0
    for i, (name, p) in enumerate(signature.parameters.items()):
        if i == 0:                                     # F
            continue
        if p.kind is p.VAR_POSITIONAL or p.kind is p.VAR_KEYWORD:
            break
        if name in params or p.default is not p.empty or p.kind is p.KEYWORD_ONLY:
            continue
        count += 1
    count = max(count, 1)
    return [var("data")] if count == 1 else [var(f"data{i}") for i in range(count)]


def _flatten(out) -> List[Symbol]:
    if isinstance(out, Symbol):
        return [out]
    if isinstance(out, (list, tuple)):
        return [s for item in out for s in _flatten(item)]
    raise TypeError(f"export: hybrid_forward with F=framework.sym returned "
                    f"{type(out).__name__}, expected Symbols")


def export_graph(graph: Symbol, params: Dict[str, "_nd.NDArray"], path, epoch: int = 0,
                 remove_amp_cast: bool = True) -> Tuple[str, str]:
    """Write ``graph`` to ``path-symbol.json`` and ``params`` (name -> NDArray) to
    ``path-%04d.params`` as ``arg:``/``aux:`` entries; returns the two file names.
    Parameters the graph does not read are left out, with a warning (MXNet's
    ``SymbolBlock.imports`` would refuse a file holding them)."""
    arguments = set(graph.list_arguments())
    auxiliary = set(graph.list_auxiliary_states())
    arrays: "OrderedDict[str, _nd.NDArray]" = OrderedDict()
    unused = []
    for name, array in params.items():
        if name in arguments:
            arrays[f"arg:{name}"] = array
        elif name in auxiliary:
            arrays[f"aux:{name}"] = array
        else:
            unused.append(name)
    if unused:
        warnings.warn(f"export('{path}'): Parameters {unused} are not used by the graph and "
                      f"are not written", stacklevel=3)
    symbol_file = f"{path}-symbol.json"
    params_file = "%s-%04d.params" % (path, epoch)
    graph.save(symbol_file, remove_amp_cast=remove_amp_cast)
    _nd.save(params_file, arrays, format="mxnet")
    return symbol_file, params_file


def export_block(block, path, epoch: int = 0, remove_amp_cast: bool = True) -> Tuple[str, str]:
    """``block.export(path, epoch)``: trace the block with Symbol inputs (its
    ``forward``, as MXNet's export uses the block's graph, not its hooks), then write
    the graph and the Parameters' data (``export_graph``)."""
    inputs = block_inputs(block)
    graph = Group(_flatten(block.forward(*inputs)))
    params = OrderedDict()
    for name, param in block.collect_params().items():
        try:
            params[name] = param._reduce()
        except RuntimeError as err:
            raise RuntimeError(f"export('{path}'): Parameter '{name}' has no data: {err}; "
                               f"initialize the block (and run it once if its shapes are "
                               f"deferred) before export") from None
    return export_graph(graph, params, path, epoch, remove_amp_cast)
