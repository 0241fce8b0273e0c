//! What the web side keeps in memory while the station's disk cannot take writes, so that a
//! full disk never locks people out of the station: logins made then are sessions in memory
//! (valid until they expire or the daemon restarts), and audit entries wait, with the instant
//! they happened, until the disk takes them.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::{Store, StoreError, User};

/// At most this many audit entries wait in memory; older ones are dropped past it.
const MAX_AUDIT_HELD: usize = 100_000;
/// At most this many sessions live in memory.
const MAX_SESSIONS: usize = 10_000;

struct MemorySession {
    user: User,
    csrf: String,
    expires: DateTime<Utc>,
}

struct Held {
    at: DateTime<Utc>,
    user: Option<String>,
    action: String,
    detail: Option<String>,
}

/// Sessions and audit entries the database could not take.
#[derive(Default)]
pub struct Memory {
    sessions: Mutex<HashMap<String, MemorySession>>,
    audit: Mutex<Vec<Held>>,
}

impl Memory {
    /// Starts a session in memory for `user`: `(token, csrf)`.
    pub fn start_session(&self, user: &User, ttl: Duration) -> Result<(String, String), StoreError> {
        let (token, csrf) = (crate::store::random_token()?, crate::store::random_token()?);
        let now = Utc::now();
        let mut s = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        s.retain(|_, m| m.expires > now);
        if s.len() >= MAX_SESSIONS
            && let Some(oldest) = s.iter().min_by_key(|(_, m)| m.expires).map(|(k, _)| k.clone())
        {
            s.remove(&oldest);
        }
        let expires = now + chrono::Duration::from_std(ttl).unwrap_or_default();
        s.insert(crate::store::token_hash(&token), MemorySession { user: user.clone(), csrf: csrf.clone(), expires });
        Ok((token, csrf))
    }

    /// The user and CSRF token of a session in memory, while it is valid.
    pub fn session(&self, token: &str) -> Option<(User, String)> {
        let s = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let m = s.get(&crate::store::token_hash(token))?;
        (m.expires > Utc::now()).then(|| (m.user.clone(), m.csrf.clone()))
    }

    /// Ends a session in memory; true when there was one.
    pub fn end_session(&self, token: &str) -> bool {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).remove(&crate::store::token_hash(token)).is_some()
    }

    /// Ends every session of `user` in memory (removed or disabled).
    pub fn end_sessions_of(&self, user: &str) {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner).retain(|_, m| m.user.name != user);
    }

    /// Writes an audit entry, first writing the ones that wait; when the disk cannot take it the
    /// entry waits too (with its instant). Never fails: what happened has happened.
    pub fn audit(&self, db: &Store, user: Option<&str>, action: &str, detail: Option<&str>) {
        let now = Utc::now();
        let mut held = self.audit.lock().unwrap_or_else(PoisonError::into_inner);
        let mut written = 0;
        while let Some(h) = held.first() {
            match db.audit_at(h.at, h.user.as_deref(), &h.action, h.detail.as_deref()) {
                Ok(()) => {
                    held.remove(0);
                    written += 1;
                }
                Err(_) => break,
            }
        }
        if written > 0 && held.is_empty() {
            tracing::info!(written, "audit entries that waited for the disk are written");
        }
        if held.is_empty() {
            match db.audit_at(now, user, action, detail) {
                Ok(()) => return,
                Err(e) if !e.is_transient() => {
                    tracing::error!("audit: {e}");
                    return;
                }
                Err(e) => tracing::error!(
                    "audit entries cannot be written ({e}); they are kept in memory until the disk takes them"
                ),
            }
        }
        if held.len() >= MAX_AUDIT_HELD {
            held.remove(0);
        }
        held.push(Held {
            at: now,
            user: user.map(str::to_owned),
            action: action.to_owned(),
            detail: detail.map(str::to_owned),
        });
    }

    /// Audit entries waiting for the disk.
    pub fn audit_held(&self) -> usize {
        self.audit.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}
