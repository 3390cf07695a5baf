"""``fw.Trainer``: applies an optimizer to a set of Parameters (MXNet's ``gluon.Trainer``).

    trainer = fw.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    with fw.autograd.record():
        loss = loss_fn(net(x), y)
    loss.backward()
    trainer.step(batch_size)        # gradients scaled by 1/batch_size, then one update

A Parameter living on several contexts has its gradients summed across them
through a key-value store (``fw.kvstore``) before the update; the update runs
once, on the first context's copy, and every other copy receives the new value,
so the copies never drift apart. The Trainer knows Parameters, never Blocks.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Union

from . import autograd
from . import optimizer as _opt
from . import kvstore as _kvstore
from ._fileio import atomic_write
from .parameter import Parameter, ParameterDict

__all__ = ["Trainer"]


class Trainer:
    """Updates ``params`` with ``optimizer``.

    ``params``: a ParameterDict / dict (taken in its own order: for
    ``collect_params()`` the order of the model's structure) or a list of
    Parameters. MXNet sorts a dict by name instead; that order changes when a name
    counter passes 9 -> 10 (``dense10_`` sorts before ``dense9_``), so the same model
    built twice could pair its saved optimizer states with other Parameters. ``optimizer``: a name ('sgd', 'adam', ...) with
    ``optimizer_params`` ({'learning_rate': 0.1, 'wd': 1e-4, ...}), or an
    ``fw.optimizer.Optimizer``. ``kvstore``: 'device' / 'local' (or a store
    object) used to sum gradients when Parameters live on several contexts; with
    one context no store is needed and none is made, as in MXNet. 'dist_sync' (also
    'dist_sync_device', 'dist_device_sync', 'horovod') trains data-parallel across the
    processes of an MPI job (``python -m framework.launch``): at the first step every
    rank checks that all have the same Parameters and takes rank 0's values; each
    step sums the gradients of all ranks (see ``step``).
    ``update_on_kvstore``: True runs the optimizer inside the store (then
    ``allreduce_grads``/``update`` are unavailable, as in MXNet); the default
    (None) updates outside it.
    """

    def __init__(self, params, optimizer, optimizer_params: Optional[dict] = None,
                 kvstore: Union[str, "_kvstore.KVStoreBase", None] = "device",
                 compression_params: Optional[dict] = None,
                 update_on_kvstore: Optional[bool] = None) -> None:
        self._params: List[Parameter] = _parameter_list(params)
        if compression_params:
            raise NotImplementedError("Trainer: gradient compression (compression_params) is "
                                      "not supported")
        self._init_optimizer(optimizer, optimizer_params or {})
        self._scale = self._optimizer.rescale_grad
        if isinstance(kvstore, str) and _kvstore.is_distributed(kvstore):
            # a distributed store starts MPI now, so that the rank is known before the
            # first step (only rank 0 shows progress and writes checkpoints)
            kvstore = _kvstore.create(kvstore)
        self._kvstore_arg = kvstore
        self._update_on_kvstore_arg = update_on_kvstore
        self._kvstore: Optional[_kvstore.KVStoreBase] = None
        self._update_on_kvstore = False
        self._kv_initialized = False
        self._shared: set = set()          # indices of Parameters given rank 0's values
        if isinstance(kvstore, _kvstore.KVStoreBase) and _kvstore.is_distributed(kvstore):
            self._share_rank0_values(kvstore)

    def __repr__(self) -> str:
        return (f"Trainer({type(self._optimizer).__name__}, {len(self._params)} parameters, "
                f"learning_rate={self.learning_rate})")

    def _init_optimizer(self, optimizer, optimizer_params: dict) -> None:
        param_dict = dict(enumerate(self._params))
        if isinstance(optimizer, _opt.Optimizer):
            if optimizer_params:
                raise ValueError("Trainer: optimizer_params must be None when optimizer is an "
                                 "Optimizer instance rather than a name")
            self._optimizer = optimizer
            self._optimizer.param_dict = param_dict
        else:
            self._optimizer = _opt.create(optimizer, param_dict=param_dict, **optimizer_params)
        self._updater = _opt.get_updater(self._optimizer)

    # ------------------------------------------------------------ kvstore
    def _contexts(self) -> list:
        contexts = None
        for param in self._params:
            ctxs = param.list_ctx()
            if contexts is None:
                contexts = ctxs
            elif ctxs != contexts:
                raise ValueError(f"Trainer: all Parameters must live on the same contexts; "
                                 f"'{self._params[0].name}' is on {contexts} but "
                                 f"'{param.name}' is on {ctxs}")
        return contexts or []

    def _init_kvstore(self) -> None:
        """Choose the store (MXNet's rule: none for one context unless one is given)."""
        arg = self._kvstore_arg
        if isinstance(arg, _kvstore.KVStoreBase):
            store = arg
        elif arg and len(self._contexts()) > 1:
            store = _kvstore.create(arg)
        elif arg and not isinstance(arg, str):
            raise TypeError(f"Trainer: kvstore must be a name such as 'device', a kvstore "
                            f"object or None, got {type(arg).__name__}")
        else:
            store = None
        self._kvstore = store
        self._update_on_kvstore = bool(store is not None and self._update_on_kvstore_arg)
        if store is not None and _kvstore.is_distributed(store):
            self._broadcast(store, [i for i in range(len(self._params)) if i not in self._shared])
        elif store is not None:
            for i, param in enumerate(self._params):
                store.init(i, param.list_data()[0])
        if store is not None:
            if self._update_on_kvstore:
                store.set_optimizer(self._optimizer)
        self._kv_initialized = True

    def _share_rank0_values(self, store) -> None:
        """Give every rank rank 0's values before the first forward pass computes with
        them: the initialized Parameters now (a collective: every rank creates its
        Trainer), the others right after their (deferred) initialization."""
        ready = []
        for i, param in enumerate(self._params):
            if param._data is not None:
                ready.append(i)
            else:
                _call_after_init(param, lambda i=i: self._broadcast(store, [i]))
        self._broadcast(store, ready)

    def _broadcast(self, store, indices: List[int]) -> None:
        """Check that every rank has the same Parameters at ``indices`` (order, shapes,
        dtypes), naming the first that differs, then give every rank rank 0's values."""
        from .kvstore.mpi import signature
        indices = [i for i in indices if i not in self._shared]
        params = [self._params[i] for i in indices]
        first = [param.list_data()[0] for param in params]
        store.check_same_on_all_workers(
            [param.name for param in params],
            [f"{_parameter_kind(p.name)} {signature(d)}" for p, d in zip(params, first)],
            f"Trainer(kvstore='{store.type}')", noun="Parameter")
        if indices:
            store.broadcast(indices, first, out=[param.list_data() for param in params])
        self._shared.update(indices)

    def _num_workers(self) -> int:
        """The number of processes whose gradients are summed (1 without a distributed store)."""
        return self._kvstore.num_workers if self._kvstore is not None else 1

    # --------------------------------------------------------------- step
    @property
    def optimizer(self) -> "_opt.Optimizer":
        return self._optimizer

    @property
    def learning_rate(self) -> float:
        return self._optimizer.learning_rate

    def set_learning_rate(self, lr: float) -> None:
        """Set the learning rate (an error when an lr_scheduler drives it, as in MXNet)."""
        self._optimizer.set_learning_rate(lr)

    def step(self, batch_size: float, ignore_stale_grad: bool = False) -> None:
        """One update: gradients (summed across contexts) scaled by ``1/batch_size``.

        With a distributed store (kvstore='dist_sync'), ``batch_size`` is this process's
        batch and the gradients summed over all processes are scaled by
        ``1/(batch_size * num_workers)``: N processes on batches of b train as one process
        on their concatenated batch of N*b (Horovod's rule; MXNet 1.x left the factor N
        in the learning rate)."""
        if not self._kv_initialized:
            self._init_kvstore()
        self._optimizer.rescale_grad = self._scale / (batch_size * self._num_workers())
        self._allreduce_grads()
        self._update(ignore_stale_grad)

    def allreduce_grads(self) -> None:
        """Sum each Parameter's gradients across its contexts (before a custom change
        of the gradients, e.g. clipping, and ``update``)."""
        if not self._kv_initialized:
            self._init_kvstore()
        if self._update_on_kvstore:
            raise RuntimeError("Trainer.allreduce_grads() is not supported when parameters are "
                               "updated on kvstore; create the Trainer with "
                               "update_on_kvstore=False")
        self._allreduce_grads()

    def update(self, batch_size: float, ignore_stale_grad: bool = False) -> None:
        """The update half of ``step`` (after ``allreduce_grads``)."""
        if not self._kv_initialized:
            self._init_kvstore()
        if self._update_on_kvstore:
            raise RuntimeError("Trainer.update() is not supported when parameters are updated "
                               "on kvstore; create the Trainer with update_on_kvstore=False")
        self._optimizer.rescale_grad = self._scale / (batch_size * self._num_workers())
        self._update(ignore_stale_grad)

    def _allreduce_grads(self) -> None:
        store = self._kvstore
        if store is None or self._update_on_kvstore:
            return
        if _kvstore.is_distributed(store):     # one call: the store packs small gradients
            keys = [i for i, param in enumerate(self._params) if param.grad_req != "null"]
            if keys:
                store.pushpull(keys, [self._params[i].list_grad() for i in keys])
            return
        for i, param in enumerate(self._params):
            if param.grad_req != "null":
                store.pushpull(i, param.list_grad(), priority=-i)

    def _update(self, ignore_stale_grad: bool) -> None:
        # every gradient is checked before any weight changes, so a stale one leaves all as is
        fresh = []
        for i, param in enumerate(self._params):
            if param.grad_req == "null":
                continue
            copies = param.list_data()
            if all(arr._fresh_grad for arr in copies):
                fresh.append((i, copies))
            elif not ignore_stale_grad:
                stale = next(arr for arr in copies if not arr._fresh_grad)
                raise UserWarning(
                    f"Gradient of Parameter `{param.name}` on context {stale.context} has "
                    f"not been updated by backward since last `step`. This could mean a bug "
                    f"in your model that made it only use a subset of the Parameters "
                    f"(Blocks) for this iteration. If you are intentionally only using a "
                    f"subset, call step with ignore_stale_grad=True to suppress this "
                    f"warning and skip updating of Parameters with stale gradient")
        for _, copies in fresh:
            for arr in copies:
                arr._fresh_grad = False
        if self._update_on_kvstore:
            if fresh:           # one call each: a distributed store packs the keys together
                keys = [i for i, _ in fresh]
                self._kvstore.push(keys, [[arr.grad for arr in copies] for _, copies in fresh])
                self._kvstore.pull(keys, [copies for _, copies in fresh])
            return
        if fresh:       # one call with lists, as MXNet's Trainer makes per context
            self._updater([i for i, _ in fresh], [c[0].grad for _, c in fresh],
                          [c[0] for _, c in fresh])
        with autograd.pause():
            for _, copies in fresh:
                for arr in copies[1:]:
                    copies[0].copyto(arr)

    # ------------------------------------------------------------- states
    def save_states(self, fname: str) -> None:
        """Write the optimizer's states (and update counts) to ``fname``: HDF5, atomically."""
        if not self._kv_initialized:
            self._init_kvstore()
        if self._update_on_kvstore:
            self._kvstore.save_optimizer_states(fname, dump_optimizer=True)
            return
        states = self._updater.get_states(dump_optimizer=True)
        with atomic_write(fname) as f:
            f.write(states)

    def load_states(self, fname: str) -> None:
        """Read states written by ``save_states``; training continues as if never stopped."""
        if not self._kv_initialized:
            self._init_kvstore()
        if self._update_on_kvstore:
            self._kvstore.load_optimizer_states(fname)
            return
        try:
            with open(fname, "rb") as f:
                states = f.read()
        except OSError as err:
            raise OSError(f"Trainer.load_states: cannot read {fname!r}: {err}") from err
        self._updater.set_states(states)
        self._check_state_shapes(fname)
        self._optimizer = self._updater.optimizer
        self._optimizer.param_dict = dict(enumerate(self._params))

    def _check_state_shapes(self, fname: str) -> None:
        """Each loaded state array has its Parameter's shape (or is a scalar)."""
        problems = []
        for index, state in self._updater.states.items():
            if not isinstance(index, int) or not 0 <= index < len(self._params):
                problems.append(f"state {index!r} belongs to no Parameter of this Trainer "
                                f"(it has {len(self._params)})")
                continue
            param = self._params[index]
            for arr in _leaves(state):
                if arr.ndim and param.shape and arr.shape != tuple(param.shape):
                    problems.append(f"'{param.name}' has shape {param.shape} but its saved "
                                    f"state has shape {arr.shape}")
                    break
        if problems:
            self._updater.states = {}
            raise ValueError(f"Trainer.load_states: {fname!r} does not fit these Parameters "
                             f"(saved from another model?): " + "; ".join(problems))


def _call_after_init(param: Parameter, callback) -> None:
    """Run ``callback()`` once, right after ``param`` is next initialized (a deferred
    initialization finishes at the first forward pass)."""
    initialize = param._init_impl

    def init_then_call(data, ctxs) -> None:
        initialize(data, ctxs)
        if param.__dict__.get("_init_impl") is init_then_call:
            del param._init_impl
        callback()

    param._init_impl = init_then_call


def _parameter_kind(name: str) -> str:
    """A Parameter's name without its counters ('dense3_weight' -> 'dense_weight'): equal on
    every rank for the same model, even where a rank built other Blocks first."""
    return re.sub(r"\d+", "", name)


def _leaves(state) -> list:
    """The arrays in a (nested tuple/list of) optimizer state."""
    if isinstance(state, (tuple, list)):
        return [arr for part in state for arr in _leaves(part)]
    return [] if state is None or not hasattr(state, "shape") else [state]


def _parameter_list(params) -> List[Parameter]:
    """``params`` as a list: a dict's values in the dict's order."""
    if isinstance(params, (dict, ParameterDict)):
        params = list(params.values())
    if not isinstance(params, (list, tuple)):
        raise ValueError(f"Trainer: first argument must be a list or dict of Parameters, got "
                         f"{type(params).__name__}")
    seen: Dict[int, str] = {}
    for i, param in enumerate(params):
        if not isinstance(param, Parameter):
            raise ValueError(f"Trainer: first argument must be a list or dict of Parameters, "
                             f"got list of {type(param).__name__} (item {i})")
        if id(param) in seen:
            raise ValueError(f"Trainer: Parameter '{param.name}' appears twice in the list")
        seen[id(param)] = param.name
    return list(params)
