//! Wake-ups across processes: a signal that a job may have become claimable (enqueued, released, waiting for a
//! retry), so idle workers in any process claim within milliseconds instead of at their next poll, and a signal
//! that a given job ended, so a caller waiting for another worker's job learns of it at once. A backend without
//! push (SQLite; Postgres behind a transaction pooler) answers [`Wakeups::Polling`], and its callers keep polling
//! as they do today.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::StoreError;
use crate::queue::JobId;

/// What a subscription delivers.
#[derive(Debug)]
pub enum Wakeups {
    /// Signals arrive on the caller's `Notify` until this handle is dropped.
    Push(WakeHandle),
    /// Nothing is pushed: the caller polls (`next_due_at`, a poll interval).
    Polling,
}

impl Wakeups {
    /// Whether signals are pushed (the caller may poll rarely, as a fallback only).
    pub fn is_push(&self) -> bool {
        matches!(self, Wakeups::Push(_))
    }
}

/// Keeps a push subscription alive; dropping it ends the subscription.
pub struct WakeHandle {
    _guard: Box<dyn Send + Sync>,
}

impl WakeHandle {
    /// Wraps whatever ends the subscription when dropped (a registration, a task's abort guard).
    pub fn new<G: Send + Sync + 'static>(guard: G) -> Self {
        Self { _guard: Box::new(guard) }
    }
}

impl fmt::Debug for WakeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WakeHandle")
    }
}

/// A store's wake-ups. The defaults push nothing.
///
/// Every push subscription signals once when it starts and once after every reconnect of the backend's
/// listening session, so a caller that subscribes first and then looks at the store never misses a change,
/// and a signal lost while disconnected is caught up.
#[async_trait]
pub trait JobWakeups: Send + Sync {
    /// Starts delivering wake-ups for claimable jobs to `notify` (`notify_one` per signal) until the returned
    /// handle is dropped.
    async fn subscribe_wakeups(&self, notify: Arc<Notify>) -> Result<Wakeups, StoreError> {
        let _ = notify;
        Ok(Wakeups::Polling)
    }

    /// Starts signalling `notify` when job `id` ends (succeeded, dead or cancelled) until the returned handle is
    /// dropped. A signal means "look again"; the caller reads the job to learn its state.
    async fn subscribe_job_end(&self, id: &JobId, notify: Arc<Notify>) -> Result<Wakeups, StoreError> {
        let _ = (id, notify);
        Ok(Wakeups::Polling)
    }
}

/// The wake-ups of a store without push: every subscription answers [`Wakeups::Polling`]. The default of
/// [`JobStore::wakeups`](super::JobStore::wakeups).
#[derive(Debug, Clone, Copy, Default)]
pub struct PollingOnly;

impl JobWakeups for PollingOnly {}

#[cfg(feature = "sqlite")]
impl JobWakeups for super::sqlite::SqliteStore {}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::store::JobStore;
    use crate::store::sqlite::{SqliteOptions, SqliteStore};

    #[tokio::test]
    async fn sqlite_polls() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("w.db"), SqliteOptions::default()).await.unwrap();
        let wakeups = store.subscribe_wakeups(Arc::new(Notify::new())).await.unwrap();
        assert!(matches!(wakeups, Wakeups::Polling));
        let id = JobId("j".into());
        let through_the_trait = store.wakeups().subscribe_job_end(&id, Arc::new(Notify::new())).await;
        assert!(!through_the_trait.unwrap().is_push());
    }
}
