"""The SQLite store: the record of feeds and articles. Every SQL statement lives in this package.

One connection per thread (SQLite connections must not be shared across
threads), WAL mode so readers never block the single writer, and short
transactions. The schema is versioned with `PRAGMA user_version`; `MIGRATIONS`
only ever grows, each step moving the schema forward by one version.

The Whoosh index is derived from this store: an article needs (re)indexing
while `indexed_version != version`, and deleted articles leave a row in
`index_deletions` until the index has dropped them. A crash between the two
writes is repaired by simply running the indexer again.

One module per table family, each a `Database` subclass that `Store` combines:
`feeds.py`, `articles.py`, `alerts.py` (the match queue and the outbox),
`stories.py`; a new family is a new module whose class joins `Store`'s bases,
with its tables added by a new step in `schema.py`. `db.py` holds the connection and
transactions, `schema.py` the DDL. This package never knows about HTTP, Whoosh
or Textual.
"""

from __future__ import annotations

from ..models import (  # the record types, declared in models.py; importable from here as before
    Alert,
    AlertSource,
    ArticleFilter,
    ArticleLine,
    Delivery,
    DeliveryPlan,
    DeliveryState,
    FulltextJob,
    FulltextState,
    IndexRow,
    MatchCandidate,
    NewAlert,
    UpsertResult,
)
from .alerts import ALERT_COLUMNS, DELIVERY_COLUMNS, AlertStore
from .articles import ARTICLE_COLUMNS, LIST_SORTS, ArticleStore
from .db import Database, StoreDamaged, StoreError, StoreWriteError, utcnow
from .feeds import FEED_COLUMNS, FeedNotFound, FeedStore
from .schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from .stories import StoryStore, group_rows

# The states by their older names, for today's importers (the StrEnums in models.py are the declarations).
FULLTEXT_PENDING, FULLTEXT_DONE, FULLTEXT_SKIPPED, FULLTEXT_FAILED = (
    FulltextState.PENDING, FulltextState.DONE, FulltextState.SKIPPED, FulltextState.FAILED,
)  # fmt: skip
HELD, PENDING, SENT, FAILED = DeliveryState.HELD, DeliveryState.PENDING, DeliveryState.SENT, DeliveryState.FAILED


class Store(FeedStore, ArticleStore, AlertStore, StoryStore):
    """All reads and writes of the SQLite database."""


__all__ = [
    "ALERT_COLUMNS", "APPLICATION_ID", "ARTICLE_COLUMNS", "DELIVERY_COLUMNS", "FAILED", "FEED_COLUMNS",
    "FULLTEXT_DONE", "FULLTEXT_FAILED", "FULLTEXT_PENDING", "FULLTEXT_SKIPPED", "HELD", "LIST_SORTS",
    "MIGRATIONS", "PENDING", "SCHEMA_VERSION", "SENT", "Alert", "AlertSource", "AlertStore", "ArticleFilter",
    "ArticleLine", "ArticleStore", "Database", "Delivery", "DeliveryPlan", "DeliveryState", "FeedNotFound",
    "FeedStore", "FulltextJob", "FulltextState", "IndexRow", "MatchCandidate", "NewAlert", "Store", "StoreDamaged",
    "StoreError", "StoreWriteError", "StoryStore", "UpsertResult", "group_rows", "utcnow",
]  # fmt: skip
