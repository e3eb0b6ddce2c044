//! Starting and stopping the simulator: bind loopback, serve with axum over the killable listener, and hand back a
//! cloneable handle for the URL, the request log, fault plans, overload mode and graceful shutdown.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::config::SimulatorConfig;
use super::conn::{ConnControl, SimListener};
use super::error::SimulatorError;
use super::faults::FaultPlan;
use super::log::LoggedRequest;
use super::routes::dispatch;
use super::state::{AppState, Shared};

/// The Claude API simulator: a loopback HTTP server speaking the Messages and Message Batches API.
#[derive(Debug, Clone, Copy)]
pub struct Simulator;

impl Simulator {
    /// Binds `config.addr` and starts serving in the background; the handle reports the URL and stops it.
    pub async fn start(config: SimulatorConfig) -> Result<SimulatorHandle, SimulatorError> {
        config.validate()?;
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|source| SimulatorError::Bind { addr: config.addr, source })?;
        let addr = listener.local_addr().map_err(|source| SimulatorError::Bind { addr: config.addr, source })?;
        let url = format!("http://{addr}");
        let (stop, stopped) = watch::channel(false);
        let state: Shared = Arc::new(AppState::new(config, url.clone(), stopped.clone()));
        let app = Router::new()
            .fallback(dispatch)
            .layer(DefaultBodyLimit::disable())
            .with_state(state.clone())
            .into_make_service_with_connect_info::<ConnControl>();
        let mut signal = stopped;
        let server = axum::serve(SimListener::new(listener), app).with_graceful_shutdown(async move {
            let _ = signal.wait_for(|stop| *stop).await;
        });
        let task = tokio::spawn(async move { server.await });
        tracing::info!(%url, "[Simulator] listening");
        Ok(SimulatorHandle { inner: Arc::new(Inner { url, addr, state, stop, task: Mutex::new(Some(task)) }) })
    }
}

/// A running simulator. Clones share it; it shuts down on [`SimulatorHandle::shutdown`] or when the last clone
/// is dropped.
#[derive(Clone)]
pub struct SimulatorHandle {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    addr: SocketAddr,
    state: Shared,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<std::io::Result<()>>>>,
}

impl fmt::Debug for SimulatorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatorHandle").field("url", &self.inner.url).finish_non_exhaustive()
    }
}

impl SimulatorHandle {
    /// The base URL, e.g. `http://127.0.0.1:41234`; use it as the client's API base URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Every request received so far, in arrival order.
    pub fn log(&self) -> Vec<LoggedRequest> {
        self.inner.state.log.snapshot()
    }

    /// Forgets the request log.
    pub fn clear_log(&self) {
        self.inner.state.log.clear();
    }

    /// Replaces the fault plan; scripted steps count from the next message request.
    pub fn set_faults(&self, plan: FaultPlan) {
        self.inner.state.set_faults(plan);
    }

    /// Turns overload mode (529 on every message request) on or off.
    pub fn set_overloaded(&self, overloaded: bool) {
        self.inner.state.overloaded.store(overloaded, Ordering::SeqCst);
    }

    /// Stops accepting connections, cuts short held requests and batch work, and waits for open connections to
    /// finish. Later calls return at once.
    pub async fn shutdown(&self) -> Result<(), SimulatorError> {
        self.inner.stop.send_replace(true);
        let task = self.inner.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(task) = task else {
            return Ok(());
        };
        let result = task.await.map_err(|e| SimulatorError::Serve(e.to_string()))?;
        tracing::info!(url = %self.inner.url, "[Simulator] stopped");
        result.map_err(|e| SimulatorError::Serve(e.to_string()))
    }

    /// Serves until `signal` completes (e.g. Ctrl-C for `pregen simulate`), then shuts down gracefully.
    pub async fn run_until(&self, signal: impl Future<Output = ()>) -> Result<(), SimulatorError> {
        signal.await;
        self.shutdown().await
    }
}
