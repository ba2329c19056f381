"""Small widgets of the window: the message banner, and the Train / Pause / Stop controls."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..engine.config import ExperimentConfig
from ..services.formatting import ERROR_COLOR, MUTED_COLOR, run_name
from .state import Enabled

QWIDGETSIZE_MAX = (1 << 24) - 1  # Qt's "no limit" for a widget's width or height
MUTED_STYLE = f"color:{MUTED_COLOR};"  # secondary text: hints, notes
ERROR_BOX = "background:#fdecea; border:1px solid #e0a8a2; border-radius:4px;"  # behind an error in words
PROBLEMS_STYLE = f"{ERROR_BOX} color:{ERROR_COLOR}; padding:4px;"  # what to change before going on
# The run's progress bar and its text change at most this often: each change of the bar repaints it
# at once (QProgressBar.setValue), each new text lays the dock out again.
PROGRESS_REFRESH_MS = 250


class MessageBanner(QFrame):
    """An in-window message (error or notice) with a close button: never a modal dialog."""

    STYLES = {
        "error": f"{ERROR_BOX} color:#611a15;",
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
        close.clicked.connect(self.hide)
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

    def message(self) -> str:
        return f"{self.title.text()} {self.text.text()}".strip() if not self.isHidden() else ""


class OutdatedNote(QLabel):
    """Above the plots: what they, Compile and Results show is a run of another configuration than
    the one Configure shows (a new data set, a preset), until it is trained."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("outdatedNote")
        self.setWordWrap(True)
        self.setStyleSheet(f"#outdatedNote {{{MessageBanner.STYLES['warning']} padding:4px 8px;}}")
        self.hide()

    def compare(self, shown: Optional[ExperimentConfig], configured: ExperimentConfig, train_keys: str) -> None:
        """Shown when the run shown (its configuration ``shown``; None: no run) is not of ``configured``;
        ``train_keys``: the keys of Train."""
        outdated = shown is not None and configured != shown
        if outdated:
            self.setText(f"Out of date: the plots, Compile and Results show the last run, {run_name(shown)}. "
                         f"Press Train ({train_keys}) to train what Configure shows.")
        self.setVisible(outdated)


class TrainControls(QWidget):
    """Train, Pause and Stop under the configuration, with the run's progress and ETA in words.

    The buttons trigger the window's actions and take their tool tips and icons from them. The
    progress and its text, told as often as the run reports, are shown at most every
    ``PROGRESS_REFRESH_MS`` (the latest of them); ``reset`` and ``finish`` show theirs at once."""

    def __init__(self, train: QAction, pause: QAction, stop: QAction, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.setDefault(True)
        self.train_button.setStyleSheet("QPushButton:enabled { font-weight: bold; }")
        self.train_button.clicked.connect(train.trigger)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(pause.setChecked)
        pause.toggled.connect(self.pause_button.setChecked)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(stop.trigger)
        for button, action in ((self.train_button, train), (self.pause_button, pause), (self.stop_button, stop)):
            button.setIcon(action.icon())
            button.setToolTip(action.toolTip())
            action.changed.connect(lambda button=button, action=action: button.setToolTip(action.toolTip()))
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setFormat("%p%")
        self.progress.setValue(0)
        self.eta_label = QLabel("Not trained yet.")
        self.eta_label.setObjectName("etaLabel")
        self.eta_label.setWordWrap(True)
        self._text = self.eta_label.text()  # the latest text told (shown by the next refresh)
        self._step: Optional[tuple[int, int]] = None  # the latest (step, total steps) told, not yet shown
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.timeout.connect(self._show_new)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button, 2)
        buttons.addWidget(self.pause_button, 1)
        buttons.addWidget(self.stop_button, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.eta_label)

    def apply(self, enabled: Enabled) -> None:
        self.train_button.setEnabled(enabled.train)
        self.pause_button.setEnabled(enabled.pause)
        self.stop_button.setEnabled(enabled.stop_training)

    def reset(self, text: str) -> None:
        self._refresh.stop()
        self._step, self._text = None, text
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.eta_label.setText(text)

    def show_step(self, step: int, total_steps: int) -> None:
        self._step = (step, total_steps)
        self._show_soon()

    def show_text(self, text: str) -> None:
        self._text = text
        self._show_soon()

    def finish(self, text: str, complete: bool) -> None:
        """The run is over: the bar full when it completed, where it stopped otherwise."""
        self._refresh.stop()
        self._text = text
        self._show_latest()
        if complete:
            self.progress.setValue(self.progress.maximum())

    def _show_soon(self) -> None:
        """At the event loop's next turn (a step and its text together), or once ``PROGRESS_REFRESH_MS``
        have passed since the last showing."""
        if not self._refresh.isActive():
            self._refresh.start(0)

    def _show_new(self) -> None:
        if self._step is not None or self._text != self.eta_label.text():
            self._show_latest()
            self._refresh.start(PROGRESS_REFRESH_MS)  # nothing more shown until then

    def _show_latest(self) -> None:
        if self._step is not None:
            step, total_steps = self._step
            self._step = None
            if self.progress.maximum() != total_steps:
                self.progress.setRange(0, total_steps)
            if step - self.progress.value() >= max(1, total_steps // 200):
                self.progress.setValue(step)  # whole 0.5% steps: each repaint costs
        if self._text != self.eta_label.text():
            self.eta_label.setText(self._text)

    def text(self) -> str:
        """The latest text told (shown within ``PROGRESS_REFRESH_MS``)."""
        return self._text

    def steps_shown(self) -> tuple[int, int]:
        """The progress bar's (value, maximum)."""
        return self.progress.value(), self.progress.maximum()
