//! A service over a store that can be told to fail, a tiny-exam generator against the simulator, and a test clock.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use pregen_core::ManualClock;
use pregen_core::claude::{ApiKey, ClaudeClient, ClaudeConfig};
use pregen_core::config::PreGenConfig;
use pregen_core::exam::{Allocation, ExamSpec, ExamType, synthetic_exam};
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::policy::Policy;
use pregen_core::service::PreGen;
use pregen_core::simulator::{DEFAULT_API_KEY, Simulator, SimulatorConfig, SimulatorHandle};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::store::{ExamStore, NewExam, Store};

use super::failing_store::FailingStore;
use super::{t0, user};

pub(crate) const SECRET: &str = "cron-secret-0123456789abcdef";

/// An 8-item spec, so generation in these tests is quick.
pub(crate) fn tiny() -> ExamSpec {
    ExamSpec { name: "tiny".into(), item_count: 8, scored_count: 8, allocation: Allocation::WeightedByDomain }
}

/// A generator of tiny exams against `sim`.
pub(crate) fn tiny_generator(sim: &SimulatorHandle) -> Arc<Generator> {
    let client =
        ClaudeClient::new(ClaudeConfig::new(ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url())).unwrap();
    let config = GeneratorConfig { diagnostic_spec: tiny(), practice_spec: tiny(), ..GeneratorConfig::default() };
    Arc::new(Generator::new(client, config).unwrap())
}

pub(crate) struct Rig {
    pub(crate) service: Arc<PreGen>,
    pub(crate) store: Arc<FailingStore>,
    pub(crate) sqlite: SqliteStore,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) _sim: SimulatorHandle,
    pub(crate) _dir: tempfile::TempDir,
}

/// A service over a [`FailingStore`] (nothing failing yet), a tiny-exam generator, and a test clock at `t0()`.
pub(crate) async fn rig(config: PreGenConfig) -> Rig {
    let sim = Simulator::start(SimulatorConfig::builder().seed(3).build().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("f.db"), SqliteOptions::default()).await.unwrap();
    let store = Arc::new(FailingStore::new(sqlite.clone()));
    let clock = Arc::new(ManualClock::new(t0()));
    let generator = Some(tiny_generator(&sim));
    let service = PreGen::new(store.clone() as Arc<dyn Store>, generator, config, clock.clone()).unwrap();
    Rig { service: Arc::new(service), store, sqlite, clock, _sim: sim, _dir: dir }
}

/// Stores a tiny exam for (user, type) created at `at`, straight into the SQLite store; returns its id.
pub(crate) async fn stock_exam(store: &SqliteStore, id: &str, exam_type: ExamType, at: DateTime<Utc>) -> String {
    let exam = NewExam::new(user(id), exam_type, synthetic_exam(&tiny(), 5), &tiny(), at, &Policy::default());
    store.insert_exam(exam.unwrap()).await.unwrap()
}
