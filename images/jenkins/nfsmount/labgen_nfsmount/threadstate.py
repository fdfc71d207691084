"""Python thread states for libfuse's worker threads.

libfuse runs the callbacks on threads of its own.  For a thread Python does not know, ctypes creates a
thread state at every callback and deletes it afterwards (since 3.11 with a frame stack mmap'd and
unmapped each time): about a fifth of the CPU a cached stat costs.  One extra PyGILState reference per
worker thread, never released, keeps its thread state for as long as the thread lives."""

from __future__ import annotations

import ctypes
import threading

_kept: set[int] = set()
_ensure = ctypes.pythonapi.PyGILState_Ensure


def keep_thread_state() -> None:
    """Called at the start of every callback, with the GIL held (so the set needs no lock)."""
    ident = threading.get_ident()
    if ident not in _kept:
        _kept.add(ident)
        _ensure()
