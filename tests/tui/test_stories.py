"""Reading by story: one row per story with its outlet count, expanding, marking read, muting, plain rows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reader.index import SearchIndex
from reader.ingest import group_stories, update_index
from reader.store import ArticleFilter, Store
from reader.tui.screens.help import binding_rows
from tests.tui.helpers import settle, started, wait_until
from tests.tui.world import FEEDS, NOW, Story, article, build_world

ERUPTION = "Volcano erupts near Grindavik in Iceland, Reykjanes town evacuated by civil protection"
ERUPTION_TEXT = ("A volcano erupted on the Reykjanes peninsula near Grindavik on Monday night. Iceland's civil "
                 "protection agency evacuated the town; the Met Office said lava flowed toward the Blue Lagoon.")  # fmt: skip


@pytest.fixture
def story_world(settings):
    """The fixed library plus one event covered by all 3 outlets (grouped by the real grouper)."""
    store = build_world(settings)
    feed_ids = [f.id for f in store.feeds()]
    for k in range(len(FEEDS)):
        story = Story(k, f"{ERUPTION} ({k})", 0.5 + k / 10, ERUPTION_TEXT)
        store.upsert_articles(feed_ids[k], [article(story, f"v{k}", NOW - timedelta(hours=story.hours_ago))],
                              fulltext=False, canonical={})  # fmt: skip
    group_stories(store)
    index = SearchIndex(settings.index_dir)
    update_index(store, index)
    index.close()
    store.close()
    return settings


def eruption_ids(settings) -> list[int]:
    store = Store(settings.db_path)
    try:
        return sorted(i for i, line in store.article_lines(sorted(store.article_ids_in(ArticleFilter()))).items()
                      if line.title.startswith(ERUPTION))  # fmt: skip
    finally:
        store.close()


def unread(settings) -> set[int]:
    store = Store(settings.db_path)
    try:
        return store.article_ids_in(ArticleFilter(unread=True))
    finally:
        store.close()


def row_text(screen, index: int) -> str:
    return screen.articles.render_row(index, 120, False).text


async def test_a_story_is_one_row_that_expands_and_is_marked_read_whole(story_world, make_app):
    ids = eruption_ids(story_world)
    assert len(ids) == 3
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        rows = screen.articles.ids
        assert len([i for i in rows if i in ids]) == 1  # one row for the three
        assert screen.articles.current_id in ids  # the newest story comes first
        assert "+2" in row_text(screen, 0)
        assert "+" not in row_text(screen, 1)
        count = screen.articles.row_count

        await pilot.press("z")  # expand
        assert screen.articles.row_count == count + 2
        assert sorted(screen.articles.ids[:3]) == ids
        assert "+2" not in row_text(screen, 0)
        await pilot.press("j", "z")  # fold again from one of its articles
        assert screen.articles.row_count == count and screen.articles.cursor == 0

        await pilot.press("enter")  # the story's first article, with the others listed
        await wait_until(pilot, lambda: screen.reader.article is not None)
        head = str(screen.reader.query_one("#article-head").render())
        also = head.split("Also covered by:")[1]
        assert sum(FEEDS[k][1] in also for k in range(3)) == 2 and also.count(ERUPTION) == 2
        await pilot.press("escape", "m")  # m on the story row: all three read
        await settle(pilot)
        assert not set(ids) & unread(story_world)
        await pilot.press("u")  # and undone together (the opened one was read before)
        await settle(pilot)
        assert set(ids) & unread(story_world) == set(ids) - {screen.reader.article.id}


async def test_plain_rows_are_remembered_and_a_muted_story_asks_no_reading(story_world, make_app):
    ids = eruption_ids(story_world)
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        assert "●" in row_text(screen, 0)
        await pilot.press("M")
        await settle(pilot)
        assert app.notices[-1][1].startswith("Story muted")
        assert "●" not in row_text(screen, 0) and "muted" in row_text(screen, 0)
        await pilot.press("M")  # unmuted again
        await settle(pilot)
        assert "●" in row_text(screen, 0) and "muted" not in row_text(screen, 0)
        await pilot.press("V")
        await wait_until(pilot, lambda: len([i for i in screen.articles.ids if i in ids]) == 3)
        assert "+2" not in row_text(screen, 0)
        await pilot.press("M")  # muted, for the restart
        await settle(pilot)

    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        assert len([i for i in screen.articles.ids if i in ids]) == 3  # plain rows, remembered
        assert all("●" not in row_text(screen, k) for k in range(3))
        await pilot.press("V")
        await wait_until(pilot, lambda: len([i for i in screen.articles.ids if i in ids]) == 1)


async def test_searches_show_stories(story_world, make_app):
    ids = eruption_ids(story_world)
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("slash", *"grindavik", "enter")
        await wait_until(pilot, lambda: screen.search is not None and screen.articles.row_count == 1)
        await settle(pilot)
        assert screen.articles.current_id in ids and "+2" in row_text(screen, 0)


async def test_the_help_lists_the_story_keys(story_world, make_app):
    app = make_app(story_world)
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await started(pilot)
        rows = dict(binding_rows(screen))
        assert rows["z"].startswith("Expand") and rows["M"].startswith("Mute") and rows["V"].startswith("Stories")
