"""The offline demo: `python -m reader.demo --no-tui` end to end, and its notification endpoint.

The demo runs in a subprocess with its real server on 127.0.0.1 and the real
pipeline; its data is kept (`--keep`) so the store can be read afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import apprise
import pytest

from reader.demo.render import boilerplate_of, render_page
from reader.demo.server import DemoServer
from reader.demo.world import World, load_world
from reader.models import TextSource
from reader.store import Store

REPO = Path(__file__).resolve().parent.parent

# Stories written to trip the bundled rules (see rules/*.toml), by slug.
DEEPSEEK_RULE = "deepseek-export-controls"
CHIP_RULE = "chip-export-controls"
TRIPS = {
    "deepseek-trained-on-restricted-chips": {DEEPSEEK_RULE, CHIP_RULE},
    "bis-entity-list-chip-diversion": {CHIP_RULE},
    "h20-sales-halted-licence-rule": {CHIP_RULE},
}
# One event rewritten by three outlets: one story, alerted once, naming all three.
EVENT = ("bis-entity-list-chip-diversion", "us-blacklists-firms-diverting-h20", "entity-list-fourteen-trading-firms")
# About export controls, with DeepSeek headlines in its page's "Most read" rail only.
SIDEBAR_ONLY = "japan-quantum-export-licences"


def run_demo(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reader.demo", "--no-tui", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip


@pytest.fixture(scope="module")
def world() -> World:
    return load_world()


@pytest.fixture(scope="module")
def kept(tmp_path_factory) -> tuple[dict, Path]:
    """One demo run with its data kept: (the JSON summary, the kept directory)."""
    keep = tmp_path_factory.mktemp("demo") / "kept"
    done = run_demo("--json", "--keep", str(keep), env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), keep


@pytest.fixture(scope="module")
def stored(kept, world) -> dict[str, object]:
    """The kept store's articles, by story slug."""
    store = Store(kept[1] / "data" / "reader.sqlite")
    articles = {a.link.rstrip("/").rsplit("/", 1)[-1]: a for a in store.iter_articles(with_text=True)}
    store.close()
    return articles


def mentions(notification: dict, title: str) -> bool:
    return title in notification["title"] or title in notification["message"]


def test_every_story_is_stored_with_the_text_of_its_page(kept, stored, world):
    summary, _ = kept
    slugs = {story.slug for _, story in world.stories()}
    assert set(stored) == slugs
    assert summary["articles"] == summary["full_text"] == len(slugs)
    for outlet, story in world.stories():
        article = stored[story.slug]
        assert article.text_source == TextSource.PAGE, story.slug
        assert story.paragraphs[-1] in article.text  # the page's text, not the feed's teaser
        leaked = [b for b in boilerplate_of(world, outlet, story) if b in article.text]
        assert not leaked, f"{story.slug}: boilerplate in the stored text: {leaked}"


def titles_of(world: World, slug: str) -> set[str]:
    """The titles a story's alert may carry: feeds land in any order, and the first copy alerts."""
    slugs = EVENT if slug in EVENT else (slug,)
    return {world.story(s)[1].title for s in slugs}


def test_rule_tripping_stories_alert_and_reach_the_notification_endpoint(kept, world):
    summary, _ = kept
    for slug, rules in TRIPS.items():
        titles = titles_of(world, slug)
        fired = {a["rule"] for a in summary["alerts"] if a["title"] in titles}
        assert fired == rules, slug
        assert any(mentions(n, t) for n in summary["notifications"] for t in titles), slug
    assert len(summary["alerts"]) == sum(len(rules) for rules in TRIPS.values())


def test_one_event_from_three_outlets_is_one_story_and_one_alert_naming_them(kept, stored, world):
    summary, _ = kept
    assert len({stored[slug].story_id for slug in EVENT}) == 1
    others = {a.story_id for slug, a in stored.items() if slug not in EVENT}
    assert stored[EVENT[0]].story_id not in others and len(others) == len(stored) - len(EVENT)
    titles = titles_of(world, EVENT[0])
    [alert] = [a for a in summary["alerts"] if a["rule"] == CHIP_RULE and a["title"] in titles]
    assert sorted(alert["sources"]) == sorted(world.story(slug)[0].name for slug in EVENT)
    rewrites = titles - {alert["title"]}  # the copies that landed after the first: no alert of their own
    assert len(rewrites) == len(EVENT) - 1
    assert not [a for a in summary["alerts"] if a["title"] in rewrites]
    assert not [n for n in summary["notifications"] if any(mentions(n, t) for t in rewrites)]


def test_a_story_with_deepseek_only_in_its_sidebar_does_not_alert(kept, stored, world):
    summary, _ = kept
    outlet, story = world.story(SIDEBAR_ONLY)
    page = render_page(world, outlet, story, "http://127.0.0.1:1", datetime.now(UTC))
    assert "DeepSeek" in page and "export controls" in page  # the page alone would match the rule
    assert "export controls" in stored[SIDEBAR_ONLY].text
    assert "DeepSeek" not in stored[SIDEBAR_ONLY].text
    assert not [a for a in summary["alerts"] if a["title"] == story.title]
    assert not [n for n in summary["notifications"] if mentions(n, story.title)]


def test_hostile_titles_are_stored_as_plain_text(stored):
    assert stored["inside-the-fab"].title.startswith("[bold]Exclusive:[/bold]")
    assert "الذكاء الاصطناعي" in stored["gulf-ai-summit"].title


def test_the_demo_leaves_the_users_own_dirs_alone_and_cleans_up(tmp_path):
    own = {"READER_DATA_DIR": tmp_path / "data", "READER_CONFIG_DIR": tmp_path / "config",
           "READER_RULES_DIR": tmp_path / "rules"}  # fmt: skip
    done = run_demo("--json", env={**os.environ, **{k: str(v) for k, v in own.items()}})
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["articles"] > 0
    assert not any(path.exists() for path in own.values())
    assert not Path(summary["data_dir"]).exists()


def test_keep_refuses_a_directory_that_holds_something(tmp_path):
    (tmp_path / "precious.txt").write_text("mine")
    done = run_demo("--keep", str(tmp_path), env=dict(os.environ))
    assert done.returncode == 2
    assert "is not an empty directory" in " ".join(done.stderr.split())
    assert [p.name for p in tmp_path.iterdir()] == ["precious.txt"]


# -- the notification endpoint, in process ------------------------------------------------


@pytest.fixture
def server(world):
    with DemoServer(world) as running:
        yield running


def test_apprise_json_notifications_are_recorded_and_shown_escaped(server):
    sender = apprise.Apprise()
    assert sender.add(server.notify_url)
    assert sender.notify(title="<script>alert(1)</script> [bold]rule", body="line one\n\x1b[31mline two")
    (received,) = server.notifications()
    assert received.title == "<script>alert(1)</script> [bold]rule"
    assert received.message == "line one\nline two"  # escape sequence removed
    page = urllib.request.urlopen(server.notifications_url).read().decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; [bold]rule" in page
    assert "<script>alert" not in page


def test_the_endpoint_refuses_what_is_not_a_json_object(server):
    for body in (b"not json", b"[1, 2]"):
        request = urllib.request.Request(server.base_url + "/notify", data=body)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 400
    assert server.notifications() == []


def test_the_server_serves_every_feed_and_page(server, world):
    for url, title, _group in server.feed_urls():
        feed = urllib.request.urlopen(url).read().decode()
        assert f"<title>{title}</title>" in feed
    outlet, story = world.story(SIDEBAR_ONLY)
    page = urllib.request.urlopen(f"{server.base_url}/{outlet.slug}/{story.slug}/").read().decode()
    assert story.paragraphs[0] in page
