//! `pregen cleanup`: bounded deletion of expired exams, used exams past their retention, and old jobs.

use pregen_core::config::PreGenOptions;

use crate::context::{Claude, Context};
use crate::output::{CliError, Outcome, json_of};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Rows deleted per statement at most (else `PREGEN_CLEANUP_BATCH`, else 1000).
    #[arg(long)]
    batch: Option<u32>,
}

pub(crate) async fn run(db: Option<&str>, args: Args) -> Result<Outcome, CliError> {
    let options = PreGenOptions { cleanup_batch: args.batch, ..PreGenOptions::new() };
    let ctx = Context::open(db, Claude::FromEnv, options).await?;
    let cleaned = ctx.service.cleanup().await;
    ctx.close().await;
    Ok(Outcome::ok(json_of(&cleaned?)?))
}
