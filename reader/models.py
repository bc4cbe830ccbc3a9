"""Plain data types that move between the pipeline's stages, each declared once here. No I/O.

Parsing produces `ParsedFeed`/`ParsedArticle` (pure, picklable: they cross
process boundaries); the store hands out `Feed` and `Article` rows, the
index's `IndexRow`s, and the alerts' outbox records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .urls import redact_url

# -- states: stored as their string values, compared as these members -------------------


class FetchStatus(StrEnum):
    """A feed's status: the outcome of its last refresh, as stored in `feeds.last_status`."""

    OK = "ok"  # fetched and parsed (maybe with no new articles)
    NOT_MODIFIED = "not-modified"  # 304, or a body identical to the last one
    ERROR = "error"
    GONE = "gone"  # 410: the feed is disabled
    DEFERRED = "deferred"  # skipped: Retry-After not yet over


class TextSource(StrEnum):
    """Where an article's full text came from."""

    PAGE = "page"
    CONTENT = "content"
    SUMMARY = "summary"
    TITLE = "title"


class FulltextState(StrEnum):
    """Where an article stands with its page: to fetch, fetched, not to fetch, or failed."""

    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"  # full text is off for its feed, or it has no link
    FAILED = "failed"


class DeliveryState(StrEnum):
    """Where one alert's delivery to one target stands."""

    HELD = "held"  # kept back for a digest or the end of quiet hours
    PENDING = "pending"  # to send when due (again, after a failed attempt)
    SENT = "sent"
    FAILED = "failed"  # given up after every attempt; `reader alerts retry` resends


NO_TARGETS = "none"  # an alert's state when its rule has no targets


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
    categories: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    content_hash: str = ""  # hash of the fields a reader sees; excludes dates
    # Of the entry's raw fields as the feed gave them (`normalise.raw_digest`): bookkeeping, not what the article
    # is (a JSON item and an Atom entry saying the same are equal articles).
    raw_digest: bytes = field(default=b"", compare=False)
    unchanged: bool = False  # its digest is its stored article's: not converted, only key, digest and dates set


def initial_text(article: ParsedArticle) -> tuple[str, TextSource]:
    """The best text the feed itself carries, and where it came from."""
    if len(article.content) >= len(article.summary) and article.content:
        return article.content, TextSource.CONTENT
    if article.summary:
        return article.summary, TextSource.SUMMARY
    return article.title, TextSource.TITLE


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
    last_status: FetchStatus | None = None
    last_error: str | None = None
    last_new_at: datetime | None = None
    error_count: int = 0
    article_count: int = 0
    unread_count: int = 0

    @property
    def display_title(self) -> str:
        """The title, else the URL with any credentials in it masked."""
        return self.title or redact_url(self.url)


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
    categories: tuple[str, ...]
    enclosures: tuple[Enclosure, ...]
    text: str
    markdown: str
    text_source: TextSource
    read: bool
    starred: bool
    story_id: int | None = None  # the story it belongs to (None only until the run that stored it groups it)

    @property
    def date(self) -> datetime:
        """The date a reader sorts by: published, else updated, else first seen."""
        return self.published or self.updated or self.first_seen


@dataclass(frozen=True)
class UpsertResult:
    new_ids: list[int]
    updated_ids: list[int]


@dataclass(frozen=True)
class ArticleFilter:
    """What `articles`, `export` and the TUI list select. All parts are ANDed."""

    feed_ids: Sequence[int] | None = None
    group: str | None = None
    unread: bool = False
    starred: bool = False
    since: datetime | None = None
    until: datetime | None = None
    ids: Sequence[int] | None = None  # e.g. the hits of a search


@dataclass(frozen=True)
class ArticleLine:
    """One row of the TUI's article list: only what it draws."""

    id: int
    feed_id: int
    feed_title: str
    title: str
    date: datetime
    read: bool
    starred: bool
    story_id: int | None = None  # None until grouped
    muted: bool = False  # its story is muted (set by the TUI's library, not the store)
    story_unread: int | None = None  # unread articles its story row stands for, if more than itself (TUI library)


@dataclass(frozen=True)
class IndexRow:
    """What the indexer needs of one article."""

    id: int
    version: int
    title: str
    text: str
    summary: str
    feed_title: str
    group: str
    author: str
    categories: tuple[str, ...]
    link: str
    date: datetime


@dataclass(frozen=True)
class FulltextJob:
    article_id: int
    link: str
    feed_url: str
    feed_text_len: int


# -- alerts: the types of the outbox --------------------------------------------------


@dataclass(frozen=True)
class MatchCandidate:
    """A new article waiting to be matched against the rules."""

    article_id: int
    feed_id: int
    first_fetch: bool  # it came with its feed's first articles
    arrived: datetime  # when it was stored, to the millisecond
    date: datetime | None  # published, else updated
    story_id: int | None = None


@dataclass(frozen=True)
class DeliveryPlan:
    """Where and when one alert is to be sent."""

    target: str  # a stable key for the target (a hash: the URL itself holds secrets)
    label: str  # the target's URL, redacted
    state: DeliveryState  # PENDING (send when due) or HELD (for a digest or the end of quiet hours)
    due_at: datetime
    batch: str | None = None  # deliveries sharing a batch (and rule, target) go out as one message
    update_of: int = 0  # 0: the alert's own notification; else the article id of the later source it announces


@dataclass(frozen=True)
class NewAlert:
    """A rule matching an article, as recorded: what a message about it shows."""

    rule: str
    article_id: int
    canonical_url: str | None  # None when the article has no link
    title: str
    link: str
    published: datetime | None
    feed_title: str
    snippet: str
    spans: tuple[tuple[int, int], ...]
    deliveries: tuple[DeliveryPlan, ...]
    story_id: int | None = None
    outlets: int = 1  # its deliveries are made once the alert's sources come from this many outlets


@dataclass(frozen=True)
class SourceJoin:
    """A later article of an alerted story, joining the rule's alert for that story as one more source."""

    rule: str
    story_id: int
    article_id: int
    feed_title: str
    link: str
    updates: tuple[DeliveryPlan, ...]  # what it sends when it is a new source (the rule's story_updates)
    first: tuple[DeliveryPlan, ...]  # the alert's own deliveries, made if this source brings it to `outlets`
    outlets: int = 1
    alert_id: int | None = None  # the alert it joins, when not its story's (a copy from a twin subscription)


@dataclass(frozen=True)
class StoryMember:
    """An article of a story, and what tied it in (see `reader.stories.Decision.explained`)."""

    article_id: int
    title: str
    link: str
    outlet: str
    date: datetime
    reason: dict


@dataclass(frozen=True)
class StoryMerge:
    """A story that was merged into another (see `reader.stories.Merge.explained`)."""

    story_id: int
    into: int
    reason: dict


@dataclass(frozen=True)
class StoryRecord:
    """A story as `reader stories show` presents it."""

    id: int
    first_seen: datetime
    last_seen: datetime
    muted_until: datetime | None
    articles: tuple[StoryMember, ...]
    merges: tuple[StoryMerge, ...] = ()  # the stories merged into this one (directly or through others)
    merged_into: int | None = None  # this story's articles are now that story's

    @property
    def outlets(self) -> list[str]:
        return sorted({m.outlet for m in self.articles})


@dataclass(frozen=True)
class AlertSource:
    """An outlet's article about an alert's story (the first match, or a later one that joined it)."""

    article_id: int | None  # None once the article is deleted
    feed_title: str
    link: str


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: int
    target: str
    label: str
    batch: str | None
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None


@dataclass(frozen=True)
class Alert:
    id: int
    rule: str
    article_id: int | None
    title: str
    link: str
    published: datetime | None
    snippet: str
    spans: tuple[tuple[int, int], ...]
    created_at: datetime
    sources: tuple[AlertSource, ...]
    deliveries: tuple[Delivery, ...]
    story_id: int | None = None

    @property
    def outlets(self) -> list[str]:
        """The outlets that carried the alert's story, the first match's first, each once."""
        return list(dict.fromkeys(source.feed_title for source in self.sources))

    @property
    def state(self) -> str:
        """The least advanced state of its deliveries: failed, pending, held, sent (NO_TARGETS without any)."""
        states = {d.state for d in self.deliveries}
        order = (DeliveryState.FAILED, DeliveryState.PENDING, DeliveryState.HELD, DeliveryState.SENT)
        return next((s for s in order if s in states), NO_TARGETS)
