"""Logging for every front end: short lines on stderr (or a file), tracebacks only when asked for.

No line ever carries a secret, at any level: credentials in URLs and the registered secret parts
of notification URLs are masked in whatever any logger (ours, urllib3's, aiohttp's) writes.
Library code logs unexpected errors with `log.exception`; a user should see
one readable line, and the traceback only with `--debug` / READER_DEBUG=1.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
from pathlib import Path

from .urls import MASK, redact_urls_in

MIN_SECRET_CHARS = 4  # shorter parts would mask ordinary words; URL-level redaction still covers them
MIN_TOKEN_CHARS = 16  # a secret this long is masked wherever it appears, even one of letters only
_secrets: set[str] = set()  # masked wherever they appear
_words: set[str] = set()  # secrets that read as words: masked only where a URL would hold them
_word_pattern: tuple[frozenset[str], re.Pattern[str] | None] = (frozenset(), None)
_IN_A_URL = r"(?:(?<=[/:=@])|(?<=%2[Ff])|(?<=%3[AaDd]))"  # after a path's '/', a password's ':', a value's '='


def register_secret(text: str) -> None:
    """Mask `text` in every log line from now on (a notification URL's token, a password)."""
    if len(text) >= MIN_SECRET_CHARS:
        (_words if _reads_as_word(text) else _secrets).add(text)


def _reads_as_word(text: str) -> bool:
    """A short secret of letters only, such as the "reader" of json://host/notify/reader: masked everywhere,
    it would garble every line that says the word ("****: INFO", "rule ****nym")."""
    return len(text) < MIN_TOKEN_CHARS and all(c.isalpha() or c in "-_." for c in text)


def redact_secrets(text: str) -> str:
    """`text` with registered secrets and URL credentials masked."""
    global _word_pattern
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    if _words:
        if _word_pattern[0] != _words:
            words = sorted(_words, key=len, reverse=True)
            _word_pattern = (frozenset(_words), re.compile(_IN_A_URL + f"(?:{'|'.join(map(re.escape, words))})"))
        text = _word_pattern[1].sub(MASK, text)
    return redact_urls_in(text)


class _Redacting(logging.Formatter):
    """Masks secrets in the whole line, traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_secrets(super().format(record))


class _NoTraceback(_Redacting):
    def format(self, record: logging.LogRecord) -> str:
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return super().format(record)


LOG_FILE_BYTES = 10 * 1024 * 1024  # a log file past this moves to FILE.1 (the one before is dropped)


class LogFile(logging.handlers.WatchedFileHandler):
    """A log file that a week of running cannot grow past 2 × LOG_FILE_BYTES: past LOG_FILE_BYTES it moves
    to FILE.1 and starts again. Moved or deleted by someone else (logrotate), it is opened again by name; emptied
    in place (logrotate's copytruncate), it goes on from its new size (fstat's, not the stream's stale offset)."""

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is not None and os.fstat(self.stream.fileno()).st_size >= LOG_FILE_BYTES:
            self.stream.close()
            try:
                os.replace(self.baseFilename, self.baseFilename + ".1")
            except OSError:  # the move refused (FILE.1 a directory, the directory read-only): emptied in place
                try:
                    os.truncate(self.baseFilename, 0)
                except OSError:
                    pass  # the line is written all the same
            self.stream = self._open()
            self._statstream()
        super().emit(record)


def setup_logging(level: str = "WARNING", *, file: Path | None = None, debug: bool | None = None) -> None:
    """Route every logger of ours (and our libraries') through one handler."""
    debug = debug if debug is not None else bool(os.environ.get("READER_DEBUG"))
    handler: logging.Handler = LogFile(file) if file else logging.StreamHandler()
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if file else "reader: %(levelname)s: %(message)s"
    handler.setFormatter(_Redacting(fmt) if debug else _NoTraceback(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else getattr(logging, level.upper(), logging.WARNING))
    for noisy in ("trafilatura", "htmldate", "courlan", "charset_normalizer", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
