"""The client of an encrypted-inference server (``qatstudio serve``): it makes and keeps the secret
key on this machine and sends the server only evaluation keys and ciphertexts.

    with EncryptedClient("http://127.0.0.1:8000") as client:
        predictions = client.predict(points)

Keys are made in a child process (Concrete's key generation is one long call that holds the
interpreter), so the caller can show the time passing and an estimate from the last keys made here.
"""
from __future__ import annotations

import json
import multiprocessing
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

import httpx
import numpy as np

from ...engine.cancel import Cancelled
from ...engine.data import Scaling
from ...engine.errors import UserError
from ...engine.fhe import generate_keys, import_concrete
from .. import storage
from .bundle import circuit_id, client_model
from .protocol import API, CIRCUIT_HEADER, SECONDS_HEADER

KEYS_FILE_SUFFIX = ".keys"
UPLOADS_FILE = "uploads.json"  # which key id each server holds for our keys
KEYGEN_RATE_FILE = "keygen-rate.json"  # how fast keys were last made here: circuit key bytes per second
PROGRESS_S = 0.5  # how often key generation's progress is told
UPLOAD_CHUNK = 1 << 20  # evaluation keys are sent this many bytes at a time (progress between them)

KeygenProgress = Callable[[float, Optional[float]], None]  # (seconds so far, estimated total seconds or None)
UploadProgress = Callable[[int, int, float], None]  # (bytes sent, bytes in all, seconds so far)


class ClientError(UserError, RuntimeError):
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
        self.label_column: Optional[str] = (self.info.get("config") or {}).get("data", {}).get("label_column")
        fhe = import_concrete()
        self._fhe = fhe
        self._specs = specs
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

    def ensure_keys(self, on_progress: Optional[KeygenProgress] = None) -> bool:
        """Load this circuit's keys, or make them (fresh random seeds); True if they were cached.
        While keys are made, ``on_progress(seconds so far, estimated seconds or None)`` is called
        every PROGRESS_S. (Concrete's client would make keys from seed 0 on its first encryption:
        never let it.)"""
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
            keys = self._make_keys(on_progress or (lambda seconds, estimate: None))
        self._client.keys = keys
        self.keygen_s, self.keys_cached = time.perf_counter() - start, cached
        return cached

    @property
    def keygen_estimate_s(self) -> Optional[float]:
        """Seconds making this circuit's keys should take, from the rate keys were last made at here."""
        try:
            rate = float(json.loads((self.keys_dir / KEYGEN_RATE_FILE).read_text(encoding="utf-8"))["bytes_per_s"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        size = self.info.get("circuit", {}).get("evaluation_key_bytes")
        return size / rate if size and rate > 0 else None

    def _make_keys(self, on_progress: KeygenProgress):
        estimate = self.keygen_estimate_s
        child = multiprocessing.get_context("spawn").Process(
            target=_make_keys_child, args=(self._specs, str(self.keys_path)), daemon=True)
        start = time.perf_counter()
        child.start()
        try:
            while child.is_alive():
                child.join(PROGRESS_S)
                on_progress(time.perf_counter() - start, estimate)
        finally:
            if child.is_alive():  # interrupted
                child.terminate()
                child.join()
        seconds = time.perf_counter() - start
        if child.exitcode != 0 or not self.keys_path.exists():
            raise ClientError(f"making the keys failed in their worker process (exit code {child.exitcode})")
        size = self.info.get("circuit", {}).get("evaluation_key_bytes")
        if size:
            storage.atomic_write_json(self.keys_dir / KEYGEN_RATE_FILE, {"bytes_per_s": size / seconds})
        return self._fhe.Keys.deserialize(self.keys_path)

    def evaluation_keys(self) -> bytes:
        self.ensure_keys()
        return self._client.evaluation_keys.serialize()

    def _uploads(self) -> dict:
        try:
            return json.loads((self.keys_dir / UPLOADS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def ensure_uploaded(self, on_progress: Optional[UploadProgress] = None) -> KeyUpload:
        """Upload our evaluation keys unless this server still holds them; the key id to predict with.
        ``on_progress(sent, total, seconds)`` follows each UPLOAD_CHUNK sent."""
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
        tell = on_progress or (lambda sent, total, seconds: None)
        start = time.perf_counter()

        def chunks() -> Iterator[bytes]:
            for offset in range(0, len(body), UPLOAD_CHUNK):
                yield body[offset: offset + UPLOAD_CHUNK]
                tell(min(len(body), offset + UPLOAD_CHUNK), len(body), time.perf_counter() - start)

        answer = self._request("POST", f"{API}/keys", content=chunks(),
                               headers={CIRCUIT_HEADER: self.circuit_id, "Content-Type": "application/octet-stream",
                                        "Content-Length": str(len(body))})
        self.upload = KeyUpload(answer.json()["key_id"], len(body), time.perf_counter() - start)
        uploads[slot] = self.upload.key_id
        storage.atomic_write_json(self.keys_dir / UPLOADS_FILE, uploads)
        return self.upload

    # --- prediction ---
    def check_points(self, points) -> np.ndarray:
        """``points`` as a (rows, features) float64 array; ClientError in words unless each has one finite
        value per feature (checked before any key is made)."""
        points = np.asarray(points, dtype=np.float64)
        points = points.reshape(1, -1) if points.ndim == 1 else points
        features = self.info["features"]
        if points.ndim != 2 or points.shape[1] != len(features):
            got = points.shape[-1] if points.ndim else 1
            raise ClientError(f"each point needs {len(features)} values ({', '.join(features)}), got {got}")
        if not np.isfinite(points).all():
            row = int(np.argwhere(~np.isfinite(points))[0][0])
            raise ClientError(f"point {row + 1} has a value that isn't a finite number: give each feature a number")
        return points

    def quantize(self, point) -> np.ndarray:
        """Raw feature values to the circuit's integers: scaled as the model was trained (tables), then
        quantized (values outside the training range are clipped to the circuit's input box)."""
        point = self.check_points(point)[0]
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

    def predictions(self, points, should_stop: Optional[Callable[[], bool]] = None) -> Iterator[Prediction]:
        """Encrypt, send, decrypt each point in turn, each answer given as soon as it is decrypted;
        stops between points when asked (raises Cancelled)."""
        for point in self.check_points(points):
            if should_stop is not None and should_stop():
                raise Cancelled()
            yield self.predict_one(point)

    def predict(self, points, should_stop: Optional[Callable[[], bool]] = None,
                on_sample: Optional[Callable[[int, int, Prediction], None]] = None) -> list[Prediction]:
        """Every point's prediction (see ``predictions``); ``on_sample(done, total, prediction)`` follows each."""
        points = self.check_points(points)
        results = []
        for prediction in self.predictions(points, should_stop):
            results.append(prediction)
            if on_sample is not None:
                on_sample(len(results), len(points), prediction)
        return results


def _make_keys_child(specs: bytes, path: str) -> None:
    """Child process of ``EncryptedClient.ensure_keys``: new keys for these client specs, saved at ``path``."""
    keys = generate_keys(import_concrete().ClientSpecs.deserialize(specs))
    storage.atomic_write(Path(path), lambda temp: (temp.unlink(), keys.serialize_to_file(temp)))


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json()["detail"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200] or response.reason_phrase
