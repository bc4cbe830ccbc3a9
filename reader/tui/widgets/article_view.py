"""The reader pane: an article's title, feed, author, date and link, its text (Markdown, drawn by `ArticleBody`), its links numbered.

Above an alert's article it says which rule matched, the matched words in
context, and where the alert went (each target's state and last error).

Everything shown comes from strangers, so it goes in as `Content` (never as
markup) after `clean_text`/`clean_line`. Links are numbered in the text and
listed at the end; the app opens only http and https ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from ...models import Article
from ...store import Alert
from ...text import clean_line, clean_text
from .article_body import MATCH, ArticleBody, mark

if TYPE_CHECKING:
    from ...index import ParsedQuery

SNIPPET_CHARS = 160  # of an alert's matched text shown above its article
MAX_MARKDOWN_CHARS = 200_000  # longer articles are cut: parsing and laying out more would stall the UI

# Autolinks `<https://…>` (group 1) and inline links `[text](url "title")`, not images (groups 2, 3).
_LINKS = re.compile(
    r"<(https?://[^\s<>]{1,2000})>"
    r"|(?<!!)\[([^\[\]\n]{0,500})\]\(\s*<?([^\s()<>]{1,2000})>?(?:\s+\"[^\"\n]*\")?\s*\)"
)


@dataclass(frozen=True)
class Link:
    number: int
    text: str
    url: str


def number_links(markdown: str) -> tuple[str, list[Link]]:
    """The Markdown with ` [n]` after each link, and the links in order."""
    links: list[Link] = []

    def numbered(match: re.Match, text: str, url: str) -> str:
        links.append(Link(len(links) + 1, clean_line(text, 200), clean_line(url, 2000)))
        return f"{match.group(0)} \\[{len(links)}\\]"

    def either(match: re.Match) -> str:
        if match.group(1) is not None:  # an autolink
            return numbered(match, match.group(1), match.group(1))
        return numbered(match, match.group(2), match.group(3))

    return _LINKS.sub(either, markdown), links


def is_web_url(url: str) -> bool:
    """Only these are handed to a browser: no javascript:, file:, data: or custom schemes."""
    return url.lower().startswith(("http://", "https://")) and len(url) <= 2000


class ArticleView(VerticalScroll, can_focus=True, inherit_bindings=False):
    """The right (or lower) pane; Enter shows it full screen, a pager with newsboat's keys. (No sideways keys: the text wraps.)"""

    ALLOW_MAXIMIZE = True  # the command palette's "Maximize" too

    BINDINGS = [
        Binding("enter", "screen.full_screen", "Full screen", id="reader.full_screen",
                tooltip="The article full screen, and back"),  # fmt: skip
        Binding("down,j", "scroll_down", "Down", show=False, id="reader.down"),
        Binding("up,k", "scroll_up", "Up", show=False, id="reader.up"),
        Binding("space,pagedown,ctrl+f", "page_down", "Page down", show=False, id="reader.page_down"),
        Binding("pageup,ctrl+b,minus", "page_up", "Page up", show=False, id="reader.page_up"),
        Binding("home,g", "scroll_home", "Top", show=False, id="reader.top"),
        Binding("end,G", "scroll_end", "Bottom", show=False, id="reader.bottom"),
    ]

    COMPONENT_CLASSES = {"article-view--match"}

    DEFAULT_CSS = """
    ArticleView {
        & > .article-view--match { background: $warning-muted; color: $text; text-style: bold underline; }
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.article: Article | None = None
        self.marked: ParsedQuery | None = None  # the query whose terms are marked
        self.alert_shown: Content | None = None  # the alert details above the article
        self.also: tuple = ()  # (outlet, title) of the other articles of its story
        self.muted: datetime | None = None  # until when its story is muted
        self.links: list[Link] = []
        self.markdown = ""  # the article's Markdown as shown (links numbered)
        self.found: list[tuple[int, int]] = []  # each place the find text is: its block's number, its offset there
        self.found_at = -1  # the place n/N went to last

    def watch_has_focus(self, has_focus: bool) -> None:
        """Only the pane's border follows its focus: restyle the pane alone, not the article's widgets below it."""
        self.app.stylesheet.update_nodes([self], animate=True)

    def compose(self):
        yield Static(Content(""), id="article-alert")
        yield Static(Content("Select an article to read it."), id="article-head")
        yield ArticleBody(id="article-body")
        yield Static(Content(""), id="article-links")

    async def show_article(self, article: Article | None, query: ParsedQuery | None = None,
                           alert: Content | None = None, also: Sequence[tuple[str, str]] = (),
                           muted: datetime | None = None) -> None:  # fmt: skip
        """Show an article (None: nothing), with `query`'s terms marked, under an alert's details if given;
        `also`: (outlet, title) of the other articles of its story; `muted`: until when that story is muted."""
        self.article = article
        self.marked = query
        self.also = also
        self.muted = muted
        self.alert_shown = alert
        shown = self.query_one("#article-alert", Static)
        shown.update(alert or Content(""))
        shown.display = alert is not None
        head = self.query_one("#article-head", Static)
        body = self.query_one(ArticleBody)
        links = self.query_one("#article-links", Static)
        if article is None:
            self.links = []
            head.update(Content("Select an article to read it."))
            body.show("")
            links.update(Content(""))
            return
        markdown, self.links = number_links(clean_text(article.markdown or article.text, MAX_MARKDOWN_CHARS))
        enclosures = [Link(len(self.links) + k, enclosure_label(e), clean_line(e.url, 2000))
                      for k, e in enumerate(article.enclosures, 1)]  # fmt: skip
        self.links += enclosures
        self.markdown, self.found, self.found_at = markdown, [], -1
        head.update(header(article, query, enclosures, also, muted))
        self.scroll_home(animate=False)
        body.show(markdown, query)
        links.update(links_list(article, self.links))

    async def find(self, text: str) -> int:
        """Mark every place `text` is in the article's body; returns how many. n/N then go from one to the next."""
        self.found = self.query_one(ArticleBody).find(text.strip())
        self.found_at = -1
        return len(self.found)

    def next_found(self, step: int) -> int | None:
        """Scroll to the next (step 1) or previous (-1) place found; its number from 0, None if nothing was found."""
        if not self.found:
            return None
        self.found_at = (self.found_at + step) % len(self.found)
        body = self.query_one(ArticleBody)
        y = body.virtual_region.y + body.line_of(*self.found[self.found_at])
        self.scroll_to(y=max(0, y - 2), animate=False)
        return self.found_at

    def show_starred(self, starred: bool) -> None:
        """The article was starred or unstarred: redraw the header only."""
        if self.article is not None:
            self.article = replace(self.article, starred=starred)
            self.query_one("#article-head", Static).update(header(self.article, self.marked, also=self.also,
                                                                  muted=self.muted))

    def show_muted(self, muted: datetime | None) -> None:
        """The article's story was muted (until `muted`) or unmuted: redraw the header only."""
        if self.article is not None:
            self.muted = muted
            self.query_one("#article-head", Static).update(header(self.article, self.marked, also=self.also,
                                                                  muted=muted))

    def is_showing(self, article_id: int | None, query: ParsedQuery | None, alert: Content | None = None) -> bool:
        return (self.article is not None and self.article.id == article_id and self.marked is query
                and self.alert_shown == alert)  # fmt: skip

    def link(self, number: int) -> Link | None:
        return next((link for link in self.links if link.number == number), None)


def header(article: Article, query: ParsedQuery | None, enclosures: Sequence[Link] = (),
           also: Sequence[tuple[str, str]] = (), muted: datetime | None = None) -> Content:  # fmt: skip
    """Title (terms marked), then feed · author · date, then the link, then the enclosures (podcast audio…),
    then whether its story is muted and the other outlets covering the same story."""
    title = clean_line(article.title) or "(no title)"
    head = Content.styled(title, "bold")
    if query is not None:
        head = mark(head, query, field="title")
    byline = " · ".join(
        part for part in (clean_line(article.feed_title), clean_line(article.author),
                          article.date.astimezone().strftime("%Y-%m-%d %H:%M")) if part
    )  # fmt: skip
    parts = [head, Content("\n"), Content.styled(byline, "$text-muted")]
    if article.link:
        parts += [Content("\n"), Content.styled(clean_line(article.link, 2000), "underline $text-secondary")]
    if article.starred:
        parts += [Content("  "), Content.styled("★ starred", "$text-warning")]
    for link in enclosures:
        parts += [Content("\n"), Content.styled(f"Enclosure [{link.number}] ", "bold"), Content(f"{link.text} · {link.url}")]
    if muted is not None:
        until = "until unmuted" if muted.year >= 9999 else f"until {muted.astimezone():%Y-%m-%d %H:%M}"
        parts += [Content("\n"), Content.styled(f"Story muted {until}", "bold $text-warning"),
                  Content(": no alerts or unread count from it (M unmutes)")]  # fmt: skip
    if also:
        outlets = ", ".join(dict.fromkeys(clean_line(outlet) for outlet, _ in also))
        parts += [Content("\n"), Content.styled("Also covered by: ", "bold"), Content(outlets)]
        parts += [Content(f"\n  {clean_line(outlet)}: {clean_line(title) or '(no title)'}") for outlet, title in also]
    return Content.assemble(*parts)


def enclosure_label(enclosure) -> str:
    """Its type and size, e.g. `audio/mpeg, 42.1 MB`."""
    kind = clean_line(enclosure.type, 100) or "file"
    return f"{kind}, {human_size(enclosure.length)}" if enclosure.length else kind


def human_size(size: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def links_list(article: Article, links: list[Link]) -> Content:
    if not links:
        return Content("")
    lines = [Content.styled("Links (press the number to open)", "bold")]
    for link in links:
        text = f"  [{link.number}] " + (f"{link.text} — " if link.text and link.text != link.url else "") + link.url
        lines.append(Content.styled(text, "" if is_web_url(link.url) else "$text-muted"))
    return Content("\n").join(lines)


def alert_details(alert: Alert, rule_title: str, outlets_wanted: int = 1) -> Content:
    """Which rule matched, the words it matched in context, and each target's state and last error (or how
    many outlets the story must reach first)."""
    when = alert.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
    lines = [Content.assemble(("Alert", "bold reverse"), " ", (clean_line(rule_title), "bold"), f" · {when}")]
    if alert.snippet:
        lines.append(Content.assemble("Matched: ", matched_context(alert.snippet, alert.spans)))
    if len(outlets := alert.outlets) > 1:  # later outlets of the story joined the alert
        lines.append(Content.assemble((f"{len(outlets)} outlets: ", "bold"), clean_line(", ".join(outlets), 1000)))
    if not alert.deliveries and outlets_wanted > len(outlets):
        lines.append(Content.styled(f"Waiting for {outlets_wanted} outlets to carry the story ({len(outlets)} so "
                                    "far); then it is sent.", "$text-warning"))  # fmt: skip
    elif not alert.deliveries:
        lines.append(Content.styled("No notify targets: listed here only.", "$text-muted"))
    for d in alert.deliveries:
        state = {"failed": "FAILED", "sent": "sent"}.get(d.state, d.state)
        if d.state == "sent" and d.sent_at:
            state += " " + d.sent_at.astimezone().strftime("%Y-%m-%d %H:%M")
        elif d.state != "sent" and d.attempts:
            state += f" after {d.attempts} attempt{'s' * (d.attempts != 1)}"
        style = "$text-error" if d.state == "failed" else "$text-success" if d.state == "sent" else "$text-warning"
        line = Content.assemble("To ", (clean_line(d.label, 300), "bold"), ": ", (state, style))
        if d.last_error and d.state != "sent":
            line = Content.assemble(line, " — ", (clean_line(d.last_error, 500), "$text-error"))
        lines.append(line)
    return Content("\n").join(lines)


def matched_context(snippet: str, spans: tuple[tuple[int, int], ...], room: int = SNIPPET_CHARS) -> Content:
    """About `room` characters of the snippet around its first matched span, the matched words marked."""
    snippet = "".join(c if c.isprintable() else " " for c in snippet)  # offsets kept: the spans point into it
    first = min((start for start, _end in spans), default=0)
    start = max(0, min(first - room // 3, len(snippet) - room))
    shown = Content(("…" if start else "") + snippet[start : start + room] + ("…" if start + room < len(snippet) else ""))
    shift = 1 if start else 0
    for begin, end in spans:
        if start <= begin < end <= start + room:
            shown = shown.stylize(MATCH, begin - start + shift, end - start + shift)
    return shown
