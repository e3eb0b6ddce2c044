//! `pregen trigger`: queue background pre-generation for a user, as a page load or a finished exam would.

use pregen_core::config::PreGenOptions;
use pregen_core::exam::ExamType;
use pregen_core::service::Trigger;
use pregen_core::store::UserId;

use crate::context::{Claude, Context};
use crate::output::{CliError, Outcome, json_of};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The user.
    #[arg(long)]
    user: String,
    /// One type to queue; both when neither this nor `--after` is given.
    #[arg(long = "type", conflicts_with = "after")]
    exam_type: Option<String>,
    /// The type just finished: queues the other one.
    #[arg(long)]
    after: Option<String>,
}

pub(crate) async fn run(db: Option<&str>, args: Args) -> Result<Outcome, CliError> {
    let user = UserId::parse(&args.user)?;
    let trigger = match (&args.exam_type, &args.after) {
        (Some(t), _) => Trigger::Types(vec![super::exam_type(t)?]),
        (None, Some(done)) => Trigger::After(super::exam_type(done)?),
        (None, None) => Trigger::Types(ExamType::ALL.to_vec()),
    };
    let ctx = Context::open(db, Claude::FromEnv, PreGenOptions::new()).await?;
    let report = ctx.service.trigger(&user, trigger).await;
    ctx.close().await;
    Ok(Outcome::ok(json_of(&report?)?))
}
