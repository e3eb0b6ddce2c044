//! `pregen stats`: the analytics route's body.

use std::path::Path;

use pregen_core::policy::Policy;
use pregen_core::store::ExamStore;
use serde_json::json;

use crate::output::{CliError, Outcome};

pub(crate) async fn run(db: &Path) -> Result<Outcome, CliError> {
    let store = super::open_store(db).await?;
    let stats = store.analytics(chrono::Utc::now(), &Policy::default()).await?;
    Ok(Outcome::ok(json!({"success": true, "stats": stats})))
}
