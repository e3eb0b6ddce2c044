//! `pregen cleanup`: bounded deletion of expired and retained-too-long exams.

use std::path::Path;

use pregen_core::policy::Policy;
use pregen_core::store::{DEFAULT_CLEANUP_BATCH, ExamStore};
use serde_json::json;

use crate::output::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Rows deleted per statement at most.
    #[arg(long, default_value_t = DEFAULT_CLEANUP_BATCH)]
    batch: u32,
}

pub(crate) async fn run(db: &Path, args: Args) -> Result<Outcome, CliError> {
    let store = super::open_store(db).await?;
    let report = store.cleanup(chrono::Utc::now(), &Policy::default(), args.batch).await?;
    tracing::info!("[Cron] cleanup deleted {} exams in {} batches", report.total(), report.batches);
    Ok(Outcome::ok(json!({"success": true, "deleted": report.total(), "cleanup": report})))
}
