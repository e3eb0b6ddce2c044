//! The state one simulator shares between its connections and background tasks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::batches::BatchStore;
use super::cache::PromptCache;
use super::config::SimulatorConfig;
use super::faults::{Fault, FaultContext, FaultPlan};
use super::log::RequestLog;
use super::ratelimit::RateLimiter;
use super::time::SimTime;
use crate::prompt::ChunkBrief;

/// Everything a request handler or batch task reads or changes.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: SimulatorConfig,
    /// `http://127.0.0.1:PORT`, for absolute `results_url`s.
    pub(crate) base_url: String,
    pub(crate) time: SimTime,
    pub(crate) log: RequestLog,
    pub(crate) cache: PromptCache,
    pub(crate) limiter: Option<RateLimiter>,
    pub(crate) batches: BatchStore,
    pub(crate) overloaded: AtomicBool,
    faults: Mutex<FaultState>,
    seq: AtomicU64,
    shutdown: watch::Receiver<bool>,
}

#[derive(Debug)]
struct FaultState {
    plan: FaultPlan,
    /// Message requests seen since the plan was installed.
    count: u64,
}

impl AppState {
    /// State for a simulator serving at `base_url`, stopping when `shutdown` turns true or its sender drops.
    pub(crate) fn new(config: SimulatorConfig, base_url: String, shutdown: watch::Receiver<bool>) -> Self {
        let time = SimTime::new(config.time_factor, config.clock.clone());
        let limiter = config.rate_limits.as_ref().map(|l| RateLimiter::new(l, time.now()));
        Self {
            base_url,
            log: RequestLog::default(),
            cache: PromptCache::default(),
            limiter,
            batches: BatchStore::default(),
            overloaded: AtomicBool::new(config.overloaded),
            faults: Mutex::new(FaultState { plan: config.faults.clone(), count: 0 }),
            seq: AtomicU64::new(0),
            shutdown,
            time,
            config,
        }
    }

    /// The next request number, from 1.
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Installs a new fault plan and restarts its request count.
    pub(crate) fn set_faults(&self, plan: FaultPlan) {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        faults.plan = plan;
        faults.count = 0;
    }

    /// Counts one message request and picks its fault: (index since the plan was installed, fault).
    pub(crate) fn next_fault(
        &self,
        model: &str,
        brief: Option<&ChunkBrief>,
        retry_count: Option<u32>,
    ) -> (u64, Option<Fault>) {
        let (index, plan) = {
            let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
            faults.count += 1;
            (faults.count, faults.plan.clone())
        };
        let ctx = FaultContext { index, model, brief, retry_count };
        (index, plan.pick(&ctx, self.config.seed))
    }

    /// Resolves once the simulator is shutting down.
    pub(crate) async fn shutting_down(&self) {
        let mut rx = self.shutdown.clone();
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// Sleeps `real` unless the simulator shuts down first; true if the whole time passed.
    pub(crate) async fn sleep(&self, real: Duration) -> bool {
        if real.is_zero() {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(real) => true,
            () = self.shutting_down() => false,
        }
    }
}

/// The shared state handle the router carries.
pub(crate) type Shared = Arc<AppState>;
