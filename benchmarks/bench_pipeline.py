"""The full pipeline: feeds + article pages + extraction + index, on N feeds × M items.

    python -m benchmarks pipeline [--feeds 300] [--items 20] [--latency 0.05] [--quick]

Runs `reader fetch --json` (page fetching on) once, cold, against the local
feed server (benchmarks/feedserver.py, which serves ~600-word article pages
with news-site boilerplate), and reports the wall time, the peak memory of the
process tree, and the reader's own time split by stage: feeds (fetch + parse +
store, wall), pages (the page fetches and extraction that outlast the feeds,
wall), extraction and parse CPU (summed over the worker processes), index,
matching. Extraction rate = pages extracted / extraction CPU seconds, per core.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .bench_fetch import ReaderClient, run_measured
from .feedserver import REPO_ROOT, FeedServer, ServerOptions


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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
