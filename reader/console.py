"""Terminal output for the CLI: tables, progress and dates, with untrusted text kept as data.

Every string that came from a feed goes into Rich as a `Text` object (never as
markup) after `clean_line`/`clean_text`, so `[bold]` prints as `[bold]` and
escape sequences never reach the terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import datetime

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

__all__ = ["Text"]  # re-exported for commands that build styled lines

from .text import clean_line, clean_text

# Piped output is for grep and scripts: never squeeze rows to 80 columns.
out = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 100_000)
err = Console(stderr=True, highlight=False)


def safe(value: object, style: str = "") -> Text:
    """Untrusted text as a Rich Text: one line, no control characters, never markup."""
    return Text(clean_line("" if value is None else str(value)), style=style)


def local_time(dt: datetime | None, with_time: bool = True) -> str:
    """A UTC datetime shown in the user's local time zone."""
    if dt is None:
        return ""
    return dt.astimezone().strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def table(columns: Iterable[str], rows: Iterable[Iterable[object]], **options) -> Table:
    """A borderless table whose every cell is passed through `safe` unless already Text."""
    t = Table(box=None, pad_edge=False, header_style="bold", **options)
    for c in columns:
        t.add_column(c, overflow="ellipsis", no_wrap=True)
    for row in rows:
        t.add_row(*(cell if isinstance(cell, Text) else safe(cell) for cell in row))
    return t


def print_json(data: object) -> None:
    """JSON on stdout, bypassing Rich (no wrapping, no colour)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_jsonl(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def error(message: str) -> None:
    err.print(Text("reader: ", style="bold red") + Text(clean_text(message, max_chars=4000)))


def warn(message: str) -> None:
    err.print(Text("warning: ", style="yellow") + Text(clean_text(message, max_chars=4000)))


def is_tty() -> bool:
    return sys.stdout.isatty() and out.is_terminal


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    )  # fmt: skip
