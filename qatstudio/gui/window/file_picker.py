"""The window's file pickers: Qt's file dialog, opened large enough that its columns (size, type,
date) and its sidebar's places read whole where Qt draws the dialog itself (no native one)."""
from __future__ import annotations

import enum
from pathlib import Path
from typing import Optional

from PySide6.QtWidgets import QFileDialog, QHeaderView, QListView, QSplitter, QTreeView, QWidget

PICKER_SIZE = (900, 540)  # at most: a dialog never outgrows 90% of its screen
SIDEBAR_WIDTH = 190


class Pick(enum.Enum):
    OPEN = enum.auto()  # an existing file
    SAVE = enum.auto()  # a file to write (Qt asks before overwriting one)
    FOLDER = enum.auto()  # an existing folder


def file_dialog(parent: Optional[QWidget], title: str, start: str, name_filter: str = "",
                pick: Pick = Pick.OPEN) -> QFileDialog:
    """A file dialog for ``pick``, starting at ``start`` (a folder, or a file name to suggest)."""
    dialog = QFileDialog(parent, title, start, name_filter)
    if pick is Pick.SAVE:
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    elif pick is Pick.FOLDER:
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly)
    else:
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    width, height = PICKER_SIZE
    screen = (parent.screen() if parent is not None else dialog.screen()).availableGeometry()
    dialog.resize(min(width, int(screen.width() * 0.9)), min(height, int(screen.height() * 0.9)))
    files = dialog.findChild(QTreeView, "treeView")  # Qt's own dialog only; a native one sizes itself
    if files is not None:
        header = files.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, header.count()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    splitter, places = dialog.findChild(QSplitter, "splitter"), dialog.findChild(QListView, "sidebar")
    if splitter is not None and places is not None:
        splitter.setSizes([SIDEBAR_WIDTH, dialog.width() - SIDEBAR_WIDTH])
    return dialog


def choose_path(parent: Optional[QWidget], title: str, start: str, name_filter: str = "",
                pick: Pick = Pick.OPEN) -> Optional[Path]:
    """Ask for a path (see ``file_dialog``); None when the user cancels."""
    dialog = file_dialog(parent, title, start, name_filter, pick)
    try:
        if dialog.exec() != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
            return None
        return Path(dialog.selectedFiles()[0])
    finally:
        dialog.deleteLater()
