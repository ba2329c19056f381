"""This machine's lookup times (``engine.cost.LookupTimes``), measured once and kept per machine
and Concrete version: what the optimizer and the live estimate predict latency and keys from."""
from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Callable, Optional

from ..engine.cost import LookupTimes, measure_lookup_times
from . import storage


def machine_key() -> str:
    """What the times depend on: the machine, its cores and Concrete's version."""
    return "-".join([platform.node() or "machine", platform.machine(), f"{os.cpu_count() or 1}cores",
                     f"concrete{metadata.version('concrete-python')}"])


def calibration_path() -> Path:
    return storage.cache_dir() / "calibration" / f"{machine_key()}.json"


def cached_lookup_times() -> Optional[LookupTimes]:
    """This machine's measured times, or None when never measured (or the file is unreadable)."""
    try:
        return LookupTimes.from_dict(json.loads(calibration_path().read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def calibrate(on_progress: Optional[Callable[[int, int], None]] = None,
              should_stop: Optional[Callable[[], bool]] = None) -> Optional[LookupTimes]:
    """Measure this machine's lookup times (about a minute) and keep them; None when stopped."""
    times = measure_lookup_times(on_progress=on_progress, should_stop=should_stop)
    if times is not None:
        storage.private_dir(calibration_path().parent)
        storage.atomic_write_json(calibration_path(), times.to_dict())
    return times


def lookup_times(on_progress: Optional[Callable[[int, int], None]] = None,
                 should_stop: Optional[Callable[[], bool]] = None) -> Optional[LookupTimes]:
    """The cached times, measured first when this machine has none."""
    return cached_lookup_times() or calibrate(on_progress, should_stop)
