"""The Results panel: accuracy at every stage, FHE simulation and encrypted runs, two boundaries."""
from __future__ import annotations

import dataclasses
import math
import statistics
from pathlib import Path
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...engine.evaluate import Metrics
from ...services.formatting import (
    CLASS_COLORS,
    METRIC_ROWS,
    METRICS_BY_KEY,
    CEILING_NOTE,
    MEASURE_LATENCY,
    TIP_CEILING,
    class_label,
    fmt_eta,
    fmt_measure,
    fmt_percent,
    fmt_progress,
    fmt_seconds,
    plural,
)
from ..charts.plots import FOREGROUND, class_map, elided, make_boundary_plot, show_boundary
from ..state import Enabled


BOUNDARIES_LEAST_HEIGHT = 130  # two squares of about 60 px in a 1280-wide window, their titles and axes


class _Boundaries(pg.GraphicsLayoutWidget):
    """Two small boundary plots side by side, never taller than two squares need (a tall dock leaves
    its room below them, no empty band under the squares); a short dock shrinks them, down to the
    least height, rather than scroll."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(BOUNDARIES_LEAST_HEIGHT)

    @staticmethod
    def most_height(width: int) -> int:
        return max(BOUNDARIES_LEAST_HEIGHT, width // 2 + 20)

    def resizeEvent(self, event) -> None:
        self.setMaximumHeight(self.most_height(self.width()))  # pyqtgraph calls this with no event too
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(320, BOUNDARIES_LEAST_HEIGHT)  # the scroll area sizes the panel by its hints: grown by stretch


class ResultsPanel(QWidget):
    simulateRequested = Signal()
    encryptedRequested = Signal(int)
    cancelRequested = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)  # with the maps at their least height, the panel fits a 1280 x 720 screen
        self._build_metrics(layout)
        self._build_classes(layout)
        self._build_simulation(layout)
        self._build_encrypted(layout)
        self._build_boundaries(layout)
        layout.addStretch()  # a tall dock leaves its room below, not in the boundaries

    def _build_metrics(self, layout: QVBoxLayout) -> None:
        """The table of measures, and the note on the ceiling under it."""
        self.table = QTableWidget(len(METRIC_ROWS), 2)
        self.table.setObjectName("resultsTable")
        self.table.setHorizontalHeaderLabels(["Measure", "Value"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.row_of = {}
        for row, metric in enumerate(METRIC_ROWS):
            self.row_of[metric.key] = row
            item = QTableWidgetItem(metric.label)
            item.setToolTip(metric.tip)
            self.table.setItem(row, 0, item)
            value = QTableWidgetItem("-")
            value.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setToolTip(metric.tip)
            self.table.setItem(row, 1, value)
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().height() + sum(
            self.table.rowHeight(r) for r in range(len(METRIC_ROWS))) + 4
        self.table.setFixedHeight(height)
        layout.addWidget(self.table)
        self.ceiling_note = QLabel(CEILING_NOTE)
        self.ceiling_note.setObjectName("ceilingNote")
        self.ceiling_note.setWordWrap(True)
        self.ceiling_note.setToolTip(TIP_CEILING)
        self.ceiling_note.setStyleSheet(f"color:{FOREGROUND};")
        small = self.ceiling_note.font()
        small.setPointSizeF(small.pointSizeF() * 0.88)
        self.ceiling_note.setFont(small)
        layout.addWidget(self.ceiling_note)

    def _build_classes(self, layout: QVBoxLayout) -> None:
        """Per class: the confusion matrix with each class's accuracy beside it."""
        self.class_names: tuple[str, ...] = ("0", "1")
        self.classes_title = QLabel("Per class, in the clear: rows true, columns predicted.")
        self.classes_title.setToolTip("The quantized model in the clear: each row is a true class, each column "
                                      "the class predicted.")
        self.classes_title.setWordWrap(True)
        self.classes_title.setStyleSheet(f"color:{FOREGROUND};")
        self.classes = QTableWidget()
        self.classes.setObjectName("classTable")
        self.classes.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.classes.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.classes.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.classes.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.classes.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for widget in (self.classes_title, self.classes):
            widget.hide()
            layout.addWidget(widget)

    def _build_simulation(self, layout: QVBoxLayout) -> None:
        row = QHBoxLayout()
        self.simulate_button = QPushButton("Simulate all test points")
        self.simulate_button.setToolTip("Run Concrete's FHE simulation on every test point, then over the "
                                        "boundary grid (Ctrl+M).")
        self.simulate_button.clicked.connect(self.simulateRequested)
        self.simulate_progress = QProgressBar()
        self.simulation_progress(0, 0, "")
        row.addWidget(self.simulate_button)
        row.addWidget(self.simulate_progress, 1)
        row.addStretch()  # the button keeps its width while the bar is hidden
        layout.addLayout(row)

    def _build_encrypted(self, layout: QVBoxLayout) -> None:
        """The encrypted run: how many test points, its progress while it runs, then what came of it."""
        box = QVBoxLayout()  # no frame of its own: the panel fits a 1280 x 800 screen
        box.setContentsMargins(0, 4, 0, 0)
        box.setSpacing(4)
        line = QHBoxLayout()
        line.addWidget(QLabel("Test points"))
        self.samples = QSpinBox()
        self.samples.setRange(1, 10)
        self.samples.setValue(3)
        self.samples.setToolTip("How many test points to encrypt, run and decrypt (about a second or more each).")
        line.addWidget(self.samples)
        self.encrypted_button = QPushButton("Run encrypted")
        self.encrypted_button.setToolTip("Encrypt, run and decrypt the first N test points (keys are generated "
                                         "first if needed).")
        self.encrypted_button.clicked.connect(lambda: self.encryptedRequested.emit(self.samples.value()))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancelRequested)
        line.addWidget(self.encrypted_button, 1)
        line.addWidget(self.cancel_button)
        box.addLayout(line)
        self.encrypted_progress = QProgressBar()
        self.encrypted_progress.hide()  # shown from a run's start: idle, it looked like a text field
        self._running = False  # an encrypted run (or a simulation) is in progress
        box.addWidget(self.encrypted_progress)
        self.encrypted_label = QLabel("Not run yet.")
        self.encrypted_label.setObjectName("encryptedStatus")
        self.encrypted_label.setWordWrap(True)
        box.addWidget(self.encrypted_label)
        layout.addLayout(box)

    def _build_boundaries(self, layout: QVBoxLayout) -> None:
        """The decision boundaries, in the clear and FHE simulated, side by side."""
        self.boundaries = _Boundaries(show=False)
        self.boundaries.setBackground("w")
        self.clear_plot = self.boundaries.addPlot(row=0, col=0)
        self.clear_image = make_boundary_plot(self.clear_plot, "Clear (integers)")
        self.fhe_plot = self.boundaries.addPlot(row=0, col=1)
        self.fhe_image = make_boundary_plot(self.fhe_plot, "FHE simulated")
        for plot in (self.clear_plot, self.fhe_plot):
            plot.getAxis("left").setWidth(28)
            plot.getAxis("left").setLabel("")
            plot.getAxis("bottom").setLabel("")
            plot.getAxis("left").showLabel(False)
            plot.getAxis("bottom").showLabel(False)
        self.boundary_note = QLabel("Run the FHE simulation to compare the decision boundaries.")
        self.boundary_note.setWordWrap(True)
        self.boundary_note.setStyleSheet(f"color:{FOREGROUND};")
        layout.addWidget(self.boundaries, 1)
        self.boundaries.hide()  # until a simulation: see show_boundaries
        layout.addWidget(self.boundary_note)

    def apply(self, enabled: Enabled) -> None:
        self._running = enabled.cancel_results
        self.simulate_button.setEnabled(enabled.simulate)
        self.encrypted_button.setEnabled(enabled.encrypted)
        self.cancel_button.setEnabled(enabled.cancel_results)

    def samples_wanted(self) -> int:
        """How many test points an encrypted run takes."""
        return self.samples.value()

    def set_samples_wanted(self, n: int) -> None:
        self.samples.setValue(n)

    def clear(self, n_test: int, class_names: tuple[str, ...]) -> None:
        """Nothing measured yet, on ``n_test`` test points (0: not known yet) of these classes."""
        self.class_names = tuple(class_names)
        self.set_test_count(n_test)
        self.show_metrics(None)
        self.show_boundaries(None, None)
        self.simulation_progress(0, 0, "")
        self.encrypted_progress.setValue(0)
        self.encrypted_progress.hide()
        self.set_encrypted_text("Not run yet.")

    # --- metrics
    def set_test_count(self, n_test: int) -> None:
        self.samples.setRange(1, max(1, n_test))
        label = METRICS_BY_KEY["simulated"].label
        self.table.item(self.row_of["simulated"], 0).setText(f"{label} ({n_test} points)" if n_test else label)

    def show_metrics(self, metrics: Optional[Metrics]) -> None:
        m = metrics or Metrics()
        values = dataclasses.asdict(m)
        for row in METRIC_ROWS:
            text = fmt_measure(row, values[row.field])
            if row.key == "float" and m.float_accuracy is None and m.brevitas_accuracy is not None:
                text = "n/a (QAT)"
            elif row.key == "executed" and text != "-":
                text += f" on {plural(m.fhe_executed_samples, 'point')}"
            elif row.key == "latency":
                text = f"{text} (median)" if text != "-" else MEASURE_LATENCY if m.fhe_executed_samples else text
            elif row.key == "keygen" and text != "-":
                text += f" ({'from cache' if m.keygen_from_cache else 'fresh'})"
            self.table.item(self.row_of[row.key], 1).setText(text)
        self.ceiling_note.setVisible(m.ceiling_accuracy is not None or metrics is None)
        self._show_classes(m)

    def _show_classes(self, m: Metrics) -> None:
        """The confusion matrix (counts; each row shaded by its shares) and, last, each class's accuracy."""
        shown = bool(m.class_accuracy)
        self.classes_title.setVisible(shown)
        self.classes.setVisible(shown)
        if not shown:
            return
        confusion = np.asarray(m.confusion)
        k = len(self.class_names)
        names = [class_label(name) for name in self.class_names]
        short = [elided(name, 12) for name in names]
        self.classes.clear()
        self.classes.setRowCount(k)
        self.classes.setColumnCount(k + 1)
        self.classes.setHorizontalHeaderLabels(short + ["accuracy"])
        self.classes.setVerticalHeaderLabels(short)
        for index, name in enumerate(names):
            self.classes.horizontalHeaderItem(index).setToolTip(f"predicted: {name}")
            self.classes.verticalHeaderItem(index).setToolTip(f"true class: {name}")
        for true in range(k):
            total = max(int(confusion[true].sum()), 1)
            for predicted in range(k):
                count = int(confusion[true, predicted])
                cell = QTableWidgetItem(f"{count:,}")
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                cell.setToolTip(f"{plural(count, 'test point')} of {names[true]} predicted as {names[predicted]}")
                if count:
                    shade = QColor(CLASS_COLORS[predicted])
                    shade.setAlpha(int(30 + 150 * count / total))
                    cell.setBackground(shade)
                self.classes.setItem(true, predicted, cell)
            accuracy = QTableWidgetItem(fmt_percent(m.class_accuracy[true]))
            accuracy.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            accuracy.setToolTip(f"Share of the test points of {names[true]} the quantized model gets right.")
            self.classes.setItem(true, k, accuracy)
        self.classes.resizeColumnsToContents()
        self.classes.resizeRowsToContents()
        height = self.classes.horizontalHeader().height() + sum(self.classes.rowHeight(r) for r in range(k)) + 4
        scroll = self.classes.horizontalScrollBar()
        self.classes.setFixedHeight(height + (scroll.sizeHint().height() if scroll.maximum() > 0 else 0))

    def class_cells(self) -> list[list[str]]:
        """The per-class table as shown: a row per true class, the counts then the accuracy (tests)."""
        return [[self.classes.item(row, col).text() for col in range(self.classes.columnCount())]
                for row in range(self.classes.rowCount())] if self.classes.isVisibleTo(self) else []

    def value(self, key: str) -> str:
        return self.table.item(self.row_of[key], 1).text()

    # --- progress
    def simulation_progress(self, done: int, total: int, text: str, noun: str = "") -> None:
        """``done`` of ``total`` ``noun`` simulated ('16 / 500 test points'); no ``noun``: idle, no count."""
        self.simulate_progress.setRange(0, max(total, 1))
        self.simulate_progress.setValue(done if noun else 0)
        self.simulate_progress.setFormat(fmt_progress(done, total, noun) if noun else "")
        self.simulate_progress.setTextVisible(bool(noun))
        self.simulate_progress.setVisible(bool(noun))  # idle, an empty bar looked like a text field
        self.simulate_progress.setToolTip(text)

    def simulation_count(self) -> str:
        """What the simulation's bar says ('' while idle)."""
        bar = self.simulate_progress
        return bar.format() if bar.isTextVisible() else ""

    def encrypted_started(self, n_samples: int) -> None:
        self._show_encrypted_count(0, n_samples)

    def set_encrypted_text(self, text: str, finished: bool = False) -> None:
        """What the encrypted run is doing, or (``finished``) what came of it: the bar goes, the
        sentence says it."""
        self.encrypted_label.setText(text)
        if finished:
            self.encrypted_progress.hide()

    def encrypted_text(self) -> str:
        return self.encrypted_label.text()

    def encrypted_done(self) -> int:
        """Test points the last encrypted run finished (its progress bar)."""
        return self.encrypted_progress.value()

    def _show_encrypted_count(self, done: int, total: int) -> None:
        bar = self.encrypted_progress
        bar.setRange(0, max(total, 1))
        bar.setValue(done)
        bar.setFormat(fmt_progress(done, total, "test point"))
        bar.setTextVisible(True)
        bar.show()

    def show_encrypted_progress(self, done: int, total: int, latencies: list[float], eta_s: float) -> None:
        self._show_encrypted_count(done, total)
        if latencies:
            median = statistics.median(latencies)
            per_sample = ", ".join(fmt_seconds(s) for s in latencies[-6:])
            more = "\u2026, " if len(latencies) > 6 else ""
            self.encrypted_label.setText(
                f"Sample {done} of {total} \u00b7 {fmt_eta(eta_s)} \u00b7 median {fmt_seconds(median)} per sample\n"
                f"Latency per sample: {more}{per_sample}")
        else:
            self.encrypted_label.setText(f"Sample 0 of {total} \u00b7 encrypting the first point\u2026")

    # --- boundaries
    def show_boundaries(self, clear: Optional[np.ndarray], fhe: Optional[np.ndarray], circuit_inputs: int = 0,
                        axes: tuple[str, str] = ("x1", "x2")) -> None:
        """The classes of the integer model in the clear and in FHE simulation over the grid of the
        features ``axes`` (a strip when one feature)."""
        self.boundaries.setVisible(clear is not None and fhe is not None)  # no empty frames before a simulation
        if clear is None or fhe is None:
            for image in (self.clear_image, self.fhe_image):
                show_boundary(image, None)
            self.boundary_note.setText("Run the FHE simulation to compare the decision boundaries.")
            self.boundary_note.setToolTip("")
            return
        k = len(self.class_names)
        show_boundary(self.clear_image, class_map(clear, k))
        show_boundary(self.fhe_image, class_map(fhe, k))
        differ = int(np.count_nonzero(np.asarray(clear) != np.asarray(fhe)))
        total = int(np.asarray(clear).size)
        side = int(math.isqrt(total))
        over = axes[0] if axes[0] == axes[1] else f"{axes[0]} \u00d7 {axes[1]}"
        names = [class_label(name) for name in self.class_names]
        colours = f"blue: {names[0]}, red: {names[1]}" if k == 2 else "each class in its colour"
        verdict = "identical" if differ == 0 else f"{plural(differ, 'grid point')} differ"
        self.boundary_note.setText(f"FHE {verdict} on the {side}\u00d7{side} grid over {over}.")  # one line
        self.boundary_note.setToolTip(f"{side}\u00d7{side} grid over {over}, {circuit_inputs} distinct circuit "
                                      f"inputs simulated: {verdict} ({colours}).")

    def has_fhe_boundary(self) -> bool:
        return self.fhe_image.image is not None

    def export_png(self, path: Path) -> Optional[Path]:
        """The two boundaries to ``path``; None (nothing written) before a simulation."""
        if not self.has_fhe_boundary():
            return None
        if not self.boundaries.grab().save(str(path), "PNG"):
            raise OSError(f"can't write {path}")
        return path
