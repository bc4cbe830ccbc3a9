"""The CLI as a daily reader uses it: adding a site's page, removing safely, reading an article."""

from __future__ import annotations

import pytest

from reader.discover import feed_links, looks_like_feed
from tests.clirun import reader, reader_in_terminal
from tests.feedgen import Item, atom, recent, rss


def page(*links: str) -> str:
    head = "".join(links)
    return f"<!doctype html><html><head><title>Site</title>{head}</head><body><p>Hello</p></body></html>"


def test_feed_links_read_rel_alternate_resolved_against_the_page():
    html = page('<link rel="alternate" type="application/rss+xml" title="All posts" href="/rss.xml">',
                '<link rel="alternate stylesheet" type="text/css" href="/x.css">',
                '<link rel="alternate" type="application/atom+xml" href="https://other.example/atom">',
                '<link rel="alternate" type="application/rss+xml" href="/rss.xml">')  # fmt: skip
    found = feed_links(html.encode(), "http://site.example/blog/post")
    assert [(f.url, f.title, f.kind) for f in found] == [
        ("http://site.example/rss.xml", "All posts", "RSS"), ("https://other.example/atom", "", "Atom")]


def test_a_public_page_never_leads_to_a_private_address_but_a_private_page_may():
    html = page('<link rel="alternate" type="application/rss+xml" href="http://169.254.169.254/latest/meta-data">',
                '<link rel="alternate" type="application/rss+xml" href="http://localhost:8080/admin.rss">',
                '<link rel="alternate" type="application/rss+xml" href="http://10.0.0.5/feed">',
                '<link rel="alternate" type="application/atom+xml" href="/atom.xml">')  # fmt: skip
    assert [f.url for f in feed_links(html.encode(), "https://news.example/post")] == ["https://news.example/atom.xml"]
    assert len(feed_links(html.encode(), "http://10.0.0.2/intranet")) == 4  # an intranet page: its own network


@pytest.mark.parametrize("body, is_feed", [
    (rss([]), True), (atom([]), True), ('<?xml version="1.0"?><!-- c --><rdf:RDF xmlns:rdf="x">', True),
    ('{"version": "https://jsonfeed.org/version/1.1", "items": []}', True),
    (page(), False), ('{"version": 2}', False), ("plain text", False),
])  # fmt: skip
def test_looks_like_feed(body, is_feed):
    assert looks_like_feed(body.encode()) is is_feed


def test_adding_a_page_subscribes_to_its_one_feed_and_says_so(http_server, tmp_path):
    feed = http_server.route("/news/rss.xml", rss([Item("One", http_server.url("/a/1"), published=recent())]))
    site = http_server.route("/", page('<link rel="alternate" type="application/rss+xml" href="/news/rss.xml">'))
    run = reader("feeds", "add", site, data=tmp_path / "d")
    assert run.code == 0, run.err
    assert f"is a web page; subscribing to its feed {feed}" in run.out
    assert [f["url"] for f in reader("feeds", "list", "--json", data=tmp_path / "d").json()] == [feed]


def test_a_page_with_several_feeds_offers_them(http_server, tmp_path):
    site = http_server.route("/", page('<link rel="alternate" type="application/rss+xml" title="News" href="/n.xml">',
                                       '<link rel="alternate" type="application/atom+xml" title="Blog" href="/b.xml">'))
    run = reader("feeds", "add", site, data=tmp_path / "d")
    assert run.code == 1 and "offering 2 feeds" in run.out and "/n.xml" in run.out and "/b.xml" in run.out
    assert reader("feeds", "list", "--json", data=tmp_path / "d").json() == []
    picked = reader_in_terminal("feeds", "add", site, data=tmp_path / "d", columns=120, stdin="2\n")
    assert picked.code == 0, picked.out + picked.err
    assert [f["url"] for f in reader("feeds", "list", "--json", data=tmp_path / "d").json()] == [
        http_server.url("/b.xml")]


def test_a_page_without_a_feed_tries_the_usual_paths_then_refuses(http_server, tmp_path):
    site = http_server.route("/", page())
    run = reader("feeds", "add", site, data=tmp_path / "d")
    assert run.code == 1 and "names no feed" in run.err
    assert reader("feeds", "add", site, "--as-is", data=tmp_path / "d").code == 0
    guessed = http_server.route("/feed", atom([]))
    http_server.route("/other", page())
    run = reader("feeds", "add", http_server.url("/other"), data=tmp_path / "e")
    assert run.code == 0 and guessed in run.out


def test_an_unreachable_url_is_added_as_given_with_a_warning(tmp_path):
    run = reader("feeds", "add", "http://127.0.0.1:9/feed.xml", data=tmp_path / "d")
    assert run.code == 0 and "could not check" in run.err


@pytest.fixture
def subscribed(http_server, tmp_path):
    data = tmp_path / "d"
    enclosure = '<enclosure url="http://127.0.0.1/ep1.mp3" type="audio/mpeg" length="12345678"/>'
    body = rss([Item("Episode one", http_server.url("/a/1"), "A long summary sentence. " * 30, published=recent())])
    body = body.replace("</item>", enclosure + "</item>")
    url = http_server.route("/rss.xml", body)
    assert reader("feeds", "add", url, "--title", "Tech Blog", data=data).code == 0
    assert reader("fetch", "--no-fulltext", data=data).code == 0
    return data


def test_remove_asks_on_a_terminal_and_refuses_a_title_match_off_one(subscribed):
    run = reader("feeds", "remove", "Blog", data=subscribed)
    assert run.code == 2 and "--yes" in run.err
    assert len(reader("feeds", "list", "--json", data=subscribed).json()) == 1
    no = reader_in_terminal("feeds", "remove", "Blog", data=subscribed, columns=100, stdin="n\n")
    assert no.code == 1 and "Remove 1 feed and 1 article?" in no.err + no.out
    assert len(reader("feeds", "list", "--json", data=subscribed).json()) == 1
    yes = reader_in_terminal("feeds", "remove", "Blog", data=subscribed, columns=100, stdin="y\n")
    assert yes.code == 0 and "removed feed 1" in yes.out
    assert reader("feeds", "list", "--json", data=subscribed).json() == []


def test_remove_by_id_or_with_yes_acts_in_scripts(subscribed):
    assert reader("feeds", "remove", "Blog", "--yes", data=subscribed).code == 0
    assert reader("feeds", "list", "--json", data=subscribed).json() == []


def test_show_spaces_its_labels_wraps_the_body_and_lists_enclosures(subscribed):
    run = reader_in_terminal("show", "1", data=subscribed, columns=60)
    assert run.code == 0, run.err
    assert "     title: Episode one" in run.out and " text from: " in run.out
    assert "enclosure: http://127.0.0.1/ep1.mp3 (audio/mpeg, 12.3 MB)" in run.out
    body = run.out.split("A long summary", 1)[1]
    assert all(len(line) <= 60 for line in body.splitlines())
    piped = reader("show", "1", data=subscribed)
    assert "enclosure: http://127.0.0.1/ep1.mp3" in piped.out


def test_fetch_summary_speaks_in_singular_and_plural(http_server, tmp_path):
    url = http_server.route("/one.xml", rss([Item("Only", http_server.url("/a/9"), published=recent())]))
    reader("feeds", "add", url, "--as-is", data=tmp_path / "d")
    run = reader("fetch", "--no-fulltext", data=tmp_path / "d")
    assert "1 feed: 1 new article, 0 updated" in run.out


@pytest.mark.parametrize("summary", ["<h1>Episode one</h1><p>The body.</p>", "<p>The body.</p>"])
def test_markdown_export_writes_the_title_once(http_server, tmp_path, summary):
    data, out = tmp_path / "d", tmp_path / "md"
    url = http_server.route("/rss.xml", rss([Item("Episode one", http_server.url("/a/1"), summary, published=recent())]))
    reader("feeds", "add", url, "--as-is", data=data)
    reader("fetch", "--no-fulltext", data=data)
    assert reader("export", "--format", "markdown", "-o", str(out), data=data).code == 0
    text = next(out.glob("*.md")).read_text()
    body = text.split("---\n", 2)[2]
    assert body.count("Episode one") == 1 and body.startswith("\n# Episode one\n") and "The body." in body


def test_a_body_that_is_no_web_page_is_left_for_the_parser_to_judge(http_server, tmp_path):
    url = http_server.route("/data.json", '{"not": "a feed"}', headers={"Content-Type": "application/json"})
    run = reader("feeds", "add", url, data=tmp_path / "d")
    assert run.code == 0 and "web page" not in run.out
    assert [f["url"] for f in reader("feeds", "list", "--json", data=tmp_path / "d").json()] == [url]
