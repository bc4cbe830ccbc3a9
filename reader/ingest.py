"""The pipeline: fetch → parse → store → full text → stories → index → alerts (→ health). One copy, three front ends.

It never prints or draws: front ends follow it through progress events and its report.

Fetching is async over one shared HTTP client; parsing, page extraction and
the index's analysis are CPU-bound and run in a process pool using both cores.
Each feed flows through on its own: as soon as its new articles are stored,
their pages are fetched; once those are in, the feed's batch *lands*: grouped
into stories, indexed, matched against the rules and its alerts sent, while
other feeds are still being fetched. So a slow feed never holds a fast one's
alerts, and indexing overlaps fetching. Landings happen one at a time; what
arrives during one lands with the next. Grouping runs beside them (a grouper
pass in a thread, or for a large run in a process of its own,
`reader.grouping_process`; a landing's indexing in the workers), and a landing
matches only what is both grouped and indexed. At the end everything left is
grouped and indexed (the store is the record, the index derived from it).

`ingest` reports progress through a callback with the events below and
returns an `IngestReport`; it never prints. The caller holds the writer lock
(`run_ingest` does it for you).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from datetime import timedelta
from typing import TYPE_CHECKING

from . import pool_tasks
from .alerts import DeliveryReport, MatchReport, deliver_due, match_new_articles
from .config import Settings
from .filemodes import tighten
from .grouping_process import GroupingProcess
from .health import INDEX_DAMAGED, WatchReport, record_event, watch
from .lock import WriterLock
from .models import Feed, FetchStatus, FulltextJob, FulltextState, IndexRow
from .process_pool import WorkerPool
from .stories import Grouper, Tuning, features_of
from .store import Store, StoreWriteError, utcnow
from .store.stories import StoryMemo
from .urls import canonical_url

from .index.errors import IndexDamaged

if TYPE_CHECKING:  # Whoosh loads only when the index is opened; aiohttp when a run starts (`run`, not in a
    # grouping process, which imports this module for `group_stories`)
    from .fetch import FetchResult, Fetcher
    from .index import SearchIndex

log = logging.getLogger(__name__)
PARALLEL_INDEX_ROWS = 2000  # fewer pending rows are indexed here; spawning workers would cost more
# Seconds from one landing's start to the next: each has fixed costs (rules, stories, an index commit), so
# feeds arriving close together land together; a fast feed's alerts still go out within seconds.
LANDING_GAP = 1.0
# Seconds from one grouping pass's start to the next: each pass has fixed costs (its lookups, a transaction;
# what the run's earlier passes read is kept, `_Run.story_memo`), so articles stored close together group together.
GROUPING_GAP = 2.0
BACKLOG_SLICE = 5000  # articles per commit of a large catch-up (a rebuild), so other writes can go between
# A run with worker processes groups in a process of its own when it reads this many feeds for the first time
# (an import, a first run) or finds this many articles waiting for their story: grouping is then no longer the
# main process's CPU (which fetches and stores) and runs beside it. Smaller runs group here (a process costs
# its start, ~0.2 CPU-s).
GROUPING_PROCESS_FEEDS = 10
GROUPING_PROCESS_ARTICLES = 1000

# -- progress events ----------------------------------------------------------------


@dataclass(frozen=True)
class FeedOutcome:
    feed_id: int
    title: str
    url: str
    status: FetchStatus
    new: int = 0
    updated: int = 0
    error: str | None = None
    moved_to: str | None = None  # the feed's new URL after a permanent redirect


@dataclass(frozen=True)
class FeedsStarted:
    total: int


@dataclass(frozen=True)
class FeedDone:
    outcome: FeedOutcome
    done: int
    total: int


@dataclass(frozen=True)
class PagesProgress:
    done: int
    total: int


@dataclass(frozen=True)
class IndexProgress:
    done: int
    total: int


Event = FeedsStarted | FeedDone | PagesProgress | IndexProgress
ProgressCallback = Callable[[Event], None]


@dataclass
class PageStats:
    fetched: int = 0  # pages downloaded
    used: int = 0  # pages whose extraction replaced the feed's text
    fallback: int = 0  # pages that gave less than the feed: feed text kept
    failed: int = 0  # fetch or extraction failed: feed text kept


@dataclass
class IngestReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)
    pages: PageStats = field(default_factory=PageStats)
    indexed: int = 0
    grouped: int = 0  # articles given their story
    unchanged: int = 0  # entries of feeds read again whose raw fields were their articles' (not converted)
    timings: dict[str, float] = field(default_factory=dict)  # seconds by stage
    alerts: MatchReport = field(default_factory=MatchReport)  # the new batch matched against the rules
    delivery: DeliveryReport = field(default_factory=DeliveryReport)  # notifications sent after it
    health: WatchReport = field(default_factory=WatchReport)  # health alerts raised and recovered after it
    landings: int = 0  # batches landed while feeds were still arriving (the final one not counted)
    backlog: int = 0  # articles left to index (with defer_backlog): the caller runs index_backlog

    @property
    def errors(self) -> list[FeedOutcome]:
        return [o for o in self.outcomes if o.status in (FetchStatus.ERROR, FetchStatus.GONE)]


# -- the process pool ---------------------------------------------------------------


_STAGE_WORDS = {"parse": "parsing", "extract": "extraction"}


@contextmanager
def worker_pool(workers: int = 2, pool: WorkerPool | None = None):
    """A process pool for parsing and extraction (see reader.process_pool); workers start on the first task.
    `pool`: one the caller made (and maybe started, `pool_tasks.start_for`), shut down here likewise."""
    pool = pool or WorkerPool(workers)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -- the pipeline -------------------------------------------------------------------


class _Gathered:
    """`await gathered(item)` hands `item` to `write(items)`, run in a thread, and returns once it is written.
    What arrives while one write runs goes in the next: feeds finishing together (a fetch's hundreds of
    304s) cost one thread hop and one transaction between them, not one each."""

    def __init__(self, write: Callable[[list], None]):
        self._write = write
        self._waiting: list[tuple[object, asyncio.Future]] = []
        self._writer: asyncio.Task | None = None

    async def __call__(self, item: object) -> None:
        written = asyncio.get_running_loop().create_future()
        self._waiting.append((item, written))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        await written

    async def _drain(self) -> None:
        batch: list[tuple[object, asyncio.Future]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await asyncio.to_thread(self._write, [item for item, _ in batch])
                except Exception as exc:  # (StoreWriteError): each waiting caller sees it
                    _settle(batch, exc)
                else:
                    _settle(batch, None)
        except BaseException:  # cancelled: so are the callers still waiting
            for _, written in batch + self._waiting:
                written.cancel()
            raise
        finally:
            self._writer = None


def _settle(batch: list[tuple[object, asyncio.Future]], error: Exception | None) -> None:
    for _, written in batch:
        if not written.done():
            written.set_result(None) if error is None else written.set_exception(error)


class _Run:
    """State of one ingest run, shared by the per-feed tasks."""

    def __init__(self, settings: Settings, store: Store, index: SearchIndex, pool: Executor, fulltext: bool,
                 progress: ProgressCallback | None, defer_backlog: bool):  # fmt: skip
        self.settings = settings
        self.store = store
        self.index = index
        self.pool = pool
        self.defer_backlog = defer_backlog
        self.landed = asyncio.Event()  # a feed's articles (and their pages) are stored: a batch to land
        self.to_group = asyncio.Event()  # likewise: articles to give their story
        # Held while grouping and while matching: a story merged between two of matching's reads would alert twice.
        self.stories = asyncio.Lock()
        self.match_after_grouping = False  # a landing left its matching to the grouping pass under way
        self.closing = False  # every feed and page is done: the lander stops; the final landing follows
        self.fulltext = fulltext and settings.fetch.fulltext
        self.progress = progress or (lambda event: None)
        self.report = IngestReport()
        self.page_tasks: list[asyncio.Task] = []
        self.pages_total = 0
        self.pages_done = 0
        self.cpu = {"parse": 0.0, "extract": 0.0}
        self.story_features: dict[bytes, bytes] = {}  # made by the parse workers, for the grouper (`features_of`)
        self.story_memo = StoryMemo()  # what the grouping passes read of the store's story tables
        self.grouping: GroupingProcess | None = None  # the process making a large run's grouping passes
        self.grouping_broke = False  # it died: the passes left are made here
        self.new_feeds = 0  # feeds the run reads for the first time
        self.fetcher: Fetcher | None = None  # set while the run's HTTP client is open
        self._record = _Gathered(store.record_fetches)  # feeds' outcomes, many to a transaction

    async def run_in_pool(self, stage: str, fn, *args):
        """Run a CPU-bound step in the process pool: (result, error), adding its CPU time to the stage.

        A worker that died (ended by its CPU limit inside C code) takes the tasks it shared the pool
        with down too: each is tried once more on new workers; the one that kills them twice fails alone.
        """
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            try:
                limit = self.settings.fetch.max_cpu_seconds
                result, error, cpu = await loop.run_in_executor(self.pool, fn, *args, limit)
            except BrokenExecutor:  # (BrokenProcessPool: multiprocessing loads only with the workers)
                ended = self.pool.replace_if_broken() if isinstance(self.pool, WorkerPool) else None
                if attempt == 2:
                    return None, pool_tasks.worker_lost(_STAGE_WORDS[stage], len(args[0]), limit, ended)
            else:
                self.cpu[stage] += cpu
                return result, error

    # -- one feed --

    async def record(self, feed_id: int, **outcome) -> None:
        """Store the outcome of one feed's refresh (`Store.record_fetch`), in a transaction shared with
        the feeds that finish meanwhile."""
        await self._record((feed_id, outcome))

    async def refresh_feed(self, feed: Feed) -> FeedOutcome:
        """Refresh one feed; whatever goes wrong ends as this feed's error, never the run's."""
        try:
            return await self._refresh_feed(feed)
        except StoreWriteError:  # a full disk fails every feed alike: the run stops, saying so once
            raise
        except Exception as exc:  # noqa: BLE001 - a bug or a surprise must not stop the other feeds
            log.exception("refreshing %s failed", feed.url)
            error = f"internal error: {type(exc).__name__}: {exc}"[:200]
            await asyncio.to_thread(self.store.record_fetch, feed.id, status=FetchStatus.ERROR, error=error,
                                    keep_validators=True)  # fmt: skip
            return FeedOutcome(feed.id, feed.display_title, feed.url, FetchStatus.ERROR, error=error)

    async def _refresh_feed(self, feed: Feed) -> FeedOutcome:
        now = utcnow()
        if feed.next_fetch_after and feed.next_fetch_after > now:
            wait_until = feed.next_fetch_after.strftime("%H:%M UTC")
            return FeedOutcome(feed.id, feed.display_title, feed.url, FetchStatus.DEFERRED,
                               error=f"the server asked us to wait until {wait_until}")  # fmt: skip
        # Not decoded here: a body's gzip is undone by the worker that parses it (`pool_tasks.parse`).
        result = await self.fetcher.get(feed.url, etag=feed.etag, last_modified=feed.last_modified, decoded=False)
        moved_to = None
        if result.permanent_url and result.permanent_url != feed.url:
            if await asyncio.to_thread(self.store.set_feed_url, feed.id, result.permanent_url):
                moved_to = result.permanent_url
        outcome = await self._store_result(feed, result)
        return FeedOutcome(**{**outcome.__dict__, "moved_to": moved_to})

    async def _store_result(self, feed: Feed, result: FetchResult) -> FeedOutcome:
        def done(status: str, error: str | None = None, **fields) -> FeedOutcome:
            return FeedOutcome(feed.id, fields.pop("title", None) or feed.display_title, feed.url, status,
                               error=error, **fields)  # fmt: skip

        # Every outcome below stores the feed's Cache-Control max-age too (the daemon's schedule uses it).
        record = partial(self.record, feed.id, max_age_seconds=result.max_age)
        if result.gone:
            await record(status=FetchStatus.GONE, error=result.error, keep_validators=True)
            return done(FetchStatus.GONE, result.error)
        if result.not_modified:
            await record(status=FetchStatus.NOT_MODIFIED, keep_validators=True)
            return done(FetchStatus.NOT_MODIFIED)
        if not result.ok:
            wait = timedelta(seconds=result.retry_after) if result.retry_after else None
            await record(status=FetchStatus.ERROR, error=result.error or f"HTTP {result.status}", keep_validators=True,
                         next_fetch_after=utcnow() + wait if wait else None)  # fmt: skip
            return done(FetchStatus.ERROR, result.error or f"HTTP {result.status}")
        body_hash = hashlib.sha256(result.body).hexdigest()  # (of the bytes as sent: still gzipped, if they were)
        if body_hash == feed.body_hash:  # same bytes as last time: nothing to parse
            await record(status=FetchStatus.NOT_MODIFIED, etag=result.etag, last_modified=result.last_modified)
            return done(FetchStatus.NOT_MODIFIED)
        want_pages = self.fulltext and feed.fulltext
        # (A feed read before: the worker converts only the entries whose raw fields changed, and makes story
        # features only for articles not grouped yet.)
        most = self.settings.fetch.max_items_per_feed
        grouped, known = (await asyncio.to_thread(self.store.known_entries, feed.id, most)
                          if feed.body_hash else (frozenset(), {}))  # fmt: skip
        parse = partial(pool_tasks.parse, words=not want_pages, grouped=grouped, known=known,
                        encoding=result.content_encoding, max_bytes=self.settings.fetch.max_feed_bytes)  # fmt: skip
        found, error = await self.run_in_pool("parse", parse, result.body, result.final_url, result.content_type, most)
        if found is None:
            await record(status=FetchStatus.ERROR, error=error, keep_validators=True)
            return done(FetchStatus.ERROR, error)
        parsed, features, links = found  # (the newest `max_items_per_feed` entries; `links`: canonical URLs)
        warning = parsed.warning or None
        self.take_features(features)
        upserted = await asyncio.to_thread(
            self.store.upsert_articles, feed.id, parsed.articles, fulltext=want_pages, canonical=links
        )
        await record(status=FetchStatus.OK, error=warning, etag=result.etag, last_modified=result.last_modified,
                     body_hash=body_hash, title=parsed.title or None, site_url=parsed.site_url or None,
                     ttl_seconds=parsed.ttl_seconds, new_articles=len(upserted.new_ids))  # fmt: skip
        self.report.new_ids += upserted.new_ids
        self.report.updated_ids += upserted.updated_ids
        self.report.unchanged += sum(a.unchanged for a in parsed.articles)
        if want_pages and upserted.new_ids:
            jobs = await asyncio.to_thread(self.store.fulltext_jobs, upserted.new_ids)
            self.land_after(self.queue_pages(jobs))
        elif upserted.new_ids or upserted.updated_ids:
            self.arrived()
        return done(FetchStatus.OK, warning, title=parsed.title,
                    new=len(upserted.new_ids), updated=len(upserted.updated_ids))  # fmt: skip

    # -- article pages --

    def queue_pages(self, jobs: Sequence[FulltextJob]) -> list[asyncio.Task]:
        self.pages_total += len(jobs)
        self.progress(PagesProgress(self.pages_done, self.pages_total))
        tasks = [asyncio.create_task(self.fetch_page(job)) for job in jobs]
        self.page_tasks += tasks
        return tasks

    def land_after(self, page_tasks: list[asyncio.Task]) -> None:
        """Once these pages are in, their articles are a batch to land."""

        async def wait_then_land() -> None:
            await asyncio.gather(*page_tasks)
            self.arrived()

        self.page_tasks.append(asyncio.create_task(wait_then_land()))

    async def fetch_page(self, job: FulltextJob) -> None:
        try:
            await self._fetch_page(job)
        except StoreWriteError:
            raise
        except Exception:  # noqa: BLE001 - one page must not stop the run; the feed's text stays
            log.exception("fetching the page of article %s failed", job.article_id)
            self.report.pages.failed += 1
        finally:
            self.pages_done += 1
            self.progress(PagesProgress(self.pages_done, self.pages_total))

    async def _fetch_page(self, job: FulltextJob) -> None:
        from .fetch import PAGE_ACCEPT, is_private_host

        stats, store = self.report.pages, self.store
        result = await self.fetcher.get(
            job.link, max_bytes=self.settings.fetch.max_page_bytes, accept=PAGE_ACCEPT,
            allow_private=is_private_host(job.feed_url), decoded=False,
        )  # fmt: skip
        if not result.ok:
            stats.failed += 1
            await asyncio.to_thread(store.set_fulltext, job.article_id, state=FulltextState.FAILED, error=result.error)
            return
        stats.fetched += 1
        canonical = canonical_url(result.final_url)
        extract = partial(pool_tasks.extract, encoding=result.content_encoding,
                          max_bytes=self.settings.fetch.max_page_bytes)  # fmt: skip
        extracted, error = await self.run_in_pool("extract", extract, result.body, result.final_url)
        if extracted is None:
            stats.failed += 1
            await asyncio.to_thread(store.set_fulltext, job.article_id, state=FulltextState.FAILED, error=error,
                                    canonical_url=canonical)  # fmt: skip
        elif len(extracted[0]) < job.feed_text_len:
            stats.fallback += 1
            await asyncio.to_thread(store.set_fulltext, job.article_id, state=FulltextState.DONE,
                                    error="the page held less text than the feed", canonical_url=canonical)  # fmt: skip
        else:
            stats.used += 1
            await asyncio.to_thread(store.set_fulltext, job.article_id, state=FulltextState.DONE, text=extracted[0],
                                    markdown=extracted[1], canonical_url=canonical)  # fmt: skip

    # -- landing: each feed's batch grouped, indexed, matched and sent as it arrives --

    def arrived(self) -> None:
        """Articles are stored (with their pages): to group, and a batch to land."""
        self.to_group.set()
        self.landed.set()

    async def paced(self, event: asyncio.Event, step: Callable[[], Awaitable[None]],
                    gap: float = LANDING_GAP) -> None:
        """`await step()` each time `event` is set, until the run closes: one at a time, at most one per
        `gap` seconds, so that whatever arrives meanwhile goes in together with the next (each has fixed costs)."""
        while not self.closing:
            await event.wait()
            event.clear()
            if self.closing:
                return
            started = time.monotonic()
            await step()
            while not self.closing and time.monotonic() - started < gap:  # let the next batch grow
                await asyncio.sleep(0.05)

    async def lander(self) -> None:
        """Index and match batches as they arrive (so a slow feed never holds a fast one's alerts)."""

        async def land_one() -> None:
            await self.land()
            self.report.landings += 1

        await self.paced(self.landed, land_one)

    async def grouper(self) -> None:
        """Give stored articles their story as they arrive, beside the lander: grouping is this process's
        CPU (or its own process's), indexing mostly the workers', and neither reads the other. A pass lasts
        until it has caught up with what is stored; then what it grouped is a batch to land (to match)."""

        async def group_one() -> None:
            if await self.group(final=False) or self.match_after_grouping:
                self.match_after_grouping = False
                self.landed.set()

        await self.paced(self.to_group, group_one, GROUPING_GAP)

    async def group(self, final: bool) -> int:
        """Group what is stored (`final`: also what waits for its page), never while matching; how many.
        In a large run, in a process of its own (`group_there`), else in a thread here."""
        async with self.stories:
            if self.grouping_process() is not None and (grouped := await self.group_there(final)) is not None:
                return grouped
            return await asyncio.to_thread(self._group, final)

    def grouping_process(self) -> GroupingProcess | None:
        """The run's grouping process, started for a run reading many feeds for the first time or once
        enough articles wait for their story (and only with worker processes: a pool of threads standing in
        for them groups here). (A pass lasts until it has caught up: the first pass's choice holds.)"""
        waiting = len(self.report.new_ids) - self.report.grouped
        if (self.grouping is None and not self.grouping_broke and isinstance(self.pool, WorkerPool)
                and (self.new_feeds >= GROUPING_PROCESS_FEEDS or waiting >= GROUPING_PROCESS_ARTICLES)):  # fmt: skip
            self.grouping = GroupingProcess(self.store.path)
            self.story_memo.clear()  # the process writes the stories from now on: a pass here would read afresh
            self.take_features({})  # (those made so far go to it)
        return self.grouping

    def take_features(self, features: dict[bytes, bytes]) -> None:
        """Story features from a parse worker, for the grouper: to the grouping process if there is one."""
        self.story_features.update(features)
        if self.grouping is not None:
            self.grouping.forward(self.story_features)
            self.story_features = {}

    def end_grouping(self) -> None:
        """End the grouping process, if the run started one (idle at the end of a run; stopped, it may be
        in a pass: each chunk of a pass is saved in a transaction of its own, so none is left half done)."""
        if self.grouping is not None:
            self.report.timings["stories_start_cpu"] = self.grouping.start_cpu()
            self.grouping.close()
            self.grouping = None

    async def group_there(self, final: bool) -> int | None:
        """A pass in the grouping process; None if the process died (its passes' chunks are saved, and the
        features forwarded to it gone with it: the words are in the store, and a pass here groups the rest)."""
        start = time.perf_counter()
        try:
            grouped, cpu = await asyncio.wrap_future(self.grouping.submit(final))
        except BrokenExecutor:  # (the OOM killer)
            log.warning("the grouping process died; the run groups its articles in the main process")
            self.grouping_broke = True
            self.end_grouping()
            return None
        self.report.grouped += grouped
        self._time("stories", start)
        self.report.timings["stories_cpu"] = self.report.timings.get("stories_cpu", 0.0) + cpu
        return grouped

    async def land(self, final: bool = False, last_pass: Awaitable[int] | None = None) -> None:
        """Index what is stored, match what is ready and send the alerts that are due.

        Matching takes only articles both indexed and grouped (`articles_to_match`); while the grouper is
        at work it waits, and the grouper's pass, once done, is a batch to land. `final`: the end of the
        run, where everything left is grouped (`last_pass`, under way already, or a pass made here) and
        indexed side by side (with progress events), then matched, and the deliveries that fell due
        meanwhile go out too. Each step runs in a thread: the event loop keeps fetching meanwhile.
        """
        if final:
            await asyncio.gather(last_pass or self.group(final=True), asyncio.to_thread(self._index_timed, True))
        else:
            await asyncio.to_thread(self._index_timed, False)
            if self.stories.locked():  # grouping: matched after it (by the landing its pass asks for)
                self.match_after_grouping = True
                return
        async with self.stories:
            matched = await asyncio.to_thread(self._match)
        if final or matched.new_alerts or matched.joined:
            start = time.perf_counter()
            _add_delivery(self.report.delivery, await deliver_due(self.settings, self.store))
            self._time("deliver", start)

    def _group(self, final: bool) -> int:
        start, cpu = time.perf_counter(), time.thread_time()
        grouped = group_stories(self.store, ready=not final, known=self.story_features, memo=self.story_memo)
        self.report.grouped += grouped
        self._time("stories", start)
        self.report.timings["stories_cpu"] = self.report.timings.get("stories_cpu", 0.0) + time.thread_time() - cpu
        return grouped

    def _index_timed(self, final: bool) -> None:
        start = time.perf_counter()
        self.report.indexed += self._index(final)
        self._time("index", start)

    def _match(self) -> MatchReport:
        start = time.perf_counter()
        matched = match_new_articles(self.settings, self.store, self.index, wait_for_pages=self.fulltext,
                                     pool=self.pool)  # fmt: skip
        _add_match(self.report.alerts, matched)
        self._time("match", start)
        return matched

    def _index(self, final: bool) -> int:
        """The landed articles into the index; at the end of the run, everything left (see `ingest`).
        A damaged index is rebuilt from the store (`_healing`), while the run's new articles go first."""
        store, index, report = self.store, self.index, self.report
        if final and not self.defer_backlog:
            return update_index(store, index, self.progress, pool=self.pool)

        def work() -> int:
            if store.count_to_index() <= len(report.new_ids) + len(report.updated_ids) + PARALLEL_INDEX_ROWS:
                return _index_rows(store, index, ready=not final, pool=self.pool)  # no backlog to speak of
            if not report.new_ids:  # a backlog (a rebuild) is indexed after the run; the deletions now
                return _index_rows(store, index, limit=0)
            return _index_rows(store, index, after_id=min(report.new_ids) - 1, ready=not final, pool=self.pool)

        return _healing(store, index, work)

    def _time(self, stage: str, start: float) -> None:
        self.report.timings[stage] = self.report.timings.get(stage, 0.0) + time.perf_counter() - start

    # -- the whole run --

    async def run(self, feeds: Sequence[Feed]) -> IngestReport:
        total = len(feeds)
        self.progress(FeedsStarted(total))
        started = time.perf_counter()
        for stage in ("stories", "stories_cpu", "index", "match", "deliver"):
            self.report.timings[stage] = 0.0
        self.new_feeds = pool_tasks.start_for(self.pool, feeds)  # (if the caller has not started them already)
        self.grouping_process()  # (a large first read: it starts now, beside the first fetches)
        from .fetch import Fetcher

        async with Fetcher(self.settings.fetch) as fetcher:
            self.fetcher = fetcher
            lander, grouper = asyncio.create_task(self.lander()), asyncio.create_task(self.grouper())
            last_pass: asyncio.Task | None = None
            if self.fulltext and (left := await asyncio.to_thread(self.store.fulltext_jobs)):
                self.land_after(self.queue_pages(left))  # pages left pending by an interrupted run
            feed_tasks = [asyncio.create_task(self.refresh_feed(f)) for f in feeds]
            try:
                for done, task in enumerate(asyncio.as_completed(feed_tasks), 1):
                    outcome = await task
                    self.report.outcomes.append(outcome)
                    self.progress(FeedDone(outcome, done, total))
                feeds_done = time.perf_counter()
                waited = 0
                while waited < len(self.page_tasks):  # (awaiting some may have queued more)
                    tasks, waited = self.page_tasks[waited:], len(self.page_tasks)
                    await asyncio.gather(*tasks)
                pages_done = time.perf_counter()
                self.closing = True
                self.arrived()
                # Everything is stored: the last grouping pass starts now (after the grouper's pass under way, if
                # any), beside the landing under way, not after it. It reads what the final landing's would have.
                last_pass = asyncio.create_task(self.group(final=True))
                await lander  # the landing under way, if any, ends; the final one below takes the rest
            except BaseException:  # stopped (a signal, a full disk): end what is in flight; the next run replays it
                tasks = (*feed_tasks, *self.page_tasks, lander, grouper, *([last_pass] if last_pass else []))
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                self.end_grouping()
                raise
        try:
            await self.land(final=True, last_pass=last_pass)  # (its indexing starts at once)
        finally:
            for task in (grouper, last_pass):  # (they end with their pass; still at work only if the landing failed)
                if not task.done():
                    task.cancel()
            await asyncio.gather(grouper, last_pass, return_exceptions=True)
            self.end_grouping()
        if not grouper.cancelled() and (error := grouper.exception()) is not None:  # the last pass redid its work
            log.warning("a grouping pass failed (%s: %s); the run's last pass grouped what it left",
                        type(error).__name__, error)
        timings = self.report.timings
        timings["feeds"] = feeds_done - started
        timings["pages"] = pages_done - feeds_done
        timings["parse_cpu"] = self.cpu["parse"]
        timings["extract_cpu"] = self.cpu["extract"]
        if self.defer_backlog:
            self.report.backlog = await asyncio.to_thread(self.store.count_to_index)
        return self.report


def _add_match(total: MatchReport, batch: MatchReport) -> None:
    """One run's match report out of its batches'."""
    total.articles += batch.articles
    total.rules = max(total.rules, batch.rules)
    total.searched = max(total.searched, batch.searched)
    total.new_alerts += batch.new_alerts
    total.joined += batch.joined
    total.problems = batch.problems or total.problems
    total.failed.update(batch.failed)


def _add_delivery(total: DeliveryReport, batch: DeliveryReport) -> None:
    total.sent += batch.sent
    total.failed += batch.failed
    total.held += batch.held
    total.given_up += batch.given_up
    total.errors += batch.errors


async def ingest(
    settings: Settings,
    store: Store,
    index: SearchIndex,
    pool: Executor,
    *,
    feed_ids: Sequence[int] | None = None,
    fulltext: bool = True,
    progress: ProgressCallback | None = None,
    defer_backlog: bool = False,
) -> IngestReport:
    """Refresh the given feeds (default: every enabled feed), store what is new, index it,
    match it against the rules and send the alerts that are due.

    Each feed's new articles land as a batch as soon as they are stored (and
    their pages fetched): indexed, matched, and their alerts sent, while the
    other feeds are still being fetched; batches that arrive while one lands
    land together next. When the command returns, everything is indexed.

    With `defer_backlog`, when many more than this run's articles wait to be
    indexed (a damaged index being rebuilt, a new one), only the run's new
    articles are indexed before matching, so their alerts do not wait:
    `report.backlog` says how many are left for the caller's `index_backlog`.

    Cancelling it (a signal) stops what is in flight at once; nothing is lost:
    feeds not fetched are still due, and stored articles not yet indexed,
    matched or given their page are taken up by the next run.
    """
    chosen = [f for f in store.feeds() if f.enabled or (feed_ids is not None and f.id in feed_ids)]
    if feed_ids is not None:
        chosen = [f for f in chosen if f.id in set(feed_ids)]
    run = _Run(settings, store, index, pool, fulltext, progress, defer_backlog)
    try:
        report = await run.run(chosen)
    finally:
        run.end_grouping()  # (however it ended: cancelled before its fetches began, say)
    try:
        report.health = await watch(settings, store)
    except Exception:  # noqa: BLE001 - the alerts are out already; the watcher tries again after the next refresh
        log.exception("the health watch failed")
    return report


def group_stories(store: Store, tuning: Tuning = Tuning(), chunk: int = 2000, *, ready: bool = False,
                  known: dict[bytes, bytes] | None = None, memo: StoryMemo | None = None) -> int:  # fmt: skip
    """Give every article still without a story its story (reader.stories), oldest first;
    `ready`: only those not waiting for their page (their text is not final yet); `known`: articles'
    features made already (by the workers that parsed their feeds; taken out as used), so the words are read once;
    `memo`: the term counts and stories' keys read by the run's earlier passes (`StoryMemo`), read only once.

    A chunk at a time: its terms' counts and the open stories sharing them
    are loaded, the grouper runs, the stories sharing the keys of those it
    changed are loaded and the ones the evidence ties merge (`Grouper.settle`),
    and the outcome is saved in one transaction, so an interrupted run leaves
    the rest for the next one and never half a chunk.
    """
    memo = memo or StoryMemo()
    try:
        return _group_chunks(store, tuning, chunk, ready, known, memo)
    except BaseException:  # a read may have failed after the memo noted it as read: the next pass reads afresh
        memo.clear()
        raise


def _group_chunks(store: Store, tuning: Tuning, chunk: int, ready: bool, known: dict[bytes, bytes] | None,
                  memo: StoryMemo) -> int:  # fmt: skip
    done = 0
    while batch := store.articles_to_group(limit=chunk, ready=ready):
        found = features_of(batch, tuning, known)
        corpus = store.story_corpus(set().union(*[f.terms for f in found.values()]), memo)
        loaded = dict(corpus.df)
        grouper = Grouper(corpus, next_id=store.next_story_id(), tuning=tuning)
        keys = grouper.count(batch, found)
        since = min(a.date for a in batch) - tuning.window
        opened, crowded = store.open_stories(keys, [a.link for a in batch], since, df=corpus.df,
                                             crowd=tuning.max_key_stories, shared=tuning.min_shared,
                                             most=tuning.max_candidates, memo=memo)  # fmt: skip
        stored_keys = {p.id: set(p.keys) for p in opened}  # (in the index already)
        grouper.open(opened, crowded)
        decisions = grouper.group(batch)
        since = min(grouper.stories[i].first_seen for i in grouper.changed) - tuning.window
        grouper.open(*store.open_stories(grouper.probes(), [], since, df=corpus.df, crowd=tuning.max_key_stories,
                                         shared=tuning.min_shared, most=tuning.max_candidates,
                                         loaded=grouper.stories.keys(), memo=memo))  # fmt: skip
        grouper.settle()
        newest = max(a.date for a in batch)
        forget = min(utcnow(), max(newest, store.newest_story_seen() or newest)) - 2 * tuning.window
        changed = [grouper.stories[i] for i in sorted(grouper.changed)]
        changed += [grouper.gone[i] for i in sorted(grouper.gone)]  # their rows say where they went
        store.save_stories(decisions, changed, grouper.corpus, loaded, forget_before=forget, merges=grouper.merges,
                           stored_keys=stored_keys, memo=memo)  # fmt: skip
        done += len(batch)
    return done


def update_index(store: Store, index: SearchIndex, progress: ProgressCallback | None = None, *,
                 pool: Executor | None = None) -> int:  # fmt: skip
    """Bring the index up to date with the store: drop deleted articles, (re)index changed ones.

    A damaged index is rebuilt from the store first (`repair_index`). The
    pending rows stream through one `add`, so a catch-up is built by the
    index's worker processes in parallel; a large one (a rebuild) goes
    through `index_backlog`, a slice per commit.
    """
    def work() -> int:
        if store.count_to_index() > BACKLOG_SLICE:
            _index_rows(store, index, limit=0)  # the deletions
            return index_backlog(store, index, progress, pool=pool)
        return _index_rows(store, index, progress, pool=pool)

    return _healing(store, index, work)


def index_backlog(store: Store, index: SearchIndex, progress: ProgressCallback | None = None,
                  *, stop: Callable[[], bool] = lambda: False, pool: Executor | None = None) -> int:  # fmt: skip
    """Index every article waiting, BACKLOG_SLICE per commit, until none is left or `stop()`; analysed
    in `pool` if given (the run's workers), else in workers of the index's own.

    Writes in between (a daemon cycle indexing its new articles) wait for one
    slice at most. Progress is noted in the index directory, for searches made
    meanwhile by other processes (`reader.index.repair.rebuild_progress`).
    """
    from .index.repair import note_rebuild

    total, done = store.count_to_index(), 0
    try:
        while done < total and not stop():
            indexed = _index_rows(store, index, limit=BACKLOG_SLICE, pool=pool)
            if not indexed:
                break
            done = min(done + indexed, total)
            note_rebuild(index.path, done, total)
            if progress:
                progress(IndexProgress(done, total))
    finally:
        note_rebuild(index.path, None)
    return done


def _healing(store: Store, index: SearchIndex, work: Callable[[], int]) -> int:
    """`work()` after a look at the index's files; if the index is damaged, found then or while
    writing, it is rebuilt from the store (`repair_index`) and `work` runs once more.
    An index not opened yet with nothing to do stays closed (see `IndexOnDemand`)."""
    if isinstance(index, IndexOnDemand) and index.idle():
        return 0
    try:
        _check(store, index)
        return work()
    except IndexDamaged as exc:
        repair_index(store, index, exc)
    return work()


def repair_index(store: Store, index: SearchIndex, problem: IndexDamaged | str) -> None:
    """Replace a damaged index with an empty one and mark every article to be indexed again
    (the store is the record). Raised as a health condition, which logs it in one line; the
    health watch sees it recovered once nothing waits to be indexed."""
    index.reset()
    store.mark_all_unindexed()
    record_event(store, INDEX_DAMAGED, "index", f"the search index was damaged ({problem}); the reader is "
                 "rebuilding it from the database, and alerts go on meanwhile")  # fmt: skip


def _check(store: Store, index: SearchIndex) -> None:
    """IndexDamaged if a file is wrong or the index holds fewer documents than the store
    says are indexed (another process started it afresh, or files were replaced)."""
    index.check()
    indexed = store.article_count() - store.count_to_index()  # (read before the index: it only grows meanwhile)
    documents = index.doc_count()
    if documents < indexed:
        raise IndexDamaged(f"it holds {documents:,} documents, and {indexed:,} articles were indexed")


def _index_rows(store: Store, index: SearchIndex, progress: ProgressCallback | None = None, *,
                after_id: int = 0, limit: int | None = None, ready: bool = False,
                pool: Executor | None = None) -> int:  # fmt: skip
    """Drop deleted articles, then index (at most `limit`) pending ones with ids above `after_id`
    (`ready`: not those waiting for their page), analysed in `pool` if given."""
    deleted = store.pending_index_deletions()
    if deleted:
        index.delete(deleted)
        store.clear_index_deletions(deleted)
    total = min(store.count_to_index(), limit if limit is not None else 2**62)
    if not total:
        return 0
    done = 0

    def pending() -> Iterator[IndexRow]:
        nonlocal done
        after = after_id
        while done < total and (rows := store.articles_to_index(min(1000, total - done), after, ready=ready)):
            yield from rows
            done += len(rows)
            after = rows[-1].id
            if progress:
                progress(IndexProgress(min(done, total), total))

    # A catch-up big enough to pay for starting workers is split between them.
    chunk = -(-total // index.workers) if total >= PARALLEL_INDEX_ROWS else None
    store.mark_indexed(index.add(pending(), chunk_size=chunk, pool=pool))
    return done


def rebuild_index(store: Store, index: SearchIndex, progress: ProgressCallback | None = None) -> int:
    """Rebuild the index from scratch out of the store (whatever state its files are in)."""
    index.reset()
    store.mark_all_unindexed()
    return update_index(store, index, progress)


def open_index(settings: Settings, store: Store) -> SearchIndex:
    """The search index; a new (or format-replaced) one is marked for refilling from the store."""
    from .index import SearchIndex

    index = SearchIndex(settings.index_dir)
    if index.problem:
        repair_index(store, index, index.problem)
    elif index.created:
        store.mark_all_unindexed()
    return index


class IndexOnDemand:
    """The search index, opened (`open_index`) on first use: a run that brings nothing to index
    or match never loads Whoosh. Before it is opened, `_healing` asks `idle()` instead of checking it."""

    def __init__(self, settings: Settings, store: Store):
        self._settings, self._store, self._index = settings, store, None

    def idle(self) -> bool:
        """Not opened, nothing waits to be indexed or deleted, and its files are as the last run that
        checked them left them (else it is opened and checked: a missing one is created and refilled)."""
        from .index.files import unchanged_since_checked

        store = self._store
        return (self._index is None and not store.count_to_index() and not store.pending_index_deletions()
                and unchanged_since_checked(self._settings.index_dir, store.article_count()))  # fmt: skip

    def note_checked(self) -> None:
        """After a run that opened it: its final landing checked it (`_healing`), so note its files."""
        from .index.files import note_checked

        if self._index is not None:
            note_checked(self._settings.index_dir, self._store.article_count() - self._store.count_to_index())

    def __getattr__(self, name: str):
        if self._index is None:
            self._index = open_index(self._settings, self._store)
        return getattr(self._index, name)


@contextmanager
def writer(settings: Settings, wait: float = 0.0, *, on_demand: bool = False):
    """Hold the single-writer lock and open the store and the index for writing
    (`on_demand`: the index only when first used, see `IndexOnDemand`)."""
    lock = WriterLock(settings.lock_path)
    lock.acquire(wait=wait)
    try:
        tighten(settings)
        store = Store(settings.db_path)
        try:
            yield store, IndexOnDemand(settings, store) if on_demand else open_index(settings, store)
        finally:
            store.close()
    finally:
        lock.release()


@contextmanager
def fewer_collections(young: int = 20_000):
    """Python's cyclic garbage collector seldom, for a run: its youngest generation collected every `young`
    allocations rather than 700 (or the TUI's 2,000). A run makes few cycles but hundreds of thousands of
    objects (parsed articles, rows, features) that live a while, and each collection traced them again: 260
    collections, 0.2 CPU-s of a cold fetch of 100 real feeds, against 44 and 0.05 s. Restored after, unless
    someone (the TUI, at start-up) set thresholds of its own meanwhile."""
    thresholds = gc.get_threshold()
    ours = (max(young, thresholds[0]), *thresholds[1:])
    gc.set_threshold(*ours)
    try:
        yield
    finally:
        if gc.get_threshold() == ours:
            gc.set_threshold(*thresholds)


def run_ingest(settings: Settings, *, feed_ids: Sequence[int] | None = None, fulltext: bool = True,
               progress: ProgressCallback | None = None, wait: float = 0.0,
               pool: WorkerPool | None = None) -> IngestReport:  # fmt: skip
    """The whole pipeline, synchronously: lock, pool (`pool`: see `worker_pool`), event loop, ingest."""
    with (fewer_collections(), worker_pool(pool=pool) as pool,
          writer(settings, wait=wait, on_demand=True) as (store, index)):  # fmt: skip
        report = asyncio.run(
            ingest(settings, store, index, pool, feed_ids=feed_ids, fulltext=fulltext, progress=progress)
        )
        index.note_checked()
        return report
