//! Simulator configuration: a plain struct with public fields and sensible defaults, plus a builder that
//! checks ranges, so tests, benches and the `pregen simulate` command configure it the same way.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::error::SimulatorError;
use super::faults::FaultPlan;
use crate::clock::Clock;

/// The API key the simulator accepts unless told otherwise. Not a secret: it only opens the loopback simulator.
pub const DEFAULT_API_KEY: &str = "sk-ant-simulator-local";

/// How long a simulated answer takes, in simulated time (divided by the time factor before sleeping):
/// `base + output_tokens / tokens_per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyModel {
    /// Time to first token.
    pub base: Duration,
    /// Generation speed; 0 or less means output costs no time.
    pub tokens_per_second: f64,
}

impl LatencyModel {
    /// No latency at all: answers are immediate (the default, for fast tests).
    pub fn none() -> Self {
        Self { base: Duration::ZERO, tokens_per_second: 0.0 }
    }

    /// Roughly Claude Haiku's pace: half a second to the first token, then about 150 tokens per second.
    pub fn haiku() -> Self {
        Self { base: Duration::from_millis(500), tokens_per_second: 150.0 }
    }

    /// The simulated time an answer of `output_tokens` takes.
    pub fn duration_for(&self, output_tokens: u64) -> Duration {
        let generation = if self.tokens_per_second > 0.0 {
            Duration::from_secs_f64(output_tokens as f64 / self.tokens_per_second)
        } else {
            Duration::ZERO
        };
        self.base + generation
    }
}

impl Default for LatencyModel {
    fn default() -> Self {
        Self::none()
    }
}

/// Per-minute limits enforced as continuously refilling token buckets; `None` leaves that dimension unlimited
/// (and leaves out its `anthropic-ratelimit-*` headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimits {
    /// Requests per minute (RPM).
    pub requests_per_minute: Option<u64>,
    /// Input tokens per minute (ITPM): uncached input plus cache writes; cache reads are free.
    pub input_tokens_per_minute: Option<u64>,
    /// Output tokens per minute (OTPM): `max_tokens` at admission, corrected to the actual output at the end.
    pub output_tokens_per_minute: Option<u64>,
}

/// How Message Batches are processed in the background.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchSettings {
    /// Simulated time from creation until the last request is processed (spread evenly over the requests).
    pub processing_time: Duration,
    /// Fraction of each batch's requests (rounded) that end `errored` with an `api_error`.
    pub errored_fraction: f64,
    /// Fraction of each batch's requests (rounded) that end `expired`.
    pub expired_fraction: f64,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self { processing_time: Duration::from_secs(30), errored_fraction: 0.0, expired_fraction: 0.0 }
    }
}

/// Everything the simulator can be told. Start from [`SimulatorConfig::default`] or [`SimulatorConfig::builder`].
#[derive(Clone)]
pub struct SimulatorConfig {
    /// Where to listen; the default `127.0.0.1:0` picks a free loopback port.
    pub addr: SocketAddr,
    /// The only `x-api-key` accepted.
    pub api_key: String,
    /// Seeds the item writer and random fault plans; the same seed writes the same items.
    pub seed: u64,
    /// Simulated seconds per real second (60.0: a simulated minute passes in one real second). Rate windows,
    /// latency, cache TTL and batch processing scale by it; headers report real times.
    pub time_factor: f64,
    /// Answer latency in simulated time.
    pub latency: LatencyModel,
    /// Per-minute rate limits, if any.
    pub rate_limits: Option<RateLimits>,
    /// Answer every message request with 529 `overloaded_error`.
    pub overloaded: bool,
    /// Faults to inject into message requests.
    pub faults: FaultPlan,
    /// How long a `hang` fault holds the request (real time) before dropping the connection.
    pub hang_for: Duration,
    /// The wait an injected 429 asks for (real time), sent as `retry-after` and `retry-after-ms`.
    pub fault_retry_after: Duration,
    /// Largest accepted `/v1/messages` body; larger gets 413 `request_too_large` (the real limit is 32 MB).
    pub max_body_bytes: usize,
    /// Largest accepted batch creation body (the real limit is 256 MB).
    pub max_batch_body_bytes: usize,
    /// The output limit for models not named in `output_limits`; `max_tokens` above it gets a 400.
    pub default_output_limit: u64,
    /// Output limits by model id or id prefix (longest matching prefix wins).
    pub output_limits: BTreeMap<String, u64>,
    /// Prompt prefixes shorter than this many tokens are not cached (0 caches every marked prefix).
    pub min_cacheable_tokens: u64,
    /// Background batch processing.
    pub batch: BatchSettings,
    /// Replaces the simulated clock (which otherwise runs at `time_factor` times real time), so tests can move
    /// cache TTLs and rate windows forward without sleeping.
    pub clock: Option<Arc<dyn Clock>>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: DEFAULT_API_KEY.to_owned(),
            seed: 0,
            time_factor: 1.0,
            latency: LatencyModel::none(),
            rate_limits: None,
            overloaded: false,
            faults: FaultPlan::None,
            hang_for: Duration::from_secs(600),
            fault_retry_after: Duration::from_secs(1),
            max_body_bytes: 32 * 1024 * 1024,
            max_batch_body_bytes: 256 * 1024 * 1024,
            default_output_limit: 64_000,
            output_limits: BTreeMap::from([("claude-3-5-haiku".to_owned(), 8_192)]),
            min_cacheable_tokens: 0,
            batch: BatchSettings::default(),
            clock: None,
        }
    }
}

impl fmt::Debug for SimulatorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatorConfig")
            .field("addr", &self.addr)
            .field("api_key", &"<redacted>")
            .field("seed", &self.seed)
            .field("time_factor", &self.time_factor)
            .field("latency", &self.latency)
            .field("rate_limits", &self.rate_limits)
            .field("overloaded", &self.overloaded)
            .field("faults", &self.faults)
            .field("hang_for", &self.hang_for)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("default_output_limit", &self.default_output_limit)
            .field("min_cacheable_tokens", &self.min_cacheable_tokens)
            .field("batch", &self.batch)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl SimulatorConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> SimulatorConfigBuilder {
        SimulatorConfigBuilder(Self::default())
    }

    /// The output limit for `model`: the longest matching entry of `output_limits`, else the default.
    pub fn output_limit(&self, model: &str) -> u64 {
        self.output_limits
            .iter()
            .filter(|(prefix, _)| model.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(self.default_output_limit, |(_, limit)| *limit)
    }

    /// Checks the ranges [`Simulator::start`](super::Simulator::start) relies on.
    pub fn validate(&self) -> Result<(), SimulatorError> {
        let bad = |what: &str| Err(SimulatorError::Config(what.to_owned()));
        if !(self.time_factor.is_finite() && self.time_factor > 0.0) {
            return bad("time_factor must be a positive number");
        }
        let fraction = |x: f64| (0.0..=1.0).contains(&x);
        let batch = &self.batch;
        if !fraction(batch.errored_fraction)
            || !fraction(batch.expired_fraction)
            || batch.errored_fraction + batch.expired_fraction > 1.0
        {
            return bad("batch errored and expired fractions must lie in 0..=1 and add up to at most 1");
        }
        if self.api_key.is_empty() {
            return bad("api_key must not be empty");
        }
        if self.default_output_limit == 0 || self.max_body_bytes == 0 || self.max_batch_body_bytes == 0 {
            return bad("output and body limits must be above zero");
        }
        if let Some(limits) = &self.rate_limits {
            let dims =
                [limits.requests_per_minute, limits.input_tokens_per_minute, limits.output_tokens_per_minute];
            if dims.contains(&Some(0)) {
                return bad("a rate limit of zero per minute would refuse everything; leave it unset instead");
            }
        }
        Ok(())
    }
}

/// Builds a [`SimulatorConfig`] step by step; [`SimulatorConfigBuilder::build`] checks the ranges.
#[derive(Debug, Clone)]
pub struct SimulatorConfigBuilder(SimulatorConfig);

impl SimulatorConfigBuilder {
    /// Listen on `addr` instead of a free loopback port.
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.0.addr = addr;
        self
    }

    /// Accept this API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.0.api_key = key.into();
        self
    }

    /// Seed the item writer and random faults.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }

    /// Simulated seconds per real second.
    pub fn time_factor(mut self, factor: f64) -> Self {
        self.0.time_factor = factor;
        self
    }

    /// Answer latency in simulated time.
    pub fn latency(mut self, latency: LatencyModel) -> Self {
        self.0.latency = latency;
        self
    }

    /// Enforce these per-minute limits.
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.0.rate_limits = Some(limits);
        self
    }

    /// Start in overload mode (every message request gets 529).
    pub fn overloaded(mut self, overloaded: bool) -> Self {
        self.0.overloaded = overloaded;
        self
    }

    /// Inject these faults.
    pub fn faults(mut self, plan: FaultPlan) -> Self {
        self.0.faults = plan;
        self
    }

    /// How long a `hang` fault holds the request (real time).
    pub fn hang_for(mut self, duration: Duration) -> Self {
        self.0.hang_for = duration;
        self
    }

    /// The wait an injected 429 asks for (real time).
    pub fn fault_retry_after(mut self, duration: Duration) -> Self {
        self.0.fault_retry_after = duration;
        self
    }

    /// Largest accepted message body in bytes.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.0.max_body_bytes = bytes;
        self
    }

    /// Largest accepted batch body in bytes.
    pub fn max_batch_body_bytes(mut self, bytes: usize) -> Self {
        self.0.max_batch_body_bytes = bytes;
        self
    }

    /// The output limit of models not otherwise listed.
    pub fn default_output_limit(mut self, tokens: u64) -> Self {
        self.0.default_output_limit = tokens;
        self
    }

    /// The output limit of models whose id starts with `prefix`.
    pub fn output_limit(mut self, prefix: impl Into<String>, tokens: u64) -> Self {
        self.0.output_limits.insert(prefix.into(), tokens);
        self
    }

    /// The smallest prompt prefix, in tokens, that gets cached.
    pub fn min_cacheable_tokens(mut self, tokens: u64) -> Self {
        self.0.min_cacheable_tokens = tokens;
        self
    }

    /// Background batch processing settings.
    pub fn batch(mut self, batch: BatchSettings) -> Self {
        self.0.batch = batch;
        self
    }

    /// Drive simulated time from `clock` instead of the scaled real clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.0.clock = Some(clock);
        self
    }

    /// The configuration, once its ranges check out.
    pub fn build(self) -> Result<SimulatorConfig, SimulatorError> {
        self.0.validate()?;
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_hide_the_key() {
        let config = SimulatorConfig::default();
        config.validate().unwrap();
        assert!(!format!("{config:?}").contains(DEFAULT_API_KEY));
        assert_eq!(config.output_limit("claude-haiku-4-5"), 64_000);
        assert_eq!(config.output_limit("claude-3-5-haiku-20241022"), 8_192);
    }

    #[test]
    fn builder_refuses_out_of_range_values() {
        assert!(SimulatorConfig::builder().time_factor(0.0).build().is_err());
        let batch = BatchSettings { errored_fraction: 0.7, expired_fraction: 0.4, ..BatchSettings::default() };
        assert!(SimulatorConfig::builder().batch(batch).build().is_err());
        let limits = RateLimits { requests_per_minute: Some(0), ..RateLimits::default() };
        assert!(SimulatorConfig::builder().rate_limits(limits).build().is_err());
        assert_eq!(SimulatorConfig::builder().seed(9).build().unwrap().seed, 9);
    }

    #[test]
    fn latency_adds_generation_time() {
        let model = LatencyModel { base: Duration::from_millis(100), tokens_per_second: 100.0 };
        assert_eq!(model.duration_for(50), Duration::from_millis(600));
        assert_eq!(LatencyModel::none().duration_for(10_000), Duration::ZERO);
    }
}
