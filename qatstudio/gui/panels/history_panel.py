"""The run history: every run with a thumbnail of its decision boundary; selected runs side by side.

The panel shows a ``qatstudio.services.history.History`` (one small file per run, kept across
restarts); it never trains anything itself. Damaged entries are reported in a banner and skipped.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...services.formatting import (
    CIRCUIT_BY_KEY,
    CIRCUIT_ROWS,
    METRICS_BY_KEY,
    TIP_ACCUMULATOR,
    TIP_CEILING,
    TIP_PBS,
    MeasureRow,
    config_look,
    config_name,
    data_word,
    fmt_measure,
    fmt_percent,
    fmt_seconds,
    plural,
)
from ...services.history import History, RunRecord, same_data, shared_ceiling
from ..charts.plots import boundary_qimage
from ..widgets import MUTED_STYLE, MessageBanner

BEST_COLOR = "#1b7837"


def boundary_pixmap(probability: Optional[np.ndarray], size: int) -> QPixmap:
    if probability is None:
        pixmap = QPixmap(size, size)
        pixmap.fill(QColor("#eeeeee"))
        return pixmap
    return QPixmap.fromImage(boundary_qimage(probability)).scaled(
        size, size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)


def _when(created: float) -> str:
    today = time.strftime("%Y-%m-%d")
    day = time.strftime("%Y-%m-%d", time.localtime(created))
    return time.strftime("%H:%M" if day == today else "%d %b %H:%M", time.localtime(created))


@dataclass(frozen=True)
class CompareRow:
    """A measure of the compare view: a shared metric or circuit row, and which way is better
    (None: a reference, never marked best)."""

    row: MeasureRow
    higher_is_better: Optional[bool]

    @property
    def key(self) -> str:
        return self.row.key

    def text(self, record: RunRecord) -> str:
        value = record.figure(self.row)
        text = fmt_measure(self.row, value)
        if self.row.key == "executed" and value is not None:
            text += f" of {record.metrics.fhe_executed_samples}"
        return text


ACCURACY_KEYS = ("float", "brevitas", "clear", "simulated", "executed")
COMPARE_ROWS = ([CompareRow(METRICS_BY_KEY["ceiling"], None)]
                + [CompareRow(METRICS_BY_KEY[key], True) for key in ACCURACY_KEYS]
                + [CompareRow(row, False) for row in CIRCUIT_ROWS]
                + [CompareRow(METRICS_BY_KEY[key], False) for key in ("latency", "warmup")])


class CompareView(QWidget):
    """Selected runs side by side: one column per run, one row per measure; the best value of
    each row is marked when two or more runs are compared."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("compareView")
        self._records: list[RunRecord] = []
        self._values: dict[tuple[str, str], QLabel] = {}
        self.thumb = 84
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(6, 6, 6, 6)
        self.grid.setHorizontalSpacing(12)
        self.grid.setVerticalSpacing(2)
        self.hint = QLabel("Select runs in the list (Ctrl+click or Shift+click for several) to compare them "
                           "side by side.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color:#666666;")
        self.note = QLabel("Trained on different data sets: their accuracies are not ranked.")
        self.note.setObjectName("compareNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#666666;")
        self._rebuild()

    def records(self) -> list[RunRecord]:
        return list(self._records)

    def set_records(self, records: Iterable[RunRecord]) -> None:
        self._records = list(records)
        self._rebuild()

    def set_thumbnail_size(self, size: int) -> None:
        self.thumb = size
        self._rebuild()

    def value(self, record_id: str, key: str) -> str:
        return self._values[(record_id, key)].text()

    def is_best(self, record_id: str, key: str) -> bool:
        return self._values[(record_id, key)].property("best") is True

    def _clear(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget()
            if widget is not None and widget not in (self.hint, self.note):
                widget.deleteLater()
        self.hint.setParent(None)
        self.note.setParent(None)
        self._values.clear()

    def _rebuild(self) -> None:
        self._clear()
        if not self._records:
            self.grid.addWidget(self.hint, 0, 0)
            return
        for row, measure in enumerate(COMPARE_ROWS, start=2):
            label = QLabel(measure.row.label)
            label.setStyleSheet(MUTED_STYLE)
            label.setToolTip(measure.row.tip)
            self.grid.addWidget(label, row, 0)
        best = {}
        comparable = same_data(self._records)  # an accuracy is better than another on the same data only
        if len(self._records) > 1:
            for measure in COMPARE_ROWS:
                if measure.higher_is_better is None or (measure.key in ACCURACY_KEYS and not comparable):
                    continue
                values = [v for v in (r.figure(measure.row) for r in self._records) if v is not None]
                if len(values) > 1 and min(values) != max(values):
                    best[measure.key] = max(values) if measure.higher_is_better else min(values)
        for col, record in enumerate(self._records, start=1):
            picture = QLabel()
            picture.setPixmap(boundary_pixmap(record.boundary, self.thumb))
            picture.setFixedSize(self.thumb + 2, self.thumb + 2)
            picture.setStyleSheet("border:1px solid #999999;")
            picture.setToolTip("Decision boundary at the end of training")
            self.grid.addWidget(picture, 0, col, Qt.AlignmentFlag.AlignHCenter)
            look = config_look(record.config)
            name = QLabel(f'<span style="color:{look.color}">\u25cf</span> <b>{record.label}</b>')
            name.setWordWrap(True)
            name.setMaximumWidth(max(self.thumb + 50, 140))
            name.setToolTip(f"{look.name}; run {record.id}")
            self.grid.addWidget(name, 1, col)
            for row, measure in enumerate(COMPARE_ROWS, start=2):
                key, value = measure.key, record.figure(measure.row)
                cell = QLabel(measure.text(record))
                cell.setObjectName(f"compare-{key}")
                is_best = key in best and value == best[key]
                cell.setProperty("best", is_best)
                if is_best:
                    cell.setStyleSheet(f"color:{BEST_COLOR}; font-weight:bold;")
                    cell.setToolTip("best of the runs compared")
                self.grid.addWidget(cell, row, col)
                self._values[(record.id, key)] = cell
        end = len(COMPARE_ROWS) + 2
        if not comparable:
            self.grid.addWidget(self.note, end, 0, 1, len(self._records) + 1)
            end += 1
        self.grid.setColumnStretch(len(self._records) + 1, 1)
        self.grid.setRowStretch(end, 1)


class HistoryPanel(QWidget):
    """The runs of a History, newest first; several can be selected and compared."""

    openRequested = Signal(object)  # RunRecord
    useConfigRequested = Signal(object)  # RunRecord
    exportRequested = Signal()
    selectionChanged = Signal(list)  # ids of the selected runs
    removed = Signal(list)  # ids removed from the history

    COLUMNS = ("", "Run", "Accuracy", "Bits", "PBS")  # its latency and when it was kept: in the run's tip

    def __init__(self, history: History, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("historyPanel")
        self.history = history
        self._records: list[RunRecord] = []  # newest first
        self.problems: list[str] = []
        self.icon_size = 44
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        self.banner = MessageBanner()
        layout.addWidget(self.banner)

        self.count_label = QLabel()
        self.count_label.setObjectName("historyCount")
        self.count_label.setWordWrap(True)
        self.count_label.setToolTip(TIP_CEILING)
        layout.addWidget(self.count_label)
        top = QHBoxLayout()  # the buttons on their own row: the dock stays as narrow as its neighbours
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Open the selected run in the window (double-click does the same).")
        self.use_button = QPushButton("Use settings")
        self.use_button.setToolTip("Put the selected run's configuration into the Configure panel.")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected runs from the history.")
        self.export_button = QPushButton("Report\u2026")
        self.export_button.setToolTip("Write the selected runs (or all runs) as an HTML report and JSON.")
        for button in (self.open_button, self.use_button, self.remove_button, self.export_button):
            top.addWidget(button)
        top.addStretch(1)
        layout.addLayout(top)

        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("historyTable")
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        for col, tip in ((2, "FHE simulated accuracy when measured, else the latest stage measured"),
                         (3, TIP_ACCUMULATOR), (4, TIP_PBS)):
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(True)  # long run names take two lines beside their thumbnail
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(30)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.itemDoubleClicked.connect(lambda item: self._open_row(item.row()))

        self.compare = CompareView()
        self.compare_area = QScrollArea()
        self.compare_area.setWidget(self.compare)
        self.compare_area.setWidgetResizable(True)
        self.compare_area.setFrameShape(QFrame.Shape.StyledPanel)
        compare_box = QWidget()
        box = QVBoxLayout(compare_box)
        box.setContentsMargins(0, 4, 0, 0)
        title = QLabel("<b>Compare</b>")
        box.addWidget(title)
        box.addWidget(self.compare_area, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(compare_box)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 5)
        splitter.setSizes([400, 500])  # the compare view needs the room of its nine rows
        splitter.setChildrenCollapsible(False)
        layout.addWidget(splitter, 1)

        self.open_button.clicked.connect(lambda: self._emit_current(self.openRequested))
        self.use_button.clicked.connect(lambda: self._emit_current(self.useConfigRequested))
        self.remove_button.clicked.connect(self.remove_selected)
        self.export_button.clicked.connect(self.exportRequested.emit)
        self._apply_icon_size()
        self._update_buttons()

    # ------------------------------------------------------------------ the runs
    def reload(self) -> list[str]:
        """Read the history folder again; returns (and shows) the damaged entries skipped."""
        records, problems = self.history.load()
        self.problems = problems
        self._records = sorted(records, key=lambda r: r.created, reverse=True)
        self._fill()
        if problems:
            shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
            self.banner.show_message("Some history entries can't be read", shown + ". The other runs are shown.",
                                     level="warning", details="\n".join(problems))
        else:
            self.banner.hide()
        return problems

    def records(self) -> list[RunRecord]:
        return list(self._records)

    def record(self, record_id: str) -> Optional[RunRecord]:
        return next((r for r in self._records if r.id == record_id), None)

    def add_record(self, record: RunRecord) -> None:
        """Show a run the history just kept (or its update: same id)."""
        for index, old in enumerate(self._records):
            if old.id == record.id:
                self._records[index] = record
                self._fill_row(index, record)
                if any(r.id == record.id for r in self.selected_records()):
                    self.compare.set_records(self.selected_records())
                return
        self._records.insert(0, record)
        selected = [r.id for r in self.selected_records()]
        self._fill()
        self.select(selected)

    def selected_records(self) -> list[RunRecord]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self._records[row] for row in rows if row < len(self._records)]

    def select(self, ids: Iterable[str]) -> None:
        wanted = set(ids)
        model = self.table.model()
        selection = QItemSelection()
        rows = [row for row, record in enumerate(self._records) if record.id in wanted]
        for row in rows:
            selection.select(model.index(row, 0), model.index(row, model.columnCount() - 1))
        self.table.blockSignals(True)
        self.table.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.table.blockSignals(False)
        self._selection_changed()
        if rows:
            self.table.scrollToItem(self.table.item(rows[0], 1))

    def remove_selected(self) -> list[str]:
        ids = [r.id for r in self.selected_records()]
        for record_id in ids:
            self.history.remove(record_id)
        self._records = [r for r in self._records if r.id not in set(ids)]
        self._fill()
        if ids:
            self.removed.emit(ids)
        return ids

    # ------------------------------------------------------------------ drawing
    def set_presentation(self, on: bool) -> None:
        self.icon_size = 72 if on else 44
        self.compare.set_thumbnail_size(150 if on else 84)
        self._apply_icon_size()
        self._fill()

    def _apply_icon_size(self) -> None:
        self.table.setIconSize(QSize(self.icon_size, self.icon_size))
        self.table.verticalHeader().setDefaultSectionSize(self.icon_size + 6)

    def _fill(self) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._records))
        for row, record in enumerate(self._records):
            self._fill_row(row, record)
        self.table.blockSignals(False)
        n = len(self._records)
        ceiling = shared_ceiling(self._records)
        self.count_label.setText(
            (f"<b>{plural(n, 'run')}</b> kept"
             + (f", all on one data set: ceiling <b>{fmt_percent(ceiling)}</b>" if ceiling is not None else ""))
            if n else "No runs yet: every run you train is kept here.")
        self._selection_changed()

    def _short_name(self, record: RunRecord) -> str:
        """A run's name for the narrow dock ('QAT 100n b20', the whole one in its tip), with its data
        set when the runs shown were not all trained on one ('QAT 100n b20 on spirals')."""
        name = config_name(record.config, short=True)
        return name if same_data(self._records) else f"{name} on {data_word(record.config.data)}"

    def _fill_row(self, row: int, record: RunRecord) -> None:
        thumb = QTableWidgetItem()
        thumb.setIcon(QIcon(boundary_pixmap(record.boundary, self.icon_size)))
        thumb.setToolTip("Decision boundary")
        look = config_look(record.config)
        name = QTableWidgetItem(self._short_name(record))
        name.setForeground(QColor("#111111"))
        latency = METRICS_BY_KEY["latency"]
        name.setToolTip(f"{record.label}\n{look.name}, kept {_when(record.created)} "
                        f"\u00b7 {record.id}"
                        + (f"\n{latency.label}: {fmt_seconds(record.fhe_latency_s)}" if record.fhe_latency_s else "")
                        + (f"\n{record.experiment_path}" if record.experiment_path else ""))
        mark = QPixmap(10, 10)
        mark.fill(QColor(look.color))
        name.setIcon(QIcon(mark))
        cells = [thumb, name, QTableWidgetItem(fmt_percent(record.accuracy)),
                 QTableWidgetItem(fmt_measure(CIRCUIT_BY_KEY["accumulator"], record.accumulator_bits)),
                 QTableWidgetItem(fmt_measure(CIRCUIT_BY_KEY["pbs"], record.pbs_count))]
        cells[2].setToolTip(f"Ceiling of its data set: {fmt_percent(record.metrics.ceiling_accuracy)}")
        if record.accumulator_bits is None:
            cells[3].setToolTip("Not compiled yet")
        for col, item in enumerate(cells):
            if col >= 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setData(Qt.ItemDataRole.UserRole, record.id)
            self.table.setItem(row, col, item)
        bold = QFont(self.table.font())
        bold.setBold(True)
        cells[2].setFont(bold)

    def _selection_changed(self) -> None:
        selected = self.selected_records()
        self.compare.set_records(selected)
        self._update_buttons()
        self.selectionChanged.emit([r.id for r in selected])

    def _update_buttons(self) -> None:
        count = len(self.selected_records())
        self.open_button.setEnabled(count == 1)
        self.use_button.setEnabled(count == 1)
        self.remove_button.setEnabled(count > 0)
        self.export_button.setEnabled(bool(self._records))
        self.export_button.setText("Report\u2026" if count == 0 else f"Report of {count}\u2026")
        self.export_button.setToolTip(
            "Write every run as a self-contained HTML report and JSON." if count == 0 else
            f"Write the {plural(count, 'selected run')} as a self-contained HTML report and JSON.")

    def _emit_current(self, signal) -> None:
        selected = self.selected_records()
        if len(selected) == 1:
            signal.emit(selected[0])

    def _open_row(self, row: int) -> None:
        if 0 <= row < len(self._records):
            self.openRequested.emit(self._records[row])
