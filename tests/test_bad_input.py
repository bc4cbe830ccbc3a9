"""Bad input gets a clear message and loses nothing, through the real CLI: feed URLs, import files,
items sharing one guid, a full disk, an emptied database, and the modes of the files the reader writes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.clirun import reader


def folded(text: str) -> str:
    return " ".join(text.split())  # stderr wraps long messages at the terminal's width


BAD_FEED_URLS = [
    ("http://", "it names no host"),
    ("http://example.org:99999/feed", "its port must be a number from 1 to 65535"),
    ("http://example.org:0/feed", "its port must be a number from 1 to 65535"),
    ("http://example.org/fe\r\ned", r"it holds a control character or space ('\r' at position 22)"),
    ("ftp://example.org/feed", "it must start with http:// or https:// (not ftp:)"),
    ("example.org/feed", "it must start with http:// or https://"),
    ("http://exa_mple..org/feed", "its host 'exa_mple..org' is not a valid host name"),
]


def test_feeds_add_refuses_what_is_not_a_feed_url_and_says_why(tmp_path):
    data = tmp_path / "data"

    def add(url: str):
        return reader("feeds", "add", "--as-is", url, data=data)

    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(add, [url for url, _ in BAD_FEED_URLS]))
    for (url, why), run in zip(BAD_FEED_URLS, runs):
        assert run.code == 2 and f"not a feed URL: {url!r}: {why}" in folded(run.err), (url, run.err)
    assert reader("feeds", "list", "--json", data=data).json() == []
    ok = reader("feeds", "add", "--as-is", "http://127.0.0.1:8080/feed.xml", data=data)
    assert ok.code == 0, ok.err


def test_feeds_import_takes_every_good_line_and_names_each_skipped_one(tmp_path):
    data = tmp_path / "data"
    urls = tmp_path / "urls"
    urls.write_text(
        "https://a.example/feed.xml\n"
        "this line is not a url\n"
        "http://b.example:99999/rss\n"
        'https://c.example/atom "~C" tech\n'
        'https://d.example/feed "unterminated\n'
        "gopher://e.example/feed\n"
        "https://f.example/feed\n",
        encoding="utf-8",
    )
    run = reader("feeds", "import", str(urls), data=data)
    assert run.code == 0, run.err
    err = folded(run.err)
    for expected in ("line 2: not a URL: 'this line is not a url'",
                     "line 3: its port must be a number from 1 to 65535: 'http://b.example:99999/rss'",
                     "line 5: unterminated double quote",
                     "line 6: not an http(s) URL: 'gopher://e.example/feed'"):  # fmt: skip
        assert expected in err, run.err
    feeds = {f["url"] for f in reader("feeds", "list", "--json", data=data).json()}
    assert feeds == {"https://a.example/feed.xml", "https://c.example/atom", "https://f.example/feed"}
