"""Where sweeps run: Dask's distributed scheduler, on worker processes of this computer (the default)
or on an existing cluster reached at ``tcp://HOST:8786``.

The local cluster has one single-threaded worker process per core but one, so the window keeps a
core, and holds only the run it executes. A worker that dies mid-run makes Dask run that run once more
elsewhere; a second death marks it failed (``allowed_failures=1``). An existing cluster keeps its own
scheduler's settings (the README says how to start one with the same).
"""
from __future__ import annotations

import importlib.util
import logging
import os
import re
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional
from urllib.parse import urlsplit

from ..engine.errors import UserError
from .formatting import plural

ALLOWED_FAILURES = 1  # worker deaths a run survives: it is retried once
_ADDRESS = re.compile(r"(tcp|tls)://[A-Za-z0-9_.\-\[\]:]+:\d{1,5}")


class ClusterError(UserError, ValueError):
    """The work can't run where it was asked to; the message says what to change."""

    title = "Can't run it on that Dask cluster"


def default_workers() -> int:
    """Worker processes of the local cluster: every core but one (at least one)."""
    return max(1, (os.cpu_count() or 1) - 1)


def _bokeh_installed() -> bool:
    """Dask's dashboard is drawn with bokeh, a dependency here; a scheduler elsewhere may lack it."""
    return importlib.util.find_spec("bokeh") is not None


@dataclass
class ClusterSettings:
    scheduler: str = ""  # "" = a local cluster started for the sweep; else tcp://HOST:PORT
    workers: Optional[int] = None  # local cluster only; None = default_workers()
    connect_timeout_s: float = 10.0  # an existing cluster only

    def problems(self) -> list[str]:
        problems = []
        address = self.scheduler.strip()
        if address and not _ADDRESS.fullmatch(address):
            problems.append(f"scheduler address '{address}': write it as tcp://HOST:PORT "
                            "(for example tcp://192.168.1.20:8786), or leave it empty for this computer")
        if self.workers is not None and self.workers < 1:
            problems.append(f"workers must be at least 1 (got {self.workers})")
        return problems

    def describe(self) -> str:
        if self.scheduler.strip():
            return f"the Dask cluster at {self.scheduler.strip()}"
        workers = self.workers or default_workers()
        return f"{plural(workers, 'worker process', 'worker processes')} on this computer"


@dataclass
class ClusterReady:
    """Where the sweep runs, and where Dask's dashboard shows it."""

    where: str
    workers: int
    dashboard_url: Optional[str]  # None: there is no dashboard (``dashboard_note`` says why)
    dashboard_note: str = ""


@contextmanager
def open_cluster(settings: ClusterSettings) -> Iterator[tuple["object", ClusterReady]]:
    """A connected ``distributed.Client`` and what to tell the user about it; a local cluster is
    started here and shut down (its processes ended) on the way out."""
    problems = settings.problems()
    if problems:
        raise ClusterError("; ".join(problems))
    import dask
    from distributed import Client, LocalCluster

    address = settings.scheduler.strip()
    if address:
        try:
            _check_reachable(address, settings.connect_timeout_s)  # a failed Client would leave its thread behind
            client = Client(address, timeout=settings.connect_timeout_s)
        except (OSError, TimeoutError) as error:
            raise ClusterError(f"can't reach the Dask scheduler at {address} ({error}): start `dask scheduler` "
                               "there (see the README), or leave the scheduler empty for this computer") from error
        try:
            yield client, _ready(client, settings.describe(), local=False)
        finally:
            client.close()
        return
    workers = settings.workers or default_workers()
    # A worker holds only the run it executes: when it dies, no queued run is blamed with it.
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            dashboard_address=":0",  # any free port
            memory_limit=0,  # no memory cap: Dask would restart a worker that a big model fills up
            scheduler_kwargs={"allowed_failures": ALLOWED_FAILURES},
            silence_logs=logging.ERROR,
        )
    try:
        client = Client(cluster)
        try:
            client.wait_for_workers(1)
            yield client, _ready(client, settings.describe(), local=True)
        finally:
            client.close()
    finally:
        cluster.close()


def _check_reachable(address: str, timeout_s: float) -> None:
    """Raise OSError unless something accepts connections at the address's host and port."""
    parts = urlsplit(address)
    socket.create_connection((parts.hostname, parts.port), timeout=timeout_s).close()


def _ready(client, where: str, local: bool) -> ClusterReady:
    workers = len(client.nthreads())
    if not local and not _scheduler_has_bokeh(client):
        return ClusterReady(where, workers, None, "No dashboard: Dask draws it with bokeh, which is not installed "
                                                  "beside the scheduler (pip install bokeh there).")
    return ClusterReady(where, workers, client.dashboard_link)


def _scheduler_has_bokeh(client) -> bool:
    try:
        return bool(client.run_on_scheduler(_bokeh_installed))
    except Exception:  # noqa: BLE001 - a scheduler without QAT Studio installed can't answer: assume the default
        return True
