"""Search as you type, errors inline, matches marked; saving searches and rules; rule files edited outside."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Button, Input, Static

from reader.rules import load_rules, write_rule
from reader.store import Store
from reader.tui.screens.save_rule import SaveRuleScreen
from reader.tui.widgets.article_body import MATCH, ArticleBody
from tests.tui.helpers import settle, started, wait_until


def titles(screen) -> list[str]:
    return [screen.articles.line(i).title for i in range(screen.articles.row_count)]


def message(screen) -> str:
    shown = screen.query_one("#search-message", Static)
    return str(shown.render()) if shown.has_class("-shown") else ""


def box_value(dialog, box: str) -> str:
    """What the dialog's box holds ("" until it is mounted)."""
    return next((i.value for i in dialog.query(box).results(Input)), "")


async def search(pilot, screen, text: str, *, typed: bool = False) -> None:
    """Open the search box and enter `text`: key by key if `typed`, else as one change."""
    await pilot.press("slash")
    if typed:
        screen.search_bar.input.value = ""
        await pilot.press(*text)
    else:
        screen.search_bar.input.value = text


async def test_results_update_as_you_type_and_mark_the_terms(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await started(pilot)
        await search(pilot, screen, "export control", typed=True)
        await wait_until(pilot, lambda: screen.search is not None and screen.search.text == "export control")
        await wait_until(pilot, lambda: screen.articles.row_count == 2)
        assert titles(screen) == ["DeepSeek unveils a cheaper reasoning model", "Export controls widen to more Nvidia GPUs"]

        match = screen.articles.get_component_rich_style("article-list--match", partial=True)
        row = screen.articles.render_row(1, 150, selected=False)
        marked = [segment.text for segment in row if segment.style and segment.style.bgcolor == match.bgcolor]
        assert marked == ["Export", "controls"]

        await pilot.press("enter")  # to the results
        assert screen.focused is screen.articles
        await pilot.press("enter")  # open the first
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.id == screen.articles.ids[0])
        await settle(pilot)
        shown = screen.reader.query_one(ArticleBody).render()  # the body's lines as drawn
        marked_text = [shown.plain[span.start : span.end] for span in shown.spans if span.style == MATCH]
        assert {"export", "controls", "Export"} <= set(marked_text)


async def test_a_search_of_words_lists_its_matches_before_the_key_is_drawn(world, make_app):
    """Its first matches are the index's top-k of words, a few ms: read on the event loop, they are in the
    frame that answers Enter (a worker's answer took a frame more). A phrase's come from a worker."""
    app = make_app(world)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await started(pilot)
        screen.run_search("export control")  # what Enter in the box (or a pause in typing) runs
        assert titles(screen) == ["DeepSeek unveils a cheaper reasoning model", "Export controls widen to more Nvidia GPUs"]
        screen.run_search('"reasoning model"')
        await wait_until(pilot, lambda: titles(screen) == ["DeepSeek unveils a cheaper reasoning model"])


async def test_a_search_asks_for_no_layout_of_the_screen(world, make_app, monkeypatch):
    """Nothing changes size when a search lists its matches (the message under the box stays hidden): no widget
    asks Textual to lay the screen out again, which re-arranges and repaints every pane (~10 ms at 100k)."""
    from textual.widget import Widget

    app = make_app(world)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await started(pilot)
        await search(pilot, screen, "export")
        await settle(pilot)
        asked: list[Widget] = []
        refresh = Widget.refresh

        def recorded(widget, *regions, layout: bool = False, **kwargs):
            if layout:
                asked.append(widget)
            return refresh(widget, *regions, layout=layout, **kwargs)

        monkeypatch.setattr(Widget, "refresh", recorded)
        screen.run_search("export control")  # what Enter in the box runs
        assert titles(screen) == ["DeepSeek unveils a cheaper reasoning model", "Export controls widen to more Nvidia GPUs"]
        assert asked == []


async def test_keys_typed_in_one_burst_after_slash_all_reach_the_search_box(world, make_app):
    """A terminal hands over `/nvidia` typed fast (or pasted) at once: every key after `/` is the query's,
    none is taken as a command of the list (`i` would open the import dialog)."""
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        for key in ["slash", *"nvidia"]:  # queued before any is handled, as the terminal driver does
            app.post_message(events.Key(key, "/" if key == "slash" else key))
        await wait_until(pilot, lambda: screen.search_bar.input.value == "nvidia")
        assert app.screen is screen and screen.focused is screen.search_bar.input
        await pilot.press("slash", "x")  # in the box, `/` is text
        assert screen.search_bar.input.value == "nvidia/x"


@pytest.mark.parametrize(("opener", "box"), [("a", "#feed-url"), ("i", "#path"), ("e", "#feed-title")])
async def test_keys_typed_in_one_burst_after_a_dialog_key_reach_the_dialogs_box(world, make_app, opener, box):
    """`a` (add a feed), `i` (import), `e` (a feed's details) then text typed at once: the text is the dialog's,
    none of it a command of the list (`e` would open a feed's details, `d` ask to remove it)."""
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        for key in [opener, *"feed"]:  # queued before any is handled, as the terminal driver does
            app.post_message(events.Key(key, key))
        await wait_until(pilot, lambda: app.screen is not screen)
        dialog = app.screen
        await wait_until(pilot, lambda: box_value(dialog, box).endswith("feed"))
        assert dialog.focused is dialog.query_one(box, Input) and screen.articles.cursor == 0


@pytest.mark.parametrize("in_box", [True, False])
async def test_keys_typed_in_one_burst_after_saving_a_search_reach_the_name_box(world, make_app, in_box):
    """Ctrl+S in the search box, or `w` in the list, then a name typed at once: it goes to the save dialog, not
    the query nor the list."""
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await search(pilot, screen, "nvidia")
        if not in_box:
            await pilot.press("enter")  # to the matches
        for key in ["ctrl+s" if in_box else "w", *"-gpu"]:
            app.post_message(events.Key(key, None if key == "ctrl+s" else key))
        await wait_until(pilot, lambda: isinstance(app.screen, SaveRuleScreen))
        dialog = app.screen
        await wait_until(pilot, lambda: box_value(dialog, "#rule-name").endswith("-gpu"))
        assert screen.search_bar.input.value == "nvidia" and screen.articles.cursor == 0


async def test_query_errors_and_warnings_show_inline(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await search(pilot, screen, "DeepSeek AND (chips")
        await wait_until(pilot, lambda: "^" in message(screen))
        assert screen.search is None and app.is_running
        await search(pilot, screen, "deepseek and chips")
        await wait_until(pilot, lambda: "searched as a word" in message(screen))
        await wait_until(pilot, lambda: screen.search is not None and screen.search.text == "deepseek and chips")
        await pilot.press("escape")
        assert not screen.search_bar.is_open and screen.search is None
        await wait_until(pilot, lambda: screen.articles.row_count == Store(world.db_path).article_count())


async def save_dialog(pilot, screen, query: str) -> SaveRuleScreen:
    await search(pilot, screen, query)
    await wait_until(pilot, lambda: screen.search is not None and screen.search.text == query)
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, SaveRuleScreen))
    dialog = pilot.app.screen
    await wait_until(pilot, lambda: "Would have matched" in str(dialog.query_one("#backtest", Static).render()))
    return dialog


async def test_a_search_saved_shows_its_backtest_and_becomes_a_saved_search(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        dialog = await save_dialog(pilot, screen, 'DeepSeek OR "AI Act"')
        assert str(dialog.query_one("#backtest", Static).render()).endswith("(2 among all stored articles).")
        assert dialog.query_one("#rule-name", Input).value == "deepseek-ai-act"
        dialog.query_one("#save-search", Button).press()
        await wait_until(pilot, lambda: pilot.app.screen is screen)
        rule = load_rules(world.rules_dir).rule("deepseek-ai-act")
        assert rule is not None and rule.is_saved_search and rule.query_text == 'DeepSeek OR "AI Act"'
        await wait_until(pilot, lambda: "rule:deepseek-ai-act" in screen.sidebar.source_ids)
        await wait_until(pilot, lambda: screen.counts.rule_unread.get("deepseek-ai-act") == 2)


async def test_the_name_proposed_for_a_search_is_one_no_rule_has_yet(world, make_app):
    from reader.rules import write_rule

    write_rule(world.rules_dir, "deepseek", query="DeepSeek AND chips")
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        dialog = await save_dialog(pilot, screen, "DeepSeek")
        assert dialog.query_one("#rule-name", Input).value == "deepseek-2", "deepseek.toml exists: saving it is refused"
        dialog.query_one("#rule-name", Input).value = "deepseek"
        dialog.query_one("#save-search", Button).press()
        await wait_until(pilot, lambda: "exists already" in str(dialog.query_one("#save-error", Static).render()))
        assert load_rules(world.rules_dir).rule("deepseek").query_text == "DeepSeek AND chips", "left as it was"


async def test_a_search_saved_as_an_alert_rule_names_its_targets(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        dialog = await save_dialog(pilot, screen, "export controls")
        dialog.query_one("#save-rule", Button).press()
        await wait_until(pilot, lambda: "needs somewhere to send" in str(dialog.query_one("#save-error", Static).render()))
        dialog.query_one("#rule-notify", Input).value = "nosuchscheme://x"
        dialog.query_one("#save-rule", Button).press()
        await wait_until(pilot, lambda: "no service 'nosuchscheme" in str(dialog.query_one("#save-error", Static).render()))
        assert not (world.rules_dir / "export-controls.toml").exists(), "a rule the daemon rejects is not left behind"
        dialog.query_one("#rule-notify", Input).value = "json://127.0.0.1:9/hook, ops"
        dialog.query_one("#save-rule", Button).press()
        await wait_until(pilot, lambda: pilot.app.screen is screen)
        rule = load_rules(world.rules_dir).rule("export-controls")
        assert rule.notify == ("json://127.0.0.1:9/hook", "ops")
        await wait_until(pilot, lambda: "rule:export-controls" in screen.sidebar.source_ids)


async def test_rule_files_edited_outside_show_up_without_a_restart(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        write_rule(world.rules_dir, "tsmc", query="TSMC", title="TSMC news")
        await wait_until(pilot, lambda: "rule:tsmc" in screen.sidebar.source_ids)
        await wait_until(pilot, lambda: screen.counts.rule_unread.get("tsmc") == 1)
        screen.sidebar.select("rule:tsmc")
        await wait_until(pilot, lambda: titles(screen) == ["TSMC reports record quarterly revenue"])
        write_rule(world.rules_dir, "tsmc", query="TSMC OR Rust", title="TSMC news", overwrite=True)
        await wait_until(pilot, lambda: screen.articles.row_count == 2)
        (world.rules_dir / "tsmc.toml").unlink()
        await wait_until(pilot, lambda: "rule:tsmc" not in screen.sidebar.source_ids)


async def test_slash_opens_an_empty_box_and_up_walks_the_history(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("slash", *"export", "enter")
        await wait_until(pilot, lambda: screen.search is not None and screen.search.text == "export")
        await pilot.press("slash")
        assert screen.search_bar.input.value == ""
        await pilot.press(*"TSMC")
        await wait_until(pilot, lambda: screen.search is not None and screen.search.text == "TSMC")
        await pilot.press("up")
        assert screen.search_bar.input.value == "export"
        await pilot.press("up")  # nothing earlier: it stays
        assert screen.search_bar.input.value == "export"
        await pilot.press("down")
        assert screen.search_bar.input.value == "TSMC", "down returns to the line being typed"
        await pilot.press("enter")
    app = make_app(world)  # the history outlives the session
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("slash", "up")
        assert screen.search_bar.input.value == "TSMC"
        await pilot.press("up")
        assert screen.search_bar.input.value == "export"


async def test_ctrl_s_proposes_a_name_from_the_query_in_the_box_only(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("slash", *"H20", "enter", "slash", *"TSMC", "ctrl+s")  # before the search has run
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, SaveRuleScreen))
        assert pilot.app.screen.query_one("#rule-name", Input).value == "tsmc"


async def test_an_unfinished_query_shows_no_results_and_cannot_be_saved(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        await search(pilot, screen, '"export contr')
        await wait_until(pilot, lambda: screen.unparsed is not None)
        await settle(pilot)
        assert screen.articles.row_count == 0, "not the whole library, which would look like results"
        assert "not a query yet" in str(screen.query_one("#list-pane").border_title)
        await pilot.press("ctrl+s")
        assert pilot.app.screen is screen and any("Finish the query" in m for _, m, _ in app.notices)
        screen.search_bar.input.value = '"export controls"'
        await wait_until(pilot, lambda: screen.articles.row_count == 2)


async def test_a_long_query_error_keeps_its_caret_at_80_columns(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        query = "DeepSeek OR " * 8 + '"export controls' + " AND chips" * 6
        await search(pilot, screen, query)
        await wait_until(pilot, lambda: "^" in message(screen))
        lines = message(screen).splitlines()
        assert len(lines) == 3 and all(len(line) <= 76 for line in lines), lines
        caret = lines[2].index("^")
        assert lines[1][caret] == '"', "the caret points at the quote left open"


async def test_e_shows_a_rules_details_and_d_deletes_it_after_asking(world, make_app):
    from textual.widgets import DataTable

    from reader.tui.screens.dialogs import ConfirmScreen
    from reader.tui.screens.rules import RuleEditScreen, RulesScreen

    path = write_rule(world.rules_dir, "tsmc", query="TSMC", title="TSMC news",
                      notify=["json://reader:s3cr3tt0k3n99@127.0.0.1:9/hook"])  # fmt: skip
    app = make_app(world)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await started(pilot)
        await wait_until(pilot, lambda: screen.counts.rule_hits.get("tsmc") is not None)
        screen.sidebar.focus()
        screen.sidebar.select("rule:tsmc")
        await pilot.press("e")  # the rules screen on that rule, its edit dialog on top
        await wait_until(pilot, lambda: isinstance(app.screen, RuleEditScreen))
        notify = str(app.screen.query_one("#edit-notify").render())
        assert "s3cr3tt0k3n99" not in notify and "****" in notify, "the target's secret is masked"
        await pilot.press("escape")
        rules = app.screen
        assert isinstance(rules, RulesScreen)
        row = [str(cell) for cell in rules.query_one("#rules-table", DataTable).get_row_at(0)]
        assert row[:5] == ["TSMC news", "instant", "on", "1", "1"] and row[5] == "—", row
        assert "s3cr3tt0k3n99" not in str(rules.query_one("#rule-summary").render())
        await pilot.press("q")
        await pilot.press("escape", "d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        assert path.exists()
        await pilot.press("d", "y")
        await wait_until(pilot, lambda: "rule:tsmc" not in screen.sidebar.source_ids)
        assert not path.exists()


async def test_a_field_limited_query_marks_that_field_only(world, make_app):
    """`title:export` marks the title's word in the list and the article's heading, not the body's."""
    app = make_app(world)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await started(pilot)
        await search(pilot, screen, "title:export", typed=True)
        await wait_until(pilot, lambda: screen.articles.row_count == 1)
        match = screen.articles.get_component_rich_style("article-list--match", partial=True)
        row = screen.articles.render_row(0, 150, selected=False)
        assert [s.text for s in row if s.style and s.style.bgcolor == match.bgcolor] == ["Export"]
        await pilot.press("enter", "enter")
        await wait_until(pilot, lambda: screen.reader.article is not None)
        await settle(pilot)
        assert "export" in screen.reader.article.text.lower()  # the body has the word, unmarked
        shown = screen.reader.query_one(ArticleBody).render()
        marked = [span for span in shown.spans if span.style == MATCH]
        assert marked == []
