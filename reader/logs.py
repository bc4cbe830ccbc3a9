"""Logging for every front end: short lines on stderr (or a file), tracebacks only when asked for.

Library code logs unexpected errors with `log.exception`; a user should see
one readable line, and the traceback only with `--debug` / READER_DEBUG=1.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path


class _NoTraceback(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return super().format(record)


def setup_logging(level: str = "WARNING", *, file: Path | None = None, debug: bool | None = None) -> None:
    """Route every logger of ours (and our libraries') through one handler."""
    debug = debug if debug is not None else bool(os.environ.get("READER_DEBUG"))
    handler: logging.Handler = logging.FileHandler(file) if file else logging.StreamHandler()
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if file else "reader: %(levelname)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt) if debug else _NoTraceback(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else getattr(logging, level.upper(), logging.WARNING))
    for noisy in ("trafilatura", "htmldate", "courlan", "charset_normalizer", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
