"""Stories end to end: four outlets on 127.0.0.1–127.0.0.4 rewrite one event beside other events about the
same company; the real pipeline groups them, alerts once per story, and the CLI shows and mutes stories."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time as clock
from collections import Counter
from datetime import time
from itertools import count

import pytest

from reader.alerts import deliver_due
from reader.rules import write_rule
from reader.store import ArticleFilter, Store
from tests.feedgen import Item, recent, rss
from tests.httpserver import HTTPServer, Response
from tests.sites import Story, story_page
from tests.storyworld import ENTITY_LIST, OTHERS, RECALL, Piece
from tests.test_alerts import Endpoint, alerts_of, run, subscribe

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
STYLES = ("wire", "newsletter", "techsite", "wordpress")
EVENT_QUERY = 'DeepSeek AND (blacklist OR "Entity List")'


class Outlet:
    """One news site on its own loopback address: a feed and the pages it links to."""

    def __init__(self, k: int):
        self.server = HTTPServer(f"127.0.0.{k + 1}")
        self.style = STYLES[k]
        self.name = ENTITY_LIST[k].outlet
        self.items: list[Item] = []
        self.feed_url = self.publish()

    def publish(self, *pieces: Piece, hours_ago: float = 2) -> str:
        for p in pieces:
            page = story_page(self.style, Story(p.slug, p.title, p.paragraphs, p.summary))
            url = self.server.route(f"/{p.slug}.html", page.html, headers=HTML)
            self.items.append(Item(p.title, url, p.summary, published=recent(hours_ago)))
        return self.server.route("/feed.xml", rss(self.items, title=self.name), headers=RSS)


@pytest.fixture
def outlets(settings):
    sites = [Outlet(k) for k in range(4)]
    subscribe(settings, *(o.feed_url for o in sites))
    yield sites
    for o in sites:
        o.server.close()


@pytest.fixture
def endpoint(outlets):
    return Endpoint(outlets[0].server)


def rule(settings, endpoint, name, query=EVENT_QUERY, **options):
    write_rule(settings.rules_dir, name, query=query, notify=[endpoint.url], title=name, overwrite=True, **options)


def cli(settings, *args):
    from tests.clirun import reader

    return reader(*args, data=settings.data_dir, config=settings.config_dir)


def articles_by_link(settings) -> dict[str, dict]:
    listed = cli(settings, "articles", "--json", "--limit", "100")
    assert listed.code == 0, listed.err
    return {a["link"].rsplit("/", 1)[-1].removesuffix(".html"): a for a in listed.json()}


def sent_by_rule(endpoint) -> Counter:
    return Counter(n["title"].split(":", 1)[0] for n in endpoint.received())


def event_story(settings) -> int:
    stories = {articles_by_link(settings)[p.slug]["story"] for p in ENTITY_LIST}
    assert len(stories) == 1
    return stories.pop()


def test_one_event_from_four_outlets_is_one_story_and_one_alert_naming_four_outlets(settings, outlets, endpoint):
    rule(settings, endpoint, "entity")
    rule(settings, endpoint, "deepseek", query="DeepSeek")
    for outlet, event, other in zip(outlets, ENTITY_LIST, OTHERS):
        outlet.publish(event, other)
    report = run(settings)
    assert len(report.new_ids) == 8 and report.grouped == 8

    found = articles_by_link(settings)
    story = event_story(settings)
    assert all(found[p.slug]["story_size"] == 4 for p in ENTITY_LIST)
    others = [found[p.slug] for p in OTHERS]
    assert all(a["story_size"] == 1 for a in others)
    assert len({a["story"] for a in others} | {story}) == 5

    alerts = alerts_of(settings)
    [event] = [a for a in alerts if a.rule == "entity"]
    assert sorted(s.feed_title for s in event.sources) == sorted(o.name for o in outlets)
    assert len([a for a in alerts if a.rule == "deepseek"]) == 4  # one per story with "DeepSeek" in it
    assert sent_by_rule(endpoint) == {"entity": 1, "deepseek": 4}

    listing = cli(settings, "alerts", "--rule", "entity")
    assert listing.code == 0 and "4 outlets" in listing.out
    shown = cli(settings, "stories", "show", str(story), "--json").json()
    assert shown["size"] == 4 and sorted(shown["outlets"]) == sorted(o.name for o in outlets)
    # Feeds land as they arrive, so the story starts with whichever rewrite was grouped first; one grouped
    # beside it while the corpus is a few articles (every shared word common in it) may start a story of its
    # own, which merges in (reader.stories): each of the others joined by similarity or came by that merge,
    # and says why with the names that tied it.
    [first] = [a for a in shown["articles"] if a["tied_by"] == {"started": True}]
    merged = {m["story"] for m in shown["merges"] if m["tied_by"]["names"]}  # (a merge chain lists each link)
    for a in (a for a in shown["articles"] if a is not first):
        came = a["tied_by"].get("merged_from")
        assert came is None or came in merged, (a, shown["merges"])
        assert a["why"].startswith("similarity") and a["tied_by"]["names"] or came and a["tied_by"].get("started")
    # What tied them is said in the articles' own words ("DeepSeek", "Commerce"), never the grouper's stems
    written = set(re.findall(r"\w+", " ".join(f"{p.title} {p.summary} {p.text}" for p in ENTITY_LIST)))
    tied = [w for a in shown["articles"] + shown["merges"] for k in ("shared", "names") for w in a["tied_by"].get(k, [])]
    assert tied and set(tied) <= written, set(tied) - written
    text = cli(settings, "stories", "show", str(story))
    assert text.code == 0 and "4 article(s) from 4 outlet(s)" in text.out and "similarity" in text.out
    assert "DeepSeek" in text.out and "deepseek" not in text.out, text.out
    article = cli(settings, "show", str(found[ENTITY_LIST[1].slug]["id"]), "--json").json()
    assert article["story"] == story and article["story_size"] == 4
    exported = [json.loads(line) for line in cli(settings, "export").out.splitlines()]
    assert sorted(a["story_size"] for a in exported) == [1, 1, 1, 1, 4, 4, 4, 4]
    store = Store(settings.db_path)  # what the TUI's list by story reads: one row per story, its size
    rows = store.story_order()
    assert len(rows) == 5 and sorted(size for _id, size in rows) == [1, 1, 1, 1, 4]
    assert store.set_story_read(story) == 4
    assert store.count_articles(ArticleFilter(unread=True)) == 4  # the four other stories' articles
    store.close()
    shown = cli(settings, "show", str(found[ENTITY_LIST[1].slug]["id"]))
    assert f"story: {story}: 4 articles (reader stories show {story})" in shown.out


def test_later_outlets_join_the_alert_and_notify_only_as_the_rule_asks(settings, outlets, endpoint):
    rule(settings, endpoint, "quiet")
    rule(settings, endpoint, "every", story_updates="every")
    rule(settings, endpoint, "three", outlets=3)
    rule(settings, endpoint, "daily", story_updates="digest", digest_at=[time(8, 0)], timezone="UTC")
    outlets[0].publish(ENTITY_LIST[0])
    run(settings)
    assert sent_by_rule(endpoint) == {"quiet": 1, "every": 1, "daily": 1}  # "three" waits for a third outlet
    waiting = cli(settings, "alerts", "--rule", "three")  # it says what it waits for, not a bare "none"
    assert waiting.code == 0 and "waiting for 3 outlets (1 so far)" in waiting.out
    assert cli(settings, "alerts", "--rule", "thre").code == 2  # no such rule: said, not "No alerts yet"

    # the other three outlets, in one run: each feed lands as it arrives, in whatever order
    for outlet, event in zip(outlets[1:], ENTITY_LIST[1:]):
        outlet.publish(event, hours_ago=1)
    run(settings)
    event_story(settings)
    assert sent_by_rule(endpoint) == {"quiet": 1, "every": 4, "three": 1, "daily": 1}
    alerts = {a.rule: a for a in alerts_of(settings)}
    assert len(alerts_of(settings)) == 4 and all(len(a.sources) == 4 for a in alerts.values())
    run(settings)  # nothing new: nothing more
    assert sum(sent_by_rule(endpoint).values()) == 7

    held = [d for d in alerts["daily"].deliveries if d.state == "held"]  # the three later outlets, for 08:00
    assert len(held) == 3 and held[0].next_attempt_at.time() == time(8, 0)
    store = Store(settings.db_path)
    assert asyncio.run(deliver_due(settings, store, now=held[0].next_attempt_at)).sent == 1
    store.close()
    assert sent_by_rule(endpoint)["daily"] == 2


def test_outlets_counts_what_a_story_had_before_the_rule_was_written(settings, outlets, endpoint):
    """Three outlets ran the event before a rule `outlets = 4` was written: the fourth sends it, naming all four,
    also to a rule whose words only the first outlet's article has. Stories that get no new article after the
    rule alert nothing, for it or for a new rule `outlets = 1`; nor does a story that had its outlets already."""
    for outlet, event, other in zip(outlets[:3], ENTITY_LIST, OTHERS):
        outlet.publish(event, other)
    run(settings)
    written = clock.time()
    rule(settings, endpoint, "four", outlets=4)
    rule(settings, endpoint, "first", query='title:"adds DeepSeek"', outlets=4)  # only ENTITY_LIST[0]'s title
    rule(settings, endpoint, "three", query='title:"adds DeepSeek"', outlets=3)  # three outlets ran it already
    rule(settings, endpoint, "deepseek", query="DeepSeek")
    for name in ("four", "first", "three", "deepseek"):  # written after those arrived (file times are coarser)
        os.utime(settings.rules_dir / f"{name}.toml", (written, written))
    outlets[3].publish(ENTITY_LIST[3], hours_ago=1)
    run(settings)
    event_story(settings)
    assert sent_by_rule(endpoint) == {"four": 1, "first": 1, "deepseek": 1}
    alerts = {a.rule: a for a in alerts_of(settings)}
    assert sorted(s.feed_title for s in alerts["four"].sources) == sorted(o.name for o in outlets)
    [sent] = [n for n in endpoint.received() if n["title"].startswith("four:")]
    assert all(o.name in sent["message"] for o in outlets)


def test_a_muted_story_alerts_no_rule_and_unmute_undoes_it(settings, outlets, endpoint):
    rule(settings, endpoint, "entity")
    outlets[0].publish(ENTITY_LIST[0])
    run(settings)
    story = articles_by_link(settings)[ENTITY_LIST[0].slug]["story"]
    muted = cli(settings, "stories", "mute", str(story), "--for", "7d")
    assert muted.code == 0 and f"story {story} muted until" in muted.out
    rule(settings, endpoint, "blacklist")  # a new rule, armed now: it would alert on the next outlet's article
    outlets[1].publish(ENTITY_LIST[1], hours_ago=1)
    run(settings)
    assert articles_by_link(settings)[ENTITY_LIST[1].slug]["story"] == story
    assert sent_by_rule(endpoint) == {"entity": 1}
    assert "muted until" in cli(settings, "stories", "show", str(story)).out
    store = Store(settings.db_path)  # its unread articles no longer count as unread
    assert {f.title: f.unread_count for f in store.feeds(with_counts=True)}[outlets[0].name] == 0
    assert store.count_articles(ArticleFilter(unread=True)) == 0
    store.close()

    assert cli(settings, "stories", "unmute", str(story)).code == 0
    outlets[2].publish(ENTITY_LIST[2], hours_ago=0.5)
    run(settings)
    assert sent_by_rule(endpoint) == {"entity": 1, "blacklist": 1}


def test_muting_refuses_unknown_stories_and_spans_with_a_clear_message(settings, outlets):
    outlets[0].publish(ENTITY_LIST[0])
    run(settings)
    missing = cli(settings, "stories", "mute", "999")
    assert missing.code == 2 and "no story 999" in missing.err and "Traceback" not in missing.err
    story = articles_by_link(settings)[ENTITY_LIST[0].slug]["story"]
    bad = cli(settings, "stories", "mute", str(story), "--for", "soon")
    assert bad.code == 2 and "--for: 'soon' is not a span; write a number and a unit" in bad.err


def test_a_feed_changing_every_guid_on_each_fetch_creates_nothing_new(settings, outlets, endpoint):
    rule(settings, endpoint, "entity")
    fetches = count()
    outlets[0].publish(ENTITY_LIST[0], OTHERS[0])
    items = list(outlets[0].items)

    def churning(_seen) -> Response:
        n = next(fetches)
        fresh = [Item(i.title, i.link, i.summary, guid=f"urn:uuid:{n}-{k}", published=i.published)
                 for k, i in enumerate(items)]  # fmt: skip
        return Response(200, rss(fresh, title="Policy Wire").encode(), RSS)

    outlets[0].server.route("/feed.xml", handler=churning)
    for _ in range(3):
        run(settings)
    store = Store(settings.db_path)
    assert store.article_count() == 2 and store.ungrouped_count() == 0
    store.close()
    assert next(fetches) == 3 and len(alerts_of(settings)) == 1 and len(endpoint.received()) == 1


def test_kill_9_while_grouping_then_a_restart_groups_the_rest_and_alerts_once(settings, outlets, endpoint):
    rule(settings, endpoint, "entity", query='title:"Entity List" OR title:blacklist OR title:blacklists')
    for n, outlet in enumerate(outlets):  # 6,000 other articles (a feed keeps at most 2,000 a fetch)
        outlet.items += [Item(f"Filler report {k}: the {k}th quarterly figure for region {k % 97}",
                              outlet.server.url(f"/filler/{k}"), published=recent(30 + k / 100))
                         for k in range(1500 * n, 1500 * (n + 1))]  # fmt: skip
    for outlet, event in zip(outlets, ENTITY_LIST):
        outlet.publish(event)
    env = {**os.environ, "READER_DATA_DIR": str(settings.data_dir), "READER_CONFIG_DIR": str(settings.config_dir)}
    fetch = [sys.executable, "-m", "reader", "fetch", "--no-fulltext"]
    process = subprocess.Popen(fetch, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    grouped = ungrouped = 0
    deadline = clock.monotonic() + 120
    while clock.monotonic() < deadline and process.poll() is None:
        try:
            db = sqlite3.connect(f"file:{settings.db_path}?mode=ro", uri=True, timeout=5)
            grouped, ungrouped = db.execute(
                "SELECT count(story_id), count(*) - count(story_id) FROM articles").fetchone()
            db.close()
        except sqlite3.DatabaseError:  # the database or its tables are not there yet
            grouped = 0
        if grouped and ungrouped:  # (grouping runs beside the fetch: a moment when some wait for it)
            os.kill(process.pid, signal.SIGKILL)
            break
        clock.sleep(0.005)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL and grouped and ungrouped  # killed half-way through grouping

    done = subprocess.run(fetch, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    store = Store(settings.db_path)
    assert store.article_count() == 6004 and store.ungrouped_count() == 0 and store.queued_for_matching() == 0
    store.close()
    alerts = alerts_of(settings)
    assert alerts and len({a.story_id for a in alerts}) == len(alerts)  # one alert per story
    assert len(endpoint.received()) == len(alerts)  # each sent once


def test_feeds_in_an_unlucky_order_still_form_one_story_and_the_merge_keeps_each_alert(settings, outlets, endpoint):
    """The recall's rewrites arrive newest first, a run each: the maker's bill and the regulator's recall are
    apart (two stories, each alerted), until the rewrite telling both ties them: the stories merge, the
    alerts already sent stay sent and none is sent again; the later article joins as a source."""
    rule(settings, endpoint, "kestrel", query="Kestrel")  # both parts alert before the merge
    rule(settings, endpoint, "okafor", query="Okafor")  # only the maker's bill
    rule(settings, endpoint, "regulator", query='"Highway Traffic Safety"')  # only the regulator's recall
    rule(settings, endpoint, "two", query="Kestrel", outlets=2)  # the recall's part alone reaches two outlets
    rule(settings, endpoint, "three", query="Kestrel", outlets=3)  # only the merged story has three
    bill, recall, both, parked = RECALL[1], RECALL[0], RECALL[2], RECALL[3]
    runs = [(outlets[1], bill, OTHERS[1]), (outlets[0], recall, OTHERS[2]), (outlets[2], parked, OTHERS[0]),
            (outlets[3], both, OTHERS[3])]  # fmt: skip
    for hours_ago, (outlet, piece, other) in enumerate(runs, 1):
        outlet.publish(piece, other, hours_ago=hours_ago)
        run(settings)
        if piece is parked:  # two stories, each with its alerts
            found = articles_by_link(settings)
            assert found[bill.slug]["story"] != found[recall.slug]["story"] == found[parked.slug]["story"]
            assert sent_by_rule(endpoint) == {"kestrel": 2, "okafor": 1, "regulator": 1, "two": 1}

    found = articles_by_link(settings)
    story = found[bill.slug]["story"]
    assert {found[p.slug]["story"] for p in RECALL} == {story} and found[both.slug]["story_size"] == 4
    assert all(found[p.slug]["story_size"] == 1 for p in OTHERS)  # the other events stay apart
    # nothing sent again; "three" went out once the merged story had three outlets
    assert sent_by_rule(endpoint) == {"kestrel": 2, "okafor": 1, "regulator": 1, "two": 1, "three": 1}
    alerts = alerts_of(settings)
    kestrel = sorted((a for a in alerts if a.rule == "kestrel"), key=lambda a: a.id)
    assert len(kestrel) == 2 and kestrel[0].story_id == story  # the merged-in part's alert stays as it was
    assert [s.feed_title for s in kestrel[0].sources] == ["Chip Letter", "Asia Markets Daily"]
    assert [s.feed_title for s in kestrel[1].sources] == ["Policy Wire", "Tech Daily"]
    [regulator] = [a for a in alerts if a.rule == "regulator"]  # moved with its story
    assert regulator.story_id == story and len(regulator.sources) == 3
    two = {a.story_id: a for a in alerts if a.rule == "two"}  # the story's is the one that went out
    assert len(two[story].sources) == 4 and two[story].deliveries and not [a for a in two.values() if a.deliveries][1:]
    [three] = [a for a in alerts if a.rule == "three" and a.story_id == story]
    assert {s.feed_title for s in three.sources} == {o.name for o in outlets}
    [okafor] = [a for a in alerts if a.rule == "okafor"]
    assert len(okafor.sources) == 2

    shown = cli(settings, "stories", "show", str(story), "--json").json()
    [merge] = shown["merges"]
    gone = merge["story"]
    assert merge["into"] == story and merge["why"].startswith("similarity") and "Kestrel" in merge["tied_by"]["names"]
    why = {a["title"]: a["why"] for a in shown["articles"]}
    assert why[recall.title] == f"started the story; came with story {gone}"
    assert why[both.title].startswith("similarity") and why[both.title].endswith(f"came with story {gone}")
    text = cli(settings, "stories", "show", str(story))
    assert f"story {gone} merged into story {story}: similarity" in text.out
    old = cli(settings, "stories", "show", str(gone))  # the old id finds the story that holds its articles
    assert old.code == 0 and f"story {gone} was merged into story {story}, which holds its articles" in old.out
    assert recall.title in old.out and bill.title in old.out
    assert cli(settings, "stories", "show", str(gone), "--json").json()["id"] == story
    assert {a["story"] for a in cli(settings, "alerts", "--json").json()} == {story}  # those made before the merge too
    store = Store(settings.db_path)
    store.set_story_muted(gone, None)  # what the TUI's M does on a row read before the merge
    assert cli(settings, "stories", "mute", str(gone)).code == 0  # mutes the story that holds its articles
    assert "muted until" in cli(settings, "stories", "show", str(story)).out
    store.set_story_muted(gone, None)
    assert "muted until" not in cli(settings, "stories", "show", str(story)).out
    store.close()


def test_rules_check_names_a_bad_story_key_with_its_line_and_allowed_values(settings):
    settings.rules_dir.mkdir(parents=True)
    (settings.rules_dir / "a.toml").write_text('query = "DeepSeek"\nstory_updates = "sometimes"\n')
    (settings.rules_dir / "b.toml").write_text('query = "DeepSeek"\n\noutlets = 0\n')
    (settings.rules_dir / "c.toml").write_text('query = "DeepSeek"\nstory_updates = "every"\noutlets = 5\n')
    checked = cli(settings, "--rules", str(settings.rules_dir), "rules", "check")
    assert checked.code == 1 and "Traceback" not in checked.err
    found = checked.out + checked.err
    assert 'a.toml:2: error: story_updates should be "none", "digest" or "every", not "sometimes"' in found
    assert "b.toml:3: error: outlets should be a whole number from 1 to 1000, not 0" in found
    assert "c.toml" not in found.replace("c.toml: ok", "")
