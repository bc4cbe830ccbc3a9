-- A reader database at schema version 1, made by the reader at 2dc68f0 with tests/schema_fixture.py.
PRAGMA application_id = 1380209201;
PRAGMA user_version = 1;
BEGIN TRANSACTION;
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
INSERT INTO "articles" VALUES(1,1,'a1','DeepSeek and export controls','https://example.org/a1?utm_source=x','https://example.org/a1','Ann','2026-11-20T08:30:00+00:00',NULL,'2026-12-03T06:09:58+00:00','2026-11-20T08:30:00+00:00','Chips ü','Long content about chips','<p>Long <b>content</b></p>','["AI", "Policy"]','[{"url": "https://example.org/a1.mp3", "type": "audio/mpeg", "length": 42}]','h-DeepSeek and export controls','The page''s text','**The page''s** text','page','done',NULL,1,0,2,0);
INSERT INTO "articles" VALUES(2,1,'a2','Second 二','https://example.org/a2?utm_source=x','https://example.org/a2','',NULL,'2026-11-20T08:30:00+00:00','2026-12-03T06:09:58+00:00','2026-11-20T08:30:00+00:00','summary only','','','[]','[]','h-Second 二','summary only','summary only','summary','failed','HTTP 404 Not Found',0,1,1,1);
INSERT INTO "articles" VALUES(3,1,'a3','Third, corrected','https://example.org/a3?utm_source=x','https://example.org/a3','','2026-11-20T08:30:00+00:00',NULL,'2026-12-03T06:09:58+00:00','2026-11-20T08:30:00+00:00','','','','[]','[]','h-Third, corrected','Third, corrected','Third, corrected','title','pending',NULL,1,0,2,0);
INSERT INTO "articles" VALUES(4,2,'b1','DeepSeek, again','https://example.org/b1?utm_source=x','https://example.org/b1?utm_source=x','',NULL,NULL,'2026-12-03T06:09:58+00:00','2026-12-03T06:09:58+00:00','','','','[]','[]','h-DeepSeek, again','DeepSeek, again','DeepSeek, again','title','skipped',NULL,0,0,1,0);
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
INSERT INTO "feeds" VALUES(1,'https://example.org/feed.xml','Exämple — tech','Tech','https://example.org/',1,1,'W/"1"','Thu, 19 Nov 2026 08:00:00 GMT','b1',3600,'2026-11-20T08:30:00+00:00','2026-12-03T06:09:58+00:00','ok',NULL,'2026-12-03T06:09:58+00:00',0,'2026-12-03T06:09:58+00:00');
INSERT INTO "feeds" VALUES(2,'http://127.0.0.1:8/rss','Broken','','',1,0,NULL,NULL,NULL,NULL,NULL,'2026-12-03T06:09:58+00:00','error','HTTP 500 Internal Server Error',NULL,1,'2026-12-03T06:09:58+00:00');
CREATE TABLE index_deletions (article_id INTEGER PRIMARY KEY);
INSERT INTO "index_deletions" VALUES(5);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('index_schema','7');
CREATE INDEX articles_by_date ON articles (sort_date DESC, id DESC);
CREATE INDEX articles_by_feed_date ON articles (feed_id, sort_date DESC, id DESC);
CREATE INDEX articles_to_index ON articles (id) WHERE indexed_version != version;
CREATE INDEX articles_fulltext_pending ON articles (id) WHERE fulltext_state = 'pending';
CREATE INDEX articles_by_canonical ON articles (canonical_url);
CREATE TRIGGER articles_deleted AFTER DELETE ON articles BEGIN
        INSERT OR IGNORE INTO index_deletions (article_id) VALUES (old.id);
    END;
COMMIT;
