"""The window's start-up check: a plain message, not Qt's abort, when a system library or the display
is missing. The loader itself is asked: the tests hide libraries from it for real."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qatstudio.services import platform_check
from qatstudio.services.platform_check import Unloadable

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = "libxcb-shape.so.0"  # needed by libQt6XcbQpa; any library of the plugin would do

pytestmark = pytest.mark.skipif(platform_check.xcb_plugin() is None or shutil.which("ldd") is None,
                                reason="needs PySide6's xcb plugin (Linux) and ldd")


def _env(**changes) -> dict:
    """This environment without any display settings, plus ``changes``."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env.update(changes)
    return env


def test_a_library_the_loader_cannot_load_is_named_with_its_package(tmp_path):
    """A broken copy of one of the plugin's libraries comes first on the loader's path: the check
    (in its own process, as ./dev runs it) names it and the package that provides it."""
    (tmp_path / HIDDEN).write_bytes(b"")  # the loader finds it first, and can't load it
    display = _env(DISPLAY=":99")  # an X display is claimed: no server is needed for the check
    hidden = subprocess.run([sys.executable, "-m", "qatstudio.services.platform_check"], capture_output=True, text=True,
                            timeout=120, env={**display, "LD_LIBRARY_PATH": str(tmp_path)})
    assert hidden.returncode == 1, hidden.stderr
    message = hidden.stderr
    assert f"{HIDDEN} (file too short)" in message
    system = platform_check.package_manager()
    if system in ("apt", None):
        assert "apt-get install " in message and " libxcb-shape0" in message
    if system in ("dnf", None):
        assert "dnf install " in message and " libxcb" in message
    assert "--selftest" in message and "Traceback" not in message
    packages = subprocess.run([sys.executable, "-m", "qatstudio.services.platform_check", "--apt-packages"],
                              capture_output=True, text=True, timeout=120,
                              env={**display, "LD_LIBRARY_PATH": str(tmp_path)})
    assert "libxcb-shape0" in packages.stdout.split()
    # the same check without the broken copy doesn't blame that library
    plain = subprocess.run([sys.executable, "-m", "qatstudio.services.platform_check"], capture_output=True, text=True,
                           timeout=120, env=display)
    assert HIDDEN not in plain.stderr


def test_a_missing_library_unknown_to_the_table_is_still_named(tmp_path):
    """A copy of the plugin whose libQt6XcbQpa asks for a library no system has: the loader reports
    it not found, and the message names it and how to find its package."""
    plugin = platform_check.xcb_plugin()
    qt = tmp_path / "Qt"
    (qt / "plugins" / "platforms").mkdir(parents=True)
    shutil.copy(plugin, qt / "plugins" / "platforms" / plugin.name)
    (qt / "lib").mkdir()
    for library in (plugin.parents[2] / "lib").iterdir():  # the plugin's RUNPATH: $ORIGIN/../../lib
        (qt / "lib" / library.name).symlink_to(library)
    qpa = qt / "lib" / "libQt6XcbQpa.so.6"
    data = qpa.read_bytes()
    absent = b"libqatstudio-x.so"  # as long as HIDDEN, so the string table keeps its layout
    assert len(absent) == len(HIDDEN) and HIDDEN.encode() + b"\0" in data
    qpa.unlink()
    qpa.write_bytes(data.replace(HIDDEN.encode() + b"\0", absent + b"\0"))

    missing = platform_check.unloadable_libraries(qt / "plugins" / "platforms" / plugin.name, _env())
    assert Unloadable(absent.decode()) in missing
    assert Unloadable(HIDDEN) not in missing
    message = platform_check.missing_libraries_message(missing, "apt")
    assert f"{absent.decode()}: find the package that provides it" in message


def test_without_a_display_the_app_says_so_in_one_line():
    done = subprocess.run([sys.executable, "-m", "qatstudio"], capture_output=True, text=True, timeout=120,
                          env=_env())
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("qatstudio: no display to open the window on")
    assert "`qatstudio --selftest`" in lines[0] and "train" in lines[0] and "reproduce" in lines[0]
    assert done.stdout == ""


@pytest.mark.parametrize("env, problem", [
    ({"QT_QPA_PLATFORM": "offscreen"}, False),
    ({"QT_QPA_PLATFORM": "minimal"}, False),
    ({"QT_QPA_PLATFORM": "xcb"}, True),
    ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, True),
    ({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, True),
    ({"WAYLAND_DISPLAY": "wayland-0"}, False),
    ({}, True),
])
def test_which_platforms_need_a_display(env, problem):
    assert (platform_check.no_display_message(env) is not None) is problem


def test_xcb_is_checked_only_where_qt_uses_it():
    assert platform_check.uses_xcb({"DISPLAY": ":0"})
    assert platform_check.uses_xcb({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0", "WAYLAND_DISPLAY": "w"})
    assert not platform_check.uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"})  # Qt tries wayland
    assert not platform_check.uses_xcb({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"})

