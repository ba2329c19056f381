"""The real window, driven like a user: real training, compilation and FHE (no mocks)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from qatstudio.engine.config import BOUNDS, DataConfig, ExperimentConfig, ModelKind
from qatstudio.engine.data import make_dataset
from qatstudio.engine.evaluate import evaluate_simulated
from qatstudio.engine.fhe import AccumulatorTooWideError
from qatstudio.engine.integer import MAX_LOOKUP_BITS
from qatstudio.engine.training import train
from qatstudio.gui.panels.config_panel import BoundSpin
from qatstudio.services import jobs
from qatstudio.services.formatting import CEILING_NOTE, MEASURE_LATENCY, TIP_ACCUMULATOR, TIP_CEILING, fmt_percent, fmt_progress
from qatstudio.services.tasks import Outcome

from .conftest import make_window, small_config


def click(qtbot, button):
    assert button.isEnabled(), f"'{button.text()}' is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def train_small(qtbot, window, run, **changes) -> ExperimentConfig:
    config = small_config(**changes)
    window.config_panel.set_config(config)
    assert window.config_panel.config() == config
    assert run(lambda: click(qtbot, window.train_button), "Training") == "succeeded"
    return config


def test_train_compile_simulate_story(qtbot, window, run):
    config = train_small(qtbot, window, run)
    dataset = make_dataset(config.data)
    experiment = window.session.run.experiment

    # The plots received every step, every epoch and the boundary; test points are marked.
    steps = math.ceil(len(dataset.x_train) / config.batch_size) * config.epochs
    assert window.plots.step_count() == steps
    assert window.plots.epoch_count() == config.epochs
    assert window.plots.has_boundary()
    assert not window.plots.is_live()
    wrong = int(np.count_nonzero(window.session.run.test_predictions != dataset.y_test))
    assert window.plots.misclassified_count() == wrong
    assert window.train_controls.steps_shown() == (steps, steps)

    # The GUI trains exactly what the core trains (its own model, same seed, same numbers).
    bare = train(config, dataset)
    assert [e.test_accuracy for e in experiment.history] == [e.test_accuracy for e in bare.history]
    assert len(experiment.step_losses) == steps

    # The data set's ceiling: a dashed line on the accuracy plot (in %, named in its legend), a row and a
    # sentence in Results.
    assert experiment.metrics.ceiling_accuracy == dataset.ceiling_accuracy < 1.0  # the jitter costs points
    assert window.plots.ceiling() == pytest.approx(100 * dataset.ceiling_accuracy)
    assert window.plots.ceiling_text() == f"ceiling {fmt_percent(dataset.ceiling_accuracy)}"
    assert window.results_panel.value("ceiling") == fmt_percent(dataset.ceiling_accuracy)
    assert window.results_panel.ceiling_note.text() == CEILING_NOTE and window.results_panel.ceiling_note.isVisibleTo(
        window.results_panel)

    # Results table shows the clear figures.
    assert window.results_panel.value("clear") == fmt_percent(experiment.metrics.clear_accuracy)
    assert window.results_panel.value("brevitas") == fmt_percent(experiment.metrics.brevitas_accuracy)
    assert window.results_panel.value("simulated") == "-"
    assert f"Trained; kept epoch {experiment.kept_epoch}:" in window.status_text()

    # Compile: the big figure is the core's report.
    assert run(lambda: click(qtbot, window.compile_panel.compile_button), "Compiling") == "succeeded"
    report = window.session.run.compiled.stats
    assert window.compile_panel.displayed_accumulator_bits() == report.accumulator_bits
    assert window.compile_panel.fields["pbs"].text() == f"{report.pbs_count:,}"
    heights = list(window.compile_panel.measured_bars.opts["height"])
    assert heights == [layer.accumulator_bits for layer in report.layers]
    assert list(window.compile_panel.bound_bars.opts["height"]) == [layer.bound_bits for layer in report.layers]
    assert f"{report.accumulator_bits}-bit accumulator" in window.status_text()
    assert "uncompressed" in window.status_text() and "uncompressed" in window.compile_panel.fields["keys"].text()

    # FHE simulation: the table shows what the core computes on the same circuit; its bar counts
    # test points (nothing before it ran), not the boundary's distinct inputs simulated last.
    assert window.results_panel.simulation_count() == ""
    assert run(lambda: click(qtbot, window.results_panel.simulate_button), "FHE simulation") == "succeeded"
    n_test = len(dataset.x_test)
    assert window.results_panel.simulation_count() == fmt_progress(n_test, n_test, "test point") == \
        f"{n_test} / {n_test} test points"
    metrics = window.session.run.experiment.metrics
    expected = evaluate_simulated(jobs.Metrics(), dataset, window.session.run.compiled)
    assert metrics.fhe_simulated_accuracy == expected.fhe_simulated_accuracy
    assert window.results_panel.value("simulated") == fmt_percent(expected.fhe_simulated_accuracy)
    assert window.results_panel.value("agree_simulated") == fmt_percent(expected.agreement_clear_simulated)
    assert window.results_panel.has_fhe_boundary()
    assert window.session.run.fhe_boundary.shape == dataset.grid_shape
    clear = window.session.run.compiled.model.predict(dataset.grid).reshape(dataset.grid_shape)
    assert np.array_equal(window.session.run.clear_boundary, clear)
    assert not window.banner.message()


def test_redraws_are_rate_limited(qtbot, window, run):
    import time

    start = time.monotonic()
    train_small(qtbot, window, run, epochs=3)
    elapsed = time.monotonic() - start
    from qatstudio.gui.charts.plots import MAX_REDRAWS_PER_S

    assert MAX_REDRAWS_PER_S <= 15
    # At most MAX_REDRAWS_PER_S timer redraws a second (+ the one at reset and the final ones).
    assert window.plots.redraws <= MAX_REDRAWS_PER_S * elapsed + 4


def test_stop_mid_training_keeps_what_was_learned(qtbot, window, run):
    controls = window.train_controls
    config = small_config(epochs=200)
    window.config_panel.set_config(config)

    def start_then_stop():
        click(qtbot, window.train_button)
        qtbot.waitUntil(lambda: window.session.run.experiment is None and window.plots.epoch_count() >= 1,
                        timeout=60_000)
        assert controls.pause_button.isEnabled() and controls.stop_button.isEnabled()
        assert not window.compile_panel.compile_button.isEnabled()
        assert not window.open_action.isEnabled() and not window.presets_button.isEnabled()
        click(qtbot, controls.stop_button)

    assert run(start_then_stop, "Training", timeout_ms=60_000) == "succeeded"
    experiment = window.session.run.experiment
    assert experiment is not None and experiment.cancelled
    assert 1 <= len(experiment.history) < config.epochs
    assert "Stopped after" in controls.text()
    assert window.train_button.isEnabled() and not controls.stop_button.isEnabled()
    assert window.compile_action.isEnabled()  # a stopped model can still be compiled


def test_stop_before_first_epoch_keeps_nothing(qtbot, window, run):
    window.config_panel.set_config(small_config(epochs=50, batch_size=1))

    def start_then_stop():
        click(qtbot, window.train_button)
        qtbot.waitUntil(lambda: window.plots.step_count() > 0, timeout=60_000)
        window.stop_action.trigger()

    assert run(start_then_stop, "Training") == "succeeded"
    assert window.session.run.experiment is None
    assert not window.compile_action.isEnabled()
    assert "before the first epoch" in window.train_controls.text()


def test_pause_and_resume(qtbot, window, run):
    window.config_panel.set_config(small_config(epochs=40))
    pause = window.train_controls.pause_button

    def pause_resume():
        click(qtbot, window.train_button)
        qtbot.waitUntil(lambda: window.plots.epoch_count() >= 1, timeout=60_000)  # past the first epoch
        click(qtbot, pause)
        assert window.presenters.slot.task.state.is_paused and window.pause_action.isChecked()
        qtbot.wait(300)  # let the last step before the pause arrive
        steps = window.plots.step_count()
        qtbot.wait(500)
        assert window.plots.step_count() == steps, "training went on while paused"
        assert "paused" in window.status_text() and window.train_controls.text().endswith("(paused)")
        window.pause_action.trigger()  # the menu's Pause resumes too
        assert not window.presenters.slot.task.state.is_paused and not pause.isChecked()
        qtbot.waitUntil(lambda: window.plots.step_count() > steps, timeout=30_000)
        click(qtbot, pause)
        window.stop_action.trigger()  # stopping a paused run

    assert run(pause_resume, "Training") == "succeeded"
    assert not pause.isChecked() and not window.pause_action.isChecked() and not pause.isEnabled()


def test_invalid_configuration_blocks_train_with_reasons(qtbot, window):
    panel = window.config_panel
    panel.set_config(small_config(kind=ModelKind.FLOAT, accumulator_bits=8))
    assert not window.train_button.isEnabled()
    assert not window.train_action.isEnabled()
    assert "a target accumulator width needs quantization-aware training" in panel.problems_text()
    window.start_training()  # even if called directly: nothing starts
    assert not window.is_busy()

    assert [panel.kind.itemText(i) for i in range(panel.kind.count())] == [
        "Float + post-training quant.", "Quantization-aware (QAT)"]  # pruning is the budget, for either
    panel.kind.setCurrentIndex(panel.kind.findData(ModelKind.QAT))
    assert panel.config().kind is ModelKind.QAT and window.train_button.isEnabled()
    assert panel.problems_text() == ""

    panel.points.setValue(25)  # 25 points (a 5 x 5 board), but 100 test points asked for
    assert not window.train_button.isEnabled()
    assert "test points must be between 1 and 24 for 25 points" in panel.problems_text()
    assert "test points" in window.train_button.toolTip()


def test_the_spin_boxes_take_their_limits_and_off_words_from_the_configurations_bounds(window):
    panel = window.config_panel
    boxes = [box for box in panel.findChildren(BoundSpin)]
    assert {box.bound for box in boxes} >= {BOUNDS[name] for name in ("n_hidden", "pruning_budget", "epochs",
                                                                      "lookup_bits", "data.n_points", "seed")}
    for box in boxes:
        assert box.maximum() == box.bound.high
        assert box.minimum() == box.bound.low - (1 if box.bound.off else 0)
        assert (box.specialValueText() != "") == bool(box.bound.off) or box is panel.layers
    off = small_config(pruning_budget=None, epochs=None, batch_size=None, accumulator_bits=None,
                       neurons_kept=None, lookup_bits=None)
    panel.set_config(off)
    assert panel.budget.text() == "off" and panel.epochs.text() == "automatic" and panel.neurons_kept.text() == "all"
    assert panel.config() == off


def test_cancel_fhe_simulation(qtbot, window, run):
    train_small(qtbot, window, run)
    assert run(window.compile_action.trigger, "Compiling") == "succeeded"

    def simulate_then_cancel():
        window.simulate_action.trigger()
        # Cancel as soon as the first progress report arrives: the core polls before every point.
        window.presenters.slot.task.message.connect(lambda message: isinstance(message, jobs.Progress) and window.stop())

    assert run(simulate_then_cancel, "FHE simulation") == "cancelled"
    assert window.session.run.experiment.metrics.fhe_simulated_accuracy is None
    assert window.results_panel.value("simulated") == "-"
    assert window.results_panel.simulate_button.isEnabled()
    assert "cancelled" in window.status_text()


def test_keys_and_encrypted_run_then_cancel(qtbot, window, run):
    """Real key generation (cached on disk) and real encrypted samples on a tiny circuit."""
    train_small(qtbot, window, run, n_hidden=8, pruning_budget=4, epochs=2)
    assert run(window.compile_action.trigger, "Compiling") == "succeeded"
    assert run(lambda: click(qtbot, window.compile_panel.keygen_button), "Generating keys",
               timeout_ms=300_000) == "succeeded"
    keys = window.session.run.keys
    assert keys is not None and keys.path.exists()
    assert "Keys ready" in window.compile_panel.keys_text()

    window.results_panel.set_samples_wanted(1)
    assert run(lambda: click(qtbot, window.results_panel.encrypted_button), "Encrypted run") == "succeeded"
    m = window.session.run.experiment.metrics
    # one sample is the warm-up: no steady state to report
    assert m.fhe_executed_samples == 1 and m.fhe_warmup_s > 0 and m.fhe_latency_s is None
    assert m.agreement_clear_executed == 1.0  # the integer model in the clear and in FHE agree
    assert window.results_panel.value("executed").endswith("on 1 point")
    assert window.results_panel.value("latency") == MEASURE_LATENCY  # not a "-" that reads as missing
    assert window.results_panel.encrypted_text() == "Done: 1 sample encrypted, run and decrypted."
    assert "latency per sample not measured" in window.status_text()  # the figures: the table and the status
    assert window.results_panel.encrypted_done() == 1
    assert window.results_panel.encrypted_progress.isHidden()  # done: the sentence says it, not a full bar

    # Cancel during a 5-sample run, after its first sample: the finished sample is kept.
    window.results_panel.set_samples_wanted(5)

    def run_then_cancel():
        click(qtbot, window.results_panel.encrypted_button)
        assert window.results_panel.cancel_button.isEnabled() and not window.compile_panel.cancel_button.isEnabled()
        window.presenters.slot.task.message.connect(
            lambda message: isinstance(message, jobs.SampleDone) and message.done >= 1 and window.stop())

    assert run(run_then_cancel, "Encrypted run") == "succeeded"
    m = window.session.run.experiment.metrics
    assert 1 <= m.fhe_executed_samples < 5
    assert "Cancelled after" in window.results_panel.encrypted_text()


def test_cancel_key_generation(qtbot, window, run, tmp_path, monkeypatch):
    monkeypatch.setenv("QATSTUDIO_HOME", str(tmp_path / "fresh-home"))  # an empty key cache
    train_small(qtbot, window, run, n_hidden=8, epochs=1)
    assert run(window.compile_action.trigger, "Compiling") == "succeeded"

    def keygen_then_cancel():
        window.keygen_action.trigger()
        assert window.compile_panel.cancel_button.isEnabled() and not window.train_button.isEnabled()
        qtbot.wait(1500)  # the key generation process is running
        window.stop()

    assert run(keygen_then_cancel, "Generating keys", timeout_ms=30_000) == "cancelled"
    assert window.session.run.keys is None
    assert "cancelled" in window.compile_panel.keys_text()


@pytest.mark.parametrize("what", ["training", "keygen"])
def test_close_while_working_stops_and_closes(qtbot, settings, tmp_path, monkeypatch, what):
    monkeypatch.setenv("QATSTUDIO_HOME", str(tmp_path / "fresh-home"))
    window = make_window(qtbot, settings)
    if what == "training":
        window.config_panel.set_config(small_config(epochs=500))
        window.start_training()
        qtbot.waitUntil(lambda: window.plots.step_count() > 0, timeout=60_000)
    else:
        window.config_panel.set_config(small_config(n_hidden=8, epochs=1))
        with qtbot.waitSignal(window.taskFinished, timeout=60_000):
            window.start_training()
        with qtbot.waitSignal(window.taskFinished, timeout=60_000):
            window.compile_action.trigger()
        window.keygen_action.trigger()
        qtbot.wait(1000)
    assert window.is_busy()
    window.close()
    assert window.status_text().startswith("Stopping")
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
    assert not window.is_busy()


def test_close_while_compiling_waits_for_it(qtbot, settings):
    window = make_window(qtbot, settings)
    window.config_panel.set_config(small_config(epochs=1))
    with qtbot.waitSignal(window.taskFinished, timeout=60_000):
        window.start_training()
    with qtbot.waitSignal(window.taskFinished, timeout=60_000,
                          check_params_cb=lambda name, outcome: outcome is Outcome.CANCELLED):
        window.compile_action.trigger()
        window.close()  # a compilation can't be interrupted: it is finished, then discarded
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
    assert window.session.run.compiled is None


def test_accumulator_too_wide_is_a_readable_message(qtbot, window, run):
    train_small(qtbot, window, run, bits=8, n_hidden=64, n_layers=1, pruning_budget=None, epochs=1)
    # Before compiling, the panel already shows the integer model's width and warns in the engine's words.
    too_wide = window.session.run.experiment.integer_model.too_wide()
    assert too_wide is not None and too_wide[1] > MAX_LOOKUP_BITS
    assert window.compile_panel.displayed_accumulator_bits() > MAX_LOOKUP_BITS
    warning = window.compile_panel.status_text()
    assert warning.startswith("Compiling will fail") and str(AccumulatorTooWideError(*too_wide)) in warning
    assert run(window.compile_action.trigger, "Compiling") == "failed"
    message = window.banner.message()
    assert "accumulator is too wide" in message and f"{MAX_LOOKUP_BITS} bits" in message
    assert "pruning budget" in message
    assert "Compilation failed" in window.compile_panel.status_text()
    assert window.isVisible() and window.train_button.isEnabled()


def test_settings_restore_configuration_and_layout(qtbot, settings, windows):
    from qatstudio.gui.window.main_window import MainWindow

    first = make_window(qtbot, settings)
    config = small_config(kind=ModelKind.FLOAT, n_hidden=33, pruning_budget=7, epochs=9, lr=0.005, seed=4,
                          data={"noise": 0.05, "n_points": 2500, "n_test": 200})
    first.config_panel.set_config(config)
    first.resize(780, 580)  # within the offscreen platform's 800x600 screen (restoring clamps to it)
    size = first.size()
    first.compile_dock.hide()
    first.results_panel.set_samples_wanted(4)
    first.close()
    assert not first.isVisible()

    second = MainWindow(settings)  # a new launch: nothing set but the settings file
    windows.append(second)
    assert second.config_panel.config() == config
    assert second.size() == size
    second.show()
    qtbot.waitExposed(second)
    assert not second.compile_dock.isVisible() and second.results_dock.isVisible()
    assert second.results_panel.samples_wanted() == 4
    second.close()


def test_damaged_saved_settings_fall_back_to_defaults(qtbot, settings):
    settings.setValue("config", "{not json")
    settings.setValue("geometry", "garbage")
    window = make_window(qtbot, settings)
    assert window.config_panel.config() == ExperimentConfig.default_recipe()


def test_saved_settings_of_the_retired_kind_pruned_restore_a_float_model_with_its_budget(qtbot, settings):
    config = small_config(kind=ModelKind.FLOAT, pruning_budget=7)
    settings.setValue("config", json.dumps({**config.to_dict(), "kind": "pruned"}))
    window = make_window(qtbot, settings)
    assert window.config_panel.config() == config
    assert window.config_panel.kind.currentText() == "Float + post-training quant."


def test_save_and_open_round_trip(qtbot, window, run, settings, tmp_path):
    config = train_small(qtbot, window, run)
    assert run(window.compile_action.trigger, "Compiling") == "succeeded"
    path = window.presenters.files.save_experiment_to(tmp_path / "run")  # the suffix is added
    assert path == tmp_path / "run.qats" and path.exists()
    assert "Saved" in window.status_text()
    saved = window.session.run.experiment

    other = make_window(qtbot, settings)
    other.config_panel.set_config(ExperimentConfig())
    assert run(lambda: other.open_experiment(path), "Opening", target=other) == "succeeded"
    assert other.config_panel.config() == config
    assert other.plots.step_count() == window.plots.step_count() == len(saved.step_losses)
    assert other.plots.epoch_count() == config.epochs
    assert other.plots.has_boundary()
    assert other.plots.misclassified_count() == window.plots.misclassified_count()
    assert other.compile_panel.displayed_accumulator_bits() == saved.stats.accumulator_bits
    for key in ("ceiling", "clear", "brevitas", "float"):
        assert other.results_panel.value(key) == window.results_panel.value(key)
    assert other.plots.ceiling() == window.plots.ceiling() is not None
    assert other.session.run.compiled is None and other.compile_action.isEnabled()
    assert other.windowTitle().startswith("run.qats")
    # and compiling the opened model again gives the same circuit width
    assert run(other.compile_action.trigger, "Compiling", target=other) == "succeeded"
    assert other.session.run.compiled.stats.accumulator_bits == saved.stats.accumulator_bits
    other.close()


def test_opening_a_damaged_file_shows_why(qtbot, window, run, tmp_path):
    path = tmp_path / "broken.qats"
    path.write_bytes(b"this is not a zip file")
    assert run(lambda: window.open_experiment(path), "Opening") == "failed"
    assert "Can't open the experiment" in window.banner.message()
    assert "broken.qats" in window.banner.message()
    assert window.isVisible() and window.session.run.experiment is None


def test_export_plots_as_png(qtbot, window, run, tmp_path):
    train_small(qtbot, window, run, epochs=2)
    written = window.presenters.files.export_plots(tmp_path / "plots")
    assert written[0] == tmp_path / "plots.png"
    assert tmp_path / "plots-compile.png" in written  # the pre-compile accumulator chart
    for path in written:
        image = QImage(str(path))
        assert not image.isNull() and image.width() > 100


def test_presets_are_the_guides_configurations(qtbot, window):
    titles = [a.text() for a in window.presets_menu.actions() if not a.isSeparator() and a.text()]
    presets = [t for t in titles if "neurons" in t or "inputs per neuron" in t]
    assert len(presets) == 7, titles
    qat = next(a for a in window.presets_menu.actions() if a.text() == "QAT 3-bit, 100 neurons, 20 inputs per neuron")
    qat.trigger()
    config = window.config_panel.config()
    assert (config.kind, config.n_hidden, config.bits, config.pruning_budget) == (ModelKind.QAT, 100, 3, 20)
    assert not config.problems() and window.train_button.isEnabled()
    pruned = next(a for a in window.presets_menu.actions() if a.text().startswith("Pruned, 10 of 100"))
    pruned.trigger()
    config = window.config_panel.config()
    assert (config.kind, config.n_hidden, config.pruning_budget) == (ModelKind.FLOAT, 100, 10)
    floats = [a for a in window.presets_menu.actions() if a.text().startswith("Float, ")]
    assert [a.text().split(",")[1].strip() for a in floats] == ["10 neurons", "30 neurons", "100 neurons"]
    floats[1].trigger()
    config = window.config_panel.config()
    assert (config.kind, config.n_hidden, config.pruning_budget, config.bits) == (ModelKind.FLOAT, 30, None, 3)

    # The 3 x 3 board is a named data set, never the default; the guide's presets run on the guide's data.
    assert ExperimentConfig().data == DataConfig() and DataConfig().bands == 4 and DataConfig().noise > 0
    window.config_panel.data_seed.setValue(7)
    board = next(a for a in window.presets_menu.actions() if a.text() == "3 x 3 board (no jitter)")
    board.trigger()
    config = window.config_panel.config()
    assert (config.data.bands, config.data.noise, config.data.seed) == (3, 0.0, 7)
    assert (config.kind, config.n_hidden) == (ModelKind.FLOAT, 30)  # the model is kept
    qtbot.waitUntil(lambda: window.config_panel.preview.ceiling == 1.0, timeout=5_000)  # no jitter: all reachable
    qat.trigger()
    assert window.config_panel.config().data == DataConfig(seed=7)
    guide = next(a for a in window.presets_menu.actions() if a.text().startswith("Guide's board"))
    board.trigger()
    guide.trigger()
    assert window.config_panel.config().data == DataConfig(seed=7)


def test_data_preview_follows_the_data_settings(qtbot, window):
    panel = window.config_panel
    panel.set_config(ExperimentConfig())
    preview = panel.preview
    shown = preview.image()
    assert preview.ceiling == make_dataset(DataConfig()).ceiling_accuracy
    assert fmt_percent(preview.ceiling) in preview.caption.text() and preview.caption.toolTip() == TIP_CEILING
    assert "100 \u00d7 100 grid" in preview.caption.text()  # the checkerboard's points lie on a grid
    assert preview.isVisibleTo(panel.data_tab)

    panel.bands.setValue(3)  # redrawn as the settings change (after a short pause)
    assert preview.is_updating() and preview.caption.text() == preview.UPDATING  # never the old set's words
    qtbot.waitUntil(lambda: preview.image() != shown, timeout=5_000)
    assert not preview.is_updating() and preview.isEnabled() and "Ceiling" in preview.caption.text()
    assert preview.ceiling == make_dataset(DataConfig(bands=3)).ceiling_accuracy
    three = preview.image()
    panel.bands.setValue(4)
    qtbot.waitUntil(lambda: preview.image() == shown, timeout=5_000)  # the same settings draw the same board
    panel.bands.setValue(3)
    qtbot.waitUntil(lambda: preview.image() == three, timeout=5_000)

    for box, value in ((panel.noise, 0.05), (panel.data_seed, 3), (panel.points, 3600)):
        before = preview.image()
        box.setValue(value)
        qtbot.waitUntil(lambda: preview.image() != before, timeout=5_000)
    data = panel.config().data
    assert (data.bands, data.noise, data.seed, data.n_points) == (3, 0.05, 3, 3600)
    assert preview.ceiling == make_dataset(data).ceiling_accuracy
    assert "60 \u00d7 60 grid" in preview.caption.text()

    panel.points.setValue(160_000)  # too many points to make at every keystroke: the shape alone
    qtbot.waitUntil(lambda: preview.data == panel.config().data, timeout=5_000)
    assert preview.ceiling is None and "too many to preview" in preview.caption.text()


def test_data_preview_marks_a_change_at_once_and_draws_each_shape_once(qtbot, window):
    """The spirals' and moons' pictures are slow to draw: until the new one is shown the preview
    says it is updating, and each shape is drawn once per session."""
    from qatstudio.gui.panels.config_panel import _shape_image

    panel, preview = window.config_panel, window.config_panel.preview

    def pick(key):
        index = panel.picker.findData(key)
        panel.picker.setCurrentIndex(index)
        panel.picker.activated.emit(index)
        assert preview.is_updating() and preview.caption.text() == preview.UPDATING and not preview.isEnabled()
        qtbot.waitUntil(lambda: not preview.is_updating(), timeout=10_000)
        assert preview.data.shape == key and "Ceiling" in preview.caption.text() and preview.isEnabled()

    pick("spirals")
    pick("moons")
    drawn = _shape_image.cache_info().misses
    pick("spirals")
    assert _shape_image.cache_info().misses == drawn  # drawn before: taken from the cache
    panel.noise.setValue(panel.noise.value() + 0.01)
    panel.noise.setValue(panel.noise.value() - 0.01)  # back before the pause ended: the same words again
    assert not preview.is_updating() and "Ceiling" in preview.caption.text()


def test_shortcuts_and_tooltips(qtbot, window, run):
    from PySide6.QtGui import QKeySequence

    assert window.train_action.shortcut() == QKeySequence("Ctrl+T")
    assert window.stop_action.shortcut() == QKeySequence("Esc")
    assert window.compile_action.shortcut() == QKeySequence("Ctrl+K")
    assert window.config_panel.bits.toolTip().startswith("Bit-width:")
    assert window.config_panel.budget.toolTip().startswith("Pruning budget:")
    assert window.compile_panel.accumulator_value.toolTip() == TIP_ACCUMULATOR
    for tip in (window.config_panel.bits.toolTip(), window.config_panel.budget.toolTip(), TIP_ACCUMULATOR):
        assert tip.count(". ") == 0 and tip.endswith(".")  # one sentence

    # The shortcut really trains.
    window.config_panel.set_config(small_config(epochs=1))
    window.activateWindow()
    assert run(lambda: qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier),
               "Training") == "succeeded"


def test_screenshot_after_short_training(qtbot, window, run, tmp_path):
    """Saves the window at 1280x800 after a short run (kept as an artifact in the test's tmp dir)."""
    window.resize(1280, 800)
    train_small(qtbot, window, run, kind=ModelKind.FLOAT, pruning_budget=None, n_hidden=30, epochs=10, lr=0.02,
                data={"n_points": 3600, "n_test": 200})
    qtbot.wait(100)
    path = tmp_path / "main-window-1280x800.png"
    assert window.grab().save(str(path), "PNG")
    image = QImage(str(path))
    assert (image.width(), image.height()) == (1280, 800)
    print(f"screenshot: {path}")


@pytest.mark.parametrize("height", [800, 720])
def test_plots_stay_readable_with_the_side_docks_open(qtbot, window, height):
    """At 1280 px wide, with Configure and the Compile / Results / Deploy docks open, each training
    plot keeps at least 200 x 150 px, all of it inside the window."""
    window.resize(1280, height)
    qtbot.waitUntil(lambda: window.size().height() == height, timeout=5_000)
    qtbot.wait(50)  # the default layout is applied once the window is shown
    assert window.configure_dock.isVisible() and window.compile_dock.isVisible()
    plots = window.plots
    view = plots.rect()
    for plot in (plots.boundary_plot, plots.loss_plot, plots.acc_plot, plots.step_plot):
        box = plot.mapRectToScene(plot.boundingRect())
        name = plot.titleLabel.text
        assert box.width() >= 200 and box.height() >= 150, (name, box)
        assert view.contains(box.toRect()), (name, box, view)
    shown = plots.rect().translated(plots.mapTo(window, plots.rect().topLeft()))
    assert window.rect().contains(shown) and not shown.intersects(window.statusBar().geometry())


def test_export_report_never_offers_the_apps_resources(qtbot, window, tmp_path, monkeypatch):
    """After a story step was opened (from the app's resources), Export report starts in the user's
    documents; then in the folder of the last report."""
    from qatstudio.gui.demo import controller
    from qatstudio.gui.demo.controller import install_demo
    from qatstudio.gui.window.files import documents_folder
    from qatstudio.services.experiment_file import load_experiment
    from qatstudio.services.history import History, RunRecord
    from qatstudio.services.paths import story_dir
    from qatstudio.services.story import load_story

    history = History(tmp_path / "history")
    history.add(RunRecord.from_experiment(load_experiment(load_story()[0].path)))
    demo = install_demo(window, history=history)
    try:
        window.settings.setValue("last_dir", str(story_dir()))  # as opening a story step leaves it
        offered = []

        def save_as(parent, title, start, name_filter, pick):
            offered.append(Path(start).parent)
            return tmp_path / "reports" / "mine.html"

        monkeypatch.setattr(controller, "choose_path", save_as)
        (tmp_path / "reports").mkdir()
        assert demo.export_dialog() == [tmp_path / "reports" / "mine.html", tmp_path / "reports" / "mine.json"]
        assert offered == [documents_folder()]
        assert window.files.folder() == str(documents_folder())  # nor do the window's own dialogs
        demo.export_dialog()
        assert offered[-1] == tmp_path / "reports"  # the last report's folder, next time
    finally:
        demo.shutdown()


def test_view_menu_has_every_panel_and_generate_keys_no_done_mark(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QMenu

    from qatstudio.gui.demo.controller import install_demo
    from qatstudio.services.history import History

    demo = install_demo(window, history=History(tmp_path / "history"))
    try:
        view = window.menuBar().findChild(QMenu, "viewMenu")
        names = [action.text() for action in view.actions() if not action.isSeparator()]
        assert names == ["Configure", "Compile", "Results", "Deploy", "History", "Story", "Trade-offs"]
        story = demo.story_dock.toggleViewAction()
        assert story.isCheckable() and not story.isChecked()
        story.trigger()  # shown from View like from the Demo menu
        qtbot.waitUntil(demo.story_dock.isVisible, timeout=5_000)
        demo.chart_dock.toggleViewAction().trigger()
        qtbot.waitUntil(demo.chart_dock.isVisible, timeout=5_000)
        assert demo.story_dock in window.tabifiedDockWidgets(demo.chart_dock)  # sharing the bottom as tabs
        assert window.keygen_action.icon().isNull()  # no check mark that reads as "done"
    finally:
        demo.shutdown()


def test_the_configure_panel_and_the_session_follow_each_other(window):
    """The panel's valid configuration is the session's (what Train runs); a draft with problems
    leaves the session as it was; a configuration set on the session (the demo's) replaces the draft."""
    panel, session = window.config_panel, window.session
    session.set_config(small_config(n_hidden=9))
    assert panel.neurons.value() == 9 and panel.config() == session.config
    panel.neurons.setValue(11)
    assert session.config.n_hidden == 11
    panel.budget.setValue(panel.budget.maximum())  # more inputs than a neuron has
    assert panel.config().problems() and not window.train_action.isEnabled()
    assert session.config.n_hidden == 11 and session.config.pruning_budget != panel.budget.value()
    session.set_config(session.config)
    assert not panel.config().problems() and window.train_action.isEnabled()
