//! Persisted state: JSON values by key (e.g. the scheduler's `PlaylistState`, so the rotation of
//! the morning notices survives restarts).

use chrono::Utc;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Store, StoreError, stamp};

impl Store {
    /// Saves `value` as JSON under `key`, replacing what was there, in one transaction.
    pub fn save_json(&self, key: &str, value: &impl Serialize) -> Result<(), StoreError> {
        let json = serde_json::to_string(value).map_err(|source| StoreError::Json { key: key.to_owned(), source })?;
        self.conn
            .prepare_cached(
                "INSERT INTO state (key, json, saved) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET json = excluded.json, saved = excluded.saved",
            )
            .and_then(|mut s| s.execute(params![key, json, stamp(Utc::now())]))
            .map_err(|e| self.err("save_json", e))?;
        Ok(())
    }

    /// The value last saved under `key`; `Ok(None)` when nothing was. A saved value that no longer
    /// fits `T` is [`StoreError::Json`] (the caller usually starts from a fresh value and says so).
    pub fn load_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let json: Option<String> = self
            .conn
            .prepare_cached("SELECT json FROM state WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(|e| self.err("load_json", e))?;
        json.map(|j| serde_json::from_str(&j).map_err(|source| StoreError::Json { key: key.to_owned(), source }))
            .transpose()
    }
}
