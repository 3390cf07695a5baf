"""The operator library: every ``framework.nd`` function that computes something.

Each module holds operators of one kind, each operator's forward and gradient
side by side in one class. Every function also takes MXNet's ``out=``: the
result is written into that array (see ``NDArray._write``), which is returned.
"""
import functools as _functools

from ..ndarray import NDArray
from . import (activation, arith, broadcast, convert, index, join, linalg, nn, reduce, shape,
               slicing, special, tiling, unary)
from .activation import *  # noqa: F401,F403
from .arith import *       # noqa: F401,F403
from .broadcast import *   # noqa: F401,F403
from .convert import *     # noqa: F401,F403
from .index import *       # noqa: F401,F403
from .join import *        # noqa: F401,F403
from .linalg import *      # noqa: F401,F403
from .nn import *          # noqa: F401,F403
from .reduce import *      # noqa: F401,F403
from .shape import *       # noqa: F401,F403
from .slicing import *     # noqa: F401,F403
from .special import *     # noqa: F401,F403
from .tiling import *      # noqa: F401,F403
from .unary import *       # noqa: F401,F403

_MODULES = (activation, arith, broadcast, convert, index, join, linalg, nn, reduce, shape,
            slicing, special, tiling, unary)
__all__ = [name for module in _MODULES for name in module.__all__]


def _with_out(function):
    """``function`` with MXNet's ``out=`` argument."""
    @_functools.wraps(function)
    def wrapper(*args, out=None, **kwargs):
        result = function(*args, **kwargs)
        if out is None:
            return result
        if not isinstance(result, NDArray):
            raise TypeError(f"operator {function.__name__}: out= needs a single result, and "
                            f"this call gives {type(result).__name__}")
        if not isinstance(out, NDArray):
            raise TypeError(f"operator {function.__name__}: out must be an NDArray, "
                            f"got {type(out).__name__}")
        return out._write(result.astype(out.dtype, copy=False), function.__name__)
    return wrapper


for _name in __all__:
    globals()[_name] = _with_out(globals()[_name])

# MXNet's legacy CamelCase names for the same operators
BlockGrad = stop_gradient              # noqa: F405
Cast = cast                            # noqa: F405
Concat = concat                        # noqa: F405
Flatten = flatten                      # noqa: F405
Pad = pad                              # noqa: F405
Reshape = reshape                      # noqa: F405
SliceChannel = split                   # noqa: F405
SwapAxis = swapaxes                    # noqa: F405
__all__ += ["BlockGrad", "Cast", "Concat", "Flatten", "Pad", "Reshape", "SliceChannel", "SwapAxis"]
