"""First-run setup: the bundled feeds into a brand-new database, the bundled rules into an empty rules dir.

It never subscribes or seeds again what the user removed afterwards, and never overwrites a file. (Any other
command that writes to the rules dir seeds it first too: `reader rules`, an import's saved searches.)"""

from __future__ import annotations

from pathlib import Path

from .config import BUNDLED_FEEDS, Settings
from .store import Store

SEEDED_KEY = "seeded_bundled_feeds"


def ensure_setup(settings: Settings, store: Store) -> None:
    """Seed the rules dir, and import the bundled feeds.opml the first time a database is opened.

    Both are recorded (a marker file, a meta row), so a user who later removes
    every feed or rule is not re-subscribed behind their back.
    """
    rules_dir = Path(settings.rules_dir)
    if not (rules_dir.is_dir() and any(rules_dir.iterdir())):  # seed_rules' own test, without loading the
        from .rules import seed_rules  # rules' parser and Apprise on every start of the TUI

        seed_rules(rules_dir)
    if store.read_only or store.get_meta(SEEDED_KEY):  # a read-only data dir is shown as it is
        return
    from .opml import read_subscriptions

    if not store.feeds() and BUNDLED_FEEDS.is_file():
        for sub in read_subscriptions(BUNDLED_FEEDS.read_bytes(), BUNDLED_FEEDS.name).subscriptions:
            store.add_feed(sub.url, sub.title, sub.group, sub.site_url)
    store.set_meta(SEEDED_KEY, "1")
