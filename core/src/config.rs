//! Configuration of the service: every number with the old system's default, a builder-style API, and
//! `from_env` for the variables the old deployment used.

use std::time::Duration;

use crate::auth::CronSecret;
use crate::policy::Policy;
use crate::queue::QueueOptions;
use crate::worker::PoolOptions;

/// The default schedule of the self-hosted sweep: every six hours, as the old `vercel.json`.
pub const DEFAULT_SCHEDULE: &str = "0 */6 * * *";

/// How a cron sweep generates what is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepMode {
    /// Work due jobs directly within the sweep's time budget.
    Direct,
    /// Send due jobs as one Message Batch (half price) and collect finished batches on later sweeps.
    Batch,
}

/// What a sweep may do.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepOptions {
    /// Direct or batch.
    pub mode: SweepMode,
    /// How long a direct sweep works before it returns (a serverless function's limit, less a margin).
    pub budget: Duration,
    /// Jobs worked at once by a direct sweep.
    pub concurrency: usize,
    /// Jobs sent in one batch at most.
    pub batch_max_jobs: u32,
    /// Rows deleted per cleanup statement.
    pub cleanup_batch: u32,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self {
            mode: SweepMode::Direct,
            budget: Duration::from_secs(50),
            concurrency: 4,
            batch_max_jobs: 1_000,
            cleanup_batch: crate::store::DEFAULT_CLEANUP_BATCH,
        }
    }
}

/// Everything the service needs besides its store, generator and clock.
#[derive(Debug, Clone)]
pub struct PreGenConfig {
    /// Expiry, retention, stock and activity rules.
    pub policy: Policy,
    /// Retries, timeouts, leases and retention of jobs.
    pub queue: QueueOptions,
    /// The secret the cron and analytics routes require; `None` refuses them all.
    pub cron_secret: Option<CronSecret>,
    /// The in-process worker pool.
    pub pool: PoolOptions,
    /// Cron sweeps.
    pub sweep: SweepOptions,
    /// The in-process schedule's cron expression.
    pub schedule: String,
    /// How long a synchronous pre-generate waits for a job another worker is running.
    pub wait_for_running: Duration,
}

impl Default for PreGenConfig {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            queue: QueueOptions::default(),
            cron_secret: None,
            pool: PoolOptions::default(),
            sweep: SweepOptions::default(),
            schedule: DEFAULT_SCHEDULE.to_owned(),
            wait_for_running: Duration::from_secs(300),
        }
    }
}

impl PreGenConfig {
    /// The defaults, with `CRON_SECRET`, `PREGEN_SCHEDULE`, `PREGEN_SWEEP_MODE` (`direct`/`batch`) and
    /// `PREGEN_SWEEP_BUDGET_SECS` read from the environment (blank values count as unset).
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`PreGenConfig::from_env`], reading variables through `lookup` (for tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut config = Self { cron_secret: get("CRON_SECRET").and_then(CronSecret::new), ..Self::default() };
        if let Some(schedule) = get("PREGEN_SCHEDULE") {
            config.schedule = schedule;
        }
        if get("PREGEN_SWEEP_MODE").as_deref() == Some("batch") {
            config.sweep.mode = SweepMode::Batch;
        }
        if let Some(secs) = get("PREGEN_SWEEP_BUDGET_SECS").and_then(|s| s.parse().ok()) {
            config.sweep.budget = Duration::from_secs(secs);
        }
        config
    }

    /// The same configuration with `secret` as the cron secret.
    pub fn with_cron_secret(mut self, secret: &str) -> Self {
        self.cron_secret = CronSecret::new(secret);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_override_defaults_and_blanks_are_unset() {
        let env = |name: &str| match name {
            "CRON_SECRET" => Some("  ".to_owned()),
            "PREGEN_SWEEP_MODE" => Some("batch".to_owned()),
            "PREGEN_SWEEP_BUDGET_SECS" => Some("20".to_owned()),
            _ => None,
        };
        let config = PreGenConfig::from_lookup(env);
        assert!(config.cron_secret.is_none(), "a blank secret refuses, it does not allow");
        assert_eq!(config.sweep.mode, SweepMode::Batch);
        assert_eq!(config.sweep.budget, Duration::from_secs(20));
        assert_eq!(config.schedule, "0 */6 * * *");
    }
}
