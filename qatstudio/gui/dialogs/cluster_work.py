"""What the sweep and the optimizer dialogs share: work run on Dask (worker processes of this computer,
or an existing cluster at the scheduler address given) from a worker thread, with its progress, ETA,
the dashboard's link, Start and Cancel. Finished runs join the history as they finish, so cancelling
keeps them.

Not modal: closing the dialog (or Esc) hides it and leaves the work running; opening it again shows
its progress.
"""
from __future__ import annotations

import html
import os
import time
from typing import Callable, Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...engine.config import ExperimentConfig
from ...services.cluster import ClusterReady, ClusterSettings, default_workers
from ...services.datasets import TableStore
from ...services.formatting import ERROR_COLOR, MUTED_COLOR, fmt_progress, fmt_seconds, plural
from ...services.history import History, RunRecord
from ..workers import Task, TaskError, TaskRunner


class ClusterWorkDialog(QDialog):
    """A dialog that runs one job on Dask. A subclass names its work and its unit (``WORK``, ``UNIT``),
    adds its fields to ``form`` and its widgets through ``add_results``, and handles the job's messages
    and outcome (``_on_message``, ``_on_done``, ``_on_failed``, ``_on_cancelled``)."""

    runFinished = Signal(object)  # RunRecord, as each run finishes (already in the history)
    idle = Signal()  # the work's thread has stopped (after the subclass's own finished signal)

    WORK = "work"  # what the dialog runs, as in "Start sweep", "the sweep's Dask cluster"
    UNIT = "run"  # one piece of it, as in "3 runs finished"

    def __init__(self, name: str, title: str, intro: str, history: History, tables: TableStore, runner: TaskRunner,
                 base_config: Callable[[], ExperimentConfig], is_busy: Callable[[], bool] = lambda: False,
                 parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName(f"{name}Dialog")
        self.setWindowTitle(f"{title} \u2014 QAT Studio")
        self.setModal(False)
        self.history = history
        self.tables = tables  # the rows of the window's table
        self.runner = runner
        self.base_config = base_config
        self.is_busy = is_busy
        self.task: Optional[Task] = None
        self.records: list[RunRecord] = []
        self._cluster = ClusterSettings()
        self._started = 0.0
        self._can_start = False

        self.workers = QSpinBox()
        self.workers.setObjectName(f"{name}Workers")
        self.workers.setRange(1, os.cpu_count() or 1)
        self.workers.setValue(default_workers())
        self.workers.setToolTip(f"Worker processes of this computer, each running one {self.UNIT} at a time "
                                "(with a scheduler address, the cluster's own workers run them).")
        self.scheduler = QLineEdit()
        self.scheduler.setObjectName(f"{name}Scheduler")
        self.scheduler.setPlaceholderText("empty: this computer")
        self.scheduler.setToolTip(f"Empty: the {self.WORK} runs on worker processes of this computer.\nOr the "
                                  "address of a running `dask scheduler`, like tcp://192.168.1.20:8786, whose "
                                  "workers have QAT Studio installed (see the README).")
        self.form = QFormLayout()
        self.base_label = QLabel()
        self.base_label.setObjectName(f"{name}Data")
        self.base_label.setWordWrap(True)
        self.base_label.setStyleSheet(f"color:{MUTED_COLOR};")
        self.preview = QLabel()
        self.preview.setObjectName(f"{name}Preview")
        self.preview.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName(f"{name}Progress")
        self.progress.setValue(0)
        self.progress.setTextVisible(False)  # no count before the work starts (the preview says how much)
        self.status = QLabel("Not started.")
        self.status.setObjectName(f"{name}Status")
        self.status.setWordWrap(True)
        self.dashboard = QLabel(f"Dask dashboard: shown once the {self.WORK} runs.")
        self.dashboard.setObjectName(f"{name}Dashboard")
        self.dashboard.setWordWrap(True)
        self.dashboard.setTextFormat(Qt.TextFormat.RichText)
        self.dashboard.setOpenExternalLinks(True)
        self.dashboard.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)

        self.start_button = QPushButton(f"Start {self.WORK}")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton(f"Cancel {self.WORK}")
        self.cancel_button.setToolTip(f"Stop the {self.WORK}: queued {self.UNIT}s are dropped and running ones "
                                      f"stop; finished ones stay in the history.")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip(f"Close this dialog; a running {self.WORK} goes on (open it again from the "
                                     "same menu to see it).")
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.hide)
        self.buttons = QHBoxLayout()
        self.buttons.addWidget(self.start_button)
        self.buttons.addWidget(self.cancel_button)
        self.buttons.addStretch(1)
        self.buttons.addWidget(self.close_button)

        self.layout_ = QVBoxLayout(self)
        intro_label = QLabel(intro)
        intro_label.setWordWrap(True)
        self.layout_.addWidget(intro_label)
        self.layout_.addWidget(self.base_label)
        self.layout_.addLayout(self.form)
        self.layout_.addWidget(self.preview)
        self.layout_.addWidget(self.progress)
        self.results = QVBoxLayout()  # the subclass's progress figures and results
        self.layout_.addWidget(self.status)
        self.layout_.addLayout(self.results, 1)
        self.layout_.addLayout(self.buttons)

        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._show_status)

    def fit_screen(self, width: int, height: int) -> None:
        """Resize to ``width`` x ``height``, or less where the screen's free area is smaller."""
        screen = (self.parentWidget() or self).screen() or QGuiApplication.primaryScreen()
        area = screen.availableGeometry()
        self.resize(min(width, area.width() - 40), min(height, area.height() - 60))

    def add_cluster_fields(self) -> None:
        """The cluster's two fields, last in the form; call once the subclass's own fields are in."""
        self.form.addRow("Local workers", self.workers)
        self.form.addRow("Dask scheduler", self.scheduler)
        self.scheduler.textChanged.connect(self._update_preview)
        self.workers.valueChanged.connect(self._update_preview)

    # ------------------------------------------------------------------ what the subclass says
    def fields(self) -> list[QWidget]:
        """The subclass's input widgets, locked while the work runs."""
        raise NotImplementedError

    def count_planned(self) -> tuple[int, list[str]]:
        """How many units the fields ask for (at most), or the problems with the fields."""
        raise NotImplementedError

    def describe_plan(self, count: int) -> str:
        """The preview's rich text for a plan of ``count`` units."""
        return f"<b>{plural(count, self.UNIT)}</b>"

    def make_job(self):
        """The services job to run (the fields have been checked)."""
        raise NotImplementedError

    def status_parts(self, elapsed: float) -> list[str]:
        """The status line's parts while running (ETA and the like)."""
        raise NotImplementedError

    def _on_message(self, message) -> None:
        """One of the job's own messages (progress, a run done or failed)."""
        raise NotImplementedError

    def _on_done(self, result) -> None:
        raise NotImplementedError

    def _on_failed(self, error: TaskError) -> None:
        self._clock.stop()
        self.status.setText(f"The {self.WORK} stopped: {error.title}: {error.message}. "
                            f"{plural(len(self.records), 'finished ' + self.UNIT)} kept in the history.")

    def _on_cancelled(self) -> None:
        self._clock.stop()
        self.status.setText(f"Cancelled: {plural(len(self.records), 'finished ' + self.UNIT)} kept in the history.")

    def _before_start(self) -> None:
        """Clear the previous work's results."""

    # ------------------------------------------------------------------ the plan
    def cluster(self) -> ClusterSettings:
        scheduler = self.scheduler.text().strip()
        return ClusterSettings(scheduler=scheduler, workers=None if scheduler else self.workers.value())

    def _update_preview(self) -> None:
        if self.is_running():
            return
        count, problems = self.count_planned()
        problems = problems + self.cluster().problems()
        if problems:
            lines = "<br>".join(html.escape(problem, quote=False) for problem in problems)
            self.preview.setText(f"<span style='color:{ERROR_COLOR}'>{lines}</span>")
            self._can_start = False
        else:
            self.preview.setText(self.describe_plan(count))
            self._can_start = count > 0
        self._update_buttons()

    # ------------------------------------------------------------------ running
    def is_running(self) -> bool:
        return self.task is not None

    def start(self) -> bool:
        if self.is_running():
            return False
        if self.is_busy():
            self.status.setText(f"The window is busy: stop its work first, then start the {self.WORK}.")
            return False
        count, problems = self.count_planned()
        problems = problems + self.cluster().problems()
        if problems:
            self.status.setText("; ".join(problems))
            return False
        if not count:
            self.status.setText(f"Nothing to run: no {self.UNIT} is left to try.")
            return False
        self.records = []
        self._before_start()
        self.show_progress(0, count)
        cluster = self._cluster = self.cluster()
        self.dashboard.setText(f"Starting {cluster.describe()}\u2026")
        self._started = time.monotonic()
        task = self.task = self.runner.start(self.WORK.capitalize(), self.make_job())
        task.message.connect(self._route_message)
        task.succeeded.connect(self._on_done)
        task.failed.connect(self._on_failed)
        task.cancelled.connect(self._on_cancelled)
        task.finished.connect(self._on_finished)
        self._clock.start()
        self._show_status()
        self._update_buttons()
        return True

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.status.setText(f"Cancelling: queued {self.UNIT}s are dropped and running ones stop; finished ones "
                                "stay in the history\u2026")
            self.cancel_button.setEnabled(False)

    def _route_message(self, message) -> None:
        if isinstance(message, ClusterReady):
            self.show_cluster(message)
        else:
            self._on_message(message)

    def run_done(self, record: RunRecord) -> None:
        """A unit finished and joined the history."""
        self.records.append(record)
        self.runFinished.emit(record)

    def show_progress(self, finished: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(finished)
        self.progress.setFormat(f"{fmt_progress(finished, total, self.UNIT)} finished")
        self.progress.setTextVisible(True)

    def progress_text(self) -> str:
        """What the progress bar says ('' before the first run)."""
        return self.progress.format() if self.progress.isTextVisible() else ""

    def show_cluster(self, ready: ClusterReady) -> None:
        where = f"Running on {ready.where} ({plural(ready.workers, 'worker')} connected)."
        if ready.dashboard_url:
            link = html.escape(ready.dashboard_url)
            self.dashboard.setText(f"{where} Dask dashboard: <a href=\"{link}\">{link}</a>")
        else:
            self.dashboard.setText(f"{where} {html.escape(ready.dashboard_note)}")

    @staticmethod
    def time_left(eta_s: Optional[float], eta_at: float) -> Optional[float]:
        """An ETA given at ``eta_at`` (monotonic), counted down to now."""
        return None if eta_s is None else max(eta_s - (time.monotonic() - eta_at), 0.0)

    def _show_status(self) -> None:
        if self.task is None:
            return
        parts = self.status_parts(time.monotonic() - self._started)
        if self.task.state.is_cancelled:
            parts.append("cancelling\u2026")
        self.status.setText(" \u00b7 ".join(parts))

    def elapsed_text(self) -> str:
        return f"{fmt_seconds(time.monotonic() - self._started)} elapsed"

    def _on_finished(self) -> None:
        self.task = None
        if not self._cluster.scheduler:  # the link would be dead
            self.dashboard.setText(f"The {self.WORK}'s Dask cluster on this computer has shut down, its dashboard "
                                   "with it.")
        self._clock.stop()
        self._update_buttons()
        self._update_preview()
        self.idle.emit()

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.start_button.setEnabled(not running and self._can_start)
        self.cancel_button.setEnabled(running and not self.task.state.is_cancelled)
        for widget in self.fields() + [self.scheduler]:
            widget.setEnabled(not running)
        self.workers.setEnabled(not running and not self.scheduler.text().strip())

    def closeEvent(self, event) -> None:  # closing hides: running work goes on
        self.hide()
        event.ignore()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:  # Esc closes, never cancels the work by surprise
            self.hide()
            return
        super().keyPressEvent(event)
