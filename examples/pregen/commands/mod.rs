//! One module per subcommand.

pub(crate) mod cleanup;
pub(crate) mod get;
pub(crate) mod stats;
pub(crate) mod validate;

use std::path::Path;

use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};

use crate::output::CliError;

/// Opens the store at `db` with the default options.
pub(crate) async fn open_store(db: &Path) -> Result<SqliteStore, CliError> {
    Ok(SqliteStore::open(db, SqliteOptions::default()).await?)
}
