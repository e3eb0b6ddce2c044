//! WAL checkpoints off the write path. SQLite's own automatic checkpoint runs inside the commit that pushes the
//! WAL past 1,000 pages, so one request in a few hundred paid for copying the WAL into the database and syncing
//! it (the get route's p99: 5.4 ms with it, 3.0 ms without, BENCHMARKS.md "Node addon and Next.js"). This
//! store's connections turn that off. The writer's connection reports the WAL's size after each commit (SQLite's
//! WAL hook); past [`WAKE_AT_PAGES`] it wakes a thread of its own, with its own connection, that runs `PASSIVE`
//! checkpoints (which never block writers or readers), repeating a pass while commits landed during the last one
//! so the WAL is fully copied and SQLite starts it over. The thread also checkpoints after [`IDLE_CHECKPOINT`]
//! without one if anything was committed, and once more when the store closes. Under writes so steady that it
//! never catches up, the writer checkpoints once itself (between two batches) when the WAL passes
//! [`WAL_LIMIT_PAGES`], so the WAL stays bounded. Other processes' connections keep their own settings.

use std::cell::Cell;
use std::os::raw::c_int;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::thread;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::hooks::Wal;

use crate::store::StoreError;

/// WAL pages after a commit at which the thread is woken: SQLite's own automatic threshold.
pub(crate) const WAKE_AT_PAGES: i64 = 1_000;

/// The longest the WAL holds committed pages unchecked while the store is idle.
pub(crate) const IDLE_CHECKPOINT: Duration = Duration::from_secs(2);

/// The WAL size (pages) past which the writer checkpoints itself: four times SQLite's automatic threshold.
pub(crate) const WAL_LIMIT_PAGES: i64 = 4_000;

/// Checkpoint passes in a row while commits keep landing during each.
const CATCH_UP_PASSES: usize = 8;

thread_local! {
    /// The WAL's pages after the last commit on this thread's connection, as SQLite's WAL hook reports them (the
    /// writer is the only connection committing on its thread).
    static WAL_PAGES: Cell<i64> = const { Cell::new(0) };
}

/// SQLite's WAL hook: records the WAL's size after a commit.
fn record_wal_pages(_wal: &Wal, pages: c_int) -> rusqlite::Result<()> {
    WAL_PAGES.with(|p| p.set(i64::from(pages)));
    Ok(())
}

/// The writer's handle: reads the WAL's size after each commit and wakes the checkpoint thread. Dropping it stops
/// the thread after a last checkpoint.
pub(crate) struct Checkpointer {
    wake: SyncSender<()>,
    /// Whether anything was committed since the thread's last pass.
    dirty: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Starts the checkpoint thread on `conn` (a connection of its own to the store's file).
    pub(crate) fn start(conn: Connection) -> Result<Self, StoreError> {
        let (wake, woken) = mpsc::sync_channel(1);
        let dirty = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&dirty);
        thread::Builder::new()
            .name("pregen-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &woken, &seen))
            .map_err(|e| StoreError::Task(format!("could not start the checkpoint thread: {e}")))?;
        Ok(Self { wake, dirty })
    }

    /// Registers the WAL hook on the writer's connection; call on the writer's thread.
    pub(crate) fn watch(writer: &Connection) {
        writer.wal_hook(Some(record_wal_pages));
    }

    /// After a commit of the writer on `writer` (its connection, on its thread, between batches): past
    /// [`WAKE_AT_PAGES`] the thread is woken (never blocking); past [`WAL_LIMIT_PAGES`] the writer checkpoints at
    /// once itself, which no commit can race.
    pub(crate) fn committed(&mut self, writer: &Connection) {
        self.dirty.store(true, Ordering::Release);
        let pages = WAL_PAGES.with(Cell::get);
        if pages > WAL_LIMIT_PAGES {
            tracing::debug!("[Store] the WAL passed {WAL_LIMIT_PAGES} pages: the writer checkpoints it");
            if let Some((log, copied)) = checkpoint(writer) {
                WAL_PAGES.with(|p| p.set(log - copied));
            }
        } else if pages >= WAKE_AT_PAGES {
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

fn run(conn: &Connection, woken: &mpsc::Receiver<()>, dirty: &AtomicBool) {
    loop {
        let last = match woken.recv_timeout(IDLE_CHECKPOINT) {
            Ok(()) => false,
            Err(RecvTimeoutError::Timeout) if dirty.load(Ordering::Acquire) => false,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        dirty.store(false, Ordering::Release);
        for _ in 0..CATCH_UP_PASSES {
            match checkpoint(conn) {
                Some((log, copied)) if copied < log => {}
                _ => break,
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
