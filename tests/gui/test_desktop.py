"""Desktop integration on the real window: `qatstudio [--demo] FILE.qats`, files dropped on the
window, File > Open Recent, and what is logged when something goes wrong."""
from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QContextMenuEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from qatstudio.cli import parse_command_line
from qatstudio.engine.pipeline import run_experiment
from qatstudio.gui.app import open_window
from qatstudio.gui.window.recent_files import MAX_RECENT
from qatstudio.services import jobs
from qatstudio.services.datasets import TableStore
from qatstudio.services.experiment_file import save_experiment
from qatstudio.services.logs import log_file

from .conftest import _windows, make_window, small_config


@pytest.fixture(scope="module")
def experiment_file(tmp_path_factory):
    """A real, small trained experiment saved as .qats (no compilation: opening doesn't need it)."""
    path = tmp_path_factory.mktemp("experiments") / "small.qats"
    save_experiment(path, run_experiment(small_config(epochs=2), compile=False, simulate=False), TableStore())
    return path


def launch(qtbot, argv, settings):
    """The window exactly as the command line opens it: parse ``argv``, then ``open_window``."""
    args = parse_command_line(argv)
    assert args.command is None
    window = open_window(args.file, demo=args.demo, settings=settings)
    _windows.append(window)
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=60_000)
    return window


def close_demo(window) -> None:
    window.demo_controller.shutdown()


@pytest.mark.parametrize("demo", [False, True], ids=["plain", "demo"])
def test_command_line_file_opens_the_window_on_it(qtbot, settings, experiment_file, demo):
    argv = (["--demo"] if demo else []) + [str(experiment_file)]
    window = launch(qtbot, argv, settings)
    try:
        assert window.session.run.experiment is not None
        assert window.session.path == experiment_file
        assert window.windowTitle().startswith("small.qats")
        assert window.config_panel.config() == window.session.run.experiment.config
        assert window.plots.epoch_count() == 2
        assert window.demo_controller.story_dock.isVisible() == demo
        assert not window.banner.isVisible()
    finally:
        close_demo(window)


@pytest.mark.parametrize("demo", [False, True], ids=["plain", "demo"])
def test_command_line_missing_file_opens_the_window_with_why(qtbot, settings, tmp_path, demo, caplog):
    missing = tmp_path / "gone.qats"
    caplog.set_level(logging.WARNING, logger="qatstudio")
    window = launch(qtbot, (["--demo"] if demo else []) + [str(missing)], settings)
    try:
        assert window.isVisible() and window.session.run.experiment is None
        message = window.banner.message()
        assert "Can't open the experiment" in message and "gone.qats" in message and "no such file" in message
        assert "log" not in message.lower()  # an expected error: nothing to attach to a report
        lines = [r.getMessage() for r in caplog.records if r.name == "qatstudio"]
        assert len(lines) == 1 and "\n" not in lines[0] and "gone.qats" in lines[0]
        assert not log_file().exists()
    finally:
        close_demo(window)


def test_damaged_file_is_one_line_in_the_log_not_a_traceback(qtbot, window, run, tmp_path, caplog):
    damaged = tmp_path / "damaged.qats"
    damaged.write_bytes(b"PK\x03\x04 not really a zip")
    caplog.set_level(logging.WARNING, logger="qatstudio")
    assert run(lambda: window.open_experiment(damaged), "Opening") == "failed"
    records = [r for r in caplog.records if r.name == "qatstudio"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    text = records[0].getMessage()
    assert "damaged.qats" in text and "\n" not in text and "Traceback" not in text
    assert not log_file().exists()


def test_unexpected_error_keeps_its_traceback_in_a_log_file_the_banner_names(qtbot, window, run, caplog,
                                                                             monkeypatch, experiment_file):
    def broken_job(state, report):
        return {}["a key nobody set"]  # a real bug, not a handled error

    monkeypatch.setattr(jobs, "open_job", lambda path, tables: broken_job)
    caplog.set_level(logging.WARNING, logger="qatstudio")
    assert run(lambda: window.open_experiment(experiment_file), "Opening") == "failed"
    path = log_file()
    assert path.is_file() and (path.stat().st_mode & 0o777) == 0o600
    kept = path.read_text(encoding="utf-8")
    assert "Traceback" in kept and "broken_job" in kept and "KeyError" in kept
    assert str(path) in window.banner.message()
    error = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(error) == 1 and "Traceback" in error[0].getMessage()


def drag_events(paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = QPointF(400, 300)
    enter = QDragEnterEvent(point.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    drop = QDropEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    return mime, enter, drop


def test_dropping_an_experiment_opens_it(qtbot, window, run, experiment_file, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not an experiment")
    _mime, enter, _drop = drag_events([text])
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()  # the window refuses what it can't open

    _mime, enter, drop = drag_events([experiment_file])
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    assert run(lambda: QApplication.sendEvent(window, drop), "Opening") == "succeeded"
    assert drop.isAccepted()
    assert window.session.path == experiment_file
    assert window.recent_menu.paths()[0] == experiment_file.resolve()


def entry_texts(menu):
    return [a.text() for a in menu.actions() if a.data()]


def test_open_recent_keeps_ten_greys_missing_and_removes_them(qtbot, window, run, settings, experiment_file,
                                                              tmp_path):
    menu = window.recent_menu
    kept = []
    for number in range(MAX_RECENT + 2):
        path = tmp_path / f"run{number}.qats"
        path.write_bytes(experiment_file.read_bytes())
        menu.add(path)
        kept.insert(0, path.resolve())
    assert menu.paths() == kept[:MAX_RECENT]  # newest first, ten at most
    menu.add(kept[5])  # opened again: back to the top, not twice
    assert menu.paths()[0] == kept[5] and len(menu.paths()) == MAX_RECENT

    gone = [kept[1], kept[7]]
    for path in gone:
        path.unlink()
    menu.rebuild()
    entries = {a.data(): a for a in menu.actions() if a.data()}
    assert len(entries) == MAX_RECENT
    for path in gone:
        assert not entries[str(path)].isEnabled() and "(missing)" in entries[str(path)].text()
    assert entries[str(kept[5])].isEnabled()
    assert menu.remove_missing_action.isEnabled()

    # the list outlives the window
    other = make_window(qtbot, settings)
    assert other.recent_menu.paths() == menu.paths()

    # one entry removed with a right-click, the other missing one with "Remove missing"
    menu.popup(QPoint(0, 0))
    qtbot.waitExposed(menu)
    target = next(a for a in menu.actions() if a.data() == str(gone[0]))
    centre = menu.actionGeometry(target).center()
    QApplication.sendEvent(menu, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, centre, menu.mapToGlobal(centre)))
    assert str(gone[0]) not in [a.data() for a in menu.actions()]
    assert gone[1] in menu.paths()
    menu.remove_missing_action.trigger()
    assert all(path.is_file() for path in menu.paths()) and len(menu.paths()) == MAX_RECENT - 2
    assert not menu.remove_missing_action.isEnabled()
    menu.hide()

    # an entry opens its experiment
    entry = next(a for a in menu.actions() if a.data() == str(kept[5]))
    assert run(entry.trigger, "Opening") == "succeeded"
    assert window.session.path == kept[5]

    menu.forget_all_action.trigger()
    assert menu.paths() == [] and entry_texts(menu) == []
