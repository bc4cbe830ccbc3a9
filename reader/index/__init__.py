"""The local full-text index (Whoosh): derived from the store, searched by the query language.

The store is the record; this index is derived from it and can be rebuilt at
any time, so it keeps no text, only what searching needs: terms with their
positions, and each article's id and date. Every Whoosh call of the reader
lives in this package. Its modules:

- `analysis`: how text becomes terms, and the schema;
- `stemming`: the Porter stemmer, cached per process (shared with the story grouper);
- `segments`: each segment's terms and postings, in a file format of our own
  beside Whoosh's files (the one module on file formats);
- `plans`: a query compiled into a plan, explained, its required terms;
- `evaluation`: a plan run per segment on arrays of docnums, matches scored (BM25);
- `searcher`: `SearchIndex`, the directory written a batch at a time and searched;
- `snippets`: snippets and the spans of matched words (`highlight`);
- `repair`: opening, and replacing a missing or unreadable index;
- `errors`: what callers catch, importable without loading Whoosh;
- `files`: the index's file names, and a note of its files as last checked (no Whoosh either).

Whoosh keeps the table of contents, the lock, each segment's per-document
columns (id, date, field lengths) and deletions; its writer, its postings and
its matchers are too slow and too large for the targets here (1,000
articles/s on two cores; 50 ms searches at 100,000 articles, 100 ms for words
in every article; ≤ 3 KB an article).

The names below are loaded on first use, so that importing `reader.index.errors`
(as the CLI does at start-up) does not load Whoosh.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .errors import IndexBusy, IndexDamaged, WrongWhoosh

if TYPE_CHECKING:
    from ..query import QueryError
    from .analysis import ANALYZER, INDEXNAME, SCHEMA, WORD_RE, analyze
    from .snippets import Snippet, article_snippet, highlight
    from .plans import ParsedQuery, explain, parse_query, required_terms, words_only
    from .searcher import Hit, SearchIndex

_HOMES = {
    "QueryError": "reader.query",
    **dict.fromkeys(("ANALYZER", "INDEXNAME", "SCHEMA", "WORD_RE", "analyze"), f"{__name__}.analysis"),
    **dict.fromkeys(("Snippet", "article_snippet", "highlight"), f"{__name__}.snippets"),
    **dict.fromkeys(("ParsedQuery", "explain", "parse_query", "required_terms", "words_only"), f"{__name__}.plans"),
    **dict.fromkeys(("Hit", "SearchIndex"), f"{__name__}.searcher"),
}

__all__ = [
    "ANALYZER", "INDEXNAME", "SCHEMA", "WORD_RE", "Hit", "IndexBusy", "IndexDamaged", "ParsedQuery", "QueryError",
    "SearchIndex", "Snippet", "WrongWhoosh", "analyze", "article_snippet", "explain", "highlight", "parse_query",
    "required_terms", "words_only",
]  # fmt: skip


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(import_module(home), name)
    return value
