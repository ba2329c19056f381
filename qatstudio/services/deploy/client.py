"""The client of an encrypted-inference server (``qatstudio serve``): it makes and keeps the secret
key on this machine and sends the server only evaluation keys and ciphertexts.

    with EncryptedClient("http://127.0.0.1:8000") as client:
        predictions = client.predict(points)
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import httpx
import numpy as np

from ...engine.cancel import Cancelled
from ...engine.data import Scaling
from ...engine.fhe import generate_keys, import_concrete
from .. import storage
from .bundle import circuit_id, client_model
from .protocol import API, CIRCUIT_HEADER, SECONDS_HEADER

KEYS_FILE_SUFFIX = ".keys"
UPLOADS_FILE = "uploads.json"  # which key id each server holds for our keys


class ClientError(RuntimeError):
    """The server can't be used; the message says why and what to change."""


@dataclass
class Timing:
    """One sample's round trip. ``upload_s`` is sending the ciphertext plus the network's latency;
    ``download_s`` is receiving the result."""

    encrypt_s: float
    upload_s: float
    server_s: float
    download_s: float
    decrypt_s: float
    sent_bytes: int
    received_bytes: int


@dataclass
class Prediction:
    point: np.ndarray  # the raw feature values sent
    inputs: np.ndarray  # its quantized integers, what was encrypted
    outputs: np.ndarray  # decrypted last-layer accumulators
    logits: np.ndarray
    label: int
    timing: Timing
    ciphertext_head: bytes = field(repr=False, default=b"")  # the first bytes of what was sent


@dataclass
class KeyUpload:
    key_id: str
    sent_bytes: int  # 0 when the server already had our keys
    seconds: float


def client_keys_dir() -> Path:
    return storage.private_dir(storage.cache_dir() / "client-keys")


class EncryptedClient:
    """Talks to one server about its one circuit. Keys live in ``keys_dir`` (private, 0600 files)."""

    def __init__(self, url: str, keys_dir: Optional[Path] = None, timeout_s: float = 300.0):
        self.url = url.rstrip("/")
        self.keys_dir = storage.private_dir(Path(keys_dir)) if keys_dir else client_keys_dir()
        self.http = httpx.Client(base_url=self.url, timeout=httpx.Timeout(timeout_s, connect=10.0))
        try:
            self.info = self._get(f"{API}/model").json()
            specs = self._get(f"{API}/client-specs").content
        except BaseException:
            self.http.close()
            raise
        self.circuit_id = circuit_id(specs)
        if self.circuit_id != self.info.get("circuit_id"):
            self.http.close()
            raise ClientError(f"{self.url} sent client specs that don't match its model: is it a QAT Studio server?")
        self.model = client_model(self.info["quantization"])
        self.scaling = Scaling.from_dict(self.info["scaling"]) if self.info.get("scaling") else None
        self.classes: list[str] = self.info["classes"]
        fhe = import_concrete()
        self._fhe = fhe
        self._client = fhe.Client(fhe.ClientSpecs.deserialize(specs))
        self.keygen_s: Optional[float] = None  # None until our keys are loaded or made
        self.keys_cached = False
        self.upload: Optional[KeyUpload] = None

    def __enter__(self) -> "EncryptedClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    # --- HTTP ---
    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TimeoutException as error:
            raise ClientError(f"{self.url} did not answer in time ({type(error).__name__})") from error
        except httpx.HTTPError as error:
            raise ClientError(f"can't reach {self.url}: {error}; is 'qatstudio serve' running there?") from error
        if response.status_code >= 400:
            raise ClientError(f"{self.url} answered {response.status_code}: {_detail(response)}")
        return response

    def _get(self, path: str) -> httpx.Response:
        return self._request("GET", path)

    # --- keys ---
    @property
    def keys_path(self) -> Path:
        return self.keys_dir / f"{self.circuit_id}{KEYS_FILE_SUFFIX}"

    def ensure_keys(self) -> bool:
        """Load this circuit's keys, or make them (fresh random seeds); True if they were cached.
        (Concrete's client would make keys from seed 0 on its first encryption: never let it.)"""
        if self.keygen_s is not None:
            return self.keys_cached
        start = time.perf_counter()
        cached = self.keys_path.exists()
        keys = None
        if cached:
            try:
                keys = self._fhe.Keys.deserialize(self.keys_path)
            except RuntimeError:  # damaged: make new ones
                cached = False
        if keys is None:
            keys = generate_keys(self._client.specs)
            storage.atomic_write(self.keys_path, lambda temp: (temp.unlink(), keys.serialize_to_file(temp)))
        self._client.keys = keys
        self.keygen_s, self.keys_cached = time.perf_counter() - start, cached
        return cached

    def evaluation_keys(self) -> bytes:
        self.ensure_keys()
        return self._client.evaluation_keys.serialize()

    def _uploads(self) -> dict:
        try:
            return json.loads((self.keys_dir / UPLOADS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def ensure_uploaded(self) -> KeyUpload:
        """Upload our evaluation keys unless this server still holds them; the key id to predict with."""
        if self.upload is not None:
            return self.upload
        self.ensure_keys()
        uploads = self._uploads()
        slot = f"{self.url} {self.circuit_id} {self.keys_path.stat().st_mtime_ns}"
        start = time.perf_counter()
        known = uploads.get(slot)
        if known and self.http.get(f"{API}/keys/{known}").status_code == 200:
            self.upload = KeyUpload(known, 0, time.perf_counter() - start)
            return self.upload
        body = self.evaluation_keys()
        start = time.perf_counter()
        answer = self._request("POST", f"{API}/keys", content=body,
                               headers={CIRCUIT_HEADER: self.circuit_id, "Content-Type": "application/octet-stream"})
        self.upload = KeyUpload(answer.json()["key_id"], len(body), time.perf_counter() - start)
        uploads[slot] = self.upload.key_id
        storage.atomic_write_json(self.keys_dir / UPLOADS_FILE, uploads)
        return self.upload

    # --- prediction ---
    def quantize(self, point) -> np.ndarray:
        """Raw feature values to the circuit's integers: scaled as the model was trained (tables), then quantized."""
        point = np.asarray(point, dtype=np.float64).reshape(-1)
        expected = len(self.info["features"])
        if point.shape[0] != expected:
            raise ClientError(f"each point needs {expected} values ({', '.join(self.info['features'])}), "
                              f"got {point.shape[0]}")
        scaled = self.scaling.apply(point[None]) if self.scaling else point[None].astype(np.float32)
        return self.model.quantize_inputs(scaled)[0]

    def encrypt(self, inputs: np.ndarray) -> bytes:
        """The serialized ciphertext of one row of quantized inputs."""
        self.ensure_keys()
        return self._client.encrypt(np.asarray(inputs, dtype=np.int64)).serialize()

    def predict_one(self, point) -> Prediction:
        key_id = self.ensure_uploaded().key_id
        point = np.asarray(point, dtype=np.float64).reshape(-1)
        inputs = self.quantize(point)
        start = time.perf_counter()
        sent = self.encrypt(inputs)
        encrypt_s = time.perf_counter() - start
        request = self.http.build_request("POST", f"{API}/predict/{key_id}", content=sent,
                                          headers={"Content-Type": "application/octet-stream"})
        sending = time.perf_counter()
        try:
            response = self.http.send(request, stream=True)
            try:
                answered = time.perf_counter()  # the headers are in: the server has finished
                received = response.read()
            finally:
                response.close()
        except httpx.TimeoutException as error:
            raise ClientError(f"{self.url} did not answer in time ({type(error).__name__})") from error
        except httpx.HTTPError as error:
            raise ClientError(f"can't reach {self.url}: {error}") from error
        done = time.perf_counter()
        if response.status_code >= 400:
            raise ClientError(f"{self.url} answered {response.status_code}: {_detail(response)}")
        server_s = float(response.headers.get(SECONDS_HEADER, 0.0))
        start = time.perf_counter()
        outputs = np.asarray(self._client.decrypt(self._fhe.Value.deserialize(received)), dtype=np.int64).reshape(-1)
        decrypt_s = time.perf_counter() - start
        logits = self.model.dequantize_outputs(outputs[None])[0]
        timing = Timing(encrypt_s, max(0.0, answered - sending - server_s), server_s, done - answered, decrypt_s,
                        len(sent), len(received))
        return Prediction(point, inputs, outputs, logits, int(np.argmax(logits)), timing, sent[:64])

    def predict(self, points, should_stop: Optional[Callable[[], bool]] = None,
                on_sample: Optional[Callable[[int, int, Prediction], None]] = None) -> list[Prediction]:
        """Encrypt, send, decrypt each point in turn; stops between points when asked (raises Cancelled)."""
        points = np.asarray(points, dtype=np.float64)
        results = []
        for index, point in enumerate(points):
            if should_stop is not None and should_stop():
                raise Cancelled()
            results.append(self.predict_one(point))
            if on_sample is not None:
                on_sample(index + 1, len(points), results[-1])
        return results


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200] or response.reason_phrase
