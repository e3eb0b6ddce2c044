//! The core's log lines (`[Pre-Gen]`, `[BGJob]`, `[Cron]`, ...) on standard error, filtered by `PREGEN_LOG`
//! (default `info`, as the `pregen` command), set up once per process.

use std::io::IsTerminal;
use std::sync::Once;

static INIT: Once = Once::new();

/// Installs the log subscriber, unless this process already has one.
pub(crate) fn init() {
    INIT.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_env("PREGEN_LOG").unwrap_or_else(|_| "info".into());
        // Another library of the process may have installed a subscriber first; then the lines go there.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init();
    });
}
