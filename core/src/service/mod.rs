//! The facade `PreGen` that routes, bindings and the `pregen` command call: pre-generate now, get (an atomic
//! claim), trigger in the background, cron sweep, analytics, queue status, clear, drain, workers and shutdown.
//! Route helpers ([`routes`]) wrap these with the old routes' exact statuses and bodies.

mod analytics;
mod cron;
mod error;
mod facade;
pub mod routes;
mod schedule;

pub use analytics::ServiceAnalytics;
pub use cron::{CronReport, SweepStepError};
pub use error::ServiceError;
pub use facade::{PreGen, PreGenerated, Trigger, TriggerReport, TriggeredJob};
pub use routes::RouteResponse;
pub use schedule::{Schedule, ScheduleError};
