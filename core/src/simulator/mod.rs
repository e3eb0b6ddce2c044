//! A stand-in for the Claude API on loopback, faithful to the wire format, so the client, the generator, the
//! benches and the demo run without network access.
//!
//! - `POST /v1/messages`: auth (`x-api-key`), `anthropic-version`, body checks (400), size limit (413); a forced
//!   `record_exam_items` call with a `<brief>` gets one synthetic item per entry (stems start `[simulated]`,
//!   deterministic from the seed, key at option B about 80% of the time, key the strictly longest option in about
//!   half the items or three in ten when the brief asks for similar lengths); otherwise a short text.
//! - Tokens are ceil(chars / 4); `cache_control` prefixes are cached for 5 minutes (or 1 hour) of simulated time.
//! - Optional per-minute rate limits (token buckets) with `retry-after` and `anthropic-ratelimit-*` headers;
//!   overload mode (529); injected faults ([`FaultPlan`]), including hangs and connection resets.
//! - Message Batches: create, retrieve, list, cancel, delete, results (JSONL, shuffled).
//! - Time compression: `time_factor` simulated seconds pass per real second; headers report real time.
//! - A request log ([`LoggedRequest`]) for tests and benches.
//!
//! ```no_run
//! # async fn demo(stop: tokio::sync::oneshot::Receiver<()>) -> Result<(), pregen_core::simulator::SimulatorError> {
//! use pregen_core::simulator::{Simulator, SimulatorConfig};
//! let sim = Simulator::start(SimulatorConfig::builder().seed(7).build()?).await?;
//! println!("{}", serde_json::json!({"url": sim.url()}));
//! sim.run_until(async { let _ = stop.await; }).await
//! # }
//! ```

mod batch_routes;
mod batches;
mod cache;
mod config;
mod conn;
mod error;
mod faults;
mod http;
mod items;
mod log;
mod messages;
mod mutate;
mod params;
mod ratelimit;
mod reply;
mod routes;
mod server;
mod state;
mod time;
mod tokens;

pub use config::{
    BatchSettings, DEFAULT_API_KEY, LatencyModel, RateLimits, SimulatorConfig, SimulatorConfigBuilder,
};
pub use error::SimulatorError;
pub use faults::{Fault, FaultContext, FaultKind, FaultPlan, FaultPredicate};
pub use log::LoggedRequest;
pub use server::{Simulator, SimulatorHandle};
