"""Quitting: a run not saved is asked about (Ctrl+Q as closing the window); SIGTERM closes the window
cleanly and stops the local server it started."""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox

from qatstudio.engine.pipeline import run_experiment
from qatstudio.services.datasets import TableStore
from qatstudio.services.deploy.export import export_bundle

from processes import alive

from .conftest import small_config


def answer(window, button: QMessageBox.StandardButton, asked: list) -> None:
    """Press ``button`` of the unsaved-run question as soon as it is open (it is modal)."""

    def poll():
        box = window.files.unsaved_question
        if box is None or not box.isVisible():
            QTimer.singleShot(20, poll)
            return
        asked.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, poll)


def quit_keys(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)


def test_ctrl_q_asks_about_a_run_not_saved(qtbot, window, run, tmp_path):
    window.ask_before_discarding = True
    window.config_panel.set_config(small_config(epochs=1))
    assert run(window.train_action.trigger, "Training") == "succeeded"
    asked: list[str] = []

    answer(window, QMessageBox.StandardButton.Cancel, asked)
    quit_keys(qtbot, window)
    assert asked and "not saved" in asked[0]
    assert window.isVisible()  # Cancel: the window and its run stay

    answer(window, QMessageBox.StandardButton.Cancel, asked)
    window.close()  # closing the window asks the same
    assert len(asked) == 2 and window.isVisible()

    window.presenters.files.save_experiment_to(tmp_path / "kept.qats")  # saved: nothing to ask
    quit_keys(qtbot, window)
    assert len(asked) == 2 and not window.isVisible()


def test_discarding_closes_the_window(qtbot, window, run):
    window.ask_before_discarding = True
    window.config_panel.set_config(small_config(epochs=1))
    assert run(window.train_action.trigger, "Training") == "succeeded"
    asked: list[str] = []
    answer(window, QMessageBox.StandardButton.Discard, asked)
    quit_keys(qtbot, window)
    assert asked and not window.isVisible()


def test_sigterm_while_the_question_is_open_closes_the_window(qtbot, window, run):
    """What the SIGTERM handler does, with Ctrl+Q's question already open: the closing goes on without it."""
    window.ask_before_discarding = True
    window.config_panel.set_config(small_config(epochs=1))
    assert run(window.train_action.trigger, "Training") == "succeeded"

    def poll():
        if window.files.unsaved_question is None or not window.files.unsaved_question.isVisible():
            QTimer.singleShot(20, poll)
        else:
            window.close_without_asking()

    QTimer.singleShot(0, poll)
    quit_keys(qtbot, window)
    assert not window.isVisible()


APP = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from qatstudio.gui.app import run_app
    from qatstudio.gui.window.main_window import MainWindow

    def start_server():  # what Deploy does first: the window's local server on a bundle
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
        server = window.presenters.deploy.server
        server.folder = Path(sys.argv[1])
        server.start()
        print("server", server.process.pid, flush=True)

    QApplication([])
    QTimer.singleShot(0, start_server)
    sys.exit(run_app())
""")


@pytest.mark.slow
def test_sigterm_closes_the_app_and_stops_its_local_server(tmp_path, small_dataset):
    folder = tmp_path / "bundle"
    export_bundle(run_experiment(small_config(n_hidden=8, bits=3, epochs=2), small_dataset, simulate=False), folder,
                  TableStore())
    home = tmp_path / "home"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    app = subprocess.Popen([sys.executable, "-c", APP, str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=env)
    server = 0
    try:
        deadline, line = time.monotonic() + 300, ""
        while not line.startswith("server") and time.monotonic() < deadline and app.poll() is None:
            if select.select([app.stdout], [], [], 1.0)[0]:
                line = app.stdout.readline()
        assert line.startswith("server"), f"the app did not start its server: {app.stderr.read() if app.poll() else ''}"
        server = int(line.split()[1])
        assert alive(server)
        app.send_signal(signal.SIGTERM)
        assert app.wait(120) == 0
        deadline = time.monotonic() + 10
        while alive(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(server), "the local server outlived the app"
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        if server and alive(server):
            os.kill(server, signal.SIGKILL)
