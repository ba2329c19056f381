"""Sweeps: every combination of neurons, bit-width, pruning budget and seed, fed to the history."""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from .config import ExperimentConfig
from .data import make_dataset
from .experiment import run_experiment
from .fhe import Cancelled
from .history import History, RunRecord, describe


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
            kind = self.base.kind
            if kind == "float" and budget is not None:
                kind = "pruned"
            elif kind == "pruned" and budget is None:
                kind = "float"
            config = self.base.replace(kind=kind, n_hidden=n_hidden, bits=bits, pruning_budget=budget, seed=seed)
            problems = config.problems()
            if problems:
                skipped.append(f"{n_hidden} neurons, {bits} bits, budget {budget}: {'; '.join(problems)}")
            else:
                configs.append(config)
        return configs, skipped


@dataclass
class SweepProgress:
    done: int
    total: int
    elapsed_s: float
    current: str

    @property
    def eta_s(self) -> Optional[float]:
        return self.elapsed_s / self.done * (self.total - self.done) if self.done else None


@dataclass
class SweepResult:
    records: list[RunRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cancelled: bool = False


def run_sweep(
    plan: SweepPlan,
    history: Optional[History] = None,
    on_run: Optional[Callable[[RunRecord], None]] = None,
    on_progress: Optional[Callable[[SweepProgress], None]] = None,
    should_stop: Optional[Callable[[], bool]] = None,
) -> SweepResult:
    """Train, compile and simulate every configuration; each finished run goes to the history
    at once, so a cancelled sweep keeps what finished."""
    stop = should_stop or (lambda: False)
    configs, skipped = plan.configs()
    result = SweepResult(skipped=skipped)
    datasets = {}
    start = time.perf_counter()
    for index, config in enumerate(configs):
        if stop():
            result.cancelled = True
            break
        if on_progress:
            on_progress(SweepProgress(index, len(configs), time.perf_counter() - start, describe(config)))
        key = tuple(sorted(config.data.__dict__.items()))
        if key not in datasets:  # one data set per data configuration, made once
            datasets[key] = make_dataset(config.data)
        dataset = datasets[key]
        try:
            experiment = run_experiment(config, dataset, should_stop=stop)
        except Cancelled:
            result.cancelled = True
            break
        if experiment.cancelled:
            result.cancelled = True
            break
        record = RunRecord.from_experiment(experiment)
        if history is not None:
            history.add(record)
        result.records.append(record)
        if on_run:
            on_run(record)
    if on_progress:
        on_progress(SweepProgress(len(result.records), len(configs), time.perf_counter() - start, ""))
    return result

