//! Where jobs are worked: a drain for a budget (serverless), or the in-process worker pool (long-running
//! servers), started from any thread on the service's runtime and stopped by `shutdown` or by dropping the
//! service.

use std::time::Duration;

use tokio::runtime::Handle;

use super::facade::Workers;
use super::{PreGen, ServiceError};
use crate::worker::{DrainReport, ShutdownReport, WorkerPool, drain};

impl PreGen {
    /// Works due jobs for up to `budget` (the serverless path, e.g. in Next.js `after()`), `sweep.concurrency`
    /// at once. Jobs still running when the budget ends are handed back for the next call.
    ///
    /// Errors: [`ServiceError::ApiKeyMissing`] without a generator; [`ServiceError::DrainFailed`], with the full
    /// report, when the store refused a claim or could not record an outcome.
    pub async fn drain(&self, budget: Duration) -> Result<DrainReport, ServiceError> {
        let runner = self.runner()?;
        let report = drain(&runner, budget, self.config.sweep.concurrency, &self.config.pool.holder_prefix).await;
        if report.is_ok() { Ok(report) } else { Err(ServiceError::DrainFailed(Box::new(report))) }
    }

    /// Starts the in-process worker pool (long-running servers) on the service's runtime, so any thread may call
    /// it, one without a runtime (a JavaScript thread) included. Calling it again while running does nothing.
    ///
    /// Errors: [`ServiceError::ApiKeyMissing`] without a generator; [`ServiceError::NoRuntime`] when the service
    /// holds no runtime handle and the calling thread has none.
    pub fn start_workers(&self) -> Result<(), ServiceError> {
        let mut workers = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if workers.is_none() {
            let runner = self.runner()?;
            let runtime =
                self.runtime.clone().or_else(|| Handle::try_current().ok()).ok_or(ServiceError::NoRuntime)?;
            let pool = {
                let _inside = runtime.enter();
                WorkerPool::start(runner, self.config.pool.clone())
            };
            *workers = Some(Workers { pool, runtime });
        }
        Ok(())
    }

    /// Whether the worker pool is running.
    pub fn workers_running(&self) -> bool {
        self.pool.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Wakes idle in-process workers, after something was queued.
    pub(crate) fn wake_workers(&self) {
        if let Some(workers) = self.pool.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            workers.pool.notify();
        }
    }

    /// Stops the worker pool, if running, and returns when it has stopped: no new claims, running attempts get
    /// `grace` to finish, the rest are handed back for another process. No task of the pool is left running.
    /// The pool can be started again afterwards.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownReport {
        let workers = self.pool.lock().unwrap_or_else(|e| e.into_inner()).take();
        match workers {
            Some(workers) => workers.pool.shutdown(grace).await,
            None => ShutdownReport::default(),
        }
    }
}

/// A service dropped with its workers running stops them: they claim nothing more, and running jobs are handed
/// back at once (in the background, on the pool's runtime), so another process can take them.
impl Drop for PreGen {
    fn drop(&mut self) {
        let workers = self.pool.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(Workers { pool, runtime }) = workers {
            tracing::info!("[BGJob] the service was dropped with its workers running; stopping them");
            // If that runtime has shut down, the future is dropped at once, and the pool with it.
            drop(runtime.spawn(pool.shutdown(Duration::ZERO)));
        }
    }
}
