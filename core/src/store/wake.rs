//! Wake-ups across processes: a signal that a job may have become claimable (enqueued, released, waiting for a
//! retry), so idle workers in any process claim within milliseconds instead of at their next poll. A backend
//! without push (SQLite; Postgres behind a transaction pooler) answers [`Wakeups::Polling`], and its callers keep
//! polling as they do today.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::StoreError;

/// What a subscription delivers.
#[derive(Debug)]
pub enum Wakeups {
    /// Signals arrive on the caller's `Notify` until this handle is dropped.
    Push(WakeHandle),
    /// Nothing is pushed: the caller polls (`next_due_at`, a poll interval).
    Polling,
}

/// Keeps a push subscription alive; dropping it stops the listener.
#[derive(Debug)]
pub struct WakeHandle {
    task: tokio::task::JoinHandle<()>,
}

impl WakeHandle {
    /// Wraps the task that delivers the signals.
    pub fn new(task: tokio::task::JoinHandle<()>) -> Self {
        Self { task }
    }
}

impl Drop for WakeHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A store's wake-ups for idle workers. The default pushes nothing.
#[async_trait]
pub trait JobWakeups: Send + Sync {
    /// Starts delivering wake-ups to `notify` (`notify_one` per signal, and one after every connect or reconnect
    /// so a signal missed while disconnected is caught up) until the returned handle is dropped.
    async fn subscribe_wakeups(&self, notify: Arc<Notify>) -> Result<Wakeups, StoreError> {
        let _ = notify;
        Ok(Wakeups::Polling)
    }
}

#[cfg(feature = "sqlite")]
impl JobWakeups for super::sqlite::SqliteStore {}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::store::sqlite::{SqliteOptions, SqliteStore};

    #[tokio::test]
    async fn sqlite_polls() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("w.db"), SqliteOptions::default()).await.unwrap();
        let wakeups = store.subscribe_wakeups(Arc::new(Notify::new())).await.unwrap();
        assert!(matches!(wakeups, Wakeups::Polling));
    }
}
