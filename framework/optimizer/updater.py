"""`Updater`: applies an optimizer to (index, grad, weight) triples and keeps each
weight's state (MXNet 1.9.1's ``mx.optimizer.Updater``), and its safe serialisation.

``get_states`` writes an HDF5 image in memory (h5py on a BytesIO), never a pickle:

    /                    attrs: format, optimizer_class, running (JSON), optimizer (JSON,
                         only with dump_optimizer)
    /states/<n>          one group per weight index; attrs: index (JSON: an int or a str),
                         structure (JSON: the nesting of the state, e.g.
                         {"tuple": [{"array": "a0"}, null]}); datasets a0, a1, ...: the arrays

``running`` holds ``num_update``, the per-device, per-index update counts, and the
optimizer's running values (Nadam's ``m_schedule``, LARS's last and current rates).
``optimizer`` holds the class name and the plain hyperparameters (numbers, strings,
bools, None, and lists/tuples/dicts of them) of the optimizer and of its lr_scheduler.
Loading parses JSON and reads arrays; it cannot run code. Loaded states are moved to
the context of their weight on the next update (``sync_state_context``).
"""
from __future__ import annotations

import io
import json
import numbers
from typing import Any, Dict

import numpy

from .. import lr_scheduler as _lr_scheduler
from ..context import Context, move
from ..ndarray.ndarray import NDArray
from .optimizer import Optimizer

__all__ = ["Updater", "get_updater"]

_FORMAT = "framework.optimizer.Updater/1"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_SEQUENCE = (list, tuple)
_CPU = Context("cpu", 0)
_MISSING = object()


class Updater:
    """Updates weights with ``optimizer``, creating each weight's state on first use.

    ``updater(index, grad, weight)`` (MXNet's argument order); ``index``, ``grad`` and
    ``weight`` may be lists. ``states``: index -> state. When the optimizer aggregates
    (``aggregate_num > 0``: SGD, NAG, LAMB, LARS), a list call updates the weights of
    one dtype together, as MXNet does.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"Updater: expected an fw.optimizer.Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.states: Dict[Any, Any] = {}
        self.states_synced: Dict[Any, bool] = {}
        self.aggregate_updates = optimizer.aggregate_num > 0

    def __call__(self, index, grad, weight) -> None:
        """Update ``weight`` (in place) with ``grad``."""
        opt = self.optimizer
        if type(index) not in _SEQUENCE:
            if type(index) is bytes:
                index = index.decode()
            state = self.states.get(index, _MISSING)
            if (state is _MISSING or not self.states_synced.get(index, False)
                    or type(weight) is not NDArray):
                state = self._state(index, weight)
            opt._set_current_context(weight._ctx.device_id)
            opt.update_multi_precision(index, weight, grad, state)
            return
        indices = [i.decode() if isinstance(i, bytes) else i for i in index]
        grads, weights = list(grad), list(weight)
        if not (len(indices) == len(grads) == len(weights)):
            raise ValueError(f"Updater: got {len(indices)} indices, {len(grads)} gradients and "
                             f"{len(weights)} weights; expected one of each per parameter")
        if not weights:
            return
        states = [self._state(i, w) for i, w in zip(indices, weights)]
        opt._set_current_context(weights[0]._ctx.device_id)
        if not self.aggregate_updates:
            for i, w, g, s in zip(indices, weights, grads, states):
                opt.update_multi_precision(i, w, g, s)
            return
        by_dtype: Dict[Any, list] = {}
        for entry in zip(indices, weights, grads, states):
            by_dtype.setdefault(entry[1]._data.dtype, []).append(entry)
        for group in by_dtype.values():
            i, w, g, s = (list(column) for column in zip(*group))
            opt.update_multi_precision(i, w, g, s)

    def _state(self, index, weight):
        """The state of ``index``: created on first use, moved to ``weight``'s context
        after ``set_states``."""
        if not isinstance(weight, NDArray):
            raise TypeError(f"Updater: the weight of index {index!r} must be an NDArray, got "
                            f"{type(weight).__name__}")
        if index not in self.states:
            self.states[index] = self.optimizer.create_state_multi_precision(index, weight)
            self.states_synced[index] = True
        elif not self.states_synced.get(index, False):
            self.states[index] = self.sync_state_context(self.states[index], weight._ctx)
            self.states_synced[index] = True
        return self.states[index]

    def sync_state_context(self, state, context: Context):
        """``state`` (an NDArray, or tuples/lists of them) copied onto ``context``."""
        if isinstance(state, NDArray):
            if state._ctx is context:
                return state
            return NDArray(move(state._data, state._ctx, context), context)
        if isinstance(state, _SEQUENCE):
            synced = [self.sync_state_context(s, context) for s in state]
            return tuple(synced) if isinstance(state, tuple) else synced
        return state

    # ------------------------------------------------------------ serialisation
    def get_states(self, dump_optimizer: bool = False) -> bytes:
        """The states, update counts and (``dump_optimizer``) the optimizer's
        hyperparameters, as the bytes of an HDF5 file (see the module docstring)."""
        import h5py
        opt = self.optimizer
        buffer = io.BytesIO()
        with h5py.File(buffer, "w", track_order=True) as h5:
            h5.attrs["format"] = _FORMAT
            h5.attrs["optimizer_class"] = type(opt).__name__
            h5.attrs["running"] = json.dumps(_running_state(opt))
            if dump_optimizer:
                h5.attrs["optimizer"] = json.dumps(_optimizer_dump(opt))
            group = h5.create_group("states", track_order=True)
            for n, (index, state) in enumerate(self.states.items()):
                if isinstance(index, bool) or not isinstance(index, (numbers.Integral, str)):
                    raise TypeError(f"Updater.get_states: state index {index!r} is a "
                                    f"{type(index).__name__}; only int and str indices "
                                    f"can be saved")
                entry = group.create_group(str(n))
                entry.attrs["index"] = json.dumps(index if isinstance(index, str) else int(index))
                entry.attrs["structure"] = json.dumps(_write_state(entry, state, index, [0]))
        return buffer.getvalue()

    def set_states(self, states: bytes) -> None:
        """Load what ``get_states`` wrote: the states replace the current ones (and move to
        their weights' contexts on the next update), the update counts are restored, and,
        if the image holds the optimizer, its hyperparameters too (an optimizer of another
        class is replaced by a new one of the saved class, as MXNet's pickle would)."""
        import h5py
        if not isinstance(states, (bytes, bytearray, memoryview)):
            raise TypeError(f"Updater.set_states: expected the bytes written by get_states, "
                            f"got {type(states).__name__}")
        data = bytes(states)
        if not data.startswith(_HDF5_SIGNATURE):
            if data[:1] == b"\x80":
                raise ValueError("Updater.set_states: these bytes look like a pickle (MXNet's "
                                 "format); pickles are refused because loading one can run "
                                 "code. Save the states with fw's Updater.get_states")
            raise ValueError(f"Updater.set_states: not an HDF5 image written by "
                             f"Updater.get_states (starts with {data[:8]!r})")
        try:
            with h5py.File(io.BytesIO(data), "r") as h5:
                if h5.attrs.get("format") != _FORMAT:
                    raise ValueError(f"format {h5.attrs.get('format')!r}, expected {_FORMAT!r}")
                saved_class = str(h5.attrs["optimizer_class"])
                running = json.loads(h5.attrs["running"])
                dump = json.loads(h5.attrs["optimizer"]) if "optimizer" in h5.attrs else None
                loaded = {}
                for entry in h5["states"].values():
                    index = json.loads(entry.attrs["index"])
                    loaded[index] = _read_state(entry, json.loads(entry.attrs["structure"]))
        except (KeyError, OSError, TypeError, json.JSONDecodeError) as err:
            raise ValueError(f"Updater.set_states: the image is damaged or was not written "
                             f"by Updater.get_states ({type(err).__name__}: {err})") from None
        except ValueError as err:
            raise ValueError(f"Updater.set_states: {err}") from None
        if dump is not None:
            self.optimizer = _restore_optimizer(self.optimizer, dump)
            self.aggregate_updates = self.optimizer.aggregate_num > 0
        _restore_running(self.optimizer, running, saved_class)
        self.states = loaded
        self.states_synced = dict.fromkeys(loaded, False)


def get_updater(optimizer: Optimizer) -> Updater:
    """An ``Updater`` for ``optimizer`` (MXNet's closure for the kvstore)."""
    return Updater(optimizer)


# ------------------------------------------------------------------ state arrays
def _write_state(group, state, index, counter):
    """Store the arrays of ``state`` in ``group``; return its structure (JSON-able)."""
    if state is None:
        return None
    if isinstance(state, NDArray):
        name = f"a{counter[0]}"
        counter[0] += 1
        group.create_dataset(name, data=state.asnumpy())
        return {"array": name}
    if isinstance(state, _SEQUENCE):
        kind = "tuple" if isinstance(state, tuple) else "list"
        return {kind: [_write_state(group, s, index, counter) for s in state]}
    raise TypeError(f"Updater.get_states: the state of index {index!r} holds a "
                    f"{type(state).__name__}; only NDArrays, None and tuples/lists of them "
                    f"can be saved")


def _read_state(group, structure):
    """The state described by ``structure``, its arrays read from ``group`` onto cpu(0)."""
    if structure is None:
        return None
    if not isinstance(structure, dict) or len(structure) != 1:
        raise ValueError(f"unexpected state structure {structure!r}")
    (kind, value), = structure.items()
    if kind == "array":
        dataset = group[value]
        return NDArray(numpy.array(dataset[()]), _CPU)
    if kind in ("tuple", "list"):
        items = [_read_state(group, s) for s in value]
        return tuple(items) if kind == "tuple" else items
    raise ValueError(f"unexpected state structure {structure!r}")


# ------------------------------------------------------------ plain values (JSON)
class _NotPlain(Exception):
    pass


def _to_plain(value):
    """``value`` as JSON (tuples and dicts tagged, so that they come back as they were)."""
    if isinstance(value, numpy.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [_to_plain(v) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[_to_plain(k), _to_plain(v)] for k, v in value.items()]}
    raise _NotPlain(type(value).__name__)


def _from_plain(value):
    if isinstance(value, list):
        return [_from_plain(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"tuple"}:
            return tuple(_from_plain(v) for v in value["tuple"])
        if set(value) == {"dict"}:
            return {_hashable(_from_plain(k)): _from_plain(v) for k, v in value["dict"]}
        raise ValueError(f"unexpected value {value!r}")
    return value


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def _plain_attrs(obj, skip=(), private: bool = False) -> dict:
    """The attributes of ``obj`` that are plain values."""
    out = {}
    for name, value in vars(obj).items():
        if name in skip or (name.startswith("_") and not private):
            continue
        try:
            out[name] = _to_plain(value)
        except _NotPlain:
            continue
    return out


def _running_state(opt: Optimizer) -> dict:
    counts = [[int(device), [[index, int(count)] for index, count in table.items()]]
              for device, table in opt._all_index_update_counts.items()]
    return {"num_update": int(opt.num_update), "counts": counts,
            "attrs": {name: _to_plain(getattr(opt, name)) for name in opt._running_state}}


def _restore_running(opt: Optimizer, running: dict, saved_class: str) -> None:
    opt.num_update = int(running["num_update"])
    tables = {int(device): {_hashable(index): int(count) for index, count in table}
              for device, table in running["counts"]}
    tables.setdefault(0, {})
    opt._all_index_update_counts = tables
    opt._index_update_count = tables[0]
    if type(opt).__name__ == saved_class:
        for name, value in running["attrs"].items():
            setattr(opt, name, _from_plain(value))


def _optimizer_dump(opt: Optimizer) -> dict:
    sched = opt.lr_scheduler
    return {"class": type(opt).__name__,
            "attrs": _plain_attrs(opt, skip=("param_dict", "lr_scheduler")),
            "lr_scheduler": None if sched is None else
            {"class": type(sched).__name__, "attrs": _plain_attrs(sched, private=True)}}


def _restore_optimizer(opt: Optimizer, dump: dict) -> Optimizer:
    name = dump["class"]
    if type(opt).__name__ != name:
        klass = Optimizer.opt_registry.get(str(name).lower())
        if klass is None or klass.__name__ != name:
            raise ValueError(f"Updater.set_states: the states were saved with optimizer "
                             f"{name!r}, which is not registered; registered optimizers: "
                             f"{', '.join(sorted(Optimizer.opt_registry))}")
        fresh = klass()
        fresh.param_dict = opt.param_dict
        opt = fresh
    for attr, value in dump["attrs"].items():
        setattr(opt, attr, _from_plain(value))
    saved = dump["lr_scheduler"]
    if saved is None:
        opt.lr_scheduler = None
        return opt
    sched = opt.lr_scheduler
    if sched is None or type(sched).__name__ != saved["class"]:
        klass = getattr(_lr_scheduler, str(saved["class"]), None)
        if not (isinstance(klass, type) and issubclass(klass, _lr_scheduler.LRScheduler)):
            raise ValueError(f"Updater.set_states: the states were saved with lr_scheduler "
                             f"{saved['class']!r}, which fw.lr_scheduler does not define and "
                             f"the optimizer does not have")
        sched = klass.__new__(klass)
    for attr, value in saved["attrs"].items():
        setattr(sched, attr, _from_plain(value))
    opt.lr_scheduler = sched
    return opt
