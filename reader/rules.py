"""Rule files: loading, validating and writing the TOML files of the rules directory.

It never matches articles nor sends notifications (that is `reader.alerts` and `reader.targets`).

A rule is a named query (the file's stem is its name). With notification
targets (`notify`) it alerts; without them it is a saved search. This module
reads the files and says what is wrong with them, each problem with its file
and line, so one bad file never hides the others.

Notification URLs carry secrets (tokens, passwords), so they are only ever
shown through `reader.targets.redact`, and files that may hold them are written owner-only.
"""

from __future__ import annotations

import datetime
import difflib
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w

from .config import BUNDLED_RULES, key_lines, toml_error
from .index import WORD_RE, ParsedQuery, QueryError, analyze, parse_query
from .index.analysis import is_acronym_word, is_cjk, word_term
from .models import Feed
from .query import And, Node, Not, Or, Word
from .targets import TargetChecker, redact

MODES = ("instant", "digest")
KEYS = ("query", "title", "notify", "feeds", "groups", "enabled", "mode", "digest_at", "quiet_hours", "timezone",
        "story_updates", "outlets")
STORY_UPDATES = ("none", "digest", "every")  # what a later outlet of an alerted story sends
MAX_OUTLETS = 1000
DEFAULT_DIGEST_AT = (datetime.time(8, 0),)
MAX_RULE_BYTES = 256 * 1024  # a rule is a few lines; anything bigger is a mistake
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
SEEDED_MARKER = ".seeded"  # left in the rules dir, so deleting every rule does not bring the examples back
T = TypeVar("T")


@dataclass(frozen=True)
class QuietHours:
    """A daily span when nothing is sent; it may wrap midnight (22:00–07:00)."""

    start: datetime.time
    end: datetime.time

    def contains(self, t: datetime.time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Rule:
    name: str  # the file's stem
    path: Path
    query_text: str
    query: ParsedQuery
    title: str = ""  # display title (default: the name)
    notify: tuple[str, ...] = ()  # Apprise URLs and/or tags, raw: secrets inside, show only via redact()
    feeds: tuple[str, ...] = ()  # only articles of these feeds (title substring or URL)
    groups: tuple[str, ...] = ()  # only articles of feeds in these groups
    enabled: bool = True
    mode: str = "instant"  # "instant" | "digest"
    digest_at: tuple[datetime.time, ...] = ()  # digest mode: times of day to send the collected matches
    quiet_hours: QuietHours | None = None
    timezone: str = ""  # IANA zone for digest_at and quiet_hours; "" = the local zone
    story_updates: str = "none"  # later outlets of an alerted story: "none", "digest" (at digest_at), "every"
    outlets: int = 1  # alert once the story has this many outlets

    @property
    def is_saved_search(self) -> bool:
        return not self.notify

    @property
    def display_title(self) -> str:
        return self.title or self.name

    @property
    def redacted_notify(self) -> tuple[str, ...]:
        return tuple(redact(target) for target in self.notify)


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int | None
    message: str  # never holds a notification URL unredacted
    severity: str  # "error" | "warning"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]  # every valid rule, enabled or not; a rule with an error is left out
    problems: tuple[Problem, ...]

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")


# -- loading ---------------------------------------------------------------------------------


def rule_files(rules_dir: Path) -> list[Path]:
    """The rule files of a directory, by name; dotfiles (editor leftovers) are skipped."""
    if not rules_dir.is_dir():
        return []
    # (a directory or a dangling link named like a rule is listed too: loading it names the problem)
    return sorted(p for p in rules_dir.glob("*.toml") if not p.name.startswith("."))


def load_rules(rules_dir: Path, *, apprise_config: str = "") -> RuleSet:
    """Every `*.toml` rule in `rules_dir`; one bad file never hides the others.

    `apprise_config` is the user's Apprise config file, where notify tags are
    looked up (settings.alerts.apprise_config).
    """
    rules_dir = Path(rules_dir)
    if not rules_dir.is_dir():
        return RuleSet((), (Problem(rules_dir, None, "the rules directory does not exist", "warning"),))
    targets = TargetChecker(apprise_config)
    rules: list[Rule] = []
    problems: list[Problem] = []
    for path in rule_files(rules_dir):
        rule, found = _RuleFile(path, targets).load()
        if rule is not None:
            rules.append(rule)
        problems += found
    return RuleSet(tuple(rules), tuple(problems))


def load_rule(path: Path, *, apprise_config: str = "") -> tuple[Rule | None, list[Problem]]:
    """One rule file: the rule (None if it has an error) and its problems."""
    return _RuleFile(Path(path), TargetChecker(apprise_config)).load()


class _Invalid(Exception):
    """A value that makes the rule unusable; the message is already written for the user."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message = message
        self.line = line


class _RuleFile:
    """One rule file being read: its text (for line numbers) and what is wrong with it."""

    def __init__(self, path: Path, targets: TargetChecker):
        self.path = path
        self.targets = targets
        self.text = ""
        self._lines: dict[tuple[str, ...], int] | None = None  # each key's line, found when first asked
        self.mode = 0o600  # permission bits, as read
        self.problems: list[Problem] = []

    def load(self) -> tuple[Rule | None, list[Problem]]:
        try:
            rule = self._rule(self._table())
        except _Invalid as exc:
            self.error(exc.message, exc.line)
            rule = None
        problems = sorted(self.problems, key=lambda p: p.line or 0)
        if any(p.severity == "error" for p in problems):
            return None, problems
        return rule, problems

    # -- reporting -----------------------------------------------------------------------

    def warn(self, message: str, line: int | None) -> None:
        self.problems.append(Problem(self.path, line, message, "warning"))

    def error(self, message: str, line: int | None) -> None:
        self.problems.append(Problem(self.path, line, message, "error"))

    def key_line(self, key: str) -> int | None:
        """The line where `key = …` (or a `[key]` table) is written."""
        if self._lines is None:
            self._lines = key_lines(self.text)
        return self._lines.get((key,))

    def value_line(self, key: str, value: str) -> int | None:
        """The line of one item of a (maybe multi-line) list, found by its text after the key."""
        key_line = self.key_line(key)
        if key_line is None:
            return None
        start = _offset_of_line(self.text, key_line)
        found = self.text.find(value, start) if value else -1
        return self.text.count("\n", 0, found) + 1 if found >= 0 else key_line

    def query_line(self, query_text: str, position: int | None) -> int | None:
        """The line of a position within the query, when the query is written verbatim in the file."""
        key_line = self.key_line("query")
        if key_line is None or position is None:
            return key_line
        start = self.text.find(query_text, _offset_of_line(self.text, key_line))
        return self.text.count("\n", 0, start + position) + 1 if start >= 0 else key_line

    # -- the file as a whole -------------------------------------------------------------

    def _table(self) -> dict[str, Any]:
        try:
            status = self.path.stat()
            self.mode = stat.S_IMODE(status.st_mode)
            if status.st_size > MAX_RULE_BYTES:
                raise _Invalid(f"the file is larger than {MAX_RULE_BYTES // 1024} KiB; is it really a rule?", None)
            self.text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise _Invalid("the file is not UTF-8 text", None) from None
        except OSError as exc:
            raise _Invalid(f"cannot read the file: {exc.strerror or exc}", None) from None
        try:
            return tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            raise self._syntax_error(exc) from None

    def _syntax_error(self, exc: tomllib.TOMLDecodeError) -> _Invalid:
        """tomllib says 'Invalid value (at line 3, column 9)': keep the words, move the line."""
        message, line, column = toml_error(exc)
        if line:
            message = f"{message} (column {column})"
        else:
            line = self.text.count("\n") + 1 if "end of document" in message else None
        hint = ""
        written = _line_text(self.text, line) if line else ""
        if (quoted := re.match(r'\s*query\s*=\s*"(.*)"\s*$', written)) and '"' in quoted.group(1):
            query = quoted.group(1)  # the user's own query, in the quotes that keep it as written
            hint = f"; the query holds double quotes, so put it in single quotes: query = {_literal(query)}"
        return _Invalid(f"TOML syntax: {message}{hint}", line)

    def _rule(self, table: dict[str, Any]) -> Rule:
        """The rule; each key that is wrong is an error of its own (the rule is then left out by `load`)."""
        self._check_keys(table)
        checked = self._checked
        query_text, query = checked(lambda: self._query(table), ("", None))
        notify = checked(lambda: self._strings(table, "notify"), ())
        feeds = checked(lambda: self._strings(table, "feeds"), ())
        groups = checked(lambda: self._strings(table, "groups"), ())
        title = checked(lambda: self._value(table, "title", str, "a string", ""), "")
        enabled = checked(lambda: self._value(table, "enabled", bool, "true or false", True), True)
        mode = checked(lambda: self._mode(table), "instant")
        digest_at = checked(lambda: self._digest_at(table, mode), ())
        quiet_hours = checked(lambda: self._quiet_hours(table), None)
        timezone = checked(lambda: self._timezone(table), "")
        story_updates = checked(lambda: self._story_updates(table), "none")
        outlets = checked(lambda: self._outlets(table), 1)
        self._check_notify(notify)
        self._check_scheduling(table, bool(notify))
        if not enabled:
            self.warn("this rule is disabled (enabled = false): it is checked, but it never matches",
                      self.key_line("enabled"))  # fmt: skip
        self._check_permissions(notify)
        return Rule(
            name=self.path.stem, path=self.path, query_text=query_text, query=query, title=title, notify=notify,
            feeds=feeds, groups=groups, enabled=enabled, mode=mode, digest_at=digest_at, quiet_hours=quiet_hours,
            timezone=timezone, story_updates=story_updates, outlets=outlets,
        )  # fmt: skip

    def _checked(self, check: Callable[[], T], default: T) -> T:
        """`check()`, or `default` after recording its error: one wrong key does not hide the next."""
        try:
            return check()
        except _Invalid as exc:
            self.error(exc.message, exc.line)
            return default

    def _story_updates(self, table: dict[str, Any]) -> str:
        updates = self._value(table, "story_updates", str, "a string", "none")
        if updates not in STORY_UPDATES:
            raise _Invalid(f'story_updates should be "none", "digest" or "every", not {_shown(updates)}',
                           self.key_line("story_updates"))  # fmt: skip
        return updates

    def _outlets(self, table: dict[str, Any]) -> int:
        outlets = table.get("outlets", 1)
        if isinstance(outlets, bool) or not isinstance(outlets, int) or not 1 <= outlets <= MAX_OUTLETS:
            raise _Invalid(f"outlets should be a whole number from 1 to {MAX_OUTLETS}, not {_shown(outlets)}",
                           self.key_line("outlets"))  # fmt: skip
        return outlets

    def _check_keys(self, table: dict[str, Any]) -> None:
        for key in table:
            if key not in KEYS:
                close = difflib.get_close_matches(key, KEYS, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"the keys are {', '.join(KEYS)}"
                self.error(f"unknown key '{key}'; {hint}", self.key_line(key))

    # -- one key at a time ---------------------------------------------------------------

    def _value(self, table: dict[str, Any], key: str, kind: type, described: str, default: Any) -> Any:
        value = table.get(key, default)
        if not isinstance(value, kind):
            raise _Invalid(f"{key} should be {described}, not {_shown(value)}", self.key_line(key))
        return value

    def _strings(self, table: dict[str, Any], key: str) -> tuple[str, ...]:
        """A list of non-empty strings; a single string is taken as a list of one."""
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _Invalid(f'{key} should be a list of strings, like {key} = ["a", "b"]', self.key_line(key))
        if any(not v.strip() for v in value):
            raise _Invalid(f"{key} has an empty string", self.key_line(key))
        return tuple(v.strip() for v in value)

    def _query(self, table: dict[str, Any]) -> tuple[str, ParsedQuery]:
        if "query" not in table:
            raise _Invalid("the rule has no query; add a line like: query = 'DeepSeek AND \"export controls\"'", 1)
        text = self._value(table, "query", str, "a string", "")
        try:
            query = parse_query(text)
        except QueryError as exc:
            raise _Invalid(f"the query does not parse: {exc}", self.query_line(text, exc.position)) from None
        line = self.key_line("query")
        for warning in query.warnings:
            self.warn(warning, line)
        for position, message in _traps(query.tree, text):
            self.warn(message, self.query_line(text, position))
        return text, query

    def _mode(self, table: dict[str, Any]) -> str:
        mode = self._value(table, "mode", str, "a string", "instant")
        if mode not in MODES:
            raise _Invalid(f"mode should be \"instant\" or \"digest\", not {_shown(mode)}", self.key_line("mode"))
        return mode

    def _digest_at(self, table: dict[str, Any], mode: str) -> tuple[datetime.time, ...]:
        value = table.get("digest_at", [])
        items = value if isinstance(value, list) else [value]
        try:
            times = tuple(sorted({_time(v) for v in items}))
        except ValueError as exc:
            raise _Invalid(f'digest_at: {exc}; write times of day like digest_at = ["08:00", "18:00"]',
                           self.key_line("digest_at")) from None  # fmt: skip
        if mode == "digest" and not times:
            return DEFAULT_DIGEST_AT
        return times

    def _quiet_hours(self, table: dict[str, Any]) -> QuietHours | None:
        value = table.get("quiet_hours")
        if value is None:
            return None
        line = self.key_line("quiet_hours")
        m = re.fullmatch(r"\s*(\S+?)\s*[-–]\s*(\S+)\s*", value) if isinstance(value, str) else None
        if not m:
            raise _Invalid(f'quiet_hours should be a span of the day like "22:00-07:00", not {_shown(value)}', line)
        try:
            hours = QuietHours(_time(m.group(1)), _time(m.group(2)))
        except ValueError as exc:
            raise _Invalid(f"quiet_hours: {exc}", line) from None
        if hours.start == hours.end:
            raise _Invalid("quiet_hours starts and ends at the same time; remove it to never be quiet", line)
        return hours

    def _timezone(self, table: dict[str, Any]) -> str:
        name = self._value(table, "timezone", str, "a string", "")
        if name:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise _Invalid(f"unknown time zone {_shown(name)}; use an IANA name like \"Europe/Berlin\"",
                               self.key_line("timezone")) from None  # fmt: skip
        return name

    # -- cross-key checks ----------------------------------------------------------------

    def _check_notify(self, notify: tuple[str, ...]) -> None:
        for target in notify:
            if found := self.targets.problem(target):
                severity, message = found
                line = self.value_line("notify", target)
                self.problems.append(Problem(self.path, line, f"notify: {message}", severity))

    def _check_scheduling(self, table: dict[str, Any], alerts: bool) -> None:
        if not alerts:
            for key in ("mode", "digest_at", "quiet_hours"):
                if key in table:
                    self.warn(f"{key} has no effect: without notify this rule is a saved search", self.key_line(key))
        elif "digest_at" in table and table.get("mode", "instant") != "digest":
            self.warn('digest_at has no effect unless mode = "digest"', self.key_line("digest_at"))

    def _check_permissions(self, notify: tuple[str, ...]) -> None:
        if not any(redact(t) != t for t in notify):
            return
        if self.mode & 0o077:
            self.warn(f"this file holds notification credentials but others can read it (mode {self.mode:04o}); "
                      f"run: chmod 600 {self.path}", None)  # fmt: skip


def _literal(text: str) -> str:
    """`text` as a TOML literal string (nothing escaped): '…', or '''…''' when it holds a single quote."""
    return f"'{text}'" if "'" not in text else f"'''{text}'''"


def _read_quietly(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _offset_of_line(text: str, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        offset = text.index("\n", offset) + 1
    return offset


def _line_text(text: str, line: int) -> str:
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _shown(value: object) -> str:
    """A TOML value as the user wrote it, shortened."""
    shown = repr(value) if not isinstance(value, str) else f'"{value}"'
    return shown if len(shown) <= 60 else shown[:57] + "…"


def _time(value: object) -> datetime.time:
    """A time of day: "08:00" (or a TOML time, 08:00:00)."""
    if isinstance(value, datetime.time):
        return value.replace(tzinfo=None)
    if isinstance(value, str) and (m := re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())):
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour < 24 and minute < 60:
            return datetime.time(hour, minute)
    raise ValueError(f"{_shown(value)} is not a time of day (HH:MM, 24-hour)")


# -- traps: queries that parse but probably do not mean what their author thinks -------------

_KEPT_PUNCTUATION = set("-'’./*?")  # word joiners, and wildcards (the parser warns about those)
_STEM_WARN_CHARS = 4  # a stem this much shorter than its word may well match unrelated words
_SHORT_STEM_CHARS = 3  # a stem this short, changed from its word, is shared with common words (bis → bi, news → new)
_SHORT_WORD_CHARS = 2  # a lowercase word of two letters is mostly some other word (us, it, eu)
_SHOUTED_CHARS = 5  # a word in capitals this long is more likely a name typed loudly than an acronym


def _traps(tree: Node, text: str) -> list[tuple[int | None, str]]:
    """(position, warning) for capitalised runs that look like names, and words analysis mangles.

    A word of a run gets only the run's warning: quoted as a phrase, its stem no longer matters much.
    """
    found: list[tuple[int | None, str]] = []
    in_runs: set[int] = set()
    for node in _walk(tree):
        if isinstance(node, And):
            for run in _capitalised_runs(node.children, text):
                found.append((run[0].position, _run_warning(run)))
                in_runs.update(id(word) for word in run)
    for node in _walk(tree):
        if isinstance(node, Word) and id(node) not in in_runs:
            found += _analysis_traps(node)
    return sorted(found, key=lambda f: f[0] or 0)


def _walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, And | Or):
        for child in node.children:
            yield from _walk(child)
    elif isinstance(node, Not):
        yield from _walk(node.child)


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper() and not word.isupper() and word.isalpha()


def _capitalised_runs(children: Sequence[Node], text: str) -> list[list[Word]]:
    """Runs like `Entity List` typed without quotes: two required words, probably meant as one name.

    `title:Commerce Department` is such a run too: the prefix applies to the first word only.
    """
    runs: list[list[Word]] = []
    for previous, word in zip((None, *children), children):
        if not (isinstance(word, Word) and _is_capitalised(word.text)):
            continue
        adjacent = (
            isinstance(previous, Word) and runs and runs[-1][-1] is previous and word.field in (None, previous.field)
            and not text[previous.position + len(previous.text) : word.position].strip()
        )  # fmt: skip
        if adjacent:
            runs[-1].append(word)
        else:
            runs.append([word])
    return [run for run in runs if len(run) > 1]


def _run_warning(run: list[Word]) -> str:
    name = " ".join(w.text for w in run)
    prefix = f"{_field_prefix(run[0].field)}:" if run[0].field else ""
    return (f"'{name}' is {len(run)} separate words, each required anywhere in the article; "
            f'did you mean the phrase {prefix}"{name}"?')  # fmt: skip


def _field_prefix(field: str) -> str:
    return "tag" if field == "tags" else field


def _analysis_traps(word: Word) -> list[tuple[int, str]]:
    """Punctuation the analyzer drops (C++ is searched as c), stems that other words share,
    short lowercase words that also match the ordinary word, and long words in capitals."""
    terms = analyze(word.text)
    if not terms:
        return []  # parse_query already says it is ignored
    found = []
    dropped = sorted({c for c in word.text if not (c.isalnum() or c == "_" or c in _KEPT_PUNCTUATION)})
    if dropped:
        shown = " ".join(f"'{c}'" for c in dropped)
        searched = " ".join(terms)
        found.append((word.position, f"'{word.text}' is searched as \"{searched}\": the analyzer ignores {shown}"))
    for raw in WORD_RE.findall(word.text):
        if warning := _word_trap(raw):
            found.append((word.position, warning))
    return found


def _word_trap(raw: str) -> str | None:
    if is_cjk(raw) or raw.isdigit():
        return None
    if is_acronym_word(raw):
        if len(raw) >= _SHOUTED_CHARS and raw.isalpha():
            return (f"'{raw}' is written in capitals, so it is an acronym: it matches only \"{raw}\" in capitals, "
                    f"not \"{raw.capitalize()}\"; write it in lowercase to match any case")
        return None
    stem = word_term(raw)
    if stem != raw.lower() and (len(stem) <= _SHORT_STEM_CHARS or len(raw) - len(stem) >= _STEM_WARN_CHARS):
        return (f"'{raw}' is searched as its stem \"{stem}\", which other words share; "
                "check what it finds with 'reader rules test'"
                + (f", or write {raw.upper()} for the acronym only" if len(raw) <= 3 and raw.isalpha() else ""))
    if len(raw) == _SHORT_WORD_CHARS and raw.isalpha():  # one letter cannot be an acronym
        return (f"'{raw}' is a very short word not in capitals, so it matches the everyday word as well "
                f"as the acronym; write {raw.upper()} to match only the acronym")
    return None


# -- restricting a rule to some feeds ---------------------------------------------------------


def allowed_feed_ids(rule: Rule, feeds: Sequence[Feed]) -> frozenset[int] | None:
    """The feeds a rule may match articles of; None when it is not restricted.

    `feeds` entries name feeds by URL or by a part of their title, `groups`
    by group name (both case-insensitive); a feed named by either counts.
    """
    if not rule.feeds and not rule.groups:
        return None
    return frozenset(f.id for f in feeds if _feed_selected(f, rule.feeds) or _group_selected(f, rule.groups))


def _feed_selected(feed: Feed, selectors: Sequence[str]) -> bool:
    title = feed.display_title.casefold()
    return any(s == feed.url or s.casefold() in title for s in selectors)


def _group_selected(feed: Feed, groups: Sequence[str]) -> bool:
    return any(g.casefold() == feed.group.casefold() for g in groups)


def source_problems(rule: Rule, feeds: Sequence[Feed]) -> list[Problem]:
    """Warnings for `feeds`/`groups` entries that name no subscribed feed (the rule would be deaf to them)."""
    loader = _RuleFile(rule.path, TargetChecker(""))
    loader.text = _read_quietly(rule.path)  # for line numbers only
    for selector in rule.feeds:
        if not any(_feed_selected(f, [selector]) for f in feeds):
            loader.warn(f"feeds: no subscribed feed has the URL or a title containing '{selector}'",
                        loader.value_line("feeds", selector))  # fmt: skip
    for group in rule.groups:
        if not any(_group_selected(f, [group]) for f in feeds):
            known = ", ".join(sorted({f.group for f in feeds if f.group})) or "none"
            loader.warn(f"groups: no feed is in the group '{group}' (groups: {known})",
                        loader.value_line("groups", group))  # fmt: skip
    return loader.problems


# -- writing and seeding ----------------------------------------------------------------------

RULE_HEADER = """\
# A reader rule: written by the reader; edit it freely.
# Check it with `reader rules check`; the format is in the README (Rules).
"""


def write_rule(
    rules_dir: Path, name: str, *, query: str, notify: Sequence[str] = (), title: str = "",
    feeds: Sequence[str] = (), groups: Sequence[str] = (), enabled: bool = True, mode: str = "instant",
    digest_at: Sequence[datetime.time] = (), quiet_hours: QuietHours | str | None = None, timezone: str = "",
    story_updates: str = "none", outlets: int = 1, overwrite: bool = False,
) -> Path:  # fmt: skip
    """Save a rule (or, without notify, a saved search) as `rules_dir/NAME.toml`; returns its path.

    Raises ValueError for a bad name or mode, QueryError for a query that does
    not parse, FileExistsError if the rule exists and `overwrite` is false.
    The file is owner-only (0600): notify URLs carry secrets.
    """
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"a rule name is letters, digits, '-', '_' and '.', starting with a letter or digit: {name!r}")
    if mode not in MODES:
        raise ValueError(f"mode should be 'instant' or 'digest', not {mode!r}")
    parse_query(query)
    table: dict[str, Any] = {"query": query}
    optional = {
        "title": title, "notify": list(notify), "feeds": list(feeds), "groups": list(groups),
        "mode": mode if mode != "instant" else "", "digest_at": [f"{t:%H:%M}" for t in digest_at],
        "quiet_hours": str(quiet_hours) if quiet_hours else "", "timezone": timezone,
        "story_updates": story_updates if story_updates != "none" else "", "outlets": outlets if outlets != 1 else 0,
    }  # fmt: skip
    table.update((key, value) for key, value in optional.items() if value)
    if not enabled:
        table["enabled"] = False
    rules_dir = Path(rules_dir)
    _make_private_dir(rules_dir)
    path = rules_dir / f"{name}.toml"
    _write_private(path, RULE_HEADER + tomli_w.dumps(table), overwrite=overwrite)
    return path


def _make_private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def _write_private(path: Path, text: str, *, overwrite: bool) -> None:
    """Write a 0600 file atomically: a temp file, then a link (fails if it exists) or a replace."""
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} already exists")
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if overwrite:
            os.replace(temp, path)
        else:
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def seed_rules(rules_dir: Path, bundled: Path = BUNDLED_RULES) -> list[Path]:
    """On first run, copy the bundled example rules into a missing or empty rules dir; returns the files made.

    A marker file stays behind, so a user who deletes every rule does not get
    the examples back; existing files are never overwritten.
    """
    rules_dir = Path(rules_dir)
    if rules_dir.is_dir() and any(rules_dir.iterdir()):
        return []
    _make_private_dir(rules_dir)
    made = []
    for source in rule_files(bundled):
        target = rules_dir / source.name
        try:
            _write_private(target, source.read_text(encoding="utf-8"), overwrite=False)
        except FileExistsError:
            continue
        made.append(target)
    (rules_dir / SEEDED_MARKER).write_text("The reader copied its example rules here when this directory was new.\n")
    return made


# -- editing a rule file in place ------------------------------------------------------------


def edit_rule(path: Path, changes: dict[str, Any], *, apprise_config: str = "") -> Rule:
    """Change some keys of a rule file in place, keeping its comments and the lines of every other key.

    A value of None removes the key. The edited file is loaded as the daemon
    loads it; if that fails, the old text is put back and ValueError says why
    (with the problems' messages). Returns the rule as loaded.
    """
    path = Path(path)
    old = path.read_text(encoding="utf-8")
    new = old
    for key, value in changes.items():
        if key not in KEYS:
            raise ValueError(f"a rule has no key {key!r}")
        new = _set_key(new, key, value)
    _write_private(path, new, overwrite=True)
    rule, problems = load_rule(path, apprise_config=apprise_config)
    if rule is None:
        _write_private(path, old, overwrite=True)
        raise ValueError("; ".join(p.message for p in problems if p.severity == "error") or "the rule did not load")
    return rule


def delete_rule(path: Path) -> None:
    """Remove a rule file (the daemon stops using it on its next look at the rules directory)."""
    Path(path).unlink(missing_ok=True)


def _set_key(text: str, key: str, value: Any) -> str:
    """`text` with top-level `key` set to `value` (None: removed). Only that key's lines change; a comment at
    the end of its line stays. Raises ValueError if the file's layout defeats a safe edit."""
    lines = text.splitlines(keepends=True)
    place = _key_span(lines, key)
    new_line = tomli_w.dumps({key: value}).rstrip("\n") if value is not None else None
    if place is None:
        if new_line is None:
            return text
        at = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
        if at and not lines[at - 1].endswith("\n"):
            lines[at - 1] += "\n"
        lines.insert(at, new_line + "\n")
    else:
        start, end, comment = place
        ending = "\n" if lines[end - 1].endswith("\n") else ""
        lines[start:end] = [] if new_line is None else [new_line + (f"  {comment}" if comment else "") + ending]
    edited = "".join(lines)
    try:
        table = tomllib.loads(edited)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - a guard: the lines above keep TOML valid
        raise ValueError(f"cannot edit {key!r} safely ({exc}); edit the file by hand") from None
    expected = tomllib.loads(text)
    expected.pop(key, None)
    if value is not None:
        expected[key] = tomllib.loads(new_line)[key]
    if table != expected:
        raise ValueError(f"cannot edit {key!r} safely in this file; edit it by hand")
    return edited


def _key_span(lines: list[str], key: str) -> tuple[int, int, str] | None:
    """Where top-level `key` is: its first line, the line after its value, and the comment ending its last line."""
    pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    for start, line in enumerate(lines):
        if line.lstrip().startswith("["):
            return None  # rule keys are all top-level; below a table header is not ours
        if not pattern.match(line):
            continue
        for end in range(start + 1, len(lines) + 1):
            chunk = "".join(lines[start:end])
            try:
                value = tomllib.loads(chunk)[key]
            except (tomllib.TOMLDecodeError, KeyError):
                continue
            last = lines[end - 1].rstrip("\n")
            comment = ""
            for at in (i for i, c in enumerate(last) if c == "#"):
                try:
                    if tomllib.loads("".join(lines[start:end - 1]) + last[:at])[key] == value:
                        comment = last[at:].strip()
                        break
                except (tomllib.TOMLDecodeError, KeyError):
                    continue
            return start, end, comment
        return None
    return None
