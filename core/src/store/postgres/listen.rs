//! [`JobWakeups`] on Postgres: one session per store (outside the pool, shared by its clones and by every
//! subscription) `LISTEN`s on `pregen_jobs`, which a trigger notifies when a job becomes claimable, and on
//! `pregen_job_ends`, notified with a job's id when it ends. The session opens with the first subscription and
//! closes with the last. A lost session is re-established with a capped backoff, listens again, and signals every
//! subscriber once to catch up on what it missed. Behind a transaction pooler (`PgOptions::listen` off) there is
//! no session to listen on, and callers poll.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{PgStore, classify, execute, sql};
use crate::queue::JobId;
use crate::store::{JobWakeups, StoreError, WakeHandle, Wakeups};

/// The channel the jobs trigger notifies when a job becomes claimable (see the `job_wakeups` migration).
pub const JOBS_CHANNEL: &str = "pregen_jobs";

/// The channel the jobs trigger notifies with a job's id when it ends (see the `job_end_wakeups` migration).
pub const JOB_ENDS_CHANNEL: &str = "pregen_job_ends";

/// The application name of the listening session, so operators (and tests) can tell it apart.
pub const LISTENER_APPLICATION: &str = "pregen-listener";

/// Waits between reconnect attempts: doubling from the first, capped at the second.
const RECONNECT_BACKOFF: (Duration, Duration) = (Duration::from_millis(50), Duration::from_secs(5));

/// What a subscriber waits for.
enum Interest {
    /// Any job becoming claimable.
    Claimable,
    /// The end of the job with this id.
    End(String),
}

/// The listening session of one store and the subscribers it signals.
pub(crate) struct Listener {
    /// The connection settings, with the listener's application name.
    config: tokio_postgres::Config,
    /// The TLS connector the store's pool uses.
    tls: MakeRustlsConnect,
    /// Where it connects, without the password, for logs.
    target: String,
    state: Mutex<State>,
    /// Held while a session is being opened, so two first subscribers open one.
    opening: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    subscribers: HashMap<u64, (Interest, Arc<Notify>)>,
    /// The task driving the session, while anyone subscribes.
    session: Option<JoinHandle<()>>,
}

/// One registration; dropping it unsubscribes, and the last one out closes the session.
struct Subscription {
    listener: Arc<Listener>,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut state = self.listener.state();
        state.subscribers.remove(&self.id);
        if state.subscribers.is_empty()
            && let Some(session) = state.session.take()
        {
            session.abort();
        }
    }
}

impl Listener {
    /// A listener that connects with `config` (its application name replaced by [`LISTENER_APPLICATION`]).
    pub(crate) fn new(mut config: tokio_postgres::Config, tls: MakeRustlsConnect, target: String) -> Self {
        config.application_name(LISTENER_APPLICATION);
        Self { config, tls, target, state: Mutex::new(State::default()), opening: tokio::sync::Mutex::new(()) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `notify` for `interest`, signals it once (the subscriber looks at the store after this), and
    /// opens the session if none runs (whose first signal to everyone is then this one's). A session that cannot be opened is an error now, not a silent poll.
    async fn subscribe(self: &Arc<Self>, interest: Interest, notify: Arc<Notify>) -> Result<Wakeups, StoreError> {
        let subscription = {
            let mut state = self.state();
            let id = state.next_id;
            state.next_id += 1;
            state.subscribers.insert(id, (interest, Arc::clone(&notify)));
            Subscription { listener: Arc::clone(self), id }
        };
        let _opening = self.opening.lock().await;
        if self.state().session.is_none() {
            // The new session signals every subscriber once it listens: this one's first signal.
            let first = listen_once(&self.config, &self.tls).await?;
            let (config, tls) = (self.config.clone(), self.tls.clone());
            let task = tokio::spawn(run(Arc::downgrade(self), first, config, tls, self.target.clone()));
            self.state().session = Some(task);
        } else {
            notify.notify_one();
        }
        Ok(Wakeups::Push(WakeHandle::new(subscription)))
    }

    /// Signals every subscriber whose interest `channel` and `payload` meet; every one for `None` (a catch-up).
    fn signal(&self, message: Option<(&str, &str)>) {
        for (interest, notify) in self.state().subscribers.values() {
            let meets = match (message, interest) {
                (None, _) => true,
                (Some((channel, _)), Interest::Claimable) => channel == JOBS_CHANNEL,
                (Some((channel, payload)), Interest::End(id)) => channel == JOB_ENDS_CHANNEL && payload == id,
            };
            if meets {
                notify.notify_one();
            }
        }
    }
}

/// Drives the session: forwards its notifications, and when it is lost, opens another with backoff and signals
/// everyone to catch up. Ends when the listener is gone (or is aborted by the last unsubscribe).
async fn run(
    listener: Weak<Listener>,
    first: Session,
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    target: String,
) {
    let mut session = Some(first);
    let mut backoff = RECONNECT_BACKOFF.0;
    loop {
        let (client, mut notifications) = match session.take() {
            Some(s) => s,
            None => match listen_once(&config, &tls).await {
                Ok(s) => {
                    tracing::info!("[BGJob] listening for job wake-ups on {target} again");
                    s
                }
                Err(e) => {
                    tracing::warn!("[BGJob] job wake-ups from {target} unavailable, retrying: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(RECONNECT_BACKOFF.1);
                    continue;
                }
            },
        };
        backoff = RECONNECT_BACKOFF.0;
        let Some(hub) = listener.upgrade() else { return };
        hub.signal(None);
        drop(hub);
        while let Some((channel, payload)) = notifications.recv().await {
            let Some(hub) = listener.upgrade() else { return };
            hub.signal(Some((&channel, &payload)));
        }
        drop(client);
    }
}

/// A listening session: its client, and the notifications (channel, payload) it receives until it ends.
type Session = (tokio_postgres::Client, tokio::sync::mpsc::UnboundedReceiver<(String, String)>);

/// Opens a session, starts driving it, and listens on both channels.
async fn listen_once(config: &tokio_postgres::Config, tls: &MakeRustlsConnect) -> Result<Session, StoreError> {
    let (client, mut connection) = config.connect(tls.clone()).await.map_err(|e| classify(&e))?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if tx.send((n.channel().to_owned(), n.payload().to_owned())).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("[BGJob] wake-up session ended: {e}");
                    break;
                }
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN {JOBS_CHANNEL}; LISTEN {JOB_ENDS_CHANNEL}"))
        .await
        .map_err(|e| classify(&e))?;
    Ok((client, rx))
}

#[async_trait]
impl JobWakeups for PgStore {
    async fn subscribe_wakeups(&self, notify: Arc<Notify>) -> Result<Wakeups, StoreError> {
        match &self.listener {
            Some(listener) => listener.subscribe(Interest::Claimable, notify).await,
            None => Ok(Wakeups::Polling),
        }
    }

    /// Listens for the job's end, then marks the job awaited: only awaited jobs notify their end (see the
    /// `awaited_job_ends` migration), and marking after listening leaves no gap, since the caller looks at the
    /// job after this returns.
    async fn subscribe_job_end(&self, id: &JobId, notify: Arc<Notify>) -> Result<Wakeups, StoreError> {
        match &self.listener {
            Some(listener) => {
                // As the database spells it; an id that is not a uuid names no job and is never signalled.
                let Ok(uuid) = uuid::Uuid::parse_str(id.as_str()) else {
                    return listener.subscribe(Interest::End(id.0.clone()), notify).await;
                };
                let subscribed = listener.subscribe(Interest::End(uuid.to_string()), notify).await?;
                execute(&self.conn().await?, &sql::MARK_AWAITED, &[&uuid]).await?;
                Ok(subscribed)
            }
            None => Ok(Wakeups::Polling),
        }
    }
}
