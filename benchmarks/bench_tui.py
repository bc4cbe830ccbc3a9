"""TUI benchmark: start to first paint, and keypress to update, with 100,000 articles in the store.

    python -m benchmarks tui                      # 100k articles, cached data dir, figures into docs/benchmarks.md
    python -m benchmarks tui --articles 20000 --presses 30 --no-write
    python -m benchmarks tui --rebuild            # build the cached data dir afresh

The data dir (store, full index, the bundled rules) is built once under
benchmarks/results/ and reused. Measured:

- in a real terminal (a pty): `reader` spawned to the first article title on
  the screen — interpreter start and imports included, as a user sees it — and
  each key press (j, PageDown) to the first screen bytes of the answer;
- headless, in this process (Textual's `App.run_test`): app start to the first
  frame in which the article list draws rows; each key press to the frame that
  draws the cursor on its new row, and to the frame showing that article in
  the reading pane.

How the figures are taken, and the latest ones, are in docs/benchmarks.md (TUI).
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import hashlib
import json
import os
import pty
import random
import re
import select
import shutil
import statistics
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import reader.index
import reader.store
import reader.stories
from reader.config import BUNDLED_RULES, Settings, load_settings
from reader.firstrun import SEEDED_KEY
from reader.index import SearchIndex
from reader.models import ParsedArticle
from reader.rules import seed_rules
from reader.store import ArticleFilter, Store

RESULTS = Path(__file__).resolve().parent / "results"
FIRST_PAINT_TARGET = 0.6  # seconds
KEY_TARGET_MS = 50.0  # p95
PREVIEW_DELAY_MS = 120  # reader.tui.screens.main.PREVIEW_DELAY: the reading pane waits for the cursor to rest
KEYS = {"j": b"j", "k": b"k", "pagedown": b"\x1b[6~"}  # Textual's key name -> what a terminal sends
QUIT_TIMEOUT = 60.0  # seconds an app may take to exit after Q
TITLE_PREFIX = 16  # characters of a title looked for on screen: the list truncates long ones
ARTICLES_PER_FEED = 1000
GROUPS = ("Tech", "Policy", "Science", "Business")
READ_SHARE = 0.6  # of articles already read: a library in use, not a fresh import
STARRED_SHARE = 0.01

# Headlines are assembled from these, so titles look like news and queries find things.
SUBJECTS = (
    "Nvidia", "DeepSeek", "TSMC", "Huawei", "The Commerce Department", "EU regulators", "OpenAI", "Samsung",
    "A Shenzhen start-up", "Intel", "The FTC", "Japan's trade ministry", "Microsoft", "Alibaba Cloud", "ASML",
    "Lawmakers", "A university lab", "Meta", "Google", "SMIC",
)  # fmt: skip
VERBS = (
    "unveils", "delays", "wins approval for", "is sued over", "doubles spending on", "warns about",
    "cuts prices of", "faces questions on", "signs a deal for", "scraps plans for", "opens an inquiry into",
)  # fmt: skip
OBJECTS = (
    "export controls on AI chips", "its next accelerator", "an open-weights model", "H20 shipments",
    "a new data centre", "the AI Act's codes of practice", "chip subsidies", "the entity list",
    "high-bandwidth memory supply", "a RISC-V design", "cloud GPU rentals", "privacy rules",
    "its quarterly results", "advanced packaging capacity", "a licence requirement",
)  # fmt: skip
EVENT_SIZES, EVENT_WEIGHTS = (1, 2, 3, 4, 6, 8), (60, 20, 10, 5, 3, 2)  # outlets covering one event
SYLLABLES = tuple(c + v for c in "bdfgklmnprstvz" for v in "aeiou")  # made-up words, 70 syllables
FILLER = (
    "the company said in a statement on its results call that demand remained strong across regions while "
    "analysts expect supply to stay tight until new capacity arrives later in the year and officials declined "
    "to comment on the timing of further rules or on talks with partners about enforcement and licences"
).split()


@dataclass(frozen=True)
class DataDir:
    """A built data dir and what the measurements need to know about it."""

    settings: Settings
    articles: int
    newest_titles: tuple[str, ...]  # the first rows of the list, newest first


def build_data_dir(root: Path, articles: int, *, rebuild: bool = False, seed: int = 11) -> DataDir:
    """A data dir with `articles` articles, indexed, and the bundled rules.

    Reused while the code that wrote it (the store's and the index's formats)
    is unchanged; rebuilt otherwise.
    """
    settings = load_settings(data_dir=root / "data", config_dir=root / "config", rules_dir=root / "rules")
    marker = root / "built.json"
    wanted = {"articles": articles, "code": _storage_code_hash()}
    if rebuild or _read_marker(marker) != wanted:
        _clear(root)
        start = time.perf_counter()
        _fill_store(settings, articles, random.Random(seed))
        stored = time.perf_counter()
        _group_all(settings)
        grouped = time.perf_counter()
        _index_all(settings)
        seed_rules(settings.rules_dir, BUNDLED_RULES)
        print(f"built {articles:,} articles in {root}: store {stored - start:.1f} s, stories {grouped - stored:.1f} s, "
              f"index {time.perf_counter() - grouped:.1f} s", flush=True)  # fmt: skip
        marker.write_text(json.dumps(wanted))
    return DataDir(settings, articles, _newest_titles(settings))


def _storage_code_hash() -> str:
    """A hash of the modules that define what is on disk: a change there invalidates the cache."""
    digest = hashlib.sha256()
    modules = [Path(reader.stories.__file__), Path(reader.store.__file__).with_name("schema.py"),
               *sorted(Path(reader.index.__file__).parent.glob("*.py"))]  # fmt: skip
    for path in modules:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _read_marker(marker: Path) -> dict | None:
    try:
        return json.loads(marker.read_text())
    except (OSError, ValueError):
        return None


def _clear(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)


def _fill_store(settings: Settings, articles: int, rnd: random.Random) -> None:
    """About ARTICLES_PER_FEED articles in each feed, inserted a feed per transaction."""
    store = Store(settings.db_path)
    store.set_meta(SEEDED_KEY, "1")  # no first-run import of the bundled (real, online) feeds
    feeds = -(-articles // ARTICLES_PER_FEED)
    by_feed: list[list[ParsedArticle]] = [[] for _ in range(feeds)]
    for feed, article in _events(articles, feeds, datetime.now(UTC).replace(microsecond=0), rnd):
        by_feed[feed].append(article)
    for n, items in enumerate(by_feed):
        # Port 9 (discard) refuses connections at once: a refresh, if one starts, fails fast and offline.
        feed, _ = store.add_feed(f"http://127.0.0.1:9/feed-{n}.xml", f"Benchmark feed {n}", GROUPS[n % len(GROUPS)])
        store.upsert_articles(feed.id, items, fulltext=False, canonical={})
    ids = sorted(store.article_ids_in(ArticleFilter()))
    store.set_read([i for i in ids if rnd.random() < READ_SHARE])
    for i in rnd.sample(ids, int(len(ids) * STARRED_SHARE)):
        store.set_starred(i, True)
    store.close()


def _events(articles: int, feeds: int, now: datetime, rnd: random.Random) -> Iterator[tuple[int, ParsedArticle]]:
    """`articles` articles as news comes: events over two years, each covered by 1 to 8 outlets (most by one)
    within hours, in words of its own (a made-up place, names) over shared filler, so that the grouper makes
    stories of a few articles as on real feeds."""
    made = 0
    while made < articles:
        size = min(articles - made, rnd.choices(EVENT_SIZES, EVENT_WEIGHTS)[0])
        when = now - timedelta(minutes=rnd.randrange(2 * 365 * 24 * 60))
        place, *names = (_word(rnd).capitalize() for _ in range(4))
        own = [_word(rnd) for _ in range(30)]
        what = f"{rnd.choice(OBJECTS)} in {place}"
        for feed in rnd.sample(range(feeds), size):
            title = f"{rnd.choice(SUBJECTS)} {rnd.choice(VERBS)} {what}"
            body = " ".join([*names, *rnd.sample(own, 20), *rnd.choices(FILLER, k=60)])
            yield feed, ParsedArticle(
                key=f"a{made}", title=title, link=f"http://127.0.0.1:9/feed-{feed}/{made}",
                published=when + timedelta(minutes=rnd.randrange(6 * 60)),
                summary=body[:200], content=f"{title}. {body}.", content_hash=f"a{made}",
            )  # fmt: skip
            made += 1


def _word(rnd: random.Random) -> str:
    return "".join(rnd.choice(SYLLABLES) for _ in range(rnd.randrange(2, 5)))


def _group_all(settings: Settings) -> None:
    """Group every article into its story, as the pipeline does after storing them."""
    from reader.ingest import group_stories

    store = Store(settings.db_path)
    group_stories(store)
    store.close()


def _index_all(settings: Settings) -> None:
    """Index every article in one streaming add (segments built by worker processes), as a rebuild does."""
    store = Store(settings.db_path)
    index = SearchIndex(settings.index_dir)
    store.mark_indexed(index.add(store.all_index_rows()))
    index.close()
    store.close()


def default_view(settings: Settings) -> None:
    """One row per story, all articles (the defaults): a run cut short may have left V or U on."""
    from reader.tui.library import PLAIN_KEY, UNREAD_ONLY_KEY

    store = Store(settings.db_path)
    try:
        store.set_meta(PLAIN_KEY, "0")
        store.set_meta(UNREAD_ONLY_KEY, "0")
    finally:
        store.close()


def _newest_titles(settings: Settings, count: int = 5) -> tuple[str, ...]:
    store = Store(settings.db_path)
    try:
        return tuple(a.title for a in store.iter_articles(limit=count))
    finally:
        store.close()


# -- in a real terminal -------------------------------------------------------------------

PTY_ROWS, PTY_COLUMNS = 40, 120
# Escape sequences (CSI, OSC, others) and the control characters between them: what is
# left is the text Textual wrote, a line's segments in order.
_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]|[\x00-\x1f]")


class Terminal:
    """A command running on a pseudo-terminal, its screen output read with timestamps."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", PTY_ROWS, PTY_COLUMNS, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.fd = master
        self.output = bytearray()

    def read(self, timeout: float) -> tuple[bytes, float] | None:
        """The next chunk of output and when it arrived, or None after `timeout` s of silence."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the child closed the terminal
            return None
        self.output += chunk
        return chunk, time.perf_counter()

    def wait_for_text(self, texts: Sequence[str], timeout: float) -> float | None:
        """Seconds from spawn until one of `texts` is on the screen, or None."""
        needles = [t.encode() for t in texts]
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            got = self.read(deadline - time.perf_counter())
            if got is None:
                return None
            screen = _ESCAPES.sub(b"", bytes(self.output))
            if any(needle in screen for needle in needles):
                return got[1] - self.started
        return None

    def settle(self, quiet: float = 0.3, limit: float = 10.0) -> None:
        """Read until the screen has been still for `quiet` s (or `limit` s have passed)."""
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline and self.read(quiet) is not None:
            pass

    def press(self, key: bytes, timeout: float = 5.0) -> float | None:
        """Milliseconds from writing `key` to the first bytes of the screen's response."""
        sent = time.perf_counter()
        os.write(self.fd, key)
        got = self.read(timeout)
        return None if got is None else (got[1] - sent) * 1000

    def close(self) -> tuple[int, float]:
        """Quit the app (Q, from any pane): its exit code, and seconds from Q to exit (killed after a minute)."""
        pressed = time.perf_counter()
        os.write(self.fd, b"Q")
        while self.proc.poll() is None and time.perf_counter() - pressed < QUIT_TIMEOUT:
            self.read(0.05)  # keep draining the screen: a full pty would block the app
        if self.proc.poll() is None:
            self.proc.kill()
        code = self.proc.wait()
        os.close(self.fd)
        return code, time.perf_counter() - pressed


def spawn_to_paint(argv: Sequence[str], env: dict[str, str], titles: Sequence[str]) -> tuple[Terminal, float | None]:
    """Start `argv` on a pty; seconds until one of `titles` (a row of the list) is on screen."""
    terminal = Terminal(argv, env)
    return terminal, terminal.wait_for_text([t[:TITLE_PREFIX] for t in titles], timeout=60)


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, every thread) a live process has used: what a loaded machine does not inflate."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


def peak_rss_mib(pid: int) -> float | None:
    """A live process's peak resident set (VmHWM), in MiB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


@dataclass
class PtyFigures:
    first_paint: list[float]  # seconds, spawn to a list row on screen, one per start
    paint_cpu: list[float]  # CPU seconds the process had used by then
    imports: list[float]  # seconds, spawn to exit of a process that only imports the TUI
    keys: dict[str, list[float]]  # key name -> ms to the screen's first response bytes
    peak_rss: float | None  # MiB, the TUI process
    early_quit: list[float]  # seconds from Q, pressed at first paint, to the process's exit


def measure_pty(data: DataDir, *, starts: int, presses: int) -> PtyFigures:
    s = data.settings
    reader = [sys.executable, "-m", "reader", "--data-dir", str(s.data_dir), "--config-dir", str(s.config_dir),
              "--rules", str(s.rules_dir)]  # fmt: skip
    env = {**os.environ, "TERM": "xterm-256color"}
    for name in ("COLUMNS", "LINES", "READER_DATA_DIR", "READER_CONFIG_DIR", "READER_RULES_DIR"):
        env.pop(name, None)
    imports = [_time_to_exit([sys.executable, "-c", "import reader.cli, reader.firstrun, reader.tui.app"], env)
               for _ in range(starts)]  # fmt: skip
    figures = PtyFigures([], [], imports, {name: [] for name in KEYS}, None, [])
    for attempt in range(starts):
        last = attempt == starts - 1  # one run's keys are enough; the others quit at first paint
        terminal, painted = spawn_to_paint(reader, env, data.newest_titles)
        try:
            if painted is None:
                raise RuntimeError("the article list never showed a row; output ends with "
                                   f"{_ESCAPES.sub(b' ', bytes(terminal.output[-400:]))!r}")  # fmt: skip
            figures.first_paint.append(painted)
            used = cpu_seconds(terminal.proc.pid)
            if used is not None:
                figures.paint_cpu.append(used)
            if last:
                terminal.settle(quiet=0.5, limit=30)  # until start-up work (counts, rules) is done
                for name, key in KEYS.items():
                    figures.keys[name] = [_answered(terminal, name, key) for _ in range(presses)]
                figures.peak_rss = peak_rss_mib(terminal.proc.pid)
        finally:
            code, quitting = terminal.close()
        if not last:
            figures.early_quit.append(quitting)
        if code != 0:
            raise RuntimeError(f"the reader exited with {code}; output ends with {bytes(terminal.output[-400:])!r}")
    return figures


def _answered(terminal: Terminal, name: str, key: bytes) -> float:
    """One press's latency in ms, once the screen has settled after it."""
    latency = terminal.press(key)
    if latency is None:
        raise RuntimeError(f"pressing {name} changed nothing on the screen")
    terminal.settle(quiet=0.25, limit=5)
    return latency


def _time_to_exit(argv: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True)
    return time.perf_counter() - start


# -- headless, in process -----------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """One frame the app sent to its (headless) display: the list rows drawn for it, and the screen's state."""

    at: float
    rows: tuple[tuple[int, bool], ...]  # (row index, drawn as the cursor)
    reader_article: int | None  # the article the reading pane showed
    state: tuple  # what `screen_state` said as the frame was displayed
    cpu: float = 0.0  # the main thread's CPU seconds (`time.thread_time`) as it was displayed


def screen_state(screen) -> tuple:
    """What a key press may change: the list's rows (which list object, how many, plain or by story), the
    focused pane, whether the search box is open and what it holds."""
    articles = getattr(screen, "articles", None)
    if articles is None:
        return ()
    bar = screen.search_bar
    return (id(articles.ids), articles.row_count, screen.plain, screen.focused, bar.is_open, bar.input.value)


LIST_IDS, ROW_COUNT, PLAIN, FOCUSED, SEARCH_OPEN, SEARCH_TEXT = range(6)  # indexes into a Frame's state


@dataclass
class HeadlessFigures:
    first_paint: list[float]  # seconds, app start to the first frame with list rows, one per start
    settled: list[float]  # seconds, app start until its start-up workers (counts, rules) finished
    keys: dict[str, list[float]]  # key name -> ms from the press to the first frame that shows its effect
    preview: list[float]  # ms from a j press to the frame with that article in the reading pane
    cpu: dict[str, list[float]] = field(default_factory=dict)  # key name -> the main thread's CPU ms to the frame


class FrameRecorder:
    """Instruments one app: which list rows each frame drew, and when the frame was displayed."""

    def __init__(self, app) -> None:
        from reader.tui.widgets.article_list import ArticleList

        self.frames: list[Frame] = []
        self._rows: list[tuple[int, bool]] = []
        self._list_class = ArticleList
        self._render_row = ArticleList.render_row
        display = app._display
        recorder = self

        def render_row(widget, index: int, width: int, selected: bool):
            recorder._rows.append((index, selected))
            return recorder._render_row(widget, index, width, selected)

        def record_display(screen, renderable) -> None:
            reader_pane = getattr(screen, "reader", None)
            article = getattr(reader_pane, "article", None)
            recorder.frames.append(Frame(time.perf_counter(), tuple(recorder._rows), article.id if article else None,
                                         screen_state(screen), time.thread_time()))  # fmt: skip
            recorder._rows.clear()
            display(screen, renderable)

        ArticleList.render_row = render_row  # undone in close()
        app._display = record_display

    def close(self) -> None:
        self._list_class.render_row = self._render_row

    async def first(self, predicate, since: int = 0, timeout: float = 30.0) -> Frame | None:
        """The first frame from index `since` on that satisfies `predicate`, waiting for it if need be."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            found = next((f for f in self.frames[since:] if predicate(f)), None)
            if found is not None:
                return found
            await asyncio.sleep(0.001)
        return None


# Each key measured headless, in the order pressed (a round leaves the screen as it found it), with what
# the key must show: the frame that does is the answer. `query` is typed into the search box.
QUERY = "nvidia"
HEADLESS_KEYS = ("j", "k", "pagedown", "enter", "q", "slash", "type", "search", "escape", "z", "z again",
                 "V", "V again")  # fmt: skip
KEY_NAMES = {
    "j": "j (cursor down)", "k": "k (cursor up)", "pagedown": "PageDown", "enter": "Enter (open the article)",
    "q": "q (back to the list)", "slash": "/ (open the search box)", "type": "a letter typed in the search box",
    "search": f"Enter on `{QUERY}` → first matches listed", "escape": "Esc (close the search, the list again)",
    "z": "z (expand a story)", "z again": "z (fold it)", "V": "V (one row per article)",
    "V again": "V (one row per story again)",
}  # fmt: skip


async def measure_headless(data: DataDir, *, starts: int, presses: int) -> HeadlessFigures:
    figures = HeadlessFigures([], [], {name: [] for name in HEADLESS_KEYS}, [])
    for attempt in range(starts):
        await _headless_run(data, figures, presses if attempt == starts - 1 else 0)
    return figures


async def _headless_run(data: DataDir, figures: HeadlessFigures, presses: int) -> None:
    """Start the app as `run_tui` does, time its first paint and start-up work, then `presses` rounds of keys."""
    from reader.tui.app import ReaderApp
    from reader.tui.library import Library

    start = time.perf_counter()
    store = Store(data.settings.db_path)
    app = ReaderApp(Library(data.settings, store))
    recorder = FrameRecorder(app)
    try:
        async with app.run_test(size=(PTY_COLUMNS, PTY_ROWS)) as pilot:
            painted = await recorder.first(lambda f: bool(f.rows))
            if painted is None:
                raise RuntimeError("headless: the article list never drew a row")
            figures.first_paint.append(painted.at - start)
            await _settle(app, pilot)
            figures.settled.append(time.perf_counter() - start)
            for _ in range(presses):
                await _round(app, pilot, recorder, figures)
    finally:
        recorder.close()
        store.close()


async def _settle(app, pilot) -> None:
    """Until the app's workers are done and their messages handled (a view's rows come in two steps)."""
    for _ in range(20):
        await app.workers.wait_for_complete()
        await pilot.pause(0.05)
        if not any(w.is_running for w in app.workers):
            return


async def _round(app, pilot, recorder: FrameRecorder, figures: HeadlessFigures) -> None:
    """One press of each key, each timed to the first frame showing its effect."""
    screen = app.screen
    articles = screen.articles

    async def timed(name: str, key: str, shown) -> Frame:
        since = len(recorder.frames)
        pressed, cpu = time.perf_counter(), time.thread_time()
        await pilot.press(key)
        frame = await recorder.first(shown, since, timeout=30)
        if frame is None:
            raise RuntimeError(f"headless: no frame showed the effect of {KEY_NAMES[name]}")
        figures.keys[name].append((frame.at - pressed) * 1000)
        figures.cpu.setdefault(name, []).append((frame.cpu - cpu) * 1000)
        await _settle(app, pilot)
        return frame

    def cursor_on(row: int):
        return lambda f: (row, True) in f.rows

    before = articles.cursor
    since = len(recorder.frames)
    pressed = time.perf_counter()
    await timed("j", "j", cursor_on(before + 1))
    shown = await recorder.first(lambda f: f.reader_article == articles.current_id, since, timeout=5)
    if shown is None:
        raise RuntimeError("headless: the reading pane never showed the article under the cursor")
    figures.preview.append((shown.at - pressed) * 1000)
    await timed("k", "k", cursor_on(before))
    await timed("pagedown", "pagedown", cursor_on(articles.cursor + articles.page_height))
    line = articles.current_line()  # Enter on a story row opens its first unread article
    row = {line.id, *(i for i, _, _ in screen.library.row_articles(line, screen.scope))} if screen.scope else {line.id}
    await timed("enter", "enter", lambda f: f.reader_article in row and f.state[FOCUSED] is screen.reader)
    await timed("q", "q", lambda f: f.state[FOCUSED] is articles)
    await timed("slash", "slash", lambda f: f.state[SEARCH_OPEN])
    for letter in QUERY[:-1]:
        await pilot.press(letter)
    await timed("type", QUERY[-1], lambda f: f.state[SEARCH_TEXT] == QUERY)
    listed = id(articles.ids)
    await timed("search", "enter", lambda f: f.state[LIST_IDS] != listed and f.rows)
    listed = id(articles.ids)
    await timed("escape", "escape", lambda f: f.state[LIST_IDS] != listed and not f.state[SEARCH_OPEN] and f.rows)
    story = next((i for i in range(articles.cursor, articles.row_count) if articles.story_size(articles.ids[i]) > 1),
                 None)  # fmt: skip
    if story is None:
        raise RuntimeError("headless: no story of several articles below the cursor to expand")
    articles.move_to(story)
    await _settle(app, pilot)
    rows = articles.row_count
    await timed("z", "z", lambda f: f.state[ROW_COUNT] > rows)
    await timed("z again", "z", lambda f: f.state[ROW_COUNT] == rows)
    listed = id(articles.ids)  # the list's rows of the other mode, not the old rows drawn again
    await timed("V", "V", lambda f: f.state[PLAIN] and f.state[LIST_IDS] != listed and f.rows)
    listed = id(articles.ids)
    await timed("V again", "V", lambda f: not f.state[PLAIN] and f.state[LIST_IDS] != listed and f.rows)


# -- report -------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
SECTION = "## TUI"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def figure_rows(articles: int, pty_figures: PtyFigures, headless: HeadlessFigures) -> list[tuple[str, str, str, str]]:
    """(what, figure, target, result) rows of the results table."""

    def verdict(value: float, limit: float) -> str:
        return "ok" if value < limit else "MISSED"

    def spread(ms: Sequence[float]) -> tuple[str, float]:
        return f"{percentile(ms, 0.5):.0f} / {percentile(ms, 0.95):.0f} ms", percentile(ms, 0.95)

    paint = statistics.median(pty_figures.first_paint)
    rows = [
        ("start → first paint, terminal (median)", f"{paint:.2f} s", f"< {FIRST_PAINT_TARGET} s",
         verdict(paint, FIRST_PAINT_TARGET)),  # fmt: skip
        ("  CPU time used by then (user + system, median)", f"{statistics.median(pty_figures.paint_cpu):.2f} s", "", ""),
        ("  interpreter start + imports alone (median)", f"{statistics.median(pty_figures.imports):.2f} s", "", ""),
        ("start → first paint, headless (app only, median)", f"{statistics.median(headless.first_paint):.2f} s", "", ""),
        ("start → start-up work done (counts, rules; median)", f"{statistics.median(headless.settled):.2f} s", "", ""),
    ]
    for name in HEADLESS_KEYS:
        shown, p95 = spread(headless.keys[name])
        cpu = (f" (CPU {percentile(headless.cpu[name], 0.5):.0f} / {percentile(headless.cpu[name], 0.95):.0f})"
               if headless.cpu.get(name) else "")  # fmt: skip
        rows.append((f"{KEY_NAMES[name]}: press → frame showing it, headless p50 / p95", shown + cpu, "< 50 ms",
                     verdict(p95, KEY_TARGET_MS)))  # fmt: skip
    for name in KEYS:
        if pty_figures.keys[name]:
            shown, p95 = spread(pty_figures.keys[name])
            rows.append((f"{name}: keypress → screen bytes, terminal p50 / p95", shown, "< 50 ms",
                         verdict(p95, KEY_TARGET_MS)))  # fmt: skip
    shown, _ = spread(headless.preview)
    rows.append((f"j: keypress → article in reading pane (incl. {PREVIEW_DELAY_MS} ms pause)", shown, "", ""))
    if pty_figures.early_quit:
        quit_at = statistics.median(pty_figures.early_quit)
        rows.append(("Q pressed at first paint → process exit, terminal (median)", f"{quit_at:.2f} s", "", ""))
    if pty_figures.peak_rss is not None:
        rows.append(("peak RSS of the TUI process", f"{pty_figures.peak_rss:.0f} MiB", "", ""))
    return rows


def print_table(articles: int, rows: list[tuple[str, str, str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"\nTUI with {articles:,} articles, {PTY_COLUMNS}×{PTY_ROWS} terminal")
    for what, figure, target, result in rows:
        print(f"  {what:<{width}}  {figure:>24}  {target:<8} {result}")


def markdown_section(articles: int, rows: list[tuple[str, str, str, str]], presses: int, starts: int,
                     load: tuple[float, float]) -> str:  # fmt: skip
    table = "\n".join(f"| {what.strip()} | {figure} | {target} | {result} |" for what, figure, target, result in rows)
    return f"""{SECTION}

`benchmarks/bench_tui.py` (`python -m benchmarks tui`).

**Setup.** A data dir with {articles:,} articles in {-(-articles // ARTICLES_PER_FEED)} feeds
(about {ARTICLES_PER_FEED:,} each, four groups), dated over two years: news events each covered by
1 to 8 outlets within hours, in words of their own over shared filler, so that the real grouper
(`ingest.group_stories`, run over them) makes stories of a few articles as on real feeds; {READ_SHARE:.0%}
of the articles read and {STARRED_SHARE:.0%} starred, every one indexed (one streaming
`SearchIndex.add`, as a rebuild does), and the bundled rules (two alert rules and a saved search, so
the sidebar's counts run three searches over the whole index at start). Built once with
`Store.upsert_articles` (a feed per transaction) and cached in `benchmarks/results/` (`--rebuild`
builds it again); its build is not timed here.

**Measuring.**

- *Terminal*: `python -m reader` (no command: the TUI, in its default view, one row per story) on
  a {PTY_COLUMNS}×{PTY_ROWS} pseudo-terminal; first paint is spawn to the moment a title of the list's
  first rows is in the bytes written to the terminal — interpreter start and imports included, as a
  user sees it; median of {starts} starts, with the CPU time (user + system, all threads, from
  `/proc`) the process had used by then: what a busy machine does not inflate. *Interpreter start +
  imports* is spawn to exit of `python -c "import reader.cli, reader.firstrun, reader.tui.app"`.
  Then, once the screen has been still for 0.5 s, {presses} presses each of `j`, `k` and PageDown,
  each timed from writing the key to the first bytes of the screen's answer, with a pause for the
  screen to settle between presses. Peak RSS is the TUI process's `VmHWM` before it quits.
- *Headless* (Textual's `App.run_test`, in the benchmark's process): the app constructed the
  way `run_tui` does; `ArticleList.render_row` and `App._display` are wrapped to record which
  rows each frame drew, what the screen held (the list's rows, the focused pane, the search box)
  and when the frame was handed to the display. First paint is opening the store to the first
  frame with list rows (median of {starts} starts; imports already done); start-up work lasts until
  the app's workers (the sidebar's counts, the rules) have finished. Then {presses} rounds of every
  key below, each press timed from `pilot.press` to the first frame showing its effect (the cursor
  on its new row, the article in the reading pane with the focus there, the list's focus back, the
  search box open, the letter in it, the matches listed, the list without the search, the story's
  rows expanded or folded, the list in the other mode), with the main thread's CPU time from the
  press to that frame (p50 / p95, `time.thread_time`: the event loop's own work, which a loaded
  machine inflates far less than the wall time; worker threads not included). The reading pane follows the cursor after a
  {PREVIEW_DELAY_MS} ms pause (so holding `j` does not load every article); its figure is press to
  the frame showing the new article.

A key press meets its target when its p95 does: the slow presses are the ones a user notices.

**Figures** ({datetime.now().strftime("%Y-%m-%d")}; the shared 2-core machine described above, with a
1-minute load average of {load[0]:.1f} before the run and {load[1]:.1f} after it: other jobs move
these figures by tens of percent between runs):

| what | figure | target | result |
| --- | ---: | --- | --- |
{table}
"""


def write_section(section: str, path: Path = DOCS, heading: str = SECTION) -> None:
    """Put `section` in place of the file's `heading` section (`## TUI`), or at its end."""
    text = path.read_text(encoding="utf-8")
    start = text.find(f"\n{heading}\n")
    if start == -1:
        path.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")
        return
    following = text.find("\n## ", start + 1)
    rest = text[following:] if following != -1 else ""
    path.write_text(text[: start + 1] + section + rest, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks tui", description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000, help="articles in the store (default 100000)")
    parser.add_argument("--presses", type=int, default=40, help="presses of each key (default 40)")
    parser.add_argument("--starts", type=int, default=3, help="starts of each kind, for first paint (default 3)")
    parser.add_argument("--rebuild", action="store_true", help="build the cached data dir afresh")
    parser.add_argument("--no-write", action="store_true", help=f"do not write the figures into {DOCS.name}")
    args = parser.parse_args(argv)

    data = build_data_dir(RESULTS / f"tui-{args.articles}", args.articles, rebuild=args.rebuild)
    default_view(data.settings)
    load_before = os.getloadavg()[0]
    try:
        pty_figures = measure_pty(data, starts=args.starts, presses=args.presses)
        headless = asyncio.run(measure_headless(data, starts=args.starts, presses=args.presses))
    except RuntimeError as exc:
        print(f"check failed: {exc}", file=sys.stderr)
        return 1
    rows = figure_rows(args.articles, pty_figures, headless)
    print_table(args.articles, rows)
    if not args.no_write:
        load = (load_before, os.getloadavg()[0])
        write_section(markdown_section(args.articles, rows, args.presses, args.starts, load))
        print(f"\nwrote the figures into {DOCS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
