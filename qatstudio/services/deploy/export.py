"""Writing a deployment folder from a run (see ``bundle.py`` for what it holds)."""
from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Optional

import numpy as np

from ... import __version__
from ...engine.config import ExperimentConfig
from ...engine.data import Scaling
from ...engine.fhe import CompiledModel
from ...engine.integer import IntegerMLP
from ...engine.pipeline import Experiment, compile_for
from .. import storage
from ..datasets import TableStore
from ..formatting import fmt_key_bytes
from .bundle import BUNDLE_FORMAT, MODEL_FILE, README_FILE, SERVER_FILE, SPECS_FILE, BundleError, circuit_id


def client_arrays(model: IntegerMLP) -> dict[str, list]:
    """The integer model's client half (input quantization, output dequantization), no weights."""
    return {name: np.asarray(value).tolist() for name, value in model.to_arrays().items()
            if not name.startswith("layer")}


def client_scaling(config: ExperimentConfig, tables: TableStore) -> Optional[Scaling]:
    """What a client applies to raw feature values before quantizing them (tables, their rows in
    ``tables``); None: none (shapes)."""
    return tables.dataset_for(config.data).scaling


def _versions() -> dict[str, str]:
    return {"qatstudio": __version__, "concrete-python": metadata.version("concrete-python"),
            "numpy": np.__version__, "python": platform.python_version()}


def export_bundle(experiment: Experiment, folder: Path, tables: TableStore, source: str = "",
                  compiled: Optional[CompiledModel] = None) -> Path:
    """Write ``experiment``'s circuit and client information into ``folder`` (a table's scaling from
    its rows in ``tables``); returns model.json.

    ``compiled`` is the experiment's compiled circuit if there is one; otherwise it is compiled here.
    """
    if experiment.integer_model is None:
        raise BundleError("this run has no integer model to deploy: train it (and let it finish) first")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise BundleError(f"{folder} is a file: choose a folder to export into")
    foreign = [p.name for p in folder.iterdir()] if folder.exists() else []
    foreign = [name for name in foreign if name not in (SERVER_FILE, SPECS_FILE, MODEL_FILE, README_FILE)]
    if foreign:
        raise BundleError(f"{folder} already holds other files ({', '.join(sorted(foreign)[:3])}): "
                          f"choose an empty or new folder")
    dataset = tables.dataset_for(experiment.config.data)  # before any file is written: a table must be loaded
    compiled = compiled or experiment.compiled or compile_for(experiment.config, experiment.integer_model)
    circuit = compiled.circuit
    specs = circuit.client.specs.serialize()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL_FILE).unlink(missing_ok=True)  # written last: its presence means a whole bundle

    def save_server(temp: Path) -> None:
        archive = temp.with_name(temp.name + ".zip")  # Concrete appends .zip to what it is given
        circuit.server.save(archive)
        os.replace(archive, temp)

    storage.atomic_write(folder / SERVER_FILE, save_server, mode=0o644)
    storage.atomic_write_bytes(folder / SPECS_FILE, specs, mode=0o644)
    configuration = circuit.configuration
    info = {
        "format": BUNDLE_FORMAT,
        "app": "qatstudio",
        "circuit_id": circuit_id(specs),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": source,
        "versions": _versions(),
        "features": list(dataset.feature_names),
        "classes": list(dataset.class_names),
        "scaling": dataset.scaling.to_dict() if dataset.scaling else None,
        "quantization": {
            "rule": "x = (raw - scaling.low) / scaling.span in float64, then to float32 (when scaling is "
                    "given; else x = raw); x_int = clip(round_half_even(x / input[0]), input[1], input[2]), "
                    "then clip to [domain[0], domain[1]] per feature; after decryption: "
                    "logits = output * output_scale + output_bias; class = argmax(logits)",
            **client_arrays(compiled.model),
        },
        "accuracy": experiment.metrics.to_dict(),
        "config": experiment.config.to_dict(),
        "circuit": {
            **compiled.stats.to_dict(),
            "input_bytes": int(circuit.size_of_inputs),
            "output_bytes": int(circuit.size_of_outputs),
            "evaluation_key_bytes": int(circuit.size_of_bootstrap_keys + circuit.size_of_keyswitch_keys),
            "compress_evaluation_keys": bool(configuration.compress_evaluation_keys),
            "compress_input_ciphertexts": bool(configuration.compress_input_ciphertexts),
        },
    }
    storage.atomic_write_bytes(folder / README_FILE, _readme(info).encode(), mode=0o644)
    return storage.atomic_write_json(folder / MODEL_FILE, info, mode=0o644)


def _readme(info: dict) -> str:
    circuit = info["circuit"]
    example = ",".join(["0.5"] * len(info["features"]))
    return f"""# QAT Studio deployment: circuit {info['circuit_id']}

Exported {info['created']} from {info['source'] or 'an unsaved run'} by QAT Studio {info['versions']['qatstudio']}
with concrete-python {info['versions']['concrete-python']}.

- `{SERVER_FILE}`: the compiled circuit (Concrete's `fhe.Server.save`), for the server only.
- `{SPECS_FILE}`: Concrete's client specs; a client makes its keys and encrypts with them.
- `{MODEL_FILE}`: the scaling of raw feature values (tables), input quantization, output
  dequantization, feature and class names, accuracy figures and circuit statistics (format {info['format']}).

Serve it: `qatstudio serve {'{this folder}'} --port 8000`.
Predict from another shell: `qatstudio predict --server http://127.0.0.1:8000 --points {example}`
(one value per feature: {', '.join(info['features'])}; raw values as in the data file).

The client keeps its secret key; the server receives evaluation keys (about
{fmt_key_bytes(circuit['evaluation_key_bytes'], compressed=False)}, less once compressed to upload) and
ciphertexts only.
"""
