"""Notifications: where a rule's alerts go, what a message says, and sending it through Apprise.

A rule's `notify` entries are Apprise URLs, or tags of services in the
user's Apprise config file. Each becomes a `Target`: the URL (a secret: it
carries tokens and passwords, so it is never logged, printed or stored), a
stable key to store instead, and a redacted label for people. The key is an
HMAC under a random secret kept in an owner-only file beside the database, so
the database alone cannot be used to guess a weak password in a URL.

A message is rendered in the format its target takes (`resolve_format`):
Markdown where accepted, HTML for e-mail-like targets, plain text for SMS-like
ones; Apprise is told the format it receives, so it converts nothing, and cuts
what is too long for the target (overflow "truncate" unless the URL asks for
another mode). Sending checks Apprise's result object, not its truthiness
alone: a call that reached no service is a failure too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import apprise
from apprise import AppriseResultStatus, NotifyFormat, OverflowMode

from .rules import Rule, redact, scrub
from .store import Alert
from .text import clean_line, clean_text

MAX_ITEMS_PER_MESSAGE = 50  # a digest lists this many articles, then says how many more there are
MAX_TITLE_CHARS = 200
MAX_SNIPPET_CHARS = 400
KEY_FILE = "targets.key"  # in the data dir, mode 0600
MORE = {
    NotifyFormat.TEXT: "…and {} more (see: reader alerts)",
    NotifyFormat.MARKDOWN: "…and {} more (see `reader alerts`)",
    NotifyFormat.HTML: "<p>…and {} more (see <code>reader alerts</code>)</p>",
}
ASSET = apprise.AppriseAsset(app_id="reader", app_desc="reader: topic alerts from your feeds")

# Apprise's log lines can quote a target's host or parts of its URL. They reach us through each
# call's result, where they are scrubbed; never let them into the user's log as they are.
_apprise_log = logging.getLogger(apprise.LOGGER_NAME)
_apprise_log.addHandler(logging.NullHandler())
_apprise_log.propagate = False


# -- targets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    key: str  # a keyed hash of the URL: what the store keeps
    label: str  # the URL redacted: what people see
    url: str  # the secret URL itself: only ever handed to Apprise

    def __repr__(self) -> str:  # keep the URL out of tracebacks and debug logs
        return f"Target({self.label!r})"


def target_secret(data_dir: Path) -> bytes:
    """The secret under which target URLs are hashed; made (owner-only) on first use."""
    path = data_dir / KEY_FILE
    if path.is_file():
        return path.read_bytes()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return path.read_bytes()
    secret = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as f:
        f.write(secret)
    return secret


class TargetBook:
    """Turns a rule's notify entries into targets; the Apprise config file is read once, when a tag needs it."""

    def __init__(self, apprise_config: str, secret: bytes):
        self.config_path = apprise_config
        self.secret = secret
        self._tagged: list[tuple[frozenset[str], Target]] | None = None

    def target(self, url: str, label: str | None = None) -> Target:
        key = hmac.new(self.secret, url.encode(), hashlib.sha256).hexdigest()[:32]
        return Target(key, label or redact(url), url)

    def targets(self, rule: Rule) -> list[Target]:
        found: dict[str, Target] = {}
        for entry in rule.notify:
            for target in self._resolve(entry):
                found.setdefault(target.key, target)
        return list(found.values())

    def _resolve(self, entry: str) -> list[Target]:
        if "://" in entry:
            return [self.target(entry)]
        tag = entry.lower()
        return [target for tags, target in self._tagged_services() if tag in tags]

    def _tagged_services(self) -> list[tuple[frozenset[str], Target]]:
        if self._tagged is None:
            self._tagged = []
            path = Path(self.config_path).expanduser() if self.config_path else None
            if path and path.is_file():
                config = apprise.AppriseConfig(asset=ASSET)
                config.add(str(path))
                for service in config.services():
                    tags = frozenset(str(t).lower() for t in service.tags)
                    self._tagged.append((tags, self.target(service.url(), service.url(privacy=True))))
        return self._tagged


# -- messages -----------------------------------------------------------------------------


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

    def body(self, fmt: NotifyFormat) -> str:
        shown = self.alerts[:MAX_ITEMS_PER_MESSAGE]
        render = {NotifyFormat.HTML: _html_item, NotifyFormat.MARKDOWN: _markdown_item}.get(fmt, _text_item)
        zone = _zone(self.timezone)
        numbered = len(self.alerts) > 1
        parts = [render(a, zone, i if numbered else None) for i, a in enumerate(shown, 1)]
        rest = len(self.alerts) - len(shown)
        if rest:
            parts.append(MORE.get(fmt, MORE[NotifyFormat.TEXT]).format(rest))
        return ("" if fmt == NotifyFormat.HTML else "\n\n").join(parts)


def _zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _when(alert: Alert, zone: tzinfo | None) -> str:
    return (alert.published or alert.created_at).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _feeds(alert: Alert) -> str:
    names = list(dict.fromkeys(clean_line(s.feed_title) for s in alert.sources if s.feed_title))
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
_MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>#|~"})


def _md(text: str) -> str:
    """Text (already clean) with Markdown's special characters escaped."""
    return text.translate(_MARKDOWN_SPECIAL)


def _markdown_item(alert: Alert, zone: tzinfo | None, number: int | None) -> str:
    lines = [f"**{number}. {_md(clean_line(alert.title))}**"] if number else []
    lines.append(f"**{_md(_feeds(alert))}** · {_when(alert, zone)}")
    if alert.link:
        lines.append(clean_line(alert.link))
    snippet = "".join(f"**{_md(t)}**" if marked else _md(t) for t, marked in _snippet_parts(alert))
    if snippet:
        lines.append(f"> {snippet}")
    lines += [f"Also in {_md(feed)}: {link}" for feed, link in _other_links(alert)]
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
    link = clean_line(alert.link)
    if link:
        out.append(f'<br><a href="{e(link)}">{e(link)}</a>')
    out.append("</p>")
    snippet = "".join(f"<b>{e(t)}</b>" if marked else e(t) for t, marked in _snippet_parts(alert))
    if snippet:
        out.append(f"<blockquote>{snippet}</blockquote>")
    out += [f'<p>Also in {e(feed)}: <a href="{e(link)}">{e(link)}</a></p>' for feed, link in _other_links(alert)]
    return "".join(out)


# -- sending ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str = ""  # why not, with no secret in it
    retry_at: datetime | None = None  # the target's own "not before" (its Retry-After), when Apprise read one


def service_for(url: str):
    """Apprise's object for a URL (None if Apprise refuses it), cutting long bodies to fit."""
    service = apprise.Apprise.instantiate(url, asset=ASSET, suppress_exceptions=True)
    if service and "overflow" not in parse_qs(urlsplit(url).query):
        service.overflow_mode = OverflowMode.TRUNCATE
    return service or None


async def send(target: Target, message: Message, *, timeout: float) -> SendResult:
    """Send one message to one target, in the format the target takes, within `timeout` seconds."""
    service = service_for(target.url)
    if service is None:
        return SendResult(False, f"Apprise does not accept the URL {target.label}")
    fmt = service.resolve_format(NotifyFormat.MARKDOWN)
    body = message.body(fmt)
    notifier = apprise.Apprise(asset=ASSET)
    notifier.add(service)
    try:
        # Apprise's own timeout stops waiting for the service; ours also bounds its preparation.
        result = await asyncio.wait_for(
            notifier.async_notify(body=body, title=message.title, body_format=fmt, timeout=timeout),
            timeout + 5,
        )
    except TimeoutError:
        return SendResult(False, f"no answer within {timeout:g} s", _retry_at(service))
    with result:
        if result.status == AppriseResultStatus.SUCCESS and result.success_count >= 1:
            return SendResult(True)
        return SendResult(False, _failure(result, target), _retry_at(service))


def _failure(result, target: Target) -> str:
    """What went wrong, from Apprise's log of the call, with every secret of the URL masked."""
    levels = logging.getLevelNamesMapping()
    messages = [entry.message for entry in result.logs() if levels.get(entry.level, 0) >= logging.WARNING]
    reason = messages[-1] if messages else f"Apprise reported {result.status.name.lower()}"
    return clean_line(scrub(str(reason), target.url), max_chars=300)


def _retry_at(service) -> datetime | None:
    """When the target said to come back (plugins that read Retry-After or rate-limit headers keep it here)."""
    reset = getattr(service, "ratelimit_reset", None)
    if not isinstance(reset, datetime):
        return None
    reset = reset if reset.tzinfo else reset.replace(tzinfo=UTC)  # Apprise keeps naive UTC
    return reset if reset > datetime.now(UTC) else None
