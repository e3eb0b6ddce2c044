//! The native worker pool: tokio tasks that claim due jobs from a [`JobStore`](crate::store::JobStore), run a
//! [`JobHandler`] under a deadline that really stops it, renew the lease while it runs, and write the state
//! machine's decision back fenced on the lease. Also [`drain`], the serverless path: work for a budget, then stop.

mod drain;
mod handler;
mod pool;
mod runner;
mod signal;

pub use drain::{DrainReport, OUTCOME_NOT_RECORDED, StoreFailure, drain};
pub use handler::{HandlerError, HandlerOutput, JobContext, JobHandler};
pub use pool::{PoolOptions, ShutdownReport, WorkerPool};
pub use runner::{PANIC_CODE, RunOutcome, Runner};
