//! The store conformance suite on SQLite: every test runs on a file of its own in a temporary directory, and each
//! `open` is another store on that file, as another process would have.
#![cfg(feature = "sqlite")]

mod store_contract;

use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use store_contract::Backend;

/// A fresh database file, removed with its directory when the test ends.
struct Sqlite {
    dir: tempfile::TempDir,
}

impl Backend for Sqlite {
    type Store = SqliteStore;

    async fn open(&self) -> SqliteStore {
        SqliteStore::open(self.dir.path().join("contract.db"), SqliteOptions::default())
            .await
            .expect("open the store")
    }
}

fn sqlite() -> Sqlite {
    Sqlite { dir: tempfile::tempdir().expect("a temporary directory") }
}

store_contract_tests!(sqlite());
