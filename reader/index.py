"""The local full-text index (Whoosh): schema, analysis, writing, searching, highlighting.

Every Whoosh call of the reader lives in this module. The store is the record;
this index is derived from it and can be rebuilt at any time, so it keeps no
text, only what searching needs: terms with their positions, the article id
and its date.

Analysis is the same for indexing, queries and highlighting: words are runs of
letters and digits (`\\w+`), lowercased and Porter-stemmed, with no stop words
and no minimum length, so `US`, `AI` and `a` stay searchable, also inside
phrases. `DeepSeek-R1` is two adjacent words, so the query `DeepSeek-R1`
searches the phrase "deepseek r1" and finds both spellings; `H800` is one word.

Writing is the expensive part. Whoosh's own writer spends most of its time
sorting one tuple per posting and calling a method per posting; `_SegmentBuilder`
instead groups each document's terms as it analyses them and writes every
term's postings in one go, in Whoosh's own on-disk format. Large batches are
split across worker processes, each writing its own segment. Each `add` call
commits its batch as new segments of their own (small old segments are merged
first), so the alerts matcher can read a batch's terms and search it alone.
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from pickle import dumps

from whoosh import query as wq
from whoosh.analysis import LowercaseFilter, RegexTokenizer, StemFilter
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.fields import ID, NUMERIC, TEXT, FieldType, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.index import FileIndex, LockError
from whoosh.lang.porter import stem
from whoosh.searching import Searcher
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.writing import CLEAR, MERGE_SMALL, SegmentWriter

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

INDEXNAME = "articles_v1"  # bump when the schema or analysis changes: the index is then rebuilt
ANALYSED_FIELDS = ("title", "text", "summary", "feed", "group", "author", "tags", "link")
# Where a term with no field prefix is looked for (the feed's and group's names
# are left out: a feed called "AI News" must not make every one of its articles match `AI`).
SEARCHED_FIELDS = ("title", "text", "summary", "author", "tags")
MAX_FIELD_CHARS = 400_000  # untrusted text: index at most this much of one field
TAG_GAP = 100  # positions between two tags, so a phrase never spans two of them


def _schema() -> Schema:
    fields: dict[str, FieldType] = {name: TEXT(analyzer=ANALYZER, phrase=True) for name in ANALYSED_FIELDS}
    # Dates are whole minutes since 1970 (UTC), indexed in 4-bit tiers: a
    # month's range is then ~45 terms, and only the finest tiers are unique to
    # an article (microseconds, Whoosh's DATETIME, made most of them unique).
    date = NUMERIC(int, bits=32, signed=False, shift_step=4, sortable=True)
    return Schema(id=ID(unique=True, sortable=True), date=date, **fields)


SCHEMA = _schema()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _minutes(dt: datetime, *, round_up: bool = False) -> int:
    """Minutes since 1970 (UTC); naive datetimes count as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    minutes, rest = divmod((dt - _EPOCH).total_seconds(), 60)
    return max(0, int(minutes) + (1 if round_up and rest else 0))


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
        self.storage = storage
        self.codec = W3Codec()
        self.segment = self.codec.new_segment(storage, INDEXNAME)
        self.perdoc = self.codec.per_document_writer(storage, self.segment)
        self.postings: dict[str, dict[bytes, list]] = {name: {} for name in SCHEMA.names()}
        self.docnum = 0

    def add(self, row: IndexRow) -> None:
        self.perdoc.start_doc(self.docnum)
        for name, value in _row_fields(row).items():
            self._add_analysed(name, value)
        self._add_keyword("id", str(row.id))
        self._add_keyword("date", _minutes(row.date))
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

    def _add_keyword(self, name: str, value: object) -> None:
        field = SCHEMA[name]
        postings = self.postings[name]
        for term, freq, _weight, vbytes in field.index(value):
            postings.setdefault(term, []).extend((self.docnum, freq, vbytes))
        self.perdoc.add_column_value(name, field.column_type, field.to_column_value(value))

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
        self.fixed_size: int | None = None

    def start_field(self, name: str) -> None:
        self.fieldmap[name] = len(self.fieldmap)
        self.prefix = pack_ushort(self.fieldmap[name])
        self.fixed_size = SCHEMA[name].format.fixed_value_size()

    def add(self, term: bytes, flat: list) -> None:
        ids, weights, values = flat[0::3], flat[1::3], flat[2::3]  # a weight is the term's frequency
        if len(ids) <= _INLINE_POSTINGS:
            # (values kept even when empty: whoosh-reloaded's ListMatcher would give "" for none)
            flags, tail = 1, dumps((tuple(ids), tuple(weights), tuple(values)), _PICKLE_PROTOCOL)
        else:
            start = self.postfile.tell()
            self.postfile.write(WHOOSH3_HEADER_MAGIC)
            for first in range(0, len(ids), _BLOCK_POSTINGS):
                end = first + _BLOCK_POSTINGS
                self._write_block(ids[first:end], weights[first:end], values[first:end], end >= len(ids))
            flags, tail = 0, pack_long(start) + pack_int(self.postfile.tell() - start)
        # What W3TermInfo.to_bytes writes; lengths are not kept (see _lean_codec).
        info = _TERM_INFO.pack(flags, sum(weights), len(ids), 0, 0, max(weights), ids[0], ids[-1])
        self.table.add(self.prefix + term, info + tail)

    def _write_block(self, ids: list[int], weights: list[int], values: list[bytes], last: bool) -> None:
        deltas = [ids[0]] + [b - a for a, b in zip(ids, ids[1:])]
        if weights.count(weights[0]) < len(weights):
            packed_weights = tuple(weights)
        else:
            packed_weights = None if weights[0] == 1 else float(weights[0])  # the reader wants a float here
        if self.fixed_size == 0:
            packed_values = None
        elif self.fixed_size:
            packed_values = b"".join(values)
        else:
            packed_values = tuple(values)
        data = dumps((tuple(deltas), packed_weights, packed_values), _PICKLE_PROTOCOL)
        level = 3 if len(data) >= _MIN_COMPRESSED_BYTES else 0
        if level:
            data = zlib.compress(data, level)
        # count, last id, max weight, compression, min and max length
        info = dumps((len(ids), ids[-1], max(weights), level, 0, 0), _PICKLE_PROTOCOL)
        size = len(info) + len(data)
        self.postfile.write_int(-size if last else size)
        self.postfile.write(info)
        self.postfile.write(data)

    def close(self) -> None:
        self.table.close()
        self.postfile.close()


def _build_segment(index_dir: str, rows: Sequence[IndexRow]):
    """One uncommitted segment holding `rows`; runs in a worker process for large batches."""
    builder = _SegmentBuilder(FileStorage(index_dir))
    for row in rows:
        builder.add(row)
    return builder.finish()


def _lean_codec() -> W3Codec:
    """The codec for Whoosh's own (merging) writer: no per-posting length lookups."""
    codec = W3Codec()
    codec.length_stats = False  # block length bounds only tune skipping; scores use the length columns
    return codec


# -- queries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedQuery:
    """A query ready to run: the text, what the user should be told, and the engine's form.

    `relative_dates` is true when the query says `date:7d` or similar: those
    are fixed at parse time, so parse again (with a fresh `now`) before reuse.
    """

    text: str
    warnings: tuple[str, ...]
    tree: Node
    engine_query: wq.Query
    relative_dates: bool


def parse_query(text: str, *, now: datetime | None = None) -> ParsedQuery:
    """Parse query text (see `reader.query` for the language); raises QueryError.

    Bare terms are ANDed: `DeepSeek export controls` needs all three words,
    each anywhere in the title, text, summary, author or tags (they may be in
    different fields).
    """
    syntax = parse_syntax(text, now=now)
    warnings = list(syntax.warnings)
    engine_query = _to_engine(syntax.tree, warnings)
    if engine_query is None:
        raise QueryError("nothing in the query can be searched for: it has no letters or digits", text, None)
    return ParsedQuery(text, tuple(warnings), syntax.tree, engine_query, syntax.relative_dates)


def _terms_of(node: Word | Phrase) -> list[str]:
    return analyze(node.text)


def _fields_of(node: Word | Phrase) -> tuple[str, ...]:
    return (node.field,) if node.field else SEARCHED_FIELDS


def _to_engine(node: Node, warnings: list[str]) -> wq.Query | None:
    """The Whoosh query for a syntax tree; None for parts with nothing searchable."""
    match node:
        case Word() | Phrase():
            terms = _terms_of(node)
            if not terms:
                warnings.append(f"'{node.text}' has no letters or digits, so it is ignored")
                return None
            per_field = [wq.Term(f, terms[0]) if len(terms) == 1 else wq.Phrase(f, terms) for f in _fields_of(node)]
            return per_field[0] if len(per_field) == 1 else wq.Or(per_field)
        case DateRange(start, end):
            return _date_query(start, end)
        case Not(child):
            inner = _to_engine(child, warnings)
            return None if inner is None else wq.Not(inner)
        case And(children) | Or(children):
            parts = [q for q in (_to_engine(c, warnings) for c in children) if q is not None]
            if not parts:
                return None
            return parts[0] if len(parts) == 1 else (wq.And if isinstance(node, And) else wq.Or)(parts)
    raise TypeError(node)


def _date_query(start: datetime | None, end: datetime | None) -> wq.Query:
    """Articles dated in [start, end), as term ranges over the date field's tiers.

    (Not Whoosh's NumericRange: whoosh-reloaded's split_ranges wraps below
    zero on wide ranges and then matches every date.)
    """
    field = SCHEMA["date"]
    low = _minutes(start) if start else 0
    high = (_minutes(end, round_up=True) if end else 2**field.bits) - 1
    parts = [
        wq.TermRange("date", field.to_bytes(a << shift, shift), field.to_bytes(b << shift, shift))
        for a, b, shift in _tier_ranges(low, high, field.shift_step, field.bits)
    ]
    return wq.ConstantScoreQuery(wq.Or(parts)) if parts else wq.NullQuery


def _tier_ranges(low: int, high: int, step: int, bits: int) -> list[tuple[int, int, int]]:
    """Cover [low, high] with (first, last, shift) runs of values shifted right by `shift`:
    exact values at the edges, coarser tiers in the middle (as a trie index does)."""
    runs = []
    shift = 0
    while low <= high:
        if shift + step >= bits:
            runs.append((low, high, shift))
            break
        up = -(-low >> step)  # the first whole block of the next tier
        down = ((high + 1) >> step) - 1  # the last whole block of the next tier
        if up > down:
            runs.append((low, high, shift))
            break
        if low < up << step:
            runs.append((low, (up << step) - 1, shift))
        if high >= (down + 1) << step:
            runs.append(((down + 1) << step, high, shift))
        low, high, shift = up, down, shift + step
    return runs


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
            lo = start.strftime("%Y-%m-%d %H:%M") if start else "the beginning"
            hi = f"before {end.strftime('%Y-%m-%d %H:%M')}" if end else "now"
            return [f"{indent}date from {lo} to {hi} UTC (date:{text})"]
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
    return _required(q.tree)


def _required(node: Node) -> tuple[Clause, ...]:
    match node:
        case Word() | Phrase():
            fields = _fields_of(node)
            return tuple(frozenset((f, t) for f in fields) for t in dict.fromkeys(_terms_of(node)))
        case And(children):
            return tuple(clause for c in children for clause in _required(c))
        case Or(children):
            needs = [_required(c) for c in children]
            if not all(needs):
                return ()
            return (frozenset(term for need in needs for clause in need for term in clause),)
    return ()  # NOT and dates require no particular term


# -- searching ---------------------------------------------------------------------------


class IndexBusy(Exception):
    """Another process holds the index's writer lock for longer than we wait."""


@dataclass(frozen=True)
class Hit:
    article_id: int
    score: float  # relevance (BM25F); 0.0 when sorted by date


SORTS = ("relevance", "newest")
SEGMENT_DOCS = 5000  # articles per segment when indexing a large batch


class SearchIndex:
    """The index directory: one writer at a time (a file lock), any number of searchers."""

    def __init__(self, path: Path, *, lock_timeout: float = 30.0, workers: int = 2, segment_docs: int = SEGMENT_DOCS):
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
        self._lock = threading.RLock()  # one searcher, shared by threads, used by one at a time
        self._searcher: Searcher | None = None
        self._ids = _SegmentIds()
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
        finally:
            lock.release()

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None

    # -- writing ---------------------------------------------------------------------------

    def _busy_message(self) -> str:
        return (
            f"another reader process is writing to the search index at {self.path} "
            f"(waited {self.lock_timeout:g} s); try again when it has finished"
        )

    @contextmanager
    def _writer(self) -> Iterator[SegmentWriter]:
        try:
            writer = self._ix.writer(timeout=self.lock_timeout, delay=0.05, limitmb=256, codec=_lean_codec())
        except LockError:
            raise IndexBusy(self._busy_message()) from None
        try:
            yield writer
        except BaseException:
            writer.cancel()
            raise

    def add(self, rows: Iterable[IndexRow]) -> list[tuple[int, int]]:
        """Index (or re-index) articles; returns the (id, version) pairs written, for store.mark_indexed.

        The whole iterable is committed at once, as new segments of its own;
        large inputs (a rebuild) are analysed in worker processes.
        """
        written: list[tuple[int, int]] = []
        later: list[IndexRow] = []  # an id seen in an earlier chunk: applied after this commit
        with self._writer() as writer:
            chunks = _unique_chunks(rows, self.segment_docs, later)
            segments = self._build(writer, chunks, written)
            if not segments:
                writer.cancel()
                return []
            # Small old segments are merged first (Whoosh's policy); the batch stays its own segments.
            writer.commit(mergetype=lambda w, existing: MERGE_SMALL(w, existing) + segments)
        if later:
            written += self.add(later)
        return written

    def _build(self, writer: SegmentWriter, chunks: Iterator[list[IndexRow]], written: list[tuple[int, int]]) -> list:
        """Build a segment per chunk, in this process or (for many chunks) in workers."""
        first = next(chunks, None)
        if first is None:
            return []
        self._delete_ids(writer, [row.id for row in first])
        written += ((row.id, row.version) for row in first)
        if len(first) < self.segment_docs or self.workers < 2:
            return [_build_segment(str(self.path), first), *self._build_here(writer, chunks, written)]
        return self._build_in_workers(writer, first, chunks, written)

    def _build_here(self, writer, chunks, written) -> Iterator:
        for chunk in chunks:
            self._delete_ids(writer, [row.id for row in chunk])
            written += ((row.id, row.version) for row in chunk)
            yield _build_segment(str(self.path), chunk)

    def _build_in_workers(self, writer, first, chunks, written) -> list:
        segments, pending = [], deque()
        context = get_context("forkserver")  # never fork a process that may run threads
        with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
            pending.append(pool.submit(_build_segment, str(self.path), first))
            for chunk in chunks:
                self._delete_ids(writer, [row.id for row in chunk])
                written += ((row.id, row.version) for row in chunk)
                pending.append(pool.submit(_build_segment, str(self.path), chunk))
                while len(pending) > self.workers:  # bound the rows held in memory
                    segments.append(pending.popleft().result())
            segments += [future.result() for future in pending]
        return segments

    def _delete_ids(self, writer: SegmentWriter, ids: Collection[int]) -> None:
        searcher = writer.searcher()
        for docnum in self._ids.docnums(searcher, ids):
            writer.delete_document(docnum)

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

    # -- searching ---------------------------------------------------------------------------

    @contextmanager
    def _searching(self) -> Iterator[Searcher]:
        """The shared searcher, reopened when the index has changed.

        (Not Searcher.refresh(): whoosh-reloaded's reader reuse keeps a segment's
        old deletions and brings back merged-away segments.)
        """
        with self._lock:
            if self._searcher is not None and not self._searcher.up_to_date():
                self._searcher.close()
                self._searcher = None
            if self._searcher is None:
                self._searcher = self._ix.searcher()
            yield self._searcher

    def doc_count(self) -> int:
        with self._searching() as searcher:
            return searcher.doc_count()

    def search(self, q: ParsedQuery | str, *, limit: int | None = 20, sort: str = "relevance",
               restrict: Collection[int] | None = None) -> list[Hit]:  # fmt: skip
        """Matching articles, best (or newest) first; within `restrict` ids if given.

        Each segment is searched on its own and the results merged, so a
        restricted search (e.g. a new batch) reads only the segments holding
        those articles.
        """
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, not {sort!r}")
        pq = q if isinstance(q, ParsedQuery) else parse_query(q)
        newest = sort == "newest"
        found: list[tuple[float, int, int]] = []  # (score, date, id)
        with self._searching() as searcher:
            for sub, allowed in self._ids.segments_to_search(searcher, restrict):
                found += _search_segment(sub, pq.engine_query, limit, newest, allowed)
        found.sort(key=(lambda f: (f[1], f[2])) if newest else (lambda f: (f[0], f[1], f[2])), reverse=True)
        return [Hit(article_id, 0.0 if newest else score) for score, _date, article_id in found[:limit]]

    def count(self, q: ParsedQuery | str, *, restrict: Collection[int] | None = None) -> int:
        """How many articles match."""
        pq = q if isinstance(q, ParsedQuery) else parse_query(q)
        with self._searching() as searcher:
            return sum(
                len(sub.search(pq.engine_query, limit=None, scored=False, filter=allowed))
                for sub, allowed in self._ids.segments_to_search(searcher, restrict)
            )

    def segment_terms(self, ids: Collection[int]) -> frozenset[tuple[str, str]]:
        """Every (field, term) of the segments holding these articles.

        A superset of the articles' own terms (exact right after `add`, when a
        batch is its own segment): a rule none of whose `required_terms` is
        here cannot match any of them.
        """
        terms: set[tuple[str, str]] = set()
        with self._searching() as searcher:
            for sub, _allowed in self._ids.segments_to_search(searcher, ids):
                terms.update((field, text.decode()) for field, text in sub.reader().all_terms()
                             if field in ANALYSED_FIELDS)  # fmt: skip
        return frozenset(terms)


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


class _SegmentIds:
    """Where each article is: article id -> document number, per segment.

    A segment's documents never change (only their deletion marks do), so
    each segment's id column is read once and kept; lookups are then set
    operations, however many segments and ids there are.
    """

    def __init__(self) -> None:
        self._maps: dict[str, dict[int, int]] = {}

    def _map(self, reader) -> dict[int, int]:
        if reader.segment() is None:  # the empty index's reader
            return {}
        key = reader.segment().segment_id()
        found = self._maps.get(key)
        if found is None:
            column = reader.column_reader("id", translate=False)
            found = self._maps[key] = {int(value): docnum for docnum, value in enumerate(column) if value}
        return found

    def locate(self, searcher: Searcher, ids: Collection[int]) -> list[tuple[Searcher, int, set[int]]]:
        """(segment searcher, its docnum offset, live local docnums) of each segment holding some of `ids`."""
        wanted = set(ids)
        found = []
        leaves = searcher.leaf_searchers()
        for sub, offset in reversed(leaves):  # a new batch sits in the newest segments
            if not wanted:
                break
            reader = sub.reader()
            here = self._map(reader)
            live = {i: here[i] for i in wanted.intersection(here) if not reader.is_deleted(here[i])}
            if live:
                wanted.difference_update(live)
                found.append((sub, offset, set(live.values())))
        current = {sub.reader().segment().segment_id() for sub, _offset in leaves if sub.reader().segment()}
        if len(self._maps) > len(current):  # forget merged-away segments
            self._maps = {key: m for key, m in self._maps.items() if key in current}
        return found

    def docnums(self, searcher: Searcher, ids: Collection[int]) -> list[int]:
        """Index-wide document numbers of the live documents with these article ids."""
        return [offset + d for _sub, offset, docs in self.locate(searcher, ids) for d in docs]

    def segments_to_search(self, searcher: Searcher,
                           restrict: Collection[int] | None) -> list[tuple[Searcher, set[int] | None]]:  # fmt: skip
        """(segment searcher, the allowed local docnums or None for all) per segment worth searching."""
        if restrict is None:
            return [(sub, None) for sub, _offset in searcher.leaf_searchers()]
        return [(sub, docs) for sub, _offset, docs in self.locate(searcher, restrict)]


def _search_segment(sub: Searcher, q: wq.Query, limit: int | None, newest: bool,
                    allowed: set | None) -> list[tuple[float, int, int]]:  # fmt: skip
    """(score, date, article id) of one segment's best or newest matches."""
    if newest:
        results = sub.search(q, limit=limit, sortedby="date", reverse=True, filter=allowed)
    else:
        results = sub.search(q, limit=limit, filter=allowed)
    if results.is_empty():  # also an empty index, whose reader has no columns to read
        return []
    reader = sub.reader()
    ids = reader.column_reader("id", translate=False)
    dates = reader.column_reader("date", translate=False)
    return [(hit.score or 0.0, dates[hit.docnum], int(ids[hit.docnum])) for hit in results]


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
