"""Notification targets: parse, validate, redact, resolve tags, and send through Apprise.

A rule's or the watcher's `notify` entries are Apprise URLs, or tags of services in the
user's Apprise config file. Each becomes a `Target`: the URL (a secret: it carries tokens
and passwords, so it is never logged, printed or stored), a stable key to store instead,
and a redacted label for people. The key is an HMAC under a random secret kept in an
owner-only file beside the database, so the database alone cannot be used to guess a weak
password in a URL. This module never knows about rules, alerts or the store.

A message is sent in the format its target renders (`message_format`): Markdown where
accepted (ntfy too, whose apps render the Markdown Apprise marks as such only when told),
HTML for e-mail-like targets, plain text for SMS-like ones and for generic webhooks (json://,
form://, xml://: a program reads them, and Markdown escapes would be noise in its text),
unless the URL or the Apprise config sets `format`. Apprise is told the format it receives,
so it converts nothing, and cuts what is too long for the target (overflow "truncate" unless
the URL or the config sets `overflow`). Sending checks Apprise's
result object, not its truthiness alone: a call that reached no service is a failure too.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from .logs import register_secret
from .text import clean_line

if TYPE_CHECKING:
    from apprise import AppriseAsset

KEY_FILE = "targets.key"  # in the data dir, mode 0600
TAG_RE = re.compile(r"[\w.-]+")
APPRISE_WIKI = "https://github.com/caronc/apprise/wiki"
APPRISE_LOGGER = "apprise"  # apprise.LOGGER_NAME
# Apprise (~0.1 s of imports) is imported where it is used, not here: a run that sends and
# checks nothing (a fetch with no alert due) never loads it.


@lru_cache(maxsize=1)
def asset() -> AppriseAsset:
    import apprise

    return apprise.AppriseAsset(app_id="reader", app_desc="reader: topic alerts from your feeds")


# Apprise's log lines can quote a target's host or parts of its URL. They reach us through each
# call's result, where they are scrubbed; never let them into the user's log as they are.
_apprise_log = logging.getLogger(APPRISE_LOGGER)
_apprise_log.addHandler(logging.NullHandler())
_apprise_log.propagate = False


# -- targets ------------------------------------------------------------------------------


# The message options a URL (or its entry in the Apprise config) may set; where it does not, ours apply.
USER_OPTIONS = ("format", "overflow")


@dataclass(frozen=True)
class Target:
    key: str  # a keyed hash of the URL: what the store keeps
    label: str  # the URL redacted: what people see
    url: str  # the secret URL itself: only ever handed to Apprise
    chosen: frozenset[str] = frozenset()  # the USER_OPTIONS the user set for it

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

    def target(self, url: str, chosen: frozenset[str] | None = None) -> Target:
        """The target of `url`; `chosen`: the options set for it (default: those in its query)."""
        key = hmac.new(self.secret, url.encode(), hashlib.sha256).hexdigest()[:32]
        _hide_from_logs(url)
        return Target(key, redact(url), url, _chosen_in_url(url) if chosen is None else chosen)

    def targets(self, entries: Iterable[str]) -> list[Target]:
        """The targets `entries` (URLs and tags) name, each once."""
        found: dict[str, Target] = {}
        for entry in entries:
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
                self._tagged = [(tags, self.target(url, chosen)) for tags, url, chosen in _config_services(path)]
        return self._tagged


def _config_services(path: Path) -> list[tuple[frozenset[str], str, frozenset[str]]]:
    """The services of an Apprise config file: (their tags, lowercased; their URL, a secret; the USER_OPTIONS
    their entry sets: Apprise's URL for a service spells out every option, set or not)."""
    import apprise

    config = apprise.AppriseConfig(asset=asset())
    with _apprise_quiet():
        config.add(str(path))
        return [(frozenset(str(t).lower() for t in service.tags), service.url(), _chosen_in_service(service))
                for service in config.services()]  # fmt: skip


def _chosen_in_url(url: str) -> frozenset[str]:
    keys = {key.lower() for key in parse_qs(urlsplit(url).query, keep_blank_values=True)}
    return frozenset(option for option in USER_OPTIONS if option in keys)


def _chosen_in_service(service: Any) -> frozenset[str]:
    """The USER_OPTIONS set on an Apprise service object (Apprise keeps them as its own attributes)."""
    own = vars(service)
    chosen = {"format"} if "notify_format" in own or own.get("_format_override") is not None else set()
    return frozenset(chosen | ({"overflow"} if "overflow_mode" in own else set()))


# -- checking notify entries ---------------------------------------------------------------------


class TargetChecker:
    """Checks notify entries against Apprise: URLs it accepts, and tags of the user's Apprise config."""

    def __init__(self, config_path: str):
        self.config_path = config_path
        self._tags: frozenset[str] | None = None

    def problem(self, entry: str) -> tuple[str, str] | None:
        """("error" | "warning", why) for a notify entry that will not reach anyone; None if it is fine."""
        if "://" in entry:
            reason = self.url_problem(entry)
            return ("error", f"{redact(entry)}: {reason}") if reason else None
        if not TAG_RE.fullmatch(entry):
            shown = f'"{redact(entry)}"'
            shown = shown if len(shown) <= 60 else shown[:57] + "…"
            return "error", f"{shown} is neither an Apprise URL (scheme://…) nor a tag (a word)"
        reason = self.tag_problem(entry)
        return ("warning", reason) if reason else None

    def url_problem(self, url: str) -> str | None:
        """None if Apprise accepts the URL here, else why not (with no secret in it)."""
        import apprise

        scheme = url.split("://", 1)[0].lower()
        plugin = _plugin(scheme)
        if plugin is None:
            close = difflib.get_close_matches(scheme, apprise.NotificationManager().schemas(), n=1)
            hint = f"did you mean '{close[0]}://'?" if close else f"the services and their URLs: {APPRISE_WIKI}"
            return f"Apprise has no service '{scheme}://'; {hint}"
        if not plugin.enabled:
            return f"Apprise's {plugin.service_name} service cannot run on this system (a library it needs is missing)"
        instance, messages = _instantiate(url)
        if instance is None:
            reasons = "; ".join(scrub(m, url) for m in messages[:2]) or "the URL's parts are wrong"
            return f"Apprise does not accept this {plugin.service_name} URL: {reasons}"
        return None

    def tag_problem(self, tag: str) -> str | None:
        if not self.config_path:
            return (f"'{tag}' is an Apprise tag, but no Apprise config file is set ([alerts] apprise_config "
                    "in config.toml), so its alerts are sent nowhere; map the tag to a URL there, "
                    "or put a URL here")  # fmt: skip
        path = Path(self.config_path).expanduser()
        if not path.is_file():
            return f"'{tag}' is an Apprise tag, but the Apprise config file {path} does not exist"
        tags = self.tags(path)
        if tag.lower() not in tags:
            known = ", ".join(sorted(tags)) or "none"
            return f"'{tag}' is not a tag of any URL in {path} (its tags: {known})"
        return None

    def tags(self, path: Path) -> frozenset[str]:
        if self._tags is None:
            self._tags = frozenset().union(*(tags for tags, _url, _chosen in _config_services(path)))
        return self._tags


def _plugin(scheme: str):
    """Apprise's notification class for a scheme, or None."""
    import apprise

    manager = apprise.NotificationManager()
    return manager[scheme] if scheme in manager else None


def _instantiate(url: str) -> tuple[Any, list[str]]:
    """Apprise's object for a URL (None if it refuses it) and what Apprise logged meanwhile."""
    import apprise

    with _apprise_quiet() as messages:
        instance = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    return (instance or None), messages


@contextmanager
def _apprise_quiet() -> Iterator[list[str]]:
    """Collect Apprise's log messages instead of letting them reach the user's screen or log:
    they may quote a notification URL with its secrets."""
    logger = logging.getLogger(APPRISE_LOGGER)
    messages: list[str] = []
    handler = _ListHandler(messages)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class _ListHandler(logging.Handler):
    def __init__(self, messages: list[str]):
        super().__init__(logging.WARNING)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# -- redaction ----------------------------------------------------------------------------------

_SECRET_QUERY_KEYS = {"token", "key", "apikey", "api_key", "secret", "password", "pass", "pw", "pwd", "auth",
                      "access_token", "accesstoken", "sig", "signature", "webhook", "bot"}  # fmt: skip
_MASK = "****"
# Generic webhooks carry their secret in the path or in headers given as query values
# (json://host/hook/<token>, https://hooks.example.com/services/<id>/<token>): past the first
# path segment everything is masked, and every query value but these plain settings.
WEBHOOK_SCHEMES = frozenset({"json", "jsons", "form", "forms", "xml", "xmls", "http", "https"})
_PLAIN_QUERY_KEYS = frozenset({"format", "overflow", "method", "verify", "cto", "rto", "emojis", "tz"})


def redact(url: str) -> str:
    """A notification URL with its credentials masked: "json://user:****@host/path", "slack://****/****/****".

    Tags (no "://") are returned unchanged. A part is masked when Apprise
    itself would hide it, and also when it merely looks like a token (letters
    mixed with digits, or long), so URLs Apprise does not know are covered too.
    """
    if "://" not in url:
        return url
    return "".join(_MASK if secret else text for text, secret in _url_pieces(url))


def _secret_parts(url: str) -> list[str]:
    return [text for text, secret in _url_pieces(url) if secret and text]


def _hide_from_logs(url: str) -> None:
    """Have every log line mask this URL's secrets, whoever writes it (urllib3 logs a request's path)."""
    for part in _secret_parts(url):
        register_secret(part)
        register_secret(unquote(part))


def scrub(message: str, url: str) -> str:
    """An Apprise log message with every secret part of `url` masked."""
    message = message.replace(url, redact(url))
    for part in sorted(_secret_parts(url), key=len, reverse=True):
        if len(part) >= 3:
            message = message.replace(part, _MASK)
    return re.sub(r"\b\w\.\.\.\w\b", _MASK, message)  # Apprise's own "T...2" shows two characters


@lru_cache(maxsize=256)
def _url_pieces(url: str) -> tuple[tuple[str, bool], ...]:
    """The URL cut into (text, is_secret) pieces that join back into it."""
    scheme, _, rest = url.partition("://")
    shown = _apprise_shown_parts(url)
    webhook = scheme.lower() in WEBHOOK_SCHEMES
    rest, hash_, fragment = rest.partition("#")
    rest, question, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    pieces: list[tuple[str, bool]] = [(scheme + "://", False)]
    if at:
        pieces += [(user, _looks_secret(user, shown))]
        pieces += [(colon, False), (password, bool(password))] if colon else []
        pieces += [(at, False)]
    pieces += _host_pieces(hostport, shown)
    if slash:
        for n, segment in enumerate(path.split("/")):
            pieces += [("/", False), (segment, bool(segment) and (webhook and n > 0 or _looks_secret(segment, shown)))]
    if question:
        pieces += [("?", False)]
        for i, pair in enumerate(query.split("&")):
            key, eq, value = pair.partition("=")
            plain = key.lower().lstrip("+-:") in _PLAIN_QUERY_KEYS
            secret = bool(value) and (
                key.lower() in _SECRET_QUERY_KEYS or (webhook and not plain) or _looks_secret(value, shown)
            )
            pieces += [("&" if i else "", False), (key + eq, False), (value, secret)]
    if hash_:
        pieces += [("#", False), (fragment, bool(fragment))]
    return tuple(pieces)


def _host_pieces(hostport: str, shown: frozenset[str] | None) -> list[tuple[str, bool]]:
    """A host name or address is shown; a token in the host's place (slack://T1/…, tgram://bot:token) is not."""
    if "." in hostport or hostport.startswith("["):
        return [(hostport, False)]
    host, colon, port = hostport.partition(":")
    if colon and not port.isdigit():  # "id:token", not "host:port": one credential
        secret = _looks_secret(host, shown) or _looks_secret(port, shown)
        return [(host, secret), (colon, False), (port, secret)]
    return [(host, _looks_secret(host, shown)), (colon, False), (port, False)]


def _looks_secret(part: str, shown: frozenset[str] | None) -> bool:
    """Apprise hides it, or it looks like a token: letters mixed with digits, or 16+ characters."""
    if not part:
        return False
    if shown is not None and unquote(part) not in shown:
        return True
    mixed = len(part) >= 6 and any(c.isdigit() for c in part) and any(c.isalpha() for c in part)
    return mixed or (len(part) >= 16 and not part.isdigit())


@lru_cache(maxsize=256)
def _apprise_shown_parts(url: str) -> frozenset[str] | None:
    """The parts of a URL that Apprise's own privacy form leaves visible; None if Apprise refuses the URL."""
    scheme = url.split("://", 1)[0].lower()
    plugin = _plugin(scheme)
    if plugin is None or not plugin.enabled:
        return None
    instance, _messages = _instantiate(url)
    if instance is None:
        return None
    private = instance.url(privacy=True).split("://", 1)[-1]
    return frozenset(unquote(p) for p in re.split(r"[/:@?&=]", private))


# -- sending ------------------------------------------------------------------------------


class Sendable(Protocol):
    """What `send` needs of a message: a title, and a body in the format the target takes."""

    @property
    def title(self) -> str: ...

    def body(self, fmt: str) -> str: ...


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str = ""  # why not, with no secret in it
    retry_at: datetime | None = None  # the target's own "not before" (its Retry-After), when Apprise read one
    refused: bool = False  # the target answered, and refused this message for what it is (a 4xx, not 408/429)


def service_for(url: str, chosen: frozenset[str] | None = None):
    """Apprise's object for a URL (None if Apprise refuses it), cutting long bodies to fit unless `chosen`
    (default: the options in the URL's query) holds "overflow"."""
    import apprise

    service = apprise.Apprise.instantiate(url, asset=asset(), suppress_exceptions=True)
    if service and "overflow" not in (_chosen_in_url(url) if chosen is None else chosen):
        service.overflow_mode = apprise.OverflowMode.TRUNCATE
    return service or None


# ntfy's apps render Markdown when the message says it is Markdown, which Apprise says only when told to.
MARKDOWN_RENDERERS = frozenset({"ntfy", "ntfys"})
# Generic webhooks and queues: a program reads the text, so it gets plain text, with no markup to undo.
PROGRAM_SCHEMES = frozenset({"json", "jsons", "form", "forms", "xml", "xmls", "amqp", "amqps"})


def message_format(service: Any, target: Target) -> str:
    """The format (Apprise's NotifyFormat) a message to `target` is rendered in, unless the user chose one:
    Markdown where the service renders it, plain text for programs, else what Apprise says the service takes
    (Markdown if among them)."""
    import apprise

    if "format" not in target.chosen:
        scheme = target.url.split("://", 1)[0].lower()
        if scheme in MARKDOWN_RENDERERS:
            service.notify_format = apprise.NotifyFormat.MARKDOWN  # (Apprise then sends ntfy its Markdown header)
        elif scheme in PROGRAM_SCHEMES:
            return service.resolve_format(apprise.NotifyFormat.TEXT)
    return service.resolve_format(apprise.NotifyFormat.MARKDOWN)


async def send(target: Target, message: Sendable, *, timeout: float) -> SendResult:
    """Send one message to one target, in the format the target takes, within `timeout` seconds."""
    import apprise

    service = service_for(target.url, target.chosen)
    if service is None:
        return SendResult(False, f"Apprise does not accept the URL {target.label}")
    fmt = message_format(service, target)
    body = message.body(fmt)
    notifier = apprise.Apprise(asset=asset())
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
        if result.status == apprise.AppriseResultStatus.SUCCESS and result.success_count >= 1:
            return SendResult(True)
        return SendResult(False, _failure(result, target), _retry_at(service), _refused(result))


# HTTP answers that say "not now" (the target is there but cannot take it yet), unlike a 4xx about the message.
_NOT_NOW = frozenset({408, 425, 429})
_STATUS = re.compile(r"\berror=(\d{3})\b")  # how Apprise's HTTP plugins log the status a service answered


def _refused(result) -> bool:
    """Whether the service answered with a 4xx about this message (bad markup, too large): another message may
    well go through. No status logged (a connection error, a timeout) or a 5xx, 408, 429: it is unreachable."""
    statuses = [int(m[1]) for e in result.logs() if (m := _STATUS.search(str(e.message)))]
    return bool(statuses) and 400 <= statuses[-1] < 500 and statuses[-1] not in _NOT_NOW


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
