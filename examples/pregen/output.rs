//! How the command reports: one JSON document on stdout and an exit code.

use std::process::ExitCode;

use pregen_core::ErrorCode;
use pregen_core::store::StoreError;
use serde_json::{Value, json};

/// Exit status for bad input (arguments, files, ids).
pub(crate) const BAD_INPUT: u8 = 2;
/// Exit status for any other failure.
pub(crate) const FAILURE: u8 = 1;

/// A command's result: the JSON to print and whether it counts as bad input (exit 2) despite printing.
pub(crate) struct Outcome {
    pub(crate) body: Value,
    pub(crate) bad_input: bool,
}

impl Outcome {
    /// A successful result.
    pub(crate) fn ok(body: Value) -> Self {
        Self { body, bad_input: false }
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    BadInput(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    fn code(&self) -> &'static str {
        match self {
            CliError::Store(e) => e.code(),
            CliError::BadInput(_) => "cli.bad_input",
            CliError::Io(_) => "cli.io",
        }
    }

    fn is_bad_input(&self) -> bool {
        match self {
            CliError::Store(e) => matches!(e, StoreError::InvalidInput { .. } | StoreError::InvalidExam(_)),
            CliError::BadInput(_) => true,
            CliError::Io(_) => false,
        }
    }
}

pub(crate) fn print(outcome: &Outcome) -> ExitCode {
    println!("{}", serde_json::to_string_pretty(&outcome.body).unwrap_or_else(|_| "{}".into()));
    if outcome.bad_input { ExitCode::from(BAD_INPUT) } else { ExitCode::SUCCESS }
}

pub(crate) fn fail(error: &CliError) -> ExitCode {
    tracing::error!("{error}");
    println!("{}", json!({"error": error.to_string(), "code": error.code()}));
    ExitCode::from(if error.is_bad_input() { BAD_INPUT } else { FAILURE })
}
