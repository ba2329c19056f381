"""Every run kept: a folder of small JSON files that survives restarts and damaged entries."""
from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ..engine.config import ExperimentConfig
from . import storage
from .formatting import config_name

BOUNDARY_LEVELS = 255  # boundary images are kept as 8-bit probabilities


@dataclass
class RunRecord:
    """What the history, the trade-off chart and reports need of one run."""

    id: str
    created: float
    config: dict
    metrics: dict
    report: Optional[dict] = None
    boundary: Optional[np.ndarray] = None  # (rows, cols) float32 probability of class 1
    experiment_path: Optional[str] = None  # the full .qats file, when one was saved
    label: str = ""

    @classmethod
    def from_experiment(cls, experiment, experiment_path: Optional[Path] = None, label: str = "") -> "RunRecord":
        return cls(
            id=f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}",
            created=time.time(),
            config=experiment.config.to_dict(),
            metrics=experiment.metrics.to_dict(),
            report=experiment.stats.to_dict() if experiment.stats else None,
            boundary=experiment.boundary,
            experiment_path=str(experiment_path) if experiment_path else None,
            label=label or config_name(experiment.config),
        )

    @property
    def experiment_config(self) -> ExperimentConfig:
        return ExperimentConfig.from_dict(self.config)

    # figures the chart and tables use
    @property
    def accuracy(self) -> Optional[float]:
        m = self.metrics
        for key in ("fhe_simulated_accuracy", "clear_accuracy", "brevitas_accuracy", "float_accuracy"):
            if m.get(key) is not None:
                return m[key]
        return None

    @property
    def accumulator_bits(self) -> Optional[int]:
        return self.report.get("accumulator_bits") if self.report else None

    @property
    def pbs_count(self) -> Optional[int]:
        return self.report.get("pbs_count") if self.report else None

    @property
    def fhe_latency_s(self) -> Optional[float]:
        return self.metrics.get("fhe_latency_s")

    def to_json(self) -> dict:
        boundary = None
        if self.boundary is not None:
            image = np.clip(np.rint(np.asarray(self.boundary) * BOUNDARY_LEVELS), 0, BOUNDARY_LEVELS).astype(np.uint8)
            boundary = {"shape": list(image.shape), "data": base64.b64encode(image.tobytes()).decode("ascii")}
        return {
            "format": 1, "id": self.id, "created": self.created, "label": self.label, "config": self.config,
            "metrics": self.metrics, "report": self.report, "boundary": boundary,
            "experiment_path": self.experiment_path,
        }

    @classmethod
    def from_json(cls, values: dict) -> "RunRecord":
        boundary = None
        if values.get("boundary"):
            raw = base64.b64decode(values["boundary"]["data"])
            shape = tuple(values["boundary"]["shape"])
            boundary = np.frombuffer(raw, dtype=np.uint8).reshape(shape).astype(np.float32) / BOUNDARY_LEVELS
        ExperimentConfig.from_dict(values["config"])  # a record whose config can't be read is damaged
        return cls(values["id"], float(values["created"]), values["config"], dict(values["metrics"]),
                   values.get("report"), boundary, values.get("experiment_path"), values.get("label", ""))


@dataclass
class History:
    """Runs kept in ``folder`` (default: the user's data directory), one file each."""

    folder: Path = field(default_factory=lambda: storage.data_dir() / "history")

    def __post_init__(self):
        self.folder = Path(self.folder)

    def add(self, record: RunRecord) -> RunRecord:
        storage.atomic_write_json(self.folder / f"{record.id}.json", record.to_json())
        return record

    def load(self) -> tuple[list[RunRecord], list[str]]:
        """All readable runs, oldest first, and a message for each damaged entry (skipped)."""
        records, problems = [], []
        for path in sorted(self.folder.glob("*.json")):
            try:
                records.append(RunRecord.from_json(json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, KeyError, TypeError) as error:
                problems.append(f"skipped damaged history entry {path.name}: {error}")
        records.sort(key=lambda record: record.created)
        return records, problems

    def remove(self, record_id: str) -> None:
        (self.folder / f"{record_id}.json").unlink(missing_ok=True)


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
