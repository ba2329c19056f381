"""Live training plots: loss per step, loss and accuracy per epoch, and the decision boundary.

Data arrives as often as the worker sends it; the plots redraw from a timer at most
``MAX_REDRAWS_PER_S`` times a second, and only what changed since the last redraw. While they are
live no frame is long: the y axes keep their range unless a value leaves it (each change repaints
the axes, their grid and all the plot holds), and an epoch's boundary follows its curves a tick later.
"""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QImage
from PySide6.QtWidgets import QComboBox, QGraphicsProxyWidget, QHBoxLayout, QLabel, QSizePolicy, QWidget

from ...engine.data import Dataset
from ...services.formatting import BOUNDARY_RAMP, CLASS_COLORS, MUTED_COLOR, class_label, class_shades, fmt_percent
from ..state import Enabled
from ..widgets import QWIDGETSIZE_MAX

MAX_REDRAWS_PER_S = 10
BOUNDARY_PARTS = {"boundary", "points", "predictions"}  # what redraw may change on the boundary plot
SHORT_PLOTS_PX = 480  # plots shorter than this (a dock below them) leave the step losses out
# The boundary's square under its title, above its colour bar and legend, beside its axis: what its
# column needs beyond the square's side. A wider column would leave empty bands beside the square.
BOUNDARY_FRAME_PX = (170, 70)  # height, width
BOUNDARY_LEAST_WIDTH = 240
BOUNDARY_COLORMAP = pg.ColorMap(np.linspace(0.0, 1.0, len(BOUNDARY_RAMP)), list(BOUNDARY_RAMP))
TRAIN_PEN = pg.mkPen("#1f77b4", width=2)
TEST_PEN = pg.mkPen("#ff7f0e", width=2)
FOREGROUND = "#333333"
CEILING_PEN = pg.mkPen(MUTED_COLOR, width=1.5, style=Qt.PenStyle.DashLine)


class FittedAxis(pg.AxisItem):
    """An axis whose ticks are the finest of ``steps`` (units between two ticks) that leave room
    between their labels at the axis's length in pixels and its tick font: a narrow plot gets
    fewer ticks, never labels run together. Ticks only ``within`` (low, high) when given; labels
    read as plain numbers (0.25, not 0.2)."""

    def __init__(self, orientation: str, steps: tuple[float, ...], within: Optional[tuple[float, float]] = None):
        super().__init__(orientation)
        self.steps, self.within = steps, within

    def _clipped(self, low: float, high: float) -> tuple[float, float]:
        low, high = min(low, high), max(low, high)
        return (low, high) if self.within is None else (max(low, self.within[0]), min(high, self.within[1]))

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        if self._tickSpacing is not None:
            return self._tickSpacing
        span = abs(maxVal - minVal)
        if span == 0 or size <= 0:
            return []
        low, high = self._clipped(minVal, maxVal)
        metrics = QFontMetrics(self.style["tickFont"] or self.font())
        across = self.orientation in ("top", "bottom")
        for step in self.steps:
            if span / step > size / 4:  # more than a tick per 4 px: too fine to try
                continue
            values = np.arange(math.ceil(low / step) * step, high + step * 1e-6, step)
            labels = self.tickStrings(list(values), 1.0, step)
            room = (max((metrics.horizontalAdvance(text) for text in labels), default=0)
                    + metrics.horizontalAdvance("00") if across else 1.5 * metrics.height())
            if step * size / span >= room:
                return [(step, 0.0)]
        return [(self.steps[-1], 0.0)]

    def tickValues(self, minVal: float, maxVal: float, size: float):
        low, high = self._clipped(minVal, maxVal)
        return [(spacing, [v for v in values if low - 1e-9 <= v <= high + 1e-9])
                for spacing, values in super().tickValues(minVal, maxVal, size)]

    def tickStrings(self, values, scale, spacing):
        return [f"{round(v * scale, 9) + 0.0:g}" for v in values]  # + 0.0: never "-0"


SQUARE_STEPS = (0.25, 0.5, 1.0)  # the input square's ticks: quarters, halves, or its two edges
NICE_STEPS = tuple(m * 10.0 ** e for e in range(-5, 7) for m in (1, 2, 5))  # 0.1, 0.2, 0.5, 1, 2, 5, 10...
WHOLE_STEPS = tuple(step for step in NICE_STEPS if step >= 1)  # epochs, optimizer steps


def fitted_axes(bottom_steps: tuple[float, ...]) -> dict[str, FittedAxis]:
    """A curve plot's axes: ``bottom_steps`` along x (whole epochs or steps), any nice step up the left."""
    return {"bottom": FittedAxis("bottom", bottom_steps), "left": FittedAxis("left", NICE_STEPS)}


def square_axes() -> dict[str, FittedAxis]:
    """A boundary plot's left and bottom axes: ticks on the input square only, as many as fit."""
    return {name: FittedAxis(name, SQUARE_STEPS, within=(0.0, 1.0)) for name in ("left", "bottom")}


def style_plot(plot: pg.PlotItem, title: str, x_label: str = "", y_label: str = "") -> None:
    plot.setTitle(title, color=FOREGROUND, size="9pt")
    for name, label in (("bottom", x_label), ("left", y_label)):
        axis = plot.getAxis(name)
        axis.setPen(FOREGROUND)
        axis.setTextPen(FOREGROUND)
        if label:
            axis.setLabel(label, color=FOREGROUND)
    plot.showGrid(x=True, y=True, alpha=0.15)


def class_map(classes: np.ndarray, n_classes: int) -> np.ndarray:
    """A map of classes as a boundary image: 0/1 on the two-class ramp, one-hot beyond two classes."""
    classes = np.asarray(classes)
    if n_classes <= 2:
        return classes.astype(np.float32)
    return np.eye(n_classes, dtype=np.float32)[classes]


def boundary_rgba(values: np.ndarray) -> np.ndarray:
    """A boundary image, (rows, cols) P(class 1) or (rows, cols, k) class probabilities, as RGBA bytes
    (rows as given: row 0 is y = 0)."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 3:
        rgb = class_shades(values)
        return np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    values = np.clip(np.nan_to_num(values, nan=0.5), 0.0, 1.0)
    return np.asarray(BOUNDARY_COLORMAP.map(values.ravel(), mode="byte"), dtype=np.uint8).reshape(*values.shape, 4)


def boundary_qimage(values: np.ndarray) -> QImage:
    """A boundary image (see ``boundary_rgba``; rows are y, growing upwards) as the boundary plots
    colour it."""
    rgba = np.ascontiguousarray(boundary_rgba(values)[::-1])
    height, width = rgba.shape[:2]
    image = QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888)
    return image.copy()  # owns its pixels (rgba goes away)


def show_boundary(item: pg.ImageItem, values: Optional[np.ndarray]) -> None:
    """``values`` (see ``boundary_rgba``) on ``item`` over the input square; None clears it."""
    if values is None:
        item.clear()
        return
    values = np.asarray(values, dtype=np.float32)
    rgb = values.ndim == 3
    item.setImage(class_shades(values) if rgb else values, autoLevels=False)
    item.setLevels((0, 255) if rgb else (0.0, 1.0))  # after: levels set before the first image win over setImage's
    item.setRect(0.0, 0.0, 1.0, 1.0)


def make_boundary_plot(plot: pg.PlotItem, title: str) -> pg.ImageItem:
    """Prepare ``plot`` to show an image over the input square [0, 1]^2 (rows are y)."""
    plot.setAxisItems(square_axes())
    style_plot(plot, title, "x1", "x2")
    image = pg.ImageItem(axisOrder="row-major")
    image.setColorMap(BOUNDARY_COLORMAP)
    image.setLevels((0.0, 1.0))
    plot.addItem(image)
    image.setRect(0.0, 0.0, 1.0, 1.0)
    plot.setAspectLocked(True)
    plot.setRange(xRange=(-0.03, 1.03), yRange=(-0.03, 1.03), padding=0)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    plot.showGrid(x=False, y=False)
    return image


CHOOSER_CHARS = 15  # the plane chooser's lists show names this long in full (longer: in their tooltips)
LEGEND_CHARS = 14  # longer class names are cut short in the legend: two columns of them fit a narrow plot


def elided(text: str, chars: int) -> str:
    """``text`` in at most ``chars`` characters: its start and end kept (names often differ at the end)."""
    if len(text) <= chars:
        return text
    head = (chars - 1) // 2
    return text[:head] + "\u2026" + text[len(text) - (chars - 1 - head):]

MAX_DRAWN_POINTS = 2_000  # more test points than this: a seeded sample of them is drawn


@lru_cache(maxsize=4)
def drawn_points(n: int) -> np.ndarray:
    """Which of ``n`` test points a boundary map draws: all, or the same seeded sample every time."""
    if n <= MAX_DRAWN_POINTS:
        chosen = np.arange(n)
    else:
        chosen = np.sort(np.random.default_rng(0).choice(n, MAX_DRAWN_POINTS, replace=False))
    chosen.setflags(write=False)
    return chosen


class BoundaryMap:
    """On ``plot``: a boundary image over the input square, the test points in their class colours
    and the misclassified ones ringed. The window's live plot and the story's both draw with it.

    With more than two features the map shows the plane of two of them (``set_data``); with one
    feature, a strip: the boundary along it, and the test points in one lane per class."""

    def __init__(self, plot: pg.PlotItem, title: str = "", point_size: float = 6):
        self.plot = plot
        self.image = make_boundary_plot(plot, title)
        self.points = [pg.ScatterPlotItem(brush=pg.mkBrush(color)) for color in CLASS_COLORS]
        self.wrong = pg.ScatterPlotItem(symbol="o", brush=pg.mkBrush(0, 0, 0, 0))
        for item in (*self.points, self.wrong):
            plot.addItem(item)
        self.plane = (0, 1)
        self.n_classes = 2
        self.drawn = 0  # test points drawn (at most MAX_DRAWN_POINTS)
        self._every = 0  # test points given (set_points), of which those drawn are:
        self._chosen: Optional[np.ndarray] = None  # their indices,
        self._labels: Optional[np.ndarray] = None  # their labels
        self._where: Optional[np.ndarray] = None  # and where they are drawn
        self.set_point_size(point_size)

    def set_data(self, feature_names: tuple[str, ...], class_names: tuple[str, ...], plane: tuple[int, int]) -> None:
        """The data's names, and the features on x and y (the same one twice: a strip)."""
        self.plane, self.n_classes = tuple(plane), len(class_names)
        left, bottom = self.plot.getAxis("left"), self.plot.getAxis("bottom")
        bottom.setLabel(feature_names[plane[0]], color=FOREGROUND)
        if self.is_strip:
            lanes = [((c + 0.5) / self.n_classes, class_label(name)) for c, name in enumerate(class_names)]
            left.setTicks([lanes])
            left.setLabel("class", color=FOREGROUND)
        else:
            left.setTicks(None)  # the square's own, as many as fit
            left.setLabel(feature_names[plane[1]], color=FOREGROUND)

    @property
    def is_strip(self) -> bool:
        return self.plane[0] == self.plane[1]

    def set_point_size(self, size: float) -> None:
        """Test points ``size`` pixels wide; the rings of the misclassified ones around them."""
        for item in self.points:
            item.setSize(size)
            item.setPen(pg.mkPen("w", width=0.13 * size))
        self.wrong.setSize(size + 5)
        self.wrong.setPen(pg.mkPen("#111111", width=1.0 + 0.1 * size))

    def set_image(self, values: Optional[np.ndarray]) -> None:
        """P(class 1), class probabilities (rows, cols, k) or a ``class_map`` over the grid (rows
        are y); None clears it."""
        show_boundary(self.image, values)

    def _positions(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Where the test points ``x`` (labels ``y``) are drawn: on the plane, or in their class's lane."""
        if not self.is_strip:
            return np.stack([x[:, self.plane[0]], x[:, self.plane[1]]], axis=1)
        spread = np.random.default_rng(1).uniform(-0.3, 0.3, len(y))  # the same for the same points
        return np.stack([x[:, self.plane[0]], (y + 0.5 + spread) / self.n_classes], axis=1)

    def set_points(self, x: Optional[np.ndarray], y: Optional[np.ndarray],
                   predictions: Optional[np.ndarray] = None) -> None:
        """The test points ``x`` with labels ``y`` (a seeded sample of them when there are many);
        those ``predictions`` get wrong are ringed. None for ``x`` clears them."""
        if x is None:
            for item in (*self.points, self.wrong):
                item.clear()
            self.drawn, self._every, self._where = 0, 0, None
            return
        self._every = len(y)
        self._chosen = drawn_points(self._every)
        x, self._labels = np.asarray(x)[self._chosen], np.asarray(y)[self._chosen]
        self._where = self._positions(x, self._labels)
        self.drawn = len(self._labels)
        for label, item in enumerate(self.points):
            shown = self._where[self._labels == label]
            item.setData(shown[:, 0], shown[:, 1])
        self.set_predictions(predictions)

    def set_predictions(self, predictions: Optional[np.ndarray]) -> None:
        """Ring the drawn test points that ``predictions`` (one class per test point) get wrong; the
        points stay where they are (cheaper than ``set_points``, as a live plot's epochs need)."""
        if self._where is None or predictions is None or len(predictions) != self._every:
            self.wrong.clear()
            return
        wrong = self._where[np.asarray(predictions)[self._chosen] != self._labels]
        self.wrong.setData(wrong[:, 0], wrong[:, 1])

    def has_image(self) -> bool:
        return self.image.image is not None

    def misclassified_count(self) -> int:
        """Misclassified test points ringed (among those drawn)."""
        return len(self.wrong.data)


class PlaneChooser(QWidget):
    """Two small lists of the features: which one the boundary plot shows along x, which along y."""

    planeChosen = Signal(tuple)  # (x feature, y feature)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("planeChooser")
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setToolTip("The plane the boundary is drawn on: two features, every other one at its training median.")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.x_box, self.y_box = QComboBox(), QComboBox()
        for axis, box in (("x", self.x_box), ("y", self.y_box)):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(8)
            box.setToolTip(f"The feature along {axis}")
            box.activated.connect(lambda index, axis=axis: self._picked(axis, index))
            label = QLabel(axis)
            label.setStyleSheet(f"color:{FOREGROUND};")
            layout.addWidget(label)
            layout.addWidget(box)
        layout.addStretch(1)

    def set_features(self, names: tuple[str, ...], plane: tuple[int, int]) -> None:
        # as wide as the longest name ('leaf_length_mm' was cut at 8 characters), up to CHOOSER_CHARS of
        # them; Qt counts the length in widths of an 'x'
        metrics = QFontMetrics(self.x_box.font())
        longest = max([metrics.horizontalAdvance(name[:CHOOSER_CHARS]) for name in names] + [0])
        length = max(8, math.ceil(longest / metrics.horizontalAdvance("x")))
        for box in (self.x_box, self.y_box):
            box.setMinimumContentsLength(length)
            box.clear()
            for name in names:
                box.addItem(name)
                box.setItemData(box.count() - 1, name, Qt.ItemDataRole.ToolTipRole)
        self.set_plane(plane)

    def set_plane(self, plane: tuple[int, int]) -> None:
        self.x_box.setCurrentIndex(plane[0])
        self.y_box.setCurrentIndex(plane[1])
        self._shown = tuple(plane)

    def plane(self) -> tuple[int, int]:
        return self.x_box.currentIndex(), self.y_box.currentIndex()

    def _picked(self, axis: str, index: int) -> None:
        """A feature already on the other axis swaps places with the one it replaces."""
        other, previous = (self.y_box, self._shown[0]) if axis == "x" else (self.x_box, self._shown[1])
        if other.currentIndex() == index:
            other.setCurrentIndex(previous)
        self._shown = self.plane()
        self.planeChosen.emit(self._shown)


def _hint_item(plot: pg.PlotItem) -> pg.TextItem:
    """A hidden text in the middle of ``plot``'s view, wrapped to its width, that stays there as it resizes."""
    view = plot.getViewBox()
    item = pg.TextItem(color=FOREGROUND, anchor=(0.5, 0.5))
    item.setParentItem(view)  # in the view's pixels, not its data: the axes' ranges don't move it

    def place(*_) -> None:
        rect = view.boundingRect()
        item.setTextWidth(max(60.0, rect.width() - 16))
        item.setPos(rect.center())

    view.sigResized.connect(place)
    place()
    item.hide()
    return item


def legend_under(plot: pg.PlotItem, row: int = 4, **options) -> pg.LegendItem:
    """A legend in ``plot``'s own layout at ``row`` (4: under its bottom axis), centred: never over what it
    plots. It spans the axes' columns too and keeps thin margins, so it makes the plot no wider."""
    legend = pg.LegendItem(labelTextColor=FOREGROUND, verSpacing=-6, horSpacing=12, **options)
    legend.layout.setContentsMargins(2, 2, 2, 2)
    legend.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    plot.layout.addItem(legend, row, 0, 1, 3, Qt.AlignmentFlag.AlignHCenter)
    return legend


class TrainingPlots(pg.GraphicsLayoutWidget):
    """The central plots; feed them with ``add_steps``/``add_epoch`` from any rate of events."""

    planeChosen = Signal(tuple)  # the user chose the boundary's plane: (x feature, y feature)

    def __init__(self, parent=None):
        super().__init__(parent, show=False)
        self.setBackground("w")
        self.redraws = 0  # how many timer redraws actually drew something (tests, benchmark)
        self._losses: list[float] = []
        self._restart = 0  # the restart whose evaluations the epoch curves show
        self._kept = None
        self._epochs: list[int] = []
        self._train_loss: list[float] = []
        self._test_loss: list[float] = []
        self._train_acc: list[float] = []
        self._test_acc: list[float] = []
        self._boundary: Optional[np.ndarray] = None
        self._x_test: Optional[np.ndarray] = None
        self._y_test: Optional[np.ndarray] = None
        self._predictions: Optional[np.ndarray] = None
        self._dirty: set[str] = set()
        self._tops: dict[pg.PlotItem, float] = {}  # live: the loss plots' y axes, grown by hand (_grow)
        self._hint = ""
        self._hints: dict[pg.PlotItem, pg.TextItem] = {}  # made with the plots
        self._steps_wanted = True  # see set_steps_shown
        self.feature_names: tuple[str, ...] = ()
        self.class_names: tuple[str, ...] = ()

        # Boundary large on the left, the epoch curves beside it, the step losses along the bottom.
        self._build_boundary_plot()
        self._build_epoch_plots()
        self._build_step_plot()

        for plot in (self.loss_plot, self.acc_plot, self.step_plot):
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(54)

        layout = self.ci.layout
        layout.setColumnStretchFactor(0, 3)
        layout.setColumnStretchFactor(1, 2)
        for row in (0, 1, 2):
            layout.setRowStretchFactor(row, 1)
        self.ci.geometryChanged.connect(self._arrange_rows)

        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / MAX_REDRAWS_PER_S))
        self._timer.timeout.connect(self._redraw_live)
        # What to do, in the middle of each plot while it is empty and nothing runs (set_hint)
        self._hints = {plot: _hint_item(plot) for plot in (self.boundary_plot, self.loss_plot, self.acc_plot,
                                                          self.step_plot)}
        for plot in self._hints:
            plot.getViewBox().sigResized.connect(self._show_hints)

    def _build_boundary_plot(self) -> None:
        """The boundary over the input square, its colour bar, its legend and the plane's chooser."""
        self.boundary_plot = self.addPlot(row=0, col=0, rowspan=2)
        self.boundary_map = BoundaryMap(self.boundary_plot, "Decision boundary", point_size=6)
        self.color_bar = pg.ColorBarItem(values=(0, 1), colorMap=BOUNDARY_COLORMAP,
                                         label="P(class 1)", interactive=False, width=10, orientation="h")
        self.color_bar.setImageItem(self.boundary_map.image, insert_in=self.boundary_plot)
        for name in ("bottom", "top"):
            bar_axis = self.color_bar.getAxis(name)
            bar_axis.setPen(FOREGROUND)
            bar_axis.setTextPen(FOREGROUND)
        # The legend sits in the plot's own layout under the colour bar, never over the points.
        self.boundary_legend = legend_under(self.boundary_plot, row=6, colCount=2)
        # Under it, in the plot's bottom-left corner: the plane's two features (more than two features only).
        self.plane_chooser = PlaneChooser()
        self.plane_chooser.planeChosen.connect(self.planeChosen)
        self._chooser_item = QGraphicsProxyWidget()
        self._chooser_item.setWidget(self.plane_chooser)
        self.boundary_plot.layout.addItem(self._chooser_item, 7, 0, 1, 2, Qt.AlignmentFlag.AlignLeft)
        self.set_data(Dataset.feature_names, Dataset.class_names, (0, 1))

    def _build_epoch_plots(self) -> None:
        """Loss and accuracy per epoch, train and test, with their legend and the ceiling's line."""
        self.loss_plot = self.addPlot(row=0, col=1, axisItems=fitted_axes(WHOLE_STEPS))
        style_plot(self.loss_plot, "Loss per epoch", "epoch", "loss")
        self.train_loss_curve = self.loss_plot.plot(pen=TRAIN_PEN, symbol="o", symbolSize=5, symbolBrush="#1f77b4")
        self.test_loss_curve = self.loss_plot.plot(pen=TEST_PEN, symbol="o", symbolSize=5, symbolBrush="#ff7f0e")
        # train and test (for both epoch plots) in a row under the plot: inside it, they hid the curves
        self.loss_legend = legend_under(self.loss_plot, colCount=2)
        self.loss_legend.addItem(self.train_loss_curve, "train")
        self.loss_legend.addItem(self.test_loss_curve, "test")

        self.acc_plot = self.addPlot(row=1, col=1, axisItems=fitted_axes(WHOLE_STEPS))
        style_plot(self.acc_plot, "Accuracy per epoch", "epoch", "accuracy (%)")
        # train and test as the loss plot's legend names them (the same pens)
        self.train_acc_curve = self.acc_plot.plot(pen=TRAIN_PEN, symbol="o", symbolSize=5, symbolBrush="#1f77b4")
        self.test_acc_curve = self.acc_plot.plot(pen=TEST_PEN, symbol="o", symbolSize=5, symbolBrush="#ff7f0e")
        # The best accuracy reachable on the test points, in %: a dashed line, named in a legend under
        # the plot's axis (inside the plot, a label or a legend sat on the curves).
        self.ceiling_line = pg.InfiniteLine(angle=0, pen=CEILING_PEN)
        self.ceiling_line.hide()
        self.acc_plot.addItem(self.ceiling_line)
        self.ceiling_sample = pg.PlotDataItem(pen=CEILING_PEN)  # the line's look, for its legend entry
        self.acc_legend = legend_under(self.acc_plot)
        self.acc_legend.hide()

        # Percent, never past 0-100 (a flat 100 % run would otherwise autorange to 60-140)...
        self.acc_plot.setLimits(yMin=-2, yMax=102, minYRange=5)
        self.acc_plot.setYRange(0, 100, padding=0.02)  # ...and before the first epoch too (see reset)

    def _build_step_plot(self) -> None:
        """The loss of every optimizer step, along the bottom."""
        self.step_plot = self.addPlot(row=2, col=0, colspan=2, axisItems=fitted_axes(WHOLE_STEPS))
        style_plot(self.step_plot, "Training loss per optimizer step", "step", "loss")
        # No grid here: pyqtgraph draws grid lines with the axes, so every live update of the curve
        # would repaint both axes with all their labels (the costliest part of a frame).
        self.step_plot.showGrid(x=False, y=False)
        for name in ("left", "bottom"):  # ticks outside: the axes then don't reach into the curve's area
            self.step_plot.getAxis(name).setStyle(tickLength=5)
        self.step_curve = self.step_plot.plot(pen=pg.mkPen("#1f77b4", width=1))
        self.step_curve.setDownsampling(auto=True, method="peak")
        self.step_curve.setClipToView(True)

    def set_steps_shown(self, shown: bool) -> None:
        """Whether the step losses may have the bottom row (when there is room for it); the
        presentation leaves them out, for a larger boundary."""
        self._steps_wanted = shown
        self._arrange_rows()

    def _arrange_rows(self) -> None:
        """Plots too short for three rows (a dock below them) leave the step losses out, so that
        the boundary and the epoch curves stay readable; they come back with the room. The boundary's
        column is no wider than its square needs: the epoch curves take the rest."""
        height = self.ci.geometry().height()
        short = not self._steps_wanted or height < SHORT_PLOTS_PX
        square = (height if short else height * 2 / 3) - BOUNDARY_FRAME_PX[0]
        self.boundary_plot.setMaximumWidth(max(BOUNDARY_LEAST_WIDTH, square + BOUNDARY_FRAME_PX[1]))
        if short != self.step_plot.isVisible():
            return
        self.step_plot.setVisible(not short)
        self.step_plot.setMaximumHeight(0 if short else QWIDGETSIZE_MAX)
        self.ci.layout.setRowStretchFactor(2, 0 if short else 1)

    def least_width(self) -> int:
        """The narrowest the plots can be drawn without cutting them off: their axes and titles
        grow with the font (presentation mode)."""
        return math.ceil(self.ci.layout.effectiveSizeHint(Qt.SizeHint.MinimumSize).width()) + 4

    # --- the data set and the boundary's plane
    def set_data(self, feature_names: tuple[str, ...], class_names: tuple[str, ...],
                 plane: tuple[int, int]) -> None:
        """Name the features and the classes (legend, axes, colour bar); show the boundary on
        ``plane`` (the plane's chooser only with more than two features)."""
        if (tuple(feature_names), tuple(class_names)) == (self.feature_names, self.class_names):
            self.set_plane(plane, self._boundary)  # the same data again: the legend and chooser stay
            return
        self.feature_names, self.class_names = tuple(feature_names), tuple(class_names)
        self.boundary_map.set_data(feature_names, class_names, plane)
        legend = self.boundary_legend
        legend.clear()
        for label, name in enumerate(class_names):
            legend.addItem(self.boundary_map.points[label], elided(class_label(name), LEGEND_CHARS))
        legend.addItem(self.boundary_map.wrong, "misclassified")
        two = len(class_names) == 2
        self.color_bar.setVisible(two)  # beyond two classes: the classes' colours, paler where unsure
        self.color_bar.setMaximumHeight(QWIDGETSIZE_MAX if two else 0)
        self.boundary_plot.layout.setRowFixedHeight(4, 10 if two else 0)
        if two:
            self.color_bar.getAxis("bottom").setLabel(f"P({class_label(class_names[1])})", color=FOREGROUND)
        choosing = len(feature_names) > 2
        if choosing:
            self.plane_chooser.set_features(self.feature_names, plane)
        self._chooser_item.setVisible(choosing)
        self._chooser_item.setMaximumHeight(QWIDGETSIZE_MAX if choosing else 0)
        self._dirty.add("points")

    def set_plane(self, plane: tuple[int, int], boundary: Optional[np.ndarray]) -> None:
        """The boundary on another plane of the same data (``boundary``: its image there, or None
        until it is known)."""
        self.boundary_map.set_data(self.feature_names, self.class_names, plane)
        self.plane_chooser.set_plane(plane)
        self._boundary = boundary
        self._dirty.update(("boundary", "points"))
        self.redraw()

    def plane(self) -> tuple[int, int]:
        return self.boundary_map.plane

    def apply(self, enabled: Enabled) -> None:
        self.plane_chooser.setEnabled(enabled.choose_plane)

    # --- feeding data (cheap: no drawing here)
    def reset(self) -> None:
        self._tops.clear()
        for plot in (self.step_plot, self.loss_plot, self.acc_plot):
            plot.enableAutoRange()
        self.acc_plot.setYRange(0, 100, padding=0.02)  # percent before the first epoch too
        self._losses.clear()
        self._clear_epochs()
        self._boundary = None
        self._predictions = None
        self.set_ceiling(None)
        self._dirty = {"steps", "epochs", "boundary", "points", "predictions"}
        self.redraw()

    def set_extent(self, total_steps: int, epochs: int) -> None:
        """Fix the x axes to the whole run, so that live updates don't rescale (and repaint) them."""
        self._tops.clear()
        self.step_plot.setXRange(0, max(total_steps, 1), padding=0.01)
        for plot in (self.loss_plot, self.acc_plot):
            plot.setXRange(0.5, max(epochs, 1) + 0.5, padding=0)

    def set_ceiling(self, ceiling: Optional[float]) -> None:
        """The data set's ceiling accuracy (a fraction) as a dashed line on the accuracy plot, its
        value in the plot's legend; None: neither."""
        self.acc_legend.removeItem(self.ceiling_sample)
        self.ceiling_line.setVisible(ceiling is not None)
        self.acc_legend.setVisible(ceiling is not None)
        self.acc_legend.setMaximumHeight(QWIDGETSIZE_MAX if ceiling is not None else 0)  # hidden: no room kept
        if ceiling is not None:
            self.ceiling_line.setValue(100 * ceiling)
            self.acc_legend.addItem(self.ceiling_sample, f"ceiling {fmt_percent(ceiling)}")

    def ceiling_text(self) -> str:
        """The ceiling's entry in the accuracy plot's legend ('' without one)."""
        return next((label.text for _, label in self.acc_legend.items), "")

    def ceiling(self) -> Optional[float]:
        """The ceiling line's height in % (None when hidden)."""
        return self.ceiling_line.value() if self.ceiling_line.isVisible() else None

    def set_test_points(self, x_test: np.ndarray, y_test: np.ndarray) -> None:
        self._x_test, self._y_test = x_test, y_test
        self._predictions = None
        self._dirty.add("points")

    def add_steps(self, losses: list[float]) -> None:
        self._losses.extend(losses)
        self._dirty.add("steps")

    def add_epoch(self, epoch, test_predictions: Optional[np.ndarray] = None) -> None:
        """``epoch``: the core's Epoch event. A new restart starts its curves afresh."""
        if epoch.restart != self._restart:
            self._restart = epoch.restart
            self._clear_epochs()
        self._epochs.append(epoch.epoch)
        self._train_loss.append(epoch.train_loss)
        self._test_loss.append(epoch.test_loss)
        self._train_acc.append(100 * epoch.train_accuracy)
        self._test_acc.append(100 * epoch.test_accuracy)
        self._dirty.add("epochs")
        if epoch.boundary is not None:
            self._boundary = epoch.boundary
            self._dirty.add("boundary")
        if test_predictions is not None:
            self._predictions = np.asarray(test_predictions)
            self._dirty.add("predictions")

    def _clear_epochs(self) -> None:
        self._kept = None  # the evaluation validation kept, once a run has finished
        for values in (self._epochs, self._train_loss, self._test_loss, self._train_acc, self._test_acc):
            values.clear()
        self._dirty.add("epochs")

    def show_history(self, history, kept) -> None:
        """A finished run's curves: the kept restart's evaluations, and the kept one's boundary."""
        self._clear_epochs()
        self._restart = history[0].restart if history else 0
        for epoch in history:
            self.add_epoch(epoch)
        self._kept = kept
        if kept is not None and kept.boundary is not None:
            self._boundary = kept.boundary
            self._dirty.add("boundary")

    def set_predictions(self, predictions: Optional[np.ndarray]) -> None:
        self._predictions = None if predictions is None else np.asarray(predictions)
        self._dirty.add("predictions")

    def load(self, step_losses, history, kept, dataset: Dataset, predictions) -> None:
        """Show a finished run (an opened experiment, trained on ``dataset``; ``kept`` the evaluation
        validation kept) at once."""
        self.reset()
        self.set_data(dataset.feature_names, dataset.class_names, dataset.plane)
        self.set_test_points(dataset.x_test, dataset.y_test)
        self.set_ceiling(dataset.ceiling_accuracy)
        self.add_steps(list(step_losses))
        if len(history):
            self.set_extent(len(step_losses), max(history[-1].epochs, len(history)))
        self.show_history(history, kept)
        self.set_predictions(predictions)
        self.redraw()

    # --- drawing, rate-limited
    def set_hint(self, text: str) -> None:
        """What to do, shown in each plot while it is empty and nothing runs ('Press Train (Ctrl+T) to start')."""
        self._hint = text
        for item in self._hints.values():
            item.setHtml(f'<div style="text-align:center">{text}</div>')
        self._show_hints()

    def hints_shown(self) -> list[str]:
        """The titles of the plots that show the hint (tests)."""
        return [plot.titleLabel.text for plot, item in self._hints.items() if item.isVisible()]

    def _show_hints(self, *_) -> None:
        idle = bool(self._hint) and not self.is_live()
        empty = {self.boundary_plot: self._x_test is None and self._boundary is None,
                 self.loss_plot: not self._epochs, self.acc_plot: not self._epochs, self.step_plot: not self._losses}
        words = QFontMetrics(next(iter(self._hints.values())).textItem.font()).horizontalAdvance(self._hint) + 16
        for plot, item in self._hints.items():
            # on one line (the legends sit under the plots, never in the hint's way): a plot too narrow stays blank
            room = plot.getViewBox().boundingRect().width() >= words
            item.setVisible(idle and empty[plot] and room)

    def start_live(self) -> None:
        self._timer.start()
        self._show_hints()

    def stop_live(self) -> None:
        """The run is over: draw what is left, and fit the y axes to what was learned."""
        self._timer.stop()
        self._show_hints()
        self.redraw()
        self._tops.clear()
        for plot in (self.step_plot, self.loss_plot):
            plot.enableAutoRange(y=True)
        if self._test_acc:
            self.acc_plot.enableAutoRange(y=True)

    def is_live(self) -> bool:
        return self._timer.isActive()

    def _redraw_live(self) -> None:
        """The timer's redraw: an epoch's curves now and its boundary at the next tick, two frames
        that each take about half as long as one with both."""
        held = self._dirty & BOUNDARY_PARTS if "epochs" in self._dirty else set()
        self._dirty -= held
        self.redraw()
        self._dirty |= held

    def redraw(self) -> None:
        """Draw what changed since the last redraw."""
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        self.redraws += 1
        live = self.is_live()
        if "steps" in dirty:
            losses = np.asarray(self._losses, dtype=np.float64)
            self.step_curve.setData(np.arange(1, len(losses) + 1), losses)
            if live:
                self._grow(self.step_plot, losses)
        if "epochs" in dirty:
            epochs = np.asarray(self._epochs, dtype=np.float64)
            self.train_loss_curve.setData(epochs, self._train_loss)
            self.test_loss_curve.setData(epochs, self._test_loss)
            self.train_acc_curve.setData(epochs, self._train_acc)
            self.test_acc_curve.setData(epochs, self._test_acc)
            if live:  # accuracy stays on 0-100 % (see reset) until the run is over
                self._grow(self.loss_plot, np.concatenate([self._train_loss, self._test_loss]))
            elif self._test_acc:
                self.acc_plot.enableAutoRange(y=True)
            if self._kept is not None:
                title = f"Kept: epoch {self._kept.epoch} \u00b7 test accuracy {100 * self._kept.test_accuracy:.1f}%"
            elif self._test_acc:
                title = f"Epoch {self._epochs[-1]} \u00b7 test accuracy {self._test_acc[-1]:.1f}%"
            else:
                title = "Decision boundary"
            self.boundary_plot.setTitle(title)  # in the title's own colour and size (the presentation's are larger)
        if "boundary" in dirty:
            self.boundary_map.set_image(self._boundary)
        if "points" in dirty:
            self.boundary_map.set_points(self._x_test, self._y_test, self._predictions)
        elif "predictions" in dirty:
            self.boundary_map.set_predictions(self._predictions)
        self._show_hints()

    def _grow(self, plot: pg.PlotItem, values: np.ndarray) -> None:
        """While live: ``plot``'s y axis from 0 to above the largest of ``values``, grown only when
        one leaves it. An axis that keeps its range keeps its ticks and is not repainted, while
        autoranging on every update repaints the axes, their labels and grid (the costliest part
        of a frame) and all the plot holds."""
        top = float(np.nanmax(values)) if len(values) and not np.isnan(values).all() else math.nan
        if math.isfinite(top) and top > self._tops.get(plot, 0.0):
            self._tops[plot] = top * 1.15
            plot.setYRange(0.0, self._tops[plot], padding=0)

    # --- what tests and the window read back
    def step_count(self) -> int:
        return len(self.step_curve.xData) if self.step_curve.xData is not None else 0

    def epoch_count(self) -> int:
        return len(self.test_acc_curve.xData) if self.test_acc_curve.xData is not None else 0

    def has_boundary(self) -> bool:
        return self.boundary_map.has_image()

    def misclassified_count(self) -> int:
        return self.boundary_map.misclassified_count()

    def export_png(self, path: Path) -> Path:
        self.redraw()
        self.grab().save(str(path), "PNG")
        return Path(path)
