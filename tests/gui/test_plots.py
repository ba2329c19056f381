"""The live plots: one unit on the accuracy axis, a boundary legend that never hides the points, tick
labels that never run together, the ceiling named where the curves aren't, axes that keep their range
while live and the last epoch shown once the run is over; the Compile panel's accumulator chart,
shown once there is a model, its legend clear of the limit."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QFontMetrics

from qatstudio.engine.data import make_dataset
from qatstudio.engine.lowering import lower
from qatstudio.engine.training import Step, train
from qatstudio.gui.charts.plots import TrainingPlots
from qatstudio.gui.panels.compile_panel import CompilePanel
from qatstudio.services.formatting import fmt_percent

from .conftest import small_config


@pytest.fixture(scope="module")
def trained():
    config = small_config(epochs=3)
    dataset = make_dataset(config.data)
    losses = []
    result = train(config, dataset, on_event=lambda event: losses.append(event.loss) if isinstance(event, Step) else None)
    return dataset, losses, result.history, lower(result.model, dataset.x_train)


def shown_plots(qtbot, size) -> TrainingPlots:
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(*size)
    plots.show()
    qtbot.waitExposed(plots)
    return plots


def accuracy_range(plots):
    return plots.acc_plot.getViewBox().viewRange()[1]


@pytest.mark.parametrize("size", [(520, 420), (900, 700), (1600, 900)])
def test_accuracy_axis_is_in_percent_before_and_after_training(qtbot, trained, size):
    dataset, losses, history, _ = trained
    plots = shown_plots(qtbot, size)
    low, high = accuracy_range(plots)
    assert low <= 0 and high >= 100  # empty: the whole 0-100 % scale, not a 0-1 fraction

    plots.load(losses, history, history[-1], dataset, None)
    qtbot.wait(50)
    accuracies = list(plots.test_acc_curve.yData)
    assert len(accuracies) == 3 and all(1 < value <= 100 for value in accuracies)
    low, high = accuracy_range(plots)
    assert low <= min(accuracies) and high >= max(accuracies) and high > 1.5

    plots.reset()
    low, high = accuracy_range(plots)
    assert low <= 0 and high >= 100

    # a run at 100 % from the first epoch: the axis stops at (about) 100 %, never 140 %
    for epoch in history:
        plots.add_epoch(dataclasses.replace(epoch, train_accuracy=1.0, test_accuracy=1.0))
    plots.redraw()
    qtbot.wait(50)
    low, high = accuracy_range(plots)
    assert 100 <= high <= 102.5 and low < 100


@pytest.mark.parametrize("size", [(520, 420), (900, 700), (1600, 900)])
def test_boundary_legend_never_covers_the_points(qtbot, trained, size):
    dataset, losses, history, _ = trained
    plots = shown_plots(qtbot, size)
    plots.load(losses, history, history[-1], dataset, None)
    qtbot.wait(50)
    view = plots.boundary_plot.getViewBox()
    square = view.mapViewToScene(QRectF(0, 0, 1, 1)).boundingRect()  # the input square
    legend = plots.boundary_legend.sceneBoundingRect()
    assert legend.height() > 0 and not legend.intersects(square)
    assert plots.boundary_plot.sceneBoundingRect().contains(legend)


def test_one_palette_for_the_window_and_the_report():
    from qatstudio.gui.charts import plots, tradeoff_chart
    from qatstudio.gui.panels import history_panel
    from qatstudio.services import formatting as palette
    from qatstudio.services import report

    assert tradeoff_chart.LEGEND_LOOKS is palette.LEGEND_LOOKS and tradeoff_chart.config_look is palette.config_look
    assert plots.BOUNDARY_COLORMAP.map(0.0, mode="qcolor").name() == palette.BOUNDARY_RAMP[0]
    assert plots.BOUNDARY_COLORMAP.map(1.0, mode="qcolor").name() == palette.BOUNDARY_RAMP[-1]
    assert history_panel.boundary_qimage is plots.boundary_qimage  # thumbnails drawn by the plots' own code
    ends = report.boundary_rgb([0.0, 1.0])
    assert ["#%02x%02x%02x" % tuple(rgb) for rgb in ends] == [palette.BOUNDARY_RAMP[0], palette.BOUNDARY_RAMP[-1]]


def tick_labels(axis) -> tuple[list[tuple[float, str]], float]:
    """The major ticks ``axis`` draws now, as (pixel position along it, label), and its length in pixels."""
    low, high = axis.range
    across = axis.orientation in ("top", "bottom")
    size = axis.geometry().width() if across else axis.geometry().height()
    levels = axis._tickLevels or axis.tickValues(low, high, size)
    if axis._tickLevels:
        ticks = [(value, text) for value, text in axis._tickLevels[0]]
    else:
        spacing, values = levels[0]
        ticks = list(zip(values, axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, spacing)))
    return [((value - low) / (high - low) * size, text) for value, text in ticks], size


def assert_labels_apart(axis) -> None:
    ticks, size = tick_labels(axis)
    metrics = QFontMetrics(axis.style["tickFont"] or axis.font())
    assert ticks, f"{axis.orientation} axis: no tick"
    for (a, first), (b, second) in zip(ticks, ticks[1:]):
        if axis.orientation in ("top", "bottom"):  # centred on their ticks, side by side
            need = (metrics.horizontalAdvance(first) + metrics.horizontalAdvance(second)) / 2
        else:  # one above the other
            need = metrics.height()
        assert abs(b - a) >= need, f"{axis.orientation} axis, {size:.0f} px: '{first}' and '{second}' run together"


@pytest.mark.parametrize("size", [(520, 300), (560, 330), (900, 700), (1600, 900)])
@pytest.mark.parametrize("epochs", [3, 13, 40])
def test_tick_labels_never_run_together(qtbot, trained, size, epochs):
    """The boundary's 0 0.25 0.5 0.75 1 and the epochs 1 2 3...: as many as the plot's width leaves room for."""
    dataset, losses, history, _ = trained
    history = [dataclasses.replace(history[i % len(history)], epoch=i + 1) for i in range(epochs)]
    plots = shown_plots(qtbot, size)
    plots.load(losses, history, history[-1], dataset, None)
    qtbot.wait(50)
    for plot in (plots.boundary_plot, plots.loss_plot, plots.acc_plot):
        for name in ("left", "bottom"):
            assert_labels_apart(plot.getAxis(name))
    ticks, _ = tick_labels(plots.acc_plot.getAxis("bottom"))
    assert all(text.isdigit() for _, text in ticks)  # whole epochs
    if size[0] >= 1600:  # room for every quarter of the square
        assert [text for _, text in tick_labels(plots.boundary_plot.getAxis("bottom"))[0]] == \
            ["0", "0.25", "0.5", "0.75", "1"]


@pytest.mark.parametrize("size", [(520, 300), (900, 700)])
def test_legends_sit_under_the_epoch_plots_clear_of_the_curves(qtbot, trained, size):
    dataset, losses, history, _ = trained
    plots = shown_plots(qtbot, size)
    assert plots.ceiling_text() == "" and not plots.acc_legend.isVisible()
    plots.load(losses, history, history[-1], dataset, None)
    qtbot.wait(50)
    assert plots.ceiling() == pytest.approx(100 * dataset.ceiling_accuracy)
    assert plots.ceiling_text() == f"ceiling {fmt_percent(dataset.ceiling_accuracy)}"
    assert not hasattr(plots.ceiling_line, "label")  # no text on the line, where it sat on the curves
    legend = plots.acc_legend.sceneBoundingRect()
    assert legend.height() > 0 and plots.acc_plot.sceneBoundingRect().contains(legend)
    assert not legend.intersects(plots.acc_plot.getViewBox().sceneBoundingRect())  # under the plot, not on it
    train_test = plots.loss_legend.sceneBoundingRect()  # the epoch curves' legend too
    assert [label.text for _, label in plots.loss_legend.items] == ["train", "test"]
    assert plots.loss_plot.sceneBoundingRect().contains(train_test)
    assert not train_test.intersects(plots.loss_plot.getViewBox().sceneBoundingRect())
    plots.set_ceiling(None)
    assert plots.ceiling() is None and plots.ceiling_text() == "" and not plots.acc_legend.isVisible()


def test_the_plane_chooser_shows_feature_names_in_full(qtbot):
    from PySide6.QtWidgets import QStyle, QStyleOptionComboBox

    plots = shown_plots(qtbot, (900, 700))
    names = ("leaf_length_mm", "leaf_width_mm", "a very long feature name indeed")
    plots.set_data(names, ("a", "b"), (0, 1))
    qtbot.wait(50)
    box = plots.plane_chooser.x_box
    option = QStyleOptionComboBox()
    option.initFrom(box)
    field = box.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                       QStyle.SubControl.SC_ComboBoxEditField, box)
    text = QFontMetrics(box.font())
    assert field.width() >= text.horizontalAdvance("leaf_length_mm")  # was cut at 8 characters
    assert box.width() < text.horizontalAdvance(names[2])  # but not at any length: the rest in the tooltip


def test_the_accumulator_chart_shows_once_there_is_a_model_its_legend_clear_of_the_limit(qtbot, trained):
    *_, model = trained
    panel = CompilePanel()
    qtbot.addWidget(panel)
    panel.resize(360, 700)
    panel.show()
    qtbot.waitExposed(panel)
    # nothing to show yet: the sentence says what to do; no empty gauge, chart, figures or key bar
    assert not panel.chart.isVisible() and not panel.accumulator_box.isVisible() and not panel.figures_box.isVisible()
    assert not panel.keygen_progress.isVisible() and panel.status_text()
    panel.show_estimate(model)
    qtbot.wait(50)
    assert panel.chart.isVisible() and panel.accumulator_box.isVisible() and not panel.figures_box.isVisible()
    plot = panel.chart.getPlotItem()
    ticks = [label for _, label in plot.getAxis("bottom")._tickLevels[0]]
    assert ticks == [f"hidden {i + 1}" for i in range(len(model.layers) - 1)] + ["output"]
    legend = panel.legend.sceneBoundingRect()
    assert legend.height() > 0 and not legend.intersects(plot.getViewBox().sceneBoundingRect())
    assert panel.chart.viewport().rect().contains(panel.chart.mapFromScene(legend).boundingRect())
    panel.clear("Train a model, then compile it.")
    assert not panel.chart.isVisible()


def test_live_plots_keep_their_axes_and_show_the_last_epoch_once_the_run_is_over(qtbot, trained):
    """While live, the loss axes grow only when a loss leaves them and accuracy stays on 0-100 % (a
    changed range repaints the axes and all their plot holds); an epoch's boundary and rings follow
    its curves; once the run is over the y axes fit what was learned and the last epoch shows."""
    dataset, losses, history, _ = trained
    plots = shown_plots(qtbot, (900, 700))
    plots.reset()
    plots.set_data(dataset.feature_names, dataset.class_names, dataset.plane)
    plots.set_test_points(dataset.x_test, dataset.y_test)
    plots.set_extent(len(losses), len(history))
    plots.start_live()
    per_epoch = len(losses) // len(history)
    loss_range = plots.loss_plot.getViewBox().viewRange()[1]
    for number, epoch in enumerate(history):
        plots.add_steps(losses[number * per_epoch:(number + 1) * per_epoch])
        wrong = number + 1  # this many test points predicted wrong: as many rings
        predictions = np.where(np.arange(len(dataset.y_test)) < wrong, 1 - dataset.y_test, dataset.y_test)
        plots.add_epoch(epoch, predictions)
        qtbot.waitUntil(lambda: plots.epoch_count() == number + 1 and plots.misclassified_count() == wrong)
        assert plots.has_boundary()
        shown = [epoch.train_loss, epoch.test_loss]
        top = plots.loss_plot.getViewBox().viewRange()[1]
        if number and max(shown) <= loss_range[1]:
            assert top == loss_range  # the axis kept its range (and its ticks)
        assert top[0] == 0 and top[1] >= max(shown)
        loss_range = top
        assert accuracy_range(plots) == pytest.approx([-2, 102], abs=0.5)  # 0-100 % while live
    plots.stop_live()
    qtbot.wait(50)
    assert plots.loss_plot.getViewBox().autoRangeEnabled()[1] and plots.acc_plot.getViewBox().autoRangeEnabled()[1]
    low, high = accuracy_range(plots)
    accuracies = [100 * epoch.test_accuracy for epoch in history] + [100 * epoch.train_accuracy for epoch in history]
    assert low <= min(accuracies) and high >= max(accuracies) and high - low < 100  # fitted to the curves
    last = history[-1]
    assert plots.epoch_count() == len(history) and plots.step_count() == per_epoch * len(history)
    assert plots.boundary_plot.titleLabel.text == f"Epoch {last.epoch} \u00b7 test accuracy {100 * last.test_accuracy:.1f}%"
    assert list(plots.test_acc_curve.yData) == [100 * epoch.test_accuracy for epoch in history]


def test_new_predictions_ring_the_points_they_get_wrong_without_moving_the_points(qtbot, trained):
    dataset, *_ = trained
    plots = shown_plots(qtbot, (900, 700))
    plots.set_test_points(dataset.x_test, dataset.y_test)
    plots.redraw()
    points = [item.data for item in plots.boundary_map.points]  # each setData makes new ones
    predictions = dataset.y_test.copy()
    predictions[:5] = 1 - predictions[:5]
    plots.set_predictions(predictions)
    plots.redraw()
    assert plots.misclassified_count() == 5
    assert all(item.data is before for item, before in zip(plots.boundary_map.points, points))
    plots.set_predictions(None)
    plots.redraw()
    assert plots.misclassified_count() == 0


@pytest.mark.parametrize("size", [(1180, 860), (1180, 430)])
def test_a_wide_window_gives_the_epoch_curves_the_room_not_empty_bands_beside_the_square(qtbot, size):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(*size)
    plots.show()
    box = plots.boundary_plot.getViewBox()
    # once laid out, about square: no wide empty frame around the 0-1 square
    qtbot.waitUntil(lambda: box.height() > 100 and box.width() < 1.25 * box.height(), timeout=3_000)
    assert plots.loss_plot.width() > plots.boundary_plot.width()  # the curves take what the square doesn't need
