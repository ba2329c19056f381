"""File > Open Recent: the last experiments opened or saved, kept in the window's QSettings.

Files that no longer exist stay in the list, greyed out, until removed: one by one (right-click an
entry) or all at once ("Remove missing")."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import QMenu, QWidget

MAX_RECENT = 10
SETTINGS_KEY = "recent_files"


class RecentFilesMenu(QMenu):
    openRequested = Signal(Path)

    def __init__(self, settings: QSettings, parent: Optional[QWidget] = None):
        super().__init__("Open &Recent", parent)
        self.settings = settings
        self.setObjectName("recentFilesMenu")
        self.setToolTipsVisible(True)
        self.aboutToShow.connect(self.rebuild)  # a file may have vanished since the last look
        self.rebuild()

    def paths(self) -> list[Path]:
        """The remembered files, newest first (QSettings gives a lone entry back as a string)."""
        raw = self.settings.value(SETTINGS_KEY) or []
        if isinstance(raw, str):
            raw = [raw]
        return [Path(entry) for entry in raw if entry][:MAX_RECENT]

    def add(self, path: Path) -> None:
        path = Path(path).resolve()
        self._store([path] + [p for p in self.paths() if p != path])

    def remove(self, path: Path) -> None:
        self._store([p for p in self.paths() if p != Path(path)])

    def remove_missing(self) -> None:
        self._store([p for p in self.paths() if p.is_file()])

    def forget_all(self) -> None:
        self._store([])

    def _store(self, paths: list[Path]) -> None:
        self.settings.setValue(SETTINGS_KEY, [str(p) for p in paths[:MAX_RECENT]])
        self.rebuild()

    def rebuild(self) -> None:
        self.clear()
        paths = self.paths()
        for number, path in enumerate(paths, start=1):
            exists = path.is_file()
            action = self.addAction(f"&{number % 10}  {path.name}" + ("" if exists else "  (missing)"))
            action.setData(str(path))
            action.setEnabled(exists)
            action.setToolTip(str(path) if exists else
                              f"{path} no longer exists: right-click to remove it from this list")
            action.setStatusTip(action.toolTip())
            action.triggered.connect(lambda checked=False, p=path: self.openRequested.emit(p))
        if not paths:
            self.addAction("No recent experiments").setEnabled(False)
        self.addSeparator()
        missing = sum(not p.is_file() for p in paths)
        self.remove_missing_action = self.addAction(f"Remove &missing ({missing})" if missing else "Remove &missing")
        self.remove_missing_action.setEnabled(bool(missing))
        self.remove_missing_action.triggered.connect(self.remove_missing)
        self.forget_all_action = self.addAction("&Clear list")
        self.forget_all_action.setEnabled(bool(paths))
        self.forget_all_action.triggered.connect(self.forget_all)
        self.adjustSize()

    def contextMenuEvent(self, event) -> None:
        """Right-click an entry (missing or not) to remove it from the list."""
        action = self.actionAt(event.pos())
        if action is not None and action.data():
            self.remove(Path(action.data()))
            event.accept()
        else:
            super().contextMenuEvent(event)
