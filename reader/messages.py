"""Notification messages: what an alert about new articles, or a health alert, says in text, Markdown or HTML.

Feed text is untrusted: every piece is cleaned of control characters and escaped for the format
it goes into. Never sends anything (that is `reader.targets`) and never reads the store.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .store import Alert
from .text import clean_line, clean_text

# Apprise's NotifyFormat values (a str enum: its members equal and hash as these strings). Apprise
# itself is imported only to send (reader.targets): a run that sends nothing never pays for it.
TEXT, MARKDOWN, HTML = "text", "markdown", "html"
MAX_ITEMS_PER_MESSAGE = 50  # a digest lists this many articles, then says how many more there are
MAX_TITLE_CHARS = 200
MAX_SNIPPET_CHARS = 400
MORE = {
    TEXT: "…and {} more (see: reader alerts)",
    MARKDOWN: "…and {} more (see `reader alerts`)",
    HTML: "<p>…and {} more (see <code>reader alerts</code>)</p>",
}


@dataclass(frozen=True)
class Message:
    """One notification: a single alert, or several (a digest, or what quiet hours held back)."""

    rule_title: str
    alerts: tuple[Alert, ...]
    timezone: str = ""  # the rule's zone for dates; "" = local

    @property
    def title(self) -> str:
        if len(self.alerts) == 1:
            text = f"{self.rule_title}: {self.alerts[0].title or '(no title)'}"
        else:
            text = f"{self.rule_title}: {len(self.alerts)} new articles"
        return clean_line(text, max_chars=MAX_TITLE_CHARS)

    def body(self, fmt: str) -> str:
        shown = self.alerts[:MAX_ITEMS_PER_MESSAGE]
        render = {HTML: _html_item, MARKDOWN: _markdown_item}.get(fmt, _text_item)
        zone = _zone(self.timezone)
        numbered = len(self.alerts) > 1
        parts = [render(a, zone, i if numbered else None) for i, a in enumerate(shown, 1)]
        rest = len(self.alerts) - len(shown)
        if rest:
            parts.append(MORE.get(fmt, MORE[TEXT]).format(rest))
        return ("" if fmt == HTML else "\n\n").join(parts)


def _zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _when(alert: Alert, zone: tzinfo | None) -> str:
    return (alert.published or alert.created_at).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _feeds(alert: Alert) -> str:
    names = dict.fromkeys(clean_line(name) for name in alert.outlets if name)
    return ", ".join(names) or "unknown feed"


def _other_links(alert: Alert) -> list[tuple[str, str]]:
    """(feed, link) of sources whose link differs from the alert's own."""
    return [(clean_line(s.feed_title), clean_line(s.link)) for s in alert.sources if s.link and s.link != alert.link]


def _snippet_parts(alert: Alert) -> list[tuple[str, bool]]:
    """The snippet as (text, is_matched_term) runs."""
    text, parts, last = alert.snippet[:MAX_SNIPPET_CHARS], [], 0
    for start, end in alert.spans:
        if start >= len(text):
            break
        parts += [(text[last:start], False), (text[start:end], True)]
        last = end
    parts.append((text[last:], False))
    runs = [(_WHITESPACE.sub(" ", clean_text(t)), marked) for t, marked in parts]
    return [(t, marked) for t, marked in runs if t.strip()]


_WHITESPACE = re.compile(r"\s+")
_MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>#|~&"})
_LINK_UNSAFE = str.maketrans({" ": "%20", "<": "%3C", ">": "%3E", '"': "%22"})


def _md(text: str) -> str:
    """Text (already clean) with Markdown's special characters escaped."""
    return text.translate(_MARKDOWN_SPECIAL)


def _web(link: str) -> str | None:
    """A feed's link as a URL safe to make a link of: http(s) only (never `javascript:`), with nothing in it that
    could end the link early."""
    link = clean_line(link)
    return link.translate(_LINK_UNSAFE) if link.lower().startswith(("http://", "https://")) else None


def _md_link(link: str) -> str:
    """A link as a Markdown autolink (`<…>`: nothing inside is read as Markdown); any other text, escaped."""
    web = _web(link)
    return f"<{web}>" if web else _md(clean_line(link))


def _markdown_item(alert: Alert, zone: tzinfo | None, number: int | None) -> str:
    lines = [f"**{number}. {_md(clean_line(alert.title))}**"] if number else []
    lines.append(f"**{_md(_feeds(alert))}** · {_when(alert, zone)}")
    if alert.link:
        lines.append(_md_link(alert.link))
    snippet = "".join(f"**{_md(t)}**" if marked else _md(t) for t, marked in _snippet_parts(alert))
    if snippet:
        lines.append(f"> {snippet}")
    lines += [f"Also in {_md(feed)}: {_md_link(link)}" for feed, link in _other_links(alert)]
    return "\n".join(lines)


def _text_item(alert: Alert, zone: tzinfo | None, number: int | None) -> str:
    lines = [f"{number}. {clean_line(alert.title)}"] if number else []
    lines.append(f"{_feeds(alert)} · {_when(alert, zone)}")
    if alert.link:
        lines.append(clean_line(alert.link))
    snippet = "".join(f"*{t}*" if marked else t for t, marked in _snippet_parts(alert))
    if snippet:
        lines.append(snippet)
    lines += [f"Also in {feed}: {link}" for feed, link in _other_links(alert)]
    return "\n".join(lines)


def _html_item(alert: Alert, zone: tzinfo | None, number: int | None) -> str:
    e = html.escape
    out = [f"<p><b>{number}. {e(clean_line(alert.title))}</b></p>"] if number else []
    out.append(f"<p><b>{e(_feeds(alert))}</b> · {e(_when(alert, zone))}")
    if alert.link:
        out.append(f"<br>{_html_link(alert.link)}")
    out.append("</p>")
    snippet = "".join(f"<b>{e(t)}</b>" if marked else e(t) for t, marked in _snippet_parts(alert))
    if snippet:
        out.append(f"<blockquote>{snippet}</blockquote>")
    out += [f"<p>Also in {e(feed)}: {_html_link(link)}</p>" for feed, link in _other_links(alert)]
    return "".join(out)


def _html_link(link: str) -> str:
    """A link as an anchor when it is a web address; any other text (a `javascript:` link), escaped text."""
    web = _web(link)
    return f'<a href="{html.escape(web)}">{html.escape(web)}</a>' if web else html.escape(clean_line(link))


@dataclass(frozen=True)
class Notice:
    """A notification that is not about articles (a health alert): a title and a few lines of text."""

    subject: str
    lines: tuple[str, ...]

    @property
    def title(self) -> str:
        return clean_line(self.subject, max_chars=MAX_TITLE_CHARS)

    def body(self, fmt: str) -> str:
        lines = [clean_line(line) for line in self.lines]
        if fmt == HTML:
            return "".join(f"<p>{html.escape(line)}</p>" for line in lines)
        if fmt == MARKDOWN:
            return "\n\n".join(_md(line) for line in lines)
        return "\n".join(lines)
