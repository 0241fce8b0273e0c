//! What can go wrong with the station database, grouped by what the caller does next.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// An error from the station database.
///
/// Grouped by what the caller does next:
///
/// - **an operator fixes the file system**: [`StoreError::Open`] — the file or its folder cannot be
///   created or opened (permissions, read-only or full disk, a wrong `--state` path, another
///   program holding a lock);
/// - **an operator decides about the file**: [`StoreError::Corrupt`] (damaged, or not a xiangyin
///   database) and [`StoreError::TooNew`] (written by a newer xiangyin) — restore a backup, move
///   the file away (a new, empty log is then started) or upgrade xiangyin. The store never
///   rewrites or deletes such a file by itself;
/// - **a bug or an I/O failure on an open database**: [`StoreError::Query`] and
///   [`StoreError::Json`] — log it; an I/O failure (disk full) may go away on a retry.
///
/// [`StoreError::needs_operator`] tells the first two groups from the last.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file (or its folder) cannot be created or opened.
    #[error("cannot open the station database {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// What the operating system or SQLite said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The file is damaged, or is not a xiangyin station database.
    #[error(
        "the station database {} is damaged or is not a xiangyin database ({detail}); move it away \
         (a new, empty as-run log is then started) or restore a backup",
        path.display()
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What was found wrong.
        detail: String,
    },
    /// The file was written by a newer xiangyin, whose schema this one does not know.
    #[error(
        "the station database {} was written by a newer xiangyin (schema version {found}; this one knows up \
         to {known}); upgrade xiangyin, or move the file away to start a new as-run log",
        path.display()
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The schema version found in the file (`PRAGMA user_version`).
        found: i64,
        /// The newest schema version this build knows.
        known: i64,
    },
    /// A statement failed on an open database (I/O error, disk full, or a bug).
    #[error("station database: {what} failed: {source}")]
    Query {
        /// What was being done, e.g. `mark_started`.
        what: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A persisted state value could not be turned into JSON or back.
    #[error("station database: saved state `{key}` cannot be read or written as JSON: {source}")]
    Json {
        /// The state key.
        key: String,
        /// What serde_json said.
        #[source]
        source: serde_json::Error,
    },
}

impl StoreError {
    /// True when a person has to do something about the database file ([`StoreError::Open`],
    /// [`StoreError::Corrupt`], [`StoreError::TooNew`]); false for failures of single operations.
    pub fn needs_operator(&self) -> bool {
        matches!(self, StoreError::Open { .. } | StoreError::Corrupt { .. } | StoreError::TooNew { .. })
    }

    /// Classifies a SQLite error met while opening: damage is [`StoreError::Corrupt`], anything
    /// else [`StoreError::Open`].
    pub(super) fn opening(path: &Path, e: rusqlite::Error) -> StoreError {
        if is_corruption(&e) {
            StoreError::Corrupt { path: path.to_owned(), detail: e.to_string() }
        } else {
            StoreError::Open { path: path.to_owned(), source: Box::new(e) }
        }
    }

    /// Classifies a SQLite error met on an open database: damage found by a statement is still
    /// [`StoreError::Corrupt`], anything else [`StoreError::Query`].
    pub(super) fn query(path: &Path, what: &'static str, e: rusqlite::Error) -> StoreError {
        if is_corruption(&e) {
            StoreError::Corrupt { path: path.to_owned(), detail: format!("{what}: {e}") }
        } else {
            StoreError::Query { what, source: e }
        }
    }
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase))
}
