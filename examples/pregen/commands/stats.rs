//! `pregen stats`: the analytics route's body.

use pregen_core::config::PreGenOptions;
use pregen_core::service::AnalyticsBody;

use crate::context::{Claude, Context};
use crate::output::{CliError, Outcome, json_of};

pub(crate) async fn run(db: Option<&str>) -> Result<Outcome, CliError> {
    let ctx = Context::open(db, Claude::FromEnv, PreGenOptions::new()).await?;
    let stats = ctx.service.analytics().await;
    ctx.close().await;
    Ok(Outcome::ok(json_of(&AnalyticsBody::Stats { success: true, stats: Box::new(stats?) })?))
}
