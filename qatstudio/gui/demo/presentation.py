"""The presentation view: the guided story made for the stage, one step per screen.

Its own full-screen window over the studio, which it leaves as it was. A step's page has its title,
its sentence, its six figures in big tiles and its two boundaries; while the step re-runs live, the
window's live plots take the boundaries' place; after the last step the trade-off chart has a page of
its own. Nothing scrolls: every text is sized from one scale, the screen against ``DESIGN_SIZE``.
The words and figures are the story panel's (``story_panel.step_tiles``), which also holds the
story's state; this view only draws it.
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence, QPalette, QPen
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...services.formatting import MUTED_COLOR
from ..panels.deploy_panel import DeployPanel
from ..charts.plots import TrainingPlots
from .story_panel import ACCENT, BoundaryView, StoryPanel, make_tiles, step_tiles
from ..charts.tradeoff_chart import TradeoffChart

DESIGN_SIZE = QSize(1280, 720)  # the smallest screen it is laid out for; larger ones scale it up
SCALE_RANGE = (0.75, 2.5)
BASE_PT = 12.0  # captions and plot ticks at the design size: every text is a multiple of it
TYPE = {"heading": 1.9, "text": 1.3, "figure": 2.2, "caption": 1.0, "plot": 1.0, "plot_title": 1.2,
        "small": 0.9}
LINE_SCALE = 2.2  # the borrowed live plots: curve widths
SYMBOL_SCALE = 1.5  # and markers
TRADEOFF_TEXT = ("Every run so far, the story's five steps as diamonds: accuracy against the accumulator's "
                 "width, and against the time of one encrypted sample.")
KEYS_TEXT = "PgDn / PgUp, arrows, space: steps \u00b7 B: black screen \u00b7 Esc: back to the studio"


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


def stage_scale(size: QSize) -> float:
    """How much larger than at ``DESIGN_SIZE`` everything is drawn on a screen of ``size``."""
    scale = min(size.width() / DESIGN_SIZE.width(), size.height() / DESIGN_SIZE.height())
    return min(max(scale, SCALE_RANGE[0]), SCALE_RANGE[1])


class PlotRestyler:
    """Every text of some pyqtgraph plots at one size, thicker lines and larger markers; undone
    exactly by ``restore``."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def apply(self, views: Iterable[pg.GraphicsView], text_pt: float) -> None:
        for view in views:
            for item in list(view.scene().items()):
                self._restyle(item, text_pt)

    def restore(self) -> None:
        while self._undo:
            self._undo.pop()()

    def _restyle(self, item, text_pt: float) -> None:
        if isinstance(item, pg.AxisItem):
            old_font, old_pen = item.style.get("tickFont"), QPen(item.pen())
            old_label_style = dict(item.labelStyle)
            old_width, old_height = item.fixedWidth, item.fixedHeight
            # the largest tick text seen so far: pyqtgraph grows an axis to it and never shrinks it
            old_text_size = (item.textWidth, item.textHeight)
            font = QFont(old_font) if old_font is not None else QFont()
            grow = text_pt / (font.pointSizeF() if font.pointSizeF() > 0 else 9.0)
            font.setPointSizeF(text_pt)
            item.setTickFont(font)
            item.setPen(pg.mkPen("#000000", width=max(2.0, old_pen.widthF() * 2)))
            if item.label is not None and item.label.isVisible():
                item.labelStyle = {**item.labelStyle, "font-size": f"{text_pt:.1f}pt"}
                item._updateLabel()
            if item.orientation in ("left", "right") and old_width is not None:  # made for the small font
                item.setWidth(int(old_width * grow))
            elif item.orientation in ("top", "bottom") and old_height is not None:
                item.setHeight(int(old_height * grow))

            def undo(item=item):
                item.setTickFont(old_font)
                item.textWidth, item.textHeight = old_text_size
                if item.orientation in ("left", "right"):  # (setHeight on a side axis would fix its height)
                    item.setWidth(old_width)
                else:
                    item.setHeight(old_height)
                item.setPen(old_pen)
                item.labelStyle = old_label_style
                item._updateLabel()

            self._undo.append(undo)
        elif isinstance(item, pg.LabelItem):  # a plot's title, or a legend's entry
            old_opts = dict(item.opts)
            legend = isinstance(item.parentItem(), pg.LegendItem)
            item.setText(item.text, size=f"{text_pt * (1.0 if legend else TYPE['plot_title']):.1f}pt")

            def undo(item=item, legend=legend):
                item.opts = old_opts
                item.setText(item.text)
                if legend:  # a legend keeps the size of its largest text unless told
                    owner = item.parentItem()
                    owner.layout.activate()
                    owner.updateSize()

            self._undo.append(undo)
        elif isinstance(item, pg.TextItem):  # a line's label, a plot's hint
            old_font = QFont(item.textItem.font())
            font = QFont(old_font)
            font.setPointSizeF(text_pt * TYPE["small"])
            item.setFont(font)
            self._undo.append(lambda item=item: item.setFont(old_font))
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


class BlackScreen(QWidget):
    """Black over the whole of its parent (a presenter's B key), until shown again."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("blackScreen")
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor("#000000"))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        self.hide()
        parent.installEventFilter(self)

    def set_shown(self, on: bool) -> None:
        if on:
            self.setGeometry(self.parentWidget().rect())
            self.raise_()
        self.setVisible(on)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(watched.rect())  # full screen and back: it still covers it
        return super().eventFilter(watched, event)


class Borrowed:
    """A widget of the studio shown in the view: taken from its place (in a box layout, or the
    widget of a scroll area) into ``into``, then put back where it was by ``give_back``."""

    def __init__(self, widget: QWidget, into: QBoxLayout):
        self.widget = widget
        holder = widget.parentWidget().parentWidget()
        self.area = holder if isinstance(holder, QScrollArea) and holder.widget() is widget else None
        if self.area is not None:
            self.area.takeWidget()
        else:
            self.home = widget.parentWidget().layout()
            self.index = self.home.indexOf(widget)
            self.stretch = self.home.stretch(self.index)
        into.addWidget(widget, 1)
        widget.show()

    def give_back(self) -> None:
        if self.area is not None:
            self.area.setWidget(self.widget)
        else:
            self.home.insertWidget(self.index, self.widget, self.stretch)
        self.widget.show()


def _label(wrap: bool = True, color: str = "#000000") -> QLabel:
    label = QLabel()
    label.setWordWrap(wrap)
    label.setStyleSheet(f"color:{color};")
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    return label


class PresentationView(QWidget):
    """The story for an audience: pages 1 to N are the steps, page N + 1 the trade-offs.

    ``story`` holds the steps and their state (its ``current`` step follows the page); ``live_plots``,
    ``deploy_panel`` and ``chart`` are the studio's, lent to the view while they are on screen.
    """

    toggled = Signal(bool)

    def __init__(self, studio: QWidget, story: StoryPanel, live_plots: TrainingPlots, deploy_panel: DeployPanel,
                 chart: TradeoffChart):
        super().__init__(studio, Qt.WindowType.Window)
        self.setObjectName("presentationView")
        self.setWindowTitle("QAT Studio \u2014 presentation")
        self.studio, self.story, self.chart = studio, story, chart
        self.live_plots, self.deploy_panel = live_plots, deploy_panel
        self.page = 1
        # (step, the live plots or the deploy panel): that step's page shows the studio's work on it
        self._live_work: Optional[tuple[int, QWidget]] = None
        self.scale = 0.0
        self._active = False
        self._lent: dict[QWidget, Borrowed] = {}
        self._restyler = PlotRestyler()
        self.setPalette(high_contrast_palette(self.palette()))
        self.setAutoFillBackground(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the keyboard stays the remote's (_keep_focus)
        QApplication.instance().focusChanged.connect(self._keep_focus)

        self.heading = _label()
        self.heading.setObjectName("presentationHeading")
        self.where = _label(wrap=False)  # where the talk is: 1 2 3 4 5 trade-offs
        self.where.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        self.where.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.sentence = _label(color="#222222")
        self.tiles = make_tiles()
        self.tile_row = QWidget()
        row = QHBoxLayout(self.tile_row)
        row.setContentsMargins(0, 0, 0, 0)
        for tile in self.tiles.values():
            row.addWidget(tile, 1)

        self.trained_view = BoundaryView("")
        self.integer_view = BoundaryView("")
        boundaries = QWidget()
        pair = QHBoxLayout(boundaries)
        pair.setContentsMargins(0, 0, 0, 0)
        pair.addWidget(self.trained_view)
        pair.addWidget(self.integer_view)
        self.live_page, self.chart_page = QWidget(), QWidget()
        for page in (self.live_page, self.chart_page):
            QVBoxLayout(page).setContentsMargins(0, 0, 0, 0)
        self.stage = QStackedWidget()
        for page in (boundaries, self.live_page, self.chart_page):
            self.stage.addWidget(page)
        self.boundaries = boundaries

        self.live = _label(color=ACCENT)
        self.live.setObjectName("presentationLive")
        self.rerun_button = QPushButton("Re-run live (R)")
        self.rerun_button.setToolTip("Put this step's settings into the studio and train them now, on screen.")
        self.rerun_button.clicked.connect(self.story.request_rerun)
        self.deploy_button = QPushButton("Deploy it (D)")
        self.deploy_button.setToolTip("Compile this step's run and send test points through a local server "
                                      "that only ever sees ciphertexts.")
        self.deploy_button.clicked.connect(self.story.request_deploy)
        for button, key in ((self.rerun_button, "R"), (self.deploy_button, "D")):
            press = QAction(button.text(), self)
            press.setShortcut(QKeySequence(key))
            press.triggered.connect(lambda checked=False, button=button: button.isVisible() and button.click())
            self.addAction(press)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the run in progress (training keeps what it learned).")
        self.stop_button.clicked.connect(self.story.stopRequested.emit)
        self.keys = _label(wrap=False, color=MUTED_COLOR)
        self.keys.setText(KEYS_TEXT)
        self.keys.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        footer = QHBoxLayout()
        for button in (self.rerun_button, self.deploy_button, self.stop_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # space and the arrows stay the clicker's
            footer.addWidget(button)
        footer.addStretch(1)
        footer.addWidget(self.keys)

        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.where)
        self.column = QVBoxLayout(self)
        self.column.addLayout(top)
        self.column.addWidget(self.sentence)
        self.column.addWidget(self.tile_row)
        self.column.addWidget(self.stage, 1)
        self.column.addWidget(self.live)
        self.column.addLayout(footer)
        self.black_screen = BlackScreen(self)

        story.stepShown.connect(self._step_shown)
        story.changed.connect(self._draw)
        self.hide()

    # ------------------------------------------------------------------ in and out
    def is_active(self) -> bool:
        return self._active

    def set_active(self, on: bool) -> None:
        if on and not self.is_active():
            self._enter()
            self.toggled.emit(True)
        elif not on and self.is_active():
            self._leave()
            self.toggled.emit(False)

    def _enter(self) -> None:
        self._active = True
        screen = self.studio.screen()
        self.setScreen(screen)
        self.setGeometry(screen.geometry())
        self._apply_type(stage_scale(screen.geometry().size()))
        self._lend(self.chart, self.chart_page)  # lent first: its larger size never reaches the studio's dock
        self.chart.set_presentation(True, self.pt("plot"))
        self.page = self.story.current or 1
        if self.story.current is None and self.story.steps:
            self.story.show_step(1)
        self._draw()
        self.showFullScreen()
        self.raise_()
        self.activateWindow()
        self.setFocus()

    def _leave(self) -> None:
        self._active = False
        self.black_screen.set_shown(False)
        self.hide()
        for widget in list(self._lent):
            self._give_back(widget)
        self.studio.activateWindow()

    def _lend(self, widget: QWidget, page: QWidget) -> None:
        if widget not in self._lent:
            self._lent[widget] = Borrowed(widget, page.layout())

    def _give_back(self, widget: QWidget) -> None:
        """Back to the studio at the studio's sizes (large type there would grow its docks for good)."""
        if widget is self.live_plots:
            self._restyler.restore()
            self.live_plots.set_steps_shown(True)
        elif widget is self.chart:
            self.chart.set_presentation(False)
        self._lent.pop(widget).give_back()

    def _keep_focus(self, old: Optional[QWidget], new: Optional[QWidget]) -> None:
        """On stage the keyboard is the remote's: a lent panel's field (a spin box would take the
        arrows) never keeps it."""
        if self.is_active() and new is not None and new is not self and self.isAncestorOf(new):
            self.setFocus()

    def closeEvent(self, event) -> None:
        """Closed by the window manager (Alt+F4): back to the studio, the view kept for next time."""
        event.ignore()
        self.set_active(False)

    # ------------------------------------------------------------------ pages
    @property
    def pages(self) -> int:
        return len(self.story.steps) + 1

    def is_tradeoff_page(self) -> bool:
        return self.page == self.pages

    def show_page(self, page: int) -> None:
        """Page 1 to N: that step (the story panel shows it too); N + 1: the trade-offs."""
        if not 1 <= page <= self.pages:
            return
        if page < self.pages:
            self.story.show_step(page)  # its stepShown brings the page here
        else:
            self.page = page
            self._live_work = None
            self._draw()

    def next_page(self) -> None:
        self.show_page(min(self.page + 1, self.pages))

    def previous_page(self) -> None:
        self.show_page(max(self.page - 1, 1))

    def show_tradeoffs(self) -> None:
        self.show_page(self.pages)

    def set_live_step(self, number: int) -> None:
        """Step ``number`` re-runs live: its page shows the live plots until another page is shown."""
        self._live_work = (number, self.live_plots)
        self._draw()

    def set_deploy_step(self, number: int) -> None:
        """Step ``number`` is being deployed: its page shows the Deploy panel until another page is shown."""
        self._live_work = (number, self.deploy_panel)
        self._draw()

    def showing(self, widget: QWidget) -> bool:
        """Whether the stage shows ``widget`` (the live plots or the Deploy panel) now."""
        return self.is_active() and self.stage.currentWidget() is self.live_page and self._lent_live() is widget

    def _lent_live(self) -> Optional[QWidget]:
        return next((widget for widget in (self.live_plots, self.deploy_panel) if widget in self._lent), None)

    def _step_shown(self, number: int) -> None:
        if self._live_work and self._live_work[0] != number:
            self._live_work = None
        self.page = number
        self._draw()

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        if not self.is_active():
            return
        steps = self.story.steps
        marks = []
        for page in range(1, self.pages + 1):
            text = str(page) if page < self.pages else "trade-offs"
            marks.append(f'<b style="color:{ACCENT}">[{text}]</b>' if page == self.page
                         else f'<span style="color:#8a8a8a">{text}</span>')
        self.where.setText("&nbsp;&nbsp;".join(marks))
        if self.is_tradeoff_page():
            self.heading.setText("<b>Trade-offs</b>")
            self.sentence.setText(TRADEOFF_TEXT)
            self.tile_row.hide()
            self.stage.setCurrentWidget(self.chart_page)
            self.live.hide()
            for button in (self.rerun_button, self.deploy_button):
                button.hide()
            self._show_live(None)
            self.stop_button.setVisible(not self.story.can_rerun())
            return
        number = self.page
        step = steps[number - 1]
        self.heading.setText(f'<span style="color:{ACCENT}">Step {number} of {len(steps)}</span>'
                             f" \u00b7 <b>{step.title}</b>")
        self.sentence.setText(step.text)
        figures, problem = self.story.figures.get(number), self.story.problems.get(number, "")
        for key, face in step_tiles(step, figures, problem).items():
            self.tiles[key].show_face(face)
        live = self.story.live_result(number) or (f"Can't open this step: {problem}" if problem else "")
        work = self._live_work[1] if self._live_work and self._live_work[0] == number else None
        self.live.setText(live)
        self.live.setVisible(bool(live) and work is not self.deploy_panel)  # the panel says it itself
        can = self.story.can_rerun()
        self.rerun_button.show()
        self.rerun_button.setEnabled(can)
        self.deploy_button.setVisible(step.deploy_points > 0)
        self.deploy_button.setEnabled(can)
        self.stop_button.setVisible(not can)
        self.tile_row.setVisible(work is None)  # the file's figures give the stage to the work in progress
        self._show_live(work)
        if work is None:
            self.stage.setCurrentWidget(self.boundaries)
            self.trained_view.show_figures(figures, trained=True)
            self.integer_view.show_figures(figures, trained=False)

    def _show_live(self, work: Optional[QWidget]) -> None:
        """The live plots or the Deploy panel on the stage (None: neither, both given back)."""
        lent = self._lent_live()
        if lent is not None and lent is not work:
            self._give_back(lent)
        if work is None:
            return
        if work not in self._lent:
            self._lend(work, self.live_page)
            if work is self.live_plots:
                self.live_plots.set_steps_shown(False)  # the boundary large instead
                self._restyler.apply([self.live_plots], self.pt("plot"))
        self.stage.setCurrentWidget(self.live_page)

    # ------------------------------------------------------------------ type
    def pt(self, role: str) -> float:
        """The size in points of a text ``role`` (``TYPE``) at the view's scale."""
        return BASE_PT * TYPE[role] * self.scale

    def _font(self, role: str, bold: bool = False) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(self.pt(role))
        font.setBold(bold)
        return font

    def _apply_type(self, scale: float) -> None:
        """Every text, margin and plot at one ``scale``."""
        if abs(scale - self.scale) < 1e-3:
            return
        self.scale = scale
        self.setFont(self._font("caption"))  # what the lent Deploy panel reads in
        margin = int(round(20 * scale))
        self.column.setContentsMargins(margin, int(round(14 * scale)), margin, int(round(12 * scale)))
        self.column.setSpacing(int(round(10 * scale)))
        self.heading.setFont(self._font("heading"))
        self.where.setFont(self._font("text"))
        for label in (self.sentence, self.live):
            label.setFont(self._font("text", bold=label is self.live))
        self.keys.setFont(self._font("small"))
        pad = f"{round(6 * scale)}px {round(18 * scale)}px"
        for button in (self.rerun_button, self.deploy_button, self.stop_button):
            button.setFont(self._font("text"))
            button.setStyleSheet(f"QPushButton {{ padding: {pad}; }}")
        for tile in self.tiles.values():
            tile.set_type(self.pt("figure"), self.pt("caption"))
        for view in (self.trained_view, self.integer_view):
            view.set_type(self.pt("plot_title"), self.pt("plot"), 7 * scale, 1.8 * scale, bold=True)
        if self.chart in self._lent:
            self.chart.set_presentation(True, self.pt("plot"))
        if self.live_plots in self._lent:  # lent at the old size: restyled at the new one
            self._restyler.restore()
            self._restyler.apply([self.live_plots], self.pt("plot"))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.is_active():
            self._apply_type(stage_scale(self.size()))
