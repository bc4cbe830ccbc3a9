"""First-run setup: subscribe to the bundled feeds once, on a brand-new database."""

from __future__ import annotations

from .config import BUNDLED_FEEDS, Settings
from .opml import read_subscriptions
from .store import Store

SEEDED_KEY = "seeded_bundled_feeds"


def ensure_setup(settings: Settings, store: Store) -> None:
    """Import the bundled feeds.opml the first time a database is opened.

    Recorded in the store, so a user who later removes every feed is not
    re-subscribed behind their back.
    """
    if store.get_meta(SEEDED_KEY):
        return
    if not store.feeds() and BUNDLED_FEEDS.is_file():
        for sub in read_subscriptions(BUNDLED_FEEDS.read_bytes(), BUNDLED_FEEDS.name).subscriptions:
            store.add_feed(sub.url, sub.title, sub.group, sub.site_url)
    store.set_meta(SEEDED_KEY, "1")
