//! From an exam spec to a valid exam: the spec's slots split into chunks small enough that no response comes near
//! the model's output limit, sent concurrently, every item validated in code, only rejected or missing items asked
//! for again (a bounded number of rounds), items whose key is the longest option sent back when they make the
//! answer-length cue, options shuffled in code, and the whole exam validated before it is handed on. A queued
//! job's accepted items are kept in the store as they arrive, so its next attempt resumes. Also the batch path
//! (submit now, collect later) and the queue's job handler.

mod assemble;
mod batch;
mod config;
mod error;
mod generator;
mod handler;
mod input;
mod target;

pub use assemble::{ChunkPlan, Draft, LENGTH_CUE_REASON, length_cue_target, plan_chunks};
pub use batch::{BATCH_LEASE, BatchPlan, BatchSubmission, CollectReport, CollectedJob, PlannedJob};
pub use config::{DEFAULT_MODEL, GeneratorConfig};
pub use error::GenerateError;
pub use generator::{Checkpoint, GeneratedExam, Generator};
pub use handler::GenerateHandler;
