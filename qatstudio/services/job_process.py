"""A job's work run in a child process beside the window, so that the window's process never waits
on that work's Python (the GIL).

One ``JobProcess`` serves one window: a "spawn" child, started ahead (``start``) and reused job after
job, runs a module-level function ``work(state, tell, *args)``. ``run`` is called on the task's own
thread and looks like the job to its caller: what the work tells comes back over one pipe and is
told there, its result is returned, its error raised (the child's traceback as its cause), its
``Cancelled`` raised. The caller's ``TaskState`` (pause, resume, cancel) goes the other way over the
same pipe, and the child's ``ChildState`` reads it between steps. A child that dies makes ``run``
raise ``ChildDied``; a child never outlives its parent, and ``close`` ends it.
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import signal
import threading
import time
import traceback
from multiprocessing.connection import Connection, wait
from typing import Callable, Iterable, Optional

from ..engine.cancel import Cancelled
from ..engine.errors import UserError
from .tasks import TaskState

MIRROR_S = 0.05  # how often the caller's pause and cancel are looked at while the child works
CLOSE_WAIT_S = 2.0  # a closed child that hasn't exited by then is killed

# Control words, parent -> child; replies are (kind, payload): ("ready", None), ("tell", message),
# ("done", result), ("failed", (error, traceback text)), ("cancelled", None).
PAUSE, RESUME, CANCEL = "pause", "resume", "cancel"


class ChildDied(UserError):
    """The child process ended in the middle of a job (killed, out of memory, crashed)."""


class RemoteTraceback(Exception):
    """The child's traceback, as the cause of the error ``run`` raises."""

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


def died_in_words(exitcode: Optional[int]) -> str:
    """Why a child ended, from its exit code, as the message of ``ChildDied``."""
    if exitcode is not None and exitcode < 0:
        try:
            how = f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"was killed by signal {-exitcode}"
        if -exitcode == signal.SIGKILL:
            how += " (the system may have run out of memory)"
    else:
        how = f"ended unexpectedly (exit code {exitcode})"
    return f"the process it ran in {how}; what it had done is lost"


class ChildState:
    """The child's side of a ``TaskState``: ``should_stop`` reads the parent's words, blocks while
    paused and is True once cancelled; ``paused_seconds`` is the time it blocked."""

    def __init__(self, connection: Connection):
        self._connection = connection
        self._paused = self._cancelled = False
        self._paused_s = 0.0

    def _read(self, timeout: float = 0.0) -> None:
        while self._connection.poll(timeout):
            word = self._connection.recv()
            self._cancelled = self._cancelled or word in (CANCEL, None)  # None: the parent closes
            self._paused = word == PAUSE or (self._paused and word not in (RESUME, CANCEL))
            timeout = 0.0

    def should_stop(self) -> bool:
        self._read()
        if self._paused and not self._cancelled:
            since = time.monotonic()
            while self._paused and not self._cancelled:
                self._read(timeout=1.0)
            self._paused_s += time.monotonic() - since
        return self._cancelled

    def raise_if_cancelled(self) -> None:
        if self.should_stop():
            raise Cancelled()

    @property
    def is_cancelled(self) -> bool:
        return self._cancelled

    def paused_seconds(self) -> float:
        return self._paused_s


def _exit_with_parent() -> None:
    """Child side: end this process as soon as the parent's is gone (even killed)."""
    wait([multiprocessing.parent_process().sentinel])
    os._exit(1)


def _portable_error(error: BaseException) -> BaseException:
    """``error`` if it survives pickling, else a RuntimeError that says what it was."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - any error must reach the parent in words
        return RuntimeError(f"{type(error).__name__}: {error}")


def _serve(connection: Connection, preload: tuple[str, ...], nice: int) -> None:
    """The child's main loop: import ``preload``, say ready, then run one request after another."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal: the window stops the work
    os.nice(nice)
    threading.Thread(target=_exit_with_parent, name="parent-watch", daemon=True).start()
    for name in preload:
        importlib.import_module(name)
    connection.send(("ready", None))
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            request = None
        except Exception as error:  # noqa: BLE001 - a request this process can't read (its work won't import)
            connection.send(("failed", (_portable_error(error), traceback.format_exc())))
            continue
        if request is None:  # closed: nothing here needs tearing down (torch's own takes seconds)
            os._exit(0)
        if isinstance(request, str):  # a pause or cancel that came after its job had ended
            continue
        work, args = request
        result = None
        try:
            result = work(ChildState(connection), lambda message: connection.send(("tell", message)), *args)
        except Cancelled:
            reply = ("cancelled", None)
        except BaseException as error:  # noqa: BLE001 - every failure goes to the parent
            reply = ("failed", (_portable_error(error), traceback.format_exc()))
        else:
            reply = ("done", result)
        try:
            connection.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            connection.send(("failed", (RuntimeError(f"the result can't be sent back: {error}"), "")))
        del result, reply  # models and data go as soon as they are sent


class JobProcess:
    """One child process that runs jobs' work, one job at a time, started once and reused.

    ``preload``: modules the child imports as soon as it starts (torch takes seconds), so that the
    first job finds them loaded. ``nice``: how much lower the child's CPU priority is than its
    parent's. ``start`` and ``close`` are for the owner's thread, ``run`` for the task's.
    """

    def __init__(self, preload: Iterable[str] = (), name: str = "qatstudio-worker", nice: int = 0):
        self.preload, self.name, self.nice = tuple(preload), name, nice
        self._process = None
        self._connection: Optional[Connection] = None
        self._ready = False
        self._closed = False
        self._busy = threading.Lock()

    def start(self) -> None:
        """Start the child now, unless it runs; returns at once (it imports ``preload`` on its own)."""
        self._closed = False
        self._ensure_started()

    def _ensure_started(self) -> None:
        if self._closed:
            raise Cancelled()  # closed by its owner: no new child
        if self._process is not None and self._process.is_alive():
            return
        self._discard()
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=_serve, args=(theirs, self.preload, self.nice), name=self.name, daemon=True)
        process.start()
        theirs.close()
        self._process, self._connection, self._ready = process, ours, False

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process is not None else None

    def is_alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def is_ready(self) -> bool:
        """Whether the child has started and imported its modules (task's thread: reads the pipe)."""
        if not self._ready and self._connection is not None:
            try:
                if self._connection.poll():
                    self._ready = self._connection.recv()[0] == "ready"
            except (EOFError, OSError):
                pass
        return self._ready

    def run(self, work: Callable, args: tuple, state: TaskState, tell: Callable[[object], None]):
        """``work(child_state, tell, *args)`` in the child; its result, as if it ran here."""
        if not self._busy.acquire(blocking=False):
            raise RuntimeError(f"{self.name} is already running a job")
        try:
            self._ensure_started()
            process, connection = self._process, self._connection
            try:
                connection.send((work, args))
            except (BrokenPipeError, EOFError, OSError):
                return self._died(process)
            sent = {CANCEL: False, PAUSE: False}
            while True:
                self._mirror(state, connection, sent)
                try:
                    if not wait([connection, process.sentinel], MIRROR_S):
                        continue
                    if not connection.poll():
                        return self._died(process)
                    kind, payload = connection.recv()
                except (EOFError, OSError):
                    return self._died(process)
                if kind == "tell":
                    tell(payload)
                elif kind == "ready":
                    self._ready = True
                elif kind == "done":
                    return payload
                elif kind == "cancelled":
                    raise Cancelled()
                elif kind == "failed":
                    error, text = payload
                    raise error from RemoteTraceback(text)
        finally:
            self._busy.release()

    @staticmethod
    def _mirror(state: TaskState, connection: Connection, sent: dict) -> None:
        """Tell the child what changed in ``state`` since the last look."""
        try:
            if state.is_cancelled:
                if not sent[CANCEL]:
                    connection.send(CANCEL)
                    sent[CANCEL] = True
            elif state.is_paused != sent[PAUSE]:
                connection.send(PAUSE if state.is_paused else RESUME)
                sent[PAUSE] = not sent[PAUSE]
        except OSError:
            pass  # the child is gone: the next wait sees it

    def _died(self, process):
        """After the child ended mid-job: Cancelled if its owner closed it, else ChildDied in words."""
        process.join(CLOSE_WAIT_S)
        code = process.exitcode
        if self._process is process:
            self._discard()
        if self._closed:
            raise Cancelled()
        raise ChildDied(died_in_words(code))

    def close(self) -> None:
        """End the child: asked to leave, killed if it hasn't within ``CLOSE_WAIT_S``; killed at once
        while a job runs (``run`` then raises Cancelled on its thread and cleans up)."""
        self._closed = True
        if self._busy.locked():
            if self._process is not None:
                self._process.kill()
            return
        self._discard()

    def _discard(self) -> None:
        process, connection = self._process, self._connection
        self._process, self._connection, self._ready = None, None, False
        if connection is not None:
            try:
                connection.send(None)
            except OSError:
                pass
            connection.close()
        if process is not None:
            process.join(CLOSE_WAIT_S)
            if process.is_alive():
                process.kill()
                process.join()
            process.close()
