"""Untrusted titles and text render as text: no markup, no escape sequences, no broken layout, no actions."""

from __future__ import annotations

import unicodedata

from reader.index import parse_query
from reader.store import Store
from tests.tui.helpers import settle, started, wait_until
from tests.tui.world import HOSTILE_TITLES


def is_clean(text: str) -> bool:
    return not any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\u200c\u200d" for ch in text)


async def test_hostile_titles_render_as_plain_text_at_every_width(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(200, 50)) as pilot:
        screen = await started(pilot)
        rows = {screen.articles.line(i).title: i for i in range(screen.articles.row_count)}
        for title in HOSTILE_TITLES:
            index = rows[title]
            for width in (30, 80, 200):
                strip = screen.articles.render_row(index, width, selected=index == 0)
                assert strip.cell_length == width, (title, width)
                assert is_clean(strip.text), (title, strip.text)
        shown = {screen.articles.render_row(rows[t], 200, selected=False).text for t in HOSTILE_TITLES}
        assert any("x [/] y" in text for text in shown)
        assert any("[@click=app.quit]Click[/]" in text for text in shown)
        assert any("[bold]not bold[/bold] and [red]not red" in text for text in shown)
        assert any("(no title)" in text for text in shown)


async def test_clicking_a_title_that_looks_like_an_action_does_nothing_but_select(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        index = next(i for i in range(screen.articles.row_count)
                     if screen.articles.line(i).title == "[@click=app.quit]Click[/]")  # fmt: skip
        screen.articles.move_to(index)
        await pilot.pause()
        y = index - round(screen.articles.scroll_offset.y)
        await pilot.click("#articles", offset=(6, y))
        await pilot.click("#articles", offset=(6, y))  # a click on the cursor's row opens it
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.title.startswith("[@click"))
        await pilot.click("#article-head", offset=(4, 1))
        await settle(pilot)
        assert app.is_running


async def test_every_hostile_article_opens_and_hostile_feed_titles_show_literally(world, make_app):
    store = Store(world.db_path)
    store.set_feed_options(3, title="[red]Policy[/] x [/] \x1b[2J[@click=app.quit]y[/]")
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        for article in Store(world.db_path).iter_articles():
            if article.title in HOSTILE_TITLES:
                await screen.reader.show_article(store.article(article.id), parse_query("bold OR red OR click"))
                await pilot.pause()
                assert is_clean(str(screen.query_one("#article-head").render()))
                assert is_clean(screen.query_one("#article-body").render().plain)
        row = next(i for i, r in enumerate(screen.sidebar.rows) if r.source and r.source.id == "feed:3")
        drawn = screen.sidebar.render_row(row, 40, selected=False).text
        assert "[red]Policy[/] x [/]" in drawn and is_clean(drawn)
        screen._open_url("javascript:[/]x[@click=app.quit]")  # the warning quotes it: no markup error
        await settle(pilot)
        assert app.is_running
        assert any("[/]x[@click=app.quit]" in message for _, message, _ in app.notices)
