"""The boundary plot's plane: the two features the decision boundary is drawn over, chosen in the
plots and drawn off the GUI thread for the run the session shows."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject

from ...services import views
from ...services.session import Session
from ..charts.plots import TrainingPlots
from ..workers import TaskRunner
from .slot import TaskSlot


class PlanePresenter(QObject):
    def __init__(self, slot: TaskSlot, session: Session, plots: TrainingPlots, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.slot, self.session, self.plots = slot, session, plots
        self.drawing = TaskRunner(self)  # quick, and never makes the window busy
        self._wanted: Optional[tuple[tuple[str, ...], tuple[int, int]]] = None  # (features, plane)
        plots.planeChosen.connect(self.choose)

    def choose(self, plane: tuple[int, int]) -> None:
        """Show the boundary on features ``plane`` of the data shown: the current model's, drawn off
        the GUI thread (a big model takes a moment)."""
        features = self.plots.feature_names
        self._wanted = (features, tuple(plane))
        dataset = self.session.run.dataset
        if self.session.run.experiment is None or dataset is None or dataset.feature_names != features:
            self.plots.set_plane(tuple(plane), None)  # no model of these data: the test points alone
            return
        self.draw()

    def draw(self) -> None:
        """Draw the plane chosen last if the session shows another one; one drawing at a time (the
        next starts when it ends)."""
        experiment, dataset = self.session.run.experiment, self.session.run.dataset
        if self._wanted is None or experiment is None or self.drawing.is_busy():
            return
        features, plane = self._wanted
        if features != dataset.feature_names or plane == dataset.plane:
            return
        model = experiment.trained_model
        task = self.drawing.start("Drawing the boundary",
                                  lambda state, tell: views.plane_boundary(model, dataset, plane))
        task.succeeded.connect(lambda view: self._drawn(experiment, view))
        task.failed.connect(lambda error: self.slot.problem.emit(error.title, error.message, error.details))
        task.finished.connect(self.draw)

    def _drawn(self, experiment, view: views.PlaneView) -> None:
        if experiment is not self.session.run.experiment:
            return  # trained again or opened another since
        self.session.on_plane(view.dataset)  # the FHE simulation draws its boundaries on this plane too
        self.plots.set_plane(view.dataset.plane, view.boundary)
        names = view.dataset.feature_names
        self.slot.result(f"Decision boundary over {names[view.dataset.plane[0]]} and "
                         f"{names[view.dataset.plane[1]]}, every other feature at its training median.")

    def wait(self) -> None:
        """Block until a drawing under way has ended (shutdown)."""
        self.drawing.wait_all()
