"""A small fixed library for the TUI tests: feeds in groups, dated articles with Markdown, hostile titles.

Built through the store's own writes and the real indexer, with fixed dates,
so snapshots do not change from run to run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reader.config import Settings
from reader.index import SearchIndex
from reader.ingest import update_index
from reader.models import ParsedArticle
from reader.store import FULLTEXT_DONE, PENDING, DeliveryPlan, NewAlert, Store

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)

HOSTILE_TITLES = (
    "x [/] y",
    "[@click=app.quit]Click[/]",
    "[bold]not bold[/bold] and [red]not red",
    "\x1b[31mred\x1b]0;pwned\x07 escape\x1b[0m",
    "tab\there\x07bell\x00nul\u202eevil",
    "שלום עולם مرحبا بالعالم",
    "中文标题 全角文字 テスト 見出し",
    "Supercalifragilistic" * 15,
    "",
)

DEEPSEEK_MARKDOWN = """\
DeepSeek released a new model as the **export controls** on chips tightened.

The [Commerce Department](https://www.commerce.gov/news/export-controls) said the rules
cover more GPUs. A [strange link](javascript:alert(1)) and a report at <https://example.org/report>.

## What changed

- Export controls now cover the H20
- DeepSeek says its training used older chips
"""


@dataclass(frozen=True)
class Story:
    feed: int  # index into FEEDS
    title: str
    hours_ago: float
    markdown: str = ""
    author: str = ""
    link: str = ""  # default: https://example.com/<key>


FEEDS = (
    ("http://127.0.0.1:9/tech.xml", "Tech Daily", "Tech"),
    ("http://127.0.0.1:9/chips.xml", "Chip Letter", "Tech"),
    ("http://127.0.0.1:9/policy.xml", "Policy Wire", "Policy"),
)

STORIES = (
    Story(0, "DeepSeek unveils a cheaper reasoning model", 1, DEEPSEEK_MARKDOWN, "Ada Lovelace"),
    Story(1, "Export controls widen to more Nvidia GPUs", 2, "The new **export controls** cover the H20."),
    Story(2, "Senate hearing on AI safety standards", 3, "Senators asked about model evaluations."),
    Story(0, "A quiet week for open source releases", 5, "Nothing much happened."),
    Story(1, "TSMC reports record quarterly revenue", 7, "Revenue rose on AI demand."),
    Story(2, "EU AI Act: the first obligations apply", 26, "The first rules of the AI Act now apply."),
    Story(0, "Rust 2.0 is not happening, says team", 30, "No Rust 2.0."),
    Story(2, "Privacy regulators fine a data broker", 50, "A large fine."),
)


def article(story: Story, key: str, published: datetime) -> ParsedArticle:
    text = story.markdown or story.title
    return ParsedArticle(
        key=key, title=story.title, link=story.link or f"https://example.com/{key}", author=story.author,
        published=published, summary=text[:200], content=text,
        content_hash=hashlib.sha1((story.title + text).encode()).hexdigest(),
    )  # fmt: skip


def build_world(settings: Settings, *, hostile: bool = False, extra: int = 0) -> Store:
    """The fixed library in `settings`' data dir: 3 feeds, 8 stories (plus hostile titles, plus `extra` filler)."""
    store = Store(settings.db_path)
    feed_ids = [store.add_feed(url, title, group)[0].id for url, title, group in FEEDS]
    stories = list(STORIES)
    if hostile:
        stories += [Story(2, title, 60 + k, f"Body of hostile story {k}: {title}") for k, title in enumerate(HOSTILE_TITLES)]
        stories.append(Story(2, "A link that runs code", 80, "Its link is javascript.", link="javascript:alert(1)"))
    stories += [Story(k % 3, f"Filler story number {k}", 100 + k, "Filler.") for k in range(extra)]
    for k, story in enumerate(stories):
        published = NOW - timedelta(hours=story.hours_ago)
        result = store.upsert_articles(feed_ids[story.feed], [article(story, f"s{k}", published)],
                                       fulltext=False, canonical={})  # fmt: skip
        if story.markdown:
            store.set_fulltext(result.new_ids[0], state=FULLTEXT_DONE, text=story.markdown, markdown=story.markdown)
    index = SearchIndex(settings.index_dir)
    update_index(store, index)
    index.close()
    return store


def add_alert(store: Store, rule: str, article_id: int, *, state: str = PENDING) -> int:
    """Record an alert as the matcher does (through the store), with one delivery in `state`."""
    a = store.article(article_id, with_text=False)
    plan = DeliveryPlan(target="t1", label="json://127.0.0.1/…", state=state, due_at=NOW)
    alert = NewAlert(rule=rule, article_id=a.id, canonical_url=a.link, title=a.title, link=a.link,
                     published=a.published, feed_title=a.feed_title, snippet=a.title, spans=(), deliveries=(plan,))  # fmt: skip
    created, _joined = store.record_matches([alert], [a.id])
    return created[0]
