"""Open the SQLite database (WAL) and bring its schema up to date.

Migrations are numbered SQL scripts applied in order; `PRAGMA user_version`
records the last one applied, so each runs exactly once per database.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import sqlite_utils

from bot.errors import DatabaseUnavailable
from bot.store.connection import BUSY_TIMEOUT_S, connect
from bot.store.connection import transaction as transaction

# Times: *_ts columns are Unix seconds (UTC) for ranges and sorting; *_at columns are
# ISO 8601 UTC strings for people and exports.
MIGRATIONS: tuple[str, ...] = (
    # 1: archive, sources with health, story clusters, and the roadmap's tables
    """
    CREATE TABLE sources (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        origin TEXT NOT NULL DEFAULT 'config',
        interval_s REAL,
        active INTEGER NOT NULL DEFAULT 1,
        paused INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        config_url TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        interval_s REAL,
        next_check_ts REAL NOT NULL DEFAULT 0,
        last_check_at TEXT,
        last_success_at TEXT,
        last_error TEXT,
        last_error_at TEXT,
        failing_since TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_new_article_at TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        deactivated_reason TEXT,
        UNIQUE (source_id, config_url)
    );
    CREATE INDEX feeds_due ON feeds (active, next_check_ts);
    -- A story's id is the id of its first article, so an article is inserted once, with
    -- its story, and no row is updated afterwards (measured: ~10 % of the insert cost).
    CREATE TABLE stories (
        id INTEGER PRIMARY KEY,
        title_key TEXT NOT NULL,
        text_key TEXT,
        first_ts INTEGER NOT NULL
    );
    CREATE INDEX stories_title ON stories (title_key, first_ts);
    CREATE INDEX stories_text ON stories (text_key) WHERE text_key IS NOT NULL;
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        source_id TEXT NOT NULL REFERENCES sources(id),
        feed_id INTEGER,
        url TEXT NOT NULL,
        url_key TEXT NOT NULL UNIQUE,
        guid TEXT NOT NULL,
        title TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        image_url TEXT,
        author TEXT NOT NULL DEFAULT '',
        published_at TEXT NOT NULL,
        published_ts INTEGER NOT NULL,
        fetched_ts INTEGER NOT NULL,
        story_id INTEGER REFERENCES stories(id) DEFERRABLE INITIALLY DEFERRED,
        UNIQUE (source_id, guid)
    );
    CREATE INDEX articles_published ON articles (published_ts);
    CREATE INDEX articles_fetched ON articles (fetched_ts);
    CREATE INDEX articles_source ON articles (source_id, published_ts);
    CREATE INDEX articles_story ON articles (story_id);
    -- rowid = articles.id. Exact columns hold NFC text with canonical tone placement,
    -- *_fold columns the same text with every mark and đ folded (see bot.textnorm).
    CREATE VIRTUAL TABLE articles_fts USING fts5 (
        title, body, title_fold, body_fold,
        tokenize = 'unicode61 remove_diacritics 0'
    );
    CREATE TABLE campaign_articles (
        campaign_id TEXT NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        PRIMARY KEY (campaign_id, article_id)
    ) WITHOUT ROWID;
    CREATE INDEX campaign_articles_article ON campaign_articles (article_id);
    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        thread_id INTEGER,
        query TEXT NOT NULL,
        created_by INTEGER,
        created_at TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        thread_id INTEGER,
        kind TEXT NOT NULL,
        article_id INTEGER,
        subscription_id INTEGER,
        payload TEXT,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ts REAL NOT NULL DEFAULT 0,
        sent_at TEXT,
        last_error TEXT,
        UNIQUE (subscription_id, article_id)
    );
    CREATE INDEX outbox_pending ON outbox (status, next_attempt_ts);
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        status TEXT NOT NULL,
        name TEXT,
        username TEXT,
        requested_at TEXT,
        decided_by INTEGER,
        decided_at TEXT
    );
    CREATE TABLE user_prefs (
        user_id INTEGER PRIMARY KEY,
        language TEXT
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor_id INTEGER,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT
    );
    """,
    # 2: saved-query fingerprints (issue 6): which query each campaign's stored matches were
    # made with. Depends on migration 1 only. Campaigns that already have rows get an empty
    # fingerprint, so the next start re-tags them (or drops them if no longer configured).
    """
    CREATE TABLE IF NOT EXISTS saved_query_fingerprints (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        tagged_at TEXT NOT NULL,
        PRIMARY KEY (kind, id)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO saved_query_fingerprints (kind, id, fingerprint, tagged_at)
        SELECT DISTINCT 'campaign', campaign_id, '', '' FROM campaign_articles;
    """,
    # 3: Whether the feed dated the article (bot.store.articles.DATED, UNDATED_SEEN, UNDATED_BACKLOG).
    # Touches only its own column and index, so it may run before or after any other migration.
    """
    ALTER TABLE articles ADD COLUMN undated INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX articles_newest ON articles ((undated < 2), published_ts);
    """,
    # 4: the outbox (issue 7, bot.alerts.outbox). Migration 1's `outbox` was never written and
    # had the wrong constraints: dropped and recreated. Touches only its own tables, so it may
    # run before or after any other migration (subscriptions' pause columns: _subscription_pause).
    """
    DROP TABLE IF EXISTS outbox;
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        chat_id INTEGER NOT NULL,
        thread_id INTEGER,
        subscription_id INTEGER,
        article_id INTEGER,
        story_id INTEGER,
        alert_id INTEGER REFERENCES outbox(id) ON DELETE CASCADE,
        dedup_key TEXT UNIQUE,
        parts TEXT,
        parts_sent INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ts REAL NOT NULL DEFAULT 0,
        created_ts REAL NOT NULL,
        sent_ts REAL,
        message_id INTEGER,
        rendered_also INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE UNIQUE INDEX outbox_chat_article ON outbox (chat_id, article_id) WHERE kind = 'alert';
    CREATE UNIQUE INDEX outbox_chat_story ON outbox (chat_id, story_id) WHERE kind = 'alert';
    CREATE UNIQUE INDEX outbox_one_edit ON outbox (alert_id) WHERE kind = 'edit' AND status = 'pending';
    CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending';
    CREATE INDEX outbox_status ON outbox (status, created_ts);
    CREATE TABLE IF NOT EXISTS outbox_also (
        alert_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
        article_id INTEGER NOT NULL,
        source_id TEXT NOT NULL,
        PRIMARY KEY (alert_id, article_id)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS outbox_blocked_chats (
        chat_id INTEGER PRIMARY KEY,
        reason TEXT NOT NULL,
        blocked_ts REAL NOT NULL
    );
    """,
    # 5: subscriptions (issue 7, bot.alerts.subscriptions): what a subscription follows (kind +
    # target: a query, a campaign, an outlet, the organization's news), instant or a daily digest
    # at a local HH:MM, paused (by the chat, or 'blocked' by delivery on a 403), and the daily
    # digests' pending items. Migration 1's `subscriptions` was never written: it is recreated with
    # these columns (so this may run again, before or after any other migration, and touches only
    # its own tables).
    """
    DROP TABLE IF EXISTS subscriptions;
    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        thread_id INTEGER,
        query TEXT NOT NULL,
        created_by INTEGER,
        created_at TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        kind TEXT NOT NULL DEFAULT 'query',
        target TEXT,
        label TEXT NOT NULL DEFAULT '',
        mode TEXT NOT NULL DEFAULT 'instant',
        digest_time TEXT,
        last_digest_date TEXT,
        paused INTEGER NOT NULL DEFAULT 0,
        paused_reason TEXT,
        language TEXT,
        chat_type TEXT NOT NULL DEFAULT 'private'
    );
    CREATE INDEX subscriptions_chat ON subscriptions (chat_id, active);
    CREATE TABLE IF NOT EXISTS digest_items (
        subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        PRIMARY KEY (subscription_id, article_id)
    ) WITHOUT ROWID;
    """,
    # 6: department news (issue 8, bot.alerts.department_news): every article naming the
    # organization, and the warning term it names with it (NULL: not a warning). Touches only
    # its own table, so it may run before or after any other migration.
    """
    CREATE TABLE IF NOT EXISTS organization_articles (
        article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
        warning_term TEXT
    );
    CREATE INDEX IF NOT EXISTS organization_warnings ON organization_articles (article_id)
        WHERE warning_term IS NOT NULL;
    """,
    # 7: why an outlet stopped being monitored, so `mediabot sources` tells a source taken out of
    # feeds.yaml ('config') or removed with /removesource ('chat') from one whose feed hit
    # max_failures. Its own table (not a column of `sources`), so this may run again, before or
    # after any other migration. Sources already inactive are marked by their origin; one still in
    # feeds.yaml with `active: false` loses the mark at the next sync.
    """
    CREATE TABLE IF NOT EXISTS source_removals (
        source_id TEXT PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
        removed_by TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO source_removals (source_id, removed_by)
        SELECT id, CASE WHEN origin = 'config' THEN 'config' ELSE 'chat' END FROM sources WHERE active = 0;
    """,
    # 8: when a chat was last refused (issue 9, bot.store.access): a stranger or a group nobody
    # allowed gets one refusal an hour, remembered across restarts. Its own table, so this may run
    # before or after any other migration.
    """
    CREATE TABLE IF NOT EXISTS refusals (
        chat_id INTEGER PRIMARY KEY,
        refused_at TEXT NOT NULL
    );
    """,
    # 9: retention deletes an old article's alerts by article_id (bot.store.maintenance); without
    # an index each pruned batch scanned the whole outbox.
    """
    CREATE INDEX IF NOT EXISTS outbox_article ON outbox (article_id);
    """,
)


def iso_utc(moment: datetime) -> str:
    """The format of every *_at column: ISO 8601 in UTC with an explicit offset, second precision."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def migrate(db: sqlite_utils.Database) -> int:
    """Apply pending migrations; return the schema version."""
    conn = db.conn
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    _refuse_newer_schema(version, conn.execute("PRAGMA database_list").fetchone()[2] or ":memory:")
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        with transaction(conn):
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)


def _refuse_newer_schema(version: int, path: str | Path) -> None:
    """Migrations are forward-only: an older mediabot on a database a newer one migrated (a
    rollback without restoring the backup) would misread tables it does not know, so it stops."""
    if version > len(MIGRATIONS):
        raise DatabaseUnavailable(
            f"{path}: the database has schema version {version}, newer than this mediabot knows "
            f"({len(MIGRATIONS)}): run the newer version, or restore the backup taken before the upgrade"
        )


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit implicitly)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


def open_db(path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT_S, patient: bool = False) -> sqlite_utils.Database:
    """Open (creating if needed) the database at `path` and migrate it."""
    db = sqlite_utils.Database(connect(str(path), busy_timeout=busy_timeout, patient=patient))
    migrate(db)
    return db


def open_readonly(path: str | Path, *, busy_timeout: float = 3.0) -> sqlite3.Connection:
    """A read-only connection to an existing, migrated database; DatabaseUnavailable otherwise.

    Read-only commands must neither create an empty file where the archive was expected nor
    wait 30 s behind a writer: a health check has a deadline, so the busy wait is short.
    """
    file = Path(path)
    if file.is_dir():
        raise DatabaseUnavailable(f"{path}: is a folder, not a database file")
    if not file.exists():
        raise DatabaseUnavailable(f"no database at {path} (run mediabot poll --once first)")
    uri = f"file:{quote(str(file.resolve()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=busy_timeout)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as err:
        raise DatabaseUnavailable(f"{path}: cannot read the database: {err}") from None
    if version != len(MIGRATIONS):
        conn.close()
        _refuse_newer_schema(version, path)
        raise DatabaseUnavailable(f"{path}: not a mediabot database yet (run mediabot poll --once first)")
    return conn
