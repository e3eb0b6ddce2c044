//! The serverless path: claim and run due jobs until none is due or the time budget is spent. Attempts still
//! running when the budget ends are stopped and handed back, so the next call picks them up at once.
//!
//! A drain whose store fails (a claim refused, an outcome that could not be written) says so in its report:
//! [`DrainReport::store_failures`] counts them apart from lost leases, and [`DrainReport::error`] keeps the first
//! failure's code and message, so a budgeted `work` or `cron` can report failure instead of success.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::pool::holder_name;
use super::runner::{RunOutcome, Runner};
use crate::error::ErrorCode;
use crate::store::StoreError;

/// The code of a failure to write a job's outcome (or hand a job back) to the store. The store's own message
/// follows in [`StoreFailure::message`]; the lease then expires and the job is retried.
pub const OUTCOME_NOT_RECORDED: &str = "worker.outcome_not_recorded";

/// One store failure met by a drain or a pool: a stable code and the store's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreFailure {
    /// A stable code: the store error's (`store.busy`, `store.database`, ...) for a refused claim,
    /// [`OUTCOME_NOT_RECORDED`] for an outcome that could not be written.
    pub code: &'static str,
    /// What the store said.
    pub message: String,
}

impl StoreFailure {
    /// A refused claim.
    pub fn claim(e: &StoreError) -> Self {
        Self { code: e.code(), message: format!("claiming due jobs failed: {e}") }
    }

    /// An outcome that could not be written.
    pub fn outcome(message: &str) -> Self {
        Self { code: OUTCOME_NOT_RECORDED, message: format!("a job's outcome could not be recorded: {message}") }
    }
}

impl fmt::Display for StoreFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

/// What a drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
    /// Attempts whose lease was lost to another holder (nothing written; not a failure of this drain).
    pub lease_lost: u64,
    /// Claims the store refused (each ends its lane of the drain).
    pub claim_errors: u64,
    /// Outcomes (or hand-backs) the store could not write; those jobs are retried once their lease expires.
    pub store_failed: u64,
    /// Whether the budget ended the drain (rather than running out of due jobs).
    pub budget_spent: bool,
    /// The first store failure, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<StoreFailure>,
}

impl DrainReport {
    /// Store failures of any kind: refused claims plus unwritten outcomes.
    pub fn store_failures(&self) -> u64 {
        self.claim_errors + self.store_failed
    }

    /// Whether the drain did its work: no store failure (lost leases and failed attempts are not failures of the
    /// drain; the queue retries those jobs).
    pub fn is_ok(&self) -> bool {
        self.store_failures() == 0
    }

    fn record(&mut self, outcome: &RunOutcome) {
        match outcome {
            RunOutcome::Succeeded(_) => self.succeeded += 1,
            RunOutcome::Failed(_) => self.failed += 1,
            RunOutcome::Released => self.released += 1,
            RunOutcome::LeaseLost => self.lease_lost += 1,
            RunOutcome::StoreFailed(message) => {
                self.store_failed += 1;
                self.error.get_or_insert_with(|| StoreFailure::outcome(message));
            }
        }
    }

    fn merge(&mut self, lane: DrainReport) {
        self.claimed += lane.claimed;
        self.succeeded += lane.succeeded;
        self.failed += lane.failed;
        self.released += lane.released;
        self.lease_lost += lane.lease_lost;
        self.claim_errors += lane.claim_errors;
        self.store_failed += lane.store_failed;
        if self.error.is_none() {
            self.error = lane.error;
        }
    }
}

impl fmt::Display for DrainReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} claimed, {} succeeded, {} failed, {} handed back, {} leases lost, {} store failures",
            self.claimed,
            self.succeeded,
            self.failed,
            self.released,
            self.lease_lost,
            self.store_failures()
        )?;
        if self.budget_spent {
            f.write_str(", budget spent")?;
        }
        Ok(())
    }
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
            let mut lane = DrainReport::default();
            while Instant::now() < end {
                let jobs = match runner.claim(&holder, 1).await {
                    Ok(jobs) if !jobs.is_empty() => jobs,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!("[BGJob] drain could not claim ({}): {e}", e.code());
                        lane.claim_errors += 1;
                        lane.error.get_or_insert_with(|| StoreFailure::claim(&e));
                        break;
                    }
                };
                for job in jobs {
                    lane.claimed += 1;
                    lane.record(&runner.run(job, Some(end), never.clone()).await);
                }
            }
            lane
        });
    }
    let mut total = DrainReport::default();
    while let Some(joined) = lanes.join_next().await {
        match joined {
            Ok(lane) => total.merge(lane),
            Err(e) => tracing::error!("[BGJob] a drain lane failed: {e}"),
        }
    }
    total.budget_spent = Instant::now() >= end;
    if total.is_ok() {
        tracing::info!("[BGJob] drain: {total}");
    } else {
        tracing::error!("[BGJob] drain could not do its work: {total}");
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_failures_are_counted_apart_from_lost_leases() {
        let mut report = DrainReport::default();
        report.record(&RunOutcome::LeaseLost);
        report.record(&RunOutcome::Succeeded(None));
        assert!(report.is_ok(), "a lost lease is another holder's win, not a failure");
        report.record(&RunOutcome::StoreFailed("database: disk I/O error".into()));
        report.record(&RunOutcome::StoreFailed("database: second".into()));
        assert_eq!((report.lease_lost, report.store_failed, report.store_failures()), (1, 2, 2));
        assert!(!report.is_ok());
        let error = report.error.clone().unwrap();
        assert_eq!(error.code, OUTCOME_NOT_RECORDED);
        assert!(error.message.contains("disk I/O error"), "the first failure is kept");

        let mut lane = DrainReport { claim_errors: 1, ..DrainReport::default() };
        lane.error = Some(StoreFailure::claim(&StoreError::Busy("locked".into())));
        let mut total = DrainReport::default();
        total.merge(lane);
        assert_eq!((total.store_failures(), total.error.unwrap().code), (1, "store.busy"));
    }

    #[test]
    fn the_report_reads_as_words_not_a_debug_dump() {
        let report = DrainReport { claimed: 3, succeeded: 2, failed: 1, budget_spent: true, ..Default::default() };
        let text = report.to_string();
        assert_eq!(
            text,
            "3 claimed, 2 succeeded, 1 failed, 0 handed back, 0 leases lost, 0 store failures, budget spent"
        );
        let body = serde_json::to_value(&report).unwrap();
        assert_eq!(body["claimErrors"], 0);
        assert!(body.get("error").is_none());
    }
}
