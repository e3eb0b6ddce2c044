//! [`PreGenOptions`]: the settings a program (or a JavaScript object through a binding) gives when it opens a
//! service. Each option stands for one environment variable and wins over it; what is left unset is read from
//! the environment, then defaulted. One table ([`OPTION_VARIABLES`]) ties the two, so the variables are read in one place.

use std::fmt;

use serde::Deserialize;

use super::{ConfigError, PreGenConfig, StockMode, SweepMode};
use crate::store::{DATABASE_URL_ENV, PREGEN_DB_ENV, StoreLocation};

/// Everything `PreGen::open` needs to know, all optional. Deserializes from camelCase JSON (`{database,
/// anthropicApiKey, cronSecret, workers, ...}`), refusing unknown keys so a misspelt option is an error rather
/// than silently ignored. `Debug` hides the API key, the cron secret and a database password.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PreGenOptions {
    /// Where the store lives: a SQLite file path, or a `postgres://` URL. Else `PREGEN_DB`, else `DATABASE_URL`,
    /// else `./pregen.db`.
    pub database: Option<String>,
    /// The Claude API key (`ANTHROPIC_API_KEY`). Without one nothing is generated ("API key not configured");
    /// reads, triggers and cleanup still work.
    pub anthropic_api_key: Option<String>,
    /// The API's base URL (`ANTHROPIC_BASE_URL`), e.g. a local simulator's.
    pub anthropic_base_url: Option<String>,
    /// The bearer secret of the cron and analytics routes (`CRON_SECRET`); unset refuses every call.
    pub cron_secret: Option<String>,
    /// The in-process schedule's cron expression, UTC (`PREGEN_SCHEDULE`, default `0 */6 * * *`).
    pub schedule: Option<String>,
    /// `direct` or `batch` (`PREGEN_SWEEP_MODE`).
    pub sweep_mode: Option<SweepMode>,
    /// Seconds a direct sweep works before it returns (`PREGEN_SWEEP_BUDGET_SECS`, default 50).
    pub sweep_budget_secs: Option<f64>,
    /// Jobs a direct sweep or a drain works at once (`PREGEN_SWEEP_CONCURRENCY`, default 4).
    pub sweep_concurrency: Option<usize>,
    /// Rows deleted per cleanup statement (`PREGEN_CLEANUP_BATCH`, default 1,000).
    pub cleanup_batch: Option<u32>,
    /// The Claude model for both exam types (`PREGEN_MODEL`, default `claude-haiku-4-5`).
    pub model: Option<String>,
    /// The model for diagnostic exams (`PREGEN_MODEL_DIAGNOSTIC`); wins over `model`.
    pub diagnostic_model: Option<String>,
    /// The model for practice exams (`PREGEN_MODEL_PRACTICE`); wins over `model`.
    pub practice_model: Option<String>,
    /// Unused exams kept ready per (user, type) (`PREGEN_STOCK_TARGET`, default 1).
    pub stock_target: Option<u32>,
    /// Jobs the in-process worker pool runs at once (`PREGEN_WORKERS`, default 2).
    pub workers: Option<usize>,
    /// `per-user` or `bank` (`PREGEN_STOCK`, default `per-user`).
    pub stock: Option<StockMode>,
    /// Unseen bank exams kept per active user and type (`PREGEN_BANK_UNSEEN_TARGET`, default 2).
    pub bank_unseen_target: Option<u32>,
    /// Bank exams kept per type however few users there are (`PREGEN_BANK_MIN_SIZE`, default 3).
    pub bank_min_size: Option<u32>,
    /// Assignments after which a bank exam retires (`PREGEN_BANK_MAX_ASSIGNMENTS`, default 200).
    pub bank_max_assignments: Option<u32>,
    /// Days after which a bank exam retires (`PREGEN_BANK_MAX_AGE_DAYS`, default 30).
    pub bank_max_age_days: Option<f64>,
    /// Read nothing from the environment: only these options and the defaults count (tests, several services in
    /// one process).
    pub ignore_env: bool,
}

/// Each option and the environment variable it stands for (`database` stands for two, read in order).
pub const OPTION_VARIABLES: [(&str, &str); 20] = [
    ("database", PREGEN_DB_ENV),
    ("database", DATABASE_URL_ENV),
    ("anthropicApiKey", "ANTHROPIC_API_KEY"),
    ("anthropicBaseUrl", "ANTHROPIC_BASE_URL"),
    ("cronSecret", "CRON_SECRET"),
    ("schedule", "PREGEN_SCHEDULE"),
    ("sweepMode", "PREGEN_SWEEP_MODE"),
    ("sweepBudgetSecs", "PREGEN_SWEEP_BUDGET_SECS"),
    ("sweepConcurrency", "PREGEN_SWEEP_CONCURRENCY"),
    ("cleanupBatch", "PREGEN_CLEANUP_BATCH"),
    ("model", "PREGEN_MODEL"),
    ("diagnosticModel", "PREGEN_MODEL_DIAGNOSTIC"),
    ("practiceModel", "PREGEN_MODEL_PRACTICE"),
    ("stockTarget", "PREGEN_STOCK_TARGET"),
    ("workers", "PREGEN_WORKERS"),
    ("stock", "PREGEN_STOCK"),
    ("bankUnseenTarget", "PREGEN_BANK_UNSEEN_TARGET"),
    ("bankMinSize", "PREGEN_BANK_MIN_SIZE"),
    ("bankMaxAssignments", "PREGEN_BANK_MAX_ASSIGNMENTS"),
    ("bankMaxAgeDays", "PREGEN_BANK_MAX_AGE_DAYS"),
];

impl PreGenOptions {
    /// No option set: everything from the environment, then the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The options a JSON object gives (a binding's `open({...})` argument); `null` gives none.
    ///
    /// Errors: [`ConfigError`] for setting `options` when the value is not an object, holds a key that is no
    /// option (a misspelling), or a value of the wrong type; the reason says which.
    pub fn from_json(value: serde_json::Value) -> Result<Self, ConfigError> {
        if value.is_null() {
            return Ok(Self::new());
        }
        serde_json::from_value(value).map_err(|e| ConfigError::new("options", e.to_string()))
    }

    /// The value this options object gives for environment variable `name`, in the variable's own text form;
    /// `None` when the option is unset (or `name` is no option's variable).
    pub fn var(&self, name: &str) -> Option<String> {
        match name {
            PREGEN_DB_ENV => self.database.clone(),
            "ANTHROPIC_API_KEY" => self.anthropic_api_key.clone(),
            "ANTHROPIC_BASE_URL" => self.anthropic_base_url.clone(),
            "CRON_SECRET" => self.cron_secret.clone(),
            "PREGEN_SCHEDULE" => self.schedule.clone(),
            "PREGEN_SWEEP_MODE" => self.sweep_mode.map(|m| m.as_str().to_owned()),
            "PREGEN_SWEEP_BUDGET_SECS" => self.sweep_budget_secs.map(|s| s.to_string()),
            "PREGEN_SWEEP_CONCURRENCY" => self.sweep_concurrency.map(|n| n.to_string()),
            "PREGEN_CLEANUP_BATCH" => self.cleanup_batch.map(|n| n.to_string()),
            "PREGEN_MODEL" => self.model.clone(),
            "PREGEN_MODEL_DIAGNOSTIC" => self.diagnostic_model.clone(),
            "PREGEN_MODEL_PRACTICE" => self.practice_model.clone(),
            "PREGEN_STOCK_TARGET" => self.stock_target.map(|n| n.to_string()),
            "PREGEN_WORKERS" => self.workers.map(|n| n.to_string()),
            "PREGEN_STOCK" => self.stock.map(|m| m.as_str().to_owned()),
            "PREGEN_BANK_UNSEEN_TARGET" => self.bank_unseen_target.map(|n| n.to_string()),
            "PREGEN_BANK_MIN_SIZE" => self.bank_min_size.map(|n| n.to_string()),
            "PREGEN_BANK_MAX_ASSIGNMENTS" => self.bank_max_assignments.map(|n| n.to_string()),
            "PREGEN_BANK_MAX_AGE_DAYS" => self.bank_max_age_days.map(|d| d.to_string()),
            _ => None,
        }
    }

    /// Reads variable `name`: this object's option when set, else `env` (unless `ignore_env`). The lookup every
    /// reader of a setting is given, so options and variables are one namespace.
    pub fn lookup(&self, env: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
        self.var(name).or_else(|| if self.ignore_env { None } else { env(name) })
    }

    /// The store's location: `database`, else `PREGEN_DB`, else `DATABASE_URL`, else `./pregen.db` (blank values
    /// count as unset; see [`StoreLocation::resolve_with`]).
    pub fn location(&self, env: &impl Fn(&str) -> Option<String>) -> StoreLocation {
        let env = |name: &str| if self.ignore_env { None } else { env(name) };
        StoreLocation::resolve_with(self.database.as_deref(), env)
    }

    /// The service configuration: these options over the environment over the defaults.
    ///
    /// Errors: [`ConfigError`] naming the option (when it was set) or the variable whose value cannot be used.
    pub fn config(&self, env: &impl Fn(&str) -> Option<String>) -> Result<PreGenConfig, ConfigError> {
        PreGenConfig::from_lookup(|name| self.lookup(env, name)).map_err(|e| self.blame(e))
    }

    /// `error` with its setting renamed to the option when the option, not the variable, held the value.
    pub fn blame(&self, mut error: ConfigError) -> ConfigError {
        if self.var(&error.setting).is_some()
            && let Some((option, _)) = OPTION_VARIABLES.iter().find(|(_, var)| *var == error.setting)
        {
            error.setting = (*option).to_owned();
        }
        error
    }
}

impl fmt::Debug for PreGenOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("PreGenOptions")
            .field("database", &self.database.as_deref().map(StoreLocation::parse))
            .field("anthropic_api_key", &hidden(&self.anthropic_api_key))
            .field("anthropic_base_url", &self.anthropic_base_url)
            .field("cron_secret", &hidden(&self.cron_secret))
            .field("schedule", &self.schedule)
            .field("sweep_mode", &self.sweep_mode)
            .field("sweep_budget_secs", &self.sweep_budget_secs)
            .field("sweep_concurrency", &self.sweep_concurrency)
            .field("cleanup_batch", &self.cleanup_batch)
            .field("model", &self.model)
            .field("diagnostic_model", &self.diagnostic_model)
            .field("practice_model", &self.practice_model)
            .field("stock_target", &self.stock_target)
            .field("workers", &self.workers)
            .field("stock", &self.stock)
            .field("bank_unseen_target", &self.bank_unseen_target)
            .field("bank_min_size", &self.bank_min_size)
            .field("bank_max_assignments", &self.bank_max_assignments)
            .field("bank_max_age_days", &self.bank_max_age_days)
            .field("ignore_env", &self.ignore_env)
            .finish()
    }
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
