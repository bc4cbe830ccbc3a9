"""The watcher: feeds failing or silent, alerts that could not be delivered, index repairs and rules that stop
alerting become one health alert each through the user's own targets ([health] notify), and one more when each
recovers.

It never announces one condition twice: what was raised, and to which target it went, is kept in the
store (its meta table), so a condition that lasts a hundred cycles is one message, and a restart
resends nothing. Conditions come from two places: the watcher looks at the store after each refresh
(feeds failing `failing_cycles` refreshes in a row; feeds silent for max(7 days, 10× their median
gap)), and other parts report events as they happen (`record_event` / `record_recovery`: a delivery
given up, the index damaged and repaired). The daemon's own faults, which the store may be what fails
for, are kept in its memory instead (`Troubles`), and told the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings
from .logs import redact_secrets
from .models import Feed, FetchStatus
from .store import ArticleFilter, Store, utcnow
from .text import clean_line
from .urls import redact_url, same_feed_notes

if TYPE_CHECKING:  # messages load Apprise's formats: not for the TUI's status bar, which reads conditions
    from .messages import Notice

log = logging.getLogger(__name__)

FEED_FAILING = "feed_failing"
FEED_SILENT = "feed_silent"
DELIVERY_FAILED = "delivery_failed"  # reported by reader.alerts when a delivery is given up
INDEX_DAMAGED = "index_damaged"  # reported by the index's repair: raised when found, recovered when rebuilt
RULE_BROKEN = "rule_broken"  # reported by the matcher: a rule file that does not load alerts on nothing
FEEDS_DOWN = "feeds_down"  # every feed failing at once (the network down): one condition, subject "all"
RULE_FAILING = "rule_failing"  # reported by the matcher: a rule that raises while matching is left out
WATCHED = (FEED_FAILING, FEED_SILENT, FEEDS_DOWN)  # the kinds the watcher works out itself; the others are events
RECOVERED = {
    FEED_FAILING: "it was refreshed successfully again",
    FEED_SILENT: "it has new articles again",
    DELIVERY_FAILED: "it accepted a notification again",
    FEEDS_DOWN: "feeds are refreshed successfully again",
    INDEX_DAMAGED: "the search index was repaired from the database",
    RULE_BROKEN: "it loads again, and the articles that arrived meanwhile are matched against it (or it was removed)",
    "daemon_failing": "its refreshes work again",
    "config_broken": "it loads again, and its settings apply",
    RULE_FAILING: "it matches again, the articles it was left out of too (or it was removed)",
}
STATE_KEY = "health"  # in the store's meta table
MIN_SILENCE = timedelta(days=7)
SILENCE_GAPS = 10  # a feed is silent after this many of its usual (median) gaps, and never before MIN_SILENCE
GAP_SAMPLE = 50  # the newest articles a feed's usual gap is measured on


@dataclass
class Condition:
    """Something that needs the user, as raised; `sent_to`/`recovery_sent_to` are target keys."""

    kind: str
    subject: str  # what it is about: a feed id, a target key, "index"
    title: str  # one line: "Feed failing: Chip Wire"
    detail: str  # what, where, the last error
    since: str  # ISO time it was raised
    recovered: bool = False
    announced: bool = False  # logged, and accepted by every target
    sent_to: list[str] = field(default_factory=list)
    recovery_sent_to: list[str] = field(default_factory=list)
    recovery_title: str = ""  # default: "Recovered: " and what the title is about

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"

    def notice(self) -> Notice:
        from .messages import Notice

        return Notice(self.title, (self.detail,))

    def recovery(self) -> Notice:
        from .messages import Notice

        name = self.title.split(": ", 1)[-1]
        return Notice(self.recovery_title or f"Recovered: {name}",
                      (f"{name}: {RECOVERED.get(self.kind, 'it recovered')}.", f"(It was: {self.detail})"))


# -- state in the store ---------------------------------------------------------------------------


def _load(store: Store) -> dict[str, Condition]:
    try:
        saved = json.loads(store.get_meta(STATE_KEY) or "{}")
        return {key: Condition(**entry) for key, entry in saved.items()}
    except (ValueError, TypeError):  # unreadable: start again (at worst, one condition is said twice)
        return {}


def _save(store: Store, state: dict[str, Condition]) -> None:
    store.set_meta(STATE_KEY, json.dumps({key: asdict(c) for key, c in sorted(state.items())}))


EVENT_TITLES = {INDEX_DAMAGED: ("Search index damaged", "Search index repaired")}  # (raised, recovered)


def record_event(store: Store, kind: str, subject: str, detail: str, *, title: str = "") -> None:
    """Raise a condition reported by another part (DELIVERY_FAILED, INDEX_DAMAGED); announced once by the
    next `watch`, however often it is recorded before it recovers. Safe to call from any thread.

    The index's repair calls `record_event(store, INDEX_DAMAGED, "index", "what was found")` when it finds
    damage, and `record_recovery(store, INDEX_DAMAGED, "index")` once the rebuild is done."""
    state = _load(store)
    default, recovered = EVENT_TITLES.get(kind, (f"{kind.replace('_', ' ').capitalize()}: {subject}", ""))
    _raise(state, Condition(kind, subject, clean_line(title or default, 200), clean_line(detail, 600),
                            utcnow().isoformat(), recovery_title=recovered))  # fmt: skip
    _save(store, state)


def _raise(state: dict[str, Condition], condition: Condition) -> None:
    """Raise `condition` (logged once); if it is raised already, only bring its detail up to date."""
    found = state.get(condition.key)
    if found is None or found.recovered:
        state[condition.key] = condition
        log.warning("%s: %s", condition.title, condition.detail)
    else:
        found.detail = condition.detail


def record_recovery(store: Store, kind: str, subject: str) -> None:
    """The condition `record_event` raised is over; the next `watch` says so once (if it had said it)."""
    state = _load(store)
    found = state.get(f"{kind}:{subject}")
    if found is not None and not found.recovered:
        found.recovered = True
        log.info("recovered: %s", found.title)
        _save(store, state)


def note_rule_files(store: Store, broken: dict[str, str]) -> None:
    """The rule files that do not load now (file name -> its first error), as the matcher found them: each is
    raised once (its alerts have stopped, which nothing else would tell), and recovered once it loads again or
    is gone."""
    _note_rules(store, RULE_BROKEN, broken, "Rule not loaded",
                "The rule alerts on nothing until it is fixed ('reader rules check'); then the articles that "
                "arrived meanwhile (within [alerts] first_fetch_hours) are matched against it.")


def note_rule_failures(store: Store, failing: dict[str, str]) -> None:
    """The rules that raised while matching and have not matched cleanly since (name -> what it raised): each
    raised once, recovered once it matches again or is gone."""
    _note_rules(store, RULE_FAILING, failing, "Rule failing",
                "The rule is left out of matching, so it alerts on nothing, until it matches again (then on the "
                "articles it was left out of too, within [alerts] first_fetch_hours); the other rules run "
                "('reader rules list').")


def _note_rules(store: Store, kind: str, now_wrong: dict[str, str], title: str, consequence: str) -> None:
    """Raise a condition of `kind` for each rule of `now_wrong` not raised yet, recover those no longer in it.
    Not logged again (whoever found the error logged it). Writes only when that changes."""
    state, changed = _load(store), False
    for name, error in now_wrong.items():
        found = state.get(f"{kind}:{name}")
        if found is None or found.recovered:
            state[f"{kind}:{name}"] = Condition(kind, name, f"{title}: {clean_line(name, 100)}",
                                                clean_line(f"{error.rstrip('.')}. {consequence}", 600),
                                                utcnow().isoformat())  # fmt: skip
            changed = True
    for condition in state.values():
        if condition.kind == kind and not condition.recovered and condition.subject not in now_wrong:
            condition.recovered, changed = True, True
            log.info("recovered: %s", condition.title)
    if changed:
        _save(store, state)


def active(store: Store) -> list[Condition]:
    """The conditions raised and not recovered, oldest first: for `reader doctor` and the TUI's status bar.
    Cheap (one read): the watcher keeps it current after every refresh."""
    return sorted((c for c in _load(store).values() if not c.recovered), key=lambda c: c.since)


CYCLE_KEY = "daemon_cycle"  # in the store's meta table: the daemon's pid and when its last cycle ended


def record_cycle(store: Store) -> None:
    """The daemon finished a cycle now (for `reader doctor`)."""
    store.set_meta(CYCLE_KEY, json.dumps({"pid": os.getpid(), "ended": utcnow().isoformat()}))


def last_cycle(store: Store) -> tuple[int, datetime] | None:
    """(pid, end) of the daemon's last finished cycle, if one ever finished."""
    try:
        saved = json.loads(store.get_meta(CYCLE_KEY) or "null")
        return (int(saved["pid"]), datetime.fromisoformat(saved["ended"])) if saved else None
    except (ValueError, KeyError, TypeError):
        return None


def status_warnings(store: Store) -> list[str]:
    """One short line per thing that needs the user, for the TUI's status bar: the health conditions
    raised and not recovered, and the rules left out of matching. Cheap: two reads of the meta table."""
    failing = [f"Rule failing: {name}" for name in rule_errors(store)]  # (also a condition once told: said once)
    return list(dict.fromkeys([c.title for c in active(store)] + failing))


@dataclass(frozen=True)
class RuleError:
    """Why a rule was left out of a batch: it raised while matching. Shown by `rules list` and the TUI."""

    error: str
    at: datetime


RULE_ERRORS_KEY = "rule_errors"  # in the store's meta table: {rule: {"error": …, "at": ISO time}}


def rule_errors(store: Store) -> dict[str, RuleError]:
    """The rules whose last match raised, by name: they are left out of each batch until they match again."""
    try:
        saved = json.loads(store.get_meta(RULE_ERRORS_KEY) or "{}")
        return {name: RuleError(e["error"], datetime.fromisoformat(e["at"])) for name, e in saved.items()}
    except (ValueError, KeyError, TypeError):
        return {}


# -- what the watcher sees ------------------------------------------------------------------------


def detect(settings: Settings, store: Store, now: datetime) -> list[Condition]:
    """The feed conditions true `now`: failing `failing_cycles` refreshes in a row, or silent."""
    cycles = max(1, settings.health.failing_cycles)
    found: list[Condition] = []
    feeds = [f for f in store.feeds() if f.enabled]
    failing = {f.id for f in feeds if f.last_status == FetchStatus.ERROR and f.error_count >= cycles}
    for f in feeds:
        if f.id in failing:
            found.append(Condition(
                FEED_FAILING, str(f.id), f"Feed failing: {_name(f)}",
                f"{_named(f)} has failed {f.error_count} refreshes in a row; "
                f"last error: {f.last_error or 'unknown'}", now.isoformat(),
            ))  # fmt: skip
        elif (quiet := _silence(store, f)) is not None:
            days, usual = quiet
            found.append(Condition(
                FEED_SILENT, str(f.id), f"Feed silent: {_name(f)}",
                f"{_named(f)} has had no new article for {days} days{usual}; "
                "it may have moved or stopped", now.isoformat(),
            ))  # fmt: skip
    return found


def _name(feed: Feed) -> str:
    return clean_line(feed.display_title, 100)


def _named(feed: Feed) -> str:
    """The feed by its title and (masked) URL; by its URL once, when it has no title of its own."""
    return f"{_name(feed)} ({redact_url(feed.url)})" if feed.title else redact_url(feed.url)


def _silence(store: Store, feed: Feed) -> tuple[int, str] | None:
    """(days without a new article, its usual gap in words) when the feed is silent past its cadence.

    Silence is measured up to the feed's last fetch, not up to now: a reader that was not running
    has not seen feeds go quiet. A feed whose cadence is unknown (fewer than two dated articles) is
    not judged."""
    if feed.last_new_at is None or feed.last_fetched_at is None or feed.last_status == FetchStatus.ERROR:
        return None
    quiet = feed.last_fetched_at - feed.last_new_at
    if quiet <= MIN_SILENCE:  # cheap test first: most feeds stop here without reading their articles
        return None
    dates = sorted(a.date for a in store.iter_articles(ArticleFilter(feed_ids=[feed.id]), limit=GAP_SAMPLE))
    gaps = [later - earlier for earlier, later in zip(dates, dates[1:]) if later > earlier]
    if not gaps or quiet <= SILENCE_GAPS * (usual := statistics.median(gaps)):
        return None
    return quiet.days, f" (it usually publishes every {_span(usual)})"


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"


# -- the watch: raise, recover, announce once -----------------------------------------------------


@dataclass
class WatchReport:
    raised: list[str] = field(default_factory=list)  # titles of conditions announced now
    recovered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # a health target that refused (retried next watch)


async def watch(settings: Settings, store: Store) -> WatchReport:
    """Bring the conditions up to date with the store, and announce what is new: once per condition
    and target, and once per recovery. Called after each refresh (see reader.ingest)."""
    state = await asyncio.to_thread(_update, settings, store)
    report, finished = await _announce(settings, state)
    await asyncio.to_thread(_merge_and_save, store, state, finished)
    return report


async def _announce(settings: Settings, state: dict[str, Condition]) -> tuple[WatchReport, dict[str, str]]:
    """Tell [health] notify what is new in `state`: each condition once, and once its recovery (told
    recoveries leave `state`). Returns the report and the told recoveries (key -> since)."""
    targets = await asyncio.to_thread(_health_targets, settings)
    report, finished = WatchReport(), {}
    await _tell_together(settings, state, targets, report, finished)
    for condition in [c for c in state.values() if c.recovered or not c.announced]:
        # A condition raised and over between two watches (an index repaired at once) is still told, then its end.
        if not condition.announced and await _tell(settings, condition.notice(), targets, condition.sent_to, report):
            condition.announced = True
            report.raised.append(condition.title)
        if condition.recovered and condition.announced:
            told = [t for t in targets if t.key in condition.sent_to]  # a recovery goes where the problem went
            if await _tell(settings, condition.recovery(), told, condition.recovery_sent_to, report):
                finished[condition.key] = state.pop(condition.key).since
                report.recovered.append(condition.title)
    return report, finished


LISTED = 10  # feeds named in a message about many


async def _tell_together(settings: Settings, state: dict[str, Condition], targets: list, report: WatchReport,
                         finished: dict[str, str]) -> None:  # fmt: skip
    """Feeds raised (or recovered) together in one watch, as when the network was down: one message for
    them all, not one each. What a target refused is told one by one at the next watch."""
    for kind, what in ((FEED_FAILING, "failing"), (FEED_SILENT, "silent")):
        new = [c for c in state.values() if c.kind == kind and not c.announced and not c.sent_to]
        if len(new) > 1:
            sent_to: list[str] = []
            lines = [c.detail for c in new[:LISTED]] + [f"… and {len(new) - LISTED} more"] * (len(new) > LISTED)
            told = await _tell(settings, _notice(f"{len(new)} feeds {what}", lines), targets, sent_to, report)
            for c in new:
                c.sent_to, c.announced = list(sent_to), told
            report.raised += [c.title for c in new] if told else []
        over = [c for c in state.values() if c.kind == kind and c.recovered and c.announced and not c.recovery_sent_to]
        if len(over) > 1:
            sent_to = []
            names = [c.title.split(": ", 1)[-1] for c in over]
            lines = [f"{', '.join(names[:LISTED])}{f' and {len(names) - LISTED} more' * (len(names) > LISTED)}: "
                     f"{RECOVERED[kind]}."]  # fmt: skip
            told_to = [t for t in targets if any(t.key in c.sent_to for c in over)]
            if await _tell(settings, _notice(f"Recovered: {len(over)} feeds", lines), told_to, sent_to, report):
                for c in over:
                    finished[c.key] = state.pop(c.key).since
                    report.recovered.append(c.title)
            else:
                for c in over:
                    c.recovery_sent_to = [k for k in sent_to if k in c.sent_to]


def _notice(title: str, lines: list[str]) -> Notice:
    from .messages import Notice

    return Notice(title, tuple(lines))


def _health_targets(settings: Settings) -> list:
    """The targets [health] notify names (said once if it names none Apprise knows)."""
    from .targets import TargetBook, target_secret

    entries = settings.health.notify
    if not entries:
        return []
    targets = TargetBook(settings.alerts.apprise_config, target_secret(settings.data_dir)).targets(entries)
    if not targets and not _warned:
        _warned.append(True)
        log.warning("[health] notify names no target Apprise knows (check its URLs and tags); "
                    "health alerts are only logged")  # fmt: skip
    return targets


async def _tell(settings: Settings, notice: Notice, targets: list, sent_to: list[str], report: WatchReport) -> bool:
    """Send `notice` to each of `targets` not in `sent_to` (which grows); True once every one has it."""
    from .targets import send

    for target in (t for t in targets if t.key not in sent_to):
        result = await send(target, notice, timeout=settings.alerts.send_timeout)
        if result.ok:
            sent_to.append(target.key)
            log.info("sent health alert %r to %s", notice.title, target.label)
        else:
            report.failed.append(f"{target.label}: {result.error}")
            log.warning("sending health alert %r to %s failed (tried again after the next refresh): %s",
                        notice.title, target.label, result.error)  # fmt: skip
    return all(t.key in sent_to for t in targets)


_warned: list[bool] = []  # a long-running daemon says once that [health] notify reaches nobody


def _update(settings: Settings, store: Store) -> dict[str, Condition]:
    """Raise the watched conditions true now, recover those no longer true; events stay as recorded."""
    state = _load(store)
    now, known = utcnow(), store.feeds()
    current = {c.key: c for c in detect(settings, store, now)}
    feeds = {str(f.id) for f in known} | {"all"}
    if down := _all_failing(known, current, now):  # one message for the network, none for each feed it takes down
        current = {k: c for k, c in current.items() if c.kind != FEED_FAILING or k in state} | {down.key: down}
    for condition in current.values():
        _raise(state, condition)
    index = state.get(f"{INDEX_DAMAGED}:index")
    if index is not None and not index.recovered and not store.count_to_index():
        index.recovered = True  # every article is back in the rebuilt index
        log.info("recovered: %s", index.title)
    for key, condition in list(state.items()):
        if condition.kind in WATCHED and key not in current and not condition.recovered:
            if condition.subject not in feeds:  # unsubscribed: nothing recovered, nothing to say
                del state[key]
                continue
            condition.recovered = True
            log.info("recovered: %s", condition.title)
    return state


def _all_failing(feeds: list[Feed], current: dict[str, Condition], now: datetime) -> Condition | None:
    """Every enabled feed's last refresh failed, some `failing_cycles` in a row: the network (or a proxy, DNS)
    more likely than the feeds. Raised as one condition, and the feeds it takes down are not raised each."""
    enabled = [f for f in feeds if f.enabled]
    if len(enabled) < 2 or any(f.last_status != FetchStatus.ERROR for f in enabled):
        return None
    if not any(c.kind == FEED_FAILING for c in current.values()):
        return None
    errors = sorted({clean_line(f.last_error or "unknown", 200) for f in enabled})
    said = f"'{errors[0]}'" if len(errors) == 1 else f"{len(errors)} different errors, such as '{errors[0]}'"
    return Condition(FEEDS_DOWN, "all", "Every feed failing", (
        f"all {len(enabled)} feeds failed their last refresh ({said}): is the network down? Each is tried again "
        "every interval"), now.isoformat(), recovery_title="Feeds refreshing again")  # fmt: skip


def _merge_and_save(store: Store, state: dict[str, Condition], finished: dict[str, str]) -> None:
    """Save the watch's outcome, keeping what another thread recorded meanwhile (an event, a recovery).

    `finished` (key -> since) are the conditions whose recovery was just told: gone, unless raised anew."""
    for key, condition in _load(store).items():
        if condition.kind in WATCHED:
            continue
        if key not in state:
            if not condition.recovered and finished.get(key) != condition.since:  # raised meanwhile
                state[key] = condition
        elif condition.recovered:
            state[key].recovered = True
    _save(store, state)


# -- the daemon's own faults ------------------------------------------------------------------------

DAEMON_FAILING = "daemon_failing"  # its cycles raise: the disk full, the database unreadable, a bug
CONFIG_BROKEN = "config_broken"  # config.toml was edited into an error while it ran
DATABASE_SWAPPED = "database_swapped"  # the database file was deleted or replaced under it (an event: no recovery)


class Troubles:
    """The daemon's own faults, which the store cannot hold (the store may be what fails): kept in memory,
    each told once through [health] notify, and once more when it is over. A restart forgets them: a fault
    that lasts is found, and told, again."""

    def __init__(self) -> None:
        self.state: dict[str, Condition] = {}
        self.events: list[Condition] = []  # each told once, with no recovery to follow

    def raise_(self, kind: str, title: str, detail: str, recovery_title: str = "") -> None:
        """Raise the fault (logged once); raised already, only its detail is brought up to date."""
        _raise(self.state, replace(self._condition(kind, title, detail), recovery_title=recovery_title))

    def event(self, kind: str, title: str, detail: str) -> None:
        """Something that happened and is over (logged, and told once)."""
        self.events.append(self._condition(kind, title, detail))
        log.warning("%s: %s", self.events[-1].title, self.events[-1].detail)

    @staticmethod
    def _condition(kind: str, title: str, detail: str) -> Condition:
        """(Masked as log lines are: a config error quotes [daemon.feed_intervals] keys, feed URLs.)"""
        title, detail = redact_secrets(title), redact_secrets(detail)
        return Condition(kind, "daemon", clean_line(title, 200), clean_line(detail, 600), utcnow().isoformat())

    def clear(self, kind: str) -> None:
        found = self.state.get(f"{kind}:daemon")
        if found is not None and not found.recovered:
            found.recovered = True
            log.info("recovered: %s", found.title)

    async def tell(self, settings: Settings) -> WatchReport:
        """Announce what is new; a target that refuses is tried again at the next call."""
        report, _told = await _announce(settings, self.state)
        targets = await asyncio.to_thread(_health_targets, settings) if self.events else []
        self.events = [e for e in self.events if not await _tell(settings, e.notice(), targets, e.sent_to, report)]
        return report


# -- reader doctor ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    check: str  # daemon, feeds, alerts, index, rules, files, health
    ok: bool  # False: it needs the user
    text: str  # what was found, and what to do


def doctor(settings: Settings, store: Store) -> list[Finding]:
    """Everything `reader doctor` checks, in order; a finding that is not ok names what needs the user."""
    now = utcnow()
    database = _database_finding(store)
    if not database.ok:  # the other checks read the store: they would fail, or mislead
        return damaged_database(settings, database.text)
    return [
        database,
        _daemon_finding(settings, store, now),
        *_feed_findings(settings, store, now),
        _delivery_finding(store),
        _index_finding(settings, store),
        *_rule_findings(settings, store),
        *_mode_findings(settings),
        *_target_findings(settings),
        *[Finding("health", False, f"{c.title}: {c.detail}") for c in active(store)
          if c.kind not in (*WATCHED, RULE_BROKEN, RULE_FAILING)],  # (those the checks above name)
    ]


def _database_finding(store: Store) -> Finding:
    """SQLite's quick check of the whole file (a read of every page; no repair)."""
    import sqlite3

    try:
        problems = store.quick_check(limit=3)
    except sqlite3.DatabaseError as exc:  # a page the check itself cannot read
        problems = [str(exc)]
    if problems == ["ok"]:
        return Finding("database", True, f"{store.path}: SQLite's quick check finds nothing wrong")
    return Finding("database", False, f"{store.path} is damaged ({'; '.join(problems)[:300]})")


def damaged_database(settings: Settings, problem: str) -> list[Finding]:
    """What `doctor` says of a damaged database (`problem` names it): what to do, and the checks that do not read
    it."""
    db = settings.db_path
    return [Finding("database", False, (
        f"{problem}. Stop every reader process (the daemon too) and copy the file "
        f"aside with its -wal. Then restore your backup of it; or save what it still holds with SQLite's own tool: "
        f"sqlite3 {db} .recover | sqlite3 {db.parent}/recovered.sqlite, put recovered.sqlite in its place (removing "
        f"{db.name}-wal and -shm) and run 'reader index rebuild'; or keep your subscriptions and start afresh: "
        f"'reader feeds export -o feeds.opml', move {db.name} and the index away, 'reader feeds import feeds.opml', "
        "'reader fetch'")), *_mode_findings(settings), *_target_findings(settings)]  # fmt: skip


def _target_findings(settings: Settings) -> list[Finding]:
    """[health] notify: each entry must reach someone, as a rule's would."""
    from .targets import TargetChecker

    entries = settings.health.notify  # a tuple of strings: config.toml's checks make it one
    if not entries:
        return [Finding("health", True, "no [health] notify in config.toml: health alerts are only logged")]
    checker = TargetChecker(settings.alerts.apprise_config)
    found = [Finding("health", False, f"[health] notify: {problem[1]}")
             for entry in entries if (problem := checker.problem(entry))]  # fmt: skip
    return found or [Finding("health", True, f"health alerts go to {len(entries)} target(s)")]


def _daemon_finding(settings: Settings, store: Store, now: datetime) -> Finding:
    from .lock import WriterLock

    cycle = last_cycle(store)
    ended = f"its last cycle ended {_ago(now - cycle[1])} ago" if cycle else "no daemon cycle has ever finished"
    if WriterLock(settings.lock_path).is_held_elsewhere():
        return Finding("daemon", True, f"a reader process is running (fetching, or the daemon); {ended}")
    recent = cycle and now - cycle[1] <= 2 * timedelta(minutes=max(1, settings.daemon.interval_minutes))
    if recent:
        return Finding("daemon", True, f"no daemon is running now, but {ended} (run from a timer?)")
    return Finding("daemon", False, f"no daemon is running and {ended}: nothing fetches or alerts "
                                    "on its own; start 'reader daemon' (see docs/alerts.md)")  # fmt: skip


def _feed_findings(settings: Settings, store: Store, now: datetime) -> list[Finding]:
    found = [Finding("feeds", False, f"{c.title}: {c.detail}") for c in detect(settings, store, now)]
    feeds = store.feeds()
    if not found:
        count = sum(f.enabled for f in feeds)
        found.append(Finding("feeds", True, f"{count} feed(s) enabled; none failing or silent"))
    return found + [Finding("feeds", False, note) for note in same_feed_notes((f.id, f.url) for f in feeds)]


def _delivery_finding(store: Store) -> Finding:
    from .store import FAILED

    undelivered = [a for a in store.recent_alerts(limit=1000) if any(d.state == FAILED for d in a.deliveries)]
    if not undelivered:
        return Finding("alerts", True, "every recent alert was delivered or is on its way")
    return Finding("alerts", False, f"{len(undelivered)} alert(s) could not be delivered after every attempt; "
                                    "see 'reader alerts', then 'reader alerts retry'")  # fmt: skip


def _index_finding(settings: Settings, store: Store) -> Finding:
    """The index against the store, as `reader index check` sees it (files, article ids, no word sample)."""
    if not settings.index_dir.exists():
        return Finding("index", store.article_count() == 0, "there is no search index yet; "
                       "'reader fetch' or 'reader index rebuild' makes it")  # fmt: skip
    try:
        from .index import SearchIndex
        from .index.repair import check_against_store

        r = check_against_store(SearchIndex(settings.index_dir), store.article_ids_in(ArticleFilter()),
                                store.count_to_index(), sample=[])  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - an index that cannot even be checked is a finding, not a crash
        return Finding("index", False, f"the search index cannot be read ({type(exc).__name__}: {exc}); "
                                       "run 'reader index rebuild'")  # fmt: skip
    if r.ok:
        waiting = f"; {r.waiting:,} article(s) wait for the next refresh" if r.waiting else ""
        return Finding("index", True, f"{r.documents:,} document(s), matching the database{waiting}")
    wrong = f"damaged ({r.files})" if r.files else (
        f"out of step with the database: {r.documents:,} document(s) for {r.stored:,} article(s), "
        f"{r.missing:,} missing, {r.extra:,} extra")  # fmt: skip
    return Finding("index", False, f"the search index is {wrong}; the next refresh repairs it, "
                                   "or run 'reader index rebuild' ('reader index check' says more)")  # fmt: skip


def _rule_findings(settings: Settings, store: Store) -> list[Finding]:
    from .rules import load_rules

    ruleset = load_rules(settings.rules_dir, apprise_config=settings.alerts.apprise_config)
    found = [Finding("rules", False, str(p).splitlines()[0]) for p in ruleset.errors]  # no caret lines
    found += [Finding("rules", False, f"rule {name} failed while matching and is left out: {e.error}")
              for name, e in rule_errors(store).items()]  # fmt: skip
    if not found:
        found.append(Finding("rules", True, f"{len(ruleset.rules)} rule(s), none with errors"))
    return found


def _mode_findings(settings: Settings) -> list[Finding]:
    """The data directory and what the reader writes there: owner-only (the paths `reader fetch` and the
    daemon tighten when they start)."""
    import stat

    from .filemodes import OWNER_ONLY, private_paths

    loose = []
    for path in private_paths(settings):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & OWNER_ONLY:
            loose.append(f"{path} ({mode:04o})")
    if loose:
        return [Finding("files", False, f"others can read {', '.join(loose)}; run: chmod go-rwx on each")]
    return [Finding("files", True, "the data directory and the files in it are owner-only")]


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h" if minutes < 48 * 60 else f"{minutes // 1440} days"
