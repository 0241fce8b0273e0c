//! People: users with a [`Role`] and an argon2id password hash, browser sessions, API tokens, the
//! one-time setup link that creates the first admin, and the audit trail.
//!
//! # What it promises
//!
//! - **No secret is stored.** Passwords are kept as argon2id PHC strings; session, API and setup
//!   tokens as the SHA-256 of the token. A copy of `station.db` lets nobody log in.
//! - **Tokens cannot be guessed.** Each is 32 bytes from the operating system's random number
//!   generator, written as 64 lower-case hex digits, and handed out once: the store cannot show a
//!   token again.
//! - **A login attempt does not tell whether the name exists**: [`Store::verify_password`] hashes
//!   a dummy password for an unknown name, so it takes about as long as a wrong password.
//! - **A disabled or removed user is out at once**: their password, sessions and API tokens no
//!   longer work; a role change applies to sessions and tokens already given out.
//! - **Someone can always manage users**: removing, demoting or disabling the last admin who can
//!   log in is refused ([`StoreError::LastAdmin`]).
//! - Refusals ([`StoreError::is_refusal`]) change nothing.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{self, PasswordHasher, PasswordVerifier, phc::PasswordHash};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use super::{Store, StoreError, parse_stamp, stamp};
use crate::domain::Role;

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most characters a password may have (long pass-phrases are fine; this bounds the work).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// The most characters a user name may have.
pub const MAX_USER_NAME_CHARS: usize = 32;
/// The most characters an API token label may have.
pub const MAX_TOKEN_LABEL_CHARS: usize = 64;

/// A person who may log in, as the store knows them (never with their password hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// The login name (see [`check_user_name`]).
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// When the user was added, to the millisecond.
    pub created: DateTime<Utc>,
    /// True when the user may not log in, and their sessions and tokens do not work.
    pub disabled: bool,
}

/// An API token as listed: its label and use, never the token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiToken {
    /// The owner's name.
    pub user: String,
    /// The label given at creation (unique per user), e.g. `phone`.
    pub label: String,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it was last accepted by [`Store::api_token_user`].
    pub last_used: Option<DateTime<Utc>>,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Increasing with every entry.
    pub id: i64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// Who did it; `None` for the station itself or its command line.
    pub user: Option<String>,
    /// What was done, e.g. `user-add`, `login`, `broadcast`.
    pub action: String,
    /// Free text: the object and anything worth keeping.
    pub detail: Option<String>,
}

/// Checks a user name: 1 to [`MAX_USER_NAME_CHARS`] lower-case ascii letters, digits, `.`, `_` or
/// `-`, starting with a letter or digit (`wang.fang`, `op-2`). [`StoreError::BadUserName`] otherwise.
pub fn check_user_name(name: &str) -> Result<(), StoreError> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if first_ok && name.len() <= MAX_USER_NAME_CHARS && name.chars().all(allowed) {
        Ok(())
    } else {
        Err(StoreError::BadUserName { name: name.to_owned(), max: MAX_USER_NAME_CHARS })
    }
}

/// Checks a new password: [`MIN_PASSWORD_CHARS`] to [`MAX_PASSWORD_CHARS`] characters.
/// [`StoreError::PasswordTooShort`] (an empty one too) or [`StoreError::PasswordTooLong`] otherwise.
pub fn check_password(password: &str) -> Result<(), StoreError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        Err(StoreError::PasswordTooShort { min: MIN_PASSWORD_CHARS })
    } else if n > MAX_PASSWORD_CHARS {
        Err(StoreError::PasswordTooLong { max: MAX_PASSWORD_CHARS })
    } else {
        Ok(())
    }
}

impl Store {
    /// Adds a user with an argon2id hash of `password`. Refused, changing nothing, when the name
    /// is not a user name ([`StoreError::BadUserName`]), the password too short or too long, or
    /// the name taken ([`StoreError::UserExists`]).
    pub fn add_user(&self, name: &str, role: Role, password: &str) -> Result<(), StoreError> {
        check_user_name(name)?;
        check_password(password)?;
        let hash = hash_password(password)?;
        let r = self
            .conn
            .prepare_cached("INSERT INTO users (name, role, hash, created) VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut s| s.execute(params![name, role.name(), hash, stamp(Utc::now())]));
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_constraint(&e) => Err(StoreError::UserExists { name: name.to_owned() }),
            Err(e) => Err(self.err("add_user", e)),
        }
    }

    /// Replaces a user's password and ends all their sessions (every browser logs in again; API
    /// tokens keep working). [`StoreError::NoSuchUser`], or a password refusal, changes nothing.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), StoreError> {
        check_password(password)?;
        let hash = hash_password(password)?;
        let err = |e| self.err("set_password", e);
        let tx = self.write_tx().map_err(err)?;
        let n = tx.execute("UPDATE users SET hash = ?2 WHERE name = ?1", params![name, hash]).map_err(err)?;
        if n == 0 {
            return Err(no_such_user(name));
        }
        tx.execute("DELETE FROM sessions WHERE user = ?1", [name]).map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Gives a user another role; their sessions and tokens carry the new role at once.
    /// [`StoreError::NoSuchUser`], or [`StoreError::LastAdmin`] when this would leave no admin who
    /// can log in.
    pub fn set_role(&self, name: &str, role: Role) -> Result<(), StoreError> {
        let err = |e| self.err("set_role", e);
        let tx = self.write_tx().map_err(err)?;
        if role != Role::Admin {
            self.keep_an_admin(&tx, name)?;
        }
        let n = tx.execute("UPDATE users SET role = ?2 WHERE name = ?1", params![name, role.name()]).map_err(err)?;
        if n == 0 {
            return Err(no_such_user(name));
        }
        tx.commit().map_err(err)
    }

    /// Disables a user (no login, their sessions end, their tokens stop working) or enables them
    /// again. [`StoreError::NoSuchUser`], or [`StoreError::LastAdmin`] when disabling the last admin
    /// who can log in.
    pub fn set_disabled(&self, name: &str, disabled: bool) -> Result<(), StoreError> {
        let err = |e| self.err("set_disabled", e);
        let tx = self.write_tx().map_err(err)?;
        if disabled {
            self.keep_an_admin(&tx, name)?;
        }
        let n = tx.execute("UPDATE users SET disabled = ?2 WHERE name = ?1", params![name, disabled]).map_err(err)?;
        if n == 0 {
            return Err(no_such_user(name));
        }
        if disabled {
            tx.execute("DELETE FROM sessions WHERE user = ?1", [name]).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Removes a user with their sessions and API tokens (the audit trail keeps their name).
    /// [`StoreError::NoSuchUser`], or [`StoreError::LastAdmin`] for the last admin who can log in.
    pub fn remove_user(&self, name: &str) -> Result<(), StoreError> {
        let err = |e| self.err("remove_user", e);
        let tx = self.write_tx().map_err(err)?;
        self.keep_an_admin(&tx, name)?;
        tx.execute("DELETE FROM sessions WHERE user = ?1", [name]).map_err(err)?;
        tx.execute("DELETE FROM api_tokens WHERE user = ?1", [name]).map_err(err)?;
        if tx.execute("DELETE FROM users WHERE name = ?1", [name]).map_err(err)? == 0 {
            return Err(no_such_user(name));
        }
        tx.commit().map_err(err)
    }

    /// The user named `name`, if there is one.
    pub fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        self.conn
            .prepare_cached("SELECT name, role, created, disabled FROM users WHERE name = ?1")
            .and_then(|mut s| s.query_row([name], RawUser::read).optional())
            .map_err(|e| self.err("user", e))?
            .map(|r| r.into_user(self))
            .transpose()
    }

    /// Every user, by name.
    pub fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let raws: Vec<RawUser> = self
            .conn
            .prepare_cached("SELECT name, role, created, disabled FROM users ORDER BY name")
            .and_then(|mut s| s.query_map([], RawUser::read)?.collect())
            .map_err(|e| self.err("list_users", e))?;
        raws.into_iter().map(|r| r.into_user(self)).collect()
    }

    /// How many users there are, disabled ones included (0: the station still needs its first admin).
    pub fn user_count(&self) -> Result<usize, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0))
            .map(|n| usize::try_from(n).unwrap_or(0))
            .map_err(|e| self.err("user_count", e))
    }

    /// The user, when `password` is theirs and they are not disabled; `Ok(None)` otherwise, for an
    /// unknown name too, after about the same work (a dummy hash is checked), so the answer and its
    /// timing do not tell which names exist. Hashing takes tens of milliseconds: a server
    /// reads the record with [`Store::password_record`] and checks it with [`PasswordRecord::check`]
    /// off its async threads and without holding the connection.
    pub fn verify_password(&self, name: &str, password: &str) -> Result<Option<User>, StoreError> {
        self.password_record(name)?.check(password)
    }

    /// What [`PasswordRecord::check`] needs to check a password for `name` (a dummy record for
    /// an unknown name).
    pub fn password_record(&self, name: &str) -> Result<PasswordRecord, StoreError> {
        let found: Option<(RawUser, String)> = self
            .conn
            .prepare_cached("SELECT name, role, created, disabled, hash FROM users WHERE name = ?1")
            .and_then(|mut s| s.query_row([name], |r| Ok((RawUser::read(r)?, r.get(4)?))).optional())
            .map_err(|e| self.err("verify_password", e))?;
        Ok(match found {
            Some((raw, hash)) => PasswordRecord { user: Some(raw.into_user(self)?), hash, name: name.to_owned() },
            None => PasswordRecord { user: None, hash: dummy_hash()?.to_owned(), name: name.to_owned() },
        })
    }

    /// Starts a browser session for `user`, valid for `ttl`: returns `(token, csrf)`. The token is
    /// for the cookie and is stored only as its hash; the CSRF token is for forms and is given back
    /// by [`Store::session`]. Also forgets expired sessions. [`StoreError::NoSuchUser`] for an
    /// unknown user.
    pub fn create_session(&self, user: &str, ttl: Duration) -> Result<(String, String), StoreError> {
        let (token, csrf) = (random_token()?, random_token()?);
        let now = Utc::now();
        let err = |e| self.err("create_session", e);
        let tx = self.write_tx().map_err(err)?;
        purge_expired(&tx, now).map_err(err)?;
        let n = tx
            .execute(
                "INSERT INTO sessions (token_hash, user, csrf, created, expires)
                 SELECT ?1, name, ?3, ?4, ?5 FROM users WHERE name = ?2",
                params![token_hash(&token), user, csrf, stamp(now), stamp(expiry(now, ttl))],
            )
            .map_err(err)?;
        if n == 0 {
            return Err(no_such_user(user));
        }
        tx.commit().map_err(err)?;
        Ok((token, csrf))
    }

    /// The user of a session and its CSRF token, while the session is valid: `None` for an
    /// unknown, ended or expired token, or a disabled user. Meeting an expired session forgets it
    /// (and every other expired one).
    pub fn session(&self, token: &str) -> Result<Option<(User, String)>, StoreError> {
        let now = Utc::now();
        let found: Option<(RawUser, String, bool)> = self
            .conn
            .prepare_cached(
                "SELECT u.name, u.role, u.created, u.disabled, s.csrf, s.expires <= ?2
                 FROM sessions s JOIN users u ON u.name = s.user WHERE s.token_hash = ?1",
            )
            .and_then(|mut s| {
                s.query_row(params![token_hash(token), stamp(now)], |r| Ok((RawUser::read(r)?, r.get(4)?, r.get(5)?)))
                    .optional()
            })
            .map_err(|e| self.err("session", e))?;
        match found {
            None => Ok(None),
            Some((_, _, true)) => {
                purge_expired(&self.conn, now).map_err(|e| self.err("session", e))?;
                Ok(None)
            }
            Some((raw, csrf, false)) => Ok(Some(raw.into_user(self)?).filter(|u| !u.disabled).map(|u| (u, csrf))),
        }
    }

    /// Ends a session (logout). False when there was no such session.
    pub fn end_session(&self, token: &str) -> Result<bool, StoreError> {
        self.conn
            .execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash(token)])
            .map(|n| n == 1)
            .map_err(|e| self.err("end_session", e))
    }

    /// Makes an API token for `user`, labelled `label` (unique per user, 1 to
    /// [`MAX_TOKEN_LABEL_CHARS`] characters): the token is returned once and stored only as its
    /// hash. [`StoreError::NoSuchUser`], [`StoreError::BadTokenLabel`] or
    /// [`StoreError::TokenLabelTaken`] change nothing.
    pub fn create_api_token(&self, user: &str, label: &str) -> Result<String, StoreError> {
        if label.trim().is_empty() || label.chars().count() > MAX_TOKEN_LABEL_CHARS {
            return Err(StoreError::BadTokenLabel { max: MAX_TOKEN_LABEL_CHARS });
        }
        let token = random_token()?;
        let r = self
            .conn
            .prepare_cached(
                "INSERT INTO api_tokens (token_hash, user, label, created) SELECT ?1, name, ?3, ?4 FROM users
                 WHERE name = ?2",
            )
            .and_then(|mut s| s.execute(params![token_hash(&token), user, label, stamp(Utc::now())]));
        match r {
            Ok(0) => Err(no_such_user(user)),
            Ok(_) => Ok(token),
            Err(e) if is_constraint(&e) => {
                Err(StoreError::TokenLabelTaken { user: user.to_owned(), label: label.to_owned() })
            }
            Err(e) => Err(self.err("create_api_token", e)),
        }
    }

    /// The user an API token belongs to, unless it was revoked or the user is disabled; records
    /// the use (`last_used`).
    pub fn api_token_user(&self, token: &str) -> Result<Option<User>, StoreError> {
        let hash = token_hash(token);
        let err = |e| self.err("api_token_user", e);
        let raw = self
            .conn
            .prepare_cached(
                "SELECT u.name, u.role, u.created, u.disabled FROM api_tokens t JOIN users u ON u.name = t.user
                 WHERE t.token_hash = ?1",
            )
            .and_then(|mut s| s.query_row([&hash], RawUser::read).optional())
            .map_err(err)?;
        let Some(user) = raw.map(|r| r.into_user(self)).transpose()?.filter(|u| !u.disabled) else {
            return Ok(None);
        };
        self.conn
            .prepare_cached("UPDATE api_tokens SET last_used = ?2 WHERE token_hash = ?1")
            .and_then(|mut s| s.execute(params![hash, stamp(Utc::now())]))
            .map_err(err)?;
        Ok(Some(user))
    }

    /// Revokes `user`'s API token labelled `label`. False when they have no such token.
    pub fn revoke_api_token(&self, user: &str, label: &str) -> Result<bool, StoreError> {
        self.conn
            .execute("DELETE FROM api_tokens WHERE user = ?1 AND label = ?2", [user, label])
            .map(|n| n == 1)
            .map_err(|e| self.err("revoke_api_token", e))
    }

    /// The API tokens of `user` (every user's when `None`), by user, then creation.
    pub fn list_api_tokens(&self, user: Option<&str>) -> Result<Vec<ApiToken>, StoreError> {
        type Raw = (String, String, String, Option<String>);
        let raws: Vec<Raw> = self
            .conn
            .prepare_cached(
                "SELECT user, label, created, last_used FROM api_tokens WHERE ?1 IS NULL OR user = ?1
                 ORDER BY user, created, label",
            )
            .and_then(|mut s| s.query_map([user], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect())
            .map_err(|e| self.err("list_api_tokens", e))?;
        raws.into_iter()
            .map(|(user, label, created, last_used)| {
                let what = format!("API token `{label}` of `{user}`");
                Ok(ApiToken {
                    created: time(self, &what, &created)?,
                    last_used: last_used.map(|t| time(self, &what, &t)).transpose()?,
                    user,
                    label,
                })
            })
            .collect()
    }

    /// Makes the one-time setup link's token, valid for `ttl`; any older setup token stops
    /// working. Stored only as its hash.
    pub fn create_setup_token(&self, ttl: Duration) -> Result<String, StoreError> {
        let token = random_token()?;
        let now = Utc::now();
        let err = |e| self.err("create_setup_token", e);
        let tx = self.write_tx().map_err(err)?;
        tx.execute("DELETE FROM setup_tokens", []).map_err(err)?;
        tx.execute(
            "INSERT INTO setup_tokens (token_hash, expires) VALUES (?1, ?2)",
            params![token_hash(&token), stamp(expiry(now, ttl))],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(token)
    }

    /// Uses up a setup token: true once for a valid one, while the station has no users; false
    /// for an unknown, used or expired token, or once any user exists. Check the new admin's name
    /// and password first ([`check_user_name`], [`check_password`]) so a typo does not spend it.
    pub fn use_setup_token(&self, token: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(
                "DELETE FROM setup_tokens WHERE token_hash = ?1 AND expires > ?2
                 AND NOT EXISTS (SELECT 1 FROM users)",
            )
            .and_then(|mut s| s.execute(params![token_hash(token), stamp(Utc::now())]))
            .map(|n| n == 1)
            .map_err(|e| self.err("use_setup_token", e))
    }

    /// Appends to the audit trail: who (`None` for the station itself or its command line), what
    /// (a short kebab-case verb such as `user-add`), and free-text detail.
    pub fn audit(&self, user: Option<&str>, action: &str, detail: Option<&str>) -> Result<(), StoreError> {
        self.audit_at(Utc::now(), user, action, detail)
    }

    /// [`Store::audit`] for something that happened at `at` (an entry that waited for the disk).
    pub fn audit_at(
        &self,
        at: DateTime<Utc>,
        user: Option<&str>,
        action: &str,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("INSERT INTO audit (at, user, action, detail) VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut s| s.execute(params![stamp(at), user, action, detail]))
            .map(drop)
            .map_err(|e| self.err("audit", e))
    }

    /// The latest `limit` audit entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        type Raw = (i64, String, Option<String>, String, Option<String>);
        let raws: Vec<Raw> = self
            .conn
            .prepare_cached("SELECT id, at, user, action, detail FROM audit ORDER BY id DESC LIMIT ?1")
            .and_then(|mut s| {
                s.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect()
            })
            .map_err(|e| self.err("audit_log", e))?;
        raws.into_iter()
            .map(|(id, at, user, action, detail)| {
                Ok(AuditEntry { id, at: time(self, &format!("audit entry {id}"), &at)?, user, action, detail })
            })
            .collect()
    }

    /// A write transaction that holds the write lock from its start, so that what it reads is
    /// still true when it writes (waits up to `BUSY_TIMEOUT` for another writer).
    fn write_tx(&self) -> rusqlite::Result<Transaction<'_>> {
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
    }

    /// Refuses a change that takes `name`'s admin rights away when no other enabled admin is left
    /// ([`StoreError::LastAdmin`]); [`StoreError::NoSuchUser`] for an unknown name.
    fn keep_an_admin(&self, tx: &Transaction<'_>, name: &str) -> Result<(), StoreError> {
        let err = |e| self.err("keep_an_admin", e);
        let is_admin: bool = tx
            .query_row("SELECT role = 'admin' AND disabled = 0 FROM users WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(err)?
            .ok_or_else(|| no_such_user(name))?;
        if !is_admin {
            return Ok(());
        }
        let others: i64 = tx
            .query_row("SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND name <> ?1", [name], |r| {
                r.get(0)
            })
            .map_err(err)?;
        if others == 0 { Err(StoreError::LastAdmin { name: name.to_owned() }) } else { Ok(()) }
    }
}

/// A user row as stored, before its text is checked.
struct RawUser {
    name: String,
    role: String,
    created: String,
    disabled: bool,
}

impl RawUser {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawUser> {
        Ok(RawUser { name: r.get(0)?, role: r.get(1)?, created: r.get(2)?, disabled: r.get(3)? })
    }

    /// A value this build cannot read means the row was damaged or written by something else.
    fn into_user(self, store: &Store) -> Result<User, StoreError> {
        let what = format!("user `{}`", self.name);
        let role = self.role.parse().map_err(|e| bad_row(store, format!("{what}: {e}")))?;
        Ok(User { created: time(store, &what, &self.created)?, name: self.name, role, disabled: self.disabled })
    }
}

fn time(store: &Store, what: &str, s: &str) -> Result<DateTime<Utc>, StoreError> {
    parse_stamp(s).ok_or_else(|| bad_row(store, format!("{what}: `{s}` is not a time")))
}

fn bad_row(store: &Store, detail: String) -> StoreError {
    StoreError::Corrupt { path: store.path.clone(), detail }
}

fn no_such_user(name: &str) -> StoreError {
    StoreError::NoSuchUser { name: name.to_owned() }
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

/// Forgets expired sessions and setup tokens.
fn purge_expired(conn: &rusqlite::Connection, now: DateTime<Utc>) -> rusqlite::Result<()> {
    let now = stamp(now);
    conn.execute("DELETE FROM sessions WHERE expires <= ?1", [&now])?;
    conn.execute("DELETE FROM setup_tokens WHERE expires <= ?1", [&now])?;
    Ok(())
}

/// `now + ttl`, kept within the years stored timestamps can write (four digits, so that text
/// order stays time order).
fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    let last = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).single().unwrap_or(now);
    chrono::TimeDelta::from_std(ttl).ok().and_then(|d| now.checked_add_signed(d)).map_or(last, |t| t.min(last))
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| StoreError::Crypto { what: "hashing a password", detail: e.to_string() })?;
    Ok(hash.to_string())
}

/// The hash an unknown user's login attempt is checked against: made once per process with the
/// same parameters as real ones, so that checking it costs the same.
/// A user's stored password hash, read to be checked away from the database connection.
#[derive(Debug, Clone)]
pub struct PasswordRecord {
    user: Option<User>,
    hash: String,
    name: String,
}

impl PasswordRecord {
    /// The user, when `password` is theirs and they are not disabled (see
    /// [`Store::verify_password`]). Costs one argon2 verification whatever the answer.
    pub fn check(&self, password: &str) -> Result<Option<User>, StoreError> {
        let verdict = Argon2::default().verify_password(password.as_bytes(), self.hash.as_str());
        match (&self.user, verdict) {
            (None, _) => Ok(None),
            (Some(u), Ok(())) => Ok(Some(u.clone()).filter(|u| !u.disabled)),
            (Some(_), Err(password_hash::Error::PasswordInvalid)) => Ok(None),
            (Some(_), Err(e)) => Err(StoreError::Crypto {
                what: "checking a password",
                detail: format!("user `{}`: the stored password hash is unreadable: {e}", self.name),
            }),
        }
    }
}

fn dummy_hash() -> Result<&'static str, StoreError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h);
    }
    let h = hash_password("not anyone's password")?;
    Ok(DUMMY.get_or_init(|| h))
}

/// 32 bytes from the operating system's random number generator (through getrandom, which
/// password-hash uses for salts), as 64 lower-case hex digits.
pub(crate) fn random_token() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    for half in bytes.chunks_mut(16) {
        let salt = password_hash::try_generate_salt()
            .map_err(|e| StoreError::Crypto { what: "drawing random bytes for a token", detail: e.to_string() })?;
        half.copy_from_slice(&salt);
    }
    Ok(hex(&bytes))
}

/// What is stored for a token: its SHA-256, in lower-case hex.
pub(crate) fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_hex_digits_and_differ() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn user_names_are_lower_case_ascii_slugs() {
        for ok in ["admin", "wang.fang", "op-2", "7", "a_b"] {
            check_user_name(ok).unwrap();
        }
        for bad in ["", "Admin", "-x", ".x", "王芳", "a b", "cli:root", &"a".repeat(33)] {
            assert!(matches!(check_user_name(bad), Err(StoreError::BadUserName { .. })), "{bad}");
        }
    }

    #[test]
    fn expiry_stays_within_four_digit_years() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 7, 0, 0).unwrap();
        assert_eq!(stamp(expiry(now, Duration::MAX)), "9999-12-31T23:59:59.000Z");
        assert_eq!(expiry(now, Duration::from_secs(60)), now + chrono::TimeDelta::minutes(1));
    }
}
