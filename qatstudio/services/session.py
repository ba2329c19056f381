"""The window's session, Qt-free: the configuration Train runs, the tables' rows, the run shown
(its experiment, data, circuit and keys) and how far it has come, each change told as an ``Event``.
Panels subscribe to the fields they show; the presenters change the session as jobs finish."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..engine.config import ConfigError, ExperimentConfig
from ..engine.data import Dataset
from ..engine.evaluate import Metrics
from ..engine.fhe import CompiledModel, KeygenResult
from ..engine.pipeline import Experiment
from .datasets import TableStore
from .history import Stage


class Event:
    """Handlers called in the order they connected, with what is emitted."""

    def __init__(self) -> None:
        self._handlers: list[Callable] = []

    def connect(self, handler: Callable) -> None:
        self._handlers.append(handler)

    def disconnect(self, handler: Callable) -> None:
        self._handlers.remove(handler)

    def emit(self, *values) -> None:
        for handler in list(self._handlers):
            handler(*values)


@dataclass
class Run:
    """The run shown: replaced whole when one is trained or opened, completed as jobs finish."""

    experiment: Optional[Experiment] = None
    dataset: Optional[Dataset] = None
    test_predictions: Optional[np.ndarray] = None
    compiled: Optional[CompiledModel] = None
    keys: Optional[KeygenResult] = None
    latencies_s: list[float] = field(default_factory=list)
    clear_boundary: Optional[np.ndarray] = None
    fhe_boundary: Optional[np.ndarray] = None


class Session:
    """What the window works on. Events: ``config_changed(config)`` when one is set;
    ``run_changed(run)`` when the run is replaced or cleared; ``stage_changed(experiment, stage)``
    when the run gains results; ``title_changed(file name, unsaved results)``."""

    def __init__(self, config: Optional[ExperimentConfig] = None):
        self.tables = TableStore()  # the rows of the tables imported, opened or chosen as presets
        self.config_changed = Event()
        self.run_changed = Event()
        self.stage_changed = Event()
        self.title_changed = Event()
        self._config = config if config is not None else ExperimentConfig()
        self.run = Run()
        self.stage: Optional[Stage] = None
        self.path: Optional[Path] = None  # the experiment file the run was opened from or saved to
        self.dirty = False  # the run has results not saved to its file

    # ------------------------------------------------------------ the configuration
    @property
    def config(self) -> ExperimentConfig:
        """What Train runs."""
        return self._config

    def set_config(self, config: ExperimentConfig) -> None:
        """Make ``config`` what Train runs and tell it, even when it is the one held (the Configure
        panel may show a draft with problems meanwhile: ``config`` replaces it). ConfigError, and
        nothing changes, when ``config`` can't be trained."""
        problems = config.problems()
        if problems:
            raise ConfigError(problems)
        self._config = config
        self.config_changed.emit(config)

    def title(self) -> tuple[str, bool]:
        """The file name the window shows, and whether the run has results not saved."""
        return (self.path.name if self.path else "untitled"), self.dirty and self.run.experiment is not None

    # ------------------------------------------------------------ the run, as jobs change it
    def _replace(self, run: Run, path: Optional[Path], dirty: bool, stage: Optional[Stage]) -> None:
        self.run, self.path, self.dirty, self.stage = run, path, dirty, stage
        self.run_changed.emit(run)
        self.title_changed.emit(*self.title())
        if stage is not None:
            self.stage_changed.emit(run.experiment, stage)

    def _advance(self, stage: Optional[Stage]) -> None:
        """The run gained results not yet saved; ``stage``: how far it has come now (None: no further)."""
        self.dirty = True
        self.title_changed.emit(*self.title())
        if stage is not None:
            self.stage = stage
            self.stage_changed.emit(self.run.experiment, stage)

    def clear(self) -> None:
        """No run (training a new one starts)."""
        self._replace(Run(), None, False, None)

    def trained(self, experiment: Experiment, dataset: Dataset, test_predictions: Optional[np.ndarray]) -> None:
        self._replace(Run(experiment, dataset, test_predictions), None, True, Stage.TRAINED)

    def opened(self, experiment: Experiment, dataset: Dataset, test_predictions: Optional[np.ndarray],
               path: Path) -> None:
        """``experiment`` read from ``path``; one compiled and run encrypted where it was made (the
        optimizer's winner) keeps its circuit, whose figures its file doesn't hold."""
        compiled = experiment.compiled
        self._replace(Run(experiment, dataset, test_predictions, compiled), Path(path), compiled is not None,
                      Stage.OPENED)
        if experiment.metrics.fhe_executed_samples:  # its history record gains the measured figures
            self.stage_changed.emit(experiment, Stage.ENCRYPTED)

    def compiling(self) -> None:
        """A compilation started: the circuit and keys of the run go."""
        self.run.compiled = None
        self.run.keys = None

    def compiled_to(self, compiled: CompiledModel) -> None:
        experiment = self.run.experiment
        self.run.compiled = compiled
        experiment.stats = compiled.stats
        experiment.compiled = compiled
        self._advance(Stage.COMPILED)

    def keys_made(self, keys: KeygenResult) -> None:
        self.run.keys = keys
        self.run.experiment.metrics = dataclasses.replace(self.run.experiment.metrics, keygen_s=keys.seconds,
                                                      keygen_from_cache=keys.from_cache)

    def measured(self, metrics: Metrics) -> None:
        """Figures of a job still running (the simulation's test points): shown, not yet a stage."""
        self.run.experiment.metrics = metrics

    def simulated(self, metrics: Metrics, clear_boundary: Optional[np.ndarray],
                  fhe_boundary: Optional[np.ndarray]) -> None:
        self.run.experiment.metrics = metrics
        self.run.clear_boundary, self.run.fhe_boundary = clear_boundary, fhe_boundary
        self._advance(Stage.SIMULATED)

    def ran_encrypted(self, metrics: Metrics, keys: KeygenResult, latencies_s: list[float]) -> None:
        self.run.experiment.metrics = metrics
        self.run.keys = keys
        self.run.latencies_s = latencies_s
        self._advance(Stage.ENCRYPTED)

    def on_plane(self, dataset: Dataset) -> None:
        """The run's data set with its boundary grid on another plane of two features."""
        self.run.dataset = dataset

    def saved(self, path: Path) -> None:
        self.path = Path(path)
        self.dirty = False
        self.title_changed.emit(*self.title())
