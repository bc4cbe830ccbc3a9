"""Evaluation: a query plan run over the segments with sets, the matches scored (BM25), and the first few found.

Reads segments only through `segments` (postings, columns); never writes.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from itertools import chain, repeat
from operator import add, mul

from whoosh.codec.whoosh3 import W3Codec, W3TermInfo
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.util.numeric import byte_to_length

from .plans import Plan, _All, _Any, _Char, _Terms, _Window, _Without
from .segments import _decode_positions, _length_bytes, _numeric_column, _read_postings

BM25_K1, BM25_B = 1.2, 0.75  # Whoosh's defaults
NEWEST_WINDOW = 64  # at least this many newest documents are searched first for the newest few matches
VERIFIED_FIRST = 64  # best bounds whose phrases are checked first for the best few matches
Found = tuple[float, int, int]  # (score, date, article id): sorted on this, best or newest last
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
        self._lengths: dict[str, bytes] = {}  # field -> each docnum's length code, read when first scored

    def lengths(self, reader: SegmentReader, field: str) -> bytes:
        """Each document's length of `field`, one byte each in Whoosh's code (`byte_to_length`)."""
        found = self._lengths.get(field)
        if found is None:
            found = self._lengths[field] = _length_bytes(reader, field)
        return found

    def dated(self, low: int, high: int) -> list[int]:
        """Docnums dated in [low, high)."""
        order, dates = self._by_date
        return order[bisect_left(dates, low) : bisect_left(dates, high)]


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

    def terms_with(self, field: str, char: str) -> list[str]:
        """The terms of `field` that show a CJK character: itself (alone, or ending a run) and the
        bigrams it starts, one stretch of the sorted term table."""
        return [raw.decode() for raw in self.reader.expand_prefix(field, char)]

    def close(self) -> None:
        if self._postfile is not None:
            self._postfile.close()


class _Evaluation:
    """One query over a set of segments: global statistics for scoring, then each segment's matches."""

    def __init__(self, views: list[_View], scored: bool, *, loose: bool = False):
        """`loose`: a phrase matches wherever its words all are, adjacent or not (a superset of
        the matches, each scored as it would be if its phrases held: an upper bound)."""
        self.views = views
        self.scored = scored
        self.loose = loose
        self.doc_count = max(1, sum(v.reader.doc_count_all() for v in views))
        self._idf: dict[tuple[str, str], float] = {}
        self._avg_length: dict[str, float] = {}
        self._saturation: dict[str, dict[float, float]] = {}  # field -> freq * 256 + length code -> BM25's tf part

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
                if not self.scored and within is not None:
                    # Unscored, among a few documents (the newest): a document found in one field is
                    # not looked for in the next, and short fields come first, so that a common
                    # word is seldom looked up in the text's large posting blocks.
                    left = set(within)
                    for field in sorted(fields, key=view.reader.field_length):
                        found.update(self._terms(view, field, terms, left))
                        left.difference_update(found)
                        if not left:
                            break
                    return found
                for field in fields:
                    _add(found, self._terms(view, field, terms, within))
                return found
            case _Char(fields, char):
                found = {}
                for field in fields:
                    for term in view.terms_with(field, char):
                        _add(found, self._terms(view, field, (term,), within))
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
            found = more if found is None else _sum_common(found, more)
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
            case _Char():
                return view.reader.doc_count_all()  # rarely narrow, and costly to count: last
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
        if len(terms) > 1 and not self.loose:
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
        # A document's score depends only on its frequency and its length code (one byte), so
        # each (frequency, length) pair is computed once, and documents are scored by lookups
        # done in C (map), not a Python statement per document: common words match 100,000.
        saturation = self._saturation.setdefault(field, {})
        docs = list(scores)
        frequency_in = dict(zip(ids, freqs))
        lengths = view.table.lengths(view.reader, field)
        keys = list(map(add, map(mul, map(frequency_in.__getitem__, docs), repeat(256)), map(lengths.__getitem__, docs)))
        for key in set(keys).difference(saturation):
            freq, code = divmod(key, 256)
            saturation[key] = freq / (freq + BM25_K1 * (1 - BM25_B + BM25_B * byte_to_length(int(code)) / average))
        contributions = map(mul, repeat(weight), map(saturation.__getitem__, keys))
        scores.update(list(zip(docs, map(add, scores.values(), contributions))))


def _add(into: dict[int, float], scores: dict[int, float]) -> None:
    """Add `scores` into `into`, summing where both hold a document (done in C: no loop per document)."""
    if not into:
        into.update(scores)
        return
    both = into.keys() & scores.keys()
    summed = list(zip(both, map(add, map(into.__getitem__, both), map(scores.__getitem__, both))))
    into.update(scores)
    into.update(summed)


def _sum_common(a: dict[int, float], b: dict[int, float]) -> dict[int, float]:
    """The documents in both, with their scores summed."""
    both = a.keys() & b.keys()
    return dict(zip(both, map(add, map(a.__getitem__, both), map(b.__getitem__, both))))


def _adjacent(positions: list[list[int]]) -> bool:
    """Whether the i-th list holds p + i for some p of the first (the words form the phrase)."""
    starts = set(positions[0])
    for i, later in enumerate(positions[1:], 1):
        starts.intersection_update(p - i for p in later)
        if not starts:
            return False
    return True




# -- the first few matches, without evaluating every one ------------------------------------------


def newest_matches(views: list[_View], plan: Plan, limit: int) -> list[Found]:
    """At least the `limit` newest matches (score 0), or all there are.

    The plan is run on the newest documents only (every document dated on or
    after some minute, across the segments, within the query's own dates): if
    that window holds `limit` matches, no older document can be among the
    newest, so a common word costs a window's worth of postings, not 100,000
    matches. The window is sized from the terms' frequencies to hold about four
    times the limit, and grows eightfold; a query matching too few for a small
    window (one in 32 documents) is run whole at once, which costs it little.
    """
    run = _Evaluation(views, scored=False)
    low, high = _dates_of(plan)
    dated = sum(len(view.table.dated(low, high)) for view in views)
    share = sum(_share(run, plan, view) * view.reader.doc_count_all() for view in views) / max(1, run.doc_count)
    window = max(NEWEST_WINDOW, 2 * limit, int(4 * limit / max(share, 1e-9)))
    while window <= dated // 32:  # a larger window touches most posting blocks: the whole run costs no more
        since = _newest_date(views, window, low, high)
        found = [f for view in views for f in _found(view, run.matches(plan, view, set(view.table.dated(since, high))))]
        if len(found) >= limit:
            return found
        window *= 8
    return [found for view in views for found in _found(view, run.matches(plan, view))]


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
    tails = []
    for view in views:
        dates = view.table._by_date[1]
        end = bisect_left(dates, high)
        tails.append(dates[max(bisect_left(dates, low), end - window) : end])
    newest = sorted(chain.from_iterable(tails))
    return newest[-window] if len(newest) >= window else low


def best_matches(views: list[_View], plan: Plan, limit: int) -> list[Found]:
    """At least the `limit` best-scored matches (with every match scoring as well as the last of them).

    Phrases are what make a common query slow (each candidate's positions
    decoded): the plan is first run loosely — a phrase's words anywhere in the
    field — which finds a superset of the matches, each scored at least as high
    as it would be; candidates are then checked exactly, best bound first, until
    the `limit`-th best exact score beats every bound left. Exact, like scoring
    every match; a phrase under NOT is not loosened (that would lose matches).
    """
    if limit <= 0:
        return []
    run = _Evaluation(views, scored=True)
    if not _has_phrase(plan) or _negated_phrase(plan):
        return [found for view in views for found in _top(view, run.matches(plan, view), limit)]
    loose = _Evaluation(views, scored=True, loose=True)
    bounds = [(score, k, docnum) for k, view in enumerate(views) for docnum, score in loose.matches(plan, view).items()]
    best: list[Found] = []  # a heap: the worst of the best first
    ordered = heapq.nlargest(VERIFIED_FIRST + limit + 1, bounds)  # all sorted only if these are not enough
    start, end = 0, min(len(ordered), VERIFIED_FIRST + limit)
    while start < end:
        for k, view in enumerate(views):
            docnums = {docnum for _bound, j, docnum in ordered[start:end] if j == k}
            if docnums:
                for found in _found(view, run.matches(plan, view, docnums)):
                    (heapq.heappush if len(best) < limit else heapq.heappushpop)(best, found)
        if end == len(ordered) or (len(best) == limit and best[0][0] > ordered[end][0]):
            break
        if len(ordered) < len(bounds):
            ordered = sorted(bounds, reverse=True)
        start, end = end, min(len(ordered), 2 * end)
    return best


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


def _found(view: _View, matches: dict[int, float]) -> list[Found]:
    ids, dates = view.table.ids, view.table.dates
    return [(score, dates[d], ids[d]) for d, score in matches.items()]


def _top(view: _View, matches: dict[int, float], limit: int) -> list[Found]:
    """The segment's `limit` best matches, and any scoring as well as the last of them (ties go by date)."""
    if len(matches) > limit:
        last = heapq.nlargest(limit, matches.values())[-1]
        matches = {d: score for d, score in matches.items() if score >= last}
    return _found(view, matches)
