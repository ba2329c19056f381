"""The guided story's panel: the five steps (``services/story.py``), each shown at once from the
figures ``story_job`` computed on a worker thread, and each re-runnable live; clicking a step only
swaps pictures and figures."""
from __future__ import annotations

from typing import Optional

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..engine.integer import MAX_LOOKUP_BITS
from ..services.formatting import CIRCUIT_BY_KEY, TIP_ACCUMULATOR, TIP_PBS, fmt_epochs, fmt_measure, fmt_percent, fmt_seconds
from ..services.story import StepFigures, StoryProblem, StoryStep
from .plots import FOREGROUND, BoundaryMap, class_map
from .widgets import QWIDGETSIZE_MAX

LARGE_SCREEN_WIDTH = 1600  # presentation mode's full scale from this screen width on
GOOD, FAIR, POOR = "#1b7837", "#b35806", "#b2182b"
ACCENT = "#0b4f9c"


def _accuracy_color(value: Optional[float]) -> str:
    if value is None:
        return "#777777"
    return GOOD if value >= 0.99 else FAIR if value >= 0.9 else POOR


class FigureTile(QFrame):
    """One big figure with a caption under it."""

    def __init__(self, caption: str, tip: str = "", parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("figureTile")
        self.setStyleSheet("#figureTile { background:#f7f7f7; border:1px solid #d6d6d6; border-radius:6px; }")
        self.setToolTip(tip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(0)
        self.value = QLabel("-")
        self.value.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption = QLabel(caption)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setWordWrap(True)
        layout.addWidget(self.value)
        layout.addWidget(self.caption)
        self._color = FOREGROUND
        self.set_scale(1.0)

    def set_value(self, text: str, color: str = FOREGROUND) -> None:
        self._color = color
        self.value.setText(text)
        self.value.setStyleSheet(f"color:{color}; border:none; background:transparent;")

    def set_scale(self, scale: float) -> None:
        font = QFont(self.font())
        font.setPointSizeF(17 * scale)
        font.setBold(True)
        self.value.setFont(font)
        small = QFont(self.font())
        small.setPointSizeF(8.5 * scale)
        self.caption.setFont(small)
        self.caption.setStyleSheet("color:#555555; border:none; background:transparent;")


class StepCard(QFrame):
    """A step in the list: number, title, and its own Re-run live button."""

    clicked = Signal()
    rerunClicked = Signal()

    def __init__(self, step: StoryStep, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.step = step
        self.setObjectName("stepCard")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip(f"{step.text}\nClick to show this step.")
        layout = QGridLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setHorizontalSpacing(8)
        layout.setVerticalSpacing(2)
        self.badge = QLabel(str(step.number))
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(step.title)
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.rerun = QToolButton()
        self.rerun.setObjectName("rerunButton")
        self.rerun.setText("Re-run live")
        self.rerun.setToolTip(f"Put this step's settings into Configure and train them now: "
                              f"{step.config.kind}, {step.config.n_hidden} neurons, {step.config.bits} bits"
                              + (f", {step.config.pruning_budget} inputs per neuron" if step.config.pruning_budget
                                 else "") + f", {fmt_epochs(step.config)}.")
        self.rerun.clicked.connect(self.rerunClicked.emit)
        layout.addWidget(self.badge, 0, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.title, 0, 1)
        layout.addWidget(self.rerun, 0, 2, Qt.AlignmentFlag.AlignVCenter)
        self._selected = False
        self._scale = 1.0
        self.set_scale(1.0)

    def set_selected(self, selected: bool) -> None:
        self._selected = selected
        self._restyle()

    def is_selected(self) -> bool:
        return self._selected

    def set_scale(self, scale: float) -> None:
        self._scale = scale
        size = int(26 * scale)
        self.badge.setFixedSize(size, size)
        font = QFont(self.font())
        font.setPointSizeF(10 * scale)
        font.setBold(True)
        self.title.setFont(font)
        self.badge.setFont(font)
        small = QFont(self.font())
        small.setPointSizeF(8.5 * scale)
        self.rerun.setFont(small)
        self._restyle()

    def _restyle(self) -> None:
        radius = int(13 * self._scale)
        if self._selected:
            card = f"#stepCard {{ background:#e7f0fb; border:2px solid {ACCENT}; border-radius:7px; }}"
            badge = f"background:{ACCENT}; color:white; border-radius:{radius}px;"
        else:
            card = "#stepCard { background:#ffffff; border:1px solid #c9c9c9; border-radius:7px; }"
            badge = f"background:#e2e2e2; color:#222222; border-radius:{radius}px;"
        self.setStyleSheet(card)
        self.badge.setStyleSheet(badge)
        self.title.setStyleSheet("border:none; background:transparent; color:#111111;")

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mousePressEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.clicked.emit()
            return
        super().keyPressEvent(event)


class _BoundaryView(QWidget):
    """A boundary map under a title that wraps (a plot's own title would widen it past its dock)."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.title = QLabel()
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.view = pg.PlotWidget(background="w")
        self.view.setMinimumSize(140, 140)
        self.plot = self.view.getPlotItem()
        self.map = BoundaryMap(self.plot, point_size=4)
        self.plot.setTitle(None)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)

    def sizeHint(self) -> QSize:
        return QSize(260, 280)


class StoryPanel(QWidget):
    """The step list and, beside it, the shown step: two boundaries and its figures."""

    stepShown = Signal(int)  # step number
    rerunRequested = Signal(object)  # StoryStep
    openRequested = Signal(object)  # StoryStep: open its file in the window
    deployRequested = Signal(object)  # StoryStep: its run through a local encrypted-inference server
    stopRequested = Signal()  # stop the window's work (its toolbar is hidden in presentation mode)

    def __init__(self, steps: list[StoryStep], parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("storyPanel")
        self.steps = list(steps)
        self.figures: dict[int, StepFigures] = {}
        self.problems: dict[int, str] = {}
        self.current: Optional[int] = None
        self.presentation = False
        self._live: dict[int, str] = {}
        self._can_rerun = True

        # --- the step list
        self.header = QLabel("The story in five steps")
        self.header.setWordWrap(True)
        self.subtitle = QLabel("From the step-by-step guide, measured with this app. Click a step to show it; "
                               "re-run it live to train it in front of the audience.")
        self.subtitle.setWordWrap(True)
        self.subtitle.setStyleSheet("color:#555555;")
        self.cards: list[StepCard] = []
        column = QVBoxLayout()
        column.setSpacing(6)
        column.addWidget(self.header)
        column.addWidget(self.subtitle)
        for step in self.steps:
            card = StepCard(step)
            card.clicked.connect(lambda s=step: self.show_step(s.number))
            card.rerunClicked.connect(lambda s=step: self.rerunRequested.emit(s))
            self.cards.append(card)
            column.addWidget(card)
        column.addStretch(1)
        self.list_widget = QWidget()
        self.list_widget.setObjectName("storySteps")
        self.list_widget.setLayout(column)

        # --- the stage
        self.stage_title = QLabel()
        self.stage_title.setWordWrap(True)
        self.stage_text = QLabel()
        self.stage_text.setWordWrap(True)
        self.tiles = {
            "float": FigureTile("fp32 accuracy", "The float model before quantization."),
            "quantized": FigureTile("3-bit accuracy", "The quantized integer model in the clear: what FHE computes."),
            "fhe": FigureTile("FHE accuracy", "Concrete's FHE simulation on every test point (encrypted "
                                              "points too, when the step ran them)."),
            "accumulator": FigureTile("accumulator", TIP_ACCUMULATOR),
            "lookups": FigureTile("lookups (PBS)", TIP_PBS),
            "latency": FigureTile("per encrypted sample", "Measured: encrypt, run and decrypt one test point."),
        }
        tiles = QGridLayout()
        tiles.setSpacing(6)
        self.tile_grid = tiles
        self._tile_columns = 0
        self._place_tiles(3)
        self.trained_view, self.integer_view = _BoundaryView(), _BoundaryView()
        self.boundaries = QWidget()
        self.boundaries.setObjectName("storyBoundaries")
        row = QHBoxLayout(self.boundaries)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.trained_view)
        row.addWidget(self.integer_view)
        self.boundaries.setMinimumSize(300, 170)
        self.trained_map, self.integer_map = self.trained_view.map, self.integer_view.map
        self._title(self.trained_view, "Trained model")
        self._title(self.integer_view, "3-bit integer model (= FHE)")
        self.measured = QLabel()
        self.measured.setWordWrap(True)
        self.measured.setStyleSheet("color:#555555;")
        self.live = QLabel()
        self.live.setObjectName("liveResult")
        self.live.setWordWrap(True)
        self.live.hide()
        self.open_button = QPushButton("Open in the window")
        self.open_button.setToolTip("Open this step's experiment file in the main window: plots, results, "
                                    "compile report.")
        self.rerun_button = QPushButton("Re-run live")
        self.rerun_button.setToolTip("Put this step's settings into Configure and train them now.")
        self.deploy_button = QPushButton("Deploy it")
        self.deploy_button.setToolTip("Open this step's run, compile it and send test points through a local "
                                      "server that only ever sees ciphertexts (the Deploy panel shows both sides).")
        self.deploy_button.clicked.connect(
            lambda: self.current and self.deployRequested.emit(self.step(self.current)))
        self.deploy_button.hide()
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the run in progress (training keeps what it learned).")
        self.stop_button.clicked.connect(self.stopRequested.emit)
        self.stop_button.hide()
        self.open_button.clicked.connect(lambda: self.current and self.openRequested.emit(self.step(self.current)))
        self.rerun_button.clicked.connect(lambda: self.current and self.rerunRequested.emit(self.step(self.current)))
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.rerun_button)
        buttons.addWidget(self.deploy_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)

        info = QWidget()
        info.setObjectName("storyInfo")
        box = QVBoxLayout(info)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.stage_title)
        box.addWidget(self.stage_text)
        box.addLayout(tiles)
        box.addWidget(self.live)
        box.addWidget(self.measured)
        box.addLayout(buttons)
        box.addStretch(1)
        # The words and figures scroll when the dock is short, rather than being drawn over each other.
        self.info = QScrollArea()
        self.info.setWidget(info)
        self.info.setWidgetResizable(True)
        self.info.setFrameShape(QFrame.Shape.NoFrame)
        self.info.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        stage = QWidget()
        stage.setObjectName("storyStage")
        self.stage_layout = QBoxLayout(QBoxLayout.Direction.TopToBottom, stage)
        self.stage_layout.setContentsMargins(4, 0, 0, 0)
        self.stage_layout.addWidget(self.info, 0)
        self.stage_layout.addWidget(self.boundaries, 1)
        self.stage = stage

        scroll = QScrollArea()
        scroll.setWidget(self.list_widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list_area = scroll
        self.main = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.main.setContentsMargins(6, 6, 6, 6)
        self.main.addWidget(scroll, 0)
        self.main.addWidget(stage, 1)
        self._apply_scale()
        self._arrange()
        self._show_nothing()

    # ------------------------------------------------------------------ data in
    def step(self, number: int) -> StoryStep:
        return self.steps[number - 1]

    def set_figures(self, figures: StepFigures) -> None:
        self.figures[figures.step.number] = figures
        if self.current == figures.step.number:
            self._draw()

    def set_problem(self, problem: StoryProblem) -> None:
        self.problems[problem.step.number] = problem.message
        if self.current == problem.step.number:
            self._draw()

    def set_live_result(self, number: int, text: str) -> None:
        self._live[number] = text
        if self.current == number:
            self._draw_live()
            QTimer.singleShot(0, self, self._fit_info_width)

    def set_can_rerun(self, can: bool, why: str = "") -> None:
        self._can_rerun = can
        for card in self.cards:
            card.rerun.setEnabled(can)
        self.rerun_button.setEnabled(can and self.current is not None)
        self.deploy_button.setEnabled(can and self.current is not None)
        self.stop_button.setVisible(not can)
        tip = "" if can else why
        for widget in [self.rerun_button, self.deploy_button] + [card.rerun for card in self.cards]:
            widget.setStatusTip(tip)

    # ------------------------------------------------------------------ showing a step
    def show_step(self, number: int) -> None:
        if not 1 <= number <= len(self.steps):
            return
        self.current = number
        for card in self.cards:
            card.set_selected(card.step.number == number)
        self.list_area.ensureWidgetVisible(self.cards[number - 1])
        self.list_area.horizontalScrollBar().setValue(0)  # never scrolled sideways (the text wraps)
        self._draw()
        self.stepShown.emit(number)

    def next_step(self) -> None:
        self.show_step(min((self.current or 0) + 1, len(self.steps)))

    def previous_step(self) -> None:
        self.show_step(max((self.current or 2) - 1, 1))

    def tile_text(self, key: str) -> str:
        return self.tiles[key].value.text()

    def _show_nothing(self) -> None:
        self.stage_title.setText("Choose a step")
        self.stage_text.setText("Each step opens at once from an experiment shipped with QAT Studio.")
        for tile in self.tiles.values():
            tile.set_value("-")
        self.open_button.setEnabled(False)
        self.rerun_button.setEnabled(False)
        self.deploy_button.hide()
        self.measured.setText("")

    def _draw(self) -> None:
        self._draw_step()
        QTimer.singleShot(0, self, self._fit_info_width)  # once the new words and figures are laid out

    def _draw_step(self) -> None:
        number = self.current
        if number is None:
            self._show_nothing()
            return
        step = self.step(number)
        self.stage_title.setText(f'<span style="color:{ACCENT}">Step {number} of {len(self.steps)}</span> '
                                 f"\u00b7 <b>{step.title}</b>")
        self.stage_text.setText(step.text)
        self.open_button.setEnabled(number in self.figures)
        self.rerun_button.setEnabled(self._can_rerun)
        self.deploy_button.setVisible(step.deploy_points > 0)
        self.deploy_button.setEnabled(self._can_rerun)
        self._draw_live()
        figures = self.figures.get(number)
        if figures is None:
            problem = self.problems.get(number)
            self.measured.setText(f"Can't open this step: {problem}" if problem else "Opening the step's file\u2026")
            for tile in self.tiles.values():
                tile.set_value("\u2026" if not problem else "-", "#999999")
            for boundary in (self.trained_map, self.integer_map):
                boundary.set_image(None)
                boundary.set_points(None, None)
            return
        record = figures.record
        m = record.metrics
        bits = step.config.bits
        self.tiles["float"].set_value(fmt_percent(m.float_accuracy), _accuracy_color(m.float_accuracy))
        self.tiles["float"].caption.setText("fp32 accuracy" if m.float_accuracy is not None
                                            else "no fp32 model (QAT)")
        self.tiles["quantized"].set_value(fmt_percent(m.clear_accuracy), _accuracy_color(m.clear_accuracy))
        self.tiles["quantized"].caption.setText(f"{bits}-bit accuracy")
        self.tiles["fhe"].set_value(fmt_percent(m.fhe_simulated_accuracy), _accuracy_color(m.fhe_simulated_accuracy))
        executed = m.fhe_executed_samples
        self.tiles["fhe"].caption.setText("FHE accuracy (simulated)" + (
            f"; encrypted {fmt_percent(m.fhe_executed_accuracy)} of {executed}" if executed else ""))
        accumulator = record.accumulator_bits
        self.tiles["accumulator"].set_value(fmt_measure(CIRCUIT_BY_KEY["accumulator"], accumulator),
                                            ACCENT if accumulator and accumulator <= MAX_LOOKUP_BITS else POOR)
        self.tiles["lookups"].set_value(fmt_measure(CIRCUIT_BY_KEY["pbs"], record.pbs_count), FOREGROUND)
        latency = m.fhe_latency_s
        self.tiles["latency"].set_value(fmt_seconds(latency), FOREGROUND)
        self.tiles["latency"].caption.setText("per encrypted sample" if latency else "not run encrypted")
        self.measured.setText(f"Measured when the file was made: {step.measured}")

        quantization_aware = record.config.is_quantization_aware
        trained = f"{bits}-bit QAT model" if quantization_aware else "fp32 model"
        trained_accuracy = m.brevitas_accuracy if quantization_aware else m.float_accuracy
        self._title(self.trained_view, f"{trained} \u00b7 {fmt_percent(trained_accuracy)}")
        self._title(self.integer_view, f"{bits}-bit integer (= FHE) \u00b7 {fmt_percent(m.clear_accuracy)}")
        self.trained_map.set_image(figures.trained_boundary)
        self.integer_map.set_image(class_map(figures.integer_classes, record.config.data.n_classes))
        self.trained_map.set_points(figures.x_test, figures.y_test)
        self.integer_map.set_points(figures.x_test, figures.y_test, figures.integer_predictions)

    def _draw_live(self) -> None:
        text = self._live.get(self.current) if self.current else None
        self.live.setVisible(bool(text))
        if text:
            self.live.setText(text)

    def _title(self, view: _BoundaryView, text: str) -> None:
        font = QFont(self.font())
        font.setPointSizeF(14 if self.presentation else 9)
        font.setBold(self.presentation)
        view.title.setFont(font)
        view.title.setText(text)

    # ------------------------------------------------------------------ layout and presentation
    def _scale(self) -> float:
        """Type and pictures: larger in presentation mode, less so on a small screen (the live
        plots beside the story need their room too)."""
        if not self.presentation:
            return 1.0
        return 1.6 if self.screen().geometry().width() >= LARGE_SCREEN_WIDTH else 1.25

    def set_presentation(self, on: bool) -> None:
        self.presentation = bool(on)
        self._apply_scale()
        self._arrange()
        self._draw()

    def _apply_scale(self) -> None:
        scale = self._scale()
        for card in self.cards:
            card.set_scale(scale)
        for tile in self.tiles.values():
            tile.set_scale(scale)
        font = QFont(self.font())
        font.setPointSizeF(13 * scale)
        font.setBold(True)
        self.header.setFont(font)
        title = QFont(self.font())
        title.setPointSizeF(12 * scale)
        self.stage_title.setFont(title)
        text = QFont(self.font())
        text.setPointSizeF(10 * scale)
        self.stage_text.setFont(text)
        self.live.setFont(text)
        small = QFont(self.font())
        small.setPointSizeF(8.5 * scale)
        self.subtitle.setFont(small)
        self.measured.setFont(small)
        self.subtitle.setVisible(not self.presentation)  # room for the steps and the pictures
        self.measured.setVisible(not self.presentation)
        self.live.setStyleSheet(f"color:{ACCENT}; font-weight:bold;")
        width = 1.8 if self.presentation else 1.0
        for plot in (self.trained_view.plot, self.integer_view.plot):
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                tick = QFont()
                tick.setPointSizeF(8 * scale)
                axis.setTickFont(tick)
                axis.setPen(pg.mkPen(FOREGROUND, width=width))
                axis.textWidth, axis.textHeight = 30, 18  # pyqtgraph never shrinks an axis by itself
                axis.setWidth(axis.fixedWidth) if name == "left" else axis.setHeight(axis.fixedHeight)
        for boundary in (self.trained_map, self.integer_map):
            boundary.set_point_size(7 if self.presentation else 4)

    def _place_tiles(self, columns: int) -> None:
        if columns == self._tile_columns:
            return
        self._tile_columns = columns
        for tile in self.tiles.values():
            self.tile_grid.removeWidget(tile)
        for index, tile in enumerate(self.tiles.values()):
            self.tile_grid.addWidget(tile, index // columns, index % columns)

    def _arrange(self) -> None:
        """List beside the stage when there is room, above it otherwise; inside the stage, the
        figures beside the boundaries in a wide and short dock, above them in a tall one."""
        scale = self._scale()
        # Before it is shown the panel has Qt's default size: take it as a wide, short bottom dock,
        # or its first, stacked layout would ask the window for more height than a laptop has.
        shown = self.isVisible()
        wide = self.presentation or self.width() >= 700 or not shown
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self.main.direction() != direction:
            self.main.setDirection(direction)
        # Presenting on a small screen, the step list gives its room to the live plots: the stage
        # says "Step n of 5" and Page Up / Page Down (Demo menu) move through the steps.
        listed = not (self.presentation and self.screen().geometry().width() < LARGE_SCREEN_WIDTH)
        self.list_area.setVisible(listed)
        self.list_area.setMaximumHeight(QWIDGETSIZE_MAX if wide else 230)
        self.list_area.setMaximumWidth(int(330 * scale) if wide else QWIDGETSIZE_MAX)
        self.list_area.setMinimumWidth(int(250 * scale) if wide and listed else 0)
        stage_width = self.width() - (self.list_area.maximumWidth() if wide and listed else 0)
        stage_height = self.height() - (0 if wide else self.list_area.maximumHeight())
        side_by_side = stage_width > 1.7 * stage_height or not shown
        inner = QBoxLayout.Direction.LeftToRight if side_by_side else QBoxLayout.Direction.TopToBottom
        if self.stage_layout.direction() != inner:
            self.stage_layout.setDirection(inner)
        self.info.setMaximumWidth(int(460 * scale) if side_by_side else QWIDGETSIZE_MAX)
        self._place_tiles(6 if not side_by_side and stage_width >= 6 * 105 * scale else 3)
        self._fit_info_width()

    def _fit_info_width(self) -> None:
        """The words and figures as wide as their tiles need: they scroll only up and down."""
        inner = self.info.widget()
        self.info.setMinimumWidth(inner.minimumSizeHint().width() + self.info.verticalScrollBar().sizeHint().width() + 2)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange()
