"""Attribute strings as MXNet 1.x writes and reads them.

An MXNet graph keeps every operator argument as a string: Python's ``str()`` of
the value the script passed (``(3, 3)``, ``True``, ``1e-05``, ``relu``). Loading
turns them back into values for the ``nd`` operators. Variables carry hidden
attributes between double underscores (``__shape__``, ``__dtype__``,
``__init__``, ``__lr_mult__``, ``__wd_mult__``, ``__storage_type__``).
"""
from __future__ import annotations

import ast
import numbers
import re
from typing import Any, Dict, Optional, Tuple

import numpy

__all__ = ["format_value", "parse_value", "is_hidden", "dtype_flag", "dtype_of_flag",
           "parse_shape", "HIDDEN_KEYS"]

# MXNet (mshadow) type flags: the ``__dtype__`` attribute of a variable
_DTYPE_FLAGS = {"float32": 0, "float64": 1, "float16": 2, "uint8": 3, "int32": 4, "int8": 5,
                "int64": 6, "bool": 7, "int16": 8, "uint16": 9, "uint32": 10, "uint64": 11}
_DTYPE_NAMES = {flag: name for name, flag in _DTYPE_FLAGS.items()}
_BFLOAT16_FLAG = 12
STORAGE_TYPES = {"default": 0, "row_sparse": 1, "csr": 2}

# keys MXNet before 0.9 wrote without underscores (legacy_json_util.cc's kHiddenKeys)
HIDDEN_KEYS = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage",
               "profiler_scope")

_LONG_SUFFIX = re.compile(r"(?<=\d)L\b")           # "(3L, 3L)" of Python 2 pickles


def is_hidden(key: str) -> bool:
    """Whether ``key`` is a hidden attribute (``__shape__``), not an operator argument."""
    return len(key) > 4 and key.startswith("__") and key.endswith("__")


def _plain(value):
    """``value`` with NumPy scalars made Python numbers (inside tuples and lists too)."""
    if isinstance(value, (bool, numpy.bool_)):
        return bool(value)
    if isinstance(value, numpy.integer):
        return int(value)
    if isinstance(value, numpy.floating):
        return float(str(value))
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def format_value(key: str, value: Any) -> str:
    """The string MXNet's Python front end stores for argument ``key`` = ``value``:
    ``str(value)`` (``(3, 3)``, ``True``, ``0.3``), a dtype as its name."""
    if isinstance(value, str):
        return value
    if key in ("dtype", "out_dtype") and value is not None:
        try:
            return numpy.dtype(value).name
        except TypeError:
            pass
    if isinstance(value, (numpy.ndarray,)):
        raise TypeError(f"attribute {key!r}: an array is not an operator argument; pass a "
                        f"number, tuple or string")
    return str(_plain(value))


def parse_value(text: str) -> Any:
    """The value of an attribute string: ``'(3, 3)'`` -> (3, 3), ``'True'`` -> True,
    ``'1e-05'`` -> 1e-05, ``'None'`` -> None, ``'inf'`` -> inf; anything else (``'relu'``,
    ``'NCHW'``, ``'float32'``) stays a string."""
    if not isinstance(text, str):
        return text
    s = text.strip()
    if s in ("True", "true"):
        return True
    if s in ("False", "false"):
        return False
    if s in ("None", ""):
        return None if s == "None" else s
    lowered = s.lower()
    if lowered in ("inf", "+inf", "-inf", "nan", "infinity", "-infinity"):
        return float(lowered)
    try:
        value = ast.literal_eval(_LONG_SUFFIX.sub("", s))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    if isinstance(value, (numbers.Number, tuple, list, type(None))):
        return value
    return text


def parse_shape(text: Optional[str], where: str) -> Optional[Tuple[int, ...]]:
    """A ``__shape__`` string ('(32, 0)'; 0 marks an unknown dimension) as a tuple."""
    if text is None:
        return None
    value = parse_value(text)
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{where}: __shape__ attribute {text!r} is not a tuple of ints")
    return tuple(max(int(v), 0) for v in value)        # -1 (NumPy semantics): unknown


def dtype_flag(dtype) -> int:
    """MXNet's type flag of ``dtype`` (float32 -> 0)."""
    name = numpy.dtype(dtype).name
    if name not in _DTYPE_FLAGS:
        raise TypeError(f"dtype {name} has no MXNet type flag; MXNet 1.x knows "
                        f"{', '.join(_DTYPE_FLAGS)}")
    return _DTYPE_FLAGS[name]


def dtype_of_flag(flag, where: str) -> numpy.dtype:
    """The dtype of an MXNet type flag (a ``__dtype__`` string or int)."""
    try:
        flag = int(flag)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: __dtype__ {flag!r} is not an MXNet type flag") from None
    if flag == _BFLOAT16_FLAG:
        return numpy.dtype("float32")        # bfloat16 values are float32 values
    if flag not in _DTYPE_NAMES:
        raise ValueError(f"{where}: __dtype__ {flag} is not an MXNet type flag "
                         f"(0-{_BFLOAT16_FLAG})")
    return numpy.dtype(_DTYPE_NAMES[flag])


def parse_params(attrs: Dict[str, str]) -> Dict[str, Any]:
    """The operator arguments among a node's attributes, as values (hidden keys left out)."""
    return {key: parse_value(value) for key, value in attrs.items() if not is_hidden(key)}
