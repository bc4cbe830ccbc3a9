"""The schema: numbered migration steps and the identity of a reader database. DDL only, no queries (but a
step's `rewrite`: what SQL cannot say, run in the step's transaction).

To change the schema, append a `Migration` numbered one past the last; never
edit a step that has shipped (databases out there already ran it). Each step
runs in one transaction with `user_version` set to its number, so a crash
leaves the database at the step before. Then run `python -m tests.schema_fixture`
to commit a small database made at the new version: `tests/test_migrations.py`
upgrades one made at every earlier version and checks that no row is lost.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int  # the schema version this step leaves the database at
    why: str
    sql: str  # statements separated by ';' (trigger bodies may hold their own)
    rewrite: Callable[[sqlite3.Connection], None] | None = None  # after the statements, in their transaction


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def _mask_deliveries(tx: sqlite3.Connection) -> None:
    """Step 10: each delivery's label, and any URL in its last error or in the health alert of a target given up
    (health.py's "delivery_failed" conditions, kept in meta "health"), masked as the reader masks them today.
    Readers before the webhook rule (every path segment after the first, every query value) stored some with
    their tokens whole, and the alert list and `doctor` show them as stored. Apprise is loaded for this, once."""
    import json

    from ..targets import redact  # (this step only: opening a current database never loads Apprise)

    def masked(text: str) -> str:
        return _URL.sub(lambda m: redact(m.group()), text)

    rows = tx.execute("SELECT id, target_label, coalesce(last_error, '') FROM deliveries").fetchall()
    tx.executemany("UPDATE deliveries SET target_label = ?, last_error = ? WHERE id = ?",
                   [(redact(label), masked(error) or None, id_) for id_, label, error in rows])  # fmt: skip
    row = tx.execute("SELECT value FROM meta WHERE key = 'health'").fetchone()
    try:
        conditions = json.loads(row[0]) if row else {}
    except ValueError:
        return
    for c in conditions.values() if isinstance(conditions, dict) else ():
        if isinstance(c, dict) and c.get("kind") == "delivery_failed":
            c.update({k: masked(v) for k, v in c.items() if k in ("title", "detail") and isinstance(v, str)})
    if row:
        tx.execute("UPDATE meta SET value = ? WHERE key = 'health'", (json.dumps(conditions),))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "feeds and articles", """
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL DEFAULT '',
        grp TEXT NOT NULL DEFAULT '',
        site_url TEXT NOT NULL DEFAULT '',
        enabled INTEGER NOT NULL DEFAULT 1,
        fulltext INTEGER NOT NULL DEFAULT 1,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        ttl_seconds INTEGER,
        next_fetch_after TEXT,
        last_fetched_at TEXT,
        last_status TEXT,
        last_error TEXT,
        last_new_at TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        link TEXT NOT NULL DEFAULT '',
        canonical_url TEXT NOT NULL DEFAULT '',
        author TEXT NOT NULL DEFAULT '',
        published TEXT,
        updated TEXT,
        first_seen TEXT NOT NULL,
        sort_date TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL DEFAULT '',
        content_html TEXT NOT NULL DEFAULT '',
        categories TEXT NOT NULL DEFAULT '[]',
        enclosures TEXT NOT NULL DEFAULT '[]',
        content_hash TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        markdown TEXT NOT NULL DEFAULT '',
        text_source TEXT NOT NULL DEFAULT 'summary',
        fulltext_state TEXT NOT NULL DEFAULT 'pending',
        page_error TEXT,
        read INTEGER NOT NULL DEFAULT 0,
        starred INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 1,
        indexed_version INTEGER NOT NULL DEFAULT 0,
        UNIQUE (feed_id, key)
    );
    CREATE INDEX articles_by_date ON articles (sort_date DESC, id DESC);
    CREATE INDEX articles_by_feed_date ON articles (feed_id, sort_date DESC, id DESC);
    CREATE INDEX articles_to_index ON articles (id) WHERE indexed_version != version;
    CREATE INDEX articles_fulltext_pending ON articles (id) WHERE fulltext_state = 'pending';
    CREATE INDEX articles_by_canonical ON articles (canonical_url);
    CREATE TABLE index_deletions (article_id INTEGER PRIMARY KEY);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TRIGGER articles_deleted AFTER DELETE ON articles BEGIN
        INSERT OR IGNORE INTO index_deletions (article_id) VALUES (old.id);
    END;
    """),
    # 2: alerts. A trigger queues every new article for matching in the transaction that stores it,
    # so a crash anywhere between storing and matching loses no alert: the queue is matched next time.
    # `first_fetch`: the article came with its feed's first articles (no flood from a new feed);
    # `queued_at` (to the millisecond): when it arrived, against which a new rule's `armed_at` is compared.
    # Alerts keep a copy of what a message shows, so they outlive their article; deliveries are one
    # row per (alert, target), the target known by a hash and a redacted label (its URL holds secrets).
    Migration(2, "alerts: the match queue, rules' arming times, alerts, their sources and deliveries", """
    CREATE TABLE rule_state (
        rule TEXT PRIMARY KEY,
        armed_at TEXT NOT NULL
    );
    CREATE TABLE match_queue (
        article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        first_fetch INTEGER NOT NULL DEFAULT 0,
        queued_at TEXT NOT NULL
    );
    CREATE TRIGGER articles_queue_match AFTER INSERT ON articles BEGIN
        INSERT OR IGNORE INTO match_queue (article_id, first_fetch, queued_at)
        VALUES (new.id, (SELECT last_new_at IS NULL FROM feeds WHERE id = new.feed_id),
                strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));
    END;
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
        canonical_url TEXT,
        title TEXT NOT NULL DEFAULT '',
        link TEXT NOT NULL DEFAULT '',
        published TEXT,
        snippet TEXT NOT NULL DEFAULT '',
        spans TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        UNIQUE (rule, canonical_url)
    );
    CREATE UNIQUE INDEX alerts_rule_article ON alerts (rule, article_id);
    CREATE INDEX alerts_by_time ON alerts (created_at DESC, id DESC);
    CREATE TABLE alert_sources (
        alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
        feed_title TEXT NOT NULL DEFAULT '',
        link TEXT NOT NULL DEFAULT '',
        UNIQUE (alert_id, article_id)
    );
    CREATE INDEX alert_sources_by_article ON alert_sources (article_id);
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        target TEXT NOT NULL,
        target_label TEXT NOT NULL,
        batch TEXT,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        sent_at TEXT,
        UNIQUE (alert_id, target)
    );
    CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('held', 'pending');
    ALTER TABLE feeds ADD COLUMN max_age_seconds INTEGER;
    """),
    Migration(3, "the Starred view and unread counts without a scan of every article's row", """
    CREATE INDEX articles_starred ON articles (sort_date DESC, id DESC) WHERE starred = 1;
    CREATE INDEX articles_unread_by_feed ON articles (feed_id) WHERE read = 0;
    """),
    # 4: stories (reader/stories.py). Every article gets a story in the run that stores it (the pipeline
    # groups before it matches); until then it waits in `articles_to_group`. `story_terms` indexes the
    # stories still open (their centroids); a story's rows go once its window has passed, so it stays the
    # size of a few days of news. `story_df` holds the document frequency of every term grouped so far.
    # An alert is one per (rule, story); `deliveries.update_of` lets an alert announce a later source.
    Migration(4, "stories: each article's story, the open stories' terms, term counts; one alert per (rule, story)", """
    CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        size INTEGER NOT NULL DEFAULT 0,
        outlets TEXT NOT NULL DEFAULT '[]',
        names TEXT NOT NULL DEFAULT '[]',
        muted_until TEXT
    );
    CREATE INDEX stories_by_last_seen ON stories (last_seen);
    CREATE TABLE story_terms (
        term TEXT NOT NULL,
        story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        weight REAL NOT NULL,
        PRIMARY KEY (term, story_id)
    );
    CREATE INDEX story_terms_by_story ON story_terms (story_id);
    CREATE TABLE story_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL);
    ALTER TABLE articles ADD COLUMN story_id INTEGER REFERENCES stories(id) ON DELETE SET NULL;
    ALTER TABLE articles ADD COLUMN story_reason TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX articles_by_story ON articles (story_id);
    CREATE INDEX articles_to_group ON articles (sort_date, id) WHERE story_id IS NULL;
    ALTER TABLE alerts ADD COLUMN story_id INTEGER;
    CREATE UNIQUE INDEX alerts_rule_story ON alerts (rule, story_id);
    ALTER TABLE deliveries RENAME TO deliveries_v3;
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        target TEXT NOT NULL,
        target_label TEXT NOT NULL,
        batch TEXT,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        sent_at TEXT,
        update_of INTEGER NOT NULL DEFAULT 0,
        UNIQUE (alert_id, target, update_of)
    );
    INSERT INTO deliveries (id, alert_id, target, target_label, batch, state, attempts, next_attempt_at,
                            last_error, sent_at)
        SELECT id, alert_id, target, target_label, batch, state, attempts, next_attempt_at, last_error, sent_at
        FROM deliveries_v3;
    DROP TABLE deliveries_v3;
    CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('held', 'pending');
    """),
    # 5: a story's centroid is one row (`stories.centroid`, JSON: term -> weight; emptied once the story is
    # over) and `story_terms` only indexes the terms it is looked up by, its articles' keys (reader/stories.py;
    # `weight` is unused from here on). Vectors and centroids keep their heaviest terms; `dropped` is the
    # squared weight they left out, still counted in the centroid's length.
    Migration(5, "stories: centroids in one row, the weight they left out; story_terms holds keys only", """
    ALTER TABLE stories ADD COLUMN centroid TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE stories ADD COLUMN dropped REAL NOT NULL DEFAULT 0;
    UPDATE stories SET centroid = (SELECT json_group_object(term, weight) FROM story_terms WHERE story_id = stories.id)
        WHERE id IN (SELECT story_id FROM story_terms);
    """),
    # 6: the TUI's list (ids and stories in date order, unread, by group) and its stories' sizes from indexes,
    # without reading each article's row (its story column sits after the text: 0.9 s at 100,000 articles,
    # 0.1 s from the index).
    Migration(6, "the article list by story from indexes alone", """
    DROP INDEX articles_by_date;
    CREATE INDEX articles_by_date ON articles (sort_date DESC, id DESC, feed_id, story_id, read);
    DROP INDEX articles_by_story;
    CREATE INDEX articles_by_story ON articles (story_id, read, feed_id);
    """),
    # 7: stories merge (reader/stories.py, `Grouper.settle`): a story merged into an older one keeps its row,
    # with the story it went into and why; its articles and alerts move there. `text` is how much of a story
    # is full text (the sum over its articles, each at most 1), for the threshold a merge must reach; stories
    # made before count as all text (the strictest threshold).
    Migration(7, "stories: merges into older stories, and why; how much of each story is full text", """
    ALTER TABLE stories ADD COLUMN merged_into INTEGER;
    ALTER TABLE stories ADD COLUMN merge_reason TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE stories ADD COLUMN text REAL NOT NULL DEFAULT 0;
    UPDATE stories SET text = size;
    CREATE INDEX stories_merged ON stories (merged_into) WHERE merged_into IS NOT NULL;
    """),
    # 8: the grouper writes every term of a batch to `story_df` and each new story's keys to `story_terms`,
    # and reads them back by term: without a rowid, a term's row lives in one B-tree (its key) instead of
    # two (the table and the index on its key), which halves the writes. Same columns, same rows. From this
    # version on `stories.centroid` is written packed (reader/store/stories.py, `packed_centroid`: a tenth of
    # JSON's time to write); the JSON ones written before are read as they are.
    Migration(8, "stories: the term tables keyed by their terms, without rowids", """
    ALTER TABLE story_df RENAME TO story_df_v7;
    CREATE TABLE story_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO story_df (term, df) SELECT term, df FROM story_df_v7;
    DROP TABLE story_df_v7;
    ALTER TABLE story_terms RENAME TO story_terms_v7;
    CREATE TABLE story_terms (
        term TEXT NOT NULL,
        story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        weight REAL NOT NULL,
        PRIMARY KEY (term, story_id)
    ) WITHOUT ROWID;
    INSERT INTO story_terms (term, story_id, weight) SELECT term, story_id, weight FROM story_terms_v7;
    DROP TABLE story_terms_v7;
    CREATE INDEX story_terms_by_story ON story_terms (story_id);
    """),
    # 9: an article's texts (a dozen KB, most of its row) in a table of their own, written when the feed or the
    # page gives them and read by id: the small columns a fetch rewrites or reads for every article (its story,
    # the index's version, read, the page's state) no longer sit behind them. Before, each such write copied
    # the whole row with its overflow pages (and a statement journal of them): a cold fetch of 100 real feeds
    # wrote 700 MB for 50 MB of articles. Same rows; the columns are blanked before they are dropped, so
    # dropping them rewrites small rows only. The store queues each new article for matching itself, in the
    # transaction that stores it (`ArticleStore.upsert_articles`), as step 2's trigger did: an INSERT that
    # fires a trigger keeps a statement journal, a copy of every page it touches (140 MB in that fetch).
    Migration(9, "articles: their texts in a table of their own", """
    CREATE TABLE article_texts (
        id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        summary TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL DEFAULT '',
        content_html TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        markdown TEXT NOT NULL DEFAULT ''
    );
    INSERT INTO article_texts (id, summary, content, content_html, text, markdown)
        SELECT id, summary, content, content_html, text, markdown FROM articles;
    UPDATE articles SET summary = '', content = '', content_html = '', text = '', markdown = '';
    ALTER TABLE articles DROP COLUMN summary;
    ALTER TABLE articles DROP COLUMN content;
    ALTER TABLE articles DROP COLUMN content_html;
    ALTER TABLE articles DROP COLUMN text;
    ALTER TABLE articles DROP COLUMN markdown;
    DROP TRIGGER articles_queue_match;
    """),
    # 10: a story merged into another (`Grouper.settle`, `StoryStore._merge`) leaves its id in `story_aliases`, which
    # names the story holding its articles now (chains collapsed as they form): `reader stories show|mute OLD_ID` and
    # an alert that recorded the old id find the surviving story in one lookup. Filled from the merges made before
    # (`stories.merged_into`, followed to its end). Deliveries' labels stored unmasked by old readers are masked.
    Migration(10, "stories: each merged-away id names the story that holds its articles; delivery labels masked", """
    CREATE TABLE story_aliases (
        old_id INTEGER PRIMARY KEY,
        story_id INTEGER NOT NULL
    );
    CREATE INDEX story_aliases_by_story ON story_aliases (story_id);
    INSERT INTO story_aliases (old_id, story_id)
        WITH RECURSIVE chain(old_id, story_id, depth) AS (
            SELECT id, merged_into, 0 FROM stories WHERE merged_into IS NOT NULL
            UNION ALL
            SELECT c.old_id, s.merged_into, c.depth + 1 FROM chain c JOIN stories s ON s.id = c.story_id
            WHERE s.merged_into IS NOT NULL AND c.depth < 10000
        )
        SELECT old_id, story_id FROM chain c
        WHERE NOT EXISTS (SELECT 1 FROM stories s WHERE s.id = c.story_id AND s.merged_into IS NOT NULL);
    """, rewrite=_mask_deliveries),
    # 11: each article's digest of the raw fields of the entry it was made from (reader/parse/normalise.py,
    # `raw_digest`), so a feed read again converts only the entries that changed: their HTML's text is most of
    # a parse, and many feeds change their body on every fetch (a build date) with no entry changed. NULL for
    # the articles stored before: each is converted once more, and its digest written.
    Migration(11, "articles: the digest of each one's raw entry", """
    ALTER TABLE articles ADD COLUMN raw_digest BLOB;
    """),
)

SCHEMA_VERSION = MIGRATIONS[-1].version
APPLICATION_ID = 0x52445231  # "RDR1": refuse to open some other program's database


def split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN … END;) whole."""
    statements, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        joined = "\n".join(current).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            statements.append(joined)
            current = []
    if "\n".join(current).strip():
        statements.append("\n".join(current))
    return statements
