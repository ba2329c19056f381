"""One experiment end to end, and the single file that holds it."""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from . import storage
from .config import ExperimentConfig
from .data import Dataset, make_dataset
from .evaluate import Metrics, evaluate_clear, evaluate_encrypted, evaluate_simulated
from .fhe import CompiledModel, CompileReport, compile_model
from .lowering import lower, post_training_quantize
from .models import FloatMLP, QuantMLP
from .quantized import QuantizedMLP
from .training import Epoch, Event, Step, train

FILE_FORMAT = 1
SUFFIX = ".qats"


class ExperimentFileError(ValueError):
    """An experiment file can't be read; the message says why."""


@dataclass
class Experiment:
    config: ExperimentConfig
    model: nn.Module  # as trained: a FloatMLP or a QuantMLP
    quant_model: Optional[nn.Module] = None  # the Brevitas model that was lowered
    quantized: Optional[QuantizedMLP] = None
    history: list[Epoch] = field(default_factory=list)
    step_losses: list[float] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    report: Optional[CompileReport] = None
    compiled: Optional[CompiledModel] = None  # not saved: compile again after loading
    cancelled: bool = False

    @property
    def boundary(self) -> Optional[np.ndarray]:
        return self.history[-1].boundary if self.history else None


def quantize(config: ExperimentConfig, model: nn.Module, dataset: Dataset) -> tuple[nn.Module, QuantizedMLP]:
    """The Brevitas model (QAT as trained, or float quantized after training) and its integer twin."""
    if isinstance(model, QuantMLP):
        quant_model = model
    else:
        quant_model = post_training_quantize(model, config, dataset.x_train, dataset.y_train)
    return quant_model, lower(quant_model, dataset.x_train)


def compile_for(config: ExperimentConfig, quantized: QuantizedMLP, insecure_key_cache: Optional[Path] = None):
    """Compile with the configuration's FHE settings (error probability, rounding)."""
    return compile_model(quantized, p_error=config.p_error, approximate_rounding=config.rounding == "approximate",
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
) -> Experiment:
    """Train, quantize, compile, simulate and (optionally) run encrypted: the whole story of one run."""
    config.validate()
    dataset = dataset or make_dataset(config.data)
    losses: list[float] = []

    def forward(event):
        if isinstance(event, Step):
            losses.append(event.loss)
        if on_event is not None:
            on_event(event)

    result = train(config, dataset, forward, should_stop)
    experiment = Experiment(config, result.model, history=result.history, step_losses=losses,
                            cancelled=result.cancelled)
    experiment.quant_model, experiment.quantized = quantize(config, result.model, dataset)
    float_model = None if isinstance(result.model, QuantMLP) else result.model
    experiment.metrics = evaluate_clear(dataset, experiment.quantized, experiment.quant_model, float_model)
    if compile:
        experiment.compiled = compile_for(config, experiment.quantized, insecure_key_cache)
        experiment.report = experiment.compiled.report
        if simulate:
            evaluate_simulated(experiment.metrics, dataset, experiment.compiled, should_stop)
        if encrypted_samples:
            keys = experiment.compiled.keygen(cache=insecure_key_cache is None)
            evaluate_encrypted(experiment.metrics, dataset, experiment.compiled, encrypted_samples, keys, should_stop)
    return experiment


# ---------------------------------------------------------------- the file

def save_experiment(path: Path, experiment: Experiment) -> Path:
    """Write the experiment to one zip file, atomically."""
    path = Path(path)
    history = [
        {k: v for k, v in asdict(epoch).items() if k != "boundary"} for epoch in experiment.history
    ]
    manifest = {
        "format": FILE_FORMAT,
        "app": "qatstudio",
        "config": experiment.config.to_dict(),
        "model_class": type(experiment.model).__name__,
        "history": history,
        "step_losses": experiment.step_losses,
        "metrics": experiment.metrics.to_dict(),
        "report": experiment.report.to_dict() if experiment.report else None,
        "layer_names": [layer.name for layer in experiment.quantized.layers] if experiment.quantized else None,
        "cancelled": experiment.cancelled,
    }

    def array_bytes(arrays: dict) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    def write(temp: Path):
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("experiment.json", json.dumps(manifest, indent=2, default=storage._json_default))
            weights = io.BytesIO()
            torch.save(experiment.model.state_dict(), weights)
            archive.writestr("model.pt", weights.getvalue())
            if experiment.quant_model is not None and experiment.quant_model is not experiment.model:
                weights = io.BytesIO()
                torch.save(experiment.quant_model.state_dict(), weights)
                archive.writestr("quant_model.pt", weights.getvalue())
            boundaries = {f"epoch{e.epoch}": e.boundary for e in experiment.history}
            archive.writestr("boundaries.npz", array_bytes(boundaries))
            if experiment.quantized is not None:
                archive.writestr("quantized.npz", array_bytes(experiment.quantized.to_arrays()))

    return storage.atomic_write(path, write, mode=0o644)


def _build(model_class: str, config: ExperimentConfig) -> nn.Module:
    if model_class == "QuantMLP":
        return QuantMLP.for_config(config)
    if model_class == "FloatMLP":
        return FloatMLP(config.n_hidden, config.n_layers)
    raise ExperimentFileError(f"unknown model class '{model_class}'")


def load_experiment(path: Path) -> Experiment:
    """Read an experiment file; a damaged or foreign file raises ExperimentFileError."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("experiment.json"))
            if manifest.get("app") != "qatstudio":
                raise ExperimentFileError(f"{path.name} is not a QAT Studio experiment")
            if manifest.get("format", 0) > FILE_FORMAT:
                raise ExperimentFileError(f"{path.name} was written by a newer QAT Studio: update the app to open it")
            config = ExperimentConfig.from_dict(manifest["config"])
            model = _build(manifest["model_class"], config)
            model.load_state_dict(torch.load(io.BytesIO(archive.read("model.pt")), weights_only=True))
            model.eval()
            quant_model = model
            if "quant_model.pt" in archive.namelist():
                quant_model = QuantMLP.for_config(config)
                quant_model.load_state_dict(torch.load(io.BytesIO(archive.read("quant_model.pt")), weights_only=True))
                quant_model.eval()
            with np.load(io.BytesIO(archive.read("boundaries.npz"))) as boundaries:
                boundary_by_epoch = {name: boundaries[name] for name in boundaries.files}
            quantized = None
            if "quantized.npz" in archive.namelist():
                with np.load(io.BytesIO(archive.read("quantized.npz"))) as arrays:
                    quantized = QuantizedMLP.from_arrays({k: arrays[k] for k in arrays.files},
                                                         manifest["layer_names"])
    except ExperimentFileError:
        raise
    except FileNotFoundError as error:
        raise ExperimentFileError(f"can't open {path.name}: there is no such file in {path.parent}") from error
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, RuntimeError, TypeError) as error:
        raise ExperimentFileError(f"can't open {path.name}: the file is damaged or not an experiment ({error})") from error
    history = [Epoch(**record, boundary=boundary_by_epoch.get(f"epoch{record['epoch']}"))
               for record in manifest["history"]]
    report = CompileReport.from_dict(manifest["report"]) if manifest.get("report") else None
    return Experiment(
        config, model, quant_model, quantized, history, list(manifest.get("step_losses", [])),
        Metrics.from_dict(manifest.get("metrics") or {}), report, None, bool(manifest.get("cancelled")),
    )
