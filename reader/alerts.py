"""Alerts: matching each new batch of articles against the rules, the outbox, and delivery.

It never fetches feeds, and one rule that fails never stops the others.

Matching is the search: a rule matches an article exactly when `reader search`
with the rule's query finds it (same parser, same index). Every new article is
queued for matching in the transaction that stores it; once it is indexed and
grouped into its story, the queue is matched as one batch — rules none of whose required terms occur in
the batch's segment are skipped, the rest are searched within the batch only.

A rule alerts once per story (reader/stories.py): the first matching article
of a story becomes the alert, recorded with a delivery per target in the same
transaction that takes the articles off the queue (the outbox); the story's
other articles, earlier or later, from any feed, join it as sources and send
nothing more unless the rule asks (`story_updates`, for outlets not yet among
its sources, or `outlets = N`: the alert goes out once N outlets carry the
story). A copy of an entry through another subscription of its feed joins its
twin's alert. A muted story alerts nothing. An article
whose text changes is matched again: a rule that now matches alerts, within
the same one-per-story rule. A rule left out of a batch (its file broken, or
it raised) is matched against that batch once it loads and matches again
(`Missed`). Delivery comes after, from the outbox: held until a digest time
or the end of quiet hours when the rule says so, retried with exponential
backoff (or the target's Retry-After) and given up visibly after
`max_attempts`. A delivery is marked sent the moment its target accepts it, so
a restart resends nothing already sent; only a crash in the instant between a
target's acceptance and that write can repeat one message (never lose one).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .config import Settings
from .health import (DELIVERY_FAILED, RULE_ERRORS_KEY, RuleError, active, note_rule_failures, note_rule_files,
                     record_event, record_recovery, rule_errors)
from .messages import Message
from .models import Alert, Delivery, DeliveryPlan, DeliveryState, MatchCandidate, NewAlert, SourceJoin
from .store import Store, utcnow
from .store.alerts import REFUSED
from .targets import Target, TargetBook, send, target_secret
from .text import clean_line

if TYPE_CHECKING:  # the index and the rules (Whoosh, numpy) load only when there is something to match
    from .index import ParsedQuery, SearchIndex, Snippet
    from .rules import Rule, RuleSet

log = logging.getLogger(__name__)

SEND_CONCURRENCY = 4  # targets notified at once
PARALLEL_MIN_PAIRS = 100_000  # rules × articles below which searching here beats sharing with worker processes
MAX_SHARES = 4  # processes searching one batch at most
RULE_RELOAD_WAIT = timedelta(minutes=5)  # a rule with an error keeps its alerts waiting this long between looks


# -- matching -----------------------------------------------------------------------------


@dataclass
class MatchReport:
    articles: int = 0  # new articles matched (taken off the queue)
    rules: int = 0  # alerting rules (enabled, with targets)
    searched: int = 0  # rules run against the batch; the others lacked a required term
    new_alerts: list[int] = field(default_factory=list)  # ids of the alerts created
    joined: int = 0  # articles recorded as one more source of an existing alert
    problems: list[str] = field(default_factory=list)  # rule files with errors: those rules were skipped
    failed: dict[str, str] = field(default_factory=dict)  # rule -> what it raised: left out of this batch


_logged_problems: set[str] = set()  # a long-running daemon logs each rule problem once, not every cycle


def load_alert_rules(settings: Settings) -> RuleSet:
    """The rules, as they are on disk now (edits apply without a restart); new problems are logged."""
    from .rules import load_rules

    ruleset = load_rules(settings.rules_dir, apprise_config=settings.alerts.apprise_config)
    for problem in ruleset.problems:
        text = str(problem)
        if text not in _logged_problems:
            _logged_problems.add(text)
            (log.warning if problem.severity == "error" else log.info)("%s", text)
    return ruleset


@dataclass
class BatchMatch:
    hits: list[list[int]]  # per query, in order: the ids it matched ([] for one that failed)
    searched: int  # queries run against the batch; the others lacked a required term
    failed: dict[int, str] = field(default_factory=dict)  # query number -> why it could not be matched


def match_batch(index: SearchIndex, queries: Sequence[ParsedQuery], ids: Collection[int],
                pool: Executor | None = None) -> BatchMatch:  # fmt: skip
    """Which of `ids` each query matches (in order), how many queries had to be searched, which failed.

    A query is searched only when every clause of its required terms has a
    term in the batch's segments; the search is then restricted to the batch.
    Many searches are shared between this process and `pool`'s. A query that
    raises anything is left out of this batch, with its error: the others run.
    """
    from .index import required_terms

    result = BatchMatch([[] for _ in queries], 0)
    if not ids:
        return result
    present = index.segment_terms(ids)
    wanted = []
    for i, q in enumerate(queries):
        try:
            if all(clause & present for clause in required_terms(q)):
                wanted.append(i)
        except Exception as exc:  # noqa: BLE001 - one bad rule must never stop the others
            result.failed[i] = describe_failure(exc)
    hits = _search_many(index, [queries[i] for i in wanted], ids, pool)
    for i, found in zip(wanted, hits):
        if isinstance(found, str):
            result.failed[i] = found
        else:
            result.hits[i] = found
    result.searched = len(wanted)
    return result


def search_batch(index: SearchIndex, queries: Sequence[ParsedQuery], ids: Collection[int]) -> list[list[int] | str]:
    """Per query, the ids of `ids` it matches, or (a string) why it could not be searched."""
    found: list[list[int] | str] = []
    for q in queries:
        try:
            found.append([hit.article_id for hit in index.search(q, limit=None, restrict=ids)])
        except Exception as exc:  # noqa: BLE001 - one bad rule must never stop the others
            found.append(describe_failure(exc))
    return found


def describe_failure(exc: BaseException) -> str:
    """One line on what a rule raised; a RecursionError's message says nothing a user can act on."""
    if isinstance(exc, RecursionError):
        return "the query is nested too deeply to evaluate (RecursionError); write it flatter"
    return clean_line(f"{type(exc).__name__}: {exc}", max_chars=300)


def _search_many(index: SearchIndex, queries: Sequence[ParsedQuery], ids: Collection[int],
                 pool: Executor | None) -> list[list[int] | str]:  # fmt: skip
    """The searches, split across the cores when there are many: a share per worker, the last one here."""
    ids = set(ids)
    shares = _shares(len(queries), len(ids)) if pool else 1
    size = max(1, -(-len(queries) // shares))
    chunks = [queries[start : start + size] for start in range(0, len(queries), size)] or [[]]
    futures = [pool.submit(search_in_worker, str(index.path), chunk, ids) for chunk in chunks[:-1]]
    here = search_batch(index, chunks[-1], ids)
    found: list[list[int] | str] = []
    for future, chunk in zip(futures, chunks):
        try:
            found += future.result()
        except Exception:  # noqa: BLE001 - a share the pool could not run (a query too deep to pickle): here
            found += search_batch(index, chunk, ids)
    return found + here


def _shares(queries: int, articles: int) -> int:
    if queries * articles < PARALLEL_MIN_PAIRS:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_SHARES, queries))


_worker_indexes: dict[str, SearchIndex] = {}  # a worker process opens the index once


def search_in_worker(index_dir: str, queries: Sequence[ParsedQuery], ids: Collection[int]) -> list[list[int] | str]:
    """`search_batch` in a worker process."""
    from .index import SearchIndex

    index = _worker_indexes.get(index_dir)
    if index is None:
        index = _worker_indexes[index_dir] = SearchIndex(Path(index_dir))
    return search_batch(index, queries, ids)


def match_new_articles(settings: Settings, store: Store, index: SearchIndex, *, now: datetime | None = None,
                       wait_for_pages: bool = True, rules: RuleSet | None = None,
                       pool: Executor | None = None) -> MatchReport:  # fmt: skip
    """Match the queued new articles against the rules and record the alerts (the outbox).

    A rule alerts only on articles that arrived after it was armed: when its
    file was written (or now, if that is earlier), recorded the first time a
    match meets the rule. Articles from a feed's first fetch alert only when
    published within `first_fetch_hours`. With `wait_for_pages`, articles
    whose page is still to be fetched wait for the next run. With many
    rules, `pool`'s processes share the searching. A rule left out of a batch
    (its file does not load, or it raised) is owed that batch: once it loads
    and matches again, what it missed is matched first (`Missed`).
    """
    now = now or utcnow()
    report = MatchReport()
    batch = store.articles_to_match(wait_for_pages=wait_for_pages)
    missed = Missed.load(store)
    if not batch and not missed.edited(settings.rules_dir):  # (a fetch that brings nothing loads no rule)
        return report
    ruleset = rules if rules is not None else load_alert_rules(settings)
    report.problems = [str(p) for p in ruleset.errors]
    note_rule_files(store, {p.path.name: str(p).splitlines()[0] for p in reversed(ruleset.errors)})  # (its first)
    alerting = [r for r in ruleset.rules if r.enabled and not r.is_saved_search]
    report.rules, report.articles = len(alerting), len(batch)
    armed = store.arm_rules({r.name: missed.since(r.name) or _written(r) for r in alerting})
    missed.forget(set(missed.rules) - {r.name for r in alerting} - {p.path.stem for p in ruleset.errors})
    caught_up: set[str] = set()
    for rule in (r for r in alerting if r.name in missed.rules):
        caught = _catch_up(settings, store, index, rule, missed, now, pool)
        report.new_alerts += caught.new_alerts
        report.joined += caught.joined
        report.failed.update(caught.failed)
        caught_up |= {rule.name} - caught.failed.keys()
    for name in missed.rules:  # (seen as they are: an edit that did not fix one is not tried again until the next)
        missed.seen(name, _file_time(settings.rules_dir, name))
    if not batch:
        _record_rule_errors(store, report.failed, ran=caught_up, known={r.name for r in ruleset.rules})
        if missed.changed:
            store.record_matches([], [], meta=missed.saved())
        return report
    muted = store.muted_stories(sorted({c.story_id for c in batch if c.story_id}), now)
    eligible = {c.article_id: c for c in batch
                if _may_alert(c, now, settings.alerts.first_fetch_hours) and c.story_id not in muted}  # fmt: skip
    found = _match(settings, store, index, alerting, eligible, armed, now, pool)
    report.searched, report.failed = found.searched, found.failed
    _record_rule_errors(store, report.failed, ran={r.name for r in alerting} - report.failed.keys(),
                        known={r.name for r in ruleset.rules})  # fmt: skip
    quiet = {p.path.stem for p in ruleset.errors if _quiet(p.path)}  # (paused, or a saved search: owes nothing)
    left_out = sorted(set(report.failed) | ({p.path.stem for p in ruleset.errors} - quiet))
    armed_before = store.armed(left_out)
    for name in left_out:
        missed.add(name, eligible, now, _file_time(settings.rules_dir, name), armed_before.get(name))
    missed.prune(now - timedelta(hours=settings.alerts.first_fetch_hours))
    created, report.joined = store.record_matches(found.new_alerts, [c.article_id for c in batch], found.joins,
                                                  meta=missed.saved() if missed.changed else None)  # fmt: skip
    report.new_alerts += created
    if created:
        log.info("%d new alert(s) from %d new article(s)", len(created), len(batch))
    return report


@dataclass
class _Found:
    """What matching a set of articles against some rules makes, before it is recorded."""

    new_alerts: list[NewAlert]
    joins: list[SourceJoin]
    searched: int
    failed: dict[str, str]  # rule -> what it raised


def _match(settings: Settings, store: Store, index: SearchIndex, alerting: Sequence[Rule],
           eligible: dict[int, MatchCandidate], armed: dict[str, datetime], now: datetime,
           pool: Executor | None) -> _Found:  # fmt: skip
    """The alerts and source joins `eligible` brings from `alerting` (one alert per rule and story)."""
    from .rules import allowed_feed_ids

    batch_match = match_batch(index, [r.query for r in alerting], set(eligible), pool)
    hits = batch_match.hits
    failed = {alerting[i].name: error for i, error in batch_match.failed.items()}
    feeds = store.feeds()
    allowed = {rule.name: allowed_feed_ids(rule, feeds) for rule in alerting}
    matches = sorted(
        ((rule, article_id)
         for rule, ids in zip(alerting, hits)
         for article_id in _admitted(rule, ids, eligible, armed[rule.name], allowed[rule.name])),
        key=lambda m: (eligible[m[1]].date or eligible[m[1]].arrived, m[1]),  # a story's alert is its first article
    )  # fmt: skip
    before = store.story_alerts(sorted({c.story_id for c in eligible.values() if c.story_id}))
    book = TargetBook(settings.alerts.apprise_config, target_secret(settings.data_dir))
    fresh, copies = _copies(store, [(r, i) for r, i in matches if (r.name, eligible[i].story_id) not in before],
                            eligible)  # fmt: skip
    taken = before | {(r.name, eligible[i].story_id) for r, i in matches}
    fresh += _crossings(store, index, alerting, eligible, taken, armed, allowed)
    new_alerts = _new_alerts(settings, store, book, fresh, now)
    stories = before | {(a.rule, a.story_id) for a in new_alerts}
    joins = _coverage(store, alerting, new_alerts, allowed)
    joins += _joins(store, book, alerting, eligible, stories, before, armed, allowed, now)
    joins += _copy_joins(store, book, copies, now)
    return _Found(new_alerts, joins, batch_match.searched, failed)


MISSED_KEY = "rules_missed"  # in the store's meta table: what rules left out of batches still owe


@dataclass
class Missed:
    """The articles each rule was left out of (its file did not load, or it raised while matching), by
    the hour they were matched without it, as runs of ids: {rule: {"since": ISO time, "from": ISO time,
    "hours": {hour: [[first, last], ...]}, "dropped": count, "written": its file's time}}. Only what arrived
    within `first_fetch_hours` is kept (like a new feed's first fetch: late news is no news); "dropped" counts
    the rest, so that the catch-up can say so. Only what arrived after the rule was armed, or for a rule that
    never loaded, after its file was written ("from"), is owed: the rule it becomes is armed from then."""

    rules: dict[str, dict] = field(default_factory=dict)
    changed: bool = False

    @classmethod
    def load(cls, store: Store) -> Missed:
        try:
            saved = json.loads(store.get_meta(MISSED_KEY) or "{}")
            kept = {name: entry for name, entry in saved.items() if _readable(entry)}
        except (ValueError, TypeError, AttributeError):  # unreadable: what it owed is lost, and said so
            saved, kept = None, {}
        if saved is None or len(kept) < len(saved):
            log.warning("the record of the articles rules missed while they had errors is unreadable%s; "
                        "those articles will not be matched against them",
                        f" for rule(s) {', '.join(sorted(set(saved) - set(kept)))}" if saved else "")  # fmt: skip
        return cls(kept, changed=saved is None or len(kept) < len(saved))

    def saved(self) -> dict[str, str]:
        return {MISSED_KEY: json.dumps(self.rules, sort_keys=True)}

    def add(self, rule: str, eligible: dict[int, MatchCandidate], now: datetime, written: int | None,
            armed: datetime | None) -> None:  # fmt: skip
        """The rule (armed at `armed`, if ever) was left out of matching `eligible` at `now`; its file was
        `written` then (ns)."""
        if rule not in self.rules:
            clock = datetime.now(UTC)  # (not `now`: whole seconds, and a test's may be any time)
            start = armed or min(clock, datetime.fromtimestamp(written / 1e9, UTC) if written else clock)
            self.rules[rule] = {"since": now.isoformat(), "from": start.isoformat(), "hours": {}, "dropped": 0}
        entry = self.rules[rule]
        ids = {i for i, c in eligible.items() if c.arrived > datetime.fromisoformat(entry["from"])}
        if ids:
            hour = now.astimezone(UTC).strftime("%Y-%m-%dT%H")
            entry["hours"][hour] = _runs(ids | _ids(entry["hours"].get(hour, [])))
        if ids or entry.get("written") != written:
            entry["written"] = written
            self.changed = True

    def seen(self, rule: str, written: int | None) -> None:
        """The rule's file as it is now (`written`, ns), looked at: `edited` is false until it is written again."""
        entry = self.rules.get(rule)
        if entry is not None and entry.get("written") != written:
            entry["written"] = written
            self.changed = True

    def since(self, rule: str) -> datetime | None:
        """From when the rule owes articles: a rule that never loaded is armed from then, once it does."""
        entry = self.rules.get(rule)
        return datetime.fromisoformat(entry["from"]) if entry else None

    def edited(self, rules_dir: Path) -> bool:
        """Whether a rule that owes articles had its file written (or removed) since it was left out: only then
        may it match again without a new batch (one that raised is tried again with the next batch)."""
        return any(entry.get("written") != _file_time(rules_dir, name) for name, entry in self.rules.items())

    def prune(self, cutoff: datetime) -> None:
        """Forget the hours wholly before `cutoff`, counting their articles as dropped."""
        oldest = (cutoff - timedelta(hours=1)).astimezone(UTC).strftime("%Y-%m-%dT%H")
        for entry in self.rules.values():
            for hour in [h for h in entry["hours"] if h <= oldest]:
                entry["dropped"] += len(_ids(entry["hours"].pop(hour)))
                self.changed = True

    def forget(self, rules: Iterable[str]) -> None:
        for name in rules:
            if self.rules.pop(name, None) is not None:
                self.changed = True

    def owed(self, rule: str) -> set[int]:
        return {i for runs in self.rules.get(rule, {}).get("hours", {}).values() for i in _ids(runs)}


def _readable(entry: object) -> bool:
    """Whether a saved `Missed` entry has what its methods read (a damaged one would fail every run)."""
    try:
        datetime.fromisoformat(entry["since"]), datetime.fromisoformat(entry["from"])  # type: ignore[index]
        runs = [run for runs in entry["hours"].values() for run in runs]  # type: ignore[index]
        pairs = all(len(run) == 2 and all(isinstance(i, int) for i in run) for run in runs)
        return pairs and isinstance(entry["dropped"], int)  # type: ignore[index]
    except (KeyError, TypeError, ValueError, AttributeError):
        return False


def _file_time(rules_dir: Path, rule: str) -> int | None:
    try:
        return (rules_dir / f"{rule}.toml").stat().st_mtime_ns
    except OSError:
        return None


def _quiet(path: Path) -> bool:
    """Whether a rule file that does not load says `enabled = false`, or has no `notify` (a saved search), at
    its top (before any table): a typo made while editing a paused rule or a saved search must not make it owe,
    and then alert on, what arrived while it alerted on nothing."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    top = re.split(r"^\s*\[", text, maxsplit=1, flags=re.MULTILINE)[0]
    paused = re.search(r"^\s*enabled\s*=\s*false\s*(#.*)?$", top, re.MULTILINE) is not None
    return paused or re.search(r"^\s*notify\s*=", top, re.MULTILINE) is None


def _runs(ids: Iterable[int]) -> list[list[int]]:
    """Sorted ids as runs [first, last] of consecutive ids (a batch of new articles is one run, or a few)."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def _ids(runs: Iterable[Sequence[int]]) -> set[int]:
    return {i for first, last in runs for i in range(first, last + 1)}


def _catch_up(settings: Settings, store: Store, index: SearchIndex, rule: Rule, missed: Missed, now: datetime,
              pool: Executor | None) -> MatchReport:  # fmt: skip
    """Match `rule`, loaded again, against the articles it was left out of, as if it had been there: its alerts
    (one per story; `story_updates` and `outlets` as usual) are recorded, and what it owed forgotten, in one
    transaction. A rule that still raises keeps what it owes for the next batch."""
    report = MatchReport()
    missed.prune(now - timedelta(hours=settings.alerts.first_fetch_hours))
    owed, entry = missed.owed(rule.name), missed.rules[rule.name]
    candidates = store.match_candidates(sorted(owed))
    muted = store.muted_stories(sorted({c.story_id for c in candidates if c.story_id}), now)
    eligible = {c.article_id: c for c in candidates if c.story_id not in muted}
    found = _match(settings, store, index, [rule], eligible, {rule.name: datetime.min.replace(tzinfo=UTC)}, now,
                   pool)  # fmt: skip
    if found.failed:  # (recorded and logged once as the rule's error, as in matching)
        report.failed = found.failed
        return report
    missed.forget([rule.name])
    report.new_alerts, report.joined = store.record_matches(found.new_alerts, [], found.joins, meta=missed.saved())
    dropped = f"; {entry['dropped']} that arrived more than [alerts] first_fetch_hours " \
              f"({settings.alerts.first_fetch_hours}) ago were not" if entry["dropped"] else ""  # fmt: skip
    if not owed and not dropped:
        return report
    (log.warning if dropped else log.info)(
        "rule %s: the %d article(s) that arrived while it was left out of matching (since %s UTC) were matched "
        "against it: %d new alert(s)%s", rule.name, len(owed), entry["since"][:16].replace("T", " "),
        len(report.new_alerts), dropped)  # fmt: skip
    return report


def _record_rule_errors(store: Store, failed: dict[str, str], *, ran: set[str], known: set[str]) -> None:
    """Keep each failing rule's error (logged once, and told once through [health] notify), forget those of
    rules that ran cleanly or are gone (and tell that it is over)."""
    errors = {name: e for name, e in rule_errors(store).items() if name in known and name not in ran}
    for name, error in failed.items():
        if name not in errors or errors[name].error != error:
            log.error("rule %s failed while matching and was left out of this batch (the others ran): %s", name, error)
        errors[name] = RuleError(error, utcnow())
    saved = {name: {"error": e.error, "at": e.at.isoformat()} for name, e in sorted(errors.items())}
    if saved != json.loads(store.get_meta(RULE_ERRORS_KEY) or "{}"):
        store.set_meta(RULE_ERRORS_KEY, json.dumps(saved))
    note_rule_failures(store, {name: e.error for name, e in errors.items()})


def _written(rule: Rule) -> datetime:
    """When the rule's file was last written (never later than now): the rule is armed from then."""
    now = datetime.now(UTC)
    try:
        return min(datetime.fromtimestamp(rule.path.stat().st_mtime, UTC), now)
    except OSError:  # removed since it was loaded
        return now


def _may_alert(candidate: MatchCandidate, now: datetime, first_fetch_hours: int) -> bool:
    """An article of a feed's first fetch alerts only if it is recent (no flood from a new feed)."""
    if not candidate.first_fetch:
        return True
    return candidate.date is not None and candidate.date >= now - timedelta(hours=first_fetch_hours)


def _admitted(rule: Rule, ids: Iterable[int], batch: dict[int, MatchCandidate], armed_at: datetime,
              feed_ids: frozenset[int] | None) -> list[int]:  # fmt: skip
    """The matched articles the rule may alert on: arrived after it was armed, from its feeds."""
    return [
        i for i in ids
        if batch[i].arrived > armed_at and (feed_ids is None or batch[i].feed_id in feed_ids)
    ]  # fmt: skip


def _joins(store: Store, book: TargetBook, rules: Sequence[Rule], eligible: dict[int, MatchCandidate],
           stories: set[tuple[str, int]], before: set[tuple[str, int]], armed: dict[str, datetime],
           allowed: dict[str, frozenset[int] | None], now: datetime) -> list[SourceJoin]:  # fmt: skip
    """Every article of the batch whose story has (or is getting) an alert from a rule joins that alert
    as a source, matching the rule's words or not: the story is what the alert is about. A source
    joining an alert made before this batch sends what the rule's `story_updates` asks."""
    by_story: dict[int, list[int]] = defaultdict(list)
    for article_id in sorted(eligible):
        if eligible[article_id].story_id:
            by_story[eligible[article_id].story_id].append(article_id)
    wanted = [(rule, sid) for rule in rules for sid in sorted(by_story) if (rule.name, sid) in stories]
    if not wanted:
        return []
    articles = store.articles_by_ids(sorted({i for _r, sid in wanted for i in by_story[sid]}))
    joins = []
    for rule, sid in wanted:
        targets = book.targets(rule.notify)
        ids = _admitted(rule, by_story[sid], eligible, armed[rule.name], allowed[rule.name])
        for article_id in ids:
            a = articles.get(article_id)
            if a is None:
                continue
            updates = () if (rule.name, sid) not in before else _update_plans(rule, targets, article_id, now)
            joins.append(SourceJoin(rule.name, sid, article_id, a.feed_title, a.link, updates,
                                    tuple(_plan(rule, t, now) for t in targets), rule.outlets))  # fmt: skip
    return joins


def _coverage(store: Store, rules: Sequence[Rule], new_alerts: Sequence[NewAlert],
              allowed: dict[str, frozenset[int] | None]) -> list[SourceJoin]:  # fmt: skip
    """A new alert's story may have run before: before the rule was written, or in articles the rule's words do
    not match. Those articles (from the rule's feeds) join the alert as sources, sending nothing of their own,
    so that `outlets = N` counts the story's whole coverage: a story that four outlets ran before the rule was
    written goes out when a fifth brings a match. A story with no new match alerts nothing, as for any rule."""
    stories = sorted({a.story_id for a in new_alerts if a.story_id})
    if not stories:
        return []
    coverage: dict[int, list[tuple]] = defaultdict(list)
    for row in store.story_coverage(stories):
        coverage[row[0]].append(row)
    by_name = {rule.name: rule for rule in rules}
    joins = []
    for alert in new_alerts:
        feeds = allowed[alert.rule]
        joins += [SourceJoin(alert.rule, sid, article_id, title or "", link, (), alert.deliveries,
                             by_name[alert.rule].outlets)
                  for sid, article_id, feed_id, title, link in coverage.get(alert.story_id or 0, ())
                  if article_id != alert.article_id and (feeds is None or feed_id in feeds)]  # fmt: skip
    return joins


def _crossings(store: Store, index: SearchIndex, rules: Sequence[Rule], eligible: dict[int, MatchCandidate],
               taken: set[tuple[str, int]], armed: dict[str, datetime],
               allowed: dict[str, frozenset[int] | None]) -> list[tuple[Rule, int]]:  # fmt: skip
    """Stories this batch brings to a rule's `outlets` (from fewer) whose new articles the rule's words do not
    match, but an earlier article does (it came before the rule was written): "tell me when five outlets run
    it" is told when the fifth runs it, in whatever words. Returns (rule, the earliest matching article), to
    alert on as on a match. `taken`: (rule, story) that have or get an alert."""
    found: list[tuple[Rule, int]] = []
    for rule in (r for r in rules if r.outlets > 1):
        new: dict[int, set[int]] = defaultdict(set)
        for i in _admitted(rule, eligible, eligible, armed[rule.name], allowed[rule.name]):
            if eligible[i].story_id and (rule.name, eligible[i].story_id) not in taken:
                new[eligible[i].story_id].add(i)
        feeds = allowed[rule.name]
        coverage: dict[int, list[tuple]] = defaultdict(list)
        for row in store.story_coverage(sorted(new)) if new else ():
            if feeds is None or row[2] in feeds:
                coverage[row[0]].append(row)
        earlier: dict[int, list[int]] = {}  # story -> its articles before this batch, if the batch crosses
        for sid, rows in coverage.items():
            before = {row[3] for row in rows if row[1] not in new[sid]}
            if len(before) < rule.outlets <= len({row[3] for row in rows}):
                earlier[sid] = [row[1] for row in rows if row[1] not in new[sid]]
        hits = search_batch(index, [rule.query], {i for ids in earlier.values() for i in ids})[0] if earlier else []
        if isinstance(hits, str):  # (the rule failed: it is reported when the batch is matched)
            continue
        hit = set(hits)
        found += [(rule, matched[0]) for ids in earlier.values() if (matched := [i for i in ids if i in hit])]
    return found


def _copies(store: Store, matches: list[tuple[Rule, int]], eligible: dict[int, MatchCandidate],
            ) -> tuple[list[tuple[Rule, int]], list[tuple[Rule, int, int | None, int]]]:  # fmt: skip
    """Split `matches` (in date order) into those that alert and copies: an article another subscription of
    its feed (the feed subscribed twice, or under two URLs) brought too. A copy alerts nothing: it joins the
    alert its twin is a source of, one made earlier (alert id) or in this batch (story id), as (rule, article,
    alert id or None, story id). The grouper may have put a copy in a story of its own (its link differs)."""
    twins = store.copies(sorted({i for _rule, i in matches}))
    if not twins:
        return matches, []
    made = store.source_alerts(sorted({t for found in twins.values() for t in found}))
    fresh: list[tuple[Rule, int]] = []
    copies: list[tuple[Rule, int, int | None, int]] = []
    alerting: dict[tuple[str, int], int] = {}  # (rule, article) -> its story, for the alerts made now
    for rule, i in matches:
        twin = [t for t in twins.get(i, ()) if (rule.name, t) in made or (rule.name, t) in alerting]
        if not twin:
            fresh.append((rule, i))
            alerting[(rule.name, i)] = eligible[i].story_id or 0
        elif (rule.name, twin[0]) in made:
            copies.append((rule, i, made[(rule.name, twin[0])], 0))
        else:
            copies.append((rule, i, None, alerting[(rule.name, twin[0])]))
    return fresh, copies


def _copy_joins(store: Store, book: TargetBook, copies: list[tuple[Rule, int, int | None, int]],
                now: datetime) -> list[SourceJoin]:  # fmt: skip
    """The copies joining their twins' alerts: the same outlet, so they send nothing."""
    if not copies:
        return []
    articles = store.articles_by_ids(sorted({i for _rule, i, _alert, _story in copies}))
    return [SourceJoin(rule.name, story, i, articles[i].feed_title, articles[i].link, (),
                       tuple(_plan(rule, t, now) for t in book.targets(rule.notify)), rule.outlets, alert_id=alert)
            for rule, i, alert, story in copies if i in articles]  # fmt: skip


def _update_plans(rule: Rule, targets: Sequence[Target], article_id: int, now: datetime) -> tuple[DeliveryPlan, ...]:
    """What a later outlet of an alerted story sends: nothing, a message now, or one at the next digest time."""
    if rule.story_updates == "every":
        state, due, batch = DeliveryState.PENDING, now, f"update {article_id}"
    elif rule.story_updates == "digest":
        due = next_digest(rule, now)
        state, batch = DeliveryState.HELD, f"updates {due.isoformat()}"
    else:
        return ()
    return tuple(DeliveryPlan(t.key, t.label, state, due, batch=batch, update_of=article_id) for t in targets)


def _new_alerts(settings: Settings, store: Store, book: TargetBook, matches: list[tuple[Rule, int]],
                now: datetime) -> list[NewAlert]:  # fmt: skip
    if not matches:
        return []
    articles = store.articles_by_ids(sorted({i for _rule, i in matches}), with_text=True)
    canonical = store.canonical_urls(list(articles))
    targets = {rule.name: book.targets(rule.notify) for rule, _i in matches}
    for name in (name for name, found in targets.items() if not found):
        log.warning("rule %s matched, but none of its notify entries names a target (see `reader rules check`)", name)
    alerts = []
    for rule, article_id in matches:
        article = articles.get(article_id)
        if article is None:  # deleted meanwhile
            continue
        snippet = _snippet(rule.query, article)
        alerts.append(NewAlert(
            rule=rule.name, article_id=article_id, canonical_url=canonical.get(article_id) or None,
            title=article.title, link=article.link, published=article.published or article.updated,
            feed_title=article.feed_title, snippet=snippet.text, spans=snippet.spans,
            deliveries=tuple(_plan(rule, t, now) for t in targets[rule.name]),
            story_id=article.story_id, outlets=rule.outlets,
        ))  # fmt: skip
    return alerts


def _snippet(query: ParsedQuery, article) -> Snippet:
    """The passage that shows why the article matched; none if it cannot be worked out (the rule
    matched: alert without a passage rather than not at all)."""
    from .index import Snippet, article_snippet

    try:
        return article_snippet(query, article)
    except Exception:  # noqa: BLE001
        log.exception("no passage for a match of %r", query.text[:80])
        return Snippet("", ())


def _plan(rule: Rule, target: Target, now: datetime) -> DeliveryPlan:
    if rule.mode == "digest":
        due = next_digest(rule, now)
        return DeliveryPlan(target.key, target.label, DeliveryState.HELD, due, batch=f"digest {due.isoformat()}")
    return DeliveryPlan(target.key, target.label, DeliveryState.PENDING, now)


# -- schedules: digests and quiet hours ----------------------------------------------------------


def _zone(rule: Rule) -> tzinfo | None:
    """The rule's time zone; None means the system's local zone."""
    return ZoneInfo(rule.timezone) if rule.timezone else None


def _at(day: date, time_of_day: time, zone: tzinfo | None) -> datetime:
    naive = datetime.combine(day, time_of_day)
    return naive.replace(tzinfo=zone) if zone else naive.astimezone()


def next_digest(rule: Rule, now: datetime) -> datetime:
    """The first of the rule's digest times after `now`."""
    from .rules import DEFAULT_DIGEST_AT

    zone = _zone(rule)
    local = now.astimezone(zone)
    at = rule.digest_at or DEFAULT_DIGEST_AT  # story_updates = "digest" on a rule without digest times
    times = [_at(local.date() + timedelta(days=d), t, zone) for d in (0, 1, 2) for t in at]
    return min(t for t in times if t > now)


def quiet_until(rule: Rule, now: datetime) -> datetime | None:
    """The end of the rule's quiet hours, if `now` is inside them."""
    hours = rule.quiet_hours
    if hours is None:
        return None
    zone = _zone(rule)
    local = now.astimezone(zone)
    if not hours.contains(local.time()):
        return None
    end = _at(local.date(), hours.end, zone)
    return end if end > now else _at(local.date() + timedelta(days=1), hours.end, zone)


# -- delivery -----------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: int = 0  # messages a target accepted
    failed: int = 0  # messages that failed (retried later, or given up)
    held: int = 0  # deliveries held back by quiet hours
    given_up: int = 0  # deliveries that reached max_attempts
    errors: list[str] = field(default_factory=list)  # one line per failed message, secrets masked
    requeued: int = 0  # deliveries given up while their target was down, due again now it is back


@dataclass
class _Outgoing:
    """One message to one target, and the deliveries it settles."""

    target: Target
    message: Message
    deliveries: list[Delivery]


async def deliver_due(settings: Settings, store: Store, *, now: datetime | None = None,
                      rules: RuleSet | None = None) -> DeliveryReport:  # fmt: skip
    """Send every delivery whose time has come, each result recorded as soon as it is known."""
    now = now or utcnow()
    report = DeliveryReport()
    due = await asyncio.to_thread(store.due_deliveries, now)
    if not due:
        return report
    ruleset = rules if rules is not None else await asyncio.to_thread(load_alert_rules, settings)
    alerts = await asyncio.to_thread(store.alerts_by_ids, sorted({d.alert_id for d in due}))
    outgoing = await asyncio.to_thread(_plan_messages, settings, store, ruleset, due, alerts, now, report)
    by_target: dict[str, list[_Outgoing]] = defaultdict(list)
    for out in outgoing:
        by_target[out.target.key].append(out)
    limit = asyncio.Semaphore(SEND_CONCURRENCY)

    async def to_target(messages: list[_Outgoing]) -> None:
        async with limit:
            await _send_in_turn(settings, store, messages, now, report)

    await asyncio.gather(*(to_target(messages) for messages in by_target.values()))
    if report.requeued:  # a target back from an outage: what it had given up on goes out now, oldest first
        again = await deliver_due(settings, store, now=now, rules=ruleset)
        report.sent, report.failed, report.held = report.sent + again.sent, report.failed + again.failed, \
            report.held + again.held  # fmt: skip
        report.given_up, report.errors = report.given_up + again.given_up, report.errors + again.errors
    return report


def _plan_messages(settings: Settings, store: Store, ruleset: RuleSet, due: list[Delivery],
                   alerts: dict[int, Alert], now: datetime, report: DeliveryReport) -> list[_Outgoing]:  # fmt: skip
    """Group due deliveries into messages; hold what quiet hours hold; settle what cannot be sent."""
    book = TargetBook(settings.alerts.apprise_config, target_secret(settings.data_dir))
    rules = {rule.name: rule for rule in ruleset.rules}
    targets = {rule.name: {t.key: t for t in book.targets(rule.notify)} for rule in ruleset.rules}
    groups: dict[tuple[str, str, str], list[Delivery]] = defaultdict(list)
    for d in due:
        alert = alerts[d.alert_id]
        rule = rules.get(alert.rule)
        if rule is None:
            _rule_missing(settings, store, d, alert, now)
        elif d.target not in targets[rule.name]:
            store.delivery_failed([d.id], error=f"the rule no longer sends to {d.label}", retry_at=None)
        elif until := quiet_until(rule, now):  # nothing goes out in quiet hours; what is held goes together
            store.hold_deliveries([d.id], until=until, batch=f"quiet {until.isoformat()}")
            report.held += 1
        else:
            groups[(d.target, rule.name, d.batch or f"alert {d.alert_id}")].append(d)
    return [
        _Outgoing(targets[name][key], _message(rules[name], [alerts[i] for i in dict.fromkeys(d.alert_id for d in ds)]),
                  ds)  # an alert's later sources (story_updates) may share its message: listed once
        for (key, name, _batch), ds in groups.items()
    ]  # fmt: skip


def _rule_missing(settings: Settings, store: Store, d: Delivery, alert: Alert, now: datetime) -> None:
    """A deleted rule's alerts are given up; an invalid rule's wait for it to be fixed."""
    if (settings.rules_dir / f"{alert.rule}.toml").is_file():
        store.postpone_deliveries([d.id], until=now + RULE_RELOAD_WAIT,
                                  note=f"the rule {alert.rule} has an error (see `reader rules check`)")  # fmt: skip
    else:
        store.delivery_failed([d.id], error=f"the rule {alert.rule} no longer exists", retry_at=None)


def _message(rule: Rule, alerts: list[Alert]) -> Message:
    ordered = sorted(alerts, key=lambda a: (a.published or a.created_at, a.id))
    return Message(rule.display_title, tuple(ordered), rule.timezone)


async def _send_in_turn(settings: Settings, store: Store, messages: list[_Outgoing], now: datetime,
                        report: DeliveryReport) -> None:  # fmt: skip
    """Send one target's messages in turn; once it is unreachable (no answer, 5xx, 429), the rest wait for the
    failed one's next attempt, as they do for one failed so earlier: after an outage they go out in order, and
    only the oldest spends attempts. A message the target refused for what it says (another 4xx), or one given
    up and requeued, is retried alone and holds no other back."""
    if waiting := await asyncio.to_thread(store.target_retry_at, messages[0].target.key, now):
        await asyncio.to_thread(store.postpone_deliveries, [d.id for out in messages for d in out.deliveries],
                                until=waiting,
                                note=f"waiting: an earlier message to {messages[0].target.label} failed")  # fmt: skip
        return
    for i, out in enumerate(messages):
        result = await send(out.target, out.message, timeout=settings.alerts.send_timeout)
        ids = [d.id for d in out.deliveries]
        if result.ok:
            await asyncio.to_thread(store.delivery_sent, ids, utcnow())
            requeued = await asyncio.to_thread(_requeue_given_up, settings, store, out.target, now)
            if not requeued:  # (else once those went out, or were given up for good, saying why)
                await asyncio.to_thread(record_recovery, store, DELIVERY_FAILED, out.target.key)
            report.sent += 1
            log.info("sent %r to %s (%d alert(s))", out.message.title, out.target.label, len(ids))
            if requeued:  # the rest go after those, in the order they were made
                report.requeued += requeued
                later = [d.id for rest in messages[i + 1 :] for d in rest.deliveries]
                await asyncio.to_thread(store.postpone_deliveries, later, until=now,
                                        note="waiting: alerts given up earlier go first")  # fmt: skip
                return
            continue
        report.failed += 1
        report.errors.append(f"{out.target.label}: {result.error}")
        requeued = min(d.attempts for d in out.deliveries) >= settings.alerts.max_attempts
        error = f"{result.error} {REFUSED}" if result.refused else result.error
        retry_at = await asyncio.to_thread(_record_failure, settings, store, out, error, result.retry_at, now)
        if retry_at is None:
            report.given_up += len(ids)
        if result.refused or requeued:
            continue
        later = [d.id for rest in messages[i + 1 :] for d in rest.deliveries]
        if later:
            await asyncio.to_thread(store.postpone_deliveries, later, until=retry_at or now + _backoff(settings, 1),
                                    note=f"waiting: {out.target.label} failed: {result.error}")  # fmt: skip
        return


def _requeue_given_up(settings: Settings, store: Store, target: Target, now: datetime) -> int:
    """The target accepted a message after giving up on others (its DELIVERY_FAILED raised): those given up
    since then are due `now` again, with fresh attempts. Returns how many."""
    down = [c for c in active(store) if c.kind == DELIVERY_FAILED and c.subject == target.key]
    if not down:
        return 0
    since = datetime.fromisoformat(down[0].since) - timedelta(seconds=settings.alerts.retry_max_seconds)
    count = store.requeue_given_up(target.key, attempts=settings.alerts.max_attempts, since=since, at=now)
    if count:
        log.info("%d alert(s) given up while %s was down are sent again", count, target.label)
    return count


def _record_failure(settings: Settings, store: Store, out: _Outgoing, error: str, target_retry_at: datetime | None,
                    now: datetime) -> datetime | None:  # fmt: skip
    """Count the attempt; schedule the next one, or give up after max_attempts. Returns when to retry."""
    attempts = max(d.attempts for d in out.deliveries) + 1
    ids = [d.id for d in out.deliveries]
    if attempts > settings.alerts.max_attempts:  # requeued once the target was back, and failed again
        store.delivery_failed(ids, error=error, retry_at=None)
        log.error("gave up for good sending %r to %s: %s", out.message.title, out.target.label, error)
        record_event(store, DELIVERY_FAILED, out.target.key, title=f"Alerts not delivered: {out.target.label}",
                     detail=f"{out.message.title!r} failed again once {out.target.label} was back: "
                            f"{error.rstrip('.')}. It is not sent again by itself; 'reader alerts retry' sends it.")
        return None
    if attempts >= settings.alerts.max_attempts:
        store.delivery_failed(ids, error=error, retry_at=None)
        log.error("gave up sending %r to %s after %d attempts: %s", out.message.title, out.target.label,
                  attempts, error)  # fmt: skip
        record_event(store, DELIVERY_FAILED, out.target.key, title=f"Alerts not delivered: {out.target.label}",
                     detail=f"{out.message.title!r} could not be delivered to {out.target.label} after {attempts} "
                            f"attempts: {error.rstrip('.')}. It is sent again once the target accepts a message; "
                            "'reader alerts retry' sends it now.")  # fmt: skip
        return None
    retry_at = now + _backoff(settings, attempts)
    if target_retry_at and target_retry_at > retry_at:
        retry_at = min(target_retry_at, now + timedelta(seconds=settings.alerts.retry_max_seconds))
    store.delivery_failed(ids, error=error, retry_at=retry_at)
    log.warning("sending %r to %s failed (attempt %d; next at %s): %s", out.message.title, out.target.label,
                attempts, retry_at.strftime("%H:%M:%S UTC"), error)  # fmt: skip
    return retry_at


def _backoff(settings: Settings, attempts: int) -> timedelta:
    """Exponential: base, 2×base, 4×base… capped at retry_max_seconds."""
    a = settings.alerts
    return timedelta(seconds=min(a.retry_max_seconds, a.retry_base_seconds * 2 ** (attempts - 1)))


async def retry_undelivered(settings: Settings, store: Store) -> tuple[int, DeliveryReport]:
    """Make every failed or retrying delivery due now (fresh attempts), and send what is due."""
    count = await asyncio.to_thread(store.retry_deliveries, utcnow())
    return count, await deliver_due(settings, store)
