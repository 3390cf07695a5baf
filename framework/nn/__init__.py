"""Neural-network layers (MXNet's ``gluon.nn``): ``fw.nn.Dense``, ``fw.nn.Conv2D``, ...

Block and HybridBlock are here too, as in MXNet.
"""
from ..block import Block, HybridBlock  # noqa: F401
from .basic import *       # noqa: F401,F403
from .sequential import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .conv import *        # noqa: F401,F403
from .pool import *        # noqa: F401,F403
from .reshaping import *   # noqa: F401,F403
from .norm import *        # noqa: F401,F403
