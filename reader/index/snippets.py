"""Snippets and highlights: the passage of a text that best shows why it matched, and where its matched words are.

Works on text alone, after the same analysis as the index; never reads the index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..query import And, Node, Or, Phrase, Word
from .analysis import MAX_FIELD_CHARS, SEARCHED_FIELDS, WORD_RE, _terms
from .plans import ParsedQuery, _terms_of



@dataclass(frozen=True)
class Snippet:
    text: str
    spans: tuple[tuple[int, int], ...]  # character ranges of matched terms within `text`


def highlight(q: ParsedQuery, text: str, *, max_chars: int = 300) -> Snippet:
    """The passage of `text` with the most distinct query terms, and where they are.

    Matches are found after analysis, so `export control` marks "exports
    controlled"; phrases are marked only where their words are adjacent. Terms
    under NOT, and terms limited to fields such as feed: or group:, are not marked.
    """
    text = re.sub(r"\s+", " ", text[:MAX_FIELD_CHARS]).strip()
    found = list(WORD_RE.finditer(text))
    terms = _terms([m.group() for m in found])
    words = [(m.start(), m.end(), term.decode()) for m, term in zip(found, terms)]
    matches = _matches(words, _positive_terms(q.tree))
    if not matches:
        return _window(text, 0, max_chars, [])
    start = _best_window_start(matches, max_chars)
    return _window(text, start, max_chars, matches)


def _positive_terms(node: Node) -> list[tuple[str, ...]]:
    """Term sequences (1 for a word) that a match shows in text fields."""
    match node:
        case Word() | Phrase() if node.field is None or node.field in SEARCHED_FIELDS:
            terms = tuple(_terms_of(node))
            return [terms] if terms else []
        case And(children) | Or(children):
            return [seq for c in children for seq in _positive_terms(c)]
    return []


def _matches(words: list[tuple[int, int, str]], sequences: list[tuple[str, ...]]) -> list[tuple[int, int, str]]:
    """(start, end, key) of every occurrence of a sequence; key names the sequence."""
    terms = [w[2] for w in words]
    found = []
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for seq in set(sequences):
        by_first.setdefault(seq[0], []).append(seq)
    for i, term in enumerate(terms):
        for seq in by_first.get(term, ()):
            if tuple(terms[i : i + len(seq)]) == seq:
                found.append((words[i][0], words[i + len(seq) - 1][1], " ".join(seq)))
    return found


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
