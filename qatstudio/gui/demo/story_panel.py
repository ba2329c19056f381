"""The guided story's panel: the five steps (``services/story.py``), each shown at once from the
figures ``story_job`` computed on a worker thread, and each re-runnable live; clicking a step only
swaps pictures and figures.

What a step shows (its tiles, the titles of its two boundaries) is computed here once, by
``step_tiles`` and ``BoundaryView.show_figures``: the studio's panel and the presentation view both draw it."""
from __future__ import annotations

from typing import NamedTuple, Optional

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics
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

from ...engine.integer import MAX_LOOKUP_BITS
from ...services.formatting import (CIRCUIT_BY_KEY, TIP_ACCUMULATOR, TIP_PBS, config_look, fmt_epochs, fmt_measure,
                                   fmt_percent, fmt_seconds)
from ...services.story import StepFigures, StoryProblem, StoryStep
from ..charts.plots import FOREGROUND, BoundaryMap, class_map
from ..widgets import MUTED_STYLE, QWIDGETSIZE_MAX

GOOD, FAIR, POOR = "#1b7837", "#b35806", "#b2182b"
ACCENT = "#0b4f9c"


def _accuracy_color(value: Optional[float]) -> str:
    if value is None:
        return "#777777"
    return GOOD if value >= 0.99 else FAIR if value >= 0.9 else POOR


# The six figures of a step, in order: key -> (caption, tip).
TILES = {
    "float": ("fp32 accuracy", "The float model before quantization."),
    "quantized": ("3-bit accuracy", "The quantized integer model in the clear: what FHE computes."),
    "fhe": ("FHE accuracy", "Concrete's FHE simulation on every test point (encrypted points too, when the "
                            "step ran them)."),
    "accumulator": ("accumulator", TIP_ACCUMULATOR),
    "lookups": ("lookups (PBS)", TIP_PBS),
    "latency": ("per encrypted sample", "Measured: encrypt, run and decrypt one test point."),
}
WAITING = "#999999"


class TileFace(NamedTuple):
    """What one tile says: its figure, the caption under it and the figure's colour."""

    value: str
    caption: str
    color: str = FOREGROUND


def step_tiles(step: StoryStep, figures: Optional[StepFigures], problem: str = "") -> dict[str, TileFace]:
    """The step's six tiles (``TILES``' keys): its file's figures, or "\u2026" while the file opens
    and "-" when it can't be read."""
    if figures is None:
        waiting = "-" if problem else "\u2026"
        return {key: TileFace(waiting, caption, WAITING) for key, (caption, _) in TILES.items()}
    record = figures.record
    m = record.metrics
    bits = step.config.bits
    executed = m.fhe_executed_samples
    accumulator = record.accumulator_bits
    latency = m.fhe_latency_s
    return {
        "float": TileFace(fmt_percent(m.float_accuracy), "fp32 accuracy" if m.float_accuracy is not None
                          else "no fp32 model (QAT)", _accuracy_color(m.float_accuracy)),
        "quantized": TileFace(fmt_percent(m.clear_accuracy), f"{bits}-bit accuracy", _accuracy_color(m.clear_accuracy)),
        "fhe": TileFace(fmt_percent(m.fhe_simulated_accuracy), "FHE accuracy (simulated)" + (
            f"; encrypted: {round(m.fhe_executed_accuracy * executed)} of {executed} right" if executed else ""),
            _accuracy_color(m.fhe_simulated_accuracy)),
        "accumulator": TileFace(fmt_measure(CIRCUIT_BY_KEY["accumulator"], accumulator), TILES["accumulator"][0],
                                ACCENT if accumulator and accumulator <= MAX_LOOKUP_BITS else POOR),
        "lookups": TileFace(fmt_measure(CIRCUIT_BY_KEY["pbs"], record.pbs_count), TILES["lookups"][0]),
        "latency": TileFace(fmt_seconds(latency), TILES["latency"][0] if latency else "not run encrypted"),
    }


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
        self.caption.setStyleSheet(f"{MUTED_STYLE} border:none; background:transparent;")
        layout.addWidget(self.value)
        layout.addWidget(self.caption)
        self.set_type(17, 8.5)

    def show_face(self, face: TileFace) -> None:
        self.value.setText(face.value)
        self.value.setStyleSheet(f"color:{face.color}; border:none; background:transparent;")
        self.caption.setText(face.caption)

    def set_type(self, value_pt: float, caption_pt: float) -> None:
        """The figure in bold at ``value_pt`` points, its caption at ``caption_pt``."""
        font = QFont(self.font())
        font.setPointSizeF(value_pt)
        font.setBold(True)
        self.value.setFont(font)
        small = QFont(self.font())
        small.setPointSizeF(caption_pt)
        self.caption.setFont(small)


def make_tiles() -> dict[str, FigureTile]:
    return {key: FigureTile(caption, tip) for key, (caption, tip) in TILES.items()}


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
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setHorizontalSpacing(8)
        layout.setVerticalSpacing(2)
        self.badge = QLabel(str(step.number))
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel(step.title)
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.rerun = QToolButton()
        self.rerun.setObjectName("rerunButton")
        self.rerun.setText("Re-run")
        self.rerun.setToolTip(f"Re-run live: put this step's settings into Configure and train them now: "
                              f"{config_look(step.config).short}, {step.config.n_hidden} neurons, "
                              f"{step.config.bits} bits"
                              + (f", {step.config.pruning_budget} inputs per neuron" if step.config.pruning_budget
                                 else "") + f", {fmt_epochs(step.config)}.")
        self.rerun.clicked.connect(self.rerunClicked.emit)
        layout.addWidget(self.badge, 0, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.title, 0, 1)
        layout.addWidget(self.rerun, 0, 2, Qt.AlignmentFlag.AlignVCenter)
        self.badge.setFixedSize(26, 26)
        font = QFont(self.font())
        font.setPointSizeF(10)
        font.setBold(True)
        self.title.setFont(font)
        self.badge.setFont(font)
        small = QFont(self.font())
        small.setPointSizeF(8.5)
        self.rerun.setFont(small)
        self._selected = False
        self._restyle()

    def set_selected(self, selected: bool) -> None:
        self._selected = selected
        self._restyle()

    def is_selected(self) -> bool:
        return self._selected

    def _restyle(self) -> None:
        if self._selected:
            card = f"#stepCard {{ background:#e7f0fb; border:2px solid {ACCENT}; border-radius:7px; }}"
            badge = f"background:{ACCENT}; color:white; border-radius:13px;"
        else:
            card = "#stepCard { background:#ffffff; border:1px solid #c9c9c9; border-radius:7px; }"
            badge = "background:#e2e2e2; color:#222222; border-radius:13px;"
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


class BoundaryView(QWidget):
    """A boundary map under a title that wraps (a plot's own title would widen it past its dock)."""

    def __init__(self, title: str, parent: Optional[QWidget] = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.title = QLabel(title)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.view = pg.PlotWidget(background="w")
        self.view.setMinimumSize(140, 140)
        self.plot = self.view.getPlotItem()
        self.map = BoundaryMap(self.plot, point_size=4)
        self.plot.setTitle(None)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        self.set_type(9, 8, 4, 1.0)

    def sizeHint(self) -> QSize:
        return QSize(260, 280)

    def set_type(self, title_pt: float, tick_pt: float, point_size: float, line_width: float,
                 bold: bool = False) -> None:
        """Its title at ``title_pt`` points, the axes' ticks at ``tick_pt``, test points
        ``point_size`` pixels wide, axes ``line_width`` pixels thick."""
        font = QFont(self.font())
        font.setPointSizeF(title_pt)
        font.setBold(bold)
        self.title.setFont(font)
        tick = QFont()
        tick.setPointSizeF(tick_pt)
        metrics = QFontMetrics(tick)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setTickFont(tick)
            axis.setPen(pg.mkPen(FOREGROUND, width=line_width))
            axis.setTextPen(FOREGROUND)
            if axis.labelText:
                axis.setLabel(axis.labelText, **{**axis.labelStyle, "font-size": f"{tick_pt:.1f}pt"})
            # pyqtgraph grows an axis to its widest tick text and never shrinks it: start it afresh
            axis.textWidth, axis.textHeight = metrics.horizontalAdvance("0.75"), metrics.height()
            axis.setWidth(None) if name == "left" else axis.setHeight(None)
        self.map.set_point_size(point_size)

    def show_figures(self, figures: Optional[StepFigures], trained: bool) -> None:
        """The step's ``trained`` model (else its integer model, what FHE computes), titled with its
        accuracy; None clears it."""
        if figures is None:
            self.map.set_image(None)
            self.map.set_points(None, None)
            return
        record, m = figures.record, figures.record.metrics
        bits = record.config.bits
        if trained:
            quantization_aware = record.config.is_quantization_aware
            model = f"{bits}-bit QAT model" if quantization_aware else "fp32 model"
            accuracy = m.brevitas_accuracy if quantization_aware else m.float_accuracy
            self.title.setText(f"{model} \u00b7 {fmt_percent(accuracy)}")
            self.map.set_image(figures.trained_boundary)
            self.map.set_points(figures.x_test, figures.y_test)
        else:
            self.title.setText(f"{bits}-bit integer (= FHE) \u00b7 {fmt_percent(m.clear_accuracy)}")
            self.map.set_image(class_map(figures.integer_classes, record.config.data.n_classes))
            self.map.set_points(figures.x_test, figures.y_test, figures.integer_predictions)


LIST_WIDTH = 380  # the step list beside the stage: a step's title on one line, or two at most
TILE_LEAST_WIDTH = 105


class StoryPanel(QWidget):
    """The step list and, beside it, the shown step: two boundaries and its figures. It holds the
    story's state (the step shown, each step's figures, problem and live result) that the
    presentation view draws too."""

    stepShown = Signal(int)  # step number
    changed = Signal()  # a step's figures, problem or live result, or whether a step can re-run
    rerunRequested = Signal(object)  # StoryStep
    openRequested = Signal(object)  # StoryStep: open its file in the window
    deployRequested = Signal(object)  # StoryStep: its run through a local encrypted-inference server
    stopRequested = Signal()  # stop the window's work

    def __init__(self, steps: list[StoryStep], parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("storyPanel")
        self.steps = list(steps)
        self.figures: dict[int, StepFigures] = {}
        self.problems: dict[int, str] = {}
        self.current: Optional[int] = None
        self._live: dict[int, str] = {}
        self._can_rerun = True

        self._build_list()
        self._build_stage()
        scroll = QScrollArea()
        scroll.setWidget(self.list_widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list_area = scroll
        self.main = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.main.setContentsMargins(6, 6, 6, 6)
        self.main.addWidget(scroll, 0)
        self.main.addWidget(self.stage, 1)
        self._arrange()
        self._draw_step()

    def _build_list(self) -> None:
        """The steps as cards under the story's title."""
        self.header = QLabel("The story in five steps")
        self.header.setWordWrap(True)
        font = QFont(self.font())
        font.setPointSizeF(13)
        font.setBold(True)
        self.header.setFont(font)
        self.header.setToolTip("From the step-by-step guide, measured with this app. Click a step to show it; "
                               "re-run it live to train it in front of the audience.")
        self.cards: list[StepCard] = []
        column = QVBoxLayout()
        column.setSpacing(4)
        column.addWidget(self.header)
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

    def _build_stage(self) -> None:
        """The step shown: its words, figures and buttons, beside (or over) its boundaries."""
        self.stage_title = QLabel()
        self.stage_title.setWordWrap(True)
        title = QFont(self.font())
        title.setPointSizeF(12)
        self.stage_title.setFont(title)
        self.stage_text = QLabel()
        self.stage_text.setWordWrap(True)
        self.tiles = make_tiles()
        tiles = QGridLayout()
        tiles.setSpacing(6)
        self.tile_grid = tiles
        self._tile_columns = 0
        self._place_tiles(3)
        self._build_boundaries()
        self.measured = QLabel()
        self.measured.setWordWrap(True)
        self.measured.setStyleSheet(MUTED_STYLE)
        self.live = QLabel()
        self.live.setObjectName("liveResult")
        self.live.setWordWrap(True)
        self.live.setStyleSheet(f"color:{ACCENT}; font-weight:bold;")
        self.live.hide()
        buttons = self._build_buttons()

        info = QWidget()
        info.setObjectName("storyInfo")
        box = QVBoxLayout(info)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.stage_title)
        box.addWidget(self.stage_text)
        box.addLayout(tiles)
        box.addWidget(self.live)
        box.addWidget(self.measured)
        box.addStretch(1)
        # The words and figures scroll when the dock is short, rather than being drawn over each
        # other; the buttons stay under them, never scrolled out of reach.
        self.info = QScrollArea()
        self.info.setWidget(info)
        self.info.setWidgetResizable(True)
        self.info.setFrameShape(QFrame.Shape.NoFrame)
        self.info.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        words = QWidget()
        column = QVBoxLayout(words)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.info, 1)
        column.addLayout(buttons)
        self.words = words
        stage = QWidget()
        stage.setObjectName("storyStage")
        self.stage_layout = QBoxLayout(QBoxLayout.Direction.TopToBottom, stage)
        self.stage_layout.setContentsMargins(4, 0, 0, 0)
        self.stage_layout.addWidget(words, 0)
        self.stage_layout.addWidget(self.boundaries, 1)
        self.stage = stage

    def _build_boundaries(self) -> None:
        """The trained model's boundary beside the integer model's."""
        self.trained_view = BoundaryView("Trained model")
        self.integer_view = BoundaryView("3-bit integer model (= FHE)")
        self.boundaries = QWidget()
        self.boundaries.setObjectName("storyBoundaries")
        row = QHBoxLayout(self.boundaries)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.trained_view)
        row.addWidget(self.integer_view)
        self.boundaries.setMinimumSize(300, 170)
        self.trained_map, self.integer_map = self.trained_view.map, self.integer_view.map

    def _build_buttons(self) -> QHBoxLayout:
        self.open_button = QPushButton("Open in the window")
        self.open_button.setToolTip("Open this step's experiment file in the main window: plots, results, "
                                    "compile report.")
        self.rerun_button = QPushButton("Re-run live")
        self.rerun_button.setToolTip("Put this step's settings into Configure and train them now.")
        self.deploy_button = QPushButton("Deploy it")
        self.deploy_button.setToolTip("Open this step's run, compile it and send test points through a local "
                                      "server that only ever sees ciphertexts (the Deploy panel shows both sides).")
        self.deploy_button.hide()
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the run in progress (training keeps what it learned).")
        self.stop_button.clicked.connect(self.stopRequested.emit)
        self.stop_button.hide()
        self.open_button.clicked.connect(self.request_open)
        self.rerun_button.clicked.connect(self.request_rerun)
        self.deploy_button.clicked.connect(self.request_deploy)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 4, 0, 0)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.rerun_button)
        buttons.addWidget(self.deploy_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        return buttons

    # ------------------------------------------------------------------ data in
    def step(self, number: int) -> StoryStep:
        return self.steps[number - 1]

    def set_figures(self, figures: StepFigures) -> None:
        self.figures[figures.step.number] = figures
        if self.current == figures.step.number:
            self._draw()
        self.changed.emit()

    def set_problem(self, problem: StoryProblem) -> None:
        self.problems[problem.step.number] = problem.message
        if self.current == problem.step.number:
            self._draw()
        self.changed.emit()

    def set_live_result(self, number: int, text: str) -> None:
        self._live[number] = text
        if self.current == number:
            self._draw_live()
            QTimer.singleShot(0, self, self._fit_info_width)
        self.changed.emit()

    def live_result(self, number: int) -> str:
        """What the step's live re-run or deployment has said last ('' if none)."""
        return self._live.get(number, "")

    def set_can_rerun(self, can: bool, why: str = "") -> None:
        self._can_rerun = can
        for card in self.cards:
            card.rerun.setEnabled(can)
        self.rerun_button.setEnabled(can and self.current is not None)
        self.deploy_button.setEnabled(can and self.current is not None)
        self.stop_button.setVisible(not can)
        for widget in [self.rerun_button, self.deploy_button] + [card.rerun for card in self.cards]:
            widget.setStatusTip("" if can else why)
        self.changed.emit()

    def can_rerun(self) -> bool:
        return self._can_rerun

    # ------------------------------------------------------------------ requests
    def request_rerun(self) -> None:
        if self.current:
            self.rerunRequested.emit(self.step(self.current))

    def request_deploy(self) -> None:
        if self.current:
            self.deployRequested.emit(self.step(self.current))

    def request_open(self) -> None:
        if self.current:
            self.openRequested.emit(self.step(self.current))

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

    def _draw(self) -> None:
        self._draw_step()
        QTimer.singleShot(0, self, self._fit_info_width)  # once the new words and figures are laid out

    def _draw_step(self) -> None:
        number = self.current
        if number is None:
            self.stage_title.setText("Choose a step")
            self.stage_text.setText("Each step opens at once from an experiment shipped with QAT Studio.")
            for tile in self.tiles.values():
                tile.value.setText("-")
            self.open_button.setEnabled(False)
            self.rerun_button.setEnabled(False)
            self.deploy_button.hide()
            self.measured.setText("")
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
        figures, problem = self.figures.get(number), self.problems.get(number, "")
        for key, face in step_tiles(step, figures, problem).items():
            self.tiles[key].show_face(face)
        if figures is None:
            self.measured.setText(f"Can't open this step: {problem}" if problem else "Opening the step's file\u2026")
        else:  # the tiles show the rest of what was measured
            ceiling = figures.record.metrics.ceiling_accuracy
            self.measured.setText("Measured when the file was made" + (
                f"; the ceiling on its test points: {fmt_percent(ceiling)}." if ceiling is not None else "."))
            self.measured.setToolTip(f"Measured when the file was made: {step.measured}")
        self.trained_view.show_figures(figures, trained=True)
        self.integer_view.show_figures(figures, trained=False)

    def _draw_live(self) -> None:
        text = self._live.get(self.current) if self.current else None
        self.live.setVisible(bool(text))
        if text:
            self.live.setText(text)

    # ------------------------------------------------------------------ layout
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
        # Before it is shown the panel has Qt's default size: take it as a wide, short bottom dock,
        # or its first, stacked layout would ask the window for more height than a laptop has.
        shown = self.isVisible()
        wide = self.width() >= 700 or not shown
        direction = QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        if self.main.direction() != direction:
            self.main.setDirection(direction)
        self.list_area.setMaximumHeight(QWIDGETSIZE_MAX if wide else 230)
        self.list_area.setMaximumWidth(LIST_WIDTH if wide else QWIDGETSIZE_MAX)
        self.list_area.setMinimumWidth(250 if wide else 0)
        stage_width = self.width() - (self.list_area.maximumWidth() if wide else 0)
        stage_height = self.height() - (0 if wide else self.list_area.maximumHeight())
        side_by_side = stage_width > 1.7 * stage_height or not shown
        inner = QBoxLayout.Direction.LeftToRight if side_by_side else QBoxLayout.Direction.TopToBottom
        if self.stage_layout.direction() != inner:
            self.stage_layout.setDirection(inner)
        # Beside the words, the two maps are as wide as two squares of the stage's height: the
        # words take the rest, rather than empty margins beside the squares
        maps_width = 2 * max(stage_height, 170) if side_by_side else QWIDGETSIZE_MAX  # axes and title: about
        # as much as a square's side less its height (each map is a plot under a one-line title)
        self.boundaries.setMaximumWidth(maps_width)
        words_width = stage_width - maps_width if side_by_side else stage_width
        self._place_tiles(6 if words_width >= 6 * TILE_LEAST_WIDTH else 3)
        self._fit_info_width()

    def _fit_info_width(self) -> None:
        """The words and figures as wide as their tiles need: they scroll only up and down."""
        inner = self.info.widget()
        self.info.setMinimumWidth(inner.minimumSizeHint().width() + self.info.verticalScrollBar().sizeHint().width() + 2)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange()
