"""The Deploy panel: its empty state and its layout in a dock and on stage; then a real local server
in a child process, real keys and encryption."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QBoxLayout, QLabel

from qatstudio.gui.panels.deploy_panel import WAITING, DeployPanel
from qatstudio.gui.state import Facts, State, enabled
from qatstudio.services import jobs
from qatstudio.services.deploy.client import Prediction, Timing
from qatstudio.services.deploy.bundle import load_bundle
from qatstudio.services.deploy.server import SAMPLE_BYTES
from qatstudio.services.formatting import fmt_percent

from .conftest import small_config



def click(qtbot, button):
    assert button.isEnabled(), f"'{button.text()}' is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def a_sample(done: int, total: int) -> jobs.DeployedSample:
    """A point as the client reports it (the figures of a real 2-feature run's point)."""
    timing = Timing(0.05, 0.01, 1.2, 0.01, 0.002, 310, 66_000)
    prediction = Prediction(np.array([0.1234, 0.9876]), np.array([1, 7]), np.array([3, -2]), np.array([0.4, -0.3]), 0,
                            timing)
    return jobs.DeployedSample(done, total, prediction, 0)


def test_empty_state_then_a_run_fits_a_dock_and_the_stage(qtbot):
    """Before a run: one sentence of what to do (no "-", no empty tables, no idle bar); a run's texts
    wrap inside a 360 px dock, its sides one above the other there and side by side on stage; a run
    of a circuit the window no longer holds is cleared."""
    panel = DeployPanel()
    qtbot.addWidget(panel)
    panel.resize(360, 700)
    panel.show()
    qtbot.waitExposed(panel)
    panel.apply(enabled(State.IDLE, Facts(has_experiment=True, has_integer_model=True)))
    shown = [label.text() for label in panel.findChildren(QLabel) if label.isVisible()]
    assert shown == [WAITING[False]]
    assert not panel.progress.isVisible() and not panel.client_table.isVisible()
    assert panel.send_button.width() < panel.width() // 2 + 40  # not a full-width bar
    compiled = enabled(State.IDLE, Facts(has_experiment=True, has_integer_model=True, compiled=True))
    panel.apply(compiled)
    assert panel.texts()["status"] == WAITING[True]

    panel.started(2)
    panel.apply(enabled(State.DEPLOYING, Facts(has_experiment=True, has_integer_model=True, compiled=True)))
    for done in (1, 2):
        panel.add_sample(a_sample(done, 2))
    panel.finished(jobs.DeployOutcome("http://127.0.0.1:45678", "0123456789abcdef" * 4, 82_200_000,
                                      [panel._samples[0].prediction] * 2, [0, 0],
                                      [{"kind": "evaluation keys", "bytes": 82_200_000},
                                       {"kind": "ciphertext in", "bytes": 310, "sample_hex": "ab" * 32}]))
    panel.apply(compiled)
    qtbot.wait(50)
    assert panel.sides.direction() == QBoxLayout.Direction.TopToBottom
    assert panel.minimumSizeHint().width() <= 360, "wider than its dock"
    for label in panel.findChildren(QLabel):
        if label.isVisible() and label.text():
            assert label.text() != "-" and label.mapTo(panel, QPoint(label.width(), 0)).x() <= panel.width(), \
                label.text()
    assert "45678" in panel.texts()["status"] and "100.00%" in panel.texts()["agreement"]
    header = panel.client_table.horizontalHeader()
    for column, name in enumerate(("point", "FHE", "clear")):  # every column's header whole
        assert header.sectionSize(column) >= header.fontMetrics().horizontalAdvance(name), name
    panel.resize(1200, 600)  # on stage
    qtbot.wait(50)
    assert panel.sides.direction() == QBoxLayout.Direction.LeftToRight

    panel.apply(enabled(State.IDLE, Facts(has_experiment=True, has_integer_model=True)))  # retrained: no circuit
    assert panel.rows() == [] and panel.texts()["status"] == WAITING[False] and not panel.results.isVisible()


@pytest.mark.slow
def test_send_points_through_a_local_server_then_cancel_and_close(qtbot, window, run, tmp_path):
    window.config_panel.set_config(small_config(n_hidden=8, bits=3, epochs=2))
    assert run(lambda: click(qtbot, window.train_button), "Training") == "succeeded"
    panel = window.deploy_panel
    assert not panel.send_button.isEnabled()  # nothing compiled yet
    assert run(window.compile_action.trigger, "Compiling") == "succeeded"

    panel.set_points_wanted(2)
    assert run(lambda: click(qtbot, panel.send_button), "Deployment", timeout_ms=400_000) == "succeeded"
    server = window.presenters.deploy.server
    assert server.running and panel.stop_button.isEnabled()
    points = window.session.run.dataset.x_test[:2]
    clear = window.session.run.experiment.integer_model.predict(points)
    rows = panel.rows()
    assert len(rows) == 2
    assert [int(row[1]) for row in rows] == clear.tolist()  # decrypted from the server's answer
    assert [int(row[2]) for row in rows] == clear.tolist()  # the same model in the clear
    assert all(row[3].endswith("B") and row[4].endswith("B") for row in rows)
    texts = panel.texts()
    assert fmt_percent(1.0) in texts["agreement"]
    hex_bytes = " ".join(texts["bytes"].splitlines()[1:]).split()
    assert len(hex_bytes) == SAMPLE_BYTES and all(len(b) == 2 for b in hex_bytes)
    assert "evaluation keys uploaded once" in texts["client"]
    assert all(name in texts["latency"] for name in ("encrypt", "upload", "server", "download", "decrypt"))

    # Again on 5 points, cancelled after the first: the server stays up, keys are not uploaded again.
    panel.set_points_wanted(5)

    def send_then_cancel():
        click(qtbot, panel.send_button)
        window.presenters.slot.task.message.connect(
            lambda message: isinstance(message, jobs.DeployedSample) and message.done >= 1 and window.stop())

    assert run(send_then_cancel, "Deployment", timeout_ms=400_000) == "succeeded"
    assert 1 <= len(panel.rows()) < 5
    assert "already on the server" in panel.texts()["client"]
    process = server.process
    assert process.poll() is None

    # File > Export for deployment writes a folder that loads
    assert run(lambda: window.presenters.deploy.export(tmp_path / "bundle"), "Exporting") == "succeeded"
    assert load_bundle(tmp_path / "bundle").circuit_id == load_bundle(server.folder).circuit_id

    # Stop server: the button turns off with it
    click(qtbot, panel.stop_button)
    assert not server.running and process.poll() is not None
    assert not panel.stop_button.isEnabled() and panel.texts()["status"] == "Server stopped."
    assert panel.send_button.isEnabled()

    # Sent again, the server starts again; closing the window stops it
    panel.set_points_wanted(1)
    assert run(lambda: click(qtbot, panel.send_button), "Deployment", timeout_ms=400_000) == "succeeded"
    process = server.process
    assert server.running and process.poll() is None
    window.close()  # stops the server with the window
    assert process.poll() is not None
    assert not server.running



def test_the_ciphertext_bytes_take_one_line_on_stage(qtbot):
    """The server's side showed its bytes on two fixed lines, taller than the client's side: on a
    720 px stage its table scrolled. One line, wrapped only where the side is narrow; rows as tall
    as their text."""
    panel = DeployPanel()
    qtbot.addWidget(panel)
    panel.resize(1240, 500)
    panel.show()
    qtbot.waitExposed(panel)
    panel.started(1)
    panel.add_sample(a_sample(1, 1))
    panel.finished(jobs.DeployOutcome("http://127.0.0.1:45678", "0123456789abcdef" * 4, 25_800_000,
                                      [panel._samples[0].prediction], [0],
                                      [{"kind": "ciphertext in", "bytes": 296, "sample_hex": "ab" * 16}]))
    qtbot.wait(50)
    heading, data = panel.server_bytes.text().split("\n")
    assert data == " ".join(["ab"] * 16)
    assert panel.server_bytes.height() <= 2 * panel.server_bytes.fontMetrics().lineSpacing() + 4
    for table in (panel.client_table, panel.server_table):  # rows as tall as their text, not Qt's 30 px
        assert table.rowHeight(0) <= table.fontMetrics().lineSpacing() + 10, table.objectName()
