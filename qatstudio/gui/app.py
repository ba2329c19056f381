"""Entry point of the window: ``run_app(path, demo)`` (``qatstudio [--demo] [FILE.qats]`` calls it)."""
from __future__ import annotations

import gc
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional


def _application():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "qatstudio"])
    app.setOrganizationName("qatstudio")
    app.setApplicationName("QAT Studio")
    app.setApplicationDisplayName("QAT Studio")
    app.setDesktopFileName("qatstudio")  # Wayland app id: matches the installed qatstudio.desktop
    app.setWindowIcon(_icon())
    if app.style().objectName().lower() not in ("fusion", "windowsvista", "macos"):
        app.setStyle("Fusion")
    return app


def _icon():
    """The app's icon: resources/icons (source tree or frozen bundle), else the icon theme."""
    from PySide6.QtGui import QIcon

    from ..services.paths import resources_dir

    icon = QIcon()
    for png in sorted((resources_dir() / "icons" / "hicolor").glob("*/apps/qatstudio.png")):
        icon.addFile(str(png))
    return icon if not icon.isNull() else QIcon.fromTheme("qatstudio")


def configure_runtime() -> int:
    """Leave one core to the window: torch's intra-op threads = cores - 1 (at least 1).

    Measured on 2 cores: these small MLPs gain little from a second intra-op thread, and with
    one the training thread and the GUI thread no longer fight for the same cores (with two, a
    busy machine made torch's OpenMP threads spin and training ran many times slower).
    Returns the number of threads set.
    """
    import os

    import torch

    threads = max(1, (os.cpu_count() or 2) - 1)
    if torch.get_num_threads() > threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def freeze_heap() -> None:
    """Leave what the window made as it opened (about 240,000 objects: torch, Qt, pyqtgraph) out of
    the garbage collector's full collections, which otherwise walk all of it on the GUI thread:
    measured at 100-400 ms each, a stall now and then while training. Objects are still freed as
    soon as nothing refers to them; only cycles already unreachable at this point stay in memory."""
    gc.freeze()


@contextmanager
def garbage_collected_on_gui_thread() -> Iterator[None]:
    """While inside: the garbage collector's automatic runs are off, and a timer of the GUI thread
    collects instead, by the same generation thresholds (pyqtgraph's ``GarbageCollector``); on
    leaving, automatic collection is back. A collection started on a worker thread frees the Qt
    objects it finds there, and Qt's destructor can then wait for a lock the GUI thread holds while
    that thread waits for the GIL: seen as a hang while the story's loading thread built a model and
    the GUI thread deleted a menu."""
    from pyqtgraph.util.garbage_collector import GarbageCollector

    collector = GarbageCollector(interval=1.0)
    try:
        yield
    finally:
        collector.timer.stop()
        gc.enable()


def open_window(path: Optional[Path] = None, demo: bool = False, settings=None):
    """Show the main window as ``qatstudio [--demo] [FILE.qats]`` does and return it: the demo's
    menu and docks installed, the guided story shown with ``demo`` (its files opened once the
    window has painted itself, "Loading the story..." until then), ``path`` being opened (a missing
    or damaged file leaves the window open with a banner saying why)."""
    from .demo.controller import install_demo
    from .window.main_window import MainWindow

    window = MainWindow(settings)
    controller = install_demo(window)  # Demo menu, Story / History / Trade-offs docks, run history
    if demo:
        controller.story.hold_until_painted()
    window.placement.show_first()  # where it was last time, else fitted to the screen
    window.presenters.training.process.start()  # torch loads in the training process while the window opens
    if demo:
        controller.start_demo()  # the story at step 1, the trade-off chart beside it
    if path is not None:
        window.open_experiment(Path(path))
    return window


def run_app(path: Optional[Path] = None, demo: bool = False) -> int:
    """Create the QApplication, show the window (see ``open_window``) and run the event loop
    until the window closes; returns the exit code."""
    configure_runtime()
    app = _application()
    window = open_window(path, demo)
    # Ctrl+C in the terminal closes the window the normal way (work is stopped first); SIGTERM (a
    # logout, a service manager, kill) too, without asking about unsaved results: either way the
    # window stops its work and its local server before the loop ends.
    signal.signal(signal.SIGINT, lambda *args: window.close())
    signal.signal(signal.SIGTERM, lambda *args: window.close_without_asking())
    # Last resort if the loop ends some other way: never leave a worker thread behind.
    app.aboutToQuit.connect(lambda: window.shutdown(wait=True))
    from PySide6.QtCore import QTimer

    heartbeat: Optional[QTimer] = QTimer()
    heartbeat.start(250)  # lets Python see SIGINT and SIGTERM while Qt's loop runs
    heartbeat.timeout.connect(lambda: None)
    freeze_heap()
    with garbage_collected_on_gui_thread():  # from the moment the heap is frozen
        code = app.exec()
    heartbeat.stop()
    window.shutdown(wait=True)
    # No explicit widget deletion here: pyqtgraph's own exit cleanup (on aboutToQuit) makes
    # deleting its items afterwards crash; the process exits with the window still alive.
    return int(code)
