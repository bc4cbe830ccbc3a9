"""Index and search benchmark: synthetic articles of ~600 words, indexed and queried.

    python -m benchmarks.bench_index            # 10k incremental, then a 100k rebuild
    python -m benchmarks.bench_index --quick    # 2k and 10k
    python -m benchmarks index --docs 50000 --small 5000
    python -m benchmarks index --reuse /tmp/bench-index   # keep the 100k index; later runs only search it
    python -m benchmarks index --segments       # CPU of building segments of the real feeds' articles
    python -m benchmarks index --summary-is-text 0.81   # summaries that are the text, as in 81 % of real articles

The vocabulary is seeded and Zipf-distributed: real English function words
at the top (they are indexed: there is no stop list), invented words below,
and a few topic terms (DeepSeek, export controls, H800…) sprinkled in at
news-like rates so the benchmark queries have something to find.

Reported: articles/s for ingest-sized batches (1,000 per `add`, in process)
and for a rebuild (`clear` + one streaming `add`, worker processes), peak RSS
of this process and of the workers, search latency p50/p95 (limit 20, by
relevance and newest first) at both sizes, the time to match 1,000
alert rules against a new batch, and the cost of the damage check (file
sizes against the table of contents) and of opening the index.

Checked (exit 1 if not, with what failed): the index holds as many documents
as were added (after the incremental adds, the rebuild and the Chinese
rebuild), `the` (in every article) finds every one, every kind of benchmark
query finds something, a sample of articles is found by its title as a phrase
and by its date, and the alert rules match something.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import pickle
import random
import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reader.index import SearchIndex, parse_query, required_terms
from reader.store import IndexRow

FUNCTION_WORDS = (
    "the of and to a in is that for it as was with be by on not he this are or his from at which but have an "
    "they you were her she there been one all we their has would when if more no out so said what up its about "
    "into than them can only other new some could time these two may then do first any my now such like our "
    "over man me even most made after also did many before must through back years where much your way well "
    "down should because each just those people how too little state good very make world still own see men "
    "work long get here between both life being under never day same another know while last might us great "
    "old year off come since against go came right used take three"
).split()
TOPIC_PHRASES = (
    "DeepSeek", "export controls", "US export controls", "H800", "H20", "B200", "Nvidia", "OpenAI",
    "DeepSeek-R1", "AI Act", "EU", "semiconductor", "chip", "sanctions", "data centre", "open weights",
)  # fmt: skip
FEEDS = [(f"Feed {n}", group) for n, group in zip(range(40), itertools.cycle(["Tech", "Policy", "Science", "Business"]))]
TAGS = ["AI", "chips", "policy", "China", "regulation", "cloud", "security", "research", "markets", "energy"]
QUERIES = {
    "term": ["DeepSeek", "Nvidia", "semiconductor", "sanctions", "OpenAI"],
    "phrase": ['"export controls"', '"US export controls"', '"data centre"', '"open weights"', '"AI Act"'],
    "boolean+field": [
        'title:DeepSeek AND "export controls" NOT group:Tech',
        'title:Nvidia AND (H800 OR H20) NOT group:Science',
        'title:OpenAI AND "open weights" NOT group:Business',
        'DeepSeek AND sanctions NOT group:Policy',
        'title:chip AND "data centre" NOT group:Tech',
    ],
    "date range": [
        "date:2025-01-01..2025-01-31",
        "date:2025-03 DeepSeek",
        "date:>=2025-06-01 Nvidia",
        "date:2024-05-01..2024-09-30",
        "date:<2024-02-01",
    ],
    # The worst case: every article holds these words (target: p95 < 100 ms at 100k; every other kind < 50 ms).
    "common words": ['"of the"', "the", '"in the"'],
}
START = datetime(2024, 1, 1, tzinfo=UTC)

# Chinese: words found at news-like rates, and the queries a China-policy analyst writes.
CHINESE_TOPICS = ("华为", "出口管制", "半导体", "美国商务部", "人工智能", "芯片", "大模型", "发布", "DeepSeek", "R2", "H20")
CHINESE_QUERIES = {
    "2-char word": ["华为", "芯片", "发布"],
    "4+ char word": ["出口管制", "人工智能", "美国商务部"],
    "AND, mixed": ["华为 AND 出口管制", "DeepSeek 发布", '"发布 R2"'],
    "1 character": ["华", "芯", "制"],
}


def make_vocabulary(size: int, rnd: random.Random) -> list[str]:
    """Function words first, then invented words built from syllables."""
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou", "ee")]
    suffixes = ["", "", "", "s", "ed", "ing", "ion", "ly", "er", "ment"]
    words = list(FUNCTION_WORDS)
    seen = set(words)
    while len(words) < size:
        word = "".join(rnd.choice(syllables) for _ in range(rnd.choice((1, 2, 2, 3, 3, 4)))) + rnd.choice(suffixes)
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Corpus:
    """Seeded synthetic articles: title, summary and ~600 words of text."""

    def __init__(self, seed: int = 7, vocabulary: int = 40_000, summary_is_text: float = 0.0):
        self.rnd = random.Random(seed)
        self.summary_is_text = summary_is_text  # the share of articles whose summary is their text
        self.words = make_vocabulary(vocabulary, self.rnd)
        self.cum_weights = list(itertools.accumulate(1 / (rank + 1) ** 1.07 for rank in range(len(self.words))))

    def _words(self, k: int, topic_rate: float) -> list[str]:
        words = self.rnd.choices(self.words, cum_weights=self.cum_weights, k=k)
        for i in range(k):
            if self.rnd.random() < topic_rate:
                words[i] = self.rnd.choice(TOPIC_PHRASES)
        return words

    def _sentences(self, k: int) -> str:
        words = self._words(k, 0.0003)  # each topic term in ~1% of articles, as in a tech-news feed set
        sentences = []
        for start in range(0, k, 18):
            sentence = " ".join(words[start : start + 18])
            sentences.append(sentence[:1].upper() + sentence[1:] + ".")
        return " ".join(sentences)

    def row(self, article_id: int) -> IndexRow:
        feed, group = FEEDS[article_id % len(FEEDS)]
        title = " ".join(self._words(8, 0.01)).capitalize()
        text, summary = self._sentences(600), self._sentences(40)
        if self.summary_is_text and self.rnd.random() < self.summary_is_text:
            summary = text
        return IndexRow(
            id=article_id, version=1, title=title, text=text, summary=summary,
            feed_title=feed, group=group, author=f"Author {article_id % 500}",
            categories=tuple(self.rnd.sample(TAGS, self.rnd.randint(0, 3))), link=f"https://example.com/{article_id}",
            date=START + timedelta(minutes=self.rnd.randrange(2 * 365 * 24 * 60)),
        )  # fmt: skip

    def rows(self, first_id: int, count: int) -> list[IndexRow]:
        return [self.row(i) for i in range(first_id, first_id + count)]


class ChineseCorpus:
    """Seeded synthetic Chinese articles of ~1,200 characters: words of 1–4 characters drawn
    (Zipf-like) from a vocabulary built on 3,500 characters that are themselves Zipf-distributed
    (as in real text, where ~1,000 characters make 90 % of it), punctuated, with the topic words
    above (Latin names among them) mixed in."""

    def __init__(self, seed: int = 11, vocabulary: int = 30_000):
        self.rnd = random.Random(seed)
        chars = [chr(c) for c in self.rnd.sample(range(0x4E00, 0x9FA6), 3500)]
        char_weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(chars))))
        words, seen = [], set()
        while len(words) < vocabulary:
            k = self.rnd.choice((1, 2, 2, 2, 2, 3, 4))
            word = "".join(self.rnd.choices(chars, cum_weights=char_weights, k=k))
            if word not in seen:
                seen.add(word)
                words.append(word)
        self.words = words
        self.cum_weights = list(itertools.accumulate(1 / (rank + 1) ** 1.07 for rank in range(len(words))))

    def _text(self, chars: int, topic_rate: float) -> str:
        out, length = [], 0
        while length < chars:
            words = self.rnd.choices(self.words, cum_weights=self.cum_weights, k=12)
            for i in range(len(words)):
                if self.rnd.random() < topic_rate:
                    words[i] = self.rnd.choice(CHINESE_TOPICS)
            sentence = "".join(words[:6]) + "，" + "".join(words[6:]) + "。"
            out.append(sentence)
            length += len(sentence)
        return "".join(out)

    def row(self, article_id: int) -> IndexRow:
        feed, group = FEEDS[article_id % len(FEEDS)]
        return IndexRow(
            id=article_id, version=1, title=self._text(20, 0.05)[:30], text=self._text(1200, 0.002),
            summary=self._text(80, 0.002), feed_title=feed, group=group, author=f"作者 {article_id % 500}",
            categories=(), link=f"https://example.cn/{article_id}",
            date=START + timedelta(minutes=self.rnd.randrange(2 * 365 * 24 * 60)),
        )  # fmt: skip


def write_rows(path: Path, rows: Iterable[IndexRow]) -> None:
    with path.open("ab") as f:
        for row in rows:
            pickle.dump(row, f, pickle.HIGHEST_PROTOCOL)


def read_rows(path: Path) -> Iterator[IndexRow]:
    """Rows streamed back from disk, as a rebuild streams them out of SQLite."""
    with path.open("rb") as f:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return


class PeakMemory:
    """Peak RSS (VmHWM) of this process and, sampled while running, of its descendants (the
    index's workers are forkserver children, which getrusage never sees). Linux only."""

    def __init__(self) -> None:
        self.workers_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            for pid in descendants(os.getpid()):
                self.workers_kb = max(self.workers_kb, status_kb(pid, "VmHWM"))

    @staticmethod
    def own_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = status_kb(int(entry.name), "PPid")
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def status_kb(pid: int, key: str) -> int:
    """A number from /proc/PID/status (kB for memory lines), 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def time_incremental(index: SearchIndex, rows: Sequence[IndexRow], batch: int) -> float:
    """Articles/s when added like an ingest does: `batch` rows per `add`."""
    start = time.perf_counter()
    for first in range(0, len(rows), batch):
        index.add(rows[first : first + batch])
    return len(rows) / (time.perf_counter() - start)


def time_rebuild(index: SearchIndex, rows: Iterator[IndexRow], count: int) -> tuple[float, float]:
    """(seconds, articles/s) of clear + one streaming add of every row."""
    start = time.perf_counter()
    index.clear()
    index.add(rows)
    elapsed = time.perf_counter() - start
    return elapsed, count / elapsed


def time_damage_check(index: SearchIndex) -> tuple[float, float, int]:
    """(ms of `check()`, the file-size check each cycle and each reopening runs; ms to open the index
    and run a first search, check included; segments), medians."""
    checks = []
    for _ in range(20):
        start = time.perf_counter()
        index.check()
        checks.append(time.perf_counter() - start)
    opens = []
    for _ in range(5):
        start = time.perf_counter()
        fresh = SearchIndex(index.path)
        fresh.count("DeepSeek")
        opens.append(time.perf_counter() - start)
        fresh.close()
    with index._views() as views:
        segments = len(views)
    return statistics.median(checks) * 1000, statistics.median(opens) * 1000, segments


def print_damage_check(index: SearchIndex) -> None:
    check_ms, open_ms, segments = time_damage_check(index)
    print(f"damage check: {check_ms:.2f} ms ({segments} segments); open + first search: {open_ms:.0f} ms")


def search_latencies(index: SearchIndex, repeat: int,
                     queries: dict[str, list[str]] = QUERIES) -> dict[tuple[str, str], tuple[float, float, float]]:  # fmt: skip
    """(kind, sort) -> (p50 ms, p95 ms, mean matches) over the query set, each query run `repeat` times."""
    now = datetime(2025, 12, 31, tzinfo=UTC)
    out = {}
    for kind, texts in queries.items():
        parsed = [parse_query(t, now=now) for t in texts]
        matches = statistics.mean(index.count(q) for q in parsed)
        for sort in ("relevance", "newest"):
            times = []
            for _ in range(repeat):
                for q in parsed:
                    start = time.perf_counter()
                    index.search(q, limit=20, sort=sort)
                    times.append((time.perf_counter() - start) * 1000)
            out[(kind, sort)] = (statistics.median(times), statistics.quantiles(times, n=20)[-1], matches)
    return out


def print_latencies(label: str, index: SearchIndex, latencies: dict) -> None:
    print(f"\nsearch at {index.doc_count():,} articles ({label}), limit 20:")
    print(f"  {'query':<15} {'sort':<10} {'p50 ms':>8} {'p95 ms':>8} {'matches':>9}")
    for (kind, sort), (p50, p95, matches) in latencies.items():
        shown = f"{matches:9.0f}" if sort == "relevance" else ""
        print(f"  {kind:<15} {sort:<10} {p50:8.1f} {p95:8.1f} {shown}")


def check_index(label: str, index: SearchIndex, added: int, sample: Sequence[IndexRow],
                 queries: dict[str, list[str]] = QUERIES) -> list[str]:  # fmt: skip
    """What is wrong with an index of `added` articles, if anything: a search benchmark over an index that
    lost its articles, or with queries that find nothing, measures nothing."""
    failures = []
    documents = index.doc_count()
    if documents != added:
        failures.append(f"{label}: the index holds {documents:,} documents, {added:,} articles were added")
    if queries is QUERIES and (found := index.count("the")) != added:
        failures.append(f"{label}: `the`, in every article, finds {found:,} of {added:,}")
    now = datetime(2025, 12, 31, tzinfo=UTC)
    for kind, texts in queries.items():
        if not any(index.count(parse_query(t, now=now)) for t in texts):
            failures.append(f"{label}: no {kind} query finds anything ({', '.join(texts)})")
    for row in sample:
        for query in (f'title:"{row.title}"', f"date:{row.date:%Y-%m-%d}"):
            if row.id not in {hit.article_id for hit in index.search(query, limit=None)}:
                failures.append(f"{label}: {query} does not find article {row.id}")
    return failures


def sampled(rows: Iterable[IndexRow], ids: set[int], into: list[IndexRow]) -> Iterator[IndexRow]:
    """`rows`, passed on, keeping those with these ids in `into` (rows streamed from disk, checked later)."""
    for row in rows:
        if row.id in ids:
            into.append(row)
        yield row


def sample_ids(count: int, size: int = 10) -> set[int]:
    return set(random.Random(5).sample(range(1, count + 1), min(size, count)))


def print_checks(failures: list[str]) -> None:
    print(f"\nchecks: {'ok' if not failures else 'FAILED'}")
    for failure in failures:
        print(f"  - {failure}")


def time_alert_matching(index: SearchIndex, batch_ids: list[int], rules: int) -> tuple[float, int, int]:
    """(seconds, rules run, matches) to match `rules` two-word rules (topic words and rarer
    vocabulary) against a new batch, as the alerts will: skip rules whose required terms are
    absent from the batch's segment, search the rest."""
    rnd = random.Random(3)
    words = make_vocabulary(40_000, random.Random(7))[1000:] + [t for t in TOPIC_PHRASES if " " not in t]
    queries = [parse_query(f"{rnd.choice(words)} {rnd.choice(words)}") for _ in range(rules)]
    start = time.perf_counter()
    present = index.segment_terms(batch_ids)
    run = matches = 0
    for q in queries:
        if all(clause & present for clause in required_terms(q)):
            run += 1
            matches += len(index.search(q, limit=None, restrict=batch_ids))
    return time.perf_counter() - start, run, matches


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_index", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2k incremental and a 10k rebuild")
    parser.add_argument("--docs", type=int, default=100_000, help="articles in the rebuild (default 100000)")
    parser.add_argument("--small", type=int, default=10_000, help="articles added incrementally (default 10000)")
    parser.add_argument("--batch", type=int, default=1000, help="rows per add() when incremental")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the rebuild")
    parser.add_argument("--repeat", type=int, default=10, help="runs of each query")
    parser.add_argument("--dir", type=Path, help="where to put the index (default: a temp dir)")
    parser.add_argument("--chinese", type=int, default=10_000, help="Chinese articles indexed and searched (0: none)")
    parser.add_argument("--summary-is-text", type=float, default=0.0, metavar="SHARE",
                        help="the share of articles whose summary is their text (default 0; real feeds: 0.81)")
    parser.add_argument("--chinese-only", action="store_true", help="only the Chinese part")
    parser.add_argument("--segments", nargs="?", const="", metavar="FEEDS_DIR",
                        help="only time building segments of the articles of these feed files (default: the real "
                        "feeds of `fetch real`), stored as a fetch stores them, in two halves, each in a fresh "
                        "process as the two workers do; --repeat runs")
    parser.add_argument("--reuse", type=Path, help="keep the rebuilt index in this directory; if it holds one of "
                        "--docs articles (this index format), only search it")
    args = parser.parse_args(argv)
    if args.quick:
        args.docs, args.small, args.repeat = 10_000, 2_000, 5
    print(f"load average before: {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)")
    if args.segments is not None:
        from benchmarks.feedserver import REAL_FEEDS_DIR

        failures = run_segments(Path(args.segments) if args.segments else REAL_FEEDS_DIR, args.repeat)
        print_checks(failures)
        return 1 if failures else 0
    failures = []
    if args.reuse and not args.chinese_only:
        failures += reused(args)
        args.chinese = 0
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        if not args.chinese_only and not args.reuse:
            failures += run(args, Path(tmp))
        if args.chinese:
            failures += run_chinese(args, Path(tmp) / "chinese")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print_checks(failures)
    return 1 if failures else 0


def real_rows(directory: Path) -> list[IndexRow]:
    """The articles of the feed files in `directory`, stored as a fetch stores them, as the index gets them."""
    from reader.parse import ParseError, parse_feed
    from reader.store import Store
    from reader.urls import canonical_url

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "reader.sqlite")
        for path in sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")):
            url = f"http://127.0.0.1/{path.name}"
            try:
                parsed = parse_feed(path.read_bytes(), url)
            except ParseError:
                continue
            feed, _new = store.add_feed(url, title=parsed.title)
            links = {a.link: canonical_url(a.link) for a in parsed.articles if a.link}
            store.upsert_articles(feed.id, parsed.articles, fulltext=False, canonical=links)
        rows = list(store.all_index_rows())
        store.close()
    return rows


def segment_cpu(rows: list[IndexRow]) -> tuple[float, int]:
    """(CPU seconds, bytes) of building one segment of `rows` in this process."""
    from reader.index.segments import _build_segment

    with tempfile.TemporaryDirectory() as tmp:
        SearchIndex(Path(tmp) / "index").close()
        start = time.process_time()
        _build_segment(str(Path(tmp) / "index"), rows)
        cpu = time.process_time() - start
        size = sum(f.stat().st_size for f in (Path(tmp) / "index").iterdir())
    return cpu, size


def run_segments(directory: Path, repeat: int) -> list[str]:
    rows = real_rows(directory)
    if not rows:
        return [f"no article in the feed files of {directory}: nothing to measure"]
    halves = [rows[: len(rows) // 2], rows[len(rows) // 2 :]]
    runs = []
    for _ in range(repeat):
        cpu = size = 0
        for half in halves:
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                seconds, written = pool.submit(segment_cpu, half).result()
            cpu, size = cpu + seconds, size + written
        runs.append(cpu)
    print(f"segments of {len(rows):,} articles from {directory} (two halves, each in a fresh process): "
          f"{statistics.median(runs):.2f} CPU-s median of {repeat} ({', '.join(f'{r:.2f}' for r in runs)}); "
          f"{size / len(rows):,.0f} bytes per article; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    return [] if size else ["the segments built are empty"]


def reused(args: argparse.Namespace) -> list[str]:
    """Search the index kept in `args.reuse`, building it first if it is missing or another size."""
    index = SearchIndex(args.reuse / "index", workers=args.workers)
    if index.doc_count() == args.docs:
        print(f"searching the {args.docs:,} articles indexed in {args.reuse} (no indexing measured)")
        print_latencies("reused", index, search_latencies(index, args.repeat))
        print_damage_check(index)
        print_size(args.reuse / "index", args.docs)
        failures = check_index("reused", index, args.docs, [])
        index.close()
        return failures
    index.close()
    for path in args.reuse.glob("index/*"):
        path.unlink()
    return run(args, args.reuse)


def print_size(directory: Path, docs: int) -> None:
    size = sum(f.stat().st_size for f in directory.iterdir() if f.is_file()) / 1e6
    print(f"index size: {size:,.0f} MB ({size * 1e6 / docs / 1e3:,.2f} KB per article; target ≤ 3 KB)")


def run(args: argparse.Namespace, tmp: Path) -> list[str]:
    corpus = Corpus(summary_is_text=args.summary_is_text)
    index = SearchIndex(tmp / "index", workers=args.workers)
    start = time.perf_counter()
    small_rows = corpus.rows(1, args.small)
    stream = tmp / "rows.pickle"
    stream.unlink(missing_ok=True)
    write_rows(stream, small_rows)
    write_rows(stream, (corpus.row(i) for i in range(args.small + 1, args.docs + 1)))
    words = sum(len(r.text.split()) for r in small_rows) / len(small_rows)
    print(f"generated {args.docs:,} articles in {time.perf_counter() - start:.1f} s ({words:.0f} words of text each)")

    cpu = time.process_time()
    incremental = time_incremental(index, small_rows, args.batch)
    cpu_rate = args.small / (time.process_time() - cpu)
    print(f"incremental: {incremental:,.0f} articles/s ({args.batch} per add, in process, merges included; "
          f"{cpu_rate:,.0f} per CPU-second)")  # fmt: skip
    print_latencies("incremental", index, search_latencies(index, args.repeat))
    print_damage_check(index)
    failures = check_index("incremental", index, args.small, [small_rows[i - 1] for i in sample_ids(args.small)])
    last_batch = [row.id for row in small_rows[-args.batch :]]
    seconds, ran, matched = time_alert_matching(index, last_batch, 1000)
    print(f"\nalerts: 1,000 rules against the last batch of {len(last_batch):,}: {seconds:.2f} s "
          f"({ran} rules searched after the term check, {matched} matches)")
    if not matched:
        failures.append(f"alerts: none of the 1,000 rules matched the last batch of {len(last_batch):,}")
    del small_rows

    sample: list[IndexRow] = []
    with PeakMemory() as memory:
        elapsed, rate = time_rebuild(index, sampled(read_rows(stream), sample_ids(args.docs), sample), args.docs)
    print(f"\nrebuild of {args.docs:,}: {elapsed:.1f} s, {rate:,.0f} articles/s "
          f"(clear + one streaming add, {args.workers} workers)")
    print_latencies("rebuilt", index, search_latencies(index, args.repeat))
    print_damage_check(index)
    failures += check_index("rebuilt", index, args.docs, sample)
    print(f"\npeak RSS: {PeakMemory.own_mb():,.0f} MB this process, {memory.workers_kb / 1024:,.0f} MB largest worker")
    print_size(tmp / "index", args.docs)
    index.close()
    stream.unlink()
    return failures



def run_chinese(args: argparse.Namespace, tmp: Path) -> list[str]:
    """Chinese text: a rebuild of `args.chinese` articles, searches of every kind, the index's size."""
    tmp.mkdir(parents=True)
    corpus = ChineseCorpus()
    start = time.perf_counter()
    stream = tmp / "rows.pickle"
    write_rows(stream, (corpus.row(i) for i in range(1, args.chinese + 1)))
    print(f"\ngenerated {args.chinese:,} Chinese articles in {time.perf_counter() - start:.1f} s "
          f"(~1,200 characters of text each)")  # fmt: skip
    index = SearchIndex(tmp / "index", workers=args.workers)
    sample: list[IndexRow] = []
    with PeakMemory() as memory:
        elapsed, rate = time_rebuild(index, sampled(read_rows(stream), sample_ids(args.chinese), sample), args.chinese)
    print(f"Chinese rebuild of {args.chinese:,}: {elapsed:.1f} s, {rate:,.0f} articles/s "
          f"(clear + one streaming add, {args.workers} workers; largest worker {memory.workers_kb / 1024:,.0f} MB)")
    print_latencies("Chinese", index, search_latencies(index, args.repeat, CHINESE_QUERIES))
    size = sum(f.stat().st_size for f in (tmp / "index").iterdir() if f.is_file()) / 1e6
    print(f"Chinese index size: {size:,.0f} MB ({size * 1e6 / args.chinese / 1e3:,.1f} KB per article)")
    failures = check_index("Chinese", index, args.chinese, sample, CHINESE_QUERIES)
    index.close()
    return failures


if __name__ == "__main__":
    raise SystemExit(main())
