"""A server on this machine in a child process (``qatstudio serve``), for the window and tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

import httpx

from ...engine.errors import UserError


class LocalServerError(UserError, RuntimeError):
    """The local server didn't start or answer; the message says why."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def serve_command() -> list[str]:
    """How to run ``qatstudio``: the frozen app is its own command line."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "qatstudio"]


class LocalServer:
    """``qatstudio serve FOLDER`` on 127.0.0.1 and a free port, until ``stop()``."""

    def __init__(self, folder: Optional[Path], port: Optional[int] = None, extra_args: tuple[str, ...] = (),
                 env: Optional[dict] = None):
        self.folder = Path(folder) if folder else None
        self.port, self._asked_port = port, port  # a free one is picked at each start unless given
        self.extra_args, self.env = list(extra_args), env
        self.process: Optional[subprocess.Popen] = None
        self.log = None

    def start(self, timeout_s: float = 180.0, should_stop: Optional[Callable[[], bool]] = None) -> "LocalServer":
        """Start and wait until it answers; ``should_stop()`` true stops it (raises Cancelled)."""
        from ...engine.cancel import Cancelled

        self.port = self.port or free_port()
        command = serve_command() + ["serve", str(self.folder), "--host", "127.0.0.1", "--port", str(self.port),
                                     *self.extra_args]
        self.log = tempfile.TemporaryFile()  # a file, not a pipe: a chatty server never blocks on it
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=self.log, env={**os.environ, **(self.env or {})})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if should_stop is not None and should_stop():
                self.stop()
                raise Cancelled()
            if self.process.poll() is not None:
                self.log.seek(0)
                error = self.log.read().decode(errors="replace").strip().splitlines()
                self.stop()
                raise LocalServerError(f"the local server stopped: {error[-1] if error else 'no message'}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise LocalServerError(f"the local server did not answer within {timeout_s:.0f} s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 20.0) -> None:
        """Ask it to stop (it stops its workers), kill it if it won't."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        self.process = None
        self.port = self._asked_port
