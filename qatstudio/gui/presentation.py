"""Presentation mode: full screen, larger fonts and thicker lines, a high-contrast palette that reads
on a projector, advanced controls hidden, the story's step list kept in view.

Everything it changes on the window is recorded first and put back when it ends: window state and
geometry, dock and toolbar layout (``saveState``), menu bar, font, palette, and the style of every
pyqtgraph plot in the window. It works on any QMainWindow from the outside.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import pyqtgraph as pg
from PySide6.QtCore import QByteArray, QCoreApplication, QEvent, QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPalette, QPen
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolBar, QWidget

from .widgets import QWIDGETSIZE_MAX

FONT_SCALE = 1.5  # window text
PLOT_FONT_SCALE = 1.25  # plot titles and axis labels of the window's plots
TICK_FONT_SCALE = 1.15  # their tick labels (fixed ticks on small plots would run into each other)
LINE_SCALE = 2.2  # curve widths
SYMBOL_SCALE = 1.5  # markers
CENTRAL_MIN_WIDTH = 560  # the live plots beside the story, in pixels
CENTRAL_MARGIN_PX = 16  # around the plots' view: the central widget's margins and the dock separator


def high_contrast_palette(base: QPalette) -> QPalette:
    """Black on white, a saturated dark blue for selections, and disabled text still legible
    (a washed-out projector turns Fusion's light grey into nothing)."""
    palette = QPalette(base)
    roles = QPalette.ColorRole
    colors = {
        roles.Window: "#ffffff", roles.WindowText: "#000000", roles.Base: "#ffffff",
        roles.AlternateBase: "#eef2f7", roles.Text: "#000000", roles.Button: "#e9e9e9",
        roles.ButtonText: "#000000", roles.BrightText: "#ffffff", roles.Highlight: "#003f9e",
        roles.HighlightedText: "#ffffff", roles.ToolTipBase: "#ffffe0", roles.ToolTipText: "#000000",
        roles.Link: "#0033cc", roles.PlaceholderText: "#4d4d4d", roles.Light: "#ffffff",
        roles.Midlight: "#d0d0d0", roles.Mid: "#7a7a7a", roles.Dark: "#404040", roles.Shadow: "#000000",
    }
    for role, color in colors.items():
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            palette.setColor(group, role, QColor(color))
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(color))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#5c5c5c"))
    return palette


def _scaled_size(text: Optional[str], scale: float, default_pt: float = 9.0) -> str:
    match = re.fullmatch(r"\s*([\d.]+)\s*(pt|px)\s*", text or "")
    value, unit = (float(match[1]), match[2]) if match else (default_pt, "pt")
    return f"{value * scale:.1f}{unit}"


class PlotRestyler:
    """Thicker lines and larger text on pyqtgraph plots, undone exactly by ``restore``."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def apply(self, views: Iterable[pg.GraphicsView], base_font: QFont) -> None:
        for view in views:
            scene = view.scene()
            if scene is None:
                continue
            for item in list(scene.items()):
                try:
                    self._restyle(item, base_font)
                except (RuntimeError, TypeError, ValueError, KeyError, AttributeError):
                    continue  # an item we don't know how to restyle keeps its look

    def restore(self) -> None:
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except (RuntimeError, TypeError, ValueError, KeyError, AttributeError):
                pass  # the item was deleted meanwhile

    def _restyle(self, item, base_font: QFont) -> None:
        if isinstance(item, pg.AxisItem):
            old_font, old_pen, old_text_pen = item.style.get("tickFont"), QPen(item.pen()), QPen(item.textPen())
            old_label_style = dict(item.labelStyle)
            old_width, old_height = item.fixedWidth, item.fixedHeight
            # the largest tick text seen so far: pyqtgraph grows an axis to it and never shrinks it
            old_text_size = (item.textWidth, item.textHeight)
            font = QFont(old_font) if old_font is not None else QFont(base_font)
            size = font.pointSizeF() if font.pointSizeF() > 0 else 9.0
            font.setPointSizeF(size * TICK_FONT_SCALE)
            item.setTickFont(font)
            item.setPen(pg.mkPen("#000000", width=max(2.0, old_pen.widthF() * 2)))
            item.setTextPen("#000000")
            if item.label is not None and item.label.isVisible():
                style = dict(item.labelStyle)
                style["font-size"] = _scaled_size(style.get("font-size"), PLOT_FONT_SCALE, size)
                style["color"] = "#000000"
                item.labelStyle = style
                item._updateLabel()
            side = item.orientation in ("left", "right")
            if side and old_width is not None:  # a fixed width made for the small font would clip the ticks
                item.setWidth(int(old_width * PLOT_FONT_SCALE))
            if not side and old_height is not None:
                item.setHeight(int(old_height * PLOT_FONT_SCALE))

            def undo(item=item):
                item.setTickFont(old_font)
                item.textWidth, item.textHeight = old_text_size
                if item.orientation in ("left", "right"):  # (setHeight on a side axis would fix its height)
                    item.setWidth(old_width)
                else:
                    item.setHeight(old_height)
                item.setPen(old_pen)
                item.setTextPen(old_text_pen)
                item.labelStyle = old_label_style
                item._updateLabel()

            self._undo.append(undo)
        elif isinstance(item, pg.LabelItem) and not isinstance(item.parentItem(), pg.LegendItem):
            old_opts, text = dict(item.opts), item.text
            item.setText(text, size=_scaled_size(item.opts.get("size"), PLOT_FONT_SCALE))

            def undo(item=item):
                item.opts = old_opts
                item.setText(item.text)

            self._undo.append(undo)
        elif isinstance(item, pg.PlotDataItem):
            old_pen, old_symbol_size = item.opts.get("pen"), item.opts.get("symbolSize")
            pen = pg.mkPen(old_pen)
            if pen.style() != Qt.PenStyle.NoPen:
                wider = QPen(pen)
                wider.setWidthF(max(pen.widthF(), 1.0) * LINE_SCALE)
                item.setPen(wider)
            if item.opts.get("symbol") is not None and old_symbol_size:
                item.setSymbolSize(int(round(old_symbol_size * SYMBOL_SCALE)))

            def undo(item=item):
                item.setPen(old_pen)
                if old_symbol_size:
                    item.setSymbolSize(old_symbol_size)

            self._undo.append(undo)
        elif isinstance(item, pg.ScatterPlotItem) and not isinstance(item.parentItem(), pg.PlotDataItem):
            old_size = item.opts.get("size")
            per_spot = {float(size) for size in item.data["size"]} - {-1.0, float(old_size or 0)}
            if old_size and not per_spot:  # spots sized one by one would lose their sizes
                item.setSize(old_size * SYMBOL_SCALE)
                self._undo.append(lambda item=item: item.setSize(old_size))


@dataclass
class _Saved:
    geometry: QByteArray
    rect: QRect
    layout: QByteArray
    window_state: Qt.WindowState
    font: QFont
    had_font: bool
    palette: QPalette
    had_palette: bool
    menu_bar_visible: bool
    status_bar_visible: bool
    dock_features: dict = field(default_factory=dict)
    dock_widths: dict = field(default_factory=dict)  # (minimum, maximum) of the docks kept


class PresentationMode(QObject):
    """Toggle a QMainWindow in and out of presentation mode.

    ``keep``: the docks shown in presentation mode (the story first); every other dock and every
    toolbar is hidden; ``arrange`` may then move the kept docks (the saved layout puts them back).
    ``restylers``: widgets that draw themselves for presentation
    (``set_presentation(bool)``); their plots are left out of the generic restyling.
    """

    toggled = Signal(bool)

    def __init__(self, window: QMainWindow, keep: Callable[[], list[QDockWidget]],
                 restylers: Callable[[], list[QWidget]], arrange: Optional[Callable[[], None]] = None,
                 parent: Optional[QObject] = None):
        super().__init__(parent or window)
        self.window = window
        self._keep = keep
        self._restylers = restylers
        self._arrange = arrange
        self._saved: Optional[_Saved] = None
        self._plots = PlotRestyler()

    def is_active(self) -> bool:
        return self._saved is not None

    def set_active(self, on: bool) -> None:
        if on and not self.is_active():
            self._enter()
            self.toggled.emit(True)
        elif not on and self.is_active():
            self._leave()
            self.toggled.emit(False)

    # ------------------------------------------------------------------ in
    def _enter(self) -> None:
        w = self.window
        keep = [dock for dock in self._keep() if dock is not None]
        self._saved = _Saved(
            geometry=w.saveGeometry(), rect=QRect(w.geometry()), layout=w.saveState(), window_state=w.windowState(),
            font=QFont(w.font()), had_font=w.testAttribute(Qt.WidgetAttribute.WA_SetFont),
            palette=QPalette(w.palette()), had_palette=w.testAttribute(Qt.WidgetAttribute.WA_SetPalette),
            menu_bar_visible=not w.menuBar().isHidden() if w.menuWidget() is not None else False,
            status_bar_visible=not w.statusBar().isHidden(),
            dock_features={dock: dock.features() for dock in keep},
            dock_widths={dock: (dock.minimumWidth(), dock.maximumWidth()) for dock in keep},
        )
        for dock in w.findChildren(QDockWidget):
            if dock.parent() is w and dock not in keep:
                dock.hide()
        for toolbar in w.findChildren(QToolBar):
            if toolbar.parent() is w:
                toolbar.hide()
        for dock in keep:
            dock.show()
            dock.setFloating(False)
            dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)  # the list stays in view
            dock.setMinimumWidth(0)  # the window's side-dock limits are for its normal layout
            dock.setMaximumWidth(QWIDGETSIZE_MAX)
            dock.raise_()
        if self._arrange is not None:
            self._arrange()
        if w.menuWidget() is not None:
            w.menuBar().hide()  # the shortcuts stay: the window holds the actions
        font = QFont(w.font())
        if font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * FONT_SCALE)
        else:
            font.setPixelSize(int(round(font.pixelSize() * FONT_SCALE)))
        w.setFont(font)
        w.setPalette(high_contrast_palette(w.palette()))
        own = self._restylers()
        views = [view for view in w.findChildren(pg.GraphicsView)
                 if not any(view is widget or widget.isAncestorOf(view) for widget in own)]
        self._plots.apply(views, font)
        for widget in own:
            widget.set_presentation(True)
        w.showFullScreen()
        if keep:
            QTimer.singleShot(0, lambda: self._size_docks(keep))

    def _size_docks(self, keep: list[QDockWidget]) -> None:
        """The first kept dock at a side takes most of the width (the live plots beside it keep
        ``CENTRAL_MIN_WIDTH`` at least), one at the bottom 42% of the height: the story first."""
        if not self.is_active():
            return
        w = self.window
        screen = w.screen().geometry() if w.screen() is not None else w.geometry()
        width, height = max(w.width(), screen.width()), max(w.height(), screen.height())  # full screen soon
        area = w.dockWidgetArea
        sides = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)
        side = [d for d in keep if area(d) in sides and d.isVisible()]
        if side:
            plots = max(CENTRAL_MIN_WIDTH, int(width * 0.38), w.plots.least_width() + CENTRAL_MARGIN_PX)
            share = min(int(width * 0.62), width - plots)
            w.resizeDocks(side[:1], [share], Qt.Orientation.Horizontal)
        ends = (Qt.DockWidgetArea.BottomDockWidgetArea, Qt.DockWidgetArea.TopDockWidgetArea)
        end = [d for d in keep if area(d) in ends and d.isVisible()]
        if end:
            w.resizeDocks(end[:1], [int(height * 0.42)], Qt.Orientation.Vertical)

    # ------------------------------------------------------------------ out
    def _leave(self) -> None:
        saved, self._saved = self._saved, None
        w = self.window
        for widget in self._restylers():
            widget.set_presentation(False)
        self._plots.restore()
        if saved.had_palette:
            w.setPalette(saved.palette)
        else:
            w.setPalette(QPalette())  # back to inheriting the application's palette
            w.setAttribute(Qt.WidgetAttribute.WA_SetPalette, False)
        if saved.had_font:
            w.setFont(saved.font)
        else:
            w.setFont(QFont())
            w.setAttribute(Qt.WidgetAttribute.WA_SetFont, False)
        for dock, features in saved.dock_features.items():
            dock.setFeatures(features)
        for dock, (least, most) in saved.dock_widths.items():
            dock.setMinimumWidth(least)
            dock.setMaximumWidth(most)
        if w.menuWidget() is not None:
            w.menuBar().setVisible(saved.menu_bar_visible)
        w.statusBar().setVisible(saved.status_bar_visible)
        # Docks back first (their large-font minimum sizes go with them), then let the layouts
        # shrink to the normal fonts before the size is set: a minimum size left from the large
        # fonts would clamp it. Then the window's size, and the dock layout again at that size
        # (restoreState shares space out in proportion to the window it is applied to).
        w.restoreState(saved.layout)
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        w.setWindowState(saved.window_state)
        if not saved.window_state & (Qt.WindowState.WindowFullScreen | Qt.WindowState.WindowMaximized):
            w.restoreGeometry(saved.geometry)
            w.setGeometry(saved.rect)  # restoreGeometry shrinks a window larger than the screen
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        w.restoreState(saved.layout)
