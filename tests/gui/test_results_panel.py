"""The Results panel in its dock: the two boundary maps stay about square however tall the dock."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QScrollArea

from qatstudio.gui.panels.results_panel import BOUNDARIES_LEAST_HEIGHT, ResultsPanel


@pytest.mark.parametrize("width, height", [(365, 600), (365, 1000), (520, 1000)])
def test_the_boundary_maps_keep_their_shape_in_a_tall_dock(qtbot, width, height):
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
    maps = panel.boundaries
    assert maps.height() == max(BOUNDARIES_LEAST_HEIGHT, maps.width() // 2 + 20)  # no empty band under the squares
