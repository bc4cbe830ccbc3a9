"""The main screen: sources on the left, the article list in the middle, the article on the right (or below).

Slow work runs in threads and comes back as messages (a thread never touches
a widget): Textual workers load a search's ids and the whole of a stored view,
count unread articles, read the rules and find the next unread article;
refreshing and indexing, which write, run in daemon threads so that quitting
never waits for them. Everything on the event loop is a store read of a screen's
rows or so (a stored view's first rows: a few ms), so a key's answer is drawn in its first frame.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.css.query import NoMatches
from textual.content import Content
from textual.message import Message
from textual.reactive import Reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from ...models import Article, Feed
from ...query import QueryError
from ...store import ArticleLine
from ...logs import redact_secrets
from ...text import clean_line
from ...urls import redact_url
from ..library import (
    ALERTS,
    ALL,
    FEED,
    GROUP,
    QUERY_SORTS,
    RULE,
    SEARCH,
    SORTS,
    STARRED,
    PLAIN_KEY,
    UNREAD_ONLY_KEY,
    Counts,
    Library,
    Scope,
    Source,
    View,
)
from ..widgets.alert_list import AlertList
from ..widgets.article_body import ArticleBody
from ..widgets.article_list import ArticleList
from ..widgets.article_view import ArticleView, alert_details, is_web_url
from ..widgets.footer import Footer
from ..widgets.search_bar import SearchBar
from ..widgets.sidebar import Sidebar
from ..widgets.status_bar import StatusBar
from .dialogs import ConfirmScreen, FeedInfoScreen, LinksScreen, MuteScreen, PathScreen

if TYPE_CHECKING:  # loaded when first used: the first paint never waits for the index, rules or network code
    from ...index import ParsedQuery

SEARCH_DEBOUNCE = 0.25  # seconds of no typing before a search runs
PREVIEW_DELAY = 0.12  # seconds the cursor rests on an article before the reader shows it
POLL_SECONDS = 3.0  # rules directory, daemon, new alerts
UNREAD_CHUNK = 500  # ids looked at per query when looking for the next unread article
UNDO_DEPTH = 50  # mark-reads that u can undo, newest last
FIRST_ROWS = 120  # rows of a stored list read before it is drawn (a screen's worth; all of them follow)
SEARCH_SCREENS = 3  # a search's first matches listed: three screens of the list (its stories take fewer rows)
SEARCH_FIRST_ROWS = 40  # and at least this many
STORY_ROWS_AHEAD = 4  # and as many rows more per row above the cursor (V: one story row per article or so)
NOW_ROWS = 2000  # first rows read on the event loop, not in a worker (a few ms); more go to a worker
GC_THRESHOLDS = (2000, 10, 50)  # young allocations, young collections, middle ones (Python's: 700, 10, 10)
KEEP_CURSOR = -1  # as `keep`: the row under the cursor when the rows arrive
FIND_PLACEHOLDER = "find in the article (Enter: find · then n / N: next / previous · Esc: close)"
TEXT_BOX_ACTIONS = frozenset({"search", "save_search", "add_feed", "feed_info", "import_opml"})  # priority keys
LIST_ACTIONS = frozenset({"mark_all_read", "next_unread", "previous_unread", "cycle_sort", "toggle_unread_only",
                          "toggle_story", "toggle_plain"})  # off on Alerts
WRITE_ACTIONS = frozenset({"toggle_read", "toggle_story_muted", "toggle_star", "mark_all_read", "undo_read", "add_feed",
                           "remove_feed", "feed_info", "import_opml", "refresh_all", "refresh_selected",
                           "retry_alerts"})  # off (shown dimmed) in a read-only data directory


# -- messages from workers ---------------------------------------------------------------------


# What an empty list says, by the kind of source it shows ("" for every other kind).
_EMPTY = {
    STARRED: "No starred articles. s on an article stars it.",
    RULE: "No articles match this rule yet.",
    "": "No articles here. Press R to refresh.",
}


def plural(count: int, noun: str) -> str:
    """`1 feed`, `2 feeds`."""
    return f"{count} {noun}{'s' * (count != 1)}"


def story_noun(count: int) -> str:
    return "story" if count == 1 else "stories"


class ViewLoaded(Message):
    def __init__(self, view: View, ids: list[int], keep: int | None, sizes: dict[int, int] | None = None,
                 scope: Scope | None = None, first: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.view, self.ids, self.keep, self.sizes = view, ids, keep, sizes  # sizes None: plain articles
        self.scope = scope  # what its story rows stand for
        self.first = first  # only the first FIRST_ROWS rows: the rest are read once they are on screen


class CountsLoaded(Message):
    def __init__(self, counts: Counts) -> None:
        super().__init__()
        self.counts = counts


class RulesLoaded(Message):
    def __init__(self, rules, signature: tuple) -> None:
        super().__init__()
        self.rules, self.signature = rules, signature


class UnreadFound(Message):
    def __init__(self, ids: list[int], cursor: int, article_id: int | None, step: int = 1,
                 elsewhere: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.ids, self.cursor, self.article_id = ids, cursor, article_id  # cursor: where it was when asked
        self.step = step
        self.elsewhere = elsewhere  # none found: look in the next source with unread articles (goto-next-feed)


class IndexCaughtUp(Message):
    def __init__(self, indexed: int | None) -> None:
        super().__init__()
        self.indexed = indexed


class RefreshProgress(Message):
    def __init__(self, event) -> None:
        super().__init__()
        self.event = event


class AlertsRetried(Message):
    def __init__(self, outcome: str, error: bool = False) -> None:
        super().__init__()
        self.outcome, self.error = outcome, error


class RefreshFinished(Message):
    def __init__(self, report=None, error: str | None = None, daemon: int | None = None) -> None:
        super().__init__()
        self.report, self.error, self.daemon = report, error, daemon  # daemon: the pid of the one holding the lock


def _story_shown(line: ArticleLine, unread: list[tuple[int, int]]) -> int:
    """The article a story row opens: its own if it is unread (or none is), else the first unread one."""
    return line.id if not unread or (line.id, line.feed_id) in unread else unread[0][0]


def _freeze_start_up() -> None:
    """Once start-up is over, what it built (modules, widgets, caches: ~90,000 objects at 100k articles)
    lives on: move it out of the collector's reach, once per process, so that a full collection does not walk
    it in the middle of a key press. (A `gc.collect()` first would free ~2% of them for ~50 ms of CPU on the
    event loop, as the first keys may come: not done.) Then collect less often: a key press allocates tens of
    thousands of objects (Textual's strips, each with its caches): with Python's default thresholds a full
    collection came every ~5 keys (~8 ms); with these, collections cost a third less in all and a key press
    meets a full one about once in a hundred (measured in the TUI benchmark's rounds of keys)."""
    global _FROZEN
    if not _FROZEN:
        _FROZEN = True
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)


_FROZEN = False


class MainScreen(Screen):
    BINDING_GROUP_TITLE = "Reader"
    # narrow: the article goes below the list; compact: the sidebar too shows only while it has focus
    HORIZONTAL_BREAKPOINTS = [(0, "-compact"), (80, "-narrow"), (160, "-wide")]
    ALLOW_IN_MAXIMIZED_VIEW = "Footer, #find-input"  # the full-screen article keeps its keys and its find box
    ESCAPE_TO_MINIMIZE = False  # Escape goes back one step (closes the find box first), as q does
    # Textual repaints the whole screen when the focus moves (~20–30 ms at 120×40, every Enter, q, Tab);
    # the panes whose look depends on the focus repaint themselves (their CSS, the lists' cursor rows).
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    BINDINGS = [
        # The footer shows keys in this order, as many as fit: the most used first.
        # priority (here and for the dialogs with a text box: w, a, e, i): taken as it arrives, so keys typed
        # right after it (a burst) reach the box, not the list (see `_open_dialog`)
        Binding("slash", "search", "Search", id="main.search", tooltip="Search every article", priority=True),
        Binding("n", "next_unread", "Next unread", id="main.next_unread", tooltip="Open the next unread article"),
        Binding("b", "sources", "Sources", id="main.sources", tooltip="Show the sources (a narrow terminal hides them)"),
        Binding("q", "back", "Back", id="main.back", tooltip="Back one pane; quit from the sidebar"),
        Binding("escape", "back(False)", "Back", show=False, id="main.escape"),
        Binding("tab", "next_pane", "Pane", show=False, id="main.next_pane", tooltip="Switch pane"),
        Binding("shift+tab", "previous_pane", "Previous pane", show=False, id="main.previous_pane"),
        Binding("N", "previous_unread", "Prev unread", show=False, id="main.previous_unread",
                tooltip="Open the previous unread article"),  # fmt: skip
        Binding("J", "next_article", "Next article", show=False, id="main.next_article",
                tooltip="Open the next article of the list"),  # fmt: skip
        Binding("K", "previous_article", "Previous article", show=False, id="main.previous_article",
                tooltip="Open the previous article of the list"),  # fmt: skip
        Binding("m", "toggle_read", "Read", id="main.toggle_read", tooltip="Toggle read / unread"),
        Binding("z", "toggle_story", "Expand", show=False, id="main.toggle_story",
                tooltip="Expand a story to its articles / fold it again"),
        Binding("M", "toggle_story_muted", "Mute story", show=False, id="main.mute_story",
                tooltip="Mute the story for 1, 7, 30 days or for good (no alerts, no unread count) / unmute it"),
        Binding("V", "toggle_plain", "Stories", show=False, id="main.toggle_plain",
                tooltip="One row per story / per article"),
        Binding("A", "mark_all_read", "All read", show=False, id="main.mark_all_read",
                tooltip="Mark every article in this view read"),  # fmt: skip
        Binding("u", "undo_read", "Undo read", show=False, id="main.undo_read",
                tooltip="Mark unread again what the last mark-read marked"),  # fmt: skip
        Binding("s", "toggle_star", "Star", id="main.toggle_star", tooltip="Star / unstar"),
        Binding("o", "open_in_browser", "Browser", id="main.open_in_browser",
                tooltip="Open the article's link in the browser (http/https only)"),  # fmt: skip
        Binding("r", "refresh_selected", "Refresh", id="main.refresh", tooltip="Refresh the selected feed(s)"),
        Binding("R", "refresh_all", "Refresh all", id="main.refresh_all", tooltip="Refresh every feed"),
        Binding("U", "toggle_unread_only", "Unread only", show=False, id="main.unread_only",
                tooltip="Show only unread articles in every list, or all again"),  # fmt: skip
        Binding("S", "cycle_sort", "Sort", show=False, id="main.sort", tooltip="Change the order of the list"),
        Binding("w", "save_search", "Save search", show=False, id="main.save_search", priority=True,
                tooltip="Save the current search as a saved search or an alert rule"),  # fmt: skip
        Binding("L", "links", "Links", show=False, id="main.links", tooltip="The article's links"),
        Binding("a", "add_feed", "Add feed", show=False, id="main.add_feed", tooltip="Subscribe to a feed URL",
                priority=True),
        Binding("d", "remove_feed", "Remove", show=False, id="main.remove_feed",
                tooltip="Unsubscribe from the selected feed, or delete the selected rule"),  # fmt: skip
        Binding("e", "feed_info", "Details", show=False, id="main.feed_info", priority=True,
                tooltip="The selected feed's details and last error, or the selected rule's"),  # fmt: skip
        Binding("E", "rules", "Rules", show=False, id="main.rules",
                tooltip="Every rule: matches, last alert, recent articles; edit, pause, delete"),  # fmt: skip
        Binding("vertical_line", "pipe", "Pipe", show=False, id="main.pipe",
                tooltip="Pipe the article to a command ([ui] pipe, else $PAGER)"),  # fmt: skip
        Binding("i", "import_opml", "Import OPML", show=False, id="main.import_opml", priority=True,
                tooltip="Subscribe to the feeds of an OPML file"),  # fmt: skip
        # One help line for the nine: the others have no description, so help and the palette skip them.
        *[
            Binding(str(n), f"open_link({n})", "Open link" if n == 1 else "", show=False, key_display="1…9",
                    id=f"main.open_link_{n}", tooltip="Open the article's link of that number" if n == 1 else "")
            for n in range(1, 10)
        ],  # fmt: skip
    ]

    def __init__(self, library: Library, *, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__()
        self.library = library
        self.poll_seconds = poll_seconds
        self.feeds: list[Feed] = []
        self.rules: tuple = ()
        self.rules_signature: tuple | None = None
        self.counts = Counts()
        self.started_up = False  # the first counts are in
        self.spare_counts: Counts | None = None  # the other mode's (V) counts, kept current by hand too
        self.recount_after_view: dict | None = None  # V without spare counts: recount once the list is drawn
        self.view_notice = ""  # said once the view's rows are shown (a toast first would delay them a frame)
        self.source = Source(ALL)
        self.sort = "newest"
        self.unread_only = library.store.get_meta(UNREAD_ONLY_KEY) == "1"  # every list, remembered
        self.plain = library.store.get_meta(PLAIN_KEY) == "1"  # one row per article, not per story
        self.scope: Scope | None = None  # what the list's story rows stand for (None: one row per article)
        self.opened_row: int | None = None  # the story row opened last (the reader shows an article of its story)
        self.unread_next: tuple[Source, int] | None = None  # n/N moved to this source: open its first/last unread
        self.shown_view: View | None = None  # the view whose rows the list shows
        self.search: ParsedQuery | None = None
        self.unparsed: str | None = None  # a query being typed that does not parse yet: the list shows nothing
        self.known_alert_id = 0  # the newest alert this screen has heard of (newer ones make a toast)
        self.last_refresh: datetime | None = None
        self.refreshing = False
        self.catching_up = False  # the start-up index catch-up runs (a writer, as a refresh is)
        self.queued_refresh: list[int] | None = None  # R pressed meanwhile: these feeds ([] all) once it ends
        self.undo_stack: list[list[int]] = []  # the ids each mark-read made read, for u
        self.listed_all = True  # False while the list holds only a view's first rows (the rest are loading)
        self.rules_asked = False  # the rules are read once the first view is drawn
        self._search_timer: Timer | None = None
        self._preview_timer: Timer | None = None

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            yield Sidebar(id="sidebar")
            with Container(id="content"):
                with Vertical(id="list-pane"):
                    yield SearchBar(self.library.search_history(), id="search")
                    yield ArticleList(lambda ids: self.library.lines(ids, self.scope), id="articles")
                    yield AlertList(self.library.alerts, id="alerts")
                yield ArticleView(id="reader")
        yield Input(placeholder=FIND_PLACEHOLDER, id="find-input")
        yield StatusBar(id="status")
        yield Footer()

    @property
    def sidebar(self) -> Sidebar:
        return self.query_one(Sidebar)

    @property
    def articles(self) -> ArticleList:
        return self.query_one(ArticleList)

    @property
    def alerts(self) -> AlertList:
        return self.query_one(AlertList)

    @property
    def reader(self) -> ArticleView:
        return self.query_one(ArticleView)

    @property
    def search_bar(self) -> SearchBar:
        return self.query_one(SearchBar)

    def on_mount(self) -> None:
        """Show what is stored at once; counts, rules and the rest follow from workers."""
        self.feeds = self.library.feeds()
        self.last_refresh = max((f.last_fetched_at for f in self.feeds if f.last_fetched_at), default=None)
        self.known_alert_id = max(self.library.alert_ids(), default=0)
        self.rebuild_sidebar()
        self.articles.focus()
        self.load_view()  # the rules and counts are read once the first view has been drawn
        self.update_status()
        self.set_interval(self.poll_seconds, self.poll)

    # -- views ---------------------------------------------------------------------------------

    @property
    def searching(self) -> bool:
        return self.search is not None or self.unparsed is not None

    def current_view(self) -> View:
        if self.searching:
            return View(Source(SEARCH), self.sort, self.search, self.unread_only)
        if self.source.kind == RULE:
            rule = self._rule(self.source.key)
            return View(self.source, self.sort, rule.query if rule else None, self.unread_only)
        return View(self.source, self.sort if self.sort in SORTS else "newest", unread_only=self.unread_only)

    def _rule(self, name: str):
        return next((r for r in self.rules if r.name == name), None)

    def load_view(self, keep_current: bool = True) -> None:
        """Show the current view: alerts now, articles when their ids arrive from a worker.

        The cursor stays on the current article if the view still holds it.
        """
        showing_alerts = self.source.kind == ALERTS and not self.searching
        if self.alerts.display != showing_alerts or self.articles.display == showing_alerts:
            self.articles.display = not showing_alerts
            self.alerts.display = showing_alerts
            self.refresh_bindings()  # the list's keys are off on Alerts
        if showing_alerts:
            ids = self.library.alert_ids()
            self.alerts.show(ids)
            if ids:
                self.library.set_seen_alert_id(max(ids))
            self.sidebar.update_counts(alert_count=0)
            self._set_list_title()
            self.update_status()
            return
        self._set_list_title()
        keep = self.articles.current_head_id if keep_current else None
        # Rows far enough down to hold the current article again (a story row stands for up to a few)
        first = FIRST_ROWS + STORY_ROWS_AHEAD * self.articles.cursor if keep is not None else FIRST_ROWS
        view = self.current_view()
        stored = view.query is None and view.source.kind != SEARCH
        if first <= NOW_ROWS and (stored or self.library.quick_search(view)):
            # A stored list's first rows are a few milliseconds of SQLite, a search of words as many of its
            # index: read here, they are drawn in the key's first frame (a worker's answer would miss it).
            self.workers.cancel_group(self, "view")
            if not stored and keep is None:  # the index's top-k costs by the matches asked for: a few screens' worth
                first = min(first, max(SEARCH_FIRST_ROWS, SEARCH_SCREENS * self.articles.size.height))
            self.view_loaded(self._rows(view, keep, first))
        else:
            self._load_ids(view, keep, first)

    @work(thread=True, exclusive=True, group="view", exit_on_error=False)
    def _load_ids(self, view: View, keep: int | None, first: int = FIRST_ROWS) -> None:
        """Post a view's rows: of a stored list the first screen's first (all of them follow from
        `_load_rest` once these are drawn), so that 100,000 articles paint as fast as fifty; likewise a
        search's first matches when the index gives them alone (`Library.search_limits`), else all at once."""
        searched = view.query is not None or view.source.kind == SEARCH
        self._post_rows(view, keep, first if not searched or self.library.search_limits(view) else None)

    @work(thread=True, group="view-rest", exit_on_error=False)  # cancels nothing: a stale answer is dropped
    def _load_all_ids(self, view: View, keep: int | None) -> None:
        self._post_rows(view, keep, None)

    def _post_rows(self, view: View, keep: int | None, limit: int | None) -> None:
        self.post_message(self._rows(view, keep, limit))

    def _rows(self, view: View, keep: int | None, limit: int | None) -> ViewLoaded:
        searched = view.query is not None or view.source.kind == SEARCH
        if self.plain or searched:
            ids = self.library.order(view, self.feeds, self.rules, limit)
            more = limit is not None and len(ids) >= limit  # only the first rows: the rest follow
            ids, sizes, scope = (ids, None, None) if self.plain else self.library.group_matches(view, ids)
        else:
            ids, sizes, scope = self.library.story_rows(view, self.feeds, self.rules, limit)
            more = limit is not None and len(ids) >= limit
            if keep is not None and keep > 0 and keep not in ids and sizes:  # an article of a story: its story's row
                keep = self.library.story_row_of(keep, list(sizes)) or keep
        return ViewLoaded(view, ids, keep, sizes, scope, first=more)

    def _load_rest(self, view: View, keep: int | None) -> None:
        if view == self.current_view():  # else a newer view is loading
            self._load_all_ids(view, keep)

    @on(ViewLoaded)
    def view_loaded(self, message: ViewLoaded) -> None:
        if message.view != self.current_view() or (message.sizes is None) != self.plain:
            return  # the user has moved on
        keep = self.articles.current_head_id if message.keep == KEEP_CURSOR else message.keep
        if message.first:  # the rest once these are on screen; the cursor stays where the user takes it
            shown = keep is None or keep in message.ids
            self.call_after_refresh(self._load_rest, message.view, KEEP_CURSOR if shown else keep)
            if not shown:
                return  # the current article is further down: keep it until every row is in
        self.listed_all = not message.first
        if message.view.source.kind == SEARCH and message.view.query is None:
            empty = "Nothing searched yet: the query above is not finished (see its error)."
        else:
            empty = "No matches." if message.view.query is not None else _EMPTY.get(message.view.source.kind, _EMPTY[""])
            empty = "No unread articles here (U shows the read ones too)." if message.view.unread_only else empty
        self.scope = message.scope
        again = message.view == self.shown_view  # the same list read again (a refresh): the cursor stays put
        self.shown_view = message.view
        gone = again and keep is not None and keep not in message.ids  # (read, in a list of unread articles)
        if gone:
            keep = self._row_after(keep, message.ids)
        self.articles.show(message.ids, sizes=message.sizes, query=message.view.query, keep=keep,
                           placeholder=empty)
        if again:
            self._keep_reading(gone)
        self._set_list_title()
        self.update_status()
        if self.recount_after_view is not None:
            hits, self.recount_after_view = self.recount_after_view, None
            self.call_after_refresh(self._count, self.rules, self.feeds, not self.plain, hits)
        if self.view_notice:
            self.call_after_refresh(self.notify, self.view_notice, timeout=2)
            self.view_notice = ""
        if self.unread_next is not None and not message.first:  # every row is in: its first (last) unread
            (source, step), self.unread_next = self.unread_next, None
            if source == message.view.source and not self.searching:
                self._next_unread(step, start=-1 if step > 0 else len(message.ids), elsewhere=False)
        if not self.rules_asked:  # the first view is up (its first rows): now the slower reads, once
            self.rules_asked = True
            self.call_after_refresh(self.load_rules)

    def _row_after(self, gone: int, ids: list[int]) -> int | None:
        """Where the cursor goes when its row left the list read again: the first row after it that is still
        there, else the last before it."""
        old = self.articles.ids
        if gone not in old:
            return None
        at, present = old.index(gone), set(ids)
        return next((i for i in old[at + 1 :] if i in present), next((i for i in old[:at][::-1] if i in present), None))

    def _keep_reading(self, gone: bool) -> None:
        """The list was read again: the reader keeps the article it shows, rather than the preview replacing it
        (as for a story row opened), if the cursor's row stands for it (a story whose newest article, the row's
        own, is new; an expanded story's article, folded again), or if it left the list (`gone`: read, in a
        list of unread articles) while still stored, until the cursor moves."""
        article, line = self.reader.article, self.articles.current_line()
        if article is None or line is None or line.id == article.id:
            return
        if gone:
            kept = bool(self.library.lines([article.id]))
        else:
            kept = self.articles.by_story and any(i == article.id for i, *_ in self.library.row_articles(line, self.scope))
        if kept:
            self.opened_row = line.id

    def _set_list_title(self) -> None:
        view = self.current_view()
        if self.alerts.display:
            title = Content(f"Alerts · {len(self.alerts.ids)}")
        else:
            if self.unparsed is not None:
                title = Content(f"Search: {clean_line(self.unparsed, 200)} · not a query yet")
            else:
                name = f"Search: {self.search.text}" if self.search is not None else self.sidebar.title(self.source)
                unread = " unread" if view.unread_only else ""
                articles, stories = self.articles.counted()
                more = "" if self.listed_all else "+"  # only the first rows are in yet
                shown = f"{articles}{more}{unread}" if stories is None else f"{stories}{more}{unread} {story_noun(stories)}"
                title = Content(f"{clean_line(name, 200)} · {shown} · {view.sort}")
        self.query_one("#list-pane").border_title = title

    @on(Sidebar.CursorMoved, "#sidebar")
    def source_highlighted(self) -> None:
        source = self.sidebar.source
        if source is None or source == self.source:
            return
        self.source = source
        self._close_search()
        self.load_view()

    @on(Sidebar.Chosen, "#sidebar")
    def source_selected(self) -> None:
        self._focus(self.alerts if self.alerts.display else self.articles)

    # -- counts, rules, status -----------------------------------------------------------------

    def count_unread(self, rules: tuple, feeds: list[Feed], rule_hits: dict | None = None) -> None:
        """Count again (in a worker); what changed is not known, so the other mode's counts are forgotten.
        `rule_hits`: the rules' matches, when they cannot have changed (no index search then)."""
        self.spare_counts = None
        self._count(rules, feeds, not self.plain, rule_hits)

    @work(thread=True, exclusive=True, group="counts", exit_on_error=False)
    def _count(self, rules: tuple, feeds: list[Feed], by_story: bool, rule_hits: dict | None) -> None:
        self.post_message(CountsLoaded(self.library.counts(rules, feeds, by_story=by_story, rule_hits=rule_hits)))

    @on(CountsLoaded)
    def counts_loaded(self, message: CountsLoaded) -> None:
        if message.counts.by_story == self.plain:  # counted for the other mode: V was pressed meanwhile
            self.spare_counts = message.counts  # fresher than what V kept: its next press shows these
            return
        self.counts = message.counts
        self._show_counts()
        if not self.started_up:
            self.started_up = True
            _freeze_start_up()

    def _show_counts(self) -> None:
        if self.unread_only:
            self.rebuild_sidebar()  # feeds read to the end leave, feeds with news come back
        else:
            self.sidebar.update_counts(self.counts)

    def rebuild_sidebar(self) -> None:
        self.sidebar.rebuild(self.feeds, self.rules, self.counts, self._unseen_alerts(), self.unread_only)

    @work(thread=True, exclusive=True, group="rules", exit_on_error=False)
    def load_rules(self) -> None:
        signature = self.library.rules_signature()
        self.post_message(RulesLoaded(self.library.load_rules().rules, signature))
        self.library.open_index()  # now, in this thread, so that the first search does not wait for it

    @on(RulesLoaded)
    def rules_loaded(self, message: RulesLoaded) -> None:
        first = self.rules_signature is None
        self.rules = message.rules
        self.rules_signature = message.signature
        self.alerts.rule_titles = {r.name: r.display_title for r in self.rules}
        self.alerts.rule_outlets = {r.name: r.outlets for r in self.rules}
        self.alerts.refresh()
        self.reload_feeds()
        if self.source.kind == RULE and not self.searching:
            self.load_view()
        if first and not self.refreshing:
            # Searches miss articles an interrupted fetch stored but did not index: index them now.
            self.refreshing = self.catching_up = True  # a writer: the lock it takes is ours; R waits for it
            self._write_in_background(lambda: IndexCaughtUp(self.library.catch_up_index()))

    def _write_in_background(self, job: Callable[[], Message]) -> None:
        """Run a write job (a refresh, an index catch-up) in a daemon thread and post the message it returns.

        Not a Textual worker: quitting would wait for a worker thread to finish,
        and a refresh can take minutes. The store and the index are crash-safe
        (what a run leaves unfinished, the next one completes), so an
        abandoned write job loses nothing.
        """

        def run() -> None:
            try:
                message = job()
            except Exception as exc:  # noqa: BLE001 - any failure becomes a notice, never a dead thread
                message = RefreshFinished(error=f"{type(exc).__name__}: {exc}")
            self.post_message(message)

        threading.Thread(target=run, name="reader-writer", daemon=True).start()

    @on(IndexCaughtUp)
    def index_caught_up(self, message: IndexCaughtUp) -> None:
        self.refreshing = self.catching_up = False
        if self.queued_refresh is not None:  # R pressed while the index caught up: do it now
            feed_ids, self.queued_refresh = self.queued_refresh, None
            self.start_refresh(feed_ids or None)
        if message.indexed:
            self.count_unread(self.rules, self.feeds)
            if self.current_view().query is not None:
                self.load_view()

    def reload_feeds(self) -> None:
        """Feeds or rules changed: lay the sidebar out again and recount."""
        self.feeds = self.library.feeds()
        self.rebuild_sidebar()
        self.count_unread(self.rules, self.feeds)
        self.update_status()

    def _unseen_alerts(self) -> int:
        return len(self.library.alert_ids(self.library.seen_alert_id()))

    def update_status(self) -> None:
        status = self.library.status(self.feeds)
        if self.refreshing:
            status = replace(status, daemon_running=False)  # the lock held is our own
        if self.alerts.display:
            shown = plural(len(self.alerts.ids), "alert")
        else:
            count, stories = self.articles.counted()
            grouped = stories is not None and stories != count
            shown = plural(count, "article") + (f" in {stories} {story_noun(stories)}" if grouped else "")
            shown = shown if self.listed_all else f"{shown.replace(' ', '+ ', 1)} so far"
        self.query_one(StatusBar).show_status(status, shown)

    def poll(self) -> None:
        """Every few seconds: rule files edited outside, a daemon's refresh, new alerts."""
        if self.rules_signature is not None and self.library.rules_signature() != self.rules_signature:
            self.load_rules()
        if not self.refreshing:
            feeds = self.library.feeds()
            latest = max((f.last_fetched_at for f in feeds if f.last_fetched_at), default=None)
            if latest != self.last_refresh:
                self.reload_feeds()  # the daemon refreshed
                self.load_view()
            self.last_refresh = latest
        self.check_alerts()
        self.update_status()

    def check_alerts(self) -> None:
        """A toast for alerts newer than the last one seen; the Alerts entry counts them."""
        new = self.library.alert_ids(self.known_alert_id)
        if not new:
            return
        self.known_alert_id = max(new)
        alerts = self.library.alerts(new[:3])
        titles = "; ".join(clean_line(alerts[i].title, 80) for i in new[:3] if i in alerts)
        more = f" and {len(new) - 3} more" if len(new) > 3 else ""
        self.notify(f"{titles}{more}", title=f"{len(new)} new alert{'s' * (len(new) != 1)}",
                    severity="warning", markup=False, timeout=8)  # fmt: skip
        if self.alerts.display:
            self.load_view()
        else:
            self.sidebar.update_counts(alert_count=self._unseen_alerts())

    # -- the article pane ----------------------------------------------------------------------------

    @on(ArticleList.CursorMoved, "#articles")
    def article_highlighted(self) -> None:
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(PREVIEW_DELAY, self.preview)

    async def preview(self) -> None:
        """Show the highlighted article without marking it read."""
        article_id = self.articles.current_id
        query = self.current_view().query
        if article_id is not None and article_id == self.opened_row:
            return  # an opened story row shows the story's article it chose
        self.opened_row = None
        if article_id is None:
            await self.reader.show_article(None)
        elif not self.reader.is_showing(article_id, query):
            await self._show_article(article_id, query)

    @on(ArticleList.Chosen, "#articles")
    async def article_chosen(self, event: ArticleList.Chosen) -> None:
        if self.focused is self.reader and self.reader.article is not None and event.index == self.articles.cursor:
            # A second Enter typed at the list before the first one moved the focus: "Enter again".
            self.action_full_screen()
            return
        await self.open_current(focus=True)

    async def open_current(self, focus: bool = False) -> None:
        """Show the list's current article in the reader and mark it read. On a story row: its first unread
        article (else its first), with the others listed, and every article the row stands for marked read."""
        line = self.articles.current_line()
        if line is None:
            return
        query = self.current_view().query
        if focus:
            self._focus(self.reader)  # first: a second Enter typed while the article loads goes to it (full screen)
        story = self.library.row_articles(line, self.scope) if self.articles.is_story_row(self.articles.cursor) else []
        unread = [(i, feed_id) for i, feed_id, is_unread in story if is_unread]
        shown = _story_shown(line, unread)
        self.opened_row = line.id if story else None
        if not self.reader.is_showing(shown, query):
            await self._show_article(shown, query)
        if unread:
            self.mark_read(unread, True, line.story_id, line.muted)
        elif not line.read and not story:
            self.set_read(line, True)

    async def _show_article(self, article_id: int, query: ParsedQuery | None) -> None:
        """Show an article in the reader, with the other articles of its story listed in its header."""
        article = self.library.article(article_id)
        story = article.story_id if article else None
        await self.reader.show_article(article, query, also=self.library.also_covered(article) if article else (),
                                       muted=self.library.muted_until(story) if story is not None else None)

    @on(AlertList.CursorMoved, "#alerts")
    def alert_highlighted(self) -> None:
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(PREVIEW_DELAY, self.preview_alert)

    async def preview_alert(self) -> Article | None:
        """Show the highlighted alert: which rule, the words it matched, where it went, then its article."""
        alert = self.alerts.current_alert if self.alerts.display else None
        if alert is None:
            return None
        rule = self._rule(alert.rule)
        details = alert_details(alert, self.alerts.rule_title(alert.rule), self.alerts.outlets_wanted(alert))
        article = self.library.article(alert.article_id) if alert.article_id else None
        query = rule.query if rule and article else None
        if not self.reader.is_showing(article.id if article else None, query, details):
            await self.reader.show_article(article, query, alert=details)
        return article

    @on(AlertList.Chosen, "#alerts")
    async def alert_chosen(self) -> None:
        """Open the alert's article, its rule's terms marked, under the alert's details."""
        article = await self.preview_alert()
        if article is None:
            self.notify("That alert's article is no longer stored.", severity="warning")
            return
        line = self.library.lines([article.id]).get(article.id)
        if line is not None and not line.read:
            self.set_read(line, True)
        self._focus(self.reader)

    def action_retry_alerts(self) -> None:
        if self.refreshing:
            self.notify("A refresh is running (it sends due alerts itself); try again when it is done.")
            return
        self.refreshing = True  # a writer, as a refresh is

        def retry() -> AlertsRetried:
            from ...lock import WriterBusy

            try:
                return AlertsRetried(self.library.retry_alerts())
            except WriterBusy as exc:
                return AlertsRetried(str(exc), error=True)

        self.notify("Sending failed and pending alerts again…", timeout=2)
        self._write_in_background(retry)

    @on(AlertsRetried)
    def alerts_retried(self, message: AlertsRetried) -> None:
        self.refreshing = False
        self.notify(clean_line(message.outcome, 1000), title="Alerts", markup=False,
                    severity="warning" if message.error or "failed" in message.outcome else "information")  # fmt: skip
        if self.alerts.display:
            self.load_view()
            self.call_after_refresh(self.preview_alert)

    def set_read(self, line: ArticleLine, read: bool) -> None:
        if line.read != read:
            self.mark_read([(line.id, line.feed_id)], read, line.story_id, line.muted)
        if not self.articles.by_story:
            self.articles.replace_line(replace(line, read=read))

    def mark_read(self, articles: list[tuple[int, int]], read: bool, story_id: int | None, muted: bool = False) -> None:
        """Mark articles (id, feed id) of one story read or unread (remembered for u); the sidebar's counts
        follow by hand: a story's count moves only when none of its articles stays unread there."""
        if self.library.store.read_only:
            return  # opening an article marks nothing there (the keys that mark are off)
        ids = [i for i, _ in articles]
        self.library.set_read(ids, read)
        if read:
            self._remember_marked(ids)
        if not muted:  # a muted story's articles count nowhere
            counts = [c for c in (self.counts, self.spare_counts) if c is not None]
            counts = counts[:1] if len(counts) == 2 and counts[0] is counts[1] else counts
            others = self.library.unread_left(story_id, ids) if any(c.by_story for c in counts) else []
            for c in counts:
                c.read_changed(articles, read, others)
            self.sidebar.update_counts(self.counts)
        if self.articles.by_story:
            self.articles.forget_story(story_id, ids)  # the story's row changes with any of its articles

    # -- actions: moving around -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Actions on the article list are off while the Alerts list is shown (and so hidden from the footer);
        `b` is there only on a compact screen."""
        if action in TEXT_BOX_ACTIONS and not parameters and isinstance(self.focused, Input):
            return False  # a `/` or an `a` typed in a box is text (Ctrl+S there says `save_search(True)`)
        if action in LIST_ACTIONS and self.is_mounted and self.alerts.display:
            return False
        if action in WRITE_ACTIONS and self.library.store.read_only:
            return None
        if action == "sources":  # elsewhere the sidebar is always on screen
            return self.has_class("-compact") and self.maximized is None
        return True

    def _panes(self) -> list:
        middle = self.alerts if self.alerts.display else self.articles
        panes = [self.sidebar, middle, self.reader]
        return ([self.search_bar.input] if self.search_bar.is_open else []) + panes

    def _cycle_focus(self, step: int) -> None:
        if self.maximized is not None:
            return  # the full-screen article is the only pane
        panes = self._panes()
        focused = self.focused
        index = next((i for i, p in enumerate(panes) if p is focused), 0)
        self._focus(panes[(index + step) % len(panes)])

    def _focus(self, pane) -> None:
        """Focus a pane now, so that keys typed right after go to it."""
        self.set_focus(pane)

    def watch_focused(self, widget: Widget | None) -> None:
        """The looks that follow the focus, each a class restyling one widget alone (no rule below it depends on
        it): the list pane's border while the list or the search box has focus; a compact screen's sidebar over
        the list while the sidebar has it. (Textual restyles every widget below a `:focus-within` pane, and the
        whole screen for a class of its own: 5–30 ms a focus move.)"""
        try:
            pane, sidebar = self.query_one("#list-pane"), self.sidebar
        except NoMatches:  # not composed yet
            return
        restyle = []
        if pane.has_class("-focus") != (within := widget is not None and pane in widget.ancestors_with_self):
            pane.set_class(within, "-focus", update=False)
            restyle.append(pane)
        if self.has_class("-sidebar-open") != (widget is sidebar):
            self.set_class(widget is sidebar, "-sidebar-open", update=False)
            restyle.append(sidebar)
        if restyle:
            self.app.stylesheet.update_nodes(restyle, animate=True)

    def on_resize(self) -> None:
        self.refresh_bindings()  # `b` comes and goes with the compact layout
        self.query_one(Footer).show_command_palette = not self.has_class("-compact")  # room for two more keys

    def action_sources(self) -> None:
        self._focus(self.sidebar)

    def action_next_pane(self) -> None:
        self._cycle_focus(1)

    def action_previous_pane(self) -> None:
        self._cycle_focus(-1)

    @property
    def find_input(self) -> Input:
        return self.query_one("#find-input", Input)

    def action_back(self, may_quit: bool = True) -> None:
        """q: close the find box or the full-screen article, or the search, else go one pane left; from the sidebar, quit."""
        focused = self.focused
        if self.find_input.has_class("-open"):
            self.find_input.remove_class("-open")
            self._focus(self.reader)
        elif self.maximized is not None:
            self.minimize()
        elif self.search_bar.is_open and (focused is self.search_bar.input or focused is not self.reader):
            self._close_search(reload=True)
            self._focus(self.articles)
        elif focused is self.reader:
            self._focus(self.alerts if self.alerts.display else self.articles)
        elif focused is not self.sidebar:
            self._focus(self.sidebar)
        elif may_quit and self.app.quit_question is not None:
            self.app.push_screen(ConfirmScreen(self.app.quit_question), lambda yes: yes and self.app.exit())
        elif may_quit:
            self.app.exit()

    # -- actions: reading -----------------------------------------------------------------------------

    def target_line(self) -> ArticleLine | None:
        """The article an action is for: the one in the reader when it has focus, else the highlighted one."""
        if self.focused is self.reader and self.reader.article is not None:
            article_id = self.reader.article.id
        elif self.alerts.display:
            alert = self.alerts.current_alert
            article_id = alert.article_id if alert else None
        else:
            return self.articles.current_line()
        return self.library.lines([article_id]).get(article_id) if article_id is not None else None

    def _on_story_row(self) -> bool:
        """An action goes to the list's story row (not to the article in the reader, nor to an alert)."""
        return self.focused is not self.reader and not self.alerts.display \
            and self.articles.is_story_row(self.articles.cursor)

    def action_toggle_read(self) -> None:
        line = self.target_line()
        if line is None:
            return
        if self._on_story_row():  # every article the row stands for read, or unread again if all were
            story = self.library.row_articles(line, self.scope)
            unread = [(i, feed_id) for i, feed_id, is_unread in story if is_unread]
            self.mark_read(unread or [(i, feed_id) for i, feed_id, _ in story], bool(unread), line.story_id, line.muted)
            self.notify(f"Marked the story's {plural(len(unread or story), 'article')} {'read' if unread else 'unread'}"
                        f"{'. u undoes it.' if unread else '.'}", timeout=3)  # fmt: skip
        else:
            self.set_read(line, not line.read)

    def action_toggle_story(self) -> None:
        """Expand the story under the cursor to its articles, or fold it (from any of its rows)."""
        articles = self.articles
        index = articles.head_index(articles.cursor)
        line = articles.line(index)
        if line is None or self.plain:
            return
        if articles.is_expanded(index):
            articles.collapse(index)
        elif articles.story_size(line.id) > 1:
            articles.expand(index, self.library.story_members(line, self.scope))
        else:
            self.notify("This article is a story of its own.", timeout=2)

    def action_toggle_story_muted(self) -> None:
        """M: ask how long to mute the story (no alerts, no unread count); on a muted story, unmute it."""
        line = self.target_line()
        if line is None:
            return
        if line.story_id is None:
            self.notify("This article is not grouped into a story yet.", timeout=3)
            return
        if self.library.muted_until(line.story_id) is not None:
            self.library.unmute_story(line.story_id)
            self._mute_changed(line.story_id, None, "Story unmuted: it alerts and counts as unread again.")
            return
        self.app.push_screen(MuteScreen(line.title), lambda choice: choice and self._mute(line.story_id, *choice))

    def _mute(self, story_id: int, label: str, length) -> None:
        until = self.library.mute_story(story_id, length)
        when = "until you unmute it" if length is None else f"for {label}, until {until.astimezone():%Y-%m-%d %H:%M}"
        self._mute_changed(story_id, until, f"Story muted {when}: no alerts, no unread count. M unmutes it.")

    def _mute_changed(self, story_id: int, until: datetime | None, notice: str) -> None:
        self.articles.forget_lines()
        self.count_unread(self.rules, self.feeds)
        article = self.reader.article
        if article is not None and article.story_id == story_id:
            self.reader.show_muted(until)
        self.notify(notice)

    def action_toggle_plain(self) -> None:
        self.plain = not self.plain
        self.library.remember(PLAIN_KEY, "1" if self.plain else "0")
        # The sidebar counts what the rows are, stories or articles: the other mode's counts if kept, else
        # counted once the list is drawn (the rules' matches are the same: no search).
        by_story = not self.plain
        spare = self.spare_counts
        if self.counts.by_story != by_story:
            self.spare_counts = self.counts
        if spare is not None and spare.by_story == by_story:
            self.counts = spare
            self._show_counts()
        elif any(w.group == "counts" and not w.is_finished for w in self.workers):
            self.count_unread(self.rules, self.feeds)  # a count under way (a refresh) may find newer matches
        else:
            self.recount_after_view = self.counts.rule_hits
        self.view_notice = "One row per article." if self.plain else "One row per story."
        self.load_view()

    def action_toggle_star(self) -> None:
        line = self.target_line()
        if line is None:
            return
        self.library.set_starred(line.id, not line.starred)
        self.articles.replace_line(replace(line, starred=not line.starred))
        self.counts.starred_changed(not line.starred)
        if self.spare_counts is not None and self.spare_counts is not self.counts:
            self.spare_counts.starred_changed(not line.starred)
        self.sidebar.update_counts(self.counts)
        if self.reader.article is not None and self.reader.article.id == line.id:
            self.reader.show_starred(not line.starred)

    def action_mark_all_read(self) -> None:
        ids = list(self.articles.ids)
        if not ids:
            return
        title = clean_line(f"Search: {self.search.text}" if self.search is not None else self.sidebar.title(self.source))
        question = Content.assemble("Mark every article of ", (title, "bold"), f" read ({len(ids)})? u undoes it.")
        whole = not self.plain or not self.listed_all  # story rows, or only the first rows yet
        self.app.push_screen(ConfirmScreen(question), lambda yes: yes and self._mark_read(ids, whole))

    @work(thread=True, exclusive=True, group="mark", exit_on_error=False)
    def _mark_read(self, ids: list[int], whole: bool = False) -> None:
        if whole:  # every article of the view, not only the rows listed
            ids = self.library.order(self.current_view(), self.feeds, self.rules)
        unread = sorted(self.library.unread_among(ids))
        self.library.set_read(unread, True)
        self.app.call_from_thread(self._marked_read, unread)

    def _marked_read(self, ids: list[int]) -> None:
        self._remember_marked(ids)
        self.articles.forget_lines()
        self.count_unread(self.rules, self.feeds)
        self.notify(f"Marked {len(ids)} article{'s' * (len(ids) != 1)} read. u undoes it.")

    def _remember_marked(self, ids: list[int]) -> None:
        if ids:
            self.undo_stack = [*self.undo_stack[-(UNDO_DEPTH - 1) :], ids]

    def action_undo_read(self) -> None:
        if not self.undo_stack:
            self.notify("No mark-read to undo.")
            return
        ids = self.undo_stack.pop()
        self.library.set_read(ids, False)
        self.articles.forget_lines()
        self.count_unread(self.rules, self.feeds)
        self.notify(f"Marked {len(ids)} article{'s' * (len(ids) != 1)} unread again.")

    def action_next_unread(self) -> None:
        if not self._find_step(1):
            self._next_unread(1)

    def action_previous_unread(self) -> None:
        if not self._find_step(-1):
            self._next_unread(-1)

    def _next_unread(self, step: int, start: int | None = None, elsewhere: bool = True) -> None:
        """The next unread row after `start` (the cursor), then from the list's other end up to it, as newsboat
        wraps: among the rows read for drawing (most often a few rows on) at once, else looked for in the store
        by a worker. None in the list: the next source with unread articles (`elsewhere`)."""
        articles = self.articles
        start = articles.cursor if start is None else start
        found = articles.next_unread_drawn(start, step)
        if found is not None and found >= 0:
            self.unread_found(UnreadFound(articles.ids, articles.cursor, articles.ids[found], step, elsewhere))
        else:
            self._find_unread(articles.ids, articles.cursor, start, step, articles.story_rows(), self.scope, elsewhere)

    @work(thread=True, exclusive=True, group="find", exit_on_error=False)
    def _find_unread(self, ids: list[int], cursor: int, start: int, step: int, stories: frozenset[int],
                     scope: Scope | None, elsewhere: bool) -> None:  # fmt: skip
        """Look through the view's ids from `start` on, then round from the other end, then `start`'s own row
        (an unread row previewed, not opened), a chunk at a time, for an unread row (a story row while any article
        it stands for is unread)."""
        after, before, own = ids[start + 1 :], ids[: max(0, start)], ids[start : start + 1] if start >= 0 else []
        ahead = (after + before if step > 0 else before[::-1] + after[::-1]) + own
        for begin in range(0, len(ahead), UNREAD_CHUNK):
            chunk = ahead[begin : begin + UNREAD_CHUNK]
            unread = self.library.unread_rows(chunk, stories, scope) if scope else self.library.unread_among(chunk)
            found = next((i for i in chunk if i in unread), None)
            if found is not None:
                self.post_message(UnreadFound(ids, cursor, found, step, elsewhere))
                return
        self.post_message(UnreadFound(ids, cursor, None, step, elsewhere))

    @on(UnreadFound)
    def unread_found(self, message: UnreadFound) -> None:
        if message.ids is not self.articles.ids or message.cursor != self.articles.cursor:
            return  # the list or the cursor moved since (an older search's late answer)
        if message.article_id is None:
            if not (message.elsewhere and self._unread_elsewhere(message.step)):
                self.notify("No more unread articles here." if message.elsewhere else "No more unread articles.")
            return
        self.articles.move_to(self.articles.ids.index(message.article_id))
        self.call_after_refresh(self.open_current)  # the cursor is drawn there first, then the article loads

    def _unread_elsewhere(self, step: int) -> bool:
        """newsboat's goto-next-feed: the list has nothing unread left, so n (N) shows the next (previous)
        sidebar entry of its kind (a feed, a group, a saved search or rule) with unread articles, round past the
        end, and opens its first (last) unread row once its rows are in. False if there is none."""
        if self.searching or self.source.kind not in (FEED, GROUP, RULE):
            return False
        sources = [row.source for row in self.sidebar.rows if row.source and row.source.kind == self.source.kind]
        here = sources.index(self.source) if self.source in sources else len(sources)
        after, before = sources[here + 1 :], sources[:here]
        order = after + before if step > 0 else before[::-1] + after[::-1]
        target = next((s for s in order if self.sidebar.count(s)), None)
        if target is None:
            return False
        self.unread_next = (target, step)
        self.sidebar.select(target.id)  # its CursorMoved finds the source shown already
        self.source = target
        self.load_view(keep_current=False)
        self.notify(f"On to {clean_line(self.sidebar.title(target), 200)}.", timeout=2, markup=False)
        return True

    def action_open_in_browser(self) -> None:
        """The article in the browser, marked read; on a story row, the article Enter would show, and the story
        read as Enter marks it (`u` undoes it)."""
        line = self.target_line()
        if line is None:
            return
        unread: list[tuple[int, int]] = []
        if self._on_story_row():
            unread = [(i, feed_id) for i, feed_id, is_unread in self.library.row_articles(line, self.scope) if is_unread]
        article = self.library.article(_story_shown(line, unread))
        if article is None:
            return
        self._open_url(article.link)
        if not is_web_url(article.link):
            return
        if unread:
            self.mark_read(unread, True, line.story_id, line.muted)
        elif not line.read:
            self.set_read(line, True)

    def _open_url(self, url: str) -> None:
        if not is_web_url(url):
            self.notify(f"Not opening {clean_line(url, 200) or 'an empty link'}: only http and https links open.",
                        severity="warning", markup=False)  # fmt: skip
            return
        self.app.open_url(url)

    @on(ArticleBody.LinkClicked)
    def link_clicked(self, event: ArticleBody.LinkClicked) -> None:
        self._open_url(event.href)

    def action_open_link(self, number: int) -> None:
        link = self.reader.link(number)
        if link is None:
            self.notify(f"This article has no link {number}.", severity="warning")
        else:
            self._open_url(link.url)

    def action_links(self) -> None:
        if self.reader.links:
            self.app.push_screen(LinksScreen(self.reader.links), lambda url: url and self._open_url(url))
        else:
            self.notify("This article has no links.")

    def action_toggle_unread_only(self) -> None:
        self.unread_only = not self.unread_only
        self.library.remember(UNREAD_ONLY_KEY, "1" if self.unread_only else "0")
        self.rebuild_sidebar()
        self.load_view()
        self.notify("Unread articles only." if self.unread_only else "All articles, read ones too.", timeout=2)

    def action_cycle_sort(self) -> None:
        sorts = QUERY_SORTS if self.current_view().query is not None else SORTS
        self.sort = sorts[(sorts.index(self.sort) + 1) % len(sorts)] if self.sort in sorts else sorts[0]
        self.load_view()
        self.notify(f"Sorted by {self.sort}.", timeout=2)

    # -- search ----------------------------------------------------------------------------------------

    def action_search(self) -> None:
        if self.maximized is self.reader:  # full screen, / finds in the article
            self.find_input.add_class("-open")
            self.find_input.value = ""
            self.set_focus(self.find_input)
        else:
            self.search_bar.open()

    @on(Input.Submitted, "#find-input")
    async def find_submitted(self, event: Input.Submitted) -> None:
        self.find_input.remove_class("-open")
        self._focus(self.reader)
        count = await self.reader.find(event.value)
        if not event.value.strip():
            return
        if not count:
            self.notify(f"Not in this article: {clean_line(event.value, 100)}", severity="warning", markup=False)
            return
        self.reader.next_found(1)
        self.notify(f"1 of {count} (n / N: next / previous)", timeout=3, markup=False)

    def action_full_screen(self) -> None:
        """The article full screen (a pager: j/k, Space/-, g/G, / and n/N, J/K for the next article), and back."""
        if self.maximized is not None:
            self.minimize()
        elif self.reader.article is not None:
            self.maximize(self.reader, container=False)
            self._focus(self.reader)

    def _find_step(self, step: int) -> bool:
        """n/N in the full-screen article after a find: the next place found. False if there is no find."""
        if self.maximized is not self.reader or not self.reader.found:
            return False
        at = self.reader.next_found(step)
        self.notify(f"{at + 1} of {len(self.reader.found)}", timeout=2)
        return True

    def action_next_article(self) -> None:
        self._step_article(1)

    def action_previous_article(self) -> None:
        self._step_article(-1)

    @work(exclusive=True, group="step")
    async def _step_article(self, step: int) -> None:
        """J/K: open the next or previous article of the list (full screen stays full screen)."""
        if self.alerts.display or not self.articles.row_count:
            return
        self.articles.move_to(self.articles.cursor + step)
        await self.open_current()

    def remember_search(self, text: str) -> None:
        self.search_bar.remember(text)
        self.library.set_search_history(self.search_bar.history)

    @on(Input.Changed, "#search-input")
    def query_typed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DEBOUNCE, lambda: self.run_search(event.value))

    @on(Input.Submitted, "#search-input")
    def query_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self.run_search(event.value)
        if self.search is not None:
            self.remember_search(self.search.text)
        self._focus(self.articles)

    def run_search(self, text: str) -> None:
        """Parse the query; show its error or warnings under the box, its matches in the list."""
        if not text.strip():
            self.search_bar.show_message("")
            if self.searching:
                self.search = self.unparsed = None
                self.load_view()
            return
        try:
            from ...index import parse_query

            query = parse_query(text)
        except QueryError as exc:
            self.search_bar.show_error(exc.message, exc.text, exc.position)
            self.search, self.unparsed = None, text  # no results rather than the whole list, which looks like some
            self.load_view(keep_current=False)
            return
        self.search_bar.show_message("\n".join(query.warnings), "warning" if query.warnings else "")
        if not self.searching and self.sort not in QUERY_SORTS:
            self.sort = "newest"
        self.search, self.unparsed = query, None
        self.load_view(keep_current=False)

    def _close_search(self, reload: bool = False) -> None:
        if not self.search_bar.is_open and not self.searching:
            return
        self.search_bar.close()
        self.search = self.unparsed = None
        if reload:
            self.load_view()

    async def action_save_search(self, _from_box: bool = False) -> None:
        typed = self.search_bar.input.value
        if self.search_bar.is_open and typed != (self.search.text if self.search is not None else self.unparsed):
            if self._search_timer is not None:
                self._search_timer.stop()
            self.run_search(typed)  # save what the box says now, not what was searched a moment ago
        if self.unparsed is not None:
            self.notify("Finish the query first: its error is under the search box.", severity="warning")
            return
        if self.search is not None:
            self.remember_search(self.search.text)
        query = self.search if self.search is not None else self.current_view().query
        if query is None:
            self.notify("Search first (/), then save the search.", severity="warning")
            return
        from .save_rule import SaveRuleScreen

        await self._open_dialog(SaveRuleScreen(self.library, query), self._rule_saved)

    async def _open_dialog(self, dialog: Screen, answered: Callable) -> None:
        """Show a dialog and return once it is mounted with a box focused. Its key is a priority binding, run as
        the key arrives, before the keys that follow it are sent to the focused widget: they are the dialog's
        (a burst typed at once), not commands of the list (or text of the search box)."""
        await self.app.push_screen(dialog, answered)
        if dialog.focused is None:
            dialog.focus_next()

    def _rule_saved(self, path) -> None:
        if path is not None:
            self.notify(f"Saved {path.name}. It appears in the sidebar.", markup=False)
            self.load_rules()

    # -- feeds -------------------------------------------------------------------------------------------

    def selected_feed(self) -> Feed | None:
        """The feed under the sidebar's cursor, else the feed of the highlighted article."""
        source = self.sidebar.source
        feed_id = int(source.key) if source and source.kind == FEED else None
        if feed_id is None and self.focused is not self.sidebar:
            line = self.articles.current_line()
            feed_id = line.feed_id if line else None
        return next((f for f in self.feeds if f.id == feed_id), None)

    def selected_rule(self):
        """The saved search or rule under the sidebar's cursor, when the sidebar has focus."""
        source = self.sidebar.source
        if self.focused is self.sidebar and source is not None and source.kind == RULE:
            return self._rule(source.key)
        return None

    def action_pipe(self) -> None:
        from ..pipe import pipe_article

        line = self.target_line()
        article = self.library.article(line.id) if line else None
        if article is not None:
            pipe_article(self.app, article, self.library.settings)

    def action_rules(self, select: str | None = None, then: str = "") -> None:
        from .rules import RulesScreen

        screen = RulesScreen(self.library, select=select, then=then, by_story=not self.plain)  # counted as here
        self.app.push_screen(screen, lambda _: self.poll())

    async def action_feed_info(self) -> None:
        if (rule := self.selected_rule()) is not None:
            return self.action_rules(rule.name, then="edit")  # the rule's figures, its edit dialog on top
        feed = self.selected_feed()
        if feed is None:
            self.notify("Select a feed or a rule first.", severity="warning")
            return
        await self._open_dialog(FeedInfoScreen(feed, self.library.feed_article_count(feed.id)),
                                lambda answer: answer and self._edit_feed(feed, *answer))  # fmt: skip

    def _edit_feed(self, feed: Feed, title: str, group: str) -> None:
        """Rename and regroup a feed (a refresh fills an empty title from the feed again)."""
        if (title, group) == (feed.title, feed.group):
            return
        self.library.edit_feed(feed.id, title=title, group=group)
        self.reload_feeds()
        self.load_view()
        self.notify(f"{clean_line(title or feed.display_title, 200)} is in {clean_line(group) or 'no group'}.",
                    markup=False)  # fmt: skip

    async def action_add_feed(self) -> None:
        from .feed_add import AddFeedScreen

        await self._open_dialog(AddFeedScreen(self.library), self._feed_added)

    def _feed_added(self, answer: tuple[str, str] | None) -> None:
        if answer is None:
            return
        feed, created = self.library.add_feed(*answer)
        if not created:
            self.notify(f"Already subscribed: {clean_line(feed.display_title)}", markup=False)
            return
        self.reload_feeds()
        self.notify(f"Added {clean_line(redact_url(feed.url), 200)}; fetching it…", markup=False)
        self.start_refresh([feed.id])

    def action_remove_feed(self) -> None:
        rule = self.selected_rule()
        if rule is not None:
            question = Content.assemble("Delete the ", "saved search " if rule.is_saved_search else "alert rule ",
                                        (clean_line(rule.display_title), "bold"), f" ({rule.path.name})? "
                                        "Its past alerts stay listed.")  # fmt: skip
            self.app.push_screen(ConfirmScreen(question), lambda yes: yes and self._delete_rule(rule))
            return
        feed = self.selected_feed()
        if feed is None:
            self.notify("Select a feed or a rule first.", severity="warning")
            return
        question = Content.assemble("Unsubscribe from ", (clean_line(feed.display_title), "bold"),
                                    " and delete its articles?")  # fmt: skip
        self.app.push_screen(ConfirmScreen(question), lambda yes: yes and self._remove_feed(feed))

    def _delete_rule(self, rule) -> None:
        try:
            rule.path.unlink()
        except OSError as exc:
            self.notify(f"Could not delete {rule.path}: {exc.strerror}", severity="error", markup=False)
            return
        self.notify(f"Deleted {clean_line(rule.display_title)} ({rule.path.name}).", markup=False)
        self.load_rules()

    def _remove_feed(self, feed: Feed) -> None:
        self.library.remove_feed(feed.id)
        if self.source == Source(FEED, str(feed.id)):
            self.source = Source(ALL)
        self.reload_feeds()
        self.load_view()
        self.notify(f"Removed {clean_line(feed.display_title)}.", markup=False)

    async def action_import_opml(self) -> None:
        screen = PathScreen("Import feeds", "An OPML file, or a newsboat urls file · Enter imports · Esc cancels")
        await self._open_dialog(screen, self._import)

    def _import(self, path) -> None:
        if path is None:
            return
        from ...opml import OPMLError

        try:
            report = self.library.import_subscriptions(path)
        except (OPMLError, OSError) as exc:
            self.notify(clean_line(str(exc), 500), title="Import failed", severity="error", markup=False)
            return
        self.reload_feeds()
        skipped = "".join(f"\nskipped: {clean_line(line, 200)}" for line in report.skipped[:5])
        more = f"\n… and {len(report.skipped) - 5} more skipped" if len(report.skipped) > 5 else ""
        summary = clean_line(report.summary(), 1000)
        self.notify(f"{summary[:1].upper()}{summary[1:]}.{skipped}{more}\nPress R to fetch them.", markup=False,
                    severity="warning" if report.skipped or report.recovered else "information")  # fmt: skip

    # -- refresh -------------------------------------------------------------------------------------

    def action_refresh_all(self) -> None:
        self.start_refresh(None)

    def action_refresh_selected(self) -> None:
        source = self.sidebar.source if self.focused is self.sidebar else None
        if source is not None and source.kind in (FEED, GROUP):
            self.start_refresh(self.sidebar.feed_ids(source))
            return
        feed = self.selected_feed()
        if feed is None:
            self.notify("Select a feed first (R refreshes all).", severity="warning")
        else:
            self.start_refresh([feed.id])

    def start_refresh(self, feed_ids: list[int] | None) -> None:
        if self.catching_up:
            self.queued_refresh = feed_ids or []
            self.notify("The refresh starts as soon as the search index has caught up.")
            return
        if self.refreshing:
            self.notify("A refresh is already running.")
            return
        self.refreshing = True
        self.query_one(StatusBar).show_progress("refreshing", 0, None)
        self._write_in_background(lambda: self._refresh(feed_ids))

    def _refresh(self, feed_ids: list[int] | None) -> RefreshFinished:
        """The whole pipeline (fetch, pages, index, alerts) under the writer lock; runs off the event loop."""
        from ...ingest import run_ingest
        from ...lock import WriterBusy

        try:
            report = run_ingest(self.library.settings, feed_ids=feed_ids,
                                progress=lambda event: self.post_message(RefreshProgress(event)))  # fmt: skip
        except WriterBusy as exc:
            return RefreshFinished(error=str(exc), daemon=exc.pid if exc.daemon else None)
        return RefreshFinished(report)

    @on(RefreshProgress)
    def refresh_progress(self, message: RefreshProgress) -> None:
        from ...ingest import FeedDone, FeedsStarted, IndexProgress, PagesProgress

        event = message.event
        bar = self.query_one(StatusBar)
        if isinstance(event, FeedsStarted):
            bar.show_progress("feeds", 0, event.total)
        elif isinstance(event, FeedDone):
            bar.show_progress("feeds", event.done, event.total)
        elif isinstance(event, PagesProgress) and event.total:
            bar.show_progress("pages", event.done, event.total)
        elif isinstance(event, IndexProgress) and event.total:
            bar.show_progress("index", event.done, event.total)

    @on(RefreshFinished)
    def refresh_finished(self, message: RefreshFinished) -> None:
        self.refreshing = False
        self.query_one(StatusBar).hide_progress()
        if message.error and message.daemon is not None:
            self.notify(f"The daemon (pid {message.daemon}) refreshes the feeds on its schedule; what it brings "
                        "shows up here as it lands.", title="Not refreshed", markup=False)  # fmt: skip
            self.update_status()
            return
        if message.error:
            self.notify(clean_line(message.error, 500), title="Not refreshed", severity="warning", markup=False)
            self.update_status()
            return
        report = message.report
        errors = len(report.errors)
        text = f"{plural(len(report.outcomes), 'feed')}: {plural(len(report.new_ids), 'new article')}"
        text += f", {errors} feed error{'s' * (errors != 1)} (e shows a feed's error)" if errors else ""
        self.notify(text, title="Refreshed", severity="warning" if errors else "information", markup=False)
        self.reload_feeds()
        self.last_refresh = max((f.last_fetched_at for f in self.feeds if f.last_fetched_at), default=None)
        self.load_view()
        self.check_alerts()

    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        """A worker that raised: say so."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        said = redact_secrets(f"{type(error).__name__}: {error}")  # an error may quote a feed's URL with its token
        self.notify(clean_line(said, 500), title="Something went wrong",
                    severity="error", markup=False)  # fmt: skip
