"""JSON Feed 1.0/1.1: the spec's examples, real-world shapes, hostile JSON, and end to end through `reader fetch`.

The spec's examples are jsonfeed.org's own (version 1.1 page); the others are
shapes seen in the wild: micro.blog's 1.0 feeds (an `author` object, untitled
posts), static-site generators (relative URLs, numeric ids, link posts).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reader.models import Enclosure, ParsedArticle
from reader.parse import ParseError, parse_feed
from tests.clirun import reader
from tests.feedgen import recent

FEEDS = Path(__file__).parent / "data" / "feeds"
FEED_URL = "https://notes.example/feed.json"
VERSION_1_1 = "https://jsonfeed.org/version/1.1"
JSON_FEED = {"Content-Type": "application/feed+json"}


def json_feed(*items: object, **top: object) -> bytes:
    return json.dumps({"version": VERSION_1_1, "title": "T", **top, "items": list(items)}).encode()


def fixture(name: str, content_type: str = "application/feed+json"):
    return parse_feed((FEEDS / name).read_bytes(), FEED_URL, content_type)


# --- the spec's examples --------------------------------------------------------


def test_spec_minimal_example():
    feed = fixture("jsonfeed11-spec.json")

    assert (feed.title, feed.site_url, feed.warning) == ("My Example Feed", "https://example.org/", "")
    assert [(a.key, a.link, a.content) for a in feed.articles] == [
        ("2", "https://example.org/second-item", "This is a second item."),
        ("1", "https://example.org/initial-post", "Hello, world!"),  # content_html, as text
    ]


def test_spec_podcast_example_has_its_attachment_as_an_enclosure():
    article = fixture("jsonfeed11-podcast.json", "application/json").articles[0]

    assert article.key == "http://therecord.co/chris-parrish"
    assert article.title == "Special #1 - Chris Parrish"
    assert article.summary.startswith("Brent interviews Chris Parrish")
    assert article.content.startswith("Chris has worked at Adobe and as a founder")  # content_html, as text
    assert article.published == datetime(2014, 5, 9, 21, 4, tzinfo=UTC)
    assert article.enclosures == (
        Enclosure("http://therecord.co/downloads/The-Record-sp1e1-ChrisParrish.m4a", "audio/x-m4a", 89970236),
    )


# --- real-world shapes ----------------------------------------------------------


def test_json_feed_1_0_author_object_applies_to_untitled_posts():
    feed = fixture("jsonfeed10-microblog.json")

    assert feed.title == "Manton Reece" and feed.site_url == "https://www.manton.org/"
    first, second = feed.articles
    assert (first.title, first.author, first.categories) == ("", "Manton Reece", ("Policy", "chips"))
    assert first.content.startswith("Reading about the new chip export controls")
    assert first.published == datetime(2025, 3, 4, 15, 15, 2, tzinfo=UTC)
    assert second.key == "http://manton2.micro.blog/2025/03/03/a-short-note.html"


def test_static_site_shapes_relative_urls_numeric_ids_and_link_posts():
    feed = fixture("jsonfeed11-static-site.json")

    assert feed.site_url == "https://notes.example/"  # "/" resolved against the feed's URL
    essay, numbered, link_post = feed.articles
    assert essay.link == "https://notes.example/posts/semiconductors/"
    assert essay.author == "Ada Example, Grace Guest"
    assert essay.categories == ("policy", "hardware")  # case-insensitive duplicates dropped, as for RSS
    assert essay.summary == "A plain-text summary of the essay."
    assert essay.content == "Background\n\nSemiconductor supply chains & policy."
    assert essay.updated == datetime(2025, 2, 3, 7, 30, tzinfo=UTC)
    assert essay.enclosures == (Enclosure("https://notes.example/img/wafer.jpg", "image/jpeg", None),)
    assert numbered.key == "42" and numbered.author == "Ada Example"  # the feed's authors stand in
    assert numbered.content == "Plain text content.\n\nTwo paragraphs."
    assert link_post.key == link_post.link == "https://elsewhere.example/article"  # external_url


def test_an_item_reads_exactly_as_the_same_atom_entry():
    """One pipeline: the JSON item and its Atom twin give equal articles, keys and hashes included."""
    item = {
        "id": "tag:notes.example,2025:1", "url": "/posts/1", "title": "Chips & <policy>",
        "summary": "Short.", "content_html": "<p>Long <b>text</b>.</p>", "date_published": "2025-03-01T10:00:00Z",
        "date_modified": "2025-03-02T10:00:00+02:00", "authors": [{"name": "Ada"}], "tags": ["AI", "Chips"],
        "attachments": [{"url": "https://cdn.example/a.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 123}],
    }  # fmt: skip
    atom = f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
    <entry><id>{item["id"]}</id><link href="/posts/1"/><title type="text">Chips &amp; &lt;policy&gt;</title>
    <summary type="text">Short.</summary><content type="html">&lt;p&gt;Long &lt;b&gt;text&lt;/b&gt;.&lt;/p&gt;</content>
    <published>2025-03-01T10:00:00Z</published><updated>2025-03-02T10:00:00+02:00</updated>
    <author><name>Ada</name></author><category term="AI"/><category term="Chips"/>
    <link rel="enclosure" href="https://cdn.example/a.mp3" type="audio/mpeg" length="123"/></entry></feed>"""

    from_json = parse_feed(json_feed(item), FEED_URL).articles
    from_atom = parse_feed(atom.encode(), FEED_URL).articles

    assert from_json == from_atom
    assert from_json[0].title == "Chips & <policy>"


def test_identity_falls_back_as_for_xml_and_never_depends_on_the_feed_url():
    items = [{"url": "https://a.example/1", "title": "has a url"}, {"title": "nothing", "content_text": "body"}]

    keys = [a.key for a in parse_feed(json_feed(*items), FEED_URL).articles]
    moved = [a.key for a in parse_feed(json_feed(*items), "https://elsewhere.example/f.json").articles]

    assert keys[0] == "https://a.example/1"
    assert keys[1].startswith("sha256:")
    assert keys == moved


def test_declared_as_feed_json_it_may_leave_out_its_version():
    body = json.dumps({"title": "No version", "items": [{"id": "1", "content_text": "x"}]}).encode()

    assert parse_feed(body, FEED_URL, "application/feed+json; charset=utf-8").articles[0].key == "1"
    with pytest.raises(ParseError, match="without a jsonfeed.org version"):
        parse_feed(body, FEED_URL, "application/json")


def test_a_json_feed_without_items_is_an_empty_feed():
    assert parse_feed(json_feed(), FEED_URL).articles == []


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-32"])
def test_json_in_any_unicode_encoding(codec):
    body = json_feed({"id": "1", "title": "Grüße 中文"}).decode().encode(codec)

    assert parse_feed(b"" + body, FEED_URL).articles[0].title == "Grüße 中文"


# --- hostile JSON ---------------------------------------------------------------


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deep_nesting_is_a_clear_error(depth):
    body = b'{"version": "https://jsonfeed.org/version/1.1", "items": [], "_x": ' + b"[" * depth + b"]" * depth + b"}"

    with pytest.raises(ParseError, match="^not a feed: JSON nested deeper than 256 levels$"):
        parse_feed(body, FEED_URL)


def test_nesting_within_the_limit_is_fine():
    body = json_feed({"id": "1", "_ext": json.loads("[" * 250 + "]" * 250)})

    assert len(parse_feed(body, FEED_URL).articles) == 1


def test_a_huge_string_is_a_clear_error():
    body = json_feed({"id": "1", "content_text": "x" * 10_000_001})

    with pytest.raises(ParseError, match=r"^not a feed: a JSON string of 10,000,001 characters \(the limit is"):
        parse_feed(body, FEED_URL)


def test_long_fields_are_capped_as_for_xml():
    article = parse_feed(json_feed({"id": "1", "title": "t" * 9000, "content_text": "c" * 900_000}), FEED_URL)

    assert len(article.articles[0].title) == 500 and len(article.articles[0].content) == 500_000


def test_wrong_types_lose_only_the_field_and_are_named_in_the_warning():
    body = json_feed(
        {"id": "1", "title": 7, "content_text": "kept", "tags": "not-a-list", "attachments": {"url": "x"}},
        "an item that is a string",
        {"id": "3", "title": "fine", "authors": "Ada", "tags": ["ok", 5], "date_published": ["2025"]},
        {"id": True, "url": "https://a.example/4"},
        title=["not", "a", "string"],
    )

    feed = parse_feed(body, FEED_URL)

    assert [(a.key, a.title, a.content, a.categories) for a in feed.articles] == [
        ("1", "", "kept", ()),
        ("3", "fine", "", ("ok",)),
        ("https://a.example/4", "", "", ()),
    ]
    assert feed.title == ""
    assert feed.warning == "JSON Feed: the feed: 'title' is an array, not a string (left out); 8 more"


def test_items_not_a_list_is_a_clear_error():
    with pytest.raises(ParseError, match="^not a feed: JSON Feed 'items' is null, not a list$"):
        parse_feed(b'{"version": "https://jsonfeed.org/version/1", "items": null}', FEED_URL)


def test_escape_sequences_never_survive():
    feed = parse_feed(json_feed({"id": "1", "title": "Red \x1b[31mAlert\x07", "content_text": "a\x9b2Jb"}), FEED_URL)

    assert (feed.articles[0].title, feed.articles[0].content) == ("Red Alert", "ab")


def test_articles_cross_process_boundaries():
    from concurrent.futures import ProcessPoolExecutor

    body = (FEEDS / "jsonfeed11-static-site.json").read_bytes()
    with ProcessPoolExecutor(max_workers=1) as pool:
        parsed = pool.submit(parse_feed, body, FEED_URL).result()
        failure = pool.submit(parse_feed, b"[1]", FEED_URL).exception()

    assert parsed == parse_feed(body, FEED_URL)
    assert isinstance(failure, ParseError) and "not a JSON Feed" in str(failure)
    assert isinstance(parsed.articles[0], ParsedArticle)


# --- end to end: served over HTTP, fetched, searched, exported --------------------


PAGE = """<html><head><title>{title}</title></head><body><nav>Home | About</nav><article><h1>{title}</h1>
<p>{body}</p><p>Officials from several ministries met on Tuesday to review the proposal in detail, and
industry groups asked for more time to comment before any of the new measures take effect.</p>
<p>Analysts expect the debate to continue for months, with hearings planned in the spring.</p></article>
<footer>Copyright</footer></body></html>"""


def test_json_feeds_fetch_search_and_export_like_any_feed(tmp_path, http_server):
    items = []
    for k, (title, body) in enumerate([
        ("Chip rules tighten", "New export controls on advanced semiconductors were announced by the ministry."),
        ("Garden notes", "Tomatoes and beans did well this year despite the dry summer."),
    ]):  # fmt: skip
        link = http_server.route(f"/p/{k}", PAGE.format(title=title, body=body), headers={"Content-Type": "text/html"})
        attachment = {"url": http_server.url(f"/a/{k}.mp3"), "mime_type": "audio/mpeg", "size_in_bytes": 1000 + k}
        items.append({"id": f"post-{k}", "url": link, "title": title, "summary": body[:40],
                      "date_published": recent(k + 1).isoformat(), "authors": [{"name": "Ada"}],
                      "tags": ["policy"], "attachments": [attachment]})  # fmt: skip
    data = tmp_path / "data"
    declared = http_server.route("/feed.json", json_feed(*items, title="JSON news"), headers=JSON_FEED)
    plain = http_server.route("/plain.json", json_feed({"id": "x", "content_text": "Plain JSON served"}),
                              headers={"Content-Type": "application/json"})  # fmt: skip
    hostile = json_feed(title="Deep")[:-1] + b', "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    deep = http_server.route("/deep.json", hostile, headers=JSON_FEED)
    discovered = reader("feeds", "add", deep, data=data)  # discovery reads the body too: no traceback
    assert "Traceback" not in discovered.err, discovered.err
    for url in (declared, plain, deep):
        assert reader("feeds", "add", "--as-is", url, data=data).code == 0

    run = reader("fetch", "--json", data=data)
    assert run.code == 0, run.err
    assert reader("fetch", "--json", data=data).json()["new"] == 0  # same keys on a second fetch

    feeds = {f["url"]: f for f in reader("feeds", "list", "--json", data=data).json()}
    assert feeds[declared]["title"] == "JSON news" and feeds[declared]["articles"] == 2
    assert feeds[plain]["articles"] == 1
    assert feeds[deep]["last_status"] == "error"
    assert feeds[deep]["last_error"] == "not a feed: JSON nested deeper than 256 levels"
    found = reader("search", '"export controls" AND author:ada AND tag:policy', "--json", data=data).json()
    assert [a["title"] for a in found] == ["Chip rules tighten"]
    out = tmp_path / "all.jsonl"
    assert reader("export", "--format", "jsonl", "--query", "feed:json", "--out", str(out), data=data).code == 0
    exported = {a["title"]: a for a in map(json.loads, out.read_text().splitlines())}
    assert exported["Chip rules tighten"]["enclosures"] == [
        {"url": http_server.url("/a/0.mp3"), "type": "audio/mpeg", "length": 1000}
    ]
    assert exported["Chip rules tighten"]["text_source"] == "page"  # full text fetched from the item's url
    assert "hearings planned in the spring" in exported["Chip rules tighten"]["text"]
    assert exported["Garden notes"]["categories"] == ["policy"] and exported["Garden notes"]["author"] == "Ada"
