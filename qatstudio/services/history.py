"""Every run kept: a folder of small JSON files that survives restarts and damaged entries, and
beside them the experiment files of the runs trained in the window (``runs/<id>.qats``)."""
from __future__ import annotations

import base64
import dataclasses
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from ..engine.config import ExperimentConfig
from ..engine.evaluate import Metrics
from ..engine.fhe import CircuitStats
from . import storage
from .datasets import TableStore
from .experiment_file import SUFFIX, save_experiment
from .formatting import MeasureRow, config_name, run_name

log = logging.getLogger(__name__)

BOUNDARY_LEVELS = 255  # boundary images are kept as 8-bit probabilities
STOPPED_EARLY = " (stopped early)"  # a run whose training the user stopped, after its name


class Stage(str, Enum):
    """How far the window's experiment has come: each stage updates its history record."""

    OPENED = "opened"  # read from a file (a run of the history goes on as that record)
    TRAINED = "trained"
    COMPILED = "compiled"
    SIMULATED = "simulated"
    ENCRYPTED = "encrypted"


@dataclass
class RunRecord:
    """What the history, the trade-off chart and reports need of one run."""

    id: str
    created: float
    config: ExperimentConfig
    metrics: Metrics
    stats: Optional[CircuitStats] = None
    boundary: Optional[np.ndarray] = None  # (rows, cols) float32 probability of class 1
    experiment_path: Optional[str] = None  # the full .qats file, when one was saved
    label: str = ""
    stopped: bool = False  # the user stopped its training before the end (its label says so too)

    @classmethod
    def from_experiment(cls, experiment, experiment_path: Optional[Path] = None, label: str = "") -> "RunRecord":
        return cls(
            id=f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}",
            created=time.time(),
            config=experiment.config,
            metrics=dataclasses.replace(experiment.metrics),  # a copy: the experiment gains results later
            stats=experiment.stats,
            boundary=experiment.boundary,
            experiment_path=str(experiment_path) if experiment_path else None,
            label=label or run_name(experiment.config) + (STOPPED_EARLY if experiment.cancelled else ""),
            stopped=experiment.cancelled,
        )

    # figures the chart and tables use
    @property
    def accuracy(self) -> Optional[float]:
        """The accuracy of the latest stage measured: FHE simulated, else clear, Brevitas, fp32."""
        m = self.metrics
        stages = (m.fhe_simulated_accuracy, m.clear_accuracy, m.brevitas_accuracy, m.float_accuracy)
        return next((value for value in stages if value is not None), None)

    @property
    def accumulator_bits(self) -> Optional[int]:
        return self.stats.accumulator_bits if self.stats else None

    @property
    def pbs_count(self) -> Optional[int]:
        return self.stats.pbs_count if self.stats else None

    @property
    def complexity(self) -> Optional[float]:
        return self.stats.complexity if self.stats else None

    @property
    def fhe_latency_s(self) -> Optional[float]:
        return self.metrics.fhe_latency_s

    def figure(self, row: MeasureRow) -> Optional[float]:
        """What a shared row (``formatting.METRIC_ROWS`` or ``CIRCUIT_ROWS``) shows of this run;
        None when it wasn't measured (a circuit row of a run not compiled)."""
        if row.circuit:
            return getattr(self.stats, row.field) if self.stats else None
        return getattr(self.metrics, row.field)

    def to_json(self) -> dict:
        boundary = None
        if self.boundary is not None:
            image = np.clip(np.rint(np.asarray(self.boundary) * BOUNDARY_LEVELS), 0, BOUNDARY_LEVELS).astype(np.uint8)
            boundary = {"shape": list(image.shape), "data": base64.b64encode(image.tobytes()).decode("ascii")}
        return {  # format 2: no kind "pruned" (a float model with a pruning budget)
            "format": 2, "id": self.id, "created": self.created, "label": self.label,
            "config": self.config.to_dict(), "metrics": self.metrics.to_dict(),
            "stats": self.stats.to_dict() if self.stats else None, "boundary": boundary,
            "experiment_path": self.experiment_path, "stopped": self.stopped,
        }

    @classmethod
    def from_json(cls, values: dict) -> "RunRecord":
        """Read ``to_json``'s dict; files written before the rename keep the circuit stats as "report"."""
        boundary = None
        if values.get("boundary"):
            raw = base64.b64decode(values["boundary"]["data"])
            shape = tuple(values["boundary"]["shape"])
            boundary = np.frombuffer(raw, dtype=np.uint8).reshape(shape).astype(np.float32) / BOUNDARY_LEVELS
        stats = values["stats"] if "stats" in values else values.get("report")
        config = ExperimentConfig.from_dict(values["config"])
        label = values.get("label", "")
        stopped = values["stopped"] if "stopped" in values else label.endswith(STOPPED_EARLY)  # before the field
        return cls(values["id"], float(values["created"]), config,
                   Metrics.from_dict(values["metrics"]), CircuitStats.from_dict(stats) if stats else None,
                   boundary, values.get("experiment_path"), _named_with_data(label, config), bool(stopped))


@dataclass
class History:
    """Runs kept in ``folder`` (default: the user's data directory), one file each."""

    folder: Path = field(default_factory=lambda: storage.data_dir() / "history")

    def __post_init__(self):
        self.folder = Path(self.folder)

    @property
    def runs_folder(self) -> Path:
        """The experiment files of the runs kept with ``keep``."""
        return self.folder / "runs"

    def add(self, record: RunRecord) -> RunRecord:
        storage.atomic_write_json(self.folder / f"{record.id}.json", record.to_json())
        return record

    def keep(self, record: RunRecord, experiment, tables: TableStore) -> RunRecord:
        """Add ``record`` with its whole experiment saved beside it (a table's rows from ``tables``),
        so that the run opens again (kept as figures only when the file can't be written). Raises
        OSError when the record can't."""
        path = self.runs_folder / f"{record.id}{SUFFIX}"
        try:
            save_experiment(path, experiment, tables)
            record.experiment_path = str(path)
        except (OSError, ValueError, RuntimeError) as error:
            log.warning("the run %s is kept without its experiment file: %s", record.id, error)
            record.experiment_path = None
        return self.add(record)

    def get(self, record_id: str) -> Optional[RunRecord]:
        """The record ``record_id``, None when it isn't kept (or can't be read)."""
        try:
            return _read_record(self.folder / f"{record_id}.json")
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def load(self) -> tuple[list[RunRecord], list[str]]:
        """All readable runs, oldest first, and a message for each damaged entry (skipped)."""
        records, problems = [], []
        for path in sorted(self.folder.glob("*.json")):
            try:
                records.append(_read_record(path))
            except (OSError, ValueError, KeyError, TypeError) as error:
                problems.append(f"skipped damaged history entry {path.name}: {error}")
        records.sort(key=lambda record: record.created)
        return records, problems

    def remove(self, record_id: str) -> None:
        """The record and the experiment file ``keep`` saved for it."""
        (self.folder / f"{record_id}.json").unlink(missing_ok=True)
        (self.runs_folder / f"{record_id}{SUFFIX}").unlink(missing_ok=True)


def _named_with_data(label: str, config: ExperimentConfig) -> str:
    """A label kept before runs were named with their data set ('QAT 3-bit 100n seed 0') gets it now."""
    old = config_name(config)
    return run_name(config) + label[len(old):] if label in (old, old + STOPPED_EARLY) else label


def same_data(records: list[RunRecord]) -> bool:
    """Whether the runs were trained and tested on the same data: only then is one's accuracy better."""
    return len({record.config.data for record in records}) <= 1


def shared_ceiling(records: Iterable[RunRecord]) -> Optional[float]:
    """The ceiling accuracy of the one data set all ``records`` were trained on; None when they
    were trained on different data sets or none of them knows its ceiling."""
    records = list(records)
    ceilings = {r.metrics.ceiling_accuracy for r in records} - {None}
    return ceilings.pop() if same_data(records) and len(ceilings) == 1 else None


def _read_record(path: Path) -> RunRecord:
    return RunRecord.from_json(json.loads(path.read_text(encoding="utf-8")))


class RunTracker:
    """Keeps every run a window finishes: a new record when it is trained, the same record (same
    id) updated with each later result; a run opened from its history file goes on as that record."""

    def __init__(self, history: History, tables: TableStore):
        self.history = history
        self.tables = tables  # the window's: the rows of the table its runs train on
        self._tracked: Optional[tuple[object, str]] = None  # (the window's experiment, its record id)

    def update(self, experiment, stage: Stage, path: Optional[Path] = None) -> Optional[RunRecord]:
        """The record kept for ``experiment`` at ``stage`` (see ``Session.stage_changed``), or
        None when there is nothing to keep; ``path``: the file an "opened" experiment came from.
        Raises OSError when the history can't be written."""
        if stage is Stage.OPENED:
            kept = path is not None and Path(path).parent == self.history.runs_folder
            record = self.history.get(Path(path).stem) if kept else None
            self._tracked = (experiment, record.id) if record else None
            return None
        if stage is Stage.TRAINED:
            record = RunRecord.from_experiment(experiment)
        else:
            if self._tracked is None or self._tracked[0] is not experiment:
                return None  # results of an experiment opened from elsewhere: not a run of this window
            old = self.history.get(self._tracked[1])
            if old is None:  # removed from the history meanwhile
                return None
            record = RunRecord.from_experiment(experiment, label=old.label)
            record.id, record.created, record.stopped = old.id, old.created, old.stopped
        self._tracked = (experiment, record.id)
        return self.history.keep(record, experiment, self.tables)

    def forget(self, ids: list[str]) -> None:
        """Runs removed from the history: later results of them are no longer kept."""
        if self._tracked and self._tracked[1] in ids:
            self._tracked = None


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats: lower cost (x) and higher accuracy (y).
    Sorted by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -np.inf
    for index in order:
        if points[index][1] > best:
            front.append(index)
            best = points[index][1]
    return front
