"""The experiment file (``.qats``): one zip holding the configuration, the trained and Brevitas
weights, the integer model, every epoch's boundary, the metrics and the circuit stats; for a table,
its rows too (``table.npz``) and the scaling of its features, so that the file is all a run needs."""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn

from ..engine.config import DataConfig, ExperimentConfig
from ..engine.data import Table
from ..engine.errors import UserError
from ..engine.evaluate import Metrics
from ..engine.fhe import CircuitStats
from ..engine.integer import IntegerMLP
from ..engine.models import BrevitasMLP, FloatMLP
from ..engine.pipeline import Experiment
from ..engine.training import Epoch
from . import storage
from .datasets import TableNotLoaded, TableStore
from .formatting import fmt_bytes

FILE_FORMAT = 3  # 2: the kept epoch and restart, validation figures, bounded lookups; 3: no kind 'pruned'
SUFFIX = ".qats"
LEGACY_MODEL_CLASSES = {"QuantMLP": "BrevitasMLP"}  # files written before the rename
TABLE_FILE = "table.npz"
MAX_STORED_TABLE_BYTES = 200_000_000  # the largest table (its arrays of numbers) an experiment file stores


class ExperimentFileError(UserError, ValueError):
    """An experiment file can't be read; the message says why."""

    title = "Can't open the experiment"


def save_experiment(path: Path, experiment: Experiment, tables: TableStore) -> Path:
    """Write the experiment to one zip file, atomically (a table's rows, from ``tables``, with it)."""
    path = Path(path)
    data = experiment.config.data
    table = _storable_table(data, tables) if data.is_table else None
    history = [
        {k: v for k, v in asdict(epoch).items() if k not in ("boundary", "test_predictions")}
        for epoch in experiment.history
    ]
    manifest = {
        "format": FILE_FORMAT,
        "app": "qatstudio",
        "config": experiment.config.to_dict(),
        "model_class": type(experiment.trained_model).__name__,
        "history": history,
        "step_losses": experiment.step_losses,
        "metrics": experiment.metrics.to_dict(),
        "circuit": experiment.stats.to_dict() if experiment.stats else None,
        "layer_names": [layer.name for layer in experiment.integer_model.layers] if experiment.integer_model else None,
        "cancelled": experiment.cancelled,
        "kept": {"epoch": experiment.kept_epoch, "restart": experiment.kept_restart,
                 "stopped_early": experiment.stopped_early},
        "scaling": tables.dataset_for(data).scaling.to_dict() if table is not None else None,
    }

    def array_bytes(arrays: dict, compressed: bool = True) -> bytes:
        buffer = io.BytesIO()
        (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
        return buffer.getvalue()

    def write(temp: Path):
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("experiment.json", json.dumps(manifest, indent=2, default=storage._json_default))
            weights = io.BytesIO()
            torch.save(experiment.trained_model.state_dict(), weights)
            archive.writestr("model.pt", weights.getvalue())
            if experiment.brevitas_model is not None and experiment.brevitas_model is not experiment.trained_model:
                weights = io.BytesIO()
                torch.save(experiment.brevitas_model.state_dict(), weights)
                archive.writestr("quant_model.pt", weights.getvalue())
            boundaries = {f"epoch{e.epoch}": e.boundary for e in experiment.history}
            archive.writestr("boundaries.npz", array_bytes(boundaries))
            if experiment.integer_model is not None:
                archive.writestr("quantized.npz", array_bytes(experiment.integer_model.to_arrays()))
            if table is not None:
                # stored as they are: measured numbers hardly compress, and a run is saved at each stage
                archive.writestr(TABLE_FILE, array_bytes(
                    {"features": table.features, "labels": table.labels,
                     "feature_names": np.array(table.feature_names, dtype=str),
                     "class_names": np.array(table.class_names, dtype=str)}, compressed=False),
                    compress_type=zipfile.ZIP_STORED)

    return storage.atomic_write(path, write, mode=0o644)


def _storable_table(data: DataConfig, tables: TableStore) -> Table:
    """The table's rows, if ``tables`` holds them and they aren't too large to store."""
    try:
        table = tables.table_for(data)
    except TableNotLoaded as error:
        raise ExperimentFileError(f"can't save the experiment: {error}") from None
    size = table.features.nbytes + table.labels.nbytes
    if size > MAX_STORED_TABLE_BYTES:
        raise ExperimentFileError(
            f"can't save the experiment: its data, {data.table_name}, takes {fmt_bytes(size)} as numbers, more "
            f"than the {fmt_bytes(MAX_STORED_TABLE_BYTES)} an experiment file stores; import a sample of its "
            f"rows (or fewer columns) to keep runs on it")
    return table


def _read_table(archive: zipfile.ZipFile, data: DataConfig) -> Table:
    with np.load(io.BytesIO(archive.read(TABLE_FILE))) as arrays:
        table = Table(arrays["features"].astype(np.float64), arrays["labels"].astype(np.int64),
                      tuple(str(name) for name in arrays["feature_names"]),
                      tuple(str(name) for name in arrays["class_names"]))
    if table.features.shape != (len(table.labels), data.n_features) or len(table.class_names) != data.n_classes:
        raise ExperimentFileError(f"the stored rows of {data.table_name} don't match the configuration")
    return table


def load_table(path: Path, tables: TableStore) -> Table:
    """Only the rows an experiment file stores for its table, kept in ``tables`` (ExperimentFileError
    when it has none or can't be read)."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            data = ExperimentConfig.from_dict(json.loads(archive.read("experiment.json"))["config"]).data
            if not data.is_table or TABLE_FILE not in archive.namelist():
                raise ExperimentFileError(f"{path.name} stores no table")
            return tables.remember(_read_table(archive, data), data.table_sha256, data.label_column)
    except ExperimentFileError:
        raise
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ExperimentFileError(f"can't read the table stored in {path.name} ({error})") from error


def _build(model_class: str, config: ExperimentConfig) -> nn.Module:
    model_class = LEGACY_MODEL_CLASSES.get(model_class, model_class)
    if model_class == "BrevitasMLP":
        return BrevitasMLP.for_config(config)
    if model_class == "FloatMLP":
        return FloatMLP.for_config(config)
    raise ExperimentFileError(f"unknown model class '{model_class}'")


def load_experiment(path: Path, tables: Optional[TableStore] = None) -> Experiment:
    """Read an experiment file, the rows it stores for its table kept in ``tables`` when given; a
    damaged or foreign file raises ExperimentFileError."""
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
            brevitas_model = model
            if "quant_model.pt" in archive.namelist():
                brevitas_model = BrevitasMLP.for_config(config)
                brevitas_model.load_state_dict(torch.load(io.BytesIO(archive.read("quant_model.pt")), weights_only=True))
                brevitas_model.eval()
            with np.load(io.BytesIO(archive.read("boundaries.npz"))) as boundaries:
                boundary_by_epoch = {name: boundaries[name] for name in boundaries.files}
            table = _read_table(archive, config.data) if TABLE_FILE in archive.namelist() else None
            integer_model = None
            if "quantized.npz" in archive.namelist():
                with np.load(io.BytesIO(archive.read("quantized.npz"))) as arrays:
                    integer_model = IntegerMLP.from_arrays({k: arrays[k] for k in arrays.files},
                                                         manifest["layer_names"])
    except ExperimentFileError:
        raise
    except FileNotFoundError as error:
        raise ExperimentFileError(f"can't open {path.name}: there is no such file in {path.parent}") from error
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, RuntimeError, TypeError) as error:
        raise ExperimentFileError(f"can't open {path.name}: the file is damaged or not an experiment ({error})") from error
    if table is not None and tables is not None:
        tables.remember(table, config.data.table_sha256, config.data.label_column)
    history = [Epoch(**record, boundary=boundary_by_epoch.get(f"epoch{record['epoch']}"))
               for record in manifest["history"]]
    circuit = manifest.get("circuit") or manifest.get("report")  # "report" before format 1's rename
    stats = CircuitStats.from_dict(circuit) if circuit else None
    if integer_model is not None and isinstance(brevitas_model, BrevitasMLP):
        brevitas_model.set_round_bits([layer.round_bits for layer in integer_model.layers[:-1]])
    kept = manifest.get("kept") or {}  # before format 2: the last epoch was kept
    return Experiment(
        config, model, brevitas_model, integer_model, history, list(manifest.get("step_losses", [])),
        Metrics.from_dict(manifest.get("metrics") or {}), stats, None, bool(manifest.get("cancelled")),
        kept.get("epoch"), int(kept.get("restart", 0)), bool(kept.get("stopped_early", False)),
    )
