"""``framework.nd``: NDArray and its operators (MXNet's ``mxnet.ndarray``)."""
from .._host_memory import keep_freed_memory as _keep_freed_memory
from .ndarray import NDArray, synchronize  # noqa: F401
from .creation import *  # noqa: F401,F403
from .ops import *  # noqa: F401,F403
from . import linalg, random  # noqa: F401
from .io import save, load  # noqa: F401
from .dlpack import from_dlpack, to_dlpack_for_read, to_dlpack_for_write  # noqa: F401
from .dlpack import install as _install_dlpack
from .methods import install as _install_methods

_install_methods()
_install_dlpack()
_keep_freed_memory()       # glibc keeps freed large arrays for the next step (_host_memory.py)


def waitall() -> None:
    """Wait until all pending device work is done (no-op without a GPU)."""
    from ..context import Context
    for ctx in list(Context._interned.values()):
        if ctx.device_type == "gpu" and ctx.is_loaded:
            synchronize(ctx)
