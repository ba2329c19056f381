"""Runs for sweep tests that end their Dask worker process the hard way, as a crash or the OOM
killer would. Importable by the workers (tests/ is on the sys.path they inherit)."""
from __future__ import annotations

import os
import time
from pathlib import Path

from qatstudio.services.sweep import run_one


def run_or_die(config, tables, should_stop=None, *, always: int, once: int, marks: str, after_s: float = 0.0):
    """Run ``config``, except: a net of ``always`` neurons kills its worker every time, one of
    ``once`` neurons kills its worker on its first attempt only (a file in ``marks`` remembers it).
    The worker dies ``after_s`` into the run (Dask doesn't restart a worker that dies while starting)."""
    mark = Path(marks) / f"died-{config.n_hidden}-{config.seed}"
    if config.n_hidden == always or (config.n_hidden == once and not mark.exists()):
        mark.touch()
        time.sleep(after_s)
        os._exit(1)
    return run_one(config, tables, should_stop)
