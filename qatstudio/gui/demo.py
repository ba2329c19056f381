"""Demo features added to a MainWindow from the outside: ``install_demo(window) -> DemoController``.

A "Demo" menu (guided story, trade-off chart, run history, presentation mode, sweep, report), three
docks (Story, History, Trade-offs) and a history that keeps every run the window finishes.

Everything the demo needs from the window goes through ``WindowAdapter``: the window's public
methods (``start_training``, ``open_experiment``, ``is_busy``, ``config_panel``, ``banner``,
``runner``, ``taskFinished``). The window has no signal yet for "the experiment has new results";
until it does, the adapter reads ``window.session.experiment`` when ``taskFinished`` reports a
succeeded task (see ``WindowAdapter`` for the exact assumption, and ``experimentUpdated`` for the
signal it will use as soon as the window has it).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from ..engine.config import ExperimentConfig
from ..services.experiment_file import SUFFIX, save_experiment
from ..services.formatting import config_name, fmt_percent
from ..services.history import History, RunRecord
from ..services.report import write_html_report, write_json_report
from .history_panel import HistoryPanel
from .presentation import PresentationMode
from .story_panel import StepFigures, StoryPanel, StoryProblem, StoryStep, load_story, story_job
from .sweep_dialog import SweepDialog
from .tradeoff_chart import TradeoffChart
from .workers import Task, TaskRunner

log = logging.getLogger(__name__)


class WindowAdapter(QObject):
    """The few things the demo needs from MainWindow, in one place.

    ``experimentUpdated(experiment, stage)`` is emitted on the GUI thread when the window's
    experiment gained results; stage is "trained", "compiled", "simulated", "encrypted" or
    "opened". If the window has a signal of that name and signature it is used as is. Otherwise
    (today) it is derived from ``taskFinished(name, outcome)``: ASSUMPTION: when a task named
    below succeeds, ``window.session.experiment`` is the experiment holding its results.
    """

    experimentUpdated = Signal(object, str)
    busyChanged = Signal(bool)

    STAGES = {"Training": "trained", "Compiling": "compiled", "FHE simulation": "simulated",
              "Encrypted run": "encrypted", "Opening": "opened"}

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        if hasattr(window, "experimentUpdated"):
            window.experimentUpdated.connect(self.experimentUpdated.emit)
        else:
            window.taskFinished.connect(self._task_finished)
        runner = getattr(window, "runner", None)
        if runner is not None:
            runner.busyChanged.connect(self.busyChanged.emit)

    def _task_finished(self, name: str, outcome: str) -> None:
        stage = self.STAGES.get(name)
        if stage is None or outcome != "succeeded":
            return
        experiment = self.experiment()
        if experiment is not None:
            self.experimentUpdated.emit(experiment, stage)

    # --- reading the window
    def experiment(self):
        session = getattr(self.window, "session", None)
        return getattr(session, "experiment", None)

    def experiment_path(self) -> Optional[Path]:
        session = getattr(self.window, "session", None)
        path = getattr(session, "path", None)
        return Path(path) if path else None

    def config(self) -> ExperimentConfig:
        return self.window.config_panel.config()

    def is_busy(self) -> bool:
        return self.window.is_busy()

    def runner(self) -> TaskRunner:
        return self.window.runner

    # --- driving the window
    def set_config(self, config: ExperimentConfig) -> None:
        if hasattr(self.window, "set_config"):
            self.window.set_config(config)
        else:
            self.window.config_panel.set_config(config)

    def start_training(self) -> bool:
        """Train the configuration shown; False when the window can't start (busy or invalid)."""
        if self.is_busy():
            return False
        self.window.start_training()
        return self.is_busy()

    def stop(self) -> None:
        """What the window's Stop does: cancel its task in progress."""
        self.window.stop()

    def open_experiment(self, path: Path) -> bool:
        if self.is_busy():
            return False
        return self.window.open_experiment(Path(path)) is not None

    def notify(self, title: str, text: str, level: str = "info") -> None:
        banner = getattr(self.window, "banner", None)
        if banner is not None:
            banner.show_message(title, text, level)
        else:
            self.status(f"{title}: {text}")

    def status(self, text: str, msecs: int = 8000) -> None:
        self.window.statusBar().showMessage(text, msecs)


class DemoController(QObject):
    """Owns the demo's docks, menu, history and presentation mode for one window."""

    recordAdded = Signal(object)  # RunRecord added to (or updated in) the history

    def __init__(self, window: QMainWindow, history: Optional[History] = None,
                 story_folder: Optional[Path] = None):
        super().__init__(window)
        self.window = window
        self.adapter = WindowAdapter(window)
        self.history = history if history is not None else History()
        self.runs_folder = self.history.folder / "runs"  # the .qats of runs trained in the window
        self.runner = TaskRunner(self)  # the story's files load here (never blocks the window's work)
        self._story_task: Optional[Task] = None
        self._tracked: Optional[tuple[object, str]] = None  # (window's experiment, its record id)
        self._rerun: Optional[int] = None  # story step re-run live, until its run is recorded
        self._close_after_sweep = False
        self._bottom_tabbed = False
        self._restored: set[str] = set()  # docks placed by the saved layout
        self.sweep_dialog: Optional[SweepDialog] = None

        try:
            self.steps: list[StoryStep] = load_story(story_folder)
            self.story_error = ""
        except (OSError, ValueError, KeyError) as error:
            self.steps, self.story_error = [], f"the story files can't be read: {error}"

        self.story_panel = StoryPanel(self.steps)
        self.history_panel = HistoryPanel(self.history)
        self.chart = TradeoffChart()
        self.chart_box = self._chart_box()
        # Story and trade-offs share the bottom of the window (wide and short suits both); the
        # history is a tab beside Compile and Results.
        self.chart_dock = self._dock("Trade-offs", "tradeoffDock", self.chart_box,
                                     Qt.DockWidgetArea.BottomDockWidgetArea, shown=False)
        self.story_dock = self._dock("Story", "storyDock", self.story_panel, Qt.DockWidgetArea.BottomDockWidgetArea,
                                     tab_with=self.chart_dock, shown=False)
        self.history_dock = self._dock("History", "historyDock", self.history_panel,
                                       Qt.DockWidgetArea.RightDockWidgetArea,
                                       tab_with=getattr(window, "results_dock", None), shown=True)
        if isinstance(getattr(window, "compile_dock", None), QDockWidget) and "historyDock" not in self._restored:
            QTimer.singleShot(0, window.compile_dock.raise_)  # the window's own tab stays in front
        self.presentation = PresentationMode(
            window, keep=lambda: [self.story_dock] + ([self.chart_dock] if not self.chart_dock.isHidden() else [])
            + self._front_deploy_dock(),
            restylers=lambda: [self.story_panel, self.chart, self.history_panel],
            arrange=self._arrange_presentation, parent=self)
        self._build_menu()

        self.adapter.experimentUpdated.connect(self._on_experiment)
        self.adapter.busyChanged.connect(self._busy_changed)
        self.story_panel.rerunRequested.connect(self.rerun_step)
        self.story_panel.openRequested.connect(self.open_step_file)
        self.story_panel.stopRequested.connect(self.stop_work)
        self.history_panel.openRequested.connect(self.open_run)
        self.history_panel.useConfigRequested.connect(self.use_config)
        self.history_panel.exportRequested.connect(self.export_dialog)
        self.history_panel.selectionChanged.connect(self.chart.set_highlighted)
        self.history_panel.removed.connect(self._removed)
        self.chart.runClicked.connect(self.open_run)
        self.presentation.toggled.connect(self._presentation_toggled)
        for dock in (self.story_dock, self.chart_dock):
            dock.visibilityChanged.connect(lambda visible: visible and self.load_story())
        window.installEventFilter(self)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

        self.reload_history()
        self._busy_changed(self.adapter.is_busy())
        if self.story_error:
            self.story_panel.stage_text.setText(self.story_error)

    # ------------------------------------------------------------------ building
    def _chart_box(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(2)
        bar = QHBoxLayout()
        self.show_story_runs = QCheckBox("Show the story's runs")
        self.show_story_runs.setChecked(True)
        self.show_story_runs.setToolTip("Draw the five story steps as diamonds beside your runs.")
        self.show_story_runs.toggled.connect(self.chart.set_show_reference)
        hint = QLabel("Hover a point for its figures and settings; click it to open the run.")
        palette = hint.palette()  # a palette, not a style sheet: the label then follows the font
        palette.setColor(QPalette.ColorRole.WindowText, QColor("#555555"))  # of presentation mode
        hint.setPalette(palette)
        bar.addWidget(hint, 1)
        bar.addWidget(self.show_story_runs)
        layout.addLayout(bar)
        layout.addWidget(self.chart, 1)
        return box

    def _front_deploy_dock(self) -> list[QDockWidget]:
        """The window's Deploy dock stays in presentation mode when it is the tab in front."""
        dock = getattr(self.window, "deploy_dock", None)
        if isinstance(dock, QDockWidget) and dock.isVisible() and not dock.visibleRegion().isEmpty():
            return [dock]
        return []

    def _dock(self, title: str, name: str, widget: QWidget, area, tab_with: Optional[QDockWidget] = None,
              shown: bool = True) -> QDockWidget:
        window = self.window
        dock = QDockWidget(title, window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        if window.restoreDockWidget(dock):  # the layout saved by an earlier session has a place for it
            self._restored.add(name)
        else:
            window.addDockWidget(area, dock)
            if isinstance(tab_with, QDockWidget):
                window.tabifyDockWidget(tab_with, dock)
            dock.setVisible(shown)
        return dock

    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip or text.replace("&", "").rstrip("\u2026"))
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.window.addAction(action)  # shortcuts work with the menu bar hidden (presentation mode)
        return action

    def _build_menu(self) -> None:
        self.story_action = self._action("Guided &story", lambda: self.show_story(), "Ctrl+1",
                                         "The guide's story in five steps, each shown at once from shipped files")
        self.chart_action = self._action("&Trade-off chart", self.show_chart, "Ctrl+2",
                                         "Accuracy against accumulator bits and FHE latency, over every run")
        self.history_action = self._action("Run &history", self.show_history, "Ctrl+3",
                                           "Every run kept; select several to compare them")
        self.presentation_action = self._action("&Presentation mode", self.presentation.set_active, "F11",
                                                "Full screen, large type and lines, high contrast, the story "
                                                "in view", checkable=True)
        self.next_action = self._action("&Next step", self.story_panel.next_step, "PgDown",
                                        "Next story step (presentation mode; presenter remotes send PgDown)")
        self.previous_action = self._action("P&revious step", self.story_panel.previous_step, "PgUp",
                                            "Previous story step (presentation mode)")
        self.sweep_action = self._action("S&weep\u2026", self.open_sweep_dialog, None,
                                         "Train and compile ranges of neurons, bit-widths, budgets and seeds")
        self.export_action = self._action("&Export report\u2026", self.export_dialog, None,
                                          "The selected runs (or all) as a self-contained HTML report and JSON")
        for action in (self.next_action, self.previous_action):
            action.setEnabled(False)
        menu = QMenu("&Demo", self.window)
        menu.setObjectName("demoMenu")
        for action in (self.story_action, self.chart_action, self.history_action):
            menu.addAction(action)
        menu.addSeparator()
        for action in (self.presentation_action, self.next_action, self.previous_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.sweep_action)
        menu.addAction(self.export_action)
        self.menu = menu
        bar = self.window.menuBar()
        help_action = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        if help_action is not None:
            bar.insertMenu(help_action, menu)
        else:
            bar.addMenu(menu)

    # ------------------------------------------------------------------ the story
    def load_story(self) -> Optional[Task]:
        """Open the story's files on a worker thread (once)."""
        if self._story_task is not None or not self.steps or len(self.story_panel.figures) == len(self.steps):
            return self._story_task
        task = self.runner.start("Story", story_job(self.steps))
        task.message.connect(self._story_message)
        task.failed.connect(lambda error: self.story_panel.stage_text.setText(
            f"The story files can't be opened: {error.message}"))
        task.finished.connect(self._story_loaded)
        self._story_task = task
        return task

    def _story_message(self, message) -> None:
        if isinstance(message, StepFigures):
            self.story_panel.set_figures(message)
            self.chart.set_records(self.history_panel.records(), self.story_records())
        elif isinstance(message, StoryProblem):
            self.story_panel.set_problem(message)

    def _story_loaded(self) -> None:
        self._story_task = None

    def story_loaded(self) -> bool:
        return bool(self.steps) and len(self.story_panel.figures) + len(self.story_panel.problems) == len(self.steps)

    def story_records(self) -> list[RunRecord]:
        return [self.story_panel.figures[n].record for n in sorted(self.story_panel.figures)]

    def _tab_bottom_docks(self) -> None:
        """The first time both are open, story and trade-offs share the bottom as tabs (Qt lays
        docks hidden at start-up out side by side when they are shown again)."""
        if self._bottom_tabbed or self.story_dock.isHidden() or self.chart_dock.isHidden():
            return
        if {"storyDock", "tradeoffDock"} & self._restored:  # the user's own layout: leave it
            return
        self._bottom_tabbed = True
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        w = self.window
        if (w.dockWidgetArea(self.story_dock) == bottom and w.dockWidgetArea(self.chart_dock) == bottom
                and self.story_dock not in w.tabifiedDockWidgets(self.chart_dock)
                and not self.story_dock.isFloating() and not self.chart_dock.isFloating()):
            w.tabifyDockWidget(self.chart_dock, self.story_dock)

    def show_story(self, number: Optional[int] = None) -> None:
        self.story_dock.show()
        self._tab_bottom_docks()
        self.story_dock.raise_()
        self.load_story()
        if number is not None or self.story_panel.current is None:
            self.story_panel.show_step(number or 1)

    def rerun_step(self, step: StoryStep) -> bool:
        """Put the step's configuration into the window and train it there, live."""
        if self.adapter.is_busy():
            self.adapter.notify("Busy", "stop the work in progress first (Stop, or Cancel in the sweep).", "warning")
            return False
        self.adapter.set_config(step.config)
        if not self.adapter.start_training():
            self.adapter.notify("Can't train this step", "the window refused to start training.", "warning")
            return False
        self._rerun = step.number
        self.story_panel.set_live_result(step.number, "Live re-run: training now (see the plots)\u2026")
        return True

    def stop_work(self) -> None:
        """Stop from the story panel: the sweep if one runs, else the window's task."""
        if self.sweep_dialog is not None and self.sweep_dialog.is_running():
            self.sweep_dialog.cancel()
        else:
            self.adapter.stop()

    def open_step_file(self, step: StoryStep) -> bool:
        if not self.adapter.open_experiment(step.path):
            self.adapter.notify("Busy", "stop the work in progress first, then open the step.", "warning")
            return False
        return True

    # ------------------------------------------------------------------ the history
    def reload_history(self) -> list[str]:
        problems = self.history_panel.reload()
        for problem in problems:
            log.warning(problem)
        self.chart.set_records(self.history_panel.records(), self.story_records())
        return problems

    def _on_experiment(self, experiment, stage: str) -> None:
        """Keep every run the window finishes (and each later result of it) in the history."""
        if stage == "opened":
            path = self.adapter.experiment_path()
            record = next((r for r in self.history_panel.records()
                           if path is not None and r.experiment_path and Path(r.experiment_path) == path), None)
            self._tracked = (experiment, record.id) if record else None
            return
        if stage == "trained":
            label = config_name(experiment.config) + (" (stopped early)" if experiment.cancelled else "")
            record = RunRecord.from_experiment(experiment, label=label)
            self._tracked = (experiment, record.id)
        else:
            if self._tracked is None or self._tracked[0] is not experiment:
                return  # results of an experiment opened from elsewhere: not a run of this window
            old = self.history_panel.record(self._tracked[1])
            if old is None:  # removed from the history meanwhile
                return
            record = RunRecord.from_experiment(experiment, label=old.label)
            record.id, record.created = old.id, old.created
        record.experiment_path = self._save_run(record.id, experiment)
        try:
            self.history.add(record)
        except OSError as error:
            self.adapter.notify("Can't keep the run in the history", str(error), "warning")
            return
        self._show_record(record)
        self._note_live(experiment.config, record, stage)

    def _save_run(self, record_id: str, experiment) -> Optional[str]:
        """The whole experiment beside the history, so that a click on the run opens it again."""
        path = self.runs_folder / f"{record_id}{SUFFIX}"
        try:
            save_experiment(path, experiment)
        except (OSError, ValueError, RuntimeError) as error:
            log.warning("the run %s is kept without its experiment file: %s", record_id, error)
            return None
        return str(path)

    def _show_record(self, record: RunRecord) -> None:
        self.history_panel.add_record(record)
        self.chart.add_record(record)
        self.recordAdded.emit(record)

    def _note_live(self, config: ExperimentConfig, record: RunRecord, stage: str) -> None:
        numbers = [s.number for s in self.steps if s.config.to_dict() == config.to_dict()]
        if not numbers:
            return
        number = self._rerun if self._rerun in numbers else numbers[0]
        m = record.metrics
        parts = []
        if m.get("float_accuracy") is not None:
            parts.append(f"fp32 {fmt_percent(m['float_accuracy'])}")
        parts.append(f"{config.bits}-bit {fmt_percent(m.get('clear_accuracy'))}")
        if m.get("fhe_simulated_accuracy") is not None:
            parts.append(f"FHE simulated {fmt_percent(m['fhe_simulated_accuracy'])}")
        if record.accumulator_bits:
            parts.append(f"accumulator {record.accumulator_bits} bits, {record.pbs_count} lookups")
        else:
            parts.append("compile (Ctrl+K) for the accumulator")
        stopped = " (stopped early)" if "stopped early" in record.label else ""
        self.story_panel.set_live_result(number, f"Live re-run{stopped}: " + " \u00b7 ".join(parts))

    def _on_sweep_run(self, record: RunRecord) -> None:
        self._show_record(record)  # run_sweep has already written it to the history

    def _removed(self, ids: list[str]) -> None:
        self.chart.remove_records(ids)
        for record_id in ids:
            (self.runs_folder / f"{record_id}{SUFFIX}").unlink(missing_ok=True)
        if self._tracked and self._tracked[1] in ids:
            self._tracked = None

    def show_history(self) -> None:
        self.history_dock.show()
        self.history_dock.raise_()

    def show_chart(self) -> None:
        self.chart_dock.show()
        self._tab_bottom_docks()
        self.chart_dock.raise_()
        self.load_story()

    def open_run(self, record: RunRecord) -> bool:
        """A click on a run: a story step shows in the story; a run with its file opens in the
        window; a run kept as figures only (sweeps) puts its settings into Configure."""
        if record.id.startswith("story-"):
            self.show_story(int(record.id.split("-", 1)[1]))
            return True
        if self.history_panel.record(record.id) is not None:
            self.history_panel.select([record.id])
            if not self.presentation.is_active():
                self.show_history()
        path = Path(record.experiment_path) if record.experiment_path else None
        if path is not None and path.exists():
            if self.adapter.open_experiment(path):
                self.adapter.status(f"Opening {record.label}\u2026")
                return True
            self.adapter.notify("Busy", "stop the work in progress first, then open the run.", "warning")
            return False
        self.adapter.set_config(record.experiment_config)
        self.adapter.notify("Settings of the run loaded",
                            f"'{record.label}' was kept as figures only (sweeps don't keep weights): its "
                            "settings are in Configure; Train runs it again (same seed, same run).", "info")
        return True

    def use_config(self, record: RunRecord) -> None:
        self.adapter.set_config(record.experiment_config)
        self.adapter.status(f"Settings of {record.label} are in Configure.")

    # ------------------------------------------------------------------ sweeps and reports
    def open_sweep_dialog(self) -> SweepDialog:
        if self.sweep_dialog is None:
            self.sweep_dialog = SweepDialog(
                self.history, self.adapter.runner(), self.adapter.config,
                busy_reason=lambda: ("The window is busy: stop its work first, then start the sweep."
                                     if self.adapter.is_busy() else ""),
                parent=self.window)
            self.sweep_dialog.runFinished.connect(self._on_sweep_run)
            self.sweep_dialog.sweepFinished.connect(self._sweep_finished)
            self.sweep_dialog.idle.connect(self._sweep_idle)
        else:
            self.sweep_dialog.refresh_base()
        self.sweep_dialog.show()
        self.sweep_dialog.raise_()
        self.sweep_dialog.activateWindow()
        return self.sweep_dialog

    def _sweep_finished(self, result) -> None:
        kept = len(result.records) if result is not None else len(self.sweep_dialog.records)
        self.adapter.status(f"Sweep {'cancelled' if result is None or result.cancelled else 'done'}: "
                            f"{kept} run(s) kept in the history.")

    def _sweep_idle(self) -> None:
        if self._close_after_sweep:  # the window was closed during the sweep: close it now
            self._close_after_sweep = False
            QTimer.singleShot(0, self.window.close)

    def export_dialog(self) -> list[Path]:
        settings = getattr(self.window, "settings", None)
        folder = Path(str(settings.value("last_dir", str(Path.home())))) if settings is not None else Path.home()
        path, _ = QFileDialog.getSaveFileName(self.window, "Export report", str(folder / "qatstudio-report.html"),
                                              "HTML report (*.html)")
        return self.export_report(Path(path)) if path else []

    def export_report(self, path: Path, records: Optional[list[RunRecord]] = None) -> list[Path]:
        """The runs (default: the selected ones, or all) as ``path`` (.html) and the same name in .json."""
        records = records if records is not None else (self.history_panel.selected_records()
                                                       or self.history_panel.records())
        if not records:
            self.adapter.notify("Nothing to report", "train a model or run a sweep first.", "info")
            return []
        records = sorted(records, key=lambda r: r.created)  # oldest first, as they were run
        path = Path(path)
        if path.suffix.lower() not in (".html", ".htm"):
            path = path.with_name(path.name + ".html")
        try:
            written = [write_html_report(path, records), write_json_report(path.with_suffix(".json"), records)]
        except OSError as error:
            self.adapter.notify("Can't write the report", str(error), "error")
            return []
        self.adapter.status(f"Report of {len(records)} run(s): {written[0]} (and {written[1].name}).")
        return written

    # ------------------------------------------------------------------ presentation and shutdown
    def toggle_presentation(self) -> None:
        self.presentation_action.toggle()

    def _arrange_presentation(self) -> None:
        """The story on the left (the presentation layout takes half the screen for it), the live
        plots beside it, the trade-offs along the bottom when open."""
        self.window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.story_dock)
        self.story_dock.show()
        for deploy in self._front_deploy_dock():  # kept: a tab beside the story, in front, with its room
            self.window.tabifyDockWidget(self.story_dock, deploy)
            QTimer.singleShot(0, deploy.raise_)
        if not self.chart_dock.isHidden():
            self.window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.chart_dock)
            self.chart_dock.show()

    def _presentation_toggled(self, on: bool) -> None:
        if self.presentation_action.isChecked() != on:
            self.presentation_action.setChecked(on)
        for action in (self.next_action, self.previous_action):
            action.setEnabled(on)
        if on:
            self.load_story()
            if self.story_panel.current is None and self.steps:
                self.story_panel.show_step(1)

    def start_demo(self) -> None:
        """What ``qatstudio --demo`` shows: the story at its first step and the trade-off chart."""
        self.show_chart()
        self.show_story(1)

    def _busy_changed(self, busy: bool) -> None:
        self.story_panel.set_can_rerun(not busy, "Busy: stop the work in progress first.")

    def eventFilter(self, watched, event) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            if self.presentation.is_active():  # the window saves its layout as it closes: the normal one
                self.presentation.set_active(False)
            if self.sweep_dialog is not None and self.sweep_dialog.is_running():
                self._close_after_sweep = True
                self.sweep_dialog.cancel()
                self.adapter.status("Stopping the sweep before closing (finished runs are kept)\u2026")
                event.ignore()
                return True
            if self.sweep_dialog is not None:
                self.sweep_dialog.hide()  # a visible child dialog would keep the application running
            self.shutdown()
        return super().eventFilter(watched, event)

    def shutdown(self) -> None:
        """Stop and wait for the demo's own worker (the story loader)."""
        self.runner.cancel_all()
        self.runner.wait_all()


def install_demo(window: QMainWindow, history: Optional[History] = None,
                 story_folder: Optional[Path] = None) -> DemoController:
    """Add the demo's menu, docks and run history to ``window``; returns the controller (keep it)."""
    controller = DemoController(window, history, story_folder)
    window.demo_controller = controller  # one reference that lives as long as the window
    return controller
