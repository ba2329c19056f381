"""The cost while you choose: the Configure panel's estimate moves with the settings, before any
training (a real ``estimate_circuit`` on lookup times really measured on this machine); a machine
never measured is offered a measure, which Cancel stops; the Compile panel sets the measured
latency and keys beside the prediction."""
from __future__ import annotations

import re

from .conftest import make_window, small_config
from PySide6.QtCore import Qt

from qatstudio.engine.cost import estimate_circuit
from qatstudio.services.calibration import cached_lookup_times
from qatstudio.services.formatting import MEASURE_LATENCY, fmt_key_bytes, fmt_seconds


def test_the_estimate_moves_with_the_settings(qtbot, calibrated, window):
    panel, estimate = window.config_panel, window.config_panel.estimate
    panel.set_config(small_config())  # 2x12 neurons, 3 bits, budget 4, lookups bounded to 5 bits
    shown = estimate.texts()
    predicted = estimate_circuit(panel.config(), calibrated)
    assert shown == {"accumulator": f"{predicted.accumulator_bits} bits at most",
                     "pbs": f"at most {predicted.pbs:,}, of up to {predicted.lookup_bits} bits",
                     "latency": f"up to about {fmt_seconds(predicted.latency_s)}",
                     "keys": f"up to about {fmt_key_bytes(predicted.key_bytes, compressed=False)}"}
    assert estimate.measure_button.isHidden() and estimate.note.isHidden()

    panel.neurons.setFocus()
    for _ in range(6):
        qtbot.keyClick(panel.neurons, Qt.Key.Key_Down)  # 12 -> 6 neurons: half the lookups
    assert panel.config().n_hidden == 6
    fewer = estimate.texts()
    assert _number(fewer["pbs"]) == _number(shown["pbs"]) / 2
    # the latency this machine's times predict for the new settings (lower, unless a loaded machine
    # measured each further lookup as free: samples=1)
    assert fewer["latency"] == f"up to about {fmt_seconds(estimate_circuit(panel.config(), calibrated).latency_s)}"
    assert _seconds(fewer["latency"]) <= _seconds(shown["latency"])
    assert fewer["accumulator"] == shown["accumulator"]  # the budget caps each neuron's inputs at 4

    panel.bits.setFocus()
    qtbot.keyClick(panel.bits, Qt.Key.Key_Up)  # 3 -> 4 bits: a wider accumulator
    wider = estimate.texts()
    assert _number(wider["accumulator"]) > _number(fewer["accumulator"])

    panel.budget.setValue(0)  # no pruning: 6 inputs per neuron of the second layer instead of 4
    assert _number(estimate.texts()["accumulator"]) > _number(wider["accumulator"])

    panel.bits.setValue(2)
    panel.budget.setValue(2)  # 2 inputs of 2 bits: 4-bit accumulators, no rounding lookup below the 5-bit bound
    narrow = estimate.texts()
    assert _number(narrow["accumulator"]) == 4 and _number(narrow["pbs"]) == 12
    assert narrow["pbs"].endswith("up to 4 bits") and narrow["keys"] != wider["keys"]

    panel.layers.setValue(0)
    assert panel.layers.text() == "none (linear model)" and not panel.neurons.isEnabled()
    assert estimate.texts()["accumulator"] == "no lookup: a linear model"
    assert estimate.texts()["pbs"] == "none (no hidden layer)"
    assert _seconds(estimate.texts()["latency"]) < _seconds(narrow["latency"])
    assert not panel.problems_text()  # a linear model trains


def test_an_unmeasured_machine_is_offered_a_measure_that_cancel_stops(qtbot, tmp_path, monkeypatch, settings):
    monkeypatch.setenv("QATSTUDIO_HOME", str(tmp_path / "home"))  # never measured here
    window = make_window(qtbot, settings)
    estimate = window.config_panel.estimate
    assert estimate.texts()["latency"] == "not measured" and estimate.texts()["keys"] == "not measured"
    assert "not measured yet" in estimate.note.text()
    assert estimate.measure_button.isVisible() and estimate.measure_button.isEnabled()

    qtbot.mouseClick(estimate.measure_button, Qt.MouseButton.LeftButton)
    assert window.is_busy() and not window.train_action.isEnabled()
    assert estimate.progress.isVisible() and estimate.cancel_button.isEnabled()
    assert estimate.measure_button.isHidden()
    with qtbot.waitSignal(window.taskFinished, timeout=120_000) as finished:
        qtbot.mouseClick(estimate.cancel_button, Qt.MouseButton.LeftButton)
    assert finished.args == ["Timing lookups", "cancelled"]
    assert "cancelled" in estimate.note.text() and estimate.measure_button.isVisible()
    assert estimate.progress.isHidden() and cached_lookup_times() is None  # nothing kept
    assert estimate.texts()["latency"] == "not measured"


def test_the_compile_panel_shows_measured_against_predicted(qtbot, calibrated, window, run):
    window.config_panel.set_config(small_config(n_hidden=6))
    assert run(window.start_training, "Training") == "succeeded"
    assert run(window.presenters.circuit.start_compile, "Compiling") == "succeeded"
    fields, stats = window.compile_panel.fields, window.session.run.compiled.stats
    predicted = calibrated.circuit_latency_s(stats)
    assert fields["latency"].text() == f"{MEASURE_LATENCY}; {fmt_seconds(predicted)} predicted"
    keys = fields["keys"].text()
    assert re.fullmatch(r"[\d.]+ [kMG]?B uncompressed; [\d.]+ [kMG]?B predicted \(measured [+-]\d+%\)", keys)
    assert "Secret " in fields["keys"].toolTip() and "key-switching" in fields["keys"].toolTip()

    assert run(lambda: window.presenters.circuit.start_encrypted(2), "Encrypted run", timeout_ms=300_000) == "succeeded"
    measured = window.session.run.experiment.metrics.fhe_latency_s
    against = f"{fmt_seconds(measured)} measured; {fmt_seconds(predicted)} predicted (measured "
    assert fields["latency"].text().startswith(against)


def _number(text: str) -> float:
    return float(re.search(r"[\d,.]+", text).group().replace(",", ""))


def _seconds(text: str) -> float:
    value, unit = re.search(r"([\d.]+) (ms|s)\b", text).groups()
    return float(value) / (1000 if unit == "ms" else 1)
