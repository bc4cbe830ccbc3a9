"""The layout at the sizes people use: 80×24, 120×30, 160×45 and up."""

from __future__ import annotations

import re

from reader.tui.screens.save_rule import SaveRuleScreen
from tests.tui.helpers import started, wait_until
from tests.tui.test_stories import story_world  # noqa: F401 - a fixture
from tests.tui.test_terminals import screen_text


async def test_at_160_columns_the_list_keeps_its_feed_column_and_long_titles(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await started(pilot)
        assert screen.has_class("-wide")
        assert screen.articles.region.width >= 75 and screen.reader.region.width >= 50
        text = screen_text(app)
        assert "DeepSeek unveils a cheaper reasoning model     Tech Daily" in text, "whole title, then the feed"


async def test_at_80x24_the_article_can_have_the_whole_screen(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        assert screen.reader.allow_maximize, "the command palette's Maximize finds the article"
        await pilot.press("enter", "enter")
        await wait_until(pilot, lambda: screen.maximized is screen.reader)
        assert (screen.reader.region.width, screen.reader.region.height) == (80, 23)


async def test_the_save_dialog_fits_80x24_with_every_label(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        await pilot.press("slash")
        screen.search_bar.input.value = "export controls AND (chips OR HBM) AND NOT title:filler"
        await wait_until(pilot, lambda: screen.search is not None)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, SaveRuleScreen))
        await wait_until(pilot, lambda: "Would have" in screen_text(app))
        text = screen_text(app)
        for label in ("Name", "Title", "Notify", "Save search", "Save alert rule", "Cancel", "Saved as a TOML file", "any time.",
                      "Apprise URLs or tags, comma-separated", "export-controls-chips-hbm "):  # fmt: skip
            assert label in text, label


async def test_at_80x24_the_dialogs_hints_wrap_rather_than_lose_their_end(world, make_app):
    from reader.tui.screens.dialogs import Dialog

    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        for key, hint_end in (("i", "Enter imports · Esc cancels"), ("a", "(a site's page: its feed) · Esc cancels")):
            await pilot.press(key)
            await wait_until(pilot, lambda: isinstance(app.screen, Dialog))
            await pilot.pause()
            hint = app.screen.query_one(".dialog-hint").region  # what the screen shows there, as one text
            shown = " ".join(line[hint.x : hint.right].strip() for line in screen_text(app).splitlines()[hint.y : hint.bottom])
            assert shown.endswith(hint_end), (key, shown)
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is screen)


async def test_at_80_columns_the_status_line_leaves_out_the_views_count_before_the_daemon_state(story_world, make_app):
    from reader.lock import WriterLock
    from reader.store import Store

    world = story_world  # "11 articles in 9 stories": a view counted in stories
    store = Store(world.db_path)
    for feed in store.feeds():  # every feed failed, and a refresh happened today: the longest usual line
        store.record_fetch(feed.id, status="error", error="HTTP 500 Internal Server Error")
    store.close()
    lock = WriterLock(world.lock_path)
    lock.acquire(daemon=True)
    try:
        app = make_app(world)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await started(pilot)
            status = screen.query_one("#status-text")
            await wait_until(pilot, lambda: "daemon running" in str(status.render()))
            shown = str(status.render())
            assert shown.endswith("feeds in error · daemon running") and len(shown) <= 80, shown
            assert "stories" in str(screen.query_one("#list-pane").border_title), "the list's border counts the view"
    finally:
        lock.release()

    from reader.health import DELIVERY_FAILED, record_event

    store = Store(world.db_path)
    record_event(store, DELIVERY_FAILED, "t1", "HTTP 503", title="Alerts not delivered: json://hooks.example.com/"
                 + "long/" * 20)  # fmt: skip
    store.close()
    app = make_app(world)  # a long warning after it is cut at the end: the count stays where the rest fits
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await started(pilot)
        await wait_until(pilot, lambda: "Alerts not delivered" in str(screen.query_one("#status-text").render()))
        assert re.match(r" \d+ articles in \d+ stories · ", str(screen.query_one("#status-text").render()))
