"""Article page -> the article's own text, without the site around it.

Pure and picklable: the pipeline fetches pages and runs `extract_article` in
worker processes; it never fetches. trafilatura finds the main content, tuned
for precision (no comments, no guessing at borderline blocks); reader.boilerplate
removes the furniture it would keep, before (boxes named as promos, dialogs,
captions) and after (newsletter and subscription pleas, "related" lists, bios),
so that searches and alert rules see everything the article says and nothing
the site around it says.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass

import trafilatura
import trafilatura.meta
import trafilatura.utils
from lxml import etree
from trafilatura.xml import xmltotxt

from reader.boilerplate import clean_body, prune_furniture
from reader.text import clean_line, clean_text

log = logging.getLogger(__name__)
# trafilatura warns about every odd page ("discarding data"); that is routine here, not news for the user.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

MAX_HTML_BYTES = 5 * 1024 * 1024  # bigger pages are not articles worth parsing
MAX_TEXT_CHARS = 300_000  # per output (text, markdown): a long feature is ~50,000
MAX_TITLE_CHARS = 500
MIN_FAST_CHARS = 1000  # a shorter find by the fast pass is checked by the full one
MIN_FAST_SHARE = 0.5  # ... and so is one with less text than this share of the page's <p> text
RESET_CACHES_EVERY = 500  # extractions between clearing trafilatura's LRU caches


@dataclass(frozen=True)
class Extracted:
    """An article's main content: plain text for the index, Markdown for reading."""

    text: str  # paragraphs separated by blank lines; safe for a terminal
    markdown: str  # headings, lists, links and emphasis kept; safe for a terminal
    title: str = ""  # the page's own idea of its title, if it has one


def extract_article(html: bytes | str, url: str) -> Extracted | None:
    """The main text of an article page, or None when it has no usable article.

    Bytes are decoded by the page's declared charset. Never raises, never fetches:
    `url` only resolves relative links and helps trafilatura read the metadata.
    """
    if len(html) > MAX_HTML_BYTES:
        return None
    _count_extraction()
    try:
        return _extract(html if isinstance(html, str) else decode_html(html), url)
    except Exception as exc:  # noqa: BLE001
        # A third-party parser fed hostile input: whatever it raises means "no
        # article here", and must not take the worker process down.
        log.debug("extraction failed for %s: %r", url, exc)
        return None


def _extract(page: str, url: str) -> Extracted | None:
    if _may_hold_escape_sequences(page):
        # Remove them whole now: the parser drops a lone ESC and would leave "[31m" behind.
        page = clean_text(page)
    tree = trafilatura.utils.load_html(page)
    if tree is None:
        return None
    title = page_title(tree)  # before pruning, which may take a headline's box
    prune_furniture(tree)
    paragraphs = sum(len(p.text_content()) for p in tree.iter("p"))
    body = _main_content(tree, url, fast=True)
    found = 0 if body is None else _text_length(body)
    if found < MIN_FAST_CHARS or found < MIN_FAST_SHARE * paragraphs:
        # A short find, or one leaving out most of the page's paragraphs, may be a miss:
        # the full pass compares it with readability's and jusText's (as trafilatura itself would).
        body = _main_content(tree, url, fast=False)
    if body is None:
        return None
    clean_body(body, title)
    markdown = xmltotxt(body, include_formatting=True)
    etree.strip_tags(body, "ref")  # plain text keeps link text, not "[text](url)"
    text = _paragraphs_apart(xmltotxt(body, include_formatting=False))
    if not text.strip():
        return None
    return Extracted(
        text=clean_text(_cap(text)).strip(),
        markdown=clean_text(_cap(markdown)).strip(),
        title=clean_line(title, MAX_TITLE_CHARS),
    )


def _main_content(tree: etree._Element, url: str, *, fast: bool) -> etree._Element | None:
    """trafilatura's body tree for the page (it extracts from a copy: `tree` stays whole)."""
    document = trafilatura.bare_extraction(
        tree,
        url=url or None,
        fast=fast,  # True: its own algorithm only, no readability/jusText comparison (a third of the time)
        output_format="markdown",  # keeps the body tree's formatting; nothing rendered yet
        favor_precision=True,
        include_comments=False,  # also prunes comment sections before the main extraction
        include_tables=True,
        include_images=False,
        include_formatting=True,
        include_links=True,
        with_metadata=False,  # a quarter of the time (dates, authors, licence) for a title we find ourselves
        deduplicate=False,  # its cache is process-wide: would drop a re-fetched page
    )
    return None if document is None else document.body


def _text_length(body: etree._Element) -> int:
    return sum(len(t) for t in body.itertext())


# --- title ---------------------------------------------------------------------------------

_TITLE_META = (
    "//meta[@property='og:title' or @name='og:title' or @name='twitter:title' or @property='twitter:title']/@content"
)


def page_title(tree: etree._Element) -> str:
    """The page's own title: its OpenGraph/Twitter title, else trafilatura's guess from headings and <title>."""
    for content in tree.xpath(_TITLE_META):
        if content.strip():
            return content.strip()
    return trafilatura.metadata.extract_title(tree) or ""


# --- decoding ------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_CHARSET_PRESCAN_BYTES = 4096
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# What browsers do with these labels (WHATWG Encoding): Latin-1 pages are really windows-1252.
_CHARSET_OVERRIDES = {"iso8859-1": "cp1252", "ascii": "cp1252"}
_ASCII_PROBE = b"<meta charset=x>"


def decode_html(data: bytes) -> str:
    """Bytes of a page as text: BOM, else declared <meta> charset, else UTF-8, else a guess."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    declared = declared_charset(data)
    if declared:
        return data.decode(declared, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return trafilatura.utils.decode_file(data)  # charset detection


def declared_charset(data: bytes) -> str | None:
    """The Python codec for the charset a page's <meta> declares, if it can be the page's.

    The declaration was read as ASCII, so a charset that does not decode ASCII as
    ASCII (UTF-16, EBCDIC, rot13…) cannot be right; browsers ignore it too.
    """
    match = _META_CHARSET.search(data[:_CHARSET_PRESCAN_BYTES])
    if match is None:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
        name = _CHARSET_OVERRIDES.get(name, name)
        ascii_compatible = _ASCII_PROBE.decode(name, errors="replace") == _ASCII_PROBE.decode("ascii")
    except (LookupError, UnicodeError):
        return None
    return name if ascii_compatible else None


# --- small helpers -------------------------------------------------------------------------

_extraction_count = 0  # per process: each pool worker keeps its own caches


def _count_extraction() -> None:
    """Clear trafilatura's caches now and then: they grow with every page seen."""
    global _extraction_count
    _extraction_count += 1
    if _extraction_count % RESET_CACHES_EVERY == 0:
        trafilatura.meta.reset_caches()


_ESCAPE_INTRODUCERS = ("\x1b", "\x9b", "\x9d", "\x90", "\x98", "\x9e", "\x9f")  # ESC, then C1 forms


def _may_hold_escape_sequences(page: str) -> bool:
    """A few fast scans, so that clean_text's full pass runs only on the rare page needing it."""
    return any(introducer in page for introducer in _ESCAPE_INTRODUCERS)


_LINE_BREAKS = re.compile(r"\n+")


def _paragraphs_apart(text: str) -> str:
    """One blank line between blocks: trafilatura's plain text puts them on adjacent lines."""
    return _LINE_BREAKS.sub("\n\n", text.strip())


def _cap(text: str) -> str:
    """At most MAX_TEXT_CHARS, cut at a paragraph break when there is one."""
    if len(text) <= MAX_TEXT_CHARS:
        return text
    cut = text.rfind("\n\n", 0, MAX_TEXT_CHARS)
    return text[: cut if cut > 0 else MAX_TEXT_CHARS]
