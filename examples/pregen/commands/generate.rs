//! `pregen generate`: the pre-generate route, from the command line (generates now unless one is ready).

use pregen_core::config::PreGenOptions;
use serde_json::json;

use crate::context::{Claude, Context};
use crate::output::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The user to generate for.
    #[arg(long)]
    user: String,
    /// `diagnostic` or `practice`.
    #[arg(long = "type")]
    exam_type: String,
}

pub(crate) async fn run(db: Option<&str>, args: Args) -> Result<Outcome, CliError> {
    let ctx = Context::open(db, Claude::FromEnv, PreGenOptions::new()).await?;
    let body = json!({"userId": args.user, "examType": args.exam_type}).to_string();
    let answer = ctx.service.pre_generate_route(body.as_bytes()).await;
    ctx.close().await;
    Outcome::route(answer)
}
