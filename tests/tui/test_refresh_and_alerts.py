"""Refreshing from the TUI against a local feed server; a daemon holding the lock; alerts arriving."""

from __future__ import annotations

import re

from textual.widgets import Input

from reader.lock import WriterLock
from reader.store import ArticleFilter, Store
from reader.tui.library import ALERTS, Source
from tests.feedgen import Item, recent, rss
from tests.tui.helpers import settle, started, wait_until
from tests.tui.test_stories import story_world  # noqa: F401 - a fixture
from tests.tui.world import add_alert

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def local_feed(http_server, *, delay: float = 0.0) -> str:
    items = [Item(f"Local story {k}", f"{http_server.url}/story/{k}", f"About local story {k}.", published=recent(k))
             for k in range(3)]  # fmt: skip
    return http_server.route("/local.xml", rss(items, title="Local news"), headers=RSS, delay=delay)


async def test_R_refreshes_in_the_background_while_the_list_stays_usable(world, make_app, http_server):
    url = local_feed(http_server, delay=0.5)
    Store(world.db_path).add_feed(url, "", "Local")
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        status = screen.query_one("#status")
        await pilot.press("R")
        await wait_until(pilot, lambda: status.has_class("-refreshing"))
        await pilot.press("j")  # the UI answers while the refresh runs
        assert screen.articles.cursor == 1 and screen.refreshing
        await wait_until(pilot, lambda: not screen.refreshing, timeout=30)
        await settle(pilot)
        assert not status.has_class("-refreshing")
        titles = {screen.articles.line(i).title for i in range(screen.articles.row_count)}
        assert {"Local story 0", "Local story 1", "Local story 2"} <= titles
        assert any(title == "Refreshed" and "3 new articles" in message for title, message, _ in app.notices)
        local = next(f for f in screen.feeds if f.url == url)
        assert screen.counts.unread_by_feed[local.id] == 3
        assert re.search(r"last refresh \d\d:\d\d · ", str(status.query_one("#status-text").render())), "today's: a time"


async def test_adding_a_feed_fetches_it(world, make_app, http_server):
    url = local_feed(http_server)
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: pilot.app.screen is not screen)
        pilot.app.screen.query_one("#feed-url", Input).value = "ftp://nope"
        await pilot.press("enter")
        assert pilot.app.screen is not screen  # the dialog explains and stays
        pilot.app.screen.query_one("#feed-url", Input).value = url
        pilot.app.screen.query_one("#feed-group", Input).value = "Local"
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(f.url == url for f in screen.feeds))
        await wait_until(pilot, lambda: not screen.refreshing, timeout=30)
        await settle(pilot)
        feed = next(f for f in screen.feeds if f.url == url)
        assert feed.group == "Local" and feed.last_status == "ok"
        assert ("Refreshed", "1 feed: 3 new articles", "information") in app.notices
        assert screen.counts.unread_by_feed[feed.id] == 3


async def test_a_failing_feed_shows_its_last_error_and_can_be_removed(world, make_app):
    store = Store(world.db_path)
    broken, _ = store.add_feed("http://127.0.0.1:9/broken.xml", "Broken", "")
    store.record_fetch(broken.id, status="error", error="HTTP 500 Internal Server Error")  # as a refresh records it
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        assert "1 feed in error" in str(screen.query_one("#status-text").render())
        screen.sidebar.focus()
        screen.sidebar.select(f"feed:{broken.id}")
        await pilot.press("e")
        await wait_until(pilot, lambda: pilot.app.screen is not screen)
        details = str(pilot.app.screen.query_one("#feed-details").render())
        assert "HTTP 500 Internal Server Error" in details and broken.url in details
        await pilot.press("escape", "d", "y")
        await wait_until(pilot, lambda: all(f.id != broken.id for f in screen.feeds))
        assert Store(world.db_path).feed_by_url(broken.url) is None
        assert "in error" not in str(screen.query_one("#status-text").render())


async def test_a_refresh_while_a_daemon_holds_the_lock_is_a_notice_not_a_crash(world, make_app):
    lock = WriterLock(world.lock_path)
    lock.acquire()
    try:
        app = make_app(world)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await started(pilot)
            await wait_until(pilot, lambda: "daemon running" in str(screen.query_one("#status-text").render()))
            await pilot.press("R")
            await wait_until(pilot, lambda: any(title == "Not refreshed" for title, _, _ in app.notices), timeout=30)
            assert app.is_running and not screen.refreshing
    finally:
        lock.release()


async def test_R_while_the_daemon_runs_says_the_daemon_refreshes_rather_than_try_again_later(world, make_app):
    import os

    lock = WriterLock(world.lock_path)
    lock.acquire(daemon=True)  # as `reader daemon` holds it
    try:
        app = make_app(world)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await started(pilot)
            await pilot.press("R")
            await wait_until(pilot, lambda: any(title == "Not refreshed" for title, _, _ in app.notices), timeout=30)
            [(_, said, severity)] = [n for n in app.notices if n[0] == "Not refreshed"]
            assert f"The daemon (pid {os.getpid()}) refreshes the feeds" in said and "try again" not in said
            assert severity == "information" and not screen.refreshing
    finally:
        lock.release()


async def test_alerts_from_a_daemon_make_a_toast_and_open_with_the_match_marked(world, make_app):
    from reader.rules import write_rule

    write_rule(world.rules_dir, "deepseek", query="DeepSeek", notify=["json://127.0.0.1:9/hook"])
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        store = Store(world.db_path)
        article = next(a for a in store.iter_articles() if a.title.startswith("DeepSeek"))
        add_alert(store, "deepseek", article.id)  # as the daemon's matcher records it
        await wait_until(pilot, lambda: any(title == "1 new alert" for title, _, _ in app.notices))
        assert screen.sidebar.alert_count == 1
        screen.sidebar.select(Source(ALERTS).id)
        await wait_until(pilot, lambda: screen.alerts.display and screen.alerts.row_count == 1)
        alert = screen.alerts.current_alert
        assert (alert.rule, alert.article_id, alert.state) == ("deepseek", article.id, "pending")
        assert screen.sidebar.alert_count == 0  # seen
        assert not screen.check_action("next_unread", ())  # article-list keys are off here
        screen.alerts.focus()
        unread = screen.counts.unread
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.id == article.id)
        assert screen.reader.marked is not None and screen.reader.marked.text == "DeepSeek"
        assert screen.focused is screen.reader
        assert screen.counts.unread == unread - 1 and article.id not in store.article_ids_in(ArticleFilter(unread=True))
        await pilot.press("q")
        assert screen.focused is screen.alerts


def alert_text(screen) -> str:
    shown = screen.reader.query_one("#article-alert")
    return str(shown.render()) if shown.display else ""


async def test_the_alerts_view_says_which_rule_why_and_where_and_r_retries(world, make_app, http_server):
    from reader.rules import write_rule

    hook = http_server.route("/hook", "down", status=500)
    items = [Item("DeepSeek opens a local lab", f"{http_server.url}/story/1", "DeepSeek said so today.",
                  published=recent(0))]  # fmt: skip
    Store(world.db_path).add_feed(http_server.route("/local.xml", rss(items, title="Local"), headers=RSS), "", "")
    write_rule(world.rules_dir, "deepseek-local", query="DeepSeek AND lab", title="DeepSeek labs",
               notify=[hook.replace("http://", "json://")])  # fmt: skip
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: not screen.refreshing and screen.sidebar.alert_count == 1, timeout=30)
        screen.sidebar.select(Source(ALERTS).id)
        await wait_until(pilot, lambda: screen.alerts.display and "DeepSeek labs" in alert_text(screen))
        row = screen.alerts.render_row(0, 110, selected=False).text
        assert "DeepSeek labs" in row and "deepseek-local" not in row, "the rule by its title"
        details = alert_text(screen)
        assert "Matched: DeepSeek said so today." in details
        assert f"To {hook.replace('http://', 'json://')}" in details
        assert "500" in details, details  # the last error, not just "pending"
        assert screen.reader.article.title == "DeepSeek opens a local lab", "the preview follows the cursor"
        http_server.route("/hook", "ok")
        screen.alerts.focus()
        await pilot.press("r")
        await wait_until(pilot, lambda: screen.alerts.current_alert.state == "sent", timeout=30)
        await wait_until(pilot, lambda: "sent" in alert_text(screen))
        assert http_server.hits("/hook") >= 2 and "500" not in alert_text(screen)


def new_alert(a, rule: str, story: int, **changes):
    """An alert for article `a` as the matcher records it, without deliveries (a rule without targets)."""
    from reader.models import NewAlert

    return NewAlert(rule=rule, article_id=a.id, canonical_url=a.link, title=a.title, link=a.link, published=a.published,
                    feed_title=a.feed_title, snippet=a.title, spans=(), deliveries=(), story_id=story, **changes)  # fmt: skip


async def open_alerts(pilot, screen, count: int) -> None:
    screen.sidebar.select(Source(ALERTS).id)
    await wait_until(pilot, lambda: screen.alerts.display and screen.alerts.row_count == count)


async def test_an_alert_for_a_story_run_by_several_outlets_says_how_many_and_which(world, make_app):
    from dataclasses import replace

    store = Store(world.db_path)
    by_feed = {}
    for a in store.iter_articles():
        by_feed.setdefault(a.feed_title, a)
    first, second = list(by_feed.values())[:2]

    store.record_matches([new_alert(first, "chips", 7), new_alert(second, "chips", 7),
                          replace(new_alert(second, "chips", 8), canonical_url="x")], [first.id, second.id])  # fmt: skip
    store.close()
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await open_alerts(pilot, screen, 2)
        rows = {screen.alerts.alert(i).story_id: screen.alerts.render_row(i, 110, selected=False).text
                for i in range(2)}  # fmt: skip
        assert "+1" in rows[7] and "+1" not in rows[8] and len(rows[7]) == len(rows[8]) == 110
        screen.alerts.move_to([screen.alerts.alert(i).story_id for i in range(2)].index(7))
        await wait_until(pilot, lambda: f"2 outlets: {first.feed_title}, {second.feed_title}" in alert_text(screen))


async def test_new_alerts_do_not_move_the_cursor_off_its_alert(world, make_app):
    from reader.rules import write_rule

    write_rule(world.rules_dir, "all", query="AI OR DeepSeek", notify=["json://127.0.0.1:9/hook"])
    store = Store(world.db_path)
    ids = [a.id for a in store.iter_articles()]
    first, second = add_alert(store, "all", ids[0]), add_alert(store, "all", ids[1])
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        screen.sidebar.select(Source(ALERTS).id)
        await wait_until(pilot, lambda: screen.alerts.display and screen.alerts.row_count == 2)
        screen.alerts.focus()
        await pilot.press("j")
        assert screen.alerts.current_alert.id == first
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.id == ids[0])
        add_alert(store, "all", ids[2])  # as the daemon records one
        await wait_until(pilot, lambda: screen.alerts.row_count == 3)
        assert screen.alerts.current_alert.id == first and screen.alerts.cursor == 2
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.focused is screen.reader)
        assert screen.reader.article.id == ids[0]
        assert second


async def test_e_on_a_feed_renames_it_and_moves_it_to_another_group(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await started(pilot)
        chips = next(f for f in screen.feeds if f.title == "Chip Letter")
        screen.sidebar.focus()
        screen.sidebar.select(f"feed:{chips.id}")
        await pilot.press("e")
        await wait_until(pilot, lambda: app.screen is not screen)
        app.screen.query_one("#feed-title", Input).value = "Chips weekly"
        app.screen.query_one("#feed-group", Input).value = "Hardware"
        app.screen.query_one("#feed-title", Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "group:Hardware" in screen.sidebar.source_ids)
        renamed = Store(world.db_path).feed_by_url(chips.url)
        assert (renamed.title, renamed.group) == ("Chips weekly", "Hardware")
        assert screen.sidebar.source.id == f"feed:{chips.id}", "the cursor stays on the feed"
        assert screen.sidebar.title(screen.sidebar.source) == "Chips weekly"


async def test_the_status_bar_shows_what_needs_the_user_until_it_recovers(world, make_app):
    from reader.health import INDEX_DAMAGED, record_event, record_recovery

    store = Store(world.db_path)
    record_event(store, INDEX_DAMAGED, "index", "a segment's .pst file is missing")
    app = make_app(world)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await started(pilot)
        text = lambda: str(screen.query_one("#status-text").render())  # noqa: E731
        assert "Search index damaged" in text()
        assert text().index("no daemon") < text().index("Search index damaged"), "a long warning is what is cut"
        record_recovery(store, INDEX_DAMAGED, "index")
        screen.update_status()
        await settle(pilot)
        assert "Search index damaged" not in text()


async def test_an_alert_waiting_for_its_rules_outlets_says_so_rather_than_no_targets(world, make_app):
    from reader.rules import write_rule

    write_rule(world.rules_dir, "three", query="DeepSeek", notify=["json://127.0.0.1:9/hook"], outlets=3)
    store = Store(world.db_path)
    a = next(a for a in store.iter_articles() if a.title.startswith("DeepSeek"))
    store.record_matches([new_alert(a, "three", 7, outlets=3)], [a.id])
    store.close()
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await open_alerts(pilot, screen, 1)
        await wait_until(pilot, lambda: screen.alerts.render_row(0, 110, selected=False).text.startswith("waiting "))
        await wait_until(pilot, lambda: "Waiting for 3 outlets to carry the story (1 so far)" in alert_text(screen))
        assert "No notify targets" not in alert_text(screen)


async def test_a_refresh_keeps_the_cursor_and_the_article_shown_on_the_story_they_were_on(story_world, make_app,
                                                                                          http_server):  # fmt: skip
    """Rows arrive above the cursor and a newer article joins the story under it: the cursor stays on that
    story's row and the reader keeps the article it showed (a newer head of the row does not replace it)."""
    from datetime import timedelta

    from tests.tui.test_stories import ERUPTION, ERUPTION_TEXT, eruption_ids
    from tests.tui.world import NOW

    page = http_server.route("/page.html", "<html><body><p>gone</p></body></html>", headers={"Content-Type": "text/html"})
    news = [Item(f"Unrelated newer story {k}", f"{page}?{k}", f"About something else entirely {k}.",
                 published=NOW - timedelta(minutes=5 + k)) for k in range(2)]  # fmt: skip
    news.append(Item(ERUPTION, f"{page}?eruption", ERUPTION_TEXT, published=NOW - timedelta(minutes=20)))
    url = http_server.route("/wire.xml", rss(news, title="Wire service"), headers=RSS)
    Store(story_world.db_path).add_feed(url, "", "Wire")
    head = eruption_ids(story_world)[0]  # the story's newest article: its row's
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        assert screen.articles.current_id == head and screen.articles.is_story_row(0)
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.id == head)
        story = screen.articles.current_line().story_id
        await pilot.press("R")
        await wait_until(pilot, lambda: not screen.refreshing, timeout=30)
        await settle(pilot)
        await pilot.pause(0.3)  # longer than the preview's delay: a preview would have shown by now
        assert len(eruption_ids(story_world)) == 4, "the wire's rewrite joined the story"
        assert screen.articles.cursor == 2 and screen.articles.current_line().story_id == story
        assert screen.reader.article.id == head

        await pilot.press("z", "j", "j")  # one of the story's other articles, shown
        member = screen.articles.current_id
        await wait_until(pilot, lambda: screen.reader.article.id == member != head)
        news.insert(0, Item("Another newer story", f"{page}?more", "More.", published=NOW - timedelta(minutes=1)))
        http_server.route("/wire.xml", rss(news, title="Wire service"), headers=RSS)
        await pilot.press("R")
        await wait_until(pilot, lambda: not screen.refreshing, timeout=30)
        await settle(pilot)
        await pilot.pause(0.3)
        assert screen.articles.cursor == 3 and screen.articles.current_line().story_id == story
        assert screen.reader.article.id == member


async def test_a_refresh_of_a_list_of_unread_articles_keeps_the_article_read_and_the_place(world, make_app,
                                                                                           http_server):  # fmt: skip
    """With U, the article just opened (now read) leaves the list when a refresh reads it again: the reader keeps
    it until the cursor moves, and the cursor stays in its place, on the row that followed it (not the top)."""
    from datetime import timedelta

    from tests.tui.world import NOW

    news = [Item(f"Newer story {k}", f"{http_server.url}/n{k}", "News.", published=NOW - timedelta(minutes=k + 1))
            for k in range(3)]  # fmt: skip
    Store(world.db_path).add_feed(http_server.route("/wire.xml", rss(news, title="Wire"), headers=RSS), "", "Wire")
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("U")
        await settle(pilot)
        await pilot.press("j", "j", "enter")
        opened, following = screen.articles.ids[2], screen.articles.ids[3]
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.id == opened)
        await pilot.press("R")
        await wait_until(pilot, lambda: not screen.refreshing, timeout=30)
        await settle(pilot)
        await pilot.pause(0.3)  # longer than the preview's delay
        assert opened not in screen.articles.ids and screen.articles.current_id == following
        assert screen.reader.article.id == opened
        await pilot.press("q", "j")  # back to the list, and on: the preview follows the cursor again
        await wait_until(pilot, lambda: screen.reader.article.id == screen.articles.current_id != opened)
