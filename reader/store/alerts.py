"""The alerts tables: the match queue, rules' arming times, alerts, their sources and the outbox.

It only records: it never matches or sends (that is `reader.alerts`), and never holds a target's URL (its key)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from ..models import (
    Alert, AlertSource, Delivery, DeliveryPlan, DeliveryState, FulltextState, MatchCandidate, NewAlert, SourceJoin,
)  # fmt: skip
from .db import Database, _dt, _iso, utcnow


DELIVERY_COLUMNS = """
    d.id, d.alert_id, d.target, d.target_label, d.batch, d.state, d.attempts, d.next_attempt_at,
    d.last_error, d.sent_at
"""
# Held or pending, written as literals so that the planner uses the partial index `deliveries_due`.
REFUSED = "(the target refused this message: it is retried alone)"  # ends last_error: it holds no other back
WAITING = f"('{DeliveryState.HELD}', '{DeliveryState.PENDING}')"
ALERT_COLUMNS = (
    "al.id, al.rule, al.article_id, al.title, al.link, al.published, al.snippet, al.spans, al.created_at, al.story_id"
)


def _delivery(r: tuple) -> Delivery:
    return Delivery(
        id=r[0], alert_id=r[1], target=r[2], label=r[3], batch=r[4], state=DeliveryState(r[5]),
        attempts=r[6], next_attempt_at=_dt(r[7]), last_error=r[8], sent_at=_dt(r[9]),
    )  # fmt: skip


class AlertStore(Database):
    """Reads and writes of `match_queue`, `rule_state`, `alerts`, `alert_sources` and `deliveries`."""

    def alert_ids(self, after_id: int = 0) -> list[int]:
        """Ids of the alerts newer than `after_id`, newest first: the TUI's Alerts list, and its toasts."""
        rows = self._conn().execute(
            "SELECT id FROM alerts WHERE id > ? ORDER BY created_at DESC, id DESC", (after_id,)
        )
        return [r[0] for r in rows]

    # -- the match queue, alerts and their deliveries ---------------------------------

    def articles_to_match(self, *, wait_for_pages: bool = True) -> list[MatchCandidate]:
        """Queued new articles that are indexed at their current version and grouped into their story (and,
        if asked, have their page). An article stored while a landing runs waits for the next one: matched
        before it is grouped, it would alert again for a story that already has its alert."""
        pages = f"AND a.fulltext_state != '{FulltextState.PENDING}'" if wait_for_pages else ""
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
        return self.armed(list(first_seen))

    def armed(self, rules: Sequence[str]) -> dict[str, datetime]:
        """When each of these rules was armed, for those armed ever (a rule whose file never loaded never was)."""
        rows = self._select_in("SELECT rule, armed_at FROM rule_state WHERE 1", "rule", list(rules))
        return {rule: _dt(armed) for rule, armed in rows}

    def match_candidates(self, article_ids: Sequence[int]) -> list[MatchCandidate]:
        """These articles (those still stored and grouped) as candidates for matching, arrived when first seen:
        the articles a rule missed while it could not be matched, met again when it can."""
        rows = self._select_in("SELECT id, feed_id, 0, first_seen, COALESCE(published, updated), story_id "
                               "FROM articles WHERE story_id IS NOT NULL", "id", sorted(article_ids),
                               " ORDER BY id")  # fmt: skip
        return [MatchCandidate(r[0], r[1], bool(r[2]), _dt(r[3]), _dt(r[4]), r[5]) for r in rows]

    def story_alerts(self, story_ids: Sequence[int]) -> set[tuple[str, int]]:
        """(rule, story) of the alerts these stories already have."""
        return set(self._select_in("SELECT rule, story_id FROM alerts WHERE 1", "story_id", sorted(story_ids)))

    def story_coverage(self, story_ids: Sequence[int]) -> list[tuple[int, int, int, str, str]]:
        """(story, article, feed, feed title, link) of every article of these stories, oldest first: a story's
        coverage so far, whenever it arrived."""
        return self._select_in("SELECT a.story_id, a.id, a.feed_id, f.title, a.link FROM articles a "
                               "JOIN feeds f ON f.id = a.feed_id WHERE 1", "a.story_id", sorted(story_ids),
                               " ORDER BY a.sort_date, a.id")  # fmt: skip

    def copies(self, article_ids: Sequence[int]) -> dict[int, list[int]]:
        """Each article's copies brought by another subscription of its feed (the feed subscribed twice, or
        under two URLs): the articles of feeds with the same title that have its key (its guid, else its link)
        and its title (so that two feeds both called "News" with guids "1", "2"… are not taken for one).
        Costs one read of the feeds when no two share a title (the usual case)."""
        titles: dict[str, list[int]] = {}
        for feed_id, title in self._conn().execute("SELECT id, title FROM feeds WHERE title != ''"):
            titles.setdefault(title, []).append(feed_id)
        twinned = sorted(feed_id for ids in titles.values() if len(ids) > 1 for feed_id in ids)
        if not twinned:
            return {}
        found: dict[int, list[int]] = {}
        for article_id, copy in self._select_in(
            "SELECT c.id, o.id FROM articles c CROSS JOIN feeds cf ON cf.id = c.feed_id "  # (in this order: by
            "CROSS JOIN feeds tf ON tf.title = cf.title AND tf.id != cf.id "  # the ids, never a scan of articles)
            "CROSS JOIN articles o ON o.feed_id = tf.id AND o.key = c.key AND o.title = c.title "
            f"WHERE c.feed_id IN ({','.join(map(str, twinned))})", "c.id", article_ids,
        ):  # fmt: skip
            found.setdefault(article_id, []).append(copy)
        return {article_id: sorted(copies) for article_id, copies in found.items()}

    def source_alerts(self, article_ids: Sequence[int]) -> dict[tuple[str, int], int]:
        """(rule, article) -> the id of the rule's alert that article is a source of."""
        rows = self._select_in("SELECT al.rule, s.article_id, al.id FROM alert_sources s "
                               "JOIN alerts al ON al.id = s.alert_id WHERE 1", "s.article_id", article_ids)  # fmt: skip
        return {(rule, article_id): alert_id for rule, article_id, alert_id in rows}

    def record_matches(self, alerts: Sequence[NewAlert], matched_ids: Sequence[int],
                       joins: Sequence[SourceJoin] = (), meta: dict[str, str] | None = None,
                       ) -> tuple[list[int], int]:  # fmt: skip
        """Record new alerts and the sources joining alerts, with their deliveries, and take `matched_ids`
        off the queue, in one transaction (the outbox); `meta` values are written in it too (what the
        rules left out of the batch still owe).

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
                    if a.outlets <= 1:  # it goes out now; else once its story has `outlets` outlets
                        self._insert_deliveries(tx, alert_id, a.deliveries)
                    else:
                        self._first_deliveries(tx, alert_id, a.deliveries, a.outlets)
                else:
                    alert_id = self._existing_alert(tx, a)
                    if self._add_source(tx, alert_id, a.article_id, a.feed_title, a.link):
                        joined += 1
                        self._first_deliveries(tx, alert_id, a.deliveries, a.outlets)
            for j in joins:
                row = (j.alert_id,) if j.alert_id else tx.execute(
                    "SELECT id FROM alerts WHERE rule = ? AND story_id = ?", (j.rule, j.story_id)
                ).fetchone()  # fmt: skip
                if row is None:
                    continue
                new_outlet = not self._has_outlet(tx, row[0], j.feed_title)
                if not self._add_source(tx, row[0], j.article_id, j.feed_title, j.link):
                    continue
                joined += 1
                if not self._first_deliveries(tx, row[0], j.first, j.outlets) and new_outlet:
                    self._insert_deliveries(tx, row[0], j.updates)  # (a later outlet; not one already a source)
            tx.executemany("DELETE FROM match_queue WHERE article_id = ?", [(i,) for i in matched_ids])
            tx.executemany("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = ?",
                           [(key, value, value) for key, value in (meta or {}).items()])  # fmt: skip
        return created, joined

    @staticmethod
    def merge_story_alerts(tx: sqlite3.Connection, kept: int, gone: int) -> None:
        """Story `gone` merged into `kept` (reader/stories.py): its alerts become the merged story's, one per
        rule. Where both parts have one for a rule, the one that went out (has deliveries; the kept part's if
        both did) is the story's from now on, so the rule never alerts again; the other stays where it was,
        and if it never went out its sources join the story's alert (`outlets = N` counts the whole story)."""
        both = tx.execute(
            "SELECT k.id, g.id, EXISTS (SELECT 1 FROM deliveries WHERE alert_id = k.id), "
            "EXISTS (SELECT 1 FROM deliveries WHERE alert_id = g.id) "
            "FROM alerts k JOIN alerts g ON g.rule = k.rule AND g.story_id = ? WHERE k.story_id = ?",
            (gone, kept),
        ).fetchall()
        for kept_alert, gone_alert, kept_out, gone_out in both:
            story_alert, other, other_out = kept_alert, gone_alert, gone_out
            if gone_out and not kept_out:  # swap which alert is whose story (the unique index allows NULLs)
                story_alert, other, other_out = gone_alert, kept_alert, kept_out
                tx.execute("UPDATE alerts SET story_id = NULL WHERE id = ?", (kept_alert,))
                tx.execute("UPDATE alerts SET story_id = ? WHERE id = ?", (kept, gone_alert))
                tx.execute("UPDATE alerts SET story_id = ? WHERE id = ?", (gone, kept_alert))
            if not other_out:
                tx.execute("INSERT OR IGNORE INTO alert_sources (alert_id, article_id, feed_title, link) SELECT ?, "
                           "article_id, feed_title, link FROM alert_sources WHERE alert_id = ? ORDER BY rowid",
                           (story_alert, other))  # fmt: skip
        tx.execute("UPDATE OR IGNORE alerts SET story_id = ? WHERE story_id = ?", (kept, gone))

    @staticmethod
    def _has_outlet(tx: sqlite3.Connection, alert_id: int, feed_title: str) -> bool:
        return tx.execute("SELECT 1 FROM alert_sources WHERE alert_id = ? AND feed_title = ?",
                          (alert_id, feed_title)).fetchone() is not None  # fmt: skip

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
        """The new alert's id; None if the rule has one for this article, canonical URL or story already."""
        cur = tx.execute(
            """
            INSERT INTO alerts (rule, article_id, canonical_url, title, link, published, snippet, spans, created_at,
                                story_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """,
            (a.rule, a.article_id, a.canonical_url, a.title, a.link, _iso(a.published), a.snippet,
             json.dumps([list(s) for s in a.spans]), _iso(utcnow()), a.story_id),
        )  # fmt: skip
        return cur.lastrowid if cur.rowcount else None

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
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.state IN {WAITING} "
            "AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?",
            (_iso(now), limit),
        ).fetchall()
        return [_delivery(r) for r in rows]

    def next_delivery_at(self) -> datetime | None:
        """When the next held or pending delivery falls due."""
        row = self._conn().execute(
            f"SELECT min(next_attempt_at) FROM deliveries WHERE state IN {WAITING}"
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
            tx.executemany(
                f"UPDATE deliveries SET state = '{DeliveryState.HELD}', batch = ?, next_attempt_at = ? WHERE id = ?",
                [(batch, _iso(until), i) for i in ids],
            )

    def delivery_sent(self, ids: Sequence[int], at: datetime) -> None:
        with self._tx() as tx:
            tx.executemany(
                f"UPDATE deliveries SET state = '{DeliveryState.SENT}', sent_at = ?, attempts = attempts + 1, "
                "last_error = NULL WHERE id = ?",
                [(_iso(at), i) for i in ids],
            )

    def delivery_failed(self, ids: Sequence[int], *, error: str, retry_at: datetime | None) -> None:
        """Count a failed attempt: retried at `retry_at`, or given up (FAILED) when it is None."""
        state = DeliveryState.PENDING if retry_at else DeliveryState.FAILED
        with self._tx() as tx:
            tx.executemany(
                "UPDATE deliveries SET state = ?, attempts = attempts + 1, last_error = ?, "
                "next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
                [(state, error, _iso(retry_at), i) for i in ids],
            )

    def target_retry_at(self, target: str, now: datetime) -> datetime | None:
        """When a message `target` failed (unreachable: not one it refused for what it says) is tried again, if
        after `now`: its later messages wait for it."""
        row = self._conn().execute(
            f"SELECT min(next_attempt_at) FROM deliveries WHERE state IN {WAITING} AND next_attempt_at > ? "
            f"AND state = '{DeliveryState.PENDING}' AND attempts > 0 AND target = ? AND coalesce(last_error, '') "
            "NOT LIKE ?", (_iso(now), target, f"%{REFUSED}"),
        ).fetchone()  # fmt: skip
        return _dt(row[0])

    def requeue_given_up(self, target: str, *, attempts: int, since: datetime, at: datetime) -> int:
        """Make the deliveries to `target` given up after `attempts` attempts whose last one was due from `since`
        on due `at` again (the target accepts messages again), once: they keep their count, so one more failure
        gives them up for good (`attempts` + 1, never requeued again; `reader alerts retry` still sends them)."""
        with self._tx() as tx:
            return tx.execute(
                f"UPDATE deliveries SET state = '{DeliveryState.PENDING}', next_attempt_at = ? "
                f"WHERE target = ? AND state = '{DeliveryState.FAILED}' AND attempts = ? AND next_attempt_at >= ?",
                (_iso(at), target, attempts, _iso(since)),
            ).rowcount

    def postpone_deliveries(self, ids: Sequence[int], *, until: datetime, note: str) -> None:
        """Try again later without counting an attempt (nothing was sent)."""
        with self._tx() as tx:
            tx.executemany("UPDATE deliveries SET next_attempt_at = ?, last_error = ? WHERE id = ?",
                           [(_iso(until), note, i) for i in ids])  # fmt: skip

    def retry_deliveries(self, now: datetime) -> int:
        """Make every failed or pending delivery due now, with a fresh count of attempts (held ones keep their time)."""
        with self._tx() as tx:
            return tx.execute(
                f"UPDATE deliveries SET state = '{DeliveryState.PENDING}', attempts = 0, next_attempt_at = ? "
                f"WHERE state IN ('{DeliveryState.FAILED}', '{DeliveryState.PENDING}')",
                (_iso(now),),
            ).rowcount
