"""Small builders for RSS and Atom documents used across tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass
class Item:
    title: str
    link: str
    summary: str = ""
    guid: str | None = None
    published: datetime | None = None
    author: str = ""
    categories: tuple[str, ...] = ()


def recent(hours: float = 1) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours)


def rss(items: list[Item], title: str = "Test feed", link: str = "http://127.0.0.1/", extra: str = "") -> str:
    parts = [f"<item><title>{escape(i.title)}</title><link>{escape(i.link)}</link>"
             f"<guid isPermaLink=\"false\">{escape(i.guid or i.link)}</guid>"
             f"<description>{escape(i.summary)}</description>"
             + (f"<pubDate>{format_datetime(i.published)}</pubDate>" if i.published else "")
             + (f"<author>{escape(i.author)}</author>" if i.author else "")
             + "".join(f"<category>{escape(c)}</category>" for c in i.categories)
             + "</item>" for i in items]  # fmt: skip
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(link)}</link><description>d</description>{extra}"
        + "".join(parts)
        + "</channel></rss>"
    )


def atom(items: list[Item], title: str = "Test atom feed") -> str:
    entries = "".join(
        f"<entry><title>{escape(i.title)}</title><link href=\"{escape(i.link)}\"/>"
        f"<id>{escape(i.guid or i.link)}</id><summary>{escape(i.summary)}</summary>"
        f"<updated>{(i.published or recent()).isoformat()}</updated></entry>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test</id><updated>{recent().isoformat()}</updated>{entries}</feed>"
    )


def items(n: int, prefix: str = "Story", base: str = "http://127.0.0.1/a/") -> list[Item]:
    return [Item(f"{prefix} {k}", f"{base}{prefix.lower()}-{k}", f"Summary of {prefix} {k}.", published=recent(k))
            for k in range(n)]  # fmt: skip
