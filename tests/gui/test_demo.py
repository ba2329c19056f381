"""The demo features on the real window and the real core (no mocks): the guided story, presentation
mode, the run history and its trade-off chart, sweeps and reports."""
from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QToolBar

from qatstudio.engine.config import DataConfig, ExperimentConfig, ModelKind
from qatstudio.engine.data import make_dataset
from qatstudio.gui.demo.controller import DemoController, install_demo
from qatstudio.gui.demo.presentation import BASE_PT, TYPE
from qatstudio.services.experiment_file import load_experiment
from qatstudio.services.formatting import METRICS_BY_KEY, fmt_measure, fmt_percent, run_name
from qatstudio.services.history import History, RunRecord, pareto_front
from qatstudio.services.story import load_story
from qatstudio.services.tasks import Outcome

from .conftest import make_window


@pytest.fixture(scope="module")
def story_records():
    """The five shipped story experiments as history records (figures only; ids made unique)."""
    records = []
    for step in load_story():
        record = RunRecord.from_experiment(load_experiment(step.path), label=f"run of step {step.number}")
        record.experiment_path = str(step.path)
        records.append(record)
    return records


def fresh(record: RunRecord, **changes) -> RunRecord:
    """A copy of ``record`` (records are mutable and shared by the module)."""
    copy = RunRecord.from_json(record.to_json())
    for name, value in changes.items():
        setattr(copy, name, value)
    return copy


@pytest.fixture
def history(tmp_path):
    return History(tmp_path / "history")


@pytest.fixture
def demo(window, history):
    controller = install_demo(window, history=history)
    yield controller
    controller.shutdown()


def wait_story(qtbot, demo: DemoController) -> None:
    demo.story.load()
    qtbot.waitUntil(demo.story.loaded, timeout=60_000)


def test_each_story_step_shows_its_boundary_accuracy_and_accumulator(qtbot, window, demo):
    titles = [a.text().replace("&", "") for a in demo.menu.actions() if not a.isSeparator()]
    for expected in ("Guided story", "Presentation mode", "Sweep\u2026", "Export report\u2026"):
        assert expected in titles
    assert demo.presentation_action.shortcut().toString() == "F11"
    assert demo.menu.menuAction() in window.menuBar().actions()

    demo.story_action.trigger()  # Demo > Guided story
    assert demo.story_dock.isVisible() and demo.story_panel.current == 1
    wait_story(qtbot, demo)
    panel = demo.story_panel
    steps = json.loads((load_story()[0].path.parent / "story.json").read_text())["steps"]
    dataset = make_dataset(DataConfig())
    for step, shipped in zip(panel.steps, steps):
        qtbot.mouseClick(panel.cards[step.number - 1], Qt.MouseButton.LeftButton)  # one click per step
        assert panel.current == step.number
        assert panel.cards[step.number - 1].is_selected()
        experiment = load_experiment(step.path)
        m, report = experiment.metrics, experiment.stats
        # the figures shown are the file's, and the ones the story's text quotes
        assert panel.tile_text("quantized") == fmt_percent(m.clear_accuracy)
        assert panel.tile_text("fhe") == fmt_percent(m.fhe_simulated_accuracy)
        assert panel.tile_text("accumulator") == f"{report.accumulator_bits} bits"
        assert panel.tile_text("lookups") == str(report.pbs_count)
        assert fmt_percent(m.clear_accuracy) in shipped["measured"]
        assert f"accumulator {report.accumulator_bits} bits" in shipped["measured"]
        if m.float_accuracy is not None:
            assert panel.tile_text("float") == fmt_percent(m.float_accuracy)
        # both boundaries: the trained model's, and the integer model's (what FHE computes)
        assert np.array_equal(panel.trained_map.image.image, experiment.boundary)
        integer = experiment.integer_model.predict(dataset.grid).reshape(dataset.grid_shape)
        assert np.array_equal(panel.integer_map.image.image, integer.astype(np.float32))
        wrong = int(np.count_nonzero(experiment.integer_model.predict(dataset.x_test) != dataset.y_test))
        assert panel.integer_map.misclassified_count() == wrong and panel.trained_map.misclassified_count() == 0
        assert step.title in panel.stage_title.text()
    assert panel.tile_text("latency") != "-"  # the last step ran encrypted
    right = round(m.fhe_executed_accuracy * m.fhe_executed_samples)
    assert panel.tiles["fhe"].caption.text().endswith(f"encrypted: {right} of {m.fhe_executed_samples} right")
    # the story's runs are reference points of the trade-off chart
    assert sum(p.reference for p in demo.chart.points("bits")) == len(panel.steps)


def test_rerun_live_trains_the_step_and_every_run_is_kept(qtbot, window, demo, run, history):
    wait_story(qtbot, demo)
    demo.show_story(1)
    step = demo.story_panel.step(1)

    def rerun_then_stop():
        qtbot.mouseClick(demo.story_panel.cards[0].rerun, Qt.MouseButton.LeftButton)
        assert window.is_busy()
        assert window.config_panel.config() == step.config  # the step's settings, in the window
        assert not demo.story_panel.cards[1].rerun.isEnabled()  # one run at a time
        qtbot.waitUntil(lambda: window.plots.epoch_count() >= 1, timeout=60_000)
        assert demo.story_panel.stop_button.isVisible()  # Stop within reach in presentation mode too
        qtbot.mouseClick(demo.story_panel.stop_button, Qt.MouseButton.LeftButton)  # keeps what was learned

    assert run(rerun_then_stop, "Training") == "succeeded"
    records, problems = History(history.folder).load()
    assert not problems and len(records) == 1
    record = records[0]
    assert record.config == step.config and "stopped early" in record.label
    assert record.boundary is not None and record.metrics.clear_accuracy is not None
    assert record.accumulator_bits is None  # not compiled yet
    assert "Live re-run (stopped early)" in demo.story_panel.live.text()
    assert demo.history_panel.records()[0].id == record.id
    assert demo.story_panel.cards[1].rerun.isEnabled() and not demo.story_panel.stop_button.isVisible()

    # Later results of the same run update its entry (same id), and its file opens it again.
    assert run(window.compile_action.trigger, "Compiling") == "succeeded"
    records, _ = History(history.folder).load()
    assert [r.id for r in records] == [record.id]
    assert records[0].accumulator_bits == window.session.run.compiled.stats.accumulator_bits
    assert "accumulator" in demo.story_panel.live.text()
    assert any(p.record.id == record.id for p in demo.chart.points("bits"))
    assert load_experiment(records[0].experiment_path).stats is not None


def test_history_survives_a_restart_and_a_damaged_entry(qtbot, settings, tmp_path, story_records):
    folder = tmp_path / "history"
    kept = [fresh(story_records[0], id="a-first", created=1.0), fresh(story_records[3], id="b-second", created=2.0)]
    for record in kept:
        History(folder).add(record)
    (folder / "c-broken.json").write_text('{"id": "c", "created": 3, "config": ')  # torn write

    for _ in range(2):  # the first start, then a restart: a new window on a new History instance
        window = make_window(qtbot, settings)
        demo = install_demo(window, history=History(folder))
        panel = demo.history_panel
        assert [r.id for r in panel.records()] == ["b-second", "a-first"]  # newest first
        assert "c-broken.json" in panel.banner.message()  # shown in the History dock
        assert len(panel.problems) == 1 and "damaged" in panel.problems[0]
        assert {p.record.id for p in demo.chart.points("bits")} == {"a-first", "b-second"}

        # Compare side by side: thumbnails, accuracies, accumulator, PBS, latency.
        panel.select(["a-first", "b-second"])
        compare = panel.compare
        assert [r.id for r in compare.records()] == ["b-second", "a-first"]
        for record in kept:
            m = record.metrics
            assert compare.value(record.id, "accumulator") == f"{record.accumulator_bits} bits"
            assert compare.value(record.id, "pbs") == f"{record.pbs_count:,}"
            assert compare.value(record.id, "clear") == fmt_percent(m.clear_accuracy)
            assert compare.value(record.id, "simulated") == fmt_percent(m.fhe_simulated_accuracy)
            assert compare.value(record.id, "float") == fmt_percent(m.float_accuracy)
        assert compare.is_best("b-second", "clear") and not compare.is_best("a-first", "clear")
        assert compare.is_best("a-first", "pbs")  # 42 lookups against 82
        assert len(compare.findChildren(type(panel.count_label))) >= 2
        assert demo.chart._highlighted == {"a-first", "b-second"}
        demo.shutdown()
        window.close()

    # the damaged entry is still there (reported, never deleted)
    assert (folder / "c-broken.json").exists()


def test_compare_ranks_accuracies_on_the_same_data_only(qtbot, window, demo, story_records):
    first, fourth = story_records[0], story_records[3]
    spirals = dataclasses.replace(fourth.config, data=dataclasses.replace(fourth.config.data, shape="spirals"))
    records = [fresh(first, id="a-checkerboard", created=1.0), fresh(fourth, id="b-spirals", created=2.0,
                                                                      config=spirals, label=run_name(spirals))]
    compare = demo.history_panel.compare
    compare.set_records(records)
    assert not any(compare.is_best(r.id, key) for r in records for key in ("float", "clear", "simulated"))
    assert compare.is_best("a-checkerboard", "pbs")  # a cost is a cost on any data
    assert compare.note.parent() is compare and "different data sets" in compare.note.text()
    assert "on spirals" in records[1].label

    compare.set_records([fresh(first, id="a"), fresh(fourth, id="b")])  # the same data: ranked, no note
    assert compare.is_best("b", "clear") and compare.note.parent() is None
    # the encrypted run's steady-state latency and its first sample's warm-up are rows of their own
    encrypted = story_records[4]
    compare.set_records([fresh(first, id="a"), fresh(encrypted, id="e")])
    shown = compare._values[("e", "warmup")].text()
    assert shown == fmt_measure(METRICS_BY_KEY["warmup"], encrypted.metrics.fhe_warmup_s) != "-"


def settled(qtbot, read):
    """``read()`` once two readings 50 ms apart agree (the window's docks are sized in queued steps)."""
    seen = [read()]

    def same() -> bool:
        qtbot.wait(50)
        seen.append(read())
        return seen[-1] == seen[-2]

    qtbot.waitUntil(same, timeout=5_000)
    return seen[-1]


def test_tradeoff_chart_hover_click_and_pareto_front(qtbot, window, demo, run, story_records):
    records = [fresh(r, id=f"run-{i}", created=float(i)) for i, r in enumerate(story_records)]
    records.append(fresh(story_records[3], id="run-figures-only", created=9.0, experiment_path=None))
    for record in records:
        demo.history.add(record)
    demo.reload_history()
    demo.chart_box.show_story_runs.setChecked(False)
    demo.chart_action.trigger()
    chart = demo.chart
    qtbot.waitUntil(lambda: chart.isVisible())
    points = chart.points("bits")
    assert {p.record.id for p in points} == {r.id for r in records}
    # each point: accuracy against the accumulator; coloured by kind
    for p in points:
        assert p.y == pytest.approx(100 * p.record.accuracy) and p.value == p.record.accumulator_bits
    expected = pareto_front([(p.value, p.y) for p in points])
    assert [p.record.id for p in chart.front("bits")] == [points[i].record.id for i in expected]
    # latency: measured for the run that ran encrypted, estimated from Concrete's cost for the others
    latency = {p.record.id: p for p in chart.points("latency")}
    assert not latency["run-4"].estimated and latency["run-4"].value == pytest.approx(records[4].fhe_latency_s)
    assert latency["run-0"].estimated and latency["run-0"].value > 0

    # hover: the card shows the run's figures and its configuration (once the docks have their heights)
    where = settled(qtbot, lambda: chart.mapFromScene(chart.scene_position("run-1")))
    qtbot.mouseMove(chart.viewport(), where)
    qtbot.waitUntil(lambda: chart.hovered() is not None, timeout=5_000)
    assert chart.hovered().id == "run-1"
    text = chart.card_text()
    assert records[1].label in text and "accumulator" in text and "100 neurons" in text.replace("\u00d7", " ")
    assert "epochs" in text and "seed" in text

    # click: a run kept as figures only puts its settings into Configure
    with qtbot.waitSignal(chart.runClicked) as clicked:
        qtbot.mouseClick(chart.viewport(), Qt.MouseButton.LeftButton,
                         pos=chart.mapFromScene(chart.scene_position("run-figures-only")))
    assert clicked.args[0].id == "run-figures-only"
    assert window.config_panel.config() == records[-1].config
    assert "figures only" in window.banner.message()
    # a run with its experiment file opens it in the window
    point = chart.mapFromScene(chart.scene_position("run-2", "latency"))
    outcome = run(lambda: qtbot.mouseClick(chart.viewport(), Qt.MouseButton.LeftButton, pos=point), "Opening")
    assert outcome is Outcome.SUCCEEDED and str(window.session.path) == records[2].experiment_path
    assert demo.history_panel.selected_records()[0].id == "run-2"


def with_data(record: RunRecord, record_id: str, **data) -> RunRecord:
    """A copy of ``record`` trained (so its figures say) on the data set ``data`` changes, with that
    data set's ceiling as the core computes it."""
    config = record.config.replace(data=data)
    copy = fresh(record, id=record_id, config=config)
    copy.metrics = dataclasses.replace(copy.metrics, ceiling_accuracy=make_dataset(config.data).ceiling_accuracy)
    return copy


def test_ceiling_in_history_and_tradeoff_chart(qtbot, window, demo, story_records):
    guide = [with_data(story_records[i], f"guide-{i}", **vars(DataConfig())) for i in (3, 4)]  # 4 ran encrypted
    ceiling = make_dataset(DataConfig()).ceiling_accuracy
    assert [r.metrics.ceiling_accuracy for r in guide] == [ceiling, ceiling]
    for record in guide:
        demo.history.add(record)
    demo.reload_history()
    demo.chart_box.show_story_runs.setChecked(False)
    panel, chart = demo.history_panel, demo.chart

    # History: the shared ceiling over the list, each run's in Compare (a reference, never marked "best")
    assert f"all on one data set: ceiling {fmt_percent(ceiling)}" in re.sub("<[^>]+>", "", panel.count_label.text())
    panel.select(["guide-3", "guide-4"])
    assert panel.compare.value("guide-3", "ceiling") == fmt_percent(ceiling)
    assert not panel.compare.is_best("guide-3", "ceiling") and not panel.compare.is_best("guide-4", "ceiling")

    # Trade-off chart: one data set, one dashed line at its ceiling in both panels
    assert chart.ceiling() == ceiling
    for panel_name in ("bits", "latency"):
        line = chart._items[panel_name]["ceiling"]
        assert line.isVisible() and line.value() == pytest.approx(100 * ceiling)
        assert not hasattr(line, "label")  # no text on the line: on it, the text sat on the Pareto front
    assert f"ceiling {fmt_percent(ceiling)}" in chart.legend.text

    # A run on another data set: no shared line, each run's ceiling in its hover card instead
    other = with_data(story_records[3], "board-3x3", bands=3, noise=0.0)
    demo.history.add(other)
    demo.reload_history()
    assert chart.ceiling() is None and not chart._items["bits"]["ceiling"].isVisible()
    assert "ceiling" not in panel.count_label.text()
    card = chart.describe(other)
    assert f"ceiling</td><td>{fmt_percent(other.metrics.ceiling_accuracy)}" in card
    assert "3 bands, jitter 0" in card
    assert f"ceiling</td><td>{fmt_percent(ceiling)}" in chart.describe(guide[0])


def studio_as_it_is(window) -> dict:
    """What presentation mode must leave as it was on the studio's window."""
    palette = window.palette()
    axis = window.plots.step_plot.getAxis("left")
    return dict(
        docks={d.objectName(): (d.isVisible(), d.geometry() if d.isVisible() else None)
               for d in window.findChildren(QDockWidget)},
        toolbars={t.objectName(): t.isVisible() for t in window.findChildren(QToolBar)},
        central=window.centralWidget().geometry(), size=window.size(), state=window.windowState(),
        font=window.font().pointSizeF(), config_font=window.config_panel.font().pointSizeF(),
        text=palette.color(palette.ColorRole.WindowText).name(), menu=window.menuBar().isVisible(),
        plots=window.plots.parentWidget(), axis=(axis.fixedWidth, axis.pen().widthF(), axis.style["tickFont"]),
        curve=window.plots.train_loss_curve.opts["pen"].widthF(),
    )


def test_presentation_is_a_screen_of_its_own_that_leaves_the_studio_as_it_was(qtbot, window, demo):
    """F11: one step per screen (title, sentence, six tiles, both boundaries), then the trade-offs as
    a page; large type at one scale, high contrast; Esc back to the studio, untouched."""
    demo.show_chart()
    demo.show_story(1)  # the story and the trade-offs docked at the bottom, as in the demo
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    wait_story(qtbot, demo)
    qtbot.wait(100)
    before = studio_as_it_is(window)
    view, panel = demo.presentation, demo.story_panel

    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert view.is_active() and demo.presentation_action.isChecked() and demo.next_action.isEnabled()
    qtbot.waitUntil(lambda: view.isFullScreen() and view.isActiveWindow(), timeout=5_000)
    assert view.geometry() == window.screen().geometry()
    assert view.palette().color(view.palette().ColorRole.WindowText).name() == "#000000"
    wait_story(qtbot, demo)
    assert view.page == 1 and panel.current == 1
    # one scale for every text: each role's size is the same multiple of the base at every size
    scale = view.scale
    assert view.heading.font().pointSizeF() == pytest.approx(BASE_PT * TYPE["heading"] * scale)
    assert view.sentence.font().pointSizeF() == pytest.approx(BASE_PT * TYPE["text"] * scale)
    assert view.tiles["fhe"].value.font().pointSizeF() == pytest.approx(BASE_PT * TYPE["figure"] * scale)
    tick = view.trained_view.plot.getAxis("left").style["tickFont"].pointSizeF()
    assert tick == pytest.approx(BASE_PT * TYPE["plot"] * scale) and tick >= 1.2 * window.font().pointSizeF()

    for step in panel.steps:
        assert view.page == step.number and panel.current == step.number
        assert step.title in view.heading.text() and f"Step {step.number} of 5" in view.heading.text()
        assert view.sentence.text() == step.text
        assert {key: tile.value.text() for key, tile in view.tiles.items()} == \
            {key: panel.tile_text(key) for key in view.tiles}  # the panel's figures, computed once
        assert np.array_equal(view.trained_view.map.image.image, panel.trained_map.image.image)
        assert np.array_equal(view.integer_view.map.image.image, panel.integer_map.image.image)
        assert view.stage.currentWidget() is view.boundaries and view.boundaries.isVisible()
        assert view.deploy_button.isVisible() == (step.deploy_points > 0)  # in view, never scrolled to
        assert view.rerun_button.isVisible() and view.rerun_button.isEnabled()
        qtbot.keyClick(view, Qt.Key.Key_PageDown)  # what a presenter's remote sends
    assert view.is_tradeoff_page() and "trade-offs" in view.where.text() and not view.tile_row.isVisible()
    assert view.isAncestorOf(demo.chart) and demo.chart.isVisible() and demo.chart.presentation
    assert demo.chart.plots["bits"].getAxis("bottom").labelStyle["font-size"] == f"{view.pt('plot'):.1f}pt"
    assert sum(p.reference for p in demo.chart.points("bits")) == 5
    qtbot.keyClick(view, Qt.Key.Key_PageDown)  # the last page stays
    assert view.is_tradeoff_page()
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert view.page == 5 and panel.current == 5
    view.set_deploy_step(5)  # the Deploy panel on stage, then the live plots: both lent, both given back
    assert view.showing(window.deploy_panel)
    view.set_live_step(5)
    assert view.showing(window.plots) and window.deploy_dock.widget().widget() is window.deploy_panel

    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not view.is_active() and not view.isVisible() and not demo.presentation_action.isChecked()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    assert demo.chart_dock.isAncestorOf(demo.chart) and not demo.chart.presentation  # lent, and given back
    assert studio_as_it_is(window) == before
    assert not demo.next_action.isEnabled()  # not the demo: the keys are the widgets' own again
    qtbot.keyClick(window, Qt.Key.Key_F11)  # and again: the same view, at the step shown
    qtbot.waitUntil(view.isFullScreen, timeout=5_000)
    assert view.page == 5
    demo.presentation.set_active(False)


def test_clicker_keys_move_the_story_in_the_demo_full_screen_or_not(qtbot, window, demo):
    """What a presenter's remote sends (page keys, arrows, space, B) works in the demo without F11
    and in presentation mode, whichever window has the keyboard; Esc leaves presentation mode."""
    assert not demo.next_action.isEnabled()  # not the demo: the keys are the widgets' own
    demo.start_demo()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    panel, view = demo.story_panel, demo.presentation
    assert panel.current == 1 and not window.isFullScreen()
    demo.story_panel.list_area.setFocus()  # the step list: PgDown would scroll it
    for key, step in ((Qt.Key.Key_PageDown, 2), (Qt.Key.Key_Right, 3), (Qt.Key.Key_Space, 4), (Qt.Key.Key_Left, 3),
                      (Qt.Key.Key_PageUp, 2)):
        qtbot.keyClick(window.focusWidget() or window, key)
        assert panel.current == step, QKeySequence(key).toString()
    assert not window.isFullScreen()

    qtbot.keyClick(window, Qt.Key.Key_B)  # a black screen, and back
    assert demo.black_screen.isVisible() and demo.black_screen.geometry() == window.rect()
    qtbot.keyClick(window, Qt.Key.Key_B)
    assert not demo.black_screen.isVisible()

    qtbot.keyClick(window, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: view.isFullScreen() and view.isActiveWindow(), timeout=5_000)
    assert view.page == 2
    for key, page in ((Qt.Key.Key_PageDown, 3), (Qt.Key.Key_Space, 4), (Qt.Key.Key_Right, 5), (Qt.Key.Key_Right, 6),
                      (Qt.Key.Key_PageUp, 5), (Qt.Key.Key_Left, 4)):
        qtbot.keyClick(view, key)
        assert view.page == page, QKeySequence(key).toString()
    qtbot.keyClick(window, Qt.Key.Key_PageDown)  # the studio behind has the keyboard: the view still follows
    assert view.page == 5 and panel.current == 5
    view.set_deploy_step(5)  # the Deploy panel on stage: a click in its spin box leaves the arrows to the remote
    window.deploy_panel.points.setFocus()
    qtbot.keyClick(QApplication.focusWidget() or view, Qt.Key.Key_Left)
    assert view.page == 4 and window.deploy_panel.points.value() == 5
    qtbot.keyClick(QApplication.focusWidget() or view, Qt.Key.Key_Right)
    assert view.page == 5
    qtbot.keyClick(view, Qt.Key.Key_B)  # black over the presentation, not over the studio behind it
    assert view.black_screen.isVisible() and view.black_screen.geometry() == view.rect()
    assert not demo.black_screen.isVisible()
    qtbot.keyClick(view, Qt.Key.Key_B)
    assert not view.black_screen.isVisible()
    qtbot.keyClick(view, Qt.Key.Key_Escape)  # leaves presentation mode
    assert not view.is_active() and not view.isVisible()
    assert QKeySequence("Esc") in window.stop_action.shortcuts()  # Stop has its key back
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_PageUp)  # still the demo: the keys still work
    assert panel.current == 4


def test_a_step_rerun_live_on_stage_shows_the_live_plots_there(qtbot, window, demo, run):
    """Re-run live from the presentation: the window's live plots take the boundaries' place on that
    step's page (in the view's type), until another page is shown; then they are the studio's again."""
    wait_story(qtbot, demo)
    view = demo.presentation
    view.set_active(True)
    view.show_page(1)
    curve = window.plots.train_loss_curve.opts["pen"].widthF()
    legend = window.plots.loss_legend.boundingRect()
    assert not view.showing(window.plots) and window.centralWidget().isAncestorOf(window.plots)

    def rerun_then_stop():
        qtbot.mouseClick(view.rerun_button, Qt.MouseButton.LeftButton)
        assert window.is_busy() and window.config_panel.config() == demo.story_panel.step(1).config
        assert view.showing(window.plots) and view.isAncestorOf(window.plots) and window.plots.isVisible()
        assert window.plots.train_loss_curve.opts["pen"].widthF() > curve  # thicker lines on stage
        assert window.plots.loss_plot.getAxis("left").style["tickFont"].pointSizeF() == pytest.approx(view.pt("plot"))
        assert not window.plots.step_plot.isVisible()  # on stage the boundary takes the step losses' row
        assert view.stop_button.isVisible() and not view.rerun_button.isEnabled()
        assert "training now" in view.live.text()
        qtbot.waitUntil(lambda: window.plots.epoch_count() >= 1, timeout=60_000)
        qtbot.mouseClick(view.stop_button, Qt.MouseButton.LeftButton)

    assert run(rerun_then_stop, "Training") == "succeeded"
    assert view.showing(window.plots)  # the run's last picture stays while its step is on screen
    assert "Live re-run (stopped early)" in view.live.text() and not view.stop_button.isVisible()
    assert "not compiled yet" in view.live.text() and "Ctrl+" not in view.live.text()  # no key that does nothing here
    view.next_page()
    assert not view.showing(window.plots) and window.centralWidget().isAncestorOf(window.plots)
    assert window.plots.train_loss_curve.opts["pen"].widthF() == curve
    assert window.plots.step_plot.isVisible()
    back = window.plots.loss_legend.boundingRect()  # the legend shrinks back to the studio's text
    assert back.height() == legend.height() and abs(back.width() - legend.width()) <= 2
    view.previous_page()  # back on the step: its shipped figures, the live result in words
    assert view.stage.currentWidget() is view.boundaries and "stopped early" in view.live.text()
    view.set_active(False)


def test_closing_in_presentation_mode_saves_the_normal_layout(qtbot, settings, tmp_path):
    window = make_window(qtbot, settings)
    demo = install_demo(window, history=History(tmp_path / "history"))
    demo.presentation.set_active(True)
    qtbot.waitUntil(demo.presentation.isFullScreen, timeout=5_000)
    demo.presentation.set_live_step(1)  # the live plots and the chart lent to the view
    assert demo.presentation.showing(window.plots)
    window.close()
    assert not demo.presentation.is_active() and not demo.presentation.isVisible()
    assert window.centralWidget().isAncestorOf(window.plots) and demo.chart_dock.isAncestorOf(demo.chart)
    again = make_window(qtbot, settings)  # the next start: the layout saved at closing
    install_demo(again, history=History(tmp_path / "history"))
    assert not again.isFullScreen() and again.menuBar().isVisible()
    assert again.configure_dock.isVisible() and again.windowState() == Qt.WindowState.WindowNoState
    assert all(t.isVisible() for t in again.findChildren(QToolBar))
    again.demo_controller.shutdown()


def tiny_base() -> ExperimentConfig:
    return ExperimentConfig(kind=ModelKind.QAT, n_hidden=8, n_layers=2, bits=3, epochs=1, lr=0.02, batch_size=32, seed=0,
                            restarts=1, data=DataConfig(n_points=900, n_test=100))


def test_sweep_runs_in_the_background_and_a_cancel_keeps_finished_runs(qtbot, window, demo, history):
    window.config_panel.set_config(tiny_base())
    dialog = demo.open_sweep_dialog()
    assert dialog.isVisible() and not dialog.isModal()
    dialog.set_ranges("6-8", "3", "off, 4", "0", epochs=1, kind=ModelKind.QAT)
    assert dialog.preview.text().startswith("<b>6 runs")
    dialog.neurons.setText("6-8, x")
    assert "can't read 'x'" in dialog.preview.text() and not dialog.start_button.isEnabled()
    dialog.neurons.setText("6-8")
    dialog.scheduler.setText("my-laptop:8786")
    assert "tcp://HOST:PORT" in dialog.preview.text() and not dialog.start_button.isEnabled()
    dialog.scheduler.setText("")  # worker processes of this computer

    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.is_running() and window.is_busy()  # the window's runner: no training alongside
    assert not window.train_button.isEnabled() and not dialog.scheduler.isEnabled()
    # a finished run and the progress that counts it arrive as two messages
    qtbot.waitUntil(lambda: len(dialog.records) >= 2 and dialog.progress.value() >= 2, timeout=90_000)
    assert re.search(r"\d / 6 runs finished", dialog.status.text()) and "left" in dialog.status.text()  # ETA
    assert dialog.progress.maximum() == 6 and dialog.progress.value() >= 2
    counts = {name: int(label.text()) for name, label in dialog.counts.items()}
    assert counts["done"] >= 2 and sum(counts.values()) == 6
    link = re.search(r'<a href="(http://127\.0\.0\.1:\d+/status)">', dialog.dashboard.text())
    assert link and dialog.dashboard.openExternalLinks()  # Dask's dashboard, one click away
    with qtbot.waitSignal(dialog.sweepFinished, timeout=90_000) as finished:
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    result = finished.args[0]
    assert result.cancelled and 2 <= len(result.records) < 6
    assert "Cancelled" in dialog.status.text()
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=30_000)
    assert "shut down" in dialog.dashboard.text() and "href" not in dialog.dashboard.text()  # no dead link

    ids = [r.id for r in result.records]
    stored, problems = History(history.folder).load()
    assert [r.id for r in stored] == ids and not problems  # kept, and survive a restart
    assert [r.id for r in dialog.records] == ids
    assert {r.id for r in demo.history_panel.records()} == set(ids)
    assert {p.record.id for p in demo.chart.points("bits")} >= set(ids)  # fed to the chart as they finished
    for record in stored:
        assert record.config.data.n_points == 900 and record.config.epochs == 1
        assert record.accumulator_bits and record.metrics.fhe_simulated_accuracy is not None
    assert dialog.start_button.isEnabled() and window.train_button.isEnabled()


def test_an_unreachable_scheduler_is_told_in_words(qtbot, window, demo):
    window.config_panel.set_config(tiny_base())
    dialog = demo.open_sweep_dialog()
    dialog.set_ranges("6", "3", "off", "0", epochs=1)
    assert dialog.preview.text() == "<b>1 run</b>" and dialog.progress_text() == ""  # nothing counted before
    dialog.scheduler.setText("tcp://127.0.0.1:9")  # nothing listens there
    with qtbot.waitSignal(dialog.sweepFinished, timeout=60_000) as finished:
        assert dialog.start()
        assert dialog.progress_text() == "0 / 1 run finished"
    assert finished.args[0] is None
    assert "Can't run it on that Dask cluster: can't reach the Dask scheduler at tcp://127.0.0.1:9" in dialog.status.text()
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=30_000)
    assert not dialog.records and dialog.start_button.isEnabled()


def test_closing_the_window_during_a_sweep_stops_it_first(qtbot, settings, tmp_path):
    window = make_window(qtbot, settings)
    demo = install_demo(window, history=History(tmp_path / "history"))
    window.config_panel.set_config(tiny_base())
    dialog = demo.open_sweep_dialog()
    dialog.set_ranges("6-9", "3", "off", "0", epochs=1)
    assert dialog.start()
    qtbot.waitUntil(lambda: len(dialog.records) >= 1, timeout=90_000)
    window.close()
    assert window.isVisible()  # not yet: the sweep stops first
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=90_000)
    assert not window.is_busy() and not dialog.is_running()
    assert len(History(tmp_path / "history").load()[0]) == len(dialog.records)


def test_report_holds_every_selected_run(qtbot, window, demo, tmp_path, story_records):
    records = [fresh(r, id=f"r{i}", created=float(i), label=f"report run {i}") for i, r in enumerate(story_records[:3])]
    for record in records:
        demo.history.add(record)
    demo.reload_history()
    demo.history_panel.select(["r0", "r2"])
    assert demo.history_panel.export_button.text() == "Report of 2\u2026"
    html_path, json_path = demo.export_report(tmp_path / "out" / "report")
    assert html_path.name == "report.html" and json_path.name == "report.json"
    text = html_path.read_text()
    assert text.count('href="data:image/png;base64,') == 2  # one boundary per selected run
    for record in (records[0], records[2]):
        assert record.label in text
        assert fmt_percent(record.metrics.fhe_simulated_accuracy) in text
        assert f"<td>{record.accumulator_bits} bits</td>" in text and f"<td>{record.pbs_count:,}</td>" in text
    assert records[1].label not in text
    assert [r["id"] for r in json.loads(json_path.read_text())["runs"]] == ["r0", "r2"]
    assert "report.html" in window.status_text()


@pytest.mark.slow
def test_the_fhe_step_deploys_its_run_through_a_local_server(qtbot, window, demo, run):
    """Step 5's "Deploy it": the window opens the step's run, compiles it, and sends test points
    through a local server in a child process; the decrypted answers are the clear model's."""
    wait_story(qtbot, demo)
    panel = demo.story_panel
    demo.show_story(4)
    assert panel.deploy_button.isHidden()  # only the FHE step deploys
    demo.show_story(5)
    assert not panel.deploy_button.isHidden() and panel.deploy_button.isEnabled()
    assert run(panel.deploy_button.click, "Deployment", timeout_ms=400_000) == "succeeded"
    assert window.deploy_dock.isVisible()
    assert panel.live.text().startswith("Deployed through a local server that saw only ciphertexts")
    assert "Agreement with the clear model: 100.00% (5 points)" in panel.live.text()
    step = demo.story.steps[4]
    rows = window.deploy_panel.rows()
    assert len(rows) == step.deploy_points
    points = window.session.run.dataset.x_test[:step.deploy_points]
    clear = window.session.run.experiment.integer_model.predict(points)
    assert [int(row[1]) for row in rows] == clear.tolist()  # decrypted from the server's answers
    assert window.session.path == step.path


def test_the_demo_menu_finds_the_cheapest_circuit_and_shows_its_candidates(qtbot, window, demo, story_records):
    """Demo ▸ Find the cheapest circuit opens the window's optimizer; each candidate it finishes
    shows in the history and the trade-off chart at once (the search has kept it already)."""
    assert demo.optimize_action in demo.menu.actions()
    demo.optimize_action.trigger()
    dialog = window.optimize_dialog
    assert dialog is not None and dialog.isVisible()
    candidate = fresh(story_records[0], id="candidate-1")
    shown = len(demo.history_panel.records())
    dialog.runFinished.emit(candidate)
    assert len(demo.history_panel.records()) == shown + 1
    demo.optimize_action.trigger()  # opened again: still one connection
    dialog.runFinished.emit(fresh(story_records[1], id="candidate-2"))
    assert len(demo.history_panel.records()) == shown + 2
