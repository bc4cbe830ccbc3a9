import sqlite3

import pytest

from reader.models import ParsedArticle
from reader.store import SCHEMA_VERSION, ArticleFilter, Store, StoreWriteError


def _article(key, title="t", **kw):
    return ParsedArticle(key=key, title=title, link=f"http://x/{key}", content_hash=title, **kw)


def test_schema_versioned_and_reopens(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    assert store.schema_version() == SCHEMA_VERSION
    store.close()
    assert Store(tmp_path / "db.sqlite").schema_version() == SCHEMA_VERSION


def test_wal_mode(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    assert store._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_upsert_new_then_updated_then_unchanged(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    feed, _ = store.add_feed("http://x/feed")
    first = store.upsert_articles(feed.id, [_article("a"), _article("b")], fulltext=False, canonical={})
    assert len(first.new_ids) == 2 and first.updated_ids == []
    again = store.upsert_articles(feed.id, [_article("a", title="t2"), _article("b")], fulltext=False, canonical={})
    assert again.new_ids == [] and again.updated_ids == [first.new_ids[0]]
    # "b" vanished from the feed: it stays in the store
    store.upsert_articles(feed.id, [_article("a", title="t2")], fulltext=False, canonical={})
    assert store.count_articles() == 2
    assert store.article(first.new_ids[0]).title == "t2"


def test_an_entry_read_unchanged_leaves_its_article_as_it_is(tmp_path):
    """An entry the worker read `unchanged` (its raw digest is its article's) writes nothing: no update, no new
    version for the index, nothing to match. One whose raw fields changed but not the article they make records
    its digest only, as does an article stored before digests were (NULL); `known_entries` gives them back."""
    from dataclasses import replace

    store = Store(tmp_path / "db.sqlite")
    feed, _ = store.add_feed("http://x/feed")
    a, b = _article("a"), _article("b", raw_digest=b"b1")
    ids = store.upsert_articles(feed.id, [a, b], fulltext=False, canonical={}).new_ids
    assert store.known_entries(feed.id, 10) == (frozenset(), {"b": b"b1"})
    store.record_matches([], ids)
    store.mark_indexed([(i, 1) for i in ids])

    def versions() -> list[int]:
        return [r[0] for r in store._conn().execute("SELECT version FROM articles ORDER BY id")]

    unchanged = replace(b, title="", link="", content_hash="", unchanged=True)
    again = store.upsert_articles(feed.id, [replace(a, raw_digest=b"a1"), unchanged], fulltext=False, canonical={})
    assert (again.new_ids, again.updated_ids, versions(), store.queued_for_matching()) == ([], [], [1, 1], 0)
    assert store.article(ids[1]).title == "t" and store.count_to_index() == 0
    assert store.known_entries(feed.id, 10) == (frozenset(), {"a": b"a1", "b": b"b1"})
    changed = store.upsert_articles(feed.id, [replace(b, title="t2", content_hash="t2", raw_digest=b"b2")],
                                    fulltext=False, canonical={})  # fmt: skip
    assert changed.updated_ids == [ids[1]] and versions() == [1, 2] and store.queued_for_matching() == 1
    assert store.known_entries(feed.id, 1) == (frozenset(), {"b": b"b2"})  # the newest only


def test_texts_are_stored_once_and_read_back_whole(tmp_path):
    """An article's texts live in `article_texts`; the feed's content (the text) and a Markdown that is the text itself
    are not stored again.
    The feed's text, a changed feed text, a page with formatting and one without all read back as given;
    a feed's change leaves a page's text alone; removing the feed removes the texts."""
    store = Store(tmp_path / "db.sqlite")
    feed, _ = store.add_feed("http://x/feed")
    ids = store.upsert_articles(feed.id, [_article("a", summary="S", content="Long C"),
                                          _article("b", summary="Bee")], fulltext=True, canonical={}).new_ids  # fmt: skip
    a, b = (store.article(i) for i in ids)
    assert (a.summary, a.text, a.markdown, a.text_source) == ("S", "Long C", "Long C", "content")
    assert (b.text, b.markdown, b.text_source) == ("Bee", "Bee", "summary")
    stored = "SELECT markdown, content, content_html FROM article_texts WHERE id = ?"
    assert store._conn().execute(stored, (ids[0],)).fetchone() == ("", "", "")  # the text once, not three times
    store.upsert_articles(feed.id, [_article("a", title="t2", content="Longer C2"), _article("b", summary="Bee")],
                          fulltext=True, canonical={})  # fmt: skip
    assert (store.article(ids[0]).text, store.article(ids[0]).markdown) == ("Longer C2", "Longer C2")
    store.set_fulltext(ids[0], state="done", text="Page text", markdown="**Page** text")
    store.set_fulltext(ids[1], state="done", text="Plain page", markdown="Plain page")
    assert (store.article(ids[0]).text, store.article(ids[0]).markdown) == ("Page text", "**Page** text")
    assert (store.article(ids[1]).text, store.article(ids[1]).markdown) == ("Plain page", "Plain page")
    store.upsert_articles(feed.id, [_article("a", title="t3", summary="S3", content="C3")], fulltext=True, canonical={})
    assert (store.article(ids[0]).text, store.article(ids[0]).summary) == ("Page text", "S3")  # the page stays
    assert [r.text for r in store.articles_to_index()] == ["Page text", "Plain page"]
    store.remove_feed(feed.id)
    assert store._conn().execute("SELECT count(*) FROM article_texts").fetchone()[0] == 0


def test_index_bookkeeping_survives_concurrent_update(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    feed, _ = store.add_feed("http://x/feed")
    ids = store.upsert_articles(feed.id, [_article("a")], fulltext=False, canonical={}).new_ids
    rows = store.articles_to_index()
    assert [r.id for r in rows] == ids
    # the article changes after the indexer read it: marking the old version leaves it pending
    store.upsert_articles(feed.id, [_article("a", title="new")], fulltext=False, canonical={})
    store.mark_indexed([(r.id, r.version) for r in rows])
    assert store.count_to_index() == 1
    rows = store.articles_to_index()
    store.mark_indexed([(r.id, r.version) for r in rows])
    assert store.count_to_index() == 0
    store.remove_feed(feed.id)
    assert store.pending_index_deletions() == ids


def test_iter_articles_pages_through_everything(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    feed, _ = store.add_feed("http://x/feed")
    store.upsert_articles(feed.id, [_article(str(i)) for i in range(700)], fulltext=False, canonical={})
    got = list(store.iter_articles(chunk_size=64))
    assert len(got) == 700 and len({a.id for a in got}) == 700
    assert len(list(store.iter_articles(limit=130, chunk_size=64))) == 130
    store.set_read([got[0].id])
    assert store.count_articles(ArticleFilter(unread=True)) == 699


def test_a_full_database_rolls_back_and_says_so_in_one_error(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    feed, _ = store.add_feed("http://x/feed")
    store.upsert_articles(feed.id, [_article("a")], fulltext=False, canonical={})
    conn = store._conn()
    conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")  # the disk is full
    big = [_article(str(i), title="t" * 2000) for i in range(200)]
    with pytest.raises(StoreWriteError, match=r"database or disk is full\)\. Nothing was lost"):
        store.upsert_articles(feed.id, big, fulltext=False, canonical={})
    assert not conn.in_transaction and store.count_articles() == 1  # rolled back whole; the store goes on
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert len(store.upsert_articles(feed.id, big, fulltext=False, canonical={}).new_ids) == 200


def test_many_feeds_outcomes_in_one_transaction(tmp_path):
    """`record_fetches` stores each feed's own outcome, as one `record_fetch` each would."""
    store = Store(tmp_path / "db.sqlite")
    ok, unchanged, broken = (store.add_feed(f"http://x/{n}")[0] for n in ("ok", "same", "broken"))
    store.record_fetch(unchanged.id, status="ok", etag='"v1"')
    store.record_fetch(broken.id, status="error", error="HTTP 500 Internal Server Error")
    store.record_fetches([
        (ok.id, {"status": "ok", "etag": '"a"', "title": "Ok feed", "new_articles": 2}),
        (unchanged.id, {"status": "not-modified", "keep_validators": True}),
        (broken.id, {"status": "error", "error": "connection refused", "keep_validators": True}),
    ])  # fmt: skip
    ok, unchanged, broken = (store.feed(f.id) for f in (ok, unchanged, broken))
    assert (ok.title, ok.etag, ok.last_status, ok.last_new_at is not None) == ("Ok feed", '"a"', "ok", True)
    assert (unchanged.etag, unchanged.last_status, unchanged.error_count) == ('"v1"', "not-modified", 0)
    assert (broken.last_error, broken.error_count) == ("connection refused", 2)
    with pytest.raises(TypeError):
        store.record_fetches([(ok.id, {"status": "ok", "etga": '"b"'})])  # a misspelt field is refused


def test_a_locked_or_read_only_database_refuses_a_write_in_one_error(tmp_path):
    """Another process's transaction outlasting the wait, or a read-only file, is one StoreWriteError saying
    which and what to do (the CLI prints it in one line; the daemon logs it and goes on), not sqlite3's own."""
    path = tmp_path / "db.sqlite"
    store = Store(path)
    store._conn().execute("PRAGMA busy_timeout = 50")  # the real wait is 30 s
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process mid-write
    with pytest.raises(StoreWriteError, match=r"\(database is locked: another process kept it locked for over 30 s\)"
                                              r"\. Nothing was lost.*once that process is done"):  # fmt: skip
        store.add_feed("http://x/feed")
    other.execute("ROLLBACK")
    store._conn().execute("PRAGMA query_only = 1")  # as a read-only file or directory refuses it
    with pytest.raises(StoreWriteError, match=r"read-only\)\. Nothing was lost.*make them writable"):
        store.add_feed("http://x/feed")
    store._conn().execute("PRAGMA query_only = 0")
    assert store.add_feed("http://x/feed")[1] and len(store.feeds()) == 1


def test_articles_of_a_feed_removed_while_its_fetch_was_under_way_are_dropped_quietly(tmp_path):
    """`feeds remove` takes no writer lock: the fetch's storing finds no feed and stores nothing, no error."""
    store = Store(tmp_path / "reader.sqlite")
    feed, _ = store.add_feed("https://example.org/feed.xml")
    store.remove_feed(feed.id)
    done = store.upsert_articles(feed.id, [ParsedArticle(key="a", title="t", link="https://example.org/a")],
                                 fulltext=False, canonical={})  # fmt: skip
    assert (done.new_ids, done.updated_ids) == ([], []) and list(store.iter_articles()) == []
