//! [`JobWakeups`] on Postgres: a dedicated connection (outside the pool) `LISTEN`s on `pregen_jobs`, which a
//! trigger on the jobs table notifies when a job becomes claimable. A lost connection is re-established with a
//! capped backoff, listens again, and signals once to catch up on what it missed. Behind a transaction pooler
//! (`PgOptions::listen` off) there is no session to listen on, and callers poll.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls};

use super::{PgStore, classify};
use crate::store::{JobWakeups, StoreError, WakeHandle, Wakeups};

/// The channel the jobs trigger notifies (see the `job_wakeups` migration).
pub const JOBS_CHANNEL: &str = "pregen_jobs";

/// The application name of the listening session, so operators (and tests) can tell it apart.
pub const LISTENER_APPLICATION: &str = "pregen-listener";

/// Waits between reconnect attempts: doubling from the first, capped at the second.
const RECONNECT_BACKOFF: (Duration, Duration) = (Duration::from_millis(50), Duration::from_secs(5));

#[async_trait]
impl JobWakeups for PgStore {
    async fn subscribe_wakeups(&self, notify: Arc<Notify>) -> Result<Wakeups, StoreError> {
        if !self.listen {
            return Ok(Wakeups::Polling);
        }
        let mut config = self.config.clone();
        config.application_name(LISTENER_APPLICATION);
        // The first session is opened here, so a server that refuses it is an error now, not a silent poll.
        let first = listen_once(&config).await?;
        let target = self.target.clone();
        let task = tokio::spawn(async move {
            let mut session = Some(first);
            let mut backoff = RECONNECT_BACKOFF.0;
            loop {
                let (client, mut signals) = match session.take() {
                    Some(s) => s,
                    None => match listen_once(&config).await {
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
                // Catch up on whatever was notified while no session listened.
                notify.notify_one();
                while signals.recv().await.is_some() {
                    notify.notify_one();
                }
                drop(client);
            }
        });
        Ok(Wakeups::Push(WakeHandle::new(task)))
    }
}

/// Opens a session, starts driving it, and listens; the receiver yields one item per notification and ends when
/// the session does.
async fn listen_once(
    config: &tokio_postgres::Config,
) -> Result<(tokio_postgres::Client, tokio::sync::mpsc::UnboundedReceiver<()>), StoreError> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(|e| classify(&e))?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(_)) => {
                    if tx.send(()).is_err() {
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
    client.batch_execute(&format!("LISTEN {JOBS_CHANNEL}")).await.map_err(|e| classify(&e))?;
    Ok((client, rx))
}
