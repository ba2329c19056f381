"""QAT Studio's main window: configure, train live, compile, compare clear and FHE results.

The window only drives ``qatstudio.core`` through the jobs in ``jobs.py``, each run on a
background thread by ``workers.TaskRunner``; one task runs at a time and Stop cancels it.
"""
from __future__ import annotations

import dataclasses
import gc
import json
import logging
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QByteArray, QElapsedTimer, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStyle,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..engine.config import ConfigError, ExperimentConfig
from ..engine.fhe import AccumulatorTooWideError
from ..services import jobs, storage
from ..services.experiment_file import SUFFIX, save_experiment
from ..services.formatting import fmt_eta, fmt_percent, fmt_seconds
from ..services.presets import data_presets, guide_presets
from .compile_panel import CompilePanel
from .config_panel import KIND_LABELS, ConfigPanel
from .deploy_panel import DeployPanel
from .plots import TrainingPlots
from .recent_files import RecentFilesMenu
from .results_panel import ResultsPanel
from .widgets import MessageBanner
from .workers import Task, TaskError, TaskRunner

log = logging.getLogger(__name__)

SETTINGS_ORG = "qatstudio"
SETTINGS_APP = "QAT Studio"
FILE_FILTER = f"QAT Studio experiments (*{SUFFIX})"


class MainWindow(QMainWindow):
    """The whole app in one window."""

    taskFinished = Signal(str, str)  # task name, outcome ("succeeded", "failed", "cancelled")
    # The session's experiment gained results (GUI thread, after self.session is updated):
    # stage is "trained", "compiled", "simulated", "encrypted" or "opened".
    experimentUpdated = Signal(object, str)  # Experiment, stage
    busyChanged = Signal(bool)

    def __init__(self, settings: Optional[QSettings] = None, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("qatStudioMainWindow")
        self.setWindowTitle("QAT Studio")
        self.settings = settings if settings is not None else QSettings(SETTINGS_ORG, SETTINGS_APP)
        self.session = jobs.Session()
        self.runner = TaskRunner(self)
        self.runner.busyChanged.connect(lambda busy: self._update_actions())
        self.runner.busyChanged.connect(self.busyChanged.emit)
        self.task: Optional[Task] = None
        self._closing = False
        self._layout_restored = False
        self._shown_once = False
        self._problems: list[str] = []
        self._latencies: list[float] = []
        self._clock = QElapsedTimer()
        # What a file dropped on the window opens with, by suffix: the one place a new file type goes.
        self.openers: dict[str, Callable[[Path], Optional[Task]]] = {SUFFIX: self.open_experiment}
        self.setAcceptDrops(True)

        # --- centre: message banner over the live plots
        self.banner = MessageBanner()
        self.plots = TrainingPlots()
        centre = QWidget()
        box = QVBoxLayout(centre)
        box.setContentsMargins(4, 4, 4, 0)
        box.addWidget(self.banner)
        box.addWidget(self.plots, 1)
        self.setCentralWidget(centre)

        self._build_actions()
        self._build_configure_dock()
        self.compile_panel = CompilePanel()
        self.results_panel = ResultsPanel()
        self.compile_dock = self._dock("Compile", "compileDock", self.compile_panel,
                                       Qt.DockWidgetArea.RightDockWidgetArea, scroll=True)
        self.results_dock = self._dock("Results", "resultsDock", self.results_panel,
                                       Qt.DockWidgetArea.RightDockWidgetArea, scroll=True)
        self.deploy_panel = DeployPanel()
        self.deploy_dock = self._dock("Deploy", "deployDock", self.deploy_panel,
                                      Qt.DockWidgetArea.RightDockWidgetArea, scroll=True)
        self.tabifyDockWidget(self.compile_dock, self.results_dock)
        self.tabifyDockWidget(self.results_dock, self.deploy_dock)
        self.compile_dock.raise_()
        self._build_menus()
        self._build_status_bar()

        self.compile_panel.compileRequested.connect(self.start_compile)
        self.compile_panel.keygenRequested.connect(self.start_keygen)
        self.compile_panel.cancelRequested.connect(self.stop)
        self.results_panel.simulateRequested.connect(self.start_simulation)
        self.results_panel.encryptedRequested.connect(self.start_encrypted)
        self.results_panel.cancelRequested.connect(self.stop)
        self.config_panel.configChanged.connect(self._config_changed)
        self.deploy_panel.sendRequested.connect(self.start_deploy)
        self.deploy_panel.cancelRequested.connect(self.stop)
        self.deploy_panel.stopServerRequested.connect(self.deploy_panel.stop_server)

        self._tick = QTimer(self)
        self._tick.setInterval(500)
        self._tick.timeout.connect(self._show_elapsed)

        self.resize(1280, 800)
        self._default_layout()
        self._restore_settings()
        self._config_changed(self.config_panel.config(), self.config_panel.problems())
        self._set_status("Ready: choose a configuration (or a preset) and press Train.")

    # ------------------------------------------------------------ building
    def _action(self, text: str, slot: Callable, shortcuts=(), tip: str = "", icon=None,
                checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)  # not in dialogs: Esc stays theirs
        keys = " or ".join(QKeySequence(s).toString(QKeySequence.SequenceFormat.NativeText) for s in shortcuts)
        action.setToolTip(f"{tip} ({keys})" if keys and tip else tip or text)
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        self.train_action = self._action("&Train", self.start_training, ["Ctrl+T", "F5"],
                                         "Train the configured model", sp.SP_MediaPlay)
        self.pause_action = self._action("&Pause", self.set_paused, ["Ctrl+P"],
                                         "Pause or resume training", sp.SP_MediaPause, checkable=True)
        self.stop_action = self._action("&Stop", self.stop, ["Esc", "Ctrl+."],
                                        "Stop what is running (training keeps what it learned)", sp.SP_MediaStop)
        self.compile_action = self._action("&Compile", self.start_compile, ["Ctrl+K"],
                                           "Compile the quantized model to an FHE circuit", sp.SP_ComputerIcon)
        self.keygen_action = self._action("Generate &keys", self.start_keygen, ["Ctrl+G"],
                                          "Generate the circuit's keys (cached on disk)", sp.SP_DialogApplyButton)
        self.simulate_action = self._action("&Simulate FHE", self.start_simulation, ["Ctrl+M"],
                                            "FHE simulation of every test point and of the boundary",
                                            sp.SP_BrowserReload)
        self.encrypted_action = self._action(
            "Run &encrypted", lambda: self.start_encrypted(self.results_panel.samples.value()), ["Ctrl+E"],
            "Encrypt, run and decrypt N test points", sp.SP_DriveNetIcon)
        self.open_action = self._action("&Open experiment\u2026", self.open_dialog, [QKeySequence.StandardKey.Open],
                                        "Open a saved experiment")
        self.save_action = self._action("&Save experiment", self.save, [QKeySequence.StandardKey.Save],
                                        "Save the experiment: configuration, weights, metrics, compile report")
        self.save_as_action = self._action("Save experiment &as\u2026", self.save_as_dialog,
                                           [QKeySequence.StandardKey.SaveAs], "Save the experiment to a new file")
        self.deploy_export_action = self._action(
            "Export for &deployment\u2026", self.deploy_export_dialog, [],
            "Write the circuit and what a client needs into a folder, for 'qatstudio serve'")
        self.export_action = self._action("&Export plots as PNG\u2026", self.export_dialog, ["Ctrl+Shift+E"],
                                          "Save the plots as PNG images")
        self.quit_action = self._action("&Quit", self.close, [QKeySequence.StandardKey.Quit], "Close QAT Studio")

    def _build_configure_dock(self) -> None:
        self.config_panel = ConfigPanel()
        scroll = QScrollArea()
        scroll.setWidget(self.config_panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.presets_button = QToolButton()
        self.presets_button.setText("Guide presets")
        self.presets_button.setToolTip("The configurations of the step-by-step guide's tables, on the guide's "
                                       "data; and the data sets to train them on.")
        self.presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.presets_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.presets_menu = self._presets_menu()
        self.presets_button.setMenu(self.presets_menu)

        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.setDefault(True)
        self.train_button.clicked.connect(self.train_action.trigger)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self.pause_action.setChecked)
        self.pause_action.toggled.connect(self.pause_button.setChecked)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop_action.trigger)
        for button, action in ((self.train_button, self.train_action), (self.pause_button, self.pause_action),
                               (self.stop_button, self.stop_action)):
            button.setToolTip(action.toolTip())
            button.setIcon(action.icon())
        self.train_button.setStyleSheet("QPushButton:enabled { font-weight: bold; }")
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setFormat("%p%")
        self.progress.setValue(0)
        self.eta_label = QLabel("Not trained yet.")
        self.eta_label.setObjectName("etaLabel")
        self.eta_label.setWordWrap(True)

        controls = QWidget()
        layout = QVBoxLayout(controls)
        layout.setContentsMargins(6, 4, 6, 6)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button, 2)
        buttons.addWidget(self.pause_button, 1)
        buttons.addWidget(self.stop_button, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.eta_label)

        top = QHBoxLayout()
        top.setContentsMargins(6, 4, 6, 0)
        top.addWidget(QLabel("Start from"))
        top.addWidget(self.presets_button, 1)

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addLayout(top)
        column.addWidget(scroll, 1)
        column.addWidget(controls)
        body.setMinimumWidth(330)
        self.configure_dock = self._dock("Configure", "configureDock", body, Qt.DockWidgetArea.LeftDockWidgetArea)

    def _presets_menu(self) -> QMenu:
        menu = QMenu("&Presets", self)
        group = None
        for preset in guide_presets() + data_presets():
            if preset.group != group:
                group = preset.group
                menu.addSection(group)
            action = menu.addAction(preset.title)
            action.setToolTip(preset.group)
            action.triggered.connect(lambda checked=False, p=preset: self.apply_preset(p))
        return menu

    def _dock(self, title: str, name: str, widget: QWidget, area, scroll: bool = False) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        if scroll:
            area_widget = QScrollArea()
            area_widget.setWidget(widget)
            area_widget.setWidgetResizable(True)
            area_widget.setFrameShape(QScrollArea.Shape.NoFrame)
            area_widget.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            widget = area_widget
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _default_layout(self) -> None:
        self.resizeDocks([self.configure_dock, self.compile_dock], [345, 400], Qt.Orientation.Horizontal)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addAction(self.open_action)
        self.recent_menu = RecentFilesMenu(self.settings, self)
        self.recent_menu.openRequested.connect(self.open_experiment)
        file.addMenu(self.recent_menu)
        for action in (self.save_action, self.save_as_action):
            file.addAction(action)
        file.addSeparator()
        file.addAction(self.export_action)
        file.addAction(self.deploy_export_action)
        file.addSeparator()
        file.addAction(self.quit_action)
        bar.addMenu(self.presets_menu)
        run = bar.addMenu("&Run")
        for action in (self.train_action, self.pause_action, self.stop_action):
            run.addAction(action)
        run.addSeparator()
        for action in (self.compile_action, self.keygen_action, self.simulate_action, self.encrypted_action):
            run.addAction(action)
        view = bar.addMenu("&View")
        for dock in (self.configure_dock, self.compile_dock, self.results_dock, self.deploy_dock):
            view.addAction(dock.toggleViewAction())
        help_menu = self.help_menu = bar.addMenu("&Help")
        about = help_menu.addAction("About QAT Studio")
        about.triggered.connect(lambda: self.banner.show_message(
            f"QAT Studio {__version__}",
            "train quantization-aware MLPs, compile them to FHE with Concrete, and compare clear and "
            "encrypted accuracy.", level="info"))

        toolbar = QToolBar("Run")
        toolbar.setObjectName("runToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setMovable(False)
        for action in (self.train_action, self.pause_action, self.stop_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        for action in (self.compile_action, self.keygen_action, self.simulate_action, self.encrypted_action):
            toolbar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.toolbar = toolbar

    def _build_status_bar(self) -> None:
        self.status_label = QLabel()
        self.status_label.setObjectName("statusText")
        self.status_busy = QProgressBar()
        self.status_busy.setRange(0, 0)
        self.status_busy.setMaximumWidth(120)
        self.status_busy.setMaximumHeight(14)
        self.status_busy.hide()
        self.elapsed_label = QLabel()
        bar = self.statusBar()
        bar.addWidget(self.status_label, 1)
        bar.addPermanentWidget(self.elapsed_label)
        bar.addPermanentWidget(self.status_busy)

    # ------------------------------------------------------------ small helpers
    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def status_text(self) -> str:
        return self.status_label.text()

    def notify(self, title: str, text: str, level: str = "info") -> None:
        self.banner.show_message(title, text, level)

    def show_status(self, text: str, msecs: int = 8000) -> None:
        self.statusBar().showMessage(text, msecs)

    def show_error(self, title: str, message: str, details: str = "") -> None:
        self.banner.show_message(title, message, "error", details)

    def _update_actions(self) -> None:
        busy = self.runner.is_busy() or self._closing
        training = busy and self.task is not None and self.task.name == "Training"
        experiment = self.session.experiment
        compiled = self.session.compiled is not None
        self.train_action.setEnabled(not busy and not self._problems)
        self.train_button.setEnabled(self.train_action.isEnabled())
        self.pause_action.setEnabled(training)
        self.pause_button.setEnabled(training)
        self.stop_action.setEnabled(busy and not self._closing)
        self.stop_button.setEnabled(training and not self._closing)
        can_compile = not busy and experiment is not None and experiment.integer_model is not None
        self.compile_action.setEnabled(can_compile)
        self.compile_panel.compile_button.setEnabled(can_compile)
        self.keygen_action.setEnabled(not busy and compiled)
        self.compile_panel.keygen_button.setEnabled(not busy and compiled)
        self.simulate_action.setEnabled(not busy and compiled)
        self.results_panel.simulate_button.setEnabled(not busy and compiled)
        self.encrypted_action.setEnabled(not busy and compiled)
        self.results_panel.encrypted_button.setEnabled(not busy and compiled)
        name = self.task.name if busy and self.task is not None else ""
        self.compile_panel.cancel_button.setEnabled(name in ("Compiling", "Generating keys"))
        self.results_panel.cancel_button.setEnabled(name in ("FHE simulation", "Encrypted run"))
        self.deploy_panel.set_busy(busy, compiled)
        self.deploy_panel.cancel_button.setEnabled(name == "Deployment")
        self.deploy_export_action.setEnabled(not busy and experiment is not None and experiment.integer_model is not None)
        self.config_panel.set_editable(not training and not self._closing)
        self.presets_button.setEnabled(not training and not self._closing)
        self.presets_menu.setEnabled(not training and not self._closing)
        self.open_action.setEnabled(not busy)
        self.save_action.setEnabled(not busy and experiment is not None)
        self.save_as_action.setEnabled(not busy and experiment is not None)
        self.status_busy.setVisible(busy)
        if not busy:
            self.elapsed_label.setText("")

    def _start(self, name: str, job: jobs.Job, on_message: Optional[Callable] = None,
               on_success: Optional[Callable] = None, on_failure: Optional[Callable] = None,
               on_cancel: Optional[Callable] = None) -> Optional[Task]:
        if self.runner.is_busy() or self._closing:
            self._set_status(f"Busy with {self.task.name.lower() if self.task else 'other work'}: "
                             f"stop it first.")
            return None
        self.banner.hide()
        task = self.runner.start(name, job)
        self.task = task
        if on_message:
            task.message.connect(on_message)
        if on_success:
            task.succeeded.connect(on_success)
        task.failed.connect(lambda error, name=name: self._failed(name, error, on_failure))
        task.cancelled.connect(lambda name=name: self._cancelled(name, on_cancel))
        task.finished.connect(lambda task=task: self._finished(task))
        self._clock.start()
        self._tick.start()
        self._update_actions()
        return task

    def _failed(self, name: str, error: TaskError, handler: Optional[Callable]) -> None:
        kept = f" The details are in {error.log_file}: attach it to a bug report." if error.log_file else ""
        self.show_error(error.title, error.message + kept, error.details)
        self._set_status(f"{name} failed: {error.message}")
        if handler:
            handler(error)

    def _cancelled(self, name: str, handler: Optional[Callable]) -> None:
        self._set_status(f"{name} cancelled.")
        if handler:
            handler()

    def _finished(self, task: Task) -> None:
        if self.task is task:
            self.task = None
        self._tick.stop()
        if self.pause_action.isChecked():
            self.pause_action.setChecked(False)
        self._update_actions()
        self.taskFinished.emit(task.name, task.outcome or "cancelled")
        if self._closing and not self.runner.is_busy():
            QTimer.singleShot(0, self.close)

    def _show_elapsed(self) -> None:
        if self.runner.is_busy():
            self.elapsed_label.setText(fmt_seconds(self._clock.elapsed() / 1000))

    def is_busy(self) -> bool:
        return self.runner.is_busy()

    # ------------------------------------------------------------ configuration
    def _config_changed(self, config: ExperimentConfig, problems: list[str]) -> None:
        self._problems = list(problems)
        self._update_actions()
        self.train_action.setToolTip(
            "Train the configured model (Ctrl+T)" if not problems else "Can't train: " + "; ".join(problems))
        self.train_button.setToolTip(self.train_action.toolTip())
        self.settings.setValue("config", json.dumps(config.to_dict()))

    def config(self) -> ExperimentConfig:
        return self.config_panel.config()

    def set_config(self, config) -> None:
        """Show ``config`` in the Configure panel (what Train will run)."""
        self.config_panel.set_config(config)

    def apply_preset(self, preset) -> None:
        self.config_panel.set_config(preset.apply(self.config_panel.config()))
        self._set_status(f"Preset: {preset.title}.")

    # ------------------------------------------------------------ training
    def start_training(self) -> Optional[Task]:
        config = self.config_panel.config()
        problems = config.problems()
        if problems:
            self._set_status("Can't train: " + "; ".join(problems))
            return None
        if self.runner.is_busy():
            return None
        self.session = jobs.Session()
        self.setWindowModified(False)
        self._update_title()
        self.plots.reset()
        self.compile_panel.show_report(None)
        self.compile_panel.status.setText("Training\u2026 compile when it is done.")
        self.compile_panel.keygen_finished(None)
        self.results_panel.show_metrics(None)
        self.results_panel.show_boundaries(None, None)
        self.results_panel.simulation_progress(0, 1, "")
        self.results_panel.encrypted_progress.setValue(0)
        self.results_panel.encrypted_label.setText("Not run yet.")
        self.results_panel.set_test_count(config.data.n_test)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.eta_label.setText("Preparing the data\u2026")
        task = self._start("Training", jobs.train_job(config), self._on_train_message, self._on_trained,
                           on_failure=lambda error: self.plots.stop_live(),
                           on_cancel=self.plots.stop_live)
        if task is None:
            return None
        self.plots.start_live()
        budget = f", pruned to {config.pruning_budget} inputs" if config.pruning_budget else ""
        self._set_status(f"Training: {KIND_LABELS[config.kind].split(',')[0].lower()}, {config.n_layers}\u00d7"
                         f"{config.n_hidden} neurons, {config.bits} bits{budget}, {config.epochs} epochs\u2026")
        return task

    def _on_train_message(self, message) -> None:
        if isinstance(message, jobs.StepBatch):
            self.plots.add_steps(message.losses)
            if self.progress.maximum() != message.total_steps:
                self.progress.setRange(0, message.total_steps)
                self.plots.set_extent(message.total_steps, self.config_panel.epochs.value())
            if message.step - self.progress.value() >= max(1, message.total_steps // 200):
                self.progress.setValue(message.step)  # whole 0.5% steps: each repaint costs
            paused = " (paused)" if self.pause_action.isChecked() else ""
            epochs = self.config_panel.epochs.value()
            self.eta_label.setText(f"Epoch {message.epoch} of {epochs} \u00b7 step {message.step} of "
                                   f"{message.total_steps} \u00b7 {fmt_eta(message.eta_s)}{paused}")
        elif isinstance(message, jobs.EpochUpdate):
            event = message.epoch
            self.plots.add_epoch(event, message.test_predictions)
            paused = " \u2014 paused: press Pause again to resume" if self.pause_action.isChecked() else ""
            self._set_status(f"Training: epoch {event.epoch} of {event.epochs}, test accuracy "
                             f"{fmt_percent(event.test_accuracy)}, loss {event.test_loss:.3f}{paused}")
        elif isinstance(message, jobs.DataReady):
            self.plots.set_test_points(message.x_test, message.y_test)
            self.plots.set_ceiling(message.ceiling_accuracy)
        elif isinstance(message, jobs.Phase):
            self.eta_label.setText(message.text + "\u2026")
            self._set_status(message.text + "\u2026")

    def _on_trained(self, outcome: jobs.TrainOutcome) -> None:
        self.plots.stop_live()
        if outcome.experiment is None:
            self.eta_label.setText("Stopped before the first epoch ended: nothing to keep.")
            self._set_status("Training stopped before the first epoch ended.")
            self.compile_panel.status.setText("Train a model, then compile it.")
            return
        experiment = outcome.experiment
        self.session = jobs.Session(experiment=experiment, dataset=outcome.dataset,
                                    test_predictions=outcome.test_predictions, dirty=True)
        self.plots.set_predictions(outcome.test_predictions)
        self.plots.redraw()
        self.results_panel.show_metrics(experiment.metrics)
        self.results_panel.set_test_count(len(outcome.dataset.x_test))
        self._show_estimate(experiment)
        m = experiment.metrics
        how = (f"Stopped after {outcome.epochs_completed} of {experiment.config.epochs} epochs"
               if outcome.stopped_early else f"Trained {outcome.epochs_completed} epochs")
        elapsed = experiment.history[-1].elapsed_s if experiment.history else 0.0
        first = (f"fp32 {fmt_percent(m.float_accuracy)}, " if m.float_accuracy is not None else "")
        self.eta_label.setText(f"{how} in {fmt_seconds(elapsed)}.")
        if outcome.stopped_early:
            self.progress.setValue(self.progress.value())
        else:
            self.progress.setValue(self.progress.maximum())
        self._set_status(f"{how}: test accuracy {first}{experiment.config.bits}-bit quantized "
                         f"{fmt_percent(m.clear_accuracy)} in the clear. Compile next (Ctrl+K).")
        self._update_title()
        self.experimentUpdated.emit(self.session.experiment, "trained")

    def _show_estimate(self, experiment) -> None:
        quantized = experiment.integer_model
        if quantized is None:
            return
        self.compile_panel.show_estimate(quantized.layers)
        bits = quantized.accumulator_bits
        if bits > 16:
            self.compile_panel.status.setText(
                f"The integer model needs a {bits}-bit accumulator: over Concrete's 16-bit limit, compiling "
                f"will fail. Use a smaller pruning budget or a lower bit-width.")
        else:
            self.compile_panel.status.setText(
                "Accumulator widths of the integer model; compile for the circuit's figures.")

    def set_paused(self, paused: bool) -> None:
        task = self.task
        if task is None or task.name != "Training":
            return
        if paused:
            task.state.pause()
            self._set_status("Training paused: press Pause again to resume, or Stop.")
            self.eta_label.setText(self.eta_label.text().replace(" (paused)", "") + " (paused)")
        else:
            task.state.resume()
            self._set_status("Training resumed\u2026")
            self.eta_label.setText(self.eta_label.text().replace(" (paused)", ""))

    def stop(self) -> None:
        task = self.task or self.runner.current()  # a sweep runs on the runner without being self.task
        if task is None:
            return
        task.cancel()
        if task.name == "Compiling":
            self._set_status("Stopping: a compilation can't be interrupted; its result will be discarded\u2026")
        elif task.name == "Training":
            self._set_status("Stopping training: the model keeps what it learned so far\u2026")
        else:
            self._set_status(f"Stopping {task.name.lower()}\u2026")

    # ------------------------------------------------------------ compile and keys
    def start_compile(self) -> None:
        experiment = self.session.experiment
        if experiment is None or experiment.integer_model is None:
            self._set_status("Train a model (or open an experiment) before compiling.")
            return
        self.session.compiled = None
        self.session.keys = None
        self.compile_panel.keygen_finished(None)
        self.compile_panel.status.setText("Compiling to an FHE circuit\u2026")
        task = self._start("Compiling", jobs.compile_job(experiment), self._on_phase, self._on_compiled,
                           on_failure=self._on_compile_failed,
                           on_cancel=lambda: self.compile_panel.status.setText("Compilation cancelled."))
        if task is not None:
            self.compile_dock.raise_()
            self._set_status("Compiling the integer model to an FHE circuit with Concrete\u2026")

    def _on_phase(self, message) -> None:
        if isinstance(message, jobs.Phase):
            self._set_status(message.text + "\u2026")

    def _on_compiled(self, compiled) -> None:
        experiment = self.session.experiment
        self.session.compiled = compiled
        self.session.dirty = True
        experiment.stats = compiled.stats
        experiment.compiled = compiled
        report = compiled.stats
        self.compile_panel.show_report(report)
        self.compile_panel.status.setText(
            f"Compiled in {fmt_seconds(report.compile_s)}: the circuit's widest integer is "
            f"{report.accumulator_bits} bits. Simulate or run it encrypted in Results.")
        self._set_status(f"Compiled: {report.accumulator_bits}-bit accumulator, {report.pbs_count} PBS, "
                         f"keys {report.key_bytes / 1e6:.0f} MB. Next: Simulate FHE (Ctrl+M).")
        self._update_title()
        self.experimentUpdated.emit(self.session.experiment, "compiled")

    def _on_compile_failed(self, error: TaskError) -> None:
        exception = error.exception
        if isinstance(exception, AccumulatorTooWideError) and self.session.experiment is not None:
            self.compile_panel.show_estimate(self.session.experiment.integer_model.layers)
        self.compile_panel.status.setText(f"Compilation failed: {error.message}")

    def start_keygen(self) -> None:
        compiled = self.session.compiled
        if compiled is None:
            self._set_status("Compile first: keys belong to a circuit.")
            return
        task = self._start("Generating keys", jobs.keygen_job(compiled), self._on_phase, self._on_keys,
                           on_failure=lambda error: self.compile_panel.keygen_finished(None, "Key generation failed."),
                           on_cancel=lambda: self.compile_panel.keygen_finished(None, "Key generation cancelled."))
        if task is not None:
            self.compile_dock.raise_()
            self.compile_panel.keygen_started()

    def _on_keys(self, keys) -> None:
        self.session.keys = keys
        self.compile_panel.keygen_finished(keys)
        experiment = self.session.experiment
        if experiment is not None:
            experiment.metrics = dataclasses.replace(experiment.metrics, keygen_s=keys.seconds,
                                                     keygen_from_cache=keys.from_cache)
            self.results_panel.show_metrics(experiment.metrics)
        how = "loaded from the cache" if keys.from_cache else "generated"
        self._set_status(f"Keys {how} in {fmt_seconds(keys.seconds)}. Run encrypted in Results (Ctrl+E).")

    # ------------------------------------------------------------ FHE simulation and encrypted runs
    def start_simulation(self) -> None:
        compiled, experiment = self.session.compiled, self.session.experiment
        if compiled is None or experiment is None:
            self._set_status("Compile first: the simulation runs the compiled circuit.")
            return
        job = jobs.simulate_job(experiment.metrics, self.session.dataset, compiled)
        task = self._start("FHE simulation", job, self._on_simulation_message, self._on_simulated,
                           on_cancel=lambda: self.results_panel.simulation_progress(0, 1, ""))
        if task is not None:
            self.results_dock.raise_()
            self.results_panel.show_boundaries(None, None)
            self._set_status("FHE simulation of every test point\u2026")

    def _on_simulation_message(self, message) -> None:
        if isinstance(message, jobs.Progress):
            self.results_panel.simulation_progress(message.done, message.total, message.text)
            self._set_status(f"{message.text}: {message.done} of {message.total} \u00b7 {fmt_eta(message.eta_s)}")
        elif isinstance(message, jobs.SimulationOutcome):
            self.session.experiment.metrics = message.metrics
            self.results_panel.show_metrics(message.metrics)

    def _on_simulated(self, outcome: jobs.SimulationOutcome) -> None:
        experiment = self.session.experiment
        experiment.metrics = outcome.metrics
        self.session.clear_boundary, self.session.fhe_boundary = outcome.clear_boundary, outcome.fhe_boundary
        self.session.dirty = True
        self.results_panel.show_metrics(outcome.metrics)
        self.results_panel.show_boundaries(outcome.clear_boundary, outcome.fhe_boundary, outcome.circuit_inputs)
        bar = self.results_panel.simulate_progress
        bar.setValue(bar.maximum())
        m = outcome.metrics
        self._set_status(f"FHE simulation: {fmt_percent(m.fhe_simulated_accuracy)} accuracy, "
                         f"{fmt_percent(m.agreement_clear_simulated)} agreement with the clear model.")
        self._update_title()
        self.experimentUpdated.emit(self.session.experiment, "simulated")

    def start_encrypted(self, n_samples: int) -> None:
        compiled, experiment = self.session.compiled, self.session.experiment
        if compiled is None or experiment is None:
            self._set_status("Compile first: the encrypted run needs the circuit.")
            return
        n_samples = max(1, min(int(n_samples), len(self.session.dataset.x_test)))
        self._latencies = []
        job = jobs.encrypted_job(experiment.metrics, self.session.dataset, compiled, n_samples, self.session.keys)
        task = self._start("Encrypted run", job, self._on_encrypted_message, self._on_encrypted,
                           on_failure=lambda error: self.results_panel.encrypted_label.setText(
                               f"Failed: {error.message}"),
                           on_cancel=self._on_encrypted_cancelled)
        if task is None:
            return
        self.results_dock.raise_()
        self.results_panel.encrypted_progress.setRange(0, n_samples)
        self.results_panel.encrypted_progress.setValue(0)
        if self.session.keys is None:
            self.compile_panel.keygen_started()
            self.results_panel.encrypted_label.setText("Generating keys first (or loading them from the cache)\u2026")
        self._set_status(f"Encrypted run on {n_samples} test point(s)\u2026")

    def _on_encrypted_cancelled(self) -> None:
        """Only key generation raises Cancelled: a cancelled run itself returns what it finished."""
        self.compile_panel.keygen_finished(None, "Key generation cancelled.")
        self.results_panel.encrypted_label.setText("Cancelled while generating the keys: nothing ran.")

    def _on_encrypted_message(self, message) -> None:
        if isinstance(message, jobs.KeysReady):
            self._on_keys(message.keys)
        elif isinstance(message, jobs.SampleDone):
            if message.done:
                self._latencies.append(message.seconds)
            self.results_panel.encrypted_progress_update(message.done, message.total, self._latencies,
                                                         message.eta_s)
            self._set_status(f"Encrypted run: sample {message.done} of {message.total} \u00b7 "
                             f"{fmt_eta(message.eta_s)}")
        elif isinstance(message, jobs.Phase):
            self._set_status(message.text + "\u2026")

    def _on_encrypted(self, outcome: jobs.EncryptedOutcome) -> None:
        experiment = self.session.experiment
        experiment.metrics = outcome.metrics
        self.session.keys = outcome.keys
        self.session.latencies_s = outcome.latencies_s
        self.session.dirty = True
        self.results_panel.show_metrics(outcome.metrics)
        m = outcome.metrics
        done = m.fhe_executed_samples
        if outcome.cancelled:
            text = f"Cancelled after {done} sample(s); their figures are kept."
        else:
            text = f"Done: {done} sample(s) encrypted, run and decrypted."
        if done:
            text += (f" Accuracy {fmt_percent(m.fhe_executed_accuracy)}, agreement with the clear model "
                     f"{fmt_percent(m.agreement_clear_executed)}, median {fmt_seconds(m.fhe_latency_s)} per sample.")
        self.results_panel.encrypted_label.setText(
            text + ("\nLatency per sample: " + ", ".join(fmt_seconds(s) for s in outcome.latencies_s[-10:])
                    if outcome.latencies_s else ""))
        self._set_status(text)
        self._update_title()
        self.experimentUpdated.emit(self.session.experiment, "encrypted")

    # ------------------------------------------------------------ deployment
    def start_deploy(self, n_points: int) -> None:
        compiled, experiment = self.session.compiled, self.session.experiment
        if compiled is None or experiment is None:
            self._set_status("Compile first: the server runs the compiled circuit.")
            return
        points = self.session.dataset.x_test[: max(1, int(n_points))]
        folder = storage.cache_dir() / "deployments" / compiled.key_id
        job = jobs.deploy_job(experiment, compiled, folder, self.deploy_panel.server, points)
        task = self._start("Deployment", job, self._on_deploy_message, self._on_deployed,
                           on_failure=lambda error: self.deploy_panel.failed(f"Failed: {error.message}"),
                           on_cancel=lambda: self.deploy_panel.failed("Cancelled."))
        if task is not None:
            self.deploy_dock.raise_()
            self.deploy_panel.started(len(points))
            self._set_status(f"Sending {len(points)} test point(s) through a local server\u2026")

    def _on_deploy_message(self, message) -> None:
        if isinstance(message, jobs.Phase):
            self.deploy_panel.show_phase(message.text)
            self._set_status(message.text + "\u2026")
        elif isinstance(message, jobs.DeployedSample):
            self.deploy_panel.add_sample(message)

    def _on_deployed(self, outcome: jobs.DeployOutcome) -> None:
        self.deploy_panel.finished(outcome)
        agree = sum(p.label == c for p, c in zip(outcome.predictions, outcome.clear_labels))
        self._set_status(f"{len(outcome.predictions)} point(s) classified encrypted by {outcome.url}; "
                         f"{agree} agree with the clear model.")

    def deploy_export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export for deployment into a folder", self._dialog_dir())
        if folder:
            self.export_for_deployment(Path(folder))

    def export_for_deployment(self, folder: Path) -> Optional[Task]:
        experiment = self.session.experiment
        if experiment is None or experiment.integer_model is None:
            self._set_status("Train a model (or open an experiment) before exporting it.")
            return None
        source = self.session.path.name if self.session.path else ""
        job = jobs.export_job(experiment, self.session.compiled, Path(folder), source)
        return self._start("Exporting", job, self._on_phase,
                           lambda path: self._set_status(f"Exported for deployment to {Path(path).parent}: "
                                                         f"serve it with 'qatstudio serve {Path(path).parent}'."))

    # ------------------------------------------------------------ files
    def _dialog_dir(self) -> str:
        return str(self.settings.value("last_dir", str(Path.home())))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment", self._dialog_dir(), FILE_FILTER)
        if path:
            self.open_experiment(Path(path))

    def open_experiment(self, path: Path) -> Optional[Task]:
        path = Path(path)
        self.settings.setValue("last_dir", str(path.parent))
        task = self._start("Opening", jobs.open_job(path), self._on_phase, self._on_opened)
        return task

    def _on_opened(self, opened: jobs.OpenedExperiment) -> None:
        experiment = opened.experiment
        self.session = jobs.Session(experiment=experiment, dataset=opened.dataset,
                                    test_predictions=opened.test_predictions, path=opened.path)
        self.config_panel.set_config(experiment.config)
        self.plots.load(experiment.step_losses, experiment.history, opened.dataset.x_test,
                        opened.dataset.y_test, opened.test_predictions, opened.dataset.ceiling_accuracy)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        epochs = len(experiment.history)
        self.eta_label.setText(f"Opened: {epochs} of {experiment.config.epochs} epochs trained"
                               f"{' (stopped early)' if experiment.cancelled else ''}.")
        self.results_panel.set_test_count(len(opened.dataset.x_test))
        self.results_panel.show_metrics(experiment.metrics)
        self.results_panel.show_boundaries(None, None)
        self.results_panel.encrypted_label.setText("Compile again to run FHE: circuits and keys are not saved.")
        self.compile_panel.keygen_finished(None)
        if experiment.stats is not None:
            self.compile_panel.show_report(experiment.stats, note="as saved")
            self.compile_panel.status.setText("Compile report as saved; compile again to simulate or run encrypted.")
        elif experiment.integer_model is not None:
            self._show_estimate(experiment)
        else:
            self.compile_panel.show_report(None)
        self.recent_menu.add(opened.path)
        self._set_status(f"Opened {opened.path.name}.")
        self._update_title()
        self.experimentUpdated.emit(self.session.experiment, "opened")

    def _dropped_files(self, event) -> list[Path]:
        """The local files in a drag that the window can open (see ``openers``)."""
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        paths = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
        return [path for path in paths if path.suffix.lower() in self.openers]

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
        self.openers[files[0].suffix.lower()](files[0])
        if len(files) > 1:
            self._set_status(f"Opening {files[0].name}: one file at a time, the other {len(files) - 1} were left.")

    def save(self) -> Optional[Path]:
        if self.session.path is not None:
            return self.save_experiment_to(self.session.path)
        return self.save_as_dialog()

    def save_as_dialog(self) -> Optional[Path]:
        if self.session.experiment is None:
            return None
        config = self.session.experiment.config
        name = f"{config.kind}-{config.n_hidden}n-{config.bits}b" + (
            f"-budget{config.pruning_budget}" if config.pruning_budget else "") + SUFFIX
        path, _ = QFileDialog.getSaveFileName(self, "Save experiment", str(Path(self._dialog_dir()) / name),
                                              FILE_FILTER)
        return self.save_experiment_to(Path(path)) if path else None

    def save_experiment_to(self, path: Path) -> Optional[Path]:
        experiment = self.session.experiment
        if experiment is None:
            self._set_status("Nothing to save yet: train a model first.")
            return None
        path = Path(path)
        if path.suffix != SUFFIX:
            path = path.with_name(path.name + SUFFIX)
        try:
            save_experiment(path, experiment)
        except (OSError, ValueError, RuntimeError) as error:
            self.show_error("Can't save the experiment", f"{path}: {error}")
            return None
        self.session.path = path
        self.session.dirty = False
        self.settings.setValue("last_dir", str(path.parent))
        self.recent_menu.add(path)
        self._set_status(f"Saved {path}.")
        self._update_title()
        return path

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plots as PNG",
                                              str(Path(self._dialog_dir()) / "qatstudio-plots.png"),
                                              "PNG images (*.png)")
        if path:
            self.export_plots(Path(path))

    def export_plots(self, path: Path) -> list[Path]:
        """The training plots to ``path``; the compile chart and the boundaries beside it when shown."""
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_name(path.name + ".png")
        written = []
        try:
            written.append(self.plots.export_png(path))
            if self.compile_panel.displayed_accumulator_bits() is not None:
                target = path.with_name(f"{path.stem}-compile.png")
                self.compile_panel.chart.grab().save(str(target), "PNG")
                written.append(target)
            if self.results_panel.has_fhe_boundary():
                target = path.with_name(f"{path.stem}-boundaries.png")
                self.results_panel.boundaries.grab().save(str(target), "PNG")
                written.append(target)
        except OSError as error:
            self.show_error("Can't export the plots", str(error))
        self.settings.setValue("last_dir", str(path.parent))
        self._set_status("Exported " + ", ".join(p.name for p in written) + f" to {path.parent}.")
        return written

    def _update_title(self) -> None:
        name = self.session.path.name if self.session.path else "untitled"
        self.setWindowTitle(f"{name}[*] \u2014 QAT Studio")
        self.setWindowModified(self.session.dirty and self.session.experiment is not None)

    # ------------------------------------------------------------ settings and shutdown
    def _restore_settings(self) -> None:
        raw = self.settings.value("config")
        if raw:
            try:
                config = ExperimentConfig.from_dict(json.loads(str(raw)))
                self.config_panel.set_config(config)
            except (ValueError, TypeError, ConfigError) as error:
                log.warning("ignoring the saved configuration: %s", error)
        geometry = self.settings.value("geometry")
        if isinstance(geometry, (QByteArray, bytes)) and geometry:
            self.restoreGeometry(QByteArray(geometry))
        state = self.settings.value("windowState")
        if isinstance(state, (QByteArray, bytes)) and state:
            self._layout_restored = self.restoreState(QByteArray(state))
        samples = self.settings.value("encrypted_samples")
        if samples is not None:
            try:
                self.results_panel.samples.setValue(int(samples))
            except (TypeError, ValueError):
                pass
        self._update_title()

    def save_settings(self) -> None:
        self.settings.setValue("config", json.dumps(self.config_panel.config().to_dict()))
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        self.settings.setValue("encrypted_samples", self.results_panel.samples.value())
        self.settings.sync()

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything; with ``wait`` block until every worker thread has stopped."""
        self._closing = True
        self.runner.cancel_all()
        if wait:
            self.runner.wait_all()
            self.deploy_panel.server.stop()
        self.plots.stop_live()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            if not self._layout_restored:
                QTimer.singleShot(0, self._default_layout)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing:
            self.save_settings()
        if self.runner.is_busy():
            # Stop the work first and close when the last worker has finished (see _finished):
            # never leave a thread running behind a destroyed window.
            names = ", ".join(task.name.lower() for task in self.runner.tasks)
            self._closing = True
            self.runner.cancel_all()
            self._update_actions()
            self._set_status(f"Stopping {names} before closing\u2026")
            event.ignore()
            return
        self._tick.stop()
        self.plots.stop_live()
        self.deploy_panel.server.stop()
        self.release()
        event.accept()

    def release(self) -> None:
        """Drop the models and the compiled circuit now, while Qt and Concrete are both alive:
        freeing a circuit during interpreter shutdown can crash."""
        self.session = jobs.Session()
        gc.collect()
