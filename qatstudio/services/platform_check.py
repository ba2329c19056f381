"""Can the window open here? Asked before Qt is loaded, so that a missing display or a missing
system library gets one plain message instead of Qt's abort
(``qt.qpa.plugin: Could not load the Qt platform plugin "xcb" ... even though it was found``).

- No display: neither ``DISPLAY`` nor ``WAYLAND_DISPLAY`` is set. One line, naming what works
  without a window.
- X11: Qt's xcb platform plugin (``libqxcb.so`` of the installed PySide6, which needs
  ``libQt6XcbQpa``) links against X11/xcb libraries that wheels don't carry and a fresh system may
  lack. The dynamic loader itself is asked (``ldd``, i.e. ld.so in trace mode, with this process's
  environment) which of them it cannot load, so the list follows the installed Qt, never a list
  kept by hand. Each missing library is named, with the package that provides it.

Platforms that need no display (``QT_QPA_PLATFORM=offscreen``, ``minimal``, ...) are not checked.

    python -m qatstudio.services.platform_check                 # the message and exit status 1, or nothing and 0
    python -m qatstudio.services.platform_check --apt-packages  # the Debian packages to install (./dev uses it)
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

WITHOUT_A_WINDOW = "`qatstudio --selftest`, `qatstudio train` and `qatstudio reproduce` need no window"

# Libraries of the distribution that the xcb plugin, libQt6XcbQpa and libQt6Gui load (their
# DT_NEEDED entries, PySide6 6.6-6.11), with the package providing each: Debian 12 / Ubuntu 22.04+
# names from packages.debian.org's file lists, Fedora 40+ names from packages.fedoraproject.org.
# packaging/deb_depends.py maps these sonames to the .deb's Depends through this same table.
# A library not listed here is still named in the message, with how to find its package.
PACKAGES: dict[str, tuple[str, str]] = {
    # soname                   (Debian/Ubuntu,          Fedora)
    "libxcb.so.1":             ("libxcb1",              "libxcb"),
    "libxcb-cursor.so.0":      ("libxcb-cursor0",       "xcb-util-cursor"),  # Qt >= 6.5
    "libxcb-glx.so.0":         ("libxcb-glx0",          "libxcb"),
    "libxcb-icccm.so.4":       ("libxcb-icccm4",        "xcb-util-wm"),
    "libxcb-image.so.0":       ("libxcb-image0",        "xcb-util-image"),
    "libxcb-keysyms.so.1":     ("libxcb-keysyms1",      "xcb-util-keysyms"),
    "libxcb-randr.so.0":       ("libxcb-randr0",        "libxcb"),
    "libxcb-render.so.0":      ("libxcb-render0",       "libxcb"),
    "libxcb-render-util.so.0": ("libxcb-render-util0",  "xcb-util-renderutil"),
    "libxcb-shape.so.0":       ("libxcb-shape0",        "libxcb"),
    "libxcb-shm.so.0":         ("libxcb-shm0",          "libxcb"),
    "libxcb-sync.so.1":        ("libxcb-sync1",         "libxcb"),
    "libxcb-util.so.1":        ("libxcb-util1",         "xcb-util"),
    "libxcb-xfixes.so.0":      ("libxcb-xfixes0",       "libxcb"),
    "libxcb-xkb.so.1":         ("libxcb-xkb1",          "libxcb"),
    "libX11.so.6":             ("libx11-6",             "libX11"),
    "libX11-xcb.so.1":         ("libx11-xcb1",          "libX11-xcb"),
    "libxkbcommon.so.0":       ("libxkbcommon0",        "libxkbcommon"),
    "libxkbcommon-x11.so.0":   ("libxkbcommon-x11-0",   "libxkbcommon-x11"),
    "libGL.so.1":              ("libgl1",               "libglvnd-glx"),
    "libEGL.so.1":             ("libegl1",              "libglvnd-egl"),
    "libfontconfig.so.1":      ("libfontconfig1",       "fontconfig"),
    "libfreetype.so.6":        ("libfreetype6",         "freetype"),
    "libdbus-1.so.3":          ("libdbus-1-3",          "dbus-libs"),
    "libglib-2.0.so.0":        ("libglib2.0-0",         "glib2"),
    "libgthread-2.0.so.0":     ("libglib2.0-0",         "glib2"),
}

# Qt platforms that draw on a screen (everything else, e.g. offscreen or minimal, needs none).
_ON_SCREEN = ("xcb", "wayland")


@dataclass(frozen=True)
class Unloadable:
    """A library the loader can't load for the xcb plugin: its soname and the loader's reason."""
    soname: str
    reason: str = "not found"

    def package(self, system: str) -> Optional[str]:
        """Its package on ``system`` ("apt" or "dnf"), None if the table doesn't know it."""
        names = PACKAGES.get(self.soname)
        return None if names is None else names[0 if system == "apt" else 1]


def qt_platform(env: Mapping[str, str]) -> Optional[str]:
    """The platform Qt is told to use (``QT_QPA_PLATFORM``'s first choice, without options), or None."""
    chosen = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    return chosen or None


def no_display_message(env: Mapping[str, str]) -> Optional[str]:
    """One line when the window has no screen to go to; None when it has one (or needs none)."""
    platform = qt_platform(env)
    if platform is not None and not platform.startswith(_ON_SCREEN):
        return None
    if platform == "xcb" and not env.get("DISPLAY"):
        missing = "DISPLAY is not set (QT_QPA_PLATFORM=xcb)"
    elif platform is not None and platform.startswith("wayland") and not env.get("WAYLAND_DISPLAY"):
        missing = f"WAYLAND_DISPLAY is not set (QT_QPA_PLATFORM={platform})"
    elif platform is None and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        missing = "neither DISPLAY nor WAYLAND_DISPLAY is set"
    else:
        return None
    return f"no display to open the window on ({missing}); {WITHOUT_A_WINDOW}."


def uses_xcb(env: Mapping[str, str]) -> bool:
    """Will Qt load its xcb plugin? Asked for, or by default on X11 (a Wayland session tries
    Qt's wayland plugin first, which needs none of the xcb libraries)."""
    platform = qt_platform(env)
    if platform is not None:
        return platform == "xcb"
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def xcb_plugin() -> Optional[Path]:
    """The installed PySide6's ``libqxcb.so`` (found without loading Qt), None if it has none."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        plugin = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


_NOT_FOUND = re.compile(r"^\s*(\S+) => not found\s*$", re.MULTILINE)
_LOAD_ERROR = re.compile(r"error while loading shared libraries: ([^:]+): (.+)")


def unloadable_libraries(library: Path, env: Optional[Mapping[str, str]] = None) -> list[Unloadable]:
    """What the dynamic loader can't load among ``library``'s dependencies (all levels), in the
    order it reports them. Empty when everything loads, or when there's no ``ldd`` to ask."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    traced = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ if env is None else env))
    found: dict[str, Unloadable] = {}
    for soname in _NOT_FOUND.findall(traced.stdout):
        found.setdefault(soname, Unloadable(soname))
    # A library the loader found but can't use (damaged, wrong architecture) stops the trace.
    for path, reason in _LOAD_ERROR.findall(traced.stdout + traced.stderr):
        soname = Path(path).name
        found.setdefault(soname, Unloadable(soname, reason.strip()))
    return list(found.values())


def package_manager() -> Optional[str]:
    """"apt" on Debian/Ubuntu, "dnf" on Fedora, None elsewhere."""
    if shutil.which("apt-get"):
        return "apt"
    if shutil.which("dnf"):
        return "dnf"
    return None


def install_commands(missing: list[Unloadable], system: Optional[str]) -> list[str]:
    """The command that installs the known packages: this system's, or both when it's neither."""
    sudo = "" if os.geteuid() == 0 else "sudo "
    commands = []
    for name, tool in (("apt", "apt-get install"), ("dnf", "dnf install")):
        packages = sorted({lib.package(name) for lib in missing if lib.package(name)})
        if packages and system in (name, None):
            label = "" if system else ("Debian/Ubuntu: " if name == "apt" else "Fedora: ")
            commands.append(f"{label}{sudo}{tool} {' '.join(packages)}")
    return commands


def missing_libraries_message(missing: list[Unloadable], system: Optional[str]) -> str:
    """What's missing, the command that installs it, and what works meanwhile (several lines)."""
    named = ", ".join(lib.soname if lib.reason == "not found" else f"{lib.soname} ({lib.reason})" for lib in missing)
    lines = [f"the window can't open: Qt's X11 plugin (xcb) needs system libraries it can't load: {named}."]
    commands = install_commands(missing, system)
    if commands:
        lines.append("Install them with:" if len(commands) == 1 else "Install them with one of:")
        lines += [f"    {command}" for command in commands]
    for lib in missing:
        if lib.package("apt") is None:
            lines.append(f"{lib.soname}: find the package that provides it "
                         f"(`apt-file search {lib.soname}` or `dnf provides '*/{lib.soname}'`).")
    lines.append(f"Meanwhile, {WITHOUT_A_WINDOW}.")
    return "\n".join(lines)


def xcb_unloadable(env: Mapping[str, str]) -> list[Unloadable]:
    """The xcb plugin's libraries the loader can't load, when Qt is going to use that plugin."""
    if no_display_message(env) is not None or not uses_xcb(env):
        return []
    plugin = xcb_plugin()
    return [] if plugin is None else unloadable_libraries(plugin, env)


def window_problem(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """Why the window can't open here, in plain words, or None when nothing stands in its way."""
    env = os.environ if env is None else env
    no_display = no_display_message(env)
    if no_display is not None:
        return no_display
    missing = xcb_unloadable(env)
    return missing_libraries_message(missing, package_manager()) if missing else None


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qatstudio.services.platform_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apt-packages", action="store_true",
                        help="print the Debian packages the window lacks here (none: an empty line)")
    args = parser.parse_args(argv)
    if args.apt_packages:
        print(" ".join(sorted({lib.package("apt") for lib in xcb_unloadable(os.environ) if lib.package("apt")})))
        return 0
    problem = window_problem()
    if problem is None:
        return 0
    print(f"qatstudio: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
