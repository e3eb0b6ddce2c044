//! `pregen import`: puts exam files (the old system's Markdown and JSON) into the shared bank after full
//! validation; invalid files are reported with their problems and left out, unless `--repair` regenerates their
//! failing items. Importing the same file twice stores it once.

use std::path::PathBuf;

use pregen_core::ErrorCode;
use pregen_core::config::PreGenOptions;
use pregen_core::exam::ExamType;
use pregen_core::import::{ImportOutcome, read_for_import};
use serde_json::{Value, json};

use crate::context::{Claude, Context};
use crate::output::{CliError, Outcome};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Exam files: JSON (`{questions}` or `{meta, questions}`), or Markdown with a front matter block.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The exam type of every file; otherwise from the front matter, `meta`, the item count, then the file name.
    #[arg(long = "type")]
    exam_type: Option<String>,
    /// Regenerate only the failing items of invalid files (same knowledge statement), reshuffle options, and
    /// import the result once it validates. Uses Claude, or the local simulator without `ANTHROPIC_API_KEY`.
    #[arg(long)]
    repair: bool,
}

pub(crate) async fn run(db: Option<&str>, args: Args) -> Result<Outcome, CliError> {
    let forced: Option<ExamType> = args.exam_type.as_deref().map(super::exam_type).transpose()?;
    let claude = if args.repair { Claude::OrSimulator } else { Claude::FromEnv };
    let ctx = Context::open(db, claude, PreGenOptions::new()).await?;
    let mut files = Vec::new();
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    for path in &args.files {
        let (status, report) = match import_one(&ctx, path, forced, args.repair).await {
            Ok(done) => done,
            Err(e) => {
                ctx.close().await;
                return Err(e);
            }
        };
        *counts.entry(status).or_default() += 1;
        files.push(report);
    }
    ctx.close().await;
    let failed = counts.keys().any(|s| !matches!(*s, "imported" | "duplicate"));
    let mut body = json!({"success": !failed, "files": files});
    for (status, n) in counts {
        body[status] = json!(n);
    }
    Ok(Outcome { body, exit: if failed { crate::output::BAD_INPUT } else { 0 } })
}

async fn import_one(
    ctx: &Context,
    path: &PathBuf,
    forced: Option<ExamType>,
    repair: bool,
) -> Result<(&'static str, Value), CliError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return Ok((
                "unreadable",
                json!({"path": shown, "status": "unreadable", "error": e.to_string(), "code": "cli.io"}),
            ));
        }
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let candidate = match read_for_import(&text, name, forced) {
        Ok(c) => c,
        Err(e) => {
            return Ok((
                "unreadable",
                json!({"path": shown, "status": "unreadable", "error": e.to_string(), "code": e.code()}),
            ));
        }
    };
    let imported = ctx.service.import_exam(&candidate, repair).await?;
    let status = match &imported.outcome {
        ImportOutcome::Imported { .. } => "imported",
        ImportOutcome::Duplicate { .. } => "duplicate",
        ImportOutcome::Invalid => "invalid",
        ImportOutcome::RepairFailed { .. } => "repair_failed",
    };
    let mut report = json!({
        "path": shown,
        "examType": candidate.exam_type,
        "typeFrom": candidate.type_from,
        "questionCount": candidate.exam.questions.len(),
        "notes": candidate.notes,
        "problems": candidate.problems,
    });
    if let (Value::Object(report), Value::Object(outcome)) =
        (&mut report, serde_json::to_value(&imported).unwrap_or_default())
    {
        report.extend(outcome);
    }
    Ok((status, report))
}
