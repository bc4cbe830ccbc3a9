"""The feeds table: subscriptions and the outcome of each refresh.

It never fetches: it records what a refresh found."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from ..models import Feed, FetchStatus
from ..urls import normal_feed_url, redact_urls_in
from .db import Database, _dt, _iso, utcnow


class FeedNotFound(LookupError):
    pass


FEED_COLUMNS = """
    f.id, f.url, f.title, f.grp, f.site_url, f.enabled, f.fulltext, f.etag, f.last_modified,
    f.body_hash, f.ttl_seconds, f.next_fetch_after, f.last_fetched_at, f.last_status,
    f.last_error, f.last_new_at, f.error_count
"""


def _feed(row: sqlite3.Row, article_count: int = 0, unread_count: int = 0) -> Feed:
    """A feed as stored; its last error is for people, so a URL quoted in it comes with its credentials masked."""
    return Feed(
        id=row[0], url=row[1], title=row[2], group=row[3], site_url=row[4], enabled=bool(row[5]),
        fulltext=bool(row[6]), etag=row[7], last_modified=row[8], body_hash=row[9],
        ttl_seconds=row[10], next_fetch_after=_dt(row[11]), last_fetched_at=_dt(row[12]),
        last_status=FetchStatus(row[13]) if row[13] else None, last_error=row[14] and redact_urls_in(row[14]),
        last_new_at=_dt(row[15]),
        error_count=row[16], article_count=article_count, unread_count=unread_count,
    )  # fmt: skip


_RECORD_FETCH = f"""
    UPDATE feeds SET
        last_status = ?, last_error = ?, last_fetched_at = ?,
        error_count = CASE WHEN ? = '{FetchStatus.ERROR}' THEN error_count + 1 ELSE 0 END,
        etag = CASE WHEN ? THEN etag ELSE ? END,
        last_modified = CASE WHEN ? THEN last_modified ELSE ? END,
        body_hash = COALESCE(?, body_hash),
        title = CASE WHEN title = '' AND ? IS NOT NULL THEN ? ELSE title END,
        site_url = COALESCE(?, site_url),
        ttl_seconds = COALESCE(?, ttl_seconds),
        next_fetch_after = ?,
        max_age_seconds = COALESCE(?, max_age_seconds),
        last_new_at = CASE WHEN ? > 0 THEN ? ELSE last_new_at END,
        enabled = CASE WHEN ? = '{FetchStatus.GONE}' THEN 0 ELSE enabled END
    WHERE id = ?
"""


def _fetch_params(
    feed_id: int,
    now: str,
    *,
    status: FetchStatus,
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
) -> tuple:
    """The parameters of `_RECORD_FETCH` for one feed's refresh."""
    return (
        status, error, now, status,
        keep_validators, etag, keep_validators, last_modified,
        body_hash, title, title, site_url, ttl_seconds, _iso(next_fetch_after),
        None if max_age_seconds is None else int(max_age_seconds),
        new_articles, now, status, feed_id,
    )  # fmt: skip


class FeedStore(Database):
    """Reads and writes of `feeds`."""

    def add_feed(self, url: str, title: str = "", group: str = "", site_url: str = "") -> tuple[Feed, bool]:
        """Subscribe to `url` (stored as `normal_feed_url` writes it); returns the feed and whether it was new.
        A URL differing from a subscribed one only in the case of its scheme or host, or by a default port, is
        that feed."""
        url = normal_feed_url(url)
        known = self.feed_by_url(url)
        if known is not None:
            return known, False
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
        """The feed of `url` in any spelling `normal_feed_url` makes the same: a database from before it may
        hold `HTTP://Host/feed` as given, or even it and `http://host/feed` as two feeds (the first is found)."""
        key = normal_feed_url(url)
        conn = self._conn()
        row = conn.execute(f"SELECT {FEED_COLUMNS} FROM feeds f WHERE f.url IN (?, ?) ORDER BY f.url != ?, f.id",
                           (key, url, key)).fetchone()  # fmt: skip
        if row is None and (feed_id := self._other_spellings().get(key)) is not None:
            row = conn.execute(f"SELECT {FEED_COLUMNS} FROM feeds f WHERE f.id = ?", (feed_id,)).fetchone()
            row = row if row is not None and normal_feed_url(row[1]) == key else None  # (moved or removed since)
        return _feed(row) if row else None

    def _other_spellings(self) -> dict[str, int]:
        """The feeds stored in a spelling other than `normal_feed_url`'s (by a reader from before it), by that
        form: read once per store, as every URL stored since is stored in that form."""
        spellings = getattr(self, "_spellings", None)
        if spellings is None:
            spellings = {}
            for feed_id, stored in self._conn().execute("SELECT id, url FROM feeds ORDER BY id"):
                if (key := normal_feed_url(stored)) != stored:
                    spellings.setdefault(key, feed_id)
            self._spellings = spellings
        return spellings

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
        url = normal_feed_url(url)
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

    def record_fetch(self, feed_id: int, **outcome) -> None:
        """Store the outcome of one refresh of one feed (the fields: `_fetch_params`)."""
        self.record_fetches([(feed_id, outcome)])

    def record_fetches(self, outcomes: Sequence[tuple[int, dict]]) -> None:
        """Store the outcomes of refreshes of many feeds in one transaction: a fetch's hundreds of 304s
        cost one commit, not one each (and no queue of threads waiting for the write lock)."""
        now = _iso(utcnow())
        with self._tx() as tx:
            tx.executemany(_RECORD_FETCH, [_fetch_params(feed_id, now, **outcome) for feed_id, outcome in outcomes])

    def feed_max_ages(self) -> dict[int, int]:
        rows = self._conn().execute("SELECT id, max_age_seconds FROM feeds WHERE max_age_seconds IS NOT NULL")
        return dict(rows.fetchall())

