//! Claude API client: the Messages API (`POST /v1/messages`) and the Message Batches API over reqwest, with
//! the official SDKs' retry rules, a client-side rate limiter fed by the `anthropic-ratelimit-*` headers,
//! per-attempt timeouts, and usage and cost accounting.
//!
//! The decisions are pure functions with time and randomness passed in ([`retry`], [`LimiterState`],
//! [`PriceTable`]); [`ClaudeClient`] drives them over HTTP.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pregen_core::claude::ClaudeError> {
//! use pregen_core::claude::{ClaudeClient, ClaudeConfig, MessageRequest, SystemBlock};
//! let client = ClaudeClient::new(ClaudeConfig::from_env()?)?;
//! let request = MessageRequest::new("claude-haiku-4-5", 1024)
//!     .system(SystemBlock::cached("You write exam items."))
//!     .user("Write one item.");
//! let reply = client.create_message(&request).await?;
//! println!("{} ({:?})", reply.text(), reply.request_id);
//! # Ok(())
//! # }
//! ```

mod batches;
mod client;
mod config;
mod error;
mod limiter;
mod pricing;
pub mod retry;
mod types;

pub use batches::{
    BatchRequest, BatchResult, BatchResultLine, BatchStatus, MessageBatch, RequestCounts, parse_batch_results,
};
pub use client::ClaudeClient;
pub use config::{ANTHROPIC_VERSION, ApiKey, ClaudeConfig, DEFAULT_BASE_URL};
pub use error::{ApiError, ApiErrorKind, ClaudeError};
pub use limiter::{
    Admission, BucketSnapshot, LimiterSnapshot, LimiterState, Permit, RateLimiter, RequestCost, Reservation,
};
pub use pricing::{Cost, ModelPrice, PriceTable, UsageTotals};
pub use retry::RetryConfig;
pub use types::{
    CacheControl, ContentBlock, InputMessage, MessageContent, MessageRequest, MessageResponse, Metadata, Role,
    StopReason, SystemBlock, Usage,
};
