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
from tests.leakpages import LEAK_PAGES, LeakPage, article_page

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


# --- what looks like boilerplate but is the article (in process: no server needed) ---------------


def _text(title: str, body: str) -> str:
    from reader.fulltext import extract_article

    found = extract_article(article_page("decoy", title, body), "https://www.harbourledger.example/news/decoy.html")
    assert found is not None
    return found.text


_PROSE = (
    "Regulators in three countries said on Friday they would coordinate their inquiries into the merger, "
    "sharing documents and timing their decisions so that the companies face one set of conditions.",
    "The companies have said the deal would close by the end of the year. Analysts expect the regulators to "
    "ask for the sale of at least one of the two firms' cloud businesses before approving it.",
)


def test_headline_reworded_above_the_body_goes_but_a_lede_retelling_it_stays():
    title = "Regulators join forces on the cloud merger review"
    lede = "Regulators have joined forces on the cloud merger review, officials said."
    text = _text(title, f"<h2>Regulators join forces on cloud merger review</h2><p>{lede}</p>"
                        + "".join(f"<p>{p}</p>" for p in _PROSE))  # fmt: skip
    assert lede in text
    assert "Regulators join forces on cloud merger review" not in text


def test_a_list_the_article_makes_stays_and_a_list_of_other_stories_goes():
    steps = ("File the notice with each regulator.", "Wait for the first review to end.", "Answer the questions.")
    stories = ("Cloud prices rise for the third year", "Inside the data centre boom", "Who owns the chips")
    body = (
        f"<p>{_PROSE[0]}</p><p>The procedure has three steps:</p><ul>{''.join(f'<li>{s}</li>' for s in steps)}</ul>"
        f"<p>{_PROSE[1]}</p><ul>{''.join(f'<li><a href=/s/{i}>{s}</a></li>' for i, s in enumerate(stories))}</ul>"
    )
    text = _text("Regulators coordinate the merger inquiries", body)
    assert all(step in text for step in steps)
    assert not any(story in text for story in stories)


def test_sentences_about_subscriptions_photos_and_contacts_stay():
    sentences = (
        "The ministry said subscribers to the old tariff would keep it until March, and that the new plan "
        "would cost each household about four euros a month more.",
        "Photos taken by residents show the river over its banks by the morning, and the mayor said the "
        "town would ask the region for emergency funds.",
        "The company said customers could contact it by phone, and that its offices would stay open late "
        "through the end of the month to answer questions.",
    )
    text = _text("Tariffs, floods and a helpline", "".join(f"<p>{s}</p>" for s in (*_PROSE, *sentences)))
    assert all(s in text for s in sentences)
