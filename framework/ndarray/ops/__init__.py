"""The operator library: every ``framework.nd`` function that computes something.

Each module holds operators of one kind, each operator's forward and gradient
side by side in one class. Every function also takes MXNet's ``out=``: the
result is written into that array (``checks.write_out``), which is returned.
"""
from . import (activation, arith, broadcast, convert, index, join, linalg, reduce, shape,
               slicing, softmax, special, tiling, unary)
from . import conv, dropout, embedding, fully_connected, normalization, pooling, upsampling
from . import ctc
from . import legacy

_MODULES = (activation, arith, broadcast, convert, index, join, linalg, reduce, shape,
            slicing, softmax, special, tiling, unary)
_NN_MODULES = (conv, ctc, dropout, embedding, fully_connected, normalization, pooling,
               upsampling)

from .activation import *  # noqa: F401,F403
from .arith import *       # noqa: F401,F403
from .broadcast import *   # noqa: F401,F403
from .convert import *     # noqa: F401,F403
from .index import *       # noqa: F401,F403
from .join import *        # noqa: F401,F403
from .linalg import *      # noqa: F401,F403
from .reduce import *      # noqa: F401,F403
from .shape import *       # noqa: F401,F403
from .slicing import *     # noqa: F401,F403
from .softmax import *     # noqa: F401,F403
from .special import *     # noqa: F401,F403
from .tiling import *      # noqa: F401,F403
from .unary import *       # noqa: F401,F403
# the neural-network operators
from .conv import *            # noqa: F401,F403
from .dropout import *         # noqa: F401,F403
from .embedding import *       # noqa: F401,F403
from .fully_connected import *  # noqa: F401,F403
from .normalization import *   # noqa: F401,F403
from .pooling import *         # noqa: F401,F403
from .upsampling import *      # noqa: F401,F403
from .ctc import *             # noqa: F401,F403
# MXNet 1.x names older scripts use: random_*/sample_*, SoftmaxOutput, smooth_l1, ...
from .legacy import *          # noqa: F401,F403

__all__ = [name for module in _MODULES + _NN_MODULES + (legacy,) for name in module.__all__]

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
