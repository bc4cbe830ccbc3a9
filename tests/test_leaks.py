"""Boilerplate that real sites leave inside the article body stays out of the stored text.

Each leak kind (consent wall, paywall teaser, related stories, newsletter box,
captions, author bio) is a page served by a local HTTP server, fetched with
`reader fetch` and read back with `reader show` and `reader export`: the
article is there, the site's boilerplate is not, and article sentences that
merely look like boilerplate stay.
"""

from __future__ import annotations

import json

import pytest

from tests.clirun import reader
from tests.feedgen import Item, recent, rss
from tests.leakpages import LEAK_PAGES, LeakPage

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    """One feed linking to every leak page, fetched once with full text."""
    from tests.httpserver import HTTPServer

    server = HTTPServer()
    entries = [
        Item(page.title, server.route(page.path, page.html, headers=HTML), "Feed summary only.", guid=page.kind,
             published=recent(k + 1))
        for k, page in enumerate(LEAK_PAGES)
    ]  # fmt: skip
    data = tmp_path_factory.mktemp("leaks") / "data"
    reader("feeds", "add", server.route("/feed.xml", rss(entries), headers=RSS), data=data)
    run = reader("fetch", "--json", data=data)
    assert run.code == 0, run.err
    yield {"data": data, "server": server}
    server.close()


def _shown(fetched, page: LeakPage) -> dict:
    run = reader("show", fetched["server"].url(page.path), "--json", data=fetched["data"])
    assert run.code == 0, run.err
    return run.json()


def test_page_builder_puts_each_leak_on_the_page_and_not_in_the_article():
    """Guards the tests below: what must be missing from the output was on the page to drop."""
    for page in LEAK_PAGES:
        for leak in page.leaks:
            assert leak.replace("'", "&#x27;") in page.html or leak in page.html, (page.kind, leak)
            assert not any(leak in paragraph for paragraph in page.article), (page.kind, leak)


@pytest.mark.parametrize("page", LEAK_PAGES, ids=lambda page: page.kind)
def test_show_has_the_article_without_the_leak(fetched, page):
    shown = _shown(fetched, page)
    assert shown["text_source"] == "page"
    for paragraph in page.article:
        assert paragraph in shown["text"], (page.kind, paragraph[:60])
    leaked = [leak for leak in page.leaks if leak in shown["text"] or leak in shown["markdown"]]
    assert leaked == []


@pytest.mark.parametrize("page", [p for p in LEAK_PAGES if p.decoys], ids=lambda page: page.kind)
def test_article_sentences_that_look_like_boilerplate_stay(fetched, page):
    text = _shown(fetched, page)["text"]
    for decoy in page.decoys:
        assert decoy in text


def test_export_carries_no_leak(fetched):
    run = reader("export", "--format", "jsonl", data=fetched["data"])
    assert run.code == 0, run.err
    exported = [json.loads(line) for line in run.out.splitlines()]
    assert len(exported) == len(LEAK_PAGES)
    everything = "\n".join(a["text"] + "\n" + a["markdown"] for a in exported)
    leaked = [leak for page in LEAK_PAGES for leak in page.leaks if leak in everything]
    assert leaked == []
    assert all(page.article[0] in everything for page in LEAK_PAGES)
