//! The write path: one dedicated connection on its own thread runs every write of this process. Calls that
//! arrive while it is busy are committed together in one transaction (group commit), each inside its own
//! savepoint, so each call stays atomic on its own while the batch pays for one commit.

use std::sync::mpsc;
use std::thread;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

use super::checkpointer::Checkpointer;
use super::db_error;
use crate::store::StoreError;

/// How many queued calls one transaction takes at most.
const MAX_BATCH: usize = 256;

/// Sends a call's result once the batch's commit is known (`None`: committed; `Some`: the commit failed).
type Reply = Box<dyn FnOnce(Option<StoreError>) + Send>;

/// A queued write.
trait Call: Send {
    /// Runs against the open transaction; says whether it succeeded and hands back its reply.
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Reply);
    /// Tells the caller the call could not run.
    fn reject(self: Box<Self>, error: StoreError);
}

struct Pending<T, F> {
    f: F,
    done: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Call for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, Reply) {
        let Pending { f, done } = *self;
        let outcome = f(conn);
        let ok = outcome.is_ok();
        let reply: Reply = Box::new(move |commit_error| {
            let _ = done.send(match commit_error {
                Some(e) => Err(e),
                None => outcome,
            });
        });
        (ok, reply)
    }

    fn reject(self: Box<Self>, error: StoreError) {
        let _ = self.done.send(Err(error));
    }
}

/// The handle to the writer thread; dropping every clone of the store ends the thread.
pub(crate) struct Writer {
    calls: mpsc::Sender<Box<dyn Call>>,
}

impl Writer {
    /// Starts the writer thread on `conn`; each commit is counted by `checkpoints`, which checkpoints the WAL
    /// off this thread.
    pub(crate) fn start(conn: Connection, checkpoints: Checkpointer) -> Result<Self, StoreError> {
        let (calls, queue) = mpsc::channel::<Box<dyn Call>>();
        thread::Builder::new()
            .name("pregen-sqlite-writer".into())
            .spawn(move || run(conn, queue, checkpoints))
            .map_err(|e| StoreError::Task(format!("could not start the writer thread: {e}")))?;
        Ok(Self { calls })
    }

    /// Runs `f` in the writer's transaction and returns its result once that transaction has committed. An error
    /// from `f` rolls back only `f`'s own changes.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        self.calls
            .send(Box::new(Pending { f, done }))
            .map_err(|_| StoreError::Task("the writer thread has stopped".into()))?;
        result.await.map_err(|_| StoreError::Task("the writer thread dropped a call".into()))?
    }
}

fn run(mut conn: Connection, queue: mpsc::Receiver<Box<dyn Call>>, mut checkpoints: Checkpointer) {
    Checkpointer::watch(&conn);
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(call) => batch.push(call),
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, batch);
        checkpoints.committed(&conn);
    }
}

fn commit_batch(conn: &mut Connection, batch: Vec<Box<dyn Call>>) {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let error = db_error(e);
            for call in batch {
                call.reject(error.clone());
            }
            return;
        }
    };
    let mut replies: Vec<Reply> = Vec::with_capacity(batch.len());
    let mut calls = batch.into_iter();
    let mut failure = None;
    for call in calls.by_ref() {
        let savepoint = match tx.savepoint() {
            Ok(sp) => sp,
            Err(e) => {
                call.reject(db_error(e));
                continue;
            }
        };
        let (ok, reply) = call.run(&savepoint);
        replies.push(reply);
        let closed = if ok { savepoint.commit() } else { savepoint.finish() };
        if let Err(e) = closed {
            failure = Some(db_error(e));
            break;
        }
    }
    let failure = match failure {
        Some(e) => Some(e),
        None => tx.commit().err().map(db_error),
    };
    // Calls never run because the batch broke off are told so; they changed nothing.
    for call in calls {
        call.reject(StoreError::Task("the write batch failed before this call ran".into()));
    }
    for reply in replies {
        reply(failure.clone());
    }
}
