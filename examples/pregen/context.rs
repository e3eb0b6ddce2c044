//! What every command starts from: the store at `--db`, the service over it, and the generator — Claude when
//! `ANTHROPIC_API_KEY` is set, the local simulator when a command asks for it and no key is set.

use std::path::Path;
use std::sync::Arc;

use pregen_core::SystemClock;
use pregen_core::claude::{ClaudeClient, ClaudeConfig};
use pregen_core::config::PreGenConfig;
use pregen_core::generate::{Generator, GeneratorConfig};
use pregen_core::service::PreGen;
use pregen_core::simulator::{DEFAULT_API_KEY, LatencyModel, Simulator, SimulatorConfig, SimulatorHandle};
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};

use crate::output::CliError;

/// Where generation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claude {
    /// Claude if `ANTHROPIC_API_KEY` is set; otherwise no generator ("API key not configured").
    FromEnv,
    /// Claude if `ANTHROPIC_API_KEY` is set; otherwise a simulator started in this process.
    OrSimulator,
}

/// An opened store and the service over it.
pub(crate) struct Context {
    pub(crate) service: Arc<PreGen>,
    pub(crate) store: SqliteStore,
    pub(crate) simulator: Option<SimulatorHandle>,
}

/// The generator's settings: the defaults, with the models from `PREGEN_MODEL`, `PREGEN_MODEL_DIAGNOSTIC` and
/// `PREGEN_MODEL_PRACTICE` (the per-type variable wins).
fn generator_config() -> GeneratorConfig {
    let config = GeneratorConfig::from_lookup(|name| std::env::var(name).ok());
    tracing::debug!(
        "[Pre-Gen] models: {} for diagnostic exams, {} for practice exams",
        config.diagnostic_model,
        config.practice_model
    );
    config
}

fn key_is_set() -> bool {
    std::env::var("ANTHROPIC_API_KEY").is_ok_and(|k| !k.trim().is_empty())
}

impl Context {
    /// Opens `db` and builds the service.
    pub(crate) async fn open(db: &Path, claude: Claude, config: PreGenConfig) -> Result<Self, CliError> {
        let store = SqliteStore::open(db, SqliteOptions::default()).await?;
        let (client, simulator) = if key_is_set() {
            (Some(ClaudeClient::new(ClaudeConfig::from_env()?)?), None)
        } else if claude == Claude::OrSimulator {
            let config =
                SimulatorConfig::builder().seed(7).latency(LatencyModel::haiku()).time_factor(20.0).build()?;
            let sim = Simulator::start(config).await?;
            tracing::warn!(
                "[Pre-Gen] ANTHROPIC_API_KEY is not set: using the local Claude simulator at {} (synthetic items)",
                sim.url()
            );
            let client = ClaudeClient::new(
                ClaudeConfig::new(pregen_core::claude::ApiKey::new(DEFAULT_API_KEY)).with_base_url(sim.url()),
            )?;
            (Some(client), Some(sim))
        } else {
            (None, None)
        };
        let generator = match client {
            Some(client) => Some(Arc::new(Generator::new(client, generator_config())?)),
            None => None,
        };
        let service = PreGen::new(Arc::new(store.clone()), generator, config, Arc::new(SystemClock))?;
        Ok(Self { service: Arc::new(service), store, simulator })
    }

    /// Shuts down what the context started.
    pub(crate) async fn close(self) {
        if let Some(sim) = self.simulator
            && let Err(e) = sim.shutdown().await
        {
            tracing::warn!("the simulator did not shut down cleanly: {e}");
        }
    }
}
