"""The app around the screens: themes, help, the command palette, OPML import, big lists, import hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from textual.widgets import Input

from reader.models import ParsedArticle
from reader.store import Store
from reader.tui.screens.help import HelpScreen
from tests.tui.helpers import settle, started, wait_until

OPML = Path(__file__).parent.parent / "data" / "opml" / "nested.opml"


async def test_T_toggles_the_theme_and_the_choice_is_remembered(world, make_app):
    app = make_app(world, theme=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        assert app.theme == "textual-dark"
        await pilot.press("T")
        assert app.theme == "textual-light"
    app = make_app(world, theme=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        assert app.theme == "textual-light"


async def test_help_lists_the_live_bindings(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        app.set_keymap({"main.toggle_star": "f"})  # a remapped key shows as remapped
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        table = app.screen.query_one("#help-keys").content
        rows = {str(k): str(d) for k, d in zip(table.columns[0]._cells, table.columns[1]._cells)}
        for keys, description in [("n", "Next unread"), ("m", "Read"), ("f", "Star"), ("R", "Refresh all"),
                                  ("/", "Search"), ("A", "All read"), ("o", "Browser"), ("?", "Help")]:  # fmt: skip
            assert rows.get(keys, "").startswith(description), (keys, rows.get(keys))
        await pilot.press("escape")
        assert app.screen is screen


async def test_the_command_palette_offers_every_action(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        titles = {command.title for command in app.get_system_commands(screen)}
        assert {"Next unread", "Read", "Star", "Browser", "Refresh", "Refresh all", "Search", "All read", "Sort",
                "Add feed", "Remove", "Details", "Import OPML", "Save search", "Links", "Theme", "Help",
                "Back", "Pane"} <= titles  # fmt: skip
        star = next(c for c in app.get_system_commands(screen) if c.title == "Star")
        await star.callback()
        assert screen.articles.current_line().starred


async def test_importing_an_opml_file_subscribes_to_its_feeds(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        before = len(screen.feeds)
        await pilot.press("i")
        await wait_until(pilot, lambda: app.screen is not screen)
        app.screen.query_one(Input).value = "/no/such/file.opml"
        await pilot.press("enter")
        assert app.screen is not screen  # the dialog says so and stays
        app.screen.query_one(Input).value = str(OPML)
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(screen.feeds) > before)
        assert any(title == "" and "Imported" in message for title, message, _ in app.notices)


async def test_a_big_library_is_drawn_without_a_widget_per_article(settings, make_app):
    store = Store(settings.db_path)
    feed, _ = store.add_feed("http://127.0.0.1:9/big.xml", "Big", "")
    articles = [ParsedArticle(key=str(k), title=f"Article {k}", link=f"https://example.com/{k}", content="x",
                              content_hash=str(k)) for k in range(5000)]  # fmt: skip
    store.upsert_articles(feed.id, articles, fulltext=False, canonical={})
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        assert screen.articles.row_count == 5000
        await pilot.press("G")
        assert screen.articles.current_line().title == "Article 0"
        await settle(pilot)
        assert len(list(app.screen.walk_children())) < 150
        assert len(screen.articles._lines) <= 2 * 100 + 40  # a window around each place drawn


def test_the_cli_daemon_and_pipeline_never_import_textual():
    modules = ["reader.cli", "reader.ingest"] + (["reader.daemon"] if Path("reader/daemon.py").exists() else [])
    code = f"import sys, {', '.join(modules)}; print('textual' in sys.modules or any(m.startswith('textual.') for m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent.parent)  # fmt: skip
    assert run.stdout.strip() == "False"


async def test_colon_runs_an_action_by_name(world, make_app):
    from textual.command import CommandList, CommandPalette

    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("colon")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Star")
        commands = app.screen.query_one(CommandList)
        await wait_until(pilot, lambda: commands.option_count and "Star" in str(commands.get_option_at_index(0).prompt))
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: screen.articles.current_line().starred)
