"""Subscriptions in and out: OPML and newsboat `urls` files. No network.

Import files come from strangers as often as from the user's own exports, so
they are parsed as untrusted data: size-capped, XML without DTD entities or
network access, labels stripped of control characters, and only http(s) feed
URLs kept. OPML found in the wild is often not well-formed (a bare `&` in a URL):
it is parsed strictly first, then repaired and recovered, and the repair is
reported. Anything left out is reported in `ImportResult.skipped` rather than
silently dropped; a file that cannot be read at all raises `OPMLError`.
Never touches the network, the store or the rules directory.
"""

from __future__ import annotations

import bisect
import html.entities
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
# Repairing XML that is not well-formed: the markup tokens (a start tag's quoted values may hold
# '<' and '>'), a quoted value, a reference, an '&' that starts no reference, an outline's start.
_MARKUP = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!DOCTYPE[^>]*>"
    rb"|<[A-Za-z_:/](?:\"[^\"]*\"|'[^']*'|[^<>\"'])*>",
    re.DOTALL,
)
_QUOTED_VALUE = re.compile(rb"\"[^\"]*\"|'[^']*'")
_REFERENCE_OR_AMP = re.compile(rb"&(?:([A-Za-z_][\w.-]*)|#[0-9]+|#x[0-9A-Fa-f]+);|&")
_REFERENCE_OR_LT = re.compile(_REFERENCE_OR_AMP.pattern + rb"|<")
_REPAIRS = {b"&": "bare '&'", b"<": "bare '<'"}
_XML_ENTITIES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})
_OUTLINE_START = re.compile(rb"<outline[\s/>]", re.IGNORECASE)
MAX_LINES_SHOWN = 10


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
    recovered: str = ""  # how a file that is not well-formed XML was read; "" if it is well-formed


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
    root, recovery = _parse_xml(data, name)
    body = _opml_body(root, name)
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
    if recovery is None:
        return collector.result()
    for line, why in recovery.lost_outlines(root):
        collector.skip(f"line {line}: outline not readable: {why}")
    result = collector.result()
    if not result.subscriptions and not result.skipped:
        raise OPMLError(f"{name}: not OPML: {recovery.error}")  # recovery found nothing: the real error says more
    skipped = sorted(result.skipped, key=lambda reason: int(reason.split(":", 1)[0].removeprefix("line ")))
    return ImportResult(result.subscriptions, skipped, recovered=recovery.summary())


def _parse_xml(data: bytes, name: str) -> tuple[etree._Element, _Recovery | None]:
    """Parse untrusted XML: no DTD entities (no expansion bombs), no external files, no network.

    Strictly first; a file that is not well-formed is repaired (bare '&', '<' in
    attribute values, HTML entities) and, if still broken, read by libxml2's
    recovering parser: (root, how it was recovered), or (root, None) if well-formed.
    The byte scan refuses entity declarations in UTF-8 and UTF-16; in rarer encodings
    libxml2's own entity-amplification limit stops a bomb as a syntax error.
    """
    if any(declaration in data for declaration in _ENTITY_DECLARATIONS):
        raise OPMLError(f"{name}: not OPML: entity declarations are not allowed")
    try:
        return etree.fromstring(data, _xml_parser()), None
    except etree.XMLSyntaxError as exc:
        recovery = _Recovery(_syntax_error(exc))
    if _entity_problem(recovery.error):
        raise OPMLError(f"{name}: not OPML: {recovery.error}")  # an entity bomb is never "recovered"
    repaired = recovery.repair(data)
    if repaired != data:
        try:
            return etree.fromstring(repaired, _xml_parser()), recovery
        except etree.XMLSyntaxError as exc:
            recovery.still_broken = _syntax_error(exc)
    parser = _xml_parser(recover=True)
    try:
        root = etree.fromstring(repaired, parser)
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        raise OPMLError(f"{name}: not OPML: {recovery.error}")
    recovery.log = [(entry.line, _POSITION_SUFFIX.sub("", entry.message)) for entry in parser.error_log]
    recovery.source = repaired
    return root, recovery


def _xml_parser(recover: bool = False) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, recover=recover)


def _syntax_error(exc: etree.XMLSyntaxError) -> str:
    # exc.error_log may also hold earlier documents' warnings; exc.msg is this failure.
    line, column = exc.position
    return f"XML syntax error at line {line}, column {column}: {_POSITION_SUFFIX.sub('', exc.msg)}"


def _entity_problem(message: str) -> bool:
    return "amplification" in message or "Detected an entity reference loop" in message


class _Recovery:
    """How a file that is not well-formed XML was read: what was repaired, what was lost."""

    def __init__(self, error: str):
        self.error = error  # the strict parser's complaint
        self.still_broken = ""  # the strict parser's complaint after the repair, if any
        self.fixes: dict[str, list[int]] = {}  # what was repaired -> the lines
        self.log: list[tuple[int, str]] = []  # the recovering parser's complaints
        self.source = b""  # the bytes the recovering parser read

    def repair(self, data: bytes) -> bytes:
        """`data` with bare '&', '<' inside attribute values and HTML entities escaped.

        Only ASCII-compatible encodings are repaired (where those bytes mean those
        characters); others go straight to the recovering parser.
        """
        if data.startswith(_WIDE_XML_STARTS):
            return data
        self._newlines = [m.start() for m in re.finditer(rb"\n", data)]
        pieces: list[bytes] = []
        position = 0
        for markup in _MARKUP.finditer(data):
            pieces.append(self._escape(data[position : markup.start()], position, in_value=False))
            tag = markup.group()
            if tag[1:2].isalpha() or tag[1:2] in (b"_", b":"):  # a start tag: repair its quoted values
                tag = _QUOTED_VALUE.sub(lambda value: self._escape_value(value, markup.start()), tag)
            pieces.append(tag)
            position = markup.end()
        pieces.append(self._escape(data[position:], position, in_value=False))
        return b"".join(pieces)

    def _escape_value(self, value: re.Match[bytes], tag_offset: int) -> bytes:
        quoted = value.group()
        return quoted[:1] + self._escape(quoted[1:-1], tag_offset + value.start() + 1, in_value=True) + quoted[-1:]

    def _escape(self, chunk: bytes, offset: int, in_value: bool) -> bytes:
        """`chunk` (found at `offset`) with its bare '&' (and in a value, '<') escaped, each noted with its line."""

        def escape(match: re.Match[bytes]) -> bytes:
            found, name = match.group(), match.group(1)
            if found.startswith(b"&#") or name in _XML_ENTITIES:
                return found  # a reference XML knows
            line = bisect.bisect_right(self._newlines, offset + match.start()) + 1
            characters = html.entities.html5.get(name.decode("ascii") + ";") if name else None
            if characters:
                self.fixes.setdefault("HTML entity", []).append(line)
                return "".join(f"&#{ord(c)};" for c in characters).encode()
            self.fixes.setdefault(_REPAIRS.get(found, "unknown entity"), []).append(line)
            return b"&lt;" if found == b"<" else b"&amp;" + found[1:]

        return (_REFERENCE_OR_LT if in_value else _REFERENCE_OR_AMP).sub(escape, chunk)

    def summary(self) -> str:
        """One line for the import report."""
        found = [f"{len(lines)} {_plural(what, len(lines))} at {_lines(lines)}" for what, lines in self.fixes.items()]
        if self.still_broken or not found:
            found.append(self.still_broken or self.error)
        how = "recovered" if not self.log else "recovered what could be read"
        return f"the file is not well-formed XML ({'; '.join(found)}): {how}"

    def lost_outlines(self, root: etree._Element) -> list[tuple[int, str]]:
        """(line, why) for each `<outline` with an xmlUrl in the file that the recovering parser dropped."""
        if not self.log or not self.source:
            return []
        kept = {
            outline.sourceline
            for outline in root.iter()
            if _local_name(outline) == "outline" and any(key.lower() == "xmlurl" for key in outline.attrib)
        }
        complaints = dict(reversed(self.log))  # the first complaint of each line
        lost = []
        newlines = [m.start() for m in re.finditer(rb"\n", self.source)]
        for start in _OUTLINE_START.finditer(self.source):
            line = bisect.bisect_right(newlines, start.start()) + 1
            tag_text = self.source[start.start() : start.start() + 4096].split(b">", 1)[0]
            if line not in kept and b"xmlurl" in tag_text.lower():
                lost.append((line, clean_line(complaints.get(line, "dropped while recovering the XML"), 200)))
        return lost


def _plural(what: str, count: int) -> str:
    return what.removesuffix("entity") + "entities" if count > 1 and what.endswith("entity") else what


def _lines(lines: list[int]) -> str:
    """ "line 4" or "lines 11, 23, 40" (the first few, then a count)."""
    unique = sorted(set(lines))
    shown = ", ".join(map(str, unique[:MAX_LINES_SHOWN]))
    more = f" and {len(unique) - MAX_LINES_SHOWN} more" if len(unique) > MAX_LINES_SHOWN else ""
    return f"line {shown}" if len(unique) == 1 else f"lines {shown}{more}"


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
