"""Where data lives and what the settings are: every key of config.toml with its type, range and default.

Paths follow platformdirs (XDG on Linux). `--data-dir` / `READER_DATA_DIR`
and `--config-dir` / `READER_CONFIG_DIR` override them; the settings file is
`config.toml` in the config directory. Reading config is the only I/O here.
A value out of range is refused (naming its line), never clamped: nothing that
loads can hang a fetch or flood a server. A value given another way (`reader
daemon --interval`) goes through `with_setting`, the same checks.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import platformdirs

if TYPE_CHECKING:  # read only where there is a settings file (start-up time)
    import tomllib

from . import __version__

APP_NAME = "reader"
VERSION = __version__
USER_AGENT = f"reader/{VERSION} (terminal RSS reader; +https://github.com/reader-rss/reader)"


def _bundled(name: str) -> Path:
    """A file shipped with the reader: in the source checkout, or inside an installed wheel."""
    checkout = Path(__file__).resolve().parent.parent / name
    return checkout if checkout.exists() else Path(__file__).resolve().parent / "bundled" / name


BUNDLED_FEEDS = _bundled("feeds.opml")
BUNDLED_RULES = _bundled("rules")


class ConfigError(Exception):
    """The settings file is unreadable or holds a wrong value (exit code 2)."""


class SettingError(ConfigError):
    """One value out of its type or range, e.g. "[fetch] concurrency must be ≥ 1 (got 0)"."""

    def __init__(self, section: str, key: str, reason: str, item: str | None = None):
        self.section, self.key, self.reason = section, key, reason
        self.item = item  # the entry of a table-valued key that is wrong
        super().__init__(f"[{section}] {key} {reason}")


class _BadItem(ValueError):
    def __init__(self, item: str, reason: str):
        super().__init__(reason)
        self.item = item


@dataclass(frozen=True)
class Spec:
    """What one key accepts. Kinds: int, number (int or float), bool, str, strings (a list), minutes (a table of
    name = minutes), keys (a table of action = key or keys)."""

    kind: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()

    def check(self, value: Any) -> Any:
        """The value, normalised (choices upper-cased, lists as tuples); ValueError with the reason if it does
        not fit."""
        got = f"(got {value!r})"
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false {got}")
            return value
        if self.kind in ("int", "number"):
            whole = self.kind == "int"
            if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
                raise ValueError(f"must be {'a whole number' if whole else 'a number'} {got}")
            return self._in_range(value)
        if self.kind == "str":
            return self._text(value, got)
        if self.kind == "strings":
            if not isinstance(value, list | tuple):
                raise ValueError(f'must be a list of strings, such as ["desktop"] {got}')
            return tuple(self._text(v, f"(got {v!r})") for v in value)
        if self.kind == "minutes":
            if not isinstance(value, dict):
                raise ValueError(f"must be a table of feed URL = minutes {got}")
            for name, minutes in value.items():
                if isinstance(minutes, bool) or not isinstance(minutes, int | float):
                    raise _BadItem(name, f"{name!r} must be a number of minutes (got {minutes!r})")
                try:
                    self._in_range(minutes, f"{name!r} ")
                except ValueError as exc:
                    raise _BadItem(name, str(exc)) from None
            return dict(value)
        if self.kind == "keys":
            if not isinstance(value, dict):
                raise ValueError(f'must be a table of action = key, such as next-unread = "j" {got}')
            for action, keys in value.items():
                if action not in KEY_ACTIONS:
                    raise _BadItem(action, f"has no action {action!r}{_did_you_mean(action, KEY_ACTIONS)}")
                listed = keys if isinstance(keys, list) else [keys]
                if not listed or not all(isinstance(k, str) and k.strip() for k in listed):
                    raise _BadItem(action, f"{action} must be a key or a list of keys, such as \"j\" or [\"j\", \"^N\"]"
                                           f" (got {keys!r})")  # fmt: skip
                for key in listed:
                    self._text(key, f"(got {key!r})")
            return {action: tuple(keys) if isinstance(keys, list) else (keys,) for action, keys in value.items()}
        raise AssertionError(self.kind)

    def _in_range(self, value: float, prefix: str = "") -> float:
        if value != value:  # NaN (TOML's `nan`) compares false with every bound: it would pass them all
            raise ValueError(f"{prefix}must be a number (got nan)")
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            sign, bound = ("≥", self.min) if self.min is not None and value < self.min else ("≤", self.max)
            raise ValueError(f"{prefix}must be {sign} {_number(bound)} (got {_number(value)})")
        return value

    def _text(self, value: Any, got: str) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string {got}")
        if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):  # C0, DEL and C1 (U+009B is CSI)
            raise ValueError(f"must not hold control characters {got}")
        if self.choices:
            if value.upper() not in self.choices:
                raise ValueError(f"must be one of {', '.join(self.choices)} {got}")
            return value.upper()
        return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else str(value)


def setting(default: Any, kind: str, *, min: float | None = None, max: float | None = None,
            choices: tuple[str, ...] = ()) -> Any:  # fmt: skip
    spec = Spec(kind, min, max, choices)
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={"spec": spec})
    return field(default=default, metadata={"spec": spec})


class _Section:
    """A table of config.toml: each field declares its Spec; a value that does not fit raises SettingError."""

    SECTION: ClassVar[str]
    TABLE: ClassVar[bool] = False  # True: the section's keys are free names, all held in one table-valued field

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            try:
                object.__setattr__(self, f.name, f.metadata["spec"].check(getattr(self, f.name)))
            except ValueError as exc:
                raise SettingError(self.SECTION, f.name, str(exc), getattr(exc, "item", None)) from None
        self._check_together()

    def _check_together(self) -> None:
        """Checks across keys; raise SettingError naming the later key."""

    def _not_below(self, key: str, other: str) -> None:
        value, floor = getattr(self, key), getattr(self, other)
        if value < floor:
            raise SettingError(self.SECTION, key, f"must be ≥ {other} ({_number(floor)}) (got {_number(value)})")


DAY_MINUTES = 24 * 60
MAX_MINUTES = 30 * DAY_MINUTES


@dataclass(frozen=True)
class PathSettings(_Section):
    SECTION = "paths"
    data_dir: str = setting("", "str")  # default: the platform's data directory
    rules_dir: str = setting("", "str")  # default: rules/ in the config directory


@dataclass(frozen=True)
class FetchSettings(_Section):
    SECTION = "fetch"
    # requests in flight overall (per host: below); fewer if the file-descriptor limit is low (fetch.sockets_allowed)
    concurrency: int = setting(512, "int", min=1, max=1000)
    per_host: int = setting(4, "int", min=1, max=16)  # requests in flight to one host
    connect_timeout: float = setting(10.0, "number", min=0.1, max=300)
    read_timeout: float = setting(30.0, "number", min=0.1, max=600)  # longest silence between bytes
    total_timeout: float = setting(60.0, "number", min=0.1, max=3600)  # one whole request, redirects included
    max_feed_bytes: int = setting(16 * 1024 * 1024, "int", min=1, max=1 << 30)
    max_page_bytes: int = setting(5 * 1024 * 1024, "int", min=1, max=1 << 30)
    max_redirects: int = setting(5, "int", min=0, max=20)
    # newest entries kept from one fetch; a hostile feed can't flood the store
    max_items_per_feed: int = setting(2000, "int", min=1, max=100_000)
    # CPU seconds parsing one feed or extracting one page may take; past it that document fails, the run goes on
    max_cpu_seconds: float = setting(5.0, "number", min=0.1, max=600)
    user_agent: str = setting(USER_AGENT, "str")
    fulltext: bool = setting(True, "bool")  # fetch article pages (per feed too)
    # cap in seconds on a server's Retry-After; at least a minute, so a server asking us to wait is never hammered
    max_retry_after: int = setting(24 * 3600, "int", min=60, max=30 * 24 * 3600)

    def _check_together(self) -> None:
        if not self.user_agent.strip():
            raise SettingError(self.SECTION, "user_agent", "must not be empty")


@dataclass(frozen=True)
class AlertSettings(_Section):
    SECTION = "alerts"
    first_fetch_hours: int = setting(48, "int", min=0, max=1_000_000)  # a new feed alerts only on articles this recent
    apprise_config: str = setting("", "str")  # path of an Apprise config file with tagged URLs
    # seconds one notification may take (Apprise has no timeout of its own)
    send_timeout: float = setting(30.0, "number", min=1, max=600)
    # wait after the first failed delivery; doubled after each further one
    retry_base_seconds: float = setting(30.0, "number", min=1, max=24 * 3600)
    retry_max_seconds: float = setting(3600.0, "number", min=1, max=30 * 24 * 3600)  # longest wait between attempts
    # then the delivery is given up (state "failed"; `reader alerts retry` resends)
    max_attempts: int = setting(10, "int", min=1, max=1000)

    def _check_together(self) -> None:
        self._not_below("retry_max_seconds", "retry_base_seconds")


@dataclass(frozen=True)
class DaemonSettings(_Section):
    SECTION = "daemon"
    interval_minutes: float = setting(30, "number", min=1, max=MAX_MINUTES)
    min_interval_minutes: float = setting(5, "number", min=1, max=MAX_MINUTES)  # never below a minute
    max_interval_minutes: float = setting(DAY_MINUTES, "number", min=1, max=MAX_MINUTES)
    # Per-feed refresh interval in minutes, by feed URL ([daemon.feed_intervals] "https://…" = 120).
    feed_intervals: dict = setting({}, "minutes", min=1, max=MAX_MINUTES)
    log_level: str = setting("INFO", "str", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    log_file: str = setting("", "str")  # default: stderr (the journal, under systemd)

    def _check_together(self) -> None:
        self._not_below("max_interval_minutes", "min_interval_minutes")


@dataclass(frozen=True)
class HealthSettings(_Section):
    """The watcher's alerts: where they go, and after how many failed cycles a feed is reported."""

    SECTION = "health"
    notify: tuple[str, ...] = setting((), "strings")  # Apprise URLs or tags, as a rule's notify
    failing_cycles: int = setting(3, "int", min=1, max=1000)


@dataclass(frozen=True)
class UISettings(_Section):
    """The TUI's look and the programs it hands things to."""

    SECTION = "ui"
    theme: str = setting("", "str")  # a Textual theme (textual-dark, nord, gruvbox…); default: the last chosen with T
    browser: str = setting("", "str")  # command opening links, %s for the URL (as $BROWSER); default: $BROWSER
    pipe: str = setting("", "str")  # command `|` pipes an article's text to; default: $PAGER, else less

    def _check_together(self) -> None:
        if self.theme:
            from textual.theme import BUILTIN_THEMES  # only when a theme is set: Textual is slow to import

            if self.theme not in BUILTIN_THEMES:
                raise SettingError(self.SECTION, "theme", f"is not a theme{_did_you_mean(self.theme, BUILTIN_THEMES)}")


# The TUI's actions that [keys] can bind, by name (newsboat's name where newsboat has the action).
KEY_ACTIONS = (
    "help", "cmdline", "toggle-theme", "hard-quit", "quit", "search", "next-unread", "prev-unread", "next", "prev",
    "undo-mark-read", "toggle-show-read-feeds", "sources", "toggle-article-read",
    "mark-feed-read", "toggle-star", "open-in-browser", "reload", "reload-all", "sort", "save-search", "show-urls",
    "add-feed", "remove-feed", "edit-feed", "rules", "import-opml", "pipe-to", "next-pane", "prev-pane", "up", "down",
    "pageup", "pagedown", "home", "end", "open", "expand-story", "mute-story", "toggle-stories",
)  # fmt: skip


@dataclass(frozen=True)
class KeySettings(_Section):
    """`[keys]`: action name = key (or a list of keys), e.g. `next-unread = "j"`, `reload = ["r", "^R"]`."""

    SECTION = "keys"
    TABLE: ClassVar[bool] = True  # the section's keys are action names, all held in `bindings`
    bindings: dict = setting({}, "keys")


SECTIONS: dict[str, type[_Section]] = {
    cls.SECTION: cls
    for cls in (PathSettings, FetchSettings, AlertSettings, DaemonSettings, HealthSettings, UISettings, KeySettings)
}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    config_dir: Path
    rules_dir: Path
    fetch: FetchSettings = field(default_factory=FetchSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    health: HealthSettings = field(default_factory=HealthSettings)
    ui: UISettings = field(default_factory=UISettings)
    keys: KeySettings = field(default_factory=KeySettings)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "reader.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "writer.lock"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "config.toml"


def spec(section: str, key: str) -> Spec:
    """The Spec of `[section] key`; SettingError if there is no such key."""
    cls = SECTIONS.get(section)
    if cls is None:
        raise SettingError(section, key, f"is not a setting: no section [{section}]"
                           + _did_you_mean(section, SECTIONS, True))  # fmt: skip
    found = {f.name: f.metadata["spec"] for f in fields(cls)}  # type: ignore[arg-type]
    if key not in found:
        raise SettingError(section, key, f"is not a setting{_did_you_mean(key, found)}")
    return found[key]


def with_setting(settings: Settings, section: str, key: str, value: Any) -> Settings:
    """A copy of `settings` with one value changed, checked as config.toml's are (for a command-line option);
    SettingError says why not."""
    spec(section, key)
    if section == "paths":
        raise SettingError(section, key, "is read when the reader starts; edit config.toml to change it")
    return replace(settings, **{section: replace(getattr(settings, section), **{key: value})})


def _did_you_mean(name: str, known, sections: bool = False) -> str:
    show = (lambda n: f"[{n}]") if sections else repr
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {show(close[0])}?" if close else f" (known: {', '.join(map(show, known))})"


# -- reading config.toml ---------------------------------------------------------------------

_KEY_PART = r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[A-Za-z0-9_-]+'
_HEADER = re.compile(rf"^\s*\[\[?\s*((?:{_KEY_PART})(?:\s*\.\s*(?:{_KEY_PART}))*)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(rf"^\s*((?:{_KEY_PART})(?:\s*\.\s*(?:{_KEY_PART}))*)\s*=")


def _dotted(path: str) -> tuple[str, ...]:
    return tuple(p.strip("\"'") for p in re.findall(_KEY_PART, path))


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The line of every table and key of a TOML text, by dotted path: tomllib gives values, not places."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    in_string = ""
    for number, line in enumerate(text.splitlines(), 1):
        if in_string:  # inside a multi-line string: only its end matters
            if line.count(in_string) % 2:
                in_string = ""
            continue
        if header := _HEADER.match(line):
            table = _dotted(header.group(1))
            lines.setdefault(table, number)
        elif key := _KEY.match(line):
            lines.setdefault(table + _dotted(key.group(1)), number)
            rest = line[key.end():]
            for quotes in ('"""', "'''"):
                if rest.count(quotes) % 2:
                    in_string = quotes
    return lines


_TOML_PLACE = re.compile(r"\s*\(at line (\d+), column (\d+)\)")


def toml_error(exc: tomllib.TOMLDecodeError) -> tuple[str, int | None, int | None]:
    """tomllib's message without the "(at line L, column C)" it ends with, then L and C (None if it has none)."""
    text = str(exc)
    place = _TOML_PLACE.search(text)
    if place is None:
        return text, None, None
    return text[: place.start()], int(place.group(1)), int(place.group(2))


def setting_line(path: Path, *place: str) -> str:
    """`path:line` of a key of the settings file (`path` alone if it cannot be found), for messages about it."""
    try:
        line = key_lines(path.read_text(encoding="utf-8")).get(place)
    except (OSError, UnicodeDecodeError):
        line = None
    return f"{path}:{line}" if line else str(path)


def _read_sections(path: Path) -> dict[str, _Section]:
    """Every section of the settings file, checked; ConfigError names the file and line of the first wrong value."""
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        message, line, _column = toml_error(exc)
        raise ConfigError(f"{path}:{line}: {message}" if line else f"{path}: {message}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None
    lines = key_lines(text)

    def error(message: str, *place: str) -> ConfigError:
        while place and place not in lines:
            place = place[:-1]
        return ConfigError(f"{path}:{lines[place]}: {message}" if place else f"{path}: {message}")

    built: dict[str, _Section] = {}
    for name, table in raw.items():
        if name not in SECTIONS and isinstance(table, dict):
            raise error(f"unknown section [{name}]{_did_you_mean(name, SECTIONS, True)}", name)
        if name not in SECTIONS:
            raise error(f"{name!r} is outside any section; settings go in one, such as [fetch]", name)
        if not isinstance(table, dict):
            raise error(f"[{name}] must be a section (a table), not a value", name)
        if SECTIONS[name].TABLE:
            try:
                built[name] = SECTIONS[name](bindings=table)
            except SettingError as exc:
                raise error(f"[{name}] {exc.reason}", name, *([exc.item] if exc.item else [])) from None
            continue
        keys = {f.name for f in fields(SECTIONS[name])}  # type: ignore[arg-type]
        for key in table:
            if key not in keys:
                raise error(f"[{name}] has no key {key!r}{_did_you_mean(key, keys)}", name, key)
        try:
            built[name] = SECTIONS[name](**table)
        except SettingError as exc:
            raise error(str(exc), name, exc.key, *([exc.item] if exc.item else [])) from None
    return built


def load_settings(
    data_dir: str | os.PathLike | None = None,
    config_dir: str | os.PathLike | None = None,
    rules_dir: str | os.PathLike | None = None,
) -> Settings:
    """Resolve paths (argument > environment > settings file > platform default) and read settings."""
    env = os.environ
    config = Path(config_dir or env.get("READER_CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME))
    settings_file = config / "config.toml"
    # exists(), not is_file(): a directory or a dangling link there is named, not silently taken for no settings
    built = _read_sections(settings_file) if settings_file.exists() or settings_file.is_symlink() else {}
    paths = built.pop("paths", PathSettings())
    data = Path(data_dir or env.get("READER_DATA_DIR") or paths.data_dir or platformdirs.user_data_dir(APP_NAME))
    rules = Path(rules_dir or env.get("READER_RULES_DIR") or paths.rules_dir or config / "rules")
    alerts = built.get("alerts")
    if alerts and alerts.apprise_config:  # "~/.config/apprise/apprise.yml" as people write it
        built["alerts"] = replace(alerts, apprise_config=os.path.expanduser(alerts.apprise_config))
    return Settings(
        data_dir=data.expanduser(), config_dir=config.expanduser(), rules_dir=rules.expanduser(), **built
    )
