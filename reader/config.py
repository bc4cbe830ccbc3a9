"""Where data lives and what the settings are.

Paths follow platformdirs (XDG on Linux). `--data-dir` / `READER_DATA_DIR`
and `--config-dir` / `READER_CONFIG_DIR` override them; the settings file is
`config.toml` in the config directory. Reading config is the only I/O here.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import platformdirs

APP_NAME = "reader"
VERSION = "0.1.0"
USER_AGENT = f"reader/{VERSION} (terminal RSS reader; +https://github.com/reader-rss/reader)"


def _bundled(name: str) -> Path:
    """A file shipped with the reader: in the source checkout, or inside an installed wheel."""
    checkout = Path(__file__).resolve().parent.parent / name
    return checkout if checkout.exists() else Path(__file__).resolve().parent / "bundled" / name


BUNDLED_FEEDS = _bundled("feeds.opml")
BUNDLED_RULES = _bundled("rules")


class ConfigError(Exception):
    """The settings file is unreadable or holds a wrong value."""


@dataclass(frozen=True)
class FetchSettings:
    concurrency: int = 64  # requests in flight overall
    per_host: int = 4  # requests in flight to one host
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # longest silence between bytes
    total_timeout: float = 60.0  # one whole request, redirects included
    max_feed_bytes: int = 16 * 1024 * 1024
    max_page_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    max_items_per_feed: int = 2000  # newest entries kept from one fetch; a hostile feed can't flood the store
    user_agent: str = USER_AGENT
    fulltext: bool = True  # fetch article pages (per feed too)
    max_retry_after: int = 24 * 3600  # cap on a server's Retry-After


@dataclass(frozen=True)
class AlertSettings:
    first_fetch_hours: int = 48  # a new feed alerts only on articles this recent
    apprise_config: str = ""  # path of an Apprise config file with tagged URLs
    send_timeout: float = 30.0  # seconds one notification may take (Apprise has no timeout of its own)
    retry_base_seconds: float = 30.0  # wait after the first failed delivery; doubled after each further one
    retry_max_seconds: float = 3600.0  # the longest wait between two attempts
    max_attempts: int = 10  # then the delivery is given up (state "failed"; `reader alerts retry` resends)


@dataclass(frozen=True)
class DaemonSettings:
    interval_minutes: int = 30
    min_interval_minutes: int = 5
    max_interval_minutes: int = 24 * 60
    # Per-feed refresh interval in minutes, by feed URL ([daemon.feed_intervals] "https://…" = 120).
    feed_intervals: dict | None = None
    log_level: str = "INFO"
    log_file: str = ""  # default: stderr (the journal, under systemd)


@dataclass(frozen=True)
class HealthSettings:
    notify: list | None = None  # Apprise URLs or tags, like a rule's; none: health alerts are only logged
    failing_cycles: int = 3  # a feed failing this many refreshes in a row is reported


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    config_dir: Path
    rules_dir: Path
    fetch: FetchSettings = field(default_factory=FetchSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    health: HealthSettings = field(default_factory=HealthSettings)

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


def _section(cls, raw: dict, name: str):
    """Build one settings section from a TOML table, rejecting unknown keys."""
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"[{name}] has an unknown key {key!r}; known: {', '.join(known)}")
        default = known[key].default
        if default is not None and not isinstance(value, type(default)):
            if not (isinstance(default, float) and isinstance(value, int)):
                raise ConfigError(f"[{name}] {key} should be a {type(default).__name__}, got {value!r}")
        values[key] = value
    return cls(**values)


def load_settings(
    data_dir: str | os.PathLike | None = None,
    config_dir: str | os.PathLike | None = None,
    rules_dir: str | os.PathLike | None = None,
) -> Settings:
    """Resolve paths (argument > environment > settings file > platform default) and read settings."""
    env = os.environ
    config = Path(config_dir or env.get("READER_CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME))
    raw: dict = {}
    settings_file = config / "config.toml"
    if settings_file.is_file():
        try:
            raw = tomllib.loads(settings_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{settings_file}: {exc}") from None
    paths = raw.pop("paths", {})
    data = Path(
        data_dir or env.get("READER_DATA_DIR") or paths.get("data_dir") or platformdirs.user_data_dir(APP_NAME)
    )
    rules = Path(rules_dir or env.get("READER_RULES_DIR") or paths.get("rules_dir") or config / "rules")
    sections = {"fetch": FetchSettings, "alerts": AlertSettings, "daemon": DaemonSettings, "health": HealthSettings}
    unknown = set(raw) - set(sections)
    if unknown:
        raise ConfigError(f"{settings_file}: unknown section(s) {', '.join(sorted(unknown))}")
    built = {name: _section(cls, raw.get(name, {}), name) for name, cls in sections.items()}
    if built["alerts"].apprise_config:  # "~/.config/apprise/apprise.yml" as people write it
        built["alerts"] = replace(built["alerts"], apprise_config=os.path.expanduser(built["alerts"].apprise_config))
    return Settings(
        data_dir=data.expanduser(), config_dir=config.expanduser(), rules_dir=rules.expanduser(), **built
    )


def with_fetch(settings: Settings, **changes) -> Settings:
    """A copy of `settings` with some fetch settings changed (e.g. by CLI flags)."""
    return replace(settings, fetch=replace(settings.fetch, **changes))
