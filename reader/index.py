"""The local full-text index (Whoosh): schema, analysis, writing, searching, highlighting.

Every Whoosh call of the reader lives in this module. The store is the record;
this index is derived from it and can be rebuilt at any time, so it keeps no
text, only what searching needs: terms with their positions, and each
article's id and date.

Analysis is the same for indexing, queries and highlighting: words are runs of
letters and digits (`\\w+`), lowercased and Porter-stemmed, with no stop words
and no minimum length, so `US`, `AI` and `a` stay searchable, also inside
phrases. `DeepSeek-R1` is two adjacent words, so the query `DeepSeek-R1`
searches the phrase "deepseek r1" and finds both spellings; `H800` is one word.

Whoosh keeps the files (its segments, term tables, columns, lock and table of
contents), but its writer and its matchers are too slow for the targets here
(1,000 articles/s on two cores; 50 ms searches at 100,000 articles), so:

- `_SegmentBuilder` writes segments itself, in Whoosh's own format: each
  document's terms are grouped as they are analysed and each term's postings
  written in one go, instead of one sorted tuple and method call per posting.
  Large batches are split across worker processes, a segment each.
- Searches compile the query into a small plan and evaluate it per segment
  with sets (`_Evaluation`): postings are read a block at a time, the rarest
  term first and the others only where they can still match; only the final
  matches are scored (BM25). Dates come from a per-document column.

Each `add` commits its batch as new segments of their own (small old segments
are merged first), so the alerts can read a batch's terms (`segment_terms`)
and search it alone (`search(restrict=...)`).
"""

from __future__ import annotations

import heapq
import math
import pickle
import re
import sys
import threading
import time
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate, chain
from pathlib import Path

from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN, TEXT, FieldType, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.index import FileIndex, LockError
from whoosh.lang.porter import stem
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.writing import CLEAR, SegmentWriter

from .pool import process_pool
from .query import And, DateRange, Node, Not, Or, Phrase, QueryError, Word
from .query import parse as parse_syntax
from .store import IndexRow

__all__ = [
    "Hit", "IndexBusy", "ParsedQuery", "QueryError", "SearchIndex", "Snippet",
    "analyze", "explain", "highlight", "parse_query", "required_terms",
]  # fmt: skip

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


# -- building segments ---------------------------------------------------------------

_BLOCK_POSTINGS = 128  # postings per block, as Whoosh writes them
_INLINE_POSTINGS = 4  # a term with this few postings keeps them in the term table
_MIN_COMPRESSED_BYTES = 2048  # smaller blocks are stored plain: zlib costs more time than it saves space
_TERM_INFO = W3TermInfo._struct  # flags, weight, doc freq, min/max length, max weight, first/last id
# Whoosh pickles blocks with protocol 2, which stores each bytes value as a
# call to codecs.encode; its reader loads any protocol, and 5 stores bytes as bytes.
_PICKLE_PROTOCOL = 5


def _pickled_int(n: int) -> bytes:
    """The pickle opcode for a non-negative int (BININT1, BININT2 or BININT)."""
    if n < 256:
        return b"K" + n.to_bytes(1, "little")
    if n < 65536:
        return b"M" + n.to_bytes(2, "little")
    return b"J" + n.to_bytes(4, "little", signed=True)


_PICKLED_INTS = [_pickled_int(n) for n in range(4096)]
_ONE_POSITION = [pack_uint(1) + b"]" + op + b"a." for op in _PICKLED_INTS]  # the commonest posting value


def _encode_positions(positions: list[int]) -> bytes:
    """Whoosh's `Positions` value: a count, then the position deltas as a pickled list.

    Written by hand as the shortest pickle that loads to the list (no protocol
    header, no memo): about half the size of pickle.dumps, and as fast.
    """
    if len(positions) == 1 and positions[0] < 4096:
        return _ONE_POSITION[positions[0]]
    ops, ints, previous = [], _PICKLED_INTS, 0
    for p in positions:
        delta = p - previous
        ops.append(ints[delta] if delta < 4096 else _pickled_int(delta))
        previous = p
    return pack_uint(len(positions)) + b"](" + b"".join(ops) + b"e."


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


def _row_fields(row: IndexRow) -> dict[str, str | Sequence[str]]:
    return {
        "title": row.title, "text": row.text, "summary": row.summary, "feed": row.feed_title,
        "group": row.group, "author": row.author, "tags": row.categories, "link": row.link,
    }  # fmt: skip


class _SegmentBuilder:
    """Writes articles straight into one new segment, in Whoosh's W3 format.

    Postings are collected per field and term as flat lists
    [docnum, frequency, value, docnum, …] and written term by term at the end.
    The segment is returned uncommitted: the caller adds it to the index.
    """

    def __init__(self, storage: FileStorage):
        codec = W3Codec()
        self.storage = storage
        self.segment = codec.new_segment(storage, INDEXNAME)
        self.perdoc = codec.per_document_writer(storage, self.segment)
        self.postings: dict[str, dict[bytes, list]] = {name: {} for name in ANALYSED_FIELDS}
        self.docnum = 0

    def add(self, row: IndexRow) -> None:
        self.perdoc.start_doc(self.docnum)
        for name, value in _row_fields(row).items():
            self._add_analysed(name, value)
        self.perdoc.add_column_value("id", SCHEMA["id"].column_type, row.id)
        self.perdoc.add_column_value("date", SCHEMA["date"].column_type, _minutes(row.date))
        self.perdoc.finish_doc()
        self.docnum += 1

    def _add_analysed(self, name: str, value: str | Sequence[str]) -> None:
        docnum, postings = self.docnum, self.postings[name]
        positions = _positions(value)
        one = _ONE_POSITION
        for term, where in positions.items():
            entry = postings.get(term)
            if entry is None:
                postings[term] = entry = []
            if len(where) == 1 and where[0] < 4096:
                entry += (docnum, 1, one[where[0]])
            else:
                entry += (docnum, len(where), _encode_positions(where))
        length = sum(map(len, positions.values()))
        self.perdoc.add_field(name, SCHEMA[name], None, length)

    def add_segment(self, reader: SegmentReader) -> None:
        """Copy the live documents of an existing segment (for merging), postings term by term."""
        docmap = self._copy_documents(reader)
        base = docmap[0] if docmap else 0
        compact = docmap == list(range(base, base + len(docmap)))  # no deletions: docnums just shift
        postfile = reader.segment().open_file(self.storage, W3Codec.POSTS_EXT)
        try:
            for (name, term), info in reader:
                ids, weights, values = _read_postings(postfile, info)
                if compact:
                    ids = [docnum + base for docnum in ids]
                else:
                    kept = [k for k, docnum in enumerate(ids) if docmap[docnum] >= 0]
                    if not kept:
                        continue
                    ids = [docmap[ids[k]] for k in kept]
                    weights, values = [weights[k] for k in kept], [values[k] for k in kept]
                entry = self.postings[name].setdefault(term, [])
                entry += chain.from_iterable(zip(ids, weights, values))
        finally:
            postfile.close()

    def _copy_documents(self, reader: SegmentReader) -> list[int]:
        """Per-document data (field lengths, id, date) of the live documents; old -> new docnum, -1 if deleted."""
        columns = {name: _numeric_column(reader, name) for name in ("id", "date")}
        docmap = []
        for old in range(reader.doc_count_all()):
            if reader.is_deleted(old):
                docmap.append(-1)
                continue
            self.perdoc.start_doc(self.docnum)
            for name in ANALYSED_FIELDS:
                self.perdoc.add_field(name, SCHEMA[name], None, reader.doc_field_length(old, name))
            for name, column in columns.items():
                self.perdoc.add_column_value(name, SCHEMA[name].column_type, column[old])
            self.perdoc.finish_doc()
            docmap.append(self.docnum)
            self.docnum += 1
        return docmap

    def finish(self):
        """Write the term table and postings; returns the (uncommitted) segment."""
        self.perdoc.close()
        terms = _TermsWriter(self.storage, self.segment)
        for name in sorted(self.postings):
            postings = self.postings[name]
            if postings:
                terms.start_field(name)
                for term in sorted(postings):
                    terms.add(term, postings[term])
        terms.close()
        self.segment.set_doc_count(self.docnum)
        return self.segment


class _TermsWriter:
    """Whoosh's W3 term table and posting blocks, written a whole term at a time."""

    def __init__(self, storage: FileStorage, segment):
        self.table = OrderedHashWriter(segment.create_file(storage, W3Codec.TERMS_EXT))
        self.fieldmap: dict[str, int] = {}
        self.table.extras["fieldmap"] = self.fieldmap
        self.postfile = segment.create_file(storage, W3Codec.POSTS_EXT)
        self.prefix = b""

    def start_field(self, name: str) -> None:
        self.fieldmap[name] = len(self.fieldmap)
        self.prefix = pack_ushort(self.fieldmap[name])

    def add(self, term: bytes, flat: list) -> None:
        ids, weights, values = flat[0::3], flat[1::3], flat[2::3]  # a weight is the term's frequency
        if len(ids) <= _INLINE_POSTINGS:
            flags, tail = 1, pickle.dumps((tuple(ids), tuple(weights), tuple(values)), _PICKLE_PROTOCOL)
        else:
            start = self.postfile.tell()
            self.postfile.write(WHOOSH3_HEADER_MAGIC)
            for first in range(0, len(ids), _BLOCK_POSTINGS):
                end = first + _BLOCK_POSTINGS
                self._write_block(ids[first:end], weights[first:end], values[first:end], end >= len(ids))
            flags, tail = 0, pack_long(start) + pack_int(self.postfile.tell() - start)
        # What W3TermInfo.to_bytes writes. Lengths are left out: Whoosh uses them only to
        # bound scores when skipping blocks, and 0 keeps that bound safe (if looser).
        info = _TERM_INFO.pack(flags, sum(weights), len(ids), 0, 0, max(weights), ids[0], ids[-1])
        self.table.add(self.prefix + term, info + tail)

    def _write_block(self, ids: list[int], weights: list[int], values: list[bytes], last: bool) -> None:
        deltas = [ids[0]] + [b - a for a, b in zip(ids, ids[1:])]
        if weights.count(weights[0]) < len(weights):
            packed_weights = tuple(weights)
        else:
            packed_weights = None if weights[0] == 1 else float(weights[0])  # the reader wants a float here
        data = pickle.dumps((tuple(deltas), packed_weights, tuple(values)), _PICKLE_PROTOCOL)
        level = 3 if len(data) >= _MIN_COMPRESSED_BYTES else 0
        if level:
            data = zlib.compress(data, level)
        # count, last id, max weight, compression, min and max length
        info = pickle.dumps((len(ids), ids[-1], max(weights), level, 0, 0), _PICKLE_PROTOCOL)
        size = len(info) + len(data)
        self.postfile.write_int(-size if last else size)
        self.postfile.write(info)
        self.postfile.write(data)

    def close(self) -> None:
        self.table.close()
        self.postfile.close()


def _read_postings(postfile, info, wanted: list[int] | None = None) -> tuple[list[int], list, list[bytes]]:
    """A term's (docnums, weights, values), read back from the W3 format `_TermsWriter` writes.

    With `wanted` (sorted docnums), blocks that cannot hold any of them are
    skipped unread: each block's header names its last docnum.
    """
    if info.is_inlined():
        ids, weights, values = info.inlined_postings()
        return list(ids), list(weights), list(values)
    offset, _length = info.extent()  # (whoosh-reloaded reads this length back as a tuple: unused)
    postfile.seek(offset)
    if postfile.read(4) != WHOOSH3_HEADER_MAGIC:
        raise ValueError(f"not a posting list at offset {offset}")
    ids, weights, values = [], [], []
    previous_last, next_wanted = -1, 0
    while True:
        size = postfile.read_int()
        start = postfile.tell()
        count, last, _max_weight, level, _min_length, _max_length = postfile.read_pickle()
        data_size = abs(size) - (postfile.tell() - start)
        if wanted is not None:
            next_wanted = bisect_right(wanted, previous_last, next_wanted)
            if next_wanted == len(wanted):
                break
        if wanted is None or wanted[next_wanted] <= last:
            data = postfile.read(data_size)
            deltas, block_weights, block_values = pickle.loads(zlib.decompress(data) if level else data)
            ids += accumulate(deltas)
            weights += block_weights if isinstance(block_weights, tuple) else [block_weights or 1] * count
            values += block_values
        else:
            postfile.seek(data_size, 1)
        previous_last = last
        if size < 0:
            break
    return ids, weights, values


def _build_segment(index_dir: str, rows: Sequence[IndexRow]):
    """One uncommitted segment holding `rows`; runs in a worker process for large batches."""
    builder = _SegmentBuilder(FileStorage(index_dir))
    for row in rows:
        builder.add(row)
    return builder.finish()


# -- queries ---------------------------------------------------------------------------
#
# A query is compiled into a small plan, and the plan is evaluated segment by
# segment with sets: each term's postings are read whole from Whoosh's files
# (a block at a time, in C), combined with set operations, and only the final
# matches are scored. Whoosh's own matchers cost ~50 µs per candidate
# document, too slow for a phrase found in 2,000 of 100,000 articles.


@dataclass(frozen=True)
class _Terms:
    """A word (one term) or a phrase (adjacent terms), in any of `fields`."""

    fields: tuple[str, ...]
    terms: tuple[str, ...]


@dataclass(frozen=True)
class _Window:
    """Dated in [low, high) minutes since 1970."""

    low: int
    high: int


@dataclass(frozen=True)
class _All:
    parts: tuple[Plan, ...]


@dataclass(frozen=True)
class _Any:
    parts: tuple[Plan, ...]


@dataclass(frozen=True)
class _Without:
    part: Plan


Plan = _Terms | _Window | _All | _Any | _Without


@dataclass(frozen=True)
class ParsedQuery:
    """A query ready to run: the text, what the user should be told, the syntax and the plan.

    `relative_dates` is true when the query says `date:7d` or similar: those
    are fixed at parse time, so parse again (with a fresh `now`) before reuse.
    """

    text: str
    warnings: tuple[str, ...]
    tree: Node
    plan: Plan
    relative_dates: bool


def parse_query(text: str, *, now: datetime | None = None) -> ParsedQuery:
    """Parse query text (see `reader.query` for the language); raises QueryError.

    Bare terms are ANDed: `DeepSeek export controls` needs all three words,
    each anywhere in the title, text, summary, author or tags (they may be in
    different fields).
    """
    syntax = parse_syntax(text, now=now)
    warnings = list(syntax.warnings)
    plan = _compile(syntax.tree, warnings)
    if plan is None:
        raise QueryError("nothing in the query can be searched for: it has no letters or digits", text, None)
    return ParsedQuery(text, tuple(warnings), syntax.tree, plan, syntax.relative_dates)


def _terms_of(node: Word | Phrase) -> list[str]:
    return analyze(node.text)


def _fields_of(node: Word | Phrase) -> tuple[str, ...]:
    return (node.field,) if node.field else SEARCHED_FIELDS


def _compile(node: Node, warnings: list[str]) -> Plan | None:
    """The plan for a syntax tree; None for parts with nothing searchable (with a warning)."""
    match node:
        case Word() | Phrase():
            terms = tuple(_terms_of(node))
            if not terms:
                warnings.append(f"'{node.text}' has no letters or digits, so it is ignored")
                return None
            return _Terms(_fields_of(node), terms)
        case DateRange(start, end):
            return _Window(_minutes(start) if start else 0, _minutes(end, round_up=True) if end else 2**32)
        case Not(child):
            inner = _compile(child, warnings)
            return None if inner is None else _Without(inner)
        case And(children) | Or(children):
            parts = tuple(p for p in (_compile(c, warnings) for c in children) if p is not None)
            if not parts:
                return None
            return parts[0] if len(parts) == 1 else (_All if isinstance(node, And) else _Any)(parts)
    raise TypeError(node)


def explain(q: ParsedQuery) -> str:
    """The query as the engine runs it: structure, fields, and analysed (stemmed) terms."""
    lines = [f"query: {q.text}"]
    lines += _explain_node(q.tree, "  ")
    lines.append(
        "Bare terms must ALL match (AND); each may be in a different field. "
        f"'any text field' means one of: {', '.join(SEARCHED_FIELDS)}. "
        "Words match after lowercasing and stemming (controls = control)."
    )
    lines += [f"warning: {w}" for w in q.warnings]
    return "\n".join(lines)


def _explain_node(node: Node, indent: str) -> list[str]:
    match node:
        case Word() | Phrase():
            terms = _terms_of(node)
            where = f"in {node.field}" if node.field else "in any text field"
            if not terms:
                return [f"{indent}(ignored: '{node.text}' has no letters or digits)"]
            if len(terms) == 1:
                shown = f'word "{terms[0]}"' + (f' (from "{node.text}")' if terms[0] != node.text.lower() else "")
            else:
                shown = f'phrase "{" ".join(terms)}"' + (f' (from "{node.text}")' if isinstance(node, Word) else "")
            return [f"{indent}{shown} {where}"]
        case DateRange(start, end, text):
            since = f"on or after {start:%Y-%m-%d %H:%M}" if start else ""
            until = f"before {end:%Y-%m-%d %H:%M}" if end else ""
            return [f"{indent}date {' and '.join(filter(None, (since, until)))} UTC (date:{text})"]
        case Not(child):
            return [f"{indent}NOT (must not match):", *_explain_node(child, indent + "  ")]
        case And(children):
            return [f"{indent}ALL of:", *(line for c in children for line in _explain_node(c, indent + "  "))]
        case Or(children):
            return [f"{indent}ANY of:", *(line for c in children for line in _explain_node(c, indent + "  "))]
    raise TypeError(node)


Clause = frozenset[tuple[str, str]]


def required_terms(q: ParsedQuery) -> tuple[Clause, ...]:
    """What any match must contain, for skipping rules cheaply before searching.

    A tuple of clauses: a matching article holds at least one (field, term)
    of every clause. An empty tuple means nothing is required (e.g. a query
    that only excludes), so the query must always be run.
    """
    return _required(q.plan)


def _required(plan: Plan) -> tuple[Clause, ...]:
    match plan:
        case _Terms(fields, terms):
            return tuple(frozenset((f, t) for f in fields) for t in dict.fromkeys(terms))
        case _All(parts):
            return tuple(clause for p in parts for clause in _required(p))
        case _Any(parts):
            needs = [_required(p) for p in parts]
            if not all(needs):
                return ()
            return (frozenset(term for need in needs for clause in need for term in clause),)
    return ()  # exclusions and dates require no particular term


# -- searching ---------------------------------------------------------------------------


class IndexBusy(Exception):
    """Another process holds the index's writer lock for longer than we wait."""


@dataclass(frozen=True)
class Hit:
    article_id: int
    score: float  # relevance (BM25); 0.0 when sorted by date


SORTS = ("relevance", "newest")
SEGMENT_DOCS = 5000  # articles per segment when indexing a large batch
MERGE_FACTOR = 4  # this many small segments of about the same size are merged into one
BM25_K1, BM25_B = 1.2, 0.75  # Whoosh's defaults
FIELD_BOOSTS = {"title": 2.0}  # a word in the title says more than one in the text


class _SegmentTable:
    """What searching needs of one segment's documents, read once: segments never change
    their documents (only deletion marks, which are read afresh with each reader)."""

    def __init__(self, reader: SegmentReader):
        self.ids: list[int] = _numeric_column(reader, "id")
        self.where: dict[int, int] = {article_id: docnum for docnum, article_id in enumerate(self.ids)}
        self.dates: list[int] = _numeric_column(reader, "date")
        order = sorted(range(len(self.dates)), key=self.dates.__getitem__)
        self._by_date = (order, [self.dates[d] for d in order])
        self.lengths: dict[str, dict[int, int]] = {}  # field -> docnum -> length, filled as scored

    def dated(self, low: int, high: int) -> list[int]:
        """Docnums dated in [low, high)."""
        order, dates = self._by_date
        return order[bisect_left(dates, low) : bisect_left(dates, high)]


def _numeric_column(reader: SegmentReader, name: str) -> list[int]:
    """A whole NumericColumn, read in one go: Whoosh's reader unpacks one value per call,
    ~2 µs each, which made opening a 100,000-article index take half a second."""
    column = reader.column_reader(name, translate=False)
    if not isinstance(column, NumericColumn.Reader):  # no document had a value but the default, 0
        return [0] * reader.doc_count_all()
    size = column._count * column._fixedlen  # (the column reader's own fields)
    values = array(column._typecode, column._dbfile.get(column._basepos, size))
    if sys.byteorder == "little":  # stored big-endian
        values.byteswap()
    return values.tolist() + [column._default] * (reader.doc_count_all() - column._count)


class _View:
    """One segment as a search sees it: its reader, deletions, postings file and table."""

    def __init__(self, reader: SegmentReader, offset: int, table: _SegmentTable, storage: FileStorage):
        self.reader = reader
        self.offset = offset
        self.table = table
        self.deleted = frozenset(reader.segment().deleted_docs())
        self.key = reader.segment().segment_id()
        self._storage = storage
        self._postfile = None
        self._infos: dict[tuple[str, str], W3TermInfo | None] = {}

    def live(self) -> set[int]:
        return set(range(self.reader.doc_count_all())) - self.deleted

    def term_info(self, field: str, term: str) -> W3TermInfo | None:
        info = self._infos.get((field, term), False)
        if info is False:
            if len(self._infos) > 10_000:
                self._infos.clear()
            try:
                info = self.reader.term_info(field, term)
            except TermNotFound:
                info = None
            self._infos[(field, term)] = info
        return info

    def doc_frequency(self, field: str, term: str) -> int:
        info = self.term_info(field, term)
        return info.doc_frequency() if info else 0

    def postings(self, field: str, term: str, wanted: list[int] | None = None) -> tuple[list[int], list, list[bytes]]:
        """(docnums, frequencies, position values) of a term, deleted documents included;
        with `wanted` (sorted docnums), only the blocks that may hold one of them."""
        info = self.term_info(field, term)
        if info is None:
            return [], [], []
        if self._postfile is None:
            self._postfile = self.reader.segment().open_file(self._storage, W3Codec.POSTS_EXT)
        return _read_postings(self._postfile, info, wanted)

    def close(self) -> None:
        if self._postfile is not None:
            self._postfile.close()


class _Evaluation:
    """One query over a set of segments: global statistics for scoring, then each segment's matches."""

    def __init__(self, views: list[_View], scored: bool):
        self.views = views
        self.scored = scored
        self.doc_count = max(1, sum(v.reader.doc_count_all() for v in views))
        self._idf: dict[tuple[str, str], float] = {}
        self._avg_length: dict[str, float] = {}

    def matches(self, plan: Plan, view: _View, within: set[int] | None = None) -> dict[int, float]:
        """Live docnum -> score of the documents of `view` (among `within`, if given) that match."""
        found = self._match(plan, view, within)
        for docnum in view.deleted.intersection(found):
            del found[docnum]
        return found

    def _match(self, plan: Plan, view: _View, within: set[int] | None) -> dict[int, float]:
        match plan:
            case _Terms(fields, terms):
                found: dict[int, float] = {}
                for field in fields:
                    _add(found, self._terms(view, field, terms, within))
                return found
            case _Window(low, high):
                dated = view.table.dated(low, high)
                return dict.fromkeys(dated if within is None else within.intersection(dated), 0.0)
            case _All(parts):
                return self._all(parts, view, within)
            case _Any(parts):
                found = {}
                for part in parts:
                    _add(found, self._match(part, view, within))
                return found
            case _Without(part):
                scope = view.live() if within is None else within
                return dict.fromkeys(scope.difference(self._match(part, view, scope)), 0.0)
        raise TypeError(plan)

    def _all(self, parts: tuple[Plan, ...], view: _View, within: set[int] | None) -> dict[int, float]:
        """The rarest part first; each next part is looked for only among the documents left."""
        positive = sorted((p for p in parts if not isinstance(p, _Without)), key=lambda p: self._estimate(p, view))
        found: dict[int, float] | None = None
        for part in positive:
            more = self._match(part, view, within if found is None else set(found))
            found = more if found is None else {d: s + more[d] for d, s in found.items() if d in more}
            if not found:
                return {}
        if found is None:
            found = dict.fromkeys(view.live() if within is None else within, 0.0)
        for part in (p.part for p in parts if isinstance(p, _Without)):
            for docnum in found.keys() & self._match(part, view, set(found)).keys():
                del found[docnum]
        return found

    def _estimate(self, plan: Plan, view: _View) -> int:
        """About how many documents of `view` match: to intersect the rarest first."""
        match plan:
            case _Terms(fields, terms):
                return sum(min(view.doc_frequency(f, t) for t in terms) for f in fields)
            case _Window(low, high):
                return len(view.table.dated(low, high))
            case _All(parts):
                return min((self._estimate(p, view) for p in parts if not isinstance(p, _Without)),
                           default=view.reader.doc_count_all())  # fmt: skip
            case _Any(parts):
                return sum(self._estimate(p, view) for p in parts)
        return view.reader.doc_count_all()

    def _terms(self, view: _View, field: str, terms: tuple[str, ...], within: set[int] | None) -> dict[int, float]:
        """Documents holding the word, or the phrase's words adjacent, in one field; scored.

        The rarest term is read first, and each next one only in the blocks
        that may hold a document still in the running.
        """
        postings: dict[str, tuple[list[int], list, list[bytes]]] = {}
        candidates = within
        for term in sorted(set(terms), key=lambda t: view.doc_frequency(field, t)):
            found = postings[term] = view.postings(field, term, None if candidates is None else sorted(candidates))
            candidates = set(found[0]) if candidates is None else candidates.intersection(found[0])
            if not candidates:
                return {}
        if len(terms) > 1:
            values = {term: dict(zip(ids, vals)) for term, (ids, _freqs, vals) in postings.items()}
            candidates = {d for d in candidates if _adjacent([_decode_positions(values[t][d]) for t in terms])}
        scores = dict.fromkeys(candidates, 0.0)
        if self.scored:
            for term, (ids, freqs, _values) in postings.items():
                self._score(view, field, term, ids, freqs, scores)
        return scores

    def _score(self, view: _View, field: str, term: str, ids: list[int], freqs: list,
               scores: dict[int, float]) -> None:  # fmt: skip
        """Add the BM25 of (field, term) to each document in `scores`."""
        idf = self._idf.get((field, term))
        if idf is None:
            frequency = sum(v.doc_frequency(field, term) for v in self.views)
            idf = self._idf[(field, term)] = math.log(self.doc_count / (frequency + 1)) + 1
        average = self._avg_length.get(field)
        if average is None:
            total = sum(v.reader.field_length(field) for v in self.views)
            average = self._avg_length[field] = total / self.doc_count or 1.0
        weight = idf * FIELD_BOOSTS.get(field, 1.0) * (BM25_K1 + 1)
        lengths = view.table.lengths.setdefault(field, {})
        frequency_in = dict(zip(ids, freqs))
        for docnum in scores:
            freq = frequency_in[docnum]
            length = lengths.get(docnum)
            if length is None:
                length = lengths[docnum] = view.reader.doc_field_length(docnum, field)
            scores[docnum] += weight * freq / (freq + BM25_K1 * (1 - BM25_B + BM25_B * length / average))


def _add(into: dict[int, float], scores: dict[int, float]) -> None:
    for docnum, score in scores.items():
        into[docnum] = into.get(docnum, 0.0) + score


def _decode_positions(value: bytes) -> list[int]:
    """Positions from a Whoosh `Positions` value (a count, then pickled deltas)."""
    return list(accumulate(pickle.loads(value[4:])))


def _adjacent(positions: list[list[int]]) -> bool:
    """Whether the i-th list holds p + i for some p of the first (the words form the phrase)."""
    starts = set(positions[0])
    for i, later in enumerate(positions[1:], 1):
        starts.intersection_update(p - i for p in later)
        if not starts:
            return False
    return True


class SearchIndex:
    """The index directory: one writer at a time (a file lock), any number of readers."""

    def __init__(self, path: Path, *, lock_timeout: float = 30.0, workers: int = 2,
                 segment_docs: int = SEGMENT_DOCS):  # fmt: skip
        """Open the index at `path`, creating it (empty) if missing or unreadable.

        `created` then tells the caller to index every article again. A writer
        waits up to `lock_timeout` seconds for another one. An `add` of more than
        `segment_docs` articles is split into segments of that size, built by
        `workers` processes.
        """
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.lock_timeout = lock_timeout
        self.workers = workers
        self.segment_docs = segment_docs
        self._storage = FileStorage(str(self.path))
        self._lock = threading.RLock()  # the open segments are shared by threads, used by one at a time
        self._reader = None
        self._generation = -1
        self._current: list[_View] = []
        self._tables: dict[str, _SegmentTable] = {}
        self.created = False
        try:
            self._ix = FileIndex(self._storage, indexname=INDEXNAME)
        except Exception:  # missing, or unreadable: it is derived data, so start afresh
            self._create()
            self._ix = FileIndex(self._storage, indexname=INDEXNAME)

    def _create(self) -> None:
        """A new, empty index, under the writer lock in case another process is creating it too."""
        lock = self._storage.lock(f"{INDEXNAME}_WRITELOCK")
        deadline = time.monotonic() + self.lock_timeout
        while not lock.acquire():
            if time.monotonic() > deadline:
                raise IndexBusy(self._busy_message())
            time.sleep(0.05)
        try:
            try:
                FileIndex(self._storage, indexname=INDEXNAME)
            except Exception:
                FileIndex.create(self._storage, SCHEMA, INDEXNAME)
                self.created = True
                self._remove_old_versions()
        finally:
            lock.release()

    def _remove_old_versions(self) -> None:
        """Delete the files of indexes with an older INDEXNAME: they are never read again."""
        for name in self._storage.list():
            if _INDEX_FILE.match(name) and not name.lstrip("_").startswith(INDEXNAME + "_"):
                self._storage.delete_file(name)

    def close(self) -> None:
        with self._lock:
            self._close_reader()

    # -- writing ---------------------------------------------------------------------------

    def _busy_message(self) -> str:
        return (
            f"another reader process is writing to the search index at {self.path} "
            f"(waited {self.lock_timeout:g} s); try again when it has finished"
        )

    @contextmanager
    def _writer(self) -> Iterator[SegmentWriter]:
        try:
            writer = self._ix.writer(timeout=self.lock_timeout, delay=0.05)
        except LockError:
            raise IndexBusy(self._busy_message()) from None
        try:
            yield writer
        except BaseException:
            writer.cancel()
            raise

    def add(self, rows: Iterable[IndexRow], *, chunk_size: int | None = None) -> list[tuple[int, int]]:
        """Index (or re-index) articles; returns the (id, version) pairs written, for store.mark_indexed.

        The whole iterable is committed at once, as new segments of its own;
        inputs of more than one chunk (`chunk_size`, default `segment_docs`
        articles) are analysed in worker processes, a chunk each.
        """
        written: list[tuple[int, int]] = []
        later: list[IndexRow] = []  # an id seen in an earlier chunk: applied after this commit
        with self._writer() as writer:
            chunks = _unique_chunks(rows, chunk_size or self.segment_docs, later)
            segments = self._build(writer, chunks, written)
            if not segments:
                writer.cancel()
                return []
            final = self._merge_small(writer.segments) + segments  # the batch stays its own segments
            writer.commit(mergetype=lambda _writer, _existing: final)
        if later:
            written += self.add(later, chunk_size=chunk_size)
        return written

    def _merge_small(self, segments: list) -> list:
        """The segments after merging one tier of small ones, if a tier has filled up.

        Segments of fewer than `segment_docs` live articles are grouped in tiers
        by size (powers of MERGE_FACTOR); a full tier becomes one segment of the
        next tier. Each article is so rewritten a few times at most, and large
        segments (a rebuild's) are left alone.
        """
        segments = [s for s in segments if s.doc_count() > 0]  # every article deleted: drop it
        tiers: dict[int, list] = {}
        for segment in segments:
            if segment.doc_count() < self.segment_docs:
                tiers.setdefault(int(math.log(max(segment.doc_count(), 1), MERGE_FACTOR)), []).append(segment)
        full = next((tier for _size, tier in sorted(tiers.items()) if len(tier) >= MERGE_FACTOR), None)
        if full is None:
            return segments
        builder = _SegmentBuilder(self._storage)
        for segment in full:
            reader = SegmentReader(self._storage, SCHEMA, segment)
            try:
                builder.add_segment(reader)
            finally:
                reader.close()
        return [s for s in segments if s not in full] + [builder.finish()]

    def _build(self, writer: SegmentWriter, chunks: Iterator[list[IndexRow]], written: list[tuple[int, int]]) -> list:
        """A new segment per chunk: here for one chunk, in worker processes for more."""
        chunks = self._replacing(writer, chunks, written)
        first, second = next(chunks, None), next(chunks, None)
        if first is None:
            return []
        if second is None or self.workers < 2:
            return [_build_segment(str(self.path), first)]
        segments, pending = [], deque()
        with process_pool(self.workers) as pool:
            for chunk in chain([first, second], chunks):
                pending.append(pool.submit(_build_segment, str(self.path), chunk))
                while len(pending) > self.workers:  # hold only a few chunks of rows in memory
                    segments.append(pending.popleft().result())
            segments += [future.result() for future in pending]
        return segments

    def _replacing(self, writer: SegmentWriter, chunks: Iterator[list[IndexRow]],
                   written: list[tuple[int, int]]) -> Iterator[list[IndexRow]]:  # fmt: skip
        """The chunks, each after deleting its articles' old documents and noting what it writes."""
        for chunk in chunks:
            self._delete_ids(writer, [row.id for row in chunk])
            written += ((row.id, row.version) for row in chunk)
            yield chunk

    def _delete_ids(self, writer: SegmentWriter, ids: Collection[int]) -> None:
        reader = writer.reader()
        views = self._views_of(reader)
        try:
            for view, docnums in _locate(views, ids):
                for docnum in docnums:
                    writer.delete_document(view.offset + docnum)
        finally:
            for view in views:
                view.close()
            reader.close()

    def delete(self, ids: Iterable[int]) -> None:
        """Drop articles from the index (ids not in it are ignored)."""
        ids = list(ids)
        if not ids:
            return
        with self._writer() as writer:
            self._delete_ids(writer, ids)
            writer.commit(merge=False)

    def clear(self) -> None:
        """Empty the index, e.g. before rebuilding it from the store."""
        with self._writer() as writer:
            writer.commit(mergetype=CLEAR)

    # -- reading ---------------------------------------------------------------------------

    @contextmanager
    def _views(self) -> Iterator[list[_View]]:
        """The current segments, reopened when the index has changed.

        (Whoosh's Searcher.refresh() is not used: whoosh-reloaded's reader reuse
        keeps a segment's old deletions and brings back merged-away segments.)
        """
        with self._lock:
            generation = self._ix.latest_generation()
            if self._reader is None or generation != self._generation:
                self._close_reader()
                self._reader = self._ix.reader()
                self._generation = generation
                self._current = self._views_of(self._reader)
                live = {view.key for view in self._current}
                self._tables = {key: table for key, table in self._tables.items() if key in live}
            yield self._current

    def _views_of(self, reader) -> list[_View]:
        views = []
        with self._lock:  # the tables are shared with searches in other threads
            for leaf, offset in reader.leaf_readers():
                if leaf.segment() is None:  # the empty index's reader
                    continue
                key = leaf.segment().segment_id()
                table = self._tables.get(key)
                if table is None:
                    table = self._tables[key] = _SegmentTable(leaf)
                views.append(_View(leaf, offset, table, self._storage))
        return views

    def _close_reader(self) -> None:
        for view in self._current:
            view.close()
        if self._reader is not None:
            self._reader.close()
        self._reader, self._current = None, []

    def doc_count(self) -> int:
        with self._views() as views:
            return sum(view.reader.doc_count() for view in views)

    def search(self, q: ParsedQuery | str, *, limit: int | None = 20, sort: str = "relevance",
               restrict: Collection[int] | None = None) -> list[Hit]:  # fmt: skip
        """Matching articles, best (or newest) first; only among `restrict` ids if given.

        A restricted search reads only the segments holding those articles: right
        after `add`, that is the new batch alone.
        """
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, not {sort!r}")
        pq = q if isinstance(q, ParsedQuery) else parse_query(q)
        newest = sort == "newest"
        found: list[tuple[float, int, int]] = []  # (score, date, article id)
        with self._views() as views:
            run = _Evaluation(views, scored=not newest)
            for view, allowed in _segments(views, restrict):
                ids, dates = view.table.ids, view.table.dates
                found += [(score, dates[d], ids[d]) for d, score in run.matches(pq.plan, view, allowed).items()]
        key = (lambda f: (f[1], f[2])) if newest else None
        best = sorted(found, key=key, reverse=True) if limit is None else heapq.nlargest(limit, found, key=key)
        return [Hit(article_id, 0.0 if newest else score) for score, _date, article_id in best]

    def count(self, q: ParsedQuery | str, *, restrict: Collection[int] | None = None) -> int:
        """How many articles match."""
        pq = q if isinstance(q, ParsedQuery) else parse_query(q)
        with self._views() as views:
            run = _Evaluation(views, scored=False)
            return sum(len(run.matches(pq.plan, view, allowed)) for view, allowed in _segments(views, restrict))

    def segment_terms(self, ids: Collection[int]) -> frozenset[tuple[str, str]]:
        """Every (field, term) of the segments holding these articles.

        A superset of the articles' own terms (exact right after `add`, when a
        batch is its own segment): a rule none of whose `required_terms` is
        here cannot match any of them.
        """
        with self._views() as views:
            return frozenset(
                (field, text.decode())
                for view, _docnums in _locate(views, ids)
                for field, text in view.reader.all_terms()
            )


def _unique_chunks(rows: Iterable[IndexRow], size: int, later: list[IndexRow]) -> Iterator[list[IndexRow]]:
    """Rows in chunks of `size` with distinct ids; the last copy of an id within a chunk wins,
    and an id already sent in an earlier chunk goes to `later`."""
    sent: set[int] = set()
    chunk: dict[int, IndexRow] = {}
    for row in rows:
        if row.id in sent:
            later.append(row)
            continue
        chunk[row.id] = row
        if len(chunk) >= size:
            sent.update(chunk)
            yield list(chunk.values())
            chunk = {}
    if chunk:
        yield list(chunk.values())


def _locate(views: list[_View], ids: Collection[int]) -> list[tuple[_View, set[int]]]:
    """(segment, its live docnums) for each segment holding some of these article ids.

    A live article is in one segment only, and a new batch in the newest ones,
    so segments are scanned newest first until every id is placed.
    """
    wanted = set(ids)
    found = []
    for view in reversed(views):
        if not wanted:
            break
        where = view.table.where
        live = {i: where[i] for i in wanted.intersection(where) if where[i] not in view.deleted}
        if live:
            wanted.difference_update(live)
            found.append((view, set(live.values())))
    return found


def _segments(views: list[_View], restrict: Collection[int] | None) -> list[tuple[_View, set[int] | None]]:
    """The segments to search, each with the docnums allowed in it (None: all)."""
    if restrict is None:
        return [(view, None) for view in views]
    return _locate(views, restrict)


# -- highlighting ---------------------------------------------------------------------------


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
