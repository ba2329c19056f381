"""QAT Studio's main window: the panels in docks around the live plots, menus, toolbar, status bar
and saved settings, all connected to one ``Controller`` (``controller.py``) that does the work."""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QByteArray, QElapsedTimer, QPoint, QRect, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QStatusTipEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ...engine.config import ConfigError, DataConfig, ExperimentConfig
from ...services.calibration import cached_lookup_times
from ...services.experiment_file import SUFFIX
from ...services.formatting import fmt_seconds, run_name
from ...services.history import History
from ...services.tabular import TableError
from ..panels.compile_panel import CompilePanel
from ..panels.config_panel import ConfigPanel
from .controller import Controller, Views
from ..panels.deploy_panel import DeployPanel
from .files import FileDialogs
from .help import ShortcutsDialog, TourDialog, shortcut_text, tour_pages
from .menus import build_menus, presets_button
from ..dialogs.optimize_dialog import OptimizeDialog
from ..charts.plots import TrainingPlots
from ..panels.results_panel import ResultsPanel
from ..state import Enabled, State
from .status import StatusLine
from ..widgets import MessageBanner, TrainControls
from ..workers import Task

log = logging.getLogger(__name__)

SETTINGS_ORG = "qatstudio"
SETTINGS_APP = "QAT Studio"
# Dock widths in px, (least, most): wide enough for their panels (the Results table and a scroll
# bar need 360), narrow enough that the plots in the centre keep two readable columns. By default
# a 1280 px window gives the centre about 560 px: every plot at least 200 px wide.
CONFIGURE_WIDTH = (330, 400)
SIDE_WIDTH = (360, 440)  # Compile, Results, Deploy (tabbed)
DEFAULT_WIDTHS = (330, 370)  # Configure, the tabbed side docks
# The live plots' least height (px), whatever the docks below them (Story, Trade-offs, as a saved layout
# left them): the boundary beside two epoch plots, each with its legend under it, all readable.
PLOTS_LEAST_HEIGHT = 340
# The first launch (no saved geometry): a window maximized on a screen up to this wide, or too short
# for the window and its frame; on a larger screen a large window (this share of it) in the middle.
MAXIMIZE_UP_TO_WIDTH = 1366
FIRST_SHARE = 0.9
FRAME_ALLOWANCE = 40  # a window manager's title bar and borders, before they are known (px)


class MainWindow(QMainWindow):
    """The whole app in one window."""

    # The session's experiment gained results (GUI thread, after ``session`` is updated).
    experimentUpdated = Signal(object, object)  # Experiment, its services.history.Stage
    busyChanged = Signal(bool)
    taskFinished = Signal(str, object)  # task title, its services.tasks.Outcome

    def __init__(self, settings: Optional[QSettings] = None, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("qatStudioMainWindow")
        self.setWindowTitle("QAT Studio")
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else QSettings(SETTINGS_ORG, SETTINGS_APP)
        self._layout_restored = False
        self._saved_state: Optional[QByteArray] = None  # the saved layout, applied again in show_first
        self._geometry_restored = False
        self.ask_before_discarding = True  # closing with a run not saved asks first (the tests' windows don't)
        self._close_confirmed = False  # asked and answered, or closing without asking
        self._shown_once = False

        self.banner = MessageBanner()
        self.plots = TrainingPlots()
        self.plots.setMinimumHeight(PLOTS_LEAST_HEIGHT)
        centre = QWidget()
        box = QVBoxLayout(centre)
        box.setContentsMargins(4, 4, 4, 0)
        box.addWidget(self.banner)
        # What the plots, Compile and Results show once Configure says something else (a new data set)
        self.outdated_note = QLabel()
        self.outdated_note.setObjectName("outdatedNote")
        self.outdated_note.setWordWrap(True)
        self.outdated_note.setStyleSheet(f"#outdatedNote {{{MessageBanner.STYLES['warning']} padding:4px 8px;}}")
        self.outdated_note.hide()
        box.addWidget(self.outdated_note)
        box.addWidget(self.plots, 1)
        self.setCentralWidget(centre)

        self._build_actions()
        self.plots.set_hint(f"Press Train ({shortcut_text(self.train_action, every=False)}) to start")
        self.config_panel = ConfigPanel()
        self.train_controls = TrainControls(self.train_action, self.pause_action, self.stop_action)
        self.train_button = self.train_controls.train_button  # what the benchmark and the demo's tests click
        self.compile_panel = CompilePanel()
        self.results_panel = ResultsPanel()
        self.deploy_panel = DeployPanel()
        self.controller = Controller(Views(self.config_panel, self.train_controls, self.plots, self.compile_panel,
                                           self.results_panel, self.deploy_panel), self)
        self.runner = self.controller.runner
        self.controller.set_lookup_times(cached_lookup_times())
        self.files = FileDialogs(self, self.controller, self.settings)
        self.optimize_dialog: Optional[OptimizeDialog] = None

        self.presets_button, self.presets_menu = presets_button(self, self.apply_preset)
        self.configure_dock = self._dock("Configure", "configureDock", self._configure_body(),
                                         Qt.DockWidgetArea.LeftDockWidgetArea, CONFIGURE_WIDTH)
        self.compile_dock = self._dock("Compile", "compileDock", _scrolled(self.compile_panel),
                                       Qt.DockWidgetArea.RightDockWidgetArea, SIDE_WIDTH)
        self.results_dock = self._dock("Results", "resultsDock", _scrolled(self.results_panel),
                                       Qt.DockWidgetArea.RightDockWidgetArea, SIDE_WIDTH)
        self.deploy_dock = self._dock("Deploy", "deployDock", _scrolled(self.deploy_panel),
                                      Qt.DockWidgetArea.RightDockWidgetArea, SIDE_WIDTH)
        self.tabifyDockWidget(self.compile_dock, self.results_dock)
        self.tabifyDockWidget(self.results_dock, self.deploy_dock)
        self.compile_dock.raise_()
        self.help_menu, self.recent_menu, self.toolbar = build_menus(self)
        self.recent_menu.openRequested.connect(self.open_experiment)
        self._build_status_bar()
        self._connect()

        self.resize(1280, 800)
        self._default_layout()
        self._restore_settings()
        config = self.config_panel.config()
        self._config_changed(config, config.problems())
        self.status.work("Ready: choose a configuration (or a preset) and press Train.")

    # ------------------------------------------------------------ building
    def _action(self, text: str, shortcuts=(), tip: str = "", icon=None, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)  # not in dialogs: Esc stays theirs
        keys = shortcut_text(action)
        action.setToolTip(f"{tip} ({keys})" if keys and tip else tip or text)
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        self.addAction(action)  # shortcuts work with the menu bar hidden
        return action

    def _build_actions(self) -> None:
        sp, key = QStyle.StandardPixmap, QKeySequence.StandardKey
        self.train_action = self._action("&Train", ["Ctrl+T", "F5"], "Train the configured model", sp.SP_MediaPlay)
        self.pause_action = self._action("&Pause", ["Ctrl+P"], "Pause or resume training", sp.SP_MediaPause,
                                         checkable=True)
        self.stop_action = self._action("&Stop", ["Esc", "Ctrl+."],
                                        "Stop what is running (training keeps what it learned)", sp.SP_MediaStop)
        self.compile_action = self._action("&Compile", ["Ctrl+K"], "Compile the quantized model to an FHE circuit",
                                           sp.SP_ComputerIcon)
        self.keygen_action = self._action("Generate &keys", ["Ctrl+G"], "Generate the circuit's keys (cached on disk)")
        self.simulate_action = self._action("&Simulate FHE", ["Ctrl+M"],
                                            "FHE simulation of every test point and of the boundary",
                                            sp.SP_BrowserReload)
        self.encrypted_action = self._action("Run &encrypted", ["Ctrl+E"], "Encrypt, run and decrypt N test points",
                                             sp.SP_DriveNetIcon)
        self.open_action = self._action("&Open experiment\u2026", [key.Open], "Open a saved experiment")
        self.import_action = self._action("&Import data\u2026", ["Ctrl+I"],
                                          "Train on a table of your own: a CSV file with a label column")
        self.save_action = self._action("&Save experiment", [key.Save],
                                        "Save the experiment: configuration, weights, metrics, compile report")
        self.save_as_action = self._action("Save experiment &as\u2026", [key.SaveAs],
                                           "Save the experiment to a new file")
        self.deploy_export_action = self._action(
            "Export for &deployment\u2026", [], "Write the circuit and what a client needs into a folder, for "
            "'qatstudio serve'")
        self.export_action = self._action("&Export plots as PNG\u2026", ["Ctrl+Shift+E"],
                                          "Save the plots as PNG images")
        self.optimize_action = self._action(
            "&Find the cheapest circuit\u2026", [], "Search layers, neurons, bits and pruning budgets on your data "
            "for the cheapest FHE circuit that keeps the accuracy")
        self.quit_action = self._action("&Quit", ["Ctrl+Q"], "Close QAT Studio")
        self.tour_action = self._action("&Tour\u2026", [key.HelpContents], "A few pages on what the window does, "
                                        "in the order you use it")
        self.shortcuts_action = self._action("&Keyboard shortcuts\u2026", [], "Every key of the window, read from "
                                             "its menus' actions")

    def _configure_body(self) -> QWidget:
        top = QHBoxLayout()
        top.setContentsMargins(6, 4, 6, 0)
        top.addWidget(QLabel("Start from"))
        top.addWidget(self.presets_button, 1)
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addLayout(top)
        column.addWidget(_scrolled(self.config_panel), 1)
        column.addWidget(self.train_controls)
        return body

    def _dock(self, title: str, name: str, widget: QWidget, area, widths: tuple[int, int]) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setMinimumWidth(widths[0])
        dock.setMaximumWidth(widths[1])
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _default_layout(self) -> None:
        self.resizeDocks([self.configure_dock, self.compile_dock], list(DEFAULT_WIDTHS), Qt.Orientation.Horizontal)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status = StatusLine(bar, self)  # every message of the status bar goes through it
        self._enabled: Optional[Enabled] = None
        self.status_busy = QProgressBar()
        self.status_busy.setRange(0, 0)
        self.status_busy.setMaximumWidth(120)
        self.status_busy.setMaximumHeight(14)
        self.status_busy.hide()
        self.elapsed_label = QLabel()
        bar.addPermanentWidget(self.elapsed_label)
        bar.addPermanentWidget(self.status_busy)
        self._clock = QElapsedTimer()
        self._tick = QTimer(self)
        self._tick.setInterval(500)
        self._tick.timeout.connect(lambda: self.elapsed_label.setText(fmt_seconds(self._clock.elapsed() / 1000)))

    def _connect(self) -> None:
        c = self.controller
        triggers: dict[QAction, Callable] = {
            self.train_action: self.start_training, self.stop_action: self.stop,
            self.compile_action: c.start_compile, self.keygen_action: c.start_keygen,
            self.simulate_action: c.start_simulation,
            self.encrypted_action: lambda: c.start_encrypted(self.results_panel.samples_wanted()),
            self.open_action: self.files.open_dialog, self.import_action: self.files.import_dialog,
            self.save_action: self.files.save,
            self.save_as_action: self.files.save_as_dialog, self.export_action: self.files.export_dialog,
            self.deploy_export_action: self.files.deploy_export_dialog, self.quit_action: self.close,
            self.tour_action: self.show_tour, self.shortcuts_action: self.show_shortcuts,
            self.optimize_action: self.open_optimize_dialog,
        }
        for action, slot in triggers.items():
            action.triggered.connect(lambda checked=False, slot=slot: slot())
        self.pause_action.toggled.connect(c.set_paused)
        c.pausedChanged.connect(self.pause_action.setChecked)

        self.config_panel.configChanged.connect(self._config_changed)
        self.config_panel.estimate.measureRequested.connect(c.start_calibration)
        self.config_panel.estimate.cancelRequested.connect(self.stop)
        self.compile_panel.compileRequested.connect(c.start_compile)
        self.compile_panel.keygenRequested.connect(c.start_keygen)
        self.compile_panel.cancelRequested.connect(self.stop)
        self.results_panel.simulateRequested.connect(c.start_simulation)
        self.results_panel.encryptedRequested.connect(c.start_encrypted)
        self.results_panel.cancelRequested.connect(self.stop)
        self.deploy_panel.sendRequested.connect(self.start_deploy)
        self.deploy_panel.cancelRequested.connect(self.stop)
        self.deploy_panel.stopServerRequested.connect(c.stop_server)

        c.stateChanged.connect(self._apply)
        c.statusChanged.connect(self._set_status)
        c.problem.connect(lambda title, text, details: self.banner.show_message(title, text, "error", details))
        c.taskStarted.connect(self._task_started)
        c.titleChanged.connect(self._show_title)
        c.fileUsed.connect(self._file_used)
        docks = {self.compile_panel: self.compile_dock, self.results_panel: self.results_dock,
                 self.deploy_panel: self.deploy_dock}
        c.showPanel.connect(lambda panel: docks[panel].raise_())
        c.closeReady.connect(lambda: QTimer.singleShot(0, self.close))
        c.missingValues.connect(self.files.offer_without_missing)
        c.keysQuestion.connect(self._ask_before_keys)
        c.experimentUpdated.connect(self.experimentUpdated)
        c.experimentUpdated.connect(self._mark_outdated)
        c.taskStarted.connect(self._mark_outdated)
        c.taskFinished.connect(self.taskFinished)
        self.runner.busyChanged.connect(self.busyChanged)

    # ------------------------------------------------------------ reacting to the controller
    def _ask_before_keys(self, question: str, on_yes) -> None:
        """Costly keys: say what they cost and what is cheaper; make them only on Yes."""
        box = QMessageBox(QMessageBox.Icon.Question, "Large FHE keys", question,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.button(QMessageBox.StandardButton.Yes).setText("Make the keys")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.accepted.connect(on_yes)
        box.finished.connect(box.deleteLater)
        self.keys_question = box
        box.open()

    def _apply(self, enabled: Enabled) -> None:
        for action, on in ((self.train_action, enabled.train), (self.pause_action, enabled.pause),
                           (self.stop_action, enabled.stop), (self.compile_action, enabled.compile),
                           (self.keygen_action, enabled.keygen), (self.simulate_action, enabled.simulate),
                           (self.encrypted_action, enabled.encrypted), (self.open_action, enabled.open),
                           (self.import_action, enabled.import_data),
                           (self.save_action, enabled.save), (self.save_as_action, enabled.save),
                           (self.deploy_export_action, enabled.export_deployment)):
            action.setEnabled(on)
        for panel in (self.config_panel, self.train_controls, self.plots, self.compile_panel, self.results_panel,
                      self.deploy_panel):
            panel.apply(enabled)
        self.presets_button.setEnabled(enabled.edit_config)
        self.presets_menu.setEnabled(enabled.edit_config)
        self.status_busy.setVisible(enabled.busy)
        if enabled != self._enabled:  # a disabled control's tip saying why may no longer hold
            self._enabled = enabled
            self.status.end_tip()
        if not enabled.busy:
            self._tick.stop()
            self.elapsed_label.setText("")

    def _task_started(self, title: str) -> None:
        self.banner.hide()
        self._clock.start()
        self._tick.start()

    def _set_status(self, text: str, how: str = "work") -> None:
        """``how`` the message stands: "work", "result" or "passing" (see ``StatusLine``)."""
        {"work": self.status.work, "result": self.status.result, "passing": self.status.passing}[how](text)

    def event(self, event) -> bool:
        if isinstance(event, QStatusTipEvent):  # a control's status tip, while the pointer is on it: the
            self.status.passing(event.tip(), 0)  # status line shows it (Qt's would draw it over the line)
            return True
        return super().event(event)

    def _show_title(self, name: str, modified: bool) -> None:
        self.setWindowTitle(f"{name}[*] \u2014 QAT Studio")
        self.setWindowModified(modified)

    def _file_used(self, path: Path, recent: bool) -> None:
        self.settings.setValue("last_dir", str(Path(path).parent))
        if recent:
            self.recent_menu.add(path)

    def _mark_outdated(self) -> None:
        """Say above the plots when they, Compile and Results show a run of another configuration."""
        shown = self.controller.session.experiment
        outdated = shown is not None and self.config_panel.config() != shown.config
        if outdated:
            train = shortcut_text(self.train_action, every=False)
            self.outdated_note.setText(f"Out of date: the plots, Compile and Results show the last run, "
                                       f"{run_name(shown.config)}. Press Train ({train}) to train what "
                                       f"Configure shows.")
        self.outdated_note.setVisible(outdated)

    def _config_changed(self, config: ExperimentConfig, problems: list[str]) -> None:
        self.controller.config_changed(problems)
        self._mark_outdated()
        shown = self.controller.session.experiment
        if shown is None or config != shown.config:  # a result in the status bar is of another configuration
            train = f"press Train ({shortcut_text(self.train_action, every=False)}) to train it"
            self.status.outdated(f"Configuration changed: {train}; the plots and results shown are of the last run."
                                 if shown is not None else f"Configuration changed: {train}.")
        self.train_action.setToolTip(
            f"{self.train_action.statusTip()} ({shortcut_text(self.train_action)})" if not problems
            else "Can't train: " + "; ".join(problems))
        self.settings.setValue("config", json.dumps(config.to_dict()))

    # ------------------------------------------------------------ what other code calls
    @property
    def session(self):
        """The experiment shown, its data, circuit and keys (``services.jobs.Session``)."""
        return self.controller.session

    def set_config(self, config: ExperimentConfig) -> None:
        """Show ``config`` in the Configure panel (what Train will run)."""
        self.config_panel.set_config(config)

    def config(self) -> ExperimentConfig:
        return self.config_panel.config()

    def apply_preset(self, preset) -> None:
        try:
            config = preset.apply(self.config_panel.config())  # an example table is read from its file
        except (TableError, OSError) as error:
            self.banner.show_message(f"Can't apply the preset {preset.title}", str(error), "error")
            return
        self.config_panel.set_config(config)
        self.status.passing(f"Preset: {preset.title}.")

    def start_training(self) -> Optional[Task]:
        return self.controller.start_training()

    def start_deploy(self, n_points: int) -> Optional[Task]:
        return self.controller.start_deploy(n_points)

    def open_experiment(self, path: Path) -> Optional[Task]:
        return self.controller.open_experiment(Path(path))

    def stop(self) -> None:
        self.controller.stop()

    def is_busy(self) -> bool:
        return self.controller.is_busy()

    def open_optimize_dialog(self) -> OptimizeDialog:
        """Run > Find the cheapest circuit: the optimizer's dialog, on the Configure panel's data."""
        if self.optimize_dialog is None:
            dialog = self.optimize_dialog = OptimizeDialog(
                History(), self.runner, self.config, is_busy=self.is_busy, parent=self)
            dialog.openRequested.connect(self.controller.show_experiment)
            self.config_panel.configChanged.connect(dialog.refresh_base)  # the data it searches on, kept current
            # a search on a machine never measured times its lookups first
            dialog.idle.connect(lambda: self.controller.set_lookup_times(cached_lookup_times()))
        else:
            self.optimize_dialog.refresh_base()
        self.optimize_dialog.show()
        self.optimize_dialog.raise_()
        self.optimize_dialog.activateWindow()
        return self.optimize_dialog

    def show_shortcuts(self) -> ShortcutsDialog:
        """Help > Keyboard shortcuts: every action that has keys, as it has them now."""
        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_tour(self) -> TourDialog:
        dialog = TourDialog(tour_pages(self), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def notify(self, title: str, text: str, level: str = "info") -> None:
        """A message in the window (levels "info", "warning", "error"), never a modal dialog."""
        self.banner.show_message(title, text, level)

    def show_status(self, text: str) -> None:
        """A passing message in the status bar."""
        self.status.passing(text)

    def status_text(self) -> str:
        """What the status bar says now."""
        return self.status.text()

    # ------------------------------------------------------------ dropped files
    def _dropped_files(self, event) -> list[Path]:
        """The local experiment files in a drag."""
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        paths = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
        return [path for path in paths if path.suffix.lower() == SUFFIX]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_files(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        files = self._dropped_files(event)
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_experiment(files[0])
        if len(files) > 1:
            self.status.passing(f"Opening {files[0].name}: one file at a time, the other {len(files) - 1} "
                                "were left.")

    # ------------------------------------------------------------ settings and shutdown
    def _restore_settings(self) -> None:
        raw = self.settings.value("config")
        if raw:
            try:
                config = ExperimentConfig.from_dict(json.loads(str(raw)))
            except (ValueError, TypeError, ConfigError) as error:
                log.warning("ignoring the saved configuration: %s", error)
            else:  # a table's rows are not kept in the settings: its configuration comes back on the guide's data
                self.config_panel.set_config(dataclasses.replace(config, data=DataConfig()) if config.data.is_table
                                             else config)
        geometry = self.settings.value("geometry")
        if isinstance(geometry, (QByteArray, bytes)) and geometry:
            self._geometry_restored = self.restoreGeometry(QByteArray(geometry))
        state = self.settings.value("windowState")
        if isinstance(state, (QByteArray, bytes)) and state:
            self._layout_restored = self.restoreState(QByteArray(state))
            self._saved_state = QByteArray(state) if self._layout_restored else None
        samples = self.settings.value("encrypted_samples")
        if samples is not None:
            try:
                self.results_panel.set_samples_wanted(int(samples))
            except (TypeError, ValueError):
                pass
        self._show_title("untitled", False)

    def save_settings(self) -> None:
        self.settings.setValue("config", json.dumps(self.config_panel.config().to_dict()))
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        self.settings.setValue("encrypted_samples", self.results_panel.samples_wanted())
        self.settings.sync()

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything; with ``wait`` block until every worker thread has stopped."""
        self.controller.shutdown(wait)

    def show_first(self) -> None:
        """Show the window where it was last time; the first time, fitted to its screen's available
        area (``first_geometry``), its status bar on screen."""
        screen = self.screen()
        if self._saved_state is not None:
            # Again, now that docks added after the constructor (the demo's) exist: Qt applies a state
            # restored before a maximized window's first show once more when shown, and docks it
            # didn't know then were left out of every area, drawn over the window's top-left corner.
            self.restoreState(self._saved_state)
        if self._geometry_restored or screen is None:
            self.show()
            return
        frame = max(FRAME_ALLOWANCE, self.frameGeometry().height() - self.geometry().height())
        available = screen.availableGeometry()
        place = first_geometry(available, self.minimumSizeHint(), frame)
        if place is None:
            self.move(available.topLeft())  # maximized on this screen
            self.showMaximized()
        else:
            self.setGeometry(place)
            self.show()

    def resizeEvent(self, event) -> None:
        """Docks at the bottom keep their share of the window's height as it changes (Qt gives the
        whole change to the plots in the centre): sized on a window of 800 px that the window manager
        then maximizes to 690, a Story dock would leave the plots too short to read."""
        super().resizeEvent(event)
        old, new = event.oldSize().height(), event.size().height()
        if old <= 0 or new <= 0 or old == new:
            return
        bottom = [dock for dock in self.findChildren(QDockWidget) if dock.isVisible() and not dock.isFloating()
                  and self.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea]
        if bottom:  # once the layout has its new size (sooner, it undoes the change)
            heights = [round(dock.height() * new / old) for dock in bottom]
            QTimer.singleShot(0, self, lambda: self.resizeDocks(bottom, heights, Qt.Orientation.Vertical))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if not self._layout_restored:
                QTimer.singleShot(0, self._default_layout)

    def confirm_close(self) -> bool:
        """Whether the window may close: a run with results not saved asks first (once: the answer
        holds for the rest of this closing)."""
        if not self._close_confirmed and self.controller.state is not State.CLOSING:
            self._close_confirmed = not self.ask_before_discarding or self.files.may_discard()
        return self._close_confirmed or self.controller.state is State.CLOSING

    def close_without_asking(self) -> None:
        """Close as the system asks it (SIGTERM): unsaved results are not asked about, the work is stopped.
        A question already open (Ctrl+Q pressed before) is answered Discard: that closing goes on."""
        self._close_confirmed = True
        question = self.files.unsaved_question
        if question is not None:
            question.done(QMessageBox.StandardButton.Discard)
        else:
            self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_close():
            event.ignore()
            return
        if self.controller.state is not State.CLOSING:
            self.save_settings()
        # Stop the work first and close when the last worker has finished (the controller's
        # closeReady): never leave a thread running behind a destroyed window.
        if self.controller.close_when_idle():
            event.ignore()
            return
        self._tick.stop()
        self.plots.stop_live()
        if self.optimize_dialog is not None:
            self.optimize_dialog.hide()  # a visible child dialog would keep the application running
        self.controller.release()
        event.accept()


def first_geometry(available: QRect, least: QSize, frame: int) -> Optional[QRect]:
    """The window's first place on a screen whose free area is ``available``: None to maximize it
    (a screen up to MAXIMIZE_UP_TO_WIDTH wide, or one too short for the window's least size and its
    ``frame``), else a large window (FIRST_SHARE of the area, frame included) in the middle."""
    if available.width() <= MAXIMIZE_UP_TO_WIDTH or available.height() < least.height() + frame:
        return None
    size = QSize(max(int(available.width() * FIRST_SHARE), least.width()),
                 max(int(available.height() * FIRST_SHARE) - frame, least.height()))
    place = QRect(QPoint(0, 0), size)
    place.moveCenter(available.center() + QPoint(0, frame // 2))  # the frame's title bar goes above
    return place


def _scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless, vertical-only scroll area (a dock may be shorter than its panel)."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area
