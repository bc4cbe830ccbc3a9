"""TUI benchmark, the story view: keypress to update over story rows (j, k, z, n), 100,000 articles in stories.

    python -m benchmarks tui_stories                       # 100k articles, figures into docs/benchmarks.md
    python -m benchmarks tui_stories --articles 20000 --presses 20 --no-write

A case of its own beside `bench_tui` (start-up and plain keys), on a data dir of
its own: bench_tui's library (same feeds, titles, dates, read and starred
shares), whose articles bench_tui's builder already groups with the real
grouper (news events covered by 1 to 8 outlets); articles it left without a
story (an older data dir) are put in stories of 1 to 8 neighbours in time
through the store's own `save_stories`. The
app shows one row per story, as by default. Measured headless (Textual's
`App.run_test`) with bench_tui's frame recorder: each key from the press to
the first frame that draws its answer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from benchmarks.bench_tui import (
    KEY_TARGET_MS,
    PTY_COLUMNS,
    PTY_ROWS,
    RESULTS,
    FrameRecorder,
    build_data_dir,
    default_view,
    percentile,
    print_table,
    write_section,
)
from reader.index import SearchIndex
from reader.models import ArticleFilter
from reader.store import Store, utcnow
from reader.stories import Corpus, Decision, StoryProfile
from reader.tui.screens.main import PREVIEW_DELAY

SIZES = (1, 1, 1, 1, 1, 2, 2, 3, 4, 8)  # a story's articles: most alone, some covered by several outlets
SECTION = "## TUI story view"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
KEYS = ("j", "k", "z expand", "z fold", "n")
PLAIN_KEYS = ("j", "k", "n")  # the same keys after V (one row per article), in the same run: the reference


def put_in_stories(settings, seed: int = 5) -> tuple[int, int]:
    """Give every article without a story one, neighbours in time together; (stories, of several articles)."""
    store = Store(settings.db_path)
    try:
        if not store.ungrouped_count():
            return _story_figures(store)
        rnd = random.Random(seed)
        ids = store.article_order(ArticleFilter(), "oldest")
        dates = {i: line.date for i, line in store.article_lines(ids).items()}
        next_id, at = store.next_story_id(), 0
        decisions: list[Decision] = []
        profiles: list[StoryProfile] = []
        while at < len(ids):
            members = ids[at : at + rnd.choice(SIZES)]
            at += len(members)
            decisions += [Decision(i, next_id, k == 0, 0.0 if k == 0 else 0.5, (), ()) for k, i in enumerate(members)]
            profiles.append(StoryProfile(next_id, dates[members[0]], dates[members[-1]], len(members)))
            next_id += 1
            if len(decisions) >= 5000 or at >= len(ids):
                store.save_stories(decisions, profiles, Corpus(), {}, forget_before=utcnow())
                decisions, profiles = [], []
        return _story_figures(store)
    finally:
        store.close()


def _story_figures(store: Store) -> tuple[int, int]:
    sizes = store.story_order(ArticleFilter(), "newest")
    return len(sizes), sum(size > 1 for _, size in sizes)


@dataclass
class StoryFigures:
    first_paint: float = 0.0  # s, store opened to the first frame with story rows
    keys: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in KEYS})
    plain: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in PLAIN_KEYS})


async def measure(data_settings, presses: int) -> StoryFigures:
    """Start the app on the story library; time j and k over story rows, z on story rows, n."""
    from reader.tui.app import ReaderApp
    from reader.tui.library import Library

    figures = StoryFigures()
    start = time.perf_counter()
    store = Store(data_settings.db_path)
    app = ReaderApp(Library(data_settings, store, SearchIndex(data_settings.index_dir)))
    recorder = FrameRecorder(app)
    try:
        async with app.run_test(size=(PTY_COLUMNS, PTY_ROWS)) as pilot:
            painted = await recorder.first(lambda f: bool(f.rows))
            if painted is None:
                raise RuntimeError("the article list never drew a row")
            figures.first_paint = painted.at - start
            await app.workers.wait_for_complete()
            await pilot.pause()
            articles = app.screen.articles
            if not articles.by_story:
                raise RuntimeError("the list shows one row per article, not per story")
            await _moves(app, pilot, recorder, figures.keys, presses)
            for _ in range(presses):
                index = next(i for i in range(articles.cursor + 1, articles.row_count) if articles.is_story_row(i))
                articles.move_to(index)
                await pilot.pause()
                rows = articles.row_count
                figures.keys["z expand"].append(await _timed(app, pilot, recorder, "z", lambda f: bool(f.rows)))
                if articles.row_count <= rows:
                    raise RuntimeError(f"z did not expand the story row {index}")
                figures.keys["z fold"].append(await _timed(app, pilot, recorder, "z", lambda f: bool(f.rows)))
                if articles.row_count != rows:
                    raise RuntimeError(f"z did not fold the story row {index}")
            await _next_unread(app, pilot, recorder, figures.keys, presses)
            await pilot.press("V")  # one row per article: the reference, under the same load
            while articles.by_story:
                await pilot.pause(0.05)
            articles.move_to(0)
            await _moves(app, pilot, recorder, figures.plain, presses)
            await _next_unread(app, pilot, recorder, figures.plain, presses)
            await pilot.press("V")  # back to stories: the data dir is reused
    finally:
        recorder.close()
        store.close()
    return figures


async def _moves(app, pilot, recorder: FrameRecorder, keys: dict[str, list[float]], presses: int) -> None:
    """j then k, `presses` each, each timed to the frame drawing the cursor on its new row."""
    articles = app.screen.articles
    for key in ("j", "k"):
        for _ in range(presses):
            target = articles.cursor + (1 if key == "j" else -1)
            keys[key].append(await _timed(app, pilot, recorder, key, lambda f, t=target: (t, True) in f.rows))


async def _next_unread(app, pilot, recorder: FrameRecorder, keys: dict[str, list[float]], presses: int) -> None:
    """n, `presses` times, each timed to the frame drawing the cursor on the unread row found (and opened)."""
    articles = app.screen.articles
    for _ in range(presses):
        before = articles.cursor
        keys["n"].append(await _timed(app, pilot, recorder, "n",
                                      lambda f: any(selected for _, selected in f.rows) and articles.cursor != before))


async def _timed(app, pilot, recorder: FrameRecorder, key: str, drawn) -> float:
    """Milliseconds from pressing `key` to the first frame after it for which `drawn(frame)` holds."""
    since = len(recorder.frames)
    pressed = time.perf_counter()
    await pilot.press(key)
    frame = await recorder.first(drawn, since, timeout=10)
    if frame is None:
        raise RuntimeError(f"no frame answered {key}")
    await asyncio.sleep(PREVIEW_DELAY + 0.1)  # the reading pane follows the cursor: not into the next press
    await app.workers.wait_for_complete()
    await pilot.pause()
    return (frame.at - pressed) * 1000


def figure_rows(figures: StoryFigures) -> list[tuple[str, str, str, str]]:
    rows = [("start → first paint of story rows, headless (app only)", f"{figures.first_paint:.2f} s", "", "")]
    for label, keys in (("story rows", figures.keys), ("one row per article (V), same run", figures.plain)):
        for name, ms in keys.items():
            p95 = percentile(ms, 0.95)
            rows.append((f"{name}: keypress → frame, {label}, p50 / p95", f"{percentile(ms, 0.5):.0f} / {p95:.0f} ms",
                         "< 50 ms", "ok" if p95 < KEY_TARGET_MS else "MISSED"))  # fmt: skip
    return rows


def markdown_section(articles: int, stories: tuple[int, int], rows, presses: int, load: tuple[float, float]) -> str:
    table = "\n".join(f"| {what} | {figure} | {target} | {result} |" for what, figure, target, result in rows)
    return f"""{SECTION}

`benchmarks/bench_tui_stories.py` (`python -m benchmarks tui_stories`): the TUI's keys over
story rows (one row per story, the default), beside the TUI section's start-up and plain keys.

**Setup.** The TUI section's library ({articles:,} articles, 60% read), grouped into stories by the
real grouper as it is built (events covered by 1 to 8 outlets):
{stories[0]:,} story rows, {stories[1]:,} of them of several articles.

**Measuring.** Headless, {PTY_COLUMNS}×{PTY_ROWS}, with the TUI section's frame recorder: each key
from `pilot.press` to the first frame that draws its answer; {presses} presses each. `j`/`k` move
over story rows (each row's unread mark is whether any article the row stands for is unread,
read with the rows' window); `z` expands the next story row of several articles (reading its
articles) and folds it again; `n` finds the next unread row and opens it, marking the story
read.

**Figures** ({datetime.now():%Y-%m-%d}; 1-minute load average {load[0]:.1f} before, {load[1]:.1f} after):

| what | figure | target | result |
| --- | ---: | --- | --- |
{table}

`n` first looks among the rows the list has already read to draw them (a window of ~200 rows
around the screen, each knowing whether it, or any article its story row stands for, is
unread): with 60% of the articles read the next unread row is almost always there, and the
cursor moves in the key's own frame, then the article opens (marked read) in the next. Only
when the rows ahead are not read yet does a worker look through the view 500 rows at a time
(a few tens of ms more).
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks tui_stories", description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000, help="articles in the store (default 100000)")
    parser.add_argument("--presses", type=int, default=40, help="presses of each key (default 40)")
    parser.add_argument("--rebuild", action="store_true", help="build the cached data dir afresh")
    parser.add_argument("--no-write", action="store_true", help=f"do not write the figures into {DOCS.name}")
    args = parser.parse_args(argv)

    data = build_data_dir(RESULTS / f"tui-stories-{args.articles}", args.articles, rebuild=args.rebuild)
    default_view(data.settings)
    stories = put_in_stories(data.settings)
    load_before = os.getloadavg()[0]
    try:
        figures = asyncio.run(measure(data.settings, args.presses))
    except RuntimeError as exc:
        print(f"check failed: {exc}", file=sys.stderr)
        return 1
    rows = figure_rows(figures)
    print_table(args.articles, rows)
    print(f"  story rows: {stories[0]:,}, of several articles: {stories[1]:,}")
    if not args.no_write:
        load = (load_before, os.getloadavg()[0])
        write_section(markdown_section(args.articles, stories, rows, args.presses, load), DOCS, SECTION)
        print(f"\nwrote the figures into {DOCS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
