"""The window's one status line: every message of the status bar goes through ``StatusLine``.

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

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QStatusBar

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
