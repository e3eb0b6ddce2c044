//! WAL checkpoints off the write path. SQLite's own automatic checkpoint runs inside the commit that pushes the
//! WAL past 1,000 pages, so one request in a few hundred paid for copying the WAL into the database and syncing
//! it (the get route's p99: 5.4 ms with it, 3.0 ms without, BENCHMARKS.md "Node addon and Next.js"). This
//! store's connections turn that off, and a thread of its own, with its own connection, runs a `PASSIVE`
//! checkpoint (which never blocks writers or readers) every [`COMMITS_PER_CHECKPOINT`] commits of the writer,
//! after [`IDLE_CHECKPOINT`] without one when anything was committed, and once more when the store closes. Other
//! processes' connections keep their own settings.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::thread;
use std::time::Duration;

use rusqlite::Connection;

use crate::store::StoreError;

/// Writer commits between two checkpoints. A get commits a handful of pages; SQLite's default is one checkpoint
/// per 1,000 WAL pages.
pub(crate) const COMMITS_PER_CHECKPOINT: u32 = 200;

/// The longest the WAL holds committed pages unchecked while the store is idle.
pub(crate) const IDLE_CHECKPOINT: Duration = Duration::from_secs(2);

/// The WAL size (pages) past which the writer checkpoints itself: four times SQLite's automatic threshold.
pub(crate) const WAL_LIMIT_PAGES: i64 = 4_000;

/// Checkpoint passes in a row while commits keep landing during each.
const CATCH_UP_PASSES: usize = 8;

/// The writer's handle: counts commits and wakes the checkpoint thread. Dropping it stops the thread after a last
/// checkpoint.
pub(crate) struct Checkpointer {
    wake: SyncSender<()>,
    commits: u32,
    /// The WAL's pages as the thread's last pass found them.
    wal_pages: Arc<AtomicI64>,
}

impl Checkpointer {
    /// Starts the checkpoint thread on `conn` (a connection of its own to the store's file).
    pub(crate) fn start(conn: Connection) -> Result<Self, StoreError> {
        let (wake, woken) = mpsc::sync_channel(1);
        let wal_pages = Arc::new(AtomicI64::new(0));
        let seen = Arc::clone(&wal_pages);
        thread::Builder::new()
            .name("pregen-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &woken, &seen))
            .map_err(|e| StoreError::Task(format!("could not start the checkpoint thread: {e}")))?;
        Ok(Self { wake, commits: 0, wal_pages })
    }

    /// Counts one commit of the writer on `writer` (its connection, between batches): every
    /// [`COMMITS_PER_CHECKPOINT`]th wakes the thread (never blocking); past [`WAL_LIMIT_PAGES`] the writer
    /// checkpoints at once itself, which no commit can race.
    pub(crate) fn committed(&mut self, writer: &Connection) {
        if self.wal_pages.load(Ordering::Relaxed) > WAL_LIMIT_PAGES {
            tracing::debug!("[Store] the WAL passed {WAL_LIMIT_PAGES} pages: the writer checkpoints it");
            if checkpoint(writer).is_some() {
                self.wal_pages.store(0, Ordering::Relaxed);
            }
        }
        self.commits += 1;
        if self.commits >= COMMITS_PER_CHECKPOINT {
            self.commits = 0;
            match self.wake.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
            }
        }
    }
}

/// Turns SQLite's automatic checkpoint off on `conn`: a store connection never checkpoints inside a commit.
pub(crate) fn leave_checkpoints_to_the_thread(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.pragma_update(None, "wal_autocheckpoint", 0)
}

fn run(conn: &Connection, woken: &mpsc::Receiver<()>, wal_pages: &AtomicI64) {
    loop {
        let last = match woken.recv_timeout(IDLE_CHECKPOINT) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        for _ in 0..CATCH_UP_PASSES {
            let Some((log, copied)) = checkpoint(conn) else { break };
            wal_pages.store(log, Ordering::Relaxed);
            if copied >= log {
                break;
            }
        }
        if last {
            return;
        }
    }
}

/// One `PASSIVE` checkpoint: copies what no reader still needs. Returns the WAL's pages and those copied; a
/// failure is logged and tried again next time.
fn checkpoint(conn: &Connection) -> Option<(i64, i64)> {
    let done =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)));
    match done {
        Ok((log, copied)) => {
            tracing::trace!("[Store] WAL checkpoint: {copied} of {log} pages copied");
            Some((log, copied))
        }
        Err(e) => {
            tracing::warn!("[Store] WAL checkpoint failed, trying again later: {e}");
            None
        }
    }
}
