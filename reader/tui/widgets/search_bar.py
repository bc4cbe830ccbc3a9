"""The search box: a query in the language of `reader search`, with its error or warnings shown inline."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Static

PLACEHOLDER = 'search: DeepSeek AND "export controls"   (Enter: results · Esc: close · Ctrl+S: save)'


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
        Binding("ctrl+s", "screen.save_search", "Save search", id="search.save", tooltip="Save as a saved search or an alert rule"),
    ]

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, id="search-input", select_on_focus=False)
        yield Static(id="search-message")

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, text: str | None = None) -> None:
        self.add_class("-open")
        if text is not None:
            self.input.value = text
        self.input.focus()

    def close(self) -> None:
        self.remove_class("-open")
        self.show_message("")

    def show_message(self, message: str, severity: str = "") -> None:
        """An error (severity "error") or warnings ("warning") under the box; "" hides it."""
        shown = self.query_one("#search-message", Static)
        shown.update(Content(message))
        shown.set_class(bool(message), "-shown")
        shown.set_class(severity == "error", "-error")
        shown.set_class(severity == "warning", "-warning")
