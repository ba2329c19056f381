"""The demo part of the window: ``install_demo(window) -> DemoController``.

A "Demo" menu (guided story, trade-off chart, run history, presentation mode, sweep, report), three
docks (Story, History, Trade-offs) and a history that keeps every run the window finishes. The
demo drives the window through its public API only (``experimentUpdated``, ``busyChanged``,
``set_config``, ``start_training``, ``open_experiment``, ``notify``...). What it keeps and reads is
Qt-free: ``services/history.py`` (runs and their files), ``services/story.py`` (the story's steps),
``services/report.py`` and ``services/sweep.py``.
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
    QHBoxLayout,
    QLabel,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from ...services.formatting import MUTED_COLOR, plural
from ...services.history import History, RunRecord, RunTracker, Stage
from ...services.report import write_reports
from ...services.story import StepFigures, StoryProblem, StoryStep, live_result, load_story, steps_of, story_job
from ...services.tasks import Outcome
from ..panels.history_panel import HistoryPanel
from ..window.file_picker import Pick, choose_path
from ..window.main_window import MainWindow
from .presentation import BlackScreen, PresentationView
from ..state import TaskKind
from .story_panel import StoryPanel
from ..dialogs.sweep_dialog import SweepDialog
from ..charts.tradeoff_chart import TradeoffChart
from ..workers import Task, TaskRunner

log = logging.getLogger(__name__)

BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea
STORY_HEIGHT = 0.35  # the bottom docks' share of the window's height when first shown
LOADING = "Loading the story: opening its steps' runs\u2026"
AFTER_PAINT_MS = 100  # the story starts loading this long after the window's first paint
HOLD_LIMIT_MS = 5000  # ... or after this long if no paint comes (a minimized window)


class StoryDriver(QObject):
    """The story dock's work: the steps' files open once on the demo's own worker thread; a step
    re-runs live in the window, and the figures of that run show beside the step."""

    figuresChanged = Signal()  # a step's figures (or its problem) arrived
    rerunStarted = Signal(int)  # a step's number: it trains live in the window now
    deployStarted = Signal(int)  # a step's number: its test points go through a local server now

    def __init__(self, window: MainWindow, folder: Optional[Path], parent: QObject):
        super().__init__(parent)
        self.window = window
        try:
            self.steps: list[StoryStep] = load_story(folder)
            error = ""
        except (OSError, ValueError, KeyError) as problem:
            self.steps, error = [], f"the story files can't be read: {problem}"
        self.panel = StoryPanel(self.steps)
        self.runner = TaskRunner(self)  # never blocks the window's own work
        self._task: Optional[Task] = None
        self._rerun: Optional[int] = None  # the step re-run live, until its run is recorded
        self._deploying: Optional[StoryStep] = None  # the step on its way to the Deploy panel
        self._held = False  # loading waits for the window's first paint (``hold_until_painted``)
        self._wanted = False  # ``load`` was asked for while held
        self._standing = ""  # the status line's standing message before "Loading the story..."
        self.panel.rerunRequested.connect(self.rerun_step)
        self.panel.openRequested.connect(self.open_step)
        self.panel.deployRequested.connect(self.deploy_step)
        window.taskFinished.connect(self._deploy_next)
        window.busyChanged.connect(self._busy_changed)
        self._busy_changed(window.is_busy())
        if error:
            self.panel.stage_text.setText(error)

    def hold_until_painted(self) -> None:
        """Let ``load`` wait until the window has painted itself once: opening the files beside the
        first paint (brevitas is imported for them) kept the window black for over 10 s on a busy
        machine. Meanwhile the status line says the story is loading."""
        self._held = True
        self.window.installEventFilter(self)
        self._standing = self.window.status.standing()  # shown again once the story is in
        self.window.status.work(LOADING)
        QTimer.singleShot(HOLD_LIMIT_MS, self, self._release)

    def is_held(self) -> bool:
        """Loading waits for the window's first paint."""
        return self._held

    def eventFilter(self, watched, event) -> bool:
        if self._held and watched is self.window and event.type() == QEvent.Type.Paint:
            QTimer.singleShot(AFTER_PAINT_MS, self, self._release)  # once the painted frame is on screen
        return False

    def _release(self) -> None:
        if not self._held:
            return
        self._held = False
        self.window.removeEventFilter(self)
        if self._wanted:
            self.load()
        else:
            self._end_loading_text()

    def load(self) -> Optional[Task]:
        """Open the steps' files on the worker thread (once; after the first paint when held)."""
        if self._task is not None or self.loaded():
            return self._task
        if self._held:
            self._wanted = True
            return None
        task = self.runner.start("Story", story_job(self.steps))
        task.message.connect(self._message)
        task.failed.connect(lambda error: self.panel.stage_text.setText(
            f"The story files can't be opened: {error.message}"))
        task.finished.connect(self._finished)
        self._task = task
        return task

    def loaded(self) -> bool:
        """Every step's figures (or its problem) are in."""
        return bool(self.steps) and len(self.panel.figures) + len(self.panel.problems) == len(self.steps)

    def records(self) -> list[RunRecord]:
        """The steps' runs, as the trade-off chart draws them."""
        return [self.panel.figures[number].record for number in sorted(self.panel.figures)]

    def _message(self, message) -> None:
        if isinstance(message, StepFigures):
            self.panel.set_figures(message)
        elif isinstance(message, StoryProblem):
            self.panel.set_problem(message)
        self.figuresChanged.emit()

    def _finished(self) -> None:
        self._task = None
        self._end_loading_text()

    def _end_loading_text(self) -> None:
        if self.window.status.standing() == LOADING:
            self.window.status.work(self._standing)

    def rerun_step(self, step: StoryStep) -> bool:
        """Put the step's configuration into the window and train it there, live."""
        if self.window.is_busy():
            self.window.notify("Busy", "stop the work in progress first (Stop, or Cancel in the sweep).", "warning")
            return False
        self.window.set_config(step.config)
        if self.window.start_training() is None:
            self.window.notify("Can't train this step", "the window refused to start training.", "warning")
            return False
        self._rerun = step.number
        self.panel.set_live_result(step.number, "Live re-run: training now (see the plots)\u2026")
        self.rerunStarted.emit(step.number)
        return True

    def open_step(self, step: StoryStep) -> bool:
        if self.window.open_experiment(step.path) is None:
            self.window.notify("Busy", "stop the work in progress first, then open the step.", "warning")
            return False
        return True

    def deploy_step(self, step: StoryStep) -> bool:
        """Open the step's run, compile it, then send its test points through a local server:
        three tasks of the window, each started when the one before has finished."""
        if self.window.open_experiment(step.path) is None:
            self.window.notify("Busy", "stop the work in progress first, then deploy the step.", "warning")
            return False
        self._deploying = step
        self.panel.set_live_result(step.number, "Deploying: opening the step's run\u2026")
        return True

    def _deploy_next(self, title: str, outcome: Outcome) -> None:
        """The next task of a step's deployment, once the window's task before it has finished."""
        step = self._deploying
        if step is None:
            return
        if outcome is not Outcome.SUCCEEDED:
            self._deploy_failed(step, f"{title.lower()} {outcome.value}")
        elif title == TaskKind.OPEN.title:
            self.panel.set_live_result(step.number, "Deploying: compiling the circuit\u2026")
            if self.window.controller.start_compile() is None:
                self._deploy_failed(step, "the window could not start compiling")
        elif title == TaskKind.COMPILE.title:
            self.window.deploy_dock.show()
            self.window.deploy_dock.raise_()
            if self.window.start_deploy(step.deploy_points) is None:
                self._deploy_failed(step, "the window could not start the deployment")
                return
            self.panel.set_live_result(step.number, f"Deploying: {step.deploy_points} test points through a local "
                                                    f"server that sees only ciphertexts\u2026")
            self.deployStarted.emit(step.number)
        elif title == TaskKind.DEPLOY.title:
            self._deploying = None
            agreement = self.window.deploy_panel.texts()["agreement"]
            self.panel.set_live_result(step.number, f"Deployed through a local server that saw only ciphertexts. "
                                                    f"{agreement}.")

    def _deploy_failed(self, step: StoryStep, why: str) -> None:
        self._deploying = None
        self.panel.set_live_result(step.number, f"Deployment stopped: {why}.")

    def show_live(self, record: RunRecord) -> None:
        """A run of the window was kept: when it trains a step, its figures show beside that step."""
        numbers = steps_of(self.steps, record.config)
        if numbers:
            number = self._rerun if self._rerun in numbers else numbers[0]
            self.panel.set_live_result(number, live_result(record))

    def _busy_changed(self, busy: bool) -> None:
        self.panel.set_can_rerun(not busy, "Busy: stop the work in progress first.")

    def shutdown(self) -> None:
        self.runner.cancel_all()
        self.runner.wait_all()


class DemoController(QObject):
    """Arranges the demo's docks and menu on one window and forwards between them, the window and
    the history."""

    recordAdded = Signal(object)  # RunRecord added to (or updated in) the history

    def __init__(self, window: MainWindow, history: Optional[History] = None,
                 story_folder: Optional[Path] = None):
        super().__init__(window)
        self.window = window
        self.history = history if history is not None else History()
        self.tracker = RunTracker(self.history)
        self.story = StoryDriver(window, story_folder, self)
        self.story_panel = self.story.panel
        self.history_panel = HistoryPanel(self.history)
        self.chart = TradeoffChart()
        self.sweep_dialog: Optional[SweepDialog] = None
        self._close_after_sweep = False
        self._bottom_tabbed = False
        self._demo = False  # started as the demo (``start_demo``): the clicker's keys work outside presentation
        self._stop_keys: list[QKeySequence] = []  # the Stop action's keys, while presentation mode takes Esc
        self.black_screen = BlackScreen(window)
        self._restored: set[str] = set()  # docks placed by the saved layout

        # Story and trade-offs share the bottom of the window (wide and short suits both), as tabs;
        # the history is a tab beside Compile and Results.
        self.chart_dock = self._dock("Trade-offs", "tradeoffDock", self._chart_box(), BOTTOM, shown=False)
        self.story_dock = self._dock("Story", "storyDock", self.story_panel, BOTTOM, tab_with=self.chart_dock,
                                     shown=False)
        self.history_dock = self._dock("History", "historyDock", self.history_panel,
                                       Qt.DockWidgetArea.RightDockWidgetArea, tab_with=window.results_dock)
        if "historyDock" not in self._restored:
            QTimer.singleShot(0, window.compile_dock.raise_)  # the window's own tab stays in front
        self.presentation = PresentationView(window, self.story_panel, window.plots, window.deploy_panel, self.chart)
        self._build_menu()
        self._add_to_view_menu()

        window.experimentUpdated.connect(self._on_experiment)
        self.story.figuresChanged.connect(self._redraw_chart)
        self.story.rerunStarted.connect(self.presentation.set_live_step)
        self.story.deployStarted.connect(self.presentation.set_deploy_step)
        self.story_panel.stopRequested.connect(self.stop_work)
        self.history_panel.openRequested.connect(self.open_run)
        self.history_panel.useConfigRequested.connect(self.use_config)
        self.history_panel.exportRequested.connect(self.export_dialog)
        self.history_panel.selectionChanged.connect(self.chart.set_highlighted)
        self.history_panel.removed.connect(self._removed)
        self.chart.runClicked.connect(self.open_run)
        self.presentation.toggled.connect(self._presentation_toggled)
        for dock in (self.story_dock, self.chart_dock):
            dock.visibilityChanged.connect(lambda visible: visible and self.story.load())
        window.installEventFilter(self)
        QApplication.instance().aboutToQuit.connect(self.shutdown)
        self.reload_history()

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
        hint.setWordWrap(True)
        palette = hint.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(MUTED_COLOR))
        hint.setPalette(palette)
        bar.addWidget(hint, 1)
        bar.addWidget(self.show_story_runs)
        layout.addLayout(bar)
        layout.addWidget(self.chart, 1)
        return box

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea,
              tab_with: Optional[QDockWidget] = None, shown: bool = True) -> QDockWidget:
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
            if tab_with is not None:
                window.tabifyDockWidget(tab_with, dock)
            dock.setVisible(shown)
        return dock

    def _action(self, text: str, slot, shortcuts: tuple[str, ...], tip: str, checkable: bool = False) -> QAction:
        action = QAction(text, self.window)
        if shortcuts:
            action.setShortcuts([QKeySequence(key) for key in shortcuts])
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.window.addAction(action)  # shortcuts work with the menu bar hidden (presentation mode)
        return action

    def _build_menu(self) -> None:
        self.story_action = self._action("Guided &story", lambda: self.show_story(), ("Ctrl+1",),
                                         "The guide's story in five steps, each shown at once from shipped files")
        self.chart_action = self._action("&Trade-off chart", self.show_chart, ("Ctrl+2",),
                                         "Accuracy against accumulator bits and FHE latency, over every run")
        self.history_action = self._action("Run &history", self.show_history, ("Ctrl+3",),
                                           "Every run kept; select several to compare them")
        self.presentation_action = self._action("&Presentation mode", self.presentation.set_active, ("F11",),
                                                "The story full screen, one step per screen, in large type "
                                                "and high contrast", checkable=True)
        # The clicker's keys (what a presenter's remote sends), in the demo and in presentation mode
        self.next_action = self._action("&Next step", self.next_step, ("PgDown", "Right", "Space"),
                                        "Next story step (the demo and presentation mode)")
        self.previous_action = self._action("P&revious step", self.previous_step, ("PgUp", "Left"),
                                            "Previous story step (the demo and presentation mode)")
        self.black_action = self._action("&Black screen", self.set_black, ("B",),
                                         "Black out the screen, and back (the demo and presentation mode)",
                                         checkable=True)
        self.leave_action = self._action("&Leave presentation mode", lambda: self.presentation.set_active(False),
                                         ("Esc",), "Back to the window (presentation mode)")
        self.sweep_action = self._action("S&weep\u2026", self.open_sweep_dialog, (),
                                         "Train and compile ranges of neurons, bit-widths, budgets and seeds")
        self.optimize_action = self._action("&Find the cheapest circuit\u2026", self.open_optimize_dialog, (),
                                            "Search the levers for the cheapest circuit that keeps the accuracy; "
                                            "its candidates appear in the history and the trade-offs")
        self.export_action = self._action("&Export report\u2026", self.export_dialog, (),
                                          "The selected runs (or all) as a self-contained HTML report and JSON")
        self._set_clicker(False)
        self.leave_action.setEnabled(False)
        self.menu = QMenu("&Demo", self.window)
        self.menu.setObjectName("demoMenu")
        for group in ((self.story_action, self.chart_action, self.history_action),
                      (self.presentation_action, self.next_action, self.previous_action, self.black_action,
                       self.leave_action),
                      (self.sweep_action, self.optimize_action, self.export_action)):
            if self.menu.actions():
                self.menu.addSeparator()
            self.menu.addActions(group)
        self.window.menuBar().insertMenu(self.window.help_menu.menuAction(), self.menu)
        # the same keys in the presentation view's own window
        self.presentation.addActions([self.story_action, self.chart_action, self.presentation_action,
                                      self.next_action, self.previous_action, self.black_action, self.leave_action])

    def _add_to_view_menu(self) -> None:
        """The demo's docks beside the window's own in View: shown or hidden like them (the story
        and the trade-offs share the bottom as tabs, as from the Demo menu)."""
        view = self.window.menuBar().findChild(QMenu, "viewMenu")
        if view is None:
            return
        view.addSeparator()
        view.addActions([dock.toggleViewAction() for dock in (self.history_dock, self.story_dock, self.chart_dock)])
        for dock in (self.story_dock, self.chart_dock):
            dock.toggleViewAction().triggered.connect(lambda checked, d=dock: self._viewed(d, checked))

    def _viewed(self, dock: QDockWidget, shown: bool) -> None:
        """View showed a bottom dock: in front, tabbed with the other."""
        if shown:
            self._tab_bottom_docks()
            dock.raise_()

    # ------------------------------------------------------------------ the docks
    def _tab_bottom_docks(self) -> None:
        """The first time both are open, story and trade-offs share the bottom as tabs (Qt lays
        docks hidden at start-up out side by side when they are shown again), at a height that
        leaves the live plots readable."""
        if self._bottom_tabbed or self.story_dock.isHidden() or self.chart_dock.isHidden():
            return
        if {"storyDock", "tradeoffDock"} & self._restored:  # the user's own layout: leave it
            return
        self._bottom_tabbed = True
        w = self.window
        if (w.dockWidgetArea(self.story_dock) == BOTTOM and w.dockWidgetArea(self.chart_dock) == BOTTOM
                and self.story_dock not in w.tabifiedDockWidgets(self.chart_dock)
                and not self.story_dock.isFloating() and not self.chart_dock.isFloating()):
            w.tabifyDockWidget(self.chart_dock, self.story_dock)

    def _size_bottom(self, dock: QDockWidget) -> None:
        if "storyDock" not in self._restored and not self.presentation.is_active():
            self.window.resizeDocks([dock], [int(self.window.height() * STORY_HEIGHT)], Qt.Orientation.Vertical)

    def _show_bottom(self, dock: QDockWidget) -> None:
        """Show a bottom dock (story or trade-offs) in front, sized the first time it appears."""
        shown = not dock.isHidden()
        dock.show()
        self._tab_bottom_docks()
        dock.raise_()
        if not shown:
            self._size_bottom(dock)
        self.story.load()

    def show_story(self, number: Optional[int] = None) -> None:
        if self.presentation.is_active():
            self.presentation.show_page(number or self.story_panel.current or 1)
            return
        self._show_bottom(self.story_dock)
        if number is not None or self.story_panel.current is None:
            self.story_panel.show_step(number or 1)

    def show_chart(self) -> None:
        if self.presentation.is_active():
            self.presentation.show_tradeoffs()
            return
        self._show_bottom(self.chart_dock)

    def next_step(self) -> None:
        """The clicker's next: the presentation's next page (the trade-offs after the last step), else
        the story's next step."""
        if self.presentation.is_active():
            self.presentation.next_page()
        else:
            self.story_panel.next_step()

    def previous_step(self) -> None:
        if self.presentation.is_active():
            self.presentation.previous_page()
        else:
            self.story_panel.previous_step()

    def set_black(self, on: bool) -> None:
        """Black over the presentation when it is on, else over the window."""
        (self.presentation.black_screen if self.presentation.is_active() else self.black_screen).set_shown(on)

    def show_history(self) -> None:
        self.history_dock.show()
        self.history_dock.raise_()

    def start_demo(self) -> None:
        """What ``qatstudio --demo`` shows: the story at its first step and the trade-off chart; the
        clicker's keys move through the story, full screen or not."""
        self._demo = True
        self._set_clicker(True)
        self.show_chart()
        self.show_story(1)

    def _set_clicker(self, on: bool) -> None:
        """The clicker's keys (next and previous step, black screen) on or off: off, they are the
        focused widget's again (arrows, space, page keys)."""
        for action in (self.next_action, self.previous_action, self.black_action):
            action.setEnabled(on)
        if not on:
            self.black_action.setChecked(False)

    # ------------------------------------------------------------------ runs and the history
    def reload_history(self) -> list[str]:
        problems = self.history_panel.reload()
        for problem in problems:
            log.warning(problem)
        self._redraw_chart()
        return problems

    def _redraw_chart(self) -> None:
        self.chart.set_records(self.history_panel.records(), self.story.records())

    def _on_experiment(self, experiment, stage: Stage) -> None:
        """Keep every run the window finishes (and each later result of it) in the history."""
        try:
            record = self.tracker.update(experiment, stage, self.window.session.path)
        except OSError as error:
            self.window.notify("Can't keep the run in the history", str(error), "warning")
            return
        if record is not None:
            self._show_record(record)
            self.story.show_live(record)

    def _show_record(self, record: RunRecord) -> None:
        self.history_panel.add_record(record)
        self.chart.add_record(record)
        self.recordAdded.emit(record)

    def _removed(self, ids: list[str]) -> None:
        self.chart.remove_records(ids)
        self.tracker.forget(ids)

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
            if self.window.open_experiment(path) is None:
                self.window.notify("Busy", "stop the work in progress first, then open the run.", "warning")
                return False
            self.window.show_status(f"Opening {record.label}\u2026")
            return True
        self.window.set_config(record.config)
        self.window.notify("Settings of the run loaded",
                           f"'{record.label}' was kept as figures only (sweeps don't keep weights): its "
                           "settings are in Configure; Train runs it again (same seed, same run).")
        return True

    def use_config(self, record: RunRecord) -> None:
        self.window.set_config(record.config)
        self.window.show_status(f"Settings of {record.label} are in Configure.")

    # ------------------------------------------------------------------ sweeps and reports
    def open_sweep_dialog(self) -> SweepDialog:
        if self.sweep_dialog is None:
            self.sweep_dialog = SweepDialog(
                self.history, self.window.runner, self.window.config, is_busy=self.window.is_busy,
                parent=self.window)
            self.sweep_dialog.runFinished.connect(self._show_record)  # run_sweep has kept it in the history
            self.sweep_dialog.sweepFinished.connect(self._sweep_finished)
            self.sweep_dialog.idle.connect(self._sweep_idle)
        else:
            self.sweep_dialog.refresh_base()
        self.sweep_dialog.show()
        self.sweep_dialog.raise_()
        self.sweep_dialog.activateWindow()
        return self.sweep_dialog

    def open_optimize_dialog(self):
        """The window's optimizer dialog, its candidates shown in the history and the trade-offs as
        they finish."""
        first = self.window.optimize_dialog is None
        dialog = self.window.open_optimize_dialog()
        if first:
            dialog.runFinished.connect(self._show_record)  # the search has kept it in the history
        return dialog

    def stop_work(self) -> None:
        """Stop from the story panel: the sweep if one runs, else the window's task."""
        if self.sweep_dialog is not None and self.sweep_dialog.is_running():
            self.sweep_dialog.cancel()
        else:
            self.window.stop()

    def _sweep_finished(self, result) -> None:
        kept = len(result.records) if result is not None else len(self.sweep_dialog.records)
        self.window.show_status(f"Sweep {'cancelled' if result is None or result.cancelled else 'done'}: "
                                f"{plural(kept, 'run')} kept in the history.")

    def _sweep_idle(self) -> None:
        if self._close_after_sweep:  # the window was closed during the sweep: close it now
            self._close_after_sweep = False
            QTimer.singleShot(0, self.window.close)

    def export_dialog(self) -> list[Path]:
        """Ask where to write the report: first in the folder of the last report, else the user's
        documents (never the app's own resources, where the story's runs are)."""
        folder = Path(self.window.files.folder("last_report_dir"))
        path = choose_path(self.window, "Export report", str(folder / "qatstudio-report.html"), "HTML report (*.html)",
                           Pick.SAVE)
        if path is None:
            return []
        self.window.settings.setValue("last_report_dir", str(path.parent))
        return self.export_report(path)

    def export_report(self, path: Path, records: Optional[list[RunRecord]] = None) -> list[Path]:
        """The runs (default: the selected ones, or all) as ``path`` (.html) and the same name in .json."""
        if records is None:
            records = self.history_panel.selected_records() or self.history_panel.records()
        if not records:
            self.window.notify("Nothing to report", "train a model or run a sweep first.")
            return []
        try:
            written = write_reports(path, records)
        except OSError as error:
            self.window.notify("Can't write the report", str(error), "error")
            return []
        self.window.show_status(f"Report of {plural(len(records), 'run')}: {written[0]} (and {written[1].name}).")
        return written

    # ------------------------------------------------------------------ presentation and shutdown
    def _presentation_toggled(self, on: bool) -> None:
        if self.presentation_action.isChecked() != on:
            self.presentation_action.setChecked(on)
        self.black_action.setChecked(False)
        self.black_screen.set_shown(False)
        self._set_clicker(on or self._demo)
        self.leave_action.setEnabled(on)
        stop = self.window.stop_action  # Esc leaves presentation mode; Stop keeps its other keys meanwhile
        if on:
            self._stop_keys = stop.shortcuts()
            stop.setShortcuts([key for key in self._stop_keys if key != QKeySequence(Qt.Key.Key_Escape)])
        elif self._stop_keys:
            stop.setShortcuts(self._stop_keys)
        if on:
            self.story.load()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            if not self.window.confirm_close():  # a run not saved: the user chose to keep the window
                event.ignore()
                return True
            if self.presentation.is_active():  # the borrowed plots and chart go home first
                self.presentation.set_active(False)
            if self.sweep_dialog is not None and self.sweep_dialog.is_running():
                self._close_after_sweep = True
                self.sweep_dialog.cancel()
                self.window.show_status("Stopping the sweep before closing (finished runs are kept)\u2026")
                event.ignore()
                return True
            if self.sweep_dialog is not None:
                self.sweep_dialog.hide()  # a visible child dialog would keep the application running
            self.shutdown()
        return super().eventFilter(watched, event)

    def shutdown(self) -> None:
        """Stop and wait for the demo's own worker (the story loader)."""
        self.story.shutdown()


def install_demo(window: MainWindow, history: Optional[History] = None,
                 story_folder: Optional[Path] = None) -> DemoController:
    """Add the demo's menu, docks and run history to ``window``; returns the controller (keep it)."""
    controller = DemoController(window, history, story_folder)
    window.demo_controller = controller  # one reference that lives as long as the window
    return controller
