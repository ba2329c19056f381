"""The processes that run the circuit for the server.

Concrete's native code aborts the whole process when it is given evaluation keys made for another
circuit, and a native call can't be interrupted: so the circuit runs in child processes that the
server restarts after a crash and kills after a time limit, and the server itself never loads it.
"""
from __future__ import annotations

import multiprocessing
import queue
import shutil
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

KEYS_IN_MEMORY = 2  # evaluation key sets each worker keeps deserialized (100+ MB each)


class WorkerError(Exception):
    """The work could not be done; the message says why in words meant for the client."""


class Rejected(WorkerError):
    """Concrete refused the bytes (not keys, not a ciphertext of this circuit)."""


class Crashed(WorkerError):
    """The worker died while running: the keys or the ciphertext don't fit the circuit."""


class TimedOut(WorkerError):
    pass


class Busy(WorkerError):
    pass


def _serve_requests(connection, server_path: str, scratch: str) -> None:
    """The child's loop: answers ("check", key_path) and ("run", key_path, ciphertext)."""
    tempfile.tempdir = scratch  # fhe.Server.load unpacks into a temporary folder: keep it in ours
    from ...engine.fhe import import_concrete, keep_broken_pipes_catchable

    fhe = import_concrete()
    server = fhe.Server.load(server_path)
    loaded: OrderedDict[str, object] = OrderedDict()

    def evaluation_keys(path: str):
        if path not in loaded:
            loaded[path] = fhe.EvaluationKeys.deserialize(Path(path).read_bytes())
            while len(loaded) > KEYS_IN_MEMORY:
                loaded.popitem(last=False)
        loaded.move_to_end(path)
        return loaded[path]

    connection.send(("ready",))
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        try:
            if request[0] == "check":
                fhe.EvaluationKeys.deserialize(Path(request[1]).read_bytes())
                connection.send(("ok", b"", 0.0))
            else:
                keys = evaluation_keys(request[1])
                value = fhe.Value.deserialize(request[2])
                start = time.perf_counter()
                result = server.run(value, evaluation_keys=keys)
                keep_broken_pipes_catchable()
                connection.send(("ok", result.serialize(), time.perf_counter() - start))
        except Exception as error:  # Concrete's own words about bad bytes
            connection.send(("rejected", str(error).splitlines()[0][:300] if str(error) else type(error).__name__))


class Worker:
    """One child process running the saved circuit."""

    def __init__(self, server_path: Path, scratch: Path, start_timeout_s: float = 120.0):
        self.server_path, self.scratch, self.start_timeout_s = Path(server_path), Path(scratch), start_timeout_s
        self._process = None
        self._connection = None
        self.closed = False  # stopped for good: no restart after a crash

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
        ours, theirs = context.Pipe()
        self._process = context.Process(target=_serve_requests, args=(theirs, str(self.server_path),
                                                                       str(self.scratch)), daemon=True)
        self._process.start()
        theirs.close()
        self._connection = ours
        if not ours.poll(self.start_timeout_s):
            self.stop()
            raise WorkerError("the circuit's worker process did not start in time")
        try:
            ours.recv()
        except EOFError:
            self.stop()
            raise WorkerError("the circuit's worker process could not load the saved circuit") from None

    def stop(self) -> None:
        if self._process is not None:
            if self._connection is not None:
                self._connection.close()
            self._process.join(2.0)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._process = None
        shutil.rmtree(self.scratch, ignore_errors=True)

    def close(self) -> None:
        self.closed = True
        self.stop()

    def _restart(self) -> None:
        self.stop()
        if not self.closed:
            self.start()

    @property
    def pid(self):
        return self._process.pid if self._process is not None else None

    def call(self, request: tuple, timeout_s: float) -> tuple[bytes, float]:
        """Send ``request``; its (bytes, seconds) answer. Restarts the process after a crash or a timeout."""
        if self.closed:
            raise WorkerError("the server is stopping")
        try:
            self._connection.send(request)
            answered = self._connection.poll(timeout_s)
            reply = self._connection.recv() if answered else None
        except (EOFError, OSError):
            self._restart()
            raise Crashed("the circuit failed on these evaluation keys and ciphertext") from None
        if reply is None:
            self._process.kill()
            self._restart()
            raise TimedOut(f"the circuit took longer than {timeout_s:.0f} s and was stopped")
        if reply[0] == "rejected":
            raise Rejected(reply[1])
        return reply[1], reply[2]


class WorkerPool:
    """``size`` workers; a request waits at most ``wait_s`` for a free one."""

    def __init__(self, server_path: Path, scratch: Path, size: int = 1, wait_s: float = 60.0):
        self.wait_s = wait_s
        self.workers = [Worker(server_path, Path(scratch) / f"worker-{i}") for i in range(size)]
        self._idle: queue.Queue[Worker] = queue.Queue()

    def start(self) -> None:
        for worker in self.workers:
            worker.start()
            self._idle.put(worker)

    def stop(self) -> None:
        for worker in self.workers:
            worker.close()

    def call(self, request: tuple, timeout_s: float) -> tuple[bytes, float]:
        try:
            worker = self._idle.get(timeout=self.wait_s)
        except queue.Empty:
            raise Busy(f"every worker stayed busy for {self.wait_s:.0f} s: try again later") from None
        try:
            return worker.call(request, timeout_s)
        finally:
            self._idle.put(worker)

    def check_keys(self, path: Path, timeout_s: float) -> None:
        self.call(("check", str(path)), timeout_s)

    def run(self, key_path: Path, ciphertext: bytes, timeout_s: float) -> tuple[bytes, float]:
        return self.call(("run", str(key_path), ciphertext), timeout_s)
