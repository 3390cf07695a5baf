"""framework: a Gluon-style deep-learning library on NumPy and CuPy.

    import framework as fw
    x = fw.nd.array([1, 2, 3, 4])
    x.attach_grad()
    with fw.autograd.record():
        y = x * x + 1
    y.backward()
"""
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus  # noqa: F401
from . import ndarray  # noqa: F401
from . import autograd  # noqa: F401
from . import ndarray as nd  # noqa: F401
from . import random  # noqa: F401
from . import data  # noqa: F401  (IDX reader, MNIST; NumPy and the standard library only)
from . import test_utils  # noqa: F401
from .ndarray import NDArray  # noqa: F401
from ._version import __version__  # noqa: F401  (one constant, read by file writers)
from . import initializer  # noqa: F401
from . import initializer as init  # noqa: F401  (MXNet's mx.init)
from .parameter import Constant, Parameter, ParameterDict  # noqa: F401
from .block import Block, HybridBlock  # noqa: F401
from . import nn  # noqa: F401
from . import lr_scheduler  # noqa: F401
from . import optimizer  # noqa: F401
from . import kvstore  # noqa: F401
from . import kvstore as kv  # noqa: F401  (MXNet's mx.kv)
from . import metric  # noqa: F401
from . import utils  # noqa: F401
from .trainer import Trainer  # noqa: F401
from . import loss  # noqa: F401
from . import contrib  # noqa: F401  (contrib.estimator: the fit loop)
from . import recordio  # noqa: F401  (MXNet's mx.recordio)
from . import model_zoo  # noqa: F401  (MXNet's gluon.model_zoo: vision networks)
from . import onnx  # noqa: F401  (MXNet's mx.onnx; the onnx package is loaded only on export)
from . import symbol  # noqa: F401  (MXNet's mx.symbol)
from . import symbol as sym  # noqa: F401  (MXNet's mx.sym)
from .symbol_block import SymbolBlock  # noqa: F401
from . import distributed  # noqa: F401  (Horovod-style data parallelism over MPI)
