"""Host memory: freed large arrays stay in the process heap for the next step (glibc).

A training step frees and allocates the same large NumPy arrays every step
(activations, gradients, products). glibc's malloc serves a block at least its
*mmap threshold* (128 KiB at start) by a fresh ``mmap`` and gives it back to the OS
when freed, and gives back the heap's free top beyond its *trim threshold*; every
page of memory that comes back costs a page fault and a zeroing when it is written
again (about 2 µs per 4 KiB page here). glibc raises both thresholds itself when a
mapped block is freed, up to 32 MiB and 64 MiB on 64-bit systems, but a training
step's mix of sizes and lifetimes keeps it far below: a LeNet training step on MNIST
(batch 128) took 1,100-1,400 page faults, every step.

At import, on Linux with glibc, framework sets the two thresholds to those ceilings
(``mallopt(M_MMAP_THRESHOLD, 32 MiB)``, ``mallopt(M_TRIM_THRESHOLD, 64 MiB)``): the
same LeNet step then takes no page fault, and up to 64 MiB of freed memory stays
with the process. MXNet keeps freed host memory in a pool for the same reason.
Blocks above 32 MiB are mapped and unmapped as before.

Left alone when ``FRAMEWORK_HOST_MALLOC=default`` is set, when the process set
glibc's own ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_``, and on other
C libraries and systems. Ground floor: imports nothing from the framework.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = ["ENV_VAR", "MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory", "TUNED"]

ENV_VAR = "FRAMEWORK_HOST_MALLOC"
MMAP_THRESHOLD = 32 << 20          # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems
TRIM_THRESHOLD = 64 << 20          # twice it, as glibc's own adjustment sets it
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3        # glibc's mallopt parameters
_GLIBC_VARS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")

TUNED = False                      # whether keep_freed_memory() changed the thresholds


def _glibc():
    """The C library when it is glibc (it has ``gnu_get_libc_version``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt") else None


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds to their adaptive ceilings (see the module
    docstring), unless ``FRAMEWORK_HOST_MALLOC=default`` or the process chose them.
    Returns whether they were set."""
    global TUNED
    choice = os.environ.get(ENV_VAR, "").strip().lower()
    if choice not in ("", "default", "keep"):
        raise ValueError(f"{ENV_VAR}={choice!r}: expected 'keep' (the default: freed "
                         f"memory up to 64 MiB stays with the process) or 'default' "
                         f"(glibc's own thresholds)")
    if choice == "default" or any(v in os.environ for v in _GLIBC_VARS):
        return False
    libc = _glibc()
    if libc is None:
        return False
    TUNED = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) \
        & bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return TUNED
