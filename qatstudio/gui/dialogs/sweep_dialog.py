"""The sweep dialog: ranges of neurons, bit-widths, pruning budgets and seeds, trained and compiled
on Dask (``qatstudio.services.sweep.run_sweep``, driven from a worker thread): worker processes of this
computer, or an existing cluster at the scheduler address given. It shows runs queued / running /
done / failed, an ETA, a link to Dask's dashboard, and Cancel. Each finished run goes to the history
at once, so a cancelled sweep keeps them.

The dialog is not modal: closing it leaves the sweep running; opening it again shows its progress.
"""
from __future__ import annotations

import html
import time
from typing import Callable, Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...engine.config import MAX_BITS, MAX_EPOCHS, MIN_BITS, ExperimentConfig
from ...services.cluster import ClusterReady, ClusterSettings
from ...services.formatting import data_name, fmt_percent, fmt_progress, fmt_seconds, plural
from ...services.history import History, RunRecord
from ...services.sweep import (
    RunDone,
    RunFailed,
    RunRedone,
    SweepPlan,
    SweepProgress,
    SweepResult,
    parse_plan,
    sweep_job,
)
from ..workers import Task, TaskError, TaskRunner


class SweepDialog(QDialog):
    runFinished = Signal(object)  # RunRecord, as each run of the sweep finishes
    sweepFinished = Signal(object)  # SweepResult, or None when the sweep failed
    idle = Signal()  # the sweep's thread has stopped (after sweepFinished)

    def __init__(self, history: History, runner: TaskRunner, base_config: Callable[[], ExperimentConfig],
                 busy_reason: Callable[[], str] = lambda: "", parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("sweepDialog")
        self.setWindowTitle("Sweep \u2014 QAT Studio")
        self.setModal(False)
        self.history = history
        self.runner = runner
        self.base_config = base_config
        self.busy_reason = busy_reason
        self.task: Optional[Task] = None
        self.result: Optional[SweepResult] = None
        self.records: list[RunRecord] = []
        self.failures: list[RunFailed] = []
        self._cluster = ClusterSettings()
        self._progress: Optional[SweepProgress] = None
        self._progress_at = 0.0
        self._started = 0.0
        self._can_start = False

        self.kind = QComboBox()
        self.kind.addItem("Float, quantized after training (pruned where a budget is set)", "float")
        self.kind.addItem("Quantization-aware training (QAT)", "qat")
        self.neurons = QLineEdit("30, 100")
        self.neurons.setToolTip("Hidden neurons per layer: numbers (10, 30, 100) or a range (6-8, 10-50/20).")
        self.bits = QLineEdit("3")
        self.bits.setToolTip(f"Bit-widths between {MIN_BITS} and {MAX_BITS}.")
        self.budgets = QLineEdit("off, 20")
        self.budgets.setToolTip("Pruning budgets (non-zero inputs per neuron); 'off' for no pruning.")
        self.seeds = QLineEdit("0")
        self.seeds.setToolTip("Seeds: each seed trains the configuration again from other initial weights.")
        self.epochs = QSpinBox()
        self.epochs.setRange(0, MAX_EPOCHS)
        self.epochs.setSpecialValueText("automatic")
        self.epochs.setToolTip("Epochs for every run of the sweep (automatic: from the data's size, as a "
                               "single run's default).")
        self.scheduler = QLineEdit()
        self.scheduler.setObjectName("sweepScheduler")
        local = ClusterSettings().describe()
        self.scheduler.setPlaceholderText(f"empty: {local}")
        self.scheduler.setToolTip(f"Empty: the sweep runs on {local}.\nOr the address of a running "
                                  "`dask scheduler`, like tcp://192.168.1.20:8786, whose workers have QAT "
                                  "Studio installed (see the README).")
        self.base_label = QLabel()
        self.base_label.setWordWrap(True)
        self.base_label.setStyleSheet("color:#555555;")
        form = QFormLayout()
        form.addRow("Model", self.kind)
        form.addRow("Hidden neurons", self.neurons)
        form.addRow("Bit-widths", self.bits)
        form.addRow("Pruning budgets", self.budgets)
        form.addRow("Seeds", self.seeds)
        form.addRow("Epochs", self.epochs)
        form.addRow("Dask scheduler", self.scheduler)

        self.preview = QLabel()
        self.preview.setObjectName("sweepPreview")
        self.preview.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("sweepProgress")
        self.progress.setValue(0)
        self.progress.setTextVisible(False)  # no count before a sweep (the preview above says how many runs)
        self.status = QLabel("Not started.")
        self.status.setObjectName("sweepStatus")
        self.status.setWordWrap(True)
        self.counts = {}  # "queued", "running", "done", "failed" -> its figure
        counts = QHBoxLayout()
        for name in ("queued", "running", "done", "failed"):
            figure = QLabel("-")
            figure.setObjectName(f"sweep{name.capitalize()}")
            figure.setStyleSheet("font-size:15px; font-weight:600;")
            counts.addWidget(QLabel(f"{name.capitalize()}:"))
            counts.addWidget(figure)
            counts.addSpacing(14)
            self.counts[name] = figure
        counts.addStretch(1)
        self.dashboard = QLabel("Dask dashboard: shown once the sweep runs.")
        self.dashboard.setObjectName("sweepDashboard")
        self.dashboard.setWordWrap(True)
        self.dashboard.setTextFormat(Qt.TextFormat.RichText)
        self.dashboard.setOpenExternalLinks(True)
        self.dashboard.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.finished_list = QListWidget()
        self.finished_list.setObjectName("sweepRuns")
        self.finished_list.setMinimumHeight(90)

        self.start_button = QPushButton("Start sweep")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel sweep")
        self.cancel_button.setToolTip("Drop the queued runs and stop the running ones; finished runs stay in "
                                      "the history.")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Close this dialog; a running sweep goes on (Demo \u25b8 Sweep shows it again).")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.hide)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        intro = QLabel("Train, compile and FHE-simulate every combination. Each run joins the history and "
                       "the trade-off chart as soon as it finishes.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.base_label)
        layout.addWidget(self.preview)
        layout.addWidget(self.progress)
        layout.addLayout(counts)
        layout.addWidget(self.status)
        layout.addWidget(self.dashboard)
        layout.addWidget(QLabel("Finished runs:"))
        layout.addWidget(self.finished_list, 1)
        layout.addLayout(buttons)
        self.resize(560, 600)

        for edit in (self.neurons, self.bits, self.budgets, self.seeds, self.scheduler):
            edit.textChanged.connect(self._update_preview)
        self.kind.currentIndexChanged.connect(self._update_preview)
        self.epochs.valueChanged.connect(self._update_preview)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._show_status)
        self.refresh_base()
        self._update_buttons()

    # ------------------------------------------------------------------ the plan
    def refresh_base(self) -> None:
        """Take the data and training settings from the window's current configuration."""
        if self.is_running():
            return
        base = self.base_config()
        self.kind.setCurrentIndex(1 if base.kind == "qat" else 0)
        self.epochs.setValue(base.epochs or 0)
        d = base.data
        self.base_label.setText(
            f"Other settings come from the Configure panel: {base.n_layers} hidden layers, lr {base.lr:g}, "
            f"batch {base.batch_size}, {base.optimizer}; data: {data_name(d)} "
            f"(the same data for every run).")
        self._update_preview()

    def set_ranges(self, neurons: str, bits: str, budgets: str, seeds: str, epochs: Optional[int] = None,
                   kind: Optional[str] = None) -> None:
        self.neurons.setText(neurons)
        self.bits.setText(bits)
        self.budgets.setText(budgets)
        self.seeds.setText(seeds)
        if epochs is not None:
            self.epochs.setValue(epochs)
        if kind is not None:
            self.kind.setCurrentIndex(max(self.kind.findData(kind), 0))

    def plan(self) -> tuple[Optional[SweepPlan], list[str]]:
        base = self.base_config().replace(kind=self.kind.currentData(), epochs=self.epochs.value() or None)
        plan, problems = parse_plan(base, self.neurons.text(), self.bits.text(), self.budgets.text(),
                                    self.seeds.text())
        problems += self.cluster().problems()
        return (None, problems) if problems else (plan, [])

    def cluster(self) -> ClusterSettings:
        return ClusterSettings(scheduler=self.scheduler.text().strip())

    def _update_preview(self) -> None:
        if self.is_running():
            return
        plan, problems = self.plan()
        if plan is None:
            self.preview.setText("<span style='color:#8a1c12'>" + "<br>".join(problems) + "</span>")
            self._can_start = False
        else:
            configs, skipped = plan.configs()
            text = f"<b>{plural(len(configs), 'run')}</b>"
            if skipped:
                text += (f"; {plural(len(skipped), 'combination')} skipped: "
                         + "; ".join(skipped[:3]) + ("; \u2026" if len(skipped) > 3 else ""))
            self.preview.setText(text)
            self._can_start = bool(configs)
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
        plan, problems = self.plan()
        if plan is None:
            self.status.setText("; ".join(problems))
            return False
        configs, _ = plan.configs()
        if not configs:
            self.status.setText("Nothing to run: every combination was skipped.")
            return False
        self.records = []
        self.result = None
        self.finished_list.clear()
        self.failures = []
        self._show_progress(0, len(configs))
        self._progress = SweepProgress(len(configs), 0, 0, 0, len(configs), 0.0)
        self._show_counts(self._progress)
        cluster = self._cluster = self.cluster()
        self.dashboard.setText(f"Starting {cluster.describe()}\u2026")
        self._started = self._progress_at = time.monotonic()
        task = self.runner.start("Sweep", sweep_job(plan, self.history, cluster))
        self.task = task
        task.message.connect(self._on_message)
        task.succeeded.connect(self._on_done)
        task.failed.connect(self._on_failed)
        task.cancelled.connect(lambda: self._on_done(SweepResult(records=list(self.records), cancelled=True)))
        task.finished.connect(self._on_finished)
        self._clock.start()
        self._show_status()
        self._update_buttons()
        return True

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.status.setText("Cancelling: queued runs are dropped and running ones stop; finished runs stay "
                                "in the history\u2026")
            self.cancel_button.setEnabled(False)

    def _on_message(self, message) -> None:
        if isinstance(message, SweepProgress):
            self._progress = message
            self._progress_at = time.monotonic()  # its ETA counts down from here
            self._show_progress(message.finished, message.total)
            self._show_counts(message)
            self._show_status()
        elif isinstance(message, ClusterReady):
            self._show_cluster(message)
        elif isinstance(message, RunDone):
            record = message.record
            self.records.append(record)
            self.finished_list.addItem(f"{record.label}: {fmt_percent(record.accuracy)}, accumulator "
                                       f"{record.accumulator_bits} bits, {record.pbs_count} PBS")
            self.finished_list.scrollToBottom()
            self.runFinished.emit(record)
        elif isinstance(message, RunRedone):
            self.finished_list.addItem(f"{message.label}: again, {message.reason}")
            self.finished_list.scrollToBottom()
        elif isinstance(message, RunFailed):
            self.failures.append(message)
            item = QListWidgetItem(f"{message.label}: failed, {message.reason}")
            item.setForeground(QColor("#8a1c12"))
            self.finished_list.addItem(item)
            self.finished_list.scrollToBottom()

    def _show_progress(self, finished: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(finished)
        self.progress.setFormat(f"{fmt_progress(finished, total, 'run')} finished")
        self.progress.setTextVisible(True)

    def progress_text(self) -> str:
        """What the progress bar says ('' before the first sweep)."""
        return self.progress.format() if self.progress.isTextVisible() else ""

    def _show_counts(self, progress: SweepProgress) -> None:
        figures = {"queued": progress.queued, "running": progress.running, "done": progress.done,
                   "failed": progress.failed}
        for name, figure in figures.items():
            self.counts[name].setText(str(figure))

    def _show_cluster(self, ready: ClusterReady) -> None:
        where = f"Running on {ready.where} ({plural(ready.workers, 'worker')} connected)."
        if ready.dashboard_url:
            link = html.escape(ready.dashboard_url)
            self.dashboard.setText(f"{where} Dask dashboard: <a href=\"{link}\">{link}</a>")
        else:
            self.dashboard.setText(f"{where} {html.escape(ready.dashboard_note)}")

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

    def _on_failed(self, error: TaskError) -> None:
        self.result = SweepResult(records=list(self.records), cancelled=True)
        kept = len(self.records)
        self.status.setText(f"The sweep stopped: {error.title}: {error.message}. "
                            f"{plural(kept, 'finished run')} kept in the history.")
        self.sweepFinished.emit(None)

    def _on_finished(self) -> None:
        self.task = None
        if not self._cluster.scheduler:  # the link would be dead
            self.dashboard.setText("The sweep's Dask cluster on this computer has shut down, its dashboard with it.")
        self._clock.stop()
        self._update_buttons()
        self._update_preview()
        self.idle.emit()

    def _show_status(self) -> None:
        progress = self._progress
        if self.task is None or progress is None:
            return
        elapsed = time.monotonic() - self._started
        parts = [f"{fmt_progress(progress.finished, progress.total, 'run')} finished",
                 f"{fmt_seconds(elapsed)} elapsed"]
        if progress.eta_s is None:
            parts.append("ETA after the first run")
        else:
            left = max(progress.eta_s - (time.monotonic() - self._progress_at), 0.0)
            parts.append(f"about {fmt_seconds(left)} left")
        if self.task.state.is_cancelled:
            parts.append("cancelling\u2026")
        self.status.setText(" \u00b7 ".join(parts))

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.start_button.setEnabled(not running and self._can_start)
        self.cancel_button.setEnabled(running and not (self.task and self.task.state.is_cancelled))
        for widget in (self.kind, self.neurons, self.bits, self.budgets, self.seeds, self.epochs, self.scheduler):
            widget.setEnabled(not running)

    def closeEvent(self, event) -> None:  # closing hides: a running sweep goes on
        self.hide()
        event.ignore()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:  # Esc closes, never cancels the sweep by surprise
            self.hide()
            return
        super().keyPressEvent(event)
