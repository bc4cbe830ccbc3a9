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

Its own faults are told once through [health] notify, and once more when
over: a cycle that fails (a full disk, a damaged database), config.toml edited
into an error (SIGHUP, or an edit, reads it again; a valid one applies), a
start that fails. A database file deleted under it is written back from the
copy it holds open, as is one replaced by a file holding fewer articles (set
aside); one replaced otherwise is taken up (the copy it held saved aside):
either way it restarts on the file (exec), keeping the writer lock, told once.

SIGTERM or SIGINT stops the daemon within a few seconds, whatever is in
flight: the cycle's fetches are cancelled and its workers ended, and it exits
0. Nothing is lost: the store is the record, so feeds not fetched are still
due, and articles stored but not yet indexed, matched or given their page,
the match queue and the outbox are taken up by the next cycle. A second signal
ends it at once.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .config import ConfigError, DaemonSettings, Settings, load_settings, with_setting
from .index import SearchIndex
from .health import CONFIG_BROKEN, DAEMON_FAILING, DATABASE_SWAPPED, Troubles, record_cycle
from .ingest import IndexProgress, IngestReport, index_backlog, ingest, open_index, worker_pool
from .filemodes import tighten
from .lock import WriterLock
from .logs import redact_secrets, setup_logging
from .models import Feed, FetchStatus
from .process_pool import WorkerPool
from .store import Store, StoreWriteError, utcnow
from .store.db import article_count, checkpoint, copy
from .text import clean_line

log = logging.getLogger(__name__)

DUE_SLACK = timedelta(seconds=30)  # feeds due this soon join the current cycle (and cron's jitter is forgiven)
SLEEP_STEP = 0.2  # seconds: how quickly a signal is noticed while idle
RECHECK_EVERY = 10.0  # seconds: while idle, look again for new feeds, retries asked for, edited rules
MAX_ERROR_DOUBLINGS = 5  # a failing feed waits at most 2**5 intervals (within max_interval)
FAILED_CYCLE_PAUSE = timedelta(minutes=1)  # after a cycle that raised, before trying again
FAULT_FILE = "daemon-fault.txt"  # in the data dir: why the daemon could not start, as told to [health] notify
BACKLOG_STOP_WAIT = 3.0  # seconds a stop waits for a rebuild's slice; an uncommitted one is redone next start


# -- the schedule ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    daemon: DaemonSettings
    max_ages: dict[int, int]  # feed id -> Cache-Control max-age seconds, when the server sent one
    offline: bool = False  # every feed failed its last fetch: the network, not the feeds (no doubling)

    def interval(self, feed: Feed) -> timedelta:
        """How long after its last fetch the feed is due again."""
        d = self.daemon
        minutes = d.feed_intervals.get(feed.url, d.interval_minutes)  # numbers ≥ 1, checked by config
        seconds = max(minutes * 60, feed.ttl_seconds or 0, self.max_ages.get(feed.id, 0))
        if not self.offline:  # (offline, every feed is tried each interval: all are back within one)
            seconds *= 2 ** min(feed.error_count, MAX_ERROR_DOUBLINGS)
        return timedelta(seconds=min(max(seconds, d.min_interval_minutes * 60), d.max_interval_minutes * 60))

    def due_at(self, feed: Feed, now: datetime | None = None) -> datetime | None:
        """When the feed should be refreshed next; None: now (never fetched, or "fetched" later than `now`: the
        clock was set back, and the feed would wait out the jump as well)."""
        if feed.last_fetched_at is None or feed.last_fetched_at > (now or utcnow()) + DUE_SLACK:
            return None
        due = feed.last_fetched_at + self.interval(feed)
        if feed.next_fetch_after and feed.next_fetch_after > due:  # the server's Retry-After
            due = feed.next_fetch_after
        return due

    def due_feeds(self, feeds: Sequence[Feed], now: datetime) -> list[Feed]:
        return [f for f in feeds if f.enabled and ((due := self.due_at(f, now)) is None or due <= now + DUE_SLACK)]

    def next_due(self, feeds: Sequence[Feed]) -> datetime | None:
        now = utcnow()
        dues = [self.due_at(f, now) for f in feeds if f.enabled]
        return now if None in dues else min(dues, default=None)


# -- the process ----------------------------------------------------------------------------


class Daemon:
    """Runs cycles until stopped (or once); holds the writer lock throughout."""

    def __init__(self, settings: Settings, *, once: bool = False, interval: float | None = None):
        self.settings = settings
        self.once = once
        self.interval = interval  # --interval, kept over config.toml's reloads
        self.stopping = threading.Event()
        self.reload = threading.Event()  # SIGHUP: read config.toml and look at the schedule again now
        self.failed = False  # the last cycle raised
        self.troubles = Troubles()  # its own faults, told once through [health] notify
        self._config = _file_state(settings.settings_file)
        self._database: tuple[int, int] | None = None  # the database file it opened (device, inode)
        self._backlog: threading.Thread | None = None  # indexing what a rebuild left, beside the cycles
        self._backlog_stop = threading.Event()  # asked to stop after its slice (the database file swapped)
        self._held: sqlite3.Connection | None = None  # the database file opened at start, whatever its path holds

    def run(self) -> int:
        """Raises WriterBusy if another process ingests; 0 after a clean stop, 1 if the last cycle failed."""
        self._install_signal_handlers()  # first: SIGHUP's default would end the daemon
        lock = WriterLock(self.settings.lock_path)
        lock.acquire(wait=0, daemon=not self.once)  # a writer told so knows it need not wait for the end
        restart = False
        try:
            tighten(self.settings)
            log.info("daemon started (pid %d)%s", os.getpid(), ", one cycle" if self.once else "")
            with worker_pool() as pool:
                store, index = self._open()
                try:
                    restart = asyncio.run(self._loop(store, index, pool))
                finally:
                    if self._backlog is not None:  # it stops after its current slice once `stopping` is set
                        self._backlog.join(BACKLOG_STOP_WAIT)
                    store.close()
                    if self._held is not None:
                        self._held.close()
        finally:
            if not restart:
                lock.release()
        if restart:  # a start afresh: the new database file, checked and opened as at any start
            log.info("daemon restarting (pid %d) on the database file now at %s", os.getpid(), self.settings.db_path)
            lock.hand_over()  # held through the exec: a `reader fetch` meanwhile would make the new image exit
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # ignored until the new image's handler (exec keeps it)
            logging.shutdown()
            gc.collect()  # the worker pool's semaphores released, not reported leaked when the new image ends
            os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
        log.info("daemon stopped")
        return 1 if self.failed else 0

    def _open(self) -> tuple[Store, SearchIndex]:
        """The store and the index. What keeps them from opening (a damaged database) ends the daemon, told
        once through [health] notify: under systemd each restart fails alike, and only the first one says so
        (FAULT_FILE keeps what was told; the first cycle after it says the daemon works again)."""
        fault = self.settings.data_dir / FAULT_FILE
        try:
            store = Store(self.settings.db_path)
            try:
                self._database = _file_id(self.settings.db_path)
                self._held = store.hold()
                return store, open_index(self.settings, store)
            except BaseException:
                store.close()
                raise
        except Exception as exc:
            reason = _reason(exc)
            if _read(fault) != reason:
                self.troubles.event(DAEMON_FAILING, "Reader daemon cannot start", (
                    f"{reason}. It is not running; it says so again only if it fails otherwise"))  # fmt: skip
                try:
                    asyncio.run(self.troubles.tell(self.settings))
                except Exception:  # noqa: BLE001 - what keeps it from starting is the error to show
                    log.exception("telling [health] notify failed")
                if not self.troubles.events:  # every target has it
                    _write(fault, reason)
            raise

    def _install_signal_handlers(self) -> None:
        def stop(signum, _frame) -> None:
            if self.stopping.is_set():  # asked twice: stop now; the next start replays whatever was cut short
                log.warning("%s again: stopping now", signal.Signals(signum).name)
                os._exit(1)
            log.info("%s: stopping; the next start replays what is cut short", signal.Signals(signum).name)
            self.stopping.set()

        def hang_up(_signum, _frame) -> None:  # systemctl reload, logrotate's postrotate: never a stop
            log.info("SIGHUP: reading config.toml again")
            self.reload.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hang_up)

    async def _loop(self, store: Store, index: SearchIndex, pool: Executor) -> bool:
        """Cycles until stopped; True when the database file was swapped under it (a restart is due)."""
        while not self.stopping.is_set():
            try:
                self._read_settings()
                if not self.once and await asyncio.to_thread(self._database_swapped, store, index):
                    await self._tell()
                    if isinstance(pool, WorkerPool):
                        pool.terminate()
                    return True
                await self._cycle(store, index, pool)
            except Exception as exc:  # noqa: BLE001 - a surprise in one cycle must not end the daemon; nothing is lost
                self._cycle_failed(exc)
                pause = FAILED_CYCLE_PAUSE
            else:
                self.failed, pause = False, timedelta(0)
                self.troubles.clear(DAEMON_FAILING)
                if told := await asyncio.to_thread(_read, fault := self.settings.data_dir / FAULT_FILE):
                    self.troubles.event(DAEMON_FAILING, "Reader daemon working again",
                                        f"It starts and refreshes again (it could not start: {told})")
                    await asyncio.to_thread(fault.unlink, missing_ok=True)
            await self._tell()
            if self.once:
                return False
            try:
                await self._sleep(store, utcnow() + pause)
            except Exception as exc:  # noqa: BLE001 - the store unreadable between cycles (a damaged file)
                self._cycle_failed(exc)
                await self._tell()
                await self._sleep(None, utcnow() + FAILED_CYCLE_PAUSE)
        return False

    def _cycle_failed(self, exc: Exception) -> None:
        """Log the failure (one line for a full disk), and raise it to be told once."""
        if isinstance(exc, StoreWriteError):  # a full disk: one line, no traceback
            log.error("%s; the next cycle replays what this one left undone", exc)
        else:
            log.exception("the cycle failed; the next one replays what it left undone")
        self.failed = True
        self.troubles.raise_(DAEMON_FAILING, "Reader daemon failing", (
            f"its refresh failed: {_reason(exc)}. It tries again every "
            f"{FAILED_CYCLE_PAUSE.total_seconds() / 60:g} minute(s); what was left undone is done then"),
            recovery_title="Reader daemon working again")  # fmt: skip

    async def _tell(self) -> None:
        try:
            await self.troubles.tell(self.settings)
        except Exception:  # noqa: BLE001 - telling must never stop the cycles; it is tried again after the next
            log.exception("telling [health] notify failed")

    def _read_settings(self) -> None:
        """config.toml again when it changed (or SIGHUP asked): valid, it applies from this cycle on; with an
        error, the settings the daemon had are kept and the error is told once, and once more when fixed.
        ([paths] and logging keep what they were at the start.)"""
        seen = _file_state(self.settings.settings_file)
        if seen == self._config and not self.reload.is_set():
            return
        self.reload.clear()
        self._config = seen
        s = self.settings
        try:
            fresh = load_settings(s.data_dir, s.config_dir, s.rules_dir)
            if self.interval is not None:
                fresh = with_setting(fresh, "daemon", "interval_minutes", self.interval)
        except ConfigError as exc:
            self.troubles.raise_(CONFIG_BROKEN, "Reader daemon: config.toml has an error", (
                f"{exc}. The daemon keeps the settings it had until it is fixed; "
                "a restart would refuse to start"), recovery_title="Reader daemon: config.toml fixed")  # fmt: skip
            return
        self.troubles.clear(CONFIG_BROKEN)
        if fresh != s:
            log.info("config.toml changed: its settings apply from this cycle on")
            self.settings = fresh

    def _database_swapped(self, store: Store, index: SearchIndex) -> bool:
        """Whether the database file was deleted or replaced since it was opened, and a restart on the file now
        there is due. Through the connection held since the start (never one opened by path now):
        - deleted, the held copy is written back (nothing lost);
        - replaced by a file holding fewer articles, or none (deleted, then made anew empty by a `reader`
          command before this look), that file is moved aside and the held copy written back;
        - replaced otherwise (a backup put back), the held copy is saved aside first, and the index deleted, to
          be rebuilt from the new file.
        What was done is told once. Not while the held -wal is still in use: then the next cycle looks again."""
        path, found = self.settings.db_path, _file_id(self.settings.db_path)
        if found == self._database or self._held is None:
            return False
        if not self._stop_backlog() or not checkpoint(self._held):  # else its frames would meet the file there now
            log.warning("the database file %s was swapped, but the open one is still in use: looking again "
                        "next cycle", path)  # fmt: skip
            return False
        held, stamp = article_count(self._held), datetime.now().strftime("%Y%m%d-%H%M%S")
        if found is None:
            self._put_back(path)
            self.troubles.event(DATABASE_SWAPPED, "Reader database deleted, and put back", (
                f"{path} was deleted while the daemon ran; it wrote the database back from its open copy, "
                "so nothing was lost, and restarted on it"))  # fmt: skip
            return True
        count = article_count(path)
        if count is None or count < (held or 0):
            aside = path.with_name(f"{path.name}.set-aside-{stamp}")
            for suffix in ("", "-wal", "-shm"):
                if (old := Path(f"{path}{suffix}")).exists():
                    os.replace(old, f"{aside}{suffix}")
            self._put_back(path)
            what = "no reader database" if count is None else f"{count} article(s), fewer than its {held}"
            self.troubles.event(DATABASE_SWAPPED, "Reader database replaced by a smaller one, and put back", (
                f"{path} was replaced while the daemon ran by a file holding {what} (deleted, then made anew by "
                f"a reader command?). It moved that file to {aside}, wrote its own copy back, so nothing was "
                "lost, and restarted on it. To restore a backup, stop the daemon first"))  # fmt: skip
            return True
        saved = path.with_name(f"{path.name}.before-swap-{stamp}")
        copy(self._held, saved)
        index.close()  # the index is of the file that was there: the restart makes it anew, and refills it quietly
        shutil.rmtree(self.settings.index_dir, ignore_errors=True)
        self.troubles.event(DATABASE_SWAPPED, "Reader database replaced", (
            f"{path} was replaced while the daemon ran; it saved the database it had to {saved}, restarted on "
            "the new file and rebuilds the search index from it"))  # fmt: skip
        return True

    def _put_back(self, path: Path) -> None:
        restoring = path.with_name(path.name + ".restoring")
        copy(self._held, restoring)
        os.replace(restoring, path)

    def _stop_backlog(self) -> bool:
        """Stop the backlog's indexing after its slice: no write of it may land after the checkpoint."""
        if self._backlog is None or not self._backlog.is_alive():
            return True
        self._backlog_stop.set()
        self._backlog.join(BACKLOG_STOP_WAIT)
        return not self._backlog.is_alive()

    async def _cycle(self, store: Store, index: SearchIndex, pool: Executor) -> None:
        known = await asyncio.to_thread(store.feeds)
        feeds = self._schedule(store, known).due_feeds(known, utcnow())
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
        self._backlog_stop.clear()

        def run() -> None:
            try:
                stop = lambda: self.stopping.is_set() or self._backlog_stop.is_set()  # noqa: E731
                done = index_backlog(store, index, _log_progress, stop=stop)
                log.info("the search index is up to date again (%d article(s) indexed)", done)
            except Exception:  # noqa: BLE001 - the next cycle finds what is left and starts again
                log.exception("indexing the backlog failed; the next cycle goes on with it")

        self._backlog = threading.Thread(target=run, name="index-backlog", daemon=True)
        self._backlog.start()
        if self.once:
            self._backlog.join()

    def _schedule(self, store: Store, feeds: Sequence[Feed]) -> Schedule:
        enabled = [f for f in feeds if f.enabled]
        offline = len(enabled) > 1 and all(f.last_status == FetchStatus.ERROR for f in enabled)
        return Schedule(self.settings.daemon, store.feed_max_ages(), offline)

    def next_wake(self, store: Store, not_before: datetime) -> datetime | None:
        """When the next feed or delivery is due (not before `not_before`); None when nothing is scheduled."""
        feeds = store.feeds()
        times = [self._schedule(store, feeds).next_due(feeds), store.next_delivery_at()]
        due = min((t for t in times if t is not None), default=None)
        return None if due is None else max(due, not_before)

    async def _sleep(self, store: Store | None, not_before: datetime) -> None:
        """Sleep until something is due (not before `not_before`), noticing signals within SLEEP_STEP
        and new work (a feed added, a retry asked for) within RECHECK_EVERY. With no store: until `not_before`."""
        wake = await asyncio.to_thread(self.next_wake, store, not_before) if store else not_before
        if wake:
            log.info("next cycle at %s", wake.astimezone().strftime("%Y-%m-%d %H:%M:%S"))
        checked = time.monotonic()
        while not self.stopping.is_set() and not self.reload.is_set():
            if wake is not None and wake <= utcnow():
                return
            await asyncio.sleep(SLEEP_STEP)
            if time.monotonic() - checked >= RECHECK_EVERY:
                if utcnow() >= not_before and (_file_state(self.settings.settings_file) != self._config
                                               or _file_id(self.settings.db_path) != self._database):  # fmt: skip
                    return  # the next cycle reads the new config.toml, or finds the database file swapped
                if store is not None:
                    wake = await asyncio.to_thread(self.next_wake, store, not_before)
                checked = time.monotonic()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except (OSError, ValueError):
        return ""


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError:  # (a full disk: said again at the next start, no worse)
        pass


def _file_state(path: Path) -> tuple[int, int, int] | None:
    """(inode, size, mtime in ns) of a file, to see it was edited; None when there is none."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def _file_id(path: Path) -> tuple[int, int] | None:
    """(device, inode): which file is at `path` now; None when none is."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _reason(exc: Exception) -> str:
    """What went wrong, in one line with no secret in it (it is told, and kept in FAULT_FILE)."""
    if isinstance(exc, StoreWriteError):
        return clean_line(redact_secrets(str(exc)), 400)
    damaged = isinstance(exc, sqlite3.DatabaseError) and getattr(exc, "sqlite_errorcode", 0) & 0xFF in (
        sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)  # fmt: skip
    hint = "; the database file is damaged: 'reader doctor' says how to save what it holds" if damaged else ""
    return clean_line(redact_secrets(f"{type(exc).__name__}: {exc}{hint}"), 400)


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


def run_daemon(settings: Settings, *, once: bool, level: str, log_file: Path | None,
               interval: float | None = None) -> int:  # fmt: skip
    setup_logging(level, file=log_file)
    return Daemon(settings, once=once, interval=interval).run()
