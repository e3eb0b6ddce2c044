//! `pregen work`: work due jobs — for a budget (the serverless way), or as a worker pool until Ctrl-C.
//!
//! A run that could not do its work (the store refused claims or could not record outcomes) prints
//! `success: false` with the error's code and message and the counts of store failures, and exits 1.

use std::time::Duration;

use pregen_core::ErrorCode;
use pregen_core::config::PreGenOptions;
use pregen_core::service::ServiceError;
use pregen_core::worker::{DrainReport, OUTCOME_NOT_RECORDED, ShutdownReport};
use serde_json::{Value, json};

use crate::context::{Claude, Context};
use crate::output::{CliError, FAILURE, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Seconds to work before returning; without it, run a worker pool until Ctrl-C.
    #[arg(long)]
    budget: Option<u64>,
    /// Jobs worked at once.
    #[arg(long, default_value_t = 4)]
    workers: usize,
}

pub(crate) async fn run(db: Option<&str>, args: Args) -> Result<Outcome, CliError> {
    let workers = Some(args.workers.max(1));
    let options = PreGenOptions { workers, sweep_concurrency: workers, ..PreGenOptions::new() };
    let ctx = Context::open(db, Claude::FromEnv, options).await?;
    let outcome = match args.budget {
        Some(secs) => drained(ctx.service.drain(Duration::from_secs(secs)).await),
        None => match ctx.service.start_workers() {
            Ok(()) => {
                tracing::info!("[BGJob] working until Ctrl-C");
                match tokio::signal::ctrl_c().await {
                    Ok(()) => Ok(stopped(&ctx.service.shutdown(Duration::from_secs(30)).await)),
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        },
    };
    ctx.close().await;
    outcome
}

/// The body of a budgeted run: the drain's report, or the failure it met.
fn drained(result: Result<DrainReport, ServiceError>) -> Result<Outcome, CliError> {
    let e = match result {
        Ok(report) => return Ok(Outcome::ok(json!({"success": true, "drain": report}))),
        Err(e) => e,
    };
    let ServiceError::DrainFailed(report) = &e else { return Err(e.into()) };
    Ok(failure(&e.to_string(), e.code(), report.store_failures(), "drain", json!(report)))
}

/// The body of a pool stopped by Ctrl-C: what its workers did, and a failure if outcomes went unrecorded.
fn stopped(report: &ShutdownReport) -> Outcome {
    let shutdown = json!(report);
    if report.store_failed == 0 {
        return Outcome::ok(json!({"success": true, "shutdown": shutdown}));
    }
    let message = format!("{} job outcomes could not be written to the store", report.store_failed);
    failure(&message, OUTCOME_NOT_RECORDED, report.store_failed, "shutdown", shutdown)
}

fn failure(message: &str, code: &str, store_failures: u64, key: &str, report: Value) -> Outcome {
    tracing::error!("[BGJob] work could not be done ({code}): {message}");
    let mut body = json!({"success": false, "error": message, "code": code, "storeFailures": store_failures});
    body[key] = report;
    Outcome { body, exit: FAILURE }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_whose_outcomes_went_unrecorded_reports_failure() {
        let report = ShutdownReport { succeeded: 3, failed: 1, store_failed: 12, ..ShutdownReport::default() };
        let outcome = stopped(&report);
        assert_eq!(outcome.exit, FAILURE);
        assert_eq!(
            (&outcome.body["success"], &outcome.body["code"]),
            (&json!(false), &json!(OUTCOME_NOT_RECORDED))
        );
        assert_eq!(
            (&outcome.body["storeFailures"], &outcome.body["shutdown"]["storeFailed"]),
            (&json!(12), &json!(12))
        );
        assert_eq!(outcome.body["error"], "12 job outcomes could not be written to the store");

        let healthy = stopped(&ShutdownReport { succeeded: 3, lease_lost: 2, ..ShutdownReport::default() });
        assert_eq!((healthy.exit, &healthy.body["success"]), (0, &json!(true)), "lost leases are not failures");
    }

    #[test]
    fn a_drain_with_store_failures_is_a_failure_and_others_are_errors() {
        let mut report = DrainReport { claimed: 2, store_failed: 2, ..DrainReport::default() };
        report.error = Some(pregen_core::worker::StoreFailure::outcome("database: disk I/O error"));
        let outcome = drained(Err(ServiceError::DrainFailed(Box::new(report)))).unwrap();
        assert_eq!((outcome.exit, &outcome.body["storeFailures"]), (FAILURE, &json!(2)));
        assert!(outcome.body["error"].as_str().unwrap().contains("disk I/O error"));
        assert!(drained(Err(ServiceError::ApiKeyMissing)).is_err(), "printed as every command's error");
        assert_eq!(drained(Ok(DrainReport::default())).unwrap().exit, 0);
    }
}
