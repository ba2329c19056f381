"""Where the main window and its docks are: the geometry and dock layout kept in the settings,
restored at start and again when the window is first shown; the first launch fitted to its screen."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QByteArray, QPoint, QRect, QSettings, QSize
from PySide6.QtWidgets import QMainWindow

# The first launch (no saved geometry): a window maximized on a screen up to this wide, or too short
# for the window and its frame; on a larger screen a large window (this share of it) in the middle.
MAXIMIZE_UP_TO_WIDTH = 1366
FIRST_SHARE = 0.9
FRAME_ALLOWANCE = 40  # a window manager's title bar and borders, before they are known (px)


class Placement:
    """The window's place on screen and its docks' layout, as the settings keep them."""

    def __init__(self, window: QMainWindow, settings: QSettings):
        self.window, self.settings = window, settings
        self.layout_restored = False  # the docks are where the user left them
        self._saved_state: Optional[QByteArray] = None  # the saved layout, applied again in show_first
        self._geometry_restored = False

    def restore(self) -> None:
        """The geometry and dock layout the settings keep (none the first time)."""
        geometry = self.settings.value("geometry")
        if isinstance(geometry, (QByteArray, bytes)) and geometry:
            self._geometry_restored = self.window.restoreGeometry(QByteArray(geometry))
        state = self.settings.value("windowState")
        if isinstance(state, (QByteArray, bytes)) and state:
            self.layout_restored = self.window.restoreState(QByteArray(state))
            self._saved_state = QByteArray(state) if self.layout_restored else None

    def save(self) -> None:
        self.settings.setValue("geometry", self.window.saveGeometry())
        self.settings.setValue("windowState", self.window.saveState())

    def show_first(self) -> None:
        """Show the window where it was last time; the first time, fitted to its screen's available
        area (``first_geometry``), its status bar on screen."""
        window = self.window
        screen = window.screen()
        if self._saved_state is not None:
            # Again, now that docks added after the constructor (the demo's) exist: Qt applies a state
            # restored before a maximized window's first show once more when shown, and docks it
            # didn't know then were left out of every area, drawn over the window's top-left corner.
            window.restoreState(self._saved_state)
        if self._geometry_restored or screen is None:
            window.show()
            return
        frame = max(FRAME_ALLOWANCE, window.frameGeometry().height() - window.geometry().height())
        available = screen.availableGeometry()
        place = first_geometry(available, window.minimumSizeHint(), frame)
        if place is None:
            window.move(available.topLeft())  # maximized on this screen
            window.showMaximized()
        else:
            window.setGeometry(place)
            window.show()


def first_geometry(available: QRect, least: QSize, frame: int) -> Optional[QRect]:
    """The window's first place on a screen whose free area is ``available``: None to maximize it
    (a screen up to MAXIMIZE_UP_TO_WIDTH wide, or one too short for the window's least size and its
    ``frame``), else a large window (FIRST_SHARE of the area, frame included) in the middle."""
    if available.width() <= MAXIMIZE_UP_TO_WIDTH or available.height() < least.height() + frame:
        return None
    size = QSize(max(int(available.width() * FIRST_SHARE), least.width()),
                 max(int(available.height() * FIRST_SHARE) - frame, least.height()))
    place = QRect(QPoint(0, 0), size)
    place.moveCenter(available.center() + QPoint(0, frame // 2))  # the frame's title bar goes above
    return place
