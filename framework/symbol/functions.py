"""The functions of ``framework.sym``, one per operator name MXNet's ``mx.sym`` has.

Each takes the arguments of the ``framework.nd`` function of the same name (which
follows MXNet's signature), plus ``name`` and ``attr``, and adds a node of the MXNet
operator to the graph: ``sym.FullyConnected``, ``sym.Convolution``, ``sym.relu``,
``sym.concat`` (operator ``Concat``), ``sym.split`` (``SliceChannel``),
``sym.flatten`` (``Flatten``), ... The functions of an array and an array or a
number (``maximum``, ``power``, ``add``, ``greater``, ...) pick MXNet's operator by
the operands: ``_maximum`` for two Symbols, ``_maximum_scalar`` with a number.
"""
from __future__ import annotations

import numbers
import operator
from typing import Callable, Dict, Optional

from .. import ndarray as _nd
from .ops import aliases_of, known_ops, lookup
from .symbol import Symbol, _create, op_function

__all__ = ["FUNCTIONS", "FLUENT_METHODS"]


def _generated() -> Dict[str, Callable]:
    """A function for each operator name and alias that is a public Python name."""
    out: Dict[str, Callable] = {}
    for op_name in known_ops():
        op = lookup(op_name)
        for func_name in [op_name] + aliases_of(op_name):
            if not func_name.isidentifier() or func_name.startswith("_"):
                continue
            nd_function = getattr(_nd, func_name, None)
            if nd_function is None and op.fn is None:
                continue
            out[func_name] = op_function(func_name, op_name, nd_function)
    return out


FUNCTIONS: Dict[str, Callable] = _generated()


def reshape(data: Symbol, shape=None, reverse: Optional[bool] = None, name: Optional[str] = None,
            attr: Optional[Dict[str, str]] = None, **kwargs) -> Symbol:
    """Symbolic ``Reshape``: ``shape`` with MXNet's special values (0 keep, -1 infer, -2
    rest, -3 merge, -4 split); ``reverse`` matches them right to left."""
    params = {}
    if shape is not None:
        params["shape"] = (shape,) if isinstance(shape, int) else tuple(shape)
    if reverse is not None:
        params["reverse"] = reverse
    for key in ("target_shape", "keep_highest"):
        if key in kwargs:
            params[key] = kwargs.pop(key)
    if kwargs:
        raise TypeError(f"sym.reshape: unexpected arguments {sorted(kwargs)}")
    return _create(lookup("Reshape"), "reshape", {"data": data}, None, params, name, attr)


def transpose(data: Symbol, axes=None, *more: int, name: Optional[str] = None,
              attr: Optional[Dict[str, str]] = None) -> Symbol:
    """Symbolic ``transpose``: axes permuted as ``axes`` (default: reversed)."""
    params = {}
    if more:
        axes = (axes,) + tuple(more)
    if axes is not None:
        params["axes"] = tuple(axes)
    return _create(lookup("transpose"), "transpose", {"data": data}, None, params, name, attr)


def softrelu(data: Symbol, name: Optional[str] = None,
             attr: Optional[Dict[str, str]] = None) -> Symbol:
    """log(1 + exp(x)), as MXNet's ``Activation(act_type='softrelu')``."""
    return _create(lookup("Activation"), "activation", {"data": data}, None,
                   {"act_type": "softrelu"}, name, attr)


def _dispatch(func_name: str, tensor_op: str, scalar_op: str, rscalar_op: str,
              python_op: Callable, hint: Optional[str] = None) -> Callable:
    """``func_name(lhs, rhs)`` of Symbols or numbers: ``tensor_op`` for two Symbols,
    ``scalar_op`` for Symbol and number, ``rscalar_op`` for number and Symbol."""
    def function(lhs, rhs, name: Optional[str] = None,
                 attr: Optional[Dict[str, str]] = None):
        lhs, rhs = (int(v) if isinstance(v, bool) else v for v in (lhs, rhs))
        if isinstance(lhs, Symbol) and isinstance(rhs, Symbol):
            return _create(lookup(tensor_op), hint or func_name, {"lhs": lhs, "rhs": rhs},
                           None, {}, name, attr)
        if isinstance(lhs, Symbol) and _is_number(rhs):
            return _create(lookup(scalar_op), scalar_op, {"data": lhs}, None,
                           {"scalar": rhs}, name, attr)
        if _is_number(lhs) and isinstance(rhs, Symbol):
            return _create(lookup(rscalar_op), rscalar_op, {"data": rhs}, None,
                           {"scalar": lhs}, name, attr)
        if _is_number(lhs) and _is_number(rhs):
            return python_op(lhs, rhs)
        raise TypeError(f"sym.{func_name}: expected Symbols or numbers, got "
                        f"{type(lhs).__name__} and {type(rhs).__name__}")

    function.__name__ = func_name
    function.__qualname__ = func_name
    function.__doc__ = (f"``{func_name}(lhs, rhs)``: operator {tensor_op} of two Symbols, "
                        f"{scalar_op} of a Symbol and a number.")
    return function


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number)


def _div(a, b):
    return a / b


_DISPATCHED = {
    "add": ("broadcast_add", "_plus_scalar", "_plus_scalar", operator.add),
    "subtract": ("broadcast_sub", "_minus_scalar", "_rminus_scalar", operator.sub),
    "multiply": ("broadcast_mul", "_mul_scalar", "_mul_scalar", operator.mul),
    "divide": ("broadcast_div", "_div_scalar", "_rdiv_scalar", _div),
    "true_divide": ("broadcast_div", "_div_scalar", "_rdiv_scalar", _div),
    "modulo": ("broadcast_mod", "_mod_scalar", "_rmod_scalar", operator.mod),
    "power": ("_power", "_power_scalar", "_rpower_scalar", operator.pow),
    "pow": ("_power", "_power_scalar", "_rpower_scalar", operator.pow),
    "maximum": ("_maximum", "_maximum_scalar", "_maximum_scalar", max),
    "minimum": ("_minimum", "_minimum_scalar", "_minimum_scalar", min),
    "hypot": ("_hypot", "_hypot_scalar", "_hypot_scalar", lambda a, b: (a * a + b * b) ** .5),
    "equal": ("_equal", "_equal_scalar", "_equal_scalar", operator.eq),
    "not_equal": ("_not_equal", "_not_equal_scalar", "_not_equal_scalar", operator.ne),
    "greater": ("_greater", "_greater_scalar", "_lesser_scalar", operator.gt),
    "greater_equal": ("_greater_equal", "_greater_equal_scalar", "_lesser_equal_scalar",
                      operator.ge),
    "lesser": ("_lesser", "_lesser_scalar", "_greater_scalar", operator.lt),
    "lesser_equal": ("_lesser_equal", "_lesser_equal_scalar", "_greater_equal_scalar",
                     operator.le),
    "logical_and": ("_logical_and", "_logical_and_scalar", "_logical_and_scalar",
                    lambda a, b: float(bool(a) and bool(b))),
    "logical_or": ("_logical_or", "_logical_or_scalar", "_logical_or_scalar",
                   lambda a, b: float(bool(a) or bool(b))),
    "logical_xor": ("_logical_xor", "_logical_xor_scalar", "_logical_xor_scalar",
                    lambda a, b: float(bool(a) != bool(b))),
}
for _name, (_tensor, _scalar, _rscalar, _python) in _DISPATCHED.items():
    FUNCTIONS[_name] = _dispatch(_name, _tensor, _scalar, _rscalar, _python,
                                 hint=_tensor if _tensor.startswith("_") else None)


def _shape_tuple(shape) -> tuple:
    return (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)


def zeros(shape, dtype=None, name: Optional[str] = None, attr: Optional[Dict[str, str]] = None,
          ctx=None) -> Symbol:
    """Symbolic ``_zeros``: an array of ``shape`` filled with 0 (``dtype`` default
    float32). ``ctx`` is accepted and ignored: a graph runs on its inputs' context."""
    return _create(lookup("_zeros"), "_zeros", {}, None,
                   {"shape": _shape_tuple(shape), "dtype": dtype or "float32"}, name, attr)


def ones(shape, dtype=None, name: Optional[str] = None, attr: Optional[Dict[str, str]] = None,
         ctx=None) -> Symbol:
    """Symbolic ``_ones``: an array of ``shape`` filled with 1."""
    return _create(lookup("_ones"), "_ones", {}, None,
                   {"shape": _shape_tuple(shape), "dtype": dtype or "float32"}, name, attr)


def full(shape, val, dtype=None, name: Optional[str] = None,
         attr: Optional[Dict[str, str]] = None, ctx=None) -> Symbol:
    """Symbolic ``_full``: an array of ``shape`` filled with ``val``."""
    return _create(lookup("_full"), "_full", {}, None,
                   {"shape": _shape_tuple(shape), "dtype": dtype or "float32",
                    "value": float(val)}, name, attr)


def arange(start, stop=None, step=1.0, repeat: int = 1, infer_range: bool = False,
           name: Optional[str] = None, dtype=None, ctx=None) -> Symbol:
    """Symbolic ``_arange``: start, start + step, ... below stop (each ``repeat`` times)."""
    return _create(lookup("_arange"), "_arange", {}, None,
                   {"start": start, "stop": stop, "step": step, "repeat": repeat,
                    "infer_range": infer_range, "dtype": dtype or "float32"}, name, None)


def eye(N: int, M: int = 0, k: int = 0, dtype=None, name: Optional[str] = None,
        ctx=None, **kwargs) -> Symbol:
    """Symbolic ``_eye``: an N x M (M=0: N) matrix with ones on diagonal ``k``."""
    return _create(lookup("_eye"), "_eye", {}, None,
                   {"N": N, "M": M, "k": k, "dtype": dtype or "float32"}, name, None)


FUNCTIONS.update({"reshape": reshape, "Reshape": reshape, "transpose": transpose,
                  "softrelu": softrelu, "zeros": zeros, "ones": ones, "full": full,
                  "arange": arange, "eye": eye})

# MXNet's Symbol methods that call the operator of the same name on the Symbol
FLUENT_METHODS = (
    "reshape_like", "zeros_like", "ones_like", "broadcast_axes", "repeat", "pad", "swapaxes",
    "split", "slice", "slice_axis", "slice_like", "take", "one_hot", "pick", "sort", "topk",
    "argsort", "argmax", "argmax_channel", "argmin", "clip", "abs", "sign", "flatten",
    "shape_array", "size_array", "expand_dims", "broadcast_to", "broadcast_like", "tile",
    "flip", "depth_to_space", "space_to_depth", "diag", "sum", "nansum", "prod", "nanprod",
    "mean", "max", "min", "norm", "round", "rint", "fix", "floor", "ceil", "trunc", "sin",
    "cos", "tan", "arcsin", "arccos", "arctan", "degrees", "radians", "sinh", "cosh", "tanh",
    "arcsinh", "arccosh", "arctanh", "exp", "expm1", "log", "log10", "log2", "log1p", "sqrt",
    "rsqrt", "cbrt", "rcbrt", "square", "reciprocal", "relu", "sigmoid", "softmax",
    "log_softmax", "softmin", "squeeze")


def _fluent(func: Callable) -> Callable:
    def method(self, *args, **kwargs):
        return func(self, *args, **kwargs)
    method.__name__ = func.__name__
    method.__qualname__ = f"Symbol.{func.__name__}"
    method.__doc__ = f"Same as ``framework.sym.{func.__name__}(self, ...)``."
    return method


def _reshape_method(self, *shape, **kwargs):
    """``sym.reshape(self, shape)``; the shape as a tuple or as separate ints."""
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = shape[0]
    return reshape(self, shape if shape else kwargs.pop("shape", None), **kwargs)


def _transpose_method(self, *axes, **kwargs):
    """``sym.transpose(self, axes)``; the axes as a tuple or as separate ints."""
    if len(axes) == 1 and not isinstance(axes[0], int):
        axes = axes[0]
    return transpose(self, axes if axes else kwargs.pop("axes", None), **kwargs)


def install_methods() -> None:
    """Give Symbol MXNet's operator methods (``x.reshape``, ``x.sum``, ...)."""
    for name in FLUENT_METHODS:
        if name in FUNCTIONS:
            setattr(Symbol, name, _fluent(FUNCTIONS[name]))
    Symbol.reshape = _reshape_method
    Symbol.transpose = _transpose_method

