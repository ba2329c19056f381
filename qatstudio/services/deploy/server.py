"""The encrypted-inference HTTP service (FastAPI): it holds evaluation keys and ciphertexts, never a
secret key. The circuit runs in worker processes (``workers.py``)."""
from __future__ import annotations

import asyncio
import hashlib
import os
import re
import time
from collections import deque
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from fastapi import FastAPI, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from .. import storage
from ..keys import KEY_CACHE_BYTES, trim_key_cache
from .bundle import Bundle
from .protocol import API, CIRCUIT_HEADER, SECONDS_HEADER, framed_size, framing_problem
from .workers import Busy, Crashed, Rejected, TimedOut, WorkerError, WorkerPool

KEY_ID = re.compile(r"^[0-9a-f]{32}$")
OBSERVED = 64  # payloads remembered for GET /v1/observed
SAMPLE_BYTES = 16  # of each payload, shown as what the server sees
SAMPLE_SEARCH = 4096  # bytes searched for them


@dataclass
class ServerSettings:
    workers: int = 1
    key_budget_bytes: int = KEY_CACHE_BYTES  # evaluation keys kept on disk; least recently used go first
    run_timeout_s: float = 300.0  # one prediction
    read_timeout_s: float = 300.0  # receiving one request's body
    wait_s: float = 120.0  # for a free worker
    keys_dir: Optional[Path] = None  # default: the app's cache, one folder per circuit


def keys_folder(bundle: Bundle, settings: ServerSettings) -> Path:
    root = settings.keys_dir or storage.cache_dir() / "server-keys"
    return storage.private_dir(Path(root) / bundle.circuit_id)


class _Service:
    """What the routes share: the circuit's limits, its key folder, the worker pool and what was seen."""

    def __init__(self, bundle: Bundle, settings: ServerSettings):
        self.bundle, self.settings = bundle, settings
        circuit = bundle.info["circuit"]
        # The circuit's key size is uncompressed; compressed keys measured 3.6-3.9x smaller: half is ample.
        key_shrink = 2 if circuit.get("compress_evaluation_keys") else 1
        self.key_limit = int(circuit["evaluation_key_bytes"] * 1.05) // key_shrink + (1 << 20)
        self.ciphertext_limit = 2 * int(circuit["input_bytes"]) + (64 << 10)
        self.folder = keys_folder(bundle, settings)
        self.pool = WorkerPool(bundle.server_path, self.folder / ".work" / str(os.getpid()), settings.workers,
                               settings.wait_s)
        self.observed: deque[dict] = deque(maxlen=OBSERVED)

    def observe(self, kind: str, payload: bytes) -> None:
        self.observed.append({"kind": kind, "bytes": len(payload), "sample_hex": _sample(payload).hex(),
                              "sha256": hashlib.sha256(payload).hexdigest()[:16], "time": time.time()})

    def key_path(self, key_id: str) -> Path:
        if not KEY_ID.match(key_id):
            raise HTTPException(404, f"unknown key id '{key_id[:40]}': upload evaluation keys first ({API}/keys)")
        return self.folder / f"{key_id}.keys"

    async def read_message(self, request: Request, limit: int, what: str, seen_as: str, made_by: str) -> bytes:
        """The body as one whole Concrete message (keys or a ciphertext), noted as what the server saw.
        It is read as it arrives and refused as soon as its first bytes can't start such a message, or
        its own header or the bytes so far pass ``limit`` or the size that header gives."""
        too_large = HTTPException(413, f"{what} too large: at most {limit} bytes for this circuit")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise too_large

        async def receive() -> bytes:
            chunks, size, expected = [], 0, None
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large
                chunks.append(chunk)
                if expected is None:
                    try:
                        expected = framed_size(b"".join(chunks))
                    except ValueError:
                        raise HTTPException(422, f"the {what} are not in Concrete's format: send the whole "
                                                 f"output of {made_by}") from None
                    if expected is not None and expected > limit:
                        raise HTTPException(413, f"{what} too large: their header says {expected} bytes, at "
                                                 f"most {limit} for this circuit")
                if expected is not None and size > expected:
                    raise HTTPException(422, f"the {what} should be {expected} bytes by their own header, but "
                                             f"more arrived: send the whole output of {made_by}")
            return b"".join(chunks)

        timeout = self.settings.read_timeout_s
        try:
            body = await asyncio.wait_for(receive(), timeout)
        except asyncio.TimeoutError:
            raise HTTPException(408, f"the {what} took longer than {timeout:.0f} s to arrive") from None
        except ClientDisconnect:
            raise HTTPException(400, f"the {what} was cut off: the client disconnected") from None
        if not body:
            raise HTTPException(400, f"the request has no {what} in its body")
        self.observe(seen_as, body)
        problem = framing_problem(body, what)
        if problem:
            raise HTTPException(422, f"{problem}: send the whole output of {made_by}")
        return body

    def store_keys(self, path: Path, body: bytes) -> None:
        """Keep uploaded keys once a worker has loaded them; the oldest go past the budget."""
        if path.exists():
            path.touch()
            return
        storage.atomic_write(path, lambda temp: (temp.write_bytes(body),
                                                 self.pool.check_keys(temp, self.settings.run_timeout_s)))
        trim_key_cache(self.folder, keep=path, budget=self.settings.key_budget_bytes)


def _refusal(error: WorkerError) -> HTTPException:
    if isinstance(error, Busy):
        return HTTPException(503, str(error), headers={"Retry-After": "5"})
    if isinstance(error, TimedOut):
        return HTTPException(504, str(error))
    return HTTPException(422, str(error))


def create_app(bundle: Bundle, settings: Optional[ServerSettings] = None) -> FastAPI:
    settings = settings or ServerSettings()
    service = _Service(bundle, settings)
    pool = service.pool

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(pool.start)
        try:
            yield
        finally:
            await run_in_threadpool(pool.stop)

    app = FastAPI(title="QAT Studio encrypted inference", version=str(bundle.info["format"]), lifespan=lifespan)
    app.state.pool = pool

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "circuit_id": bundle.circuit_id}

    @app.get(f"{API}/model")
    def model() -> dict:
        return bundle.info

    @app.get(f"{API}/client-specs")
    def client_specs() -> Response:
        return Response(bundle.specs, media_type="application/octet-stream")

    @app.get(f"{API}/observed")
    def what_the_server_saw() -> dict:
        return {"payloads": list(service.observed)}

    @app.get(f"{API}/keys/{{key_id}}")
    def key_info(key_id: str) -> dict:
        path = service.key_path(key_id)
        if not path.exists():
            raise HTTPException(404, f"unknown key id '{key_id}': upload evaluation keys first ({API}/keys)")
        return {"key_id": key_id, "bytes": path.stat().st_size}

    @app.post(f"{API}/keys")
    async def upload_keys(request: Request) -> dict:
        claimed = request.headers.get(CIRCUIT_HEADER)
        if claimed is None:
            raise HTTPException(400, f"say which circuit the keys were made for in the {CIRCUIT_HEADER} header")
        if claimed != bundle.circuit_id:
            raise HTTPException(409, f"these evaluation keys were made for another circuit ({claimed[:40]}); this "
                                     f"server runs {bundle.circuit_id}: make keys from {API}/client-specs")
        body = await service.read_message(request, service.key_limit, "evaluation keys", "evaluation keys",
                                          "EvaluationKeys.serialize()")
        key_id = hashlib.sha256(bundle.circuit_id.encode() + body).hexdigest()[:32]
        try:
            await run_in_threadpool(service.store_keys, service.folder / f"{key_id}.keys", body)
        except Rejected as error:
            raise HTTPException(422, f"these bytes are not evaluation keys for this circuit ({error})") from None
        except WorkerError as error:
            raise _refusal(error) from None
        return {"key_id": key_id, "bytes": len(body)}

    @app.post(f"{API}/predict/{{key_id}}")
    async def predict(key_id: str, request: Request) -> Response:
        path = service.key_path(key_id)
        if not path.exists():
            raise HTTPException(404, f"unknown key id '{key_id}' (never uploaded, or evicted): "
                                     f"upload evaluation keys again ({API}/keys)")
        body = await service.read_message(request, service.ciphertext_limit, "ciphertext bytes", "ciphertext in",
                                          "Value.serialize()")
        path.touch()  # most recently used
        start = time.perf_counter()
        try:
            result, _ = await run_in_threadpool(pool.run, path, body, settings.run_timeout_s)
        except Rejected as error:
            raise HTTPException(422, f"the ciphertext was rejected ({error}): encrypt with this server's "
                                     f"client specs") from None
        except Crashed as error:
            path.unlink(missing_ok=True)
            raise HTTPException(422, f"{error}: they were not made for this circuit, so key id {key_id} was "
                                     f"removed; make keys from {API}/client-specs and upload them") from None
        except WorkerError as error:
            raise _refusal(error) from None
        seconds = time.perf_counter() - start  # waiting for a worker, loading the keys, running the circuit
        service.observe("ciphertext out", result)
        return Response(result, media_type="application/octet-stream", headers={SECONDS_HEADER: f"{seconds:.6f}"})

    return app


def _sample(payload: bytes) -> bytes:
    """The most varied few bytes near the start: ciphertext material rather than framing and zeros."""
    starts = range(0, max(1, min(len(payload), SAMPLE_SEARCH) - SAMPLE_BYTES + 1), 8)
    best = max(starts, key=lambda start: len(set(payload[start:start + SAMPLE_BYTES])))
    return payload[best:best + SAMPLE_BYTES]


def serve(bundle: Bundle, host: str = "127.0.0.1", port: int = 8000, settings: Optional[ServerSettings] = None) -> None:
    """Run the service until interrupted (Ctrl+C or SIGTERM stop the workers too)."""
    import uvicorn

    config = uvicorn.Config(create_app(bundle, settings), host=host, port=port, log_level="warning",
                            timeout_keep_alive=30, timeout_graceful_shutdown=5)
    uvicorn.Server(config).run()
