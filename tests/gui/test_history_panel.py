"""The History panel in its dock's narrowest width: every run's name readable beside its figures,
no column of dashes. The story's shipped runs (real files, no mocks)."""
from __future__ import annotations

from PySide6.QtCore import QRect, Qt

from qatstudio.gui.panels.history_panel import HistoryPanel
from qatstudio.gui.window.main_window import SIDE_WIDTH
from qatstudio.services.experiment_file import load_experiment
from qatstudio.services.history import History, RunRecord
from qatstudio.services.story import load_story

NAME_ROOM = 10 + 3 * 6  # the kind's colour mark and the cell's paddings beside a run's name


def story_history(tmp_path) -> History:
    history = History(tmp_path / "history")
    for step in load_story():
        history.add(RunRecord.from_experiment(load_experiment(step.path)))
    return history


def cut_names(panel: HistoryPanel) -> list[str]:
    """The run names that do not fit their cell (too wide for a line, or too many lines)."""
    table = panel.table
    width = table.columnWidth(1) - NAME_ROOM
    cut = []
    for row in range(table.rowCount()):
        text = table.item(row, 1).text()
        metrics = table.fontMetrics()
        needed = metrics.boundingRect(QRect(0, 0, width, 10_000), Qt.TextFlag.TextWordWrap, text)
        if max(metrics.horizontalAdvance(word) for word in text.split()) > width \
                or needed.height() > table.rowHeight(row):
            cut.append(text)
    return cut


def test_run_names_are_readable_in_the_narrowest_dock(qtbot, tmp_path):
    panel = HistoryPanel(story_history(tmp_path))
    qtbot.addWidget(panel)
    panel.reload()
    panel.resize(SIDE_WIDTH[0], 600)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.table.rowCount() == len(load_story())
    assert cut_names(panel) == []
    full = panel.records()[0].label  # the whole name, data set and seed, in the tip
    assert panel.table.item(0, 1).toolTip().startswith(full)
    assert not panel.table.isColumnHidden(panel.LATENCY)  # a story run was run encrypted


def test_no_latency_column_until_a_run_has_one(qtbot, tmp_path):
    history = story_history(tmp_path)
    for record in history.load()[0]:
        if record.fhe_latency_s is not None:
            history.remove(record.id)
    panel = HistoryPanel(history)
    qtbot.addWidget(panel)
    panel.reload()
    assert panel.records() and panel.table.isColumnHidden(panel.LATENCY)
