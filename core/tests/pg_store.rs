//! The store conformance suite on Postgres: every test runs on a database of its own, created and dropped here.
#![cfg(feature = "postgres")]

mod pg_support;
mod store_contract;

use pregen_core::store::postgres::{PgOptions, PgStore};
use store_contract::Backend;

/// A fresh database; each `open` is a new pool on it, as another process would have.
struct Pg {
    db: pg_support::TestDb,
}

impl Backend for Pg {
    type Store = PgStore;

    async fn open(&self) -> PgStore {
        PgStore::connect(self.db.url(), PgOptions { max_connections: 4, ..PgOptions::default() })
            .await
            .expect("connect the store")
    }
}

async fn pg() -> Pg {
    Pg { db: pg_support::TestDb::create().await }
}

store_contract_tests!(pg().await);
