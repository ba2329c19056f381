"""Small widgets the window's panels share."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget


class MessageBanner(QFrame):
    """An in-window message (error or notice) with a close button: never a modal dialog."""

    dismissed = Signal()

    STYLES = {
        "error": "background:#fdecea; border:1px solid #e0a8a2; border-radius:4px; color:#611a15;",
        "warning": "background:#fff4e5; border:1px solid #e8c48f; border-radius:4px; color:#663c00;",
        "info": "background:#e8f4fd; border:1px solid #9cc8ea; border-radius:4px; color:#0d3c61;",
    }

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.level = "info"
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight:bold; border:none; background:transparent;")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setStyleSheet("border:none; background:transparent;")
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        close = QToolButton()
        close.setText("\u2715")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss this message")
        close.clicked.connect(self.dismiss)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(self, title: str, text: str, level: str = "error", details: str = "") -> None:
        self.level = level
        self.setStyleSheet(f"#messageBanner {{{self.STYLES[level]}}}")
        self.title.setText(title + ":" if text else title)
        self.text.setText(text)
        self.setToolTip(details[-4000:] if details else "")
        self.show()

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()

    def message(self) -> str:
        return f"{self.title.text()} {self.text.text()}".strip() if not self.isHidden() else ""
