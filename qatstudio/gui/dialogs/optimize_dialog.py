"""The optimizer's dialog, "Find the cheapest circuit...": on the data of the Configure panel, it
searches the levers chosen here (hidden layers, none for a linear model; neurons; bits; pruning
budgets) for the cheapest FHE circuit within a tolerance of the best validation accuracy
(``services.optimize``). It shows each candidate as it finishes, and at the end the Pareto front and
the winner, compiled and run encrypted, which opens in the window; the rest (cluster, progress, ETA,
Cancel) is ``ClusterWorkDialog``'s.
"""
from __future__ import annotations

import html
import time
from typing import Callable, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QSplitter,
    QDoubleSpinBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from ...engine.config import BOUNDS, ExperimentConfig
from ...engine.cost import LookupTimes
from ...services.calibration import cached_lookup_times
from ...services.datasets import TableStore
from ...services.formatting import (
    ERROR_COLOR,
    WINNER_BACKGROUND,
    data_name,
    fmt_bytes,
    fmt_percent,
    fmt_predicted,
    fmt_seconds,
    plural,
)
from ...services.history import History, RunRecord
from ...services.optimize import MeasuringWinner, OptimizeProgress, OptimizeResult, describe_winner, optimize_job
from ...services.search_space import TOLERANCE, Levers, SearchSpace, search_plan
from ...services.sweep import RunDone, RunFailed
from ..charts.front_chart import Candidate, FrontChart
from ..workers import TaskError, TaskRunner
from .cluster_work import ClusterWorkDialog

MAX_TOLERANCE_POINTS = 20.0
COLUMNS = ("Candidate", "Validation", "PBS", "Predicted latency", "Keys", "Pareto front")


class OptimizeDialog(ClusterWorkDialog):
    searchFinished = Signal(object)  # OptimizeResult, or None when the search failed
    openRequested = Signal(object, object)  # the winner's Experiment (compiled, run encrypted), its file's Path

    WORK = "search"
    UNIT = "candidate"

    def __init__(self, history: History, tables: TableStore, runner: TaskRunner,
                 base_config: Callable[[], ExperimentConfig], is_busy: Callable[[], bool] = lambda: False,
                 parent: Optional[QWidget] = None):
        super().__init__(
            "optimize", "Find the cheapest circuit",
            "Train every combination of the levers below on your data, cheapest predicted first, and keep the "
            "cheapest circuit within the tolerance of the best validation accuracy; the cost model skips what "
            "can't beat it. The winner is then compiled and run encrypted.",
            history, tables, runner, base_config, is_busy, parent)
        self.result: Optional[OptimizeResult] = None
        self.times: Optional[LookupTimes] = None
        self._progress: Optional[OptimizeProgress] = None
        self._measuring: Optional[MeasuringWinner] = None  # the search is over, its winner being measured
        self._progress_at = 0.0

        levers = Levers.of(SearchSpace())
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setObjectName("optimizeTolerance")
        self.tolerance.setRange(0.0, MAX_TOLERANCE_POINTS)
        self.tolerance.setDecimals(1)
        self.tolerance.setSingleStep(0.1)
        self.tolerance.setSuffix(" points")
        self.tolerance.setValue(100 * TOLERANCE)
        self.tolerance.setToolTip("Validation accuracy the winner may give up against the best candidate found.")
        self.layers = QLineEdit(levers.layers)
        self.layers.setToolTip(f"Hidden layers, from 0 (a linear model: no lookup at all) to {BOUNDS['n_layers'].high}.")
        self.neurons = QLineEdit(levers.neurons)
        self.neurons.setToolTip("Hidden neurons per layer: numbers (4, 8, 16) or a range (4-8, 10-50/20).")
        self.bits = QLineEdit(levers.bits)
        self.bits.setToolTip(f"Bit-widths between {BOUNDS['bits'].low} and {BOUNDS['bits'].high}.")
        self.budgets = QLineEdit(levers.budgets)
        self.budgets.setToolTip("Pruning budgets (non-zero inputs per neuron); 'off' for no pruning.")
        self.kept = QLineEdit(levers.kept)
        self.kept.setToolTip("The default recipe's network with only this many neurons kept per layer (structured "
                             "pruning: trained wide, it keeps more accuracy than a small network); 'off' for none.")
        self.form.addRow("Tolerance", self.tolerance)
        self.form.addRow("Hidden layers", self.layers)
        self.form.addRow("Hidden neurons", self.neurons)
        self.form.addRow("Bit-widths", self.bits)
        self.form.addRow("Pruning budgets", self.budgets)
        self.form.addRow("Recipe, neurons kept", self.kept)
        self.add_cluster_fields()

        self.leader = QLabel()
        self.leader.setObjectName("optimizeLeader")
        self.leader.setWordWrap(True)
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
        self.front_chart = FrontChart()
        self.front_chart.set_tolerance(TOLERANCE)
        self.tolerance.valueChanged.connect(lambda points: self.front_chart.set_tolerance(points / 100))
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.front_chart)
        split.addWidget(self.table)
        self.results.addWidget(self.leader)
        self.results.addWidget(self.dashboard)
        self.results.addWidget(split, 1)
        self.results.addWidget(self.outcome)

        self.open_button = QPushButton("Open the winner")
        self.open_button.setToolTip("Show the winner in the window: its plots, circuit and encrypted figures.")
        self.open_button.clicked.connect(self.open_winner)
        self.buttons.insertWidget(self.buttons.indexOf(self.close_button), self.open_button)
        self.fit_screen(680, 860)

        for edit in (self.layers, self.neurons, self.bits, self.budgets, self.kept):
            edit.textChanged.connect(self._update_preview)
        self.refresh_base()

    # ------------------------------------------------------------------ the search asked for
    def fields(self) -> list[QWidget]:
        return [self.tolerance, self.layers, self.neurons, self.bits, self.budgets, self.kept]

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
        return Levers(self.layers.text(), self.neurons.text(), self.bits.text(), self.budgets.text(),
                      self.kept.text()).space()

    def count_planned(self) -> tuple[int, list[str]]:
        space, problems = self.space()
        return (0, problems) if space is None else (len(search_plan(self.base_config(), space)), [])

    def describe_plan(self, count: int) -> str:
        text = f"<b>{plural(count, 'candidate')}</b> at most, cheapest predicted first."
        if cached_lookup_times() is None:
            text += " This machine's lookups are timed first (about a minute, once)."
        return text

    # ------------------------------------------------------------------ running
    def _before_start(self) -> None:
        self.result, self.times = None, cached_lookup_times()
        self.table.setRowCount(0)
        self.front_chart.clear_candidates()
        self.outcome.hide()
        self.leader.setText("")
        self._progress, self._measuring = None, None

    def make_job(self):
        space, _ = self.space()
        if self.times is None:
            self.dashboard.setText(f"Timing this machine's lookups first (about a minute, once); then "
                                   f"{self._cluster.describe()}\u2026")
        return optimize_job(self.base_config(), self.tables, self.history, self._cluster,
                            self.tolerance.value() / 100, space)

    def _on_message(self, message) -> None:
        if isinstance(message, OptimizeProgress):
            self._progress = message
            self._progress_at = time.monotonic()
            self.show_progress(message.tried, message.tried + message.to_try)
            self._show_leader(message)
            self._show_status()
        elif isinstance(message, MeasuringWinner):
            self._measuring = message
            self._show_status()
        elif isinstance(message, RunDone):
            record = message.record
            predicted_s = self._predicted_s(record)
            self._add_row(record, predicted_s)
            if predicted_s is not None:
                self.front_chart.add_candidate(Candidate(record.label, predicted_s,
                                                         record.metrics.validation_accuracy or 0.0))
            self.run_done(record)
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
        self.table.item(row, 0).setForeground(QColor(ERROR_COLOR))

    def _predicted_s(self, record: RunRecord) -> Optional[float]:
        self.times = self.times or cached_lookup_times()  # the search times them first when never measured
        if self.times is None or record.stats is None:
            return None
        return self.times.circuit_latency_s(record.stats)

    def _add_row(self, record: RunRecord, predicted_s: Optional[float], front: str = "") -> int:
        stats = record.stats
        return self._new_row([record.label, fmt_percent(record.metrics.validation_accuracy),
                              f"{stats.pbs_count:,}" if stats else "-", fmt_seconds(predicted_s),
                              fmt_bytes(stats.key_bytes) if stats else "-", front])

    def _show_leader(self, progress: OptimizeProgress) -> None:
        if progress.leader is None:
            return
        self.leader.setText(f"Best validation so far {fmt_percent(progress.best_validation)}; the cheapest within "
                            f"the tolerance: <b>{html.escape(progress.leader.record.label)}</b>, predicted "
                            f"{fmt_seconds(progress.leader.predicted_latency_s)} per sample.")

    def status_parts(self, elapsed: float) -> list[str]:
        progress = self._progress
        if progress is None:
            return ["Timing this machine's lookups first" if self.times is None else "Starting", self.elapsed_text()]
        if self._measuring is not None:
            return [f"Searched {plural(progress.tried, 'candidate')}",
                    f"measuring the winner: compiling it, making its keys and running "
                    f"{plural(self._measuring.samples, 'test sample')} encrypted", self.elapsed_text()]
        left = self.time_left(progress.eta_s, self._progress_at)
        return [f"{plural(progress.tried, 'candidate')} tried, {progress.to_try:,} to try", self.elapsed_text(),
                "ETA after the first candidates" if left is None else f"at most about {fmt_seconds(left)} left"]

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

    @staticmethod
    def _candidate(tried) -> Candidate:
        return Candidate(tried.record.label, tried.predicted_latency_s, tried.validation_accuracy)

    def _show_front(self, result: OptimizeResult) -> None:
        """Every candidate tried, cheapest first: the front marked, the winner highlighted."""
        front = {id(t) for t in result.front}
        self.table.setRowCount(0)
        self.front_chart.clear_candidates()
        for tried in result.tried:
            self.front_chart.add_candidate(self._candidate(tried))
        if result.winner is not None:
            self.front_chart.set_winner(self._candidate(result.winner))
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
        super()._on_failed(error)
        self.searchFinished.emit(None)

    def _on_cancelled(self) -> None:
        super()._on_cancelled()
        self.searchFinished.emit(None)

    def _on_finished(self) -> None:
        super()._on_finished()
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
        super()._update_buttons()
        self.open_button.setEnabled(not self.is_running() and self.result is not None
                                    and self.result.experiment is not None)
