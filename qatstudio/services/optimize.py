"""The cheapest circuit that keeps the accuracy, found for the user.

The search tries configurations over the engine's levers (hidden layers, none for a linear model;
neurons; bits; pruning budget; an A2Q+ accumulator target) on the user's data, on Dask like a sweep
(every candidate lands in the history), and scores each on validation. The default recipe runs
first and sets the accuracy to keep; the candidates follow, cheapest predicted first. One is skipped
once the cost model says it can't be cheaper than the cheapest so far within the tolerance of the
best validation accuracy. The winner is compiled, given keys and run encrypted on a few test
samples: its measured latency is reported beside the prediction.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..engine.config import ExperimentConfig
from ..engine.cost import LayerLookups, LookupTimes, estimate_circuit
from ..engine.evaluate import evaluate_encrypted, evaluate_simulated
from ..engine.pipeline import Experiment, compile_for, run_experiment
from .calibration import lookup_times
from .cluster import ClusterSettings, open_cluster
from .datasets import TableStore
from .experiment_file import load_experiment
from .formatting import remaining_seconds, run_name
from .history import History, RunRecord, pareto_front
from .keys import KeyCache
from .results import figures_row, result_row
from .search_space import ENCRYPTED_SAMPLES, TOLERANCE, SearchSpace, search_plan
from .sweep import RunDone, RunFailed, SweepResult, run_on_cluster, run_one
from .tasks import TaskState

def least_latency_s(config: ExperimentConfig, times: LookupTimes) -> float:
    """The least any trained model of ``config`` can cost: one lookup per hidden neuron, of the
    narrowest precision measured (the worst case, ``estimate_circuit``, orders the search)."""
    neurons = config.neurons_kept or config.n_hidden
    return times.latency_s([LayerLookups(neurons, min(times.first_s))] * config.n_layers)


@dataclass
class Tried:
    """A candidate trained, compiled and scored (its record is in the history)."""

    record: RunRecord
    predicted_latency_s: float  # of its compiled circuit, from this machine's lookup times

    @property
    def validation_accuracy(self) -> float:
        return self.record.metrics.validation_accuracy or 0.0

    def row(self) -> dict:
        """The candidate's figures, with the keys of ``train --json``, and its predicted latency."""
        return {"name": self.record.label, **figures_row(self.record.config, self.record.metrics, self.record.stats),
                "predicted_latency_s": self.predicted_latency_s}


@dataclass
class OptimizeProgress:
    tried: int
    to_try: int  # candidates still in the search (fewer as the cost model rules them out)
    best_validation: Optional[float]
    leader: Optional[Tried]  # the cheapest within the tolerance so far
    elapsed_s: float

    @property
    def eta_s(self) -> Optional[float]:
        """At most this long still (the cost model may rule out more), from the time per candidate."""
        return remaining_seconds(self.elapsed_s, self.tried, self.tried + self.to_try) if self.tried else None


@dataclass
class MeasuringWinner:
    """The search is over: the winner is being compiled, given keys and run encrypted."""

    winner: Tried
    samples: int


@dataclass
class OptimizeResult:
    tried: list[Tried] = field(default_factory=list)
    ruled_out: int = 0  # candidates the cost model skipped
    failures: list[RunFailed] = field(default_factory=list)
    best_validation: Optional[float] = None
    winner: Optional[Tried] = None
    experiment: Optional[Experiment] = None  # the winner, compiled and run encrypted
    search_s: float = 0.0
    cancelled: bool = False

    @property
    def front(self) -> list[Tried]:
        """The Pareto front: no other candidate is both cheaper and more accurate on validation."""
        points = [(t.predicted_latency_s, t.validation_accuracy) for t in self.tried]
        return [self.tried[i] for i in pareto_front(points)]

    def to_json(self) -> dict:
        winner = None
        if self.winner is not None:
            winner = result_row(self.experiment) if self.experiment is not None else self.winner.row()
            winner.update(name=self.winner.record.label, predicted_latency_s=self.winner.predicted_latency_s,
                          measured_latency_s=winner.get("latency_s"))
        return {"front": [t.row() for t in self.front], "winner": winner, "tried": len(self.tried),
                "ruled_out": self.ruled_out, "best_validation_accuracy": self.best_validation,
                "search_s": self.search_s, "cancelled": self.cancelled}


def leader(tried: list[Tried], tolerance: float) -> tuple[Optional[float], Optional[Tried]]:
    """The best validation accuracy, and the cheapest candidate within ``tolerance`` of it (ties:
    the smaller keys, then the more accurate)."""
    if not tried:
        return None, None
    best = max(t.validation_accuracy for t in tried)
    within = [t for t in tried if t.validation_accuracy >= best - tolerance - 1e-12]
    return best, min(within, key=lambda t: (t.predicted_latency_s, t.record.stats.key_bytes, -t.validation_accuracy))


Tell = Callable[[object], None]


def optimize(
    base: ExperimentConfig,
    tables: TableStore,
    history: Optional[History] = None,
    tell: Optional[Tell] = None,
    should_stop: Optional[Callable[[], bool]] = None,
    cluster: Optional[ClusterSettings] = None,
    tolerance: float = TOLERANCE,
    space: SearchSpace = SearchSpace(),
    encrypted_samples: int = ENCRYPTED_SAMPLES,
    times: Optional[LookupTimes] = None,
    keys: Optional[KeyCache] = None,
) -> OptimizeResult:
    """Search ``space`` on ``base``'s data (a table's rows in ``tables``) for the cheapest circuit
    within ``tolerance`` of the best validation accuracy; then compile the winner, make its keys and
    time ``encrypted_samples`` encrypted test samples. ``tell`` receives ClusterReady,
    OptimizeProgress, RunDone, RunFailed and MeasuringWinner."""
    stop = should_stop or (lambda: False)
    tell = tell or (lambda message: None)
    history = history or History()
    times = times or lookup_times(should_stop=stop)
    result = OptimizeResult()
    if times is None:
        result.cancelled = True
        return result
    # The default recipe goes first: it sets the accuracy the cheap candidates must keep.
    reference, *others = search_plan(base, space)
    pool = [reference] + sorted(others, key=lambda c: _order(c, times))
    start = time.perf_counter()
    # Candidates are scored on validation (the integer model is the circuit's twin: no simulation
    # needed) and keep their experiment files, so the winner opens as a run.
    run = functools.partial(run_one, simulate=False, runs_folder=str(history.runs_folder))
    with open_cluster(cluster or ClusterSettings()) as (client, ready):
        tell(ready)
        wave_size = 2 * max(1, ready.workers)
        while pool and not stop():
            best, lead = leader(result.tried, tolerance)
            kept = [c for c in pool if lead is None or least_latency_s(c, times) < lead.predicted_latency_s]
            result.ruled_out += len(pool) - len(kept)
            pool = kept
            tell(OptimizeProgress(len(result.tried), len(pool), best, lead, time.perf_counter() - start))
            wave, pool = pool[:wave_size], pool[wave_size:]
            batch = SweepResult()
            run_on_cluster(client, wave, tables, batch, history, _forward(tell), stop, run)
            result.tried += [Tried(r, times.circuit_latency_s(r.stats)) for r in batch.records if r.stats]
            result.failures += batch.failures
    result.search_s = time.perf_counter() - start
    result.best_validation, result.winner = leader(result.tried, tolerance)
    tell(OptimizeProgress(len(result.tried), 0, result.best_validation, result.winner, result.search_s))
    result.cancelled = stop()
    if result.winner is not None and not result.cancelled and encrypted_samples:
        tell(MeasuringWinner(result.winner, encrypted_samples))
        result.experiment = measure_winner(result.winner, tables, encrypted_samples, stop, keys or KeyCache())
    return result


def _order(config: ExperimentConfig, times: LookupTimes) -> tuple:
    estimate = estimate_circuit(config, times)
    return estimate.latency_s, estimate.key_bytes, config.n_hidden * config.n_layers


def _forward(tell: Tell) -> Tell:
    """A wave's messages the caller wants: each candidate done or failed (not the wave's own counts)."""
    def forward(message) -> None:
        if isinstance(message, (RunDone, RunFailed)):
            tell(message)
    return forward


def measure_winner(winner: Tried, tables: TableStore, samples: int, should_stop: Callable[[], bool],
                   keys: KeyCache) -> Experiment:
    """The winner opened from its file (trained again when its worker's file is out of reach),
    compiled, simulated on the test points, given keys from the cache, and run encrypted on
    ``samples`` test samples."""
    path = winner.record.experiment_path
    config = winner.record.config
    dataset = tables.dataset_for(config.data)
    if path and Path(path).exists():
        experiment = load_experiment(Path(path), tables)
        experiment.compiled = compile_for(config, experiment.integer_model)
        experiment.stats = experiment.compiled.stats
        evaluate_simulated(experiment.metrics, dataset, experiment.compiled, should_stop)
    else:
        experiment = run_experiment(config, dataset, should_stop=should_stop)
    made = keys.keys_for_cancellable(experiment.compiled, should_stop)
    evaluate_encrypted(experiment.metrics, dataset, experiment.compiled, samples, made, should_stop)
    return experiment


def optimize_job(base: ExperimentConfig, tables: TableStore, history: History, cluster: ClusterSettings,
                 tolerance: float = TOLERANCE,
                 space: SearchSpace = SearchSpace()) -> Callable[[TaskState, Tell], OptimizeResult]:
    """The whole search as a job for a worker thread: it tells its messages and stops on cancel."""

    def job(state: TaskState, tell: Tell) -> OptimizeResult:
        return optimize(base, tables, history, tell, state.should_stop, cluster, tolerance, space)

    return job


def describe_winner(result: OptimizeResult) -> str:
    """The search's outcome in a sentence (the window's and the command line's)."""
    if result.winner is None:
        return "No candidate finished: nothing to recommend."
    return f"The cheapest within the tolerance: {run_name(result.winner.record.config)}."
