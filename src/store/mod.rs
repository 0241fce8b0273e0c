//! The station database (SQLite): the as-run log and persisted scheduler state. The only place
//! in xiangyin where SQL lives.
//!
//! # What it promises
//!
//! - **A committed write survives kill -9 and a power cut.** The database runs in WAL mode with
//!   `synchronous=FULL`: every write method is one transaction, and it returns only after SQLite
//!   has fsynced the write-ahead log (and, for a new file, its folder). A write that had not
//!   returned when the process died is either wholly there or wholly absent.
//! - **Readers never block the writer.** `xiangyin log` may read while `serve` writes (WAL); a
//!   writer waits up to [`BUSY_TIMEOUT`] for another writer before failing.
//! - **The schema only moves forward.** The file carries its schema version (`PRAGMA
//!   user_version`); opening an older file migrates it, a file from a newer xiangyin is refused
//!   ([`StoreError::TooNew`]) and never touched.
//!
//! The database lives at `STATE/station.db` ([`default_path`]). Tables (see `schema.rs`):
//! `as_run` (one row per cue: [`AsRunRow`]) and `state` (JSON values by key: [`Store::save_json`]).
//!
//! A [`Store`] is one connection: `Send`, not `Sync`. Share it behind a mutex, or open one per
//! thread (each open is cheap once the schema is current).

mod asrun;
mod csv;
mod error;
mod kv;
mod outcome;
mod schema;
mod users;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags};

pub use asrun::{AsRunRow, Filter, NotAired};
pub use csv::{CSV_HEADER, write_csv};
pub use error::StoreError;
pub use outcome::AsRunOutcome;
pub use schema::SCHEMA_VERSION;
pub use users::{
    ApiToken, AuditEntry, MAX_PASSWORD_CHARS, MAX_TOKEN_LABEL_CHARS, MAX_USER_NAME_CHARS, MIN_PASSWORD_CHARS,
    PasswordRecord, User, check_password, check_user_name,
};
pub(crate) use users::{random_token, token_hash};

/// Name of the database file inside the state directory.
pub const FILE_NAME: &str = "station.db";

/// How long a write waits for another process's write to finish before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the station database lives: `STATE/station.db`.
pub fn default_path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// An open station database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the database at `path`, creating it (and its parent folders) when missing, and brings
    /// its schema up to date.
    ///
    /// Errors: [`StoreError::Open`] when the folder or file cannot be created or opened,
    /// [`StoreError::Corrupt`] when the file is not a (xiangyin) database, [`StoreError::TooNew`]
    /// when a newer xiangyin wrote it. None of them changes the file.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |e: std::io::Error| StoreError::Open { path: path.to_owned(), source: Box::new(e) };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        // The folders this call creates, innermost first, then the one that already existed: each
        // must be synced so that the new file's name reaches the disk.
        let mut to_sync: Vec<&Path> = dir.into_iter().flat_map(Path::ancestors).collect();
        if let Some(existing) = to_sync.iter().position(|d| d.as_os_str().is_empty() || d.is_dir()) {
            to_sync.truncate(existing + 1);
        }
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir).map_err(open_err)?;
        }
        let existed = path.exists();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::opening(path, e))?;
        let err = |e| StoreError::opening(path, e);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // Reads only, in one read transaction so that they see one state of a file another
        // process may be creating the schema in: refuse what we must not touch before switching
        // the journal mode writes to the file. A file that is not a database fails here.
        let snapshot = conn.unchecked_transaction().map_err(err)?;
        let found = schema::check(&snapshot, path)?;
        snapshot.commit().map_err(err)?;
        set_wal(&conn, path)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        if found < SCHEMA_VERSION {
            schema::migrate(&conn, path)?;
        }
        if !existed {
            // SQLite syncs the folder for its own journal files, not for the database file it was
            // asked to create.
            for d in to_sync {
                let d = if d.as_os_str().is_empty() { Path::new(".") } else { d };
                std::fs::File::open(d).and_then(|f| f.sync_all()).map_err(open_err)?;
            }
        }
        Ok(Store { conn, path: path.to_owned() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs SQLite's full `PRAGMA integrity_check`; [`StoreError::Corrupt`] lists what it found.
    /// Reads the whole file: for operator tools and tests, not for every start.
    pub fn check_integrity(&self) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare("PRAGMA integrity_check").map_err(|e| self.err("integrity_check", e))?;
        let found: Vec<String> =
            stmt.query_map([], |r| r.get(0)).and_then(Iterator::collect).map_err(|e| self.err("integrity_check", e))?;
        if found.len() == 1 && found[0] == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt { path: self.path.clone(), detail: found.join("; ") })
        }
    }

    /// Wraps an error of operation `what`.
    fn err(&self, what: &'static str, e: rusqlite::Error) -> StoreError {
        StoreError::query(&self.path, what, e)
    }
}

/// Switches to WAL (kept in the file). Changing the journal mode needs the file to itself, and
/// SQLite reports a busy file at once instead of waiting, so wait here, up to [`BUSY_TIMEOUT`].
fn set_wal(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(mode) => {
                if !mode.eq_ignore_ascii_case("wal") {
                    // Still durable (rollback journal, synchronous=FULL), but readers block the writer.
                    tracing::warn!(path = %path.display(), "station database: journal mode is {mode}, not WAL");
                }
                return Ok(());
            }
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(StoreError::opening(path, e)),
        }
    }
}

/// An instant as stored: UTC RFC 3339 with milliseconds (`2026-12-01T07:00:00.000Z`), rounded to
/// the nearest millisecond (an engine sample is 20.8 µs: a cue started on its instant must not
/// read as started a millisecond early).
pub(crate) fn stamp(t: DateTime<Utc>) -> String {
    (t + chrono::Duration::microseconds(500)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The instant of a stored timestamp.
fn parse_stamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}
