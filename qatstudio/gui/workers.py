"""Running a job (see ``jobs.py``) on a QThread and hearing about it as Qt signals.

One ``Task`` per piece of work: a worker QObject living on its own QThread runs the job with a
``TaskState``; what the job reports, its result, its error or its cancellation come back to the
GUI thread as queued signals on the ``Task`` (which lives in the GUI thread). ``TaskRunner`` keeps
every task alive until its thread has finished, so no QThread is ever destroyed while running.
"""
from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from ..engine.cancel import Cancelled
from ..engine.errors import UserError
from ..services.jobs import Job
from ..services.logs import log_failure
from ..services.tasks import TaskState

log = logging.getLogger(__name__)

# Every QThread this module started, held until it has finished: even if its Task (or the whole
# window) is deleted early, a running QThread is never destroyed ("QThread: Destroyed while thread
# is still running" aborts the process). Finished ones are dropped from the GUI thread only.
_live_threads: "set[QThread]" = set()


def _purge() -> None:
    for thread in list(_live_threads):
        if thread.isFinished():
            _live_threads.discard(thread)


def running_threads() -> list[QThread]:
    _purge()
    return [thread for thread in list(_live_threads) if thread.isRunning()]


@dataclass
class TaskError:
    """A job's failure, told in words; ``details`` holds the traceback for the curious and
    ``log_file`` the file it was also written to (unexpected errors only)."""

    title: str
    message: str
    details: str
    exception: BaseException
    log_file: Optional[Path] = None


def describe_error(task_name: str, error: BaseException) -> TaskError:
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    if isinstance(error, UserError):
        return TaskError(error.title.format(task=task_name), error.words(), details, error)
    if isinstance(error, MemoryError):
        return TaskError(f"{task_name} ran out of memory",
                         "try fewer neurons, fewer layers or a lower bit-width", details, error)
    text = str(error) or type(error).__name__
    return TaskError(f"{task_name} failed", f"{type(error).__name__}: {text}", details, error)


class _Worker(QObject):
    """Lives on the task's thread; runs the job once when the thread starts."""

    message = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    done = Signal()

    def __init__(self, name: str, job: Job, state: TaskState):
        super().__init__()
        self._name, self._job, self._state = name, job, state

    @Slot()
    def run(self) -> None:
        try:
            result = self._job(self._state, self.message.emit)
        except Cancelled:
            self.cancelled.emit()
        except BaseException as error:  # noqa: BLE001 - every failure becomes a message in the window
            self.failed.emit(describe_error(self._name, error))
        else:
            self.succeeded.emit(result)
        finally:
            self._job = None  # drop references to models and data as soon as possible
            self.done.emit()


class Task(QObject):
    """The GUI-thread handle of one job: its signals arrive in the GUI thread."""

    message = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)  # TaskError
    cancelled = Signal()
    finished = Signal()  # after one of succeeded / failed / cancelled, once the thread has stopped

    def __init__(self, name: str, job: Job, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.name = name
        self.state = TaskState()
        self.outcome: Optional[str] = None  # "succeeded", "failed" or "cancelled"
        self._thread = QThread()
        self._thread.setObjectName(f"qatstudio-{name}")
        self._worker = _Worker(name, job, self.state)
        self._worker.moveToThread(self._thread)
        queued = Qt.ConnectionType.QueuedConnection
        self._thread.started.connect(self._worker.run)
        self._worker.message.connect(self._on_message, queued)
        self._worker.succeeded.connect(self._on_succeeded, queued)
        self._worker.failed.connect(self._on_failed, queued)
        self._worker.cancelled.connect(self._on_cancelled, queued)
        # Direct: quit from the worker's own thread, so a GUI thread blocked in wait() can't deadlock.
        self._worker.done.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._on_thread_finished, queued)

    def start(self) -> None:
        _purge()
        _live_threads.add(self._thread)
        self._thread.start()

    def cancel(self) -> None:
        self.state.cancel()

    def wait(self, msecs: int = -1) -> bool:
        """Block until the thread stops (GUI thread: only at shutdown)."""
        if self._thread is None:
            return True
        return self._thread.wait() if msecs < 0 else self._thread.wait(msecs)

    @Slot(object)
    def _on_message(self, message) -> None:
        self.message.emit(message)

    @Slot(object)
    def _on_succeeded(self, result) -> None:
        self.outcome = "succeeded"
        self.succeeded.emit(result)

    @Slot(object)
    def _on_failed(self, error: TaskError) -> None:
        self.outcome = "failed"
        error.log_file = log_failure(f"{self.name} failed", error.exception, error.message)
        self.failed.emit(error)

    @Slot()
    def _on_cancelled(self) -> None:
        self.outcome = "cancelled"
        log.info("%s cancelled", self.name)
        self.cancelled.emit()

    @Slot()
    def _on_thread_finished(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.wait()  # returns at once: the thread has finished
            _live_threads.discard(thread)
        self._worker = None
        if self.outcome is None:  # the worker never ran (shouldn't happen); say so rather than hang
            self.outcome = "cancelled"
            self.cancelled.emit()
        self.finished.emit()


class TaskRunner(QObject):
    """Starts tasks and keeps them alive until their threads end; one shared Cancel for all."""

    busyChanged = Signal(bool)

    def __init__(self, parent: Optional[QObject] = None):
        super().__init__(parent)
        self._tasks: list[Task] = []

    def start(self, name: str, job: Job) -> Task:
        task = Task(name, job, self)
        self._tasks.append(task)
        task.finished.connect(lambda task=task: self._forget(task))
        was_busy = len(self._tasks) > 1
        task.start()
        if not was_busy:
            self.busyChanged.emit(True)
        return task

    def _forget(self, task: Task) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
            task.setParent(None)
            task.deleteLater()
        if not self._tasks:
            self.busyChanged.emit(False)

    @property
    def tasks(self) -> list[Task]:
        return list(self._tasks)

    def is_busy(self) -> bool:
        return bool(self._tasks)

    def current(self) -> Optional[Task]:
        return self._tasks[-1] if self._tasks else None

    def cancel_all(self) -> None:
        for task in self._tasks:
            task.cancel()

    def wait_all(self, msecs: int = -1) -> bool:
        """Cancel nothing, just block until every thread has stopped (shutdown only)."""
        return all(task.wait(msecs) for task in list(self._tasks))
