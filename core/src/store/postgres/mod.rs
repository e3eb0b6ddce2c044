//! The Postgres backend: the production store for several instances sharing one database, with the Supabase
//! schema of `supabase/migrations/` (applied on connect, see [`migrate`]).
//!
//! **Claims and fencing.** Every claim (an exam, due jobs, open batches) is one statement whose inner select takes
//! its rows `FOR UPDATE SKIP LOCKED`, so concurrent claimers in any process never wait on each other and never
//! take the same row. One unfinished job per (user, type) is a partial unique index; every write to a running job
//! names its holder and attempt in the `WHERE` clause, so a worker whose lease was taken over changes nothing. An
//! exam and its job's success are written in one transaction, and the exam's `job_id` is unique.
//!
//! **Statements and poolers.** Each statement is prepared once per connection with its parameter types and kept
//! (deadpool's statement cache), which spares the server parsing and planning it at every call (about a fifth of
//! its time in the queue bench). Behind a transaction pooler (Supabase's port 6543, PgBouncer in transaction mode)
//! a statement prepared on one server connection is not there on the next, so there ([`PgOptions::prepare`] off,
//! or `pregen_pooler=transaction` in the URL) statements go out unnamed with their types (`query_typed`) and
//! nothing is prepared by name. Either way no session state is set (no `SET`, no session advisory lock; the
//! migration lock is transaction-scoped), and only built-in types cross the wire, so the driver never looks a type
//! up with a prepared query of its own.
//!
//! **Time and clock skew.** Every instant is the application's clock, bound as a parameter (rounded down to the
//! millisecond, as SQLite stores it); no statement reads the database's `now()`, so tests move time and the two
//! backends agree. With several hosts, each host's clock judges its own calls, and a skew of `d` between hosts
//! costs this much: a host whose clock runs `d` ahead sees a lease expire `d` early. A live holder renews its lease
//! to `lease_duration` (60 s) ahead at every heartbeat (15 s), so another host can only take the job over while
//! its holder still works if `d` exceeds `lease_duration - heartbeat_interval` (45 s); and even then the fence
//! refuses the old holder's writes, so the cost is duplicated work, never a second exam or a lost one. The same
//! `d` moves exam expiry (7 days), the stock margin, backoff due times and cleanup cut-offs by `d`, and may order
//! two exams stored within `d` of each other by different hosts the other way round. NTP keeps `d` in
//! milliseconds; keep the lease at least a few heartbeats long.
//!
//! **Errors.** A serialization failure (40001) and a deadlock (40P01) are retryable errors with their own codes;
//! a lost connection is `store.unavailable` (retryable): the server rolls back whatever transaction it was in,
//! so nothing half-written remains, and the pool drops the dead connection.

mod activity;
mod bank;
mod batches;
mod checkpoints;
mod coalesce;
mod exams;
mod jobs;
pub mod legacy;
mod listen;
pub mod migrate;
mod planning;
mod shared_writes;
mod sql;
mod sql_bank;
mod tls;
mod url;

pub use deadpool_postgres;
pub use listen::{JOB_ENDS_CHANNEL, JOBS_CHANNEL, LISTENER_APPLICATION};
pub use tokio_postgres;
pub use url::{LISTEN_PARAM, POOLER_PARAM, PREPARE_PARAM};

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime, StatementCache,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{GenericClient, Row, Statement};

use self::sql::Sql;
use super::StoreError;

/// How to connect to a Postgres store.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections in the pool; calls beyond this wait for a free one (up to `wait_timeout`).
    pub max_connections: usize,
    /// How long opening one connection may take.
    pub connect_timeout: Duration,
    /// How long a call waits for a free pooled connection before failing with `store.busy`.
    pub wait_timeout: Duration,
    /// Whether connecting applies pending migrations (on by default; off for a role without DDL rights).
    pub migrate: bool,
    /// Whether wake-ups are pushed by `LISTEN` on a session of their own (on by default). Turn it off behind a
    /// transaction pooler, where a session does not last: workers then poll. The URL parameter
    /// `pregen_listen=off` (or `on`) overrides it, and `pregen_pooler=transaction` turns it off.
    pub listen: bool,
    /// Whether statements are prepared once per connection and reused, sparing the server a parse and a plan per
    /// call. `None` (the default) follows [`PgOptions::listen`]: prepared where a session lasts, unnamed where it
    /// does not (behind a transaction pooler that does not carry prepared statements between server connections:
    /// Supavisor's transaction mode; PgBouncer before 1.21 or with `max_prepared_statements = 0`). The URL
    /// parameter `pregen_prepare=off` (or `on`) overrides it, and `pregen_pooler=transaction` turns it off.
    pub prepare: Option<bool>,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(10),
            wait_timeout: Duration::from_secs(30),
            migrate: true,
            listen: true,
            prepare: None,
        }
    }
}

/// A Postgres database holding exams, user activity, jobs and batches, shared by any number of processes. Cheap
/// to clone; clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// The wake-up listener shared by every clone, `None` when wake-ups are not pushed (see
    /// [`PgOptions::listen`]).
    listener: Option<std::sync::Arc<listen::Listener>>,
    /// Enqueues waiting to share a statement, shared by every clone.
    enqueues: std::sync::Arc<coalesce::Coalescer<PgStore, jobs::Wanted, super::Enqueued>>,
    /// Decisions of finishing attempts waiting to share a statement, shared by every clone.
    finishes: std::sync::Arc<coalesce::Coalescer<PgStore, shared_writes::Finish, crate::queue::Job>>,
    /// Whether statements are prepared once per connection (see [`PgOptions::prepare`]).
    prepare: bool,
    /// Where it connects, without the password, for Debug and logs.
    target: String,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore").field("target", &self.target).finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`), checks one connection, and
    /// applies pending migrations unless `options.migrate` is off. The password never appears in errors.
    pub async fn connect(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        if options.max_connections == 0 {
            return Err(StoreError::invalid("maxConnections", "must be at least 1"));
        }
        let (url, settings) = url::take_settings(url)?;
        let listen = settings.listen.unwrap_or(options.listen);
        let prepare = settings.prepare.or(options.prepare).unwrap_or(listen);
        let (url, tls) = tls::TlsSettings::take(&url)?;
        let mut config = tokio_postgres::Config::from_str(&url)
            .map_err(|e| StoreError::invalid("database URL", format!("not a Postgres URL ({e})")))?;
        config.ssl_mode(tls.ssl_mode());
        let connector = tls.connector()?;
        if config.get_application_name().is_none() {
            config.application_name("pregen");
        }
        config.connect_timeout(options.connect_timeout);
        let target = describe(&config);
        let manager = Manager::from_config(
            config.clone(),
            connector.clone(),
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections)
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(options.connect_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Database(format!("could not build the connection pool: {e}")))?;
        let listener = listen.then(|| {
            std::sync::Arc::new(listen::Listener::new(config.clone(), connector.clone(), target.clone()))
        });
        let enqueues = coalesce::Coalescer::new(shared_writes::enqueue_batch);
        let finishes = coalesce::Coalescer::new(shared_writes::finish_batch);
        let store = Self { pool, listener, enqueues, finishes, prepare, target };
        if options.migrate {
            store.migrate().await?;
        } else {
            drop(store.client().await?);
        }
        Ok(store)
    }

    /// Applies the migrations of `supabase/migrations/` this database lacks (see [`migrate`]).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        migrate::migrate(&mut conn, Utc::now()).await
    }

    /// A pooled connection, for a caller's own queries (reports, fixtures, tests). The schema is `pregen`.
    pub async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// A pooled connection for one store call.
    pub(crate) async fn conn(&self) -> Result<Conn, StoreError> {
        let object = self.client().await?;
        let statements = self.prepare.then(|| std::sync::Arc::clone(&object.statement_cache));
        Ok(Conn { object: Some(object), statements, broken: AtomicBool::new(false) })
    }

    /// Host, port and database name, without user or password.
    pub fn target(&self) -> &str {
        &self.target
    }
}

fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or(""))
}

fn pool_error(e: PoolError) -> StoreError {
    match e {
        PoolError::Timeout(_) => StoreError::Busy("no database connection became free in time".into()),
        PoolError::Backend(e) => db_error(e),
        PoolError::Closed => StoreError::Unavailable("the connection pool is closed".into()),
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// Maps a Postgres error to the store's codes: contention is retryable with its own code, constraint violations
/// are conflicts, a lost or refused connection is `store.unavailable`.
pub fn db_error(e: tokio_postgres::Error) -> StoreError {
    classify(&e)
}

fn classify(e: &tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let text = format!("{} ({})", db.message(), db.code().code());
        let code = db.code();
        return if *code == SqlState::T_R_SERIALIZATION_FAILURE {
            StoreError::SerializationFailure(text)
        } else if *code == SqlState::T_R_DEADLOCK_DETECTED {
            StoreError::Deadlock(text)
        } else if [
            SqlState::UNIQUE_VIOLATION,
            SqlState::FOREIGN_KEY_VIOLATION,
            SqlState::CHECK_VIOLATION,
            SqlState::NOT_NULL_VIOLATION,
            SqlState::EXCLUSION_VIOLATION,
        ]
        .contains(code)
        {
            StoreError::Conflict(text)
        } else if [SqlState::LOCK_NOT_AVAILABLE, SqlState::QUERY_CANCELED, SqlState::TOO_MANY_CONNECTIONS]
            .contains(code)
        {
            StoreError::Busy(text)
        } else if code.code().starts_with("08")
            || [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW].contains(code)
        {
            StoreError::Unavailable(text)
        } else {
            StoreError::Database(text)
        };
    }
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    let tls = e.to_string().contains("TLS");
    let text = with_causes(e);
    if e.is_closed() || io || tls { StoreError::Unavailable(text) } else { StoreError::Database(text) }
}

/// The error's text followed by its causes' (`error performing TLS handshake: invalid peer certificate: ...`), so
/// the reason a connection failed reaches the operator.
fn with_causes(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = c.source();
    }
    text
}

/// An instant as stored: rounded down to the millisecond, as SQLite keeps it, so both backends hand back the same
/// values.
pub(crate) fn at(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// A pooled connection lent to one store call. A statement that finds the connection lost marks it broken, and
/// a broken connection is dropped instead of going back to the pool, so the next call does not meet it.
pub(crate) struct Conn {
    object: Option<Object>,
    /// The connection's prepared statements, `None` when statements go out unnamed.
    statements: Option<std::sync::Arc<StatementCache>>,
    broken: AtomicBool,
}

impl Conn {
    fn client(&self) -> &tokio_postgres::Client {
        self.object.as_deref().map(|wrapper| &**wrapper).expect("a connection is held until drop")
    }

    /// Starts a read-write transaction (read committed).
    pub(crate) async fn transaction(&mut self) -> Result<Tx<'_>, StoreError> {
        self.start(false).await
    }

    /// Starts a read-only repeatable-read transaction: several reads that see one snapshot.
    pub(crate) async fn snapshot(&mut self) -> Result<Tx<'_>, StoreError> {
        self.start(true).await
    }

    async fn start(&mut self, snapshot: bool) -> Result<Tx<'_>, StoreError> {
        let Conn { object, statements, broken } = self;
        let client: &mut tokio_postgres::Client = object.as_deref_mut().expect("a connection is held until drop");
        let mut builder = client.build_transaction();
        if snapshot {
            builder = builder.isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).read_only(true);
        }
        let started = builder.start().await.map_err(db_error);
        let tx = settle(broken, started)?;
        Ok(Tx { tx, statements: statements.as_deref(), broken })
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if *self.broken.get_mut()
            && let Some(object) = self.object.take()
        {
            drop(Object::take(object));
        }
    }
}

/// A transaction on a [`Conn`]; dropped without [`Tx::commit`], it rolls back.
pub(crate) struct Tx<'a> {
    tx: tokio_postgres::Transaction<'a>,
    statements: Option<&'a StatementCache>,
    broken: &'a AtomicBool,
}

impl Tx<'_> {
    /// Commits.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        let committed = self.tx.commit().await.map_err(db_error);
        settle(self.broken, committed)
    }

    /// Runs statements without parameters through the simple protocol (migrations).
    pub(crate) async fn batch_execute(&self, statements: &str) -> Result<(), tokio_postgres::Error> {
        let done = self.tx.batch_execute(statements).await;
        if done.as_ref().is_err_and(|e| matches!(classify(e), StoreError::Unavailable(_))) {
            self.broken.store(true, Ordering::Relaxed);
        }
        done
    }
}

/// A connection or a transaction that statements run on, which remembers a lost connection.
pub(crate) trait Db: Sync {
    /// The driver's handle.
    type Client: GenericClient + Sync;
    /// The handle statements run on.
    fn handle(&self) -> &Self::Client;
    /// The connection's client, which prepares statements.
    fn connection(&self) -> &tokio_postgres::Client;
    /// The connection's prepared statements, `None` when statements go out unnamed.
    fn statements(&self) -> Option<&StatementCache>;
    /// Whether statements run inside an explicit transaction (which a failed statement aborts).
    fn in_transaction(&self) -> bool;
    /// Set when a statement found the connection lost.
    fn broken(&self) -> &AtomicBool;
}

impl Db for Conn {
    type Client = tokio_postgres::Client;

    fn handle(&self) -> &tokio_postgres::Client {
        self.client()
    }

    fn connection(&self) -> &tokio_postgres::Client {
        self.client()
    }

    fn statements(&self) -> Option<&StatementCache> {
        self.statements.as_deref()
    }

    fn in_transaction(&self) -> bool {
        false
    }

    fn broken(&self) -> &AtomicBool {
        &self.broken
    }
}

impl<'a> Db for Tx<'a> {
    type Client = tokio_postgres::Transaction<'a>;

    fn handle(&self) -> &tokio_postgres::Transaction<'a> {
        &self.tx
    }

    fn connection(&self) -> &tokio_postgres::Client {
        self.tx.client()
    }

    fn statements(&self) -> Option<&StatementCache> {
        self.statements
    }

    fn in_transaction(&self) -> bool {
        true
    }

    fn broken(&self) -> &AtomicBool {
        self.broken
    }
}

/// Marks the connection broken when `result` says it was lost.
fn settle<T>(broken: &AtomicBool, result: Result<T, StoreError>) -> Result<T, StoreError> {
    if matches!(result, Err(StoreError::Unavailable(_))) {
        broken.store(true, Ordering::Relaxed);
    }
    result
}

/// Pairs `values` with the statement's parameter types; a count that differs is a bug caught here, not by the
/// server.
fn typed<'a>(
    sql: &Sql,
    values: &[&'a (dyn ToSql + Sync)],
) -> Result<Vec<(&'a (dyn ToSql + Sync), Type)>, StoreError> {
    if values.len() != sql.types.len() {
        return Err(StoreError::Database(format!(
            "statement takes {} parameters, {} given",
            sql.types.len(),
            values.len()
        )));
    }
    Ok(values.iter().zip(sql.types).map(|(v, t)| (*v, t.clone())).collect())
}

/// The statement `sql` prepared on `db`'s connection (once per connection), or `None` where statements go out
/// unnamed.
async fn prepared(db: &impl Db, sql: &Sql) -> Result<Option<Statement>, tokio_postgres::Error> {
    let Some(cache) = db.statements() else { return Ok(None) };
    cache.prepare_typed(db.connection(), sql.text, sql.types).await.map(Some)
}

/// Whether `e` says the connection's kept statements no longer match the server: a statement whose result the
/// schema changed under it (another process migrated; Postgres refuses to run the old plan), or one the server
/// does not have (a transaction pooler handed the call to another server connection).
fn kept_statement_lost(e: &tokio_postgres::Error) -> bool {
    let Some(db) = e.as_db_error() else { return false };
    (*db.code() == SqlState::FEATURE_NOT_SUPPORTED && db.routine() == Some("RevalidateCachedQuery"))
        || *db.code() == SqlState::INVALID_SQL_STATEMENT_NAME
}

/// The store error for a failed statement; a statement the server lacks says how to stop preparing.
fn statement_error(e: &tokio_postgres::Error) -> StoreError {
    match classify(e) {
        StoreError::Database(text)
            if e.as_db_error().is_some_and(|d| *d.code() == SqlState::INVALID_SQL_STATEMENT_NAME) =>
        {
            StoreError::Database(format!(
                "{text}; prepared statements do not last here (a transaction pooler?): add \
                 {}=transaction to the database URL",
                url::POOLER_PARAM
            ))
        }
        other => other,
    }
}

/// Runs `sql` with `values` through `db`'s kept statement when statements are prepared, else unnamed. When the
/// kept statements no longer match the server they are all dropped, to be prepared again, and outside a
/// transaction the call is tried once more (inside one the server has aborted it, so the error goes back).
macro_rules! run_statement {
    ($db:expr, $sql:expr, $values:expr, $prepared:ident, $unnamed:ident) => {{
        let (db, sql, values) = ($db, $sql, $values);
        let typed = typed(sql, values)?;
        let mut retried = false;
        loop {
            let result = match prepared(db, sql).await {
                Ok(Some(statement)) => db.handle().$prepared(&statement, values).await,
                Ok(None) => db.handle().$unnamed(sql.text, &typed).await,
                Err(e) => Err(e),
            };
            match result {
                Err(e) if db.statements().is_some() && kept_statement_lost(&e) => {
                    if let Some(cache) = db.statements() {
                        cache.clear();
                    }
                    if retried || db.in_transaction() {
                        break settle(db.broken(), Err(statement_error(&e)));
                    }
                    retried = true;
                }
                result => break settle(db.broken(), result.map_err(|e| statement_error(&e))),
            }
        }
    }};
}

/// Runs `sql` with `values` and returns its rows.
pub(crate) async fn query(
    db: &impl Db,
    sql: &Sql,
    values: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    run_statement!(db, sql, values, query, query_typed)
}

/// Runs `sql` and returns its one row, or `None`.
pub(crate) async fn query_opt(
    db: &impl Db,
    sql: &Sql,
    values: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    run_statement!(db, sql, values, query_opt, query_typed_opt)
}

/// Runs `sql`, which returns exactly one row.
pub(crate) async fn query_one(db: &impl Db, sql: &Sql, values: &[&(dyn ToSql + Sync)]) -> Result<Row, StoreError> {
    run_statement!(db, sql, values, query_one, query_typed_one)
}

/// Runs `sql` and returns how many rows it changed.
pub(crate) async fn execute(db: &impl Db, sql: &Sql, values: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
    run_statement!(db, sql, values, execute, execute_typed)
}

/// Reads column `i` of `row`; a type mismatch is a corrupt row.
pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, StoreError> {
    row.try_get(i).map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

/// A count column as `u64`.
pub(crate) fn count(row: &Row, i: usize) -> Result<u64, StoreError> {
    Ok(u64::try_from(get::<i64>(row, i)?).unwrap_or(0))
}

#[cfg(test)]
mod tests;
