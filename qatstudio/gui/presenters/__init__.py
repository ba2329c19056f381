"""The window's presenters, by concern, sharing one task slot and one session: training, the
boundary's plane, the circuit (compile, keys, simulation, encrypted runs, lookup times),
deployment and files. ``Presenters.build`` composes them over the window's panels."""
from __future__ import annotations

import gc
from dataclasses import dataclass

from PySide6.QtCore import QObject

from ...services.deploy.local import LocalServer
from ...services.session import Session
from .circuit import CircuitPresenter
from .deploy import DeployPresenter
from .files import FilesPresenter
from .plane import PlanePresenter
from .slot import TaskSlot, Views
from .training import TrainingPresenter


@dataclass(frozen=True)
class Presenters:
    slot: TaskSlot
    plane: PlanePresenter
    training: TrainingPresenter
    circuit: CircuitPresenter
    deploy: DeployPresenter
    files: FilesPresenter

    @staticmethod
    def build(session: Session, views: Views, parent: QObject) -> "Presenters":
        server = LocalServer(folder=None)
        slot = TaskSlot(session, server, parent)
        plane = PlanePresenter(slot, session, views.plots, parent)
        circuit = CircuitPresenter(slot, session, views, parent)
        return Presenters(slot, plane, TrainingPresenter(slot, session, views, plane, circuit, parent), circuit,
                          DeployPresenter(slot, session, views, server, parent),
                          FilesPresenter(slot, session, views, plane, circuit, parent))

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything; with ``wait`` block until every worker thread has stopped, the server
        and the training process with them."""
        self.slot.shutdown(wait)
        if wait:
            self.plane.wait()
            self.deploy.server.stop()
            self.training.process.close()
        self.plane.plots.stop_live()

    def release(self) -> None:
        """Stop the server and drop the models and the compiled circuit now, while Qt and Concrete
        are both alive: freeing a circuit during interpreter shutdown can crash."""
        self.deploy.server.stop()
        self.training.process.close()
        self.plane.wait()
        self.slot.session.clear()
        gc.collect()
