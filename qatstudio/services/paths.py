"""Where the shipped resources are: beside the source tree, inside a frozen bundle, or named by
QATSTUDIO_RESOURCES."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    override = os.environ.get("QATSTUDIO_RESOURCES")
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:  # PyInstaller
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def story_dir() -> Path:
    return resources_dir() / "story"


def examples_dir() -> Path:
    """The example CSV files shipped with the app."""
    return resources_dir() / "examples"


def is_shipped(path: Path) -> bool:
    """Whether ``path`` lies in the app's own resources (read from them, never write into them)."""
    try:
        return Path(path).resolve().is_relative_to(resources_dir().resolve())
    except OSError:
        return False


def start_folder(remembered: object, default: Path) -> Path:
    """Where a file dialog opens: ``remembered`` (the folder last used, as settings keep it) when it
    still exists and is not in the app's own resources, else ``default``."""
    if remembered:
        folder = Path(str(remembered))
        if folder.is_dir() and not is_shipped(folder):
            return folder
    return default
