"""The main window's actions: their texts, keys, icons and tips, in one place."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QStyle

from .help import shortcut_text


def _action(window: QMainWindow, text: str, shortcuts=(), tip: str = "", icon=None,
            checkable: bool = False) -> QAction:
    action = QAction(text, window)
    if icon is not None:
        action.setIcon(window.style().standardIcon(icon))
    action.setShortcuts([QKeySequence(s) for s in shortcuts])
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)  # not in dialogs: Esc stays theirs
    keys = shortcut_text(action)
    action.setToolTip(f"{tip} ({keys})" if keys and tip else tip or text)
    action.setStatusTip(tip)
    action.setCheckable(checkable)
    window.addAction(action)  # shortcuts work with the menu bar hidden
    return action


def add_actions(window: QMainWindow) -> None:
    """The window's actions, as its attributes (``window.train_action``...): what its menus, toolbar,
    panels and shortcuts trigger."""
    w = window
    sp, key = QStyle.StandardPixmap, QKeySequence.StandardKey
    w.train_action = _action(w, "&Train", ["Ctrl+T", "F5"], "Train the configured model", sp.SP_MediaPlay)
    w.pause_action = _action(w, "&Pause", ["Ctrl+P"], "Pause or resume training", sp.SP_MediaPause, checkable=True)
    w.stop_action = _action(w, "&Stop", ["Esc", "Ctrl+."], "Stop what is running (training keeps what it learned)",
                            sp.SP_MediaStop)
    w.compile_action = _action(w, "&Compile", ["Ctrl+K"], "Compile the quantized model to an FHE circuit",
                               sp.SP_ComputerIcon)
    w.keygen_action = _action(w, "Generate &keys", ["Ctrl+G"], "Generate the circuit's keys (cached on disk)")
    w.simulate_action = _action(w, "&Simulate FHE", ["Ctrl+M"], "FHE simulation of every test point and of the "
                                "boundary", sp.SP_BrowserReload)
    w.encrypted_action = _action(w, "Run &encrypted", ["Ctrl+E"], "Encrypt, run and decrypt N test points",
                                 sp.SP_DriveNetIcon)
    w.open_action = _action(w, "&Open experiment\u2026", [key.Open], "Open a saved experiment")
    w.import_action = _action(w, "&Import data\u2026", ["Ctrl+I"],
                              "Train on a table of your own: a CSV file with a label column")
    w.save_action = _action(w, "&Save experiment", [key.Save],
                            "Save the experiment: configuration, weights, metrics, compile report")
    w.save_as_action = _action(w, "Save experiment &as\u2026", [key.SaveAs], "Save the experiment to a new file")
    w.deploy_export_action = _action(w, "Export for &deployment\u2026", [], "Write the circuit and what a client "
                                     "needs into a folder, for 'qatstudio serve'")
    w.export_action = _action(w, "&Export plots as PNG\u2026", ["Ctrl+Shift+E"], "Save the plots as PNG images")
    w.optimize_action = _action(w, "&Find the cheapest circuit\u2026", [], "Search layers, neurons, bits and "
                                "pruning budgets on your data for the cheapest FHE circuit that keeps the accuracy")
    w.quit_action = _action(w, "&Quit", ["Ctrl+Q"], "Close QAT Studio")
    w.tour_action = _action(w, "&Tour\u2026", [key.HelpContents], "A few pages on what the window does, in the "
                            "order you use it")
    w.shortcuts_action = _action(w, "&Keyboard shortcuts\u2026", [], "Every key of the window, read from its "
                                 "menus' actions")
