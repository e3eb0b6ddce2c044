//! What every command starts from: the service opened by `PreGen::open` from `--db` and the environment, with the
//! command's own options; and the command's one addition, the local simulator as Claude when a command asks for
//! it and no API key is set.

use std::sync::Arc;

use pregen_core::config::PreGenOptions;
use pregen_core::service::PreGen;
use pregen_core::simulator::{DEFAULT_API_KEY, LatencyModel, Simulator, SimulatorConfig, SimulatorHandle};

use crate::output::CliError;

/// Where generation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claude {
    /// Claude if `ANTHROPIC_API_KEY` is set; otherwise no generator ("API key not configured").
    FromEnv,
    /// Claude if `ANTHROPIC_API_KEY` is set; otherwise a simulator started in this process.
    OrSimulator,
}

/// The opened service, and the simulator it generates with, if one was started.
pub(crate) struct Context {
    pub(crate) service: Arc<PreGen>,
    pub(crate) simulator: Option<SimulatorHandle>,
}

impl Context {
    /// Opens the service at `db` (else `PREGEN_DB`, `DATABASE_URL`, `./pregen.db`) with `options` over the
    /// environment.
    pub(crate) async fn open(
        db: Option<&str>,
        claude: Claude,
        mut options: PreGenOptions,
    ) -> Result<Self, CliError> {
        if let Some(db) = db {
            options.database = Some(db.to_owned());
        }
        let env = |name: &str| std::env::var(name).ok();
        let key_is_set = options.lookup(&env, "ANTHROPIC_API_KEY").is_some_and(|k| !k.trim().is_empty());
        let simulator = if !key_is_set && claude == Claude::OrSimulator {
            let config =
                SimulatorConfig::builder().seed(7).latency(LatencyModel::haiku()).time_factor(20.0).build()?;
            let sim = Simulator::start(config).await?;
            tracing::warn!(
                "[Pre-Gen] ANTHROPIC_API_KEY is not set: using the local Claude simulator at {} (synthetic items)",
                sim.url()
            );
            options.anthropic_api_key = Some(DEFAULT_API_KEY.to_owned());
            options.anthropic_base_url = Some(sim.url().to_owned());
            Some(sim)
        } else {
            None
        };
        let service = PreGen::open(options).await?;
        Ok(Self { service: Arc::new(service), simulator })
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
