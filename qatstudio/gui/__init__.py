"""QAT Studio's desktop window (PySide6 + pyqtgraph) on top of ``qatstudio.services``.

Its rooms, each importing only the ones before it:
``state``, ``widgets`` and ``workers`` (what is enabled when, small shared widgets, QThreads
that run the services' jobs); ``charts`` (plots); ``panels`` (the docks); ``dialogs`` (sweeps,
the optimizer); ``window`` (the main window, its controller, menus, status line and files);
``demo`` (the story, the presentation view); ``app`` (start-up).
"""
