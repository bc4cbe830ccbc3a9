"""The full pipeline: feeds + article pages + extraction + index, on N feeds × M items.

    python -m benchmarks pipeline [--feeds 300] [--items 20] [--latency 0.05] [--quick]

Runs `reader fetch --json` (page fetching on) once, cold, against the local
feed server (benchmarks/feedserver.py, which serves ~600-word article pages
with news-site boilerplate), and reports the wall time, the peak memory of the
process tree, and the reader's own time split by stage: feeds (fetch + parse +
store, wall), pages (the page fetches and extraction that outlast the feeds,
wall), extraction and parse CPU (summed over the worker processes), index,
matching. Extraction rate = pages extracted / extraction CPU seconds, per core.

Checked (exit 1 if not, with what failed): every feed fetched ok, every
generated article stored, its page fetched and its full text used, every
article grouped into a story and indexed (the index holds as many documents as
the store), and a phrase from the end of a sample of pages (text the feed's
lead lacks) finds its article.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from reader.index import SearchIndex
from reader.store import Store

from .bench_fetch import ReaderClient, feed_problems, run_measured
from .feedserver import REPO_ROOT, FeedServer, Layout, ServerOptions, TextMaker

SAMPLE_PAGES = 10  # articles whose page text is searched for


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks pipeline", description=__doc__.splitlines()[0])
    p.add_argument("--feeds", type=int, default=300)
    p.add_argument("--items", type=int, default=20)
    p.add_argument("--latency", type=float, default=0.05, help="seconds before every response")
    p.add_argument("--quick", action="store_true", help="30 feeds × 5 items")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.quick:
        args.feeds, args.items = 30, 5
    options = ServerOptions(feeds=args.feeds, items=args.items, latency=args.latency, pages=True)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp, FeedServer(options) as server:
        client = ReaderClient(Path(tmp), server.layout.feed_urls(), sys.executable)
        client.subscribe()
        sample = run_measured(client.command("fetch", "--json"), client.env, REPO_ROOT, timeout=1800)
        if sample.returncode != 0:
            print(f"reader fetch failed ({sample.returncode}): {sample.stderr[-800:]}")
            return 1
        report = json.loads(sample.stdout)
        failures = _failures(report, options, server.layout, client.data_dir)
    t, pages = report["timings"], report["pages"]
    extracted = pages["used"] + pages["fallback"]
    rate = extracted / t["extract_cpu"] if t.get("extract_cpu") else 0.0
    rows = [
        ("articles stored", f"{report['new']}"),
        ("pages fetched / full text used / failed", f"{pages['fetched']} / {pages['used']} / {pages['failed']}"),
        ("wall time, whole command", f"{sample.wall:.2f} s"),
        ("feeds stage (fetch, parse, store; wall)", f"{t['feeds']:.2f} s"),
        ("pages stage after the last feed (wall)", f"{t['pages']:.2f} s"),
        ("parse CPU (workers)", f"{t['parse_cpu']:.2f} s"),
        ("extraction CPU (workers)", f"{t['extract_cpu']:.2f} s"),
        ("extraction rate, per core", f"{rate:.0f} pages/s"),
        ("index (wall)", f"{t['index']:.2f} s ({report['indexed'] / t['index']:.0f} articles/s)" if t["index"] else "0"),
        ("rule matching (wall)", f"{t.get('match', 0):.2f} s"),
        ("peak memory, process tree (PSS)", f"{sample.peak_mib:.0f} MiB"),
    ]
    print(f"Full pipeline: {args.feeds} feeds × {args.items} items with pages, {args.latency * 1000:.0f} ms latency, cold\n")
    print("| what | figure |\n| --- | ---: |")
    for what, figure in rows:
        print(f"| {what} | {figure} |")
    print(f"\nchecks: {'ok' if not failures else 'FAILED'}")
    for failure in failures:
        print(f"  - {failure}")
    return 1 if failures else 0


def _failures(report: dict, options: ServerOptions, layout: Layout, data_dir: Path) -> list[str]:
    """What went wrong, if anything: a run that stores, extracts or indexes nothing measures nothing."""
    generated = options.feeds * options.items
    failures = feed_problems(report, options.feeds, frozenset())
    pages = report["pages"]
    if report["new"] != generated:
        failures.append(f"{report['new']} new articles stored, {generated} generated")
    if (pages["fetched"], pages["used"], pages["failed"]) != (generated, generated, 0):
        failures.append(f"pages fetched / full text used / failed: {pages['fetched']} / {pages['used']} / "
                        f"{pages['failed']}, expected {generated} / {generated} / 0")  # fmt: skip
    if report["indexed"] != generated:
        failures.append(f"{report['indexed']} articles indexed, {generated} generated")
    store, index = Store(data_dir / "reader.sqlite"), SearchIndex(data_dir / "index")
    try:
        stored, documents = store.article_count(), index.doc_count()
        if stored != generated:
            failures.append(f"the store holds {stored} articles, {generated} generated")
        if documents != stored:
            failures.append(f"the index holds {documents} documents, the store {stored} articles")
        if store.ungrouped_count():
            failures.append(f"{store.ungrouped_count()} articles not grouped into a story")
        failures += _unfound_pages(store, index, options, layout)
    finally:
        store.close()
        index.close()
    return failures


def _unfound_pages(store: Store, index: SearchIndex, options: ServerOptions, layout: Layout) -> list[str]:
    """Sample articles that a phrase from the end of their page (past the feed's lead) does not find."""
    text = TextMaker(options.seed)
    generated = options.feeds * options.items
    sample = random.Random(1).sample(range(generated), min(SAMPLE_PAGES, generated))
    failures = []
    for i, j in (divmod(n, options.items) for n in sample):
        phrase = " ".join(text.article(i, j).paragraphs[-1].rstrip(".").split()[-6:])
        article = store.article_by_link(layout.article_url(i, j))
        if article is None:
            failures.append(f"article {layout.article_url(i, j)} is not stored")
        elif article.id not in {hit.article_id for hit in index.search(f'"{phrase}"', limit=None)}:
            failures.append(f'searching the end of its page, "{phrase}", does not find {layout.article_url(i, j)}')
    return failures


if __name__ == "__main__":
    raise SystemExit(main())
