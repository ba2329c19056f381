"""The installer's parts agree with each other and with the app; the selftest works from source.

Fast and without PyInstaller: the spec is read as Python source (ast), not run. The full build,
install and frozen selftest are packaging/check.sh's job (minutes, root).
"""
from __future__ import annotations

import ast
import configparser
import os
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "qatstudio.spec"
DESKTOP = PACKAGING / "qatstudio.desktop"
ICONS = ROOT / "resources" / "icons"
MIME = PACKAGING / "deb" / "qatstudio-mime.xml"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
MAIN_CATEGORIES = {"AudioVideo", "Audio", "Video", "Development", "Education", "Game", "Graphics", "Network",
                   "Office", "Science", "Settings", "System", "Utility"}

sys.path.insert(0, str(PACKAGING))
import deb_depends  # noqa: E402


def _env(**changes) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}  # pipes as for users
    env.update(QT_QPA_PLATFORM="offscreen", **changes)
    return env


def _spec_assignments() -> dict:
    """The spec's simple top-level assignments (lists, dicts, strings) by name."""
    values = {}
    for node in ast.parse(SPEC.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return values


def _spec_calls() -> dict:
    """Keyword arguments of the spec's Analysis/EXE/COLLECT calls, as source text."""
    calls = {}
    for node in ast.walk(ast.parse(SPEC.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Analysis", "EXE", "COLLECT"):
            calls[node.func.id] = {kw.arg: ast.unparse(kw.value) for kw in node.keywords}
            calls[node.func.id]["_args"] = [ast.unparse(arg) for arg in node.args]
    return calls


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def _imports_of_the_app() -> set[str]:
    names = set()
    for path in (ROOT / "qatstudio").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


# --- desktop entry, icon, MIME type ---------------------------------------------------------------

def test_desktop_entry_launches_the_installed_command_with_the_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(DESKTOP)
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"].split()[0] == "qatstudio"  # /usr/bin/qatstudio, made by make_deb.sh
    assert desktop["Icon"] == "qatstudio" == ICONS.joinpath("qatstudio.svg").stem
    assert desktop["Terminal"] == "false"
    main = [c for c in desktop["Categories"].rstrip(";").split(";") if c in MAIN_CATEGORIES]
    assert len(main) == 1, f"one main category, or the menu lists the app twice: {main}"
    mime_type = ET.parse(MIME).getroot()[0].get("type")
    assert desktop["MimeType"].rstrip(";") == mime_type


def test_mime_type_matches_the_experiment_files():
    from qatstudio.services.experiment_file import SUFFIX

    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    globs = [g.get("pattern") for g in ET.parse(MIME).getroot().iterfind("m:mime-type/m:glob", ns)]
    assert globs == [f"*{SUFFIX}"]


def test_icon_has_every_theme_size_rendered_from_the_svg():
    svg = ET.parse(ICONS / "qatstudio.svg").getroot()
    assert svg.get("viewBox") == "0 0 256 256"
    for size in SIZES:
        png = ICONS / "hicolor" / f"{size}x{size}" / "apps" / "qatstudio.png"
        assert png.is_file(), f"missing {png}"
        assert _png_size(png) == (size, size)
    stale = subprocess.run([sys.executable, str(PACKAGING / "render_icons.py"), "--check"], env=_env(),
                           capture_output=True, text=True, timeout=120)
    assert stale.returncode == 0, "PNGs differ from the SVG: run packaging/render_icons.py\n" + stale.stderr


# --- the PyInstaller spec ---------------------------------------------------------------------------

def test_spec_builds_the_entry_point_into_the_folder_the_deb_installs():
    calls = _spec_calls()
    assert set(calls) == {"Analysis", "EXE", "COLLECT"}, "one-folder build: Analysis, EXE and COLLECT"
    assert "packaging" in calls["Analysis"]["_args"][0] and "entry.py" in calls["Analysis"]["_args"][0]
    assert (PACKAGING / "entry.py").is_file()
    assert calls["EXE"]["name"] == calls["COLLECT"]["name"] == "'qatstudio'"
    assert calls["EXE"]["exclude_binaries"] == "True", "onefile would unpack at every launch"
    make_deb = (PACKAGING / "make_deb.sh").read_text()
    assert 'exec /opt/qatstudio/qatstudio "$@"' in make_deb
    assert 'qatstudio.desktop" "$stage/usr/share/applications/qatstudio.desktop"' in make_deb


def test_spec_keeps_sources_and_runtime_files_the_traps_need():
    values = _spec_assignments()
    text = SPEC.read_text()
    for package in ("torch", "brevitas", "concrete", "qatstudio"):  # inspect reads their source
        assert package in values["SOURCE_PACKAGES"]
    assert "pkg_resources" in text and "concrete_python.libs" in text and "z3" in text
    assert '(str(ROOT / "resources"), "resources")' in text


def test_spec_excludes_nothing_the_app_imports():
    excludes = set(_spec_assignments()["excludes"])
    used = _imports_of_the_app()
    clash = sorted(name for name in used if any(name == ex or name.startswith(ex + ".") for ex in excludes))
    assert not clash, f"the spec excludes modules QAT Studio imports: {clash}"


def test_the_exclusion_check_can_fail():
    excludes = set(_spec_assignments()["excludes"])
    assert "PySide6.QtQml" in excludes and "PySide6.QtWidgets" not in excludes
    assert any(name.startswith("PySide6.QtWidgets") for name in _imports_of_the_app())


# --- .deb dependencies ------------------------------------------------------------------------------

def test_shlibs_table_is_well_formed():
    table = deb_depends.read_table()
    assert table["libc.so.6"][0].startswith("libc6")
    assert table["libxcb-cursor.so.0"] == ("libxcb-cursor0", False)  # Qt >= 6.5's xcb plugin
    assert table["libgtk-3.so.0"][1] is True  # only the GTK theme plugin: recommended
    for soname, (package, _) in table.items():
        assert re.fullmatch(r"[a-z0-9][a-z0-9+.-]+( \((>=|=|<=) [^)]+\))?", package), (soname, package)
    assert "Depends: binutils," in (PACKAGING / "deb" / "control.in").read_text()  # Concrete calls ld


def test_elf_reader_reads_needed_libraries():
    import PySide6

    qtcore = next(Path(PySide6.__file__).parent.glob("QtCore.abi3.so"))
    needed, _ = deb_depends.elf_dynamic(qtcore)
    assert "libc.so.6" in needed and any(name.startswith("libQt6Core") for name in needed)
    assert deb_depends.elf_dynamic(SPEC) == ([], None)


# --- the entry point and the selftest, from source --------------------------------------------------

def test_exit_status_survives_an_encrypted_run(tmp_path):
    """Concrete's runtime ends the process with exit(0) once an encrypted circuit ran; the CLI
    (and so the frozen entry point, which calls it) must keep the real status and the output."""
    script = (
        "import sys, warnings\n"
        "from qatstudio.cli import _exit_past_concrete\n"
        "warnings.simplefilter('ignore')\n"
        "from concrete import fhe\n"
        "@fhe.compiler({'x': 'encrypted'})\n"
        "def f(x):\n"
        "    return x + 1\n"
        "circuit = f.compile(range(4), fhe.Configuration(fhe_simulation=False, fhe_execution=True))\n"
        "circuit.keygen()\n"
        "print('result', circuit.encrypt_run_decrypt(2))\n"
        "_exit_past_concrete(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env=_env(), capture_output=True, text=True,
                          timeout=180, cwd=tmp_path)
    assert done.stdout.strip() == "result 3", done.stderr[-2000:]
    assert done.returncode == 3


@pytest.mark.slow
def test_selftest_from_source(tmp_path):
    """`python -m qatstudio --selftest` with stdout a pipe (as in CI and in check.sh), fresh keys."""
    done = subprocess.run([sys.executable, "-m", "qatstudio", "--selftest"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=_env(QATSTUDIO_HOME=str(tmp_path / "home")))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines, ("--selftest printed nothing into a pipe: Concrete's exit(0) at exit dropped the unflushed "
                   "line (and would turn a failure into status 0); see packaging/README.md, 'Exit status'\n"
                   + done.stderr[-3000:])
    assert len(lines) == 1 and lines[0].startswith("selftest OK:"), done.stdout + done.stderr[-3000:]
    assert "encrypted 1 sample agrees=True" in lines[0]


def test_deb_declares_what_the_xcb_plugin_needs(tmp_path):
    """The xcb plugin of the installed PySide6, its libQt6XcbQpa and the Qt libraries they load, as
    deb_depends sees them in a bundle: every system library they need maps to a package, the .deb
    depends on it, and it is the package the app names when that library is missing."""
    from qatstudio.services.platform_check import PACKAGES, xcb_plugin

    plugin = xcb_plugin()
    if plugin is None:
        pytest.skip("PySide6 has no xcb plugin here")
    qt_lib = plugin.parents[2] / "lib"
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for library in [plugin, *(qt_lib / name for name in ("libQt6XcbQpa.so.6", "libQt6Gui.so.6", "libQt6Core.so.6",
                                                          "libQt6DBus.so.6")), *qt_lib.glob("libicu*.so.*")]:
        try:
            os.link(library, bundle / library.name)
        except OSError:
            shutil.copy(library, bundle / library.name)
    needs = deb_depends.external_libraries(bundle)
    table = deb_depends.read_table()
    assert not [library for library in needs if library not in table]
    listed = subprocess.run([sys.executable, str(PACKAGING / "deb_depends.py"), str(bundle)], capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    depends = {entry.split(" (")[0] for entry in re.search(r"^Depends: (.*)$", listed.stdout, re.M)[1].split(", ")}
    assert {"libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0"} <= depends
    assert {PACKAGES[library][0] for library in needs if library in PACKAGES} <= depends
    assert "libxcb-icccm.so.4" in needs and "libxcb-cursor.so.0" in needs


def test_platform_check_and_shlibs_map_each_library_once():
    from qatstudio.services.platform_check import PACKAGES

    in_shlibs = {line.split()[0] for line in (PACKAGING / "deb" / "shlibs.txt").read_text().splitlines()
                 if line.split("#", 1)[0].strip()}
    assert not in_shlibs & set(PACKAGES)
