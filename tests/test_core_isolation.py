"""core never imports Qt: proven by importing every core module with Qt made unimportable."""
import pkgutil
import subprocess
import sys

import qatstudio.core


def test_core_imports_without_qt():
    modules = [f"qatstudio.core.{m.name}" for m in pkgutil.iter_modules(qatstudio.core.__path__)]
    assert "qatstudio.core.fhe" in modules and "qatstudio.core.training" in modules
    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'shiboken6'):\n"
        "            raise ImportError('Qt is blocked in core: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"import importlib\nfor name in {modules!r}:\n    importlib.import_module(name)\n"
        "import qatstudio.cli\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


def test_the_block_really_blocks():
    """The check above can fail: importing Qt under the same block raises."""
    script = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'PySide6':\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import PySide6.QtCore\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "blocked" in done.stderr
