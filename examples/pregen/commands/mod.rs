//! One module per subcommand.

pub(crate) mod cleanup;
pub(crate) mod cron;
pub(crate) mod demo;
pub(crate) mod generate;
pub(crate) mod get;
pub(crate) mod import;
pub(crate) mod import_legacy;
pub(crate) mod queue;
pub(crate) mod simulate;
pub(crate) mod stats;
pub(crate) mod trigger;
pub(crate) mod validate;
pub(crate) mod work;

use pregen_core::exam::ExamType;

use crate::output::CliError;

/// Reads an exam type argument.
pub(crate) fn exam_type(raw: &str) -> Result<ExamType, CliError> {
    raw.parse().map_err(|e| CliError::BadInput(format!("{e}")))
}
