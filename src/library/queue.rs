//! A small pool that runs imports a few at a time, in the background.
//!
//! An import decodes, measures and resamples a whole recording: seconds of CPU on three threads.
//! Twenty uploads at once must not take the machine from playout and the web pages, so imports
//! wait in a queue and run [`DEFAULT_WORKERS`] at a time on threads that get the CPU only when
//! nothing more urgent wants it (`SCHED_IDLE`; the threads an import starts inherit it). The
//! queue says who is waiting and where, for the upload page.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Imports running at once by default (the station computer has two cores).
pub const DEFAULT_WORKERS: usize = 2;
/// Imports that may wait; past it a new one is refused (try again later).
pub const MAX_WAITING: usize = 64;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// One import in the queue, as the upload page shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueuedImport {
    /// Its number (unique in this process).
    pub id: u64,
    /// The uploaded file name.
    pub name: String,
    /// Who uploaded it.
    pub owner: String,
    /// `queued` or `importing`.
    pub state: &'static str,
    /// Imports ahead of it (0 while importing).
    pub ahead: usize,
    /// When it joined the queue.
    pub since: DateTime<Utc>,
}

struct Entry {
    id: u64,
    name: String,
    owner: String,
    since: DateTime<Utc>,
    running: bool,
}

struct Inner {
    tx: Mutex<mpsc::Sender<(u64, Job)>>,
    entries: Mutex<VecDeque<Entry>>,
    next: Mutex<u64>,
}

/// The import pool. Cheap to clone; the workers end when the last clone is dropped.
#[derive(Clone)]
pub struct ImportQueue {
    inner: Arc<Inner>,
}

/// Why an import was not queued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueueError {
    /// [`MAX_WAITING`] imports are waiting already.
    #[error("{0} imports are waiting already; try again in a few minutes")]
    Full(usize),
}

impl crate::domain::Say for QueueError {
    fn zh(&self) -> String {
        match self {
            QueueError::Full(n) => format!("已经有 {n} 个录音在排队导入；请过几分钟再试"),
        }
    }
}

impl ImportQueue {
    /// A pool of `workers` threads.
    pub fn new(workers: usize) -> Self {
        let (tx, rx) = mpsc::channel::<(u64, Job)>();
        let rx = Arc::new(Mutex::new(rx));
        let inner = Arc::new(Inner { tx: Mutex::new(tx), entries: Mutex::new(VecDeque::new()), next: Mutex::new(1) });
        for n in 0..workers.max(1) {
            let rx = rx.clone();
            let weak = Arc::downgrade(&inner);
            let spawned = std::thread::Builder::new().name(format!("import-{n}")).spawn(move || {
                crate::os::make_current_thread_background();
                loop {
                    let next = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok((id, job)) = next else { return };
                    if let Some(inner) = weak.upgrade() {
                        let mut e = inner.entries.lock().unwrap_or_else(PoisonError::into_inner);
                        if let Some(x) = e.iter_mut().find(|x| x.id == id) {
                            x.running = true;
                        }
                    }
                    job();
                    if let Some(inner) = weak.upgrade() {
                        inner.entries.lock().unwrap_or_else(PoisonError::into_inner).retain(|x| x.id != id);
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!("cannot start an import worker: {e}");
            }
        }
        Self { inner }
    }

    /// Queues `job` (importing `name` for `owner`); its result comes on the returned receiver.
    pub fn submit<T: Send + 'static>(
        &self,
        name: &str,
        owner: &str,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<tokio::sync::oneshot::Receiver<T>, QueueError> {
        let (done, rx) = tokio::sync::oneshot::channel();
        let id = {
            let mut entries = self.inner.entries.lock().unwrap_or_else(PoisonError::into_inner);
            let waiting = entries.iter().filter(|e| !e.running).count();
            if waiting >= MAX_WAITING {
                return Err(QueueError::Full(waiting));
            }
            let mut next = self.inner.next.lock().unwrap_or_else(PoisonError::into_inner);
            let id = *next;
            *next += 1;
            entries.push_back(Entry {
                id,
                name: name.to_owned(),
                owner: owner.to_owned(),
                since: Utc::now(),
                running: false,
            });
            id
        };
        let job: Job = Box::new(move || {
            let _ = done.send(job());
        });
        if self.inner.tx.lock().unwrap_or_else(PoisonError::into_inner).send((id, job)).is_err() {
            tracing::error!("the import workers are gone");
        }
        Ok(rx)
    }

    /// The imports waiting or running, in order.
    pub fn list(&self) -> Vec<QueuedImport> {
        let entries = self.inner.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let mut waiting_before = 0;
        entries
            .iter()
            .map(|e| {
                let ahead = if e.running { 0 } else { waiting_before };
                if !e.running {
                    waiting_before += 1;
                }
                QueuedImport {
                    id: e.id,
                    name: e.name.clone(),
                    owner: e.owner.clone(),
                    state: if e.running { "importing" } else { "queued" },
                    ahead,
                    since: e.since,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    #[test]
    fn two_run_at_a_time_and_the_rest_wait_in_order() {
        let q = ImportQueue::new(2);
        let gate = Arc::new(Barrier::new(3));
        let mut results = Vec::new();
        for i in 0..5u32 {
            let gate = gate.clone();
            results.push(
                q.submit(&format!("f{i}.wav"), "wang", move || {
                    if i < 2 {
                        gate.wait();
                    }
                    i * 10
                })
                .unwrap(),
            );
        }
        // The first two hold their workers at the gate: the other three wait.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while q.list().iter().filter(|e| e.state == "importing").count() < 2 {
            assert!(std::time::Instant::now() < deadline, "{:?}", q.list());
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let list = q.list();
        assert_eq!(
            list.iter().map(|e| (e.state, e.ahead)).collect::<Vec<_>>(),
            vec![("importing", 0), ("importing", 0), ("queued", 0), ("queued", 1), ("queued", 2)]
        );
        gate.wait();
        let got: Vec<u32> = results.into_iter().map(|r| r.blocking_recv().unwrap()).collect();
        assert_eq!(got, vec![0, 10, 20, 30, 40]);
        while !q.list().is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
