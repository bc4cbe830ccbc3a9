"""Feed discovery: from a web page's URL to the feeds it offers, as other readers do on "add".

Reads `<link rel="alternate">` feed links, then tries the paths where sites usually keep a feed.
Goes through the one HTTP client (`reader.fetch`); never writes the store.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.etree

from .config import FetchSettings
from .text import clean_line

FEED_TYPES = {
    "application/rss+xml": "RSS", "application/atom+xml": "Atom", "application/rdf+xml": "RDF",
    "application/feed+json": "JSON Feed", "application/json": "JSON Feed", "text/xml": "XML",
    "application/xml": "XML",
}  # fmt: skip
COMMON_PATHS = ("/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml", "/feed.json")
MAX_PAGE_BYTES = 2 * 1024 * 1024
_FEED_ROOT = re.compile(rb"<(?:[\w-]+:)?(rss|feed|RDF)[\s>]")


@dataclass(frozen=True)
class FoundFeed:
    url: str
    title: str = ""
    kind: str = ""


@dataclass(frozen=True)
class Discovery:
    """What a URL turned out to be: a feed itself, a page offering feeds, or neither (with why)."""

    is_feed: bool = False  # a feed, or not a web page: the parser will say what it is
    feeds: tuple[FoundFeed, ...] = ()
    error: str | None = None  # the URL could not be read at all


def looks_like_feed(body: bytes) -> bool:
    """RSS, Atom, RDF or JSON Feed, judged from the body's start alone (servers mislabel types)."""
    head = body[:4096].lstrip()
    if head.startswith(b"{"):
        try:
            version = json.loads(body).get("version", "")
        except (ValueError, AttributeError, RecursionError):
            return False
        return isinstance(version, str) and "jsonfeed.org" in version
    if head[:1] != b"<":
        return False
    return bool(_FEED_ROOT.search(re.sub(rb"<!--.*?-->|<\?.*?\?>|<!DOCTYPE[^>]*>", b"", head, flags=re.S)))


def looks_like_html(body: bytes, content_type: str = "") -> bool:
    """A web page: served as HTML, or opening like one."""
    if "html" in content_type.lower():
        return True
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<head" in head


def feed_links(html: bytes, base_url: str) -> list[FoundFeed]:
    """The feeds a page declares with `<link rel="alternate" type="…">`, in page order, deduplicated. A page on
    a public host never leads to a private one (localhost, 10/8, 169.254.169.254…): a page anyone can write
    must not subscribe its reader to their own network; an intranet page may name intranet feeds."""
    from .fetch import is_private_host

    public_page = not is_private_host(base_url)
    parser = lxml.etree.HTMLParser(recover=True, no_network=True, remove_comments=True)
    try:
        root = lxml.etree.fromstring(html, parser)
    except (lxml.etree.LxmlError, ValueError):
        return []
    if root is None:
        return []
    base = next((b.get("href") for b in root.iter("base") if b.get("href")), None)
    base_url = urljoin(base_url, base) if base else base_url
    found: dict[str, FoundFeed] = {}
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = FEED_TYPES.get((link.get("type") or "").split(";")[0].strip().lower())
        href = (link.get("href") or "").strip()
        if "alternate" in rel and kind and href:
            url = urljoin(base_url, href)
            if urlsplit(url).scheme in ("http", "https") and url not in found and not (
                public_page and is_private_host(url)
            ):
                found[url] = FoundFeed(url, clean_line(link.get("title") or "", 200), kind)
    return list(found.values())


async def discover(url: str, settings: FetchSettings) -> Discovery:
    """Fetch `url`; if it is a page, the feeds it links to, else the feeds at the usual paths."""
    from .fetch import Fetcher

    async with Fetcher(settings) as fetcher:
        page = await fetcher.get(url, max_bytes=MAX_PAGE_BYTES, accept="text/html, application/xhtml+xml, */*;q=0.8")
        if not page.ok:
            return Discovery(error=page.error or f"HTTP {page.status}")
        if looks_like_feed(page.body) or not looks_like_html(page.body, page.content_type):
            return Discovery(is_feed=True)  # a feed, or something only the parser can judge
        links = feed_links(page.body, page.final_url)
        if links:
            return Discovery(feeds=tuple(links))
        root = "{0.scheme}://{0.netloc}".format(urlsplit(page.final_url))
        for path in COMMON_PATHS:
            guess = await fetcher.get(root + path, max_bytes=MAX_PAGE_BYTES)
            if guess.ok and looks_like_feed(guess.body):
                return Discovery(feeds=(FoundFeed(guess.final_url, "", ""),))
        return Discovery()
