//! pregen-core: keeps a ready stock of valid EPPP practice and diagnostic exams for every active user, generated
//! by Claude in the background, so that "start exam" is one indexed read.
//!
//! The pure modules ([`exam`], [`policy`], [`queue`]) take time as an argument and build for
//! `wasm32-unknown-unknown` with `--no-default-features`; the runtime modules sit behind features.

#[cfg(feature = "runtime")]
pub mod api;
#[cfg(feature = "runtime")]
pub mod auth;
#[cfg(feature = "claude")]
pub mod claude;
pub mod clock;
#[cfg(feature = "runtime")]
pub mod config;
pub mod error;
pub mod exam;
#[cfg(feature = "claude")]
pub mod generate;
#[cfg(feature = "claude")]
pub mod import;
pub mod policy;
pub mod prompt;
pub mod queue;
#[cfg(feature = "claude")]
pub mod service;
#[cfg(feature = "simulator")]
pub mod simulator;
#[cfg(feature = "runtime")]
pub mod store;
#[cfg(feature = "runtime")]
pub mod worker;

#[cfg(feature = "runtime")]
pub use clock::SystemClock;
pub use clock::{Clock, ManualClock};
pub use error::ErrorCode;
