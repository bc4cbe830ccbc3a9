"""Secrets stay secret at every log level: notification URLs (a webhook's token in its path too) and
feed URL credentials never reach a log line, `feeds list` or `fetch` output, while the stored URL works."""

from __future__ import annotations

import pytest

from reader.rules import write_rule
from reader.targets import redact
from reader.urls import redact_url, redact_urls_in
from tests.clirun import reader
from tests.feedgen import Item, recent, rss
from tests.test_alerts import RSS, Endpoint

HOOK_TOKEN = "Plantedhooktokenxyz"  # letters only: no "looks like a token" guess catches it
FEED_PASSWORD = "feedpassword"
FEED_TOKEN = "Feedquerytoken"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"json://127.0.0.1:8080/hook/{HOOK_TOKEN}", "json://127.0.0.1:8080/hook/****"),
        ("jsons://example.com/api/v1/abc?format=markdown", "jsons://example.com/api/****/****?format=markdown"),
        ("form://example.com/hooks/x?+Authorization=Bearer-abc", "form://example.com/hooks/****?+Authorization=****"),
        ("xml://user:pw@example.com/endpoint/deep", "xml://user:****@example.com/endpoint/****"),
        ("https://hooks.example.com/services/T000/B000/sekrit", "https://hooks.example.com/services/****/****/****"),
        ("json://localhost:8080/notify", "json://localhost:8080/notify"),
    ],
)
def test_webhook_urls_keep_scheme_host_and_first_path_segment(url, shown):
    assert redact(url) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://bob:hunter2@example.com/feed.xml", "https://****@example.com/feed.xml"),
        ("https://example.com/rss?token=abc&page=2", "https://example.com/rss?token=****&page=2"),
        ("https://example.com/rss?api_key=1&accessToken=2&X-Auth=3&author=ann", 
         "https://example.com/rss?api_key=****&accessToken=****&X-Auth=****&author=ann"),
        ("https://example.com/feed.xml", "https://example.com/feed.xml"),
    ],
)  # fmt: skip
def test_feed_url_credentials_are_masked(url, shown):
    assert redact_url(url) == shown
    assert redact_urls_in(f"fetching {url} failed: 401") == f"fetching {shown} failed: 401"


def test_a_debug_log_holds_no_planted_secret_and_the_stored_urls_still_work(http_server, settings):
    endpoint = Endpoint(http_server, path=f"/hook/{HOOK_TOKEN}")
    item = Item("DeepSeek story", http_server.url("/story"), "DeepSeek faces new export controls.",
                guid="s1", published=recent(1))  # fmt: skip
    feed = http_server.route("/feed.xml", rss([item]), headers=RSS)
    with_credentials = feed.replace("http://", f"http://reader:{FEED_PASSWORD}@") + f"?token={FEED_TOKEN}"
    write_rule(settings.rules_dir, "deepseek", query="DeepSeek", notify=[endpoint.url], title="DeepSeek")
    cli = dict(data=settings.data_dir, config=settings.config_dir)
    added = reader("feeds", "add", with_credentials, "--no-fulltext", **cli)
    assert added.code == 0

    log = settings.data_dir / "daemon.log"
    run = reader("daemon", "--once", "--log-level", "debug", "--log-file", str(log), **cli)
    assert run.code == 0, run.err
    assert [n["title"] for n in endpoint.received()] == ["DeepSeek: DeepSeek story"]  # the secret URL was used
    assert any(seen.path == f"/feed.xml?token={FEED_TOKEN}" for seen in http_server.requests)  # so was the feed's

    text = log.read_text()
    assert " DEBUG " in text and "POST /hook/****" in text  # urllib3's request line, masked
    assert f"sent 'DeepSeek: DeepSeek story' to json://{http_server.host}:{http_server.port}/hook/****" in text
    listed = reader("feeds", "list", **cli).out + reader("feeds", "list", "--json", **cli).out
    fetched = reader("fetch", "--json", **cli).out
    assert "token=****" in listed and "token=****" in fetched
    for shown in (text, listed, fetched, added.out, run.err):
        for secret in (HOOK_TOKEN, FEED_PASSWORD, FEED_TOKEN):
            assert secret not in shown


def test_feeds_remove_and_add_never_show_a_feed_urls_credentials(tmp_path):
    """The list `feeds remove` shows before it acts, and what `feeds add` says of a URL it could not
    check, hold the URL masked: they are the only places these commands echo a URL."""
    url = f"http://reader:{FEED_PASSWORD}@127.0.0.1:9/feed.xml?token={FEED_TOKEN}"
    added = reader("feeds", "add", url, data=tmp_path / "d")  # nothing listens on port 9: "could not check"
    assert added.code == 0 and "could not check" in added.err
    removed = reader("feeds", "remove", "1", data=tmp_path / "d")  # by id, off a terminal: lists, then removes
    assert removed.code == 0 and "feed 1:" in removed.err
    for shown in (added.out + added.err, removed.out + removed.err):
        assert "token=****" in shown
        assert FEED_PASSWORD not in shown and FEED_TOKEN not in shown


def test_the_tui_list_names_an_untitled_feed_by_its_masked_url(tmp_path):
    """A feed without a title is named by its URL in the TUI's article list, masked as `Feed.display_title`
    masks it, never with its password."""
    from reader.models import ParsedArticle
    from reader.store import Store

    store = Store(tmp_path / "db.sqlite")
    feed, _ = store.add_feed(f"https://reader:{FEED_PASSWORD}@example.com/feed.xml?token={FEED_TOKEN}")
    article = ParsedArticle(key="a", title="A story", link="https://example.com/a", content_hash="a")
    [article_id] = store.upsert_articles(feed.id, [article], fulltext=False, canonical={}).new_ids
    shown = store.article_lines([article_id])[article_id].feed_title
    assert shown == feed.display_title == "https://****@example.com/feed.xml?token=****"


def test_a_feeds_stored_error_is_read_back_masked_so_no_reader_of_it_shows_a_credential(settings):
    """An error that quotes the feed's URL (an internal error, or one stored by an older reader) reaches
    the health alert, `reader doctor` and `feeds list` with the URL's credentials masked."""
    from reader.health import detect
    from reader.models import FetchStatus
    from reader.store import Store, utcnow

    url = f"https://reader:{FEED_PASSWORD}@example.com/feed.xml?token={FEED_TOKEN}"
    store = Store(settings.db_path)
    feed, _ = store.add_feed(url, "Locked Wire")
    for _ in range(3):  # [health] failing_cycles
        store.record_fetch(feed.id, status=FetchStatus.ERROR, error=f"internal error: ValueError: bad URL {url}")
    [failing] = detect(settings, store, utcnow())
    listed = reader("feeds", "list", data=settings.data_dir, config=settings.config_dir)
    for shown in (failing.detail, store.feed(feed.id).last_error, listed.out):
        assert "example.com/feed.xml?token=****" in shown
        assert FEED_PASSWORD not in shown and FEED_TOKEN not in shown


def test_a_webhook_path_that_is_a_plain_word_is_masked_in_urls_but_not_in_the_words_of_the_log(http_server, settings):
    """json://host/hook/alerts: "alerts" is masked where a URL holds it (urllib3's request line), while the log's
    other lines keep the word: masked everywhere it made "reader.****: sent 'Desk ****: …'" of every line."""
    endpoint = Endpoint(http_server, path="/hook/alerts")
    item = Item("DeepSeek story", http_server.url("/story"), "DeepSeek faces new export controls.",
                guid="s1", published=recent(1))  # fmt: skip
    feed = http_server.route("/feed.xml", rss([item]), headers=RSS)
    write_rule(settings.rules_dir, "deepseek", query="DeepSeek", notify=[endpoint.url], title="Desk alerts")
    cli = dict(data=settings.data_dir, config=settings.config_dir)
    assert reader("feeds", "add", feed, "--no-fulltext", **cli).code == 0

    log = settings.data_dir / "daemon.log"
    run = reader("daemon", "--once", "--log-level", "debug", "--log-file", str(log), **cli)
    assert run.code == 0, run.err
    assert [n["title"] for n in endpoint.received()] == ["Desk alerts: DeepSeek story"]
    text = log.read_text()
    assert "POST /hook/**** " in text and "/hook/alerts" not in text
    assert f"sent 'Desk alerts: DeepSeek story' to json://{http_server.host}:{http_server.port}/hook/****" in text
    assert " reader.alerts: " in text
