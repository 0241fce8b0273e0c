//! The station's writes to its database, in order — held in memory while the database cannot
//! take them (a full disk, an I/O error) and written, still in order, as soon as it can.
//!
//! Playout never waits for the log: a cue plays whether or not its row could be written, and
//! the row follows when the disk has room again. While writes are held the station says so
//! loudly (a log line when it starts, one a minute while it lasts, one when it is over) and its
//! health is degraded. Held writes live only in memory: a station killed during the outage
//! loses them, and its restart logs the firings it cannot account for as `missed`.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::{Cue, CueId};
use crate::scheduler::Planned;
use crate::store::{AsRunOutcome, NotAired, Store, StoreError};

/// At most this many writes are held; past it the oldest are dropped (with an error line).
const MAX_HELD: usize = 500_000;
/// While writes are held, a reminder is logged this often.
const REMIND_EVERY: Duration = Duration::from_secs(60);

/// One write of the station to its database.
#[derive(Debug, Clone)]
pub(super) enum Write {
    /// The rows of a planned window and the scheduler state that planned it, together.
    Window { planned: Vec<Planned>, state: serde_json::Value },
    /// A cue no slot made (broadcast now).
    Cue(Cue),
    /// A broadcast's village that will not hear it.
    NotAired(NotAired),
    /// A cue started.
    Started { id: CueId, at: DateTime<Utc>, late: Option<Duration> },
    /// A cue's outcome (not its end).
    Outcome { id: CueId, outcome: AsRunOutcome, detail: Option<crate::domain::Text> },
    /// A cue ended.
    Ended { id: CueId, at: DateTime<Utc>, outcome: AsRunOutcome },
    /// What the line's capture tap heard during a cue.
    Heard { id: CueId, note: crate::domain::HeardNote },
    /// The scheduler state alone.
    State(serde_json::Value),
}

impl Write {
    /// The cue this write decides something about (start, outcome, end).
    fn decides(&self) -> Option<CueId> {
        match self {
            Write::Started { id, .. } | Write::Outcome { id, .. } | Write::Ended { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// True when this write creates the row of `id`.
    fn creates(&self, id: CueId) -> bool {
        match self {
            Write::Window { planned, .. } => planned.iter().any(|p| p.id == id),
            Write::Cue(c) => c.id == id,
            Write::NotAired(n) => n.cue == id,
            _ => false,
        }
    }
}

/// Since when, and why, writes are held.
#[derive(Debug, Clone)]
pub struct Failing {
    /// The first failure.
    pub since: DateTime<Utc>,
    /// The latest error, in words.
    pub error: String,
    /// True when the disk is full.
    pub disk_full: bool,
    reminded: DateTime<Utc>,
}

/// The database and the writes it has not taken yet.
pub struct Journal {
    store: Store,
    key: &'static str,
    held: VecDeque<Write>,
    failing: Option<Failing>,
    dropped: u64,
}

impl Journal {
    /// Writes to `store`; scheduler state goes under `key`.
    pub fn new(store: Store, key: &'static str) -> Self {
        Self { store, key, held: VecDeque::new(), failing: None, dropped: 0 }
    }

    /// The database (for reads).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How many writes wait for the disk.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Why writes are held, while they are.
    pub fn failing(&self) -> Option<&Failing> {
        self.failing.as_ref()
    }

    /// Writes `w` now, or holds it (behind the ones already held). Returns what the database
    /// said (true: the row changed), or true when the write is held: the station goes on as if it
    /// had been written. A write the database refuses for good (a bug) is logged and dropped.
    pub(super) fn write(&mut self, w: Write, now: DateTime<Utc>) -> bool {
        if !self.held.is_empty() {
            self.hold(w);
            return true;
        }
        match self.apply(&w) {
            Ok(changed) => changed,
            Err(e) if e.is_transient() => {
                self.failed(&e, now);
                self.hold(w);
                true
            }
            Err(e) => {
                tracing::error!("as-run log: a write was refused and is dropped: {e}");
                false
            }
        }
    }

    /// Tries the held writes, in order, until one fails again. Returns how many were written.
    pub(super) fn flush(&mut self, now: DateTime<Utc>) -> usize {
        let mut written = 0;
        while let Some(w) = self.held.front() {
            match self.apply(w) {
                Ok(_) => written += 1,
                Err(e) if e.is_transient() => {
                    self.failed(&e, now);
                    return written;
                }
                Err(e) => tracing::error!("as-run log: a held write was refused and is dropped: {e}"),
            }
            self.held.pop_front();
        }
        if let Some(f) = self.failing.take() {
            tracing::warn!(
                written,
                "the as-run log is writable again: {written} writes held in memory since {} are now on disk",
                f.since
            );
        }
        written
    }

    /// True while cue `id` has neither started nor been decided (missed, stopped…), counting
    /// held writes; when the database cannot be read, true (the station's memory decides).
    pub(super) fn is_waiting(&self, id: CueId) -> bool {
        if self.held.iter().any(|w| w.decides() == Some(id)) {
            return false;
        }
        match self.store.get(id) {
            Ok(Some(row)) => row.started.is_none() && row.outcome.is_none(),
            Ok(None) => self.held.iter().any(|w| w.creates(id)),
            Err(e) => {
                tracing::debug!("as-run log unreadable for cue {id} ({e}); the station's memory decides");
                true
            }
        }
    }

    fn hold(&mut self, w: Write) {
        // Only the newest scheduler state matters.
        if matches!(w, Write::State(_) | Write::Window { .. })
            && let Some(Write::State(_)) = self.held.back()
        {
            self.held.pop_back();
        }
        if self.held.len() >= MAX_HELD {
            self.held.pop_front();
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::error!(
                    dropped = self.dropped,
                    "!!! the as-run log has held {MAX_HELD} writes in memory; the oldest are being dropped"
                );
            }
        }
        self.held.push_back(w);
    }

    fn failed(&mut self, e: &StoreError, now: DateTime<Utc>) {
        let error = e.to_string();
        match &mut self.failing {
            None => {
                tracing::error!(
                    "!!! the as-run log cannot be written ({error}); playout goes on, and its rows are kept in \
                     memory until the disk takes them again"
                );
                self.failing = Some(Failing { since: now, error, disk_full: e.is_disk_full(), reminded: now });
            }
            Some(f) => {
                f.error = error;
                f.disk_full = e.is_disk_full();
                if (now - f.reminded).to_std().unwrap_or_default() >= REMIND_EVERY {
                    f.reminded = now;
                    tracing::error!(
                        held = self.held.len(),
                        "!!! the as-run log still cannot be written since {} ({}); {} writes held in memory",
                        f.since,
                        f.error,
                        self.held.len()
                    );
                }
            }
        }
    }

    fn apply(&self, w: &Write) -> Result<bool, StoreError> {
        let s = &self.store;
        match w {
            Write::Window { planned, state } => s.record_window(planned, self.key, state).map(|n| n > 0),
            Write::Cue(c) => s.record_cue(c),
            Write::NotAired(n) => s.record_not_aired(n),
            Write::Started { id, at, late } => s.mark_started(*id, *at, *late),
            Write::Outcome { id, outcome, detail } => s.mark_outcome(*id, *outcome, detail.as_ref()),
            Write::Ended { id, at, outcome } => s.mark_ended(*id, *at, *outcome),
            Write::Heard { id, note } => s.mark_heard(*id, note),
            Write::State(v) => s.save_json(self.key, v).map(|()| true),
        }
    }
}
