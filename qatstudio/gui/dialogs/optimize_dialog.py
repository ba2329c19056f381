"""The optimizer's dialog, "Find the cheapest circuit...": on the data of the Configure panel, it
searches the levers chosen here (hidden layers, none for a linear model; neurons; bits; pruning
budgets) for the cheapest FHE circuit within a tolerance of the best validation accuracy
(``services.optimize``), on Dask like a sweep: worker processes of this computer or an existing
cluster. It shows each candidate as it finishes, the progress with an ETA, Cancel, and at the end
the Pareto front and the winner, compiled and run encrypted, which opens in the window.

Not modal: closing it leaves the search running; opening it again shows its progress.
"""
from __future__ import annotations

import html
import os
import time
from typing import Callable, Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...engine.config import MAX_BITS, MAX_HIDDEN, MAX_LAYERS, MIN_BITS, ExperimentConfig
from ...engine.cost import LookupTimes
from ...services.calibration import cached_lookup_times
from ...services.cluster import ClusterReady, ClusterSettings, default_workers
from ...services.formatting import (
    data_name,
    fmt_bytes,
    fmt_percent,
    fmt_predicted,
    fmt_progress,
    fmt_seconds,
    plural,
)
from ...services.history import History, RunRecord
from ...services.optimize import MeasuringWinner, OptimizeProgress, OptimizeResult, describe_winner, optimize_job
from ...services.search_space import TOLERANCE, SearchSpace, search_plan
from ...services.sweep import RunDone, RunFailed, parse_values
from ..workers import Task, TaskError, TaskRunner

MAX_TOLERANCE_POINTS = 20.0
COLUMNS = ("Candidate", "Validation", "PBS", "Predicted latency", "Keys", "Pareto front")
WINNER_BACKGROUND = "#e3f2e1"


def _values(values: tuple) -> str:
    """A lever's values as the fields show them: '0, 1, 2', 'off, 2'."""
    return ", ".join("off" if value is None else str(value) for value in values)


class OptimizeDialog(QDialog):
    runFinished = Signal(object)  # RunRecord, as each candidate finishes (already in the history)
    searchFinished = Signal(object)  # OptimizeResult, or None when the search failed
    openRequested = Signal(object, object)  # the winner's Experiment (compiled, run encrypted), its file's Path
    idle = Signal()  # the search's thread has stopped (after searchFinished)

    def __init__(self, history: History, runner: TaskRunner, base_config: Callable[[], ExperimentConfig],
                 busy_reason: Callable[[], str] = lambda: "", parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("optimizeDialog")
        self.setWindowTitle("Find the cheapest circuit \u2014 QAT Studio")
        self.setModal(False)
        self.history = history
        self.runner = runner
        self.base_config = base_config
        self.busy_reason = busy_reason
        self.task: Optional[Task] = None
        self.result: Optional[OptimizeResult] = None
        self.records: list[RunRecord] = []
        self.times: Optional[LookupTimes] = None
        self._cluster = ClusterSettings()
        self._progress: Optional[OptimizeProgress] = None
        self._measuring: Optional[MeasuringWinner] = None  # the search is over, its winner being measured
        self._progress_at = 0.0
        self._started = 0.0
        self._can_start = False

        space = SearchSpace()
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setObjectName("optimizeTolerance")
        self.tolerance.setRange(0.0, MAX_TOLERANCE_POINTS)
        self.tolerance.setDecimals(1)
        self.tolerance.setSingleStep(0.1)
        self.tolerance.setSuffix(" points")
        self.tolerance.setValue(100 * TOLERANCE)
        self.tolerance.setToolTip("Validation accuracy the winner may give up against the best candidate found.")
        self.layers = QLineEdit(_values(space.layers))
        self.layers.setToolTip(f"Hidden layers, from 0 (a linear model: no lookup at all) to {MAX_LAYERS}.")
        self.neurons = QLineEdit(_values(space.neurons))
        self.neurons.setToolTip("Hidden neurons per layer: numbers (4, 8, 16) or a range (4-8, 10-50/20).")
        self.bits = QLineEdit(_values(space.bits))
        self.bits.setToolTip(f"Bit-widths between {MIN_BITS} and {MAX_BITS}.")
        self.budgets = QLineEdit(_values(space.budgets))
        self.budgets.setToolTip("Pruning budgets (non-zero inputs per neuron); 'off' for no pruning.")
        self.kept = QLineEdit(_values(space.kept) or "off")
        self.kept.setToolTip("The default recipe's network with only this many neurons kept per layer (structured "
                             "pruning: trained wide, it keeps more accuracy than a small network); 'off' for none.")
        self.workers = QSpinBox()
        self.workers.setRange(1, os.cpu_count() or 1)
        self.workers.setValue(default_workers())
        self.workers.setToolTip("Worker processes of this computer, each training one candidate at a time "
                                "(with a scheduler address, the cluster's own workers run them).")
        self.scheduler = QLineEdit()
        self.scheduler.setObjectName("optimizeScheduler")
        self.scheduler.setPlaceholderText("empty: this computer")
        self.scheduler.setToolTip("Empty: worker processes of this computer.\nOr the address of a running "
                                  "`dask scheduler`, like tcp://192.168.1.20:8786, whose workers have QAT Studio "
                                  "installed (see the README).")
        form = QFormLayout()
        form.addRow("Tolerance", self.tolerance)
        form.addRow("Hidden layers", self.layers)
        form.addRow("Hidden neurons", self.neurons)
        form.addRow("Bit-widths", self.bits)
        form.addRow("Pruning budgets", self.budgets)
        form.addRow("Recipe, neurons kept", self.kept)
        form.addRow("Local workers", self.workers)
        form.addRow("Dask scheduler", self.scheduler)

        self.base_label = QLabel()
        self.base_label.setObjectName("optimizeData")
        self.base_label.setWordWrap(True)
        self.base_label.setStyleSheet("color:#555555;")
        self.preview = QLabel()
        self.preview.setObjectName("optimizePreview")
        self.preview.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("optimizeProgress")
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.status = QLabel("Not started.")
        self.status.setObjectName("optimizeStatus")
        self.status.setWordWrap(True)
        self.leader = QLabel()
        self.leader.setObjectName("optimizeLeader")
        self.leader.setWordWrap(True)
        self.dashboard = QLabel()
        self.dashboard.setObjectName("optimizeDashboard")
        self.dashboard.setWordWrap(True)
        self.dashboard.setTextFormat(Qt.TextFormat.RichText)
        self.dashboard.setOpenExternalLinks(True)
        self.dashboard.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("optimizeCandidates")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(120)
        self.outcome = QLabel()
        self.outcome.setObjectName("optimizeOutcome")
        self.outcome.setWordWrap(True)
        self.outcome.hide()

        self.start_button = QPushButton("Start search")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel search")
        self.cancel_button.setToolTip("Stop the search: running candidates stop, finished ones stay in the history.")
        self.open_button = QPushButton("Open the winner")
        self.open_button.setToolTip("Show the winner in the window: its plots, circuit and encrypted figures.")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Close this dialog; a running search goes on (Run \u25b8 Find the cheapest "
                                     "circuit shows it again).")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button.clicked.connect(self.open_winner)
        self.close_button.clicked.connect(self.hide)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        intro = QLabel("Train every combination of the levers below on your data, cheapest predicted first, and "
                       "keep the cheapest circuit within the tolerance of the best validation accuracy; the cost "
                       "model skips what can't beat it. The winner is then compiled and run encrypted.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self.base_label)
        layout.addLayout(form)
        layout.addWidget(self.preview)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.leader)
        layout.addWidget(self.dashboard)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.outcome)
        layout.addLayout(buttons)
        self.resize(640, 640)

        for edit in (self.layers, self.neurons, self.bits, self.budgets, self.kept, self.scheduler):
            edit.textChanged.connect(self._update_preview)
        self.workers.valueChanged.connect(self._update_preview)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._show_status)
        self.refresh_base()
        self._update_buttons()

    # ------------------------------------------------------------------ the search asked for
    def refresh_base(self, *changed) -> None:
        """Take the data and training settings from the window's current configuration (``changed``:
        what the Configure panel's signal carries, read again here)."""
        if self.is_running():
            return
        self.base_label.setText(f"Data: {data_name(self.base_config().data)}, as in the Configure panel. "
                                "Every candidate is trained with quantization (QAT) and scored on validation.")
        self._update_preview()

    def set_levers(self, layers: str, neurons: str, bits: str, budgets: str, kept: str = "off") -> None:
        self.layers.setText(layers)
        self.neurons.setText(neurons)
        self.bits.setText(bits)
        self.budgets.setText(budgets)
        self.kept.setText(kept)

    def space(self) -> tuple[Optional[SearchSpace], list[str]]:
        layers, p1 = parse_values(self.layers.text(), 0, MAX_LAYERS, "hidden layers")
        neurons, p2 = parse_values(self.neurons.text(), 1, MAX_HIDDEN, "hidden neurons")
        bits, p3 = parse_values(self.bits.text(), MIN_BITS, MAX_BITS, "bit-widths")
        budgets, p4 = parse_values(self.budgets.text(), 1, MAX_HIDDEN, "pruning budgets", allow_off=True)
        kept, p5 = parse_values(self.kept.text(), 1, MAX_HIDDEN, "neurons kept", allow_off=True)
        problems = p1 + p2 + p3 + p4 + p5 + self.cluster().problems()
        if problems:
            return None, problems
        return SearchSpace(layers=tuple(layers), neurons=tuple(neurons), bits=tuple(bits), budgets=tuple(budgets),
                           kept=tuple(k for k in kept if k is not None)), []

    def cluster(self) -> ClusterSettings:
        scheduler = self.scheduler.text().strip()
        return ClusterSettings(scheduler=scheduler, workers=None if scheduler else self.workers.value())

    def _update_preview(self) -> None:
        if self.is_running():
            return
        space, problems = self.space()
        if space is None:
            lines = "<br>".join(html.escape(problem, quote=False) for problem in problems)
            self.preview.setText(f"<span style='color:#8a1c12'>{lines}</span>")
            self._can_start = False
        else:
            found = len(search_plan(self.base_config(), space))
            text = f"<b>{plural(found, 'candidate')}</b> at most, cheapest predicted first."
            if cached_lookup_times() is None:
                text += " This machine's lookups are timed first (about a minute, once)."
            self.preview.setText(text)
            self._can_start = found > 0
        self._update_buttons()

    # ------------------------------------------------------------------ running
    def is_running(self) -> bool:
        return self.task is not None

    def start(self) -> bool:
        if self.is_running():
            return False
        reason = self.busy_reason()
        if reason:
            self.status.setText(reason)
            return False
        space, problems = self.space()
        if space is None:
            self.status.setText("; ".join(problems))
            return False
        base = self.base_config()
        self.records, self.result, self.times = [], None, cached_lookup_times()
        self.table.setRowCount(0)
        self.outcome.hide()
        self.leader.setText("")
        self._progress, self._measuring = None, None
        to_try = len(search_plan(base, space))
        self._show_progress(0, to_try)
        cluster = self._cluster = self.cluster()
        first = "Timing this machine's lookups first (about a minute, once)" if self.times is None else "Starting"
        self.dashboard.setText(f"{first}; then {cluster.describe()}\u2026")
        self._started = self._progress_at = time.monotonic()
        task = self.runner.start("Optimizer", optimize_job(base, self.history, cluster, self.tolerance.value() / 100,
                                                           space))
        self.task = task
        task.message.connect(self._on_message)
        task.succeeded.connect(self._on_done)
        task.failed.connect(self._on_failed)
        task.cancelled.connect(self._on_cancelled)
        task.finished.connect(self._on_finished)
        self._clock.start()
        self.status.setText(f"{first}\u2026")
        self._update_buttons()
        return True

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.status.setText("Cancelling: running candidates stop; finished ones stay in the history\u2026")
            self.cancel_button.setEnabled(False)

    def _on_message(self, message) -> None:
        if isinstance(message, OptimizeProgress):
            self._progress = message
            self._progress_at = time.monotonic()
            self._show_progress(message.tried, message.tried + message.to_try)
            self._show_leader(message)
            self._show_status()
        elif isinstance(message, MeasuringWinner):
            self._measuring = message
            self._show_status()
        elif isinstance(message, ClusterReady):
            self._show_cluster(message)
        elif isinstance(message, RunDone):
            self.records.append(message.record)
            self._add_row(message.record)
            self.runFinished.emit(message.record)
        elif isinstance(message, RunFailed):
            self._failed_row(message)

    def _new_row(self, texts: list[str]) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in enumerate(texts):
            item = QTableWidgetItem(text)
            if column:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)
        self.table.scrollToBottom()
        return row

    def _failed_row(self, failure: RunFailed) -> None:
        row = self._new_row([f"{failure.label}: failed, {failure.reason}"] + [""] * (len(COLUMNS) - 1))
        self.table.item(row, 0).setForeground(QColor("#8a1c12"))

    def _add_row(self, record: RunRecord, predicted_s: Optional[float] = None, front: str = "") -> int:
        self.times = self.times or cached_lookup_times()  # the search times them first when never measured
        stats = record.stats
        if predicted_s is None and self.times is not None and stats is not None:
            predicted_s = self.times.circuit_latency_s(stats)
        return self._new_row([record.label, fmt_percent(record.metrics.validation_accuracy),
                              f"{stats.pbs_count:,}" if stats else "-", fmt_seconds(predicted_s),
                              fmt_bytes(stats.key_bytes) if stats else "-", front])

    def _show_progress(self, tried: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(tried)
        self.progress.setFormat(f"{fmt_progress(tried, total, 'candidate')} tried")
        self.progress.setTextVisible(True)

    def _show_leader(self, progress: OptimizeProgress) -> None:
        if progress.leader is None:
            return
        self.leader.setText(f"Best validation so far {fmt_percent(progress.best_validation)}; the cheapest within "
                            f"the tolerance: <b>{html.escape(progress.leader.record.label)}</b>, predicted "
                            f"{fmt_seconds(progress.leader.predicted_latency_s)} per sample.")

    def _show_cluster(self, ready: ClusterReady) -> None:
        where = f"Running on {ready.where} ({plural(ready.workers, 'worker')} connected)."
        if ready.dashboard_url:
            link = html.escape(ready.dashboard_url)
            self.dashboard.setText(f"{where} Dask dashboard: <a href=\"{link}\">{link}</a>")
        else:
            self.dashboard.setText(f"{where} {html.escape(ready.dashboard_note)}")

    def _show_status(self) -> None:
        progress = self._progress
        if self.task is None or progress is None:
            return
        elapsed = time.monotonic() - self._started
        if self._measuring is not None:
            parts = [f"Searched {plural(progress.tried, 'candidate')}",
                     f"measuring the winner: compiling it, making its keys and running "
                     f"{plural(self._measuring.samples, 'test sample')} encrypted", f"{fmt_seconds(elapsed)} elapsed"]
        else:
            parts = [f"{plural(progress.tried, 'candidate')} tried, {progress.to_try:,} to try",
                     f"{fmt_seconds(elapsed)} elapsed"]
            if progress.eta_s is not None:
                left = max(progress.eta_s - (time.monotonic() - self._progress_at), 0.0)
                parts.append(f"at most about {fmt_seconds(left)} left")
            else:
                parts.append("ETA after the first candidates")
        if self.task.state.is_cancelled:
            parts.append("cancelling\u2026")
        self.status.setText(" \u00b7 ".join(parts))

    def _on_done(self, result: OptimizeResult) -> None:
        self._clock.stop()
        self.result = result
        self._show_front(result)
        kept = len(self.records)
        if result.cancelled:
            text = f"Cancelled: {plural(kept, 'finished candidate')} kept in the history."
        else:
            took = fmt_seconds(time.monotonic() - self._started)
            text = (f"Done in {took}: {plural(len(result.tried), 'candidate')} tried, {result.ruled_out:,} ruled out "
                    "by the cost model.")
        if result.failures:
            text += f" {plural(len(result.failures), 'candidate')} failed (see the list)."
        self.status.setText(text)
        self.outcome.setText(self._describe(result))
        self.outcome.show()
        self.searchFinished.emit(result)

    def _describe(self, result: OptimizeResult) -> str:
        """The winner in words: its accuracy against the best, its measured cost against the prediction."""
        text = html.escape(describe_winner(result))
        winner, experiment = result.winner, result.experiment
        if winner is None:
            return text
        m = winner.record.metrics
        text = (f"<b>{text}</b><br>Validation {fmt_percent(m.validation_accuracy)} (best "
                f"{fmt_percent(result.best_validation)}), predicted {fmt_seconds(winner.predicted_latency_s)} "
                f"per sample.")
        if experiment is not None:
            e = experiment.metrics
            ceiling = f", ceiling {fmt_percent(e.ceiling_accuracy)}" if e.ceiling_accuracy is not None else ""
            measured = f"{fmt_seconds(e.fhe_latency_s)} measured; " if e.fhe_latency_s is not None else ""
            latency = measured + fmt_predicted(winner.predicted_latency_s, e.fhe_latency_s, fmt_seconds)
            text += (f"<br>Test {fmt_percent(e.clear_accuracy)}{ceiling}; encrypted "
                     f"{fmt_percent(e.fhe_executed_accuracy)} on {plural(e.fhe_executed_samples, 'sample')}. "
                     f"Latency per sample: {latency}.")
        return text

    def _show_front(self, result: OptimizeResult) -> None:
        """Every candidate tried, cheapest first: the front marked, the winner highlighted."""
        front = {id(t) for t in result.front}
        self.table.setRowCount(0)
        for tried in sorted(result.tried, key=lambda t: t.predicted_latency_s):
            mark = "winner" if tried is result.winner else "\u2605 front" if id(tried) in front else ""
            row = self._add_row(tried.record, tried.predicted_latency_s, mark)
            if tried is result.winner:
                for column in range(len(COLUMNS)):
                    item = self.table.item(row, column)
                    item.setBackground(QColor(WINNER_BACKGROUND))
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
        for failure in result.failures:
            self._failed_row(failure)
        self.table.scrollToTop()

    def _on_failed(self, error: TaskError) -> None:
        self._clock.stop()
        self.status.setText(f"The search stopped: {error.title}: {error.message}. "
                            f"{plural(len(self.records), 'finished candidate')} kept in the history.")
        self.searchFinished.emit(None)

    def _on_cancelled(self) -> None:
        self._clock.stop()
        self.status.setText(f"Cancelled: {plural(len(self.records), 'finished candidate')} kept in the history.")
        self.searchFinished.emit(None)

    def _on_finished(self) -> None:
        self.task = None
        if not self._cluster.scheduler:
            self.dashboard.setText("The search's Dask cluster on this computer has shut down, its dashboard with it.")
        self._clock.stop()
        self._update_buttons()
        self._update_preview()
        self.idle.emit()
        if self.result is not None and not self.result.cancelled:
            self.open_winner()

    def open_winner(self) -> bool:
        """Show the winner in the window (once the search's thread has stopped)."""
        result = self.result
        if self.is_running() or result is None or result.experiment is None:
            return False
        self.openRequested.emit(result.experiment, result.winner.record.experiment_path)
        return True

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.start_button.setEnabled(not running and self._can_start)
        self.cancel_button.setEnabled(running and not self.task.state.is_cancelled)
        self.open_button.setEnabled(not running and self.result is not None and self.result.experiment is not None)
        for widget in (self.tolerance, self.layers, self.neurons, self.bits, self.budgets, self.kept, self.scheduler):
            widget.setEnabled(not running)
        self.workers.setEnabled(not running and not self.scheduler.text().strip())

    def closeEvent(self, event) -> None:  # closing hides: a running search goes on
        self.hide()
        event.ignore()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:  # Esc closes, never cancels the search by surprise
            self.hide()
            return
        super().keyPressEvent(event)
