//! Writes that arrive together share one statement and one commit (group commit in the application). A caller's
//! request joins those waiting; if no flush runs, the caller starts one (a task, so a caller that stops waiting
//! cancels nothing), which takes every request waiting, runs them as one batch, answers each caller, and goes on
//! while requests keep arriving. A lone request is a batch of one and waits for nothing. With many callers,
//! requests gather while the previous batch commits, so commits (and the database-wide notify lock that every
//! waking commit holds through its WAL flush) are shared instead of taken once per job.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::store::StoreError;

/// The most requests one batch takes; more wait for the next.
const MAX_BATCH: usize = 1_000;

/// A batch's answers, one per request in order, when the batch has run.
pub(crate) type Answers<A> = Pin<Box<dyn Future<Output = Vec<Result<A, StoreError>>> + Send>>;

/// What runs a batch with a context (the store, passed by the caller that starts the flush, so a coalescer kept
/// in a store holds no reference back to it): one answer per request, in order.
pub(crate) type RunBatch<C, R, A> =
    fn(C, Vec<R>) -> Pin<Box<dyn Future<Output = Vec<Result<A, StoreError>>> + Send>>;

/// Requests of one kind waiting to share a batch, and the function that runs a batch.
pub(crate) struct Coalescer<C, R, A> {
    state: Mutex<Gathering<R, A>>,
    run: RunBatch<C, R, A>,
}

struct Gathering<R, A> {
    waiting: Vec<(R, oneshot::Sender<Result<A, StoreError>>)>,
    /// Whether a flush task runs (it takes what is waiting until nothing is).
    flushing: bool,
}

impl<C: Clone + Send + 'static, R: Send + 'static, A: Send + 'static> Coalescer<C, R, A> {
    /// A coalescer whose batches `run` writes.
    pub(crate) fn new(run: RunBatch<C, R, A>) -> Arc<Self> {
        Arc::new(Self { state: Mutex::new(Gathering { waiting: Vec::new(), flushing: false }), run })
    }

    /// Runs `request` in a batch with whatever other requests arrive meanwhile, and returns its answer. `context`
    /// is used if this call starts the flush.
    pub(crate) async fn submit(self: &Arc<Self>, context: C, request: R) -> Result<A, StoreError> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.waiting.push((request, reply));
            !std::mem::replace(&mut state.flushing, true)
        };
        if start {
            tokio::spawn(Arc::clone(self).flush(context));
        }
        answer.await.map_err(|_| StoreError::Task("the batch holding this write was dropped".into()))?
    }

    /// Takes up to [`MAX_BATCH`] waiting requests; none ends the flush (the next caller starts one).
    fn take(&self) -> Vec<(R, oneshot::Sender<Result<A, StoreError>>)> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let n = state.waiting.len().min(MAX_BATCH);
        if n == 0 {
            state.flushing = false;
        }
        state.waiting.drain(..n).collect()
    }

    async fn flush(self: Arc<Self>, context: C) {
        let mut guard = FlushGuard { coalescer: &*self, done: false };
        loop {
            let batch = self.take();
            if batch.is_empty() {
                guard.done = true;
                return;
            }
            let (requests, replies): (Vec<R>, Vec<_>) = batch.into_iter().unzip();
            let answers = (self.run)(context.clone(), requests).await;
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
    }
}

/// Ends a flush stopped early (its runtime shutting down, a panic): the requests still waiting are dropped, so
/// their callers get an error instead of waiting forever, and the next caller starts a new flush.
struct FlushGuard<'a, C, R, A> {
    coalescer: &'a Coalescer<C, R, A>,
    done: bool,
}

impl<C, R, A> Drop for FlushGuard<'_, C, R, A> {
    fn drop(&mut self) {
        if !self.done {
            let mut state = self.coalescer.state.lock().unwrap_or_else(|e| e.into_inner());
            state.waiting.clear();
            state.flushing = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    type Counter = Arc<AtomicUsize>;

    /// Doubles each number, counting batches; a batch holding a negative number fails, one holding 99 panics.
    fn doubler(batches: Counter, requests: Vec<i64>) -> Answers<i64> {
        Box::pin(async move {
            batches.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            assert!(!requests.contains(&99), "a batch that fails hard");
            if requests.iter().any(|r| *r < 0) {
                return requests.iter().map(|_| Err(StoreError::Database("negative".into()))).collect();
            }
            requests.into_iter().map(|r| Ok(r * 2)).collect()
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_batches_and_each_gets_its_answer() {
        let batches = Counter::default();
        let coalescer = Coalescer::new(doubler);
        let tasks: Vec<_> = (1_000..1_500i64)
            .map(|i| {
                let (c, batches) = (Arc::clone(&coalescer), Arc::clone(&batches));
                tokio::spawn(async move { (i, c.submit(batches, i).await.unwrap()) })
            })
            .collect();
        for task in tasks {
            let (i, doubled) = task.await.unwrap();
            assert_eq!(doubled, i * 2);
        }
        assert!(batches.load(Ordering::SeqCst) < 500, "some requests shared a batch");
        assert_eq!(coalescer.submit(batches, 21).await.unwrap(), 42, "a lone request after the rush still runs");
    }

    #[tokio::test]
    async fn a_failed_batch_answers_its_callers_with_the_error_and_the_next_runs() {
        let coalescer = Coalescer::new(doubler);
        assert!(matches!(coalescer.submit(Counter::default(), -1).await, Err(StoreError::Database(_))));
        assert_eq!(coalescer.submit(Counter::default(), 2).await.unwrap(), 4);
    }

    #[tokio::test]
    async fn a_panicking_batch_fails_its_callers_and_the_next_request_still_runs() {
        let coalescer = Coalescer::new(doubler);
        assert!(matches!(coalescer.submit(Counter::default(), 99).await, Err(StoreError::Task(_))));
        assert_eq!(coalescer.submit(Counter::default(), 2).await.unwrap(), 4);
    }
}
