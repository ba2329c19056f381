"""The window's layout at the sizes it is shown at (laptop, projector, desktop), normal and in
presentation mode, with the Story dock open and closed: every plot on screen is big enough to
read and nothing cuts it off. Screenshots of each case are kept in the test's tmp folder."""
from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QScrollArea

from qatstudio.gui.demo import install_demo
from qatstudio.services.history import History

from .conftest import make_window

SCREENS = {"laptop": (1280, 720), "projector": (1280, 800), "desktop": (1920, 1080)}  # see screens.json
MAIN_PLOT_MIN = (150, 120)  # the live training plots
ANY_PLOT_MIN = (130, 100)  # every other plot (story boundaries, results, charts)


def plots_on_screen(window) -> list[tuple[pg.GraphicsView, pg.PlotItem]]:
    """Every plot item shown in a visible graphics view of the window (tabbed-away docks excluded)."""
    found = []
    for view in window.findChildren(pg.GraphicsView):
        if not view.isVisible():
            continue
        for item in view.scene().items():
            if isinstance(item, pg.PlotItem) and not isinstance(item, pg.ColorBarItem) and item.isVisible():
                found.append((view, item))
    return found


def problems_of(window, main_plots) -> list[str]:
    problems = []
    frame = window.rect()
    for view, plot in plots_on_screen(window):
        on_window = view.rect().translated(view.mapTo(window, view.rect().topLeft()))
        if not on_window.intersects(frame):
            continue  # a dock tabbed behind another: Qt parks its page outside the window
        name = plot.titleLabel.text or type(view).__name__
        box = plot.mapRectToScene(plot.boundingRect()).toRect()
        least = MAIN_PLOT_MIN if plot in main_plots else ANY_PLOT_MIN
        if box.width() < least[0] or box.height() < least[1]:
            problems.append(f"{name}: {box.width()}x{box.height()} px, under {least[0]}x{least[1]}")
        if not view.viewport().rect().contains(box.adjusted(1, 1, -1, -1)):
            problems.append(f"{name}: cut off inside its view ({box} not in {view.viewport().rect()})")
        shown = on_window
        parent = view.parentWidget()
        while parent is not None and parent is not window:  # clipped by a dock or its neighbours
            if isinstance(parent.parentWidget(), QScrollArea):
                break  # what a scroll area holds is scrolled to, not cut off
            shown = shown.intersected(parent.rect().translated(parent.mapTo(window, parent.rect().topLeft())))
            parent = parent.parentWidget()
        if shown != on_window:
            problems.append(f"{name}: its view is clipped to {shown.width()}x{shown.height()} "
                            f"of {on_window.width()}x{on_window.height()}")
        if not frame.contains(on_window):
            problems.append(f"{name}: outside the window ({on_window} in {frame})")
    return problems


CASES = [
    pytest.param(screen, story, presenting,
                 id=f"{SCREENS[screen][0]}x{SCREENS[screen][1]}-{'story' if story else 'plain'}-"
                    f"{'presentation' if presenting else 'normal'}")
    for screen in SCREENS for story in (False, True) for presenting in (False, True)
]


@pytest.mark.parametrize("screen_name, story, presenting", CASES)
def test_every_plot_is_readable_and_whole(qtbot, settings, tmp_path, screen_name, story, presenting):
    window = make_window(qtbot, settings)
    demo = install_demo(window, history=History(tmp_path / "history"))
    size = SCREENS[screen_name]
    screen = next(s for s in QGuiApplication.screens() if s.name() == screen_name)
    try:
        window.setScreen(screen)
        window.move(screen.geometry().topLeft())
        window.resize(*size)  # the whole screen, as in a demo; like a maximized window, it can't grow
        window.setMaximumSize(*size)
        qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=5_000)
        if story:
            demo.show_story(1)
            qtbot.waitUntil(demo.story.loaded, timeout=60_000)
        if presenting:
            demo.presentation.set_active(True)
            qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=5_000)
        qtbot.wait(200)
        main_plots = [window.plots.boundary_plot, window.plots.loss_plot, window.plots.acc_plot]
        shot = tmp_path / f"layout-{size[0]}x{size[1]}-{'story' if story else 'plain'}-" \
                          f"{'presentation' if presenting else 'normal'}.png"
        window.grab().save(str(shot), "PNG")
        assert (window.width(), window.height()) == size, "the window outgrew the screen"
        assert all(plot.isVisible() for plot in main_plots)
        problems = problems_of(window, main_plots)
        assert not problems, f"{shot}:\n" + "\n".join(problems)
    finally:
        if demo.presentation.is_active():
            demo.presentation.set_active(False)
        demo.shutdown()


@pytest.mark.parametrize("screen_name", list(SCREENS))
def test_many_features_and_classes_still_fit(qtbot, settings, tmp_path, screen_name):
    """A 20-feature, 10-class table: the plane's chooser and a legend of ten long class names fit
    under the boundary, which stays readable."""
    import numpy as np

    from qatstudio.engine.config import DataConfig
    from qatstudio.engine.data import Table, make_dataset

    rng = np.random.default_rng(0)
    names = tuple(f"a rather long class name {i}" for i in range(10))
    table = Table(rng.normal(size=(400, 20)), np.arange(400) % 10, tuple(f"measurement_{i}" for i in range(20)), names)
    data = DataConfig(shape="table", table_name="wide.csv", table_sha256="0" * 64, table_bytes=1, label_column="y",
                      n_features=20, n_classes=10)
    window = make_window(qtbot, settings)
    size = SCREENS[screen_name]
    window.setScreen(next(s for s in QGuiApplication.screens() if s.name() == screen_name))
    window.resize(*size)
    window.setMaximumSize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=5_000)
    window.plots.load([], [], None, make_dataset(data, table), None)
    qtbot.wait(200)
    window.grab().save(str(tmp_path / f"many-{size[0]}x{size[1]}.png"), "PNG")
    main_plots = [window.plots.boundary_plot, window.plots.loss_plot, window.plots.acc_plot]
    problems = problems_of(window, main_plots)
    assert not problems, "\n".join(problems)
    chooser = window.plots.plane_chooser
    assert chooser.isVisible()
    square = window.plots.boundary_plot.getViewBox().sceneBoundingRect()
    assert square.width() >= 120 and square.height() >= 120, square  # the plane itself, not only its frame
    assert window.plots.boundary_plot.sceneBoundingRect().contains(window.plots.boundary_legend.sceneBoundingRect())
    assert window.plots.boundary_plot.sceneBoundingRect().contains(window.plots._chooser_item.sceneBoundingRect())
