"""The Configure panel: every setting of an ExperimentConfig, checked live by the engine."""
from __future__ import annotations

import dataclasses
import functools
from html import escape
from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...engine.config import (
    BOUNDS,
    LOOKUP_P_ERROR,
    MAX_TEST_FRACTION,
    MIN_TEST_FRACTION,
    SHAPES,
    TABLE,
    DataConfig,
    ExperimentConfig,
)
from ...engine.cost import LookupTimes, estimate_circuit
from ...engine.data import boundary_grid, make_dataset, shape_labels
from ...services.formatting import (
    CIRCUIT_BY_KEY,
    CLASS_COLORS,
    KIND_LOOKS,
    METRICS_BY_KEY,
    NOT_CALIBRATED,
    SHAPE_TITLES,
    TIP_BITS,
    TIP_BUDGET,
    TIP_CALIBRATE,
    TIP_CEILING,
    TIP_ESTIMATE,
    fmt_eta,
    fmt_key_bytes,
    fmt_lookups,
    fmt_percent,
    fmt_progress,
    fmt_seconds,
    plural,
)
from .compile_panel import accumulator_color
from ..charts.plots import boundary_qimage
from ..state import Enabled
from ..widgets import MUTED_STYLE, PROBLEMS_STYLE

P_ERROR_CHOICES = (None, 1e-9, 1e-6, LOOKUP_P_ERROR, 1e-4, 1e-2, 0.1)
PICKER_ICON = 32  # pixels per side of a data set's thumbnail in the picker


class BoundSpin(QSpinBox):
    """A spin box for one setting of ``engine.config.BOUNDS``: its range, and below it the setting's
    word for None ("off", "automatic") when it has one."""

    def __init__(self, setting: str, tip: str, suffix: str = ""):
        super().__init__()
        self.bound = BOUNDS[setting]
        self._off = bool(self.bound.off)
        self.setRange(self.bound.low - self._off, self.bound.high)
        if self._off:
            self.setSpecialValueText(self.bound.off)
        self.setToolTip(tip)
        self.setSuffix(suffix)
        self.setAccelerated(True)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)

    def setting(self) -> Optional[int]:
        """The value shown, None for the off word."""
        return None if self._off and self.value() == self.minimum() else self.value()

    def set_setting(self, value: Optional[int]) -> None:
        self.setValue(self.minimum() if value is None else value)


def _double(low: float, high: float, decimals: int, step: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setToolTip(tip)
    return box


def _with_slider(box: QSpinBox, tick: int = 0) -> QWidget:
    """A spin box and a slider over the same range, kept in step."""
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(box.minimum(), box.maximum())
    slider.setToolTip(box.toolTip())
    if tick:
        slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        slider.setTickInterval(tick)
    slider.setValue(box.value())
    box.valueChanged.connect(slider.setValue)
    slider.valueChanged.connect(box.setValue)
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(slider, 1)
    layout.addWidget(box)
    box.setMinimumWidth(72)
    slider.setMinimumWidth(60)
    row.slider = slider  # for tests and keyboard users
    return row


def shape_picture(data: DataConfig, size: int) -> QPixmap:
    """The shape ``data`` makes, drawn from its rule over a ``size`` x ``size`` grid in its classes' colours."""
    return QPixmap.fromImage(_shape_image(data.shape, data.bands, size))


@functools.lru_cache(maxsize=64)
def _shape_image(shape: str, bands: int, size: int) -> QImage:
    """A shape's rule depends on its bands at most: each picture is drawn once (the nearest-curve rule
    of the spirals and moons takes over a second at 96 x 96 on a busy machine)."""
    data = DataConfig.for_shape(shape=shape, bands=bands)
    classes = shape_labels(data, boundary_grid(size)).reshape(size, size)
    return boundary_qimage(classes.astype(np.float32))


# The picker's generated sets: a shape with its suggested jitter, or the 3 x 3 board without jitter.
PICKS = {"checkerboard": dict(shape="checkerboard"), "board3": dict(shape="checkerboard", bands=3, noise=0.0),
         **{shape: dict(shape=shape) for shape in SHAPES if shape != "checkerboard"}}
PICK_TITLES = {**SHAPE_TITLES, "board3": "3 \u00d7 3 board (no jitter)"}


def picked(key: str, like: DataConfig) -> DataConfig:
    """The generated set ``key`` (of PICKS) with the size, test points and seed of ``like``."""
    return DataConfig.for_shape(**PICKS[key], n_points=like.n_points, n_test=like.n_test, seed=like.seed)


def pick_of(data: DataConfig) -> str:
    """The picker's entry that shows ``data``."""
    if data.is_table:
        return TABLE
    return "board3" if (data.shape, data.bands, data.noise) == ("checkerboard", 3, 0.0) else data.shape


class DataPreview(QLabel):
    """The data set the Data settings make, small: the shape's classes, a sample of the jittered
    test points, and (ringed) the test points that lie on the other class's side of the shape's
    border. ``caption`` says it in words (placed by the panel)."""

    SIZE = 96  # pixels per side
    SAMPLE = 80  # test points drawn besides the ringed ones
    MAX_POINTS = 250**2  # larger sets are made only for training: the preview shows the shape alone
    DELAY_MS = 60  # settings that change faster than this (a held arrow key) redraw once
    UPDATING = "Updating the preview for the new settings\u2026"

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("dataPreview")
        self.data: Optional[DataConfig] = None
        self.ceiling: Optional[float] = None
        self.setFixedSize(self.SIZE + 2, self.SIZE + 2)
        self.setStyleSheet("border:1px solid #999999;")
        self.setToolTip("The data these settings make, with some of its test points; ringed: test points "
                        "on the other class's side of the shape's border.")
        self.caption = QLabel()
        self.caption.setObjectName("dataCaption")
        self.caption.setWordWrap(True)
        self.caption.setToolTip(TIP_CEILING)
        self._pending: Optional[DataConfig] = None
        self._text = ""  # the caption of the set drawn
        self._updating = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.DELAY_MS)
        self._timer.timeout.connect(lambda: self.draw(self._pending))

    def show_data(self, data: DataConfig) -> None:
        """Redraw for ``data`` (a generated set) shortly (at once when nothing is shown yet); until
        then the picture is greyed and the caption says it is being updated, never the old set's."""
        self._pending = dataclasses.replace(data)
        if self.data is None:
            self.draw(self._pending)
        elif data == self.data:
            self._timer.stop()  # back to what is shown before the pause ended
            self._set_updating(False)
        else:
            self._set_updating(True)
            self._timer.start()

    def _set_updating(self, updating: bool) -> None:
        self._updating = updating
        self.setEnabled(not updating)  # a disabled label greys its picture
        if updating:
            self.caption.setText(self.UPDATING)
        elif self.caption.text() == self.UPDATING:
            self.caption.setText(self._text)

    def is_updating(self) -> bool:
        """The settings changed and the picture and caption still show the set before."""
        return self._updating

    def draw(self, data: DataConfig) -> None:
        self._timer.stop()
        self.data = data
        pixmap = shape_picture(data, self.SIZE)
        self.ceiling = None
        if data.problems():
            text = "The shape alone: no test points until the settings are fixed."
        elif data.points_made > self.MAX_POINTS:
            text = (f"The shape alone: {data.points_made:,} points are too many to preview; "
                    f"the ceiling is shown when training starts.")
        else:
            dataset = make_dataset(data)
            self.ceiling = dataset.ceiling_accuracy
            across = shape_labels(data, dataset.x_test) != dataset.y_test
            self._draw_points(pixmap, dataset.x_test, dataset.y_test, across)
            n_test, n_across = len(dataset.y_test), int(np.count_nonzero(across))
            why = (f"{n_across} of the {n_test} test points lie on the other class's side of the shape's "
                   f"border (ringed)" if n_across else f"each of the {n_test} test points lies on its own class's side")
            text = f"<b>Ceiling {fmt_percent(self.ceiling)}</b>: {why}."
        if data.shape == "checkerboard":
            text = f"A {data.grid_side} \u00d7 {data.grid_side} grid. {text}"
        self.setPixmap(pixmap)
        self._text = text
        self.caption.setText(text)
        self._set_updating(False)

    def _draw_points(self, pixmap: QPixmap, points: np.ndarray, labels: np.ndarray, across: np.ndarray) -> None:
        chosen = np.flatnonzero(across)
        sample = np.setdiff1d(np.arange(min(self.SAMPLE, len(points))), chosen)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for indices, radius, ring in ((sample, 2.0, QPen(QColor("white"), 0.8)),
                                      (chosen, 2.6, QPen(QColor("#111111"), 1.4))):
            painter.setPen(ring)
            for index in indices:
                x, y = points[index]
                painter.setBrush(QColor(CLASS_COLORS[labels[index]]))
                painter.drawEllipse(QPointF(x * self.SIZE, (1.0 - y) * self.SIZE), radius, radius)
        painter.end()

    def image(self) -> QImage:
        """What is shown (tests)."""
        return self.pixmap().toImage()


class CostEstimate(QGroupBox):
    """The circuit the settings shown make at worst, predicted before any training
    (``engine.cost.estimate_circuit``): its accumulator and lookups, and on a machine whose lookups
    were timed its latency per sample and keys; else an offer to time them (``measureRequested``)."""

    measureRequested = Signal()
    cancelRequested = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__("Predicted FHE cost", parent)
        self.setObjectName("costEstimate")
        self.setToolTip(TIP_ESTIMATE)
        self.times: Optional[LookupTimes] = None
        self.config: Optional[ExperimentConfig] = None
        form = QFormLayout(self)
        self.fields: dict[str, QLabel] = {}
        for key, label in (("accumulator", CIRCUIT_BY_KEY["accumulator"].label),
                           ("pbs", CIRCUIT_BY_KEY["pbs"].label),
                           ("latency", METRICS_BY_KEY["latency"].label), ("keys", "Keys")):
            value = QLabel("-")
            value.setObjectName(f"estimate_{key}")
            value.setWordWrap(True)
            value.setToolTip(TIP_ESTIMATE)
            self.fields[key] = value
            form.addRow(label, value)
        self.note = QLabel(NOT_CALIBRATED)
        self.note.setObjectName("estimateNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet(MUTED_STYLE)
        self.measure_button = QPushButton("Measure this machine\u2026")
        self.measure_button.setObjectName("measureMachine")
        self.measure_button.setToolTip(TIP_CALIBRATE)
        self.measure_button.clicked.connect(self.measureRequested)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop timing lookups; nothing is kept.")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.cancel_button.hide()
        row = QHBoxLayout()
        row.addWidget(self.measure_button)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        form.addRow(self.note)
        form.addRow(row)

    def set_times(self, times: Optional[LookupTimes]) -> None:
        """This machine's lookup times (None: never measured); the estimate is redone with them."""
        self.times = times
        if self.config is not None:
            self.show_config(self.config)

    def show_config(self, config: ExperimentConfig) -> None:
        self.config = config
        measured = self.times is not None
        self.note.setVisible(not measured)
        self.measure_button.setVisible(not measured and self.progress.isHidden())
        if config.problems():
            for value in self.fields.values():
                value.setText("-")
            self.fields["accumulator"].setStyleSheet("")
            return
        estimate = estimate_circuit(config, self.times)
        accumulator = self.fields["accumulator"]
        if config.n_layers:
            accumulator.setText(f"{estimate.accumulator_bits} bits at most")
            accumulator.setStyleSheet(f"color:{accumulator_color(estimate.accumulator_bits)}; font-weight:600;")
        else:
            accumulator.setText("no lookup: a linear model")
            accumulator.setStyleSheet("")
        self.fields["pbs"].setText(fmt_lookups(estimate.pbs, estimate.lookup_bits))
        if measured:
            self.fields["latency"].setText(f"up to about {fmt_seconds(estimate.latency_s)}")
            self.fields["keys"].setText(f"up to about {fmt_key_bytes(estimate.key_bytes, compressed=False)}"
                                        if estimate.key_bytes else "no bootstrap key (no lookup)")
        else:
            self.fields["latency"].setText("not measured")
            self.fields["keys"].setText("not measured")

    def texts(self) -> dict[str, str]:
        """What each row says (tests, screenshots)."""
        return {key: value.text() for key, value in self.fields.items()}

    # --- timing this machine's lookups
    def measure_started(self) -> None:
        self.measure_button.hide()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.note.setText("Timing lookups on this machine\u2026")

    def measure_progress(self, done: int, total: int, eta_s: float) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"{fmt_progress(done, total, 'circuit')} \u00b7 {fmt_eta(eta_s)}")

    def measure_finished(self, times: Optional[LookupTimes], text: str = "") -> None:
        """Timing ended: ``times`` measured, or None with ``text`` saying why not."""
        self.progress.hide()
        self.cancel_button.hide()
        self.note.setText(text or NOT_CALIBRATED)
        self.set_times(times if times is not None else self.times)

    def apply(self, enabled: Enabled) -> None:
        self.measure_button.setEnabled(enabled.calibrate)
        self.cancel_button.setEnabled(enabled.cancel_calibration)


class ConfigPanel(QWidget):
    """Edits one ExperimentConfig; ``configChanged`` carries the new config and its problems."""

    configChanged = Signal(object, list)  # ExperimentConfig, list[str] of problems

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self._updating = False
        self._base = ExperimentConfig.default_recipe()  # holds the settings this panel has no widget for
        model, training, data = self._build_model(), self._build_training(), self._build_data()
        self._build_fhe()
        self.problems_label = QLabel()
        self.problems_label.setObjectName("configProblems")
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet(PROBLEMS_STYLE)
        self.problems_label.hide()

        self.estimate = CostEstimate()
        self.groups = (model, training, data, self.fhe_group)
        # One tab each, so that the panel fits a 1280 x 720 screen whole; the problems stay in view under them.
        self.sections = QTabWidget()
        self.sections.setObjectName("configSections")
        self.sections.setDocumentMode(True)
        self.data_tab = _tab_page(data)
        self.sections.addTab(_tab_page(model, self.estimate, self.fhe_group), "Model")
        self.sections.addTab(_tab_page(training), "Training")
        self.sections.addTab(self.data_tab, "Data")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.sections)
        layout.addWidget(self.problems_label)
        layout.addStretch(1)

        for box in (self.neurons, self.layers, self.bits, self.budget, self.epochs, self.batch, self.restarts, self.seed,
                    self.points, self.bands, self.n_test, self.data_seed, self.acc_target, self.neurons_kept,
                    self.round_bits, self.lookup_bits, self.lr, self.noise, self.test_share):
            box.valueChanged.connect(self._changed)
        for combo in (self.kind, self.optimizer, self.rounding, self.p_error):
            combo.currentIndexChanged.connect(self._changed)
        for body in (model, training, self.fhe_body):  # a choice too long beside its name goes under it
            body.layout().setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.set_config(ExperimentConfig.default_recipe())

    def _build_model(self) -> QWidget:
        self.kind = QComboBox()
        for kind, look in KIND_LOOKS.items():
            self.kind.addItem(look.title, kind)
        self.kind.setToolTip("Float models, pruned or not, are trained in fp32 and quantized to the bit-width "
                             "afterwards (post-training quantization); QAT trains with quantization in the loop.")
        self.neurons = BoundSpin("n_hidden", "Neurons in each hidden layer.")
        self.layers = BoundSpin("n_layers", "Hidden layers between the inputs (one per feature) and the outputs "
                                "(one per class); none: a linear model, the inputs weighed straight into the outputs, "
                                "with no lookup at all in FHE.")
        self.layers.setSpecialValueText("none (linear model)")
        self.bits = BoundSpin("bits", TIP_BITS, " bits")
        self.budget = BoundSpin("pruning_budget", TIP_BUDGET, " inputs")
        model = QWidget()
        form = QFormLayout(model)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Kind", self.kind)
        self.neurons_row = _with_slider(self.neurons)
        form.addRow("Hidden neurons", self.neurons_row)
        form.addRow("Hidden layers", self.layers)
        form.addRow("Bit-width", _with_slider(self.bits, tick=1))
        form.addRow("Pruning budget", self.budget)
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if label and field and field.widget():
                label.widget().setToolTip(field.widget().toolTip() or self._tip_of(field.widget()))
        return model

    def _build_training(self) -> QWidget:
        self.epochs = BoundSpin("epochs", "Passes over the training set; automatic: about 3,000 optimizer steps "
                                "whatever the data's size, stopped early when validation stops improving.")
        self.lr = _double(0.0001, 1.0, 4, 0.001, "Peak learning rate of the one-cycle schedule.")
        self.lr.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.batch = BoundSpin("batch_size", "Training points per optimizer step; automatic: about a 120th of "
                               "the training points, from 16 to 1,024.")
        self.restarts = BoundSpin("restarts", "Models trained from different seeds; the best on the validation "
                                  "points is kept.")
        self.optimizer = QComboBox()
        self.optimizer.addItem("Adam", "adam")
        self.optimizer.addItem("SGD with momentum", "sgd")
        self.seed = BoundSpin("seed", "Seeds the weights and the batch order: same seed, same training.")
        training = QWidget()
        form = QFormLayout(training)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Epochs", self.epochs)
        form.addRow("Learning rate", self.lr)
        form.addRow("Batch size", self.batch)
        form.addRow("Restarts", self.restarts)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Seed", self.seed)
        return training

    def _build_data(self) -> QWidget:
        """The data set's picker and settings beside a preview of it (a table: its summary)."""
        self.picker = QComboBox()
        self.picker.setObjectName("dataPicker")
        self.picker.setToolTip("The data set: a generated 2D shape, or a table imported with File > Import data.")
        self.picker.setIconSize(QSize(PICKER_ICON, PICKER_ICON))
        for key, changes in PICKS.items():
            icon = QIcon(shape_picture(DataConfig.for_shape(**changes), PICKER_ICON))
            self.picker.addItem(icon, PICK_TITLES[key], key)
        self.picker.activated.connect(self._picked)
        self.bands = BoundSpin("data.bands", "Checkerboard bands per axis (the guide's CLUSTERS = 3 is 4 bands; "
                               "the outer ones half as wide).")
        self.noise = _double(0.0, 0.5, 3, 0.01, "Jitter: the standard deviation of the Gaussian noise added to "
                             "every point after it is labelled (the guide uses 0.01).")
        self.points = BoundSpin("data.n_points", "Points the shape is made of, test points included (the "
                                "checkerboard lays them on a square grid: the guide's is 100 x 100 = 10,000).")
        self.n_test = BoundSpin("data.n_test", "Points held out for testing (the guide uses 500).")
        self.data_seed = BoundSpin("data.seed", "Seeds the jitter and the train/test split: same seed, same data.")
        self.test_share = _double(100 * MIN_TEST_FRACTION, 100 * MAX_TEST_FRACTION, 0, 5,
                                  "Share of each class held out for testing.")
        self.test_share.setSuffix(" %")
        self.preview = DataPreview()
        self.table_summary = QLabel()
        self.table_summary.setObjectName("tableSummary")
        self.table_summary.setWordWrap(True)
        self._table: Optional[DataConfig] = None  # the imported table the picker offers
        self._table_rows: dict[str, tuple[int, Optional[int]]] = {}  # its rows and rows dropped, by hash
        self._generated = DataConfig()  # the generated set's settings, kept while a table is shown
        data = QWidget()
        grid = QGridLayout(data)
        grid.setContentsMargins(0, 0, 0, 0)  # the data beside the settings that make it, in view as they change
        grid.addWidget(QLabel("Data set"), 0, 0)
        grid.addWidget(self.picker, 0, 1, 1, 2)
        self._shape_widgets: list[QWidget] = [self.preview, self.preview.caption]  # shown for a generated set
        self._table_widgets: list[QWidget] = [self.table_summary]  # shown for a table
        for row, (label, box) in enumerate((("Jitter (std)", self.noise), ("Points", self.points),
                                            ("Test points", self.n_test), ("Bands/axis", self.bands),
                                            ("Test share", self.test_share), ("Data seed", self.data_seed)), start=1):
            box.setMinimumWidth(64)  # not as wide as its largest value: the preview needs the room
            name = QLabel(label)
            name.setToolTip(box.toolTip())
            grid.addWidget(name, row, 0)
            grid.addWidget(box, row, 1)
            if box is self.bands:
                self._bands_widgets = [name, box]  # the checkerboard's only
            elif box is self.test_share:
                self._table_widgets += [name, box]
            elif box is not self.data_seed:
                self._shape_widgets += [name, box]
        grid.addWidget(self.preview, 1, 2, 6, 1, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.preview.caption, 7, 0, 1, 3)
        grid.addWidget(self.table_summary, 8, 0, 1, 3)
        grid.setColumnStretch(1, 1)
        return data

    def _build_fhe(self) -> None:
        """Cheaper FHE, folded away in ``fhe_group``: all off by default."""
        self.acc_target = BoundSpin("accumulator_bits", "Target accumulator: QAT constrains the weights (A2Q+) so "
                                    "that no accumulator needs more bits than this (off = no constraint).", " bits")
        self.neurons_kept = BoundSpin("neurons_kept", "Neurons kept: structured pruning keeps this many hidden "
                                      "neurons per layer, so fewer lookups run (all = no structured pruning).")
        self.round_bits = BoundSpin("round_bits", "Rounded bits: low accumulator bits rounded away before each "
                                    "lookup, which makes every lookup cheaper (0 = exact).", " bits")
        self.lookup_bits = BoundSpin("lookup_bits", "Widest lookup: after training, each "
                                     "hidden accumulator wider than this is rounded down to it, which bounds the "
                                     "circuit's keys and time (unbounded = lookups as wide as the accumulators).",
                                     " bits")
        self.rounding = QComboBox()
        self.rounding.addItem("Exact", "exact")
        self.rounding.addItem("Approximate (faster)", "approximate")
        self.rounding.setToolTip("Approximate rounding is faster in FHE and may change a few predictions.")
        self.p_error = QComboBox()
        self.p_error.setToolTip("Error probability of each lookup: higher is faster but less exact (Concrete's "
                                "default is one for the whole circuit).")
        for value in P_ERROR_CHOICES:
            self.p_error.addItem("Concrete's default" if value is None
                                 else f"{value:.3g} (Concrete ML's)" if value == LOOKUP_P_ERROR else f"{value:g}", value)
        self.fhe_group = QGroupBox()
        self.fhe_group.setFlat(True)
        outer = QVBoxLayout(self.fhe_group)
        outer.setContentsMargins(0, 0, 0, 0)
        self.fhe_toggle = QToolButton()
        self.fhe_toggle.setText("FHE cost (advanced)")
        self.fhe_toggle.setToolTip("Settings that make the FHE circuit cheaper; all off by default.")
        self.fhe_toggle.setCheckable(True)
        self.fhe_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.fhe_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.fhe_toggle.setAutoRaise(True)
        self.fhe_body = QWidget()
        self.fhe_body.hide()
        self.fhe_toggle.toggled.connect(self._show_fhe)
        outer.addWidget(self.fhe_toggle)
        outer.addWidget(self.fhe_body)
        form = QFormLayout(self.fhe_body)
        form.addRow("Target accumulator", self.acc_target)
        form.addRow("Neurons kept", self.neurons_kept)
        form.addRow("Rounded bits", self.round_bits)
        form.addRow("Widest lookup", self.lookup_bits)
        form.addRow("Rounding", self.rounding)
        form.addRow("Error probability", self.p_error)

    @staticmethod
    def _tip_of(widget: QWidget) -> str:
        boxes = widget.findChildren(QSpinBox)
        return boxes[0].toolTip() if boxes else ""

    # --- the configuration in and out
    def config(self) -> ExperimentConfig:
        """The configuration shown; settings without a widget here keep the values last set."""
        config = self._base.replace(
            accumulator_bits=self.acc_target.setting(),
            neurons_kept=self.neurons_kept.setting(),
            round_bits=self.round_bits.value(),
            lookup_bits=self.lookup_bits.setting(),
            rounding=self.rounding.currentData(),
            p_error=self.p_error.currentData(),
            kind=self.kind.currentData(),
            n_hidden=self.neurons.value(),
            n_layers=self.layers.value(),
            bits=self.bits.value(),
            pruning_budget=self.budget.setting(),
            epochs=self.epochs.setting(),
            lr=round(self.lr.value(), 6),
            batch_size=self.batch.setting(),
            restarts=self.restarts.value(),
            optimizer=self.optimizer.currentData(),
            seed=self.seed.value(),
        )
        return dataclasses.replace(config, data=self._data())

    def _data(self) -> DataConfig:
        if self.picker.currentData() == TABLE:
            return dataclasses.replace(self._table, test_fraction=round(self.test_share.value() / 100, 4),
                                       seed=self.data_seed.value())
        return DataConfig(shape=PICKS[self.picker.currentData()]["shape"], n_points=self.points.value(),
                          bands=self.bands.value(), noise=round(self.noise.value(), 6), n_test=self.n_test.value(),
                          seed=self.data_seed.value())

    def set_config(self, config: ExperimentConfig) -> None:
        self._updating = True
        try:
            self._base = config
            index = self.kind.findData(config.kind)
            self.kind.setCurrentIndex(max(index, 0))
            self.neurons.setValue(config.n_hidden)
            self.layers.setValue(config.n_layers)
            self.bits.setValue(config.bits)
            self.budget.set_setting(config.pruning_budget)
            self.epochs.set_setting(config.epochs)
            self.lr.setValue(config.lr)
            self.batch.set_setting(config.batch_size)
            self.restarts.setValue(config.restarts)
            self.optimizer.setCurrentIndex(max(self.optimizer.findData(config.optimizer), 0))
            self.seed.setValue(config.seed)
            self._show_data(config.data)
            self.acc_target.set_setting(config.accumulator_bits)
            self.neurons_kept.set_setting(config.neurons_kept)
            self.round_bits.setValue(config.round_bits or 0)
            self.lookup_bits.set_setting(config.lookup_bits)
            self.rounding.setCurrentIndex(max(self.rounding.findData(config.rounding), 0))
            index = self.p_error.findData(config.p_error)
            if index < 0:
                self.p_error.addItem(f"{config.p_error:g}", config.p_error)
                index = self.p_error.count() - 1
            self.p_error.setCurrentIndex(index)
            if _fhe_settings(config) != _fhe_settings(ExperimentConfig.default_recipe()):
                self.fhe_toggle.setChecked(True)  # never hide a setting that is in use
        finally:
            self._updating = False
        self._changed()

    def _show_data(self, data: DataConfig) -> None:
        """``data``'s settings in the widgets (a table: also offered by the picker from now on)."""
        if data.is_table:
            self._offer_table(data)
            self.test_share.setValue(100 * data.test_fraction)
        else:
            self._generated = data
            self.noise.setValue(data.noise)
            self.points.setValue(data.n_points)
            self.bands.setValue(data.bands)
            self.n_test.setValue(data.n_test)
        self.data_seed.setValue(data.seed)
        self.picker.setCurrentIndex(self.picker.findData(pick_of(data)))

    def _offer_table(self, data: DataConfig) -> None:
        index = self.picker.findData(TABLE)
        if index < 0:
            self.picker.addItem(self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon), "", TABLE)
            index = self.picker.count() - 1
        self.picker.setItemText(index, f"{data.table_name} (imported)")
        self._table = data

    def set_table(self, data: DataConfig, rows: int, rows_dropped: Optional[int]) -> None:
        """Show the imported table ``data`` (see ``note_table_rows``), every other setting kept, and its
        summary in view (the Data tab)."""
        self.note_table_rows(data, rows, rows_dropped)
        self.set_config(dataclasses.replace(self.config(), data=data))
        self.sections.setCurrentWidget(self.data_tab)

    def note_table_rows(self, data: DataConfig, rows: int, rows_dropped: Optional[int]) -> None:
        """The table ``data`` has ``rows`` rows, ``rows_dropped`` rows with missing values were left
        out of it (None: not known): its summary says so."""
        self._table_rows[data.table_sha256] = (rows, rows_dropped)

    def _picked(self, index: int) -> None:
        """The user chose a data set: a generated one takes its suggested jitter, and the size, test
        points and seed the generated sets had."""
        key = self.picker.itemData(index)
        data = self._table if key == TABLE else picked(key, self._generated)
        self.set_config(dataclasses.replace(self.config(), data=data))

    def _show_fhe(self, shown: bool) -> None:
        self.fhe_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.fhe_body.setVisible(shown)

    def _changed(self, *args) -> None:
        if self._updating:
            return
        config = self.config()
        problems = config.problems()
        self._show_kind_of_data(config.data)
        self.neurons_row.setEnabled(config.n_layers > 0)  # a linear model has no hidden neuron
        self.estimate.show_config(config)
        if problems:
            self.problems_label.setText("Can't train yet:\n" + "\n".join(f"\u2022 {p}" for p in problems))
            self.problems_label.show()
        else:
            self.problems_label.hide()
        self.configChanged.emit(config, problems)

    def _show_kind_of_data(self, data: DataConfig) -> None:
        """A generated set's settings and preview, or a table's summary and test share."""
        table = data.is_table
        for widget in self._shape_widgets:
            widget.setVisible(not table)
        for widget in self._table_widgets:
            widget.setVisible(table)
        for widget in self._bands_widgets:
            widget.setVisible(data.shape == "checkerboard")
        if table:
            self.table_summary.setText(self._summary(data))
        else:
            self._generated = data
            self.preview.show_data(data)

    def _summary(self, data: DataConfig) -> str:
        rows, dropped = self._table_rows.get(data.table_sha256, (None, None))
        read = f"{rows:,} rows, " if rows is not None else ""
        left = f" ({dropped:,} with missing values left out)" if dropped else ""
        return (f"<b>{escape(data.table_name)}</b>: {read}{plural(data.n_features, 'feature')}, "
                f"{data.n_classes} classes{left}; label column <i>{escape(data.label_column)}</i>. No ceiling: "
                f"a table has no known rule to measure it by.")

    def apply(self, enabled: Enabled) -> None:
        for group in self.groups:
            group.setEnabled(enabled.edit_config)
        self.estimate.apply(enabled)

    def problems_text(self) -> str:
        """Why the configuration can't be trained, as shown ('' when it can)."""
        return self.problems_label.text() if not self.problems_label.isHidden() else ""


def _tab_page(*parts: QWidget) -> QWidget:
    """A tab's page: ``parts`` one under the other, at its top."""
    page = QWidget()
    column = QVBoxLayout(page)
    column.setContentsMargins(0, 6, 0, 0)
    for part in parts:
        column.addWidget(part)
    column.addStretch(1)
    return page


def _fhe_settings(config: ExperimentConfig) -> tuple:
    """The settings under "FHE cost (advanced)"."""
    return (config.accumulator_bits, config.neurons_kept, config.round_bits, config.lookup_bits, config.rounding,
            config.p_error)
