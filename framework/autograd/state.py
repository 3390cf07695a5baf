"""The two thread-local autograd flags: recording and training.

The flags themselves live in ``framework._flags`` (the ground floor), which
operators read directly on their hot path; this module is their public face.
"""
from __future__ import annotations

from contextlib import ContextDecorator
from typing import ContextManager

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


class _Scope(ContextDecorator):
    """Sets the flags on entry and restores them on exit (``with`` or as a decorator).

    A small class rather than ``@contextmanager``: ``with record():`` runs once per
    training step, and a generator-based manager costs several times more."""

    __slots__ = ("recording", "training", "old")

    def __init__(self, recording, training) -> None:
        self.recording, self.training = recording, training

    def __enter__(self) -> None:
        state = STATE
        self.old = (state.recording, state.training)
        if self.recording is not None:
            state.recording = self.recording
        if self.training is not None:
            state.training = self.training

    def __exit__(self, exc_type, exc, traceback) -> None:
        STATE.recording, STATE.training = self.old

    def _recreate_cm(self) -> "_Scope":
        return _Scope(self.recording, self.training)   # a decorated function may recurse


def record(train_mode: bool = True) -> ContextManager[None]:
    """``with record():`` records operators; training mode unless ``train_mode=False``."""
    return _Scope(True, train_mode)


def pause(train_mode: bool = False) -> ContextManager[None]:
    """``with pause():`` stops recording inside a ``record`` block (predict mode by default)."""
    return _Scope(False, train_mode)


def train_mode() -> ContextManager[None]:
    """``with train_mode():`` training behaviour, recording unchanged."""
    return _Scope(None, True)


def predict_mode() -> ContextManager[None]:
    """``with predict_mode():`` inference behaviour, recording unchanged."""
    return _Scope(None, False)
