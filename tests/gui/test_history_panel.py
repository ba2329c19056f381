"""The History panel in its dock's narrowest width: every run's name readable beside its figures,
with its data set when the runs are on several. The story's shipped runs (real files, no mocks)."""
from __future__ import annotations

from PySide6.QtCore import QRect, Qt

from qatstudio.gui.panels.history_panel import HistoryPanel
from qatstudio.gui.window.main_window import SIDE_WIDTH
from qatstudio.services.experiment_file import load_experiment
from qatstudio.services.formatting import METRICS_BY_KEY
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
    tips = [panel.table.item(row, 1).toolTip() for row in range(panel.table.rowCount())]
    assert all(tip.startswith(record.label) for tip, record in zip(tips, panel.records()))  # the whole name
    timed = [tip for tip, record in zip(tips, panel.records()) if record.fhe_latency_s]
    assert timed and all(METRICS_BY_KEY["latency"].label in tip for tip in timed)  # a story run ran encrypted


def test_runs_on_different_data_sets_are_named_with_them(qtbot, tmp_path):
    history = story_history(tmp_path)
    record = history.load()[0][0]
    other = RunRecord.from_json(record.to_json())
    other.id = f"{other.id}-spirals"
    other.config = other.config.replace(data={"shape": "spirals"})
    history.add(other)
    panel = HistoryPanel(history)
    qtbot.addWidget(panel)
    panel.reload()
    panel.resize(SIDE_WIDTH[0], 600)
    panel.show()
    qtbot.waitExposed(panel)
    names = [panel.table.item(row, 1).text() for row in range(panel.table.rowCount())]
    assert sum(name.endswith(" on spirals") for name in names) == 1
    assert sum(name.endswith(" on checkerboard") for name in names) == len(names) - 1
    assert cut_names(panel) == []
