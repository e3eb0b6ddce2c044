//! `pregen get`: the get route, from the command line.

use pregen_core::config::PreGenOptions;

use crate::context::{Claude, Context};
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

pub(crate) async fn run(db: Option<&str>, args: Args) -> Result<Outcome, CliError> {
    let ctx = Context::open(db, Claude::FromEnv, PreGenOptions::new()).await?;
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("userId", &args.user)
        .append_pair("examType", &args.exam_type)
        .finish();
    let answer = ctx.service.get_route(&query).await;
    ctx.close().await;
    Outcome::route(answer)
}
