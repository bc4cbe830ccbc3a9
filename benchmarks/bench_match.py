"""Rule matching benchmark: N rules against a batch of M new articles, as an ingest matches them.

    python -m benchmarks match                    # 1,000 rules × 1,000 new articles, then 50 × 10,000
    python -m benchmarks match --quick            # 1,000 × 1,000 only, over a smaller archive
    python -m benchmarks match --rules 1000 --batch 1000 --archive 5000

Articles are the seeded synthetic ones of bench_index (~600 Zipf-distributed
words each), stored through the real store (so the match queue fills as in an
ingest) and indexed with `update_index`: an archive first, then the new batch
as its own segment. Rules are real rule files with a notify URL, each needing
one uncommon word (vocabulary ranks 3,000–40,000: a name, a topic word) and
one or two frequent content words (ranks ~150–3,000, below the function
words), some as a phrase, an OR or a NOT:

    wohutaer AND neejokaiment     doudeefeion AND "temamaed loureion"     (a OR b) AND c     a NOT c

Timed, each the median of `--repeat` runs:
  load      load_rules over the rules directory (parse + validate every file)
  match     `match_batch`: segment terms, skip rules lacking a required term,
            search the rest within the batch: in one process, then shared
            with a worker of the ingest's process pool (as `ingest` runs it;
            the target: 1,000 × 1,000 < 2 s on 2 cores)
  end-to-end `match_new_articles` with the pool: arm, match, snippets, record
            the alerts (one transaction); run once, since it empties the queue

Checked (exit 1 if not, with what failed): every generated rule loads, every
new article is queued for matching (stored, grouped into its story, indexed),
something matches, the pool's matches equal the one-process ones and what
`SearchIndex.search` finds for that rule over the whole index within the
batch (a sample of rules), and one alert is recorded per match.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks.bench_index import FUNCTION_WORDS, Corpus
from reader.alerts import PARALLEL_MIN_PAIRS, match_batch, match_new_articles
from reader.config import load_settings
from reader.index import SearchIndex
from reader.ingest import group_stories, update_index, worker_pool
from reader.models import ParsedArticle
from reader.rules import load_rules
from reader.store import IndexRow, Store

TARGET_SECONDS = 2.0  # 1,000 rules × 1,000 new articles, on 2 cores
RARE_FROM = 3000  # vocabulary rank where a rule's distinguishing word is drawn from


def parsed(row: IndexRow) -> ParsedArticle:
    return ParsedArticle(key=f"k{row.id}", title=row.title, link=row.link, published=row.date,
                         summary=row.summary, content=row.text, content_hash=f"h{row.id}")  # fmt: skip


def store_and_index(store: Store, index: SearchIndex, feed_id: int, rows: Sequence[IndexRow]) -> None:
    """Store articles as an ingest does (the trigger queues them for matching), then group and index them:
    matching takes only articles both grouped into their story and indexed (`articles_to_match`)."""
    for first in range(0, len(rows), 1000):
        chunk = rows[first : first + 1000]
        store.upsert_articles(feed_id, [parsed(r) for r in chunk], fulltext=False,
                              canonical={r.link: r.link for r in chunk})  # fmt: skip
    group_stories(store)
    update_index(store, index)


def rule_queries(corpus: Corpus, count: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    words = corpus.words

    def rare() -> str:  # a name or a topic word: in a few articles of a thousand, or in none
        return words[rnd.randrange(RARE_FROM, len(words))]

    def common() -> str:  # a frequent content word ("export", "chips"), below the function words
        return words[rnd.randrange(len(FUNCTION_WORDS), RARE_FROM)]

    shapes = [
        lambda: f"{rare()} AND {common()}",
        lambda: f'{rare()} AND "{common()} {common()}"',
        lambda: f"({rare()} OR {rare()}) AND {common()}",
        lambda: f"{rare()} NOT {common()}",
    ]
    return [rnd.choices(shapes, weights=(6, 2, 1, 1))[0]() for _ in range(count)]


def write_rules(rules_dir: Path, queries: Sequence[str]) -> None:
    rules_dir.mkdir(parents=True, exist_ok=True)
    for n, query in enumerate(queries):
        path = rules_dir / f"rule-{n:05d}.toml"
        path.write_text(f"query = '{query}'\nnotify = [\"json://127.0.0.1:9/bench\"]\n")
        path.chmod(0o600)


def median_time(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run_case(rules: int, batch: int, archive: int, repeat: int, seed: int) -> bool:
    """One scenario in a fresh data dir; prints its figures; returns whether the checks passed."""
    corpus = Corpus(seed=seed)
    with tempfile.TemporaryDirectory(prefix="bench-match-") as tmp:
        settings = load_settings(data_dir=Path(tmp) / "data", config_dir=Path(tmp) / "config",
                                 rules_dir=Path(tmp) / "rules")  # fmt: skip
        # The benchmark feed's articles are recent, but not from its first fetch: every one may alert.
        settings = replace(settings, alerts=replace(settings.alerts, first_fetch_hours=10**6))
        store, index = Store(settings.db_path), SearchIndex(settings.index_dir)
        feed, _ = store.add_feed("http://127.0.0.1:9/feed.xml", title="Bench")
        start = time.perf_counter()
        store_and_index(store, index, feed.id, corpus.rows(1, archive))
        store.record_matches([], [c.article_id for c in store.articles_to_match()])  # the archive is not new
        write_rules(settings.rules_dir, rule_queries(corpus, rules, seed))  # rules alert on what arrives after them
        store_and_index(store, index, feed.id, corpus.rows(archive + 1, batch))
        setup = time.perf_counter() - start
        ids = {c.article_id for c in store.articles_to_match()}

        load, ruleset = median_time(lambda: load_rules(settings.rules_dir), repeat)
        queries = [r.query for r in ruleset.rules]
        one_core, matched = median_time(lambda: match_batch(index, queries, ids), repeat)
        searched = matched.searched
        with worker_pool() as pool:
            cold, _ = median_time(lambda: match_batch(index, queries, ids, pool), 1)  # the worker opens the index
            match, shared = median_time(lambda: match_batch(index, queries, ids, pool), repeat)
            start = time.perf_counter()
            report = match_new_articles(settings, store, index, rules=ruleset, pool=pool)
            end_to_end = time.perf_counter() - start

        matches = sum(len(h) for h in matched.hits)
        failures = _failures(store, index, rules, batch, ruleset, matched, shared.hits, report, ids)
        label = f"{rules:,} rules × {batch:,} new articles (archive {archive:,})"
        verdict = "met" if match < TARGET_SECONDS else "MISSED"
        target = f"   target < {TARGET_SECONDS:g} s: {verdict}" if (rules, batch) == (1000, 1000) else ""
        warnings = len(ruleset.problems) - len(ruleset.errors)
        print(f"\n{label}   [setup {setup:.0f} s, not timed]")
        print(f"  load rules   {load:7.3f} s   ({len(ruleset.rules)} of {rules} loaded; {len(ruleset.errors)} errors, "
              f"{warnings} warnings)")  # fmt: skip
        print(f"  match        {one_core:7.3f} s   one process ({searched} rules searched, {rules - searched} "
              f"skipped; {matches} matches in {len(ids)} queued articles)")  # fmt: skip
        sharing = "shared with" if searched * batch >= PARALLEL_MIN_PAIRS else "too few to share with"
        print(f"  match        {match:7.3f} s   {sharing} the ingest's worker pool (first run {cold:.3f} s)"
              f"{target}")  # fmt: skip
        print(f"  end-to-end   {end_to_end:7.3f} s   ({len(report.new_alerts)} alerts recorded)")
        print(f"  checks       {'ok' if not failures else 'FAILED'}")
        for failure in failures:
            print(f"    - {failure}")
        store.close()
        index.close()
        return not failures


def _failures(store: Store, index: SearchIndex, rules: int, batch: int, ruleset, matched, shared_hits, report,
              ids: set[int]) -> list[str]:  # fmt: skip
    """What went wrong, if anything: a benchmark that loads no rule or matches nothing measures nothing."""
    failures = [f"rule {p.path.name} failed to load: {p.message.splitlines()[0]}" for p in ruleset.errors[:5]]
    if len(ruleset.rules) != rules:
        failures.append(f"{len(ruleset.rules)} of the {rules} generated rules loaded")
    if len(ids) != batch:
        failures.append(f"{len(ids)} of the {batch} new articles were queued for matching (stored, grouped, indexed)")
    failures += [f"rule {ruleset.rules[i].name} failed: {why}" for i, why in list(matched.failed.items())[:5]]
    matches = sum(len(h) for h in matched.hits)
    if not matches:
        failures.append(f"no rule matched any of the {len(ids)} new articles: nothing was measured")
    if shared_hits != matched.hits:
        failures.append("the matches shared with the worker pool differ from those made in one process")
    if not _same_as_search(index, ruleset.rules, matched.hits, ids):
        failures.append("matches differ from what a full-index search finds within the batch")
    story = {c.article_id: c.story_id for c in store.match_candidates(sorted(ids))}
    alerts = {(ruleset.rules[i].name, story.get(a, -a)) for i, hits in enumerate(matched.hits) for a in hits}
    if len(report.new_alerts) != len(alerts):  # one alert per rule and story (two matched rewrites: one alert)
        failures.append(f"{len(report.new_alerts)} alerts recorded for {len(alerts)} (rule, story) matches")
    return failures


def _same_as_search(index: SearchIndex, rules, hits, ids: set[int]) -> bool:
    """Matches equal full-index searches within the batch (a sample of rules)."""
    sample = random.Random(1).sample(range(len(rules)), min(50, len(rules)))
    return all(
        sorted(hits[i]) == sorted(h.article_id for h in index.search(rules[i].query, limit=None) if h.article_id in ids)
        for i in sample
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks match", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="only 1,000 rules × 1,000 articles, archive 2,000")
    parser.add_argument("--rules", type=int, help="run one scenario: this many rules…")
    parser.add_argument("--batch", type=int, default=1000, help="…against this many new articles")
    parser.add_argument("--archive", type=int, default=5000, help="articles already indexed before the batch")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timed step (median shown)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.rules:
        cases = [(args.rules, args.batch, args.archive)]
    elif args.quick:
        cases = [(1000, 1000, 2000)]
    else:
        cases = [(1000, 1000, args.archive), (50, 10_000, args.archive)]
    ok = all([run_case(r, b, a, args.repeat, args.seed) for r, b, a in cases])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
