"""What keeps the window responsive while it trains: the progress and its text shown at most every
PROGRESS_REFRESH_MS (the latest of them, the run's end at once), and a heap frozen once the window is
open so that the garbage collector's full collections don't walk it."""
from __future__ import annotations

import gc
import time

from PySide6.QtGui import QAction

from qatstudio.gui.app import freeze_heap
from qatstudio.gui.widgets import PROGRESS_REFRESH_MS, TrainControls


def controls(qtbot) -> TrainControls:
    widget = TrainControls(QAction("Train"), QAction("Pause"), QAction("Stop"))
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_progress_is_shown_at_most_every_refresh_period_and_the_latest_of_it(qtbot):
    widget = controls(qtbot)
    widget.reset("Preparing the data\u2026")
    assert widget.eta_label.text() == "Preparing the data\u2026"
    widget.show_step(10, 1000)
    widget.show_text("step 10 of 1000")
    qtbot.waitUntil(lambda: widget.eta_label.text() == "step 10 of 1000")  # the first at the next turn
    started = time.monotonic()
    assert widget.steps_shown() == (10, 1000)
    for step in range(20, 200, 10):  # as often as the run reports: held back...
        widget.show_step(step, 1000)
        widget.show_text(f"step {step} of 1000")
    assert widget.text() == "step 190 of 1000"  # what was told last, for whoever reads it
    if time.monotonic() - started < PROGRESS_REFRESH_MS / 1000:
        assert widget.steps_shown() == (10, 1000) and widget.eta_label.text() == "step 10 of 1000"
    qtbot.waitUntil(lambda: widget.steps_shown() == (190, 1000), timeout=4 * PROGRESS_REFRESH_MS)  # ...then the latest
    assert widget.eta_label.text() == "step 190 of 1000"

    widget.show_step(500, 1000)
    widget.finish("Trained in 3 s.", complete=True)  # the end at once, whatever was held back
    assert widget.steps_shown() == (1000, 1000) and widget.eta_label.text() == "Trained in 3 s."
    qtbot.wait(2 * PROGRESS_REFRESH_MS)
    assert widget.steps_shown() == (1000, 1000) and widget.eta_label.text() == "Trained in 3 s."


def test_a_run_stopped_early_shows_where_it_stopped(qtbot):
    widget = controls(qtbot)
    widget.reset("")
    widget.show_step(100, 1000)
    qtbot.waitUntil(lambda: widget.steps_shown() == (100, 1000))
    widget.show_step(300, 1000)  # held back
    widget.finish("Stopped after 1 evaluation.", complete=False)
    assert widget.steps_shown() == (300, 1000)


def test_the_heap_made_before_freezing_is_left_out_of_collections():
    made = [[] for _ in range(1000)]
    frozen = gc.get_freeze_count()
    try:
        freeze_heap()
        assert gc.get_freeze_count() >= frozen + len(made)
        tracked = {id(item) for item in gc.get_objects()}
        assert not any(id(item) in tracked for item in made)
    finally:
        gc.unfreeze()
