//! Test support for the Postgres tests: every test gets a database of its own, created on the server named by
//! `PREGEN_TEST_DATABASE_URL` (default: the local server as `postgres`) and dropped when the test ends, even when
//! it panics. Databases left by a test process that was killed are dropped by the next test that starts.
#![allow(dead_code, unreachable_pub)]

pub mod pgbouncer;

use std::sync::atomic::{AtomicU32, Ordering};

use pregen_core::store::postgres::tokio_postgres::{self, Client, NoTls};
use pregen_core::store::postgres::{PgOptions, PgStore};

/// The server the tests use, as a URL whose database is an existing one (`postgres`).
pub fn admin_url() -> String {
    std::env::var("PREGEN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Connects to `url`, driving the connection on the current runtime.
pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test Postgres (set PREGEN_TEST_DATABASE_URL): {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A database created for one test and dropped with it.
#[derive(Debug)]
pub struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    /// Creates an empty database with a name unique to this process and call.
    pub async fn create() -> Self {
        let admin = connect(&admin_url()).await;
        drop_abandoned(&admin).await;
        let name = format!(
            "pregen_t_{}_{}_{:08x}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        // A linguistic collation by default, as hosted Postgres has (en_US), so byte-order rules are exercised.
        let icu = format!(
            "CREATE DATABASE \"{name}\" LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' TEMPLATE template0"
        );
        if let Err(e) = admin.batch_execute(&icu).await {
            eprintln!("no ICU collation on the test server ({e}); using the server's default");
            admin.batch_execute(&format!("CREATE DATABASE \"{name}\"")).await.expect("create the test database");
        }
        let url = with_database(&admin_url(), &name);
        Self { name, url }
    }

    /// The database's URL (as the superuser of the test server).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A store on this database (migrated), with `connections` pooled connections.
    pub async fn store(&self, connections: usize) -> PgStore {
        PgStore::connect(&self.url, PgOptions { max_connections: connections, ..PgOptions::default() })
            .await
            .expect("connect the store")
    }

    /// A direct connection to this database as the superuser.
    pub async fn client(&self) -> Client {
        connect(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Its own thread and runtime: Drop may run inside a runtime (or while unwinding out of one).
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let admin = connect(&admin_url()).await;
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("dropping test database {} panicked", self.name),
        }
    }
}

/// Drops test databases whose creating process no longer runs (a test killed before its Drop ran).
async fn drop_abandoned(admin: &Client) {
    let rows = admin
        .query("SELECT datname FROM pg_database WHERE datname LIKE 'pregen\\_t\\_%'", &[])
        .await
        .expect("list test databases");
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if alive {
            continue;
        }
        if let Err(e) = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await {
            eprintln!("could not drop abandoned test database {name}: {e}");
        }
    }
}
