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
