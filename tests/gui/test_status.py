"""One status line: a message at a time, hints that pass, results marked when they no longer hold."""
from __future__ import annotations

from PySide6.QtGui import QStatusTipEvent
from PySide6.QtWidgets import QApplication, QLabel

from qatstudio.services.formatting import run_name

from .conftest import small_config

BUSY = "Busy: stop the work in progress first."


def texts_shown(window) -> list[str]:
    """Every text the status bar draws: Qt's own message and each visible label's."""
    bar = window.statusBar()
    labels = [label.text() for label in bar.findChildren(QLabel) if label.isVisible() and label.text()]
    return ([bar.currentMessage()] if bar.currentMessage() else []) + labels


def tip(widget, text: str) -> None:
    """What Qt sends as the pointer enters a control with a status tip ('' as it leaves)."""
    QApplication.sendEvent(widget, QStatusTipEvent(text))


def test_a_status_tip_replaces_the_message_and_goes_when_the_state_changes(qtbot, window, run):
    window.config_panel.set_config(small_config(epochs=1))
    assert run(window.train_action.trigger, "Training") == "succeeded"
    trained = window.status_text()
    assert trained.startswith("Trained; kept epoch 1:") and texts_shown(window) == [trained]

    # A disabled control's hint while the pointer is on it: shown instead of the message, never over it
    tip(window.train_controls.stop_button, BUSY)
    assert window.status_text() == BUSY and texts_shown(window) == [BUSY]
    tip(window.train_controls.stop_button, "")  # the pointer leaves
    assert texts_shown(window) == [trained]

    # The pointer may never leave (the control changes under it): a change of state ends the hint
    tip(window.train_controls.stop_button, BUSY)
    assert run(window.compile_action.trigger, "Compiling") == "succeeded"
    compiled = window.status_text()
    assert compiled.startswith("Compiled:") and texts_shown(window) == [compiled]

    # A passing message (a refusal, a hint) replaces the standing one for a while, then it comes back
    window.status.passing("Compile first: keys belong to a circuit.", 50)
    assert texts_shown(window) == ["Compile first: keys belong to a circuit."]
    qtbot.waitUntil(lambda: window.status_text() == compiled, timeout=2_000)
    assert texts_shown(window) == [compiled]


def test_a_result_is_marked_once_the_configuration_changes(qtbot, window, run):
    config = small_config(epochs=1)
    window.config_panel.set_config(config)
    assert run(window.train_action.trigger, "Training") == "succeeded"
    assert window.status.is_result() and window.outdated_note.isHidden()
    window.config_panel.set_config(config)  # the same configuration: the result still holds
    assert window.status_text().startswith("Trained; kept epoch 1:")

    window.config_panel.set_config(config.replace(n_hidden=16))
    assert window.status_text() == ("Configuration changed: press Train (Ctrl+T) to train it; the plots and "
                                    "results shown are of the last run.")
    assert not window.status.is_result() and texts_shown(window) == [window.status_text()]
    window.config_panel.set_config(config.replace(n_hidden=20))  # work messages are not results: kept as they are
    assert window.status_text().startswith("Configuration changed")

    # The plots, Compile and Results say it too, until the run of the new configuration
    note = window.outdated_note
    assert not note.isHidden() and f"show the last run, {run_name(config)}." in note.text()
    window.config_panel.set_config(config)  # back to what the run is of
    assert note.isHidden()
    window.config_panel.set_config(config.replace(n_hidden=20))
    assert not note.isHidden()
    assert run(window.train_action.trigger, "Training") == "succeeded"
    assert note.isHidden()
