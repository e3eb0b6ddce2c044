//! `pregen queue`: the queue status in the old shape; `pregen queue clear` cancels every job not running.

use std::path::Path;

use serde_json::json;

use crate::context::{Claude, Context};
use crate::output::{CliError, Outcome};

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

pub(crate) async fn run(db: &Path, args: Args) -> Result<Outcome, CliError> {
    let ctx = Context::open(db, Claude::FromEnv, pregen_core::config::PreGenConfig::from_env()).await?;
    let body = match args.action {
        None => serde_json::to_value(ctx.service.queue_status().await?).map_err(std::io::Error::other)?,
        Some(Action::Clear) => json!({"success": true, "cancelled": ctx.service.clear_queue().await?}),
    };
    ctx.close().await;
    Ok(Outcome::ok(body))
}
