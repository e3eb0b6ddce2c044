//! `pregen demo`: the README's main job. Registers demo users, pre-generates both exam types for each through
//! the queue and a worker pool (with a progress bar on stderr), claims one exam as the get route would, validates
//! it, and prints the analytics. Without `ANTHROPIC_API_KEY` it runs against the local simulator and says so.
//!
//! On a terminal a person sees the bar (log lines print above it; per-job lines are debug level) and a short
//! summary on stderr; the JSON result goes to stdout.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use pregen_core::api::GetExamBody;
use pregen_core::config::PreGenOptions;
use pregen_core::exam::{ExamSpec, ExamType, validate_exam};
use pregen_core::queue::JobId;
use pregen_core::service::Trigger;
use pregen_core::store::{StoreError, UserId};
use serde_json::json;

use crate::context::{Claude, Context};
use crate::output::{CliError, FAILURE, Outcome};
use crate::progress::Shown;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How many demo users to register.
    #[arg(long, default_value_t = 3)]
    users: u32,
    /// Jobs worked at once.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// The longest the demo waits for generation, in seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

pub(crate) async fn run(db: Option<&str>, args: Args) -> Result<Outcome, CliError> {
    if args.users == 0 {
        return Err(CliError::BadInput("--users must be at least 1".into()));
    }
    let options = PreGenOptions { workers: Some(args.workers.max(1)), ..PreGenOptions::new() };
    let ctx = Context::open(db, Claude::OrSimulator, options).await?;
    let users: Vec<UserId> =
        (1..=args.users).map(|i| UserId::parse(&format!("demo-user-{i}"))).collect::<Result<_, _>>()?;
    let mut jobs: Vec<JobId> = Vec::new();
    for user in &users {
        let report = ctx.service.trigger(user, Trigger::Types(ExamType::ALL.to_vec())).await?;
        jobs.extend(report.jobs.into_iter().filter_map(|j| j.job_id.map(JobId)));
    }
    tracing::info!("[Pre-Gen] {} demo users registered, {} exams to generate", users.len(), jobs.len());
    ctx.service.start_workers()?;
    let started = tokio::time::Instant::now();
    let (succeeded, failed) = wait_with_progress(&ctx, &jobs, Duration::from_secs(args.timeout)).await?;
    ctx.service.shutdown(Duration::from_secs(10)).await;
    tracing::info!(
        "[Pre-Gen] {succeeded} exams ready, {failed} failed, in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let claimed = ctx.service.get_exam(&users[0], ExamType::Practice).await?;
    let claimed_report = match &claimed {
        GetExamBody::Served { exam_id, questions, .. } => {
            let questions = questions
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("the claimed exam {exam_id} is not an exam: {e}")))?;
            let report = validate_exam(&questions, &ExamSpec::practice());
            let mut positions = [0usize; 4];
            for q in &questions.questions {
                if let Some(p) = q.options.iter().position(|o| *o == q.correct_answer) {
                    positions[p] += 1;
                }
            }
            json!({
                "examId": exam_id,
                "examType": "practice",
                "questionCount": questions.questions.len(),
                "valid": report.is_valid(),
                "problems": report.problems,
                "keyPositions": {"A": positions[0], "B": positions[1], "C": positions[2], "D": positions[3]},
            })
        }
        GetExamBody::NotAvailable { reason, .. } => json!({"valid": false, "reason": reason}),
    };
    summarize(&claimed_report);
    let analytics = ctx.service.analytics().await?;
    let ok = failed == 0 && claimed_report["valid"] == true;
    let body = json!({
        "success": ok,
        "claude": ctx.simulator.as_ref().map_or_else(|| "api".to_owned(), |s| format!("simulator at {}", s.url())),
        "users": users.len(),
        "jobs": {"queued": jobs.len(), "succeeded": succeeded, "failed": failed},
        "claimed": claimed_report,
        "analytics": analytics,
    });
    ctx.close().await;
    Ok(Outcome { body, exit: if ok { 0 } else { FAILURE } })
}

/// One readable line about the claimed exam, for the person at the terminal.
fn summarize(claimed: &serde_json::Value) {
    if claimed["valid"] == true {
        let keys = &claimed["keyPositions"];
        tracing::info!(
            "[Get Pre-Gen] claimed a practice exam of {} items: valid, answer keys A {} / B {} / C {} / D {}",
            claimed["questionCount"],
            keys["A"],
            keys["B"],
            keys["C"],
            keys["D"]
        );
    } else if let Some(reason) = claimed["reason"].as_str() {
        tracing::warn!("[Get Pre-Gen] no practice exam to claim: {reason}");
    } else {
        let codes: std::collections::BTreeSet<&str> =
            claimed["problems"].as_array().into_iter().flatten().filter_map(|p| p["code"].as_str()).collect();
        let codes: Vec<&str> = codes.into_iter().collect();
        tracing::warn!("[Get Pre-Gen] the claimed practice exam is not valid: {}", codes.join(", "));
    }
}

/// Polls the jobs until each is finished or `timeout` passes, drawing a progress bar on stderr (log lines
/// print above it).
async fn wait_with_progress(ctx: &Context, jobs: &[JobId], timeout: Duration) -> Result<(u64, u64), CliError> {
    let shown = Shown::new(ProgressBar::new(jobs.len() as u64));
    let bar = shown.bar();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} exams {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let deadline = tokio::time::Instant::now() + timeout;
    let (succeeded, failed) = loop {
        let (mut done, mut ok) = (0, 0);
        for id in jobs {
            if let Some(job) = ctx.service.store().get_job(id).await?
                && job.is_finished()
            {
                done += 1;
                ok += u64::from(job.state == pregen_core::queue::JobState::Succeeded);
            }
        }
        bar.set_position(done);
        if done as usize == jobs.len() || tokio::time::Instant::now() >= deadline {
            break (ok, done - ok);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    bar.finish_with_message(format!("{succeeded} ready, {failed} failed"));
    let unfinished = jobs.len() as u64 - succeeded - failed;
    Ok((succeeded, failed + unfinished))
}
