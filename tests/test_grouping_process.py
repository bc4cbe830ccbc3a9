"""A large run's grouping process: its passes make the stories a pass in the main process makes, with the
story features the parse workers made, forwarded to it; a first fetch of many feeds groups there end to end."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from pathlib import Path

import pytest

from reader import pool_tasks
from reader.grouping_process import GroupingProcess
from reader.ingest import group_stories
from reader.models import ParsedArticle, ParsedFeed
from reader.store import Store
from tests.feedgen import Item, recent, rss
from tests.httpserver import HTTPServer, Response
from tests.storyworld import ENTITY_LIST, OTHERS, RECALL
from tests.test_stories import START

PIECES = (*ENTITY_LIST, *OTHERS, *RECALL)


def stored(path) -> tuple[Store, ParsedFeed]:
    """A store holding the story world's pieces, one feed per outlet, none grouped yet."""
    store = Store(path)
    everything = ParsedFeed("all", "", [])
    for k, piece in enumerate(PIECES):
        feed = store.add_feed(f"http://127.0.0.1/{piece.outlet.replace(' ', '-')}.xml")[0].id
        article = ParsedArticle(key=piece.slug, title=piece.title, link=f"https://x.example/{piece.slug}",
                                summary=piece.summary, content=piece.text, published=START + timedelta(hours=k))
        store.upsert_articles(feed, [article], fulltext=False, canonical={})
        everything.articles.append(article)
    return store, everything


def stories_of(store: Store) -> dict[str, tuple[int, str | None]]:
    rows = store._conn().execute("SELECT link, story_id, story_reason FROM articles")
    return {link: (story, why) for link, story, why in rows}


def grouped_there(path, features: dict[bytes, bytes]) -> int:
    process = GroupingProcess(path)
    try:
        process.forward(features)
        grouped, _cpu = process.submit(False).result(timeout=120)
        return grouped
    finally:
        process.close()


def test_a_pass_in_the_grouping_process_makes_the_stories_a_pass_here_makes(tmp_path):
    here, parsed = stored(tmp_path / "here.sqlite")
    here.close()
    shutil.copy(tmp_path / "here.sqlite", tmp_path / "there.sqlite")
    here = Store(tmp_path / "here.sqlite")
    assert group_stories(here) == len(PIECES)
    assert grouped_there(tmp_path / "there.sqlite", pool_tasks.story_features(parsed)) == len(PIECES)
    there = Store(tmp_path / "there.sqlite")
    assert stories_of(there) == stories_of(here)
    assert len({story for story, _why in stories_of(here).values()}) < len(PIECES)  # (some did group)


def test_the_grouping_process_groups_with_the_features_forwarded_to_it(tmp_path):
    """Features are looked up by what they are made of: a forwarded entry that gives one of the event's
    rewrites the words of an unrelated article puts it with that article, which shows they were used."""
    store, parsed = stored(tmp_path / "reader.sqlite")
    made = pool_tasks.story_features(parsed)
    rewrite, other = PIECES.index(ENTITY_LIST[1]), PIECES.index(OTHERS[0])
    keys = list(made)  # (in the order of the articles)
    made[keys[rewrite]] = made[keys[other]]
    assert grouped_there(tmp_path / "reader.sqlite", made) == len(PIECES)
    found = stories_of(store)
    link = "https://x.example/{}".format
    assert found[link(ENTITY_LIST[1].slug)][0] == found[link(OTHERS[0].slug)][0]
    assert found[link(ENTITY_LIST[1].slug)][0] != found[link(ENTITY_LIST[0].slug)][0]


def test_a_first_fetch_of_many_feeds_groups_in_its_own_process_and_groups_every_article(settings, tmp_path):
    from tests.clirun import reader

    servers = [HTTPServer(f"127.0.0.{k + 1}") for k in range(12)]  # (GROUPING_PROCESS_FEEDS: 10)
    try:
        urls = []
        for k, server in enumerate(servers):
            piece = PIECES[k % len(PIECES)]
            items = [Item(piece.title, server.url(f"/{piece.slug}"), piece.text, published=recent(1 + k))]
            items += [Item(f"Quarterly figure {j} for region {k}", server.url(f"/f/{j}"), f"Region {k} grew {j} %.",
                           published=recent(30 + j)) for j in range(20)]  # fmt: skip
            urls.append(server.route("/feed.xml", rss(items, title=piece.outlet)))
        for url in urls:
            assert reader("feeds", "add", url, data=settings.data_dir, config=settings.config_dir).code == 0
        done = reader("fetch", "--no-fulltext", "--json", data=settings.data_dir, config=settings.config_dir)
        assert done.code == 0, done.err
        report = json.loads(done.out)
        assert report["new"] == 12 * 21 and report["grouped"] == 12 * 21 and report["timings"]["stories_start_cpu"] > 0
        store = Store(settings.db_path)
        assert store.ungrouped_count() == 0 and store.count_to_index() == 0 and store.queued_for_matching() == 0
        store.close()
    finally:
        for server in servers:
            server.close()


def test_a_grouping_process_that_failed_to_start_fails_its_passes_as_a_broken_process(tmp_path):
    """Its store did not open: a pass says the process is broken (the run then groups here), not a KeyError."""
    process = GroupingProcess(tmp_path)  # (a directory: no store opens there)
    try:
        with pytest.raises(BrokenProcessPool):
            process.submit(False).result(timeout=120)
    finally:
        process.close()


def _grouping_process_of(run_pid: int, db_path) -> int | None:
    """The pid of the child of `run_pid` holding the store open: the grouping process (parse workers never do)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) != run_pid:
                    continue
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == str(db_path) for fd in os.listdir(f"/proc/{pid}/fd")):
                return int(pid)
        except OSError:  # (ended meanwhile)
            continue
    return None


def _grouped(db_path) -> int:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)  # (a connection each time: a fresh snapshot)
    try:
        return db.execute("SELECT count(*) FROM articles WHERE story_id IS NOT NULL").fetchone()[0]
    finally:
        db.close()


def _idle(pid: int) -> bool:
    """Whether the process used no CPU over a tenth of a second (or is gone)."""

    def cpu() -> int | None:
        try:
            return sum(map(int, Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]))
        except (OSError, ValueError):
            return None

    before = cpu()
    time.sleep(0.1)  # ok: the span over which its CPU time must not move
    return before is None or cpu() in (before, None)


def test_a_grouping_process_killed_while_idle_leaves_the_run_to_group_in_the_main_process(settings):
    """The OOM killer ends the grouping process between two passes: the run's later passes are made in the
    main process (not in a new process that never opened the store), and every article is grouped and matched."""
    from reader.rules import write_rule

    servers = [HTTPServer(f"127.0.0.{k + 1}") for k in range(12)]  # (GROUPING_PROCESS_FEEDS: 10)
    run: list[subprocess.Popen] = []
    killed: list[int] = []

    def feeds(k: int) -> bytes:
        return rss([Item(f"Quarterly figure {j} for region {k}", servers[k].url(f"/f/{j}"), f"Region {k} grew {j} %.",
                         published=recent(1 + j)) for j in range(20)], title=f"outlet {k}").encode()  # fmt: skip

    def held(_seen) -> Response:
        """The last feed, answered once the others are grouped and the idle grouping process is killed."""
        while _grouped(settings.db_path) < 11 * 20 and run[0].poll() is None:
            time.sleep(0.05)  # ok: the poll interval of a wait on a condition
        while (pid := _grouping_process_of(run[0].pid, settings.db_path)) is None and run[0].poll() is None:
            time.sleep(0.05)  # ok: the poll interval of a wait on a condition
        while pid is not None and run[0].poll() is None and not _idle(pid):  # its pass's last steps after the commit
            pass
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        return Response(200, feeds(11), {"Content-Type": "application/rss+xml"})

    try:
        hook = servers[0].route("/hook", "ok")
        write_rule(settings.rules_dir, "figures", query='"quarterly figure"', notify=[hook.replace("http", "json", 1)])
        store = Store(settings.db_path)
        for k, server in enumerate(servers):
            store.add_feed(server.route("/feed.xml", handler=held) if k == 11 else server.route("/feed.xml", feeds(k)))
        store.close()
        env = {**os.environ, "READER_DATA_DIR": str(settings.data_dir), "READER_CONFIG_DIR": str(settings.config_dir)}
        run.append(subprocess.Popen([sys.executable, "-m", "reader", "fetch", "--no-fulltext", "--json"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))  # fmt: skip
        out, err = run[0].communicate(timeout=180)
        assert killed and run[0].returncode == 0, err
        assert "the grouping process died; the run groups its articles in the main process" in err
        report = json.loads(out)
        assert report["new"] == 12 * 20 and report["grouped"] == 12 * 20
        store = Store(settings.db_path)
        assert store.ungrouped_count() == 0 and store.queued_for_matching() == 0
        matched = store._conn().execute("SELECT count(DISTINCT story_id) FROM articles").fetchone()[0]
        store.close()
        assert report["alerts"] == matched  # every story matched, once
    finally:
        if run and run[0].poll() is None:
            run[0].kill()
        for server in servers:
            server.close()


def test_a_run_cancelled_before_its_fetches_began_leaves_no_grouping_process(settings):
    """A refresh stopped as it starts (the reader's refresh, cancelled) ends the grouping process it started."""
    from reader.ingest import ingest, open_index
    from reader.process_pool import WorkerPool

    store = Store(settings.db_path)
    for k in range(12):  # (GROUPING_PROCESS_FEEDS: 10 first reads start it)
        store.add_feed(f"http://127.0.0.1:9/{k}.xml")
    index = open_index(settings, store)
    pool = WorkerPool(1)
    before = set(multiprocessing.active_children())

    async def cancelled() -> None:
        run = asyncio.create_task(ingest(settings, store, index, pool, fulltext=True))
        await asyncio.sleep(0)  # (it runs to its first wait, its grouping process started)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    try:
        asyncio.run(cancelled())
    finally:
        pool.terminate()
        store.close()
    assert not set(multiprocessing.active_children()) - before

