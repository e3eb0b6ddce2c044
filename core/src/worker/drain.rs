//! The serverless path: claim and run due jobs until none is due or the time budget is spent. Attempts still
//! running when the budget ends are stopped and handed back, so the next call picks them up at once.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::pool::{ShutdownReport, holder_name};
use super::runner::Runner;

/// What a drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainReport {
    /// Jobs claimed.
    pub claimed: u64,
    /// Attempts that succeeded.
    pub succeeded: u64,
    /// Attempts that failed.
    pub failed: u64,
    /// Attempts stopped by the budget and handed back.
    pub released: u64,
    /// Attempts whose lease was lost, or whose outcome could not be written.
    pub lost: u64,
    /// Whether the budget ended the drain (rather than running out of due jobs).
    pub budget_spent: bool,
}

/// Runs due jobs with `concurrency` at once until none is due or `budget` has passed.
pub async fn drain(runner: &Runner, budget: Duration, concurrency: usize, holder_prefix: &str) -> DrainReport {
    let end = Instant::now() + budget;
    let (_keep_open, never) = watch::channel(false);
    let base = holder_name(holder_prefix);
    let mut lanes = JoinSet::new();
    for i in 0..concurrency.max(1) {
        let (runner, holder, never) = (runner.clone(), format!("{base}:d{i}"), never.clone());
        lanes.spawn(async move {
            let (mut report, mut claimed) = (ShutdownReport::default(), 0u64);
            while Instant::now() < end {
                let jobs = match runner.claim(&holder, 1).await {
                    Ok(jobs) if !jobs.is_empty() => jobs,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!("[BGJob] drain could not claim: {e}");
                        break;
                    }
                };
                for job in jobs {
                    claimed += 1;
                    report.record(&runner.run(job, Some(end), never.clone()).await);
                }
            }
            (report, claimed)
        });
    }
    let mut total = DrainReport::default();
    while let Some(joined) = lanes.join_next().await {
        let Ok((r, claimed)) = joined else { continue };
        total.claimed += claimed;
        total.succeeded += r.succeeded;
        total.failed += r.failed;
        total.released += r.released;
        total.lost += r.lease_lost + r.store_failed;
    }
    total.budget_spent = Instant::now() >= end;
    tracing::info!("[BGJob] drain: {total:?}");
    total
}
