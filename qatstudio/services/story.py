"""The guided story: five steps of the guide, each an experiment file shipped in ``resources/story``
(made by ``scripts/make_story.py``) and listed with its words in ``story.json``.

``story_job`` opens the files once (on a worker thread) and computes what each step shows.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..engine.config import ExperimentConfig
from .datasets import TableStore
from .experiment_file import load_experiment
from .formatting import fmt_percent
from .history import STOPPED_EARLY, RunRecord
from .jobs import Job, Tell
from .paths import story_dir
from .tasks import TaskState

STORY_INDEX = "story.json"


@dataclass
class StoryStep:
    number: int  # 1-based
    title: str
    text: str
    measured: str  # the step's figures in words, as measured when the file was made
    config: ExperimentConfig
    path: Path
    deploy_points: int = 0  # > 0: the step can send this many test points through a local server


def load_story(folder: Optional[Path] = None) -> list[StoryStep]:
    """The steps listed in the story index (default: the shipped story)."""
    folder = Path(folder) if folder is not None else story_dir()
    steps = json.loads((folder / STORY_INDEX).read_text(encoding="utf-8"))["steps"]
    return [StoryStep(number, step["title"], step["text"], step.get("measured", ""),
                      ExperimentConfig.from_dict(step["config"]), folder / step["file"],
                      int(step.get("deploy_points", 0)))
            for number, step in enumerate(steps, start=1)]


@dataclass
class StepFigures:
    """What one step shows, all computed from its file."""

    step: StoryStep
    record: RunRecord  # figures as the history and the trade-off chart read them
    trained_boundary: np.ndarray  # P(class 1) of the trained model over the grid
    integer_classes: np.ndarray  # class of the integer model (what FHE computes) over the grid
    x_test: np.ndarray
    y_test: np.ndarray
    integer_predictions: np.ndarray  # the integer model's class for each test point


@dataclass
class StoryProblem:
    step: StoryStep
    message: str


def step_figures(step: StoryStep, tables: TableStore) -> StepFigures:
    """Open ``step``'s file, the rows it stores for a table kept in ``tables`` (OSError or ValueError
    when it can't be read)."""
    experiment = load_experiment(step.path, tables)
    dataset = tables.dataset_for(experiment.config.data)
    model = experiment.integer_model
    record = RunRecord.from_experiment(experiment, step.path, label=f"Story {step.number}: {step.title}")
    record.id = f"story-{step.number}"
    return StepFigures(step=step, record=record, trained_boundary=experiment.boundary,
                       integer_classes=model.predict(dataset.grid).reshape(dataset.grid_shape),
                       x_test=dataset.x_test, y_test=dataset.y_test,
                       integer_predictions=model.predict(dataset.x_test))


def story_job(steps: list[StoryStep]) -> Job:
    """Open every step's file; tell a StepFigures (or a StoryProblem) per step as it is ready."""

    def run(state: TaskState, tell: Tell) -> list[StepFigures]:
        tables = TableStore()  # the story's own: its figures are made here, once
        figures = []
        for step in steps:
            state.raise_if_cancelled()
            try:
                item = step_figures(step, tables)
            except (OSError, ValueError) as error:
                tell(StoryProblem(step, str(error)))
                continue
            figures.append(item)
            tell(item)
        return figures

    return run


def steps_of(steps: list[StoryStep], config: ExperimentConfig) -> list[int]:
    """The numbers of the steps that train ``config``."""
    return [step.number for step in steps if step.config == config]


def live_result(record: RunRecord) -> str:
    """A step re-run live, in words: what its run has measured so far."""
    m, config = record.metrics, record.config
    parts = []
    if m.float_accuracy is not None:
        parts.append(f"fp32 {fmt_percent(m.float_accuracy)}")
    parts.append(f"{config.bits}-bit {fmt_percent(m.clear_accuracy)}")
    if m.fhe_simulated_accuracy is not None:
        parts.append(f"FHE simulated {fmt_percent(m.fhe_simulated_accuracy)}")
    if record.stats:
        parts.append(f"accumulator {record.accumulator_bits} bits, {record.pbs_count} lookups")
    else:
        parts.append("not compiled yet")  # read on stage too, where no key compiles
    stopped = STOPPED_EARLY if record.stopped else ""
    return f"Live re-run{stopped}: " + " \u00b7 ".join(parts)
