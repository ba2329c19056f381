"""The window's file dialogs: open, save, save as, import data, export the plots, export for
deployment. Each asks for a path (and what else it needs) and hands it to the controller, which does
the work and says how it went."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from ...engine.config import MAX_FEATURES, MAX_TEST_FRACTION, MIN_TEST_FRACTION, DataConfig
from ...services import tabular
from ...services.experiment_file import SUFFIX
from ...services.formatting import plural
from .controller import Controller, MissingRows

FILE_FILTER = f"QAT Studio experiments (*{SUFFIX})"
DATA_FILTER = "CSV files (*.csv *.txt);;All files (*)"
MISSING_SHOWN = 5  # places of missing values named before "and N more"


class ImportDialog(QDialog):
    """What to import from a table's columns: the label column (the others are the features) and
    the share of each class held out for testing."""

    def __init__(self, name: str, columns: list[str], label: str, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("importDialog")
        self.setWindowTitle(f"Import {name}")
        self.label = QComboBox()
        self.label.addItems(columns)
        self.label.setCurrentIndex(columns.index(label))
        self.label.setToolTip("The column that holds each row's class (2 to 10 classes, numbers or words).")
        self.test_share = QDoubleSpinBox()
        self.test_share.setRange(100 * MIN_TEST_FRACTION, 100 * MAX_TEST_FRACTION)
        self.test_share.setDecimals(0)
        self.test_share.setSingleStep(5)
        self.test_share.setSuffix(" %")
        self.test_share.setValue(100 * DataConfig.test_fraction)
        self.test_share.setToolTip("Share of each class held out for testing.")
        note = QLabel(f"The other {plural(len(columns) - 1, 'column')} are the features: numbers only, 1 to "
                      f"{MAX_FEATURES} of them. Features are scaled to [0, 1] from the training rows.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Label column", self.label)
        form.addRow("Test share", self.test_share)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def label_column(self) -> str:
        return self.label.currentText()

    def test_fraction(self) -> float:
        return round(self.test_share.value() / 100, 4)


def missing_text(missing: MissingRows) -> str:
    """How many values are missing and where, and the offer to leave their rows out."""
    error = missing.error
    shown = error.where[:MISSING_SHOWN]
    where = "; ".join(f"line {line}, column '{column}'" for line, column in shown)
    more = f"; and {error.count - len(shown):,} more" if error.count > len(shown) else ""
    rows = error.rows
    return (f"{missing.path.name} has {plural(error.count, 'missing value')} in {plural(rows, 'row')}: "
            f"{where}{more}.\n\nImport it without {'that row' if rows == 1 else f'those {rows:,} rows'}?")


class FileDialogs:
    def __init__(self, parent: QWidget, controller: Controller, settings: QSettings):
        self.parent, self.controller, self.settings = parent, controller, settings
        self.import_settings: Optional[ImportDialog] = None  # open while the user chooses (tests read it)
        self.missing_question: Optional[QMessageBox] = None
        self.unsaved_question: Optional[QMessageBox] = None  # open while it asks (tests answer it)

    def folder(self) -> str:
        """Where the dialogs start: the folder of the last file used."""
        return str(self.settings.value("last_dir", str(Path.home())))

    def import_folder(self) -> str:
        """Where Import data starts: the folder of the last data imported (else of the last file used)."""
        return str(self.settings.value("last_import_dir", self.folder()))

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open experiment", self.folder(), FILE_FILTER)
        if path:
            self.controller.open_experiment(Path(path))

    def import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Import data", self.import_folder(), DATA_FILTER)
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> None:
        """Ask which column of ``path`` holds the classes and how much to hold out, then import it."""
        path = Path(path)
        self.settings.setValue("last_import_dir", str(path.parent))
        try:
            columns = tabular.peek_columns(path)
        except (tabular.TableError, OSError) as error:
            self.controller.import_refused(path, str(error))
            return
        dialog = ImportDialog(path.name, columns, tabular.suggest_label(columns), self.parent)
        dialog.accepted.connect(
            lambda: self.controller.import_table(path, dialog.label_column(), dialog.test_fraction()))
        dialog.finished.connect(dialog.deleteLater)
        self.import_settings = dialog
        dialog.open()

    def offer_without_missing(self, missing: MissingRows) -> None:
        """Rows with missing values stopped an import: offer to import the file without them."""
        box = QMessageBox(QMessageBox.Icon.Question, "Missing values", missing_text(missing),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self.parent)
        box.button(QMessageBox.StandardButton.Yes).setText("Leave those rows out")
        box.accepted.connect(lambda: self.controller.import_table(missing.path, missing.label_column,
                                                                  missing.test_fraction, drop_missing=True))
        box.finished.connect(box.deleteLater)
        self.missing_question = box
        box.open()

    def may_discard(self) -> bool:
        """Before closing: a run with results not saved in a file asks whether to save it. True to
        go on closing (saved, or discarded), False to keep the window open."""
        session = self.controller.session
        if session.experiment is None or not session.dirty:
            return True
        buttons = QMessageBox.StandardButton
        box = QMessageBox(QMessageBox.Icon.Question, "Save the run?",
                          "The run shown has results that are not saved in a file. Save them before closing?",
                          buttons.Save | buttons.Discard | buttons.Cancel, self.parent)
        box.setDefaultButton(buttons.Save)
        self.unsaved_question = box
        try:
            answer = box.exec()
        finally:
            self.unsaved_question = None
            box.deleteLater()
        if answer == buttons.Save:
            return self.save() is not None
        return answer == buttons.Discard

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
