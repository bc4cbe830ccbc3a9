"""The add-feed dialog: check the URL, then find the feed as `reader feeds add` does (a page's feed links).

A page with one feed subscribes to that feed and says so; a page with several
offers them. Discovery goes through `reader.discover` in a worker thread; this
module never writes the store (the main screen subscribes to the URL returned).
"""

from __future__ import annotations

import asyncio

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...discover import Discovery, discover
from ...text import clean_line
from ...urls import feed_url_problem, redact_url
from ..library import Library
from .dialogs import Dialog


class AddFeedScreen(Dialog):
    """Ask for a feed or page URL and an optional group. Returns (feed url, group)."""

    BINDING_GROUP_TITLE = "Add a feed"
    DEFAULT_CSS = """
    AddFeedScreen {
        #found-feeds { height: auto; max-height: 10; display: none; }
        #found-feeds.-shown { display: block; }
    }
    """

    def __init__(self, library: Library) -> None:
        super().__init__()
        self.library = library
        self.found: tuple = ()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Add a feed", classes="dialog-title")
            yield Input(placeholder="https://example.com/feed.xml, or a site's page", id="feed-url")
            yield Input(placeholder="group (optional)", id="feed-group")
            yield Static(id="add-error", classes="dialog-error")
            yield OptionList(id="found-feeds")
            yield Label("Enter adds and fetches it (a site's page: its feed) · Esc cancels", classes="dialog-hint")

    @property
    def group(self) -> str:
        return self.query_one("#feed-group", Input).value.strip()

    def say(self, message: str) -> None:
        self.query_one("#add-error", Static).update(Content(clean_line(message, 2000)))

    @on(Input.Submitted)
    def submit(self) -> None:
        url = self.query_one("#feed-url", Input).value.strip()
        if problem := feed_url_problem(url):
            self.say(f"Not a feed URL: {problem}.")
            self.query_one("#feed-url", Input).focus()
            return
        if self.library.store.feed_by_url(url) is not None:
            self.dismiss((url, self.group))  # already subscribed: the main screen says so
            return
        self.say(f"Looking at {redact_url(url)}…")
        self.look(url)

    @work(thread=True, exclusive=True)
    def look(self, url: str) -> None:
        found = asyncio.run(discover(url, self.library.settings.fetch))
        self.app.call_from_thread(self.looked, url, found)

    def looked(self, url: str, found: Discovery) -> None:
        shown = redact_url(url)
        if found.error:
            self.notify(f"Could not check {shown} now ({found.error}); subscribing to it as given.",
                        severity="warning", markup=False)  # fmt: skip
            self.dismiss((url, self.group))
        elif found.is_feed:
            self.dismiss((url, self.group))
        elif not found.feeds:
            self.say(f"{shown} is a web page that names no feed, and none was found at the usual paths "
                     "(/feed, /rss, /atom.xml…). Give the feed's own URL.")  # fmt: skip
        elif len(found.feeds) == 1:
            self.notify(f"{shown} is a web page; subscribing to its feed {redact_url(found.feeds[0].url)}.",
                        markup=False)  # fmt: skip
            self.dismiss((found.feeds[0].url, self.group))
        else:
            self.found = found.feeds
            self.say(f"{shown} is a web page offering {len(found.feeds)} feeds: choose one (Enter).")
            options = self.query_one("#found-feeds", OptionList)
            options.clear_options()
            options.add_options(
                Option(Content(clean_line(f"{f.title or '(untitled)'} · {f.kind} · {redact_url(f.url)}", 300)), id=str(n))
                for n, f in enumerate(found.feeds)
            )  # fmt: skip
            options.add_class("-shown")
            options.highlighted = 0
            options.focus()

    @on(OptionList.OptionSelected, "#found-feeds")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss((self.found[int(event.option.id)].url, self.group))
