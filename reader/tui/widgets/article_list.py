"""The article list: unread marker, star, title, feed and date of every story (or article) in the view.

A story of several articles is one row, `+N` after its title; expanding it inserts its other
articles below it, indented.

Holds only the ids of the view, in order; rows are read from the store a
window at a time (`WINDOW` rows around the one asked for) into a bounded
cache, so scrolling through 100,000 articles reads ~200 rows at a time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.strip import Strip

from ...store import ArticleLine
from ...text import clean_line
from ..highlighting import match_spans
from .virtual_list import VirtualList, text_strip

if TYPE_CHECKING:
    from ...index import ParsedQuery

WINDOW = 100  # rows read on each side of a missing one (a new view's first read: two screens)
CACHE_ROWS = 4000
STRIP_CACHE = 1000
UNREAD_MARK = "●"
STAR_MARK = "★"
NO_TITLE = "(no title)"
MEMBER_INDENT = "  └ "


def local_date(line: ArticleLine, width: int) -> str:
    fmt = "%Y-%m-%d %H:%M" if width >= 100 else "%Y-%m-%d" if width >= 50 else "%m-%d"
    return line.date.astimezone().strftime(fmt)


def column_widths(width: int) -> tuple[int, int, int]:
    """Title, feed and date widths for a row `width` cells wide (4 cells of marks, 2 of gaps)."""
    date = 16 if width >= 100 else 10 if width >= 50 else 5
    feed = min(28, width // 5) if width >= 60 else 0
    title = max(1, width - 4 - date - feed - (2 if feed else 1))
    return title, feed, date


class ArticleList(VirtualList):
    """The middle pane: one line per article, newest first unless sorted otherwise."""

    FOCUS_STYLED = False  # its pane's border shows the focus (MainScreen.watch_focused)

    COMPONENT_CLASSES = {
        "article-list--cursor",
        "article-list--cursor-blurred",
        "article-list--unread",
        "article-list--read",
        "article-list--mark",
        "article-list--star",
        "article-list--feed",
        "article-list--date",
        "article-list--match",
        "article-list--more",
    }

    DEFAULT_CSS = """
    ArticleList {
        & > .article-list--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
        & > .article-list--cursor-blurred { background: $block-cursor-blurred-background; }
        & > .article-list--unread { text-style: bold; }
        & > .article-list--read { color: $text-muted; }
        & > .article-list--mark { color: $accent; }
        & > .article-list--star { color: $text-warning; }
        & > .article-list--feed { color: $text-secondary; }
        & > .article-list--date { color: $text-muted; }
        & > .article-list--match { background: $warning-muted; color: $text; text-style: bold underline; }
        & > .article-list--more { color: $text-accent; text-style: not bold; }
    }
    """

    def __init__(self, fetch: Callable[[Sequence[int]], dict[int, ArticleLine]], **kwargs) -> None:
        super().__init__(placeholder="Loading…", **kwargs)
        self._fetch = fetch
        self._ids: list[int] = []
        self._sizes: dict[int, int] = {}  # first article id -> size, of stories of more than one
        self.by_story = False  # rows are stories: a row is unread while any article it stands for is
        self._head_of: dict[int, int] = {}  # an expanded story's other article ids -> its first id
        self._lines: OrderedDict[int, ArticleLine] = OrderedDict()
        self._strips: LRUCache[tuple, Strip] = LRUCache(STRIP_CACHE)  # drawn rows, by what they show
        self._styles_before: dict[str, Style] | None = None  # the styles rows were drawn with, before a restyle
        self._styles: dict[str, Style] = {}
        self.match_query: ParsedQuery | None = None
        self._to_free: list[object] = []  # an old view's data, freed after the next frame (`_freed_later`)

    # -- the view's data -------------------------------------------------------------------

    def show(self, ids: list[int], *, sizes: dict[int, int] | None = None, query: ParsedQuery | None = None,
             keep: int | None = None, placeholder: str = "No articles here.") -> None:  # fmt: skip
        """Show these articles (ids in order; `sizes`: the stories of more than one, by their first id);
        the cursor stays on `keep` if it is among them."""
        self._freed_later((self._ids, self._sizes, self._head_of, self._lines))
        self._ids = ids
        self._sizes = sizes or {}
        self.by_story = sizes is not None
        self._head_of = {}
        self._lines = OrderedDict()
        if query is not self.match_query:  # rows are drawn by what they show, but a query marks their titles
            self._strips.clear()
        self.match_query = query
        self.placeholder = placeholder
        cursor = ids.index(keep) if keep is not None and keep in ids else 0
        self.set_rows(len(ids), cursor)

    def _freed_later(self, data: object) -> None:
        """Free the old view's data once the new view's frame is drawn: 100,000 ids, their story sizes and
        thousands of rows read are ~3 ms of freeing at 100k articles, which the key's frame would wait for."""
        if not self._to_free:
            self.call_after_refresh(self._to_free.clear)
        self._to_free.append(data)

    @property
    def ids(self) -> list[int]:
        return self._ids

    @property
    def current_id(self) -> int | None:
        return self._ids[self.cursor] if self._ids else None

    @property
    def current_head_id(self) -> int | None:
        """The id of the current row's story row (the current id unless on an expanded story's article)."""
        return self._ids[self.head_index(self.cursor)] if self._ids else None

    def story_size(self, article_id: int) -> int:
        """How many articles the row of this article stands for (1 for an article of an expanded story)."""
        return self._sizes.get(article_id, 1)

    def head_index(self, index: int) -> int:
        """The row of the story that row `index` belongs to (itself unless it is an expanded story's article)."""
        head = self._head_of.get(self._ids[index]) if 0 <= index < len(self._ids) else None
        return index if head is None else self._ids.index(head, max(0, index - len(self._head_of)), index)

    def is_expanded(self, index: int) -> bool:
        return index + 1 < len(self._ids) and self._head_of.get(self._ids[index + 1]) == self._ids[index]

    def is_story_row(self, index: int) -> bool:
        """Row `index` stands for a story of several articles (not expanded): marking or opening it is the story's."""
        return self.by_story and 0 <= index < len(self._ids) and self.story_size(self._ids[index]) > 1 \
            and not self.is_expanded(index)

    def counted(self) -> tuple[int, int | None]:
        """How many articles the list holds, and in how many stories (None: one row per article)."""
        if not self.by_story:
            return len(self._ids), None
        stories = len(self._ids) - len(self._head_of)
        return stories + sum(self._sizes.values()) - len(self._sizes), stories

    def story_rows(self) -> frozenset[int]:
        """The ids of the rows that stand for a story of several articles (those not expanded)."""
        return frozenset(self._sizes) - set(self._head_of.values()) if self.by_story else frozenset()

    def expand(self, index: int, members: list[int]) -> None:
        """Show the story of row `index` as its articles: `members`, below it."""
        head = self._ids[index]
        members = [i for i in members if i not in self._head_of and i != head]
        self._ids[index + 1 : index + 1] = members
        self._head_of.update(dict.fromkeys(members, head))
        self._rows_changed()

    def collapse(self, index: int) -> None:
        """Fold row `index`'s story back into one row; the cursor goes to it."""
        head = self._ids[index]
        end = index + 1
        while end < len(self._ids) and self._head_of.get(self._ids[end]) == head:
            del self._head_of[self._ids[end]]
            end += 1
        del self._ids[index + 1 : end]
        self.set_reactive(VirtualList.cursor, index)
        self._rows_changed()

    def _rows_changed(self) -> None:
        before, self.row_count = self.row_count, len(self._ids)
        self.set_virtual_height(before, self.row_count)
        self._strips.clear()
        self.refresh()

    def line(self, index: int) -> ArticleLine | None:
        """Row `index`, read from the store with its neighbours if not cached."""
        if not 0 <= index < len(self._ids):
            return None
        article_id = self._ids[index]
        line = self._lines.get(article_id)
        if line is None:
            self._load_window(index)
            line = self._lines.get(article_id)
        else:
            self._lines.move_to_end(article_id)
        return line

    def current_line(self) -> ArticleLine | None:
        return self.line(self.cursor)

    def _load_window(self, index: int) -> None:
        """Rows around `index` into the cache: WINDOW on each side, but a new view's first read only as far as
        two screens (what its first frame draws, the key's answer, and a screen more)."""
        reach = WINDOW if self._lines else min(WINDOW, 2 * max(1, self.size.height))
        window = self._ids[max(0, index - reach) : index + reach]
        missing = [i for i in window if i not in self._lines]
        self._lines.update(self._fetch(missing))
        while len(self._lines) > CACHE_ROWS:
            self._lines.popitem(last=False)

    def replace_line(self, line: ArticleLine) -> None:
        """An article's row changed (read, starred): redraw it."""
        if line.id in self._lines:
            self._lines[line.id] = line
        top = round(self.scroll_offset.y)
        for index in range(top, min(top + self.size.height, len(self._ids))):
            if self._ids[index] == line.id:
                self.refresh_line(index)

    def forget_story(self, story_id: int | None, ids: Sequence[int]) -> None:
        """These articles, of one story, changed (read): their rows and their story's rows are read again."""
        changed = set(ids)
        for line in [line for line in self._lines.values() if line.id in changed or
                     (story_id is not None and line.story_id == story_id)]:  # fmt: skip
            del self._lines[line.id]
        self.refresh()

    def next_unread_drawn(self, start: int, step: int) -> int | None:
        """The next row from `start` on (step 1 or -1) that is unread (a story row: any article it stands for),
        known from the rows read for drawing; -1 if no row up to the end is; None if a row not read yet
        comes first (the store must be asked)."""
        stories = self.story_rows()
        index = start + step
        while 0 <= index < len(self._ids):
            line = self._lines.get(self._ids[index])
            if line is None:
                return None
            own = not line.read
            if (line.story_unread if line.id in stories and line.story_unread is not None else own):
                return index
            index += step
        return -1

    def forget_lines(self) -> None:
        """Drop every cached row (they changed in the store); they are read again as drawn."""
        self._lines.clear()
        self.refresh()

    # -- drawing --------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        """A component style, looked up once per theme or style change."""
        style = self._styles.get(name)
        if style is None:
            style = self.rich_style if name == "base" else self.get_component_rich_style(f"article-list--{name}", partial=True)
            self._styles[name] = style
        return style

    def notify_style_update(self) -> None:
        """Styles were applied again (a theme, or only a focus move): the drawn rows stay if their styles did.
        Compared at the next draw: here the component styles are not updated yet."""
        if self._styles_before is None:
            self._styles_before = self._styles
        self._styles = {}
        super().notify_style_update()

    def render_row(self, index: int, width: int, selected: bool) -> Strip:
        if self._styles_before is not None:
            before, self._styles_before = self._styles_before, None
            if any(self._style(name) != style for name, style in before.items()):
                self._strips.clear()
        line = self.line(index)
        member = line is not None and line.id in self._head_of
        more = self._sizes.get(line.id, 1) - 1 if line is not None and not self.is_expanded(index) else 0
        story = self.by_story and not member and not self.is_expanded(index)  # the row is its story's
        key = (line, width, selected and self.has_focus, selected, member, more, story)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._draw(line, width, selected, member, more, story)
        return strip

    def _draw(self, line: ArticleLine | None, width: int, selected: bool, member: bool = False, more: int = 0,
              story: bool = False) -> Strip:  # fmt: skip
        base = self._style("base")
        if selected:
            base = base + self.cursor_style("article-list")
        if line is None:  # deleted since the view was made
            return Strip.blank(width, base)
        title_w, feed_w, date_w = column_widths(width)
        quiet = line.muted or (line.read if not story or line.story_unread is None else not line.story_unread)
        row = Text(style=base + self._style("read" if quiet else "unread"), no_wrap=True, end="")
        row.append(UNREAD_MARK if not quiet else " ", self._style("mark"))
        row.append(" ")
        row.append(STAR_MARK if line.starred else " ", self._style("star"))
        row.append(" ")
        suffix = " muted" if line.muted and not member else ""
        suffix = f" +{more}{suffix}" if more else suffix
        if member:
            row.append(MEMBER_INDENT[:title_w], self._style("more"))
            title_w = max(1, title_w - len(MEMBER_INDENT))
        title = self._title(line, max(1, title_w - len(suffix)) if title_w > len(suffix) + 8 else title_w)
        if suffix and title_w > len(suffix) + 8:
            title.rstrip()
            title.append(suffix, self._style("more"))
            title.truncate(title_w, overflow="ellipsis", pad=True)
        row.append_text(title)
        row.append(" ")
        if feed_w:
            feed = Text(clean_line(line.feed_title), self._style("feed"))
            feed.truncate(feed_w, overflow="ellipsis", pad=True)
            row.append_text(feed)
            row.append(" ")
        row.append(local_date(line, width).rjust(date_w)[:date_w], self._style("date"))
        return text_strip(row, width, base, self.app.console)

    def _title(self, line: ArticleLine, width: int) -> Text:
        cleaned = clean_line(line.title)
        title = Text(cleaned or NO_TITLE, style="italic" if not cleaned else "")
        if self.match_query is not None and cleaned:
            match = self._style("match")
            for start, end in match_spans(self.match_query, cleaned, field="title"):
                title.stylize(match, start, end)
        title.truncate(width, overflow="ellipsis", pad=True)
        return title
