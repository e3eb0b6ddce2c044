//! `pregen cron`: one sweep (plan, enqueue, collect batches, generate within the budget, clean up), or the
//! in-process schedule with `--schedule`.

use std::path::Path;
use std::time::Duration;

use pregen_core::config::SweepMode;
use pregen_core::service::Schedule;
use serde_json::json;

use crate::context::{Claude, Context};
use crate::output::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// `direct` (work within the budget) or `batch` (send a Message Batch, collect on a later sweep).
    #[arg(long)]
    mode: Option<String>,
    /// Seconds a direct sweep may work.
    #[arg(long)]
    budget: Option<u64>,
    /// Run sweeps on this cron expression (UTC) until Ctrl-C, e.g. "0 */6 * * *".
    #[arg(long)]
    schedule: Option<String>,
}

pub(crate) async fn run(db: &Path, args: Args) -> Result<Outcome, CliError> {
    let mut config = pregen_core::config::PreGenConfig::from_env();
    match args.mode.as_deref() {
        None => {}
        Some("direct") => config.sweep.mode = SweepMode::Direct,
        Some("batch") => config.sweep.mode = SweepMode::Batch,
        Some(other) => return Err(CliError::BadInput(format!("unknown mode {other:?}: direct or batch"))),
    }
    if let Some(secs) = args.budget {
        config.sweep.budget = Duration::from_secs(secs);
    }
    let schedule = args
        .schedule
        .as_deref()
        .map(Schedule::parse)
        .transpose()
        .map_err(|e| CliError::BadInput(e.to_string()))?;
    let ctx = Context::open(db, Claude::FromEnv, config).await?;
    let body = match schedule {
        Some(schedule) => {
            let expression = schedule.expression().to_owned();
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            ctx.service.clone().run_schedule(schedule, stop).await;
            json!({"success": true, "schedule": expression, "stopped": true})
        }
        None => json!({"success": true, "stats": ctx.service.sweep().await?}),
    };
    ctx.close().await;
    Ok(Outcome::ok(body))
}
