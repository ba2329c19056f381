"""Deployment: the session's circuit served by a local server and test points sent through it as
an encrypted client; and the bundle 'qatstudio serve' serves, exported to a folder."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QObject

from ...services import jobs, storage
from ...services.deploy.local import LocalServer
from ...services.formatting import plural
from ...services.session import Session
from ..state import TaskKind
from ..workers import Task
from .slot import TaskSlot, Views


class DeployPresenter(QObject):
    def __init__(self, slot: TaskSlot, session: Session, views: Views, server: LocalServer,
                 parent: Optional[QObject] = None):
        super().__init__(parent)
        self.slot, self.session, self.views = slot, session, views
        self.server = server  # the Deploy panel's local server; stopped on release

    def start(self, n_points: int) -> Optional[Task]:
        compiled, experiment = self.session.run.compiled, self.session.run.experiment
        if compiled is None:
            self.slot.hint("Compile first: the server runs the compiled circuit.")
            return None
        points = self.session.run.dataset.x_test[: max(1, int(n_points))]
        folder = storage.cache_dir() / "deployments" / compiled.key_id
        panel = self.views.deploy
        job = jobs.deploy_job(experiment, compiled, folder, self.server, points, self.session.tables)
        task = self.slot.start(TaskKind.DEPLOY, job, self._on_message, self._on_deployed,
                               on_failure=lambda error: panel.failed(f"Failed: {error.message}"),
                               on_cancel=lambda: panel.failed("Cancelled."))
        if task is not None:
            self.slot.showPanel.emit(panel)
            panel.started(len(points))
            self.slot.work(f"Sending {plural(len(points), 'test point')} through a local server\u2026")
        return task

    def _on_message(self, message) -> None:
        if isinstance(message, jobs.Phase):
            self.views.deploy.show_phase(message.text)
            self.slot.work(message.text + "\u2026")
        elif isinstance(message, jobs.DeployedSample):
            self.views.deploy.add_sample(message)

    def _on_deployed(self, outcome: jobs.DeployOutcome) -> None:
        self.views.deploy.finished(outcome)
        agree = sum(p.label == c for p, c in zip(outcome.predictions, outcome.clear_labels))
        self.slot.result(f"{plural(len(outcome.predictions), 'point')} classified encrypted by {outcome.url}; "
                         f"{agree} agree with the clear model.")

    def stop_server(self) -> None:
        self.server.stop()
        self.views.deploy.server_stopped()
        self.slot.refresh()

    def export(self, folder: Path) -> Optional[Task]:
        """Export the session's run for 'qatstudio serve' into ``folder``."""
        experiment = self.session.run.experiment
        if experiment is None or experiment.integer_model is None:
            self.slot.hint("Train a model (or open an experiment) before exporting it.")
            return None
        source = self.session.path.name if self.session.path else ""
        job = jobs.export_job(experiment, self.session.run.compiled, Path(folder), source, self.session.tables)
        return self.slot.start(TaskKind.EXPORT, job, self.slot.on_phase,
                               lambda path: self.slot.result(f"Exported for deployment to {Path(path).parent}: "
                                                             f"serve it with 'qatstudio serve {Path(path).parent}'."))
