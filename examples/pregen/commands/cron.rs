//! `pregen cron`: one sweep (plan, enqueue, collect batches, generate within the budget, clean up), or the
//! in-process schedule with `--schedule [EXPR]` (without EXPR: `PREGEN_SCHEDULE`, default `0 */6 * * *`).
//!
//! One sweep prints the cron route's body and exits 0; a sweep with a step that could not run prints the
//! route's 500 body (`success: false`, the error's code and message, the stats) and exits 1.

use pregen_core::config::{PreGenOptions, SweepMode};
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

pub(crate) async fn run(db: Option<&str>, args: Args) -> Result<Outcome, CliError> {
    let sweep_mode = args.mode.as_deref().map(str::parse::<SweepMode>).transpose().map_err(CliError::BadInput)?;
    let (scheduled, expression) = match args.schedule {
        None => (false, None),
        Some(expression) => (true, expression),
    };
    if let Some(expression) = &expression {
        Schedule::parse(expression).map_err(|e| CliError::BadInput(e.to_string()))?;
    }
    let options = PreGenOptions {
        sweep_mode,
        sweep_budget_secs: args.budget.map(|secs| secs as f64),
        schedule: expression,
        ..PreGenOptions::new()
    };
    if !scheduled {
        let ctx = Context::open(db, Claude::FromEnv, options).await?;
        let answer = sweep_response(ctx.service.sweep().await);
        ctx.close().await;
        return Outcome::route(answer);
    }
    // Listen for Ctrl-C before anything is announced, so an early interrupt stops the schedule cleanly.
    let stop = interrupted()?;
    // Opening checks the schedule: a bad `PREGEN_SCHEDULE` is bad input that names itself.
    let ctx = Context::open(db, Claude::FromEnv, options).await?;
    let schedule = ctx.service.schedule().map_err(|e| CliError::BadInput(e.to_string()))?;
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
