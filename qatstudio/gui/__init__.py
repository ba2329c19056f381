"""QAT Studio's desktop window (PySide6 + pyqtgraph) on top of ``qatstudio.core``.

``tasks`` and ``jobs`` are Qt-free (cancellation state and the work itself, composed from core
calls); ``workers`` runs jobs on QThreads; the panels and ``main_window`` only render state.
"""

from .compat import guard_none_refcount as _guard_none_refcount

_guard_none_refcount()  # PySide6 6.12 on Python 3.11 leaks references to None: see compat.py
