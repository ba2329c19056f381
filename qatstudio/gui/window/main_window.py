"""QAT Studio's main window: the panels in docks around the live plots, menus, toolbar, status bar
and saved settings, bound to one ``Session`` (``services/session.py``) that the presenters
(``gui/presenters``) change as their work finishes."""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QStatusTipEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...engine.config import ConfigError, DataConfig, ExperimentConfig
from ...services.calibration import cached_lookup_times
from ...services.experiment_file import SUFFIX
from ...services.history import History
from ...services.session import Session
from ...services.tabular import TableError
from ..panels.compile_panel import CompilePanel
from ..panels.config_panel import ConfigPanel
from ..panels.deploy_panel import DeployPanel
from ..presenters import Presenters, Views
from .actions import add_actions
from .files import FileDialogs
from .help import ShortcutsDialog, TourDialog, shortcut_text, tour_pages
from .menus import build_menus, presets_button
from .placement import Placement
from ..dialogs.optimize_dialog import OptimizeDialog
from ..charts.plots import TrainingPlots
from ..panels.results_panel import ResultsPanel
from ..state import Enabled, State
from .status import BusyClock, StatusLine
from ..widgets import MessageBanner, OutdatedNote, TrainControls
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


class MainWindow(QMainWindow):
    """The whole app in one window."""

    busyChanged = Signal(bool)
    taskFinished = Signal(str, object)  # task title, its services.tasks.Outcome

    def __init__(self, settings: Optional[QSettings] = None, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("qatStudioMainWindow")
        self.setWindowTitle("QAT Studio")
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else QSettings(SETTINGS_ORG, SETTINGS_APP)
        self.placement = Placement(self, self.settings)
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
        self.outdated_note = OutdatedNote()
        box.addWidget(self.outdated_note)
        box.addWidget(self.plots, 1)
        self.setCentralWidget(centre)

        add_actions(self)
        self.plots.set_hint(f"Press Train ({shortcut_text(self.train_action, every=False)}) to start")
        self.config_panel = ConfigPanel()
        self.train_controls = TrainControls(self.train_action, self.pause_action, self.stop_action)
        self.train_button = self.train_controls.train_button  # what the benchmark and the demo's tests click
        self.compile_panel = CompilePanel()
        self.results_panel = ResultsPanel()
        self.deploy_panel = DeployPanel()
        self.session = Session()  # what the window works on: the presenters change it, the panels show it
        self.presenters = Presenters.build(self.session, Views(
            self.config_panel, self.train_controls, self.plots, self.compile_panel, self.results_panel,
            self.deploy_panel), self)
        self.runner = self.presenters.slot.runner
        self.presenters.circuit.set_lookup_times(cached_lookup_times())
        self.files = FileDialogs(self, self.presenters, self.session, self.settings)
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
        self.busy = BusyClock(bar, self)
        self._enabled: Optional[Enabled] = None

    def _connect(self) -> None:
        p, slot = self.presenters, self.presenters.slot
        circuit = p.circuit
        triggers: dict[QAction, Callable] = {
            self.train_action: self.start_training, self.stop_action: self.stop,
            self.compile_action: circuit.start_compile, self.keygen_action: circuit.start_keygen,
            self.simulate_action: circuit.start_simulation,
            self.encrypted_action: lambda: circuit.start_encrypted(self.results_panel.samples_wanted()),
            self.open_action: self.files.open_dialog, self.import_action: self.files.import_dialog,
            self.save_action: self.files.save,
            self.save_as_action: self.files.save_as_dialog, self.export_action: self.files.export_dialog,
            self.deploy_export_action: self.files.deploy_export_dialog, self.quit_action: self.close,
            self.tour_action: self.show_tour, self.shortcuts_action: self.show_shortcuts,
            self.optimize_action: self.open_optimize_dialog,
        }
        for action, slot_ in triggers.items():
            action.triggered.connect(lambda checked=False, slot_=slot_: slot_())
        self.pause_action.toggled.connect(p.training.set_paused)
        p.training.pausedChanged.connect(self.pause_action.setChecked)

        self.config_panel.configChanged.connect(self._config_changed)
        self.config_panel.estimate.measureRequested.connect(circuit.start_calibration)
        self.config_panel.estimate.cancelRequested.connect(self.stop)
        self.compile_panel.compileRequested.connect(circuit.start_compile)
        self.compile_panel.keygenRequested.connect(circuit.start_keygen)
        self.compile_panel.cancelRequested.connect(self.stop)
        self.results_panel.simulateRequested.connect(circuit.start_simulation)
        self.results_panel.encryptedRequested.connect(circuit.start_encrypted)
        self.results_panel.cancelRequested.connect(self.stop)
        self.deploy_panel.sendRequested.connect(self.start_deploy)
        self.deploy_panel.cancelRequested.connect(self.stop)
        self.deploy_panel.stopServerRequested.connect(p.deploy.stop_server)

        self.session.config_changed.connect(self._show_config)
        self.session.title_changed.connect(self._show_title)
        slot.stateChanged.connect(self._apply)
        slot.statusChanged.connect(self.status.show)
        slot.problem.connect(lambda title, text, details: self.banner.show_message(title, text, "error", details))
        slot.taskStarted.connect(self._task_started)
        docks = {self.compile_panel: self.compile_dock, self.results_panel: self.results_dock,
                 self.deploy_panel: self.deploy_dock}
        slot.showPanel.connect(lambda panel: docks[panel].raise_())
        slot.closeReady.connect(lambda: QTimer.singleShot(0, self.close))
        slot.taskFinished.connect(self.taskFinished)
        self.session.run_changed.connect(lambda run: self._mark_outdated())  # a run's stages keep its configuration
        p.files.fileUsed.connect(self._file_used)
        p.files.missingValues.connect(self.files.offer_without_missing)
        circuit.keysQuestion.connect(lambda question, on_yes: ask_before_keys(self, question, on_yes))
        self.runner.busyChanged.connect(self.busyChanged)

    # ------------------------------------------------------------ reacting to the presenters and the session
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
        self.busy.set_busy(enabled.busy, enabled.busy_bar)
        if enabled != self._enabled:  # a disabled control's tip saying why may no longer hold
            self._enabled = enabled
            self.status.end_tip()

    def _task_started(self, title: str) -> None:
        self.banner.hide()
        self.busy.start()

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

    def _show_config(self, config: ExperimentConfig) -> None:
        """The session's configuration, set elsewhere (the demo): the Configure panel shows it."""
        if config != self.config_panel.config():
            self.config_panel.set_config(config)

    def _mark_outdated(self) -> None:
        shown = self.session.run.experiment
        self.outdated_note.compare(shown.config if shown is not None else None, self.config_panel.config(),
                                   shortcut_text(self.train_action, every=False))

    def _config_changed(self, config: ExperimentConfig, problems: list[str]) -> None:
        """The Configure panel changed: what it shows becomes the session's, unless it has problems."""
        self.presenters.slot.config_changed(problems)
        if not problems:
            self.session.set_config(config)
        self._mark_outdated()
        shown = self.session.run.experiment
        if shown is None or config != shown.config:  # a result in the status bar is of another configuration
            train = f"press Train ({shortcut_text(self.train_action, every=False)}) to train it"
            self.status.outdated(f"Configuration changed: {train}; the plots and results shown are of the last run."
                                 if shown is not None else f"Configuration changed: {train}.")
        self.train_action.setToolTip(
            f"{self.train_action.statusTip()} ({shortcut_text(self.train_action)})" if not problems
            else "Can't train: " + "; ".join(problems))
        self.settings.setValue("config", json.dumps(config.to_dict()))

    # ------------------------------------------------------------ what other code calls
    def set_config(self, config: ExperimentConfig) -> None:
        """Show ``config`` in the Configure panel (what Train will run)."""
        self.config_panel.set_config(config)

    def config(self) -> ExperimentConfig:
        return self.config_panel.config()

    def apply_preset(self, preset) -> None:
        try:
            config = preset.apply(self.config_panel.config(), self.session.tables)  # an example table is read
        except (TableError, OSError) as error:
            self.banner.show_message(f"Can't apply the preset {preset.title}", str(error), "error")
            return
        self.config_panel.set_config(config)
        self.status.passing(f"Preset: {preset.title}.")

    def start_training(self) -> Optional[Task]:
        return self.presenters.training.start()

    def start_deploy(self, n_points: int) -> Optional[Task]:
        return self.presenters.deploy.start(n_points)

    def open_experiment(self, path: Path) -> Optional[Task]:
        return self.presenters.files.open_experiment(Path(path))

    def stop(self) -> None:
        self.presenters.slot.stop()

    def is_busy(self) -> bool:
        return self.presenters.slot.is_busy()

    def open_optimize_dialog(self) -> OptimizeDialog:
        """Run > Find the cheapest circuit: the optimizer's dialog, on the Configure panel's data."""
        if self.optimize_dialog is None:
            dialog = self.optimize_dialog = OptimizeDialog(
                History(), self.session.tables, self.runner, self.config, is_busy=self.is_busy, parent=self)
            dialog.openRequested.connect(self.presenters.files.show_experiment)
            self.config_panel.configChanged.connect(dialog.refresh_base)  # the data it searches on, kept current
            # a search on a machine never measured times its lookups first
            dialog.idle.connect(lambda: self.presenters.circuit.set_lookup_times(cached_lookup_times()))
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
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_experiments(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        files = dropped_experiments(event)
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
        self.placement.restore()
        samples = self.settings.value("encrypted_samples")
        if samples is not None:
            try:
                self.results_panel.set_samples_wanted(int(samples))
            except (TypeError, ValueError):
                pass
        self._show_title("untitled", False)

    def save_settings(self) -> None:
        self.settings.setValue("config", json.dumps(self.config_panel.config().to_dict()))
        self.placement.save()
        self.settings.setValue("encrypted_samples", self.results_panel.samples_wanted())
        self.settings.sync()

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything; with ``wait`` block until every worker thread has stopped."""
        self.presenters.shutdown(wait)

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
            if not self.placement.layout_restored:
                QTimer.singleShot(0, self._default_layout)

    def confirm_close(self) -> bool:
        """Whether the window may close: a run with results not saved asks first (once: the answer
        holds for the rest of this closing)."""
        closing = self.presenters.slot.state is State.CLOSING
        if not self._close_confirmed and not closing:
            self._close_confirmed = not self.ask_before_discarding or self.files.may_discard()
        return self._close_confirmed or closing

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
        if self.presenters.slot.state is not State.CLOSING:
            self.save_settings()
        # Stop the work first and close when the last worker has finished (the task slot's
        # closeReady): never leave a thread running behind a destroyed window.
        if self.presenters.slot.close_when_idle():
            event.ignore()
            return
        self.busy.stop()
        self.plots.stop_live()
        if self.optimize_dialog is not None:
            self.optimize_dialog.hide()  # a visible child dialog would keep the application running
        self.presenters.release()
        event.accept()


def ask_before_keys(parent: QWidget, question: str, on_yes) -> None:
    """Costly keys: say what they cost and what is cheaper; make them (``on_yes``) only on Yes."""
    box = QMessageBox(QMessageBox.Icon.Question, "Large FHE keys", question,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, parent)
    box.button(QMessageBox.StandardButton.Yes).setText("Make the keys")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.accepted.connect(on_yes)
    box.finished.connect(box.deleteLater)
    box.open()


def dropped_experiments(event) -> list[Path]:
    """The local experiment files in a drag."""
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    paths = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
    return [path for path in paths if path.suffix.lower() == SUFFIX]


def _scrolled(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless, vertical-only scroll area (a dock may be shorter than its panel)."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area
