"""The Deploy panel: a real local server in a child process, real keys and encryption."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from qatstudio.services import jobs
from qatstudio.services.deploy.bundle import load_bundle
from qatstudio.services.deploy.server import SAMPLE_BYTES
from qatstudio.services.formatting import fmt_percent

from .conftest import small_config

pytestmark = pytest.mark.slow


def click(qtbot, button):
    assert button.isEnabled(), f"'{button.text()}' is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_send_points_through_a_local_server_then_cancel_and_close(qtbot, window, run, tmp_path):
    window.config_panel.set_config(small_config(n_hidden=8, bits=3, epochs=2))
    assert run(lambda: click(qtbot, window.train_button), "Training") == "succeeded"
    panel = window.deploy_panel
    assert not panel.send_button.isEnabled()  # nothing compiled yet
    assert run(window.compile_action.trigger, "Compiling") == "succeeded"

    panel.set_points_wanted(2)
    assert run(lambda: click(qtbot, panel.send_button), "Deployment", timeout_ms=400_000) == "succeeded"
    server = window.controller.server
    assert server.running and panel.stop_button.isEnabled()
    points = window.session.dataset.x_test[:2]
    clear = window.session.experiment.integer_model.predict(points)
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
        window.controller.task.message.connect(
            lambda message: isinstance(message, jobs.DeployedSample) and message.done >= 1 and window.stop())

    assert run(send_then_cancel, "Deployment", timeout_ms=400_000) == "succeeded"
    assert 1 <= len(panel.rows()) < 5
    assert "already on the server" in panel.texts()["client"]
    process = server.process
    assert process.poll() is None

    # File > Export for deployment writes a folder that loads
    assert run(lambda: window.controller.export_for_deployment(tmp_path / "bundle"), "Exporting") == "succeeded"
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
