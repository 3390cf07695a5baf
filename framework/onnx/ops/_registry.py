"""The table of converters: MXNet operator name -> function(NodeContext) -> outputs.

A converter returns the ONNX tensor name of the node's output, or a list of names,
one per MXNet output index (None for an output that is not exported).
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Union

from .._graph import NodeContext

Outputs = Union[str, List[Optional[str]]]
Converter = Callable[[NodeContext], Outputs]

CONVERTERS: Dict[str, Converter] = {}


def register(*op_names: str) -> Callable[[Converter], Converter]:
    """Register the decorated function as the converter of each MXNet ``op_names``."""
    def wrap(function: Converter) -> Converter:
        for name in op_names:
            if name in CONVERTERS:
                raise RuntimeError(f"two ONNX converters for MXNet operator {name}")
            CONVERTERS[name] = function
        return function
    return wrap
