//! The demo's progress bar and the log lines that share stderr with it: while a bar is shown, every log line is
//! printed above it (the bar is cleared, the line written, the bar redrawn), so logs never break the bar.

use std::io::{self, Write};
use std::sync::Mutex;

use indicatif::ProgressBar;
use tracing_subscriber::fmt::MakeWriter;

/// The bar on screen, if any; log lines go through it.
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn shown() -> Option<ProgressBar> {
    SHOWN.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The log writer of the command: stderr, printed above the progress bar while one is shown.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LogWriter;

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine
    }
}

/// One log line's writer (the formatter writes a whole line at once).
#[derive(Debug)]
pub(crate) struct LogLine;

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match shown() {
            Some(bar) if !bar.is_hidden() => bar.suspend(|| io::stderr().lock().write_all(buf))?,
            _ => io::stderr().lock().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// A bar shown on stderr until dropped; while it lives, log lines print above it.
#[derive(Debug)]
pub(crate) struct Shown(ProgressBar);

impl Shown {
    /// Shows `bar` (nothing is drawn when stderr is not a terminal).
    pub(crate) fn new(bar: ProgressBar) -> Self {
        *SHOWN.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
        Self(bar)
    }

    /// The bar.
    pub(crate) fn bar(&self) -> &ProgressBar {
        &self.0
    }
}

impl Drop for Shown {
    fn drop(&mut self) {
        *SHOWN.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_bar_is_registered_until_dropped() {
        let shown_bar = Shown::new(ProgressBar::hidden());
        assert!(shown().is_some());
        // A hidden bar (stderr not a terminal) lets lines through unchanged.
        assert_eq!(LogLine.write(b"").unwrap(), 0);
        shown_bar.bar().inc(1);
        drop(shown_bar);
        assert!(shown().is_none());
    }
}
