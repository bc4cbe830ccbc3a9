"""Feed bytes -> `ParsedFeed`: two parsers, one set of rules for every field.

feedparser is the reference: it reads anything, broken XML included, but its
Python callbacks, run per chunk of text, cost 3-5 s of CPU for 25 MB of real
feeds. Most feeds are well-formed, so `parse_feed` first tries a fast path
(`fast_path`, about five times faster): lxml parses the document and
`FastReader` replays the part of feedparser's rules that decides the fields we
keep: which element is the title, id, link, summary or content, its text type,
the author, tags, enclosures, and dates and encodings read by feedparser's own
functions. Whatever it does not reproduce exactly (a DTD, an XML error, base64
content, markup inside a text field, a rarely used element) makes it decline,
and feedparser parses the document (`feedparser_path`), once: expat finds the
error feedparser's strict pass would stop at, and its loose parser reads it.
Two XML errors common in real feeds the fast path reads past, with
feedparser's warning: content after the root element (a script a proxy
appended) and entities no DTD defines ("&nbsp;"); the feed then reads as it
does well-formed (see `fast_path._read_broken`).

Both paths hand feedparser-shaped entries to one normaliser (`normalise`),
so a feed yields the same keys, content hashes and fields whichever path read
it: a feed that is well-formed today and broken tomorrow does not duplicate its
articles or mark them updated. fastfeedparser is not used: its entries lose
what identity depends on (isPermaLink, text types, which element gave a date).
JSON Feed (`jsonfeed`) hands its items to the same normaliser.

Pure and picklable: `parse_feed` runs in a process pool, takes the body the
fetcher downloaded and never touches the network or the disk.
"""

from __future__ import annotations

from collections.abc import Mapping

from reader.models import ParsedFeed

from .errors import ParseError
from .fast_path import parse_fast
from .feedparser_path import parse_with_feedparser
from .jsonfeed import looks_like_json, parse_json_feed

__all__ = ["ParseError", "parse_feed"]


def parse_feed(body: bytes, url: str, content_type: str = "", known: Mapping[str, bytes] | None = None) -> ParsedFeed:
    """Parse a downloaded feed body; `url` is where it came from (the base for relative links).

    Raises ParseError when the body is empty, an HTML page, or too broken to yield
    any entry. A broken document that still yields entries parses, with `warning` set.
    JSON (whatever the content type says) is read as a JSON Feed. `known`: the raw
    digests of the feed's stored articles, by key; an entry whose raw fields are
    unchanged comes back `unchanged`, not converted (`normalise.raw_digest`).
    """
    if not body or body.isspace():
        raise ParseError("empty response")
    if looks_like_json(body, content_type):
        return parse_json_feed(body, url, content_type, known)
    return parse_fast(body, url, content_type, known) or parse_with_feedparser(body, url, content_type, known)
