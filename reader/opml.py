"""Subscriptions in and out: OPML and newsboat `urls` files. No network.

Import files come from strangers as often as from the user's own exports, so
they are parsed as untrusted data: size-capped, XML without DTD entities or
network access, labels stripped of control characters, and only http(s) feed
URLs kept. Anything left out is reported in `ImportResult.skipped` rather than
silently dropped; a file that cannot be read at all raises `OPMLError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from lxml import etree

from .text import clean_line

MAX_INPUT_BYTES = 10 * 1024 * 1024
MAX_URL_CHARS = 2048
MAX_LABEL_CHARS = 300

_NOT_A_URL = "not a URL"
_NOT_HTTP = "not an http(s) URL"
_TOO_LONG = f"URL longer than {MAX_URL_CHARS} characters"

# newsboat feed kinds that are not fetched URLs; we have nothing to import them as.
_NEWSBOAT_SPECIAL = {
    "query:": "query feeds are not imported",
    "exec:": "exec feeds are not imported (they run a command)",
    "filter:": "filter feeds are not imported (they run a command)",
}
_FEED_ROOTS = {"rss", "feed", "rdf"}  # what a user passes by mistake instead of a list
# How XML in UTF-16/32 begins: with a byte-order mark, or with a "<" padded by a zero byte.
_WIDE_XML_STARTS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\x00<", b"<\x00")
_ENTITY_DECLARATIONS = tuple("<!ENTITY".encode(codec) for codec in ("utf-8", "utf-16-le", "utf-16-be"))
# Characters XML 1.0 cannot carry, plus C0/C1 controls, which a terminal may obey.
_UNSAFE_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_POSITION_SUFFIX = re.compile(r", line \d+, column \d+$")  # lxml appends it to its messages


@dataclass(frozen=True)
class Subscription:
    url: str
    title: str = ""
    group: str = ""
    site_url: str = ""  # OPML htmlUrl, when the file gives one


@dataclass(frozen=True)
class ImportResult:
    subscriptions: list[Subscription] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "line N: why", one per entry left out


class OPMLError(Exception):
    """The file cannot be imported; the message names the file and the problem."""


def read_subscriptions(data: bytes, name: str) -> ImportResult:
    """Read an OPML file or a newsboat `urls` file (detected from the content).

    Subscriptions are deduplicated by URL, the first occurrence winning, and
    keep the file's order. `name` is only used in messages.
    """
    if len(data) > MAX_INPUT_BYTES:
        raise OPMLError(f"{name}: too large ({len(data):,} bytes; the limit is {MAX_INPUT_BYTES // 2**20} MB)")
    content = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not content:
        raise OPMLError(f"{name}: empty file")
    if content.startswith(b"<") or data.startswith(_WIDE_XML_STARTS):
        result = _read_opml(data, name)
        empty_hint = "outlines need an xmlUrl attribute"
    else:
        result = _read_newsboat_urls(data, name)
        empty_hint = "expected one feed URL per line"
    if not result.subscriptions and not result.skipped:
        raise OPMLError(f"{name}: no feed URLs found ({empty_hint})")
    return result


def write_opml(feeds: Iterable[tuple[str, str, str, str]], title: str = "reader subscriptions") -> str:
    """OPML 2.0 for (url, title, group, site_url) tuples, as other readers import it.

    One category outline per group, in order of first appearance; ungrouped
    feeds at the top level. The text declares UTF-8: write it encoded so.
    """
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _clean_label(title)
    etree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = etree.SubElement(root, "body")
    categories: dict[str, etree._Element] = {}
    for url, feed_title, group, site_url in feeds:
        parent = body
        if group := _clean_label(group):
            if group not in categories:
                categories[group] = etree.SubElement(body, "outline", text=group, title=group)
            parent = categories[group]
        _feed_outline(parent, url, feed_title, site_url)
    text = etree.tostring(root, encoding="unicode", pretty_print=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text


def _feed_outline(parent: etree._Element, url: str, title: str, site_url: str) -> None:
    # Readers show `text`; with no title, the URL is the most useful label (read back as no title).
    label = _clean_label(title) or _xml_safe(url)
    outline = etree.SubElement(parent, "outline", type="rss", text=label, title=label, xmlUrl=_xml_safe(url))
    if site_url:
        outline.set("htmlUrl", _xml_safe(site_url))


def _xml_safe(text: str) -> str:
    """`text` without the characters XML cannot carry, so one bad row cannot sink an export."""
    return _UNSAFE_CHARS.sub("", text)


# --- OPML -------------------------------------------------------------------


def _read_opml(data: bytes, name: str) -> ImportResult:
    body = _opml_body(_parse_xml(data, name), name)
    collector = _Collector()
    for outline, attrs, group in _feed_outlines(body, ""):
        url = attrs["xmlurl"].strip()
        where = f"line {outline.sourceline}"
        if problem := _url_problem(url):
            collector.skip(f"{where}: {problem}: {_quote(url)}")
            continue
        title = _label(attrs)
        collector.add(
            Subscription(
                url=url,
                title="" if title == url else title,
                group=group or _category_attribute_group(attrs),
                site_url=_optional_url(attrs.get("htmlurl", "")),
            ),
            where,
        )
    return collector.result()


def _parse_xml(data: bytes, name: str) -> etree._Element:
    """Parse untrusted XML: no DTD entities (no expansion bombs), no external files, no network.

    The byte scan refuses entity declarations in UTF-8 and UTF-16; in rarer encodings
    libxml2's own entity-amplification limit stops a bomb as a syntax error.
    """
    if any(declaration in data for declaration in _ENTITY_DECLARATIONS):
        raise OPMLError(f"{name}: not OPML: entity declarations are not allowed")
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        # exc.error_log may also hold earlier documents' warnings; exc.msg is this failure.
        line, column = exc.position
        message = _POSITION_SUFFIX.sub("", exc.msg)
        raise OPMLError(f"{name}: not OPML: XML syntax error at line {line}, column {column}: {message}") from None


def _opml_body(root: etree._Element, name: str) -> etree._Element:
    tag = _local_name(root)
    if tag in _FEED_ROOTS:
        raise OPMLError(f"{name}: not OPML: this is a feed (<{tag}>), not a list of subscriptions")
    if tag != "opml":
        raise OPMLError(f"{name}: not OPML: the root element is <{_clean_label(tag)}>, not <opml>")
    body = next((child for child in root if _local_name(child) == "body"), None)
    if body is None:
        raise OPMLError(f"{name}: no <body> element")
    return body


def _feed_outlines(parent: etree._Element, group: str) -> Iterator[tuple[etree._Element, dict[str, str], str]]:
    """(outline, lower-cased attributes, group) for every outline with an xmlUrl, in document order.

    An outline without xmlUrl is a category; the innermost labelled one is the group.
    Recursion is bounded: libxml2 refuses documents nested deeper than 256 without huge_tree.
    """
    for child in parent:
        if _local_name(child) != "outline":
            continue
        attrs = {key.lower(): value for key, value in child.attrib.items()}
        if "xmlurl" in attrs:
            yield child, attrs, group
            yield from _feed_outlines(child, group)
        else:
            yield from _feed_outlines(child, _label(attrs) or group)


def _category_attribute_group(attrs: dict[str, str]) -> str:
    """The innermost part of the first OPML `category` path, e.g. "/Tech/AI,/News" -> "AI"."""
    first_path = attrs.get("category", "").split(",")[0]
    parts = [part for part in first_path.split("/") if part.strip()]
    return _clean_label(parts[-1]) if parts else ""


def _label(attrs: dict[str, str]) -> str:
    return _clean_label(attrs.get("title", "")) or _clean_label(attrs.get("text", ""))


def _local_name(element: etree._Element) -> str:
    """The tag without namespace, lower-cased; "" for comments and processing instructions."""
    if not isinstance(element.tag, str):
        return ""
    return etree.QName(element).localname.lower()


def _optional_url(url: str) -> str:
    url = url.strip()
    return "" if _url_problem(url) else url


# --- newsboat urls ----------------------------------------------------------


def _read_newsboat_urls(data: bytes, name: str) -> ImportResult:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OPMLError(f"{name}: not OPML and not UTF-8 text (invalid byte at offset {exc.start})") from None
    collector = _Collector()
    for number, line in enumerate(text.split("\n"), start=1):
        where = f"line {number}"
        try:
            tokens = _newsboat_tokens(line)
        except ValueError as exc:
            raise OPMLError(f"{name}: {where}: {exc}") from None
        if not tokens:
            continue
        if reason := _newsboat_special(tokens[0]):
            collector.skip(f"{where}: {reason}")
            continue
        problem = _url_problem(tokens[0])
        if problem == _NOT_A_URL:
            raise OPMLError(f"{name}: {where}: not a URL: {_quote(line.strip())}")
        if problem:
            collector.skip(f"{where}: {problem}: {_quote(tokens[0])}")
            continue
        collector.add(_newsboat_subscription(tokens[0], tokens[1:]), where)
    return collector.result()


def _newsboat_tokens(line: str) -> list[str]:
    """Split a urls line as newsboat does: whitespace-separated, double quotes group, `#` starts a comment."""
    tokens: list[str] = []
    position = 0
    while position < len(line):
        char = line[position]
        if char.isspace():
            position += 1
        elif char == "#":
            break
        elif char == '"':
            token, position = _quoted_token(line, position + 1)
            tokens.append(token)
        else:
            end = position
            while end < len(line) and not line[end].isspace():
                end += 1
            tokens.append(line[position:end])
            position = end
    return tokens


def _quoted_token(line: str, start: int) -> tuple[str, int]:
    """The text of a double-quoted token opened just before `start` (backslash escapes), and where it ends."""
    chars: list[str] = []
    position = start
    while position < len(line) and line[position] != '"':
        if line[position] == "\\" and position + 1 < len(line):
            position += 1
        chars.append(line[position])
        position += 1
    if position >= len(line):
        raise ValueError("unterminated double quote")
    return "".join(chars), position + 1


def _newsboat_special(first_token: str) -> str | None:
    return next((reason for prefix, reason in _NEWSBOAT_SPECIAL.items() if first_token.startswith(prefix)), None)


def _newsboat_subscription(url: str, tags: list[str]) -> Subscription:
    """`~Title` sets the title, `!hidden` tags are ignored, the first other tag is the group."""
    title = next((_clean_label(tag[1:]) for tag in tags if tag.startswith("~")), "")
    groups = (_clean_label(tag) for tag in tags if not tag.startswith(("~", "!")))
    return Subscription(url=url, title=title, group=next((group for group in groups if group), ""))


# --- shared -----------------------------------------------------------------


class _Collector:
    """Accumulates subscriptions, keeping the first of each URL and reporting the rest."""

    def __init__(self) -> None:
        self._first_seen: dict[str, str] = {}
        self._subscriptions: list[Subscription] = []
        self._skipped: list[str] = []

    def add(self, subscription: Subscription, where: str) -> None:
        if first := self._first_seen.get(subscription.url):
            self.skip(f"{where}: duplicate of {first}: {_quote(subscription.url)}")
            return
        self._first_seen[subscription.url] = where
        self._subscriptions.append(subscription)

    def skip(self, reason: str) -> None:
        self._skipped.append(reason)

    def result(self) -> ImportResult:
        return ImportResult(subscriptions=self._subscriptions, skipped=self._skipped)


def _url_problem(url: str) -> str | None:
    """Why `url` is not a usable feed URL, or None if it is one."""
    if not url or not url.isprintable() or " " in url:
        return _NOT_A_URL
    try:
        parts = urlsplit(url)
    except ValueError:
        return _NOT_A_URL
    if not parts.scheme:
        return _NOT_A_URL
    if parts.scheme.lower() not in ("http", "https"):
        return _NOT_HTTP
    if not parts.hostname:
        return _NOT_A_URL
    if len(url) > MAX_URL_CHARS:
        return _TOO_LONG
    return None


def _clean_label(text: str) -> str:
    """A title or group name fit for one terminal line, and for an XML attribute."""
    return _xml_safe(clean_line(text, MAX_LABEL_CHARS)).strip()


def _quote(text: str, limit: int = 80) -> str:
    """`text` for an error message: shortened, and repr() escapes any control characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
