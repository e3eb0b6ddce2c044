//! The in-process schedule for self-hosted servers: a cron expression (default `0 */6 * * *`, UTC) parsed by
//! croner, running the sweep at each occurrence until stopped.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::PreGen;

/// A cron expression that did not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid cron expression {expression:?}: {reason}")]
pub struct ScheduleError {
    /// The expression given.
    pub expression: String,
    /// What the parser said.
    pub reason: String,
}

impl crate::error::ErrorCode for ScheduleError {
    fn code(&self) -> &'static str {
        "schedule.invalid"
    }
    fn is_retryable(&self) -> bool {
        false
    }
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: croner::Cron,
    expression: String,
}

impl Schedule {
    /// Parses a five-field cron expression (minute hour day month weekday), in UTC.
    pub fn parse(expression: &str) -> Result<Self, ScheduleError> {
        let cron = croner::Cron::from_str(expression)
            .map_err(|e| ScheduleError { expression: expression.to_owned(), reason: e.to_string() })?;
        Ok(Self { cron, expression: expression.to_owned() })
    }

    /// The expression.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The first occurrence strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t, false).ok()
    }
}

impl PreGen {
    /// The configured schedule: `PREGEN_SCHEDULE` when [`PreGenConfig::from_env`](crate::config::PreGenConfig)
    /// read one, else the default `0 */6 * * *`. What `pregen cron --schedule` runs when given no expression.
    ///
    /// Errors: [`ScheduleError`] when the configured expression does not parse.
    pub fn schedule(&self) -> Result<Schedule, ScheduleError> {
        Schedule::parse(&self.config.schedule)
    }

    /// Runs the sweep at each occurrence of `schedule` until `stop` completes. A failed sweep is logged and the
    /// schedule goes on.
    pub async fn run_schedule(self: Arc<Self>, schedule: Schedule, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let now = self.clock.now();
            let Some(next) = schedule.next_after(now) else {
                tracing::error!("[Cron] schedule {} has no next occurrence; stopping", schedule.expression());
                return;
            };
            tracing::info!("[Cron] next sweep at {next} ({})", schedule.expression());
            let wait = (next - now).to_std().unwrap_or_default();
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(wait) => {}
            }
            if let Err(e) = self.sweep().await {
                tracing::error!("[Cron] scheduled sweep failed ({}): {e}", crate::error::ErrorCode::code(&e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_runs_every_six_hours() {
        let s = Schedule::parse(crate::config::DEFAULT_SCHEDULE).unwrap();
        let t = DateTime::parse_from_rfc3339("2026-11-28T13:31:00Z").unwrap().with_timezone(&Utc);
        let next = s.next_after(t).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-11-28T18:00:00+00:00");
        assert_eq!(s.next_after(next).unwrap().to_rfc3339(), "2026-11-29T00:00:00+00:00");
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(Schedule::parse("every six hours").is_err());
        assert!(Schedule::parse("61 * * * *").is_err());
    }
}
