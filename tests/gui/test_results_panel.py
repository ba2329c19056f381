"""The Results panel in its dock: the two boundary maps stay about square however tall the dock, and
shrink rather than scroll in a short one."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QScrollArea

from qatstudio.gui.panels.results_panel import BOUNDARIES_LEAST_HEIGHT, ResultsPanel


def docked_panel(qtbot, width: int, height: int) -> "tuple[QScrollArea, ResultsPanel]":
    """A Results panel with both boundary maps shown, in a scrolled dock of ``width`` x ``height``."""
    panel = ResultsPanel()
    panel.clear(500, ("0", "1"))
    grid = np.zeros((100, 100))
    panel.show_boundaries(grid, grid, 16)
    dock = QScrollArea()
    dock.setWidgetResizable(True)
    dock.setWidget(panel)
    qtbot.addWidget(dock)
    dock.resize(width, height)
    dock.show()
    qtbot.waitUntil(lambda: panel.boundaries.width() > width * 0.8)
    return dock, panel


@pytest.mark.parametrize("width, height", [(365, 700), (365, 1000), (520, 1000)])
def test_the_boundary_maps_keep_their_shape_in_a_tall_dock(qtbot, width, height):
    dock, panel = docked_panel(qtbot, width, height)
    maps = panel.boundaries
    qtbot.waitUntil(lambda: maps.height() == max(BOUNDARIES_LEAST_HEIGHT, maps.width() // 2 + 20))  # no empty band


def test_the_boundary_maps_shrink_rather_than_scroll_in_a_short_dock(qtbot):
    dock, panel = docked_panel(qtbot, 365, 520)
    maps = panel.boundaries
    qtbot.waitUntil(lambda: maps.height() < maps.width() // 2 + 20)
    assert maps.height() >= BOUNDARIES_LEAST_HEIGHT and dock.verticalScrollBar().maximum() == 0
