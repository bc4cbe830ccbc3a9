"""Importing from the TUI (`i`): the same import as `reader feeds import`, its report in the notice."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from tests.tui.helpers import started, wait_until

DATA = Path(__file__).resolve().parent.parent / "data" / "opml"


async def import_file(pilot, path: Path) -> tuple[str, str, str]:
    app = pilot.app
    before = len(app.notices)
    await pilot.press("i")
    await wait_until(pilot, lambda: app.screen.query("#path"))
    app.screen.query_one("#path", Input).value = str(path)
    await pilot.press("enter")
    await wait_until(pilot, lambda: len(app.notices) > before)
    return app.notices[-1]


async def test_a_malformed_opml_import_reports_the_repair_and_what_was_skipped(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)

        title, message, severity = await import_file(pilot, DATA / "malformed.opml")

        assert severity == "warning" and title == ""
        assert message.startswith("Imported 14 new feed(s) from malformed.opml; 0 already subscribed; "
                                  "the file is not well-formed XML (2 bare '<' at line 15; ")  # fmt: skip
        assert "\nskipped: line 22: outline not readable: attributes construct error" in message
        assert "\nskipped: line 28: not an http(s) URL: 'ftp://old.example/feed'" in message
        await wait_until(pilot, lambda: "https://loose.example/rss?a=1&b=2" in {f.url for f in screen.feeds})


async def test_newsboat_query_feeds_imported_from_the_tui_become_saved_searches(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)

        _, message, _ = await import_file(pilot, DATA / "urls-queries")

        assert "4 newsboat query feed(s) saved as searches: deepseek-news, " in message
        await wait_until(pilot, lambda: "rule:deepseek-news" in screen.sidebar.source_ids)
