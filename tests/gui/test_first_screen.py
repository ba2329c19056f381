"""What a newcomer meets first: a window that fits the screen with its status bar on it, plots that
say what to do, and Help with the keyboard shortcuts (read from the actions) and a short tour."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QGuiApplication, QKeySequence

from qatstudio.gui.window.help import TourDialog
from qatstudio.gui.window.main_window import MainWindow
from qatstudio.gui.window.placement import first_geometry

from .conftest import _windows, small_config


def fresh_window(qtbot, settings, screen_name: str) -> MainWindow:
    """A window as the first launch shows it (no saved geometry) on one of screens.json's screens."""
    window = MainWindow(settings)
    window.ask_before_discarding = False
    _windows.append(window)
    window.setScreen(next(s for s in QGuiApplication.screens() if s.name() == screen_name))
    window.placement.show_first()
    qtbot.waitExposed(window)
    return window


@pytest.mark.parametrize("screen_name, maximized", [("laptop", True), ("projector", True), ("desktop", False)])
def test_the_first_window_fits_its_screen_with_the_status_bar_on_it(qtbot, settings, screen_name, maximized):
    window = fresh_window(qtbot, settings, screen_name)
    available = window.screen().availableGeometry()
    qtbot.waitUntil(lambda: window.isMaximized() == maximized, timeout=5_000)
    qtbot.waitUntil(lambda: available.contains(window.frameGeometry()), timeout=5_000)
    bar = window.statusBar()
    assert bar.isVisible() and available.contains(QRect(bar.mapToGlobal(QPoint(0, 0)), bar.size()))
    if not maximized:  # a large screen: a large window, not a small one in the middle
        assert window.width() >= 0.85 * available.width() and window.height() >= 0.8 * available.height()


def test_where_the_first_window_goes():
    least, frame = QSize(835, 475), 40
    assert first_geometry(QRect(0, 0, 1280, 800), least, frame) is None  # small screens: maximized
    assert first_geometry(QRect(0, 0, 1366, 768), least, frame) is None
    assert first_geometry(QRect(0, 0, 1600, 500), least, frame) is None  # too short for the window and its frame
    place = first_geometry(QRect(0, 0, 1920, 1080), least, frame)
    assert place.size() == QSize(1728, 932) and QRect(0, 0, 1920, 1080).contains(place.adjusted(0, -frame, 0, 0))


def test_empty_plots_say_what_to_do_until_a_run_fills_them(qtbot, window, run):
    hint = "Press Train (Ctrl+T) to start"
    items = window.plots._hints.values()
    assert all(hint in item.toPlainText() for item in items)
    shown = window.plots.hints_shown()
    assert {"Decision boundary", "Training loss per optimizer step"} <= set(shown)  # small ones only with room
    window.resize(1900, 1000)
    qtbot.waitUntil(lambda: sorted(window.plots.hints_shown()) == sorted(p.titleLabel.text
                                                                          for p in window.plots._hints))
    window.config_panel.set_config(small_config(epochs=1))

    def train():
        window.train_action.trigger()
        assert window.plots.hints_shown() == []  # training: nothing to press
    assert run(train, "Training") == "succeeded"
    assert window.plots.hints_shown() == []


def test_the_presets_button_has_room_for_its_arrow_beside_its_text(window):
    """Start from [Guide presets]: the menu's arrow beside the text (a tool button drew it over the
    text's last letter)."""
    from PySide6.QtWidgets import QPushButton, QStyle

    button = window.presets_button
    arrow = button.style().pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator, None, button)
    plain = QPushButton(button.text())  # the same words, no menu
    assert button.menu() is window.presets_menu
    assert button.sizeHint().width() >= plain.sizeHint().width() + arrow
    assert button.width() >= button.sizeHint().width()


def test_configure_fits_its_narrowest_dock_with_every_data_set(qtbot, window):
    """Nothing of Configure is cut at its right edge (it scrolls up and down only), whichever data
    set is picked and with its FHE settings unfolded: the checkerboard's extra row once made it 12 px
    wider than its dock, the error probability's longest choice 100 px."""
    from PySide6.QtWidgets import QComboBox, QScrollArea

    panel = window.config_panel
    area = next(a for a in window.findChildren(QScrollArea) if a.widget() is panel)
    room = window.configure_dock.minimumWidth() - area.verticalScrollBar().sizeHint().width()
    panel.fhe_toggle.setChecked(True)
    for index in range(panel.picker.count()):
        panel.picker.setCurrentIndex(index)
        panel.picker.activated.emit(index)
        qtbot.wait(10)
        assert panel.minimumSizeHint().width() <= room, panel.picker.itemText(index)
    window.configure_dock.resize(window.configure_dock.minimumWidth(), window.configure_dock.height())
    qtbot.wait(10)
    assert [cut for combo in panel.findChildren(QComboBox) for cut in cut_choices(combo)] == []


def cut_choices(combo) -> list[str]:
    """The choices of ``combo`` too long for its box (a choice's icon takes its room too)."""
    from PySide6.QtWidgets import QStyle, QStyleOptionComboBox

    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                         QStyle.SubControl.SC_ComboBoxEditField, combo).width()
    return [combo.itemText(i) for i in range(combo.count())
            if combo.fontMetrics().horizontalAdvance(combo.itemText(i))
            + (0 if combo.itemIcon(i).isNull() else combo.iconSize().width() + 4) > field]


def test_the_shortcuts_dialog_shows_every_key_at_once_when_the_screen_allows(qtbot, window):
    """As tall as its rows (the demo's keys made a fixed height scroll on a 1280 x 800 screen)."""
    from PySide6.QtGui import QAction

    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":  # more keys than a fixed height held
        action = QAction(f"Extra {letter}", window)
        action.setShortcut(QKeySequence(f"Ctrl+Alt+{letter}"))
        window.addAction(action)
    dialog = window.show_shortcuts()
    qtbot.waitExposed(dialog)
    assert dialog.table.rowCount() >= 26 + 10
    assert dialog.table.verticalScrollBar().maximum() == 0  # every key in view, nothing to scroll
    assert dialog.screen().availableGeometry().contains(dialog.frameGeometry())
    dialog.close()


def test_help_lists_the_actions_own_shortcuts_and_has_a_tour(qtbot, window):
    help_actions = [a.text().replace("&", "") for a in window.help_menu.actions() if not a.isSeparator()]
    assert help_actions[:2] == ["Tour\u2026", "Keyboard shortcuts\u2026"]
    dialog = window.show_shortcuts()
    rows = dialog.rows()
    assert ("Train", "Ctrl+T or F5", "Train the configured model") in rows
    assert ("Quit", "Ctrl+Q", "Close QAT Studio") in rows
    assert len(rows) == sum(1 for action in window.actions() if action.shortcuts())
    dialog.close()
    window.compile_action.setShortcuts([QKeySequence("Ctrl+Shift+K")])  # the list follows the actions
    dialog = window.show_shortcuts()
    assert ("Compile", "Ctrl+Shift+K") == dialog.rows()[[r[0] for r in dialog.rows()].index("Compile")][:2]
    dialog.close()

    tour = window.show_tour()
    assert isinstance(tour, TourDialog) and len(tour.pages) >= 3
    assert tour.counter.text() == f"1 of {len(tour.pages)}" and not tour.back_button.isEnabled()
    assert "Ctrl+T" in tour.text.text()
    tour.show()
    qtbot.waitExposed(tour)
    needed = []
    while True:  # every page's text whole, and no empty band under the longest one
        needed.append(tour.text.heightForWidth(tour.text.width()))
        assert tour.text.height() >= needed[-1], tour.title.text()
        if not tour.next_button.isEnabled():
            break
        tour.next_button.click()
    assert tour.text.height() <= max(needed) + tour.text.fontMetrics().height()
    assert tour.counter.text() == f"{len(tour.pages)} of {len(tour.pages)}" and tour.back_button.isEnabled()
    tour.close()


def test_the_demo_window_paints_first_then_loads_the_story(qtbot, settings):
    """``qatstudio --demo``: the window shows, says the story is loading and paints itself before
    the story's files are opened (opening them beside the first paint kept it black for seconds)."""
    from qatstudio.gui.app import open_window
    from qatstudio.gui.demo.controller import LOADING

    window = open_window(demo=True, settings=settings)
    window.ask_before_discarding = False
    _windows.append(window)
    story = window.demo_controller.story
    try:
        assert window.isVisible() and story.is_held() and not story.runner.is_busy()  # nothing opened yet
        assert window.status_text() == LOADING and window.demo_controller.story_dock.isVisible()
        assert story.panel.current == 1
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: not story.is_held(), timeout=10_000)
        qtbot.waitUntil(story.loaded, timeout=120_000)
        qtbot.waitUntil(lambda: not story.runner.is_busy(), timeout=10_000)
        assert window.status.standing().startswith("Ready")  # the message before it, back
    finally:
        window.demo_controller.shutdown()
