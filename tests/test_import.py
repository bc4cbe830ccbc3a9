"""`reader feeds import` and `export` as a user runs them: malformed OPML, newsboat query feeds, round trips."""

from __future__ import annotations

import sqlite3
import tomllib
from pathlib import Path

from reader.store import ArticleFilter, Store
from tests.clirun import reader
from tests.feedgen import items, rss

DATA = Path(__file__).resolve().parent / "data" / "opml"
EXAMPLES = ("china-ai-policy.toml", "chip-export-controls.toml", "deepseek-export-controls.toml")  # rules/


def feeds(data: Path) -> list[tuple[str, str, str]]:
    run = reader("feeds", "list", "--json", data=data)
    assert run.code == 0, run.err
    return sorted((f["url"], f["title"], f["group"]) for f in run.json())


def test_malformed_opml_is_imported_with_one_report_line(tmp_path):
    run = reader("feeds", "import", str(DATA / "malformed.opml"), data=tmp_path / "data")

    assert run.code == 0, run.err
    assert run.out.strip() == (
        "imported 14 new feed(s) from malformed.opml; 0 already subscribed; the file is not well-formed XML "
        "(2 bare '<' at line 15; 5 bare '&' at lines 10, 11, 16, 30; 2 undefined entities at lines 9, 17; "
        "XML syntax error at line 22, column 56: attributes construct error): "
        "recovered what could be read"
    )
    assert run.err.splitlines() == [
        "warning: skipped: line 22: outline not readable: attributes construct error",
        "warning: skipped: line 28: not an http(s) URL: 'ftp://old.example/feed'",
    ]
    assert ("https://search.example/rss?q=chips&lang=en", "Search results", "News & Politics") in feeds(
        tmp_path / "data"
    )


def test_newsboat_query_feeds_become_saved_searches(tmp_path):
    data, rules = tmp_path / "data", tmp_path / "rules"

    run = reader("--rules", str(rules), "feeds", "import", str(DATA / "urls-queries"), data=data)

    assert run.code == 0, run.err
    assert run.out.strip() == (
        "imported 4 new feed(s) from urls-queries; 0 already subscribed; 4 newsboat query feed(s) saved as "
        "searches: deepseek-news, export-controls-this-week, tech-or-recent-chips, not-ars-by-ada; "
        "the new rules directory got the 3 example rules first (as on a first start)"
    )
    saved = {p.stem: tomllib.loads(p.read_text()) for p in rules.glob("*.toml") if p.name not in EXAMPLES}
    assert {name: (rule["title"], rule["query"]) for name, rule in saved.items()} == {
        "deepseek-news": ("DeepSeek news", "title:deepseek"),
        "export-controls-this-week": (
            "Export controls this week",
            '(text:"export controls" OR summary:"export controls") AND date:7d',
        ),
        "tech-or-recent-chips": ("Tech or recent chips", 'group:"tech" OR (title:chip AND (date:31d AND NOT date:1d))'),
        "not-ars-by-ada": ("Not Ars, by Ada", 'NOT feed:"ars technica" AND author:ada'),
    }
    assert all("notify" not in rule for rule in saved.values())  # saved searches, not alerts
    assert run.err.splitlines() == [
        "warning: skipped: line 9: query feed 'Unread' not imported: 'unread = \"yes\"': the query language has "
        "no unread term (a saved search lists read and unread articles)",
        "warning: skipped: line 10: query feed 'Show HN' not imported: 'title =~ \"^Show HN\"': \"^Show HN\" is a "
        "regular expression, not a plain word or phrase",
        "warning: skipped: line 11: query feed 'Policy' not imported: 'tags # \"policy\"': the tag 'policy' is not "
        "the group of every feed that carries it (only a feed's first tag becomes its group)",
        "warning: skipped: line 12: query feed 'Hardware' not imported: 'tags # \"hardware\"': the tag 'hardware' "
        "is not the group of every feed that carries it (only a feed's first tag becomes its group)",
        "warning: skipped: line 14: query feed 'Broken' not imported: 'title =~ \"x\" and (': not a newsboat filter "
        "expression: a comparison is cut short",
        "warning: skipped: line 15: exec feeds are not imported (they run a command)",
    ]
    checked = reader("--rules", str(rules), "rules", "check", data=data)
    assert checked.code == 0, checked.out + checked.err

    again = reader("--rules", str(rules), "feeds", "import", str(DATA / "urls-queries"), data=data)
    assert again.out.strip() == (
        "imported 0 new feed(s) from urls-queries; 4 already subscribed; 4 query feed(s) already saved as searches"
    )
    assert sorted(p.stem for p in rules.glob("*.toml")) == sorted([*saved, *(Path(e).stem for e in EXAMPLES)])


def test_an_import_before_the_first_start_still_seeds_the_example_rules_and_never_overwrites_a_users_rule(tmp_path):
    """Whichever command writes to a new rules dir first (here an import saving a newsboat query feed), it starts
    with the examples, as the first start gives them; a rules dir of the user's own is left as it is."""
    data, rules = tmp_path / "data", tmp_path / "rules"
    urls = tmp_path / "urls"
    urls.write_text('http://127.0.0.1:9/a.xml tech\n"query:China AI policy:tags # \\"tech\\""\n')
    run = reader("--rules", str(rules), "feeds", "import", str(urls), data=data)
    assert run.code == 0, run.err
    assert sorted(p.name for p in rules.glob("*.toml")) == sorted([*EXAMPLES, "china-ai-policy-2.toml"])
    listed = reader("--rules", str(rules), "rules", "list", "--json", data=data)
    assert sorted(r["name"] for r in listed.json()) == sorted([*(Path(e).stem for e in EXAMPLES), "china-ai-policy-2"])

    own = tmp_path / "own-rules"  # the user's own rules dir, one rule named as an example
    own.mkdir()
    mine = own / "chip-export-controls.toml"
    mine.write_text('query = "mine"\n')
    run = reader("--rules", str(own), "feeds", "import", str(urls), data=tmp_path / "data2")
    assert run.code == 0 and "example" not in run.out, run.out + run.err
    assert mine.read_text() == 'query = "mine"\n'
    assert sorted(p.name for p in own.glob("*.toml")) == ["china-ai-policy.toml", "chip-export-controls.toml"]


def test_export_then_import_gives_the_same_feeds_groups_and_titles(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    awkward = [
        ("https://a.example/feed?x=1&y=2", 'Tom & Jerry <"quoted"> \\ stuff', "R&D <lab>"),
        ("https://b.example/rss#frag", "Café 中文 — 🚀", "R&D <lab>"),
        ("https://c.example/atom", "", ""),
        ("https://d.example/feed", "# not a comment", "~tilde group"),
        ("https://e.example/feed", "Policy watch", "Polícy news"),
    ]
    store = Store(source / "reader.sqlite")
    for url, title, group in awkward:
        store.add_feed(url, title, group)
    store.close()

    for form in ("opml", "urls"):
        exported = tmp_path / f"feeds.{form}"
        run = reader("feeds", "export", "--format", form, "-o", str(exported), data=source)
        assert run.code == 0, run.err
        target = tmp_path / f"from-{form}"
        imported = reader("feeds", "import", str(exported), data=target)
        assert imported.code == 0 and imported.err == "", imported.err
        store = Store(target / "reader.sqlite")
        assert sorted((f.url, f.title, f.group) for f in store.feeds()) == sorted(awkward), form
        store.close()


def test_skipped_lines_never_show_a_feed_url_s_credentials(tmp_path):
    urls = tmp_path / "urls"
    urls.write_text("https://ann:s3cret@private.example/feed\nhttps://ann:s3cret@private.example/feed dup\n")

    run = reader("feeds", "import", str(urls), data=tmp_path / "data")

    assert run.code == 0 and "imported 1 new feed(s)" in run.out
    assert "duplicate of line 1" in run.err and "s3cret" not in run.err


def test_a_file_that_cannot_be_read_is_a_read_error_and_a_search_that_cannot_be_saved_a_write_error(tmp_path):
    """Each worded as what it is, naming its own file: the list given (a directory here, or missing), and the
    saved search's rule file (its rules directory is a file here). It was "cannot read urls-queries" for both."""
    data, rules = tmp_path / "data", tmp_path / "rules"
    for unreadable in (tmp_path, tmp_path / "missing.opml"):
        run = reader("feeds", "import", str(unreadable), data=data)
        assert run.code == 1 and run.err.count("reader:") == 1 and "Traceback" not in run.err, run.err
        assert f"cannot read {unreadable}: " in " ".join(run.err.split()), run.err
    rules.write_text("not a directory")
    run = reader("--rules", str(rules), "feeds", "import", str(DATA / "urls-queries"), data=data)
    err = " ".join(run.err.split())
    assert run.code == 1 and err.count("reader:") == 1 and "Traceback" not in err, run.err
    assert f"could not write {rules}" in err and "cannot read" not in err, run.err


def test_a_url_differing_only_in_the_case_of_scheme_or_host_or_by_a_default_port_is_one_subscription(
    tmp_path, http_server
):
    url = http_server.route("/Feed.xml", rss(items(2), title="Local"), headers={"Content-Type": "application/rss+xml"})
    data = tmp_path / "data"
    urls = tmp_path / "urls"
    urls.write_text(f"{url.replace('http://', 'HTTP://')}\n{url}\nhttp://Example.COM:80/Path?Q=1\n"
                    "http://example.com/Path?Q=1\nhttp://example.com/path?Q=1\n")  # fmt: skip
    run = reader("feeds", "import", str(urls), data=data)
    assert run.code == 0 and run.out.startswith("imported 3 new feed(s) from urls"), run.out + run.err
    assert run.err.splitlines() == [
        f"warning: skipped: line 2: duplicate of line 1: {url!r}",
        "warning: skipped: line 4: duplicate of line 3: 'http://example.com/Path?Q=1'",
    ]
    assert [u for u, _, _ in feeds(data)] == [url, "http://example.com/Path?Q=1", "http://example.com/path?Q=1"]
    opml = tmp_path / "feeds.opml"
    opml.write_text(f'<opml version="2.0"><body><outline xmlUrl="HTTP://EXAMPLE.com:80/Path?Q=1"/>'
                    f'<outline xmlUrl="{url.upper().replace("/FEED.XML", "/Feed.xml")}"/></body></opml>')  # fmt: skip
    again = reader("feeds", "import", str(opml), data=data)
    assert again.out.startswith("imported 0 new feed(s) from feeds.opml; 2 already subscribed"), again.out + again.err
    added = reader("feeds", "add", "--as-is", "HTTP://EXAMPLE.COM/Path?Q=1", data=data)
    assert added.code == 0 and "already subscribed: feed 2" in added.out, added.out + added.err
    fetched = reader("fetch", "1", "--no-fulltext", data=data)  # the stored spelling fetches as given (only it)
    assert fetched.code == 0 and len(reader("articles", "--json", data=data).json()) == 2, fetched.out + fetched.err


def test_a_feed_subscribed_in_two_spellings_before_is_named_and_never_merged(tmp_path, http_server):
    """A database from before URLs were compared so: both subscriptions stay, with their articles and read
    states; `feeds list` names them and says how to drop one; adding either spelling finds one of them."""
    url = http_server.route("/feed.xml", rss(items(3), title="Local"), headers={"Content-Type": "application/rss+xml"})
    data = tmp_path / "data"
    Store(data / "reader.sqlite").add_feed(url)
    with sqlite3.connect(data / "reader.sqlite") as db:  # as an older reader stored the second spelling
        db.execute("INSERT INTO feeds (url, title, grp, site_url, created_at) SELECT ?, title, grp, site_url, "
                   "created_at FROM feeds", (url.replace("http://", "HTTP://"),))  # fmt: skip
    assert reader("fetch", "--no-fulltext", data=data).code == 0
    store = Store(data / "reader.sqlite")
    first = sorted(store.article_ids_in(ArticleFilter(feed_ids=[1])))
    store.set_read(first, True)
    store.close()

    listed = reader("feeds", "list", data=data)
    assert listed.code == 0 and "feeds 1, 2 are one feed" in listed.err and "'reader feeds remove 2'" in listed.err
    assert "already subscribed" in reader("feeds", "add", "--as-is", url.upper().replace("/FEED.XML", "/feed.xml"),
                                          data=data).out  # fmt: skip
    assert reader("feeds", "import", str(_urls(tmp_path, url)), data=data).code == 0
    store = Store(data / "reader.sqlite")
    assert [f.id for f in store.feeds()] == [1, 2]
    assert store.count_articles(ArticleFilter(feed_ids=[1], unread=True)) == 0
    assert store.count_articles(ArticleFilter(feed_ids=[2], unread=True)) == 3


def _urls(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "again-urls"
    path.write_text(f"{url}\n{url.replace('http://', 'HTTP://')}\n")
    return path
