"""The two thread-local autograd flags: recording and training.

The flags themselves live in ``framework._flags`` (the ground floor), which
operators read directly on their hot path; this module is their public face.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import ContextManager, Iterator

from .._flags import STATE

__all__ = ["record", "pause", "train_mode", "predict_mode", "is_recording",
           "is_training", "set_recording", "set_training"]


def is_recording() -> bool:
    """Whether operators are being recorded for backward."""
    return STATE.recording


def is_training() -> bool:
    """Whether layers such as Dropout and BatchNorm behave as in training."""
    return STATE.training


def set_recording(is_recording: bool) -> bool:  # noqa: D401 - MXNet's name
    """Set the recording flag; returns its previous value."""
    old, STATE.recording = STATE.recording, bool(is_recording)
    return old


def set_training(train_mode: bool) -> bool:
    """Set the training flag; returns its previous value."""
    old, STATE.training = STATE.training, bool(train_mode)
    return old


@contextmanager
def _scope(recording, training) -> Iterator[None]:
    old_rec, old_train = STATE.recording, STATE.training
    if recording is not None:
        STATE.recording = recording
    if training is not None:
        STATE.training = training
    try:
        yield
    finally:
        STATE.recording, STATE.training = old_rec, old_train


def record(train_mode: bool = True) -> ContextManager[None]:
    """``with record():`` records operators; training mode unless ``train_mode=False``."""
    return _scope(True, train_mode)


def pause(train_mode: bool = False) -> ContextManager[None]:
    """``with pause():`` stops recording inside a ``record`` block (predict mode by default)."""
    return _scope(False, train_mode)


def train_mode() -> ContextManager[None]:
    """``with train_mode():`` training behaviour, recording unchanged."""
    return _scope(None, True)


def predict_mode() -> ContextManager[None]:
    """``with predict_mode():`` inference behaviour, recording unchanged."""
    return _scope(None, False)
