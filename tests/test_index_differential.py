"""The hand-written segment writer against Whoosh itself, on random worlds.

Random documents (a small vocabulary, so terms collide and stems merge;
titles, dates, groups, tags, Unicode, a few long texts) are written by our
writer and by Whoosh's own IndexWriter, in batches with updates and deletes;
random queries (words, phrases, fields, AND/OR/NOT, nesting, date ranges; the
language has no prefixes) are run by our evaluation on our index and by
Whoosh's searcher on Whoosh's index, and the result sets compared. Every
posting (read back by our reader) and every date and field length (read by Whoosh's) is compared too. `make fuzz` runs many more worlds
(READER_FUZZ_WORLDS); a failure names the seed to replay it (READER_FUZZ_SEED).
"""

from __future__ import annotations

import os
import random
import re
import tomllib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from whoosh import query as wq
from whoosh.fields import ID, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex
from whoosh.matching import ListMatcher, NullMatcher
from whoosh.reading import TermNotFound

from reader.index import ANALYZER, INDEXNAME, SCHEMA, SearchIndex, parse_query
from reader.index.analysis import MAX_FIELD_CHARS, SEARCHED_FIELDS, TAG_GAP
from reader.index.segments import WHOOSH_RELEASE
from reader.query import And, DateRange, Node, Not, Or, Phrase, Word
from reader.store import IndexRow

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WORLDS = int(os.environ.get("READER_FUZZ_WORLDS", "5"))
QUERIES_PER_WORLD = int(os.environ.get("READER_FUZZ_QUERIES", "400"))
PHRASE_SAMPLE = int(os.environ.get("READER_FUZZ_PHRASE_SAMPLE", "25"))  # 1: every phrase through Whoosh's query too
FIRST_SEED = int(os.environ.get("READER_FUZZ_SEED", "20251203"))

# Words that collide after stemming (export/exports/exported), short words, digits,
# underscores, hyphenated pairs (two adjacent terms), and Unicode from several scripts.
VOCABULARY = (
    "export exports exported exporting control controls controlled chip chips DeepSeek Nvidia H800 US AI "
    "a the of and it naïve café Straße 東京 İstanbul Ελλάδα Müller run running runner 2025 R1 foo_bar policy "
    "policies news DeepSeek-R1 x-ray über ŒUVRE Ǆemal"
).split()
RARE = ("zyxel", "quokka", "ñandú")  # planted at the far ends of long texts
FEEDS = ("Wired", "MIT Technology Review", "東京 News", "AI Daily", "")
GROUPS = ("Tech", "World", "Science", "")
FIELD_PREFIXES = ("title", "text", "summary", "feed", "group", "author", "tag", "link")
SEPARATORS = (" ", " ", " ", ", ", "-", ". ", "\n", " — ", "'s ")


def words(rng: random.Random, n: int) -> str:
    picked = rng.choices(VOCABULARY, weights=[1 / (k + 1) for k in range(len(VOCABULARY))], k=n)
    out = []
    for word in picked:
        word = rng.choice((word, word, word.lower(), word.upper(), word.capitalize()))
        out += (word, rng.choice(SEPARATORS))
    return "".join(out[:-1])


def long_text(rng: random.Random, limit: bool) -> str:
    """Past 4,096 positions (the writer's table of short position codes), a rare word at both ends;
    with `limit`, past MAX_FIELD_CHARS too (the index keeps the start)."""
    n = rng.randint(75_000, 90_000) if limit else rng.randint(4_200, 6_000)
    rare = rng.choice(RARE)
    return f"{rare} {words(rng, n)} {rare} {rng.choice(RARE)}"


def make_row(rng: random.Random, article_id: int, version: int, long_texts: int) -> IndexRow:
    maybe = lambda p, make: make() if rng.random() < p else ""  # noqa: E731
    text = long_text(rng, limit=long_texts > 1 and rng.random() < 0.2) if rng.random() < 0.02 * long_texts else ""
    text = text or maybe(0.8, lambda: words(rng, rng.randint(1, 80)))
    return IndexRow(
        id=article_id, version=version, title=maybe(0.9, lambda: words(rng, rng.randint(1, 10))),
        text=text,
        summary=text if text and rng.random() < 0.4 else maybe(0.5, lambda: words(rng, rng.randint(1, 25))),
        feed_title=rng.choice(FEEDS),
        group=rng.choice(GROUPS), author=maybe(0.3, lambda: words(rng, rng.randint(1, 3))),
        categories=tuple(words(rng, rng.randint(1, 3)) for _ in range(rng.choice((0, 0, 1, 2, 3)))),
        link=maybe(0.7, lambda: "https://example.com/" + words(rng, rng.randint(1, 5)).replace(" ", "-")),
        date=datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60)),
    )  # fmt: skip


# -- the reference: Whoosh's own writer and searcher ---------------------------

FILLER = "tagfiller"  # TAG_GAP of these between two tags give Whoosh's writer our tag positions
FILLER_TERM = [token.text for token in ANALYZER(FILLER)][0].encode()


def reference_fields(row: IndexRow) -> dict:
    gap = f" {' '.join([FILLER] * TAG_GAP)} "
    fields = {
        "title": row.title, "text": row.text, "summary": row.summary, "feed": row.feed_title, "group": row.group,
        "author": row.author, "tags": gap.join(row.categories), "link": row.link,
    }  # fmt: skip
    fields = {name: value[:MAX_FIELD_CHARS] for name, value in fields.items() if value}
    return {"key": str(row.id), "id": row.id, "date": minutes(row.date), **fields}


def minutes(dt: datetime) -> int:
    seconds = (dt - EPOCH).total_seconds()
    assert seconds % 60 == 0, "the worlds use whole minutes"
    return int(seconds // 60)


class Dated(wq.Query):
    """Documents dated in [low, high), read through Whoosh's own column reader."""

    def __init__(self, low: int | None, high: int | None):
        self.low, self.high = low, high
        self.boost = 1.0

    def __eq__(self, other):
        return isinstance(other, Dated) and (self.low, self.high) == (other.low, other.high)

    def __hash__(self):
        return hash((self.low, self.high))

    def estimate_size(self, ixreader):
        return ixreader.doc_count_all()

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        dates = reader.column_reader("date")
        low, high = self.low or 0, self.high if self.high is not None else 2**32
        ids = [d for d in range(reader.doc_count_all()) if low <= dates[d] < high and not reader.is_deleted(d)]
        return ListMatcher(ids) if ids else NullMatcher()


def whoosh_leaf(node: Word | Phrase | DateRange) -> list[wq.Query]:
    """A word, phrase or date range as Whoosh's query objects, one per field searched (terms from
    the schema's analyzer in its query mode); the leaf matches what any of them matches."""
    match node:
        case Word(text, field) | Phrase(text, field):
            terms = [token.text for token in ANALYZER(text, mode="query")]
            assert terms, f"the generator made an unsearchable word: {text!r}"
            fields = (field,) if field else SEARCHED_FIELDS
            return [wq.Term(f, terms[0]) if len(terms) == 1 else wq.Phrase(f, terms) for f in fields]
        case DateRange(start, end):
            return [Dated(start and minutes(start), end and minutes(end))]
    raise TypeError(node)


class Reference:
    """Whoosh's answers for the words, phrases and dates of a query, combined as sets.

    Whoosh's own NOT is wrong in whoosh-reloaded 2.7.5 (its InverseMatcher can
    yield a deleted document, and under an OR documents the negated part
    matches), so AND, OR and NOT are plain set operations here, over each
    leaf's documents as Whoosh finds them. Whoosh's phrase queries cost ~20 ms
    each, so a phrase is found from the positions Whoosh's reader decodes, and
    every `phrase_sample`-th one is also run as Whoosh's Phrase query, which must agree.
    """

    def __init__(self, searcher, phrase_sample: int):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.ids = self.reader.column_reader("id")
        self.live = {self.ids[docnum] for docnum in self.reader.all_doc_ids()}
        self.leaves: dict[tuple, set[int]] = {}
        self.postings: dict[tuple[str, str], dict[int, set[int]]] = {}
        self.phrase_sample = phrase_sample
        self.phrases = 0

    def ids_for(self, node: Node) -> set[int]:
        match node:
            case Not(child):
                return self.live - self.ids_for(child)
            case And(children):
                return set.intersection(*(self.ids_for(c) for c in children))
            case Or(children):
                return set.union(*(self.ids_for(c) for c in children))
            case Word(text, field) | Phrase(text, field):
                key = (type(node), text, field)
            case DateRange(start, end):
                key = (DateRange, start, end)
        found = self.leaves.get(key)
        if found is None:
            found = self.leaves[key] = self._leaf(node)
        return found

    def _leaf(self, node: Node) -> set[int]:
        if isinstance(node, Word | Phrase) and len(terms := [t.text for t in ANALYZER(node.text, mode="query")]) > 1:
            found = {doc for field in ((node.field,) if node.field else SEARCHED_FIELDS)
                     for doc in self._phrase(field, terms)}  # fmt: skip
            self.phrases += 1
            if self.phrases % self.phrase_sample:
                return found
            assert self._run(node) == found, f"Whoosh's Phrase query and its positions disagree on {node.text!r}"
            return found
        return self._run(node)

    def _run(self, node: Node) -> set[int]:
        return {self.ids[docnum] for q in whoosh_leaf(node) for docnum in self.searcher.docs_for_query(q)}

    def _positions(self, field: str, term: str) -> dict[int, set[int]]:
        """Docnum -> positions of a term in a field, as Whoosh's reader decodes them."""
        found = self.postings.get((field, term))
        if found is None:
            found = self.postings[(field, term)] = {}
            try:
                matcher = self.reader.postings(field, term)
            except TermNotFound:
                return found
            while matcher.is_active():
                found[matcher.id()] = set(matcher.value_as("positions"))
                matcher.next()
        return found

    def _phrase(self, field: str, terms: list[str]) -> set[int]:
        """Articles where the terms stand at consecutive positions of `field`."""
        per_term = [self._positions(field, term) for term in terms]
        found = set()
        for doc in set.intersection(*(set(p) for p in per_term)):
            starts = set(per_term[0][doc])
            for k, positions in enumerate(per_term[1:], 1):
                starts.intersection_update(p - k for p in positions[doc])
            if starts:
                found.add(self.ids[doc])
        return found


# -- random queries --------------------------------------------------------------

DATE_VALUES = ("2024", "2025-03", "2024-02-29", ">=2025-01-01", "<2024-06", "<=2023-12-31", ">2025-05",
               "2024-01-01..2024-03", "2025..", "..2023-06-30", "7d", "24h", "2w", "400d")  # fmt: skip


def random_query(rng: random.Random, rows: list[IndexRow], depth: int = 0) -> str:
    kind = rng.random() if depth < 4 else rng.random() * 0.55
    if kind < 0.3:
        word = rng.choice(VOCABULARY + list(RARE))
        return f"{rng.choice(FIELD_PREFIXES)}:{word}" if rng.random() < 0.25 else word
    if kind < 0.45:  # a phrase, mostly taken from a document so that it often matches
        row = rng.choice(rows)
        source = rng.choice([row.title, row.text, row.summary, *row.categories, words(rng, 3)])
        found = [w for w in re.findall(r"\w+", source) if w.upper() not in ("AND", "OR", "NOT")]
        start = rng.randrange(max(1, len(found) - 2))
        phrase = " ".join(found[start : start + rng.randint(2, 3)]) or "export controls"
        return f'{rng.choice(FIELD_PREFIXES)}:"{phrase}"' if rng.random() < 0.2 else f'"{phrase}"'
    if kind < 0.55:
        return f"date:{rng.choice(DATE_VALUES)}"
    if kind < 0.65:
        return rng.choice(("NOT ", "-")) + random_query(rng, rows, depth + 1).join("()")
    parts = [random_query(rng, rows, depth + 1) for _ in range(rng.randint(2, 4))]
    joined = rng.choice((" AND ", " OR ", " ")).join(parts)
    if rng.random() < 0.1:  # a field prefix on a group of words
        return f"{rng.choice(FIELD_PREFIXES)}:({' OR '.join(rng.choice(VOCABULARY) for _ in parts)})"
    return f"({joined})"


# -- one world ---------------------------------------------------------------------


@dataclass(repr=False)  # (pytest would print every row)
class World:
    ours: SearchIndex
    reference: FileIndex
    rows: dict[int, IndexRow]  # what should be indexed now


def build_world(rng: random.Random, tmp: Path, *, long_texts: int) -> World:
    ours = SearchIndex(tmp / "ours", lock_timeout=5, workers=1, segment_docs=rng.choice((8, 30, 100, 5000)))
    schema = Schema(key=ID(unique=True, stored=True), **{name: SCHEMA[name] for name in SCHEMA.names()})
    reference = FileIndex.create(FileStorage(str(tmp / "whoosh")).create(), schema, "reference")
    live: dict[int, IndexRow] = {}
    versions: dict[int, int] = {}
    next_id = 1
    for batch in range(rng.randint(3, 9)):
        size = rng.randint(30, 200) if batch == 0 else rng.randint(1, 30)
        rows = []
        for _ in range(size):
            if live and rng.random() < 0.25:  # an update of an indexed article
                article_id = rng.choice(list(live))
            elif rows and rng.random() < 0.05:  # the same article twice in one batch: the last copy wins
                article_id = rng.choice(rows).id
            else:
                article_id, next_id = next_id, next_id + 1
            versions[article_id] = versions.get(article_id, 0) + 1
            rows.append(make_row(rng, article_id, versions[article_id], long_texts))
        ours.add(rows)
        last = {row.id: row for row in rows}  # Whoosh's update_document does not see its own batch
        with reference.writer() as writer:
            for row in last.values():
                writer.update_document(**reference_fields(row))
        live.update(last)
        if rng.random() < 0.5:
            gone = rng.sample(list(live), k=min(len(live), rng.randint(1, 12))) + [10**6]  # and one never indexed
            ours.delete(gone)
            with reference.writer() as writer:
                for article_id in gone:
                    writer.delete_by_term("key", str(article_id))
                    live.pop(article_id, None)
    return World(ours, reference, live)


def check_world(seed: int, tmp: Path, *, long_texts: int = 1, queries: int = QUERIES_PER_WORLD) -> int:
    """Build a world from `seed` and compare; returns the number of queries compared."""
    rng = random.Random(seed)
    world = build_world(rng, tmp, long_texts=long_texts)
    ours_by_whoosh = FileIndex(FileStorage(str(tmp / "ours")), indexname=INDEXNAME)
    try:
        count, expected_count = world.ours.doc_count(), len(world.rows)
        assert count == expected_count, f"{count} documents in our index, {expected_count} in Whoosh's"
        with world.reference.searcher() as theirs, ours_by_whoosh.searcher() as ours_read:
            compare_postings(theirs.reader(), our_postings(world.ours))
            compare_columns(theirs.reader(), ours_read.reader())
            rows = list(world.rows.values()) or [make_row(rng, 1, 1, 0)]
            theirs_ref = Reference(theirs, PHRASE_SAMPLE)
            for n in range(queries):
                text = random_query(rng, rows)
                pq = parse_query(text, now=NOW)
                expected = theirs_ref.ids_for(pq.tree)
                found = {hit.article_id for hit in world.ours.search(pq, limit=None)}
                assert found == expected, f"query {text!r}: ours only {found - expected}, Whoosh only {expected - found}"
                if n % 5 == 0:  # the first few, newest first or best first
                    limit = rng.randint(1, 10)
                    newest = [hit.article_id for hit in world.ours.search(pq, limit=limit, sort="newest")]
                    by_date = sorted(expected, key=lambda i: (world.rows[i].date, i), reverse=True)
                    assert newest == by_date[:limit], f"query {text!r} sorted by date"
                    best = [hit.article_id for hit in world.ours.search(pq, limit=limit)]
                    assert len(best) == len(set(best)) == min(limit, len(expected)) and set(best) <= expected
                    every = [hit.article_id for hit in world.ours.search(pq, limit=None)]  # each match scored
                    assert best == every[:limit], f"query {text!r}: the best few differ from the best of all"
                if rng.random() < 0.25:
                    allowed = set(rng.sample(sorted(world.rows) + [10**6], k=min(len(world.rows) + 1, 20)))
                    restricted = {hit.article_id for hit in world.ours.search(pq, limit=None, restrict=allowed)}
                    assert restricted == expected & allowed, f"query {text!r} restricted to {sorted(allowed)}"
                    assert world.ours.count(pq, restrict=allowed) == len(restricted)
        return queries
    finally:
        world.ours.close()
        world.reference.close()


Postings = dict[int, tuple[int, tuple[int, ...]]]  # article id -> (frequency, positions)


def our_postings(index: SearchIndex) -> dict[tuple[str, bytes], Postings]:
    """Every live posting of our index, as our reader decodes it."""
    found: dict[tuple[str, bytes], Postings] = {}
    with index._views() as views:
        for view in views:
            ids = view.table.ids
            for field, term, postings in view.table.postings.everything():
                docs, positions = postings.positions(np.arange(len(postings.docs)))
                where: dict[int, list[int]] = {}
                for doc, position in zip(docs.tolist(), positions.tolist()):
                    where.setdefault(doc, []).append(position)
                assert sorted(where) == postings.docs.tolist(), (field, term)
                for doc, frequency in zip(postings.docs.tolist(), postings.tfs.tolist()):
                    if doc not in view.deleted:
                        assert frequency == len(where[doc]), (field, term, doc)
                        found.setdefault((field, term), {})[ids[doc]] = (frequency, tuple(where[doc]))
    return found


def compare_postings(theirs, ours: dict[tuple[str, bytes], Postings]) -> None:
    """Every (field, term) with the same articles, frequencies and positions."""
    their_ids = theirs.column_reader("id")

    def postings(field: str, term: bytes) -> Postings:
        matcher = theirs.postings(field, term)
        found = {}
        while matcher.is_active():
            found[their_ids[matcher.id()]] = (int(matcher.weight()), tuple(matcher.value_as("positions")))
            matcher.next()
        return found

    fields = [name for name in SCHEMA.names() if name not in ("id", "date")]
    their_terms = {(f, t) for f, t in theirs.all_terms() if f in fields and t != FILLER_TERM}
    live_terms = {(f, t) for f, t in their_terms if postings(f, t)}  # Whoosh keeps deleted terms
    assert set(ours) == live_terms
    for field, term in sorted(live_terms):
        assert ours[(field, term)] == postings(field, term), (field, term)


def compare_columns(theirs, ours) -> None:
    """Each article's date and field lengths, in our index's columns and in Whoosh's."""
    our_ids = ours.column_reader("id")
    # (tags are left out: the reference fills the gaps between tags with terms of its own)
    fields = [name for name in SCHEMA.names() if name not in ("id", "date", "tags")]
    for docnum in ours.all_doc_ids():
        their_doc = next(theirs.postings("key", str(our_ids[docnum])).all_ids())
        assert ours.column_reader("date")[docnum] == theirs.column_reader("date")[their_doc]
        for field in fields:
            # (Whoosh reads a length of 0 as None where the field's column exists, as 0 where not)
            theirs_length = theirs.doc_field_length(their_doc, field) or 0
            assert (ours.doc_field_length(docnum, field) or 0) == theirs_length, field


# -- the tests ---------------------------------------------------------------------


@pytest.mark.parametrize("world", range(WORLDS))
def test_our_writer_and_search_agree_with_whoosh_on_random_worlds(tmp_path, world):
    seed = FIRST_SEED + world
    try:
        check_world(seed, tmp_path, long_texts=2 if world % 10 == 9 else 1)
    except AssertionError as exc:
        raise AssertionError(f"replay with READER_FUZZ_SEED={seed} READER_FUZZ_WORLDS=1: {exc}") from exc


def test_a_summary_that_is_the_text_is_found_and_scored_as_a_summary_of_its_own(tmp_path):
    """A summary equal to its text borrows the text's postings (none of its own are written); an
    index where each such summary differs (by a trailing space: the same terms) must rank and
    score every query the same, merged segments and deletions included."""
    rng = random.Random(FIRST_SEED)
    shared, apart = (SearchIndex(tmp_path / name, lock_timeout=5, workers=1, segment_docs=40) for name in "ab")
    rows: list[IndexRow] = []
    for batch in range(12):
        made = [make_row(rng, len(rows) + k + 1, 1, 1) for k in range(rng.randint(5, 60))]
        made = [replace(row, summary=row.text) if rng.random() < 0.6 else row for row in made]
        rows += made
        shared.add(made)
        apart.add([replace(row, summary=row.summary + " ") if row.summary == row.text else row for row in made])
        if batch % 3 == 2:
            gone = rng.sample([row.id for row in rows], k=5)
            shared.delete(gone)
            apart.delete(gone)
    try:
        with shared._views() as views:
            assert any(view.table.postings.shared.any() for view in views)
            assert sum(len(view.table.postings.shared) for view in views) > sum(view.size for view in views) // 2
        queries = [random_query(rng, rows) for _ in range(300)] + [f"summary:{w}" for w in VOCABULARY]
        for text in queries:
            pq = parse_query(text, now=NOW)
            ours = [(hit.article_id, hit.score) for hit in shared.search(pq, limit=None)]
            theirs = [(hit.article_id, hit.score) for hit in apart.search(pq, limit=None)]
            assert [i for i, _ in ours] == [i for i, _ in theirs], text
            assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-9), text
    finally:
        shared.close()
        apart.close()


def test_the_pin_is_one_release_everywhere():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert f"whoosh-reloaded=={WHOOSH_RELEASE}" in project["project"]["dependencies"]
    assert re.search(rf"^whoosh-reloaded=={re.escape(WHOOSH_RELEASE)} ", (ROOT / "requirements.lock").read_text(), re.M)


@pytest.mark.parametrize("installed", ["2.7.6"])
def test_another_whoosh_release_is_refused_in_one_line(tmp_path, installed):
    from tests.clirun import reader

    site = tmp_path / "site"
    meta = site / f"whoosh_reloaded-{installed}.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: whoosh-reloaded\nVersion: {installed}\n")
    run = reader("search", "chips", data=tmp_path / "data", PYTHONPATH=f"{site}{os.pathsep}{ROOT}")
    assert run.code == 1
    assert run.err.strip().splitlines() == [
        f"reader: the search index needs whoosh-reloaded {WHOOSH_RELEASE} exactly (found: {installed}), "
        f"because the reader writes its files itself; reinstall it with: pip install whoosh-reloaded=={WHOOSH_RELEASE}"
    ]
