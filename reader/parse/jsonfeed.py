"""JSON Feed 1.0 and 1.1 (jsonfeed.org): JSON bytes -> feedparser-shaped entries for `normalise`.

Each item becomes the mapping the XML paths build, so identity, dates, links,
enclosures and text follow the very same rules. Hostile JSON (deep nesting,
huge strings, wrong types) is refused or reported per feed, never trusted.
Never touches the network or the disk.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from feedparser.datetimes import _parse_date  # the XML paths' own date reader

from reader.models import ParsedFeed

from .errors import ParseError
from .normalise import parsed_feed

# The XML parser's own limits without huge_tree: libxml2 refuses deeper documents and longer text nodes.
MAX_DEPTH = 256
MAX_STRING_CHARS = 10_000_000
_VERSION = re.compile(r"https?://jsonfeed\.org/version/1(?:\.\d+)?/?\Z")
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_PLAIN = {"type": "text/plain"}
_HTML = {"type": "text/html"}
MAX_WARNINGS_SHOWN = 1  # the warning names the first problem and counts the rest
# An item's image is typed by its extension from this table, not `mimetypes` (which reads the
# system's files: the type, and so the content hash, would differ from one machine to another).
_IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
                ".webp": "image/webp", ".avif": "image/avif", ".svg": "image/svg+xml"}  # fmt: skip


def looks_like_json(body: bytes, content_type: str = "") -> bool:
    """Whether the body is JSON rather than markup: its first character opens an object or an array,
    or it is served as JSON and does not start as markup (then a bare value is named as JSON, not XML).

    Zero bytes are skipped with the whitespace, so UTF-16 and UTF-32 JSON is recognised too.
    """
    for bom in _BOMS:
        body = body.removeprefix(bom)
    first = body[:1024].lstrip(b" \t\r\n\x00")[:1]
    media = content_type.split(";", 1)[0].strip().lower()
    return first in (b"{", b"[") or (first != b"<" and (media in ("application/json", "text/json")
                                                         or media.endswith("+json")))  # fmt: skip


def parse_json_feed(body: bytes, url: str, content_type: str = "",
                    known: Mapping[str, bytes] | None = None) -> ParsedFeed:  # fmt: skip
    """Read a JSON Feed; ParseError if the body is not one, with the reason.

    Declared as application/feed+json it may leave out its `version`; served as
    anything else it must name a jsonfeed.org version, as the spec requires.
    Items or fields of the wrong type are left out and named in `warning`.
    """
    document = _load(body)
    declared = content_type.split(";", 1)[0].strip().lower() == "application/feed+json"
    if not isinstance(document, dict):
        raise ParseError(f"not a feed: the server sent JSON that is not a JSON Feed (it is {_kind(document)})")
    version = document.get("version")
    if not (isinstance(version, str) and _VERSION.match(version)) and not declared:
        raise ParseError("not a feed: the server sent JSON without a jsonfeed.org version (not a JSON Feed)")
    problems = _Problems()
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError(f"not a feed: JSON Feed 'items' is {_kind(items)}, not a list")
    feed_authors = _authors(document, problems, "the feed")
    feed = {
        "title": problems.string(document, "title", "the feed"),
        "title_detail": _PLAIN,
        "link": problems.string(document, "home_page_url", "the feed"),
    }
    problems.string(document, "icon", "the feed")  # checked, not kept: no feed's icon is stored
    entries = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict):
            entries.append(_entry(item, f"item {number}", feed_authors, problems))
        else:
            problems.add(f"item {number} is {_kind(item)}, not an object (left out)")
    return parsed_feed(feed, entries, url, problems.warning(), known)


def _load(body: bytes) -> Any:
    """The JSON document, within the XML parser's limits; ParseError otherwise."""
    try:
        document = json.loads(body)  # detects UTF-8/16/32 and a UTF-8 BOM, as RFC 8259 allows
    except RecursionError:
        raise ParseError(f"not a feed: JSON nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError, bad bytes, a 5000-digit number
        raise ParseError(f"not a feed: JSON syntax error: {_json_message(error)}") from None
    for depth, value in _walk(document):
        if depth > MAX_DEPTH:
            raise ParseError(f"not a feed: JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            too_long = f"a JSON string of {len(value):,} characters (the limit is {MAX_STRING_CHARS:,})"
            raise ParseError(f"not a feed: {too_long}")
    return document


def _json_message(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno}, column {error.colno}"
    return str(error)[:200]


def _walk(document: Any) -> Iterator[tuple[int, Any]]:
    """(depth, value) for every value of the document; iterative, so any depth is safe."""
    stack = [(1, document)]
    while stack:
        depth, value = stack.pop()
        yield depth, value
        if isinstance(value, dict):
            stack.extend((depth + 1, child) for child in value.values())
        elif isinstance(value, list):
            stack.extend((depth + 1, child) for child in value)


def _entry(item: dict[str, Any], where: str, feed_authors: list[str], problems: _Problems) -> dict[str, Any]:
    """One item as feedparser would have shaped the equivalent Atom entry."""
    entry: dict[str, Any] = {
        "id": _identifier(item, where, problems),
        "link": problems.string(item, "url", where) or problems.string(item, "external_url", where),
        "title": problems.string(item, "title", where),
        "title_detail": _PLAIN,
        "summary": problems.string(item, "summary", where),
        "summary_detail": _PLAIN,
        "published_parsed": _date(item, "date_published", where, problems),
        "updated_parsed": _date(item, "date_modified", where, problems),
        "author": ", ".join(_authors(item, problems, where) or feed_authors),
        "tags": [{"term": tag} for tag in problems.strings(item, "tags", where)],
        "links": list(_enclosures(item, where, problems)),
    }
    html, text = problems.string(item, "content_html", where), problems.string(item, "content_text", where)
    if html or text:
        entry["content"] = [{**(_HTML if html else _PLAIN), "value": html or text}]
    return entry


def _identifier(item: Mapping[str, Any], where: str, problems: _Problems) -> str:
    """The item's `id`; the spec has readers turn a number into a string."""
    value = item.get("id")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return problems.string(item, "id", where)


def _date(item: Mapping[str, Any], key: str, where: str, problems: _Problems) -> Any:
    """An RFC 3339 date as the XML paths read dates (feedparser's reader): UTC struct_time or None."""
    text = problems.string(item, key, where)
    return _parse_date(text) if text else None


def _authors(node: Mapping[str, Any], problems: _Problems, where: str) -> list[str]:
    """Author names: 1.1's `authors` list, else 1.0's `author` object."""
    if "authors" in node:
        authors = node["authors"]
        if not isinstance(authors, list):
            problems.wrong_type(where, "authors", authors, "a list")
            return []
    else:
        authors = [node["author"]] if "author" in node else []
    names = []
    for author in authors:
        if not isinstance(author, dict):
            problems.wrong_type(where, "author", author, "an object")
        elif name := problems.string(author, "name", f"{where}'s author"):
            names.append(name)
    return names


def _enclosures(item: Mapping[str, Any], where: str, problems: _Problems) -> Iterator[dict[str, str]]:
    """`attachments` as RSS enclosures, then the item's `image` and `banner_image`, typed by extension."""
    attachments = item.get("attachments", [])
    if not isinstance(attachments, list):
        problems.wrong_type(where, "attachments", attachments, "a list")
        attachments = []
    for attachment in attachments:
        if not isinstance(attachment, dict):
            problems.wrong_type(where, "attachment", attachment, "an object")
            continue
        size = attachment.get("size_in_bytes")
        length = str(size) if isinstance(size, int) and not isinstance(size, bool) else ""
        yield {
            "rel": "enclosure",
            "href": problems.string(attachment, "url", f"{where}'s attachment"),
            "type": problems.string(attachment, "mime_type", f"{where}'s attachment"),
            "length": length,
        }
    for key in ("image", "banner_image"):
        if href := problems.string(item, key, where):
            yield {"rel": "enclosure", "href": href, "type": _image_type(href), "length": ""}


def _image_type(url: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    return next((media for extension, media in _IMAGE_TYPES.items() if path.endswith(extension)), "")


class _Problems:
    """Fields of the wrong type: left out, and named in the feed's warning."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, problem: str) -> None:
        self.found.append(problem)

    def wrong_type(self, where: str, key: str, value: Any, wanted: str) -> None:
        self.add(f"{where}: '{key}' is {_kind(value)}, not {wanted} (left out)")

    def string(self, node: Mapping[str, Any], key: str, where: str) -> str:
        value = node.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.wrong_type(where, key, value, "a string")
            return ""
        return value

    def strings(self, node: Mapping[str, Any], key: str, where: str) -> list[str]:
        values = node.get(key)
        if values is None:
            return []
        if not isinstance(values, list):
            self.wrong_type(where, key, values, "a list of strings")
            return []
        kept = [value for value in values if isinstance(value, str)]
        if len(kept) < len(values):
            self.add(f"{where}: '{key}' holds {len(values) - len(kept)} value(s) that are not strings (left out)")
        return kept

    def warning(self) -> str:
        if not self.found:
            return ""
        more = len(self.found) - MAX_WARNINGS_SHOWN
        return "JSON Feed: " + "; ".join(self.found[:MAX_WARNINGS_SHOWN]) + (f"; {more} more" if more > 0 else "")


def _kind(value: Any) -> str:
    """How a JSON value is named in messages: "a number", "an object"..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
