"""Alerts end to end: real feeds and pages from a local server, the real pipeline, and Apprise
delivering with json:// to a local endpoint that the tests read back."""

from __future__ import annotations

import asyncio
import json
import os
import time as time_module
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

import pytest
from apprise import NotifyFormat, OverflowMode

from reader.alerts import deliver_due, next_digest, quiet_until, search_batch, search_in_worker
from reader.config import Settings
from reader.index import SearchIndex, parse_query
from reader.ingest import IngestReport, ingest, worker_pool, writer
from reader.models import ParsedArticle
from reader.messages import Message
from reader.targets import KEY_FILE, service_for
from reader.rules import QuietHours, load_rules, write_rule
from reader.store import Alert, AlertSource, Store, utcnow
from tests.clirun import reader
from tests.feedgen import Item, recent, rss
from tests.httpserver import HTTPServer, Response
from tests.sites import (
    DEEPSEEK_BODY_MATCH, DEEPSEEK_SCENARIOS, DEEPSEEK_SIDEBAR_ONLY, DEEPSEEK_STEMMED, DEEPSEEK_SUMMARY_MATCH,
)  # fmt: skip

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
QUERY = 'DeepSeek AND "export controls"'
MATCHING = (DEEPSEEK_BODY_MATCH, DEEPSEEK_SUMMARY_MATCH, DEEPSEEK_STEMMED)


# -- the world: feeds, pages, a notification endpoint -------------------------------------------


def serve_scenarios(server) -> str:
    """Serve each DeepSeek scenario's page, and a feed announcing them (title, summary, link); returns its URL."""
    items = []
    for sc in DEEPSEEK_SCENARIOS:
        page = server.route(f"/{sc.name}.html", sc.page.html, headers=HTML)
        items.append(Item(sc.title, page, sc.summary, published=recent(2)))
    return server.route("/feed.xml", rss(items, title="Chip Wire"), headers=RSS)


class Endpoint:
    """A notification endpoint on the test server: answers `status`, and keeps what it accepted."""

    def __init__(self, server, path: str = "/hook"):
        self.server, self.path, self.status = server, path, 200
        self.answers: list[int] = []
        server.route(path, handler=self._answer)

    @property
    def url(self) -> str:
        return f"json://{self.server.host}:{self.server.port}{self.path}"

    def _answer(self, _seen) -> Response:
        self.answers.append(self.status)
        return Response(self.status, b"ok" if self.status < 300 else b"broken")

    def posts(self) -> list[dict]:
        return [json.loads(body) for path, _headers, body in list(self.server.posted) if path == self.path]

    def received(self) -> list[dict]:
        """The notifications it accepted (answered 2xx), as JSON payloads."""
        return [post for post, status in zip(self.posts(), self.answers) if status < 300]

    def titles(self) -> list[str]:
        return sorted(n["title"] for n in self.received())


def run(settings, **options) -> IngestReport:
    """One ingest, as `reader fetch` runs it (threads stand in for the process pool: same code, faster start)."""
    with writer(settings) as (store, index), ThreadPoolExecutor(2) as pool:
        return asyncio.run(ingest(settings, store, index, pool, **options))


def alerts_of(settings) -> list[Alert]:
    store = Store(settings.db_path)
    try:
        return store.recent_alerts(limit=1000)
    finally:
        store.close()


def subscribe(settings, *urls: str) -> None:
    store = Store(settings.db_path)
    for url in urls:
        store.add_feed(url)
    store.close()


def with_alerts(settings, **changes):
    return replace(settings, alerts=replace(settings.alerts, **changes))


@dataclass
class World:
    settings: Settings
    server: HTTPServer
    endpoint: Endpoint

    def rule(self, name="deepseek", query=QUERY, notify=None, **options) -> None:
        write_rule(self.settings.rules_dir, name, query=query, notify=notify or [self.endpoint.url], overwrite=True,
                   **options)  # fmt: skip

    def cli(self, *args):
        return reader(*args, data=self.settings.data_dir, config=self.settings.config_dir)


@pytest.fixture
def world(http_server, settings) -> World:
    """A local server with a notification endpoint; no feed, no rule yet."""
    return World(settings, http_server, Endpoint(http_server))


@pytest.fixture
def deepseek(world) -> World:
    """The four DeepSeek scenarios in one feed, and a rule `DeepSeek AND "export controls"` that notifies."""
    subscribe(world.settings, serve_scenarios(world.server))
    world.rule(title="DeepSeek controls")
    return world


def expected_titles(prefix="DeepSeek controls") -> list[str]:
    return sorted(f"{prefix}: {sc.title}" for sc in MATCHING)


# -- matching is the search -----------------------------------------------------------------


def test_body_summary_and_stemmed_matches_alert_sidebar_mention_does_not(deepseek):
    report = run(deepseek.settings)
    assert {a.title for a in alerts_of(deepseek.settings)} == {sc.title for sc in MATCHING}
    assert len(report.alerts.new_alerts) == 3 and report.delivery.sent == 3
    assert deepseek.endpoint.titles() == expected_titles()
    body = next(n["message"] for n in deepseek.endpoint.received() if DEEPSEEK_SUMMARY_MATCH.title in n["title"])
    assert "Chip Wire" in body and "/summary_match.html" in body  # feed and link
    assert "*DeepSeek*" in body and "*export controls*" in body  # the snippet, matched terms marked
    assert "**" not in body  # a JSON webhook's reader is a program: plain text (see below)
    assert str(datetime.now(UTC).year) in body  # the date


def test_a_rule_matches_what_the_same_search_finds(deepseek):
    run(deepseek.settings)
    store, index = Store(deepseek.settings.db_path), SearchIndex(deepseek.settings.index_dir)
    found = {h.article_id for h in index.search(parse_query(QUERY), limit=None)}
    assert found == {a.article_id for a in alerts_of(deepseek.settings)}
    assert len(found) == 3 and store.queued_for_matching() == 0
    store.close()


def test_an_update_alerts_only_when_a_rule_now_matches_it(deepseek):
    run(deepseek.settings)
    run(deepseek.settings)  # the same feed again: nothing new
    assert len(alerts_of(deepseek.settings)) == 3
    updated = [Item(sc.title + " (updated)", deepseek.server.url(f"/{sc.name}.html"),
                    sc.summary + " Now with DeepSeek and export controls.", published=recent(2))
               for sc in DEEPSEEK_SCENARIOS]  # fmt: skip
    deepseek.server.route("/feed.xml", rss(updated, title="Chip Wire"), headers=RSS)
    report = run(deepseek.settings)
    assert len(report.updated_ids) == 4 and not report.new_ids
    # The sidebar-only article matches now: it alerts, once; the three that matched before do not again.
    sidebar = f"DeepSeek controls: {DEEPSEEK_SIDEBAR_ONLY.title} (updated)"
    assert deepseek.endpoint.titles() == sorted([*expected_titles(), sidebar])
    assert len(alerts_of(deepseek.settings)) == 4
    reworded = [replace(item, title=item.title + "!") for item in updated]  # nothing the rule sees changes
    deepseek.server.route("/feed.xml", rss(reworded, title="Chip Wire"), headers=RSS)
    report = run(deepseek.settings)
    assert len(report.updated_ids) == 4 and not report.alerts.new_alerts
    assert len(deepseek.endpoint.received()) == 4


def test_a_feed_read_again_converts_only_the_entry_that_changed(deepseek):
    """Many feeds change their body on every fetch (a build date) with no entry changed: the entries whose raw
    fields are their articles' are not converted again (`unchanged`: nothing updated, matched or indexed), and
    the one that changed is updated and matched again as ever."""
    def serve(build: str, more: str = "") -> None:
        items = [Item(sc.title, deepseek.server.url(f"/{sc.name}.html"),
                      sc.summary + (more if sc is DEEPSEEK_SIDEBAR_ONLY else ""), published=recent(2))
                 for sc in DEEPSEEK_SCENARIOS]  # fmt: skip
        extra = f"<lastBuildDate>{build}</lastBuildDate>"
        deepseek.server.route("/feed.xml", rss(items, title="Chip Wire", extra=extra), headers=RSS)

    serve("Mon, 30 Nov 2026 08:00:00 GMT")
    first = run(deepseek.settings)
    assert (len(first.new_ids), first.unchanged, len(alerts_of(deepseek.settings))) == (4, 0, 3)
    serve("Tue, 01 Dec 2026 08:00:00 GMT", " Now with DeepSeek and export controls.")
    again = run(deepseek.settings)
    assert (again.new_ids, len(again.updated_ids), again.unchanged, again.indexed) == ([], 1, 3, 1)
    assert len(alerts_of(deepseek.settings)) == 4  # the sidebar-only article matches now


def test_a_second_feeds_copy_of_a_story_joins_its_alert_as_a_source(world):
    sc, s = DEEPSEEK_BODY_MATCH, world.server
    page = s.route("/story.html", sc.page.html, headers=HTML)
    s.route("/go/story", status=301, headers={"Location": "/story.html?utm_source=rss&utm_medium=feed"})
    one = s.route("/a.xml", rss([Item(sc.title, page + "?utm_campaign=x", sc.summary, published=recent(1))],
                                title="Wire One"), headers=RSS)  # fmt: skip
    two = s.route("/b.xml", rss([Item(sc.title, s.url("/go/story"), sc.summary, published=recent(1))],
                                title="Wire Two"), headers=RSS)  # fmt: skip
    subscribe(world.settings, one, two)
    world.rule()
    run(world.settings)
    [alert] = alerts_of(world.settings)
    assert {s.feed_title for s in alert.sources} == {"Wire One", "Wire Two"}
    [sent] = world.endpoint.received()  # one message: the copy that landed second joined it silently
    assert alert.sources[0].feed_title in sent["message"]


def test_a_story_seen_later_in_another_feed_is_not_sent_again(world):
    sc, s = DEEPSEEK_BODY_MATCH, world.server
    page = s.route("/story.html", sc.page.html, headers=HTML)
    subscribe(world.settings, s.route("/a.xml", rss([Item(sc.title, page, sc.summary, published=recent(1))],
                                                    title="One"), headers=RSS))  # fmt: skip
    world.rule()
    run(world.settings)
    again = Item(sc.title, page + "?fbclid=abc", sc.summary, published=recent(1))
    subscribe(world.settings, s.route("/b.xml", rss([again], title="Two"), headers=RSS))
    run(world.settings)
    [alert] = alerts_of(world.settings)
    assert [s.feed_title for s in alert.sources] == ["One", "Two"]
    assert len(world.endpoint.received()) == 1


@pytest.mark.parametrize("links", ["same", "different"])
@pytest.mark.parametrize("together", [False, True], ids=["second-later", "both-at-once"])
def test_a_feed_subscribed_twice_alerts_once_per_story(world, links, together):
    """The same feed under two URLs (its entries' links the same, or not: a mobile or AMP edition): its copy of
    an alerted article is the same outlet's, so it joins the alert and sends nothing, even to a rule that hears
    of every later outlet; whether it comes later or in the same refresh."""
    sc, s = DEEPSEEK_SUMMARY_MATCH, world.server
    item = Item(sc.title, s.url("/story.html"), sc.summary, guid="urn:chip-wire:1", published=recent(1))
    copy = replace(item, link=s.url("/amp/story.html")) if links == "different" else item
    one = s.route("/feed.xml", rss([item], title="Chip Wire"), headers=RSS)
    two = s.route("/feed", rss([copy], title="Chip Wire"), headers=RSS)
    world.rule(story_updates="every")
    subscribe(world.settings, one, *([two] if together else []))
    run(world.settings, fulltext=False)
    if not together:
        subscribe(world.settings, two)
        run(world.settings, fulltext=False)
    [alert] = alerts_of(world.settings)
    assert len(alert.sources) == 2 and len(world.endpoint.received()) == 1


# -- no flood ----------------------------------------------------------------------------------


def test_a_new_rule_alerts_only_on_articles_arriving_after_it(deepseek):
    settings, s = deepseek.settings, deepseek.server
    (settings.rules_dir / "deepseek.toml").unlink()
    run(settings)  # these articles arrive while there is no rule
    store = Store(settings.db_path)  # and this one is stored but not yet matched, as a crashed run leaves it
    store.upsert_articles(store.feeds()[0].id, [ParsedArticle("left", "DeepSeek export controls, left over",
                          s.url("/left"), summary="DeepSeek export controls", published=recent(1))],
                          fulltext=False, canonical={})  # fmt: skip
    store.close()
    written = time_module.time()
    deepseek.rule()  # written after it arrived (stamped so: file times come from a clock coarser than a millisecond)
    os.utime(settings.rules_dir / "deepseek.toml", (written, written))
    newcomer = Item("DeepSeek faces new export controls", s.url("/new.html"),
                    "DeepSeek and the latest export controls.", published=recent(0.1))  # fmt: skip
    s.route("/new.html", "<html><body><p>Short.</p></body></html>", headers=HTML)
    old = [Item(sc.title, s.url(f"/{sc.name}.html"), sc.summary, published=recent(2)) for sc in DEEPSEEK_SCENARIOS]
    s.route("/feed.xml", rss([newcomer, *old], title="Chip Wire"), headers=RSS)
    run(settings)
    assert [a.title for a in alerts_of(settings)] == [newcomer.title]
    assert deepseek.endpoint.titles() == [f"deepseek: {newcomer.title}"]


@pytest.mark.parametrize("first_fetch_hours, expected", [(48, {"Fresh"}), (100, {"Fresh", "Three days old"})])
def test_a_feeds_first_fetch_alerts_only_on_recent_articles(world, first_fetch_hours, expected):
    def item(title, hours):
        return Item(title, world.server.url(f"/{hours}.html"), "DeepSeek and export controls.", published=recent(hours))

    feed = world.server.route("/feed.xml", rss([item("Fresh", 1), item("Three days old", 72)]), headers=RSS)
    subscribe(world.settings, feed)
    world.rule()
    settings = with_alerts(world.settings, first_fetch_hours=first_fetch_hours)
    run(settings, fulltext=False)
    assert {a.title for a in alerts_of(settings)} == expected
    # After the first fetch an old article alerts like any other: it is new to us.
    world.server.route("/feed.xml", rss([item("Fresh", 1), item("Three days old", 72), item("Found late", 90)]),
                       headers=RSS)  # fmt: skip
    run(settings, fulltext=False)
    assert {a.title for a in alerts_of(settings)} == expected | {"Found late"}


# -- delivery: failures, retries, exactly once ----------------------------------------------------


def test_an_endpoint_failing_then_recovering_gets_each_alert_exactly_once(deepseek):
    deepseek.endpoint.status = 500
    report = run(deepseek.settings)
    assert report.delivery.sent == 0 and report.delivery.failed == 1
    assert len(deepseek.endpoint.posts()) == 1  # after one failure the target's other messages wait their turn
    deliveries = [d for a in alerts_of(deepseek.settings) for d in a.deliveries]
    assert {d.state for d in deliveries} == {"pending"}  # a failed delivery is never recorded as sent
    [tried] = [d for d in deliveries if d.attempts]
    assert "500" in tried.last_error
    listing = deepseek.cli("alerts")
    assert listing.code == 0 and "pending" in listing.out and "500" in listing.out

    deepseek.endpoint.status = 200
    retried = deepseek.cli("alerts", "retry")
    assert retried.code == 0, retried.err
    assert deepseek.endpoint.titles() == expected_titles()
    assert deepseek.cli("alerts", "retry").code == 0
    assert deepseek.endpoint.titles() == expected_titles()  # nothing sent twice
    assert {a["state"] for a in deepseek.cli("alerts", "--json").json()} == {"sent"}


def test_delivery_backs_off_then_gives_up_visibly(deepseek):
    deepseek.endpoint.status = 500
    settings = with_alerts(deepseek.settings, max_attempts=2, retry_base_seconds=60)
    run(settings)
    store = Store(settings.db_path)
    [tried] = [d for a in store.recent_alerts() for d in a.deliveries if d.attempts]
    assert timedelta(seconds=55) <= tried.next_attempt_at - utcnow() <= timedelta(seconds=65)
    assert asyncio.run(deliver_due(settings, store)).failed == 0  # not due yet: nothing is tried
    later = asyncio.run(deliver_due(settings, store, now=utcnow() + timedelta(minutes=2)))
    assert later.failed == 1 and later.given_up == 1
    [gave_up] = [a for a in store.recent_alerts() if a.state == "failed"]
    assert "500" in gave_up.deliveries[0].last_error
    store.close()
    retried = deepseek.cli("alerts", "retry")
    assert retried.code == 1 and "500" in retried.err


def test_a_rule_with_a_syntax_error_is_reported_while_the_others_fire(deepseek):
    broken = deepseek.settings.rules_dir / "broken.toml"
    broken.write_text("query = 'DeepSeek AND (export'\nnotify = ['json://127.0.0.1:1/x']\n")
    broken.chmod(0o600)
    report = run(deepseek.settings)
    assert len(report.alerts.new_alerts) == 3 and deepseek.endpoint.titles() == expected_titles()
    assert any("broken.toml:1" in p and "error" in p for p in report.alerts.problems)


def test_notification_urls_are_never_shown_or_stored_whole(deepseek, caplog):
    secret = "s3cretT0ken"
    deepseek.endpoint.status = 500
    s = deepseek.server
    deepseek.rule(notify=[f"json://reader:{secret}@{s.host}:{s.port}/hook"])
    with caplog.at_level("DEBUG"):
        report = run(deepseek.settings)
    assert report.delivery.failed == 1 and "reader:****@" in caplog.text and secret not in caplog.text
    assert not any(secret in e for e in report.delivery.errors)
    outputs = [deepseek.cli("alerts"), deepseek.cli("alerts", "--json"), deepseek.cli("alerts", "retry")]
    assert "reader:****@" in outputs[0].out
    assert outputs[1].json()[0]["deliveries"][0]["target"].startswith("json://reader:****@")
    for output in outputs:
        assert secret not in output.out + output.err
    stored = b"".join(p.read_bytes() for p in deepseek.settings.data_dir.glob("reader.sqlite*"))
    assert secret.encode() not in stored
    assert (deepseek.settings.data_dir / KEY_FILE).stat().st_mode & 0o777 == 0o600  # keys the stored URL hashes
    assert (deepseek.settings.rules_dir / "deepseek.toml").stat().st_mode & 0o777 == 0o600


# -- digests and quiet hours ------------------------------------------------------------------------


def test_digest_sends_one_message_per_rule_at_its_time(world):
    subscribe(world.settings, serve_scenarios(world.server))
    world.rule("digest", mode="digest", digest_at=[time(8, 0), time(18, 0)], timezone="UTC")
    run(world.settings)
    assert world.endpoint.posts() == []
    store = Store(world.settings.db_path)
    held = [d for a in store.recent_alerts() for d in a.deliveries]
    assert len(held) == 3 and {d.state for d in held} == {"held"}
    due = held[0].next_attempt_at
    assert due.time() in (time(8, 0), time(18, 0)) and due > utcnow()
    assert asyncio.run(deliver_due(world.settings, store, now=due - timedelta(seconds=1))).sent == 0
    assert asyncio.run(deliver_due(world.settings, store, now=due)).sent == 1
    [digest] = world.endpoint.received()
    assert digest["title"] == "digest: 3 new articles"
    assert all(sc.title in digest["message"] for sc in MATCHING)
    assert asyncio.run(deliver_due(world.settings, store, now=due + timedelta(days=1))).sent == 0
    store.close()


def test_quiet_hours_hold_instant_alerts_then_send_them_as_one_message(world):
    now = datetime.now(UTC)
    start, end = ((now + timedelta(hours=h)).time().replace(second=0, microsecond=0) for h in (-1, 1))
    subscribe(world.settings, serve_scenarios(world.server))
    world.rule("quiet", quiet_hours=QuietHours(start, end), timezone="UTC")
    report = run(world.settings)
    assert report.delivery.held == 3 and world.endpoint.posts() == []
    store = Store(world.settings.db_path)
    until = min(d.next_attempt_at for a in store.recent_alerts() for d in a.deliveries)
    assert timedelta(minutes=58) < until - now <= timedelta(hours=1)
    assert asyncio.run(deliver_due(world.settings, store, now=until)).sent == 1
    [message] = world.endpoint.received()
    assert message["title"] == "quiet: 3 new articles"
    store.close()


def test_schedules_follow_the_rules_time_zone(tmp_path):
    write_rule(tmp_path, "r", query="x", notify=["json://127.0.0.1:1/x"], mode="digest", digest_at=[time(8, 0)],
               timezone="Asia/Tokyo", quiet_hours=QuietHours(time(22, 0), time(7, 0)))  # fmt: skip
    [rule] = load_rules(tmp_path).rules
    at_noon_utc = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # 21:00 in Tokyo
    assert next_digest(rule, at_noon_utc) == datetime(2025, 3, 1, 23, 0, tzinfo=UTC)  # 08:00 Tokyo, next day
    assert quiet_until(rule, at_noon_utc) is None
    at_night = datetime(2025, 3, 1, 14, 0, tzinfo=UTC)  # 23:00 in Tokyo: quiet until 07:00
    assert quiet_until(rule, at_night) == datetime(2025, 3, 1, 22, 0, tzinfo=UTC)


# -- messages in the format each target takes ------------------------------------------------------


def alert(title="A [bold] *title*", snippet="x DeepSeek and export controls", spans=((2, 10), (15, 30))) -> Alert:
    when = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    return Alert(1, "r", 1, title, "https://example.com/a", when, snippet, spans, when,
                 (AlertSource(1, "Wire\x1b[31m One", "https://example.com/a"),
                  AlertSource(2, "Wire Two", "https://example.org/b")), ())  # fmt: skip


def test_messages_are_rendered_for_markdown_html_and_text_targets():
    message = Message("Rule", (alert(),), "UTC")
    markdown, html, text = (message.body(f) for f in (NotifyFormat.MARKDOWN, NotifyFormat.HTML, NotifyFormat.TEXT))
    assert "**DeepSeek**" in markdown and "**export controls**" in markdown
    assert "Wire One, Wire Two" in markdown and "2025-03-01 12:00 UTC" in markdown
    assert "Also in Wire Two: <https://example.org/b>" in markdown  # an autolink: nothing in it read as Markdown
    assert "<b>DeepSeek</b>" in html and '<a href="https://example.com/a">' in html
    assert "*DeepSeek*" in text and "**" not in text and "<b>" not in text
    assert not any("\x1b" in body for body in (markdown, html, text))
    assert message.title == "Rule: A [bold] *title*"
    digest = Message("Rule", (alert(), alert("Second <script> *x*")), "UTC")
    assert digest.title == "Rule: 2 new articles"
    assert "**2. Second \\<script\\> \\*x\\***" in digest.body(NotifyFormat.MARKDOWN)
    assert "&lt;script&gt;" in digest.body(NotifyFormat.HTML)


def test_a_tag_notifies_the_urls_tagged_so_in_the_apprise_config(deepseek, tmp_path):
    config = tmp_path / "apprise.txt"
    other = Endpoint(deepseek.server, "/other")
    config.write_text(f"reader={deepseek.endpoint.url}\nwork={other.url}\n")
    settings = with_alerts(deepseek.settings, apprise_config=str(config))
    deepseek.rule(notify=["reader"], title="DeepSeek controls")
    run(settings)
    assert deepseek.endpoint.titles() == expected_titles() and other.received() == []


def test_a_text_only_target_gets_plain_text(deepseek):
    sms = Endpoint(deepseek.server, "/sms")
    deepseek.rule(notify=[sms.url + "?format=text"])
    run(deepseek.settings)
    bodies = [n["message"] for n in sms.received()]
    assert len(bodies) == 3 and not any("**" in b for b in bodies)
    assert any("*export controls*" in b for b in bodies)


def test_ntfy_gets_markdown_and_a_json_webhook_plain_text_feed_text_neutralised_for_each(world, caplog):
    """ntfy's apps render Markdown when told it is (Apprise's X-Markdown header); a JSON webhook is read by a
    program, which gets the text as it is. Feed text is escaped for Markdown, links are autolinks (a
    `javascript:` one is no link), and the ntfy URL's password appears nowhere, DEBUG included."""
    s, secret = world.server, "s3cretT0ken"
    s.route("/", handler=lambda _seen: Response(200, b'{"id": "x"}'))  # ntfy: the topic is in the JSON posted
    summary = "DeepSeek and export controls: see [this](javascript:alert(1)) &lt;b&gt;now&lt;/b&gt; &amp; later"
    subscribe(world.settings, s.route("/feed.xml", rss([Item("DeepSeek_R2 [beta]", "javascript:alert(1)", summary,
                                                              published=recent(1))], title="Chip_Wire"), headers=RSS))
    world.rule(notify=[f"ntfy://reader:{secret}@{s.host}:{s.port}/alerts", world.endpoint.url,
                       f"ntfy://{s.host}:{s.port}/plain?format=text"])  # fmt: skip
    with caplog.at_level("DEBUG"):
        run(world.settings, fulltext=False)
    ntfy = {json.loads(body)["topic"]: ({k.lower(): v for k, v in headers.items()}, json.loads(body)["message"])
            for path, headers, body in s.posted if path == "/"}  # fmt: skip
    headers, markdown = ntfy["alerts"]
    assert headers.get("x-markdown") == "yes" and "**Chip\\_Wire** · " in markdown
    assert "> **DeepSeek** and **export controls**: see \\[this\\](javascript:alert(1)) \\<b\\>now" in markdown
    assert "\\& later" in markdown and "<javascript" not in markdown
    headers, text = ntfy["plain"]
    assert "x-markdown" not in headers and "*DeepSeek*" in text and "**" not in text
    [sent] = world.endpoint.received()
    assert sent["title"] == "deepseek: DeepSeek_R2 [beta]"
    assert "Chip_Wire · " in sent["message"] and "see [this](javascript:alert(1)) <b>now</b> & later" in sent["message"]
    assert "\\" not in sent["message"]
    assert secret not in caplog.text and "reader:****@" in caplog.text


def test_targets_named_by_a_tag_get_the_same_formats_unless_their_entry_sets_one(deepseek, tmp_path):
    """Apprise's URL for a service in its config spells out every option (`format=text` for ntfy): only what
    the entry itself sets counts as chosen."""
    s = deepseek.server
    s.route("/", handler=lambda _seen: Response(200, b'{"id": "x"}'))
    config = tmp_path / "apprise.yml"
    config.write_text(f"urls:\n  - ntfy://{s.host}:{s.port}/alerts:\n      tag: reader\n"
                      f"  - {deepseek.endpoint.url}:\n      tag: reader\n      format: markdown\n")  # fmt: skip
    deepseek.rule(notify=["reader"])
    run(with_alerts(deepseek.settings, apprise_config=str(config)))
    ntfy = [({k.lower(): v for k, v in headers.items()}, json.loads(body)) for path, headers, body in s.posted
            if path == "/"]  # fmt: skip
    assert len(ntfy) == 3 and all(h.get("x-markdown") == "yes" and "**DeepSeek**" in b["message"] for h, b in ntfy)
    assert all("**DeepSeek**" in n["message"] for n in deepseek.endpoint.received())  # its entry asks Markdown


def test_long_messages_are_cut_to_fit_unless_the_url_says_otherwise():
    assert service_for("json://127.0.0.1:1/x").overflow_mode == OverflowMode.TRUNCATE
    assert service_for("json://127.0.0.1:1/x?overflow=split").overflow_mode == OverflowMode.SPLIT
    spelt_out = "json://127.0.0.1:1/x?method=POST&overflow=upstream"  # as Apprise spells a config's entry
    assert service_for(spelt_out, frozenset()).overflow_mode == OverflowMode.TRUNCATE


def test_a_worker_process_finds_what_this_process_finds(deepseek):
    run(deepseek.settings)
    index = SearchIndex(deepseek.settings.index_dir)
    ids = {a.article_id for a in alerts_of(deepseek.settings)} | {1, 2, 3, 4}
    queries = [parse_query(q) for q in (QUERY, "DeepSeek", '"export control"', "chatbot NOT DeepSeek")]
    with worker_pool() as pool:
        shared = pool.submit(search_in_worker, str(index.path), queries, ids).result()
    assert shared == search_batch(index, queries, ids) and len(shared[1]) == 4
