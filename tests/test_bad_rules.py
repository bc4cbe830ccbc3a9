"""One bad rule never touches the others: queries past the depth and size limits are refused with their
file and line, and a rule that raises while matching is left out of that batch only."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import timedelta
from dataclasses import replace

import pytest

from reader.alerts import MISSED_KEY, Missed, match_batch, match_new_articles, rule_errors
from reader.health import status_warnings, watch
from reader.index import parse_query
from reader.ingest import group_stories, open_index, update_index
from reader.models import ParsedArticle
from reader.query import MAX_DEPTH, MAX_TERMS
from reader.rules import load_rules, write_rule
from reader.store import Store, utcnow
from tests.clirun import reader
from tests.feedgen import Item, recent, rss
from tests.test_alerts import RSS, Endpoint

GOOD = 'DeepSeek AND "export controls"'
DEEP = "(" * 200 + "DeepSeek" + ")" * 200
NOTS = "NOT " * 1000 + "DeepSeek"


# Three different events the good rule matches (the same event from three feeds would be one story, one alert).
EVENTS = {
    1: ("Brokers in Singapore routed Nvidia accelerators to DeepSeek",
        "DeepSeek faces new export controls after brokers in Singapore routed Nvidia accelerators to it."),
    2: ("Dutch officials extend rules to ASML lithography servicing",
        "The Netherlands widens export controls to ASML servicing; DeepSeek suppliers in Wuhan react."),
    3: ("Tokyo adds dilution refrigerators to its licensing list",
        "Japan puts quantum refrigerators under export controls, and DeepSeek researchers in Osaka object."),
}  # fmt: skip


def story_feed(server, n: int) -> str:
    """A feed with one new article the good rule matches: a new event each time."""
    title, summary = EVENTS[n]
    item = Item(title, server.url(f"/story-{n}"), summary, guid=f"story-{n}", published=recent(1))
    return server.route(f"/feed-{n}.xml", rss([item], title=f"Wire {n}"), headers=RSS)


def write_bad_rules(rules_dir, endpoint_url: str) -> None:
    for name, query in (("deep", DEEP), ("nots", NOTS)):
        path = rules_dir / f"{name}.toml"
        path.write_text(f"# a pathological rule\nnotify = ['{endpoint_url}']\nquery = '{query}'\n")


def test_deep_and_not_rules_are_refused_by_name_and_the_good_rule_alerts_every_cycle(http_server, settings):
    endpoint = Endpoint(http_server)
    write_rule(settings.rules_dir, "good", query=GOOD, notify=[endpoint.url], title="Good")
    write_bad_rules(settings.rules_dir, endpoint.url)
    cli = dict(data=settings.data_dir, config=settings.config_dir)

    check = reader("rules", "check", **cli)
    assert check.code == 1 and "Traceback" not in check.out + check.err
    for name in ("deep", "nots"):
        line = next(x for x in check.out.splitlines() if f"{name}.toml" in x)
        assert f"{name}.toml:3: error:" in line and f"deeper than {MAX_DEPTH} levels" in line

    search = reader("search", DEEP, **cli)
    assert search.code == 2 and f"deeper than {MAX_DEPTH} levels" in search.err and "Traceback" not in search.err

    for cycle in range(1, 4):  # each daemon cycle brings one new matching article, from a new feed
        assert reader("feeds", "add", story_feed(http_server, cycle), "--no-fulltext", **cli).code == 0
        daemon = reader("daemon", "--once", **cli)
        assert daemon.code == 0, daemon.err
        assert [n["title"] for n in endpoint.received()][-1] == f"Good: {EVENTS[cycle][0]}"
    assert len(endpoint.received()) == 3


def test_too_many_terms_is_refused_with_a_plain_reason(settings):
    path = settings.rules_dir / "long.toml"
    settings.rules_dir.mkdir(parents=True)
    path.write_text("query = '" + " OR ".join(f"w{i}" for i in range(MAX_TERMS + 1)) + "'\n")
    ruleset = load_rules(settings.rules_dir)
    assert not ruleset.rules
    (problem,) = ruleset.errors
    assert problem.line == 1 and f"more than the {MAX_TERMS:,} a query may have" in problem.message


def too_deep_to_evaluate(text: str):
    """A parsed query whose plan is nested far past what the parser allows (as a bug or a future
    engine change could make one): wrapping a NOT's plan in itself thousands of times."""
    query = parse_query(text)
    wrapper = parse_query("NOT chips").plan
    plan = query.plan
    for _ in range(20_000):
        plan = replace(wrapper, **{f: plan for f in wrapper.__dataclass_fields__})
    return replace(query, plan=plan)


def with_a_failing_rule(settings, notify: str = "json://127.0.0.1:9/hook"):
    """Rules "good" and "broken" as written, and the same rules with "broken" raising while it matches."""
    write_rule(settings.rules_dir, "good", query=GOOD, notify=[notify], title="Good")
    write_rule(settings.rules_dir, "broken", query="DeepSeek", notify=[notify], title="Broken")
    loaded = load_rules(settings.rules_dir)
    broken = replace(loaded.rule("broken"), query=too_deep_to_evaluate("DeepSeek"))
    return loaded, replace(loaded, rules=tuple(broken if r.name == "broken" else r for r in loaded.rules))


def store_new_article(settings, store: Store, n: int):
    """A new article both rules match, stored, indexed and grouped (an event of its own each time)."""
    feed, _new = store.add_feed("http://127.0.0.1:9/feed.xml")
    title, summary = EVENTS[n]
    article = ParsedArticle(key=f"a{n}", title=title, link=f"http://127.0.0.1:9/a{n}", summary=summary,
                            published=utcnow())  # fmt: skip
    store.upsert_articles(feed.id, [article], fulltext=False, canonical={})
    index = open_index(settings, store)
    update_index(store, index)
    group_stories(store)
    return index


def test_a_rule_that_raises_while_matching_is_left_out_of_that_batch_and_recorded(settings):
    _loaded, rules = with_a_failing_rule(settings)
    store = Store(settings.db_path)
    try:
        index = store_new_article(settings, store, 1)
        ids = {c.article_id for c in store.articles_to_match()}
        direct = match_batch(index, [r.query for r in rules.rules], ids)
        assert list(direct.failed) == [0] and direct.hits[1] == sorted(ids)  # broken first, good second

        matched = match_new_articles(settings, store, index, rules=rules, wait_for_pages=False)
        assert list(matched.failed) == ["broken"] and len(matched.new_alerts) == 1
        assert "nested too deeply" in rule_errors(store)["broken"].error
        assert status_warnings(store) == ["Rule failing: broken"]  # what the TUI's status bar shows
    finally:
        store.close()

    listed = reader("rules", "list", "--json", data=settings.data_dir, config=settings.config_dir)
    by_name = {e["name"]: e for e in json.loads(listed.out)}
    assert "nested too deeply" in by_name["broken"]["error"] and by_name["good"]["error"] is None


def test_a_rule_failing_while_matching_is_one_health_message_and_its_recovery_one_more(http_server, settings):
    """Its alerts stop as surely as a rule file's that no longer loads: the user hears of it once from their own
    [health] targets, however many batches it fails, and once more when it matches again."""
    health, hook = Endpoint(http_server, path="/health"), Endpoint(http_server, path="/hook")
    settings = replace(settings, health=replace(settings.health, notify=(health.url,)))
    loaded, failing = with_a_failing_rule(settings, hook.url)
    store = Store(settings.db_path)
    try:
        for n, rules in ((1, failing), (2, failing), (3, loaded)):
            index = store_new_article(settings, store, n)
            assert list(match_new_articles(settings, store, index, rules=rules, wait_for_pages=False).failed) == (
                ["broken"] if rules is failing else [])  # fmt: skip
            asyncio.run(watch(settings, store))
            if n == 2:
                assert [m["title"] for m in health.received()] == ["Rule failing: broken"]
                assert status_warnings(store) == ["Rule failing: broken"]  # said once on the status bar too
    finally:
        store.close()
    told, recovered = health.received()
    assert "nested too deeply" in told["message"] and "left out of matching" in told["message"]
    assert recovered["title"] == "Recovered: broken" and "it matches again" in recovered["message"]


# -- a rule that comes back: what arrived while it could not be matched alerts then ----------------------------


def test_articles_arriving_while_a_rule_file_is_broken_alert_once_it_is_fixed(http_server, settings):
    """Edited into a TOML typo, the rule misses what arrives meanwhile; fixed, it alerts on that, once, even when
    nothing new arrives with the fix, and goes on as before."""
    endpoint = Endpoint(http_server)
    write_rule(settings.rules_dir, "good", query=GOOD, notify=[endpoint.url], title="Good")
    cli = dict(data=settings.data_dir, config=settings.config_dir)
    items: list[Item] = []

    def publish(n: int) -> str:  # one feed; each article an event of its own (an outlet's own follow-up alerts)
        items.append(Item(*EVENTS[n][:1], http_server.url(f"/story-{n}"), EVENTS[n][1], guid=f"story-{n}",
                          published=recent(1)))  # fmt: skip
        return http_server.route("/feed.xml", rss(list(items), title="Wire"), headers=RSS)

    def cycle(*command: str) -> list[str]:
        done = reader(*command, **cli)
        assert done.code == 0 and "Traceback" not in done.err, done.err
        return [n["title"] for n in endpoint.received()]

    assert reader("feeds", "add", publish(1), "--no-fulltext", **cli).code == 0
    assert cycle("fetch") == [f"Good: {EVENTS[1][0]}"]
    path = settings.rules_dir / "good.toml"
    fixed = path.read_text()
    path.write_text(fixed.replace("query = ", "query = = "))  # a typo
    publish(2)
    assert cycle("fetch") == [f"Good: {EVENTS[1][0]}"]  # left out: the rule does not load
    path.write_text(fixed)
    # the feed is not due: nothing new arrives in this cycle, and what the rule missed alerts now
    assert cycle("daemon", "--once") == [f"Good: {EVENTS[n][0]}" for n in (1, 2)]
    publish(3)
    assert cycle("fetch") == [f"Good: {EVENTS[n][0]}" for n in (1, 2, 3)]  # and each once


def test_a_rule_that_matches_again_alerts_on_what_it_was_left_out_of_once_per_story(settings):
    """The catch-up keeps the story rule: an article of a story the rule alerted before it failed joins that
    alert; one of a new story alerts; nothing alerts twice, and the other rule is untouched."""
    loaded, failing = with_a_failing_rule(settings)
    store = Store(settings.db_path)
    try:
        index = store_new_article(settings, store, 1)
        assert len(match_new_articles(settings, store, index, rules=loaded, wait_for_pages=False).new_alerts) == 2
        for n in (2, 3):
            index = store_new_article(settings, store, n)
            assert list(match_new_articles(settings, store, index, rules=failing, wait_for_pages=False).failed) == [
                "broken"]  # fmt: skip
        # article 2 again from a second outlet: the same story, arriving while the rule fails
        feed, _new = store.add_feed("http://127.0.0.2:9/feed.xml")
        title, summary = EVENTS[2]
        store.upsert_articles(feed.id, [ParsedArticle(key="b2", title=title, link="http://127.0.0.2:9/b2",
                                                      summary=summary, published=utcnow())],
                              fulltext=False, canonical={})  # fmt: skip
        update_index(store, index)
        group_stories(store)
        match_new_articles(settings, store, index, rules=failing, wait_for_pages=False)
        write_rule(settings.rules_dir, "broken", query="DeepSeek", notify=["json://127.0.0.1:9/hook"], title="Broken",
                   overwrite=True)  # rewritten (flatter), it matches again, though nothing new is queued
        back = match_new_articles(settings, store, index, rules=loaded, wait_for_pages=False)
        assert not back.failed and len(back.new_alerts) == 2
        broken = {a.title: a for a in store.recent_alerts(limit=100) if a.rule == "broken"}
        assert sorted(broken) == sorted(EVENTS[n][0] for n in (1, 2, 3))
        assert len(broken[EVENTS[2][0]].sources) == 2  # one story, two outlets, one alert
        assert sorted(a.title for a in store.recent_alerts(limit=100) if a.rule == "good") == sorted(
            EVENTS[n][0] for n in (1, 2, 3))  # fmt: skip
        assert not match_new_articles(settings, store, index, rules=loaded, wait_for_pages=False).new_alerts
        assert store.get_meta("rules_missed") == "{}"
    finally:
        store.close()


def test_the_catch_up_is_bounded_by_first_fetch_hours_and_skips_muted_stories(settings, caplog):
    """A rule broken for days does not flood: only what arrived within `first_fetch_hours` alerts (the rest is
    said in the log), and a story muted meanwhile stays muted. A rule broken from the start catches up too: it
    was written before those articles arrived."""
    write_rule(settings.rules_dir, "good", query=GOOD, notify=["json://127.0.0.1:9/hook"])
    path = settings.rules_dir / "good.toml"
    fixed = path.read_text()
    path.write_text(fixed.replace("query = ", "query = = "))
    store = Store(settings.db_path)
    try:
        for n, ago in ((1, timedelta(days=3)), (2, timedelta(hours=2)), (3, timedelta(hours=1))):
            index = store_new_article(settings, store, n)
            assert not match_new_articles(settings, store, index, now=utcnow() - ago, wait_for_pages=False).new_alerts
        muted = next(a.story_id for a in store.articles_by_ids(list(range(1, 4))).values() if a.title == EVENTS[3][0])
        store.set_story_muted(muted, utcnow() + timedelta(days=7))
        path.write_text(fixed)
        back = match_new_articles(settings, store, index, wait_for_pages=False)
        assert [a.title for a in store.alerts_by_ids(back.new_alerts).values()] == [EVENTS[2][0]]
        assert "1 that arrived more than [alerts] first_fetch_hours (48) ago were not" in caplog.text
    finally:
        store.close()


def test_a_new_rule_broken_from_the_start_catches_up_only_on_what_arrived_after_it_was_written(settings):
    """No flood from a new rule: fixed, a rule that never loaded alerts on what arrived after its file was first
    written, never on what was stored before, even an article still waiting to be matched then."""
    store = Store(settings.db_path)
    try:
        index = store_new_article(settings, store, 1)  # stored, not matched yet
        written = time.time() + 0.05  # (file times come from a clock coarser than the queue's milliseconds)
        write_rule(settings.rules_dir, "fresh", query=GOOD, notify=["json://127.0.0.1:9/hook"])
        path = settings.rules_dir / "fresh.toml"
        fixed = path.read_text()
        path.write_text(fixed.replace("query = ", "query = = "))
        os.utime(path, (written, written))
        assert not match_new_articles(settings, store, index, wait_for_pages=False).new_alerts
        while time.time() <= written:  # the next article stored after the file's time
            time.sleep(0.01)  # ok: the poll interval of a wait on a condition
        index = store_new_article(settings, store, 2)
        assert not match_new_articles(settings, store, index, wait_for_pages=False).new_alerts
        path.write_text(fixed)
        back = match_new_articles(settings, store, index, wait_for_pages=False)
        assert [a.title for a in store.alerts_by_ids(back.new_alerts).values()] == [EVENTS[2][0]]
        index = store_new_article(settings, store, 3)
        assert len(match_new_articles(settings, store, index, wait_for_pages=False).new_alerts) == 1
    finally:
        store.close()


def test_a_second_outlet_arriving_while_the_rule_file_is_broken_sends_the_alert_that_waited_for_it(settings):
    """`outlets = 2`: the story's second outlet came while the rule's file did not load; fixed, the rule counts
    it, and the alert that waited for it goes out, once, with no update besides."""
    write_rule(settings.rules_dir, "wide", query="DeepSeek", notify=["json://127.0.0.1:9/hook"], outlets=2,
               story_updates="every")  # fmt: skip
    path = settings.rules_dir / "wide.toml"
    fixed = path.read_text()
    store = Store(settings.db_path)
    try:

        def outlet(host: str, n: int):
            feed, _new = store.add_feed(f"http://{host}:9/feed.xml", title=f"Wire at {host}")
            title, summary = EVENTS[n]
            store.upsert_articles(feed.id, [ParsedArticle(key=f"{host}-{n}", title=title, link=f"http://{host}:9/{n}",
                                                          summary=summary, published=utcnow())],
                                  fulltext=False, canonical={})  # fmt: skip
            index = open_index(settings, store)
            update_index(store, index)
            group_stories(store)
            return index

        index = outlet("127.0.0.1", 1)
        (made,) = match_new_articles(settings, store, index, wait_for_pages=False).new_alerts
        assert not store.alerts_by_ids([made])[made].deliveries  # one outlet so far: it waits
        path.write_text(fixed.replace("query = ", "query = = "))
        index = outlet("127.0.0.2", 1)
        assert not match_new_articles(settings, store, index, wait_for_pages=False).new_alerts
        assert not store.alerts_by_ids([made])[made].deliveries
        path.write_text(fixed)
        assert not match_new_articles(settings, store, index, wait_for_pages=False).new_alerts
        alert = store.alerts_by_ids([made])[made]
        assert len(alert.outlets) == 2 and len(alert.deliveries) == 1  # it goes out now, and no update besides
        assert not match_new_articles(settings, store, outlet("127.0.0.3", 3), wait_for_pages=False).joined
        assert len(store.alerts_by_ids([made])[made].deliveries) == 1
    finally:
        store.close()


@pytest.mark.parametrize("quiet", [dict(enabled=False), dict(notify=[])], ids=["paused", "saved search"])
def test_a_paused_rule_broken_while_paused_owes_nothing_once_fixed_and_resumed(settings, quiet):
    """A typo while editing a paused rule (or one made a saved search): fixed and resumed in one edit, it alerts
    on what arrives from then on, not on everything that arrived while it alerted on nothing."""
    write_rule(settings.rules_dir, "good", query=GOOD, notify=["json://127.0.0.1:9/hook"])
    path = settings.rules_dir / "good.toml"
    store = Store(settings.db_path)
    try:
        index = store_new_article(settings, store, 1)
        assert len(match_new_articles(settings, store, index, wait_for_pages=False).new_alerts) == 1  # armed
        write_rule(settings.rules_dir, "good", query=GOOD, **{"notify": ["json://127.0.0.1:9/hook"], **quiet},
                   overwrite=True)  # fmt: skip
        path.write_text(path.read_text().replace("query = ", "query = = "))
        for n in (2, 3):
            index = store_new_article(settings, store, n)
            assert not match_new_articles(settings, store, index, wait_for_pages=False).new_alerts
        write_rule(settings.rules_dir, "good", query=GOOD, notify=["json://127.0.0.1:9/hook"], overwrite=True)
        assert not match_new_articles(settings, store, index, wait_for_pages=False).new_alerts
    finally:
        store.close()


def shift(path, seconds: int) -> None:
    """Move a file's time (the file clock is coarser than the store's: an edit, or an arrival, made within a tick
    of another must still come after it)."""
    seen = path.stat()
    os.utime(path, ns=(seen.st_atime_ns, seen.st_mtime_ns + seconds * 1_000_000_000))


def test_a_rule_still_failing_after_an_edit_says_so_once_and_waits_for_the_next_edit_or_batch(settings, caplog):
    """Fixed into a rule that raises, with nothing new arriving: its catch-up fails, which is logged and recorded
    like any failure; the next empty fetch neither reloads the rules nor runs it again."""
    _loaded, failing = with_a_failing_rule(settings)
    path = settings.rules_dir / "broken.toml"
    fixed = path.read_text()
    store = Store(settings.db_path)
    try:
        path.write_text(fixed.replace("query = ", "query = = "))  # a typo: left out while it does not load
        shift(path, -1)
        index = store_new_article(settings, store, 1)
        match_new_articles(settings, store, index, wait_for_pages=False)
        path.write_text(fixed)  # loads again, but raises while it matches
        shift(path, 2)
        caplog.clear()
        assert list(match_new_articles(settings, store, index, rules=failing, wait_for_pages=False).failed) == [
            "broken"]  # fmt: skip
        assert "rule broken failed while matching" in caplog.text
        assert "nested too deeply" in rule_errors(store)["broken"].error
        assert not Missed.load(store).edited(settings.rules_dir)  # (the next empty fetch loads no rule)
        assert Missed.load(store).owed("broken")  # (and it still owes the article, for the next batch)
    finally:
        store.close()


def test_a_catch_up_with_nothing_new_clears_the_rules_failure(settings):
    loaded, failing = with_a_failing_rule(settings)
    store = Store(settings.db_path)
    try:
        index = store_new_article(settings, store, 1)
        match_new_articles(settings, store, index, rules=failing, wait_for_pages=False)
        assert "broken" in rule_errors(store)
        shift(settings.rules_dir / "broken.toml", 1)  # its file edited, and it matches again: a catch-up
        assert len(match_new_articles(settings, store, index, rules=loaded, wait_for_pages=False).new_alerts) == 1
        assert "broken" not in rule_errors(store)
    finally:
        store.close()


def test_a_damaged_record_of_what_rules_owe_is_dropped_with_a_message_not_a_failure_each_run(settings, caplog):
    write_rule(settings.rules_dir, "good", query=GOOD, notify=["json://127.0.0.1:9/hook"])
    store = Store(settings.db_path)
    try:
        store.set_meta(MISSED_KEY, json.dumps({"good": {"hours": {}, "since": "2026-01-01T00:00:00+00:00"}}))
        index = store_new_article(settings, store, 1)
        assert len(match_new_articles(settings, store, index, wait_for_pages=False).new_alerts) == 1
        assert "unreadable for rule(s) good" in caplog.text
        assert json.loads(store.get_meta(MISSED_KEY)) == {}
    finally:
        store.close()
