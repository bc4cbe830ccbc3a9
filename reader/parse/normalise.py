"""The one normaliser: feedparser-shaped entries -> `ParsedArticle`s, whichever parser read them.

Identity key, dates, links, enclosures, text: every rule for a field lives here,
so both XML paths (and any other format) yield the same keys and content hashes;
and the raw digest that spares a feed read again converting its unchanged entries.
Pure: never parses a document, never does I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from time import struct_time
from typing import Any
from urllib.parse import urljoin, urlsplit

from reader.models import Enclosure, ParsedArticle, ParsedFeed
from reader.text import clean_line, clean_text, html_to_text

MAX_TITLE_CHARS = 500
MAX_AUTHOR_CHARS = 200
MAX_SUMMARY_CHARS = 20_000
MAX_CONTENT_CHARS = 500_000
MAX_CONTENT_HTML_CHARS = 1_000_000
MAX_URL_CHARS = 4096
MAX_KEY_CHARS = 1024
MAX_CATEGORIES = 50
MAX_CATEGORY_CHARS = 100
MAX_ENCLOSURES = 20
MAX_TTL_MINUTES = 60 * 24 * 365

EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=timezone.utc)
MAX_DATE_AHEAD = timedelta(days=2)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def parsed_feed(feed: Mapping[str, Any], entries: Iterable[Mapping[str, Any]], url: str, warning: str,
                known: Mapping[str, bytes] | None = None) -> ParsedFeed:  # fmt: skip
    """The feed and its entries; `known`: the raw digests stored for the feed's articles, by key (an entry
    whose digest is its article's is not converted again, see `unchanged_article`)."""
    articles, shared = _articles(entries, url, known or {})
    return ParsedFeed(
        title=clean_line(_text_of(feed, "title", MAX_TITLE_CHARS), MAX_TITLE_CHARS),
        site_url=_http_url(feed.get("link", ""), url),
        articles=articles,
        ttl_seconds=_ttl_seconds(feed.get("ttl")),
        warning="; ".join(note for note in (warning, shared) if note),
    )


def _articles(entries: Iterable[Mapping[str, Any]], feed_url: str,
              known: Mapping[str, bytes]) -> tuple[list[ParsedArticle], str]:  # fmt: skip
    """One ParsedArticle per entry, and a note when entries shared a key.

    Entries sharing one id are told apart (see `_told_apart`); an entry listed
    twice, alike in link, title and date, is kept once. The keys come first: an
    entry whose raw digest is `known[key]` is not converted (its text is most of the work).
    """
    now = datetime.now(timezone.utc)
    # Plain dicts: FeedParserDict's aliasing makes every lookup slow, and would
    # answer `updated_parsed` with the published date.
    raws = list(map(dict, entries))
    blocks = [_richest_content(raw) for raw in raws]
    keys = [_key(raw, block) for raw, block in zip(raws, blocks)]
    sharing: dict[str, list[int]] = {}
    for position, key in enumerate(keys):
        sharing.setdefault(key, []).append(position)
    shared_items = shared_keys = 0
    for key, positions in sharing.items():
        if len(positions) > 1 and len(set(told := _told_apart(key, [raws[p] for p in positions]))) > 1:
            for position, new_key in zip(positions, told):
                keys[position] = new_key
            shared_items, shared_keys = shared_items + len(positions), shared_keys + 1
    articles: list[ParsedArticle] = []
    seen: set[str] = set()
    for raw, block, key in zip(raws, blocks, keys):
        if key not in seen:
            seen.add(key)
            digest = raw_digest(raw, block, feed_url)
            if known.get(key) == digest:
                articles.append(unchanged_article(raw, key, digest, now))
            else:
                articles.append(_article(raw, block, key, digest, feed_url, now))
    note = ""
    if shared_keys:
        ids = "one guid" if shared_keys == 1 else f"{shared_keys} guids"
        note = f"{shared_items} items shared {ids}; told apart by link, title and date"
    return articles, note


def _told_apart(key: str, entries: list[Mapping[str, Any]]) -> list[str]:
    """Keys for entries that share `key` (a feed giving many items one <guid>): by the raw link when no
    other of them has it, else by link, title and date. Never by position, so an item keeps its key from
    one fetch to the next whatever the feed's order; entries alike in all three get alike keys."""
    links = [(entry.get("link") or "").strip() for entry in entries]
    told = []
    for entry, link in zip(entries, links):
        if link and links.count(link) == 1:
            told.append(_sha256("shared id", key, link))
        else:
            date = entry.get("published_parsed") or entry.get("updated_parsed")
            told.append(_sha256("shared id", key, link, entry.get("title") or "", list(date or ())[:6]))
    return told


def _article(entry: Mapping[str, Any], content_block: Mapping[str, Any] | None, key: str, digest: bytes,
             feed_url: str, now: datetime) -> ParsedArticle:  # fmt: skip
    title = clean_line(_text_of(entry, "title", MAX_TITLE_CHARS), MAX_TITLE_CHARS)
    link = _entry_link(entry, feed_url)
    content = _content_text(content_block)
    summary = _summary_text(entry, content_block, content)
    author = clean_line(_author(entry), MAX_AUTHOR_CHARS)
    categories = _categories(entry.get("tags") or ())
    enclosures = _enclosures(entry.get("links") or (), feed_url)
    return ParsedArticle(
        key=key,
        title=title,
        link=link,
        author=author,
        published=_utc_datetime(entry.get("published_parsed"), now),
        updated=_utc_datetime(entry.get("updated_parsed"), now),
        summary=summary,
        content=content,
        categories=categories,
        enclosures=enclosures,
        content_hash=_content_hash(title, link, author, summary, content, categories, enclosures),
        raw_digest=digest,
    )


def unchanged_article(entry: Mapping[str, Any], key: str, digest: bytes, now: datetime) -> ParsedArticle:
    """An entry as its article is stored already: its key, digest and dates only (`newest` orders by them),
    `unchanged`; the store leaves its article as it is."""
    return ParsedArticle(key=key, title="", link="", published=_utc_datetime(entry.get("published_parsed"), now),
                         updated=_utc_datetime(entry.get("updated_parsed"), now), raw_digest=digest,
                         unchanged=True)  # fmt: skip


# Bump it when a change to the rules of this module should reach the articles stored already: every
# entry's digest then differs from its article's, so each is converted again (and updated if its text changed).
RAW_RULES = "raw fields 1"


def raw_digest(entry: Mapping[str, Any], content_block: Mapping[str, Any] | None, feed_url: str) -> bytes:
    """A digest of the raw fields `_article` makes the article from, as the feed gave them (before any HTML
    is read), and of the feed's URL (relative links), under `RAW_RULES`. The dates are left out as the content
    hash leaves them out: the store rewrites an article only when its content hash changes. So an entry whose
    digest is the one stored with its article would make the article stored, and need not be converted."""
    links = [(link.get("rel"), link.get("href"), link.get("type"), link.get("length"))
             for link in entry.get("links") or ()]  # fmt: skip
    tags = [(tag.get("term"), tag.get("label")) for tag in entry.get("tags") or ()]
    block = content_block or {}
    small = (
        RAW_RULES, feed_url, (entry.get("title_detail") or {}).get("type"), entry.get("link"),
        bool(entry.get("guidislink")), links, block.get("type"), (entry.get("summary_detail") or {}).get("type"),
        (entry.get("author_detail") or {}).get("name"), entry.get("author"), tags,
    )  # fmt: skip
    digest = hashlib.blake2b(repr(small).encode("utf-8", "surrogatepass"), digest_size=16)
    for text in (entry.get("title"), block.get("value"), entry.get("summary")):  # the long ones, as they are
        data = str(text or "").encode("utf-8", "surrogatepass")
        digest.update(b"%d:" % len(data))  # (so no boundary can shift)
        digest.update(data)
    return digest.digest()


def _is_html(detail: Mapping[str, Any] | None) -> bool:
    """feedparser's verdict on a text construct; RSS text defaults to HTML."""
    return (detail or {}).get("type", "text/html") in HTML_TYPES


def _as_plain_text(value: str, html: bool, max_chars: int) -> str:
    return html_to_text(value, max_chars) if html else clean_text(value, max_chars).strip()


def _text_of(node: Mapping[str, Any], name: str, max_chars: int) -> str:
    """Plain text of a title-like field, stripped of HTML when feedparser says it is HTML.

    Text marked plain stays as is, so a title such as "Why <script> tags block" survives.
    """
    value = (node.get(name) or "")[: max_chars * 20]  # room for markup, but bounded work
    return _as_plain_text(value, _is_html(node.get(name + "_detail")), max_chars)


def _richest_content(entry: Mapping[str, Any]) -> Mapping[str, Any] | None:
    blocks = [block for block in entry.get("content") or () if block.get("value")]
    return max(blocks, key=lambda block: len(block["value"]), default=None)


def _content_text(block: Mapping[str, Any] | None) -> str:
    """Plain text of the block, capped (its HTML is read, never kept: nothing shows it)."""
    if block is None:
        return ""
    if not _is_html(block):
        return clean_text(block["value"], MAX_CONTENT_CHARS).strip()
    return html_to_text(block["value"][:MAX_CONTENT_HTML_CHARS], MAX_CONTENT_CHARS)


def _summary_text(entry: Mapping[str, Any], content_block: Mapping[str, Any] | None, content: str) -> str:
    value = entry.get("summary") or ""
    if content_block is not None and value == content_block["value"]:
        return content[:MAX_SUMMARY_CHARS]  # feedparser copies Atom content into a missing summary
    return _as_plain_text(value[:MAX_CONTENT_HTML_CHARS], _is_html(entry.get("summary_detail")), MAX_SUMMARY_CHARS)


def _entry_link(entry: Mapping[str, Any], feed_url: str) -> str:
    """The entry's link, absolute. RSS makes the guid the link unless isPermaLink="false",
    which many feeds forget, so a guid standing in for a link must be a full URL."""
    links = entry.get("links") or ()
    from_guid = entry.get("guidislink") and not any(link.get("rel") == "alternate" for link in links)
    return _http_url(entry.get("link", ""), "" if from_guid else feed_url)


def _author(entry: Mapping[str, Any]) -> str:
    """The author's name; feedparser's `author` may carry an e-mail address too."""
    detail = entry.get("author_detail") or {}
    return detail.get("name") or entry.get("author") or ""


def _http_url(raw: str, base: str) -> str:
    """`raw` made absolute against `base`; "" unless it is an http(s) URL of sane length."""
    raw = clean_text(raw or "")
    if not raw.strip() or len(raw) > MAX_URL_CHARS:
        return ""
    url = "%20".join(raw.split())
    try:
        if not url.startswith(("https://", "http://")):  # most are; urljoin is slow
            url = urljoin(base, url)
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 host
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def _categories(tags: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Tag terms (or labels), cleaned, without case-insensitive duplicates."""
    categories: dict[str, str] = {}
    for tag in tags:
        name = clean_line(tag.get("term") or tag.get("label") or "", MAX_CATEGORY_CHARS)
        if name:
            categories.setdefault(name.casefold(), name)
        if len(categories) == MAX_CATEGORIES:
            break
    return tuple(categories.values())


def _enclosures(links: Iterable[Mapping[str, Any]], feed_url: str) -> tuple[Enclosure, ...]:
    """The links marked rel="enclosure", deduplicated by URL."""
    enclosures: dict[str, Enclosure] = {}
    for link in links:
        if link.get("rel") != "enclosure":
            continue
        url = _http_url(link.get("href", ""), feed_url)
        if url and url not in enclosures:
            media_type = clean_line(link.get("type") or "", 100)
            enclosures[url] = Enclosure(url=url, type=media_type, length=_length(link.get("length")))
        if len(enclosures) == MAX_ENCLOSURES:
            break
    return tuple(enclosures.values())


def _length(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 15 else None


def _utc_datetime(value: struct_time | None, now: datetime) -> datetime | None:
    """feedparser's UTC struct_time as an aware datetime; None if absent or absurd."""
    if not value:
        return None
    try:
        moment = datetime(*value[:6], tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None
    return moment if EARLIEST_DATE <= moment <= now + MAX_DATE_AHEAD else None


def _ttl_seconds(raw: str | None) -> int | None:
    """RSS <ttl> is in minutes; anything but a positive count up to a year is ignored."""
    try:
        minutes = int((raw or "").strip())
    except ValueError:
        return None
    return minutes * 60 if 0 < minutes <= MAX_TTL_MINUTES else None


def _key(entry: Mapping[str, Any], content_block: Mapping[str, Any] | None) -> str:
    """The entry's identity: its id, else its link, else a hash of its text.

    All taken raw, as the feed wrote them: a relative link is not resolved (the
    key must not change when the feed moves), and improving the cleaning must
    never change the keys of stored articles.
    """
    for candidate in (entry.get("id"), entry.get("link")):
        candidate = (candidate or "").strip()
        if candidate:
            return candidate if len(candidate) <= MAX_KEY_CHARS and candidate.isprintable() else _sha256(candidate)
    raw_content = content_block["value"] if content_block else ""
    return _sha256(entry.get("title") or "", entry.get("summary") or "", raw_content)


def _content_hash(
    title: str,
    link: str,
    author: str,
    summary: str,
    content: str,
    categories: tuple[str, ...],
    enclosures: tuple[Enclosure, ...],
) -> str:
    """Hash of what a reader sees; dates are left out so a bumped `updated` is no change."""
    media = [[e.url, e.type, e.length] for e in enclosures]
    return _sha256(title, link, author, summary, content, list(categories), media)


def _sha256(*fields: object) -> str:
    """A hash of the fields as a JSON list, so field boundaries cannot shift."""
    return "sha256:" + hashlib.sha256(b"[" + b", ".join(map(_json, fields)) + b"]").hexdigest()


_CONTROLS_BUT_TAB_AND_NEWLINE = bytes(c for c in range(32) if c not in b"\t\n")


def _json(value: object) -> bytes:
    """`json.dumps(value, ensure_ascii=False)` in UTF-8. A string (what most hashed bytes are) is escaped
    as json escapes it, but on its UTF-8 bytes, which is twice as fast on text that is not ASCII."""
    if type(value) is str:
        data = value.encode("utf-8", "surrogatepass")
        if len(data.translate(None, _CONTROLS_BUT_TAB_AND_NEWLINE)) == len(data):  # else json's \u00XX
            escaped = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n").replace(b"\t", b"\\t")
            return b'"' + escaped + b'"'
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")

