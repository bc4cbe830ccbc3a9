"""The schema grows safely: a database made at every earlier version upgrades with nothing lost; a newer one is
refused. The fixtures in tests/data/schema/ were made by the reader of each version (tests/schema_fixture.py)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from reader.store import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, Store
from tests.clirun import reader
from tests.schema_fixture import FIXTURES


def load(version: int, path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript((FIXTURES / f"v{version}.sql").read_text(encoding="utf-8"))
    conn.close()
    return path


def rows(path: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table's columns and rows, ordered by their columns in turn (a table rebuilt without rowids keeps
    its rows, not their rowid order)."""
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    found = {}
    for table in tables:
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        order = ", ".join(str(i) for i in range(1, len(columns) + 1))
        found[table] = (columns, conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall())
    conn.close()
    return found


def schema(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    found = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    conn.close()
    return found


def test_migrations_are_numbered_steps():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert SCHEMA_VERSION == len(MIGRATIONS)


def test_a_fixture_for_every_version():
    """Adding a migration means committing a database made at it (`python -m tests.schema_fixture`)."""
    assert sorted(p.name for p in FIXTURES.glob("v*.sql")) == sorted(f"v{v}.sql" for v in range(1, SCHEMA_VERSION + 1))


# Columns that moved to a table of their own, keyed by the same id: (table, id column) -> (new table, its id column).
MOVED = {("articles", "id"): ("article_texts", "id")}  # schema 9


def with_moved(path: Path, found: dict[str, tuple[list[str], list[tuple]]]) -> dict[str, tuple[list[str], list[tuple]]]:
    """`found` (the tables of the upgraded database at `path`) with the moved columns read back in their old
    tables, after the columns there (the old rows must be there whole)."""
    conn = sqlite3.connect(path)
    for (table, key), (moved, moved_key) in MOVED.items():
        columns, _ = found[table]
        extra = [c for c in found[moved][0] if c != moved_key]
        picked = ", ".join([*(f"a.{c}" for c in columns), *(f"m.{c}" for c in extra)])
        order = ", ".join(str(i) for i in range(1, len(columns) + len(extra) + 1))
        found[table] = ([*columns, *extra], conn.execute(
            f"SELECT {picked} FROM {table} a JOIN {moved} m ON m.{moved_key} = a.{key} ORDER BY {order}").fetchall())
    conn.close()
    return found


def rewritten(version: int, table: str, columns: list[str], old_rows: list[tuple]) -> list[tuple]:
    """The rows as a step rewrites them: schema 10 masks delivery labels as the reader does today."""
    if table != "deliveries" or version >= 10:
        return old_rows
    from reader.targets import redact

    label = columns.index("target_label")
    return sorted(tuple(redact(v) if i == label else v for i, v in enumerate(r)) for r in old_rows)


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION + 1))
def test_upgrade_from_each_version_loses_nothing(tmp_path, version):
    path = load(version, tmp_path / "reader.sqlite")
    before = rows(path)
    assert sum(len(r) for _, r in before.values()) >= 8  # the fixture really holds data
    store = Store(path)
    assert store.schema_version() == SCHEMA_VERSION
    store.close()
    after = with_moved(path, rows(path))
    for table, (columns, old_rows) in before.items():
        new_columns, new_rows = after[table]
        old_rows = rewritten(version, table, columns, old_rows)
        kept = [new_columns.index(c) for c in columns]  # columns are only ever added, or moved (MOVED)
        assert [tuple(r[i] for i in kept) for r in new_rows] == old_rows, table
    # The upgraded schema is exactly the one a new database gets: no step forgotten, none edited after shipping.
    assert schema(path) == schema(Store(tmp_path / "fresh.sqlite").path)


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION + 1))
def test_upgraded_database_reads_and_writes_through_the_store(tmp_path, version):
    store = Store(load(version, tmp_path / "reader.sqlite"))
    feeds = {f.url: f for f in store.feeds(with_counts=True)}
    tech = feeds["https://example.org/feed.xml"]
    assert (tech.title, tech.group, tech.last_status, tech.article_count, tech.unread_count) == (
        "Exämple — tech", "Tech", "ok", 3, 1,
    )  # fmt: skip
    assert feeds["http://127.0.0.1:8/rss"].last_status == "error"
    articles = {a.key: a for a in store.iter_articles(with_text=True)}
    assert articles["a1"].text_source == "page" and articles["a1"].read and articles["a1"].categories == ("AI", "Policy")
    assert articles["a2"].starred and not articles["a2"].read
    assert store.count_to_index() == 3 and len(store.pending_index_deletions()) == 1
    digests = {key: f"raw {key}".encode() for key in ("a1", "a2", "a3")} if version >= 11 else {}
    assert store.known_entries(tech.id, 10)[1] == digests  # before schema 11, none: each entry is converted once
    alerts = store.recent_alerts()
    if version >= 2:
        by_rule = {a.rule: a for a in alerts}
        assert [s.feed_title for s in by_rule["deepseek"].sources] == ["Exämple — tech", "Broken"]
        assert (by_rule["deepseek"].state, by_rule["digest"].state) == ("pending", "sent")
    else:
        assert alerts == []
    # and it takes new writes
    feed, _ = store.add_feed("https://new.example/feed")
    store.record_fetch(feed.id, status="ok", new_articles=1, max_age_seconds=60)
    assert store.feed_max_ages()[feed.id] == 60


def test_a_newer_database_is_refused_and_left_unchanged(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    path = load(SCHEMA_VERSION, data / "reader.sqlite")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.execute("CREATE TABLE from_the_future (x)")
    conn.close()
    before = (rows(path), schema(path))
    run = reader("feeds", "list", data=data)
    err = " ".join(run.err.split())  # stderr wraps long messages at the terminal's width
    assert run.code == 1 and "Traceback" not in err
    assert f"schema version {SCHEMA_VERSION + 1}, newer than this reader knows ({SCHEMA_VERSION})" in err
    assert "upgrade the reader" in err
    assert (rows(path), schema(path)) == before


def test_another_programs_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 7")
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(Exception, match="belongs to another program"):
        Store(path)
    assert APPLICATION_ID != 7


def test_an_upgrade_says_so_once_before_it_runs(tmp_path):
    """A step may rewrite every article (minutes on a large database): the user is told, once, not left waiting."""
    data = tmp_path / "data"
    data.mkdir()
    load(SCHEMA_VERSION - 1, data / "reader.sqlite")
    first = reader("feeds", "list", data=data)
    err = " ".join(first.err.split())
    assert first.code == 0, first.err
    assert f"upgrading the database {data / 'reader.sqlite'} from version {SCHEMA_VERSION - 1} to {SCHEMA_VERSION}" in err
    again = reader("feeds", "list", data=data)
    assert again.code == 0 and "upgrading" not in again.err


def test_an_sqlite_too_old_to_drop_columns_keeps_them_blank_and_works(tmp_path, monkeypatch):
    """SQLite before 3.35 cannot drop a column (step 9 drops the moved texts'): the step keeps them, blank."""
    from reader.models import ParsedArticle
    from reader.store import db

    monkeypatch.setattr(db, "DROPS_COLUMNS", False)
    store = Store(load(8, tmp_path / "reader.sqlite"))
    columns = [r[1] for r in store._conn().execute("PRAGMA table_info(articles)")]
    assert "text" in columns and store.schema_version() == SCHEMA_VERSION
    feed, _ = store.add_feed("https://new.example/feed")
    store.upsert_articles(feed.id, [ParsedArticle(key="n", title="New", link="https://new.example/n", content="Body")],
                          fulltext=False, canonical={})  # fmt: skip
    assert {a.key: a.text for a in store.iter_articles(with_text=True)}["n"] == "Body"
    assert {a.key: a.text for a in store.iter_articles(with_text=True)}["a1"]  # moved, not lost


def test_schema_10_names_the_surviving_story_of_every_merged_id_and_masks_old_delivery_labels(tmp_path):
    """A version-9 database as its reader left it: story 3 merged into 2, then 2 into 1 (`StoryStore._merge`), an
    alert recording story 3, and a delivery label stored with its webhook token whole (before masking)."""
    (tmp_path / "data").mkdir()
    path = load(9, tmp_path / "data" / "reader.sqlite")
    secret = "json://hooks.example/services/T0A1B2C3/hunter2hunter2?token=s3cr3tvalue"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE articles SET story_id = 1 WHERE story_id IN (2, 3)")
        conn.execute("UPDATE stories SET merged_into = 2 WHERE id = 3")
        conn.execute("UPDATE stories SET merged_into = 1 WHERE id = 2")
        conn.execute("UPDATE alerts SET story_id = 3 WHERE id = 2")
        conn.execute("UPDATE deliveries SET target_label = ?, last_error = ? WHERE id = 1",
                     (secret, f"could not reach {secret}: HTTP 500"))  # fmt: skip
        given_up = {"kind": "delivery_failed", "subject": "t-json", "title": f"Alerts not delivered: {secret}",
                    "detail": f"'DeepSeek' could not be delivered to {secret} after 5 attempts", "since": "2026-11-20"}
        conn.execute("INSERT INTO meta (key, value) VALUES ('health', ?)", (json.dumps({"x": given_up}),))
    conn.close()
    store = Store(path)
    assert [store.current_story(n) for n in (1, 2, 3, 4)] == [1, 1, 1, 4]
    store.close()
    data = path.parent
    shown = reader("stories", "show", "3", data=data)
    assert shown.code == 0 and "story 3 was merged into story 1, which holds its articles" in shown.out, shown.err
    assert "DeepSeek and export controls" in shown.out and "Third, corrected" in shown.out
    assert reader("stories", "show", "3", "--json", data=data).json()["id"] == 1
    alerts = {a["id"]: a for a in reader("alerts", "--json", data=data).json()}
    assert alerts[2]["story"] == 1
    listed = reader("alerts", "--json", data=data).out
    assert "hunter2" not in listed and "s3cr3t" not in listed and "T0A1B2C3" not in listed
    assert "json://hooks.example/services/****" in listed
    doctor = reader("doctor", data=data).out
    assert "Alerts not delivered: json://hooks.example/services/****" in doctor and "hunter2" not in doctor
    assert reader("stories", "mute", "2", data=data).code == 0
    assert "muted until" in reader("stories", "show", "1", data=data).out
