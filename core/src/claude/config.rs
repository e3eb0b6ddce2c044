//! Client configuration: key, base URL, retries, timeouts, limiter and prices, from code or the environment.

use std::fmt;
use std::time::Duration;

use reqwest::Url;

use super::error::ClaudeError;
use super::pricing::PriceTable;
use super::retry::RetryConfig;

/// The API's address when none is configured.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The `anthropic-version` header every request carries.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// An Anthropic API key. Its `Debug` prints a redaction and it has no `Display`, so it cannot leak through
/// formatting; only [`ApiKey::expose_secret`] reveals it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key (surrounding whitespace removed).
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into().trim().to_owned())
    }

    /// The key itself, for the `x-api-key` header. Never log or format the result.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the key is empty (and so unusable).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Everything a [`super::ClaudeClient`] needs. Defaults follow the official SDKs: 2 retries, connect timeout
/// 10 s, request timeout 10 min per attempt; plus the client-side rate limiter on and the default price table.
#[derive(Debug, Clone)]
pub struct ClaudeConfig {
    /// The API key sent as `x-api-key`.
    pub api_key: ApiKey,
    /// The API's base URL without a trailing slash, e.g. `https://api.anthropic.com`.
    pub base_url: String,
    /// Retry count and delays.
    pub retry: RetryConfig,
    /// Time allowed to open a connection.
    pub connect_timeout: Duration,
    /// Time allowed for one attempt, from sending to the last byte of the response.
    pub request_timeout: Duration,
    /// Whether Messages calls go through the client-side rate limiter.
    pub rate_limiter: bool,
    /// The longest the limiter holds every request after a 429's retry-after (longer waits are left to the
    /// caller through [`ClaudeError::retry_after`]).
    pub max_limiter_hold: Duration,
    /// Prices for usage totals.
    pub prices: PriceTable,
    /// The `user-agent` header, `pregen/<version>` by default.
    pub user_agent: String,
}

impl ClaudeConfig {
    /// A configuration with `api_key` and every default.
    pub fn new(api_key: ApiKey) -> Self {
        Self {
            api_key,
            base_url: DEFAULT_BASE_URL.to_owned(),
            retry: RetryConfig::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(600),
            rate_limiter: true,
            max_limiter_hold: Duration::from_secs(60),
            prices: PriceTable::default(),
            user_agent: format!("pregen/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// Reads `ANTHROPIC_API_KEY` (required) and `ANTHROPIC_BASE_URL` from the environment; values are trimmed
    /// and an empty value counts as unset.
    pub fn from_env() -> Result<Self, ClaudeError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`ClaudeConfig::from_env`], reading variables through `lookup` (for tests and other sources).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ClaudeError> {
        let read = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let key =
            read("ANTHROPIC_API_KEY").ok_or_else(|| ClaudeError::Config("ANTHROPIC_API_KEY is not set".into()))?;
        let mut config = Self::new(ApiKey::new(key));
        if let Some(base) = read("ANTHROPIC_BASE_URL") {
            config = config.with_base_url(base);
        }
        Ok(config)
    }

    /// Sets the base URL (a trailing slash is dropped).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim().trim_end_matches('/').to_owned();
        self
    }

    /// Sets the retry rules.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the connect timeout and the per-attempt request timeout.
    pub fn with_timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self
    }

    /// Turns the client-side rate limiter on or off.
    pub fn with_rate_limiter(mut self, enabled: bool) -> Self {
        self.rate_limiter = enabled;
        self
    }

    /// Sets the price table.
    pub fn with_prices(mut self, prices: PriceTable) -> Self {
        self.prices = prices;
        self
    }

    /// Checks the key and base URL, returning the parsed base URL.
    pub(crate) fn validate(&self) -> Result<Url, ClaudeError> {
        if self.api_key.is_empty() {
            return Err(ClaudeError::Config("the API key is empty".into()));
        }
        let url = Url::parse(&self.base_url)
            .map_err(|e| ClaudeError::Config(format!("base URL {:?} is not a URL: {e}", self.base_url)))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(ClaudeError::Config(format!("base URL {:?} is not an http(s) URL", self.base_url)));
        }
        if self.request_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(ClaudeError::Config("timeouts must be positive".into()));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const KEY: &str = "sk-ant-api03-SECRET-do-not-print";

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn defaults_follow_the_sdks() {
        let c = ClaudeConfig::new(ApiKey::new(KEY));
        assert_eq!(c.base_url, "https://api.anthropic.com");
        assert_eq!(c.retry.max_retries, 2);
        assert_eq!(c.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.request_timeout, Duration::from_secs(600));
        assert!(c.rate_limiter);
        assert!(c.user_agent.starts_with("pregen/"));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn from_env_trims_and_treats_empty_as_unset() {
        let c = ClaudeConfig::from_lookup(env(&[
            ("ANTHROPIC_API_KEY", "  key-1 \n"),
            ("ANTHROPIC_BASE_URL", " http://127.0.0.1:9/ "),
        ]))
        .unwrap();
        assert_eq!(c.api_key.expose_secret(), "key-1");
        assert_eq!(c.base_url, "http://127.0.0.1:9");
        let c =
            ClaudeConfig::from_lookup(env(&[("ANTHROPIC_API_KEY", "k"), ("ANTHROPIC_BASE_URL", "  ")])).unwrap();
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        for missing in [&[][..], &[("ANTHROPIC_API_KEY", "   ")][..]] {
            let e = ClaudeConfig::from_lookup(env(missing)).unwrap_err();
            assert_eq!(e.code(), "claude.config");
        }
    }

    #[test]
    fn validation_refuses_unusable_settings() {
        let base = ClaudeConfig::new(ApiKey::new(KEY));
        assert!(ClaudeConfig::new(ApiKey::new("")).validate().is_err());
        assert!(base.clone().with_base_url("not a url").validate().is_err());
        assert!(base.clone().with_base_url("ftp://x").validate().is_err());
        assert!(base.clone().with_timeouts(Duration::ZERO, Duration::from_secs(1)).validate().is_err());
        let e = base.with_base_url("nope").validate().unwrap_err();
        assert!(!format!("{e} {e:?}").contains(KEY));
    }

    #[test]
    fn the_key_never_shows_in_debug() {
        let c = ClaudeConfig::new(ApiKey::new(KEY));
        let debug = format!("{c:?} {:?} {c:#?}", c.api_key);
        assert!(!debug.contains(KEY) && !debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("ApiKey(<redacted>)"));
    }
}
