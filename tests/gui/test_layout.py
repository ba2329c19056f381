"""The window's layout at the sizes it is shown at (laptops, projector, desktop), with the Story dock
open and closed, and the presentation view on every page: every plot on screen is big enough to
read and nothing cuts it off; on stage, no text is cut and nothing scrolls. Screenshots of each case
are kept in the test's tmp folder.

Offscreen, the screens are screens.json's. On a real display (``QT_QPA_PLATFORM=xcb`` under Xvfb
and a window manager, see ``screens/layout-xvfb.sh``) the window is maximized as a user would, and
only the cases of the display's own size run."""
from __future__ import annotations

import os

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea

from qatstudio.gui.demo.controller import install_demo
from qatstudio.services.history import History

from .conftest import _windows, make_window

SCREENS = {"laptop": (1280, 720), "projector": (1280, 800), "hd-laptop": (1366, 768),
           "desktop": (1920, 1080)}  # see screens.json
MAIN_PLOT_MIN = (150, 120)  # the live training plots
ANY_PLOT_MIN = (130, 100)  # every other plot (story boundaries, results, charts)
DEMO_PLOTS_SHARE = 0.48  # in --demo, the live plots keep at least this share of the window's height
STAGE_PLOT_SHARE = 0.45  # on stage, a boundary or a trade-off panel is at least this share of the screen's height
OFFSCREEN = os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen")


def screen_named(name: str) -> QScreen:
    """screens.json's screen ``name`` offscreen; on a real display, its screen if it has that size."""
    if OFFSCREEN:
        return next(s for s in QGuiApplication.screens() if s.name() == name)
    screen = QGuiApplication.primaryScreen()
    if (screen.geometry().width(), screen.geometry().height()) != SCREENS[name]:
        pytest.skip(f"the display is {screen.geometry().width()}x{screen.geometry().height()}, not {name}'s size")
    return screen


def show_on(window, screen: QScreen, qtbot) -> tuple[int, int]:
    """The window on ``screen`` as large as it gets there: the whole screen offscreen (it can't grow
    past it), maximized by the window manager on a real display. Returns its size."""
    window.setScreen(screen)
    window.move(screen.availableGeometry().topLeft())
    if OFFSCREEN:
        size = (screen.geometry().width(), screen.geometry().height())
        window.resize(*size)
        window.setMaximumSize(*size)
        qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=5_000)
        return size
    window.showMaximized()
    qtbot.waitUntil(window.isMaximized, timeout=5_000)
    qtbot.wait(500)  # the window manager's frame settles
    qtbot.waitUntil(lambda: screen.availableGeometry().contains(window.frameGeometry()), timeout=5_000)
    return window.width(), window.height()


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


def cut_texts(view) -> list[str]:
    """Texts and buttons of ``view`` that are cut off (too small for their text, or past its edges),
    and any scroll area (on stage nothing scrolls)."""
    problems = [f"a scroll area: {area.objectName() or type(area.widget()).__name__}"
                for area in view.findChildren(QScrollArea) if area.isVisible()]
    frame = view.rect()
    for widget in view.findChildren(QLabel) + view.findChildren(QPushButton):
        if not widget.isVisible() or not widget.text():
            continue
        name = f"{type(widget).__name__} '{widget.text()[:40]}'"
        where = QRect(widget.mapTo(view, QPoint(0, 0)), widget.size())
        if not frame.contains(where):
            problems.append(f"{name}: outside the view ({where} in {frame})")
        wraps = isinstance(widget, QLabel) and widget.wordWrap()
        need_height = widget.heightForWidth(widget.width()) if wraps else widget.minimumSizeHint().height()
        if widget.height() < need_height:
            problems.append(f"{name}: {widget.height()} px tall, its text needs {need_height}")
        if not wraps and widget.width() < widget.minimumSizeHint().width():
            problems.append(f"{name}: {widget.width()} px wide, its text needs {widget.minimumSizeHint().width()}")
    return problems


def stage_problems(view, shot, main_plots=()) -> list[str]:
    """What is wrong with the presentation view's page as it is now (``main_plots``: the window's
    live plots, when it shows them)."""
    view.grab().save(str(shot), "PNG")
    problems = problems_of(view, list(main_plots)) + cut_texts(view)
    least = STAGE_PLOT_SHARE * view.height()
    big = [view.trained_view.plot, view.integer_view.plot] if view.stage.currentWidget() is view.boundaries else \
        list(view.chart.plots.values()) if view.is_tradeoff_page() else []
    for plot in big:
        height = plot.mapRectToScene(plot.boundingRect()).height()
        if height < least:
            problems.append(f"{plot.titleLabel.text or 'boundary'}: {height:.0f} px tall, under {least:.0f}")
    return [f"{shot.name}: {problem}" for problem in problems]


NORMAL_CASES = [pytest.param(screen, story, id=f"{SCREENS[screen][0]}x{SCREENS[screen][1]}-"
                                               f"{'story' if story else 'plain'}")
                for screen in SCREENS for story in (False, True)]


@pytest.mark.parametrize("screen_name, story", NORMAL_CASES)
def test_every_plot_of_the_studio_is_readable_and_whole(qtbot, settings, tmp_path, screen_name, story):
    window = make_window(qtbot, settings)
    demo = install_demo(window, history=History(tmp_path / "history"))
    try:
        size = show_on(window, screen_named(screen_name), qtbot)
        if story:
            demo.show_story(1)
            qtbot.waitUntil(demo.story.loaded, timeout=60_000)
        qtbot.wait(200)
        main_plots = [window.plots.boundary_plot, window.plots.loss_plot, window.plots.acc_plot]
        shot = tmp_path / f"layout-{size[0]}x{size[1]}-{'story' if story else 'plain'}.png"
        window.grab().save(str(shot), "PNG")
        assert (window.width(), window.height()) == size, "the window outgrew the screen"
        assert all(plot.isVisible() for plot in main_plots)
        problems = problems_of(window, main_plots)
        assert not problems, f"{shot}:\n" + "\n".join(problems)
        if story:  # the step's buttons, Deploy it among them, in view without scrolling
            panel = demo.story_panel
            panel.show_step(5)
            qtbot.wait(50)
            for button in (panel.rerun_button, panel.deploy_button):
                where = QRect(button.mapTo(panel, QPoint(0, 0)), button.size())
                assert button.isVisible() and panel.rect().contains(where), button.text()
    finally:
        demo.shutdown()


@pytest.mark.parametrize("screen_name", list(SCREENS))
def test_the_demo_leaves_the_live_plots_room(qtbot, settings, tmp_path, screen_name):
    """``qatstudio --demo`` as it opens: the Story dock sized on the window's first size, before the
    window gets the screen's (a window manager maximizes it later); the live plots keep their share."""
    window = make_window(qtbot, settings)
    demo = install_demo(window, history=History(tmp_path / "history"))
    try:
        demo.start_demo()
        size = show_on(window, screen_named(screen_name), qtbot)
        qtbot.waitUntil(demo.story.loaded, timeout=60_000)
        qtbot.wait(200)
        shot = tmp_path / f"demo-{size[0]}x{size[1]}.png"
        window.grab().save(str(shot), "PNG")
        main_plots = [window.plots.boundary_plot, window.plots.loss_plot, window.plots.acc_plot]
        problems = problems_of(window, main_plots)
        assert not problems, f"{shot}:\n" + "\n".join(problems)
        assert window.plots.height() >= DEMO_PLOTS_SHARE * window.height(), \
            f"{shot}: plots {window.plots.height()} px tall in a window of {window.height()}"
    finally:
        demo.shutdown()


@pytest.mark.parametrize("screen_name", list(SCREENS))
def test_every_page_of_the_presentation_fits_the_screen(qtbot, settings, tmp_path, screen_name):
    """Each step, a step's page with the live plots and with the Deploy panel, and the trade-offs:
    full screen, nothing cut or scrolled, the plots large."""
    window = make_window(qtbot, settings)
    demo = install_demo(window, history=History(tmp_path / "history"))
    view = demo.presentation
    try:
        screen = screen_named(screen_name)
        show_on(window, screen, qtbot)
        view.set_active(True)
        size = (screen.geometry().width(), screen.geometry().height())
        qtbot.waitUntil(lambda: view.isFullScreen() and (view.width(), view.height()) == size, timeout=5_000)
        qtbot.waitUntil(demo.story.loaded, timeout=60_000)
        problems = []
        for page in range(1, view.pages + 1):
            view.show_page(page)
            qtbot.wait(100)
            problems += stage_problems(view, tmp_path / f"stage-{size[0]}x{size[1]}-page{page}.png")
        view.show_page(1)
        view.set_live_step(1)  # what a live re-run shows: the window's plots, in the view's type
        qtbot.wait(100)
        assert view.showing(window.plots)
        main_plots = [window.plots.boundary_plot, window.plots.loss_plot, window.plots.acc_plot]
        problems += stage_problems(view, tmp_path / f"stage-{size[0]}x{size[1]}-live.png", main_plots)
        view.show_page(5)
        view.set_deploy_step(5)  # what deploying the last step shows: the Deploy panel, in the view's type
        qtbot.wait(100)
        assert view.showing(window.deploy_panel) and window.centralWidget().isAncestorOf(window.plots)
        problems += stage_problems(view, tmp_path / f"stage-{size[0]}x{size[1]}-deploy.png")
        assert not problems, "\n".join(problems)
    finally:
        view.set_active(False)
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
    size = show_on(window, screen_named(screen_name), qtbot)
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


def test_idle_progress_bars_are_hidden_and_counts_read_as_words(qtbot):
    """An empty progress bar looks like a text field: the Results panel shows its bars only from a
    run's start, its boundaries once simulated, and a count is '1 point', never 'point(s)'."""
    from qatstudio.engine.evaluate import Metrics
    from qatstudio.gui.panels.results_panel import ResultsPanel

    panel = ResultsPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    assert not panel.simulate_progress.isVisible() and not panel.encrypted_progress.isVisible()
    assert not panel.boundaries.isVisible() and panel.boundary_note.isVisible()  # no empty frames: a sentence
    panel.simulation_progress(3, 10, "simulating", "test point")
    panel.encrypted_started(1)
    assert panel.simulate_progress.isVisible() and panel.encrypted_progress.isVisible()
    panel.show_metrics(Metrics(fhe_executed_accuracy=1.0, fhe_executed_samples=1))
    assert panel.value("executed").endswith(" on 1 point")
    panel.clear(500, ("0", "1"))
    assert not panel.simulate_progress.isVisible() and not panel.encrypted_progress.isVisible()


def test_the_demo_docks_find_their_place_in_a_layout_saved_maximized(qtbot, settings, tmp_path):
    """A first session maximized (its Story and Trade-offs docks never shown), then ``--demo``: the
    docks sit at the bottom of the window, not outside every dock area over its top-left corner."""
    from PySide6.QtCore import Qt

    from qatstudio.gui.window.main_window import MainWindow

    histories = []
    for demo in (False, True):
        window = MainWindow(settings)
        window.ask_before_discarding = False
        _windows.append(window)  # closed at the test's end
        histories.append(History(tmp_path / f"history-{demo}"))
        controller = install_demo(window, histories[-1])
        window.placement.show_first() if demo else window.showMaximized()
        qtbot.waitExposed(window)
        qtbot.wait(200)
        if demo:
            controller.start_demo()
            qtbot.wait(200)
            for dock in (controller.story_dock, controller.chart_dock):
                assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea, dock.objectName()
            story = controller.story_dock.geometry()  # in front of its tab group (the other is parked off screen)
            assert story.top() > window.plots.mapTo(window, QPoint(0, window.plots.height())).y() - 10
        window.save_settings()
        window.hide()
