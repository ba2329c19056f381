"""One experiment through the engine: train, quantize (QAT as trained, or PTQ), lower, compile,
evaluate. Saving it is the services' business (``services.experiment_file``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from torch import nn

from .config import ExperimentConfig
from .data import Dataset, calibration_rows, make_dataset
from .evaluate import Metrics, evaluate_clear, evaluate_encrypted, evaluate_simulated
from .fhe import CircuitStats, CompiledModel, KeygenResult, compile_model
from .integer import IntegerMLP
from .lowering import lower
from .models import BrevitasMLP
from .ptq import post_training_quantize
from .training import Epoch, Event, Step, TrainResult, kept_evaluation, train


@dataclass
class Experiment:
    config: ExperimentConfig
    trained_model: nn.Module  # as trained: a FloatMLP or a BrevitasMLP
    brevitas_model: Optional[nn.Module] = None  # the Brevitas model that was lowered
    integer_model: Optional[IntegerMLP] = None
    history: list[Epoch] = field(default_factory=list)
    step_losses: list[float] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    stats: Optional[CircuitStats] = None
    compiled: Optional[CompiledModel] = None  # not saved: compile again after loading
    cancelled: bool = False
    kept_epoch: Optional[int] = None  # the evaluation validation chose (None: the last one)
    kept_restart: int = 0
    stopped_early: bool = False
    train_s: Optional[float] = None  # every restart's training, evaluations included (not saved)

    @property
    def kept_record(self) -> Optional[Epoch]:
        """The evaluation whose model was kept."""
        return kept_evaluation(self.history, self.kept_epoch)

    @property
    def boundary(self) -> Optional[np.ndarray]:
        kept = self.kept_record
        return kept.boundary if kept is not None else None


def quantize(config: ExperimentConfig, model: nn.Module, dataset: Dataset) -> tuple[nn.Module, IntegerMLP]:
    """The Brevitas model (QAT as trained, or float quantized after training) and its integer twin,
    whose lookups are bounded by ``config.lookup_bits``; the Brevitas model rounds as the twin does."""
    if isinstance(model, BrevitasMLP):
        brevitas_model = model
    else:
        brevitas_model = post_training_quantize(model, config, *calibration_rows(dataset))
    integer_model = lower(brevitas_model, dataset.x_train, config.lookup_bits)
    brevitas_model.set_round_bits([layer.round_bits for layer in integer_model.layers[:-1]])
    return brevitas_model, integer_model


def measured_experiment(config: ExperimentConfig, dataset: Dataset, result: TrainResult,
                        step_losses: list[float]) -> Experiment:
    """A finished (or stopped) training run, quantized and measured in the clear."""
    experiment = Experiment(config, result.model, history=result.history, step_losses=step_losses,
                            cancelled=result.cancelled, kept_epoch=result.kept_epoch,
                            kept_restart=result.kept_restart, stopped_early=result.stopped_early,
                            train_s=result.elapsed_s)
    experiment.brevitas_model, experiment.integer_model = quantize(config, result.model, dataset)
    float_model = None if isinstance(result.model, BrevitasMLP) else result.model
    experiment.metrics = evaluate_clear(dataset, experiment.integer_model, experiment.brevitas_model, float_model)
    return experiment


def compile_for(config: ExperimentConfig, integer_model: IntegerMLP, insecure_key_cache: Optional[Path] = None):
    """Compile with the configuration's FHE settings (error probability, rounding)."""
    return compile_model(integer_model, p_error=config.p_error, approximate_rounding=config.rounding == "approximate",
                         insecure_key_cache=insecure_key_cache)


def run_experiment(
    config: ExperimentConfig,
    dataset: Optional[Dataset] = None,
    on_event: Optional[Callable[[Event], None]] = None,
    should_stop: Optional[Callable[[], bool]] = None,
    compile: bool = True,
    simulate: bool = True,
    encrypted_samples: int = 0,
    insecure_key_cache: Optional[Path] = None,
    keygen: Optional[Callable[[CompiledModel], KeygenResult]] = None,
) -> Experiment:
    """Train, quantize, compile, simulate and (optionally) run encrypted: the whole story of one run.

    Keys for the encrypted run come from ``keygen`` (the services' key cache), else fresh.
    ``insecure_key_cache`` is for tests only: Concrete then reuses keys across runs.
    """
    config.validate()
    dataset = dataset or make_dataset(config.data)
    losses: list[float] = []

    def forward(event):
        if isinstance(event, Step):
            losses.append(event.loss)
        if on_event is not None:
            on_event(event)

    result = train(config, dataset, forward, should_stop)
    experiment = measured_experiment(config, dataset, result, losses)
    if compile:
        experiment.compiled = compile_for(config, experiment.integer_model, insecure_key_cache)
        experiment.stats = experiment.compiled.stats
        if simulate:
            evaluate_simulated(experiment.metrics, dataset, experiment.compiled, should_stop)
        if encrypted_samples:
            keys = keygen(experiment.compiled) if keygen is not None else experiment.compiled.keygen()
            evaluate_encrypted(experiment.metrics, dataset, experiment.compiled, encrypted_samples, keys, should_stop)
    return experiment
