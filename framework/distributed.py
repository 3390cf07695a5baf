"""Horovod-style data parallelism (the API of ``horovod.mxnet``) on framework's MPI engine.

    import framework as fw
    from framework import distributed as hvd

    hvd.init()
    net = build_net()
    net.initialize(ctx=fw.cpu())               # or fw.gpu(hvd.local_rank())
    hvd.broadcast_parameters(net.collect_params(), root_rank=0)
    trainer = hvd.DistributedTrainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    ...
    trainer.step(batch_size)                   # this rank's batch size

Run it with ``python -m framework.launch -n 4 train.py``. Collectives are matched by
the order in which the ranks call them (``name`` and ``priority`` are accepted, as
Horovod's, and not needed); every rank must call the same ones in the same order, with
arrays of the same shapes. Before an unnamed collective the ranks compare shapes and
dtypes (one small extra exchange); a named one is compared the first time its name is
used. A rank that fails, dies or leaves makes the others stop with an error naming it
(see ``framework/kvstore/_mpi_engine.py``).

``launched_rank()`` / ``launched_size()`` read the launcher's environment without
starting MPI (0 and 1 outside a launched job): ``fw.contrib.estimator`` uses them so
that only rank 0 shows progress and writes checkpoints.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from . import autograd
from . import kvstore as _kvstore
from .kvstore import _mpi_engine
from .kvstore._mpi_engine import CollectiveTimeoutError, DistributedError, RankFailedError
from .kvstore.mpi import Reducer, _layout, signature
from .ndarray import NDArray
from .parameter import DeferredInitializationError, Parameter, ParameterDict
from .trainer import Trainer, _call_after_init, _parameter_kind

__all__ = ["init", "shutdown", "is_initialized", "rank", "local_rank", "size", "local_size",
           "launched_rank", "launched_size", "allreduce", "allreduce_", "grouped_allreduce",
           "grouped_allreduce_", "broadcast", "broadcast_", "broadcast_parameters",
           "allgather", "allgather_object", "barrier", "DistributedTrainer", "Average", "Sum",
           "Min", "Max", "DistributedError", "RankFailedError", "CollectiveTimeoutError"]

# reduction operations (Horovod's hvd.Average, hvd.Sum, hvd.Min, hvd.Max)
Average, Sum, Min, Max = "average", "sum", "min", "max"
_OPS = (Average, Sum, Min, Max)

_REDUCER: Optional[Reducer] = None
_AGREED: Dict[tuple, list] = {}       # (collective, name) -> the layouts every rank agreed on
_LABELS: Dict[tuple, str] = {}        # (collective, name) -> its label in checks and errors


def init(timeout: Optional[float] = None) -> None:
    """Start MPI and the engine (a collective: every rank calls it). ``timeout``: seconds a
    collective may wait before it fails (default $FRAMEWORK_DIST_TIMEOUT, else 600)."""
    global _REDUCER
    engine = _mpi_engine.engine(timeout)
    if _REDUCER is None or _REDUCER.engine is not engine:
        _REDUCER = Reducer(engine)


def shutdown() -> None:
    """Wait for the other ranks, then finalize MPI (at exit this happens by itself)."""
    global _REDUCER
    engine = _mpi_engine.current()
    if engine is not None:
        engine.shutdown()
    _REDUCER = None


def is_initialized() -> bool:
    return _mpi_engine.current() is not None


def _reducer(op: str) -> Reducer:
    """The reducer on the running engine (started by ``init`` or by a 'dist_sync' store)."""
    global _REDUCER
    engine = _mpi_engine.current()
    if engine is None:
        raise ValueError(f"fw.distributed.{op}: not initialized; call fw.distributed.init() "
                         f"first (and start the script with python -m framework.launch -n N)")
    if _REDUCER is None or _REDUCER.engine is not engine:
        _REDUCER = Reducer(engine)
    return _REDUCER


def rank() -> int:
    """This process's rank, 0 .. size() - 1."""
    return _reducer("rank").engine.rank


def size() -> int:
    """The number of processes (ranks)."""
    return _reducer("size").engine.size


def local_rank() -> int:
    """This process's rank among the ranks of its host (the GPU to use: gpu(local_rank()))."""
    return _reducer("local_rank").engine.local_rank


def local_size() -> int:
    """The number of ranks on this host."""
    return _reducer("local_size").engine.local_size


def launched_rank() -> int:
    """This process's rank, without starting MPI: the engine's, else the MPI launcher's
    (from the environment), else 0."""
    value = _mpi_engine.launcher_rank()
    return 0 if value is None else value


def launched_size() -> int:
    """The number of processes, without starting MPI (1 outside a launched job)."""
    value = _mpi_engine.launcher_size()
    return 1 if value is None else value


# ------------------------------------------------------------------- collectives
def _arrays(tensors, op: str) -> List[NDArray]:
    if isinstance(tensors, NDArray):
        tensors = [tensors]
    tensors = list(tensors)
    for i, t in enumerate(tensors):
        if not isinstance(t, NDArray):
            raise TypeError(f"fw.distributed.{op}: expected NDArrays, got {type(t).__name__} "
                            f"(item {i})")
    return tensors


def _agree(reducer: Reducer, arrays: Sequence[NDArray], name: Optional[str], op: str) -> None:
    """Check that every rank passes the same shapes and dtypes (once per ``name``; later
    calls with that name are checked here, against what the ranks agreed on)."""
    if name is not None:
        agreed = _AGREED.get((op, name))
        if agreed is not None:
            mine = [_layout(a) for a in arrays]
            if agreed == mine:
                return
            raise ValueError(f"{_label(op, name)}: this rank passes "
                             f"{' | '.join(signature(a) for a in arrays)}, but the ranks "
                             f"agreed on other shapes or dtypes for this name before "
                             f"({agreed})")
    what = _label(op, name)
    reducer.check_same([what], [" | ".join(signature(a) for a in arrays)], what)
    if name is not None:
        _AGREED[(op, name)] = [_layout(a) for a in arrays]


def _label(op: str, name: Optional[str]) -> str:
    """How checks and errors name a call: ``fw.distributed.allreduce_ 'grads'`` for op
    'allreduce_' and name 'grads'. Kept per (op, name): the hot path builds no string."""
    key = (op, name)
    label = _LABELS.get(key)
    if label is None:
        label = _LABELS[key] = f"fw.distributed.{op}" + ("" if name is None else f" {name!r}")
    return label


def _scale(arrays: Sequence[NDArray], factor: float) -> None:
    if factor != 1.0:
        with autograd.pause():
            for arr in arrays:
                arr *= factor


def grouped_allreduce_(tensors, average: Optional[bool] = None, name: Optional[str] = None,
                       priority: int = 0, prescale_factor: float = 1.0,
                       postscale_factor: float = 1.0, op: Optional[str] = None) -> List[NDArray]:
    """Reduce each NDArray of ``tensors`` over all ranks, in place (one flat buffer for
    many small arrays). ``op``: Average (default), Sum, Min or Max; ``average`` (Horovod's
    older flag) True/False means Average/Sum. Returns ``tensors``."""
    tensors = _arrays(tensors, "allreduce_")
    op = _choose_op(average, op)
    reducer = _reducer("allreduce_")
    _agree(reducer, tensors, name, "allreduce")
    _scale(tensors, prescale_factor)
    reducer.allreduce_(tensors, _label("allreduce_", name), "sum" if op == Average else op)
    factor = postscale_factor / (reducer.engine.size if op == Average else 1)
    _scale(tensors, factor)
    return tensors


def grouped_allreduce(tensors, average: Optional[bool] = None, name: Optional[str] = None,
                      priority: int = 0, prescale_factor: float = 1.0,
                      postscale_factor: float = 1.0, op: Optional[str] = None) -> List[NDArray]:
    """``grouped_allreduce_`` on copies: the inputs are unchanged."""
    with autograd.pause():
        copies = [t.copy() for t in _arrays(tensors, "allreduce")]
    return grouped_allreduce_(copies, average, name, priority, prescale_factor,
                              postscale_factor, op)


def allreduce_(tensor: NDArray, average: Optional[bool] = None, name: Optional[str] = None,
               priority: int = 0, prescale_factor: float = 1.0, postscale_factor: float = 1.0,
               op: Optional[str] = None) -> NDArray:
    """Replace ``tensor`` by its reduction over all ranks (Average by default, as Horovod)."""
    return grouped_allreduce_([tensor], average, name, priority, prescale_factor,
                              postscale_factor, op)[0]


def allreduce(tensor: NDArray, average: Optional[bool] = None, name: Optional[str] = None,
              priority: int = 0, prescale_factor: float = 1.0, postscale_factor: float = 1.0,
              op: Optional[str] = None) -> NDArray:
    """The reduction of ``tensor`` over all ranks, as a new NDArray (Average by default)."""
    return grouped_allreduce([tensor], average, name, priority, prescale_factor,
                             postscale_factor, op)[0]


def _choose_op(average: Optional[bool], op: Optional[str]) -> str:
    if average is not None and op is not None:
        raise ValueError("fw.distributed.allreduce: give op or average, not both")
    if op is None:
        return Sum if average is False else Average
    if op not in _OPS:
        raise ValueError(f"fw.distributed.allreduce: op must be one of {_OPS}, got {op!r}")
    return op


def broadcast_(tensor: NDArray, root_rank: int, name: Optional[str] = None,
               priority: int = 0) -> NDArray:
    """Overwrite ``tensor`` with rank ``root_rank``'s value, in place; returns it."""
    tensor = _arrays(tensor, "broadcast_")[0]
    reducer = _reducer("broadcast_")
    _agree(reducer, [tensor], name, "broadcast")
    reducer.broadcast_([tensor], root_rank, "fw.distributed.broadcast_"
                       + ("" if name is None else f" {name!r}"))
    return tensor


def broadcast(tensor: NDArray, root_rank: int, name: Optional[str] = None,
              priority: int = 0) -> NDArray:
    """Rank ``root_rank``'s ``tensor`` as a new NDArray on every rank."""
    with autograd.pause():
        copy = _arrays(tensor, "broadcast")[0].copy()
    return broadcast_(copy, root_rank, name, priority)


def allgather(tensor: NDArray, name: Optional[str] = None, priority: int = 0) -> NDArray:
    """Every rank's ``tensor`` concatenated along axis 0 in rank order (the first
    dimension may differ between ranks; the others and the dtype may not)."""
    tensor = _arrays(tensor, "allgather")[0]
    reducer = _reducer("allgather")
    if tensor.ndim == 0:
        raise ValueError("fw.distributed.allgather: needs an array of at least 1 dimension "
                         "(it concatenates along axis 0), got a scalar")
    rows = reducer.engine.allgather_json(tensor.shape[0], "fw.distributed.allgather (sizes)")
    what = "fw.distributed.allgather" + ("" if name is None else f" ({name!r})")
    trailing = f"{tuple(tensor.shape[1:])} {signature(tensor).split(' ', 1)[1]}"
    reducer.check_same([what], [trailing], what)
    from .ndarray import zeros
    with autograd.pause():
        pieces = [zeros((n,) + tuple(tensor.shape[1:]), ctx=tensor.context, dtype=tensor.dtype)
                  for n in rows]
        pieces[reducer.engine.rank][:] = tensor
    present = [p for p in pieces if p.shape[0] > 0]
    # everyone sums the zero-padded pieces: each piece is non-zero on its own rank only
    reducer.allreduce_(present, what)
    from .ndarray import concat
    with autograd.pause():
        return concat(*pieces, dim=0) if len(pieces) > 1 else pieces[0]


def allgather_object(obj) -> list:
    """Every rank's ``obj`` in rank order (anything JSON can write: numbers, strings,
    lists, dicts; not pickled, unlike Horovod's)."""
    return _reducer("allgather_object").engine.allgather_json(obj, "fw.distributed.allgather_object")


def barrier() -> None:
    """Wait until every rank reaches its barrier."""
    _reducer("barrier").engine.barrier("fw.distributed.barrier")


# -------------------------------------------------------------------- parameters
def broadcast_parameters(params, root_rank: int = 0, prefix: Optional[str] = None) -> None:
    """Give every rank rank ``root_rank``'s values of ``params`` (a ParameterDict such as
    ``net.collect_params()``, or a dict of Parameters / NDArrays), taken in the dict's
    order; the ranks first check that they have the same names' kinds, shapes and dtypes.
    A Parameter whose initialization is deferred (unknown shape) is broadcast right after
    it is initialized, at the first forward pass, which every rank makes."""
    if not isinstance(params, (dict, ParameterDict)):
        raise ValueError(f"fw.distributed.broadcast_parameters: params must be a dict or "
                         f"ParameterDict, got {type(params).__name__}")
    reducer = _reducer("broadcast_parameters")
    prefix = prefix or ""
    names, firsts, copies = [], [], []
    for name, p in params.items():
        if isinstance(p, Parameter):
            try:
                data = p.list_data()
            except DeferredInitializationError:
                _broadcast_after_init(p, root_rank, prefix + str(name))
                continue
        elif isinstance(p, NDArray):
            data = [p]
        else:
            raise ValueError(f"fw.distributed.broadcast_parameters: {name!r} is a "
                             f"{type(p).__name__}, expected a Parameter or an NDArray")
        names.append(prefix + str(name))
        firsts.append(data[0])
        copies.append(data[1:])
    reducer.check_same(names, [f"{_parameter_kind(n)} {signature(a)}" for n, a in zip(names, firsts)],
                       "fw.distributed.broadcast_parameters", noun="Parameter")
    reducer.broadcast_(firsts, root_rank, "fw.distributed.broadcast_parameters")
    with autograd.pause():
        for first, others in zip(firsts, copies):
            for other in others:
                first.copyto(other)


def _broadcast_after_init(param: Parameter, root_rank: int, name: str) -> None:
    """Make ``param`` broadcast its values from ``root_rank`` once it is initialized."""

    def broadcast_now() -> None:
        arrays = param.list_data()
        reducer = _reducer("broadcast_parameters")
        what = f"fw.distributed.broadcast_parameters ({name!r}, deferred)"
        reducer.check_same([name], [signature(arrays[0])], what)
        reducer.broadcast_(arrays[:1], root_rank, what)
        with autograd.pause():
            for other in arrays[1:]:
                arrays[0].copyto(other)

    _call_after_init(param, broadcast_now)


class DistributedTrainer(Trainer):
    """A ``fw.Trainer`` whose gradients are summed over all ranks (``horovod.mxnet``'s
    DistributedTrainer): ``step(batch_size)`` with this rank's batch size scales the sum
    by ``1/(batch_size * size())``, so N ranks on batches of b train as one process on
    their concatenated batch of N*b. At its first step it checks that every rank has the
    same Parameters and gives them rank 0's values. ``params`` and ``optimizer`` as for
    ``fw.Trainer``; gradients travel in large flat buffers (``kvstore/mpi.py``)."""

    def __init__(self, params, optimizer, optimizer_params: Optional[dict] = None) -> None:
        if not is_initialized():
            init()
        super().__init__(params, optimizer, optimizer_params,
                         kvstore=_kvstore.create("horovod"), update_on_kvstore=False)
