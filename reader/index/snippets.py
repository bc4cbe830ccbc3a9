"""Snippets and highlights: the passage of a text that best shows why it matched, and where its matched words are.

Works on text alone, after the same analysis as the index; never reads the index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..query import And, Node, Or, Phrase, Word
from .analysis import MAX_FIELD_CHARS, SEARCHED_FIELDS, spans
from .plans import ParsedQuery, _terms_of, char_parts, is_char


@dataclass(frozen=True)
class Snippet:
    text: str
    spans: tuple[tuple[int, int], ...]  # character ranges of matched terms within `text`


def highlight(q: ParsedQuery, text: str, *, max_chars: int = 300, field: str | None = None) -> Snippet:
    """The passage of `text` with the most distinct query terms, and where they are.

    Matches are found after analysis, so `export control` marks "exports
    controlled", `BIS` marks "BIS" but not "bis", and `华为` marks those two
    characters; phrases are marked only where their words are adjacent. Terms
    under NOT are not marked. With `field` (the index field `text` comes from:
    title, text, summary…), terms limited to another field are not marked
    either; without it, only terms limited to feed:, group: or link: are left out.
    """
    text = re.sub(r"\s+", " ", text[:MAX_FIELD_CHARS]).strip()
    matches = _matches(text, _positive_terms(q.tree, field))
    if not matches:
        return _window(text, 0, max_chars, [])
    start = _best_window_start(matches, max_chars)
    return _window(text, start, max_chars, matches)


def article_snippet(q: ParsedQuery, article) -> Snippet:
    """The passage that shows why an article (anything with text, summary and title) matched."""
    return best_snippet(q, (("text", article.text), ("summary", article.summary), ("title", article.title)))


def best_snippet(q: ParsedQuery, fields: Sequence[tuple[str, str | None]]) -> Snippet:
    """The snippet of the first of (field, text) that shows a match (e.g. full text, summary, title),
    else of the first text: `title:H20` is shown where it matched, in the title."""
    first = None
    for field, text in fields:
        if not text:
            continue
        snippet = highlight(q, text, field=field)
        if snippet.spans:
            return snippet
        first = first or snippet
    return first or Snippet("", ())


def _positive_terms(node: Node, field: str | None) -> list[tuple[str, ...]]:
    """Term sequences (1 for a word) that a match shows in `field` (None: any text field)."""
    match node:
        case Word() | Phrase() if node.field in (None, field) or field is None and node.field in SEARCHED_FIELDS:
            terms = tuple(_terms_of(node))
            return [terms] if terms else []
        case And(children) | Or(children):
            return [seq for c in children for seq in _positive_terms(c, field)]
    return []


def _matches(text: str, sequences: list[tuple[str, ...]]) -> list[tuple[int, int, str]]:
    """(start, end, key) of every occurrence of a sequence; key names the sequence.

    A sequence matches where its i-th term is among the terms at the i-th
    position from there (a word in capitals has two: its word and its acronym).
    A lone CJK character is marked wherever it is; a phrase holding one is
    marked a part at a time, as it is searched.
    """
    slots: list[tuple[int, int, set[str]]] = []  # per position: start, end, its terms
    for position, term, start, end in spans(text):
        if position < len(slots):
            slots[-1][2].add(term)
        else:
            slots.append((start, end, {term}))
    found = []
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for seq in set(sequences):
        for part in char_parts(seq):
            if is_char(part[0]):
                found += ((m.start(), m.end(), part[0]) for m in re.finditer(re.escape(part[0]), text))
            else:
                by_first.setdefault(part[0], []).append(part)
    for i, (start, _end, terms) in enumerate(slots):
        for term in terms.intersection(by_first):
            for seq in by_first[term]:
                if len(seq) <= len(slots) - i and all(t in slots[i + k][2] for k, t in enumerate(seq)):
                    found.append((start, slots[i + len(seq) - 1][1], " ".join(seq)))
    return sorted(found)


def _best_window_start(matches: list[tuple[int, int, str]], max_chars: int) -> int:
    """The start of the match whose window holds the most distinct terms (earliest on ties)."""
    best, best_start = -1, 0
    for i, (start, _end, _key) in enumerate(matches[:2000]):
        inside = set()
        for _s, end, key in matches[i:]:
            if end - start > max_chars:
                break
            inside.add(key)
        if len(inside) > best:
            best, best_start = len(inside), start
    return best_start


def _window(text: str, first_match: int, max_chars: int, matches: list[tuple[int, int, str]]) -> Snippet:
    """About `max_chars` of text around `first_match`, cut at spaces, with '…' where cut."""
    start = max(0, first_match - max_chars // 4)
    if start > 0:
        space = text.find(" ", start, first_match)
        start = space + 1 if space >= 0 else first_match
    end = min(len(text), start + max_chars)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    shift = len(prefix) - start
    spans = tuple((s + shift, e + shift) for s, e, _key in sorted(set(matches)) if s >= start and e <= end)
    return Snippet(prefix + text[start:end] + suffix, _merge_overlaps(spans))


def _merge_overlaps(spans: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return tuple(merged)
