"""The stories table family: each article's story and why, the open stories' inverted index, term counts, muting.

The grouping itself is reader/stories.py (pure); this module only loads what a
batch needs (the counts of its terms, the open stories sharing them; what a
run's earlier passes read is kept in a `StoryMemo`) and saves the outcome,
merges included, in one transaction. It never decides which story an article
joins or which stories merge.
"""

from __future__ import annotations

import json
import math
import struct
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import chain, compress, repeat
from json.encoder import encode_basestring_ascii
from operator import sub
from datetime import datetime

from ..models import ArticleFilter, FulltextState, StoryMember, StoryMerge, StoryRecord
from ..stories import MAX_TEXT_CHARS, Corpus, Decision, Merge, StoryInput, StoryProfile, most_shared
from .alerts import AlertStore
from .db import CURRENT_STORY, Database, _dt, _iso


_STARTED = json.dumps(Decision(0, 0, True, 0.0, (), ()).explained())  # most articles' reason, written once


def packed_centroid(centroid: Mapping[str, float]) -> bytes:
    """A centroid as stored in `stories.centroid`: its size, its weights (little-endian doubles), then its
    terms, one per line (a term never holds a line break): a tenth of the time JSON takes to write, a quarter
    to read, half the bytes."""
    return struct.pack(f"<I{len(centroid)}d", len(centroid), *centroid.values()) + "\n".join(centroid).encode()


def unpacked_centroid(value: bytes | str) -> dict[str, float]:
    """A stored centroid: packed (`packed_centroid`), or JSON (written before schema 8, or emptied: '{}')."""
    if isinstance(value, str):
        return json.loads(value)
    (size,) = struct.unpack_from("<I", value)
    if not size:
        return {}
    return dict(zip(value[4 + 8 * size :].decode().split("\n"), struct.unpack_from(f"<{size}d", value, 4)))


def _json_strings(strings: Iterable[str]) -> str:
    """`json.dumps(sorted(strings))`, without the encoder's Python per call (a story's outlets and names)."""
    return _json_list(sorted(strings))


def _json_list(strings: Iterable[str]) -> str:
    return "[" + ", ".join(map(encode_basestring_ascii, strings)) + "]"


_JOINED = ["similarity", "shared", "names"]  # what a decision to join by similarity says (`Decision.explained`)


def _reason(d: Decision) -> str:
    """`json.dumps(d.explained())`, what is stored beside the article; the common shapes without the encoder's
    Python per call (the same text: a float's JSON is its repr)."""
    if d.new:
        return _STARTED
    reason = d.explained()
    similarity = reason.get("similarity")
    if list(reason) != _JOINED or type(similarity) is not float or not math.isfinite(similarity):
        return json.dumps(reason)
    shared, names = _json_list(reason["shared"]), _json_list(reason["names"])
    return f'{{"similarity": {similarity!r}, "shared": {shared}, "names": {names}}}'


def _story_key(article_id: int, story_id: int | None) -> int:
    """What rows of one story share: its id; an article without a story is a story of its own."""
    return story_id if story_id is not None else -article_id


def group_rows(rows: Iterable[tuple[int, int | None]]) -> list[tuple[int, int]]:
    """(first article id, size) of each story among (article id, story id) rows, in the order of their first
    rows; an article without a story is its own story."""
    heads: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for article_id, story_id in rows:
        key = _story_key(article_id, story_id)
        heads.setdefault(key, article_id)
        sizes[key] = sizes.get(key, 0) + 1
    return [(head, sizes[key]) for key, head in heads.items()]


def _union(spans: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """The union of half-open spans (start, end] as disjoint spans, their starts and their ends in order."""
    starts: list[str] = []
    ends: list[str] = []
    for start, end in sorted(spans):
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


class StoryMemo:
    """What grouping has read of `story_df`, `story_terms` and `stories` during one run, kept true through the
    run's own saves (`StoryStore.save_stories` updates it in step with the tables), so a pass reads only what no
    pass before it read. Only the run holding the fetch lock writes those tables; never keep one across runs
    (another process may group between them). Bounded: the rows of the `rows` stories read or saved last; the
    rest is cleared when it outgrows `limit` entries, and all of it when a save fails."""

    def __init__(self, limit: int = 200_000, rows: int = 3000):
        self.limit, self.rows = limit, rows
        self.clear()

    def clear(self) -> None:
        self.documents: int | None = None  # `story_documents`
        self.df: dict[str, int] = {}  # term -> its stored count (0: not stored)
        self.every_df = False  # `df` holds every stored count (the run began with none: it saw each one saved)
        self.read: dict[str, str] = {}  # term -> since when its stories were read ('': all of them)
        self.found: dict[str, list[int] | None] = {}  # term -> stories posted under it (None: too many)
        self.last_seen: dict[int, str] = {}  # each story read or saved -> its `last_seen` as stored
        self.stories: dict[int, tuple] = {}  # the rows of the stories read or saved last (`row`)

    @staticmethod
    def row(r: Sequence) -> tuple:
        """A story's row as held: (first seen, last seen, size, outlets, names, centroid, dropped, text)."""
        outlets, names = tuple(json.loads(r[4])), tuple(json.loads(r[5]))
        return _dt(r[1]), _dt(r[2]), r[3], outlets, names, unpacked_centroid(r[6]), r[7], r[8]

    def trim(self) -> None:
        """Keep to the bounds: the rows of the `rows` stories read or saved last; the rest whole, or nothing."""
        if len(self.stories) > self.rows:
            for story_id in list(self.stories)[: len(self.stories) - self.rows]:
                del self.stories[story_id]
        if len(self.df) + len(self.read) + len(self.last_seen) > self.limit:
            self.clear()

    def _drop_dated(self, drop) -> None:
        """Forget the terms read since a date (not whole) for which `drop(since, listed)` holds."""
        for term in [t for t, since in self.read.items() if since and drop(since, self.found.get(t, ()))]:
            del self.read[term]
            self.found.pop(term, None)

    def saved(self, stories: Sequence[StoryProfile], posted: Mapping[int, Iterable[str]], merges: Sequence[Merge],
              quieted: tuple[str, str] | None, corpus: Corpus,
              dates: Mapping[datetime, str] | None = None) -> None:  # fmt: skip
        """The tables after `save_stories`: the stories saved (`posted`: the keys each holds now), the merges
        (the gone story's keys went to the kept one), the stories whose keys left the index (`quieted`: last
        seen in [from, to)), the term counts. A term read since a date lists every story seen since then that
        holds it (and maybe others: lookups filter by date); one read whole, every story that holds it. `dates`:
        the stories' dates as stored (ISO), made by the save."""
        iso = dates.__getitem__ if dates is not None else _iso
        self.documents = corpus.documents
        self.df.update(corpus.df)
        found, last_seen = self.found, self.last_seen
        spans = []  # (before, now]: a dated list read since a date in between may miss a story seen later
        if merges:
            into = {m.gone: m.kept for m in merges}

            def kept(story_id: int) -> int:
                while story_id in into:
                    story_id = into[story_id]
                return story_id

            after = {p.id: iso(p.last_seen) for p in stories}
            merged = [(before, after.get(kept(gone), "~"))
                      for gone in into if (before := last_seen.get(gone)) is not None]  # fmt: skip
            spans += merged  # (the kept story holds the keys of the gone one, not seen since the date)
            if merged:  # a crowd since a date the gone story was seen since has one story less
                latest = max(before for before, _now in merged)
                self._drop_dated(lambda since, listed: listed is None and since <= latest)
            for term, listed in found.items():
                if listed and not into.keys().isdisjoint(listed):
                    found[term] = sorted({kept(s) for s in listed})
        for story_id, keys in posted.items():
            for term in keys:
                if term in self.read:
                    listed = found.setdefault(term, [])
                    if listed is not None and story_id not in listed:
                        listed.append(story_id)
        rows = self.stories
        for p in stories:
            before, now = last_seen.get(p.id), iso(p.last_seen)
            if before is not None and before < now:  # (a new story's keys are all in `posted`)
                spans.append((before, now))  # (its keys not read since a date in between)
            last_seen[p.id] = now
            rows.pop(p.id, None)
            rows[p.id] = (p.first_seen, p.last_seen, p.size, tuple(p.outlets), tuple(p.names),
                          p.centroid if p.id in posted else {}, p.dropped, p.text)  # (the grouper is done with it)
        if spans:
            starts, ends = _union(spans)
            self._drop_dated(lambda since, listed: listed is not None
                             and (i := bisect_left(starts, since) - 1) >= 0 and since <= ends[i])  # fmt: skip
        if quieted:
            start, end = quieted
            quiet = {s for s, seen in last_seen.items() if start <= seen < end}
            for story_id in quiet.intersection(rows):  # (their centroids emptied)
                rows[story_id] = (*rows[story_id][:5], {}, *rows[story_id][6:])
            self._drop_dated(lambda since, listed: listed is None and since < end)  # a crowd may have shrunk
            if quiet:
                for term, listed in found.items():
                    if listed and not quiet.isdisjoint(listed):
                        found[term] = [s for s in listed if s not in quiet]
        self.trim()


class StoryStore(Database):
    """Reads and writes of `stories`, `story_terms`, `story_df` and the articles' story columns."""

    def articles_to_group(self, limit: int = 500, *, ready: bool = False) -> list[StoryInput]:
        """The oldest articles still without a story, in the order they are grouped (date, then id), with the
        lead of their text (all the grouper reads); `ready`: not those waiting for their page."""
        pages = f"AND a.fulltext_state != '{FulltextState.PENDING}'" if ready else ""
        rows = self._conn().execute(
            f"""
            SELECT a.id, a.title,
                   substr(CASE a.text_source WHEN 'title' THEN t.summary WHEN 'page' THEN t.summary || char(10) || t.text
                                             ELSE t.text END, 1, {MAX_TEXT_CHARS}),
                   min(a.sort_date, a.first_seen), CASE WHEN f.title = '' THEN f.url ELSE f.title END,
                   a.canonical_url
            FROM articles a INDEXED BY articles_to_group JOIN feeds f ON f.id = a.feed_id
                 JOIN article_texts t ON t.id = a.id
            WHERE a.story_id IS NULL {pages} ORDER BY a.sort_date, a.id LIMIT ?
            """,
            (limit,),
        ).fetchall()
        return [StoryInput(r[0], r[1], r[2], datetime.fromisoformat(r[3]), r[4], r[5]) for r in rows]

    def story_corpus(self, terms: Iterable[str], memo: StoryMemo | None = None) -> Corpus:
        """The document count and the frequencies of `terms` (only these: the table holds every term);
        `memo`: those read or saved earlier in the run, not read again."""
        memo, terms = memo or StoryMemo(), set(terms)
        if memo.documents is None:
            memo.documents = int(self.get_meta("story_documents") or 0)
            memo.every_df = self._conn().execute("SELECT 1 FROM story_df LIMIT 1").fetchone() is None
        known = memo.df
        if not memo.every_df:  # (a first run reads nothing here: what it counts it saved itself)
            unknown = sorted(terms - known.keys())
            known.update(dict.fromkeys(unknown, 0))
            known.update(self._select_in("SELECT term, df FROM story_df WHERE 1", "term", unknown))
        return Corpus(memo.documents, Counter({t: n for t in terms if (n := known.get(t))}))

    def open_stories(self, keys: Iterable[Sequence[str]], links: Iterable[str], since: datetime, *,
                     df: Mapping[str, int], crowd: int, shared: int, most: int,
                     loaded: Collection[int] = (),
                     memo: StoryMemo | None = None) -> tuple[list[StoryProfile], set[str]]:  # fmt: skip
        """The stories a batch's articles may join: for each article, the `most` stories seen since `since`
        sharing the most of its `keys` (at least `shared`); those with an article with one of `links`; and
        the keys more than `crowd` open stories share, which look up none (a common word never loads half
        the open stories). `df`: the keys' document counts (no more stories than articles have a term).
        `loaded`: stories the caller holds already, not read again. `memo`: the postings read by earlier
        calls of the run (`StoryMemo`), so a lookup reads only what is new."""
        memo = memo or StoryMemo()
        keys = [tuple(k) for k in keys]
        posted, crowded = self._postings(sorted(set().union(*keys)), _iso(since), df, crowd, memo)
        ids: set[int] = set()
        for k in keys:
            lists = [found for term in k if (found := posted.get(term))]
            if len(lists) >= shared:  # (else too few of its keys are in any story)
                ids.update(most_shared(lists, shared, most))
        by_link: dict[int, set[str]] = defaultdict(set)
        for story_id, link in self._select_in(
            "SELECT story_id, canonical_url FROM articles WHERE story_id IS NOT NULL", "canonical_url",
            sorted(set(filter(None, links))),
        ):  # fmt: skip
            by_link[story_id].add(link)
        ids |= by_link.keys()
        ids.difference_update(loaded)
        asked: dict[int, set[str]] = defaultdict(set)  # each story's keys among the batch's
        for term, story_ids in posted.items():
            for story_id in ids.intersection(story_ids):
                asked[story_id].add(term)
        held = memo.stories
        for r in self._select_in("SELECT id, first_seen, last_seen, size, outlets, names, centroid, dropped, text "
                                 "FROM stories WHERE 1", "id", sorted(ids.difference(held))):  # fmt: skip
            memo.last_seen[r[0]] = r[2]
            held[r[0]] = StoryMemo.row(r)
        profiles = []
        for i in sorted(ids):  # (its sets copies, its centroid the memo's: the grouper copies it before a change)
            first, last, size, outlets, names, centroid, dropped, text = held[i]
            profiles.append(StoryProfile(i, first, last, size, set(outlets), centroid, set(names), by_link[i],
                                         dropped, asked[i], text))  # fmt: skip
        return profiles, crowded

    def _postings(self, terms: Sequence[str], since: str, df: Mapping[str, int], crowd: int,
                  memo: StoryMemo) -> tuple[dict[str, list[int]], set[str]]:  # fmt: skip
        """Each term's open stories seen since `since`, and the terms more than `crowd` of them share. A term
        fewer articles have than that is read whole, whatever the date, in one query with the others (no more
        stories than articles have it); a common one is probed for `crowd` + 1 stories seen since `since`.
        `memo`: since when each term was read, and what was found: every story since then (reused for any later
        date), or None for more than `crowd` of them (so since any earlier date too)."""
        lookup = "SELECT t.term, t.story_id, s.last_seen FROM story_terms t JOIN stories s ON s.id = t.story_id"
        read, found, last_seen = memo.read, memo.found, memo.last_seen  # (terms in no story: not in `found`)

        def known(term: str) -> bool:
            probed = read.get(term)
            return probed is not None and (since >= probed if found.get(term, ()) is not None else since <= probed)

        unknown = [t for t in terms if not known(t)]
        rare = [t for t in unknown if df.get(t, 0) <= crowd]
        for term in unknown:
            read[term] = since
            found.pop(term, None)
        for term in rare:  # read whole (no more stories than articles have it): good for any later lookup
            read[term] = ""
        for term, story_id, seen in self._select_in(f"{lookup} WHERE 1", "t.term", rare):
            found.setdefault(term, []).append(story_id)
            last_seen[story_id] = seen
        for term in (t for t in unknown if df.get(t, 0) > crowd):  # common: read no more than it takes to tell
            rows = self._conn().execute(f"{lookup} WHERE s.last_seen >= ? AND t.term = ? LIMIT ?",
                                        (since, term, crowd + 1)).fetchall()  # fmt: skip
            if rows:
                found[term] = [row[1] for row in rows] if len(rows) <= crowd else None
                last_seen.update((row[1], row[2]) for row in rows)
        posted: dict[str, list[int]] = {}
        crowded: set[str] = set()
        for term in terms:
            stories = found.get(term, ())
            if stories is None:
                crowded.add(term)
            elif stories:
                posted[term] = list(compress(stories, map(since.__le__, map(last_seen.__getitem__, stories))))
                if len(posted[term]) > crowd:  # (grown past `crowd` since it was read, by this run's saves)
                    del posted[term]
                    crowded.add(term)
        return posted, crowded

    def next_story_id(self) -> int:
        return self._conn().execute("SELECT COALESCE(max(id), 0) + 1 FROM stories").fetchone()[0]

    def save_stories(self, decisions: Sequence[Decision], stories: Iterable[StoryProfile], corpus: Corpus,
                     loaded_df: dict[str, int], *, forget_before: datetime,
                     merges: Sequence[Merge] = (), stored_keys: Mapping[int, set[str]] | None = None,
                     memo: StoryMemo | None = None) -> None:  # fmt: skip
        """Record a grouped batch in one transaction: the stories that changed (their centroids, and their
        keys in the inverted index but the `stored_keys` it has already), each article's story and why, the
        merges, the corpus counts. Stories quiet since `forget_before` leave the index and drop their
        centroids (a story grown by an article older than that never enters them again). `memo` is kept
        true to what is saved (and emptied if the save fails)."""
        try:
            self._save_stories(decisions, list(stories), corpus, loaded_df, forget_before, merges, stored_keys or {},
                               memo)  # fmt: skip
        except BaseException:
            if memo is not None:
                memo.clear()
            raise

    def _save_stories(self, decisions: Sequence[Decision], stories: list[StoryProfile], corpus: Corpus,
                      loaded_df: dict[str, int], forget_before: datetime, merges: Sequence[Merge],
                      stored_keys: Mapping[int, set[str]], memo: StoryMemo | None) -> None:  # fmt: skip
        gone = {m.gone for m in merges}
        posted = {p.id: p.keys for p in stories if p.last_seen >= forget_before and p.id not in gone}
        quieted = None  # (from, to): the stories last seen then left the index
        # Each date's ISO form made once (a new story's first and last seen are one date; the memo needs them too).
        dates = {dt: _iso(dt) for dt in {dt for p in stories for dt in (p.first_seen, p.last_seen)}}
        with self._tx() as tx:
            tx.executemany(
                "INSERT INTO stories (id, first_seen, last_seen, size, outlets, names, centroid, dropped, text) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET first_seen = excluded.first_seen, "
                "last_seen = excluded.last_seen, size = excluded.size, outlets = excluded.outlets, "
                "names = excluded.names, centroid = excluded.centroid, dropped = excluded.dropped, "
                "text = excluded.text",
                [(p.id, dates[p.first_seen], dates[p.last_seen], p.size, _json_strings(p.outlets),
                  _json_strings(p.names),
                  packed_centroid(p.centroid if p.last_seen >= forget_before and p.id not in gone else {}),
                  p.dropped, p.text) for p in stories],
            )  # fmt: skip
            tx.executemany("INSERT OR IGNORE INTO story_terms (term, story_id, weight) VALUES (?, ?, 0)",
                           [(term, story_id) for story_id, keys in posted.items()
                            for term in sorted(keys - stored_keys.get(story_id, set()))])  # fmt: skip
            tx.executemany(
                "UPDATE articles SET story_id = ?, story_reason = ? WHERE id = ?",
                [(d.story_id, _reason(d), d.article_id) for d in decisions],
            )
            for m in merges:
                self._merge(tx, m)
            grown = list(map(sub, corpus.df.values(), map(loaded_df.get, corpus.df, repeat(0))))  # (in C)
            tx.executemany("INSERT INTO story_df (term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + "
                           "excluded.df", compress(zip(corpus.df, grown), grown))  # (the rows of terms it counted)
            meta = [("story_documents", str(corpus.documents))]
            # Only the stories gone quiet since the last batch: the cost does not grow with the archive.
            forgotten, forget = self.get_meta("story_terms_forgotten") or "", _iso(forget_before)
            if forget > forgotten:
                quiet = "SELECT id FROM stories WHERE last_seen >= ? AND last_seen < ?"
                tx.execute(f"DELETE FROM story_terms WHERE story_id IN ({quiet})", (forgotten, forget))
                tx.execute(f"UPDATE stories SET centroid = '{{}}' WHERE id IN ({quiet})", (forgotten, forget))
                meta.append(("story_terms_forgotten", forget))
                quieted = (forgotten, forget)
            tx.executemany("INSERT INTO meta (key, value) VALUES (?, ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = excluded.value", meta)  # fmt: skip
        if memo is not None:
            memo.saved(stories, posted, merges, quieted, corpus, dates)

    @staticmethod
    def _merge(tx, m: Merge) -> None:
        """`m.gone`'s articles, keys and alerts move to `m.kept` (each article noting the story it came with;
        the alerts as `AlertStore.merge_story_alerts` says); muted if either was; the gone story's row keeps
        where it went and why."""
        tx.execute("UPDATE articles SET story_id = ?, story_reason = json_insert(story_reason, '$.merged_from', ?) "
                   "WHERE story_id = ?", (m.kept, m.gone, m.gone))  # fmt: skip
        tx.execute("UPDATE OR IGNORE story_terms SET story_id = ? WHERE story_id = ?", (m.kept, m.gone))
        tx.execute("DELETE FROM story_terms WHERE story_id = ?", (m.gone,))
        AlertStore.merge_story_alerts(tx, m.kept, m.gone)
        tx.execute("UPDATE stories SET muted_until = (SELECT max(muted_until) FROM stories WHERE id IN (?, ?)) "
                   "WHERE id = ?", (m.kept, m.gone, m.kept))  # fmt: skip
        tx.execute("UPDATE stories SET merged_into = ?, merge_reason = ?, centroid = '{}' WHERE id = ?",
                   (m.kept, json.dumps(m.explained()), m.gone))  # fmt: skip
        tx.execute("UPDATE story_aliases SET story_id = ? WHERE story_id = ?", (m.kept, m.gone))  # (chains collapse)
        tx.execute("INSERT OR REPLACE INTO story_aliases (old_id, story_id) VALUES (?, ?)", (m.gone, m.kept))

    def newest_story_seen(self) -> datetime | None:
        return _dt(self._conn().execute("SELECT max(last_seen) FROM stories").fetchone()[0])

    def ungrouped_count(self) -> int:
        return self._conn().execute("SELECT count(*) FROM articles WHERE story_id IS NULL").fetchone()[0]

    def story_sizes(self, story_ids: Sequence[int], flt: ArticleFilter | None = None) -> dict[int, int]:
        """How many stored articles each story has (of those the filter selects, if given)."""
        where, params = self._where(flt) if flt is not None else ("1", [])  # ArticleStore's, as in story_order
        return dict(self._select_in(f"SELECT a.story_id, count(*) FROM articles a WHERE {where}", "a.story_id",
                                    story_ids, " GROUP BY a.story_id", params=params))  # fmt: skip

    def story_of(self, article_ids: Sequence[int]) -> dict[int, int]:
        return dict(self._select_in("SELECT id, story_id FROM articles WHERE story_id IS NOT NULL", "id", article_ids))

    def story(self, story_id: int) -> StoryRecord | None:
        """A story with its articles (oldest first), what tied each in, and the stories merged into it; a
        story merged into another has no articles left, and says which story holds them now."""
        conn = self._conn()
        row = conn.execute("SELECT id, first_seen, last_seen, muted_until, merged_into FROM stories WHERE id = ?",
                           (story_id,)).fetchone()  # fmt: skip
        if row is None:
            return None
        if row[4] is not None:  # merged into a story that may have been merged in turn: the one holding it now
            into = self.current_story(row[0])
            return StoryRecord(row[0], _dt(row[1]), _dt(row[2]), _dt(row[3]), (), merged_into=into)
        merges = conn.execute(
            """
            WITH RECURSIVE parts(id) AS (SELECT ? UNION SELECT s.id FROM stories s JOIN parts p ON s.merged_into = p.id)
            SELECT id, merged_into, merge_reason FROM stories WHERE id IN parts AND id != ? ORDER BY id
            """,
            (story_id, story_id),
        ).fetchall()
        members = conn.execute(
            """
            SELECT a.id, a.title, a.link, CASE WHEN f.title = '' THEN f.url ELSE f.title END,
                   min(a.sort_date, a.first_seen), a.story_reason
            FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE a.story_id = ? ORDER BY a.sort_date, a.id
            """,
            (story_id,),
        ).fetchall()
        return StoryRecord(
            id=row[0], first_seen=_dt(row[1]), last_seen=_dt(row[2]), muted_until=_dt(row[3]),
            articles=tuple(StoryMember(r[0], r[1], r[2], r[3], _dt(r[4]), json.loads(r[5])) for r in members),
            merges=tuple(StoryMerge(r[0], r[1], json.loads(r[2])) for r in merges),
        )  # fmt: skip

    def current_story(self, story_id: int) -> int:
        """The story holding `story_id`'s articles now: itself, or the one it was merged into (in the end)."""
        row = self._conn().execute("SELECT story_id FROM story_aliases WHERE old_id = ?", (story_id,)).fetchone()
        return row[0] if row else story_id

    def set_story_muted(self, story_id: int, until: datetime | None) -> bool:
        """Mute a story until `until` (None: unmute), the surviving one if it was merged; False if there is no
        such story."""
        with self._tx() as tx:
            return tx.execute(f"UPDATE stories SET muted_until = ? WHERE id = {CURRENT_STORY.format('?')}",
                              (_iso(until), story_id, story_id)).rowcount == 1  # fmt: skip

    def muted_stories(self, story_ids: Sequence[int], now: datetime) -> set[int]:
        """Which of these stories are muted at `now`."""
        rows = self._select_in("SELECT id FROM stories WHERE muted_until > ?", "id", story_ids, params=(_iso(now),))
        return {r[0] for r in rows}

    # -- the article list by story (for the TUI) ----------------------------------------

    def story_order(self, flt: ArticleFilter = ArticleFilter(), sort: str = "newest",
                    limit: int | None = None) -> list[tuple[int, int]]:  # fmt: skip
        """The article list with one row per story: (the id of the story's first article in list order, how
        many of the story's articles the filter selects), in list order. An article alone is its own story.

        `limit`: the first `limit` rows only, found a page of articles at a time, so a first screen costs
        milliseconds whatever the store holds (the whole list of 100,000 articles takes ~0.2 s).
        """
        rows = self.list_rows("a.id, a.story_id", flt, sort)  # ArticleStore's, beside this class in `Store`
        if limit is None:
            return group_rows(rows)
        heads: dict[int, tuple[int, int | None]] = {}  # story key -> (first article id, story id)
        for article_id, story_id in rows:  # read only as far as the first `limit` stories
            heads.setdefault(_story_key(article_id, story_id), (article_id, story_id))
            if len(heads) == limit:
                break
        rows.close()
        first = list(heads.values())
        sizes = self.story_sizes(sorted({s for _, s in first if s is not None}), flt)
        return [(article_id, sizes.get(story_id, 1) if story_id is not None else 1) for article_id, story_id in first]

    def set_story_read(self, story_id: int, read: bool = True) -> int:
        """Mark every article of a story read (or unread); how many there are."""
        with self._tx() as tx:
            return tx.execute("UPDATE articles SET read = ? WHERE story_id = ?", (int(read), story_id)).rowcount
