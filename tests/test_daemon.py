"""`reader daemon` as a real process: cycles, signals, the single-writer lock, and crashes that lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from reader.config import DaemonSettings
from reader.daemon import Schedule
from reader.models import Feed
from reader.rules import write_rule
from tests.clirun import reader
from tests.httpserver import Response
from tests.sites import DEEPSEEK_BODY_MATCH
from tests.feedgen import Item, recent, rss
from tests.test_alerts import HTML, QUERY, RSS, Endpoint, expected_titles, serve_scenarios, subscribe


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)  # ok: the poll interval of a wait on a condition
    raise AssertionError(f"timed out waiting for {what}")


class DaemonProcess:
    """`reader daemon ARGS` in the background, its log in a file."""

    def __init__(self, settings, *args: str):
        self.log = settings.data_dir.parent / f"daemon-{time.monotonic_ns()}.log"
        env = {**os.environ, "READER_DATA_DIR": str(settings.data_dir), "READER_CONFIG_DIR": str(settings.config_dir)}
        with self.log.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "reader", "daemon", *args], env=env,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip

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
