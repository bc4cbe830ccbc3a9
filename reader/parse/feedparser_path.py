"""The reference path: feedparser's reading of any body, broken XML included.

Also the XML prolog reading both XML paths share (entity defusing, DTD
detection). Never touches the network or the disk.
"""

from __future__ import annotations

import codecs
import io
import re
import xml.sax

import feedparser
from feedparser.exceptions import CharacterEncodingOverride, NonXMLContentType

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


def parse_with_feedparser(body: bytes, url: str, content_type: str) -> ParsedFeed:
    """feedparser's reading of any body, broken ones included."""
    result = _run_feedparser(body, content_type)
    if not result.entries:
        _raise_unless_empty_feed(result, body, content_type)
    warning = _warning(result, body) if result.entries else ""
    return parsed_feed(result.feed, result.entries, url, warning)


def _run_feedparser(body: bytes, content_type: str) -> feedparser.FeedParserDict:
    # No content-location: given a base URL, feedparser resolves every guid that
    # looks relative ("1234") against it, so keys would change when a feed moves.
    # We resolve links against the feed URL ourselves.
    try:
        # A BytesIO, never bytes: feedparser tries to open() bytes as a file name first.
        return feedparser.parse(
            io.BytesIO(_defuse_entities(body)),
            response_headers=feedparser_headers(content_type),
            sanitize_html=False,  # html_to_text makes text safe; 3x faster without it
            resolve_relative_uris=False,
        )
    except Exception as error:  # a third-party parser crashing on hostile input is a parse failure
        raise ParseError(f"not a feed: the parser failed ({type(error).__name__})") from error


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
