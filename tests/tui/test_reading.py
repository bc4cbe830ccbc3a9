"""Read state, stars, next unread, mark all read, sorting, links and the browser."""

from __future__ import annotations

from textual import events

from reader.store import ArticleFilter, Store
from reader.tui.screens.dialogs import ConfirmScreen
from reader.tui.widgets.article_body import ArticleBody
from tests.tui.helpers import settle, started, wait_until


def unread_ids(settings) -> set[int]:
    return Store(settings.db_path).article_ids_in(ArticleFilter(unread=True))


async def test_read_state_and_stars_persist_across_restarts(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        first = screen.articles.current_id
        unread_before = screen.counts.unread
        await pilot.press("m", "s")
        line = screen.articles.current_line()
        assert line.read and line.starred
        assert screen.counts.unread == unread_before - 1 and screen.counts.starred == 1
        await pilot.press("j", "s", "s")  # starred and unstarred again
    assert first not in unread_ids(world)

    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        line = screen.articles.current_line()
        assert line.id == first and line.read and line.starred
        assert not screen.articles.line(1).starred
        assert screen.counts.starred == 1
        await pilot.press("m")  # unread again
        assert not screen.articles.current_line().read
    assert first in unread_ids(world)


async def test_n_opens_the_next_unread_article_and_N_the_previous(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        ids = screen.articles.ids
        await pilot.press("m", "j", "m", "k")  # rows 0 and 1 read, cursor back on 0
        await pilot.press("n")
        await wait_until(pilot, lambda: screen.articles.cursor == 2)
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.id == ids[2])
        assert ids[2] not in unread_ids(world)
        await pilot.press("G", "N")
        await wait_until(pilot, lambda: screen.articles.cursor == len(ids) - 2)


async def test_A_marks_every_article_of_the_view_read(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("tab", "tab")  # to the sidebar
        assert screen.focused is screen.sidebar
        await pilot.press(*["j"] * screen.sidebar.source_ids.index("feed:3"))  # over a separator, too
        await wait_until(pilot, lambda: screen.articles.row_count and screen.articles.current_line().feed_id == 3)
        shown = list(screen.articles.ids)
        await pilot.press("enter", "A")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # asked first: no marks nothing
        await settle(pilot)
        assert set(shown) <= unread_ids(world)
        await pilot.press("A", "y")
        await settle(pilot)
        assert not set(shown) & unread_ids(world)
        assert screen.counts.unread_by_feed[3] == 0
        assert unread_ids(world), "other feeds keep their unread articles"
        assert all(screen.articles.line(i).read for i in range(len(shown)))


async def test_u_undoes_the_last_mark_read(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        everything = set(screen.articles.ids)
        await pilot.press("j", "m")  # one read by hand first
        await pilot.press("A", "y")
        await wait_until(pilot, lambda: not unread_ids(world))
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert unread_ids(world) == everything - {screen.articles.ids[1]}, "only what A marked"
        assert screen.counts.unread == len(everything) - 1
        assert not screen.articles.line(0).read
        await pilot.press("u")
        assert unread_ids(world) == everything
        await pilot.press("u")
        assert any("No mark-read to undo" in message for _, message, _ in app.notices)


async def test_S_cycles_the_sort_order(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        newest = list(screen.articles.ids)
        await pilot.press("S")
        await wait_until(pilot, lambda: screen.articles.ids == newest[::-1])
        await pilot.press("S")
        await wait_until(pilot, lambda: screen.current_view().sort == "title" and screen.articles.ids != newest[::-1])
        titles = [screen.articles.line(i).title.casefold() for i in range(screen.articles.row_count)]
        assert titles == sorted(titles)


async def test_o_and_number_keys_open_only_web_links(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("enter")  # the DeepSeek story, whose text has links
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.links)
        await pilot.press("o", "1", "2", "3")
        assert app.opened == [
            "https://example.com/s0", "https://www.commerce.gov/news/export-controls", "https://example.org/report"
        ]  # fmt: skip
        assert [link.number for link in screen.reader.links] == [1, 2]
        assert not screen.reader.link(3)


async def test_a_javascript_link_is_never_opened(world, make_app):
    from reader.tui.widgets.article_view import number_links

    _markdown, links = number_links("[a](javascript:alert(1)) [b](file:///etc/passwd) [c](https://ok.example/)")
    assert [link.url for link in links] == ["file:///etc/passwd", "https://ok.example/"]
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        titles = [screen.articles.line(i).title for i in range(screen.articles.row_count)]
        screen.articles.move_to(titles.index("A link that runs code"))
        await pilot.press("o")
        assert app.opened == []
        assert any("only http and https" in message for _, message, _ in app.notices)
        assert not screen.articles.current_line().read


async def test_o_opens_the_link_in_BROWSER_and_says_so_when_there_is_no_browser(world, make_app, monkeypatch, tmp_path):
    import webbrowser

    opened = tmp_path / "opened"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    script.chmod(0o755)
    monkeypatch.setenv("BROWSER", f"{script} %s &")
    app = make_app(world, browser=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot)
        await pilot.press("o")
        await wait_until(pilot, lambda: opened.exists() and opened.read_text() == "https://example.com/s0")
        assert not [m for title, m, _ in app.notices if title == "Not opened"]  # it exited at once, with 0

        failing = tmp_path / "failing.sh"
        failing.write_text("#!/bin/sh\nexit 3\n")
        failing.chmod(0o755)
        monkeypatch.setenv("BROWSER", f"{failing} &")
        await pilot.press("o")
        assert any(title == "Not opened" and "failing.sh did not open" in m for title, m, _ in app.notices)

        monkeypatch.setenv("BROWSER", str(tmp_path / "no-such-browser") + " %s")
        await pilot.press("o")
        assert any(title == "Not opened" and "no-such-browser did not open" in m for title, m, _ in app.notices)

        def no_browser(*args):  # a machine without any browser (no display, no $BROWSER)
            raise webbrowser.Error("could not locate runnable browser")

        monkeypatch.delenv("BROWSER")
        monkeypatch.setattr(webbrowser, "get", no_browser)
        await pilot.press("o")
        assert any("No browser to open https://example.com/s0: set $BROWSER" in m for _, m, _ in app.notices)


async def test_enter_again_shows_the_article_full_screen_a_pager_with_find(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        await pilot.press("enter")  # the DeepSeek story
        await wait_until(pilot, lambda: screen.focused is screen.reader and screen.reader.article is not None)
        await pilot.press("enter")
        assert screen.maximized is screen.reader and screen.reader.region.width == 80
        assert screen.reader.region.height >= 20, "the article gets the screen"
        await pilot.press("slash")
        assert screen.focused is screen.find_input and not screen.search_bar.is_open
        await pilot.press(*"export", "enter")
        await wait_until(pilot, lambda: len(screen.reader.found) == 2)
        assert screen.focused is screen.reader and screen.reader.found_at == 0
        await pilot.press("n")
        assert screen.reader.found_at == 1
        await pilot.press("n")
        assert screen.reader.found_at == 0, "round again"
        await pilot.press("N")
        assert screen.reader.found_at == 1
        await settle(pilot)
        body = screen.reader.query_one(ArticleBody)
        line = body.line_of(*screen.reader.found[1])  # the body's line holding the second place found
        assert "export" in body.render().plain.split("\n")[line].lower()
        assert screen.reader.region.y <= body.region.y + line < screen.reader.region.bottom, "it is on screen"
        first = screen.reader.article.id
        await pilot.press("J")  # the next article, still full screen
        await wait_until(pilot, lambda: screen.reader.article.id != first)
        assert screen.reader.article.id == screen.articles.ids[1] and screen.maximized is screen.reader
        assert screen.reader.found == [], "a new article forgets the find"
        await pilot.press("q")
        assert screen.maximized is None and screen.focused is screen.reader
        await pilot.press("q")
        assert screen.focused is screen.articles


async def test_U_shows_only_unread_articles_in_every_list_and_is_remembered(world, make_app):
    from reader.rules import write_rule

    write_rule(world.rules_dir, "chips", query="export controls OR TSMC")
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        everything = list(screen.articles.ids)
        await pilot.press("m", "j", "m", "U")  # two read, then unread only
        await wait_until(pilot, lambda: screen.articles.ids == everything[2:])
        assert "18" not in str(screen.query_one("#list-pane").border_title) and "unread" in str(
            screen.query_one("#list-pane").border_title)
        await pilot.press("slash", *"export controls", "enter")  # a search: the read match is left out
        await wait_until(pilot, lambda: screen.search is not None and screen.articles.row_count == 0)
        await pilot.press("escape")
        screen.sidebar.select("rule:chips")  # a rule, too
        await wait_until(pilot, lambda: screen.source.kind == "rule" and screen.articles.row_count == 1)
        assert screen.articles.current_line().title.startswith("TSMC")
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        assert screen.articles.ids == everything[2:]
        await pilot.press("U")
        await wait_until(pilot, lambda: screen.articles.ids == everything)


async def test_enclosures_are_listed_in_the_article_and_open_by_number(world, make_app):
    from reader.models import Enclosure, ParsedArticle

    store = Store(world.db_path)
    feed, _ = store.add_feed("http://127.0.0.1:9/pod.xml", "A podcast", "")
    episode = ParsedArticle(key="ep1", title="Episode 1: chips", link="https://pod.example/1", content="Show notes.",
                            content_hash="ep1", enclosures=(Enclosure("https://pod.example/1.mp3", "audio/mpeg", 42_100_000),))  # fmt: skip
    store.upsert_articles(feed.id, [episode], fulltext=False, canonical={})
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        screen.sidebar.select(f"feed:{feed.id}")
        await wait_until(pilot, lambda: screen.articles.row_count == 1 and screen.articles.current_line().feed_id == feed.id)
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.id == screen.articles.ids[0])
        head = str(screen.reader.query_one("#article-head").render())
        assert "Enclosure [1] audio/mpeg, 42.1 MB · https://pod.example/1.mp3" in head
        await pilot.press("1")
        assert app.opened == ["https://pod.example/1.mp3"]


async def test_U_also_leaves_read_feeds_out_of_the_sidebar(world, make_app):
    store = Store(world.db_path)
    chips = next(f for f in store.feeds() if f.title == "Chip Letter")
    store.set_read(list(store.article_ids_in(ArticleFilter(feed_ids=[chips.id]))), True)
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        assert f"feed:{chips.id}" in screen.sidebar.source_ids
        await pilot.press("U")
        await wait_until(pilot, lambda: f"feed:{chips.id}" not in screen.sidebar.source_ids)
        assert len([i for i in screen.sidebar.source_ids if i.startswith("feed:")]) == 2
        await pilot.press("U")
        await wait_until(pilot, lambda: f"feed:{chips.id}" in screen.sidebar.source_ids)


async def test_enter_enter_typed_at_once_opens_the_article_full_screen(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot)
        for _ in range(2):  # both queued at once, as a fast typist or a terminal's paste sends them
            app.post_message(events.Key("enter", "\r"))
        await wait_until(pilot, lambda: screen.maximized is screen.reader)
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.id == screen.articles.ids[0])


async def test_the_article_body_keeps_lists_quotes_code_and_markup_as_text_and_a_clicked_link_opens(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await wait_until(pilot, lambda: screen.reader.article is not None)  # the preview, not over the text below
        await settle(pilot)
        body = screen.reader.query_one(ArticleBody)
        words = " ".join(["word"] * 40)
        body.show(f"Intro [red]not markup[/] and [a link](https://ok.example/x).\n\n- first item {words}\n- second\n\n"
                  "> quoted\n\n```\ncode  [b]kept[/b]\n```\n")  # fmt: skip
        await settle(pilot)
        lines = body.render().plain.split("\n")
        assert "[red]not markup[/]" in lines[0] and "code  [b]kept[/b]" in lines
        item = next(i for i, line in enumerate(lines) if line.startswith("• first item"))
        assert lines[item + 1].startswith("  word"), "a list item's next lines hang under its text"
        assert "• second" in lines and "▌ quoted" in lines
        column = lines[0].index("a link")
        await pilot.click(offset=(body.content_region.x + column, body.content_region.y))
        await settle(pilot)
        assert app.opened == ["https://ok.example/x"]


async def test_clicking_a_key_in_the_footer_presses_it(world, make_app):
    from reader.tui.widgets.footer import Footer

    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        footer = screen.query_one(Footer)
        start, _end, binding, tooltip = next(span for span in footer._spans if span[2].action == "search")
        assert tooltip == "Search every article"
        await pilot.click(Footer, offset=(start + 1, 0))
        await settle(pilot)
        assert screen.search_bar.is_open and screen.focused is screen.search_bar.input


async def test_an_empty_starred_list_says_how_to_star(world, make_app):
    app = make_app(world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("tab", "tab", "j")  # the sidebar's Starred, nothing starred yet
        await wait_until(pilot, lambda: screen.articles.placeholder.startswith("No starred articles"))
        assert screen.articles.ids == []
