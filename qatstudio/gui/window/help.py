"""Help for a newcomer: the window's keyboard shortcuts, read from its actions, and a short tour."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

WIDTH = 760  # the shortcuts dialog's width: the longest description on one line
TOUR_WIDTH = 520
TITLE_BAR = 60  # room kept on the screen for the window manager's title bar and frame


def shortcut_text(action: QAction, every: bool = True) -> str:
    """An action's keys as the menus show them: 'Ctrl+T or F5', or its first only ('Ctrl+T');
    '' without a shortcut."""
    keys = [key.toString(QKeySequence.SequenceFormat.NativeText) for key in action.shortcuts()]
    return " or ".join(keys if every else keys[:1])


def action_name(action) -> str:
    """An action's text as a sentence shows it: no '&' mnemonic, no trailing ellipsis."""
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("\u2026")


def shortcut_rows(window: QWidget) -> list[tuple[str, str, str]]:
    """(action, keys, what it does) for every action of ``window`` that has keys, in the order
    they were added: the actions themselves are the list, so it can't disagree with them."""
    rows = []
    for action in window.actions():
        keys = shortcut_text(action)
        if keys:
            rows.append((action_name(action), keys, action.statusTip() or action.toolTip()))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget, parent: Optional[QWidget] = None):
        super().__init__(parent or window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts \u2014 QAT Studio")
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Action", "Keys", "What it does"])
        self.table.verticalHeader().hide()
        rows_fit = QHeaderView.ResizeMode.ResizeToContents  # each row as tall as its text at the columns' widths
        self.table.verticalHeader().setSectionResizeMode(rows_fit)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.buttons = buttons
        self.resize(WIDTH, 520)

    def showEvent(self, event) -> None:
        """Once its columns have their widths: tall enough for every row at once (no scrolling), as
        far as the screen allows."""
        super().showEvent(event)
        self.table.resizeRowsToContents()
        margins = self.layout().contentsMargins()
        rows = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        wanted = (rows + self.table.horizontalHeader().height() + 2 * self.table.frameWidth()
                  + self.buttons.sizeHint().height() + self.layout().spacing() + margins.top() + margins.bottom())
        self.resize(self.width(), min(wanted, self.screen().availableGeometry().height() - TITLE_BAR))

    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.table.item(r, c).text() for c in range(3)) for r in range(self.table.rowCount())]


def tour_pages(window) -> list[tuple[str, str]]:
    """The tour, page by page (title, text), naming the keys the actions of ``window`` (a MainWindow)
    have now."""
    def key(action) -> str:
        return shortcut_text(action, every=False)

    w = window
    return [
        ("Train a model",
         "Choose a configuration in <b>Configure</b> on the left, or start from one of the guide's presets. "
         f"Press <b>Train</b> ({key(w.train_action)}): the plots in the middle show the decision boundary, the "
         "loss and the accuracy while it learns. Pause and Stop keep what it has learned so far."),
        ("Compile it to FHE",
         f"<b>Compile</b> ({key(w.compile_action)}) turns the quantized model into a circuit that runs on "
         "encrypted numbers (Concrete). The Compile panel shows its widest integer, the accumulator, against "
         "the 16-bit limit: fewer bits, pruning and quantization-aware training keep it narrow."),
        ("Run it encrypted",
         f"<b>Simulate FHE</b> ({key(w.simulate_action)}) runs every test point through the circuit's "
         f"simulation; <b>Run encrypted</b> ({key(w.encrypted_action)}) encrypts, runs and decrypts a few for "
         "real. The Results panel compares the clear and the encrypted accuracy."),
        ("Deploy, compare, present",
         "<b>Deploy</b> sends test points to a local server that only ever sees ciphertexts. Every run is kept "
         "in the History; the <b>Demo</b> menu has the guided story, the trade-off chart and presentation mode. "
         "Help \u25b8 Keyboard shortcuts lists every key."),
    ]


class TourDialog(QDialog):
    """A few pages of text, with Back and Next."""

    def __init__(self, pages: list[tuple[str, str]], parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("tourDialog")
        self.setWindowTitle("Tour \u2014 QAT Studio")
        self.pages = pages
        self.page = 0
        self.title = QLabel()
        self.title.setObjectName("tourTitle")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.counter = QLabel()
        self.back_button = QPushButton("Back")
        self.next_button = QPushButton("Next")
        self.next_button.setDefault(True)
        close = QPushButton("Close")
        self.back_button.clicked.connect(lambda: self.show_page(self.page - 1))
        self.next_button.clicked.connect(lambda: self.show_page(self.page + 1))
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.counter, 1)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)
        layout.addLayout(buttons)
        self.resize(TOUR_WIDTH, 260)
        self.show_page(0)

    def showEvent(self, event) -> None:
        """Once the text has its width: as tall as the longest page, no taller (the buttons stay put
        from page to page)."""
        super().showEvent(event)
        heights = []
        for _, text in self.pages:
            self.text.setText(text)
            heights.append(self.text.heightForWidth(self.text.width()))
        self.text.setMinimumHeight(max(heights))
        self.show_page(self.page)
        self.resize(self.width(), self.heightForWidth(self.width()))

    def show_page(self, page: int) -> None:
        self.page = max(0, min(page, len(self.pages) - 1))
        title, text = self.pages[self.page]
        self.title.setText(f"<h3>{title}</h3>")
        self.text.setText(text)
        self.counter.setText(f"{self.page + 1} of {len(self.pages)}")
        self.back_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(self.page < len(self.pages) - 1)
