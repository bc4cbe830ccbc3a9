"""OPML and newsboat `urls` import, OPML export, and the bundled feeds.opml."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from lxml import etree

from reader.opml import MAX_INPUT_BYTES, OPMLError, QueryFeed, Subscription, read_subscriptions, write_opml
from reader.store import Store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "opml"


def opml(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head/><body>{body}</body></opml>'.encode()


def billion_laughs(encoding: str) -> bytes:
    """Ten levels of ten-fold entity expansion: 10^9 'lol's if a parser expands them."""
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    doc = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE opml [{"".join(entities)}]>\n'
        '<opml version="2.0"><head/><body><outline text="&lol9;" xmlUrl="https://x.example/&lol9;"/></body></opml>'
    )
    return doc.encode(encoding)


# --- OPML import --------------------------------------------------------------


def test_nested_opml_groups_by_innermost_labelled_category():
    result = read_subscriptions((DATA / "nested.opml").read_bytes(), "nested.opml")

    assert result.subscriptions == [
        Subscription("https://top.example/feed", "Top-level feed", ""),
        Subscription("https://tech.example/rss", "Real title", "Tech"),
        Subscription(
            "https://chips.example/atom.xml", "Only text, no type", "Semiconductors", "https://chips.example/"
        ),
        Subscription("https://deep.example/feed", "Under an unlabelled folder", "Semiconductors"),
        Subscription("https://tech2.example/feed", "Back in Tech", "Tech"),  # javascript: htmlUrl dropped
        Subscription("https://policy.example/feed", "", "Policy"),  # a title that repeats the URL is no title
        Subscription("https://world.example/rss", "Categorised by attribute", "World"),
    ]


def test_nested_opml_reports_duplicates_and_non_http_urls_with_their_lines():
    result = read_subscriptions((DATA / "nested.opml").read_bytes(), "nested.opml")

    assert result.skipped == [
        "line 17: duplicate of line 7: 'https://tech.example/rss'",
        "line 18: not an http(s) URL: 'mailto:list@example.org'",
    ]


@pytest.mark.parametrize(("encoding", "codec"), [("UTF-16", "utf-16"), ("UTF-16BE", "utf-16-be"), ("UTF-32", "utf-32")])
def test_opml_in_wide_encodings_is_recognised(encoding, codec):
    data = (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        '<opml><body><outline text="Ü" xmlUrl="https://u.example/f"/></body></opml>'
    )

    result = read_subscriptions(data.encode(codec), "wide.opml")

    assert result.subscriptions == [Subscription("https://u.example/f", "Ü", "")]


def test_title_is_preferred_to_text_and_text_used_without_title():
    result = read_subscriptions(
        opml(
            '<outline text="Shown" title="Titled" xmlUrl="https://a.example/f"/>'
            '<outline text="Only text" xmlUrl="https://b.example/f"/>'
            '<outline title="" text="Empty title falls back" xmlUrl="https://c.example/f"/>'
            '<outline xmlUrl="https://d.example/f"/>'
        ),
        "feeds.xml",
    )

    assert [s.title for s in result.subscriptions] == ["Titled", "Only text", "Empty title falls back", ""]


def test_attribute_names_are_matched_case_insensitively():
    data = opml('<outline TEXT="Loud" xmlurl="https://a.example/f" HTMLURL="https://a.example/"/>')

    result = read_subscriptions(data, "f")

    assert result.subscriptions == [Subscription("https://a.example/f", "Loud", "", "https://a.example/")]


def test_same_url_twice_in_one_file_keeps_the_first():
    result = read_subscriptions(
        opml(
            '<outline text="A"><outline text="First" xmlUrl="https://same.example/f"/></outline>'
            '<outline text="B"><outline text="Second" xmlUrl="https://same.example/f"/></outline>'
        ),
        "f",
    )

    assert result.subscriptions == [Subscription("https://same.example/f", "First", "A")]
    assert len(result.skipped) == 1 and "duplicate" in result.skipped[0]


def test_importing_a_file_twice_into_the_store_adds_each_feed_once(tmp_path):
    result = read_subscriptions((DATA / "nested.opml").read_bytes(), "nested.opml")
    store = Store(tmp_path / "reader.db")
    try:
        first = [store.add_feed(s.url, s.title, s.group, s.site_url)[1] for s in result.subscriptions]
        second = [store.add_feed(s.url, s.title, s.group, s.site_url)[1] for s in result.subscriptions]

        assert all(first) and not any(second)
        assert sorted(f.url for f in store.feeds()) == sorted(s.url for s in result.subscriptions)
    finally:
        store.close()


def test_control_characters_in_titles_never_come_through():
    # XML 1.0 allows C1 controls such as CSI (U+009B), which a terminal may act on.
    result = read_subscriptions(
        opml(
            '<outline text="Tech&#155;2J\tnews">'
            '<outline text="Evil&#155;31m\ntitle" xmlUrl="https://e.example/f"/></outline>'
        ),
        "f",
    )

    assert result.subscriptions == [Subscription("https://e.example/f", "Evil title", "Tech news")]


# --- OPML errors --------------------------------------------------------------


def test_malformed_xml_names_file_line_and_column():
    data = b'<?xml version="1.0"?>\n<opml version="2.0">\n<body>\n<outline text="a">\n</body>\n</opml>\n'

    with pytest.raises(OPMLError) as caught:
        read_subscriptions(data, "feeds.xml")

    assert str(caught.value) == (
        "feeds.xml: not OPML: XML syntax error at line 5, column 8: "
        "Opening and ending tag mismatch: outline line 4 and body"
    )


@pytest.mark.timeout(10)  # a guard against hanging, not a measurement
@pytest.mark.parametrize("encoding", ["UTF-8", "UTF-16", "UTF-32"])
def test_billion_laughs_is_refused(encoding):
    # UTF-32 hides the declarations from the byte scan: libxml2's amplification limit must stop it.
    with pytest.raises(OPMLError, match=r"^bomb\.opml: not OPML: ") as caught:
        read_subscriptions(billion_laughs(encoding), "bomb.opml")

    assert "entit" in str(caught.value).lower()


def test_external_entities_are_refused_without_reading_the_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY s SYSTEM "file://{secret}">]>'
        '<opml><body><outline text="&s;" xmlUrl="https://a.example/f"/></body></opml>'
    ).encode()

    with pytest.raises(OPMLError, match="entity declarations are not allowed") as caught:
        read_subscriptions(data, "xxe.opml")

    assert "TOP SECRET" not in str(caught.value)


def test_opml_with_no_feed_urls_says_what_is_missing():
    data = opml('<outline text="Tech"><outline text="No URL here"/></outline>')

    with pytest.raises(OPMLError, match=r"^feeds\.xml: no feed URLs found \(outlines need an xmlUrl attribute\)$"):
        read_subscriptions(data, "feeds.xml")


def test_an_outline_that_looks_like_a_feed_but_has_no_xmlurl_is_named_and_an_empty_folder_is_not():
    data = opml('<outline text="Empty folder"/>\n<outline text="Tech">\n'
                '<outline text="Site only" type="rss" htmlUrl="https://a.example/"/>\n'
                '<outline text="Link" type="link" url="https://b.example/page"/>\n'
                '<outline text="Feed" xmlUrl="https://c.example/feed"/>\n</outline>')  # fmt: skip
    result = read_subscriptions(data, "feeds.opml")
    assert [s.url for s in result.subscriptions] == ["https://c.example/feed"]
    assert result.skipped == [
        "line 4: no xmlUrl (the feed's address), so nothing to subscribe to: 'Site only'",
        "line 5: a link to a web page (type=\"link\"), not a feed: 'https://b.example/page'; 'reader feeds add' with "
        "that address subscribes to the feeds the page names"]  # fmt: skip


def test_opml_2_includes_are_named_as_lists_to_import_and_never_fetched(http_server):
    """OPML 2.0: `type="include"` (or a "link" to a .opml) is another list at `url`. The import reads the file it
    was given only: the included list is named, and nothing is asked of its server."""
    included = http_server.route("/more.opml", opml('<outline text="Hidden" xmlUrl="https://h.example/feed"/>'))
    data = opml(f'<outline text="Feed" xmlUrl="https://c.example/feed"/>\n'
                f'<outline text="More feeds" type="include" url="{included}"/>\n'
                f'<outline text="Blogroll" type="link" url="{included}?v=2"/>')  # fmt: skip
    result = read_subscriptions(data, "feeds.opml")
    assert [s.url for s in result.subscriptions] == ["https://c.example/feed"]
    assert result.skipped == [
        f"line 3: an OPML list included from elsewhere (type=\"include\"), not read: '{included}'; to subscribe to "
        "its feeds, download it and import that file",
        f"line 4: an OPML list included from elsewhere (type=\"link\"), not read: '{included}?v=2'; to subscribe to "
        "its feeds, download it and import that file"]  # fmt: skip
    assert http_server.requests == []


@pytest.mark.parametrize("declaration", ['<?xml version="1.0"?>\n', '<?xml version="1.0" encoding="utf-8"?>\n', ""])
def test_latin1_bytes_in_a_file_declaring_no_other_encoding_are_read_as_windows_1252(declaration):
    """An old exporter's Latin-1 without a declaration: UTF-8 by the XML rules, so 'Caf\ufffd' unless recovered."""
    data = (f'{declaration}<opml version="1.0"><body>\n<outline text="Café – société" xmlUrl="http://h.example/f"/>\n'
            "</body></opml>").encode("cp1252")  # fmt: skip
    result = read_subscriptions(data, "old.opml")
    assert [s.title for s in result.subscriptions] == ["Café – société"]
    assert f"4 non-UTF-8 bytes (read as Windows-1252) at line {2 + bool(declaration)}" in result.recovered


def test_opml_without_body_is_refused():
    with pytest.raises(OPMLError, match=r"^feeds\.xml: no <body> element$"):
        read_subscriptions(b'<opml version="2.0"><head><title>t</title></head></opml>', "feeds.xml")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<rss version="2.0"><channel/></rss>', "this is a feed (<rss>), not a list of subscriptions"),
        (b"<html><body><p>Sign in</p></body></html>", "the root element is <html>, not <opml>"),
    ],
)
def test_xml_that_is_not_opml_is_named_as_such(data, message):
    with pytest.raises(OPMLError, match=rf"^f\.xml: not OPML: {re.escape(message)}$"):
        read_subscriptions(data, "f.xml")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b" \n\t\r\n"])
def test_empty_file_is_refused(data):
    with pytest.raises(OPMLError, match=r"^feeds\.opml: empty file$"):
        read_subscriptions(data, "feeds.opml")


def test_oversize_input_is_refused_before_parsing():
    data = opml("<outline/>" * (MAX_INPUT_BYTES // 10))
    assert len(data) > MAX_INPUT_BYTES

    with pytest.raises(OPMLError, match=r"^big\.opml: too large \([\d,]+ bytes; the limit is 10 MB\)$"):
        read_subscriptions(data, "big.opml")


def test_only_non_http_feeds_yields_nothing_but_reasons():
    data = opml('<outline xmlUrl="file:///etc/passwd"/><outline xmlUrl="ftp://x.example/f"/>')

    result = read_subscriptions(data, "f")

    assert result.subscriptions == []
    assert [reason.split(": ")[1] for reason in result.skipped] == ["not an http(s) URL"] * 2


# --- newsboat urls ------------------------------------------------------------


def test_newsboat_urls_tags_titles_and_hidden_tags():
    result = read_subscriptions((DATA / "urls").read_bytes(), "urls")

    assert result.subscriptions == [
        Subscription("https://plain.example/feed", "", ""),
        Subscription("https://tagged.example/rss", "", "tech"),
        Subscription("https://quoted.example/atom", "Quoted Title", "Tech News"),
        Subscription("https://hidden.example/feed", "Hidden one", "policy"),
        Subscription("https://titled.example/feed", "Short", ""),
    ]


def test_newsboat_urls_reports_every_line_it_skips():
    result = read_subscriptions((DATA / "urls").read_bytes(), "urls")

    assert result.skipped == [
        "line 9: exec feeds are not imported (they run a command)",
        "line 10: filter feeds are not imported (they run a command)",
        "line 11: not an http(s) URL: 'gopher://old.example/feed'",
        "line 12: duplicate of line 2: 'https://plain.example/feed'",
    ]


def test_newsboat_query_feeds_and_tags_are_kept_for_translation():
    result = read_subscriptions((DATA / "urls").read_bytes(), "urls")

    assert result.queries == [QueryFeed(8, "Unread articles", 'unread = "yes"')]
    assert result.tags["https://quoted.example/atom"] == ("Tech News", "ai")
    assert result.tags["https://hidden.example/feed"] == ("!hidden", "policy")
    assert result.tags["https://plain.example/feed"] == ()  # its first line, not the duplicate's


def test_newsboat_line_that_is_not_a_url_is_skipped_naming_the_line():
    data = b"https://a.example/f\n\n# comment\n\n\n\nfoo bar\nhttps://b.example:99999/f\n"
    result = read_subscriptions(data, "urls")
    assert [s.url for s in result.subscriptions] == ["https://a.example/f"]
    assert result.skipped == [
        "line 7: not a URL: 'foo bar'",
        "line 8: its port must be a number from 1 to 65535: 'https://b.example:99999/f'",
    ]


def test_newsboat_unterminated_quote_is_skipped_naming_the_line():
    result = read_subscriptions(b'https://a.example/f\nhttps://b.example/f "Tech\n', "urls")
    assert [s.url for s in result.subscriptions] == ["https://a.example/f"]
    assert result.skipped == ["line 2: unterminated double quote: 'https://b.example/f \"Tech'"]


def test_newsboat_file_with_no_url_at_all_is_an_error():
    with pytest.raises(OPMLError, match=r"^notes.txt: not a list of feed URLs \(line 1: not a URL: 'Dear diary'\)$"):
        read_subscriptions(b"Dear diary\ntoday I\n", "notes.txt")


def test_a_file_of_colon_separated_records_is_not_a_list_of_feed_urls_and_is_not_echoed_line_by_line():
    """`root:x:0:0:…` reads as a URL with the scheme `root`: a file with no http(s) URL at all is refused."""
    data = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n_apt:x:42:65534\n"
    with pytest.raises(OPMLError, match=r"^passwd: not a list of feed URLs \(line 1: not an http\(s\) URL: 'root:"):
        read_subscriptions(data, "passwd")


def test_newsboat_file_of_only_comments_has_no_feeds():
    with pytest.raises(OPMLError, match=r"^urls: no feed URLs found \(expected one feed URL per line\)$"):
        read_subscriptions(b"# nothing yet\n\n# still nothing\n", "urls")


def test_newsboat_titles_lose_escape_sequences():
    result = read_subscriptions(b'https://a.example/f "~Red \x1b[31mAlert\x07"\n', "urls")

    assert result.subscriptions == [Subscription("https://a.example/f", "Red Alert", "")]


def test_binary_data_is_refused_as_not_text():
    with pytest.raises(OPMLError, match=r"^f: not OPML and not a text file \(a NUL byte at offset 8\)$"):
        read_subscriptions(b"\x89PNG\r\n\x1a\n\x00\x00", "f")


def test_a_latin1_title_in_a_newsboat_urls_file_loses_no_line():
    """One title saved in Latin-1 (an old editor) made the whole file "not UTF-8 text": nothing imported."""
    data = ('https://a.example/f "~Café Müller"\n'.encode() + 'https://b.example/f "~Société" "Économie"\n'.encode("cp1252")
            + "https://c.example/f tech\n".encode())  # fmt: skip
    result = read_subscriptions(data, "urls")
    assert [(s.title, s.group) for s in result.subscriptions] == [("Café Müller", ""), ("Société", "Économie"),
                                                                  ("", "tech")]  # fmt: skip
    assert result.recovered == "3 bytes not UTF-8 at line 2, read as Windows-1252"


# --- OPML export --------------------------------------------------------------

AWKWARD = [
    ("https://a.example/feed?x=1&y=2", 'Tom & Jerry <"quoted"> \'n\' stuff', "R&D <lab>", "https://a.example/"),
    ("https://b.example/rss", "Café 中文 — ümlaut 🚀", "R&D <lab>", ""),
    ("https://c.example/atom", "", "", "https://c.example/?a=1&b=2"),
    ("https://d.example/feed", "Ungrouped]]>", "", ""),
    ("https://e.example/feed", "Policy watch", "Polícy", ""),
]


def test_write_then_read_gives_the_same_subscriptions():
    result = read_subscriptions(write_opml(AWKWARD).encode("utf-8"), "export.opml")

    assert result.subscriptions == [Subscription(url, title, group, site) for url, title, group, site in AWKWARD]
    assert result.skipped == []


def test_export_is_opml_2_with_categories_and_rss_outlines():
    root = etree.fromstring(write_opml(AWKWARD, title="My feeds & more").encode("utf-8"))

    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "My feeds & more"
    assert parsedate_to_datetime(root.findtext("head/dateCreated")).tzinfo is not None
    top = root.find("body")
    assert [(o.get("text"), o.get("title"), o.get("xmlUrl")) for o in top] == [
        ("R&D <lab>", "R&D <lab>", None),
        ("https://c.example/atom", "https://c.example/atom", "https://c.example/atom"),
        ("Ungrouped]]>", "Ungrouped]]>", "https://d.example/feed"),
        ("Polícy", "Polícy", None),
    ]
    feeds = root.findall(".//outline[@xmlUrl]")
    assert {o.get("type") for o in feeds} == {"rss"}
    assert [o.get("htmlUrl") for o in feeds] == ["https://a.example/", None, "https://c.example/?a=1&b=2", None, None]


def test_export_drops_characters_xml_cannot_carry():
    text = write_opml([("https://a.example/f", "Bell\x07 and\x1b[2J escape \uffff", "Grp\x00", "")])

    assert read_subscriptions(text.encode(), "f").subscriptions == [
        Subscription("https://a.example/f", "Bell and escape", "Grp")
    ]


# --- the bundled feeds.opml ---------------------------------------------------


def test_bundled_feeds_opml_is_curated_and_importable():
    result = read_subscriptions((ROOT / "feeds.opml").read_bytes(), "feeds.opml")
    urls = [s.url for s in result.subscriptions]

    assert 30 <= len(result.subscriptions) <= 40
    assert result.skipped == []
    assert {s.group for s in result.subscriptions} == {"Tech", "Policy"}
    assert all(url.startswith("https://") for url in urls)
    assert len(set(urls)) == len(urls)
    assert all(s.title and s.site_url.startswith("https://") for s in result.subscriptions)


def test_bundled_feeds_opml_outlines_carry_every_attribute():
    root = etree.parse(str(ROOT / "feeds.opml")).getroot()
    groups = root.findall("body/outline")
    feeds = root.findall("body/outline/outline")

    assert [g.get("text") for g in groups] == ["Tech", "Policy"]
    assert all(f.get("type") == "rss" and f.get("text") == f.get("title") for f in feeds)
    assert all(f.get("xmlUrl") and f.get("htmlUrl") for f in feeds)


# --- OPML that is not well-formed -----------------------------------------------


def test_malformed_opml_is_repaired_and_every_readable_outline_imported():
    result = read_subscriptions((DATA / "malformed.opml").read_bytes(), "malformed.opml")

    assert [(s.url, s.title, s.group) for s in result.subscriptions] == [
        ("https://world.example/rss", "World", "News & Politics"),
        ("https://cafe.example/feed", "Cafe Society", "News & Politics"),  # &nbsp;
        ("https://search.example/rss?q=chips&lang=en", "Search results", "News & Politics"),  # URL kept whole
        ("https://toons.example/feed", "Tom & Jerry", "News & Politics"),
        ("https://news.ycombinator.example/rss", "Hacker News", "Tech"),
        ("https://bold.example/atom.xml", "a <b>bold</b> title", "Tech"),
        ("https://t.example/feed?id=1&src=opml&utm=x", "Tracker", "Tech"),
        ("https://copyleft.example/feed", "Unknown &copyleft; entity", "Tech"),
        ("https://semis.example/feed", "Semis", "Tech"),
        ("https://before.example/feed", "Before the break", "Broken folder"),
        ("https://after.example/feed", "After the break", "Broken folder"),
        ("https://talk.example/podcast.xml", "Talk", "Podcasts"),
        ("https://music.example/podcast.xml", "Music", "Podcasts"),
        ("https://loose.example/rss?a=1&b=2", "Top & loose", ""),
    ]
    assert result.skipped == [
        "line 22: outline not readable: attributes construct error",
        "line 28: not an http(s) URL: 'ftp://old.example/feed'",
    ]
    assert result.recovered == (
        "the file is not well-formed XML (2 bare '<' at line 15; 5 bare '&' at lines 10, 11, 16, 30; "
        "2 undefined entities at lines 9, 17; "
        "XML syntax error at line 22, column 56: attributes construct error): recovered what could be read"
    )


def test_bare_ampersands_alone_are_repaired_with_their_lines():
    lines = ['<?xml version="1.0"?>', '<opml version="2.0">', "<head/>", "<body>"]
    lines += [f'<outline text="Feed {k}" xmlUrl="https://f{k}.example/rss?a=1{"&b=2" if k in (3, 7) else ""}"/>'
              for k in range(10)]  # fmt: skip
    lines += ['<outline text="R&D" xmlUrl="https://rd.example/feed"/>', "</body>", "</opml>"]

    result = read_subscriptions("\n".join(lines).encode(), "wild.opml")

    assert len(result.subscriptions) == 11 and result.skipped == []
    assert result.subscriptions[3].url == "https://f3.example/rss?a=1&b=2"
    assert result.subscriptions[-1].title == "R&D"
    assert result.recovered == "the file is not well-formed XML (3 bare '&' at lines 8, 12, 15): recovered"


def test_well_formed_opml_reports_no_recovery():
    assert read_subscriptions((DATA / "nested.opml").read_bytes(), "nested.opml").recovered == ""


def test_broken_opml_in_utf16_is_recovered_without_byte_repair():
    data = '<?xml version="1.0" encoding="UTF-16"?><opml><body><outline text="A" xmlUrl="https://a.example/f"/>'

    result = read_subscriptions(data.encode("utf-16"), "wide.opml")

    assert [s.url for s in result.subscriptions] == ["https://a.example/f"]
    assert result.recovered.startswith("the file is not well-formed XML (XML syntax error at line 1")


@pytest.mark.timeout(30)  # a guard against quadratic repair work, not a measurement
@pytest.mark.parametrize(
    "tail",
    [b"<!--" * 500_000, b"<![CDATA[" * 200_000, b"<!DOCTYPE" * 200_000, b'<a "' * 500_000, b'<a b="<">' * 200_000,
     b"<b" + b" c" * 1_000_000, b'<outline text="&nbsp;&" xmlUrl="https://a.example/?a&b"/>\n' * 10_000],
)  # fmt: skip
def test_hostile_malformed_xml_is_answered_without_hanging(tail):
    try:
        result = read_subscriptions(b"<opml><body>" + tail, "hostile.opml")
    except OPMLError as exc:
        assert str(exc).startswith("hostile.opml: not OPML: XML syntax error at line 1")
    else:
        assert result.recovered.startswith("the file is not well-formed XML (")


def test_one_latin1_title_in_a_utf8_file_leaves_the_utf8_titles_as_they_are():
    """Hand-edited files mix them: only the bytes that are not UTF-8 are read as Windows-1252."""
    data = ('<opml version="1.0"><body>\n<outline text="Café Müller — Straße" xmlUrl="http://a.example/f"/>\n'.encode()
            + '<outline text="Société" xmlUrl="http://b.example/f"/>\n'.encode("cp1252")
            + "</body></opml>".encode())  # fmt: skip
    result = read_subscriptions(data, "mixed.opml")
    assert [s.title for s in result.subscriptions] == ["Café Müller — Straße", "Société"]
    assert "2 non-UTF-8 bytes (read as Windows-1252) at line 3" in result.recovered, result.recovered
