//! The embedded SQLite backend: WAL mode and a busy timeout; reads on a small pool of connections run on tokio's
//! blocking threads, writes on one writer thread that commits concurrent calls together. The async threads never
//! wait on disk or locks.

mod activity;
mod bank;
mod batches;
mod checkpointer;
mod checkpoints;
mod exams;
mod job_rows;
mod jobs;
mod migrations;
mod sql;
mod sql_bank;
mod writer;

pub use rusqlite;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode as SqliteCode, OpenFlags};
use tokio::sync::Semaphore;

use super::StoreError;

/// How to open a SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Read connections in the pool; reads beyond this wait asynchronously for a free one. Writes have one more
    /// connection of their own.
    pub connections: usize,
    /// How long a statement waits for another connection's write lock before failing with `store.busy`.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self { connections: 4, busy_timeout: Duration::from_secs(10) }
    }
}

/// A SQLite database file holding exams, user activity and (with the queue) jobs. Cheap to clone; clones share
/// the pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Pool>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
    /// SQLite has one writer at a time: this process's writes queue for one thread instead of meeting in
    /// SQLite's busy handler, which sleeps in growing steps; other processes still meet the busy timeout.
    writer: writer::Writer,
}

/// Returns a borrowed connection to the pool even if the call using it panics.
struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, applies pending migrations, and fills the pool.
    pub async fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if options.connections == 0 {
            return Err(StoreError::invalid("connections", "must be at least 1"));
        }
        let opened_path = path.clone();
        let conns = tokio::task::spawn_blocking(move || -> Result<Vec<Connection>, StoreError> {
            let first = first_connection(&opened_path, options.busy_timeout)?;
            let mut conns = vec![first, connect(&opened_path, options.busy_timeout)?];
            for _ in 0..options.connections {
                conns.push(connect(&opened_path, options.busy_timeout)?);
            }
            Ok(conns)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
        let mut conns = conns;
        let writer_conn = conns.remove(0);
        let checkpoints = checkpointer::Checkpointer::start(conns.remove(0))?;
        let writer = writer::Writer::start(writer_conn, checkpoints)?;
        let permits = Semaphore::new(conns.len());
        Ok(Self { inner: Arc::new(Pool { path, idle: Mutex::new(conns), permits, writer }) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the writer connection, atomically: the escape
    /// hatch for a caller's own queries (reports, fixtures, baselines in benches). The schema is the one in this
    /// module's migrations.
    pub async fn with_connection<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.with_writer(f).await
    }

    /// Runs a call that writes on the writer thread, atomically, and returns once it is committed.
    pub(crate) async fn with_writer<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.inner.writer.write(f).await
    }

    /// Runs `f` with a pooled connection on a blocking thread.
    pub(crate) async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self.inner.permits.acquire().await.map_err(|e| StoreError::Task(e.to_string()))?;
        let pool = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let conn = pool.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut lease = Lease { pool: &pool, conn };
            let conn = lease.conn.as_mut().ok_or_else(|| StoreError::Task("connection pool is empty".into()))?;
            f(conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// The first connection of a store, with the schema migrated. SQLite answers some lock conflicts of a new file at
/// once instead of waiting out the busy timeout (two connections that both read the file in rollback mode and
/// then both need to write it, as when several processes switch a new file to WAL and migrate it together): those
/// are tried again, with short pauses, until the busy timeout is spent.
fn first_connection(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let deadline = std::time::Instant::now() + busy_timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        let attempt = connect(path, busy_timeout).and_then(|mut conn| {
            migrations::migrate(&mut conn)?;
            Ok(conn)
        });
        match attempt {
            Err(StoreError::Busy(_)) if std::time::Instant::now() + pause < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            done => return done,
        }
    }
}

fn connect(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(db_error)?;
    conn.busy_timeout(busy_timeout).map_err(db_error)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(db_error)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Database(format!("could not enable WAL mode (got {mode})")));
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;").map_err(db_error)?;
    checkpointer::leave_checkpoints_to_the_thread(&conn).map_err(db_error)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Maps a SQLite error to the store's codes: lock contention is retryable, constraint violations are conflicts.
pub fn db_error(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(SqliteCode::DatabaseBusy | SqliteCode::DatabaseLocked) => StoreError::Busy(e.to_string()),
        Some(SqliteCode::ConstraintViolation) => StoreError::Conflict(e.to_string()),
        _ => StoreError::Database(e.to_string()),
    }
}

/// Milliseconds since the Unix epoch, the unit every time column uses.
pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The inverse of [`to_ms`]; out-of-range values are corrupt rows.
pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}
