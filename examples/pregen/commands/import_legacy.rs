//! `pregen import-legacy --from <postgres URL>`: imports the old system's unused, unexpired exams from its
//! `public.pre_generated_exams` table (only read, never changed) into the Postgres store of `--db`, each
//! validated by the core validator and kept with its expiry; prints what was imported and what was skipped and
//! why. A second run imports nothing new (rows are remembered by their old id).

use crate::output::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The old database, as a postgres:// URL (it may be the store's own database).
    #[arg(long, value_name = "URL")]
    from: String,
}

#[cfg(feature = "postgres")]
pub(crate) async fn run(db: Option<&str>, args: Args) -> Result<Outcome, CliError> {
    use pregen_core::config::PreGenConfig;
    use pregen_core::store::StoreLocation;
    use pregen_core::store::postgres::{PgOptions, PgStore};

    use crate::output::json_of;

    let StoreLocation::Postgres(url) = StoreLocation::resolve(db) else {
        return Err(CliError::BadInput(
            "import-legacy imports into a Postgres store: give --db postgres://...".into(),
        ));
    };
    if !matches!(StoreLocation::parse(&args.from), StoreLocation::Postgres(_)) {
        return Err(CliError::BadInput("--from must be the old database's postgres:// URL".into()));
    }
    let policy = PreGenConfig::from_env().map_err(|e| CliError::BadInput(e.to_string()))?.policy;
    let store = PgStore::connect(&url, PgOptions { listen: false, ..PgOptions::default() }).await?;
    let report = store.import_legacy(&args.from, chrono::Utc::now(), &policy).await?;
    let mut body = json_of(&report)?;
    body["success"] = true.into();
    Ok(Outcome::ok(body))
}

#[cfg(not(feature = "postgres"))]
pub(crate) async fn run(_db: Option<&str>, _args: Args) -> Result<Outcome, CliError> {
    Err(CliError::BadInput("import-legacy needs a build with the `postgres` feature".into()))
}
