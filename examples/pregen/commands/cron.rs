//! `pregen cron`: one sweep (plan, enqueue, collect batches, generate within the budget, clean up), or the
//! in-process schedule with `--schedule [EXPR]` (without EXPR: `PREGEN_SCHEDULE`, default `0 */6 * * *`).
//!
//! One sweep prints the cron route's body and exits 0; a sweep with a step that could not run prints the
//! route's 500 body (`success: false`, the error's code and message, the stats) and exits 1.

use std::path::Path;
use std::time::Duration;

use pregen_core::config::SweepMode;
use pregen_core::service::{Schedule, routes::sweep_response};
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
    /// Run sweeps on this cron expression (UTC) until Ctrl-C, e.g. "0 */6 * * *"; without an expression,
    /// on `PREGEN_SCHEDULE` (default "0 */6 * * *").
    #[arg(long, value_name = "EXPR")]
    schedule: Option<Option<String>>,
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
    let schedule = match args.schedule {
        None => None,
        Some(Some(expression)) => {
            Some(Schedule::parse(&expression).map_err(|e| CliError::BadInput(e.to_string()))?)
        }
        Some(None) => Some(
            Schedule::parse(&config.schedule).map_err(|e| CliError::BadInput(format!("PREGEN_SCHEDULE: {e}")))?,
        ),
    };
    let Some(schedule) = schedule else {
        let ctx = Context::open(db, Claude::FromEnv, config).await?;
        let answer = sweep_response(ctx.service.sweep().await);
        ctx.close().await;
        return Ok(Outcome::route(answer));
    };
    // Listen for Ctrl-C before anything is announced, so an early interrupt stops the schedule cleanly.
    let stop = interrupted()?;
    let ctx = Context::open(db, Claude::FromEnv, config).await?;
    let expression = schedule.expression().to_owned();
    ctx.service.clone().run_schedule(schedule, stop).await;
    ctx.close().await;
    Ok(Outcome::ok(json!({"success": true, "schedule": expression, "stopped": true})))
}

/// A future that completes on Ctrl-C (SIGINT), listening from the moment this returns.
fn interrupted() -> Result<impl Future<Output = ()>, CliError> {
    #[cfg(unix)]
    {
        let mut signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        Ok(async move {
            signal.recv().await;
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
