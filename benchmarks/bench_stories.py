"""Stories: B-cubed precision, recall and F1 of grouping real headlines into stories, and its cost.

    python -m benchmarks stories [--data dev.csv] [--latency 0.05] [--fast] [--orders 20] [--cv 5] [--halves 6] [--scale]
    python -m benchmarks stories --landings N [--world dev|real|zipf] [--seed S] [--repeat K]

Default: serves the data set as feeds on 127.0.0.1–127.0.0.N (one feed per
publisher host), runs `reader fetch --no-fulltext --json` through the real
pipeline, reads each article's story back with `reader articles --json`, and
scores against the STORY column. Reports the grouping stage's time against the
whole feeds-only refresh, and its CPU (that of the grouping process a cold
fetch of many feeds starts, or of its thread in the main process) against the
refresh's wall time and its whole CPU (the command and every child it reaped).

`--fast` calls the pure grouper (reader/stories.py) in-process instead, for
tuning; `--orders N` scores it in-process over N random arrival orders (feeds
shuffled, landing `--landing-feeds` at a time, each landing grouped in date
order and settled, as the pipeline does) and gives min / median / max;
`--cv K` adds K-fold cross-validation across stories: constants chosen
on K-1 folds of stories, scored on the held-out fold, so nothing is fitted to
one story; `--halves N` scores each half of N random splits of the stories alone, with the default
constants and with a threshold chosen on the other half (precision in every arrival order first). `--scale` times grouping through the store at 1k and at 100k stored
articles. `--landings N` groups a world through the store in landings of N
feeds, as the pipeline does but in a fixed order: its CPU seconds and a digest
of the stories formed, to compare two versions of the grouper exactly.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from reader.stories import Corpus, Grouper, StoryInput, Tuning

DATA = Path("/work/shared/benchdata/stories/dev.csv")
TARGET_PRECISION, TARGET_F1 = 0.95, 0.55
# The grid cross-validation chooses from (around the defaults in reader.stories.Tuning).
GRID = {"threshold": (0.10, 0.12, 0.14, 0.16, 0.18), "second_evidence": (0.5, 0.7, 0.9), "name_weight": (1.0, 2.0)}


@dataclass(frozen=True)
class Row:
    title: str
    url: str
    publisher: str
    host: str
    date: datetime
    story: str


def load(path: Path) -> list[Row]:
    """The data set in time order (ties keep file order)."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = [
            Row(r["TITLE"], r["URL"], r["PUBLISHER"], r["HOSTNAME"],
                datetime.fromtimestamp(int(r["TIMESTAMP"]) / 1000, UTC), r["STORY"])
            for r in csv.DictReader(f)
        ]  # fmt: skip
    return sorted(rows, key=lambda r: r.date)


def bcubed(predicted: Sequence[object], gold: Sequence[str]) -> tuple[float, float, float]:
    """B-cubed precision, recall, F1: per item, the share of its predicted group with its label, and the
    share of its label's items in its predicted group, each averaged over items."""
    members: dict[object, Counter] = defaultdict(Counter)
    for p, g in zip(predicted, gold):
        members[p][g] += 1
    sizes = Counter(gold)
    precision = sum(members[p][g] / sum(members[p].values()) for p, g in zip(predicted, gold)) / len(gold)
    recall = sum(members[p][g] / sizes[g] for p, g in zip(predicted, gold)) / len(gold)
    return precision, recall, 2 * precision * recall / (precision + recall)


def group_in_process(rows: Sequence[Row], tuning: Tuning = Tuning(),
                     landings: Sequence[Sequence[int]] | None = None) -> list[int]:  # fmt: skip
    """Each row's story from the grouper: `rows` as one batch in date order (as one `reader fetch` of them
    all groups them), or landing by landing (lists of row numbers), each settled before the next."""
    grouper = Grouper(Corpus(), tuning=tuning)
    inputs = [StoryInput(i, r.title, "", r.date, r.host, r.url) for i, r in enumerate(rows)]
    story: dict[int, int] = {}
    for landing in landings or [range(len(rows))]:
        story.update((d.article_id, d.story_id) for d in grouper.group([inputs[i] for i in landing]))
        grouper.settle()
    return [grouper.resolve(story[i]) for i in range(len(rows))]


def arrival_order(rows: Sequence[Row], seed: int, feeds_per_landing: int) -> list[list[int]]:
    """Landings as the pipeline makes them when feeds arrive in a random order: `feeds_per_landing` hosts'
    rows at a time, each landing in date order."""
    by_host: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_host[r.host].append(i)
    hosts = sorted(by_host)
    random.Random(seed).shuffle(hosts)
    return [sorted((i for h in hosts[k : k + feeds_per_landing] for i in by_host[h]), key=lambda i: (rows[i].date, i))
            for k in range(0, len(hosts), feeds_per_landing)]  # fmt: skip


def orders(rows: Sequence[Row], n: int, feeds_per_landing: int) -> None:
    gold = [r.story for r in rows]
    scores = [bcubed(group_in_process(rows, landings=arrival_order(rows, seed, feeds_per_landing)), gold)
              for seed in range(n)]  # fmt: skip
    print(f"\nIn process, {n} random arrival orders, {feeds_per_landing} feed(s) per landing (seeds 0–{n - 1})\n")
    print("| | min | median | max |\n| --- | ---: | ---: | ---: |")
    for j, name in enumerate(("B-cubed P", "R", "F1")):
        xs = [s[j] for s in scores]
        print(f"| {name} | {min(xs):.3f} | {statistics.median(xs):.3f} | {max(xs):.3f} |")


def folds(rows: Sequence[Row], k: int) -> list[set[str]]:
    """Stories split into k folds, by a hash of the label (not by anything a story says)."""
    stories = sorted({r.story for r in rows}, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    return [set(stories[i::k]) for i in range(k)]


def choose(rows: Sequence[Row]) -> tuple[Tuning, tuple[float, float, float]]:
    """The grid point with the best F1 among those with precision ≥ the target (else the most precise)."""
    gold = [r.story for r in rows]
    scored = []
    for values in itertools.product(*GRID.values()):
        tuning = replace(Tuning(), **dict(zip(GRID, values)))
        scored.append((bcubed(group_in_process(rows, tuning), gold), values, tuning))
    ok = [s for s in scored if s[0][0] >= TARGET_PRECISION]
    best = max(ok, key=lambda s: (s[0][2], s[1])) if ok else max(scored, key=lambda s: (s[0][0], s[1]))
    return best[2], best[0]


def cross_validate(rows: Sequence[Row], k: int) -> int:
    print(f"\n{k}-fold cross-validation across stories (constants chosen on the other folds)\n")
    print("| fold | stories | chosen threshold / second_evidence / name_weight | train P / R / F1 | held-out P / R / F1 |")
    print("| ---: | ---: | --- | --- | --- |")
    held: list[tuple[float, float, float]] = []
    for i, fold in enumerate(folds(rows, k)):
        train = [r for r in rows if r.story not in fold]
        test = [r for r in rows if r.story in fold]
        tuning, fit = choose(train)
        score = bcubed(group_in_process(test, tuning), [r.story for r in test])
        held.append(score)
        print(f"| {i + 1} | {len(fold)} | {tuning.threshold} / {tuning.second_evidence} / {tuning.name_weight} "
              f"| {_prf(fit)} | {_prf(score)} |")  # fmt: skip
    mean = tuple(sum(s[j] for s in held) / len(held) for j in range(3))
    print(f"| mean | | | | {_prf(mean)} |")
    return 0


def halves(rows: Sequence[Row], n: int, feeds_per_landing: int, norders: int = 4) -> int:
    """Stories split `n` times at random into two halves (seeded; by label, never by what a story says). Each
    half is grouped alone with the default constants, in date order and in `norders` random arrival orders (its
    least precision, mean recall and F1); then the join threshold is chosen on each half (best mean F1 with
    precision ≥ the target in every order) and scored on the other half, untouched."""
    labels = sorted({r.story for r in rows})
    thresholds = sorted({Tuning().threshold, *GRID["threshold"]})
    print(f"\n{n} random halves of the {len(labels)} stories, each scored alone: date order and {norders} orders of "
          f"{feeds_per_landing}-feed landings (least P / mean R / mean F1)\n")
    print("| split | half | stories | default constants | threshold chosen on the other half | scored here |")
    print("| ---: | ---: | ---: | --- | ---: | --- |")
    held, default = [], []
    for split in range(n):
        shuffled = labels[:]
        random.Random(1000 + split).shuffle(shuffled)
        parts = [set(shuffled[: len(labels) // 2]), set(shuffled[len(labels) // 2 :])]
        subs = [[r for r in rows if r.story in part] for part in parts]
        scores = [{t: _orders_score(sub, replace(Tuning(), threshold=t), norders, feeds_per_landing)
                   for t in thresholds} for sub in subs]  # fmt: skip
        for k in (0, 1):
            other = scores[1 - k]
            ok = [t for t in thresholds if other[t][0] >= TARGET_PRECISION] or [max(thresholds, key=lambda t: other[t][0])]
            chosen = max(ok, key=lambda t: other[t][2])
            here = scores[k]
            default.append(here[Tuning().threshold])
            held.append(here[chosen])
            print(f"| {split + 1} | {k + 1} | {len(parts[k])} | {_prf(here[Tuning().threshold])} | {chosen} "
                  f"| {_prf(here[chosen])} |")  # fmt: skip
    for name, got in (("default constants", default), ("chosen on the other half", held)):
        print(f"{name}: least P {min(s[0] for s in got):.3f}, mean P / R / F1 "
              f"{_prf([statistics.mean(s[j] for s in got) for j in range(3)])}")
    return 0


def _orders_score(rows: Sequence[Row], tuning: Tuning, norders: int, feeds_per_landing: int) -> tuple[float, ...]:
    """The least precision, mean recall and mean F1 over date order and `norders` random arrival orders."""
    gold = [r.story for r in rows]
    scores = [bcubed(group_in_process(rows, tuning), gold)]
    scores += [bcubed(group_in_process(rows, tuning, arrival_order(rows, seed, feeds_per_landing)), gold)
               for seed in range(norders)]  # fmt: skip
    return min(s[0] for s in scores), statistics.mean(s[1] for s in scores), statistics.mean(s[2] for s in scores)


def _prf(score: Sequence[float]) -> str:
    return " / ".join(f"{x:.3f}" for x in score)


def fast(rows: Sequence[Row]) -> tuple[float, float, float]:
    start = time.perf_counter()
    predicted = group_in_process(rows)
    elapsed = time.perf_counter() - start
    score = bcubed(predicted, [r.story for r in rows])
    print(f"In process, {len(rows)} headlines, default constants: B-cubed P / R / F1 {_prf(score)} "
          f"({len(set(predicted))} stories for {len({r.story for r in rows})} labels; "
          f"{elapsed / len(rows) * 1e6:.0f} µs per article)")  # fmt: skip
    return score


def baselines(rows: Sequence[Row]) -> None:
    gold = [r.story for r in rows]
    print(f"Every article alone: P / R / F1 {_prf(bcubed(list(range(len(rows))), gold))}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks stories", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA,
                   help=f"CSV with TITLE, URL, PUBLISHER, HOSTNAME, TIMESTAMP, STORY (default {DATA})")  # fmt: skip
    p.add_argument("--latency", type=float, default=0.05, help="seconds before every feed response (default 0.05)")
    p.add_argument("--fast", action="store_true", help="call the grouper in-process; no server, no store")
    p.add_argument("--orders", type=int, default=0, metavar="N", help="also score N random arrival orders in-process")
    p.add_argument("--landing-feeds", type=int, default=3, metavar="K",
                   help="feeds per landing in --orders (default 3: many small landings, the hardest case)")
    p.add_argument("--cv", type=int, default=0, metavar="K", help="also K-fold cross-validation across stories")
    p.add_argument("--halves", type=int, default=0, metavar="N",
                   help="also N random halves of the stories, each scored alone and with a threshold chosen on the other")
    p.add_argument("--scale", action="store_true", help="also time grouping through the store at 1k and 100k articles")
    p.add_argument("--landings", type=int, default=0, metavar="N",
                   help="instead of serving: group through the store in landings of N feeds (CPU, stories digest)")
    p.add_argument("--world", choices=("dev", "real", "zipf"), default="dev",
                   help="with --landings: the data set, the real feed files, or 300 synthetic feeds × 20 items")
    p.add_argument("--seed", type=int, default=0, help="with --landings: the order feeds land in")
    p.add_argument("--repeat", type=int, default=1, metavar="K",
                   help="with --landings: group the world K times, each into a fresh store (CPU min and median)")
    return p.parse_args(argv)


def check(score: Sequence[float]) -> int:
    ok = score[0] >= TARGET_PRECISION and score[2] >= TARGET_F1
    print(f"targets P ≥ {TARGET_PRECISION}, F1 ≥ {TARGET_F1}: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_file():
        print(f"no data set at {args.data}", file=sys.stderr)
        return 2
    rows = load(args.data)
    if args.landings:
        from .storyfeeds import landings_run

        landings_run(rows, args.world, args.landings, args.seed, args.repeat)
        return 0
    baselines(rows)
    score = fast(rows)
    if not args.fast:
        from .storyfeeds import served_run

        score = served_run(rows, args.latency)
    status = check(score)
    if args.orders:
        orders(rows, args.orders, args.landing_feeds)
    if args.cv:
        cross_validate(rows, args.cv)
    if args.halves:
        halves(rows, args.halves, args.landing_feeds)
    if args.scale:
        from .storyfeeds import scale_run

        scale_run(rows)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
