"""`reader daemon`: the pipeline on a schedule, with no screen. It never repeats a pipeline step itself.

One process holds the single-writer lock for as long as it runs, so nothing
else ingests meanwhile (a second daemon is refused). Each cycle is one call of
the same `ingest` the CLI and the TUI use, over the feeds that are due: it
fetches, stores, indexes, matches and sends the alerts that are due (also,
with no feed due, the article pages and matches an interrupted run left, and
retries, digests and what quiet hours held). Between cycles it sleeps until
the next feed or delivery falls due, in short steps, so a signal is answered
at once.

A feed is due `interval` after its last fetch, where the interval is the
global one (or the feed's own, [daemon.feed_intervals]), lengthened to the
feed's RSS <ttl> or Cache-Control max-age, doubled per consecutive error,
kept within [min_interval, max_interval], and never before a Retry-After.

SIGTERM or SIGINT stops the daemon within a few seconds, whatever is in
flight: the cycle's fetches are cancelled and its workers ended, and it exits
0. Nothing is lost: the store is the record, so feeds not fetched are still
due, and articles stored but not yet indexed, matched or given their page,
the match queue and the outbox are taken up by the next cycle. A second signal
ends it at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .config import DaemonSettings, Settings
from .index import SearchIndex
from .health import record_cycle
from .ingest import IndexProgress, IngestReport, index_backlog, ingest, open_index, worker_pool
from .filemodes import tighten
from .lock import WriterLock
from .logs import setup_logging
from .models import Feed
from .process_pool import WorkerPool
from .store import Store, StoreWriteError, utcnow

log = logging.getLogger(__name__)

DUE_SLACK = timedelta(seconds=30)  # feeds due this soon join the current cycle (and cron's jitter is forgiven)
SLEEP_STEP = 0.2  # seconds: how quickly a signal is noticed while idle
RECHECK_EVERY = 10.0  # seconds: while idle, look again for new feeds, retries asked for, edited rules
MAX_ERROR_DOUBLINGS = 5  # a failing feed waits at most 2**5 intervals (within max_interval)
FAILED_CYCLE_PAUSE = timedelta(minutes=1)  # after a cycle that raised, before trying again
BACKLOG_STOP_WAIT = 3.0  # seconds a stop waits for a rebuild's slice; an uncommitted one is redone next start


# -- the schedule ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    daemon: DaemonSettings
    max_ages: dict[int, int]  # feed id -> Cache-Control max-age seconds, when the server sent one

    def interval(self, feed: Feed) -> timedelta:
        """How long after its last fetch the feed is due again."""
        d = self.daemon
        minutes = d.feed_intervals.get(feed.url, d.interval_minutes)  # numbers ≥ 1, checked by config
        seconds = max(minutes * 60, feed.ttl_seconds or 0, self.max_ages.get(feed.id, 0))
        seconds *= 2 ** min(feed.error_count, MAX_ERROR_DOUBLINGS)
        return timedelta(seconds=min(max(seconds, d.min_interval_minutes * 60), d.max_interval_minutes * 60))

    def due_at(self, feed: Feed) -> datetime | None:
        """When the feed should be refreshed next; None: now (never fetched)."""
        if feed.last_fetched_at is None:
            return None
        due = feed.last_fetched_at + self.interval(feed)
        if feed.next_fetch_after and feed.next_fetch_after > due:  # the server's Retry-After
            due = feed.next_fetch_after
        return due

    def due_feeds(self, feeds: Sequence[Feed], now: datetime) -> list[Feed]:
        return [f for f in feeds if f.enabled and ((due := self.due_at(f)) is None or due <= now + DUE_SLACK)]

    def next_due(self, feeds: Sequence[Feed]) -> datetime | None:
        dues = [self.due_at(f) for f in feeds if f.enabled]
        return utcnow() if None in dues else min(dues, default=None)


# -- the process ----------------------------------------------------------------------------


class Daemon:
    """Runs cycles until stopped (or once); holds the writer lock throughout."""

    def __init__(self, settings: Settings, *, once: bool = False):
        self.settings = settings
        self.once = once
        self.stopping = threading.Event()
        self.failed = False  # the last cycle raised
        self._backlog: threading.Thread | None = None  # indexing what a rebuild left, beside the cycles

    def run(self) -> int:
        """Raises WriterBusy if another process ingests; 0 after a clean stop, 1 if the last cycle failed."""
        lock = WriterLock(self.settings.lock_path)
        lock.acquire(wait=0, daemon=not self.once)  # a writer told so knows it need not wait for the end
        try:
            tighten(self.settings)
            self._install_signal_handlers()
            log.info("daemon started (pid %d)%s", os.getpid(), ", one cycle" if self.once else "")
            with worker_pool() as pool:
                store = Store(self.settings.db_path)
                try:
                    asyncio.run(self._loop(store, open_index(self.settings, store), pool))
                finally:
                    if self._backlog is not None:  # it stops after its current slice once `stopping` is set
                        self._backlog.join(BACKLOG_STOP_WAIT)
                    store.close()
        finally:
            lock.release()
        log.info("daemon stopped")
        return 1 if self.failed else 0

    def _install_signal_handlers(self) -> None:
        def stop(signum, _frame) -> None:
            if self.stopping.is_set():  # asked twice: stop now; the next start replays whatever was cut short
                log.warning("%s again: stopping now", signal.Signals(signum).name)
                os._exit(1)
            log.info("%s: stopping; the next start replays what is cut short", signal.Signals(signum).name)
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    async def _loop(self, store: Store, index: SearchIndex, pool: Executor) -> None:
        while not self.stopping.is_set():
            try:
                await self._cycle(store, index, pool)
            except Exception as exc:  # noqa: BLE001 - a surprise in one cycle must not end the daemon; nothing is lost
                if isinstance(exc, StoreWriteError):  # a full disk: one line, no traceback
                    log.error("%s; the next cycle replays what this one left undone", exc)
                else:
                    log.exception("the cycle failed; the next one replays what it left undone")
                self.failed = True
                pause = FAILED_CYCLE_PAUSE
            else:
                self.failed, pause = False, timedelta(0)
            if self.once:
                return
            await self._sleep(store, utcnow() + pause)

    async def _cycle(self, store: Store, index: SearchIndex, pool: Executor) -> None:
        schedule = self._schedule(store)
        feeds = schedule.due_feeds(await asyncio.to_thread(store.feeds), utcnow())
        started = time.perf_counter()
        work = asyncio.create_task(
            ingest(self.settings, store, index, pool, feed_ids=[f.id for f in feeds], defer_backlog=True)
        )
        while not work.done() and not self.stopping.is_set():
            await asyncio.wait({work}, timeout=SLEEP_STEP)
        if not work.done():  # stopped mid-cycle: nothing waits for the slowest feed or a busy worker
            work.cancel()
            if isinstance(pool, WorkerPool):
                pool.terminate()
            await asyncio.gather(work, return_exceptions=True)
            log.info("stopped mid-cycle after %.1f s; the next cycle replays what this one left undone",
                     time.perf_counter() - started)  # fmt: skip
            return
        report = work.result()
        await asyncio.to_thread(record_cycle, store)
        _log_cycle(report, time.perf_counter() - started)
        if report.backlog:
            self._index_backlog(store, index)

    def _index_backlog(self, store: Store, index: SearchIndex) -> None:
        """Index what a rebuild (or a new index) left, in a thread beside the cycles: each cycle
        indexes and matches its own new articles first. With --once, before returning."""
        if self._backlog is not None and self._backlog.is_alive():
            return

        def run() -> None:
            try:
                done = index_backlog(store, index, _log_progress, stop=self.stopping.is_set)
                log.info("the search index is up to date again (%d article(s) indexed)", done)
            except Exception:  # noqa: BLE001 - the next cycle finds what is left and starts again
                log.exception("indexing the backlog failed; the next cycle goes on with it")

        self._backlog = threading.Thread(target=run, name="index-backlog", daemon=True)
        self._backlog.start()
        if self.once:
            self._backlog.join()

    def _schedule(self, store: Store) -> Schedule:
        return Schedule(self.settings.daemon, store.feed_max_ages())

    def next_wake(self, store: Store, not_before: datetime) -> datetime | None:
        """When the next feed or delivery is due (not before `not_before`); None when nothing is scheduled."""
        times = [self._schedule(store).next_due(store.feeds()), store.next_delivery_at()]
        due = min((t for t in times if t is not None), default=None)
        return None if due is None else max(due, not_before)

    async def _sleep(self, store: Store, not_before: datetime) -> None:
        """Sleep until something is due (not before `not_before`), noticing signals within SLEEP_STEP
        and new work (a feed added, a retry asked for) within RECHECK_EVERY."""
        wake = await asyncio.to_thread(self.next_wake, store, not_before)
        if wake:
            log.info("next cycle at %s", wake.astimezone().strftime("%Y-%m-%d %H:%M:%S"))
        checked = time.monotonic()
        while not self.stopping.is_set():
            if wake is not None and wake <= utcnow():
                return
            await asyncio.sleep(SLEEP_STEP)
            if time.monotonic() - checked >= RECHECK_EVERY:
                wake, checked = await asyncio.to_thread(self.next_wake, store, not_before), time.monotonic()


def _log_progress(event) -> None:
    if isinstance(event, IndexProgress):
        log.info("rebuilding the search index: %d of %d articles", event.done, event.total)


def _log_cycle(report: IngestReport, seconds: float) -> None:
    matched, sent = report.alerts, report.delivery
    if report.outcomes:
        log.info("refreshed %d feed(s) in %.1f s: %d new article(s), %d updated, %d error(s)", len(report.outcomes),
                 seconds, len(report.new_ids), len(report.updated_ids), len(report.errors))  # fmt: skip
    for outcome in report.errors:
        log.warning("%s: %s", outcome.url, outcome.error)
    if matched.new_alerts or sent.sent or sent.failed or sent.held:
        log.info("%d new alert(s); %d message(s) sent, %d failed, %d alert(s) held for quiet hours",
                 len(matched.new_alerts), sent.sent, sent.failed, sent.held)  # fmt: skip


def run_daemon(settings: Settings, *, once: bool, level: str, log_file: Path | None) -> int:
    setup_logging(level, file=log_file)
    return Daemon(settings, once=once).run()
