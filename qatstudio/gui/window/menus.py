"""The window's menu bar, toolbar and presets menu, made from its actions."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar, QToolButton

from ... import __version__
from ...services.presets import data_presets, guide_presets
from .recent_files import RecentFilesMenu


def presets_button(window: QMainWindow, apply: Callable[[object], None]) -> tuple[QToolButton, QMenu]:
    """The guide's configurations and data sets (``Preset``, ``DataPreset``), grouped, as a menu and a
    button that opens it; choosing one calls ``apply`` with it."""
    menu = QMenu("&Presets", window)
    group = None
    for preset in guide_presets() + data_presets():
        if preset.group != group:
            group = preset.group
            menu.addSection(group)
        action = menu.addAction(preset.title)
        action.setToolTip(preset.group)
        action.triggered.connect(lambda checked=False, p=preset: apply(p))
    button = QToolButton()
    button.setText("Guide presets")
    button.setToolTip("The configurations of the step-by-step guide's tables, on the guide's data; and the data "
                      "sets to train them on.")
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    button.setMenu(menu)
    return button, menu


def build_menus(window) -> tuple[QMenu, RecentFilesMenu, QToolBar]:
    """File, Presets, Run, View and Help menus and the Run toolbar of ``window`` (a MainWindow with
    its actions, docks and presets menu made); returns the Help menu, Open Recent and the toolbar."""
    w = window
    bar = w.menuBar()
    file = bar.addMenu("&File")
    file.addAction(w.open_action)
    recent = RecentFilesMenu(w.settings, w)
    file.addMenu(recent)
    file.addActions([w.save_action, w.save_as_action])
    file.addSeparator()
    file.addAction(w.import_action)
    file.addSeparator()
    file.addActions([w.export_action, w.deploy_export_action])
    file.addSeparator()
    file.addAction(w.quit_action)
    bar.addMenu(w.presets_menu)
    training = [w.train_action, w.pause_action, w.stop_action]
    fhe = [w.compile_action, w.keygen_action, w.simulate_action, w.encrypted_action]
    run = bar.addMenu("&Run")
    run.addActions(training)
    run.addSeparator()
    run.addActions(fhe)
    run.addSeparator()
    run.addAction(w.optimize_action)
    view = bar.addMenu("&View")
    view.setObjectName("viewMenu")  # the demo adds its docks (History, Story, Trade-offs) to it
    for dock in (w.configure_dock, w.compile_dock, w.results_dock, w.deploy_dock):
        view.addAction(dock.toggleViewAction())
    help_menu = bar.addMenu("&Help")
    help_menu.addActions([w.tour_action, w.shortcuts_action])
    help_menu.addSeparator()
    about = help_menu.addAction("About QAT Studio")
    about.triggered.connect(lambda: w.notify(
        f"QAT Studio {__version__}", "train quantization-aware MLPs, compile them to FHE with Concrete, and "
        "compare clear and encrypted accuracy."))

    toolbar = QToolBar("Run")
    toolbar.setObjectName("runToolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toolbar.setMovable(False)
    toolbar.addActions(training)
    toolbar.addSeparator()
    toolbar.addActions(fhe)
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    return help_menu, recent, toolbar
