//! [`PreGen::open`]: all the wiring a program, a binding or the `pregen` command needs, in one place: the
//! settings from [`PreGenOptions`] over the environment over the defaults, checked before anything is opened; the
//! store at its location (a SQLite path or a `postgres://` URL); Claude when an API key is given; the clock; and
//! the runtime it is opened on.

use std::sync::Arc;

use super::{PreGen, Schedule, ServiceError};
use crate::claude::{ClaudeClient, ClaudeConfig, ClaudeError};
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, PreGenOptions};
use crate::generate::{Generator, GeneratorConfig};
use crate::store::OpenOptions;

impl PreGen {
    /// Opens a service from `options`, reading what they leave unset from the process environment
    /// (`PREGEN_DB`/`DATABASE_URL`, `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `CRON_SECRET`, `PREGEN_*`; see
    /// [`PreGenOptions`]), on the system clock and the current tokio runtime, whose handle it keeps.
    ///
    /// Without an API key the service still opens: reads, triggers and cleanup work, generation answers
    /// [`ServiceError::ApiKeyMissing`].
    ///
    /// Errors: [`ServiceError::Config`] naming the option or variable that cannot be used (checked before the store
    /// is opened, so nothing is created); [`ServiceError::Store`] when the store cannot be opened (a location whose
    /// backend this build lacks is `store.invalid_input`); [`ServiceError::Generate`] when the Claude client
    /// cannot be built.
    ///
    /// ```no_run
    /// use pregen_core::config::PreGenOptions;
    /// use pregen_core::exam::ExamType;
    /// use pregen_core::service::{PreGen, Trigger};
    /// use pregen_core::store::UserId;
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// // Unset options come from the environment (PREGEN_DB, ANTHROPIC_API_KEY, CRON_SECRET, ...).
    /// let service = PreGen::open(PreGenOptions { workers: Some(4), ..PreGenOptions::new() }).await?;
    /// let user = UserId::parse("3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b")?;
    /// service.trigger(&user, Trigger::Types(ExamType::ALL.to_vec())).await?;
    /// service.start_workers()?;
    /// let _exam = service.get_exam(&user, ExamType::Practice).await?;
    /// let _answer = service.get_route("userId=u1&examType=practice").await;
    /// service.shutdown(std::time::Duration::from_secs(10)).await;
    /// # Ok(()) }
    /// ```
    pub async fn open(options: PreGenOptions) -> Result<Self, ServiceError> {
        Self::open_with(options, |name| std::env::var(name).ok(), Arc::new(SystemClock)).await
    }

    /// [`PreGen::open`] with the environment read through `env` and time from `clock` (tests; hosts that keep
    /// their settings elsewhere).
    pub async fn open_with(
        options: PreGenOptions,
        env: impl Fn(&str) -> Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServiceError> {
        let config = options.config(&env)?;
        Schedule::parse(&config.schedule)
            .map_err(|e| options.blame(ConfigError::new("PREGEN_SCHEDULE", e.to_string())))?;
        let generator = generator(&options, &env)?;
        let location = options.location(&env);
        let store = crate::store::open(&location, &OpenOptions::default()).await?;
        match &generator {
            Some(g) => tracing::info!(
                "[Pre-Gen] opened {location}; generating with {} (diagnostic) and {} (practice) at {}",
                g.config().diagnostic_model,
                g.config().practice_model,
                g.client().config().base_url
            ),
            None => tracing::info!(
                "[Pre-Gen] opened {location}; ANTHROPIC_API_KEY is not set, so nothing is generated"
            ),
        }
        PreGen::new(store, generator, config, clock)
    }
}

/// The generator, when an API key is set (option, then variable); `None` otherwise.
fn generator(
    options: &PreGenOptions,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Arc<Generator>>, ServiceError> {
    let lookup = |name: &str| options.lookup(env, name);
    if lookup("ANTHROPIC_API_KEY").is_none_or(|key| key.trim().is_empty()) {
        return Ok(None);
    }
    let blame_url = |e: ClaudeError| match e {
        ClaudeError::Config(reason) => {
            ServiceError::Config(options.blame(ConfigError::new("ANTHROPIC_BASE_URL", reason)))
        }
        other => ServiceError::Generate(other.into()),
    };
    let claude = ClaudeConfig::from_lookup(lookup).map_err(blame_url)?;
    let client = ClaudeClient::new(claude).map_err(blame_url)?;
    Ok(Some(Arc::new(Generator::new(client, GeneratorConfig::from_lookup(lookup))?)))
}
