"""The window's one status line: every message of the status bar goes through ``StatusLine``;
beside it, while the window is busy, ``BusyClock``'s bar and the time the task has taken.

It shows one text at a time in one label, so two messages are never drawn over each other:

- ``work``: the work in progress, or a standing message (stays until the next one);
- ``result``: what finished work found (stays until the next message, and is cleared by
  ``outdated`` when what it describes changes: the configuration, another run);
- ``passing``: a hint or a refusal, shown instead of the standing message for a few seconds
  (a control's status tip while the pointer is on it), then the standing message comes back.

Qt's own ``QStatusBar.showMessage`` is never used: the window routes its status tips here.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from ...services.formatting import fmt_seconds

PASSING_MS = 8000  # how long a passing message stays


class StatusLine(QObject):
    changed = Signal(str)  # the text shown

    def __init__(self, bar: QStatusBar, parent: Optional[QObject] = None):
        super().__init__(parent or bar)
        self.label = QLabel()
        self.label.setObjectName("statusText")
        bar.addWidget(self.label, 1)
        self._standing = ""
        self._is_result = False
        self._passing = ""
        self._tip = False  # the passing message is a status tip (no time limit)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.end_passing)

    # ------------------------------------------------------------ messages in
    def work(self, text: str) -> None:
        """The work in progress, or a standing message."""
        self._set_standing(text, result=False)

    def result(self, text: str) -> None:
        """What finished work found; ``outdated`` replaces it once it no longer holds."""
        self._set_standing(text, result=True)

    def show(self, text: str, how: str) -> None:
        """``text`` as ``how`` it stands: "work", "result" or "passing"."""
        {"work": self.work, "result": self.result, "passing": self.passing}[how](text)

    def passing(self, text: str, msecs: int = PASSING_MS) -> None:
        """A passing message, shown instead of the standing one for ``msecs`` (0: until
        ``end_passing``, as a status tip while the pointer is on its control); an empty text ends it."""
        if not text:
            self.end_passing()
            return
        self._passing, self._tip = text, msecs <= 0
        if msecs > 0:
            self._timer.start(msecs)
        else:
            self._timer.stop()
        self._show()

    def end_passing(self) -> None:
        self._timer.stop()
        if self._passing:
            self._passing, self._tip = "", False
            self._show()

    def end_tip(self) -> None:
        """What is enabled has changed: a control's status tip (a disabled button saying why) may
        no longer hold, and its pointer may never leave to end it."""
        if self._tip:
            self.end_passing()

    def outdated(self, text: str) -> bool:
        """What the standing result describes has changed: ``text`` replaces it. False (nothing
        changes) when the standing message is not a result."""
        if not self._is_result:
            return False
        self._set_standing(text, result=False)
        return True

    # ------------------------------------------------------------ what is shown
    def text(self) -> str:
        """What the status bar shows now."""
        return self.label.text()

    def standing(self) -> str:
        """The standing message (shown again once a passing one ends)."""
        return self._standing

    def is_result(self) -> bool:
        return self._is_result

    def _set_standing(self, text: str, result: bool) -> None:
        self._standing, self._is_result = text, result
        self._show()

    def _show(self) -> None:
        text = self._passing or self._standing
        if text != self.label.text():
            self.label.setText(text)
            self.changed.emit(text)


class BusyClock(QObject):
    """A busy bar and the time the window's task has taken, at the right of the status bar."""

    def __init__(self, bar: QStatusBar, parent: Optional[QObject] = None):
        super().__init__(parent or bar)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(120)
        self.busy_bar.setMaximumHeight(14)
        self.busy_bar.hide()
        self.elapsed = QLabel()
        bar.addPermanentWidget(self.elapsed)
        bar.addPermanentWidget(self.busy_bar)
        self._clock = QElapsedTimer()
        self._tick = QTimer(self)
        self._tick.setInterval(500)
        self._tick.timeout.connect(lambda: self.elapsed.setText(fmt_seconds(self._clock.elapsed() / 1000)))

    def start(self) -> None:
        """A task started: count its time from now."""
        self._clock.start()
        self._tick.start()

    def set_busy(self, busy: bool, bar: bool = True) -> None:
        """``busy`` with work; ``bar``: show the animated bar too (it repaints about 80 times a second)."""
        self.busy_bar.setVisible(busy and bar)
        if not busy:
            self.stop()

    def stop(self) -> None:
        self._tick.stop()
        self.elapsed.setText("")
