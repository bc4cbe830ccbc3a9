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

import codecs
import html.entities
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from lxml import etree

from .text import clean_line
from .urls import MAX_FEED_URL_CHARS, feed_url_problem, normal_feed_url

MAX_INPUT_BYTES = 10 * 1024 * 1024
MAX_URL_CHARS = MAX_FEED_URL_CHARS  # what `feeds add` takes
MAX_LABEL_CHARS = 300

_NOT_A_URL = "not a URL"
_NOT_HTTP = "not an http(s) URL"
_TOO_LONG = f"URL longer than {MAX_URL_CHARS} characters"

# newsboat feed kinds that are not fetched URLs and that we have nothing to import as.
_NEWSBOAT_SPECIAL = {
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
# Repairing XML that is not well-formed. Each pattern runs over the whole file in C; Python
# code runs per start tag only where a quoted value holds a '<'. Possessive loops never backtrack.
_START_TAG = re.compile(rb"""<[A-Za-z_:](?:"[^"]*+"|'[^']*+'|[^<>"'])*+>""")
_VALUE_WITH_LT = re.compile(rb"""=\s*+(?:"[^"<]*+<[^"]*+"|'[^'<]*+<[^']*+')""")
_QUOTED_VALUE = re.compile(rb"""("[^"]*+"|'[^']*+')""")
_BARE_AMP = re.compile(rb"&(?![A-Za-z_][\w.-]*+;|#[0-9]++;|#x[0-9A-Fa-f]++;)")
_NAMED_REFERENCE = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z_][\w.-]*+);")
_OUTLINE_START = re.compile(rb"<outline[\s/>]", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)""")
MAX_LINES_SHOWN = 10
MAX_REPAIRS = 100_000  # of one kind; more, and the file is left to the recovering parser


@dataclass(frozen=True)
class Subscription:
    url: str
    title: str = ""
    group: str = ""
    site_url: str = ""  # OPML htmlUrl, when the file gives one


@dataclass(frozen=True)
class QueryFeed:
    """A newsboat query feed (`"query:Title:EXPR"`): a saved search, still in newsboat's filter language."""

    line: int
    title: str
    expression: str


@dataclass(frozen=True)
class ImportResult:
    subscriptions: list[Subscription] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "line N: why", one per entry left out
    recovered: str = ""  # how a file that is not well-formed XML was read; "" if it is well-formed
    queries: list[QueryFeed] = field(default_factory=list)  # newsboat query feeds, in file order
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)  # newsboat: feed URL -> all its tags


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
    if not result.subscriptions and not result.skipped and not result.queries:
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


def write_newsboat_urls(feeds: Iterable[tuple[str, str, str, str]]) -> str:
    """A newsboat `urls` file for (url, title, group, site_url) tuples: the group as the tag, `~title`.

    Every tag and title is double-quoted (backslash escapes), so spaces, quotes and
    a leading '#' survive newsboat's tokenizer and ours.
    """
    lines = ["# Feeds exported by the reader: one URL per line, then its group as a tag and its ~title"]
    for url, title, group, _site_url in feeds:
        tokens = [_newsboat_quoted(url) if _needs_quotes(url) else url]
        if group := _clean_label(group):
            # A tag starting with "~" or "!" would be read as a title or a hidden tag: a space keeps it a tag.
            tokens.append(_newsboat_quoted(" " + group if group.startswith(("~", "!")) else group))
        if (title := _clean_label(title)) and title != url:  # a title that repeats the URL is no title
            tokens.append(_newsboat_quoted("~" + title))
        lines.append(" ".join(tokens))
    return "\n".join(lines) + "\n"


def _needs_quotes(token: str) -> bool:
    return not token or token.startswith("#") or any(char.isspace() or char == '"' for char in token)


def _newsboat_quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
    lost = recovery.lost_outlines(root) if recovery else []  # (their xmlUrl went with what could not be read)
    for outline, attrs in _outlines_without_feed(body):
        if outline.sourceline not in {line for line, _ in lost}:
            collector.skip(f"line {outline.sourceline}: {_not_a_feed(attrs)}")
    if recovery is None:
        return collector.result()
    for line, why in lost:
        collector.skip(f"line {line}: outline not readable: {why}")
    result = collector.result()
    if not result.subscriptions and not result.skipped:
        raise OPMLError(f"{name}: not OPML: {recovery.error}")  # recovery found nothing: the real error says more
    skipped = sorted(result.skipped, key=skipped_line)
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


def skipped_line(reason: str) -> int:
    """The line an `ImportResult.skipped` entry ("line N: why") names, to sort by; 0 if it names none."""
    match = re.match(r"line (\d+)", reason)
    return int(match.group(1)) if match else 0


def _xml_parser(recover: bool = False) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, recover=recover)


def _syntax_error(exc: etree.XMLSyntaxError) -> str:
    # exc.error_log may also hold earlier documents' warnings; exc.msg is this failure.
    line, column = exc.position
    return f"XML syntax error at line {line}, column {column}: {_POSITION_SUFFIX.sub('', exc.msg)}"


def _entity_problem(message: str) -> bool:
    return "amplification" in message or "Detected an entity reference loop" in message


_NOT_UTF8 = threading.local()  # the spans the handler below read as Windows-1252, in this thread's decode
_CP1252_FALLBACK = "reader-opml-cp1252"


def _read_as_cp1252(error: UnicodeDecodeError) -> tuple[str, int]:
    _NOT_UTF8.spans.append((error.start, error.end))
    return error.object[error.start : error.end].decode("cp1252", errors="replace"), error.end


codecs.register_error(_CP1252_FALLBACK, _read_as_cp1252)


def _utf8_else_cp1252(data: bytes) -> tuple[str, int, list[int]]:
    """`data` as text: UTF-8, but the bytes that are not UTF-8 read as Windows-1252 (Latin-1 as browsers read
    it, as an old exporter or a hand edit wrote them); how many such bytes, and their lines.

    Only those bytes: a file of UTF-8 with one Latin-1 title (edited by hand, or cut off mid-character) keeps
    every other character as it was."""
    _NOT_UTF8.spans = spans = []
    text = data.decode("utf-8", errors=_CP1252_FALLBACK)
    lines = sorted({data.count(b"\n", 0, start) + 1 for start, _end in spans})
    return text, sum(end - start for start, end in spans), lines


class _Recovery:
    """How a file that is not well-formed XML was read: what was repaired, what was lost."""

    def __init__(self, error: str):
        self.error = error  # the strict parser's complaint
        self.still_broken = ""  # the strict parser's complaint after the repair, if any
        self.fixes: dict[str, tuple[int, list[int]]] = {}  # what was repaired -> (how many, its first lines)
        self.log: list[tuple[int, str]] = []  # the recovering parser's complaints
        self.source = b""  # the bytes the recovering parser read

    def repair(self, data: bytes) -> bytes:
        """`data` with '<' inside attribute values, bare '&' and HTML entities escaped.

        Only ASCII-compatible encodings are repaired (where those bytes mean those
        characters); others go straight to the recovering parser. No line is added
        or removed, so line numbers stay the file's.
        """
        if data.startswith(_WIDE_XML_STARTS):
            return data
        data = self._as_utf8(data)
        if _VALUE_WITH_LT.search(data):
            escaped = _escaped_lt(data)
            data = self._note("bare '<'", data, escaped, data.count(b"<") - escaped.count(b"<"), _VALUE_WITH_LT)
        if _BARE_AMP.search(data):
            escaped, count = _BARE_AMP.subn(b"&amp;", data)
            data = self._note("bare '&'", data, escaped, count, _BARE_AMP)
        if _NAMED_REFERENCE.search(data):
            count = _NAMED_REFERENCE.subn(b"", data)[1]
            escaped = _NAMED_REFERENCE.sub(_html_entity, data) if count <= MAX_REPAIRS else data
            data = self._note("undefined entity", data, escaped, count, _NAMED_REFERENCE)
        return data

    def _as_utf8(self, data: bytes) -> bytes:
        """Bytes that are not UTF-8 in a file declaring no other encoding, read as Windows-1252 (Latin-1 as
        browsers read it), as an old exporter wrote them; the strict parser read them as nothing at all."""
        declared = _DECLARED_ENCODING.match(data)
        if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
            return data
        try:
            data.decode("utf-8")
            return data
        except UnicodeDecodeError:
            pass
        text, count, lines = _utf8_else_cp1252(data)
        self.fixes["non-UTF-8 byte (read as Windows-1252)"] = (count, lines)
        return text.encode("utf-8")

    def _note(self, what: str, data: bytes, repaired: bytes, count: int, pattern: re.Pattern[bytes]) -> bytes:
        """Record `count` repairs of `what` and the first lines where they are; the data to read on.

        Past MAX_REPAIRS the file is left as it is: the recovering parser has the last word.
        """
        if count > MAX_REPAIRS:
            self.fixes[f"{what} (too many to repair)"] = (count, [])
            return data
        lines: list[int] = []
        position, line = 0, 1
        while len(lines) <= MAX_LINES_SHOWN and (found := pattern.search(data, position)):
            line += data.count(b"\n", position, found.start())
            lines.append(line)
            end_of_line = data.find(b"\n", found.end())
            if end_of_line < 0:
                break
            line += data.count(b"\n", found.start(), end_of_line + 1)
            position = end_of_line + 1
        self.fixes[what] = (count, lines)
        return repaired

    def summary(self) -> str:
        """One line for the import report."""
        found = [f"{count:,} {_plural(what, count)}{_lines(lines)}" for what, (count, lines) in self.fixes.items()]
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
            for outline in root.iter("{*}outline", "{*}Outline", "{*}OUTLINE")
            if any(key.lower() == "xmlurl" for key in outline.attrib)
        }
        complaints = dict(reversed(self.log))  # the first complaint of each line
        lost = []
        line, position = 1, 0
        for start in _OUTLINE_START.finditer(self.source):
            line += self.source.count(b"\n", position, start.start())
            position = start.start()
            tag_text = self.source[position : position + 4096].split(b">", 1)[0]
            if line not in kept and b"xmlurl" in tag_text.lower():
                lost.append((line, clean_line(complaints.get(line, "dropped while recovering the XML"), 200)))
        return lost


def _escaped_lt(data: bytes) -> bytes:
    """Each start tag's quoted values with '<' escaped."""

    def tag(match: re.Match[bytes]) -> bytes:
        text = match.group()
        if b"<" not in text[1:]:
            return text
        return _QUOTED_VALUE.sub(lambda value: value.group().replace(b"<", b"&lt;"), text)

    return _START_TAG.sub(tag, data)


def _html_entity(match: re.Match[bytes]) -> bytes:
    """An HTML entity XML does not know ("&nbsp;") as character references; an unknown one as text."""
    characters = html.entities.html5.get(match.group(1).decode("ascii") + ";")
    if characters is None:
        return b"&amp;" + match.group()[1:]
    return "".join(f"&#{ord(c)};" for c in characters).encode("ascii")


def _plural(what: str, count: int) -> str:
    return what.replace("entity", "entities").replace("byte", "bytes") if count > 1 else what


def _lines(lines: list[int]) -> str:
    """ " at line 4" or " at lines 11, 23, 40" (the first few, then "…"); "" without lines."""
    shown = ", ".join(map(str, lines[:MAX_LINES_SHOWN])) + (", …" if len(lines) > MAX_LINES_SHOWN else "")
    return "" if not lines else f" at line {shown}" if len(lines) == 1 else f" at lines {shown}"


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


def _outlines_without_feed(body: etree._Element) -> Iterator[tuple[etree._Element, dict[str, str]]]:
    """Outlines that look like a subscription (a feed type, a site or a URL, and no outlines inside) but have
    no xmlUrl: named in the report, where a folder with no feeds in it is not."""
    for outline in body.iter():
        if _local_name(outline) != "outline" or any(_local_name(child) == "outline" for child in outline):
            continue
        attrs = {key.lower(): value for key, value in outline.attrib.items()}
        if "xmlurl" not in attrs and (attrs.get("type", "").lower() in ("rss", "atom") or "htmlurl" in attrs
                                      or "url" in attrs):  # fmt: skip
            yield outline, attrs


def _not_a_feed(attrs: dict[str, str]) -> str:
    """Why an outline that names something is not a subscription. OPML 2.0's `type="include"` (and a `"link"` to
    a .opml file) is another OPML list at `url`: not fetched, since importing a file reads that file only (a list
    found there could name private addresses, or include itself); the user imports it on purpose."""
    kind, url = attrs.get("type", "").strip().lower(), attrs.get("url", "").strip()
    shown = _quote(url or _label(attrs) or attrs.get("htmlurl", ""))
    if kind == "include" or (kind == "link" and urlsplit(url).path.lower().endswith(".opml")):
        return (f"an OPML list included from elsewhere (type=\"{kind}\"), not read: {shown}; to subscribe to its "
                "feeds, download it and import that file")  # fmt: skip
    if kind == "link":
        return (f"a link to a web page (type=\"link\"), not a feed: {shown}; 'reader feeds add' with that address "
                "subscribes to the feeds the page names")  # fmt: skip
    named = _quote(_label(attrs) or attrs.get("htmlurl") or url)
    return f"no xmlUrl (the feed's address), so nothing to subscribe to: {named}"


def _category_attribute_group(attrs: dict[str, str]) -> str:
    """The innermost part of the first OPML `category` path, e.g. "/Tech/AI,/News" -> "AI"."""
    first_path = attrs.get("category", "").split(",")[0]
    parts = [part for part in first_path.split("/") if part.strip()]
    return _clean_label(parts[-1]) if parts else ""


def _label(attrs: dict[str, str]) -> str:
    return _clean_label(attrs.get("title", "")) or _clean_label(attrs.get("text", ""))


def _local_name(element: etree._Element) -> str:
    """The tag without namespace, lower-cased; "" for comments and processing instructions."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].lower()  # "{namespace}name": QName() would cost seconds on a million elements


def _optional_url(url: str) -> str:
    url = url.strip()
    return "" if _url_problem(url) else url


# --- newsboat urls ----------------------------------------------------------


def _read_newsboat_urls(data: bytes, name: str) -> ImportResult:
    data = data.removeprefix(codecs.BOM_UTF8)
    if b"\0" in data:  # no text file holds one: an image, an archive
        raise OPMLError(f"{name}: not OPML and not a text file (a NUL byte at offset {data.index(0)})")
    text, not_utf8, lines = _utf8_else_cp1252(data)  # a Latin-1 title loses no line of the file
    collector = _Collector()
    for number, line in enumerate(text.split("\n"), start=1):
        where = f"line {number}"
        try:
            tokens = _newsboat_tokens(line)
        except ValueError as exc:  # one bad line is reported; the good ones are still imported
            collector.skip(f"{where}: {exc}: {_quote(line.strip())}")
            continue
        if not tokens:
            continue
        if tokens[0].startswith("query:"):
            collector.query(_query_feed(number, tokens[0]))
            continue
        if reason := _newsboat_special(tokens[0]):
            collector.skip(f"{where}: {reason}")
            continue
        problem = _url_problem(tokens[0])
        if problem:
            collector.skip(f"{where}: {problem}: {_quote(line.strip() if problem == _NOT_A_URL else tokens[0])}")
            continue
        collector.add(_newsboat_subscription(tokens[0], tokens[1:]), where)
        collector.tag(tokens[0], [tag for tag in tokens[1:] if not tag.startswith("~")])
    result = collector.result()
    if (result.skipped and not result.subscriptions and not result.queries
            and all(_NOT_A_URL in why or _NOT_HTTP in why for why in result.skipped)):  # fmt: skip
        # (another kind of file, /etc/passwd say: its first line says so, not every line of it)
        raise OPMLError(f"{name}: not a list of feed URLs ({result.skipped[0]})")
    if not_utf8:
        result = replace(result, recovered=f"{not_utf8:,} {_plural('byte', not_utf8)} not UTF-8{_lines(lines)}, "
                                           "read as Windows-1252")  # fmt: skip
    return result


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


def _query_feed(line: int, token: str) -> QueryFeed:
    """`query:Title:EXPR`: the title ends at the first ':' (an expression without one is left empty)."""
    title, _, expression = token.removeprefix("query:").partition(":")
    return QueryFeed(line, _clean_label(title), expression.strip())


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
        self._queries: list[QueryFeed] = []
        self._tags: dict[str, tuple[str, ...]] = {}

    def add(self, subscription: Subscription, where: str) -> None:
        """One subscription, its URL as the store keeps it (`HTTP://Host/feed` is `http://host/feed`)."""
        url = normal_feed_url(subscription.url)
        if first := self._first_seen.get(url):
            self.skip(f"{where}: duplicate of {first}: {_quote(subscription.url)}")
            return
        self._first_seen[url] = where
        self._subscriptions.append(replace(subscription, url=url))

    def skip(self, reason: str) -> None:
        self._skipped.append(reason)

    def query(self, query: QueryFeed) -> None:
        self._queries.append(query)

    def tag(self, url: str, tags: list[str]) -> None:
        self._tags.setdefault(normal_feed_url(url), tuple(tags))  # the first line of a URL is the one imported

    def result(self) -> ImportResult:
        return ImportResult(self._subscriptions, self._skipped, queries=self._queries, tags=self._tags)


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
    return feed_url_problem(url)  # the checks `feeds add` makes: host and port


def _clean_label(text: str) -> str:
    """A title or group name fit for one terminal line, and for an XML attribute."""
    return _xml_safe(clean_line(text, MAX_LABEL_CHARS)).strip()


def _quote(text: str, limit: int = 80) -> str:
    """`text` for an error message: shortened, and repr() escapes any control characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
