//! The schema, versioned with `PRAGMA user_version`, and its forward-only migrations.
//!
//! Migration `i` (0-based) takes a database from version `i` to `i + 1`. A migration is never
//! edited once released: a change to the schema is a new migration appended to [`MIGRATIONS`].
//! All pending migrations run in one `BEGIN IMMEDIATE` transaction together with the new
//! `user_version`, so a database is always at exactly one known version, even after a kill during
//! an upgrade, and two processes opening it at once do not both migrate.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Marks the file as a xiangyin station database (`PRAGMA application_id`, ascii `xyng`).
pub const APPLICATION_ID: i64 = 0x7879_6e67;

/// Version 1: the as-run log and the key-value state table.
///
/// `as_run` holds one row per cue. Times are UTC RFC 3339 text with milliseconds and a `Z`
/// (`2026-12-01T07:00:00.000Z`): fixed width, so text order is time order and the indexes serve
/// range queries. `cue` is the `CueId` (u64) bit-cast to i64. `outcome` is NULL while a cue is
/// planned or on air; see `AsRunOutcome` for the names.
const V1: &str = "
CREATE TABLE as_run (
    cue       INTEGER PRIMARY KEY,
    village   TEXT NOT NULL,
    zone      TEXT NOT NULL,
    clip      TEXT,
    language  TEXT,
    priority  TEXT,
    slot      TEXT,
    scheduled TEXT NOT NULL,
    started   TEXT,
    ended     TEXT,
    late_ms   INTEGER,
    outcome   TEXT,
    detail    TEXT
) STRICT;
CREATE INDEX as_run_village_scheduled ON as_run (village, scheduled);
CREATE INDEX as_run_scheduled ON as_run (scheduled);
CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    json  TEXT NOT NULL,
    saved TEXT NOT NULL
) STRICT;
";

/// Version 2: people — users, their browser sessions and API tokens, the audit trail, and the
/// one-time link that creates the first admin.
///
/// Secrets are never stored: `hash` is an argon2id PHC string, `token_hash` the lower-case hex
/// SHA-256 of a token. Times are stored like V1's. `role` is a `Role` name; `disabled` 0 or 1.
/// Rows of a removed user are deleted by the store itself (foreign keys are not enforced by
/// SQLite unless a connection asks; the `REFERENCES` clauses say what belongs to whom).
const V2: &str = "
CREATE TABLE users (
    name     TEXT PRIMARY KEY,
    role     TEXT NOT NULL,
    hash     TEXT NOT NULL,
    created  TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user       TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created    TEXT,
    expires    TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user);
CREATE INDEX sessions_expires ON sessions (expires);
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user       TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    label      TEXT NOT NULL,
    created    TEXT NOT NULL,
    last_used  TEXT
) STRICT;
CREATE UNIQUE INDEX api_tokens_user_label ON api_tokens (user, label);
CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    user   TEXT,
    action TEXT NOT NULL,
    detail TEXT
) STRICT;
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    expires    TEXT NOT NULL
) STRICT;
";

/// V3: the as-run detail in Chinese beside the English one (`detail`), for the Chinese pages.
const V3: &str = "ALTER TABLE as_run ADD COLUMN detail_zh TEXT;";

/// V4: proof of play — what the village line's capture tap heard while the cue played
/// (`heard`: yes, no, weak, distorted; NULL when the line is not monitored), the level and delay
/// measured, and why, in both languages; an index of the passed ones (the last good line test).
const V4: &str = "ALTER TABLE as_run ADD COLUMN heard TEXT;
ALTER TABLE as_run ADD COLUMN heard_level REAL;
ALTER TABLE as_run ADD COLUMN heard_delay_ms INTEGER;
ALTER TABLE as_run ADD COLUMN heard_detail TEXT;
ALTER TABLE as_run ADD COLUMN heard_detail_zh TEXT;
CREATE INDEX as_run_heard_yes ON as_run (slot, village, started) WHERE heard = 'yes';";

/// Every migration, oldest first. The schema version of a database is how many have run.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database at `path` up to [`SCHEMA_VERSION`] (if another process has not done it
/// meanwhile); refuses files from a newer xiangyin and SQLite files of other programs.
pub(super) fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let err = |e| StoreError::opening(path, e);
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(err)?;
    // Another process may have migrated while we waited for the write lock.
    let found = check(&tx, path)?;
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    for sql in &MIGRATIONS[found as usize..] {
        tx.execute_batch(sql).map_err(err)?;
    }
    // Neither pragma takes a bound parameter; both values are integers we own.
    tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"))
        .map_err(err)?;
    tx.commit().map_err(err)?;
    tracing::info!(path = %path.display(), "station database schema {found} → {SCHEMA_VERSION}");
    Ok(())
}

fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// The file's schema version, after refusing a newer schema and a database another program made
/// (a foreign application id, or tables in a file we never versioned). Only reads; call it inside
/// a transaction, so that its reads see one state of the file.
pub(super) fn check(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let err = |e| StoreError::opening(path, e);
    let found = version(conn).map_err(err)?;
    let app: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(err)?;
    if app != APPLICATION_ID && app != 0 {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: format!("it is an SQLite database of another program (application id {app:#x})"),
        });
    }
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew { path: path.to_owned(), found, known: SCHEMA_VERSION });
    }
    if found < 0 || (found > 0 && app == 0) {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            detail: format!("schema version {found} without xiangyin's mark"),
        });
    }
    if found == 0 {
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'", [], |r| r.get(0))
            .map_err(err)?;
        if tables > 0 {
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
                detail: format!("it holds {tables} tables or indexes but no xiangyin schema version"),
            });
        }
    }
    Ok(found)
}
