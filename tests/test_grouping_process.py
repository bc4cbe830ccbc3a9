"""A large run's grouping process: its passes make the stories a pass in the main process makes, with the
story features the parse workers made, forwarded to it; a first fetch of many feeds groups there end to end."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

from reader import pool_tasks
from reader.grouping_process import GroupingProcess
from reader.ingest import group_stories
from reader.models import ParsedArticle, ParsedFeed
from reader.store import Store
from tests.feedgen import Item, recent, rss
from tests.httpserver import HTTPServer
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
