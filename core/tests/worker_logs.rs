//! What the worker and the store write to the logs about a job: user ids escaped (a bidi override, a line
//! separator or a zero-width character never reaches a log line raw), per-job lines at debug level, and no Rust
//! Debug form. One test in its own binary, since it installs the process-wide subscriber (the store logs from its
//! writer thread).
#![cfg(feature = "sqlite")]

use std::io::Write;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use pregen_core::SystemClock;
use pregen_core::exam::ExamType;
use pregen_core::queue::{Job, JobKey, QueueOptions};
use pregen_core::store::JobStore;
use pregen_core::store::sqlite::{SqliteOptions, SqliteStore};
use pregen_core::worker::{HandlerError, HandlerOutput, JobContext, JobHandler, Runner};
use tokio::sync::watch;

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Lines {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Succeeds;

#[async_trait]
impl JobHandler for Succeeds {
    async fn handle(&self, _: Job, _: JobContext) -> Result<HandlerOutput, HandlerError> {
        Ok(HandlerOutput::Nothing)
    }
}

const SNEAKY: &str = "ok-\u{202e}rtl\u{2028}split\u{200b}zw\u{feff}\u{2066}";
const ESCAPED: &str = "ok-\\u{202e}rtl\\u{2028}split\\u{200b}zw\\u{feff}\\u{2066}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_log_lines_escape_user_ids_and_show_no_debug_forms() {
    let lines = Lines::default();
    let writer = lines.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("logs.db"), SqliteOptions::default()).await.unwrap();
    let options = QueueOptions::default();
    let runner = Runner::new(Arc::new(store.clone()), Arc::new(Succeeds), options, Arc::new(SystemClock));

    // A run: its start and outcome lines.
    store.enqueue(&JobKey::new(SNEAKY, ExamType::Practice), Utc::now(), &options).await.unwrap();
    let job = store.claim_jobs("w1", 1, Utc::now(), &options).await.unwrap().remove(0);
    let (_keep, never) = watch::channel(false);
    runner.run(job, None, never).await;
    // A reap: the store's line about a job whose holder went silent.
    store.enqueue(&JobKey::new(SNEAKY, ExamType::Diagnostic), Utc::now(), &options).await.unwrap();
    store.claim_jobs("silent", 1, Utc::now(), &options).await.unwrap();
    store.claim_jobs("reaper", 0, Utc::now() + TimeDelta::minutes(5), &options).await.unwrap();

    let text = lines.text();
    let job_lines: Vec<&str> = text.lines().filter(|l| l.contains("[BGJob]")).collect();
    assert!(job_lines.len() >= 3, "{text}");
    for raw in ['\u{202e}', '\u{2028}', '\u{200b}', '\u{feff}', '\u{2066}'] {
        assert!(!text.contains(raw), "U+{:04X} reached the log:\n{text}", u32::from(raw));
    }
    let starts: Vec<_> = job_lines.iter().filter(|l| l.contains("] start ")).collect();
    assert_eq!(starts.len(), 1, "{text}");
    assert!(starts[0].contains("DEBUG") && starts[0].contains(&format!("practice for {ESCAPED}")), "{text}");
    let finished = job_lines.iter().find(|l| l.contains("succeeded (nothing to store)")).expect("an outcome line");
    assert!(finished.contains("DEBUG") && finished.contains(ESCAPED), "{finished}");
    let reaped = job_lines.iter().find(|l| l.contains("queue.abandoned")).expect("a reap line");
    assert!(
        reaped.contains(&format!("diagnostic for {ESCAPED}")) && reaped.contains("now retry_wait"),
        "{reaped}"
    );
    for debug_form in ["Succeeded(", "Some(", "RunOutcome", "Job {", "JobKey {"] {
        assert!(!text.contains(debug_form), "a Debug form in the log:\n{text}");
    }
}
