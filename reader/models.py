"""Plain data types that move between the pipeline's stages.

Parsing produces `ParsedFeed`/`ParsedArticle` (pure, picklable: they cross
process boundaries); the store hands out `Feed` and `Article` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Enclosure:
    url: str
    type: str = ""
    length: int | None = None


@dataclass(frozen=True)
class ParsedArticle:
    """One entry of a feed, as parsed, with text already made safe."""

    key: str  # identity within its feed: entry id, else link, else content hash
    title: str
    link: str
    author: str = ""
    published: datetime | None = None  # aware, UTC
    updated: datetime | None = None  # aware, UTC
    summary: str = ""  # plain text
    content: str = ""  # plain text of the richest content block
    content_html: str = ""  # that block's HTML (untrusted; for Markdown rendering)
    categories: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    content_hash: str = ""  # hash of the fields a reader sees; excludes dates


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    site_url: str
    articles: list[ParsedArticle] = field(default_factory=list)
    ttl_seconds: int | None = None  # RSS <ttl>, if any
    warning: str = ""  # feedparser's bozo message when it still found entries


@dataclass(frozen=True)
class Feed:
    """A subscribed feed, as stored."""

    id: int
    url: str
    title: str
    group: str
    site_url: str = ""
    enabled: bool = True
    fulltext: bool = True  # fetch article pages for this feed
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    ttl_seconds: int | None = None
    next_fetch_after: datetime | None = None
    last_fetched_at: datetime | None = None
    last_status: str | None = None  # see FetchStatus
    last_error: str | None = None
    last_new_at: datetime | None = None
    error_count: int = 0
    article_count: int = 0
    unread_count: int = 0

    @property
    def display_title(self) -> str:
        return self.title or self.url


class FetchStatus:
    """The outcome of refreshing one feed, as stored in `feeds.last_status`."""

    OK = "ok"  # fetched and parsed (maybe with no new articles)
    NOT_MODIFIED = "not-modified"  # 304, or a body identical to the last one
    ERROR = "error"
    GONE = "gone"  # 410: the feed is disabled
    DEFERRED = "deferred"  # skipped: Retry-After not yet over


class TextSource:
    """Where an article's full text came from."""

    PAGE = "page"
    CONTENT = "content"
    SUMMARY = "summary"
    TITLE = "title"


@dataclass(frozen=True)
class Article:
    """A stored article (full text included when asked for)."""

    id: int
    feed_id: int
    feed_title: str
    group: str
    key: str
    title: str
    link: str
    author: str
    published: datetime | None
    updated: datetime | None
    first_seen: datetime
    summary: str
    content: str
    categories: tuple[str, ...]
    enclosures: tuple[Enclosure, ...]
    text: str
    markdown: str
    text_source: str
    read: bool
    starred: bool
    story_id: int | None = None  # the story it belongs to (None only until the run that stored it groups it)

    @property
    def date(self) -> datetime:
        """The date a reader sorts by: published, else updated, else first seen."""
        return self.published or self.updated or self.first_seen
