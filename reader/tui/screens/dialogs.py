"""Small modal dialogs: import OPML, confirm, a feed's details, an article's links, how long to mute a story.

Each returns its answer through `dismiss` (None when cancelled with Escape).
Every piece of feed-supplied text goes in as `Content`, never as markup.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...models import Feed
from ...text import clean_line
from ...urls import redact_url
from ..widgets.article_view import Link, is_web_url


class Dialog(ModalScreen):
    """A centred box; Escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    DEFAULT_CSS = """
    Dialog {
        align: center middle;
        & > Vertical {
            width: 80%;
            max-width: 100;
            height: auto;
            max-height: 90%;
            overflow-y: auto;  /* a short terminal scrolls the dialog (Tab moves to the fields below) */
            border: thick $primary 80%;
            background: $surface;
            padding: 1 2;
        }
        .dialog-title { text-style: bold; margin-bottom: 1; }
        .dialog-hint { color: $text-muted; margin-top: 1; width: 100%; }  /* wraps: a narrow terminal keeps its end */
        .dialog-error { color: $text-error; height: auto; }
        .field { height: 1; margin-top: 0; }  /* a label and a one-line input */
        .field Label { width: 8; text-style: bold; }
        .field Input { width: 1fr; }
        Horizontal { height: auto; margin-top: 1; }
        Button { margin-right: 2; }
    }
    """

    def action_cancel(self) -> None:
        self.dismiss(None)


class PathScreen(Dialog):
    """Ask for a file path (OPML import). Returns the Path."""

    BINDING_GROUP_TITLE = "Import"

    def __init__(self, title: str, hint: str) -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Content(self.title_text), classes="dialog-title")
            yield Input(placeholder="~/feeds.opml", id="path")
            yield Static(id="path-error", classes="dialog-error")
            yield Label(Content(self.hint), classes="dialog-hint")

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        path = Path(event.value.strip()).expanduser()
        if not path.is_file():
            self.query_one("#path-error", Static).update(Content(f"No such file: {path}"))
            return
        self.dismiss(path)


class ConfirmScreen(Dialog):
    """A yes/no question. Returns True for yes."""

    BINDING_GROUP_TITLE = "Confirm"
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: Content) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question)
            with Horizontal():
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


def feed_details(feed: Feed, articles: int) -> Content:
    """A feed's URL, group, state and last error, as plain text."""
    def when(dt) -> str:
        return dt.astimezone().strftime("%Y-%m-%d %H:%M") if dt else "never"

    rows = [
        ("Title", clean_line(feed.display_title)),
        ("URL", clean_line(redact_url(feed.url), 2000)),  # credentials masked, as everywhere but `feeds export`
        ("Group", clean_line(feed.group) or "—"),
        ("Site", clean_line(feed.site_url, 2000) or "—"),
        ("Enabled", "yes" if feed.enabled else "no (disabled)"),
        ("Full text", "fetch article pages" if feed.fulltext else "feed text only"),
        ("Last fetched", when(feed.last_fetched_at)),
        ("Last status", feed.last_status or "never fetched"),
        ("Errors in a row", str(feed.error_count)),
        ("Last new article", when(feed.last_new_at)),
        ("Articles", str(articles)),
    ]
    lines = [Content.assemble((f"{name:<17}", "bold"), value) for name, value in rows]
    error = clean_line(feed.last_error or "", 2000)
    lines.append(Content.assemble(("Last error       ", "bold"), (error or "none", "$text-error" if error else "")))
    return Content("\n").join(lines)


class FeedInfoScreen(Dialog):
    """A feed's details and its last error; its title and group can be changed here. Returns (title, group)."""

    BINDING_GROUP_TITLE = "Feed"
    DEFAULT_CSS = """
    FeedInfoScreen {
        .field Label { width: 18; }
        #feed-details { margin-bottom: 1; }
    }
    """

    def __init__(self, feed: Feed, articles: int) -> None:
        super().__init__()
        self.feed = feed
        self.articles = articles

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Feed", classes="dialog-title")
            yield Static(feed_details(self.feed, self.articles), id="feed-details")
            for label, field_id, value, placeholder in (
                ("Rename to", "feed-title", clean_line(self.feed.title), "empty: the feed's own title"),
                ("Move to group", "feed-group", clean_line(self.feed.group), "empty: no group"),
            ):
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(value, placeholder=placeholder, id=field_id, compact=True)
            yield Label("Enter saves the title and group · Esc closes", classes="dialog-hint")

    @on(Input.Submitted)
    def submit(self) -> None:
        self.dismiss((self.query_one("#feed-title", Input).value.strip(), self.query_one("#feed-group", Input).value.strip()))


class LinksScreen(Dialog):
    """The article's links, numbered; Enter opens one (http and https only). Returns the URL."""

    BINDING_GROUP_TITLE = "Links"

    def __init__(self, links: list[Link]) -> None:
        super().__init__()
        self.links = links

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Links", classes="dialog-title")
            options = [
                Option(Text(f"[{link.number}] {link.text + ' — ' if link.text and link.text != link.url else ''}{link.url}",
                            style="" if is_web_url(link.url) else "dim", no_wrap=True, overflow="ellipsis"),
                       id=str(link.number))
                for link in self.links
            ]  # fmt: skip
            yield OptionList(*options, id="links")
            yield Label("Enter opens in the browser (http/https only) · Esc closes", classes="dialog-hint")

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        link = next(link for link in self.links if str(link.number) == event.option.id)
        self.dismiss(link.url)


MUTE_CHOICES: tuple[tuple[str, timedelta | None], ...] = (
    ("1 day", timedelta(days=1)),
    ("7 days", timedelta(days=7)),
    ("30 days", timedelta(days=30)),
    ("until unmuted", None),
)


class MuteScreen(Dialog):
    """How long to mute a story (as `reader stories mute --for`). Returns a (label, length) of MUTE_CHOICES."""

    BINDING_GROUP_TITLE = "Mute"
    BINDINGS = [Binding(str(k), f"choose({k - 1})", show=False, id=f"mute.choose_{k}") for k in range(1, 5)]
    DEFAULT_CSS = """
    MuteScreen {
        & > Vertical { max-width: 64; }
        OptionList { height: auto; margin-top: 1; }
    }
    """

    def __init__(self, title: str) -> None:
        super().__init__()
        self.story_title = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Mute this story for", classes="dialog-title")
            yield Static(Content(clean_line(self.story_title, 200) or "(no title)"), classes="dialog-hint")
            yield OptionList(*[Option(f"{k}  {label}", id=str(k - 1)) for k, (label, _) in enumerate(MUTE_CHOICES, 1)],
                             id="mute-for")  # fmt: skip
            yield Static("No alerts and no unread count from it; every rule stays armed. "
                         "Enter or 1–4 chooses · Esc cancels", classes="dialog-hint")  # fmt: skip

    def action_choose(self, index: int) -> None:
        self.dismiss(MUTE_CHOICES[index])

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(MUTE_CHOICES[int(event.option.id)])
