"""A guard against a reference-count bug of PySide6/shiboken6 6.12 on CPython 3.11.

PySide6 6.12 returns ``None`` from every Qt method without a value (``processEvents``,
``setText``, ``parent()`` when there is none, ...) without taking a reference to it. On Python
3.12 and later ``None`` is immortal and nothing happens; on 3.11 each such call lowers None's
reference count by one, and after some 10^5 calls CPython aborts with "Fatal Python error:
none_dealloc: deallocating None" (a window that redraws live plots gets there in minutes).

Reproducer: ``for _ in range(1000): label.setText("a")`` lowers ``sys.getrefcount(None)`` by 1000.

The guard gives None a reference count so large (2**40) that the lost references can never bring
it to zero -- what Python 3.12 does for None anyway. It only acts on the affected combination and
checks that it changed exactly what it meant to. The real fix is a PySide6 release without the bug
(or Python 3.12+).
"""
from __future__ import annotations

import sys

_BALLAST = 1 << 40
_applied = False


def affected() -> bool:
    if sys.version_info >= (3, 12):
        return False
    try:
        import shiboken6
    except ImportError:
        return False
    try:
        major, minor = (int(part) for part in shiboken6.__version__.split(".")[:2])
    except (AttributeError, ValueError):
        return True  # unknown version: the guard is harmless, keep it
    return (major, minor) >= (6, 12)


def guard_none_refcount() -> bool:
    """Apply the guard once (if needed); True when None is protected."""
    global _applied
    if _applied:
        return True
    if not affected():
        return False
    import ctypes

    before = sys.getrefcount(None)
    if before > _BALLAST // 2:  # already protected (by an earlier import of this module)
        _applied = True
        return True
    count = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt leads the object in release builds
    if abs(count.value - before) > 1000:  # not the layout we expect (e.g. a tracing debug build)
        return False
    count.value += _BALLAST
    if abs(sys.getrefcount(None) - before - _BALLAST) > 1000:
        count.value -= _BALLAST
        return False
    _applied = True
    return True
