"""The house's layers, read from the source: every import (at the top of a module or inside a
function) points down, engine <- services <- gui / cli, and no module reaches itself again."""
import ast
import subprocess
import sys
from pathlib import Path

import qatstudio

LAYERS = {"engine": 0, "services": 1, "gui": 2, "cli": 2, "__main__": 3}
QT = ("PySide6", "shiboken6", "pyqtgraph", "PyQt5", "PyQt6")
SERVICE_LIBRARIES = ("fastapi", "uvicorn", "httpx", "dask", "distributed", "pandas", "pyarrow")


def module_names(root: Path, package: str) -> dict[str, Path]:
    names = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join([package, *parts])] = path
    return names


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module of the package that ``name`` imports, wherever the import statement sits,
    and every outside top-level package, prefixed with '!'."""
    package_parts = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            # "from package import module" imports the module itself
            targets = [f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in modules else prefix
                       for alias in node.names]
        else:
            continue
        for target in targets:
            if target in modules:
                found.add(target)
            elif target.split(".")[0] != name.split(".")[0]:
                found.add("!" + target.split(".")[0])
    found.discard(name)
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    modules = module_names(root, package)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of more than one module that import each other, directly or not (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target.startswith("!"):
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def layer_of(name: str) -> int:
    """The package itself holds only the version: below everything."""
    parts = name.split(".")
    return LAYERS.get(parts[1], -1) if len(parts) > 1 else 0


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{name} -> {target}" for name, targets in graph.items() for target in targets
                  if not target.startswith("!") and layer_of(target) > layer_of(name))


def outside_packages(graph: dict[str, set[str]], name: str) -> set[str]:
    return {target[1:] for target in graph[name] if target.startswith("!")}


ROOT = Path(qatstudio.__file__).parent
GRAPH = import_graph(ROOT, "qatstudio")


def test_the_package_has_no_import_cycle_even_through_imports_inside_functions():
    assert cycles(GRAPH) == []


def test_imports_point_down_the_layers():
    assert all(layer_of(name) >= 0 for name in GRAPH), "every module sits in a layer"
    assert GRAPH["qatstudio"] == set()
    assert upward_imports(GRAPH) == []


def test_engine_and_services_never_import_qt_and_the_engine_no_service_library():
    for name in GRAPH:
        if layer_of(name) <= LAYERS["services"]:
            assert not outside_packages(GRAPH, name) & set(QT), name
        if layer_of(name) == LAYERS["engine"]:
            assert not outside_packages(GRAPH, name) & set(SERVICE_LIBRARIES), name


def test_the_checks_catch_a_planted_cycle_and_an_upward_import(tmp_path):
    package = tmp_path / "planted"
    for folder in ("engine", "services"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "engine" / "a.py").write_text("def f():\n    from . import b\n")
    (package / "engine" / "b.py").write_text("def g():\n    from .a import f\n")
    (package / "engine" / "c.py").write_text("def h():\n    from ..services import d\n    import PySide6\n")
    (package / "services" / "d.py").write_text("import numpy\n")
    graph = import_graph(package, "planted")
    assert cycles(graph) == [["planted.engine.a", "planted.engine.b"]]
    assert upward_imports(graph) == ["planted.engine.c -> planted.services.d"]
    assert outside_packages(graph, "planted.engine.c") == {"PySide6"}


def test_engine_and_services_import_with_qt_blocked():
    """The same fact at run time: every engine and services module imports with Qt unimportable."""
    names = sorted(name for name in GRAPH if 0 <= layer_of(name) <= LAYERS["services"])
    script = (
        "import importlib, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {QT!r}:\n"
        "            raise ImportError('Qt is blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for name in {names!r}:\n    importlib.import_module(name)\n"
        "import qatstudio.cli\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


GUI_ROOMS = ["state", "widgets", "workers", "charts", "panels", "dialogs", "presenters", "window", "demo", "app"]


def gui_room(name: str) -> int:
    return GUI_ROOMS.index(name.split(".")[2])


def test_the_window_rooms_import_only_rooms_before_them():
    """Within gui: shared pieces <- charts <- panels <- dialogs <- presenters <- window <- demo <- app."""
    gui = {name: targets for name, targets in GRAPH.items() if name.startswith("qatstudio.gui.")}
    assert all(name.split(".")[2] in GUI_ROOMS for name in gui), "every gui module sits in a room"
    backwards = sorted(f"{name} -> {target}" for name, targets in gui.items() for target in targets
                       if target.startswith("qatstudio.gui.") and gui_room(target) > gui_room(name))
    assert backwards == []
