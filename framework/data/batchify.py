"""Batchify functions (MXNet's ``gluon.data.batchify``): a list of samples -> one batch.

    Stack()([a, b, c])                          # (3, ...) NDArray; samples of one shape
    Pad(pad_val=-1, ret_length=True)(seqs)      # (N, longest) NDArray and the lengths
    Group(Pad(), Stack())([(seq, label), ...])  # one function per sample field
    AsList()(samples)                           # the list as it is (text, objects)

``default_batchify_fn`` is what ``DataLoader`` uses: NDArray samples are stacked,
numbers and NumPy arrays become one NDArray of their dtype, and tuple samples give a
list with one batch per field (as MXNet).
"""
from __future__ import annotations

import math
import numbers
from typing import Callable, List, Optional, Sequence

import numpy

from ..context import current_context
from .. import ndarray as nd
from ..ndarray import NDArray

__all__ = ["Stack", "Pad", "Append", "Group", "AsList", "default_batchify_fn"]


def _wrap(host: numpy.ndarray) -> NDArray:
    """A host array as an NDArray of the same dtype on the current context (no copy on cpu)."""
    ctx = current_context()
    if ctx.xp is numpy:
        return NDArray(numpy.ascontiguousarray(host), ctx)
    return nd.array(host, ctx=ctx, dtype=host.dtype)


def _host(x):
    """A sample as a NumPy array (NDArrays copied to the host only when on a device)."""
    if isinstance(x, NDArray):
        return x._data if x.context.xp is numpy else x.asnumpy()
    return numpy.asarray(x)


def stack_host(samples: Sequence, where: str) -> numpy.ndarray:
    """Samples of one shape (numbers, NumPy arrays, NDArrays) stacked into a NumPy array."""
    if isinstance(samples[0], NDArray):
        arrays = [_host(x) for x in samples]
    else:
        arrays = samples
    try:
        batch = numpy.asarray(arrays)
    except ValueError:
        shapes = [numpy.shape(a) for a in arrays]
        first = shapes[0]
        other = next((i for i, s in enumerate(shapes) if s != first), None)
        if other is None:
            raise
        raise ValueError(f"{where}: samples must have one shape to be stacked; sample 0 has "
                         f"shape {first}, sample {other} has shape {shapes[other]} (pad them "
                         f"with batchify.Pad, or pass a batchify_fn)") from None
    if batch.dtype.kind in "OUSV":
        raise TypeError(f"{where}: cannot stack samples of {type(samples[0]).__name__} into an "
                        f"array (dtype {batch.dtype}); use batchify.AsList for such fields")
    return batch


def default_batchify_fn(data: Sequence):
    """MXNet's default batchify: NDArrays stacked, numbers and arrays as one NDArray of their
    dtype, tuple samples as a list of per-field batches."""
    first = data[0]
    if isinstance(first, NDArray):
        _check_same_shape(data, "default_batchify_fn")
        return nd.stack(*data)
    if isinstance(first, tuple):
        return [default_batchify_fn(field) for field in zip(*data)]
    return _wrap(stack_host(data, "default_batchify_fn"))


def default_batchify_host(data: Sequence):
    """``default_batchify_fn`` giving NumPy arrays (the DataLoader's worker processes use it;
    the main process makes them NDArrays)."""
    if isinstance(data[0], tuple):
        return [default_batchify_host(field) for field in zip(*data)]
    return stack_host(data, "default_batchify_fn")


def _check_same_shape(data: Sequence[NDArray], where: str) -> None:
    first = data[0].shape
    for i, x in enumerate(data):
        if not isinstance(x, NDArray) or x.shape != first:
            got = x.shape if isinstance(x, NDArray) else type(x).__name__
            raise ValueError(f"{where}: samples must be NDArrays of one shape to be stacked; "
                             f"sample 0 has shape {first}, sample {i} is {got}")


class Stack:
    """Stack samples of one shape into a batch of shape (N, ...).

    NDArrays are stacked with ``nd.stack``; numbers, lists and NumPy arrays become one
    NDArray of their NumPy dtype; list or tuple samples give a list of stacked fields.
    """

    def __call__(self, data: Sequence):
        first = data[0]
        if isinstance(first, NDArray):
            _check_same_shape(data, "batchify.Stack")
            return nd.stack(*data)
        if isinstance(first, (tuple, list)) and not _is_numeric_list(first):
            return [self(field) for field in zip(*data)]
        return _wrap(stack_host(data, "batchify.Stack"))


def _is_numeric_list(x) -> bool:
    """A list of numbers is one sample to stack (Stack()([[1, 2], [3, 4]]) -> (2, 2))."""
    return isinstance(x, list) and all(isinstance(v, numbers.Number) for v in x)


class Pad:
    """Pad samples to the longest along ``axis``, then stack them: (N, ..., longest, ...).

    axis: the axis of each sample that varies (the others must match).
    pad_val: the fill value (default 0). ret_length: also return the int32 NDArray of
    the original lengths. dtype: of the result (default: the samples' dtype; float32 for
    lists of numbers, as ``nd.array``). round_to: round the padded length up to a
    multiple of this.

        Pad()([[1, 2, 3, 4], [4, 5, 6], [8, 2]])   # [[1 2 3 4] [4 5 6 0] [8 2 0 0]], float32
    """

    def __init__(self, axis: int = 0, pad_val=None, ret_length: bool = False, dtype=None,
                 round_to: Optional[int] = None) -> None:
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise TypeError(f"batchify.Pad: axis must be an int, got {axis!r}")
        if round_to is not None and (not isinstance(round_to, numbers.Integral) or round_to < 1):
            raise ValueError(f"batchify.Pad: round_to must be None or a positive int, "
                             f"got {round_to!r}")
        self._axis = int(axis)
        self._pad_val = 0 if pad_val is None else pad_val
        self._ret_length = bool(ret_length)
        self._dtype = dtype
        self._round_to = round_to

    def __call__(self, data: Sequence):
        if isinstance(data[0], tuple):
            raise TypeError("batchify.Pad: the samples are tuples; pad one field with "
                            "Group(Pad(), Stack(), ...) instead")
        if isinstance(data[0], NDArray):
            dtype = data[0].dtype if self._dtype is None else self._dtype
        elif isinstance(data[0], numpy.ndarray):
            dtype = data[0].dtype if self._dtype is None else self._dtype
        else:
            dtype = numpy.float32 if self._dtype is None else self._dtype
        arrays = [_host(x) for x in data]
        padded, lengths = pad_host(arrays, self._axis, self._pad_val, dtype, self._round_to)
        batch = _wrap(padded)
        if self._ret_length:
            return batch, _wrap(lengths)
        return batch


def pad_host(arrays: List[numpy.ndarray], axis: int, pad_val, dtype,
             round_to: Optional[int]):
    """NumPy arrays padded along ``axis`` to the longest and stacked: (batch, lengths)."""
    ndim = arrays[0].ndim
    if ndim == 0:
        raise ValueError("batchify.Pad: samples are scalars; there is no axis to pad")
    if not -ndim <= axis < ndim:
        raise ValueError(f"batchify.Pad: axis {axis} is out of range for samples of shape "
                         f"{arrays[0].shape}")
    axis %= ndim
    moved = [numpy.moveaxis(a, axis, 0) for a in arrays]
    rest = moved[0].shape[1:]
    for i, a in enumerate(moved):
        if a.ndim != ndim or a.shape[1:] != rest:
            raise ValueError(f"batchify.Pad: samples must match outside axis {axis}; sample 0 "
                             f"has shape {arrays[0].shape}, sample {i} has shape "
                             f"{arrays[i].shape}")
    lengths = numpy.array([a.shape[0] for a in moved], dtype=numpy.int32)
    longest = int(lengths.max())
    if round_to is not None:
        longest = round_to * math.ceil(longest / round_to)
    out = numpy.full((len(arrays), longest) + rest, pad_val, dtype=dtype)
    valid = numpy.arange(longest) < lengths[:, None]              # (N, longest)
    out[valid] = numpy.concatenate(moved, axis=0)
    return numpy.moveaxis(out, 1, axis + 1), lengths


class Append:
    """Keep samples apart: a list of NDArrays, each with a batch axis of size 1 inserted at
    ``batch_axis`` when ``expand`` (samples may differ in shape)."""

    def __init__(self, expand: bool = True, batch_axis: int = 0) -> None:
        self._expand = bool(expand)
        self._batch_axis = batch_axis

    def __call__(self, data: Sequence) -> List[NDArray]:
        out = [x if isinstance(x, NDArray) else nd.array(x) for x in data]
        if self._expand:
            out = [x.expand_dims(axis=self._batch_axis) for x in out]
        return out


class Group:
    """One batchify function per sample field: ``Group(Pad(), Stack())`` on samples
    ``(sequence, label)`` gives ``(padded sequences, stacked labels)``.

    Give the functions as arguments or as one list or tuple.
    """

    def __init__(self, fn, *args: Callable) -> None:
        if isinstance(fn, (list, tuple)):
            if args:
                raise ValueError("batchify.Group: give the functions as Group(A, B, C) or "
                                 "Group([A, B, C]), not both")
            fns = tuple(fn)
        else:
            fns = (fn,) + args
        for i, f in enumerate(fns):
            if not callable(f):
                raise TypeError(f"batchify.Group: function {i} is a {type(f).__name__}, "
                                f"which is not callable")
        self._fn = fns

    def __call__(self, data: Sequence) -> tuple:
        fields = len(self._fn)
        for i, sample in enumerate(data):
            if len(sample) != fields:
                raise ValueError(f"batchify.Group: sample {i} has {len(sample)} fields, but the "
                                 f"group has {fields} functions")
        return tuple(fn([sample[i] for sample in data]) for i, fn in enumerate(self._fn))


class AsList:
    """The samples as a plain list (for text and other objects; use it inside ``Group``)."""

    def __call__(self, data: Sequence) -> list:
        return list(data)
