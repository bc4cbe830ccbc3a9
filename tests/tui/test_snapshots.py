"""Snapshots of the main screens in the dark and light themes, at 80×24 and 200×50.

The library is fixed (dates included) and times show in UTC, so the SVGs are
the same on every run. Update them with `pytest tests/tui --snapshot-update`
after a deliberate change, and look at the report.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.tui.helpers import settle, started, wait_until


async def ready(pilot) -> None:
    """The list and counts loaded, and the first article in the reader."""
    screen = await started(pilot)
    await wait_until(pilot, lambda: screen.reader.article is not None)
    await settle(pilot)


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
def test_main_screen(world, make_app, snap_compare, theme, size):
    assert snap_compare(make_app(world, theme=theme), terminal_size=size, run_before=ready)


def test_search_results_with_marked_terms(world, make_app, snap_compare):
    async def searched(pilot) -> None:
        await ready(pilot)
        await pilot.press("slash")
        pilot.app.screen.query_one("#search-input", Input).cursor_blink = False
        pilot.app.screen.query_one("#search-input", Input).value = '"export controls" OR deepseek'
        screen = pilot.app.screen
        await wait_until(pilot, lambda: screen.search is not None and screen.articles.row_count == 2)
        await pilot.press("enter", "enter")
        await wait_until(pilot, lambda: screen.reader.marked is not None)
        await settle(pilot)

    assert snap_compare(make_app(world), terminal_size=(140, 36), run_before=searched)


def test_save_search_dialog(world, make_app, snap_compare):
    async def saving(pilot) -> None:
        await ready(pilot)
        screen = pilot.app.screen
        await pilot.press("slash")
        pilot.app.screen.query_one("#search-input", Input).value = "export controls"
        await wait_until(pilot, lambda: screen.search is not None and screen.search.text == "export controls")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: pilot.app.screen is not screen)
        dialog = pilot.app.screen
        await wait_until(pilot, lambda: "Would have" in str(dialog.query_one("#backtest").render()))
        for field in dialog.query(Input):
            field.cursor_blink = False
        await settle(pilot)

    assert snap_compare(make_app(world), terminal_size=(100, 30), run_before=saving)
