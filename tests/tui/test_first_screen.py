"""The first screen: it imports no index, rules, notification or network code, and a stored list paints from
its first rows (the rest follow) with the same rows, sizes and cursor as when read whole."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from reader.firstrun import ensure_setup
from reader.store import ArticleFilter, Store
from tests.tui.helpers import settle, started, wait_until
from tests.tui.test_stories import story_world  # noqa: F401 - the fixture
from tests.tui.world import build_world

LATE_IMPORTS = ("whoosh", "trafilatura", "aiohttp", "apprise")

# Starts the TUI as `reader` does (first-run setup, then the app over the settings from the environment) and
# prints the modules loaded when the first frame with list rows is displayed.
FIRST_PAINT = """
import asyncio, json, sys
from reader.config import load_settings
from reader.firstrun import ensure_setup
from reader.store import Store
from reader.tui.app import ReaderApp
from reader.tui.library import Library

async def main():
    settings = load_settings()
    store = Store(settings.db_path)
    ensure_setup(settings, store)
    app = ReaderApp(Library(settings, store), theme="textual-dark")
    display, loaded = app._display, []

    def record(screen, renderable):
        articles = getattr(screen, "articles", None)
        if not loaded and articles is not None and articles.row_count:
            loaded.append(sorted(sys.modules))
        display(screen, renderable)

    app._display = record
    async with app.run_test(size=(120, 30)) as pilot:
        while not loaded:
            await pilot.pause(0.01)
    print(json.dumps(loaded[0]))

asyncio.run(main())
"""


def test_the_first_screen_imports_no_index_rules_or_network_code(settings):
    store = build_world(settings)
    ensure_setup(settings, store)  # the first start seeds the rules (loading their parser): this is a later one
    store.close()
    done = subprocess.run([sys.executable, "-c", FIRST_PAINT], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "reader.tui.screens.main" in loaded
    assert not {m for m in loaded if m.split(".")[0] in LATE_IMPORTS}


@pytest.mark.parametrize("flt", [ArticleFilter(), ArticleFilter(unread=True), ArticleFilter(feed_ids=[1, 3])])
@pytest.mark.parametrize("sort", ["newest", "oldest", "title"])
def test_a_lists_first_rows_are_those_of_the_whole_list(story_world, flt, sort):  # noqa: F811
    store = Store(story_world.db_path)
    try:
        store.set_read(sorted(store.article_ids_in(ArticleFilter()))[::3])  # the story's articles too
        whole = store.story_order(flt, sort)
        assert any(size > 1 for _, size in whole)
        for limit in (1, 3, len(whole), len(whole) + 5):
            assert store.story_order(flt, sort, limit) == whole[:limit]
        assert store.article_order(flt, sort, 4) == store.article_order(flt, sort)[:4]
    finally:
        store.close()


async def test_a_long_list_paints_its_first_rows_then_has_them_all(story_world, make_app, monkeypatch):  # noqa: F811
    import reader.tui.screens.main as main

    monkeypatch.setattr(main, "FIRST_ROWS", 3)  # the world's 11 articles in 9 stories are then a long list
    store = Store(story_world.db_path)
    stories, articles = [h for h, _ in store.story_order()], store.article_order()
    store.close()
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await wait_until(pilot, lambda: screen.listed_all)  # the rest is asked for once the first rows are drawn
        assert screen.articles.ids == stories
        assert f"· {len(stories)} stories ·" in str(screen.query_one("#list-pane").border_title)
        for row, ids in ((0, articles), (len(articles) - 2, stories)):  # on a first row, then far down
            screen.articles.move_to(row)
            current = screen.articles.current_id
            screen.action_toggle_plain()
            await wait_until(pilot, lambda ids=ids: screen.listed_all and screen.articles.ids == ids)
            await settle(pilot)
            assert screen.articles.current_id == current
