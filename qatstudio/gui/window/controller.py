"""The window's work: one session, one task at a time, and the workflows that fill the panels.

``Controller`` runs every job (``services.jobs``) on the shared ``TaskRunner``, keeps the
``Session`` up to date, writes each workflow's status texts, and tells the window what is enabled
(``state.enabled``) whenever its state or the session changes. It drives the panels only through
their public methods; the window builds the widgets and connects them to it.
"""
from __future__ import annotations

import dataclasses
import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QObject, Signal

from ...engine.config import ExperimentConfig
from ...engine.cost import LookupTimes
from ...engine.data import Dataset
from ...engine.fhe import AccumulatorTooWideError
from ...engine.pipeline import Experiment
from ...services import jobs, storage, views
from ...services.deploy.local import LocalServer
from ...services.experiment_file import SUFFIX, save_experiment
from ...services.history import Stage
from ...services.formatting import (
    config_look,
    fmt_budget,
    fmt_epochs,
    fmt_eta,
    fmt_hidden_layers,
    fmt_key_bytes,
    fmt_latency,
    fmt_percent,
    fmt_progress,
    fmt_restart,
    fmt_seconds,
    plural,
)
from ...services.key_budget import cheaper_settings, describe_key_cost, key_cost_problems, keys_to_make
from ...services.keys import KeyCache
from ...services.tabular import ImportedTable, MissingValues
from ...services.tasks import Outcome
from ..panels.compile_panel import CompilePanel
from ..panels.config_panel import ConfigPanel
from ..panels.deploy_panel import DeployPanel
from ..charts.plots import TrainingPlots
from ..panels.results_panel import ResultsPanel
from ..state import Enabled, Facts, State, TaskKind, enabled
from ..widgets import TrainControls
from ..workers import Task, TaskError, TaskRunner

PAUSED = " (paused)"


@dataclass(frozen=True)
class MissingRows:
    """An import stopped at rows with missing values: what to import again without them."""

    path: Path
    label_column: str
    test_fraction: float
    error: MissingValues


@dataclass(frozen=True)
class Views:
    """The panels a controller fills."""

    config: ConfigPanel
    controls: TrainControls
    plots: TrainingPlots
    compile: CompilePanel
    results: ResultsPanel
    deploy: DeployPanel


class Controller(QObject):
    stateChanged = Signal(object)  # Enabled
    statusChanged = Signal(str, str)  # text, how it stands: "work", "result" or "passing" (see gui/status.py)
    problem = Signal(str, str, str)  # title, message, details: an error the user should read
    taskStarted = Signal(str)  # task title
    taskFinished = Signal(str, object)  # task title, its services.tasks.Outcome
    experimentUpdated = Signal(object, object)  # Experiment, its Stage
    titleChanged = Signal(str, bool)  # file name, unsaved results
    fileUsed = Signal(object, bool)  # Path, worth a place in File > Open Recent
    showPanel = Signal(object)  # the panel the work in progress fills
    pausedChanged = Signal(bool)
    closeReady = Signal()  # the work stopped while closing: the window can close now
    missingValues = Signal(object)  # MissingRows: ask whether to import again without them
    keysQuestion = Signal(str, object)  # costly keys: the question, and what to call on yes

    def __init__(self, views: Views, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.views = views
        self.session = jobs.Session()
        self.runner = TaskRunner(self)
        self.drawing = TaskRunner(self)  # the boundary on another plane: quick, never makes the window busy
        self.server = LocalServer(folder=None)  # the Deploy panel's local server; stopped on release
        self.training = jobs.training_process()  # training runs there, beside the window; closed on release
        self.state = State.IDLE
        self.task: Optional[Task] = None
        self.kind: Optional[TaskKind] = None
        self.paused = False
        self._config_problems = False
        self._total_steps = 0
        self._latencies: list[float] = []
        self._plane_wanted: Optional[tuple[tuple[str, ...], tuple[int, int]]] = None  # (features, plane)
        self._missing: Optional[MissingRows] = None
        self.runner.busyChanged.connect(self._runner_busy)
        views.plots.planeChosen.connect(self.choose_plane)

    # ------------------------------------------------------------ state
    def facts(self) -> Facts:
        experiment = self.session.experiment
        return Facts(has_experiment=experiment is not None,
                     has_integer_model=experiment is not None and experiment.integer_model is not None,
                     compiled=self.session.compiled is not None,
                     config_problems=self._config_problems,
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
        self._config_problems = bool(problems)
        self.refresh()

    def _status(self, text: str) -> None:
        """The work in progress."""
        self.statusChanged.emit(text, "work")

    def _result(self, text: str) -> None:
        """What finished work found: it stands until what it describes changes."""
        self.statusChanged.emit(text, "result")

    def _hint(self, text: str) -> None:
        """A refusal or a hint: it passes."""
        self.statusChanged.emit(text, "passing")

    def _title(self) -> None:
        session = self.session
        self.titleChanged.emit(session.path.name if session.path else "untitled",
                               session.dirty and session.experiment is not None)

    # ------------------------------------------------------------ tasks
    def _start(self, kind: TaskKind, job: jobs.Job, on_message: Optional[Callable] = None,
               on_success: Optional[Callable] = None, on_failure: Optional[Callable] = None,
               on_cancel: Optional[Callable] = None) -> Optional[Task]:
        if self.state is not State.IDLE:
            busy = self.task.name.lower() if self.task is not None else "other work"
            self._hint(f"Busy with {busy}: stop it first.")
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
        """Say what went wrong, unless ``handler`` answers the failure itself (returns True)."""
        if handler and handler(error):
            return
        kept = f" The details are in {error.log_file}: attach it to a bug report." if error.log_file else ""
        self.problem.emit(error.title, error.message + kept, error.details)
        self._result(f"{kind.title} failed: {error.message}")

    def _cancelled(self, kind: TaskKind, handler: Optional[Callable]) -> None:
        self._result(f"{kind.title} cancelled.")
        if handler:
            handler()

    def _finished(self, task: Task) -> None:
        if self.task is task:
            self.task, self.kind = None, None
        if self.paused:
            self.paused = False
            self.pausedChanged.emit(False)
        if self.state is not State.CLOSING:
            self._enter(State.OTHER_WORK if self.runner.is_busy() else State.IDLE)
        self.taskFinished.emit(task.name, task.outcome or Outcome.CANCELLED)

    def _on_phase(self, message) -> None:
        if isinstance(message, jobs.Phase):
            self._status(message.text + "\u2026")

    def stop(self) -> None:
        """Cancel the window's task, or else the work started elsewhere on its runner (a sweep)."""
        task = self.task or self.runner.current()
        if task is None:
            return
        task.cancel()
        if self.task is not None and self.kind is TaskKind.COMPILE:
            self._status("Stopping: a compilation can't be interrupted; its result will be discarded\u2026")
        elif self.task is not None and self.kind is TaskKind.TRAIN:
            self._status("Stopping training: the model keeps what it learned so far\u2026")
        else:
            self._status(f"Stopping {task.name.lower()}\u2026")

    def close_when_idle(self) -> bool:
        """Stop all work before the window closes; False when nothing runs (close now)."""
        if not self.runner.is_busy():
            return False
        names = ", ".join(task.name.lower() for task in self.runner.tasks)
        self._enter(State.CLOSING)
        self.runner.cancel_all()
        self._status(f"Stopping {names} before closing\u2026")
        return True

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything; with ``wait`` block until every worker thread has stopped."""
        self._enter(State.CLOSING)
        self.runner.cancel_all()
        if wait:
            self.runner.wait_all()
            self.drawing.wait_all()
            self.server.stop()
            self.training.close()
        self.views.plots.stop_live()

    def release(self) -> None:
        """Stop the server and drop the models and the compiled circuit now, while Qt and Concrete
        are both alive: freeing a circuit during interpreter shutdown can crash."""
        self.server.stop()
        self.training.close()
        self.drawing.wait_all()
        self.session = jobs.Session()
        gc.collect()

    # ------------------------------------------------------------ training
    def start_training(self) -> Optional[Task]:
        config = self.views.config.config()
        problems = config.problems()
        if problems:
            self._hint("Can't train: " + "; ".join(problems))
            return None
        if self.state is not State.IDLE:
            return None
        v = self.views
        self.session = jobs.Session()
        self._title()
        names = views.names_of(config.data)
        v.plots.reset()
        v.plots.set_data(names.features, names.classes, names.plane)
        v.compile.clear("Training\u2026 compile when it is done.")
        v.results.clear(0, names.classes)
        v.controls.reset("Preparing the data\u2026")
        self._total_steps = 0
        task = self._start(TaskKind.TRAIN, jobs.train_job(config, self.training),
                           self._on_train_message,
                           lambda outcome: self._on_trained(outcome, config),
                           on_failure=lambda error: self._on_train_failed(), on_cancel=v.plots.stop_live)
        if task is None:
            return None
        v.plots.start_live()
        budget = f", {fmt_budget(config.pruning_budget)}" if config.pruning_budget else ""
        self._status(f"Training: {config_look(config).title.lower()}, {fmt_hidden_layers(config)}, {config.bits} bits"
                     f"{budget}, {fmt_epochs(config)}\u2026")
        return task

    def _on_train_message(self, message) -> None:
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
            self._status(f"Training: {fmt_restart(event.restart, event.restarts).lower()}epoch {event.epoch} of "
                         f"{event.epochs}, validation {fmt_percent(event.validation_accuracy)}, test "
                         f"{fmt_percent(event.test_accuracy)}{paused}")
        elif isinstance(message, jobs.DataReady):
            v.plots.set_test_points(message.x_test, message.y_test)
            v.plots.set_ceiling(message.ceiling_accuracy)
            v.results.set_test_count(len(message.y_test))
        elif isinstance(message, jobs.Phase):
            v.controls.show_text(message.text + "\u2026")
            self._status(message.text + "\u2026")

    def _on_train_failed(self) -> None:
        self.views.plots.stop_live()
        self.views.controls.finish("Training failed: the message above says why.", complete=False)

    def _on_trained(self, outcome: jobs.TrainOutcome, config: ExperimentConfig) -> None:
        v = self.views
        v.plots.stop_live()
        if outcome.experiment is None:
            v.controls.show_text("Stopped before the first epoch ended: nothing to keep.")
            v.compile.set_status("Train a model, then compile it.")
            self._result("Training stopped before the first epoch ended.")
            return
        experiment = outcome.experiment
        self.session = jobs.Session(experiment=experiment, dataset=outcome.dataset,
                                    test_predictions=outcome.test_predictions, dirty=True)
        v.plots.show_history(experiment.history, experiment.kept_record)
        v.plots.set_predictions(outcome.test_predictions)
        v.plots.redraw()
        self._draw_plane()  # the plane chosen before, if the live boundary was on another one
        v.results.set_test_count(len(outcome.dataset.x_test))
        v.results.show_metrics(experiment.metrics)
        self._show_estimate(experiment)
        m = experiment.metrics
        kept = experiment.kept_record
        how = (f"Stopped after {plural(outcome.epochs_completed, 'evaluation')}; kept epoch {kept.epoch}"
               if outcome.stopped_early else f"Trained; kept epoch {kept.epoch}"
               + (f" of restart {experiment.kept_restart + 1}" if config.restarts > 1 else ""))
        elapsed = experiment.history[-1].elapsed_s if experiment.history else 0.0
        v.controls.finish(f"{how} in {fmt_seconds(elapsed)}.", complete=not outcome.stopped_early)
        first = f"fp32 {fmt_percent(m.float_accuracy)}, " if m.float_accuracy is not None else ""
        self._result(f"{how}: test accuracy {first}{config.bits}-bit quantized "
                     f"{fmt_percent(m.clear_accuracy)} in the clear. Compile next (Ctrl+K).")
        self._title()
        self.experimentUpdated.emit(experiment, Stage.TRAINED)

    def _show_estimate(self, experiment) -> None:
        """Before compiling: the integer model's widths, and whether Concrete will take them."""
        model = experiment.integer_model
        self.views.compile.show_estimate(model)
        too_wide = model.too_wide()
        if too_wide is not None:
            self.views.compile.set_status(f"Compiling will fail: {AccumulatorTooWideError(*too_wide)}.")
        else:
            self.views.compile.set_status("Accumulator widths of the integer model; compile for the circuit's "
                                          "figures.")

    def set_paused(self, paused: bool) -> None:
        if self.kind is not TaskKind.TRAIN or paused == self.paused:
            return
        self.paused = paused
        controls = self.views.controls
        if paused:
            self.task.state.pause()
            self._status("Training paused: press Pause again to resume, or Stop.")
            controls.show_text(controls.text().replace(PAUSED, "") + PAUSED)
        else:
            self.task.state.resume()
            self._status("Training resumed\u2026")
            controls.show_text(controls.text().replace(PAUSED, ""))
        self.pausedChanged.emit(paused)

    # ------------------------------------------------------------ the boundary's plane
    def choose_plane(self, plane: tuple[int, int]) -> None:
        """Show the boundary on features ``plane`` of the data shown: the current model's, drawn off
        the GUI thread (a big model takes a moment)."""
        features = self.views.plots.feature_names
        self._plane_wanted = (features, tuple(plane))
        dataset = self.session.dataset
        if self.session.experiment is None or dataset is None or dataset.feature_names != features:
            self.views.plots.set_plane(tuple(plane), None)  # no model of these data: the test points alone
            return
        self._draw_plane()

    def _draw_plane(self) -> None:
        """Draw the plane chosen last if the session shows another one; one drawing at a time (the
        next starts when it ends)."""
        experiment, dataset = self.session.experiment, self.session.dataset
        if self._plane_wanted is None or experiment is None or self.drawing.is_busy():
            return
        features, plane = self._plane_wanted
        if features != dataset.feature_names or plane == dataset.plane:
            return
        model = experiment.trained_model
        task = self.drawing.start("Drawing the boundary",
                                  lambda state, tell: views.plane_boundary(model, dataset, plane))
        task.succeeded.connect(lambda view: self._plane_drawn(experiment, view))
        task.failed.connect(lambda error: self.problem.emit(error.title, error.message, error.details))
        task.finished.connect(self._draw_plane)

    def _plane_drawn(self, experiment, view: views.PlaneView) -> None:
        if experiment is not self.session.experiment:
            return  # trained again or opened another since
        self.session.dataset = view.dataset  # the FHE simulation draws its boundaries on this plane too
        self.views.plots.set_plane(view.dataset.plane, view.boundary)
        names = view.dataset.feature_names
        self._result(f"Decision boundary over {names[view.dataset.plane[0]]} and {names[view.dataset.plane[1]]}, "
                     f"every other feature at its training median.")

    # ------------------------------------------------------------ compile and keys
    def start_compile(self) -> Optional[Task]:
        experiment = self.session.experiment
        if experiment is None or experiment.integer_model is None:
            self._hint("Train a model (or open an experiment) before compiling.")
            return None
        panel = self.views.compile
        task = self._start(TaskKind.COMPILE, jobs.compile_job(experiment), self._on_phase, self._on_compiled,
                           on_failure=self._on_compile_failed,
                           on_cancel=lambda: panel.set_status("Compilation cancelled."))
        if task is not None:
            self.session.compiled = None
            self.session.keys = None
            panel.keygen_finished(None)
            panel.set_status("Compiling to an FHE circuit\u2026")
            self.showPanel.emit(panel)
            self._status("Compiling the integer model to an FHE circuit with Concrete\u2026")
        return task

    def _on_compiled(self, compiled) -> None:
        experiment = self.session.experiment
        self.session.compiled = compiled
        self.session.dirty = True
        experiment.stats = compiled.stats
        experiment.compiled = compiled
        report = compiled.stats
        self.views.compile.show_report(report)
        self.views.compile.set_status("Compiled: simulate it or run it encrypted in Results.")
        self._result(f"Compiled: {report.accumulator_bits}-bit accumulator, {report.pbs_count} PBS, "
                     f"keys {fmt_key_bytes(report.key_bytes, compressed=False)}. Next: Simulate FHE (Ctrl+M).")
        self._title()
        self.experimentUpdated.emit(experiment, Stage.COMPILED)

    def _on_compile_failed(self, error: TaskError) -> None:
        if isinstance(error.exception, AccumulatorTooWideError):
            self.views.compile.show_estimate(self.session.experiment.integer_model)
        self.views.compile.set_status(f"Compilation failed: {error.message}")

    def _keys_need_a_yes(self, on_yes: Callable[[], object]) -> bool:
        """True (and the question asked) when the circuit's keys are predicted to cost more than
        the app makes without asking; ``on_yes`` starts the work again, confirmed."""
        cache = KeyCache()
        cost = None if self.session.keys is not None else keys_to_make(self.session.compiled, cache)
        if cost is None:
            return False
        problems = key_cost_problems(cost, cache.folder)
        if not problems:
            return False
        self.keysQuestion.emit(
            f"This circuit needs {describe_key_cost(cost)}: {'; '.join(problems)}.\n\nTo make them cheaper, "
            f"{cheaper_settings(self.session.experiment.config)}, then train and compile again.\n\n"
            f"Make these keys anyway?", on_yes)
        return True

    def start_keygen(self, confirmed: bool = False) -> Optional[Task]:
        compiled = self.session.compiled
        if compiled is None:
            self._hint("Compile first: keys belong to a circuit.")
            return None
        if not confirmed and self._keys_need_a_yes(lambda: self.start_keygen(confirmed=True)):
            return None
        panel = self.views.compile
        task = self._start(TaskKind.KEYGEN, jobs.keygen_job(compiled), self._on_phase, self._on_keys,
                           on_failure=lambda error: panel.keygen_finished(None, "Key generation failed."),
                           on_cancel=lambda: panel.keygen_finished(None, "Key generation cancelled."))
        if task is not None:
            self.showPanel.emit(panel)
            panel.keygen_started()
        return task

    def _on_keys(self, keys) -> None:
        self.session.keys = keys
        self.views.compile.keygen_finished(keys)
        experiment = self.session.experiment
        experiment.metrics = dataclasses.replace(experiment.metrics, keygen_s=keys.seconds,
                                                 keygen_from_cache=keys.from_cache)
        self.views.results.show_metrics(experiment.metrics)
        how = "loaded from the cache" if keys.from_cache else "generated"
        self._result(f"Keys {how} in {fmt_seconds(keys.seconds)}. Run encrypted in Results (Ctrl+E).")

    # ------------------------------------------------------------ FHE simulation and encrypted runs
    def start_simulation(self) -> Optional[Task]:
        compiled, experiment = self.session.compiled, self.session.experiment
        if compiled is None:
            self._hint("Compile first: the simulation runs the compiled circuit.")
            return None
        panel, dataset = self.views.results, self.session.dataset
        job = jobs.simulate_job(experiment.metrics, dataset, compiled)
        task = self._start(TaskKind.SIMULATE, job, self._on_simulation_message,
                           lambda outcome: self._on_simulated(outcome, dataset),
                           on_cancel=lambda: panel.simulation_progress(0, 0, ""))
        if task is not None:
            self.showPanel.emit(panel)
            panel.show_boundaries(None, None)
            self._status("FHE simulation of every test point\u2026")
        return task

    def _on_simulation_message(self, message) -> None:
        if isinstance(message, jobs.Progress):
            self.views.results.simulation_progress(message.done, message.total, message.text, message.noun)
            self._status(f"{message.text}: {fmt_progress(message.done, message.total, message.noun)} \u00b7 "
                         f"{fmt_eta(message.eta_s)}")
        elif isinstance(message, jobs.SimulationOutcome):  # the test points are done: the table first
            self.session.experiment.metrics = message.metrics
            self.views.results.show_metrics(message.metrics)

    def _on_simulated(self, outcome: jobs.SimulationOutcome, dataset: Dataset) -> None:
        """``dataset``: the one simulated, whose boundary grid lies on the plane chosen then."""
        experiment = self.session.experiment
        experiment.metrics = outcome.metrics
        self.session.clear_boundary, self.session.fhe_boundary = outcome.clear_boundary, outcome.fhe_boundary
        self.session.dirty = True
        panel = self.views.results
        panel.show_metrics(outcome.metrics)
        axes = tuple(dataset.feature_names[i] for i in dataset.plane)
        panel.show_boundaries(outcome.clear_boundary, outcome.fhe_boundary, outcome.circuit_inputs, axes)
        points = len(dataset.x_test)  # the bar counts the test points again, not the boundary's inputs
        panel.simulation_progress(points, points, "FHE simulation done", "test point")
        m = outcome.metrics
        self._result(f"FHE simulation: {fmt_percent(m.fhe_simulated_accuracy)} accuracy, "
                     f"{fmt_percent(m.agreement_clear_simulated)} agreement with the clear model.")
        self._title()
        self.experimentUpdated.emit(experiment, Stage.SIMULATED)

    def start_encrypted(self, n_samples: int, confirmed: bool = False) -> Optional[Task]:
        compiled, experiment = self.session.compiled, self.session.experiment
        if compiled is None:
            self._hint("Compile first: the encrypted run needs the circuit.")
            return None
        if not confirmed and self._keys_need_a_yes(lambda: self.start_encrypted(n_samples, confirmed=True)):
            return None
        n_samples = max(1, min(int(n_samples), len(self.session.dataset.x_test)))
        job = jobs.encrypted_job(experiment.metrics, self.session.dataset, compiled, n_samples, self.session.keys)
        panel = self.views.results
        task = self._start(TaskKind.ENCRYPTED, job, self._on_encrypted_message, self._on_encrypted,
                           on_failure=lambda error: panel.set_encrypted_text(f"Failed: {error.message}"),
                           on_cancel=self._on_encrypted_cancelled)
        if task is None:
            return None
        self._latencies = []
        self.showPanel.emit(panel)
        panel.encrypted_started(n_samples)
        if self.session.keys is None:
            self.views.compile.keygen_started()
            panel.set_encrypted_text("Generating keys first (or loading them from the cache)\u2026")
        self._status(f"Encrypted run on {plural(n_samples, 'test point')}\u2026")
        return task

    def _on_encrypted_cancelled(self) -> None:
        """Only key generation raises Cancelled: a cancelled run itself returns what it finished."""
        self.views.compile.keygen_finished(None, "Key generation cancelled.")
        self.views.results.set_encrypted_text("Cancelled while generating the keys: nothing ran.")

    def _on_encrypted_message(self, message) -> None:
        if isinstance(message, jobs.KeysReady):
            self._on_keys(message.keys)
        elif isinstance(message, jobs.SampleDone):
            if message.done:
                self._latencies.append(message.seconds)
            self.views.results.show_encrypted_progress(message.done, message.total, self._latencies, message.eta_s)
            self._status(f"Encrypted run: sample {message.done} of {message.total} \u00b7 {fmt_eta(message.eta_s)}")
        elif isinstance(message, jobs.Phase):
            self._status(message.text + "\u2026")

    def _on_encrypted(self, outcome: jobs.EncryptedOutcome) -> None:
        experiment = self.session.experiment
        experiment.metrics = m = outcome.metrics
        self.session.keys = outcome.keys
        self.session.latencies_s = outcome.latencies_s
        self.session.dirty = True
        self.views.results.show_metrics(m)
        self.views.compile.show_latency(m.fhe_latency_s)
        done = m.fhe_executed_samples
        if outcome.cancelled:
            text = f"Cancelled after {plural(done, 'sample')}; their figures are kept."
        else:
            text = f"Done: {plural(done, 'sample')} encrypted, run and decrypted."
        self.views.results.set_encrypted_text(text)  # its figures are in the table above
        if done:
            text += (f" Accuracy {fmt_percent(m.fhe_executed_accuracy)}, agreement with the clear model "
                     f"{fmt_percent(m.agreement_clear_executed)}, latency per sample {fmt_latency(m)}.")
        self._result(text)
        self._title()
        self.experimentUpdated.emit(experiment, Stage.ENCRYPTED)

    # ------------------------------------------------------------ deployment
    def start_deploy(self, n_points: int) -> Optional[Task]:
        compiled, experiment = self.session.compiled, self.session.experiment
        if compiled is None:
            self._hint("Compile first: the server runs the compiled circuit.")
            return None
        points = self.session.dataset.x_test[: max(1, int(n_points))]
        folder = storage.cache_dir() / "deployments" / compiled.key_id
        panel = self.views.deploy
        job = jobs.deploy_job(experiment, compiled, folder, self.server, points)
        task = self._start(TaskKind.DEPLOY, job, self._on_deploy_message, self._on_deployed,
                           on_failure=lambda error: panel.failed(f"Failed: {error.message}"),
                           on_cancel=lambda: panel.failed("Cancelled."))
        if task is not None:
            self.showPanel.emit(panel)
            panel.started(len(points))
            self._status(f"Sending {plural(len(points), 'test point')} through a local server\u2026")
        return task

    def _on_deploy_message(self, message) -> None:
        if isinstance(message, jobs.Phase):
            self.views.deploy.show_phase(message.text)
            self._status(message.text + "\u2026")
        elif isinstance(message, jobs.DeployedSample):
            self.views.deploy.add_sample(message)

    def _on_deployed(self, outcome: jobs.DeployOutcome) -> None:
        self.views.deploy.finished(outcome)
        agree = sum(p.label == c for p, c in zip(outcome.predictions, outcome.clear_labels))
        self._result(f"{plural(len(outcome.predictions), 'point')} classified encrypted by {outcome.url}; "
                     f"{agree} agree with the clear model.")

    def stop_server(self) -> None:
        self.server.stop()
        self.views.deploy.server_stopped()
        self.refresh()

    def export_for_deployment(self, folder: Path) -> Optional[Task]:
        experiment = self.session.experiment
        if experiment is None or experiment.integer_model is None:
            self._hint("Train a model (or open an experiment) before exporting it.")
            return None
        source = self.session.path.name if self.session.path else ""
        job = jobs.export_job(experiment, self.session.compiled, Path(folder), source)
        return self._start(TaskKind.EXPORT, job, self._on_phase,
                           lambda path: self._result(f"Exported for deployment to {Path(path).parent}: "
                                                     f"serve it with 'qatstudio serve {Path(path).parent}'."))

    # ------------------------------------------------------------ importing data
    def import_table(self, path: Path, label_column: str, test_fraction: float,
                     drop_missing: bool = False) -> Optional[Task]:
        """Read the CSV file ``path`` (classes from ``label_column``) off the GUI thread; once read,
        the Configure panel shows it (``test_fraction`` of each class held out). A file that can't
        be imported changes nothing; one with missing values is offered again (``missingValues``)."""
        path = Path(path)
        job = jobs.import_job(path, label_column, drop_missing)
        task = self._start(TaskKind.IMPORT, job, lambda message: self._on_import_message(message, path),
                           lambda imported: self._on_imported(imported, test_fraction),
                           on_failure=lambda error: self._on_import_failed(error, path, label_column, test_fraction))
        if task is not None:
            task.finished.connect(self._offer_without_missing)  # after _finished: the window is idle again
            self._status(f"Importing {path.name}\u2026")
        return task

    def import_refused(self, path: Path, message: str) -> None:
        """``path`` can't be imported, for ``message`` (found before reading it): nothing changes."""
        self.problem.emit(f"Can't import {Path(path).name}", message, "")
        self._hint(f"Can't import {Path(path).name}: {message}")

    def _on_import_message(self, message, path: Path) -> None:
        if isinstance(message, jobs.Progress):
            share = message.done / message.total if message.total else 0.0
            self._status(f"Importing {path.name}: {fmt_percent(share)} \u00b7 {fmt_eta(message.eta_s)}")
        elif isinstance(message, jobs.Phase):
            self._status(message.text + "\u2026")

    def _on_imported(self, imported: ImportedTable, test_fraction: float) -> None:
        data = imported.data_config(test_fraction, self.views.config.config().data.seed)
        rows = len(imported.table.labels)
        self.views.config.set_table(data, rows, imported.rows_dropped)
        dropped = (f", {plural(imported.rows_dropped, 'row')} with missing values left out" if imported.rows_dropped
                   else "")
        self._result(f"Imported {imported.name}: {plural(rows, 'row')}, {plural(data.n_features, 'feature')}, "
                     f"{plural(data.n_classes, 'class', 'classes')}{dropped}. Train on it (Ctrl+T).")

    def _on_import_failed(self, error: TaskError, path: Path, label_column: str, test_fraction: float) -> bool:
        """Rows with missing values are offered to be left out (once the task has ended)."""
        if not isinstance(error.exception, MissingValues):
            return False
        self._missing = MissingRows(path, label_column, test_fraction, error.exception)
        self._result(f"{path.name} has rows with missing values.")
        return True

    def _offer_without_missing(self) -> None:
        missing, self._missing = self._missing, None
        if missing is not None:
            self.missingValues.emit(missing)

    # ------------------------------------------------------------ files
    def open_experiment(self, path: Path) -> Optional[Task]:
        path = Path(path)
        task = self._start(TaskKind.OPEN, jobs.open_job(path), self._on_phase, self._on_opened)
        if task is not None:
            self.fileUsed.emit(path, False)
        return task

    def show_experiment(self, experiment: Experiment, path: Path) -> Optional[Task]:
        """Show ``experiment``, trained, compiled and run encrypted elsewhere (the optimizer's winner),
        as opened from its file ``path``, its circuit and encrypted figures kept."""
        return self._start(TaskKind.OPEN, jobs.open_job(Path(path), experiment), self._on_phase, self._on_opened)

    # ------------------------------------------------------------ this machine's lookup times
    def set_lookup_times(self, times: Optional[LookupTimes]) -> None:
        """This machine's lookup times (None: never measured): what the panels predict cost from."""
        self.views.config.estimate.set_times(times)
        self.views.compile.set_times(times)

    def start_calibration(self) -> Optional[Task]:
        """Time this machine's lookups (about a minute): latency and keys are then predicted."""
        panel = self.views.config.estimate
        task = self._start(TaskKind.CALIBRATE, jobs.calibration_job(), self._on_calibration_message, self._on_calibrated,
                           on_failure=lambda error: panel.measure_finished(None, f"Timing failed: {error.message}"),
                           on_cancel=lambda: panel.measure_finished(None, "Timing cancelled: nothing was kept."))
        if task is not None:
            panel.measure_started()
            self._status("Timing lookups of each precision on this machine (about a minute)\u2026")
        return task

    def _on_calibration_message(self, message) -> None:
        if isinstance(message, jobs.Progress):
            self.views.config.estimate.measure_progress(message.done, message.total, message.eta_s)
            self._status(f"{message.text}: {fmt_progress(message.done, message.total, message.noun)} \u00b7 "
                         f"{fmt_eta(message.eta_s)}")

    def _on_calibrated(self, times: LookupTimes) -> None:
        self.views.config.estimate.measure_finished(times)
        self.set_lookup_times(times)
        self._result("Lookups timed on this machine: Configure predicts latency and keys from them.")

    def _on_opened(self, opened: jobs.OpenedExperiment) -> None:
        experiment, dataset, v = opened.experiment, opened.dataset, self.views
        self.session = jobs.Session(experiment=experiment, dataset=dataset,
                                    test_predictions=opened.test_predictions, path=opened.path)
        if experiment.config.data.is_table:
            v.config.note_table_rows(experiment.config.data, len(dataset.y_train) + len(dataset.y_test), None)
        v.config.set_config(experiment.config)
        v.plots.load(experiment.step_losses, experiment.history, experiment.kept_record, dataset,
                     opened.test_predictions)
        kept = experiment.kept_record
        v.controls.finish(f"Opened: kept epoch {kept.epoch if kept else '-'}"
                          f"{' (stopped early)' if experiment.cancelled else ''}.", complete=True)
        v.results.clear(len(dataset.x_test), dataset.class_names)
        v.results.show_metrics(experiment.metrics)
        v.results.set_encrypted_text("Compile again to run FHE: circuits and keys are not saved.")
        v.compile.clear("Train a model, then compile it.")
        if experiment.compiled is not None:  # compiled and run encrypted where it was made (the optimizer)
            self.session.compiled = experiment.compiled
            self.session.dirty = True  # its circuit's figures and encrypted run are not in its file
            v.compile.show_report(experiment.stats)
            v.compile.show_latency(experiment.metrics.fhe_latency_s)
            v.compile.set_status("Compiled and run encrypted by the optimizer: simulate or run it again in Results.")
            m = experiment.metrics
            v.results.set_encrypted_text(f"{plural(m.fhe_executed_samples, 'sample')} run encrypted by the optimizer, "
                                         f"latency per sample {fmt_latency(m)}.")
        elif experiment.stats is not None:
            v.compile.show_report(experiment.stats, note="as saved")
            v.compile.set_status("Compile report as saved; compile again to simulate or run encrypted.")
        elif experiment.integer_model is not None:
            self._show_estimate(experiment)
        self.fileUsed.emit(opened.path, True)
        self._result(f"Opened {opened.path.name}.")
        self._title()
        self.experimentUpdated.emit(experiment, Stage.OPENED)
        if experiment.metrics.fhe_executed_samples:
            self.experimentUpdated.emit(experiment, Stage.ENCRYPTED)  # its history record gains the measured figures
        self._draw_plane()

    def save_experiment_to(self, path: Path) -> Optional[Path]:
        experiment = self.session.experiment
        if experiment is None:
            self._hint("Nothing to save yet: train a model first.")
            return None
        path = Path(path)
        if path.suffix != SUFFIX:
            path = path.with_name(path.name + SUFFIX)
        try:
            save_experiment(path, experiment)
        except (OSError, ValueError, RuntimeError) as error:
            self.problem.emit("Can't save the experiment", f"{path}: {error}", "")
            return None
        self.session.path = path
        self.session.dirty = False
        self.fileUsed.emit(path, True)
        self._result(f"Saved {path}.")
        self._title()
        return path

    def export_plots(self, path: Path) -> list[Path]:
        """The training plots to ``path``; the compile chart and the boundaries beside it when shown."""
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_name(path.name + ".png")
        written = []
        try:
            written.append(self.views.plots.export_png(path))
            for panel, suffix in ((self.views.compile, "compile"), (self.views.results, "boundaries")):
                target = panel.export_png(path.with_name(f"{path.stem}-{suffix}.png"))
                if target is not None:
                    written.append(target)
        except OSError as error:
            self.problem.emit("Can't export the plots", str(error), "")
        self.fileUsed.emit(path, False)
        self._result("Exported " + ", ".join(p.name for p in written) + f" to {path.parent}.")
        return written
