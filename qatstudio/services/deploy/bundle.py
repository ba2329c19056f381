"""A deployment folder: Concrete's saved server and client specs, plus ``model.json`` (what a client
needs beyond the circuit) and a README. Reading one needs neither Concrete nor torch (``export.py``
writes them)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...engine.errors import UserError
from ...engine.integer import IntegerMLP

BUNDLE_FORMAT = 2  # 2: raw feature values are scaled ("scaling") before quantization
SERVER_FILE = "server.zip"  # fhe.Server.save: the compiled circuit, for the server only
SPECS_FILE = "client.specs.json"  # fhe.ClientSpecs: what a client needs to make keys and encrypt
MODEL_FILE = "model.json"
README_FILE = "README.md"


class BundleError(UserError, ValueError):
    """A deployment folder can't be written or read; the message says what to change."""


def circuit_id(specs: bytes) -> str:
    """Names a circuit by its serialized client specs: keys made for one fit no other."""
    return hashlib.sha256(specs).hexdigest()[:32]


def client_model(arrays: dict[str, list]) -> IntegerMLP:
    """A IntegerMLP without layers: ``quantize_inputs`` and ``dequantize_outputs`` only."""
    return IntegerMLP.from_arrays({name: np.asarray(value) for name, value in arrays.items()}, [])


@dataclass
class Bundle:
    folder: Path
    info: dict
    specs: bytes

    @property
    def circuit_id(self) -> str:
        return self.info["circuit_id"]

    @property
    def server_path(self) -> Path:
        return self.folder / SERVER_FILE

    def client_model(self) -> IntegerMLP:
        return client_model(self.info["quantization"])


def load_bundle(folder: Path) -> Bundle:
    """Read a deployment folder; a missing, damaged or foreign one raises BundleError."""
    folder = Path(folder)
    try:
        info = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
        specs = (folder / SPECS_FILE).read_bytes()
    except FileNotFoundError as error:
        raise BundleError(f"{folder} is not a deployment folder (no {Path(error.filename).name}): "
                          f"make one with 'qatstudio export RUN.qats {folder}'") from error
    except (OSError, ValueError) as error:
        raise BundleError(f"can't read the deployment folder {folder}: {error}") from error
    if not isinstance(info, dict) or info.get("app") != "qatstudio":
        raise BundleError(f"{folder / MODEL_FILE} was not written by QAT Studio")
    if info.get("format", 0) > BUNDLE_FORMAT:
        raise BundleError(f"{folder} was exported by a newer QAT Studio: update the app to serve it")
    if info.get("circuit_id") != circuit_id(specs):
        raise BundleError(f"{folder / SPECS_FILE} does not belong to {folder / MODEL_FILE}: export the run again")
    if not (folder / SERVER_FILE).is_file():
        raise BundleError(f"{folder} has no {SERVER_FILE}: export the run again")
    return Bundle(folder, info, specs)
