"""Moving around the TUI: panes, the list, opening articles, q back then quit."""

from __future__ import annotations

from reader.store import ArticleFilter, Store
from reader.tui.screens.dialogs import ConfirmScreen
from tests.tui.helpers import settle, started, wait_until


async def test_first_paint_shows_the_stored_articles_newest_first(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        store = Store(world.db_path)
        expected = [a.id for a in store.iter_articles()]
        assert screen.articles.ids == expected
        assert screen.articles.current_line().title == "DeepSeek unveils a cheaper reasoning model"
        assert screen.focused is screen.articles


async def test_keys_move_the_cursor_and_enter_opens_and_marks_read(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("j", "j", "down", "k")
        assert screen.articles.cursor == 2
        await pilot.press("up")
        assert screen.articles.cursor == 1
        chosen = screen.articles.current_id
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.id == chosen)
        assert screen.focused is screen.reader
        assert chosen not in Store(world.db_path).article_ids_in(ArticleFilter(unread=True))
        assert screen.articles.current_line().read


async def test_tab_cycles_the_panes_and_q_goes_back_then_quits(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        await pilot.press("tab")
        assert screen.focused is screen.reader
        await pilot.press("tab")
        assert screen.focused is screen.sidebar
        await pilot.press("tab")
        assert screen.focused is screen.articles
        await pilot.press("tab", "q")
        assert screen.focused is screen.articles
        await pilot.press("q")
        assert screen.focused is screen.sidebar
        await pilot.press("q")
        await settle(pilot)
        assert app.return_code == 0 and not app.is_running


async def test_when_the_data_is_thrown_away_on_quit_q_asks_first(world, make_app):
    app = make_app(world, quit_question="Quit the demo?")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        await pilot.press("q", "q")  # list → sidebar → the question
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        assert app.screen is screen and app.is_running
        await pilot.press("q", "y")
        await settle(pilot)
        assert not app.is_running
