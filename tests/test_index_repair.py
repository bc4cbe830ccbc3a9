"""A damaged index heals itself from the store: through `reader daemon --once`, `reader search`
and `reader index check` on a local feed and a local json:// endpoint, and through the pipeline
while a large rebuild goes on."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reader.health import watch
from reader.index import SearchIndex, parse_query
from reader.index.repair import rebuild_progress
from reader import ingest as ingest_module
from reader.ingest import PARALLEL_INDEX_ROWS, index_backlog, ingest, run_ingest, update_index, worker_pool, writer
from reader.models import ParsedArticle
from reader.rules import write_rule
from reader.store import Store
from tests.clirun import reader
from tests.feedgen import Item, recent, rss
from tests.test_alerts import HTML, RSS, Endpoint, subscribe

QUERY = 'DeepSeek AND "export controls"'
FIRST = "DeepSeek hit by new export controls"
SECOND = "Huawei ships Ascend chips to new data centres"  # another story, for the second rule
SECOND_TEXT = "Huawei ships its Ascend chips to three new data centres."
EXPECTED = sorted([f"DeepSeek controls: {FIRST}", f"Huawei chips: {SECOND}"])


class Feed:
    """One feed on the local server, its articles' pages served too; items can be added between cycles."""

    def __init__(self, server, fillers: int = 12, path: str = "/feed.xml"):
        self.server, self.path, self.items = server, path, []
        for k in range(fillers):
            self.add(f"Chip story {k}", f"Foundries and chips, story number {k}.")

    def add(self, title: str, text: str) -> None:
        path = f"/a{self.path.split('.')[0]}-{len(self.items)}.html"
        page = f"<html><body><article><h1>{title}</h1><p>{text} " + "More on the supply chain. " * 20
        self.server.route(path, page + "</p></article></body></html>", headers=HTML)
        self.items.append(Item(title, self.server.url(path), text, published=recent(1)))
        self.url = self.server.route(self.path, rss(self.items, title="Chip Wire"), headers=RSS)


@pytest.fixture
def world(http_server, settings):
    feed = Feed(http_server)
    feed.add(FIRST, "DeepSeek is hit by new export controls on chips.")
    subscribe(settings, feed.url)
    endpoint = Endpoint(http_server)
    write_rule(settings.rules_dir, "deepseek", query=QUERY, notify=[endpoint.url], title="DeepSeek controls")
    write_rule(settings.rules_dir, "huawei", query="Huawei AND Ascend", notify=[endpoint.url], title="Huawei chips")
    return settings, feed, endpoint


def second_feed(settings, server) -> None:
    """A feed subscribed between two cycles, with a new matching article (it is due at once)."""
    feed = Feed(server, fillers=0, path="/second.xml")
    feed.add(SECOND, SECOND_TEXT)
    assert cli(settings, "feeds", "add", feed.url).code == 0


def cli(settings, *args: str, **env: str):
    return reader(*args, data=settings.data_dir, config=settings.config_dir, **env)


def segment_files(index_dir: Path) -> dict[str, list[Path]]:
    """The files of each segment the index holds, largest segment first."""
    segments: dict[str, list[Path]] = {}
    for path in index_dir.iterdir():
        if not path.name.startswith("_") and "." in path.name:
            segments.setdefault(path.name.split(".")[0], []).append(path)
    return dict(sorted(segments.items(), key=lambda kv: -sum(p.stat().st_size for p in kv[1])))


def truncate_term_table_and_ids(index_dir: Path) -> None:
    files = next(iter(segment_files(index_dir).values()))
    for path in files:
        if path.name.endswith((".trm", ".id.col")):
            os.truncate(path, path.stat().st_size // 2)


def delete_postings(index_dir: Path) -> None:
    next(p for p in next(iter(segment_files(index_dir).values())) if p.suffix == ".pst").unlink()


def delete_a_segment(index_dir: Path) -> None:
    """The table of contents names files that are gone."""
    for path in next(iter(segment_files(index_dir).values())):
        path.unlink()


def crash_mid_commit(index_dir: Path) -> None:
    """What a crash leaves half-way through a commit: a new segment's files, and the next
    table of contents cut short."""
    toc = max(index_dir.glob("_articles_v*_*.toc"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    prefix, generation = toc.stem.rsplit("_", 1)
    for path in next(iter(segment_files(index_dir).values())):
        shutil.copy(path, index_dir / path.name.replace(path.name.split(".")[0], f"{prefix[1:]}_halfwritten"))
    (index_dir / f"{prefix}_{int(generation) + 1}.toc").write_bytes(toc.read_bytes()[: toc.stat().st_size // 3])


DAMAGE = [truncate_term_table_and_ids, delete_postings, delete_a_segment, crash_mid_commit]


@pytest.mark.parametrize("damage", DAMAGE, ids=[d.__name__ for d in DAMAGE])
def test_a_damaged_index_is_rebuilt_and_the_next_alert_arrives_once(world, damage):
    settings, feed, endpoint = world
    first = cli(settings, "daemon", "--once")
    assert first.code == 0, first.err
    assert endpoint.titles() == [f"DeepSeek controls: {FIRST}"]

    damage(settings.index_dir)
    second_feed(settings, feed.server)
    second = cli(settings, "daemon", "--once")
    assert second.code == 0, second.err
    assert "Traceback" not in second.err
    told = [line for line in second.err.splitlines() if "search index" in line.lower()]
    assert len(told) == 2, second.err  # the damage in one line, and the end of the repair
    assert "WARNING: Search index damaged: " in told[0] and "rebuilding it from the database" in told[0]
    assert "recovered: Search index damaged" in told[1]
    assert endpoint.titles() == EXPECTED  # once each

    found = cli(settings, "search", "--json", "--limit", "100", "chips")
    assert found.code == 0, found.err
    assert len(found.json()) == 12 + 2  # every article is searchable again


def test_search_repairs_a_damaged_index_itself_when_no_one_else_writes(world):
    settings, _feed, _endpoint = world
    assert cli(settings, "fetch").code == 0
    delete_postings(settings.index_dir)
    found = cli(settings, "search", "--json", "--limit", "100", "chips")
    assert found.code == 0, found.err
    assert len(found.json()) == 13
    assert "Traceback" not in found.err
    told = [line for line in found.err.splitlines() if "search index" in line.lower()]
    assert len(told) == 1 and "Search index damaged: " in told[0] and ".pst is missing" in told[0], found.err


def test_index_check_says_what_is_wrong(world):
    settings, _feed, _endpoint = world
    assert cli(settings, "fetch").code == 0
    check = cli(settings, "index", "check")
    assert check.code == 0 and "13 in the index, 13 in the database, 0 waiting" in check.out
    assert "13 of 13 sampled articles found" in check.out
    files_only = cli(settings, "index", "check", "--sample", "0")  # files and articles, no word looked up
    assert files_only.code == 0 and "13 in the index, 13 in the database" in files_only.out, files_only.err
    truncate_term_table_and_ids(settings.index_dir)
    check = cli(settings, "index", "check")
    assert check.code == 1
    assert "files: damaged:" in check.out and "were written" in check.out
    assert "repairs it from the database" in check.out and "Traceback" not in check.err


def test_during_a_large_rebuild_new_articles_are_indexed_and_alerted_first(world, caplog):
    settings, feed, endpoint = world
    run_ingest(settings)
    store = Store(settings.db_path)
    fillers = [ParsedArticle(key=f"old-{k}", title=f"Old chip story {k}", link=f"http://127.0.0.1:9/old/{k}",
                             summary=f"Foundries and chips, old story {k}.") for k in range(PARALLEL_INDEX_ROWS + 500)]
    store.upsert_articles(1, fillers, fulltext=False, canonical={})
    store.close()
    run_ingest(settings)  # indexes them (none alerts: they hold no DeepSeek)
    delete_postings(settings.index_dir)
    feed.add(SECOND, SECOND_TEXT)

    caplog.set_level(logging.INFO, logger="reader")
    with worker_pool() as pool, writer(settings) as (store, index):
        report = asyncio.run(ingest(settings, store, index, pool, defer_backlog=True))
        assert report.alerts.new_alerts and report.delivery.sent == 1  # before the backlog is indexed
        assert report.backlog >= len(fillers)
        assert [hit.article_id for hit in index.search(parse_query(f'"{SECOND}"'))] != []
        assert index.count("chips") < 100  # the rest is not back yet
        assert index_backlog(store, index) == report.backlog
        assert index.count("chips") == len(fillers) + 12 + 2
        assert rebuild_progress(index.path) is None  # the note is gone with the rebuild
        asyncio.run(watch(settings, store))  # the health watch after the next refresh: the repair is over
    assert [r.getMessage().split(":")[0] for r in caplog.records if "index damaged" in r.getMessage()] == [
        "Search index damaged", "recovered"]  # fmt: skip
    assert endpoint.titles() == EXPECTED


def test_an_index_written_before_file_sizes_were_kept_is_still_checked_for_missing_files(tmp_path):
    from whoosh.filedb.filestore import FileStorage
    from whoosh.index import TOC

    from reader.index import INDEXNAME
    from reader.index.repair import file_problem
    from reader.store import IndexRow
    from datetime import UTC, datetime

    index = SearchIndex(tmp_path / "index")
    index.add([IndexRow(id=1, version=1, title="a", text="b", summary="", feed_title="", group="", author="",
                        categories=(), link="", date=datetime(2025, 1, 1, tzinfo=UTC))])  # fmt: skip
    index.close()
    storage = FileStorage(str(tmp_path / "index"))
    segments = TOC.read(storage, INDEXNAME).segments
    for segment in segments:
        del segment.file_sizes
    assert file_problem(storage, segments) is None
    delete_postings(tmp_path / "index")
    assert "is missing" in file_problem(storage, segments)


def loaded_modules(run) -> set[str]:
    """The modules a `reader` run imported, from its `-X importtime` report on stderr."""
    return {line.rsplit("|", 1)[-1].strip() for line in run.err.splitlines() if line.startswith("import time:")}


def test_a_fetch_with_nothing_new_leaves_the_index_closed_and_a_missing_one_is_still_rebuilt(world):
    settings, _feed, _endpoint = world
    assert cli(settings, "fetch").code == 0
    warm = cli(settings, "fetch", PYTHONPROFILEIMPORTTIME="1")
    assert warm.code == 0, warm.err
    assert "not-modified" in warm.out and "1 feed: 0 new articles, 0 updated" in warm.out
    assert not {"whoosh", "numpy", "reader.index.searcher", "reader.rules", "apprise"} & loaded_modules(warm)

    shutil.rmtree(settings.index_dir)  # gone: the look at the directory sees it, and the fetch refills it
    assert cli(settings, "fetch").code == 0
    found = cli(settings, "search", "--json", "--limit", "100", "chips")
    assert found.code == 0 and len(found.json()) == 13, found.err


@pytest.mark.parametrize("damage", [truncate_term_table_and_ids, crash_mid_commit],
                         ids=["truncate_term_table_and_ids", "crash_mid_commit"])  # (the daemon's test has all four)
def test_a_fetch_that_brings_something_new_finds_a_damaged_index_and_rebuilds_it(world, damage):
    settings, feed, endpoint = world
    assert cli(settings, "fetch").code == 0
    damage(settings.index_dir)
    feed.add(SECOND, SECOND_TEXT)
    fetched = cli(settings, "fetch")
    assert fetched.code == 0 and "Traceback" not in fetched.err
    assert "1 new article" in fetched.out
    told = [line for line in fetched.err.splitlines() if "search index" in line.lower()]
    assert len(told) == 1 and "WARNING: Search index damaged: " in told[0], fetched.err  # said once
    assert endpoint.titles() == EXPECTED
    found = cli(settings, "search", "--json", "--limit", "100", "chips")
    assert found.code == 0 and len(found.json()) == 12 + 2, found.err


class CountingPool(ThreadPoolExecutor):
    """The caller's pool, as a thread pool that counts the tasks it is given."""

    def __init__(self):
        super().__init__(max_workers=2)
        self.tasks = 0

    def submit(self, fn, /, *args, **kwargs):
        self.tasks += 1
        return super().submit(fn, *args, **kwargs)


def test_a_catch_up_of_many_slices_is_built_by_the_callers_workers(tmp_path, monkeypatch):
    """More articles waiting than one slice (a fetch of many new feeds): each slice's segment is built in
    the pool `update_index` is given, not in this process or a pool of the index's own."""
    monkeypatch.setattr(ingest_module, "BACKLOG_SLICE", 4)
    store = Store(tmp_path / "db.sqlite")
    feed, _ = store.add_feed("http://127.0.0.1:9/feed")
    articles = [ParsedArticle(key=f"k{k}", title=f"Chip story {k}", link=f"http://127.0.0.1:9/{k}",
                              summary=f"Foundries and chips, story {k}.") for k in range(10)]  # fmt: skip
    store.upsert_articles(feed.id, articles, fulltext=False, canonical={})
    index = SearchIndex(tmp_path / "index")
    with CountingPool() as pool:
        assert update_index(store, index, pool=pool) == 10
    assert pool.tasks == 3 and index.count("chips") == 10 and store.count_to_index() == 0


def test_only_what_reading_the_index_files_raises_counts_as_damage(tmp_path):
    """A ValueError or IndexError out of the evaluation's own code (here a caller's negative limit) is a bug to
    report, not damage to "repair" by emptying the index; garbage in a file, at its size, still is damage."""
    from reader.index import IndexDamaged
    from tests.test_index import row

    path = tmp_path / "index"
    index = SearchIndex(path)
    index.add([row(n, f"Chip story {n}", f"Foundries and chips, story number {n}.") for n in range(1, 40)])
    with pytest.raises((ValueError, IndexError)) as raised:
        index.search(parse_query("chips"), sort="newest", limit=-5)
    assert not isinstance(raised.value, IndexDamaged), raised.value
    assert index.doc_count() == 39
    index.close()

    [terms] = path.glob("*.trm")
    size = terms.stat().st_size
    terms.write_bytes(terms.read_bytes()[: size // 4] + bytes(range(7, 256, 3)) * (size // 83 + 1))
    os.truncate(terms, size)
    damaged = SearchIndex(path)
    with pytest.raises(IndexDamaged):
        damaged.search(parse_query("chips"), limit=None)
    damaged.close()
