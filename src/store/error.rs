//! What can go wrong with the station database, grouped by what the caller does next.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

use crate::domain::Say;

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
/// - **a bug or an I/O failure on an open database**: [`StoreError::Query`], [`StoreError::Json`]
///   and [`StoreError::Crypto`] — log it; an I/O failure (disk full) may go away on a retry;
/// - **the request was refused, nothing is wrong with the database**: [`StoreError::BadUserName`],
///   [`StoreError::PasswordTooShort`], [`StoreError::PasswordTooLong`], [`StoreError::UserExists`],
///   [`StoreError::NoSuchUser`], [`StoreError::LastAdmin`], [`StoreError::BadTokenLabel`] and
///   [`StoreError::TokenLabelTaken`] — show the sentence to the person who asked; nothing changed.
///
/// [`StoreError::needs_operator`] tells the first two groups from the others,
/// [`StoreError::is_refusal`] the last from the rest.
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
    /// Hashing a password or drawing random bytes for a token failed (the system's random number
    /// generator, or memory for argon2).
    #[error("station database: {what} failed: {detail}")]
    Crypto {
        /// What was being done, e.g. `hashing a password`.
        what: &'static str,
        /// What the hashing library or the random number generator said.
        detail: String,
    },
    /// A user name that is not allowed.
    #[error(
        "`{name}` is not a user name: use 1 to {max} lower-case ascii letters, digits, `.`, `_` or `-`, starting \
         with a letter or a digit"
    )]
    BadUserName {
        /// The name as given.
        name: String,
        /// The longest name allowed, in characters.
        max: usize,
    },
    /// A password shorter than the minimum (an empty one included).
    #[error("the password is too short: use at least {min} characters")]
    PasswordTooShort {
        /// The fewest characters allowed.
        min: usize,
    },
    /// A password longer than the maximum.
    #[error("the password is too long: use at most {max} characters")]
    PasswordTooLong {
        /// The most characters allowed.
        max: usize,
    },
    /// Adding a user whose name is taken.
    #[error("there is already a user named `{name}`")]
    UserExists {
        /// The name.
        name: String,
    },
    /// Changing a user who does not exist.
    #[error("there is no user named `{name}`")]
    NoSuchUser {
        /// The name as given.
        name: String,
    },
    /// Removing, demoting or disabling the only admin who can still log in.
    #[error("`{name}` is the last admin who can log in: make another user admin first")]
    LastAdmin {
        /// The admin.
        name: String,
    },
    /// An API token label that is empty or too long.
    #[error("an API token label must be 1 to {max} characters, not only spaces")]
    BadTokenLabel {
        /// The longest label allowed, in characters.
        max: usize,
    },
    /// Creating an API token with a label the user already has.
    #[error("`{user}` already has an API token labelled `{label}`: revoke it first or choose another label")]
    TokenLabelTaken {
        /// The token's owner.
        user: String,
        /// The label.
        label: String,
    },
}

impl Say for StoreError {
    fn zh(&self) -> String {
        match self {
            StoreError::Open { path, source } => {
                format!("无法打开广播站数据库 {}：{source}", path.display())
            }
            StoreError::Corrupt { path, detail } => format!(
                "广播站数据库 {} 已损坏，或不是 xiangyin 的数据库（{detail}）；请把它移走（之后会新建一个空的播出记录），\
                 或者恢复备份",
                path.display()
            ),
            StoreError::TooNew { path, found, known } => format!(
                "广播站数据库 {} 是由更新版本的 xiangyin 写入的（结构版本 {found}；本版本最多认识 {known}）；\
                 请升级 xiangyin，或把这个文件移走，开始新的播出记录",
                path.display()
            ),
            StoreError::Query { what, source } => format!("广播站数据库操作失败（{what}：{source}）"),
            StoreError::Json { key, source } => {
                format!("广播站数据库操作失败（保存的状态 `{key}` 无法按 JSON 读写：{source}）")
            }
            StoreError::Crypto { what, detail } => format!("广播站数据库操作失败（{what}：{detail}）"),
            StoreError::BadUserName { name, max } => format!(
                "`{name}` 不能用作用户名：请用 1 到 {max} 个小写英文字母、数字、`.`、`_` 或 `-`，并以字母或数字开头"
            ),
            StoreError::PasswordTooShort { min } => format!("密码太短：至少要 {min} 个字符"),
            StoreError::PasswordTooLong { max } => format!("密码太长：最多 {max} 个字符"),
            StoreError::UserExists { name } => format!("已经有名为 `{name}` 的用户"),
            StoreError::NoSuchUser { name } => format!("没有名为 `{name}` 的用户"),
            StoreError::LastAdmin { name } => {
                format!("`{name}` 是最后一个能登录的管理员：请先把另一个用户设为管理员")
            }
            StoreError::BadTokenLabel { max } => {
                format!("API 令牌的标签必须是 1 到 {max} 个字符，不能只有空格")
            }
            StoreError::TokenLabelTaken { user, label } => {
                format!("`{user}` 已经有一个标签为 `{label}` 的 API 令牌：请先撤销它，或换一个标签")
            }
        }
    }
}

impl StoreError {
    /// True when a person has to do something about the database file ([`StoreError::Open`],
    /// [`StoreError::Corrupt`], [`StoreError::TooNew`]); false for failures of single operations.
    pub fn needs_operator(&self) -> bool {
        matches!(self, StoreError::Open { .. } | StoreError::Corrupt { .. } | StoreError::TooNew { .. })
    }

    /// True when the store refused what was asked (a bad name or password, a taken name or label,
    /// an unknown user, the last admin) and changed nothing: the message is for the person who
    /// asked (a 4xx in the web UI), not a fault of the station.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::BadUserName { .. }
                | StoreError::PasswordTooShort { .. }
                | StoreError::PasswordTooLong { .. }
                | StoreError::UserExists { .. }
                | StoreError::NoSuchUser { .. }
                | StoreError::LastAdmin { .. }
                | StoreError::BadTokenLabel { .. }
                | StoreError::TokenLabelTaken { .. }
        )
    }

    /// True for a failure that may go away by itself or once an operator frees space: the disk
    /// is full, an I/O error, the file is busy, locked or read-only. A write that failed this
    /// way is worth keeping and trying again; anything else is a bug or a refusal.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Open { .. } => true,
            StoreError::Query { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(
                    ErrorCode::DiskFull
                        | ErrorCode::SystemIoFailure
                        | ErrorCode::DatabaseBusy
                        | ErrorCode::DatabaseLocked
                        | ErrorCode::ReadOnly
                        | ErrorCode::CannotOpen
                        | ErrorCode::OutOfMemory
                )
            ),
            _ => false,
        }
    }

    /// True when the write failed because the disk is full.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Query { source, .. } => source.sqlite_error_code() == Some(ErrorCode::DiskFull),
            StoreError::Open { source, .. } => {
                source.downcast_ref::<std::io::Error>().and_then(std::io::Error::raw_os_error) == Some(28)
                    || source.downcast_ref::<rusqlite::Error>().and_then(rusqlite::Error::sqlite_error_code)
                        == Some(ErrorCode::DiskFull)
            }
            _ => false,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_operator_errors_say_themselves_in_chinese_too() {
        let path = PathBuf::from("/var/lib/xiangyin/station.db");
        let refusals = [
            StoreError::BadUserName { name: "Li Wei".into(), max: 32 },
            StoreError::PasswordTooShort { min: 10 },
            StoreError::PasswordTooLong { max: 1024 },
            StoreError::UserExists { name: "liwei".into() },
            StoreError::NoSuchUser { name: "liwei".into() },
            StoreError::LastAdmin { name: "admin".into() },
            StoreError::BadTokenLabel { max: 64 },
            StoreError::TokenLabelTaken { user: "liwei".into(), label: "phone".into() },
        ];
        let operator = [
            StoreError::Open { path: path.clone(), source: "permission denied".into() },
            StoreError::Corrupt { path: path.clone(), detail: "file is not a database".into() },
            StoreError::TooNew { path: path.clone(), found: 9, known: 4 },
        ];
        for e in refusals.iter().chain(&operator) {
            let (en, zh) = (e.to_string(), e.zh());
            assert!(!zh.trim().is_empty(), "{e:?}");
            assert_ne!(zh, en, "{e:?}");
            assert!(!zh.contains("; ") && !zh.contains(": "), "half-width punctuation: {zh}");
            // Names and values are kept exactly.
            for word in en.split('`').skip(1).step_by(2) {
                assert!(zh.contains(&format!("`{word}`")), "`{word}` missing from {zh}");
            }
            assert_eq!(e.text().en, en);
        }
        assert!(refusals.iter().all(StoreError::is_refusal));
        assert!(operator.iter().all(|e| e.zh().contains("/var/lib/xiangyin/station.db")));
        assert!(operator[2].zh().contains('9') && operator[2].zh().contains('4'));
        assert_eq!(refusals[1].zh(), "密码太短：至少要 10 个字符");
        let crypto = StoreError::Crypto { what: "hashing a password", detail: "out of memory".into() };
        assert_eq!(crypto.zh(), "广播站数据库操作失败（hashing a password：out of memory）");
    }
}
