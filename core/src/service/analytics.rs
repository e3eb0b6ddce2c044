//! The analytics route's figures: the old stats with their meanings, plus tokens, cost, the generation success
//! rate, the mean time from trigger to ready, and the get route's hit rate.

use serde::Serialize;

use super::{PreGen, ServiceError};
use crate::auth::authorize;
use crate::error::ErrorCode;
use crate::queue::StateCounts;
use crate::store::{ExamAnalytics, GenerationSummary};

/// The analytics route's `stats`: the old keys at the top level, the additions beside them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAnalytics {
    /// The old figures, key for key.
    #[serde(flatten)]
    pub stats: ExamAnalytics,
    /// Tokens and cost of the stored exams, job outcomes and get-route counts.
    pub generation: GenerationSummary,
    /// Succeeded jobs over finished-by-outcome jobs (succeeded + dead) kept by retention; `null` when none.
    pub generation_success_rate: Option<f64>,
    /// Mean milliseconds from trigger to stored exam; `null` when unknown.
    pub mean_trigger_to_ready_ms: Option<f64>,
    /// Share of get-route calls that served an exam; `null` before the first call.
    pub get_hit_rate: Option<f64>,
    /// Jobs per state.
    pub queue: StateCounts,
    /// In bank mode: bank size per type, assignments, mean and max assignments per exam, users who have seen the
    /// whole bank, and cost per served exam.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank: Option<crate::store::BankAnalytics>,
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

impl PreGen {
    /// The figures, by aggregate queries only. A failure is logged with `[Analytics]` and its code.
    pub async fn analytics(&self) -> Result<ServiceAnalytics, ServiceError> {
        let figures = self.figures().await;
        match &figures {
            Ok(a) => tracing::info!(
                "[Analytics] {} exams stored ({} used, {} unused, {} expired), {} users with one, {} without",
                a.stats.total_generated,
                a.stats.total_used,
                a.stats.total_unused,
                a.stats.total_expired,
                a.stats.user_stats.users_with_pre_gen,
                a.stats.user_stats.users_without_pre_gen,
            ),
            Err(e) => tracing::error!("[Analytics] could not compute the figures ({}): {e}", e.code()),
        }
        figures
    }

    async fn figures(&self) -> Result<ServiceAnalytics, ServiceError> {
        let now = self.clock.now();
        let stats = self.store.analytics(now, &self.config.policy).await?;
        let generation = self.store.generation_summary().await?;
        let queue = self.store.queue_status(now, 0).await?.counts;
        let bank = self.bank_figures(now).await?;
        Ok(ServiceAnalytics {
            bank,
            generation_success_rate: ratio(
                generation.jobs_succeeded,
                generation.jobs_succeeded + generation.jobs_dead,
            ),
            mean_trigger_to_ready_ms: generation.mean_trigger_to_ready_ms.map(f64::round),
            get_hit_rate: ratio(generation.gets_served, generation.gets_served + generation.gets_missed),
            stats,
            generation,
            queue,
        })
    }

    /// The analytics route: the same bearer check as cron, then the figures.
    pub async fn analytics_authorized(
        &self,
        authorization: Option<&str>,
    ) -> Result<ServiceAnalytics, ServiceError> {
        if !authorize(self.config.cron_secret.as_ref(), authorization) {
            tracing::warn!("[Analytics] refused: the bearer header does not match");
            return Err(ServiceError::Unauthorized);
        }
        self.analytics().await
    }
}
