-- A reader database at schema version 11, made by the reader at worker-cpu 0e4ce3d merged with fixes 2dcb0a9 with tests/schema_fixture.py.
PRAGMA application_id = 1380209201;
PRAGMA user_version = 11;
BEGIN TRANSACTION;
CREATE TABLE alert_sources (
        alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
        feed_title TEXT NOT NULL DEFAULT '',
        link TEXT NOT NULL DEFAULT '',
        UNIQUE (alert_id, article_id)
    );
INSERT INTO "alert_sources" VALUES(1,1,'Exämple — tech','https://example.org/a1?utm_source=x');
INSERT INTO "alert_sources" VALUES(1,4,'Broken','https://example.org/b1');
INSERT INTO "alert_sources" VALUES(2,3,'Exämple — tech','https://example.org/a3?utm_source=x');
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
        created_at TEXT NOT NULL, story_id INTEGER,
        UNIQUE (rule, canonical_url)
    );
INSERT INTO "alerts" VALUES(1,'deepseek',1,'https://example.org/a1','DeepSeek and export controls','https://example.org/a1?utm_source=x','2026-11-20T08:30:00+00:00','DeepSeek and export','[[0, 8]]','2026-12-03T20:40:23+00:00',NULL);
INSERT INTO "alerts" VALUES(2,'digest',3,'https://example.org/a3','Third','https://example.org/a3?utm_source=x','2026-11-20T08:30:00+00:00','Third','[]','2026-12-03T20:40:23+00:00',NULL);
CREATE TABLE article_texts (
        id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        summary TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL DEFAULT '',
        content_html TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        markdown TEXT NOT NULL DEFAULT ''
    );
INSERT INTO "article_texts" VALUES(1,'Chips ü','Long content about chips','<p>Long <b>content</b></p>','The page''s text','**The page''s** text');
INSERT INTO "article_texts" VALUES(2,'summary only','','','summary only','');
INSERT INTO "article_texts" VALUES(3,'','','','Third, corrected','');
INSERT INTO "article_texts" VALUES(4,'','','','DeepSeek, again','');
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
        categories TEXT NOT NULL DEFAULT '[]',
        enclosures TEXT NOT NULL DEFAULT '[]',
        content_hash TEXT NOT NULL DEFAULT '',
        text_source TEXT NOT NULL DEFAULT 'summary',
        fulltext_state TEXT NOT NULL DEFAULT 'pending',
        page_error TEXT,
        read INTEGER NOT NULL DEFAULT 0,
        starred INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 1,
        indexed_version INTEGER NOT NULL DEFAULT 0, story_id INTEGER REFERENCES stories(id) ON DELETE SET NULL, story_reason TEXT NOT NULL DEFAULT '{}', raw_digest BLOB,
        UNIQUE (feed_id, key)
    );
INSERT INTO "articles" VALUES(1,1,'a1','DeepSeek and export controls','https://example.org/a1?utm_source=x','https://example.org/a1','Ann','2026-11-20T08:30:00+00:00',NULL,'2026-12-03T20:40:23+00:00','2026-11-20T08:30:00+00:00','["AI", "Policy"]','[{"url": "https://example.org/a1.mp3", "type": "audio/mpeg", "length": 42}]','h-DeepSeek and export controls','page','done',NULL,1,0,2,0,1,'{"started": true}',X'726177206131');
INSERT INTO "articles" VALUES(2,1,'a2','Second 二','https://example.org/a2?utm_source=x','https://example.org/a2','',NULL,'2026-11-20T08:30:00+00:00','2026-12-03T20:40:23+00:00','2026-11-20T08:30:00+00:00','[]','[]','h-Second 二','summary','failed','HTTP 404 Not Found',0,1,1,1,2,'{"started": true}',X'726177206132');
INSERT INTO "articles" VALUES(3,1,'a3','Third, corrected','https://example.org/a3?utm_source=x','https://example.org/a3','','2026-11-20T08:30:00+00:00',NULL,'2026-12-03T20:40:23+00:00','2026-11-20T08:30:00+00:00','[]','[]','h-Third, corrected','title','pending',NULL,1,0,2,0,3,'{"started": true}',X'726177206133');
INSERT INTO "articles" VALUES(4,2,'b1','DeepSeek, again','https://example.org/b1?utm_source=x','https://example.org/b1?utm_source=x','',NULL,NULL,'2026-12-03T20:40:23+00:00','2026-12-03T20:40:23+00:00','[]','[]','h-DeepSeek, again','title','skipped',NULL,0,0,1,0,4,'{"started": true}',X'726177206231');
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
INSERT INTO "deliveries" VALUES(1,1,'t-json','json://hooks.example/hook/…',NULL,'pending',1,'2026-11-20T08:30:00+00:00','HTTP 500',NULL,0);
INSERT INTO "deliveries" VALUES(2,1,'t-mail','mailto://…@example.org','digest 2026-11-20','held',0,'2026-11-20T08:30:00+00:00',NULL,NULL,0);
INSERT INTO "deliveries" VALUES(3,2,'t-json','json://hooks.example/hook/…',NULL,'sent',1,'2026-11-20T08:30:00+00:00',NULL,'2026-11-20T08:30:00+00:00',0);
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
    , max_age_seconds INTEGER);
INSERT INTO "feeds" VALUES(1,'https://example.org/feed.xml','Exämple — tech','Tech','https://example.org/',1,1,'W/"1"','Thu, 19 Nov 2026 08:00:00 GMT','b1',3600,'2026-11-20T08:30:00+00:00','2026-12-03T20:40:23+00:00','ok',NULL,'2026-12-03T20:40:23+00:00',0,'2026-12-03T20:40:23+00:00',NULL);
INSERT INTO "feeds" VALUES(2,'http://127.0.0.1:8/rss','Broken','','',1,0,NULL,NULL,NULL,NULL,NULL,'2026-12-03T20:40:23+00:00','error','HTTP 500 Internal Server Error',NULL,1,'2026-12-03T20:40:23+00:00',NULL);
CREATE TABLE index_deletions (article_id INTEGER PRIMARY KEY);
INSERT INTO "index_deletions" VALUES(5);
CREATE TABLE match_queue (
        article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        first_fetch INTEGER NOT NULL DEFAULT 0,
        queued_at TEXT NOT NULL
    );
INSERT INTO "match_queue" VALUES(2,0,'2026-12-03T20:40:23.216+00:00');
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('index_schema','7');
INSERT INTO "meta" VALUES('story_documents','4');
INSERT INTO "meta" VALUES('story_terms_forgotten','2026-11-27T20:40:23+00:00');
CREATE TABLE rule_state (
        rule TEXT PRIMARY KEY,
        armed_at TEXT NOT NULL
    );
INSERT INTO "rule_state" VALUES('deepseek','2026-11-20T08:30:00.000+00:00');
INSERT INTO "rule_state" VALUES('digest','2026-11-20T08:30:00.000+00:00');
CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        size INTEGER NOT NULL DEFAULT 0,
        outlets TEXT NOT NULL DEFAULT '[]',
        names TEXT NOT NULL DEFAULT '[]',
        muted_until TEXT
    , centroid TEXT NOT NULL DEFAULT '{}', dropped REAL NOT NULL DEFAULT 0, merged_into INTEGER, merge_reason TEXT NOT NULL DEFAULT '{}', text REAL NOT NULL DEFAULT 0);
INSERT INTO "stories" VALUES(1,'2026-11-20T08:30:00+00:00','2026-11-20T08:30:00+00:00',1,'["Ex\u00e4mple \u2014 tech"]','["deepseek"]',NULL,'{}',0.0,NULL,'{}',0.125);
INSERT INTO "stories" VALUES(2,'2026-11-20T08:30:00+00:00','2026-11-20T08:30:00+00:00',1,'["Ex\u00e4mple \u2014 tech"]','[]','2026-11-20T08:30:00+00:00','{}',0.0,NULL,'{}',0.05);
INSERT INTO "stories" VALUES(3,'2026-11-20T08:30:00+00:00','2026-11-20T08:30:00+00:00',1,'["Ex\u00e4mple \u2014 tech"]','[]',NULL,'{}',0.0,NULL,'{}',0.0);
INSERT INTO "stories" VALUES(4,'2026-12-03T20:40:23+00:00','2026-12-03T20:40:23+00:00',1,'["Broken"]','["deepseek"]',NULL,X'01000000000000000000F03F646565707365656B',0.0,NULL,'{}',0.0);
CREATE TABLE story_aliases (
        old_id INTEGER PRIMARY KEY,
        story_id INTEGER NOT NULL
    );
CREATE TABLE story_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO "story_df" VALUES('chip',1);
INSERT INTO "story_df" VALUES('control',1);
INSERT INTO "story_df" VALUES('correct',1);
INSERT INTO "story_df" VALUES('deepseek',2);
INSERT INTO "story_df" VALUES('export',1);
INSERT INTO "story_df" VALUES('page',1);
INSERT INTO "story_df" VALUES('second',1);
INSERT INTO "story_df" VALUES('summari',1);
INSERT INTO "story_df" VALUES('text',1);
INSERT INTO "story_df" VALUES('third',1);
CREATE TABLE story_terms (
        term TEXT NOT NULL,
        story_id INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        weight REAL NOT NULL,
        PRIMARY KEY (term, story_id)
    ) WITHOUT ROWID;
INSERT INTO "story_terms" VALUES('deepseek',4,0.0);
CREATE INDEX articles_by_feed_date ON articles (feed_id, sort_date DESC, id DESC);
CREATE INDEX articles_to_index ON articles (id) WHERE indexed_version != version;
CREATE INDEX articles_fulltext_pending ON articles (id) WHERE fulltext_state = 'pending';
CREATE INDEX articles_by_canonical ON articles (canonical_url);
CREATE TRIGGER articles_deleted AFTER DELETE ON articles BEGIN
        INSERT OR IGNORE INTO index_deletions (article_id) VALUES (old.id);
    END;
CREATE UNIQUE INDEX alerts_rule_article ON alerts (rule, article_id);
CREATE INDEX alerts_by_time ON alerts (created_at DESC, id DESC);
CREATE INDEX alert_sources_by_article ON alert_sources (article_id);
CREATE INDEX articles_starred ON articles (sort_date DESC, id DESC) WHERE starred = 1;
CREATE INDEX articles_unread_by_feed ON articles (feed_id) WHERE read = 0;
CREATE INDEX stories_by_last_seen ON stories (last_seen);
CREATE INDEX articles_to_group ON articles (sort_date, id) WHERE story_id IS NULL;
CREATE UNIQUE INDEX alerts_rule_story ON alerts (rule, story_id);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state IN ('held', 'pending');
CREATE INDEX articles_by_date ON articles (sort_date DESC, id DESC, feed_id, story_id, read);
CREATE INDEX articles_by_story ON articles (story_id, read, feed_id);
CREATE INDEX stories_merged ON stories (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX story_terms_by_story ON story_terms (story_id);
CREATE INDEX story_aliases_by_story ON story_aliases (story_id);
COMMIT;
