"""What the terminal's locale can show: every character drawn is kept, or swapped for an ASCII stand-in.

A line filter on the way out (`LANG=C`: `●` becomes `N`, box lines `-` `|` `+`,
CJK `??`); it never changes stored text and keeps every line's width in cells.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Mapping

from rich.cells import cell_len
from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

# Python swaps a C LC_CTYPE for one of these at start-up (PEP 538) for its own
# streams; the terminal the user sits at is still a C one.
_COERCED = frozenset({"C.UTF-8", "C.utf8", "UTF-8"})
_C_LOCALES = frozenset({"C", "POSIX"})


def locale_charset(environ: Mapping[str, str] = os.environ) -> str:
    """The character set of the user's locale (LC_ALL, else LC_CTYPE, else LANG): "ascii" for C/POSIX.

    With no locale set at all, UTF-8 (what terminals speak today); an unknown
    codeset also counts as UTF-8 rather than hiding text.
    """
    lc_all, ctype, lang = (environ.get(name, "") for name in ("LC_ALL", "LC_CTYPE", "LANG"))
    value = lc_all or ctype or lang
    if not lc_all and ctype in _COERCED and lang in _C_LOCALES:
        value = lang
    if not value:
        return "utf-8"
    if value in _C_LOCALES:
        return "ascii"
    codeset = value.partition(".")[2].partition("@")[0] or "iso-8859-1"  # glibc's default for `en_US`
    try:
        return codecs.lookup(codeset).name
    except LookupError:
        return "utf-8"


def can_show(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


# Stand-ins, one cell each like the glyphs they replace.
ASCII = {
    "●": "N",  # unread (newsboat's letter)
    "★": "*",  # starred
    "…": "~",
    "·": "-",
    "•": "*",
    "—": "-",
    "–": "-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "←": "<",
    "→": ">",
    "↑": "^",
    "↓": "v",
    "▶": ">",
    "▼": "v",
    "⏎": "~",
    **dict.fromkeys("─━┄┅┈┉═╌╍▔▁▀▄", "-"),
    **dict.fromkeys("│┃┆┇┊┋║╎╏▏▎▍▌▋▊▉▐▕", "|"),
    **dict.fromkeys("▂▃▅▆▇", " "),  # a scrollbar thumb's ends: its colour shows it
    "█": "|",
}


def ascii_for(char: str) -> str:
    """A stand-in as wide as `char`: its ASCII look-alike, `+` for box corners, else `?` per cell."""
    if char in ASCII:
        return ASCII[char]
    if "\u2500" <= char <= "\u257f":
        return "+"
    return "?" * cell_len(char)


class CharsetFilter(LineFilter):
    """Swaps what `charset` cannot encode for an ASCII stand-in, segment by segment."""

    def __init__(self, charset: str) -> None:
        super().__init__(enabled=charset != "utf-8")
        self.charset = charset
        self._known: dict[str, str] = {}

    def text(self, text: str) -> str:
        if text.isascii():
            return text
        known = self._known
        out = []
        for char in text:
            shown = known.get(char)
            if shown is None:
                shown = known[char] = char if can_show(char, self.charset) else ascii_for(char)
            out.append(shown)
        return "".join(out)

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [Segment(text if control else self.text(text), style, control) for text, style, control in segments]
