"""The Compile panel: compile to FHE, the accumulator against Concrete's lookup limit, keys."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QElapsedTimer, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...engine.cost import LookupTimes
from ...engine.fhe import CircuitStats, KeygenResult
from ...engine.integer import MAX_LOOKUP_BITS, IntegerMLP
from ...services.formatting import (
    MEASURE_LATENCY,
    METRICS_BY_KEY,
    TIP_ACCUMULATOR,
    fmt_predicted,
    fmt_bytes,
    fmt_key_bytes,
    fmt_seconds,
)
from ..charts.plots import legend_under, style_plot
from ..state import Enabled


CHART_LEAST_HEIGHT = 150


class _Chart(pg.PlotWidget):
    """A plot that asks for no more than its least height (the dock's scroll area sizes the panel by
    its hints), then takes the room left by stretch: a short dock shrinks it rather than scroll."""

    def sizeHint(self) -> QSize:
        return QSize(320, CHART_LEAST_HEIGHT)


MEASURED_BRUSH = "#2b7bba"
# The measured bar: over every input of the domain, or (many features) the bound the circuit is sized by.
MEASURED_LABEL = {True: "measured (all inputs)", False: "sized by the bound"}
BOUND_BRUSH = "#b9cfe4"


KEYS_TIP = "Secret, bootstrap and key-switching keys; predicted from this machine's lookup times beside them."


def layer_title(name: str) -> str:
    """A layer as the chart names it: 'hidden.0' -> 'hidden 1', 'out' -> 'output'."""
    kind, _, index = name.partition(".")
    if kind == "out":
        return "output"
    return f"{kind} {int(index) + 1}" if index.isdigit() else name


def accumulator_color(bits: int) -> str:
    if bits > MAX_LOOKUP_BITS:
        return "#c0392b"
    if bits <= 8:
        return "#1e8449"
    if bits <= 12:
        return "#b9770e"
    return "#d35400"


class CompilePanel(QWidget):
    compileRequested = Signal()
    keygenRequested = Signal()
    cancelRequested = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.times: Optional[LookupTimes] = None  # this machine's lookup times: the predictions
        self.report: Optional[CircuitStats] = None
        self.measured_latency_s: Optional[float] = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)

        buttons = QHBoxLayout()
        self.compile_button = QPushButton("Compile to FHE")
        self.compile_button.setToolTip("Compile the quantized model into a Concrete circuit (Ctrl+K).")
        self.compile_button.clicked.connect(self.compileRequested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancelRequested)
        buttons.addWidget(self.compile_button, 1)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.status = QLabel("Train a model, then compile it.")
        self.status.setWordWrap(True)
        self.status.setObjectName("compileStatus")
        layout.addWidget(self.status)

        layout.addWidget(self._build_accumulator())
        layout.addWidget(self._build_chart(), 1)
        layout.addWidget(self._build_figures())
        layout.addWidget(self._build_keys())
        layout.addStretch()  # the chart takes the room when shown; else the boxes stay at the top

        self._keygen_clock = QElapsedTimer()
        self._keygen_timer = QTimer(self)
        self._keygen_timer.setInterval(250)
        self._keygen_timer.timeout.connect(self._tick_keygen)
        self.show_report(None)
        self.keygen_progress.hide()  # shown while keys are made, and once they are

    def _build_accumulator(self) -> QGroupBox:
        """The accumulator's bits, large, beside a gauge of the limit."""
        accumulator = QGroupBox("Accumulator")
        accumulator.setToolTip(TIP_ACCUMULATOR)
        row = QHBoxLayout(accumulator)
        self.accumulator_value = QLabel("-")
        self.accumulator_value.setObjectName("accumulatorBits")
        font = QFont()
        font.setPointSize(28)
        font.setBold(True)
        self.accumulator_value.setFont(font)
        self.accumulator_value.setToolTip(TIP_ACCUMULATOR)
        self.accumulator_value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.accumulator_value.setMinimumWidth(70)
        side = QVBoxLayout()
        self.accumulator_caption = QLabel(f"bits, of the {MAX_LOOKUP_BITS}-bit limit")
        self.accumulator_caption.setWordWrap(True)
        self.gauge = QProgressBar()
        self.gauge.setRange(0, MAX_LOOKUP_BITS)
        self.gauge.setValue(0)
        self.gauge.setTextVisible(False)
        self.gauge.setFixedHeight(10)
        self.gauge.setToolTip(TIP_ACCUMULATOR)
        side.addStretch(1)
        side.addWidget(self.accumulator_caption)
        side.addWidget(self.gauge)
        side.addStretch(1)
        row.addWidget(self.accumulator_value)
        row.addLayout(side, 1)
        self.accumulator_box = accumulator
        return accumulator

    def _build_chart(self) -> _Chart:
        """Per layer: the accumulator's bits measured, beside the worst case, under the limit."""
        self.chart = _Chart(background="w")
        self.chart.setMinimumHeight(CHART_LEAST_HEIGHT)
        plot = self.chart.getPlotItem()
        style_plot(plot, "Accumulator bits per layer", "", "bits")
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        self.legend = legend = legend_under(plot, colCount=2)  # under the axis: never over the bars or the limit
        self.measured_bars = pg.BarGraphItem(x=[], height=[], width=0.36, brush=MEASURED_BRUSH)
        self.bound_bars = pg.BarGraphItem(x=[], height=[], width=0.36, brush=BOUND_BRUSH)
        plot.addItem(self.measured_bars)
        plot.addItem(self.bound_bars)
        legend.addItem(self.measured_bars, MEASURED_LABEL[True])
        legend.addItem(self.bound_bars, "worst-case bound")
        self.limit_line = pg.InfiniteLine(pos=MAX_LOOKUP_BITS, angle=0,
                                          pen=pg.mkPen("#c0392b", width=1.5, style=Qt.PenStyle.DashLine),
                                          label=f"{MAX_LOOKUP_BITS}-bit limit",
                                          labelOpts=dict(position=0.88, color="#c0392b", anchors=[(1, 1), (1, 1)]))
        plot.addItem(self.limit_line)
        plot.setYRange(0, MAX_LOOKUP_BITS + 3, padding=0)
        self.chart.setToolTip("Measured: the widest accumulator over every input of the circuit's domain (with "
                              "many features there are too many inputs: the circuit is sized by the bound). "
                              "Bound: the worst case from the weights and input ranges alone.")
        return self.chart

    def _build_figures(self) -> QGroupBox:
        """The circuit's figures, one field each."""
        figures = QGroupBox("Circuit")
        form = QFormLayout(figures)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.fields: dict[str, QLabel] = {}
        for key, label, tip in (
            ("pbs", "PBS count", "Programmable bootstraps (table lookups) per inference: the costly operation."),
            ("precision", "PBS precision", "How many lookups run at each bit-width."),
            ("complexity", "Complexity", "Concrete's cost estimate of one inference."),
            ("keys", "Key sizes", KEYS_TIP),
            ("latency", METRICS_BY_KEY["latency"].label, "Measured by an encrypted run of 2 or more samples (steady "
             "state), beside the latency predicted from this machine's lookup times."),
            ("error", "Error probability", "Chance that the circuit's result differs from the clear one."),
            ("time", "Compile time", ""),
        ):
            value = QLabel("-")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            self.fields[key] = value
            form.addRow(label, value)
            if tip:
                form.labelForField(value).setToolTip(tip)
                value.setToolTip(tip)
        self.figures_box = figures
        return figures

    def _build_keys(self) -> QGroupBox:
        keys = QGroupBox("Keys")
        box = QVBoxLayout(keys)
        line = QHBoxLayout()
        self.keygen_button = QPushButton("Generate keys")
        self.keygen_button.setToolTip("Generate the circuit's keys, or load them from the on-disk key cache.")
        self.keygen_button.clicked.connect(self.keygenRequested)
        self.keygen_progress = QProgressBar()
        self.keygen_progress.setRange(0, 1)
        self.keygen_progress.setValue(0)
        self.keygen_progress.setTextVisible(False)
        line.addWidget(self.keygen_button)
        line.addWidget(self.keygen_progress, 1)
        line.addStretch(0)
        box.addLayout(line)
        self.keys_label = QLabel()  # hidden while there are no keys: the button says what to do
        self.keys_label.setObjectName("keysStatus")
        self.keys_label.setWordWrap(True)
        box.addWidget(self.keys_label)
        self.keys_label.hide()
        return keys

    def apply(self, enabled: Enabled) -> None:
        self.compile_button.setEnabled(enabled.compile)
        self.keygen_button.setEnabled(enabled.keygen)
        self.cancel_button.setEnabled(enabled.cancel_compile)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def status_text(self) -> str:
        return self.status.text()

    def clear(self, status: str) -> None:
        """No report and no keys: a new model is on its way."""
        self.show_report(None)
        self.keygen_finished(None)
        self.set_status(status)

    # --- showing results
    def show_report(self, report: Optional[CircuitStats], note: str = "") -> None:
        self.report, self.measured_latency_s = report, None
        if report is None:
            self.accumulator_value.setText("-")
            self.accumulator_value.setStyleSheet("")
            self.accumulator_caption.setText(f"bits, of the {MAX_LOOKUP_BITS}-bit limit")
            self.gauge.setValue(0)
            self.measured_bars.setOpts(x=[], height=[])
            self.bound_bars.setOpts(x=[], height=[])
            for value in self.fields.values():
                value.setText("-")
            self._show_parts(accumulator=False, figures=False)
            return
        self._show_parts(accumulator=True, figures=True)
        bits = report.accumulator_bits
        self.accumulator_caption.setText(f"bits in the compiled circuit, of the {MAX_LOOKUP_BITS}-bit limit")
        self.accumulator_value.setText(str(bits))
        self.accumulator_value.setStyleSheet(f"color:{accumulator_color(bits)};")
        self.gauge.setValue(min(bits, MAX_LOOKUP_BITS))
        self._bars([layer.name for layer in report.layers],
                   [layer.accumulator_bits for layer in report.layers],
                   [layer.bound_bits for layer in report.layers], report.enumerated)
        precision = ", ".join(f"{count} \u00d7 {bits_} bits" for bits_, count in report.pbs_by_precision.items())
        rounding = report.pbs_count - sum(report.pbs_by_precision.values())
        if rounding > 0:  # exact rounding extracts each rounded bit with a lookup of its own
            precision += f" + {rounding:,} rounding"
        self.fields["pbs"].setText(f"{report.pbs_count:,}")
        self.fields["precision"].setText(precision or "-")
        self.fields["complexity"].setText(f"{report.complexity:,.0f}")
        self.fields["error"].setText(f"{report.global_p_error:.2e} per inference")
        self.fields["time"].setText(fmt_seconds(report.compile_s) + (f" ({note})" if note else ""))
        self._show_against()

    def set_times(self, times: Optional[LookupTimes]) -> None:
        """This machine's lookup times (None: never measured): the predictions beside the measures."""
        self.times = times
        if self.report is not None:
            self._show_against()

    def show_latency(self, seconds: Optional[float]) -> None:
        """The circuit's steady-state latency, as an encrypted run measured it (None: not yet)."""
        self.measured_latency_s = seconds
        if self.report is not None:
            self._show_against()

    def _show_against(self) -> None:
        """Keys and latency as measured, beside what this machine's lookup times predict."""
        report, times = self.report, self.times
        keys = fmt_key_bytes(report.key_bytes, compressed=False)
        if times is not None:
            keys += "; " + fmt_predicted(times.circuit_keys_bytes(report), report.key_bytes, fmt_bytes)
        self.fields["keys"].setText(keys)  # on one line: the parts in its tip, so the panel fits 1280 x 720
        self.fields["keys"].setToolTip(f"{KEYS_TIP} Secret {fmt_bytes(report.secret_key_bytes)}, bootstrap "
                                       f"{fmt_bytes(report.bootstrap_key_bytes)}, key-switching "
                                       f"{fmt_bytes(report.keyswitch_key_bytes)}.")
        measured = self.measured_latency_s
        latency = [f"{fmt_seconds(measured)} measured" if measured is not None else MEASURE_LATENCY]
        if times is not None:
            latency.append(fmt_predicted(times.circuit_latency_s(report), measured, fmt_seconds))
        self.fields["latency"].setText("; ".join(latency))

    def show_estimate(self, model: IntegerMLP) -> None:
        """Before compiling: the integer model's own per-layer accumulator widths."""
        layers = model.layers
        measured = [layer.accumulator_bits for layer in layers]
        bits = max(measured) if measured else 0
        self.accumulator_value.setText(str(bits) if measured else "-")
        self.accumulator_value.setStyleSheet(f"color:{accumulator_color(bits)};" if measured else "")
        self.accumulator_caption.setText(f"bits in the integer model (before compiling), "
                                         f"of the {MAX_LOOKUP_BITS}-bit limit")
        self.gauge.setValue(min(bits, MAX_LOOKUP_BITS))
        self._bars([layer.name for layer in layers], measured, [layer.bound_bits for layer in layers],
                   model.enumerable)
        for value in self.fields.values():
            value.setText("-")
        self._show_parts(accumulator=True, figures=False)

    def _show_parts(self, accumulator: bool, figures: bool) -> None:
        """Only what has something to show: the accumulator and its chart once a model is trained, the
        circuit's figures once compiled (before, the status sentence says what to do)."""
        self.accumulator_box.setVisible(accumulator)
        self.chart.setVisible(accumulator)
        self.figures_box.setVisible(figures)

    def _bars(self, names: list[str], measured: list[int], bounds: list[int], exact: bool) -> None:
        """``exact``: measured over every input of the domain; else the bound is the layer's width."""
        self.legend.getLabel(self.measured_bars).setText(MEASURED_LABEL[exact])
        x = np.arange(len(names), dtype=float)
        self.measured_bars.setOpts(x=x - 0.19, height=measured, width=0.36)
        self.bound_bars.setOpts(x=x + 0.19, height=bounds, width=0.36)
        plot = self.chart.getPlotItem()
        plot.getAxis("bottom").setTicks([[(i, layer_title(name)) for i, name in enumerate(names)]])
        plot.setXRange(-0.6, len(names) - 0.4, padding=0)
        top = max([MAX_LOOKUP_BITS, *measured, *bounds]) + 3  # room for the limit's label
        plot.setYRange(0, top, padding=0)

    def displayed_accumulator_bits(self) -> Optional[int]:
        text = self.accumulator_value.text()
        return int(text) if text.isdigit() else None

    def export_png(self, path: Path) -> Optional[Path]:
        """The accumulator chart to ``path``; None (nothing written) when it shows nothing."""
        if self.displayed_accumulator_bits() is None:
            return None
        if not self.chart.grab().save(str(path), "PNG"):
            raise OSError(f"can't write {path}")
        return path

    # --- key generation progress
    def keygen_started(self) -> None:
        self.keygen_progress.show()
        self.keygen_progress.setRange(0, 0)  # busy
        self._keygen_clock.start()
        self._keygen_timer.start()
        self._say_keys("Generating keys (or loading them from the cache)\u2026")

    def _tick_keygen(self) -> None:
        seconds = self._keygen_clock.elapsed() / 1000
        self._say_keys(f"Generating keys (or loading them from the cache)\u2026 {seconds:.0f} s")

    def keygen_finished(self, result: Optional[KeygenResult], text: str = "") -> None:
        self._keygen_timer.stop()
        self.keygen_progress.setRange(0, 1)
        self.keygen_progress.setValue(1 if result is not None else 0)
        self.keygen_progress.setVisible(result is not None)
        if result is not None:
            how = "loaded from the key cache" if result.from_cache else "generated and stored in the key cache"
            where = f"\n{Path(result.path).parent}" if result.path else ""
            upload = (f"\nTo a server: evaluation keys {fmt_key_bytes(result.evaluation_key_bytes, compressed=True)} "
                      f"once, then {fmt_bytes(result.input_bytes)} per encrypted input.")
            self._say_keys(f"Keys ready: {how} in {fmt_seconds(result.seconds)}.{upload}{where}")
        else:
            self._say_keys(text)

    def _say_keys(self, text: str) -> None:
        self.keys_label.setText(text)
        self.keys_label.setVisible(bool(text))

    def keys_text(self) -> str:
        return self.keys_label.text()
