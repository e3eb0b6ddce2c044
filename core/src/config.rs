//! Configuration of the service: every number with the old system's default, a builder-style API, and
//! `from_env` for the variables the old deployment used; [`PreGenOptions`] are the same settings given in code
//! (or as a JavaScript object), each winning over its variable.

mod options;

use std::str::FromStr;
use std::time::Duration;

pub use options::{OPTION_VARIABLES, PreGenOptions};

use crate::auth::CronSecret;
use crate::policy::{BankPolicy, Policy};
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

impl SweepMode {
    /// `direct` or `batch`, as `PREGEN_SWEEP_MODE` and the JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SweepMode::Direct => "direct",
            SweepMode::Batch => "batch",
        }
    }
}

impl FromStr for SweepMode {
    type Err = String;

    /// `direct` or `batch`, exactly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "direct" => Ok(SweepMode::Direct),
            "batch" => Ok(SweepMode::Batch),
            other => Err(format!("unknown sweep mode {other:?}: direct or batch")),
        }
    }
}

/// Where ready exams come from: each user's own (the old contract), or a shared bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum StockMode {
    /// Each active user keeps their own unused exams; a get claims one (the default).
    #[default]
    #[serde(rename = "per-user")]
    PerUser,
    /// Exams belong to no user; a get assigns one the user never received, and generation keeps every active
    /// user ahead.
    #[serde(rename = "bank")]
    Bank,
}

impl StockMode {
    /// `per-user` or `bank`, as `PREGEN_STOCK` and the JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            StockMode::PerUser => "per-user",
            StockMode::Bank => "bank",
        }
    }
}

impl FromStr for StockMode {
    type Err = String;

    /// `per-user` or `bank`, exactly.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "per-user" => Ok(StockMode::PerUser),
            "bank" => Ok(StockMode::Bank),
            other => Err(format!("unknown stock {other:?}: per-user or bank")),
        }
    }
}

/// A setting whose value cannot be used, named as the caller gave it (the variable, or the option that stood in
/// for it). Nothing was opened or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct ConfigError {
    /// The variable (`PREGEN_WORKERS`) or option (`workers`) that held the value.
    pub setting: String,
    /// What is wrong with it; never the value of a secret.
    pub reason: String,
}

impl ConfigError {
    /// `setting` cannot be used because of `reason`.
    pub fn new(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { setting: setting.into(), reason: reason.into() }
    }
}

impl crate::error::ErrorCode for ConfigError {
    fn code(&self) -> &'static str {
        "config.invalid"
    }
    fn is_retryable(&self) -> bool {
        false
    }
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
    /// Per-user stock or a shared bank.
    pub stock: StockMode,
    /// The bank's rules (used in bank mode).
    pub bank: BankPolicy,
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
            stock: StockMode::PerUser,
            bank: BankPolicy::default(),
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
    /// The defaults, with these variables read from the environment (surrounding blanks trimmed; a blank value
    /// counts as unset): `CRON_SECRET`, `PREGEN_SCHEDULE`, `PREGEN_SWEEP_MODE` (`direct`/`batch`),
    /// `PREGEN_SWEEP_BUDGET_SECS` (seconds, fractions allowed), `PREGEN_SWEEP_CONCURRENCY`, `PREGEN_CLEANUP_BATCH`,
    /// `PREGEN_STOCK_TARGET` (unused exams kept per user and type), `PREGEN_WORKERS` (in-process pool slots),
    /// `PREGEN_STOCK` (`per-user`, the default, or `bank`) and the bank's numbers: `PREGEN_BANK_UNSEEN_TARGET`
    /// (default 2, at least 1), `PREGEN_BANK_MIN_SIZE` (3), `PREGEN_BANK_MAX_ASSIGNMENTS` (200, at least 1) and
    /// `PREGEN_BANK_MAX_AGE_DAYS` (30, fractions allowed, more than 0).
    ///
    /// Errors: [`ConfigError`] naming the first variable whose value does not parse or is out of range.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`PreGenConfig::from_env`], reading variables through `lookup` (tests, and [`PreGenOptions`], which
    /// answers for the variables it overrides).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut config = Self { cron_secret: get("CRON_SECRET").and_then(CronSecret::new), ..Self::default() };
        if let Some(schedule) = get("PREGEN_SCHEDULE") {
            config.schedule = schedule;
        }
        if let Some(mode) = get("PREGEN_SWEEP_MODE") {
            config.sweep.mode = mode.parse().map_err(|e| ConfigError::new("PREGEN_SWEEP_MODE", e))?;
        }
        if let Some(secs) = get("PREGEN_SWEEP_BUDGET_SECS") {
            config.sweep.budget = parse_secs("PREGEN_SWEEP_BUDGET_SECS", &secs)?;
        }
        if let Some(n) = get("PREGEN_SWEEP_CONCURRENCY") {
            config.sweep.concurrency = parse_count("PREGEN_SWEEP_CONCURRENCY", &n, 1)?;
        }
        if let Some(n) = get("PREGEN_CLEANUP_BATCH") {
            config.sweep.cleanup_batch = parse_count("PREGEN_CLEANUP_BATCH", &n, 1)?;
        }
        if let Some(n) = get("PREGEN_STOCK_TARGET") {
            config.policy.stock_target = parse_count("PREGEN_STOCK_TARGET", &n, 0)?;
        }
        if let Some(n) = get("PREGEN_WORKERS") {
            config.pool.workers = parse_count("PREGEN_WORKERS", &n, 1)?;
        }
        if let Some(mode) = get("PREGEN_STOCK") {
            config.stock = mode.parse().map_err(|e| ConfigError::new("PREGEN_STOCK", e))?;
        }
        if let Some(n) = get("PREGEN_BANK_UNSEEN_TARGET") {
            config.bank.unseen_target = parse_count("PREGEN_BANK_UNSEEN_TARGET", &n, 1)?;
        }
        if let Some(n) = get("PREGEN_BANK_MIN_SIZE") {
            config.bank.min_size = parse_count("PREGEN_BANK_MIN_SIZE", &n, 0)?;
        }
        if let Some(n) = get("PREGEN_BANK_MAX_ASSIGNMENTS") {
            config.bank.max_assignments = parse_count("PREGEN_BANK_MAX_ASSIGNMENTS", &n, 1)?;
        }
        if let Some(days) = get("PREGEN_BANK_MAX_AGE_DAYS") {
            config.bank.max_age = parse_days("PREGEN_BANK_MAX_AGE_DAYS", &days)?;
        }
        Ok(config)
    }

    /// The same configuration with `secret` as the cron secret.
    pub fn with_cron_secret(mut self, secret: &str) -> Self {
        self.cron_secret = CronSecret::new(secret);
        self
    }
}

/// A whole number of at least `min`.
fn parse_count<T: FromStr + PartialOrd + From<u8>>(setting: &str, raw: &str, min: u8) -> Result<T, ConfigError> {
    match raw.parse::<T>() {
        Ok(n) if n >= T::from(min) => Ok(n),
        Ok(_) => Err(ConfigError::new(setting, format!("must be at least {min}"))),
        Err(_) => Err(ConfigError::new(setting, format!("{raw:?} is not a whole number"))),
    }
}

/// Seconds, fractions allowed, at least zero and at most a year.
fn parse_secs(setting: &str, raw: &str) -> Result<Duration, ConfigError> {
    match raw.parse::<f64>() {
        Ok(secs) if (0.0..=31_536_000.0).contains(&secs) => Ok(Duration::from_secs_f64(secs)),
        Ok(_) => Err(ConfigError::new(setting, "must be between 0 and 31536000 seconds")),
        Err(_) => Err(ConfigError::new(setting, format!("{raw:?} is not a number of seconds"))),
    }
}

/// Days, fractions allowed, more than zero and at most ten years; whole milliseconds.
fn parse_days(setting: &str, raw: &str) -> Result<chrono::TimeDelta, ConfigError> {
    match raw.parse::<f64>() {
        Ok(days) if days > 0.0 && days <= 3_650.0 => {
            let ms = (days * 86_400_000.0).round() as i64;
            Ok(chrono::TimeDelta::milliseconds(ms.max(1)))
        }
        Ok(_) => Err(ConfigError::new(setting, "must be more than 0 and at most 3650 days")),
        Err(_) => Err(ConfigError::new(setting, format!("{raw:?} is not a number of days"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<PreGenConfig, ConfigError> {
        let map: std::collections::HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        PreGenConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn env_values_override_defaults_and_blanks_are_unset() {
        let config = read(&[
            ("CRON_SECRET", "  "),
            ("PREGEN_SWEEP_MODE", "batch"),
            ("PREGEN_SWEEP_BUDGET_SECS", "20"),
            ("PREGEN_STOCK_TARGET", " 2 "),
            ("PREGEN_WORKERS", "6"),
            ("PREGEN_SWEEP_CONCURRENCY", "3"),
            ("PREGEN_CLEANUP_BATCH", "50"),
            ("PREGEN_SCHEDULE", ""),
        ])
        .unwrap();
        assert!(config.cron_secret.is_none(), "a blank secret refuses, it does not allow");
        assert_eq!(config.sweep.mode, SweepMode::Batch);
        assert_eq!(config.sweep.budget, Duration::from_secs(20));
        assert_eq!(config.schedule, "0 */6 * * *");
        assert_eq!((config.policy.stock_target, config.pool.workers), (2, 6));
        assert_eq!((config.sweep.concurrency, config.sweep.cleanup_batch), (3, 50));
        assert_eq!(
            read(&[("PREGEN_SWEEP_BUDGET_SECS", "0.25")]).unwrap().sweep.budget,
            Duration::from_millis(250)
        );
        assert_eq!(read(&[("PREGEN_STOCK_TARGET", "0")]).unwrap().policy.stock_target, 0, "no stock is allowed");
        assert_eq!(read(&[("PREGEN_SWEEP_MODE", "direct")]).unwrap().sweep.mode, SweepMode::Direct);
    }

    #[test]
    fn stock_defaults_to_per_user_and_the_bank_numbers_are_read() {
        let default = read(&[]).unwrap();
        assert_eq!((default.stock, default.bank), (StockMode::PerUser, BankPolicy::default()));
        let config = read(&[
            ("PREGEN_STOCK", " bank "),
            ("PREGEN_BANK_UNSEEN_TARGET", "4"),
            ("PREGEN_BANK_MIN_SIZE", "0"),
            ("PREGEN_BANK_MAX_ASSIGNMENTS", "25"),
            ("PREGEN_BANK_MAX_AGE_DAYS", "1.5"),
        ])
        .unwrap();
        assert_eq!(config.stock, StockMode::Bank);
        assert_eq!((config.bank.unseen_target, config.bank.min_size, config.bank.max_assignments), (4, 0, 25));
        assert_eq!(config.bank.max_age, chrono::TimeDelta::hours(36));
        assert_eq!(read(&[("PREGEN_STOCK", "per-user")]).unwrap().stock, StockMode::PerUser);
    }

    #[test]
    fn values_that_do_not_parse_are_refused_with_their_variable() {
        for (name, value) in [
            ("PREGEN_SWEEP_MODE", "Batch"),
            ("PREGEN_SWEEP_MODE", "bulk"),
            ("PREGEN_SWEEP_BUDGET_SECS", "50s"),
            ("PREGEN_SWEEP_BUDGET_SECS", "-1"),
            ("PREGEN_SWEEP_BUDGET_SECS", "NaN"),
            ("PREGEN_SWEEP_BUDGET_SECS", "inf"),
            ("PREGEN_WORKERS", "0"),
            ("PREGEN_WORKERS", "two"),
            ("PREGEN_WORKERS", "-3"),
            ("PREGEN_SWEEP_CONCURRENCY", "0"),
            ("PREGEN_CLEANUP_BATCH", "0"),
            ("PREGEN_STOCK_TARGET", "1.5"),
            ("PREGEN_STOCK_TARGET", "99999999999"),
            ("PREGEN_STOCK", "Bank"),
            ("PREGEN_STOCK", "shared"),
            ("PREGEN_BANK_UNSEEN_TARGET", "-1"),
            ("PREGEN_BANK_UNSEEN_TARGET", "0"),
            ("PREGEN_BANK_MIN_SIZE", "few"),
            ("PREGEN_BANK_MAX_ASSIGNMENTS", "0"),
            ("PREGEN_BANK_MAX_AGE_DAYS", "0"),
            ("PREGEN_BANK_MAX_AGE_DAYS", "NaN"),
            ("PREGEN_BANK_MAX_AGE_DAYS", "99999"),
        ] {
            let err = read(&[(name, value)]).unwrap_err();
            assert_eq!(err.setting, name, "{value}");
            assert!(err.to_string().starts_with(&format!("{name}: ")), "{err}");
            assert_eq!(crate::error::ErrorCode::code(&err), "config.invalid");
        }
    }
}
