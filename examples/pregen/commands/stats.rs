//! `pregen stats`: the analytics route's body.

use std::path::Path;

use serde_json::json;

use crate::context::{Claude, Context};
use crate::output::{CliError, Outcome};

pub(crate) async fn run(db: &Path) -> Result<Outcome, CliError> {
    let ctx = Context::open(db, Claude::FromEnv, pregen_core::config::PreGenConfig::from_env()).await?;
    let stats = ctx.service.analytics().await;
    ctx.close().await;
    Ok(Outcome::ok(json!({"success": true, "stats": stats?})))
}
