//! `pregen get`: the get route, from the command line.

use std::path::Path;

use pregen_core::api::GetExamBody;
use pregen_core::exam::ExamType;
use pregen_core::store::{ExamStore, UserId};

use crate::output::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The user whose exam to claim.
    #[arg(long)]
    user: String,
    /// `diagnostic` or `practice`.
    #[arg(long = "type")]
    exam_type: String,
}

pub(crate) async fn run(db: &Path, args: Args) -> Result<Outcome, CliError> {
    let user = UserId::parse(&args.user)?;
    let exam_type: ExamType = args.exam_type.parse().map_err(|e| CliError::BadInput(format!("{e}")))?;
    let store = super::open_store(db).await?;
    let claim = store.claim_exam(&user, exam_type, chrono::Utc::now()).await?;
    Ok(Outcome::ok(serde_json::to_value(GetExamBody::from_claim(claim)).map_err(std::io::Error::other)?))
}
