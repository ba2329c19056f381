"""What the app says when something goes wrong: an expected, handled error (a damaged file, an
invalid configuration, a circuit Concrete refuses) in one line; anything else with its traceback,
which is also appended to a log file in the user's data folder so that it can be attached to a
bug report."""
from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Optional

from ..engine.cancel import Cancelled
from ..engine.config import ConfigError
from ..engine.fhe import FheError
from ..engine.lowering import UnsupportedModelError
from . import storage
from .datasets import TableNotLoaded
from .experiment_file import ExperimentFileError
from .tabular import TableError

EXPECTED_ERRORS = (ConfigError, ExperimentFileError, FheError, UnsupportedModelError, TableError, TableNotLoaded,
                   Cancelled, MemoryError)
LOG_FILE_LIMIT = 1_000_000  # bytes; past it the file is moved to .1 (one older copy kept)

log = logging.getLogger("qatstudio")


class _StderrHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is when a message comes, not as it was when logging was set up
    (a stream replaced since, by a test's capture or a redirect, may be closed by then)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


_stderr_handler: Optional[logging.Handler] = None


def setup_logging(level: int = logging.INFO) -> None:
    """The app's messages go to stderr, one line each, prefixed with its name."""
    global _stderr_handler
    if _stderr_handler is not None:
        log.removeHandler(_stderr_handler)
    _stderr_handler = _StderrHandler()
    _stderr_handler.setFormatter(logging.Formatter("qatstudio: %(message)s"))
    log.addHandler(_stderr_handler)
    log.setLevel(level)


def log_file() -> Path:
    return storage.data_dir() / "logs" / "qatstudio.log"


def is_expected(error: BaseException) -> bool:
    return isinstance(error, EXPECTED_ERRORS)


def log_failure(what: str, error: BaseException, message: str = "") -> Optional[Path]:
    """Log ``error`` as the reason ``what`` failed. Expected errors: one line, returns None.
    Anything else: the traceback, on stderr and appended to ``log_file()``, whose path is returned
    (None if it can't be written: the traceback is still on stderr)."""
    text = " ".join((message or str(error) or type(error).__name__).split())
    if is_expected(error):
        log.warning("%s: %s", what, text)
        return None
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        path = _append(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {what}: {text}\n{details}\n")
    except OSError as write_error:
        log.error("%s: %s\n%s(the log file can't be written: %s)", what, text, details, write_error)
        return None
    log.error("%s: %s\n%s(kept in %s)", what, text, details, path)
    return path


def _append(entry: str) -> Path:
    path = log_file()
    storage.private_dir(path.parent)
    if path.exists() and path.stat().st_size > LOG_FILE_LIMIT:
        os.replace(path, path.with_name(path.name + ".1"))
    handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(handle, "a", encoding="utf-8") as stream:
        stream.write(entry)
    return path
