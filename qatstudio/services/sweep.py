"""Sweeps: every combination of neurons, bit-width, pruning budget and seed, run on Dask's
distributed scheduler (see ``cluster.py``) and fed to the history.

Workers receive configurations, and a table's rows once per worker (a generated shape is made from
its configuration on the worker). The submitting side writes every finished run to the history at
once, in the order runs finish. A worker that dies costs the run it was running a retry (a second
death fails it); if it held the last copy of the table's rows, they are sent again and the runs that
needed them run again. Each run done again is told (``RunRedone``).
"""
from __future__ import annotations

import dataclasses
import itertools
import threading
import time
import uuid
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..engine.cancel import Cancelled
from ..engine.config import BOUNDS, ExperimentConfig, ModelKind
from ..engine.data import Table
from ..engine.pipeline import run_experiment
from .cluster import ALLOWED_FAILURES, ClusterSettings, open_cluster
from .datasets import TableNotLoaded, TableStore
from .experiment_file import SUFFIX, save_experiment
from .formatting import fmt_budget, remaining_seconds, run_name
from .history import History, RunRecord
from .ranges import SweepRanges, parse_values
from .tasks import TaskState

POLL_S = 0.1  # how often the submitting side looks for finished runs and a cancel
REJOIN_S = 120.0  # a table's rows lost with their worker wait this long for a worker to take them again


@dataclass
class SweepPlan:
    base: ExperimentConfig
    neurons: list[int]
    bits: list[int]
    budgets: list[Optional[int]]  # None = no pruning
    seeds: list[int]

    def configs(self) -> tuple[list[ExperimentConfig], list[str]]:
        """The valid configurations, and a reason for each combination skipped."""
        configs, skipped = [], []
        for n_hidden, bits, budget, seed in itertools.product(self.neurons, self.bits, self.budgets, self.seeds):
            config = self.base.replace(n_hidden=n_hidden, bits=bits, pruning_budget=budget, seed=seed)
            problems = config.problems()
            if problems:
                skipped.append(f"{n_hidden} neurons, {bits} bits, pruning {fmt_budget(budget)}: "
                               f"{'; '.join(problems)}")
            else:
                configs.append(config)
        return configs, skipped


def parse_plan(base: ExperimentConfig, ranges: SweepRanges,
               tables: TableStore) -> tuple[Optional[SweepPlan], list[str]]:
    """A plan from the ranges as written over ``base``; None and the reasons in words when a range
    can't be read, or when ``tables`` doesn't hold the rows of ``base``'s table."""
    neuron_values, p1 = parse_values(ranges.neurons, BOUNDS["n_hidden"], "hidden neurons")
    bit_values, p2 = parse_values(ranges.bits, BOUNDS["bits"], "bit-widths")
    budget_values, p3 = parse_values(ranges.budgets, BOUNDS["pruning_budget"], "pruning budgets")
    seed_values, p4 = parse_values(ranges.seeds, BOUNDS["seed"], "seeds")
    problems = p1 + p2 + p3 + p4
    if base.data.is_table:
        try:
            tables.table_for(base.data)
        except TableNotLoaded as error:
            problems.append(str(error))
    if problems:
        return None, problems
    base = base.replace(pruning_budget=None)  # each combination has its own
    if base.kind is ModelKind.FLOAT:  # a float model has no target accumulator
        base = base.replace(accumulator_bits=None)
    return SweepPlan(base, neuron_values, bit_values, budget_values, seed_values), []


@dataclass
class SweepProgress:
    queued: int
    running: int
    done: int
    failed: int
    total: int
    elapsed_s: float

    @property
    def finished(self) -> int:
        return self.done + self.failed

    @property
    def eta_s(self) -> Optional[float]:
        return remaining_seconds(self.elapsed_s, self.finished, self.total) if self.finished else None


@dataclass
class RunDone:
    record: RunRecord  # already in the history


@dataclass
class RunFailed:
    label: str
    reason: str


@dataclass
class RunRedone:
    label: str
    reason: str  # why it runs again, in words


@dataclass
class SweepResult:
    records: list[RunRecord] = field(default_factory=list)
    failures: list[RunFailed] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cancelled: bool = False


Tell = Callable[[object], None]  # receives ClusterReady, SweepProgress, RunDone, RunRedone and RunFailed
RunOne = Callable[..., Optional[RunRecord]]


# ---------------------------------------------------------------- one run (on a worker)

def run_one(config: ExperimentConfig, tables: TableStore, should_stop: Optional[Callable[[], bool]] = None,
            simulate: bool = True, runs_folder: Optional[str] = None) -> Optional[RunRecord]:
    """Train, compile and (``simulate``) simulate one configuration (a table's rows in ``tables``);
    None when stopped before the end. With ``runs_folder``, the experiment file is kept there too,
    so the run opens again."""
    try:
        experiment = run_experiment(config, tables.dataset_for(config.data), should_stop=should_stop,
                                    simulate=simulate)
    except Cancelled:
        return None
    if experiment.cancelled:
        return None
    record = RunRecord.from_experiment(experiment)
    if runs_folder is not None:
        path = Path(runs_folder) / f"{record.id}{SUFFIX}"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_experiment(path, experiment, tables)
        record.experiment_path = str(path)
    return record


_stopped_sweeps: set[str] = set()  # sweeps cancelled while this worker process runs one of their runs


def _stop_sweep(sweep_id: str) -> None:
    """Run on every worker by the submitting side's Cancel: the sweep's running runs stop at their next step."""
    _stopped_sweeps.add(sweep_id)


def _topic(sweep_id: str) -> str:
    return f"qatstudio-sweep-{sweep_id}"


def _run_on_worker(run: RunOne, config: ExperimentConfig, sweep_id: str,
                   table: Optional[Table]) -> Optional[RunRecord]:
    """The task Dask runs: tells the submitting side the run has started (and, later, ended), then
    runs it on one torch thread, with a store of its own for the table's rows (a table's sweep)."""
    import torch
    from distributed import get_worker

    tables = TableStore()
    if table is not None:
        tables.remember(table, config.data.table_sha256, config.data.label_column)
    key = get_worker().get_current_task()
    _note(sweep_id, "started", key)
    torch.set_num_threads(1)  # one run per worker thread; the cores are shared out by worker processes
    record = run(config, tables, should_stop=lambda: sweep_id in _stopped_sweeps)
    _note(sweep_id, "ended", key)
    return record


def _note(sweep_id: str, what: str, key: str) -> None:
    """Tell the submitting side (through the scheduler) that a run has started or ended on a worker.
    It waits until the scheduler has the note, so a worker that crashes right after can't lose it."""
    from distributed import get_client, get_worker

    try:
        get_client().log_event(_topic(sweep_id), (what, key))
    except (OSError, TimeoutError):  # the scheduler is slow to answer: the note goes later, never the run
        get_worker().log_event(_topic(sweep_id), (what, key))


DIED_TWICE = ("its worker process died twice while running it (it was retried once): out of memory, or the process "
              "was killed")


def failure_reason(error: BaseException) -> str:
    from distributed import KilledWorker

    if isinstance(error, KilledWorker):
        return DIED_TWICE
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


# ---------------------------------------------------------------- the sweep (on the submitting side)

def run_sweep(
    plan: SweepPlan,
    tables: TableStore,
    history: Optional[History] = None,
    tell: Optional[Tell] = None,
    should_stop: Optional[Callable[[], bool]] = None,
    cluster: Optional[ClusterSettings] = None,
    run: RunOne = run_one,
) -> SweepResult:
    """Run every configuration of ``plan`` on Dask (a table's rows from ``tables``, sent to every
    worker); each finished run goes to the history at once,
    so a cancelled sweep keeps what finished. Cancel drops queued runs and stops running ones.
    ``run`` is what each worker does with a configuration (a picklable function like ``run_one``)."""
    tell = tell or (lambda message: None)
    configs, skipped = plan.configs()
    result = SweepResult(skipped=skipped)
    if not configs:
        return result
    with open_cluster(cluster or ClusterSettings()) as (client, ready):
        tell(ready)
        run_on_cluster(client, configs, tables, result, history, tell, should_stop, run)
    return result


class _ClusterRuns:
    """One call of ``run_on_cluster``: the runs submitted, their keys' labels, and what the workers
    said about them (each run's worker starts, and the runs a worker got to the end of)."""

    def __init__(self, client, configs: list[ExperimentConfig], tables: TableStore, run: RunOne):
        self.client, self.configs, self.run = client, configs, run
        self.table = tables.table_for(configs[0].data) if configs[0].data.is_table else None
        self.sweep_id = uuid.uuid4().hex[:12]
        self.starts: dict[str, int] = {}  # times a worker began each run (by key; counted on the client's thread)
        self.ended: set[str] = set()  # keys of runs a worker got to the end of
        self.lock = threading.Lock()
        # The rows go to every worker once, for every run: one that dies leaves copies on the others.
        self.rows = client.scatter(self.table, broadcast=True, hash=False) if self.table is not None else None
        # By key; a run leaves ``pending`` (and its result the cluster) once collected.
        self.labels: dict[str, str] = {}
        self.pending: dict = {}
        self.index_of: dict[str, int] = {}
        self.attempts = [0] * len(configs)  # submissions of each configuration
        self.deaths = [0] * len(configs)  # its worker died while running it, over its submissions
        self.told: dict[str, int] = {}  # worker starts of each run already told

    def on_event(self, event) -> None:
        what, key = event[1]
        with self.lock:
            if what == "started":
                self.starts[key] = self.starts.get(key, 0) + 1
            else:
                self.ended.add(key)

    def submit(self, index: int):
        key = f"qatstudio-run-{self.sweep_id}-{index}-{self.attempts[index]}"
        self.attempts[index] += 1
        self.labels[key], self.index_of[key] = run_name(self.configs[index]), index
        self.pending[key] = self.client.submit(_run_on_worker, self.run, self.configs[index], self.sweep_id,
                                               self.rows, key=key, pure=False)
        return self.pending[key]

    def collect(self, arrivals, history: Optional[History], result: SweepResult, tell: Tell) -> list[str]:
        """Take in the runs that arrived; returns the keys of those the cluster dropped with the
        table's rows (their last worker died)."""
        lost_rows = []
        for future in arrivals.next_batch(block=False):
            if future.key not in self.pending:  # already collected
                continue
            if future.status == "lost":  # its worker died before the result came here:
                arrivals.add(future)  # Dask runs it again, and it arrives again
                tell(RunRedone(self.labels[future.key], "its worker process died before the result was "
                                                        "collected; it runs again"))
                continue
            dropped = future.status == "cancelled"
            if not dropped:
                try:
                    _collect(future, self.labels[future.key], history, result, tell)
                except CancelledError:  # the result went with its worker after it finished
                    dropped = True
            if dropped and self.rows is not None:
                lost_rows.append(future.key)
                continue
            if dropped:
                _collect(future, self.labels[future.key], history, result, tell)  # failed: dropped
            self.pending.pop(future.key)
        return lost_rows

    def tell_retries(self, tell: Tell) -> None:
        """Runs Dask started again after their worker died."""
        with self.lock:
            retried = {key: count for key, count in self.starts.items() if count > self.told.get(key, 1)}
        for key, count in retried.items():
            self.told[key] = count
            if key in self.pending:
                tell(RunRedone(self.labels[key], "its worker process died while running it; it runs again"))

    def resubmit(self, lost_rows: list[str], arrivals, result: SweepResult, tell: Tell) -> None:
        """Send the table's rows again and run the runs that lost them again; a run whose worker died
        under it twice, or with no worker back in time, fails."""
        with self.lock:
            culprits = {key for key in lost_rows if key in self.starts and key not in self.ended}
        resent = self.rows.status == "finished"
        if not resent:
            try:  # once a worker is back (a local cluster restarts the one that died)
                self.rows = self.client.scatter(self.table, broadcast=True, hash=False, timeout=REJOIN_S)
                resent = True
            except TimeoutError:
                pass
        for key in lost_rows:
            self.pending.pop(key)
            index = self.index_of[key]
            self.deaths[index] += key in culprits
            reason = DIED_TWICE if self.deaths[index] > ALLOWED_FAILURES else (
                None if resent else f"its worker process died with the table's rows, and no worker "
                                    f"was there to take them again within {REJOIN_S:.0f} s")
            if reason:
                failure = RunFailed(self.labels[key], reason)
                result.failures.append(failure)
                tell(failure)
            else:
                arrivals.add(self.submit(index))
                tell(RunRedone(self.labels[key], "a worker process died with the table's rows; they were "
                                                 "sent again, and the run runs again"))

    def counts(self, result: SweepResult) -> tuple[int, int, int, int]:
        """Queued, running, done and failed."""
        with self.lock:
            running = len(self.starts.keys() & self.pending.keys())
        return len(self.pending) - running, running, len(result.records), len(result.failures)


def run_on_cluster(
    client,
    configs: list[ExperimentConfig],
    tables: TableStore,
    result: SweepResult,
    history: Optional[History] = None,
    tell: Optional[Tell] = None,
    should_stop: Optional[Callable[[], bool]] = None,
    run: RunOne = run_one,
) -> SweepResult:
    """Run ``configs`` (one data set) on an open Dask client, adding records and failures to
    ``result`` as they arrive; returns when all are in, or when ``should_stop`` says so."""
    stop = should_stop or (lambda: False)
    tell = tell or (lambda message: None)
    if not configs:
        return result
    from distributed import as_completed

    runs = _ClusterRuns(client, configs, tables, run)
    client.subscribe_topic(_topic(runs.sweep_id), runs.on_event)
    arrivals = as_completed([runs.submit(index) for index in range(len(configs))])
    start = time.perf_counter()
    shown = None
    try:
        while runs.pending:
            if stop():
                result.cancelled = True
                break
            lost_rows = runs.collect(arrivals, history, result, tell)
            runs.tell_retries(tell)
            if lost_rows:
                runs.resubmit(lost_rows, arrivals, result, tell)
            counts = runs.counts(result)
            if counts != shown:
                tell(SweepProgress(*counts, len(configs), time.perf_counter() - start))
                shown = counts
            if runs.pending and not arrivals.has_ready():
                time.sleep(POLL_S)
    finally:  # cancelled, or failed here: drop the queued runs, stop the running ones
        if runs.pending:
            client.cancel(list(runs.pending.values()))
            client.run(_stop_sweep, runs.sweep_id, on_error="ignore")
        client.unsubscribe_topic(_topic(runs.sweep_id))
    return result


def sweep_job(plan: SweepPlan, tables: TableStore, history: History,
              cluster: ClusterSettings) -> Callable[[TaskState, Tell], SweepResult]:
    """The whole sweep as a job for a worker thread: it tells the sweep's messages, and stops on cancel."""

    def run(state: TaskState, tell: Tell) -> SweepResult:
        return run_sweep(plan, tables, history, tell, should_stop=state.should_stop, cluster=cluster)

    return run


def _collect(future, label: str, history: Optional[History], result: SweepResult, tell: Tell) -> None:
    """A run that arrived: its record to the history, or its failure told. Raises CancelledError when
    the cluster dropped its result after it finished (the caller may run it again)."""
    error = future.exception() if future.status == "error" else None
    if future.status == "finished":
        try:
            record = future.result()
        except CancelledError:
            raise
        except Exception as lost:  # noqa: BLE001 - its result went with its worker, and running it again failed
            error = lost
        else:
            if record is None:  # stopped on the worker
                return
            record = dataclasses.replace(record, created=time.time())  # the history's order: as runs arrive here
            if history is not None:
                history.add(record)
            result.records.append(record)
            tell(RunDone(record))
            return
    failure = RunFailed(label, failure_reason(error) if error else f"the cluster dropped it ({future.status})")
    result.failures.append(failure)
    tell(failure)
