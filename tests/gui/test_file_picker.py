"""The file pickers open large enough to read: the size, type and date columns whole."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QTreeView

from qatstudio.gui.window.file_picker import PICKER_SIZE, Pick, choose_path, file_dialog
from qatstudio.services import paths


def test_the_columns_of_the_import_picker_read_whole(qtbot):
    examples = paths.examples_dir()
    dialog = file_dialog(None, "Import data", str(examples), "CSV files (*.csv *.txt)")
    qtbot.addWidget(dialog)
    dialog.show()
    files = dialog.findChild(QTreeView, "treeView")
    model = files.model()
    qtbot.waitUntil(lambda: model.rowCount(files.rootIndex()) >= 2, timeout=5_000)  # the shipped tables
    assert (dialog.width(), dialog.height()) == PICKER_SIZE
    header = files.header()
    for column in range(1, header.count()):  # size, type, date: as wide as what they show
        widest = max(files.sizeHintForColumn(column), header.sectionSizeHint(column))
        assert header.sectionSize(column) >= widest
    assert header.sectionSize(0) > header.sectionSize(1)  # the names take the rest


def test_a_picked_path_comes_back_and_a_cancel_gives_none(qtbot, tmp_path):
    target = tmp_path / "report.html"

    def answer(accept: bool):
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, QFileDialog) and dialog.acceptMode() == QFileDialog.AcceptMode.AcceptSave
        if accept:
            dialog.accept()  # the suggested name
        else:
            dialog.reject()

    QTimer.singleShot(200, lambda: answer(True))
    assert choose_path(None, "Export report", str(target), "HTML report (*.html)", Pick.SAVE) == target
    QTimer.singleShot(200, lambda: answer(False))
    assert choose_path(None, "Export report", str(tmp_path), "", Pick.SAVE) is None
    assert not Path(target).exists()  # picking writes nothing
