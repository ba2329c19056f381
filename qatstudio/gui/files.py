"""The window's file dialogs: open, save, save as, export the plots, export for deployment. Each
asks for a path and hands it to the controller, which does the work and says how it went."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QWidget

from ..services.experiment_file import SUFFIX
from .controller import Controller

FILE_FILTER = f"QAT Studio experiments (*{SUFFIX})"


class FileDialogs:
    def __init__(self, parent: QWidget, controller: Controller, settings: QSettings):
        self.parent, self.controller, self.settings = parent, controller, settings

    def folder(self) -> str:
        """Where the dialogs start: the folder of the last file used."""
        return str(self.settings.value("last_dir", str(Path.home())))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open experiment", self.folder(), FILE_FILTER)
        if path:
            self.controller.open_experiment(Path(path))

    def save(self) -> Optional[Path]:
        if self.controller.session.path is not None:
            return self.controller.save_experiment_to(self.controller.session.path)
        return self.save_as_dialog()

    def save_as_dialog(self) -> Optional[Path]:
        experiment = self.controller.session.experiment
        if experiment is None:
            return None
        config = experiment.config
        name = f"{config.kind}-{config.n_hidden}n-{config.bits}b" + (
            f"-budget{config.pruning_budget}" if config.pruning_budget else "") + SUFFIX
        path, _ = QFileDialog.getSaveFileName(self.parent, "Save experiment", str(Path(self.folder()) / name),
                                              FILE_FILTER)
        return self.controller.save_experiment_to(Path(path)) if path else None

    def export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export plots as PNG",
                                              str(Path(self.folder()) / "qatstudio-plots.png"), "PNG images (*.png)")
        if path:
            self.controller.export_plots(Path(path))

    def deploy_export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.parent, "Export for deployment into a folder", self.folder())
        if folder:
            self.controller.export_for_deployment(Path(folder))
