"""The window's one task slot: one long job at a time on the shared ``TaskRunner``, one Cancel,
and the state that says what is enabled (``state.enabled``) whenever it or the session changes.
Every presenter starts its work here and writes its status texts through it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from PySide6.QtCore import QObject, Signal

from ...services import jobs
from ...services.deploy.local import LocalServer
from ...services.session import Session
from ...services.tasks import Outcome
from ..charts.plots import TrainingPlots
from ..panels.compile_panel import CompilePanel
from ..panels.config_panel import ConfigPanel
from ..panels.deploy_panel import DeployPanel
from ..panels.results_panel import ResultsPanel
from ..state import Enabled, Facts, State, TaskKind, enabled
from ..widgets import TrainControls
from ..workers import Task, TaskError, TaskRunner


@dataclass(frozen=True)
class Views:
    """The panels the presenters fill."""

    config: ConfigPanel
    controls: TrainControls
    plots: TrainingPlots
    compile: CompilePanel
    results: ResultsPanel
    deploy: DeployPanel


class TaskSlot(QObject):
    stateChanged = Signal(object)  # Enabled
    statusChanged = Signal(str, str)  # text, how it stands: "work", "result" or "passing" (see gui/status.py)
    problem = Signal(str, str, str)  # title, message, details: an error the user should read
    taskStarted = Signal(str)  # task title
    taskFinished = Signal(str, object)  # task title, its services.tasks.Outcome
    showPanel = Signal(object)  # the panel the work in progress fills
    closeReady = Signal()  # the work stopped while closing: the window can close now

    def __init__(self, session: Session, server: LocalServer, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.session = session
        self.server = server  # the Deploy panel's local server: whether it runs is a fact of enabling
        self.runner = TaskRunner(self)
        self.state = State.IDLE
        self.task: Optional[Task] = None
        self.kind: Optional[TaskKind] = None
        self.config_problems: list[str] = []  # of the configuration shown: Train waits until there are none
        self.runner.busyChanged.connect(self._runner_busy)
        session.run_changed.connect(lambda run: self.refresh())

    # ------------------------------------------------------------ what is enabled
    def facts(self) -> Facts:
        experiment = self.session.run.experiment
        return Facts(has_experiment=experiment is not None,
                     has_integer_model=experiment is not None and experiment.integer_model is not None,
                     compiled=self.session.run.compiled is not None,
                     config_problems=bool(self.config_problems),
                     server_running=self.server.running)

    def enabled(self) -> Enabled:
        return enabled(self.state, self.facts())

    def refresh(self) -> None:
        self.stateChanged.emit(self.enabled())

    def _enter(self, state: State) -> None:
        self.state = state
        self.refresh()

    def _runner_busy(self, busy: bool) -> None:
        """Work started elsewhere on the shared runner (a sweep) also makes the window busy."""
        if busy and self.state is State.IDLE:
            self._enter(State.OTHER_WORK)
        elif not busy and self.state is State.OTHER_WORK:
            self._enter(State.IDLE)
        elif not busy and self.state is State.CLOSING:
            self.closeReady.emit()

    def is_busy(self) -> bool:
        return self.runner.is_busy()

    def config_changed(self, problems: list[str]) -> None:
        """The configuration shown has ``problems`` (none: it can be trained)."""
        self.config_problems = list(problems)
        self.refresh()

    # ------------------------------------------------------------ the status line
    def work(self, text: str) -> None:
        """The work in progress."""
        self.statusChanged.emit(text, "work")

    def result(self, text: str) -> None:
        """What finished work found: it stands until what it describes changes."""
        self.statusChanged.emit(text, "result")

    def hint(self, text: str) -> None:
        """A refusal or a hint: it passes."""
        self.statusChanged.emit(text, "passing")

    def on_phase(self, message) -> None:
        if isinstance(message, jobs.Phase):
            self.work(message.text + "\u2026")

    # ------------------------------------------------------------ the task
    def start(self, kind: TaskKind, job: jobs.Job, on_message: Optional[Callable] = None,
              on_success: Optional[Callable] = None, on_failure: Optional[Callable] = None,
              on_cancel: Optional[Callable] = None) -> Optional[Task]:
        """Run ``job`` as the window's task, unless it is busy (then say so and return None).
        ``on_failure`` may answer a failure itself (returns True); otherwise the failure is told."""
        if self.state is not State.IDLE:
            busy = self.task.name.lower() if self.task is not None else "other work"
            self.hint(f"Busy with {busy}: stop it first.")
            return None
        self.kind = kind
        self._enter(State.running(kind))  # before the runner says it is busy
        task = self.runner.start(kind.title, job)
        self.task = task
        if on_message:
            task.message.connect(on_message)
        if on_success:
            task.succeeded.connect(on_success)
        task.failed.connect(lambda error: self._failed(kind, error, on_failure))
        task.cancelled.connect(lambda: self._cancelled(kind, on_cancel))
        task.finished.connect(lambda: self._finished(task))
        self.taskStarted.emit(kind.title)
        return task

    def _failed(self, kind: TaskKind, error: TaskError, handler: Optional[Callable]) -> None:
        if handler and handler(error):
            return
        kept = f" The details are in {error.log_file}: attach it to a bug report." if error.log_file else ""
        self.problem.emit(error.title, error.message + kept, error.details)
        self.result(f"{kind.title} failed: {error.message}")

    def _cancelled(self, kind: TaskKind, handler: Optional[Callable]) -> None:
        self.result(f"{kind.title} cancelled.")
        if handler:
            handler()

    def _finished(self, task: Task) -> None:
        if self.task is task:
            self.task, self.kind = None, None
        if self.state is not State.CLOSING:
            self._enter(State.OTHER_WORK if self.runner.is_busy() else State.IDLE)
        self.taskFinished.emit(task.name, task.outcome or Outcome.CANCELLED)

    def stop(self) -> None:
        """Cancel the window's task, or else the work started elsewhere on its runner (a sweep)."""
        task = self.task or self.runner.current()
        if task is None:
            return
        task.cancel()
        if self.task is not None and self.kind is TaskKind.COMPILE:
            self.work("Stopping: a compilation can't be interrupted; its result will be discarded\u2026")
        elif self.task is not None and self.kind is TaskKind.TRAIN:
            self.work("Stopping training: the model keeps what it learned so far\u2026")
        else:
            self.work(f"Stopping {task.name.lower()}\u2026")

    def close_when_idle(self) -> bool:
        """Stop all work before the window closes; False when nothing runs (close now)."""
        if not self.runner.is_busy():
            return False
        names = ", ".join(task.name.lower() for task in self.runner.tasks)
        self._enter(State.CLOSING)
        self.runner.cancel_all()
        self.work(f"Stopping {names} before closing\u2026")
        return True

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything; with ``wait`` block until every worker thread has stopped."""
        self._enter(State.CLOSING)
        self.runner.cancel_all()
        if wait:
            self.runner.wait_all()
