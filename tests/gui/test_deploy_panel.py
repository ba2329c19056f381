"""The Deploy panel: a real local server in a child process, real keys and encryption."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from qatstudio.services import jobs
from qatstudio.services.deploy.bundle import load_bundle
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

    panel.points.setValue(2)
    assert run(lambda: click(qtbot, panel.send_button), "Deployment", timeout_ms=400_000) == "succeeded"
    server = panel.server
    assert server.running and panel.stop_button.isEnabled()
    points = window.session.dataset.x_test[:2]
    clear = window.session.experiment.integer_model.predict(points)
    assert panel.client_table.rowCount() == panel.server_table.rowCount() == 2
    assert [int(panel.client_table.item(r, 1).text()) for r in range(2)] == clear.tolist()
    assert [int(panel.client_table.item(r, 2).text()) for r in range(2)] == clear.tolist()
    assert fmt_percent(1.0) in panel.agreement.text()
    assert panel.server_table.item(0, 0).text().endswith("B")
    hex_bytes = " ".join(panel.server_bytes.text().splitlines()[1:]).split()
    assert len(hex_bytes) == 16 and all(len(b) == 2 for b in hex_bytes)
    assert "evaluation keys uploaded once" in panel.client_summary.text()
    assert all(name in panel.latency.text() for name in ("encrypt", "upload", "server", "download", "decrypt"))

    # Again on 5 points, cancelled after the first: the server stays up, keys are not uploaded again.
    panel.points.setValue(5)

    def send_then_cancel():
        click(qtbot, panel.send_button)
        window.task.message.connect(
            lambda message: isinstance(message, jobs.DeployedSample) and message.done >= 1 and window.stop())

    assert run(send_then_cancel, "Deployment", timeout_ms=400_000) == "succeeded"
    assert 1 <= panel.client_table.rowCount() < 5
    assert "already on the server" in panel.client_summary.text()
    process = server.process
    assert process.poll() is None

    # File > Export for deployment writes a folder that loads
    assert run(lambda: window.export_for_deployment(tmp_path / "bundle"), "Exporting") == "succeeded"
    assert load_bundle(tmp_path / "bundle").circuit_id == load_bundle(server.folder).circuit_id

    window.close()  # stops the server with the window
    assert process.poll() is not None
    assert not server.running
