"""Terminal output for the CLI: tables, progress and dates, with untrusted text kept as data.

Every string that came from a feed goes into Rich as a `Text` object (never as
markup) after `clean_line`/`clean_text`, so `[bold]` prints as `[bold]` and
escape sequences never reach the terminal. Rich loads at the first use of
`out`, `err` or `Text`: a command that prints only JSON (`fetch --json`, the
daemon's) never pays for it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Rich loads when first used (`__getattr__`), not by `reader fetch --json`
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table
    from rich.text import Text

__all__ = ["Col", "Text"]  # re-exported for commands that build styled lines

from .text import clean_line, clean_text


def __getattr__(name: str):
    """`out` and `err`, the Rich consoles, made at first use; `Text`, Rich's, imported at first use."""
    if name == "Text":
        from rich.text import Text as made
    elif name == "out":  # piped output is for grep and scripts: never squeeze rows to 80 columns
        from rich.console import Console

        made = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 100_000)
    elif name == "err":
        from rich.console import Console

        made = Console(stderr=True, highlight=False)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = made  # (later uses find it here)
    return made


def _get(name: str):
    """`out`, `err` or `Text` from inside this module (where `__getattr__` is not consulted)."""
    return globals()[name] if name in globals() else __getattr__(name)


def safe(value: object, style: str = "") -> Text:
    """Untrusted text as a Rich Text: one line, no control characters, never markup."""
    return _get("Text")(clean_line("" if value is None else str(value)), style=style)


def plural(n: int, word: str, words: str | None = None) -> str:
    """`1 feed`, `2 feeds`, `1 delivery`, `3 deliveries` (give `words` where +s is wrong)."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def local_time(dt: datetime | None) -> str:
    """A UTC datetime shown in the user's local time zone, to the minute."""
    if dt is None:
        return ""
    return dt.astimezone().strftime("%Y-%m-%d %H:%M")


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


@dataclass(frozen=True)
class Col:
    """One table column. Key columns (``flex=0``) keep their content's width, up to ``max``;
    ``flex`` columns share what is left by ratio. When the terminal is too narrow, columns with
    ``drop`` go first, highest ``drop`` first, so ids and states are never the ones squeezed out."""

    name: str
    flex: int = 0
    max: int | None = None
    drop: int = 0


FLEX_MIN = 16  # narrowest a long-text column may get before optional columns are dropped
GAP = 2  # Rich's padding between two columns of a borderless table


def column_widths(cols: list[Col], rows: list[list[Text]], width: int) -> dict[int, int]:
    """The width of each column shown at this terminal width, by column index.

    Key columns get their content's width (capped by ``max``); optional columns are dropped,
    highest ``drop`` first, until the flexible ones get at least FLEX_MIN each; then the flexible
    columns share what is left by ratio, never wider than their longest cell.
    """
    content = [max([len(c.name)] + [r[i].cell_len for r in rows]) for i, c in enumerate(cols)]
    fixed = {i: min(content[i], c.max or content[i]) for i, c in enumerate(cols) if not c.flex}
    shown = list(range(len(cols)))

    def need() -> int:
        return sum(fixed[i] if i in fixed else min(FLEX_MIN, content[i]) for i in shown) + GAP * (len(shown) - 1)

    while need() > width and any(cols[i].drop for i in shown):
        shown.remove(max((i for i in shown if cols[i].drop), key=lambda i: (cols[i].drop, i)))
    flex = [i for i in shown if cols[i].flex]
    spare = width - sum(fixed[i] for i in shown if i in fixed) - GAP * (len(shown) - 1)
    widths = {i: fixed[i] for i in shown if i in fixed}
    widths.update({i: min(FLEX_MIN, content[i]) for i in flex})
    spare -= sum(widths[i] for i in flex)
    # Hand out the rest by ratio; a column that reaches its content's width gives back the remainder.
    growing = [i for i in flex if widths[i] < content[i]]
    while growing and spare > 0:
        total = sum(cols[i].flex for i in growing)
        given = 0
        for i in growing:
            add = min(max(1, spare * cols[i].flex // total), content[i] - widths[i], spare - given)
            widths[i] += add
            given += add
        spare -= given
        growing = [i for i in growing if widths[i] < content[i]]
        if not given:
            break
    return {i: widths[i] for i in shown}


def table(columns: Iterable[str | Col], rows: Iterable[Iterable[object]], **options) -> Table:
    """A borderless table whose every cell is passed through `safe` unless already Text.

    On a terminal the columns fit its width (see `Col`): identifying and state columns keep
    their width and long text gets the rest. Piped, every record is one full line.
    """
    from rich.table import Table
    from rich.text import Text

    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    cells = [[cell if isinstance(cell, Text) else safe(cell) for cell in row] for row in rows]
    out = _get("out")
    if out.is_terminal:
        widths = column_widths(cols, cells, out.width)
    else:
        widths = dict.fromkeys(range(len(cols)))
    t = Table(box=None, pad_edge=False, header_style="bold", **options)
    for i, w in widths.items():
        t.add_column(cols[i].name, overflow="ellipsis", no_wrap=True, width=w)
    for row in cells:
        t.add_row(*(row[i] for i in widths))
    return t


# What JSON leaves raw with ensure_ascii=False that a terminal may obey (C1 controls: U+009B is CSI) or that
# reorders a line (bidi controls). Only ever inside strings, so the escape keeps every value as it was.
_RAW_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_text(data: object, indent: int | None = None) -> str:
    """JSON with non-ASCII text readable as itself, but never a character a terminal would act on."""
    text = json.dumps(data, ensure_ascii=False, indent=indent, default=str)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_json(data: object) -> None:
    """JSON on stdout, bypassing Rich (no wrapping, no colour)."""
    sys.stdout.write(json_text(data, indent=2) + "\n")
    sys.stdout.flush()


def error(message: str) -> None:
    Text = _get("Text")
    _get("err").print(Text("reader: ", style="bold red") + Text(clean_text(message, max_chars=4000)))


def warn(message: str) -> None:
    Text = _get("Text")
    _get("err").print(Text("warning: ", style="yellow") + Text(clean_text(message, max_chars=4000)))


def is_tty() -> bool:
    return sys.stdout.isatty() and _get("out").is_terminal


def stdin_is_tty() -> bool:
    return sys.stdin.isatty()


def ask(question: str) -> str:
    """Ask on the terminal; the answer stripped ("" at end of input or on Ctrl+C)."""
    _get("err").print(_get("Text")(question + " ", style="bold"), end="")
    try:
        return sys.stdin.readline().strip()
    except KeyboardInterrupt:
        return ""


def confirm(question: str) -> bool:
    """A yes/no question; anything but y/yes is no."""
    return ask(question + " [y/N]").casefold() in {"y", "yes"}


def progress_bar() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=_get("err"), transient=True,
    )  # fmt: skip
