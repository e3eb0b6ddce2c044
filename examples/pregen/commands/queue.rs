//! `pregen queue`: the queue status in the old shape; `pregen queue clear` cancels every job not running.

use pregen_core::config::PreGenOptions;

use crate::context::{Claude, Context};
use crate::output::{CliError, Outcome, json_of};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Cancels every job that is not running (the old clearJobQueue).
    Clear,
}

pub(crate) async fn run(db: Option<&str>, args: Args) -> Result<Outcome, CliError> {
    let ctx = Context::open(db, Claude::FromEnv, PreGenOptions::new()).await?;
    let body = match args.action {
        None => ctx.service.queue_status().await.map_err(CliError::from).and_then(|s| json_of(&s)),
        Some(Action::Clear) => ctx.service.clear_queue().await.map_err(CliError::from).and_then(|c| json_of(&c)),
    };
    ctx.close().await;
    Ok(Outcome::ok(body?))
}
