"""Entry point of the frozen app (PyInstaller builds `qatstudio` from this file).

It does what `python -m qatstudio` does, plus what only a frozen process needs:

- ``multiprocessing.freeze_support()`` first: key generation runs in a "spawn" child process
  (``CompiledModel.keygen_cancellable``), which re-executes this very executable with
  ``--multiprocessing-fork``; without this call the child would parse that as the app's own
  arguments and open a second window.
- the real exit status and all of stdout, even after an encrypted run (``qatstudio.cli.main``).
- ``QATSTUDIO_EXIT_AFTER_FIRST_PAINT=1``: a measuring mode for packaging/check.sh. When the first
  top-level window has been painted, print ``first-paint <unix time>`` on stdout and exit at once.
  It watches Qt's events from outside the GUI code, so it measures whatever window the app opens
  (the first Paint event of any widget of a visible window, then the end of that paint pass).
  With ``QATSTUDIO_FIRST_PAINT_GRAB=/path.png`` it also saves that window as an image.

Runs from source too: ``.venv/bin/python packaging/entry.py --selftest``.
"""
from __future__ import annotations

import multiprocessing
import os
import sys


def _install_first_paint_probe() -> None:
    """Make every QApplication created from now on report its first painted window, then exit."""
    import time

    from PySide6 import QtCore, QtWidgets

    base = QtWidgets.QApplication

    class _FirstPaintProbe(QtCore.QObject):
        def __init__(self, app):
            super().__init__(app)
            self._seen = False

        def eventFilter(self, watched, event):  # noqa: N802 (Qt's name)
            # Any widget: a window whose children cover it all (a plot, a view) gets no Paint itself.
            if (not self._seen and event.type() == QtCore.QEvent.Type.Paint
                    and isinstance(watched, QtWidgets.QWidget) and watched.window().isVisible()):
                self._seen = True
                # The paint pass of the whole window (and its flush) ends before the next loop turn.
                QtCore.QTimer.singleShot(0, self._report)
            return False

        def _report(self):
            painted = time.time()
            windows = [w for w in QtWidgets.QApplication.topLevelWidgets() if w.isVisible()]
            window = max(windows, key=lambda w: w.width() * w.height(), default=None)
            title = window.windowTitle() if window is not None else ""
            sys.stdout.write(f"first-paint {painted:.6f} {title!r}\n")
            grab = os.environ.get("QATSTUDIO_FIRST_PAINT_GRAB")
            if grab and window is not None:  # a screenshot of that first frame, for the record
                sys.stdout.write(f"first-paint-grab {grab} saved={window.grab().save(grab)}\n")
            sys.stdout.flush()
            os._exit(0)  # a measurement, not a session: skip shutdown (workers, settings, dialogs)

    class QApplication(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._qatstudio_probe = _FirstPaintProbe(self)
            self.installEventFilter(self._qatstudio_probe)

    QApplication.__name__ = QApplication.__qualname__ = base.__name__
    QtWidgets.QApplication = QApplication




def main() -> None:
    multiprocessing.freeze_support()  # in a key generation child, runs the child and exits
    if os.environ.get("QATSTUDIO_EXIT_AFTER_FIRST_PAINT") == "1" and "--selftest" not in sys.argv[1:]:
        _install_first_paint_probe()
    from qatstudio.cli import main as cli_main

    sys.exit(cli_main())  # cli.main keeps the real exit status past Concrete's exit hook


if __name__ == "__main__":
    main()
