"""Full text and search end to end: real pages from a local server, `reader fetch`, `search`, `show`, `export`."""

from __future__ import annotations

import json

import pytest

from reader.store import Store
from tests.clirun import reader
from tests.feedgen import Item, items, recent, rss
from tests.sites import DEEPSEEK_SCENARIOS

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
RULE = 'DeepSeek AND "export controls"'


@pytest.fixture(scope="module")
def deepseek(tmp_path_factory):
    """The four DeepSeek scenarios as one feed whose links point at their pages, fetched with full text."""
    from tests.httpserver import HTTPServer

    server = HTTPServer()
    entries = []
    for k, scenario in enumerate(DEEPSEEK_SCENARIOS):
        link = server.route(f"/p/{scenario.name}", scenario.page.html, headers=HTML)
        entries.append(Item(scenario.title, link, scenario.summary, guid=scenario.name, published=recent(k + 1)))
    missing = server.url("/p/missing")  # its page is a 404: the feed's summary must stand in
    entries.append(Item("Broken page story", missing, "Only the feed knows this: quantum annealing news.",
                        guid="missing", published=recent(9)))  # fmt: skip
    data = tmp_path_factory.mktemp("deepseek") / "data"
    reader("feeds", "add", server.route("/feed.xml", rss(entries), headers=RSS), data=data)
    run = reader("fetch", "--json", data=data)
    assert run.code == 0, run.err
    yield {"data": data, "report": run.json(), "server": server}
    server.close()


def titles(run) -> set[str]:
    assert run.code == 0, run.err
    return {r["title"] for r in run.json()}


def scenario(name):
    return next(s for s in DEEPSEEK_SCENARIOS if s.name == name)


def test_pages_were_fetched_and_extracted(deepseek):
    pages = deepseek["report"]["pages"]
    assert pages["fetched"] == 4 and pages["failed"] == 1  # the 404 page
    assert deepseek["report"]["indexed"] == 5


def test_rule_query_matches_body_summary_and_stem_but_not_sidebar(deepseek):
    found = titles(reader("search", RULE, "--json", data=deepseek["data"]))
    assert scenario("body_match").title in found
    assert scenario("summary_match").title in found
    assert scenario("stemmed").title in found  # "export control" in the body, by stemming
    assert scenario("sidebar_only").title not in found  # "export controls" only in sidebar/menu/see-also


def test_show_json_returns_the_extracted_article_only(deepseek):
    listed = reader("articles", "--json", data=deepseek["data"]).json()
    by_title = {a["title"]: a for a in listed}
    for s in DEEPSEEK_SCENARIOS:
        shown = reader("show", str(by_title[s.title]["id"]), "--json", data=deepseek["data"]).json()
        assert shown["text_source"] == "page", s.name
        assert shown["text_length"] == len(shown["text"]) > 200
        for junk in s.page.boilerplate:
            assert junk not in shown["text"], (s.name, junk)
        assert s.page.paragraphs[0][:60] in shown["text"]


def test_failed_page_falls_back_to_the_feed_summary(deepseek):
    shown = reader("show", deepseek["server"].url("/p/missing"), "--json", data=deepseek["data"]).json()
    assert shown["text_source"] == "summary"
    assert "quantum annealing" in shown["text"]
    assert titles(reader("search", "quantum annealing", "--json", data=deepseek["data"])) == {"Broken page story"}


def test_search_json_fields_snippet_and_sort(deepseek):
    run = reader("search", "DeepSeek", "--json", "--sort", "newest", "--limit", "3", data=deepseek["data"])
    results = run.json()
    assert len(results) == 3
    assert {"title", "feed", "published", "link", "snippet", "score"} <= set(results[0])
    assert [r["published"] for r in results] == sorted((r["published"] for r in results), reverse=True)
    assert "**DeepSeek**" in results[0]["snippet"]


def test_bad_query_names_the_position(deepseek):
    run = reader("search", 'DeepSeek AND (export', data=deepseek["data"])
    assert run.code == 2 and "Traceback" not in run.err
    assert "position" in run.err or "column" in run.err


def test_lowercase_operator_warns(deepseek):
    run = reader("search", "DeepSeek and chips", data=deepseek["data"])
    assert run.code == 0 and "'and'" in run.err


def test_articles_filters(deepseek):
    data = deepseek["data"]
    everything = reader("articles", "--json", data=data).json()
    assert len(everything) == 5
    matched = reader("articles", "--json", "--query", RULE, data=data).json()
    assert len(matched) == 3 and all(a["text_source"] for a in matched)
    assert reader("articles", "--json", "--since", "2h", data=data).json()[0]["title"] == DEEPSEEK_SCENARIOS[0].title
    assert reader("articles", "--json", "--until", "1990-01-01", data=data).json() == []
    assert reader("articles", "--since", "yesterday-ish", data=data).code == 2


def test_index_is_repaired_after_a_crash_between_the_two_writes(tmp_path, http_server):
    data = tmp_path / "data"
    reader("feeds", "add", http_server.route("/f.xml", rss(items(30, "Crash")), headers=RSS), data=data)
    assert reader("fetch", "--no-fulltext", data=data).code == 0
    store = Store(data / "reader.sqlite")
    # As if killed after SQLite committed new/changed articles but before Whoosh did:
    store._conn().execute("UPDATE articles SET indexed_version = 0 WHERE id % 3 = 0")
    store._conn().execute("UPDATE articles SET version = version + 1 WHERE id % 3 = 1")
    store.close()
    found = reader("search", "Crash", "--json", "--limit", "100", data=data).json()
    ids = [r["id"] for r in found]
    assert len(ids) == 30 and len(set(ids)) == 30  # none missing, none twice
    assert "0 waiting" in reader("index", "status", data=data).out


def test_index_rebuild(tmp_path, http_server):
    data = tmp_path / "data"
    reader("feeds", "add", http_server.route("/f.xml", rss(items(12, "Rebuilt")), headers=RSS), data=data)
    reader("fetch", "--no-fulltext", data=data)
    run = reader("index", "rebuild", data=data)
    assert run.code == 0 and "indexed 12 articles" in run.out
    assert len(reader("search", "Rebuilt", "--json", "--limit", "50", data=data).json()) == 12


def test_export_round_trips_thousands_of_articles(tmp_path, http_server):
    data = tmp_path / "data"
    for feed in range(2):
        feed_items = [Item(f"Story {feed}-{k} [bold]x[/]", f"http://127.0.0.1/a/{feed}/{k}", f"Body {k} «ü»",
                           published=recent(k / 10), author=f"Author {k % 7}", categories=("AI", f"c{k % 3}"))
                      for k in range(1500)]  # fmt: skip
        reader("feeds", "add", http_server.route(f"/f{feed}.xml", rss(feed_items), headers=RSS), data=data)
    assert reader("fetch", "--no-fulltext", data=data, timeout=300).code == 0
    jsonl = tmp_path / "all.jsonl"
    assert reader("export", "--format", "jsonl", "--out", str(jsonl), data=data).code == 0
    exported = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(exported) == 3000 and len({a["id"] for a in exported}) == 3000
    store = Store(data / "reader.sqlite")
    sample = exported[::97]
    for row in sample:
        stored = store.article(row["id"])
        assert (row["title"], row["link"], row["author"], row["text"], row["categories"]) == (
            stored.title, stored.link, stored.author, stored.text, list(stored.categories))  # fmt: skip
        assert row["published"] == stored.published.isoformat() and row["feed"] == stored.feed_title
    as_json = json.loads(reader("export", "--format", "json", "--limit", "10", data=data).out)
    assert [a["id"] for a in as_json] == [a["id"] for a in exported[:10]]
    out = tmp_path / "notes"
    assert reader("export", "--format", "markdown", "--out", str(out), "--limit", "50", data=data).code == 0
    notes = sorted(out.glob("*.md"))
    assert len(notes) == 50
    first = notes[0].read_text()
    assert first.startswith("---\ntitle: ") and "\ntags: [\"AI\"," in first and "\n---\n\n# " in first


def test_search_on_a_brand_new_empty_library(tmp_path):
    run = reader("search", "DeepSeek", "--json", data=tmp_path / "data")
    assert run.code == 0 and run.json() == [], run.err
    assert reader("search", "DeepSeek", "--sort", "newest", data=tmp_path / "data").out.startswith("No articles match")
