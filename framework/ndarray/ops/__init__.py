"""The operator library: every ``framework.nd`` function that computes something.

Each module holds operators of one kind, each operator's forward and gradient
side by side in one class.
"""
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
