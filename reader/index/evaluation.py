"""Evaluation: a query plan run over the segments with arrays, the matches scored (BM25), and the first few found.

Reads segments only through `segments` (postings, columns); never writes.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

import numpy as np
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader
from whoosh.util.numeric import byte_to_length

from .plans import Plan, _All, _Any, _Char, _Terms, _Window, _Without
from .segments import LENDER, SHARED, Postings, SegmentPostings, _length_bytes, _numeric_column

BM25_K1, BM25_B = 1.2, 0.75  # Whoosh's defaults
NEWEST_WINDOW = 64  # at least this many newest documents are searched first for the newest few matches
VERIFIED_FIRST = 64  # best bounds whose phrases are checked first for the best few matches
LOOSE_FROM = 16  # a field averaging more positions than this has its phrases checked for the best candidates only
Found = tuple[float, int, int]  # (score, date, article id): sorted on this, best or newest last
FIELD_BOOSTS = {"title": 2.0}  # a word in the title says more than one in the text
Match = tuple[np.ndarray, np.ndarray]  # sorted docnums (int64) and their scores (float64)
_LENGTHS = np.array([byte_to_length(code) for code in range(256)], dtype=np.float64)


def _empty() -> Match:
    return np.empty(0, dtype=np.int64), np.empty(0)


class _SegmentTable:
    """What searching needs of one segment's documents and postings, read once: segments never
    change their documents (only deletion marks, which are read afresh with each reader)."""

    def __init__(self, reader: SegmentReader, storage: FileStorage):
        self.ids: list[int] = _numeric_column(reader, "id")
        self.where: dict[int, int] = {article_id: docnum for docnum, article_id in enumerate(self.ids)}
        self.dates: list[int] = _numeric_column(reader, "date")
        self.date_array = np.array(self.dates, dtype=np.int64)
        self.id_array = np.array(self.ids, dtype=np.int64)
        order = np.argsort(self.date_array, kind="stable")
        self._by_date = (order, self.date_array[order])
        self.postings = SegmentPostings(storage, reader.segment())
        self._norms: dict[str, tuple[float, np.ndarray]] = {}  # field -> (average length, each docnum's norm)

    def norms(self, reader: SegmentReader, field: str, average: float) -> np.ndarray:
        """Each document's BM25 length norm in `field`, k1·(1 − b + b·length/average), from its
        length code (one byte, Whoosh's `byte_to_length`)."""
        found = self._norms.get(field)
        if found is None or found[0] != average:
            codes = np.frombuffer(_length_bytes(reader, field), dtype=np.uint8)
            table = BM25_K1 * (1 - BM25_B + BM25_B * _LENGTHS / average)
            found = self._norms[field] = (average, table[codes])
        return found[1]

    def dated(self, low: int, high: int) -> np.ndarray:
        """Docnums dated in [low, high), sorted."""
        order, dates = self._by_date
        return np.sort(order[np.searchsorted(dates, low) : np.searchsorted(dates, high)])

    def count_dated(self, low: int, high: int) -> int:
        """How many documents are dated in [low, high) (`dated` without sorting them)."""
        dates = self._by_date[1]
        return int(np.searchsorted(dates, high)) - int(np.searchsorted(dates, low))

    def newest_dates(self, low: int, high: int, count: int) -> np.ndarray:
        """The dates of (at most) the `count` newest documents dated in [low, high)."""
        dates = self._by_date[1]
        end = int(np.searchsorted(dates, high))
        return dates[max(int(np.searchsorted(dates, low)), end - count) : end]


class _View:
    """One segment as a search sees it: its reader, deletions and table."""

    def __init__(self, reader: SegmentReader, offset: int, table: _SegmentTable):
        self.reader = reader
        self.offset = offset
        self.table = table
        self.deleted = frozenset(reader.segment().deleted_docs())
        self.deleted_docs = np.array(sorted(self.deleted), dtype=np.int64)
        self.key = reader.segment().segment_id()
        self.size = reader.doc_count_all()
        self._entries: dict[tuple[str, str], tuple[int, int, int] | None] = {}

    def live(self) -> np.ndarray:
        return np.setdiff1d(np.arange(self.reader.doc_count_all(), dtype=np.int64), self.deleted_docs, True)

    def entry(self, field: str, term: str) -> tuple[int, int, int] | None:
        """Where a term's postings are (document frequency, record start, end), or None."""
        found = self._entries.get((field, term), False)
        if found is False:
            if len(self._entries) > 10_000:
                self._entries.clear()
            found = self._entries[(field, term)] = self.table.postings.lookup(field, term.encode())
        return found

    def doc_frequency(self, field: str, term: str) -> int:
        found = self.entry(field, term)
        return found[0] if found else 0

    def postings(self, field: str, term: str, lent: Callable[[], Postings] | None = None) -> Postings | None:
        """A term's postings in `field`, deleted documents included (`lent`: the LENDER field's postings
        of the term, if already decoded, for a SHARED field's)."""
        found = self.entry(field, term)
        return None if found is None else self.table.postings.postings(found, lent)

    def terms_with(self, field: str, char: str) -> list[str]:
        """The terms of `field` that show a CJK character: itself (alone, or ending a run) and the
        bigrams it starts, one stretch of the sorted term table."""
        return [raw.decode() for raw in self.table.postings.terms(field, char.encode())]


class _Evaluation:
    """One query over a set of segments: global statistics for scoring, then each segment's matches."""

    def __init__(self, views: list[_View], scored: bool, *, loose: bool = False,
                 postings: dict[tuple[str, str, str], Postings | None] | None = None):  # fmt: skip
        """`loose`: a phrase in a long field (averaging more than LOOSE_FROM positions) matches
        wherever its words all are, adjacent or not (a superset of the matches, each scored as it
        would be if its phrases held: an upper bound). `postings`: the decoded postings of
        another evaluation of the same query, to share."""
        self.views = views
        self.scored = scored
        self.loose = loose
        self.doc_count = max(1, sum(v.reader.doc_count_all() for v in views))
        self._idf: dict[tuple[str, str], float] = {}
        self._avg_length: dict[str, float] = {}
        self._postings = {} if postings is None else postings

    def matches(self, plan: Plan, view: _View, within: np.ndarray | None = None) -> Match:
        """The live documents of `view` (among the sorted docnums `within`, if given) that match, with their scores."""
        docs, scores = self._match(plan, view, within)
        if len(view.deleted_docs):
            kept = np.isin(docs, view.deleted_docs, assume_unique=True, invert=True)
            docs, scores = docs[kept], scores[kept]
        return docs, scores

    def _match(self, plan: Plan, view: _View, within: np.ndarray | None) -> Match:
        match plan:
            case _Terms(fields, terms):
                if not self.scored and within is not None:
                    # Unscored, among a few documents (the newest): a document found in one field is
                    # not looked for in the next, and short fields come first, so that a common
                    # word is seldom looked up in the text's large postings.
                    found, left = [], within
                    for field in sorted(fields, key=view.reader.field_length):
                        found.append(self._terms(view, field, terms, left))
                        left = np.setdiff1d(left, found[-1][0], assume_unique=True)
                        if not len(left):
                            break
                    return _union(found, view.size)
                return _union([self._terms(view, field, terms, within) for field in fields], view.size)
            case _Char(fields, char):
                return _union([self._terms(view, field, (term,), within)
                               for field in fields for term in view.terms_with(field, char)], view.size)  # fmt: skip
            case _Window(low, high):
                dated = view.table.dated(low, high)
                if within is not None:
                    dated = _common(dated, within, view.size)
                return dated, np.zeros(len(dated))
            case _All(parts):
                return self._all(parts, view, within)
            case _Any(parts):
                return _union([self._match(part, view, within) for part in parts], view.size)
            case _Without(part):
                scope = view.live() if within is None else within
                kept = np.setdiff1d(scope, self._match(part, view, scope)[0], assume_unique=True)
                return kept, np.zeros(len(kept))
        raise TypeError(plan)

    def _all(self, parts: tuple[Plan, ...], view: _View, within: np.ndarray | None) -> Match:
        """The rarest part first; each next part is looked for only among the documents left."""
        positive = sorted((p for p in parts if not isinstance(p, _Without)), key=lambda p: self._estimate(p, view))
        found: Match | None = None
        for part in positive:
            more = self._match(part, view, within if found is None else found[0])
            found = more if found is None else _both(found, more, view.size)
            if not len(found[0]):
                return found
        if found is None:
            scope = view.live() if within is None else within
            found = scope, np.zeros(len(scope))
        for part in (p.part for p in parts if isinstance(p, _Without)):
            kept = np.isin(found[0], self._match(part, view, found[0])[0], assume_unique=True, invert=True)
            found = found[0][kept], found[1][kept]
        return found

    def _estimate(self, plan: Plan, view: _View) -> int:
        """About how many documents of `view` match: to intersect the rarest first."""
        match plan:
            case _Terms(fields, terms):
                return sum(min(view.doc_frequency(f, t) for t in terms) for f in fields)
            case _Char():
                return view.reader.doc_count_all()  # rarely narrow, and costly to count: last
            case _Window(low, high):
                return view.table.count_dated(low, high)
            case _All(parts):
                return min((self._estimate(p, view) for p in parts if not isinstance(p, _Without)),
                           default=view.reader.doc_count_all())  # fmt: skip
            case _Any(parts):
                return sum(self._estimate(p, view) for p in parts)
        return view.reader.doc_count_all()

    def _postings_of(self, view: _View, field: str, term: str) -> Postings | None:
        """A term's postings, decoded once per evaluation (a search may look at a segment several times)."""
        key = (view.key, field, term)
        if key not in self._postings:
            lent = (lambda: self._postings_of(view, LENDER, term)) if field == SHARED else None
            self._postings[key] = view.postings(field, term, lent)
        return self._postings[key]

    def _terms(self, view: _View, field: str, terms: tuple[str, ...], within: np.ndarray | None) -> Match:
        """Documents holding the word, or the phrase's words adjacent, in one field; scored.

        The rarest term is read first, and each next one intersected with the
        documents still in the running; positions are read only for those left.
        """
        postings: dict[str, Postings] = {}
        candidates = within
        for term in sorted(set(terms), key=lambda t: view.doc_frequency(field, t)):
            found = self._postings_of(view, field, term)
            if found is None:
                return _empty()
            postings[term] = found
            candidates = found.docs if candidates is None else _common(candidates, found.docs, view.size)
            if not len(candidates):
                return _empty()
        if len(terms) > 1 and not (self.loose and self._average(field) > LOOSE_FROM):
            candidates = _phrase(postings, terms, candidates)
        scores = np.zeros(len(candidates))
        if self.scored:
            for term, found in postings.items():
                scores += self._score(view, field, term, found, candidates)
        return candidates, scores

    def _average(self, field: str) -> float:
        average = self._avg_length.get(field)
        if average is None:
            total = sum(v.reader.field_length(field) for v in self.views)
            average = self._avg_length[field] = total / self.doc_count or 1.0
        return average

    def _score(self, view: _View, field: str, term: str, postings: Postings, docs: np.ndarray) -> np.ndarray:
        """The BM25 of (field, term) for each of `docs` (all among the postings' documents)."""
        idf = self._idf.get((field, term))
        if idf is None:
            frequency = sum(v.doc_frequency(field, term) for v in self.views)
            idf = self._idf[(field, term)] = math.log(self.doc_count / (frequency + 1)) + 1
        weight = idf * FIELD_BOOSTS.get(field, 1.0) * (BM25_K1 + 1)
        if len(docs) == len(postings.docs):  # (all of them)
            frequencies = postings.tfs.astype(np.float64)
        else:
            frequencies = postings.tfs[np.searchsorted(postings.docs, docs)].astype(np.float64)
        norms = view.table.norms(view.reader, field, self._average(field))[docs]
        return weight * (frequencies / (frequencies + norms))


def _union(parts: list[Match], size: int) -> Match:
    """The documents of any part, their scores summed (in the parts' order), in a segment of `size` documents."""
    parts = [part for part in parts if len(part[0])]
    if len(parts) < 2:
        return parts[0] if parts else _empty()
    found = np.zeros(size, dtype=bool)
    scores = np.zeros(size)
    for docs, more in parts:
        found[docs] = True
        scores[docs] += more
    docs = np.flatnonzero(found)
    return docs, scores[docs]


def _both(a: Match, b: Match, size: int) -> Match:
    """The documents in both, with their scores summed (docnums below `size`)."""
    where = np.full(size, -1)
    where[b[0]] = np.arange(len(b[0]))
    in_b = where[a[0]]
    in_a = np.flatnonzero(in_b >= 0)
    return a[0][in_a], a[1][in_a] + b[1][in_b[in_a]]


def _common(a: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    """The docnums (below `size`) in both of two sorted arrays.

    (Marked in an array of the segment's size: numpy's intersect1d sorts both
    arrays again, and its unique hashes, slowly on keys that differ in their high bits.)"""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if len(small) * 16 < len(large):
        return _sorted_common(small, large)
    marked = np.zeros(size, dtype=bool)
    marked[large] = True
    return small[marked[small]]


def _sorted_common(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values of the sorted array `a` found in the sorted array `b` (by binary search)."""
    if not len(a) or not len(b):
        return a[:0]
    at = np.searchsorted(b, a)
    at[at == len(b)] = 0
    return a[b[at] == a]


def _distinct(values: np.ndarray) -> np.ndarray:
    """A sorted array without its repeats."""
    if len(values) < 2:
        return values
    return values[np.concatenate(([True], values[1:] != values[:-1]))]


def _phrase(postings: dict[str, Postings], terms: tuple[str, ...], candidates: np.ndarray) -> np.ndarray:
    """The candidates (holding every term) where the terms stand at consecutive positions.

    Each position of the i-th term proposes a start (position − i) in its
    document; a document holds the phrase where every term proposes the same
    start. Keys (docnum, start) come sorted, as postings and positions are.
    """
    starts: np.ndarray | None = None
    decoded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for offset, term in enumerate(terms):
        if term not in decoded:
            found = postings[term]
            decoded[term] = found.positions(np.searchsorted(found.docs, candidates))
        docs, positions = decoded[term]
        keys = docs << 32 | (positions + (len(terms) - offset))
        starts = keys if starts is None else _sorted_common(starts, keys)
        if not len(starts):
            break
    return _distinct(starts >> 32)


# -- the first few matches, without evaluating every one ------------------------------------------


def newest_matches(views: list[_View], plan: Plan, limit: int) -> list[Found]:
    """At least the `limit` newest matches (score 0), or all there are.

    The plan is run on the newest documents only (every document dated on or
    after some minute, across the segments, within the query's own dates): if
    that window holds `limit` matches, no older document can be among the
    newest, so a common word costs a window's worth of postings, not 100,000
    matches. The window is sized from the terms' frequencies to hold about four
    times the limit, and grows eightfold until it holds every document. A
    term's docnums are read whole either way (one packed array): what the
    window saves is the positions of a phrase's candidates, and building the
    matches.
    """
    run = _Evaluation(views, scored=False)
    low, high = _dates_of(plan)
    dated = sum(view.table.count_dated(low, high) for view in views)
    share = sum(_share(run, plan, view) * view.reader.doc_count_all() for view in views) / max(1, run.doc_count)
    window = max(NEWEST_WINDOW, 2 * limit, int(4 * limit / max(share, 1e-9)))
    while window < dated:
        since = _newest_date(views, window, low, high)
        found = [f for view in views for f in _newest(view, run.matches(plan, view, view.table.dated(since, high)), limit)]
        if len(found) >= limit:
            return found
        window *= 8
    return [found for view in views for found in _newest(view, run.matches(plan, view), limit)]


def _dates_of(plan: Plan) -> tuple[int, int]:
    """The [low, high) minutes every match is dated in, as far as the plan says (a date range ANDed in)."""
    match plan:
        case _Window(low, high):
            return low, high
        case _All(parts):
            limits = [_dates_of(p) for p in parts]
            return max(low for low, _high in limits), min(high for _low, high in limits)
    return 0, 2**32


def _share(run: _Evaluation, plan: Plan, view: _View) -> float:
    """About what share of the documents (within the query's dates) match: frequencies taken as independent."""
    documents = max(1, view.reader.doc_count_all())
    match plan:
        case _Terms():
            return min(1.0, run._estimate(plan, view) / documents)
        case _All(parts):
            return math.prod(_share(run, p, view) for p in parts)
        case _Any(parts):
            return min(1.0, sum(_share(run, p, view) for p in parts))
        case _Without(part):
            return 1.0 - _share(run, part, view)
    return 1.0  # a date range (the window is taken within it), or a lone CJK character


def _newest_date(views: list[_View], window: int, low: int, high: int) -> int:
    """The latest minute on or after which at least `window` documents are dated in [low, high) (low if fewer)."""
    newest = np.concatenate([view.table.newest_dates(low, high, window) for view in views])
    return int(np.partition(newest, len(newest) - window)[len(newest) - window]) if len(newest) >= window else low


def best_matches(views: list[_View], plan: Plan, limit: int) -> list[Found]:
    """At least the `limit` best-scored matches (with every match scoring as well as the last of them).

    Phrases are what make a common query slow (each candidate's positions
    decoded): the plan is first run loosely — a phrase's words anywhere in a
    long field — which finds a superset of the matches, each scored at least as
    high as it would be; candidates are then checked exactly, best bound first,
    until the `limit`-th best exact score beats every bound left. Exact, like
    scoring every match; a phrase under NOT is not loosened (that would lose matches).
    """
    if limit <= 0 or not views:  # (an index with no segment yet: a new user's first search)
        return []
    run = _Evaluation(views, scored=True)
    if not _has_phrase(plan) or _negated_phrase(plan):
        return [found for view in views for found in _top(view, run.matches(plan, view), limit)]
    loose = _Evaluation(views, scored=True, loose=True, postings=run._postings)
    bounds = [loose.matches(plan, view) for view in views]
    docs = np.concatenate([docs for docs, _scores in bounds])
    segment = np.concatenate([np.full(len(docs), k) for k, (docs, _scores) in enumerate(bounds)])
    scores = np.concatenate([scores for _docs, scores in bounds])
    best: list[Found] = []  # a heap: the worst of the best first
    start, end = 0, min(len(scores), VERIFIED_FIRST + limit)
    order = _best_first(scores, end)
    while start < end:
        chunk = order[start:end]
        for k in np.unique(segment[chunk]).tolist():
            mine = np.sort(docs[chunk[segment[chunk] == k]])
            for found in _found(views[k], run.matches(plan, views[k], mine)):
                (heapq.heappush if len(best) < limit else heapq.heappushpop)(best, found)
        needed = 2 * end  # (the limit-th exact score rises as more are checked: a chunk at a time)
        if len(best) == limit:  # only a bound as high as the limit-th exact score can still beat it
            needed = min(needed, int(np.count_nonzero(scores >= best[0][0])))
        start, end = end, min(len(scores), needed)
        if end > len(order):
            order = _best_first(scores, end)
    return best


def _best_first(scores: np.ndarray, count: int) -> np.ndarray:
    """Indexes of the `count` highest scores (and any tied with the last), highest first, ties in
    index order: always a prefix of the same order, however many are asked for."""
    if count >= len(scores):
        return np.argsort(-scores, kind="stable")
    chosen = np.flatnonzero(scores >= np.partition(scores, len(scores) - count)[len(scores) - count])
    return chosen[np.argsort(-scores[chosen], kind="stable")]


def _negated_phrase(plan: Plan) -> bool:
    match plan:
        case _Without(part):
            return _has_phrase(part)
        case _All(parts) | _Any(parts):
            return any(map(_negated_phrase, parts))
    return False


def _has_phrase(plan: Plan) -> bool:
    match plan:
        case _Terms(_fields, terms):
            return len(terms) > 1
        case _All(parts) | _Any(parts):
            return any(map(_has_phrase, parts))
        case _Without(part):
            return _has_phrase(part)
    return False


def _found(view: _View, matches: Match) -> list[Found]:
    ids, dates = view.table.ids, view.table.dates
    return [(score, dates[d], ids[d]) for d, score in zip(matches[0].tolist(), matches[1].tolist())]


def _top(view: _View, matches: Match, limit: int) -> list[Found]:
    """The segment's `limit` best matches (ties go by date, then id, as `Found` sorts)."""
    return _found(view, _first(view, matches, limit, scored=True))


def _newest(view: _View, matches: Match, limit: int) -> list[Found]:
    """The segment's `limit` newest matches (ties go by id)."""
    return _found(view, _first(view, matches, limit, scored=False))


def _first(view: _View, matches: Match, limit: int, *, scored: bool) -> Match:
    """The `limit` largest matches by (score, date, id), or by (date, id)."""
    docs, scores = matches
    if len(docs) <= limit:
        return matches
    dates = view.table.date_array[docs]
    key = scores if scored else dates
    kept = np.flatnonzero(key >= np.partition(key, len(key) - limit)[len(key) - limit])  # ties with the last too
    if len(kept) > limit:
        keys = (view.table.id_array[docs[kept]], dates[kept]) + ((scores[kept],) if scored else ())
        kept = kept[np.lexsort(keys)[-limit:]]
    return docs[kept], scores[kept]
