"""The TUI in the terminals people have: no colour (NO_COLOR), 16 colours, a C locale, narrow windows.

Each condition runs the smoke path (open, move, open an article, search, the
Alerts view) and draws every screen in full, so a style or a glyph that breaks
only there fails here.
"""

from __future__ import annotations

import pytest
import textual.constants

from reader.store import Store
from reader.tui.glyphs import locale_charset
from reader.tui.library import ALERTS, ALL, Source
from tests.tui.helpers import settle, started, wait_until
from tests.tui.world import add_alert


def screen_text(app) -> str:
    """Every character on screen, as the terminal would get it (line filters applied)."""
    from rich.console import Console

    console = Console(width=app.size.width, file=open("/dev/null", "w"), force_terminal=True, record=True,
                      color_system=None, legacy_windows=False)  # fmt: skip
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


async def smoke(pilot, world) -> str:
    """Open, move, open an article, search, the Alerts view; every screen drawn. Returns all that was shown."""
    app = pilot.app
    shown = []
    screen = await started(pilot)
    shown.append(screen_text(app))
    await pilot.press("j", "j")
    assert screen.articles.cursor == 2
    chosen = screen.articles.current_id
    await pilot.press("enter")
    await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.id == chosen)
    await settle(pilot)
    shown.append(screen_text(app))
    await pilot.press("q", "slash", *"export")
    await wait_until(pilot, lambda: screen.search is not None and screen.articles.row_count == 2)
    await pilot.press("enter")
    shown.append(screen_text(app))
    store = Store(world.db_path)
    add_alert(store, "chips", screen.articles.ids[0])
    await pilot.press("escape")
    screen.sidebar.select(Source(ALERTS).id)
    await wait_until(pilot, lambda: screen.alerts.display and screen.alerts.row_count == 1)
    shown.append(screen_text(app))
    screen.alerts.focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.id == screen.articles.ids[0])
    await settle(pilot)
    shown.append(screen_text(app))
    return "\n".join(shown)


@pytest.mark.parametrize("size", [(60, 15), (80, 24), (160, 45)])
async def test_no_color(world, make_app, monkeypatch, size):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(world)
    async with app.run_test(size=size) as pilot:
        assert app.no_color
        text = await smoke(pilot, world)
        assert "Alerts" in text and "export" in text.lower()


async def test_sixteen_colours(world, make_app, monkeypatch):
    monkeypatch.setenv("TEXTUAL_COLOR_SYSTEM", "standard")
    monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", "standard")  # read once, at import
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.console.color_system == "standard"
        await smoke(pilot, world)


async def test_without_colour_unread_starred_and_the_cursor_show_by_glyph_and_reverse_video(world, make_app, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        await pilot.press("s", "j")
        starred, cursor = screen.articles.render_row(0, 70, selected=False), screen.articles.render_row(1, 70, selected=True)
        assert starred.text.startswith("● ★ ") and cursor.text.startswith("●   ")
        assert all(segment.style.reverse for segment in cursor) and not any(s.style.reverse for s in starred)
        await pilot.press("enter", "q")  # read now
        assert screen.articles.render_row(1, 70, selected=True).text.startswith("    ")


@pytest.mark.parametrize(
    ("environ", "charset"),
    [
        ({"LANG": "C"}, "ascii"),
        ({"LANG": "C", "LC_CTYPE": "C.UTF-8"}, "ascii"),  # Python's PEP 538 coercion of a C locale
        ({"LC_ALL": "POSIX", "LANG": "en_US.UTF-8"}, "ascii"),
        ({"LANG": "en_US.UTF-8"}, "utf-8"),
        ({"LC_ALL": "de_DE.ISO-8859-1"}, "iso8859-1"),
        ({"LANG": "en_US"}, "iso8859-1"),
        ({"LANG": "C.UTF-8"}, "utf-8"),
        ({}, "utf-8"),
        ({"LANG": "xx_XX.NO-SUCH-CODESET"}, "utf-8"),
    ],
)
def test_the_locale_names_the_characters_the_terminal_can_show(environ, charset):
    assert locale_charset(environ) == charset


async def test_a_c_locale_gets_ascii_stand_ins_that_keep_every_column(world, make_app):
    app = make_app(world, charset="ascii")
    async with app.run_test(size=(80, 24)) as pilot:
        text = await smoke(pilot, world)
        screen = pilot.app.screen
        screen.sidebar.select(Source(ALL).id)
        await wait_until(pilot, lambda: screen.articles.display and screen.articles.row_count > 10)
        screen.articles.focus()
        await pilot.press("G")  # the hostile titles: CJK, right-to-left, very long
        await settle(pilot)
        text += "\n" + screen_text(app)
    assert text.isascii()
    lines = [line for line in text.splitlines() if line]
    assert {len(line) for line in lines} == {80}, "a stand-in changed a line's width"
    assert "N   DeepSeek unveils" in text or "N   Export controls" in text  # unread, by letter
    assert "enter Open" in text and "?? " in text  # key names spelt out; a wide character is two ?


async def test_below_80_columns_the_sidebar_hides_and_b_shows_it_over_the_list(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(60, 15)) as pilot:
        screen = await started(pilot)
        assert screen.has_class("-compact") and not screen.sidebar.display
        assert screen.articles.region.width >= 56, "the list gets the width"
        assert "b Sources" in screen_text(app)
        await pilot.press("b")
        assert screen.focused is screen.sidebar and screen.sidebar.display
        assert screen.sidebar.region.x == screen.query_one("#list-pane").region.x == 0, "over the list"
        await pilot.press("j", "j", "enter")  # the Policy group
        await wait_until(pilot, lambda: screen.source.key == "Policy")
        assert screen.focused is screen.articles and not screen.sidebar.display
        await pilot.press("q")  # back goes to the sources too
        assert screen.focused is screen.sidebar and screen.sidebar.display
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert not screen.has_class("-compact") and screen.sidebar.display
        assert not screen.check_action("sources", ())


@pytest.mark.parametrize("sizes", [[(160, 45), (60, 15), (80, 24), (160, 45)]])
async def test_resizing_keeps_the_cursor_on_the_same_article_and_on_screen(world, make_app, sizes):
    app = make_app(world)
    async with app.run_test(size=sizes[0]) as pilot:
        screen = await started(pilot)
        await pilot.press(*"j" * 12)
        article = screen.articles.current_id
        for size in sizes[1:]:
            await pilot.resize_terminal(*size)
            await settle(pilot)
            top = round(screen.articles.scroll_offset.y)
            assert screen.articles.current_id == article
            assert top <= screen.articles.cursor < top + screen.articles.scrollable_content_region.height, size
            assert "Open" in screen_text(app).splitlines()[-1], "the footer's keys are there"
