"""Make the small database kept as `tests/data/schema/vN.sql`, at the schema version of the code it runs with.

Run `python -m tests.schema_fixture` after adding a migration; to make one at an
earlier version, run it with that version's `reader/` first on the path:

    git archive COMMIT reader | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old:. python -m tests.schema_fixture "the reader at COMMIT"

It fills every table through the store's own API (calls that exist at every
version so far), so the rows are what that reader really wrote, and writes an
SQL dump headed by the pragmas a dump leaves out. Never imported by the reader.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

FIXTURES = Path(__file__).parent / "data" / "schema"
WHEN = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def fill(store_module, store) -> None:
    """One of everything a user's database holds: feeds in each state, articles read, starred, with pages,
    updated and deleted, the index's bookkeeping and, from version 2, alerts with sources and deliveries,
    from version 4, stories, from version 11, each article's raw digest."""
    from reader.models import Enclosure, ParsedArticle

    tech, _ = store.add_feed("https://example.org/feed.xml", title="Exämple — tech", group="Tech",
                             site_url="https://example.org/")  # fmt: skip
    broken, _ = store.add_feed("http://127.0.0.1:8/rss")
    gone, _ = store.add_feed("https://gone.example/atom")
    store.record_fetch(tech.id, status="ok", etag='W/"1"', last_modified="Thu, 19 Nov 2026 08:00:00 GMT",
                       body_hash="b1", ttl_seconds=3600, next_fetch_after=WHEN, new_articles=3)  # fmt: skip
    store.record_fetch(broken.id, status="error", error="HTTP 500 Internal Server Error")
    store.set_feed_options(broken.id, fulltext=False, title="Broken")

    def article(key: str, title: str, **kw) -> ParsedArticle:
        if "raw_digest" in ParsedArticle.__dataclass_fields__:  # version 11
            kw["raw_digest"] = f"raw {key}".encode()
        return ParsedArticle(key=key, title=title, link=f"https://example.org/{key}?utm_source=x",
                             content_hash=f"h-{title}", **kw)  # fmt: skip

    first = [
        article("a1", "DeepSeek and export controls", author="Ann", published=WHEN, summary="Chips ü",
                content="Long content about chips",
                categories=("AI", "Policy"), enclosures=(Enclosure("https://example.org/a1.mp3", "audio/mpeg", 42),)),
        article("a2", "Second 二", updated=WHEN, summary="summary only"),
        article("a3", "Third", published=WHEN),
    ]  # fmt: skip
    canonical = {a.link: a.link.split("?")[0] for a in first}
    ids = store.upsert_articles(tech.id, first, fulltext=True, canonical=canonical).new_ids
    store.upsert_articles(tech.id, [article("a3", "Third, corrected", published=WHEN)], fulltext=True,
                          canonical=canonical)  # fmt: skip  (version 2)
    store.set_fulltext(ids[0], state="done", text="The page's text", markdown="**The page's** text",
                       canonical_url="https://example.org/a1")  # fmt: skip
    store.set_fulltext(ids[1], state="failed", error="HTTP 404 Not Found")
    store.set_read([ids[0], ids[2]])
    store.set_starred(ids[1], True)
    store.mark_indexed([(ids[0], 1), (ids[1], 1)])
    other = store.upsert_articles(broken.id, [article("b1", "DeepSeek, again")], fulltext=False,
                                  canonical={}).new_ids  # fmt: skip
    store.upsert_articles(gone.id, [article("g1", "Gone")], fulltext=True, canonical={})
    store.remove_feed(gone.id)  # leaves its article in index_deletions
    store.set_meta("index_schema", "7")

    if not hasattr(store, "record_matches"):  # version 1 had no alerts
        return
    store.arm_rules({"deepseek": WHEN, "digest": WHEN})
    plans = (
        store_module.DeliveryPlan("t-json", "json://hooks.example/hook/…", "pending", WHEN),
        store_module.DeliveryPlan("t-mail", "mailto://…@example.org", "held", WHEN, batch="digest 2026-11-20"),
    )
    alert = store_module.NewAlert(rule="deepseek", article_id=ids[0], canonical_url="https://example.org/a1",
                                  title="DeepSeek and export controls", link=first[0].link, published=WHEN,
                                  feed_title="Exämple — tech", snippet="DeepSeek and export", spans=((0, 8),),
                                  deliveries=plans)  # fmt: skip
    joining = store_module.NewAlert(rule="deepseek", article_id=other[0], canonical_url="https://example.org/a1",
                                    title="DeepSeek, again", link="https://example.org/b1", published=None,
                                    feed_title="Broken", snippet="", spans=(), deliveries=())  # fmt: skip
    lone = store_module.NewAlert(rule="digest", article_id=ids[2], canonical_url="https://example.org/a3",
                                 title="Third", link=first[2].link, published=WHEN, feed_title="Exämple — tech",
                                 snippet="Third", spans=(), deliveries=(plans[0],))  # fmt: skip
    created, _ = store.record_matches([alert, joining, lone], [ids[0], other[0], ids[2]])
    deliveries = {(d.alert_id, d.target): d.id for a in store.alerts_by_ids(created).values() for d in a.deliveries}
    store.delivery_failed([deliveries[(created[0], "t-json")]], error="HTTP 500", retry_at=WHEN)
    store.delivery_sent([deliveries[(created[1], "t-json")]], WHEN)

    if not hasattr(store, "save_stories"):  # stories came with version 4
        return
    from reader.ingest import group_stories

    group_stories(store)  # every article gets its story, the grouper's tables fill
    store.set_story_muted(store.story_of([ids[1]])[ids[1]], WHEN)


def dump(path: Path, version: int, application_id: int, made_by: str) -> str:
    conn = sqlite3.connect(path)
    lines = [f"-- A reader database at schema version {version}, made by {made_by} with tests/schema_fixture.py.",
             f"PRAGMA application_id = {application_id};", f"PRAGMA user_version = {version};"]  # fmt: skip
    lines += conn.iterdump()
    conn.close()
    return "\n".join(lines) + "\n"


def main() -> None:
    import reader.store as store_module

    if len(sys.argv) > 1:
        made_by = sys.argv[1]
    else:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
        made_by = f"the reader at {head.strip()}"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reader.sqlite"
        store = store_module.Store(path)
        version = store.schema_version()
        fill(store_module, store)
        store.close()  # the last connection: SQLite folds the WAL into the file
        text = dump(path, version, store_module.APPLICATION_ID, made_by)
    where = Path(store_module.__file__).resolve().parent
    FIXTURES.mkdir(parents=True, exist_ok=True)
    target = FIXTURES / f"v{version}.sql"
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({len(text):,} bytes, from {where})", file=sys.stderr)


if __name__ == "__main__":
    main()
