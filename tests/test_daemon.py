"""`reader daemon` as a real process: cycles, signals, the single-writer lock, and crashes that lose nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reader.config import DaemonSettings
from reader.daemon import Daemon, Schedule
from reader.ingest import ingest, open_index
from reader.lock import WriterLock
from reader.logs import LOG_FILE_BYTES, LogFile
from reader.models import Feed
from reader.rules import write_rule
from reader.store import ArticleFilter, Store
from tests.clirun import reader
from tests.httpserver import Response
from tests.sites import DEEPSEEK_BODY_MATCH
from tests.feedgen import Item, items, recent, rss
from tests.test_alerts import HTML, QUERY, RSS, Endpoint, expected_titles, run, serve_scenarios, subscribe


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)  # ok: the poll interval of a wait on a condition
    raise AssertionError(f"timed out waiting for {what}")


def wait_until_a_retry_is_due(settings) -> None:
    """Wait until a delivery waiting to be tried again is due (its backoff has run out)."""
    store = Store(settings.db_path)
    try:
        wait_for(lambda: store.due_deliveries(datetime.now(UTC), limit=1), "a delivery's retry to come due")
    finally:
        store.close()


class DaemonProcess:
    """`reader daemon ARGS` in the background, its log in a file."""

    def __init__(self, settings, *args: str, setup: Callable[[], None] | None = None):
        self.log = settings.data_dir.parent / f"daemon-{time.monotonic_ns()}.log"
        env = {**os.environ, "READER_DATA_DIR": str(settings.data_dir), "READER_CONFIG_DIR": str(settings.config_dir)}
        with self.log.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "reader", "daemon", *args], env=env,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                         preexec_fn=setup)  # fmt: skip

    def text(self) -> str:
        return self.log.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)


@pytest.fixture
def world(http_server, settings):
    endpoint = Endpoint(http_server)
    subscribe(settings, serve_scenarios(http_server))
    write_rule(settings.rules_dir, "deepseek", query=QUERY, notify=[endpoint.url], title="DeepSeek controls")
    started: list[DaemonProcess] = []

    def daemon(*args: str) -> DaemonProcess:
        started.append(DaemonProcess(settings, *args))
        return started[-1]

    yield settings, http_server, endpoint, daemon
    for d in started:  # a failed test must not leave a daemon behind
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()


def once(settings, *args: str):
    return reader("daemon", "--once", *args, data=settings.data_dir, config=settings.config_dir)


def test_daemon_runs_a_cycle_refuses_a_second_daemon_and_stops_on_sigterm(world):
    settings, _server, endpoint, daemon = world
    first = daemon("--log-level", "info")
    wait_for(lambda: len(endpoint.received()) == 3, "three notifications")
    wait_for(lambda: "next cycle at" in first.text(), "the daemon to go to sleep")
    second = once(settings)
    assert second.code == 1
    assert f"the reader daemon (pid {first.proc.pid}) is running and refreshes the feeds itself" in second.err
    retry = reader("alerts", "retry", data=settings.data_dir, config=settings.config_dir)
    assert retry.code == 0 and "the running reader process" in retry.out  # it leaves the sending to the daemon
    assert first.stop() == 0
    assert "daemon stopped" in first.text()
    assert endpoint.titles() == expected_titles()


def test_once_runs_one_cycle_and_a_restart_resends_nothing(world, tmp_path):
    settings, _server, endpoint, _daemon = world
    log = tmp_path / "daemon.log"
    first = once(settings, "--log-file", str(log))
    assert first.code == 0, first.err
    assert endpoint.titles() == expected_titles()
    logged = log.read_text()
    assert " INFO " in logged and "sent" in logged and "DeepSeek controls" in logged
    assert once(settings).code == 0
    assert endpoint.titles() == expected_titles()


def test_a_log_file_in_a_new_directory_is_made_and_an_unwritable_one_is_one_line(world, tmp_path):
    settings, _server, _endpoint, _daemon = world
    log = tmp_path / "logs" / "reader" / "daemon.log"
    assert once(settings, "--log-file", str(log)).code == 0
    assert " INFO " in log.read_text() and log.parent.stat().st_mode & 0o777 == 0o700
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    refused = once(settings, "--log-file", str(blocked / "daemon.log"))
    assert refused.code == 2 and "Traceback" not in refused.err
    assert f"cannot write the log file {blocked / 'daemon.log'} (--log-file): " in refused.err


def test_sigterm_mid_cycle_stops_at_once_exits_0_and_the_next_cycle_replays(world):
    settings, server, endpoint, daemon = world
    slow_page(server)
    d = daemon("--log-level", "info")
    wait_for(lambda: server.hits("/body_match.html"), "the slow page to be asked for")
    assert d.stop() == 0
    assert "stopped mid-cycle" in d.text() and "Traceback" not in d.text()
    assert once(settings).code == 0  # the page left pending is fetched, then matched and sent
    assert endpoint.titles() == expected_titles()


def test_a_fast_feeds_alert_goes_out_while_a_slow_feed_trickles_and_sigterm_stops_the_trickle(
        http_server, settings):  # fmt: skip
    """Alerts go out as each feed lands: the fast feed's alert reaches the endpoint before the slow
    feed (a byte every half second) has been sent; SIGTERM then ends the daemon mid-fetch, and the
    next cycle fetches the slow feed without sending the fast feed's alert again."""
    server = http_server
    endpoint = Endpoint(server)
    fast_item = Item("DeepSeek hit by new export controls", server.url("/fast/1"),
                     "DeepSeek faces export controls on its chips.", published=recent(1))  # fmt: skip
    fast = server.route("/fast.xml", rss([fast_item], title="Fast Wire"), headers=RSS)
    slow_body = rss([Item("A quiet week for open source", server.url("/slow/1"), "Nothing happened.",
                          published=recent(1))], title="Slow Wire")  # fmt: skip
    slow = server.route("/slow.xml", slow_body, headers=RSS, trickle=0.5)
    subscribe(settings, fast, slow)
    settings.config_dir.mkdir(parents=True, exist_ok=True)
    (settings.config_dir / "config.toml").write_text("[fetch]\nfulltext = false\n")
    write_rule(settings.rules_dir, "deepseek", query=QUERY, notify=[endpoint.url], title="DeepSeek controls")

    d = DaemonProcess(settings, "--log-level", "info")
    try:
        wait_for(lambda: endpoint.received(), "the fast feed's alert")
        assert server.hits("/slow.xml") == 1 and "GET /slow.xml answered" not in server.events  # still trickling
        assert [n["title"] for n in endpoint.received()] == ["DeepSeek controls: DeepSeek hit by new export controls"]
        assert d.stop() == 0
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
    assert "GET /slow.xml answered" not in server.events  # cut off mid-body, not waited for
    assert "stopped mid-cycle" in d.text() and "Traceback" not in d.text()

    server.route("/slow.xml", slow_body, headers=RSS)  # the slow server recovers
    assert once(settings).code == 0
    stored = reader("articles", "--json", data=settings.data_dir, config=settings.config_dir).json()
    assert sorted(a["title"] for a in stored) == ["A quiet week for open source", "DeepSeek hit by new export controls"]
    assert len(endpoint.received()) == 1  # the fast feed's alert is not sent again


def test_kill_9_mid_cycle_loses_no_alert_and_duplicates_none(world):
    settings, server, endpoint, daemon = world
    slow_page(server)
    d = daemon()
    wait_for(lambda: server.hits("/body_match.html"), "the slow page to be asked for")
    assert d.stop(signal.SIGKILL) == -signal.SIGKILL
    assert endpoint.received() == []
    assert once(settings).code == 0  # the restart fetches the page left pending, then matches and sends
    assert endpoint.titles() == expected_titles()
    assert once(settings).code == 0
    assert endpoint.titles() == expected_titles()


def test_kill_9_while_idle_resends_nothing(world):
    settings, _server, endpoint, daemon = world
    d = daemon("--log-level", "info")
    wait_for(lambda: "next cycle at" in d.text(), "the daemon to go to sleep")
    assert d.stop(signal.SIGKILL) == -signal.SIGKILL
    assert once(settings).code == 0
    assert endpoint.titles() == expected_titles()


def slow_page(server) -> None:
    page = DEEPSEEK_BODY_MATCH.page.html.encode()
    server.route("/body_match.html", handler=lambda _seen: Response(200, page, dict(HTML), delay=1.5))


# -- the schedule --------------------------------------------------------------------------------

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def feed(fetched_minutes_ago: float | None = 10, **fields) -> Feed:
    fetched = None if fetched_minutes_ago is None else NOW - timedelta(minutes=fetched_minutes_ago)
    return Feed(id=1, url="https://example.com/feed.xml", title="F", group="", last_fetched_at=fetched, **fields)


def schedule(intervals: dict | None = None, max_ages: dict | None = None, **daemon) -> Schedule:
    return Schedule(DaemonSettings(feed_intervals=intervals or {}, **daemon), max_ages or {})


def test_a_feed_is_due_its_interval_after_its_last_fetch():
    s = schedule(interval_minutes=30)
    assert s.due_at(feed(None)) is None and s.due_feeds([feed(None)], NOW)  # never fetched: now
    assert s.due_at(feed(10)) == NOW + timedelta(minutes=20)
    assert s.due_feeds([feed(29.8)], NOW) and not s.due_feeds([feed(10)], NOW)  # a few seconds early is due
    assert not s.due_feeds([feed(None, enabled=False)], NOW)


def test_ttl_max_age_overrides_errors_and_retry_after_shape_the_interval():
    url = "https://example.com/feed.xml"
    assert schedule(interval_minutes=30).interval(feed(ttl_seconds=3 * 3600)) == timedelta(hours=3)
    assert schedule(max_ages={1: 7200}, interval_minutes=30).interval(feed()) == timedelta(hours=2)
    assert schedule({url: 120}, interval_minutes=30).interval(feed()) == timedelta(hours=2)
    assert schedule({url: 1}, min_interval_minutes=5).interval(feed()) == timedelta(minutes=5)  # floor
    assert schedule(interval_minutes=30).interval(feed(ttl_seconds=10**7)) == timedelta(days=1)  # ceiling
    assert schedule(interval_minutes=30).interval(feed(error_count=2)) == timedelta(hours=2)  # backs off
    later = NOW + timedelta(hours=5)
    assert schedule(interval_minutes=30).due_at(feed(next_fetch_after=later)) == later


def test_a_clock_set_back_does_not_hold_a_feed_back_by_the_jump():
    s = schedule(interval_minutes=30)
    ahead = feed(-600)  # fetched "ten hours from now", as the clock read before it was set back
    assert s.due_feeds([ahead], NOW)  # refreshed now, which sets its time right
    assert s.due_feeds([feed(0)], NOW + timedelta(minutes=30)) and not s.due_feeds([feed(0)], NOW)


def test_while_every_feed_fails_none_backs_off_so_all_are_back_within_an_interval_of_the_network():
    failing = feed(error_count=4)
    assert schedule(interval_minutes=30).interval(failing) == timedelta(hours=8)  # one feed down: it backs off
    assert replace(schedule(interval_minutes=30), offline=True).interval(failing) == timedelta(minutes=30)


# -- a week of faults, each told once through [health] notify ------------------------------------


def health_world(http_server, settings, feed_body: str, extra: str = ""):
    """One feed (`feed_body`), no pages, [health] notify to a local endpoint; returns (health endpoint, cli)."""
    health = Endpoint(http_server, path="/health")
    url = http_server.route("/feed.xml", feed_body, headers=RSS)
    settings.config_dir.mkdir(parents=True, exist_ok=True)
    (settings.config_dir / "config.toml").write_text(f'[fetch]\nfulltext = false\n[health]\nnotify = ["{health.url}"]\n'
                                                     + extra)  # fmt: skip
    cli = dict(data=settings.data_dir, config=settings.config_dir)
    assert reader("feeds", "add", "--as-is", url, **cli).code == 0
    return health, cli


def titles(endpoint: Endpoint) -> list[str]:
    return [n["title"] for n in endpoint.received()]


def test_a_full_disk_is_told_once_however_many_cycles_it_lasts_and_its_end_once(http_server, settings):
    health, cli = health_world(http_server, settings, rss(items(300)))
    limit = settings.db_path.stat().st_size + 64 * 1024
    d = DaemonProcess(settings, "--log-level", "info",
                      setup=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY)))
    try:
        wait_for(lambda: titles(health) == ["Reader daemon failing"], "the full disk to be told")
        assert "could not write to the database" in health.received()[0]["message"]
        d.proc.send_signal(signal.SIGHUP)  # look again now: the disk is still full
        # (the first failure is logged twice: the error, and the fault raised; the second once more)
        wait_for(lambda: d.text().count("could not write to the database") >= 3, "a second failed cycle")
        assert titles(health) == ["Reader daemon failing"]
        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        d.proc.send_signal(signal.SIGHUP)  # room again
        wait_for(lambda: len(titles(health)) == 2, "the recovery to be told")
        assert titles(health) == ["Reader daemon failing", "Reader daemon working again"]
        assert len(reader("articles", "--json", "--limit", "1000", **cli).json()) == 300  # nothing was lost
        assert d.stop() == 0
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
    assert "Traceback" not in d.text()


def test_config_edited_while_running_applies_and_an_error_is_told_once_while_the_old_settings_go_on(
        http_server, settings):  # fmt: skip
    """SIGHUP (or an edit, seen within seconds) reads config.toml again: a valid one applies (here: health alerts
    go to a new target), one with an error is told once with its line, the daemon going on as it was; fixed,
    once more. SIGHUP never stops the daemon."""
    first, cli = health_world(http_server, settings, rss(items(3)))
    second = Endpoint(http_server, path="/second")
    config = settings.config_dir / "config.toml"
    d = DaemonProcess(settings, "--log-level", "info")
    try:
        wait_for(lambda: "next cycle at" in d.text(), "the first cycle")
        config.write_text(f'[fetch]\nfulltext = false\n[health]\nnotify = ["{second.url}"]\n')
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "config.toml changed" in d.text(), "the new settings")
        config.write_text(f'[fetch]\nfulltext = false\n[health]\nnotify = ["{second.url}"]\nfailing_cycles = 0\n')
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: titles(second), "the broken config.toml to be told")
        d.proc.send_signal(signal.SIGHUP)  # read again, still broken: not told again
        wait_for(lambda: d.text().count("SIGHUP") == 3 and d.text().count("next cycle at") >= 4, "another look")
        config.write_text(f'[fetch]\nfulltext = false\n[health]\nnotify = ["{second.url}"]\nfailing_cycles = 2\n')
        d.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: len(titles(second)) == 2, "the fix to be told")
        assert d.proc.poll() is None  # SIGHUP read the settings; it did not stop the daemon
        assert d.stop() == 0
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
    assert titles(first) == []
    assert titles(second) == ["Reader daemon: config.toml has an error", "Reader daemon: config.toml fixed"]
    told = second.received()[0]["message"]
    assert "config.toml:5: " in told and "must be ≥ 1 (got 0)" in told and "keeps the settings it had" in told


def daemon_deleting_its_database(world):
    """A daemon with [health] notify, after its first cycle; its database files then deleted (a cleanup script,
    a sync tool, a slip of rm). Returns (daemon, health endpoint, cli, the articles stored, the search's titles)."""
    settings, server, _endpoint, daemon = world
    cli = dict(data=settings.data_dir, config=settings.config_dir)
    health = Endpoint(server, path="/health")
    (settings.config_dir / "config.toml").write_text(f'[health]\nnotify = ["{health.url}"]\n')
    d = daemon("--log-level", "info")
    wait_for(lambda: "next cycle at" in d.text(), "the first cycle")
    stored = reader("articles", "--json", **cli).json()
    found = sorted(a["title"] for a in reader("search", "--json", "DeepSeek", **cli).json())
    for path in settings.data_dir.glob("reader.sqlite*"):
        path.unlink()
    return d, health, cli, stored, found


def test_the_database_deleted_under_the_daemon_is_put_back_whole_and_told_once(world):
    settings, _server, endpoint, _daemon = world
    d, health, cli, stored, found = daemon_deleting_its_database(world)
    d.proc.send_signal(signal.SIGHUP)  # (else it is seen within seconds)
    wait_for(lambda: titles(health), "the deletion to be told")
    wait_for(lambda: d.text().count("daemon started") == 2, "the restart on the file put back")
    assert titles(health) == ["Reader database deleted, and put back"]
    assert reader("articles", "--json", **cli).json() == stored  # nothing was lost
    wait_for(lambda: d.text().count("next cycle at") >= 2, "the restarted daemon's first cycle")

    backup = settings.data_dir / "backup.sqlite"  # a backup put back: taken up, and the index made from it
    copy = sqlite3.connect(backup)
    sqlite3.connect(settings.db_path).backup(copy)
    copy.close()
    backup.replace(settings.db_path)
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: d.text().count("next cycle at") >= 3, "the restart on the backup, and its index made anew")
    assert titles(health) == ["Reader database deleted, and put back", "Reader database replaced"]
    assert sorted(a["title"] for a in reader("search", "--json", "DeepSeek", **cli).json()) == found
    saved = list(settings.data_dir.glob("reader.sqlite.before-swap-*"))  # the one it had, kept aside
    assert len(saved) == 1 and str(saved[0]) in health.received()[1]["message"]
    assert d.stop() == 0
    assert endpoint.titles() == expected_titles()  # no alert sent twice
    assert "Traceback" not in d.text()


def test_a_database_deleted_then_made_anew_by_a_command_is_put_back_and_the_restart_keeps_the_lock(world):
    """Deleted, then `reader articles` run before the daemon looks: the empty file that command made is no
    backup put back; it is moved aside and the daemon's copy written back, the index kept. Between the
    restart's exec and the new image's start no other writer can take the lock (the new image would exit,
    busy), and a SIGHUP (logrotate's postrotate) never ends the daemon."""
    settings = world[0]
    d, health, cli, stored, found = daemon_deleting_its_database(world)
    assert reader("articles", "--json", **cli).json() == []  # the user looks: a new empty database
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "daemon restarting" in d.text(), "the restart")
    lock, free = WriterLock(settings.lock_path), 0
    while d.text().count("next cycle at") < 2 and d.proc.poll() is None:
        free += not lock.is_held_elsewhere()
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(0.02)  # ok: the poll interval of a wait on a condition
    assert d.proc.poll() is None and free == 0
    assert titles(health) == ["Reader database replaced by a smaller one, and put back"]
    assert reader("articles", "--json", **cli).json() == stored
    aside = list(settings.data_dir.glob("reader.sqlite.set-aside-*"))
    assert aside and str(aside[0]) in health.received()[0]["message"]
    assert sorted(a["title"] for a in reader("search", "--json", "DeepSeek", **cli).json()) == found  # index kept
    assert d.stop() == 0


def test_a_look_for_a_swapped_database_from_a_thread_with_no_connection_opens_nothing_by_path(settings):
    """asyncio.to_thread may run the look on a thread with no connection yet: it must not open (and so make)
    a new file at the path, then take that for the database."""
    store = Store(settings.db_path)
    store.set_meta("precious", "data")
    dm = Daemon(settings)
    store.close()
    store, index = dm._open()
    for path in settings.data_dir.glob("reader.sqlite*"):
        path.unlink()
    out: list[bool] = []
    look = threading.Thread(target=lambda: out.append(dm._database_swapped(store, index)))
    look.start()
    look.join()
    store.close()
    assert out == [True] and Store(settings.db_path).get_meta("precious") == "data"


def test_the_log_file_is_opened_again_when_moved_and_never_grows_past_its_cap(tmp_path):
    path = tmp_path / "daemon.log"
    handler = LogFile(path)
    log = logging.Logger("week")
    log.addHandler(handler)
    try:
        log.warning("before logrotate")
        path.rename(tmp_path / "daemon.log.old")  # logrotate, or a user tidying up
        log.warning("after logrotate")
        assert path.read_text() == "after logrotate\n"
        line = "x" * (1024 * 1024)
        for _ in range(LOG_FILE_BYTES // len(line)):  # a week of lines, to just past the cap
            log.warning(line)
        log.warning("the newest")
    finally:
        handler.close()
    assert path.read_text() == "the newest\n"
    assert Path(f"{path}.1").stat().st_size >= LOG_FILE_BYTES  # the previous file: the one kept


def test_the_log_file_emptied_in_place_goes_on_and_one_that_cannot_move_is_emptied_in_place(tmp_path):
    """logrotate's copytruncate leaves the stream's offset where it was: the emptied file is not taken for a full
    one (the copy logrotate made as FILE.1 is kept). A file that cannot be moved aside is emptied, not grown."""
    path = tmp_path / "daemon.log"
    handler = LogFile(path)
    log = logging.Logger("week")
    log.addHandler(handler)
    line = "x" * (1024 * 1024)
    try:
        for _ in range(LOG_FILE_BYTES // len(line)):
            log.warning(line)
        shutil.copy(path, f"{path}.1")  # copytruncate
        os.truncate(path, 0)
        log.warning("after copytruncate")
        assert path.read_text() == "after copytruncate\n"
        assert Path(f"{path}.1").stat().st_size >= LOG_FILE_BYTES
        Path(f"{path}.1").unlink()
        (tmp_path / "daemon.log.1" / "in the way").mkdir(parents=True)  # the move aside refused
        for _ in range(LOG_FILE_BYTES // len(line) + 3):
            log.warning(line)
    finally:
        handler.close()
    assert path.stat().st_size < LOG_FILE_BYTES


def test_the_index_deleted_under_a_running_daemon_is_rebuilt_from_the_database(http_server, settings):
    """The daemon keeps its index open for days: its directory deleted meanwhile is made again and refilled."""
    url = http_server.route("/feed.xml", rss(items(3)), headers=RSS)
    store = Store(settings.db_path)
    store.add_feed(url)
    index = open_index(settings, store)
    try:
        with ThreadPoolExecutor(2) as pool:
            asyncio.run(ingest(settings, store, index, pool))
            shutil.rmtree(settings.index_dir)
            asyncio.run(ingest(settings, store, index, pool))
        assert sorted(h.article_id for h in index.search("Story", limit=10)) == sorted(
            a.id for a in store.iter_articles(ArticleFilter()))  # fmt: skip
    finally:
        store.close()


def test_a_daemon_that_cannot_start_says_so_once_however_often_it_is_restarted(http_server, settings):
    """A database damaged while the daemon ran shows at its next start: under systemd every restart fails
    alike, and the health target hears of it once; once it runs again, once more."""
    health, cli = health_world(http_server, settings, rss(items(3)))
    assert reader("daemon", "--once", **cli).code == 0
    db = settings.db_path
    saved = db.read_bytes()
    db.write_bytes(os.urandom(len(saved)))  # a disk's bad block, a bad copy
    for _restart in range(2):
        failed = reader("daemon", **cli)
        assert failed.code == 1 and "Traceback" not in failed.err and str(db) in failed.err
    assert titles(health) == ["Reader daemon cannot start"]
    assert "not a database" in health.received()[0]["message"] or "malformed" in health.received()[0]["message"]
    db.write_bytes(saved)  # the backup put back
    assert reader("daemon", "--once", **cli).code == 0
    assert titles(health) == ["Reader daemon cannot start", "Reader daemon working again"]


def test_alerts_made_while_their_target_is_down_wait_behind_the_first_and_arrive_in_order(http_server, settings):
    """The user's endpoint down: the first alert retries with growing waits; an alert made meanwhile is not
    tried on its own (it would arrive first, at its own shorter wait) but waits behind it."""
    hook = Endpoint(http_server)
    hook.status = 503
    settings = replace(settings, fetch=replace(settings.fetch, fulltext=False),
                       alerts=replace(settings.alerts, retry_base_seconds=1.0))  # fmt: skip
    write_rule(settings.rules_dir, "deepseek", query="DeepSeek", notify=[hook.url], title="DeepSeek")
    news = [Item("DeepSeek first", http_server.url("/1"), "DeepSeek news.", published=recent(1))]
    url = http_server.route("/feed.xml", rss(news), headers=RSS)
    subscribe(settings, url)
    run(settings)  # the first alert fails: tried again in a second
    wait_until_a_retry_is_due(settings)
    run(settings)  # fails again: tried again in two seconds
    news.append(Item("DeepSeek second", http_server.url("/2"), "DeepSeek more news.", published=recent(1)))
    http_server.route("/feed.xml", rss(news), headers=RSS)
    run(settings)  # the second alert: queued behind the first, not tried alone
    assert len(hook.answers) == 2
    hook.status = 200
    for _look in range(20):  # the daemon's looks at what is due, each once something is
        if len(hook.received()) == 2:
            break
        wait_until_a_retry_is_due(settings)
        run(settings)
    assert [n["title"] for n in hook.received()] == ["DeepSeek: DeepSeek first", "DeepSeek: DeepSeek second"]


def two_attempts_world(http_server, settings, hook: Endpoint, first: str):
    """A rule alerting `hook` on one feed holding the article `first`; retries after 1 s, given up after 2
    attempts, told to a health endpoint. Returns (settings, health endpoint, the feed's items)."""
    health = Endpoint(http_server, path="/health")
    settings = replace(settings, fetch=replace(settings.fetch, fulltext=False),
                       alerts=replace(settings.alerts, retry_base_seconds=1.0, max_attempts=2),
                       health=replace(settings.health, notify=(health.url,)))  # fmt: skip
    write_rule(settings.rules_dir, "deepseek", query="DeepSeek", notify=[hook.url], title="DeepSeek")
    news = [Item(first, http_server.url("/1"), "DeepSeek news.", published=recent(1))]
    subscribe(settings, http_server.route("/feed.xml", rss(news), headers=RSS))
    return settings, health, news


def test_alerts_given_up_while_their_target_was_down_go_out_once_it_is_back(http_server, settings):
    """An outage longer than the attempts: the alert given up is told once, and sent once the target
    accepts a message again, with no `reader alerts retry`; nothing twice."""
    hook = Endpoint(http_server)
    hook.status = 503
    settings, health, news = two_attempts_world(http_server, settings, hook, "DeepSeek first")
    run(settings)
    wait_until_a_retry_is_due(settings)
    run(settings)  # the second attempt: given up, and told
    assert titles(health) == [f"Alerts not delivered: {hook.url}"]
    hook.status = 200
    news.append(Item("DeepSeek second", http_server.url("/2"), "DeepSeek more news.", published=recent(1)))
    http_server.route("/feed.xml", rss(news), headers=RSS)
    run(settings)  # the second alert finds the target back; the first goes out after it
    run(settings)
    assert sorted(n["title"] for n in hook.received()) == ["DeepSeek: DeepSeek first", "DeepSeek: DeepSeek second"]
    assert titles(health) == [f"Alerts not delivered: {hook.url}", f"Recovered: {hook.url}"]


class Picky(Endpoint):
    """Refuses a message for what it says (Telegram's 400 "can't parse entities"), accepts the rest."""

    def _answer(self, seen) -> Response:
        self.status = 400 if "Poison" in json.loads(self.server.posted[-1][2])["title"] else 200
        return super()._answer(seen)


def test_a_message_the_target_refuses_for_what_it_says_holds_no_other_back_and_is_requeued_once(
        http_server, settings):  # fmt: skip
    """A 4xx about one message (not the target down) retries that one alone: later alerts go out at once. Given
    up, it is sent once more when the target next accepts a message, then given up for good: told once, and
    its end once, never cycling."""
    hook = Picky(http_server)
    settings, health, news = two_attempts_world(http_server, settings, hook, "DeepSeek Poison")
    run(settings)  # refused: tried again in a second, alone
    for n, word in enumerate(["Alpha", "Bravo", "Charlie", "Delta"], 2):
        news.append(Item(f"DeepSeek {word}", http_server.url(f"/{n}"), f"DeepSeek {word} story.", published=recent(1)))
        http_server.route("/feed.xml", rss(news), headers=RSS)
        run(settings)  # each goes out at once, whatever waits for the refused one
        assert hook.received()[-1]["title"] == f"DeepSeek: DeepSeek {word}"
        if n == 2:
            wait_until_a_retry_is_due(settings)  # the refused one's second attempt: given up
    assert titles(health) == [f"Alerts not delivered: {hook.url}", f"Recovered: {hook.url}"]
    assert hook.answers.count(400) == 3  # two attempts, and one more after a message went through
    assert "not sent again by itself" in health.received()[1]["message"]  # the end says what became of it


def test_a_backup_put_back_while_the_index_backlog_runs_gets_none_of_its_writes(http_server, settings):
    """The backlog's indexing thread is stopped before the checkpoint: no commit of it lands in the -wal
    after, where the restarted daemon would replay it onto the backup."""
    subscribe(settings, http_server.route("/feed.xml", rss(items(150)), headers=RSS))
    run(settings)
    backup = settings.data_dir / "backup.sqlite"
    Store(settings.db_path).close()
    shutil.copy(settings.db_path, backup)  # (closed: the whole database is in the file)
    dm = Daemon(settings)
    store, index = dm._open()
    try:
        store.mark_all_unindexed()  # a rebuild's backlog, indexed in a thread beside the cycles
        dm._index_backlog(store, index)
        backup.replace(settings.db_path)
        while not dm._database_swapped(store, index):  # (the backlog's slice still running: the next cycle)
            pass
        dm._backlog.join()
        wal = Path(f"{settings.db_path}-wal")
        assert not wal.exists() or wal.stat().st_size == 0
    finally:
        dm.stopping.set()
        store.close()
    check = sqlite3.connect(settings.db_path)
    assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_config_error_quoting_a_feed_url_with_credentials_is_told_masked(http_server, settings):
    """[daemon.feed_intervals] keys are feed URLs: the error quoting one reaches [health] notify masked."""
    health = Endpoint(http_server, path="/health")
    dm = Daemon(replace(settings, health=replace(settings.health, notify=(health.url,))))
    settings.config_dir.mkdir(parents=True, exist_ok=True)
    (settings.config_dir / "config.toml").write_text(
        '[daemon.feed_intervals]\n"https://alice:hunter2pw@example.com/feed" = 0\n')
    dm._read_settings()
    asyncio.run(dm._tell())
    told = health.received()
    assert titles(health) == ["Reader daemon: config.toml has an error"] and "feed_intervals" in told[0]["message"]
    assert "hunter2pw" not in json.dumps(told)


def test_a_swap_seen_while_another_connection_reads_the_old_file_waits_for_the_next_look(settings):
    """The checkpoint cannot empty a -wal another connection still reads: nothing is replaced or deleted this
    round (the index stays), and the next look, once that reader is done, takes the new file up."""
    dm = Daemon(settings)
    store, index = dm._open()
    try:
        backup = settings.data_dir / "backup.sqlite"
        store.set_meta("left", "before")
        copy = sqlite3.connect(backup)
        store._conn().backup(copy)
        copy.close()
        store.set_meta("right", "after")  # in the -wal
        reading = sqlite3.connect(settings.db_path, isolation_level=None)
        reading.execute("BEGIN")
        reading.execute("SELECT count(*) FROM meta").fetchone()  # a TUI's read, under way
        backup.replace(settings.db_path)
        assert not dm._database_swapped(store, index)
        assert settings.index_dir.is_dir() and not list(settings.data_dir.glob("reader.sqlite.before-swap-*"))
        reading.execute("COMMIT")
        assert dm._database_swapped(store, index)
        assert list(settings.data_dir.glob("reader.sqlite.before-swap-*"))
    finally:
        store.close()
