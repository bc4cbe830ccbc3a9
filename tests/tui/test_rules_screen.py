"""The rules screen: matches and last alert, recent articles, live backtest while editing, pause, delete."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Static

from reader.rules import load_rules, write_rule
from reader.store import Store
from reader.tui.library import RULE, Source
from reader.tui.screens.rules import ArticleScreen, RuleEditScreen, RulesScreen
from reader.tui.widgets.article_view import ArticleView
from tests.tui.helpers import settle, started, wait_until
from tests.tui.world import add_alert

COMMENTED = """\
# Export news for the policy team: keep this comment.
query = "export controls"
title = "Export watch"  # shown in the sidebar
"""


def write_commented(settings):
    path = settings.rules_dir / "exports.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(COMMENTED, encoding="utf-8")
    return path


def cells(table: DataTable, column: int) -> list[str]:
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]


async def rules_screen(pilot) -> RulesScreen:
    await pilot.press("E")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, RulesScreen))
    screen = pilot.app.screen
    await settle(pilot)
    await wait_until(pilot, lambda: bool(screen.rows))
    return screen


async def test_rules_list_matches_last_alert_and_recent_articles(world, make_app):
    write_commented(world)
    write_rule(world.rules_dir, "tsmc", query="TSMC", title="TSMC news")
    (world.rules_dir / "broken.toml").write_text('query = "export AND ("\n', encoding="utf-8")
    store = Store(world.db_path)
    tsmc = next(a for a in store.iter_articles() if a.title.startswith("TSMC"))
    add_alert(store, "tsmc", tsmc.id)
    store.close()
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        screen = await rules_screen(pilot)
        table = screen.query_one("#rules-table", DataTable)
        assert cells(table, 0) == ["Export watch", "TSMC news"]
        assert "with errors ('reader rules check' says which): broken.toml" in str(
            screen.query_one("#rule-summary", Static).render())
        assert cells(table, 3) == ["2", "1"]  # matches
        assert cells(table, 5)[0] == "—" and "TSMC reports record" in cells(table, 5)[1]
        matches = screen.query_one("#matches-table", DataTable)
        assert cells(matches, 2) == ["DeepSeek unveils a cheaper reasoning model", "Export controls widen to more Nvidia GPUs"]
        await pilot.press("enter")  # into the matches
        assert matches.has_focus
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ArticleScreen))
        view = pilot.app.screen.query_one(ArticleView)
        await wait_until(pilot, lambda: view.article is not None)
        assert view.article.title == "DeepSeek unveils a cheaper reasoning model"
        await pilot.press("enter", "j", "o")
        assert app.opened == [view.article.link]
        await pilot.press("q")
        assert pilot.app.screen is screen


async def test_editing_the_query_counts_as_you_type_and_saves_keeping_comments(world, make_app):
    path = write_commented(world)
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = await rules_screen(pilot)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RuleEditScreen))
        dialog = pilot.app.screen
        backtest = dialog.query_one("#edit-backtest", Static)
        await wait_until(pilot, lambda: "matches 2 of" in str(backtest.render()))
        query = dialog.query_one("#edit-query", Input)
        query.value = "export controls OR TSMC"
        await wait_until(pilot, lambda: "matches 3 of" in str(backtest.render()))
        query.value = "export AND (controls"
        await wait_until(pilot, lambda: "matches" not in str(backtest.render()))
        assert ")" in str(backtest.render()) or "close" in str(backtest.render()).lower()
        query.value = "export controls OR TSMC"
        dialog.query_one("#scope-feeds", Input).value = "Chip Letter"
        dialog.query_one("#scope-quiet", Input).value = "22:00 - 07:00"
        await pilot.press("enter")
        await wait_until(pilot, lambda: pilot.app.screen is screen)
        await wait_until(pilot, lambda: screen.rows and screen.rows[0].rule.query_text == "export controls OR TSMC")
        text = path.read_text()
        assert "# Export news for the policy team: keep this comment." in text
        assert 'title = "Export watch"  # shown in the sidebar' in text
        rule = load_rules(world.rules_dir).rule("exports")
        assert rule.feeds == ("Chip Letter",) and str(rule.quiet_hours) == "22:00-07:00"
        assert len(screen.rows[0].matches) == 2  # Chip Letter's two: Tech Daily's DeepSeek story is out


async def test_pause_resume_and_delete_after_asking(world, make_app):
    write_rule(world.rules_dir, "tsmc", query="TSMC", title="TSMC news")
    app = make_app(world)
    async with app.run_test(size=(120, 30)) as pilot:
        await started(pilot)
        screen = await rules_screen(pilot)
        await pilot.press("p")
        await wait_until(pilot, lambda: screen.rows and not screen.rows[0].rule.enabled)
        assert load_rules(world.rules_dir).rule("tsmc").enabled is False
        assert cells(screen.query_one("#rules-table", DataTable), 2) == ["paused"]
        await pilot.press("p")
        await wait_until(pilot, lambda: screen.rows and screen.rows[0].rule.enabled)
        await pilot.press("d")
        await pilot.press("n")
        assert (world.rules_dir / "tsmc.toml").exists()
        await pilot.press("d")
        await pilot.press("y")
        await wait_until(pilot, lambda: not screen.rows)
        assert not (world.rules_dir / "tsmc.toml").exists()


async def test_e_on_a_rule_in_the_sidebar_edits_it(world, make_app):
    write_rule(world.rules_dir, "tsmc", query="TSMC", title="TSMC news")
    app = make_app(world)
    async with app.run_test(size=(120, 30)) as pilot:
        main = await started(pilot)
        main.sidebar.focus()
        main.sidebar.select(Source(RULE, "tsmc").id)
        await settle(pilot)
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, RuleEditScreen), timeout=3)
        assert pilot.app.screen.rule.name == "tsmc"


async def test_the_save_dialog_sets_feeds_groups_mode_and_quiet_hours(world, make_app):
    from textual.widgets import Button, Select

    from tests.tui.test_search_and_rules import save_dialog

    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        main = await started(pilot)
        dialog = await save_dialog(pilot, main, "export controls")
        dialog.query_one("#rule-notify", Input).value = "json://127.0.0.1:9/hook"
        dialog.query_one("#scope-groups", Input).value = "Tech, Policy"
        dialog.query_one("#scope-mode", Select).value = "digest"
        dialog.query_one("#scope-quiet", Input).value = "25:00-07:00"
        dialog.query_one("#save-rule", Button).press()
        await wait_until(pilot, lambda: "quiet_hours" in str(dialog.query_one("#save-error", Static).render()))
        assert not (world.rules_dir / "export-controls.toml").exists()
        dialog.query_one("#scope-quiet", Input).value = "22:00-07:00"
        dialog.query_one("#save-rule", Button).press()
        await wait_until(pilot, lambda: pilot.app.screen is main)
        rule = load_rules(world.rules_dir).rule("export-controls")
        assert rule.groups == ("Tech", "Policy") and rule.mode == "digest" and str(rule.quiet_hours) == "22:00-07:00"


async def test_at_80x24_the_rules_list_shows_the_last_alerts_time_whole_and_the_files_left_out_on_a_line(world, make_app):
    from tests.tui.test_terminals import screen_text

    write_rule(world.rules_dir, "tsmc", query="TSMC", title="TSMC quarterly revenue and guidance watch")
    (world.rules_dir / "broken.toml").write_text('query = "export AND ("\n', encoding="utf-8")
    store = Store(world.db_path)
    tsmc = next(a for a in store.iter_articles() if a.title.startswith("TSMC"))
    when = store.alerts_by_ids([add_alert(store, "tsmc", tsmc.id)]).popitem()[1].created_at.astimezone()
    store.close()
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        screen = await rules_screen(pilot)
        await settle(pilot)
        text = screen_text(app)
        assert f"{when:%Y-%m-%d %H:%M}" in text, text  # the title column gives way, not the time
        assert "TSMC quarterly revenu…" in text
        summary = str(screen.query_one("#rule-summary", Static).render())
        assert summary.splitlines()[0].endswith("broken.toml") and summary.splitlines()[1].startswith("TSMC → ")
