"""The searcher: the index directory, written one batch at a time and searched by any number of threads.

Each `add` commits its batch as new segments of their own (small old segments
are merged first), so the alerts can read a batch's terms (`segment_terms`)
and search it alone (`search(restrict=...)`). Never parses queries or analyses
text itself (`plans`, `analysis`), and never touches Whoosh's file format (`segments`).
"""

from __future__ import annotations

import heapq
import math
import threading
from collections import deque
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.reading import SegmentReader
from whoosh.writing import CLEAR, SegmentWriter

from ..process_pool import process_pool
from ..store import IndexRow
from .analysis import SCHEMA
from .evaluation import Found, _Evaluation, _found, _SegmentTable, _View, best_matches, newest_matches
from .plans import ParsedQuery, parse_query
from .errors import IndexBusy, IndexDamaged
from .repair import busy_message, current_segments, damage, file_problem, open_or_create
from .repair import reset as reset_files
from .segments import _build_segment, _SegmentBuilder, check_whoosh_release


@dataclass(frozen=True)
class Hit:
    article_id: int
    score: float  # relevance (BM25); 0.0 when sorted by date


SORTS = ("relevance", "newest")
SEGMENT_DOCS = 5000  # articles per segment when indexing a large batch
MERGE_FACTOR = 4  # this many small segments of about the same size are merged into one


class SearchIndex:
    """The index directory: one writer at a time (a file lock), any number of readers."""

    def __init__(self, path: Path, *, lock_timeout: float = 30.0, workers: int = 2,
                 segment_docs: int = SEGMENT_DOCS):  # fmt: skip
        """Open the index at `path`, creating it (empty) if missing or unreadable.

        `created` then tells the caller to index every article again. A writer
        waits up to `lock_timeout` seconds for another one. An `add` of more than
        `segment_docs` articles is split into segments of that size, built by
        `workers` processes. Raises WrongWhoosh under any other whoosh-reloaded than the pinned one.
        """
        check_whoosh_release()
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
        # `created`: new and empty (index every article); `problem`: it was so because the files were damaged
        self._ix, self.created, self.problem = open_or_create(self._storage, self.path, lock_timeout)

    def close(self) -> None:
        with self._lock:
            self._close_reader()
            self._tables.clear()

    # -- damage ------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise IndexDamaged if a file of the current segments is missing or not the size it was
        written at, or the table of contents does not read. Looks at the directory only (fast)."""
        problem = file_problem(self._storage, current_segments(self._storage))
        if problem:
            raise IndexDamaged(problem)

    def reset(self) -> None:
        """Replace the index with a new, empty one (to refill from the store)."""
        with self._lock:
            try:
                self._close_reader()
            except Exception:  # noqa: BLE001 - closing damaged files may fail too; they are deleted next
                self._reader, self._current = None, []
            self._tables.clear()
            self._generation = -1
            self._ix = reset_files(self._storage, self.path, self.lock_timeout)

    @contextmanager
    def _damage_noticed(self) -> Iterator[None]:
        """Turn what damaged files raise (EOFError, struct.error, a missing file…) into IndexDamaged."""
        try:
            yield
        except Exception as exc:
            found = damage(exc)
            if found is None or found is exc:
                raise
            raise found from exc

    # -- writing ---------------------------------------------------------------------------

    def _busy_message(self) -> str:
        return busy_message(self.path, self.lock_timeout)

    @contextmanager
    def _writer(self) -> Iterator[SegmentWriter]:
        with self._damage_noticed():
            try:
                writer = self._ix.writer(timeout=self.lock_timeout, delay=0.05)
            except LockError:
                raise IndexBusy(self._busy_message()) from None
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise

    def add(self, rows: Iterable[IndexRow], *, chunk_size: int | None = None,
            pool: Executor | None = None) -> list[tuple[int, int]]:  # fmt: skip
        """Index (or re-index) articles; returns the (id, version) pairs written, for store.mark_indexed.

        The whole iterable is committed at once, as new segments of its own;
        inputs of more than one chunk (`chunk_size`, default `segment_docs`
        articles) are analysed in worker processes, a chunk each. With `pool`
        (the caller's workers), every chunk is analysed there, even one alone.
        """
        written: list[tuple[int, int]] = []
        later: list[IndexRow] = []  # an id seen in an earlier chunk: applied after this commit
        with self._writer() as writer:
            chunks = _unique_chunks(rows, chunk_size or self.segment_docs, later)
            segments = self._build(writer, chunks, written, pool)
            if not segments:
                writer.cancel()
                return []
            final = self._merge_small(writer.segments) + segments  # the batch stays its own segments
            writer.commit(mergetype=lambda _writer, _existing: final)
        if later:
            written += self.add(later, chunk_size=chunk_size, pool=pool)
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

    def _build(self, writer: SegmentWriter, chunks: Iterator[list[IndexRow]], written: list[tuple[int, int]],
               pool: Executor | None = None) -> list:  # fmt: skip
        """A new segment per chunk: in `pool` if given; else here for one chunk (or with fewer than two
        workers), in worker processes of its own for more."""
        chunks = self._replacing(writer, chunks, written)
        first, second = next(chunks, None), next(chunks, None)
        if first is None:
            return []
        chunks = chain([first], [second] if second else [], chunks)
        if pool is not None:
            return self._build_in(pool, chunks)
        if second is None or self.workers < 2:
            return [_build_segment(str(self.path), chunk) for chunk in chunks]
        with process_pool(self.workers) as own:
            return self._build_in(own, chunks)

    def _build_in(self, pool: Executor, chunks: Iterator[list[IndexRow]]) -> list:
        segments, pending = [], deque()
        for chunk in chunks:
            pending.append(pool.submit(_build_segment, str(self.path), chunk))
            while len(pending) > self.workers:  # hold only a few chunks of rows in memory
                segments.append(pending.popleft().result())
        return segments + [future.result() for future in pending]

    def _replacing(self, writer: SegmentWriter, chunks: Iterator[list[IndexRow]],
                   written: list[tuple[int, int]]) -> Iterator[list[IndexRow]]:  # fmt: skip
        """The chunks, each after deleting its articles' old documents and noting what it writes."""
        for chunk in chunks:
            self._delete_ids(writer, [row.id for row in chunk])
            written += ((row.id, row.version) for row in chunk)
            yield chunk

    def _delete_ids(self, writer: SegmentWriter, ids: Collection[int]) -> None:
        reader = writer.reader()
        try:
            for view, docnums in _locate(self._views_of(reader), ids):
                for docnum in docnums:
                    writer.delete_document(view.offset + docnum)
        finally:
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
        with self._lock, self._damage_noticed():
            generation = self._ix.latest_generation()
            if self._reader is None or generation != self._generation:
                self._close_reader()
                self.check()
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
                    table = self._tables[key] = _SegmentTable(leaf, self._storage)
                views.append(_View(leaf, offset, table))
        return views

    def _close_reader(self) -> None:
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
        found: list[Found] = []
        with self._views() as views:
            if limit is not None and restrict is None:  # the first few: not every match is scored
                found = (newest_matches if newest else best_matches)(views, pq.plan, limit)
            else:
                run = _Evaluation(views, scored=not newest)
                for view, allowed in _segments(views, restrict):
                    found += _found(view, run.matches(pq.plan, view, allowed))
        key = (lambda f: (f[1], f[2])) if newest else None
        best = sorted(found, key=key, reverse=True) if limit is None else heapq.nlargest(limit, found, key=key)
        return [Hit(article_id, 0.0 if newest else score) for score, _date, article_id in best]

    def count(self, q: ParsedQuery | str, *, restrict: Collection[int] | None = None) -> int:
        """How many articles match."""
        pq = q if isinstance(q, ParsedQuery) else parse_query(q)
        with self._views() as views:
            run = _Evaluation(views, scored=False)
            return sum(len(run.matches(pq.plan, view, allowed)[0]) for view, allowed in _segments(views, restrict))

    def article_ids(self) -> set[int]:
        """Every article in the index."""
        with self._views() as views:
            return {view.table.ids[d] for view in views for d in range(len(view.table.ids)) if d not in view.deleted}

    def holds_terms(self, article_id: int, field: str, terms: Iterable[str]) -> bool:
        """Whether the article's document has every one of `terms` in `field` (read from the postings)."""
        with self._views() as views:
            for view, docnums in _locate(views, [article_id]):
                wanted = list(docnums)
                postings = [view.postings(field, term) for term in set(terms)]
                return all(found is not None and np.isin(wanted, found.docs).all() for found in postings)
            return False

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
                for field in view.table.postings.fields()
                for text in view.table.postings.terms(field)
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


def _segments(views: list[_View], restrict: Collection[int] | None) -> list[tuple[_View, np.ndarray | None]]:
    """The segments to search, each with the docnums allowed in it, sorted (None: all)."""
    if restrict is None:
        return [(view, None) for view in views]
    return [(view, np.array(sorted(docnums), dtype=np.int64)) for view, docnums in _locate(views, restrict)]

