"""A throwaway home for the demo: its own data, config and rules dirs, subscribed to the demo world.

Nothing here touches the user's real directories: the sandbox's paths are
passed explicitly and also exported as READER_* variables, so any process the
reader starts from the demo (a refresh, the daemon) lands in the sandbox too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..config import BUNDLED_RULES, Settings, load_settings
from ..firstrun import SEEDED_KEY
from ..rules import load_rules, seed_rules, write_rule
from ..store import Store


class SandboxError(Exception):
    """The directory asked to keep the demo in is not fit for it."""


@contextmanager
def sandbox(keep: Path | None = None) -> Iterator[Settings]:
    """Settings whose data, config and rules dirs are under a fresh directory.

    A temp directory removed on exit, or `keep` (absent or empty) left in place.
    """
    if keep is None:
        root = Path(tempfile.mkdtemp(prefix="reader-demo-"))
    else:
        root = keep.expanduser().resolve()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise SandboxError(f"{root} is not an empty directory; the demo keeps its data only in a new one")
        root.mkdir(parents=True, exist_ok=True)
    try:
        yield load_settings(data_dir=root / "data", config_dir=root / "config", rules_dir=root / "rules")
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def export_paths(settings: Settings) -> None:
    """Point READER_* at the sandbox, for the reader's own child processes."""
    os.environ["READER_DATA_DIR"] = str(settings.data_dir)
    os.environ["READER_CONFIG_DIR"] = str(settings.config_dir)
    os.environ["READER_RULES_DIR"] = str(settings.rules_dir)


def subscribe(settings: Settings, feeds: list[tuple[str, str, str]]) -> None:
    """Subscribe to (url, title, group) feeds, and mark first-run setup done.

    Without that mark the reader would subscribe the sandbox to its bundled
    real-world feeds on first open — and try to reach the internet.
    """
    store = Store(settings.db_path)
    try:
        store.set_meta(SEEDED_KEY, "1")
        for url, title, group in feeds:
            store.add_feed(url, title, group)
    finally:
        store.close()


def install_rules(settings: Settings, notify_url: str, bundled: Path = BUNDLED_RULES) -> list[str]:
    """Copy the bundled rules; alert rules notify `notify_url` instead. Returns the alert rules' names.

    Saved searches (no notify) stay exactly as shipped.
    """
    seed_rules(settings.rules_dir, bundled)
    alerting = []
    for rule in load_rules(settings.rules_dir).rules:
        if rule.is_saved_search:
            continue
        write_rule(
            settings.rules_dir, rule.name, query=rule.query_text, notify=[notify_url], title=rule.title,
            feeds=rule.feeds, groups=rule.groups, enabled=rule.enabled, mode=rule.mode,
            digest_at=rule.digest_at, quiet_hours=rule.quiet_hours, timezone=rule.timezone, overwrite=True,
        )  # fmt: skip
        alerting.append(rule.name)
    return alerting
