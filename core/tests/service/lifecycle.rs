//! The service's life on runtimes it does not control: `start_workers` from a thread without a tokio runtime (a
//! JavaScript thread), `shutdown` that returns when every task has stopped, and a service dropped without
//! `shutdown` that stops its workers. Each test runs the service on a runtime of its own, so the tasks alive on
//! that runtime are the service's.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pregen_core::config::{PreGenConfig, PreGenOptions};
use pregen_core::exam::ExamType;
use pregen_core::queue::{JobState, StateCounts};
use pregen_core::service::{PreGen, ServiceError, Trigger};
use pregen_core::simulator::{
    DEFAULT_API_KEY, Fault, FaultKind, FaultPlan, Simulator, SimulatorConfig, SimulatorHandle,
};
use pregen_core::store::JobStore;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::{ErrorCode, SystemClock};
use tokio::runtime::{Handle, Runtime};

use super::user;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A simulator on a runtime of its own; with `hang`, every request is held (ten minutes) without an answer.
fn simulator(hang: bool) -> (Runtime, SimulatorHandle) {
    let rt = runtime();
    let mut config = SimulatorConfig::builder().seed(8).hang_for(Duration::from_secs(600));
    if hang {
        config = config.faults(FaultPlan::predicate(|_| Some(Fault::new(FaultKind::Hang))));
    }
    let sim = rt.block_on(Simulator::start(config.build().unwrap())).unwrap();
    (rt, sim)
}

/// Opens a service on `rt` with one worker, generating against `sim`.
fn open(rt: &Runtime, db: &Path, sim: &SimulatorHandle) -> Arc<PreGen> {
    let options = PreGenOptions {
        database: Some(db.to_str().unwrap().to_owned()),
        anthropic_api_key: Some(DEFAULT_API_KEY.to_owned()),
        anthropic_base_url: Some(sim.url().to_owned()),
        workers: Some(1),
        ignore_env: true,
        ..PreGenOptions::new()
    };
    Arc::new(rt.block_on(PreGen::open_with(options, |_| None, Arc::new(SystemClock))).unwrap())
}

/// Polls `check` every 20 ms until it holds; fails after a minute (a bound, not a timing claim).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(std::time::Instant::now() < end, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The job counts per state, read through a store handle of the test's own.
fn counts(rt: &Runtime, watch: &SqliteStore) -> StateCounts {
    rt.block_on(watch.queue_status(chrono::Utc::now(), 0)).unwrap().counts
}

/// Calls `start_workers` from a fresh thread that has no tokio runtime, as a JavaScript thread calls it.
fn start_from_plain_thread(service: &Arc<PreGen>) -> Result<(), ServiceError> {
    let service = Arc::clone(service);
    std::thread::spawn(move || {
        assert!(Handle::try_current().is_err(), "the thread has no runtime");
        service.start_workers()
    })
    .join()
    .unwrap()
}

#[test]
fn workers_start_from_a_thread_without_a_runtime() {
    let (_sim_rt, sim) = simulator(false);
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let service = open(&rt, &dir.path().join("t.db"), &sim);
    let watch = rt.block_on(SqliteStore::open(dir.path().join("t.db"), SqliteOptions::default())).unwrap();
    rt.block_on(service.trigger(&user("u1"), Trigger::Types(ExamType::ALL.to_vec()))).unwrap();

    start_from_plain_thread(&service).unwrap();
    assert!(service.workers_running());
    start_from_plain_thread(&service).unwrap();
    eventually("both jobs worked", || {
        let c = counts(&rt, &watch);
        c.succeeded + c.dead == 2
    });
    let report = rt.block_on(service.shutdown(Duration::from_secs(30)));
    assert_eq!(report.succeeded + report.failed, 2, "one pool worked both jobs: {report:?}");

    // A service made outside any runtime, and never given one, says so; given one, it starts.
    let store = rt.block_on(SqliteStore::open(dir.path().join("n.db"), SqliteOptions::default())).unwrap();
    let generator = service.generator().cloned();
    let orphan =
        Arc::new(PreGen::new(Arc::new(store), generator, PreGenConfig::default(), Arc::new(SystemClock)).unwrap());
    assert!(orphan.runtime().is_none());
    let err = start_from_plain_thread(&orphan).unwrap_err();
    assert_eq!((err.code(), err.is_retryable()), ("service.no_runtime", false), "{err}");
    let Ok(orphan) = Arc::try_unwrap(orphan) else { panic!("one owner") };
    let adopted = Arc::new(orphan.with_runtime(rt.handle().clone()));
    start_from_plain_thread(&adopted).unwrap();
    rt.block_on(adopted.shutdown(Duration::from_secs(5)));
}

/// A service on its own runtime whose single job hangs in its Claude request, with the pool running it.
struct Hanging {
    _sim_rt: Runtime,
    _sim: SimulatorHandle,
    rt: Runtime,
    service: Arc<PreGen>,
    watch: SqliteStore,
    /// Tasks alive on `rt` before the pool started.
    idle_tasks: usize,
    _dir: tempfile::TempDir,
}

fn hanging() -> Hanging {
    let (sim_rt, sim) = simulator(true);
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let service = open(&rt, &dir.path().join("h.db"), &sim);
    let watch = rt.block_on(SqliteStore::open(dir.path().join("h.db"), SqliteOptions::default())).unwrap();
    rt.block_on(service.trigger(&user("u1"), Trigger::Types(vec![ExamType::Diagnostic]))).unwrap();
    let idle_tasks = rt.metrics().num_alive_tasks();
    start_from_plain_thread(&service).unwrap();
    eventually("the job is running and its request is held", || {
        counts(&rt, &watch).running == 1 && !sim.log().is_empty()
    });
    Hanging { _sim_rt: sim_rt, _sim: sim, rt, service, watch, idle_tasks, _dir: dir }
}

impl Hanging {
    /// The job: pending again, with no holder.
    fn handed_back(&self) -> bool {
        let status = self.rt.block_on(self.watch.queue_status(chrono::Utc::now(), 10)).unwrap();
        status.counts.pending == 1 && status.counts.running == 0
    }

    fn tasks(&self) -> usize {
        self.rt.metrics().num_alive_tasks()
    }
}

#[test]
fn shutdown_returns_when_its_jobs_are_handed_back_and_its_tasks_are_gone() {
    let h = hanging();
    let report = h.rt.block_on(h.service.shutdown(Duration::from_millis(100)));
    assert_eq!((report.released, report.succeeded, report.failed), (1, 0, 0), "{report:?}");
    assert!(h.handed_back(), "handed back before shutdown returned");
    assert!(!h.service.workers_running());
    eventually("no task of the pool is left", || h.tasks() <= h.idle_tasks);

    // The pool starts again and takes the job up.
    start_from_plain_thread(&h.service).unwrap();
    eventually("running again", || counts(&h.rt, &h.watch).running == 1);
    let report = h.rt.block_on(h.service.shutdown(Duration::ZERO));
    assert_eq!(report.released, 1);
    let job = h.rt.block_on(h.watch.queue_status(chrono::Utc::now(), 10)).unwrap().jobs;
    assert_eq!(job.len(), 1);
    let job = h.rt.block_on(h.watch.get_job(&job[0].id)).unwrap().unwrap();
    assert_eq!((job.state, job.attempt, job.lease), (JobState::Pending, 0, None), "attempts unspent, no holder");
}

#[test]
fn a_service_dropped_without_shutdown_stops_its_workers() {
    let h = hanging();
    let Hanging { rt, service, watch, idle_tasks, _sim, _sim_rt, _dir } = h;
    let running_tasks = rt.metrics().num_alive_tasks();
    assert!(running_tasks > idle_tasks, "the pool runs tasks: {running_tasks} > {idle_tasks}");
    drop(service);
    eventually("the job is handed back", || {
        let c = counts(&rt, &watch);
        c.pending == 1 && c.running == 0
    });
    eventually("no task of the pool is left", || rt.metrics().num_alive_tasks() <= idle_tasks);
}
