"""The match benchmark's own checks hold on what matching really records: one alert per rule and story."""

from __future__ import annotations

from benchmarks.bench_match import _failures
from reader.alerts import match_batch, match_new_articles
from reader.ingest import group_stories, open_index, update_index
from reader.models import ParsedArticle
from reader.rules import load_rules, write_rule
from reader.store import Store, utcnow
from tests.test_bad_rules import EVENTS, GOOD


def test_two_matched_rewrites_of_one_story_are_one_alert_and_the_check_agrees(settings):
    write_rule(settings.rules_dir, "good", query=GOOD, notify=["json://127.0.0.1:9/hook"])
    store = Store(settings.db_path)
    try:
        title, summary = EVENTS[1]
        for outlet in ("wire", "daily"):  # the same event from two outlets: one story
            feed, _new = store.add_feed(f"http://127.0.0.1:9/{outlet}.xml")
            article = ParsedArticle(key=outlet, title=title, link=f"http://127.0.0.1:9/{outlet}/a", summary=summary,
                                    published=utcnow())  # fmt: skip
            store.upsert_articles(feed.id, [article], fulltext=False, canonical={})
        index = open_index(settings, store)
        update_index(store, index)
        group_stories(store)
        ids = {c.article_id for c in store.articles_to_match()}
        ruleset = load_rules(settings.rules_dir)
        matched = match_batch(index, [r.query for r in ruleset.rules], ids)
        report = match_new_articles(settings, store, index, rules=ruleset, wait_for_pages=False)
        assert len(matched.hits[0]) == 2 and len(report.new_alerts) == 1
        assert _failures(store, index, 1, 2, ruleset, matched, matched.hits, report, ids) == []
    finally:
        store.close()
