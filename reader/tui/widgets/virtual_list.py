"""A list with a cursor that draws only the rows on screen (Textual's Line API).

A list of 100,000 rows costs what a list of fifty does: there is no widget per
row, only `render_line` for each visible line, asking the subclass to draw row
`scroll_y + y`. Subclasses fetch their rows lazily, a window at a time.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


REVERSE = Style(reverse=True)


def text_strip(row: Text, width: int, base: Style, console) -> Strip:
    """`row` drawn as a line exactly `width` cells wide, every segment with a `Style`.

    Rich gives the segments of a span-less `Text` no style at all (not even the
    Text's own), and Textual's NO_COLOR filter fails on a segment without one.
    """
    own = row.style if isinstance(row.style, Style) else base
    segments = [Segment(text, own if style is None else style, control) for text, style, control in row.render(console)]
    return Strip(segments).crop_extend(0, width, base)


class VirtualList(ScrollView, can_focus=True, inherit_bindings=False):
    """A scrolling list of `row_count` rows with one highlighted row, the cursor.

    (Its own keys only: the scrolling container's keys would fight the cursor.)
    """

    BINDINGS = [
        Binding("down,j", "cursor_down", "Down", show=False, id="list.down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="list.up"),
        Binding("pagedown,ctrl+f,space", "page_down", "Page down", show=False, id="list.page_down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="list.page_up"),
        Binding("home,g", "first", "First", show=False, id="list.first"),
        Binding("end,G", "last", "Last", show=False, id="list.last"),
        Binding("enter", "choose", "Open", id="list.open", tooltip="Open the highlighted row"),
    ]

    DEFAULT_CSS = """
    VirtualList {
        overflow-x: hidden;
        overflow-y: auto;
        background: $surface;
    }
    """

    cursor: reactive[int] = reactive(0, init=False)

    class RowMessage(Message):
        """Something happened on one row of a list."""

        def __init__(self, widget: VirtualList, index: int) -> None:
            super().__init__()
            self.widget = widget
            self.index = index

        @property
        def control(self) -> VirtualList:
            return self.widget

    class CursorMoved(RowMessage):
        """The cursor is on another row."""

    class Chosen(RowMessage):
        """Enter (or a click on the cursor's row): open this row."""

    def __init__(self, *, placeholder: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.row_count = 0
        self.placeholder = placeholder  # shown when there are no rows
        self._cursor_styles: dict[tuple[str, bool], Style] = {}  # looked up once per theme or style change

    # -- what subclasses draw ------------------------------------------------------------

    def render_row(self, index: int, width: int, selected: bool) -> Strip:
        """One row, exactly `width` cells wide."""
        raise NotImplementedError

    # -- rows and cursor -------------------------------------------------------------------

    def set_rows(self, count: int, cursor: int = 0) -> None:
        """Show `count` rows (the subclass has swapped its data), the cursor on row `cursor`."""
        before, self.row_count = self.row_count, count
        self.set_virtual_height(before, count)
        cursor = max(0, min(cursor, count - 1))
        self.set_reactive(VirtualList.cursor, cursor)
        self._follow_cursor(center=True)
        self.refresh()
        self.post_message(self.CursorMoved(self, cursor))

    def set_virtual_height(self, before: int, rows: int) -> None:
        """`rows` rows to scroll through (`before` until now); while both overflow the list (the scrollbar stays,
        only its thumb moves) or both fit it (no scrollbar either way), no layout of the whole screen."""
        size, height = Size(0, rows), self.size.height
        if min(before, rows) > height or (height and max(before, rows) <= height):
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)  # the thumb, as Textual's own resize does
        else:
            self.virtual_size = size

    def move_to(self, index: int) -> None:
        if self.row_count:
            self.cursor = max(0, min(index, self.row_count - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old)
        self.refresh_line(new)
        self._follow_cursor()
        self.post_message(self.CursorMoved(self, new))

    def _follow_cursor(self, center: bool = False) -> None:
        """Scroll so the cursor's row is on screen."""
        height = max(1, self.scrollable_content_region.height)
        top = round(self.scroll_offset.y)
        if center and not top <= self.cursor < top + height:
            self.scroll_to(y=max(0, self.cursor - height // 2), animate=False)
        elif self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    @property
    def page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_page_down(self) -> None:
        self.move_to(self.cursor + self.page_height)

    def action_page_up(self) -> None:
        self.move_to(self.cursor - self.page_height)

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.row_count - 1)

    def action_choose(self) -> None:
        if self.row_count:
            self.post_message(self.Chosen(self, self.cursor))

    FOCUS_STYLED = True  # whether a CSS rule depends on the list's own focus (the sidebar's border)

    def watch_has_focus(self, has_focus: bool) -> None:
        """The cursor row shows the focus, drawn (`cursor_style`), not styled: the stylesheet is applied again
        only where a rule depends on the focus (the list is a leaf: nothing below it is restyled)."""
        if self.FOCUS_STYLED:
            super().watch_has_focus(has_focus)

    def on_focus(self) -> None:
        self.refresh_line(self.cursor)

    def on_blur(self) -> None:
        self.refresh_line(self.cursor)

    def on_click(self, event: events.Click) -> None:
        index = round(self.scroll_offset.y) + event.y
        if not 0 <= index < self.row_count:
            return
        if index == self.cursor:
            self.action_choose()
        else:
            self.cursor = index

    # -- drawing -----------------------------------------------------------------------------

    def cursor_style(self, component: str) -> Style:
        """The cursor row's style: the theme's cursor colours, or reverse video when colours are off (NO_COLOR)."""
        if self.app.no_color:
            return REVERSE
        key = (component, self.has_focus)
        style = self._cursor_styles.get(key)
        if style is None:
            name = f"{component}--cursor{'' if self.has_focus else '-blurred'}"
            style = self._cursor_styles[key] = self.get_component_rich_style(name, partial=True)
        return style

    def on_resize(self) -> None:
        self._follow_cursor()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = round(self.scroll_offset.y) + y
        if index < self.row_count:
            return self.render_row(index, width, selected=index == self.cursor)
        if index == 0 and self.placeholder:
            return self._placeholder_strip(width)
        return Strip.blank(width, self.rich_style)

    def _placeholder_strip(self, width: int) -> Strip:
        style = self.rich_style + Style(italic=True, dim=True)
        return Strip([Segment(f" {self.placeholder}", style)]).crop_extend(0, width, self.rich_style)

    def notify_style_update(self) -> None:
        self._cursor_styles.clear()
        super().notify_style_update()
        self.refresh()
