"""The one way long work is stopped: it polls a ``should_stop`` callable between steps and, where
it can't return early with partial results, raises ``Cancelled``."""
from __future__ import annotations

from typing import Callable

StopCheck = Callable[[], bool]


class Cancelled(Exception):
    """Raised inside long work when the user asked it to stop."""
