"""QAT Studio's desktop window (PySide6 + pyqtgraph) on top of ``qatstudio.services``.

``controller`` runs the window's work (the jobs of ``services.jobs``) on QThreads through
``workers``; ``state`` says what is enabled when; the panels render; ``main_window`` composes them.
"""
