"""The reference path: feedparser's reading of any body, broken XML included.

Also the XML prolog reading both XML paths share (entity defusing, DTD
detection). Never touches the network or the disk.

feedparser reads a document with a strict (SAX) parser and, when that stops at
an XML error, again from the start with its loose one. Here expat alone, without
a Python call per element, finds the error the strict pass would stop at, so a
broken document is read once, by the loose parser, with the same result.
"""

from __future__ import annotations

import codecs
import io
import pyexpat
import re
import xml.sax
import xml.sax.xmlreader
from collections.abc import Mapping
from typing import Any, NamedTuple

import feedparser
from feedparser.api import LooseFeedParser
from feedparser.encodings import convert_to_utf8
from feedparser.exceptions import CharacterEncodingOverride, NonXMLContentType
from feedparser.sanitizer import replace_doctype
from feedparser.util import FeedParserDict

from reader.models import ParsedFeed
from reader.text import clean_line

from .errors import ParseError
from .normalise import HTML_TYPES, parsed_feed

# Problems with the HTTP headers, not the document: not worth a warning.
_HEADER_COMPLAINTS = (CharacterEncodingOverride, NonXMLContentType)

_QUOTED_OR_PLAIN = rb"""(?:[^"'>]|"[^"]*"|'[^']*')*"""
_PROLOG_TOKEN = re.compile(
    rb"\s+"
    rb"|<\?.*?\?>"  # XML declaration, processing instruction
    rb"|<!--.*?-->"
    rb"|<!(?:ENTITY|ELEMENT|ATTLIST|NOTATION)\s" + _QUOTED_OR_PLAIN + rb">"
    rb"""|<!DOCTYPE\s(?:[^"'\[>]|"[^"]*"|'[^']*')*[\[>]"""  # up to its internal subset, or its end
    rb"|\]\s*>"  # end of the internal subset
    rb"|%[\w.:-]+;",  # parameter entity reference
    re.DOTALL,
)
# A general entity whose value is plain text (no references, no markup) or one character reference.
_SAFE_ENTITY_DECL = re.compile(rb"""<!ENTITY\s+[\w.:-]+\s+(?:"(?:&\#\w+;|[^&%<"]*)"|'(?:&\#\w+;|[^&%<']*)')\s*>""")
_HTML_START = re.compile(rb"<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)


def feedparser_headers(content_type: str) -> dict[str, str]:
    # Without a content type feedparser assumes ISO-8859-1; XML's own default is UTF-8.
    return {"content-type": content_type or "application/xml"}


# --- the reference path: feedparser ---------------------------------------------


def parse_with_feedparser(body: bytes, url: str, content_type: str,
                          known: Mapping[str, bytes] | None = None) -> ParsedFeed:  # fmt: skip
    """feedparser's reading of any body, broken ones included (`known`: see `parse_feed`)."""
    result = _run_feedparser(body, content_type)
    if not result.entries:
        _raise_unless_empty_feed(result, body, content_type)
    warning = _warning(result, body) if result.entries else ""
    return parsed_feed(result.feed, result.entries, url, warning, known)


def _run_feedparser(body: bytes, content_type: str) -> feedparser.FeedParserDict:
    # No content-location: given a base URL, feedparser resolves every guid that
    # looks relative ("1234") against it, so keys would change when a feed moves.
    # We resolve links against the feed URL ourselves.
    body = _defuse_entities(body)
    try:
        document = _prepare(body, content_type)
        error = _strict_error(document.data) if document.result["encoding"] else None
        if error is not None:
            return _parse_loose(document, error.exception)
        # A BytesIO, never bytes: feedparser tries to open() bytes as a file name first.
        return feedparser.parse(
            io.BytesIO(body),
            response_headers=feedparser_headers(content_type),
            sanitize_html=False,  # html_to_text makes text safe; 3x faster without it
            resolve_relative_uris=False,
        )
    except Exception as error:  # a third-party parser crashing on hostile input is a parse failure
        raise ParseError(f"not a feed: the parser failed ({type(error).__name__})") from error


class _Document(NamedTuple):
    """A body as `feedparser.parse` (6.0, feedparser/api.py) prepares it for its parsers."""

    result: feedparser.FeedParserDict  # the encoding found, and any complaint about the headers
    data: bytes  # UTF-8, the doctype replaced: what both of its parsers read
    entities: dict[str, str]  # the entities the loose parser expands


def _prepare(body: bytes, content_type: str) -> _Document:
    result = FeedParserDict(bozo=False, entries=[], feed=FeedParserDict(), headers=feedparser_headers(content_type))
    data = convert_to_utf8(result["headers"], body, result)
    result["version"], data, entities = replace_doctype(data)
    return _Document(result, data, entities)


class _StrictError(NamedTuple):
    exception: xml.sax.SAXParseException  # as feedparser's strict pass raises it
    code: int  # expat's error code
    at: int  # the byte of `data` where expat stopped


class _ErrorPlace(xml.sax.xmlreader.Locator):
    def __init__(self, parser: Any) -> None:
        self._line, self._column = parser.ErrorLineNumber, parser.ErrorColumnNumber

    def getLineNumber(self) -> int:  # noqa: N802 - SAX's name
        return self._line

    def getColumnNumber(self) -> int:  # noqa: N802 - SAX's name
        return self._column


def _strict_error(data: bytes) -> _StrictError | None:
    """The XML error feedparser's strict pass would stop at in `data`, or None if it reads to the end.

    The parser is made as `xml.sax.expatreader` makes it for feedparser (namespaces on), but with no
    handler: expat checks the document in C, ~100 times faster than the pass it stands for.
    """
    parser = pyexpat.ParserCreate(None, " ", intern={})
    parser.namespace_prefixes = True
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_UNLESS_STANDALONE)
    try:
        parser.Parse(data, True)
    except pyexpat.ExpatError as error:
        exception = xml.sax.SAXParseException(pyexpat.ErrorString(error.code), error, _ErrorPlace(parser))
        return _StrictError(exception, error.code, parser.ErrorByteIndex)
    return None


def _parse_loose(document: _Document, error: xml.sax.SAXParseException) -> feedparser.FeedParserDict:
    """`feedparser.parse`'s result when its strict pass stops at `error`: its loose parser's reading."""
    result = document.result
    result["bozo"], result["bozo_exception"] = 1, error
    parser = LooseFeedParser("", None, "utf-8", document.entities)
    parser.resolve_relative_uris = False
    parser.sanitize_html = False
    parser.feed(document.data.decode("utf-8", "replace"))
    result["feed"], result["entries"] = parser.feeddata, parser.entries
    result["version"] = result["version"] or parser.version
    result["namespaces"] = parser.namespaces_in_use
    return result


JUNK_AFTER_ROOT = pyexpat.errors.codes[pyexpat.errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT]
UNDEFINED_ENTITY = pyexpat.errors.codes[pyexpat.errors.XML_ERROR_UNDEFINED_ENTITY]


class StrictFailure(NamedTuple):
    """Where feedparser's strict pass stops on a document, and what it then says."""

    code: int  # expat's error code (JUNK_AFTER_ROOT...)
    rest: bytes  # the document from where expat stopped, as feedparser's parsers read it
    warning: str  # feedparser's warning, as `parse_with_feedparser` gives it


def strict_failure(body: bytes, content_type: str) -> StrictFailure | None:
    """How feedparser's strict pass fails on `body`, or None if it does not (or is not run)."""
    document = _prepare(_defuse_entities(body), content_type)
    error = _strict_error(document.data) if document.result["encoding"] else None
    if error is None:
        return None
    return StrictFailure(error.code, document.data[error.at :], _describe(error.exception, body))


def _defuse_entities(body: bytes) -> bytes:
    """Remove the prolog's entity declarations that could expand into a flood.

    A "billion laughs" document declares entities built from other entities (or
    from markup). feedparser removes such declarations only when each starts a
    line before any "<tag", which a one-line prolog or a "<b/>" in an entity
    value defeats. Expat's amplification limit still stops the expansion, but
    only after ~8 MB of output: 10-20 s of feedparser callbacks and 200 MB.
    Entities whose value is plain text or one character reference stay.
    """
    if b"<!ENTITY" not in body:
        return body
    kept, position = [], 0
    for decl in prolog_tokens(body):
        if decl.group().startswith(b"<!ENTITY") and not _SAFE_ENTITY_DECL.fullmatch(decl.group()):
            kept.append(body[position : decl.start()])
            position = decl.end()
    kept.append(body[position:])
    return b"".join(kept)


def prolog_tokens(body: bytes) -> list[re.Match[bytes]]:
    """The prolog before the root element, read token by token so that markup
    inside quoted values or comments does not end the prolog early."""
    tokens = []
    position = len(codecs.BOM_UTF8) if body.startswith(codecs.BOM_UTF8) else 0
    while token := _PROLOG_TOKEN.match(body, position):
        tokens.append(token)
        position = token.end()
    return tokens


def _raise_unless_empty_feed(result: feedparser.FeedParserDict, body: bytes, content_type: str) -> None:
    """A document without entries is fine only if it is a well-formed feed."""
    is_feed = bool(result.get("version"))
    if not is_feed and _looks_like_html(body, content_type):
        raise ParseError("not a feed: the server sent an HTML page")
    if _fatal_bozo(result):
        raise ParseError(f"not a feed: {_describe(result.bozo_exception, body)}")
    if not is_feed:
        raise ParseError("not a feed: no RSS or Atom content found")


def _looks_like_html(body: bytes, content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in HTML_TYPES or bool(_HTML_START.search(body, 0, 2048))


def _fatal_bozo(result: feedparser.FeedParserDict) -> bool:
    return bool(result.get("bozo")) and not isinstance(result.get("bozo_exception"), _HEADER_COMPLAINTS)


def _warning(result: feedparser.FeedParserDict, body: bytes) -> str:
    return _describe(result.bozo_exception, body) if _fatal_bozo(result) else ""


def _describe(error: BaseException, body: bytes) -> str:
    """feedparser's complaint about `body`, worded for people."""
    if isinstance(error, xml.sax.SAXParseException):
        # feedparser puts an XML declaration and a newline before a body that has none.
        added_lines = 0 if body.removeprefix(codecs.BOM_UTF8).startswith(b"<?xml") else 1
        line = max(error.getLineNumber() - added_lines, 1)
        return f"XML syntax error at line {line}: {clean_line(error.getMessage(), 200)}"
    return clean_line(str(error) or type(error).__name__, 200)
