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
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .models import Article, Enclosure, Feed, ParsedArticle, TextSource
from .stories import Corpus, Decision, StoryInput, StoryProfile


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
    # 2: alerts. A trigger queues every new article for matching in the transaction that stores it,
    # so a crash anywhere between storing and matching loses no alert: the queue is matched next time.
    # `first_fetch`: the article came with its feed's first articles (no flood from a new feed);
    # `queued_at` (to the millisecond): when it arrived, against which a new rule's `armed_at` is compared.
    # Alerts keep a copy of what a message shows, so they outlive their article; deliveries are one
    # row per (alert, target), the target known by a hash and a redacted label (its URL holds secrets).
    """
    CREATE TABLE rule_state (
        rule TEXT PRIMARY KEY,
        armed_at TEXT NOT NULL
    );
    CREATE TABLE match_queue (
        article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        first_fetch INTEGER NOT NULL DEFAULT 0,
        queued_at TEXT NOT NULL
    );
    CREATE TRIGGER articles_queue_match AFTER INSERT ON articles BEGIN
        INSERT OR IGNORE INTO match_queue (article_id, first_fetch, queued_at)
        VALUES (new.id, (SELECT last_new_at IS NULL FROM feeds WHERE id = new.feed_id),
                strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
    END;
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
        canonical_url TEXT,
        title TEXT NOT NULL DEFAULT '',
        link TEXT NOT NULL DEFAULT '',
        published TEXT,
        snippet TEXT NOT NULL DEFAULT '',
        spans TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        UNIQUE (rule, canonical_url)
    );
    CREATE UNIQUE INDEX alerts_rule_article ON alerts (rule, article_id);
    CREATE INDEX alerts_by_time ON alerts (created_at DESC, id DESC);
    CREATE TABLE alert_sources (
        alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
        feed_title TEXT NOT NULL DEFAULT '',
        link TEXT NOT NULL DEFAULT '',
        UNIQUE (alert_id, article_id)
    );
    CREATE INDEX alert_sources_by_article ON alert_sources (article_id);
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        target TEXT NOT NULL,
        target_label TEXT NOT NULL,
        batch TEXT,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        sent_at TEXT,
        UNIQUE (alert_id, target)
    );
    CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('held', 'pending');
    ALTER TABLE feeds ADD COLUMN max_age_seconds INTEGER;
    """,
    # 3: the Starred view and unread counts without a scan of every article's row
    """
    CREATE INDEX articles_starred ON articles (sort_date DESC, id DESC) WHERE starred = 1;
    CREATE INDEX articles_unread_by_feed ON articles (feed_id) WHERE read = 0;
    """,
    # 4: stories (reader/stories.py). Every article gets a story in the run that stores it; until then
    # it waits in `articles_to_group` (and is not matched). `story_terms` is the inverted index of the
    # stories still open (their centroids); a story's rows go once its window has passed, so it stays the
    # size of a few days of news. `story_df` holds the document frequency of every term grouped so far.
    # An alert is one per (rule, story); `deliveries.update_of` lets an alert announce a later source.
    """
    CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        size INTEGER NOT NULL DEFAULT 0,
        outlets TEXT NOT NULL DEFAULT '[]',
        names TEXT NOT NULL DEFAULT '[]',
        muted_until TEXT
    );
    CREATE INDEX stories_by_last_seen ON stories (last_seen);
    CREATE TABLE story_terms (
        term TEXT NOT NULL,
        story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        weight REAL NOT NULL,
        PRIMARY KEY (term, story_id)
    ) WITHOUT ROWID;
    CREATE INDEX story_terms_by_story ON story_terms (story_id);
    CREATE TABLE story_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
    ALTER TABLE articles ADD COLUMN story_id INTEGER REFERENCES stories(id) ON DELETE SET NULL;
    ALTER TABLE articles ADD COLUMN story_reason TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX articles_by_story ON articles (story_id);
    CREATE INDEX articles_to_group ON articles (sort_date, id) WHERE story_id IS NULL;
    ALTER TABLE alerts ADD COLUMN story_id INTEGER;
    CREATE UNIQUE INDEX alerts_rule_story ON alerts (rule, story_id);
    ALTER TABLE deliveries RENAME TO deliveries_v3;
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        target TEXT NOT NULL,
        target_label TEXT NOT NULL,
        batch TEXT,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        sent_at TEXT,
        update_of INTEGER NOT NULL DEFAULT 0,
        UNIQUE (alert_id, target, update_of)
    );
    INSERT INTO deliveries (id, alert_id, target, target_label, batch, state, attempts, next_attempt_at,
                            last_error, sent_at)
        SELECT id, alert_id, target, target_label, batch, state, attempts, next_attempt_at, last_error, sent_at
        FROM deliveries_v3;
    DROP TABLE deliveries_v3;
    CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('held', 'pending');
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
class ArticleLine:
    """One row of the TUI's article list: only what it draws."""

    id: int
    feed_id: int
    feed_title: str
    title: str
    date: datetime
    read: bool
    starred: bool


# The TUI list's orders; each ends on the id so that equal keys keep a stable order.
LIST_SORTS = {
    "newest": "a.sort_date DESC, a.id DESC",
    "oldest": "a.sort_date ASC, a.id ASC",
    "title": "a.title COLLATE NOCASE, a.sort_date DESC, a.id DESC",
    "feed": "f.title COLLATE NOCASE, f.url, a.sort_date DESC, a.id DESC",
}


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
class StoryMember:
    """An article of a story, and what tied it in (see `reader.stories.Decision.explained`)."""

    article_id: int
    title: str
    link: str
    outlet: str
    date: datetime
    reason: dict


@dataclass(frozen=True)
class StoryRecord:
    id: int
    first_seen: datetime
    last_seen: datetime
    muted_until: datetime | None
    articles: tuple[StoryMember, ...]

    @property
    def outlets(self) -> list[str]:
        return sorted({m.outlet for m in self.articles})


@dataclass(frozen=True)
class FulltextJob:
    article_id: int
    link: str
    feed_url: str
    feed_text_len: int


# -- alerts: the types of the outbox --------------------------------------------------

HELD, PENDING, SENT, FAILED = "held", "pending", "sent", "failed"  # a delivery's states


@dataclass(frozen=True)
class MatchCandidate:
    """A new article waiting to be matched against the rules."""

    article_id: int
    feed_id: int
    first_fetch: bool  # it came with its feed's first articles
    arrived: datetime  # when it was stored, to the millisecond
    date: datetime | None  # published, else updated
    story_id: int | None = None


@dataclass(frozen=True)
class DeliveryPlan:
    """Where and when one alert is to be sent."""

    target: str  # a stable key for the target (a hash: the URL itself holds secrets)
    label: str  # the target's URL, redacted
    state: str  # PENDING (send when due) or HELD (for a digest or the end of quiet hours)
    due_at: datetime
    batch: str | None = None  # deliveries sharing a batch (and rule, target) go out as one message
    update_of: int = 0  # 0: the alert's own notification; else the article id of the later source it announces


@dataclass(frozen=True)
class NewAlert:
    """A rule matching an article, as recorded: what a message about it shows."""

    rule: str
    article_id: int
    canonical_url: str | None  # None when the article has no link
    title: str
    link: str
    published: datetime | None
    feed_title: str
    snippet: str
    spans: tuple[tuple[int, int], ...]
    deliveries: tuple[DeliveryPlan, ...]
    story_id: int | None = None
    outlets: int = 1  # its deliveries are made once the alert's sources come from this many outlets


@dataclass(frozen=True)
class SourceJoin:
    """A later article of an alerted story, joining the rule's alert for that story as one more source."""

    rule: str
    story_id: int
    article_id: int
    feed_title: str
    link: str
    updates: tuple[DeliveryPlan, ...]  # what it sends when it is a new source (the rule's story_updates)
    first: tuple[DeliveryPlan, ...]  # the alert's own deliveries, made if this source brings it to `outlets`
    outlets: int = 1


@dataclass(frozen=True)
class AlertSource:
    """An outlet's article about an alert's story (the first match, or a later one that joined it)."""

    article_id: int | None  # None once the article is deleted
    feed_title: str
    link: str


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: int
    target: str
    label: str
    batch: str | None
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None


@dataclass(frozen=True)
class Alert:
    id: int
    rule: str
    article_id: int | None
    title: str
    link: str
    published: datetime | None
    snippet: str
    spans: tuple[tuple[int, int], ...]
    created_at: datetime
    sources: tuple[AlertSource, ...]
    deliveries: tuple[Delivery, ...]
    story_id: int | None = None

    @property
    def state(self) -> str:
        """The least advanced state of its deliveries: failed, pending, held, sent ("none" without targets)."""
        states = {d.state for d in self.deliveries}
        return next((s for s in (FAILED, PENDING, HELD, SENT) if s in states), "none")


# An unread article counts as unread unless its story is muted (`reader stories mute`); one parameter: now.
NOT_MUTED = "(story_id IS NULL OR story_id NOT IN (SELECT id FROM stories WHERE muted_until > ?))"

FEED_COLUMNS = """
    f.id, f.url, f.title, f.grp, f.site_url, f.enabled, f.fulltext, f.etag, f.last_modified,
    f.body_hash, f.ttl_seconds, f.next_fetch_after, f.last_fetched_at, f.last_status,
    f.last_error, f.last_new_at, f.error_count
"""

ARTICLE_COLUMNS = """
    a.id, a.feed_id, f.title, f.grp, a.key, a.title, a.link, a.author, a.published, a.updated,
    a.first_seen, a.summary, a.content, a.categories, a.enclosures, {text}, {markdown},
    a.text_source, a.read, a.starred, a.story_id
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
        story_id=row[20],
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
            muted = conn.execute(  # unread articles of muted stories do not count: few rows, by index
                "SELECT feed_id, count(*) FROM articles WHERE read = 0 AND story_id IN "
                "(SELECT id FROM stories WHERE muted_until > ?) GROUP BY feed_id",
                (_iso(utcnow()),),
            )
            for fid, n in muted:
                counts[fid] = (counts[fid][0], counts[fid][1] - n)
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
        max_age_seconds: float | None = None,
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
                    max_age_seconds = COALESCE(?, max_age_seconds),
                    last_new_at = CASE WHEN ? > 0 THEN ? ELSE last_new_at END,
                    enabled = CASE WHEN ? = 'gone' THEN 0 ELSE enabled END
                WHERE id = ?
                """,
                (
                    status, error, now, status,
                    keep_validators, etag, keep_validators, last_modified,
                    body_hash, title, title, site_url, ttl_seconds, _iso(next_fetch_after),
                    None if max_age_seconds is None else int(max_age_seconds),
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
                key: (aid, chash, link)
                for key, aid, chash, link in tx.execute(
                    "SELECT key, id, content_hash, link FROM articles WHERE feed_id = ?", (feed_id,)
                )
            }
            # GUID churn: a feed that gives an entry a new id on every fetch, link and text unchanged.
            by_content = {(link, chash): key for key, (_aid, chash, link) in existing.items() if link}
            articles = list(articles)
            listed = {a.key for a in articles}
            seen: set[str] = set()
            for a in articles:
                if a.key in seen:  # a feed listing one entry twice
                    continue
                seen.add(a.key)
                old_key = by_content.get((a.link, a.content_hash)) if a.key not in existing and a.link else None
                if old_key is not None and old_key not in listed:
                    tx.execute("UPDATE articles SET key = ? WHERE feed_id = ? AND key = ?", (a.key, feed_id, old_key))
                    existing[a.key] = existing.pop(old_key)
                    del by_content[(a.link, a.content_hash)]
                    continue
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
                    # Changed text is matched again: a rule that now matches alerts (once per story).
                    tx.execute(
                        "INSERT OR IGNORE INTO match_queue (article_id, first_fetch, queued_at) "
                        "VALUES (?, 0, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))",
                        (aid,),
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

    def _select_in(self, sql: str, column: str, ids: Sequence[int] | None, tail: str = "",
                   params: Sequence = ()) -> list[tuple]:  # fmt: skip
        """Run `sql` (with `params`), restricted to `column IN ids` (in chunks) when ids are given."""
        conn = self._conn()
        if ids is None:
            return conn.execute(sql + tail, params).fetchall()
        rows: list[tuple] = []
        ids = list(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += conn.execute(f"{sql} AND {column} IN ({marks}){tail}", [*params, *chunk]).fetchall()
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

    # -- TUI queries ------------------------------------------------------------

    def article_order(self, flt: ArticleFilter = ArticleFilter(), sort: str = "newest") -> list[int]:
        """The ids of every article the filter selects, in list order: what the TUI's list scrolls over.

        Ids only, and no join unless sorting by feed, so the default order is a
        scan of the date index (~0.1 s for 100,000 articles); the rows are read
        a window at a time with `article_lines`.
        """
        where, params = self._where(flt)
        join = "JOIN feeds f ON f.id = a.feed_id" if sort == "feed" else ""
        rows = self._conn().execute(
            f"SELECT a.id FROM articles a {join} WHERE {where} ORDER BY {LIST_SORTS[sort]}", params
        )
        return [r[0] for r in rows]

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
            clauses.append(f"a.read = 0 AND {NOT_MUTED.replace('story_id', 'a.story_id')}")
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
        """What the TUI's list draws of these articles (no text), by id."""
        rows = self._select_in(
            "SELECT a.id, a.feed_id, CASE WHEN f.title = '' THEN f.url ELSE f.title END, a.title, a.sort_date, "
            "a.read, a.starred FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE 1",
            "a.id",
            ids,
        )
        return {
            r[0]: ArticleLine(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4]), bool(r[5]), bool(r[6]))
            for r in rows
        }

    def alert_ids(self, after_id: int = 0) -> list[int]:
        """Ids of the alerts newer than `after_id`, newest first: the TUI's Alerts list, and its toasts."""
        rows = self._conn().execute(
            "SELECT id FROM alerts WHERE id > ? ORDER BY created_at DESC, id DESC", (after_id,)
        )
        return [r[0] for r in rows]

    # -- alerts: the match queue, alerts and their deliveries ---------------------------

    def articles_to_match(self, *, wait_for_pages: bool = True) -> list[MatchCandidate]:
        """Queued new articles that are indexed at their current version (and, if asked, have their page)."""
        pages = "AND a.fulltext_state != 'pending'" if wait_for_pages else ""
        rows = self._conn().execute(
            f"""
            SELECT q.article_id, a.feed_id, q.first_fetch, q.queued_at, COALESCE(a.published, a.updated), a.story_id
            FROM match_queue q JOIN articles a ON a.id = q.article_id
            WHERE a.indexed_version = a.version AND a.story_id IS NOT NULL {pages} ORDER BY q.article_id
            """
        ).fetchall()
        return [MatchCandidate(r[0], r[1], bool(r[2]), _dt(r[3]), _dt(r[4]), r[5]) for r in rows]

    def canonical_urls(self, article_ids: Sequence[int]) -> dict[int, str]:
        """Each article's canonical URL (after redirects, without tracking parameters); '' if it has no link."""
        return dict(self._select_in("SELECT id, canonical_url FROM articles WHERE 1", "id", article_ids))

    def queued_for_matching(self) -> int:
        return self._conn().execute("SELECT count(*) FROM match_queue").fetchone()[0]

    def arm_rules(self, first_seen: dict[str, datetime]) -> dict[str, datetime]:
        """When each rule was armed; a rule met for the first time is armed at the time given for it."""
        with self._tx() as tx:
            tx.executemany(
                "INSERT OR IGNORE INTO rule_state (rule, armed_at) VALUES (?, ?)",
                [(name, at.astimezone(UTC).isoformat(timespec="milliseconds")) for name, at in first_seen.items()],
            )
        rows = self._select_in("SELECT rule, armed_at FROM rule_state WHERE 1", "rule", list(first_seen))
        return {rule: _dt(armed) for rule, armed in rows}

    def story_alerts(self, story_ids: Sequence[int]) -> set[tuple[str, int]]:
        """(rule, story) of the alerts these stories already have."""
        return set(self._select_in("SELECT rule, story_id FROM alerts WHERE 1", "story_id", sorted(story_ids)))

    def record_matches(self, alerts: Sequence[NewAlert], matched_ids: Sequence[int],
                       joins: Sequence[SourceJoin] = ()) -> tuple[list[int], int]:  # fmt: skip
        """Record new alerts and the sources joining alerts, with their deliveries, and take `matched_ids`
        off the queue, in one transaction (the outbox).

        An alert that exists for the same rule and story (or article, or
        canonical URL) is not created again: the article becomes one more
        source of it. Returns the ids of the alerts created and how many
        articles joined existing ones.
        """
        created: list[int] = []
        joined = 0
        with self._tx() as tx:
            for a in alerts:
                alert_id = self._insert_alert(tx, a)
                if alert_id is not None:
                    created.append(alert_id)
                    self._add_source(tx, alert_id, a.article_id, a.feed_title, a.link)
                    self._first_deliveries(tx, alert_id, a.deliveries, a.outlets)
                else:
                    alert_id = self._existing_alert(tx, a)
                    if self._add_source(tx, alert_id, a.article_id, a.feed_title, a.link):
                        joined += 1
                        self._first_deliveries(tx, alert_id, a.deliveries, a.outlets)
            for j in joins:
                row = tx.execute("SELECT id FROM alerts WHERE rule = ? AND story_id = ?", (j.rule, j.story_id)).fetchone()
                if row is None or not self._add_source(tx, row[0], j.article_id, j.feed_title, j.link):
                    continue
                joined += 1
                if not self._first_deliveries(tx, row[0], j.first, j.outlets):
                    self._insert_deliveries(tx, row[0], j.updates)
            tx.executemany("DELETE FROM match_queue WHERE article_id = ?", [(i,) for i in matched_ids])
        return created, joined

    @staticmethod
    def _add_source(tx: sqlite3.Connection, alert_id: int, article_id: int, feed_title: str, link: str) -> bool:
        cur = tx.execute(
            "INSERT OR IGNORE INTO alert_sources (alert_id, article_id, feed_title, link) VALUES (?, ?, ?, ?)",
            (alert_id, article_id, feed_title, link),
        )
        return cur.rowcount == 1

    def _first_deliveries(self, tx: sqlite3.Connection, alert_id: int, plans: Sequence[DeliveryPlan],
                          outlets: int) -> bool:  # fmt: skip
        """Make the alert's own deliveries if its sources now come from `outlets` outlets; True if this
        source is the one that got it there (or the alert is still short of it: nothing else is sent)."""
        if outlets <= 1:
            return False
        count = tx.execute("SELECT count(DISTINCT feed_title) FROM alert_sources WHERE alert_id = ?",
                           (alert_id,)).fetchone()[0]  # fmt: skip
        if count < outlets:
            return True
        made = self._insert_deliveries(tx, alert_id, plans)
        return made > 0

    @staticmethod
    def _insert_deliveries(tx: sqlite3.Connection, alert_id: int, plans: Sequence[DeliveryPlan]) -> int:
        cur = tx.executemany(
            "INSERT OR IGNORE INTO deliveries (alert_id, target, target_label, batch, state, next_attempt_at, "
            "update_of) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(alert_id, d.target, d.label, d.batch, d.state, _iso(d.due_at), d.update_of) for d in plans],
        )
        return cur.rowcount

    @staticmethod
    def _insert_alert(tx: sqlite3.Connection, a: NewAlert) -> int | None:
        cur = tx.execute(
            """
            INSERT INTO alerts (rule, article_id, canonical_url, title, link, published, snippet, spans, created_at,
                                story_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """,
            (a.rule, a.article_id, a.canonical_url, a.title, a.link, _iso(a.published), a.snippet,
             json.dumps([list(s) for s in a.spans]), _iso(utcnow()), a.story_id),
        )  # fmt: skip
        if cur.rowcount == 0:
            return None
        alert_id = cur.lastrowid
        if a.outlets <= 1:
            Store._insert_deliveries(tx, alert_id, a.deliveries)
        return alert_id

    @staticmethod
    def _existing_alert(tx: sqlite3.Connection, a: NewAlert) -> int:
        """The rule's alert that stopped `a` being inserted: the one holding its article, else its story's."""
        return tx.execute(
            "SELECT id FROM alerts WHERE rule = ? AND (article_id = ? OR canonical_url = ? OR story_id = ?) "
            "ORDER BY article_id IS ? DESC LIMIT 1",
            (a.rule, a.article_id, a.canonical_url, a.story_id, a.article_id),
        ).fetchone()[0]

    def due_deliveries(self, now: datetime, limit: int = 5000) -> list[Delivery]:
        """Held and pending deliveries whose time has come, oldest first."""
        rows = self._conn().execute(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.state IN ('held', 'pending') "
            "AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?",
            (_iso(now), limit),
        ).fetchall()
        return [_delivery(r) for r in rows]

    def next_delivery_at(self) -> datetime | None:
        """When the next held or pending delivery falls due."""
        row = self._conn().execute(
            "SELECT min(next_attempt_at) FROM deliveries WHERE state IN ('held', 'pending')"
        ).fetchone()
        return _dt(row[0])

    def alerts_by_ids(self, ids: Sequence[int]) -> dict[int, Alert]:
        """Alerts with their sources and deliveries, by id."""
        rows = self._select_in(f"SELECT {ALERT_COLUMNS} FROM alerts al WHERE 1", "al.id", ids)
        return self._alerts(rows)

    def recent_alerts(self, limit: int = 50, rule: str | None = None) -> list[Alert]:
        """The newest alerts first, of one rule if given."""
        where, params = ("WHERE al.rule = ?", [rule]) if rule else ("", [])
        rows = self._conn().execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts al {where} ORDER BY al.created_at DESC, al.id DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
        found = self._alerts(rows)
        return [found[r[0]] for r in rows]

    def _alerts(self, rows: list[tuple]) -> dict[int, Alert]:
        ids = [r[0] for r in rows]
        sources: dict[int, list[AlertSource]] = {i: [] for i in ids}
        for alert_id, article_id, feed_title, link in self._select_in(
            "SELECT alert_id, article_id, feed_title, link FROM alert_sources WHERE 1", "alert_id", ids,
            " ORDER BY rowid",
        ):  # fmt: skip
            sources[alert_id].append(AlertSource(article_id, feed_title, link))
        deliveries: dict[int, list[Delivery]] = {i: [] for i in ids}
        for r in self._select_in(f"SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE 1", "d.alert_id", ids,
                                 " ORDER BY d.id"):  # fmt: skip
            deliveries[r[1]].append(_delivery(r))
        return {
            r[0]: Alert(
                id=r[0], rule=r[1], article_id=r[2], title=r[3], link=r[4], published=_dt(r[5]), snippet=r[6],
                spans=tuple(tuple(s) for s in json.loads(r[7])), created_at=_dt(r[8]),
                sources=tuple(sources[r[0]]), deliveries=tuple(deliveries[r[0]]), story_id=r[9],
            )  # fmt: skip
            for r in rows
        }

    def hold_deliveries(self, ids: Sequence[int], *, until: datetime, batch: str) -> None:
        """Keep deliveries back until `until`, to go out together as one message (quiet hours)."""
        with self._tx() as tx:
            tx.executemany("UPDATE deliveries SET state = 'held', batch = ?, next_attempt_at = ? WHERE id = ?",
                           [(batch, _iso(until), i) for i in ids])  # fmt: skip

    def delivery_sent(self, ids: Sequence[int], at: datetime) -> None:
        with self._tx() as tx:
            tx.executemany(
                "UPDATE deliveries SET state = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL "
                "WHERE id = ?",
                [(_iso(at), i) for i in ids],
            )

    def delivery_failed(self, ids: Sequence[int], *, error: str, retry_at: datetime | None) -> None:
        """Count a failed attempt: retried at `retry_at`, or given up (FAILED) when it is None."""
        state = PENDING if retry_at else FAILED
        with self._tx() as tx:
            tx.executemany(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
                [(state, error, _iso(retry_at), i) for i in ids],
            )

    def postpone_deliveries(self, ids: Sequence[int], *, until: datetime, note: str) -> None:
        """Try again later without counting an attempt (nothing was sent)."""
        with self._tx() as tx:
            tx.executemany("UPDATE deliveries SET next_attempt_at = ?, last_error = ? WHERE id = ?",
                           [(_iso(until), note, i) for i in ids])  # fmt: skip

    def retry_deliveries(self, now: datetime) -> int:
        """Make every failed or pending delivery due now, with a fresh count of attempts (held ones keep their time)."""
        with self._tx() as tx:
            return tx.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ? "
                "WHERE state IN ('failed', 'pending')",
                (_iso(now),),
            ).rowcount

    # -- stories ----------------------------------------------------------------------

    def articles_to_group(self, limit: int = 500) -> list[StoryInput]:
        """The oldest articles still without a story, in the order they are grouped (date, then id)."""
        rows = self._conn().execute(
            """
            SELECT a.id, a.title,
                   CASE a.text_source WHEN 'title' THEN a.summary WHEN 'page' THEN a.summary || char(10) || a.text
                                      ELSE a.text END,
                   min(a.sort_date, a.first_seen), CASE WHEN f.title = '' THEN f.url ELSE f.title END,
                   a.canonical_url
            FROM articles a JOIN feeds f ON f.id = a.feed_id
            WHERE a.story_id IS NULL ORDER BY a.sort_date, a.id LIMIT ?
            """,
            (limit,),
        ).fetchall()
        return [StoryInput(r[0], r[1], r[2][:8000], datetime.fromisoformat(r[3]), r[4], r[5]) for r in rows]

    def story_corpus(self, terms: Iterable[str]) -> Corpus:
        """The document count and the frequencies of `terms` (only these: the table holds every term)."""
        terms = sorted(set(terms))
        df: dict[str, int] = {}
        for term, n in self._select_in("SELECT term, df FROM story_df WHERE 1", "term", terms):
            df[term] = n
        return Corpus(int(self.get_meta("story_documents") or 0), df)

    def open_stories(self, terms: Iterable[str], links: Iterable[str], since: datetime) -> list[StoryProfile]:
        """Stories seen since `since` that share one of `terms`, or have an article with one of `links`."""
        ids = {r[0] for r in self._select_in(
            "SELECT DISTINCT t.story_id FROM story_terms t JOIN stories s ON s.id = t.story_id "
            "WHERE s.last_seen >= ?", "t.term", sorted(set(terms)), params=(_iso(since),))}  # fmt: skip
        by_link: dict[int, set[str]] = defaultdict(set)
        for story_id, link in self._select_in(
            "SELECT story_id, canonical_url FROM articles WHERE story_id IS NOT NULL", "canonical_url",
            sorted(set(filter(None, links))),
        ):  # fmt: skip
            by_link[story_id].add(link)
        ids |= by_link.keys()
        centroids: dict[int, dict[str, float]] = defaultdict(dict)
        for story_id, term, weight in self._select_in(
            "SELECT story_id, term, weight FROM story_terms WHERE 1", "story_id", sorted(ids)
        ):
            centroids[story_id][term] = weight
        profiles = []
        for r in self._select_in("SELECT id, first_seen, last_seen, size, outlets, names FROM stories WHERE 1",
                                 "id", sorted(ids)):  # fmt: skip
            profiles.append(StoryProfile(
                r[0], _dt(r[1]), _dt(r[2]), r[3], set(json.loads(r[4])), centroids[r[0]], set(json.loads(r[5])),
                by_link[r[0]],
            ))  # fmt: skip
        return sorted(profiles, key=lambda p: p.id)

    def next_story_id(self) -> int:
        return self._conn().execute("SELECT COALESCE(max(id), 0) + 1 FROM stories").fetchone()[0]

    def save_stories(self, decisions: Sequence[Decision], stories: Iterable[StoryProfile], corpus: Corpus,
                     loaded_df: dict[str, int], *, forget_before: datetime) -> None:  # fmt: skip
        """Record a grouped batch in one transaction: the stories that changed (and their centroids),
        each article's story and why, the corpus counts; open stories quiet since `forget_before`
        leave the inverted index."""
        with self._tx() as tx:
            for p in stories:
                tx.execute(
                    "INSERT INTO stories (id, first_seen, last_seen, size, outlets, names) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen, "
                    "size = excluded.size, outlets = excluded.outlets, names = excluded.names",
                    (p.id, _iso(p.first_seen), _iso(p.last_seen), p.size, json.dumps(sorted(p.outlets)),
                     json.dumps(sorted(p.names))),
                )  # fmt: skip
                tx.execute("DELETE FROM story_terms WHERE story_id = ?", (p.id,))
                tx.executemany("INSERT INTO story_terms (term, story_id, weight) VALUES (?, ?, ?)",
                               [(term, p.id, w) for term, w in p.centroid.items()])  # fmt: skip
            tx.executemany(
                "UPDATE articles SET story_id = ?, story_reason = ? WHERE id = ?",
                [(d.story_id, json.dumps(d.explained()), d.article_id) for d in decisions],
            )
            tx.executemany(
                "INSERT INTO story_df (term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + ?",
                [(term, n - loaded_df.get(term, 0), n - loaded_df.get(term, 0))
                 for term, n in corpus.df.items() if n != loaded_df.get(term, 0)],
            )  # fmt: skip
            tx.execute("INSERT INTO meta (key, value) VALUES ('story_documents', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(corpus.documents),))  # fmt: skip
            tx.execute("DELETE FROM story_terms WHERE story_id IN (SELECT id FROM stories WHERE last_seen < ?)",
                       (_iso(forget_before),))  # fmt: skip

    def newest_story_seen(self) -> datetime | None:
        return _dt(self._conn().execute("SELECT max(last_seen) FROM stories").fetchone()[0])

    def ungrouped_count(self) -> int:
        return self._conn().execute("SELECT count(*) FROM articles WHERE story_id IS NULL").fetchone()[0]

    def story_sizes(self, story_ids: Sequence[int]) -> dict[int, int]:
        """How many stored articles each story has."""
        return dict(self._select_in("SELECT story_id, count(*) FROM articles WHERE 1", "story_id", story_ids,
                                    " GROUP BY story_id"))  # fmt: skip

    def story_of(self, article_ids: Sequence[int]) -> dict[int, int]:
        return dict(self._select_in("SELECT id, story_id FROM articles WHERE story_id IS NOT NULL", "id", article_ids))

    def story(self, story_id: int) -> StoryRecord | None:
        """A story with its articles (oldest first) and what tied each in."""
        conn = self._conn()
        row = conn.execute("SELECT id, first_seen, last_seen, muted_until FROM stories WHERE id = ?",
                           (story_id,)).fetchone()  # fmt: skip
        if row is None:
            return None
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
        )  # fmt: skip

    def set_story_muted(self, story_id: int, until: datetime | None) -> bool:
        """Mute a story until `until` (None: unmute); False if there is no such story."""
        with self._tx() as tx:
            return tx.execute("UPDATE stories SET muted_until = ? WHERE id = ?", (_iso(until), story_id)).rowcount == 1

    def muted_stories(self, story_ids: Sequence[int], now: datetime) -> set[int]:
        """Which of these stories are muted at `now`."""
        rows = self._select_in("SELECT id FROM stories WHERE muted_until > ?", "id", story_ids, params=(_iso(now),))
        return {r[0] for r in rows}

    def feed_max_ages(self) -> dict[int, int]:
        rows = self._conn().execute("SELECT id, max_age_seconds FROM feeds WHERE max_age_seconds IS NOT NULL")
        return dict(rows.fetchall())


def _index_row(r: tuple) -> IndexRow:
    return IndexRow(
        id=r[0], version=r[1], title=r[2], text=r[3], summary=r[4], feed_title=r[5], group=r[6],
        author=r[7], categories=tuple(json.loads(r[8])), link=r[9], date=datetime.fromisoformat(r[10]),
    )  # fmt: skip


DELIVERY_COLUMNS = """
    d.id, d.alert_id, d.target, d.target_label, d.batch, d.state, d.attempts, d.next_attempt_at,
    d.last_error, d.sent_at
"""
ALERT_COLUMNS = (
    "al.id, al.rule, al.article_id, al.title, al.link, al.published, al.snippet, al.spans, al.created_at, al.story_id"
)


def _delivery(r: tuple) -> Delivery:
    return Delivery(
        id=r[0], alert_id=r[1], target=r[2], label=r[3], batch=r[4], state=r[5], attempts=r[6],
        next_attempt_at=_dt(r[7]), last_error=r[8], sent_at=_dt(r[9]),
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
