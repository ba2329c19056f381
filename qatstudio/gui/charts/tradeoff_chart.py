"""The trade-off chart: accuracy against accumulator bits and against FHE latency, over all runs.

Each run is a point coloured by its model kind; the Pareto front (no other run is both cheaper and
more accurate) is drawn as a staircase with the region it dominates shaded. Hovering a point shows
a card with the run's figures and configuration; clicking it emits ``runClicked``.

Latency per sample is only measured when a run was executed encrypted. For the other compiled
runs it is estimated from Concrete's cost model (the circuit's ``complexity``), scaled by the
seconds per unit of cost of the runs that were measured; estimated points are drawn hollow and
their card says so.
"""
from __future__ import annotations

import html
import math
import statistics
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPalette, QTextDocument
from PySide6.QtWidgets import QCheckBox, QGraphicsDropShadowEffect, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...services.formatting import (
    FRONT_COLOR,
    LEGEND_LOOKS,
    MUTED_COLOR,
    config_look,
    config_name,
    data_name,
    fmt_epochs,
    fmt_percent,
    fmt_seconds,
    plural,
)
from ...services.history import RunRecord, pareto_front, shared_ceiling

INK = "#222222"
FRONT_FILL = (40, 60, 90, 16)
HIT_RADIUS_PX = 14
PRESENTATION_PT = 15.0  # the chart's axis text in presentation mode, unless told otherwise
# The least size, in the studio and on stage: in the studio it shares a bottom dock with the Story as
# tabs, and the taller of the two sets how short that dock can be (the live plots need the rest).
LEAST_SIZE = {False: (420, 180), True: (420, 400)}

PANELS = ("bits", "latency")


def latency_rate(records: Iterable[RunRecord]) -> tuple[Optional[float], int]:
    """Seconds per unit of Concrete's cost, the median over runs with a measured latency; and how
    many runs it rests on."""
    rates = [r.fhe_latency_s / r.complexity for r in records if r.fhe_latency_s and r.complexity]
    return (statistics.median(rates), len(rates)) if rates else (None, 0)


def latency_of(record: RunRecord, rate: Optional[float]) -> tuple[Optional[float], bool]:
    """(seconds per sample, estimated?) of a run, or (None, False) when neither is known."""
    if record.fhe_latency_s:
        return record.fhe_latency_s, False
    if record.complexity and rate:
        return record.complexity * rate, True
    return None, False


@dataclass
class ChartPoint:
    record: RunRecord
    panel: str  # "bits" or "latency"
    x: float  # where it is drawn (bits: jittered; latency: log10 seconds)
    y: float  # accuracy in percent
    value: float  # the real x (bits, or seconds)
    estimated: bool = False
    reference: bool = False  # a story step, not a run of the history


def _spread(points: list[ChartPoint], front: set[int], width: float = 0.34) -> None:
    """Runs with the same accumulator width and (nearly) the same accuracy would hide each other:
    spread them sideways around their column; a front point stays in the middle."""
    groups: dict[tuple, list[int]] = {}
    for index, point in enumerate(points):
        groups.setdefault((point.value, round(point.y, 1)), []).append(index)
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: (i not in front, points[i].reference, points[i].record.created))
        step = min(0.09, width / (len(members) - 1)) if len(members) > 1 else 0
        for rank, index in enumerate(members):
            k = (rank + 1) // 2
            points[index].x = points[index].value + (k if rank % 2 else -k) * step


def _nice_log_ticks(low: float, high: float) -> list[tuple[float, str]]:
    ticks = []
    for exponent in range(int(math.floor(low)) - 1, int(math.ceil(high)) + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0 ** exponent
            position = math.log10(value)
            if low - 1e-9 <= position <= high + 1e-9:
                ticks.append((position, f"{value * 1000:g} ms" if value < 1 else f"{value:g} s"))
    return ticks


def _panel_items(plot: pg.PlotItem) -> dict:
    """What a panel draws, added to ``plot`` in their order from back to front."""
    fill_curve = pg.PlotCurveItem()
    base_curve = pg.PlotCurveItem()
    fill = pg.FillBetweenItem(fill_curve, base_curve, brush=pg.mkBrush(*FRONT_FILL))
    front = pg.PlotCurveItem()
    scatter = pg.ScatterPlotItem(pxMode=True)
    rings = pg.ScatterPlotItem(pxMode=True)  # the Pareto front's runs
    selected = pg.ScatterPlotItem(pxMode=True)  # runs selected in the history
    hover = pg.ScatterPlotItem(pxMode=True)
    empty = pg.TextItem(anchor=(0.5, 0.5), color="#666666")
    for item, z in ((fill, -5), (front, 1), (scatter, 2), (rings, 3), (selected, 4), (hover, 5), (empty, 6)):
        item.setZValue(z)
        plot.addItem(item, ignoreBounds=True)
    # named, with its value, in the legend (a label on the line sat on the front)
    ceiling = pg.InfiniteLine(angle=0)
    ceiling.setZValue(0)
    ceiling.hide()
    plot.addItem(ceiling, ignoreBounds=True)
    return dict(fill=fill, fill_curve=fill_curve, base_curve=base_curve, front=front, scatter=scatter, rings=rings,
                selected=selected, hover=hover, empty=empty, labels=[], ceiling=ceiling)


def _hover_card(parent: QWidget) -> QLabel:
    """The hover card: rich text with a shadow, hidden until a point is hovered."""
    card = QLabel(parent)
    card.setObjectName("tradeoffCard")
    card.setTextFormat(Qt.TextFormat.RichText)
    card.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    shadow = QGraphicsDropShadowEffect(card)
    shadow.setBlurRadius(18)
    shadow.setOffset(0, 3)
    shadow.setColor(QColor(0, 0, 0, 90))
    card.setGraphicsEffect(shadow)
    card.hide()
    return card


def _staircase(xs: list[float], ys: list[float], y_low: float, x_high: float) -> tuple[list[float], list[float]]:
    """The Pareto front through the points (xs, ys), cheapest first, as a staircase from the floor
    ``y_low`` under the first to the right edge ``x_high``."""
    stair_x, stair_y = [xs[0]], [y_low]
    for i, (x, y) in enumerate(zip(xs, ys)):
        if i:
            stair_x.append(x)
            stair_y.append(ys[i - 1])
        stair_x.append(x)
        stair_y.append(y)
    return stair_x + [x_high], stair_y + [ys[-1]]


EMPTY_TEXT = {"bits": "No compiled runs yet:\ntrain and compile a model,\nor run a sweep (Demo \u25b8 Sweep\u2026).",
              "latency": "No latency yet:\nrun a compiled model encrypted,\nor compile one to estimate it."}


def _legend_html(sizes: dict, presentation: bool, estimated: bool, measured: int, ceiling: Optional[float]) -> str:
    """The chart's legend: the kinds and the story's steps, hollow points when latency is ``estimated``
    (scaled by ``measured`` runs), the front, the selection and the ``ceiling``. In presentation a
    line per group: in large type one line would widen the chart past the screen."""
    font = sizes["font"]

    def key(color: str, symbol: str, grow: int, text: str) -> str:
        return f'<span style="color:{color}; font-size:{font + grow}pt">{symbol}</span>&nbsp;{text}'

    legend = [key(look.color, "\u25cf", 4, look.name) for look in LEGEND_LOOKS]
    legend.append(key(MUTED_COLOR, "\u25c6", 3, "story step"))
    if estimated:
        legend.append(key(MUTED_COLOR, "\u25cb", 3, f"latency estimated from Concrete's cost, scaled by "
                                                    f"{plural(measured, 'measured run')}"))
    legend.append(key(FRONT_COLOR, "\u2517\u2501", 2, "Pareto front"))
    legend.append(key("#d81b60", "\u25ef", 2, "selected"))
    if ceiling is not None:
        legend.append(key(MUTED_COLOR, "\u2504\u2504", 2, f"ceiling {fmt_percent(ceiling)}: the best any "
                                                           "classifier can reach on the runs' test points"))
    gap = "&nbsp;&nbsp;&nbsp;"
    if not presentation:
        return gap.join(legend)
    kinds = len(LEGEND_LOOKS) + 1  # the kinds and the story step first
    note = kinds + 1 if estimated else kinds  # the estimated latency's note on its own line
    return "<br>".join(gap.join(group) for group in (legend[:kinds], legend[kinds:note], legend[note:]) if group)


class TradeoffChart(pg.GraphicsLayoutWidget):
    """Two panels over the same runs: accuracy against accumulator bits, and against latency."""

    runClicked = Signal(object)  # RunRecord
    runHovered = Signal(object)  # RunRecord, or None when the pointer leaves the points

    def __init__(self, parent=None):
        super().__init__(parent, show=False)
        self.setObjectName("tradeoffChart")
        self.setBackground("w")
        self.setMinimumSize(*LEAST_SIZE[False])
        self._records: list[RunRecord] = []
        self._reference: list[RunRecord] = []
        self._show_reference = True
        self._highlighted: set[str] = set()
        self._points: dict[str, list[ChartPoint]] = {panel: [] for panel in PANELS}
        self._fronts: dict[str, list[ChartPoint]] = {panel: [] for panel in PANELS}
        self._hovered: Optional[ChartPoint] = None
        self._rate: tuple[Optional[float], int] = (None, 0)
        self._ceiling: Optional[float] = None
        self.presentation = False
        self._presentation_pt = PRESENTATION_PT

        self.title = self.addLabel("", row=0, col=0, colspan=2, justify="left")
        self.plots: dict[str, pg.PlotItem] = {}
        for col, panel in enumerate(PANELS):
            plot = self.addPlot(row=1, col=col)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.showGrid(x=True, y=True, alpha=0.12)
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.enableAutoSIPrefix(False)
            self.plots[panel] = plot
        self.legend = self.addLabel("", row=2, col=0, colspan=2, justify="left")
        self.ci.layout.setRowStretchFactor(1, 1)
        self.ci.layout.setColumnStretchFactor(0, 1)
        self.ci.layout.setColumnStretchFactor(1, 1)

        self._items: dict[str, dict] = {panel: _panel_items(plot) for panel, plot in self.plots.items()}
        self.card = _hover_card(self.viewport())  # over the whole chart: a plot would clip it at its edges
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)
        self._style()
        self._redraw()

    def sizeHint(self) -> QSize:
        return QSize(900, 330)

    # ------------------------------------------------------------------ data in
    def set_records(self, records: Iterable[RunRecord], reference: Optional[Iterable[RunRecord]] = None) -> None:
        """The history's runs; ``reference``: the story's runs, drawn as diamonds (kept when None)."""
        self._records = list(records)
        if reference is not None:
            self._reference = list(reference)
        self._redraw()

    def add_record(self, record: RunRecord) -> None:
        self._records = [r for r in self._records if r.id != record.id] + [record]
        self._redraw()

    def remove_records(self, ids: Iterable[str]) -> None:
        gone = set(ids)
        self._records = [r for r in self._records if r.id not in gone]
        self._redraw()

    def set_show_reference(self, shown: bool) -> None:
        self._show_reference = bool(shown)
        self._redraw()

    def set_highlighted(self, ids: Iterable[str]) -> None:
        self._highlighted = set(ids)
        self._draw_selection()

    def set_presentation(self, on: bool, text_pt: float = PRESENTATION_PT) -> None:
        """Large type (``text_pt`` points), markers and lines in proportion, for a screen far away."""
        self.presentation = bool(on)
        self._presentation_pt = text_pt
        self.setMinimumSize(*LEAST_SIZE[self.presentation])
        self._style()
        self._redraw()

    # ------------------------------------------------------------------ read back (tests, reports)
    def points(self, panel: str) -> list[ChartPoint]:
        return list(self._points[panel])

    def front(self, panel: str) -> list[ChartPoint]:
        return list(self._fronts[panel])

    def scene_position(self, record_id: str, panel: str = "bits") -> QPointF:
        point = next(p for p in self._points[panel] if p.record.id == record_id)
        return self.plots[panel].vb.mapViewToScene(QPointF(point.x, point.y))

    def ceiling(self) -> Optional[float]:
        """The ceiling drawn as a line (a fraction), or None when the shown runs don't share a data set."""
        return self._ceiling

    def hovered(self) -> Optional[RunRecord]:
        return self._hovered.record if self._hovered else None

    def card_text(self) -> str:
        """The hover card as plain text ('' when hidden)."""
        if self.card.isHidden():
            return ""
        document = QTextDocument()
        document.setHtml(self.card.text())
        return document.toPlainText()

    # ------------------------------------------------------------------ building the picture
    def _sizes(self) -> dict:
        if self.presentation:
            k = self._presentation_pt / PRESENTATION_PT
            return dict(point=19 * k, ring=31 * k, selected=27 * k, hover=34 * k, front=4.0 * k, outline=2.0 * k,
                        font=15 * k, small=13 * k, title=18 * k)
        return dict(point=12, ring=21, selected=18, hover=23, front=2.4, outline=1.3, font=9, small=8, title=11)

    def _style(self) -> None:
        s = self._sizes()
        font = QFont()
        font.setPointSizeF(s["small"] + 1)
        titles = {"bits": "Accuracy against the accumulator",
                  "latency": "Accuracy against FHE latency per sample"}
        labels = {"bits": "accumulator bits (widest integer in the circuit)",
                  "latency": "seconds per encrypted sample (log scale)"}
        for panel, plot in self.plots.items():
            plot.setTitle(titles[panel], color=INK, size=f"{s['font'] + 1}pt", bold=True)
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(pg.mkPen(INK, width=2 if self.presentation else 1))
                axis.setTextPen(INK)
                axis.setTickFont(font)
                axis.setStyle(tickLength=-6 if self.presentation else -4)
            plot.getAxis("bottom").setLabel(labels[panel], color=INK, **{"font-size": f"{s['font']}pt"})
            plot.getAxis("left").setLabel("accuracy (%)", color=INK, **{"font-size": f"{s['font']}pt"})
            plot.getAxis("left").setWidth(int(s["font"] * 5.5))
            self._items[panel]["empty"].setFont(QFont(font.family(), round(s["font"] + 1)))
        self.card.setStyleSheet(
            "#tradeoffCard { background: rgba(255, 255, 255, 248); border: 1px solid #8a8a8a; border-radius: 6px;"
            f" padding: {8 if self.presentation else 5}px {12 if self.presentation else 8}px; }}")

    def _collect(self) -> None:
        records = [r for r in self._records if r.accuracy is not None and r.accumulator_bits]
        reference = [r for r in self._reference if r.accuracy is not None and r.accumulator_bits] \
            if self._show_reference else []
        everything = records + reference
        self._rate = latency_rate(everything)
        rate = self._rate[0]
        for panel in PANELS:
            points = []
            for record in everything:
                is_reference = record in reference and record not in records
                y = 100 * record.accuracy
                if panel == "bits":
                    value = float(record.accumulator_bits)
                    points.append(ChartPoint(record, panel, value, y, value, False, is_reference))
                else:
                    seconds, estimated = latency_of(record, rate)
                    if seconds:
                        points.append(ChartPoint(record, panel, math.log10(seconds), y, seconds, estimated,
                                                 is_reference))
            front_index = pareto_front([(p.value, p.y) for p in points]) if points else []
            if panel == "bits":
                _spread(points, set(front_index))
            self._points[panel] = points
            self._fronts[panel] = [points[i] for i in front_index]
        self._ceiling = shared_ceiling({p.record.id: p.record for p in self._points["bits"]}.values())

    def _redraw(self) -> None:
        self._collect()
        s = self._sizes()
        self._hide_card()
        all_points = [p for panel in PANELS for p in self._points[panel]]
        ys = [p.y for p in all_points]
        y_low = min(ys) if ys else 50.0
        y_low = max(0.0, math.floor((min(y_low, 95.0) - 3) / 5) * 5)
        y_high = 100 + (100 - y_low) * (0.2 if self.presentation else 0.14)  # room for the captions
        for panel, plot in self.plots.items():
            items = self._items[panel]
            points = self._points[panel]
            for label in items["labels"]:
                plot.removeItem(label)
            items["labels"] = []
            spots = []
            for index, point in enumerate(points):
                color = config_look(point.record.config).color
                hollow = point.estimated
                spots.append(dict(
                    pos=(point.x, point.y), data=index, size=s["point"] + (2 if point.reference else 0),
                    symbol="d" if point.reference else "o",
                    pen=pg.mkPen(color if hollow else "w", width=s["outline"] * (1.6 if hollow else 1)),
                    brush=pg.mkBrush("w" if hollow else QColor(color)),
                ))
            items["scatter"].setData(spots=spots)
            front = self._fronts[panel]
            items["rings"].setData(
                pos=[(p.x, p.y) for p in front], size=s["ring"], symbol="o",
                pen=pg.mkPen(FRONT_COLOR, width=s["outline"] * 1.2), brush=pg.mkBrush(0, 0, 0, 0))
            # the view: x from the data, y shared by both panels
            if points:
                xs = [p.x for p in points]
                if panel == "bits":
                    x_low, x_high = min(xs) - 0.7, max(xs) + 0.7
                else:
                    span = max(max(xs) - min(xs), 0.6)
                    x_low, x_high = min(xs) - 0.15 * span, max(xs) + 0.25 * span
            else:
                x_low, x_high = (4, 10) if panel == "bits" else (-1, 1)
            plot.setXRange(x_low, x_high, padding=0)
            plot.setYRange(y_low, y_high, padding=0)
            ceiling = items["ceiling"]
            if self._ceiling is not None and points:
                ceiling.show()
                ceiling.setPen(pg.mkPen(MUTED_COLOR, width=s["front"] * 0.6, style=Qt.PenStyle.DashLine))
                ceiling.setValue(100 * self._ceiling)
            else:
                ceiling.hide()
            axis = plot.getAxis("bottom")
            if panel == "bits":
                axis.setTicks([[(b, str(b)) for b in range(int(math.ceil(x_low)), int(math.floor(x_high)) + 1)]])
            else:
                axis.setTicks([_nice_log_ticks(x_low, x_high)])
            step = 10 if y_high - y_low > 30 else 5 if y_high - y_low > 12 else 2
            first = math.ceil(y_low / step) * step
            plot.getAxis("left").setTicks([[(v, f"{v:g}") for v in np.arange(first, 100.01, step)]])
            # the Pareto front: a staircase from the cheapest best run, with what it dominates shaded
            if front:
                stair_x, stair_y = _staircase([p.value if panel == "bits" else p.x for p in front],
                                              [p.y for p in front], y_low, x_high)
                pen = pg.mkPen(FRONT_COLOR, width=s["front"])
                pen.setCapStyle(Qt.PenCapStyle.RoundCap)
                pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
                items["front"].setData(stair_x, stair_y, pen=pen)
                items["fill_curve"].setData(stair_x, stair_y)
                items["base_curve"].setData([stair_x[0], stair_x[-1]], [y_low, y_low])
                items["fill"].show()
                for point in front:
                    where = (point.x - x_low) / (x_high - x_low)
                    caption = pg.TextItem(config_name(point.record.config, short=True), color=INK,
                                          anchor=(0.0 if where < 0.2 else 1.0 if where > 0.8 else 0.5, 1.25))
                    font = QFont()
                    font.setPointSizeF(s["small"])
                    font.setBold(True)
                    caption.setFont(font)
                    caption.setPos(point.x, point.y)
                    caption.setZValue(7)
                    plot.addItem(caption, ignoreBounds=True)
                    items["labels"].append(caption)
            else:
                items["front"].setData([], [])
                items["fill_curve"].setData([], [])
                items["base_curve"].setData([], [])
                items["fill"].hide()
            if points:
                items["empty"].hide()
            else:
                items["empty"].setText(EMPTY_TEXT[panel])
                items["empty"].setPos((x_low + x_high) / 2, (y_low + y_high) / 2)
                items["empty"].show()
        self._draw_selection()
        self._draw_header()

    def _draw_selection(self) -> None:
        s = self._sizes()
        for panel in PANELS:
            chosen = [p for p in self._points[panel] if p.record.id in self._highlighted]
            self._items[panel]["selected"].setData(
                pos=[(p.x, p.y) for p in chosen], size=s["selected"], symbol="o",
                pen=pg.mkPen("#d81b60", width=s["outline"] * 2), brush=pg.mkBrush(0, 0, 0, 0))

    def _draw_header(self) -> None:
        s = self._sizes()
        shown = len({p.record.id for panel in PANELS for p in self._points[panel] if not p.reference})
        uncompiled = sum(1 for r in self._records if not r.accumulator_bits)
        reference = sum(1 for p in self._points["bits"] if p.reference)
        parts = [f"<b>Trade-offs over {plural(shown, 'run')}</b>"]
        if reference:
            parts.append(f"{reference} story steps")
        if uncompiled:
            parts.append(f"{uncompiled} not compiled yet (compile a run to place it)")
        if not self.presentation:
            parts.append("the Pareto front joins the runs that no other run beats on both cost and accuracy")
        self.title.setText(" \u00b7 ".join(parts), color=INK, size=f"{s['title']}pt")
        estimated = any(p.estimated for p in self._points["latency"])
        self.legend.setText(_legend_html(s, self.presentation, estimated, self._rate[1], self._ceiling), color=INK,
                            size=f"{s['font']}pt")

    # ------------------------------------------------------------------ hover and click
    def _nearest(self, scene_pos: QPointF) -> Optional[ChartPoint]:
        best, best_distance = None, HIT_RADIUS_PX * (1.5 if self.presentation else 1.0)
        for panel, plot in self.plots.items():
            if not plot.sceneBoundingRect().contains(scene_pos):
                continue
            for point in self._points[panel]:
                where = plot.vb.mapViewToScene(QPointF(point.x, point.y))
                distance = math.hypot(where.x() - scene_pos.x(), where.y() - scene_pos.y())
                if distance <= best_distance:
                    best, best_distance = point, distance
        return best

    def hover_at(self, scene_pos: QPointF) -> Optional[RunRecord]:
        """Show the card of the run under ``scene_pos`` (what moving the mouse there does)."""
        point = self._nearest(scene_pos)
        if point is self._hovered:
            return point.record if point else None
        self._hovered = point
        if point is None:
            self._hide_card()
            self.setCursor(Qt.CursorShape.ArrowCursor)
            self.runHovered.emit(None)
            return None
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._show_card(point)
        self.runHovered.emit(point.record)
        return point.record

    def click_at(self, scene_pos: QPointF) -> Optional[RunRecord]:
        point = self._nearest(scene_pos)
        if point is not None:
            self.runClicked.emit(point.record)
            return point.record
        return None

    def _mouse_moved(self, scene_pos) -> None:
        self.hover_at(QPointF(scene_pos))

    def _mouse_clicked(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            if self.click_at(event.scenePos()) is not None:
                event.accept()

    def leaveEvent(self, event) -> None:
        self.hover_at(QPointF(-1e6, -1e6))
        super().leaveEvent(event)

    def _hide_card(self) -> None:
        self._hovered = None
        self.card.hide()
        for items in self._items.values():
            items["hover"].setData([])

    def _show_card(self, point: ChartPoint) -> None:
        s = self._sizes()
        for panel, items in self._items.items():
            twin = [p for p in self._points[panel] if p.record is point.record]  # the same run in both
            items["hover"].setData(pos=[(p.x, p.y) for p in twin], size=s["hover"], symbol="o",
                                   pen=pg.mkPen(INK, width=s["outline"] * 1.6), brush=pg.mkBrush(0, 0, 0, 0))
        self.card.setText(self.describe(point.record, point.reference))
        self.card.adjustSize()
        where = self.mapFromScene(self.plots[point.panel].vb.mapViewToScene(QPointF(point.x, point.y)))
        gap = s["hover"] // 2 + 6
        width, height = self.card.width(), self.card.height()
        area = self.viewport().rect()
        x = where.x() + gap if where.x() + gap + width <= area.right() - 4 else where.x() - gap - width
        y = where.y() + gap if where.y() + gap + height <= area.bottom() - 4 else where.y() - gap - height
        self.card.move(QPoint(max(4, min(x, area.right() - width - 4)), max(4, min(y, area.bottom() - height - 4))))
        self.card.show()
        self.card.raise_()

    def describe(self, record: RunRecord, reference: bool = False) -> str:
        """The hover card of a run: its figures and its configuration."""
        m, c = record.metrics, record.config
        look = config_look(c)
        seconds, estimated = latency_of(record, self._rate[0])
        data = c.data
        rows = [
            ("accuracy", f"<b>{fmt_percent(record.accuracy)}</b>"
                         + (" (FHE simulated)" if m.fhe_simulated_accuracy is not None else "")),
            ("ceiling", fmt_percent(m.ceiling_accuracy)),
            (f"float / clear {c.bits}-bit", f"{fmt_percent(m.float_accuracy)} / {fmt_percent(m.clear_accuracy)}"),
            ("accumulator", f"<b>{record.accumulator_bits} bits</b> \u00b7 {record.pbs_count} PBS"),
            ("latency", ("-" if seconds is None else
                         f"<b>{fmt_seconds(seconds)}</b> per sample" + (" (estimated)" if estimated else
                                                                        " (measured)"))),
            ("model", f"{look.name}, {c.n_layers}\u00d7{c.n_hidden} neurons, {c.bits} bits"),
            ("pruning", "off" if c.pruning_budget is None else f"{c.pruning_budget} inputs per neuron"
             + (f", {c.neurons_kept} neurons kept" if c.neurons_kept else "")),
            ("training", f"{fmt_epochs(c)}, lr {c.lr}, batch {c.batch_size or 'automatic'}, {c.optimizer}, "
                         f"seed {c.seed}"),
            ("data", data_name(data)),
        ]
        extras = [f"{name} {value}" for name, value in (("accumulator bits", c.accumulator_bits),
                                                        ("round bits", c.round_bits), ("p error", c.p_error)) if value]
        if extras:
            rows.append(("FHE", ", ".join(extras)))
        size = self._sizes()["small"] + 1
        body = "".join(f'<tr><td style="color:#666666; padding-right:8px">{html.escape(k)}</td><td>{v}</td></tr>'
                       for k, v in rows)
        origin = "story step" if reference else "click to open"
        return (f'<div style="font-size:{size}pt; color:{INK}">'
                f'<span style="color:{look.color}; font-size:{size + 3}pt">\u25cf</span> '
                f"<b>{html.escape(record.label)}</b><table>{body}</table>"
                f'<i style="color:#666666">{origin}</i></div>')


class TradeoffBox(QWidget):
    """The chart under a line that says how to use it, with the choice to show the story's runs."""

    def __init__(self, chart: TradeoffChart, parent: Optional[QWidget] = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 4)
        layout.setSpacing(2)
        bar = QHBoxLayout()
        self.show_story_runs = QCheckBox("Show the story's runs")
        self.show_story_runs.setChecked(True)
        self.show_story_runs.setToolTip("Draw the five story steps as diamonds beside your runs.")
        self.show_story_runs.toggled.connect(chart.set_show_reference)
        hint = QLabel("Hover a point for its figures and settings; click it to open the run.")
        hint.setWordWrap(True)
        palette = hint.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(MUTED_COLOR))
        hint.setPalette(palette)
        bar.addWidget(hint, 1)
        bar.addWidget(self.show_story_runs)
        layout.addLayout(bar)
        layout.addWidget(chart, 1)
