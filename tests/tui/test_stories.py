"""Reading by story: one row per story with its outlet count, expanding, marking read, muting, plain rows,
a story's read state and counts, stories in searches and saved searches, the story keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reader.config import load_settings
from reader.index import SearchIndex
from reader.ingest import group_stories, update_index
from reader.rules import write_rule
from reader.store import ArticleFilter, Store
from reader.tui.screens.dialogs import MuteScreen
from reader.tui.screens.help import binding_rows
from tests.tui.helpers import settle, started, wait_until
from tests.tui.world import FEEDS, NOW, Story, article, build_world

ERUPTION = "Volcano erupts near Grindavik in Iceland, Reykjanes town evacuated by civil protection"
ERUPTION_TEXT = ("A volcano erupted on the Reykjanes peninsula near Grindavik on Monday night. Iceland's civil "
                 "protection agency evacuated the town; the Met Office said lava flowed toward the Blue Lagoon.")  # fmt: skip
PLANT = " The Svartsengi power plant was shut."  # in two of the three outlets' text: a search matches two


@pytest.fixture
def story_world(settings):
    """The fixed library plus one event covered by all 3 outlets (grouped by the real grouper)."""
    store = build_world(settings)
    feed_ids = [f.id for f in store.feeds()]
    for k in range(len(FEEDS)):
        story = Story(k, f"{ERUPTION} ({k})", 0.5 + k / 10, ERUPTION_TEXT + (PLANT if k else ""))
        store.upsert_articles(feed_ids[k], [article(story, f"v{k}", NOW - timedelta(hours=story.hours_ago))],
                              fulltext=False, canonical={})  # fmt: skip
    group_stories(store)
    index = SearchIndex(settings.index_dir)
    update_index(store, index)
    index.close()
    store.close()
    return settings


def eruption_ids(settings) -> list[int]:
    """The story's three articles, as stored: the first is the newest (its row's); the other two mention the plant."""
    store = Store(settings.db_path)
    try:
        return sorted(i for i, line in store.article_lines(sorted(store.article_ids_in(ArticleFilter()))).items()
                      if line.title.startswith(ERUPTION))  # fmt: skip
    finally:
        store.close()


def unread(settings) -> set[int]:
    store = Store(settings.db_path)
    try:
        return store.article_ids_in(ArticleFilter(unread=True))
    finally:
        store.close()


def stories_unread(settings) -> int:
    """Stories (an article alone is one) with an unread article, muted ones aside: what the All entry counts."""
    store = Store(settings.db_path)
    try:
        return store.unread_stories()[2]
    finally:
        store.close()


def row_text(screen, index: int) -> str:
    return screen.articles.render_row(index, 120, False).text


def unread_rows(screen) -> int:
    return sum(row_text(screen, k).startswith("●") for k in range(screen.articles.row_count))


async def test_a_story_is_one_row_that_expands_and_is_marked_read_whole(story_world, make_app):
    ids = eruption_ids(story_world)
    assert len(ids) == 3
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        rows = screen.articles.ids
        assert len([i for i in rows if i in ids]) == 1  # one row for the three
        assert screen.articles.current_id in ids  # the newest story comes first
        assert "+2" in row_text(screen, 0)
        assert "+" not in row_text(screen, 1)
        count = screen.articles.row_count

        await pilot.press("z")  # expand
        assert screen.articles.row_count == count + 2
        assert sorted(screen.articles.ids[:3]) == ids
        assert "+2" not in row_text(screen, 0)
        await pilot.press("j", "z")  # fold again from one of its articles
        assert screen.articles.row_count == count and screen.articles.cursor == 0

        await pilot.press("enter")  # the story's first article, with the others listed; the story is read
        await wait_until(pilot, lambda: screen.reader.article is not None)
        head = str(screen.reader.query_one("#article-head").render())
        also = head.split("Also covered by:")[1]
        assert sum(FEEDS[k][1] in also for k in range(3)) == 2 and also.count(ERUPTION) == 2
        assert not set(ids) & unread(story_world) and not row_text(screen, 0).startswith("●")
        await pilot.press("escape", "m")  # m on a read story row: all three unread again
        await settle(pilot)
        assert set(ids) <= unread(story_world) and row_text(screen, 0).startswith("●")
        await pilot.press("m")  # and read again, together
        await settle(pilot)
        assert not set(ids) & unread(story_world)
        await pilot.press("u")  # undone together
        await settle(pilot)
        assert set(ids) <= unread(story_world)


async def test_o_on_a_story_row_opens_what_enter_would_and_reads_the_story_as_enter_does(story_world, make_app):
    ids = eruption_ids(story_world)
    store = Store(story_world.db_path)
    store.set_read([ids[0]], True)  # the row's own article read elsewhere: o opens the first unread one
    links = {i: store.article(i).link for i in ids}
    store.close()
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        assert screen.articles.current_id == ids[0] and row_text(screen, 0).startswith("●")
        await pilot.press("o")
        await settle(pilot)
        assert len(app.opened) == 1 and app.opened[0] in {links[ids[1]], links[ids[2]]}, "an unread one"
        assert not set(ids) & unread(story_world), "the story was read in the browser, as Enter reads it"
        assert not row_text(screen, 0).startswith("●")
        await pilot.press("u")
        await settle(pilot)
        assert set(ids[1:]) <= unread(story_world) and row_text(screen, 0).startswith("●")
        await pilot.press("enter")  # Enter shows the article o opened
        await wait_until(pilot, lambda: screen.reader.article is not None)
        assert screen.reader.article.link == app.opened[0]


async def test_a_story_is_unread_while_any_of_its_articles_is_and_counts_once(story_world, make_app):
    ids = eruption_ids(story_world)
    store = Store(story_world.db_path)
    everything = store.article_ids_in(ArticleFilter())
    store.set_read(sorted(everything - set(ids[1:])), True)  # its row's article read elsewhere (plain rows, the CLI)
    store.close()
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        assert screen.articles.current_id == ids[0]
        assert row_text(screen, 0).startswith("●"), "two outlets' articles are still unread"
        # The sidebar counts stories, as the list shows them: one per row with the unread mark.
        assert screen.counts.unread == stories_unread(story_world) == unread_rows(screen) == 1
        assert screen.counts.unread_by_group["Tech"] == 1 and not screen.counts.unread_by_group.get("Policy")

        await pilot.press("G", "N")  # from the bottom, back to the previous unread row: this story's, at last
        await wait_until(pilot, lambda: screen.articles.cursor == 0 and screen.reader.article is not None)
        await settle(pilot)
        assert screen.reader.article.id == ids[2], "the story's first unread article is shown"
        assert not set(ids) & unread(story_world) and not row_text(screen, 0).startswith("●")
        # Counted by hand as the story left every entry; the same as a recount.
        recount = screen.library.counts(screen.rules, screen.feeds, by_story=True)
        assert (screen.counts.unread, screen.counts.unread_by_feed, screen.counts.unread_by_group) == \
            (recount.unread, recount.unread_by_feed, recount.unread_by_group) and recount.unread == 0

        await pilot.press("V")  # one row per article: articles counted
        await wait_until(pilot, lambda: not screen.articles.by_story)
        await wait_until(pilot, lambda: not screen.counts.by_story)
        await pilot.press("u")  # the story's two articles unread again, counted as two here
        await wait_until(pilot, lambda: screen.counts.unread == 2 and screen.counts.unread_by_group["Tech"] == 2)


async def test_M_asks_for_how_long_and_a_muted_story_counts_nothing(story_world, make_app):
    ids = eruption_ids(story_world)
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        assert "●" in row_text(screen, 0) and screen.counts.unread == 9
        await pilot.press("M")
        await wait_until(pilot, lambda: isinstance(app.screen, MuteScreen))
        await pilot.press("escape")  # cancelled: nothing muted
        await settle(pilot)
        assert screen.library.muted_until(screen.articles.current_line().story_id) is None

        await pilot.press("M", "2")  # 7 days
        await wait_until(pilot, lambda: app.notices[-1][1].startswith("Story muted"))
        await settle(pilot)
        until = screen.library.muted_until(screen.articles.current_line().story_id)
        assert until is not None and abs(until - datetime.now(UTC) - timedelta(days=7)) < timedelta(minutes=1)
        assert "for 7 days, until" in app.notices[-1][1]
        assert "●" not in row_text(screen, 0) and "muted" in row_text(screen, 0)
        assert screen.counts.unread == stories_unread(story_world) == 8, "a muted story counts nowhere"
        await pilot.press("enter")  # reading a muted story moves no count
        await wait_until(pilot, lambda: screen.reader.article is not None)
        await settle(pilot)
        assert screen.counts.unread == 8 and not set(ids) & unread(story_world)
        assert "Story muted until" in str(screen.reader.query_one("#article-head").render())
        await pilot.press("M")  # on a muted story: unmuted at once
        await settle(pilot)
        assert app.notices[-1][1].startswith("Story unmuted")
        assert "Story muted" not in str(screen.reader.query_one("#article-head").render())
        assert screen.library.muted_until(screen.articles.current_line().story_id) is None
        await pilot.press("escape", "M", "4")  # until unmuted
        await wait_until(pilot, lambda: "until you unmute it" in app.notices[-1][1])
        assert screen.library.muted_until(screen.articles.current_line().story_id).year == 9999


async def test_plain_rows_are_remembered_and_a_muted_story_asks_no_reading(story_world, make_app):
    ids = eruption_ids(story_world)
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        await pilot.press("V")
        await wait_until(pilot, lambda: len([i for i in screen.articles.ids if i in ids]) == 3)
        assert "+2" not in row_text(screen, 0)
        await pilot.press("M", "3")  # muted for 30 days, for the restart
        await wait_until(pilot, lambda: app.notices[-1][1].startswith("Story muted"))
        await settle(pilot)

    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        assert len([i for i in screen.articles.ids if i in ids]) == 3  # plain rows, remembered
        assert all("●" not in row_text(screen, k) for k in range(3))
        await pilot.press("V")
        await wait_until(pilot, lambda: len([i for i in screen.articles.ids if i in ids]) == 1)


async def test_searches_and_saved_searches_show_the_stories_of_their_matches(story_world, make_app):
    ids = eruption_ids(story_world)
    write_rule(story_world.rules_dir, "plant", query="svartsengi", title="The plant")
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        assert screen.counts.rule_unread["plant"] == 1, "two matches, one story"
        await pilot.press("slash", *"grindavik", "enter")
        await wait_until(pilot, lambda: screen.search is not None and screen.articles.row_count == 1)
        await settle(pilot)
        assert screen.articles.current_id in ids and "+2" in row_text(screen, 0)

        await pilot.press("slash", "ctrl+u", *"svartsengi", "enter")  # two of the story's three articles match
        await wait_until(pilot, lambda: screen.search is not None and screen.search.text == "svartsengi")
        await settle(pilot)
        assert screen.articles.ids == [ids[1]] and "+1" in row_text(screen, 0)
        await pilot.press("z")  # its matching articles only
        assert screen.articles.ids == [ids[1], ids[2]]
        await pilot.press("z", "m")  # the row's articles read: the matching ones
        await settle(pilot)
        assert unread(story_world) & set(ids) == {ids[0]}
        assert screen.counts.rule_unread["plant"] == 0

        await pilot.press("escape", "escape")
        await wait_until(pilot, lambda: screen.search is None and screen.focused is screen.sidebar)
        screen.sidebar.select("rule:plant")  # the saved search: the same
        await wait_until(pilot, lambda: screen.articles.ids == [ids[1]])
        await settle(pilot)
        assert "+1" in row_text(screen, 0)
        await pilot.press("tab", "z")
        assert screen.articles.ids == [ids[1], ids[2]]


async def test_the_story_keys_are_configurable_and_in_the_help(story_world, make_app):
    from reader.config import ConfigError
    from reader.tui.keys import keymap

    story_world.config_dir.mkdir(parents=True, exist_ok=True)
    story_world.settings_file.write_text('[keys]\nexpand-story = "m"\n')
    with pytest.raises(ConfigError, match=r"config\.toml:2: \[keys\] expand-story: the key 'm' is already bound to "
                                          r"toggle-article-read"):  # fmt: skip
        keymap(load_settings())
    story_world.settings_file.write_text('[keys]\nexpand-story = "x"\nmute-story = "^U"\ntoggle-stories = "v"\n')
    app = make_app(load_settings())
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await started(pilot)
        rows = dict(binding_rows(screen))
        assert rows["x"].startswith("Expand") and rows["^u"].startswith("Mute") and rows["v"].startswith("Stories")
        count = screen.articles.row_count
        await pilot.press("z")
        assert screen.articles.row_count == count
        await pilot.press("x")
        assert screen.articles.row_count == count + 2
        await pilot.press("ctrl+u")
        await wait_until(pilot, lambda: isinstance(app.screen, MuteScreen))


@pytest.mark.parametrize("state", ["folded", "expanded", "mute-dialog"])
def test_snapshot_of_a_story(story_world, make_app, snap_compare, state):
    """A story row with +2 (its unread mark, its outlet), the story expanded, the mute dialog at 80×24."""

    async def shown(pilot) -> None:
        screen = await started(pilot)
        await wait_until(pilot, lambda: screen.reader.article is not None)
        if state == "expanded":
            await pilot.press("z", "j")
            await wait_until(pilot, lambda: screen.reader.article.id == screen.articles.current_id)
        elif state == "mute-dialog":
            await pilot.press("M")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, MuteScreen))
        await settle(pilot)

    size = (80, 24) if state == "mute-dialog" else (120, 30)
    assert snap_compare(make_app(story_world), terminal_size=size, run_before=shown)


async def test_the_rules_screen_counts_unread_as_the_sidebar_does(story_world, make_app):
    from reader.tui.screens.rules import RulesScreen

    write_rule(story_world.rules_dir, "plant", query="svartsengi", title="The plant")  # two matches, one story
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        for plain, counted in ((False, 1), (True, 2)):
            if screen.plain != plain:
                await pilot.press("V")
                await wait_until(pilot, lambda: screen.counts.by_story != plain)
            assert screen.counts.rule_unread["plant"] == counted
            await pilot.press("E")
            await wait_until(pilot, lambda: isinstance(app.screen, RulesScreen) and bool(app.screen.rows))
            table = app.screen.table
            row = next(i for i, r in enumerate(app.screen.rows) if r.rule.name == "plant")
            assert str(table.ordered_columns[4].label) == "Unread"
            assert str(table.get_row_at(row)[4]) == str(counted)
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is screen)


async def test_V_shows_the_other_modes_counts_kept_current_without_counting_again(story_world, make_app):
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)

        def counted(counts):
            return counts.unread, counts.unread_by_feed, counts.unread_by_group, counts.rule_unread, counts.starred

        def recount(by_story):
            return counted(screen.library.counts(screen.rules, screen.feeds, by_story=by_story))

        await pilot.press("V")  # one row per article: counted once, the story counts kept aside
        await wait_until(pilot, lambda: not screen.counts.by_story)
        await settle(pilot)
        await pilot.press("V")
        await wait_until(pilot, lambda: screen.counts.by_story)
        kept = screen.spare_counts
        assert kept is not None and not kept.by_story
        await pilot.press("m", "s")  # the first story row read, its article starred: both modes' counts follow
        await settle(pilot)
        assert counted(screen.counts) == recount(True)
        await pilot.press("V")
        await settle(pilot)
        assert screen.counts is kept, "swapped in, not counted again"
        assert counted(screen.counts) == recount(False)


@pytest.mark.parametrize("plain", [False, True], ids=["by story", "by article"])
async def test_n_at_a_feeds_end_goes_on_to_the_next_feed_with_unread_articles_and_N_back(story_world, make_app,
                                                                                          plain):  # fmt: skip
    """newsboat's goto-next-feed: n past a feed's last unread row opens the next feed's first unread row (the
    sidebar's order, round past its end); N before its first, the previous one's last; a group goes on to a group."""
    app = make_app(story_world)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await started(pilot)
        if plain:
            await pilot.press("V")
            await settle(pilot)
        by_title = {f.title: str(f.id) for f in screen.feeds}
        policy, chips, tech = by_title["Policy Wire"], by_title["Chip Letter"], by_title["Tech Daily"]
        assert screen.sidebar.source_ids.index(f"feed:{policy}") < screen.sidebar.source_ids.index(f"feed:{chips}")
        screen.sidebar.select(f"feed:{policy}")
        await wait_until(pilot, lambda: screen.source.key == policy and screen.articles.row_count)
        await settle(pilot)
        rows = screen.articles.row_count
        for _ in range(rows):  # each unread row of the feed, the one under the cursor last (round from the top)
            await pilot.press("n")
            await settle(pilot)
            assert screen.source.key == policy and screen.reader.article.feed_id == int(policy)
        assert screen.counts.unread_by_feed[int(policy)] == 0
        await pilot.press("n")  # the feed's end: on to the next feed with unread articles, its first unread row
        await wait_until(pilot, lambda: screen.source.key == chips)
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.feed_id == int(chips))
        assert screen.sidebar.source.key == chips and screen.articles.cursor == 0
        assert screen.reader.article.id == screen.articles.ids[0] or screen.articles.is_story_row(0)

        await pilot.press("A", "y")  # Chip Letter read to its end: N goes back past Policy Wire (read) round to
        await settle(pilot)  # Tech Daily, the sidebar's last feed, at its last unread row
        await pilot.press("N")
        await wait_until(pilot, lambda: screen.source.key == tech)
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.feed_id == int(tech))
        assert screen.articles.cursor == screen.articles.row_count - 1

        screen.sidebar.select("group:Policy")  # a group read to its end goes on to the next group
        await wait_until(pilot, lambda: screen.source.id == "group:Policy")
        await settle(pilot)
        await pilot.press("n")
        await wait_until(pilot, lambda: screen.source.id == "group:Tech")
        await wait_until(pilot, lambda: screen.reader.article is not None and screen.reader.article.group == "Tech")
        assert screen.reader.article.feed_id == int(tech)  # Chip Letter's are read: the row's unread one
