"""The live plots: one unit on the accuracy axis, and a boundary legend that never hides the points."""
from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import QRectF

from qatstudio.engine.data import make_dataset
from qatstudio.engine.training import Step, train
from qatstudio.gui.charts.plots import TrainingPlots

from .conftest import small_config


@pytest.fixture(scope="module")
def trained():
    config = small_config(epochs=3)
    dataset = make_dataset(config.data)
    losses = []
    result = train(config, dataset, on_event=lambda event: losses.append(event.loss) if isinstance(event, Step) else None)
    return dataset, losses, result.history


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
    dataset, losses, history = trained
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
    dataset, losses, history = trained
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

    assert tradeoff_chart.KIND_COLORS is palette.KIND_COLORS
    assert plots.BOUNDARY_COLORMAP.map(0.0, mode="qcolor").name() == palette.BOUNDARY_RAMP[0]
    assert plots.BOUNDARY_COLORMAP.map(1.0, mode="qcolor").name() == palette.BOUNDARY_RAMP[-1]
    assert history_panel.boundary_qimage is plots.boundary_qimage  # thumbnails drawn by the plots' own code
    ends = report.boundary_rgb([0.0, 1.0])
    assert ["#%02x%02x%02x" % tuple(rgb) for rgb in ends] == [palette.BOUNDARY_RAMP[0], palette.BOUNDARY_RAMP[-1]]
