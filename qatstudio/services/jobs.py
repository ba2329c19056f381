"""The window's long-running work, as plain functions of (TaskState, report) -> result.

Qt-free: every job only composes calls into ``qatstudio.engine`` and reports small message objects
through ``report``; ``workers.py`` runs a job on a QThread and turns ``report`` into a Qt signal.
Step events are coalesced here (at most one message every ``STEP_REPORT_S``), so a fast training
loop never floods the GUI thread with one queued signal per optimizer step. The window's training
runs in a child process (``training_process``, ``job_process.py``): that thread only relays it.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from ..engine.cancel import Cancelled
from ..engine.config import ExperimentConfig
from ..engine.cost import LookupTimes
from ..engine.data import Dataset, Table, make_dataset
from ..engine.evaluate import Metrics, evaluate_encrypted, evaluate_simulated
from ..engine.fhe import CompiledModel, KeygenResult
from ..engine.pipeline import Experiment, compile_for, measured_experiment
from ..engine.training import Epoch, Step, predict, train
from .calibration import calibrate
from .datasets import TableStore
from .deploy.export import client_scaling, export_bundle
from .deploy.local import LocalServer
from .deploy.protocol import API
from .experiment_file import load_experiment
from .formatting import fmt_bytes, plural, remaining_seconds
from .job_process import JobProcess
from .key_budget import keygen_progress, keys_to_make
from .keys import KeyCache
from .tabular import ImportedTable, read_table
from .tasks import TaskState

Tell = Callable[[object], None]
Job = Callable[[TaskState, Tell], object]

STEP_REPORT_S = 0.1  # coalesce optimizer steps into one message per 100 ms (the redraw period)


# ---------------------------------------------------------------- messages (worker -> window)

@dataclass
class StepBatch:
    """Losses of the optimizer steps ``first_step .. first_step + len(losses) - 1`` (1-based)."""

    first_step: int
    losses: list[float]
    step: int
    total_steps: int
    epoch: int
    elapsed_s: float
    eta_s: float
    epochs: int  # of the restart under way
    restart: int  # 0-based
    restarts: int


@dataclass
class DataReady:
    """The data set is made: the test points can be drawn before the first epoch ends."""

    x_test: np.ndarray
    y_test: np.ndarray
    ceiling_accuracy: Optional[float]  # None for a table


@dataclass
class EpochUpdate:
    epoch: Epoch  # the engine's event, with the decision boundary
    test_predictions: np.ndarray  # the model's class for every test point at the end of the epoch


@dataclass
class Phase:
    text: str  # what the job does now, in words


@dataclass
class Progress:
    done: int
    total: int
    text: str
    eta_s: float = math.nan
    noun: str = ""  # what is counted, one of it ("test point"); empty for a share in percent


@dataclass
class SampleDone:
    done: int
    total: int
    seconds: float
    eta_s: float


@dataclass
class KeysReady:
    keys: KeygenResult


# ---------------------------------------------------------------- results

@dataclass
class TrainOutcome:
    experiment: Optional[Experiment]  # None when stopped before the first epoch ended
    dataset: Dataset
    test_predictions: Optional[np.ndarray]
    stopped_early: bool
    epochs_completed: int


@dataclass
class SimulationOutcome:
    metrics: Metrics
    clear_boundary: Optional[np.ndarray]  # class of the integer model in the clear over the grid
    fhe_boundary: Optional[np.ndarray]  # class from Concrete's FHE simulation over the same grid
    circuit_inputs: int  # distinct integer inputs the grid maps to (each simulated once)


@dataclass
class EncryptedOutcome:
    metrics: Metrics
    keys: KeygenResult
    latencies_s: list[float]
    cancelled: bool


@dataclass
class OpenedExperiment:
    experiment: Experiment
    dataset: Dataset
    test_predictions: Optional[np.ndarray]
    path: Path


@dataclass
class DeployedSample:
    done: int
    total: int
    prediction: object  # qatstudio.services.deploy.client.Prediction
    clear_label: int


@dataclass
class DeployOutcome:
    url: str
    key_id: str
    uploaded_bytes: int  # 0 when the server already held the keys
    predictions: list  # qatstudio.services.deploy.client.Prediction, in order
    clear_labels: list[int]
    observed: list[dict]  # what the server saw (GET /v1/observed)


# ---------------------------------------------------------------- the jobs

def train_job(config: ExperimentConfig, tables: TableStore, beside: Optional[JobProcess] = None) -> Job:
    """Train ``config`` (a table's rows from ``tables``); then quantize the model and measure it in the clear.

    Stop keeps what was learned: a model stopped after at least one epoch is quantized and
    evaluated like a finished one. With ``beside`` (see ``training_process``) the work runs in that
    child process, sent the table's rows with the configuration; the data set, the messages and the
    outcome are the same.
    """
    config = config.replace()

    def run(state: TaskState, tell: Tell) -> TrainOutcome:
        dataset = tables.dataset_for(config.data)
        tell(DataReady(dataset.x_test, dataset.y_test, dataset.ceiling_accuracy))
        if beside is None:
            return _trained(config, dataset, state, tell)
        if not beside.is_ready():
            tell(Phase("Starting the training process"))
        table = tables.table_for(config.data) if config.data.is_table else None
        outcome = beside.run(_train_beside, (config, table, torch.get_num_threads()), state, tell)
        return _restored(outcome, dataset)

    return run


def _trained(config: ExperimentConfig, dataset: Dataset, state: TaskState, tell: Tell) -> TrainOutcome:
    """The training job's work: train, telling coalesced steps and every evaluation; then measure."""
    losses: list[float] = []
    sent = 0
    last_sent = time.monotonic()
    last_step: list[Optional[Step]] = [None]

    def flush() -> None:
        nonlocal sent, last_sent
        step = last_step[0]
        if step is None or len(losses) == sent:
            return
        active = max(step.elapsed_s - state.paused_seconds(), 1e-9)
        eta = remaining_seconds(active, step.step, step.total_steps)
        tell(StepBatch(sent + 1, losses[sent:], step.step, step.total_steps, step.epoch, active, eta,
                       step.epochs, step.restart, step.restarts))
        sent = len(losses)
        last_sent = time.monotonic()

    def on_event(event) -> None:
        if isinstance(event, Step):
            losses.append(event.loss)
            last_step[0] = event
            if time.monotonic() - last_sent >= STEP_REPORT_S:
                flush()
        elif isinstance(event, Epoch):
            flush()
            tell(EpochUpdate(event, event.test_predictions))

    result = train(config, dataset, on_event, state.should_stop)
    flush()
    if not result.history:
        return TrainOutcome(None, dataset, None, True, 0)
    tell(Phase("Quantizing the trained model and measuring it in the clear"))
    experiment = measured_experiment(config, dataset, result, losses)
    return TrainOutcome(experiment, dataset, predict(result.model, dataset.x_test),
                        result.cancelled, len(result.history))


# What the training process imports as it starts (brevitas takes seconds beyond torch).
TRAINING_PRELOAD = ("qatstudio.services.jobs", "brevitas.nn")


TRAINING_NICE = 10  # below the window's priority: with the cores all busy, the GUI thread runs first


def training_process() -> JobProcess:
    """The child process a window trains in (``train_job``'s ``beside``): start it ahead, close it last."""
    return JobProcess(TRAINING_PRELOAD, name="qatstudio-training", nice=TRAINING_NICE)


@dataclass
class _Weights:
    """A model as it crosses between processes (Brevitas' quantizers don't pickle): its class and weights."""

    kind: type
    state: dict

    def module(self, config: ExperimentConfig) -> nn.Module:
        model = self.kind.for_config(config)
        model.load_state_dict(self.state)
        return model.eval()


def _train_beside(state, tell: Tell, config: ExperimentConfig, table: Optional[Table], threads: int) -> TrainOutcome:
    """``train_job``'s work in the training process: the parent's torch threads and its table's rows
    (None: a generated shape), the outcome with its models as ``_Weights`` and without the data set
    (the parent has its own)."""
    torch.set_num_threads(threads)
    outcome = _trained(config, make_dataset(config.data, table), state, tell)
    experiment = outcome.experiment
    if experiment is not None:
        shared = experiment.brevitas_model is experiment.trained_model
        experiment = dataclasses.replace(
            experiment, trained_model=_Weights(type(experiment.trained_model), experiment.trained_model.state_dict()),
            brevitas_model=None if shared else _Weights(type(experiment.brevitas_model),
                                                        experiment.brevitas_model.state_dict()))
    return dataclasses.replace(outcome, experiment=experiment, dataset=None)


def _restored(outcome: TrainOutcome, dataset: Dataset) -> TrainOutcome:
    """The outcome ``_train_beside`` sent, its models built again here, on this process's data set."""
    experiment = outcome.experiment
    if experiment is not None:
        config = experiment.config
        trained = experiment.trained_model.module(config)
        brevitas = trained if experiment.brevitas_model is None else experiment.brevitas_model.module(config)
        brevitas.set_round_bits([layer.round_bits for layer in experiment.integer_model.layers[:-1]])
        experiment = dataclasses.replace(experiment, trained_model=trained, brevitas_model=brevitas)
    return dataclasses.replace(outcome, experiment=experiment, dataset=dataset)


def compile_job(experiment: Experiment) -> Job:
    quantized, config = experiment.integer_model, experiment.config

    def run(state: TaskState, tell: Tell) -> CompiledModel:
        tell(Phase("Compiling the integer model to an FHE circuit"))
        compiled = compile_for(config, quantized)  # one native call: can't be interrupted
        state.raise_if_cancelled()
        return compiled

    return run


def keygen_job(compiled: CompiledModel) -> Job:
    def run(state: TaskState, tell: Tell) -> KeygenResult:
        return _keys_with_progress(compiled, state, tell)

    return run


def _keys_with_progress(compiled: CompiledModel, state: TaskState, tell: Tell) -> KeygenResult:
    """The circuit's keys from the cache, or made in a child process while a Phase message says
    every second how long it has taken and how long it is predicted to take."""
    cache = KeyCache()
    cost = keys_to_make(compiled, cache)
    if cost is None:
        tell(Phase("Loading the FHE keys from the key cache"))
        return cache.keys_for_cancellable(compiled, state.should_stop)
    start = time.monotonic()
    last = [-1]

    def poll() -> bool:
        elapsed = time.monotonic() - start
        if int(elapsed) != last[0]:
            last[0] = int(elapsed)
            tell(Phase(f"Generating the FHE keys ({fmt_bytes(cost.key_bytes)}): {keygen_progress(cost, elapsed)}"))
        return state.should_stop()

    return cache.keys_for_cancellable(compiled, poll)


class _CountingPoll:
    """A ``should_stop`` that also reports progress: the engine polls it once before each row."""

    def __init__(self, state: TaskState, tell: Tell, total: int, text: str, noun: str):
        self.state, self.tell, self.total, self.text, self.noun = state, tell, total, text, noun
        self.calls = 0
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self) -> bool:
        done = self.calls
        self.calls += 1
        now = time.monotonic()
        if now - self.last >= 0.1 or done == 0:
            self.last = now
            eta = remaining_seconds(now - self.start, done, self.total)
            self.tell(Progress(done, self.total, self.text, eta, self.noun))
        return self.state.should_stop()


def simulate_job(metrics: Metrics, dataset: Dataset, compiled: CompiledModel, boundary: bool = True) -> Job:
    """FHE simulation on every test point, then (optionally) over the boundary grid.

    The grid is mapped to the circuit's integer inputs first, and each distinct input is
    simulated once: a 100x100 grid at 3 bits is only a handful of circuit inputs.
    """
    metrics = dataclasses.replace(metrics)

    def run(state: TaskState, tell: Tell) -> SimulationOutcome:
        total = len(dataset.x_test)
        evaluate_simulated(metrics, dataset, compiled,
                           _CountingPoll(state, tell, total, "FHE simulation of the test points", "test point"))
        tell(SimulationOutcome(dataclasses.replace(metrics), None, None, 0))  # the table first
        if not boundary:
            return SimulationOutcome(metrics, None, None, 0)
        distinct = len(np.unique(compiled.model.quantize_inputs(dataset.grid), axis=0))
        poll = _CountingPoll(state, tell, distinct, "FHE simulation of the decision boundary", "boundary input")
        classes, simulated = compiled.predict_simulated(dataset.grid, poll)
        fhe_boundary = classes.reshape(dataset.grid_shape)
        clear_boundary = compiled.model.predict(dataset.grid).reshape(dataset.grid_shape)
        return SimulationOutcome(metrics, clear_boundary, fhe_boundary, simulated)

    return run


def encrypted_job(
    metrics: Metrics, dataset: Dataset, compiled: CompiledModel, n_samples: int, keys: Optional[KeygenResult]
) -> Job:
    """Real encrypt-run-decrypt on the first ``n_samples`` test points (keys first if needed)."""
    metrics = dataclasses.replace(metrics)

    def run(state: TaskState, tell: Tell) -> EncryptedOutcome:
        nonlocal keys
        if keys is None:
            keys = _keys_with_progress(compiled, state, tell)
            tell(KeysReady(keys))
        tell(Phase(f"Running {plural(n_samples, 'test point')} encrypted"))
        tell(SampleDone(0, n_samples, math.nan, math.nan))
        latencies: list[float] = []

        def on_sample(done: int, total: int, seconds: float) -> None:
            latencies.append(seconds)
            tell(SampleDone(done, total, seconds, remaining_seconds(sum(latencies), done, total)))

        evaluate_encrypted(metrics, dataset, compiled, n_samples, keys, state.should_stop, on_sample)
        return EncryptedOutcome(metrics, keys, latencies, state.is_cancelled)

    return run


def export_job(experiment: Experiment, compiled: Optional[CompiledModel], folder: Path, source: str,
               tables: TableStore) -> Job:
    def run(state: TaskState, tell: Tell) -> Path:
        tell(Phase(f"Exporting for deployment to {folder}"))
        return export_bundle(experiment, folder, tables, source, compiled)

    return run


def deploy_job(experiment: Experiment, compiled: CompiledModel, folder: Path, server: LocalServer,
               points: np.ndarray, tables: TableStore) -> Job:
    """Export into ``folder``, (re)start ``server`` on it, then send ``points`` (in the model's space,
    like the data set's) through it as a client: as their raw feature values, which the client scales."""
    from .deploy.client import EncryptedClient

    def run(state: TaskState, tell: Tell) -> DeployOutcome:
        scaling = client_scaling(experiment.config, tables)
        raw = scaling.invert(points) if scaling else np.asarray(points)
        model_points = scaling.apply(raw) if scaling else raw  # exactly what the client will quantize
        if not server.running or server.folder != Path(folder):
            server.stop()
            tell(Phase("Exporting the circuit for the server"))
            export_bundle(experiment, folder, tables, "the window's run", compiled)
            server.folder = Path(folder)
            tell(Phase("Starting the local server"))
            server.start(should_stop=state.should_stop)
        with EncryptedClient(server.url) as client:
            tell(Phase("Loading or making the client's keys (they stay on this side)"))
            client.ensure_keys()
            state.raise_if_cancelled()
            tell(Phase("Uploading the evaluation keys to the server"))
            upload = client.ensure_uploaded()
            clear = [int(label) for label in experiment.integer_model.predict(model_points)]
            tell(Phase(f"Sending {plural(len(raw), 'encrypted point')}"))

            predictions = []

            def on_sample(done: int, total: int, prediction) -> None:
                predictions.append(prediction)
                tell(DeployedSample(done, total, prediction, clear[done - 1]))

            try:
                client.predict(raw, state.should_stop, on_sample)
            except Cancelled:  # keep the points already done
                pass
            observed = client.http.get(f"{API}/observed").json()["payloads"]
        return DeployOutcome(server.url, upload.key_id, upload.sent_bytes, predictions,
                             clear[: len(predictions)], observed)

    return run


def import_job(path: Path, label_column: str, tables: TableStore, drop_missing: bool = False) -> Job:
    """Read a CSV file into a table (``tabular.read_table``) and keep its rows in ``tables``.

    Progress goes out as ``Progress`` in percent; a file that can't be used raises
    ``tabular.TableError`` (``MissingValues`` when dropping rows would help) and keeps nothing.
    """
    path = Path(path)

    def run(state: TaskState, tell: Tell) -> ImportedTable:
        tell(Phase(f"Importing {path.name}"))
        start = time.monotonic()
        last = [0.0]

        def on_progress(fraction: float) -> None:
            now = time.monotonic()
            if now - last[0] >= STEP_REPORT_S or fraction >= 1.0:
                last[0] = now
                eta = remaining_seconds(now - start - state.paused_seconds(), fraction, 1.0)
                tell(Progress(int(100 * fraction), 100, f"Reading {path.name}", eta))

        imported = read_table(path, label_column, drop_missing, on_progress, state.should_stop)
        tables.remember(imported)
        return imported

    return run


def open_job(path: Path, tables: TableStore, experiment: Optional[Experiment] = None) -> Job:
    """Open the experiment file ``path`` (the rows it stores for a table kept in ``tables``); or show
    ``experiment``, made elsewhere and still in memory with its circuit and encrypted figures (the
    optimizer's winner), as opened from that file."""
    def run(state: TaskState, tell: Tell) -> OpenedExperiment:
        tell(Phase(f"Opening {Path(path).name}"))
        opened = experiment or load_experiment(path, tables)
        dataset = tables.dataset_for(opened.config.data)
        predictions = predict(opened.trained_model, dataset.x_test) if opened.history else None
        return OpenedExperiment(opened, dataset, predictions, Path(path))

    return run


def calibration_job() -> Job:
    """Time this machine's lookups and keep them (``calibration.calibrate``), telling ``Progress``
    after each circuit."""
    def run(state: TaskState, tell: Tell) -> LookupTimes:
        start = time.monotonic()

        def progress(done: int, total: int) -> None:
            eta = remaining_seconds(time.monotonic() - start, done, total)
            tell(Progress(done, total, "Timing lookups", eta, "circuit"))

        times = calibrate(progress, state.should_stop)
        if times is None:
            raise Cancelled()
        return times

    return run
