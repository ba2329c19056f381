"""The optimizer's chart: each candidate's validation accuracy against its predicted latency per
sample (log scale), the Pareto front as a staircase, the tolerance under the best as a dashed line,
and the winner marked once the search has one."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt

from ...services.formatting import FRONT_COLOR, MUTED_COLOR, OTHER_COLOR, WINNER_COLOR, fmt_seconds
from ...services.history import pareto_front
from .plots import style_plot


@dataclass(frozen=True)
class Candidate:
    label: str
    latency_s: float  # predicted, per sample
    validation: float  # accuracy, 0..1


class LatencyAxis(pg.AxisItem):
    """A log10 axis whose ticks read as durations ('30 ms', '1.2 s')."""

    def tickStrings(self, values, scale, spacing):
        return [fmt_seconds(10.0 ** value) for value in values]


class FrontChart(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent=parent, background="w", axisItems={"bottom": LatencyAxis("bottom")})
        self.setObjectName("optimizeFront")
        self.candidates: list[Candidate] = []
        self.winner: Optional[Candidate] = None
        self.tolerance = 0.0
        plot = self.getPlotItem()
        style_plot(plot, "Validation accuracy against predicted latency", "predicted latency per sample",
                   "validation %")
        plot.setMenuEnabled(False)
        plot.hideButtons()
        self.scatter = pg.ScatterPlotItem(size=8, pen=pg.mkPen(OTHER_COLOR), brush=pg.mkBrush(OTHER_COLOR))
        self.staircase = pg.PlotCurveItem(pen=pg.mkPen(FRONT_COLOR, width=2), stepMode=None)
        self.bar = pg.InfiniteLine(angle=0, pen=pg.mkPen(MUTED_COLOR, width=1, style=Qt.PenStyle.DashLine),
                                   label="within tolerance", labelOpts={"position": 0.05, "color": MUTED_COLOR,
                                                                         "anchors": [(0, 1), (0, 1)]})
        self.star = pg.ScatterPlotItem(size=18, symbol="star", pen=pg.mkPen(FRONT_COLOR),
                                       brush=pg.mkBrush(WINNER_COLOR))
        for item in (self.scatter, self.staircase, self.bar, self.star):
            plot.addItem(item)
        self.bar.hide()

    def sizeHint(self) -> QSize:
        return QSize(420, 220)

    def set_tolerance(self, tolerance: float) -> None:
        """Accuracy (0..1) the winner may give up against the best candidate."""
        self.tolerance = tolerance
        self._redraw()

    def clear_candidates(self) -> None:
        self.candidates, self.winner = [], None
        self._redraw()

    def add_candidate(self, candidate: Candidate) -> None:
        self.candidates.append(candidate)
        self._redraw()

    def set_winner(self, winner: Optional[Candidate]) -> None:
        self.winner = winner
        self._redraw()

    def front(self) -> list[Candidate]:
        """The candidates no other beats: faster and at least as accurate, by cost."""
        points = [(c.latency_s, c.validation) for c in self.candidates]
        return [self.candidates[i] for i in pareto_front(points)]

    def _redraw(self) -> None:
        shown = [c for c in self.candidates if c.latency_s > 0]
        x = np.array([math.log10(c.latency_s) for c in shown])
        y = np.array([100 * c.validation for c in shown])
        self.scatter.setData(x, y)
        front = [c for c in self.front() if c.latency_s > 0]
        if front:
            fx = [math.log10(c.latency_s) for c in front]
            fy = [100 * c.validation for c in front]
            # a staircase: each front point holds its accuracy until the next, cheaper-to-dearer
            steps_x = [fx[0]] + [v for v in fx[1:] for _ in (0, 1)]
            steps_y = [v for v in fy[:-1] for _ in (0, 1)] + [fy[-1]]
            self.staircase.setData(steps_x, steps_y)
            self.bar.setValue(max(fy) - 100 * self.tolerance)
            self.bar.setVisible(self.tolerance > 0)
        else:
            self.staircase.setData([], [])
            self.bar.hide()
        if self.winner is not None and self.winner.latency_s > 0:
            self.star.setData([math.log10(self.winner.latency_s)], [100 * self.winner.validation])
        else:
            self.star.setData([], [])
