"""The search box: a query in the language of `reader search`, with its error or warnings shown inline.

It opens empty; ↑ and ↓ walk through the queries searched before, as a shell's history does.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

PLACEHOLDER = 'search: DeepSeek AND "export controls"   (Enter: results · ↑: history · Esc: close · Ctrl+S: save)'
HISTORY_SIZE = 100


def error_text(message: str, query: str, position: int | None, width: int) -> str:
    """The error, then the part of the query around `position` that fits in `width` cells, a caret under it."""
    if position is None or not query:
        return message
    shown = "".join(c if c.isprintable() else " " for c in query)
    room = max(10, width - 2)
    start = 0 if len(shown) <= room else max(0, min(position - room // 2, len(shown) - room))
    window = shown[start : start + room]
    if start > 0:
        window = "…" + window[1:]
    if start + room < len(shown):
        window = window[:-1] + "…"
    return f"{message}\n  {window}\n  {' ' * cell_len(window[: position - start])}^"


class SearchBar(Vertical):
    DEFAULT_CSS = """
    SearchBar {
        height: auto;
        display: none;
        &.-open { display: block; }
        Input { border: none; height: 1; padding: 0 1; background: $boost; }
        Input:focus { border: none; }  /* Textual's own Input:focus border would hide the one text row */
        #search-message { height: auto; max-height: 4; padding: 0 1; display: none; }
        #search-message.-shown { display: block; }
        #search-message.-error { color: $text-error; }
        #search-message.-warning { color: $text-warning; }
    }
    """

    BINDINGS = [
        # priority, as the main screen's `w`: the keys typed right after it are the dialog's, not the query's
        Binding("ctrl+s", "screen.save_search(True)", "Save search", id="search.save", priority=True,
                tooltip="Save as a saved search or an alert rule"),  # fmt: skip
        Binding("up", "history(-1)", "Earlier", show=False, id="search.history_back", tooltip="An earlier query"),
        Binding("down", "history(1)", "Later", show=False, id="search.history_forward", tooltip="A later query"),
    ]

    def __init__(self, history: list[str] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history: list[str] = list(history or [])[-HISTORY_SIZE:]  # oldest first
        self._place = len(self.history)  # where ↑/↓ are in it; len(history) is the line being typed
        self._typed = ""  # the line being typed, kept while walking the history
        self._message = ("", "")  # what the message line shows: (message, severity)

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, id="search-input", select_on_focus=False)
        yield Static(id="search-message")

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self) -> None:
        """Open the box empty (the last query is one ↑ away)."""
        self.add_class("-open")
        self._place, self._typed = len(self.history), ""
        self.input.value = ""
        self.screen.set_focus(self.input)  # now: `focus()` would wait behind keys already queued

    def remember(self, query: str) -> None:
        """A query searched for (Enter, or saved): the newest in the history, once."""
        query = query.strip()
        if query:
            self.history = [q for q in self.history if q != query][-(HISTORY_SIZE - 1) :] + [query]
        self._place = len(self.history)

    def action_history(self, step: int) -> None:
        if self._place == len(self.history):
            self._typed = self.input.value
        place = max(0, min(len(self.history), self._place + step))
        if place != self._place:
            self._place = place
            self.input.value = self.history[place] if place < len(self.history) else self._typed
            self.input.cursor_position = len(self.input.value)

    def close(self) -> None:
        self.remove_class("-open")
        self.show_message("")

    def show_error(self, message: str, query: str, position: int | None) -> None:
        """A query's error with a caret under its column, the query cut to the box's width around it."""
        width = self.query_one("#search-message").content_region.width or self.size.width - 2
        self.show_message(error_text(message, query, position, width or 78), "error")

    def show_message(self, message: str, severity: str = "") -> None:
        """An error (severity "error") or warnings ("warning") under the box; "" hides it.

        The same message again changes nothing: `Static.update` asks for a layout of the screen (~10 ms, in the
        frame of every search's Enter, which hides a message already hidden)."""
        if (message, severity) == self._message:
            return
        self._message = (message, severity)
        shown = self.query_one("#search-message", Static)
        shown.update(Content(message))
        shown.set_class(bool(message), "-shown")
        shown.set_class(severity == "error", "-error")
        shown.set_class(severity == "warning", "-warning")
