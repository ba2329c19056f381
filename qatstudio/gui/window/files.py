"""The window's file dialogs: open, save, save as, import data, export the plots, export for
deployment. Each asks for a path (and what else it needs) and hands it to a presenter, which does
the work and says how it went."""
from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, QStandardPaths, Qt
from PySide6.QtGui import QBrush, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...engine.config import MAX_FEATURES, MAX_TEST_FRACTION, MIN_TEST_FRACTION, DataConfig
from ...services import paths, tabular
from ...services.experiment_file import SUFFIX
from ...services.formatting import config_look, plural
from ...services.session import Session
from ..presenters import Presenters
from ..presenters.files import MissingRows
from .file_picker import Pick, choose_path

FILE_FILTER = f"QAT Studio experiments (*{SUFFIX})"
DATA_FILTER = "CSV files (*.csv *.txt);;All files (*)"
MISSING_SHOWN = 5  # places of missing values named before "and N more"
MIN_WIDTH, MAX_WIDTH = 520, 1000  # the import dialog's width: at least, and at most for its rows
TITLE_BAR_ROOM = 160  # the window manager's title bar: its buttons and margins beside the title
TABLE_FRAME = 60  # the rows table's row numbers, frame and the dialog's margins
LABEL_SHADE = 50  # opacity (of 255) of the highlight colour over the label column's cells


def documents_folder() -> Path:
    """The user's documents folder (the desktop's own), else the home folder."""
    folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or Path.home())
    return folder if folder.is_dir() else Path.home()


class ImportDialog(QDialog):
    """What to import from a table's columns: its first rows as they are written, the label column
    (the others are the features; its column is marked in the rows) and the share of each class held
    out for testing."""

    def __init__(self, name: str, peek: tabular.Peek, label: str, parent: Optional[QWidget] = None):
        super().__init__(parent)
        columns = peek.columns
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
        self.rows = self._rows_table(peek)
        shown = (f"The first {plural(len(peek.rows), 'row')} of <b>{escape(name, False)}</b>, as written:" if peek.rows
                 else escape(peek.problem, False) or f"{escape(name, False)} has no rows after its header line.")
        self.rows_caption = QLabel(shown)
        self.rows_caption.setTextFormat(Qt.TextFormat.RichText)
        self.rows_caption.setWordWrap(True)
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
        layout.addWidget(self.rows_caption)
        layout.addWidget(self.rows)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.label.currentIndexChanged.connect(self._mark_label)
        self._mark_label()
        # wide enough for its title in the window manager's bar (with the bar's buttons) and its rows
        title = self.fontMetrics().horizontalAdvance(self.windowTitle())
        self.setMinimumWidth(max(MIN_WIDTH, title + TITLE_BAR_ROOM))
        self.resize(min(self.rows.horizontalHeader().length() + TABLE_FRAME, MAX_WIDTH), self.sizeHint().height())

    def _rows_table(self, peek: tabular.Peek) -> QTableWidget:
        table = QTableWidget(len(peek.rows), len(peek.columns))
        table.setObjectName("importRows")
        table.setHorizontalHeaderLabels(peek.columns)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        table.setWordWrap(False)
        for row, cells in enumerate(peek.rows):
            for column, cell in enumerate(cells):
                item = QTableWidgetItem(cell)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                table.setItem(row, column, item)
        table.resizeColumnsToContents()
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
        rows = max(len(peek.rows), 1)
        height = table.horizontalHeader().sizeHint().height() + rows * table.verticalHeader().defaultSectionSize()
        if table.horizontalHeader().length() + TABLE_FRAME > MAX_WIDTH:  # more columns than fit: a scroll bar
            height += table.horizontalScrollBar().sizeHint().height()
        table.setFixedHeight(height + 2 * table.frameWidth())
        return table

    def _mark_label(self) -> None:
        """The label column's header in bold, its cells shaded: it is not a feature."""
        chosen = self.label.currentIndex()
        shade = self.palette().color(QPalette.ColorRole.Highlight)
        shade.setAlpha(LABEL_SHADE)
        for column in range(self.rows.columnCount()):
            header = self.rows.horizontalHeaderItem(column)
            font = header.font()
            font.setBold(column == chosen)
            header.setFont(font)
            header.setToolTip("the label column" if column == chosen else "a feature")
            for row in range(self.rows.rowCount()):
                item = self.rows.item(row, column)
                if item is not None:
                    item.setBackground(shade if column == chosen else QBrush())
        self.rows.resizeColumnToContents(chosen)

    def label_column(self) -> str:
        return self.label.currentText()

    def test_fraction(self) -> float:
        return round(self.test_share.value() / 100, 4)

    def shown_rows(self) -> list[list[str]]:
        """The cells the preview shows (tests)."""
        return [[self.rows.item(row, column).text() for column in range(self.rows.columnCount())]
                for row in range(self.rows.rowCount())]


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
    def __init__(self, parent: QWidget, presenters: Presenters, session: Session, settings: QSettings):
        self.parent, self.settings = parent, settings
        self.work, self.deploy, self.session = presenters.files, presenters.deploy, session
        self.import_settings: Optional[ImportDialog] = None  # open while the user chooses (tests read it)
        self.missing_question: Optional[QMessageBox] = None
        self.unsaved_question: Optional[QMessageBox] = None  # open while it asks (tests answer it)

    def folder(self, key: str = "last_dir") -> str:
        """Where a dialog starts: the folder remembered under ``key`` (default: of the last file used),
        never the app's own resources (where the story's runs are), else the user's documents."""
        return str(paths.start_folder(self.settings.value(key), documents_folder()))

    def import_folder(self) -> str:
        """Where Import data starts: the folder of the last data imported, else the shipped examples."""
        remembered = self.settings.value("last_import_dir")
        if remembered and Path(str(remembered)).is_dir():
            return str(remembered)
        examples = paths.examples_dir()
        return str(examples) if examples.is_dir() else self.folder()

    def open_dialog(self) -> None:
        path = choose_path(self.parent, "Open experiment", self.folder(), FILE_FILTER)
        if path:
            self.work.open_experiment(path)

    def import_dialog(self) -> None:
        path = choose_path(self.parent, "Import data", self.import_folder(), DATA_FILTER)
        if path:
            self.import_file(path)

    def import_file(self, path: Path) -> None:
        """Ask which column of ``path`` holds the classes and how much to hold out, then import it."""
        path = Path(path)
        self.settings.setValue("last_import_dir", str(path.parent))
        try:
            peek = tabular.peek_table(path)
        except (tabular.TableError, OSError) as error:
            self.work.import_refused(path, str(error))
            return
        dialog = ImportDialog(path.name, peek, tabular.suggest_label(peek.columns), self.parent)
        dialog.accepted.connect(
            lambda: self.work.import_table(path, dialog.label_column(), dialog.test_fraction()))
        dialog.finished.connect(dialog.deleteLater)
        self.import_settings = dialog
        dialog.open()

    def offer_without_missing(self, missing: MissingRows) -> None:
        """Rows with missing values stopped an import: offer to import the file without them."""
        box = QMessageBox(QMessageBox.Icon.Question, "Missing values", missing_text(missing),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self.parent)
        box.button(QMessageBox.StandardButton.Yes).setText("Leave those rows out")
        box.accepted.connect(lambda: self.work.import_table(missing.path, missing.label_column,
                                                                  missing.test_fraction, drop_missing=True))
        box.finished.connect(box.deleteLater)
        self.missing_question = box
        box.open()

    def may_discard(self) -> bool:
        """Before closing: a run with results not saved in a file asks whether to save it. True to
        go on closing (saved, or discarded), False to keep the window open."""
        session = self.session
        if session.run.experiment is None or not session.dirty:
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
        if self.session.path is not None:
            return self.work.save_experiment_to(self.session.path)
        return self.save_as_dialog()

    def save_as_dialog(self) -> Optional[Path]:
        experiment = self.session.run.experiment
        if experiment is None:
            return None
        config = experiment.config
        name = f"{config_look(config).short.lower()}-{config.n_hidden}n-{config.bits}b" + (
            f"-budget{config.pruning_budget}" if config.pruning_budget else "") + SUFFIX
        path = choose_path(self.parent, "Save experiment", str(Path(self.folder()) / name), FILE_FILTER, Pick.SAVE)
        return self.work.save_experiment_to(path) if path else None

    def export_dialog(self) -> None:
        path = choose_path(self.parent, "Export plots as PNG", str(Path(self.folder()) / "qatstudio-plots.png"),
                           "PNG images (*.png)", Pick.SAVE)
        if path:
            self.work.export_plots(path)

    def deploy_export_dialog(self) -> None:
        folder = choose_path(self.parent, "Export for deployment into a folder", self.folder(), pick=Pick.FOLDER)
        if folder:
            self.deploy.export(folder)
