"""The left pane: everything, starred, groups and their feeds, saved searches and rules, alerts.

A Line-API list like the article list: a count changing redraws that one
line (an OptionList redraws every prompt when one changes, ~40 ms for a
hundred feeds). Headers and separators are rows the cursor steps over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.strip import Strip

from ...models import Feed, FetchStatus
from ...text import clean_line
from ..library import ALERTS, ALL, FEED, GROUP, RULE, STARRED, Counts, Source
from .virtual_list import VirtualList, text_strip

ERROR_MARK = "!"


@dataclass(frozen=True)
class Row:
    """One line of the sidebar: an entry (a source), a section header, or a separator."""

    source: Source | None = None
    header: str = ""

    @property
    def selectable(self) -> bool:
        return self.source is not None


SEPARATOR = Row()


class Sidebar(VirtualList):
    """Sources of articles, with their unread counts."""

    BINDINGS = [Binding("right,l", "choose", "Open", show=False, id="sidebar.open")]  # like Enter

    COMPONENT_CLASSES = {
        "sidebar--cursor",
        "sidebar--cursor-blurred",
        "sidebar--group",
        "sidebar--header",
        "sidebar--separator",
        "sidebar--error",
        "sidebar--count",
    }

    DEFAULT_CSS = """
    Sidebar {
        & > .sidebar--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
        & > .sidebar--cursor-blurred { background: $block-cursor-blurred-background; }
        & > .sidebar--group { text-style: bold; }
        & > .sidebar--header { color: $text-muted; text-style: bold italic; }
        & > .sidebar--separator { color: $foreground 15%; }
        & > .sidebar--error { color: $text-error; }
        & > .sidebar--count { color: $text-accent; }
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.feeds: list[Feed] = []
        self.rules: Sequence = ()
        self.counts = Counts()
        self.alert_count = 0
        self.rows: list[Row] = []
        self._strip_cache: LRUCache[tuple, Strip] = LRUCache(500)
        self._layout_version = 0  # bumped by `rebuild`: labels may have changed

    # -- layout ------------------------------------------------------------------------------

    def rebuild(self, feeds: list[Feed], rules: Sequence, counts: Counts, alert_count: int,
                unread_only: bool = False) -> None:  # fmt: skip
        """Lay the entries out again (feeds, rules or counts changed), keeping the cursor's entry.

        `unread_only` leaves out feeds with nothing unread (once counted), except the one under the cursor.
        """
        keep = self.source or Source(ALL)
        self.feeds, self.rules, self.counts, self.alert_count = feeds, rules, counts, alert_count
        if unread_only and counts.unread_by_feed:
            feeds = [f for f in feeds if counts.unread_by_feed.get(f.id) or keep == Source(FEED, str(f.id))]
        rows = [Row(Source(ALL)), Row(Source(STARRED)), SEPARATOR]
        group = None
        for feed in feeds:
            if feed.group and feed.group != group:
                group = feed.group
                rows.append(Row(Source(GROUP, group)))
            rows.append(Row(Source(FEED, str(feed.id))))
        saved = [r for r in rules if r.is_saved_search]
        alerting = [r for r in rules if not r.is_saved_search]
        for title, chosen in (("Saved searches", saved), ("Alert rules", alerting)):
            if chosen:
                rows += [SEPARATOR, Row(header=title), *(Row(Source(RULE, r.name)) for r in chosen)]
        rows += [SEPARATOR, Row(Source(ALERTS))]
        self.rows = rows
        self._layout_version += 1
        self.set_rows(len(rows), next((i for i, row in enumerate(rows) if row.source == keep), 0))

    def update_counts(self, counts: Counts | None = None, alert_count: int | None = None) -> None:
        """New counts: the rows redraw as they are painted (each strip is cached by its count)."""
        if counts is not None:
            self.counts = counts
        if alert_count is not None:
            self.alert_count = alert_count
        self.refresh()

    # -- what the screen asks ---------------------------------------------------------------------

    @property
    def source(self) -> Source | None:
        row = self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None
        return row.source if row else None

    @property
    def source_ids(self) -> list[str]:
        return [row.source.id for row in self.rows if row.source]

    def select(self, source_id: str) -> None:
        """Put the cursor on an entry (its list then loads, as when moving there by key)."""
        index = next((i for i, row in enumerate(self.rows) if row.source and row.source.id == source_id), None)
        if index is not None:
            self.cursor = index

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
            feed = self._feed(source)
            return clean_line(feed.display_title) if feed else "?"
        if source.kind == RULE:
            rule = self._rule(source)
            return clean_line(rule.display_title if rule else source.key)
        if source.kind == GROUP:
            return clean_line(source.key)
        return {ALL: "All articles", STARRED: "Starred", ALERTS: "Alerts"}.get(source.kind, source.kind)

    def _feed(self, source: Source) -> Feed | None:
        return next((f for f in self.feeds if f.id == int(source.key)), None)

    def _rule(self, source: Source):
        return next((r for r in self.rules if r.name == source.key), None)

    def count(self, source: Source) -> int | None:
        """The number an entry shows: unread stories or articles (matches, for a rule), as the list shows them;
        starred; new alerts."""
        counts = self.counts
        if source.kind == ALL:
            return counts.unread
        if source.kind == STARRED:
            return counts.starred
        if source.kind == GROUP:
            return counts.unread_by_group.get(source.key)
        if source.kind == FEED:
            return counts.unread_by_feed.get(int(source.key))
        if source.kind == RULE:
            return counts.rule_unread.get(source.key)
        return self.alert_count

    # -- the cursor steps over headers and separators ------------------------------------------------

    def move_to(self, index: int) -> None:
        step = 1 if index >= self.cursor else -1
        while 0 <= index < len(self.rows) and not self.rows[index].selectable:
            index += step
        if 0 <= index < len(self.rows):
            super().move_to(index)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        last = max((i for i, row in enumerate(self.rows) if row.selectable), default=0)
        self.move_to(last)

    # -- drawing ---------------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"sidebar--{name}", partial=True)

    def render_row(self, index: int, width: int, selected: bool) -> Strip:
        row = self.rows[index]
        count = self.count(row.source) if row.source else None
        key = (self._layout_version, index, width, selected, selected and self.has_focus, count)
        strip = self._strip_cache.get(key)
        if strip is None:
            strip = self._strip_cache[key] = self._draw(row, count, width, selected)
        return strip

    def notify_style_update(self) -> None:
        self._strip_cache.clear()
        super().notify_style_update()

    def _draw(self, row: Row, count: int | None, width: int, selected: bool) -> Strip:
        base = self.rich_style
        if selected:
            base = base + self.cursor_style("sidebar")
        if row.source is None and not row.header:
            return Strip([Segment("─" * width, base + self._style("separator"))])
        label, style = self._label(row)
        number = str(count) if count else ""
        text = Text(no_wrap=True, end="", style=base + (Style(bold=True) if count else Style()))
        room = max(1, width - len(number) - 2)
        shown = Text(label, style=style, no_wrap=True)
        shown.truncate(room, overflow="ellipsis", pad=True)
        text.append(" ")
        text.append_text(shown)
        text.append(number.rjust(width - room - 1), self._style("count") if count else "")
        return text_strip(text, width, base, self.app.console)

    def _label(self, row: Row) -> tuple[str, Style | str]:
        if row.header:
            return row.header, self._style("header")
        source = row.source
        if source.kind == ALL:
            return "All articles", ""
        if source.kind == STARRED:
            return "★ Starred", ""
        if source.kind == GROUP:
            return clean_line(source.key), self._style("group")
        if source.kind == FEED:
            feed = self._feed(source)
            if feed is None:
                return "?", ""
            failing = feed.last_status in (FetchStatus.ERROR, FetchStatus.GONE)
            label = ("  " if feed.group else "") + (f"{ERROR_MARK} " if failing else "") + clean_line(feed.display_title)
            return label, self._style("error") if failing else ""
        if source.kind == RULE:
            rule = self._rule(source)
            return " " + (clean_line(rule.display_title) if rule else source.key), ""
        return "Alerts", self._style("group")
