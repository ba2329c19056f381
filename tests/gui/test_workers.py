"""Workers, the shared cancellation token, and the Qt-free half of the GUI package."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from qatstudio.engine.cancel import Cancelled
from qatstudio.gui.workers import TaskRunner, running_threads
from qatstudio.services.jobs import Phase
from qatstudio.services.tasks import Outcome, TaskState

from .conftest import leftover_threads


def test_task_state_pause_blocks_and_cancel_wakes():
    state = TaskState()
    assert state.should_stop() is False
    state.pause()
    polled = []
    worker = threading.Thread(target=lambda: polled.append(state.should_stop()))
    worker.start()
    time.sleep(0.3)
    assert worker.is_alive() and not polled, "should_stop must block while paused"
    state.cancel()  # cancelling a paused task wakes it
    worker.join(2)
    assert polled == [True]
    assert state.paused_seconds() >= 0.25
    with pytest.raises(Cancelled):
        state.raise_if_cancelled()


def test_runner_reports_messages_results_errors_and_cancellation(qtbot):
    runner = TaskRunner()

    def ok(state, report):
        report(Phase("working"))
        return 42

    task = runner.start("Adding", ok)
    messages = []
    task.message.connect(messages.append)
    with qtbot.waitSignal(task.finished, timeout=10_000):
        pass
    assert task.outcome is Outcome.SUCCEEDED and [m.text for m in messages] == ["working"]

    def boom(state, report):
        raise ValueError("the numbers disagree")

    task = runner.start("Checking", boom)
    errors = []
    task.failed.connect(errors.append)
    with qtbot.waitSignal(task.finished, timeout=10_000):
        pass
    assert task.outcome is Outcome.FAILED
    assert errors[0].title == "Checking failed"
    assert "ValueError: the numbers disagree" in errors[0].message
    assert "Traceback" in errors[0].details

    def endless(state, report):
        while True:
            state.raise_if_cancelled()
            time.sleep(0.01)

    task = runner.start("Looping", endless)
    assert runner.is_busy() and running_threads()
    with qtbot.waitSignal(task.finished, timeout=10_000):
        runner.cancel_all()
    assert task.outcome is Outcome.CANCELLED
    assert not runner.is_busy()
    qtbot.waitUntil(lambda: not running_threads(), timeout=5_000)


def test_the_leak_check_sees_a_thread_left_running():
    """The autouse fixture must be able to fail: its check finds a thread started here."""
    before = {t.ident for t in threading.enumerate()}
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="left-behind")
    thread.start()
    try:
        assert leftover_threads(before, grace_s=0.2) == ["left-behind"]
    finally:
        stop.set()
        thread.join()
    assert leftover_threads(before, grace_s=1.0) == []


def test_jobs_tasks_and_presets_import_without_qt():
    """napari's split: the work and its state are Qt-free; only widgets and workers need Qt."""
    code = (
        "import sys\n"
        "for name in ('PySide6', 'shiboken6', 'pyqtgraph'):\n"
        "    sys.modules[name] = None\n"
        "import qatstudio.services.tasks, qatstudio.services.jobs, qatstudio.services.presets\n"
        "assert not any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules if sys.modules[m])\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def _train(window, **changes):
    from .conftest import small_config

    window.config_panel.set_config(small_config(**changes))
    return window.start_training()


def test_the_window_trains_in_its_own_process_and_closing_the_window_ends_it(qtbot, settings, monkeypatch):
    """The window's Python never runs the training loop: the steps come from the training process."""
    import os

    from qatstudio.engine import training

    from .conftest import make_window

    window = make_window(qtbot, settings)
    loops_here = []
    original = training._train_one
    monkeypatch.setattr(training, "_train_one", lambda *args: loops_here.append(1) or original(*args))
    with qtbot.waitSignal(window.taskFinished, timeout=120_000) as finished:
        _train(window, epochs=2)
    assert finished.args[1] == "succeeded" and not loops_here
    assert window.plots.step_count() > 0 and window.session.run.experiment is not None
    child = window.presenters.training.process
    assert child.is_alive() and child.pid != os.getpid()
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
    assert not child.is_alive()


def test_a_training_process_that_dies_is_a_plain_error_and_the_next_training_works(qtbot, settings):
    import os
    import signal

    from .conftest import make_window

    window = make_window(qtbot, settings)
    with qtbot.waitSignal(window.taskFinished, timeout=120_000,
                          check_params_cb=lambda name, outcome: outcome is Outcome.FAILED):
        _train(window, epochs=500)
        qtbot.waitUntil(lambda: window.plots.step_count() > 0, timeout=120_000)
        os.kill(window.presenters.training.process.pid, signal.SIGKILL)
    assert "Training failed" in window.banner.message()
    assert "killed by SIGKILL" in window.banner.message()
    assert "Training failed" in window.status_text() and not window.is_busy()
    assert window.train_button.isEnabled()
    with qtbot.waitSignal(window.taskFinished, timeout=120_000) as finished:
        _train(window, epochs=1)
    assert finished.args[1] == "succeeded" and window.session.run.experiment is not None


class _Cycle:
    """An object in a reference cycle: only the garbage collector frees it."""

    def __init__(self):
        self.me = self


def test_garbage_is_collected_on_the_gui_thread_only(qtbot):
    """A collection a worker thread starts can free Qt objects there and deadlock with the GUI
    thread (Qt's lock against the GIL): the app collects on a timer of the GUI thread instead."""
    import gc
    import weakref

    collected_on: list[str] = []

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            collected_on.append(threading.current_thread().name)

    gc.callbacks.append(note)
    try:
        worker = threading.Thread(target=lambda: [_Cycle() for _ in range(100_000)], name="allocating-worker")
        worker.start()
        worker.join()
        assert collected_on == [], "a worker thread started a collection"
        last = _Cycle()
        freed = weakref.ref(last)
        del last
        qtbot.waitUntil(lambda: freed() is None, timeout=5_000)  # the GUI thread's timer collects it
        assert set(collected_on) == {threading.main_thread().name}
    finally:
        gc.callbacks.remove(note)
