"""The SQLite store: the record of feeds and articles. Every SQL statement lives here.

One connection per thread (SQLite connections must not be shared across
threads), WAL mode so readers never block the single writer, and short
transactions. The schema is versioned with `PRAGMA user_version`; `MIGRATIONS`
only ever grows, each step moving the schema forward by one version.

The Whoosh index is derived from this store: an article needs (re)indexing
while `indexed_version != version`, and deleted articles leave a row in
`index_deletions` until the index has dropped them. A crash between the two
writes is repaired by simply running the indexer again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .models import Article, Enclosure, Feed, FetchStatus, ParsedArticle, TextSource


class StoreError(Exception):
    """Something is wrong with the database file itself."""


class FeedNotFound(LookupError):
    pass


MIGRATIONS: list[str] = [
    # 1: feeds and articles
    """
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL DEFAULT '',
        grp TEXT NOT NULL DEFAULT '',
        site_url TEXT NOT NULL DEFAULT '',
        enabled INTEGER NOT NULL DEFAULT 1,
        fulltext INTEGER NOT NULL DEFAULT 1,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        ttl_seconds INTEGER,
        next_fetch_after TEXT,
        last_fetched_at TEXT,
        last_status TEXT,
        last_error TEXT,
        last_new_at TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        link TEXT NOT NULL DEFAULT '',
        canonical_url TEXT NOT NULL DEFAULT '',
        author TEXT NOT NULL DEFAULT '',
        published TEXT,
        updated TEXT,
        first_seen TEXT NOT NULL,
        sort_date TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL DEFAULT '',
        content_html TEXT NOT NULL DEFAULT '',
        categories TEXT NOT NULL DEFAULT '[]',
        enclosures TEXT NOT NULL DEFAULT '[]',
        content_hash TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        markdown TEXT NOT NULL DEFAULT '',
        text_source TEXT NOT NULL DEFAULT 'summary',
        fulltext_state TEXT NOT NULL DEFAULT 'pending',
        page_error TEXT,
        read INTEGER NOT NULL DEFAULT 0,
        starred INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 1,
        indexed_version INTEGER NOT NULL DEFAULT 0,
        UNIQUE (feed_id, key)
    );
    CREATE INDEX articles_by_date ON articles (sort_date DESC, id DESC);
    CREATE INDEX articles_by_feed_date ON articles (feed_id, sort_date DESC, id DESC);
    CREATE INDEX articles_to_index ON articles (id) WHERE indexed_version != version;
    CREATE INDEX articles_fulltext_pending ON articles (id) WHERE fulltext_state = 'pending';
    CREATE INDEX articles_by_canonical ON articles (canonical_url);
    CREATE TABLE index_deletions (article_id INTEGER PRIMARY KEY);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TRIGGER articles_deleted AFTER DELETE ON articles BEGIN
        INSERT OR IGNORE INTO index_deletions (article_id) VALUES (old.id);
    END;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
APPLICATION_ID = 0x52445231  # "RDR1": refuse to open some other program's database

FULLTEXT_PENDING = "pending"
FULLTEXT_DONE = "done"
FULLTEXT_SKIPPED = "skipped"
FULLTEXT_FAILED = "failed"


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class UpsertResult:
    new_ids: list[int]
    updated_ids: list[int]


@dataclass(frozen=True)
class ArticleFilter:
    """What `articles`, `export` and the TUI list select. All parts are ANDed."""

    feed_ids: Sequence[int] | None = None
    group: str | None = None
    unread: bool = False
    starred: bool = False
    since: datetime | None = None
    until: datetime | None = None
    ids: Sequence[int] | None = None  # e.g. the hits of a search


@dataclass(frozen=True)
class IndexRow:
    """What the indexer needs of one article."""

    id: int
    version: int
    title: str
    text: str
    summary: str
    feed_title: str
    group: str
    author: str
    categories: tuple[str, ...]
    link: str
    date: datetime


@dataclass(frozen=True)
class FulltextJob:
    article_id: int
    link: str
    feed_url: str
    feed_text_len: int


FEED_COLUMNS = """
    f.id, f.url, f.title, f.grp, f.site_url, f.enabled, f.fulltext, f.etag, f.last_modified,
    f.body_hash, f.ttl_seconds, f.next_fetch_after, f.last_fetched_at, f.last_status,
    f.last_error, f.last_new_at, f.error_count
"""

ARTICLE_COLUMNS = """
    a.id, a.feed_id, f.title, f.grp, a.key, a.title, a.link, a.author, a.published, a.updated,
    a.first_seen, a.summary, a.content, a.categories, a.enclosures, {text}, {markdown},
    a.text_source, a.read, a.starred
"""


def _feed(row: sqlite3.Row, article_count: int = 0, unread_count: int = 0) -> Feed:
    return Feed(
        id=row[0], url=row[1], title=row[2], group=row[3], site_url=row[4], enabled=bool(row[5]),
        fulltext=bool(row[6]), etag=row[7], last_modified=row[8], body_hash=row[9],
        ttl_seconds=row[10], next_fetch_after=_dt(row[11]), last_fetched_at=_dt(row[12]),
        last_status=row[13], last_error=row[14], last_new_at=_dt(row[15]), error_count=row[16],
        article_count=article_count, unread_count=unread_count,
    )  # fmt: skip


def _article(row: sqlite3.Row) -> Article:
    return Article(
        id=row[0], feed_id=row[1], feed_title=row[2] or "", group=row[3] or "", key=row[4],
        title=row[5], link=row[6], author=row[7], published=_dt(row[8]), updated=_dt(row[9]),
        first_seen=_dt(row[10]), summary=row[11], content=row[12],
        categories=tuple(json.loads(row[13])),
        enclosures=tuple(Enclosure(**e) for e in json.loads(row[14])),
        text=row[15], markdown=row[16], text_source=row[17], read=bool(row[18]), starred=bool(row[19]),
    )  # fmt: skip


def _initial_text(article: ParsedArticle) -> tuple[str, str]:
    """The best text the feed itself carries, and where it came from."""
    if len(article.content) >= len(article.summary) and article.content:
        return article.content, TextSource.CONTENT
    if article.summary:
        return article.summary, TextSource.SUMMARY
    return article.title, TextSource.TITLE


class Store:
    """All reads and writes of the SQLite database."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._migrate(self._conn())

    # -- connections and schema -------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot open the database {self.path}: {exc}") from None
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken immediately so writers queue rather than deadlock."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a reader database: {exc}") from None
        if app_id not in (0, APPLICATION_ID):
            raise StoreError(f"{self.path} belongs to another program (application_id {app_id:#x})")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this reader knows ({SCHEMA_VERSION}); "
                "upgrade the reader"
            )
        for step in range(version, SCHEMA_VERSION):
            with self._tx() as tx:
                for statement in _split_sql(MIGRATIONS[step]):
                    tx.execute(statement)
                tx.execute(f"PRAGMA user_version = {step + 1}")
                tx.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                problems = tx.execute("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise StoreError(f"migration to version {step + 1} broke foreign keys: {problems[:3]}")

    def schema_version(self) -> int:
        return self._conn().execute("PRAGMA user_version").fetchone()[0]

    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as tx:
            tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
                       (key, value, value))

    # -- feeds ------------------------------------------------------------------

    def add_feed(self, url: str, title: str = "", group: str = "", site_url: str = "") -> tuple[Feed, bool]:
        """Subscribe to `url`; returns the feed and whether it was new."""
        with self._tx() as tx:
            cur = tx.execute(
                "INSERT INTO feeds (url, title, grp, site_url, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(url) DO NOTHING",
                (url, title, group, site_url, _iso(utcnow())),
            )
            created = cur.rowcount == 1
        feed = self.feed_by_url(url)
        assert feed is not None
        return feed, created

    def remove_feed(self, feed_id: int) -> None:
        with self._tx() as tx:
            if tx.execute("DELETE FROM feeds WHERE id = ?", (feed_id,)).rowcount == 0:
                raise FeedNotFound(feed_id)

    def feed(self, feed_id: int) -> Feed:
        row = self._conn().execute(f"SELECT {FEED_COLUMNS} FROM feeds f WHERE f.id = ?", (feed_id,)).fetchone()
        if row is None:
            raise FeedNotFound(feed_id)
        return _feed(row)

    def feed_by_url(self, url: str) -> Feed | None:
        row = self._conn().execute(f"SELECT {FEED_COLUMNS} FROM feeds f WHERE f.url = ?", (url,)).fetchone()
        return _feed(row) if row else None

    def feeds(self, with_counts: bool = False) -> list[Feed]:
        """Every feed, ordered by group then title; with article and unread counts if asked."""
        conn = self._conn()
        counts: dict[int, tuple[int, int]] = {}
        if with_counts:
            counts = {
                fid: (total, unread)
                for fid, total, unread in conn.execute(
                    "SELECT feed_id, count(*), sum(read = 0) FROM articles GROUP BY feed_id"
                )
            }
        rows = conn.execute(
            f"SELECT {FEED_COLUMNS} FROM feeds f ORDER BY f.grp COLLATE NOCASE, "
            "CASE WHEN f.title = '' THEN f.url ELSE f.title END COLLATE NOCASE"
        ).fetchall()
        return [_feed(r, *counts.get(r[0], (0, 0))) for r in rows]

    def set_feed_url(self, feed_id: int, url: str) -> bool:
        """Move a feed to a new URL (after a permanent redirect); False if another feed has it."""
        with self._tx() as tx:
            try:
                tx.execute("UPDATE feeds SET url = ? WHERE id = ?", (url, feed_id))
            except sqlite3.IntegrityError:
                return False
        return True

    def set_feed_options(self, feed_id: int, *, enabled: bool | None = None, fulltext: bool | None = None,
                         group: str | None = None, title: str | None = None) -> None:  # fmt: skip
        changes = {"enabled": enabled, "fulltext": fulltext, "grp": group, "title": title}
        sets = {k: v for k, v in changes.items() if v is not None}
        if not sets:
            return
        assignments = ", ".join(f"{column} = ?" for column in sets)
        with self._tx() as tx:
            tx.execute(f"UPDATE feeds SET {assignments} WHERE id = ?", (*sets.values(), feed_id))

    def record_fetch(
        self,
        feed_id: int,
        *,
        status: str,
        error: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        body_hash: str | None = None,
        title: str | None = None,
        site_url: str | None = None,
        ttl_seconds: int | None = None,
        next_fetch_after: datetime | None = None,
        new_articles: int = 0,
        keep_validators: bool = False,
    ) -> None:
        """Store the outcome of one refresh of one feed."""
        now = _iso(utcnow())
        with self._tx() as tx:
            tx.execute(
                """
                UPDATE feeds SET
                    last_status = ?, last_error = ?, last_fetched_at = ?,
                    error_count = CASE WHEN ? = 'error' THEN error_count + 1 ELSE 0 END,
                    etag = CASE WHEN ? THEN etag ELSE ? END,
                    last_modified = CASE WHEN ? THEN last_modified ELSE ? END,
                    body_hash = COALESCE(?, body_hash),
                    title = CASE WHEN title = '' AND ? IS NOT NULL THEN ? ELSE title END,
                    site_url = COALESCE(?, site_url),
                    ttl_seconds = COALESCE(?, ttl_seconds),
                    next_fetch_after = ?,
                    last_new_at = CASE WHEN ? > 0 THEN ? ELSE last_new_at END,
                    enabled = CASE WHEN ? = 'gone' THEN 0 ELSE enabled END
                WHERE id = ?
                """,
                (
                    status, error, now, status,
                    keep_validators, etag, keep_validators, last_modified,
                    body_hash, title, title, site_url, ttl_seconds, _iso(next_fetch_after),
                    new_articles, now, status, feed_id,
                ),
            )  # fmt: skip

    # -- articles: writing ------------------------------------------------------

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
                key: (aid, chash)
                for key, aid, chash in tx.execute(
                    "SELECT key, id, content_hash FROM articles WHERE feed_id = ?", (feed_id,)
                )
            }
            seen: set[str] = set()
            for a in articles:
                if a.key in seen:  # a feed listing one entry twice
                    continue
                seen.add(a.key)
                text, source = _initial_text(a)
                sort_date = _iso(a.published or a.updated) or now
                values = (
                    a.title, a.link, canonical.get(a.link, a.link), a.author, _iso(a.published),
                    _iso(a.updated), a.summary, a.content, a.content_html,
                    json.dumps(list(a.categories)),
                    json.dumps([e.__dict__ for e in a.enclosures]), a.content_hash,
                )  # fmt: skip
                if a.key not in existing:
                    cur = tx.execute(
                        """
                        INSERT INTO articles (title, link, canonical_url, author, published, updated,
                            summary, content, content_html, categories, enclosures, content_hash,
                            feed_id, key, first_seen, sort_date, text, markdown, text_source, fulltext_state)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                        (*values, feed_id, a.key, now, sort_date, text, text, source,
                         FULLTEXT_PENDING if fulltext and a.link else FULLTEXT_SKIPPED),
                    )  # fmt: skip
                    new_ids.append(cur.lastrowid)
                elif existing[a.key][1] != a.content_hash:
                    aid = existing[a.key][0]
                    # The feed's text changed: refresh it unless a page extraction is richer.
                    tx.execute(
                        """
                        UPDATE articles SET title = ?, link = ?, canonical_url = ?, author = ?,
                            published = COALESCE(?, published), updated = ?, summary = ?, content = ?,
                            content_html = ?, categories = ?, enclosures = ?, content_hash = ?,
                            text = CASE WHEN text_source = 'page' THEN text ELSE ? END,
                            markdown = CASE WHEN text_source = 'page' THEN markdown ELSE ? END,
                            text_source = CASE WHEN text_source = 'page' THEN text_source ELSE ? END,
                            version = version + 1
                        WHERE id = ?
                        """,
                        (*values, text, text, source, aid),
                    )
                    updated_ids.append(aid)
        return UpsertResult(new_ids, updated_ids)

    def fulltext_jobs(self, article_ids: Sequence[int] | None = None) -> list[FulltextJob]:
        """Articles whose page is still to be fetched (of `article_ids`, or all)."""
        sql = (
            "SELECT a.id, a.link, f.url, length(a.text) FROM articles a JOIN feeds f ON f.id = a.feed_id "
            "WHERE a.fulltext_state = 'pending'"
        )
        rows = self._select_in(sql, "a.id", article_ids)
        return [FulltextJob(*r) for r in rows]

    def set_fulltext(self, article_id: int, *, state: str, text: str | None = None,
                     markdown: str | None = None, error: str | None = None,
                     canonical_url: str | None = None) -> None:  # fmt: skip
        """Record a page fetch: its extracted text (if it beat the feed's) or why it failed."""
        with self._tx() as tx:
            if canonical_url:
                tx.execute("UPDATE articles SET canonical_url = ? WHERE id = ?", (canonical_url, article_id))
            if text is not None:
                tx.execute(
                    "UPDATE articles SET text = ?, markdown = ?, text_source = 'page', fulltext_state = ?, "
                    "page_error = NULL, version = version + 1 WHERE id = ?",
                    (text, markdown or text, state, article_id),
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

    def _select_in(self, sql: str, column: str, ids: Sequence[int] | None, tail: str = "") -> list[tuple]:
        """Run `sql`, restricted to `column IN ids` (in chunks) when ids are given."""
        conn = self._conn()
        if ids is None:
            return conn.execute(sql + tail).fetchall()
        rows: list[tuple] = []
        ids = list(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += conn.execute(f"{sql} AND {column} IN ({marks}){tail}", chunk).fetchall()
        return rows

    def article(self, article_id: int, *, with_text: bool = True) -> Article | None:
        cols = ARTICLE_COLUMNS.format(
            text="a.text" if with_text else "''", markdown="a.markdown" if with_text else "''"
        )
        row = self._conn().execute(
            f"SELECT {cols} FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE a.id = ?", (article_id,)
        ).fetchone()
        return _article(row) if row else None

    def article_by_link(self, link: str) -> Article | None:
        row = self._conn().execute(
            "SELECT id FROM articles WHERE link = ? OR canonical_url = ? ORDER BY id LIMIT 1", (link, link)
        ).fetchone()
        return self.article(row[0]) if row else None

    def articles_by_ids(self, ids: Sequence[int], *, with_text: bool = False) -> dict[int, Article]:
        cols = ARTICLE_COLUMNS.format(
            text="a.text" if with_text else "''", markdown="a.markdown" if with_text else "''"
        )
        rows = self._select_in(f"SELECT {cols} FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE 1", "a.id", ids)
        return {r[0]: _article(r) for r in rows}

    def _where(self, flt: ArticleFilter) -> tuple[str, list]:
        clauses, params = ["1"], []
        if flt.feed_ids is not None:
            clauses.append(f"a.feed_id IN ({','.join('?' * len(flt.feed_ids))})")
            params += list(flt.feed_ids)
        if flt.group is not None:
            clauses.append("f.grp = ? COLLATE NOCASE")
            params.append(flt.group)
        if flt.unread:
            clauses.append("a.read = 0")
        if flt.starred:
            clauses.append("a.starred = 1")
        if flt.since is not None:
            clauses.append("a.sort_date >= ?")
            params.append(_iso(flt.since))
        if flt.until is not None:
            clauses.append("a.sort_date <= ?")
            params.append(_iso(flt.until))
        if flt.ids is not None:
            clauses.append(f"a.id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(flt.ids)))
        return " AND ".join(clauses), params

    def iter_articles(
        self, flt: ArticleFilter = ArticleFilter(), *, with_text: bool = False, limit: int | None = None,
        chunk_size: int = 256,
    ) -> Iterator[Article]:  # fmt: skip
        """Articles newest first, read in keyset-paginated chunks so no cursor stays open."""
        where, params = self._where(flt)
        cols = ARTICLE_COLUMNS.format(
            text="a.text" if with_text else "''", markdown="a.markdown" if with_text else "''"
        )
        conn = self._conn()
        after: tuple[str, int] | None = None
        remaining = limit
        while remaining is None or remaining > 0:
            size = chunk_size if remaining is None else min(chunk_size, remaining)
            keyset = "AND (a.sort_date, a.id) < (?, ?)" if after else ""
            rows = conn.execute(
                f"SELECT {cols}, a.sort_date FROM articles a JOIN feeds f ON f.id = a.feed_id "
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

    def articles_to_index(self, limit: int = 500, after_id: int = 0) -> list[IndexRow]:
        """The next articles whose index entry is missing or stale."""
        rows = self._conn().execute(
            """
            SELECT a.id, a.version, a.title, a.text, a.summary, f.title, f.grp, a.author,
                   a.categories, a.link, a.sort_date
            FROM articles a JOIN feeds f ON f.id = a.feed_id
            WHERE a.indexed_version != a.version AND a.id > ?
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
                """
                SELECT a.id, a.version, a.title, a.text, a.summary, f.title, f.grp, a.author,
                       a.categories, a.link, a.sort_date
                FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE a.id > ? ORDER BY a.id LIMIT ?
                """,
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


def _index_row(r: tuple) -> IndexRow:
    return IndexRow(
        id=r[0], version=r[1], title=r[2], text=r[3], summary=r[4], feed_title=r[5], group=r[6],
        author=r[7], categories=tuple(json.loads(r[8])), link=r[9], date=datetime.fromisoformat(r[10]),
    )  # fmt: skip


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN … END;) whole."""
    statements, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        joined = "\n".join(current).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            statements.append(joined)
            current = []
    if "\n".join(current).strip():
        statements.append("\n".join(current))
    return statements
