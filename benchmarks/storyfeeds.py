"""The stories benchmark's worlds: the data set served as feeds (one per publisher host), and a store grown to 100k.

`served_run` serves each host's headlines as an RSS feed on 127.0.0.1–127.0.0.N,
runs `reader fetch --no-fulltext --json`, reads the stories back with
`reader articles --json`, and scores them. `scale_run` times grouping through
the store when it holds 1k articles and when it holds 100k.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

from aiohttp import web

from .bench_fetch import ReaderClient, run_measured
from .feedserver import FIRST_LOOPBACK, REPO_ROOT, bind_sockets

MAX_HOSTS = 200  # loopback addresses the feeds are spread over


def rss(host: str, rows: Sequence) -> bytes:
    items = "".join(
        f"<item><title>{escape(r.title)}</title><link>{escape(r.url)}</link>"
        f"<guid isPermaLink=\"false\">{escape(r.url)}</guid><pubDate>{format_datetime(r.date)}</pubDate></item>"
        for r in rows
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(rows[0].publisher)}'
            f"</title><link>http://{escape(host)}/</link><description>{escape(host)}</description>{items}"
            "</channel></rss>").encode()  # fmt: skip


class StoryFeeds:
    """An aiohttp server in a thread: /feed/{i}.xml is host i's headlines, served from address i % N."""

    def __init__(self, rows: Sequence, latency: float = 0.0):
        self.latency = latency
        by_host: dict[str, list] = defaultdict(list)
        for r in rows:
            by_host[r.host].append(r)
        self.hosts = sorted(by_host)
        self.bodies = [rss(h, by_host[h]) for h in self.hosts]
        self.sockets = bind_sockets(min(MAX_HOSTS, len(self.hosts)))
        self.port = self.sockets[0].getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def urls(self) -> list[str]:
        addresses = len(self.sockets)
        return [f"http://{FIRST_LOOPBACK + i % addresses}:{self.port}/feed/{i}.xml" for i in range(len(self.hosts))]

    async def _start(self) -> None:
        async def feed(request: web.Request) -> web.Response:
            i = int(request.match_info["i"])
            await asyncio.sleep(self.latency)
            return web.Response(body=self.bodies[i], content_type="application/rss+xml")

        app = web.Application()
        app.router.add_get("/feed/{i:\\d+}.xml", feed)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        for sock in self.sockets:
            await web.SockSite(self.runner, sock).start()

    def __enter__(self) -> StoryFeeds:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=60)
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def served_run(rows: Sequence, latency: float) -> tuple[float, float, float]:
    from .bench_stories import _prf, bcubed

    with tempfile.TemporaryDirectory(prefix="bench-stories-") as tmp, StoryFeeds(rows, latency) as server:
        client = ReaderClient(Path(tmp), server.urls(), sys.executable)
        client.subscribe()
        sample = run_measured(client.command("fetch", "--no-fulltext", "--json"), client.env, REPO_ROOT, timeout=1800)
        if sample.returncode != 0:
            raise SystemExit(f"reader fetch failed ({sample.returncode}): {sample.stderr[-800:]}")
        report = json.loads(sample.stdout)
        listed = run_measured(client.command("articles", "--json", "--limit", str(len(rows) * 2)), client.env,
                              REPO_ROOT)  # fmt: skip
        articles = json.loads(listed.stdout)
    label = {r.url: r.story for r in rows}
    found = [(a["story"], label[a["link"]]) for a in articles if a["link"] in label]
    score = bcubed([s for s, _ in found], [g for _, g in found])
    grouping = report["timings"].get("stories", 0.0)
    print(f"\nServed as {len(server.hosts)} feeds on {len(server.sockets)} loopback addresses; "
          f"{latency * 1000:.0f} ms latency; `reader fetch --no-fulltext`: {report['new']} articles stored, "
          f"{report['grouped']} grouped, "
          f"{len(found)} scored")  # fmt: skip
    print("\n| what | figure |\n| --- | ---: |")
    print(f"| B-cubed P / R / F1, through the pipeline | {_prf(score)} |")
    print(f"| stories formed (labels) | {len({s for s, _ in found})} ({len({g for _, g in found})}) |")
    print(f"| feeds-only refresh, whole command (wall) | {sample.wall:.2f} s |")
    print(f"| grouping stage (wall) | {grouping:.2f} s ({grouping / sample.wall:.1%} of the refresh) |")
    for row in grouping_cpu_rows(report, sample):
        print(row)
    return score


def grouping_cpu_rows(report: dict, sample) -> list[str]:
    """The grouping's CPU as table rows, against the refresh's wall time and its whole CPU (`sample.cpu`: the
    command and the children it reaped: parse workers, grouping process). A cold fetch of many new feeds groups
    in a process of its own (reader/grouping_process.py; `stories_start_cpu` is its start-up, reported only
    then), a smaller one in a thread of the main process (`stories_cpu` is then that thread's CPU)."""
    timings = report["timings"]
    cpu, start = timings.get("stories_cpu", 0.0), timings.get("stories_start_cpu")
    where = "the grouping process's passes" if start is not None else "its thread in the main process"
    per_article = cpu / max(1, report["grouped"]) * 1e6
    rows = [f"| grouping CPU ({where}) | {cpu:.2f} s ({cpu / sample.wall:.1%} of the refresh's wall time, "
            f"{cpu / sample.cpu:.1%} of its CPU; {per_article:.0f} µs per article) |"]  # fmt: skip
    if start is not None:
        rows.append(f"| grouping process start-up (CPU) | {start:.2f} s "
                    f"({start / sample.cpu:.1%} of the refresh's CPU) |")  # fmt: skip
    rows.append(f"| refresh's CPU (the command, its workers and grouping process) | {sample.cpu:.2f} s "
                f"({timings.get('parse_cpu', 0.0):.2f} s of it parsing in the workers) |")  # fmt: skip
    return rows


def scale_run(rows: Sequence, total: int = 100_000, sample: int = 1000) -> None:
    """Grouping `sample` articles into a store holding ~1k, then ~`total` articles (the data set again and
    again, each copy a week later, so old stories close as they would)."""
    from reader.ingest import group_stories
    from reader.models import ParsedArticle
    from reader.store import Store

    def copy(k: int) -> list[ParsedArticle]:
        shift = timedelta(days=7 * k)
        return [ParsedArticle(key=f"{k}-{i}", title=r.title, link=f"{r.url}#{k}", published=r.date + shift,
                              content_hash=f"{k}-{i}") for i, r in enumerate(rows)]  # fmt: skip

    def timed(store: Store, k: int) -> float:
        store.upsert_articles(feed, copy(k)[:sample], fulltext=False, canonical={})
        start = time.perf_counter()
        group_stories(store)
        return (time.perf_counter() - start) / sample

    with tempfile.TemporaryDirectory(prefix="bench-stories-scale-") as tmp:
        store = Store(Path(tmp) / "reader.sqlite")
        feed = store.add_feed("http://127.0.0.1/feed.xml")[0].id
        small = timed(store, 0)
        k = 1
        while store.article_count() + len(rows) < total:
            store.upsert_articles(feed, copy(k), fulltext=False, canonical={})
            group_stories(store)
            k += 1
        large = timed(store, k)
        count = store.article_count()
        store.close()
    print(f"\nGrouping through the store, per article: {small * 1e3:.2f} ms at {sample:,} stored articles, "
          f"{large * 1e3:.2f} ms at {count:,}")  # fmt: skip


def world_feeds(world: str, rows: Sequence) -> list[tuple[str, object]]:
    """(url, parsed feed) of a world: `dev` the data set's hosts as feeds, `real` the real feed files,
    `zipf` the fetch benchmark's 300 synthetic feeds × 20 items; each parsed as the workers parse them."""
    from reader.parse import parse_feed

    from .feedserver import REAL_FEEDS_DIR, Layout, TextMaker, feed_content_type, real_feed_names, rss_document

    if world == "dev":
        by_host: dict[str, list] = defaultdict(list)
        for r in rows:
            by_host[r.host].append(r)
        return [(f"http://{h}/feed.xml", parse_feed(rss(h, by_host[h]), f"http://{h}/feed.xml")) for h in sorted(by_host)]
    if world == "real":
        bodies = [(f"http://real/{n}", (REAL_FEEDS_DIR / n).read_bytes()) for n in real_feed_names(REAL_FEEDS_DIR)]
        return [(url, parse_feed(body, url, feed_content_type(body))) for url, body in bodies]
    text, layout = TextMaker(1), Layout(port=8000, hosts=100, feeds=300, items=20)
    return [(layout.feed_url(i), parse_feed(rss_document(layout, i, [text.article(i, j) for j in range(20)]).encode(),
                                            layout.feed_url(i))) for i in range(300)]  # fmt: skip


def landings_run(rows: Sequence, world: str, landing: int, seed: int = 0, repeat: int = 1) -> None:
    """Group a world through the store as the pipeline does, in landings of `landing` feeds (in a seeded
    order; the parse workers' story features given, as in `reader fetch`): the grouping's CPU seconds, and
    the stories formed (a digest of the partition, to tell two versions of the grouper apart exactly).
    `repeat`: that many times, each into a fresh store (the least and the median CPU; one digest)."""
    import random
    import statistics

    feeds = world_feeds(world, rows)
    order = list(range(len(feeds)))
    random.Random(seed).shuffle(order)
    runs = [_landings_once(feeds, order, landing) for _ in range(repeat)]
    cpus, found, rows_digest = sorted(cpu for cpu, _found, _rows in runs), runs[0][1], runs[0][2]
    parts = _partition(found)
    digest = _digest(parts)
    if any(_digest(_partition(again)) != digest or rows != rows_digest for _cpu, again, rows in runs[1:]):
        raise SystemExit("the same world in the same order formed different stories")
    cpu = cpus[0]
    spread = f" (least of {repeat}; median {statistics.median(cpus):.3f})" if repeat > 1 else ""
    print(f"\n{world}: {len(found)} articles grouped through the store in landings of {landing} feeds (seed {seed}): "
          f"grouping {cpu:.3f} CPU-s{spread} ({cpu / len(found) * 1e6:.0f} µs per article); {len(parts)} stories, "
          f"{sum(len(m) > 1 for m in parts)} of several articles; stories digest {digest}, rows digest "
          f"{rows_digest}")  # fmt: skip
    if world == "dev":
        from .bench_stories import _prf, bcubed

        label = {r.url: r.story for r in rows}
        scored = [(story_id, label[link]) for _id, link, story_id in found if link in label]
        print(f"B-cubed P / R / F1 {_prf(bcubed([s for s, _ in scored], [g for _, g in scored]))} "
              f"({len(scored)} scored)")  # fmt: skip


def _landings_once(feeds: Sequence, order: Sequence[int], landing: int) -> tuple[float, list[tuple], str]:
    """One grouping of the world into a fresh store: its CPU seconds, (article id, link, story id) rows, and
    the digest of every row grouping wrote (`_rows_digest`)."""
    from reader import pool_tasks
    from reader.ingest import group_stories
    from reader.store import Store
    from reader.store.stories import StoryMemo
    from reader.urls import canonical_url

    cpu, memo = 0.0, StoryMemo()  # (one run: the pipeline keeps what its passes read)
    with tempfile.TemporaryDirectory(prefix="bench-stories-landings-") as tmp:
        store = Store(Path(tmp) / "reader.sqlite")
        ids = [store.add_feed(url)[0].id for url, _parsed in feeds]
        for k in range(0, len(order), landing):
            known = {}
            for i in order[k : k + landing]:
                parsed = feeds[i][1]
                store.upsert_articles(ids[i], parsed.articles, fulltext=False,
                                      canonical={a.link: canonical_url(a.link) for a in parsed.articles if a.link})
                known.update(pool_tasks.story_features(parsed))
            start = time.thread_time()
            group_stories(store, known=known, memo=memo)
            cpu += time.thread_time() - start
        found = store._conn().execute("SELECT id, link, story_id FROM articles ORDER BY id").fetchall()
        rows = _rows_digest(store._conn())
        store.close()
    return cpu, found, rows


# What grouping writes: two versions of the grouper that write the same rows made the same decisions.
_GROUPING_ROWS = ["SELECT id, story_id, story_reason FROM articles ORDER BY id", "SELECT * FROM stories ORDER BY id",
                  "SELECT * FROM story_terms ORDER BY term, story_id", "SELECT * FROM story_df ORDER BY term",
                  "SELECT * FROM story_aliases ORDER BY old_id",
                  "SELECT key, value FROM meta WHERE key LIKE 'story%' ORDER BY key"]  # fmt: skip
_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d)?")


def _rows_digest(conn) -> str:
    """A digest of every row grouping wrote (articles' stories and reasons, stories with their centroids,
    keys, term counts, aliases, the meta counts), floats exactly; dates within a week of now masked (an
    undated article is dated when it is stored)."""
    import hashlib

    now = datetime.now(UTC)

    def recent(match: re.Match) -> str:
        when = datetime.fromisoformat(match.group(0))
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        return "recent" if abs(when - now) < timedelta(days=7) else match.group(0)

    def exact(value: object) -> object:
        if isinstance(value, float):
            return value.hex()
        return _DATE.sub(recent, value) if isinstance(value, str) else value

    digest = hashlib.sha256()
    for query in _GROUPING_ROWS:
        for row in conn.execute(query):
            digest.update(repr(tuple(map(exact, row))).encode())
    return digest.hexdigest()[:16]


def _partition(found: Sequence[tuple]) -> list[list[str]]:
    """The stories formed, as sorted lists of their articles (link#id), sorted."""
    members: dict[int, list[str]] = defaultdict(list)
    for article_id, link, story_id in found:
        members[story_id].append(f"{link}#{article_id}")
    return sorted(sorted(m) for m in members.values())


def _digest(parts: list) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]
