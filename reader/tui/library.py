"""What the TUI shows, worked out from the store, the index and the rules. No Textual here.

The screens ask this module which articles a view holds (ids, in order), for
rows a window at a time, and for unread counts; it never keeps state of its
own, so any of it may run in a worker thread. All SQL stays in the store and
every query goes through `reader.index`, which is opened (and Whoosh loaded) on
first use, never for the first paint.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Settings
from ..lock import WriterLock
from ..models import Article, Feed, FetchStatus
from ..store import Alert, ArticleFilter, ArticleLine, Store, group_rows

if TYPE_CHECKING:
    from ..importing import ImportReport
    from ..index import ParsedQuery, SearchIndex

ALL = "all"
STARRED = "starred"
GROUP = "group"
FEED = "feed"
RULE = "rule"
SEARCH = "search"
ALERTS = "alerts"

SEEN_ALERT_KEY = "tui.seen_alert_id"
THEME_KEY = "tui.theme"
SEARCH_HISTORY_KEY = "tui.search_history"
UNREAD_ONLY_KEY = "tui.unread_only"
PLAIN_KEY = "tui.plain_articles"  # "1": one row per article instead of per story

SORTS = ("newest", "oldest", "title", "feed")
QUERY_SORTS = ("newest", "relevance", "oldest", "title", "feed")  # a query can also rank by relevance


@dataclass(frozen=True)
class Source:
    """Something the article list can show: everything, a group, a feed, a rule, a search, the alerts."""

    kind: str
    key: str = ""  # the group name, the feed id, the rule name; "" otherwise

    @property
    def id(self) -> str:
        """`kind:key`, e.g. feed:12."""
        return f"{self.kind}:{self.key}"


@dataclass(frozen=True)
class View:
    """A source, in an order, with the query whose matches it shows (rules and searches)."""

    source: Source
    sort: str = "newest"
    query: ParsedQuery | None = None
    unread_only: bool = False


@dataclass
class Counts:
    """Unread counts of every sidebar entry, as the list shows its rows: unread stories (a story counts while
    any of its articles there is unread), or unread articles with one row per article. Muted stories count
    nothing. Kept current by hand between full recounts."""

    unread_by_feed: dict[int, int] = field(default_factory=dict)
    unread_by_group: dict[str, int] = field(default_factory=dict)
    unread: int = 0
    starred: int = 0
    rule_hits: dict[str, frozenset[int]] = field(default_factory=dict)
    rule_unread: dict[str, int] = field(default_factory=dict)
    group_of: dict[int, str] = field(default_factory=dict)  # feed id -> its group
    by_story: bool = False

    def read_changed(self, changed: Sequence[tuple[int, int]], read: bool,
                     others: Sequence[tuple[int, int]] = ()) -> None:  # fmt: skip
        """Articles (id, feed id) of one story became read (or unread again); `others`: the unread articles
        left in their story. By story, an entry's count moves only if none of `others` is in it."""
        step = -1 if read else 1
        moved = [entry for article in changed for entry in self._entries(*article)]
        if self.by_story:
            staying = {entry for article in others for entry in self._entries(*article)}
            moved = [entry for entry in dict.fromkeys(moved) if entry not in staying]
        tables = {"feed": self.unread_by_feed, "group": self.unread_by_group, "rule": self.rule_unread}
        for kind, key in moved:
            if kind == "all":
                self.unread = max(0, self.unread + step)
            else:
                tables[kind][key] = max(0, tables[kind].get(key, 0) + step)

    def _entries(self, article_id: int, feed_id: int):
        """The sidebar entries an article counts in, as (kind, key)."""
        yield "feed", feed_id
        yield "group", self.group_of.get(feed_id, "")
        yield "all", ""
        yield from (("rule", name) for name, hits in self.rule_hits.items() if article_id in hits)

    def starred_changed(self, starred: bool) -> None:
        self.starred = max(0, self.starred + (1 if starred else -1))


@dataclass(frozen=True)
class Status:
    """What the status bar says about refreshing."""

    last_refresh: datetime | None
    feeds_in_error: int
    daemon_running: bool
    warnings: tuple[str, ...] = ()  # what needs the user, as `reader doctor` and the health alerts say it


@dataclass(frozen=True)
class Scope:
    """What a view's story rows stand for: each story's articles that the filter selects and, for a search
    or a rule, that match it (`hits`)."""

    flt: ArticleFilter = ArticleFilter()
    hits: frozenset[int] | None = None


def fresh_query(query: ParsedQuery) -> ParsedQuery:
    """The query again, if it holds relative dates (`date:7d`), so they count from now."""
    from ..index import parse_query

    return parse_query(query.text) if query.relative_dates else query


class Library:
    """The TUI's reads and writes, over one store and one index."""

    def __init__(self, settings: Settings, store: Store, index: SearchIndex | None = None):
        """`index`: None opens the settings' index on first use (see `index`)."""
        self.settings = settings
        self.store = store
        self._index = index
        self._opening = threading.Lock()  # workers may ask for the index at the same time

    @property
    def index(self) -> SearchIndex:
        """The search index, opened on first use: opening loads Whoosh (~0.1 s), which the first paint
        must not wait for; the screen asks for it in a worker once the first view is drawn."""
        if self._index is None:
            with self._opening:
                if self._index is None:
                    from ..index import SearchIndex

                    self._index = SearchIndex(self.settings.index_dir)
        return self._index

    def open_index(self) -> None:
        self.index  # noqa: B018 - opening is the point

    # -- feeds and status ---------------------------------------------------------------

    def feeds(self) -> list[Feed]:
        return self.store.feeds()

    def status(self, feeds: Sequence[Feed]) -> Status:
        fetched = [f.last_fetched_at for f in feeds if f.last_fetched_at]
        errors = sum(f.last_status in (FetchStatus.ERROR, FetchStatus.GONE) for f in feeds)
        daemon = WriterLock(self.settings.lock_path).is_held_elsewhere()
        from ..health import status_warnings  # two reads of the meta table

        return Status(max(fetched, default=None), errors, daemon, tuple(status_warnings(self.store)))

    # -- which articles a view holds -------------------------------------------------------

    def order(self, view: View, feeds: Sequence[Feed], rules: Sequence = (), limit: int | None = None) -> list[int]:
        """The ids of a view's articles, in its order (`limit`: the first ones at least, for a first screen;
        a search honours it only when `search_limits` says so, else it lists every match)."""
        source = view.source
        if source.kind == SEARCH and view.query is None:
            return []  # a query that does not parse yet
        if view.query is None:
            flt = replace(self._filter(source), unread=view.unread_only)
            return self.store.article_order(flt, view.sort, limit)
        rule = next((r for r in rules if r.name == source.key), None) if source.kind == RULE else None
        hits = self.matches(view.query, rule, feeds, sort="relevance" if view.sort == "relevance" else "newest",
                            limit=limit if self.search_limits(view) else None)  # fmt: skip
        if view.unread_only:
            unread = self.unread_among(hits)
            hits = [i for i in hits if i in unread]
        if view.sort in ("relevance", "newest"):
            return hits
        return self.store.article_order(ArticleFilter(ids=hits), view.sort)

    @staticmethod
    def search_limits(view: View) -> bool:
        """Whether a search's first matches come from the index alone (top-k, not every match found): a search
        (not a rule, whose feeds filter its matches) newest or best first, read and unread."""
        return view.source.kind == SEARCH and view.sort in ("newest", "relevance") and not view.unread_only

    def quick_search(self, view: View) -> bool:
        """Whether a search's first rows take a few milliseconds, so that the event loop reads them and the key's
        first frame draws them: a query not finished (nothing to read), or words alone (`index.words_only`)
        that the index answers alone (`search_limits`), the index being open (opening it loads Whoosh, ~0.1 s)."""
        if view.source.kind != SEARCH:
            return False
        if view.query is None:
            return True
        from ..index import words_only

        return self._index is not None and self.search_limits(view) and words_only(view.query)

    def story_rows(self, view: View, feeds: Sequence[Feed], rules: Sequence = (),
                   limit: int | None = None) -> tuple[list[int], dict[int, int], Scope]:  # fmt: skip
        """The view by story: the id of each story's first article in the view's order, the size of every
        story of more than one article (by that first id), and what the rows stand for. `limit`: the first
        rows at least (a first screen: milliseconds); all of them takes ~0.2 s at 100k articles, a worker's job."""
        if view.query is None and view.source.kind != SEARCH:
            scope = Scope(replace(self._filter(view.source), unread=view.unread_only))
            rows = self.store.story_order(scope.flt, view.sort, limit)
        else:  # a search or a rule: its matches, grouped in their order
            return self.group_matches(view, self.order(view, feeds, rules, limit))
        return [head for head, _ in rows], {head: size for head, size in rows if size > 1}, scope

    def group_matches(self, view: View, ids: list[int]) -> tuple[list[int], dict[int, int], Scope]:
        """A search's or a rule's matches `ids` (in order) as story rows, as `story_rows` gives them."""
        scope = Scope(ArticleFilter(unread=view.unread_only), frozenset(ids))
        story_of = self.store.story_of(ids)  # an article not yet grouped is its own story
        rows = group_rows((article_id, story_of.get(article_id)) for article_id in ids)
        return [head for head, _ in rows], {head: size for head, size in rows if size > 1}, scope

    def story_articles(self, story_ids: Sequence[int], scope: Scope) -> dict[int, list[tuple[int, int, bool]]]:
        """By story, the articles the view's rows stand for: (id, feed id, unread), oldest first."""
        found = self.store.story_articles(story_ids, scope.flt) if story_ids else {}
        if scope.hits is not None:
            found = {story: kept for story, rows in found.items() if (kept := [r for r in rows if r[0] in scope.hits])}
        return found

    def row_articles(self, line: ArticleLine, scope: Scope) -> list[tuple[int, int, bool]]:
        """The articles a story row stands for (an ungrouped article: itself): (id, feed id, unread)."""
        if line.story_id is None:
            return [(line.id, line.feed_id, not line.read)]
        return self.story_articles([line.story_id], scope).get(line.story_id, [])

    def story_members(self, line: ArticleLine, scope: Scope) -> list[int]:
        """The ids of the other articles `line`'s story row stands for, oldest first: what expanding shows."""
        return [r[0] for r in self.row_articles(line, scope) if r[0] != line.id]

    def unread_left(self, story_id: int | None, but: Sequence[int]) -> list[tuple[int, int]]:
        """The unread articles (id, feed id) of a story other than `but`, in every view: what keeps it counted."""
        if story_id is None:
            return []
        rows, but = self.store.story_articles([story_id], ArticleFilter(unread=True)).get(story_id, []), set(but)
        return [(i, feed_id) for i, feed_id, _ in rows if i not in but]

    def unread_rows(self, ids: Sequence[int], stories: frozenset[int], scope: Scope) -> set[int]:
        """Which of these rows are unread: an article's own state; a story row's (its id in `stories`) while any
        article it stands for is unread."""
        unread = self.unread_among(ids)
        heads = [i for i in ids if i in stories and i not in unread]
        if heads:
            story_of = self.store.story_of(heads)
            found = self.story_articles(sorted(set(story_of.values())), replace(scope, flt=replace(scope.flt, unread=True)))
            unread |= {i for i in heads if any(r[2] for r in found.get(story_of.get(i), ()))}
        return unread

    def story_row_of(self, article_id: int, heads: Sequence[int]) -> int | None:
        """Which of these story rows (their first articles' ids) stands for the story of `article_id`."""
        story = self.store.story_of([article_id]).get(article_id)
        if story is None:
            return None
        return next((head for head, of in self.store.story_of(heads).items() if of == story), None)

    def also_covered(self, article: Article) -> list[tuple[str, str]]:
        """(outlet, title) of the other articles of an article's story: what the reader's header lists."""
        story_id = self.store.story_of([article.id]).get(article.id)
        story = self.store.story(story_id) if story_id is not None else None
        return [(m.outlet, m.title) for m in story.articles if m.article_id != article.id] if story else []

    def set_story_read(self, story_id: int, read: bool = True) -> int:
        return self.store.set_story_read(story_id, read)

    def muted_until(self, story_id: int) -> datetime | None:
        """Until when a story is muted; None if it is not (any more)."""
        until = self.store.story_muted_until(story_id)
        return until if until is not None and until > datetime.now(UTC) else None

    def mute_story(self, story_id: int, length: timedelta | None) -> datetime | None:
        """Mute a story for `length` (None: until unmuted), as `reader stories mute --for`; until when."""
        from ..cli.stories import FOREVER

        until = FOREVER if length is None else datetime.now(UTC).replace(microsecond=0) + length
        self.store.set_story_muted(story_id, until)
        return until

    def unmute_story(self, story_id: int) -> None:
        self.store.set_story_muted(story_id, None)

    def matches(self, query: ParsedQuery, rule, feeds: Sequence[Feed], *, sort: str = "newest",
                limit: int | None = None) -> list[int]:  # fmt: skip
        """Ids of the articles a query (or a rule, with its feed restrictions) matches (the first `limit`)."""
        hits = [h.article_id for h in self.index.search(fresh_query(query), limit=limit, sort=sort)]
        allowed = self._allowed_articles(rule, feeds) if rule is not None else None
        return hits if allowed is None else [i for i in hits if i in allowed]

    def _allowed_articles(self, rule, feeds: Sequence[Feed]) -> set[int] | None:
        from ..rules import allowed_feed_ids

        feed_ids = allowed_feed_ids(rule, feeds)
        if feed_ids is None:
            return None
        return self.store.article_ids_in(ArticleFilter(feed_ids=sorted(feed_ids)))

    @staticmethod
    def _filter(source: Source) -> ArticleFilter:
        if source.kind == FEED:
            return ArticleFilter(feed_ids=[int(source.key)])
        if source.kind == GROUP:
            return ArticleFilter(group=source.key)
        if source.kind == STARRED:
            return ArticleFilter(starred=True)
        return ArticleFilter()

    # -- counts -------------------------------------------------------------------------------

    def counts(self, rules: Sequence, feeds: Sequence[Feed], by_story: bool = False,
               rule_hits: dict[str, frozenset[int]] | None = None) -> Counts:  # fmt: skip
        """Unread counts (stories `by_story`, else articles) by feed, group and in all, starred articles, and each
        rule's matches and unread matches (slow: a worker's job). `rule_hits`: each rule's matches, if known
        (the index is then not searched again)."""
        group_of = {f.id: f.group for f in feeds}
        if by_story:
            by_feed, by_group, total = self.store.unread_stories()
            by_feed, by_group = {f.id: 0 for f in feeds} | by_feed, {f.group: 0 for f in feeds} | by_group
        else:
            by_feed, by_group = {f.id: f.unread_count for f in self.store.feeds(with_counts=True)}, {}
            for feed_id, n in by_feed.items():
                by_group[group_of.get(feed_id, "")] = by_group.get(group_of.get(feed_id, ""), 0) + n
            total = sum(by_feed.values())
        counted = Counts(by_feed, by_group, total, self.store.count_articles(ArticleFilter(starred=True)),
                         group_of=group_of, by_story=by_story)  # fmt: skip
        for rule in rules:
            known = rule_hits.get(rule.name) if rule_hits is not None else None
            hits = sorted(known) if known is not None else self.matches(rule.query, rule, feeds)
            counted.rule_hits[rule.name] = frozenset(hits)
            counted.rule_unread[rule.name] = self.unread_count(hits, by_story)
        return counted

    def unread_count(self, ids: Sequence[int], by_story: bool) -> int:
        """How many of these articles are unread, or in how many stories (`by_story`) unread ones are: what the
        sidebar and the rules screen count for a rule."""
        if not ids:
            return 0
        count = self.store.count_stories if by_story else self.store.count_articles
        return count(ArticleFilter(ids=ids, unread=True))

    # -- rows and articles ----------------------------------------------------------------

    def lines(self, ids: Sequence[int], scope: Scope | None = None) -> dict[int, ArticleLine]:
        """The rows of these articles, each knowing whether its story is muted and, for story rows of a view
        (`scope`), how many of the articles its row stands for are unread."""
        lines = self.store.article_lines(ids)
        stories = sorted({line.story_id for line in lines.values() if line.story_id is not None})
        muted = self.store.muted_stories(stories, datetime.now(UTC)) if stories else set()
        unread = {}
        if scope is not None:
            unread = {story: sum(r[2] for r in rows) for story, rows in self.story_articles(stories, scope).items()}
        for i, line in lines.items():  # only the rows that differ from their own article are replaced (fast)
            if line.story_id in muted:
                lines[i] = replace(line, muted=True)
            elif unread.get(line.story_id, int(not line.read)) != int(not line.read):
                lines[i] = replace(line, story_unread=unread[line.story_id])
        return lines

    def article(self, article_id: int) -> Article | None:
        return self.store.article(article_id)

    def unread_among(self, ids: Sequence[int]) -> set[int]:
        return self.store.article_ids_in(ArticleFilter(ids=ids, unread=True))

    def feed_article_count(self, feed_id: int) -> int:
        return self.store.count_articles(ArticleFilter(feed_ids=[feed_id]))

    def set_read(self, ids: Sequence[int], read: bool) -> None:
        """(Opening an article in a read-only data directory marks nothing: the screen says so once.)"""
        if not self.store.read_only:
            self.store.set_read(ids, read)

    def remember(self, key: str, value: str) -> None:
        """Keep a choice of the screen's for next time (in a read-only data directory: for this session)."""
        if not self.store.read_only and self.store.get_meta(key) != value:
            self.store.set_meta(key, value)

    def set_starred(self, article_id: int, starred: bool) -> None:
        self.store.set_starred(article_id, starred)

    def catch_up_index(self) -> int | None:
        """Index what an interrupted run left unindexed; None if another process writes (it will do it)."""
        if self.store.read_only or not (self.store.count_to_index() or self.store.pending_index_deletions()):
            return 0
        from ..ingest import update_index, writer  # the pipeline's imports are slow: only when needed
        from ..lock import WriterBusy

        try:
            with writer(self.settings) as (store, index):
                return update_index(store, index)
        except WriterBusy:
            return None

    # -- alerts ------------------------------------------------------------------------------

    def alert_ids(self, after_id: int = 0) -> list[int]:
        return self.store.alert_ids(after_id)

    def alerts(self, ids: Sequence[int]) -> dict[int, Alert]:
        return self.store.alerts_by_ids(ids)

    def retry_alerts(self) -> str:
        """What `reader alerts retry` does: failed and pending deliveries due now, sent here or by the daemon.

        Returns what happened, for the user. Raises WriterBusy if another process writes but is no daemon.
        """
        import asyncio

        from ..alerts import retry_undelivered  # Apprise loads only when sending
        from ..store import utcnow

        lock = WriterLock(self.settings.lock_path)
        if lock.is_held_elsewhere():
            count = self.store.retry_deliveries(utcnow())
            return f"{count} deliver{'y' if count == 1 else 'ies'} made due now; the running daemon sends them."
        lock.acquire()
        try:
            count, report = asyncio.run(retry_undelivered(self.settings, self.store))
        finally:
            lock.release()
        failed = f", {report.failed} failed: {'; '.join(report.errors)}" if report.failed else ""
        return f"{count} deliver{'y' if count == 1 else 'ies'} retried: {report.sent} sent{failed}."

    def last_alert(self, rule_name: str) -> Alert | None:
        return next(iter(self.store.recent_alerts(1, rule=rule_name)), None)

    def seen_alert_id(self) -> int:
        """The newest alert the user has looked at (the Alerts entry counts those after it)."""
        return int(self.store.get_meta(SEEN_ALERT_KEY) or 0)

    def set_seen_alert_id(self, alert_id: int) -> None:
        self.remember(SEEN_ALERT_KEY, str(alert_id))

    # -- search history ------------------------------------------------------------------------

    def search_history(self) -> list[str]:
        """The queries searched before, oldest first (a damaged value reads as none)."""
        try:
            history = json.loads(self.store.get_meta(SEARCH_HISTORY_KEY) or "[]")
        except ValueError:
            return []
        return [q for q in history if isinstance(q, str)] if isinstance(history, list) else []

    def set_search_history(self, history: Sequence[str]) -> None:
        self.remember(SEARCH_HISTORY_KEY, json.dumps(list(history)))

    # -- subscriptions ---------------------------------------------------------------------------

    def add_feed(self, url: str, group: str = "") -> tuple[Feed, bool]:
        return self.store.add_feed(url, "", group)

    def edit_feed(self, feed_id: int, *, title: str, group: str) -> None:
        self.store.set_feed_options(feed_id, title=title, group=group)

    def remove_feed(self, feed_id: int) -> None:
        self.store.remove_feed(feed_id)

    def import_subscriptions(self, path: Path) -> ImportReport:
        """Subscribe to an OPML (or newsboat urls) file's feeds, as `reader feeds import` does.

        Raises OPMLError or OSError with a message fit for the user.
        """
        from ..importing import import_file

        return import_file(path, self.store, Path(self.settings.rules_dir))

    # -- rules --------------------------------------------------------------------------------

    def backtest(self, query: ParsedQuery) -> dict[str, int]:
        """What `reader rules test` says of a query: matches in the last 7 and 30 days, and in all."""
        from ..cli.rules import BACKTEST_DAYS, _within_days

        counts = {f"{days}d": self.index.count(_within_days(query, days)) for days in BACKTEST_DAYS}
        counts["all"] = self.index.count(query)
        return counts

    def load_rules(self):
        from ..rules import load_rules

        return load_rules(self.settings.rules_dir, apprise_config=self.settings.alerts.apprise_config)

    def rules_signature(self) -> tuple[tuple[str, int, int], ...]:
        """Names, mtimes and sizes of the rule files: when it changes, the rules are read again."""
        from ..rules import rule_files

        signature = []
        for path in rule_files(Path(self.settings.rules_dir)):
            try:
                st = os.stat(path)
            except OSError:  # removed between listing and stat
                continue
            signature.append((path.name, st.st_mtime_ns, st.st_size))
        return tuple(signature)
