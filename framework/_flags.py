"""The thread-local flags every floor reads: recording, training, capturing.

Ground floor: this module imports nothing from the framework, so operators
read ``STATE.recording`` on their hot path without an import circle. The
public API over these flags is ``framework.autograd`` (record, pause, ...).
"""
import threading

__all__ = ["STATE"]


class _Flags(threading.local):
    """Per-thread flags; the class attributes are each new thread's initial values."""

    recording = False      # operators become graph nodes (autograd.record)
    training = False       # Dropout, BatchNorm, rrelu behave as in training
    capturing = False      # a HybridBlock is tracing its graph (hybridize)


STATE = _Flags()
