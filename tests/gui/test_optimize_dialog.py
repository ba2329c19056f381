"""Run > Find the cheapest circuit: a real search on a real local Dask cluster (one worker), from
the Configure panel's data to the winner opened in the window, and a search cancelled."""
from __future__ import annotations

from PySide6.QtCore import Qt

from qatstudio.engine.config import DataConfig, ExperimentConfig
from qatstudio.services.history import History

SEPARABLE = DataConfig.for_shape("gaussians", n_points=600, n_test=100)


def open_dialog(window, layers: str, neurons: str):
    window.config_panel.set_config(ExperimentConfig(data=SEPARABLE, restarts=1))
    action = next(a for a in window.menuBar().actions() if a.text() == "&Run").menu().actions()[-1]
    assert action is window.optimize_action
    action.trigger()
    dialog = window.optimize_dialog
    assert dialog.isVisible() and not dialog.isModal()
    assert "Two Gaussians" in dialog.base_label.text()  # the data of the Configure panel
    dialog.set_levers(layers, neurons, "3", "off")
    dialog.workers.setValue(1)
    return dialog


def test_a_search_runs_to_the_end_and_opens_the_winner(qtbot, calibrated, window):
    dialog = open_dialog(window, "0, 1", "4")
    assert dialog.preview.text().startswith("<b>3 candidates</b>")  # the default recipe first
    assert "timed first" not in dialog.preview.text()  # this machine is measured
    dialog.neurons.setText("4, x")
    assert "can't read 'x'" in dialog.preview.text() and not dialog.start_button.isEnabled()
    dialog.neurons.setText("4")

    with qtbot.waitSignal(window.taskFinished, timeout=600_000,
                          check_params_cb=lambda task, outcome: task == "Opening") as opened:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
        assert dialog.is_running() and window.is_busy() and window.stop_action.isEnabled()
        assert not window.train_action.isEnabled() and not dialog.layers.isEnabled()
        qtbot.waitUntil(lambda: dialog.table.rowCount() >= 1, timeout=300_000)  # a candidate, as it finishes
        assert len(dialog.front_chart.candidates) == dialog.table.rowCount()  # and on the chart
        assert "(1 worker connected)" in dialog.dashboard.text()
    assert opened.args[1] == "succeeded"

    result = dialog.result
    assert result is not None and not result.cancelled and result.winner is not None
    assert len(result.tried) + result.ruled_out == 3 and "Done in" in dialog.status.text()
    rows = [[dialog.table.item(row, column).text() for column in range(dialog.table.columnCount())]
            for row in range(dialog.table.rowCount())]
    assert len(rows) == len(result.tried)
    assert [row[0] for row in rows if row[-1] == "winner"] == [result.winner.record.label]
    assert all(row[-1] in ("winner", "\u2605 front") for row in rows if row[0] in
               {t.record.label for t in result.front})
    chart = dialog.front_chart  # every candidate tried, the same front, the winner starred
    assert sorted(c.label for c in chart.candidates) == sorted(t.record.label for t in result.tried)
    assert [c.label for c in chart.front()] == [t.record.label for t in result.front]
    assert chart.winner.label == result.winner.record.label
    assert len(chart.star.data) == 1 and len(chart.scatter.data) == len(result.tried)
    assert "The cheapest within the tolerance" in dialog.outcome.text() and "measured" in dialog.outcome.text()

    # the winner, compiled and run encrypted by the search, is the window's run now
    experiment = result.experiment
    assert window.session.run.experiment is experiment and window.session.run.compiled is experiment.compiled
    assert window.config_panel.config() == experiment.config
    assert window.compile_panel.displayed_accumulator_bits() == experiment.stats.accumulator_bits
    assert " predicted (measured " in window.compile_panel.fields["latency"].text()
    assert window.presenters.slot.enabled().encrypted  # ready to run encrypted again
    assert str(window.session.path) == result.winner.record.experiment_path

    stored, problems = History().load()  # every candidate is in the history
    assert not problems and {r.id for r in stored} == {r.id for r in dialog.records}
    assert not dialog.open_button.isHidden() and dialog.open_button.isEnabled()


def test_cancel_stops_the_search_and_keeps_what_finished(qtbot, calibrated, window):
    dialog = open_dialog(window, "0, 1", "4, 6, 8")
    assert dialog.preview.text().startswith("<b>5 candidates</b>")
    assert dialog.start()
    qtbot.waitUntil(lambda: "connected" in dialog.dashboard.text(), timeout=120_000)
    with qtbot.waitSignal(dialog.searchFinished, timeout=120_000):
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        assert not dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=60_000)
    assert "Cancelled" in dialog.status.text() and not dialog.is_running()
    assert window.session.run.experiment is None  # nothing opened
    assert len(History().load()[0]) == len(dialog.records) < 4
    assert dialog.start_button.isEnabled() and window.train_action.isEnabled()
