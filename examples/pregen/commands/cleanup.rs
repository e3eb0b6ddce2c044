//! `pregen cleanup`: bounded deletion of expired exams, used exams past their retention, and old jobs.

use std::path::Path;

use pregen_core::store::{DEFAULT_CLEANUP_BATCH, ExamStore, JobStore};
use serde_json::json;

use crate::context::{Claude, Context};
use crate::output::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Rows deleted per statement at most.
    #[arg(long, default_value_t = DEFAULT_CLEANUP_BATCH)]
    batch: u32,
}

pub(crate) async fn run(db: &Path, args: Args) -> Result<Outcome, CliError> {
    let ctx = Context::open(db, Claude::FromEnv, pregen_core::config::PreGenConfig::from_env()).await?;
    let now = chrono::Utc::now();
    let config = ctx.service.config();
    let exams = ctx.store.cleanup(now, &config.policy, args.batch).await?;
    let jobs = ctx.store.cleanup_jobs(now, &config.queue.retention, args.batch).await?;
    tracing::info!("[Cron] cleanup deleted {} exams and {jobs} jobs in {} batches", exams.total(), exams.batches);
    ctx.close().await;
    Ok(Outcome::ok(json!({"success": true, "deleted": exams.total(), "cleanup": exams, "jobsDeleted": jobs})))
}
