//! The job writes that concurrent callers share (see [`super::coalesce`]): enqueues, and the decisions of
//! finishing attempts. Each caller is answered as if it wrote alone: its job, or `LeaseLost` for a decision whose
//! job it no longer held.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::coalesce::Answers;
use super::jobs::{Wanted, enqueue_keys, fence, read_jobs, write_decision};
use super::{PgStore, at, query, sql};
use crate::queue::{Decision, Job};
use crate::store::{Enqueued, StoreError};

/// A decision to write for a running job, fenced on the holder and attempt `job` carries.
#[derive(Debug, Clone)]
pub(crate) struct Finish {
    /// The job as its holder last saw it.
    pub(crate) job: Job,
    /// What to write.
    pub(crate) decision: Decision,
}

/// One enqueue statement for every caller's key (see `enqueue_keys`): each caller gets its key's answer; a failed
/// statement answers every caller.
pub(crate) fn enqueue_batch(store: PgStore, wanted: Vec<Wanted>) -> Answers<Enqueued> {
    Box::pin(async move {
        let done = match store.conn().await {
            Ok(mut client) => enqueue_keys(&mut client, &wanted).await,
            Err(e) => Err(e),
        };
        match done {
            Ok(answers) => answers,
            Err(e) => wanted.iter().map(|_| Err(e.clone())).collect(),
        }
    })
}

/// One fenced statement for every caller's decision. A job named twice in one batch (two calls for one attempt)
/// is written by its first call in the statement, the others alone afterwards, so each is answered exactly as
/// alone: the second finds the job no longer running.
pub(crate) fn finish_batch(store: PgStore, finishes: Vec<Finish>) -> Answers<Job> {
    Box::pin(async move {
        let client = match store.conn().await {
            Ok(client) => client,
            Err(e) => return finishes.iter().map(|_| Err(e.clone())).collect(),
        };
        let mut seen = HashSet::new();
        let (first, again): (Vec<usize>, Vec<usize>) =
            (0..finishes.len()).partition(|&i| seen.insert(finishes[i].job.id.clone()));
        let mut answers: Vec<Option<Result<Job, StoreError>>> = finishes.iter().map(|_| None).collect();
        match write_together(&client, &finishes, &first).await {
            Ok(written) => {
                for i in &first {
                    let job = &finishes[*i].job;
                    answers[*i] =
                        Some(written.get(job.id.as_str()).cloned().ok_or_else(|| StoreError::lease_lost(job)));
                }
            }
            Err(e) => {
                for i in &first {
                    answers[*i] = Some(Err(e.clone()));
                }
            }
        }
        for i in again {
            let Finish { job, decision } = &finishes[i];
            let alone = write_decision(&client, job, decision).await;
            answers[i] = Some(alone.and_then(|done| done.ok_or_else(|| StoreError::lease_lost(job))));
        }
        answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Err(StoreError::Task("a decision went unanswered".into()))))
            .collect()
    })
}

/// Writes the decisions at `which` in one statement; the jobs written, by id.
async fn write_together(
    client: &super::Conn,
    finishes: &[Finish],
    which: &[usize],
) -> Result<HashMap<String, Job>, StoreError> {
    let (mut ids, mut holders, mut attempts, mut states): (Vec<Uuid>, _, _, _) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut run_ats, mut codes, mut messages, mut decided, mut finished) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &i in which {
        let Finish { job, decision } = &finishes[i];
        // A job not held, or whose id names no stored job, is simply not written (its caller gets LeaseLost).
        let Ok(Some((id, holder, attempt))) = fence(job) else { continue };
        let error = decision.last_error.as_ref();
        let at_decision = at(decision.decided_at);
        ids.push(id);
        holders.push(holder);
        attempts.push(attempt);
        states.push(decision.state.as_str());
        run_ats.push(decision.run_at.map(at));
        codes.push(error.map(|e| e.code.clone()));
        messages.push(error.map(|e| e.message.clone()));
        decided.push(at_decision);
        finished.push(decision.state.is_finished().then_some(at_decision));
    }
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = query(
        client,
        &sql::FINISH_JOBS,
        &[&ids, &holders, &attempts, &states, &run_ats, &codes, &messages, &decided, &finished],
    )
    .await?;
    Ok(read_jobs(&rows)?.into_iter().map(|job| (job.id.0.clone(), job)).collect())
}
