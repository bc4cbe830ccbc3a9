"""Where a query's terms occur in a piece of text, for marking them in the list and the reader."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..index import ParsedQuery

_NON_SPACE = re.compile(r"\S+")


def match_spans(query: ParsedQuery, text: str, field: str | None = None) -> list[tuple[int, int]]:
    """Character ranges of `text` holding the query's terms (after analysis: stems, case, acronyms, CJK).

    `field` (title, text…) leaves out terms limited to another field (`title:H20` in the text).

    `highlight` works on text with its whitespace collapsed; this maps its spans
    back onto `text` as given, so they can style it in place.
    """
    from ..index import highlight  # loads Whoosh's analysis: only once a query is shown, never for the first paint

    words = list(_NON_SPACE.finditer(text))
    if not words:
        return []
    collapsed = " ".join(m.group() for m in words)
    # A window at least 4x the text always starts at 0 and holds all of it.
    snippet = highlight(query, collapsed, max_chars=4 * len(collapsed) + 4, field=field)
    if collapsed == text:  # single spaces already (most titles): the spans are the text's own
        return [(s, e) for s, e in snippet.spans if 0 <= s < e <= len(text)]
    origin: list[int] = []  # origin[i] = position in `text` of collapsed[i]
    for k, m in enumerate(words):
        origin.extend(range(m.start(), m.end()))
        if k < len(words) - 1:
            origin.append(m.end())
    return [(origin[s], origin[e - 1] + 1) for s, e in snippet.spans if 0 <= s < e <= len(origin)]
