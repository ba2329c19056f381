"""Data sets in the window: the picker of generated shapes, and the boundary plot for many features
(a plane of two), many classes (their colours) and one feature (a strip). Real models, small sets."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPointF, Qt

from qatstudio.engine.config import SHAPES, DataConfig, ExperimentConfig, ModelKind
from qatstudio.engine.data import Table, make_dataset
from qatstudio.engine.training import predict, predict_logits, train
from qatstudio.gui.panels.config_panel import PICK_TITLES, PICKS
from qatstudio.gui.charts.plots import MAX_DRAWN_POINTS, BoundaryMap, TrainingPlots
from qatstudio.services.formatting import CLASS_COLORS, SHAPE_TITLES, class_shades
from qatstudio.services.views import plane_boundary

from .conftest import small_config


def pick(panel, key: str) -> None:
    """Choose ``key`` in the data picker as a user does (``activated``, not a programmatic change)."""
    index = panel.picker.findData(key)
    assert index >= 0, key
    panel.picker.setCurrentIndex(index)
    panel.picker.activated.emit(index)


def test_the_picker_offers_every_shape_with_its_thumbnail(qtbot, window):
    panel = window.config_panel
    keys = [panel.picker.itemData(i) for i in range(panel.picker.count())]
    assert set(SHAPES) <= set(keys) and "board3" in keys
    assert [panel.picker.itemText(i) for i in range(len(keys))] == [PICK_TITLES[key] for key in keys]
    assert all(PICK_TITLES[shape] == SHAPE_TITLES[shape] for shape in SHAPES)
    thumbnails = [panel.picker.itemIcon(i).pixmap(32).toImage() for i in range(len(keys))]
    assert all(not image.isNull() for image in thumbnails)
    assert len({image.cacheKey() for image in thumbnails}) == len(keys)
    assert all(thumbnails[i] != thumbnails[j] for i in range(len(keys)) for j in range(i))  # each its own picture


@pytest.mark.parametrize("key", list(PICKS))
def test_pick_each_shape_and_train_it(qtbot, window, run, key):
    panel = window.config_panel
    panel.set_config(small_config(kind=ModelKind.FLOAT, pruning_budget=None, n_hidden=16, epochs=1,
                                  data=dict(n_points=400, n_test=100, seed=3)))
    pick(panel, key)
    data = panel.config().data
    # The shape's suggested jitter (the 3 x 3 board: none); the size, test points and seed kept.
    assert data == DataConfig.for_shape(**PICKS[key], n_points=400, n_test=100, seed=3)
    section = panel.data_tab
    assert panel.bands.isVisibleTo(section) == (data.shape == "checkerboard")
    assert panel.noise.isVisibleTo(section) and not panel.test_share.isVisibleTo(section)
    qtbot.waitUntil(lambda: panel.preview.data == data, timeout=5_000)
    dataset = make_dataset(data)
    assert panel.preview.ceiling == dataset.ceiling_accuracy  # the ceiling sentence stays
    assert "Ceiling" in panel.preview.caption.text()
    assert ("20 \u00d7 20 grid" in panel.preview.caption.text()) == (data.shape == "checkerboard")

    assert run(lambda: qtbot.mouseClick(window.train_button, Qt.MouseButton.LeftButton), "Training") == "succeeded"
    experiment = window.session.run.experiment
    assert experiment.config.data == data and len(experiment.history) == 1
    assert window.plots.has_boundary() and window.plots.epoch_count() == 1
    assert window.plots.ceiling() == pytest.approx(100 * dataset.ceiling_accuracy)
    assert not window.plots.plane_chooser.isVisible()  # two features: nothing to choose
    assert window.plots.boundary_map.drawn == len(dataset.y_test)


def test_picking_a_shape_keeps_the_model(qtbot, window):
    panel = window.config_panel
    panel.set_config(ExperimentConfig(kind=ModelKind.FLOAT, n_hidden=30, data=DataConfig(bands=3, noise=0.0, seed=7)))
    assert panel.picker.currentData() == "board3"  # the 3 x 3 board is shown as itself
    pick(panel, "spirals")
    config = panel.config()
    assert (config.kind, config.n_hidden, config.data.shape, config.data.seed) == (ModelKind.FLOAT, 30, "spirals", 7)
    assert config.data.noise == DataConfig.for_shape("spirals").noise
    panel.bands.setValue(3)  # hidden for a spiral: nothing changes
    panel.noise.setValue(0.0)
    assert panel.picker.currentData() == "spirals"
    pick(panel, "checkerboard")
    assert panel.config().data == DataConfig(seed=7)


# ---------------------------------------------------------------- the boundary plot


def table_data(n_features: int, n_classes: int, rows: int = 600, seed: int = 0) -> tuple[DataConfig, Table]:
    """A table of the user's kind, made here: classes by the sign pattern of two features."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, n_features)) * np.arange(1, n_features + 1)
    score = features[:, 0] + (features[:, 1] if n_features > 1 else 0.0)
    labels = np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1])).astype(np.int64)
    names = tuple(f"feature {i}" for i in range(n_features))
    classes = tuple(["setosa", "versicolor", "virginica", "other"][:n_classes])
    data = DataConfig(shape="table", table_name="made.csv", table_sha256="0" * 64, table_bytes=1, label_column="y",
                      n_features=n_features, n_classes=n_classes)
    return data, Table(features, labels, names, classes)


def trained_on(data: DataConfig, table: Table):
    config = ExperimentConfig(kind=ModelKind.FLOAT, n_hidden=16, epochs=10, lr=0.05, seed=0, data=data)
    dataset = make_dataset(data, table)
    result = train(config, dataset)
    return dataset, result


def probabilities(model, dataset) -> np.ndarray:
    """Class probabilities over the data set's grid, (rows, cols, k)."""
    logits = torch.from_numpy(predict_logits(model, dataset.grid))
    return torch.softmax(logits, dim=1).numpy().reshape(*dataset.grid_shape, -1)


def shown_plots(qtbot) -> TrainingPlots:
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(900, 700)
    plots.show()
    qtbot.waitExposed(plots)
    return plots


def test_plane_view_of_a_four_feature_table(qtbot):
    data, table = table_data(4, 2)
    dataset, result = trained_on(data, table)
    plots = shown_plots(qtbot)
    plots.load([], result.history, result.kept_record, dataset, predict(result.model, dataset.x_test))
    chooser = plots.plane_chooser
    assert chooser.isVisible() and plots.plane() == (0, 1)
    assert [chooser.x_box.itemText(i) for i in range(chooser.x_box.count())] == list(table.feature_names)
    assert plots.boundary_plot.getAxis("bottom").labelText == "feature 0"
    before = plots.boundary_map.image.image.copy()

    chosen = []
    plots.planeChosen.connect(chosen.append)
    chooser.x_box.setCurrentIndex(2)
    chooser.x_box.activated.emit(2)
    assert chosen == [(2, 1)]
    view = plane_boundary(result.model, dataset, (2, 1))
    assert view.dataset.plane == (2, 1) and view.boundary.shape == dataset.grid_shape
    plots.set_plane(view.dataset.plane, view.boundary)
    after = plots.boundary_map.image.image
    assert not np.array_equal(before, after)  # feature 2 is not feature 0: another picture
    assert plots.boundary_plot.getAxis("bottom").labelText == "feature 2"
    assert plots.boundary_plot.getAxis("left").labelText == "feature 1"
    # The test points are drawn on the new plane.
    drawn = np.concatenate([item.data["x"] for item in plots.boundary_map.points if len(item.data)])
    assert np.allclose(np.sort(drawn), np.sort(dataset.x_test[:, 2]))

    chooser.y_box.setCurrentIndex(2)  # the feature on the other axis: the two swap
    chooser.y_box.activated.emit(2)
    assert chosen[-1] == (1, 2) and chooser.plane() == (1, 2)


def shown_colour(view, plot, x: float, y: float) -> np.ndarray:
    """The RGB ``view`` shows at the data point (x, y) of ``plot``."""
    point = view.mapFromScene(plot.getViewBox().mapViewToScene(QPointF(x, y)))
    colour = view.grab().toImage().pixelColor(point)
    return np.array([colour.red(), colour.green(), colour.blue()])


def test_many_classes_take_their_colours_and_names(qtbot):
    data, table = table_data(3, 3)
    dataset, result = trained_on(data, table)
    plots = shown_plots(qtbot)
    plots.set_data(dataset.feature_names, dataset.class_names, dataset.plane)
    plots.set_plane(dataset.plane, probabilities(result.model, dataset))  # the first image the plot shows
    plots.set_test_points(None, None)
    plots.redraw()
    sure = probabilities(result.model, dataset).max(axis=2)
    row, col = np.unravel_index(sure.argmax(), sure.shape)
    expected = class_shades(probabilities(result.model, dataset))[row, col]
    assert np.abs(shown_colour(plots, plots.boundary_plot, (col + 0.5) / 100, (row + 0.5) / 100) - expected).max() <= 6
    plots.load([], result.history, result.kept_record, dataset, None)
    plots.set_plane(dataset.plane, probabilities(result.model, dataset))
    legend = [label.text for _, label in plots.boundary_legend.items]
    assert legend == ["setosa", "versicolor", "virginica", "misclassified"]
    assert not plots.color_bar.isVisible()  # no single probability to scale
    shown = plots.boundary_map.image.image
    assert shown.shape == dataset.grid_shape + (3,) and shown.dtype == np.uint8
    assert np.array_equal(shown, class_shades(probabilities(result.model, dataset)))
    # Every class has a region where the model is fairly sure, drawn in its class's colour (paler where less sure).
    sure = probabilities(result.model, dataset).max(axis=2) > 0.7
    best = probabilities(result.model, dataset).argmax(axis=2)
    tints = 255 - np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in CLASS_COLORS[:3]], dtype=float)
    for label in range(3):
        where = sure & (best == label)
        assert where.any(), f"no region of class {label}"
        tint = 255 - shown[where].astype(float)  # how far from white, and towards which colour
        cosine = tint @ tints.T / np.linalg.norm(tint, axis=1, keepdims=True) / np.linalg.norm(tints, axis=1)
        assert np.all(cosine.argmax(axis=1) == label) and cosine[:, label].min() > 0.99

    # Back to two classes: the ramp and its colour bar, named after class 1.
    two, table2 = table_data(3, 2)
    dataset2, result2 = trained_on(two, table2)
    plots.load([], result2.history, result2.kept_record, dataset2, None)
    assert plots.color_bar.isVisible() and plots.boundary_map.image.image.ndim == 2
    assert "versicolor" in plots.color_bar.getAxis("bottom").labelText


def test_one_feature_is_a_strip(qtbot):
    data, table = table_data(1, 2)
    dataset, result = trained_on(data, table)
    plots = shown_plots(qtbot)
    plots.load([], result.history, result.kept_record, dataset, predict(result.model, dataset.x_test))
    assert plots.boundary_map.is_strip and not plots.plane_chooser.isVisible()
    image = plots.boundary_map.image.image
    assert np.array_equal(image, np.broadcast_to(image[0], image.shape))  # the same along y
    # The test points: along the feature, each class in its own lane.
    for label, item in enumerate(plots.boundary_map.points[:2]):
        assert np.all((item.data["y"] > label / 2) & (item.data["y"] < (label + 1) / 2))
    ticks = plots.boundary_plot.getAxis("left")._tickLevels[0]
    assert [name for _, name in ticks] == ["setosa", "versicolor"]


def test_many_test_points_are_drawn_as_a_sample(qtbot):
    plots = shown_plots(qtbot)
    boundary = BoundaryMap(plots.boundary_plot)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(50_000, 2)).astype(np.float32), rng.integers(0, 2, 50_000)
    predictions = y.copy()
    predictions[:10_000] = 1 - y[:10_000]  # a fifth wrong
    boundary.set_points(x, y, predictions)
    assert boundary.drawn == MAX_DRAWN_POINTS
    assert sum(len(item.data) for item in boundary.points) == MAX_DRAWN_POINTS
    assert 0.1 * MAX_DRAWN_POINTS < boundary.misclassified_count() < 0.3 * MAX_DRAWN_POINTS
    first = [item.data["x"].copy() for item in boundary.points[:2]]
    boundary.set_points(x, y, predictions)  # the same sample every time (epoch after epoch)
    assert all(np.array_equal(a, item.data["x"]) for a, item in zip(first, boundary.points[:2]))
