//! `pregen work`: work due jobs — for a budget (the serverless way), or as a worker pool until Ctrl-C.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::context::{Claude, Context};
use crate::output::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Seconds to work before returning; without it, run a worker pool until Ctrl-C.
    #[arg(long)]
    budget: Option<u64>,
    /// Jobs worked at once.
    #[arg(long, default_value_t = 4)]
    workers: usize,
}

pub(crate) async fn run(db: &Path, args: Args) -> Result<Outcome, CliError> {
    let mut config = pregen_core::config::PreGenConfig::from_env();
    config.sweep.concurrency = args.workers.max(1);
    config.pool.workers = args.workers.max(1);
    let ctx = Context::open(db, Claude::FromEnv, config).await?;
    let body = match args.budget {
        Some(secs) => {
            let report = ctx.service.drain(Duration::from_secs(secs)).await;
            json!({"success": true, "drain": report?})
        }
        None => {
            ctx.service.start_workers()?;
            tracing::info!("[BGJob] working until Ctrl-C");
            tokio::signal::ctrl_c().await?;
            let report = ctx.service.shutdown(Duration::from_secs(30)).await;
            json!({"success": true, "shutdown": {
                "succeeded": report.succeeded, "failed": report.failed, "released": report.released,
                "leaseLost": report.lease_lost, "storeFailed": report.store_failed}})
        }
    };
    ctx.close().await;
    Ok(Outcome::ok(body))
}
