"""The watcher speaks up once: a health target on a local endpoint hears of a feed failing and of an alert
given up exactly once each, and once of each recovery; `reader doctor` names what needs the user."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta

from reader.health import INDEX_DAMAGED, record_event, record_recovery, status_warnings
from reader.rules import write_rule
from reader.store import Store
from tests.clirun import reader
from tests.feedgen import Item, recent, rss
from tests.httpserver import Response
from tests.test_alerts import RSS, Endpoint, run, subscribe


def configure(settings, text: str) -> None:
    settings.config_dir.mkdir(parents=True, exist_ok=True)
    (settings.config_dir / "config.toml").write_text(text)


class FlakyFeed:
    """A feed that answers 500 until `fixed`, then a valid feed with one article."""

    def __init__(self, server, path: str = "/flaky.xml"):
        self.fixed = False
        item = Item("DeepSeek story", server.url("/story"), "DeepSeek news.", guid="s1", published=recent(1))
        self.body = rss([item], title="Flaky Wire").encode()
        self.url = server.url(path)
        server.route(path, handler=self._answer)

    def _answer(self, _seen) -> Response:
        return Response(200, self.body, dict(RSS)) if self.fixed else Response(500, b"down")


def titles(endpoint: Endpoint) -> list[str]:
    return [n["title"] for n in endpoint.received()]


def test_a_feed_failing_four_cycles_is_one_message_and_its_recovery_one_more(http_server, settings):
    health = Endpoint(http_server, path="/health")
    configure(settings, f'[health]\nnotify = ["{health.url}"]\nfailing_cycles = 3\n')
    feed = FlakyFeed(http_server)
    cli = dict(data=settings.data_dir, config=settings.config_dir)
    assert reader("feeds", "add", feed.url, "--no-fulltext", **cli).code == 0

    heard = []
    for _cycle in range(4):
        assert reader("fetch", **cli).code == 0
        heard.append(len(health.received()))
    assert heard == [0, 0, 1, 1]  # raised on the third failure in a row, never again while it lasts
    (failing,) = health.received()
    assert failing["title"] == f"Feed failing: {feed.url}"
    assert "failed 3 refreshes in a row" in failing["message"] and "500" in failing["message"]
    assert failing["message"].count(feed.url) == 1, "a feed without a title of its own is named by its URL once"

    doctor = reader("doctor", "--json", **cli)
    assert doctor.code == 1
    assert any(f["check"] == "feeds" and not f["ok"] and feed.url in f["text"] for f in doctor.json())

    feed.fixed = True
    for _cycle in range(2):
        assert reader("fetch", **cli).code == 0
    assert titles(health) == [f"Feed failing: {feed.url}", f"Recovered: {feed.url}"]
    assert "refreshed successfully again" in health.received()[1]["message"]


def test_an_alert_given_up_is_one_health_message_and_its_delivery_later_one_more(http_server, settings):
    health, broken = Endpoint(http_server, path="/health"), Endpoint(http_server, path="/hook")
    broken.status = 500
    configure(settings, f'[alerts]\nmax_attempts = 1\n[health]\nnotify = ["{health.url}"]\n')
    feed = FlakyFeed(http_server)
    feed.fixed = True
    write_rule(settings.rules_dir, "deepseek", query="DeepSeek", notify=[broken.url], title="DeepSeek")
    cli = dict(data=settings.data_dir, config=settings.config_dir)
    assert reader("feeds", "add", feed.url, "--no-fulltext", **cli).code == 0

    assert reader("fetch", **cli).code == 0
    assert reader("fetch", **cli).code == 0
    (given_up,) = health.received()
    assert given_up["title"] == f"Alerts not delivered: {broken.url}"
    assert "after 1 attempts" in given_up["message"] and "reader alerts retry" in given_up["message"]
    assert ".." not in given_up["message"], "Apprise's reason ends with its own full stop"

    broken.status = 200
    assert reader("alerts", "retry", **cli).code == 0
    assert titles(broken) == ["DeepSeek: DeepSeek story"]
    assert reader("fetch", **cli).code == 0  # the watch after the next refresh says it recovered
    assert titles(health) == [given_up["title"], f"Recovered: {broken.url}"]


def test_doctor_exits_0_when_all_is_well_and_names_each_thing_that_is_not(http_server, settings):
    feed = FlakyFeed(http_server)
    feed.fixed = True
    cli = dict(data=settings.data_dir, config=settings.config_dir)
    assert reader("feeds", "add", feed.url, "--no-fulltext", **cli).code == 0
    assert reader("daemon", "--once", **cli).code == 0
    for path in (settings.data_dir, *settings.data_dir.rglob("*")):  # owner-only, as the reader should leave them
        os.chmod(path, 0o700 if path.is_dir() else 0o600)

    well = reader("doctor", **cli)
    assert well.code == 0, well.out
    assert "ok    daemon: " in well.out and "last cycle ended 0 min ago" in well.out and "all well" in well.out

    settings.rules_dir.mkdir(parents=True, exist_ok=True)
    (settings.rules_dir / "broken.toml").write_text("query = 'DeepSeek AND (export'\n")
    os.chmod(settings.db_path, 0o644)
    configure(settings, '[health]\nnotify = ["slak://T1/B2/C3"]\n')
    store = Store(settings.db_path)
    store.set_meta("daemon_cycle", json.dumps({"pid": 1, "ended": "2020-01-01T00:00:00+00:00"}))
    store.close()
    sick = reader("doctor", **cli)
    assert sick.code == 1
    assert "NEEDS daemon: no daemon is running" in sick.out
    assert "NEEDS rules: " in sick.out and "broken.toml:1: error" in sick.out
    assert "NEEDS files: others can read" in sick.out and "reader.sqlite (0644)" in sick.out
    assert "NEEDS health: [health] notify: slak://" in sick.out and "did you mean 'slack://'?" in sick.out
    assert "4 thing(s) need you (daemon, rules, files, health)" in sick.out


def test_doctor_names_a_damaged_database_and_how_to_save_what_it_holds(http_server, settings):
    """A bad sector under the articles' texts, which no other check reads: SQLite's quick check finds it."""
    feed = FlakyFeed(http_server)
    feed.fixed = True
    cli = dict(data=settings.data_dir, config=settings.config_dir)
    assert reader("feeds", "add", feed.url, "--no-fulltext", **cli).code == 0
    assert reader("fetch", **cli).code == 0
    assert [f for f in reader("doctor", "--json", **cli).json() if f["check"] == "database"][0]["ok"]
    with sqlite3.connect(settings.db_path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the file itself
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        [root] = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'article_texts'").fetchone()
    db.close()
    with settings.db_path.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(bytes(range(256)) * (page_size // 256))
    sick = reader("doctor", "--json", **cli)
    assert sick.code == 1, sick.err
    [finding] = [f for f in sick.json() if f["check"] == "database"]
    assert not finding["ok"] and f"{settings.db_path} is damaged (" in finding["text"], finding
    assert ".recover" in finding["text"] and "reader feeds export" in finding["text"], finding

    with settings.db_path.open("r+b") as f:  # now the schema's page too: the database does not even open
        f.seek(100)
        f.write(b"\xff" * 3000)
    sick = reader("doctor", "--json", **cli)
    [finding] = [f for f in sick.json() if f["check"] == "database"]
    assert sick.code == 1 and "is malformed" in finding["text"] and ".recover" in finding["text"], sick.err
    listed = reader("articles", **cli)
    assert listed.code == 1 and "see 'reader doctor' for how to save what it holds" in " ".join(listed.err.split())


def test_a_feed_silent_past_ten_of_its_usual_gaps_is_one_message_and_a_new_article_one_more(http_server, settings):
    health = Endpoint(http_server, path="/health")
    configure(settings, f'[health]\nnotify = ["{health.url}"]\n')
    # one article a day, 30 to 21 days ago: its usual gap is a day
    daily = [Item(f"Daily {n}", http_server.url(f"/d{n}"), "news", guid=f"d{n}", published=recent(24 * (30 - n)))
             for n in range(10)]  # fmt: skip
    feed = http_server.route("/daily.xml", rss(daily, title="Daily Wire"), headers=RSS)
    cli = dict(data=settings.data_dir, config=settings.config_dir)
    assert reader("feeds", "add", feed, "--no-fulltext", **cli).code == 0
    assert reader("fetch", **cli).code == 0
    assert health.received() == []  # its last new article arrived just now

    with sqlite3.connect(settings.db_path) as db:  # time passes: nothing new for 20 days (> 10 gaps, > 7 days)
        (arrived,) = db.execute("SELECT last_new_at FROM feeds").fetchone()
        aged = (datetime.fromisoformat(arrived) - timedelta(days=20)).isoformat()
        db.execute("UPDATE feeds SET last_new_at = ?", (aged,))
    for _cycle in range(2):
        assert reader("fetch", **cli).code == 0
    (silent,) = health.received()
    assert silent["title"] == "Feed silent: Daily Wire"
    assert "no new article for 20 days" in silent["message"] and "every 24 hours" in silent["message"]

    fresh = Item("Daily 10", http_server.url("/d10"), "news", guid="d10", published=recent(1))
    http_server.route("/daily.xml", rss([*daily, fresh], title="Daily Wire"), headers=RSS)
    assert reader("fetch", **cli).code == 0
    assert titles(health) == ["Feed silent: Daily Wire", "Recovered: Daily Wire"]


def test_a_damaged_index_is_one_message_and_its_repair_one_more(http_server, settings):
    """A segment file truncated between two refreshes: the next one repairs the index from the database,
    and the health target hears of the damage and of the repair once each."""
    health = Endpoint(http_server, path="/health")
    configure(settings, f'[health]\nnotify = ["{health.url}"]\n')
    feed = FlakyFeed(http_server)
    feed.fixed = True
    cli = dict(data=settings.data_dir, config=settings.config_dir)
    assert reader("feeds", "add", feed.url, "--no-fulltext", **cli).code == 0
    assert reader("fetch", **cli).code == 0
    assert health.received() == []

    (terms,) = [p for p in settings.index_dir.iterdir() if p.suffix == ".trm"]
    terms.write_bytes(terms.read_bytes()[: terms.stat().st_size // 2])
    doctor = reader("doctor", "--json", **cli)
    (index,) = [f for f in doctor.json() if f["check"] == "index"]
    assert doctor.code == 1 and not index["ok"] and "the search index is damaged" in index["text"]
    for _cycle in range(2):
        assert reader("fetch", **cli).code == 0
    assert titles(health) == ["Search index damaged", "Search index repaired"]
    assert "truncated" in health.received()[0]["message"] or "damaged" in health.received()[0]["message"]
    found = reader("search", "DeepSeek", "--json", **cli)
    assert [a["title"] for a in found.json()] == ["DeepSeek story"]


def test_what_needs_the_user_is_one_line_each_for_the_status_bar(settings):
    store = Store(settings.db_path)
    try:
        record_event(store, INDEX_DAMAGED, "index", "segment _a.trm is truncated")
        record_event(store, INDEX_DAMAGED, "index", "segment _a.trm is truncated; rebuilding")
        assert status_warnings(store) == ["Search index damaged"]
        record_recovery(store, INDEX_DAMAGED, "index")
        assert status_warnings(store) == []
    finally:
        store.close()


def test_a_rule_file_that_stops_loading_is_one_health_message_and_its_fix_one_more(http_server, settings, caplog):
    """A typo in a rule's TOML stops its alerts: the user hears it once from their own targets, not a log line;
    once it is fixed, what arrived meanwhile alerts."""
    from dataclasses import replace

    from tests.test_alerts import run, subscribe

    health, hook = Endpoint(http_server, path="/health"), Endpoint(http_server, path="/hook")
    settings = replace(settings, health=replace(settings.health, notify=(health.url,)))
    items: list[Item] = []

    def publish(title: str) -> None:  # each run brings a new DeepSeek article: a batch to match
        items.append(Item(title, http_server.url(f"/s{len(items)}"), "DeepSeek news.", guid=f"s{len(items)}",
                          published=recent(1)))  # fmt: skip
        http_server.route("/feed.xml", rss(items, title="Wire"), headers=RSS)

    publish("DeepSeek one")
    subscribe(settings, http_server.url("/feed.xml"))
    write_rule(settings.rules_dir, "deepseek", query="DeepSeek", notify=[hook.url], title="DeepSeek")
    rule = settings.rules_dir / "deepseek.toml"
    good = rule.read_text()
    rule.write_text(good.replace('query = "DeepSeek"', 'query = "DeepSeek AND "export controls""'))
    for title in ("DeepSeek two", "DeepSeek three"):
        publish(title)
        run(settings, fulltext=False)
    assert len([r for r in caplog.records if "deepseek.toml" in r.getMessage()]) == 1, "logged once"
    (broken,) = health.received()
    assert broken["title"] == "Rule not loaded: deepseek.toml"
    assert "deepseek.toml:" in broken["message"] and "error: TOML syntax" in broken["message"]
    assert "reader rules check" in broken["message"]
    assert "Rule not loaded: deepseek.toml" in status_warnings(Store(settings.db_path))

    rule.write_text(good)
    publish("DeepSeek four")
    run(settings, fulltext=False)
    assert titles(health) == ["Rule not loaded: deepseek.toml", "Recovered: deepseek.toml"]
    assert sorted(titles(hook)) == [f"DeepSeek: DeepSeek {n}" for n in ("four", "one", "three", "two")]


def in_process(settings, endpoint: Endpoint, failing_cycles: int):
    """`settings` with [health] notify to `endpoint`, no pages: for refreshes run in this process (`run`)."""
    return replace(settings, fetch=replace(settings.fetch, fulltext=False),
                   health=replace(settings.health, notify=(endpoint.url,), failing_cycles=failing_cycles))  # fmt: skip


def test_feeds_failing_together_are_one_message_and_their_recovery_one_more(http_server, settings):
    """A host that serves several feeds goes down: they fail at once, and the user hears of it once."""
    health = Endpoint(http_server, path="/health")
    settings = in_process(settings, health, failing_cycles=1)
    feeds = [FlakyFeed(http_server, path=f"/flaky{k}.xml") for k in range(4)]
    feeds[3].fixed = True
    subscribe(settings, *(feed.url for feed in feeds))
    run(settings)
    (told,) = health.received()
    assert told["title"] == "3 feeds failing" and all(feed.url in told["message"] for feed in feeds[:3])
    for feed in feeds:
        feed.fixed = True
    run(settings)
    assert titles(health) == ["3 feeds failing", "Recovered: 3 feeds"]
    assert "refreshed successfully again" in health.received()[1]["message"]


def test_every_feed_failing_is_the_network_told_once_and_its_return_once(http_server, settings):
    health = Endpoint(http_server, path="/health")
    settings = in_process(settings, health, failing_cycles=2)
    feeds = [FlakyFeed(http_server, path=f"/flaky{k}.xml") for k in range(3)]
    subscribe(settings, *(feed.url for feed in feeds))
    for _cycle in range(3):
        run(settings)
    assert titles(health) == ["Every feed failing"]
    assert "all 3 feeds failed their last refresh ('HTTP 500" in health.received()[0]["message"]
    for feed in feeds:
        feed.fixed = True
    run(settings)
    assert titles(health) == ["Every feed failing", "Feeds refreshing again"]


def test_doctor_names_one_feed_subscribed_in_two_spellings_as_feeds_list_does(settings):
    """A database from before feed URLs were compared in one form (`HTTP://Host/feed` and `http://host/feed`):
    doctor names the two subscriptions on one line under feeds, with the `feeds remove` advice of `feeds list`."""
    url = "http://reader:s3cret@127.0.0.1:9/feed.xml"
    Store(settings.db_path).add_feed(url)
    with sqlite3.connect(settings.db_path) as db:  # as an older reader stored the second spelling
        db.execute("INSERT INTO feeds (url, title, grp, site_url, created_at) SELECT ?, title, grp, site_url, "
                   "created_at FROM feeds", (url.replace("http://", "HTTP://"),))  # fmt: skip
    cli = dict(data=settings.data_dir, config=settings.config_dir)
    listed = reader("feeds", "list", **cli)
    (advice,) = [line.removeprefix("warning: ") for line in listed.err.splitlines() if "are one feed" in line]

    doctor = reader("doctor", **cli)
    feeds = [line for line in doctor.out.splitlines() if line.split()[1:2] == ["feeds:"]]
    assert doctor.code == 1 and feeds[-1] == f"NEEDS feeds: {advice}", doctor.out
    assert "feeds 1, 2 are one feed" in advice and "'reader feeds remove 2'" in advice and "s3cret" not in doctor.out
    assert [f["text"] for f in reader("doctor", "--json", **cli).json() if "one feed" in f["text"]] == [advice]
