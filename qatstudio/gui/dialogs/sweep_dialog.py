"""The sweep dialog: ranges of neurons, bit-widths, pruning budgets and seeds, trained and compiled
on Dask (``qatstudio.services.sweep.run_sweep``). It shows runs queued / running / done / failed and
each run as it finishes; the rest (cluster, progress, ETA, Cancel) is ``ClusterWorkDialog``'s.
"""
from __future__ import annotations

import time
from typing import Callable, Optional

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QSpinBox, QWidget

from ...engine.config import BOUNDS, ExperimentConfig, ModelKind
from ...services.datasets import TableStore
from ...services.formatting import ERROR_COLOR, KIND_LOOKS, data_name, fmt_percent, fmt_progress, fmt_seconds, plural
from ...services.history import History
from ...services.ranges import SweepRanges
from ...services.sweep import RunDone, RunFailed, RunRedone, SweepPlan, SweepProgress, SweepResult, parse_plan, sweep_job
from ..workers import TaskError, TaskRunner
from .cluster_work import ClusterWorkDialog

COUNTS = ("queued", "running", "done", "failed")


class SweepDialog(ClusterWorkDialog):
    sweepFinished = Signal(object)  # SweepResult, or None when the sweep failed

    WORK = "sweep"
    UNIT = "run"

    def __init__(self, history: History, tables: TableStore, runner: TaskRunner,
                 base_config: Callable[[], ExperimentConfig], is_busy: Callable[[], bool] = lambda: False,
                 parent: Optional[QWidget] = None):
        super().__init__("sweep", "Sweep", "Train, compile and FHE-simulate every combination. Each run joins the "
                         "history and the trade-off chart as soon as it finishes.", history, tables, runner,
                         base_config, is_busy, parent)
        self.result: Optional[SweepResult] = None
        self.failures: list[RunFailed] = []
        self._progress: Optional[SweepProgress] = None
        self._progress_at = 0.0

        self.kind = QComboBox()
        for kind, look in KIND_LOOKS.items():
            self.kind.addItem(look.title, kind)
        ranges = SweepRanges()
        self.neurons = QLineEdit(ranges.neurons)
        self.neurons.setToolTip("Hidden neurons per layer: numbers (10, 30, 100) or a range (6-8, 10-50/20).")
        self.bits = QLineEdit(ranges.bits)
        self.bits.setToolTip(f"Bit-widths between {BOUNDS['bits'].low} and {BOUNDS['bits'].high}.")
        self.budgets = QLineEdit(ranges.budgets)
        self.budgets.setToolTip("Pruning budgets (non-zero inputs per neuron); 'off' for no pruning.")
        self.seeds = QLineEdit(ranges.seeds)
        self.seeds.setToolTip("Seeds: each seed trains the configuration again from other initial weights.")
        self.epochs = QSpinBox()
        self.epochs.setRange(0, BOUNDS["epochs"].high)
        self.epochs.setSpecialValueText(BOUNDS["epochs"].off)
        self.epochs.setToolTip("Epochs for every run of the sweep (automatic: from the data's size, as a "
                               "single run's default).")
        self.form.addRow("Model", self.kind)
        self.form.addRow("Hidden neurons", self.neurons)
        self.form.addRow("Bit-widths", self.bits)
        self.form.addRow("Pruning budgets", self.budgets)
        self.form.addRow("Seeds", self.seeds)
        self.form.addRow("Epochs", self.epochs)
        self.add_cluster_fields()

        self.counts = {}  # COUNTS -> its figure
        counts = QHBoxLayout()
        for name in COUNTS:
            figure = QLabel("-")
            figure.setObjectName(f"sweep{name.capitalize()}")
            figure.setStyleSheet("font-size:15px; font-weight:600;")
            counts.addWidget(QLabel(f"{name.capitalize()}:"))
            counts.addWidget(figure)
            counts.addSpacing(14)
            self.counts[name] = figure
        counts.addStretch(1)
        self.finished_list = QListWidget()
        self.finished_list.setObjectName("sweepRuns")
        self.finished_list.setMinimumHeight(90)
        self.results.addLayout(counts)
        self.results.addWidget(self.dashboard)
        self.results.addWidget(QLabel("Finished runs:"))
        self.results.addWidget(self.finished_list, 1)
        self.fit_screen(560, 640)

        for edit in (self.neurons, self.bits, self.budgets, self.seeds):
            edit.textChanged.connect(self._update_preview)
        self.kind.currentIndexChanged.connect(self._update_preview)
        self.epochs.valueChanged.connect(self._update_preview)
        self.refresh_base()

    # ------------------------------------------------------------------ the plan
    def fields(self) -> list[QWidget]:
        return [self.kind, self.neurons, self.bits, self.budgets, self.seeds, self.epochs]

    def refresh_base(self) -> None:
        """Take the data and training settings from the window's current configuration."""
        if self.is_running():
            return
        base = self.base_config()
        self.kind.setCurrentIndex(self.kind.findData(base.kind))
        self.epochs.setValue(base.epochs or 0)
        self.base_label.setText(
            f"Other settings come from the Configure panel: {base.n_layers} hidden layers, lr {base.lr:g}, "
            f"batch {base.batch_size}, {base.optimizer}; data: {data_name(base.data)} "
            f"(the same data for every run).")
        self._update_preview()

    def set_ranges(self, neurons: str, bits: str, budgets: str, seeds: str, epochs: Optional[int] = None,
                   kind: Optional[ModelKind] = None) -> None:
        self.neurons.setText(neurons)
        self.bits.setText(bits)
        self.budgets.setText(budgets)
        self.seeds.setText(seeds)
        if epochs is not None:
            self.epochs.setValue(epochs)
        if kind is not None:
            self.kind.setCurrentIndex(self.kind.findData(kind))

    def plan(self) -> tuple[Optional[SweepPlan], list[str]]:
        base = self.base_config().replace(kind=self.kind.currentData(), epochs=self.epochs.value() or None)
        plan, problems = parse_plan(base, SweepRanges(self.neurons.text(), self.bits.text(), self.budgets.text(),
                                                      self.seeds.text()), self.tables)
        return (None, problems) if problems else (plan, [])

    def count_planned(self) -> tuple[int, list[str]]:
        plan, problems = self.plan()
        return (0, problems) if plan is None else (len(plan.configs()[0]), [])

    def describe_plan(self, count: int) -> str:
        plan, _ = self.plan()
        skipped = plan.configs()[1]
        text = f"<b>{plural(count, 'run')}</b>"
        if skipped:
            text += (f"; {plural(len(skipped), 'combination')} skipped: "
                     + "; ".join(skipped[:3]) + ("; \u2026" if len(skipped) > 3 else ""))
        return text

    # ------------------------------------------------------------------ running
    def _before_start(self) -> None:
        self.result = None
        self.finished_list.clear()
        self.failures = []

    def make_job(self):
        plan, _ = self.plan()
        total = len(plan.configs()[0])
        self._progress = SweepProgress(total, 0, 0, 0, total, 0.0)
        self._progress_at = time.monotonic()
        self._show_counts(self._progress)
        return sweep_job(plan, self.tables, self.history, self._cluster)

    def _on_message(self, message) -> None:
        if isinstance(message, SweepProgress):
            self._progress = message
            self._progress_at = time.monotonic()  # its ETA counts down from here
            self.show_progress(message.finished, message.total)
            self._show_counts(message)
            self._show_status()
        elif isinstance(message, RunDone):
            record = message.record
            self.finished_list.addItem(f"{record.label}: {fmt_percent(record.accuracy)}, accumulator "
                                       f"{record.accumulator_bits} bits, {record.pbs_count} PBS")
            self.finished_list.scrollToBottom()
            self.run_done(record)
        elif isinstance(message, RunRedone):
            self.finished_list.addItem(f"{message.label}: again, {message.reason}")
            self.finished_list.scrollToBottom()
        elif isinstance(message, RunFailed):
            self.failures.append(message)
            item = QListWidgetItem(f"{message.label}: failed, {message.reason}")
            item.setForeground(QColor(ERROR_COLOR))
            self.finished_list.addItem(item)
            self.finished_list.scrollToBottom()

    def _show_counts(self, progress: SweepProgress) -> None:
        figures = {"queued": progress.queued, "running": progress.running, "done": progress.done,
                   "failed": progress.failed}
        for name, figure in figures.items():
            self.counts[name].setText(str(figure))

    def status_parts(self, elapsed: float) -> list[str]:
        progress = self._progress
        left = self.time_left(progress.eta_s, self._progress_at)
        return [f"{fmt_progress(progress.finished, progress.total, 'run')} finished", self.elapsed_text(),
                "ETA after the first run" if left is None else f"about {fmt_seconds(left)} left"]

    def _on_done(self, result: SweepResult) -> None:
        self.result = result
        kept = len(result.records)
        if result.cancelled:
            text = f"Cancelled: {plural(kept, 'finished run')} kept in the history."
        else:
            text = f"Done: {plural(kept, 'run')} in {fmt_seconds(time.monotonic() - self._started)}."
        if result.failures:
            text += f" {plural(len(result.failures), 'run')} failed (see the list)."
        if result.skipped:
            text += f" {plural(len(result.skipped), 'combination')} skipped."
        self.status.setText(text)
        self.sweepFinished.emit(result)

    def _on_cancelled(self) -> None:
        self._on_done(SweepResult(records=list(self.records), cancelled=True))

    def _on_failed(self, error: TaskError) -> None:
        super()._on_failed(error)
        self.result = SweepResult(records=list(self.records), cancelled=True)
        self.sweepFinished.emit(None)
