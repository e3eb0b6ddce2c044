//! The facade `PreGen` that routes, bindings and the `pregen` command call: opened from options and the
//! environment ([`PreGen::open`]), it pre-generates now, gets (an atomic claim), triggers in the background, sweeps
//! for cron, reports analytics and the queue, clears and cleans up, drains, runs workers and shuts down. Route
//! helpers ([`routes`]) wrap these with the old routes' exact statuses and bodies, typed per route ([`bodies`]).

mod analytics;
mod bank;
pub mod bodies;
mod cron;
mod error;
mod facade;
mod import;
mod job_failure;
mod job_wait;
mod open;
pub mod routes;
mod schedule;
mod trigger;
mod upkeep;
mod workers;

pub use analytics::ServiceAnalytics;
pub use bodies::{AnalyticsBody, CronBody, ErrorBody, GetBody, PreGenerateBody, RouteResponse, TriggerBody};
pub use cron::{CronReport, SweepStep, SweepStepError};
pub use error::ServiceError;
pub use facade::{ALREADY_EXISTS, PreGen, PreGenerated};
pub use import::{Imported, RepairReport};
pub use job_failure::{JOB_CANCELLED, JOB_FAILED, JobFailure};
pub use schedule::{Schedule, ScheduleError};
pub use trigger::{Trigger, TriggerReport, TriggerStatus, TriggeredJob};
pub use upkeep::{CleanupResult, QueueCleared};
