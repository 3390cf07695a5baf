"""Graph capture and replay for ``HybridBlock.hybridize`` (MXNet's CachedOp).

The first call of a hybridized block with a new *signature* (the shapes and
dtypes of its inputs, which of them need gradients, the context, and the
``is_training()`` / ``is_recording()`` flags) runs ``hybrid_forward`` once as a
**trace**: the block's inputs and Parameters are replaced by traced arrays,
and every ``Operator`` applied to them is logged (``Operator.__call__`` hands
the call to ``_Trace.call`` while ``STATE.capturing`` is set), with the raw
arrays it read and wrote identified as *slots*. The log becomes a Python
function of straight-line code over raw arrays (one line per operator: the
bare ufunc for float arithmetic, else the operator's ``forward``), compiled
once. Later calls with that signature run the function: no block code, no
NDArray and no graph node per operator.

Under ``autograd.record()`` the replayed forward is ONE graph node
(``_CachedOpNode``). Its backward is a captured program too: at trace time the
operators' own gradient rules (written with NDArray operations) run once on
traced arrays, in reverse order, and their operations are logged the same
way. What a rule reads from its operator's per-call state (Dropout's mask,
max pooling's argmax, a convolution's columns) is found by identity among the
attributes the operator's ``forward`` set, and read from that call's operator
instance on replay. A rule that computes something the log cannot see (it
reads raw values outside operators, e.g. BatchNorm's first-order rule) is
kept as an *opaque* step: on replay its ``backward`` runs on NDArrays, with
that call's operator state. With ``create_graph=True`` (or ``train_mode=False``)
the node rebuilds the imperative graph of the call from the saved state and
runs the rules themselves, so higher orders are exact.

Everything that could make a replay differ from running the block's Python is
refused during the trace, and the signature then runs imperatively (with a
warning naming the block and the cause): host conversions (``asnumpy``,
``item``, ``bool``, ``float``, printing), reading an array's raw values
outside an operator (the ``_data`` attribute of a traced array, except its
``shape``/``dtype``/``ndim``/``size``), in-place writes (``x += 1``,
``x[:] = ...``, ``out=``), random draws outside an operator (every ``nd.random``
function draws inside one; a transform's draw on the host does not), and arrays
with a gradient that are neither inputs nor Parameters. The capture falls back at the
point of the refusal and the rest of the call runs imperatively, so its results
(random draws and running statistics included) are exactly the imperative ones.

``hybridize(static_alloc=True)``: the programs write the elementwise results that
never leave a call into buffers the entry keeps, reused from call to call.

Floor 1: imports only the ndarray package and the flags.
"""
from __future__ import annotations

import dis
import itertools
import sys
import threading
import types
import warnings
from typing import Any, Dict, List, Optional, Tuple

import numpy

from .._flags import STATE
from ..context import Context
from . import operator as _operator
from . import random as _random
from .methods import _BINARY, _INPLACE
from .ndarray import _SEQUENCE, NDArray, _operand
from .operator import Operator, no_gradient
from .ops import arith as _arith

__all__ = ["CachedOp"]

_DATA = NDArray.__dict__["_data"]          # NDArray's slot descriptor of the raw array
_OPERATOR_CALL = Operator.__call__
_PACKAGE_DIR = __file__.rsplit("ndarray", 1)[0]     # .../framework/


class _Local(threading.local):
    trace: Optional["_Trace"] = None


_TLS = _Local()
_TRACE_LOCK = threading.RLock()            # traces swap Parameter arrays' class: one at a time


# ============================================================ reading raw values
# Reading ``x._data`` of a traced array is allowed when only its metadata is used
# (``x._data.shape``): the next bytecode instruction is then an attribute load of one
# of these names. Anything else hands the raw array to code the trace cannot see.
_METADATA = frozenset({"shape", "dtype", "ndim", "size", "itemsize", "nbytes", "strides"})
_NEXT_LOAD: Dict[Any, Dict[int, Tuple[str, Any]]] = {}


def _reads_metadata(frame) -> bool:
    code = frame.f_code
    table = _NEXT_LOAD.get(code)
    if table is None:
        table = {}
        instructions = list(dis.get_instructions(code))
        for current, following in zip(instructions, instructions[1:]):
            if current.argval == "_data":
                table[current.offset] = (following.opname, following.argval)
        _NEXT_LOAD[code] = table
    nxt = table.get(frame.f_lasti)
    return nxt is not None and nxt[0] in ("LOAD_ATTR", "LOAD_METHOD") and nxt[1] in _METADATA


def _where(frame) -> str:
    """``file:line in function``, and the first caller outside the framework."""
    code = frame.f_code
    here = f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"
    outer = frame
    while outer is not None and outer.f_code.co_filename.startswith(_PACKAGE_DIR):
        outer = outer.f_back
    if outer is None or outer is frame:
        return here
    return f"{here}, called from {outer.f_code.co_filename}:{outer.f_lineno}"


def _refuse(what: str, depth: int = 2) -> None:
    """Stop capturing: ``what`` cannot be replayed (the call goes on imperatively)."""
    trace = _TLS.trace
    if trace is not None:
        trace.abandon(f"{what} (at {_where(sys._getframe(depth))})")


# ================================================================ traced arrays
class _TracedArray(NDArray):
    """An NDArray inside a trace: its operators go through ``Operator.__call__``
    (no unrecorded fast paths), and what cannot be replayed stops the capture.
    With ``STATE.capturing`` off it behaves exactly as an NDArray."""

    __slots__ = ()

    def _get_data(self):
        raw = _DATA.__get__(self, NDArray)
        if STATE.capturing:
            frame = sys._getframe(1)
            if not _reads_metadata(frame):
                trace = _TLS.trace
                if trace is not None:
                    trace.abandon(f"the raw values of an array are read outside an operator "
                                  f"(at {_where(frame)})")
        return raw

    def _set_data(self, raw) -> None:
        _DATA.__set__(self, raw)

    _data = property(_get_data, _set_data)

    @property
    def data(self):
        if STATE.capturing:
            _refuse(".data (the raw array) is read")
        return _DATA.__get__(self, NDArray)

    def asnumpy(self):
        if STATE.capturing:
            _refuse(".asnumpy() copies values to the host")
        return NDArray.asnumpy(self)

    def asscalar(self):
        if STATE.capturing:
            _refuse(".asscalar() reads a value")
        return NDArray.asscalar(self)

    def item(self):
        if STATE.capturing:
            _refuse(".item() reads a value")
        return NDArray.item(self)

    def __bool__(self):
        if STATE.capturing:
            _refuse("bool() of an array (a Python branch on array values)")
        return NDArray.__bool__(self)

    def __float__(self):
        if STATE.capturing:
            _refuse("float() of an array reads a value")
        return NDArray.__float__(self)

    def __int__(self):
        if STATE.capturing:
            _refuse("int() of an array reads a value")
        return NDArray.__int__(self)

    def __index__(self):
        if STATE.capturing:
            _refuse("an array used as a Python index reads a value")
        return NDArray.__index__(self)

    def __array__(self, dtype=None, copy=None):
        if STATE.capturing:
            _refuse("conversion of an array to NumPy reads its values")
        return NDArray.__array__(self, dtype, copy)

    def __repr__(self):
        if STATE.capturing:
            _refuse("printing an array reads its values")
        return NDArray.__repr__(self)

    __str__ = __repr__

    def __reduce__(self):
        if STATE.capturing:
            _refuse("pickling an array reads its values")
        return NDArray.__reduce__(self)

    def attach_grad(self, grad_req: str = "write", stype=None) -> None:
        if STATE.capturing:
            _refuse("attach_grad() inside hybrid_forward")
        NDArray.attach_grad(self, grad_req, stype)

    def detach(self):
        if not STATE.capturing:
            return NDArray.detach(self)
        out = _traced(_DATA.__get__(self, NDArray), self._ctx)
        out._version = self._version
        self._version[1] = True
        return out

    def _write(self, result, op_name: str):
        if STATE.capturing:
            _refuse(f"an in-place write ({op_name})")
        return NDArray._write(self, result, op_name)

    def __setitem__(self, key, value) -> None:
        if STATE.capturing:
            _refuse("an in-place write (setitem)")
        NDArray.__setitem__(self, key, value)

    def __neg__(self):
        if not STATE.capturing:
            return NDArray.__neg__(self)
        return _arith.Negative()(self)


def _traced_binary(name: str, op, reverse: bool):
    plain = getattr(NDArray, name)

    def method(self, other):
        if not STATE.capturing:
            return plain(self, other)
        other = _operand(other)
        if other is None:
            return NotImplemented
        return op()(other, self) if reverse else op()(self, other)

    method.__name__ = name
    return method


def _traced_inplace(name: str):
    plain = getattr(NDArray, name)

    def method(self, other):
        if STATE.capturing:
            _refuse(f"an in-place write ({name})")
        return plain(self, other)

    method.__name__ = name
    return method


for _name, _op, _reverse in _BINARY:
    setattr(_TracedArray, _name, _traced_binary(_name, _op, _reverse))
for _name, _op, _symbol in _INPLACE:
    setattr(_TracedArray, _name, _traced_inplace(_name))


def _traced(raw, ctx) -> _TracedArray:
    """A traced array of ``raw`` (made a plain NDArray again when its trace ends)."""
    out = _TracedArray.__new__(_TracedArray)
    NDArray.__init__(out, raw, ctx)
    trace = _TLS.trace
    if trace is not None:
        trace.arrays.append(out)
    return out


class _GeneratorGuard:
    """Stands for a context's random generator during a trace: a draw from outside an
    operator (a data transform's, on the host) would be baked into the capture, so it
    stops it."""

    __slots__ = ("_generator",)

    def __init__(self, generator) -> None:
        object.__setattr__(self, "_generator", generator)

    def __getattr__(self, name):
        if STATE.capturing:
            _refuse("random numbers are drawn outside an operator", 2)
        return getattr(self._generator, name)


# ====================================================================== the trace
_BOOKKEEPING = frozenset({"parents", "seq", "saved_inputs", "saved_outputs", "versions",
                          "freed", "n_out", "out_meta"})
_SIMPLE = (type(None), bool, int, float, complex, str, bytes, numpy.dtype, type, slice,
           type(Ellipsis), numpy.generic, range)
_MISSING = object()


def _is_simple(value) -> bool:
    """Immutable and free of arrays: a per-signature constant when an operator sets it."""
    if isinstance(value, _SIMPLE):
        return True
    if isinstance(value, (tuple, frozenset)):
        return all(_is_simple(v) for v in value)
    return isinstance(value, (types.ModuleType, Context))


class _Slot:
    """A value of the captured program: a source (input, Parameter, block attribute),
    an operator output, a constant, a head gradient, an operator's saved state, zeros,
    or a per-call operator instance."""

    __slots__ = ("kind", "raw", "phase", "index", "path")

    def __init__(self, kind: str, raw, phase: str, index=None, path=None) -> None:
        self.kind, self.raw, self.phase, self.index, self.path = kind, raw, phase, index, path


class _Instr:
    """One line of a captured program."""

    __slots__ = ("kind", "op", "cls", "pre", "post", "args", "outs", "inst", "bindings",
                 "ufunc", "flags", "mask", "name", "attr", "value", "shape", "dtype",
                 "grads", "fwd", "fast")

    def __init__(self, kind: str, **fields) -> None:
        self.kind = kind
        for name in self.__slots__[1:]:
            setattr(self, name, fields.get(name))


class _Source:
    """Where a source comes from on each call: ('input', k), ('param', Parameter) or
    ('attr', owner, name, key)."""

    __slots__ = ("kind", "where", "nd", "version", "shared")

    def __init__(self, kind: str, where, nd: NDArray) -> None:
        self.kind, self.where, self.nd = kind, where, nd
        self.version = nd._version[0]
        self.shared = nd._version[1]


class _Trace:
    """The log of one traced call, then of the gradient rules of its operators."""

    def __init__(self, block, ctx) -> None:
        self.block = block
        self.ctx = ctx
        self.xp = ctx.xp
        self.array_types = _array_types(ctx.xp)
        self.slots: List[_Slot] = []
        self.by_raw: Dict[int, int] = {}          # id(raw array) -> slot
        self.keep: List[Any] = []                 # what the ids refer to, kept alive
        self.fwd: List[_Instr] = []
        self.bwd: List[_Instr] = []
        self.sources: List[_Source] = []
        self.pending: Dict[int, Tuple] = {}       # id(raw) -> (kind, where, nd): not yet used
        self.swapped: List[NDArray] = []          # arrays whose class became _TracedArray
        self.state_of: Dict[int, Tuple[int, str, Optional[int]]] = {}
        self.inst_slot: Dict[int, int] = {}       # fwd instr -> its instance slot
        self.known_const: set = set()
        self.phase = "f"
        self.abandoned: Optional[str] = None
        self.impure: Optional[str] = None
        self.undo: List[Tuple[int, Optional[int]]] = []
        self.arrays: List[NDArray] = []           # traced arrays, made plain again at the end

    # ---------------------------------------------------------------- refusals
    def abandon(self, reason: str) -> None:
        """Stop capturing. In the forward, the call goes on imperatively from here: the
        traced arrays become plain NDArrays (their graph is the imperative one). In a
        gradient rule, the rule becomes an opaque step."""
        if self.phase == "f":
            if self.abandoned is None:
                self.abandoned = reason
            for array in self.arrays + self.swapped:
                array.__class__ = NDArray
        elif self.impure is None:
            self.impure = reason
        STATE.capturing = False

    # ------------------------------------------------------------------- slots
    def _new_slot(self, kind: str, raw, index=None, path=None) -> int:
        self.slots.append(_Slot(kind, raw, self.phase, index, path))
        self.keep.append(raw)
        return len(self.slots) - 1

    def _bind(self, raw, slot: int) -> None:
        key = id(raw)
        if self.phase == "b":
            self.undo.append((key, self.by_raw.get(key)))
        self.by_raw[key] = slot

    def add_source(self, kind: str, where, nd: NDArray, raw) -> int:
        self.sources.append(_Source(kind, where, nd))
        slot = self._new_slot("src", raw, index=len(self.sources) - 1)
        self._bind(raw, slot)
        return slot

    def offer(self, kind: str, where, nd: NDArray) -> None:
        """Make ``nd`` (a Parameter's or a block attribute's array) traced, a source from
        its first use on. Its class is swapped for the trace (restored at the end), so
        that every way of reaching it (``hybrid_forward``'s arguments, ``.data()``) is
        seen; another thread using it meanwhile sees an NDArray that behaves as one
        (``STATE.capturing`` is per thread) but is not ``type(x) is NDArray``."""
        if type(nd) is NDArray:
            nd.__class__ = _TracedArray
            self.swapped.append(nd)
        raw = _DATA.__get__(nd, NDArray)
        if id(raw) not in self.by_raw and id(raw) not in self.pending:
            self.pending[id(raw)] = (kind, where, nd)
            self.keep.append(raw)

    def _state_slot(self, raw) -> Optional[int]:
        found = self.state_of.get(id(raw))
        if found is None:
            return None
        instr, attr, index = found
        slot = self._new_slot("state", raw, index=self.inst_slot[instr], path=(attr, index))
        self._instrs().append(_Instr("state", outs=[slot], inst=self.inst_slot[instr],
                                     attr=attr, value=index))
        self._bind(raw, slot)
        return slot

    def _instrs(self) -> List[_Instr]:
        return self.fwd if self.phase == "f" else self.bwd

    def resolve_raw(self, raw, what: str) -> Tuple[str, Any]:
        """A raw array met in an operator call or its attributes: ('s', slot) or
        ('k', constant)."""
        slot = self.by_raw.get(id(raw))
        if slot is not None:
            return ("s", slot)
        pending = self.pending.pop(id(raw), None)
        if pending is not None:
            return ("s", self.add_source(pending[0], pending[1], pending[2], raw))
        slot = self._state_slot(raw)
        if slot is not None:
            return ("s", slot)
        if self.phase == "b" and id(raw) not in self.known_const:
            # a raw array a gradient rule computed outside operators (from values the
            # log cannot see): this rule is replayed as it is written
            self.impure = self.impure or f"{what} is computed outside operators"
        return ("k", raw)

    def resolve_input(self, op, x: NDArray):
        raw = _DATA.__get__(x, NDArray)
        ref = self.resolve_raw(raw, f"an input of operator {op.name}")
        if ref[0] == "k":
            if x._node is not None:
                self.abandon(f"operator {op.name} uses an array that has a gradient "
                             f"(attach_grad or recorded history) but is neither an input nor "
                             f"a Parameter of the block")
                return None
            slot = self._new_slot("const", raw)
            self._bind(raw, slot)
            if self.phase == "f":
                self.known_const.add(id(raw))
            ref = ("s", slot)
        return ref

    def _resolve_attr(self, value, op, attr: str):
        """An operator attribute: a binding ref when it holds slot values, else None."""
        if isinstance(value, self.array_types):
            ref = self.resolve_raw(value, f"attribute {attr} of operator {op.name}")
            if ref[0] == "s":
                return ref
            if self.phase == "f":
                self.known_const.add(id(value))
                self.keep.append(value)
            return None
        if isinstance(value, (tuple, list)) and any(isinstance(v, self.array_types)
                                                    for v in value):
            refs = [self._resolve_attr(v, op, attr) for v in value]
            if any(r is not None for r in refs):
                items = [r if r is not None else ("k", v) for r, v in zip(refs, value)]
                return ("t" if isinstance(value, tuple) else "l", items)
            return None
        if isinstance(value, NDArray):
            self.abandon(f"operator {op.name} holds an NDArray in attribute {attr}")
        return None

    # ----------------------------------------------------------- operator calls
    def call(self, op: Operator, inputs: tuple):
        """``op(*inputs)`` during a trace: run it as ``Operator.__call__`` does and log it."""
        refs = []
        ctx = None
        for x in inputs:
            if isinstance(x, NDArray):
                if ctx is None:
                    ctx = x._ctx
                ref = self.resolve_input(op, x)
                if ref is None:                       # refused: the call runs plainly
                    return _OPERATOR_CALL(op, *inputs)
                refs.append(ref)
            else:
                refs.append(("k", x))
        if ctx is not None and ctx is not self.ctx:
            self.abandon(f"operator {op.name} runs on {ctx}, the block's inputs are on "
                         f"{self.ctx}")
            return _OPERATOR_CALL(op, *inputs)
        pre = {k: v for k, v in op.__dict__.items() if k not in _BOOKKEEPING}
        bindings = []
        for attr, value in pre.items():
            if attr == "ctx" or attr == "xp":
                continue
            ref = self._resolve_attr(value, op, attr)
            if ref is not None:
                bindings.append((attr, ref))
        if not STATE.capturing:                       # refused while resolving
            return _OPERATOR_CALL(op, *inputs)
        pre["ctx"], pre["xp"] = self.ctx, self.xp
        flags = (STATE.training, STATE.recording)
        STATE.capturing = False                       # nested operators run plainly
        try:
            result = _OPERATOR_CALL(op, *inputs)
        finally:
            STATE.capturing = True
        outs = result if type(result) is tuple else (result,)
        post = {k: v for k, v in op.__dict__.items() if k not in _BOOKKEEPING}
        state = [k for k, v in post.items() if pre.get(k, _MISSING) is not v
                 and not _is_simple(v)]
        per_call = bool(state or bindings)
        index = len(self._instrs())
        inst = None
        if per_call:
            inst = self._new_slot("inst", op, index=index)
            if self.phase == "f":
                self.inst_slot[index] = inst
                for attr in state:
                    value = post[attr]
                    if isinstance(value, self.array_types):
                        self.state_of[id(value)] = (index, attr, None)
                        self.keep.append(value)
                    elif isinstance(value, (tuple, list)):
                        for i, v in enumerate(value):
                            if isinstance(v, self.array_types):
                                self.state_of.setdefault(id(v), (index, attr, i))
                                self.keep.append(v)
        out_slots = []
        for out in outs:
            if type(out) is NDArray:
                out.__class__ = _TracedArray
            raw = _DATA.__get__(out, NDArray)
            slot = self._new_slot("op", raw, index=index, path=len(out_slots))
            self._bind(raw, slot)
            out_slots.append(slot)
        parents = op.__dict__.get("parents") if self.phase == "f" else None
        mask = None if parents is None else tuple(p is not None for p in parents)
        ufunc = ufunc_args = None
        if not per_call and _plain_ufunc(op, refs, self) and len(outs) == 1:
            ufunc = getattr(self.xp, type(op).ufunc)
            if self.xp is numpy and type(op).ufunc in _EXACT_UFUNCS:
                # a Python number meets a float array as that array's dtype (NEP 50): a
                # 0-d array of it gives the same result, and NumPy takes it faster
                dtype = next(self.slots[r[1]].raw.dtype for r in refs if r[0] == "s")
                ufunc_args = [("k", numpy.asarray(r[1], dtype=dtype)) if r[0] == "k" else r
                              for r in refs]
        self.arrays.extend(outs)
        bound = {attr for attr, _ in bindings}
        if bound:                          # set on each call: the template keeps none
            pre = {k: v for k, v in pre.items() if k not in bound}
        self._instrs().append(_Instr(
            "call", op=op, cls=type(op), pre=pre, post=post, args=refs, outs=out_slots,
            inst=inst, bindings=bindings, ufunc=ufunc, flags=flags, mask=mask, name=op.name,
            value=type(result) is tuple, fast=ufunc_args))
        return result

    def constant(self, op: Operator, raw) -> NDArray:
        """``op.constant(raw)`` during a trace (inside a gradient rule)."""
        out = _traced(raw, op.ctx)
        ref = self.resolve_raw(raw, f"a constant in the gradient of operator {op.name}")
        if ref[0] == "k":
            slot = self._new_slot("const", raw)
            self._bind(raw, slot)
        return out

    def output(self, op: Operator, i: int) -> NDArray:
        """``op.output(i)`` during a trace."""
        out = self.constant(op, op.saved_outputs[i])
        out._node, out._index = op, i
        return out

    # ----------------------------------------------------------------- backward
    def trace_backward(self, heads: List[int]) -> Tuple[List[Optional[int]], set]:
        """Run the gradient rules of the recorded forward operators in reverse order on
        traced arrays, logging them. ``heads``: the output slots (one head gradient
        each). Returns each source's gradient slot (or None) and the reached slots."""
        self.phase = "b"
        STATE.recording, STATE.training = False, True
        grads: Dict[int, NDArray] = {}
        reached = set()
        for k, slot in enumerate(heads):
            raw = self.slots[slot].raw
            with self.ctx.scope():
                ones = self.xp.ones_like(raw)
            head = self._new_slot("head", ones, index=k)
            self._bind(ones, head)
            self._accumulate(grads, slot, _traced(ones, self.ctx))
            reached.add(slot)
        for index in range(len(self.fwd) - 1, -1, -1):
            instr = self.fwd[index]
            if instr.kind != "call" or instr.mask is None:
                continue
            if not any(s in reached for s in instr.outs):
                continue
            for ref, wanted in zip(instr.args, instr.mask):
                if wanted and ref[0] == "s":
                    reached.add(ref[1])
            gouts = [grads.get(s) for s in instr.outs]
            if all(g is None for g in gouts):
                continue
            if len(gouts) > 1:
                gouts = [g if g is not None else self._zeros(s) for g, s in zip(gouts, instr.outs)]
            results = self._rule(index, instr, gouts)
            for ref, wanted, g in zip(instr.args, instr.mask, results):
                if wanted and g is not None and ref[0] == "s":
                    self._accumulate(grads, ref[1], g)
        source_grads = []
        for slot_index, slot in enumerate(self.slots):
            if slot.kind == "src":
                g = grads.get(slot_index)
                source_grads.append((slot.index, None if g is None else
                                     self.by_raw.get(id(_DATA.__get__(g, NDArray)))))
        out = [None] * len(self.sources)
        for k, g in source_grads:
            out[k] = g
        return out, reached

    def _zeros(self, slot: int) -> NDArray:
        raw = self.slots[slot].raw
        with self.ctx.scope():
            zeros = self.xp.zeros(raw.shape, raw.dtype)
        z = self._new_slot("zeros", zeros)
        self.bwd.append(_Instr("zeros", outs=[z], shape=tuple(raw.shape), dtype=raw.dtype))
        self._bind(zeros, z)
        return _traced(zeros, self.ctx)

    def _accumulate(self, grads: Dict[int, NDArray], slot: int, g: NDArray) -> None:
        old = grads.get(slot)
        if old is None:
            grads[slot] = g
            return
        STATE.capturing = True
        try:
            grads[slot] = old + g
        finally:
            STATE.capturing = False

    def _rule(self, index: int, instr: _Instr, gouts: List[NDArray]) -> List[Optional[NDArray]]:
        """Trace the gradient rule of forward instruction ``index``; an opaque step when
        the rule cannot be logged."""
        op = instr.op
        mark = (len(self.bwd), len(self.undo), len(self.slots))
        before = dict(op.__dict__)
        self.impure = None
        error = None
        STATE.capturing = True
        try:
            results = op.backward(*gouts)
        except Exception as err:          # noqa: BLE001 - replayed: the same error on backward
            error, results = err, None
        finally:
            STATE.capturing = False
        if error is None:
            if type(results) is not tuple:
                results = (results,)
            if len(results) != len(instr.args):
                error = RuntimeError(f"backward of operator {op.name} returned {len(results)} "
                                     f"gradients for {len(instr.args)} inputs")
        writes = []
        if error is None and self.impure is None:
            for attr, value in op.__dict__.items():
                if attr in _BOOKKEEPING or before.get(attr, _MISSING) is value:
                    continue
                if instr.inst is None:
                    self.impure = f"the rule changes attribute {attr} of a shared operator"
                    break
                ref = self._value_ref(value)
                if ref is None:
                    self.impure = f"the rule sets attribute {attr} to a value computed outside"
                    break
                writes.append((attr, ref))
            for g in results:
                if g is not None and (not isinstance(g, NDArray) or
                                      id(_DATA.__get__(g, NDArray)) not in self.by_raw):
                    self.impure = self.impure or "a gradient is computed outside operators"
        if error is None and self.impure is None:
            for attr, ref in writes:
                self.bwd.append(_Instr("setattr", inst=instr.inst, attr=attr, value=ref))
            return list(results)
        # opaque: undo what the rule logged, replay the rule itself
        del self.bwd[mark[0]:]
        while len(self.undo) > mark[1]:
            key, old = self.undo.pop()
            if old is None:
                self.by_raw.pop(key, None)
            else:
                self.by_raw[key] = old
        grad_refs = [("s", self.by_raw[id(_DATA.__get__(g, NDArray))]) for g in gouts]
        outs, placeholders, metas = [], [], []
        for j, (ref, wanted) in enumerate(zip(instr.args, instr.mask)):
            g = None if error is not None or results is None else results[j]
            meta = None
            if ref[0] == "s":
                raw = self.slots[ref[1]].raw
                meta = (tuple(raw.shape), raw.dtype)
            if wanted and isinstance(g, NDArray):
                raw = _DATA.__get__(g, NDArray)
                slot = self._new_slot("op", raw, index=len(self.bwd), path=j)
                self._bind(raw, slot)
                outs.append(slot)
                placeholders.append(_traced(raw, self.ctx))
            elif wanted and error is not None and meta is not None:
                with self.ctx.scope():
                    raw = self.xp.zeros(meta[0], meta[1])
                slot = self._new_slot("op", raw, index=len(self.bwd), path=j)
                self._bind(raw, slot)
                outs.append(slot)
                placeholders.append(_traced(raw, self.ctx))
            else:
                outs.append(None)
                placeholders.append(None)
            metas.append(meta)
        self.bwd.append(_Instr("opaque", fwd=index, inst=instr.inst, grads=grad_refs,
                               outs=outs, shape=metas, name=op.name))
        return placeholders

    def _value_ref(self, value):
        if _is_simple(value):
            return ("k", value)
        if isinstance(value, self.array_types):
            slot = self.by_raw.get(id(value))
            if slot is None:
                slot = self._state_slot(value)
            return None if slot is None else ("s", slot)
        return None


def _array_types(xp) -> tuple:
    kind = type(xp.empty(0))
    return (kind,) if kind is numpy.ndarray else (kind, numpy.ndarray)


_UFUNC_FORWARDS = (_arith._Binary.forward, _arith.Divide.forward)
_EXACT_UFUNCS = frozenset({"add", "subtract", "multiply", "true_divide"})
# ufuncs given their output array by position (0.76 against 0.86 us with out=, on a tiny
# array); NumPy deprecates that for maximum and minimum, which keep the keyword
_POSITIONAL_OUT = frozenset({"add", "subtract", "multiply", "divide", "true_divide"})


def _plain_ufunc(op, refs, trace) -> bool:
    """Whether ``op``'s forward on these operands is its bare ufunc (NDArray's
    arithmetic makes the same choice): float arrays of one dtype, or a float array
    and a Python int or float, on cpu or gpu(0)."""
    cls = type(op)
    if not getattr(cls, "plain_float", False) or not getattr(cls, "ufunc", "") \
            or cls.forward not in _UFUNC_FORWARDS or len(refs) != 2 or trace.ctx.device_id:
        return False
    values = [trace.slots[r[1]].raw if r[0] == "s" else r[1] for r in refs]
    arrays = [v for v in values if isinstance(v, trace.array_types)]
    if not arrays or arrays[0].dtype.kind != "f":
        return False
    if len(arrays) == 2:
        return arrays[0].dtype is arrays[1].dtype
    scalar = values[1] if values[0] is arrays[0] else values[0]
    return type(scalar) is float or type(scalar) is int


# ============================================================== code generation
class _Program:
    """Straight-line Python over raw arrays, generated from a list of instructions."""

    def __init__(self, trace: _Trace, ctx) -> None:
        self.trace = trace
        self.ctx = ctx
        self.namespace: Dict[str, Any] = {
            "_new": _new, "_asarray": ctx.xp.asarray, "_zeros": ctx.xp.zeros,
            "_opaque": _run_opaque, "_S": STATE, "_ctx": ctx, "_ND": NDArray}
        self.lines: List[str] = []
        self.names: Dict[int, str] = {}
        self.free: List[str] = []
        self.count = itertools.count()
        self.constants: Dict[int, str] = {}

    def const(self, value) -> str:
        if value is None or value is True or value is False:
            return repr(value)
        key = id(value)
        if type(value) is numpy.ndarray and value.ndim == 0:
            # equal scalars share one object: a replay touches fewer distinct objects
            # (7% of a cold 1,000-op replay); a program never writes its constants
            key = (value.dtype.str, value.tobytes())
        name = self.constants.get(key)
        if name is None:
            name = self.constants[key] = f"K{len(self.constants)}"
            self.namespace[name] = value
        return name

    def name_of(self, slot: int) -> str:
        name = self.names.get(slot)
        if name is None:
            kind = self.trace.slots[slot]
            if kind.kind == "const":
                return self.const(kind.raw)
            raise RuntimeError(f"hybridize: internal error, slot {slot} ({kind.kind}) is "
                               f"used before it is computed")
        return name

    def new_name(self, slot: int) -> str:
        name = self.free.pop() if self.free else f"v{next(self.count)}"
        self.names[slot] = name
        return name

    def ref(self, ref) -> str:
        kind, value = ref
        if kind == "s":
            return self.name_of(value)
        if kind == "k":
            return self.const(value)
        items = ", ".join(self.ref(r) for r in value)
        if kind == "t":
            return f"({items},)" if items else "()"
        return f"[{items}]"

    def emit(self, instrs: List[_Instr], keep: set, last: Dict[int, int], indent: str,
             flags: Tuple[bool, bool], static: Optional[Dict[int, str]] = None) -> None:
        """Emit ``instrs``; slots whose last use is an instruction are freed after it
        (their names reused), unless in ``keep``. ``flags``: (training, recording) at
        the start; an operator traced under other flags gets them set around it.
        ``static``: slot -> the name of the buffer its ufunc writes into."""
        static = static or {}
        # without kept buffers, a ufunc writes into an operand that dies with it
        reuse = {} if static else _plan_reuse(instrs, keep, last, self.trace)
        for i, instr in enumerate(instrs):
            kind = instr.kind
            if kind == "call":
                if instr.flags != flags:
                    flags = instr.flags
                    self.lines.append(f"{indent}_S.training = {flags[0]}; "
                                      f"_S.recording = {flags[1]}")
                args = ", ".join(self.ref(r) for r in instr.fast or instr.args)
                if instr.ufunc is not None:
                    fn = self.const(instr.ufunc)
                    buffer = static.get(instr.outs[0])
                    if buffer is None and i in reuse:
                        buffer = self.name_of(reuse[i])
                    if buffer is None:
                        call = f"{fn}({args})"
                    elif instr.ufunc.__name__ in _POSITIONAL_OUT:
                        call = f"{fn}({args}, {buffer})"
                    else:
                        call = f"{fn}({args}, out={buffer})"
                elif instr.inst is not None:
                    inst = self.new_name(instr.inst)
                    self.lines.append(f"{indent}{inst} = _new({self.const(instr.cls)}, "
                                      f"{self.const(instr.pre)})")
                    for attr, ref in instr.bindings:
                        self.lines.append(f"{indent}{inst}.{attr} = {self.ref(ref)}")
                    call = f"{inst}.forward({args})"
                else:
                    shared = _new(instr.cls, instr.post)
                    call = f"{self.const(shared.forward)}({args})"
                self._free(instr, i, last, keep)
                if instr.inst is not None and instr.inst not in last \
                        and instr.inst not in keep:
                    self.free.append(self.names.pop(instr.inst))   # not needed after the call
                targets = [self.new_name(s) if s in last or s in keep else "_"
                           for s in instr.outs]
                if instr.value:                     # several outputs
                    self.lines.append(f"{indent}{', '.join(targets)}, = {call}")
                else:
                    self.lines.append(f"{indent}{targets[0]} = {call}")
                for s, t in zip(instr.outs, targets):
                    if t != "_" and self.trace.slots[s].raw.ndim == 0:
                        self.lines.append(f"{indent}{t} = _asarray({t})")
            elif kind == "state":
                inst = self.name_of(instr.inst)
                index = "" if instr.value is None else f"[{instr.value}]"
                self._free(instr, i, last, keep)
                target = self.new_name(instr.outs[0])
                self.lines.append(f"{indent}{target} = {inst}.{instr.attr}{index}")
            elif kind == "zeros":
                target = self.new_name(instr.outs[0])
                self.lines.append(f"{indent}{target} = _zeros({instr.shape!r}, "
                                  f"{self.const(instr.dtype)})")
            elif kind == "setattr":
                inst = self.name_of(instr.inst)
                self.lines.append(f"{indent}{inst}.{instr.attr} = {self.ref(instr.value)}")
                self._free(instr, i, last, keep)
            elif kind == "opaque":
                fwd = self.trace.fwd[instr.fwd]
                if fwd.inst is not None:
                    inst = self.name_of(fwd.inst)
                else:
                    inst = f"_new({self.const(fwd.cls)}, {self.const(fwd.post)})"
                op = fwd.op
                read = _read_inputs(type(op), fwd.mask)
                saved_in = ", ".join("None" if j not in read else
                                     f"_ND({self.ref(fwd.args[j])}, _ctx)"
                                     if fwd.args[j][0] == "s" else self.ref(fwd.args[j])
                                     for j in op.saves_inputs)
                saved_out = ", ".join(f"{j}: {self.name_of(fwd.outs[j])}"
                                      for j in op.saves_outputs)
                grads = ", ".join(self.ref(r) for r in instr.grads)
                comma = "," if saved_in else ""
                call = (f"_opaque({inst}, {self.const(fwd.mask)}, ({saved_in}{comma}), "
                        f"{{{saved_out}}}, ({grads},), _ctx, {self.const(instr.shape)})")
                self._free(instr, i, last, keep)
                targets = [self.new_name(s) if s is not None and (s in last or s in keep)
                           else "_" for s in instr.outs]
                self.lines.append(f"{indent}{', '.join(targets)}, = {call}")

    def _free(self, instr: _Instr, i: int, last: Dict[int, int], keep: set) -> None:
        for slot in _uses(instr, self.trace):
            if last.get(slot) == i and slot not in keep and slot in self.names:
                self.free.append(self.names.pop(slot))


def _read_inputs(cls, mask) -> Tuple[int, ...]:
    """The entries of ``cls.saves_inputs`` that a gradient wanted by ``mask`` (one bool
    per input) reads, by ``Operator.input_users``. Only these are kept for the backward
    program and the rebuilt graph: ``y * c`` keeps no ``y``, and can run in place."""
    if mask is None:
        return tuple(cls.saves_inputs)
    edges = tuple(True if wanted else None for wanted in mask)
    return tuple(j for k, j in enumerate(cls.saves_inputs) if cls.reads_saved_input(k, edges))


def _uses(instr: _Instr, trace: _Trace) -> List[int]:
    """The slots an instruction reads."""
    out = []

    def add(ref):
        if ref is None:
            return
        kind, value = ref
        if kind == "s":
            out.append(value)
        elif kind in ("t", "l"):
            for r in value:
                add(r)

    kind = instr.kind
    if kind == "call":
        for r in instr.args:
            add(r)
        for _, r in instr.bindings:
            add(r)
        if instr.inst is not None:
            out.append(instr.inst)
    elif kind == "state":
        out.append(instr.inst)
    elif kind == "setattr":
        out.append(instr.inst)
        add(instr.value)
    elif kind == "opaque":
        fwd = trace.fwd[instr.fwd]
        if fwd.inst is not None:
            out.append(fwd.inst)
        for j in _read_inputs(type(fwd.op), fwd.mask):
            add(fwd.args[j])
        for j in fwd.op.saves_outputs:
            out.append(fwd.outs[j])
        for r in instr.grads:
            add(r)
    return out


_STATIC_MIN_SIZE = 1024       # smaller arrays: a ufunc's out= costs more than allocating


def _readers(instrs: List[_Instr], trace: _Trace) -> Dict[int, List[_Instr]]:
    """slot -> the instructions that read it."""
    readers: Dict[int, List[_Instr]] = {}
    for instr in instrs:
        for slot in _uses(instr, trace):
            readers.setdefault(slot, []).append(instr)
    return readers


def _plan_buffers(instrs: List[_Instr], keep: set, last: Dict[int, int], trace: _Trace):
    """``static_alloc``: buffers kept by the entry for the results of elementwise ufuncs
    that stay inside one call (not returned, not saved, read only by other ufuncs, so
    no operator can keep a reference); a buffer is reused once its value is dead.
    Returns {slot: buffer index} and the buffers' (shape, dtype)."""
    readers = _readers(instrs, trace)
    assigned: Dict[int, int] = {}
    specs: List[Tuple] = []
    free: Dict[Tuple, List[int]] = {}
    for i, instr in enumerate(instrs):
        for slot in _uses(instr, trace):        # buffers of values dying here: reusable
            if slot in assigned and last.get(slot) == i:
                raw = trace.slots[slot].raw
                free.setdefault((raw.shape, raw.dtype), []).append(assigned[slot])
        if instr.kind != "call" or instr.ufunc is None:
            continue
        slot = instr.outs[0]
        raw = trace.slots[slot].raw
        if slot in keep or slot not in last or raw.ndim == 0 or raw.size < _STATIC_MIN_SIZE \
                or any(r.kind != "call" or r.ufunc is None for r in readers.get(slot, ())):
            continue
        pool = free.get((raw.shape, raw.dtype))
        if pool:
            assigned[slot] = pool.pop()
        else:
            assigned[slot] = len(specs)
            specs.append((tuple(raw.shape), raw.dtype))
    return assigned, specs


def _plan_reuse(instrs: List[_Instr], keep: set, last: Dict[int, int],
                trace: _Trace) -> Dict[int, int]:
    """{instruction index: operand slot it writes its result into}: an elementwise
    ufunc whose operand of the same shape and dtype is the result of another ufunc of
    this program (a fresh array), is read by ufuncs only (no operator keeps it), is
    neither returned nor saved, and dies at this instruction. The result is the same
    bit for bit and no array is allocated (0.76 against 0.92 us per tiny op here)."""
    readers = _readers(instrs, trace)
    fresh: set = set()
    reuse: Dict[int, int] = {}
    for i, instr in enumerate(instrs):
        if instr.kind != "call" or instr.ufunc is None:
            continue
        out = trace.slots[instr.outs[0]].raw
        for ref in instr.args:
            if ref[0] != "s":
                continue
            slot = ref[1]
            raw = trace.slots[slot].raw
            if slot in fresh and last.get(slot) == i and slot not in keep and raw.ndim \
                    and raw.shape == out.shape and raw.dtype == out.dtype \
                    and all(r.kind == "call" and r.ufunc is not None for r in readers[slot]):
                reuse[i] = slot
                break
        fresh.add(instr.outs[0])
    return reuse


class _Buffers:
    """The sets of static buffers of one program: a call takes a set (a new one when all
    are in use, so concurrent and nested calls stay correct) and gives it back."""

    def __init__(self, specs: List[Tuple], ctx) -> None:
        self.specs, self.ctx, self.free = specs, ctx, []

    def take(self) -> tuple:
        try:
            return self.free.pop()
        except IndexError:
            with self.ctx.scope():
                return tuple(self.ctx.xp.empty(shape, dtype) for shape, dtype in self.specs)

    def give(self, buffers: tuple) -> None:
        self.free.append(buffers)


def _last_uses(instrs: List[_Instr], trace: _Trace) -> Dict[int, int]:
    last = {}
    for i, instr in enumerate(instrs):
        for slot in _uses(instr, trace):
            last[slot] = i
    return last


def _new(cls, template: dict):
    """A fresh operator instance with ``template``'s attributes (no ``__init__``)."""
    op = object.__new__(cls)
    op.__dict__.update(template)
    return op


def _run_opaque(op, mask, saved_in, saved_out, grads, ctx, metas):
    """Replay a gradient rule as written: ``op.backward`` on NDArrays, with the state
    this call's forward left on ``op``; raw gradients (or None) per input."""
    op.parents = tuple(True if m else None for m in mask)
    op.saved_inputs = saved_in
    op.saved_outputs = saved_out
    op.versions = ()
    op.freed = False
    if ctx.device_id:
        with ctx.scope():
            results = op.backward(*[NDArray(g, ctx) for g in grads])
    else:
        results = op.backward(*[NDArray(g, ctx) for g in grads])
    if type(results) is not tuple:
        results = (results,)
    if len(results) != len(mask):
        raise RuntimeError(f"backward of operator {op.name} returned {len(results)} "
                           f"gradients for {len(mask)} inputs")
    out = []
    for g, wanted, meta in zip(results, mask, metas):
        if not wanted:
            out.append(None)
        elif g is None:
            out.append(None if meta is None else ctx.xp.zeros(meta[0], meta[1]))
        else:
            out.append(g._data)
    return tuple(out)


def _compile(lines: List[str], name: str, namespace: dict, filename: str):
    source = "\n".join(lines) + "\n"
    code = compile(source, filename, "exec")
    exec(code, namespace)       # noqa: S102 - generated from the trace, no user text
    function = namespace[name]
    function.__source__ = source
    return function


# =================================================================== the entries
class _Entry:
    """The compiled capture of one signature: the forward program (and, when it is
    recorded, the backward program and what rebuilding the imperative graph needs)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.forward = None
        self.backward = None
        self.sources: List[Tuple[str, Any]] = []       # (kind, where) per source
        self.meta: List[Tuple] = []                    # (shape, dtype, has_node) per source
        self.structure = None                          # the outputs' nesting, see _rebuild
        self.n_outs = 0
        self.out_version: List[Optional[Tuple[str, int]]] = []
        self.heads: List[int] = []                     # forward outputs attached to the node
        self.needs_node = False
        self.grad_sources: Tuple[bool, ...] = ()
        self.saved_sources: List[Tuple[int, int]] = []  # (saved position, source index)
        self.saved_outputs: List[Tuple[int, int]] = []  # (saved position, output index)
        self.bumps: List[Tuple[int, int, bool]] = []   # (source, version delta, now shared)
        self.recon: List[Tuple] = []                   # recorded forward operators
        self.saved_pos: Dict[int, int] = {}
        self.source_slot: List[Optional[int]] = []
        self.head_slots: List[int] = []
        self.slot_kind: Dict[int, Tuple] = {}
        self.training = False
        self.recording = False
        self.static_alloc = False
        self.forward_buffers: Optional[_Buffers] = None
        self.backward_buffers: Optional[_Buffers] = None


def _structure(trace: _Trace, value, outs: List[int], heads: List[int]):
    """The outputs' nesting, with each NDArray replaced by its index in ``outs``."""
    if isinstance(value, NDArray):
        raw = _DATA.__get__(value, NDArray)
        ref = trace.resolve_raw(raw, "an output")
        if ref[0] == "k":
            if value._node is not None:
                trace.abandon("an output has a gradient history that does not come from the "
                              "block's inputs or Parameters")
                return None
            slot = trace._new_slot("const", raw)
            trace._bind(raw, slot)
        else:
            slot = ref[1]
        if slot not in outs:
            outs.append(slot)
        index = outs.index(slot)
        if value._node is not None and STATE.recording and index not in heads:
            heads.append(index)
        return ("a", index)
    if isinstance(value, (list, tuple)):
        return ("l" if isinstance(value, list) else "t",
                tuple(_structure(trace, v, outs, heads) for v in value))
    if isinstance(value, _SIMPLE):
        return ("v", value)
    trace.abandon(f"hybrid_forward returned a {type(value).__name__}; expected NDArrays, "
                  f"lists or tuples of them, and Python numbers")
    return None


def _view_root(trace: _Trace, slot: int) -> int:
    """The slot whose memory (and version) an output shares through view operators."""
    while True:
        info = trace.slots[slot]
        if info.kind != "op" or info.phase != "f":
            return slot
        instr = trace.fwd[info.index]
        if not getattr(instr.cls, "is_view", False) or not instr.args or instr.args[0][0] != "s":
            return slot
        slot = instr.args[0][1]


def _build(trace: _Trace, result, training: bool, recording: bool,
           static_alloc: bool) -> Optional[_Entry]:
    """Compile the trace into an entry (None if the trace was refused)."""
    entry = _Entry(f"hybridized {trace.block.name}")
    entry.training, entry.recording = training, recording
    entry.static_alloc = static_alloc
    outs: List[int] = []
    heads: List[int] = []
    entry.structure = _structure(trace, result, outs, heads)
    if trace.abandoned:
        return None
    entry.n_outs = len(outs)
    entry.heads = heads
    entry.needs_node = bool(heads)
    reached = set()
    source_grads: List[Optional[int]] = [None] * len(trace.sources)
    if entry.needs_node:
        source_grads, reached = trace.trace_backward([outs[h] for h in heads])
        trace.phase = "f"
    src_slot = {}
    for index, slot in enumerate(trace.slots):
        if slot.kind == "src":
            src_slot[slot.index] = index
    entry.source_slot = [src_slot[k] for k in range(len(trace.sources))]
    entry.sources = [(s.kind, s.where) for s in trace.sources]
    for source in trace.sources:
        nd = source.nd
        entry.meta.append((tuple(_DATA.__get__(nd, NDArray).shape),
                           _DATA.__get__(nd, NDArray).dtype,
                           recording and nd._node is not None))
        delta = nd._version[0] - source.version
        shared = nd._version[1] and not source.shared
        if delta or shared:
            entry.bumps.append((len(entry.meta) - 1, delta, shared))
    entry.grad_sources = tuple(entry.needs_node and meta[2] and entry.source_slot[k] in reached
                               for k, meta in enumerate(entry.meta))
    # versions shared by outputs: a source's, or one new list per group of views
    roots = [_view_root(trace, s) for s in outs]
    for k, root in enumerate(roots):
        info = trace.slots[root]
        if info.kind == "src":
            entry.out_version.append(("src", info.index))
        elif roots.count(root) > 1 or root != outs[k]:
            entry.out_version.append(("group", roots.index(root)))
        else:
            entry.out_version.append(None)
    # what the backward program and the rebuilt graph read from the forward
    saved: List[int] = []
    if entry.needs_node:
        wanted = set()
        for instr in trace.bwd:
            for slot in _uses(instr, trace):
                info = trace.slots[slot]
                if info.phase == "f" and info.kind != "const":
                    wanted.add(slot)
        for g in source_grads:
            if g is not None and trace.slots[g].phase == "f" and trace.slots[g].kind != "const":
                wanted.add(g)
        for index, instr in enumerate(trace.fwd):
            if instr.kind != "call" or instr.mask is None:
                continue
            op = instr.op
            if instr.inst is not None:
                wanted.add(instr.inst)
            read = _read_inputs(instr.cls, instr.mask)
            for j in read:
                ref = instr.args[j]
                if ref[0] == "s" and trace.slots[ref[1]].kind != "const":
                    wanted.add(ref[1])
            for j in op.saves_outputs:
                wanted.add(instr.outs[j])
            metas = tuple((tuple(trace.slots[s].raw.shape), trace.slots[s].raw.dtype)
                          for s in instr.outs) if instr.value else None
            post = instr.post if instr.inst is None else None     # not a call's state
            entry.recon.append((index, instr.cls, post, instr.inst, tuple(instr.args),
                                tuple(instr.outs), instr.mask, read,
                                tuple(op.saves_outputs), metas))
        saved = sorted(wanted)
        entry.saved_pos = {slot: i for i, slot in enumerate(saved)}
        for i, slot in enumerate(saved):
            info = trace.slots[slot]
            if info.kind == "src":
                entry.saved_sources.append((i, info.index))
            elif slot in outs:
                entry.saved_outputs.append((i, outs.index(slot)))
        entry.head_slots = [outs[h] for h in heads]
        entry.slot_kind = {i: (s.kind, s.index, s.path) for i, s in enumerate(trace.slots)
                           if s.phase == "f"}
        entry.const_raw = {i: s.raw for i, s in enumerate(trace.slots)
                           if s.kind == "const" and s.phase == "f"}
    entry.forward = _forward_program(trace, outs, saved, entry)
    if entry.needs_node:
        entry.backward = _backward_program(trace, heads, outs, saved, source_grads, entry)
    entry.first_saved = tuple(trace.slots[s].raw for s in saved)
    entry.first_outs = tuple(trace.slots[s].raw for s in outs)
    return entry


def _forward_program(trace: _Trace, outs: List[int], saved: List[int], entry: _Entry):
    prog = _Program(trace, trace.ctx)
    args = []
    for k, slot in enumerate(entry.source_slot):
        prog.names[slot] = f"a{k}"
        args.append(f"a{k}")
    scoped = bool(trace.ctx.device_id)
    indent = "        " if scoped else "    "
    base = (entry.training, entry.recording)
    toggles = any(i.kind == "call" and i.flags != base for i in trace.fwd)
    body_indent = indent + ("    " if toggles else "")
    keep = set(outs) | set(saved)
    last = _last_uses(trace.fwd, trace)
    static = {}
    if entry.static_alloc:
        assigned, specs = _plan_buffers(trace.fwd, keep, last, trace)
        if specs:
            entry.forward_buffers = _Buffers(specs, trace.ctx)
            static = {slot: f"b{k}" for slot, k in assigned.items()}
            args.append("B")
    prog.emit(trace.fwd, keep, last, body_indent, base, static)
    results = []
    for slot in outs:
        if trace.slots[slot].kind == "const":
            results.append(f"{prog.const(trace.slots[slot].raw)}.copy()")
        else:
            results.append(prog.name_of(slot))
    returned = f"({', '.join(results)},)"
    if entry.needs_node:
        returned += f", ({', '.join(prog.name_of(s) for s in saved)}{',' if saved else ''})"
    lines = [f"def forward({', '.join(args)}):"]
    if static:
        n = len(entry.forward_buffers.specs)
        lines.append(f"    {', '.join(f'b{k}' for k in range(n))}, = B")
    if scoped:
        prog.namespace["_scope"] = trace.ctx.scope
        lines.append("    with _scope():")
    if toggles:
        lines.append(f"{indent}try:")
        lines.extend(prog.lines)
        lines.append(f"{body_indent}return {returned}")
        lines.append(f"{indent}finally:")
        lines.append(f"{body_indent}_S.training = {base[0]}; _S.recording = {base[1]}")
    else:
        lines.extend(prog.lines)
        lines.append(f"{indent}return {returned}")
    return _compile(lines, "forward", prog.namespace, f"<{entry.name} forward>")


def _backward_program(trace: _Trace, heads: List[int], outs: List[int], saved: List[int],
                      source_grads: List[Optional[int]], entry: _Entry):
    prog = _Program(trace, trace.ctx)
    args = []
    for slot_index, slot in enumerate(trace.slots):
        if slot.kind == "head":
            prog.names[slot_index] = f"g{slot.index}"
    args = [f"g{k}" for k in range(len(heads))]
    for i, slot in enumerate(saved):
        prog.names[slot] = f"s{i}"
    scoped = bool(trace.ctx.device_id)
    indent = "        " if scoped else "    "
    returned_slots = [g for g, wanted in zip(source_grads, entry.grad_sources)
                      if wanted and g is not None]
    keep = set(returned_slots)
    last = _last_uses(trace.bwd, trace)
    static = {}
    if entry.static_alloc:
        assigned, specs = _plan_buffers(trace.bwd, keep, last, trace)
        if specs:
            entry.backward_buffers = _Buffers(specs, trace.ctx)
            static = {slot: f"b{k}" for slot, k in assigned.items()}
            args.append("B")
    prog.emit(trace.bwd, keep, last, indent, (True, False), static)
    results = []
    for g, wanted in zip(source_grads, entry.grad_sources):
        results.append(prog.name_of(g) if wanted and g is not None else "None")
    lines = [f"def backward({', '.join(args + ['saved'])}):"]
    if static:
        n = len(entry.backward_buffers.specs)
        lines.append(f"    {', '.join(f'b{k}' for k in range(n))}, = B")
    if saved:
        lines.append(f"    {', '.join(f's{i}' for i in range(len(saved)))}, = saved")
    if scoped:
        prog.namespace["_scope"] = trace.ctx.scope
        lines.append("    with _scope():")
    lines.extend(prog.lines)
    lines.append(f"{indent}return ({', '.join(results)},)")
    return _compile(lines, "backward", prog.namespace, f"<{entry.name} backward>")


# ======================================================================= the node
class _CachedOpNode(Operator):
    """The graph node of one replayed call: its backward runs the captured backward
    program on the raw arrays the forward program saved."""

    name = "hybridized block"

    def backward(self, *grad_outputs):
        entry = self.entry
        if STATE.recording or not STATE.training:
            return self._rebuild_backward(grad_outputs)
        raws = [g._data for g in grad_outputs]
        buffers = entry.backward_buffers
        if buffers is None:
            results = entry.backward(*raws, self.saved)
        else:
            taken = buffers.take()
            results = entry.backward(*raws, taken, self.saved)
            buffers.give(taken)
        ctx = self.ctx
        return tuple(None if r is None else NDArray(r, ctx) for r in results)

    def _rebuild_backward(self, grad_outputs):
        """The call's imperative graph, rebuilt from the saved state, back-propagated by
        the operators' own rules (recorded under ``create_graph``: exact to any order)."""
        entry, saved, ctx = self.entry, self.saved, self.ctx
        sources = self.sources
        kinds = entry.slot_kind
        nodes: Dict[int, Operator] = {}
        arrays: Dict[int, NDArray] = {}

        def value(slot):
            return saved[entry.saved_pos[slot]]

        def array(ref):
            if ref[0] == "k":
                return ref[1]
            slot = ref[1]
            kind, index, path = kinds[slot]
            if kind == "src":
                return sources[index]
            found = arrays.get(slot)
            if found is None:
                raw = entry.const_raw[slot] if kind == "const" else value(slot)
                found = arrays[slot] = NDArray(raw, ctx)
                producer = nodes.get(index) if kind == "op" else None
                if producer is not None:
                    found._node, found._index = producer, path
            return found

        for (index, cls, post, inst, args, outs, mask, read, saves_out,
             multi) in entry.recon:
            op = value(inst) if inst is not None else _new(cls, post)
            edges = []
            for ref, wanted in zip(args, mask):
                edge = None
                if wanted and ref[0] == "s":
                    kind, where, path = kinds[ref[1]]
                    if kind == "src":
                        nd = sources[where]
                        edge = None if nd._node is None else (nd._node, nd._index)
                    elif kind == "op" and where in nodes:
                        edge = (nodes[where], path)
                edges.append(edge)
            op.parents = tuple(edges)
            op.seq = next(_SEQUENCE)
            op.versions = ()
            op.freed = False
            op.saved_inputs = tuple(array(args[j]) if j in read else None
                                    for j in cls.saves_inputs)
            op.saved_outputs = {j: value(outs[j]) for j in saves_out}
            if multi is not None:
                op.n_out, op.out_meta = len(outs), multi
            nodes[index] = op
        grads: Dict[int, NDArray] = {}

        def add(slot, g):
            old = grads.get(slot)
            grads[slot] = g if old is None else old + g

        for slot, g in zip(entry.head_slots, grad_outputs):
            add(slot, g)
        for (index, cls, post, inst, args, outs, mask, read, saves_out,
             multi) in reversed(entry.recon):
            op = nodes[index]
            gouts = [grads.get(s) for s in outs]
            if all(g is None for g in gouts):
                continue
            if multi is not None:
                with ctx.scope():
                    gouts = [g if g is not None else NDArray(ctx.xp.zeros(*meta), ctx)
                             for g, meta in zip(gouts, multi)]
            if ctx.device_id:
                with ctx.scope():
                    results = op.backward(*gouts)
            else:
                results = op.backward(*gouts)
            if type(results) is not tuple:
                results = (results,)
            if len(results) != len(args):
                raise RuntimeError(f"backward of operator {op.name} returned {len(results)} "
                                   f"gradients for {len(args)} inputs")
            if STATE.recording and not op.differentiable_backward:
                results = tuple(None if g is None else no_gradient(op.name, op.parents, g)
                                for g in results)
            for ref, edge, g in zip(args, op.parents, results):
                if edge is not None and g is not None:
                    add(ref[1], g)
        return tuple(grads.get(entry.source_slot[k]) if wanted else None
                     for k, wanted in enumerate(entry.grad_sources))

    def release(self) -> None:
        super().release()
        self.saved = None
        self.sources = None


# ================================================================= the dispatcher
_IMPERATIVE = "imperative"


def _flatten(args, flat: List[NDArray]):
    """The signature part of ``args``: NDArrays become their position in ``flat``."""
    out = []
    for a in args:
        if isinstance(a, NDArray):
            flat.append(a)
            out.append(None)
        elif isinstance(a, (list, tuple)):
            out.append((type(a) is list, _flatten(a, flat)))
        else:
            out.append(("v", a))
    return tuple(out)


def _unflatten(args, replace):
    out = []
    for a in args:
        if isinstance(a, NDArray):
            out.append(replace(a))
        elif isinstance(a, (list, tuple)):
            items = _unflatten(a, replace)
            out.append(items if isinstance(a, list) else tuple(items))
        else:
            out.append(a)
    return out


def _rebuild(structure, arrays):
    kind, value = structure
    if kind == "a":
        return arrays[value]
    if kind == "v":
        return value
    items = [_rebuild(s, arrays) for s in value]
    return items if kind == "l" else tuple(items)


class CachedOp:
    """The captures of one hybridized block, one per signature.

    ``static_alloc``: the programs keep buffers for the elementwise results that stay
    inside a call and reuse them on later calls (see ``_plan_buffers``); without it
    every intermediate is allocated as in imperative mode, and freed as soon as it is
    dead. ``static_shape``: accepted; captures are always specialised on the input
    shapes, so a call with new shapes traces again.
    """

    def __init__(self, static_alloc: bool = False, static_shape: bool = False) -> None:
        self.static_alloc = bool(static_alloc)
        self.static_shape = bool(static_shape)
        self.entries: Dict[Any, Any] = {}

    def clear(self) -> None:
        self.entries.clear()

    def __reduce__(self):
        """Copied or pickled without its captures (they refer to the original's
        Parameters and hold compiled code): the copy traces anew."""
        return (CachedOp, (self.static_alloc, self.static_shape))

    def __call__(self, block, args: tuple):
        recording, training = STATE.recording, STATE.training
        if len(args) == 1 and type(args[0]) is NDArray:
            x = args[0]
            flat = [x]
            ctx = x._ctx
            data = x._data
            key = (ctx, training, recording, data.shape, data.dtype,
                   recording and x._node is not None)
        else:
            flat = []
            structure = _flatten(args, flat)
            if not flat:
                return block._hybrid_call(*args)      # raises the imperative error
            ctx = flat[0]._ctx
            key = (ctx, training, recording, structure,
                   tuple((x._data.shape, x._data.dtype, recording and x._node is not None)
                         for x in flat))
        try:
            entry = self.entries.get(key)
        except TypeError:                  # an unhashable argument: no capture
            return block._hybrid_call(*args)
        if entry is None:
            return self._trace(block, args, flat, ctx, key)
        if entry is _IMPERATIVE:
            return block._hybrid_call(*args)
        sources = self._sources(entry, flat, ctx, recording)
        if sources is None:                # a Parameter changed shape, dtype or gradient
            return self._trace(block, args, flat, ctx, key)
        return _replay(entry, sources, ctx)

    @staticmethod
    def _sources(entry: _Entry, flat: List[NDArray], ctx, recording: bool):
        """The source arrays of this call, or None if they no longer fit the entry."""
        out = []
        for (kind, where), (shape, dtype, has_node) in zip(entry.sources, entry.meta):
            if kind == "input":
                out.append(flat[where])
                continue
            if kind == "param":
                nd = where.data(ctx)
            else:
                owner, name, key = where
                nd = getattr(owner, name, None)
                if key is not None:
                    try:
                        nd = nd[key]
                    except (TypeError, KeyError, IndexError):
                        return None
                if not isinstance(nd, NDArray) or nd._ctx is not ctx:
                    return None
            raw = nd._data
            if raw.shape != shape or raw.dtype != dtype or \
                    (recording and (nd._node is not None) != has_node):
                return None
            out.append(nd)
        return out

    def _trace(self, block, args, flat, ctx, key):
        """Run ``hybrid_forward`` as a trace; compile it, or fall back to imperative."""
        training, recording = STATE.training, STATE.recording
        with _TRACE_LOCK:
            trace = _Trace(block, ctx)
            outer = _TLS.trace
            _TLS.trace = trace
            result = entry = guard = None
            generators = _random._generators
            try:
                with ctx.scope():
                    generator = _random._generator(ctx)
                guard = generators[ctx] = _GeneratorGuard(generator)
                for p in block.collect_params().values():
                    _offer_param(trace, p, ctx)
                block.apply(lambda b: _offer_attributes(trace, b))
                positions = itertools.count()      # _unflatten visits flat's order

                def source(x):
                    raw = _DATA.__get__(x, NDArray)
                    if id(raw) in trace.by_raw or id(raw) in trace.pending:
                        raw = raw[...]           # one array passed twice: two sources
                    t = _traced(raw, x._ctx)
                    t._node, t._index, t._version = x._node, x._index, x._version
                    trace.add_source("input", next(positions), t, raw)
                    return t

                traced_args = _unflatten(args, source)
                STATE.capturing = True
                result = block._hybrid_call(*traced_args)
                STATE.capturing = False
                if trace.abandoned is None:
                    entry = _build(trace, result, training, recording, self.static_alloc)
            finally:
                STATE.capturing = False
                STATE.training, STATE.recording = training, recording
                for array in trace.arrays:
                    array.__class__ = NDArray
                for array in trace.swapped:
                    array.__class__ = NDArray
                if guard is not None and generators.get(ctx) is guard:
                    generators[ctx] = guard._generator
                _TLS.trace = outer
        if entry is None:
            self.entries[key] = _IMPERATIVE
            warnings.warn(f"{block._describe()}: hybridize cannot capture this call: "
                          f"{trace.abandoned}; calls with these input shapes and modes run "
                          f"imperatively (same results, no speed-up)", RuntimeWarning,
                          stacklevel=5)
            return _plain(result)
        self.entries[key] = entry
        sources = [flat[s.where] if s.kind == "input" else s.nd for s in trace.sources]
        return _first_call(entry, trace, sources, ctx)


def _plain(value):
    """``value`` with traced arrays made plain (after a refused trace)."""
    if isinstance(value, NDArray):
        if type(value) is not NDArray:
            value.__class__ = NDArray
        return value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def _offer_param(trace: _Trace, param, ctx) -> None:
    if param._data is None:
        return
    try:
        nd = param.data(ctx)
    except RuntimeError:
        return
    trace.offer("param", param, nd)


def _offer_attributes(trace: _Trace, block) -> None:
    """NDArrays held in a block's attributes become sources (read anew on each call)."""
    for name, value in vars(block).items():
        if isinstance(value, NDArray):
            trace.offer("attr", (block, name, None), value)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                if isinstance(v, NDArray):
                    trace.offer("attr", (block, name, i), v)
        elif isinstance(value, dict) and not name.startswith("_"):
            for k, v in value.items():
                if isinstance(v, NDArray):
                    trace.offer("attr", (block, name, k), v)


def offer_params(block, ctx) -> None:
    """Called by a HybridBlock's forward while a trace runs: its Parameters (initialized
    only now, for deferred ones) become traced sources."""
    trace = _TLS.trace
    if trace is None:
        return
    for p in list(block._reg_params.values()) + list(block._params.values()):
        _offer_param(trace, p, ctx)


def _outputs(entry: _Entry, raws, sources, ctx) -> List[NDArray]:
    outs = []
    groups: Dict[int, list] = {}
    for k, raw in enumerate(raws):
        out = NDArray(raw, ctx)
        shared = entry.out_version[k]
        if shared is not None:
            if shared[0] == "src":
                version = sources[shared[1]]._version
            else:
                version = groups.setdefault(shared[1], [0, False])
            version[1] = True
            out._version = version
        outs.append(out)
    return outs


def _attach(entry: _Entry, outs: List[NDArray], sources, saved, ctx) -> None:
    node = _CachedOpNode()
    node.name = entry.name
    node.entry, node.saved, node.sources = entry, saved, sources
    node.ctx, node.xp = ctx, ctx.xp
    node.parents = tuple((nd._node, nd._index) if wanted else None
                         for nd, wanted in zip(sources, entry.grad_sources))
    node.seq = next(_SEQUENCE)
    heads = entry.heads
    if len(heads) > 1:
        node.n_out = len(heads)
        node.out_meta = tuple((outs[h]._data.shape, outs[h]._data.dtype) for h in heads)
    versions = [(sources[k]._version, sources[k]._version[0]) for _, k in entry.saved_sources]
    versions += [(outs[k]._version, outs[k]._version[0]) for _, k in entry.saved_outputs]
    node.versions = versions
    i = 0
    for h in heads:
        out = outs[h]
        out._node, out._index = node, i
        i += 1


def _replay(entry: _Entry, sources: List[NDArray], ctx):
    raws = [nd._data for nd in sources]
    buffers = entry.forward_buffers
    if buffers is not None:
        taken = buffers.take()
        raws.append(taken)
    if entry.needs_node:
        results, saved = entry.forward(*raws)
    else:
        results = entry.forward(*raws)
    if buffers is not None:
        buffers.give(taken)
    for k, delta, shared in entry.bumps:
        version = sources[k]._version
        version[0] += delta
        if shared:
            version[1] = True
    outs = _outputs(entry, results, sources, ctx)
    if entry.needs_node:
        _attach(entry, outs, sources, saved, ctx)
    return _rebuild(entry.structure, outs)


def _first_call(entry: _Entry, trace: _Trace, sources, ctx):
    """The traced call's own results, attached to a node over the trace's values."""
    outs = _outputs(entry, entry.first_outs, sources, ctx)
    if entry.needs_node:
        _attach(entry, outs, sources, entry.first_saved, ctx)
    entry.first_saved = entry.first_outs = None
    return _rebuild(entry.structure, outs)


# ============================================================ the operator hooks
def _hook_call(op, inputs):
    trace = _TLS.trace
    if trace is None:
        return _OPERATOR_CALL(op, *inputs)
    return trace.call(op, inputs)


def _hook_constant(op, raw):
    trace = _TLS.trace
    if trace is None:
        return NDArray(raw, op.ctx)
    return trace.constant(op, raw)


def _hook_output(op, i):
    trace = _TLS.trace
    if trace is None:
        out = NDArray(op.saved_outputs[i], op.ctx)
        out._node, out._index = op, i
        return out
    return trace.output(op, i)


_operator._capture_hooks = (_hook_call, _hook_constant, _hook_output)
