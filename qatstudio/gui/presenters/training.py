"""Training: the session's configuration trained live in the training process, pause and resume,
and what the trained run shows in the panels."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, Signal

from ...engine.config import ExperimentConfig
from ...services import jobs
from ...services.formatting import (
    config_look,
    fmt_budget,
    fmt_epochs,
    fmt_eta,
    fmt_hidden_layers,
    fmt_percent,
    fmt_restart,
    fmt_seconds,
    plural,
)
from ...services.session import Session
from ...services.views import names_of
from ..state import State, TaskKind
from ..workers import Task
from .circuit import CircuitPresenter
from .plane import PlanePresenter
from .slot import TaskSlot, Views

PAUSED = " (paused)"


class TrainingPresenter(QObject):
    pausedChanged = Signal(bool)

    def __init__(self, slot: TaskSlot, session: Session, views: Views, plane: PlanePresenter,
                 circuit: CircuitPresenter, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.slot, self.session, self.views = slot, session, views
        self.plane, self.circuit = plane, circuit
        self.process = jobs.training_process()  # training runs there, beside the window; closed on release
        self.paused = False
        self._total_steps = 0

    def start(self) -> Optional[Task]:
        """Train the session's configuration, live."""
        config = self.session.config
        if self.slot.config_problems:
            self.slot.hint("Can't train: " + "; ".join(self.slot.config_problems))
            return None
        if self.slot.state is not State.IDLE:
            return None
        v = self.views
        self.session.clear()
        names = names_of(config.data, self.session.tables)
        v.plots.reset()
        v.plots.set_data(names.features, names.classes, names.plane)
        v.compile.clear("Training\u2026 compile when it is done.")
        v.results.clear(0, names.classes)
        v.controls.reset("Preparing the data\u2026")
        self._total_steps = 0
        task = self.slot.start(TaskKind.TRAIN, jobs.train_job(config, self.session.tables, self.process),
                               self._on_message, lambda outcome: self._on_trained(outcome, config),
                               on_failure=lambda error: self._on_failed(), on_cancel=v.plots.stop_live)
        if task is None:
            return None
        task.finished.connect(lambda: self.set_paused(False))
        v.plots.start_live()
        budget = f", {fmt_budget(config.pruning_budget)}" if config.pruning_budget else ""
        self.slot.work(f"Training: {config_look(config).title.lower()}, {fmt_hidden_layers(config)}, "
                       f"{config.bits} bits{budget}, {fmt_epochs(config)}\u2026")
        return task

    def _on_message(self, message) -> None:
        v = self.views
        if isinstance(message, jobs.StepBatch):
            v.plots.add_steps(message.losses)
            if message.total_steps != self._total_steps:
                self._total_steps = message.total_steps
                v.plots.set_extent(message.total_steps, message.epochs)
            v.controls.show_step(message.step, message.total_steps)
            v.controls.show_text(f"{fmt_restart(message.restart, message.restarts)}Epoch {message.epoch} of "
                                 f"{message.epochs} \u00b7 step {message.step} of {message.total_steps} \u00b7 "
                                 f"{fmt_eta(message.eta_s)}{PAUSED if self.paused else ''}")
        elif isinstance(message, jobs.EpochUpdate):
            event = message.epoch
            v.plots.add_epoch(event, message.test_predictions)
            paused = " \u2014 paused: press Pause again to resume" if self.paused else ""
            self.slot.work(f"Training: {fmt_restart(event.restart, event.restarts).lower()}epoch {event.epoch} of "
                           f"{event.epochs}, validation {fmt_percent(event.validation_accuracy)}, test "
                           f"{fmt_percent(event.test_accuracy)}{paused}")
        elif isinstance(message, jobs.DataReady):
            v.plots.set_test_points(message.x_test, message.y_test)
            v.plots.set_ceiling(message.ceiling_accuracy)
            v.results.set_test_count(len(message.y_test))
        elif isinstance(message, jobs.Phase):
            v.controls.show_text(message.text + "\u2026")
            self.slot.work(message.text + "\u2026")

    def _on_failed(self) -> None:
        self.views.plots.stop_live()
        self.views.controls.finish("Training failed: the message above says why.", complete=False)

    def _on_trained(self, outcome: jobs.TrainOutcome, config: ExperimentConfig) -> None:
        v = self.views
        v.plots.stop_live()
        if outcome.experiment is None:
            v.controls.show_text("Stopped before the first epoch ended: nothing to keep.")
            v.compile.set_status("Train a model, then compile it.")
            self.slot.result("Training stopped before the first epoch ended.")
            return
        experiment = outcome.experiment
        self.session.trained(experiment, outcome.dataset, outcome.test_predictions)
        v.plots.show_history(experiment.history, experiment.kept_record)
        v.plots.set_predictions(outcome.test_predictions)
        v.plots.redraw()
        self.plane.draw()  # the plane chosen before, if the live boundary was on another one
        v.results.set_test_count(len(outcome.dataset.x_test))
        v.results.show_metrics(experiment.metrics)
        self.circuit.show_estimate(experiment)
        m = experiment.metrics
        kept = experiment.kept_record
        how = (f"Stopped after {plural(outcome.epochs_completed, 'evaluation')}; kept epoch {kept.epoch}"
               if outcome.stopped_early else f"Trained; kept epoch {kept.epoch}"
               + (f" of restart {experiment.kept_restart + 1}" if config.restarts > 1 else ""))
        elapsed = experiment.history[-1].elapsed_s if experiment.history else 0.0
        v.controls.finish(f"{how} in {fmt_seconds(elapsed)}.", complete=not outcome.stopped_early)
        first = f"fp32 {fmt_percent(m.float_accuracy)}, " if m.float_accuracy is not None else ""
        self.slot.result(f"{how}: test accuracy {first}{config.bits}-bit quantized "
                         f"{fmt_percent(m.clear_accuracy)} in the clear. Compile next (Ctrl+K).")

    def set_paused(self, paused: bool) -> None:
        """Pause or resume the training under way (a finished task only ends a pause)."""
        if paused == self.paused or (paused and self.slot.kind is not TaskKind.TRAIN):
            return
        self.paused = paused
        task, controls = self.slot.task, self.views.controls
        if task is None or self.slot.kind is not TaskKind.TRAIN:  # the training ended while paused
            self.pausedChanged.emit(paused)
            return
        if paused:
            task.state.pause()
            self.slot.work("Training paused: press Pause again to resume, or Stop.")
            controls.show_text(controls.text().replace(PAUSED, "") + PAUSED)
        else:
            task.state.resume()
            self.slot.work("Training resumed\u2026")
            controls.show_text(controls.text().replace(PAUSED, ""))
        self.pausedChanged.emit(paused)
