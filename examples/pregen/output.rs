//! How the command reports: one JSON document on stdout and an exit code (0 ok, 2 bad input, 1 failure).

use std::process::ExitCode;

use pregen_core::ErrorCode;
use pregen_core::claude::ClaudeError;
use pregen_core::generate::GenerateError;
use pregen_core::service::{RouteResponse, ServiceError};
use pregen_core::simulator::SimulatorError;
use pregen_core::store::StoreError;
use serde::Serialize;
use serde_json::{Value, json};

/// Exit status for bad input (arguments, files, ids).
pub(crate) const BAD_INPUT: u8 = 2;
/// Exit status for any other failure.
pub(crate) const FAILURE: u8 = 1;

/// A command's result: the JSON to print and the exit status it stands for.
pub(crate) struct Outcome {
    pub(crate) body: Value,
    pub(crate) exit: u8,
}

impl Outcome {
    /// A successful result.
    pub(crate) fn ok(body: Value) -> Self {
        Self { body, exit: 0 }
    }

    /// A route's answer: 2xx is success, 4xx bad input, anything else failure.
    pub(crate) fn route<B: Serialize>(r: RouteResponse<B>) -> Result<Self, CliError> {
        let exit = match r.status {
            200..=299 => 0,
            400..=499 => BAD_INPUT,
            _ => FAILURE,
        };
        Ok(Self { body: json_of(&r.body)?, exit })
    }
}

/// A typed result as the JSON the command prints.
pub(crate) fn json_of<T: Serialize>(value: &T) -> Result<Value, CliError> {
    serde_json::to_value(value).map_err(|e| CliError::Io(std::io::Error::other(e)))
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Claude(#[from] ClaudeError),
    #[error(transparent)]
    Generate(#[from] GenerateError),
    #[error(transparent)]
    Simulator(#[from] SimulatorError),
    #[error("{0}")]
    BadInput(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    fn code(&self) -> &'static str {
        match self {
            CliError::Store(e) => e.code(),
            CliError::Service(e) => e.code(),
            CliError::Claude(e) => e.code(),
            CliError::Generate(e) => e.code(),
            CliError::Simulator(e) => e.code(),
            CliError::BadInput(_) => "cli.bad_input",
            CliError::Io(_) => "cli.io",
        }
    }

    fn is_bad_input(&self) -> bool {
        match self {
            CliError::Store(e) | CliError::Service(ServiceError::Store(e)) => {
                matches!(e, StoreError::InvalidInput { .. } | StoreError::InvalidExam(_))
            }
            CliError::Service(e) => matches!(e, ServiceError::BadRequest(_) | ServiceError::Config(_)),
            CliError::BadInput(_) => true,
            _ => false,
        }
    }
}

/// Prints the outcome's JSON (nothing for `null`: a command that already printed its one document).
pub(crate) fn print(outcome: &Outcome) -> ExitCode {
    if !outcome.body.is_null() {
        println!("{}", serde_json::to_string_pretty(&outcome.body).unwrap_or_else(|_| "{}".into()));
    }
    ExitCode::from(outcome.exit)
}

pub(crate) fn fail(error: &CliError) -> ExitCode {
    tracing::error!("{error}");
    println!("{}", json!({"error": error.to_string(), "code": error.code()}));
    ExitCode::from(if error.is_bad_input() { BAD_INPUT } else { FAILURE })
}
