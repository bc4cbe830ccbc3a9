"""The left pane: everything, starred, groups and their feeds, saved searches and rules, alerts.

Each entry is an option whose id is its `Source.id`; counts are redrawn in
place (`replace_option_prompt`) so moving through the list never rebuilds it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ...models import Feed, FetchStatus
from ...text import clean_line
from ..library import ALERTS, ALL, FEED, GROUP, RULE, STARRED, Counts, Source

ERROR_MARK = "!"


def entry(label: str, count: int | None, *, indent: int = 0, bold: bool | None = None, style: str = "") -> Table:
    """One sidebar line: the label cut with an ellipsis, the count right-aligned."""
    grid = Table.grid(expand=True, padding=(0, 0, 0, 1))
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(justify="right", no_wrap=True)
    emphasis = bool(count) if bold is None else bold
    grid.add_row(
        Text(" " * indent + label, style=f"{style} bold" if emphasis else style, no_wrap=True, end=""),
        Text(str(count) if count else "", style="bold" if emphasis else "dim"),
    )
    return grid


def header(label: str) -> Table:
    return entry(label, None, bold=True, style="italic")


class Sidebar(OptionList):
    """Sources of articles, with their unread counts."""

    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="sidebar.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="sidebar.up"),
        Binding("home,g", "first", "First", show=False, id="sidebar.first"),
        Binding("end,G", "last", "Last", show=False, id="sidebar.last"),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.feeds: list[Feed] = []
        self.rules: Sequence = ()
        self.counts = Counts()
        self.alert_count = 0

    def rebuild(self, feeds: list[Feed], rules: Sequence, counts: Counts, alert_count: int) -> None:
        """Lay the entries out again (feeds or rules changed), keeping the highlighted one."""
        keep = self.highlighted_option.id if self.highlighted_option else Source(ALL).id
        self.feeds, self.rules, self.counts, self.alert_count = feeds, rules, counts, alert_count
        options: list[Option | None] = [Option(self._prompt(Source(ALL)), Source(ALL).id),
                                        Option(self._prompt(Source(STARRED)), Source(STARRED).id), None]  # fmt: skip
        group = None
        for feed in feeds:
            if feed.group and feed.group != group:
                group = feed.group
                options.append(Option(self._prompt(Source(GROUP, group)), Source(GROUP, group).id))
            options.append(Option(self._prompt(Source(FEED, str(feed.id))), Source(FEED, str(feed.id)).id))
        saved = [r for r in rules if r.is_saved_search]
        alerting = [r for r in rules if not r.is_saved_search]
        for title, chosen in (("Saved searches", saved), ("Alert rules", alerting)):
            if chosen:
                options += [None, Option(header(title), f"header:{title}", disabled=True)]
                options += [Option(self._prompt(Source(RULE, r.name)), Source(RULE, r.name).id) for r in chosen]
        options += [None, Option(self._prompt(Source(ALERTS)), Source(ALERTS).id)]
        self.set_options(options)
        self._highlight(keep)

    def _highlight(self, option_id: str) -> None:
        try:
            self.highlighted = self.get_option_index(option_id)
        except Exception:  # gone (a feed removed): the first entry
            self.highlighted = 0

    def update_counts(self, counts: Counts | None = None, alert_count: int | None = None) -> None:
        """Redraw every count in place."""
        if counts is not None:
            self.counts = counts
        if alert_count is not None:
            self.alert_count = alert_count
        for option in list(self._options):
            if option.id and not option.id.startswith("header:"):
                self.replace_option_prompt(option.id, self._prompt(Source.from_id(option.id)))

    @property
    def source(self) -> Source | None:
        option = self.highlighted_option
        return Source.from_id(option.id) if option and option.id else None

    def feed_ids(self, source: Source) -> list[int]:
        """The feeds a source covers (a feed, a group's feeds, or all of them)."""
        if source.kind == FEED:
            return [int(source.key)]
        if source.kind == GROUP:
            return [f.id for f in self.feeds if f.group == source.key]
        return [f.id for f in self.feeds]

    def title(self, source: Source) -> str:
        """What a source is called, for the list's border."""
        if source.kind == FEED:
            feed = next((f for f in self.feeds if f.id == int(source.key)), None)
            return clean_line(feed.display_title) if feed else "?"
        if source.kind == RULE:
            rule = next((r for r in self.rules if r.name == source.key), None)
            return clean_line(rule.display_title if rule else source.key)
        if source.kind == GROUP:
            return clean_line(source.key)
        return {ALL: "All articles", STARRED: "Starred", ALERTS: "Alerts"}.get(source.kind, source.kind)

    def _prompt(self, source: Source) -> Table:
        counts = self.counts
        if source.kind == ALL:
            return entry("All articles", counts.unread)
        if source.kind == STARRED:
            return entry("★ Starred", counts.starred, bold=False)
        if source.kind == GROUP:
            return entry(clean_line(source.key), counts.unread_in(self.feed_ids(source)), style="bold")
        if source.kind == FEED:
            feed = next((f for f in self.feeds if f.id == int(source.key)), None)
            if feed is None:
                return entry("?", None)
            failing = feed.last_status in (FetchStatus.ERROR, FetchStatus.GONE)
            label = (f"{ERROR_MARK} " if failing else "") + clean_line(feed.display_title)
            return entry(label, counts.unread_by_feed.get(feed.id, 0), indent=2 if feed.group else 0,
                         style="red" if failing else "")  # fmt: skip
        if source.kind == RULE:
            rule = next((r for r in self.rules if r.name == source.key), None)
            label = clean_line(rule.display_title) if rule else source.key
            return entry(label, counts.rule_unread.get(source.key), indent=1)
        return entry("Alerts", self.alert_count, style="bold")
