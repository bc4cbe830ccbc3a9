"""Fetch benchmark: the reader against newsboat on the same locally served feeds, in the same run.

    python -m benchmarks fetch            # cold, warm and real, 3 repeats, medians
    python -m benchmarks fetch --quick    # a small sanity check (30 feeds × 5 items, 1 repeat)

Scenarios:
  cold  N synthetic feeds × M items at a fixed server latency, into a fresh data dir / cache
  warm  the same again right after: every feed answers 304 Not Modified
  real  the real-world feed files of /work/shared/benchdata/realfeeds, served locally, cold

What is measured, per command: wall time from spawn to exit (interpreter start
included — it is what a user waits for), CPU seconds (user + system, from
wait4: the command and the children it reaped, the reader's pool workers
included; the figure to compare on a busy machine) and peak memory. Memory is
the peak of the *sum of PSS* (proportional set size) over the command's whole
process tree, sampled every 20 ms from /proc: the reader runs a main process
plus, when there is CPU work, two spawned pool workers and multiprocessing's
resource tracker, and PSS splits pages they share among them instead of
counting them once per process as RSS would. The details also give wait4's
exact ru_maxrss: the largest of the main process and the workers it reaped.
The reader's modules are byte-compiled first, as an install would leave them.

The reader is checked as well as timed: cold must report every feed "ok" and
N×M new articles, warm every feed "not-modified" — and the server's own counts
must show the warm run got 304s (not identical 200s). Newsboat is checked the
same way through the server's counts and its cache. Exit code 1 if a check
fails; a missed target is reported, not an error (these are shared machines).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

from .feedserver import REAL_FEEDS_DIR, REPO_ROOT, FeedServer, ServerOptions, is_json_feed

NEWSBOAT = "/usr/bin/newsboat"
SAMPLE_INTERVAL = 0.02  # seconds between memory samples
MIB = 1024 * 1024
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")

# -- measuring one command ------------------------------------------------------------


@dataclass
class Sample:
    """One timed run of a command."""

    wall: float  # seconds, spawn to exit
    peak_mib: float  # peak of the summed PSS of the process tree
    main_rss_mib: float  # wait4's ru_maxrss: the largest of the main process and the pool workers it reaped
    processes: int  # distinct processes seen in the tree
    cpu: float  # user + system seconds of the command and the children it reaped (the reader's pool workers)
    returncode: int
    stdout: str
    stderr: str


def child_pids(pid: int) -> list[int]:
    """Direct children of `pid`, from every one of its threads (a child belongs to the thread that forked it)."""
    children: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                children += [int(c) for c in fh.read().split()]
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass  # the process (or thread) ended between two reads
    return children


def process_tree(root: int) -> list[int]:
    tree, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        tree.append(pid)
        frontier += child_pids(pid)
    return tree


def pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


class TreeMemorySampler(threading.Thread):
    """Samples the summed PSS of a process and all its descendants until stopped."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root = root
        self.peak = 0
        self.seen: set[int] = set()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            pids = process_tree(self.root)
            self.seen.update(pids)
            self.peak = max(self.peak, sum(pss_bytes(pid) for pid in pids))
            self.stopped.wait(SAMPLE_INTERVAL)

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def run_measured(command: Sequence[str], env: dict[str, str], cwd: Path, timeout: float = 600) -> Sample:
    """Run `command` to completion, timing it and sampling its process tree's memory."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        sampler = TreeMemorySampler(process.pid)
        sampler.start()
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        _, status, usage = os.wait4(process.pid, 0)  # wait4, not wait: it gives the exact ru_maxrss
        wall = time.perf_counter() - start
        timer.cancel()
        sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
        return Sample(wall, sampler.peak / MIB, usage.ru_maxrss * 1024 / MIB, len(sampler.seen),
                      usage.ru_utime + usage.ru_stime, process.returncode, read_back(out), read_back(err))  # fmt: skip


def compile_bytecode(python: str) -> None:
    """Byte-compile the reader's modules, as pip does when it installs a package: where
    PYTHONDONTWRITEBYTECODE is set (as on the team's machines), every run would otherwise
    compile ~50 of them from source (~0.15 s of start-up a user never pays)."""
    subprocess.run([python, "-m", "compileall", "-q", str(REPO_ROOT / "reader")], check=True,
                   stdout=subprocess.DEVNULL, timeout=300)  # fmt: skip


def read_back(file) -> str:
    file.seek(0)
    return file.read().decode(errors="replace")


def quiet_env(**extra: str) -> dict[str, str]:
    """The environment for a measured client: ours, minus any proxy (everything stays on 127.0.0.1)."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    env["no_proxy"] = env["NO_PROXY"] = "*"
    return {**env, **extra}


# -- what the server saw --------------------------------------------------------------


def server_counts(server: FeedServer) -> Counter[str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(server.layout.stats_url(), timeout=10) as response:
        return Counter(json.load(response))


@dataclass
class Run:
    """A measured client run, with what the server answered during it and the checks it passed or failed."""

    client: str  # "reader" or "newsboat"
    scenario: str
    sample: Sample
    served: Counter[str]
    problems: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # the reader's own JSON timings
    statuses: Counter[str] = field(default_factory=Counter)  # the reader's per-feed statuses
    articles: int = 0  # new articles the client stored


def measured_run(server: FeedServer, client: str, scenario: str, command: Sequence[str], env: dict[str, str],
                 cwd: Path) -> Run:  # fmt: skip
    before = server_counts(server)
    sample = run_measured(command, env, cwd)
    served = server_counts(server)
    served.subtract(before)
    run = Run(client, scenario, sample, +served)
    if sample.returncode != 0:
        run.problems.append(f"exit code {sample.returncode}: {sample.stderr.strip()[-500:]}")
    return run


def expect(run: Run, condition: bool, problem: str) -> None:
    if not condition:
        run.problems.append(problem)


# -- the reader -----------------------------------------------------------------------


def write_opml(path: Path, urls: Sequence[str]) -> None:
    outlines = "\n".join(f"    <outline type=\"rss\" text={quoteattr(f'feed {k}')} xmlUrl={quoteattr(url)}/>"
                         for k, url in enumerate(urls))  # fmt: skip
    path.write_text(f'<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0"><head><title>benchmark</title>'
                    f"</head><body>\n{outlines}\n</body></opml>\n", encoding="utf-8")  # fmt: skip


class ReaderClient:
    """The reader, run as a user would: `python -m reader --data-dir DIR …` in a subprocess."""

    def __init__(self, workdir: Path, urls: Sequence[str], python: str, may_fail: frozenset[str] = frozenset()):
        workdir.mkdir(parents=True, exist_ok=True)
        self.may_fail = may_fail  # feeds in a format newsboat does not read (JSON Feed), not held against either
        self.data_dir = workdir / "data"
        self.env = quiet_env(READER_CONFIG_DIR=str(workdir / "config"), READER_RULES_DIR=str(workdir / "rules"))
        self.urls = urls
        self.python = python
        self.opml = workdir / "feeds.opml"

    def command(self, *args: str) -> list[str]:
        return [self.python, "-m", "reader", "--data-dir", str(self.data_dir), *args]

    def subscribe(self) -> None:
        write_opml(self.opml, self.urls)
        done = subprocess.run(self.command("feeds", "import", str(self.opml)), env=self.env, cwd=REPO_ROOT,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"reader feeds import failed ({done.returncode}): {done.stderr.strip()[-800:]}")

    def fetch(self, server: FeedServer, scenario: str) -> Run:
        command = self.command("fetch", "--no-fulltext", "--json")
        run = measured_run(server, "reader", scenario, command, self.env, REPO_ROOT)
        if run.sample.returncode == 0:
            try:
                report = json.loads(run.sample.stdout)
            except json.JSONDecodeError:
                run.problems.append(f"output is not JSON: {run.sample.stdout[:200]!r}")
            else:
                run.timings = report.get("timings", {})
                run.articles = report.get("new", 0)
                run.statuses = Counter(f.get("status") for f in report.get("feeds", []))
                run.problems += feed_problems(report, len(self.urls), self.may_fail)
        return run


def feed_problems(report: dict, expected_feeds: int, may_fail: frozenset[str]) -> list[str]:
    """Feeds missing from the reader's report or not "ok"/"not-modified", in words."""
    feeds = report.get("feeds", [])
    problems = [] if len(feeds) == expected_feeds else [f"{len(feeds)} feeds reported, {expected_feeds} expected"]
    failed = [f for f in feeds if f.get("status") not in ("ok", "not-modified") and f.get("url") not in may_fail]
    problems += [f"{f.get('url')}: {f.get('status')} {f.get('error') or ''}".strip() for f in failed[:5]]
    if len(failed) > 5:
        problems.append(f"… and {len(failed) - 5} more failed feeds")
    return problems


# -- newsboat -------------------------------------------------------------------------


class NewsboatClient:
    """newsboat 2.x, reloading without its TUI: `newsboat -x reload -u URLS -c CACHE -C CONFIG`."""

    def __init__(self, workdir: Path, urls: Sequence[str], executable: str = NEWSBOAT):
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.urls_file, self.cache, self.config = workdir / "urls", workdir / "cache.db", workdir / "config"
        self.urls_file.write_text("".join(f"{url}\n" for url in urls), encoding="utf-8")
        self.config.write_text("reload-threads 16\n", encoding="utf-8")
        self.urls = urls
        self.executable = executable
        # HOME and XDG dirs in the work dir: newsboat must not read or write the user's own files
        self.env = quiet_env(HOME=str(workdir), XDG_CONFIG_HOME=str(workdir), XDG_DATA_HOME=str(workdir))

    def reload(self, server: FeedServer, scenario: str) -> Run:
        command = [self.executable, "-x", "reload", "-u", str(self.urls_file), "-c", str(self.cache),
                   "-C", str(self.config)]  # fmt: skip
        before = self.stored_articles()
        run = measured_run(server, "newsboat", scenario, command, self.env, self.workdir)
        run.articles = self.stored_articles() - before
        return run

    def stored_articles(self) -> int:
        if not self.cache.exists():
            return 0
        with sqlite3.connect(self.cache) as db:
            return db.execute("SELECT count(*) FROM rss_item").fetchone()[0]

    def feeds_with_validators(self) -> int:
        with sqlite3.connect(self.cache) as db:
            query = "SELECT count(*) FROM rss_feed WHERE etag != '' OR lastmodified != 0"
            return db.execute(query).fetchone()[0]

    def prime_validators(self, server: FeedServer) -> None:
        """Reload until every feed's ETag/Last-Modified is cached.

        newsboat 2.21 saves a feed's validators before the feed's row exists on
        its first reload, so they are lost; only the second reload stores them.
        Without this, its "warm" run would download every feed again.
        """
        if self.feeds_with_validators() < len(self.urls):
            self.reload(server, "prime")


# -- scenarios ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    text: str
    met: Callable[[float, float], bool]  # (reader seconds, newsboat seconds) -> met?


TARGETS = {
    "cold": Target("≥ 2× faster than newsboat", lambda reader, newsboat: newsboat / reader >= 2),
    "warm": Target("reader < 0.5 s", lambda reader, newsboat: reader < 0.5),
    "real": Target("no slower than newsboat", lambda reader, newsboat: newsboat / reader >= 1),
}


def check_cold(run: Run, feeds: int, items: int, feed_kind: str = "feed") -> None:
    """Every feed was sent whole (200); with `items`, every one of its articles was stored."""
    expect(run, run.served.get(f"{feed_kind} 200", 0) == feeds,
           f"server sent {run.served.get(f'{feed_kind} 200', 0)} feeds with 200, expected {feeds}")  # fmt: skip
    if items:
        expect(run, run.articles == feeds * items, f"{run.articles} new articles, expected {feeds * items}")


def check_warm(run: Run, feeds: int) -> None:
    """Every feed was answered 304: the client sent validators the server accepted."""
    answered = run.served.get("feed 304", 0)
    expect(run, answered == feeds, f"server answered {answered} of {feeds} feeds with 304 ({dict(run.served)})")


def synthetic_rounds(args: argparse.Namespace, workdir: Path, wanted: set[str]) -> list[Run]:
    """Cold then warm, reader then newsboat, `repeat` times against one synthetic server."""
    runs: list[Run] = []
    options = ServerOptions(feeds=args.feeds, items=args.items, latency=args.latency, hosts=args.hosts)
    with FeedServer(options) as server:
        urls = server.layout.feed_urls()
        for r in range(args.repeat):
            reader = ReaderClient(workdir / f"reader-{r}", urls, args.python)
            reader.subscribe()
            cold = reader.fetch(server, "cold")
            check_cold(cold, args.feeds, args.items)
            warm = reader.fetch(server, "warm")
            check_warm(warm, args.feeds)
            expect(warm, warm.statuses.get("not-modified", 0) == args.feeds,
                   f"reader statuses {dict(warm.statuses)}, expected all not-modified")  # fmt: skip
            expect(warm, warm.articles == 0, f"{warm.articles} new articles on a warm run")
            newsboat = NewsboatClient(workdir / f"newsboat-{r}", urls, args.newsboat)
            nb_cold = newsboat.reload(server, "cold")
            check_cold(nb_cold, args.feeds, args.items)
            newsboat.prime_validators(server)
            nb_warm = newsboat.reload(server, "warm")
            check_warm(nb_warm, args.feeds)
            runs += [run for run in (cold, warm, nb_cold, nb_warm) if run.scenario in wanted]
            progress(r, args.repeat, cold, warm, nb_cold, nb_warm)
    return runs


def real_rounds(args: argparse.Namespace, workdir: Path) -> list[Run]:
    """The real-world feeds, cold, reader then newsboat, `repeat` times."""
    runs: list[Run] = []
    options = ServerOptions(feeds=0, items=0, latency=args.real_latency, hosts=args.hosts, real_dir=str(args.real_dir))
    with FeedServer(options) as server:
        urls = server.layout.real_urls()[: args.real_feeds or None]
        names = server.layout.real_names
        json_feeds = frozenset(url for url, name in zip(urls, names)
                               if is_json_feed((args.real_dir / name).read_bytes()))  # fmt: skip
        for r in range(args.repeat):
            reader = ReaderClient(workdir / f"real-reader-{r}", urls, args.python, json_feeds)
            reader.subscribe()
            cold = reader.fetch(server, "real")
            check_cold(cold, len(urls), 0, "real")
            nb_cold = NewsboatClient(workdir / f"real-newsboat-{r}", urls, args.newsboat).reload(server, "real")
            check_cold(nb_cold, len(urls), 0, "real")
            runs += [cold, nb_cold]
            progress(r, args.repeat, cold, nb_cold)
    return runs


def progress(r: int, repeat: int, *runs: Run) -> None:
    parts = [f"{run.client} {run.scenario} {run.sample.wall:.2f}s" for run in runs]
    print(f"  round {r + 1}/{repeat}: " + ", ".join(parts), file=sys.stderr, flush=True)


# -- the report -----------------------------------------------------------------------


def median_of(runs: list[Run], key: Callable[[Run], float]) -> float:
    return statistics.median(key(run) for run in runs) if runs else float("nan")


def summary_table(runs: list[Run], scenarios: Sequence[str]) -> list[str]:
    lines = ["| scenario | reader s | reader CPU s | reader MiB | newsboat s | newsboat CPU s | newsboat MiB "
             "| newsboat/reader | target | result |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]  # fmt: skip
    for scenario in scenarios:
        mine = [r for r in runs if r.scenario == scenario and r.client == "reader"]
        theirs = [r for r in runs if r.scenario == scenario and r.client == "newsboat"]
        if not mine:
            continue
        reader_s, newsboat_s = median_of(mine, lambda r: r.sample.wall), median_of(theirs, lambda r: r.sample.wall)
        target = TARGETS[scenario]
        ok = not any(r.problems for r in mine + theirs)
        result = ("pass" if target.met(reader_s, newsboat_s) else "FAIL") + ("" if ok else " (check failed)")
        lines.append(
            f"| {scenario} | {reader_s:.2f} | {median_of(mine, lambda r: r.sample.cpu):.2f} "
            f"| {median_of(mine, lambda r: r.sample.peak_mib):.0f} | {newsboat_s:.2f} "
            f"| {median_of(theirs, lambda r: r.sample.cpu):.2f} | {median_of(theirs, lambda r: r.sample.peak_mib):.0f} "
            f"| {newsboat_s / reader_s:.2f} | {target.text} | {result} |"
        )  # fmt: skip
    return lines


def details(runs: list[Run], scenarios: Sequence[str]) -> list[str]:
    lines = []
    for scenario in scenarios:
        for client in ("reader", "newsboat"):
            chosen = [r for r in runs if r.scenario == scenario and r.client == client]
            if not chosen:
                continue
            walls = ", ".join(f"{r.sample.wall:.2f}" for r in chosen)
            cpus = ", ".join(f"{r.sample.cpu:.2f}" for r in chosen)
            lines.append(f"- {scenario} / {client}: runs {walls} s (CPU {cpus} s); main process peak RSS "
                         f"{median_of(chosen, lambda r: r.sample.main_rss_mib):.0f} MiB; "
                         f"{chosen[0].sample.processes} process(es); new articles stored {chosen[0].articles}; "
                         f"server answered {dict(sorted(chosen[0].served.items()))}")  # fmt: skip
            if client == "reader" and chosen[0].statuses:
                lines.append(f"  reader's feed statuses: {dict(chosen[0].statuses)}")
            if client == "reader" and chosen[0].timings:
                keys = chosen[0].timings.keys()
                timings = ", ".join(f"{k} {median_of(chosen, lambda r, k=k: r.timings.get(k, 0)):.2f}" for k in keys)
                lines.append(f"  reader's own timings (median s): {timings}")
            problems = sorted({p for r in chosen for p in r.problems})
            lines += [f"  CHECK FAILED: {p}" for p in problems]
            if not problems:
                lines.append("  checks: " + CHECK_TEXT[scenario])
    return lines


CHECK_TEXT = {
    "cold": "ok — every feed fetched with 200 and every article stored",
    "warm": "ok — every feed answered 304 and nothing new stored",
    "real": "ok — every feed fetched with 200 and reported ok (JSON Feeds, which neither client reads, excepted)",
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks fetch", description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                        help=f"any of {', '.join(TARGETS)} (default: all)")  # fmt: skip
    parser.add_argument("--feeds", type=int, default=300, help="synthetic feeds (default 300)")
    parser.add_argument("--items", type=int, default=20, help="articles per synthetic feed (default 20)")
    parser.add_argument("--latency", type=float, default=0.05, help="server latency in seconds (default 0.05)")
    parser.add_argument("--hosts", type=int, default=0,
                        help="loopback addresses to spread the feeds over (default 0: one per feed, as in real "
                             "subscription lists; 1 puts every feed behind the reader's per-host limit)")  # fmt: skip
    parser.add_argument("--real-dir", type=Path, default=REAL_FEEDS_DIR, help=f"default {REAL_FEEDS_DIR}")
    parser.add_argument("--real-feeds", type=int, default=0, help="use only the first K real feeds (0: all)")
    parser.add_argument("--real-latency", type=float, default=0.0, help="server latency for real (default 0)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the median is shown")
    parser.add_argument("--quick", action="store_true", help="30 feeds × 5 items, 10 real feeds, 1 repeat")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs the reader")
    parser.add_argument("--newsboat", default=NEWSBOAT)
    args = parser.parse_args(argv)
    unknown = set(args.scenarios) - set(TARGETS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}; choose from {', '.join(TARGETS)}")
    if args.quick:
        args.feeds, args.items, args.real_feeds, args.repeat = 30, 5, 10, 1
    args.scenarios = [s for s in TARGETS if s in args.scenarios] or list(TARGETS)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(args.newsboat).exists():
        print(f"newsboat not found at {args.newsboat}: the fetch benchmark needs it to compare", file=sys.stderr)
        return 1
    wanted = set(args.scenarios)
    compile_bytecode(args.python)
    load_before = os.getloadavg()
    print(f"fetch benchmark: {args.feeds} feeds × {args.items} items at {args.latency * 1000:.0f} ms, "
          f"{args.repeat} repeat(s); scenarios {', '.join(args.scenarios)}", file=sys.stderr)  # fmt: skip
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-fetch-") as tmp:
        if wanted & {"cold", "warm"}:
            runs += synthetic_rounds(args, Path(tmp), wanted)
        if "real" in wanted:
            runs += real_rounds(args, Path(tmp))
    print(f"\nFetch: {args.feeds} feeds × {args.items} items at {args.latency * 1000:.0f} ms latency "
          f"(real: {args.real_feeds or 'all'} files at {args.real_latency * 1000:.0f} ms); "
          f"median of {args.repeat}; {os.cpu_count()} CPUs; load average {load_before[0]:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after\n")  # fmt: skip
    print("\n".join(summary_table(runs, args.scenarios)))
    print("\nMiB: peak of the summed PSS of the command's process tree, sampled every 20 ms.\n")
    print("\n".join(details(runs, args.scenarios)))
    return 1 if any(run.problems for run in runs) else 0
