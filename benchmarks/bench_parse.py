"""Feed parsing on the real feeds, in one process: CPU seconds, where they go, and a before/after check.

    python -m benchmarks parse [--real-dir DIR] [--repeat 5] [--profile 25] [--words] [--save FILE | --compare FILE]

Runs `reader.parse.parse_feed` (what `reader fetch` runs in its worker
processes) over every file of the real-feeds directory, with the media type
the benchmark feed server sends, and prints the CPU seconds of the whole set
(best and median of --repeat runs, and the first run's: imports and empty
caches, as in a fresh worker), the share of `html_to_text`, and with
--profile the functions where the time goes. `--words`: the whole worker task
(`pool_tasks.parse`: the parse and the articles' story features); with
`--new N`, as when each feed is read again with N new entries (the others
stored with their story and their raw digests: no features made for them, and
not converted). `--save FILE` keeps every feed's
parsed result; `--compare FILE` parses again and exits 1 if any result
differs from the saved one (a change meant to be faster must not change
output: save on `main`, compare on the branch).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import pickle
import pstats
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.feedserver import REAL_FEEDS_DIR, feed_content_type, real_feed_names

Feed = tuple[str, bytes, str, str]  # file name, body, URL, media type


def load_feeds(directory: Path) -> list[Feed]:
    feeds = []
    for k, name in enumerate(real_feed_names(directory)):
        body = (directory / name).read_bytes()
        feeds.append((name, body, f"http://127.0.0.{1 + k}:8080/real/{name}", feed_content_type(body)))
    return feeds


def parse_all(feeds: Sequence[Feed], words: bool = False, grouped: dict[str, frozenset[str]] | None = None,
              known: dict[str, dict[str, bytes]] | None = None) -> dict[str, object]:  # fmt: skip
    """Every feed's parsed result as plain data (or its ParseError's message); with `words`, as the worker
    task gives it, its articles' story features (unpacked) under "features", none for the articles whose
    key is in `grouped[feed]`; the entries whose raw digest is `known[feed][key]` not converted."""
    from reader import pool_tasks
    from reader.parse import ParseError, parse_feed

    results: dict[str, object] = {}
    for name, body, url, media_type in feeds:
        if words:
            found, error, _ = pool_tasks.parse(body, url, media_type, 2000, 60.0,
                                               grouped=(grouped or {}).get(name, frozenset()),
                                               known=(known or {}).get(name))  # fmt: skip
            if found is None:
                results[name] = f"ParseError: {error}"
            else:
                results[name] = dataclasses.asdict(found[0])
                results[name]["features"] = {key: pickle.loads(f) for key, f in found[1].items()}  # noqa: S301
            continue
        try:
            results[name] = dataclasses.asdict(parse_feed(body, url, media_type))
        except ParseError as exc:
            results[name] = f"ParseError: {exc}"
    return results


def html_to_text_seconds(feeds: Sequence[Feed], words: bool, *read_again: dict | None) -> float:
    """CPU seconds spent in html_to_text during one parse of every feed."""
    from reader.parse import normalise

    spent = 0.0
    original = normalise.html_to_text

    def timed(*args):
        nonlocal spent
        start = time.process_time()
        try:
            return original(*args)
        finally:
            spent += time.process_time() - start

    normalise.html_to_text = timed
    try:
        parse_all(feeds, words, *read_again)
    finally:
        normalise.html_to_text = original
    return spent


def differences(saved: dict[str, object], now: dict[str, object]) -> list[str]:
    found = [f"{name}: only in the saved results" for name in saved.keys() - now.keys()]
    found += [f"{name}: not in the saved results" for name in now.keys() - saved.keys()]
    for name in sorted(saved.keys() & now.keys()):
        before, after = saved[name], now[name]
        if isinstance(before, dict) and isinstance(after, dict) and before.get("articles") and after["articles"]:
            fields = before["articles"][0].keys()  # fields added since the save are not differences
            after = {**after, "articles": [{k: a[k] for k in fields if k in a} for a in after["articles"]]}
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            fields = [key for key in before if before.get(key) != after.get(key)]
            if "articles" in fields and len(before["articles"]) == len(after["articles"]):
                changed = {key for a, b in zip(before["articles"], after["articles"]) for key in a if a[key] != b[key]}
                fields = [f for f in fields if f != "articles"] + [f"articles[].{key}" for key in sorted(changed)]
            found.append(f"{name}: {', '.join(fields)} differ")
        else:
            found.append(f"{name}: {str(before)[:80]!r} became {str(after)[:80]!r}")
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks parse", description=__doc__.splitlines()[0])
    p.add_argument("--real-dir", type=Path, default=REAL_FEEDS_DIR)
    p.add_argument("--repeat", type=int, default=5, help="timed runs (best and median shown)")
    p.add_argument("--profile", type=int, default=0, metavar="N", help="also print the N costliest functions")
    p.add_argument("--words", action="store_true", help="the whole worker task: the parse and the story features")
    p.add_argument("--new", type=int, default=None, metavar="N",
                   help="the worker task with features for each feed's first N entries only (the rest grouped)")
    checks = p.add_mutually_exclusive_group()
    checks.add_argument("--save", type=Path, metavar="FILE", help="keep every feed's parsed result in FILE")
    checks.add_argument("--compare", type=Path, metavar="FILE", help="exit 1 if a result differs from FILE's")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.real_dir.is_dir():
        print(f"no real feeds in {args.real_dir}", file=sys.stderr)
        return 2 if args.real_dir != REAL_FEEDS_DIR else 0  # `all` on a machine without the shared data: skipped
    feeds = load_feeds(args.real_dir)
    args.words = args.words or args.new is not None
    grouped = known = None
    if args.new is not None:  # the entries after the first N: stored, grouped, unchanged
        stored = {name: r["articles"][args.new :] for name, r in parse_all(feeds).items() if isinstance(r, dict)}
        grouped = {name: frozenset(a["key"] for a in articles) for name, articles in stored.items()}
        known = {name: {a["key"]: a["raw_digest"] for a in articles} for name, articles in stored.items()}
    start = time.process_time()
    results = parse_all(feeds, args.words, grouped, known)  # also the warm-up: imports, compiled patterns, caches
    first = time.process_time() - start
    seconds = []
    for _ in range(max(1, args.repeat)):
        start = time.process_time()
        parse_all(feeds, args.words, grouped, known)
        seconds.append(time.process_time() - start)
    articles = sum(len(r["articles"]) for r in results.values() if isinstance(r, dict))
    size = sum(len(body) for _, body, _, _ in feeds)
    what = "Parsing, with story features," if args.words else "Parsing"
    if grouped is not None:
        what = f"Parsing, with the story features of {args.new} new entries a feed,"
    print(f"{what} {len(feeds)} real feeds ({size / 1e6:.1f} MB, {articles:,} articles) in one process\n")
    print(f"CPU: first run {first:.3f} s (imports, empty caches); then best {min(seconds):.3f} s, "
          f"median {statistics.median(seconds):.3f} s ({' '.join(f'{s:.3f}' for s in seconds)})")  # fmt: skip
    print(f"of which html_to_text: {html_to_text_seconds(feeds, args.words, grouped, known):.3f} s (one run)")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(parse_all, feeds, args.words, grouped, known)
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.profile)
        print("\n" + out.getvalue().split("\n\n", 1)[-1].strip())
    if args.save:
        args.save.write_bytes(pickle.dumps(results))
        print(f"\nsaved {len(results)} results to {args.save}")
    if args.compare:
        found = differences(pickle.loads(args.compare.read_bytes()), results)
        print(f"\ncompared with {args.compare}: " + ("identical" if not found else f"{len(found)} feeds differ"))
        for line in found:
            print("  " + line)
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
