"""The help screen (`?`): every key, read from the live bindings, so a remapped key shows as remapped."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Label, Static

INTRO = (
    "Search uses the query language of `reader search`: words are ANDed; AND, OR, NOT in capitals; "
    '"phrases"; title: feed: group: author: tag: fields; date:7d, date:>=2025-01-01. '
    "Ctrl+P lists every command."
)


def live_bindings(node: DOMNode) -> list[tuple[str, Binding]]:
    """A node's (key, binding) pairs with the app's keymap applied, as Textual applies it when keys arrive.

    (Textual has no public view of one node's bindings, so this reads its map and keymap.)
    """
    bindings = node._bindings.copy()
    bindings.apply_keymap(node.app._keymap)
    return [(key, binding) for key, found in bindings.key_to_bindings.items() for binding in found]


def binding_rows(node: DOMNode) -> list[tuple[str, str]]:
    """(keys, description) for each binding of a node, keys of one action joined."""
    by_action: dict[str, tuple[list[str], Binding]] = {}
    for key, binding in live_bindings(node):
        if binding.system or not binding.description:
            continue
        keys, _ = by_action.setdefault(binding.action, ([], binding))
        display = binding.key_display or node.app.get_key_display(binding.with_key(key))
        if display not in keys:
            keys.append(display)
    rows = []
    for keys, binding in by_action.values():
        description = binding.description + (f" — {binding.tooltip}" if binding.tooltip else "")
        rows.append((" ".join(keys), description))
    return rows


def bindings_table(sections: Iterable[tuple[str, DOMNode]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    for heading, node in sections:
        rows = binding_rows(node)
        if not rows:
            continue
        table.add_row(Text(""), Text(""))
        table.add_row(Text(heading, style="bold underline"), Text(""))
        for keys, description in rows:
            table.add_row(Text(keys), Text(description))
    return table


class HelpScreen(ModalScreen):
    """Keys of the app, the screen and each pane."""

    BINDING_GROUP_TITLE = "Help"
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > VerticalScroll {
            width: 90%;
            max-width: 110;
            height: 90%;
            border: thick $primary 80%;
            background: $surface;
            padding: 0 2;
        }
        .dialog-title { text-style: bold; margin-top: 1; }
        #help-intro { color: $text-muted; margin: 1 0; }
    }
    """

    def __init__(self, sections: list[tuple[str, DOMNode]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label("Keys", classes="dialog-title")
            yield Static(Text(INTRO), id="help-intro")
            yield Static(bindings_table(self.sections), id="help-keys")
