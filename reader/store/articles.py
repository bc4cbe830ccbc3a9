"""The articles table: storing parsed entries, reading them back, and the index's bookkeeping.

It never deletes an article (entries gone from a feed stay; they go only with their feed) and never
touches the index itself: it only records which versions are in it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from ..models import (
    Article,
    ArticleFilter,
    ArticleLine,
    Enclosure,
    FulltextJob,
    FulltextState,
    IndexRow,
    ParsedArticle,
    TextSource,
    UpsertResult,
    initial_text,
)
from ..urls import redact_url
from .db import CURRENT_STORY, Database, _dt, _iso, utcnow


# The TUI list's orders; each ends on the id so that equal keys keep a stable order.
LIST_SORTS = {
    "newest": "a.sort_date DESC, a.id DESC",
    "oldest": "a.sort_date ASC, a.id ASC",
    "title": "a.title COLLATE NOCASE, a.sort_date DESC, a.id DESC",
    "feed": "f.title COLLATE NOCASE, f.url, a.sort_date DESC, a.id DESC",
}


ARTICLE_COLUMNS = """
    a.id, a.feed_id, f.title, f.grp, a.key, a.title, a.link, a.author, a.published, a.updated,
    a.first_seen, t.summary, a.categories, a.enclosures, {text}, {markdown},
    a.text_source, a.read, a.starred, a.story_id
"""
# A Markdown stored as '' is the text itself (the feed's plain text, or a page's that had no formatting):
# stored once, not twice. (Never '' otherwise: an article without text has none in Markdown either.)
MARKDOWN = "COALESCE(NULLIF(t.markdown, ''), t.text)"
# An article with its feed and its texts (`article_texts`: the bulk of it, in a table of their own).
ARTICLE_TABLES = "articles a JOIN feeds f ON f.id = a.feed_id JOIN article_texts t ON t.id = a.id"

# What the indexer reads of an article (see `_index_row`).
INDEX_COLUMNS = (
    "a.id, a.version, a.title, t.text, t.summary, f.title, f.grp, a.author, a.categories, a.link, a.sort_date"
)

# An unread article counts as unread unless its story is muted (`reader stories mute`); one parameter: now.
NOT_MUTED = "(a.story_id IS NULL OR a.story_id NOT IN (SELECT id FROM stories WHERE muted_until > ?))"


def _article_columns(with_text: bool) -> str:
    """ARTICLE_COLUMNS, with the text and Markdown read only when asked for (they are most of a row)."""
    if not with_text:
        return ARTICLE_COLUMNS.format(text="''", markdown="''")
    return ARTICLE_COLUMNS.format(text="t.text", markdown=MARKDOWN)


def _article(row: sqlite3.Row) -> Article:
    return Article(
        id=row[0], feed_id=row[1], feed_title=row[2] or "", group=row[3] or "", key=row[4],
        title=row[5], link=row[6], author=row[7], published=_dt(row[8]), updated=_dt(row[9]),
        first_seen=_dt(row[10]), summary=row[11],
        categories=tuple(json.loads(row[12])),
        enclosures=tuple(Enclosure(**e) for e in json.loads(row[13])),
        text=row[14], markdown=row[15], text_source=TextSource(row[16]), read=bool(row[17]), starred=bool(row[18]),
        story_id=row[19],
    )  # fmt: skip


class ArticleStore(Database):
    """Reads and writes of `articles` and `index_deletions`."""

    def upsert_articles(
        self, feed_id: int, articles: Iterable[ParsedArticle], *, fulltext: bool, canonical: dict[str, str]
    ) -> UpsertResult:
        """Insert new articles and update changed ones; entries gone from the feed stay.

        `canonical` maps an article link to its canonical URL (tracking parameters
        stripped), for recognising one story carried by several feeds.
        """
        now = _iso(utcnow())
        new_ids: list[int] = []
        updated_ids: list[int] = []
        with self._tx() as tx:
            existing = {
                key: (aid, chash, link, source, digest)
                for key, aid, chash, link, source, digest in tx.execute(
                    "SELECT key, id, content_hash, link, text_source, raw_digest FROM articles WHERE feed_id = ?",
                    (feed_id,),
                )
            }
            # Every new article is queued for matching in the transaction that stores it (a crash before matching
            # loses no alert); `first_fetch`: it comes with its feed's first articles (no flood from a new feed).
            feed = tx.execute("SELECT last_new_at IS NULL FROM feeds WHERE id = ?", (feed_id,)).fetchone()
            if feed is None:  # removed while its fetch was under way (`feeds remove` takes no writer lock)
                return UpsertResult([], [])
            first_fetch = feed[0]
            # GUID churn: a feed that gives an entry a new id on every fetch, link and text unchanged.
            by_content = {(link, chash): key for key, (_aid, chash, link, _source, _d) in existing.items() if link}
            articles = list(articles)
            listed = {a.key for a in articles}
            seen: set[str] = set()
            digests: list[tuple[bytes | None, int]] = []  # raw fields changed, not what they make: the digest only
            for a in articles:
                if a.key in seen:  # a feed listing one entry twice
                    continue
                seen.add(a.key)
                if a.unchanged:  # its raw fields are the ones its article was made from: nothing to write
                    continue
                digest = a.raw_digest or None
                old_key = by_content.get((a.link, a.content_hash)) if a.key not in existing and a.link else None
                if old_key is not None and old_key not in listed:
                    tx.execute("UPDATE articles SET key = ?, raw_digest = ? WHERE feed_id = ? AND key = ?",
                               (a.key, digest, feed_id, old_key))  # fmt: skip
                    existing[a.key] = existing.pop(old_key)
                    del by_content[(a.link, a.content_hash)]
                    continue
                text, source = initial_text(a)
                values = (
                    a.title, a.link, canonical.get(a.link, a.link), a.author, _iso(a.published), _iso(a.updated),
                    json.dumps(list(a.categories)), json.dumps([e.__dict__ for e in a.enclosures]), a.content_hash,
                    digest,
                )  # fmt: skip
                if a.key not in existing:
                    cur = tx.execute(
                        """
                        INSERT INTO articles (title, link, canonical_url, author, published, updated, categories,
                            enclosures, content_hash, raw_digest, feed_id, key, first_seen, sort_date, text_source,
                            fulltext_state)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                        (*values, feed_id, a.key, now, _iso(a.published or a.updated) or now, source,
                         FulltextState.PENDING if fulltext and a.link else FulltextState.SKIPPED),
                    )  # fmt: skip
                    # The feed's content is stored as the text when it is the text (else nothing reads it): once.
                    tx.execute("INSERT INTO article_texts (id, summary, text, markdown) VALUES (?, ?, ?, ?)",
                               (cur.lastrowid, a.summary, text, ""))  # (MARKDOWN)
                    new_ids.append(cur.lastrowid)
                elif existing[a.key][1] != a.content_hash:
                    aid, page = existing[a.key][0], existing[a.key][3] == TextSource.PAGE
                    # The feed's text changed: refresh it unless a page extraction is richer.
                    tx.execute(
                        """
                        UPDATE articles SET title = ?, link = ?, canonical_url = ?, author = ?,
                            published = COALESCE(?, published), updated = ?, categories = ?, enclosures = ?,
                            content_hash = ?, raw_digest = ?, text_source = ?, version = version + 1
                        WHERE id = ?
                        """,
                        (*values, TextSource.PAGE if page else source, aid),
                    )
                    tx.execute(
                        "UPDATE article_texts SET summary = ?" + ("" if page else ", text = ?, markdown = ?")
                        + " WHERE id = ?",
                        (a.summary, *(() if page else (text, "")), aid),
                    )
                    updated_ids.append(aid)
                elif existing[a.key][4] != digest:
                    digests.append((digest, existing[a.key][0]))
            tx.executemany("UPDATE articles SET raw_digest = ? WHERE id = ?", digests)
            # Changed text is matched again too: a rule that now matches alerts (once per story).
            tx.executemany(
                "INSERT OR IGNORE INTO match_queue (article_id, first_fetch, queued_at) "
                "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))",
                [(i, first_fetch) for i in new_ids] + [(i, 0) for i in updated_ids],
            )
        return UpsertResult(new_ids, updated_ids)

    def known_entries(self, feed_id: int, limit: int) -> tuple[frozenset[str], dict[str, bytes]]:
        """Of the feed's `limit` newest articles (a feed lists its newest entries; both go to a worker with each
        of its parses): the keys of those that have their story (the grouper never reads them again), and each
        one's digest of the raw fields it was made from, by key (an entry with the same is not converted again).
        One set of key strings for both: a pickle writes each once."""
        rows = self._conn().execute(
            "SELECT key, raw_digest, story_id IS NOT NULL FROM articles WHERE feed_id = ?"
            " ORDER BY sort_date DESC, id DESC LIMIT ?",  # newest by date, as a feed keeps its entries
            (feed_id, limit),
        ).fetchall()
        return frozenset(key for key, _, grouped in rows if grouped), {key: d for key, d, _ in rows if d is not None}

    def fulltext_jobs(self, article_ids: Sequence[int] | None = None) -> list[FulltextJob]:
        """Articles whose page is still to be fetched (of `article_ids`, or all)."""
        sql = (
            f"SELECT a.id, a.link, f.url, length(t.text) FROM {ARTICLE_TABLES} "
            f"WHERE a.fulltext_state = '{FulltextState.PENDING}'"  # a literal: the partial index applies
        )
        rows = self._select_in(sql, "a.id", article_ids)
        return [FulltextJob(*r) for r in rows]

    def set_fulltext(self, article_id: int, *, state: FulltextState, text: str | None = None,
                     markdown: str | None = None, error: str | None = None,
                     canonical_url: str | None = None) -> None:  # fmt: skip
        """Record a page fetch: its extracted text (if it beat the feed's) or why it failed."""
        with self._tx() as tx:
            if canonical_url:
                tx.execute("UPDATE articles SET canonical_url = ? WHERE id = ?", (canonical_url, article_id))
            if text is not None:
                tx.execute("UPDATE article_texts SET text = ?, markdown = ? WHERE id = ?",
                           (text, "" if markdown in (None, text) else markdown, article_id))  # fmt: skip
                tx.execute(
                    f"UPDATE articles SET text_source = '{TextSource.PAGE}', "
                    "fulltext_state = ?, page_error = NULL, version = version + 1 WHERE id = ?",
                    (state, article_id),
                )
            else:
                tx.execute(
                    "UPDATE articles SET fulltext_state = ?, page_error = ? WHERE id = ?",
                    (state, error, article_id),
                )

    def set_read(self, article_ids: Sequence[int], read: bool = True) -> None:
        with self._tx() as tx:
            tx.executemany("UPDATE articles SET read = ? WHERE id = ?", [(int(read), i) for i in article_ids])

    def set_starred(self, article_id: int, starred: bool) -> None:
        with self._tx() as tx:
            tx.execute("UPDATE articles SET starred = ? WHERE id = ?", (int(starred), article_id))

    # -- articles: reading ------------------------------------------------------
    def article(self, article_id: int, *, with_text: bool = True) -> Article | None:
        cols = _article_columns(with_text)
        row = self._conn().execute(
            f"SELECT {cols} FROM {ARTICLE_TABLES} WHERE a.id = ?", (article_id,)
        ).fetchone()
        return _article(row) if row else None

    def article_by_link(self, link: str) -> Article | None:
        row = self._conn().execute(
            "SELECT id FROM articles WHERE link = ? OR canonical_url = ? ORDER BY id LIMIT 1", (link, link)
        ).fetchone()
        return self.article(row[0]) if row else None

    def articles_by_ids(self, ids: Sequence[int], *, with_text: bool = False) -> dict[int, Article]:
        cols = _article_columns(with_text)
        rows = self._select_in(f"SELECT {cols} FROM {ARTICLE_TABLES} WHERE 1", "a.id", ids)
        return {r[0]: _article(r) for r in rows}

    def iter_articles(
        self, flt: ArticleFilter = ArticleFilter(), *, with_text: bool = False, limit: int | None = None,
        chunk_size: int = 256,
    ) -> Iterator[Article]:  # fmt: skip
        """Articles newest first, read in keyset-paginated chunks so no cursor stays open."""
        where, params = self._where(flt)
        cols = _article_columns(with_text)
        conn = self._conn()
        after: tuple[str, int] | None = None
        remaining = limit
        while remaining is None or remaining > 0:
            size = chunk_size if remaining is None else min(chunk_size, remaining)
            keyset = "AND (a.sort_date, a.id) < (?, ?)" if after else ""
            rows = conn.execute(
                f"SELECT {cols}, a.sort_date FROM {ARTICLE_TABLES} "
                f"WHERE {where} {keyset} ORDER BY a.sort_date DESC, a.id DESC LIMIT ?",
                [*params, *(after or ()), size],
            ).fetchall()
            for r in rows:
                yield _article(r)
            if len(rows) < size:
                return
            after = (rows[-1][-1], rows[-1][0])
            if remaining is not None:
                remaining -= len(rows)

    def count_articles(self, flt: ArticleFilter = ArticleFilter()) -> int:
        where, params = self._where(flt)
        return self._conn().execute(
            f"SELECT count(*) FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE {where}", params
        ).fetchone()[0]

    def article_ids_in(self, flt: ArticleFilter) -> set[int]:
        where, params = self._where(flt)
        rows = self._conn().execute(
            f"SELECT a.id FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE {where}", params
        )
        return {r[0] for r in rows}

    # -- the index's bookkeeping ------------------------------------------------

    def articles_to_index(self, limit: int = 500, after_id: int = 0, *, ready: bool = False) -> list[IndexRow]:
        """The next articles whose index entry is missing or stale; `ready`: only those not waiting for their page
        (their text will change: indexing them now would be done twice)."""
        pages = f"AND a.fulltext_state != '{FulltextState.PENDING}'" if ready else ""
        rows = self._conn().execute(
            f"""
            SELECT {INDEX_COLUMNS} FROM {ARTICLE_TABLES}
            WHERE a.indexed_version != a.version AND a.id > ? {pages}
            ORDER BY a.id LIMIT ?
            """,
            (after_id, limit),
        ).fetchall()
        return [_index_row(r) for r in rows]

    def all_index_rows(self, chunk_size: int = 1000) -> Iterator[IndexRow]:
        """Every article, for rebuilding the index, in keyset-paginated chunks."""
        after = 0
        conn = self._conn()
        while True:
            rows = conn.execute(
                f"SELECT {INDEX_COLUMNS} FROM {ARTICLE_TABLES} WHERE a.id > ? "
                "ORDER BY a.id LIMIT ?",
                (after, chunk_size),
            ).fetchall()
            if not rows:
                return
            yield from (_index_row(r) for r in rows)
            after = rows[-1][0]

    def count_to_index(self) -> int:
        return self._conn().execute("SELECT count(*) FROM articles WHERE indexed_version != version").fetchone()[0]

    def mark_indexed(self, versions: Iterable[tuple[int, int]]) -> None:
        """Record that (article id, version) pairs are in the index; a newer version stays pending."""
        with self._tx() as tx:
            tx.executemany(
                "UPDATE articles SET indexed_version = ? WHERE id = ? AND version = ?",
                [(v, i, v) for i, v in versions],
            )

    def mark_all_unindexed(self) -> None:
        with self._tx() as tx:
            tx.execute("UPDATE articles SET indexed_version = 0")
            tx.execute("DELETE FROM index_deletions")

    def pending_index_deletions(self) -> list[int]:
        return [r[0] for r in self._conn().execute("SELECT article_id FROM index_deletions")]

    def clear_index_deletions(self, article_ids: Sequence[int]) -> None:
        with self._tx() as tx:
            tx.executemany("DELETE FROM index_deletions WHERE article_id = ?", [(i,) for i in article_ids])

    def article_count(self) -> int:
        return self._conn().execute("SELECT count(*) FROM articles").fetchone()[0]

    # -- TUI queries ------------------------------------------------------------

    def article_order(self, flt: ArticleFilter = ArticleFilter(), sort: str = "newest",
                      limit: int | None = None) -> list[int]:  # fmt: skip
        """The ids of every article the filter selects (the first `limit` only, if given), in list order:
        what the TUI's list scrolls over.

        Ids only, and no join unless sorting by feed, so the default order is a
        scan of the date index (~0.1 s for 100,000 articles, a first screen's
        page in a millisecond); the rows are read a window at a time with `article_lines`.
        """
        return [r[0] for r in self.list_rows("a.id", flt, sort, limit)]

    def list_rows(self, columns: str, flt: ArticleFilter, sort: str, limit: int | None = None) -> sqlite3.Cursor:
        """`columns` of the articles the filter selects, in list order, as SQLite finds them (read as far as
        needed). The date index holds what the default list reads (id, feed, story, read): no row is read."""
        where, params = self._where(flt)
        join = "JOIN feeds f ON f.id = a.feed_id" if sort == "feed" else ""
        page = "" if limit is None else f" LIMIT {int(limit)}"
        return self._conn().execute(
            f"SELECT {columns} FROM articles a {join} WHERE {where} ORDER BY {LIST_SORTS[sort]}{page}", params
        )

    def story_articles(self, story_ids: Sequence[int], flt: ArticleFilter = ArticleFilter()
                       ) -> dict[int, list[tuple[int, int, bool]]]:  # fmt: skip
        """The articles of these stories that the filter selects, oldest first, by story: (id, feed id, unread).
        What a story row of the TUI stands for."""
        where, params = self._where(flt)
        found: dict[int, list[tuple[int, int, bool]]] = {}
        for story_id, article_id, feed_id, unread in self._select_in(
            f"SELECT a.story_id, a.id, a.feed_id, a.read = 0 FROM articles a WHERE {where}",
            "a.story_id", story_ids, " ORDER BY a.sort_date, a.id", params=params,
        ):  # fmt: skip
            found.setdefault(story_id, []).append((article_id, feed_id, bool(unread)))
        return found

    def unread_stories(self) -> tuple[dict[int, int], dict[str, int], int]:
        """How many stories have an unread article (an article alone is its own story; muted stories do not
        count): in each feed, in each group, in all."""
        story, now = "COALESCE(a.story_id, -a.id)", (_iso(utcnow()),)
        unread = f"FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE a.read = 0 AND {NOT_MUTED}"
        conn = self._conn()
        by_feed = dict(conn.execute(f"SELECT a.feed_id, count(DISTINCT {story}) {unread} GROUP BY a.feed_id", now))
        by_group = dict(conn.execute(f"SELECT f.grp, count(DISTINCT {story}) {unread} GROUP BY f.grp", now))
        return by_feed, by_group, conn.execute(f"SELECT count(DISTINCT {story}) {unread}", now).fetchone()[0]

    def count_stories(self, flt: ArticleFilter) -> int:
        """How many stories the filter's articles belong to (an article alone is its own story)."""
        where, params = self._where(flt)
        sql = f"SELECT count(DISTINCT COALESCE(a.story_id, -a.id)) FROM articles a WHERE {where}"
        return self._conn().execute(sql, params).fetchone()[0]

    def story_muted_until(self, story_id: int) -> datetime | None:
        """Until when a story is muted (None: not muted, or no such story); a past time means no longer."""
        row = self._conn().execute(f"SELECT muted_until FROM stories WHERE id = {CURRENT_STORY.format('?')}",
                                   (story_id, story_id)).fetchone()  # fmt: skip
        return _dt(row[0]) if row else None

    def _where(self, flt: ArticleFilter) -> tuple[str, list]:
        """The filter as SQL conditions on `articles a` alone (a group becomes its feeds' ids), so they
        need no join and an index on articles covers them."""
        clauses, params = ["1"], []
        if flt.feed_ids is not None:
            clauses.append("a.feed_id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(flt.feed_ids)))
        if flt.group is not None:
            clauses.append("a.feed_id IN (SELECT id FROM feeds WHERE grp = ? COLLATE NOCASE)")
            params.append(flt.group)
        if flt.unread:
            clauses.append(f"a.read = 0 AND {NOT_MUTED}")
            params.append(_iso(utcnow()))
        if flt.starred:
            clauses.append("a.starred = 1")
        if flt.since is not None:
            clauses.append("a.sort_date >= ?")
            params.append(_iso(flt.since))
        if flt.until is not None:
            clauses.append("a.sort_date <= ?")
            params.append(_iso(flt.until))
        if flt.ids is not None:
            clauses.append("a.id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(flt.ids)))
        return " AND ".join(clauses), params

    def article_lines(self, ids: Sequence[int]) -> dict[int, ArticleLine]:
        """What the TUI's list draws of these articles (no text), by id. An untitled feed is named by its
        URL with the credentials masked, as `Feed.display_title` names it."""
        rows = self._select_in(
            "SELECT a.id, a.feed_id, f.title, f.url, a.title, a.sort_date, "
            "a.read, a.starred, a.story_id FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE 1",
            "a.id",
            ids,
        )
        return {
            r[0]: ArticleLine(r[0], r[1], r[2] or redact_url(r[3]), r[4], datetime.fromisoformat(r[5]), bool(r[6]),
                              bool(r[7]), r[8])  # fmt: skip
            for r in rows
        }


def _index_row(r: tuple) -> IndexRow:
    """An `IndexRow` from the INDEX_COLUMNS of a row."""
    return IndexRow(
        id=r[0], version=r[1], title=r[2], text=r[3], summary=r[4], feed_title=r[5], group=r[6],
        author=r[7], categories=tuple(json.loads(r[8])), link=r[9], date=datetime.fromisoformat(r[10]),
    )  # fmt: skip
