"""Where the app keeps its files, and how it writes them: atomically, readable only by the user."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

APP = "qatstudio"


def _base(env: str, fallback: str, name: str) -> Path:
    root = os.environ.get("QATSTUDIO_HOME")
    if root:  # one folder for everything (tests, portable installs)
        return Path(root) / name
    return Path(os.environ.get(env) or Path.home() / fallback) / APP


def cache_dir() -> Path:
    return _base("XDG_CACHE_HOME", ".cache", "cache")


def data_dir() -> Path:
    return _base("XDG_DATA_HOME", ".local/share", "data")


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with the user alone allowed in."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def atomic_write(path: Path, write: Callable[[Path], None], mode: int = 0o600) -> Path:
    """Write through ``write(temp_path)`` then rename over ``path``: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    temp_path = Path(temp)
    try:
        os.chmod(temp_path, mode)
        write(temp_path)
        os.chmod(temp_path, mode)
        os.replace(temp_path, path)
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o600) -> Path:
    return atomic_write(path, lambda temp: temp.write_bytes(data), mode)


def atomic_write_json(path: Path, value: Any, mode: int = 0o600) -> Path:
    text = json.dumps(value, indent=2, sort_keys=True, default=_json_default)
    return atomic_write(path, lambda temp: temp.write_text(text + "\n", encoding="utf-8"), mode)


def _json_default(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
