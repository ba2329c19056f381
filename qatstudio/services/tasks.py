"""The state one piece of background work shares with the window: cancel, pause, time paused.

Qt-free on purpose (the Qt half is ``workers.py``): a job receives a ``TaskState`` and hands
``state.should_stop`` to the engine, which polls it. Pausing makes ``should_stop`` block until the
task is resumed or cancelled, so the engine needs no notion of pause.
"""
from __future__ import annotations

import threading
import time
from enum import Enum
from typing import Optional

from ..engine.cancel import Cancelled


class Outcome(str, Enum):
    """How a task ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TaskState:
    """Cancellation token + pause switch for one task; every method is thread-safe."""

    def __init__(self) -> None:
        self._cancelled = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._lock = threading.Lock()
        self._paused_since: Optional[float] = None
        self._paused_total = 0.0

    # --- asked by the window ---
    def cancel(self) -> None:
        self._cancelled.set()
        self._running.set()  # wake a paused worker so it can see the cancellation

    def pause(self) -> None:
        with self._lock:
            if self._paused_since is None and not self._cancelled.is_set():
                self._paused_since = time.monotonic()
                self._running.clear()

    def resume(self) -> None:
        with self._lock:
            if self._paused_since is not None:
                self._paused_total += time.monotonic() - self._paused_since
                self._paused_since = None
            self._running.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancelled.is_set()

    @property
    def is_paused(self) -> bool:
        with self._lock:
            return self._paused_since is not None

    def paused_seconds(self) -> float:
        """Time spent paused so far (the current pause included)."""
        with self._lock:
            current = time.monotonic() - self._paused_since if self._paused_since is not None else 0.0
            return self._paused_total + current

    # --- polled by the worker ---
    def should_stop(self) -> bool:
        """True once cancelled; blocks while paused (the engine polls this between steps)."""
        while not self._running.wait(0.1):
            pass
        return self._cancelled.is_set()

    def raise_if_cancelled(self) -> None:
        if self.should_stop():
            raise Cancelled()
