"""The add-feed dialog: a bad URL is refused with the reason; a page's one feed is subscribed to (and said);
several are offered (real pages served on 127.0.0.1)."""

from __future__ import annotations

from textual.widgets import Input, OptionList, Static

from reader.store import Store
from reader.tui.screens.feed_add import AddFeedScreen
from tests.feedgen import Item, recent, rss
from tests.tui.helpers import started, wait_until


def page(*links: str) -> str:
    return f"<!doctype html><html><head><title>Site</title>{''.join(links)}</head><body>Hello</body></html>"


def subscribed(settings) -> list[str]:
    store = Store(settings.db_path)
    try:
        return [f.url for f in store.feeds()]
    finally:
        store.close()


async def open_dialog(pilot, url: str) -> AddFeedScreen:
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, AddFeedScreen))
    dialog = pilot.app.screen
    dialog.query_one("#feed-url", Input).value = url
    await pilot.press("enter")
    return dialog


def said(dialog) -> str:
    return str(dialog.query_one("#add-error", Static).render())


async def test_a_bad_url_is_refused_with_the_reason(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        dialog = await open_dialog(pilot, "https://exa mple.com/feed")
        await wait_until(pilot, lambda: "control character or space" in said(dialog))
        dialog.query_one("#feed-url", Input).value = "ftp://example.com/feed"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "ftp://example.com/feed" not in subscribed(world) and "http" in said(dialog))
        assert pilot.app.screen is dialog


async def test_a_page_with_one_feed_subscribes_to_it_and_says_so(world, make_app, http_server):
    feed = http_server.route("/news/rss.xml", rss([Item("One", http_server.url("/a/1"), published=recent())]))
    site = http_server.route("/", page('<link rel="alternate" type="application/rss+xml" href="/news/rss.xml">'))
    app = make_app(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot)
        await open_dialog(pilot, site)
        await wait_until(pilot, lambda: feed in subscribed(world))
        assert site not in subscribed(world)
        assert any(f"subscribing to its feed {feed}" in message for _, message, _ in app.notices)


async def test_a_page_with_several_feeds_offers_them(world, make_app, http_server):
    site = http_server.route("/", page('<link rel="alternate" type="application/rss+xml" title="News" href="/n.xml">',
                                       '<link rel="alternate" type="application/atom+xml" title="Blog" href="/b.xml">'))
    http_server.route("/b.xml", rss([]))
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        dialog = await open_dialog(pilot, site)
        options = dialog.query_one("#found-feeds", OptionList)
        await wait_until(pilot, lambda: options.option_count == 2)
        assert "offering 2 feeds" in said(dialog)
        assert "News" in str(options.get_option_at_index(0).prompt)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: http_server.url("/b.xml") in subscribed(world))
        assert site not in subscribed(world) and http_server.url("/n.xml") not in subscribed(world)


async def test_a_feed_urls_credentials_are_masked_in_what_the_screen_says_of_it(world, make_app, http_server):
    """The toast on adding it, and its details dialog, name the feed by its masked URL (it has no title yet)."""
    from reader.tui.screens.dialogs import feed_details

    feed = http_server.route("/locked.xml", rss([]))  # no <title>
    url = feed.replace("http://", "http://reader:Hunter2pw@") + "?token=Tok3nvalue"
    app = make_app(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot)
        await open_dialog(pilot, url)
        await wait_until(pilot, lambda: url in subscribed(world))
        store = Store(world.db_path)
        await wait_until(pilot, lambda: any(f.url == url and f.last_status for f in store.feeds()))  # fetched
        [added] = [f for f in store.feeds() if f.url == url]
        store.close()
        shown = " ".join(message for _, message, _ in app.notices) + str(feed_details(added, 0))
    assert "http://****@127.0.0.1" in shown and "token=****" in shown
    assert "Hunter2pw" not in shown and "Tok3nvalue" not in shown


async def test_a_failing_workers_message_is_shown_with_its_secrets_masked(world, make_app):
    """An error a worker raises may quote a feed URL with its credentials: the toast masks them."""
    app = make_app(world)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await started(pilot)

        def fail() -> None:
            raise OSError("cannot reach https://reader:Hunter2pw@feeds.example/x.xml?token=Tok3nvalue")

        screen.run_worker(fail, thread=True, exit_on_error=False)
        await wait_until(pilot, lambda: any(title == "Something went wrong" for title, _, _ in app.notices))
        shown = " ".join(message for _, message, _ in app.notices)
    assert "OSError: cannot reach https://****@feeds.example" in shown and "token=****" in shown
    assert "Hunter2pw" not in shown and "Tok3nvalue" not in shown


async def test_a_feed_in_another_case_of_scheme_or_host_is_the_feed_already_subscribed(world, make_app):
    """`a` with the world's `http://127.0.0.1:9/tech.xml` written `HTTP://127.0.0.1:9/tech.xml`: Tech Daily,
    already subscribed (nothing fetched, nothing added); `/TECH.xml` would be another feed (paths keep case)."""
    before = subscribed(world)
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await open_dialog(pilot, "HTTP://127.0.0.1:9/tech.xml")
        await wait_until(pilot, lambda: any(message == "Already subscribed: Tech Daily" for _, message, _ in app.notices))
        assert subscribed(world) == before
