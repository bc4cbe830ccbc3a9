"""Analysis and schema: how text becomes terms, and the Whoosh schema that stores them.

Analysis is the same for indexing, queries and highlighting: words are runs of
letters and digits (`\\w+`), lowercased and Porter-stemmed, with no stop words
and no minimum length, so `US`, `AI` and `a` stay searchable, also inside
phrases. `DeepSeek-R1` is two adjacent words, so the query `DeepSeek-R1`
searches the phrase "deepseek r1" and finds both spellings; `H800` is one word.
Never reads or writes index files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, TEXT, FieldType, Schema
from whoosh.lang.porter import stem

# -- analysis --------------------------------------------------------------------

WORD_RE = re.compile(r"\w+")
# The same analysis as a Whoosh chain, for the schema (Whoosh never runs it on
# our documents or queries; `analyze` does, and a test keeps the two equal).
ANALYZER = RegexTokenizer(WORD_RE.pattern) | LowercaseFilter() | StemFilter(stem)

_STEMS: dict[str, bytes] = {}  # raw word -> stemmed term, as the index stores it
_STEM_CACHE_LIMIT = 500_000


def _terms(words: list[str]) -> list[bytes]:
    """The stemmed term of each word, through a cache of every word seen."""
    try:
        return list(map(_STEMS.__getitem__, words))  # the common case, without a Python call per word
    except KeyError:
        new = set(words).difference(_STEMS)
        if len(_STEMS) + len(new) > _STEM_CACHE_LIMIT:  # a long-lived daemon sees unbounded vocabulary
            _STEMS.clear()
            new = set(words)
        _STEMS.update((word, stem(word.lower()).encode()) for word in new)
        return list(map(_STEMS.__getitem__, words))


def analyze(text: str) -> list[str]:
    """The terms of `text` in order: lowercased, stemmed, nothing dropped."""
    return [term.decode() for term in _terms(WORD_RE.findall(text))]


# -- schema ------------------------------------------------------------------------

INDEXNAME = "articles_v2"  # bump when the schema or analysis changes: the index is then rebuilt
_INDEX_FILE = re.compile(r"_?articles_v\d+_")  # the files of any version of the index
ANALYSED_FIELDS = ("title", "text", "summary", "feed", "group", "author", "tags", "link")
# Where a term with no field prefix is looked for (the feed's and group's names
# are left out: a feed called "AI News" must not make every one of its articles match `AI`).
SEARCHED_FIELDS = ("title", "text", "summary", "author", "tags")
MAX_FIELD_CHARS = 400_000  # untrusted text: index at most this much of one field
TAG_GAP = 100  # positions between two tags, so a phrase never spans two of them


def _schema() -> Schema:
    fields: dict[str, FieldType] = {name: TEXT(analyzer=ANALYZER, phrase=True) for name in ANALYSED_FIELDS}
    # The article id and date (whole minutes since 1970, UTC) are per-document
    # columns, read by docnum; date ranges are answered from the column too.
    return Schema(id=COLUMN(NumericColumn("Q")), date=COLUMN(NumericColumn("I")), **fields)


SCHEMA = _schema()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _minutes(dt: datetime, *, round_up: bool = False) -> int:
    """Minutes since 1970 (UTC); naive datetimes count as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    minutes, rest = divmod((dt - _EPOCH).total_seconds(), 60)
    return min(max(0, int(minutes) + (1 if round_up and rest else 0)), 2**32 - 1)


def _positions(value: str | Sequence[str]) -> dict[bytes, list[int]]:
    """Term -> positions in one field; the parts of a sequence (tags) are TAG_GAP apart."""
    found: dict[bytes, list[int]] = {}
    start = 0
    for part in [value] if isinstance(value, str) else value:
        terms = _terms(WORD_RE.findall(part[:MAX_FIELD_CHARS]))
        for offset, term in enumerate(terms, start):
            where = found.get(term)
            if where is None:
                found[term] = [offset]
            else:
                where.append(offset)
        start += len(terms) + TAG_GAP
    return found


