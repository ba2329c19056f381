"""Small shared widgets and formatting for the window."""
from __future__ import annotations

import math
from typing import Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from ..core.evaluate import fmt_percent, fmt_seconds

# One-sentence explanations, shared by every place that shows these settings.
TIP_BITS = ("Bit-width: how many bits every weight and activation keeps after quantization; "
            "fewer bits give a narrower accumulator and faster FHE, at the cost of a coarser model.")
TIP_BUDGET = ("Pruning budget: the most non-zero inputs each neuron may keep (off = dense); "
              "fewer inputs per neuron keep the accumulator narrow.")
TIP_ACCUMULATOR = ("Accumulator: the widest integer the circuit computes (a neuron's weighted sum of "
                   "its inputs); Concrete can look up at most 16 bits, and narrower runs faster.")
TIP_CEILING = ("Ceiling: the best accuracy any classifier can reach on these test points; the jitter moves "
               "some points across a band edge after they were labelled.")


def fmt_bytes(size: Optional[int]) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def fmt_eta(seconds: Optional[float]) -> str:
    return "ETA -" if seconds is None or not math.isfinite(seconds) else f"ETA {fmt_seconds(seconds)}"


__all__ = ["fmt_percent", "fmt_seconds", "fmt_bytes", "fmt_eta", "MessageBanner"]


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
